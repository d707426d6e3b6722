/* Private to src/attest/: Arm PSA attestation tokens (psa.c) and Arm CCA
 * attestation tokens (cca.c), verified offline against keys the caller pins.
 *
 * PSA (draft-tschofenig-rats-psa-token, "PSA attestation token"): a
 * COSE_Sign1 (ES256/ES384) over a claims map, either the 2.0 profile
 * ("http://arm.com/psa/2.0.0", claim keys 10, 256, 2394..2400) or the legacy
 * PSA_IOT_PROFILE_1 (negative keys -75000..-75010). CCA (Arm CCA Security
 * Model / RMM spec A7.2): a collection under tag 907 (or the legacy 399) of a
 * platform token (PSA-style claims, signed by the CPAK) and a realm token
 * (signed by the RAK it carries), bound by platform challenge ==
 * H(RAK) with the realm's RAK hash algorithm. */
#ifndef ATOLL_ATTEST_PSA_H
#define ATOLL_ATTEST_PSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/sig.h"
#include "attest/cbor.h"

#define ATL_PSA_INSTANCE_ID_LEN 33 /* 0x01 (RAND type UEID) || 32 bytes */

enum atl_psa_profile { ATL_PSA_PROFILE_P1, ATL_PSA_PROFILE_P2, ATL_PSA_PROFILE_CCA };

/* Validated platform claims; byte views borrow from the claims tree. */
struct atl_psa_claims {
	enum atl_psa_profile profile;
	const uint8_t *nonce;            /* challenge (32, 48 or 64 bytes) */
	size_t nonce_len;
	const uint8_t *instance_id;      /* ATL_PSA_INSTANCE_ID_LEN bytes */
	const uint8_t *impl_id;          /* 32 bytes (PSA); 32 (CCA) */
	size_t impl_id_len;
	uint64_t lifecycle;
	bool debug;                      /* lifecycle is a debug state */
	uint8_t sw_digest[32];           /* SHA-256 over the sw-component measurement values */
	json_t *json;                    /* the claims for the result (owned) */
};

/* Parses and validates a platform claims map (PSA P1/P2 when cca is false,
 * the CCA platform profile when true). ATL_E_FORMAT with a reason in why for
 * a missing, mistyped or out-of-range claim or an unknown profile; ATL_E_LIMIT
 * for too many components; ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_psa_claims_parse(const cbor_item_t *claims, bool cca,
						struct atl_psa_claims *out, char *why,
						size_t why_cap);
void atl_psa_claims_clear(struct atl_psa_claims *c);
/* Records check `name`: the lifecycle is operational (secured, or a debug
 * state, which the claims flag as debug). ATL_E_NOMEM only. */
ATL_NODISCARD enum atl_err atl_psa_record_lifecycle(struct atl_ar *ar, const char *name,
						    uint64_t lifecycle);

/* Appraises validated platform claims (c->json) against reference sets
 * refs (a JSON array; NULL = nothing to appraise, no check recorded):
 *   [{"implementation_id": "<hex>", "config": "<hex>" (CCA),
 *     "sw_components": [{"measurement": "<hex>", "signer_id": "<hex>"}, ...]}, ...]
 * every field optional. A set matches when each field it gives equals the
 * claim, and its components and the token's pair up one to one (order free;
 * a reference without signer_id matches any signer). Records check `name`:
 * ok when some set matches. ATL_E_FORMAT (also recorded) for malformed refs,
 * ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_psa_appraise(struct atl_ar *ar, const char *name, const json_t *claims,
					    const json_t *refs);
/* The shape of reference-set appraisal that PSA platform and CCA realm
 * claims share: refs must be a non-empty array (at most ATL_ATTEST_LIST_MAX)
 * of sets that all pass valid() (else check `name` fails, "the policy's
 * <what> values are malformed", ATL_E_FORMAT); check `name` passes when
 * match(claims, set) holds for some set. NULL refs: nothing recorded. */
struct atl_psa_refkind {
	const char *what;                                        /* "reference", "realm reference" */
	bool (*valid)(const json_t *ref);
	bool (*match)(const json_t *claims, const json_t *ref);
};
ATL_NODISCARD enum atl_err atl_psa_appraise_sets(struct atl_ar *ar, const char *name,
						 const json_t *claims, const json_t *refs,
						 const struct atl_psa_refkind *k);
/* evidence() of the kinds that cannot produce any here (psa, cca):
 * ATL_E_UNSUPPORTED, outputs cleared. */
ATL_NODISCARD enum atl_err atl_psa_evidence_unsupported(const json_t *cfg,
							const uint8_t report_data[ATL_REPORT_DATA_LEN],
							uint8_t **ev_out, size_t *ev_len_out);
/* Case-insensitive equality of two hex strings (public reference values). */
bool atl_psa_hex_eq(const json_t *a, const json_t *b);
/* Is v a non-empty hex string of at most max_bytes bytes? */
bool atl_psa_is_hex(const json_t *v, size_t max_bytes);

/* An IAK registered for one instance-id. */
struct atl_psa_iak {
	const uint8_t *instance_id; /* ATL_PSA_INSTANCE_ID_LEN bytes */
	const struct atl_pubkey *key;
};

struct atl_psa_opts {
	const struct atl_psa_iak *iaks;  /* looked up by the token's instance-id */
	size_t n_iaks;
	const struct atl_pubkey *const *any_keys; /* pinned for every instance (--anchor) */
	size_t n_any;
	const uint8_t *nonce;            /* expected challenge, or NULL (not checked here) */
	size_t nonce_len;
	const json_t *refs;              /* reference sets (atl_psa_appraise), or NULL */
};

/* Verifies a PSA token and records checks ("psa.claims", "psa.iak",
 * "psa.signature", "psa.lifecycle", "psa.nonce", "psa.reference") and claims ("psa",
 * "measurement" = hex of sw_digest, "debug", "report_data" = the challenge)
 * in ar. ATL_OK when it ran to the end (checks may have failed); ATL_E_FORMAT
 * / ATL_E_LIMIT / ATL_E_TRUNCATED / ATL_E_TRAILING for undecodable input
 * (also recorded), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_psa_verify_token(const uint8_t *tok, size_t len,
						const struct atl_psa_opts *o, struct atl_ar *ar);

struct atl_cca_opts {
	const struct atl_pubkey *const *cpaks; /* pinned CPAKs; any may sign */
	size_t n_cpaks;
	const uint8_t *nonce;            /* expected realm challenge, or NULL */
	size_t nonce_len;
	const json_t *platform_refs;     /* platform reference sets (atl_psa_appraise), or NULL */
	const json_t *realm_refs;        /* [{"rim": hex, "rem": [hex x4], "personalization": hex}], or NULL */
};

/* Verifies a CCA token collection and records checks ("cca.platform_claims",
 * "cca.realm_claims", "cca.cpak", "cca.platform_signature",
 * "cca.realm_signature", "cca.binding", "cca.lifecycle", "cca.nonce",
 * "cca.platform_reference", "cca.realm_reference") and
 * claims ("cca" with platform and realm claims, "measurement" = hex RIM,
 * "debug", "report_data" = realm challenge). Returns as
 * atl_psa_verify_token. */
ATL_NODISCARD enum atl_err atl_cca_verify_token(const uint8_t *tok, size_t len,
						const struct atl_cca_opts *o, struct atl_ar *ar);

#endif
