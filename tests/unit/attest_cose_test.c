/* Strict CBOR (src/attest/cbor.c) and COSE_Sign1 (src/attest/cose.c): every
 * error each can return, the real PSA token (ES256) and a CCA platform token
 * (ES384), and NEGATIVE-TESTS.md #1 (flipped body / r / s) and #3 (empty
 * signature, unknown alg, missing alg).
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "atoll/limits.h"
#include "atoll/sig.h"
#include "attest/cbor.h"
#include "attest/cose.h"
#include "attest_hw2_testutil.h"

static enum atl_err dec(const uint8_t *p, size_t n)
{
	cbor_item_t *it = NULL;
	enum atl_err rc = atl_cbor_decode(p, n, &it);

	if (rc == ATL_OK)
		assert_non_null(it);
	else
		assert_null(it);
	atl_cbor_free(it);
	return rc;
}

static void test_cbor_wellformed(void **state)
{
	(void)state;
	static const uint8_t ok1[] = {0xa2, 0x01, 0x02, 0x61, 'a', 0x80};      /* {1:2,"a":[]} */
	static const uint8_t indef_map[] = {0xbf, 0x01, 0x02, 0x03, 0x04, 0xff};
	static const uint8_t indef_bstr[] = {0x81, 0x5f, 0x42, 1, 2, 0x41, 3, 0xff};
	static const uint8_t tagged[] = {0xd2, 0x80};
	static const uint8_t simple[] = {0x83, 0xf4, 0xf5, 0xf6};
	static const uint8_t fl[] = {0xf9, 0x3c, 0x00};
	cbor_item_t *it = NULL;
	const uint8_t *p;
	size_t n;

	assert_int_equal(dec(ok1, sizeof(ok1)), ATL_OK);
	assert_int_equal(dec(indef_map, sizeof(indef_map)), ATL_OK);
	assert_int_equal(dec(tagged, sizeof(tagged)), ATL_OK);
	assert_int_equal(dec(simple, sizeof(simple)), ATL_OK);
	assert_int_equal(dec(fl, sizeof(fl)), ATL_OK);
	/* indefinite byte strings are flattened into a definite one */
	assert_int_equal(atl_cbor_decode(indef_bstr, sizeof(indef_bstr), &it), ATL_OK);
	assert_true(atl_cbor_bstr(atl_cbor_array_at(it, 0), &p, &n));
	assert_int_equal(n, 3);
	assert_int_equal(p[2], 3);
	atl_cbor_free(it);
	/* item length ignores what follows */
	assert_int_equal(atl_cbor_item_len(ok1, sizeof(ok1) - 1, &n), ATL_E_TRUNCATED);
	{
		uint8_t buf[8] = {0x82, 0x01, 0x02, 0xde, 0xad};

		assert_int_equal(atl_cbor_item_len(buf, 5, &n), ATL_OK);
		assert_int_equal(n, 3);
		assert_int_equal(dec(buf, 5), ATL_E_TRAILING);
	}
}

static void test_cbor_malformed(void **state)
{
	(void)state;
	static const uint8_t reserved[] = {0x1c};              /* ai 28 */
	static const uint8_t brk[] = {0xff};                   /* break outside */
	static const uint8_t brk2[] = {0x82, 0x01, 0xff};      /* break in a definite array */
	static const uint8_t odd_map[] = {0xbf, 0x01, 0xff};   /* key without value */
	static const uint8_t mixed[] = {0x5f, 0x61, 'a', 0xff}; /* tstr chunk in a bstr */
	static const uint8_t nested_indef[] = {0x5f, 0x5f, 0xff, 0xff};
	static const uint8_t indef_int[] = {0x1f};
	static const uint8_t simple_un[] = {0xf0};             /* unassigned simple 16 */
	static const uint8_t simple24[] = {0xf8, 0x20};
	static const uint8_t dup_int[] = {0xa2, 0x01, 0x00, 0x01, 0x00};
	static const uint8_t dup_str[] = {0xa2, 0x61, 'k', 0x00, 0x61, 'k', 0x01};
	static const uint8_t dup_indef_key[] = {0xa2, 0x62, 'a', 'b', 0x00, 0x7f, 0x61, 'a', 0x61, 'b', 0xff, 0x01};
	static const uint8_t bad_key[] = {0xa1, 0x80, 0x00};  /* array as key */
	static const uint8_t huge_len[] = {0x5a, 0xff, 0xff, 0xff, 0xff, 0x00};
	static const uint8_t huge_arr[] = {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t huge_map[] = {0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0};
	uint8_t deep[ATL_CBOR_DEPTH_MAX + 2];
	uint8_t *many;
	size_t n = ATL_CBOR_ITEMS_MAX + 2;

	assert_int_equal(dec(reserved, sizeof(reserved)), ATL_E_FORMAT);
	assert_int_equal(dec(brk, sizeof(brk)), ATL_E_FORMAT);
	assert_int_equal(dec(brk2, sizeof(brk2)), ATL_E_FORMAT);
	assert_int_equal(dec(odd_map, sizeof(odd_map)), ATL_E_FORMAT);
	assert_int_equal(dec(mixed, sizeof(mixed)), ATL_E_FORMAT);
	assert_int_equal(dec(nested_indef, sizeof(nested_indef)), ATL_E_FORMAT);
	assert_int_equal(dec(indef_int, sizeof(indef_int)), ATL_E_FORMAT);
	assert_int_equal(dec(simple_un, sizeof(simple_un)), ATL_E_FORMAT);
	assert_int_equal(dec(simple24, sizeof(simple24)), ATL_E_FORMAT);
	assert_int_equal(dec(dup_int, sizeof(dup_int)), ATL_E_FORMAT);
	assert_int_equal(dec(dup_str, sizeof(dup_str)), ATL_E_FORMAT);
	assert_int_equal(dec(dup_indef_key, sizeof(dup_indef_key)), ATL_E_FORMAT);
	assert_int_equal(dec(bad_key, sizeof(bad_key)), ATL_E_FORMAT);
	assert_int_equal(dec(huge_len, sizeof(huge_len)), ATL_E_TRUNCATED);
	assert_int_equal(dec(huge_arr, sizeof(huge_arr)), ATL_E_TRUNCATED);
	assert_int_equal(dec(huge_map, sizeof(huge_map)), ATL_E_TRUNCATED);
	assert_int_equal(dec(NULL, 0), ATL_E_TRUNCATED);
	/* depth: ATL_CBOR_DEPTH_MAX nested arrays pass, one more is refused */
	memset(deep, 0x81, sizeof(deep));
	deep[ATL_CBOR_DEPTH_MAX] = 0x00;
	assert_int_equal(dec(deep, ATL_CBOR_DEPTH_MAX + 1), ATL_OK);
	deep[ATL_CBOR_DEPTH_MAX] = 0x81;
	deep[ATL_CBOR_DEPTH_MAX + 1] = 0x00;
	assert_int_equal(dec(deep, ATL_CBOR_DEPTH_MAX + 2), ATL_E_LIMIT);
	/* item count */
	many = calloc(n + 8, 1);
	assert_non_null(many);
	many[0] = 0x9f;
	memset(many + 1, 0x00, n);
	many[n + 1] = 0xff;
	assert_int_equal(dec(many, n + 2), ATL_E_LIMIT);
	free(many);
}

static void test_cbor_accessors(void **state)
{
	(void)state;
	/* {1: -7, "k": h'0102', -75000: "x", 2: [0, 1]} */
	static const uint8_t m[] = {0xa4, 0x01, 0x26, 0x61, 'k', 0x42, 1, 2, 0x3a, 0x00, 0x01, 0x24, 0xf7,
				    0x61, 'x', 0x02, 0x82, 0x00, 0x01};
	cbor_item_t *it = NULL;
	int64_t v, bad;
	uint64_t u;
	const uint8_t *p;
	const char *s;
	size_t n;
	static const int64_t keys[] = {1, 2, -75000};

	assert_int_equal(atl_cbor_decode(m, sizeof(m), &it), ATL_OK);
	assert_true(atl_cbor_int(atl_cbor_map_int(it, 1), &v));
	assert_int_equal(v, -7);
	assert_false(atl_cbor_uint(atl_cbor_map_int(it, 1), &u));
	assert_true(atl_cbor_bstr(atl_cbor_map_str(it, "k"), &p, &n));
	assert_int_equal(n, 2);
	assert_true(atl_cbor_tstr(atl_cbor_map_int(it, -75000), &s, &n));
	assert_true(atl_cbor_tstr_eq(atl_cbor_map_int(it, -75000), "x"));
	assert_int_equal(atl_cbor_array_len(atl_cbor_map_int(it, 2)), 2);
	assert_null(atl_cbor_array_at(atl_cbor_map_int(it, 2), 2));
	assert_null(atl_cbor_map_int(it, 3));
	assert_false(atl_cbor_map_keys_in(it, keys, 3, &bad)); /* "k" is a text key */
	atl_cbor_free(it);
}

/* ---- COSE ---- */

/* COSE_Sign1 [prot, unprot, payload, sig] from parts; prot is the encoded map. */
static uint8_t *mk_sign1(bool tag, const uint8_t *prot, size_t prot_len, const uint8_t *unprot,
			 size_t unprot_len, const uint8_t *payload, size_t payload_len,
			 const uint8_t *sig, size_t sig_len, size_t *len_out)
{
	struct atl_wr w;

	atl_wr_init(&w, 1u << 20, false);
	if (tag)
		hw2_head(&w, 6, 18);
	hw2_head(&w, 4, 4);
	hw2_bstr(&w, prot, prot_len);
	hw2_raw(&w, unprot, unprot_len);
	if (payload == NULL)
		hw2_raw(&w, "\xf6", 1);
	else
		hw2_bstr(&w, payload, payload_len);
	hw2_bstr(&w, sig, sig_len);
	return hw2_take(&w, len_out);
}

/* Signs a fresh COSE_Sign1 with key k (alg from prot). */
static uint8_t *sign_new(const struct atl_privkey *k, enum atl_sig_alg alg, const uint8_t *prot,
			 size_t prot_len, const uint8_t *unprot, size_t unprot_len, size_t *len_out)
{
	static const uint8_t payload[] = {0xa1, 0x0a, 0x41, 0x00};
	uint8_t *tbs, *sig, *out;
	size_t tbs_len, sig_len;

	assert_int_equal(atl_cose_sig_structure(prot, prot_len, payload, sizeof(payload), &tbs,
						&tbs_len), ATL_OK);
	assert_int_equal(atl_sig_sign(k, alg, ATL_SIG_FMT_RAW_RS, tbs, tbs_len, &sig, &sig_len),
			 ATL_OK);
	out = mk_sign1(true, prot, prot_len, unprot, unprot_len, payload, sizeof(payload), sig,
		       sig_len, len_out);
	free(tbs);
	free(sig);
	return out;
}

static enum atl_err parse_verify(const uint8_t *buf, size_t len, const struct atl_pubkey *pk)
{
	struct atl_cose_sign1 s;
	enum atl_err rc = atl_cose_sign1_parse(buf, len, &s);

	if (rc != ATL_OK)
		return rc;
	rc = atl_cose_sign1_verify(&s, pk);
	atl_cose_sign1_free(&s);
	return rc;
}

static void test_cose_psa_real(void **state)
{
	(void)state;
	size_t len, klen;
	uint8_t *tok = hw2_read("psa-cca/psatoken/psa-2_0_0_sign1.bin", &len);
	uint8_t *pem = hw2_read("psa-cca/psatoken/public.pem", &klen);
	struct atl_pubkey *pk = NULL;
	struct atl_cose_sign1 s;

	assert_int_equal(atl_pubkey_parse(pem, klen, &pk), ATL_OK);
	assert_int_equal(atl_cose_sign1_parse(tok, len, &s), ATL_OK);
	assert_int_equal(s.alg, ATL_COSE_ALG_ES256);
	assert_true(s.tagged);
	assert_int_equal(s.sig_len, 64);
	assert_int_equal(atl_cose_sign1_verify(&s, pk), ATL_OK);
	atl_cose_sign1_free(&s);

	/* NEGATIVE #1: flip a payload byte, r, s */
	{
		size_t offs[] = {40, len - 64 + 3, len - 32 + 3};

		for (size_t i = 0; i < 3; i++) {
			uint8_t *c = hw2_flip(tok, len, offs[i], 1);

			assert_int_equal(parse_verify(c, len, pk), ATL_E_AUTH);
			free(c);
		}
	}
	/* truncated anywhere: never OK */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(parse_verify(tok, n, pk), ATL_OK);
	/* COSE_Mac0 (tag 17) is not a COSE_Sign1 */
	{
		size_t mlen;
		uint8_t *mac = hw2_read("psa-cca/psatoken/psa-2_0_0_mac0.bin", &mlen);
		struct atl_cose_sign1 m;

		assert_int_equal(atl_cose_sign1_parse(mac, mlen, &m), ATL_E_FORMAT);
		free(mac);
	}
	atl_pubkey_free(pk);
	free(tok);
	free(pem);
}

static void test_cose_generated(void **state)
{
	(void)state;
	static const uint8_t es256[] = {0xa1, 0x01, 0x26};
	static const uint8_t es384[] = {0xa1, 0x01, 0x38, 0x22};
	static const uint8_t es512[] = {0xa1, 0x01, 0x38, 0x23};
	static const uint8_t unknown[] = {0xa1, 0x01, 0x39, 0x03, 0xe6};  /* -999 */
	static const uint8_t textalg[] = {0xa1, 0x01, 0x65, 'E', 'S', '2', '5', '6'};
	static const uint8_t noalg[] = {0xa1, 0x03, 0x00};
	static const uint8_t crit[] = {0xa2, 0x01, 0x26, 0x02, 0x81, 0x03};
	static const uint8_t empty_map[] = {0xa0};
	static const uint8_t unprot_alg[] = {0xa1, 0x01, 0x26};
	static const uint8_t unprot_kid[] = {0xa1, 0x04, 0x41, 0x07};
	struct atl_privkey *k256 = NULL, *k384 = NULL;
	struct atl_pubkey *p256 = NULL, *p384 = NULL;
	uint8_t *b;
	size_t len;

	assert_int_equal(atl_privkey_generate_ec(256, &k256), ATL_OK);
	assert_int_equal(atl_privkey_generate_ec(384, &k384), ATL_OK);
	assert_int_equal(atl_privkey_public(k256, &p256), ATL_OK);
	assert_int_equal(atl_privkey_public(k384, &p384), ATL_OK);

	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, es256, sizeof(es256), unprot_kid,
		     sizeof(unprot_kid), &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_OK);
	assert_int_equal(parse_verify(b, len, p384), ATL_E_AUTH); /* wrong key type */
	free(b);
	b = sign_new(k384, ATL_SIG_ECDSA_P384_SHA384, es384, sizeof(es384), empty_map,
		     sizeof(empty_map), &len);
	assert_int_equal(parse_verify(b, len, p384), ATL_OK);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_AUTH);
	free(b);
	/* alg label also in the unprotected bucket */
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, es256, sizeof(es256), unprot_alg,
		     sizeof(unprot_alg), &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_FORMAT);
	free(b);
	/* NEGATIVE #3: unknown alg, text alg, missing alg, crit; an ES256
	 * signature under an ES512 header (wrong size for P-521: not authentic) */
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, unknown, sizeof(unknown), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_UNSUPPORTED);
	free(b);
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, es512, sizeof(es512), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_AUTH);
	free(b);
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, textalg, sizeof(textalg), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_FORMAT);
	free(b);
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, noalg, sizeof(noalg), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_FORMAT);
	free(b);
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, crit, sizeof(crit), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_FORMAT);
	free(b);
	b = sign_new(k256, ATL_SIG_ECDSA_P256_SHA256, empty_map, 0, empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_FORMAT); /* empty protected */
	free(b);
	/* NEGATIVE #3: empty signature; detached payload; wrong tag; wrong shape */
	b = mk_sign1(false, es256, sizeof(es256), empty_map, 1, (const uint8_t *)"x", 1, NULL, 0,
		     &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_AUTH);
	free(b);
	b = mk_sign1(false, es256, sizeof(es256), empty_map, 1, NULL, 0, (const uint8_t *)"s", 1,
		     &len);
	assert_int_equal(parse_verify(b, len, p256), ATL_E_UNSUPPORTED);
	free(b);
	{
		static const uint8_t tag61[] = {0xd8, 0x3d, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0x40, 0x40};
		static const uint8_t three[] = {0x83, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0x40};
		static const uint8_t unprot_not_map[] = {0x84, 0x43, 0xa1, 0x01, 0x26, 0x80, 0x40, 0x40};
		static const uint8_t prot_not_map[] = {0x84, 0x41, 0x80, 0xa0, 0x40, 0x40};
		struct atl_cose_sign1 s;

		assert_int_equal(atl_cose_sign1_parse(tag61, sizeof(tag61), &s), ATL_E_FORMAT);
		assert_int_equal(atl_cose_sign1_parse(three, sizeof(three), &s), ATL_E_FORMAT);
		assert_int_equal(atl_cose_sign1_parse(unprot_not_map, sizeof(unprot_not_map), &s),
				 ATL_E_FORMAT);
		assert_int_equal(atl_cose_sign1_parse(prot_not_map, sizeof(prot_not_map), &s),
				 ATL_E_FORMAT);
		/* fuzzer find: a float where the payload goes (libcbor asserted) */
		{
			static const uint8_t float_payload[] = {0x84, 0x44, 0x43, 0x9f, 0x9f, 0x26, 0xa0,
								0xfa, 0xff, 0xff, 0xff, 0x40, 0x40};
			static const uint8_t half_payload[] = {0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0,
							       0xf9, 0x3c, 0x00, 0x40};

			assert_int_equal(atl_cose_sign1_parse(float_payload, sizeof(float_payload), &s),
					 ATL_E_FORMAT);
			assert_int_equal(atl_cose_sign1_parse(half_payload, sizeof(half_payload), &s),
					 ATL_E_FORMAT);
		}
	}
	atl_pubkey_free(p256);
	atl_pubkey_free(p384);
	atl_privkey_free(k256);
	atl_privkey_free(k384);
}

/* A fixed P-521 test key (generated with `openssl ecparam -name secp521r1
 * -genkey | openssl pkcs8 -topk8 -nocrypt`; it protects nothing). */
static const char p521_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIAIX9h7Ju1L8SSXyeO\n"
	"GviM84cvqBpmeYWYMqam4rW0QoyZt6TfZuIhyj8Z4AJmKDEW4u4ELRsxABDV54+O\n"
	"Dw7nBrihgYkDgYYABADjC6jf78e1oAGzjUn8f6VQje5cwxKR8r3/SitZL4JE9nNJ\n"
	"A23a4mqTyRf+gtUst8pkMmunXfRtDK3cHXET7NBgTQBaahDUrUx+UTewNjgcUwdn\n"
	"ZJjW+3dzqtwAv5ICSE1K8/Rj62qlG7dCqvbLR8OcJBUoBtw87giPIf1KM/uIz9lk\n"
	"uA==\n"
	"-----END PRIVATE KEY-----\n";

/* ES512: ECDSA P-521 with SHA-512 in sig.h (both signature formats, SPKI
 * round trip) and in COSE_Sign1 (sign here, verify, tamper -> ATL_E_AUTH). */
static void test_es512(void **state)
{
	(void)state;
	static const uint8_t es512[] = {0xa1, 0x01, 0x38, 0x23};
	static const uint8_t es384[] = {0xa1, 0x01, 0x38, 0x22};
	static const uint8_t empty_map[] = {0xa0};
	static const uint8_t msg[] = "attested";
	struct atl_privkey *k521 = NULL, *k384 = NULL;
	struct atl_pubkey *p521 = NULL, *p384 = NULL, *again = NULL;
	uint8_t *sig = NULL, *der = NULL, *pt = NULL, *b;
	size_t sig_len = 0, der_len = 0, pt_len = 0, len;

	assert_int_equal(atl_privkey_parse((const uint8_t *)p521_pem, sizeof(p521_pem) - 1, &k521),
			 ATL_OK);
	assert_int_equal(atl_privkey_public(k521, &p521), ATL_OK);
	assert_int_equal(atl_privkey_generate_ec(384, &k384), ATL_OK);
	assert_int_equal(atl_privkey_public(k384, &p384), ATL_OK);
	/* sig.h: raw r||s is 2 x 66 bytes; DER verifies too; SPKI and the point round-trip */
	assert_int_equal(atl_sig_sign(k521, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_RAW_RS, msg,
				      sizeof(msg), &sig, &sig_len), ATL_OK);
	assert_int_equal(sig_len, 132);
	assert_int_equal(atl_sig_verify(p521, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_RAW_RS, msg,
					sizeof(msg), sig, sig_len), ATL_OK);
	sig[131] ^= 1;
	assert_int_equal(atl_sig_verify(p521, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_RAW_RS, msg,
					sizeof(msg), sig, sig_len), ATL_E_AUTH);
	assert_int_equal(atl_sig_verify(p521, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_RAW_RS, msg,
					sizeof(msg), sig, 128), ATL_E_FORMAT);
	assert_int_equal(atl_sig_verify(p384, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_RAW_RS, msg,
					sizeof(msg), sig, sig_len), ATL_E_ARG);
	assert_int_equal(atl_sig_verify(p521, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg,
					sizeof(msg), sig, 96), ATL_E_ARG);
	free(sig);
	assert_int_equal(atl_sig_sign(k521, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_DER, msg,
				      sizeof(msg), &sig, &sig_len), ATL_OK);
	assert_int_equal(atl_sig_verify(p521, ATL_SIG_ECDSA_P521_SHA512, ATL_SIG_FMT_DER, msg,
					sizeof(msg), sig, sig_len), ATL_OK);
	free(sig);
	assert_int_equal(atl_pubkey_to_der(p521, &der, &der_len), ATL_OK);
	assert_int_equal(atl_pubkey_parse(der, der_len, &again), ATL_OK);
	assert_int_equal(atl_pubkey_equal(p521, again), ATL_OK);
	assert_int_equal(atl_pubkey_ec_point(p521, &pt, &pt_len), ATL_OK);
	assert_int_equal(pt_len, 133);
	assert_int_equal(pt[0], 0x04);
	free(der);
	free(pt);

	/* COSE_Sign1 ES512 */
	b = sign_new(k521, ATL_SIG_ECDSA_P521_SHA512, es512, sizeof(es512), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p521), ATL_OK);
	assert_int_equal(parse_verify(b, len, again), ATL_OK);
	assert_int_equal(parse_verify(b, len, p384), ATL_E_AUTH); /* wrong key type */
	b[len - 1] ^= 0x80; /* last byte of s */
	assert_int_equal(parse_verify(b, len, p521), ATL_E_AUTH);
	b[len - 1] ^= 0x80;
	b[len - 133 - 2] ^= 1; /* the payload's last byte, just before the signature bstr head */
	assert_int_equal(parse_verify(b, len, p521), ATL_E_AUTH);
	free(b);
	/* a P-521 signature under an ES384 header, and a P-384 one under ES512 */
	b = sign_new(k521, ATL_SIG_ECDSA_P521_SHA512, es384, sizeof(es384), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p521), ATL_E_AUTH);
	free(b);
	b = sign_new(k384, ATL_SIG_ECDSA_P384_SHA384, es512, sizeof(es512), empty_map, 1, &len);
	assert_int_equal(parse_verify(b, len, p384), ATL_E_AUTH);
	free(b);
	atl_pubkey_free(again);
	atl_pubkey_free(p521);
	atl_pubkey_free(p384);
	atl_privkey_free(k521);
	atl_privkey_free(k384);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cbor_wellformed),
		cmocka_unit_test(test_cbor_malformed),
		cmocka_unit_test(test_cbor_accessors),
		cmocka_unit_test(test_cose_psa_real),
		cmocka_unit_test(test_cose_generated),
		cmocka_unit_test(test_es512),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
