/* Unit tests for src/island/: the agent against a tiny fake coordinator
 * (the http server adapter on loopback) with the real sandboxed atoll-enclave
 * of this build: a refused token and a disabled island are fatal; the agent
 * attests with the coordinator's nonce, attests again when the lease answers
 * 403 attestation_required, refuses a model whose bytes do not have the
 * pinned SHA-256 (fail "model_unavailable"), reports an envelope the enclave
 * cannot open (fail "enclave_refused"), ignores a malformed lease, restarts a
 * killed enclave and re-attests with its new key, and stops on the flag.
 * atl-test-deps: atoll_http atoll_enclave atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/http.h"
#include "atoll/island.h"
#include "atoll/json.h"
#include "atoll/verify.h"

struct fake {
	pthread_mutex_t mu;
	int challenge_status;      /* status of /challenge (200 normal) */
	const char *challenge_code;
	int challenges, evidences, leases, fails, model_gets;
	char kids[8][64];          /* enclave keys seen in evidence */
	int n_kids;
	char fail_codes[8][64];
	int script;                /* which lease answer comes next */
	volatile sig_atomic_t *stop;
	pid_t enclave_pid_hint;
};

static struct fake F;
static char root[64];
static char enclave[1024];

static void h_challenge(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct fake *f = ctx;
	(void)req;
	pthread_mutex_lock(&f->mu);
	f->challenges++;
	pthread_mutex_unlock(&f->mu);
	if (f->challenge_status != 200) {
		atl_http_resp_error(resp, f->challenge_status, f->challenge_code, "no");
		return;
	}
	atl_http_resp_text(resp, 200, "application/json",
			   "{\"nonce\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
			   "\"expires_at\":9999999999}");
}

static void h_evidence(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct fake *f = ctx;
	json_t *j = NULL;
	struct atl_evidence ev = {0};
	char *txt = NULL, kid[ATL_KEY_ID_LEN] = "";

	if (atl_http_req_json(req, &j) == ATL_OK &&
	    (txt = atl_json_dump(json_object_get(j, "evidence"))) != NULL &&
	    atl_evidence_parse((const uint8_t *)txt, strlen(txt), &ev, NULL, 0) == ATL_OK &&
	    atl_key_id("ek_", ev.enclave_key, kid) == ATL_OK &&
	    json_string_value(json_object_get(j, "nonce")) != NULL &&
	    strcmp(json_string_value(json_object_get(j, "nonce")),
		   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff") == 0) {
		json_t *v = json_pack("{s:s, s:s, s:I}", "status", "warning", "key_id", kid,
				      "valid_until", (json_int_t)(time(NULL) + 300));
		pthread_mutex_lock(&f->mu);
		f->evidences++;
		if (f->n_kids < 8)
			snprintf(f->kids[f->n_kids++], 64, "%s", kid);
		pthread_mutex_unlock(&f->mu);
		atl_http_resp_json(resp, 200, v);
		json_decref(v);
	} else {
		atl_http_resp_error(resp, 400, "bad_request", "bad evidence");
	}
	atl_evidence_clear(&ev);
	free(txt);
	json_decref(j);
}

static const char *const ENV_BAD =
	"{\"v\":1,\"suite\":\"x25519-sha256-aes256gcm\",\"workload_id\":\"w\",\"key_id\":\"k\","
	"\"created_at\":1,\"recipients\":[],\"nonce\":\"AAAAAAAAAAAAAAAA\",\"ciphertext\":\"AA==\"}";

static void h_lease(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct fake *f = ctx;
	char buf[1024];
	int step;
	(void)req;
	pthread_mutex_lock(&f->mu);
	f->leases++;
	step = f->script++;
	pthread_mutex_unlock(&f->mu);
	switch (step) {
	case 0: /* the coordinator wants fresh evidence */
		atl_http_resp_error(resp, 403, "attestation_required", "attest again");
		return;
	case 1: /* a model whose bytes do not match the pin */
		snprintf(buf, sizeof(buf),
			 "{\"job_id\":\"job_00000000000000000000000000000001\",\"workload_id\":\"w\","
			 "\"kind\":\"classifier\",\"model_sha256\":\"%064d\",\"envelope\":%s,"
			 "\"lease_expires_at\":%lld}", 0, ENV_BAD, (long long)time(NULL) + 60);
		atl_http_resp_text(resp, 200, "application/json", buf);
		return;
	case 2: /* an envelope the enclave cannot open */
		snprintf(buf, sizeof(buf),
			 "{\"job_id\":\"job_00000000000000000000000000000002\",\"workload_id\":\"w\","
			 "\"kind\":\"echo\",\"model_sha256\":null,\"envelope\":%s,"
			 "\"lease_expires_at\":%lld}", ENV_BAD, (long long)time(NULL) + 60);
		atl_http_resp_text(resp, 200, "application/json", buf);
		return;
	case 3: /* malformed: ignored */
		atl_http_resp_text(resp, 200, "application/json", "{\"job_id\":7}");
		return;
	default:
		resp->status = 204;
		return;
	}
}

static void h_model(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct fake *f = ctx;
	(void)req;
	pthread_mutex_lock(&f->mu);
	f->model_gets++;
	pthread_mutex_unlock(&f->mu);
	atl_http_resp_text(resp, 200, "application/octet-stream", "not the pinned model");
}

static void h_fail(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct fake *f = ctx;
	json_t *j = NULL;
	const char *code;

	if (atl_http_req_json(req, &j) == ATL_OK &&
	    (code = json_string_value(json_object_get(j, "code"))) != NULL) {
		pthread_mutex_lock(&f->mu);
		if (f->fails < 8)
			snprintf(f->fail_codes[f->fails], 64, "%s", code);
		f->fails++;
		pthread_mutex_unlock(&f->mu);
	}
	json_decref(j);
	atl_http_resp_text(resp, 200, "application/json", "{\"status\":\"accepted\"}");
}

static const struct atl_http_route routes[] = {
	{"POST", "/api/v1/islands/challenge", h_challenge, 0},
	{"POST", "/api/v1/islands/evidence", h_evidence, 0},
	{"GET", "/api/v1/islands/lease", h_lease, 0},
	{"GET", "/api/v1/islands/models/{w}", h_model, 0},
	{"POST", "/api/v1/islands/jobs/{id}/fail", h_fail, 0},
};

struct runner {
	struct atl_island_opts o;
	volatile sig_atomic_t stop;
	enum atl_err rc;
	char why[256];
};

static void *run_thread(void *p)
{
	struct runner *r = p;
	r->rc = atl_island_run(&r->o, &r->stop, r->why, sizeof(r->why));
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/atl_island_test.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	char sim[128];
	snprintf(sim, sizeof(sim), "%s/sim", root);
	if (atl_sim_root_create(sim) != ATL_OK)
		return -1;
	snprintf(enclave, sizeof(enclave), "%s/bin/atoll-enclave", ATL_BINARY_DIR);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void start(struct atl_http_server **srv, struct runner *r, char *url, size_t cap,
		  char *sim, char *cache)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(atl_http_server_start(NULL, routes, sizeof(routes) / sizeof(routes[0]),
					       &F, srv),
			 ATL_OK);
	snprintf(url, cap, "http://127.0.0.1:%u", atl_http_server_port(*srv));
	snprintf(sim, 128, "%s/sim", root);
	snprintf(cache, 128, "%s/cache", root);
	r->o.coordinator = url;
	r->o.token = "it_test";
	r->o.tee = "sim";
	r->o.sim_root = sim;
	r->o.enclave = enclave;
	r->o.cache_dir = cache;
	r->o.lease_wait_s = 1;
}

static bool wait_for(int *counter, int at_least, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		int v;
		pthread_mutex_lock(&F.mu);
		v = *counter;
		pthread_mutex_unlock(&F.mu);
		if (v >= at_least)
			return true;
		usleep(50000);
	}
	return false;
}

static void test_fatal_credentials(void **state)
{
	struct atl_http_server *srv = NULL;
	struct runner r;
	char url[64], sim[128], cache[128];
	(void)state;
	if (access(enclave, X_OK) != 0)
		skip();
	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.mu, NULL);
	F.challenge_status = 401;
	F.challenge_code = "unauthorized";
	start(&srv, &r, url, sizeof(url), sim, cache);
	assert_int_equal(atl_island_run(&r.o, &r.stop, r.why, sizeof(r.why)), ATL_E_AUTH);
	assert_non_null(strstr(r.why, "token"));
	F.challenge_status = 403;
	F.challenge_code = "island_disabled";
	assert_int_equal(atl_island_run(&r.o, &r.stop, r.why, sizeof(r.why)), ATL_E_DENIED);
	/* bad options */
	r.o.sim_root = NULL;
	assert_int_equal(atl_island_run(&r.o, &r.stop, r.why, sizeof(r.why)), ATL_E_ARG);
	r.o.sim_root = sim;
	r.o.enclave = "/nonexistent/atoll-enclave";
	assert_int_equal(atl_island_run(&r.o, &r.stop, r.why, sizeof(r.why)), ATL_E_ARG);
	r.o.enclave = enclave;
	r.o.coordinator = "ftp://x";
	assert_int_equal(atl_island_run(&r.o, &r.stop, r.why, sizeof(r.why)), ATL_E_ARG);
	atl_http_server_stop(srv);
	pthread_mutex_destroy(&F.mu);
}

static void test_agent_flow(void **state)
{
	struct atl_http_server *srv = NULL;
	struct runner r;
	pthread_t th;
	char url[64], sim[128], cache[128], cmd[256];
	(void)state;
	if (access(enclave, X_OK) != 0)
		skip();
	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.mu, NULL);
	F.challenge_status = 200;
	start(&srv, &r, url, sizeof(url), sim, cache);
	assert_int_equal(pthread_create(&th, NULL, run_thread, &r), 0);
	/* attests, is asked to attest again, then the two failing jobs */
	assert_true(wait_for(&F.fails, 2, 60));
	assert_true(wait_for(&F.leases, 5, 30)); /* past the malformed lease */
	pthread_mutex_lock(&F.mu);
	assert_true(F.challenges >= 2);
	assert_true(F.evidences >= 2);
	assert_string_equal(F.kids[0], F.kids[1]); /* same enclave, same key */
	assert_string_equal(F.fail_codes[0], "model_unavailable");
	assert_string_equal(F.fail_codes[1], "enclave_refused");
	assert_int_equal(F.fails, 2);
	assert_true(F.model_gets >= 1);
	pthread_mutex_unlock(&F.mu);
	/* nothing with the wrong digest was cached */
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' 2>/dev/null)\"", cache);
	assert_int_equal(system(cmd), 0);
	/* kill the enclave: restarted and re-attested with a new key */
	snprintf(cmd, sizeof(cmd), "pkill -KILL -P %d -x atoll-enclave", (int)getpid());
	assert_int_equal(system(cmd), 0);
	{
		int n0;
		pthread_mutex_lock(&F.mu);
		n0 = F.evidences;
		pthread_mutex_unlock(&F.mu);
		assert_true(wait_for(&F.evidences, n0 + 1, 60));
	}
	pthread_mutex_lock(&F.mu);
	assert_string_not_equal(F.kids[F.n_kids - 1], F.kids[0]);
	pthread_mutex_unlock(&F.mu);
	r.stop = 1;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.rc, ATL_OK);
	atl_http_server_stop(srv);
	pthread_mutex_destroy(&F.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fatal_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_flow, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
