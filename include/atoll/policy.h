/* Attestation policy (DESIGN §4): a JSON document saying which TEEs, builds
 * and trust anchors a verifier accepts.
 *
 *   {"tee_types":["sev-snp","tdx"],               required, non-empty
 *    "measurements":{"<tee>":["<hex>",...]},      only these builds; a TEE with
 *                                                 no list here is refused
 *    "min_tcb":{"<tee>":{...}},                   optional; read by the backend
 *    "allow_debug":false,                         default false
 *    "max_age_s":300,                             default 300 (1..ATL_ATTEST_AGE_MAX)
 *    "allow_sim":false,                           default false
 *    "trust_anchors":{"<tee>":"<PEM>" | ["<PEM>",...]},
 *    "tpm":{...}, "nitro":{...}, "psa":{...}, "cca":{...}, "nvidia-gpu":{...},
 *    "require_gpu":false}
 *
 * Validation is strict: an unknown field at any level Atoll defines (top level,
 * the TEE-name keys of measurements / min_tcb / trust_anchors) is an error that
 * names the field; so is a wrong type, bad hex, an empty list or one longer
 * than ATL_ATTEST_LIST_MAX. The per-TEE sections and the inner min_tcb objects
 * belong to the backends, which validate their own contents. Anything the
 * policy does not allow is refused (fail closed).
 *
 * The validated policy stays a json_t (struct atl_verify_in.policy) so
 * backends can read their sections; the getters below accept NULL (= no
 * policy: the default policy of the dispatcher, see verify.h). The strings in
 * why are escaped (no control bytes) and never longer than why_cap - 1. */
#ifndef ATOLL_POLICY_H
#define ATOLL_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_POLICY_MAX_AGE_DEFAULT 300

/* Checks a parsed document. ATL_E_FORMAT (wrong type, unknown field, bad
 * value) or ATL_E_LIMIT (too long), with a one-line reason naming the field in
 * why (NUL-terminated; why may be NULL). */
ATL_NODISCARD enum atl_err atl_policy_validate(const json_t *p, char *why, size_t why_cap);
/* Parses and validates policy text; *p_out is a new reference. */
ATL_NODISCARD enum atl_err atl_policy_parse(const char *buf, size_t len, json_t **p_out, char *why,
					    size_t why_cap);
/* Reads (at most ATL_ATTEST_POLICY_MAX bytes), parses and validates a file.
 * ATL_E_NOTFOUND / ATL_E_IO / ATL_E_LIMIT for the file, else as parse. */
ATL_NODISCARD enum atl_err atl_policy_load(const char *path, json_t **p_out, char *why,
					   size_t why_cap);

/* Is name one of the TEE kinds of DESIGN §4 (compiled in or not)? */
bool atl_policy_is_tee_name(const char *name);
/* The same name in static storage, or NULL when it is not a TEE kind. */
const char *atl_policy_tee_name(const char *name);

/* Getters on a validated policy (p may be NULL: no policy). */
bool atl_policy_lists_tee(const json_t *p, const char *tee); /* false for NULL */
bool atl_policy_allow_sim(const json_t *p);                  /* false for NULL */
bool atl_policy_allow_debug(const json_t *p);                /* false for NULL */
bool atl_policy_require_gpu(const json_t *p);                /* false for NULL */
/* max_age_s, or ATL_POLICY_MAX_AGE_DEFAULT when absent or p is NULL. */
int64_t atl_policy_max_age(const json_t *p);
/* The measurements listed for tee (array of hex strings), or NULL when the
 * policy does not restrict that TEE's measurement. */
const json_t *atl_policy_measurements(const json_t *p, const char *tee);
/* Is hex (any case) one of the listed measurements of tee? */
bool atl_policy_measurement_listed(const json_t *p, const char *tee, const char *hex);
/* Pinned trust anchors (PEM text) of tee: count and i-th (borrowed). */
size_t atl_policy_anchor_count(const json_t *p, const char *tee);
const char *atl_policy_anchor(const json_t *p, const char *tee, size_t i);
/* min_tcb.<tee> (borrowed object) or NULL. */
const json_t *atl_policy_min_tcb(const json_t *p, const char *tee);
/* A backend section ("tpm", "nitro", "psa", "cca", "nvidia-gpu"), or NULL. */
const json_t *atl_policy_section(const json_t *p, const char *name);

#endif
