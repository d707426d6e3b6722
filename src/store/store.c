/* The store interface: argument validation against named limits, the handle's
 * mutex, and dispatch to a backend (see backend.h, include/atoll/store.h). */
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/store.h"
#include "store/backend.h"

#define CALL(s, expr)                              \
	do {                                       \
		pthread_mutex_lock(&(s)->mu);      \
		rc = (expr);                       \
		pthread_mutex_unlock(&(s)->mu);    \
	} while (0)

/* A non-empty NUL-terminated string of at most max bytes with no control bytes. */
static bool str_ok(const char *v, size_t max)
{
	size_t n;

	if (v == NULL)
		return false;
	n = strnlen(v, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	}
	return true;
}

/* A short identifier: [A-Za-z0-9._-]+ (names, ids, kids, tee kinds). */
static bool ident_ok(const char *v, size_t max)
{
	if (!str_ok(v, max))
		return false;
	for (const char *p = v; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* "name[,name]*" with names of [a-z0-9-]. */
static bool tee_list_ok(const char *v)
{
	bool need = true;

	if (!str_ok(v, ATL_STORE_TEE_LIST_MAX))
		return false;
	for (const char *p = v; *p != '\0'; p++) {
		char c = *p;
		if (c == ',') {
			if (need)
				return false;
			need = true;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
			need = false;
		} else {
			return false;
		}
	}
	return !need;
}

enum atl_err atl_store_open(const char *url, struct atl_store **store_out)
{
	const char *path = url;

	if (store_out == NULL)
		return ATL_E_ARG;
	*store_out = NULL;
	if (!str_ok(url, ATL_STORE_PATH_MAX + 16))
		return ATL_E_ARG;
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
		return ATL_E_UNSUPPORTED; /* PostgreSQL backend: same ops table, later */
	if (strncmp(url, "sqlite:", 7) == 0)
		path = url + 7;
	if (*path == '\0' || strlen(path) > ATL_STORE_PATH_MAX)
		return ATL_E_ARG;
	return atl_store_sqlite_open(path, store_out);
}

void atl_store_close(struct atl_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s);
}

enum atl_store_backend atl_store_backend(const struct atl_store *s)
{
	return s->backend;
}

enum atl_err atl_store_migrate(struct atl_store *s, int *version_out)
{
	enum atl_err rc;

	if (s == NULL)
		return ATL_E_ARG;
	CALL(s, s->ops->migrate(s, version_out));
	return rc;
}

enum atl_err atl_store_tenant_add(struct atl_store *s, const char *name,
				  const uint8_t key_hash[ATL_SHA256_LEN], int64_t now, int64_t *id_out)
{
	enum atl_err rc;

	if (id_out != NULL)
		*id_out = 0;
	if (s == NULL || key_hash == NULL || !ident_ok(name, ATL_STORE_NAME_MAX))
		return ATL_E_ARG;
	CALL(s, s->ops->tenant_add(s, name, key_hash, now, id_out));
	return rc;
}

enum atl_err atl_store_tenant_by_key_hash(struct atl_store *s,
					  const uint8_t key_hash[ATL_SHA256_LEN],
					  struct atl_store_tenant *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || key_hash == NULL || out == NULL)
		return ATL_E_ARG;
	CALL(s, s->ops->tenant_by_key_hash(s, key_hash, out));
	return rc;
}

enum atl_err atl_store_tenant_list(struct atl_store *s, size_t max,
				   struct atl_store_tenant **list_out, size_t *n_out)
{
	enum atl_err rc;

	if (list_out != NULL)
		*list_out = NULL;
	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || list_out == NULL || n_out == NULL || max == 0 ||
	    max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	CALL(s, s->ops->tenant_list(s, max, list_out, n_out));
	return rc;
}

enum atl_err atl_store_island_list(struct atl_store *s, size_t max,
				   struct atl_store_island **list_out, size_t *n_out)
{
	enum atl_err rc;

	if (list_out != NULL)
		*list_out = NULL;
	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || list_out == NULL || n_out == NULL || max == 0 ||
	    max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	CALL(s, s->ops->island_list(s, max, list_out, n_out));
	return rc;
}

void atl_store_island_clear(struct atl_store_island *is)
{
	if (is == NULL)
		return;
	free(is->evidence);
	is->evidence = NULL;
	is->evidence_len = 0;
}

enum atl_err atl_store_island_add(struct atl_store *s, const char *name,
				  const uint8_t token_hash[ATL_SHA256_LEN], int64_t now,
				  int64_t *id_out)
{
	enum atl_err rc;

	if (id_out != NULL)
		*id_out = 0;
	if (s == NULL || token_hash == NULL || !ident_ok(name, ATL_STORE_NAME_MAX))
		return ATL_E_ARG;
	CALL(s, s->ops->island_add(s, name, token_hash, now, id_out));
	return rc;
}

enum atl_err atl_store_island_by_token_hash(struct atl_store *s,
					    const uint8_t token_hash[ATL_SHA256_LEN],
					    struct atl_store_island *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || token_hash == NULL || out == NULL)
		return ATL_E_ARG;
	CALL(s, s->ops->island_find(s, token_hash, NULL, 0, out));
	return rc;
}

enum atl_err atl_store_island_get(struct atl_store *s, int64_t id, struct atl_store_island *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || id <= 0)
		return ATL_E_ARG;
	CALL(s, s->ops->island_find(s, NULL, NULL, id, out));
	return rc;
}

enum atl_err atl_store_island_by_kid(struct atl_store *s, const char *kid,
				     struct atl_store_island *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || kid == NULL)
		return ATL_E_ARG;
	if (!ident_ok(kid, ATL_KEY_ID_LEN - 1))
		return ATL_E_NOTFOUND;
	CALL(s, s->ops->island_find(s, NULL, kid, 0, out));
	return rc;
}

enum atl_err atl_store_island_set_attested(struct atl_store *s, int64_t id, const char *tee,
					   const uint8_t pub[ATL_X25519_LEN],
					   const uint8_t *evidence, size_t evidence_len,
					   int64_t attested_at)
{
	char kid[ATL_KEY_ID_LEN];
	enum atl_err rc;

	if (s == NULL || id <= 0 || pub == NULL || !ident_ok(tee, ATL_STORE_NAME_MAX) ||
	    (evidence == NULL && evidence_len != 0) || evidence_len > ATL_STORE_EVIDENCE_MAX)
		return ATL_E_ARG;
	rc = atl_key_id("ek_", pub, kid);
	if (rc != ATL_OK)
		return rc;
	CALL(s, s->ops->island_set_attested(s, id, tee, pub, kid, evidence, evidence_len,
					    attested_at));
	return rc;
}

enum atl_err atl_store_island_set_status(struct atl_store *s, int64_t id,
					 enum atl_island_status st)
{
	enum atl_err rc;

	if (s == NULL || id <= 0 || (int)st < ATL_ISLAND_REGISTERED || st > ATL_ISLAND_DISABLED)
		return ATL_E_ARG;
	CALL(s, s->ops->island_set_status(s, id, (int)st));
	return rc;
}

enum atl_err atl_store_island_expire(struct atl_store *s, int64_t oldest, size_t *n_out)
{
	enum atl_err rc;

	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL)
		return ATL_E_ARG;
	CALL(s, s->ops->island_expire(s, oldest, n_out));
	return rc;
}

enum atl_err atl_store_island_list_attested(struct atl_store *s, int64_t oldest, size_t max,
					    struct atl_store_island **list_out, size_t *n_out)
{
	enum atl_err rc;

	if (list_out != NULL)
		*list_out = NULL;
	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || list_out == NULL || n_out == NULL || max == 0 ||
	    max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	CALL(s, s->ops->island_list_attested(s, oldest, max, list_out, n_out));
	return rc;
}

void atl_store_island_list_free(struct atl_store_island *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		atl_store_island_clear(&list[i]);
	free(list);
}

enum atl_err atl_store_attestation_foreach(
	struct atl_store *s, int64_t island_id, int64_t after_seq, size_t max,
	int (*fn)(void *ctx, const struct atl_store_attestation *a), void *ctx)
{
	enum atl_err rc;

	if (s == NULL || island_id <= 0 || fn == NULL || max == 0 || max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	CALL(s, s->ops->attestation_foreach(s, island_id, after_seq, max, fn, ctx));
	return rc;
}

static bool nonce_ok(const uint8_t *nonce, size_t len)
{
	return nonce != NULL && len >= ATL_STORE_NONCE_MIN && len <= ATL_ATTEST_NONCE_MAX;
}

enum atl_err atl_store_challenge_add(struct atl_store *s, int64_t island_id, const uint8_t *nonce,
				     size_t nonce_len, int64_t now, int64_t expires_at)
{
	enum atl_err rc;

	if (s == NULL || island_id <= 0 || !nonce_ok(nonce, nonce_len) || expires_at < now)
		return ATL_E_ARG;
	CALL(s, s->ops->challenge_add(s, island_id, nonce, nonce_len, now, expires_at));
	return rc;
}

enum atl_err atl_store_challenge_take(struct atl_store *s, int64_t island_id,
				      const uint8_t *nonce, size_t nonce_len, int64_t now)
{
	enum atl_err rc;

	if (s == NULL || island_id <= 0 || nonce == NULL)
		return ATL_E_ARG;
	if (!nonce_ok(nonce, nonce_len))
		return ATL_E_REPLAY; /* never issued */
	CALL(s, s->ops->challenge_take(s, island_id, nonce, nonce_len, now));
	return rc;
}

enum atl_err atl_store_workload_add(struct atl_store *s, const struct atl_store_workload *w)
{
	enum atl_err rc;

	if (s == NULL || w == NULL || !ident_ok(w->id, ATL_STORE_NAME_MAX) ||
	    !ident_ok(w->kind, ATL_STORE_NAME_MAX) ||
	    !str_ok(w->model_path, ATL_STORE_PATH_MAX) || !tee_list_ok(w->tees) ||
	    strnlen(w->model_key, sizeof(w->model_key)) == sizeof(w->model_key))
		return ATL_E_ARG;
	CALL(s, s->ops->workload_add(s, w));
	return rc;
}

enum atl_err atl_store_workload_get(struct atl_store *s, const char *id,
				    struct atl_store_workload *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || !ident_ok(id, ATL_STORE_NAME_MAX))
		return ATL_E_ARG;
	CALL(s, s->ops->workload_get(s, id, out));
	return rc;
}

enum atl_err atl_store_workload_list(struct atl_store *s, size_t max,
				     struct atl_store_workload **list_out, size_t *n_out)
{
	enum atl_err rc;

	if (list_out != NULL)
		*list_out = NULL;
	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || list_out == NULL || n_out == NULL || max == 0 ||
	    max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	CALL(s, s->ops->workload_list(s, max, list_out, n_out));
	return rc;
}

bool atl_store_workload_allows_tee(const struct atl_store_workload *w, const char *tee)
{
	size_t n;
	const char *p;

	if (w == NULL || tee == NULL || (n = strlen(tee)) == 0)
		return false;
	for (p = w->tees; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len == n && memcmp(p, tee, n) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

const char *atl_job_status_name(enum atl_job_status st)
{
	switch (st) {
	case ATL_JOB_QUEUED: return "queued";
	case ATL_JOB_LEASED: return "leased";
	case ATL_JOB_DONE: return "done";
	case ATL_JOB_FAILED: return "failed";
	case ATL_JOB_CANCELLED: return "cancelled";
	}
	return "unknown";
}

void atl_store_job_clear(struct atl_store_job *j)
{
	if (j == NULL)
		return;
	free(j->input);
	free(j->output);
	j->input = j->output = NULL;
	j->input_len = j->output_len = 0;
}

static bool job_id_ok(const char *id)
{
	uint8_t raw[16];

	if (id == NULL || strnlen(id, ATL_JOB_ID_LEN) != ATL_JOB_ID_LEN - 1 ||
	    strncmp(id, "job_", 4) != 0)
		return false;
	return atl_hex_decode_exact(id + 4, 32, raw, sizeof(raw)) == ATL_OK;
}

enum atl_err atl_store_job_submit(struct atl_store *s, const struct atl_store_job_new *j,
				  int64_t now, char id_out[ATL_JOB_ID_LEN])
{
	uint8_t raw[16];
	char id[ATL_JOB_ID_LEN];
	enum atl_err rc;

	if (id_out != NULL)
		id_out[0] = '\0';
	if (s == NULL || j == NULL || id_out == NULL || j->tenant_id <= 0 ||
	    !ident_ok(j->workload_id, ATL_STORE_NAME_MAX) || j->input == NULL ||
	    j->input_len == 0 || j->input_len > ATL_JOB_INPUT_MAX || j->kids == NULL ||
	    j->n_kids == 0 || j->n_kids > ATL_JOB_RECIPIENTS_MAX)
		return ATL_E_ARG;
	for (size_t i = 0; i < j->n_kids; i++) {
		if (!ident_ok(j->kids[i], ATL_KEY_ID_LEN - 1))
			return ATL_E_ARG;
	}
	rc = atl_random(raw, sizeof(raw));
	if (rc != ATL_OK)
		return rc;
	memcpy(id, "job_", 4);
	rc = atl_hex_encode(raw, sizeof(raw), id + 4, sizeof(id) - 4);
	if (rc != ATL_OK)
		return rc;
	CALL(s, s->ops->job_submit(s, j, now, id));
	if (rc == ATL_OK)
		memcpy(id_out, id, sizeof(id));
	return rc;
}

enum atl_err atl_store_job_get(struct atl_store *s, int64_t tenant_id, const char *job_id,
			       bool with_input, struct atl_store_job *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || tenant_id <= 0 || job_id == NULL)
		return ATL_E_ARG;
	if (!job_id_ok(job_id))
		return ATL_E_NOTFOUND;
	CALL(s, s->ops->job_get(s, tenant_id, job_id, with_input, out));
	return rc;
}

enum atl_err atl_store_job_list(struct atl_store *s, int64_t tenant_id, const char *before_id,
				size_t max, struct atl_store_job **list_out, size_t *n_out)
{
	enum atl_err rc;

	if (list_out != NULL)
		*list_out = NULL;
	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || tenant_id <= 0 || list_out == NULL || n_out == NULL || max == 0 ||
	    max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	if (before_id != NULL && !job_id_ok(before_id)) {
		/* an id that cannot exist pages to nothing, like an unknown one */
		*list_out = calloc(1, sizeof(**list_out));
		return *list_out != NULL ? ATL_OK : ATL_E_NOMEM;
	}
	CALL(s, s->ops->job_list(s, tenant_id, before_id, max, list_out, n_out));
	return rc;
}

enum atl_err atl_store_job_cancel(struct atl_store *s, int64_t tenant_id, const char *job_id,
				  int64_t now)
{
	enum atl_err rc;

	if (s == NULL || tenant_id <= 0 || job_id == NULL)
		return ATL_E_ARG;
	if (!job_id_ok(job_id))
		return ATL_E_NOTFOUND;
	CALL(s, s->ops->job_cancel(s, tenant_id, job_id, now));
	return rc;
}

enum atl_err atl_store_job_lease(struct atl_store *s, int64_t island_id, const char *const *kids,
				 size_t n_kids, int64_t now, int64_t lease_s,
				 struct atl_store_job *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || island_id <= 0 || kids == NULL || n_kids == 0 ||
	    n_kids > ATL_LEASE_KIDS_MAX || lease_s <= 0 || lease_s > 86400)
		return ATL_E_ARG;
	for (size_t i = 0; i < n_kids; i++) {
		if (!ident_ok(kids[i], ATL_KEY_ID_LEN - 1))
			return ATL_E_ARG;
	}
	CALL(s, s->ops->job_lease(s, island_id, kids, n_kids, now, lease_s, out));
	return rc;
}

enum atl_err atl_store_job_complete(struct atl_store *s, int64_t island_id, const char *job_id,
				    const uint8_t *output, size_t output_len, int64_t now)
{
	enum atl_err rc;

	if (s == NULL || island_id <= 0 || job_id == NULL || output == NULL || output_len == 0 ||
	    output_len > ATL_JOB_OUTPUT_MAX)
		return ATL_E_ARG;
	if (!job_id_ok(job_id))
		return ATL_E_DENIED;
	CALL(s, s->ops->job_complete(s, island_id, job_id, output, output_len, now));
	return rc;
}

enum atl_err atl_store_job_fail(struct atl_store *s, int64_t island_id, const char *job_id,
				const char *reason, int64_t now)
{
	enum atl_err rc;

	if (s == NULL || island_id <= 0 || job_id == NULL ||
	    !str_ok(reason, ATL_STORE_REASON_MAX))
		return ATL_E_ARG;
	if (!job_id_ok(job_id))
		return ATL_E_DENIED;
	CALL(s, s->ops->job_fail(s, island_id, job_id, reason, now));
	return rc;
}

enum atl_err atl_store_job_expire(struct atl_store *s, int64_t now, size_t *n_requeued_out,
				  size_t *n_failed_out)
{
	enum atl_err rc;

	if (n_requeued_out != NULL)
		*n_requeued_out = 0;
	if (n_failed_out != NULL)
		*n_failed_out = 0;
	if (s == NULL)
		return ATL_E_ARG;
	CALL(s, s->ops->job_expire(s, now, n_requeued_out, n_failed_out));
	return rc;
}

enum atl_err atl_store_job_expire_queued(struct atl_store *s, int64_t created_before,
					 const char *reason, int64_t now, size_t *n_out)
{
	enum atl_err rc;

	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || !str_ok(reason, ATL_STORE_REASON_MAX))
		return ATL_E_ARG;
	CALL(s, s->ops->job_expire_queued(s, created_before, reason, now, n_out));
	return rc;
}

enum atl_err atl_store_job_counts(struct atl_store *s, uint64_t counts_out[ATL_JOB_STATUS_COUNT])
{
	enum atl_err rc;

	if (s == NULL || counts_out == NULL)
		return ATL_E_ARG;
	memset(counts_out, 0, ATL_JOB_STATUS_COUNT * sizeof(counts_out[0]));
	CALL(s, s->ops->job_counts(s, counts_out));
	return rc;
}

enum atl_err atl_store_usage_get(struct atl_store *s, int64_t tenant_id,
				 struct atl_store_usage *out)
{
	enum atl_err rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || tenant_id <= 0)
		return ATL_E_ARG;
	CALL(s, s->ops->usage_get(s, tenant_id, out));
	return rc;
}

enum atl_err atl_store_audit_add(struct atl_store *s, int64_t now, const char *actor,
				 const char *action, const char *subject, const char *detail)
{
	enum atl_err rc;

	if (s == NULL || !str_ok(actor, ATL_STORE_NAME_MAX) ||
	    !str_ok(action, ATL_STORE_NAME_MAX) || !str_ok(subject, ATL_STORE_NAME_MAX) ||
	    (detail != NULL && *detail != '\0' && !str_ok(detail, ATL_STORE_AUDIT_DETAIL_MAX)))
		return ATL_E_ARG;
	CALL(s, s->ops->audit_add(s, now, actor, action, subject, detail != NULL ? detail : ""));
	return rc;
}

enum atl_err atl_store_audit_foreach(struct atl_store *s, int64_t after_seq, size_t max,
				     int (*fn)(void *ctx, const struct atl_store_audit *row),
				     void *ctx)
{
	enum atl_err rc;

	if (s == NULL || fn == NULL || max == 0 || max > ATL_STORE_LIST_MAX)
		return ATL_E_ARG;
	CALL(s, s->ops->audit_foreach(s, after_seq, max, fn, ctx));
	return rc;
}
