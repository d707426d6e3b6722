/* Intel DCAP ECDSA quotes (SGX quote v3, TDX quote v4 and v5) and the pieces
 * of Intel's PCS collateral the verifiers need, parsed through the bounded
 * reader. Specs: "Intel SGX ECDSA Quote Library API" (quote v3, appendix A),
 * "Intel TDX DCAP Quoting Library API" (quote v4 / v5, §A.3-A.4), "Intel SGX
 * PCK Certificate and CRL Profile" (the SGX extension), "Intel PCS API"
 * (tcbInfo v2/v3, enclaveIdentity v2). Verification is the "tdx" and "sgx"
 * backends of attest.h; this header is for tests, fuzzing and tools. */
#ifndef ATOLL_DCAP_H
#define ATOLL_DCAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_DCAP_HEADER_LEN 48u
#define ATL_DCAP_SGX_REPORT_LEN 384u
#define ATL_DCAP_TD10_LEN 584u
#define ATL_DCAP_TD15_LEN 648u
#define ATL_DCAP_TEE_SGX 0x00000000u
#define ATL_DCAP_TEE_TDX 0x00000081u
#define ATL_DCAP_ATT_KEY_ECDSA_P256 2u
#define ATL_DCAP_CERT_PCK_CHAIN 5u  /* concatenated PEM PCK chain */
#define ATL_DCAP_CERT_QE_REPORT 6u  /* QE report certification data (v4+) */
#define ATL_DCAP_TCB_COMPONENTS 16u

/* Intel's QE vendor id 939a7233-f79c-4ca9-940a-0db3957f0607. */
extern const uint8_t atl_dcap_intel_vendor[16];

/* SGX REPORT body (SDM Vol. 3D, "REPORT"; quote v3 appendix A.4). */
struct atl_dcap_sgx_report {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t attributes[16]; /* byte 0 bit 1 = DEBUG */
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t report_data[64];
};

/* TD report body (TD 1.0 = 584 bytes; TD 1.5 adds the last two). */
struct atl_dcap_td_report {
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint64_t seam_attributes; /* little-endian in the quote */
	uint64_t td_attributes;
	uint64_t xfam;
	uint8_t mrtd[48];
	uint8_t mrconfigid[48];
	uint8_t mrowner[48];
	uint8_t mrownerconfig[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	bool td15;
	uint8_t tee_tcb_svn2[16];
	uint8_t mr_servicetd[48];
};

/* TD attribute bits (TDX module ABI, "TD ATTRIBUTES"): TUD byte 0 (bit 0
 * DEBUG; any TUD bit means an off-TD debugger), SEC bits 8-31, OTHER bits
 * 32-63. Reserved: 8-27, 29, 32-62 (dcap-qvl validate_attrs). */
#define ATL_TD_ATTR_DEBUG 0x00000000000000FFull /* TUD */
#define ATL_TD_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define ATL_TD_ATTR_PKS (1ull << 30)
#define ATL_TD_ATTR_KL (1ull << 31)
#define ATL_TD_ATTR_PERFMON (1ull << 63)
#define ATL_TD_ATTR_RESERVED 0x7FFFFFFF2FFFFF00ull

struct atl_dcap_quote {
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	uint16_t qe_svn, pce_svn;
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
	uint16_t body_type;    /* v5: 1 SGX, 2 TD10, 3 TD15; v3/v4: implied */
	struct atl_dcap_sgx_report sgx; /* tee_type SGX */
	struct atl_dcap_td_report td;   /* tee_type TDX */
	size_t signed_len;     /* header + body (v5: + type and size) */
	/* signature data: views into the caller's buffer */
	const uint8_t *sig;         /* 64: r || s big-endian */
	const uint8_t *att_key;     /* 64: x || y */
	const uint8_t *qe_report;   /* 384: the signed QE REPORT body */
	struct atl_dcap_sgx_report qe; /* parsed qe_report */
	const uint8_t *qe_sig;      /* 64 */
	const uint8_t *auth_data;
	size_t auth_len;
	uint16_t cert_type;         /* innermost certification data type */
	const uint8_t *cert_data;
	size_t cert_len;
	size_t trailing;            /* bytes after the signature data (ignored) */
};

/* Parses a quote. Views in *q point into buf (keep it alive). Rejects: a
 * version other than 3/4/5, tee_type not matching the version (SGX needs v3,
 * TDX v4/v5), att_key_type != 2, a QE vendor id other than Intel's, lengths
 * past the end, sig_data_len or certification sizes above the limits, and a
 * certification data type other than 5 (PCK chain) innermost. Bytes after
 * sig_data (real quotes pad) are allowed and counted in q->trailing.
 * ATL_E_TRUNCATED, ATL_E_UNSUPPORTED, ATL_E_LIMIT or ATL_E_FORMAT. */
ATL_NODISCARD enum atl_err atl_dcap_parse(const uint8_t *buf, size_t len,
					  struct atl_dcap_quote *q);

/* The SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1). */
struct atl_dcap_pck {
	uint8_t fmspc[6];
	uint8_t pceid[2];
	uint8_t comps[ATL_DCAP_TCB_COMPONENTS];
	uint16_t pcesvn;
	uint8_t cpusvn[16];
	uint8_t ppid[16];
};

/* Parses the extension value (DER SEQUENCE of {OID, value}). Every field
 * above must be present exactly once. ATL_E_FORMAT otherwise. */
ATL_NODISCARD enum atl_err atl_dcap_pck_parse(const uint8_t *der, size_t len,
					      struct atl_dcap_pck *out);

/* TCB statuses, in rising severity. */
enum atl_dcap_status {
	ATL_DCAP_UP_TO_DATE,
	ATL_DCAP_SW_HARDENING_NEEDED,
	ATL_DCAP_CONFIGURATION_NEEDED,
	ATL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	ATL_DCAP_OUT_OF_DATE,
	ATL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED,
	ATL_DCAP_REVOKED,
	ATL_DCAP_STATUS_UNKNOWN,
};
const char *atl_dcap_status_name(enum atl_dcap_status s);
/* ATL_E_FORMAT for a string that is none of Intel's statuses. */
ATL_NODISCARD enum atl_err atl_dcap_status_parse(const char *s, enum atl_dcap_status *out);
/* The worse of two statuses (OutOfDate with ConfigurationNeeded combine). */
enum atl_dcap_status atl_dcap_status_merge(enum atl_dcap_status a, enum atl_dcap_status b);

/* Platform TCB level matching on a parsed tcbInfo object (PCS API tcbInfo
 * v2/v3): the first level whose 16 sgxtcbcomponents are all <= pck->comps,
 * whose pcesvn <= pck->pcesvn and, when tee_tcb_svn is not NULL (TDX), whose
 * 16 tdxtcbcomponents are all <= tee_tcb_svn. Every component list must have
 * exactly 16 entries (ATL_E_FORMAT otherwise: a short list must not match,
 * GHSA-6q6c-vvf9-fj3w). ATL_E_NOTFOUND when no level matches. On success
 * *status_out and the level's advisoryIDs (appended to advisories, a JSON
 * array, when not NULL). */
ATL_NODISCARD enum atl_err atl_dcap_tcb_match(const json_t *tcb_info, const struct atl_dcap_pck *pck,
					      const uint8_t *tee_tcb_svn,
					      enum atl_dcap_status *status_out, json_t *advisories);

/* QE identity (PCS enclaveIdentity v2+, already signature-checked) against
 * the QE report: id == want_id ("QE" / "TD_QE"), issueDate <= now <
 * nextUpdate, masked MISCSELECT and ATTRIBUTES, MRSIGNER, ISVPRODID, then the
 * first TCB level with isvsvn <= the QE's ISVSVN (none: OutOfDate). Returns
 * ATL_E_POLICY for a mismatch or wrong id, ATL_E_EXPIRED for the dates,
 * ATL_E_UNSUPPORTED for a version below 2, ATL_E_FORMAT for malformed
 * fields; why gets a reason. Advisory ids are appended to advisories (may be
 * NULL). */
ATL_NODISCARD enum atl_err atl_dcap_qe_identity_check(const json_t *qi,
						      const struct atl_dcap_sgx_report *qe,
						      const char *want_id, int64_t now,
						      enum atl_dcap_status *status_out,
						      json_t *advisories, char *why, size_t cap);

enum atl_dcap_verdict { ATL_DCAP_PASS, ATL_DCAP_WARN, ATL_DCAP_FAIL };
/* What a merged status means (docs/attestation.md): UpToDate passes;
 * SWHardeningNeeded and Configuration* warn; OutOfDate* fail; statuses in
 * accept (a JSON array of names, may be NULL) pass; Revoked and Unknown
 * always fail. */
enum atl_dcap_verdict atl_dcap_status_verdict(enum atl_dcap_status s, const json_t *accept);

#endif
