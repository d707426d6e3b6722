/* AK-EK binding: activation records (the activator's signed statement that an
 * AK answered a credential challenge for an EK) and, in tpm_mkcred.c, the
 * software TPM2_MakeCredential that produces the challenge. */
#define ATL_LOG_MODULE "tpm"
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"

#define ACT_VERSION 1

/* The signed bytes: the record without "sig", compact with sorted keys. */
static enum atl_err tbs(const json_t *rec, char **out)
{
	json_t *c = json_deep_copy(rec);

	*out = NULL;
	if (c == NULL)
		return ATL_E_NOMEM;
	(void)json_object_del(c, "sig");
	*out = atl_json_dump(c);
	json_decref(c);
	return *out != NULL ? ATL_OK : ATL_E_NOMEM;
}

enum atl_err atl_tpm_activation_sign(const struct atl_privkey *key, const uint8_t *ak_name,
				     size_t ak_name_len, const uint8_t ek_cert_sha256[32],
				     int64_t issued_at, json_t **rec_out)
{
	char name_hex[2 * ATL_TPM_NAME_MAX_LEN + 1], fp_hex[65];
	char *msg = NULL, *sig_b64 = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	json_t *rec = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*rec_out = NULL;
	if (key == NULL || ak_name == NULL || ak_name_len == 0 ||
	    ak_name_len > ATL_TPM_NAME_MAX_LEN || ek_cert_sha256 == NULL)
		return ATL_E_ARG;
	ATL_TRY(atl_hex_encode(ak_name, ak_name_len, name_hex, sizeof(name_hex)));
	ATL_TRY(atl_hex_encode(ek_cert_sha256, 32, fp_hex, sizeof(fp_hex)));
	rec = json_pack("{s:i, s:s, s:s, s:I}", "v", ACT_VERSION, "ak_name", name_hex,
			"ek_cert_sha256", fp_hex, "issued_at", (json_int_t)issued_at);
	if (rec == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(tbs(rec, &msg));
	ATL_TRY(atl_sig_sign(key, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_DER, (const uint8_t *)msg,
			     strlen(msg), &sig, &sig_len));
	ATL_TRY(atl_b64_encode(sig, sig_len, ATL_B64_STD, &sig_b64));
	if (json_object_set_new(rec, "sig", json_string(sig_b64)) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*rec_out = rec;
	rec = NULL;
	rc = ATL_OK;
out:
	json_decref(rec);
	free(msg);
	free(sig);
	free(sig_b64);
	return rc;
}

enum atl_err atl_tpm_activation_verify(const json_t *rec, const struct atl_pubkey *key,
				       const uint8_t *ak_name, size_t ak_name_len,
				       const uint8_t ek_cert_sha256[32])
{
	static const char *const keys[] = {"v", "ak_name", "ek_cert_sha256", "issued_at", "sig",
					   NULL};
	uint8_t name[ATL_TPM_NAME_MAX_LEN], fp[32];
	size_t name_len = 0;
	const char *s;
	int64_t ver, t;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	char *msg = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (rec == NULL || key == NULL || ak_name == NULL)
		return ATL_E_ARG;
	ATL_TRY(atl_json_check_keys(rec, keys, NULL));
	ATL_TRY(atl_json_get_int(rec, "v", &ver));
	if (ver != ACT_VERSION) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	ATL_TRY(atl_json_get_int(rec, "issued_at", &t));
	ATL_TRY(atl_json_get_str(rec, "ak_name", &s));
	ATL_TRY(atl_hex_decode(s, strlen(s), name, sizeof(name), &name_len));
	ATL_TRY(atl_json_get_hex(rec, "ek_cert_sha256", fp, sizeof(fp)));
	ATL_TRY(atl_json_get_b64(rec, "sig", ATL_SIG_LEN_MAX, &sig, &sig_len));
	ATL_TRY(tbs(rec, &msg));
	ATL_TRY(atl_sig_verify(key, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_DER,
			       (const uint8_t *)msg, strlen(msg), sig, sig_len));
	/* Authentic: now does it speak of this AK and this EK? */
	if (name_len != ak_name_len || !atl_ct_eq(name, ak_name, name_len) ||
	    !atl_ct_eq(fp, ek_cert_sha256, sizeof(fp))) {
		rc = ATL_E_POLICY;
		goto out;
	}
	rc = ATL_OK;
out:
	free(sig);
	free(msg);
	return rc;
}
