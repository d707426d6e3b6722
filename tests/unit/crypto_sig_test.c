/* Unit tests for src/crypto/sig.c: key parsing (PEM, DER, EC x/y, RSA n/e),
 * ECDSA (DER and raw r||s), RSA-PSS and PKCS#1 v1.5, digest verification,
 * PKCS#8 round trip, and one negative test per error path.
 * atl-test-deps: atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "atoll/digest.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "crypto/pkey.h"

static const uint8_t msg[] = "atoll signature test message";

static void sign_verify_ec(int bits, enum atl_sig_alg alg)
{
	struct atl_privkey *sk = NULL;
	struct atl_pubkey *pk = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	size_t clen = (size_t)bits / 8;

	assert_int_equal(atl_privkey_generate_ec(bits, &sk), ATL_OK);
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);

	/* raw r||s */
	assert_int_equal(atl_sig_sign(sk, alg, ATL_SIG_FMT_RAW_RS, msg, sizeof(msg), &sig, &sig_len),
			 ATL_OK);
	assert_int_equal(sig_len, 2 * clen);
	assert_int_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_RAW_RS, msg, sizeof(msg), sig, sig_len),
			 ATL_OK);
	/* wrong message */
	assert_int_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_RAW_RS, msg, sizeof(msg) - 1, sig,
					sig_len),
			 ATL_E_AUTH);
	/* flipped bit */
	sig[3] ^= 1;
	assert_int_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_RAW_RS, msg, sizeof(msg), sig, sig_len),
			 ATL_E_AUTH);
	sig[3] ^= 1;
	/* wrong lengths */
	assert_int_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_RAW_RS, msg, sizeof(msg), sig,
					sig_len - 1),
			 ATL_E_FORMAT);
	assert_int_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_RAW_RS, msg, sizeof(msg), sig, 0),
			 ATL_E_FORMAT);
	/* raw bytes offered as DER: malformed, rejected */
	assert_int_not_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_DER, msg, sizeof(msg), sig, sig_len),
			     ATL_OK);
	free(sig);

	/* DER */
	assert_int_equal(atl_sig_sign(sk, alg, ATL_SIG_FMT_DER, msg, sizeof(msg), &sig, &sig_len),
			 ATL_OK);
	assert_true(sig[0] == 0x30);
	assert_int_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_DER, msg, sizeof(msg), sig, sig_len),
			 ATL_OK);
	/* trailing garbage after the DER signature is refused */
	{
		uint8_t *longer = malloc(sig_len + 1);
		assert_non_null(longer);
		memcpy(longer, sig, sig_len);
		longer[sig_len] = 0;
		assert_int_not_equal(atl_sig_verify(pk, alg, ATL_SIG_FMT_DER, msg, sizeof(msg),
						    longer, sig_len + 1),
				     ATL_OK);
		free(longer);
	}
	free(sig);
	atl_pubkey_free(pk);
	atl_privkey_free(sk);
}

static void test_ecdsa_p256(void **state)
{
	(void)state;
	sign_verify_ec(256, ATL_SIG_ECDSA_P256_SHA256);
	sign_verify_ec(256, ATL_SIG_ECDSA_P256_SHA384);
}

static void test_ecdsa_p384(void **state)
{
	(void)state;
	sign_verify_ec(384, ATL_SIG_ECDSA_P384_SHA384);
	sign_verify_ec(384, ATL_SIG_ECDSA_P384_SHA256);
}

static void test_key_alg_mismatch(void **state)
{
	struct atl_privkey *sk = NULL;
	struct atl_pubkey *pk = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;

	(void)state;
	assert_int_equal(atl_privkey_generate_ec(256, &sk), ATL_OK);
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);
	/* P-256 key with a P-384 algorithm, or an RSA algorithm */
	assert_int_equal(atl_sig_sign(sk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_DER, msg,
				      sizeof(msg), &sig, &sig_len),
			 ATL_E_ARG);
	assert_null(sig);
	assert_int_equal(atl_sig_sign(sk, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_DER, msg,
				      sizeof(msg), &sig, &sig_len),
			 ATL_OK);
	assert_int_equal(atl_sig_verify(pk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_DER, msg,
					sizeof(msg), sig, sig_len),
			 ATL_E_ARG);
	assert_int_equal(atl_sig_verify(pk, ATL_SIG_RSA_PSS_SHA256, ATL_SIG_FMT_DER, msg, sizeof(msg),
					sig, sig_len),
			 ATL_E_ARG);
	assert_int_equal(atl_sig_verify(pk, (enum atl_sig_alg)99, ATL_SIG_FMT_DER, msg, sizeof(msg),
					sig, sig_len),
			 ATL_E_ARG);
	{
		struct atl_privkey *sk521 = NULL;
		assert_int_equal(atl_privkey_generate_ec(521, &sk521), ATL_E_UNSUPPORTED);
		assert_null(sk521);
	}
	free(sig);
	atl_pubkey_free(pk);
	atl_privkey_free(sk);
}

static void test_verify_digest(void **state)
{
	struct atl_privkey *sk = NULL;
	struct atl_pubkey *pk = NULL;
	uint8_t *sig = NULL, d[ATL_SHA384_LEN];
	size_t sig_len = 0;

	(void)state;
	assert_int_equal(atl_privkey_generate_ec(384, &sk), ATL_OK);
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);
	assert_int_equal(atl_sig_sign(sk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg,
				      sizeof(msg), &sig, &sig_len),
			 ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA384, msg, sizeof(msg), d), ATL_OK);
	assert_int_equal(atl_sig_verify_digest(pk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, d,
					       sizeof(d), sig, sig_len),
			 ATL_OK);
	/* wrong digest length for the algorithm */
	assert_int_equal(atl_sig_verify_digest(pk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, d,
					       32, sig, sig_len),
			 ATL_E_ARG);
	d[0] ^= 0x80;
	assert_int_equal(atl_sig_verify_digest(pk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, d,
					       sizeof(d), sig, sig_len),
			 ATL_E_AUTH);
	free(sig);
	atl_pubkey_free(pk);
	atl_privkey_free(sk);
}

static struct atl_privkey *rsa_key(void)
{
	struct atl_privkey *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k->pkey);
	return k;
}

static void test_rsa(void **state)
{
	struct atl_privkey *sk = rsa_key();
	struct atl_pubkey *pk = NULL, *pk2 = NULL;
	uint8_t *sig = NULL, *n = NULL, e[8], d[ATL_SHA256_LEN];
	size_t sig_len = 0, n_len;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	static const enum atl_sig_alg algs[] = {ATL_SIG_RSA_PSS_SHA256, ATL_SIG_RSA_PSS_SHA384,
						ATL_SIG_RSA_PKCS1_SHA256, ATL_SIG_RSA_PKCS1_SHA384};
	int e_len;

	(void)state;
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		assert_int_equal(atl_sig_sign(sk, algs[i], ATL_SIG_FMT_DER, msg, sizeof(msg), &sig,
					      &sig_len),
				 ATL_OK);
		assert_int_equal(sig_len, 256);
		assert_int_equal(atl_sig_verify(pk, algs[i], ATL_SIG_FMT_DER, msg, sizeof(msg), sig,
						sig_len),
				 ATL_OK);
		/* PSS and PKCS#1 do not cross-verify */
		assert_int_equal(atl_sig_verify(pk, algs[(i + 2) % 4], ATL_SIG_FMT_DER, msg,
						sizeof(msg), sig, sig_len),
				 ATL_E_AUTH);
		sig[10] ^= 1;
		assert_int_equal(atl_sig_verify(pk, algs[i], ATL_SIG_FMT_DER, msg, sizeof(msg), sig,
						sig_len),
				 ATL_E_AUTH);
		/* raw r||s makes no sense for RSA */
		assert_int_equal(atl_sig_verify(pk, algs[i], ATL_SIG_FMT_RAW_RS, msg, sizeof(msg),
						sig, sig_len),
				 ATL_E_ARG);
		free(sig);
		sig = NULL;
	}
	/* digest form, PSS */
	assert_int_equal(atl_sig_sign(sk, ATL_SIG_RSA_PSS_SHA256, ATL_SIG_FMT_DER, msg, sizeof(msg),
				      &sig, &sig_len),
			 ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, msg, sizeof(msg), d), ATL_OK);
	assert_int_equal(atl_sig_verify_digest(pk, ATL_SIG_RSA_PSS_SHA256, ATL_SIG_FMT_DER, d,
					       sizeof(d), sig, sig_len),
			 ATL_OK);

	/* the same key from n and e */
	assert_int_equal(EVP_PKEY_get_bn_param(pk->pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pk->pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e), 1);
	n_len = (size_t)BN_num_bytes(bn_n);
	n = malloc(n_len);
	assert_non_null(n);
	BN_bn2bin(bn_n, n);
	e_len = BN_bn2bin(bn_e, e);
	assert_int_equal(atl_pubkey_from_rsa(n, n_len, e, (size_t)e_len, &pk2), ATL_OK);
	assert_int_equal(atl_pubkey_equal(pk, pk2), ATL_OK);
	assert_int_equal(atl_sig_verify(pk2, ATL_SIG_RSA_PSS_SHA256, ATL_SIG_FMT_DER, msg,
					sizeof(msg), sig, sig_len),
			 ATL_OK);
	atl_pubkey_free(pk2);
	pk2 = NULL;
	/* even modulus, even exponent, short modulus */
	n[n_len - 1] &= 0xfe;
	assert_int_equal(atl_pubkey_from_rsa(n, n_len, e, (size_t)e_len, &pk2), ATL_E_FORMAT);
	n[n_len - 1] |= 1;
	e[e_len - 1] &= 0xfe;
	assert_int_equal(atl_pubkey_from_rsa(n, n_len, e, (size_t)e_len, &pk2), ATL_E_FORMAT);
	e[e_len - 1] |= 1;
	assert_int_equal(atl_pubkey_from_rsa(n, 64, e, (size_t)e_len, &pk2), ATL_E_FORMAT);
	assert_null(pk2);

	free(n);
	free(sig);
	BN_free(bn_n);
	BN_free(bn_e);
	atl_pubkey_free(pk);
	atl_privkey_free(sk);
}

static void test_pubkey_encodings(void **state)
{
	struct atl_privkey *sk = NULL;
	struct atl_pubkey *pk = NULL, *pk2 = NULL, *pk3 = NULL, *pk4 = NULL;
	uint8_t *der = NULL, *pt = NULL, *bad = NULL;
	size_t der_len = 0, pt_len = 0;
	char *pem = NULL;

	(void)state;
	assert_int_equal(atl_privkey_generate_ec(384, &sk), ATL_OK);
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);
	assert_int_equal(atl_pubkey_to_der(pk, &der, &der_len), ATL_OK);
	assert_int_equal(atl_pubkey_to_pem(pk, &pem), ATL_OK);
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
	assert_int_equal(atl_pubkey_parse((const uint8_t *)pem, strlen(pem), &pk2), ATL_OK);
	assert_int_equal(atl_pubkey_parse(der, der_len, &pk3), ATL_OK);
	assert_int_equal(atl_pubkey_equal(pk, pk2), ATL_OK);
	assert_int_equal(atl_pubkey_equal(pk, pk3), ATL_OK);

	/* from x/y */
	assert_int_equal(atl_pubkey_ec_point(pk, &pt, &pt_len), ATL_OK);
	assert_int_equal(pt_len, 97);
	assert_int_equal(pt[0], 4);
	assert_int_equal(atl_pubkey_from_ec_xy(384, pt + 1, pt + 49, 48, &pk4), ATL_OK);
	assert_int_equal(atl_pubkey_equal(pk, pk4), ATL_OK);
	atl_pubkey_free(pk4);
	pk4 = NULL;
	/* off-curve point, wrong coordinate length, unsupported curve */
	pt[96] ^= 1;
	assert_int_equal(atl_pubkey_from_ec_xy(384, pt + 1, pt + 49, 48, &pk4), ATL_E_FORMAT);
	assert_null(pk4);
	assert_int_equal(atl_pubkey_from_ec_xy(384, pt + 1, pt + 49, 32, &pk4), ATL_E_FORMAT);
	assert_int_equal(atl_pubkey_from_ec_xy(521, pt + 1, pt + 49, 48, &pk4), ATL_E_UNSUPPORTED);

	/* DER with trailing byte, truncated DER, garbage, empty, PEM without body */
	bad = malloc(der_len + 1);
	assert_non_null(bad);
	memcpy(bad, der, der_len);
	bad[der_len] = 0;
	assert_int_equal(atl_pubkey_parse(bad, der_len + 1, &pk4), ATL_E_TRAILING);
	assert_int_equal(atl_pubkey_parse(bad, der_len - 1, &pk4), ATL_E_FORMAT);
	assert_int_equal(atl_pubkey_parse((const uint8_t *)"garbage", 7, &pk4), ATL_E_FORMAT);
	assert_int_equal(atl_pubkey_parse((const uint8_t *)"", 0, &pk4), ATL_E_FORMAT);
	assert_int_equal(atl_pubkey_parse((const uint8_t *)"-----BEGIN PUBLIC KEY-----\n", 27, &pk4),
			 ATL_E_FORMAT);
	assert_null(pk4);

	/* a different key is not equal */
	{
		struct atl_privkey *sk2 = NULL;
		assert_int_equal(atl_privkey_generate_ec(384, &sk2), ATL_OK);
		assert_int_equal(atl_privkey_public(sk2, &pk4), ATL_OK);
		assert_int_equal(atl_pubkey_equal(pk, pk4), ATL_E_AUTH);
		atl_privkey_free(sk2);
	}

	free(bad);
	free(der);
	free(pt);
	free(pem);
	atl_pubkey_free(pk);
	atl_pubkey_free(pk2);
	atl_pubkey_free(pk3);
	atl_pubkey_free(pk4);
	atl_privkey_free(sk);
}

static void test_privkey_pem(void **state)
{
	struct atl_privkey *sk = NULL, *sk2 = NULL;
	struct atl_pubkey *pk = NULL, *pk2 = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	uint8_t *sig = NULL;
	size_t sig_len = 0;

	(void)state;
	assert_int_equal(atl_privkey_generate_ec(384, &sk), ATL_OK);
	assert_int_equal(atl_privkey_to_pem(sk, &pem, &pem_len), ATL_OK);
	assert_int_equal(strlen(pem), pem_len);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_true(atl_secret_size(pem) >= pem_len + 1);
	assert_int_equal(atl_privkey_parse((const uint8_t *)pem, pem_len, &sk2), ATL_OK);
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);
	assert_int_equal(atl_privkey_public(sk2, &pk2), ATL_OK);
	assert_int_equal(atl_pubkey_equal(pk, pk2), ATL_OK);
	assert_int_equal(atl_sig_sign(sk2, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg,
				      sizeof(msg), &sig, &sig_len),
			 ATL_OK);
	assert_int_equal(atl_sig_verify(pk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg,
					sizeof(msg), sig, sig_len),
			 ATL_OK);
	atl_privkey_free(sk2);
	sk2 = NULL;
	/* garbage, DER (not PEM), truncated PEM, a public key given as private */
	assert_int_equal(atl_privkey_parse((const uint8_t *)"junk", 4, &sk2), ATL_E_FORMAT);
	assert_int_equal(atl_privkey_parse((const uint8_t *)pem, pem_len / 2, &sk2), ATL_E_FORMAT);
	{
		char *pub_pem = NULL;
		assert_int_equal(atl_pubkey_to_pem(pk, &pub_pem), ATL_OK);
		assert_int_equal(atl_privkey_parse((const uint8_t *)pub_pem, strlen(pub_pem), &sk2),
				 ATL_E_FORMAT);
		free(pub_pem);
	}
	assert_null(sk2);
	free(sig);
	atl_secret_free(pem);
	atl_pubkey_free(pk);
	atl_pubkey_free(pk2);
	atl_privkey_free(sk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa_p256),     cmocka_unit_test(test_ecdsa_p384),
		cmocka_unit_test(test_key_alg_mismatch), cmocka_unit_test(test_verify_digest),
		cmocka_unit_test(test_rsa),            cmocka_unit_test(test_pubkey_encodings),
		cmocka_unit_test(test_privkey_pem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
