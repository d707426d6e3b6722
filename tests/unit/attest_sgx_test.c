/* Unit tests for the "sgx" backend (src/attest/sgx.c with the shared DCAP
 * code) on every real SGX quote of attestation-vectors.hw.tsv at its
 * reference time, and the SGX cases of NEGATIVE-TESTS.md (#1, #6, #7, #16,
 * #17, #18, #19).
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/dcap.h"
#include "attest/backends.h"
#include "attest/dcap.h"
#include "attest_hwtest.h"

static const struct atl_tee_ops *sgx(void)
{
	return &atl_tee_sgx;
}

#define QVL "sgx/dcap-qvl/"
#define T_A "2025-07-19T10:01:17Z"

static const char *const coll_a[] = {QVL "sgx_quote_collateral.json", NULL};

static void assert_authentic(const struct atl_ar *ar)
{
	assert_int_equal(hw_check(ar, "sgx.quote"), 1);
	assert_int_equal(hw_check(ar, "sgx.pck_chain"), 1);
	assert_int_equal(hw_check(ar, "sgx.qe_signature"), 1);
	assert_int_equal(hw_check(ar, "sgx.qe_binding"), 1);
	assert_int_equal(hw_check(ar, "sgx.signature"), 1);
	assert_int_equal(hw_check(ar, "sgx.pck_extension"), 1);
}

/* TSV: dcap-qvl sgx_quote: ConfigurationAndSWHardeningNeeded with
 * [INTEL-SA-00289, INTEL-SA-00615]: a warning, so not accepted by the
 * default policy (#16); accepted when the policy lists the status. */
static void test_qvl(void **state)
{
	struct atl_ar *ar;
	const json_t *tcb, *ids;

	(void)state;
	ar = hw_run(sgx(), QVL "sgx_quote", coll_a, NULL, T_A, NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "sgx.tcb_info"), 1);
	assert_int_equal(hw_check(ar, "sgx.tcb_level"), 1);
	assert_int_equal(hw_check(ar, "sgx.qe_identity"), 1);
	assert_int_equal(hw_check(ar, "sgx.debug"), 1);
	tcb = atl_ar_get(ar, "tcb");
	assert_string_equal(json_string_value(json_object_get(tcb, "status")),
			    "ConfigurationAndSWHardeningNeeded");
	ids = json_object_get(tcb, "advisory_ids");
	assert_int_equal(json_array_size(ids), 2);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), "INTEL-SA-00289");
	assert_string_equal(json_string_value(json_array_get(ids, 1)), "INTEL-SA-00615");
	assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
	assert_string_equal(hw_claim_str(ar, "measurement"),
			    "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
	assert_string_equal(hw_claim_str(ar, "mrsigner"),
			    "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
	assert_true(strncmp(hw_claim_str(ar, "report_data"), "48656c6c6f2c20776f726c6421", 26) == 0);
	atl_ar_free(ar);
	ar = hw_run(sgx(), QVL "sgx_quote", coll_a, NULL, T_A,
		    "{\"tee_types\":[\"sgx\"],\"min_tcb\":{\"sgx\":{\"accept_status\":"
		    "[\"ConfigurationAndSWHardeningNeeded\"],\"require_crl\":true,"
		    "\"mrsigner\":\"815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6\","
		    "\"isvprodid\":0,\"isvsvn\":0}}}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* the same with the root pinned by the caller */
	{
		static const char *const intel[] = {QVL "TrustedRootCA.der", NULL};
		ar = hw_run(sgx(), QVL "sgx_quote", coll_a, intel, T_A, NULL);
		assert_int_equal(atl_ar_status(ar), ATL_AR_WARNING);
		atl_ar_free(ar);
	}
	/* enclave identity checks of the policy */
	ar = hw_run(sgx(), QVL "sgx_quote", coll_a, NULL, T_A,
		    "{\"tee_types\":[\"sgx\"],\"min_tcb\":{\"sgx\":{\"isvsvn\":1,\"isvprodid\":2,"
		    "\"mrsigner\":\"00\"}}}");
	assert_int_equal(hw_check(ar, "sgx.isvsvn"), 0);
	assert_int_equal(hw_check(ar, "sgx.isvprodid"), 0);
	assert_int_equal(hw_check(ar, "sgx.mrsigner"), 0);
	atl_ar_free(ar);
	/* #6: after nextUpdate; before issueDate */
	ar = hw_run(sgx(), QVL "sgx_quote", coll_a, NULL, "2025-07-20T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "sgx.tcb_info"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(sgx(), QVL "sgx_quote", coll_a, NULL, "2025-06-19T10:30:00Z", NULL);
	assert_int_equal(hw_check(ar, "sgx.tcb_info"), 0);
	atl_ar_free(ar);
}

/* #18: the TD_QE identity and the TDX tcbInfo applied to the SGX quote. */
static void test_wrong_collateral(void **state)
{
	static const char *const tdx_coll[] = {"tdx/dcap-qvl/tdx_quote_collateral.json", NULL};
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(sgx(), QVL "sgx_quote", tdx_coll, NULL, "2025-07-19T10:00:34Z", NULL);
	assert_int_equal(hw_check(ar, "sgx.tcb_info"), 0);
	assert_int_equal(hw_check(ar, "sgx.qe_identity"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
}

/* TSV: occlum: signatures and chain valid, DEBUG enclave (#19). */
static void test_occlum_debug(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(sgx(), "sgx/trustee/occlum_quote.dat", NULL, NULL, "2024-07-03T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "sgx.debug"), 0);
	assert_true(json_is_true(atl_ar_get(ar, "debug")));
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(sgx(), "sgx/trustee/occlum_quote.dat", NULL, NULL, "2024-07-03T00:00:00Z",
		    "{\"tee_types\":[\"sgx\"],\"allow_debug\":true}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
}

/* #1 and #7 on the v3 layout; #17 vendor id. */
static void test_flips_and_parser(void **state)
{
	size_t len = 0;
	uint8_t *b = hw_load(QVL "sgx_quote", &len);
	struct atl_dcap_quote q;

	(void)state;
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	assert_int_equal(q.version, 3);
	assert_int_equal(q.signed_len, 432);
	for (size_t n = 0, end = len - q.trailing; n < end; n++)
		assert_int_not_equal(atl_dcap_parse(b, n, &q), ATL_OK);
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	for (size_t off = 0; off < 432 + 4 + 128 + 384 + 64; off += 5) {
		struct atl_ar *ar;
		enum atl_err rc;

		if (off >= 432 && off < 436)
			continue;
		b[off] ^= 0x01;
		ar = hw_run_buf(sgx(), b, len, NULL, NULL, T_A, NULL, &rc);
		if (atl_ar_status(ar) != ATL_AR_CONTRAINDICATED)
			fail_msg("flip at %zu accepted", off);
		atl_ar_free(ar);
		b[off] ^= 0x01;
	}
	b[12] ^= 0x80;
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_FORMAT);
	b[12] ^= 0x80;
	b[432] = 0xff;
	b[433] = 0xff;
	b[434] = 0xff;
	b[435] = 0xff;
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_LIMIT);
	free(b);
}

static void test_detect_evidence(void **state)
{
	uint8_t rd[ATL_REPORT_DATA_LEN] = {0};
	uint8_t *ev = NULL;
	size_t ev_len = 0;

	(void)state;
	if (!sgx()->detect()) {
		assert_int_equal(sgx()->evidence(NULL, rd, &ev, &ev_len), ATL_E_UNSUPPORTED);
		assert_null(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qvl),
		cmocka_unit_test(test_wrong_collateral),
		cmocka_unit_test(test_occlum_debug),
		cmocka_unit_test(test_flips_and_parser),
		cmocka_unit_test(test_detect_evidence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
