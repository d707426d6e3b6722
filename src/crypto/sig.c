/* Public keys and signatures over OpenSSL 3 EVP; see include/atoll/sig.h.
 *
 * Keys are EVP_PKEYs wrapped in struct atl_pubkey / atl_privkey (crypto/pkey.h,
 * shared with x509.c). Every OpenSSL 1/0 result becomes an Atoll error with the
 * error queue drained into the debug log (crypto/ossl.h). */
#define ATL_LOG_MODULE "sig"
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "atoll/limits.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "crypto/ossl.h"
#include "crypto/pkey.h"

/* ---- algorithm table ---- */

enum key_kind { KIND_EC, KIND_RSA };

struct alg_info {
	enum key_kind kind;
	int curve_bits; /* EC only */
	enum atl_hash hash;
	bool pss;
};

static enum atl_err alg_lookup(enum atl_sig_alg alg, struct alg_info *ai)
{
	memset(ai, 0, sizeof(*ai));
	switch (alg) {
	case ATL_SIG_ECDSA_P256_SHA256:
		*ai = (struct alg_info){KIND_EC, 256, ATL_HASH_SHA256, false};
		return ATL_OK;
	case ATL_SIG_ECDSA_P384_SHA384:
		*ai = (struct alg_info){KIND_EC, 384, ATL_HASH_SHA384, false};
		return ATL_OK;
	case ATL_SIG_ECDSA_P384_SHA256:
		*ai = (struct alg_info){KIND_EC, 384, ATL_HASH_SHA256, false};
		return ATL_OK;
	case ATL_SIG_ECDSA_P256_SHA384:
		*ai = (struct alg_info){KIND_EC, 256, ATL_HASH_SHA384, false};
		return ATL_OK;
	case ATL_SIG_RSA_PSS_SHA256:
		*ai = (struct alg_info){KIND_RSA, 0, ATL_HASH_SHA256, true};
		return ATL_OK;
	case ATL_SIG_RSA_PSS_SHA384:
		*ai = (struct alg_info){KIND_RSA, 0, ATL_HASH_SHA384, true};
		return ATL_OK;
	case ATL_SIG_RSA_PKCS1_SHA256:
		*ai = (struct alg_info){KIND_RSA, 0, ATL_HASH_SHA256, false};
		return ATL_OK;
	case ATL_SIG_RSA_PKCS1_SHA384:
		*ai = (struct alg_info){KIND_RSA, 0, ATL_HASH_SHA384, false};
		return ATL_OK;
	case ATL_SIG_ECDSA_P521_SHA512:
		*ai = (struct alg_info){KIND_EC, 521, ATL_HASH_SHA512, false};
		return ATL_OK;
	}
	return ATL_E_ARG;
}

static const char *curve_name(int bits)
{
	switch (bits) {
	case 256:
		return "prime256v1";
	case 384:
		return "secp384r1";
	default:
		return NULL;
	}
}

/* Bytes of one coordinate (and of r or s) on a curve of that many bits:
 * 32, 48, and 66 for P-521 (SEC 1 §2.3.5 rounds up). */
static size_t ec_coord_len(int bits)
{
	return ((size_t)bits + 7) / 8;
}

/* The curve size of an EC key on P-256, P-384 or P-521, else 0. */
static int ec_curve_bits(EVP_PKEY *pk)
{
	char name[64];
	size_t name_len = 0;

	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
					   &name_len) != 1) {
		(void)atl_ossl_fail("group name");
		return 0;
	}
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
		return 256;
	if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return 384;
	if (strcmp(name, "secp521r1") == 0 || strcmp(name, "P-521") == 0)
		return 521; /* ES512 (COSE); keys parse, verify and sign, never generated here */
	return 0;
}

/* Does the key fit the algorithm? ATL_E_ARG if not. */
static enum atl_err key_fits(EVP_PKEY *pk, const struct alg_info *ai)
{
	if (ai->kind == KIND_EC)
		return ec_curve_bits(pk) == ai->curve_bits ? ATL_OK : ATL_E_ARG;
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		return ATL_E_ARG;
	if (EVP_PKEY_get_bits(pk) < (int)ATL_SIG_RSA_BITS_MIN)
		return ATL_E_ARG;
	return ATL_OK;
}

/* ---- public keys ---- */

static bool is_pem(const uint8_t *buf, size_t len)
{
	static const char tag[] = "-----BEGIN";
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return len - i >= sizeof(tag) - 1 && memcmp(buf + i, tag, sizeof(tag) - 1) == 0;
}

static enum atl_err wrap_pub(EVP_PKEY *pk, struct atl_pubkey **out)
{
	struct atl_pubkey *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		EVP_PKEY_free(pk);
		return ATL_E_NOMEM;
	}
	k->pkey = pk;
	*out = k;
	return ATL_OK;
}

/* Only EC (P-256/P-384/P-521) and RSA keys of sane size are accepted anywhere. */
static enum atl_err check_supported(EVP_PKEY *pk)
{
	int id = EVP_PKEY_get_base_id(pk);

	if (id == EVP_PKEY_EC)
		return ec_curve_bits(pk) != 0 ? ATL_OK : ATL_E_UNSUPPORTED;
	if (id == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(pk);
		if (bits < (int)ATL_SIG_RSA_BITS_MIN || bits > (int)ATL_SIG_RSA_BITS_MAX)
			return ATL_E_UNSUPPORTED;
		return ATL_OK;
	}
	return ATL_E_UNSUPPORTED;
}

enum atl_err atl_pubkey_parse(const uint8_t *buf, size_t len, struct atl_pubkey **out)
{
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	if (buf == NULL || len == 0)
		return ATL_E_FORMAT;
	if (len > ATL_SIG_KEY_INPUT_MAX)
		return ATL_E_LIMIT;
	if (is_pem(buf, len)) {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (bio == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		if (pk == NULL) {
			rc = atl_ossl_fail_as("PEM_read_bio_PUBKEY", ATL_E_FORMAT);
			goto out;
		}
	} else {
		const unsigned char *p = buf;
		pk = d2i_PUBKEY(NULL, &p, (long)len);
		if (pk == NULL) {
			rc = atl_ossl_fail_as("d2i_PUBKEY", ATL_E_FORMAT);
			goto out;
		}
		if (p != buf + len) {
			rc = ATL_E_TRAILING;
			goto out;
		}
	}
	ATL_TRY(check_supported(pk));
	ATL_TRY(wrap_pub(pk, out));
	pk = NULL;
	rc = ATL_OK;
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return rc;
}

enum atl_err atl_pubkey_from_ec_xy(int curve_bits, const uint8_t *x, const uint8_t *y,
				   size_t coord_len, struct atl_pubkey **out)
{
	const char *group = curve_name(curve_bits);
	uint8_t pt[1 + 2 * 48];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pk = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	if (group == NULL)
		return ATL_E_UNSUPPORTED;
	if (coord_len != (size_t)curve_bits / 8)
		return ATL_E_FORMAT;
	pt[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
	memcpy(pt + 1, x, coord_len);
	memcpy(pt + 1 + coord_len, y, coord_len);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     1 + 2 * coord_len) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		rc = atl_ossl_fail_as("OSSL_PARAM_BLD", ATL_E_NOMEM);
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
		rc = atl_ossl_fail("EVP_PKEY_fromdata_init");
		goto out;
	}
	/* Decoding the point rejects coordinates off the curve. */
	if (EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = atl_ossl_fail_as("EVP_PKEY_fromdata(EC)", ATL_E_FORMAT);
		goto out;
	}
	/* Belt and braces: full public-key validation (SP 800-56A §5.6.2.3.3). */
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
		rc = atl_ossl_fail_as("EVP_PKEY_public_check", ATL_E_FORMAT);
		goto out;
	}
	ATL_TRY(wrap_pub(pk, out));
	pk = NULL;
	rc = ATL_OK;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(chk);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

enum atl_err atl_pubkey_from_rsa(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
				 struct atl_pubkey **out)
{
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	if (n == NULL || e == NULL || n_len == 0 || e_len == 0 || e_len > 8)
		return ATL_E_FORMAT;
	if (n_len > ATL_SIG_RSA_BITS_MAX / 8)
		return ATL_E_LIMIT;
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	if (bn_n == NULL || bn_e == NULL) {
		rc = atl_ossl_fail_as("BN_bin2bn", ATL_E_NOMEM);
		goto out;
	}
	/* An even modulus, an exponent < 3 or even: not an RSA public key. */
	if (BN_num_bits(bn_n) < (int)ATL_SIG_RSA_BITS_MIN || !BN_is_odd(bn_n) ||
	    !BN_is_odd(bn_e) || BN_is_one(bn_e)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		rc = atl_ossl_fail_as("OSSL_PARAM_BLD", ATL_E_NOMEM);
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
		rc = atl_ossl_fail("EVP_PKEY_fromdata_init");
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = atl_ossl_fail_as("EVP_PKEY_fromdata(RSA)", ATL_E_FORMAT);
		goto out;
	}
	ATL_TRY(wrap_pub(pk, out));
	pk = NULL;
	rc = ATL_OK;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return rc;
}

enum atl_err atl_pubkey_to_der(const struct atl_pubkey *k, uint8_t **der_out, size_t *len_out)
{
	unsigned char *der = NULL;
	int n;

	*der_out = NULL;
	*len_out = 0;
	n = i2d_PUBKEY(k->pkey, &der);
	if (n <= 0)
		return atl_ossl_fail("i2d_PUBKEY");
	*der_out = malloc((size_t)n);
	if (*der_out == NULL) {
		OPENSSL_free(der);
		return ATL_E_NOMEM;
	}
	memcpy(*der_out, der, (size_t)n);
	*len_out = (size_t)n;
	OPENSSL_free(der);
	return ATL_OK;
}

/* Copies a memory BIO's contents into a malloc'd (or secret) NUL-terminated buffer. */
static enum atl_err bio_take(BIO *bio, bool secret, char **out, size_t *len_out)
{
	char *data = NULL, *buf;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0 || data == NULL)
		return atl_ossl_fail("BIO_get_mem_data");
	buf = secret ? atl_secret_alloc((size_t)n + 1) : malloc((size_t)n + 1);
	if (buf == NULL)
		return ATL_E_NOMEM;
	memcpy(buf, data, (size_t)n);
	buf[n] = '\0';
	*out = buf;
	if (len_out != NULL)
		*len_out = (size_t)n;
	return ATL_OK;
}

enum atl_err atl_pubkey_to_pem(const struct atl_pubkey *k, char **pem_out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	enum atl_err rc = ATL_E_INTERNAL;

	*pem_out = NULL;
	if (bio == NULL)
		return ATL_E_NOMEM;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) != 1) {
		rc = atl_ossl_fail("PEM_write_bio_PUBKEY");
		goto out;
	}
	ATL_TRY(bio_take(bio, false, pem_out, NULL));
	rc = ATL_OK;
out:
	BIO_free(bio);
	return rc;
}

enum atl_err atl_pubkey_ec_point(const struct atl_pubkey *k, uint8_t **pt_out, size_t *len_out)
{
	BIGNUM *x = NULL, *y = NULL;
	int bits = ec_curve_bits(k->pkey);
	size_t clen = ec_coord_len(bits);
	uint8_t *pt = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*pt_out = NULL;
	*len_out = 0;
	if (bits == 0)
		return ATL_E_ARG;
	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
		rc = atl_ossl_fail("EVP_PKEY_get_bn_param");
		goto out;
	}
	pt = malloc(1 + 2 * clen);
	if (pt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	pt[0] = 0x04;
	if (BN_bn2binpad(x, pt + 1, (int)clen) < 0 || BN_bn2binpad(y, pt + 1 + clen, (int)clen) < 0) {
		rc = atl_ossl_fail("BN_bn2binpad");
		goto out;
	}
	*pt_out = pt;
	*len_out = 1 + 2 * clen;
	pt = NULL;
	rc = ATL_OK;
out:
	free(pt);
	BN_free(x);
	BN_free(y);
	return rc;
}

enum atl_err atl_pubkey_equal(const struct atl_pubkey *a, const struct atl_pubkey *b)
{
	if (a == NULL || b == NULL)
		return ATL_E_ARG;
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1 ? ATL_OK : ATL_E_AUTH;
}

void atl_pubkey_free(struct atl_pubkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* ---- signature formats ---- */

/* raw r||s (each clen bytes) -> DER ECDSA-Sig-Value (SEC 1 §C.5). */
static enum atl_err raw_to_der(const uint8_t *sig, size_t sig_len, size_t clen, uint8_t **der_out,
			       size_t *der_len_out)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	int n;

	*der_out = NULL;
	*der_len_out = 0;
	if (sig_len != 2 * clen)
		return ATL_E_FORMAT;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)clen, NULL);
	s = BN_bin2bn(sig + clen, (int)clen, NULL);
	if (es == NULL || r == NULL || s == NULL) {
		rc = atl_ossl_fail_as("ECDSA_SIG_new", ATL_E_NOMEM);
		goto out;
	}
	if (ECDSA_SIG_set0(es, r, s) != 1) {
		rc = atl_ossl_fail("ECDSA_SIG_set0");
		goto out;
	}
	r = s = NULL;
	n = i2d_ECDSA_SIG(es, &der);
	if (n <= 0) {
		rc = atl_ossl_fail("i2d_ECDSA_SIG");
		goto out;
	}
	*der_out = malloc((size_t)n);
	if (*der_out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	memcpy(*der_out, der, (size_t)n);
	*der_len_out = (size_t)n;
	rc = ATL_OK;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/* DER ECDSA-Sig-Value -> raw r||s (each clen bytes). */
static enum atl_err der_to_raw(const uint8_t *der, size_t der_len, size_t clen, uint8_t **raw_out,
			       size_t *raw_len_out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r = NULL, *s = NULL;
	uint8_t *raw = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*raw_out = NULL;
	*raw_len_out = 0;
	if (es == NULL)
		return atl_ossl_fail_as("d2i_ECDSA_SIG", ATL_E_FORMAT);
	ECDSA_SIG_get0(es, &r, &s);
	raw = malloc(2 * clen);
	if (raw == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (BN_bn2binpad(r, raw, (int)clen) < 0 || BN_bn2binpad(s, raw + clen, (int)clen) < 0) {
		rc = atl_ossl_fail("BN_bn2binpad");
		goto out;
	}
	*raw_out = raw;
	*raw_len_out = 2 * clen;
	raw = NULL;
	rc = ATL_OK;
out:
	free(raw);
	ECDSA_SIG_free(es);
	return rc;
}

/* The DER form OpenSSL verifies, converting raw r||s when asked. *owned is
 * the buffer to free (NULL when sig is used as is). */
static enum atl_err sig_for_verify(const struct alg_info *ai, enum atl_sig_fmt fmt,
				   const uint8_t *sig, size_t sig_len, const uint8_t **der_out,
				   size_t *der_len_out, uint8_t **owned)
{
	*owned = NULL;
	*der_out = sig;
	*der_len_out = sig_len;
	if (sig == NULL || sig_len == 0)
		return ATL_E_FORMAT;
	if (sig_len > ATL_SIG_LEN_MAX)
		return ATL_E_LIMIT;
	if (fmt == ATL_SIG_FMT_DER)
		return ATL_OK;
	if (fmt != ATL_SIG_FMT_RAW_RS || ai->kind != KIND_EC)
		return ATL_E_ARG;
	enum atl_err rc = raw_to_der(sig, sig_len, ec_coord_len(ai->curve_bits), owned, der_len_out);
	if (rc != ATL_OK) {
		*der_len_out = 0;
		return rc;
	}
	*der_out = *owned;
	return ATL_OK;
}

/* Padding for RSA: PSS with salt = hash length (RFC 8017 §9.1 as used by the
 * TEE vendors), or PKCS#1 v1.5. */
static enum atl_err set_rsa_padding(EVP_PKEY_CTX *pctx, const struct alg_info *ai)
{
	if (ai->kind != KIND_RSA)
		return ATL_OK;
	if (ai->pss) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, atl_ossl_md(ai->hash)) != 1)
			return atl_ossl_fail("RSA PSS params");
		return ATL_OK;
	}
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		return atl_ossl_fail("RSA PKCS1 params");
	return ATL_OK;
}

/* Verify results: 1 good, 0 bad signature, <0 malformed or other error. */
static enum atl_err map_verify(int r, const char *what)
{
	if (r == 1)
		return ATL_OK;
	return atl_ossl_fail_as(what, ATL_E_AUTH);
}

enum atl_err atl_sig_verify(const struct atl_pubkey *k, enum atl_sig_alg alg, enum atl_sig_fmt fmt,
			    const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	struct alg_info ai;
	const uint8_t *der = NULL;
	size_t der_len = 0;
	uint8_t *owned = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (k == NULL || (msg == NULL && msg_len != 0))
		return ATL_E_ARG;
	ATL_TRY(alg_lookup(alg, &ai));
	ATL_TRY(key_fits(k->pkey, &ai));
	ATL_TRY(sig_for_verify(&ai, fmt, sig, sig_len, &der, &der_len, &owned));
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(md, &pctx, atl_ossl_md(ai.hash), NULL, k->pkey) != 1) {
		rc = atl_ossl_fail("EVP_DigestVerifyInit");
		goto out;
	}
	ATL_TRY(set_rsa_padding(pctx, &ai));
	rc = map_verify(EVP_DigestVerify(md, der, der_len, msg, msg_len), "EVP_DigestVerify");
out:
	EVP_MD_CTX_free(md);
	free(owned);
	return rc;
}

enum atl_err atl_sig_verify_digest(const struct atl_pubkey *k, enum atl_sig_alg alg,
				   enum atl_sig_fmt fmt, const uint8_t *dgst, size_t dgst_len,
				   const uint8_t *sig, size_t sig_len)
{
	struct alg_info ai;
	const uint8_t *der = NULL;
	size_t der_len = 0;
	uint8_t *owned = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (k == NULL || dgst == NULL)
		return ATL_E_ARG;
	ATL_TRY(alg_lookup(alg, &ai));
	if (dgst_len != atl_hash_len(ai.hash)) {
		rc = ATL_E_ARG;
		goto out;
	}
	ATL_TRY(key_fits(k->pkey, &ai));
	ATL_TRY(sig_for_verify(&ai, fmt, sig, sig_len, &der, &der_len, &owned));
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, atl_ossl_md(ai.hash)) != 1) {
		rc = atl_ossl_fail("EVP_PKEY_verify_init");
		goto out;
	}
	ATL_TRY(set_rsa_padding(pctx, &ai));
	rc = map_verify(EVP_PKEY_verify(pctx, der, der_len, dgst, dgst_len), "EVP_PKEY_verify");
out:
	EVP_PKEY_CTX_free(pctx);
	free(owned);
	return rc;
}

/* ---- private keys ---- */

enum atl_err atl_privkey_generate_ec(int curve_bits, struct atl_privkey **out)
{
	const char *group = curve_name(curve_bits);
	EVP_PKEY *pk = NULL;
	struct atl_privkey *k = NULL;

	*out = NULL;
	if (group == NULL)
		return ATL_E_UNSUPPORTED;
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	if (pk == NULL)
		return atl_ossl_fail("EVP_PKEY_Q_keygen");
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pk);
		return ATL_E_NOMEM;
	}
	k->pkey = pk;
	*out = k;
	return ATL_OK;
}

/* Refuses encrypted keys instead of prompting on the terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

enum atl_err atl_privkey_parse(const uint8_t *buf, size_t len, struct atl_privkey **out)
{
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	struct atl_privkey *k = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	if (buf == NULL || len == 0 || !is_pem(buf, len))
		return ATL_E_FORMAT;
	if (len > ATL_SIG_KEY_INPUT_MAX)
		return ATL_E_LIMIT;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL)
		return ATL_E_NOMEM;
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (pk == NULL) {
		rc = atl_ossl_fail_as("PEM_read_bio_PrivateKey", ATL_E_FORMAT);
		goto out;
	}
	ATL_TRY(check_supported(pk));
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	k->pkey = pk;
	pk = NULL;
	*out = k;
	rc = ATL_OK;
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return rc;
}

enum atl_err atl_privkey_to_pem(const struct atl_privkey *k, char **pem_out, size_t *len_out)
{
	BIO *bio = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*pem_out = NULL;
	*len_out = 0;
	/* A secure-heap BIO so no plaintext copy lingers in ordinary memory. */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return ATL_E_NOMEM;
	if (PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		rc = atl_ossl_fail("PEM_write_bio_PKCS8PrivateKey");
		goto out;
	}
	ATL_TRY(bio_take(bio, true, pem_out, len_out));
	rc = ATL_OK;
out:
	BIO_free(bio);
	return rc;
}

enum atl_err atl_privkey_public(const struct atl_privkey *k, struct atl_pubkey **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pk;
	int n;

	*out = NULL;
	/* Round-trip through SPKI: a public-only EVP_PKEY with no private half. */
	n = i2d_PUBKEY(k->pkey, &der);
	if (n <= 0)
		return atl_ossl_fail("i2d_PUBKEY");
	p = der;
	pk = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	if (pk == NULL)
		return atl_ossl_fail("d2i_PUBKEY");
	return wrap_pub(pk, out);
}

enum atl_err atl_sig_sign(const struct atl_privkey *k, enum atl_sig_alg alg, enum atl_sig_fmt fmt,
			  const uint8_t *msg, size_t msg_len, uint8_t **sig_out, size_t *sig_len_out)
{
	struct alg_info ai;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*sig_out = NULL;
	*sig_len_out = 0;
	if (k == NULL || (msg == NULL && msg_len != 0))
		return ATL_E_ARG;
	ATL_TRY(alg_lookup(alg, &ai));
	ATL_TRY(key_fits(k->pkey, &ai));
	if (fmt == ATL_SIG_FMT_RAW_RS && ai.kind != KIND_EC) {
		rc = ATL_E_ARG;
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(md, &pctx, atl_ossl_md(ai.hash), NULL, k->pkey) != 1) {
		rc = atl_ossl_fail("EVP_DigestSignInit");
		goto out;
	}
	ATL_TRY(set_rsa_padding(pctx, &ai));
	if (EVP_DigestSign(md, NULL, &sig_len, msg, msg_len) != 1) {
		rc = atl_ossl_fail("EVP_DigestSign(size)");
		goto out;
	}
	sig = malloc(sig_len);
	if (sig == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (EVP_DigestSign(md, sig, &sig_len, msg, msg_len) != 1) {
		rc = atl_ossl_fail("EVP_DigestSign");
		goto out;
	}
	if (fmt == ATL_SIG_FMT_RAW_RS) {
		ATL_TRY(der_to_raw(sig, sig_len, ec_coord_len(ai.curve_bits), sig_out, sig_len_out));
	} else {
		*sig_out = sig;
		*sig_len_out = sig_len;
		sig = NULL;
	}
	rc = ATL_OK;
out:
	free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

void atl_privkey_free(struct atl_privkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
