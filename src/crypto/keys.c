/* X25519 key pairs (client keys ck_…, enclave keys ek_…); see include/atoll/keys.h.
 *
 * The private key is 32 bytes of atl_secret_alloc memory. OpenSSL's EVP_PKEY
 * holds a copy only for the duration of one call and is freed at `out:`. */
#include <string.h>

#include <openssl/evp.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/keys.h"
#include "atoll/secmem.h"
#include "crypto/ossl.h"

/* Public key of a raw X25519 private key (RFC 7748 §6.1). */
static enum atl_err x25519_public(const uint8_t priv[ATL_X25519_LEN],
				  uint8_t pub_out[ATL_X25519_LEN])
{
	EVP_PKEY *pk = NULL;
	size_t len = ATL_X25519_LEN;
	enum atl_err rc = ATL_E_INTERNAL;

	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, ATL_X25519_LEN);
	if (pk == NULL) {
		rc = atl_ossl_fail("EVP_PKEY_new_raw_private_key");
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pk, pub_out, &len) != 1 || len != ATL_X25519_LEN) {
		rc = atl_ossl_fail("EVP_PKEY_get_raw_public_key");
		goto out;
	}
	rc = ATL_OK;
out:
	EVP_PKEY_free(pk);
	return rc;
}

enum atl_err atl_kp_from_private(const uint8_t priv[ATL_X25519_LEN], struct atl_kp *kp_out)
{
	struct atl_kp kp = {0};
	enum atl_err rc = ATL_E_INTERNAL;

	memset(kp_out, 0, sizeof(*kp_out));
	if (priv == NULL)
		return ATL_E_ARG;
	kp.priv = atl_secret_alloc(ATL_X25519_LEN);
	if (kp.priv == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	memcpy(kp.priv, priv, ATL_X25519_LEN);
	ATL_TRY(x25519_public(kp.priv, kp.pub));
	*kp_out = kp;
	kp.priv = NULL;
	rc = ATL_OK;
out:
	atl_kp_clear(&kp);
	return rc;
}

enum atl_err atl_kp_generate(struct atl_kp *kp_out)
{
	struct atl_kp kp = {0};
	enum atl_err rc = ATL_E_INTERNAL;

	memset(kp_out, 0, sizeof(*kp_out));
	kp.priv = atl_secret_alloc(ATL_X25519_LEN);
	if (kp.priv == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	/* Any 32 random bytes are a valid X25519 private key: clamping happens
	 * inside the scalar multiplication (RFC 7748 §5). */
	ATL_TRY(atl_random(kp.priv, ATL_X25519_LEN));
	ATL_TRY(x25519_public(kp.priv, kp.pub));
	*kp_out = kp;
	kp.priv = NULL;
	rc = ATL_OK;
out:
	atl_kp_clear(&kp);
	return rc;
}

void atl_kp_clear(struct atl_kp *kp)
{
	if (kp == NULL)
		return;
	atl_secret_free(kp->priv);
	kp->priv = NULL;
	memset(kp->pub, 0, sizeof(kp->pub));
}

enum atl_err atl_key_id(const char *prefix, const uint8_t pub[ATL_X25519_LEN],
			char out[ATL_KEY_ID_LEN])
{
	uint8_t h[ATL_SHA256_LEN];
	enum atl_err rc = ATL_E_INTERNAL;

	memset(out, 0, ATL_KEY_ID_LEN);
	if (prefix == NULL || pub == NULL ||
	    (strcmp(prefix, "ek_") != 0 && strcmp(prefix, "ck_") != 0))
		return ATL_E_ARG;
	ATL_TRY(atl_hash(ATL_HASH_SHA256, pub, ATL_X25519_LEN, h));
	memcpy(out, prefix, 3);
	ATL_TRY(atl_hex_encode(h, 16, out + 3, ATL_KEY_ID_LEN - 3));
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		memset(out, 0, ATL_KEY_ID_LEN);
	return rc;
}
