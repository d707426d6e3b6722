/* End-to-end test of the tpm backend on two swtpm instances started by
 * tpm_swtpm.sh (ATL_SWTPM_A/B: TCTI configs; ATL_SWTPM_CA_A/B: their local
 * CAs). TPM A is the island's TPM, trusted by the policy (CA A); TPM B is
 * another machine's TPM whose EK certificate comes from CA B (untrusted).
 *
 * Happy path: AK info → credential activation (MakeCredential in software,
 * ActivateCredential on A) → activation record → evidence (measurement
 * extended into PCR 23, quote with the binding) → verification affirming.
 * Then every negative case of issue 5, each refused with the check named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "atoll/attest.h"
#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/tpm.h"
#include "atoll/verify.h"

struct fx {
	const char *tcti_a, *tcti_b;
	char *root_a, *inter_a, *root_b, *inter_b; /* PEM text */
	struct atl_privkey *coord;                 /* activation key */
	char *coord_pem;
	uint8_t meas[48], meas_changed[48];
	uint8_t rd[ATL_REPORT_DATA_LEN], rd_old[ATL_REPORT_DATA_LEN];
	json_t *policy;
	json_t *info_a, *info_b, *record_a;
	uint8_t *ev_a; /* happy evidence */
	size_t ev_a_len;
};

static struct fx F;

static char *read_text(const char *dir, const char *name)
{
	char path[1024];
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(atl_file_read(path, 1u << 16, &buf, &len), ATL_OK);
	return (char *)buf;
}

static int check_state(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;
	int st = -1;

	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			st = json_is_true(json_object_get(c, "ok")) ? 1 : 0;
	}
	json_decref(j);
	return st;
}

static void dump(const struct atl_ar *ar)
{
	json_t *j = atl_ar_to_json(ar);
	char *s = atl_json_dump_pretty(j);

	fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(j);
}

static json_t *cfg_for(const char *tcti, const uint8_t *meas, const json_t *record)
{
	char hex[97];
	json_t *c;

	assert_int_equal(atl_hex_encode(meas, 48, hex, sizeof(hex)), ATL_OK);
	c = json_pack("{s:s, s:s, s:b}", "tpm", tcti, "measurement", hex, "reset_pcr", 1);
	assert_non_null(c);
	if (record != NULL)
		assert_int_equal(json_object_set(c, "activation", (json_t *)record), 0);
	return c;
}

static uint8_t *evidence(const char *tcti, const uint8_t *meas, const json_t *record,
			 const uint8_t *rd, size_t *len)
{
	json_t *cfg = cfg_for(tcti, meas, record);
	uint8_t *ev = NULL;

	assert_int_equal(atl_tpm_evidence(cfg, rd, &ev, len), ATL_OK);
	json_decref(cfg);
	return ev;
}

static struct atl_ar *verify(const uint8_t *ev, size_t len, const json_t *policy,
			     const uint8_t *rd, enum atl_err *rc)
{
	struct atl_verify_in in = {.now = atl_time_now(), .policy = policy};
	struct atl_ar *ar = atl_ar_new("tpm");

	assert_non_null(ar);
	*rc = atl_tpm_verify(ev, len, &in, rd, 32, ar);
	return ar;
}

static void expect_refused(const uint8_t *ev, size_t len, const json_t *policy,
			   const uint8_t *rd, const char *check)
{
	enum atl_err rc;
	struct atl_ar *ar = verify(ev, len, policy, rd, &rc);

	assert_int_equal(rc, ATL_OK);
	if (check_state(ar, check) != 0)
		dump(ar);
	assert_int_equal(check_state(ar, check), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
}

static int setup(void **state)
{
	const char *ca_a = getenv("ATL_SWTPM_CA_A"), *ca_b = getenv("ATL_SWTPM_CA_B");
	struct atl_pubkey *pk = NULL;
	uint8_t pub[32], nonce[16], pcr[32];
	char pcr_hex[65], why[256];
	json_t *sec = NULL;

	(void)state;
	F.tcti_a = getenv("ATL_SWTPM_A");
	F.tcti_b = getenv("ATL_SWTPM_B");
	if (F.tcti_a == NULL || F.tcti_b == NULL || ca_a == NULL || ca_b == NULL) {
		fprintf(stderr, "run through tests/integration/tpm_swtpm.sh\n");
		return -1;
	}
	F.root_a = read_text(ca_a, "swtpm-localca-rootca-cert.pem");
	F.inter_a = read_text(ca_a, "issuercert.pem");
	F.root_b = read_text(ca_b, "swtpm-localca-rootca-cert.pem");
	F.inter_b = read_text(ca_b, "issuercert.pem");
	assert_int_equal(atl_privkey_generate_ec(384, &F.coord), ATL_OK);
	assert_int_equal(atl_privkey_public(F.coord, &pk), ATL_OK);
	assert_int_equal(atl_pubkey_to_pem(pk, &F.coord_pem), ATL_OK);
	atl_pubkey_free(pk);
	/* The enclave "binary" and a changed one. */
	assert_int_equal(atl_hash_file(ATL_HASH_SHA384, "/proc/self/exe", F.meas), ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA384, "changed enclave", 15, F.meas_changed), ATL_OK);
	/* The binding (DESIGN §4) for this session and for an older one. */
	assert_int_equal(atl_random(pub, sizeof(pub)), ATL_OK);
	assert_int_equal(atl_random(nonce, sizeof(nonce)), ATL_OK);
	assert_int_equal(atl_attest_binding(pub, sizeof(pub), nonce, sizeof(nonce), F.rd), ATL_OK);
	nonce[0] ^= 1;
	assert_int_equal(atl_attest_binding(pub, sizeof(pub), nonce, sizeof(nonce), F.rd_old),
			 ATL_OK);
	/* Policy: `atoll policy init --tee tpm` section plus anchors. */
	assert_int_equal(atl_tpm_policy_init(F.meas, sizeof(F.meas), 23, &sec), ATL_OK);
	assert_int_equal(atl_tpm_expected_pcr(F.meas, sizeof(F.meas), pcr), ATL_OK);
	assert_int_equal(atl_hex_encode(pcr, 32, pcr_hex, sizeof(pcr_hex)), ATL_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(sec, "pcrs"), "23")),
			    pcr_hex);
	assert_int_equal(json_object_set_new(sec, "activation_keys", json_pack("[s]", F.coord_pem)),
			 0);
	assert_int_equal(json_object_set_new(sec, "intermediates", json_pack("[s]", F.inter_a)), 0);
	F.policy = json_pack("{s:[s], s:{s:s}, s:o}", "tee_types", "tpm", "trust_anchors", "tpm",
			     F.root_a, "tpm", sec);
	assert_non_null(F.policy);
	if (atl_policy_validate(F.policy, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "policy: %s\n", why);
		return -1;
	}
	assert_int_equal(atl_tpm_policy_validate(sec, why, sizeof(why)), ATL_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(F.root_a);
	free(F.inter_a);
	free(F.root_b);
	free(F.inter_b);
	atl_privkey_free(F.coord);
	free(F.coord_pem);
	json_decref(F.policy);
	json_decref(F.info_a);
	json_decref(F.info_b);
	json_decref(F.record_a);
	free(F.ev_a);
	return 0;
}

static json_t *ak_info(const char *tcti)
{
	json_t *cfg = json_pack("{s:s}", "tpm", tcti), *info = NULL;

	assert_int_equal(atl_tpm_ak_info(cfg, &info), ATL_OK);
	json_decref(cfg);
	return info;
}

/* Registration: the coordinator challenges, TPM A answers, record signed. */
static void test_activation(void **state)
{
	json_t *cfg = json_pack("{s:s}", "tpm", F.tcti_a), *again, *wire;
	struct atl_tpm_challenge ch, ch2;
	uint8_t cred[32], answer[64];
	size_t answer_len = 0;
	char why[256];

	(void)state;
	F.info_a = ak_info(F.tcti_a);
	F.info_b = ak_info(F.tcti_b);
	assert_non_null(json_object_get(F.info_a, "ek_cert"));
	/* The AK is a primary: the same key every time. */
	again = ak_info(F.tcti_a);
	assert_string_equal(json_string_value(json_object_get(again, "ak_name")),
			    json_string_value(json_object_get(F.info_a, "ak_name")));
	json_decref(again);

	assert_int_equal(atl_tpm_activation_begin(F.info_a, F.policy, atl_time_now(), cred, &ch,
						  why, sizeof(why)),
			 ATL_OK);
	/* Through the wire format and back. */
	assert_int_equal(atl_tpm_challenge_to_json(&ch, &wire), ATL_OK);
	assert_int_equal(atl_tpm_challenge_from_json(wire, &ch2), ATL_OK);
	json_decref(wire);
	/* Another TPM cannot answer A's challenge (it lacks A's EK). */
	{
		json_t *cfg_b = json_pack("{s:s}", "tpm", F.tcti_b);

		assert_int_equal(atl_tpm_activate(cfg_b, &ch2, answer, sizeof(answer), &answer_len),
				 ATL_E_AUTH);
		json_decref(cfg_b);
	}
	assert_int_equal(atl_tpm_activate(cfg, &ch2, answer, sizeof(answer), &answer_len), ATL_OK);
	assert_int_equal(answer_len, 32);
	assert_memory_equal(answer, cred, 32);
	/* A wrong answer is refused; the right one yields the record. */
	answer[0] ^= 1;
	assert_int_equal(atl_tpm_activation_finish(F.info_a, cred, answer, 32, F.coord,
						   atl_time_now(), &F.record_a),
			 ATL_E_AUTH);
	answer[0] ^= 1;
	assert_int_equal(atl_tpm_activation_finish(F.info_a, cred, answer, 32, F.coord,
						   atl_time_now(), &F.record_a),
			 ATL_OK);
	atl_tpm_challenge_clear(&ch);
	atl_tpm_challenge_clear(&ch2);
	json_decref(cfg);
}

static void test_happy_path(void **state)
{
	enum atl_err rc;
	struct atl_ar *ar;
	char hex[97];

	(void)state;
	assert_non_null(F.record_a);
	F.ev_a = evidence(F.tcti_a, F.meas, F.record_a, F.rd, &F.ev_a_len);
	ar = verify(F.ev_a, F.ev_a_len, F.policy, F.rd, &rc);
	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) != ATL_AR_AFFIRMING || getenv("ATL_TPM_TEST_DUMP") != NULL)
		dump(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_int_equal(atl_hex_encode(F.meas, 48, hex, sizeof(hex)), ATL_OK);
	assert_string_equal(json_string_value(atl_ar_get(ar, "measurement")), hex);
	assert_int_equal(atl_hex_encode(F.rd, 32, hex, sizeof(hex)), ATL_OK);
	assert_string_equal(json_string_value(atl_ar_get(ar, "report_data")), hex);
	atl_ar_free(ar);
	/* Later evidence without a reset leaves PCR 23 as it is (idempotent). */
	{
		json_t *cfg = cfg_for(F.tcti_a, F.meas, F.record_a);
		uint8_t *ev2 = NULL;
		size_t len2 = 0;

		json_object_set_new(cfg, "reset_pcr", json_false());
		for (int i = 0; i < 2; i++) {
			assert_int_equal(atl_tpm_evidence(cfg, F.rd, &ev2, &len2), ATL_OK);
			ar = verify(ev2, len2, F.policy, F.rd, &rc);
			assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
			atl_ar_free(ar);
			free(ev2);
		}
		json_decref(cfg);
	}
	/* The registered backend answers the same through ops->verify. */
	{
		struct atl_verify_in in = {.now = atl_time_now(), .policy = F.policy};
		struct atl_ar *ar2 = atl_ar_new("tpm");

		assert_int_equal(atl_tee_tpm.verify(F.ev_a, F.ev_a_len, &in, ar2), ATL_OK);
		assert_int_equal(atl_ar_status(ar2), ATL_AR_AFFIRMING);
		atl_ar_free(ar2);
	}
}

/* Changed enclave binary: its measurement replays, but PCR 23 ≠ policy. */
static void test_changed_binary(void **state)
{
	size_t len;
	uint8_t *ev = evidence(F.tcti_a, F.meas_changed, F.record_a, F.rd, &len);

	(void)state;
	expect_refused(ev, len, F.policy, F.rd, "pcr_policy");
	free(ev);
}

/* A quote replayed with an old nonce. */
static void test_old_nonce(void **state)
{
	(void)state;
	expect_refused(F.ev_a, F.ev_a_len, F.policy, F.rd_old, "nonce");
}

static json_t *parse(const uint8_t *ev, size_t len)
{
	json_t *j = NULL;

	assert_int_equal(atl_json_parse((const char *)ev, len, &j), ATL_OK);
	return j;
}

static uint8_t *dumps(const json_t *j, size_t *len)
{
	char *s = atl_json_dump(j);

	assert_non_null(s);
	*len = strlen(s);
	return (uint8_t *)s;
}

/* Quote signed by another TPM's key. */
static void test_other_tpm(void **state)
{
	size_t len_b, len;
	uint8_t *ev_b = evidence(F.tcti_b, F.meas, F.record_a, F.rd, &len_b), *ev;
	json_t *a = parse(F.ev_a, F.ev_a_len), *b = parse(ev_b, len_b);

	(void)state;
	/* B's own evidence with A's activation record: B's EK chain is not
	 * trusted and the record names A's AK. */
	expect_refused(ev_b, len_b, F.policy, F.rd, "ak_trust");
	/* A's evidence whose quote and signature come from B's AK. */
	json_object_set(a, "quote", json_object_get(b, "quote"));
	json_object_set(a, "signature", json_object_get(b, "signature"));
	ev = dumps(a, &len);
	expect_refused(ev, len, F.policy, F.rd, "signature");
	free(ev);
	/* And B's AK public area offered with A's activation record. */
	json_decref(a);
	a = parse(F.ev_a, F.ev_a_len);
	json_object_set(a, "ak_pub", json_object_get(b, "ak_pub"));
	json_object_set(a, "quote", json_object_get(b, "quote"));
	json_object_set(a, "signature", json_object_get(b, "signature"));
	ev = dumps(a, &len);
	expect_refused(ev, len, F.policy, F.rd, "ak_trust");
	free(ev);
	json_decref(a);
	json_decref(b);
	free(ev_b);
}

/* AK not activated: no record, or one not signed by a pinned key. */
static void test_not_activated(void **state)
{
	size_t len;
	uint8_t *ev = evidence(F.tcti_a, F.meas, NULL, F.rd, &len);
	struct atl_privkey *rogue = NULL;
	json_t *rec = NULL, *j;
	uint8_t fp[32], *cert = NULL, name[ATL_TPM_NAME_MAX_LEN];
	size_t cert_len = 0, name_len = 0;
	const char *name_hex = json_string_value(json_object_get(F.info_a, "ak_name"));

	(void)state;
	expect_refused(ev, len, F.policy, F.rd, "ak_trust");
	free(ev);
	/* A record for the right AK and EK, signed by an unpinned key. */
	assert_int_equal(atl_privkey_generate_ec(384, &rogue), ATL_OK);
	assert_int_equal(atl_json_get_b64(F.info_a, "ek_cert", 1u << 16, &cert, &cert_len), ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, cert, cert_len, fp), ATL_OK);
	assert_int_equal(atl_hex_decode(name_hex, strlen(name_hex), name, sizeof(name), &name_len),
			 ATL_OK);
	assert_int_equal(atl_tpm_activation_sign(rogue, name, name_len, fp, atl_time_now(), &rec),
			 ATL_OK);
	ev = evidence(F.tcti_a, F.meas, rec, F.rd, &len);
	expect_refused(ev, len, F.policy, F.rd, "ak_trust");
	free(ev);
	/* An activation record older than the policy allows. */
	{
		json_t *pol = json_deep_copy(F.policy), *old = NULL;

		json_object_set_new(json_object_get(pol, "tpm"), "activation_max_age_s",
				    json_integer(3600));
		assert_int_equal(atl_tpm_activation_sign(F.coord, name, name_len, fp,
							 atl_time_now() - 7200, &old),
				 ATL_OK);
		ev = evidence(F.tcti_a, F.meas, old, F.rd, &len);
		expect_refused(ev, len, pol, F.rd, "ak_trust");
		free(ev);
		/* the fresh one passes under the same policy */
		ev = evidence(F.tcti_a, F.meas, F.record_a, F.rd, &len);
		{
			enum atl_err vrc;
			struct atl_ar *ar = verify(ev, len, pol, F.rd, &vrc);

			assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
			atl_ar_free(ar);
		}
		free(ev);
		json_decref(old);
		json_decref(pol);
	}
	/* The pinned key's record with its signature edited. */
	j = json_deep_copy(F.record_a);
	json_object_set_new(j, "issued_at", json_integer(1));
	ev = evidence(F.tcti_a, F.meas, j, F.rd, &len);
	expect_refused(ev, len, F.policy, F.rd, "ak_trust");
	free(ev);
	json_decref(j);
	json_decref(rec);
	atl_privkey_free(rogue);
	free(cert);
}

/* EK certificate from an untrusted CA (TPM B, CA B). */
static void test_untrusted_ek_ca(void **state)
{
	struct atl_tpm_challenge ch;
	uint8_t cred[32], fp[32], *cert = NULL, name[ATL_TPM_NAME_MAX_LEN], *ev;
	size_t cert_len = 0, name_len = 0, len;
	const char *name_hex = json_string_value(json_object_get(F.info_b, "ak_name"));
	char why[256] = "";
	json_t *rec = NULL;

	(void)state;
	/* Registration refuses B before any challenge. */
	assert_int_not_equal(atl_tpm_activation_begin(F.info_b, F.policy, atl_time_now(), cred,
						      &ch, why, sizeof(why)),
			     ATL_OK);
	assert_true(why[0] != '\0');
	/* Even a (wrongly) signed record for B does not make B trusted. */
	assert_int_equal(atl_json_get_b64(F.info_b, "ek_cert", 1u << 16, &cert, &cert_len), ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, cert, cert_len, fp), ATL_OK);
	assert_int_equal(atl_hex_decode(name_hex, strlen(name_hex), name, sizeof(name), &name_len),
			 ATL_OK);
	assert_int_equal(atl_tpm_activation_sign(F.coord, name, name_len, fp, atl_time_now(), &rec),
			 ATL_OK);
	ev = evidence(F.tcti_b, F.meas, rec, F.rd, &len);
	expect_refused(ev, len, F.policy, F.rd, "ak_trust");
	free(ev);
	json_decref(rec);
	free(cert);
}

/* PCR values edited without re-signing. */
static void test_pcr_edited(void **state)
{
	json_t *j = parse(F.ev_a, F.ev_a_len);
	json_t *vals = json_object_get(json_object_get(j, "pcrs"), "values");
	char hex[65];
	uint8_t pcr[32], *ev;
	size_t len;

	(void)state;
	/* Claim the value the policy expects for the changed binary... */
	assert_int_equal(atl_tpm_expected_pcr(F.meas_changed, 48, pcr), ATL_OK);
	assert_int_equal(atl_hex_encode(pcr, 32, hex, sizeof(hex)), ATL_OK);
	json_object_set_new(vals, "23", json_string(hex));
	ev = dumps(j, &len);
	expect_refused(ev, len, F.policy, F.rd, "pcr_digest");
	free(ev);
	/* ...or drop a quoted PCR, or add an unquoted one. */
	json_object_del(vals, "23");
	json_object_set_new(vals, "22", json_string(hex));
	ev = dumps(j, &len);
	expect_refused(ev, len, F.policy, F.rd, "pcr_selection");
	free(ev);
	json_decref(j);
}

/* Truncated and garbage evidence: an error or a refusal, never a crash. */
static void test_truncated_garbage(void **state)
{
	uint8_t junk[512];

	(void)state;
	for (size_t n = 0; n < F.ev_a_len; n += 13) {
		enum atl_err rc;
		struct atl_ar *ar = verify(F.ev_a, n, F.policy, F.rd, &rc);

		if (rc == ATL_OK)
			assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
	for (int i = 0; i < 64; i++) {
		enum atl_err rc;
		struct atl_ar *ar;

		assert_int_equal(atl_random(junk, sizeof(junk)), ATL_OK);
		ar = verify(junk, sizeof(junk), F.policy, F.rd, &rc);
		if (rc == ATL_OK)
			assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
}


/* Through the framework, as atoll-enclave and `atoll verify` use it: the
 * wrapper binds the enclave key and nonce; the dispatcher checks the first 32
 * bytes of the binding, the measurement list and freshness by the nonce. */
static void test_dispatcher(void **state)
{
	uint8_t pub[ATL_X25519_LEN], nonce[16], other[16];
	json_t *cfg = cfg_for(F.tcti_a, F.meas, F.record_a), *pol = json_deep_copy(F.policy);
	char *wrapper = NULL, hex[97];
	struct atl_ar *ar = NULL;
	enum atl_err rc;

	(void)state;
	assert_int_equal(atl_random(pub, sizeof(pub)), ATL_OK);
	assert_int_equal(atl_random(nonce, sizeof(nonce)), ATL_OK);
	assert_int_equal(atl_hex_encode(F.meas, 48, hex, sizeof(hex)), ATL_OK);
	json_object_set_new(pol, "measurements", json_pack("{s:[s]}", "tpm", hex));
	assert_int_equal(atl_evidence_produce("tpm", cfg, pub, nonce, sizeof(nonce), &wrapper),
			 ATL_OK);
	rc = atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol, nonce,
				 sizeof(nonce), atl_time_now(), NULL, &ar);
	if (rc != ATL_OK)
		dump(ar);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "report_data"), 1);
	atl_ar_free(ar);
	ar = NULL;
	/* Another verifier nonce: refused. */
	memcpy(other, nonce, sizeof(other));
	other[0] ^= 1;
	rc = atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol, other,
				 sizeof(other), atl_time_now(), NULL, &ar);
	assert_int_equal(rc, ATL_E_POLICY);
	atl_ar_free(ar);
	ar = NULL;
	/* A measurement the policy does not list: refused. */
	json_object_set_new(pol, "measurements",
			    json_pack("{s:[s]}", "tpm", "00112233445566778899aabbccddeeff"));
	rc = atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol, nonce,
				 sizeof(nonce), atl_time_now(), NULL, &ar);
	assert_int_equal(rc, ATL_E_POLICY);
	atl_ar_free(ar);
	free(wrapper);
	json_decref(pol);
	json_decref(cfg);
}


/* ---- measured boot: a TCG event log replayed against quoted PCRs 0-7 ---- */

/* Extends PCR pcr of TPM A with a SHA-256 digest (what firmware does). */
static void fw_extend(unsigned pcr, const uint8_t d[32])
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPML_DIGEST_VALUES v;

	memset(&v, 0, sizeof(v));
	v.count = 1;
	v.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(v.digests[0].digest.sha256, d, 32);
	assert_int_equal(Tss2_TctiLdr_Initialize(F.tcti_a, &tcti), TSS2_RC_SUCCESS);
	assert_int_equal(Esys_Initialize(&ctx, tcti, NULL), TSS2_RC_SUCCESS);
	assert_int_equal(Esys_PCR_Extend(ctx, (ESYS_TR)(ESYS_TR_PCR0 + pcr), ESYS_TR_PASSWORD,
					 ESYS_TR_NONE, ESYS_TR_NONE, &v),
			 TSS2_RC_SUCCESS);
	Esys_Finalize(&ctx);
	Tss2_TctiLdr_Finalize(&tcti);
}

static void wr(enum atl_err rc)
{
	assert_int_equal(rc, ATL_OK);
}

/* One TCG_PCR_EVENT2 with a SHA-256 digest of data (PFP §10.2.2). */
static void log_event(struct atl_wr *w, uint32_t pcr, uint32_t type, const void *data,
		      size_t len, bool extend)
{
	uint8_t d[32];

	assert_int_equal(atl_hash(ATL_HASH_SHA256, data, len, d), ATL_OK);
	wr(atl_wr_u32le(w, pcr));
	wr(atl_wr_u32le(w, type));
	wr(atl_wr_u32le(w, 1));
	wr(atl_wr_u16le(w, ATL_TPM_ALG_SHA256));
	wr(atl_wr_bytes(w, d, 32));
	wr(atl_wr_u32le(w, (uint32_t)len));
	wr(atl_wr_bytes(w, data, len));
	if (extend)
		fw_extend(pcr, d);
}

static void test_event_log(void **state)
{
	static const char spec[16] = "Spec ID Event03";
	static const uint8_t sep[4] = {0, 0, 0, 0};
	struct atl_wr w;
	uint8_t *log = NULL, *ev;
	size_t log_len = 0, len;
	char path[] = "/tmp/atoll-evlog-XXXXXX";
	int fd;
	json_t *cfg, *pol, *sec, *pcrs;
	struct atl_tpm_pcrs *rep = malloc(sizeof(*rep));
	struct atl_tpm_evlog_result res;
	enum atl_err rc;
	struct atl_ar *ar;

	(void)state;
	atl_wr_init(&w, 1u << 16, false);
	/* Spec ID event (SHA-1 format header, crypto-agile, SHA-256 only) */
	wr(atl_wr_u32le(&w, 0));
	wr(atl_wr_u32le(&w, 3));
	for (int i = 0; i < 20; i++)
		wr(atl_wr_u8(&w, 0));
	wr(atl_wr_u32le(&w, 16 + 4 + 4 + 4 + 4 + 1));
	wr(atl_wr_bytes(&w, spec, 16));
	wr(atl_wr_u32le(&w, 0)); /* platformClass */
	wr(atl_wr_u8(&w, 0));
	wr(atl_wr_u8(&w, 2));
	wr(atl_wr_u8(&w, 0));
	wr(atl_wr_u8(&w, 2));
	wr(atl_wr_u32le(&w, 1));
	wr(atl_wr_u16le(&w, ATL_TPM_ALG_SHA256));
	wr(atl_wr_u16le(&w, 32));
	wr(atl_wr_u8(&w, 0));
	/* "firmware": a CRTM version, a boot application, then separators. */
	log_event(&w, 0, 0x00000008, "atoll-test-crtm", 15, true);
	log_event(&w, 4, 0x80000003, "bootloader image", 16, true);
	for (uint32_t p = 0; p < 8; p++)
		log_event(&w, p, 0x00000004, sep, sizeof(sep), true);
	wr(atl_wr_take(&w, &log, &log_len));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, log, log_len), (ssize_t)log_len);
	close(fd);

	/* Policy: the replayed boot PCRs plus the measurement PCR. */
	assert_int_equal(atl_tpm_evlog_replay(log, log_len, ATL_TPM_ALG_SHA256, rep, &res), ATL_OK);
	assert_true(res.types_ok);
	pol = json_deep_copy(F.policy);
	sec = json_object_get(pol, "tpm");
	pcrs = json_object_get(sec, "pcrs");
	for (unsigned p = 0; p < 8; p++) {
		char k[4], hex[65];

		snprintf(k, sizeof(k), "%u", p);
		assert_int_equal(atl_hex_encode(rep->value[p], 32, hex, sizeof(hex)), ATL_OK);
		json_object_set_new(pcrs, k, json_string(hex));
	}
	json_object_set_new(sec, "require_event_log", json_true());

	cfg = cfg_for(F.tcti_a, F.meas, F.record_a);
	json_object_set_new(cfg, "pcrs", json_pack("[i,i,i,i,i,i,i,i]", 0, 1, 2, 3, 4, 5, 6, 7));
	json_object_set_new(cfg, "event_log", json_string(path));
	assert_int_equal(atl_tpm_evidence(cfg, F.rd, &ev, &len), ATL_OK);
	ar = verify(ev, len, pol, F.rd, &rc);
	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) != ATL_AR_AFFIRMING)
		dump(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_int_equal(check_state(ar, "event_log"), 1);
	atl_ar_free(ar);
	free(ev);

	/* Something extended PCR 5 that the log does not show: refused. */
	fw_extend(5, rep->value[0]);
	assert_int_equal(atl_tpm_evidence(cfg, F.rd, &ev, &len), ATL_OK);
	expect_refused(ev, len, pol, F.rd, "event_log");
	free(ev);
	unlink(path);
	json_decref(cfg);
	json_decref(pol);
	free(rep);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_activation),     cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_changed_binary), cmocka_unit_test(test_old_nonce),
		cmocka_unit_test(test_other_tpm),      cmocka_unit_test(test_not_activated),
		cmocka_unit_test(test_untrusted_ek_ca), cmocka_unit_test(test_pcr_edited),
		cmocka_unit_test(test_truncated_garbage), cmocka_unit_test(test_dispatcher),
		cmocka_unit_test(test_event_log), /* last: changes PCRs 0-7 of TPM A */
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
