/* The Nitro, PSA, CCA and NVIDIA GPU backends under the dispatcher
 * (atl_verify_evidence): their claims (measurement, debug, issued_at,
 * report_data) fit its appraisal. Real samples cannot bind an Atoll enclave
 * key, so every one ends contraindicated on "report_data" (or on freshness
 * first, for the timeless tokens) while all backend checks pass; the Nitro
 * debug document is refused on "debug" unless the policy allows debug
 * (NEGATIVE-TESTS.md #26 end to end).
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/encoding.h"
#include "atoll/policy.h"
#include "atoll/verify.h"
#include "attest/cbor.h"
#include "attest_hw2_testutil.h"

static const uint8_t ekey[32] = {1, 2, 3};
static const uint8_t nonce[8] = {7, 7, 7, 7, 7, 7, 7, 7};

static char *wrap(const char *tee, const uint8_t *native, size_t len)
{
	char *out = NULL;

	assert_int_equal(atl_evidence_wrap(tee, ekey, nonce, sizeof(nonce), native, len, &out), ATL_OK);
	return out;
}

static json_t *pol(const char *fmt, ...)
{
	va_list ap;
	json_error_t err;
	json_t *p;
	char why[256];

	va_start(ap, fmt);
	p = json_vpack_ex(&err, 0, fmt, ap);
	va_end(ap);
	assert_non_null(p);
	if (atl_policy_validate(p, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "policy: %s\n", why);
		fail();
	}
	return p;
}

/* 0 failed, 1 ok (or a warning), -1 absent */
static int check_ok(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;
	int r = -1;

	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			r = json_is_true(json_object_get(c, "ok"));
	}
	json_decref(j);
	return r;
}

static struct atl_ar *run(const char *w, const json_t *p, int64_t now)
{
	struct atl_ar *ar = NULL;
	enum atl_err rc = atl_verify_evidence((const uint8_t *)w, strlen(w), p, nonce, sizeof(nonce),
					      now, NULL, &ar);

	assert_int_equal(rc, ATL_E_POLICY);
	assert_non_null(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	return ar;
}

static void test_nitro(void **state)
{
	(void)state;
	size_t n, item;
	uint8_t *f = hw2_read("nitro/dstack/nsm-qvl_nitro_attestation.bin", &n);
	char *w;
	json_t *p;
	struct atl_ar *ar;

	assert_int_equal(atl_cbor_item_len(f + 4, n - 4, &item), ATL_OK);
	w = wrap("nitro", f + 4, item);
	p = pol("{s:[s], s:{s:[s]}}", "tee_types", "nitro", "measurements", "nitro",
		"5cb702952ee43b8e1c6a1c0b1c6ee3a08a9b2fe81cfa4cdbc5c7b55e6a6a1d8e2a7e1c6d0a4c2b5f55fab65e67702da6");
	ar = run(w, p, 1766668537);
	assert_int_equal(check_ok(ar, "nitro.chain"), 1);
	assert_int_equal(check_ok(ar, "nitro.signature"), 1);
	assert_int_equal(check_ok(ar, "debug"), 1);
	assert_int_equal(check_ok(ar, "age"), 1);
	/* listed measurement is a made-up PCR0 with the right ends: refused */
	assert_int_equal(check_ok(ar, "measurement"), 0);
	assert_int_equal(check_ok(ar, "report_data"), 0);
	atl_ar_free(ar);
	json_decref(p);
	/* with the real PCR0 listed, only the binding fails */
	{
		const json_t *m;
		char *pcr0;

		p = pol("{s:[s]}", "tee_types", "nitro");
		ar = run(w, p, 1766668537);
		m = json_object_get(json_object_get(atl_ar_get(ar, "nitro"), "pcrs"), "0");
		pcr0 = strdup(json_string_value(m));
		atl_ar_free(ar);
		json_decref(p);
		p = pol("{s:[s], s:{s:[s]}}", "tee_types", "nitro", "measurements", "nitro", pcr0);
		ar = run(w, p, 1766668537);
		assert_int_equal(check_ok(ar, "measurement"), 1);
		assert_string_equal(atl_ar_first_failure(ar), "report_data");
		atl_ar_free(ar);
		/* stale at the policy's max age */
		ar = run(w, p, 1766668537 + 3600);
		assert_string_equal(atl_ar_first_failure(ar), "age");
		atl_ar_free(ar);
		json_decref(p);
		free(pcr0);
	}
	free(w);
	free(f);
	/* #26: the debug document */
	f = hw2_read("nitro/dstack/dstack-attest_nitro_attestation_dbg.bin", &n);
	assert_int_equal(atl_cbor_item_len(f + 4, n - 4, &item), ATL_OK);
	w = wrap("nitro", f + 4, item);
	p = pol("{s:[s], s:{s:[s]}}", "tee_types", "nitro", "measurements", "nitro",
		"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
	ar = run(w, p, 1766650846);
	assert_string_equal(atl_ar_first_failure(ar), "debug");
	atl_ar_free(ar);
	json_decref(p);
	p = pol("{s:[s], s:b, s:{s:[s]}}", "tee_types", "nitro", "allow_debug", 1, "measurements", "nitro",
		"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
	ar = run(w, p, 1766650846);
	assert_int_equal(check_ok(ar, "debug"), 1);
	assert_string_equal(atl_ar_first_failure(ar), "report_data");
	atl_ar_free(ar);
	json_decref(p);
	free(w);
	free(f);
}

static void test_psa_cca(void **state)
{
	(void)state;
	size_t n, kn;
	uint8_t *t = hw2_read("psa-cca/psatoken/psa-2_0_0_sign1.bin", &n);
	char *key = (char *)hw2_read("psa-cca/psatoken/public.pem", &kn), *w;
	json_t *p;
	struct atl_ar *ar;

	key = realloc(key, kn + 1);
	key[kn] = 0;
	w = wrap("psa", t, n);
	p = pol("{s:[s], s:{s:s}}", "tee_types", "psa", "trust_anchors", "psa", key);
	ar = run(w, p, 1766668537);
	assert_int_equal(check_ok(ar, "psa.signature"), 1);
	assert_int_equal(check_ok(ar, "debug"), 1);
	assert_int_equal(check_ok(ar, "report_data"), 0);
	atl_ar_free(ar);
	json_decref(p);
	free(w);
	free(t);
	free(key);

	t = hw2_read("psa-cca/ccatoken/cca_token.cbor", &n);
	key = (char *)hw2_read("psa-cca/ccatoken/cca_platform.pub", &kn);
	key = realloc(key, kn + 1);
	key[kn] = 0;
	w = wrap("cca", t, n);
	p = pol("{s:[s], s:{s:[s]}, s:{s:s}}", "tee_types", "cca", "measurements", "cca",
		"0000000000000000000000000000000000000000000000000000000000000000", "trust_anchors", "cca", key);
	ar = run(w, p, 1766668537);
	assert_int_equal(check_ok(ar, "cca.binding"), 1);
	assert_int_equal(check_ok(ar, "measurement"), 1);
	assert_int_equal(check_ok(ar, "report_data"), 0);
	atl_ar_free(ar);
	json_decref(p);
	free(w);
	free(t);
	free(key);
}

static void test_nvgpu(void **state)
{
	(void)state;
	size_t n1, n2;
	char *hex = (char *)hw2_read("nvidia-gpu/nvtrust/hopperAttestationReport.txt", &n1);
	char *pem = (char *)hw2_read("nvidia-gpu/nvtrust/hopperCertChain.txt", &n2), *ev, *w;
	json_t *j = json_pack("{s:s%, s:s%}", "spdm", hex, n1, "cert_chain", pem, n2), *p;
	struct atl_ar *ar;

	ev = json_dumps(j, JSON_COMPACT);
	w = wrap("nvidia-gpu", (const uint8_t *)ev, strlen(ev));
	p = pol("{s:[s]}", "tee_types", "nvidia-gpu");
	ar = run(w, p, 1767225600);
	assert_int_equal(check_ok(ar, "nvgpu.signature"), 1);
	assert_int_equal(check_ok(ar, "nvgpu.fwid"), 1);
	assert_int_equal(check_ok(ar, "report_data"), 0);
	atl_ar_free(ar);
	json_decref(p);
	json_decref(j);
	free(w);
	free(ev);
	free(hex);
	free(pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nitro),
		cmocka_unit_test(test_psa_cca),
		cmocka_unit_test(test_nvgpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
