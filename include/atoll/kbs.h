/* The key broker's core (DESIGN §8, issue 9; docs/internals/kbs.md "Broker"):
 * tenants' KEKs stored wrapped under a master key, registered encrypted models
 * (.atm) with their release policy, attestation-gated release of a model's
 * data key (DEK) sealed with HPKE to the attested enclave key, KEK rotation,
 * revocation, and an audit record for every decision.
 *
 * State directory (mode 0700):
 *   master.key   64 lowercase hex digits + newline (32 random bytes), mode
 *                0600, created when absent; a group/other-readable one is
 *                refused (ATL_E_POLICY)
 *   state.json   tenants (KEKs wrapped: AES-256-GCM(master, nonce,
 *                aad = tenant || 0x00 || kek_id), the KEK's creation time,
 *                an optional release quota), models, revoked
 *                measurements; mode 0600, rewritten atomically
 *   audit.log    the hash-chained audit log (audit.h)
 *
 * Release nonces live in memory only (single use, ATL_KBS_NONCE_TTL_S). A
 * broker handle is not thread-safe: callers serialise. */
#ifndef ATOLL_KBS_H
#define ATOLL_KBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/model_crypt.h"
#include "atoll/sig.h"

#define ATL_KBS_MASTER_FILE "master.key"
#define ATL_KBS_MASTER_TPM_FILE "master.tpm" /* the master key sealed by a TPM */
#define ATL_KBS_STATE_FILE "state.json"
#define ATL_KBS_AUDIT_FILE "audit.log"
/* HPKE info of a released key; the AAD is the model id (32 hex digits). */
#define ATL_KBS_RELEASE_INFO "atoll kbs release v1"
/* HPKE info of a key released for a workload (sealed format "v":2); its AAD
 * is model id || 0x00 || workload id. */
#define ATL_KBS_RELEASE_INFO_WL "atoll kbs release v2"
/* Workload ids one model may be released for (atl_kbs_model_allow_workload). */
#define ATL_KBS_MODEL_WORKLOADS_MAX 64u
/* A model id as text: hex of the 16-byte .atm model id, NUL-terminated. */
#define ATL_KBS_MODEL_ID_HEX (2 * ATL_ATM_MODEL_ID_LEN + 1)

struct atl_kbs;

/* Identifier syntax shared by the broker, its service and its client: a
 * tenant is 1..ATL_KBS_TENANT_MAX bytes of [A-Za-z0-9._-]; a model id is
 * exactly 32 lowercase hex digits. NULL is invalid. */
bool atl_kbs_tenant_valid(const char *s);
bool atl_kbs_model_id_valid(const char *s);

/* Opens (creating what is missing) the broker state in dir. audit_signer
 * (borrowed, may be NULL: no signed heads) signs audit heads every 16 records
 * and at close. Errors: ATL_E_POLICY (master key readable by others),
 * ATL_E_FORMAT (master key or state file malformed), ATL_E_AUTH (a stored KEK
 * does not unwrap under the master key), ATL_E_BUSY (audit log locked),
 * ATL_E_IO. */
ATL_NODISCARD enum atl_err atl_kbs_open(const char *dir, const struct atl_privkey *audit_signer,
					struct atl_kbs **out);
/* Signs a final audit head, wipes every key, frees; NULL-safe. */
void atl_kbs_close(struct atl_kbs *b);

/* Process-wide (call before atl_kbs_open; --master-tpm): the TPM (a TCTI
 * config: "swtpm:host=..,port=..", "device:/dev/tpmrm0") that seals the
 * master key (src/kbs/master_tpm.c). With a TPM set, a new state gets a
 * random master key sealed by it in master.tpm (mode 0600) and no
 * master.key; a state with master.tpm is unsealed on the TPM set here, else
 * on the one recorded in the file. A state with master.key and a TPM set is
 * refused (ATL_E_STATE). atl_kbs_open then also fails with ATL_E_AUTH (does
 * not unseal on that TPM), ATL_E_FORMAT (master.tpm malformed), ATL_E_IO (TPM
 * unreachable). NULL: none. ATL_E_ARG (empty, too long, not printable). */
ATL_NODISCARD enum atl_err atl_kbs_master_tpm_set(const char *uri);

/* Adds a tenant (1..ATL_KBS_TENANT_MAX bytes of [A-Za-z0-9._-]) with kek
 * (NULL: a fresh random one) under the KEK id "<tenant>.k1"; kek_id_out (may
 * be NULL) gets it. ATL_E_EXISTS, ATL_E_ARG, ATL_E_LIMIT. */
ATL_NODISCARD enum atl_err atl_kbs_tenant_add(struct atl_kbs *b, const char *tenant,
					      const uint8_t *kek,
					      char kek_id_out[ATL_ATM_KEK_ID_MAX + 1]);

/* Encrypts in_path into out_path (atl_model_encrypt) under the tenant's
 * current KEK; info_out (may be NULL) gets the header. */
ATL_NODISCARD enum atl_err atl_kbs_model_encrypt(struct atl_kbs *b, const char *tenant,
						 const char *in_path, const char *out_path,
						 uint32_t chunk_size, struct atl_model_info *info_out);

/* Registers the .atm at atm_path (absolute path, kept) for tenant with a
 * release policy (validated with atl_policy_validate; copied). The header must
 * name the tenant's KEK and unwrap under it (which authenticates it).
 * model_id_out (may be NULL) gets the model id. ATL_E_EXISTS (model id known),
 * ATL_E_NOTFOUND (tenant), ATL_E_AUTH (not under the tenant's KEK),
 * ATL_E_FORMAT (policy), ATL_E_LIMIT. */
ATL_NODISCARD enum atl_err atl_kbs_model_register(struct atl_kbs *b, const char *tenant,
						  const char *atm_path, const json_t *policy,
						  char model_id_out[ATL_KBS_MODEL_ID_HEX]);

/* Allows model_id's key to be released for the workload workload_id
 * (1..ATL_STORE_NAME_MAX bytes of [A-Za-z0-9._-], the coordinator's workload
 * id); idempotent, stored in the state ("workloads" of the model), audited.
 * A model with allowed workloads is released only through
 * atl_kbs_release_workload for one of them. ATL_E_NOTFOUND (model), ATL_E_ARG,
 * ATL_E_LIMIT (ATL_KBS_MODEL_WORKLOADS_MAX). */
ATL_NODISCARD enum atl_err atl_kbs_model_allow_workload(struct atl_kbs *b, const char *model_id,
							const char *workload_id);

/* Revokes a model (no release ever again) / a measurement (hex, any case; no
 * release to evidence with that measurement for any model). Take effect at the
 * next release. ATL_E_NOTFOUND (model), ATL_E_ARG, ATL_E_LIMIT. */
ATL_NODISCARD enum atl_err atl_kbs_model_revoke(struct atl_kbs *b, const char *model_id);
ATL_NODISCARD enum atl_err atl_kbs_measurement_revoke(struct atl_kbs *b, const char *meas_hex);

/* A fresh single-use release nonce (ATL_KBS_NONCE_LEN random bytes), valid
 * until now + ATL_KBS_NONCE_TTL_S. Expired nonces are dropped; ATL_E_BUSY when
 * ATL_KBS_NONCES_MAX are outstanding. */
ATL_NODISCARD enum atl_err atl_kbs_nonce_new(struct atl_kbs *b, int64_t now,
					     uint8_t nonce_out[ATL_KBS_NONCE_LEN]);

/* Releases model_id's DEK to an enclave of tenant. In order: the nonce must be
 * one this broker issued, unexpired and unused (it is consumed now, whatever
 * the outcome: ATL_E_REPLAY); the model must exist (ATL_E_NOTFOUND), belong
 * to tenant (ATL_E_DENIED) and not be revoked (ATL_E_POLICY); the evidence
 * must verify (atl_verify_evidence) against the model's policy with that
 * nonce at now (its error); its measurement must not be revoked
 * (ATL_E_POLICY). Then the DEK is unwrapped from the model's current header
 * (ATL_E_AUTH if the file no longer matches the registration) and sealed with
 * HPKE (default suite, info ATL_KBS_RELEASE_INFO, aad = model id text) to the
 * enclave key the evidence vouches for. *sealed_out (malloc'd, NUL-terminated):
 *   {"v":1,"model_id":"<hex>","enc":"<b64>","ct":"<b64>"}
 * Refused (ATL_E_DENIED) for a model with allowed workloads (use
 * atl_kbs_release_workload). Every release and refusal is an audit record
 * (ids and reasons only); a
 * release whose record cannot be written is refused (ATL_E_IO). */
ATL_NODISCARD enum atl_err atl_kbs_release(struct atl_kbs *b, const char *tenant,
					   const char *model_id, const uint8_t *evidence,
					   size_t evidence_len, const uint8_t *expected_nonce,
					   size_t nonce_len, int64_t now, char **sealed_out);

/* atl_kbs_release for one workload: additionally refused (ATL_E_DENIED,
 * audited) unless workload_id is among the model's allowed workloads
 * (atl_kbs_model_allow_workload); the key is sealed with info
 * ATL_KBS_RELEASE_INFO_WL and aad = model id || 0x00 || workload id:
 *   {"v":2,"model_id":"<hex>","workload_id":"<W>","enc":"<b64>","ct":"<b64>"}
 * atl_kbs_release (no workload) is refused (ATL_E_DENIED) for a model that has
 * allowed workloads. */
ATL_NODISCARD enum atl_err atl_kbs_release_workload(struct atl_kbs *b, const char *tenant,
						    const char *model_id, const char *workload_id,
						    const uint8_t *evidence, size_t evidence_len,
						    const uint8_t *expected_nonce, size_t nonce_len,
						    int64_t now, char **sealed_out);

/* KEK rotation: a new random KEK "<tenant>.k<N+1>" is recorded as pending,
 * every model of the tenant is rewrapped (atl_model_rewrap) and checked to
 * unwrap under the new KEK, then the old KEK is dropped. On a failure the
 * models already rewrapped are rewrapped back and the old KEK stays.
 * new_kek_id_out may be NULL. */
ATL_NODISCARD enum atl_err atl_kbs_rotate(struct atl_kbs *b, const char *tenant,
					  char new_kek_id_out[ATL_ATM_KEK_ID_MAX + 1]);

/* Rotates (atl_kbs_rotate) every tenant whose KEK was created max_age_s or
 * more before now, and resumes unfinished rotations; the audit record says
 * "scheduled". A tenant without a stored creation time (a state from before
 * it was kept) gets now as its creation time. n_rotated (may be NULL) counts
 * the rotations done. Returns the first error (the other tenants are still
 * tried). */
ATL_NODISCARD enum atl_err atl_kbs_rotate_due(struct atl_kbs *b, int64_t now, int64_t max_age_s,
					      unsigned *n_rotated);

/* ---- service hooks (src/kbsd/) ---- */

/* Why the last atl_kbs_release was refused (printable ASCII, no secrets, the
 * same text as its audit record), "" after a release. Borrowed until the next
 * call on b. */
const char *atl_kbs_last_reason(const struct atl_kbs *b);
/* Appends an audit record (actor "kbs") for a decision taken outside the
 * broker core (e.g. a quota refusal). ATL_E_ARG, the append's error. */
ATL_NODISCARD enum atl_err atl_kbs_audit_note(struct atl_kbs *b, int64_t now, const char *action,
					      const char *subject, const char *tenant,
					      const char *reason);
/* A tenant's release quota: at most n releases per window_s seconds (n 0:
 * none, the service's default applies). Stored in the state, audited.
 * ATL_E_NOTFOUND (tenant), ATL_E_ARG. */
ATL_NODISCARD enum atl_err atl_kbs_tenant_quota_set(struct atl_kbs *b, const char *tenant,
						    uint32_t n, uint32_t window_s);
/* *n 0 when the tenant has no quota of its own. ATL_E_NOTFOUND, ATL_E_ARG. */
ATL_NODISCARD enum atl_err atl_kbs_tenant_quota_get(const struct atl_kbs *b, const char *tenant,
						    uint32_t *n, uint32_t *window_s);
/* A summary without key material: {"tenants":{T:{"kek_id","gen","kek_created",
 * "quota","pending_kek_id"}},"models":{ID:{"tenant","kek_id","path","pt_len",
 * "revoked"}},"revoked_measurements":[...]}; NULL when out of memory. */
json_t *atl_kbs_status(const struct atl_kbs *b);

/* Enclave side: opens a sealed key of atl_kbs_release with the enclave's key
 * pair, checking that it is for expect_model_id. ATL_E_FORMAT, ATL_E_AUTH. */
ATL_NODISCARD enum atl_err atl_kbs_sealed_open(const char *sealed, size_t len,
					       const struct atl_kp *kp,
					       const char *expect_model_id,
					       uint8_t dek_out[ATL_ATM_DEK_LEN]);

/* Enclave side, sealed format 2 (atl_kbs_release_workload): opens it only if
 * it is for expect_model_id and expect_workload_id (both in the HPKE AAD, so
 * a sealed key relabelled for another workload does not open). A version 1
 * key is refused (ATL_E_FORMAT). ATL_E_FORMAT, ATL_E_AUTH, ATL_E_ARG. */
ATL_NODISCARD enum atl_err atl_kbs_sealed_open_workload(const char *sealed, size_t len,
							const struct atl_kp *kp,
							const char *expect_model_id,
							const char *expect_workload_id,
							uint8_t dek_out[ATL_ATM_DEK_LEN]);

/* ---- DEK helpers (src/kbs/dek.c) ---- */

/* Unwraps the DEK of an .atm header buf[0..len) with kek (authenticating the
 * header); info_out (may be NULL) gets the header fields. dek_out is wiped on
 * failure. Errors: header parse errors, ATL_E_AUTH. */
ATL_NODISCARD enum atl_err atl_kbs_dek_unwrap(const uint8_t *buf, size_t len,
					      const uint8_t kek[ATL_ATM_KEK_LEN],
					      uint8_t dek_out[ATL_ATM_DEK_LEN],
					      struct atl_model_info *info_out);
/* Same, reading the header of the file at path. */
ATL_NODISCARD enum atl_err atl_kbs_dek_unwrap_file(const char *path,
						   const uint8_t kek[ATL_ATM_KEK_LEN],
						   uint8_t dek_out[ATL_ATM_DEK_LEN],
						   struct atl_model_info *info_out);
/* Decrypts an in-memory .atm image with its DEK (what an enclave holds after
 * a release): exact size, every chunk tag, the final flag and the plaintext
 * digest are checked before success; *pt_out is secret memory
 * (atl_secret_free; at least 1 byte), NULL and *len_out 0 on any failure.
 * expect_model_id (16 bytes, may be NULL). Errors as atl_model_decrypt_mem. */
ATL_NODISCARD enum atl_err atl_kbs_dek_decrypt_mem(const uint8_t *buf, size_t len,
						   const uint8_t dek[ATL_ATM_DEK_LEN],
						   const uint8_t *expect_model_id,
						   uint8_t **pt_out, size_t *len_out);

#endif
