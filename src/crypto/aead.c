/* One-shot AEAD over OpenSSL 3 EVP_CIPHER; see include/atoll/aead.h.
 *
 * The ciphers are fetched once (pthread_once) so that a seal of a small
 * message does not pay for an implicit provider fetch every time. */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "atoll/aead.h"
#include "atoll/secmem.h"
#include "crypto/ossl.h"

/* EVP_*Update take an int length: feed big buffers in chunks. */
#define AEAD_CHUNK_MAX (1u << 30)

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher_aes128gcm, *cipher_aes256gcm, *cipher_chacha;

static void fetch_ciphers(void)
{
	cipher_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	cipher_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	cipher_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

static const EVP_CIPHER *cipher_of(enum atl_aead alg)
{
	pthread_once(&fetch_once, fetch_ciphers);
	switch (alg) {
	case ATL_AEAD_AES128_GCM:
		return cipher_aes128gcm;
	case ATL_AEAD_AES256_GCM:
		return cipher_aes256gcm;
	case ATL_AEAD_CHACHA20_POLY1305:
		return cipher_chacha;
	}
	return NULL;
}

size_t atl_aead_key_len(enum atl_aead alg)
{
	switch (alg) {
	case ATL_AEAD_AES128_GCM:
		return 16;
	case ATL_AEAD_AES256_GCM:
	case ATL_AEAD_CHACHA20_POLY1305:
		return 32;
	}
	return 0;
}

static enum atl_err check_args(enum atl_aead alg, const uint8_t *key, size_t key_len,
			       const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
			       size_t aad_len, const uint8_t *in, size_t in_len, const uint8_t *out)
{
	size_t klen = atl_aead_key_len(alg);

	if (klen == 0 || key == NULL || key_len != klen)
		return ATL_E_ARG;
	if (nonce == NULL || nonce_len != ATL_AEAD_NONCE_LEN)
		return ATL_E_ARG;
	if ((aad == NULL && aad_len != 0) || (in == NULL && in_len != 0) || out == NULL)
		return ATL_E_ARG;
	return ATL_OK;
}

/* Feeds data (or AAD, when out is NULL) through the context in chunks. */
static enum atl_err update(EVP_CIPHER_CTX *c, int enc, uint8_t *out, const uint8_t *in,
			   size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < AEAD_CHUNK_MAX ? len - done : AEAD_CHUNK_MAX;
		int olen = 0;
		int ok = enc ? EVP_EncryptUpdate(c, out != NULL ? out + done : NULL, &olen,
						 in + done, (int)n)
			     : EVP_DecryptUpdate(c, out != NULL ? out + done : NULL, &olen,
						 in + done, (int)n);
		if (ok != 1)
			return atl_ossl_fail("EVP_CipherUpdate");
		/* GCM and ChaCha20-Poly1305 are stream modes: no buffering. */
		if (out != NULL && (size_t)olen != n)
			return ATL_E_INTERNAL;
		done += n;
	}
	return ATL_OK;
}

static enum atl_err init_ctx(EVP_CIPHER_CTX *c, int enc, enum atl_aead alg, const uint8_t *key,
			     const uint8_t *nonce)
{
	const EVP_CIPHER *ciph = cipher_of(alg);

	if (ciph == NULL)
		return atl_ossl_fail("EVP_CIPHER_fetch");
	/* Default IV length of all three is 12 bytes (RFC 5116 §3.2 nonce). */
	if (EVP_CipherInit_ex(c, ciph, NULL, key, nonce, enc) != 1)
		return atl_ossl_fail("EVP_CipherInit_ex");
	return ATL_OK;
}

enum atl_err atl_aead_seal(enum atl_aead alg, const uint8_t *key, size_t key_len,
			   const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
			   size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
			   size_t out_cap, size_t *out_len_out)
{
	EVP_CIPHER_CTX *c = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	int olen = 0;

	*out_len_out = 0;
	ATL_TRY(check_args(alg, key, key_len, nonce, nonce_len, aad, aad_len, pt, pt_len, out));
	if (pt_len > SIZE_MAX - ATL_AEAD_TAG_LEN || out_cap < pt_len + ATL_AEAD_TAG_LEN) {
		rc = ATL_E_ARG;
		goto out;
	}
	c = EVP_CIPHER_CTX_new();
	if (c == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(init_ctx(c, 1, alg, key, nonce));
	ATL_TRY(update(c, 1, NULL, aad, aad_len));
	ATL_TRY(update(c, 1, out, pt, pt_len));
	if (EVP_EncryptFinal_ex(c, out + pt_len, &olen) != 1 || olen != 0) {
		rc = atl_ossl_fail("EVP_EncryptFinal_ex");
		goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, ATL_AEAD_TAG_LEN, out + pt_len) != 1) {
		rc = atl_ossl_fail("EVP_CTRL_AEAD_GET_TAG");
		goto out;
	}
	*out_len_out = pt_len + ATL_AEAD_TAG_LEN;
	rc = ATL_OK;
out:
	if (rc != ATL_OK && rc != ATL_E_ARG)
		atl_wipe(out, out_cap);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

enum atl_err atl_aead_open(enum atl_aead alg, const uint8_t *key, size_t key_len,
			   const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
			   size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *out,
			   size_t out_cap, size_t *out_len_out)
{
	EVP_CIPHER_CTX *c = NULL;
	uint8_t tag[ATL_AEAD_TAG_LEN];
	enum atl_err rc = ATL_E_INTERNAL;
	size_t pt_len;
	int olen = 0;

	*out_len_out = 0;
	ATL_TRY(check_args(alg, key, key_len, nonce, nonce_len, aad, aad_len, ct, ct_len, out));
	if (ct_len < ATL_AEAD_TAG_LEN) {
		rc = ATL_E_TRUNCATED;
		goto out;
	}
	pt_len = ct_len - ATL_AEAD_TAG_LEN;
	if (out_cap < pt_len) {
		rc = ATL_E_ARG;
		goto out;
	}
	/* Copy the tag first: out may alias ct and decryption overwrites it. */
	memcpy(tag, ct + pt_len, ATL_AEAD_TAG_LEN);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(init_ctx(c, 0, alg, key, nonce));
	ATL_TRY(update(c, 0, NULL, aad, aad_len));
	ATL_TRY(update(c, 0, out, ct, pt_len));
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, ATL_AEAD_TAG_LEN, tag) != 1) {
		rc = atl_ossl_fail("EVP_CTRL_AEAD_SET_TAG");
		goto out;
	}
	/* The tag is checked (in constant time) here; the plaintext written so
	 * far is released to the caller only if it succeeds. */
	if (EVP_DecryptFinal_ex(c, out + pt_len, &olen) != 1) {
		rc = atl_ossl_fail_as("EVP_DecryptFinal_ex", ATL_E_AUTH);
		goto out;
	}
	*out_len_out = pt_len;
	rc = ATL_OK;
out:
	if (rc != ATL_OK && rc != ATL_E_ARG && out != NULL)
		atl_wipe(out, out_cap);
	EVP_CIPHER_CTX_free(c);
	return rc;
}
