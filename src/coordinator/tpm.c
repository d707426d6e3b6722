/* TPM island registration (issue 5; platform-api.md "TPM registration"):
 * the coordinator proves that an island's attestation key (AK) lives in the
 * same TPM as its endorsement key (EK) by credential activation, checks the
 * EK certificate chain against the policy's trust_anchors.tpm, and signs an
 * activation record with its activation key (--tpm-activation-key) that the
 * island's enclave attaches to its evidence.
 *
 *   POST /api/v1/islands/tpm/challenge {"info":{ek_pub, ek_cert, ak_pub, …}}
 *        → 200 {"challenge":{"blob","secret"},"expires_at":T}
 *   POST /api/v1/islands/tpm/activate {"info":{…same…},"answer":"<hex>"}
 *        → 200 {"activation":{record}}
 *
 * State between the two calls: nothing but a single-use store challenge for
 * the island holding SHA-256("atoll-tpm-activation-v1" ‖ credential ‖ AK
 * name ‖ SHA-256(EK certificate)). Only the TPM holding both the certified EK
 * and the AK can recover the credential (TPM2_ActivateCredential), and the
 * hash ties the answer to the very AK and EK certificate the challenge was
 * made for, so the island cannot swap either between the calls. The
 * attestation nonces of the same table cannot pass for it (a preimage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "coordinator"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/tpm.h"
#include "coordinator/coord_int.h"

#define ACT_TAG "atoll-tpm-activation-v1"

/* SHA-256(tag ‖ cred ‖ AK name ‖ SHA-256(EK cert)) from the island's info;
 * ak_name_hex (may be NULL) gets the AK name for the logs. */
static enum atl_err act_binding(const json_t *info, const uint8_t cred[32],
				uint8_t out[ATL_SHA256_LEN], char *ak_name_hex, size_t hex_cap)
{
	struct atl_tpm_public ak;
	struct atl_hash_ctx *h = NULL;
	uint8_t *ak_pub = NULL, *cert = NULL, fp[ATL_SHA256_LEN];
	size_t ak_len = 0, cert_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(&ak, 0, sizeof(ak));
	ATL_TRY(atl_json_get_b64(info, "ak_pub", ATL_TPM_PUBLIC_MAX, &ak_pub, &ak_len));
	ATL_TRY(atl_json_get_b64(info, "ek_cert", ATL_ATTEST_ANCHOR_MAX, &cert, &cert_len));
	ATL_TRY(atl_tpm_public_parse(ak_pub, ak_len, &ak));
	ATL_TRY(atl_hash(ATL_HASH_SHA256, cert, cert_len, fp));
	ATL_TRY(atl_hash_new(ATL_HASH_SHA256, &h));
	ATL_TRY(atl_hash_update(h, ACT_TAG, strlen(ACT_TAG)));
	ATL_TRY(atl_hash_update(h, cred, 32));
	ATL_TRY(atl_hash_update(h, ak.name, ak.name_len));
	ATL_TRY(atl_hash_update(h, fp, sizeof(fp)));
	ATL_TRY(atl_hash_final(h, out));
	if (ak_name_hex != NULL)
		ATL_TRY(atl_hex_encode(ak.name, ak.name_len, ak_name_hex, hex_cap));
	rc = ATL_OK;
out:
	atl_hash_free(h);
	atl_tpm_public_clear(&ak);
	free(ak_pub);
	free(cert);
	return rc;
}

static bool tpm_ready(struct atl_coord *c, struct atl_http_resp *resp)
{
	if (c->tpm_key == NULL) {
		atl_http_resp_error(resp, 409, "tpm_not_configured",
				    "this coordinator has no TPM activation key");
		return false;
	}
	return true;
}

static void act_refuse(struct atl_coord *c, struct atl_http_resp *resp, const char *island,
		       const char *reason)
{
	atl_info("island %s: TPM activation refused (%s)", island, reason);
	pthread_mutex_lock(&c->mmu);
	c->attest_refused++;
	pthread_mutex_unlock(&c->mmu);
	atl_http_resp_error(resp, 403, "activation_refused", reason);
}

void coord_h_tpm_challenge(struct atl_coord *c, const struct atl_http_req *req,
			   struct atl_http_resp *resp)
{
	static const char *const keys[] = {"info", NULL};
	struct atl_store_island is;
	struct atl_tpm_challenge ch = {0};
	uint8_t cred[32], bind[ATL_SHA256_LEN];
	char why[256] = "", reason[320];
	int64_t now = atl_time_now();
	json_t *body = NULL, *cj = NULL, *v;
	const json_t *info;
	enum atl_err rc;

	if (!coord_island_auth(c, req, resp, &is))
		return;
	if (!tpm_ready(c, resp))
		goto out;
	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		goto out;
	info = json_object_get(body, "info");
	if (!json_is_object(info)) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected {\"info\":{\"ek_pub\",\"ek_cert\",\"ak_pub\"}}");
		goto out;
	}
	rc = atl_tpm_activation_begin(info, c->policy, now, cred, &ch, why, sizeof(why));
	if (rc == ATL_E_NOMEM) {
		atl_http_resp_error(resp, 500, "internal", "try again later");
		goto out;
	}
	if (rc != ATL_OK) {
		char esc[300];
		atl_log_escape(why, strnlen(why, 250), esc, sizeof(esc));
		snprintf(reason, sizeof(reason), "ek_chain: %s", esc);
		act_refuse(c, resp, is.name, reason);
		goto out;
	}
	rc = act_binding(info, cred, bind, NULL, 0);
	if (rc == ATL_OK)
		rc = atl_store_challenge_add(c->store, is.id, bind, sizeof(bind), now,
					     now + c->challenge_s);
	if (rc == ATL_OK)
		rc = atl_tpm_challenge_to_json(&ch, &cj);
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "tpm challenge");
		goto out;
	}
	v = json_pack("{s:O, s:I}", "challenge", cj, "expires_at",
		      (json_int_t)(now + c->challenge_s));
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
out:
	atl_wipe(cred, sizeof(cred));
	atl_tpm_challenge_clear(&ch);
	json_decref(cj);
	json_decref(body);
	atl_store_island_clear(&is);
}

void coord_h_tpm_activate(struct atl_coord *c, const struct atl_http_req *req,
			  struct atl_http_resp *resp)
{
	static const char *const keys[] = {"info", "answer", NULL};
	struct atl_store_island is;
	uint8_t answer[64], bind[ATL_SHA256_LEN];
	size_t answer_len = 0;
	char name[2 * ATL_TPM_NAME_MAX_LEN + 1] = "";
	int64_t now = atl_time_now();
	json_t *body = NULL, *rec = NULL, *v;
	const json_t *info;
	const char *hex;
	enum atl_err rc;

	if (!coord_island_auth(c, req, resp, &is))
		return;
	if (!tpm_ready(c, resp))
		goto out;
	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		goto out;
	info = json_object_get(body, "info");
	hex = json_string_value(json_object_get(body, "answer"));
	if (!json_is_object(info) || hex == NULL ||
	    atl_hex_decode(hex, strlen(hex), answer, sizeof(answer), &answer_len) != ATL_OK) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected {\"info\":{…},\"answer\":\"<hex>\"}");
		goto out;
	}
	if (answer_len != 32 || act_binding(info, answer, bind, name, sizeof(name)) != ATL_OK) {
		act_refuse(c, resp, is.name, "activation: malformed answer or TPM info");
		goto out;
	}
	rc = atl_store_challenge_take(c->store, is.id, bind, sizeof(bind), now);
	if (rc == ATL_E_EXPIRED || rc == ATL_E_REPLAY) {
		act_refuse(c, resp, is.name,
			   rc == ATL_E_EXPIRED
				   ? "activation: the challenge expired"
				   : "activation: wrong answer: the AK does not live in the TPM "
				     "of that EK (or the challenge was used)");
		goto out;
	}
	if (rc != ATL_OK) {
		coord_store_error(resp, rc, "tpm activation");
		goto out;
	}
	rc = atl_tpm_activation_finish(info, answer, answer, 32, c->tpm_key, now, &rec);
	if (rc != ATL_OK) {
		coord_store_error(resp, rc == ATL_E_NOMEM ? rc : ATL_E_INTERNAL, "activation record");
		goto out;
	}
	if (atl_store_audit_add(c->store, now, is.name, "tpm_activate", name,
				"AK activated against a certified EK") != ATL_OK)
		atl_warn("audit: cannot record the TPM activation of island %s", is.name);
	atl_info("island %s: TPM AK %.24s… activated", is.name, name);
	v = json_pack("{s:O}", "activation", rec);
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
out:
	atl_wipe(answer, sizeof(answer));
	json_decref(rec);
	json_decref(body);
	atl_store_island_clear(&is);
}

char *coord_tpm_countersign(struct atl_coord *c, const char *text)
{
	char *out = NULL;

	if (c->tpm_key == NULL)
		return NULL;
	if (atl_tpm_countersign(text, strlen(text), c->tpm_key, atl_time_now(), &out) != ATL_OK)
		return NULL;
	if (strlen(out) > ATL_STORE_EVIDENCE_MAX) {
		free(out);
		return NULL;
	}
	return out;
}
