/* RSA-OAEP with a label and AES-CFB for the TPM credential protocol; see
 * include/atoll/tpmcrypto.h. */
#define ATL_LOG_MODULE "tpmcrypto"
#include <limits.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "atoll/tpmcrypto.h"
#include "crypto/ossl.h"
#include "crypto/pkey.h"

enum atl_err atl_rsa_oaep_encrypt(const struct atl_pubkey *k, enum atl_hash h,
				  const uint8_t *label, size_t label_len, const uint8_t *in,
				  size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = atl_ossl_md(h);
	unsigned char *lab = NULL;
	size_t n = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*out_len = 0;
	if (k == NULL || k->pkey == NULL || md == NULL || (in == NULL && in_len > 0))
		return ATL_E_ARG;
	if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA)
		return ATL_E_ARG;
	if ((size_t)EVP_PKEY_get_size(k->pkey) > out_cap)
		return ATL_E_LIMIT;
	pctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (pctx == NULL || EVP_PKEY_encrypt_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0) {
		rc = atl_ossl_fail("OAEP init");
		goto out;
	}
	if (label_len > 0) {
		/* OpenSSL takes ownership of the label buffer. */
		lab = OPENSSL_memdup(label, label_len);
		if (lab == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, lab, (int)label_len) <= 0) {
			OPENSSL_free(lab);
			rc = atl_ossl_fail("OAEP label");
			goto out;
		}
	}
	n = out_cap;
	if (EVP_PKEY_encrypt(pctx, out, &n, in, in_len) <= 0) {
		rc = atl_ossl_fail("OAEP encrypt");
		goto out;
	}
	*out_len = n;
	rc = ATL_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

enum atl_err atl_aes_cfb(const uint8_t *key, size_t key_len, const uint8_t iv[16], int encrypt,
			 const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = NULL;
	const EVP_CIPHER *ciph;
	int n = 0, f = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (key == NULL || iv == NULL || (len > 0 && (in == NULL || out == NULL)) || len > INT_MAX)
		return ATL_E_ARG;
	if (key_len == 16)
		ciph = EVP_aes_128_cfb128();
	else if (key_len == 32)
		ciph = EVP_aes_256_cfb128();
	else
		return ATL_E_ARG;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return ATL_E_NOMEM;
	if (EVP_CipherInit_ex(c, ciph, NULL, key, iv, encrypt ? 1 : 0) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(c, out + n, &f) != 1) {
		rc = atl_ossl_fail("AES-CFB");
		goto out;
	}
	rc = ATL_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

enum atl_err atl_ecdh_ephemeral(const struct atl_pubkey *peer, uint8_t *z, uint8_t *eph_x,
				uint8_t *eph_y, size_t cap, size_t *coord_len)
{
	EVP_PKEY_CTX *kctx = NULL, *dctx = NULL;
	EVP_PKEY *eph = NULL;
	BIGNUM *x = NULL, *y = NULL;
	size_t n, zl;
	int bits;
	enum atl_err rc = ATL_E_INTERNAL;

	*coord_len = 0;
	if (peer == NULL || peer->pkey == NULL || z == NULL || eph_x == NULL || eph_y == NULL)
		return ATL_E_ARG;
	if (EVP_PKEY_get_base_id(peer->pkey) != EVP_PKEY_EC)
		return ATL_E_ARG;
	bits = EVP_PKEY_get_bits(peer->pkey);
	n = bits > 0 ? ((size_t)bits + 7) / 8 : 0;
	if (n == 0 || n > cap)
		return ATL_E_LIMIT;
	/* a fresh key on the peer's curve */
	kctx = EVP_PKEY_CTX_new(peer->pkey, NULL);
	if (kctx == NULL || EVP_PKEY_keygen_init(kctx) <= 0 || EVP_PKEY_keygen(kctx, &eph) <= 0) {
		rc = atl_ossl_fail("ECDH ephemeral key");
		goto out;
	}
	dctx = EVP_PKEY_CTX_new(eph, NULL);
	zl = cap;
	if (dctx == NULL || EVP_PKEY_derive_init(dctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(dctx, peer->pkey) <= 0 || EVP_PKEY_derive(dctx, z, &zl) <= 0 ||
	    zl != n) {
		rc = atl_ossl_fail("ECDH derive");
		goto out;
	}
	if (EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_X, &x) <= 0 ||
	    EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_Y, &y) <= 0 ||
	    BN_bn2binpad(x, eph_x, (int)n) != (int)n || BN_bn2binpad(y, eph_y, (int)n) != (int)n) {
		rc = atl_ossl_fail("ECDH public point");
		goto out;
	}
	*coord_len = n;
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		OPENSSL_cleanse(z, cap);
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(eph);
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_CTX_free(dctx);
	return rc;
}
