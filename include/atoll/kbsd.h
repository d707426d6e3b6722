/* The key broker's HTTP service and its client (DESIGN §8, issue 9;
 * docs/internals/kbsd.md, wire contract in docs/http-api.md "Key broker
 * service").
 *
 * Trustee-shaped (Confidential Containers KBS protocol v0):
 *   POST /kbs/v0/auth      {"version","tee","extra-params":{"tenant","model_id"}}
 *                          -> {"nonce":B64,"extra-params":""} + Set-Cookie kbs-session-id
 *   POST /kbs/v0/attest    {"tee-pubkey":{JWK OKP X25519},"tee-evidence":"<wrapper JSON>"}
 *                          -> {"status":"pending"} (evidence kept in the session)
 *   GET  /kbs/v0/resource/<tenant>/model-key/<model_id>
 *                          -> the sealed key of atl_kbs_release; the session is consumed
 * Sessions live in memory (at most ATL_KBSD_SESSIONS_MAX, each until its
 * nonce expires, ATL_KBS_NONCE_TTL_S). One broker handle serves every
 * connection, serialised by a mutex. */
#ifndef ATOLL_KBSD_H
#define ATOLL_KBSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/kbs.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/sig.h"

#define ATL_KBSD_PREFIX "/kbs/v0"
#define ATL_KBSD_COOKIE "kbs-session-id"
#define ATL_KBSD_PROTOCOL_VERSION "0.1.0"
#define ATL_KBSD_PUBKEY_ALG "HPKE-Base-X25519-SHA256-AES256GCM"
#define ATL_KBSD_SID_HEX 64u /* a session id: hex of 32 random bytes */
#define ATL_KBSD_ROTATE_DAYS_DEFAULT 90
#define ATL_KBSD_ROTATE_CHECK_S_DEFAULT 60
/* The admin API's token (docs/internals/kbsd.md "Admin API"): the token file
 * (for the operator; mode 0600, 64 hex digits + newline) and the file the
 * service reads, its SHA-256 (64 hex digits + newline, mode 0600). */
#define ATL_KBSD_ADMIN_TOKEN_FILE "admin.token"
#define ATL_KBSD_ADMIN_HASH_FILE "admin.token.sha256"
#define ATL_KBSD_ADMIN_TOKEN_HEX 64u /* a generated token: hex of 32 random bytes */
#define ATL_KBSD_ADMIN_HASH_LEN 32u  /* SHA-256 */

/* ------------------------------------------------------------------ server */

struct atl_kbsd;

struct atl_kbsd_opts {
	const char *listen;                     /* "127.0.0.1:PORT"; NULL: "127.0.0.1:0" */
	bool allow_public;                      /* required for a non-loopback address */
	/* HTTPS: PEM text (not paths), copied by the HTTP server; NULL: plain HTTP */
	const char *tls_cert_pem;
	const char *tls_key_pem;
	const char *dir;                        /* the broker's state directory */
	const struct atl_privkey *audit_signer; /* signs audit heads; may be NULL; borrowed */
	/* Default release quota of every tenant without its own
	 * (atl_kbs_tenant_quota_set): quota_n releases per quota_window_s
	 * seconds; quota_n 0: no default quota. */
	uint32_t quota_n;
	uint32_t quota_window_s;
	/* KEK rotation schedule: a tenant's KEK older than rotate_after_s is
	 * rotated at start and then every rotate_check_s seconds' check;
	 * rotate_after_s 0: no schedule; rotate_check_s 0:
	 * ATL_KBSD_ROTATE_CHECK_S_DEFAULT. */
	int64_t rotate_after_s;
	unsigned rotate_check_s;
	/* The clock (Unix seconds); NULL: atl_time_now. For tests. */
	int64_t (*clock)(void *clock_ctx);
	void *clock_ctx;
	/* No admin API (/kbs/v0/admin/...: 404). Otherwise the token's hash is
	 * read from dir/ATL_KBSD_ADMIN_HASH_FILE, created with a fresh token
	 * (atl_kbsd_admin_token_init) when absent. */
	bool admin_disabled;
};

/* Opens the broker state (atl_kbs_open), runs the rotation check once, starts
 * the HTTP server and the rotation thread. Errors of atl_kbs_open (ATL_E_BUSY:
 * another process has the state open), of atl_http_server_start, ATL_E_ARG. */
ATL_NODISCARD enum atl_err atl_kbsd_start(const struct atl_kbsd_opts *opts, struct atl_kbsd **out);
/* The bound TCP port. */
uint16_t atl_kbsd_port(const struct atl_kbsd *d);
/* Stops the server and the rotation thread, closes the broker (final signed
 * audit head), wipes the sessions; NULL-safe. */
void atl_kbsd_stop(struct atl_kbsd *d);

/* Parses "N/WINDOW_S" (N 1..UINT32_MAX, WINDOW_S 1..ATL_KBS_QUOTA_WINDOW_MAX_S)
 * or "none" (both 0). ATL_E_ARG. */
ATL_NODISCARD enum atl_err atl_kbsd_quota_parse(const char *s, uint32_t *n, uint32_t *window_s);

/* The session id in a Cookie header value ("a=b; kbs-session-id=HEX; c=d"):
 * exactly ATL_KBSD_SID_HEX lowercase hex digits, copied NUL-terminated into
 * sid; false when absent or malformed (hdr may be NULL). */
bool atl_kbsd_cookie_sid(const char *hdr, char sid[ATL_KBSD_SID_HEX + 1]);

/* Creates the admin token of the state directory dir when it has none: a
 * fresh token (ATL_KBSD_ADMIN_TOKEN_HEX hex digits) into
 * dir/ATL_KBSD_ADMIN_TOKEN_FILE and its SHA-256 into
 * dir/ATL_KBSD_ADMIN_HASH_FILE, both mode 0600. *created (may be NULL) says
 * whether it did. ATL_E_IO, ATL_E_FORMAT (a malformed hash file). */
ATL_NODISCARD enum atl_err atl_kbsd_admin_token_init(const char *dir, bool *created);
/* Reads dir/ATL_KBSD_ADMIN_HASH_FILE. ATL_E_NOTFOUND, ATL_E_FORMAT, ATL_E_IO. */
ATL_NODISCARD enum atl_err atl_kbsd_admin_hash_load(const char *dir,
						    uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN]);
/* True when SHA-256(token) equals hash (constant-time compare); false for
 * NULL, "" or a token longer than ATL_KBSD_ADMIN_TOKEN_MAX. */
bool atl_kbsd_admin_check(const uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN], const char *token);

/* ------------------------------------------------------------------ client */

struct atl_kbsc; /* one session */

/* POST base_url/kbs/v0/auth (base_url "http://HOST:PORT", a trailing "/" or
 * "/kbs/v0" allowed); nonce_out gets the broker nonce (ATL_KBS_NONCE_LEN
 * bytes) that the enclave's evidence must bind. tee: the TEE kind; tenant
 * and model_id (32 lowercase hex) name the key the session is for. */
ATL_NODISCARD enum atl_err atl_kbsc_auth(const char *base_url, const char *tee, const char *tenant,
					 const char *model_id, struct atl_kbsc **out,
					 uint8_t nonce_out[ATL_KBS_NONCE_LEN]);
/* POST /attest (evidence_json: the evidence wrapper, enclave_pub: the key it
 * binds) then GET /resource; *sealed_out malloc'd NUL-terminated sealed JSON
 * (open with atl_kbs_sealed_open). Errors: 401 ATL_E_AUTH, 403 ATL_E_DENIED
 * (another tenant's model) or ATL_E_POLICY (any other refusal), 404
 * ATL_E_NOTFOUND, 409 ATL_E_REPLAY, 413 and 429 ATL_E_LIMIT, 400 ATL_E_ARG,
 * 503 ATL_E_BUSY, other statuses and transport failures ATL_E_IO
 * (ATL_E_TIMEOUT for a deadline), a malformed answer ATL_E_FORMAT. The
 * broker's refusal message: atl_kbsc_last_error. A session fetches once. */
ATL_NODISCARD enum atl_err atl_kbsc_fetch(struct atl_kbsc *s, const char *evidence_json,
					  const uint8_t enclave_pub[ATL_X25519_LEN],
					  char **sealed_out, size_t *sealed_len);
/* atl_kbsc_fetch for the workload workload_id (1..ATL_STORE_NAME_MAX bytes of
 * [A-Za-z0-9._-]): GET /resource/...?workload=W, answered with a sealed key of
 * format 2 bound to that workload (open with atl_kbs_sealed_open_workload);
 * 403 when the model is not allowed for it. ATL_E_ARG for a bad id. */
ATL_NODISCARD enum atl_err atl_kbsc_fetch_workload(struct atl_kbsc *s, const char *evidence_json,
						   const uint8_t enclave_pub[ATL_X25519_LEN],
						   const char *workload_id, char **sealed_out,
						   size_t *sealed_len);
/* The HTTP status and the error message of the last failed request ("" and 0
 * when none); printable ASCII. */
const char *atl_kbsc_last_error(const struct atl_kbsc *s, long *status_out);
void atl_kbsc_free(struct atl_kbsc *s);

/* Client settings for every later atl_kbsc_auth in this process: ca_file, a
 * PEM bundle that verifies an https broker (NULL: the system store; TLS peer
 * and host verification are always on). Copied. ATL_E_NOMEM. When never
 * called, the environment variable ATOLL_KBS_CA_FILE is used if set. */
ATL_NODISCARD enum atl_err atl_kbsc_set_ca_file(const char *ca_file);

#endif
