/* X.509 certificates, chains and CRLs over OpenSSL 3; see include/atoll/x509.h.
 *
 * Why OpenSSL and not a hand-written DER parser: X.509 path validation is the
 * classic place where hand-written code goes wrong (names, time, signature
 * algorithms incl. RSA-PSS parameters). OpenSSL does chain building, signature
 * and validity checks; this file adds what the attestation verifiers need on
 * top: pinned-root identity, explicit CRL semantics (AMD publishes CRLs only
 * from the ARK, Intel from both CAs), caller-given time, extension access.
 *
 * Vendor quirks tolerated (shared/vectors/attestation/README.md): serial
 * number 0 (AMD VCEK), RSASSA-PSS SHA-384 (AMD ASK/ARK), critical SAN with a
 * directoryName and an empty subject (TPM AK certificates). */
#define ATL_LOG_MODULE "x509"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/x509.h"
#include "crypto/ossl.h"
#include "crypto/pkey.h"

struct atl_x509 {
	X509 *x;
};

struct atl_x509_list {
	struct atl_x509 *v[ATL_X509_LIST_MAX];
	size_t n;
};

struct atl_crl_list {
	X509_CRL *v[ATL_X509_CRL_LIST_MAX];
	size_t n;
};

/* ---- helpers ---- */

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

static bool is_pem(const uint8_t *buf, size_t len)
{
	static const char tag[] = "-----BEGIN";
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return len - i >= sizeof(tag) - 1 && memcmp(buf + i, tag, sizeof(tag) - 1) == 0;
}

static enum atl_err asn1_time_to_epoch(const ASN1_TIME *at, int64_t *t_out)
{
	struct tm tm;
	time_t t;

	*t_out = 0;
	if (at == NULL)
		return ATL_E_FORMAT;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(at, &tm) != 1)
		return atl_ossl_fail_as("ASN1_TIME_to_tm", ATL_E_FORMAT);
	t = timegm(&tm);
	if (t == (time_t)-1)
		return ATL_E_FORMAT;
	*t_out = (int64_t)t;
	return ATL_OK;
}

static enum atl_err wrap(X509 *x, struct atl_x509 **out)
{
	struct atl_x509 *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		X509_free(x);
		return ATL_E_NOMEM;
	}
	c->x = x;
	*out = c;
	return ATL_OK;
}

static enum atl_err list_push(struct atl_x509_list **list, X509 *x)
{
	struct atl_x509 *c = NULL;
	enum atl_err rc;

	if (*list == NULL) {
		*list = calloc(1, sizeof(**list));
		if (*list == NULL) {
			X509_free(x);
			return ATL_E_NOMEM;
		}
	}
	if ((*list)->n >= ATL_X509_LIST_MAX) {
		X509_free(x);
		return ATL_E_LIMIT;
	}
	rc = wrap(x, &c);
	if (rc != ATL_OK)
		return rc;
	(*list)->v[(*list)->n++] = c;
	return ATL_OK;
}

/* ---- certificates ---- */

enum atl_err atl_x509_parse(const uint8_t *buf, size_t len, struct atl_x509 **out)
{
	X509 *x = NULL;
	BIO *bio = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (buf == NULL || len == 0)
		return ATL_E_FORMAT;
	if (len > ATL_X509_INPUT_MAX)
		return ATL_E_LIMIT;
	if (is_pem(buf, len)) {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (bio == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL) {
			rc = atl_ossl_fail_as("PEM_read_bio_X509", ATL_E_FORMAT);
			goto out;
		}
	} else {
		const unsigned char *p = buf;
		x = d2i_X509(NULL, &p, (long)len);
		if (x == NULL) {
			rc = atl_ossl_fail_as("d2i_X509", ATL_E_FORMAT);
			goto out;
		}
		if (p != buf + len) {
			rc = ATL_E_TRAILING;
			goto out;
		}
	}
	ATL_TRY(wrap(x, out));
	x = NULL;
	rc = ATL_OK;
out:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

void atl_x509_free(struct atl_x509 *c)
{
	if (c == NULL)
		return;
	X509_free(c->x);
	free(c);
}

/* One DER object, or one or more PEM blocks, of a kind described by ops,
 * each pushed onto *list (push takes ownership, freeing on failure). */
struct der_pem_ops {
	const char *d2i_name, *pem_name;
	void *(*d2i)(const unsigned char **p, long len);
	void *(*pem_read)(BIO *bio);
	void (*free)(void *obj);
	enum atl_err (*push)(void *list, void *obj);
};

static enum atl_err der_pem_parse(const struct der_pem_ops *ops, const uint8_t *buf, size_t len,
				  void *list)
{
	BIO *bio = NULL;
	void *obj = NULL;
	size_t found = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (buf == NULL || len == 0)
		return ATL_E_FORMAT;
	if (len > ATL_X509_INPUT_MAX)
		return ATL_E_LIMIT;
	if (!is_pem(buf, len)) {
		const unsigned char *p = buf;
		obj = ops->d2i(&p, (long)len);
		if (obj == NULL)
			return atl_ossl_fail_as(ops->d2i_name, ATL_E_FORMAT);
		if (p != buf + len) {
			ops->free(obj);
			return ATL_E_TRAILING;
		}
		return ops->push(list, obj);
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL)
		return ATL_E_NOMEM;
	for (;;) {
		obj = ops->pem_read(bio);
		if (obj == NULL) {
			unsigned long e = ERR_peek_last_error();
			/* End of input is "no start line"; anything else is a
			 * malformed block. */
			if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE && found > 0) {
				ERR_clear_error();
				break;
			}
			rc = atl_ossl_fail_as(ops->pem_name, ATL_E_FORMAT);
			goto out;
		}
		rc = ops->push(list, obj); /* owns obj from here, even on failure */
		obj = NULL;
		if (rc != ATL_OK)
			goto out;
		found++;
	}
	rc = ATL_OK;
out:
	if (obj != NULL)
		ops->free(obj);
	BIO_free(bio);
	return rc;
}

static void *x509_d2i(const unsigned char **p, long len)
{
	return d2i_X509(NULL, p, len);
}

static void *x509_pem_read(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, NULL, NULL);
}

static void x509_obj_free(void *obj)
{
	X509_free(obj);
}

static enum atl_err x509_obj_push(void *list, void *obj)
{
	return list_push(list, obj);
}

enum atl_err atl_x509_list_parse(const uint8_t *buf, size_t len, struct atl_x509_list **list)
{
	static const struct der_pem_ops ops = {"d2i_X509", "PEM_read_bio_X509", x509_d2i,
					       x509_pem_read, x509_obj_free, x509_obj_push};

	if (list == NULL)
		return ATL_E_ARG;
	return der_pem_parse(&ops, buf, len, list);
}

enum atl_err atl_x509_list_add(struct atl_x509_list **list, const struct atl_x509 *c)
{
	if (list == NULL || c == NULL)
		return ATL_E_ARG;
	if (X509_up_ref(c->x) != 1)
		return atl_ossl_fail("X509_up_ref");
	return list_push(list, c->x);
}

size_t atl_x509_list_len(const struct atl_x509_list *l)
{
	return l == NULL ? 0 : l->n;
}

const struct atl_x509 *atl_x509_list_get(const struct atl_x509_list *l, size_t i)
{
	if (l == NULL || i >= l->n)
		return NULL;
	return l->v[i];
}

void atl_x509_list_free(struct atl_x509_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		atl_x509_free(l->v[i]);
	free(l);
}

/* ---- CRLs ---- */

static enum atl_err crl_push(struct atl_crl_list **list, X509_CRL *c)
{
	if (*list == NULL) {
		*list = calloc(1, sizeof(**list));
		if (*list == NULL) {
			X509_CRL_free(c);
			return ATL_E_NOMEM;
		}
	}
	if ((*list)->n >= ATL_X509_CRL_LIST_MAX) {
		X509_CRL_free(c);
		return ATL_E_LIMIT;
	}
	(*list)->v[(*list)->n++] = c;
	return ATL_OK;
}

static void *crl_d2i(const unsigned char **p, long len)
{
	return d2i_X509_CRL(NULL, p, len);
}

static void *crl_pem_read(BIO *bio)
{
	return PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
}

static void crl_obj_free(void *obj)
{
	X509_CRL_free(obj);
}

static enum atl_err crl_obj_push(void *list, void *obj)
{
	return crl_push(list, obj);
}

enum atl_err atl_crl_list_parse(const uint8_t *buf, size_t len, struct atl_crl_list **list)
{
	static const struct der_pem_ops ops = {"d2i_X509_CRL", "PEM_read_bio_X509_CRL", crl_d2i,
					       crl_pem_read, crl_obj_free, crl_obj_push};

	if (list == NULL)
		return ATL_E_ARG;
	return der_pem_parse(&ops, buf, len, list);
}

size_t atl_crl_list_len(const struct atl_crl_list *l)
{
	return l == NULL ? 0 : l->n;
}

void atl_crl_list_free(struct atl_crl_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		X509_CRL_free(l->v[i]);
	free(l);
}

/* ---- chain verification ---- */

static const char *cn_or(X509 *x, char *buf, size_t cap)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i = n == NULL ? -1 : X509_NAME_get_index_by_NID(n, NID_commonName, -1);

	buf[0] = '\0';
	if (i >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
		int l = s == NULL ? 0 : ASN1_STRING_length(s);
		const unsigned char *d = s == NULL ? NULL : ASN1_STRING_get0_data(s);
		size_t k = 0;
		for (int j = 0; d != NULL && j < l && k + 1 < cap; j++)
			buf[k++] = (d[j] >= 0x20 && d[j] < 0x7f) ? (char)d[j] : '?';
		buf[k] = '\0';
	}
	if (buf[0] == '\0')
		(void)snprintf(buf, cap, "(no CN)");
	return buf;
}

/* Applies every CRL that an issuer in the chain signed; see the header for
 * the semantics. chain[0] is the leaf, chain[n-1] the root. */
static enum atl_err check_crls(STACK_OF(X509) *chain, const struct atl_crl_list *crls, int64_t t,
			       int flags, char *why, size_t cap)
{
	int n = sk_X509_num(chain);
	char nm[96];

	for (int i = 0; i < n; i++) {
		X509 *c = sk_X509_value(chain, i);
		bool is_root = i == n - 1;
		X509 *iss = is_root ? c : sk_X509_value(chain, i + 1);
		bool covered = false;
		bool required = !is_root && (((flags & ATL_X509_CHECK_CRL) != 0) ||
					     ((flags & ATL_X509_CHECK_CRL_CA) != 0 && i > 0));

		for (size_t j = 0; crls != NULL && j < crls->n; j++) {
			X509_CRL *crl = crls->v[j];
			X509_REVOKED *rev = NULL;
			int64_t this_upd = 0, next_upd = 0;
			EVP_PKEY *k;

			if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(iss)) != 0)
				continue;
			k = X509_get0_pubkey(iss);
			if (k == NULL || X509_CRL_verify(crl, k) != 1) {
				say(why, cap, "CRL issued in the name of %s has a bad signature",
				    cn_or(iss, nm, sizeof(nm)));
				return atl_ossl_fail_as("X509_CRL_verify", ATL_E_AUTH);
			}
			if (asn1_time_to_epoch(X509_CRL_get0_lastUpdate(crl), &this_upd) != ATL_OK) {
				say(why, cap, "CRL of %s: bad thisUpdate", cn_or(iss, nm, sizeof(nm)));
				return ATL_E_FORMAT;
			}
			if (X509_CRL_get0_nextUpdate(crl) == NULL) {
				say(why, cap, "CRL of %s has no nextUpdate", cn_or(iss, nm, sizeof(nm)));
				return ATL_E_EXPIRED;
			}
			if (asn1_time_to_epoch(X509_CRL_get0_nextUpdate(crl), &next_upd) != ATL_OK) {
				say(why, cap, "CRL of %s: bad nextUpdate", cn_or(iss, nm, sizeof(nm)));
				return ATL_E_FORMAT;
			}
			if (t < this_upd) {
				say(why, cap, "CRL of %s is not yet valid (issued in the future)",
				    cn_or(iss, nm, sizeof(nm)));
				return ATL_E_EXPIRED;
			}
			if (t >= next_upd) {
				say(why, cap, "CRL of %s is stale (past nextUpdate)",
				    cn_or(iss, nm, sizeof(nm)));
				return ATL_E_EXPIRED;
			}
			if (X509_CRL_get0_by_cert(crl, &rev, c) == 1) {
				say(why, cap, "certificate %s is revoked", cn_or(c, nm, sizeof(nm)));
				return ATL_E_POLICY;
			}
			covered = true;
		}
		if (required && !covered) {
			say(why, cap, "no CRL covers %s", cn_or(c, nm, sizeof(nm)));
			return ATL_E_POLICY;
		}
	}
	return ATL_OK;
}

static enum atl_err map_verify_error(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return ATL_E_EXPIRED;
	default:
		return ATL_E_AUTH;
	}
}

enum atl_err atl_x509_verify_chain(const struct atl_x509 *leaf,
				   const struct atl_x509_list *intermediates,
				   const struct atl_x509_list *roots, const struct atl_crl_list *crls,
				   int64_t t, int flags, char *why, size_t why_cap)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	STACK_OF(X509) *chain = NULL;
	X509_VERIFY_PARAM *vp;
	unsigned long vflags = X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE;
	enum atl_err rc = ATL_E_INTERNAL;
	char nm[96];
	bool pinned = false;
	X509 *top;

	say(why, why_cap, "ok");
	if (leaf == NULL || roots == NULL || roots->n == 0) {
		say(why, why_cap, "no leaf or no trust anchor");
		return ATL_E_ARG;
	}
	if ((time_t)t != t) {
		say(why, why_cap, "time out of range");
		return ATL_E_ARG;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	untrusted = sk_X509_new_null();
	if (store == NULL || ctx == NULL || untrusted == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < roots->n; i++) {
		if (X509_STORE_add_cert(store, roots->v[i]->x) != 1) {
			/* duplicates are harmless; anything else is not */
			unsigned long e = ERR_peek_last_error();
			if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
				rc = atl_ossl_fail("X509_STORE_add_cert");
				goto out;
			}
			ERR_clear_error();
		}
	}
	for (size_t i = 0; intermediates != NULL && i < intermediates->n; i++) {
		if (sk_X509_push(untrusted, intermediates->v[i]->x) <= 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	if (X509_STORE_CTX_init(ctx, store, leaf->x, untrusted) != 1) {
		rc = atl_ossl_fail("X509_STORE_CTX_init");
		goto out;
	}
	if ((flags & ATL_X509_PARTIAL_OK) != 0)
		vflags |= X509_V_FLAG_PARTIAL_CHAIN;
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(vp, vflags);
	X509_VERIFY_PARAM_set_time(vp, (time_t)t);
	/* Trust comes only from the store: never the evidence's own anchor. */
	X509_VERIFY_PARAM_set_trust(vp, X509_TRUST_DEFAULT);

	if (X509_verify_cert(ctx) != 1) {
		int err = X509_STORE_CTX_get_error(ctx);
		int depth = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
		say(why, why_cap, "chain: %s (depth %d, %s)", X509_verify_cert_error_string(err),
		    depth, bad != NULL ? cn_or(bad, nm, sizeof(nm)) : "?");
		rc = atl_ossl_fail_as("X509_verify_cert", map_verify_error(err));
		goto out;
	}
	chain = X509_STORE_CTX_get1_chain(ctx);
	if (chain == NULL || sk_X509_num(chain) < 1) {
		rc = atl_ossl_fail("X509_STORE_CTX_get1_chain");
		goto out;
	}
	/* Belt and braces: the anchor must be one of the pinned roots, byte for
	 * byte (NEGATIVE-TESTS.md #2). */
	top = sk_X509_value(chain, sk_X509_num(chain) - 1);
	for (size_t i = 0; i < roots->n; i++) {
		if (X509_cmp(top, roots->v[i]->x) == 0)
			pinned = true;
	}
	if (!pinned) {
		say(why, why_cap, "chain ends at %s, which is not a pinned root",
		    cn_or(top, nm, sizeof(nm)));
		rc = ATL_E_AUTH;
		goto out;
	}
	rc = check_crls(chain, crls, t, flags, why, why_cap);
	if (rc != ATL_OK)
		goto out;
	say(why, why_cap, "chain of %d to %s", sk_X509_num(chain), cn_or(top, nm, sizeof(nm)));
	rc = ATL_OK;
out:
	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* ---- accessors ---- */

enum atl_err atl_x509_pubkey(const struct atl_x509 *c, struct atl_pubkey **out)
{
	struct atl_pubkey *k;
	EVP_PKEY *pk;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (c == NULL)
		return ATL_E_ARG;
	pk = X509_get_pubkey(c->x);
	if (pk == NULL)
		return atl_ossl_fail_as("X509_get_pubkey", ATL_E_FORMAT);
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pk);
		return ATL_E_NOMEM;
	}
	k->pkey = pk;
	*out = k;
	return ATL_OK;
}

enum atl_err atl_x509_der(const struct atl_x509 *c, uint8_t **der_out, size_t *len_out)
{
	unsigned char *p = NULL;
	int n;

	if (der_out == NULL || len_out == NULL)
		return ATL_E_ARG;
	*der_out = NULL;
	*len_out = 0;
	if (c == NULL)
		return ATL_E_ARG;
	n = i2d_X509(c->x, NULL);
	if (n <= 0)
		return atl_ossl_fail("i2d_X509");
	*der_out = malloc((size_t)n);
	if (*der_out == NULL)
		return ATL_E_NOMEM;
	p = *der_out;
	if (i2d_X509(c->x, &p) != n) {
		free(*der_out);
		*der_out = NULL;
		return atl_ossl_fail("i2d_X509");
	}
	*len_out = (size_t)n;
	return ATL_OK;
}

enum atl_err atl_x509_fingerprint(const struct atl_x509 *c, uint8_t out[32])
{
	unsigned int n = 0;

	if (c == NULL || out == NULL)
		return ATL_E_ARG;
	if (X509_digest(c->x, EVP_sha256(), out, &n) != 1 || n != 32)
		return atl_ossl_fail("X509_digest");
	return ATL_OK;
}

bool atl_x509_equal(const struct atl_x509 *c, const struct atl_x509 *d)
{
	if (c == NULL || d == NULL)
		return false;
	return X509_cmp(c->x, d->x) == 0;
}

enum atl_err atl_x509_ext(const struct atl_x509 *c, const char *oid, uint8_t **val_out,
			  size_t *len_out)
{
	ASN1_OBJECT *obj = NULL;
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *os;
	enum atl_err rc = ATL_E_INTERNAL;
	int idx, len;

	if (val_out == NULL || len_out == NULL)
		return ATL_E_ARG;
	*val_out = NULL;
	*len_out = 0;
	if (c == NULL || oid == NULL)
		return ATL_E_ARG;
	obj = OBJ_txt2obj(oid, 1);
	if (obj == NULL)
		return atl_ossl_fail_as("OBJ_txt2obj", ATL_E_ARG);
	idx = X509_get_ext_by_OBJ(c->x, obj, -1);
	if (idx < 0) {
		rc = ATL_E_NOTFOUND;
		goto out;
	}
	/* An extension present twice is malformed (RFC 5280 §4.2). */
	if (X509_get_ext_by_OBJ(c->x, obj, idx) >= 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ext = X509_get_ext(c->x, idx);
	os = ext == NULL ? NULL : X509_EXTENSION_get_data(ext);
	if (os == NULL) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	len = ASN1_STRING_length(os);
	if (len < 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	*val_out = malloc(len > 0 ? (size_t)len : 1);
	if (*val_out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(*val_out, ASN1_STRING_get0_data(os), (size_t)len);
	*len_out = (size_t)len;
	rc = ATL_OK;
out:
	ASN1_OBJECT_free(obj);
	return rc;
}

static enum atl_err name_text(X509_NAME *n, char **out)
{
	BIO *bio = NULL;
	char *p = NULL;
	long len;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (n == NULL)
		return ATL_E_FORMAT;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return ATL_E_NOMEM;
	if (X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253) < 0) {
		rc = atl_ossl_fail("X509_NAME_print_ex");
		goto out;
	}
	len = BIO_get_mem_data(bio, &p);
	if (len < 0 || (unsigned long)len > ATL_X509_NAME_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	*out = malloc((size_t)len + 1);
	if (*out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(*out, p, (size_t)len);
	(*out)[len] = '\0';
	rc = ATL_OK;
out:
	BIO_free(bio);
	return rc;
}

enum atl_err atl_x509_subject(const struct atl_x509 *c, char **out)
{
	if (c == NULL)
		return ATL_E_ARG;
	return name_text(X509_get_subject_name(c->x), out);
}

enum atl_err atl_x509_issuer(const struct atl_x509 *c, char **out)
{
	if (c == NULL)
		return ATL_E_ARG;
	return name_text(X509_get_issuer_name(c->x), out);
}

static enum atl_err name_cn(X509_NAME *n, char **out)
{
	int i;
	ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int l;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (n == NULL)
		return ATL_E_NOTFOUND;
	i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	if (i < 0)
		return ATL_E_NOTFOUND;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	if (s == NULL)
		return ATL_E_FORMAT;
	l = ASN1_STRING_to_UTF8(&utf8, s);
	if (l < 0)
		return atl_ossl_fail_as("ASN1_STRING_to_UTF8", ATL_E_FORMAT);
	if ((size_t)l > ATL_X509_NAME_MAX || memchr(utf8, 0, (size_t)l) != NULL) {
		OPENSSL_free(utf8);
		return ATL_E_FORMAT;
	}
	*out = malloc((size_t)l + 1);
	if (*out == NULL) {
		OPENSSL_free(utf8);
		return ATL_E_NOMEM;
	}
	memcpy(*out, utf8, (size_t)l);
	(*out)[l] = '\0';
	OPENSSL_free(utf8);
	return ATL_OK;
}

enum atl_err atl_crl_issuer_cn(const struct atl_crl_list *l, size_t i, char **out)
{
	if (out != NULL)
		*out = NULL;
	if (l == NULL || i >= l->n)
		return ATL_E_ARG;
	return name_cn(X509_CRL_get_issuer(l->v[i]), out);
}

enum atl_err atl_x509_subject_cn(const struct atl_x509 *c, char **out)
{
	if (c == NULL)
		return ATL_E_ARG;
	return name_cn(X509_get_subject_name(c->x), out);
}

enum atl_err atl_x509_issuer_cn(const struct atl_x509 *c, char **out)
{
	if (c == NULL)
		return ATL_E_ARG;
	return name_cn(X509_get_issuer_name(c->x), out);
}

int atl_x509_version(const struct atl_x509 *c)
{
	return c == NULL ? -1 : (int)X509_get_version(c->x);
}

bool atl_x509_is_ca(const struct atl_x509 *c)
{
	if (c == NULL)
		return false;
	/* X509_check_ca also counts v1 self-signed roots; require the
	 * basicConstraints extension with cA = TRUE. */
	return (X509_get_extension_flags(c->x) & EXFLAG_CA) != 0;
}

enum atl_err atl_x509_serial(const struct atl_x509 *c, uint8_t **out, size_t *len_out)
{
	const ASN1_INTEGER *s;
	BIGNUM *bn = NULL;
	int n;

	if (out == NULL || len_out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	*len_out = 0;
	if (c == NULL)
		return ATL_E_ARG;
	s = X509_get0_serialNumber(c->x);
	bn = s == NULL ? NULL : ASN1_INTEGER_to_BN(s, NULL);
	if (bn == NULL)
		return atl_ossl_fail_as("ASN1_INTEGER_to_BN", ATL_E_FORMAT);
	n = BN_num_bytes(bn);
	*out = calloc(1, n > 0 ? (size_t)n : 1);
	if (*out == NULL) {
		BN_free(bn);
		return ATL_E_NOMEM;
	}
	if (n > 0)
		(void)BN_bn2bin(bn, *out);
	*len_out = n > 0 ? (size_t)n : 1;
	BN_free(bn);
	return ATL_OK;
}

static int nid_bits(int nid)
{
	switch (nid) {
	case NID_sha256:
		return 256;
	case NID_sha384:
		return 384;
	case NID_sha512:
		return 512;
	default:
		return 0;
	}
}

/* RSASSA-PSS-params of the outer signature algorithm (RFC 4055 §3.1). */
static enum atl_err pss_params(const X509_ALGOR *alg, struct atl_x509_sig_info *si)
{
	const ASN1_OBJECT *aobj = NULL;
	int ptype = 0;
	const void *pval = NULL;
	RSA_PSS_PARAMS *pss = NULL;
	enum atl_err rc = ATL_E_FORMAT;
	long salt = 20;

	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE || pval == NULL)
		return ATL_E_FORMAT;
	pss = ASN1_item_unpack((const ASN1_STRING *)pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
	if (pss == NULL)
		return atl_ossl_fail_as("RSA_PSS_PARAMS", ATL_E_FORMAT);
	if (pss->saltLength != NULL) {
		salt = ASN1_INTEGER_get(pss->saltLength);
		if (salt < 0 || salt > INT_MAX)
			goto out;
	}
	si->pss_salt_len = (int)salt;
	/* absent hashAlgorithm means SHA-1, which nothing here accepts */
	si->hash_nid_bits = 0;
	if (pss->hashAlgorithm != NULL)
		si->hash_nid_bits = nid_bits(OBJ_obj2nid(pss->hashAlgorithm->algorithm));
	si->pss_mgf1_bits = 0;
	if (pss->maskGenAlgorithm != NULL &&
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) == NID_mgf1) {
		X509_ALGOR *mh = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
							   pss->maskGenAlgorithm->parameter);
		if (mh != NULL) {
			si->pss_mgf1_bits = nid_bits(OBJ_obj2nid(mh->algorithm));
			X509_ALGOR_free(mh);
		}
	}
	rc = ATL_OK;
out:
	RSA_PSS_PARAMS_free(pss);
	return rc;
}

enum atl_err atl_x509_sig_info(const struct atl_x509 *c, struct atl_x509_sig_info *out)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *aobj = NULL;
	EVP_PKEY *pk;
	int nid, md_nid = 0, pk_nid = 0;

	if (out == NULL)
		return ATL_E_ARG;
	memset(out, 0, sizeof(*out));
	out->pss_salt_len = -1;
	if (c == NULL)
		return ATL_E_ARG;
	X509_get0_signature(NULL, &alg, c->x);
	if (alg == NULL)
		return ATL_E_FORMAT;
	X509_ALGOR_get0(&aobj, NULL, NULL, alg);
	nid = OBJ_obj2nid(aobj);
	if (nid == EVP_PKEY_RSA_PSS || nid == NID_rsassaPss) {
		out->kind = ATL_X509_SIG_RSA_PSS;
		if (pss_params(alg, out) != ATL_OK)
			return ATL_E_FORMAT;
	} else if (OBJ_find_sigid_algs(nid, &md_nid, &pk_nid) == 1) {
		out->hash_nid_bits = nid_bits(md_nid);
		if (pk_nid == NID_X9_62_id_ecPublicKey)
			out->kind = ATL_X509_SIG_ECDSA;
		else if (pk_nid == NID_rsaEncryption)
			out->kind = ATL_X509_SIG_RSA_PKCS1;
	}
	pk = X509_get0_pubkey(c->x);
	if (pk != NULL) {
		out->key_ec = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC;
		out->key_bits = EVP_PKEY_get_bits(pk);
	}
	return ATL_OK;
}

enum atl_err atl_x509_validity(const struct atl_x509 *c, int64_t *not_before_out,
			       int64_t *not_after_out)
{
	enum atl_err rc;

	if (not_before_out == NULL || not_after_out == NULL)
		return ATL_E_ARG;
	*not_before_out = 0;
	*not_after_out = 0;
	if (c == NULL)
		return ATL_E_ARG;
	rc = asn1_time_to_epoch(X509_get0_notBefore(c->x), not_before_out);
	if (rc != ATL_OK)
		return rc;
	return asn1_time_to_epoch(X509_get0_notAfter(c->x), not_after_out);
}
