/* Unit tests for src/client/: the key store (modes, listing, loading,
 * deletion, tampered files), local verification verdicts, sealing to
 * verified targets plus the client key, and reopening a result from the job
 * record (the data key is recovered, never stored). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/client.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atl_client_test.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_dir_resolution(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(atl_client_dir("/x/y", out, sizeof(out)), ATL_OK);
	assert_string_equal(out, "/x/y");
	setenv("ATOLL_KEYS", "/from/env", 1);
	assert_int_equal(atl_client_dir(NULL, out, sizeof(out)), ATL_OK);
	assert_string_equal(out, "/from/env");
	unsetenv("ATOLL_KEYS");
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	assert_int_equal(atl_client_dir(NULL, out, sizeof(out)), ATL_OK);
	assert_string_equal(out, "/cfg/atoll");
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(atl_client_dir("/x/y", out, 3), ATL_E_LIMIT);
}

static void test_key_store(void **state)
{
	char kid[ATL_KEY_ID_LEN], kid2[ATL_KEY_ID_LEN], got[ATL_KEY_ID_LEN], path[256];
	struct atl_client_key_info *list = NULL;
	struct atl_kp kp = {0};
	struct stat st;
	size_t n = 99;
	(void)state;

	assert_int_equal(atl_client_key_list(dir, &list, &n), ATL_OK); /* no store yet */
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(atl_client_key_load(dir, NULL, &kp, got), ATL_E_NOTFOUND);
	assert_int_equal(atl_client_key_create(dir, kid), ATL_OK);
	assert_true(atl_client_id_ok(kid, "ck_"));
	snprintf(path, sizeof(path), "%s/keys/%s.json", dir, kid);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(atl_client_key_create(dir, kid2), ATL_OK);
	assert_int_equal(atl_client_key_list(dir, &list, &n), ATL_OK);
	assert_int_equal(n, 2);
	free(list);
	assert_int_equal(atl_client_key_load(dir, kid, &kp, got), ATL_OK);
	assert_string_equal(got, kid);
	assert_non_null(kp.priv);
	{
		char again[ATL_KEY_ID_LEN];
		assert_int_equal(atl_key_id("ck_", kp.pub, again), ATL_OK);
		assert_string_equal(again, kid);
	}
	atl_kp_clear(&kp);
	/* a default exists */
	assert_int_equal(atl_client_key_load(dir, NULL, &kp, got), ATL_OK);
	atl_kp_clear(&kp);
	/* malformed ids */
	assert_int_equal(atl_client_key_load(dir, "ck_../../etc", &kp, got), ATL_E_ARG);
	assert_int_equal(atl_client_key_delete(dir, "ek_00000000000000000000000000000000"),
			 ATL_E_ARG);
	/* a file whose key is not its id is refused and skipped by list */
	{
		char p2[256];
		snprintf(p2, sizeof(p2), "%s/keys/%s.json", dir, kid2);
		assert_int_equal(rename(p2, path), 0); /* kid's name, kid2's contents */
		assert_int_equal(atl_client_key_load(dir, kid, &kp, got), ATL_E_FORMAT);
		assert_null(kp.priv);
		assert_int_equal(atl_client_key_list(dir, &list, &n), ATL_OK);
		assert_int_equal(n, 0);
		free(list);
	}
	assert_int_equal(atl_client_key_delete(dir, kid), ATL_OK);
	assert_int_equal(atl_client_key_delete(dir, kid), ATL_E_NOTFOUND);
	assert_int_equal(atl_client_key_delete(dir, kid2), ATL_E_NOTFOUND);
}

static void test_verify_refuses_garbage(void **state)
{
	struct atl_client_verdict v;
	const char *w = "{\"v\":1}";
	(void)state;
	assert_int_equal(atl_client_verify((const uint8_t *)w, strlen(w), NULL, NULL, 0,
					   atl_time_now(), &v),
			 ATL_OK);
	assert_false(v.ok);
	assert_string_equal(v.status, "contraindicated");
	assert_true(v.why[0] != '\0');
}

static void test_seal_record_open(void **state)
{
	struct atl_client_target t[2];
	struct atl_kp ek = {0}, ck = {0}, probe = {0};
	char kid[ATL_KEY_ID_LEN], *env = NULL, *res = NULL;
	const char *job = "job_0123456789abcdef0123456789abcdef";
	uint8_t *dek = NULL, *pt = NULL, *in = NULL;
	size_t env_len = 0, res_len = 0, pt_len = 0, in_len = 0;
	const char msg[] = "confidential input";
	(void)state;

	memset(t, 0, sizeof(t));
	assert_int_equal(atl_kp_generate(&ek), ATL_OK);
	assert_int_equal(atl_client_key_create(dir, kid), ATL_OK);
	assert_int_equal(atl_client_key_load(dir, kid, &ck, NULL), ATL_OK);
	/* no accepted target: nothing sealed */
	assert_int_equal(atl_client_seal(t, 2, &ck, "wl", atl_time_now(), (const uint8_t *)msg,
					 strlen(msg), &env, &env_len, &dek),
			 ATL_E_POLICY);
	assert_null(env);
	t[1].v.ok = true;
	memcpy(t[1].v.pub, ek.pub, sizeof(ek.pub));
	assert_int_equal(atl_client_seal(t, 2, &ck, "wl", atl_time_now(), (const uint8_t *)msg,
					 strlen(msg), &env, &env_len, &dek),
			 ATL_OK);
	/* the enclave opens it, and so does the client key */
	assert_int_equal(atl_env_open(env, env_len, &ek, atl_time_now(), NULL, &in, &in_len, NULL,
				      NULL),
			 ATL_OK);
	assert_memory_equal(in, msg, strlen(msg));
	atl_secret_free(in);
	/* the enclave's result opens from the record alone */
	assert_int_equal(atl_env_result_seal(dek, job, "wl", (const uint8_t *)"out", 3, &res,
					     &res_len),
			 ATL_OK);
	assert_int_equal(atl_client_open_result(dir, job, res, res_len, &pt, &pt_len),
			 ATL_E_NOTFOUND); /* no record yet */
	assert_int_equal(atl_client_record_save(dir, job, "wl", kid, "http://127.0.0.1:1", env),
			 ATL_OK);
	assert_int_equal(atl_client_open_result(dir, job, res, res_len, &pt, &pt_len), ATL_OK);
	assert_int_equal(pt_len, 3);
	assert_memory_equal(pt, "out", 3);
	atl_secret_free(pt);
	{
		char url[64];
		assert_int_equal(atl_client_record_coordinator(dir, job, url, sizeof(url)), ATL_OK);
		assert_string_equal(url, "http://127.0.0.1:1");
	}
	/* a result for another job id does not open */
	res[strlen(res) - 3] ^= 1;
	assert_int_not_equal(atl_client_open_result(dir, job, res, res_len, &pt, &pt_len), ATL_OK);
	assert_null(pt);
	assert_int_equal(atl_client_open_result(dir, "job_x", res, res_len, &pt, &pt_len),
			 ATL_E_ARG);
	atl_kp_clear(&probe);
	atl_kp_clear(&ek);
	atl_kp_clear(&ck);
	atl_secret_free(dek);
	free(env);
	free(res);
}

static void test_client_args(void **state)
{
	struct atl_client *c = NULL;
	(void)state;
	assert_int_equal(atl_client_new("ftp://x", "ak", &c), ATL_E_ARG);
	assert_int_equal(atl_client_new("http://127.0.0.1:1", "", &c), ATL_E_ARG);
	assert_int_equal(atl_client_new("http://a b", "k", &c), ATL_E_ARG);
	assert_int_equal(atl_client_new("http://127.0.0.1:1/", "k", &c), ATL_OK);
	{
		struct atl_client_target *l = NULL;
		size_t n = 0;
		assert_int_equal(atl_client_targets(c, "bad/../wl", 1, NULL, 0, &l, &n), ATL_E_ARG);
		/* nothing listens on port 1 */
		assert_int_equal(atl_client_targets(c, "wl", 1, NULL, 0, &l, &n), ATL_E_IO);
		assert_int_equal(atl_client_last_status(c), 0);
		assert_non_null(strstr(atl_client_last_error(c), "cannot reach"));
	}
	atl_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_resolution),
		cmocka_unit_test_setup_teardown(test_key_store, setup, teardown),
		cmocka_unit_test(test_verify_refuses_garbage),
		cmocka_unit_test_setup_teardown(test_seal_record_open, setup, teardown),
		cmocka_unit_test(test_client_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
