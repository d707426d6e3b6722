/* Unit tests of the coordinator library: operator commands (tokens shown
 * once, stored hashed; errors for taken names, bad names, missing models),
 * start-up refusals (bad policy, bad options), and a started coordinator on
 * an ephemeral loopback port answering /healthz, /metrics and 401s, then
 * stopping cleanly. The whole HTTP flow with enclaves is
 * tests/integration/coordinator_api.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/coordinator.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/store.h"

static char dir[64];
static char db[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atl_coord_ut.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/c.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_tenant_and_island_add(void **state)
{
	char k1[ATL_STORE_TOKEN_LEN], k2[ATL_STORE_TOKEN_LEN], k3[ATL_STORE_TOKEN_LEN];
	struct atl_store *s = NULL;
	struct atl_store_tenant t;
	struct atl_store_island is;
	uint8_t h[ATL_SHA256_LEN];

	(void)state;
	assert_int_equal(atl_coord_tenant_add(db, "alice", k1), ATL_OK);
	assert_memory_equal(k1, "ak_", 3);
	assert_int_equal(strlen(k1), 67);
	assert_int_equal(atl_coord_tenant_add(db, "alice", k2), ATL_E_EXISTS);
	assert_int_equal(atl_coord_tenant_add(db, "bad name", k2), ATL_E_ARG);
	assert_int_equal(atl_coord_tenant_add(db, "", k2), ATL_E_ARG);
	assert_int_equal(atl_coord_island_add(db, "isl-1", k2), ATL_OK);
	assert_memory_equal(k2, "it_", 3);
	/* a refused add leaves no token behind */
	assert_int_equal(atl_coord_island_add(db, "isl-1", k3), ATL_E_EXISTS);
	assert_int_equal(k3[0], 0);
	/* the store finds them by the digest of the shown key */
	assert_int_equal(atl_store_open(db, &s), ATL_OK);
	assert_int_equal(atl_store_token_hash("ak_", k1, h), ATL_OK);
	assert_int_equal(atl_store_tenant_by_key_hash(s, h, &t), ATL_OK);
	assert_string_equal(t.name, "alice");
	assert_int_equal(atl_store_token_hash("it_", k2, h), ATL_OK);
	assert_int_equal(atl_store_island_by_token_hash(s, h, &is), ATL_OK);
	assert_string_equal(is.name, "isl-1");
	atl_store_island_clear(&is);
	atl_store_close(s);
	assert_int_equal(atl_coord_tenant_add(NULL, "x", k1), ATL_E_ARG);
}

static void test_workload_add(void **state)
{
	char model[160], hex[65], want[65];
	uint8_t d[ATL_SHA256_LEN];
	struct atl_store *s = NULL;
	struct atl_store_workload w;

	(void)state;
	snprintf(model, sizeof(model), "%s/model.json", dir);
	assert_int_equal(atl_file_write(model, "{\"w\":[1,2]}", 11, 0600, 0), ATL_OK);
	assert_int_equal(atl_coord_workload_add(db, "clf", "classifier", model, "sim,tpm", hex),
			 ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, "{\"w\":[1,2]}", 11, d), ATL_OK);
	assert_int_equal(atl_hex_encode(d, sizeof(d), want, sizeof(want)), ATL_OK);
	assert_string_equal(hex, want);
	assert_int_equal(atl_coord_workload_add(db, "clf", "classifier", model, "sim", hex),
			 ATL_E_EXISTS);
	assert_int_equal(atl_coord_workload_add(db, "e", "echo", NULL, "sim", hex), ATL_OK);
	assert_int_equal(atl_coord_workload_add(db, "m", "classifier", "/nonexistent/m", "sim",
						hex),
			 ATL_E_NOTFOUND);
	assert_int_equal(atl_coord_workload_add(db, "t", "echo", NULL, "Sim!", hex), ATL_E_ARG);
	assert_int_equal(atl_store_open(db, &s), ATL_OK);
	assert_int_equal(atl_store_workload_get(s, "clf", &w), ATL_OK);
	assert_memory_equal(w.model_sha256, d, sizeof(d));
	assert_true(atl_store_workload_allows_tee(&w, "tpm"));
	assert_int_equal(atl_store_workload_get(s, "e", &w), ATL_OK);
	assert_string_equal(w.model_path, ATL_COORD_NO_MODEL);
	atl_store_close(s);
}

static void test_start_refusals(void **state)
{
	struct atl_coord_opts o = {.listen = "127.0.0.1:0", .db = db};
	struct atl_coord *c = NULL;
	char why[256], pol[160];

	(void)state;
	o.policy_path = "/nonexistent/policy.json";
	assert_int_not_equal(atl_coord_start(&o, &c, why, sizeof(why)), ATL_OK);
	assert_null(c);
	assert_non_null(strstr(why, "policy"));
	snprintf(pol, sizeof(pol), "%s/p.json", dir);
	assert_int_equal(atl_file_write(pol, "{\"tee_types\":[\"sim\"],\"bogus\":1}", 31, 0600, 0),
			 ATL_OK);
	o.policy_path = pol;
	assert_int_not_equal(atl_coord_start(&o, &c, why, sizeof(why)), ATL_OK);
	assert_non_null(strstr(why, "bogus"));
	o.policy_path = NULL;
	o.listen = "10.0.0.1:0"; /* not loopback, no allow_public */
	assert_int_not_equal(atl_coord_start(&o, &c, why, sizeof(why)), ATL_OK);
	o.listen = "127.0.0.1:0";
	o.lease_s = -1;
	assert_int_equal(atl_coord_start(&o, &c, why, sizeof(why)), ATL_E_ARG);
	assert_int_equal(atl_coord_start(NULL, &c, why, sizeof(why)), ATL_E_ARG);
}

static long get(struct atl_http_client *cl, uint16_t port, const char *path, char **body)
{
	char url[128];
	struct atl_http_call call = {.url = url};
	struct atl_http_response r = {0};
	long st;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	if (atl_http_client_do(cl, &call, &r) != ATL_OK)
		return -1;
	st = r.status;
	if (body != NULL)
		*body = r.body != NULL ? strdup((const char *)r.body) : NULL;
	atl_http_response_clear(&r);
	return st;
}

static void test_serve_basics(void **state)
{
	struct atl_coord_opts o = {.listen = "127.0.0.1:0", .db = db, .maint_s = 1};
	struct atl_coord *c = NULL;
	struct atl_http_client *cl = NULL;
	char why[256], *body = NULL;
	uint16_t port;

	(void)state;
	assert_int_equal(atl_coord_start(&o, &c, why, sizeof(why)), ATL_OK);
	port = atl_coord_port(c);
	assert_true(port > 0);
	assert_int_equal(atl_http_client_new(NULL, &cl), ATL_OK);
	assert_int_equal(get(cl, port, "/healthz", &body), 200);
	assert_string_equal(body, "{\"status\":\"ok\"}");
	free(body);
	assert_int_equal(get(cl, port, "/api/v1/confidential/stats", NULL), 401);
	assert_int_equal(get(cl, port, "/api/v1/islands/lease", NULL), 401);
	assert_int_equal(get(cl, port, "/api/v1/jobs/job_0", NULL), 401);
	assert_int_equal(get(cl, port, "/nope", NULL), 404);
	assert_int_equal(get(cl, port, "/metrics", &body), 200);
	assert_non_null(strstr(body, "atoll_jobs{state=\"queued\"} 0"));
	assert_non_null(strstr(body, "method=\"GET\",route=\"/api/v1/confidential/stats\",status=\"401\"} 1"));
	assert_non_null(strstr(body, "atoll_lease_expiries_total 0"));
	free(body);
	atl_http_client_free(cl);
	atl_coord_stop(c);
	atl_coord_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tenant_and_island_add),
		cmocka_unit_test(test_workload_add),
		cmocka_unit_test(test_start_refusals),
		cmocka_unit_test(test_serve_basics),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
