/* Private to src/attest/: helpers shared by the Nitro, PSA, CCA, NVIDIA GPU
 * and composite backends (hw2.c): trust anchors from the policy and from
 * --anchor files, policy flags, hex claims. */
#ifndef ATOLL_ATTEST_HW2_H
#define ATOLL_ATTEST_HW2_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/sig.h"
#include "atoll/x509.h"

#define ATL_HW2_ANCHORS_MAX 16u /* anchors (keys or roots) one verification may pin */

/* A new JSON string with the lowercase hex of p[0..n), or NULL (no memory). */
json_t *atl_hw2_hex(const uint8_t *p, size_t n);

/* Public keys pinned for tee: the PEM texts of policy trust_anchors.<tee> and
 * the PEM files of in->anchors (both optional). Keys land in keys[0..cap) and
 * their count in *n_out; the caller frees each. ATL_E_FORMAT for an anchor
 * that is not a public key (a reason in why), ATL_E_LIMIT beyond cap. */
ATL_NODISCARD enum atl_err atl_hw2_anchor_keys(const struct atl_verify_in *in, const char *tee,
					       struct atl_pubkey **keys, size_t cap, size_t *n_out,
					       char *why, size_t why_cap);

/* Root certificates for tee: the policy's trust_anchors.<tee> and in->anchors
 * when any is given (they replace the built-in root), else builtin_pem.
 * *builtin_out tells which. */
ATL_NODISCARD enum atl_err atl_hw2_anchor_roots(const struct atl_verify_in *in, const char *tee,
						const char *builtin_pem,
						struct atl_x509_list **roots_out, bool *builtin_out,
						char *why, size_t why_cap);

/* Decodes a hex JSON string of exactly n bytes (n 0: any length up to cap)
 * into out; false otherwise. */
bool atl_hw2_json_hex(const json_t *v, uint8_t *out, size_t cap, size_t n, size_t *len_out);

/* Policy flags read directly from the validated policy (NULL = defaults). */
bool atl_hw2_allow_debug(const json_t *policy);
/* max_age_s (default 300) or -1 when policy is NULL. */
int64_t atl_hw2_max_age(const json_t *policy);

#endif
