/* COSE_Sign1 decoding and verification; see src/attest/cose.h. */
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/limits.h"
#define ATL_LOG_MODULE "cose"
#include "atoll/log.h"
#include "attest/cose.h"

#define HDR_ALG 1
#define HDR_CRIT 2

void atl_cose_sign1_free(struct atl_cose_sign1 *s)
{
	if (s == NULL)
		return;
	atl_cbor_free(s->root);
	memset(s, 0, sizeof(*s));
}

/* Does map m hold a key equal to k (integer or text)? */
static bool map_has_key(const cbor_item_t *m, const cbor_item_t *k)
{
	struct cbor_pair *h = cbor_map_handle(m);
	size_t n = cbor_map_size(m);
	int64_t a, b;
	const char *ps, *qs;
	size_t pn, qn;

	for (size_t i = 0; i < n; i++) {
		if (atl_cbor_int(k, &a) && atl_cbor_int(h[i].key, &b) && a == b)
			return true;
		if (atl_cbor_tstr(k, &ps, &pn) && atl_cbor_tstr(h[i].key, &qs, &qn) && pn == qn &&
		    (pn == 0 || memcmp(ps, qs, pn) == 0))
			return true;
	}
	return false;
}

/* Both header buckets: alg in protected only, no crit, no label twice
 * (RFC 9052 §3). */
static enum atl_err check_headers(const cbor_item_t *prot, const cbor_item_t *unprot,
				  int64_t *alg_out)
{
	struct cbor_pair *h;
	size_t n;
	const cbor_item_t *alg;

	*alg_out = 0;
	if (atl_cbor_map_int(prot, HDR_CRIT) != NULL || atl_cbor_map_int(unprot, HDR_CRIT) != NULL) {
		atl_debug("crit header present: refused (no extension is understood)");
		return ATL_E_FORMAT;
	}
	h = cbor_map_handle(unprot);
	n = cbor_map_size(unprot);
	for (size_t i = 0; i < n; i++) {
		if (map_has_key(prot, h[i].key)) {
			atl_debug("a header label appears in both buckets");
			return ATL_E_FORMAT;
		}
	}
	alg = atl_cbor_map_int(prot, HDR_ALG);
	if (alg == NULL || !atl_cbor_int(alg, alg_out)) {
		atl_debug("alg missing from the protected header, or not an integer");
		return ATL_E_FORMAT;
	}
	return ATL_OK;
}

enum atl_err atl_cose_sign1_parse(const uint8_t *buf, size_t len, struct atl_cose_sign1 *out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	const cbor_item_t *arr, *ph, *uh, *pl, *sg;
	cbor_item_t *prot_map = NULL;
	uint64_t tag;

	memset(out, 0, sizeof(*out));
	if (len > ATL_COSE_PAYLOAD_MAX + 64u * 1024u)
		return ATL_E_LIMIT;
	ATL_TRY(atl_cbor_decode(buf, len, &out->root));
	arr = out->root;
	if (atl_cbor_tag(out->root, &tag, &arr)) {
		if (tag != ATL_COSE_TAG_SIGN1) {
			atl_debug("tag %llu is not COSE_Sign1", (unsigned long long)tag);
			rc = ATL_E_FORMAT;
			goto out;
		}
		out->tagged = true;
	} else {
		arr = out->root;
	}
	if (atl_cbor_array_len(arr) != 4) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ph = atl_cbor_array_at(arr, 0);
	uh = atl_cbor_array_at(arr, 1);
	pl = atl_cbor_array_at(arr, 2);
	sg = atl_cbor_array_at(arr, 3);
	if (!atl_cbor_bstr(ph, &out->prot, &out->prot_len) || !cbor_isa_map(uh) ||
	    !atl_cbor_bstr(sg, &out->sig, &out->sig_len)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (atl_cbor_is_null(pl)) {
		rc = ATL_E_UNSUPPORTED; /* detached payload */
		goto out;
	}
	if (!atl_cbor_bstr(pl, &out->payload, &out->payload_len)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (out->payload_len > ATL_COSE_PAYLOAD_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	/* RFC 9052 §3: a zero-length protected bstr means an empty map. */
	if (out->prot_len == 0) {
		rc = ATL_E_FORMAT; /* and then alg would be missing */
		goto out;
	}
	ATL_TRY(atl_cbor_decode(out->prot, out->prot_len, &prot_map));
	if (!cbor_isa_map(prot_map)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(check_headers(prot_map, uh, &out->alg));
	rc = ATL_OK;
out:
	atl_cbor_free(prot_map);
	if (rc != ATL_OK)
		atl_cose_sign1_free(out);
	return rc;
}

enum atl_err atl_cose_sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
				    size_t payload_len, uint8_t **out, size_t *out_len)
{
	static const char ctx[] = "Signature1";
	struct atl_wr w;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	*out_len = 0;
	atl_wr_init(&w, prot_len + payload_len + 64, false);
	ATL_TRY(atl_cbor_put_head(&w, 4, 4));
	ATL_TRY(atl_cbor_put_head(&w, 3, sizeof(ctx) - 1));
	ATL_TRY(atl_wr_bytes(&w, ctx, sizeof(ctx) - 1));
	ATL_TRY(atl_cbor_put_head(&w, 2, prot_len));
	ATL_TRY(atl_wr_bytes(&w, prot, prot_len));
	ATL_TRY(atl_cbor_put_head(&w, 2, 0)); /* external_aad: empty */
	ATL_TRY(atl_cbor_put_head(&w, 2, payload_len));
	ATL_TRY(atl_wr_bytes(&w, payload, payload_len));
	ATL_TRY(atl_wr_take(&w, out, out_len));
	rc = ATL_OK;
out:
	atl_wr_free(&w);
	return rc;
}

enum atl_err atl_cose_sign1_verify(const struct atl_cose_sign1 *s, const struct atl_pubkey *key)
{
	enum atl_err rc = ATL_E_INTERNAL;
	enum atl_sig_alg alg;
	size_t sig_len;
	uint8_t *tbs = NULL;
	size_t tbs_len = 0;

	switch (s->alg) {
	case ATL_COSE_ALG_ES256:
		alg = ATL_SIG_ECDSA_P256_SHA256;
		sig_len = 64;
		break;
	case ATL_COSE_ALG_ES384:
		alg = ATL_SIG_ECDSA_P384_SHA384;
		sig_len = 96;
		break;
	case ATL_COSE_ALG_ES512:
		alg = ATL_SIG_ECDSA_P521_SHA512;
		sig_len = 132; /* 2 x 66 bytes: 521 bits rounded up */
		break;
	default:
		atl_debug("COSE alg %lld not supported", (long long)s->alg);
		return ATL_E_UNSUPPORTED;
	}
	/* RFC 9053 §2.1: the signature is r || s, each the curve's size. */
	if (s->sig_len != sig_len)
		return ATL_E_AUTH;
	ATL_TRY(atl_cose_sig_structure(s->prot, s->prot_len, s->payload, s->payload_len, &tbs,
				       &tbs_len));
	rc = atl_sig_verify(key, alg, ATL_SIG_FMT_RAW_RS, tbs, tbs_len, s->sig, s->sig_len);
	if (rc == ATL_E_ARG || rc == ATL_E_FORMAT || rc == ATL_E_CRYPTO)
		rc = ATL_E_AUTH; /* wrong key type or malformed signature: not authentic */
out:
	free(tbs);
	return rc;
}
