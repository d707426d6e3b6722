/* Unit tests for the "sev-snp" backend (src/attest/snp.c) on every real SNP
 * sample of tests/vectors/attestation/attestation-vectors.hw.tsv at its
 * reference time, and the SNP cases of NEGATIVE-TESTS.md (#1, #2, #6, #7,
 * #8-#13).
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/hwverify.h"
#include "atoll/snp.h"
#include "atoll/x509.h"
#include "attest/backends.h"
#include "attest_hwtest.h"

static const struct atl_tee_ops *snp(void)
{
	const struct atl_tee_ops *o = atl_tee_find("sev-snp");

	assert_non_null(o);
	return o;
}

#define GSG "sev-snp/go-sev-guest/"
#define TRU "sev-snp/trustee/"
#define OPC "sev-snp/openpcc/extracted/"
#define OPCC OPC "sev_certificates/"

static const char *const coll_gsg[] = {GSG "vcek.testcer", NULL};
static const char *const coll_virtee[] = {"sev-snp/virtee-sev/vcek_milan.der",
					  "sev-snp/virtee-sev/cert_chain_milan", NULL};
static const char *const coll_trustee[] = {TRU "test-vcek.der", NULL};
static const char *const coll_vlek[] = {TRU "test-vlek.der", GSG "ask_ark_milan_vlek.pem", NULL};
static const char *const coll_azure[] = {OPCC "test_vcek.pem",
					 OPCC "test_amd_sev_genoa_root_certs.pem",
					 OPCC "test_amd_genoa_crl.pem", NULL};

/* every authenticity check passed */
static void assert_authentic(const struct atl_ar *ar)
{
	assert_int_equal(hw_check(ar, "snp.report"), 1);
	assert_int_equal(hw_check(ar, "snp.product"), 1);
	assert_int_equal(hw_check(ar, "snp.cert_algorithms"), 1);
	assert_int_equal(hw_check(ar, "snp.chain"), 1);
	assert_int_equal(hw_check(ar, "snp.signature"), 1);
	assert_int_equal(hw_check(ar, "snp.tcb"), 1);
	assert_int_equal(hw_check(ar, "snp.chip_id"), 1);
}

/* TSV row 1: valid signature and chain, but guest policy allows DEBUG:
 * rejected by the default policy (NEGATIVE-TESTS.md #11). */
static void test_gsg_debug_policy(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(snp(), GSG "attestation.bin", coll_gsg, NULL, "2022-09-24T01:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(hw_check(ar, "snp.guest_debug"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_true(json_is_true(atl_ar_get(ar, "debug")));
	assert_non_null(strstr(hw_claim_str(ar, "report_data"), "0102030405000000"));
	assert_string_equal(hw_claim_str(ar, "measurement"),
			    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
			    "6bdf8a9ece31a5a608eb0cf2e4872b01");
	atl_ar_free(ar);
	/* allowed by an explicit policy */
	ar = hw_run(snp(), GSG "attestation.bin", coll_gsg, NULL, "2022-09-24T01:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"allow_debug\":true}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* the VCEK is not yet valid a day earlier */
	ar = hw_run(snp(), GSG "attestation.bin", coll_gsg, NULL, "2022-09-23T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.chain"), 0);
	atl_ar_free(ar);
}

/* TSV row 2: hex text, valid. virtee milan_report_invalid: bit 0x80 of byte 21. */
static void test_virtee_hex(void **state)
{
	struct atl_ar *ar;
	size_t len = 0;
	uint8_t *b;
	enum atl_err rc;

	(void)state;
	ar = hw_run(snp(), "sev-snp/virtee-sev/report_milan.hex", coll_virtee, NULL,
		    "2023-05-02T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_string_equal(hw_claim_str(ar, "measurement"),
			    "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"
			    "3e1a0dc39b2c60bd95b9c480cd81841f");
	atl_ar_free(ar);
	b = hw_load("sev-snp/virtee-sev/report_milan.derived.bin", &len);
	b[21] ^= 0x80;
	ar = hw_run_buf(snp(), b, len, coll_virtee, NULL, "2023-05-02T00:00:00Z", NULL, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(hw_check(ar, "snp.signature"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(b);
}

/* TSV row 3 and trustee's tests: [42]+=1 signature, [384]+=1 TCB. */
static void test_trustee(void **state)
{
	struct atl_ar *ar;
	size_t len = 0;
	uint8_t *b;
	enum atl_err rc;

	(void)state;
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, NULL, "2024-07-03T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);

	b = hw_load(TRU "test-report.bin", &len);
	b[42] += 1;
	ar = hw_run_buf(snp(), b, len, coll_trustee, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(hw_check(ar, "snp.signature"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	b[42] -= 1;
	b[384] += 1; /* reported_tcb (NEGATIVE-TESTS.md #8 A/B) */
	ar = hw_run_buf(snp(), b, len, coll_trustee, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(hw_check(ar, "snp.tcb"), 0);
	assert_int_equal(hw_check(ar, "snp.signature"), 0);
	atl_ar_free(ar);
	free(b);
}

/* check_vcek_signature_failure: VCEK DER [42] += 1; and the ASVK offered in
 * place of the ASK (check_milan_chain_signature_failure). */
static void test_trustee_chain_negatives(void **state)
{
	static const char *const asvk_only[] = {TRU "test-vcek.der", GSG "ask_ark_milan_vlek.pem",
						NULL};
	size_t len = 0, rlen = 0;
	uint8_t *v = hw_load(TRU "test-vcek.der", &len);
	uint8_t *r = hw_load(TRU "test-report.bin", &rlen);
	struct atl_ar *ar;
	char path[512];
	FILE *f;
	const char *coll_tmp[] = {path, NULL};
	enum atl_err rc;

	(void)state;
	/* NEGATIVE-TESTS.md #1: a changed byte in the ASK (as collateral) */
	{
		size_t alen = 0;
		uint8_t *a = hw_load(GSG "ask_ark_milan.pem", &alen);
		for (size_t off = 200; off < 1400; off += 150) {
			uint8_t old = a[off];
			const char *c2[3];
			if (old == '\n' || old == '-')
				continue;
			a[off] = old == 'A' ? 'B' : 'A';
			c2[0] = HWV TRU "test-vcek.der";
			c2[1] = hw_tmpfile("ask.pem", a, alen);
			c2[2] = NULL;
			ar = hw_run_buf(snp(), r, rlen, c2, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
			if (atl_ar_status(ar) != ATL_AR_CONTRAINDICATED)
				fail_msg("ASK change at %zu accepted", off);
			atl_ar_free(ar);
			(void)remove(c2[1]);
			a[off] = old;
		}
		free(a);
	}
	ar = hw_run(snp(), TRU "test-report.bin", asvk_only, NULL, "2024-07-03T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.chain"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);

	v[42] += 1;
	(void)snprintf(path, sizeof(path), "%s/tests/snp-tmp-vcek-%ld.der", ATL_BINARY_DIR,
		       (long)getpid());
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(v, 1, len, f), len);
	fclose(f);
	ar = hw_run_buf(snp(), r, rlen, coll_tmp, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	(void)remove(path);
	free(v);
	free(r);
}

/* TSV row 4: VLEK, v3, vmpl 1, committed != current (accepted by default);
 * NEGATIVE-TESTS.md #6 (VLEK expired) and #11 (vmpl, provisional). */
static void test_vlek(void **state)
{
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(snp(), TRU "test-vlek-report.bin", coll_vlek, NULL, "2025-05-28T00:00:00Z", NULL);
	assert_authentic(ar);
	assert_string_equal(hw_claim_str(ar, "signing_key"), "VLEK");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-vlek-report.bin", coll_vlek, NULL, "2025-05-28T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"permit_provisional\":true}}}");
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-vlek-report.bin", coll_vlek, NULL, "2025-05-28T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"permit_provisional\":false}}}");
	assert_int_equal(hw_check(ar, "snp.tcb_committed"), 0);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-vlek-report.bin", coll_vlek, NULL, "2025-05-28T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"vmpl\":0,"
		    "\"permit_provisional\":true}}}");
	assert_int_equal(hw_check(ar, "snp.vmpl"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-vlek-report.bin", coll_vlek, NULL, "2026-01-01T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.chain"), 0);
	atl_ar_free(ar);
	/* a VLEK-signed report with only a VCEK given: ErrMissingVlek */
	ar = hw_run(snp(), TRU "test-vlek-report.bin", coll_trustee, NULL, "2025-05-28T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.vek"), 0);
	atl_ar_free(ar);
}

/* TSV row 5: Azure Genoa with the CRL check; the HCL wrapper too.
 * NEGATIVE-TESTS.md #12: stale CRL, Milan CRL for a Genoa chain. */
static void test_azure_crl(void **state)
{
	static const char *const milan_crl[] = {OPCC "test_vcek.pem",
						OPCC "test_amd_sev_genoa_root_certs.pem",
						OPCC "test_amd_milan_crl.pem", NULL};
	static const char *const strict = "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":"
					  "{\"require_crl\":true}}}";
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(snp(), OPC "azure_snp_report.derived.bin", coll_azure, NULL,
		    "2025-10-15T00:00:00Z", strict);
	assert_authentic(ar);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_string_equal(hw_claim_str(ar, "product"), "Genoa");
	atl_ar_free(ar);
	ar = hw_run(snp(), OPC "azure_hcl_report.derived.bin", coll_azure, NULL,
		    "2025-10-15T00:00:00Z", strict);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = hw_run(snp(), OPC "azure_snp_report.derived.bin", coll_azure, NULL,
		    "2025-12-01T00:00:00Z", strict);
	assert_int_equal(hw_check(ar, "snp.chain"), 0);
	atl_ar_free(ar);
	ar = hw_run(snp(), OPC "azure_snp_report.derived.bin", milan_crl, NULL,
		    "2025-10-15T00:00:00Z", strict);
	assert_int_equal(hw_check(ar, "snp.chain"), 0);
	atl_ar_free(ar);
}

/* TSV row 6 / NEGATIVE-TESTS.md #9: the GCE v4 report with a foreign VCEK. */
static void test_gce_wrong_vcek(void **state)
{
	static const char *const c[] = {OPCC "test_vcek.pem", NULL};
	struct atl_ar *ar;
	size_t len = 0;
	uint8_t *b = hw_load(OPC "gce_snp_report.derived.bin", &len);
	struct atl_snp_report s;

	(void)state;
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_OK);
	assert_int_equal(s.version, 4);
	assert_int_equal(atl_snp_product_from_cpuid(&s), ATL_SNP_MILAN);
	free(b);
	ar = hw_run(snp(), OPC "gce_snp_report.derived.bin", c, NULL, "2025-10-15T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.signature"), 0);
	assert_int_equal(hw_check(ar, "snp.chip_id"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
}

/* NEGATIVE-TESTS.md #2 and #10: the pinned root decides. The Milan VCEK with
 * only the Genoa ARK pinned fails; so does a chain with no VCEK at all. */
static void test_anchors(void **state)
{
	static const char *const genoa[] = {"sev-snp/go-sev-guest/ask_ark_genoa.pem", NULL};
	static const char *const milan[] = {"sev-snp/virtee-sev/cert_chain_milan", NULL};
	struct atl_ar *ar;

	(void)state;
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, genoa, "2024-07-03T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.chain"), 0);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, milan, "2024-07-03T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.chain"), 1);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-report.bin", NULL, NULL, "2024-07-03T00:00:00Z", NULL);
	assert_int_equal(hw_check(ar, "snp.vek"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
}

/* NEGATIVE-TESTS.md #1: every byte of the signed part, and r and s. */
static void test_flip_every_byte(void **state)
{
	size_t len = 0;
	uint8_t *b = hw_load(TRU "test-report.bin", &len);

	(void)state;
	for (size_t off = 0; off < 0x2A0 + 96; off++) {
		struct atl_ar *ar;
		enum atl_err rc;

		if (off >= 0x2A0 + 48 && off < 0x2E8)
			off = 0x2E8; /* the zero high bytes of r are covered by the parser */
		b[off] ^= 0x01;
		ar = hw_run_buf(snp(), b, len, coll_trustee, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
		if (atl_ar_status(ar) != ATL_AR_CONTRAINDICATED)
			fail_msg("flip at 0x%zx accepted", off);
		atl_ar_free(ar);
		b[off] ^= 0x01;
	}
	free(b);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* NEGATIVE-TESTS.md #7 and #13: structure, version, algorithm, MBZ. */
static void test_parser(void **state)
{
	size_t len = 0;
	uint8_t *b = hw_load(TRU "test-vlek-report.bin", &len);
	uint8_t *big = calloc(1, len + 1);
	struct atl_snp_report s;
	struct atl_ar *ar;
	enum atl_err rc;

	(void)state;
	assert_int_equal(len, ATL_SNP_REPORT_LEN);
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_OK);
	assert_int_equal(s.version, 3);
	assert_int_equal(s.vmpl, 1);
	assert_int_equal(ATL_SNP_SIGNING_KEY(s.flags), 1);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(atl_snp_parse(b, n, &s), ATL_E_TRUNCATED);
	memcpy(big, b, len);
	assert_int_equal(atl_snp_parse(big, len + 1, &s), ATL_E_TRAILING);
	free(big);
	put32(b, 1);
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_UNSUPPORTED);
	put32(b, 6);
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_UNSUPPORTED);
	put32(b, 0xffffffffu);
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_UNSUPPORTED);
	put32(b, 3);
	put32(b + 0x34, 2); /* signature_algo */
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_UNSUPPORTED);
	put32(b + 0x34, 1);
	b[0x0A] ^= 0x02; /* policy bit 17 cleared */
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_FORMAT);
	b[0x0A] ^= 0x02;
	b[0x0F] = 0x80; /* policy bit 63 */
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_FORMAT);
	b[0x0F] = 0;
	b[0x48] = (uint8_t)(b[0x48] | (2u << 2)); /* signing_key 3: reserved */
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_FORMAT);
	b[0x48] = (uint8_t)(b[0x48] & ~(2u << 2));
	assert_int_equal(atl_snp_parse(b, len, &s), ATL_OK);
	{
		static const size_t mbz[] = {0x4C, 0x18B, 0x19F, 0x1EB, 0x1EF, 0x1F8, 0x29F, 0x2A0 + 48,
					     0x2E8 + 71, 0x330, 0x49F};
		for (size_t i = 0; i < sizeof(mbz) / sizeof(mbz[0]); i++) {
			b[mbz[i]] ^= 0x10;
			assert_int_equal(atl_snp_parse(b, len, &s), ATL_E_FORMAT);
			b[mbz[i]] ^= 0x10;
		}
	}
	/* through the backend: unparseable evidence is an error, with a failed check */
	ar = hw_run_buf(snp(), b, 100, coll_vlek, NULL, "2025-05-28T00:00:00Z", NULL, &rc);
	assert_int_equal(rc, ATL_E_FORMAT);
	assert_int_equal(hw_check(ar, "snp.report"), 0);
	atl_ar_free(ar);
	/* policy: minimum version 3 refuses v2 (trustee), unknown field refused */
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, NULL, "2024-07-03T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"min_version\":3}}}");
	assert_int_equal(hw_check(ar, "snp.report"), 0);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, NULL, "2024-07-03T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"snpp\":3}}}");
	assert_int_equal(hw_check(ar, "snp.policy"), 0);
	atl_ar_free(ar);
	/* minimum TCB above the reported one */
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, NULL, "2024-07-03T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"snp\":9}}}");
	assert_int_equal(hw_check(ar, "snp.min_tcb"), 0);
	atl_ar_free(ar);
	ar = hw_run(snp(), TRU "test-report.bin", coll_trustee, NULL, "2024-07-03T00:00:00Z",
		    "{\"tee_types\":[\"sev-snp\"],\"min_tcb\":{\"sev-snp\":{\"snp\":8,\"microcode\":115}}}");
	assert_int_equal(hw_check(ar, "snp.min_tcb"), 1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	free(b);
}

static void test_tcb_decode(void **state)
{
	struct atl_snp_tcb t;

	(void)state;
	atl_snp_tcb_decode(0x0300000000000873ull, ATL_SNP_MILAN, &t);
	assert_int_equal(t.bootloader, 0x73);
	assert_int_equal(t.tee, 0x08);
	assert_int_equal(t.snp, 0);
	assert_int_equal(t.microcode, 3);
	/* bytes are little-endian in the report: reported_tcb 0300000000000873
	 * as printed in PROVENANCE is the big-endian view (bl=3, snp=8, ucode=0x73) */
	atl_snp_tcb_decode(0x7308000000000003ull, ATL_SNP_MILAN, &t);
	assert_int_equal(t.bootloader, 3);
	assert_int_equal(t.snp, 8);
	assert_int_equal(t.microcode, 0x73);
	atl_snp_tcb_decode(0x4400000000000001ull | (5ull << 24) | (2ull << 8) | (7ull << 16),
			   ATL_SNP_TURIN, &t);
	assert_int_equal(t.fmc, 1);
	assert_int_equal(t.bootloader, 2);
	assert_int_equal(t.tee, 7);
	assert_int_equal(t.snp, 5);
	assert_int_equal(t.microcode, 0x44);
}

/* atl_verify_native: NEGATIVE-TESTS.md #4 (a wrong nonce must fail), the
 * policy's TEE list and measurement list, unknown kinds. */
static void test_verify_native(void **state)
{
	static const uint8_t nonce[] = {1, 2, 3, 4, 5};
	static const uint8_t wrong[] = {1, 2, 3, 4, 6};
	char path[512];
	const char *coll[] = {path, NULL};
	size_t len = 0;
	uint8_t *b = hw_load(GSG "attestation.bin", &len);
	struct atl_ar *ar = NULL;
	json_t *pol = NULL;
	char why[128];
	static const char pol_txt[] =
		"{\"tee_types\":[\"sev-snp\"],\"allow_debug\":true,\"measurements\":{\"sev-snp\":"
		"[\"b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01\"]}}";
	static const char pol_other[] =
		"{\"tee_types\":[\"sev-snp\"],\"allow_debug\":true,\"measurements\":{\"sev-snp\":[\"00\"]}}";
	static const char pol_tdx[] = "{\"tee_types\":[\"tdx\"],\"allow_debug\":true}";
	int64_t t = hw_at("2022-09-24T01:00:00Z");

	(void)state;
	(void)snprintf(path, sizeof(path), "%s%s", HWV, GSG "vcek.testcer");
	/* default policy: nonce matches, DEBUG refused */
	assert_int_equal(atl_verify_native("sev-snp", b, len, NULL, nonce, sizeof(nonce), t, NULL, coll,
					   &ar),
			 ATL_E_POLICY);
	assert_int_equal(hw_check(ar, "nonce"), 1);
	assert_int_equal(hw_check(ar, "snp.guest_debug"), 0);
	atl_ar_free(ar);
	assert_int_equal(atl_policy_parse(pol_txt, strlen(pol_txt), &pol, why, sizeof(why)), ATL_OK);
	assert_int_equal(atl_verify_native("sev-snp", b, len, pol, nonce, sizeof(nonce), t, NULL, coll,
					   &ar),
			 ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	assert_int_equal(hw_check(ar, "measurement"), 1);
	atl_ar_free(ar);
	assert_int_equal(atl_verify_native("sev-snp", b, len, pol, wrong, sizeof(wrong), t, NULL, coll,
					   &ar),
			 ATL_E_POLICY);
	assert_int_equal(hw_check(ar, "nonce"), 0);
	atl_ar_free(ar);
	json_decref(pol);
	assert_int_equal(atl_policy_parse(pol_other, strlen(pol_other), &pol, why, sizeof(why)), ATL_OK);
	assert_int_equal(atl_verify_native("sev-snp", b, len, pol, NULL, 0, t, NULL, coll, &ar),
			 ATL_E_POLICY);
	assert_int_equal(hw_check(ar, "measurement"), 0);
	atl_ar_free(ar);
	json_decref(pol);
	assert_int_equal(atl_policy_parse(pol_tdx, strlen(pol_tdx), &pol, why, sizeof(why)), ATL_OK);
	assert_int_equal(atl_verify_native("sev-snp", b, len, pol, NULL, 0, t, NULL, coll, &ar),
			 ATL_E_POLICY);
	assert_int_equal(hw_check(ar, "tee_type"), 0);
	atl_ar_free(ar);
	json_decref(pol);
	assert_int_equal(atl_verify_native("sev-snq", b, len, NULL, NULL, 0, t, NULL, coll, &ar),
			 ATL_E_UNSUPPORTED);
	atl_ar_free(ar);
	assert_int_equal(atl_verify_native("sev-snp", b, 10, NULL, NULL, 0, t, NULL, coll, &ar),
			 ATL_E_FORMAT);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(b);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The report followed by its certificate table (SNP_GET_EXT_REPORT /
 * configfs-tsm auxblob): the VCEK comes from the table. */
static void test_cert_table(void **state)
{
	static const uint8_t vcek_guid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
					      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
	size_t rlen = 0, vlen = 0;
	uint8_t *r = hw_load(TRU "test-report.bin", &rlen);
	uint8_t *v = hw_load(TRU "test-vcek.der", &vlen);
	size_t hdr = 3 * 24, total = rlen + hdr + vlen;
	uint8_t *ev = calloc(1, total);
	struct atl_ar *ar;
	enum atl_err rc;
	struct atl_x509_list *l = NULL;

	(void)state;
	memcpy(ev, r, rlen);
	/* entry 0: an unknown GUID (skipped), entry 1: the VCEK, entry 2: end */
	memset(ev + rlen, 0x11, 16);
	le32(ev + rlen + 16, 0);
	le32(ev + rlen + 20, 5);
	memcpy(ev + rlen + 24, vcek_guid, 16);
	le32(ev + rlen + 40, (uint32_t)hdr);
	le32(ev + rlen + 44, (uint32_t)vlen);
	memcpy(ev + rlen + hdr, v, vlen);
	assert_int_equal(atl_snp_cert_table(ev + rlen, hdr + vlen, &l), ATL_OK);
	assert_int_equal(atl_x509_list_len(l), 1);
	atl_x509_list_free(l);
	ar = hw_run_buf(snp(), ev, total, NULL, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
	assert_int_equal(rc, ATL_OK);
	assert_int_equal(hw_check(ar, "snp.cert_table"), 1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* offset past the end, missing terminator, truncated */
	le32(ev + rlen + 40, (uint32_t)(hdr + vlen));
	ar = hw_run_buf(snp(), ev, total, NULL, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
	assert_int_equal(hw_check(ar, "snp.cert_table"), 0);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	le32(ev + rlen + 40, (uint32_t)hdr);
	for (size_t n = 0; n < hdr + vlen; n++) {
		l = NULL;
		assert_int_not_equal(atl_snp_cert_table(ev + rlen, n, &l), ATL_OK);
		atl_x509_list_free(l);
	}
	/* a changed byte in the carried VCEK */
	ev[rlen + hdr + 200] ^= 0x01;
	ar = hw_run_buf(snp(), ev, total, NULL, NULL, "2024-07-03T00:00:00Z", NULL, &rc);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	atl_ar_free(ar);
	free(ev);
	free(r);
	free(v);
}

static void test_detect_evidence(void **state)
{
	uint8_t rd[ATL_REPORT_DATA_LEN] = {0};
	uint8_t *ev = NULL;
	size_t ev_len = 0;
	enum atl_err rc;

	(void)state;
	/* This machine has no SEV-SNP guest device: evidence is unsupported
	 * (or, if it had, it would produce a report). */
	if (!snp()->detect()) {
		rc = snp()->evidence(NULL, rd, &ev, &ev_len);
		assert_true(rc == ATL_E_UNSUPPORTED || rc == ATL_E_DENIED || rc == ATL_E_IO);
		assert_null(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gsg_debug_policy),
		cmocka_unit_test(test_virtee_hex),
		cmocka_unit_test(test_trustee),
		cmocka_unit_test(test_trustee_chain_negatives),
		cmocka_unit_test(test_vlek),
		cmocka_unit_test(test_azure_crl),
		cmocka_unit_test(test_gce_wrong_vcek),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_parser),
		cmocka_unit_test(test_tcb_decode),
		cmocka_unit_test(test_verify_native),
		cmocka_unit_test(test_cert_table),
		cmocka_unit_test(test_detect_evidence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
