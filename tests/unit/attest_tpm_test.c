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

	/* NEGATIVE-TESTS 6: outside the AK certificate's validity. */
	{
		struct atl_verify_in in = {.now = 2608243200 /* 2052-08-25 */,
					   .anchors = gce_roots,
					   .collateral = gce_inter};

		ar = atl_ar_new("tpm");
		assert_int_equal(atl_tpm_verify(ev, len, &in, nonce, sizeof(nonce), ar), ATL_OK);
		assert_int_equal(check_state(ar, "ak_trust"), 0);
		atl_ar_free(ar);
		in.now = 1630000000; /* 2021-08-26, before notBefore */
		ar = atl_ar_new("tpm");
		assert_int_equal(atl_tpm_verify(ev, len, &in, nonce, sizeof(nonce), ar), ATL_OK);
		assert_int_equal(check_state(ar, "ak_trust"), 0);
		atl_ar_free(ar);
	}
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


/* ---- synthetic quotes signed by a software AK (NEGATIVE-TESTS 28, 29) ---- */

struct synth {
	uint32_t magic;
	uint16_t type;
	uint32_t attrs;
	uint16_t sig_hash;   /* hash in TPMT_SIGNATURE */
	uint16_t sig_alg;
	uint8_t safe;
	uint32_t sel_mask;   /* quoted PCRs */
	uint32_t offer_mask; /* PCR values offered */
	uint8_t pcr23[32];
	const uint8_t *meas; /* measurement claimed (48 bytes) or NULL */
	uint8_t extra[32];
};

static void synth_defaults(struct synth *s)
{
	static const uint8_t m[48] = {1, 2, 3};

	memset(s, 0, sizeof(*s));
	s->magic = ATL_TPM_GENERATED_VALUE;
	s->type = ATL_TPM_ST_ATTEST_QUOTE;
	s->attrs = 0x00050072; /* fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign */
	s->sig_hash = ATL_TPM_ALG_SHA256;
	s->sig_alg = ATL_TPM_ALG_ECDSA;
	s->safe = 1;
	s->sel_mask = 1u << 23;
	s->offer_mask = 1u << 23;
	s->meas = m;
	assert_int_equal(atl_tpm_expected_pcr(m, 48, s->pcr23), ATL_OK);
	memset(s->extra, 0xab, sizeof(s->extra));
}

static void wr_ok(enum atl_err rc)
{
	assert_int_equal(rc, ATL_OK);
}

static char *b64(const uint8_t *p, size_t n)
{
	char *out = NULL;

	assert_int_equal(atl_b64_encode(p, n, ATL_B64_STD, &out), ATL_OK);
	return out;
}

/* Builds Atoll evidence (JSON text) and the AK name (hex) to pin. */
static uint8_t *synth_build(const struct synth *s, size_t *len, char name_hex[80])
{
	struct atl_privkey *sk = NULL;
	struct atl_pubkey *pk = NULL;
	struct atl_tpm_public tp;
	struct atl_wr pub, att, sig;
	uint8_t *pt = NULL, *pub_b = NULL, *att_b = NULL, *sig_b = NULL, *rs = NULL, dg[32];
	uint8_t zero[32] = {0};
	size_t pt_len = 0, pub_len = 0, att_len = 0, sig_len = 0, rs_len = 0;
	char *p64, *a64, *s64, hex[97], *txt;
	json_t *ev, *vals;

	assert_int_equal(atl_privkey_generate_ec(256, &sk), ATL_OK);
	assert_int_equal(atl_privkey_public(sk, &pk), ATL_OK);
	assert_int_equal(atl_pubkey_ec_point(pk, &pt, &pt_len), ATL_OK);
	/* TPMT_PUBLIC (ECC P-256, ECDSA/SHA-256) */
	atl_wr_init(&pub, 1024, false);
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ALG_ECC));
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ALG_SHA256));
	wr_ok(atl_wr_u32be(&pub, s->attrs));
	wr_ok(atl_wr_u16be(&pub, 0));
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ALG_NULL));
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ALG_ECDSA));
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ALG_SHA256));
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ECC_NIST_P256));
	wr_ok(atl_wr_u16be(&pub, ATL_TPM_ALG_NULL));
	wr_ok(atl_wr_u16be(&pub, 32));
	wr_ok(atl_wr_bytes(&pub, pt + 1, 32));
	wr_ok(atl_wr_u16be(&pub, 32));
	wr_ok(atl_wr_bytes(&pub, pt + 33, 32));
	wr_ok(atl_wr_take(&pub, &pub_b, &pub_len));
	assert_int_equal(atl_tpm_public_parse(pub_b, pub_len, &tp), ATL_OK);
	assert_int_equal(atl_hex_encode(tp.name, tp.name_len, name_hex, 80), ATL_OK);
	atl_tpm_public_clear(&tp);
	/* pcrDigest over PCR 23 (others zero) */
	{
		struct atl_hash_ctx *h = NULL;

		assert_int_equal(atl_hash_new(ATL_HASH_SHA256, &h), ATL_OK);
		for (unsigned i = 0; i < 24; i++) {
			if (s->sel_mask & (1u << i))
				assert_int_equal(atl_hash_update(h, i == 23 ? s->pcr23 : zero, 32),
						 ATL_OK);
		}
		assert_int_equal(atl_hash_final(h, dg), ATL_OK);
		atl_hash_free(h);
	}
	/* TPMS_ATTEST */
	atl_wr_init(&att, 1024, false);
	wr_ok(atl_wr_u32be(&att, s->magic));
	wr_ok(atl_wr_u16be(&att, s->type));
	wr_ok(atl_wr_u16be(&att, 34));
	wr_ok(atl_wr_bytes(&att, zero, 32));
	wr_ok(atl_wr_u16be(&att, 0x000b));
	wr_ok(atl_wr_u16be(&att, 32));
	wr_ok(atl_wr_bytes(&att, s->extra, 32));
	wr_ok(atl_wr_u64be(&att, 1234));
	wr_ok(atl_wr_u32be(&att, 1));
	wr_ok(atl_wr_u32be(&att, 0));
	wr_ok(atl_wr_u8(&att, s->safe));
	wr_ok(atl_wr_u64be(&att, 0x2019102300000000ull));
	wr_ok(atl_wr_u32be(&att, 1));
	wr_ok(atl_wr_u16be(&att, ATL_TPM_ALG_SHA256));
	wr_ok(atl_wr_u8(&att, 3));
	wr_ok(atl_wr_u8(&att, (uint8_t)s->sel_mask));
	wr_ok(atl_wr_u8(&att, (uint8_t)(s->sel_mask >> 8)));
	wr_ok(atl_wr_u8(&att, (uint8_t)(s->sel_mask >> 16)));
	wr_ok(atl_wr_u16be(&att, 32));
	wr_ok(atl_wr_bytes(&att, dg, 32));
	wr_ok(atl_wr_take(&att, &att_b, &att_len));
	/* TPMT_SIGNATURE */
	assert_int_equal(atl_sig_sign(sk, s->sig_hash == ATL_TPM_ALG_SHA384
						 ? ATL_SIG_ECDSA_P256_SHA384
						 : ATL_SIG_ECDSA_P256_SHA256,
				      ATL_SIG_FMT_RAW_RS, att_b, att_len, &rs, &rs_len),
			 ATL_OK);
	atl_wr_init(&sig, 1024, false);
	wr_ok(atl_wr_u16be(&sig, s->sig_alg));
	if (s->sig_alg == ATL_TPM_ALG_ECDSA) {
		wr_ok(atl_wr_u16be(&sig, s->sig_hash));
		wr_ok(atl_wr_u16be(&sig, 32));
		wr_ok(atl_wr_bytes(&sig, rs, 32));
		wr_ok(atl_wr_u16be(&sig, 32));
		wr_ok(atl_wr_bytes(&sig, rs + 32, 32));
	}
	wr_ok(atl_wr_take(&sig, &sig_b, &sig_len));

	p64 = b64(pub_b, pub_len);
	a64 = b64(att_b, att_len);
	s64 = b64(sig_b, sig_len);
	vals = json_object();
	for (unsigned i = 0; i < 24; i++) {
		char k[4];

		if (!(s->offer_mask & (1u << i)))
			continue;
		snprintf(k, sizeof(k), "%u", i);
		assert_int_equal(atl_hex_encode(i == 23 ? s->pcr23 : zero, 32, hex, sizeof(hex)),
				 ATL_OK);
		json_object_set_new(vals, k, json_string(hex));
	}
	ev = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:o}}", "format", "atoll-tpm-v1", "ak_pub",
		       p64, "quote", a64, "signature", s64, "pcrs", "bank", "sha256", "values", vals);
	assert_non_null(ev);
	if (s->meas != NULL) {
		assert_int_equal(atl_hex_encode(s->meas, 48, hex, sizeof(hex)), ATL_OK);
		json_object_set_new(ev, "measurement", json_string(hex));
		json_object_set_new(ev, "measurement_pcr", json_integer(23));
	}
	txt = atl_json_dump(ev);
	*len = strlen(txt);
	json_decref(ev);
	free(p64);
	free(a64);
	free(s64);
	free(pub_b);
	free(att_b);
	free(sig_b);
	free(rs);
	free(pt);
	atl_pubkey_free(pk);
	atl_privkey_free(sk);
	return (uint8_t *)txt;
}

static json_t *pin_policy(const char *name_hex)
{
	json_t *p = json_pack("{s:[s], s:{s:[s]}}", "tee_types", "tpm", "tpm", "ak_names", name_hex);

	assert_non_null(p);
	return p;
}

/* Builds, verifies against a policy pinning the AK, expects check == ok. */
static void synth_expect(const struct synth *s, const char *check, int ok, json_t *extra_sec)
{
	char name[80];
	size_t len;
	uint8_t *ev = synth_build(s, &len, name);
	json_t *pol = pin_policy(name);
	enum atl_err rc;
	struct atl_ar *ar;

	if (extra_sec != NULL)
		json_object_update(json_object_get(pol, "tpm"), extra_sec);
	ar = run(ev, len, pol, NULL, NULL, s->extra, sizeof(s->extra), &rc);
	assert_int_equal(rc, ATL_OK);
	if (check_state(ar, check) != ok)
		dump(ar);
	assert_int_equal(check_state(ar, check), ok);
	if (!ok)
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	json_decref(pol);
	free(ev);
}

static void test_synth_ok(void **state)
{
	struct synth s;
	char name[80];
	size_t len;
	uint8_t *ev;
	json_t *pol;
	enum atl_err rc;
	struct atl_ar *ar;

	(void)state;
	synth_defaults(&s);
	ev = synth_build(&s, &len, name);
	pol = pin_policy(name);
	ar = run(ev, len, pol, NULL, NULL, s.extra, sizeof(s.extra), &rc);
	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) != ATL_AR_AFFIRMING)
		dump(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_int_equal(check_state(ar, "measurement"), 1);
	atl_ar_free(ar);
	/* Not pinned: the AK is not trusted (NEGATIVE-TESTS 32). */
	ar = run(ev, len, NULL, NULL, NULL, s.extra, sizeof(s.extra), &rc);
	assert_int_equal(check_state(ar, "ak_trust"), 0);
	atl_ar_free(ar);
	json_decref(pol);
	free(ev);
}

static void test_synth_negatives(void **state)
{
	struct synth s;
	json_t *sec;

	(void)state;
	/* NEGATIVE-TESTS 29: TPM2_Sign over a fake TPMS_ATTEST. */
	synth_defaults(&s);
	s.magic = 0xff544348;
	synth_expect(&s, "quote_magic", 0, NULL);
	synth_expect(&s, "signature", 1, NULL);
	synth_defaults(&s);
	s.type = 0x8017; /* TPM_ST_ATTEST_CERTIFY */
	synth_expect(&s, "quote_type", 0, NULL);
	/* An AK that is not a restricted signing key. */
	synth_defaults(&s);
	s.attrs &= ~ATL_TPMA_RESTRICTED;
	synth_expect(&s, "ak_public", 0, NULL);
	/* Signature hash other than the AK's scheme. */
	synth_defaults(&s);
	s.sig_hash = ATL_TPM_ALG_SHA384;
	synth_expect(&s, "signature", 0, NULL);
	/* TPM_ALG_NULL signature. */
	synth_defaults(&s);
	s.sig_alg = ATL_TPM_ALG_NULL;
	synth_expect(&s, "signature", 0, NULL);
	/* NEGATIVE-TESTS 28: values offered for PCRs the quote does not cover. */
	synth_defaults(&s);
	s.offer_mask |= 1u << 7;
	synth_expect(&s, "pcr_selection", 0, NULL);
	/* A quote over no PCR at all proves nothing about the machine. */
	synth_defaults(&s);
	s.sel_mask = 0;
	s.offer_mask = 0;
	s.meas = NULL;
	synth_expect(&s, "pcr_selection", 0, NULL);
	/* A quote that omits a PCR the offer needs. */
	synth_defaults(&s);
	s.sel_mask |= 1u << 4;
	synth_expect(&s, "pcr_digest", 0, NULL);
	/* TPMI_YES_NO out of range. */
	synth_defaults(&s);
	s.safe = 2;
	synth_expect(&s, "clock", 0, NULL);
	/* Measurement claimed ≠ PCR 23. */
	synth_defaults(&s);
	s.pcr23[0] ^= 1;
	synth_expect(&s, "measurement", 0, NULL);
	/* Policy PCRs: one not quoted, one different. */
	synth_defaults(&s);
	sec = json_pack("{s:{s:s}}", "pcrs", "0",
			"0000000000000000000000000000000000000000000000000000000000000000");
	synth_expect(&s, "pcr_policy", 0, sec);
	json_decref(sec);
	sec = json_pack("{s:{s:s}}", "pcrs", "23",
			"1111111111111111111111111111111111111111111111111111111111111111");
	synth_expect(&s, "pcr_policy", 0, sec);
	json_decref(sec);
	/* Measurement PCR other than the policy's. */
	sec = json_pack("{s:i}", "measurement_pcr", 16);
	synth_expect(&s, "measurement", 0, sec);
	json_decref(sec);
	/* Event log required but absent. */
	sec = json_pack("{s:b}", "require_event_log", 1);
	synth_expect(&s, "event_log", 0, sec);
	json_decref(sec);
	/* A bad policy section is reported, not trusted. */
	sec = json_pack("{s:s}", "pcr_bank", "md5");
	synth_expect(&s, "tpm_policy", 0, sec);
	json_decref(sec);
}

static void test_policy_validate(void **state)
{
	static const char *const bad[] = {
		"{\"nope\":1}",
		"{\"pcr_bank\":\"md5\"}",
		"{\"pcr_bank\":7}",
		"{\"allow_sha1\":\"yes\"}",
		"{\"require_event_log\":1}",
		"{\"measurement_pcr\":24}",
		"{\"measurement_pcr\":-1}",
		"{\"pcrs\":{}}",
		"{\"pcrs\":{\"24\":\"00\"}}",
		"{\"pcrs\":{\"07\":\"00\"}}",
		"{\"pcrs\":{\"x\":\"00\"}}",
		"{\"pcrs\":{\"7\":\"00\"}}",
		"{\"pcrs\":{\"7\":5}}",
		"{\"ak_names\":[]}",
		"{\"ak_names\":[1]}",
		"{\"activation_keys\":\"pem\"}",
		"{\"intermediates\":[\"\"]}",
		NULL,
	};
	char why[200];
	json_t *j = NULL;

	(void)state;
	assert_int_equal(atl_tpm_policy_validate(NULL, why, sizeof(why)), ATL_OK);
	for (size_t i = 0; bad[i] != NULL; i++) {
		assert_int_equal(atl_json_parse(bad[i], strlen(bad[i]), &j), ATL_OK);
		why[0] = '\0';
		assert_int_equal(atl_tpm_policy_validate(j, why, sizeof(why)), ATL_E_FORMAT);
		assert_true(strncmp(why, "policy: tpm.", 12) == 0);
		json_decref(j);
	}
	assert_int_equal(atl_json_parse("{\"pcr_bank\":\"sha384\",\"pcrs\":{\"0\":\"" 
					"000000000000000000000000000000000000000000000000"
					"000000000000000000000000000000000000000000000000\"},"
					"\"allow_sha1\":false,\"measurement_pcr\":16}",
					strlen("{\"pcr_bank\":\"sha384\",\"pcrs\":{\"0\":\"" 
					       "000000000000000000000000000000000000000000000000"
					       "000000000000000000000000000000000000000000000000\"},"
					       "\"allow_sha1\":false,\"measurement_pcr\":16}"),
					&j),
			 ATL_OK);
	assert_int_equal(atl_tpm_policy_validate(j, why, sizeof(why)), ATL_OK);
	json_decref(j);
	/* policy init writes a section that validates */
	{
		uint8_t m[48] = {9};

		assert_int_equal(atl_tpm_policy_init(m, sizeof(m), 23, &j), ATL_OK);
		assert_int_equal(atl_tpm_policy_validate(j, why, sizeof(why)), ATL_OK);
		json_decref(j);
		assert_int_equal(atl_tpm_policy_init(m, sizeof(m), 24, &j), ATL_E_ARG);
	}
}

static void test_activation_record(void **state)
{
	struct atl_privkey *k = NULL, *other = NULL;
	struct atl_pubkey *pk = NULL, *opk = NULL;
	uint8_t name[34] = {0x00, 0x0b, 1, 2, 3}, fp[32] = {7};
	json_t *rec = NULL, *bad;

	(void)state;
	assert_int_equal(atl_privkey_generate_ec(384, &k), ATL_OK);
	assert_int_equal(atl_privkey_generate_ec(384, &other), ATL_OK);
	assert_int_equal(atl_privkey_public(k, &pk), ATL_OK);
	assert_int_equal(atl_privkey_public(other, &opk), ATL_OK);
	assert_int_equal(atl_tpm_activation_sign(k, name, sizeof(name), fp, 1000, &rec), ATL_OK);
	assert_int_equal(atl_tpm_activation_verify(rec, pk, name, sizeof(name), fp), ATL_OK);
	/* another signer, another AK, another EK */
	assert_int_equal(atl_tpm_activation_verify(rec, opk, name, sizeof(name), fp), ATL_E_AUTH);
	name[5] ^= 1;
	assert_int_equal(atl_tpm_activation_verify(rec, pk, name, sizeof(name), fp), ATL_E_POLICY);
	name[5] ^= 1;
	fp[3] ^= 1;
	assert_int_equal(atl_tpm_activation_verify(rec, pk, name, sizeof(name), fp), ATL_E_POLICY);
	fp[3] ^= 1;
	/* edited fields break the signature; unknown fields and versions refused */
	bad = json_deep_copy(rec);
	json_object_set_new(bad, "issued_at", json_integer(1001));
	assert_int_equal(atl_tpm_activation_verify(bad, pk, name, sizeof(name), fp), ATL_E_AUTH);
	json_object_set_new(bad, "extra", json_true());
	assert_int_equal(atl_tpm_activation_verify(bad, pk, name, sizeof(name), fp), ATL_E_FORMAT);
	json_decref(bad);
	bad = json_deep_copy(rec);
	json_object_set_new(bad, "v", json_integer(2));
	assert_int_equal(atl_tpm_activation_verify(bad, pk, name, sizeof(name), fp),
			 ATL_E_UNSUPPORTED);
	json_decref(bad);
	assert_int_equal(atl_tpm_activation_sign(k, name, 0, fp, 1, &bad), ATL_E_ARG);
	json_decref(rec);
	atl_pubkey_free(pk);
	atl_pubkey_free(opk);
	atl_privkey_free(k);
	atl_privkey_free(other);
}

/* A wrapper around native evidence (countersign reads only "evidence"). */
static char *wrap(const uint8_t *ev, size_t len)
{
	char *e = b64(ev, len), *w;
	json_t *j = json_pack("{s:i, s:s, s:s}", "v", 1, "tee", "tpm", "evidence", e);

	w = atl_json_dump(j);
	json_decref(j);
	free(e);
	return w;
}

/* The native evidence of a wrapper (edited by fn when not NULL). */
static uint8_t *unwrap(const char *w, size_t *len, void (*fn)(json_t *))
{
	json_t *j = NULL, *nat = NULL;
	uint8_t *raw = NULL;
	size_t n = 0;
	char *txt;

	assert_int_equal(atl_json_parse(w, strlen(w), &j), ATL_OK);
	assert_int_equal(atl_json_get_b64(j, "evidence", 1u << 20, &raw, &n), ATL_OK);
	assert_int_equal(atl_json_parse((const char *)raw, n, &nat), ATL_OK);
	if (fn != NULL)
		fn(nat);
	txt = atl_json_dump(nat);
	*len = strlen(txt);
	json_decref(j);
	json_decref(nat);
	free(raw);
	return (uint8_t *)txt;
}

static void edit_time(json_t *nat)
{
	json_t *f = json_object_get(nat, "freshness");

	json_object_set_new(f, "issued_at", json_integer(json_integer_value(
						json_object_get(f, "issued_at")) + 600));
}

/* A verifier's countersignature gives tpm evidence a time (issued_at) only
 * under a pinned activation key, for this AK and this quote's qualifying data. */
static void test_freshness(void **state)
{
	struct synth s, s2;
	struct atl_privkey *k = NULL, *other = NULL;
	struct atl_pubkey *pk = NULL;
	char name[80], name2[80], *pem = NULL, *w = NULL, *cs = NULL, *w2 = NULL, *cs2 = NULL;
	uint8_t *ev, *ev2, *nat;
	size_t len, len2, nl;
	json_t *pol;
	struct atl_ar *ar;
	enum atl_err rc;

	(void)state;
	assert_int_equal(atl_privkey_generate_ec(384, &k), ATL_OK);
	assert_int_equal(atl_privkey_generate_ec(384, &other), ATL_OK);
	assert_int_equal(atl_privkey_public(k, &pk), ATL_OK);
	assert_int_equal(atl_pubkey_to_pem(pk, &pem), ATL_OK);
	synth_defaults(&s);
	ev = synth_build(&s, &len, name);
	pol = pin_policy(name);
	json_object_set_new(json_object_get(pol, "tpm"), "activation_keys", json_pack("[s]", pem));
	w = wrap(ev, len);
	assert_int_equal(atl_tpm_countersign(w, strlen(w), k, T_2026 - 5, &cs), ATL_OK);
	/* verified without a nonce: its time is the countersignature's */
	nat = unwrap(cs, &nl, NULL);
	ar = run(nat, nl, pol, NULL, NULL, NULL, 0, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "freshness"), 1);
	assert_int_equal(json_integer_value(atl_ar_get(ar, "issued_at")), T_2026 - 5);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	free(nat);
	/* edited time */
	nat = unwrap(cs, &nl, edit_time);
	ar = run(nat, nl, pol, NULL, NULL, NULL, 0, &rc);
	assert_int_equal(check_state(ar, "freshness"), 0);
	assert_null(atl_ar_get(ar, "issued_at"));
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(nat);
	/* signed by a key the policy does not pin */
	free(cs);
	cs = NULL;
	assert_int_equal(atl_tpm_countersign(w, strlen(w), other, T_2026, &cs), ATL_OK);
	nat = unwrap(cs, &nl, NULL);
	ar = run(nat, nl, pol, NULL, NULL, NULL, 0, &rc);
	assert_int_equal(check_state(ar, "freshness"), 0);
	atl_ar_free(ar);
	free(nat);
	/* a record for another quote (other qualifying data) moved onto this one */
	synth_defaults(&s2);
	memset(s2.extra, 0xcd, sizeof(s2.extra));
	ev2 = synth_build(&s2, &len2, name2);
	w2 = wrap(ev2, len2);
	assert_int_equal(atl_tpm_countersign(w2, strlen(w2), k, T_2026, &cs2), ATL_OK);
	{
		json_t *a = NULL, *b = NULL;
		uint8_t *n2 = unwrap(cs2, &nl, NULL);
		char *txt;

		assert_int_equal(atl_json_parse((const char *)ev, len, &a), ATL_OK);
		assert_int_equal(atl_json_parse((const char *)n2, nl, &b), ATL_OK);
		json_object_set(a, "freshness", json_object_get(b, "freshness"));
		txt = atl_json_dump(a);
		ar = run((const uint8_t *)txt, strlen(txt), pol, NULL, NULL, NULL, 0, &rc);
		assert_int_equal(check_state(ar, "freshness"), 0);
		atl_ar_free(ar);
		free(txt);
		free(n2);
		json_decref(a);
		json_decref(b);
	}
	/* only Atoll evidence carries one; garbage is not a wrapper */
	free(cs2);
	cs2 = NULL;
	assert_int_not_equal(atl_tpm_countersign("{}", 2, k, T_2026, &cs2), ATL_OK);
	assert_null(cs2);
	json_decref(pol);
	free(ev);
	free(ev2);
	free(w);
	free(w2);
	free(cs);
	free(cs2);
	free(pem);
	atl_pubkey_free(pk);
	atl_privkey_free(k);
	atl_privkey_free(other);
}

static void test_make_credential_args(void **state)
{
	size_t len;
	uint8_t *pb = vec("go-tpm-tools/gce-cos-85-nonce9009.pb", &len);
	const uint8_t *ak = pb + 3; /* field 1: TPMT_PUBLIC, 280 bytes */
	uint8_t cred[32] = {1};
	struct atl_tpm_challenge ch;

	(void)state;
	/* The GCE AK is a signing key, not an EK: refused as EK. */
	assert_int_equal(atl_tpm_make_credential(ak, 280, ak, 280, cred, 32, &ch),
			 ATL_E_UNSUPPORTED);
	assert_int_equal(atl_tpm_make_credential(ak, 280, ak, 280, cred, 0, &ch), ATL_E_ARG);
	assert_int_equal(atl_tpm_make_credential(ak, 280, ak, 280, cred, 33, &ch), ATL_E_ARG);
	assert_int_equal(atl_tpm_make_credential(ak, 279, ak, 280, cred, 32, &ch), ATL_E_TRUNCATED);
	assert_null(ch.blob);
	free(pb);
}

static void test_decode_errors(void **state)
{
	static const char *const bad[] = {
		"{\"format\":\"other\"}",
		"{\"format\":\"atoll-tpm-v1\"}",
		"{\"format\":\"atoll-tpm-v1\",\"zzz\":1}",
		"{\"unknown\":1}",
		"{\"ak_public\":\"AAAA\",\"tpm_quote\":{\"message\":\"AAAA\",\"signature\":\"AAAA\","
		"\"pcrs\":[]}}",
		"{",
		"\x0a\xff\xff\xff\xff\x0f",
		"\x0b",
		NULL,
	};

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		enum atl_err rc;
		struct atl_ar *ar = run((const uint8_t *)bad[i], strlen(bad[i]), NULL, NULL, NULL,
					NULL, 0, &rc);

		if (rc == ATL_OK)
			assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
	}
}


/* ---- Azure CVM vTPM (trustee az-snp-vtpm / az-tdx-vtpm) ---- */

#define T_AZURE 1771545600 /* 2026-02-20T00:00:00Z */

static struct atl_ar *run_at(const uint8_t *ev, size_t len, int64_t now, const uint8_t *nonce,
			     size_t nonce_len, enum atl_err *rc)
{
	struct atl_verify_in in = {.now = now};
	struct atl_ar *ar = atl_ar_new("tpm");

	assert_non_null(ar);
	*rc = atl_tpm_verify(ev, len, &in, nonce, nonce_len, ar);
	return ar;
}

static void azure_ok(const char *rel, const uint8_t *nonce, size_t nonce_len, const char *pcr0)
{
	size_t len;
	uint8_t *ev = vec(rel, &len);
	enum atl_err rc;
	struct atl_ar *ar = run_at(ev, len, T_AZURE, nonce, nonce_len, &rc);

	assert_int_equal(rc, ATL_OK);
	if (atl_ar_status(ar) == ATL_AR_CONTRAINDICATED || getenv("ATL_TPM_TEST_DUMP") != NULL)
		dump(ar);
	assert_int_not_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_int_equal(check_state(ar, "hcl_binding"), 1);
	assert_int_equal(check_state(ar, "hw_report"), 1);
	assert_int_equal(check_state(ar, "vmpl"), 1);
	assert_int_equal(check_state(ar, "signature"), 1);
	assert_int_equal(check_state(ar, "nonce"), 1);
	assert_int_equal(check_state(ar, "ak_trust"), 1);
	atl_ar_free(ar);
	(void)pcr0;
	/* NEGATIVE-TESTS 33: another nonce fails (and user-data with it). */
	ar = run_at(ev, len, T_AZURE, (const uint8_t *)"123abc", 6, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "nonce"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(ev);
}

static void test_azure_snp(void **state)
{
	static const char v2_nonce[] = "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c1616"
				       "8cd6ae9aa398f647caa2338748cd0fd9f5f819ef";
	uint8_t n2[48];

	(void)state;
	azure_ok("trustee-az-snp-vtpm/evidence-v0.json", (const uint8_t *)"challenge", 9, "e15c4479");
	azure_ok("trustee-az-snp-vtpm/evidence-v1.json", (const uint8_t *)"challenge", 9, "e15c4479");
	assert_int_equal(atl_hex_decode_exact(v2_nonce, 96, n2, 48), ATL_OK);
	azure_ok("trustee-az-snp-vtpm/evidence-v2.json", n2, sizeof(n2), "84275b2f");
}

/* NEGATIVE-TESTS 33: changed HCL variable data breaks the binding. */
static void test_azure_tamper(void **state)
{
	size_t len, off;
	uint8_t *ev = vec("trustee-az-snp-vtpm/evidence-v0.json", &len);
	json_t *j = NULL, *rep;
	char *txt;
	enum atl_err rc;
	struct atl_ar *ar;

	(void)state;
	assert_int_equal(atl_json_parse((const char *)ev, len, &j), ATL_OK);
	rep = json_object_get(j, "report"); /* v0: byte array */
	off = 32 + 1184 + 20 + 100;          /* inside the variable data (the AK modulus) */
	json_array_set_new(rep, off, json_integer((json_integer_value(json_array_get(rep, off)) ^ 1)));
	txt = atl_json_dump(j);
	ar = run_at((const uint8_t *)txt, strlen(txt), T_AZURE, (const uint8_t *)"challenge", 9, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_state(ar, "hcl_binding"), 0);
	assert_int_equal(check_state(ar, "ak_trust"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(txt);
	json_decref(j);
	free(ev);
}

/* TDX: no TDX collateral in the samples, so the TD quote cannot reach a
 * verified TCB: the TPM parts verify, the hardware report is refused. */
static void test_azure_tdx(void **state)
{
	size_t len;
	uint8_t *ev = vec("trustee-az-tdx-vtpm/evidence-v1.json", &len);
	enum atl_err rc;
	struct atl_ar *ar = run_at(ev, len, T_AZURE, (const uint8_t *)"challenge", 9, &rc);

	(void)state;
	assert_int_equal(rc, ATL_OK);
	if (getenv("ATL_TPM_TEST_DUMP") != NULL)
		dump(ar);
	assert_int_equal(check_state(ar, "signature"), 1);
	assert_int_equal(check_state(ar, "nonce"), 1);
	assert_int_equal(check_state(ar, "pcr_digest"), 1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gce_nonce9009),  cmocka_unit_test(test_gce_no_nonce),
		cmocka_unit_test(test_gce_banks),      cmocka_unit_test(test_gce_flips),
		cmocka_unit_test(test_gce_truncated),  cmocka_unit_test(test_evlog_openpcc),
		cmocka_unit_test(test_evlog_types),    cmocka_unit_test(test_trustee),
		cmocka_unit_test(test_synth_ok),       cmocka_unit_test(test_synth_negatives),
		cmocka_unit_test(test_policy_validate), cmocka_unit_test(test_activation_record),
		cmocka_unit_test(test_freshness),
		cmocka_unit_test(test_make_credential_args), cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_azure_snp),      cmocka_unit_test(test_azure_tamper),
		cmocka_unit_test(test_azure_tdx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
