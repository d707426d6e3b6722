/* NVIDIA Hopper GPU evidence (src/attest/spdm.c, nvgpu.c): both real H100
 * reports with their chains, the "nvidia-gpu" backend, reference values, and
 * NEGATIVE-TESTS.md #1, #4/#5 (nonce), #7 (truncation, lengths), #37 (FWID),
 * #38 (chain shape), #39 (cross-device).
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/encoding.h"
#include "atoll/x509.h"
#include "attest/backends.h"
#include "attest/nvgpu.h"
#include "attest/spdm.h"
#include "attest_hw2_testutil.h"

#define T_REF 1767225600 /* 2026-01-01: device certificates run to 9999 */

static const char nonce1_hex[] = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
static const char nonce2_hex[] = "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec";

struct fx {
	uint8_t *r1, *r2; /* binary transcripts */
	size_t r1_len, r2_len;
	struct atl_x509_list *c1, *c2;
};

static uint8_t *load_hex(const char *rel, size_t *len_out)
{
	size_t n;
	uint8_t *txt = hw2_read(rel, &n), *out = NULL;

	assert_int_equal(atl_hex_decode_alloc((const char *)txt, n, &out, len_out), ATL_OK);
	free(txt);
	return out;
}

static struct atl_x509_list *load_chain(const char *rel)
{
	size_t n;
	uint8_t *pem = hw2_read(rel, &n);
	struct atl_x509_list *l = NULL;

	assert_int_equal(atl_x509_list_parse(pem, n, &l), ATL_OK);
	free(pem);
	return l;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->r1 = load_hex("nvidia-gpu/nvtrust/hopperAttestationReport.txt", &f->r1_len);
	f->r2 = load_hex("nvidia-gpu/trustee/hopper_coco_report1.txt", &f->r2_len);
	f->c1 = load_chain("nvidia-gpu/nvtrust/hopperCertChain.txt");
	f->c2 = load_chain("nvidia-gpu/trustee/hopper_coco_certs1.txt");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->r1);
	free(f->r2);
	atl_x509_list_free(f->c1);
	atl_x509_list_free(f->c2);
	free(f);
	return 0;
}

static struct atl_ar *run_o(const uint8_t *r, size_t len, const struct atl_x509_list *chain,
			    const struct atl_nvgpu_opts *o, enum atl_err *rc_out)
{
	struct atl_ar *ar = atl_ar_new("nvidia-gpu");
	enum atl_err rc;

	assert_non_null(ar);
	rc = atl_nvgpu_verify_report(r, len, chain, o, ar);
	if (rc_out != NULL)
		*rc_out = rc;
	return ar;
}

static struct atl_ar *run(const uint8_t *r, size_t len, const struct atl_x509_list *chain,
			  enum atl_err *rc_out)
{
	struct atl_nvgpu_opts o = {.now = T_REF};

	return run_o(r, len, chain, &o, rc_out);
}

static void expect_fail(struct atl_ar *ar, const char *check)
{
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_non_null(atl_ar_first_failure(ar));
	assert_string_equal(atl_ar_first_failure(ar), check);
	atl_ar_free(ar);
}

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

static const char *check_detail(const struct atl_ar *ar, const char *name)
{
	static char buf[512];
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;

	buf[0] = 0;
	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(c, "detail")));
	}
	json_decref(j);
	return buf;
}

static void test_root_pin(void **state)
{
	(void)state;
	struct atl_x509 *c = NULL;
	uint8_t fp[32];
	char hex[65];

	assert_int_equal(atl_x509_parse((const uint8_t *)atl_nvgpu_root_pem,
					strlen(atl_nvgpu_root_pem), &c), ATL_OK);
	assert_int_equal(atl_x509_fingerprint(c, fp), ATL_OK);
	assert_int_equal(atl_hex_encode(fp, 32, hex, sizeof(hex)), ATL_OK);
	assert_string_equal(hex, ATL_NVGPU_ROOT_SHA256);
	atl_x509_free(c);
}

static void test_real_reports(void **state)
{
	struct fx *f = *state;
	struct atl_ar *ar;
	enum atl_err rc;
	const json_t *g;

	ar = run(f->r1, f->r1_len, f->c1, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	g = atl_ar_get(ar, "nvidia_gpu");
	/* the values trustee derives (hopperAttestationReport-claims.txt) */
	assert_string_equal(json_string_value(json_object_get(g, "driver_version")), "550.90.07");
	assert_string_equal(json_string_value(json_object_get(g, "vbios_version")), "96.00.9f.00.01");
	assert_string_equal(json_string_value(json_object_get(g, "project")), "1010");
	assert_string_equal(json_string_value(json_object_get(g, "chip_sku")), "882");
	assert_string_equal(json_string_value(json_object_get(g, "fwid")),
			    "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d");
	assert_int_equal(json_object_size(json_object_get(g, "measurements")), 64);
	assert_string_equal(json_string_value(json_object_get(json_object_get(g, "measurements"), "10")),
			    "059b32e712a153f490dbfb7976a9e275d789e28bd4803c357def2b6123327c430526bfaecc200f496d4e149fc5eade03");
	assert_string_equal(json_string_value(atl_ar_get(ar, "report_data")), nonce1_hex);
	assert_true(json_is_false(atl_ar_get(ar, "debug")));
	atl_ar_free(ar);

	/* second device; one trailing zero byte tolerated with a warning */
	ar = run(f->r2, f->r2_len, f->c2, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
	assert_int_equal(check_ok(ar, "nvgpu.signature"), 1);
	assert_string_equal(json_string_value(atl_ar_get(ar, "report_data")), nonce2_hex);
	atl_ar_free(ar);
}

static void test_nonce(void **state)
{
	struct fx *f = *state;
	uint8_t n[32];
	struct atl_nvgpu_opts o = {.now = T_REF, .nonce = n};
	struct atl_ar *ar;

	assert_int_equal(atl_hex_decode_exact(nonce1_hex, 64, n, 32), ATL_OK);
	ar = run_o(f->r1, f->r1_len, f->c1, &o, NULL);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* #4 / #5: expected nonce != the request nonce (a replayed report) */
	n[31] ^= 1;
	expect_fail(run_o(f->r1, f->r1_len, f->c1, &o, NULL), "nvgpu.nonce");
	assert_int_equal(atl_hex_decode_exact(nonce1_hex, 64, n, 32), ATL_OK);
	expect_fail(run_o(f->r2, f->r2_len, f->c2, &o, NULL), "nvgpu.nonce");
}

static void test_chains(void **state)
{
	struct fx *f = *state;
	struct atl_x509_list *c2 = load_chain("nvidia-gpu/trustee/hopper_cert_chain_case2.txt");
	struct atl_x509_list *c3 = load_chain("nvidia-gpu/trustee/hopper_cert_chain_case3.txt");
	struct atl_x509_list *c4 = load_chain("nvidia-gpu/trustee/hopper_cert_chain_case4.txt");
	struct atl_ar *ar;

	/* #38: root only; an intermediate missing */
	ar = run(f->r1, f->r1_len, c2, NULL);
	assert_non_null(strstr(check_detail(ar, "nvgpu.chain"), "signing certificate"));
	expect_fail(ar, "nvgpu.chain");
	ar = run(f->r1, f->r1_len, c3, NULL);
	assert_non_null(strstr(check_detail(ar, "nvgpu.chain"), "failed to verify"));
	expect_fail(ar, "nvgpu.chain");
	/* #37: no leaf, hence no FWID (the rest of the chain is sound) */
	ar = run(f->r1, f->r1_len, c4, NULL);
	assert_int_equal(check_ok(ar, "nvgpu.chain"), 1);
	assert_non_null(strstr(check_detail(ar, "nvgpu.fwid"), "not found"));
	assert_int_equal(check_ok(ar, "nvgpu.signature"), 0);
	expect_fail(ar, "nvgpu.fwid");
	/* #37 / #39: another device's report with this chain */
	ar = run(f->r2, f->r2_len, f->c1, NULL);
	assert_int_equal(check_ok(ar, "nvgpu.signature"), 0);
	expect_fail(ar, "nvgpu.fwid");
	ar = run(f->r1, f->r1_len, f->c2, NULL);
	assert_int_equal(check_ok(ar, "nvgpu.signature"), 0);
	expect_fail(ar, "nvgpu.fwid");
	/* no chain at all */
	expect_fail(run(f->r1, f->r1_len, NULL, NULL), "nvgpu.chain");
	/* #2: another pinned root (the Nitro root): the chain's own root is not trusted */
	{
		size_t n;
		uint8_t *pem = hw2_read("nitro/dstack/nsm-qvl_AWS_NitroEnclaves_Root-G1.pem", &n);
		struct atl_x509_list *other = NULL;
		struct atl_nvgpu_opts o = {.now = T_REF};

		assert_int_equal(atl_x509_list_parse(pem, n, &other), ATL_OK);
		o.roots = other;
		expect_fail(run_o(f->r1, f->r1_len, f->c1, &o, NULL), "nvgpu.chain");
		atl_x509_list_free(other);
		free(pem);
	}
	/* #1: a byte of each certificate's TBS below the root (a changed copy
	 * of the root itself is irrelevant: the pinned root is used) */
	size_t parsed = 0;

	for (size_t k = 0; k + 1 < atl_x509_list_len(f->c1); k++) {
		uint8_t *der = NULL, *bad;
		size_t der_len;
		struct atl_x509 *mod = NULL;
		struct atl_x509_list *l = NULL;

		assert_int_equal(atl_x509_der(atl_x509_list_get(f->c1, k), &der, &der_len), ATL_OK);
		bad = NULL;
		/* an offset inside the TBS whose change still parses */
		for (size_t off = 150; off < 260 && mod == NULL; off += 7) {
			free(bad);
			bad = hw2_flip(der, der_len, off, 1);
			if (atl_x509_parse(bad, der_len, &mod) != ATL_OK)
				mod = NULL;
		}
		if (mod != NULL) {
			parsed++;
			for (size_t i = 0; i < atl_x509_list_len(f->c1); i++)
				assert_int_equal(atl_x509_list_add(&l, i == k ? mod : atl_x509_list_get(f->c1, i)),
						 ATL_OK);
			expect_fail(run(f->r1, f->r1_len, l, NULL), "nvgpu.chain");
		}
		atl_x509_free(mod);
		atl_x509_list_free(l);
		free(bad);
		free(der);
	}
	assert_int_equal(parsed, atl_x509_list_len(f->c1) - 1);
	atl_x509_list_free(c2);
	atl_x509_list_free(c3);
	atl_x509_list_free(c4);
}

static void test_flips_and_parser(void **state)
{
	struct fx *f = *state;
	struct atl_spdm_meas *m = calloc(1, sizeof(*m));
	size_t offs[5];
	uint8_t *c;
	enum atl_err rc;
	struct atl_ar *ar;

	assert_int_equal(atl_spdm_parse_measurements(f->r1, f->r1_len, m), ATL_OK);
	assert_int_equal(m->n_blocks, 64);
	assert_int_equal(m->trailing, 0);
	assert_int_equal(m->signed_len + ATL_SPDM_SIG_LEN, f->r1_len);
	/* #1: request nonce, a measurement value, an opaque byte, r, s */
	offs[0] = 10;
	offs[1] = 37 + 8 + 4 + 3 + 20;
	offs[2] = (size_t)(m->opaque - f->r1) + 5;
	offs[3] = f->r1_len - 96;
	offs[4] = f->r1_len - 1;
	for (size_t i = 0; i < 5; i++) {
		c = hw2_flip(f->r1, f->r1_len, offs[i], 1);
		ar = run(c, f->r1_len, f->c1, &rc);
		assert_int_equal(rc, ATL_OK);
		assert_int_equal(check_ok(ar, "nvgpu.signature"), 0);
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		atl_ar_free(ar);
		free(c);
	}
	/* wrong codes, version */
	c = hw2_flip(f->r1, f->r1_len, 0, 0x01); /* version 0x10 */
	assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_UNSUPPORTED);
	free(c);
	c = hw2_flip(f->r1, f->r1_len, 2, 0x01); /* no signature requested */
	assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_UNSUPPORTED);
	free(c);
	c = hw2_flip(f->r1, f->r1_len, 38, 0x01); /* response code */
	assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_FORMAT);
	free(c);
	c = hw2_flip(f->r1, f->r1_len, 41, 0x01); /* number of blocks 63 vs record */
	assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_FORMAT);
	free(c);
	/* #7: record length 0xFFFFFF; a block size; opaque length 0xFFFF */
	c = hw2_flip(f->r1, f->r1_len, 0, 0);
	memset(c + 42, 0xff, 3);
	assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_TRUNCATED);
	free(c);
	c = hw2_flip(f->r1, f->r1_len, 0, 0);
	c[47] = 0xff;
	c[48] = 0xff;
	assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_FORMAT);
	free(c);
	assert_int_equal(atl_spdm_parse_measurements(f->r1, f->r1_len, m), ATL_OK);
	{
		size_t off = (size_t)(m->opaque - f->r1) - 2;

		c = hw2_flip(f->r1, f->r1_len, 0, 0);
		c[off] = 0xff;
		c[off + 1] = 0xff;
		assert_int_equal(atl_spdm_parse_measurements(c, f->r1_len, m), ATL_E_LIMIT);
		free(c);
	}
	/* #7: every truncation */
	for (size_t n = 0; n < f->r1_len; n++) {
		ar = run(f->r1, n, f->c1, &rc);
		assert_int_not_equal(rc, ATL_OK);
		expect_fail(ar, "nvgpu.report");
	}
	/* trailing bytes: non-zero, or too many */
	c = malloc(f->r1_len + 32);
	memcpy(c, f->r1, f->r1_len);
	memset(c + f->r1_len, 0, 32);
	expect_fail(run(c, f->r1_len + 32, f->c1, &rc), "nvgpu.report");
	assert_int_equal(rc, ATL_E_TRAILING);
	c[f->r1_len] = 1;
	expect_fail(run(c, f->r1_len + 1, f->c1, &rc), "nvgpu.report");
	free(c);
	free(m);
}

static void test_reference_values(void **state)
{
	struct fx *f = *state;
	uint8_t v10[48], v2[48], wrong[48];
	struct atl_nvgpu_ref refs[3];
	struct atl_nvgpu_opts o = {.now = T_REF, .refs = refs};
	struct atl_ar *ar;

	assert_int_equal(atl_hex_decode_exact("059b32e712a153f490dbfb7976a9e275d789e28bd4803c357def2b6123327c430526bfaecc200f496d4e149fc5eade03",
					      96, v10, 48), ATL_OK);
	assert_int_equal(atl_hex_decode_exact("8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338",
					      96, v2, 48), ATL_OK);
	memset(wrong, 0x11, sizeof(wrong));
	refs[0] = (struct atl_nvgpu_ref){10, v10, 48};
	refs[1] = (struct atl_nvgpu_ref){2, wrong, 48};
	refs[2] = (struct atl_nvgpu_ref){2, v2, 48}; /* an alternative for index 2 */
	o.n_refs = 3;
	ar = run_o(f->r1, f->r1_len, f->c1, &o, NULL);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	o.n_refs = 2; /* index 2: only the wrong value */
	expect_fail(run_o(f->r1, f->r1_len, f->c1, &o, NULL), "nvgpu.rim");
	refs[0].index = 65; /* not in the report */
	o.n_refs = 1;
	expect_fail(run_o(f->r1, f->r1_len, f->c1, &o, NULL), "nvgpu.rim");
}

static char *make_evidence(const char *report_rel, const char *chain_rel)
{
	size_t n1, n2;
	char *hex = (char *)hw2_read(report_rel, &n1), *pem = (char *)hw2_read(chain_rel, &n2), *s;
	json_t *j = json_pack("{s:s%, s:s%}", "spdm", hex, n1, "cert_chain", pem, n2);

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(hex);
	free(pem);
	return s;
}

static void test_backend(void **state)
{
	(void)state;
	const struct atl_tee_ops *ops = atl_tee_find("nvidia-gpu");
	char *ev = make_evidence("nvidia-gpu/nvtrust/hopperAttestationReport.txt",
				 "nvidia-gpu/nvtrust/hopperCertChain.txt");
	char *chain_path = strdup(hw2_path("nvidia-gpu/nvtrust/hopperCertChain.txt"));
	const char *coll[] = {chain_path, NULL};
	struct atl_verify_in in = {.now = T_REF};
	struct atl_ar *ar;
	json_t *pol;
	uint8_t *out;
	size_t out_len, hex_len;
	uint8_t *hex;

	assert_non_null(ops);
	assert_int_equal(ops->evidence(NULL, (const uint8_t[64]){0}, &out, &out_len), ATL_E_UNSUPPORTED);
	ar = atl_ar_new("nvidia-gpu");
	assert_int_equal(ops->verify((const uint8_t *)ev, strlen(ev), &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* reference values from the policy */
	pol = json_pack("{s:[s], s:{s:{s:[s]}}}", "tee_types", "nvidia-gpu", "nvidia-gpu", "rim", "10",
			"059b32e712a153f490dbfb7976a9e275d789e28bd4803c357def2b6123327c430526bfaecc200f496d4e149fc5eade03");
	in.policy = pol;
	ar = atl_ar_new("nvidia-gpu");
	assert_int_equal(ops->verify((const uint8_t *)ev, strlen(ev), &in, ar), ATL_OK);
	assert_int_equal(check_ok(ar, "nvgpu.rim"), 1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	json_decref(pol);
	pol = json_pack("{s:[s], s:{s:{s:[s]}}}", "tee_types", "nvidia-gpu", "nvidia-gpu", "rim", "10", "00");
	in.policy = pol;
	ar = atl_ar_new("nvidia-gpu");
	assert_int_equal(ops->verify((const uint8_t *)ev, strlen(ev), &in, ar), ATL_OK);
	expect_fail(ar, "nvgpu.rim");
	json_decref(pol);
	pol = json_pack("{s:[s], s:{s:{}}}", "tee_types", "nvidia-gpu", "nvidia-gpu", "rims");
	in.policy = pol;
	ar = atl_ar_new("nvidia-gpu");
	assert_int_equal(ops->verify((const uint8_t *)ev, strlen(ev), &in, ar), ATL_E_FORMAT);
	expect_fail(ar, "nvgpu.policy");
	json_decref(pol);
	in.policy = NULL;
	/* the hex transcript with the chain as collateral (CLI use) */
	hex = hw2_read("nvidia-gpu/nvtrust/hopperAttestationReport.txt", &hex_len);
	in.collateral = coll;
	ar = atl_ar_new("nvidia-gpu");
	assert_int_equal(ops->verify(hex, hex_len, &in, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	in.collateral = NULL;
	ar = atl_ar_new("nvidia-gpu");
	assert_int_not_equal(ops->verify(hex, hex_len, &in, ar), ATL_OK);
	expect_fail(ar, "nvgpu.report");
	free(hex);
	/* malformed JSON evidence */
	{
		static const char *bad[] = {"{}", "{\"spdm\":\"zz\",\"cert_chain\":\"x\"}",
					    "{\"spdm\":\"00\",\"cert_chain\":\"x\",\"more\":1}", "{"};

		for (size_t i = 0; i < 4; i++) {
			ar = atl_ar_new("nvidia-gpu");
			assert_int_not_equal(ops->verify((const uint8_t *)bad[i], strlen(bad[i]), &in, ar), ATL_OK);
			expect_fail(ar, "nvgpu.report");
		}
	}
	free(chain_path);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_pin),
		cmocka_unit_test(test_real_reports),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_flips_and_parser),
		cmocka_unit_test(test_reference_values),
		cmocka_unit_test(test_backend),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
