/* HPKE (RFC 9180) on OpenSSL 3.0 primitives; see include/atoll/hpke.h.
 *
 * Written by hand because OSSL_HPKE only arrived in OpenSSL 3.2 and Debian
 * stable ships 3.0. All four modes (base, psk, auth, auth_psk). The pieces are:
 *   LabeledExtract / LabeledExpand (§4)  - EVP_KDF "HKDF", EXTRACT_ONLY / EXPAND_ONLY
 *   DHKEM(X25519, HKDF-SHA256) (§4.1)    - EVP_PKEY X25519 derive
 *   KeySchedule (§5.1), Seal/Open (§5.2) - atl_aead_* (EVP_CIPHER)
 *   Export (§5.3)
 * Every intermediate secret sits in a stack buffer wiped at `out:` or in the
 * context, which lives in atl_secret_alloc memory. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "atoll/hpke.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"
#include "crypto/hpke_testing.h"
#include "crypto/ossl.h"

#define NH 32          /* HKDF-SHA256 output length */
#define NSECRET 32     /* DHKEM(X25519) shared secret length */
#define NN 12          /* nonce length of all three AEADs */
#define SUITE_ID_MAX 10 /* "HPKE" || kem || kdf || aead */
#define LABEL_MAX 16   /* longest label: "shared_secret" */

/* LabeledExtract's input: "HPKE-v1" || suite_id || label || ikm. */
#define LABELED_IKM_MAX (7 + SUITE_ID_MAX + LABEL_MAX + ATL_HPKE_INFO_MAX)
/* LabeledExpand's info: I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info.
 * OpenSSL 3.0's HKDF accepts at most 1024 bytes of info. */
#define LABELED_INFO_MAX (2 + 7 + SUITE_ID_MAX + LABEL_MAX + ATL_HPKE_EXPORT_CONTEXT_MAX)

_Static_assert(ATL_HPKE_PSK_MAX <= ATL_HPKE_INFO_MAX, "psk fits the labeled-ikm buffer");
_Static_assert(ATL_HPKE_PSK_ID_MAX <= ATL_HPKE_INFO_MAX, "psk_id fits");
_Static_assert(ATL_HPKE_IKM_MAX <= ATL_HPKE_INFO_MAX, "ikm fits");
_Static_assert(LABELED_INFO_MAX <= 1024, "OpenSSL 3.0 HKDF info limit");

enum role { ROLE_SENDER = 1, ROLE_RECEIVER = 2 };

struct atl_hpke_ctx {
	struct atl_hpke_suite suite;
	enum role role;
	uint64_t seq;
	size_t key_len;
	uint8_t key[ATL_AEAD_KEY_MAX_LEN];
	uint8_t base_nonce[NN];
	uint8_t exporter_secret[NH];
	uint8_t suite_id[SUITE_ID_MAX];
};

/* The HKDF implementation is fetched once. (OpenSSL 3.0's HKDF cannot
 * duplicate a context, so the digest is set by name on each call.) */
static pthread_once_t kdf_once = PTHREAD_ONCE_INIT;
static EVP_KDF *kdf_hkdf;

static void fetch_kdf(void)
{
	kdf_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

/* ---- HKDF-SHA256 through EVP_KDF ---------------------------------------- */

static enum atl_err hkdf(int mode, const uint8_t *key, size_t key_len, const uint8_t *salt,
			 size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
			 size_t out_len)
{
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[6], *p = params;
	enum atl_err rc = ATL_E_INTERNAL;

	pthread_once(&kdf_once, fetch_kdf);
	if (kdf_hkdf == NULL)
		return atl_ossl_fail("EVP_KDF_fetch(HKDF)");
	kctx = EVP_KDF_CTX_new(kdf_hkdf);
	if (kctx == NULL) {
		rc = atl_ossl_fail("EVP_KDF_CTX_new");
		goto out;
	}
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (salt != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 salt_len);
	if (info != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
							 info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
		rc = atl_ossl_fail("EVP_KDF_derive(HKDF)");
		goto out;
	}
	rc = ATL_OK;
out:
	EVP_KDF_CTX_free(kctx);
	return rc;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id ||
 * label || ikm), RFC 9180 §4. An empty salt is HashLen zero bytes (RFC 5869
 * §2.2), which is also what HMAC does with an empty key. */
static enum atl_err labeled_extract(const uint8_t *suite_id, size_t suite_id_len,
				    const uint8_t *salt, size_t salt_len, const char *label,
				    const uint8_t *ikm, size_t ikm_len, uint8_t prk_out[NH])
{
	static const uint8_t zeros[NH];
	uint8_t buf[LABELED_IKM_MAX];
	size_t label_len = strlen(label), n = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (label_len > LABEL_MAX || suite_id_len > SUITE_ID_MAX || ikm_len > ATL_HPKE_INFO_MAX)
		return ATL_E_INTERNAL;
	memcpy(buf, "HPKE-v1", 7);
	n = 7;
	memcpy(buf + n, suite_id, suite_id_len);
	n += suite_id_len;
	memcpy(buf + n, label, label_len);
	n += label_len;
	if (ikm_len > 0)
		memcpy(buf + n, ikm, ikm_len);
	n += ikm_len;
	if (salt_len == 0) {
		salt = zeros;
		salt_len = NH;
	}
	ATL_TRY(hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, buf, n, salt, salt_len, NULL, 0, prk_out,
		     NH));
	rc = ATL_OK;
out:
	atl_wipe(buf, sizeof(buf));
	return rc;
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" ||
 * suite_id || label || info, L), RFC 9180 §4. */
static enum atl_err labeled_expand(const uint8_t *suite_id, size_t suite_id_len,
				   const uint8_t prk[NH], const char *label, const uint8_t *info,
				   size_t info_len, uint8_t *out, size_t out_len)
{
	uint8_t buf[LABELED_INFO_MAX];
	size_t label_len = strlen(label), n = 0;

	if (label_len > LABEL_MAX || suite_id_len > SUITE_ID_MAX ||
	    info_len > ATL_HPKE_EXPORT_CONTEXT_MAX || out_len > 0xffff)
		return ATL_E_INTERNAL;
	buf[n++] = (uint8_t)(out_len >> 8);
	buf[n++] = (uint8_t)out_len;
	memcpy(buf + n, "HPKE-v1", 7);
	n += 7;
	memcpy(buf + n, suite_id, suite_id_len);
	n += suite_id_len;
	memcpy(buf + n, label, label_len);
	n += label_len;
	if (info_len > 0)
		memcpy(buf + n, info, info_len);
	n += info_len;
	/* Nothing secret in buf: labels and public context. */
	return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, NH, NULL, 0, buf, n, out, out_len);
}

/* ---- DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1 -------------------------- */

static const uint8_t kem_suite_id[5] = {'K', 'E', 'M', 0x00, 0x20};

/* EVP_PKEY for our own X25519 key pair. Importing the public half with the
 * private one spares OpenSSL a scalar multiplication to recompute it (which
 * EVP_PKEY_new_raw_private_key always does). */
static EVP_PKEY *x25519_own(const uint8_t sk[32], const uint8_t pk[32])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	EVP_PKEY *key = NULL;
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pk, 32);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)sk, 32);
	params[2] = OSSL_PARAM_construct_end();
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &key, EVP_PKEY_KEYPAIR, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(c);
	return key;
}

/* DH(sk, pk_peer) for our key pair (sk, pk_self), with the all-zero output
 * rejected (RFC 9180 §7.1.4). pk_self must be the public key of sk. */
static enum atl_err x25519_dh(const uint8_t sk[32], const uint8_t pk_self[32],
			      const uint8_t pk_peer[32], uint8_t out[32])
{
	static const uint8_t zeros[32];
	EVP_PKEY *priv = NULL, *peer = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 32;
	enum atl_err rc = ATL_E_INTERNAL;

	priv = x25519_own(sk, pk_self);
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk_peer, 32);
	if (priv == NULL || peer == NULL) {
		rc = atl_ossl_fail("X25519 key import");
		goto out;
	}
	pctx = EVP_PKEY_CTX_new(priv, NULL);
	if (pctx == NULL || EVP_PKEY_derive_init(pctx) != 1 ||
	    EVP_PKEY_derive_set_peer(pctx, peer) != 1 ||
	    EVP_PKEY_derive(pctx, out, &len) != 1 || len != 32) {
		rc = atl_ossl_fail("EVP_PKEY_derive(X25519)");
		goto out;
	}
	if (atl_ct_eq(out, zeros, 32)) {
		rc = ATL_E_CRYPTO; /* low-order public key */
		goto out;
	}
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_wipe(out, 32);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
	return rc;
}

/* ExtractAndExpand(dh, kem_context) with kem_context = enc || pkRm [|| pkSm]
 * (RFC 9180 §4.1): dh is 32 bytes (Encap/Decap) or 64 (AuthEncap/AuthDecap),
 * pk_s is NULL outside the auth modes. */
static enum atl_err extract_and_expand(const uint8_t *dh, size_t dh_len, const uint8_t enc[32],
				       const uint8_t pk_r[32], const uint8_t *pk_s,
				       uint8_t shared_out[NSECRET])
{
	uint8_t eae_prk[NH], kem_context[96];
	size_t kc_len = 64;
	enum atl_err rc = ATL_E_INTERNAL;

	memcpy(kem_context, enc, 32);
	memcpy(kem_context + 32, pk_r, 32);
	if (pk_s != NULL) {
		memcpy(kem_context + 64, pk_s, 32);
		kc_len = 96;
	}
	ATL_TRY(labeled_extract(kem_suite_id, sizeof(kem_suite_id), NULL, 0, "eae_prk", dh,
				dh_len, eae_prk));
	ATL_TRY(labeled_expand(kem_suite_id, sizeof(kem_suite_id), eae_prk, "shared_secret",
			       kem_context, kc_len, shared_out, NSECRET));
	rc = ATL_OK;
out:
	atl_wipe(eae_prk, sizeof(eae_prk));
	return rc;
}

enum atl_err atl_hpke_suite_check(struct atl_hpke_suite suite)
{
	if (suite.kem_id != ATL_HPKE_KEM_X25519_SHA256 || suite.kdf_id != ATL_HPKE_KDF_HKDF_SHA256)
		return ATL_E_UNSUPPORTED;
	if (atl_aead_key_len((enum atl_aead)suite.aead_id) == 0)
		return ATL_E_UNSUPPORTED;
	return ATL_OK;
}

enum atl_err atl_hpke_derive_keypair(struct atl_hpke_suite suite, const uint8_t *ikm,
				     size_t ikm_len, struct atl_kp *kp_out)
{
	uint8_t dkp_prk[NH], sk[32];
	enum atl_err rc = ATL_E_INTERNAL;

	memset(kp_out, 0, sizeof(*kp_out));
	ATL_TRY(atl_hpke_suite_check(suite));
	/* RFC 9180 §7.1.3: ikm SHOULD have at least Nsk bytes of entropy. */
	if (ikm == NULL || ikm_len < ATL_HPKE_PRIV_LEN)
		return ATL_E_ARG;
	if (ikm_len > ATL_HPKE_IKM_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(labeled_extract(kem_suite_id, sizeof(kem_suite_id), NULL, 0, "dkp_prk", ikm,
				ikm_len, dkp_prk));
	ATL_TRY(labeled_expand(kem_suite_id, sizeof(kem_suite_id), dkp_prk, "sk", NULL, 0, sk,
			       sizeof(sk)));
	ATL_TRY(atl_kp_from_private(sk, kp_out));
	rc = ATL_OK;
out:
	atl_wipe(dkp_prk, sizeof(dkp_prk));
	atl_wipe(sk, sizeof(sk));
	return rc;
}

/* ---- Key schedule, RFC 9180 §5.1 ---------------------------------------- */

static enum atl_err check_psk(const struct atl_hpke_psk *psk)
{
	/* VerifyPSKInputs: psk and psk_id both present (mode_psk) or both
	 * absent (mode_base, psk == NULL). */
	if (psk == NULL)
		return ATL_OK;
	if (psk->psk == NULL || psk->id == NULL || psk->psk_len < ATL_HPKE_PSK_MIN_LEN ||
	    psk->id_len == 0)
		return ATL_E_ARG;
	if (psk->psk_len > ATL_HPKE_PSK_MAX || psk->id_len > ATL_HPKE_PSK_ID_MAX)
		return ATL_E_LIMIT;
	return ATL_OK;
}

static enum atl_err check_common(struct atl_hpke_suite suite, const uint8_t *info,
				 size_t info_len, const struct atl_hpke_psk *psk)
{
	enum atl_err rc = atl_hpke_suite_check(suite);

	if (rc != ATL_OK)
		return rc;
	if (info == NULL && info_len != 0)
		return ATL_E_ARG;
	if (info_len > ATL_HPKE_INFO_MAX)
		return ATL_E_LIMIT;
	return check_psk(psk);
}

static enum atl_err key_schedule(struct atl_hpke_suite suite, enum role role, bool auth,
				 const uint8_t shared[NSECRET], const uint8_t *info,
				 size_t info_len, const struct atl_hpke_psk *psk,
				 struct atl_hpke_ctx **ctx_out)
{
	struct atl_hpke_ctx *ctx = NULL;
	uint8_t ksc[1 + 2 * NH], secret[NH];
	uint8_t mode = auth ? (psk != NULL ? ATL_HPKE_MODE_AUTH_PSK : ATL_HPKE_MODE_AUTH)
			    : (psk != NULL ? ATL_HPKE_MODE_PSK : ATL_HPKE_MODE_BASE);
	enum atl_err rc = ATL_E_INTERNAL;

	ctx = atl_secret_alloc(sizeof(*ctx));
	if (ctx == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ctx->suite = suite;
	ctx->role = role;
	ctx->seq = 0;
	ctx->key_len = atl_aead_key_len((enum atl_aead)suite.aead_id);
	memcpy(ctx->suite_id, "HPKE", 4);
	ctx->suite_id[4] = (uint8_t)(suite.kem_id >> 8);
	ctx->suite_id[5] = (uint8_t)suite.kem_id;
	ctx->suite_id[6] = (uint8_t)(suite.kdf_id >> 8);
	ctx->suite_id[7] = (uint8_t)suite.kdf_id;
	ctx->suite_id[8] = (uint8_t)(suite.aead_id >> 8);
	ctx->suite_id[9] = (uint8_t)suite.aead_id;

	/* key_schedule_context = mode || psk_id_hash || info_hash */
	ksc[0] = mode;
	ATL_TRY(labeled_extract(ctx->suite_id, SUITE_ID_MAX, NULL, 0, "psk_id_hash",
				psk != NULL ? psk->id : NULL, psk != NULL ? psk->id_len : 0,
				ksc + 1));
	ATL_TRY(labeled_extract(ctx->suite_id, SUITE_ID_MAX, NULL, 0, "info_hash", info,
				info_len, ksc + 1 + NH));
	/* secret = LabeledExtract(shared_secret, "secret", psk) */
	ATL_TRY(labeled_extract(ctx->suite_id, SUITE_ID_MAX, shared, NSECRET, "secret",
				psk != NULL ? psk->psk : NULL, psk != NULL ? psk->psk_len : 0,
				secret));
	ATL_TRY(labeled_expand(ctx->suite_id, SUITE_ID_MAX, secret, "key", ksc, sizeof(ksc),
			       ctx->key, ctx->key_len));
	ATL_TRY(labeled_expand(ctx->suite_id, SUITE_ID_MAX, secret, "base_nonce", ksc,
			       sizeof(ksc), ctx->base_nonce, NN));
	ATL_TRY(labeled_expand(ctx->suite_id, SUITE_ID_MAX, secret, "exp", ksc, sizeof(ksc),
			       ctx->exporter_secret, NH));
	*ctx_out = ctx;
	ctx = NULL;
	rc = ATL_OK;
out:
	atl_wipe(secret, sizeof(secret));
	atl_hpke_ctx_free(ctx);
	return rc;
}

/* ---- Setup, RFC 9180 §5.1.1 - §5.1.4 ----------------------------------- */

/* Encap (or AuthEncap when kp_s is not NULL) with a given ephemeral key
 * pair, then KeySchedule. */
static enum atl_err setup_sender_with(struct atl_hpke_suite suite, const uint8_t *pk_r,
				      const struct atl_kp *eph, const struct atl_kp *kp_s,
				      const uint8_t *info, size_t info_len,
				      const struct atl_hpke_psk *psk,
				      uint8_t enc_out[ATL_HPKE_ENC_LEN],
				      struct atl_hpke_ctx **ctx_out)
{
	uint8_t dh[64], shared[NSECRET];
	enum atl_err rc = ATL_E_INTERNAL;

	/* dh = DH(skE, pkR) [|| DH(skS, pkR)] */
	ATL_TRY(x25519_dh(eph->priv, eph->pub, pk_r, dh));
	if (kp_s != NULL)
		ATL_TRY(x25519_dh(kp_s->priv, kp_s->pub, pk_r, dh + 32));
	ATL_TRY(extract_and_expand(dh, kp_s != NULL ? 64 : 32, eph->pub, pk_r,
				   kp_s != NULL ? kp_s->pub : NULL, shared));
	ATL_TRY(key_schedule(suite, ROLE_SENDER, kp_s != NULL, shared, info, info_len, psk,
			     ctx_out));
	memcpy(enc_out, eph->pub, ATL_HPKE_ENC_LEN); /* SerializePublicKey(pkE) */
	rc = ATL_OK;
out:
	atl_wipe(dh, sizeof(dh));
	atl_wipe(shared, sizeof(shared));
	return rc;
}

static enum atl_err sender_args(struct atl_hpke_suite suite, const uint8_t *pk_r,
				size_t pk_r_len, const uint8_t *info, size_t info_len,
				const struct atl_hpke_psk *psk, const uint8_t *enc_out,
				struct atl_hpke_ctx *const *ctx_out)
{
	if (ctx_out == NULL || enc_out == NULL)
		return ATL_E_ARG;
	if (pk_r == NULL || pk_r_len != ATL_HPKE_PUB_LEN)
		return ATL_E_ARG;
	return check_common(suite, info, info_len, psk);
}

/* Sender setup for every mode: a random ephemeral key, or DeriveKeyPair(ikm_e)
 * for the test vectors. */
static enum atl_err setup_sender(struct atl_hpke_suite suite, const uint8_t *pk_r,
				 size_t pk_r_len, const struct atl_kp *kp_s, const uint8_t *ikm_e,
				 size_t ikm_e_len, const uint8_t *info, size_t info_len,
				 const struct atl_hpke_psk *psk, uint8_t enc_out[ATL_HPKE_ENC_LEN],
				 struct atl_hpke_ctx **ctx_out)
{
	struct atl_kp eph = {0};
	enum atl_err rc = ATL_E_INTERNAL;

	if (ctx_out != NULL)
		*ctx_out = NULL;
	ATL_TRY(sender_args(suite, pk_r, pk_r_len, info, info_len, psk, enc_out, ctx_out));
	if (ikm_e != NULL)
		ATL_TRY(atl_hpke_derive_keypair(suite, ikm_e, ikm_e_len, &eph));
	else
		ATL_TRY(atl_kp_generate(&eph)); /* GenerateKeyPair() */
	ATL_TRY(setup_sender_with(suite, pk_r, &eph, kp_s, info, info_len, psk, enc_out,
				  ctx_out));
	rc = ATL_OK;
out:
	atl_kp_clear(&eph);
	return rc;
}

enum atl_err atl_hpke_setup_sender(struct atl_hpke_suite suite, const uint8_t *pk_r,
				   size_t pk_r_len, const uint8_t *info, size_t info_len,
				   const struct atl_hpke_psk *psk,
				   uint8_t enc_out[ATL_HPKE_ENC_LEN], struct atl_hpke_ctx **ctx_out)
{
	return setup_sender(suite, pk_r, pk_r_len, NULL, NULL, 0, info, info_len, psk, enc_out,
			    ctx_out);
}

enum atl_err atl_hpke_setup_sender_auth(struct atl_hpke_suite suite, const uint8_t *pk_r,
					size_t pk_r_len, const struct atl_kp *kp_s,
					const uint8_t *info, size_t info_len,
					const struct atl_hpke_psk *psk,
					uint8_t enc_out[ATL_HPKE_ENC_LEN],
					struct atl_hpke_ctx **ctx_out)
{
	if (ctx_out != NULL)
		*ctx_out = NULL;
	if (kp_s == NULL || kp_s->priv == NULL)
		return ATL_E_ARG;
	return setup_sender(suite, pk_r, pk_r_len, kp_s, NULL, 0, info, info_len, psk, enc_out,
			    ctx_out);
}

enum atl_err atl_hpke_setup_sender_with_ikm_for_testing(
	struct atl_hpke_suite suite, const uint8_t *pk_r, size_t pk_r_len, const struct atl_kp *kp_s,
	const uint8_t *ikm_e, size_t ikm_e_len, const uint8_t *info, size_t info_len,
	const struct atl_hpke_psk *psk, uint8_t enc_out[ATL_HPKE_ENC_LEN],
	struct atl_hpke_ctx **ctx_out)
{
	if (ctx_out != NULL)
		*ctx_out = NULL;
	if (ikm_e == NULL || (kp_s != NULL && kp_s->priv == NULL))
		return ATL_E_ARG;
	return setup_sender(suite, pk_r, pk_r_len, kp_s, ikm_e, ikm_e_len, info, info_len, psk,
			    enc_out, ctx_out);
}

/* Decap (or AuthDecap when pk_s is not NULL), then KeySchedule. */
static enum atl_err setup_receiver(struct atl_hpke_suite suite, const uint8_t *enc,
				   size_t enc_len, const struct atl_kp *kp_r, const uint8_t *pk_s,
				   const uint8_t *info, size_t info_len,
				   const struct atl_hpke_psk *psk, struct atl_hpke_ctx **ctx_out)
{
	uint8_t dh[64], shared[NSECRET];
	enum atl_err rc = ATL_E_INTERNAL;

	if (ctx_out == NULL)
		return ATL_E_ARG;
	*ctx_out = NULL;
	if (enc == NULL || enc_len != ATL_HPKE_ENC_LEN || kp_r == NULL || kp_r->priv == NULL)
		return ATL_E_ARG;
	ATL_TRY(check_common(suite, info, info_len, psk));
	/* pkE = DeserializePublicKey(enc); dh = DH(skR, pkE) [|| DH(skR, pkS)] */
	ATL_TRY(x25519_dh(kp_r->priv, kp_r->pub, enc, dh));
	if (pk_s != NULL)
		ATL_TRY(x25519_dh(kp_r->priv, kp_r->pub, pk_s, dh + 32));
	ATL_TRY(extract_and_expand(dh, pk_s != NULL ? 64 : 32, enc, kp_r->pub, pk_s, shared));
	ATL_TRY(key_schedule(suite, ROLE_RECEIVER, pk_s != NULL, shared, info, info_len, psk,
			     ctx_out));
	rc = ATL_OK;
out:
	atl_wipe(dh, sizeof(dh));
	atl_wipe(shared, sizeof(shared));
	return rc;
}

enum atl_err atl_hpke_setup_receiver(struct atl_hpke_suite suite, const uint8_t *enc,
				     size_t enc_len, const struct atl_kp *kp_r,
				     const uint8_t *info, size_t info_len,
				     const struct atl_hpke_psk *psk, struct atl_hpke_ctx **ctx_out)
{
	return setup_receiver(suite, enc, enc_len, kp_r, NULL, info, info_len, psk, ctx_out);
}

enum atl_err atl_hpke_setup_receiver_auth(struct atl_hpke_suite suite, const uint8_t *enc,
					  size_t enc_len, const struct atl_kp *kp_r,
					  const uint8_t *pk_s, size_t pk_s_len,
					  const uint8_t *info, size_t info_len,
					  const struct atl_hpke_psk *psk,
					  struct atl_hpke_ctx **ctx_out)
{
	if (ctx_out != NULL)
		*ctx_out = NULL;
	if (pk_s == NULL || pk_s_len != ATL_HPKE_PUB_LEN)
		return ATL_E_ARG;
	return setup_receiver(suite, enc, enc_len, kp_r, pk_s, info, info_len, psk, ctx_out);
}

/* ---- Encryption and export, RFC 9180 §5.2 / §5.3 ------------------------ */

/* ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
static void compute_nonce(const struct atl_hpke_ctx *ctx, uint8_t nonce[NN])
{
	memcpy(nonce, ctx->base_nonce, NN);
	for (size_t i = 0; i < 8; i++)
		nonce[NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

typedef enum atl_err (*aead_fn)(enum atl_aead aead, const uint8_t *key, size_t key_len,
				const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
				size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
				size_t out_cap, size_t *out_len);

/* One Seal or Open of the context in its role: the nonce of the current
 * sequence number, which advances only on success. */
static enum atl_err aead_step(struct atl_hpke_ctx *ctx, enum role role, aead_fn fn, const uint8_t *aad,
			      size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
			      size_t out_cap, size_t *out_len_out)
{
	uint8_t nonce[NN];
	enum atl_err rc;

	if (out_len_out == NULL)
		return ATL_E_ARG;
	*out_len_out = 0;
	if (ctx == NULL)
		return ATL_E_ARG;
	if (ctx->role != role)
		return ATL_E_STATE;
	/* IncrementSeq would overflow: MessageLimitReachedError. The counter is
	 * 64 bits, so the limit is 2^64 - 1 messages rather than 2^96 - 1. */
	if (ctx->seq == UINT64_MAX)
		return ATL_E_STATE;
	compute_nonce(ctx, nonce);
	rc = fn((enum atl_aead)ctx->suite.aead_id, ctx->key, ctx->key_len, nonce, NN, aad, aad_len,
		in, in_len, out, out_cap, out_len_out);
	if (rc == ATL_OK)
		ctx->seq++;
	return rc;
}

enum atl_err atl_hpke_seal(struct atl_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
			   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
			   size_t *out_len_out)
{
	return aead_step(ctx, ROLE_SENDER, atl_aead_seal, aad, aad_len, pt, pt_len, out, out_cap,
			 out_len_out);
}

enum atl_err atl_hpke_open(struct atl_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
			   const uint8_t *ct, size_t ct_len, uint8_t *out, size_t out_cap,
			   size_t *out_len_out)
{
	return aead_step(ctx, ROLE_RECEIVER, atl_aead_open, aad, aad_len, ct, ct_len, out, out_cap,
			 out_len_out);
}

enum atl_err atl_hpke_export(const struct atl_hpke_ctx *ctx, const uint8_t *exporter_context,
			     size_t context_len, uint8_t *out, size_t out_len)
{
	if (ctx == NULL || out == NULL || out_len == 0 || out_len > ATL_HPKE_EXPORT_MAX ||
	    (exporter_context == NULL && context_len != 0))
		return ATL_E_ARG;
	if (context_len > ATL_HPKE_EXPORT_CONTEXT_MAX)
		return ATL_E_LIMIT;
	return labeled_expand(ctx->suite_id, SUITE_ID_MAX, ctx->exporter_secret, "sec",
			      exporter_context, context_len, out, out_len);
}

void atl_hpke_ctx_free(struct atl_hpke_ctx *ctx)
{
	atl_secret_free(ctx); /* wipes key, nonce and exporter secret */
}

void atl_hpke_ctx_set_seq_for_testing(struct atl_hpke_ctx *ctx, uint64_t seq)
{
	if (ctx != NULL)
		ctx->seq = seq;
}

/* ---- Single-shot, RFC 9180 §6.1 ----------------------------------------- */

enum atl_err atl_hpke_seal_single(struct atl_hpke_suite suite, const uint8_t *pk_r,
				  size_t pk_r_len, const uint8_t *info, size_t info_len,
				  const struct atl_hpke_psk *psk, const uint8_t *aad,
				  size_t aad_len, const uint8_t *pt, size_t pt_len,
				  uint8_t enc_out[ATL_HPKE_ENC_LEN], uint8_t *out, size_t out_cap,
				  size_t *out_len_out)
{
	struct atl_hpke_ctx *ctx = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out_len_out == NULL)
		return ATL_E_ARG;
	*out_len_out = 0;
	ATL_TRY(atl_hpke_setup_sender(suite, pk_r, pk_r_len, info, info_len, psk, enc_out,
				      &ctx));
	ATL_TRY(atl_hpke_seal(ctx, aad, aad_len, pt, pt_len, out, out_cap, out_len_out));
	rc = ATL_OK;
out:
	atl_hpke_ctx_free(ctx);
	return rc;
}

enum atl_err atl_hpke_open_single(struct atl_hpke_suite suite, const uint8_t *enc,
				  size_t enc_len, const struct atl_kp *kp_r, const uint8_t *info,
				  size_t info_len, const struct atl_hpke_psk *psk,
				  const uint8_t *aad, size_t aad_len, const uint8_t *ct,
				  size_t ct_len, uint8_t *out, size_t out_cap, size_t *out_len_out)
{
	struct atl_hpke_ctx *ctx = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out_len_out == NULL)
		return ATL_E_ARG;
	*out_len_out = 0;
	ATL_TRY(atl_hpke_setup_receiver(suite, enc, enc_len, kp_r, info, info_len, psk, &ctx));
	ATL_TRY(atl_hpke_open(ctx, aad, aad_len, ct, ct_len, out, out_cap, out_len_out));
	rc = ATL_OK;
out:
	atl_hpke_ctx_free(ctx);
	return rc;
}
