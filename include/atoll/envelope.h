/* Sealed envelope v1 and sealed results (DESIGN §3).
 *
 * Envelope (JSON text, keys in this order, binary fields standard base64):
 *   {"v":1,"suite":"x25519-sha256-aes256gcm","workload_id":"…","key_id":"…",
 *    "created_at":1763884800,
 *    "recipients":[{"kid":"ek_…","enc":"…","wrapped_key":"…"},…],
 *    "nonce":"…","ciphertext":"…"}
 * A fresh random 32-byte data key (DEK) encrypts the payload with AES-256-GCM
 * (nonce: 12 random bytes). The DEK is HPKE-sealed (mode_base, the named suite)
 * to every recipient. The payload's associated data is the canonical binary
 * encoding of every header field, recipients in order (docs/internals/crypto.md),
 * so no field can be changed, dropped, added or reordered undetected.
 * kid = "ek_" (enclave key) or "ck_" (client key) + hex(SHA-256(pub)[0..16)).
 *
 * Result (JSON text): {"v":1,"nonce":"…","ciphertext":"…"}, AES-256-GCM under
 * HKDF-SHA256(DEK, salt = job id, info = "atoll result v1"), with the job id
 * and workload id as associated data.
 *
 * Every failure to open gives ATL_E_FORMAT (malformed), ATL_E_LIMIT (over a
 * limit of include/atoll/limits.h), ATL_E_AUTH (no recipient entry for the
 * key, or a tag did not verify), or ATL_E_REPLAY (stale, future or repeated),
 * and never plaintext. DEKs and plaintexts are returned in secret memory
 * (free with atl_secret_free, which wipes). */
#ifndef ATOLL_ENVELOPE_H
#define ATOLL_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/keys.h"
#include "atoll/limits.h"

#define ATL_ENV_VERSION 1
#define ATL_ENV_DEK_LEN 32
#define ATL_ENV_NONCE_LEN 12
/* Default suite name; also accepted: "x25519-sha256-aes128gcm",
 * "x25519-sha256-chacha20poly1305". */
#define ATL_ENV_SUITE_DEFAULT "x25519-sha256-aes256gcm"

/* One recipient for atl_env_seal. */
struct atl_env_recipient {
	uint8_t pub[ATL_X25519_LEN];
	const char *kid_prefix; /* "ek_" (enclave key; also when NULL) or "ck_" (client key) */
};

/* Header of an envelope. Filled by atl_env_open (authenticated) and by
 * atl_env_inspect (NOT authenticated: for routing and display only). */
struct atl_env_info {
	char suite[32];
	char workload_id[ATL_ENV_ID_MAX + 1];
	char key_id[ATL_ENV_ID_MAX + 1];
	int64_t created_at;
	size_t n_recipients;
	char kids[ATL_ENV_RECIPIENTS_MAX][ATL_KEY_ID_LEN];
	/* Index in kids of the entry that opened it (atl_env_open only). */
	size_t opened_by;
	/* SHA-256 over the canonical header encoding (nonce and recipients
	 * included), the ciphertext length and the AEAD tag: the replay identity
	 * of this envelope (the JSON text may be re-spaced). Without the DEK no
	 * other ciphertext opens under the same header and tag, so it names
	 * exactly one authentic envelope (docs/internals/crypto.md). */
	uint8_t digest[32];
};

/* Seals pt[0..pt_len) (pt_len <= ATL_ENV_PAYLOAD_MAX) to n recipients
 * (1..ATL_ENV_RECIPIENTS_MAX, distinct keys). workload_id and key_id are
 * 1..ATL_ENV_ID_MAX printable ASCII characters other than '"' and '\\';
 * created_at is seconds since the epoch (>= 0).
 * *json_out: NUL-terminated JSON text (free()), *json_len_out its length.
 * dek_out may be NULL; else *dek_out gets the DEK (ATL_ENV_DEK_LEN bytes of
 * secret memory, atl_secret_free) so the client can open the result later.
 * Errors: ATL_E_ARG, ATL_E_LIMIT, ATL_E_CRYPTO, ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_env_seal(const struct atl_env_recipient *recipients, size_t n,
					const char *workload_id, const char *key_id,
					int64_t created_at, const uint8_t *pt, size_t pt_len,
					char **json_out, size_t *json_len_out, uint8_t **dek_out);

/* Replay and freshness checker for the enclave: accepts an envelope only if
 * |now - created_at| <= skew_s and its digest has not been accepted before
 * while it could still be fresh. Holds at most `capacity` digests
 * (1..ATL_ENV_REPLAY_MAX); entries older than the window are dropped. When
 * full of live entries it refuses (ATL_E_BUSY) rather than forget one. Not
 * thread-safe. */
struct atl_env_replay;
ATL_NODISCARD enum atl_err atl_env_replay_new(int64_t skew_s, size_t capacity,
					      struct atl_env_replay **out);
void atl_env_replay_free(struct atl_env_replay *rp);
/* Checks and records. Errors: ATL_E_REPLAY (outside the window, or seen),
 * ATL_E_BUSY (full), ATL_E_ARG. Nothing is recorded on error. */
ATL_NODISCARD enum atl_err atl_env_replay_check(struct atl_env_replay *rp,
						const uint8_t digest[32], int64_t created_at,
						int64_t now);

/* Opens an envelope with the key pair kp (its entry is found by kid: "ek_" or
 * "ck_" + the key's hex id). Parses (at most ATL_ENV_SIZE_MAX bytes), unwraps
 * the DEK, verifies and decrypts the payload; only then, if replay is not NULL,
 * runs atl_env_replay_check(replay, digest, created_at, now) (the client
 * reopening its own job passes NULL).
 * On success: *pt_out (secret memory, atl_secret_free; non-NULL even when
 * *pt_len_out is 0), *dek_out if dek_out is not NULL (ATL_ENV_DEK_LEN bytes of
 * secret memory), *info_out if info_out is not NULL. On failure all outputs
 * are NULL/0 and nothing secret is left behind.
 * Errors: ATL_E_FORMAT, ATL_E_LIMIT, ATL_E_AUTH, ATL_E_REPLAY, ATL_E_BUSY,
 * ATL_E_ARG, ATL_E_NOMEM, ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_env_open(const char *json, size_t json_len, const struct atl_kp *kp,
					int64_t now, struct atl_env_replay *replay,
					uint8_t **pt_out, size_t *pt_len_out, uint8_t **dek_out,
					struct atl_env_info *info_out);

/* Parses and validates an envelope's structure without any key and fills
 * info_out (digest included). NOTHING IS AUTHENTICATED: use it to route a job
 * to a recipient or to display, never to trust a field.
 * Errors: ATL_E_FORMAT, ATL_E_LIMIT, ATL_E_ARG, ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_env_inspect(const char *json, size_t json_len,
					   struct atl_env_info *info_out);

/* Seals a job result pt[0..pt_len) (pt_len <= ATL_ENV_PAYLOAD_MAX) under the
 * key derived from dek and job_id, with job_id and workload_id (each
 * 1..ATL_ENV_ID_MAX printable ASCII characters other than '"' and '\\') as
 * associated data. *json_out: NUL-terminated JSON text (free()).
 * Errors: ATL_E_ARG, ATL_E_LIMIT, ATL_E_CRYPTO, ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_env_result_seal(const uint8_t dek[ATL_ENV_DEK_LEN],
					       const char *job_id, const char *workload_id,
					       const uint8_t *pt, size_t pt_len, char **json_out,
					       size_t *json_len_out);

/* Opens a result sealed by atl_env_result_seal for the same dek, job_id and
 * workload_id. *pt_out: secret memory (atl_secret_free; non-NULL even when
 * empty). Errors: ATL_E_FORMAT, ATL_E_LIMIT, ATL_E_AUTH, ATL_E_ARG,
 * ATL_E_NOMEM, ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_env_result_open(const uint8_t dek[ATL_ENV_DEK_LEN],
					       const char *job_id, const char *workload_id,
					       const char *json, size_t json_len, uint8_t **pt_out,
					       size_t *pt_len_out);

#endif
