/* Unit tests for src/attest/policy.c: a full valid policy and its getters, the
 * NULL (no policy) defaults, and one negative per validation rule: unknown
 * fields at every level Atoll defines (the reason names the field), wrong
 * types, bad hex, empty and oversized lists, out-of-range max_age_s, size
 * limit, invalid JSON, and control bytes in names (escaped in the reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/limits.h"
#include "atoll/policy.h"

static const char *const good =
	"{\"tee_types\":[\"sim\",\"sev-snp\"],"
	"\"measurements\":{\"sim\":[\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677\"],"
	"\"sev-snp\":[\"AABB\"]},"
	"\"min_tcb\":{\"sev-snp\":{\"snp\":8}},"
	"\"allow_debug\":false,\"max_age_s\":120,\"allow_sim\":true,"
	"\"trust_anchors\":{\"sim\":\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\","
	"\"sev-snp\":[\"-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----\\n\"]},"
	"\"tpm\":{\"pcrs\":[0]},\"require_gpu\":false}";

static enum atl_err parse(const char *s, json_t **p, char *why, size_t cap)
{
	return atl_policy_parse(s, strlen(s), p, why, cap);
}

static void test_valid_and_getters(void **st)
{
	json_t *p = NULL;
	char why[256];

	(void)st;
	assert_int_equal(parse(good, &p, why, sizeof(why)), ATL_OK);
	assert_string_equal(why, "");
	assert_true(atl_policy_lists_tee(p, "sim"));
	assert_true(atl_policy_lists_tee(p, "sev-snp"));
	assert_false(atl_policy_lists_tee(p, "tdx"));
	assert_true(atl_policy_allow_sim(p));
	assert_false(atl_policy_allow_debug(p));
	assert_false(atl_policy_require_gpu(p));
	assert_int_equal(atl_policy_max_age(p), 120);
	assert_non_null(atl_policy_measurements(p, "sim"));
	assert_null(atl_policy_measurements(p, "tdx"));
	assert_true(atl_policy_measurement_listed(p, "sev-snp", "aabb"));
	assert_true(atl_policy_measurement_listed(p, "sev-snp", "AABB"));
	assert_false(atl_policy_measurement_listed(p, "sev-snp", "aabc"));
	assert_false(atl_policy_measurement_listed(p, "tdx", "aabb"));
	assert_int_equal(atl_policy_anchor_count(p, "sim"), 1);
	assert_non_null(atl_policy_anchor(p, "sim", 0));
	assert_null(atl_policy_anchor(p, "sim", 1));
	assert_int_equal(atl_policy_anchor_count(p, "sev-snp"), 1);
	assert_int_equal(atl_policy_anchor_count(p, "tdx"), 0);
	assert_non_null(atl_policy_min_tcb(p, "sev-snp"));
	assert_null(atl_policy_min_tcb(p, "sim"));
	assert_non_null(atl_policy_section(p, "tpm"));
	assert_null(atl_policy_section(p, "nitro"));
	json_decref(p);
}

static void test_null_defaults(void **st)
{
	json_t *p = NULL;

	(void)st;
	assert_false(atl_policy_lists_tee(NULL, "sim"));
	assert_false(atl_policy_allow_sim(NULL));
	assert_false(atl_policy_allow_debug(NULL));
	assert_int_equal(atl_policy_max_age(NULL), ATL_POLICY_MAX_AGE_DEFAULT);
	assert_null(atl_policy_measurements(NULL, "sim"));
	assert_int_equal(atl_policy_anchor_count(NULL, "sim"), 0);
	/* minimal policy: defaults */
	assert_int_equal(parse("{\"tee_types\":[\"tdx\"]}", &p, NULL, 0), ATL_OK);
	assert_false(atl_policy_allow_sim(p));
	assert_int_equal(atl_policy_max_age(p), ATL_POLICY_MAX_AGE_DEFAULT);
	json_decref(p);
	assert_true(atl_policy_is_tee_name("nvidia-gpu"));
	assert_false(atl_policy_is_tee_name("SIM"));
	assert_false(atl_policy_is_tee_name(NULL));
}

struct bad {
	const char *doc;
	enum atl_err rc;
	const char *why_has; /* substring the reason must contain */
};

static const struct bad bads[] = {
	{"{\"tee_types\":[\"sim\"],\"alow_sim\":true}", ATL_E_FORMAT, "unknown field 'alow_sim'"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":{\"simm\":[\"00\"]}}", ATL_E_FORMAT,
	 "measurements: unknown TEE kind 'simm'"},
	{"{\"tee_types\":[\"sim\"],\"trust_anchors\":{\"x\":\"-----BEGIN \"}}", ATL_E_FORMAT,
	 "trust_anchors: unknown TEE kind 'x'"},
	{"{\"tee_types\":[\"sim\"],\"min_tcb\":{\"y\":{}}}", ATL_E_FORMAT,
	 "min_tcb: unknown TEE kind 'y'"},
	{"{\"tee_types\":[\"simx\"]}", ATL_E_FORMAT, "tee_types[0]: unknown TEE kind 'simx'"},
	{"{}", ATL_E_FORMAT, "tee_types is required"},
	{"[]", ATL_E_FORMAT, "must be a JSON object"},
	{"{\"tee_types\":[]}", ATL_E_FORMAT, "tee_types must not be empty"},
	{"{\"tee_types\":\"sim\"}", ATL_E_FORMAT, "tee_types must be an array"},
	{"{\"tee_types\":[1]}", ATL_E_FORMAT, "tee_types[0] must be a string"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":[]}", ATL_E_FORMAT,
	 "measurements must be an object"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":{\"sim\":[]}}", ATL_E_FORMAT,
	 "measurements.sim must not be empty"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":{\"sim\":[\"0g\"]}}", ATL_E_FORMAT,
	 "measurements.sim[0] must be hex"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":{\"sim\":[\"012\"]}}", ATL_E_FORMAT,
	 "measurements.sim[0] must be hex"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":{\"sim\":[\"\"]}}", ATL_E_FORMAT,
	 "measurements.sim[0] must be hex"},
	{"{\"tee_types\":[\"sim\"],\"measurements\":{\"sim\":[7]}}", ATL_E_FORMAT,
	 "measurements.sim[0] must be a string"},
	{"{\"tee_types\":[\"sim\"],\"min_tcb\":{\"sim\":1}}", ATL_E_FORMAT,
	 "min_tcb.sim must be an object"},
	{"{\"tee_types\":[\"sim\"],\"trust_anchors\":{\"sim\":\"abc\"}}", ATL_E_FORMAT,
	 "trust_anchors.sim[0] is not PEM"},
	{"{\"tee_types\":[\"sim\"],\"trust_anchors\":{\"sim\":[5]}}", ATL_E_FORMAT,
	 "trust_anchors.sim[0] must be a PEM string"},
	{"{\"tee_types\":[\"sim\"],\"trust_anchors\":{\"sim\":[]}}", ATL_E_FORMAT,
	 "trust_anchors.sim must not be empty"},
	{"{\"tee_types\":[\"sim\"],\"allow_sim\":1}", ATL_E_FORMAT, "allow_sim must be true or false"},
	{"{\"tee_types\":[\"sim\"],\"allow_debug\":\"no\"}", ATL_E_FORMAT,
	 "allow_debug must be true or false"},
	{"{\"tee_types\":[\"sim\"],\"require_gpu\":null}", ATL_E_FORMAT,
	 "require_gpu must be true or false"},
	{"{\"tee_types\":[\"sim\"],\"max_age_s\":0}", ATL_E_FORMAT, "max_age_s must be an integer"},
	{"{\"tee_types\":[\"sim\"],\"max_age_s\":-5}", ATL_E_FORMAT, "max_age_s must be an integer"},
	{"{\"tee_types\":[\"sim\"],\"max_age_s\":1.5}", ATL_E_FORMAT, "max_age_s must be an integer"},
	{"{\"tee_types\":[\"sim\"],\"max_age_s\":99999999}", ATL_E_FORMAT,
	 "max_age_s must be an integer"},
	{"{\"tee_types\":[\"sim\"],\"tpm\":[]}", ATL_E_FORMAT, "tpm must be an object"},
	{"{\"tee_types\":[\"sim\"],\"x\\u0001y\":1}", ATL_E_FORMAT, "unknown field 'x\\x01y'"},
	{"{\"tee_types\":[\"sim\"]", ATL_E_FORMAT, "not valid JSON"},
	{"{\"tee_types\":[\"sim\"]} x", ATL_E_FORMAT, "not valid JSON"},
	{"{\"tee_types\":[\"sim\"],\"tee_types\":[\"sim\"]}", ATL_E_FORMAT, "not valid JSON"},
	{"", ATL_E_FORMAT, "not valid JSON"},
};

static void test_negatives(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		json_t *p = (json_t *)1;
		char why[256];
		enum atl_err rc = parse(bads[i].doc, &p, why, sizeof(why));

		if (rc != bads[i].rc || strstr(why, bads[i].why_has) == NULL)
			fail_msg("case %zu (%s): rc %d why '%s'", i, bads[i].doc, rc, why);
		assert_null(p);
	}
}

static void test_limits(void **st)
{
	json_t *p = NULL;
	char why[256];
	size_t n = ATL_ATTEST_LIST_MAX + 1, cap = 32 + n * 6;
	char *doc = malloc(cap), *q;

	(void)st;
	assert_non_null(doc);
	q = doc + sprintf(doc, "{\"tee_types\":[");
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "%s\"sim\"", i ? "," : "");
	strcpy(q, "]}");
	assert_int_equal(parse(doc, &p, why, sizeof(why)), ATL_E_LIMIT);
	assert_non_null(strstr(why, "more than"));
	free(doc);

	/* measurement longer than ATL_ATTEST_MEAS_MAX bytes */
	cap = 128 + 2 * (ATL_ATTEST_MEAS_MAX + 1);
	doc = malloc(cap);
	assert_non_null(doc);
	q = doc + sprintf(doc, "{\"tee_types\":[\"sim\"],\"measurements\":{\"sim\":[\"");
	for (size_t i = 0; i < ATL_ATTEST_MEAS_MAX + 1; i++)
		q += sprintf(q, "ab");
	strcpy(q, "\"]}}");
	assert_int_equal(parse(doc, &p, why, sizeof(why)), ATL_E_FORMAT);
	free(doc);

	/* whole document too large: refused before parsing */
	cap = ATL_ATTEST_POLICY_MAX + 2;
	doc = malloc(cap);
	assert_non_null(doc);
	memset(doc, ' ', cap);
	assert_int_equal(atl_policy_parse(doc, cap, &p, why, sizeof(why)), ATL_E_LIMIT);
	assert_null(p);
	free(doc);

	/* a small why buffer is truncated, never overrun */
	assert_int_equal(parse("{\"tee_types\":[\"sim\"],\"unknownfield\":1}", &p, why, 8),
			 ATL_E_FORMAT);
	assert_int_equal(strlen(why), 7);
}

static void test_load(void **st)
{
	json_t *p = NULL;
	char why[256];
	char path[] = "/tmp/atl_policy_testXXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	(void)st;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(good, f);
	fclose(f);
	assert_int_equal(atl_policy_load(path, &p, why, sizeof(why)), ATL_OK);
	json_decref(p);
	unlink(path);
	assert_int_equal(atl_policy_load(path, &p, why, sizeof(why)), ATL_E_NOTFOUND);
	assert_non_null(strstr(why, "not found"));
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_getters), cmocka_unit_test(test_null_defaults),
		cmocka_unit_test(test_negatives),         cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
