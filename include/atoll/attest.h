/* Attestation framework (DESIGN §4): one interface per TEE kind, the
 * verification result ("attestation result", in the spirit of IETF EAR/AR4SI)
 * and the dispatcher.
 *
 * Flow of a verification:
 *   1. The backend's verify() checks authenticity (signatures, certificate
 *      chains to trust anchors, collateral) and records claims in the result:
 *      measurement, debug, TCB, report data, issued_at, each check with a reason.
 *   2. The framework appraises the claims against the policy (TEE allowed,
 *      measurement accepted, debug, age, nonce binding, minimum TCB).
 * Any failed check makes the status "contraindicated"; a check recorded as a
 * warning makes it at most "warning"; otherwise "affirming". Verification fails
 * closed: an error anywhere leaves a contraindicated result. */
#ifndef ATOLL_ATTEST_H
#define ATOLL_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_REPORT_DATA_LEN 64
#define ATL_BINDING_LABEL "atoll-evidence-v1"

/* ---- verification result ---- */

enum atl_ar_status { ATL_AR_AFFIRMING, ATL_AR_WARNING, ATL_AR_CONTRAINDICATED };

struct atl_ar; /* opaque */

/* New result for a TEE kind ("sim", "sev-snp", ...); NULL when out of memory. */
struct atl_ar *atl_ar_new(const char *tee);
void atl_ar_free(struct atl_ar *ar);
/* Records a check. ok=false makes the result contraindicated. The detail is a
 * reason for humans (no secrets). Returns ATL_E_NOMEM only. */
ATL_NODISCARD enum atl_err atl_ar_check(struct atl_ar *ar, const char *name, bool ok,
					const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Records a passed check that lowers the status to at least "warning". */
ATL_NODISCARD enum atl_err atl_ar_warn(struct atl_ar *ar, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets a top-level claim (measurement, tcb, enclave_key, nonce, report_data,
 * ...). set_json steals the reference to v. */
ATL_NODISCARD enum atl_err atl_ar_set_str(struct atl_ar *ar, const char *field, const char *v);
ATL_NODISCARD enum atl_err atl_ar_set_hex(struct atl_ar *ar, const char *field, const uint8_t *p,
					  size_t n);
ATL_NODISCARD enum atl_err atl_ar_set_json(struct atl_ar *ar, const char *field, json_t *v);
ATL_NODISCARD enum atl_err atl_ar_set_bool(struct atl_ar *ar, const char *field, bool v);
ATL_NODISCARD enum atl_err atl_ar_set_int(struct atl_ar *ar, const char *field, int64_t v);
/* A claim previously set (borrowed), or NULL. */
const json_t *atl_ar_get(const struct atl_ar *ar, const char *field);
enum atl_ar_status atl_ar_status(const struct atl_ar *ar);
const char *atl_ar_status_name(enum atl_ar_status s);
/* Name of the first failed check, or NULL. */
const char *atl_ar_first_failure(const struct atl_ar *ar);
/* The whole result as JSON (new reference): {status, tee, measurement, tcb,
 * debug, enclave_key, nonce, issued_at, checks:[{name, ok, detail}], ...}. */
json_t *atl_ar_to_json(const struct atl_ar *ar);

/* ---- TEE backends ---- */

/* What a backend's verify needs besides the evidence bytes. */
struct atl_verify_in {
	int64_t now;                  /* verification time (seconds since epoch) */
	const json_t *policy;         /* parsed, validated policy (may be NULL: defaults) */
	const char *const *anchors;   /* PEM file paths replacing built-in roots, NULL-terminated, or NULL */
	const char *const *collateral;/* collateral file paths, NULL-terminated, or NULL */
};

struct atl_tee_ops {
	const char *name; /* "sim", "tpm", "sev-snp", "tdx", "sgx", "nitro", "psa", "cca", "nvidia-gpu" */
	/* Is this TEE available on this machine? NULL = never. */
	bool (*detect)(void);
	/* Produces native evidence binding report_data. cfg is backend-specific
	 * (e.g. the sim root directory); NULL = not supported here. */
	enum atl_err (*evidence)(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
				 uint8_t **ev_out, size_t *ev_len_out);
	/* Verifies native evidence and records checks and claims in ar. Must set
	 * the claim "report_data" (hex) when the evidence carries one. Returns
	 * ATL_OK when it ran to the end (even if checks failed), or an error for
	 * unparseable input (the caller then records a failed "parse" check). */
	enum atl_err (*verify)(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar);
};

/* Backend for a TEE name, or NULL. */
const struct atl_tee_ops *atl_tee_find(const char *name);
/* NULL-terminated list of all compiled-in backends. */
const struct atl_tee_ops *const *atl_tee_all(void);

/* report_data = SHA-512("atoll-evidence-v1" || enclave_pub || nonce) (DESIGN §4). */
ATL_NODISCARD enum atl_err atl_attest_binding(const uint8_t *enclave_pub, size_t pub_len,
					      const uint8_t *nonce, size_t nonce_len,
					      uint8_t report_data_out[ATL_REPORT_DATA_LEN]);

#endif
