/* Private to src/attest/tpm*.c: the decoded form of every TPM evidence format. */
#ifndef ATOLL_ATTEST_TPM_INT_H
#define ATOLL_ATTEST_TPM_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/limits.h"
#include "atoll/tpm.h"

struct tpm_quote {
	uint8_t *attest; /* TPMS_ATTEST */
	size_t attest_len;
	uint8_t *sig; /* TPMT_SIGNATURE */
	size_t sig_len;
	struct atl_tpm_pcrs pcrs; /* values the evidence claims for the quoted bank */
};

struct tpm_ev {
	const char *format; /* static */
	uint8_t *ak_pub;    /* TPMT_PUBLIC, or NULL when only ak_spki is given */
	size_t ak_pub_len;
	uint8_t *ak_spki;   /* SubjectPublicKeyInfo (trustee) */
	size_t ak_spki_len;
	size_t n_quotes;
	struct tpm_quote q[ATL_TPM_QUOTES_MAX];
	uint8_t *evlog;
	size_t evlog_len;
	uint8_t *ak_cert; /* DER */
	size_t ak_cert_len;
	uint8_t *ek_pub;  /* TPMT_PUBLIC */
	size_t ek_pub_len;
	uint8_t *ek_cert; /* DER */
	size_t ek_cert_len;
	size_t n_certs;   /* intermediates for the AK or EK certificate (DER) */
	uint8_t *certs[ATL_TPM_CERTS_MAX];
	size_t cert_len[ATL_TPM_CERTS_MAX];
	json_t *activation; /* activation record, or NULL */
	json_t *freshness;  /* verifier's freshness countersignature, or NULL */
	uint8_t meas[64];   /* enclave measurement (Atoll evidence) */
	size_t meas_len;
	int meas_pcr;       /* -1: none */
	/* Azure confidential VM vTPM (tpm_azure.c) */
	uint8_t *hcl;       /* HCL report: hardware report + runtime data */
	size_t hcl_len;
	uint8_t *vcek;      /* SEV-SNP VCEK (PEM or DER) */
	size_t vcek_len;
	int azure_version;  /* trustee evidence "version" (0 when absent) */
	uint8_t *td_quote;  /* TDX DCAP quote */
	size_t td_quote_len;
};

/* Decodes any supported evidence form (tpm_ev.c). ATL_E_FORMAT / LIMIT /
 * TRUNCATED / UNSUPPORTED. */
enum atl_err tpm_ev_decode(const uint8_t *buf, size_t len, struct tpm_ev **out);
void tpm_ev_free(struct tpm_ev *e);

/* Checks a freshness record (tpm_cred.c) against one key, the AK name and
 * the quote's qualifying data; *issued_at_out its time. ATL_E_AUTH /
 * ATL_E_FORMAT / ATL_E_POLICY. */
enum atl_err tpm_freshness_verify(const json_t *rec, const struct atl_pubkey *key,
				  const uint8_t *ak_name, size_t ak_name_len, const uint8_t *qual,
				  size_t qual_len, int64_t *issued_at_out);

/* Azure CVM evidence (trustee az-snp-vtpm / az-tdx-vtpm JSON, tpm_azure.c). */
bool tpm_azure_sniff(const json_t *j);
enum atl_err tpm_azure_decode(const json_t *j, struct tpm_ev *e);
/* The Azure checks: hcl_binding, hw_report (through the sev-snp / tdx
 * backends), user_data; sets e->ak_spki from HCLAkPub. *ak_ok_out: the AK is
 * vouched for by a verified hardware report. */
enum atl_err tpm_azure_verify(struct tpm_ev *e, const struct atl_verify_in *in,
			      const uint8_t *expected, size_t expected_len, struct atl_ar *ar,
			      bool *ak_ok_out);

#endif
