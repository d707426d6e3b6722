/* The `tpm` backend's verifier (DESIGN §4, issue 5): parses the evidence
 * (tpm_ev.c), then records one named check per property:
 *
 *   ak_public     the AK's TPMT_PUBLIC parses; restricted signing, fixedTPM
 *   quote_bank    a quote over the policy's PCR bank exists (SHA-1 refused
 *                 unless allow_sha1)
 *   quote_magic   TPMS_ATTEST.magic == TPM_GENERATED_VALUE (Part 2 §10.12.12)
 *   quote_type    TPMS_ATTEST.type == TPM_ST_ATTEST_QUOTE
 *   signature     TPMT_SIGNATURE by the AK over the TPMS_ATTEST bytes
 *   pcr_selection the PCR values offered are exactly the quoted selection
 *   pcr_digest    pcrDigest == H(selected values) (Part 3 §18.4)
 *   clock         TPMS_CLOCK_INFO sane (safe is a TPMI_YES_NO)
 *   nonce         extraData == the expected qualifying data (when given)
 *   pcr_policy    the policy's expected PCR values are quoted and equal
 *   measurement   the enclave measurement replays to the quoted PCR
 *   event_log     the TCG log replays to every quoted PCR it covers
 *   ak_trust      AK cert chain, activation record + EK chain, or pinned AK
 *
 * Every check runs even after an earlier one failed, so the result names all
 * reasons; any failure makes the result contraindicated. */
#define ATL_LOG_MODULE "tpm"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"
#include "atoll/x509.h"
#include "attest/backends.h"
#include "attest/tpm_int.h"

#define MEAS_LABEL "atoll-measurement-v1"

/* ---- policy section ---- */

static enum atl_err pfail(char *why, size_t cap, const char *msg, const char *field)
{
	if (why != NULL && cap > 0)
		(void)snprintf(why, cap, "policy: tpm.%s %s", field, msg);
	return ATL_E_FORMAT;
}

static enum atl_err check_str_list(const json_t *a, const char *field, char *why, size_t cap)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return pfail(why, cap, "must be a non-empty array", field);
	if (json_array_size(a) > ATL_ATTEST_LIST_MAX)
		return pfail(why, cap, "has too many entries", field);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > ATL_ATTEST_ANCHOR_MAX)
			return pfail(why, cap, "entries must be non-empty strings", field);
	}
	return ATL_OK;
}

enum atl_err atl_tpm_policy_validate(const json_t *s, char *why, size_t cap)
{
	static const char *const keys[] = {"pcr_bank",      "allow_sha1",      "pcrs",
					   "measurement_pcr", "ak_names",      "ak_keys",
					   "activation_keys", "intermediates", "require_event_log",
					   "activation_max_age_s", NULL};
	const char *bad = NULL, *k;
	json_t *v;
	uint16_t bank = ATL_TPM_ALG_SHA256;
	size_t i;

	if (s == NULL)
		return ATL_OK;
	if (atl_json_check_keys(s, keys, &bad) != ATL_OK)
		return pfail(why, cap, "is not a known field", bad != NULL ? bad : "(section)");
	v = json_object_get(s, "pcr_bank");
	if (v != NULL) {
		if (!json_is_string(v) || (bank = atl_tpm_hash_from_name(json_string_value(v))) == 0)
			return pfail(why, cap, "must be sha1, sha256, sha384 or sha512", "pcr_bank");
	}
	for (i = 0; i < 2; i++) {
		const char *f = i == 0 ? "allow_sha1" : "require_event_log";

		v = json_object_get(s, f);
		if (v != NULL && !json_is_boolean(v))
			return pfail(why, cap, "must be a boolean", f);
	}
	v = json_object_get(s, "activation_max_age_s");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
			  json_integer_value(v) > ATL_ATTEST_AGE_MAX))
		return pfail(why, cap, "must be an integer 1..31622400", "activation_max_age_s");
	v = json_object_get(s, "measurement_pcr");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
			  json_integer_value(v) >= ATL_TPM_PCRS))
		return pfail(why, cap, "must be an integer 0..23", "measurement_pcr");
	v = json_object_get(s, "pcrs");
	if (v != NULL) {
		json_t *val;

		if (!json_is_object(v) || json_object_size(v) == 0)
			return pfail(why, cap, "must be a non-empty object", "pcrs");
		json_object_foreach(v, k, val) {
			char *end = NULL;
			unsigned long idx = strtoul(k, &end, 10);
			uint8_t buf[64];

			if (k[0] < '0' || k[0] > '9' || *end != '\0' || idx >= ATL_TPM_PCRS ||
			    (k[0] == '0' && k[1] != '\0'))
				return pfail(why, cap, "keys must be PCR indices 0..23", "pcrs");
			if (!json_is_string(val) ||
			    atl_hex_decode_exact(json_string_value(val), json_string_length(val),
						 buf, atl_tpm_hash_len(bank)) != ATL_OK)
				return pfail(why, cap, "values must be hex digests of the bank",
					     "pcrs");
		}
	}
	static const char *const lists[] = {"ak_names", "ak_keys", "activation_keys",
					    "intermediates", NULL};
	for (i = 0; lists[i] != NULL; i++) {
		v = json_object_get(s, lists[i]);
		if (v != NULL && check_str_list(v, lists[i], why, cap) != ATL_OK)
			return ATL_E_FORMAT;
	}
	return ATL_OK;
}

static bool pol_bool(const json_t *s, const char *k)
{
	return json_is_true(json_object_get(s, k));
}

/* ---- trust anchors ---- */

static enum atl_err add_pem_or_der(struct atl_x509_list **l, const uint8_t *p, size_t n)
{
	return atl_x509_list_parse(p, n, l);
}

/* Roots: the caller's anchor files when given, else the policy's pinned
 * trust_anchors.tpm. Never anything from the evidence. */
static enum atl_err load_roots(const struct atl_verify_in *in, struct atl_x509_list **roots)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	enum atl_err rc = ATL_OK;

	*roots = NULL;
	if (in->anchors != NULL) {
		for (size_t i = 0; in->anchors[i] != NULL && rc == ATL_OK; i++) {
			rc = atl_file_read(in->anchors[i], ATL_ATTEST_ANCHOR_MAX, &buf, &n);
			if (rc == ATL_OK)
				rc = add_pem_or_der(roots, buf, n);
			free(buf);
			buf = NULL;
		}
		return rc;
	}
	for (size_t i = 0; i < atl_policy_anchor_count(in->policy, "tpm") && rc == ATL_OK; i++) {
		const char *pem = atl_policy_anchor(in->policy, "tpm", i);

		rc = add_pem_or_der(roots, (const uint8_t *)pem, strlen(pem));
	}
	return rc;
}

/* Intermediates: the evidence's certificates, the policy's, the caller's
 * collateral files. Untrusted by themselves: a path must end at a root. */
static enum atl_err load_intermediates(const struct atl_verify_in *in, const json_t *sec,
				       const struct tpm_ev *e, struct atl_x509_list **l)
{
	const json_t *a = json_object_get(sec, "intermediates");
	uint8_t *buf = NULL;
	size_t n = 0, i;
	json_t *v;
	enum atl_err rc = ATL_OK;

	*l = NULL;
	for (i = 0; i < e->n_certs && rc == ATL_OK; i++)
		rc = add_pem_or_der(l, e->certs[i], e->cert_len[i]);
	json_array_foreach(a, i, v) {
		if (rc == ATL_OK)
			rc = add_pem_or_der(l, (const uint8_t *)json_string_value(v),
					    json_string_length(v));
	}
	for (i = 0; in->collateral != NULL && in->collateral[i] != NULL && rc == ATL_OK; i++) {
		rc = atl_file_read(in->collateral[i], ATL_ATTEST_ANCHOR_MAX, &buf, &n);
		if (rc == ATL_OK)
			rc = add_pem_or_der(l, buf, n);
		free(buf);
		buf = NULL;
	}
	return rc;
}

static enum atl_err chain_ok(const uint8_t *der, size_t len, const struct atl_x509_list *inter,
			     const struct atl_x509_list *roots, int64_t now, struct atl_x509 **leaf,
			     char *why, size_t cap)
{
	enum atl_err rc;

	*leaf = NULL;
	rc = atl_x509_parse(der, len, leaf);
	if (rc != ATL_OK) {
		(void)snprintf(why, cap, "certificate does not parse");
		return rc;
	}
	if (roots == NULL || atl_x509_list_len(roots) == 0) {
		(void)snprintf(why, cap, "no trust anchors for tpm in the policy");
		return ATL_E_AUTH;
	}
	return atl_x509_verify_chain(*leaf, inter, roots, NULL, now, 0, why, cap);
}

/* ---- the checks ---- */

struct vctx {
	const struct atl_verify_in *in;
	const json_t *sec; /* policy section "tpm" (may be NULL) */
	struct tpm_ev *e;
	struct atl_ar *ar;
	struct atl_tpm_public ak;
	struct atl_pubkey *ak_key; /* borrowed from ak, or owned when from SPKI */
	bool ak_key_owned;
	const struct tpm_quote *q;
	struct atl_tpm_attest at;
	bool at_ok;
	bool azure_ak_ok; /* Azure: AK vouched for by a verified hardware report */
};

#define CHECK(...) ATL_TRY(atl_ar_check(__VA_ARGS__))

static enum atl_err check_ak(struct vctx *v)
{
	enum atl_err rc = ATL_E_INTERNAL, prc;
	const uint32_t need = ATL_TPMA_SIGN | ATL_TPMA_RESTRICTED | ATL_TPMA_FIXEDTPM;

	if (v->e->ak_pub != NULL) {
		prc = atl_tpm_public_parse(v->e->ak_pub, v->e->ak_pub_len, &v->ak);
		if (prc != ATL_OK) {
			CHECK(v->ar, "ak_public", false, "AK TPMT_PUBLIC does not parse (%s)",
			      atl_err_name(prc));
			return ATL_OK;
		}
		v->ak_key = v->ak.key;
		if ((v->ak.attrs & need) != need || (v->ak.attrs & ATL_TPMA_DECRYPT))
			CHECK(v->ar, "ak_public", false,
			      "AK is not a restricted fixedTPM signing key (attributes 0x%08x)",
			      v->ak.attrs);
		else
			CHECK(v->ar, "ak_public", true, "restricted signing key, fixedTPM");
		ATL_TRY(atl_ar_set_hex(v->ar, "ak_name", v->ak.name, v->ak.name_len));
	} else {
		prc = atl_pubkey_parse(v->e->ak_spki, v->e->ak_spki_len, &v->ak_key);
		if (prc != ATL_OK) {
			CHECK(v->ar, "ak_public", false, "AK public key does not parse (%s)",
			      atl_err_name(prc));
			return ATL_OK;
		}
		v->ak_key_owned = true;
		ATL_TRY(atl_ar_warn(v->ar, "ak_public",
				    "AK given as a bare public key: its TPM attributes are unknown"));
	}
	rc = ATL_OK;
out:
	return rc;
}

static uint16_t policy_bank(const json_t *sec)
{
	const json_t *b = json_object_get(sec, "pcr_bank");

	return b != NULL ? atl_tpm_hash_from_name(json_string_value(b)) : ATL_TPM_ALG_SHA256;
}

/* Picks the quote whose single selected bank is the policy's bank. */
static enum atl_err check_quote_bank(struct vctx *v)
{
	uint16_t bank = policy_bank(v->sec);
	enum atl_err rc = ATL_E_INTERNAL;

	if (bank == ATL_TPM_ALG_SHA1 && !pol_bool(v->sec, "allow_sha1")) {
		CHECK(v->ar, "quote_bank", false, "SHA-1 PCR bank refused (allow_sha1 not set)");
		return ATL_OK;
	}
	for (size_t i = 0; i < v->e->n_quotes; i++) {
		if (v->e->q[i].pcrs.hash == bank)
			v->q = &v->e->q[i];
	}
	if (v->q == NULL) {
		CHECK(v->ar, "quote_bank", false, "no quote over the %s bank",
		      atl_tpm_hash_name(bank));
		return ATL_OK;
	}
	CHECK(v->ar, "quote_bank", true, "%s bank (%zu quote(s) offered)", atl_tpm_hash_name(bank),
	      v->e->n_quotes);
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err check_quote(struct vctx *v)
{
	struct atl_tpm_sig sig;
	uint8_t dg[64];
	size_t dg_len = 0;
	uint32_t sel_mask = 0;
	bool sel_ok = true;
	enum atl_err rc = ATL_E_INTERNAL, prc;

	prc = atl_tpm_attest_parse(v->q->attest, v->q->attest_len, &v->at);
	if (prc != ATL_OK) {
		CHECK(v->ar, "quote_parse", false, "TPMS_ATTEST does not parse (%s)",
		      atl_err_name(prc));
		return ATL_OK;
	}
	v->at_ok = true;
	/* Part 2 §10.12.12; go-attestation PR #112: TPM2_Sign cannot fake this. */
	CHECK(v->ar, "quote_magic", v->at.magic == ATL_TPM_GENERATED_VALUE, "magic 0x%08x",
	      v->at.magic);
	CHECK(v->ar, "quote_type", v->at.type == ATL_TPM_ST_ATTEST_QUOTE, "type 0x%04x",
	      v->at.type);
	prc = atl_tpm_sig_parse(v->q->sig, v->q->sig_len, &sig);
	if (prc != ATL_OK) {
		CHECK(v->ar, "signature", false, "TPMT_SIGNATURE does not parse (%s)",
		      atl_err_name(prc));
	} else if (v->ak_key == NULL) {
		CHECK(v->ar, "signature", false, "no usable AK");
	} else {
		prc = v->e->ak_pub != NULL
			      ? atl_tpm_sig_verify(&v->ak, &sig, v->q->attest, v->q->attest_len)
			      : atl_tpm_sig_verify_key(v->ak_key, &sig, v->q->attest,
						       v->q->attest_len);
		CHECK(v->ar, "signature", prc == ATL_OK, "%s quote signature by the AK: %s",
		      sig.alg == ATL_TPM_ALG_ECDSA ? "ECDSA" : "RSA",
		      prc == ATL_OK ? "valid" : atl_err_name(prc));
	}
	if (v->at.type != ATL_TPM_ST_ATTEST_QUOTE)
		return ATL_OK;

	/* The PCR values offered must be exactly the quoted ones
	 * (CVE-2022-0317; go-tpm-tools validatePCRDigest). */
	for (size_t i = 0; i < v->at.n_sel; i++) {
		if (v->at.sel[i].hash != v->q->pcrs.hash)
			sel_ok = false;
		else
			sel_mask |= v->at.sel[i].mask;
	}
	if (sel_mask == 0)
		CHECK(v->ar, "pcr_selection", false, "the quote covers no PCR");
	else if (!sel_ok || sel_mask != v->q->pcrs.present)
		CHECK(v->ar, "pcr_selection", false,
		      "PCR values offered (0x%06x) differ from the quoted selection (0x%06x)",
		      v->q->pcrs.present, sel_mask);
	else
		CHECK(v->ar, "pcr_selection", true, "%s PCRs 0x%06x",
		      atl_tpm_hash_name(v->q->pcrs.hash), sel_mask);
	/* pcrDigest uses the signing scheme's hash (Part 3 §18.4). */
	prc = atl_tpm_pcr_digest(sig.hash != 0 ? sig.hash : ATL_TPM_ALG_SHA256, v->at.sel,
				 v->at.n_sel, &v->q->pcrs, 1, dg, &dg_len);
	if (prc != ATL_OK)
		CHECK(v->ar, "pcr_digest", false, "cannot recompute pcrDigest (%s)",
		      atl_err_name(prc));
	else
		CHECK(v->ar, "pcr_digest",
		      dg_len == v->at.pcr_digest_len &&
			      atl_ct_eq(dg, v->at.pcr_digest, dg_len),
		      "pcrDigest recomputed from the offered PCR values");
	ATL_TRY(atl_ar_set_hex(v->ar, "pcr_digest", v->at.pcr_digest, v->at.pcr_digest_len));
	CHECK(v->ar, "clock", v->at.safe <= 1, "clock %llu ms, resets %u, restarts %u, safe %u",
	      (unsigned long long)v->at.clock, v->at.reset_count, v->at.restart_count,
	      v->at.safe);
	ATL_TRY(atl_ar_set_hex(v->ar, "report_data", v->at.extra, v->at.extra_len));
	rc = ATL_OK;
out:
	return rc;
}

/* Quoted value of PCR i in the chosen bank, or NULL when not quoted. */
static const uint8_t *quoted_pcr(const struct vctx *v, unsigned i)
{
	if (v->q == NULL || !v->at_ok || !(v->q->pcrs.present & (1u << i)))
		return NULL;
	for (size_t k = 0; k < v->at.n_sel; k++) {
		if (v->at.sel[k].hash == v->q->pcrs.hash && (v->at.sel[k].mask & (1u << i)))
			return v->q->pcrs.value[i];
	}
	return NULL;
}

static enum atl_err check_pcr_policy(struct vctx *v)
{
	const json_t *pcrs = json_object_get(v->sec, "pcrs");
	const char *k;
	json_t *val;
	size_t hl = atl_tpm_hash_len(policy_bank(v->sec));
	enum atl_err rc = ATL_E_INTERNAL;

	if (pcrs == NULL)
		return ATL_OK;
	json_object_foreach((json_t *)pcrs, k, val) {
		unsigned idx = (unsigned)strtoul(k, NULL, 10);
		uint8_t want[64];
		const uint8_t *got = quoted_pcr(v, idx);

		ATL_TRY(atl_hex_decode_exact(json_string_value(val), json_string_length(val), want,
					     hl));
		if (got == NULL) {
			CHECK(v->ar, "pcr_policy", false, "PCR %u required by the policy is not quoted",
			      idx);
			return ATL_OK;
		}
		if (!atl_ct_eq(got, want, hl)) {
			CHECK(v->ar, "pcr_policy", false, "PCR %u differs from the policy", idx);
			return ATL_OK;
		}
	}
	CHECK(v->ar, "pcr_policy", true, "%zu PCR value(s) as the policy expects",
	      json_object_size(pcrs));
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err check_measurement(struct vctx *v)
{
	uint8_t want[32];
	const uint8_t *got;
	const json_t *mp = json_object_get(v->sec, "measurement_pcr");
	enum atl_err rc = ATL_E_INTERNAL;

	if (v->e->meas_pcr < 0)
		return ATL_OK; /* foreign evidence carries no Atoll measurement */
	if (mp != NULL && json_integer_value(mp) != v->e->meas_pcr) {
		CHECK(v->ar, "measurement", false, "measurement in PCR %d, policy wants PCR %d",
		      v->e->meas_pcr, (int)json_integer_value(mp));
		return ATL_OK;
	}
	got = v->q != NULL && v->q->pcrs.hash == ATL_TPM_ALG_SHA256
		      ? quoted_pcr(v, (unsigned)v->e->meas_pcr)
		      : NULL;
	ATL_TRY(atl_tpm_expected_pcr(v->e->meas, v->e->meas_len, want));
	if (got == NULL)
		CHECK(v->ar, "measurement", false, "PCR %d (sha256) is not quoted", v->e->meas_pcr);
	else
		CHECK(v->ar, "measurement", atl_ct_eq(got, want, sizeof(want)),
		      "measurement replayed into PCR %d %s the quoted value", v->e->meas_pcr,
		      atl_ct_eq(got, want, sizeof(want)) ? "matches" : "does not match");
	ATL_TRY(atl_ar_set_hex(v->ar, "measurement", v->e->meas, v->e->meas_len));
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err check_event_log(struct vctx *v)
{
	struct atl_tpm_pcrs *rep = NULL;
	struct atl_tpm_evlog_result res;
	uint32_t compared = 0, mismatch = 0, unquoted;
	enum atl_err rc = ATL_E_INTERNAL, prc;

	if (v->e->evlog == NULL) {
		if (pol_bool(v->sec, "require_event_log"))
			CHECK(v->ar, "event_log", false, "the policy requires an event log");
		return ATL_OK;
	}
	if (v->q == NULL)
		return ATL_OK;
	rep = malloc(sizeof(*rep));
	if (rep == NULL)
		return ATL_E_NOMEM;
	prc = atl_tpm_evlog_replay(v->e->evlog, v->e->evlog_len, v->q->pcrs.hash, rep, &res);
	if (prc != ATL_OK) {
		CHECK(v->ar, "event_log", false, "event log does not replay (%s)", atl_err_name(prc));
		rc = ATL_OK;
		goto out;
	}
	size_t hl = atl_tpm_hash_len(v->q->pcrs.hash);
	for (unsigned i = 0; i < ATL_TPM_PCRS; i++) {
		const uint8_t *got = quoted_pcr(v, i);

		if (!(res.covered & (1u << i)) || got == NULL)
			continue;
		compared |= 1u << i;
		if (!atl_ct_eq(got, rep->value[i], hl))
			mismatch |= 1u << i;
	}
	unquoted = res.covered & ~compared;
	if (mismatch != 0)
		CHECK(v->ar, "event_log", false,
		      "replay of %zu events differs from quoted PCRs 0x%06x", res.n_events,
		      mismatch);
	else if (compared == 0)
		CHECK(v->ar, "event_log", false, "the quote covers no PCR the event log extends");
	else if (!res.types_ok)
		CHECK(v->ar, "event_log", false, "event log replays but is malformed: %s", res.why);
	else
		CHECK(v->ar, "event_log", true,
		      "%zu events replay to quoted PCRs 0x%06x (unquoted, not trusted: 0x%06x)",
		      res.n_events, compared, unquoted);
	rc = ATL_OK;
out:
	free(rep);
	return rc;
}

/* Pinned AK: by TPM name (hex) or by public key (PEM). */
static bool ak_pinned(const struct vctx *v)
{
	const json_t *names = json_object_get(v->sec, "ak_names");
	const json_t *keys = json_object_get(v->sec, "ak_keys");
	size_t i;
	json_t *s;

	json_array_foreach(names, i, s) {
		uint8_t nm[ATL_TPM_NAME_MAX_LEN];
		size_t n = 0;

		if (v->ak.name_len > 0 &&
		    atl_hex_decode(json_string_value(s), json_string_length(s), nm, sizeof(nm),
				   &n) == ATL_OK &&
		    n == v->ak.name_len && memcmp(nm, v->ak.name, n) == 0)
			return true;
	}
	json_array_foreach(keys, i, s) {
		struct atl_pubkey *k = NULL;
		bool eq = false;

		if (v->ak_key != NULL &&
		    atl_pubkey_parse((const uint8_t *)json_string_value(s), json_string_length(s),
				     &k) == ATL_OK)
			eq = atl_pubkey_equal(k, v->ak_key) == ATL_OK;
		atl_pubkey_free(k);
		if (eq)
			return true;
	}
	return false;
}

static enum atl_err check_ak_trust(struct vctx *v)
{
	struct atl_x509_list *roots = NULL, *inter = NULL;
	struct atl_x509 *leaf = NULL;
	struct atl_pubkey *ck = NULL;
	char why[256] = "";
	enum atl_err rc = ATL_E_INTERNAL, prc;

	if (v->ak_key == NULL) {
		CHECK(v->ar, "ak_trust", false, "no usable AK");
		return ATL_OK;
	}
	if (v->e->hcl != NULL) {
		CHECK(v->ar, "ak_trust", v->azure_ak_ok,
		      v->azure_ak_ok ? "HCLAkPub bound to a verified hardware report"
				     : "HCLAkPub not vouched for by a verified hardware report");
		return ATL_OK;
	}
	prc = load_roots(v->in, &roots);
	if (prc == ATL_OK)
		prc = load_intermediates(v->in, v->sec, v->e, &inter);
	if (prc != ATL_OK) {
		CHECK(v->ar, "ak_trust", false, "trust anchors or intermediates unusable (%s)",
		      atl_err_name(prc));
		rc = ATL_OK;
		goto out;
	}
	if (v->e->ak_cert != NULL) {
		/* Path 1: AK certificate (GCE), its key equal to the quoted AK. */
		prc = chain_ok(v->e->ak_cert, v->e->ak_cert_len, inter, roots, v->in->now, &leaf,
			       why, sizeof(why));
		if (prc == ATL_OK) {
			prc = atl_x509_pubkey(leaf, &ck);
			if (prc == ATL_OK && atl_pubkey_equal(ck, v->ak_key) != ATL_OK) {
				prc = ATL_E_AUTH;
				(void)snprintf(why, sizeof(why), "AK certificate is for another key");
			}
		}
		CHECK(v->ar, "ak_trust", prc == ATL_OK, "AK certificate: %s",
		      prc == ATL_OK ? "chains to a pinned root" : why);
	} else if (v->e->activation != NULL) {
		/* Path 2: activation record for an EK whose certificate chains. */
		const json_t *keys = json_object_get(v->sec, "activation_keys");
		uint8_t fp[32];
		bool signed_ok = false;
		size_t i;
		json_t *s;

		if (v->e->ek_cert == NULL || v->ak.name_len == 0) {
			CHECK(v->ar, "ak_trust", false,
			      "activation record without EK certificate or AK public area");
			rc = ATL_OK;
			goto out;
		}
		prc = chain_ok(v->e->ek_cert, v->e->ek_cert_len, inter, roots, v->in->now, &leaf,
			       why, sizeof(why));
		if (prc != ATL_OK) {
			CHECK(v->ar, "ak_trust", false, "EK certificate: %s", why);
			rc = ATL_OK;
			goto out;
		}
		ATL_TRY(atl_hash(ATL_HASH_SHA256, v->e->ek_cert, v->e->ek_cert_len, fp));
		json_array_foreach(keys, i, s) {
			struct atl_pubkey *k = NULL;

			if (atl_pubkey_parse((const uint8_t *)json_string_value(s),
					     json_string_length(s), &k) == ATL_OK &&
			    atl_tpm_activation_verify(v->e->activation, k, v->ak.name,
						      v->ak.name_len, fp) == ATL_OK)
				signed_ok = true;
			atl_pubkey_free(k);
		}
		if (signed_ok && json_object_get(v->sec, "activation_max_age_s") != NULL) {
			/* Activation is re-done at least this often (island re-registration). */
			int64_t max = json_integer_value(json_object_get(v->sec,
									 "activation_max_age_s"));
			int64_t at = json_integer_value(json_object_get(v->e->activation,
									"issued_at"));
			int64_t age = v->in->now - at;

			if (age > max || age < -(int64_t)ATL_ATTEST_SKEW_MAX) {
				CHECK(v->ar, "ak_trust", false,
				      "activation record issued %lld s ago, outside "
				      "activation_max_age_s %lld",
				      (long long)age, (long long)max);
				rc = ATL_OK;
				goto out;
			}
		}
		CHECK(v->ar, "ak_trust", signed_ok,
		      signed_ok ? "AK activated against an EK whose certificate chains to a "
				  "pinned root"
				: "AK not activated: no valid activation record for this AK and EK "
				  "by a pinned activation key");
	} else if (ak_pinned(v)) {
		CHECK(v->ar, "ak_trust", true, "AK pinned by the policy");
	} else {
		CHECK(v->ar, "ak_trust", false,
		      "AK not trusted: no AK certificate, no activation record, not pinned");
	}
	rc = ATL_OK;
out:
	atl_pubkey_free(ck);
	atl_x509_free(leaf);
	atl_x509_list_free(roots);
	atl_x509_list_free(inter);
	return rc;
}

/* A verifier's freshness countersignature (atl_tpm_countersign): when it
 * verifies under a pinned activation key for this AK and this quote's
 * qualifying data, its issued_at becomes the evidence's time (the
 * dispatcher's age check). A record that does not verify refuses. */
static enum atl_err check_freshness(struct vctx *v)
{
	const json_t *keys = json_object_get(v->sec, "activation_keys"), *s;
	int64_t t = 0;
	bool ok = false;
	size_t i;
	enum atl_err rc = ATL_E_INTERNAL;

	if (v->e->freshness == NULL)
		return ATL_OK;
	if (!v->at_ok || v->ak.name_len == 0) {
		CHECK(v->ar, "freshness", false, "freshness record without a parsed quote and AK");
		return ATL_OK;
	}
	json_array_foreach(keys, i, s) {
		struct atl_pubkey *k = NULL;

		if (atl_pubkey_parse((const uint8_t *)json_string_value(s), json_string_length(s),
				     &k) == ATL_OK &&
		    tpm_freshness_verify(v->e->freshness, k, v->ak.name, v->ak.name_len,
					 v->at.extra, v->at.extra_len, &t) == ATL_OK)
			ok = true;
		atl_pubkey_free(k);
		if (ok)
			break;
	}
	if (ok) {
		CHECK(v->ar, "freshness", true,
		      "quote countersigned by a pinned activation key at %lld", (long long)t);
		ATL_TRY(atl_ar_set_int(v->ar, "issued_at", t));
	} else {
		CHECK(v->ar, "freshness", false,
		      "freshness record not signed by a pinned activation key for this quote");
	}
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err atl_tpm_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			    const uint8_t *expected, size_t expected_len, struct atl_ar *ar)
{
	struct vctx v;
	char why[200] = "";
	enum atl_err rc = ATL_E_INTERNAL;

	memset(&v, 0, sizeof(v));
	if (ev == NULL || in == NULL || ar == NULL)
		return ATL_E_ARG;
	v.in = in;
	v.ar = ar;
	v.sec = atl_policy_section(in->policy, "tpm");
	if (atl_tpm_policy_validate(v.sec, why, sizeof(why)) != ATL_OK) {
		CHECK(ar, "tpm_policy", false, "%s", why);
		return ATL_OK;
	}
	rc = tpm_ev_decode(ev, ev_len, &v.e);
	if (rc != ATL_OK)
		return rc;
	CHECK(ar, "tpm_format", true, "%s evidence", v.e->format);
	if (v.e->hcl != NULL)
		ATL_TRY(tpm_azure_verify(v.e, in, expected, expected_len, ar, &v.azure_ak_ok));
	if (v.e->ak_pub == NULL && v.e->ak_spki == NULL) {
		CHECK(ar, "ak_public", false, "the evidence carries no AK");
		rc = ATL_OK;
		goto out;
	}
	ATL_TRY(check_ak(&v));
	ATL_TRY(check_quote_bank(&v));
	if (v.q != NULL)
		ATL_TRY(check_quote(&v));
	if (expected != NULL) {
		bool ok = v.at_ok && v.at.extra_len == expected_len &&
			  atl_ct_eq(v.at.extra, expected, expected_len);

		CHECK(ar, "nonce", ok, ok ? "qualifying data equals the expected value"
					  : "qualifying data differs from the expected value "
					    "(stale or replayed quote)");
	}
	ATL_TRY(check_pcr_policy(&v));
	ATL_TRY(check_measurement(&v));
	ATL_TRY(check_event_log(&v));
	ATL_TRY(check_ak_trust(&v));
	ATL_TRY(check_freshness(&v));
	ATL_TRY(atl_ar_set_bool(ar, "debug", false));
	rc = ATL_OK;
out:
	if (v.ak_key_owned)
		atl_pubkey_free(v.ak_key);
	atl_tpm_public_clear(&v.ak);
	tpm_ev_free(v.e);
	return rc;
}

static enum atl_err tpm_verify_op(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
				  struct atl_ar *ar)
{
	return atl_tpm_verify(ev, ev_len, in, NULL, 0, ar);
}

/* ---- measurement helpers ---- */

enum atl_err atl_tpm_measurement_event(const uint8_t *meas, size_t meas_len,
				       uint8_t digest_out[32])
{
	struct atl_hash_ctx *h = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (meas == NULL || meas_len == 0 || meas_len > 64)
		return ATL_E_ARG;
	ATL_TRY(atl_hash_new(ATL_HASH_SHA256, &h));
	ATL_TRY(atl_hash_update(h, MEAS_LABEL, strlen(MEAS_LABEL)));
	ATL_TRY(atl_hash_update(h, meas, meas_len));
	ATL_TRY(atl_hash_final(h, digest_out));
	rc = ATL_OK;
out:
	atl_hash_free(h);
	return rc;
}

enum atl_err atl_tpm_expected_pcr(const uint8_t *meas, size_t meas_len, uint8_t pcr_out[32])
{
	uint8_t buf[64];
	enum atl_err rc = ATL_E_INTERNAL;

	/* PCR 23 after TPM2_PCR_Reset is zero; one extend: H(0^32 || event). */
	memset(buf, 0, 32);
	ATL_TRY(atl_tpm_measurement_event(meas, meas_len, buf + 32));
	ATL_TRY(atl_hash(ATL_HASH_SHA256, buf, sizeof(buf), pcr_out));
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err atl_tpm_policy_init(const uint8_t *meas, size_t meas_len, int pcr,
				 json_t **section_out)
{
	uint8_t v[32];
	char hex[65], key[8];
	enum atl_err rc = ATL_E_INTERNAL;

	*section_out = NULL;
	if (pcr < 0 || pcr >= ATL_TPM_PCRS)
		return ATL_E_ARG;
	ATL_TRY(atl_tpm_expected_pcr(meas, meas_len, v));
	ATL_TRY(atl_hex_encode(v, sizeof(v), hex, sizeof(hex)));
	(void)snprintf(key, sizeof(key), "%d", pcr);
	*section_out = json_pack("{s:s, s:i, s:{s:s}}", "pcr_bank", "sha256", "measurement_pcr",
				 pcr, "pcrs", key, hex);
	rc = *section_out != NULL ? ATL_OK : ATL_E_NOMEM;
out:
	return rc;
}

/* ---- backend table ---- */

static bool tpm_detect(void)
{
	return access("/dev/tpmrm0", R_OK | W_OK) == 0;
}

const struct atl_tee_ops atl_tee_tpm = {
	.name = "tpm",
	.detect = tpm_detect,
	.evidence = atl_tpm_evidence,
	.verify = tpm_verify_op,
};
