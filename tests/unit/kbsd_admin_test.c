/* Unit tests for the key broker service's admin API (src/kbsd/service.c,
 * docs/internals/kbsd.md "Admin API"): the admin token files (created once,
 * mode 0600, the service keeps only the SHA-256), the token check (right,
 * wrong, one byte off, empty, NULL, too long), a malformed hash file, and a
 * real server on 127.0.0.1: 401 without or with a wrong token, status,
 * tenant add, quota, rotation and revocation with it, 400 for malformed
 * bodies, 404 with admin_disabled. */
/* atl-test-deps: atoll_kbs atoll_http atoll_attest atoll_crypto atoll_core */
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

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/kbsd.h"
#include "atoll/secmem.h"

static char dir[64];

static void rm_rf(const char *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atl_kbsd_admin.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static char *read_line(const char *name)
{
	char path[128];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(atl_file_read(path, 4096, &buf, &len), ATL_OK);
	assert_true(len > 0 && buf[len - 1] == '\n');
	buf[len - 1] = '\0';
	return (char *)buf;
}

static void test_token_files(void **state)
{
	uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN], want[ATL_KBSD_ADMIN_HASH_LEN];
	bool created = false;
	char *tok, *hhex, *tok2;

	(void)state;
	assert_int_equal(atl_kbsd_admin_hash_load(dir, hash), ATL_E_NOTFOUND);
	assert_int_equal(atl_kbsd_admin_token_init(dir, &created), ATL_OK);
	assert_true(created);
	tok = read_line(ATL_KBSD_ADMIN_TOKEN_FILE);
	hhex = read_line(ATL_KBSD_ADMIN_HASH_FILE);
	assert_int_equal(strlen(tok), ATL_KBSD_ADMIN_TOKEN_HEX);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, tok, strlen(tok), want), ATL_OK);
	assert_int_equal(atl_kbsd_admin_hash_load(dir, hash), ATL_OK);
	assert_memory_equal(hash, want, sizeof(hash));
	assert_int_equal(atl_hex_decode_exact(hhex, strlen(hhex), hash, sizeof(hash)), ATL_OK);
	assert_memory_equal(hash, want, sizeof(hash));
	/* a second init keeps the token */
	assert_int_equal(atl_kbsd_admin_token_init(dir, &created), ATL_OK);
	assert_false(created);
	tok2 = read_line(ATL_KBSD_ADMIN_TOKEN_FILE);
	assert_string_equal(tok, tok2);
	assert_true(atl_kbsd_admin_check(hash, tok));
	free(tok);
	free(tok2);
	free(hhex);
}

static void test_token_check(void **state)
{
	uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN];
	char tok[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char big[ATL_KBSD_ADMIN_TOKEN_MAX + 2];

	(void)state;
	assert_int_equal(atl_hash(ATL_HASH_SHA256, tok, strlen(tok), hash), ATL_OK);
	assert_true(atl_kbsd_admin_check(hash, tok));
	tok[10] ^= 1;
	assert_false(atl_kbsd_admin_check(hash, tok));
	tok[10] ^= 1;
	tok[strlen(tok) - 1] = '\0'; /* a prefix */
	assert_false(atl_kbsd_admin_check(hash, tok));
	assert_false(atl_kbsd_admin_check(hash, ""));
	assert_false(atl_kbsd_admin_check(hash, NULL));
	assert_false(atl_kbsd_admin_check(NULL, "x"));
	/* the longest accepted token, and one byte more */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[ATL_KBSD_ADMIN_TOKEN_MAX] = '\0';
	assert_int_equal(atl_hash(ATL_HASH_SHA256, big, ATL_KBSD_ADMIN_TOKEN_MAX, hash), ATL_OK);
	assert_true(atl_kbsd_admin_check(hash, big));
	big[ATL_KBSD_ADMIN_TOKEN_MAX] = 'a';
	assert_false(atl_kbsd_admin_check(hash, big));
}

static void test_hash_file_malformed(void **state)
{
	char path[128];
	uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN];
	bool created = true;
	static const char *const bad[] = {"", "abc\n", "zz",
					  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00\n"};

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, ATL_KBSD_ADMIN_HASH_FILE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(atl_file_write(path, bad[i], strlen(bad[i]), 0600, 0), ATL_OK);
		assert_int_equal(atl_kbsd_admin_hash_load(dir, hash), ATL_E_FORMAT);
		/* init never replaces a malformed hash file */
		assert_int_equal(atl_kbsd_admin_token_init(dir, &created), ATL_E_FORMAT);
		assert_false(created);
	}
}

/* One request; returns the HTTP status, *ans the JSON answer (may be NULL). */
static long call(const char *bearer, uint16_t port, const char *method, const char *ep,
		 const char *body_txt, json_t **ans)
{
	struct atl_http_client_opts co = {0};
	struct atl_http_client *c = NULL;
	json_t *body = NULL;
	char url[128];
	long st = 0;

	*ans = NULL;
	co.bearer = bearer;
	assert_int_equal(atl_http_client_new(&co, &c), ATL_OK);
	if (body_txt != NULL)
		assert_int_equal(atl_json_parse(body_txt, strlen(body_txt), &body), ATL_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/kbs/v0/admin/%s", (unsigned)port, ep);
	assert_int_equal(atl_http_client_json(c, method, url, body, &st, ans), ATL_OK);
	json_decref(body);
	atl_http_client_free(c);
	return st;
}

static void test_server(void **state)
{
	struct atl_kbsd_opts o = {0};
	struct atl_kbsd *d = NULL;
	json_t *ans = NULL;
	char *tok;
	uint16_t port;

	(void)state;
	o.dir = dir;
	assert_int_equal(atl_kbsd_start(&o, &d), ATL_OK); /* creates the token */
	port = atl_kbsd_port(d);
	tok = read_line(ATL_KBSD_ADMIN_TOKEN_FILE);

	assert_int_equal(call(NULL, port, "GET", "status", NULL, &ans), 401);
	json_decref(ans);
	assert_int_equal(call("wrong", port, "GET", "status", NULL, &ans), 401);
	json_decref(ans);
	assert_int_equal(call("wrong", port, "POST", "tenant", "{\"tenant\":\"t1\"}", &ans), 401);
	json_decref(ans);
	assert_int_equal(call(tok, port, "GET", "status", NULL, &ans), 200);
	assert_null(json_object_get(json_object_get(ans, "tenants"), "t1"));
	json_decref(ans);

	assert_int_equal(call(tok, port, "POST", "tenant", "{\"tenant\":\"t1\"}", &ans), 200);
	assert_string_equal(json_string_value(json_object_get(ans, "kek_id")), "t1.k1");
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "tenant", "{\"tenant\":\"t1\"}", &ans), 409);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "tenant", "{\"tenant\":\"a/b\"}", &ans), 400);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "rotate", "{\"tenant\":\"t1\"}", &ans), 200);
	assert_string_equal(json_string_value(json_object_get(ans, "kek_id")), "t1.k2");
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "rotate", "{\"tenant\":\"nobody\"}", &ans), 404);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "quota",
			      "{\"tenant\":\"t1\",\"n\":5,\"window_s\":60}", &ans), 200);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "quota", "{\"tenant\":\"t1\",\"n\":5}", &ans),
			 400);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "quota",
			      "{\"tenant\":\"t1\",\"n\":-1,\"window_s\":60}", &ans), 400);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "revoke",
			      "{\"measurement\":\"00112233445566778899aabbccddeeff\"}", &ans), 200);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "revoke",
			      "{\"model_id\":\"0123456789abcdef0123456789abcdef\"}", &ans), 404);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "revoke",
			      "{\"model_id\":\"0123456789abcdef0123456789abcdef\","
			      "\"measurement\":\"00\"}", &ans), 400);
	json_decref(ans);
	assert_int_equal(call(tok, port, "POST", "revoke", "{\"extra\":1}", &ans), 400);
	json_decref(ans);
	assert_int_equal(call(tok, port, "GET", "status", NULL, &ans), 200);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(ans, "tenants"), "t1"), "kek_id")),
			    "t1.k2");
	assert_int_equal(json_array_size(json_object_get(ans, "revoked_measurements")), 1);
	json_decref(ans);
	atl_kbsd_stop(d);

	/* admin_disabled: 404 even with the token */
	o.admin_disabled = true;
	assert_int_equal(atl_kbsd_start(&o, &d), ATL_OK);
	port = atl_kbsd_port(d);
	assert_int_equal(call(tok, port, "GET", "status", NULL, &ans), 404);
	json_decref(ans);
	atl_kbsd_stop(d);
	atl_wipe(tok, strlen(tok));
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_files, setup, teardown),
		cmocka_unit_test(test_token_check),
		cmocka_unit_test_setup_teardown(test_hash_file_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
