/* Unit tests for the enclave workload configuration and measurement
 * (src/enclave/config.c): canonical and stable, every table kind listed
 * (sorted, with limits), each field changes the digest, the measurement is
 * SHA-384(SHA-384(binary) || config digest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "atoll/digest.h"
#include "atoll/enclavecfg.h"
#include "atoll/json.h"

static const struct atl_enclave_config base = {.tee = "tpm", .pcr = 23, .sandbox = true};

static void test_canonical(void **state)
{
	static const char prefix[] = "{\"pcr\":23,\"sandbox\":true,\"tee\":\"tpm\",\"v\":1,"
				     "\"workloads\":[{\"kind\":\"";
	char *a = NULL, *b = NULL;
	json_t *doc = NULL, *arr;
	size_t n_table = 0;

	(void)state;
	assert_int_equal(atl_enclave_config_json(&base, &a), ATL_OK);
	assert_int_equal(atl_enclave_config_json(&base, &b), ATL_OK);
	assert_string_equal(a, b);
	assert_memory_equal(a, prefix, sizeof(prefix) - 1);
	assert_null(strchr(a, ' '));
	assert_null(strchr(a, '\n'));
	/* re-serialising the parsed text gives the same bytes (canonical) */
	assert_int_equal(atl_json_parse(a, strlen(a), &doc), ATL_OK);
	free(b);
	b = atl_json_dump(doc);
	assert_non_null(b);
	assert_string_equal(a, b);
	/* every table kind, sorted, each with non-empty integer limits */
	while (atl_enclave_workload_at(n_table) != NULL)
		n_table++;
	assert_true(n_table >= 2);
	arr = json_object_get(doc, "workloads");
	assert_int_equal(json_array_size(arr), n_table);
	for (size_t i = 0; i < n_table; i++) {
		json_t *e = json_array_get(arr, i), *lim = json_object_get(e, "limits");
		const char *kind = json_string_value(json_object_get(e, "kind"));
		const char *k;
		json_t *v;
		bool in_table = false;

		assert_non_null(kind);
		if (i > 0)
			assert_true(strcmp(json_string_value(json_object_get(
						   json_array_get(arr, i - 1), "kind")),
					   kind) < 0);
		for (size_t j = 0; j < n_table; j++)
			in_table |= strcmp(atl_enclave_workload_at(j)->kind, kind) == 0;
		assert_true(in_table);
		assert_true(json_object_size(lim) > 0);
		json_object_foreach(lim, k, v) {
			assert_true(json_is_integer(v));
			assert_true(json_integer_value(v) > 0);
		}
	}
	assert_non_null(strstr(a, "{\"kind\":\"echo\",\"limits\":{\"input_max\":"));
	json_decref(doc);
	free(a);
	free(b);
}

static void test_digest_fields(void **state)
{
	struct atl_enclave_config v[4] = {base, base, base, base};
	uint8_t d[4][ATL_SHA384_LEN], again[ATL_SHA384_LEN], want[ATL_SHA384_LEN];
	char *txt = NULL;

	(void)state;
	v[1].tee = "sim";
	v[2].pcr = 16;
	v[3].sandbox = false; /* --no-sandbox */
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(atl_enclave_config_digest(&v[i], d[i]), ATL_OK);
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = i + 1; j < 4; j++)
			assert_memory_not_equal(d[i], d[j], ATL_SHA384_LEN);
	}
	/* stable, and the SHA-384 of the canonical text */
	assert_int_equal(atl_enclave_config_digest(&base, again), ATL_OK);
	assert_memory_equal(again, d[0], ATL_SHA384_LEN);
	assert_int_equal(atl_enclave_config_json(&base, &txt), ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA384, txt, strlen(txt), want), ATL_OK);
	assert_memory_equal(want, d[0], ATL_SHA384_LEN);
	free(txt);
	assert_non_null(strstr((atl_enclave_config_json(&v[3], &txt) == ATL_OK ? txt : ""),
			       "\"sandbox\":false"));
	free(txt);
}

static void test_bad_args(void **state)
{
	struct atl_enclave_config c = base;
	uint8_t d[ATL_SHA384_LEN];
	char *txt = (char *)"x";

	(void)state;
	c.pcr = -1;
	assert_int_equal(atl_enclave_config_json(&c, &txt), ATL_E_ARG);
	assert_null(txt);
	c.pcr = 24;
	assert_int_equal(atl_enclave_config_digest(&c, d), ATL_E_ARG);
	c = base;
	c.tee = NULL;
	assert_int_equal(atl_enclave_config_digest(&c, d), ATL_E_ARG);
	c.tee = "";
	assert_int_equal(atl_enclave_config_digest(&c, d), ATL_E_ARG);
	c.tee = "t m";
	assert_int_equal(atl_enclave_config_digest(&c, d), ATL_E_ARG);
	c.tee = "\"tpm\"";
	assert_int_equal(atl_enclave_config_digest(&c, d), ATL_OK); /* escaped, still canonical */
	assert_int_equal(atl_enclave_config_digest(NULL, d), ATL_E_ARG);
}

static void test_measurement(void **state)
{
	char path[] = "/tmp/atoll-enclave-config-XXXXXX";
	uint8_t bin[ATL_SHA384_LEN], cd[ATL_SHA384_LEN], buf[2 * ATL_SHA384_LEN];
	uint8_t want[ATL_SHA384_LEN], got[ATL_SHA384_LEN], other[ATL_SHA384_LEN];
	struct atl_enclave_config ns = base;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "enclave", 7), 7);
	close(fd);
	assert_int_equal(atl_hash(ATL_HASH_SHA384, "enclave", 7, bin), ATL_OK);
	assert_int_equal(atl_enclave_config_digest(&base, cd), ATL_OK);
	memcpy(buf, bin, sizeof(bin));
	memcpy(buf + sizeof(bin), cd, sizeof(cd));
	assert_int_equal(atl_hash(ATL_HASH_SHA384, buf, sizeof(buf), want), ATL_OK);
	assert_int_equal(atl_enclave_measurement_of(bin, &base, got), ATL_OK);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(atl_enclave_measure(path, &base, got), ATL_OK);
	assert_memory_equal(got, want, sizeof(want));
	ns.sandbox = false;
	assert_int_equal(atl_enclave_measure(path, &ns, other), ATL_OK);
	assert_memory_not_equal(other, want, sizeof(want));
	/* not just the binary's hash */
	assert_memory_not_equal(got, bin, sizeof(bin));
	unlink(path);
	assert_int_not_equal(atl_enclave_measure(path, &base, got), ATL_OK);
	assert_int_equal(atl_enclave_measure(NULL, &base, got), ATL_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_digest_fields),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_measurement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
