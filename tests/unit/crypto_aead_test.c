/* Unit tests for src/crypto/aead.c: one-shot AES-GCM and ChaCha20-Poly1305.
 * Known answers: AES-128/256-GCM test cases 4 and 16 of McGrew & Viega, "The
 * Galois/Counter Mode of Operation" (2005); ChaCha20-Poly1305 from RFC 8439
 * §2.8.2. Negative tests: wrong key/nonce lengths, short output buffers,
 * truncated input, and every single-bit flip of ct, tag and AAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/aead.h"
#include "atoll/encoding.h"

struct kat {
	enum atl_aead alg;
	const char *key, *nonce, *aad, *pt, *ct; /* ct includes the tag */
};

#define GCM_PT                                                                        \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c9595680953" \
	"2fcf0e2449a6b525b16aedf5aa0de657ba637b39"

static const struct kat kats[] = {
	{ATL_AEAD_AES128_GCM, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_PT,
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c"
	 "7d8f6a5aac84aa051ba30b396a0aac973d58e091"
	 "5bc94fbc3221a5db94fae95ae7121a47"},
	{ATL_AEAD_AES256_GCM,
	 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	 "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_PT,
	 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3d"
	 "a7b08b1056828838c5f61e6393ba7a0abcc9f662"
	 "76fc6ece0f4e1768cddf8853bb2d551b"},
	{ATL_AEAD_CHACHA20_POLY1305,
	 "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	 "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
	 /* "Ladies and Gentlemen of the class of '99: If I could offer you only one
	  * tip for the future, sunscreen would be it." */
	 "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739"
	 "393a204966204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f"
	 "7220746865206675747572652c2073756e73637265656e20776f756c642062652069742e",
	 "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca96712"
	 "82fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58"
	 "fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
	 "1ae10b594f09e26a7e902ecbd0600691"},
};

struct bin {
	uint8_t *p;
	size_t len;
};

static struct bin unhex(const char *s)
{
	struct bin b = {0};

	assert_int_equal(atl_hex_decode_alloc(s, strlen(s), &b.p, &b.len), ATL_OK);
	return b;
}

static void test_kat_seal_open(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		const struct kat *k = &kats[i];
		struct bin key = unhex(k->key), nonce = unhex(k->nonce), aad = unhex(k->aad);
		struct bin pt = unhex(k->pt), ct = unhex(k->ct);
		uint8_t buf[256];
		size_t len = 0;

		assert_int_equal(atl_aead_key_len(k->alg), key.len);
		assert_int_equal(atl_aead_seal(k->alg, key.p, key.len, nonce.p, nonce.len, aad.p,
					       aad.len, pt.p, pt.len, buf, sizeof(buf), &len),
				 ATL_OK);
		assert_int_equal(len, ct.len);
		assert_memory_equal(buf, ct.p, ct.len);

		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(atl_aead_open(k->alg, key.p, key.len, nonce.p, nonce.len, aad.p,
					       aad.len, ct.p, ct.len, buf, sizeof(buf), &len),
				 ATL_OK);
		assert_int_equal(len, pt.len);
		assert_memory_equal(buf, pt.p, pt.len);

		/* In place, both directions. */
		memcpy(buf, pt.p, pt.len);
		assert_int_equal(atl_aead_seal(k->alg, key.p, key.len, nonce.p, nonce.len, aad.p,
					       aad.len, buf, pt.len, buf, sizeof(buf), &len),
				 ATL_OK);
		assert_memory_equal(buf, ct.p, ct.len);
		assert_int_equal(atl_aead_open(k->alg, key.p, key.len, nonce.p, nonce.len, aad.p,
					       aad.len, buf, ct.len, buf, sizeof(buf), &len),
				 ATL_OK);
		assert_memory_equal(buf, pt.p, pt.len);
		free(key.p);
		free(nonce.p);
		free(aad.p);
		free(pt.p);
		free(ct.p);
	}
}

static void test_empty_and_no_aad(void **state)
{
	static const enum atl_aead algs[] = {ATL_AEAD_AES128_GCM, ATL_AEAD_AES256_GCM,
					     ATL_AEAD_CHACHA20_POLY1305};
	uint8_t key[32] = {1}, nonce[12] = {2}, buf[ATL_AEAD_TAG_LEN], pt[1];
	size_t len = 99;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t kl = atl_aead_key_len(algs[i]);
		assert_int_equal(atl_aead_seal(algs[i], key, kl, nonce, 12, NULL, 0, NULL, 0, buf,
					       sizeof(buf), &len),
				 ATL_OK);
		assert_int_equal(len, ATL_AEAD_TAG_LEN);
		assert_int_equal(atl_aead_open(algs[i], key, kl, nonce, 12, NULL, 0, buf,
					       sizeof(buf), pt, 0, &len),
				 ATL_OK);
		assert_int_equal(len, 0);
	}
}

static void test_bad_args(void **state)
{
	uint8_t key[33] = {0}, nonce[13] = {0}, pt[8] = {0}, out[64];
	size_t len = 99;

	(void)state;
	assert_int_equal(atl_aead_key_len((enum atl_aead)7), 0);
	/* Wrong key lengths. */
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES128_GCM, key, 32, nonce, 12, NULL, 0, pt, 8,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	assert_int_equal(len, 0);
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 16, nonce, 12, NULL, 0, pt, 8,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	assert_int_equal(atl_aead_seal(ATL_AEAD_CHACHA20_POLY1305, key, 33, nonce, 12, NULL, 0,
				       pt, 8, out, sizeof(out), &len),
			 ATL_E_ARG);
	assert_int_equal(atl_aead_open(ATL_AEAD_AES256_GCM, key, 31, nonce, 12, NULL, 0, out, 24,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	/* Wrong nonce lengths. */
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 32, nonce, 13, NULL, 0, pt, 8,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	assert_int_equal(atl_aead_open(ATL_AEAD_AES256_GCM, key, 32, nonce, 8, NULL, 0, out, 24,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	/* Unknown algorithm, NULL pointers with lengths. */
	assert_int_equal(atl_aead_seal((enum atl_aead)0, key, 32, nonce, 12, NULL, 0, pt, 8, out,
				       sizeof(out), &len),
			 ATL_E_ARG);
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, NULL, 32, nonce, 12, NULL, 0, pt, 8,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 3, pt, 8,
				       out, sizeof(out), &len),
			 ATL_E_ARG);
	/* Output too small for ct || tag, or for the plaintext. */
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 0, pt, 8,
				       out, 8 + ATL_AEAD_TAG_LEN - 1, &len),
			 ATL_E_ARG);
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 0, pt, 8,
				       out, sizeof(out), &len),
			 ATL_OK);
	assert_int_equal(atl_aead_open(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 0, out, 24,
				       pt, 7, &len),
			 ATL_E_ARG);
	/* Shorter than a tag. */
	assert_int_equal(atl_aead_open(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 0, out,
				       ATL_AEAD_TAG_LEN - 1, pt, sizeof(pt), &len),
			 ATL_E_TRUNCATED);
}

/* Every bit flip in ct||tag, every bit flip in the AAD, a different nonce and
 * a different key all fail with ATL_E_AUTH and leave the output wiped. */
static void test_tamper(void **state)
{
	static const enum atl_aead algs[] = {ATL_AEAD_AES128_GCM, ATL_AEAD_AES256_GCM,
					     ATL_AEAD_CHACHA20_POLY1305};
	uint8_t key[32], nonce[12], aad[5] = "hello", pt[20], ct[20 + ATL_AEAD_TAG_LEN], out[20];
	uint8_t zero[20] = {0};
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	memset(nonce, 0x42, sizeof(nonce));
	memset(pt, 'p', sizeof(pt));
	for (size_t a = 0; a < 3; a++) {
		size_t kl = atl_aead_key_len(algs[a]);
		assert_int_equal(atl_aead_seal(algs[a], key, kl, nonce, 12, aad, sizeof(aad), pt,
					       sizeof(pt), ct, sizeof(ct), &len),
				 ATL_OK);
		for (size_t bit = 0; bit < 8 * sizeof(ct); bit++) {
			ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			memset(out, 0xcc, sizeof(out));
			len = 99;
			assert_int_equal(atl_aead_open(algs[a], key, kl, nonce, 12, aad,
						       sizeof(aad), ct, sizeof(ct), out,
						       sizeof(out), &len),
					 ATL_E_AUTH);
			assert_int_equal(len, 0);
			assert_memory_equal(out, zero, sizeof(out));
			ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		for (size_t bit = 0; bit < 8 * sizeof(aad); bit++) {
			aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(atl_aead_open(algs[a], key, kl, nonce, 12, aad,
						       sizeof(aad), ct, sizeof(ct), out,
						       sizeof(out), &len),
					 ATL_E_AUTH);
			aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* Dropping the AAD altogether. */
		assert_int_equal(atl_aead_open(algs[a], key, kl, nonce, 12, NULL, 0, ct,
					       sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		nonce[0] ^= 1;
		assert_int_equal(atl_aead_open(algs[a], key, kl, nonce, 12, aad, sizeof(aad), ct,
					       sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		nonce[0] ^= 1;
		key[3] ^= 1;
		assert_int_equal(atl_aead_open(algs[a], key, kl, nonce, 12, aad, sizeof(aad), ct,
					       sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		key[3] ^= 1;
		assert_int_equal(atl_aead_open(algs[a], key, kl, nonce, 12, aad, sizeof(aad), ct,
					       sizeof(ct), out, sizeof(out), &len),
				 ATL_OK);
		assert_memory_equal(out, pt, sizeof(pt));
	}
}

static void test_large_round_trip(void **state)
{
	size_t n = (1u << 20) + 3;
	uint8_t key[32] = {9}, nonce[12] = {8};
	uint8_t *pt = malloc(n), *ct = malloc(n + ATL_AEAD_TAG_LEN), *back = malloc(n);
	size_t len;

	(void)state;
	assert_non_null(pt);
	assert_non_null(ct);
	assert_non_null(back);
	for (size_t i = 0; i < n; i++)
		pt[i] = (uint8_t)(i * 31);
	assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 0, pt, n, ct,
				       n + ATL_AEAD_TAG_LEN, &len),
			 ATL_OK);
	assert_int_equal(atl_aead_open(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, NULL, 0, ct, len,
				       back, n, &len),
			 ATL_OK);
	assert_int_equal(len, n);
	assert_memory_equal(back, pt, n);
	free(pt);
	free(ct);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_seal_open),
		cmocka_unit_test(test_empty_and_no_aad),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_large_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
