/* Azure confidential VMs (SEV-SNP and TDX) with a paravisor vTPM: the
 * evidence of trustee's az-snp-vtpm / az-tdx-vtpm verifiers. Chain of trust
 * (tests/vectors/attestation/tpm/PROVENANCE.md §2, §3):
 *
 *   hardware report (SNP report, or TD quote) verified by its own backend
 *     report_data[0:32] == SHA-256(HCL variable data)        hcl_binding
 *       variable data holds HCLAkPub (RSA JWK)               → the AK
 *         the AK signs the TPM quote                          (tpm.c checks)
 *         user-data == the nonce (v2)                         user_data
 *
 * HCL report layout: 32-byte header ("HCLA"), 1184-byte hardware report,
 * then the runtime data header {data_size, version, report_type (2 SNP,
 * 4 TDX), hash_type (1 SHA-256), variable_data_size} (u32 LE each) and the
 * variable data (JSON). */
#define ATL_LOG_MODULE "tpm"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/snp.h"
#include "attest/tpm_int.h"

#define HCL_HDR_LEN 32u
#define HCL_HW_LEN 1184u
#define HCL_RT_OFF (HCL_HDR_LEN + HCL_HW_LEN)
#define HCL_TYPE_SNP 2u
#define HCL_TYPE_TDX 4u
#define SNP_REPORT_DATA_OFF 0x50u  /* SEV-SNP ABI Table 23 */
#define TDX_REPORT_DATA_OFF 128u   /* TDREPORT REPORTMACSTRUCT.REPORTDATA */
#define HCL_MAX (64u * 1024u)

bool tpm_azure_sniff(const json_t *j)
{
	return json_object_get(j, "hcl_report") != NULL || json_object_get(j, "report") != NULL;
}

/* A byte string given as a JSON array of 0..255, hex text, or base64(url). */
static enum atl_err any_bytes(const json_t *v, bool prefer_hex, size_t max, uint8_t **out,
			      size_t *len)
{
	size_t i, n;
	json_t *x;
	const char *s;
	enum atl_err rc;

	*out = NULL;
	*len = 0;
	if (json_is_array(v)) {
		n = json_array_size(v);
		if (n > max)
			return ATL_E_LIMIT;
		*out = malloc(n > 0 ? n : 1);
		if (*out == NULL)
			return ATL_E_NOMEM;
		json_array_foreach(v, i, x) {
			if (!json_is_integer(x) || json_integer_value(x) < 0 ||
			    json_integer_value(x) > 255) {
				free(*out);
				*out = NULL;
				return ATL_E_FORMAT;
			}
			(*out)[i] = (uint8_t)json_integer_value(x);
		}
		*len = n;
		return ATL_OK;
	}
	if (!json_is_string(v))
		return ATL_E_FORMAT;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > 2 * max + 4)
		return ATL_E_LIMIT;
	if (prefer_hex && atl_hex_decode_alloc(s, n, out, len) == ATL_OK)
		goto done;
	if (atl_b64_decode(s, n, ATL_B64_URL | ATL_B64_NOPAD, out, len) == ATL_OK ||
	    atl_b64_decode(s, n, ATL_B64_URL, out, len) == ATL_OK)
		goto done;
	rc = atl_b64_decode(s, n, ATL_B64_STD, out, len);
	if (rc != ATL_OK)
		return ATL_E_FORMAT;
done:
	if (*len > max) {
		free(*out);
		*out = NULL;
		*len = 0;
		return ATL_E_LIMIT;
	}
	return ATL_OK;
}

enum atl_err tpm_azure_decode(const json_t *j, struct tpm_ev *e)
{
	static const char *const keys[] = {"version", "hcl_report", "report", "tpm_quote", "quote",
					   "vcek",    "td_quote",   NULL};
	static const char *const qkeys[] = {"message", "signature", "pcrs", NULL};
	const json_t *q, *pcrs, *v;
	uint8_t *b = NULL;
	size_t n = 0, i;
	json_t *p;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_json_check_keys(j, keys, NULL));
	v = json_object_get(j, "version");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
			return ATL_E_FORMAT;
		e->azure_version = (int)json_integer_value(v);
	}
	v = json_object_get(j, "hcl_report");
	if (v == NULL)
		v = json_object_get(j, "report"); /* v0 */
	ATL_TRY(any_bytes(v, false, HCL_MAX, &e->hcl, &e->hcl_len));
	q = json_object_get(j, "tpm_quote");
	if (q == NULL)
		q = json_object_get(j, "quote"); /* v0 */
	if (q == NULL)
		return ATL_E_FORMAT;
	ATL_TRY(atl_json_check_keys(q, qkeys, NULL));
	e->format = json_object_get(j, "td_quote") != NULL ? "azure-tdx-vtpm" : "azure-snp-vtpm";
	e->n_quotes = 1;
	ATL_TRY(any_bytes(json_object_get(q, "message"), true, ATL_TPM_ATTEST_MAX, &e->q[0].attest,
			  &e->q[0].attest_len));
	/* The signature is a bare RSASSA-SHA-256 value: wrap it as the
	 * TPMT_SIGNATURE the HCL AK (RSA, RSASSA, SHA-256) produces. */
	ATL_TRY(any_bytes(json_object_get(q, "signature"), true, 512, &b, &n));
	e->q[0].sig = malloc(6 + n);
	if (e->q[0].sig == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	e->q[0].sig[0] = 0x00;
	e->q[0].sig[1] = ATL_TPM_ALG_RSASSA;
	e->q[0].sig[2] = 0x00;
	e->q[0].sig[3] = ATL_TPM_ALG_SHA256;
	e->q[0].sig[4] = (uint8_t)(n >> 8);
	e->q[0].sig[5] = (uint8_t)n;
	memcpy(e->q[0].sig + 6, b, n);
	e->q[0].sig_len = 6 + n;
	pcrs = json_object_get(q, "pcrs");
	if (!json_is_array(pcrs) || json_array_size(pcrs) != ATL_TPM_PCRS) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	e->q[0].pcrs.hash = ATL_TPM_ALG_SHA256;
	json_array_foreach(pcrs, i, p) {
		free(b);
		b = NULL;
		ATL_TRY(any_bytes(p, true, 32, &b, &n));
		if (n != 32) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		memcpy(e->q[0].pcrs.value[i], b, 32);
		e->q[0].pcrs.present |= 1u << i;
	}
	v = json_object_get(j, "vcek");
	if (v != NULL) {
		if (!json_is_string(v)) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		if (strncmp(json_string_value(v), "-----BEGIN", 10) == 0) {
			n = json_string_length(v);
			if (n > ATL_ATTEST_ANCHOR_MAX) {
				rc = ATL_E_LIMIT;
				goto out;
			}
			e->vcek = malloc(n);
			if (e->vcek == NULL) {
				rc = ATL_E_NOMEM;
				goto out;
			}
			memcpy(e->vcek, json_string_value(v), n);
			e->vcek_len = n;
		} else {
			ATL_TRY(any_bytes(v, false, ATL_ATTEST_ANCHOR_MAX, &e->vcek, &e->vcek_len));
		}
	}
	v = json_object_get(j, "td_quote");
	if (v != NULL)
		ATL_TRY(any_bytes(v, false, ATL_HW_COLLATERAL_MAX, &e->td_quote, &e->td_quote_len));
	rc = ATL_OK;
out:
	free(b);
	return rc;
}

/* The HCL runtime data: report type and the variable data (views into hcl). */
static enum atl_err hcl_parse(const uint8_t *hcl, size_t len, uint32_t *type, const uint8_t **var,
			      size_t *var_len)
{
	struct atl_rd r, rt;
	uint32_t data_size, version, hash_type, vs;
	enum atl_err rc = ATL_E_INTERNAL;

	if (len < HCL_RT_OFF || memcmp(hcl, "HCLA", 4) != 0)
		return ATL_E_FORMAT;
	atl_rd_init(&r, hcl, len);
	ATL_TRY(atl_rd_skip(&r, HCL_RT_OFF));
	ATL_TRY(atl_rd_u32le(&r, &data_size));
	if (data_size < 20)
		return ATL_E_FORMAT;
	/* data_size counts the header fields and the variable data. */
	ATL_TRY(atl_rd_sub(&r, data_size - 4, &rt));
	ATL_TRY(atl_rd_u32le(&rt, &version));
	ATL_TRY(atl_rd_u32le(&rt, type));
	ATL_TRY(atl_rd_u32le(&rt, &hash_type));
	ATL_TRY(atl_rd_u32le(&rt, &vs));
	if (hash_type != 1)
		return ATL_E_UNSUPPORTED; /* only SHA-256 */
	if (*type != HCL_TYPE_SNP && *type != HCL_TYPE_TDX)
		return ATL_E_UNSUPPORTED;
	if (vs != atl_rd_left(&rt))
		return ATL_E_FORMAT;
	ATL_TRY(atl_rd_view(&rt, vs, var));
	*var_len = vs;
	(void)version;
	rc = ATL_OK;
out:
	return rc;
}

/* HCLAkPub from the variable data, as DER SPKI into e->ak_spki. */
static enum atl_err hcl_ak(const json_t *vd, struct tpm_ev *e)
{
	const json_t *keys = json_object_get(vd, "keys");
	struct atl_pubkey *k = NULL;
	uint8_t *n = NULL, *x = NULL;
	size_t n_len = 0, x_len = 0, i;
	json_t *jk;
	enum atl_err rc = ATL_E_NOTFOUND;

	if (!json_is_array(keys) || json_array_size(keys) > ATL_ATTEST_LIST_MAX)
		return ATL_E_FORMAT;
	json_array_foreach(keys, i, jk) {
		const char *kid = json_string_value(json_object_get(jk, "kid"));
		const char *kty = json_string_value(json_object_get(jk, "kty"));
		const char *sn = json_string_value(json_object_get(jk, "n"));
		const char *se = json_string_value(json_object_get(jk, "e"));

		if (kid == NULL || strcmp(kid, "HCLAkPub") != 0)
			continue;
		if (kty == NULL || strcmp(kty, "RSA") != 0 || sn == NULL || se == NULL)
			return ATL_E_UNSUPPORTED;
		ATL_TRY(atl_b64_decode(sn, strlen(sn), ATL_B64_URL | ATL_B64_NOPAD, &n, &n_len));
		ATL_TRY(atl_b64_decode(se, strlen(se), ATL_B64_URL | ATL_B64_NOPAD, &x, &x_len));
		ATL_TRY(atl_pubkey_from_rsa(n, n_len, x, x_len, &k));
		free(e->ak_spki);
		e->ak_spki = NULL;
		ATL_TRY(atl_pubkey_to_der(k, &e->ak_spki, &e->ak_spki_len));
		rc = ATL_OK;
		break;
	}
out:
	atl_pubkey_free(k);
	free(n);
	free(x);
	return rc;
}

/* Verifies the hardware report with its own backend (sev-snp: the HCL report
 * itself with the evidence's VCEK as collateral; tdx: the TD quote) and
 * copies its checks into ar as "<tee>:<check>". *rd_out: its report_data. */
static enum atl_err hw_verify(const struct tpm_ev *e, uint32_t type,
			      const struct atl_verify_in *in, struct atl_ar *ar, bool *ok_out,
			      uint8_t rd_out[64], bool *rd_ok)
{
	const char *tee = type == HCL_TYPE_SNP ? "sev-snp" : "tdx";
	const struct atl_tee_ops *ops = atl_tee_find(tee);
	const char *coll[ATL_ATTEST_ARGS_MAX + 2];
	char tmp[64] = "";
	struct atl_verify_in in2 = *in;
	struct atl_ar *sub = NULL;
	json_t *j = NULL, *c;
	const json_t *rd;
	size_t i, k = 0, n = 0;
	int fd = -1;
	enum atl_err rc = ATL_E_INTERNAL, vrc;

	*ok_out = false;
	*rd_ok = false;
	if (ops == NULL || ops->verify == NULL) {
		ATL_TRY(atl_ar_check(ar, "hw_report", false, "no %s verifier compiled in", tee));
		return ATL_OK;
	}
	/* The sev-snp backend reads collateral from files: hand it the
	 * evidence's VCEK through a private temporary file. */
	if (type == HCL_TYPE_SNP && e->vcek != NULL) {
		const char *dir = getenv("TMPDIR");

		(void)snprintf(tmp, sizeof(tmp), "%s/atoll-vcek-XXXXXX",
			       dir != NULL && strlen(dir) < 40 ? dir : "/tmp");
		fd = mkstemp(tmp);
		if (fd < 0 || write(fd, e->vcek, e->vcek_len) != (ssize_t)e->vcek_len) {
			rc = ATL_E_IO;
			goto out;
		}
		coll[k++] = tmp;
	}
	for (i = 0; in->collateral != NULL && in->collateral[i] != NULL && k < ATL_ATTEST_ARGS_MAX;
	     i++)
		coll[k++] = in->collateral[i];
	coll[k] = NULL;
	in2.collateral = coll;
	in2.anchors = NULL; /* the caller's anchors are for the TPM's roots */
	sub = atl_ar_new(tee);
	if (sub == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (type == HCL_TYPE_SNP)
		vrc = ops->verify(e->hcl, e->hcl_len, &in2, sub);
	else if (e->td_quote != NULL)
		vrc = ops->verify(e->td_quote, e->td_quote_len, &in2, sub);
	else
		vrc = ATL_E_FORMAT;
	if (vrc != ATL_OK) {
		ATL_TRY(atl_ar_check(ar, "hw_report", false, "%s report does not verify (%s)", tee,
				     atl_err_name(vrc)));
		rc = ATL_OK;
		goto out;
	}
	j = atl_ar_to_json(sub);
	if (j == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	json_array_foreach(json_object_get(j, "checks"), i, c) {
		char name[96];

		(void)snprintf(name, sizeof(name), "%s:%s", tee,
			       json_string_value(json_object_get(c, "name")));
		ATL_TRY(atl_ar_check(ar, name, json_is_true(json_object_get(c, "ok")), "%s",
				     json_string_value(json_object_get(c, "detail"))));
	}
	*ok_out = atl_ar_status(sub) != ATL_AR_CONTRAINDICATED;
	ATL_TRY(atl_ar_check(ar, "hw_report", *ok_out, "%s report %s", tee,
			     *ok_out ? "verified" : "refused by its verifier"));
	rd = atl_ar_get(sub, "report_data");
	if (json_is_string(rd) &&
	    atl_hex_decode(json_string_value(rd), json_string_length(rd), rd_out, 64, &n) ==
		    ATL_OK &&
	    n == 64)
		*rd_ok = true;
	rc = ATL_OK;
out:
	if (fd >= 0) {
		(void)close(fd);
		(void)unlink(tmp);
	}
	json_decref(j);
	atl_ar_free(sub);
	return rc;
}

enum atl_err tpm_azure_verify(struct tpm_ev *e, const struct atl_verify_in *in,
			      const uint8_t *expected, size_t expected_len, struct atl_ar *ar,
			      bool *ak_ok_out)
{
	const uint8_t *var = NULL, *hw_rd;
	size_t var_len = 0;
	uint32_t type = 0;
	uint8_t h[32], sub_rd[64];
	json_t *vd = NULL;
	bool hw_ok = false, sub_rd_ok = false, bind_ok;
	enum atl_err rc = ATL_E_INTERNAL, prc;

	*ak_ok_out = false;
	prc = hcl_parse(e->hcl, e->hcl_len, &type, &var, &var_len);
	if (prc != ATL_OK) {
		ATL_TRY(atl_ar_check(ar, "hcl_report", false, "HCL report does not parse (%s)",
				     atl_err_name(prc)));
		return ATL_OK;
	}
	ATL_TRY(atl_hash(ATL_HASH_SHA256, var, var_len, h));
	/* The HCL's own hardware report binds the variable data. */
	hw_rd = e->hcl + HCL_HDR_LEN +
		(type == HCL_TYPE_SNP ? SNP_REPORT_DATA_OFF : TDX_REPORT_DATA_OFF);
	bind_ok = atl_ct_eq(hw_rd, h, sizeof(h));
	ATL_TRY(hw_verify(e, type, in, ar, &hw_ok, sub_rd, &sub_rd_ok));
	if (type == HCL_TYPE_SNP) {
		/* The paravisor's report comes from VMPL 0; a report from a higher
		 * VMPL could be requested by the guest OS itself (trustee
		 * az_snp_vtpm: "SNP Report has been issued in VMPL 0"). */
		struct atl_snp_report sr;
		bool vmpl0 = atl_snp_parse(e->hcl + HCL_HDR_LEN, ATL_SNP_REPORT_LEN, &sr) == ATL_OK &&
			     sr.vmpl == 0;

		ATL_TRY(atl_ar_check(ar, "vmpl", vmpl0,
				     vmpl0 ? "SNP report issued at VMPL 0"
					   : "SNP report not issued at VMPL 0"));
		hw_ok = hw_ok && vmpl0;
	}
	/* ... and so must the report that was verified (the TD quote for TDX). */
	if (sub_rd_ok && !atl_ct_eq(sub_rd, h, sizeof(h)))
		bind_ok = false;
	ATL_TRY(atl_ar_check(ar, "hcl_binding", bind_ok,
			     bind_ok ? "report_data[0:32] = SHA-256(HCL variable data)"
				     : "report_data[0:32] != SHA-256(HCL variable data)"));
	prc = atl_json_parse((const char *)var, var_len, &vd);
	if (prc == ATL_OK)
		prc = hcl_ak(vd, e);
	if (prc != ATL_OK) {
		ATL_TRY(atl_ar_check(ar, "hcl_ak", false, "no usable HCLAkPub (%s)",
				     atl_err_name(prc)));
		rc = ATL_OK;
		goto out;
	}
	/* v2 and later: user-data carries the nonce, zero-padded (trustee
	 * az_snp_vtpm verify_user_data); earlier versions leave it zero. */
	if (expected != NULL && e->azure_version >= 2) {
		const json_t *ud = json_object_get(vd, "user-data");
		uint8_t u[64];
		size_t n = 0;
		bool ok = json_is_string(ud) &&
			  atl_hex_decode(json_string_value(ud), json_string_length(ud), u, sizeof(u),
					 &n) == ATL_OK &&
			  n >= expected_len && atl_ct_eq(u, expected, expected_len);

		for (size_t i = expected_len; ok && i < n; i++)
			ok = u[i] == 0;
		ATL_TRY(atl_ar_check(ar, "user_data", ok,
				     ok ? "HCL user-data equals the expected nonce"
					: "HCL user-data differs from the expected nonce"));
	}
	*ak_ok_out = hw_ok && bind_ok;
	rc = ATL_OK;
out:
	json_decref(vd);
	return rc;
}
