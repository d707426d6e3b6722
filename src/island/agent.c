/* The island agent loop (include/atoll/island.h): enclave supervision,
 * attestation relay, lease long-poll, job relay. One thread; every wait is
 * bounded and checks the stop flag. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATL_LOG_MODULE "island"
#include "atoll/encoding.h"
#include "atoll/enclave.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "island/island_int.h"

#define ENCLAVE_MS 30000          /* ping and attest deadline */
#define RESTART_BACKOFF_MIN_MS 500
#define ATTEST_BACKOFF_MIN_MS 2000
#define NET_BACKOFF_MIN_MS 1000

/* Sleeps ms milliseconds in short slices; false when asked to stop. */
static bool nap(struct island *is, int64_t ms)
{
	int64_t end = atl_time_mono_ms() + ms;

	while (!*is->stop) {
		int64_t left = end - atl_time_mono_ms();
		struct timespec ts;

		if (left <= 0)
			return true;
		if (left > 100)
			left = 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
	return false;
}

static int64_t grow(int64_t ms, int64_t min)
{
	if (ms < min)
		return min;
	return ms * 2 > ATL_ISLAND_BACKOFF_MAX_MS ? ATL_ISLAND_BACKOFF_MAX_MS : ms * 2;
}

void isl_error_text(const json_t *j, char *out, size_t cap)
{
	const json_t *e = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	char c[64], m[256];

	atl_log_escape(code != NULL ? code : "", code != NULL ? strnlen(code, 60) : 0, c,
		       sizeof(c));
	atl_log_escape(msg != NULL ? msg : "", msg != NULL ? strnlen(msg, 200) : 0, m, sizeof(m));
	snprintf(out, cap, "%s%s%s", c[0] != '\0' ? c : "no error code", m[0] != '\0' ? ": " : "",
		 m);
}

enum atl_err isl_call(struct island *is, const char *method, const char *path,
		      const json_t *body, long *status_out, json_t **json_out)
{
	char url[ISL_URL_MAX + 256];

	*status_out = 0;
	*json_out = NULL;
	snprintf(url, sizeof(url), "%s%s", is->base, path);
	return atl_http_client_json(is->http, method, url, body, status_out, json_out);
}

/* ---------------------------------------------------------------- enclave */

static void enclave_stop(struct island *is)
{
	if (is->pid > 0)
		atl_enclave_stop(is->pid, is->fd, 2000);
	is->pid = -1;
	is->fd = -1;
	is->kid[0] = '\0';
	is->reattest_at = 0;
}

static enum atl_err enclave_start(struct island *is)
{
	char *args[16];
	size_t na = 0;
	enum atl_err rc;

	args[na++] = (char *)is->o->enclave;
	args[na++] = (char *)"--serve";
	args[na++] = (char *)"--tee";
	args[na++] = (char *)is->o->tee;
	if (is->o->tpm != NULL) {
		args[na++] = (char *)"--tpm";
		args[na++] = (char *)is->o->tpm;
		if (is->tpm_act[0] != '\0') {
			args[na++] = (char *)"--tpm-activation";
			args[na++] = is->tpm_act;
		}
		if (is->o->tpm_ek != NULL) {
			args[na++] = (char *)"--tpm-ek";
			args[na++] = (char *)is->o->tpm_ek;
		}
	}
	if (is->o->sim_root != NULL) {
		args[na++] = (char *)"--sim-root";
		args[na++] = (char *)is->o->sim_root;
	}
	args[na] = NULL;
	rc = atl_enclave_spawn(args, &is->pid, &is->fd);
	if (rc != ATL_OK) {
		is->pid = -1;
		is->fd = -1;
		return rc;
	}
	rc = atl_enclave_ping(is->fd, ENCLAVE_MS);
	if (rc != ATL_OK) {
		enclave_stop(is);
		return rc;
	}
	is->enclave_gen++; /* a new key pair: encrypted models are handed over again */
	atl_info("enclave started (pid %ld)", (long)is->pid);
	return ATL_OK;
}

/* Has the enclave exited? Reaps it and logs how. */
static bool enclave_dead(struct island *is)
{
	int st = 0;
	pid_t p;

	if (is->pid <= 0)
		return true;
	p = waitpid(is->pid, &st, WNOHANG);
	if (p == 0)
		return false;
	if (p == is->pid) {
		if (WIFSIGNALED(st))
			atl_warn("enclave (pid %ld) killed by signal %d", (long)is->pid,
				 WTERMSIG(st));
		else
			atl_warn("enclave (pid %ld) exited with status %d", (long)is->pid,
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	close(is->fd);
	is->pid = -1;
	is->fd = -1;
	is->kid[0] = '\0';
	is->reattest_at = 0;
	return true;
}

/* ---------------------------------------------------------------- attestation */

enum verdict { V_OK, V_RETRY, V_ENCLAVE, V_FATAL_AUTH, V_FATAL_DISABLED };

static enum verdict fatal_status(long st, const json_t *j)
{
	const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));

	if (st == 401)
		return V_FATAL_AUTH;
	if (st == 403 && code != NULL && strcmp(code, "island_disabled") == 0)
		return V_FATAL_DISABLED;
	return V_OK;
}

static enum verdict attest(struct island *is)
{
	enum verdict v = V_RETRY;
	uint8_t nonce[ATL_ATTEST_NONCE_MAX];
	size_t nonce_len = 0, wl = 0;
	const char *hex;
	char *wrapper = NULL, why[320], kid[ATL_KEY_ID_LEN];
	json_t *j = NULL, *ev = NULL, *body = NULL;
	struct atl_evidence e = {0};
	int64_t now, until;
	long st = 0;
	enum atl_err rc;

	rc = isl_call(is, "POST", "/api/v1/islands/challenge", NULL, &st, &j);
	if (rc != ATL_OK || st != 200) {
		if (rc == ATL_OK && (v = fatal_status(st, j)) != V_OK)
			goto out;
		v = V_RETRY;
		isl_error_text(j, why, sizeof(why));
		atl_warn("challenge: %s", rc != ATL_OK ? atl_strerror(rc) : why);
		goto out;
	}
	hex = json_string_value(json_object_get(j, "nonce"));
	if (hex == NULL || atl_hex_decode(hex, strlen(hex), nonce, sizeof(nonce), &nonce_len) !=
				   ATL_OK ||
	    nonce_len == 0) {
		atl_warn("challenge: the coordinator sent no usable nonce");
		goto out;
	}
	rc = atl_enclave_attest(is->fd, nonce, nonce_len, ENCLAVE_MS, &wrapper, &wl);
	if (rc != ATL_OK) {
		atl_warn("the enclave produced no evidence: %s", atl_strerror(rc));
		v = V_ENCLAVE;
		goto out;
	}
	if (atl_evidence_parse((const uint8_t *)wrapper, wl, &e, NULL, 0) != ATL_OK ||
	    atl_key_id("ek_", e.enclave_key, kid) != ATL_OK ||
	    atl_json_parse(wrapper, wl, &ev) != ATL_OK) {
		atl_warn("the enclave's evidence is malformed");
		v = V_ENCLAVE;
		goto out;
	}
	body = json_pack("{s:s, s:O}", "nonce", hex, "evidence", ev);
	json_decref(j);
	j = NULL;
	if (body == NULL)
		goto out;
	rc = isl_call(is, "POST", "/api/v1/islands/evidence", body, &st, &j);
	if (rc != ATL_OK) {
		atl_warn("posting evidence: %s", atl_strerror(rc));
		goto out;
	}
	if (st != 200) {
		if ((v = fatal_status(st, j)) != V_OK)
			goto out;
		v = V_RETRY;
		isl_error_text(j, why, sizeof(why));
		atl_error("attestation refused by the coordinator (%ld): %s", st, why);
		goto out;
	}
	now = atl_time_now();
	until = json_integer_value(json_object_get(j, "valid_until"));
	{
		const char *got = json_string_value(json_object_get(j, "key_id"));
		if (got == NULL || strcmp(got, kid) != 0)
			atl_warn("the coordinator recorded another key id than %s", kid);
	}
	if (until <= now)
		until = now + 60;
	{
		int64_t half = (until - now) / 2, next = half;
		if (is->o->reattest_s > 0 && is->o->reattest_s < next)
			next = is->o->reattest_s;
		if (next < 1)
			next = 1;
		is->reattest_at = now + next;
	}
	memcpy(is->kid, kid, sizeof(kid));
	atl_info("attested: enclave key %s (%s), valid until %lld, next attestation in %llds", kid,
		 json_string_value(json_object_get(j, "status")) != NULL
			 ? json_string_value(json_object_get(j, "status"))
			 : "?",
		 (long long)until, (long long)(is->reattest_at - now));
	v = V_OK;
out:
	atl_wipe(nonce, sizeof(nonce));
	atl_evidence_clear(&e);
	free(wrapper);
	json_decref(j);
	json_decref(ev);
	json_decref(body);
	return v;
}

/* ---------------------------------------------------------------- jobs */

static void post_fail(struct island *is, const char *job_id, const char *code, const char *msg)
{
	char path[128];
	json_t *body = json_pack("{s:s, s:s}", "code", code, "message", msg), *j = NULL;
	long st = 0;
	enum atl_err rc;

	if (body == NULL)
		return;
	snprintf(path, sizeof(path), "/api/v1/islands/jobs/%s/fail", job_id);
	rc = isl_call(is, "POST", path, body, &st, &j);
	if (rc != ATL_OK || st != 200)
		atl_warn("job %s: reporting the failure: %s (%ld)", job_id,
			 rc != ATL_OK ? atl_strerror(rc) : "refused", st);
	json_decref(body);
	json_decref(j);
}

static void post_result(struct island *is, const char *job_id, const char *res, size_t len,
			int64_t deadline)
{
	char path[128], why[320];
	json_t *r = NULL, *body = NULL, *j = NULL;
	long st = 0;
	enum atl_err rc;

	if (atl_json_parse(res, len, &r) != ATL_OK || !json_is_object(r) ||
	    (body = json_pack("{s:O}", "result", r)) == NULL) {
		atl_warn("job %s: the enclave's result is not a JSON object", job_id);
		post_fail(is, job_id, "enclave_failed", "the enclave returned a malformed result");
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/islands/jobs/%s/result", job_id);
	for (int attempt = 0;; attempt++) {
		rc = isl_call(is, "POST", path, body, &st, &j);
		if (rc == ATL_OK)
			break;
		if (attempt >= 4 || atl_time_now() >= deadline || !nap(is, 1000 << attempt)) {
			atl_warn("job %s: could not post the result: %s", job_id, atl_strerror(rc));
			goto out;
		}
	}
	if (st == 200) {
		atl_info("job %s done (%zu bytes sealed result posted)", job_id, len);
	} else {
		isl_error_text(j, why, sizeof(why));
		atl_warn("job %s: the coordinator did not take the result (%ld %s)", job_id, st,
			 why);
	}
out:
	json_decref(r);
	json_decref(body);
	json_decref(j);
}

/* Runs one leased job in the enclave. */
static void run_job(struct island *is, const json_t *lease)
{
	const char *job_id = json_string_value(json_object_get(lease, "job_id"));
	const char *wid = json_string_value(json_object_get(lease, "workload_id"));
	const char *kind = json_string_value(json_object_get(lease, "kind"));
	const json_t *sha = json_object_get(lease, "model_sha256");
	const json_t *mk = json_object_get(lease, "model_key");
	const json_t *env = json_object_get(lease, "envelope");
	int64_t exp = json_integer_value(json_object_get(lease, "lease_expires_at"));
	int64_t now = atl_time_now(), tmo;
	char model[ISL_PATH_MAX], why[256], *env_txt = NULL, *res = NULL;
	json_t *params = NULL;
	size_t res_len = 0;
	enum atl_err rc;

	if (job_id == NULL || strlen(job_id) > ATL_ENV_ID_MAX || strspn(job_id,
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(job_id) || wid == NULL ||
	    kind == NULL || !json_is_object(env) || !(json_is_null(sha) || json_is_string(sha)) ||
	    (mk != NULL && !(json_is_object(mk) && json_is_string(sha)))) {
		atl_warn("the coordinator leased a malformed job; ignoring it");
		return;
	}
	atl_info("job %s leased (workload %.64s, kind %.32s)", job_id, wid, kind);
	if (json_is_string(sha)) {
		rc = isl_model_path(is, wid, json_string_value(sha), model, sizeof(model));
		if (rc != ATL_OK) {
			post_fail(is, job_id, "model_unavailable",
				  "the island could not fetch the pinned model");
			return;
		}
		if (mk != NULL) {
			/* an encrypted model: its key for this enclave (kbs.c) */
			char mid[33], kwhy[320];
			rc = isl_model_key(is, wid, mk, model, json_string_value(sha), mid,
					   sizeof(mid), kwhy, sizeof(kwhy));
			if (rc != ATL_OK) {
				post_fail(is, job_id, rc == ATL_E_STATE ? "enclave_unavailable"
									: "model_key_refused",
					  kwhy);
				if (rc == ATL_E_STATE)
					enclave_stop(is);
				return;
			}
			params = json_pack("{s:s}", "model_id", mid);
		} else {
			params = json_pack("{s:s, s:s}", "model", model, "model_sha256",
					   json_string_value(sha));
		}
		if (params == NULL)
			return;
	}
	env_txt = atl_json_dump(env);
	if (env_txt == NULL)
		goto out;
	tmo = exp > now ? exp - now : 1;
	if (is->o->job_timeout_s > 0 && tmo > is->o->job_timeout_s)
		tmo = is->o->job_timeout_s;
	if (tmo > 3600)
		tmo = 3600;
	why[0] = '\0';
	rc = atl_enclave_job(is->fd, job_id, wid, kind, params, env_txt, strlen(env_txt),
			     (int)(tmo * 1000), &res, &res_len, why, sizeof(why));
	if (rc == ATL_OK) {
		post_result(is, job_id, res, res_len, exp);
	} else if (rc == ATL_E_IO || rc == ATL_E_TIMEOUT || why[0] == '\0') {
		/* no answer: the channel may be out of step, so the enclave restarts */
		atl_warn("job %s: the enclave did not answer (%s); restarting it", job_id,
			 atl_strerror(rc));
		post_fail(is, job_id, "enclave_unavailable", "the enclave did not answer");
		enclave_stop(is);
	} else {
		char esc[256];
		atl_log_escape(why, strlen(why), esc, sizeof(esc));
		atl_info("job %s refused by the enclave: %s (%s)", job_id, esc, atl_err_name(rc));
		post_fail(is, job_id, "enclave_refused", esc);
	}
out:
	json_decref(params);
	free(env_txt);
	free(res);
}

/* ---------------------------------------------------------------- main loop */

static enum atl_err check_opts(const struct atl_island_opts *o, char *why, size_t cap)
{
	const char *u = o->coordinator;

	if (u == NULL || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
	    strlen(u) >= ISL_URL_MAX - 64) {
		snprintf(why, cap, "--coordinator must be an http:// or https:// URL");
		return ATL_E_ARG;
	}
	if (o->token == NULL || o->token[0] == '\0') {
		snprintf(why, cap, "--token is required");
		return ATL_E_ARG;
	}
	if (o->tee == NULL || o->enclave == NULL || o->cache_dir == NULL) {
		snprintf(why, cap, "--tee, the enclave path and the cache directory are required");
		return ATL_E_ARG;
	}
	if ((strcmp(o->tee, "tpm") == 0) != (o->tpm != NULL)) {
		snprintf(why, cap, "--tee tpm needs --tpm URI (and --tpm is for --tee tpm only)");
		return ATL_E_ARG;
	}
	if (strcmp(o->tee, "sim") == 0 && o->sim_root == NULL) {
		snprintf(why, cap, "--tee sim needs --sim-root DIR");
		return ATL_E_ARG;
	}
	if (o->lease_wait_s < 0 || o->lease_wait_s > ATL_COORD_WAIT_MAX_S) {
		snprintf(why, cap, "--lease-wait must be 1..%d seconds", ATL_COORD_WAIT_MAX_S);
		return ATL_E_ARG;
	}
	if (access(o->enclave, X_OK) != 0) {
		snprintf(why, cap, "the enclave program %s is not executable", o->enclave);
		return ATL_E_ARG;
	}
	return ATL_OK;
}

enum atl_err atl_island_run(const struct atl_island_opts *opts, volatile sig_atomic_t *stop,
			    char *why, size_t why_cap)
{
	struct island is = {.o = opts, .stop = stop, .pid = -1, .fd = -1};
	struct atl_http_client_opts ho = {.bearer = opts->token,
					  .ca_file = opts->tls_ca_file,
					  .cert_file = opts->tls_cert_file,
					  .key_file = opts->tls_key_file};
	int wait_s = opts->lease_wait_s > 0 ? opts->lease_wait_s : ATL_ISLAND_LEASE_WAIT_DEFAULT;
	int64_t attest_backoff = 0, net_backoff = 0;
	enum atl_err rc;
	size_t n;

	if (why_cap > 0)
		why[0] = '\0';
	rc = check_opts(opts, why, why_cap);
	if (rc != ATL_OK)
		return rc;
	n = strlen(opts->coordinator);
	while (n > 0 && opts->coordinator[n - 1] == '/')
		n--;
	memcpy(is.base, opts->coordinator, n);
	ho.timeout_ms = (unsigned)(wait_s + 15) * 1000u;
	rc = atl_http_client_new(&ho, &is.http);
	if (rc != ATL_OK)
		goto out;
	if (strcmp(opts->tee, "sim") == 0)
		atl_warn("%s", ATL_SIM_WARNING);
	if (opts->tpm != NULL) {
		/* TPM registration (src/island/tpm.c) before the enclave holds the TPM */
		int64_t backoff = 0;
		while ((rc = isl_tpm_register(&is, is.tpm_act, sizeof(is.tpm_act), why, why_cap)) !=
		       ATL_OK) {
			if (rc == ATL_E_AUTH || rc == ATL_E_DENIED)
				break;
			atl_warn("%s; retrying", why);
			backoff = grow(backoff, ATTEST_BACKOFF_MIN_MS);
			if (!nap(&is, backoff))
				break;
		}
		if (rc != ATL_OK) {
			is.tpm_act[0] = '\0';
			if (rc != ATL_E_AUTH && rc != ATL_E_DENIED) {
				rc = ATL_OK; /* stopped while retrying */
				why[0] = '\0';
			}
			goto out;
		}
		why[0] = '\0';
	}
	rc = enclave_start(&is);
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "the enclave %s did not start: %s", opts->enclave,
			 atl_strerror(rc));
		rc = ATL_E_IO;
		goto out;
	}
	rc = ATL_OK;
	while (!*stop) {
		json_t *j = NULL;
		char path[64], err[320];
		int64_t now, t0;
		long st = 0;
		int w;
		enum atl_err crc;

		if (enclave_dead(&is)) {
			is.restart_backoff_ms = grow(is.restart_backoff_ms, RESTART_BACKOFF_MIN_MS);
			atl_info("restarting the enclave in %lld ms", (long long)is.restart_backoff_ms);
			if (!nap(&is, is.restart_backoff_ms))
				break;
			crc = enclave_start(&is);
			if (crc != ATL_OK) {
				atl_error("the enclave did not start: %s", atl_strerror(crc));
				continue;
			}
			is.restarts++;
			atl_info("enclave restarted (%u restarts); re-attesting its new key",
				 is.restarts);
		}
		now = atl_time_now();
		if (is.kid[0] == '\0' || now >= is.reattest_at) {
			enum verdict v = attest(&is);
			if (v == V_FATAL_AUTH) {
				snprintf(why, why_cap, "the coordinator refused the island token (401)");
				rc = ATL_E_AUTH;
				break;
			}
			if (v == V_FATAL_DISABLED) {
				snprintf(why, why_cap, "this island is disabled at the coordinator");
				rc = ATL_E_DENIED;
				break;
			}
			if (v == V_ENCLAVE) {
				enclave_stop(&is);
				continue;
			}
			if (v != V_OK) {
				is.kid[0] = '\0';
				attest_backoff = grow(attest_backoff, ATTEST_BACKOFF_MIN_MS);
				if (!nap(&is, attest_backoff))
					break;
				continue;
			}
			attest_backoff = 0;
			is.restart_backoff_ms = 0;
			now = atl_time_now();
		}
		w = wait_s;
		if (is.reattest_at - now < w)
			w = (int)(is.reattest_at - now);
		if (w < 0)
			w = 0;
		snprintf(path, sizeof(path), "/api/v1/islands/lease?wait=%d", w);
		t0 = atl_time_mono_ms();
		crc = isl_call(&is, "GET", path, NULL, &st, &j);
		if (crc != ATL_OK) {
			net_backoff = grow(net_backoff, NET_BACKOFF_MIN_MS);
			atl_warn("lease: %s; retrying in %lld ms", atl_strerror(crc),
				 (long long)net_backoff);
			json_decref(j);
			if (!nap(&is, net_backoff))
				break;
			continue;
		}
		net_backoff = 0;
		if (st == 200 && json_is_object(j)) {
			run_job(&is, j);
		} else if (st == 204) {
			/* nothing arrived: poll again, but never in a tight loop
			 * against a coordinator that answers at once */
			if (atl_time_mono_ms() - t0 < (int64_t)w * 500 && !nap(&is, 500)) {
				json_decref(j);
				break;
			}
		} else if (st == 401 || st == 403) {
			enum verdict v = fatal_status(st, j);
			if (v == V_FATAL_AUTH || v == V_FATAL_DISABLED) {
				snprintf(why, why_cap, "%s",
					 v == V_FATAL_AUTH
						 ? "the coordinator refused the island token (401)"
						 : "this island is disabled at the coordinator");
				rc = v == V_FATAL_AUTH ? ATL_E_AUTH : ATL_E_DENIED;
				json_decref(j);
				break;
			}
			isl_error_text(j, err, sizeof(err));
			atl_info("lease: %s; attesting again", err);
			is.kid[0] = '\0';
		} else {
			isl_error_text(j, err, sizeof(err));
			atl_warn("lease: the coordinator answered %ld (%s)", st, err);
			if (!nap(&is, 1000)) {
				json_decref(j);
				break;
			}
		}
		json_decref(j);
	}
	if (*stop)
		atl_info("stopping: shutting the enclave down");
out:
	enclave_stop(&is);
	atl_http_client_free(is.http);
	atl_http_client_free(is.mhttp);
	return rc;
}
