/* Arm CCA attestation tokens (src/attest/cca.c): both real collections (TF-RMM
 * and trustee's RSE-based one) with the development CPAK, the "cca" backend,
 * NEGATIVE-TESTS.md #34 (realm token not bound to the platform), #35 (realm
 * challenge vs nonce), #1 (flipped bytes) and #7 (truncation), and collection
 * shape errors.
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/sig.h"
#include "attest/backends.h"
#include "attest/cose.h"
#include "attest/psa.h"
#include "attest_hw2_testutil.h"

struct fx {
	struct atl_pubkey *cpak;
	uint8_t *t1, *t2;
	size_t t1_len, t2_len;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t n;
	uint8_t *pem = hw2_read("psa-cca/ccatoken/cca_platform.pub", &n);

	assert_int_equal(atl_pubkey_parse(pem, n, &f->cpak), ATL_OK);
	free(pem);
	f->t1 = hw2_read("psa-cca/ccatoken/cca_token.cbor", &f->t1_len);
	f->t2 = hw2_read("psa-cca/trustee/cca-example-token.cbor", &f->t2_len);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	atl_pubkey_free(f->cpak);
	free(f->t1);
	free(f->t2);
	free(f);
	return 0;
}

static struct atl_ar *run(const uint8_t *tok, size_t len, const struct atl_pubkey *cpak,
			  const uint8_t *nonce, size_t nonce_len, enum atl_err *rc_out)
{
	struct atl_cca_opts o = {.cpaks = &cpak, .n_cpaks = cpak != NULL, .nonce = nonce,
				 .nonce_len = nonce_len};
	struct atl_ar *ar = atl_ar_new("cca");
	enum atl_err rc;

	assert_non_null(ar);
	rc = atl_cca_verify_token(tok, len, &o, ar);
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
	uint8_t ab[64];
	enum atl_err rc;
	struct atl_ar *ar;
	const json_t *cca;

	memset(ab, 0xab, sizeof(ab));
	ar = run(f->t1, f->t1_len, f->cpak, ab, 64, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	cca = atl_ar_get(ar, "cca");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cca, "platform"), "challenge")),
			    "b5973cb68baa9fc55558786b7ec67f69e40df5ba5aa921cd0c27f40587a011ea");
	assert_int_equal(json_array_size(json_object_get(json_object_get(cca, "realm"), "rem")), 4);
	assert_string_equal(json_string_value(atl_ar_get(ar, "measurement")),
			    "0000000000000000000000000000000000000000000000000000000000000000");
	atl_ar_free(ar);

	ar = run(f->t2, f->t2_len, f->cpak, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_int_equal(strlen(json_string_value(atl_ar_get(ar, "measurement"))), 128); /* SHA-512 RIM */
	assert_true(strncmp(json_string_value(atl_ar_get(ar, "measurement")), "ae87fbf7", 8) == 0);
	assert_true(strncmp(json_string_value(atl_ar_get(ar, "report_data")), "57e979ae", 8) == 0);
	atl_ar_free(ar);
}

/* trustee's cpak-pub.json (a JWK) is the same key as cca_platform.pub. */
static void test_trustee_jwk(void **state)
{
	struct fx *f = *state;
	size_t n, xl, yl;
	char *txt = (char *)hw2_read("psa-cca/trustee/cpak-pub.json", &n);
	json_t *j = json_loadb(txt, n, 0, NULL);
	uint8_t *x = NULL, *y = NULL;
	struct atl_pubkey *k = NULL;
	const char *xs, *ys;

	assert_non_null(j);
	xs = json_string_value(json_object_get(j, "x"));
	ys = json_string_value(json_object_get(j, "y"));
	assert_int_equal(atl_b64_decode(xs, strlen(xs), ATL_B64_URL | ATL_B64_NOPAD, &x, &xl), ATL_OK);
	assert_int_equal(atl_b64_decode(ys, strlen(ys), ATL_B64_URL | ATL_B64_NOPAD, &y, &yl), ATL_OK);
	assert_int_equal(xl, 48);
	assert_int_equal(atl_pubkey_from_ec_xy(384, x, y, 48, &k), ATL_OK);
	assert_int_equal(atl_pubkey_equal(k, f->cpak), ATL_OK);
	atl_pubkey_free(k);
	free(x);
	free(y);
	json_decref(j);
	free(txt);
}

static void test_backend(void **state)
{
	struct fx *f = *state;
	const struct atl_tee_ops *ops = atl_tee_find("cca");
	const char *anchors[] = {hw2_path("psa-cca/ccatoken/cca_platform.pub"), NULL};
	struct atl_verify_in in = {.anchors = anchors};
	struct atl_ar *ar;
	size_t n;
	char *pem = (char *)hw2_read("psa-cca/ccatoken/cca_platform.pub", &n);
	json_t *pol;
	uint8_t *ev;
	size_t ev_len;

	assert_non_null(ops);
	assert_int_equal(ops->evidence(NULL, (const uint8_t[64]){0}, &ev, &ev_len), ATL_E_UNSUPPORTED);
	ar = atl_ar_new("cca");
	assert_int_equal(ops->verify(f->t2, f->t2_len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* the CPAK from the policy section */
	pem = realloc(pem, n + 1);
	pem[n] = 0;
	pol = json_pack("{s:[s], s:{s:[s]}}", "tee_types", "cca", "cca", "cpak", pem);
	in.anchors = NULL;
	in.policy = pol;
	ar = atl_ar_new("cca");
	assert_int_equal(ops->verify(f->t1, f->t1_len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	json_decref(pol);
	/* ... as a trust anchor */
	pol = json_pack("{s:[s], s:{s:s}}", "tee_types", "cca", "trust_anchors", "cca", pem);
	in.policy = pol;
	ar = atl_ar_new("cca");
	assert_int_equal(ops->verify(f->t1, f->t1_len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	json_decref(pol);
	/* no CPAK at all */
	in.policy = NULL;
	ar = atl_ar_new("cca");
	assert_int_equal(ops->verify(f->t1, f->t1_len, &in, ar), ATL_OK);
	expect_fail(ar, "cca.cpak");
	/* an unknown policy field */
	pol = json_pack("{s:[s], s:{s:[]}}", "tee_types", "cca", "cca", "cpaks");
	in.policy = pol;
	ar = atl_ar_new("cca");
	assert_int_equal(ops->verify(f->t1, f->t1_len, &in, ar), ATL_E_FORMAT);
	expect_fail(ar, "cca.policy");
	json_decref(pol);
	free(pem);
}

/* The platform token bstr of a real collection (borrowed from *tree). */
static void platform_of(const uint8_t *tok, size_t len, cbor_item_t **tree, const uint8_t **p,
			size_t *n)
{
	uint64_t tag;
	const cbor_item_t *m;

	assert_int_equal(atl_cbor_decode(tok, len, tree), ATL_OK);
	assert_true(atl_cbor_tag(*tree, &tag, &m));
	assert_true(atl_cbor_bstr(atl_cbor_map_int(m, 44234), p, n));
}

/* A realm token with a fresh RAK, signed by it. */
static uint8_t *mk_realm(const struct atl_privkey *rak, const char *rak_hash, size_t *len_out)
{
	static const uint8_t prot[] = {0xa1, 0x01, 0x38, 0x22};
	struct atl_pubkey *pub = NULL;
	uint8_t z[64], *pt = NULL, *claims, *tbs, *sig, *out;
	size_t pt_len, claims_len, tbs_len, sig_len;
	struct atl_wr w;

	memset(z, 0xab, sizeof(z));
	assert_int_equal(atl_privkey_public(rak, &pub), ATL_OK);
	assert_int_equal(atl_pubkey_ec_point(pub, &pt, &pt_len), ATL_OK);
	assert_int_equal(pt_len, 97);
	atl_wr_init(&w, 1 << 16, false);
	hw2_head(&w, 5, 7);
	hw2_int(&w, 10);
	hw2_bstr(&w, z, 64);
	hw2_int(&w, 44235);
	hw2_bstr(&w, z, 64);
	hw2_int(&w, 44236);
	hw2_tstr(&w, "sha-256");
	hw2_int(&w, 44237);
	hw2_bstr(&w, pt, pt_len);
	hw2_int(&w, 44238);
	hw2_bstr(&w, z, 32);
	hw2_int(&w, 44239);
	hw2_head(&w, 4, 4);
	for (int i = 0; i < 4; i++)
		hw2_bstr(&w, z, 32);
	hw2_int(&w, 44240);
	hw2_tstr(&w, rak_hash);
	claims = hw2_take(&w, &claims_len);
	assert_int_equal(atl_cose_sig_structure(prot, sizeof(prot), claims, claims_len, &tbs, &tbs_len),
			 ATL_OK);
	assert_int_equal(atl_sig_sign(rak, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, tbs, tbs_len,
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
	free(pt);
	atl_pubkey_free(pub);
	return out;
}

static uint8_t *mk_collection(uint64_t tag, const uint8_t *plat, size_t plat_len,
			      const uint8_t *realm, size_t realm_len, size_t *len_out)
{
	struct atl_wr w;

	atl_wr_init(&w, 1 << 16, false);
	hw2_head(&w, 6, tag);
	hw2_head(&w, 5, realm != NULL ? 2 : 1);
	hw2_int(&w, 44234);
	hw2_bstr(&w, plat, plat_len);
	if (realm != NULL) {
		hw2_int(&w, 44241);
		hw2_bstr(&w, realm, realm_len);
	}
	return hw2_take(&w, len_out);
}

static void test_binding(void **state)
{
	struct fx *f = *state;
	struct atl_privkey *rak = NULL;
	cbor_item_t *tree = NULL;
	const uint8_t *plat;
	size_t plat_len, realm_len, len;
	uint8_t *realm, *col;
	enum atl_err rc;

	platform_of(f->t1, f->t1_len, &tree, &plat, &plat_len);
	assert_int_equal(atl_privkey_generate_ec(384, &rak), ATL_OK);
	/* #34: a realm token whose RAK is not the one the platform vouches for */
	realm = mk_realm(rak, "sha-256", &realm_len);
	col = mk_collection(399, plat, plat_len, realm, realm_len, &len);
	expect_fail(run(col, len, f->cpak, NULL, 0, &rc), "cca.binding");
	assert_int_equal(rc, ATL_OK);
	free(col);
	/* the same under the current tag 907 */
	col = mk_collection(907, plat, plat_len, realm, realm_len, &len);
	expect_fail(run(col, len, f->cpak, NULL, 0, NULL), "cca.binding");
	free(col);
	/* shape: other tag, missing realm token */
	col = mk_collection(400, plat, plat_len, realm, realm_len, &len);
	expect_fail(run(col, len, f->cpak, NULL, 0, &rc), "cca.platform_claims");
	assert_int_equal(rc, ATL_E_FORMAT);
	free(col);
	col = mk_collection(399, plat, plat_len, NULL, 0, &len);
	expect_fail(run(col, len, f->cpak, NULL, 0, &rc), "cca.platform_claims");
	free(col);
	free(realm);
	/* an unknown RAK hash algorithm */
	realm = mk_realm(rak, "md5", &realm_len);
	col = mk_collection(399, plat, plat_len, realm, realm_len, &len);
	expect_fail(run(col, len, f->cpak, NULL, 0, &rc), "cca.realm_claims");
	assert_int_equal(rc, ATL_E_FORMAT);
	free(col);
	free(realm);
	/* #34 variant: swap the realm tokens of the two real collections; both
	 * carry the same dev RAK, so the binding holds and both verify */
	{
		cbor_item_t *t2 = NULL;
		const cbor_item_t *m;
		uint64_t tag;
		const uint8_t *r2;
		size_t r2_len;

		assert_int_equal(atl_cbor_decode(f->t2, f->t2_len, &t2), ATL_OK);
		assert_true(atl_cbor_tag(t2, &tag, &m));
		assert_true(atl_cbor_bstr(atl_cbor_map_int(m, 44241), &r2, &r2_len));
		col = mk_collection(399, plat, plat_len, r2, r2_len, &len);
		{
			struct atl_ar *ar = run(col, len, f->cpak, NULL, 0, NULL);

			assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
			atl_ar_free(ar);
		}
		free(col);
		atl_cbor_free(t2);
	}
	atl_privkey_free(rak);
	atl_cbor_free(tree);
}

static void test_negatives_real(void **state)
{
	struct fx *f = *state;
	uint8_t nonce[64];
	struct atl_pubkey *iak = NULL;
	size_t n, off;
	uint8_t *pem = hw2_read("psa-cca/psatoken/public.pem", &n), *c;
	static const char perso[] = "The quick brown fox";

	/* #35: realm challenge != expected nonce */
	memset(nonce, 0xab, sizeof(nonce));
	nonce[0] = 0xac;
	expect_fail(run(f->t1, f->t1_len, f->cpak, nonce, 64, NULL), "cca.nonce");
	expect_fail(run(f->t1, f->t1_len, f->cpak, nonce, 32, NULL), "cca.nonce");
	/* wrong CPAK (a P-256 key) */
	assert_int_equal(atl_pubkey_parse(pem, n, &iak), ATL_OK);
	expect_fail(run(f->t1, f->t1_len, iak, NULL, 0, NULL), "cca.platform_signature");
	atl_pubkey_free(iak);
	free(pem);
	/* #1: a byte of the platform claims ("CCA-SSD" profile text) */
	off = hw2_find(f->t1, f->t1_len, "CCA-SSD", 7);
	assert_true(off != SIZE_MAX);
	c = hw2_flip(f->t1, f->t1_len, off, 0x20);
	expect_fail(run(c, f->t1_len, f->cpak, NULL, 0, NULL), "cca.platform_claims");
	free(c);
	off = hw2_find(f->t1, f->t1_len, "whatever.com", 12);
	assert_true(off != SIZE_MAX);
	c = hw2_flip(f->t1, f->t1_len, off, 1);
	expect_fail(run(c, f->t1_len, f->cpak, NULL, 0, NULL), "cca.platform_signature");
	free(c);
	/* a realm claim byte (personalization), and the realm signature */
	off = hw2_find(f->t1, f->t1_len, perso, sizeof(perso) - 1);
	assert_true(off != SIZE_MAX);
	c = hw2_flip(f->t1, f->t1_len, off, 1);
	expect_fail(run(c, f->t1_len, f->cpak, NULL, 0, NULL), "cca.realm_signature");
	free(c);
	c = hw2_flip(f->t1, f->t1_len, f->t1_len - 5, 1);
	expect_fail(run(c, f->t1_len, f->cpak, NULL, 0, NULL), "cca.realm_signature");
	free(c);
	/* #7: truncations */
	for (size_t len = 0; len < f->t1_len; len++) {
		enum atl_err rc;
		struct atl_ar *ar = run(f->t1, len, f->cpak, NULL, 0, &rc);

		assert_int_not_equal(rc, ATL_OK);
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
}

/* Reference values: trustee's rvstore.json (Veraison store format) turned
 * into the policy's cca.platform / cca.realm reference sets. */
static json_t *refs_from_rvstore(void)
{
	size_t n;
	char *txt = (char *)hw2_read("psa-cca/trustee/rvstore.json", &n);
	json_t *rv = json_loadb(txt, n, 0, NULL), *plat = json_array(), *realm = json_array();
	json_t *p, *r, *c;
	size_t i, j;

	assert_non_null(rv);
	json_array_foreach(json_object_get(rv, "platform"), i, p) {
		json_t *comps = json_array();

		json_array_foreach(json_object_get(p, "sw-components"), j, c)
			json_array_append_new(comps, json_pack("{s:O, s:O}", "measurement",
							       json_object_get(c, "measurement-value"),
							       "signer_id", json_object_get(c, "signer-id")));
		json_array_append_new(plat, json_pack("{s:O, s:o}", "implementation_id",
						      json_object_get(p, "implementation-id"),
						      "sw_components", comps));
	}
	json_array_foreach(json_object_get(rv, "realm"), i, r)
		json_array_append_new(realm, json_pack("{s:O, s:O, s:O}", "rim",
						       json_object_get(r, "initial-measurement"), "rem",
						       json_object_get(r, "extensible-measurements"),
						       "personalization",
						       json_object_get(r, "personalization-value")));
	json_decref(rv);
	free(txt);
	return json_pack("{s:o, s:o}", "platform", plat, "realm", realm);
}

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

static void test_reference_values(void **state)
{
	struct fx *f = *state;
	json_t *refs = refs_from_rvstore(), *plat = json_object_get(refs, "platform");
	json_t *realm = json_object_get(refs, "realm");
	struct atl_cca_opts o = {.cpaks = (const struct atl_pubkey *const *)&f->cpak, .n_cpaks = 1,
				 .platform_refs = plat, .realm_refs = realm};
	struct atl_ar *ar = atl_ar_new("cca");
	json_t *comps;

	/* trustee's token against trustee's reference values */
	assert_int_equal(atl_cca_verify_token(f->t2, f->t2_len, &o, ar), ATL_OK);
	assert_int_equal(check_ok(ar, "cca.platform_reference"), 1);
	assert_int_equal(check_ok(ar, "cca.realm_reference"), 1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* the TF-RMM token matches neither */
	ar = atl_ar_new("cca");
	assert_int_equal(atl_cca_verify_token(f->t1, f->t1_len, &o, ar), ATL_OK);
	assert_int_equal(check_ok(ar, "cca.realm_reference"), 0);
	expect_fail(ar, "cca.platform_reference");
	/* one component dropped from the reference */
	comps = json_object_get(json_array_get(plat, 0), "sw_components");
	{
		json_t *saved = json_incref(json_array_get(comps, 3));

		json_array_remove(comps, 3);
		ar = atl_ar_new("cca");
		assert_int_equal(atl_cca_verify_token(f->t2, f->t2_len, &o, ar), ATL_OK);
		expect_fail(ar, "cca.platform_reference");
		json_array_insert_new(comps, 3, saved);
	}
	/* another RIM */
	json_object_set_new(json_array_get(realm, 0), "rim", json_string("00"));
	ar = atl_ar_new("cca");
	assert_int_equal(atl_cca_verify_token(f->t2, f->t2_len, &o, ar), ATL_OK);
	expect_fail(ar, "cca.realm_reference");
	/* malformed reference values */
	json_object_set_new(json_array_get(realm, 0), "rim", json_string("zz"));
	ar = atl_ar_new("cca");
	assert_int_equal(atl_cca_verify_token(f->t2, f->t2_len, &o, ar), ATL_E_FORMAT);
	expect_fail(ar, "cca.realm_reference");
	json_object_set_new(json_array_get(plat, 0), "extra", json_true());
	o.realm_refs = NULL;
	ar = atl_ar_new("cca");
	assert_int_equal(atl_cca_verify_token(f->t2, f->t2_len, &o, ar), ATL_E_FORMAT);
	expect_fail(ar, "cca.platform_reference");
	json_decref(refs);
	/* through the backend's policy section */
	{
		const struct atl_tee_ops *ops = atl_tee_find("cca");
		const char *anchors[] = {hw2_path("psa-cca/ccatoken/cca_platform.pub"), NULL};
		json_t *pol = json_pack("{s:[s], s:o}", "tee_types", "cca", "cca", refs_from_rvstore());
		struct atl_verify_in in = {.anchors = anchors, .policy = pol};

		ar = atl_ar_new("cca");
		assert_int_equal(ops->verify(f->t2, f->t2_len, &in, ar), ATL_OK);
		assert_int_equal(check_ok(ar, "cca.realm_reference"), 1);
		assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
		atl_ar_free(ar);
		json_decref(pol);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_tokens),
		cmocka_unit_test(test_trustee_jwk),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_negatives_real),
		cmocka_unit_test(test_reference_values),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
