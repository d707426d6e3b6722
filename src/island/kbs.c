/* Encrypted models on the island (issue 9; docs/internals/enclave-models.md).
 *
 * The enclave has no network, so the island relays between it and the key
 * broker named in the lease ("model_key":{"kbs","tenant","model_id"}):
 *   1. POST /kbs/v0/auth            -> a broker nonce (atl_kbsc_auth)
 *   2. ATTEST the enclave with that nonce -> evidence binding its key
 *   3. POST /attest, GET /resource  -> the model key sealed (HPKE) to the key
 *                                      the evidence vouches for (atl_kbsc_fetch)
 *   4. MODEL_KEY to the enclave     -> it opens the key and decrypts the .atm
 *                                      (fetched and cached like any model:
 *                                      ciphertext only) into secret memory.
 * The island sees only the broker nonce, the evidence, the sealed key and the
 * ciphertext; never the data key or the plaintext. A model is handed over
 * once per enclave instance (keyed by the enclave's start generation): a
 * restarted enclave has a new key pair, so the key is fetched again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "island"
#include "atoll/enclave.h"
#include "atoll/json.h"
#if ATL_HAVE_KBSD
#include "atoll/kbsd.h"
#endif
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/verify.h"
#include "island/island_int.h"

#if !ATL_HAVE_KBSD
/* Built without the key broker client: encrypted models are refused. */
enum atl_err isl_model_key(struct island *is, const char *wid, const json_t *mk,
			   const char *atm_path, const char *atm_sha, char *mid_out,
			   size_t mid_cap, char *why, size_t why_cap)
{
	(void)is, (void)wid, (void)mk, (void)atm_path, (void)atm_sha;
	if (mid_cap > 0)
		mid_out[0] = '\0';
	snprintf(why, why_cap, "this island was built without the key broker client");
	return ATL_E_UNSUPPORTED;
}
#else
#define KEY_ENCLAVE_MS 60000 /* attest and MODEL_KEY deadline (decryption included) */
#define KBS_URL_MAX 512u

static bool hex32_ok(const char *s)
{
	return s != NULL && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static bool tenant_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= ATL_KBS_TENANT_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool url_ok(const char *s)
{
	return s != NULL && strlen(s) < KBS_URL_MAX &&
	       (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
	       strpbrk(s, " \t\r\n\"\\") == NULL;
}

/* Already handed to the current enclave instance for this workload? */
static bool loaded(const struct island *is, const char *mid, const char *wid)
{
	for (size_t i = 0; i < ISL_KEYED_MAX; i++) {
		const struct isl_keyed *k = &is->keyed[i];
		if (k->gen == is->enclave_gen && strcmp(k->model_id, mid) == 0 &&
		    strcmp(k->workload, wid) == 0)
			return true;
	}
	return false;
}

/* Handed to the current enclave instance for another workload? */
static bool bound_elsewhere(const struct island *is, const char *mid)
{
	for (size_t i = 0; i < ISL_KEYED_MAX; i++) {
		const struct isl_keyed *k = &is->keyed[i];
		if (k->gen == is->enclave_gen && strcmp(k->model_id, mid) == 0)
			return true;
	}
	return false;
}

static void remember(struct island *is, const char *mid, const char *wid)
{
	struct isl_keyed *k = &is->keyed[0];

	for (size_t i = 0; i < ISL_KEYED_MAX; i++) {
		/* a slot of an earlier enclave instance, or the oldest one */
		if (is->keyed[i].gen != is->enclave_gen) {
			k = &is->keyed[i];
			break;
		}
		if (is->keyed[i].seq < k->seq)
			k = &is->keyed[i];
	}
	k->gen = is->enclave_gen;
	k->seq = ++is->keyed_seq;
	snprintf(k->model_id, sizeof(k->model_id), "%s", mid);
	snprintf(k->workload, sizeof(k->workload), "%s", wid);
}

enum atl_err isl_model_key(struct island *is, const char *wid, const json_t *mk,
			   const char *atm_path, const char *atm_sha, char *mid_out,
			   size_t mid_cap, char *why, size_t why_cap)
{
	static const char *const keys[] = {"kbs", "tenant", "model_id", NULL};
	const char *kbs = NULL, *tenant = NULL, *mid = NULL;
	uint8_t nonce[ATL_KBS_NONCE_LEN];
	struct atl_kbsc *s = NULL;
	struct atl_evidence e = {0};
	char *wrapper = NULL, *sealed = NULL, ewhy[256];
	size_t wl = 0, sl = 0;
	long st = 0;
	enum atl_err rc;

	snprintf(why, why_cap, "the lease names a malformed model key source");
	mid_out[0] = '\0';
	if (atl_json_check_keys(mk, keys, NULL) != ATL_OK ||
	    atl_json_get_str(mk, "kbs", &kbs) != ATL_OK ||
	    atl_json_get_str(mk, "tenant", &tenant) != ATL_OK ||
	    atl_json_get_str(mk, "model_id", &mid) != ATL_OK || !url_ok(kbs) ||
	    !tenant_ok(tenant) || !hex32_ok(mid) || mid_cap <= strlen(mid))
		return ATL_E_FORMAT;
	snprintf(mid_out, mid_cap, "%s", mid);
	if (loaded(is, mid, wid))
		return ATL_OK;
	if (bound_elsewhere(is, mid)) {
		/* the enclave would refuse it: spare the broker a release */
		snprintf(why, why_cap, "the model is bound to another workload in this enclave");
		return ATL_E_POLICY;
	}
	rc = atl_kbsc_auth(kbs, is->o->tee, tenant, mid, &s, nonce);
	if (rc != ATL_OK) {
		atl_warn("model %.8s: the key broker refused a session: %s", mid,
			 atl_strerror(rc));
		snprintf(why, why_cap, "the key broker is unavailable (%s)", atl_err_name(rc));
		if (rc == ATL_E_STATE)
			rc = ATL_E_INTERNAL;
		goto out;
	}
	rc = atl_enclave_attest(is->fd, nonce, sizeof(nonce), KEY_ENCLAVE_MS, &wrapper, &wl);
	if (rc == ATL_OK && atl_evidence_parse((const uint8_t *)wrapper, wl, &e, NULL, 0) != ATL_OK)
		rc = ATL_E_FORMAT;
	if (rc != ATL_OK) {
		atl_warn("model %.8s: the enclave produced no evidence: %s", mid,
			 atl_strerror(rc));
		snprintf(why, why_cap, "the enclave produced no evidence for the key broker");
		rc = ATL_E_STATE;
		goto out;
	}
	/* the broker binds the key to wid (HPKE AAD): the enclave keeps the
	 * model for that workload only, whatever this island claims later */
	rc = atl_kbsc_fetch_workload(s, wrapper, e.enclave_key, wid, &sealed, &sl);
	if (rc != ATL_OK) {
		const char *m = atl_kbsc_last_error(s, &st);
		char esc[200];
		atl_log_escape(m != NULL ? m : "", m != NULL ? strnlen(m, 190) : 0, esc,
			       sizeof(esc));
		atl_warn("model %.8s: the key broker did not release the key (%ld, %s): %s", mid,
			 st, atl_err_name(rc), esc);
		snprintf(why, why_cap, "the key broker refused the model key (%ld%s%s)", st,
			 esc[0] != '\0' ? ": " : "", esc);
		if (rc == ATL_E_STATE)
			rc = ATL_E_INTERNAL;
		goto out;
	}
	rc = atl_enclave_model_key(is->fd, mid, wid, atm_path, atm_sha, sealed, KEY_ENCLAVE_MS,
				   ewhy, sizeof(ewhy));
	if (rc != ATL_OK) {
		atl_warn("model %.8s: the enclave refused the model: %s (%s)", mid,
			 ewhy[0] != '\0' ? ewhy : "no answer", atl_err_name(rc));
		snprintf(why, why_cap, "the enclave refused the model: %s",
			 ewhy[0] != '\0' ? ewhy : "no answer");
		if (rc == ATL_E_TIMEOUT || rc == ATL_E_IO)
			rc = ATL_E_STATE; /* no answer: the channel may be out of step */
		else if (rc == ATL_E_STATE)
			rc = ATL_E_INTERNAL;
		goto out;
	}
	remember(is, mid, wid);
	atl_info("model %.8s key released by the broker and loaded by the enclave", mid);
	why[0] = '\0';
	rc = ATL_OK;
out:
	atl_wipe(nonce, sizeof(nonce));
	atl_evidence_clear(&e);
	atl_kbsc_free(s);
	free(wrapper);
	free(sealed);
	return rc;
}
#endif
