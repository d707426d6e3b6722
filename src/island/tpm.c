/* TPM island registration (issue 5; src/coordinator/tpm.c is the other
 * side): before its enclave starts, a `--tee tpm` island proves to the
 * coordinator that its attestation key lives in the TPM whose EK certificate
 * it shows:
 *
 *   atl_tpm_ak_info            EK public area + certificate, AK public area
 *   POST islands/tpm/challenge coordinator: EK chain to the policy's roots,
 *                              MakeCredential(EK, AK name, secret)
 *   atl_tpm_activate           TPM2_ActivateCredential: the secret, only in
 *                              the TPM holding both keys
 *   POST islands/tpm/activate  coordinator: checks it, signs the record
 *
 * The record goes to CACHE/tpm-activation.json (0600) and the enclave
 * attaches it to its evidence (--tpm-activation). The island talks to the
 * TPM only here, while no enclave holds the connection (a swtpm socket
 * serves one client at a time). The island is untrusted: everything it
 * relays is checked by the coordinator and, in the evidence, by every
 * verifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "island"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"
#include "island/island_int.h"

#define ACT_FILE "tpm-activation.json"

/* Maps a refused call to the agent's error; why gets the reason. */
static enum atl_err refused(long st, const json_t *j, const char *what, char *why, size_t cap)
{
	char text[320];

	isl_error_text(j, text, sizeof(text));
	snprintf(why, cap, "TPM registration (%s): %ld %s", what, st, text);
	if (st == 401)
		return ATL_E_AUTH;
	if (st == 403 || st == 409)
		return ATL_E_DENIED;
	return ATL_E_IO;
}

enum atl_err isl_tpm_register(struct island *is, char *path_out, size_t cap, char *why,
			      size_t why_cap)
{
	json_t *cfg = NULL, *info = NULL, *body = NULL, *j = NULL, *rec;
	struct atl_tpm_challenge ch = {0};
	uint8_t cred[64];
	char hex[2 * sizeof(cred) + 1] = "", *txt = NULL;
	size_t n = 0;
	long st = 0;
	enum atl_err rc;

	why[0] = '\0';
	if (snprintf(path_out, cap, "%s/%s", is->o->cache_dir, ACT_FILE) >= (int)cap)
		return ATL_E_LIMIT;
	cfg = json_pack("{s:s, s:s}", "tpm", is->o->tpm, "ek",
			is->o->tpm_ek != NULL ? is->o->tpm_ek : "rsa");
	if (cfg == NULL)
		return ATL_E_NOMEM;
	rc = atl_tpm_ak_info(cfg, &info);
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "TPM registration: cannot read the TPM %s: %s", is->o->tpm,
			 atl_strerror(rc));
		goto out;
	}
	body = json_pack("{s:O}", "info", info);
	rc = body != NULL ? isl_call(is, "POST", "/api/v1/islands/tpm/challenge", body, &st, &j)
			  : ATL_E_NOMEM;
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "TPM registration: challenge: %s", atl_strerror(rc));
		goto out;
	}
	if (st != 200) {
		rc = refused(st, j, "challenge", why, why_cap);
		goto out;
	}
	rc = atl_tpm_challenge_from_json(json_object_get(j, "challenge"), &ch);
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "TPM registration: the coordinator sent no usable challenge");
		rc = ATL_E_IO;
		goto out;
	}
	rc = atl_tpm_activate(cfg, &ch, cred, sizeof(cred), &n);
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "TPM registration: the TPM did not activate the credential: %s",
			 atl_strerror(rc));
		goto out;
	}
	rc = atl_hex_encode(cred, n, hex, sizeof(hex));
	if (rc != ATL_OK)
		goto out;
	json_decref(body);
	json_decref(j);
	j = NULL;
	body = json_pack("{s:O, s:s}", "info", info, "answer", hex);
	rc = body != NULL ? isl_call(is, "POST", "/api/v1/islands/tpm/activate", body, &st, &j)
			  : ATL_E_NOMEM;
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "TPM registration: activate: %s", atl_strerror(rc));
		goto out;
	}
	if (st != 200) {
		rc = refused(st, j, "activate", why, why_cap);
		goto out;
	}
	rec = json_object_get(j, "activation");
	txt = json_is_object(rec) ? atl_json_dump(rec) : NULL;
	if (txt == NULL) {
		snprintf(why, why_cap, "TPM registration: the coordinator sent no activation record");
		rc = ATL_E_IO;
		goto out;
	}
	rc = atl_mkdir_p(is->o->cache_dir, 0700);
	if (rc == ATL_OK)
		rc = atl_file_write(path_out, txt, strlen(txt), 0600, 0);
	if (rc != ATL_OK) {
		snprintf(why, why_cap, "TPM registration: cannot write %s: %s", path_out,
			 atl_strerror(rc));
		goto out;
	}
	atl_info("TPM registration: AK %.24s… activated by the coordinator",
		 json_string_value(json_object_get(info, "ak_name")) != NULL
			 ? json_string_value(json_object_get(info, "ak_name"))
			 : "?");
	rc = ATL_OK;
out:
	atl_wipe(cred, sizeof(cred));
	atl_wipe(hex, sizeof(hex));
	atl_tpm_challenge_clear(&ch);
	free(txt);
	json_decref(cfg);
	json_decref(info);
	json_decref(body);
	json_decref(j);
	return rc;
}
