/* Private to src/attest/: what the hardware verifiers (snp.c, dcap.c, tdx.c,
 * sgx.c) share: built-in vendor certificates with pinned fingerprints, trust
 * anchor selection, evidence decoding (raw, hex or base64 text, as the samples
 * come) and collateral loading (certificates, CRLs, JSON documents). */
#ifndef ATOLL_ATTEST_HWCOMMON_H
#define ATOLL_ATTEST_HWCOMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/x509.h"

enum atl_hw_root_kind {
	ATL_HW_AMD_ARK = 1,  /* AMD Root Key (trust anchor) */
	ATL_HW_AMD_ICA,      /* AMD ASK / ASVK (chain material only, never an anchor) */
	ATL_HW_INTEL_ROOT,   /* Intel SGX Root CA (trust anchor) */
};

struct atl_hw_root {
	enum atl_hw_root_kind kind;
	const char *name;       /* CN */
	const char *sha256_hex; /* SHA-256 of the DER certificate */
	const char *pem;
};

/* Terminated by an entry with name NULL (hw_roots.c). */
extern const struct atl_hw_root atl_hw_roots[];

/* Built-in certificates of one kind, each checked against its fingerprint
 * (ATL_E_INTERNAL when one does not match). Appends to *out. */
ATL_NODISCARD enum atl_err atl_hw_builtin(enum atl_hw_root_kind kind, struct atl_x509_list **out);

/* Trust anchors for tee: the --anchor files (in->anchors) and the policy's
 * trust_anchors.<tee> together replace the built-ins of kind; otherwise the
 * built-ins. *source_out: "built-in" or "pinned by caller" (static). */
ATL_NODISCARD enum atl_err atl_hw_anchors(const struct atl_verify_in *in, const char *tee,
					  enum atl_hw_root_kind kind,
					  struct atl_x509_list **out, const char **source_out);

/* Evidence as given: raw binary is copied; text that is entirely hex (with an
 * optional 0x prefix, whitespace allowed) or base64 is decoded. Result at most
 * max bytes (ATL_E_LIMIT). *out_len >= 1 on success; free(*out). */
ATL_NODISCARD enum atl_err atl_hw_decode(const uint8_t *in, size_t len, size_t max, uint8_t **out,
					 size_t *out_len);

#define ATL_HW_JSON_MAX 16u /* JSON collateral documents kept */

struct atl_hw_coll {
	struct atl_x509_list *certs; /* every certificate of every file, in order */
	struct atl_crl_list *crls;
	char *json[ATL_HW_JSON_MAX]; /* NUL-terminated JSON texts (not parsed) */
	size_t json_len[ATL_HW_JSON_MAX];
	size_t n_json;
};

/* Reads each collateral file (at most ATL_HW_COLLATERAL_MAX bytes) and sorts
 * its content: JSON text (first non-blank byte '{'), PEM certificates and/or
 * CRLs, or a DER certificate or CRL. ATL_E_FORMAT (with the file named in
 * why) for anything else. paths may be NULL. */
ATL_NODISCARD enum atl_err atl_hw_coll_load(const char *const *paths, struct atl_hw_coll *c,
					    char *why, size_t why_cap);
void atl_hw_coll_free(struct atl_hw_coll *c);

/* Evidence through the Linux configfs-tsm interface
 * (Documentation/ABI/testing/configfs-tsm): creates an entry under
 * /sys/kernel/config/tsm/report, writes report_data to inblob, checks that
 * the provider is the expected one ("sev_guest", "tdx_guest"), reads outblob
 * and removes the entry. ATL_E_UNSUPPORTED when configfs-tsm is absent or the
 * provider differs; ATL_E_IO for other failures. With aux, a non-empty
 * auxblob (SEV-SNP: the host's certificate table) is appended to the report. */
ATL_NODISCARD enum atl_err atl_hw_tsm_report(const char *provider,
					     const uint8_t report_data[ATL_REPORT_DATA_LEN], bool aux,
					     uint8_t **out, size_t *out_len);

/* Does the certificate's subject CN equal / start with s? */
bool atl_hw_cn_is(const struct atl_x509 *c, const char *s);
bool atl_hw_cn_starts(const struct atl_x509 *c, const char *prefix);

#endif
