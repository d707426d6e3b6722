/* AES-256-GCM into and out of base64 text in chunks; see
 * src/crypto/envelope_stream.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "atoll/secmem.h"
#include "crypto/envelope_stream.h"
#include "crypto/envelope_text.h"
#include "crypto/ossl.h"

/* Plaintext bytes per chunk: a multiple of 3 (so the pieces' base64 is the
 * whole's) and of 16 (whole AES blocks), small enough for L2 with its text. */
#define CHUNK (3u * 16u * 1024u)
#define CHUNK_TEXT (CHUNK / 3u * 4u)

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes256gcm;

static void fetch_cipher(void)
{
	aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static enum atl_err new_ctx(int enc, const uint8_t *key, const uint8_t *nonce,
			    const uint8_t *aad, size_t aad_len, EVP_CIPHER_CTX **out)
{
	EVP_CIPHER_CTX *c;
	int olen = 0;

	*out = NULL;
	pthread_once(&fetch_once, fetch_cipher);
	if (aes256gcm == NULL)
		return atl_ossl_fail("EVP_CIPHER_fetch(AES-256-GCM)");
	if (aad_len > INT32_MAX)
		return ATL_E_ARG;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return ATL_E_NOMEM;
	/* The default IV length of AES-GCM is the 12 bytes of the nonce. */
	if (EVP_CipherInit_ex(c, aes256gcm, NULL, key, nonce, enc) != 1 ||
	    (aad_len > 0 && EVP_CipherUpdate(c, NULL, &olen, aad, (int)aad_len) != 1)) {
		EVP_CIPHER_CTX_free(c);
		return atl_ossl_fail("EVP_CipherInit_ex(AES-256-GCM)");
	}
	*out = c;
	return ATL_OK;
}

enum atl_err atl_envstream_seal_b64(const uint8_t key[ATL_ENVSTREAM_KEY_LEN],
				    const uint8_t nonce[ATL_ENVSTREAM_NONCE_LEN],
				    const uint8_t *aad, size_t aad_len, const uint8_t *pt,
				    size_t pt_len, char *out)
{
	EVP_CIPHER_CTX *c = NULL;
	uint8_t *buf = NULL; /* ciphertext chunk (+ tag): not secret */
	size_t done = 0, o = 0;
	enum atl_err rc = ATL_E_INTERNAL;
	int olen = 0;

	if (key == NULL || nonce == NULL || out == NULL || (aad == NULL && aad_len != 0) ||
	    (pt == NULL && pt_len != 0))
		return ATL_E_ARG;
	buf = malloc(CHUNK + ATL_ENVSTREAM_TAG_LEN);
	if (buf == NULL)
		return ATL_E_NOMEM;
	ATL_TRY(new_ctx(1, key, nonce, aad, aad_len, &c));
	for (;;) {
		size_t n = pt_len - done < CHUNK ? pt_len - done : CHUNK;
		bool last = pt_len - done <= CHUNK;

		if (n > 0 && (EVP_EncryptUpdate(c, buf, &olen, pt + done, (int)n) != 1 ||
			      (size_t)olen != n)) {
			rc = atl_ossl_fail("EVP_EncryptUpdate");
			goto out;
		}
		done += n;
		if (last) {
			if (EVP_EncryptFinal_ex(c, buf + n, &olen) != 1 || olen != 0 ||
			    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, ATL_ENVSTREAM_TAG_LEN,
						buf + n) != 1) {
				rc = atl_ossl_fail("EVP_EncryptFinal_ex");
				goto out;
			}
			o += atl_envtext_b64_encode(out + o, buf, n + ATL_ENVSTREAM_TAG_LEN);
			break;
		}
		o += atl_envtext_b64_encode(out + o, buf, n); /* n == CHUNK: whole groups */
	}
	if (o != atl_envtext_b64_len(pt_len + ATL_ENVSTREAM_TAG_LEN)) {
		rc = ATL_E_INTERNAL;
		goto out;
	}
	rc = ATL_OK;
out:
	EVP_CIPHER_CTX_free(c);
	free(buf);
	return rc;
}

enum atl_err atl_envstream_open_b64(const uint8_t key[ATL_ENVSTREAM_KEY_LEN],
				    const uint8_t nonce[ATL_ENVSTREAM_NONCE_LEN],
				    const uint8_t *aad, size_t aad_len, const char *text,
				    size_t text_len, uint8_t *out, size_t out_cap,
				    size_t *pt_len_out)
{
	EVP_CIPHER_CTX *c = NULL;
	uint8_t tag[ATL_ENVSTREAM_TAG_LEN];
	size_t n = 0, pt_len, pos = 0, o = 0, dec = 0;
	enum atl_err rc = ATL_E_INTERNAL;
	int olen = 0;

	if (pt_len_out != NULL)
		*pt_len_out = 0;
	if (key == NULL || nonce == NULL || text == NULL || out == NULL || pt_len_out == NULL ||
	    (aad == NULL && aad_len != 0))
		return ATL_E_ARG;
	ATL_TRY(atl_envtext_b64_decoded_len(text, text_len, &n));
	if (n < ATL_ENVSTREAM_TAG_LEN) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (n > out_cap) {
		rc = ATL_E_ARG;
		goto out;
	}
	pt_len = n - ATL_ENVSTREAM_TAG_LEN;
	ATL_TRY(new_ctx(0, key, nonce, aad, aad_len, &c));
	/* Decode a chunk into out, then decrypt in place what of it is
	 * ciphertext (not tag) while it is in cache. */
	while (pos < text_len) {
		size_t tn = text_len - pos < CHUNK_TEXT ? text_len - pos : CHUNK_TEXT;
		size_t got = 0, upto;

		ATL_TRY(atl_envtext_b64_decode_part(text + pos, tn, pos + tn == text_len, out + o,
						    &got));
		pos += tn;
		o += got;
		upto = o < pt_len ? o : pt_len;
		if (upto > dec) {
			if (EVP_DecryptUpdate(c, out + dec, &olen, out + dec, (int)(upto - dec)) !=
				    1 ||
			    (size_t)olen != upto - dec) {
				rc = atl_ossl_fail("EVP_DecryptUpdate");
				goto out;
			}
			dec = upto;
		}
	}
	if (o != n || dec != pt_len) {
		rc = ATL_E_INTERNAL;
		goto out;
	}
	memcpy(tag, out + pt_len, sizeof(tag));
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag) != 1) {
		rc = atl_ossl_fail("EVP_CTRL_AEAD_SET_TAG");
		goto out;
	}
	/* The tag is checked (in constant time) here; the plaintext written so
	 * far is released to the caller only if it succeeds. */
	if (EVP_DecryptFinal_ex(c, out + pt_len, &olen) != 1) {
		rc = atl_ossl_fail_as("EVP_DecryptFinal_ex", ATL_E_AUTH);
		goto out;
	}
	*pt_len_out = pt_len;
	rc = ATL_OK;
out:
	if (rc != ATL_OK && rc != ATL_E_ARG)
		atl_wipe(out, out_cap);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

enum atl_err atl_envstream_check_b64(const char *text, size_t text_len)
{
	uint8_t buf[CHUNK_TEXT / 64 * 3]; /* public bytes: no wipe needed */
	size_t pos = 0, got = 0;

	if (text_len % 4 != 0)
		return ATL_E_FORMAT;
	while (pos < text_len) {
		size_t tn = text_len - pos < sizeof(buf) / 3 * 4 ? text_len - pos
								: sizeof(buf) / 3 * 4;
		enum atl_err rc =
			atl_envtext_b64_decode_part(text + pos, tn, pos + tn == text_len, buf, &got);

		if (rc != ATL_OK)
			return rc;
		pos += tn;
	}
	return ATL_OK;
}
