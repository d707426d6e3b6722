/* Local verification of a target's evidence (include/atoll/client.h): the
 * client's own policy decides, never the coordinator. Shared by every
 * client command that seals (run, submit, targets). */
#include <stdio.h>
#include <string.h>

#include "atoll/client.h"
#include "atoll/log.h"
#include "atoll/verify.h"

/* "<first failed check>: <its detail>" (escaped) from a refused result. */
static void reason(const struct atl_ar *ar, enum atl_err rc, char *out, size_t cap)
{
	json_t *j = ar != NULL ? atl_ar_to_json(ar) : NULL;
	const json_t *checks = j != NULL ? json_object_get(j, "checks") : NULL;
	const json_t *ck;
	size_t i;

	snprintf(out, cap, "evidence: %s", atl_strerror(rc));
	json_array_foreach(checks, i, ck) {
		const char *name = json_string_value(json_object_get(ck, "name"));
		const char *detail = json_string_value(json_object_get(ck, "detail"));
		char esc[200];

		if (!json_is_false(json_object_get(ck, "ok")) || name == NULL)
			continue;
		if (detail == NULL)
			detail = "";
		atl_log_escape(detail, strnlen(detail, 200), esc, sizeof(esc));
		snprintf(out, cap, "%.40s: %.199s", name, esc);
		break;
	}
	json_decref(j);
}

enum atl_err atl_client_verify(const uint8_t *wrapper, size_t wrapper_len, const json_t *policy,
			       const uint8_t *nonce, size_t nonce_len, int64_t now,
			       struct atl_client_verdict *v_out)
{
	struct atl_ar *ar = NULL;
	enum atl_err rc;

	memset(v_out, 0, sizeof(*v_out));
	rc = atl_verify_evidence(wrapper, wrapper_len, policy, nonce, nonce_len, now, NULL, &ar);
	if (ar == NULL)
		return ATL_E_NOMEM;
	snprintf(v_out->status, sizeof(v_out->status), "%s", atl_ar_status_name(atl_ar_status(ar)));
	if (rc == ATL_OK && atl_verify_enclave_key(ar, v_out->pub) == ATL_OK &&
	    atl_key_id("ek_", v_out->pub, v_out->key_id) == ATL_OK) {
		v_out->ok = true;
	} else {
		memset(v_out->pub, 0, sizeof(v_out->pub));
		v_out->key_id[0] = '\0';
		snprintf(v_out->status, sizeof(v_out->status), "contraindicated");
		reason(ar, rc != ATL_OK ? rc : ATL_E_POLICY, v_out->why, sizeof(v_out->why));
	}
	atl_ar_free(ar);
	return rc == ATL_E_NOMEM ? ATL_E_NOMEM : ATL_OK;
}
