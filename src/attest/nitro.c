/* AWS Nitro Enclaves attestation documents; see src/attest/nitro.h.
 * Parse (COSE_Sign1, CBOR map), validate (every field's type and size against
 * the AWS spec's limits), then use (chain to the pinned root at `now`,
 * signature with the leaf key, freshness, PCR pins, bindings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/limits.h"
#include "attest/backends.h"
#include "attest/cose.h"
#include "attest/hw2.h"
#include "attest/nitro.h"

/* AWS Nitro Enclaves Root-G1, from https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip
 * (SHA-256 of the DER: ATL_NITRO_ROOT_G1_SHA256, checked by the unit test). */
const char atl_nitro_root_g1_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL\n"
	"MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD\n"
	"VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4\n"
	"MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL\n"
	"DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG\n"
	"BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb\n"
	"48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE\n"
	"h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF\n"
	"R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC\n"
	"MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW\n"
	"rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N\n"
	"IwLz3/Y=\n"
	"-----END CERTIFICATE-----\n";

struct view {
	const uint8_t *p;
	size_t len;
	bool present; /* present and not null */
};

struct doc {
	const char *module_id;
	size_t module_id_len;
	uint64_t ts_ms;
	struct view pcr[ATL_NITRO_PCRS_MAX];
	size_t n_pcrs, pcr_len;
	struct view cert;
	struct view ca[ATL_NITRO_CABUNDLE_MAX];
	size_t n_ca;
	struct view public_key, user_data, nonce;
};

static enum atl_err bad(char *why, size_t cap, const char *what)
{
	(void)snprintf(why, cap, "%s", what);
	return ATL_E_FORMAT;
}

/* Optional bstr field: absent, null, or a bstr of at most max bytes. */
static enum atl_err opt_bstr(const cbor_item_t *m, const char *key, size_t max, struct view *v,
			     char *why, size_t cap)
{
	const cbor_item_t *it = atl_cbor_map_str(m, key);

	memset(v, 0, sizeof(*v));
	if (it == NULL || atl_cbor_is_null(it))
		return ATL_OK;
	if (!atl_cbor_bstr(it, &v->p, &v->len) || v->len > max) {
		(void)snprintf(why, cap, "%s is not a byte string of at most %zu bytes", key, max);
		return ATL_E_FORMAT;
	}
	v->present = true;
	return ATL_OK;
}

/* Field rules: aws-nitro-enclaves-nsm-api docs/attestation_process.md §3.2.2. */
static enum atl_err parse_doc(const cbor_item_t *m, struct doc *d, char *why, size_t cap)
{
	static const char *const fields[] = {"module_id", "digest", "timestamp", "pcrs",
					     "certificate", "cabundle", "public_key",
					     "user_data", "nonce", NULL};
	const cbor_item_t *pcrs, *ca;
	struct cbor_pair *h;
	size_t n;
	enum atl_err rc;

	memset(d, 0, sizeof(*d));
	if (m == NULL || !cbor_isa_map(m))
		return bad(why, cap, "payload is not a map");
	h = cbor_map_handle(m);
	n = cbor_map_size(m);
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (size_t j = 0; fields[j] != NULL && !known; j++)
			known = atl_cbor_tstr_eq(h[i].key, fields[j]);
		if (!known)
			return bad(why, cap, "unknown field in the document");
	}
	if (!atl_cbor_tstr(atl_cbor_map_str(m, "module_id"), &d->module_id, &d->module_id_len) ||
	    d->module_id_len == 0 || d->module_id_len > ATL_NITRO_MODULE_ID_MAX)
		return bad(why, cap, "module_id missing or of a wrong size");
	if (!atl_cbor_tstr_eq(atl_cbor_map_str(m, "digest"), "SHA384"))
		return bad(why, cap, "digest is not SHA384");
	d->pcr_len = ATL_SHA384_LEN;
	if (!atl_cbor_uint(atl_cbor_map_str(m, "timestamp"), &d->ts_ms) || d->ts_ms == 0 ||
	    d->ts_ms > (uint64_t)INT64_MAX)
		return bad(why, cap, "timestamp missing or out of range");
	pcrs = atl_cbor_map_str(m, "pcrs");
	if (pcrs == NULL || !cbor_isa_map(pcrs) || cbor_map_size(pcrs) == 0 ||
	    cbor_map_size(pcrs) > ATL_NITRO_PCRS_MAX)
		return bad(why, cap, "pcrs missing, empty or with more than 32 entries");
	h = cbor_map_handle(pcrs);
	for (size_t i = 0; i < cbor_map_size(pcrs); i++) {
		uint64_t idx;
		struct view *v;

		if (!atl_cbor_uint(h[i].key, &idx) || idx >= ATL_NITRO_PCRS_MAX)
			return bad(why, cap, "a PCR index is not in 0..31");
		v = &d->pcr[idx];
		if (!atl_cbor_bstr(h[i].value, &v->p, &v->len) || v->len != d->pcr_len)
			return bad(why, cap, "a PCR value is not 48 bytes");
		v->present = true;
		d->n_pcrs++;
	}
	if (!atl_cbor_bstr(atl_cbor_map_str(m, "certificate"), &d->cert.p, &d->cert.len) ||
	    d->cert.len == 0 || d->cert.len > ATL_NITRO_CERT_MAX)
		return bad(why, cap, "certificate missing or of a wrong size");
	d->cert.present = true;
	ca = atl_cbor_map_str(m, "cabundle");
	if (atl_cbor_array_len(ca) == 0 || atl_cbor_array_len(ca) > ATL_NITRO_CABUNDLE_MAX)
		return bad(why, cap, "cabundle missing, empty or too long");
	d->n_ca = atl_cbor_array_len(ca);
	for (size_t i = 0; i < d->n_ca; i++) {
		if (!atl_cbor_bstr(atl_cbor_array_at(ca, i), &d->ca[i].p, &d->ca[i].len) ||
		    d->ca[i].len == 0 || d->ca[i].len > ATL_NITRO_CERT_MAX)
			return bad(why, cap, "a cabundle entry is not a certificate of 1..1024 bytes");
		d->ca[i].present = true;
	}
	rc = opt_bstr(m, "public_key", ATL_NITRO_PUBKEY_MAX, &d->public_key, why, cap);
	if (rc == ATL_OK)
		rc = opt_bstr(m, "user_data", ATL_NITRO_USER_DATA_MAX, &d->user_data, why, cap);
	if (rc == ATL_OK)
		rc = opt_bstr(m, "nonce", ATL_NITRO_NONCE_MAX, &d->nonce, why, cap);
	return rc;
}

static enum atl_err put_hex(json_t *o, const char *k, const struct view *v)
{
	json_t *h = v->present ? atl_hw2_hex(v->p, v->len) : json_null();

	if (h == NULL || json_object_set_new(o, k, h) != 0)
		return ATL_E_NOMEM;
	return ATL_OK;
}

static enum atl_err record_claims(const struct doc *d, struct atl_ar *ar)
{
	json_t *o = json_object(), *pcrs = json_object();
	enum atl_err rc = ATL_E_NOMEM;
	static const uint8_t zero[ATL_SHA384_LEN];
	bool debug;

	if (o == NULL || pcrs == NULL)
		goto out;
	for (unsigned i = 0; i < ATL_NITRO_PCRS_MAX; i++) {
		char k[4];

		if (!d->pcr[i].present)
			continue;
		(void)snprintf(k, sizeof(k), "%u", i);
		if (json_object_set_new(pcrs, k, atl_hw2_hex(d->pcr[i].p, d->pcr[i].len)) != 0)
			goto out;
	}
	if (json_object_set_new(o, "module_id", json_stringn(d->module_id, d->module_id_len)) ||
	    json_object_set_new(o, "digest", json_string("SHA384")) ||
	    json_object_set_new(o, "timestamp_ms", json_integer((json_int_t)d->ts_ms)) ||
	    json_object_set(o, "pcrs", pcrs) ||
	    json_object_set_new(o, "cabundle_len", json_integer((json_int_t)d->n_ca)))
		goto out;
	ATL_TRY(put_hex(o, "public_key", &d->public_key));
	ATL_TRY(put_hex(o, "user_data", &d->user_data));
	ATL_TRY(put_hex(o, "nonce", &d->nonce));
	ATL_TRY(atl_ar_set_json(ar, "nitro", o));
	o = NULL;
	/* Debug-mode enclaves report PCR0..2 as zeros (AWS Nitro docs,
	 * "Enclave debug mode"). An absent PCR0 counts as debug: fail closed. */
	debug = !d->pcr[0].present || atl_crypto_memeq(d->pcr[0].p, zero, sizeof(zero));
	if (d->pcr[0].present)
		ATL_TRY(atl_ar_set_hex(ar, "measurement", d->pcr[0].p, d->pcr[0].len));
	ATL_TRY(atl_ar_set_bool(ar, "debug", debug));
	ATL_TRY(atl_ar_set_int(ar, "issued_at", (int64_t)(d->ts_ms / 1000)));
	if (d->user_data.present && d->user_data.len == ATL_REPORT_DATA_LEN)
		ATL_TRY(atl_ar_set_hex(ar, "report_data", d->user_data.p, d->user_data.len));
	rc = ATL_OK;
out:
	json_decref(o);
	json_decref(pcrs);
	return rc;
}

/* The chain leaf -> cabundle -> pinned root at o->now. */
static enum atl_err check_chain(const struct doc *d, const struct atl_nitro_opts *o,
				struct atl_x509 **leaf_out, struct atl_ar *ar)
{
	struct atl_x509 *leaf = NULL;
	struct atl_x509_list *inter = NULL, *builtin = NULL;
	const struct atl_x509_list *roots = o->roots;
	enum atl_err rc = ATL_E_INTERNAL, vrc;
	char why[256] = "";

	*leaf_out = NULL;
	if (roots == NULL) {
		ATL_TRY(atl_x509_list_parse((const uint8_t *)atl_nitro_root_g1_pem,
					    sizeof(atl_nitro_root_g1_pem) - 1, &builtin));
		roots = builtin;
	}
	vrc = atl_x509_parse(d->cert.p, d->cert.len, &leaf);
	for (size_t i = 0; vrc == ATL_OK && i < d->n_ca; i++) {
		struct atl_x509 *c = NULL;

		vrc = atl_x509_parse(d->ca[i].p, d->ca[i].len, &c);
		if (vrc == ATL_OK)
			vrc = atl_x509_list_add(&inter, c);
		atl_x509_free(c);
	}
	if (vrc != ATL_OK) {
		if (vrc == ATL_E_NOMEM) {
			rc = vrc;
			goto out;
		}
		ATL_TRY(atl_ar_check(ar, "nitro.chain", false, "a certificate does not parse"));
		rc = ATL_OK;
		goto out;
	}
	vrc = atl_x509_verify_chain(leaf, inter, roots, NULL, o->now, 0, why, sizeof(why));
	ATL_TRY(atl_ar_check(ar, "nitro.chain", vrc == ATL_OK,
			     vrc == ATL_OK ? "leaf chains to the pinned AWS Nitro root" : "%s: %s",
			     atl_strerror(vrc), why));
	if (vrc == ATL_OK) {
		*leaf_out = leaf;
		leaf = NULL;
	}
	rc = ATL_OK;
out:
	atl_x509_free(leaf);
	atl_x509_list_free(inter);
	atl_x509_list_free(builtin);
	return rc;
}

static enum atl_err check_field(struct atl_ar *ar, const char *name, const struct view *v,
				const uint8_t *want, size_t want_len)
{
	bool ok;

	if (want == NULL)
		return ATL_OK;
	ok = v->present && v->len == want_len && atl_crypto_memeq(v->p, want, want_len);
	return atl_ar_check(ar, name, ok, ok ? "matches the expected value"
					       : v->present ? "differs from the expected value"
							    : "absent, but a value is expected");
}

enum atl_err atl_nitro_verify_doc(const uint8_t *buf, size_t len, const struct atl_nitro_opts *o,
				  struct atl_ar *ar)
{
	struct atl_cose_sign1 s = {0};
	cbor_item_t *payload = NULL;
	struct atl_x509 *leaf = NULL;
	struct atl_pubkey *lk = NULL;
	struct doc d;
	enum atl_err rc = ATL_E_INTERNAL, prc;
	char why[256] = "";
	bool ok;
	int64_t ts;

	if (len > ATL_NITRO_DOC_MAX) {
		ATL_TRY(atl_ar_check(ar, "nitro.document", false, "document larger than %u bytes",
				     ATL_NITRO_DOC_MAX));
		rc = ATL_E_LIMIT;
		goto out;
	}
	prc = atl_cose_sign1_parse(buf, len, &s);
	if (prc == ATL_OK && s.alg != ATL_COSE_ALG_ES384) {
		prc = ATL_E_UNSUPPORTED;
		(void)snprintf(why, sizeof(why), "alg %lld is not ES384", (long long)s.alg);
	}
	if (prc == ATL_OK)
		prc = atl_cbor_decode(s.payload, s.payload_len, &payload);
	if (prc == ATL_OK)
		prc = parse_doc(payload, &d, why, sizeof(why));
	if (prc != ATL_OK) {
		if (prc == ATL_E_NOMEM) {
			rc = prc;
			goto out;
		}
		ATL_TRY(atl_ar_check(ar, "nitro.document", false, "document does not decode: %s%s%s",
				     atl_strerror(prc), why[0] ? ": " : "", why));
		rc = prc;
		goto out;
	}
	ATL_TRY(atl_ar_check(ar, "nitro.document", true, "module %.*s, %zu PCRs, %zu CA certificates",
			     (int)d.module_id_len, d.module_id, d.n_pcrs, d.n_ca));
	ATL_TRY(check_chain(&d, o, &leaf, ar));
	ok = false;
	if (leaf != NULL && atl_x509_pubkey(leaf, &lk) == ATL_OK)
		ok = atl_cose_sign1_verify(&s, lk) == ATL_OK;
	ATL_TRY(atl_ar_check(ar, "nitro.signature", ok,
			     leaf == NULL ? "no trusted leaf key to verify with"
			     : ok ? "COSE_Sign1 ES384 verifies with the leaf key"
				  : "COSE_Sign1 signature does not verify"));
	ts = (int64_t)(d.ts_ms / 1000);
	if (o->max_age_s >= 0) {
		/* nsm-qvl: age <= max, not more than 5 min in the future */
		ok = o->now - ts <= o->max_age_s && ts - o->now <= ATL_NITRO_FUTURE_SKEW_MAX;
		ATL_TRY(atl_ar_check(ar, "nitro.age", ok, "document is %lld s old (allowed %lld)",
				     (long long)(o->now - ts), (long long)o->max_age_s));
	}
	if (o->n_pcrs > 0) {
		unsigned badi = 0;

		ok = true;
		for (size_t i = 0; i < o->n_pcrs && ok; i++) {
			const struct view *v = o->pcrs[i].index < ATL_NITRO_PCRS_MAX
						       ? &d.pcr[o->pcrs[i].index] : NULL;

			/* pinned even when all zero (MystenLabs/hashi PR #666) */
			ok = v != NULL && v->present && v->len == o->pcrs[i].len &&
			     atl_crypto_memeq(v->p, o->pcrs[i].value, v->len);
			badi = o->pcrs[i].index;
		}
		ATL_TRY(atl_ar_check(ar, "nitro.pcrs", ok, ok ? "%zu pinned PCRs match"
							  : "PCR%zu differs from the pinned value", ok ? o->n_pcrs : (size_t)badi));
	}
	ATL_TRY(check_field(ar, "nitro.nonce", &d.nonce, o->nonce, o->nonce_len));
	ATL_TRY(check_field(ar, "nitro.user_data", &d.user_data, o->user_data, o->user_data_len));
	ATL_TRY(check_field(ar, "nitro.public_key", &d.public_key, o->public_key, o->public_key_len));
	ATL_TRY(record_claims(&d, ar));
	rc = ATL_OK;
out:
	atl_pubkey_free(lk);
	atl_x509_free(leaf);
	atl_cbor_free(payload);
	atl_cose_sign1_free(&s);
	return rc;
}

/* One field of the verified document's "nitro" claim against the wrapper's
 * value: absent or null records nothing (the binding rests on user_data). */
static enum atl_err bound_field(struct atl_ar *ar, const json_t *claim, const char *field,
				const char *check, const char *what, const uint8_t *want,
				size_t want_len)
{
	const json_t *v = json_object_get(claim, field);
	uint8_t got[ATL_NITRO_PUBKEY_MAX > ATL_NITRO_NONCE_MAX ? ATL_NITRO_PUBKEY_MAX
								: ATL_NITRO_NONCE_MAX];
	size_t got_len = 0;
	bool ok;

	if (v == NULL || json_is_null(v))
		return ATL_OK;
	if (!json_is_string(v) ||
	    atl_hex_decode(json_string_value(v), json_string_length(v), got, sizeof(got),
			   &got_len) != ATL_OK)
		return atl_ar_check(ar, check, false, "the document's %s claim is not hex", field);
	ok = want != NULL && got_len == want_len && atl_crypto_memeq(got, want, want_len);
	return atl_ar_check(ar, check, ok, ok ? "the document's %s is the wrapper's %s"
					      : "the document's %s is not the wrapper's %s",
			    field, what);
}

enum atl_err atl_nitro_check_wrapper(struct atl_ar *ar, const uint8_t *enclave_key,
				     size_t enclave_key_len, const uint8_t *nonce,
				     size_t nonce_len)
{
	const json_t *claim = atl_ar_get(ar, "nitro");
	enum atl_err rc;

	if (!json_is_object(claim))
		return ATL_OK;
	ATL_TRY(bound_field(ar, claim, "public_key", "nitro.public_key", "enclave key",
			    enclave_key, enclave_key_len));
	ATL_TRY(bound_field(ar, claim, "nonce", "nitro.nonce", "nonce", nonce, nonce_len));
out:
	return rc;
}

/* ---- the "nitro" backend ---- */

/* policy "nitro": {"pcrs": {"<index>": "<hex 48 bytes>", ...}} */
static enum atl_err nitro_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
				 struct atl_ar *ar)
{
	struct atl_nitro_pcr pcrs[ATL_NITRO_PCRS_MAX];
	uint8_t vals[ATL_NITRO_PCRS_MAX][ATL_SHA384_LEN];
	struct atl_nitro_opts o = {.now = in->now, .max_age_s = -1, .pcrs = pcrs};
	const json_t *sec = json_object_get(in->policy, "nitro"), *p;
	struct atl_x509_list *roots = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	char why[256] = "";
	bool builtin;

	if (sec != NULL) {
		const char *k;
		json_t *v;

		p = json_object_get(sec, "pcrs");
		if (json_object_size(sec) != (p != NULL ? 1u : 0u) || (p != NULL && !json_is_object(p))) {
			ATL_TRY(atl_ar_check(ar, "nitro.policy", false, "policy nitro accepts only pcrs: {index: hex}"));
			rc = ATL_E_FORMAT;
			goto out;
		}
		json_object_foreach((json_t *)p, k, v) {
			char *end = NULL;
			unsigned long idx = strtoul(k, &end, 10);

			if (k[0] < '0' || k[0] > '9' || *end != '\0' || idx >= ATL_NITRO_PCRS_MAX ||
			    !atl_hw2_json_hex(v, vals[o.n_pcrs], ATL_SHA384_LEN, ATL_SHA384_LEN, NULL)) {
				ATL_TRY(atl_ar_check(ar, "nitro.policy", false,
						     "nitro.pcrs.%s must be 48 bytes of hex, index 0..31", k));
				rc = ATL_E_FORMAT;
				goto out;
			}
			pcrs[o.n_pcrs] = (struct atl_nitro_pcr){.index = (unsigned)idx,
								.value = vals[o.n_pcrs],
								.len = ATL_SHA384_LEN};
			o.n_pcrs++;
		}
	}
	rc = atl_hw2_anchor_roots(in, "nitro", atl_nitro_root_g1_pem, &roots, &builtin, why,
				  sizeof(why));
	if (rc != ATL_OK) {
		enum atl_err err = rc;

		ATL_TRY(atl_ar_check(ar, "nitro.anchors", false, "%s", why));
		rc = err;
		goto out;
	}
	if (!builtin)
		ATL_TRY(atl_ar_warn(ar, "nitro.anchors", "AWS root replaced by the caller's anchors"));
	o.roots = roots;
	/* Age, debug, measurement and report_data are appraised by the dispatcher. */
	rc = atl_nitro_verify_doc(ev, ev_len, &o, ar);
out:
	atl_x509_list_free(roots);
	return rc;
}

/* Evidence from the Nitro Secure Module (/dev/nsm) inside an enclave;
 * ATL_E_UNSUPPORTED elsewhere (nitro_nsm.c). */
static bool nitro_detect(void)
{
	return access(ATL_NSM_DEVICE, F_OK) == 0;
}

const struct atl_tee_ops atl_tee_nitro = {
	.name = "nitro",
	.detect = nitro_detect,
	.evidence = atl_nitro_nsm_evidence,
	.verify = nitro_verify,
};
