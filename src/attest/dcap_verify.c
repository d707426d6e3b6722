/* DCAP quote verification shared by the "tdx" and "sgx" backends.
 *
 * Order (each step a check in the result; docs/attestation.md has the table):
 *   1. quote        parse (dcap.c), tee type of this backend
 *   2. <kind hook>  claims and attribute checks (tdx.c / sgx.c)
 *   3. pck_chain    PCK chain from the quote (certification data type 5) to
 *                   the pinned Intel SGX Root CA at `now`, ECDSA P-256 /
 *                   SHA-256 throughout, leaf not a CA; CRLs from the
 *                   collateral applied (required with min_tcb.<tee>.require_crl);
 *                   a PCK CRL must come from the PCK's own issuer
 *   4. qe_signature QE report signed by the PCK key
 *   5. qe_binding   QE report_data = SHA-256(attestation key || QE auth data)
 *                   || 32 zero bytes
 *   6. signature    quote (header + body) signed by the attestation key
 *   7. tcb_info     signature by the Intel SGX TCB Signing certificate (chained
 *                   to the pinned root), id, version, issueDate <= now <
 *                   nextUpdate, fmspc and pceId equal the PCK's
 *   8. tcb_level    first level whose SGX components, PCE SVN (and TDX
 *                   components) are all <= the platform's; TDX module identity
 *   9. qe_identity  signature, id, dates, MRSIGNER, ISVPRODID, masked
 *                   MISCSELECT and ATTRIBUTES, QE TCB level by ISVSVN
 *  10. tcb_status   the merged status: UpToDate passes; SWHardeningNeeded and
 *                   Configuration* are warnings with the advisory ids;
 *                   OutOfDate* fail; Revoked always fails. Statuses listed in
 *                   min_tcb.<tee>.accept_status pass (never Revoked).
 * Spec sections: Intel SGX ECDSA Quote Library API (quote v3), Intel TDX DCAP
 * Quoting Library API (v4/v5), Intel PCS API v4 (tcbInfo, enclaveIdentity),
 * Intel SGX PCK Certificate and CRL Profile. */
#define ATL_LOG_MODULE "dcap"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atoll/attest.h"
#include "atoll/dcap.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/x509.h"
#include "attest/dcap.h"
#include "attest/hwcommon.h"

#define OID_SGX_EXT "1.2.840.113741.1.13.1"
#define CN_PCK "Intel SGX PCK Certificate"
#define CN_TCB_SIGNING "Intel SGX TCB Signing"

/* A signed collateral document: the exact signed text and its signature. */
struct signed_doc {
	char *txt; /* owned copy, NUL-terminated */
	size_t len;
	uint8_t sig[64];
	bool present;
};

struct dcoll {
	struct atl_hw_coll files;
	struct signed_doc tcb, qe;
	struct atl_x509_list *signers; /* TCB signing chain material */
};

/* ---- raw JSON member extraction (for PCS response bodies) ---- */

static size_t skip_ws(const char *t, size_t n, size_t i)
{
	while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
		i++;
	return i;
}

/* End of a JSON string starting at t[i] == '"': index after the closing quote,
 * or n on error. */
static size_t skip_string(const char *t, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (t[i] == '\\') {
			i++;
			continue;
		}
		if (t[i] == '"')
			return i + 1;
	}
	return n;
}

/* End of the value starting at t[i] (index after it), or n on error. Nesting
 * is tracked with a counter, not recursion. */
static size_t skip_value(const char *t, size_t n, size_t i)
{
	size_t depth = 0;

	if (i >= n)
		return n;
	if (t[i] == '"')
		return skip_string(t, n, i);
	for (; i < n; i++) {
		char c = t[i];
		if (c == '"') {
			i = skip_string(t, n, i) - 1;
			if (i + 1 >= n)
				return n;
		} else if (c == '{' || c == '[') {
			if (++depth > ATL_JSON_DEPTH_MAX)
				return n;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (c == ',' && depth == 0) {
			return i;
		}
	}
	return depth == 0 ? n : n;
}

/* Raw text of the top-level member `key` of a JSON object text. */
static enum atl_err raw_member(const char *t, size_t n, const char *key, const char **v,
			       size_t *vlen)
{
	size_t i = skip_ws(t, n, 0), kl = strlen(key);

	*v = NULL;
	*vlen = 0;
	if (i >= n || t[i] != '{')
		return ATL_E_FORMAT;
	i++;
	for (;;) {
		size_t ks, ke, vs, ve;

		i = skip_ws(t, n, i);
		if (i >= n || t[i] != '"')
			return ATL_E_FORMAT;
		ks = i + 1;
		ke = skip_string(t, n, i);
		if (ke >= n)
			return ATL_E_FORMAT;
		i = skip_ws(t, n, ke);
		if (i >= n || t[i] != ':')
			return ATL_E_FORMAT;
		vs = skip_ws(t, n, i + 1);
		ve = skip_value(t, n, vs);
		if (ve >= n || ve <= vs)
			return ATL_E_FORMAT;
		if (ke - 1 - ks == kl && memcmp(t + ks, key, kl) == 0) {
			*v = t + vs;
			*vlen = ve - vs;
			return ATL_OK;
		}
		i = skip_ws(t, n, ve);
		if (i < n && t[i] == ',') {
			i++;
			continue;
		}
		return ATL_E_NOTFOUND;
	}
}

static enum atl_err doc_set(struct signed_doc *d, const char *txt, size_t len, const char *sig_hex)
{
	if (d->present)
		return ATL_E_EXISTS;
	if (sig_hex == NULL || strlen(sig_hex) != 128 ||
	    atl_hex_decode_exact(sig_hex, 128, d->sig, 64) != ATL_OK)
		return ATL_E_FORMAT;
	d->txt = malloc(len + 1);
	if (d->txt == NULL)
		return ATL_E_NOMEM;
	memcpy(d->txt, txt, len);
	d->txt[len] = '\0';
	d->len = len;
	d->present = true;
	return ATL_OK;
}

static enum atl_err add_pem(struct atl_x509_list **l, const json_t *s)
{
	const char *p = json_string_value(s);

	if (p == NULL)
		return ATL_E_FORMAT;
	return atl_x509_list_parse((const uint8_t *)p, strlen(p), l);
}

static enum atl_err add_crl_hex(struct atl_crl_list **l, const json_t *s)
{
	const char *h = json_string_value(s);
	uint8_t *der = NULL;
	size_t n = 0;
	enum atl_err rc;

	if (h == NULL)
		return ATL_E_FORMAT;
	rc = atl_hex_decode_alloc(h, strlen(h), &der, &n);
	if (rc == ATL_OK)
		rc = atl_crl_list_parse(der, n, l);
	free(der);
	return rc;
}

/* Sorts the JSON collateral: dcap-qvl QuoteCollateralV3 bundles, PCS
 * tcbInfo / enclaveIdentity response bodies. */
static enum atl_err coll_json(struct dcoll *c, const char *txt, size_t len, char *why, size_t cap)
{
	json_t *j = NULL;
	enum atl_err rc = atl_json_parse(txt, len, &j);
	const char *v = NULL;
	size_t vl = 0;

	if (rc != ATL_OK) {
		(void)snprintf(why, cap, "collateral JSON does not parse");
		return ATL_E_FORMAT;
	}
	if (json_object_get(j, "tcb_info") != NULL) {
		static const char *const keys[] = {"pck_crl_issuer_chain", "root_ca_crl", "pck_crl",
						   "tcb_info_issuer_chain", "tcb_info",
						   "tcb_info_signature", "qe_identity_issuer_chain",
						   "qe_identity", "qe_identity_signature", NULL};
		for (size_t i = 0; rc == ATL_OK && keys[i] != NULL; i++) {
			if (!json_is_string(json_object_get(j, keys[i]))) {
				(void)snprintf(why, cap, "collateral bundle lacks %s", keys[i]);
				rc = ATL_E_FORMAT;
			}
		}
		if (rc == ATL_OK) {
			const char *ti = json_string_value(json_object_get(j, "tcb_info"));
			const char *qi = json_string_value(json_object_get(j, "qe_identity"));
			rc = doc_set(&c->tcb, ti, strlen(ti),
				     json_string_value(json_object_get(j, "tcb_info_signature")));
			if (rc == ATL_OK)
				rc = doc_set(&c->qe, qi, strlen(qi),
					     json_string_value(json_object_get(j, "qe_identity_signature")));
			if (rc == ATL_OK)
				rc = add_pem(&c->signers, json_object_get(j, "tcb_info_issuer_chain"));
			if (rc == ATL_OK)
				rc = add_pem(&c->signers, json_object_get(j, "qe_identity_issuer_chain"));
			if (rc == ATL_OK)
				rc = add_crl_hex(&c->files.crls, json_object_get(j, "root_ca_crl"));
			if (rc == ATL_OK)
				rc = add_crl_hex(&c->files.crls, json_object_get(j, "pck_crl"));
			if (rc != ATL_OK)
				(void)snprintf(why, cap, "collateral bundle malformed (%s)",
					       atl_strerror(rc));
		}
	} else if (json_object_get(j, "tcbInfo") != NULL || json_object_get(j, "enclaveIdentity") != NULL) {
		bool tcb = json_object_get(j, "tcbInfo") != NULL;
		rc = raw_member(txt, len, tcb ? "tcbInfo" : "enclaveIdentity", &v, &vl);
		if (rc == ATL_OK)
			rc = doc_set(tcb ? &c->tcb : &c->qe, v, vl,
				     json_string_value(json_object_get(j, "signature")));
		if (rc != ATL_OK)
			(void)snprintf(why, cap, "%s response malformed or given twice (%s)",
				       tcb ? "tcbInfo" : "enclaveIdentity", atl_strerror(rc));
	} else {
		(void)snprintf(why, cap, "unknown JSON collateral");
		rc = ATL_E_FORMAT;
	}
	json_decref(j);
	return rc;
}

static void dcoll_free(struct dcoll *c)
{
	atl_hw_coll_free(&c->files);
	free(c->tcb.txt);
	free(c->qe.txt);
	atl_x509_list_free(c->signers);
	memset(c, 0, sizeof(*c));
}

/* ---- helpers ---- */

static bool chain_algs_ok(const struct atl_x509_list *l)
{
	for (size_t i = 0; i < atl_x509_list_len(l); i++) {
		struct atl_x509_sig_info si;
		if (atl_x509_version(atl_x509_list_get(l, i)) != 2 ||
		    atl_x509_sig_info(atl_x509_list_get(l, i), &si) != ATL_OK ||
		    si.kind != ATL_X509_SIG_ECDSA || si.hash_nid_bits != 256 || !si.key_ec ||
		    si.key_bits != 256)
			return false;
	}
	return true;
}

/* Verifies a signed collateral document with a TCB signing certificate from
 * signers chained to roots at now. */
static enum atl_err verify_doc(const struct signed_doc *d, const struct dcoll *c,
			       const struct atl_x509_list *roots, int64_t now, char *why,
			       size_t cap)
{
	enum atl_err rc = ATL_E_NOTFOUND;

	(void)snprintf(why, cap, "no \"%s\" certificate in the collateral", CN_TCB_SIGNING);
	for (size_t i = 0; i < atl_x509_list_len(c->signers); i++) {
		const struct atl_x509 *s = atl_x509_list_get(c->signers, i);
		struct atl_pubkey *pk = NULL;
		char cwhy[200];
		struct atl_x509_list *one = NULL;

		if (!atl_hw_cn_is(s, CN_TCB_SIGNING))
			continue;
		if (atl_x509_is_ca(s)) {
			(void)snprintf(why, cap, "TCB signing certificate is a CA certificate");
			rc = ATL_E_AUTH;
			continue;
		}
		if (atl_x509_list_add(&one, s) != ATL_OK || !chain_algs_ok(one)) {
			atl_x509_list_free(one);
			(void)snprintf(why, cap, "TCB signing certificate is not ECDSA P-256/SHA-256");
			rc = ATL_E_AUTH;
			continue;
		}
		atl_x509_list_free(one);
		rc = atl_x509_verify_chain(s, c->signers, roots, c->files.crls, now, 0, cwhy,
					   sizeof(cwhy));
		if (rc != ATL_OK) {
			(void)snprintf(why, cap, "TCB signing chain: %s", cwhy);
			continue;
		}
		rc = atl_x509_pubkey(s, &pk);
		if (rc == ATL_OK)
			rc = atl_sig_verify(pk, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_RAW_RS,
					    (const uint8_t *)d->txt, d->len, d->sig, 64);
		atl_pubkey_free(pk);
		if (rc == ATL_OK) {
			(void)snprintf(why, cap, "signed by %s (chain to the pinned root)",
				       CN_TCB_SIGNING);
			return ATL_OK;
		}
		(void)snprintf(why, cap, "signature INVALID");
	}
	return rc == ATL_OK ? ATL_E_AUTH : rc;
}

static bool str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach((json_t *)arr, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

static const char *const shared_keys[] = {"accept_status", "require_crl", "require_collateral",
					  NULL};

static enum atl_err policy_check(const struct atl_dcap_kind *k, const json_t *o, char *why,
				 size_t cap)
{
	const char *key;
	json_t *v;

	if (o == NULL)
		return ATL_OK;
	if (!json_is_object(o)) {
		(void)snprintf(why, cap, "min_tcb.%s must be an object", k->tee);
		return ATL_E_FORMAT;
	}
	json_object_foreach((json_t *)o, key, v) {
		bool known = false;
		for (size_t i = 0; shared_keys[i] != NULL; i++)
			known |= strcmp(key, shared_keys[i]) == 0;
		for (size_t i = 0; k->policy_keys != NULL && k->policy_keys[i] != NULL; i++)
			known |= strcmp(key, k->policy_keys[i]) == 0;
		if (!known) {
			(void)snprintf(why, cap, "min_tcb.%s: unknown field \"%.40s\"", k->tee, key);
			return ATL_E_FORMAT;
		}
		if (strcmp(key, "accept_status") == 0) {
			size_t i;
			json_t *s;
			enum atl_dcap_status st;
			if (!json_is_array(v) || json_array_size(v) > 8) {
				(void)snprintf(why, cap, "min_tcb.%s.accept_status must be a list", k->tee);
				return ATL_E_FORMAT;
			}
			json_array_foreach(v, i, s) {
				if (atl_dcap_status_parse(json_string_value(s), &st) != ATL_OK ||
				    st == ATL_DCAP_REVOKED) {
					(void)snprintf(why, cap,
						       "min_tcb.%s.accept_status: not an acceptable status",
						       k->tee);
					return ATL_E_FORMAT;
				}
			}
		} else if (strncmp(key, "require", 7) == 0 || strncmp(key, "allow", 5) == 0) {
			if (!json_is_boolean(v)) {
				(void)snprintf(why, cap, "min_tcb.%s.%s must be a boolean", k->tee, key);
				return ATL_E_FORMAT;
			}
		} else if (!json_is_integer(v) && !json_is_string(v)) {
			(void)snprintf(why, cap, "min_tcb.%s.%s has a wrong type", k->tee, key);
			return ATL_E_FORMAT;
		}
	}
	return ATL_OK;
}

static bool pol_true(const json_t *o, const char *k)
{
	return o != NULL && json_is_true(json_object_get(o, k));
}

#define CHECK(name, ok, ...)                                                       \
	do {                                                                       \
		char nm_[48];                                                      \
		(void)snprintf(nm_, sizeof(nm_), "%s.%s", k->tee, name);           \
		ATL_TRY(atl_ar_check(ar, nm_, ok, __VA_ARGS__));                   \
	} while (0)

/* ---- TDX module identity (tcbInfo v3 tdxModuleIdentities) ---- */

static enum atl_err tdx_module(const struct atl_dcap_quote *q, const json_t *ti,
			       enum atl_dcap_status *st, json_t *adv, char *why, size_t cap)
{
	const json_t *mods = json_object_get(ti, "tdxModuleIdentities");
	uint8_t major = q->td.tee_tcb_svn[1], minor = q->td.tee_tcb_svn[0];
	char id[16];
	size_t i;
	json_t *m;

	*st = ATL_DCAP_UP_TO_DATE;
	if (major == 0 || mods == NULL) {
		(void)snprintf(why, cap, "no TDX module identity to match (major %u)", major);
		return ATL_OK;
	}
	if (!json_is_array(mods) || json_array_size(mods) > ATL_DCAP_MODULES_MAX) {
		(void)snprintf(why, cap, "tdxModuleIdentities malformed");
		return ATL_E_FORMAT;
	}
	(void)snprintf(id, sizeof(id), "TDX_%02X", major);
	json_array_foreach((json_t *)mods, i, m) {
		const json_t *lv;
		size_t j;
		json_t *l;
		uint8_t sa[8];

		if (strcasecmp(json_string_value(json_object_get(m, "id")) == NULL ? ""
			       : json_string_value(json_object_get(m, "id")), id) != 0)
			continue;
		for (size_t b = 0; b < 8; b++)
			sa[b] = (uint8_t)(q->td.seam_attributes >> (8 * b));
		if (!atl_dcap_hex_eq(json_object_get(m, "mrsigner"), q->td.mrsignerseam, 48) ||
		    !atl_dcap_masked_eq(json_object_get(m, "attributes"), json_object_get(m, "attributesMask"),
			       sa, 8)) {
			(void)snprintf(why, cap, "%s: MRSIGNERSEAM or SEAM attributes differ", id);
			return ATL_E_AUTH;
		}
		lv = json_object_get(m, "tcbLevels");
		json_array_foreach((json_t *)lv, j, l) {
			const json_t *svn = json_object_get(json_object_get(l, "tcb"), "isvsvn");
			const json_t *a = json_object_get(l, "advisoryIDs");
			if (!json_is_integer(svn) || json_integer_value(svn) > minor)
				continue;
			if (atl_dcap_status_parse(json_string_value(json_object_get(l, "tcbStatus")), st) !=
			    ATL_OK) {
				(void)snprintf(why, cap, "%s: unknown TCB status", id);
				return ATL_E_FORMAT;
			}
			if (json_is_array(a))
				(void)json_array_extend(adv, (json_t *)a);
			(void)snprintf(why, cap, "%s level isvsvn %lld: %s", id,
				       (long long)json_integer_value(svn), atl_dcap_status_name(*st));
			return ATL_OK;
		}
		(void)snprintf(why, cap, "%s: no TCB level for module SVN %u", id, minor);
		return ATL_E_NOTFOUND;
	}
	(void)snprintf(why, cap, "no module identity %s in tcbInfo", id);
	return ATL_E_NOTFOUND;
}

/* Advisory ids without duplicates, in first-seen order. */
static json_t *dedup(const json_t *a)
{
	json_t *o = json_array();
	size_t i;
	json_t *v;

	if (o == NULL)
		return NULL;
	json_array_foreach((json_t *)a, i, v) {
		if (json_is_string(v) && !str_in(o, json_string_value(v)))
			(void)json_array_append(o, v);
	}
	return o;
}

/* ---- the flow ---- */

enum atl_err atl_dcap_verify(const struct atl_dcap_kind *k, const uint8_t *ev, size_t ev_len,
			     const struct atl_verify_in *in, struct atl_ar *ar)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct atl_dcap_quote q;
	struct dcoll c;
	struct atl_x509_list *pck = NULL, *roots = NULL;
	const struct atl_x509 *leaf = NULL;
	struct atl_pubkey *pck_pub = NULL, *att_pub = NULL;
	struct atl_dcap_pck ext;
	json_t *tcb_info = NULL, *qe_id = NULL, *adv = json_array(), *tcbj = NULL;
	const json_t *pol = NULL;
	const char *anchor_src = "";
	char why[320];
	enum atl_dcap_status status = ATL_DCAP_UP_TO_DATE;
	bool have_ext = false, tcb_judged = false;
	enum atl_err rc = ATL_E_INTERNAL, e;
	int64_t now;

	memset(&c, 0, sizeof(c));
	memset(&ext, 0, sizeof(ext));
	why[0] = '\0';
	if (k == NULL || in == NULL || ar == NULL || adv == NULL) {
		json_decref(adv);
		return ATL_E_ARG;
	}
	now = in->now;
	pol = atl_policy_min_tcb(in->policy, k->tee);

	/* 1. quote */
	ATL_TRY(atl_hw_decode(ev, ev_len, ATL_ATTEST_EVIDENCE_MAX, &buf, &len));
	e = atl_dcap_parse(buf, len, &q);
	if (e != ATL_OK) {
		CHECK("quote", false, "not a valid DCAP quote (%s)", atl_strerror(e));
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (q.tee_type != k->tee_type) {
		CHECK("quote", false, "quote is for %s, not %s",
		      q.tee_type == ATL_DCAP_TEE_TDX ? "TDX" : "SGX", k->tee);
		rc = ATL_E_FORMAT;
		goto out;
	}
	e = policy_check(k, pol, why, sizeof(why));
	if (e != ATL_OK) {
		CHECK("policy", false, "%s", why);
		rc = ATL_OK;
		goto out;
	}
	CHECK("quote", true, "DCAP quote v%u, %zu signed bytes, %zu trailing bytes ignored",
	      q.version, q.signed_len, q.trailing);
	ATL_TRY(atl_ar_set_int(ar, "quote_version", q.version));

	/* 2. claims and attributes of the kind */
	ATL_TRY(k->claims(&q, pol, in, ar));

	/* 3. PCK chain */
	e = atl_x509_list_parse(q.cert_data, q.cert_len, &pck);
	if (e != ATL_OK || atl_x509_list_len(pck) < 2) {
		CHECK("pck_chain", false, "PCK certification data holds no usable chain (%s)",
		      atl_strerror(e != ATL_OK ? e : ATL_E_FORMAT));
		goto out;
	}
	leaf = atl_x509_list_get(pck, 0);
	e = atl_hw_coll_load(in->collateral, &c.files, why, sizeof(why));
	for (size_t i = 0; e == ATL_OK && i < c.files.n_json; i++)
		e = coll_json(&c, c.files.json[i], c.files.json_len[i], why, sizeof(why));
	for (size_t i = 0; e == ATL_OK && i < atl_x509_list_len(c.files.certs); i++)
		e = atl_x509_list_add(&c.signers, atl_x509_list_get(c.files.certs, i));
	if (e != ATL_OK) {
		CHECK("collateral", false, "%s", why);
		goto out;
	}
	e = atl_hw_anchors(in, k->tee, ATL_HW_INTEL_ROOT, &roots, &anchor_src);
	if (e != ATL_OK) {
		CHECK("anchors", false, "trust anchors unreadable (%s)", atl_strerror(e));
		goto out;
	}
	{
		char *pck_issuer = NULL;
		bool crl_issuer_ok = true;
		int flags = pol_true(pol, "require_crl") ? ATL_X509_CHECK_CRL : 0;
		bool leaf_ok = atl_hw_cn_is(leaf, CN_PCK) && !atl_x509_is_ca(leaf);
		bool algs = chain_algs_ok(pck);

		if (atl_x509_issuer_cn(leaf, &pck_issuer) != ATL_OK)
			pck_issuer = NULL;
		/* A PCK CRL from the other PCK CA (Processor vs Platform) must
		 * not pass for this chain (NEGATIVE-TESTS.md #22). */
		for (size_t i = 0; i < atl_crl_list_len(c.files.crls); i++) {
			char *cn = NULL;
			if (atl_crl_issuer_cn(c.files.crls, i, &cn) == ATL_OK &&
			    strncmp(cn, "Intel SGX PCK ", 14) == 0 &&
			    (pck_issuer == NULL || strcmp(cn, pck_issuer) != 0))
				crl_issuer_ok = false;
			free(cn);
		}
		e = atl_x509_verify_chain(leaf, pck, roots, c.files.crls, now, flags, why, sizeof(why));
		CHECK("pck_chain", e == ATL_OK && leaf_ok && algs && crl_issuer_ok,
		      "%s; leaf %s; %s; PCK CRL issuer %s; %s anchor; %zu CRL(s)", why,
		      leaf_ok ? "is a PCK end-entity certificate" : "is NOT a PCK end-entity certificate",
		      algs ? "ECDSA P-256/SHA-256" : "WRONG algorithms",
		      crl_issuer_ok ? "consistent" : "DIFFERS from the PCK issuer", anchor_src,
		      atl_crl_list_len(c.files.crls));
		free(pck_issuer);
	}

	/* 4. QE report signature by the PCK key */
	ATL_TRY(atl_x509_pubkey(leaf, &pck_pub));
	e = atl_sig_verify(pck_pub, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_RAW_RS, q.qe_report,
			   ATL_DCAP_SGX_REPORT_LEN, q.qe_sig, 64);
	CHECK("qe_signature", e == ATL_OK, "QE report signature by the PCK key %s",
	      e == ATL_OK ? "valid" : "INVALID");

	/* 5. attestation key binding */
	{
		struct atl_hash_ctx *h = NULL;
		uint8_t d[32];
		static const uint8_t zero[32];
		e = atl_hash_new(ATL_HASH_SHA256, &h);
		if (e == ATL_OK)
			e = atl_hash_update(h, q.att_key, 64);
		if (e == ATL_OK && q.auth_len > 0)
			e = atl_hash_update(h, q.auth_data, q.auth_len);
		if (e == ATL_OK)
			e = atl_hash_final(h, d);
		atl_hash_free(h);
		ATL_TRY(e);
		e = atl_crypto_memeq(d, q.qe.report_data, 32) && atl_crypto_memeq(zero, q.qe.report_data + 32, 32)
			    ? ATL_OK
			    : ATL_E_AUTH;
		CHECK("qe_binding", e == ATL_OK,
		      "QE report_data %s SHA-256(attestation key || QE auth data)",
		      e == ATL_OK ? "equals" : "DOES NOT equal");
	}

	/* 6. quote signature by the attestation key */
	e = atl_pubkey_from_ec_xy(256, q.att_key, q.att_key + 32, 32, &att_pub);
	if (e == ATL_OK)
		e = atl_sig_verify(att_pub, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_RAW_RS, buf,
				   q.signed_len, q.sig, 64);
	CHECK("signature", e == ATL_OK, "quote signature by the attestation key %s",
	      e == ATL_OK ? "valid" : "INVALID");

	/* the PCK's SGX extension */
	{
		uint8_t *v = NULL;
		size_t n = 0;
		e = atl_x509_ext(leaf, OID_SGX_EXT, &v, &n);
		if (e == ATL_OK)
			e = atl_dcap_pck_parse(v, n, &ext);
		free(v);
		have_ext = e == ATL_OK;
		CHECK("pck_extension", have_ext, "SGX extension of the PCK %s",
		      have_ext ? "parsed" : "missing or malformed");
		if (have_ext) {
			char fm[13];
			if (atl_hex_encode(ext.fmspc, 6, fm, sizeof(fm)) != ATL_OK)
				fm[0] = '\0';
			tcbj = json_pack("{s:s, s:i}", "fmspc", fm, "pcesvn", ext.pcesvn);
		}
	}

	/* 7. tcbInfo */
	if (!c.tcb.present) {
		CHECK("tcb_info", !pol_true(pol, "require_collateral"),
		      "no tcbInfo given: TCB status not judged");
		goto qe;
	}
	e = verify_doc(&c.tcb, &c, roots, now, why, sizeof(why));
	if (e != ATL_OK) {
		CHECK("tcb_info", false, "tcbInfo %s", why);
		goto qe;
	}
	e = atl_json_parse(c.tcb.txt, c.tcb.len, &tcb_info);
	if (e != ATL_OK || !json_is_object(tcb_info)) {
		CHECK("tcb_info", false, "tcbInfo does not parse");
		goto qe;
	}
	{
		const char *id = json_string_value(json_object_get(tcb_info, "id"));
		const json_t *ver = json_object_get(tcb_info, "version");
		const char *w = atl_dcap_window(tcb_info, now);
		const char *fm = json_string_value(json_object_get(tcb_info, "fmspc"));
		uint8_t fmb[6] = {0}, pce[2] = {0};
		const char *pc = json_string_value(json_object_get(tcb_info, "pceId"));
		bool id_ok = id == NULL ? (k->tcb_version_min == 2) : strcmp(id, k->tcb_id) == 0;
		bool ver_ok = json_is_integer(ver) && json_integer_value(ver) >= k->tcb_version_min;
		bool fm_ok = fm != NULL && strlen(fm) == 12 && atl_hex_decode_exact(fm, 12, fmb, 6) == ATL_OK &&
			     have_ext && memcmp(fmb, ext.fmspc, 6) == 0;
		bool pce_ok = pc != NULL && strlen(pc) == 4 && atl_hex_decode_exact(pc, 4, pce, 2) == ATL_OK &&
			      have_ext && memcmp(pce, ext.pceid, 2) == 0;
		CHECK("tcb_info", id_ok && ver_ok && w == NULL && fm_ok && pce_ok,
		      "%s; id %s%s; version %lld; %s; fmspc %s; pceId %s", why, id ? id : "(none)",
		      id_ok ? "" : " (WRONG for this TEE)", (long long)json_integer_value(ver),
		      w == NULL ? "within issueDate..nextUpdate" : w,
		      fm_ok ? "matches the PCK" : "DOES NOT match the PCK",
		      pce_ok ? "matches" : "DOES NOT match");
		if (!(id_ok && ver_ok && w == NULL && fm_ok && pce_ok))
			goto qe;
	}

	/* 8. platform TCB level (+ TDX module) */
	e = atl_dcap_tcb_match(tcb_info, &ext, k->tee_type == ATL_DCAP_TEE_TDX ? q.td.tee_tcb_svn : NULL,
			       &status, adv);
	if (e != ATL_OK) {
		CHECK("tcb_level", false, "%s",
		      e == ATL_E_NOTFOUND ? "no matching TCB level found" : "tcbLevels malformed");
		tcb_judged = false;
		status = ATL_DCAP_STATUS_UNKNOWN;
		goto qe;
	}
	tcb_judged = true;
	CHECK("tcb_level", true, "platform TCB level: %s", atl_dcap_status_name(status));
	if (k->tee_type == ATL_DCAP_TEE_TDX) {
		enum atl_dcap_status ms = ATL_DCAP_UP_TO_DATE;
		e = tdx_module(&q, tcb_info, &ms, adv, why, sizeof(why));
		CHECK("tdx_module", e == ATL_OK, "%s", why);
		if (e != ATL_OK)
			tcb_judged = false;
		status = atl_dcap_status_merge(status, ms);
	}

qe:
	/* 9. QE identity */
	if (!c.qe.present) {
		CHECK("qe_identity", !pol_true(pol, "require_collateral"), "no QE identity given: not judged");
	} else {
		enum atl_dcap_status qs = ATL_DCAP_STATUS_UNKNOWN;
		e = verify_doc(&c.qe, &c, roots, now, why, sizeof(why));
		if (e == ATL_OK) {
			e = atl_json_parse(c.qe.txt, c.qe.len, &qe_id);
			if (e == ATL_OK)
				e = atl_dcap_qe_identity_check(qe_id, &q.qe, k->qe_id, now, &qs, adv, why,
							       sizeof(why));
			else
				(void)snprintf(why, sizeof(why), "QE identity does not parse");
		}
		CHECK("qe_identity", e == ATL_OK && qs != ATL_DCAP_REVOKED, "QE identity: %s", why);
		if (e == ATL_OK && tcb_judged)
			status = atl_dcap_status_merge(status, qs);
	}

	/* 10. status */
	if (tcb_judged) {
		json_t *ids = dedup(adv);
		const json_t *acc = pol == NULL ? NULL : json_object_get(pol, "accept_status");
		const char *sn = atl_dcap_status_name(status);
		bool accepted = acc != NULL && str_in(acc, sn);
		char list[256] = "";

		for (size_t i = 0; ids != NULL && i < json_array_size(ids); i++) {
			size_t l = strlen(list);
			(void)snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "",
				       json_string_value(json_array_get(ids, i)));
		}
		if (tcbj != NULL) {
			json_object_set_new(tcbj, "status", json_string(sn));
			json_object_set_new(tcbj, "advisory_ids", ids != NULL ? json_incref(ids) : json_array());
		}
		enum atl_dcap_verdict vd = atl_dcap_status_verdict(status, acc);
		if (vd == ATL_DCAP_PASS)
			CHECK("tcb_status", true, "%s%s%s%s", sn, accepted ? " (accepted by policy)" : "",
			      list[0] ? "; advisories: " : "", list);
		else if (vd == ATL_DCAP_WARN)
			ATL_TRY(atl_ar_warn(ar, k->tee_type == ATL_DCAP_TEE_TDX ? "tdx.tcb_status"
										: "sgx.tcb_status",
					    "%s; advisories: %s", sn, list[0] ? list : "(none)"));
		else
			CHECK("tcb_status", false, "%s%s; advisories: %s", sn,
			      status == ATL_DCAP_REVOKED ? " (always refused)" : " (refused by policy)",
			      list[0] ? list : "(none)");
		json_decref(ids);
	} else if (tcbj != NULL) {
		json_object_set_new(tcbj, "status", json_string(c.tcb.present ? "NoMatchingLevel"
									      : "NotJudged"));
	}
	if (tcbj != NULL) {
		ATL_TRY(atl_ar_set_json(ar, "tcb", tcbj));
		tcbj = NULL;
	}
	rc = ATL_OK;
out:
	json_decref(tcbj);
	json_decref(adv);
	json_decref(tcb_info);
	json_decref(qe_id);
	atl_pubkey_free(pck_pub);
	atl_pubkey_free(att_pub);
	atl_x509_list_free(pck);
	atl_x509_list_free(roots);
	dcoll_free(&c);
	free(buf);
	return rc;
}
