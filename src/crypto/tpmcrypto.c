/* RSA-OAEP with a label and AES-CFB for the TPM credential protocol; see
 * include/atoll/tpmcrypto.h. */
#define ATL_LOG_MODULE "tpmcrypto"
#include <limits.h>
#include <string.h>

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
