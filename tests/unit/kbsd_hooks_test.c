/* Unit tests for the broker-core hooks the service uses (src/kbs/broker.c):
 * tenant quotas (set, get, persisted, validated when the state is loaded),
 * the KEK creation time and the rotation schedule (atl_kbs_rotate_due, an
 * older state without creation times is stamped, not rotated), the status
 * summary (no key material), the refusal reason and audit notes. */
/* atl-test-deps: atoll_kbs atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/audit.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/timeutil.h"

static char dir[64];
static int counter;

static int group_setup(void **st)
{
	(void)st;
	strcpy(dir, "/tmp/atl_kbsd_hooksXXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int group_teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void fresh(char *bdir, size_t cap, struct atl_kbs **b)
{
	snprintf(bdir, cap, "%s/k%d", dir, ++counter);
	assert_int_equal(atl_kbs_open(bdir, NULL, b), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(*b, "acme", NULL, NULL), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(*b, "other", NULL, NULL), ATL_OK);
}

/* Rewrites state.json through a jansson edit (the master key stays valid). */
static void edit_state(const char *bdir, void (*fn)(json_t *))
{
	char path[256];
	json_t *s = NULL;
	char *txt;

	snprintf(path, sizeof(path), "%s/%s", bdir, ATL_KBS_STATE_FILE);
	assert_int_equal(atl_json_load_file(path, 1u << 20, &s), ATL_OK);
	fn(s);
	txt = atl_json_dump(s);
	assert_non_null(txt);
	assert_int_equal(atl_file_write(path, txt, strlen(txt), 0600, 0), ATL_OK);
	free(txt);
	json_decref(s);
}

static void test_quota(void **st)
{
	char bdir[128];
	struct atl_kbs *b = NULL;
	uint32_t n = 9, w = 9;

	(void)st;
	fresh(bdir, sizeof(bdir), &b);
	assert_int_equal(atl_kbs_tenant_quota_get(b, "acme", &n, &w), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(w, 0);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "acme", 5, 60), ATL_OK);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "nobody", 5, 60), ATL_E_NOTFOUND);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "acme", 5, 0), ATL_E_ARG);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "acme", 5, ATL_KBS_QUOTA_WINDOW_MAX_S + 1),
			 ATL_E_ARG);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "bad/x", 5, 60), ATL_E_ARG);
	assert_int_equal(atl_kbs_tenant_quota_get(b, "nobody", &n, &w), ATL_E_NOTFOUND);
	atl_kbs_close(b);
	/* persisted */
	assert_int_equal(atl_kbs_open(bdir, NULL, &b), ATL_OK);
	assert_int_equal(atl_kbs_tenant_quota_get(b, "acme", &n, &w), ATL_OK);
	assert_int_equal(n, 5);
	assert_int_equal(w, 60);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "acme", 0, 0), ATL_OK); /* removed */
	assert_int_equal(atl_kbs_tenant_quota_get(b, "acme", &n, &w), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(atl_kbs_tenant_quota_set(b, "acme", 5, 60), ATL_OK);
	atl_kbs_close(b);
}

static void bad_quota(json_t *s)
{
	json_object_set_new(json_object_get(json_object_get(s, "tenants"), "acme"), "quota",
			    json_pack("{s:i, s:i}", "n", 0, "window_s", 60));
}

static void extra_quota_key(json_t *s)
{
	json_object_set_new(json_object_get(json_object_get(s, "tenants"), "acme"), "quota",
			    json_pack("{s:i, s:i, s:i}", "n", 1, "window_s", 60, "x", 1));
}

static void bad_created(json_t *s)
{
	json_object_set_new(json_object_get(json_object_get(s, "tenants"), "acme"), "kek_created",
			    json_string("yesterday"));
}

static void no_created(json_t *s)
{
	json_object_del(json_object_get(json_object_get(s, "tenants"), "acme"), "kek_created");
	json_object_del(json_object_get(json_object_get(s, "tenants"), "other"), "kek_created");
}

static void test_state_validation(void **st)
{
	void (*edits[])(json_t *) = {bad_quota, extra_quota_key, bad_created};
	char bdir[128];
	struct atl_kbs *b = NULL;

	(void)st;
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		fresh(bdir, sizeof(bdir), &b);
		atl_kbs_close(b);
		edit_state(bdir, edits[i]);
		assert_int_equal(atl_kbs_open(bdir, NULL, &b), ATL_E_FORMAT);
		assert_null(b);
	}
}

static void test_rotate_due(void **st)
{
	char bdir[128], path[256];
	struct atl_kbs *b = NULL;
	json_t *s;
	int64_t now = atl_time_now(), created = 0;
	unsigned n = 9;

	(void)st;
	fresh(bdir, sizeof(bdir), &b);
	assert_int_equal(atl_kbs_rotate_due(b, now, 0, &n), ATL_E_ARG);
	assert_int_equal(atl_kbs_rotate_due(b, now, 100, &n), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(atl_kbs_rotate_due(b, now + 100, 100, &n), ATL_OK);
	assert_int_equal(n, 2);
	s = atl_kbs_status(b);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(s, "tenants"), "acme"), "kek_id")),
			    "acme.k2");
	assert_int_equal(atl_json_get_int(json_object_get(json_object_get(s, "tenants"), "acme"),
					  "kek_created", &created),
			 ATL_OK);
	assert_int_equal(created, now + 100);
	/* no key material in the summary */
	{
		char *txt = atl_json_dump(s);
		assert_null(strstr(txt, "wrapped"));
		assert_null(strstr(txt, "nonce"));
		free(txt);
	}
	json_decref(s);
	assert_int_equal(atl_kbs_rotate_due(b, now + 150, 100, &n), ATL_OK);
	assert_int_equal(n, 0);
	atl_kbs_close(b);
	snprintf(path, sizeof(path), "%s/%s", bdir, ATL_KBS_AUDIT_FILE);
	{
		uint8_t *log = NULL;
		size_t len = 0;
		assert_int_equal(atl_file_read(path, 1u << 20, &log, &len), ATL_OK);
		assert_non_null(strstr((char *)log, "scheduled (KEK age 100 s)"));
		free(log);
	}
	/* a state without creation times: stamped with now, not rotated */
	edit_state(bdir, no_created);
	assert_int_equal(atl_kbs_open(bdir, NULL, &b), ATL_OK);
	assert_int_equal(atl_kbs_rotate_due(b, now + 10000, 100, &n), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(atl_kbs_rotate_due(b, now + 10050, 100, &n), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(atl_kbs_rotate_due(b, now + 10100, 100, &n), ATL_OK);
	assert_int_equal(n, 2);
	atl_kbs_close(b);
}

static void test_reason_and_note(void **st)
{
	char bdir[128], path[256];
	struct atl_kbs *b = NULL;
	struct atl_audit_report rep;
	uint8_t nonce[ATL_KBS_NONCE_LEN] = {0};
	char *sealed = NULL;

	(void)st;
	fresh(bdir, sizeof(bdir), &b);
	assert_string_equal(atl_kbs_last_reason(b), "");
	assert_int_equal(atl_kbs_release(b, "acme", "00000000000000000000000000000000",
					 (const uint8_t *)"{}", 2, nonce, sizeof(nonce),
					 atl_time_now(), &sealed),
			 ATL_E_REPLAY);
	assert_non_null(strstr(atl_kbs_last_reason(b), "nonce"));
	assert_int_equal(atl_kbs_audit_note(b, 0, "refuse", "m1", "acme", "quota exceeded"), ATL_OK);
	assert_int_equal(atl_kbs_audit_note(b, 0, "", "m1", "acme", "x"), ATL_E_ARG);
	assert_int_equal(atl_kbs_audit_note(b, 0, "refuse", NULL, "bad/tenant", NULL), ATL_OK);
	atl_kbs_close(b);
	snprintf(path, sizeof(path), "%s/%s", bdir, ATL_KBS_AUDIT_FILE);
	assert_int_equal(atl_audit_verify(path, NULL, &rep), ATL_OK);
	assert_true(rep.n_records >= 5);
	assert_string_equal(atl_kbs_last_reason(NULL), "");
	assert_null(atl_kbs_status(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_state_validation),
		cmocka_unit_test(test_rotate_due),
		cmocka_unit_test(test_reason_and_note),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
