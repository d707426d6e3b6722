/* Unit tests for the tpm backend's verifier (no TPM needed): the real GCE
 * go-tpm-tools attestations and the openpcc event log from
 * tests/vectors/attestation/tpm/ (see PROVENANCE.md), trustee's generic TPM
 * evidence, synthetic quotes signed by a software AK, and the TPM cases of
 * NEGATIVE-TESTS.md (28-32) plus truncation and bit flips.
 * atl-test-deps: atoll_core atoll_crypto */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/tpm.h"

#define T_2026 1767225600 /* 2026-01-01T00:00:00Z, the TSV reference time */

static uint8_t *vec(const char *rel, size_t *len)
{
	char path[1024];
	const char *src = getenv("ATL_SOURCE_DIR");
	uint8_t *buf = NULL;

	snprintf(path, sizeof(path), "%s/tests/vectors/attestation/tpm/%s",
		 src != NULL ? src : ATL_SOURCE_DIR, rel);
	assert_int_equal(atl_file_read(path, 1u << 24, &buf, len), ATL_OK);
	return buf;
}

static const char *vpath(const char *rel)
{
	static char paths[4][1024];
	static int k;
	const char *src = getenv("ATL_SOURCE_DIR");
	char *p = paths[k++ % 4];

	snprintf(p, 1024, "%s/tests/vectors/attestation/tpm/%s", src != NULL ? src : ATL_SOURCE_DIR,
		 rel);
	return p;
}

/* Verifies and returns the result; *status_out the status. */
static struct atl_ar *run(const uint8_t *ev, size_t len, const json_t *policy,
			  const char *const *anchors, const char *const *collateral,
			  const uint8_t *nonce, size_t nonce_len, enum atl_err *rc_out)
{
	struct atl_verify_in in = {.now = T_2026,
				   .policy = policy,
				   .anchors = anchors,
				   .collateral = collateral};
	struct atl_ar *ar = atl_ar_new("tpm");

	assert_non_null(ar);
	*rc_out = atl_tpm_verify(ev, len, &in, nonce, nonce_len, ar);
	return ar;
}

/* ok state of the named check (-1 when absent). */
static int check_state(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar);
	json_t *checks = json_object_get(j, "checks"), *c;
	size_t i;
	int st = -1;

	json_array_foreach(checks, i, c) {
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

static const char *gce_roots[2];
static const char *gce_inter[2];

static void gce_paths(void)
{
	gce_roots[0] = vpath("go-tpm-tools/tpm_ek_root_1.cer");
	gce_roots[1] = NULL;
	gce_inter[0] = vpath("go-tpm-tools/tpm_ek_intermediate_2.crt");
	gce_inter[1] = NULL;
}

/* ---- GCE (go-tpm-tools protobuf) ---- */

static void test_gce_nonce9009(void **state)
{
	static const uint8_t nonce[] = {0x90, 0x09};
	size_t len;
	uint8_t *ev = vec("go-tpm-tools/gce-cos-85-nonce9009.pb", &len);
	enum atl_err rc;
	struct atl_ar *ar;

	(void)state;
	gce_paths();
	ar = run(ev, len, NULL, gce_roots, gce_inter, nonce, sizeof(nonce), &rc);
	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) == ATL_AR_CONTRAINDICATED)
		dump(ar);
	assert_int_not_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_int_equal(check_state(ar, "signature"), 1);
	assert_int_equal(check_state(ar, "pcr_digest"), 1);
	assert_int_equal(check_state(ar, "event_log"), 1);
	assert_int_equal(check_state(ar, "ak_trust"), 1);
	assert_int_equal(check_state(ar, "nonce"), 1);
	assert_string_equal(json_string_value(atl_ar_get(ar, "report_data")), "9009");
	if (getenv("ATL_TPM_TEST_DUMP") != NULL)
		dump(ar);
	atl_ar_free(ar);

	/* NEGATIVE-TESTS 4: a wrong expected nonce fails. */
	static const uint8_t wrong[] = {0x90, 0x0a};
	ar = run(ev, len, NULL, gce_roots, gce_inter, wrong, sizeof(wrong), &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_string_equal(atl_ar_first_failure(ar), "nonce");
	atl_ar_free(ar);

	/* NEGATIVE-TESTS 32: no roots → the AK is not trusted; Azure root → no. */
	ar = run(ev, len, NULL, NULL, gce_inter, nonce, sizeof(nonce), &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "ak_trust"), 0);
	atl_ar_free(ar);
	const char *azure[] = {vpath("openpcc/azure_tpm_root_2023.pem"), NULL};
	ar = run(ev, len, NULL, azure, gce_inter, nonce, sizeof(nonce), &rc);
	assert_int_equal(check_state(ar, "ak_trust"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(ev);
}

static void test_gce_no_nonce(void **state)
{
	size_t len;
	uint8_t *ev = vec("go-tpm-tools/gce-cos-85-no-nonce.pb", &len);
	enum atl_err rc;
	struct atl_ar *ar;

	(void)state;
	gce_paths();
	ar = run(ev, len, NULL, gce_roots, gce_inter, (const uint8_t *)"", 0, &rc);
	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) == ATL_AR_CONTRAINDICATED)
		dump(ar);
	assert_int_not_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_string_equal(json_string_value(atl_ar_get(ar, "report_data")), "");
	atl_ar_free(ar);
	free(ev);
}

static void test_gce_banks(void **state)
{
	size_t len;
	uint8_t *ev = vec("go-tpm-tools/gce-cos-85-nonce9009.pb", &len);
	enum atl_err rc;
	struct atl_ar *ar;
	json_t *p384 = json_pack("{s:[s], s:{s:s}}", "tee_types", "tpm", "tpm", "pcr_bank", "sha384");
	json_t *p1 = json_pack("{s:[s], s:{s:s}}", "tee_types", "tpm", "tpm", "pcr_bank", "sha1");

	(void)state;
	gce_paths();
	/* The SHA-384 quote verifies too, event log included. */
	ar = run(ev, len, p384, gce_roots, gce_inter, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) == ATL_AR_CONTRAINDICATED)
		dump(ar);
	assert_int_not_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_int_equal(check_state(ar, "event_log"), 1);
	atl_ar_free(ar);
	/* NEGATIVE-TESTS 31: SHA-1 refused unless allowed. */
	ar = run(ev, len, p1, gce_roots, gce_inter, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "quote_bank"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	json_decref(p384);
	json_decref(p1);
	free(ev);
}

/* NEGATIVE-TESTS 1: every signed part flipped fails. */
static void flip_and_expect(uint8_t *ev, size_t len, size_t off, const char *check)
{
	enum atl_err rc;
	struct atl_ar *ar;

	ev[off] ^= 1;
	ar = run(ev, len, NULL, gce_roots, gce_inter, NULL, 0, &rc);
	ev[off] ^= 1;
	if (rc == ATL_OK) {
		if (check_state(ar, check) != 0)
			dump(ar);
		assert_int_equal(check_state(ar, check), 0);
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	}
	atl_ar_free(ar);
}

static size_t find(const uint8_t *p, size_t n, const uint8_t *needle, size_t nn, size_t from)
{
	for (size_t i = from; i + nn <= n; i++) {
		if (memcmp(p + i, needle, nn) == 0)
			return i;
	}
	fail_msg("pattern not found");
	return 0;
}

static void test_gce_flips(void **state)
{
	static const uint8_t magic[] = {0xff, 0x54, 0x43, 0x47, 0x80, 0x18};
	static const uint8_t sig256[] = {0x00, 0x14, 0x00, 0x0b, 0x01, 0x00};
	size_t len, q1, q2, s2;
	uint8_t *ev = vec("go-tpm-tools/gce-cos-85-nonce9009.pb", &len);

	(void)state;
	gce_paths();
	q1 = find(ev, len, magic, sizeof(magic), 0);
	q2 = find(ev, len, magic, sizeof(magic), q1 + 1); /* the SHA-256 quote */
	s2 = find(ev, len, sig256, sizeof(sig256), q2);
	flip_and_expect(ev, len, q2 + 20, "signature");          /* clock info */
	flip_and_expect(ev, len, q2 + 1, "quote_magic");        /* magic (and signature) */
	flip_and_expect(ev, len, q2 + 5, "quote_type");         /* type */
	flip_and_expect(ev, len, q2 + 0x73 - 5, "signature");   /* pcrDigest */
	flip_and_expect(ev, len, s2 + 6 + 10, "signature");     /* signature bytes */
	flip_and_expect(ev, len, s2 + 6 + 255, "signature");    /* last signature byte */
	/* a PCR value of the SHA-256 quote (after the signature) */
	flip_and_expect(ev, len, s2 + 6 + 256 + 12, "pcr_digest");
	/* the AK certificate TBS (field 6 near the end) */
	flip_and_expect(ev, len, len - 1340 + 200, "ak_trust");
	/* the AK public area (field 1, at the start): key changes */
	flip_and_expect(ev, len, 3 + 200, "signature");
	free(ev);
}

/* NEGATIVE-TESTS 7: truncation at every structure boundary, no crash. */
static void test_gce_truncated(void **state)
{
	size_t len;
	uint8_t *ev = vec("go-tpm-tools/gce-cos-85-nonce9009.pb", &len);

	(void)state;
	gce_paths();
	for (size_t n = 0; n < len; n += (n < 1400 ? 1 : 97)) {
		enum atl_err rc;
		struct atl_ar *ar = run(ev, n, NULL, gce_roots, gce_inter, NULL, 0, &rc);

		if (rc == ATL_OK)
			assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
	free(ev);
}

/* ---- event log ---- */

static const char *const openpcc_pcrs[] = {
	"0CCA9EC161B09288802E5A112255D21340ED5B797F5FE29CECCCFD8F67B9F802",
	"2F232B75625EEEA98CA57AE8CEF11E4CD00FEB3515DC969430596E183997E804",
	"ECD11E957F3B751BAF5E1764F1FE56EC4ACE4D0F73236FD6A905676925357A32",
	"3D458CFE55CC03EA1F443F1562BEEC8DF51C75E14A9FCF9A7234A13F198E7969",
	"1BDC909E09F23D525D17EB72756C7966797C5D33C460F2327CB2C0072B345881",
	"A5CEB755D043F32431D63E39F5161464620A3437280494B5850DC1B47CC074E0",
	NULL,
	NULL,
	"D265F43867C6934D4D2E23B8D68E5E21567C3020B53A539A047078D81E493C8B",
};

static void test_evlog_openpcc(void **state)
{
	size_t len;
	uint8_t *log = vec("openpcc/test_tcg_event_log.derived.bin", &len);
	struct atl_tpm_pcrs *pcrs = malloc(sizeof(*pcrs));
	struct atl_tpm_evlog_result res;

	(void)state;
	assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA256, pcrs, &res), ATL_OK);
	assert_int_equal(res.n_events, 100); /* after the Spec ID event */
	assert_true(res.types_ok);
	for (unsigned i = 0; i < 9; i++) {
		uint8_t want[32];

		if (openpcc_pcrs[i] == NULL)
			continue;
		assert_int_equal(atl_hex_decode_exact(openpcc_pcrs[i], 64, want, 32), ATL_OK);
		assert_memory_equal(pcrs->value[i], want, 32);
		assert_true(res.covered & (1u << i));
	}
	/* SHA-384 bank replays too; SHA-1 is not replayed; unknown bank absent. */
	assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA384, pcrs, &res), ATL_OK);
	assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA1, pcrs, &res),
			 ATL_E_UNSUPPORTED);
	assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA512, pcrs, &res),
			 ATL_E_UNSUPPORTED);
	/* Truncation at every length fails cleanly, except exactly at an event
	 * boundary (a shorter log is well formed; its replay differs). */
	size_t n_ok = 0;
	for (size_t n = 0; n < len; n++) {
		if (atl_tpm_evlog_replay(log, n, ATL_TPM_ALG_SHA256, pcrs, &res) == ATL_OK)
			n_ok++;
	}
	assert_true(n_ok <= 100);
	free(pcrs);
	free(log);
}

/* Offsets of the events (after the Spec ID event) in a SHA1+SHA256+SHA384 log. */
static size_t event_offsets(const uint8_t *log, size_t len, size_t *off, size_t max)
{
	struct atl_rd r;
	uint32_t u32, n, size, count;
	uint16_t alg;
	size_t k = 0;

	atl_rd_init(&r, log, len);
	assert_int_equal(atl_rd_skip(&r, 28), ATL_OK);
	assert_int_equal(atl_rd_u32le(&r, &size), ATL_OK);
	assert_int_equal(atl_rd_skip(&r, size), ATL_OK);
	while (atl_rd_left(&r) > 0 && k < max) {
		off[k++] = r.pos;
		assert_int_equal(atl_rd_u32le(&r, &u32), ATL_OK);
		assert_int_equal(atl_rd_u32le(&r, &u32), ATL_OK);
		assert_int_equal(atl_rd_u32le(&r, &count), ATL_OK);
		for (n = 0; n < count; n++) {
			assert_int_equal(atl_rd_u16le(&r, &alg), ATL_OK);
			assert_int_equal(atl_rd_skip(&r, atl_tpm_hash_len(alg)), ATL_OK);
		}
		assert_int_equal(atl_rd_u32le(&r, &size), ATL_OK);
		assert_int_equal(atl_rd_skip(&r, size), ATL_OK);
	}
	return k;
}

/* NEGATIVE-TESTS 30: relabelled event types are refused. */
static void test_evlog_types(void **state)
{
	size_t len, off[256], n;
	uint8_t *log = vec("openpcc/test_tcg_event_log.derived.bin", &len);
	struct atl_tpm_pcrs *pcrs = malloc(sizeof(*pcrs));
	struct atl_tpm_evlog_result res;
	bool did_sep = false;

	(void)state;
	n = event_offsets(log, len, off, 256);
	for (size_t i = 0; i < n && !did_sep; i++) {
		uint32_t pcr = log[off[i]], type = (uint32_t)log[off[i] + 4] |
						   (uint32_t)log[off[i] + 5] << 8;

		if (pcr < 8 && type == 4 && log[off[i] + 6] == 0 && log[off[i] + 7] == 0) {
			log[off[i] + 4] = 5; /* EV_SEPARATOR -> EV_ACTION */
			assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA256, pcrs,
							      &res),
					 ATL_OK);
			assert_false(res.types_ok);
			log[off[i] + 4] = 0x02; /* EV_UNUSED: unknown */
			assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA256, pcrs,
							      &res),
					 ATL_OK);
			assert_false(res.types_ok);
			log[off[i] + 4] = 4;
			did_sep = true;
		}
	}
	assert_true(did_sep);
	assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA256, pcrs, &res), ATL_OK);
	assert_true(res.types_ok);
	/* A PCR index out of range and a huge event size are refused. */
	log[off[3]] = 24;
	assert_int_equal(atl_tpm_evlog_replay(log, len, ATL_TPM_ALG_SHA256, pcrs, &res),
			 ATL_E_FORMAT);
	log[off[3]] = 0;
	free(pcrs);
	free(log);
}

/* ---- trustee generic evidence ---- */

static void test_trustee(void **state)
{
	size_t len;
	uint8_t *ev = vec("trustee/tpm_evidence.json", &len);
	json_t *j = NULL, *pol;
	const char *spki_b64;
	uint8_t *der = NULL;
	size_t der_len = 0;
	struct atl_pubkey *k = NULL;
	char *pem = NULL;
	enum atl_err rc;
	struct atl_ar *ar;

	(void)state;
	assert_int_equal(atl_json_parse((const char *)ev, len, &j), ATL_OK);
	assert_int_equal(atl_json_get_str(j, "ak_public", &spki_b64), ATL_OK);
	assert_int_equal(atl_b64_decode(spki_b64, strlen(spki_b64), ATL_B64_STD, &der, &der_len),
			 ATL_OK);
	assert_int_equal(atl_pubkey_parse(der, der_len, &k), ATL_OK);
	assert_int_equal(atl_pubkey_to_pem(k, &pem), ATL_OK);
	/* Not pinned: the AK is not trusted. */
	ar = run(ev, len, NULL, NULL, NULL, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "signature"), 1);
	assert_int_equal(check_state(ar, "ak_trust"), 0);
	atl_ar_free(ar);
	/* Pinned by key: signature and trust hold. */
	pol = json_pack("{s:[s], s:{s:[s]}}", "tee_types", "tpm", "tpm", "ak_keys", pem);
	ar = run(ev, len, pol, NULL, NULL, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "signature"), 1);
	assert_int_equal(check_state(ar, "ak_trust"), 1);
	assert_int_equal(check_state(ar, "pcr_digest"), 1);
	atl_ar_free(ar);
	json_decref(pol);
	json_decref(j);
	atl_pubkey_free(k);
	free(pem);
	free(der);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gce_nonce9009),  cmocka_unit_test(test_gce_no_nonce),
		cmocka_unit_test(test_gce_banks),      cmocka_unit_test(test_gce_flips),
		cmocka_unit_test(test_gce_truncated),  cmocka_unit_test(test_evlog_openpcc),
		cmocka_unit_test(test_evlog_types),    cmocka_unit_test(test_trustee),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
