/* The client's calls to the coordinator (platform-api.md "Client API"):
 * targets (verified here), seal, submit, job status. Every answer is
 * untrusted: shapes are checked, strings escaped before they reach a user. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATL_LOG_MODULE "client"
#include "atoll/client.h"
#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#define CLIENT_URL_MAX 512u

struct atl_client {
	struct atl_http_client *http;
	char base[CLIENT_URL_MAX];
	long last_status;
	char last_error[ATL_CLIENT_WHY_MAX];
};

enum atl_err atl_client_new(const char *url, const char *api_key, struct atl_client **c_out)
{
	struct atl_http_client_opts o = {.bearer = api_key,
					 .timeout_ms = 60000,
					 .ca_file = getenv(ATL_CLIENT_CA_ENV),
					 .cert_file = getenv(ATL_CLIENT_CERT_ENV),
					 .key_file = getenv(ATL_CLIENT_CERT_KEY_ENV)};
	struct atl_client *c;
	size_t n;
	enum atl_err rc;

	*c_out = NULL;
	if (url == NULL || api_key == NULL || api_key[0] == '\0' ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return ATL_E_ARG;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0 || n >= CLIENT_URL_MAX - 128)
		return ATL_E_ARG;
	for (size_t i = 0; i < n; i++) {
		if (url[i] <= 0x20 || url[i] >= 0x7f || url[i] == '?' || url[i] == '#')
			return ATL_E_ARG;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ATL_E_NOMEM;
	memcpy(c->base, url, n);
	rc = atl_http_client_new(&o, &c->http);
	if (rc != ATL_OK) {
		free(c);
		return rc;
	}
	*c_out = c;
	return ATL_OK;
}

void atl_client_free(struct atl_client *c)
{
	if (c == NULL)
		return;
	atl_http_client_free(c->http);
	free(c);
}

long atl_client_last_status(const struct atl_client *c)
{
	return c->last_status;
}

const char *atl_client_last_error(const struct atl_client *c)
{
	return c->last_error;
}

static enum atl_err err_for_status(long st)
{
	switch (st) {
	case 401: return ATL_E_AUTH;
	case 404: return ATL_E_NOTFOUND;
	case 409: return ATL_E_STATE;
	case 413: return ATL_E_LIMIT;
	case 400: return ATL_E_ARG;
	default: return st >= 500 ? ATL_E_IO : ATL_E_DENIED;
	}
}

/* One call. want: the success status. *json_out: the parsed body (NULL when
 * empty). On any other status the error is recorded and returned. */
static enum atl_err call(struct atl_client *c, const char *method, const char *path,
			 const char *body, long want, json_t **json_out)
{
	struct atl_http_call hc = {0};
	struct atl_http_response r = {0};
	char url[CLIENT_URL_MAX + 256];
	enum atl_err rc;

	*json_out = NULL;
	c->last_status = 0;
	c->last_error[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	hc.method = method;
	hc.url = url;
	hc.body = body;
	hc.body_len = body != NULL ? strlen(body) : 0;
	rc = atl_http_client_do(c->http, &hc, &r);
	if (rc != ATL_OK) {
		snprintf(c->last_error, sizeof(c->last_error), "cannot reach the coordinator: %s",
			 atl_strerror(rc));
		return rc == ATL_E_LIMIT ? ATL_E_LIMIT : ATL_E_IO;
	}
	c->last_status = r.status;
	if (r.status != want) {
		char code[48], msg[160];
		atl_http_response_error(&r, code, sizeof(code), msg, sizeof(msg));
		snprintf(c->last_error, sizeof(c->last_error), "the coordinator answered %ld%s%.47s%s%.150s",
			 r.status, code[0] != '\0' ? " " : "", code, msg[0] != '\0' ? ": " : "",
			 msg);
		atl_http_response_clear(&r);
		return err_for_status(c->last_status);
	}
	if (r.body_len > 0 && atl_json_parse((const char *)r.body, r.body_len, json_out) != ATL_OK) {
		snprintf(c->last_error, sizeof(c->last_error),
			 "the coordinator's answer is not JSON");
		atl_http_response_clear(&r);
		return ATL_E_FORMAT;
	}
	atl_http_response_clear(&r);
	return ATL_OK;
}

static void set_error(struct atl_client *c, const char *what)
{
	snprintf(c->last_error, sizeof(c->last_error), "malformed answer from the coordinator: %s",
		 what);
}

/* Copies an untrusted string, escaped. */
static void copy_esc(const char *s, char *out, size_t cap)
{
	if (s == NULL)
		s = "";
	atl_log_escape(s, strnlen(s, cap), out, cap);
}

enum atl_err atl_client_targets(struct atl_client *c, const char *workload, size_t count,
				const json_t *policy, int64_t now,
				struct atl_client_target **list_out, size_t *n_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_client_target *list = NULL;
	char path[256];
	json_t *j = NULL, *arr, *t;
	size_t i, n;

	*list_out = NULL;
	*n_out = 0;
	if (workload == NULL || workload[0] == '\0' || strlen(workload) > ATL_ENV_ID_MAX ||
	    strspn(workload, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(workload) ||
	    count < 1 || count > ATL_COORD_TARGETS_MAX)
		return ATL_E_ARG;
	snprintf(path, sizeof(path), "/api/v1/confidential/targets?workload_id=%s&count=%zu",
		 workload, count);
	ATL_TRY(call(c, "GET", path, NULL, 200, &j));
	arr = json_object_get(j, "targets");
	if (!json_is_array(arr) || json_array_size(arr) > ATL_COORD_TARGETS_MAX) {
		set_error(c, "no targets list");
		rc = ATL_E_FORMAT;
		goto out;
	}
	n = json_array_size(arr);
	list = calloc(n > 0 ? n : 1, sizeof(*list));
	if (list == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	json_array_foreach(arr, i, t) {
		struct atl_client_target *x = &list[i];
		const json_t *ev = json_object_get(t, "evidence");
		char *txt;

		copy_esc(json_string_value(json_object_get(t, "island")), x->island,
			 sizeof(x->island));
		copy_esc(json_string_value(json_object_get(t, "tee")), x->tee, sizeof(x->tee));
		copy_esc(json_string_value(json_object_get(t, "key_id")), x->key_id,
			 sizeof(x->key_id));
		x->age_s = json_integer_value(json_object_get(t, "age_s"));
		if (!json_is_object(ev) || (txt = atl_json_dump(ev)) == NULL) {
			snprintf(x->v.status, sizeof(x->v.status), "contraindicated");
			snprintf(x->v.why, sizeof(x->v.why), "format: no evidence object");
			continue;
		}
		rc = atl_client_verify((const uint8_t *)txt, strlen(txt), policy, NULL, 0, now,
				       &x->v);
		free(txt);
		if (rc != ATL_OK)
			goto out;
		if (x->v.ok && strcmp(x->v.key_id, x->key_id) != 0) {
			/* the listing lies about the key: do not trust this target */
			x->v.ok = false;
			snprintf(x->v.status, sizeof(x->v.status), "contraindicated");
			snprintf(x->v.why, sizeof(x->v.why),
				 "key_id: the listed key is not the attested key");
		}
	}
	*list_out = list;
	*n_out = n;
	list = NULL;
	rc = ATL_OK;
out:
	free(list);
	json_decref(j);
	return rc;
}

enum atl_err atl_client_seal(const struct atl_client_target *targets, size_t n,
			     const struct atl_kp *kp, const char *workload, int64_t now,
			     const uint8_t *pt, size_t pt_len, char **env_out, size_t *env_len_out,
			     uint8_t **dek_out)
{
	struct atl_env_recipient r[ATL_ENV_RECIPIENTS_MAX];
	char kid[ATL_KEY_ID_LEN];
	size_t nr = 0;
	enum atl_err rc;

	*env_out = NULL;
	*env_len_out = 0;
	if (dek_out != NULL)
		*dek_out = NULL;
	for (size_t i = 0; i < n && nr < ATL_ENV_RECIPIENTS_MAX - 1; i++) {
		bool dup = false;
		if (!targets[i].v.ok)
			continue;
		for (size_t k = 0; k < nr; k++)
			dup = dup || memcmp(r[k].pub, targets[i].v.pub, ATL_X25519_LEN) == 0;
		if (dup)
			continue;
		memcpy(r[nr].pub, targets[i].v.pub, ATL_X25519_LEN);
		r[nr].kid_prefix = "ek_";
		nr++;
	}
	if (nr == 0)
		return ATL_E_POLICY;
	memcpy(r[nr].pub, kp->pub, ATL_X25519_LEN);
	r[nr].kid_prefix = "ck_";
	nr++;
	rc = atl_key_id("ck_", kp->pub, kid);
	if (rc != ATL_OK)
		return rc;
	return atl_env_seal(r, nr, workload, kid, now, pt, pt_len, env_out, env_len_out, dek_out);
}

enum atl_err atl_client_submit(struct atl_client *c, const char *workload, const char *ck_kid,
			       const char *envelope, char job_id_out[ATL_ENV_ID_MAX + 1])
{
	enum atl_err rc = ATL_E_INTERNAL;
	json_t *env = NULL, *body = NULL, *j = NULL;
	const char *id;
	char *txt = NULL;

	job_id_out[0] = '\0';
	ATL_TRY(atl_json_parse(envelope, strlen(envelope), &env));
	body = json_pack("{s:s, s:b, s:s, s:{s:b, s:s, s:O}}", "workload_id", workload,
			 "confidential", 1, "encryption_key_id", ck_kid, "input", "encrypted", 1,
			 "key_id", ck_kid, "ciphertext", env);
	txt = body != NULL ? atl_json_dump(body) : NULL;
	if (txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(call(c, "POST", "/api/v1/jobs", txt, 201, &j));
	id = json_string_value(json_object_get(j, "job_id"));
	if (!atl_client_id_ok(id, "job_")) {
		set_error(c, "no job id");
		rc = ATL_E_FORMAT;
		goto out;
	}
	snprintf(job_id_out, ATL_ENV_ID_MAX + 1, "%s", id);
	rc = ATL_OK;
out:
	json_decref(env);
	json_decref(body);
	json_decref(j);
	free(txt);
	return rc;
}

void atl_client_job_clear(struct atl_client_job *job)
{
	free(job->result);
	memset(job, 0, sizeof(*job));
}

enum atl_err atl_client_job_get(struct atl_client *c, const char *job_id,
				struct atl_client_job *job_out)
{
	return atl_client_job_poll(c, job_id, 0, job_out);
}

enum atl_err atl_client_job_poll(struct atl_client *c, const char *job_id, int wait_s,
				 struct atl_client_job *job_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	char path[128];
	json_t *j = NULL, *res, *err;
	const char *st;

	memset(job_out, 0, sizeof(*job_out));
	if (!atl_client_id_ok(job_id, "job_") || wait_s < 0)
		return ATL_E_ARG;
	if (wait_s > ATL_COORD_WAIT_MAX_S)
		wait_s = ATL_COORD_WAIT_MAX_S;
	if (wait_s > 0)
		snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait=%d", job_id, wait_s);
	else
		snprintf(path, sizeof(path), "/api/v1/jobs/%s", job_id);
	ATL_TRY(call(c, "GET", path, NULL, 200, &j));
	st = json_string_value(json_object_get(j, "status"));
	if (st == NULL || strlen(st) >= sizeof(job_out->status)) {
		set_error(c, "no job status");
		rc = ATL_E_FORMAT;
		goto out;
	}
	copy_esc(st, job_out->status, sizeof(job_out->status));
	copy_esc(json_string_value(json_object_get(j, "workload_id")), job_out->workload_id,
		 sizeof(job_out->workload_id));
	job_out->updated_at = json_integer_value(json_object_get(j, "updated_at"));
	res = json_object_get(j, "result");
	if (json_is_object(res)) {
		job_out->result = atl_json_dump(res);
		if (job_out->result == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		job_out->result_len = strlen(job_out->result);
	}
	err = json_object_get(j, "error");
	if (json_is_object(err)) {
		copy_esc(json_string_value(json_object_get(err, "code")), job_out->err_code,
			 sizeof(job_out->err_code));
		copy_esc(json_string_value(json_object_get(err, "message")), job_out->err_msg,
			 sizeof(job_out->err_msg));
	}
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_client_job_clear(job_out);
	json_decref(j);
	return rc;
}

bool atl_client_job_final(const struct atl_client_job *job)
{
	return strcmp(job->status, "done") == 0 || strcmp(job->status, "failed") == 0 ||
	       strcmp(job->status, "cancelled") == 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum atl_err atl_client_job_wait(struct atl_client *c, const char *job_id, int64_t timeout_ms,
				 struct atl_client_job *job_out)
{
	int64_t deadline = atl_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int64_t pause = ATL_CLIENT_POLL_MIN_MS;

	memset(job_out, 0, sizeof(*job_out));
	for (;;) {
		int64_t t0 = atl_time_mono_ms(), left = deadline - t0;
		int wait_s = left >= 1000 ? (int)(left / 1000 > ATL_COORD_WAIT_MAX_S
							  ? ATL_COORD_WAIT_MAX_S
							  : left / 1000)
					  : 0;

		enum atl_err rc;

		atl_client_job_clear(job_out);
		rc = atl_client_job_poll(c, job_id, wait_s, job_out);
		if (rc != ATL_OK)
			return rc;
		if (atl_client_job_final(job_out))
			return ATL_OK;
		left = deadline - atl_time_mono_ms();
		if (left <= 0)
			return ATL_E_TIMEOUT;
		/* an early answer without a final status: no long-poll there
		 * (or woken for nothing); a short pause, growing */
		if (wait_s == 0 || atl_time_mono_ms() - t0 < (int64_t)wait_s * 500) {
			sleep_ms(pause < left ? pause : left);
			if (pause < ATL_CLIENT_POLL_MAX_MS)
				pause = pause * 2 > ATL_CLIENT_POLL_MAX_MS ? ATL_CLIENT_POLL_MAX_MS
									   : pause * 2;
		}
	}
}

enum atl_err atl_client_get_json(struct atl_client *c, const char *path, json_t **out)
{
	enum atl_err rc = call(c, "GET", path, NULL, 200, out);

	if (rc == ATL_OK && *out == NULL) {
		set_error(c, "empty answer");
		rc = ATL_E_FORMAT;
	}
	return rc;
}

enum atl_err atl_client_forward(struct atl_client *c, const char *method, const char *path,
				const void *body, size_t body_len, long *status_out,
				char **body_out, size_t *body_len_out)
{
	struct atl_http_call hc = {0};
	struct atl_http_response r = {0};
	char url[CLIENT_URL_MAX + 512];
	int n;
	enum atl_err rc;

	*status_out = 0;
	*body_out = NULL;
	*body_len_out = 0;
	n = snprintf(url, sizeof(url), "%s%s", c->base, path);
	if (n < 0 || (size_t)n >= sizeof(url) || path[0] != '/')
		return ATL_E_ARG;
	hc.method = method;
	hc.url = url;
	hc.body = body;
	hc.body_len = body_len;
	rc = atl_http_client_do(c->http, &hc, &r);
	if (rc != ATL_OK)
		return rc;
	*status_out = r.status;
	*body_out = (char *)r.body;
	*body_len_out = r.body_len;
	return ATL_OK;
}
