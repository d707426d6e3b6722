/* Island API (platform-api.md "Island API"): challenge, evidence, lease
 * (long-poll), model download, result, fail. Every call authenticates with
 * the island's bearer token "it_…" (looked up by SHA-256). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "coordinator"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "coordinator/coord_int.h"

/* Authenticates the island by its bearer token. On success *out is its
 * record (release with atl_store_island_clear); on failure resp is the 401
 * (403 island_disabled for a disabled island) and false is returned. */
static bool island_auth(struct atl_coord *c, const struct atl_http_req *req,
			struct atl_http_resp *resp, struct atl_store_island *out)
{
	const char *tok = atl_http_req_bearer(req);
	uint8_t h[ATL_SHA256_LEN];
	enum atl_err rc;

	memset(out, 0, sizeof(*out));
	if (tok == NULL || atl_store_token_hash("it_", tok, h) != ATL_OK) {
		atl_http_resp_error(resp, 401, "unauthorized", "a valid island token is required");
		return false;
	}
	rc = atl_store_island_by_token_hash(c->store, h, out);
	if (rc == ATL_E_NOTFOUND) {
		atl_http_resp_error(resp, 401, "unauthorized", "a valid island token is required");
		return false;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "island lookup");
		return false;
	}
	if (out->status == ATL_ISLAND_DISABLED) {
		atl_store_island_clear(out);
		atl_http_resp_error(resp, 403, "island_disabled", "this island is disabled");
		return false;
	}
	return true;
}

bool coord_island_auth(struct atl_coord *c, const struct atl_http_req *req,
		       struct atl_http_resp *resp, struct atl_store_island *out)
{
	return island_auth(c, req, resp, out);
}

/* Is the island's attestation current (ATTESTED, younger than max_age_s)? */
static bool attested_now(const struct atl_coord *c, const struct atl_store_island *is,
			 int64_t now)
{
	return is->status == ATL_ISLAND_ATTESTED && is->enclave_kid[0] != '\0' &&
	       is->attested_at >= now - c->max_age_s;
}

static void need_attestation(struct atl_http_resp *resp)
{
	atl_http_resp_error(resp, 403, "attestation_required",
			    "no current attestation: get a challenge and post fresh evidence");
}

void coord_h_challenge(struct atl_coord *c, const struct atl_http_req *req,
		       struct atl_http_resp *resp)
{
	struct atl_store_island is;
	uint8_t nonce[ATL_COORD_NONCE_LEN];
	char hex[2 * ATL_COORD_NONCE_LEN + 1];
	int64_t now = atl_time_now();
	json_t *v;
	enum atl_err rc;

	if (!island_auth(c, req, resp, &is))
		return;
	rc = atl_random(nonce, sizeof(nonce));
	if (rc == ATL_OK)
		rc = atl_store_challenge_add(c->store, is.id, nonce, sizeof(nonce), now,
					     now + c->challenge_s);
	if (rc == ATL_OK)
		rc = atl_hex_encode(nonce, sizeof(nonce), hex, sizeof(hex));
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "challenge");
		goto out;
	}
	v = json_pack("{s:s, s:I}", "nonce", hex, "expires_at", (json_int_t)(now + c->challenge_s));
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
out:
	atl_store_island_clear(&is);
}

/* "<first failed check>: <its detail>" from a contraindicated result. */
static void refusal_reason(const struct atl_ar *ar, enum atl_err rc, char *out, size_t cap)
{
	json_t *j = ar != NULL ? atl_ar_to_json(ar) : NULL;
	const json_t *checks = j != NULL ? json_object_get(j, "checks") : NULL;
	size_t i;
	json_t *ck;

	snprintf(out, cap, "evidence: %s", atl_strerror(rc));
	json_array_foreach(checks, i, ck) {
		const json_t *ok = json_object_get(ck, "ok");
		const char *name = json_string_value(json_object_get(ck, "name"));
		const char *detail = json_string_value(json_object_get(ck, "detail"));
		if (json_is_false(ok) && name != NULL) {
			char esc[384];
			const char *d = detail != NULL ? detail : "";
			atl_log_escape(d, strnlen(d, 300), esc, sizeof(esc));
			snprintf(out, cap, "%s: %s", name, esc);
			break;
		}
	}
	json_decref(j);
}

static void refuse(struct atl_coord *c, struct atl_http_resp *resp, const char *island,
		   const char *reason)
{
	atl_info("island %s: attestation refused (%s)", island, reason);
	pthread_mutex_lock(&c->mmu);
	c->attest_refused++;
	pthread_mutex_unlock(&c->mmu);
	atl_http_resp_error(resp, 403, "attestation_refused", reason);
}

void coord_h_evidence(struct atl_coord *c, const struct atl_http_req *req,
		      struct atl_http_resp *resp)
{
	static const char *const keys[] = {"nonce", "evidence", NULL};
	struct atl_store_island is;
	struct atl_evidence ev = {0};
	struct atl_ar *ar = NULL;
	uint8_t nonce[ATL_ATTEST_NONCE_MAX], pub[ATL_X25519_LEN];
	size_t nonce_len = 0;
	const char *nonce_hex;
	char reason[512], kid[ATL_KEY_ID_LEN], *text = NULL;
	int64_t now = atl_time_now();
	json_t *body = NULL, *v;
	enum atl_err rc;

	if (!island_auth(c, req, resp, &is))
		return;
	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		goto out;
	nonce_hex = json_string_value(json_object_get(body, "nonce"));
	if (nonce_hex == NULL || !json_is_object(json_object_get(body, "evidence")) ||
	    atl_hex_decode(nonce_hex, strlen(nonce_hex), nonce, sizeof(nonce), &nonce_len) !=
		    ATL_OK ||
	    nonce_len < ATL_STORE_NONCE_MIN) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected {\"nonce\":\"<hex>\",\"evidence\":{wrapper}}");
		goto out;
	}
	/* single use: consumed whatever the verdict, so a refused answer
	 * cannot be retried with the same nonce */
	rc = atl_store_challenge_take(c->store, is.id, nonce, nonce_len, now);
	if (rc == ATL_E_EXPIRED || rc == ATL_E_REPLAY) {
		refuse(c, resp, is.name,
		       rc == ATL_E_EXPIRED ? "nonce: the challenge expired"
					   : "nonce: not issued to this island, or already used");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "challenge");
		goto out;
	}
	text = coord_json_text(json_object_get(body, "evidence"));
	if (text == NULL) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		goto out;
	}
	if (strlen(text) > ATL_STORE_EVIDENCE_MAX) {
		atl_http_resp_error(resp, 413, "too_large", "evidence too large");
		goto out;
	}
	rc = atl_verify_evidence((const uint8_t *)text, strlen(text), c->policy, nonce, nonce_len,
				 now, NULL, &ar);
	if (rc == ATL_E_NOMEM) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		goto out;
	}
	if (rc != ATL_OK || atl_verify_enclave_key(ar, pub) != ATL_OK) {
		refusal_reason(ar, rc != ATL_OK ? rc : ATL_E_POLICY, reason, sizeof(reason));
		refuse(c, resp, is.name, reason);
		goto out;
	}
	rc = atl_evidence_parse((const uint8_t *)text, strlen(text), &ev, NULL, 0);
	if (rc == ATL_OK)
		rc = atl_key_id("ek_", pub, kid);
	if (rc == ATL_OK && strcmp(ev.tee, "tpm") == 0) {
		/* TPM quotes carry no time: clients (no nonce of theirs) take the
		 * time of this verification from the countersignature (tpm.c) */
		char *cs = coord_tpm_countersign(c, text);
		if (cs != NULL) {
			free(text);
			text = cs;
		}
	}
	if (rc == ATL_OK)
		rc = atl_store_island_set_attested(c->store, is.id, ev.tee, pub,
						   (const uint8_t *)text, strlen(text), now);
	if (rc == ATL_E_EXISTS) {
		refuse(c, resp, is.name, "enclave_key: already attested by another island");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "recording the attestation");
		goto out;
	}
	{
		char detail[160];
		const char *meas = json_string_value(atl_ar_get(ar, "measurement"));
		snprintf(detail, sizeof(detail), "%s %s measurement %.64s", ev.tee, kid,
			 meas != NULL ? meas : "-");
		if (atl_store_audit_add(c->store, now, is.name, "attest", kid, detail) != ATL_OK)
			atl_warn("audit: cannot record the attestation of island %s", is.name);
	}
	atl_info("island %s attested: %s %s (%s)", is.name, ev.tee, kid,
		 atl_ar_status_name(atl_ar_status(ar)));
	pthread_mutex_lock(&c->mmu);
	c->attest_ok++;
	pthread_mutex_unlock(&c->mmu);
	v = json_pack("{s:s, s:s, s:I}", "status", atl_ar_status_name(atl_ar_status(ar)), "key_id",
		      kid, "valid_until", (json_int_t)(now + c->max_age_s));
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
	/* a new key may match queued jobs: wake this island's long-polls */
	coord_wake(c);
out:
	atl_wipe(nonce, sizeof(nonce));
	atl_evidence_clear(&ev);
	atl_ar_free(ar);
	free(text);
	json_decref(body);
	atl_store_island_clear(&is);
}

/* The lease answer: job, workload kind and pinned model, envelope, deadline. */
static void lease_answer(struct atl_coord *c, const struct atl_store_job *job,
			 struct atl_http_resp *resp)
{
	struct atl_store_workload w;
	json_t *env = NULL, *v = NULL, *sha = NULL;
	char hex[2 * ATL_SHA256_LEN + 1];
	enum atl_err rc;

	rc = atl_store_workload_get(c->store, job->workload_id, &w);
	if (rc == ATL_OK)
		rc = atl_json_parse((const char *)job->input, job->input_len, &env);
	if (rc != ATL_OK) {
		atl_warn("job %s: cannot build its lease: %s", job->id, atl_strerror(rc));
		atl_http_resp_error(resp, 500, "internal", "try again later");
		return;
	}
	if (strcmp(w.model_path, ATL_COORD_NO_MODEL) == 0) {
		sha = json_null();
	} else {
		if (atl_hex_encode(w.model_sha256, sizeof(w.model_sha256), hex, sizeof(hex)) == ATL_OK)
			sha = json_string(hex);
	}
	if (sha != NULL)
		v = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I}", "job_id", job->id, "workload_id",
			      job->workload_id, "kind", w.kind, "model_sha256", sha, "envelope",
			      env, "lease_expires_at", (json_int_t)job->lease_deadline);
	else
		json_decref(env);
	if (v != NULL && w.model_key[0] != '\0') {
		/* an encrypted model: where the island gets its key (issue 9) */
		json_t *mk = NULL;
		if (atl_json_parse(w.model_key, strlen(w.model_key), &mk) != ATL_OK ||
		    json_object_set_new(v, "model_key", mk) != 0) {
			json_decref(v);
			v = NULL;
		}
	}
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
}

void coord_h_lease(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp)
{
	struct atl_store_island is;
	struct atl_store_job job = {0};
	const char *ws = atl_http_req_query(req, "wait");
	const char *kids[1];
	int64_t wait = 0, now = atl_time_now(), deadline_ms;
	enum atl_err rc;

	if (!island_auth(c, req, resp, &is))
		return;
	if (ws != NULL) {
		char *end = NULL;
		long long w = strtoll(ws, &end, 10);
		if (ws[0] < '0' || ws[0] > '9' || end == NULL || *end != '\0' || strlen(ws) > 6) {
			atl_http_resp_error(resp, 400, "bad_request", "wait must be whole seconds");
			goto out;
		}
		wait = w > ATL_COORD_WAIT_MAX_S ? ATL_COORD_WAIT_MAX_S : w;
	}
	if (!attested_now(c, &is, now)) {
		need_attestation(resp);
		goto out;
	}
	/* never wait past the moment the island's evidence gets too old */
	if (now + wait > is.attested_at + c->max_age_s)
		wait = is.attested_at + c->max_age_s - now;
	deadline_ms = atl_time_mono_ms() + wait * 1000;
	kids[0] = is.enclave_kid;
	for (;;) {
		uint64_t g = coord_generation(c);

		rc = atl_store_job_lease(c->store, is.id, kids, 1, atl_time_now(), c->lease_s, &job);
		if (rc == ATL_OK)
			break;
		if (rc == ATL_E_DENIED) {
			need_attestation(resp);
			goto out;
		}
		if (rc != ATL_E_NOTFOUND) {
			coord_store_error(resp, rc, "lease");
			goto out;
		}
		if (atomic_load(&c->stopping) || atl_time_mono_ms() >= deadline_ms) {
			resp->status = 204;
			goto out;
		}
		/* woken by a submit; re-polled each second for jobs requeued
		 * or submitted through another coordinator on the same store */
		{
			int64_t next = atl_time_mono_ms() + 1000;
			coord_wait(c, g, next < deadline_ms ? next : deadline_ms);
		}
	}
	pthread_mutex_lock(&c->mmu);
	c->leases_granted++;
	pthread_mutex_unlock(&c->mmu);
	atl_info("job %s leased to island %s until %lld", job.id, is.name,
		 (long long)job.lease_deadline);
	lease_answer(c, &job, resp);
out:
	atl_store_job_clear(&job);
	atl_store_island_clear(&is);
}

void coord_h_model(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp)
{
	struct atl_store_island is;
	struct atl_store_workload w;
	uint8_t *buf = NULL, digest[ATL_SHA256_LEN];
	size_t len = 0;
	enum atl_err rc;

	if (!island_auth(c, req, resp, &is))
		return;
	rc = atl_store_workload_get(c->store, req->params[0], &w);
	if (rc == ATL_E_NOTFOUND || rc == ATL_E_ARG ||
	    (rc == ATL_OK && strcmp(w.model_path, ATL_COORD_NO_MODEL) == 0)) {
		atl_http_resp_error(resp, 404, "not_found", "no model for this workload");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "workload");
		goto out;
	}
	rc = atl_file_read(w.model_path, ATL_COORD_MODEL_MAX, &buf, &len);
	if (rc == ATL_OK)
		rc = atl_hash(ATL_HASH_SHA256, buf, len, digest);
	if (rc != ATL_OK || !atl_ct_eq(digest, w.model_sha256, sizeof(digest))) {
		/* the operator's file changed or went away: never serve a model
		 * other than the pinned one (the enclave would refuse it anyway) */
		atl_error("workload %s: model file unreadable or changed since it was pinned (%s)",
			  w.id, rc != ATL_OK ? atl_strerror(rc) : "digest differs");
		atl_http_resp_error(resp, 500, "model_unavailable",
				    "the pinned model is unavailable");
		goto out;
	}
	resp->status = 200;
	resp->body = (char *)buf;
	resp->body_len = len;
	resp->content_type = "application/octet-stream";
	buf = NULL;
out:
	free(buf);
	atl_store_island_clear(&is);
}

void coord_h_result(struct atl_coord *c, const struct atl_http_req *req,
		    struct atl_http_resp *resp)
{
	static const char *const keys[] = {"result", NULL};
	struct atl_store_island is;
	json_t *body = NULL;
	char *text = NULL;
	enum atl_err rc;

	if (!island_auth(c, req, resp, &is))
		return;
	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		goto out;
	if (!json_is_object(json_object_get(body, "result"))) {
		atl_http_resp_error(resp, 400, "bad_request", "expected {\"result\":{sealed result}}");
		goto out;
	}
	text = coord_json_text(json_object_get(body, "result"));
	if (text == NULL) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		goto out;
	}
	if (strlen(text) > ATL_JOB_OUTPUT_MAX) {
		atl_http_resp_error(resp, 413, "too_large", "result too large");
		goto out;
	}
	rc = atl_store_job_complete(c->store, is.id, req->params[0], (const uint8_t *)text,
				    strlen(text), atl_time_now());
	if (rc == ATL_E_DENIED || rc == ATL_E_ARG || rc == ATL_E_NOTFOUND) {
		atl_http_resp_error(resp, 403, "not_held", "this island does not hold that job");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "result");
		goto out;
	}
	atl_info("job %s done by island %s (%zu bytes sealed)", req->params[0], is.name,
		 strlen(text));
	atl_http_resp_text(resp, 200, "application/json", "{\"status\":\"done\"}");
out:
	free(text);
	json_decref(body);
	atl_store_island_clear(&is);
}

void coord_h_fail(struct atl_coord *c, const struct atl_http_req *req,
		  struct atl_http_resp *resp)
{
	static const char *const keys[] = {"code", "message", NULL};
	struct atl_store_island is;
	json_t *body = NULL;
	const char *code, *msg;
	char ecode[80], emsg[ATL_COORD_FAIL_MSG_MAX + 1], reason[ATL_STORE_REASON_MAX + 1];
	enum atl_err rc;

	if (!island_auth(c, req, resp, &is))
		return;
	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		goto out;
	code = json_string_value(json_object_get(body, "code"));
	msg = json_string_value(json_object_get(body, "message"));
	if (code == NULL || code[0] == '\0') {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected {\"code\":\"…\",\"message\":\"…\"}");
		goto out;
	}
	/* untrusted text: escaped and cut; shown only to the job's tenant */
	atl_log_escape(code, strnlen(code, 64), ecode, sizeof(ecode));
	for (char *p = ecode; *p != '\0'; p++) {
		if (*p == ':' || *p == ' ')
			*p = '_';
	}
	atl_log_escape(msg != NULL ? msg : "", msg != NULL ? strnlen(msg, 200) : 0, emsg,
		       sizeof(emsg));
	snprintf(reason, sizeof(reason), "%s: %s", ecode, emsg);
	rc = atl_store_job_fail(c->store, is.id, req->params[0], reason, atl_time_now());
	if (rc == ATL_E_DENIED || rc == ATL_E_ARG || rc == ATL_E_NOTFOUND) {
		atl_http_resp_error(resp, 403, "not_held", "this island does not hold that job");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "fail");
		goto out;
	}
	atl_info("job %s given up by island %s (%s)", req->params[0], is.name, ecode);
	atl_http_resp_text(resp, 200, "application/json", "{\"status\":\"accepted\"}");
	/* it may be queued again for another island */
	coord_wake(c);
out:
	json_decref(body);
	atl_store_island_clear(&is);
}
