/* NVIDIA Hopper GPU attestation (SPDM 1.1 measurements + device chain); see
 * src/attest/nvgpu.h. Checks follow nvtrust's local verifier and trustee's
 * deps/verifier/src/nvidia: chain to the pinned root, leaf FWID == report
 * FWID, SPDM signature with the leaf key, request nonce, reference values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/sig.h"
#include "attest/backends.h"
#include "attest/hw2.h"
#include "attest/nvgpu.h"
#include "attest/spdm.h"

/* NVIDIA Device Identity CA (self-signed, P-384, notAfter 9999-12-31),
 * SHA-256 ATL_NVGPU_ROOT_SHA256 (checked by the unit test). */
const char atl_nvgpu_root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw\n"
	"IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE\n"
	"SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM\n"
	"GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG\n"
	"ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX\n"
	"gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB\n"
	"2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
	"Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY\n"
	"MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3\n"
	"TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+\n"
	"EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=\n"
	"-----END CERTIFICATE-----\n";

#define TRAILING_TOLERATED 16 /* zero bytes after the signature (trustee sample: 1) */

/* The chain: 2..ATL_NVGPU_CHAIN_MAX certificates, leaf first, to a pinned
 * root (trustee cert_chain.rs: "must have at least the root CA and signing
 * certificates"). */
static enum atl_err check_chain(const struct atl_x509_list *chain, const struct atl_nvgpu_opts *o,
				struct atl_ar *ar, bool *ok_out)
{
	struct atl_x509_list *inter = NULL, *builtin = NULL;
	const struct atl_x509_list *roots = o->roots;
	size_t n = chain != NULL ? atl_x509_list_len(chain) : 0;
	enum atl_err rc = ATL_E_INTERNAL, vrc;
	char why[256] = "";

	*ok_out = false;
	if (n < 2 || n > ATL_NVGPU_CHAIN_MAX) {
		ATL_TRY(atl_ar_check(ar, "nvgpu.chain", false,
				     "the chain has %zu certificates: it must hold the signing certificate "
				     "up to the root (2..%u)", n, ATL_NVGPU_CHAIN_MAX));
		rc = ATL_OK;
		goto out;
	}
	if (roots == NULL) {
		ATL_TRY(atl_x509_list_parse((const uint8_t *)atl_nvgpu_root_pem,
					    sizeof(atl_nvgpu_root_pem) - 1, &builtin));
		roots = builtin;
	}
	for (size_t i = 1; i < n; i++)
		ATL_TRY(atl_x509_list_add(&inter, atl_x509_list_get(chain, i)));
	vrc = atl_x509_verify_chain(atl_x509_list_get(chain, 0), inter, roots, NULL, o->now, 0, why,
				    sizeof(why));
	*ok_out = vrc == ATL_OK;
	if (*ok_out)
		ATL_TRY(atl_ar_check(ar, "nvgpu.chain", true,
				     "device chain (%zu certificates) reaches the pinned NVIDIA root", n));
	else
		ATL_TRY(atl_ar_check(ar, "nvgpu.chain", false,
				     "report certificate chain failed to verify: %s: %s",
				     atl_strerror(vrc), why));
	rc = ATL_OK;
out:
	atl_x509_list_free(inter);
	atl_x509_list_free(builtin);
	return rc;
}

/* VBIOS version bytes b0..b4 print as b3.b2.b1.b0.b4 (nvtrust). */
static json_t *vbios_str(const struct atl_spdm_opaque *t)
{
	char s[32];

	if (t == NULL || t->len < 5)
		return json_null();
	(void)snprintf(s, sizeof(s), "%02x.%02x.%02x.%02x.%02x", t->value[3], t->value[2],
		       t->value[1], t->value[0], t->value[4]);
	return json_string(s);
}

/* A text TLV without its NUL padding; hex when it is not printable. */
static json_t *text_or_hex(const struct atl_spdm_opaque *t)
{
	size_t n;

	if (t == NULL)
		return json_null();
	n = t->len;
	while (n > 0 && t->value[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n; i++) {
		if (t->value[i] < 0x20 || t->value[i] > 0x7e)
			return atl_hw2_hex(t->value, t->len);
	}
	return json_stringn((const char *)t->value, n);
}

static enum atl_err record_claims(const struct atl_spdm_meas *m, struct atl_ar *ar)
{
	json_t *o = json_object(), *meas = json_object();
	struct atl_hash_ctx *h = NULL;
	uint8_t digest[ATL_SHA384_LEN];
	enum atl_err rc = ATL_E_NOMEM;
	static const struct {
		uint16_t type;
		const char *name;
		bool text;
	} fields[] = {
		{ATL_NVOP_DRIVER_VERSION, "driver_version", true},
		{ATL_NVOP_PROJECT, "project", true},
		{ATL_NVOP_PROJECT_SKU, "project_sku", true},
		{ATL_NVOP_PROJECT_SKU_MOD, "project_sku_mod", true},
		{ATL_NVOP_CHIP_SKU, "chip_sku", true},
		{ATL_NVOP_CHIP_SKU_MOD, "chip_sku_mod", true},
		{ATL_NVOP_FWID, "fwid", false},
		{ATL_NVOP_GPU_INFO, "gpu_info", false},
		{ATL_NVOP_BOARD_ID, "board_id", false},
		{ATL_NVOP_CPRINFO, "cpr_info", false},
	};

	if (o == NULL || meas == NULL)
		goto out;
	ATL_TRY(atl_hash_new(ATL_HASH_SHA384, &h));
	for (size_t i = 0; i < m->n_blocks; i++) {
		char k[4];

		(void)snprintf(k, sizeof(k), "%u", m->blocks[i].index);
		if (json_object_set_new(meas, k, atl_hw2_hex(m->blocks[i].value, m->blocks[i].value_len)))
			goto out;
		ATL_TRY(atl_hash_update(h, &m->blocks[i].index, 1));
		ATL_TRY(atl_hash_update(h, m->blocks[i].value, m->blocks[i].value_len));
	}
	ATL_TRY(atl_hash_final(h, digest));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct atl_spdm_opaque *t = atl_spdm_opaque_find(m, fields[i].type);
		json_t *v = t == NULL ? json_null()
			    : fields[i].text ? text_or_hex(t) : atl_hw2_hex(t->value, t->len);

		if (v == NULL || json_object_set_new(o, fields[i].name, v) != 0)
			goto out;
	}
	if (json_object_set_new(o, "vbios_version", vbios_str(atl_spdm_opaque_find(m, ATL_NVOP_VBIOS_VERSION))) ||
	    json_object_set_new(o, "spdm_version", json_string("1.1")) ||
	    json_object_set_new(o, "request_nonce", atl_hw2_hex(m->req_nonce, ATL_SPDM_NONCE_LEN)) ||
	    json_object_set_new(o, "measurement_blocks", json_integer((json_int_t)m->n_blocks)) ||
	    json_object_set(o, "measurements", meas))
		goto out;
	ATL_TRY(atl_ar_set_json(ar, "nvidia_gpu", o));
	o = NULL;
	ATL_TRY(atl_ar_set_hex(ar, "measurement", digest, sizeof(digest)));
	ATL_TRY(atl_ar_set_hex(ar, "report_data", m->req_nonce, ATL_SPDM_NONCE_LEN));
	ATL_TRY(atl_ar_set_bool(ar, "debug", false));
	rc = ATL_OK;
out:
	atl_hash_free(h);
	json_decref(o);
	json_decref(meas);
	return rc;
}

/* Reference values: every index named must match one of its values. */
static enum atl_err check_refs(const struct atl_spdm_meas *m, const struct atl_nvgpu_opts *o,
			       struct atl_ar *ar)
{
	for (size_t i = 0; i < o->n_refs; i++) {
		unsigned idx = o->refs[i].index;
		const struct atl_spdm_block *b = NULL;
		bool ok = false;

		for (size_t j = 0; j < m->n_blocks && b == NULL; j++)
			if (m->blocks[j].index == idx)
				b = &m->blocks[j];
		/* any alternative for this index */
		for (size_t k = 0; k < o->n_refs; k++) {
			if (o->refs[k].index == idx && b != NULL && b->value_len == o->refs[k].len &&
			    atl_crypto_memeq(b->value, o->refs[k].value, b->value_len))
				ok = true;
		}
		if (!ok)
			return atl_ar_check(ar, "nvgpu.rim", false,
					    b == NULL ? "measurement %u is absent from the report"
						      : "measurement %u matches no reference value", idx);
	}
	return atl_ar_check(ar, "nvgpu.rim", true, "%zu reference values match", o->n_refs);
}

enum atl_err atl_nvgpu_verify_report(const uint8_t *report, size_t len,
				     const struct atl_x509_list *chain,
				     const struct atl_nvgpu_opts *o, struct atl_ar *ar)
{
	struct atl_spdm_meas *m = NULL;
	struct atl_pubkey *lk = NULL;
	uint8_t *fwid_ext = NULL;
	size_t fwid_ext_len = 0;
	const struct atl_spdm_opaque *fw;
	enum atl_err rc = ATL_E_INTERNAL, prc;
	bool chain_ok, ok;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return ATL_E_NOMEM;
	prc = len > ATL_NVGPU_EVIDENCE_MAX ? ATL_E_LIMIT : atl_spdm_parse_measurements(report, len, m);
	if (prc == ATL_OK && m->trailing > 0) {
		bool zero = m->trailing <= TRAILING_TOLERATED;

		for (size_t i = 0; zero && i < m->trailing; i++)
			zero = report[len - m->trailing + i] == 0;
		if (!zero)
			prc = ATL_E_TRAILING;
	}
	if (prc != ATL_OK) {
		ATL_TRY(atl_ar_check(ar, "nvgpu.report", false, "SPDM measurements do not parse: %s",
				     atl_strerror(prc)));
		rc = prc;
		goto out;
	}
	ATL_TRY(atl_ar_check(ar, "nvgpu.report", true, "SPDM 1.1 MEASUREMENTS, %zu blocks, %zu opaque fields",
			     m->n_blocks, m->n_tlvs));
	if (m->trailing > 0)
		ATL_TRY(atl_ar_warn(ar, "nvgpu.trailing", "%zu zero bytes after the signature ignored",
				    m->trailing));
	ATL_TRY(check_chain(chain, o, ar, &chain_ok));
	/* FWID binding (trustee cert_chain.rs): the leaf's DICE FWID (last 48
	 * bytes of the extension) == the report's opaque FWID. */
	fw = atl_spdm_opaque_find(m, ATL_NVOP_FWID);
	if (chain == NULL || atl_x509_list_len(chain) == 0 ||
	    atl_x509_ext(atl_x509_list_get(chain, 0), ATL_NVGPU_FWID_OID, &fwid_ext, &fwid_ext_len) != ATL_OK ||
	    fwid_ext_len < ATL_NVGPU_FWID_LEN) {
		ATL_TRY(atl_ar_check(ar, "nvgpu.fwid", false,
				     "FWID extension (%s) not found in the signing certificate",
				     ATL_NVGPU_FWID_OID));
	} else {
		ok = fw != NULL && fw->len == ATL_NVGPU_FWID_LEN &&
		     atl_crypto_memeq(fw->value, fwid_ext + fwid_ext_len - ATL_NVGPU_FWID_LEN,
				      ATL_NVGPU_FWID_LEN);
		ATL_TRY(atl_ar_check(ar, "nvgpu.fwid", ok,
				     ok ? "report FWID equals the signing certificate's FWID"
					: fw == NULL ? "the report carries no FWID"
						     : "report FWID differs from the signing certificate's FWID"));
	}
	/* SPDM signature over request || response (DSP0274 1.1 §10.11). */
	ok = false;
	if (chain_ok && atl_x509_pubkey(atl_x509_list_get(chain, 0), &lk) == ATL_OK)
		ok = atl_sig_verify(lk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, m->signed_part,
				    m->signed_len, m->sig, ATL_SPDM_SIG_LEN) == ATL_OK;
	ATL_TRY(atl_ar_check(ar, "nvgpu.signature", ok,
			     !chain_ok ? "no trusted signing key"
			     : ok ? "SPDM signature verifies with the signing certificate"
				  : "SPDM signature does not verify"));
	if (o->nonce != NULL) {
		ok = atl_crypto_memeq(o->nonce, m->req_nonce, ATL_SPDM_NONCE_LEN);
		ATL_TRY(atl_ar_check(ar, "nvgpu.nonce", ok,
				     ok ? "request nonce matches" : "request nonce differs from the expected nonce"));
	}
	if (o->n_refs > 0)
		ATL_TRY(check_refs(m, o, ar));
	ATL_TRY(record_claims(m, ar));
	rc = ATL_OK;
out:
	free(fwid_ext);
	atl_pubkey_free(lk);
	free(m);
	return rc;
}

/* Hex text (ASCII whitespace at either end allowed) to bytes. */
static enum atl_err hex_text(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (n > 0 && (p[0] == '\n' || p[0] == '\r' || p[0] == ' ' || p[0] == '\t')) {
		p++;
		n--;
	}
	return atl_hex_decode_alloc((const char *)p, n, out, out_len);
}

enum atl_err atl_nvgpu_evidence_parse(const uint8_t *ev, size_t len, uint8_t **report_out,
				      size_t *report_len_out, struct atl_x509_list **chain_out)
{
	static const char *const keys[] = {"spdm", "cert_chain", NULL};
	json_t *j = NULL;
	const json_t *s, *c;
	enum atl_err rc = ATL_E_INTERNAL;

	*report_out = NULL;
	*report_len_out = 0;
	*chain_out = NULL;
	if (len > ATL_NVGPU_EVIDENCE_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(atl_json_parse((const char *)ev, len, &j));
	if (!json_is_object(j) || atl_json_check_keys(j, keys, NULL) != ATL_OK) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	s = json_object_get(j, "spdm");
	c = json_object_get(j, "cert_chain");
	if (!json_is_string(s) || !json_is_string(c)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(hex_text((const uint8_t *)json_string_value(s), json_string_length(s), report_out,
			 report_len_out));
	ATL_TRY(atl_x509_list_parse((const uint8_t *)json_string_value(c), json_string_length(c),
				    chain_out));
	if (atl_x509_list_len(*chain_out) > ATL_NVGPU_CHAIN_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	rc = ATL_OK;
out:
	if (rc != ATL_OK) {
		free(*report_out);
		*report_out = NULL;
		*report_len_out = 0;
		atl_x509_list_free(*chain_out);
		*chain_out = NULL;
	}
	json_decref(j);
	return rc;
}

/* ---- the "nvidia-gpu" backend ---- */

#define REFS_MAX 256u

/* policy "nvidia-gpu": {"rim": {"<index>": ["<hex>", ...], ...}} */
static enum atl_err parse_refs(const json_t *sec, struct atl_nvgpu_ref *refs, uint8_t (*vals)[64],
			       size_t *n_out, struct atl_ar *ar)
{
	const json_t *rim;
	const char *k;
	json_t *v;

	*n_out = 0;
	if (sec == NULL)
		return ATL_OK;
	rim = json_object_get(sec, "rim");
	if (json_object_size(sec) != (rim != NULL ? 1u : 0u) || (rim != NULL && !json_is_object(rim)))
		goto bad;
	json_object_foreach((json_t *)rim, k, v) {
		char *end = NULL;
		unsigned long idx = strtoul(k, &end, 10);
		size_t i;
		json_t *e;

		if (k[0] < '0' || k[0] > '9' || *end != '\0' || idx == 0 || idx > 254 ||
		    !json_is_array(v) || json_array_size(v) == 0)
			goto bad;
		json_array_foreach(v, i, e) {
			size_t got;

			if (*n_out >= REFS_MAX || !atl_hw2_json_hex(e, vals[*n_out], 64, 0, &got) || got == 0)
				goto bad;
			refs[*n_out] = (struct atl_nvgpu_ref){.index = (unsigned)idx,
							      .value = vals[*n_out], .len = got};
			(*n_out)++;
		}
	}
	return ATL_OK;
bad:
	*n_out = 0;
	if (atl_ar_check(ar, "nvgpu.policy", false,
			 "policy nvidia-gpu accepts only rim: {\"<index 1..254>\": [\"<hex>\", ...]}") != ATL_OK)
		return ATL_E_NOMEM;
	return ATL_E_FORMAT;
}

/* Native evidence: the JSON of atl_nvgpu_evidence_parse; or (CLI use) the hex
 * transcript with the PEM chain as the first collateral file. */
static enum atl_err nvgpu_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
				 struct atl_ar *ar)
{
	struct atl_nvgpu_ref *refs = NULL;
	uint8_t (*vals)[64] = NULL;
	struct atl_nvgpu_opts o = {.now = in->now};
	struct atl_x509_list *chain = NULL, *roots = NULL;
	uint8_t *report = NULL, *pem = NULL;
	size_t report_len = 0, pem_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;
	char why[256] = "";
	bool builtin;

	refs = calloc(REFS_MAX, sizeof(*refs));
	vals = calloc(REFS_MAX, sizeof(*vals));
	if (refs == NULL || vals == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(parse_refs(json_object_get(in->policy, "nvidia-gpu"), refs, vals, &o.n_refs, ar));
	o.refs = refs;
	if (ev_len > 0 && ev[0] == '{') {
		rc = atl_nvgpu_evidence_parse(ev, ev_len, &report, &report_len, &chain);
	} else if (in->collateral != NULL && in->collateral[0] != NULL) {
		rc = hex_text(ev, ev_len, &report, &report_len);
		if (rc != ATL_OK) /* binary transcript */
			rc = ev_len > ATL_NVGPU_EVIDENCE_MAX ? ATL_E_LIMIT : ATL_OK;
		if (rc == ATL_OK && report == NULL) {
			report = malloc(ev_len);
			if (report == NULL) {
				rc = ATL_E_NOMEM;
				goto out;
			}
			memcpy(report, ev, ev_len);
			report_len = ev_len;
		}
		if (rc == ATL_OK)
			rc = atl_file_read(in->collateral[0], ATL_NVGPU_EVIDENCE_MAX, &pem, &pem_len);
		if (rc == ATL_OK)
			rc = atl_x509_list_parse(pem, pem_len, &chain);
	} else {
		rc = ATL_E_FORMAT;
	}
	if (rc != ATL_OK) {
		enum atl_err err = rc;

		ATL_TRY(atl_ar_check(ar, "nvgpu.report", false,
				     "evidence must be {\"spdm\": hex, \"cert_chain\": PEM} (%s)",
				     atl_strerror(rc)));
		rc = err;
		goto out;
	}
	rc = atl_hw2_anchor_roots(in, "nvidia-gpu", atl_nvgpu_root_pem, &roots, &builtin, why,
				  sizeof(why));
	if (rc != ATL_OK) {
		enum atl_err err = rc;

		ATL_TRY(atl_ar_check(ar, "nvgpu.anchors", false, "%s", why));
		rc = err;
		goto out;
	}
	if (!builtin)
		ATL_TRY(atl_ar_warn(ar, "nvgpu.anchors", "NVIDIA root replaced by the caller's anchors"));
	o.roots = roots;
	rc = atl_nvgpu_verify_report(report, report_len, chain, &o, ar);
out:
	free(refs);
	free(vals);
	free(report);
	free(pem);
	atl_x509_list_free(chain);
	atl_x509_list_free(roots);
	return rc;
}

/* GPU evidence comes from the driver (NVML / nvtrust) inside a confidential
 * VM with a CC-mode GPU; none is present here. */
static enum atl_err nvgpu_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
				   uint8_t **ev_out, size_t *ev_len_out)
{
	(void)cfg;
	(void)report_data;
	*ev_out = NULL;
	*ev_len_out = 0;
	return ATL_E_UNSUPPORTED;
}

const struct atl_tee_ops atl_tee_nvgpu = {
	.name = "nvidia-gpu",
	.detect = NULL,
	.evidence = nvgpu_evidence,
	.verify = nvgpu_verify,
};
