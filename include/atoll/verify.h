/* Attestation service (DESIGN §4, §11): the evidence wrapper, the dispatcher
 * that verifies evidence against a policy, and the simulated TEE's helpers.
 *
 * Evidence wrapper: what atoll-enclave prints, what an island relays and what
 * `atoll verify --evidence` reads. JSON, every field required, no others:
 *
 *   {"v":1, "tee":"sim", "enclave_key":"<base64 X25519 public key, 32 bytes>",
 *    "nonce":"<hex, 1..ATL_ATTEST_NONCE_MAX bytes>",
 *    "evidence":"<base64 native evidence of that TEE>"}
 *
 * The native evidence binds report_data = atl_attest_binding(enclave_key,
 * nonce) (SHA-512 "atoll-evidence-v1" || key || nonce); the dispatcher checks
 * that binding, so a verified result vouches for the enclave key.
 *
 * Verification (atl_verify_evidence), in order, each step a check in the
 * result with a reason:
 *   format       the wrapper parses within limits
 *   backend      a backend for the TEE kind is compiled in
 *   tee_type     the policy lists the TEE kind
 *   allow_sim    (sim only) the policy sets allow_sim
 *   <backend>    the backend's own checks (signature, trust anchor, ...)
 *   measurement  the measurement is listed for that TEE
 *   debug        not a debug TEE, unless allow_debug
 *   age          issued_at is within max_age_s of now (and not more than
 *                ATL_ATTEST_SKEW_MAX in the future); evidence without a time
 *                is fresh only through a matched nonce
 *   report_data  equals the binding of enclave_key and nonce
 *   nonce        equals the verifier's expected nonce (a warning when the
 *                caller gave none: freshness then rests on age alone)
 * Any failed check makes the status "contraindicated"; the result fails closed.
 *
 * No policy (policy NULL) means the default policy: every hardware TEE kind,
 * never sim, no debug, max_age_s ATL_POLICY_MAX_AGE_DEFAULT, and the
 * measurement not appraised (a warning). A policy that lists no measurement
 * for the TEE refuses it. */
#ifndef ATOLL_VERIFY_H
#define ATOLL_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/keys.h"
#include "atoll/limits.h"

#define ATL_EVIDENCE_VERSION 1

/* The warning every tool that uses the sim TEE prints on stderr. */
#define ATL_SIM_WARNING                                                                    \
	"WARNING: simulated TEE ('sim'): NO hardware protection. The operator of this "   \
	"machine can read and change everything. For development and tests only."

/* ---- evidence wrapper ---- */

struct atl_evidence {
	const char *tee;                           /* a TEE kind of DESIGN §4 (static) */
	uint8_t enclave_key[ATL_X25519_LEN];
	uint8_t nonce[ATL_ATTEST_NONCE_MAX];
	size_t nonce_len;                          /* 1 .. ATL_ATTEST_NONCE_MAX */
	uint8_t *native;                           /* malloc'd native evidence */
	size_t native_len;                         /* 1 .. ATL_ATTEST_EVIDENCE_MAX */
};

/* Parses a wrapper (at most ATL_ATTEST_EVIDENCE_MAX bytes). On success *ev_out
 * owns native (free with atl_evidence_clear). ATL_E_LIMIT (too large),
 * ATL_E_UNSUPPORTED (v is not 1), ATL_E_FORMAT (anything else), with an escaped
 * one-line reason in why (may be NULL). On failure *ev_out is cleared. */
ATL_NODISCARD enum atl_err atl_evidence_parse(const uint8_t *buf, size_t len,
					      struct atl_evidence *ev_out, char *why,
					      size_t why_cap);
/* Frees native and zeroes the struct; NULL-safe. */
void atl_evidence_clear(struct atl_evidence *ev);

/* Builds wrapper JSON text (malloc'd, NUL-terminated, compact, sorted keys).
 * ATL_E_ARG for an unknown TEE kind or a nonce/native length out of range. */
ATL_NODISCARD enum atl_err atl_evidence_wrap(const char *tee,
					     const uint8_t enclave_pub[ATL_X25519_LEN],
					     const uint8_t *nonce, size_t nonce_len,
					     const uint8_t *native, size_t native_len,
					     char **json_out);

/* Produces a wrapper for this machine's TEE: report_data = binding(enclave_pub,
 * nonce), the backend's evidence() over it with cfg (backend-specific; for sim
 * {"sim_root":"DIR","binary":"PATH"}), then atl_evidence_wrap. ATL_E_NOTFOUND
 * for a TEE kind not compiled in, ATL_E_UNSUPPORTED when that backend cannot
 * produce evidence, else the backend's error. */
ATL_NODISCARD enum atl_err atl_evidence_produce(const char *tee, const json_t *cfg,
						const uint8_t enclave_pub[ATL_X25519_LEN],
						const uint8_t *nonce, size_t nonce_len,
						char **json_out);

/* ---- the dispatcher ---- */

/* Verifies a wrapper against policy (validated with atl_policy_*, or NULL for
 * the default policy) at time now. expected_nonce (may be NULL: not checked,
 * a warning) is the nonce the verifier issued. anchors: PEM file paths added
 * to the policy's trust anchors (NULL-terminated, or NULL).
 *
 * *ar_out always receives a result (unless ATL_E_NOMEM) that the caller frees
 * with atl_ar_free; every check in it has a reason. Returns ATL_OK only when
 * the policy accepts (status affirming or warning); otherwise the status is
 * contraindicated and the return is ATL_E_LIMIT / ATL_E_FORMAT /
 * ATL_E_UNSUPPORTED (wrapper or native evidence unreadable, or no backend for
 * the TEE), or ATL_E_POLICY (read, but a check failed: authenticity included).
 * ATL_E_NOMEM when a check could not be recorded (the result, if any, is then
 * contraindicated too).
 *
 * Backends set claims (measurement, debug, issued_at, report_data) only from
 * evidence that verified; without a measurement claim appraisal is skipped. */
ATL_NODISCARD enum atl_err atl_verify_evidence(const uint8_t *wrapper, size_t wrapper_len,
					       const json_t *policy, const uint8_t *expected_nonce,
					       size_t expected_nonce_len, int64_t now,
					       const char *const *anchors, struct atl_ar **ar_out);

/* The attested enclave key of an accepted result (status not
 * contraindicated): ATL_OK and pub_out filled, or ATL_E_POLICY. */
ATL_NODISCARD enum atl_err atl_verify_enclave_key(const struct atl_ar *ar,
						  uint8_t pub_out[ATL_X25519_LEN]);

/* ---- simulated TEE (src/attest/sim.c): NO hardware protection ---- */

#define ATL_SIM_ROOT_KEY_FILE "sim-root.key"     /* PKCS#8 PEM, mode 0600 */
#define ATL_SIM_ROOT_PUB_FILE "sim-root.pub.pem" /* SubjectPublicKeyInfo PEM */

/* Creates dir (0700, parents too) with a fresh ECDSA P-384 simulation root:
 * dir/sim-root.key (0600) and dir/sim-root.pub.pem (0644). ATL_E_EXISTS when
 * either file exists already (nothing is overwritten). */
ATL_NODISCARD enum atl_err atl_sim_root_create(const char *dir);
/* The sim measurement of a binary: SHA-384 of the file's bytes. */
ATL_NODISCARD enum atl_err atl_sim_measure(const char *path, uint8_t out[48]);

#endif
