/* Unit tests for the benchmark-only "null" envelope suite of
 * src/crypto/envelope.c (CMake -DATL_BENCH_PLAINTEXT=ON, bench/platform_path).
 *
 * In a normal build (the only one CTest runs in CI): the seal is always a
 * real suite, and an envelope naming "null-bench-plaintext" (with its
 * plaintext payload) is refused by atl_env_inspect and atl_env_open alike.
 * In an ATL_BENCH_PLAINTEXT build: the null suite round-trips envelopes and
 * results, keeps the replay check, and carries the payload in the clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/secmem.h"

#define T0 1763884800
#define NULL_SUITE "\"suite\":\"null-bench-plaintext\""

static const uint8_t msg[] = "a canary input: 0123456789 abcdefghijklmnopqrstuvwxyz";

static void seal(const struct atl_kp *kp, char **json, size_t *len, uint8_t **dek)
{
	struct atl_env_recipient r = {{0}, "ek_"};

	memcpy(r.pub, kp->pub, sizeof(r.pub));
	assert_int_equal(atl_env_seal(&r, 1, "w1", "ck_test", T0, msg, sizeof(msg), json, len,
				      dek),
			 ATL_OK);
}

#ifndef ATL_BENCH_PLAINTEXT
/* json with its "suite" member replaced by the null suite's name. */
static char *with_null_suite(const char *json)
{
	size_t at = (size_t)(strstr(json, "\"suite\":\"") - json), end = at + 9, n = strlen(json);
	char *out = malloc(n + sizeof(NULL_SUITE));

	assert_non_null(out);
	while (end < n && json[end] != '"')
		end++;
	assert_true(end < n);
	memcpy(out, json, at);
	memcpy(out + at, NULL_SUITE, sizeof(NULL_SUITE) - 1);
	memcpy(out + at + sizeof(NULL_SUITE) - 1, json + end + 1, n - end);
	return out;
}

static void test_normal_build_refuses_null_suite(void **state)
{
	struct atl_kp kp;
	struct atl_env_info info;
	uint8_t *pt = NULL, *dek = NULL;
	size_t len = 0, pt_len = 0;
	char *json = NULL, *forged;

	(void)state;
	assert_int_equal(atl_kp_generate(&kp), ATL_OK);
	seal(&kp, &json, &len, NULL);
	assert_null(strstr(json, "null-bench-plaintext"));
	assert_non_null(strstr(json, "\"suite\":\"x25519-"));
	forged = with_null_suite(json);
	assert_int_equal(atl_env_inspect(forged, strlen(forged), &info), ATL_E_FORMAT);
	assert_int_equal(atl_env_open(forged, strlen(forged), &kp, T0, NULL, &pt, &pt_len, &dek,
				      NULL),
			 ATL_E_FORMAT);
	assert_null(pt);
	assert_null(dek);
	assert_int_equal(pt_len, 0);
	free(forged);
	free(json);
	atl_kp_clear(&kp);
}
#else
static void test_null_suite_round_trip(void **state)
{
	struct atl_kp kp;
	struct atl_env_info info;
	struct atl_env_replay *rp = NULL;
	uint8_t *pt = NULL, *dek = NULL, *dek2 = NULL, *back = NULL;
	size_t len = 0, pt_len = 0, res_len = 0, back_len = 0;
	char *json = NULL, *res = NULL, *b64 = NULL;

	(void)state;
	assert_int_equal(atl_kp_generate(&kp), ATL_OK);
	seal(&kp, &json, &len, &dek);
	assert_non_null(strstr(json, NULL_SUITE));
	/* the payload is in the clear: its first 48 bytes' base64 is in the text */
	assert_int_equal(atl_b64_encode(msg, 48, ATL_B64_STD, &b64), ATL_OK);
	assert_non_null(strstr(json, b64));
	assert_int_equal(atl_env_replay_new(300, 16, &rp), ATL_OK);
	assert_int_equal(atl_env_open(json, len, &kp, T0, rp, &pt, &pt_len, &dek2, &info), ATL_OK);
	assert_int_equal(pt_len, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	assert_memory_equal(dek, dek2, ATL_ENV_DEK_LEN);
	atl_secret_free(pt);
	pt = NULL;
	/* the replay check still runs */
	assert_int_equal(atl_env_open(json, len, &kp, T0, rp, &pt, &pt_len, NULL, NULL),
			 ATL_E_REPLAY);
	assert_null(pt);
	/* results */
	assert_int_equal(atl_env_result_seal(dek2, "job_1", "w1", msg, sizeof(msg), &res,
					     &res_len),
			 ATL_OK);
	assert_non_null(strstr(res, b64));
	assert_int_equal(atl_env_result_open(dek, "job_1", "w1", res, res_len, &back, &back_len),
			 ATL_OK);
	assert_int_equal(back_len, sizeof(msg));
	assert_memory_equal(back, msg, sizeof(msg));
	atl_secret_free(back);
	free(res);
	free(b64);
	atl_secret_free(dek);
	atl_secret_free(dek2);
	atl_env_replay_free(rp);
	free(json);
	atl_kp_clear(&kp);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifndef ATL_BENCH_PLAINTEXT
		cmocka_unit_test(test_normal_build_refuses_null_suite),
#else
		cmocka_unit_test(test_null_suite_round_trip),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
