/* Native hardware evidence verification; see include/atoll/hwverify.h. */
#include <stdlib.h>
#include <string.h>

#include "atoll/attest.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/hwverify.h"
#include "atoll/limits.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/policy.h"
#include "attest/cbor.h"
#include "attest/hwcommon.h"

/* CBOR/COSE kinds come as the samples and vendor tools give them: raw bytes,
 * hex or base64 text, and for Nitro possibly inside a transport framing (a
 * 4-byte length or SCALE prefix before the COSE_Sign1, other bytes after it, as
 * dstack writes them). Finds the one COSE item: *start and *n within buf. The
 * framing is not trusted for anything; the COSE signature covers the item. */
static bool cose_kind(const char *tee)
{
	return strcmp(tee, "nitro") == 0 || strcmp(tee, "psa") == 0 || strcmp(tee, "cca") == 0;
}

static enum atl_err cose_item(const char *tee, const uint8_t *buf, size_t len, size_t *start,
			      size_t *n)
{
	static const size_t offsets[] = {0, 4};

	*start = 0;
	*n = len;
	if (strcmp(tee, "nitro") != 0)
		return ATL_OK;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		size_t off = offsets[i], item = 0;
		/* COSE_Sign1: tag 18 (0xd2) or a bare 4-element array (0x84). */
		if (off >= len || (buf[off] != 0xd2 && buf[off] != 0x84))
			continue;
		if (atl_cbor_item_len(buf + off, len - off, &item) == ATL_OK) {
			*start = off;
			*n = item;
			return ATL_OK;
		}
	}
	return ATL_OK; /* let the backend report what is wrong */
}

/* NVIDIA GPU evidence as nvtrust and trustee ship it: the SPDM report (hex
 * text) as --evidence and the device certificate chain (PEM) as the first
 * --collateral file. Builds the backend's {"spdm","cert_chain"} document;
 * evidence that is already that JSON document is passed on unchanged. */
static enum atl_err nvgpu_doc(const uint8_t *ev, size_t ev_len, const char *const *collateral,
			      char **doc_out)
{
	uint8_t *chain = NULL;
	size_t chain_len = 0;
	json_t *j = NULL;
	enum atl_err rc;

	*doc_out = NULL;
	if ((ev_len > 0 && ev[0] == '{') || collateral == NULL || collateral[0] == NULL)
		return ATL_OK;
	ATL_TRY(atl_file_read(collateral[0], ATL_ATTEST_EVIDENCE_MAX, &chain, &chain_len));
	j = json_pack("{s:s%, s:s%}", "spdm", (const char *)ev, ev_len, "cert_chain",
		      (const char *)chain, chain_len);
	if (j == NULL) {
		rc = ATL_E_FORMAT; /* not text (NUL bytes or invalid UTF-8) */
		goto out;
	}
	*doc_out = atl_json_dump(j);
	rc = *doc_out != NULL ? ATL_OK : ATL_E_NOMEM;
out:
	json_decref(j);
	free(chain);
	return rc;
}

enum atl_err atl_verify_native(const char *tee, const uint8_t *ev, size_t ev_len,
			       const json_t *policy, const uint8_t *expected_nonce,
			       size_t expected_nonce_len, int64_t now, const char *const *anchors,
			       const char *const *collateral, struct atl_ar **ar_out)
{
	const struct atl_tee_ops *ops = atl_tee_find(tee);
	struct atl_verify_in in;
	struct atl_ar *ar;
	uint8_t *dec = NULL;
	size_t dec_len = 0;
	enum atl_err rc = ATL_E_INTERNAL, vrc;

	*ar_out = NULL;
	ar = atl_ar_new(tee != NULL ? tee : "unknown");
	if (ar == NULL)
		return ATL_E_NOMEM;
	*ar_out = ar;
	if (ops == NULL || ops->verify == NULL) {
		ATL_TRY(atl_ar_check(ar, "backend", false, "no verifier for TEE kind \"%.32s\"",
				     tee != NULL ? tee : ""));
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (expected_nonce != NULL && (expected_nonce_len == 0 ||
				       expected_nonce_len > ATL_REPORT_DATA_LEN)) {
		ATL_TRY(atl_ar_check(ar, "nonce", false, "nonce must be 1..%u bytes",
				     ATL_REPORT_DATA_LEN));
		rc = ATL_E_ARG;
		goto out;
	}
	if (policy != NULL)
		ATL_TRY(atl_ar_check(ar, "tee_type", atl_policy_lists_tee(policy, tee),
				     "policy %s %s", atl_policy_lists_tee(policy, tee) ? "lists" : "does NOT list",
				     tee));
	memset(&in, 0, sizeof(in));
	in.now = now;
	in.policy = policy;
	in.anchors = anchors;
	in.collateral = collateral;
	if (cose_kind(tee)) {
		size_t start = 0, n = 0;

		vrc = atl_hw_decode(ev, ev_len, ATL_ATTEST_EVIDENCE_MAX, &dec, &dec_len);
		if (vrc == ATL_OK)
			vrc = cose_item(tee, dec, dec_len, &start, &n);
		if (vrc == ATL_OK) {
			if (start != 0 || n != dec_len)
				ATL_TRY(atl_ar_check(ar, "framing", true,
						     "COSE_Sign1 found at byte %zu (%zu bytes) of %zu",
						     start, n, dec_len));
			vrc = ops->verify(dec + start, n, &in, ar);
		}
	} else if (strcmp(tee, "nvidia-gpu") == 0) {
		char *doc = NULL;

		vrc = nvgpu_doc(ev, ev_len, collateral, &doc);
		if (vrc == ATL_OK)
			vrc = doc != NULL ? ops->verify((const uint8_t *)doc, strlen(doc), &in, ar)
					  : ops->verify(ev, ev_len, &in, ar);
		free(doc);
	} else {
		vrc = ops->verify(ev, ev_len, &in, ar);
	}
	if (vrc != ATL_OK) {
		if (atl_ar_first_failure(ar) == NULL)
			ATL_TRY(atl_ar_check(ar, "parse", false, "evidence unreadable (%s)",
					     atl_strerror(vrc)));
		rc = vrc == ATL_E_NOMEM ? vrc : ATL_E_FORMAT;
		goto out;
	}
	{
		const char *m = json_string_value(atl_ar_get(ar, "measurement"));
		if (atl_policy_measurements(policy, tee) != NULL)
			ATL_TRY(atl_ar_check(ar, "measurement",
					     m != NULL && atl_policy_measurement_listed(policy, tee, m),
					     "measurement %s listed by the policy",
					     m != NULL && atl_policy_measurement_listed(policy, tee, m) ? "is" : "is NOT"));
	}
	{
		/* Debug TEEs (e.g. a Nitro enclave with PCR0 all zero) are refused
		 * unless the policy allows them; backends that judge debug themselves
		 * set the same claim, so this only repeats their verdict. */
		const json_t *dbg = atl_ar_get(ar, "debug");
		if (json_is_true(dbg))
			ATL_TRY(atl_ar_check(ar, "debug", atl_policy_allow_debug(policy),
					     "debug TEE %s", atl_policy_allow_debug(policy)
								 ? "allowed by the policy"
								 : "refused (allow_debug is not set)"));
	}
	if (expected_nonce != NULL) {
		const char *rd = json_string_value(atl_ar_get(ar, "report_data"));
		uint8_t want[ATL_REPORT_DATA_LEN], got[ATL_REPORT_DATA_LEN];
		bool ok = false;

		memset(want, 0, sizeof(want));
		memcpy(want, expected_nonce, expected_nonce_len);
		if (rd != NULL && strlen(rd) == 2 * ATL_REPORT_DATA_LEN &&
		    atl_hex_decode_exact(rd, strlen(rd), got, sizeof(got)) == ATL_OK)
			ok = atl_crypto_memeq(want, got, sizeof(got)) != 0;
		ATL_TRY(atl_ar_check(ar, "nonce", ok, "report_data %s the expected nonce",
				     ok ? "equals" : "DOES NOT equal"));
	}
	rc = atl_ar_status(ar) == ATL_AR_CONTRAINDICATED ? ATL_E_POLICY : ATL_OK;
out:
	free(dec);
	return rc;
}
