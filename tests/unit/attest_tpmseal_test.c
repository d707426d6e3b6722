/* Unit tests for the sealed-secret blob parser of the tpm backend
 * (atl_tpm_sealed_parse, src/attest/tpm_seal.c; no TPM needed): a valid
 * blob, every field at and past its limit, truncation at every length,
 * trailing bytes, bad magic, non-printable URI; and atl_tpm_seal's argument
 * checks (no TPM contacted). The seal/unseal round trip on swtpm is
 * tests/integration/kbs_tpm_master.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/limits.h"
#include "atoll/tpm.h"

static size_t build(uint8_t *out, const char *magic, const char *uri, size_t pub_len,
		    size_t priv_len)
{
	size_t o = 0, ul = strlen(uri);

	memcpy(out, magic, 8);
	o = 8;
	out[o++] = (uint8_t)(ul >> 8);
	out[o++] = (uint8_t)ul;
	memcpy(out + o, uri, ul);
	o += ul;
	out[o++] = (uint8_t)(pub_len >> 8);
	out[o++] = (uint8_t)pub_len;
	memset(out + o, 0x11, pub_len);
	o += pub_len;
	out[o++] = (uint8_t)(priv_len >> 8);
	out[o++] = (uint8_t)priv_len;
	memset(out + o, 0x22, priv_len);
	return o + priv_len;
}

static uint8_t buf[2 * ATL_TPM_SEAL_FILE_MAX];

static void test_valid(void **state)
{
	struct atl_tpm_sealed s;
	size_t n = build(buf, "ATLTPMS1", "swtpm:host=127.0.0.1,port=2321", 90, 200);

	(void)state;
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_OK);
	assert_string_equal(s.uri, "swtpm:host=127.0.0.1,port=2321");
	assert_int_equal(s.pub_len, 90);
	assert_int_equal(s.priv_len, 200);
	assert_int_equal(s.pub[0], 0x11);
	assert_int_equal(s.priv[199], 0x22);
	assert_ptr_equal(s.priv + s.priv_len, buf + n);
	/* an empty URI is allowed (the caller names the TPM) */
	n = build(buf, "ATLTPMS1", "", 1, 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_OK);
	assert_string_equal(s.uri, "");
}

static void test_truncated_trailing(void **state)
{
	struct atl_tpm_sealed s;
	size_t n = build(buf, "ATLTPMS1", "device:/dev/tpmrm0", 30, 40);

	(void)state;
	for (size_t k = 0; k < n; k++) {
		assert_int_not_equal(atl_tpm_sealed_parse(buf, k, &s), ATL_OK);
		assert_null(s.pub);
		assert_null(s.priv);
		assert_int_equal(s.uri[0], '\0');
	}
	buf[n] = 0;
	assert_int_equal(atl_tpm_sealed_parse(buf, n + 1, &s), ATL_E_TRAILING);
	assert_int_equal(atl_tpm_sealed_parse(NULL, 0, &s), ATL_E_TRUNCATED);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, NULL), ATL_E_ARG);
}

static void test_fields(void **state)
{
	struct atl_tpm_sealed s;
	char uri[ATL_TPM_SEAL_URI_MAX + 2];
	size_t n;

	(void)state;
	n = build(buf, "ATLTPMS2", "x", 1, 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_FORMAT);
	n = build(buf, "ATLTPMS1", "swtpm: host", 1, 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_FORMAT);
	n = build(buf, "ATLTPMS1", "x", 0, 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_FORMAT);
	n = build(buf, "ATLTPMS1", "x", 1, 0);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_FORMAT);
	memset(uri, 'u', sizeof(uri));
	uri[ATL_TPM_SEAL_URI_MAX] = '\0';
	n = build(buf, "ATLTPMS1", uri, ATL_TPM_PUBLIC_MAX, ATL_TPM_SEAL_PRIV_MAX);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_OK);
	assert_int_equal(strlen(s.uri), ATL_TPM_SEAL_URI_MAX);
	uri[ATL_TPM_SEAL_URI_MAX] = 'u';
	uri[ATL_TPM_SEAL_URI_MAX + 1] = '\0';
	n = build(buf, "ATLTPMS1", uri, 1, 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_LIMIT);
	n = build(buf, "ATLTPMS1", "x", ATL_TPM_PUBLIC_MAX + 1, 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_LIMIT);
	n = build(buf, "ATLTPMS1", "x", 1, ATL_TPM_SEAL_PRIV_MAX + 1);
	assert_int_equal(atl_tpm_sealed_parse(buf, n, &s), ATL_E_LIMIT);
	assert_int_equal(atl_tpm_sealed_parse(buf, ATL_TPM_SEAL_FILE_MAX + 1, &s), ATL_E_LIMIT);
}

static void test_seal_args(void **state)
{
	uint8_t key[32] = {1}, *blob = (uint8_t *)1, out[32];
	size_t len = 7;

	(void)state;
	assert_int_equal(atl_tpm_seal(NULL, key, sizeof(key), &blob, &len), ATL_E_ARG);
	assert_null(blob);
	assert_int_equal(len, 0);
	assert_int_equal(atl_tpm_seal("", key, sizeof(key), &blob, &len), ATL_E_ARG);
	assert_int_equal(atl_tpm_seal("swtpm:", key, 0, &blob, &len), ATL_E_ARG);
	assert_int_equal(atl_tpm_seal("swtpm:", key, ATL_TPM_SEAL_SECRET_MAX + 1, &blob, &len),
			 ATL_E_ARG);
	/* a malformed blob is refused before any TPM is contacted */
	assert_int_equal(atl_tpm_unseal("swtpm:host=127.0.0.1,port=1", (const uint8_t *)"ATL", 3,
					out, sizeof(out), &len),
			 ATL_E_TRUNCATED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_truncated_trailing),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_seal_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
