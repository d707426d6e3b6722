/* `atoll proxy`: the confidential API on localhost (DESIGN §1, §5), so any
 * HTTP client gets it while keys and plaintext stay on this machine:
 *   POST /api/v1/confidential/keys     create a client key → {key_id, public_key}
 *   POST /api/v1/confidential/encrypt  {workload_id, data(b64)[, key_id]} → targets
 *        fetched and verified here against the user's policy, data sealed to
 *        the verified enclave keys and the client key → {envelope, recipients, …}
 *   POST /api/v1/confidential/decrypt  {job_id, result[, envelope]} → {data(b64)}
 * and forwards the rest (jobs, targets, stats, usage, healthz) to the
 * coordinator with the proxy's API key. A forwarded job submission whose
 * envelope is sealed to a key of this store is recorded, so /decrypt needs
 * only the job id and the result. Binds loopback only: whoever can reach it
 * acts as the tenant. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/client.h"
#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "cli/cmds.h"

int atl_cmd_proxy(int argc, char **argv);

struct proxy {
	const char *url, *api_key;
	char dir[4096];
	json_t *policy;
	pthread_mutex_t mu; /* key store writes */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll proxy [--listen 127.0.0.1:PORT] [--policy FILE]\n"
		"                   [--coordinator URL] [--api-key K] [--keys DIR]\n\n"
		"Serves the confidential API on localhost: /api/v1/confidential/keys, /encrypt\n"
		"and /decrypt run here (keys, attestation checks against your policy, sealing\n"
		"and opening), everything else is forwarded to the coordinator with your API\n"
		"key. Plaintext and private keys never leave this machine. Prints\n"
		"'listening on PORT'; SIGTERM or SIGINT stops it.\n\n"
		"  --listen ADDR      loopback address (default 127.0.0.1:0: a free port)\n"
		"  --policy FILE      attestation policy (default: DIR/policy.json; required)\n"
		"  --coordinator URL  (or $ATOLL_COORDINATOR)\n"
		"  --api-key K        tenant API key (or $ATOLL_API_KEY; never printed)\n"
		"  --keys DIR         key store (default: $ATOLL_KEYS, else ~/.config/atoll)\n\n"
		"exit status: 0 stopped, 2 usage or I/O\n");
}

static struct atl_client *session(const struct proxy *p, struct atl_http_resp *resp)
{
	struct atl_client *c = NULL;

	if (atl_client_new(p->url, p->api_key, &c) != ATL_OK) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		return NULL;
	}
	return c;
}

static void h_keys(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct proxy *p = ctx;
	char kid[ATL_KEY_ID_LEN], *pub = NULL;
	struct atl_kp kp = {0};
	json_t *v;
	enum atl_err rc;

	(void)req;
	pthread_mutex_lock(&p->mu);
	rc = atl_client_key_create(p->dir, kid);
	pthread_mutex_unlock(&p->mu);
	if (rc == ATL_OK)
		rc = atl_client_key_load(p->dir, kid, &kp, NULL);
	if (rc == ATL_OK)
		rc = atl_b64_encode(kp.pub, sizeof(kp.pub), ATL_B64_STD, &pub);
	atl_kp_clear(&kp);
	if (rc != ATL_OK) {
		atl_http_resp_error(resp, 500, "internal", "cannot create a key");
		return;
	}
	v = json_pack("{s:s, s:s}", "key_id", kid, "public_key", pub);
	atl_http_resp_json(resp, 201, v);
	json_decref(v);
	free(pub);
}

static void h_encrypt(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"workload_id", "data", "key_id", NULL};
	struct proxy *p = ctx;
	struct atl_client *c = NULL;
	struct atl_client_target *t = NULL;
	struct atl_kp kp = {0};
	json_t *body = NULL, *env_j = NULL, *kids = NULL, *v = NULL;
	const char *wl, *kid_opt;
	char kid[ATL_KEY_ID_LEN], *env = NULL, msg[200];
	uint8_t *data = NULL;
	size_t data_len = 0, n = 0, env_len = 0;
	enum atl_err rc;

	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	wl = json_string_value(json_object_get(body, "workload_id"));
	kid_opt = json_string_value(json_object_get(body, "key_id"));
	if (wl == NULL || atl_json_get_b64(body, "data", ATL_ENV_PAYLOAD_MAX, &data, &data_len) !=
				  ATL_OK) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected {\"workload_id\":…,\"data\":\"<base64>\"}");
		goto out;
	}
	if (atl_client_key_load(p->dir, kid_opt, &kp, kid) != ATL_OK) {
		atl_http_resp_error(resp, 404, "not_found",
				    "no such client key (create one: POST /api/v1/confidential/keys)");
		goto out;
	}
	if ((c = session(p, resp)) == NULL)
		goto out;
	rc = atl_client_targets(c, wl, 3, p->policy, atl_time_now(), &t, &n);
	if (rc != ATL_OK) {
		long st = atl_client_last_status(c);
		atl_http_resp_error(resp, st >= 400 ? (int)st : 502,
				    st >= 400 ? "upstream" : "bad_gateway", atl_client_last_error(c));
		goto out;
	}
	rc = atl_client_seal(t, n, &kp, wl, atl_time_now(), data, data_len, &env, &env_len, NULL);
	if (rc == ATL_E_POLICY) {
		snprintf(msg, sizeof(msg), "no target of workload %.64s satisfies the policy", wl);
		atl_http_resp_error(resp, 403, "no_verified_target", msg);
		goto out;
	}
	if (rc != ATL_OK || atl_json_parse(env, env_len, &env_j) != ATL_OK ||
	    (kids = json_array()) == NULL) {
		atl_http_resp_error(resp, 400, "bad_request", "cannot seal this input");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].v.ok)
			json_array_append_new(kids, json_string(t[i].v.key_id));
	}
	v = json_pack("{s:s, s:s, s:O, s:O}", "workload_id", wl, "key_id", kid, "recipients", kids,
		      "envelope", env_j);
	atl_http_resp_json(resp, 200, v);
out:
	if (data != NULL)
		atl_wipe(data, data_len);
	free(data);
	free(env);
	free(t);
	atl_kp_clear(&kp);
	atl_client_free(c);
	json_decref(body);
	json_decref(env_j);
	json_decref(kids);
	json_decref(v);
}

static void h_decrypt(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"job_id", "result", "envelope", NULL};
	struct proxy *p = ctx;
	json_t *body = NULL, *v = NULL;
	const json_t *res_j, *env_j;
	const char *job;
	char *res = NULL, *env = NULL, *b64 = NULL;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	enum atl_err rc;

	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	job = json_string_value(json_object_get(body, "job_id"));
	res_j = json_object_get(body, "result");
	env_j = json_object_get(body, "envelope");
	if (!atl_client_id_ok(job, "job_") || !json_is_object(res_j) ||
	    (env_j != NULL && !json_is_object(env_j)) || (res = atl_json_dump(res_j)) == NULL) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected {\"job_id\":\"job_…\",\"result\":{…}[,\"envelope\":{…}]}");
		goto out;
	}
	if (env_j != NULL) {
		/* record it so the client key can reopen its own entry */
		struct atl_env_info *info = calloc(1, sizeof(*info));
		env = atl_json_dump(env_j);
		rc = info != NULL && env != NULL ? atl_env_inspect(env, strlen(env), info) : ATL_E_NOMEM;
		if (rc == ATL_OK)
			rc = atl_client_record_save(p->dir, job, info->workload_id, info->key_id,
						    p->url, env);
		free(info);
		if (rc != ATL_OK) {
			atl_http_resp_error(resp, 400, "bad_request", "the envelope is not usable");
			goto out;
		}
	}
	rc = atl_client_open_result(p->dir, job, res, strlen(res), &pt, &pt_len);
	if (rc == ATL_E_NOTFOUND) {
		atl_http_resp_error(resp, 404, "not_found",
				    "no record of this job or its client key here (pass \"envelope\")");
		goto out;
	}
	if (rc != ATL_OK) {
		atl_http_resp_error(resp, 403, "not_opened", "the result does not open");
		goto out;
	}
	if (atl_b64_encode(pt, pt_len, ATL_B64_STD, &b64) != ATL_OK ||
	    (v = json_pack("{s:s, s:s}", "job_id", job, "data", b64)) == NULL) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		goto out;
	}
	atl_http_resp_json(resp, 200, v);
out:
	if (b64 != NULL)
		atl_wipe(b64, strlen(b64));
	if (v != NULL) {
		const char *s = json_string_value(json_object_get(v, "data"));
		if (s != NULL)
			atl_wipe((void *)s, strlen(s));
	}
	free(b64);
	atl_secret_free(pt);
	free(res);
	free(env);
	json_decref(body);
	json_decref(v);
}

/* Sends req to the coordinator at path and relays its answer. */
static void forward(struct proxy *p, const struct atl_http_req *req, const char *path,
		    struct atl_http_resp *resp, char **answer_out, long *status_out)
{
	struct atl_client *c = session(p, resp);
	char *b = NULL;
	size_t bl = 0;
	long st = 0;

	if (answer_out != NULL)
		*answer_out = NULL;
	if (c == NULL)
		return;
	if (atl_client_forward(c, req->method, path, req->body, req->body_len, &st, &b, &bl) !=
	    ATL_OK) {
		atl_http_resp_error(resp, 502, "bad_gateway", "the coordinator is unreachable");
		atl_client_free(c);
		return;
	}
	atl_client_free(c);
	if (answer_out != NULL && b != NULL)
		*answer_out = strdup(b);
	if (status_out != NULL)
		*status_out = st;
	resp->status = (int)st;
	resp->body = b;
	resp->body_len = bl;
	resp->content_type = "application/json";
}

static bool safe(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n > 0 && n <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void h_submit(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct proxy *p = ctx;
	json_t *in = NULL, *out = NULL;
	char *answer = NULL;
	long st = 0;

	forward(p, req, "/api/v1/jobs", resp, &answer, &st);
	/* record jobs sealed to one of our keys, for /decrypt */
	if (st == 201 && answer != NULL && atl_http_req_json(req, &in) == ATL_OK &&
	    atl_json_parse(answer, strlen(answer), &out) == ATL_OK) {
		const char *job = json_string_value(json_object_get(out, "job_id"));
		const char *wl = json_string_value(json_object_get(in, "workload_id"));
		const char *kid = json_string_value(json_object_get(in, "encryption_key_id"));
		const json_t *inp = json_object_get(in, "input");
		const json_t *ct = json_object_get(inp, "ciphertext");
		char *env = atl_json_dump(json_is_object(ct) ? ct : inp);
		struct atl_kp kp = {0};
		if (atl_client_id_ok(job, "job_") && wl != NULL && env != NULL &&
		    atl_client_key_load(p->dir, kid, &kp, NULL) == ATL_OK &&
		    atl_client_record_save(p->dir, job, wl, kid, p->url, env) != ATL_OK)
			fprintf(stderr, "atoll proxy: cannot record job %s\n", job);
		atl_kp_clear(&kp);
		free(env);
	}
	free(answer);
	json_decref(in);
	json_decref(out);
}

static void h_job(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	char path[128];

	if (!safe(req->params[0], 64)) {
		atl_http_resp_error(resp, 404, "not_found", "no such job");
		return;
	}
	snprintf(path, sizeof(path), "/api/v1/jobs/%s", req->params[0]);
	forward(ctx, req, path, resp, NULL, NULL);
}

static void h_targets(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	const char *wl = atl_http_req_query(req, "workload_id");
	const char *count = atl_http_req_query(req, "count");
	char path[256];

	if (!safe(wl, 64) || (count != NULL && (strlen(count) > 4 ||
						strspn(count, "0123456789") != strlen(count)))) {
		atl_http_resp_error(resp, 400, "bad_request", "workload_id (and count) expected");
		return;
	}
	snprintf(path, sizeof(path), "/api/v1/confidential/targets?workload_id=%s%s%s", wl,
		 count != NULL ? "&count=" : "", count != NULL ? count : "");
	forward(ctx, req, path, resp, NULL, NULL);
}

static void h_plain(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	forward(ctx, req, req->path, resp, NULL, NULL);
}

static const struct atl_http_route routes[] = {
	{"POST", "/api/v1/confidential/keys", h_keys, 0},
	{"POST", "/api/v1/confidential/encrypt", h_encrypt, 0},
	{"POST", "/api/v1/confidential/decrypt", h_decrypt, 0},
	{"GET", "/api/v1/confidential/targets", h_targets, 0},
	{"GET", "/api/v1/confidential/stats", h_plain, 0},
	{"GET", "/api/v1/usage", h_plain, 0},
	{"GET", "/healthz", h_plain, 0},
	{"POST", "/api/v1/jobs", h_submit, 0},
	{"GET", "/api/v1/jobs/{id}", h_job, 0},
};

int atl_cmd_proxy(int argc, char **argv)
{
	struct atl_http_server_opts so = {.listen = "127.0.0.1:0"};
	struct atl_http_server *srv = NULL;
	struct proxy p = {0};
	const char *keys = NULL, *policy = NULL;
	char used[4200], why[512];
	sigset_t set;
	int sig = 0;
	enum atl_err rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ATL_EXIT_OK;
		}
		if (v == NULL) {
			fprintf(stderr, "atoll proxy: unknown or incomplete option '%s'\n", a);
			return ATL_EXIT_USAGE;
		}
		if (strcmp(a, "--listen") == 0)
			so.listen = v;
		else if (strcmp(a, "--policy") == 0)
			policy = v;
		else if (strcmp(a, "--coordinator") == 0)
			p.url = v;
		else if (strcmp(a, "--api-key") == 0)
			p.api_key = v;
		else if (strcmp(a, "--keys") == 0)
			keys = v;
		else {
			fprintf(stderr, "atoll proxy: unknown option '%s'\n", a);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
		i++;
	}
	p.url = atl_client_url(p.url);
	p.api_key = atl_client_api_key(p.api_key);
	if (p.url == NULL || p.api_key == NULL) {
		fprintf(stderr, "atoll proxy: needs a coordinator (--coordinator or "
				"$ATOLL_COORDINATOR) and an API key (--api-key or $ATOLL_API_KEY)\n");
		return ATL_EXIT_USAGE;
	}
	{
		struct atl_client *probe = NULL;
		if (atl_client_new(p.url, p.api_key, &probe) != ATL_OK) {
			fprintf(stderr, "atoll proxy: bad coordinator URL '%.200s'\n", p.url);
			return ATL_EXIT_USAGE;
		}
		atl_client_free(probe);
	}
	if (atl_client_dir(keys, p.dir, sizeof(p.dir)) != ATL_OK) {
		fprintf(stderr, "atoll proxy: no key store: pass --keys DIR\n");
		return ATL_EXIT_USAGE;
	}
	rc = atl_client_policy_load(p.dir, policy, &p.policy, used, sizeof(used), why, sizeof(why));
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll proxy: policy %s: %s\n", used,
			why[0] != '\0' ? why : atl_strerror(rc));
		return ATL_EXIT_USAGE;
	}
	pthread_mutex_init(&p.mu, NULL);
	/* the server's threads inherit this mask: only sigwait sees the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = atl_http_server_start(&so, routes, sizeof(routes) / sizeof(routes[0]), &p, &srv);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll proxy: cannot listen on %s: %s\n", so.listen,
			rc == ATL_E_POLICY ? "only loopback addresses are allowed" : atl_strerror(rc));
		json_decref(p.policy);
		pthread_mutex_destroy(&p.mu);
		return ATL_EXIT_USAGE;
	}
	printf("listening on %u\n", (unsigned)atl_http_server_port(srv));
	fflush(stdout);
	fprintf(stderr, "atoll proxy: forwarding to %s; keys in %s; policy %s\n", p.url, p.dir,
		used);
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "atoll proxy: stopping\n");
	atl_http_server_stop(srv);
	json_decref(p.policy);
	pthread_mutex_destroy(&p.mu);
	return ATL_EXIT_OK;
}
