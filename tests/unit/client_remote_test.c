/* Unit tests for src/client/remote.c against a fake coordinator (the http
 * server adapter on loopback) serving sim evidence made here: targets are
 * verified locally (a good one passes; one from another sim root, one whose
 * listed key id is not the attested key, and one without evidence are
 * refused with a reason); the contract's statuses map to errors with the
 * coordinator's message (401, 404, 409); malformed answers are refused; job
 * status and results are read; submit checks the job id's form.
 * atl-test-deps: atoll_http atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/client.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/policy.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

static char dir[96], other[96];
static char *targets_body; /* what /targets answers */
static int submit_mode;     /* 0: 201 good id, 1: 409, 2: 201 bad id */
static struct atl_kp ek1, ek2;

static void h_targets(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	const char *w = atl_http_req_query(req, "workload_id");
	(void)ctx;
	if (atl_http_req_bearer(req) == NULL || strcmp(atl_http_req_bearer(req), "ak_good") != 0) {
		atl_http_resp_error(resp, 401, "unauthorized", "a valid API key is required");
		return;
	}
	if (w == NULL || strcmp(w, "wl") != 0) {
		atl_http_resp_error(resp, 404, "not_found", "unknown workload");
		return;
	}
	atl_http_resp_text(resp, 200, "application/json", targets_body);
}

static void h_submit(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	(void)ctx;
	(void)req;
	if (submit_mode == 1)
		atl_http_resp_error(resp, 409, "no_attested_recipient",
				    "no currently attested enclave of workload 'wl'\x01");
	else if (submit_mode == 2)
		atl_http_resp_text(resp, 201, "application/json", "{\"job_id\":\"job_../x\"}");
	else
		atl_http_resp_text(resp, 201, "application/json",
				   "{\"job_id\":\"job_0123456789abcdef0123456789abcdef\","
				   "\"status\":\"queued\"}");
}

static void h_job(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	(void)ctx;
	if (strcmp(req->params[0], "job_0123456789abcdef0123456789abcdef") == 0)
		atl_http_resp_text(resp, 200, "application/json",
				   "{\"job_id\":\"job_0123456789abcdef0123456789abcdef\","
				   "\"workload_id\":\"wl\",\"status\":\"done\",\"created_at\":1,"
				   "\"updated_at\":2,\"result\":{\"v\":1,\"nonce\":\"x\"}}");
	else if (strcmp(req->params[0], "job_00000000000000000000000000000001") == 0)
		atl_http_resp_text(resp, 200, "application/json",
				   "{\"status\":\"failed\",\"error\":{\"code\":\"enclave_refused\","
				   "\"message\":\"the workload failed\"}}");
	else if (strcmp(req->params[0], "job_00000000000000000000000000000002") == 0)
		atl_http_resp_text(resp, 200, "text/plain", "not json");
	else
		atl_http_resp_error(resp, 404, "not_found", "no such job");
}

static const struct atl_http_route routes[] = {
	{"GET", "/api/v1/confidential/targets", h_targets, 0},
	{"POST", "/api/v1/jobs", h_submit, 0},
	{"GET", "/api/v1/jobs/{id}", h_job, 0},
};

static char *evidence(const char *root, const uint8_t pub[32])
{
	json_t *cfg = json_pack("{s:s}", "sim_root", root);
	uint8_t nonce[32] = {1};
	char *out = NULL;

	assert_int_equal(atl_evidence_produce("sim", cfg, pub, nonce, sizeof(nonce), &out), ATL_OK);
	json_decref(cfg);
	return out;
}

static json_t *make_policy(void)
{
	uint8_t m[48], *pem = NULL;
	char hex[97], path[128];
	size_t len = 0;
	json_t *p;

	snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_PUB_FILE);
	assert_int_equal(atl_file_read(path, 65536, &pem, &len), ATL_OK);
	assert_int_equal(atl_sim_measure("/proc/self/exe", m), ATL_OK);
	assert_int_equal(atl_hex_encode(m, sizeof(m), hex, sizeof(hex)), ATL_OK);
	p = json_pack("{s:[s], s:b, s:i, s:{s:[s]}, s:{s:s}}", "tee_types", "sim", "allow_sim", 1,
		      "max_age_s", 300, "measurements", "sim", hex, "trust_anchors", "sim",
		      (const char *)pem);
	free(pem);
	assert_int_equal(atl_policy_validate(p, NULL, 0), ATL_OK);
	return p;
}

static int setup(void **state)
{
	char *e1, *e2, *e3, *b1 = NULL, *b2 = NULL, kid1[ATL_KEY_ID_LEN], kid2[ATL_KEY_ID_LEN];
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atl_client_remote.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(other, sizeof(other), "%.60s/other", dir);
	if (atl_sim_root_create(other) != ATL_OK)
		return -1;
	/* the root itself: a fresh sub-directory so it is empty */
	{
		char r[96];
		snprintf(r, sizeof(r), "%.60s/root", dir);
		if (atl_sim_root_create(r) != ATL_OK)
			return -1;
		snprintf(dir, sizeof(dir), "%.90s", r);
	}
	if (atl_kp_generate(&ek1) != ATL_OK || atl_kp_generate(&ek2) != ATL_OK ||
	    atl_key_id("ek_", ek1.pub, kid1) != ATL_OK || atl_key_id("ek_", ek2.pub, kid2) != ATL_OK)
		return -1;
	e1 = evidence(dir, ek1.pub);
	e2 = evidence(other, ek2.pub);
	e3 = evidence(dir, ek2.pub);
	if (atl_b64_encode(ek1.pub, 32, ATL_B64_STD, &b1) != ATL_OK ||
	    atl_b64_encode(ek2.pub, 32, ATL_B64_STD, &b2) != ATL_OK)
		return -1;
	if (asprintf(&targets_body,
		     "{\"workload_id\":\"wl\",\"targets\":["
		     "{\"island\":\"good\",\"tee\":\"sim\",\"key_id\":\"%s\",\"enclave_key\":\"%s\","
		     "\"evidence\":%s,\"attested_at\":1,\"age_s\":3},"
		     "{\"island\":\"other-root\",\"tee\":\"sim\",\"key_id\":\"%s\",\"enclave_key\":\"%s\","
		     "\"evidence\":%s,\"attested_at\":1,\"age_s\":3},"
		     "{\"island\":\"liar\",\"tee\":\"sim\",\"key_id\":\"%s\",\"enclave_key\":\"%s\","
		     "\"evidence\":%s,\"attested_at\":1,\"age_s\":3},"
		     "{\"island\":\"bare\\u001b[31m\",\"tee\":\"sim\",\"key_id\":\"%s\"}]}",
		     kid1, b1, e1, kid2, b2, e2, kid1, b2, e3, kid1) < 0)
		return -1;
	free(e1);
	free(e2);
	free(e3);
	free(b1);
	free(b2);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	free(targets_body);
	atl_kp_clear(&ek1);
	atl_kp_clear(&ek2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 5), dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_remote(void **state)
{
	struct atl_http_server *srv = NULL;
	struct atl_client *c = NULL, *bad = NULL;
	struct atl_client_target *t = NULL;
	struct atl_client_job job;
	char url[64], id[ATL_ENV_ID_MAX + 1];
	json_t *pol = make_policy();
	size_t n = 0;
	(void)state;

	assert_int_equal(atl_http_server_start(NULL, routes, 3, NULL, &srv), ATL_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", atl_http_server_port(srv));
	assert_int_equal(atl_client_new(url, "ak_good", &c), ATL_OK);
	assert_int_equal(atl_client_new(url, "ak_bad", &bad), ATL_OK);

	/* targets: one passes, three refused with reasons */
	assert_int_equal(atl_client_targets(c, "wl", 4, pol, atl_time_now(), &t, &n), ATL_OK);
	assert_int_equal(n, 4);
	assert_true(t[0].v.ok);
	assert_memory_equal(t[0].v.pub, ek1.pub, 32);
	assert_false(t[1].v.ok);
	assert_true(t[1].v.why[0] != '\0');
	assert_false(t[2].v.ok);
	assert_non_null(strstr(t[2].v.why, "key_id"));
	assert_false(t[3].v.ok);
	assert_null(strchr(t[3].island, '\x1b')); /* escaped */
	free(t);
	t = NULL;
	/* the default policy (no sim) refuses them all */
	assert_int_equal(atl_client_targets(c, "wl", 4, NULL, atl_time_now(), &t, &n), ATL_OK);
	for (size_t i = 0; i < n; i++)
		assert_false(t[i].v.ok);
	free(t);
	t = NULL;
	/* statuses */
	assert_int_equal(atl_client_targets(bad, "wl", 1, pol, 0, &t, &n), ATL_E_AUTH);
	assert_int_equal(atl_client_last_status(bad), 401);
	assert_non_null(strstr(atl_client_last_error(bad), "401 unauthorized"));
	assert_int_equal(atl_client_targets(c, "nope", 1, pol, 0, &t, &n), ATL_E_NOTFOUND);
	assert_null(t);

	/* submit */
	submit_mode = 0;
	assert_int_equal(atl_client_submit(c, "wl", "ck_x", "{\"v\":1}", id), ATL_OK);
	assert_string_equal(id, "job_0123456789abcdef0123456789abcdef");
	submit_mode = 1;
	assert_int_equal(atl_client_submit(c, "wl", "ck_x", "{\"v\":1}", id), ATL_E_STATE);
	assert_non_null(strstr(atl_client_last_error(c), "no_attested_recipient"));
	assert_null(strchr(atl_client_last_error(c), '\x01'));
	submit_mode = 2;
	assert_int_equal(atl_client_submit(c, "wl", "ck_x", "{\"v\":1}", id), ATL_E_FORMAT);
	assert_string_equal(id, "");
	assert_int_not_equal(atl_client_submit(c, "wl", "ck_x", "not json", id), ATL_OK);

	/* job status */
	assert_int_equal(atl_client_job_get(c, "job_0123456789abcdef0123456789abcdef", &job), ATL_OK);
	assert_string_equal(job.status, "done");
	assert_non_null(job.result);
	atl_client_job_clear(&job);
	assert_int_equal(atl_client_job_get(c, "job_00000000000000000000000000000001", &job), ATL_OK);
	assert_string_equal(job.status, "failed");
	assert_string_equal(job.err_code, "enclave_refused");
	assert_null(job.result);
	atl_client_job_clear(&job);
	assert_int_equal(atl_client_job_get(c, "job_00000000000000000000000000000002", &job),
			 ATL_E_FORMAT);
	assert_int_equal(atl_client_job_get(c, "job_00000000000000000000000000000003", &job),
			 ATL_E_NOTFOUND);
	assert_int_equal(atl_client_job_get(c, "job_/../x", &job), ATL_E_ARG);

	json_decref(pol);
	atl_client_free(c);
	atl_client_free(bad);
	atl_http_server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remote, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
