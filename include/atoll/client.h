/* The client side of the platform (DESIGN §1, §2; docs/internals/client.md;
 * the HTTP contract is docs/api.md / platform-api.md "Client API").
 *
 * Everything the `atoll` commands keys, targets, run, submit, result and stats
 * do, as a library: the user's key store, local verification of targets'
 * evidence against the user's own policy, sealing to the verified enclave
 * keys plus the user's own client key, submission, polling and opening.
 * The coordinator is untrusted: every target is verified here, and nothing
 * it returns is used before it verifies (evidence) or authenticates (sealed
 * result under the job's data key).
 *
 * Key store layout (DIR: --keys, $ATOLL_KEYS, $XDG_CONFIG_HOME/atoll or
 * ~/.config/atoll; created 0700):
 *   DIR/keys/ck_<hex>.json   0600  {"v":1,"key_id","public_key","private_key","created_at"}
 *   DIR/jobs/job_<hex>.json  0600  the job record: {"v":1,"job_id","workload_id",
 *                                  "key_id","coordinator","submitted_at","envelope":{…}}
 *   DIR/policy.json                the default attestation policy (user-written)
 * The job record keeps the sealed envelope (ciphertext only), so `atoll result`
 * recovers the job's data key by opening its own recipient entry with the
 * client key: no data key is ever stored. */
#ifndef ATOLL_CLIENT_H
#define ATOLL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/keys.h"
#include "atoll/limits.h"

#define ATL_CLIENT_DIR_ENV "ATOLL_KEYS"
#define ATL_CLIENT_URL_ENV "ATOLL_COORDINATOR"
#define ATL_CLIENT_KEY_ENV "ATOLL_API_KEY"
/* https coordinator: CA bundle to verify it (default: the system store), and
 * for mTLS a client certificate and its key (PEM files; atl_client_new) */
#define ATL_CLIENT_CA_ENV "ATOLL_TLS_CA"
#define ATL_CLIENT_CERT_ENV "ATOLL_TLS_CERT"
#define ATL_CLIENT_CERT_KEY_ENV "ATOLL_TLS_KEY"
#define ATL_CLIENT_POLICY_FILE "policy.json"
#define ATL_CLIENT_WHY_MAX 256 /* bytes of a reason kept for the user */
#define ATL_CLIENT_TEE_MAX 16

/* ---- configuration ---- */

/* The key store directory: dir when not NULL, else $ATOLL_KEYS, else
 * $XDG_CONFIG_HOME/atoll, else $HOME/.config/atoll. ATL_E_LIMIT when it does
 * not fit cap, ATL_E_NOTFOUND when none of them is set. */
ATL_NODISCARD enum atl_err atl_client_dir(const char *dir, char *out, size_t cap);

/* The coordinator URL and API key: the option when given, else the
 * environment ($ATOLL_COORDINATOR, $ATOLL_API_KEY); NULL when neither. */
const char *atl_client_url(const char *opt);
const char *atl_client_api_key(const char *opt);

/* Loads the policy the client verifies with: path when not NULL, else
 * DIR/policy.json. ATL_E_NOTFOUND when there is none (never a silent
 * fallback to a weaker policy); else as atl_policy_load, with a reason in
 * why. used_out (cap bytes) gets the path read. */
ATL_NODISCARD enum atl_err atl_client_policy_load(const char *dir, const char *path,
						  json_t **p_out, char *used_out, size_t cap,
						  char *why, size_t why_cap);

/* ---- key store (src/client/keystore.c) ---- */

struct atl_client_key_info {
	char key_id[ATL_KEY_ID_LEN];
	uint8_t pub[ATL_X25519_LEN];
	int64_t created_at;
};

/* Creates DIR (0700) and DIR/keys, generates a key pair and writes it 0600.
 * kid_out gets its id. */
ATL_NODISCARD enum atl_err atl_client_key_create(const char *dir, char kid_out[ATL_KEY_ID_LEN]);
/* Lists the keys in DIR/keys, newest first (then by id). *list_out is
 * malloc'd (free()); no private key is read into it. An empty or missing
 * store is ATL_OK with *n_out 0. Unreadable or malformed files are skipped
 * with a warning. */
ATL_NODISCARD enum atl_err atl_client_key_list(const char *dir,
					       struct atl_client_key_info **list_out,
					       size_t *n_out);
/* Loads a key pair: kid, or the default key (the newest) when kid is NULL.
 * kid_out (may be NULL) gets the id. ATL_E_NOTFOUND when there is none,
 * ATL_E_FORMAT when the file is malformed or its key does not match its id,
 * ATL_E_ARG for a malformed kid. kp_out: atl_kp_clear it. */
ATL_NODISCARD enum atl_err atl_client_key_load(const char *dir, const char *kid,
					       struct atl_kp *kp_out,
					       char kid_out[ATL_KEY_ID_LEN]);
/* Deletes a key file (overwritten with zeros first). ATL_E_NOTFOUND, ATL_E_ARG. */
ATL_NODISCARD enum atl_err atl_client_key_delete(const char *dir, const char *kid);
/* Is s a well-formed id with that prefix ("ck_", "ek_", "job_" + 32 lowercase hex)? */
bool atl_client_id_ok(const char *s, const char *prefix);

/* ---- local verification (src/client/verify.c) ---- */

struct atl_client_verdict {
	bool ok;                         /* the policy accepts it */
	char status[16];                 /* affirming | warning | contraindicated */
	uint8_t pub[ATL_X25519_LEN];     /* the attested enclave key (ok only) */
	char key_id[ATL_KEY_ID_LEN];     /* its ek_ id (ok only) */
	char why[ATL_CLIENT_WHY_MAX];    /* "<first failed check>: <detail>" when refused */
};

/* Verifies one evidence wrapper against policy (validated; NULL: the default
 * policy) at now, with the expected nonce (may be NULL: freshness rests on
 * age, see verify.h), and reports the verdict. ATL_OK whenever a verdict was
 * reached (look at v_out->ok); ATL_E_NOMEM otherwise. */
ATL_NODISCARD enum atl_err atl_client_verify(const uint8_t *wrapper, size_t wrapper_len,
					     const json_t *policy, const uint8_t *nonce,
					     size_t nonce_len, int64_t now,
					     struct atl_client_verdict *v_out);

/* ---- the coordinator (src/client/remote.c) ---- */

struct atl_client;

/* A session with the coordinator at url (http:// or https://, no trailing
 * path) using the tenant API key (copied, never logged); TLS files from
 * $ATOLL_TLS_CA, $ATOLL_TLS_CERT and $ATOLL_TLS_KEY when set. ATL_E_ARG for a
 * malformed url or an empty key. */
ATL_NODISCARD enum atl_err atl_client_new(const char *url, const char *api_key,
					  struct atl_client **c_out);
void atl_client_free(struct atl_client *c);
/* After a failed call: the HTTP status (0: none reached) and a one-line
 * escaped reason ("401 unauthorized: a valid API key is required", or the
 * transport error). Borrowed until the next call. */
long atl_client_last_status(const struct atl_client *c);
const char *atl_client_last_error(const struct atl_client *c);

struct atl_client_target {
	char island[ATL_STORE_NAME_MAX + 1];
	char tee[ATL_CLIENT_TEE_MAX];
	char key_id[ATL_KEY_ID_LEN];  /* as the coordinator claims it */
	int64_t age_s;
	struct atl_client_verdict v;  /* our own verdict */
};

/* GET /api/v1/confidential/targets for workload (count 1..ATL_COORD_TARGETS_MAX)
 * and verifies every target's evidence locally against policy. A target whose
 * claimed key id differs from the attested key is refused. *list_out
 * malloc'd (free()). Errors: ATL_E_AUTH (401), ATL_E_NOTFOUND (404: unknown
 * workload), ATL_E_FORMAT (answer not of the contract's shape), ATL_E_IO
 * (transport, 5xx), ATL_E_DENIED (other 4xx). */
ATL_NODISCARD enum atl_err atl_client_targets(struct atl_client *c, const char *workload,
					      size_t count, const json_t *policy, int64_t now,
					      struct atl_client_target **list_out, size_t *n_out);

/* Seals pt to every accepted target's enclave key and to the client key kp
 * (kid_prefix "ck_"), for workload, at now. ATL_E_POLICY when no target is
 * accepted (nothing is sealed). *env_out: JSON text (free()); *dek_out (may be
 * NULL): secret memory (atl_secret_free). */
ATL_NODISCARD enum atl_err atl_client_seal(const struct atl_client_target *targets, size_t n,
					   const struct atl_kp *kp, const char *workload,
					   int64_t now, const uint8_t *pt, size_t pt_len,
					   char **env_out, size_t *env_len_out, uint8_t **dek_out);

/* POST /api/v1/jobs with the envelope text; job_id_out gets the job id
 * ("job_" + 32 hex, checked). Errors as atl_client_targets, plus
 * ATL_E_STATE (409: no currently attested recipient), ATL_E_LIMIT (413). */
ATL_NODISCARD enum atl_err atl_client_submit(struct atl_client *c, const char *workload,
					     const char *ck_kid, const char *envelope,
					     char job_id_out[ATL_ENV_ID_MAX + 1]);

struct atl_client_job {
	char status[16];       /* queued | leased | done | failed | cancelled */
	char workload_id[ATL_ENV_ID_MAX + 1];
	int64_t updated_at;
	char *result;          /* sealed result JSON text (done), malloc'd, or NULL */
	size_t result_len;
	char err_code[64];     /* failed/cancelled: escaped */
	char err_msg[ATL_CLIENT_WHY_MAX];
};

/* GET /api/v1/jobs/{id}. Free with atl_client_job_clear. */
ATL_NODISCARD enum atl_err atl_client_job_get(struct atl_client *c, const char *job_id,
					      struct atl_client_job *job_out);
/* GET /api/v1/jobs/{id}?wait=S: with wait_s > 0 (at most
 * ATL_COORD_WAIT_MAX_S) a coordinator answers once the job is done, failed or
 * cancelled, or after S seconds (long-poll); an older one answers at once.
 * wait_s 0 is atl_client_job_get. */
ATL_NODISCARD enum atl_err atl_client_job_poll(struct atl_client *c, const char *job_id,
					       int wait_s, struct atl_client_job *job_out);
/* Waits up to timeout_ms for the job to be done, failed or cancelled:
 * long-polls, and when an answer comes back early without a final status (a
 * coordinator without long-poll) sleeps ATL_CLIENT_POLL_MIN_MS, doubling up
 * to ATL_CLIENT_POLL_MAX_MS, before asking again. ATL_OK with a final status
 * in *job_out; ATL_E_TIMEOUT with the last status seen (queued/leased) in
 * *job_out (clear it either way); else as atl_client_job_get. timeout_ms 0:
 * one look. */
#define ATL_CLIENT_POLL_MIN_MS 20
#define ATL_CLIENT_POLL_MAX_MS 500
ATL_NODISCARD enum atl_err atl_client_job_wait(struct atl_client *c, const char *job_id,
					       int64_t timeout_ms, struct atl_client_job *job_out);
/* Is status a final one (done, failed, cancelled)? */
bool atl_client_job_final(const struct atl_client_job *job);
void atl_client_job_clear(struct atl_client_job *job);

/* GET path (e.g. "/api/v1/confidential/stats") as JSON (*out new reference). */
ATL_NODISCARD enum atl_err atl_client_get_json(struct atl_client *c, const char *path,
					       json_t **out);

/* Forwards one request to the coordinator as is (for `atoll proxy`):
 * method, path with its query, body (may be NULL). *status_out and
 * *body_out (malloc'd, NUL-terminated; wiped and freed by the caller with
 * free) get the coordinator's answer whatever its status. ATL_E_IO / ATL_E_LIMIT
 * / ATL_E_TIMEOUT when no answer came. */
ATL_NODISCARD enum atl_err atl_client_forward(struct atl_client *c, const char *method,
					      const char *path, const void *body, size_t body_len,
					      long *status_out, char **body_out,
					      size_t *body_len_out);

/* ---- job records (src/client/record.c) ---- */

/* Writes DIR/jobs/<job_id>.json (0600) with the envelope copy. */
ATL_NODISCARD enum atl_err atl_client_record_save(const char *dir, const char *job_id,
						  const char *workload, const char *ck_kid,
						  const char *coordinator, const char *envelope);

/* Opens a done job's sealed result with the record in DIR: loads the record,
 * opens the client's own recipient entry of the envelope with the key it
 * names (recovering the data key; the input copy is wiped at once), then the
 * result. The job's workload id comes from the authenticated envelope.
 * coordinator_out (may be NULL, cap bytes) gets the recorded URL.
 * *pt_out: secret memory (atl_secret_free). ATL_E_NOTFOUND (no record or key),
 * ATL_E_AUTH (the result does not open), ATL_E_FORMAT. */
ATL_NODISCARD enum atl_err atl_client_record_coordinator(const char *dir, const char *job_id,
							 char *out, size_t cap);
ATL_NODISCARD enum atl_err atl_client_open_result(const char *dir, const char *job_id,
						  const char *result, size_t result_len,
						  uint8_t **pt_out, size_t *pt_len_out);

#endif
