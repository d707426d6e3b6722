/* Private to src/attest/: the DCAP verification flow shared by the tdx and
 * sgx backends (dcap_verify.c). Each backend passes a kind that says which
 * quotes, tcbInfo id and QE identity id it accepts, and a hook that records
 * its own claims and attribute checks. */
#ifndef ATOLL_ATTEST_DCAP_H
#define ATOLL_ATTEST_DCAP_H

#include <jansson.h>

#include "atoll/attest.h"
#include "atoll/dcap.h"

struct atl_dcap_kind {
	const char *tee;        /* "tdx" / "sgx": check-name prefix and policy key */
	uint32_t tee_type;      /* ATL_DCAP_TEE_TDX / ATL_DCAP_TEE_SGX */
	const char *tcb_id;     /* tcbInfo "id": "TDX" / "SGX" */
	int tcb_version_min;    /* 3 for TDX, 2 for SGX */
	const char *qe_id;      /* enclaveIdentity "id": "TD_QE" / "QE" */
	const char *const *policy_keys; /* min_tcb.<tee> keys this kind accepts
					 * besides the shared ones */
	/* Records the claims (measurement, report_data, debug, ...) and the
	 * kind's attribute checks; pol is min_tcb.<tee> (may be NULL). */
	enum atl_err (*claims)(const struct atl_dcap_quote *q, const json_t *pol,
			       const struct atl_verify_in *in, struct atl_ar *ar);
};

/* The two backends (also listed in backends.h / registry.c). */
extern const struct atl_tee_ops atl_tee_tdx;
extern const struct atl_tee_ops atl_tee_sgx;

/* The whole verification; same contract as atl_tee_ops.verify. */
ATL_NODISCARD enum atl_err atl_dcap_verify(const struct atl_dcap_kind *k, const uint8_t *ev,
					   size_t ev_len, const struct atl_verify_in *in,
					   struct atl_ar *ar);

/* Helpers shared by dcap.c and dcap_verify.c. */
/* NULL when issueDate <= now < nextUpdate, else a reason (static). */
const char *atl_dcap_window(const json_t *o, int64_t now);
/* Is the JSON string the hex of b[0..n)? */
bool atl_dcap_hex_eq(const json_t *s, const uint8_t *b, size_t n);
/* (b & mask) == value, both hex strings of n bytes (n <= 16). */
bool atl_dcap_masked_eq(const json_t *val, const json_t *mask, const uint8_t *b, size_t n);

#endif
