/* Composite CPU + GPU evidence (src/attest/composite.c): a sim CPU TEE (a
 * temporary root signs evidence over this test binary) with a synthetic
 * NVIDIA-format GPU report signed at test time by a TEST chain
 * (tests/vectors/attestation/nvidia-gpu/derived/, not NVIDIA keys) whose
 * SPDM nonce is the CPU evidence's binding. Negatives: a GPU report for
 * another challenge (synthetic, and the real nvtrust report), GPU kind not
 * allowed, require_gpu with no GPU (composite and plain wrapper), a
 * contraindicated CPU part, malformed sets.
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/composite.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "attest_hw2_testutil.h"

static char dir[64];
static char *root_pem, *gpu_root_pem, *gpu_chain_pem, *nv_chain_pem, *nv_report_hex;
static char meas_hex[2 * ATL_SHA384_LEN + 1];
static uint8_t ekey[ATL_X25519_LEN];
static const uint8_t nonce[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
static char *cpu_ev;
static struct atl_privkey *gpu_key;
static int64_t t0;

static char *text(const char *rel)
{
	size_t n;
	char *p = (char *)hw2_read(rel, &n);

	p = realloc(p, n + 1);
	p[n] = 0;
	return p;
}

static int setup(void **st)
{
	char path[128];
	uint8_t *buf = NULL, m[ATL_SHA384_LEN];
	size_t len = 0;
	json_t *cfg;
	char *k;

	(void)st;
	strcpy(dir, "/tmp/atl_composite_testXXXXXX");
	if (mkdtemp(dir) == NULL || atl_sim_root_create(dir) != ATL_OK)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_PUB_FILE);
	if (atl_file_read(path, 65536, &buf, &len) != ATL_OK)
		return -1;
	root_pem = realloc(buf, len + 1);
	root_pem[len] = 0;
	if (atl_sim_measure("/proc/self/exe", m) != ATL_OK ||
	    atl_hex_encode(m, sizeof(m), meas_hex, sizeof(meas_hex)) != ATL_OK ||
	    atl_random(ekey, sizeof(ekey)) != ATL_OK)
		return -1;
	cfg = json_pack("{s:s}", "sim_root", dir);
	if (atl_evidence_produce("sim", cfg, ekey, nonce, sizeof(nonce), &cpu_ev) != ATL_OK)
		return -1;
	json_decref(cfg);
	gpu_root_pem = text("nvidia-gpu/derived/test_gpu_root.derived.pem");
	gpu_chain_pem = text("nvidia-gpu/derived/test_gpu_chain.derived.pem");
	nv_chain_pem = text("nvidia-gpu/nvtrust/hopperCertChain.txt");
	nv_report_hex = text("nvidia-gpu/nvtrust/hopperAttestationReport.txt");
	k = text("nvidia-gpu/derived/test_gpu_leaf_key.derived.pem");
	if (atl_privkey_parse((const uint8_t *)k, strlen(k), &gpu_key) != ATL_OK)
		return -1;
	free(k);
	t0 = atl_time_now();
	return 0;
}

static int teardown(void **st)
{
	char path[128];

	(void)st;
	snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_KEY_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_PUB_FILE);
	unlink(path);
	rmdir(dir);
	free(root_pem);
	free(gpu_root_pem);
	free(gpu_chain_pem);
	free(nv_chain_pem);
	free(nv_report_hex);
	free(cpu_ev);
	atl_privkey_free(gpu_key);
	return 0;
}

/* A signed SPDM 1.1 transcript (2 blocks, the test FWID) for nonce n. */
static char *gpu_native(const uint8_t n[32])
{
	struct atl_wr w;
	uint8_t fwid[48], val[48], *t, *sig, *hex_in;
	size_t t_len, sig_len;
	char *hex, *out;
	json_t *j;

	memset(fwid, 0x5a, sizeof(fwid));
	atl_wr_init(&w, 4096, false);
	hw2_raw(&w, "\x11\xe0\x01\xff", 4);
	hw2_raw(&w, n, 32);
	hw2_raw(&w, "\x00\x11\x60\x00\x00\x02", 6);
	hw2_raw(&w, "\x6e\x00\x00", 3); /* record length 2 * 55 = 110 */
	for (uint8_t i = 1; i <= 2; i++) {
		memset(val, i, sizeof(val));
		hw2_raw(&w, (uint8_t[]){i, 0x01, 51, 0, 0x01, 48, 0}, 7);
		hw2_raw(&w, val, 48);
	}
	hw2_raw(&w, val, 32);              /* responder nonce */
	hw2_raw(&w, "\x34\x00", 2);        /* opaque length 52 */
	hw2_raw(&w, "\x14\x00\x30\x00", 4); /* FWID TLV */
	hw2_raw(&w, fwid, 48);
	t = hw2_take(&w, &t_len);
	assert_int_equal(atl_sig_sign(gpu_key, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, t, t_len,
				      &sig, &sig_len), ATL_OK);
	hex_in = malloc(t_len + sig_len);
	memcpy(hex_in, t, t_len);
	memcpy(hex_in + t_len, sig, sig_len);
	assert_int_equal(atl_hex_encode_alloc(hex_in, t_len + sig_len, &hex), ATL_OK);
	j = json_pack("{s:s, s:s}", "spdm", hex, "cert_chain", gpu_chain_pem);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(hex);
	free(hex_in);
	free(t);
	free(sig);
	return out;
}

static char *composite(const char *cpu, char **gpus, size_t n)
{
	const uint8_t *nat[4];
	size_t lens[4];
	char *out = NULL;

	for (size_t i = 0; i < n; i++) {
		nat[i] = (const uint8_t *)gpus[i];
		lens[i] = strlen(gpus[i]);
	}
	assert_int_equal(atl_composite_wrap(cpu, nat, lens, n, &out), ATL_OK);
	return out;
}

static json_t *policy(bool require_gpu, bool list_gpu, const char *gpu_meas)
{
	json_t *p = json_pack("{s:[s], s:b, s:i, s:{s:[s]}, s:{s:s, s:s}, s:b}", "tee_types", "sim",
			      "allow_sim", 1, "max_age_s", 300, "measurements", "sim", meas_hex,
			      "trust_anchors", "sim", root_pem, "nvidia-gpu", gpu_root_pem,
			      "require_gpu", require_gpu);
	char why[256];

	assert_non_null(p);
	if (list_gpu)
		json_array_append_new(json_object_get(p, "tee_types"), json_string("nvidia-gpu"));
	if (gpu_meas != NULL)
		json_object_set_new(json_object_get(p, "measurements"), "nvidia-gpu",
				    json_pack("[s]", gpu_meas));
	if (atl_policy_validate(p, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "policy: %s\n", why);
		fail();
	}
	return p;
}

static struct atl_ar *verify(const char *ev, const json_t *pol, enum atl_err *rc_out)
{
	struct atl_ar *ar = NULL;
	enum atl_err rc = atl_composite_verify((const uint8_t *)ev, strlen(ev), pol, nonce,
					       sizeof(nonce), t0, NULL, &ar);

	assert_non_null(ar);
	if (rc_out != NULL)
		*rc_out = rc;
	return ar;
}

static void expect_fail(struct atl_ar *ar, const char *check)
{
	if (atl_ar_first_failure(ar) == NULL || strcmp(atl_ar_first_failure(ar), check) != 0) {
		char *s = json_dumps(atl_ar_to_json(ar), JSON_INDENT(1));

		fprintf(stderr, "%s\n", s);
		free(s);
	}
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_string_equal(atl_ar_first_failure(ar), check);
	atl_ar_free(ar);
}

/* 0 failed, 1 ok, 2 ok as a warning, -1 absent */
static int check_state(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;
	int r = -1;

	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			r = !json_is_true(json_object_get(c, "ok")) ? 0
			    : json_is_true(json_object_get(c, "warning")) ? 2 : 1;
	}
	json_decref(j);
	return r;
}

static void test_accepted(void **state)
{
	(void)state;
	uint8_t gn[32], pub[ATL_X25519_LEN];
	char *g = NULL, *set;
	json_t *pol = policy(true, true, NULL);
	struct atl_ar *ar;
	enum atl_err rc;
	const char *gm;
	char *gm_copy;

	assert_int_equal(atl_composite_gpu_nonce(ekey, sizeof(ekey), nonce, sizeof(nonce), gn), ATL_OK);
	g = gpu_native(gn);
	set = composite(cpu_ev, &g, 1);
	/* GPU measurements not listed: accepted with a warning */
	ar = verify(set, pol, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
	assert_int_equal(check_state(ar, "gpu[0].measurement"), 2);
	assert_int_equal(check_state(ar, "gpu[0].binding"), 1);
	assert_int_equal(check_state(ar, "gpu[0].nvgpu.signature"), 1);
	assert_int_equal(atl_verify_enclave_key(ar, pub), ATL_OK);
	assert_memory_equal(pub, ekey, sizeof(pub));
	assert_string_equal(json_string_value(atl_ar_get(ar, "cpu_tee")), "sim");
	assert_int_equal(json_array_size(atl_ar_get(ar, "gpus")), 1);
	gm = json_string_value(json_object_get(json_array_get(atl_ar_get(ar, "gpus"), 0), "measurement"));
	assert_non_null(gm);
	gm_copy = strdup(gm);
	atl_ar_free(ar);
	json_decref(pol);
	/* ... listed: affirming */
	pol = policy(true, true, gm_copy);
	ar = verify(set, pol, &rc);
	assert_int_equal(rc, ATL_OK);
	/* still "warning": sim and the test GPU root always say so */
	assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
	assert_int_equal(check_state(ar, "gpu[0].measurement"), 1);
	atl_ar_free(ar);
	json_decref(pol);
	/* ... another digest listed: refused */
	pol = policy(true, true, meas_hex);
	ar = verify(set, pol, &rc);
	assert_int_equal(rc, ATL_E_POLICY);
	expect_fail(ar, "gpu[0].measurement");
	json_decref(pol);
	/* the GPU kind not allowed by the policy */
	pol = policy(false, false, NULL);
	expect_fail(verify(set, pol, NULL), "gpu[0].tee_type");
	json_decref(pol);
	/* the CPU part refused: wrong expected nonce */
	pol = policy(true, true, gm_copy);
	{
		struct atl_ar *r = NULL;
		static const uint8_t other[16] = {1};

		assert_int_equal(atl_composite_verify((const uint8_t *)set, strlen(set), pol, other,
						      sizeof(other), t0, NULL, &r), ATL_E_POLICY);
		assert_int_equal(atl_ar_status(r), ATL_AR_CONTRAINDICATED);
		assert_true(strncmp(atl_ar_first_failure(r), "cpu.", 4) == 0);
		assert_int_equal(atl_verify_enclave_key(r, pub), ATL_E_POLICY);
		atl_ar_free(r);
	}
	json_decref(pol);
	free(gm_copy);
	free(set);
	free(g);
}

static void test_binding(void **state)
{
	(void)state;
	uint8_t gn[32];
	char *g, *set;
	json_t *pol = policy(true, true, NULL);

	/* a GPU report made for another challenge */
	assert_int_equal(atl_composite_gpu_nonce(ekey, sizeof(ekey), nonce, sizeof(nonce) - 1, gn), ATL_OK);
	g = gpu_native(gn);
	set = composite(cpu_ev, &g, 1);
	expect_fail(verify(set, pol, NULL), "gpu[0].binding");
	free(set);
	free(g);
	json_decref(pol);
	/* the real H100 report (authentic, NVIDIA root) answers another nonce */
	pol = json_pack("{s:[s, s], s:b, s:{s:[s]}, s:{s:s}, s:b}", "tee_types", "sim", "nvidia-gpu",
			"allow_sim", 1, "measurements", "sim", meas_hex, "trust_anchors", "sim", root_pem,
			"require_gpu", 1);
	{
		json_t *j = json_pack("{s:s, s:s}", "spdm", nv_report_hex, "cert_chain", nv_chain_pem);
		struct atl_ar *ar;

		g = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		set = composite(cpu_ev, &g, 1);
		ar = verify(set, pol, NULL);
		/* the GPU's own checks pass ... */
		assert_int_equal(json_string_value(json_object_get(json_array_get(atl_ar_get(ar, "gpus"), 0),
								   "status"))[0], 'a');
		/* ... but it is not bound to this CPU evidence */
		expect_fail(ar, "gpu[0].binding");
		free(set);
		free(g);
	}
	json_decref(pol);
}

static void test_require_gpu(void **state)
{
	(void)state;
	json_t *pol = policy(true, true, NULL);
	char *set = composite(cpu_ev, NULL, 0);
	struct atl_ar *ar;
	enum atl_err rc;

	expect_fail(verify(set, pol, NULL), "require_gpu");
	/* a plain wrapper goes to the dispatcher, plus require_gpu */
	ar = verify(cpu_ev, pol, &rc);
	assert_int_equal(rc, ATL_E_POLICY);
	expect_fail(ar, "require_gpu");
	json_decref(pol);
	pol = policy(false, true, NULL);
	ar = verify(cpu_ev, pol, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_not_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = verify(set, pol, &rc); /* a set without GPUs, none required */
	assert_int_equal(rc, ATL_OK);
	atl_ar_free(ar);
	json_decref(pol);
	free(set);
}

static void test_malformed(void **state)
{
	(void)state;
	json_t *pol = policy(true, true, NULL);
	static const char *bad[] = {
		"[]", "{\"v\":2,\"cpu\":{},\"gpus\":[]}", "{\"v\":1,\"cpu\":{},\"gpus\":{}}",
		"{\"v\":1,\"cpu\":{},\"gpus\":[],\"x\":1}", "{\"v\":1,\"cpu\":{},\"gpus\":[1]}",
		"{\"v\":1,\"cpu\":{},\"gpus\":[{\"tee\":\"nvidia-gpu\"}]}", "{",
	};
	struct atl_ar *ar;
	enum atl_err rc;
	char *set, *nine[9];
	const uint8_t *nat[9];
	size_t lens[9];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ar = verify(bad[i], pol, &rc);
		assert_int_equal(rc, ATL_E_FORMAT);
		expect_fail(ar, "format");
	}
	/* the CPU part is not a wrapper; a GPU whose evidence is not base64 */
	set = strdup("{\"v\":1,\"cpu\":{\"v\":1},\"gpus\":[{\"tee\":\"nvidia-gpu\",\"evidence\":\"!!\"}]}");
	ar = verify(set, pol, &rc);
	assert_int_equal(rc, ATL_E_POLICY);
	expect_fail(ar, "cpu.format");
	free(set);
	/* too many GPUs */
	for (size_t i = 0; i < 9; i++) {
		nine[i] = "{}";
		nat[i] = (const uint8_t *)nine[i];
		lens[i] = 2;
	}
	assert_int_equal(atl_composite_wrap(cpu_ev, nat, lens, 9, &set), ATL_E_LIMIT);
	assert_int_equal(atl_composite_wrap("[1", nat, lens, 1, &set), ATL_E_FORMAT);
	assert_int_equal(atl_composite_wrap(NULL, nat, lens, 1, &set), ATL_E_ARG);
	json_decref(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_require_gpu),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
