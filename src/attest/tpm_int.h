/* Private to src/attest/tpm*.c: the decoded form of every TPM evidence format. */
#ifndef ATOLL_ATTEST_TPM_INT_H
#define ATOLL_ATTEST_TPM_INT_H

#include <jansson.h>
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
	uint8_t meas[64];   /* enclave measurement (Atoll evidence) */
	size_t meas_len;
	int meas_pcr;       /* -1: none */
};

/* Decodes any supported evidence form (tpm_ev.c). ATL_E_FORMAT / LIMIT /
 * TRUNCATED / UNSUPPORTED. */
enum atl_err tpm_ev_decode(const uint8_t *buf, size_t len, struct tpm_ev **out);
void tpm_ev_free(struct tpm_ev *e);

#endif
