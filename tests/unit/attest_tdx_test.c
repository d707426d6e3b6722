/* Unit tests for the "tdx" backend (src/attest/tdx.c, dcap.c,
 * dcap_verify.c) on every real TDX quote of
 * tests/vectors/attestation/attestation-vectors.hw.tsv at its reference time,
 * and the TDX cases of NEGATIVE-TESTS.md (#1, #2, #6, #7, #14-#22).
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
#include "atoll/json.h"
#include "attest/backends.h"
#include "attest/dcap.h"
#include "attest_hwtest.h"

static const struct atl_tee_ops *tdx(void)
{
	return &atl_tee_tdx;
}

#define QVL "tdx/dcap-qvl/"
#define GTG "tdx/go-tdx-guest/"
#define RENEWED QVL "tcb_signing_chain_renewed.derived.pem"
#define T_A "2025-07-19T10:00:34Z"

static const char *const coll_a[] = {QVL "tdx_quote_collateral.json", NULL};
static const char *const coll_b[] = {QVL "tdx_quote_outdated_collateral.json", NULL};
static const char *const coll_d[] = {GTG "sample_tcbInfo_response", GTG "sample_qeIdentity_response",
				     GTG "pckcrl", GTG "rootcrl.der",
				     GTG "pckCrlIssuerChain.derived.pem",
				     GTG "tcbInfoIssuerChain.derived.pem",
				     GTG "qeIdentityIssuerChain.derived.pem", NULL};
static const char *const coll_d5[] = {GTG "sample_tcbinfo_response_v5", RENEWED, NULL};
static const char *const coll_e[] = {"tdx/trustee/tcbInfo.json", "tdx/trustee/enclaveIdentity.json",
				     RENEWED, QVL "root_ca_crl_2025.derived.der", NULL};

static void assert_authentic(const struct atl_ar *ar)
{
	assert_int_equal(hw_check(ar, "tdx.quote"), 1);
	assert_int_equal(hw_check(ar, "tdx.pck_chain"), 1);
	assert_int_equal(hw_check(ar, "tdx.qe_signature"), 1);
	assert_int_equal(hw_check(ar, "tdx.qe_binding"), 1);
	assert_int_equal(hw_check(ar, "tdx.signature"), 1);
	assert_int_equal(hw_check(ar, "tdx.pck_extension"), 1);
}

static const char *tcb_status(const struct atl_ar *ar)
{
	return json_string_value(json_object_get(atl_ar_get(ar, "tcb"), "status"));
}

/* TSV: dcap-qvl A, UpToDate; NEGATIVE-TESTS.md #6/#21 expired at 2025-07-20
 * and 2025-08-01. */
static void test_qvl_a(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(tdx(), QVL "tdx_quote", coll_a, NULL, T_A, NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 1);
	assert_int_equal(hw_check(ar, "tdx.tcb_level"), 1);
	assert_int_equal(hw_check(ar, "tdx.tdx_module"), 1);
	assert_int_equal(hw_check(ar, "tdx.qe_identity"), 1);
	assert_int_equal(hw_check(ar, "tdx.tcb_status"), 1);
	assert_string_equal(tcb_status(ar), "UpToDate");
	assert_int_equal(json_array_size(json_object_get(atl_ar_get(ar, "tcb"), "advisory_ids")), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_true(strncmp(hw_claim_str(ar, "measurement"), "91eb2b44", 8) == 0);
	assert_true(strncmp(hw_claim_str(ar, "report_data"), "9a9d48e7", 8) == 0);
	assert_int_equal(json_array_size(atl_ar_get(ar, "rtmrs")), 4);
	atl_ar_free(ar);
	ar = hw_run(tdx(), QVL "tdx_quote", coll_a, NULL, "2025-07-20T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(tdx(), QVL "tdx_quote", coll_a, NULL, "2025-08-01T00:00:00Z", NULL);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	/* issue date in the future */
	ar = hw_run(tdx(), QVL "tdx_quote", coll_a, NULL, "2025-06-19T10:20:00Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 1);
	assert_int_equal(hw_check(ar, "tdx.qe_identity"), 0);
	atl_ar_free(ar);
	/* strict: both CRLs given, so require_crl passes */
	ar = hw_run(tdx(), QVL "tdx_quote", coll_a, NULL, T_A,
		    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"require_crl\":true,"
		    "\"require_collateral\":true}}}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
}

/* TSV: dcap-qvl B (v5, TD15): signatures valid, no matching TCB level (#15). */
static void test_qvl_b_no_level(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(tdx(), QVL "tdx_quote_outdated", coll_b, NULL, "2026-03-20T10:41:14Z", NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 1);
	assert_int_equal(hw_check(ar, "tdx.tcb_level"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_int_equal(json_integer_value(atl_ar_get(ar, "quote_version")), 5);
	atl_ar_free(ar);
}

/* TSV: go-tdx-guest SPR (39 appended bytes): signatures, chain and collateral
 * signatures valid; no matching level; SEPT_VE_DISABLE clear (#15, #19).
 * At 2053 the PCK and tcbInfo have expired (#6). */
static void test_go_tdx_guest(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(tdx(), GTG "tdx_prod_quote_SPR_E4.dat", coll_d, NULL, "2023-07-01T01:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 1);
	assert_int_equal(hw_check(ar, "tdx.qe_identity"), 1);
	assert_int_equal(hw_check(ar, "tdx.tcb_level"), 0);
	assert_int_equal(hw_check(ar, "tdx.sept_ve_disable"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(tdx(), GTG "tdx_prod_quote_SPR_E4.dat", coll_d, NULL, "2053-07-01T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.pck_chain"), 0);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	atl_ar_free(ar);
	/* v5 sample with tcbinfo v5 and the renewed TCB signing certificate */
	ar = hw_run(tdx(), GTG "quote_v5_sample.dat", coll_d5, NULL, "2026-02-03T01:00:00Z", NULL);
	assert_authentic(ar);
	assert_string_equal(tcb_status(ar), "UpToDate");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* the old TCB signing certificate expired 2025-05-21 */
	{
		static const char *const old[] = {GTG "sample_tcbinfo_response_v5",
						  GTG "tcbInfoIssuerChain.derived.pem", NULL};
		ar = hw_run(tdx(), GTG "quote_v5_sample.dat", old, NULL, "2026-02-03T01:00:00Z", NULL);
		assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
		atl_ar_free(ar);
	}
}

/* TSV: trustee tdx_quote_6: OutOfDate, refused unless the policy accepts it
 * (#16); PCK CRL missing, so require_crl fails. */
static void test_trustee_outofdate(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_6.dat", coll_e, NULL, "2025-11-01T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_string_equal(tcb_status(ar), "OutOfDate");
	assert_int_equal(hw_check(ar, "tdx.tcb_status"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_6.dat", coll_e, NULL, "2025-11-01T00:00:00Z",
		    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"accept_status\":[\"OutOfDate\"]}}}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_6.dat", coll_e, NULL, "2025-11-01T00:00:00Z",
		    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"accept_status\":[\"OutOfDate\"],"
		    "\"require_crl\":true}}}");
	assert_int_equal(hw_check(ar, "tdx.pck_chain"), 0);
	atl_ar_free(ar);
	/* Revoked can never be accepted */
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_6.dat", coll_e, NULL, "2025-11-01T00:00:00Z",
		    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"accept_status\":[\"Revoked\"]}}}");
	assert_int_equal(hw_check(ar, "tdx.policy"), 0);
	atl_ar_free(ar);
}

/* Quotes without collateral: signature and chain only. #19 for the policy
 * cases (DEBUG TD, MR_SERVICETD, SEPT_VE_DISABLE). */
static void test_no_collateral(void **state)
{
	static const char *const ok[] = {GTG "ccel/cos-113-tdx-quote.dat",
					 "tdx/openpcc/extracted/gce_tdx_report/test_gce_tdx_report.derived.bin",
					 "tdx/openpcc/extracted/azure_tdx_report/test_azure_tdx_quote.derived.bin",
					 QVL "quote-from-tappd.hex", QVL "tdx-quote.hex", NULL};
	struct atl_ar *ar;

	(void)state;
	for (size_t i = 0; ok[i] != NULL; i++) {
		ar = hw_run(tdx(), ok[i], NULL, NULL, "2025-10-01T00:00:00Z", NULL);
		assert_authentic(ar);
		if (atl_ar_status(ar) != ATL_AR_AFFIRMING) {
			hw_dump(ar);
			fail_msg("%s", ok[i]);
		}
		assert_string_equal(tcb_status(ar), "NotJudged");
		atl_ar_free(ar);
		/* require_collateral refuses them */
		ar = hw_run(tdx(), ok[i], NULL, NULL, "2025-10-01T00:00:00Z",
			    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"require_collateral\":true}}}");
		assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
		atl_ar_free(ar);
	}
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_4.dat", NULL, NULL, "2024-07-03T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "tdx.debug"), 0);
	assert_true(json_is_true(atl_ar_get(ar, "debug")));
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_4.dat", NULL, NULL, "2024-07-03T00:00:00Z",
		    "{\"tee_types\":[\"tdx\"],\"allow_debug\":true}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_5.dat", NULL, NULL, "2025-01-01T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "tdx.service_td"), 0);
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/tdx_quote_5.dat", NULL, NULL, "2025-01-01T00:00:00Z",
		    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"allow_service_td\":true}}}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/az-tdx-vtpm_td-quote.bin", NULL, NULL, "2025-01-01T00:00:00Z",
		    NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "tdx.sept_ve_disable"), 0);
	atl_ar_free(ar);
	ar = hw_run(tdx(), "tdx/trustee/az-tdx-vtpm_td-quote.bin", NULL, NULL, "2025-01-01T00:00:00Z",
		    "{\"tee_types\":[\"tdx\"],\"min_tcb\":{\"tdx\":{\"allow_sept_ve\":true}}}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
}

/* #21 fmspc_mismatch (A with B's collateral), sgx_tcb_id_mismatch (an SGX
 * tcbInfo for a TDX quote), #22 a Processor-CA PCK CRL for a Platform-CA PCK,
 * #2 a foreign anchor. */
static void test_collateral_mismatch(void **state)
{
	static const char *const sgx_coll[] = {"sgx/dcap-qvl/sgx_quote_collateral.json", NULL};
	static const char *const proc_crl[] = {QVL "tdx_quote_collateral.json",
					       "sgx/dcap-qvl/pck_crl_processor.derived.der", NULL};
	static const char *const amd[] = {"sev-snp/go-sev-guest/ask_ark_milan.pem", NULL};
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(tdx(), QVL "tdx_quote", coll_b, NULL, "2026-03-20T10:41:14Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(tdx(), QVL "tdx_quote", sgx_coll, NULL, "2025-07-19T10:01:17Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	assert_int_equal(hw_check(ar, "tdx.qe_identity"), 0); /* QE, not TD_QE */
	atl_ar_free(ar);
	ar = hw_run(tdx(), QVL "tdx_quote", proc_crl, NULL, "2025-07-19T10:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.pck_chain"), 0);
	atl_ar_free(ar);
	/* the Intel root given explicitly (pinned by the caller, DER) */
	{
		static const char *const intel[] = {QVL "TrustedRootCA.der", NULL};
		ar = hw_run(tdx(), QVL "tdx_quote", coll_a, intel, T_A, NULL);
		assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
		atl_ar_free(ar);
	}
	ar = hw_run(tdx(), QVL "tdx_quote", coll_a, amd, T_A, NULL);
	assert_int_equal(hw_check(ar, "tdx.pck_chain"), 0);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	atl_ar_free(ar);
}

/* #21 invalid_tcb_signature / qe identity tampering: a changed byte in the
 * signed tcbInfo or QE identity text fails its signature. */
static void test_tampered_collateral(void **state)
{
	size_t len = 0;
	uint8_t *b = hw_load(QVL "tdx_quote_collateral.json", &len);
	char *p;
	const char *coll[2] = {NULL, NULL};
	struct atl_ar *ar;

	(void)state;
	/* tcbInfo: "tcbEvaluationDataNumber":17 -> 18 */
	p = strstr((char *)b, "tcbEvaluationDataNumber\\\":17");
	assert_non_null(p);
	p[strlen("tcbEvaluationDataNumber\\\":1")] = '8';
	coll[0] = hw_tmpfile("tcb.json", b, len);
	ar = hw_run(tdx(), QVL "tdx_quote", coll, NULL, T_A, NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	(void)remove(coll[0]);
	free(b);
	/* QE identity: isvprodid 2 -> 3 (qe_isvprodid_mismatch: the signature breaks) */
	b = hw_load(QVL "tdx_quote_collateral.json", &len);
	p = strstr((char *)b, "isvprodid\\\":2");
	assert_non_null(p);
	p[strlen("isvprodid\\\":")] = '3';
	coll[0] = hw_tmpfile("qe.json", b, len);
	ar = hw_run(tdx(), QVL "tdx_quote", coll, NULL, T_A, NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 1);
	assert_int_equal(hw_check(ar, "tdx.qe_identity"), 0);
	atl_ar_free(ar);
	(void)remove(coll[0]);
	free(b);
	/* the same tcbInfo given twice is refused */
	{
		static const char *const twice[] = {QVL "tdx_quote_collateral.json",
						    QVL "tdx_quote_collateral.json", NULL};
		ar = hw_run(tdx(), QVL "tdx_quote", twice, NULL, T_A, NULL);
		assert_int_equal(hw_check(ar, "tdx.collateral"), 0);
		atl_ar_free(ar);
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* #1: every byte of header and body, the signature, the QE report and its
 * signature; #17: the vendor id (parse-level check). */
static void test_flips(void **state)
{
	size_t len = 0;
	uint8_t *b = hw_load(QVL "tdx_quote", &len);
	struct atl_dcap_quote q;
	size_t qe_off;

	(void)state;
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	qe_off = (size_t)(q.qe_report - b);
	for (size_t off = 0; off < q.signed_len + 4 + 128 + 6 + 384 + 64; off += 3) {
		struct atl_ar *ar;
		enum atl_err rc;

		if (off >= q.signed_len && off < q.signed_len + 4)
			continue; /* sig_data_len: covered by the parser tests */
		if (off >= q.signed_len + 4 + 128 && off < qe_off)
			continue; /* certification type and size */
		b[off] ^= 0x01;
		ar = hw_run_buf(tdx(), b, len, NULL, NULL, T_A, NULL, &rc);
		if (atl_ar_status(ar) != ATL_AR_CONTRAINDICATED)
			fail_msg("flip at %zu accepted", off);
		atl_ar_free(ar);
		b[off] ^= 0x01;
	}
	/* the PCK and its CA: change base64 characters inside each PEM body (a
	 * different DER, so a different TBS or signature). The third certificate
	 * is the root the quote carries: never trusted (the pinned root is). */
	{
		const char *pem = (const char *)q.cert_data;
		size_t n_certs = 0;
		for (size_t i = 0; i + 27 < q.cert_len; i++) {
			if (memcmp(pem + i, "-----BEGIN CERTIFICATE-----", 27) != 0)
				continue;
			n_certs++;
			for (size_t d = 100; d <= 700; d += 200) {
				uint8_t *c = b + (size_t)(q.cert_data - b) + i + 27 + d;
				uint8_t old = *c;
				struct atl_ar *ar;
				enum atl_err rc;
				if (old == '\n' || old == '-')
					continue;
				*c = old == 'A' ? 'B' : 'A';
				ar = hw_run_buf(tdx(), b, len, NULL, NULL, T_A, NULL, &rc);
				if (n_certs < 3 && atl_ar_status(ar) != ATL_AR_CONTRAINDICATED)
					fail_msg("certificate %zu change at %zu accepted", n_certs, d);
				/* cert 3: accepted when it still parses (ignored), or
				 * refused when the PEM no longer parses: both fine */
				atl_ar_free(ar);
				*c = old;
			}
		}
		assert_int_equal(n_certs, 3);
	}
	for (size_t off = 12; off < 28; off++) {
		b[off] ^= 0x01;
		assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_FORMAT);
		b[off] ^= 0x01;
	}
	free(b);
}

/* #7: truncation at every length, lengths set to 0xFFFFFFFF, no PCK chain;
 * #21 invalid_sgx_v4, invalid_quote_v5, invalid_quote_format. */
static void test_parser(void **state)
{
	size_t len = 0;
	uint8_t *b = hw_load(QVL "tdx_quote", &len);
	uint8_t *v5 = NULL;
	size_t v5_len = 0;
	struct atl_dcap_quote q;
	size_t sl;

	(void)state;
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	assert_int_equal(q.version, 4);
	assert_int_equal(q.trailing, 70);
	assert_int_equal(q.cert_type, ATL_DCAP_CERT_PCK_CHAIN);
	sl = q.signed_len;
	for (size_t n = 0, end = len - q.trailing; n < end; n++)
		assert_int_not_equal(atl_dcap_parse(b, n, &q), ATL_OK);
	/* sig_data_len = 0xFFFFFFFF */
	put32(b + sl, 0xffffffffu);
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_LIMIT);
	put32(b + sl, 0x00ffffffu);
	assert_int_not_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	free(b);
	b = hw_load(QVL "tdx_quote", &len);
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	{
		size_t cd = (size_t)(q.sig - b) + 128; /* certification type 6, size */
		size_t inner = (size_t)(q.cert_data - b) - 6;
		put32(b + cd + 2, 0xffffffffu);
		assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_LIMIT);
		free(b);
		b = hw_load(QVL "tdx_quote", &len);
		put32(b + inner + 2, 0xffffffffu);
		assert_int_not_equal(atl_dcap_parse(b, len, &q), ATL_OK);
		put32(b + inner + 2, 0);
		assert_int_not_equal(atl_dcap_parse(b, len, &q), ATL_OK);
		free(b);
		b = hw_load(QVL "tdx_quote", &len);
		/* cert_type_3_without_pck_chain */
		put16(b + inner, 3);
		assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_UNSUPPORTED);
		put16(b + inner, 5);
		put16(b + cd, 5);
		assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_FORMAT);
		put16(b + cd, 6);
	}
	/* invalid_sgx_v4: SGX tee type in a v4 quote; version 2 and 6 */
	put32(b + 4, 0);
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_UNSUPPORTED);
	put32(b + 4, ATL_DCAP_TEE_TDX);
	put16(b, 6);
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_UNSUPPORTED);
	put16(b, 4);
	put16(b + 2, 3); /* att key type */
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_E_UNSUPPORTED);
	put16(b + 2, 2);
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	free(b);
	/* v5: body type 1 (SGX) and a wrong body size */
	v5 = hw_load(QVL "tdx_quote_outdated", &v5_len);
	assert_int_equal(atl_dcap_parse(v5, v5_len, &q), ATL_OK);
	assert_int_equal(q.body_type, 3);
	assert_true(q.td.td15);
	put16(v5 + 48, 1);
	assert_int_equal(atl_dcap_parse(v5, v5_len, &q), ATL_E_UNSUPPORTED);
	put16(v5 + 48, 3);
	put32(v5 + 50, 584);
	assert_int_equal(atl_dcap_parse(v5, v5_len, &q), ATL_E_FORMAT);
	put32(v5 + 50, 0xffffffffu);
	assert_int_not_equal(atl_dcap_parse(v5, v5_len, &q), ATL_OK);
	free(v5);
	/* an SGX quote given to the TDX backend */
	{
		struct atl_ar *ar;
		enum atl_err rc;
		uint8_t *s = hw_load("sgx/dcap-qvl/sgx_quote", &len);
		ar = hw_run_buf(tdx(), s, len, NULL, NULL, T_A, NULL, &rc);
		assert_int_equal(rc, ATL_E_FORMAT);
		assert_int_equal(hw_check(ar, "tdx.quote"), 0);
		atl_ar_free(ar);
		free(s);
	}
}

/* #14: the matcher refuses short component lists; unknown statuses; status
 * merging. */
static void test_tcb_matcher(void **state)
{
	static const char *const lvl8 =
		"{\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":0},{\"svn\":0},{\"svn\":0},"
		"{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0}],\"pcesvn\":0},"
		"\"tcbStatus\":\"UpToDate\"}]}";
	char lvl16[2048];
	json_t *ti = NULL;
	struct atl_dcap_pck pck;
	enum atl_dcap_status st;
	size_t n;

	(void)state;
	memset(&pck, 0, sizeof(pck));
	pck.pcesvn = 5;
	for (size_t i = 0; i < 16; i++)
		pck.comps[i] = 3;
	assert_int_equal(atl_json_parse(lvl8, strlen(lvl8), &ti), ATL_OK);
	assert_int_equal(atl_dcap_tcb_match(ti, &pck, NULL, &st, NULL), ATL_E_FORMAT);
	json_decref(ti);
	n = (size_t)snprintf(lvl16, sizeof(lvl16), "{\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[");
	for (size_t i = 0; i < 16; i++)
		n += (size_t)snprintf(lvl16 + n, sizeof(lvl16) - n, "%s{\"svn\":%d}", i ? "," : "",
				      i == 7 ? 4 : 1);
	n += (size_t)snprintf(lvl16 + n, sizeof(lvl16) - n,
			      "],\"pcesvn\":2},\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"sgxtcbcomponents\":[");
	for (size_t i = 0; i < 16; i++)
		n += (size_t)snprintf(lvl16 + n, sizeof(lvl16) - n, "%s{\"svn\":0}", i ? "," : "");
	(void)snprintf(lvl16 + n, sizeof(lvl16) - n,
		       "],\"pcesvn\":0},\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-1\"]}]}");
	assert_int_equal(atl_json_parse(lvl16, strlen(lvl16), &ti), ATL_OK);
	{
		json_t *adv = json_array();
		/* component 8 requires 4 > 3: the second level matches */
		assert_int_equal(atl_dcap_tcb_match(ti, &pck, NULL, &st, adv), ATL_OK);
		assert_int_equal(st, ATL_DCAP_OUT_OF_DATE);
		assert_int_equal(json_array_size(adv), 1);
		json_decref(adv);
	}
	pck.comps[7] = 4;
	assert_int_equal(atl_dcap_tcb_match(ti, &pck, NULL, &st, NULL), ATL_OK);
	assert_int_equal(st, ATL_DCAP_UP_TO_DATE);
	/* TDX: tdxtcbcomponents missing -> malformed */
	{
		uint8_t svn[16] = {0};
		assert_int_equal(atl_dcap_tcb_match(ti, &pck, svn, &st, NULL), ATL_E_FORMAT);
	}
	json_decref(ti);
	/* unknown_tcb_status */
	{
		char *u = strdup(lvl16);
		char *p = strstr(u, "OutOfDate");
		memcpy(p, "OutOfDat3", 9);
		assert_int_equal(atl_json_parse(u, strlen(u), &ti), ATL_OK);
		assert_int_equal(atl_dcap_tcb_match(ti, &pck, NULL, &st, NULL), ATL_E_FORMAT);
		json_decref(ti);
		free(u);
	}
	/* no level at all matches */
	pck.pcesvn = 0;
	pck.comps[0] = 0;
	assert_int_equal(atl_json_parse(lvl16, strlen(lvl16), &ti), ATL_OK);
	for (size_t i = 0; i < 16; i++)
		pck.comps[i] = 0;
	assert_int_equal(atl_dcap_tcb_match(ti, &pck, NULL, &st, NULL), ATL_OK); /* all-zero level */
	json_decref(ti);
	assert_int_equal(atl_dcap_status_merge(ATL_DCAP_UP_TO_DATE, ATL_DCAP_OUT_OF_DATE),
			 ATL_DCAP_OUT_OF_DATE);
	assert_int_equal(atl_dcap_status_merge(ATL_DCAP_CONFIGURATION_NEEDED, ATL_DCAP_OUT_OF_DATE),
			 ATL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED);
	assert_int_equal(atl_dcap_status_merge(ATL_DCAP_SW_HARDENING_NEEDED,
					       ATL_DCAP_CONFIGURATION_NEEDED),
			 ATL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED);
	assert_int_equal(atl_dcap_status_merge(ATL_DCAP_REVOKED, ATL_DCAP_UP_TO_DATE), ATL_DCAP_REVOKED);
	assert_int_equal(atl_dcap_status_parse("Revoked", &st), ATL_OK);
	assert_int_equal(atl_dcap_status_parse("revoked", &st), ATL_E_FORMAT);
}

/* #18, dcap-qvl's synthetic QE identity catalog, on the real TD_QE identity
 * and the real QE report (signatures are tested elsewhere; these cases would
 * need re-signed collateral). #16/#21 revoked and unknown statuses. */
static void test_qe_identity_catalog(void **state)
{
	size_t len = 0, clen = 0;
	uint8_t *b = hw_load(QVL "tdx_quote", &len);
	uint8_t *cb = hw_load(QVL "tdx_quote_collateral.json", &clen);
	json_t *coll = NULL, *qi = NULL, *m;
	struct atl_dcap_quote q;
	struct atl_dcap_sgx_report qe;
	enum atl_dcap_status st;
	const char *txt;
	char why[200];
	int64_t t = hw_at(T_A);

	(void)state;
	assert_int_equal(atl_dcap_parse(b, len, &q), ATL_OK);
	assert_int_equal(atl_json_parse((const char *)cb, clen, &coll), ATL_OK);
	txt = json_string_value(json_object_get(coll, "qe_identity"));
	assert_int_equal(atl_json_parse(txt, strlen(txt), &qi), ATL_OK);
	assert_int_equal(atl_dcap_qe_identity_check(qi, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_OK);
	assert_int_equal(st, ATL_DCAP_UP_TO_DATE);
	/* tdx_qe_identity_id_mismatch */
	assert_int_equal(atl_dcap_qe_identity_check(qi, &q.qe, "QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_POLICY);
	/* qe_identity_expired / qe_identity_issue_date_future */
	assert_int_equal(atl_dcap_qe_identity_check(qi, &q.qe, "TD_QE", hw_at("2025-07-19T10:32:27Z"),
						    &st, NULL, why, sizeof(why)),
			 ATL_E_EXPIRED);
	assert_int_equal(atl_dcap_qe_identity_check(qi, &q.qe, "TD_QE", hw_at("2025-06-19T10:32:26Z"),
						    &st, NULL, why, sizeof(why)),
			 ATL_E_EXPIRED);
	/* qe_debug_enabled: ATTRIBUTES.DEBUG is inside the mask */
	qe = q.qe;
	qe.attributes[0] |= 0x02;
	assert_int_equal(atl_dcap_qe_identity_check(qi, &qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_POLICY);
	/* qe_attributes_mismatch, qe_miscselect_mismatch, qe_mrsigner_mismatch,
	 * qe_isvprodid_mismatch */
	m = json_deep_copy(qi);
	json_object_set_new(m, "attributes", json_string("13000000000000000000000000000000"));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_POLICY);
	json_decref(m);
	m = json_deep_copy(qi);
	json_object_set_new(m, "miscselect", json_string("00000001"));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_POLICY);
	json_decref(m);
	m = json_deep_copy(qi);
	json_object_set_new(m, "mrsigner",
			    json_string("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C6"));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_POLICY);
	json_decref(m);
	m = json_deep_copy(qi);
	json_object_set_new(m, "isvprodid", json_integer(3));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_POLICY);
	json_decref(m);
	/* revoked_qe_tcb */
	m = json_deep_copy(qi);
	json_object_set_new(m, "tcbLevels",
			    json_pack("[{s:{s:i}, s:s, s:s}]", "tcb", "isvsvn", 0, "tcbDate",
				      "2024-03-13T00:00:00Z", "tcbStatus", "Revoked"));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_OK);
	assert_int_equal(st, ATL_DCAP_REVOKED);
	json_decref(m);
	/* a QE SVN below every level is OutOfDate; version 1 unsupported */
	m = json_deep_copy(qi);
	json_object_set_new(m, "tcbLevels",
			    json_pack("[{s:{s:i}, s:s, s:s}]", "tcb", "isvsvn", 200, "tcbDate",
				      "2024-03-13T00:00:00Z", "tcbStatus", "UpToDate"));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_OK);
	assert_int_equal(st, ATL_DCAP_OUT_OF_DATE);
	json_object_set_new(m, "version", json_integer(1));
	assert_int_equal(atl_dcap_qe_identity_check(m, &q.qe, "TD_QE", t, &st, NULL, why, sizeof(why)),
			 ATL_E_UNSUPPORTED);
	json_decref(m);
	/* status verdicts: revoked_platform_tcb, unknown_tcb_status */
	{
		json_t *acc = json_pack("[s, s]", "Revoked", "OutOfDate");
		assert_int_equal(atl_dcap_status_verdict(ATL_DCAP_REVOKED, acc), ATL_DCAP_FAIL);
		assert_int_equal(atl_dcap_status_verdict(ATL_DCAP_STATUS_UNKNOWN, acc), ATL_DCAP_FAIL);
		assert_int_equal(atl_dcap_status_verdict(ATL_DCAP_OUT_OF_DATE, acc), ATL_DCAP_PASS);
		assert_int_equal(atl_dcap_status_verdict(ATL_DCAP_OUT_OF_DATE, NULL), ATL_DCAP_FAIL);
		assert_int_equal(atl_dcap_status_verdict(ATL_DCAP_SW_HARDENING_NEEDED, NULL), ATL_DCAP_WARN);
		assert_int_equal(atl_dcap_status_verdict(ATL_DCAP_UP_TO_DATE, NULL), ATL_DCAP_PASS);
		json_decref(acc);
	}
	json_decref(qi);
	json_decref(coll);
	free(cb);
	free(b);
}

/* #21 short_tcb_chain: tcbInfo without its signing certificate. */
static void test_missing_signing_chain(void **state)
{
	static const char *const c[] = {GTG "sample_tcbInfo_response", GTG "pckcrl", GTG "rootcrl.der",
					NULL};
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(tdx(), GTG "tdx_prod_quote_SPR_E4.dat", c, NULL, "2023-07-01T01:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "tdx.tcb_info"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
}

static void test_pck_extension(void **state)
{
	struct atl_dcap_pck p;
	static const uint8_t junk[] = {0x30, 0x03, 0x30, 0x01, 0x00};

	(void)state;
	assert_int_equal(atl_dcap_pck_parse(junk, sizeof(junk), &p), ATL_E_FORMAT);
	assert_int_equal(atl_dcap_pck_parse(NULL, 0, &p), ATL_E_FORMAT);
	/* 0x30 0x84 ...: long lengths beyond 3 bytes are refused */
	{
		static const uint8_t big[] = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff};
		assert_int_equal(atl_dcap_pck_parse(big, sizeof(big), &p), ATL_E_FORMAT);
	}
}

static void test_detect_evidence(void **state)
{
	uint8_t rd[ATL_REPORT_DATA_LEN] = {0};
	uint8_t *ev = NULL;
	size_t ev_len = 0;

	(void)state;
	if (!tdx()->detect()) {
		enum atl_err rc = tdx()->evidence(NULL, rd, &ev, &ev_len);
		assert_true(rc == ATL_E_UNSUPPORTED || rc == ATL_E_DENIED || rc == ATL_E_IO);
		assert_null(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qvl_a),
		cmocka_unit_test(test_qvl_b_no_level),
		cmocka_unit_test(test_go_tdx_guest),
		cmocka_unit_test(test_trustee_outofdate),
		cmocka_unit_test(test_no_collateral),
		cmocka_unit_test(test_collateral_mismatch),
		cmocka_unit_test(test_tampered_collateral),
		cmocka_unit_test(test_flips),
		cmocka_unit_test(test_parser),
		cmocka_unit_test(test_tcb_matcher),
		cmocka_unit_test(test_qe_identity_catalog),
		cmocka_unit_test(test_missing_signing_chain),
		cmocka_unit_test(test_pck_extension),
		cmocka_unit_test(test_detect_evidence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
