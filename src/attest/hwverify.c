/* Native hardware evidence verification; see include/atoll/hwverify.h. */
#include <stdlib.h>
#include <string.h>

#include "atoll/attest.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/hwverify.h"
#include "atoll/limits.h"
#include "atoll/policy.h"

enum atl_err atl_verify_native(const char *tee, const uint8_t *ev, size_t ev_len,
			       const json_t *policy, const uint8_t *expected_nonce,
			       size_t expected_nonce_len, int64_t now, const char *const *anchors,
			       const char *const *collateral, struct atl_ar **ar_out)
{
	const struct atl_tee_ops *ops = atl_tee_find(tee);
	struct atl_verify_in in;
	struct atl_ar *ar;
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
	vrc = ops->verify(ev, ev_len, &in, ar);
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
	return rc;
}
