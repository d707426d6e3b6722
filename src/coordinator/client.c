/* Client API (platform-api.md "Client API"): targets, job submission and
 * reading, stats, usage. Every call authenticates with the tenant's bearer
 * API key "ak_…" (looked up by SHA-256). Envelopes are routed by their
 * recipient key ids read with atl_env_inspect: never authenticated, never
 * trusted for security (only the enclave that opens a job authenticates it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "coordinator"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/timeutil.h"
#include "coordinator/coord_int.h"

static bool tenant_auth(struct atl_coord *c, const struct atl_http_req *req,
			struct atl_http_resp *resp, struct atl_store_tenant *out)
{
	const char *tok = atl_http_req_bearer(req);
	uint8_t h[ATL_SHA256_LEN];
	enum atl_err rc = ATL_OK;

	memset(out, 0, sizeof(*out));
	if (tok == NULL || atl_store_token_hash("ak_", tok, h) != ATL_OK ||
	    (rc = atl_store_tenant_by_key_hash(c->store, h, out)) == ATL_E_NOTFOUND) {
		atl_http_resp_error(resp, 401, "unauthorized", "a valid API key is required");
		return false;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "tenant lookup");
		return false;
	}
	return true;
}

/* The workload named by a client; on failure resp is 400/404. */
static bool workload_of(struct atl_coord *c, const char *id, struct atl_http_resp *resp,
			struct atl_store_workload *w)
{
	enum atl_err rc;

	if (id == NULL || id[0] == '\0') {
		atl_http_resp_error(resp, 400, "bad_request", "workload_id is required");
		return false;
	}
	rc = atl_store_workload_get(c->store, id, w);
	if (rc == ATL_E_NOTFOUND || rc == ATL_E_ARG) {
		atl_http_resp_error(resp, 404, "not_found", "unknown workload");
		return false;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "workload");
		return false;
	}
	return true;
}

static json_t *target_json(const struct atl_store_island *is, int64_t now)
{
	json_t *ev = NULL, *t = NULL;
	char *pub = NULL;

	if (is->evidence == NULL ||
	    atl_json_parse((const char *)is->evidence, is->evidence_len, &ev) != ATL_OK ||
	    atl_b64_encode(is->enclave_pub, sizeof(is->enclave_pub), ATL_B64_STD, &pub) != ATL_OK)
		goto out;
	t = json_pack("{s:s, s:s, s:s, s:s, s:O, s:I, s:I}", "island", is->name, "tee", is->tee,
		      "key_id", is->enclave_kid, "enclave_key", pub, "evidence", ev, "attested_at",
		      (json_int_t)is->attested_at, "age_s", (json_int_t)(now - is->attested_at));
out:
	json_decref(ev);
	free(pub);
	return t;
}

void coord_h_targets(struct atl_coord *c, const struct atl_http_req *req,
		     struct atl_http_resp *resp)
{
	struct atl_store_tenant t;
	struct atl_store_workload w;
	struct atl_store_island *list = NULL;
	size_t n = 0, count = ATL_COORD_TARGETS_DEFAULT, got = 0;
	const char *cs = atl_http_req_query(req, "count");
	int64_t now = atl_time_now();
	json_t *arr = NULL, *v = NULL;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	if (!workload_of(c, atl_http_req_query(req, "workload_id"), resp, &w))
		return;
	if (cs != NULL) {
		char *end = NULL;
		long k = strtol(cs, &end, 10);
		if (cs[0] < '0' || cs[0] > '9' || *end != '\0' || k < 1 || strlen(cs) > 4) {
			atl_http_resp_error(resp, 400, "bad_request", "count must be 1 or more");
			return;
		}
		count = k > (long)ATL_COORD_TARGETS_MAX ? ATL_COORD_TARGETS_MAX : (size_t)k;
	}
	rc = coord_live_islands(c, now, &list, &n);
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "targets");
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n && got < count; i++) {
		json_t *tj;
		if (!atl_store_workload_allows_tee(&w, list[i].tee))
			continue;
		tj = target_json(&list[i], now);
		if (tj == NULL || json_array_append_new(arr, tj) != 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		got++;
	}
	if (arr != NULL)
		v = json_pack("{s:s, s:o}", "workload_id", w.id, "targets", arr);
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
	atl_store_island_list_free(list, n);
}

/* Is one of the envelope's recipients a currently attested enclave key of an
 * island whose TEE the workload allows? */
static enum atl_err routable(struct atl_coord *c, const struct atl_store_workload *w,
			     const struct atl_env_info *info, int64_t now, bool *ok_out)
{
	struct atl_store_island *list = NULL;
	size_t n = 0;
	enum atl_err rc;

	*ok_out = false;
	rc = coord_live_islands(c, now, &list, &n);
	if (rc != ATL_OK)
		return rc;
	for (size_t i = 0; i < n && !*ok_out; i++) {
		if (!atl_store_workload_allows_tee(w, list[i].tee))
			continue;
		for (size_t k = 0; k < info->n_recipients; k++) {
			if (strcmp(info->kids[k], list[i].enclave_kid) == 0) {
				*ok_out = true;
				break;
			}
		}
	}
	atl_store_island_list_free(list, n);
	return ATL_OK;
}

/* The sealed envelope of a job's input (issue 4's shape):
 *   {"encrypted":true, "key_id":"ck_…" (= encryption_key_id), "ciphertext":{envelope}}
 * A bare envelope object (the first version of this API) is still accepted.
 * NULL when the input has neither shape. Nothing here is authenticated: the
 * envelope is only inspected for routing. */
static const json_t *sealed_input(const json_t *in, const char *ekid)
{
	static const char *const keys[] = {"encrypted", "key_id", "ciphertext", NULL};
	const json_t *kid, *ct;

	if (!json_is_object(in))
		return NULL;
	if (json_object_get(in, "encrypted") == NULL)
		return in; /* a bare envelope */
	if (atl_json_check_keys(in, keys, NULL) != ATL_OK ||
	    !json_is_true(json_object_get(in, "encrypted")))
		return NULL;
	kid = json_object_get(in, "key_id");
	ct = json_object_get(in, "ciphertext");
	if (!json_is_string(kid) || strcmp(json_string_value(kid), ekid) != 0 || !json_is_object(ct))
		return NULL;
	return ct;
}

void coord_h_submit(struct atl_coord *c, const struct atl_http_req *req,
		    struct atl_http_resp *resp)
{
	static const char *const keys[] = {"workload_id", "confidential", "encryption_key_id",
					   "input", NULL};
	struct atl_store_tenant t;
	struct atl_store_workload w;
	struct atl_env_info *info = NULL;
	struct atl_store_job_new nj = {0};
	const char *kids[ATL_ENV_RECIPIENTS_MAX];
	char id[ATL_JOB_ID_LEN], msg[160], *text = NULL;
	const char *wid, *ekid;
	int64_t now = atl_time_now();
	json_t *body = NULL, *v;
	const json_t *env;
	bool ok = false;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		goto out;
	wid = json_string_value(json_object_get(body, "workload_id"));
	ekid = json_string_value(json_object_get(body, "encryption_key_id"));
	if (!json_is_true(json_object_get(body, "confidential"))) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "only confidential jobs are accepted (\"confidential\":true)");
		goto out;
	}
	if (ekid == NULL || strncmp(ekid, "ck_", 3) != 0 || strlen(ekid) != ATL_KEY_ID_LEN - 1) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "encryption_key_id must be the client key id \"ck_…\"");
		goto out;
	}
	env = sealed_input(json_object_get(body, "input"), ekid);
	if (env == NULL) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "input must be {\"encrypted\":true,\"key_id\":\"ck_…\" (the "
				    "encryption_key_id),\"ciphertext\":{sealed envelope}}");
		goto out;
	}
	if (!workload_of(c, wid, resp, &w))
		goto out;
	text = coord_json_text(env);
	info = calloc(1, sizeof(*info));
	if (text == NULL || info == NULL) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		goto out;
	}
	if (strlen(text) > ATL_JOB_INPUT_MAX) {
		atl_http_resp_error(resp, 413, "too_large", "sealed input too large");
		goto out;
	}
	rc = atl_env_inspect(text, strlen(text), info);
	if (rc == ATL_E_LIMIT) {
		atl_http_resp_error(resp, 413, "too_large", "sealed input over a limit");
		goto out;
	}
	if (rc != ATL_OK) {
		atl_http_resp_error(resp, 400, "bad_request", "input is not a sealed envelope (v1)");
		goto out;
	}
	if (strcmp(info->workload_id, w.id) != 0) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "the envelope is sealed for another workload");
		goto out;
	}
	rc = routable(c, &w, info, now, &ok);
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "routing");
		goto out;
	}
	if (!ok) {
		snprintf(msg, sizeof(msg),
			 "no currently attested enclave of workload '%s' is among the recipients",
			 w.id);
		atl_http_resp_error(resp, 409, "no_attested_recipient", msg);
		goto out;
	}
	for (size_t i = 0; i < info->n_recipients; i++)
		kids[i] = info->kids[i];
	nj.tenant_id = t.id;
	nj.workload_id = w.id;
	nj.input = (const uint8_t *)text;
	nj.input_len = strlen(text);
	nj.kids = kids;
	nj.n_kids = info->n_recipients;
	/* Byte-identical envelopes submitted twice (a client retrying, or someone
	 * replaying a captured envelope) are refused with 409 instead of queueing
	 * a job that the enclave's replay check fails on every attempt: the store
	 * keeps each job's envelope digest (the enclave's replay identity:
	 * canonical header with nonce and recipients, ciphertext length, tag)
	 * under a unique index. Not authenticated, so a forged digest only costs
	 * its own submitter a refusal; the enclave stays the authority. */
	nj.env_digest = info->digest;
	rc = atl_store_job_submit(c->store, &nj, now, id);
	if (rc == ATL_E_EXISTS) {
		atl_info("duplicate envelope refused for tenant %s (workload %s)", t.name, w.id);
		atl_http_resp_error(resp, 409, "duplicate_envelope",
				    "this sealed envelope was already submitted; seal the input "
				    "again for a new job");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "submit");
		goto out;
	}
	atl_info("job %s queued for tenant %s (workload %s, %zu recipients, %zu bytes sealed)", id,
		 t.name, w.id, info->n_recipients, nj.input_len);
	v = json_pack("{s:s, s:s}", "job_id", id, "status", "queued");
	atl_http_resp_json(resp, 201, v);
	json_decref(v);
	coord_wake(c);
out:
	free(info);
	free(text);
	json_decref(body);
}

/* error {code, message} from a stored reason "code: message" (or plain). */
static json_t *error_json(const char *reason)
{
	const char *sep = strstr(reason, ": ");
	size_t n = sep != NULL ? (size_t)(sep - reason) : 0;

	for (size_t i = 0; i < n; i++) {
		char ch = reason[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-' || ch == '.')) {
			n = 0;
			break;
		}
	}
	if (n == 0)
		return json_pack("{s:s, s:s}", "code", "failed", "message", reason);
	return json_pack("{s:s#, s:s}", "code", reason, (int)n, "message", sep + 2);
}

static bool job_final(enum atl_job_status st)
{
	return st == ATL_JOB_DONE || st == ATL_JOB_FAILED || st == ATL_JOB_CANCELLED;
}

/* GET /api/v1/jobs/{id}[?wait=S]: with S > 0 (at most ATL_COORD_WAIT_MAX_S)
 * a queued or leased job is answered once it is done, failed or cancelled,
 * or after S seconds (long-poll: woken by results, failures and maintenance,
 * and re-read every second for changes made through another coordinator on
 * the same store). */
void coord_h_job(struct atl_coord *c, const struct atl_http_req *req,
		 struct atl_http_resp *resp)
{
	struct atl_store_tenant t;
	struct atl_store_job job = {0};
	const char *ws = atl_http_req_query(req, "wait");
	json_t *v = NULL, *res = NULL;
	int64_t wait = 0, deadline_ms;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	if (ws != NULL) {
		char *end = NULL;
		long long w = strtoll(ws, &end, 10);
		if (ws[0] < '0' || ws[0] > '9' || end == NULL || *end != '\0' || strlen(ws) > 6) {
			atl_http_resp_error(resp, 400, "bad_request", "wait must be whole seconds");
			return;
		}
		wait = w > ATL_COORD_WAIT_MAX_S ? ATL_COORD_WAIT_MAX_S : w;
	}
	deadline_ms = atl_time_mono_ms() + wait * 1000;
	for (;;) {
		uint64_t g = coord_generation(c);
		int64_t next;

		rc = atl_store_job_get(c->store, t.id, req->params[0], false, &job);
		if (rc != ATL_OK || job_final(job.status) || atomic_load(&c->stopping) ||
		    atl_time_mono_ms() >= deadline_ms)
			break;
		atl_store_job_clear(&job);
		next = atl_time_mono_ms() + 1000;
		coord_wait(c, g, next < deadline_ms ? next : deadline_ms);
	}
	if (rc == ATL_E_NOTFOUND || rc == ATL_E_ARG) {
		/* unknown and another tenant's job look the same */
		atl_http_resp_error(resp, 404, "not_found", "no such job");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "job");
		goto out;
	}
	v = json_pack("{s:s, s:s, s:s, s:I, s:I}", "job_id", job.id, "workload_id",
		      job.workload_id, "status", atl_job_status_name(job.status), "created_at",
		      (json_int_t)job.created_at, "updated_at", (json_int_t)job.updated_at);
	if (v == NULL)
		goto out;
	if (job.status == ATL_JOB_DONE && job.output != NULL) {
		if (atl_json_parse((const char *)job.output, job.output_len, &res) != ATL_OK ||
		    json_object_set_new(v, "result", res) != 0) {
			json_decref(v);
			v = NULL;
			goto out;
		}
	}
	if ((job.status == ATL_JOB_FAILED || job.status == ATL_JOB_CANCELLED) &&
	    json_object_set_new(v, "error",
				error_json(job.error[0] != '\0' ? job.error
								: atl_job_status_name(job.status))) != 0) {
		json_decref(v);
		v = NULL;
	}
out:
	if (resp->status == 0)
		atl_http_resp_json(resp, 200, v);
	json_decref(v);
	atl_store_job_clear(&job);
}

void coord_h_stats(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp)
{
	struct atl_store_tenant t;
	struct atl_store_island *list = NULL;
	uint64_t counts[ATL_JOB_STATUS_COUNT] = {0};
	size_t n = 0;
	json_t *tees = NULL, *v = NULL;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	rc = coord_live_islands(c, atl_time_now(), &list, &n);
	if (rc == ATL_OK)
		rc = atl_store_job_counts(c->store, counts);
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "stats");
		goto out;
	}
	tees = json_object();
	for (size_t i = 0; tees != NULL && i < n; i++) {
		json_int_t k = json_integer_value(json_object_get(tees, list[i].tee));
		json_object_set_new(tees, list[i].tee, json_integer(k + 1));
	}
	if (tees != NULL)
		v = json_pack("{s:o, s:I, s:{s:I, s:I, s:I, s:I, s:I}}", "tee_types", tees,
			      "attested_hosts", (json_int_t)n, "jobs", "queued",
			      (json_int_t)counts[ATL_JOB_QUEUED], "leased",
			      (json_int_t)counts[ATL_JOB_LEASED], "done",
			      (json_int_t)counts[ATL_JOB_DONE], "failed",
			      (json_int_t)counts[ATL_JOB_FAILED], "cancelled",
			      (json_int_t)counts[ATL_JOB_CANCELLED]);
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
out:
	atl_store_island_list_free(list, n);
}

void coord_h_usage(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp)
{
	struct atl_store_tenant t;
	struct atl_store_usage u;
	json_t *v;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	rc = atl_store_usage_get(c->store, t.id, &u);
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "usage");
		return;
	}
	v = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "tenant", t.name, "jobs_submitted",
		      (json_int_t)u.jobs_submitted, "jobs_done", (json_int_t)u.jobs_done,
		      "jobs_failed", (json_int_t)u.jobs_failed, "bytes_in", (json_int_t)u.bytes_in,
		      "bytes_out", (json_int_t)u.bytes_out);
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
}

#define LIST_DEFAULT 50
#define LIST_MAX 100

void coord_h_list(struct atl_coord *c, const struct atl_http_req *req,
		  struct atl_http_resp *resp)
{
	struct atl_store_tenant t;
	struct atl_store_job *list = NULL;
	const char *ls = atl_http_req_query(req, "limit");
	const char *before = atl_http_req_query(req, "before");
	size_t n = 0, limit = LIST_DEFAULT;
	json_t *arr = NULL, *v = NULL;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	if (ls != NULL) {
		char *end = NULL;
		long k = strtol(ls, &end, 10);
		if (ls[0] < '0' || ls[0] > '9' || *end != '\0' || k < 1 || strlen(ls) > 4) {
			atl_http_resp_error(resp, 400, "bad_request", "limit must be 1 or more");
			return;
		}
		limit = k > LIST_MAX ? LIST_MAX : (size_t)k;
	}
	/* only this tenant's jobs; a foreign or unknown `before` gives an empty page */
	rc = atl_store_job_list(c->store, t.id, before, limit, &list, &n);
	if (rc == ATL_E_ARG) {
		atl_http_resp_error(resp, 400, "bad_request", "before must be a job id");
		return;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "job list");
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I}", "job_id", list[i].id,
				      "workload_id", list[i].workload_id, "status",
				      atl_job_status_name(list[i].status), "created_at",
				      (json_int_t)list[i].created_at, "updated_at",
				      (json_int_t)list[i].updated_at);
		if (j == NULL || json_array_append_new(arr, j) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr != NULL)
		v = json_pack("{s:o}", "jobs", arr);
	/* a full page: "next" is the `before` of the following page */
	if (v != NULL && n == limit && n > 0)
		(void)json_object_set_new(v, "next", json_string(list[n - 1].id));
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
	free(list);
}

void coord_h_cancel(struct atl_coord *c, const struct atl_http_req *req,
		    struct atl_http_resp *resp)
{
	struct atl_store_tenant t;
	json_t *v;
	enum atl_err rc;

	if (!tenant_auth(c, req, resp, &t))
		return;
	rc = atl_store_job_cancel(c->store, t.id, req->params[0], atl_time_now());
	if (rc == ATL_E_NOTFOUND || rc == ATL_E_ARG) {
		atl_http_resp_error(resp, 404, "not_found", "no such job");
		return;
	}
	if (rc == ATL_E_STATE) {
		atl_http_resp_error(resp, 409, "conflict", "only a queued job can be cancelled");
		return;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "cancel");
		return;
	}
	atl_info("job %s cancelled by tenant %s", req->params[0], t.name);
	v = json_pack("{s:s, s:s}", "job_id", req->params[0], "status", "cancelled");
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
}
