/* Unit tests for the evidence wrapper, the dispatcher (src/attest/verify.c) and
 * the sim backend (src/attest/sim.c). A temporary sim root signs evidence over
 * this test binary (/proc/self/exe); the policy pins that root and measurement.
 * Negatives (issue 3): wrong measurement, no measurement listed, wrong nonce,
 * stale and future evidence, sim not allowed, TEE not listed, no policy, wrong
 * root, no root, bad anchor, unknown policy field, debug, tampered signature,
 * tampered report, report data not bound to the key, malformed native
 * evidence, a report signed by the right root but malformed, every wrapper
 * format error, every truncation, oversize input, min_tcb for sim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

static char dir[64], dir2[64];
static char *root_pem, *root2_pem;
static char meas_hex[2 * ATL_SHA384_LEN + 1];
static uint8_t ekey[ATL_X25519_LEN];
static const uint8_t nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static char *good_ev; /* a wrapper made at setup time */
static int64_t t0;

static char *read_text(const char *d, const char *name)
{
	char path[256];
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	assert_int_equal(atl_file_read(path, 65536, &buf, &len), ATL_OK);
	return (char *)buf;
}

static void rm_root(const char *d)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", d, ATL_SIM_ROOT_KEY_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", d, ATL_SIM_ROOT_PUB_FILE);
	unlink(path);
	rmdir(d);
}

static char *produce(const char *root_dir, bool debug)
{
	json_t *cfg = json_pack("{s:s, s:b}", "sim_root", root_dir, "debug", debug);
	char *out = NULL;

	assert_non_null(cfg);
	assert_int_equal(atl_evidence_produce("sim", cfg, ekey, nonce, sizeof(nonce), &out), ATL_OK);
	json_decref(cfg);
	return out;
}

static int setup(void **st)
{
	uint8_t m[ATL_SHA384_LEN];

	(void)st;
	strcpy(dir, "/tmp/atl_sim_testXXXXXX");
	strcpy(dir2, "/tmp/atl_sim_test2XXXXXX");
	if (mkdtemp(dir) == NULL || mkdtemp(dir2) == NULL)
		return -1;
	if (atl_sim_root_create(dir) != ATL_OK || atl_sim_root_create(dir2) != ATL_OK)
		return -1;
	root_pem = read_text(dir, ATL_SIM_ROOT_PUB_FILE);
	root2_pem = read_text(dir2, ATL_SIM_ROOT_PUB_FILE);
	if (atl_sim_measure("/proc/self/exe", m) != ATL_OK ||
	    atl_hex_encode(m, sizeof(m), meas_hex, sizeof(meas_hex)) != ATL_OK ||
	    atl_random(ekey, sizeof(ekey)) != ATL_OK)
		return -1;
	t0 = atl_time_now();
	good_ev = produce(dir, false);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	rm_root(dir);
	rm_root(dir2);
	free(root_pem);
	free(root2_pem);
	free(good_ev);
	return 0;
}

/* The accepting policy, as `atoll policy init` writes it. */
static json_t *policy(void)
{
	json_t *p = json_pack("{s:[s], s:b, s:b, s:i, s:{s:[s]}, s:{s:s}}", "tee_types", "sim",
			      "allow_sim", 1, "allow_debug", 0, "max_age_s", 300, "measurements",
			      "sim", meas_hex, "trust_anchors", "sim", root_pem);
	char why[256];

	assert_non_null(p);
	assert_int_equal(atl_policy_validate(p, why, sizeof(why)), ATL_OK);
	return p;
}

static const json_t *find_check(const json_t *res, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(res, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	}
	return NULL;
}

/* Verifies ev under p and expects rc and, when refused, the first failed
 * check to be `first`. */
static void expect(const char *ev, const json_t *p, const uint8_t *n, size_t n_len, int64_t now,
		   const char *const *anchors, enum atl_err want_rc, const char *first)
{
	struct atl_ar *ar = NULL;
	enum atl_err rc = atl_verify_evidence((const uint8_t *)ev, strlen(ev), p, n, n_len, now,
					      anchors, &ar);

	assert_non_null(ar);
	if (rc != want_rc) {
		json_t *j = atl_ar_to_json(ar);
		char *s = atl_json_dump_pretty(j);
		fail_msg("rc %s, want %s; result %s", atl_err_name(rc), atl_err_name(want_rc), s);
	}
	if (want_rc == ATL_OK) {
		assert_int_not_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		assert_null(atl_ar_first_failure(ar));
	} else {
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		assert_non_null(atl_ar_first_failure(ar));
		if (first != NULL && strcmp(atl_ar_first_failure(ar), first) != 0)
			fail_msg("first failure '%s', want '%s'", atl_ar_first_failure(ar), first);
	}
	atl_ar_free(ar);
}

static void test_accept(void **st)
{
	json_t *p = policy(), *res;
	struct atl_ar *ar = NULL;
	uint8_t pub[ATL_X25519_LEN];
	const json_t *c;

	(void)st;
	assert_int_equal(atl_verify_evidence((const uint8_t *)good_ev, strlen(good_ev), p, nonce,
					     sizeof(nonce), t0, NULL, &ar),
			 ATL_OK);
	/* sim is never better than "warning": it has no hardware protection */
	assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
	assert_int_equal(atl_verify_enclave_key(ar, pub), ATL_OK);
	assert_memory_equal(pub, ekey, sizeof(ekey));
	res = atl_ar_to_json(ar);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "warning");
	assert_string_equal(json_string_value(json_object_get(res, "tee")), "sim");
	assert_string_equal(json_string_value(json_object_get(res, "measurement")), meas_hex);
	assert_true(json_is_false(json_object_get(res, "debug")));
	assert_non_null(json_object_get(res, "issued_at"));
	assert_non_null(json_object_get(res, "enclave_key"));
	assert_non_null(json_object_get(res, "nonce"));
	for (const char *const *n = (const char *const[]){"format", "backend", "tee_type",
							   "allow_sim", "signature", "measurement",
							   "debug", "age", "report_data", "nonce",
							   NULL};
	     *n != NULL; n++) {
		c = find_check(res, *n);
		if (c == NULL || !json_is_true(json_object_get(c, "ok")))
			fail_msg("check %s missing or failed", *n);
	}
	assert_non_null(find_check(res, "simulation"));
	json_decref(res);
	atl_ar_free(ar);

	/* no expected nonce: accepted, with a warning */
	expect(good_ev, p, NULL, 0, t0, NULL, ATL_OK, NULL);
	/* the root as an anchor file instead of pinned in the policy */
	json_object_del(p, "trust_anchors");
	{
		char path[256];
		const char *anchors[] = {path, NULL};

		snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_PUB_FILE);
		expect(good_ev, p, nonce, sizeof(nonce), t0, anchors, ATL_OK, NULL);
		/* anchor file that is not a key, or missing */
		snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_KEY_FILE "x");
		expect(good_ev, p, nonce, sizeof(nonce), t0, anchors, ATL_E_POLICY, "trust_anchor");
	}
	json_decref(p);
}

static void test_policy_negatives(void **st)
{
	json_t *p;
	uint8_t other[sizeof(nonce)];

	(void)st;
	/* wrong measurement */
	p = policy();
	json_object_set_new(p, "measurements",
			    json_pack("{s:[s]}", "sim", "00112233445566778899aabbccddeeff"));
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "measurement");
	/* no measurement listed for sim: refused (fail closed) */
	json_object_del(p, "measurements");
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "measurement");
	json_decref(p);

	/* wrong nonce, and a nonce of another length */
	p = policy();
	memcpy(other, nonce, sizeof(other));
	other[0] ^= 1;
	expect(good_ev, p, other, sizeof(other), t0, NULL, ATL_E_POLICY, "nonce");
	expect(good_ev, p, nonce, sizeof(nonce) - 1, t0, NULL, ATL_E_POLICY, "nonce");

	/* stale, and from the future */
	expect(good_ev, p, nonce, sizeof(nonce), t0 + 400, NULL, ATL_E_POLICY, "age");
	expect(good_ev, p, nonce, sizeof(nonce), t0 - 2 * ATL_ATTEST_SKEW_MAX, NULL, ATL_E_POLICY,
	       "age");
	json_object_set_new(p, "max_age_s", json_integer(1000));
	expect(good_ev, p, nonce, sizeof(nonce), t0 + 400, NULL, ATL_OK, NULL);
	json_decref(p);

	/* sim not allowed; sim not listed; no policy at all */
	p = policy();
	json_object_set_new(p, "allow_sim", json_false());
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "allow_sim");
	json_object_del(p, "allow_sim");
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "allow_sim");
	json_object_set_new(p, "allow_sim", json_true());
	json_object_set_new(p, "tee_types", json_pack("[s]", "tdx"));
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "tee_type");
	json_decref(p);
	expect(good_ev, NULL, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "tee_type");

	/* wrong root; no root; a pinned value that is not a key */
	p = policy();
	json_object_set_new(p, "trust_anchors", json_pack("{s:s}", "sim", root2_pem));
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "signature");
	json_object_set_new(p, "trust_anchors", json_pack("{s:[s,s]}", "sim", root2_pem, root_pem));
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_OK, NULL);
	json_object_del(p, "trust_anchors");
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "trust_anchor");
	json_object_set_new(p, "trust_anchors",
			    json_pack("{s:s}", "sim", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END "
						      "PUBLIC KEY-----\n"));
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "trust_anchor");
	json_decref(p);

	/* min_tcb for sim cannot be met */
	p = policy();
	json_object_set_new(p, "min_tcb", json_pack("{s:{}}", "sim"));
	expect(good_ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "min_tcb");
	json_decref(p);
}

static void test_unknown_policy_field(void **st)
{
	json_t *p = policy();
	char why[256];

	(void)st;
	json_object_set_new(p, "allow_anything", json_true());
	assert_int_equal(atl_policy_validate(p, why, sizeof(why)), ATL_E_FORMAT);
	assert_non_null(strstr(why, "allow_anything"));
	json_decref(p);
}

static void test_debug(void **st)
{
	char *ev = produce(dir, true);
	json_t *p = policy();

	(void)st;
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "debug");
	json_object_set_new(p, "allow_debug", json_true());
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_OK, NULL);
	json_decref(p);
	free(ev);
}

/* ---- crafting evidence ---- */

/* Splits a wrapper into its JSON and native JSON, and the native into report
 * text and signature bytes. */
struct parts {
	json_t *w, *native;
	char *report;
	uint8_t *sig;
	size_t sig_len;
};

static void split(const char *ev, struct parts *pt)
{
	uint8_t *nat = NULL, *rep = NULL;
	size_t nat_len = 0, rep_len = 0;

	memset(pt, 0, sizeof(*pt));
	assert_int_equal(atl_json_parse(ev, strlen(ev), &pt->w), ATL_OK);
	assert_int_equal(atl_json_get_b64(pt->w, "evidence", 1 << 20, &nat, &nat_len), ATL_OK);
	assert_int_equal(atl_json_parse((const char *)nat, nat_len, &pt->native), ATL_OK);
	assert_int_equal(atl_json_get_b64(pt->native, "report", 1 << 20, &rep, &rep_len), ATL_OK);
	pt->report = calloc(1, rep_len + 1);
	assert_non_null(pt->report);
	memcpy(pt->report, rep, rep_len);
	assert_int_equal(atl_json_get_b64(pt->native, "signature", 1024, &pt->sig, &pt->sig_len),
			 ATL_OK);
	free(nat);
	free(rep);
}

static void set_b64(json_t *o, const char *k, const void *p, size_t n)
{
	char *s = NULL;

	assert_int_equal(atl_b64_encode(p, n, ATL_B64_STD, &s), ATL_OK);
	json_object_set_new(o, k, json_string(s));
	free(s);
}

/* Reassembles a wrapper (caller frees). */
static char *join_parts(struct parts *pt)
{
	char *nat;

	set_b64(pt->native, "report", pt->report, strlen(pt->report));
	set_b64(pt->native, "signature", pt->sig, pt->sig_len);
	nat = atl_json_dump(pt->native);
	set_b64(pt->w, "evidence", nat, strlen(nat));
	free(nat);
	return atl_json_dump(pt->w);
}

static void free_parts(struct parts *pt)
{
	json_decref(pt->w);
	json_decref(pt->native);
	free(pt->report);
	free(pt->sig);
}

/* Re-signs the report with a root (as a holder of that root could). */
static void resign(struct parts *pt, const char *root_dir)
{
	char *pem = read_text(root_dir, ATL_SIM_ROOT_KEY_FILE);
	struct atl_privkey *sk = NULL;
	size_t ll = sizeof("atoll-sim-report-v1"), rl = strlen(pt->report);
	uint8_t *msg = malloc(ll + rl);

	assert_non_null(msg);
	memcpy(msg, "atoll-sim-report-v1", ll);
	memcpy(msg + ll, pt->report, rl);
	assert_int_equal(atl_privkey_parse((uint8_t *)pem, strlen(pem), &sk), ATL_OK);
	free(pt->sig);
	assert_int_equal(atl_sig_sign(sk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg,
				      ll + rl, &pt->sig, &pt->sig_len),
			 ATL_OK);
	atl_privkey_free(sk);
	free(msg);
	free(pem);
}

static void test_tampered(void **st)
{
	json_t *p = policy();
	struct parts pt;
	char *ev, *pos;

	(void)st;
	/* flipped signature bit */
	split(good_ev, &pt);
	pt.sig[10] ^= 0x01;
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "signature");
	free(ev);
	free_parts(&pt);

	/* changed report (debug flag), signature kept */
	split(good_ev, &pt);
	pos = strstr(pt.report, "\"debug\":false");
	assert_non_null(pos);
	memcpy(pos, "\"debug\":true ", 13);
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "signature");
	free(ev);
	free_parts(&pt);

	/* a report re-signed by another root */
	split(good_ev, &pt);
	resign(&pt, dir2);
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "signature");
	free(ev);
	free_parts(&pt);

	/* re-signed by the right root: accepted (the test's signing is right) */
	split(good_ev, &pt);
	resign(&pt, dir);
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_OK, NULL);
	free(ev);
	free_parts(&pt);

	/* signed by the right root, but the report is malformed */
	split(good_ev, &pt);
	free(pt.report);
	pt.report = strdup("{\"v\":1,\"tee\":\"sim\"}");
	resign(&pt, dir);
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_FORMAT, "evidence");
	free(ev);
	free_parts(&pt);

	/* signature of the wrong length */
	split(good_ev, &pt);
	pt.sig_len = 95;
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_FORMAT, "evidence");
	free(ev);
	free_parts(&pt);

	/* another enclave key in the wrapper: report data does not bind it */
	split(good_ev, &pt);
	{
		uint8_t k2[ATL_X25519_LEN];

		memcpy(k2, ekey, sizeof(k2));
		k2[0] ^= 0x80;
		set_b64(pt.w, "enclave_key", k2, sizeof(k2));
	}
	ev = join_parts(&pt);
	expect(ev, p, nonce, sizeof(nonce), t0, NULL, ATL_E_POLICY, "report_data");
	free(ev);
	free_parts(&pt);

	/* another nonce in the wrapper (the verifier expects that one) */
	split(good_ev, &pt);
	json_object_set_new(pt.w, "nonce", json_string("ffff"));
	ev = join_parts(&pt);
	expect(ev, p, (const uint8_t *)"\xff\xff", 2, t0, NULL, ATL_E_POLICY, "report_data");
	free(ev);
	free_parts(&pt);
	json_decref(p);
}

struct wbad {
	const char *doc;
	enum atl_err rc;
	const char *first;
};

/* A TEE kind of DESIGN §4 with no backend in this build, or NULL. */
static const char *uncompiled(void)
{
	static const char *const kinds[] = {"tpm", "sev-snp", "tdx", "sgx",       "nitro",
					    "psa", "cca",     "nvidia-gpu", NULL};

	for (size_t i = 0; kinds[i] != NULL; i++) {
		if (atl_tee_find(kinds[i]) == NULL)
			return kinds[i];
	}
	return NULL;
}

/* A compiled-in kind that cannot produce evidence (verify only), or NULL. */
static const char *verify_only(void)
{
	for (const struct atl_tee_ops *const *t = atl_tee_all(); *t != NULL; t++) {
		if ((*t)->evidence == NULL)
			return (*t)->name;
	}
	return NULL;
}

/* doc with its "%s" (if any) replaced by v. */
static void subst(char *out, size_t cap, const char *doc, const char *v)
{
	const char *at = strstr(doc, "%s");

	if (at == NULL) {
		snprintf(out, cap, "%s", doc);
		return;
	}
	snprintf(out, cap, "%.*s%s%s", (int)(at - doc), doc, v, at + 2);
}

static void test_wrapper_format(void **st)
{
	static const char key[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; /* 32 zero bytes */
	char buf[1024];
	json_t *p = policy();
	const struct wbad bads[] = {
		{"", ATL_E_FORMAT, "format"},
		{"null", ATL_E_FORMAT, "format"},
		{"[1]", ATL_E_FORMAT, "format"},
		{"{\"v\":1", ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"eA==\","
		 "\"extra\":1}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\"}", ATL_E_FORMAT,
		 "format"},
		{"{\"v\":2,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"eA==\"}",
		 ATL_E_UNSUPPORTED, "format"},
		{"{\"v\":\"1\",\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"eA==\"}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"simx\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"eA==\"}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"AAAA%s\",\"nonce\":\"00\",\"evidence\":\"eA==\"}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"\",\"evidence\":\"eA==\"}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"0\",\"evidence\":\"eA==\"}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"\"}",
		 ATL_E_FORMAT, "format"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"e===\"}",
		 ATL_E_FORMAT, "format"},
		/* native evidence that is not sim evidence */
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"eA==\"}",
		 ATL_E_FORMAT, "evidence"},
		{"{\"v\":1,\"tee\":\"sim\",\"enclave_key\":\"%s\",\"nonce\":\"00\",\"evidence\":\"e30=\"}",
		 ATL_E_FORMAT, "evidence"},
	};

	(void)st;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct atl_ar *ar = NULL;
		enum atl_err rc;

		subst(buf, sizeof(buf), bads[i].doc, key);
		rc = atl_verify_evidence((const uint8_t *)buf, strlen(buf), p, NULL, 0, t0, NULL,
					 &ar);
		assert_non_null(ar);
		if (rc != bads[i].rc || atl_ar_first_failure(ar) == NULL ||
		    strcmp(atl_ar_first_failure(ar), bads[i].first) != 0)
			fail_msg("case %zu: rc %s first %s", i, atl_err_name(rc),
				 atl_ar_first_failure(ar) ? atl_ar_first_failure(ar) : "-");
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
	/* a known TEE kind without a backend in this build (if there is one left) */
	if (uncompiled() != NULL) {
		struct atl_ar *ar = NULL;

		snprintf(buf, sizeof(buf),
			 "{\"v\":1,\"tee\":\"%s\",\"enclave_key\":\"%s\",\"nonce\":\"00\","
			 "\"evidence\":\"eA==\"}",
			 uncompiled(), key);
		assert_int_equal(atl_verify_evidence((const uint8_t *)buf, strlen(buf), p, NULL, 0,
						     t0, NULL, &ar),
				 ATL_E_UNSUPPORTED);
		assert_string_equal(atl_ar_first_failure(ar), "backend");
		atl_ar_free(ar);
	}
	json_decref(p);
}

static void test_truncated_and_huge(void **st)
{
	json_t *p = policy();
	size_t n = strlen(good_ev);
	uint8_t *big;
	struct atl_ar *ar = NULL;

	(void)st;
	for (size_t len = 0; len < n; len++) {
		assert_int_not_equal(atl_verify_evidence((const uint8_t *)good_ev, len, p, nonce,
							 sizeof(nonce), t0, NULL, &ar),
				     ATL_OK);
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
	big = malloc(ATL_ATTEST_EVIDENCE_MAX + 1);
	assert_non_null(big);
	memset(big, '[', ATL_ATTEST_EVIDENCE_MAX + 1);
	assert_int_equal(atl_verify_evidence(big, ATL_ATTEST_EVIDENCE_MAX + 1, p, NULL, 0, t0, NULL,
					     &ar),
			 ATL_E_LIMIT);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	/* deep nesting within the size limit */
	assert_int_equal(atl_verify_evidence(big, 100000, p, NULL, 0, t0, NULL, &ar), ATL_E_LIMIT);
	atl_ar_free(ar);
	free(big);
	json_decref(p);
}

static void test_wrap_produce_args(void **st)
{
	char *out = (char *)1;
	uint8_t nat[4] = {1, 2, 3, 4};
	json_t *cfg;
	struct atl_evidence ev;
	char why[128];

	(void)st;
	assert_int_equal(atl_evidence_wrap("nope", ekey, nonce, sizeof(nonce), nat, 4, &out),
			 ATL_E_ARG);
	assert_null(out);
	assert_int_equal(atl_evidence_wrap("sim", ekey, nonce, 0, nat, 4, &out), ATL_E_ARG);
	assert_int_equal(atl_evidence_wrap("sim", ekey, nonce, ATL_ATTEST_NONCE_MAX + 1, nat, 4,
					   &out),
			 ATL_E_ARG);
	assert_int_equal(atl_evidence_wrap("sim", ekey, nonce, sizeof(nonce), nat, 0, &out),
			 ATL_E_ARG);
	/* round trip through the parser */
	assert_int_equal(atl_evidence_wrap("sim", ekey, nonce, sizeof(nonce), nat, 4, &out), ATL_OK);
	assert_int_equal(atl_evidence_parse((uint8_t *)out, strlen(out), &ev, why, sizeof(why)),
			 ATL_OK);
	assert_string_equal(ev.tee, "sim");
	assert_memory_equal(ev.enclave_key, ekey, sizeof(ekey));
	assert_int_equal(ev.nonce_len, sizeof(nonce));
	assert_int_equal(ev.native_len, 4);
	assert_memory_equal(ev.native, nat, 4);
	atl_evidence_clear(&ev);
	free(out);

	assert_int_equal(atl_evidence_produce("no-such-tee", NULL, ekey, nonce, sizeof(nonce), &out),
			 ATL_E_NOTFOUND);
	if (uncompiled() != NULL)
		assert_int_equal(atl_evidence_produce(uncompiled(), NULL, ekey, nonce, sizeof(nonce),
						      &out),
				 ATL_E_NOTFOUND);
	if (verify_only() != NULL)
		assert_int_equal(atl_evidence_produce(verify_only(), NULL, ekey, nonce, sizeof(nonce),
						      &out),
				 ATL_E_UNSUPPORTED);
	assert_int_equal(atl_evidence_produce("sim", NULL, ekey, nonce, sizeof(nonce), &out),
			 ATL_E_ARG);
	cfg = json_pack("{s:s, s:i}", "sim_root", dir, "bogus", 1);
	assert_int_equal(atl_evidence_produce("sim", cfg, ekey, nonce, sizeof(nonce), &out),
			 ATL_E_ARG);
	json_decref(cfg);
	cfg = json_pack("{s:s}", "sim_root", "/nonexistent/atoll-sim");
	assert_int_equal(atl_evidence_produce("sim", cfg, ekey, nonce, sizeof(nonce), &out),
			 ATL_E_NOTFOUND);
	json_decref(cfg);
	cfg = json_pack("{s:s, s:s}", "sim_root", dir, "binary", "/nonexistent/enclave");
	assert_int_not_equal(atl_evidence_produce("sim", cfg, ekey, nonce, sizeof(nonce), &out),
			     ATL_OK);
	json_decref(cfg);
	assert_null(out);

	/* an accepted-looking key is only handed out for an accepted result */
	{
		struct atl_ar *ar = atl_ar_new("sim");
		uint8_t pub[ATL_X25519_LEN];

		assert_int_equal(atl_verify_enclave_key(ar, pub), ATL_E_POLICY);
		atl_ar_free(ar);
	}
}

/* Known answer: a wrapper captured from atoll-enclave (tests/vectors/sim/). */
static void test_vector(void **st)
{
	uint8_t *ev = NULL;
	size_t ev_len = 0;
	char *pem = read_text(ATL_SOURCE_DIR "/tests/vectors/sim", "sim-root.pub.pem");
	static const char meas[] = "18d837969a4c165d73c021482bcf5dbdfb33cc3fc028c5eb98eab21bbdb7947f"
				   "4d8bcef7d070f7c1b7a388e0e64d0edb";
	const uint8_t vnonce[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	json_t *p = json_pack("{s:[s], s:b, s:{s:[s]}, s:{s:s}}", "tee_types", "sim", "allow_sim",
			      1, "measurements", "sim", meas, "trust_anchors", "sim", pem);
	struct atl_ar *ar = NULL;

	(void)st;
	assert_int_equal(atl_file_read(ATL_SOURCE_DIR "/tests/vectors/sim/wrapper.json", 65536, &ev,
				       &ev_len),
			 ATL_OK);
	assert_int_equal(atl_verify_evidence(ev, ev_len, p, vnonce, sizeof(vnonce),
					     1795431866 + 10, NULL, &ar),
			 ATL_OK);
	assert_string_equal(json_string_value(atl_ar_get(ar, "measurement")), meas);
	assert_int_equal(json_integer_value(atl_ar_get(ar, "issued_at")), 1795431866);
	atl_ar_free(ar);
	/* the same vector, 301 s later: stale under the default max_age_s */
	assert_int_equal(atl_verify_evidence(ev, ev_len, p, vnonce, sizeof(vnonce),
					     1795431866 + 301, NULL, &ar),
			 ATL_E_POLICY);
	assert_string_equal(atl_ar_first_failure(ar), "age");
	atl_ar_free(ar);
	json_decref(p);
	free(pem);
	free(ev);
}

static void test_root_create(void **st)
{
	char path[256];
	struct stat sb;

	(void)st;
	/* never overwrites */
	assert_int_equal(atl_sim_root_create(dir), ATL_E_EXISTS);
	snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_KEY_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(atl_sim_root_create(""), ATL_E_ARG);
	/* sim is never auto-detected */
	assert_non_null(atl_tee_find("sim"));
	assert_null(atl_tee_find("sim")->detect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_policy_negatives),
		cmocka_unit_test(test_unknown_policy_field),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_wrapper_format),
		cmocka_unit_test(test_truncated_and_huge),
		cmocka_unit_test(test_wrap_produce_args),
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_root_create),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
