/* The evidence wrapper and the dispatcher; see include/atoll/verify.h.
 *
 * Parse (the wrapper, within limits) → backend verify (authenticity, claims)
 * → appraisal against the policy. Each step records a check with a reason;
 * nothing is accepted unless every check passed (fail closed). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/attest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/verify.h"
#include "attest/nitro.h"

#define SHOW_MAX 80

static enum atl_err fail(enum atl_err rc, char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum atl_err fail(enum atl_err rc, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const char *show(const char *s, char buf[SHOW_MAX])
{
	(void)atl_log_escape(s, strnlen(s, 64), buf, SHOW_MAX);
	return buf;
}

/* ---- wrapper ---- */

void atl_evidence_clear(struct atl_evidence *ev)
{
	if (ev == NULL)
		return;
	free(ev->native);
	memset(ev, 0, sizeof(*ev));
}

enum atl_err atl_evidence_parse(const uint8_t *buf, size_t len, struct atl_evidence *ev_out,
				char *why, size_t why_cap)
{
	static const char *const keys[] = {"v", "tee", "enclave_key", "nonce", "evidence", NULL};
	json_t *o = NULL, *v;
	const char *bad = NULL, *s;
	char b[SHOW_MAX];
	uint8_t *key = NULL;
	size_t key_len = 0, slen;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(ev_out, 0, sizeof(*ev_out));
	if (why != NULL && why_cap > 0)
		why[0] = '\0';
	if (buf == NULL || len == 0) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: empty");
		goto out;
	}
	if (len > ATL_ATTEST_EVIDENCE_MAX) {
		rc = fail(ATL_E_LIMIT, why, why_cap, "evidence: larger than %u bytes",
			  ATL_ATTEST_EVIDENCE_MAX);
		goto out;
	}
	rc = atl_json_parse((const char *)buf, len, &o);
	if (rc != ATL_OK) {
		rc = fail(rc == ATL_E_LIMIT ? ATL_E_LIMIT : ATL_E_FORMAT, why, why_cap,
			  "evidence: not valid JSON (truncated, nested too deeply, or trailing data)");
		goto out;
	}
	if (!json_is_object(o)) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: must be a JSON object");
		goto out;
	}
	if (atl_json_check_keys(o, keys, &bad) != ATL_OK) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: unknown field '%s'",
			  show(bad != NULL ? bad : "?", b));
		goto out;
	}
	for (size_t i = 0; keys[i] != NULL; i++) {
		if (json_object_get(o, keys[i]) == NULL) {
			rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: missing field '%s'",
				  keys[i]);
			goto out;
		}
	}
	v = json_object_get(o, "v");
	if (!json_is_integer(v)) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: v must be an integer");
		goto out;
	}
	if (json_integer_value(v) != ATL_EVIDENCE_VERSION) {
		rc = fail(ATL_E_UNSUPPORTED, why, why_cap, "evidence: unsupported version %lld",
			  (long long)json_integer_value(v));
		goto out;
	}
	if (atl_json_get_str(o, "tee", &s) != ATL_OK) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: tee must be a string");
		goto out;
	}
	ev_out->tee = atl_policy_tee_name(s);
	if (ev_out->tee == NULL) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: unknown TEE kind '%s'", show(s, b));
		goto out;
	}
	rc = atl_json_get_b64(o, "enclave_key", ATL_X25519_LEN, &key, &key_len);
	if (rc != ATL_OK || key_len != ATL_X25519_LEN) {
		rc = fail(ATL_E_FORMAT, why, why_cap,
			  "evidence: enclave_key must be base64 of a %u-byte X25519 key",
			  ATL_X25519_LEN);
		goto out;
	}
	memcpy(ev_out->enclave_key, key, ATL_X25519_LEN);
	if (atl_json_get_str(o, "nonce", &s) != ATL_OK ||
	    (slen = json_string_length(json_object_get(o, "nonce"))) == 0 ||
	    slen > 2 * ATL_ATTEST_NONCE_MAX ||
	    atl_hex_decode(s, slen, ev_out->nonce, sizeof(ev_out->nonce), &ev_out->nonce_len) !=
		    ATL_OK) {
		rc = fail(ATL_E_FORMAT, why, why_cap, "evidence: nonce must be hex of 1 to %u bytes",
			  ATL_ATTEST_NONCE_MAX);
		goto out;
	}
	rc = atl_json_get_b64(o, "evidence", ATL_ATTEST_EVIDENCE_MAX, &ev_out->native,
			      &ev_out->native_len);
	if (rc != ATL_OK || ev_out->native_len == 0) {
		rc = fail(ATL_E_FORMAT, why, why_cap,
			  "evidence: evidence must be non-empty base64 (native evidence)");
		goto out;
	}
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_evidence_clear(ev_out);
	free(key);
	json_decref(o);
	return rc;
}

enum atl_err atl_evidence_wrap(const char *tee, const uint8_t enclave_pub[ATL_X25519_LEN],
			       const uint8_t *nonce, size_t nonce_len, const uint8_t *native,
			       size_t native_len, char **json_out)
{
	char *key_b64 = NULL, *nonce_hex = NULL, *ev_b64 = NULL, *txt = NULL;
	json_t *o = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*json_out = NULL;
	if (!atl_policy_is_tee_name(tee) || enclave_pub == NULL || nonce == NULL ||
	    nonce_len == 0 || nonce_len > ATL_ATTEST_NONCE_MAX || native == NULL ||
	    native_len == 0 || native_len > ATL_ATTEST_EVIDENCE_MAX) {
		rc = ATL_E_ARG;
		goto out;
	}
	ATL_TRY(atl_b64_encode(enclave_pub, ATL_X25519_LEN, ATL_B64_STD, &key_b64));
	ATL_TRY(atl_hex_encode_alloc(nonce, nonce_len, &nonce_hex));
	ATL_TRY(atl_b64_encode(native, native_len, ATL_B64_STD, &ev_b64));
	o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", ATL_EVIDENCE_VERSION, "tee", tee,
		      "enclave_key", key_b64, "nonce", nonce_hex, "evidence", ev_b64);
	if (o == NULL || (txt = atl_json_dump(o)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	/* What we hand out must be what a verifier accepts. */
	if (strlen(txt) > ATL_ATTEST_EVIDENCE_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	*json_out = txt;
	txt = NULL;
	rc = ATL_OK;
out:
	free(key_b64);
	free(nonce_hex);
	free(ev_b64);
	free(txt);
	json_decref(o);
	return rc;
}

enum atl_err atl_evidence_produce(const char *tee, const json_t *cfg,
				  const uint8_t enclave_pub[ATL_X25519_LEN], const uint8_t *nonce,
				  size_t nonce_len, char **json_out)
{
	const struct atl_tee_ops *ops = atl_tee_find(tee);
	uint8_t rd[ATL_REPORT_DATA_LEN];
	uint8_t *native = NULL;
	size_t native_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*json_out = NULL;
	if (ops == NULL) {
		rc = ATL_E_NOTFOUND;
		goto out;
	}
	if (ops->evidence == NULL) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (enclave_pub == NULL || nonce == NULL || nonce_len == 0 ||
	    nonce_len > ATL_ATTEST_NONCE_MAX) {
		rc = ATL_E_ARG;
		goto out;
	}
	ATL_TRY(atl_attest_binding(enclave_pub, ATL_X25519_LEN, nonce, nonce_len, rd));
	ATL_TRY(ops->evidence(cfg, rd, &native, &native_len));
	ATL_TRY(atl_evidence_wrap(ops->name, enclave_pub, nonce, nonce_len, native, native_len,
				  json_out));
	rc = ATL_OK;
out:
	free(native);
	return rc;
}

/* ---- dispatcher ---- */

/* Recording a check only fails for lack of memory, and then the result is
 * already contraindicated (result.c latches it); remember it for the return. */
struct rec {
	struct atl_ar *ar;
	enum atl_err mem;
};

static void check(struct rec *r, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(struct rec *r, const char *name, bool ok, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (atl_ar_check(r->ar, name, ok, "%s", detail) != ATL_OK)
		r->mem = ATL_E_NOMEM;
}

static void warn(struct rec *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn(struct rec *r, const char *name, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (atl_ar_warn(r->ar, name, "%s", detail) != ATL_OK)
		r->mem = ATL_E_NOMEM;
}

static void claim(struct rec *r, enum atl_err rc)
{
	if (rc != ATL_OK)
		r->mem = ATL_E_NOMEM;
}

static void appraise_measurement(struct rec *r, const json_t *policy, const char *tee)
{
	const char *m = json_string_value(atl_ar_get(r->ar, "measurement"));

	if (m == NULL) {
		check(r, "measurement", false, "the evidence carries no measurement");
		return;
	}
	if (policy == NULL) {
		warn(r, "measurement", "no policy: measurement %.96s not appraised", m);
		return;
	}
	if (atl_policy_measurements(policy, tee) == NULL) {
		check(r, "measurement", false, "the policy lists no measurement for %s", tee);
		return;
	}
	if (atl_policy_measurement_listed(policy, tee, m))
		check(r, "measurement", true, "measurement %.96s is listed", m);
	else
		check(r, "measurement", false, "measurement %.96s is not listed in the policy", m);
}

static void appraise_debug(struct rec *r, const json_t *policy)
{
	const json_t *d = atl_ar_get(r->ar, "debug");

	if (!json_is_boolean(d))
		check(r, "debug", false, "the evidence does not say whether the TEE is in debug mode");
	else if (json_is_false(d))
		check(r, "debug", true, "not a debug TEE");
	else if (atl_policy_allow_debug(policy))
		warn(r, "debug", "debug TEE (its memory is readable by the host), allowed by policy");
	else
		check(r, "debug", false, "debug TEE (its memory is readable by the host); "
					 "policy does not allow debug");
}

static void appraise_age(struct rec *r, const json_t *policy, int64_t now, bool nonce_matched)
{
	const json_t *t = atl_ar_get(r->ar, "issued_at");
	int64_t max_age = atl_policy_max_age(policy), issued, age;

	if (t == NULL) {
		if (nonce_matched)
			check(r, "age", true, "no time in the evidence; fresh by the verifier's nonce");
		else
			check(r, "age", false, "no time in the evidence and no matching verifier "
					       "nonce: freshness unknown");
		return;
	}
	if (!json_is_integer(t)) {
		check(r, "age", false, "issued_at is not a time");
		return;
	}
	issued = (int64_t)json_integer_value(t);
	if (__builtin_sub_overflow(now, issued, &age)) {
		check(r, "age", false, "issued_at %lld is out of range", (long long)issued);
		return;
	}
	if (age < -(int64_t)ATL_ATTEST_SKEW_MAX)
		check(r, "age", false, "issued %lld s in the future (allowed skew %d s)",
		      (long long)-age, ATL_ATTEST_SKEW_MAX);
	else if (age > max_age)
		check(r, "age", false, "stale: issued %lld s ago, policy max_age_s is %lld",
		      (long long)age, (long long)max_age);
	else
		check(r, "age", true, "issued %lld s ago (max_age_s %lld)", (long long)age,
		      (long long)max_age);
}

static void appraise_binding(struct rec *r, const struct atl_evidence *ev)
{
	const json_t *c = atl_ar_get(r->ar, "report_data");
	uint8_t want[ATL_REPORT_DATA_LEN], got[ATL_REPORT_DATA_LEN];
	size_t got_len = 0;

	if (!json_is_string(c) ||
	    atl_hex_decode(json_string_value(c), json_string_length(c), got, sizeof(got),
			   &got_len) != ATL_OK ||
	    (got_len != ATL_REPORT_DATA_LEN && got_len != 32)) {
		check(r, "report_data", false, "the evidence carries no usable report data");
		return;
	}
	if (atl_attest_binding(ev->enclave_key, sizeof(ev->enclave_key), ev->nonce, ev->nonce_len,
			       want) != ATL_OK) {
		check(r, "report_data", false, "cannot compute the binding");
		return;
	}
	/* DESIGN §4: a TEE with a 32-byte slot carries the first 32 bytes. */
	if (atl_ct_eq(got, want, got_len))
		check(r, "report_data", true,
		      "binds the enclave key and nonce (SHA-512 \"%s\" || key || nonce%s)",
		      ATL_BINDING_LABEL, got_len == 32 ? ", first 32 bytes" : "");
	else
		check(r, "report_data", false,
		      "does not bind this enclave key and nonce (evidence replayed or key swapped)");
}

enum atl_err atl_verify_evidence(const uint8_t *wrapper, size_t wrapper_len, const json_t *policy,
				 const uint8_t *expected_nonce, size_t expected_nonce_len,
				 int64_t now, const char *const *anchors, struct atl_ar **ar_out)
{
	struct atl_evidence ev = {0};
	struct rec r = {NULL, ATL_OK};
	const struct atl_tee_ops *ops;
	struct atl_verify_in in = {now, policy, anchors, NULL};
	char why[256], kid[ATL_KEY_ID_LEN];
	char *key_b64 = NULL;
	bool is_sim, listed, nonce_matched = false;
	enum atl_err rc, brc = ATL_OK;

	*ar_out = NULL;
	r.ar = atl_ar_new("unknown");
	if (r.ar == NULL)
		return ATL_E_NOMEM;
	*ar_out = r.ar;

	rc = atl_evidence_parse(wrapper, wrapper_len, &ev, why, sizeof(why));
	if (rc != ATL_OK) {
		check(&r, "format", false, "%s", why);
		goto out;
	}
	check(&r, "format", true, "evidence wrapper v%d for TEE %s", ATL_EVIDENCE_VERSION, ev.tee);
	claim(&r, atl_ar_set_str(r.ar, "tee", ev.tee));
	claim(&r, atl_b64_encode(ev.enclave_key, sizeof(ev.enclave_key), ATL_B64_STD, &key_b64));
	if (key_b64 != NULL)
		claim(&r, atl_ar_set_str(r.ar, "enclave_key", key_b64));
	claim(&r, atl_key_id("ek_", ev.enclave_key, kid));
	claim(&r, atl_ar_set_str(r.ar, "enclave_kid", kid));
	claim(&r, atl_ar_set_hex(r.ar, "nonce", ev.nonce, ev.nonce_len));

	ops = atl_tee_find(ev.tee);
	if (ops == NULL || ops->verify == NULL) {
		check(&r, "backend", false, "no verifier for TEE kind %s in this build", ev.tee);
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	check(&r, "backend", true, "verifier %s", ops->name);

	/* Policy on the TEE kind. The default policy takes hardware kinds only. */
	is_sim = strcmp(ev.tee, "sim") == 0;
	listed = policy != NULL ? atl_policy_lists_tee(policy, ev.tee) : !is_sim;
	if (listed)
		check(&r, "tee_type", true, "%s is allowed by the %s", ev.tee,
		      policy != NULL ? "policy" : "default policy");
	else
		check(&r, "tee_type", false, "%s is not in the %s tee_types", ev.tee,
		      policy != NULL ? "policy's" : "default policy's");
	if (is_sim) {
		if (atl_policy_allow_sim(policy))
			check(&r, "allow_sim", true, "policy sets allow_sim");
		else
			check(&r, "allow_sim", false, "sim evidence needs a policy with allow_sim: true");
	}

	/* Authenticity and claims, by the backend. */
	brc = ops->verify(ev.native, ev.native_len, &in, r.ar);
	if (brc != ATL_OK) {
		check(&r, "evidence", false, "native %s evidence is malformed (%s)", ev.tee,
		      atl_strerror(brc));
		goto appraised;
	}
	if (atl_ar_get(r.ar, "measurement") == NULL) {
		check(&r, "appraisal", false, "skipped: the evidence did not verify");
		goto appraised;
	}

	/* Appraisal of the verified claims. */
	if (expected_nonce != NULL)
		nonce_matched = expected_nonce_len == ev.nonce_len &&
				atl_ct_eq(expected_nonce, ev.nonce, ev.nonce_len);
	appraise_measurement(&r, policy, ev.tee);
	appraise_debug(&r, policy);
	appraise_age(&r, policy, now, nonce_matched);
	appraise_binding(&r, &ev);
	/* Nitro documents may carry the enclave key and nonce in fields of
	 * their own: when present they must be the wrapper's (issue 7). */
	if (strcmp(ev.tee, "nitro") == 0)
		claim(&r, atl_nitro_check_wrapper(r.ar, ev.enclave_key, sizeof(ev.enclave_key),
						  ev.nonce, ev.nonce_len));
	if (expected_nonce == NULL)
		warn(&r, "nonce", "no expected nonce given: freshness rests on the age alone");
	else if (nonce_matched)
		check(&r, "nonce", true, "matches the verifier's nonce");
	else
		check(&r, "nonce", false, "differs from the verifier's nonce (replayed evidence?)");
appraised:
	rc = ATL_OK;
	if (atl_ar_status(r.ar) == ATL_AR_CONTRAINDICATED)
		rc = brc != ATL_OK ? brc : ATL_E_POLICY;
out:
	if (r.mem != ATL_OK)
		rc = r.mem;
	free(key_b64);
	atl_evidence_clear(&ev);
	return rc;
}

enum atl_err atl_verify_enclave_key(const struct atl_ar *ar, uint8_t pub_out[ATL_X25519_LEN])
{
	const json_t *k;
	uint8_t *pub = NULL;
	size_t len = 0;
	enum atl_err rc = ATL_E_POLICY;

	memset(pub_out, 0, ATL_X25519_LEN);
	if (ar == NULL || atl_ar_status(ar) == ATL_AR_CONTRAINDICATED)
		return ATL_E_POLICY;
	k = atl_ar_get(ar, "enclave_key");
	if (!json_is_string(k) ||
	    atl_b64_decode(json_string_value(k), json_string_length(k), ATL_B64_STD, &pub, &len) !=
		    ATL_OK ||
	    len != ATL_X25519_LEN)
		goto out;
	memcpy(pub_out, pub, ATL_X25519_LEN);
	rc = ATL_OK;
out:
	free(pub);
	return rc;
}
