/* AK-EK binding: activation records (the activator's signed statement that an
 * AK answered a credential challenge for an EK) and, in tpm_mkcred.c, the
 * software TPM2_MakeCredential that produces the challenge. */
#define ATL_LOG_MODULE "tpm"
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"
#include "atoll/x509.h"
#include "attest/tpm_int.h"

#define ACT_VERSION 1
#define QUAL_MAX 64 /* TPM2B_DATA: sizeof(TPMT_HA) */

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

/* ---- island registration (coordinator side) ---- */

static enum atl_err info_b64(const json_t *info, const char *k, size_t max, uint8_t **out,
			     size_t *len)
{
	return atl_json_get_b64(info, k, max, out, len);
}

enum atl_err atl_tpm_activation_begin(const json_t *info, const json_t *policy, int64_t now,
				      uint8_t cred_out[32], struct atl_tpm_challenge *ch_out,
				      char *why, size_t why_cap)
{
	const json_t *sec = atl_policy_section(policy, "tpm");
	const json_t *inter_a = json_object_get(sec, "intermediates");
	struct atl_x509_list *roots = NULL, *inter = NULL;
	struct atl_x509 *leaf = NULL;
	struct atl_pubkey *ck = NULL;
	struct atl_tpm_public ek;
	uint8_t *ek_pub = NULL, *ek_cert = NULL, *ak_pub = NULL;
	size_t ek_len = 0, cert_len = 0, ak_len = 0, i;
	char local[256];
	json_t *v;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(ch_out, 0, sizeof(*ch_out));
	memset(&ek, 0, sizeof(ek));
	if (why == NULL || why_cap == 0) {
		why = local;
		why_cap = sizeof(local);
	}
	why[0] = '\0';
	if (info == NULL || cred_out == NULL)
		return ATL_E_ARG;
	if (info_b64(info, "ek_pub", ATL_TPM_PUBLIC_MAX, &ek_pub, &ek_len) != ATL_OK ||
	    info_b64(info, "ak_pub", ATL_TPM_PUBLIC_MAX, &ak_pub, &ak_len) != ATL_OK) {
		(void)snprintf(why, why_cap, "ek_pub / ak_pub missing or not base64");
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (info_b64(info, "ek_cert", ATL_ATTEST_ANCHOR_MAX, &ek_cert, &cert_len) != ATL_OK) {
		(void)snprintf(why, why_cap, "the TPM has no EK certificate");
		rc = ATL_E_AUTH;
		goto out;
	}
	/* EK certificate chain to the policy's pinned tpm roots. */
	for (i = 0; i < atl_policy_anchor_count(policy, "tpm"); i++) {
		const char *pem = atl_policy_anchor(policy, "tpm", i);

		ATL_TRY(atl_x509_list_parse((const uint8_t *)pem, strlen(pem), &roots));
	}
	json_array_foreach(inter_a, i, v) {
		ATL_TRY(atl_x509_list_parse((const uint8_t *)json_string_value(v),
					    json_string_length(v), &inter));
	}
	ATL_TRY(atl_x509_parse(ek_cert, cert_len, &leaf));
	if (roots == NULL) {
		(void)snprintf(why, why_cap, "no trust anchors for tpm in the policy");
		rc = ATL_E_AUTH;
		goto out;
	}
	rc = atl_x509_verify_chain(leaf, inter, roots, NULL, now, 0, why, why_cap);
	if (rc != ATL_OK)
		goto out;
	/* The EK public area must be the certified key: else a genuine
	 * certificate could front an EK the attacker controls. */
	ATL_TRY(atl_tpm_public_parse(ek_pub, ek_len, &ek));
	ATL_TRY(atl_x509_pubkey(leaf, &ck));
	if (atl_pubkey_equal(ck, ek.key) != ATL_OK) {
		(void)snprintf(why, why_cap, "EK public area is not the certified key");
		rc = ATL_E_AUTH;
		goto out;
	}
	ATL_TRY(atl_random(cred_out, 32));
	rc = atl_tpm_make_credential(ek_pub, ek_len, ak_pub, ak_len, cred_out, 32, ch_out);
	if (rc != ATL_OK)
		(void)snprintf(why, why_cap, "cannot make a credential (%s)", atl_err_name(rc));
out:
	if (rc != ATL_OK && why[0] == '\0')
		(void)snprintf(why, why_cap, "%s", atl_strerror(rc));
	atl_tpm_public_clear(&ek);
	atl_pubkey_free(ck);
	atl_x509_free(leaf);
	atl_x509_list_free(roots);
	atl_x509_list_free(inter);
	free(ek_pub);
	free(ek_cert);
	free(ak_pub);
	return rc;
}

enum atl_err atl_tpm_activation_finish(const json_t *info, const uint8_t cred[32],
				       const uint8_t *answer, size_t answer_len,
				       const struct atl_privkey *key, int64_t now, json_t **rec_out)
{
	struct atl_tpm_public ak;
	uint8_t *ak_pub = NULL, *ek_cert = NULL, fp[32];
	size_t ak_len = 0, cert_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*rec_out = NULL;
	memset(&ak, 0, sizeof(ak));
	if (info == NULL || cred == NULL || answer == NULL || key == NULL)
		return ATL_E_ARG;
	if (answer_len != 32 || !atl_ct_eq(answer, cred, 32))
		return ATL_E_AUTH; /* the AK is not in the TPM that holds the EK */
	ATL_TRY(info_b64(info, "ak_pub", ATL_TPM_PUBLIC_MAX, &ak_pub, &ak_len));
	ATL_TRY(info_b64(info, "ek_cert", ATL_ATTEST_ANCHOR_MAX, &ek_cert, &cert_len));
	ATL_TRY(atl_tpm_public_parse(ak_pub, ak_len, &ak));
	ATL_TRY(atl_hash(ATL_HASH_SHA256, ek_cert, cert_len, fp));
	ATL_TRY(atl_tpm_activation_sign(key, ak.name, ak.name_len, fp, now, rec_out));
	rc = ATL_OK;
out:
	atl_tpm_public_clear(&ak);
	free(ak_pub);
	free(ek_cert);
	return rc;
}

enum atl_err atl_tpm_challenge_to_json(const struct atl_tpm_challenge *ch, json_t **out)
{
	char *b = NULL, *s = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	ATL_TRY(atl_b64_encode(ch->blob, ch->blob_len, ATL_B64_STD, &b));
	ATL_TRY(atl_b64_encode(ch->secret, ch->secret_len, ATL_B64_STD, &s));
	*out = json_pack("{s:s, s:s}", "blob", b, "secret", s);
	rc = *out != NULL ? ATL_OK : ATL_E_NOMEM;
out:
	free(b);
	free(s);
	return rc;
}

enum atl_err atl_tpm_challenge_from_json(const json_t *j, struct atl_tpm_challenge *ch)
{
	static const char *const keys[] = {"blob", "secret", NULL};
	enum atl_err rc = ATL_E_INTERNAL;

	memset(ch, 0, sizeof(*ch));
	ATL_TRY(atl_json_check_keys(j, keys, NULL));
	ATL_TRY(atl_json_get_b64(j, "blob", 1024, &ch->blob, &ch->blob_len));
	ATL_TRY(atl_json_get_b64(j, "secret", 1024, &ch->secret, &ch->secret_len));
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_tpm_challenge_clear(ch);
	return rc;
}

/* ---- freshness countersignature (the verifier that checked the nonce) ----
 *
 * {"v":1, "ak_name":hex, "qualifying_data":hex, "issued_at":n, "sig":b64}:
 * "at issued_at I verified a quote by this AK whose qualifying data was this
 * (my fresh nonce's binding)". Signed like an activation record. */

static const char *const fresh_keys[] = {"v", "ak_name", "qualifying_data", "issued_at", "sig",
					 NULL};

enum atl_err tpm_freshness_verify(const json_t *rec, const struct atl_pubkey *key,
				  const uint8_t *ak_name, size_t ak_name_len, const uint8_t *qual,
				  size_t qual_len, int64_t *issued_at_out)
{
	uint8_t name[ATL_TPM_NAME_MAX_LEN], q[QUAL_MAX];
	size_t name_len = 0, q_len = 0, sig_len = 0;
	const char *s;
	int64_t ver, t;
	uint8_t *sig = NULL;
	char *msg = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (rec == NULL || key == NULL || ak_name == NULL || qual == NULL)
		return ATL_E_ARG;
	ATL_TRY(atl_json_check_keys(rec, fresh_keys, NULL));
	ATL_TRY(atl_json_get_int(rec, "v", &ver));
	if (ver != ACT_VERSION) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	ATL_TRY(atl_json_get_int(rec, "issued_at", &t));
	ATL_TRY(atl_json_get_str(rec, "ak_name", &s));
	ATL_TRY(atl_hex_decode(s, strlen(s), name, sizeof(name), &name_len));
	ATL_TRY(atl_json_get_str(rec, "qualifying_data", &s));
	ATL_TRY(atl_hex_decode(s, strlen(s), q, sizeof(q), &q_len));
	ATL_TRY(atl_json_get_b64(rec, "sig", ATL_SIG_LEN_MAX, &sig, &sig_len));
	ATL_TRY(tbs(rec, &msg));
	ATL_TRY(atl_sig_verify(key, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_DER,
			       (const uint8_t *)msg, strlen(msg), sig, sig_len));
	if (name_len != ak_name_len || !atl_ct_eq(name, ak_name, name_len) || q_len != qual_len ||
	    !atl_ct_eq(q, qual, q_len)) {
		rc = ATL_E_POLICY;
		goto out;
	}
	*issued_at_out = t;
	rc = ATL_OK;
out:
	free(sig);
	free(msg);
	return rc;
}

/* The AK name and qualifying data of Atoll tpm evidence (JSON). */
static enum atl_err native_ids(const json_t *nat, struct atl_tpm_public *ak, uint8_t *att_buf,
			       size_t att_cap, size_t *att_len, struct atl_tpm_attest *at)
{
	uint8_t *b = NULL;
	size_t n = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_json_get_b64(nat, "quote", att_cap, &b, &n));
	memcpy(att_buf, b, n);
	*att_len = n;
	ATL_TRY(atl_tpm_attest_parse(att_buf, n, at));
	free(b);
	b = NULL;
	ATL_TRY(atl_json_get_b64(nat, "ak_pub", ATL_TPM_PUBLIC_MAX, &b, &n));
	ATL_TRY(atl_tpm_public_parse(b, n, ak));
	rc = ATL_OK;
out:
	free(b);
	return rc;
}

enum atl_err atl_tpm_countersign(const char *wrapper, size_t len, const struct atl_privkey *key,
				 int64_t now, char **out)
{
	json_t *w = NULL, *nat = NULL, *rec = NULL;
	struct atl_tpm_public ak;
	struct atl_tpm_attest at;
	uint8_t *raw = NULL, att[ATL_TPM_ATTEST_MAX];
	size_t raw_len = 0, att_len = 0, sig_len = 0;
	char name_hex[2 * ATL_TPM_NAME_MAX_LEN + 1], q_hex[2 * QUAL_MAX + 1];
	char *msg = NULL, *sig_b64 = NULL, *nat_txt = NULL, *nat_b64 = NULL;
	uint8_t *sig = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	memset(&ak, 0, sizeof(ak));
	if (wrapper == NULL || key == NULL)
		return ATL_E_ARG;
	ATL_TRY(atl_json_parse(wrapper, len, &w));
	if (!json_is_object(w)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_json_get_b64(w, "evidence", ATL_ATTEST_EVIDENCE_MAX, &raw, &raw_len));
	ATL_TRY(atl_json_parse((const char *)raw, raw_len, &nat));
	if (!json_is_object(nat) ||
	    !json_is_string(json_object_get(nat, "format")) ||
	    strcmp(json_string_value(json_object_get(nat, "format")), ATL_TPM_EVIDENCE_FORMAT) != 0) {
		rc = ATL_E_UNSUPPORTED; /* only Atoll's own evidence carries one */
		goto out;
	}
	ATL_TRY(native_ids(nat, &ak, att, sizeof(att), &att_len, &at));
	if (at.extra_len == 0 || at.extra_len > QUAL_MAX) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_hex_encode(ak.name, ak.name_len, name_hex, sizeof(name_hex)));
	ATL_TRY(atl_hex_encode(at.extra, at.extra_len, q_hex, sizeof(q_hex)));
	rec = json_pack("{s:i, s:s, s:s, s:I}", "v", ACT_VERSION, "ak_name", name_hex,
			"qualifying_data", q_hex, "issued_at", (json_int_t)now);
	if (rec == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(tbs(rec, &msg));
	ATL_TRY(atl_sig_sign(key, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_DER, (const uint8_t *)msg,
			     strlen(msg), &sig, &sig_len));
	ATL_TRY(atl_b64_encode(sig, sig_len, ATL_B64_STD, &sig_b64));
	if (json_object_set_new(rec, "sig", json_string(sig_b64)) != 0 ||
	    json_object_set(nat, "freshness", rec) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	nat_txt = atl_json_dump(nat);
	if (nat_txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_b64_encode((const uint8_t *)nat_txt, strlen(nat_txt), ATL_B64_STD, &nat_b64));
	if (json_object_set_new(w, "evidence", json_string(nat_b64)) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*out = json_dumps(w, JSON_COMPACT);
	rc = *out != NULL ? ATL_OK : ATL_E_NOMEM;
out:
	atl_tpm_public_clear(&ak);
	json_decref(w);
	json_decref(nat);
	json_decref(rec);
	free(raw);
	free(msg);
	free(sig);
	free(sig_b64);
	free(nat_txt);
	free(nat_b64);
	return rc;
}
