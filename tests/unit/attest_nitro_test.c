/* AWS Nitro Enclaves attestation documents (src/attest/nitro.c): every real
 * document in tests/vectors/attestation/nitro at its reference time, the
 * "nitro" backend, and NEGATIVE-TESTS.md #1, #2, #4, #6, #7, #24, #25, #26
 * and #27.
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "atoll/attest.h"
#include "atoll/encoding.h"
#include "atoll/x509.h"
#include "attest/backends.h"
#include "attest/cbor.h"
#include "attest/cose.h"
#include "attest/nitro.h"
#include "attest_hw2_testutil.h"

/* Reference times (seconds) from attestation-vectors.tsv: each document's own timestamp. */
#define T_NSMQVL 1766668537  /* 2025-12-25T13:15:37.578Z */
#define T_DSTACK 1766678659  /* 2025-12-25T16:04:19.346Z */
#define T_DBG 1766650846     /* 2025-12-25T08:20:46.577Z */
#define T_ETERNIS 1725911352 /* 2024-09-09T19:49:12.400Z */
#define T_INVALID 1721770180 /* 2024-07-23T21:29:40.771Z */

struct doc {
	uint8_t *file, *p; /* p: the COSE_Sign1 bytes */
	size_t len;
	int64_t t;
};

/* dstack files: a 4-byte framing prefix, the COSE_Sign1, then other bytes. */
static struct doc load_framed(const char *rel, int64_t t)
{
	struct doc d = {.t = t};
	size_t n, item;

	d.file = hw2_read(rel, &n);
	assert_true(n > 4);
	assert_int_equal(atl_cbor_item_len(d.file + 4, n - 4, &item), ATL_OK);
	d.p = d.file + 4;
	d.len = item;
	return d;
}

/* Eternis files: base64 text of the COSE_Sign1. */
static struct doc load_b64(const char *rel, int64_t t)
{
	struct doc d = {.t = t};
	size_t n;
	uint8_t *txt = hw2_read(rel, &n);

	assert_int_equal(atl_b64_decode((const char *)txt, n, ATL_B64_LENIENT_WS, &d.file, &d.len),
			 ATL_OK);
	free(txt);
	d.p = d.file;
	return d;
}

static void doc_free(struct doc *d)
{
	free(d->file);
}

static struct atl_ar *run_o(const uint8_t *p, size_t len, const struct atl_nitro_opts *o,
			    enum atl_err *rc_out)
{
	struct atl_ar *ar = atl_ar_new("nitro");
	enum atl_err rc;

	assert_non_null(ar);
	rc = atl_nitro_verify_doc(p, len, o, ar);
	if (rc_out != NULL)
		*rc_out = rc;
	return ar;
}

static struct atl_ar *run(const uint8_t *p, size_t len, int64_t now, enum atl_err *rc_out)
{
	struct atl_nitro_opts o = {.now = now, .max_age_s = -1};

	return run_o(p, len, &o, rc_out);
}

static void expect_fail(struct atl_ar *ar, const char *check)
{
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_non_null(atl_ar_first_failure(ar));
	assert_string_equal(atl_ar_first_failure(ar), check);
	atl_ar_free(ar);
}

static void expect_ok(struct atl_ar *ar)
{
	if (atl_ar_status(ar) != ATL_AR_AFFIRMING) {
		char *s = json_dumps(atl_ar_to_json(ar), JSON_INDENT(1));

		fprintf(stderr, "%s\n", s);
		free(s);
	}
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
}

/* ok field of the named check, or -1 when absent. */
static int check_ok(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;
	int r = -1;

	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			r = json_is_true(json_object_get(c, "ok"));
	}
	json_decref(j);
	return r;
}

static void test_root_pin(void **state)
{
	(void)state;
	struct atl_x509 *c = NULL, *v = NULL;
	uint8_t fp[32], *pem;
	char hex[65];
	size_t n;

	assert_int_equal(atl_x509_parse((const uint8_t *)atl_nitro_root_g1_pem,
					strlen(atl_nitro_root_g1_pem), &c), ATL_OK);
	assert_int_equal(atl_x509_fingerprint(c, fp), ATL_OK);
	assert_int_equal(atl_hex_encode(fp, 32, hex, sizeof(hex)), ATL_OK);
	assert_string_equal(hex, ATL_NITRO_ROOT_G1_SHA256);
	pem = hw2_read("nitro/dstack/nsm-qvl_AWS_NitroEnclaves_Root-G1.pem", &n);
	assert_int_equal(atl_x509_parse(pem, n, &v), ATL_OK);
	assert_true(atl_x509_equal(c, v));
	atl_x509_free(c);
	atl_x509_free(v);
	free(pem);
}

static void test_real_documents(void **state)
{
	(void)state;
	struct doc d;
	struct atl_ar *ar;
	enum atl_err rc;
	const json_t *nj;

	/* nsm-qvl: indefinite-length payload map, user_data 64 zero bytes */
	d = load_framed("nitro/dstack/nsm-qvl_nitro_attestation.bin", T_NSMQVL);
	ar = run(d.p, d.len, d.t, &rc);
	assert_int_equal(rc, ATL_OK);
	nj = atl_ar_get(ar, "nitro");
	assert_string_equal(json_string_value(json_object_get(nj, "module_id")),
			    "i-0827e799ec9232d44-enc019b55a68bd2ed4b");
	assert_int_equal(json_integer_value(json_object_get(nj, "timestamp_ms")), 1766668537578LL);
	assert_int_equal(json_object_size(json_object_get(nj, "pcrs")), 16);
	assert_true(strncmp(json_string_value(atl_ar_get(ar, "measurement")), "5cb70295", 8) == 0);
	assert_true(json_is_false(atl_ar_get(ar, "debug")));
	assert_int_equal(json_integer_value(atl_ar_get(ar, "issued_at")), T_NSMQVL);
	assert_int_equal(strlen(json_string_value(atl_ar_get(ar, "report_data"))), 128);
	assert_true(json_is_null(json_object_get(nj, "nonce")));
	expect_ok(ar);
	doc_free(&d);

	d = load_framed("nitro/dstack/dstack-attest_nitro_attestation.bin", T_DSTACK);
	ar = run(d.p, d.len, d.t, &rc);
	assert_true(strncmp(json_string_value(atl_ar_get(ar, "measurement")), "eb7d0dab", 8) == 0);
	/* user_data = SHA-256("") || 32 zero bytes */
	assert_true(strncmp(json_string_value(json_object_get(atl_ar_get(ar, "nitro"), "user_data")),
			    "e3b0c442", 8) == 0);
	expect_ok(ar);
	doc_free(&d);

	/* debug enclave: authentic, flagged debug (the dispatcher refuses it) */
	d = load_framed("nitro/dstack/dstack-attest_nitro_attestation_dbg.bin", T_DBG);
	ar = run(d.p, d.len, d.t, &rc);
	assert_true(json_is_true(atl_ar_get(ar, "debug")));
	expect_ok(ar);
	doc_free(&d);

	/* Eternis: definite-length map, base64, PCR0-2 zero */
	d = load_b64("nitro/eternis/example_attestation", T_ETERNIS);
	ar = run(d.p, d.len, d.t, &rc);
	assert_true(json_is_true(atl_ar_get(ar, "debug")));
	assert_string_equal(json_string_value(json_object_get(atl_ar_get(ar, "nitro"), "public_key")),
			    "64756d6d79"); /* "dummy" */
	expect_ok(ar);
	doc_free(&d);

	/* #25: the tampered Eternis document: chain fine, COSE signature not */
	d = load_b64("nitro/eternis/invalid_attestation", T_INVALID);
	ar = run(d.p, d.len, d.t, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.chain"), 1);
	expect_fail(ar, "nitro.signature");
	doc_free(&d);
}

static void test_backend(void **state)
{
	(void)state;
	const struct atl_tee_ops *ops = atl_tee_find("nitro");
	struct doc d = load_framed("nitro/dstack/nsm-qvl_nitro_attestation.bin", T_NSMQVL);
	char *fake_path = strdup(hw2_path("nitro/derived/fake_root_same_subject.derived.pem"));
	char *real_path = strdup(hw2_path("nitro/dstack/nsm-qvl_AWS_NitroEnclaves_Root-G1.pem"));
	const char *fake[] = {fake_path, NULL};
	const char *real[] = {real_path, NULL};
	struct atl_verify_in in = {.now = T_NSMQVL};
	struct atl_ar *ar;
	json_t *pol;
	uint8_t *ev;
	size_t ev_len;

	assert_non_null(ops);
	/* no /dev/nsm on this machine: not available (attest_nitro_nsm_test
	 * covers generation through a replaced transport) */
	assert_non_null(ops->detect);
	if (access("/dev/nsm", F_OK) != 0) {
		assert_false(ops->detect());
		assert_int_equal(ops->evidence(NULL, (const uint8_t[64]){0}, &ev, &ev_len),
				 ATL_E_UNSUPPORTED);
		assert_null(ev);
	}
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_OK);
	expect_ok(ar);
	/* the caller's anchor file replaces the built-in root (a warning) */
	in.anchors = real;
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
	atl_ar_free(ar);
	/* #2: a self-signed root with the AWS subject: the evidence's own
	 * cabundle[0] (the genuine root) is not trusted in its place */
	in.anchors = fake;
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_OK);
	expect_fail(ar, "nitro.chain");
	in.anchors = NULL;
	/* policy PCR pins */
	pol = json_pack("{s:[s], s:{s:{s:s}}}", "tee_types", "nitro", "nitro", "pcrs", "1",
			"0343b056cd8485ca7890ddd833476d78460aed2aa161548e4e26bedf321726696257d623e8805f3f605946b3d8b0c6aa");
	in.policy = pol;
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_OK);
	expect_ok(ar);
	json_decref(pol);
	pol = json_pack("{s:[s], s:{s:{s:s}}}", "tee_types", "nitro", "nitro", "pcrs", "1",
			"1343b056cd8485ca7890ddd833476d78460aed2aa161548e4e26bedf321726696257d623e8805f3f605946b3d8b0c6aa");
	in.policy = pol;
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_OK);
	expect_fail(ar, "nitro.pcrs");
	json_decref(pol);
	pol = json_pack("{s:[s], s:{s:{s:s}}}", "tee_types", "nitro", "nitro", "pcrs", "32", "00");
	in.policy = pol;
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_E_FORMAT);
	expect_fail(ar, "nitro.policy");
	json_decref(pol);
	pol = json_pack("{s:[s], s:{s:{}}}", "tee_types", "nitro", "nitro", "pcr");
	in.policy = pol;
	ar = atl_ar_new("nitro");
	assert_int_equal(ops->verify(d.p, d.len, &in, ar), ATL_E_FORMAT);
	expect_fail(ar, "nitro.policy");
	json_decref(pol);
	free(fake_path);
	free(real_path);
	doc_free(&d);
}

static void test_flips(void **state)
{
	(void)state;
	struct doc d = load_framed("nitro/dstack/dstack-attest_nitro_attestation.bin", T_DSTACK);
	struct atl_cose_sign1 s;
	size_t cert_off;
	uint8_t *c;
	struct atl_ar *ar;
	static const char mid[] = "i-0827e799ec9232d44";

	/* views from the parser point into libcbor's copies: locate bytes in
	 * the document by content */
	assert_int_equal(atl_cose_sign1_parse(d.p, d.len, &s), ATL_OK);
	/* #1: the body (module_id text), r, s */
	c = hw2_flip(d.p, d.len, hw2_find(d.p, d.len, mid, sizeof(mid) - 1) + 3, 1);
	expect_fail(run(c, d.len, d.t, NULL), "nitro.signature");
	free(c);
	c = hw2_flip(d.p, d.len, d.len - 96, 1);
	expect_fail(run(c, d.len, d.t, NULL), "nitro.signature");
	free(c);
	c = hw2_flip(d.p, d.len, d.len - 1, 1);
	expect_fail(run(c, d.len, d.t, NULL), "nitro.signature");
	free(c);
	/* #1: the TBS of the leaf and of every cabundle certificate (each
	 * within the signed payload: chain and signature both fail) */
	{
		cbor_item_t *m = NULL;
		const cbor_item_t *ca;
		const uint8_t *p;
		size_t n;

		assert_int_equal(atl_cbor_decode(s.payload, s.payload_len, &m), ATL_OK);
		assert_true(atl_cbor_bstr(atl_cbor_map_str(m, "certificate"), &p, &n));
		cert_off = hw2_find(d.p, d.len, p, 64) + 40; /* inside tbsCertificate */
		c = hw2_flip(d.p, d.len, cert_off, 1);
		ar = run(c, d.len, d.t, NULL);
		assert_int_equal(check_ok(ar, "nitro.chain"), 0);
		expect_fail(ar, "nitro.chain");
		free(c);
		ca = atl_cbor_map_str(m, "cabundle");
		for (size_t i = 0; i < atl_cbor_array_len(ca); i++) {
			assert_true(atl_cbor_bstr(atl_cbor_array_at(ca, i), &p, &n));
			/* the root's TBS too: the pin is by identity, so a changed root fails */
			c = hw2_flip(d.p, d.len, hw2_find(d.p, d.len, p, 64) + 40, 1);
			ar = run(c, d.len, d.t, NULL);
			assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
			assert_int_equal(check_ok(ar, "nitro.signature"), 0);
			atl_ar_free(ar);
			free(c);
		}
		atl_cbor_free(m);
	}
	atl_cose_sign1_free(&s);
	doc_free(&d);
}

/* Re-encodes the document with a transformed payload map (the signature no
 * longer matches, which is fine: these test the parser and chain logic). */
static uint8_t *rewrite(const struct doc *d, int what, size_t *len_out)
{
	struct atl_cose_sign1 s;
	struct cbor_load_result res;
	cbor_item_t *m, *nm;
	unsigned char *ser = NULL;
	size_t ser_cap = 0, ser_len;
	struct atl_wr w;
	uint8_t *out;

	assert_int_equal(atl_cose_sign1_parse(d->p, d->len, &s), ATL_OK);
	m = cbor_load(s.payload, s.payload_len, &res);
	assert_non_null(m);
	nm = cbor_new_definite_map(cbor_map_size(m) + 1);
	for (size_t i = 0; i < cbor_map_size(m); i++) {
		struct cbor_pair pr = cbor_map_handle(m)[i];
		const char *k = (const char *)cbor_string_handle(pr.key);
		size_t kl = cbor_string_length(pr.key);

		if (what == 0 && kl == 11 && memcmp(k, "certificate", 11) == 0)
			continue; /* #24: drop the certificate */
		if (what == 1 && kl == 8 && memcmp(k, "cabundle", 8) == 0) {
			size_t n = cbor_array_size(pr.value);
			cbor_item_t *rev = cbor_new_definite_array(n);

			for (size_t j = 0; j < n; j++)
				assert_true(cbor_array_push(rev, cbor_array_handle(pr.value)[n - 1 - j]));
			assert_true(cbor_map_add(nm, (struct cbor_pair){.key = pr.key, .value = rev}));
			cbor_decref(&rev);
			continue;
		}
		if (what == 2 && kl == 6 && memcmp(k, "digest", 6) == 0) {
			cbor_item_t *v = cbor_build_string("SHA256");

			assert_true(cbor_map_add(nm, (struct cbor_pair){.key = pr.key, .value = v}));
			cbor_decref(&v);
			continue;
		}
		assert_true(cbor_map_add(nm, pr));
	}
	if (what == 3) { /* an unknown field */
		cbor_item_t *k = cbor_build_string("extra"), *v = cbor_build_uint8(1);

		assert_true(cbor_map_add(nm, (struct cbor_pair){.key = k, .value = v}));
		cbor_decref(&k);
		cbor_decref(&v);
	}
	ser_len = cbor_serialize_alloc(nm, &ser, &ser_cap);
	assert_true(ser_len > 0);
	atl_wr_init(&w, 1 << 20, false);
	hw2_head(&w, 4, 4);
	hw2_bstr(&w, s.prot, s.prot_len);
	hw2_head(&w, 5, 0);
	hw2_bstr(&w, ser, ser_len);
	hw2_bstr(&w, s.sig, s.sig_len);
	out = hw2_take(&w, len_out);
	free(ser);
	cbor_decref(&m);
	cbor_decref(&nm);
	atl_cose_sign1_free(&s);
	return out;
}

static void test_structure(void **state)
{
	(void)state;
	struct doc d = load_framed("nitro/dstack/nsm-qvl_nitro_attestation.bin", T_NSMQVL);
	struct atl_ar *ar;
	enum atl_err rc;
	uint8_t *c;
	size_t len;

	/* #24: no certificate field -> refused (never a skipped crypto check) */
	c = rewrite(&d, 0, &len);
	expect_fail(run(c, len, d.t, &rc), "nitro.document");
	assert_int_equal(rc, ATL_E_FORMAT);
	free(c);
	/* #24: reversed cabundle: the path to the pinned root is still found */
	c = rewrite(&d, 1, &len);
	ar = run(c, len, d.t, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.chain"), 1);
	expect_fail(ar, "nitro.signature");
	free(c);
	/* digest other than SHA384; an unknown field */
	c = rewrite(&d, 2, &len);
	expect_fail(run(c, len, d.t, &rc), "nitro.document");
	free(c);
	c = rewrite(&d, 3, &len);
	expect_fail(run(c, len, d.t, &rc), "nitro.document");
	free(c);
	/* #3: the protected header no longer says ES384: 44 a1 01 38 22 ->
	 * 44 a1 01 26 22 ({1: -7} and a stray byte: refused either way) */
	c = hw2_flip(d.p, d.len, 0, 0);
	assert_int_equal(c[1], 0x44);
	c[4] = 0x26;
	expect_fail(run(c, d.len, d.t, &rc), "nitro.document");
	free(c);
	/* #7: a length field set to 0xFFFFFFFF (the payload bstr head) */
	{
		struct atl_cose_sign1 s;
		size_t off;

		assert_int_equal(atl_cose_sign1_parse(d.p, d.len, &s), ATL_OK);
		off = hw2_find(d.p, d.len, s.payload, 32) - 3; /* 0x59 hh ll */
		assert_int_equal(d.p[off], 0x59);
		atl_cose_sign1_free(&s);
		c = malloc(d.len + 2);
		memcpy(c, d.p, off);
		c[off] = 0x5a;
		memset(c + off + 1, 0xff, 4);
		memcpy(c + off + 5, d.p + off + 3, d.len - off - 3);
		expect_fail(run(c, d.len + 2, d.t, &rc), "nitro.document");
		assert_int_equal(rc, ATL_E_TRUNCATED);
		free(c);
	}
	/* #7: every truncation; trailing bytes */
	for (size_t n = 0; n < d.len; n += (n < 64 ? 1 : 7)) {
		ar = run(d.p, n, d.t, &rc);
		assert_int_not_equal(rc, ATL_OK);
		expect_fail(ar, "nitro.document");
	}
	ar = run(d.p, d.len + 1, d.t, &rc);
	assert_int_equal(rc, ATL_E_TRAILING);
	expect_fail(ar, "nitro.document");
	doc_free(&d);
}

static void test_time_and_bindings(void **state)
{
	(void)state;
	struct doc d = load_b64("nitro/eternis/example_attestation", T_ETERNIS);
	struct doc q = load_framed("nitro/dstack/nsm-qvl_nitro_attestation.bin", T_NSMQVL);
	uint8_t nonce[20] = {0};
	uint8_t zero48[48] = {0};
	struct atl_nitro_pcr pin0 = {.index = 0, .value = zero48, .len = 48};
	struct atl_nitro_opts o = {.now = d.t, .max_age_s = -1};

	/* #6: leaf expired at timestamp + 4 h; not yet valid a day before */
	expect_fail(run(d.p, d.len, d.t + 4 * 3600, NULL), "nitro.chain");
	expect_fail(run(q.p, q.len, q.t + 4 * 3600, NULL), "nitro.chain");
	expect_fail(run(q.p, q.len, q.t - 86400, NULL), "nitro.chain");
	/* #27: too old (1 h allowed, checked 2 h later, leaf still valid), or from the future */
	o.now = q.t + 2 * 3600;
	o.max_age_s = 3600;
	expect_fail(run_o(q.p, q.len, &o, NULL), "nitro.age");
	o.now = q.t - 600;
	{
		struct atl_ar *ar = run_o(q.p, q.len, &o, NULL);

		assert_int_equal(check_ok(ar, "nitro.age"), 0);
		atl_ar_free(ar);
	}
	o.now = q.t + 60;
	expect_ok(run_o(q.p, q.len, &o, NULL));
	/* #4: the expected nonce 00..01 matches; another does not */
	o = (struct atl_nitro_opts){.now = d.t, .max_age_s = -1, .nonce = nonce, .nonce_len = 20};
	nonce[19] = 1;
	expect_ok(run_o(d.p, d.len, &o, NULL));
	nonce[19] = 2;
	expect_fail(run_o(d.p, d.len, &o, NULL), "nitro.nonce");
	/* a document without a nonce, when one is expected */
	o.now = q.t;
	expect_fail(run_o(q.p, q.len, &o, NULL), "nitro.nonce");
	/* public_key and user_data bindings */
	o = (struct atl_nitro_opts){.now = d.t, .max_age_s = -1,
				    .public_key = (const uint8_t *)"dummy", .public_key_len = 5};
	expect_ok(run_o(d.p, d.len, &o, NULL));
	o.public_key = (const uint8_t *)"dumm";
	o.public_key_len = 4;
	expect_fail(run_o(d.p, d.len, &o, NULL), "nitro.public_key");
	o = (struct atl_nitro_opts){.now = q.t, .max_age_s = -1, .user_data = zero48,
				    .user_data_len = 48};
	expect_fail(run_o(q.p, q.len, &o, NULL), "nitro.user_data");
	/* #26: PCR0 pinned even when zero: the debug document matches a zero
	 * pin (and is flagged debug), a production one does not */
	o = (struct atl_nitro_opts){.now = d.t, .max_age_s = -1, .pcrs = &pin0, .n_pcrs = 1};
	expect_ok(run_o(d.p, d.len, &o, NULL));
	o.now = q.t;
	expect_fail(run_o(q.p, q.len, &o, NULL), "nitro.pcrs");
	pin0.index = 20; /* a PCR the document does not carry */
	expect_fail(run_o(q.p, q.len, &o, NULL), "nitro.pcrs");
	doc_free(&d);
	doc_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_pin),
		cmocka_unit_test(test_real_documents),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_flips),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_time_and_bindings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
