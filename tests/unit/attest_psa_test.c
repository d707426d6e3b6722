/* Arm PSA attestation tokens (src/attest/psa.c): both real TF-M tokens (2.0
 * and PSA_IOT_PROFILE_1) with the development IAK, the "psa" backend with a
 * policy, NEGATIVE-TESTS.md #1 (flipped payload / r / s), #4 and #36 (nonce
 * mismatch, unknown instance-id), and one re-signed token per claim rule.
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/sig.h"
#include "attest/backends.h"
#include "attest/cose.h"
#include "attest/psa.h"
#include "attest_hw2_testutil.h"

static const uint8_t instance_id[33] = {
	0x01, 0xfa, 0x58, 0x75, 0x5f, 0x65, 0x86, 0x27, 0xce, 0x54, 0x60, 0xf2, 0x9b, 0x75, 0x29, 0x67, 0x13,
	0x24, 0x8c, 0xae, 0x7a, 0xd9, 0xe2, 0x98, 0x4b, 0x90, 0x28, 0x0e, 0xfc, 0xbc, 0xb5, 0x02, 0x48};

struct fx {
	struct atl_pubkey *iak;
	uint8_t *p2, *p1;
	size_t p2_len, p1_len;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t n;
	uint8_t *pem = hw2_read("psa-cca/psatoken/public.pem", &n);

	assert_int_equal(atl_pubkey_parse(pem, n, &f->iak), ATL_OK);
	free(pem);
	f->p2 = hw2_read("psa-cca/psatoken/psa-2_0_0_sign1.bin", &f->p2_len);
	f->p1 = hw2_read("psa-cca/psatoken/psa-iot-1_sign1.bin", &f->p1_len);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	atl_pubkey_free(f->iak);
	free(f->p2);
	free(f->p1);
	free(f);
	return 0;
}

/* Runs the verifier with the IAK registered for `id`; returns the result. */
static struct atl_ar *run(const uint8_t *tok, size_t len, const struct atl_pubkey *key,
			  const uint8_t *id, const uint8_t *nonce, size_t nonce_len, enum atl_err *rc_out)
{
	struct atl_psa_iak iak = {.instance_id = id, .key = key};
	struct atl_psa_opts o = {.iaks = &iak, .n_iaks = key != NULL ? 1 : 0, .nonce = nonce,
				 .nonce_len = nonce_len};
	struct atl_ar *ar = atl_ar_new("psa");
	enum atl_err rc;

	assert_non_null(ar);
	rc = atl_psa_verify_token(tok, len, &o, ar);
	if (rc_out != NULL)
		*rc_out = rc;
	return ar;
}

static void expect_fail(struct atl_ar *ar, const char *check)
{
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_non_null(atl_ar_first_failure(ar));
	assert_string_equal(atl_ar_first_failure(ar), check);
	atl_ar_free(ar);
}

static void test_real_tokens(void **state)
{
	struct fx *f = *state;
	static const uint8_t zero64[64];
	enum atl_err rc;
	struct atl_ar *ar;
	const json_t *psa;

	ar = run(f->p2, f->p2_len, f->iak, instance_id, zero64, 64, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	psa = atl_ar_get(ar, "psa");
	assert_string_equal(json_string_value(json_object_get(psa, "profile")), "http://arm.com/psa/2.0.0");
	assert_string_equal(json_string_value(json_object_get(psa, "lifecycle_state")), "secured");
	assert_int_equal(json_integer_value(json_object_get(psa, "client_id")), 3002);
	assert_int_equal(json_array_size(json_object_get(psa, "sw_components")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(psa, "sw_components"), 0), "type")),
			    "SPE");
	assert_true(json_is_false(atl_ar_get(ar, "debug")));
	assert_int_equal(strlen(json_string_value(atl_ar_get(ar, "report_data"))), 128);
	atl_ar_free(ar);

	ar = run(f->p1, f->p1_len, f->iak, instance_id, zero64, 64, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_string_equal(json_string_value(json_object_get(atl_ar_get(ar, "psa"), "profile")),
			    "PSA_IOT_PROFILE_1");
	atl_ar_free(ar);
}

static void test_backend_policy(void **state)
{
	struct fx *f = *state;
	size_t n;
	char *pem = (char *)hw2_read("psa-cca/psatoken/public.pem", &n);
	const struct atl_tee_ops *ops = atl_tee_find("psa");
	json_t *pol;
	struct atl_verify_in in = {.now = 0};
	struct atl_ar *ar;
	const char *anchors[] = {hw2_path("psa-cca/psatoken/public.pem"), NULL};
	uint8_t *ev;
	size_t ev_len;

	assert_non_null(ops);
	assert_null(ops->detect);
	assert_int_equal(ops->evidence(NULL, (const uint8_t[64]){0}, &ev, &ev_len), ATL_E_UNSUPPORTED);
	pem = realloc(pem, n + 1);
	pem[n] = 0;
	pol = json_pack("{s:[s], s:{s:[{s:s, s:s}]}}", "tee_types", "psa", "psa", "iak", "instance_id",
			"01fa58755f658627ce5460f29b75296713248cae7ad9e2984b90280efcbcb50248", "key", pem);
	assert_non_null(pol);
	in.policy = pol;
	ar = atl_ar_new("psa");
	assert_int_equal(ops->verify(f->p2, f->p2_len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	json_decref(pol);
	/* no policy keys: the anchor file applies to any instance */
	in.policy = NULL;
	in.anchors = anchors;
	ar = atl_ar_new("psa");
	assert_int_equal(ops->verify(f->p1, f->p1_len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* neither: NEGATIVE #36, an explicit failure */
	in.anchors = NULL;
	ar = atl_ar_new("psa");
	assert_int_equal(ops->verify(f->p2, f->p2_len, &in, ar), ATL_OK);
	expect_fail(ar, "psa.iak");
	/* unknown policy field */
	pol = json_pack("{s:[s], s:{s:[]}}", "tee_types", "psa", "psa", "iaks");
	in.policy = pol;
	ar = atl_ar_new("psa");
	assert_int_equal(ops->verify(f->p2, f->p2_len, &in, ar), ATL_E_FORMAT);
	expect_fail(ar, "psa.policy");
	json_decref(pol);
	pol = json_pack("{s:[s], s:{s:[{s:s, s:s}]}}", "tee_types", "psa", "psa", "iak", "instance_id",
			"01fa", "key", pem);
	in.policy = pol;
	ar = atl_ar_new("psa");
	assert_int_equal(ops->verify(f->p2, f->p2_len, &in, ar), ATL_E_FORMAT);
	expect_fail(ar, "psa.policy");
	json_decref(pol);
	free(pem);
}

static void test_negatives_real(void **state)
{
	struct fx *f = *state;
	static const uint8_t other_id[33] = {0x01, 0x02};
	uint8_t wrong_nonce[64];
	struct atl_pubkey *cpak = NULL;
	size_t n, off;
	uint8_t *pem = hw2_read("psa-cca/ccatoken/cca_platform.pub", &n), *c;
	static const uint8_t impl[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

	/* #36: the instance-id has no registered IAK */
	expect_fail(run(f->p2, f->p2_len, f->iak, other_id, NULL, 0, NULL), "psa.iak");
	/* #4: wrong expected nonce */
	memset(wrong_nonce, 0, sizeof(wrong_nonce));
	wrong_nonce[63] = 1;
	expect_fail(run(f->p2, f->p2_len, f->iak, instance_id, wrong_nonce, 64, NULL), "psa.nonce");
	expect_fail(run(f->p2, f->p2_len, f->iak, instance_id, wrong_nonce, 32, NULL), "psa.nonce");
	/* wrong key (a P-384 CPAK) */
	assert_int_equal(atl_pubkey_parse(pem, n, &cpak), ATL_OK);
	expect_fail(run(f->p2, f->p2_len, cpak, instance_id, NULL, 0, NULL), "psa.signature");
	atl_pubkey_free(cpak);
	free(pem);
	/* #1: payload byte (inside the implementation-id), r, s */
	off = hw2_find(f->p2, f->p2_len, impl, sizeof(impl));
	assert_true(off != SIZE_MAX);
	c = hw2_flip(f->p2, f->p2_len, off, 1);
	expect_fail(run(c, f->p2_len, f->iak, instance_id, NULL, 0, NULL), "psa.signature");
	free(c);
	c = hw2_flip(f->p2, f->p2_len, f->p2_len - 64, 1);
	expect_fail(run(c, f->p2_len, f->iak, instance_id, NULL, 0, NULL), "psa.signature");
	free(c);
	c = hw2_flip(f->p2, f->p2_len, f->p2_len - 1, 1);
	expect_fail(run(c, f->p2_len, f->iak, instance_id, NULL, 0, NULL), "psa.signature");
	free(c);
	/* #7: every truncation fails cleanly */
	for (size_t len = 0; len < f->p1_len; len++) {
		enum atl_err rc;
		struct atl_ar *ar = run(f->p1, len, f->iak, instance_id, NULL, 0, &rc);

		assert_int_not_equal(rc, ATL_OK);
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
}

/* ---- re-signed synthetic tokens, one per claim rule ---- */

struct claims_spec {
	int64_t lifecycle;
	size_t nonce_len;     /* 0: omit */
	uint8_t id0;          /* first byte of the instance id */
	bool no_swcomp;
	bool dup_key;
	bool swcomp_no_signer;
	const char *profile;
};

static uint8_t *mk_token(const struct atl_privkey *k, const struct claims_spec *s, size_t *len_out)
{
	static const uint8_t prot[] = {0xa1, 0x01, 0x26};
	uint8_t buf[64], id[33], *claims, *tbs, *sig, *out;
	size_t claims_len, tbs_len, sig_len, n = 8;
	struct atl_wr w;

	memset(buf, 0x5a, sizeof(buf));
	memcpy(id, instance_id, 33);
	id[0] = s->id0;
	atl_wr_init(&w, 1 << 16, false);
	n -= s->nonce_len == 0;
	n -= s->no_swcomp;
	n += s->dup_key;
	hw2_head(&w, 5, n);
	hw2_int(&w, 265);
	hw2_tstr(&w, s->profile != NULL ? s->profile : "http://arm.com/psa/2.0.0");
	if (s->nonce_len != 0) {
		hw2_int(&w, 10);
		hw2_bstr(&w, buf, s->nonce_len);
	}
	hw2_int(&w, 256);
	hw2_bstr(&w, id, 33);
	hw2_int(&w, 2396);
	hw2_bstr(&w, buf, 32);
	hw2_int(&w, 2394);
	hw2_int(&w, 1);
	hw2_int(&w, 2395);
	hw2_int(&w, s->lifecycle);
	hw2_int(&w, 2397);
	hw2_bstr(&w, buf, 32);
	if (!s->no_swcomp) {
		hw2_int(&w, 2399);
		hw2_head(&w, 4, 1);
		hw2_head(&w, 5, s->swcomp_no_signer ? 1 : 2);
		hw2_int(&w, 2);
		hw2_bstr(&w, buf, 32);
		if (!s->swcomp_no_signer) {
			hw2_int(&w, 5);
			hw2_bstr(&w, buf, 32);
		}
	}
	if (s->dup_key) {
		hw2_int(&w, 2394);
		hw2_int(&w, 2);
	}
	claims = hw2_take(&w, &claims_len);
	assert_int_equal(atl_cose_sig_structure(prot, sizeof(prot), claims, claims_len, &tbs, &tbs_len),
			 ATL_OK);
	assert_int_equal(atl_sig_sign(k, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_RAW_RS, tbs, tbs_len,
				      &sig, &sig_len), ATL_OK);
	atl_wr_init(&w, 1 << 16, false);
	hw2_head(&w, 6, 18);
	hw2_head(&w, 4, 4);
	hw2_bstr(&w, prot, sizeof(prot));
	hw2_head(&w, 5, 0);
	hw2_bstr(&w, claims, claims_len);
	hw2_bstr(&w, sig, sig_len);
	out = hw2_take(&w, len_out);
	free(claims);
	free(tbs);
	free(sig);
	return out;
}

static void test_claim_rules(void **state)
{
	(void)state;
	struct atl_privkey *k = NULL;
	struct atl_pubkey *pk = NULL;
	struct claims_spec base = {.lifecycle = 0x3000, .nonce_len = 32, .id0 = 1};
	struct claims_spec s;
	struct atl_ar *ar;
	enum atl_err rc;
	uint8_t *t;
	size_t len;

	assert_int_equal(atl_privkey_generate_ec(256, &k), ATL_OK);
	assert_int_equal(atl_privkey_public(k, &pk), ATL_OK);
	/* the baseline verifies */
	t = mk_token(k, &base, &len);
	ar = run(t, len, pk, instance_id, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	free(t);
	/* a debug lifecycle passes the backend, flagged debug */
	s = base;
	s.lifecycle = 0x4000;
	t = mk_token(k, &s, &len);
	ar = run(t, len, pk, instance_id, NULL, 0, &rc);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_true(json_is_true(atl_ar_get(ar, "debug")));
	atl_ar_free(ar);
	free(t);
	/* non-operational lifecycles fail */
	{
		static const int64_t bad_lc[] = {0x0000, 0x1000, 0x2000, 0x6000, 0x7000};

		for (size_t i = 0; i < sizeof(bad_lc) / sizeof(bad_lc[0]); i++) {
			s = base;
			s.lifecycle = bad_lc[i];
			t = mk_token(k, &s, &len);
			expect_fail(run(t, len, pk, instance_id, NULL, 0, NULL), "psa.lifecycle");
			free(t);
		}
	}
	/* claim-rule violations: each an undecodable token (ATL_E_FORMAT) */
	{
		struct claims_spec bads[8];
		size_t nb = 0;

		bads[nb] = base; bads[nb++].nonce_len = 0;         /* no challenge */
		bads[nb] = base; bads[nb++].nonce_len = 20;        /* wrong size */
		bads[nb] = base; bads[nb++].id0 = 2;               /* not a RAND UEID */
		bads[nb] = base; bads[nb++].no_swcomp = true;      /* P2 needs components */
		bads[nb] = base; bads[nb++].dup_key = true;        /* duplicate claim */
		bads[nb] = base; bads[nb++].swcomp_no_signer = true;
		bads[nb] = base; bads[nb++].profile = "http://arm.com/psa/9.9.9";
		bads[nb] = base; bads[nb++].lifecycle = 0x10000;   /* out of range */
		for (size_t i = 0; i < nb; i++) {
			t = mk_token(k, &bads[i], &len);
			ar = run(t, len, pk, instance_id, NULL, 0, &rc);
			assert_int_equal(rc, ATL_E_FORMAT);
			expect_fail(ar, "psa.claims");
			free(t);
		}
	}
	atl_pubkey_free(pk);
	atl_privkey_free(k);
}

static void test_reference_values(void **state)
{
	struct fx *f = *state;
	json_t *refs = json_pack("[{s:s, s:[{s:s, s:s}, {s:s}]}]", "implementation_id",
				 "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD",
				 "sw_components", "measurement",
				 "087d13c68f32aaafb8c4fc0a2253445432009765e216fb85c398c9580522c1bf",
				 "signer_id",
				 "b360caf5c98c6b942a4882fa9d4823efb166a9ef6a6e4aa37c1919ed1fccc049",
				 "measurement",
				 "96A2EC56C65120A60CE3A53EF8D2082233772AACD5B17935A92BE12AC577F685");
	struct atl_psa_iak iak = {.instance_id = instance_id, .key = f->iak};
	struct atl_psa_opts o = {.iaks = &iak, .n_iaks = 1, .refs = refs};
	struct atl_ar *ar = atl_ar_new("psa");
	json_t *c0;

	/* order-free, case-insensitive, signer optional */
	assert_int_equal(atl_psa_verify_token(f->p2, f->p2_len, &o, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* the P1 token has another SPE measurement */
	ar = atl_ar_new("psa");
	assert_int_equal(atl_psa_verify_token(f->p1, f->p1_len, &o, ar), ATL_OK);
	expect_fail(ar, "psa.reference");
	/* a wrong signer */
	c0 = json_array_get(json_object_get(json_array_get(refs, 0), "sw_components"), 0);
	json_object_set_new(c0, "signer_id", json_string("00"));
	ar = atl_ar_new("psa");
	assert_int_equal(atl_psa_verify_token(f->p2, f->p2_len, &o, ar), ATL_OK);
	expect_fail(ar, "psa.reference");
	/* malformed: not hex, unknown field, empty list */
	json_object_set_new(c0, "signer_id", json_string("0g"));
	ar = atl_ar_new("psa");
	assert_int_equal(atl_psa_verify_token(f->p2, f->p2_len, &o, ar), ATL_E_FORMAT);
	expect_fail(ar, "psa.reference");
	json_decref(refs);
	refs = json_pack("[{s:s}]", "implementation", "00");
	o.refs = refs;
	ar = atl_ar_new("psa");
	assert_int_equal(atl_psa_verify_token(f->p2, f->p2_len, &o, ar), ATL_E_FORMAT);
	expect_fail(ar, "psa.reference");
	json_decref(refs);
	refs = json_array();
	o.refs = refs;
	ar = atl_ar_new("psa");
	assert_int_equal(atl_psa_verify_token(f->p2, f->p2_len, &o, ar), ATL_E_FORMAT);
	expect_fail(ar, "psa.reference");
	json_decref(refs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_tokens),
		cmocka_unit_test(test_backend_policy),
		cmocka_unit_test(test_negatives_real),
		cmocka_unit_test(test_claim_rules),
		cmocka_unit_test(test_reference_values),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
