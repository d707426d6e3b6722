/* Unit tests for src/crypto/x509.c against the real AMD and Intel certificates
 * and CRLs in tests/vectors/attestation/ (see its PROVENANCE files): parsing
 * (serial-0 VCEKs, PEM bundles, DER CRLs), chain verification at the
 * vectors' reference times, RSA-PSS parameters, extensions, CRL semantics,
 * and a forged root with the pinned root's subject (NEGATIVE-TESTS.md #2).
 * atl-test-deps: atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "atoll/file.h"
#include "atoll/limits.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/x509.h"

#define V ATL_SOURCE_DIR "/tests/vectors/attestation/"

static uint8_t *load(const char *rel, size_t *len)
{
	uint8_t *buf = NULL;
	char path[512];

	(void)snprintf(path, sizeof(path), "%s%s", V, rel);
	assert_int_equal(atl_file_read(path, ATL_X509_INPUT_MAX, &buf, len), ATL_OK);
	return buf;
}

static struct atl_x509 *cert(const char *rel)
{
	size_t len = 0;
	uint8_t *b = load(rel, &len);
	struct atl_x509 *c = NULL;

	assert_int_equal(atl_x509_parse(b, len, &c), ATL_OK);
	free(b);
	return c;
}

static struct atl_x509_list *bundle(const char *rel)
{
	size_t len = 0;
	uint8_t *b = load(rel, &len);
	struct atl_x509_list *l = NULL;

	assert_int_equal(atl_x509_list_parse(b, len, &l), ATL_OK);
	free(b);
	return l;
}

static struct atl_crl_list *crls(const char *rel)
{
	size_t len = 0;
	uint8_t *b = load(rel, &len);
	struct atl_crl_list *l = NULL;

	assert_int_equal(atl_crl_list_parse(b, len, &l), ATL_OK);
	free(b);
	return l;
}

static int64_t at(const char *s)
{
	int64_t t = 0;

	assert_int_equal(atl_time_parse_rfc3339(s, &t), ATL_OK);
	return t;
}

/* ASK at index 0, ARK at 1: split into intermediates and roots. */
static void split(const char *rel, struct atl_x509_list **ica, struct atl_x509_list **root)
{
	struct atl_x509_list *l = bundle(rel);

	assert_int_equal(atl_x509_list_len(l), 2);
	*ica = NULL;
	*root = NULL;
	assert_int_equal(atl_x509_list_add(ica, atl_x509_list_get(l, 0)), ATL_OK);
	assert_int_equal(atl_x509_list_add(root, atl_x509_list_get(l, 1)), ATL_OK);
	atl_x509_list_free(l);
}

static void test_vcek_serial0_and_chain(void **state)
{
	struct atl_x509 *vcek = cert("sev-snp/go-sev-guest/vcek.testcer");
	struct atl_x509_list *ask = NULL, *ark = NULL, *gask = NULL, *gark = NULL;
	uint8_t *serial = NULL;
	size_t serial_len = 0;
	char why[256];
	char *cn = NULL;

	(void)state;
	assert_int_equal(atl_x509_serial(vcek, &serial, &serial_len), ATL_OK);
	assert_int_equal(serial_len, 1);
	assert_int_equal(serial[0], 0);
	free(serial);
	assert_int_equal(atl_x509_version(vcek), 2);
	assert_false(atl_x509_is_ca(vcek));
	assert_int_equal(atl_x509_subject_cn(vcek, &cn), ATL_OK);
	assert_string_equal(cn, "SEV-VCEK");
	free(cn);
	assert_int_equal(atl_x509_issuer_cn(vcek, &cn), ATL_OK);
	assert_string_equal(cn, "SEV-Milan");
	free(cn);

	split("sev-snp/go-sev-guest/ask_ark_milan.pem", &ask, &ark);
	assert_true(atl_x509_is_ca(atl_x509_list_get(ark, 0)));
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, NULL, at("2022-09-24T01:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_OK);
	/* before the VCEK's notBefore, after its notAfter */
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, NULL, at("2022-09-23T00:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_E_EXPIRED);
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, NULL, at("2030-01-01T00:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_E_EXPIRED);
	/* the ASK alone is not a trust anchor unless partial chains are allowed */
	assert_int_equal(atl_x509_verify_chain(vcek, NULL, ask, NULL, at("2022-09-24T01:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_E_AUTH);
	assert_int_equal(atl_x509_verify_chain(vcek, NULL, ask, NULL, at("2022-09-24T01:00:00Z"),
					       ATL_X509_PARTIAL_OK, why, sizeof(why)),
			 ATL_OK);
	/* the Milan VCEK against the Genoa ASK/ARK (NEGATIVE-TESTS.md #10) */
	split("sev-snp/go-sev-guest/ask_ark_genoa.pem", &gask, &gark);
	assert_int_equal(atl_x509_verify_chain(vcek, gask, gark, NULL, at("2022-09-24T01:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_E_AUTH);
	assert_int_equal(atl_x509_verify_chain(vcek, ask, gark, NULL, at("2022-09-24T01:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_E_AUTH);
	/* no anchors at all */
	assert_int_equal(atl_x509_verify_chain(vcek, ask, NULL, NULL, at("2022-09-24T01:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_E_ARG);
	atl_x509_list_free(ask);
	atl_x509_list_free(ark);
	atl_x509_list_free(gask);
	atl_x509_list_free(gark);
	atl_x509_free(vcek);
}

static void test_tampered_tbs(void **state)
{
	size_t len = 0;
	uint8_t *b = load("sev-snp/trustee/test-vcek.der", &len);
	struct atl_x509 *vcek = NULL;
	struct atl_x509_list *ask = NULL, *ark = NULL;
	char why[256];
	int rejected = 0, tried = 0;

	(void)state;
	split("sev-snp/go-sev-guest/ask_ark_milan.pem", &ask, &ark);
	assert_int_equal(atl_x509_parse(b, len, &vcek), ATL_OK);
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, NULL, at("2024-07-03T00:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_OK);
	atl_x509_free(vcek);
	/* trustee check_vcek_signature_failure ([42] += 1) and a sweep over the
	 * TBS: every change either fails to parse or fails the chain. */
	for (size_t off = 4; off < len - 120; off += 7) {
		b[off] ^= 0x01;
		vcek = NULL;
		tried++;
		if (atl_x509_parse(b, len, &vcek) != ATL_OK ||
		    atl_x509_verify_chain(vcek, ask, ark, NULL, at("2024-07-03T00:00:00Z"), 0, why,
					  sizeof(why)) != ATL_OK)
			rejected++;
		atl_x509_free(vcek);
		b[off] ^= 0x01;
	}
	assert_int_equal(rejected, tried);
	free(b);
	atl_x509_list_free(ask);
	atl_x509_list_free(ark);
}

static void test_rsa_pss_params(void **state)
{
	struct atl_x509_list *l = bundle("sev-snp/go-sev-guest/ask_ark_milan.pem");
	struct atl_x509_sig_info si;
	struct atl_x509 *vcek = cert("sev-snp/go-sev-guest/vcek.testcer");

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(atl_x509_sig_info(atl_x509_list_get(l, i), &si), ATL_OK);
		assert_int_equal(si.kind, ATL_X509_SIG_RSA_PSS);
		assert_int_equal(si.hash_nid_bits, 384);
		assert_int_equal(si.pss_mgf1_bits, 384);
		assert_int_equal(si.pss_salt_len, 48);
		assert_false(si.key_ec);
		assert_int_equal(si.key_bits, 4096);
	}
	/* the VCEK is signed by the ASK (PSS), its own key is EC P-384 */
	assert_int_equal(atl_x509_sig_info(vcek, &si), ATL_OK);
	assert_int_equal(si.kind, ATL_X509_SIG_RSA_PSS);
	assert_true(si.key_ec);
	assert_int_equal(si.key_bits, 384);
	atl_x509_free(vcek);
	atl_x509_list_free(l);
}

static void test_extensions_and_pubkey(void **state)
{
	struct atl_x509 *vcek = cert("sev-snp/go-sev-guest/vcek.testcer");
	struct atl_pubkey *pk = NULL;
	uint8_t *v = NULL, fp[32];
	size_t n = 0;
	char *s = NULL;

	(void)state;
	/* hwID: 64 raw bytes in this (2022) VCEK */
	assert_int_equal(atl_x509_ext(vcek, "1.3.6.1.4.1.3704.1.4", &v, &n), ATL_OK);
	assert_int_equal(n, 64);
	free(v);
	/* blSPL = 2 as DER INTEGER */
	assert_int_equal(atl_x509_ext(vcek, "1.3.6.1.4.1.3704.1.3.1", &v, &n), ATL_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(v, "\x02\x01\x02", 3);
	free(v);
	assert_int_equal(atl_x509_ext(vcek, "1.3.6.1.4.1.3704.1.99", &v, &n), ATL_E_NOTFOUND);
	assert_null(v);
	assert_int_equal(atl_x509_ext(vcek, "not an oid", &v, &n), ATL_E_ARG);
	assert_int_equal(atl_x509_pubkey(vcek, &pk), ATL_OK);
	atl_pubkey_free(pk);
	assert_int_equal(atl_x509_fingerprint(vcek, fp), ATL_OK);
	assert_int_equal(atl_x509_der(vcek, &v, &n), ATL_OK);
	assert_int_equal(n, 1360);
	free(v);
	assert_int_equal(atl_x509_subject(vcek, &s), ATL_OK);
	assert_non_null(strstr(s, "CN=SEV-VCEK"));
	free(s);
	assert_int_equal(atl_x509_issuer(vcek, &s), ATL_OK);
	assert_non_null(strstr(s, "CN=SEV-Milan"));
	free(s);
	atl_x509_free(vcek);
}

static void test_amd_crl(void **state)
{
	struct atl_x509 *vcek = cert("sev-snp/openpcc/extracted/sev_certificates/test_vcek.pem");
	struct atl_x509_list *ask = NULL, *ark = NULL;
	struct atl_crl_list *genoa = crls("sev-snp/openpcc/extracted/sev_certificates/test_amd_genoa_crl.pem");
	struct atl_crl_list *milan = crls("sev-snp/openpcc/extracted/sev_certificates/test_amd_milan_crl.pem");
	char why[256];

	(void)state;
	split("sev-snp/openpcc/extracted/sev_certificates/test_amd_sev_genoa_root_certs.pem", &ask, &ark);
	assert_int_equal(atl_crl_list_len(genoa), 1);
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, genoa, at("2025-10-15T00:00:00Z"),
					       ATL_X509_CHECK_CRL_CA, why, sizeof(why)),
			 ATL_OK);
	/* stale CRL (NEGATIVE-TESTS.md #12) */
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, genoa, at("2025-12-01T00:00:00Z"),
					       ATL_X509_CHECK_CRL_CA, why, sizeof(why)),
			 ATL_E_EXPIRED);
	/* CRL from before its thisUpdate */
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, genoa, at("2025-06-12T00:00:00Z"),
					       ATL_X509_CHECK_CRL_CA, why, sizeof(why)),
			 ATL_OK);
	/* Milan CRL for a Genoa chain: not signed by this ARK, nothing covers the ASK */
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, milan, at("2025-10-15T00:00:00Z"),
					       ATL_X509_CHECK_CRL_CA, why, sizeof(why)),
			 ATL_E_POLICY);
	/* CHECK_CRL (every cert) cannot be met: AMD has no ASK-issued CRL */
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, genoa, at("2025-10-15T00:00:00Z"),
					       ATL_X509_CHECK_CRL, why, sizeof(why)),
			 ATL_E_POLICY);
	atl_crl_list_free(genoa);
	atl_crl_list_free(milan);
	atl_x509_list_free(ask);
	atl_x509_list_free(ark);
	atl_x509_free(vcek);
}

static void test_intel_crl(void **state)
{
	struct atl_x509_list *l = bundle("tdx/go-tdx-guest/pckCrlIssuerChain.derived.pem");
	struct atl_x509_list *root = bundle("tdx/go-tdx-guest/trusted_root.pem");
	struct atl_crl_list *c = crls("tdx/go-tdx-guest/rootcrl.der");
	struct atl_crl_list *both = NULL;
	size_t len = 0;
	uint8_t *b = load("tdx/go-tdx-guest/pckcrl", &len);
	char why[256];
	const struct atl_x509 *platform_ca = atl_x509_list_get(l, 0);

	(void)state;
	assert_int_equal(atl_x509_list_len(root), 1);
	assert_int_equal(atl_x509_verify_chain(platform_ca, NULL, root, c, at("2023-07-01T01:00:00Z"),
					       ATL_X509_CHECK_CRL, why, sizeof(why)),
			 ATL_OK);
	/* root CRL expired 2024-04-02 */
	assert_int_equal(atl_x509_verify_chain(platform_ca, NULL, root, c, at("2024-05-01T00:00:00Z"),
					       ATL_X509_CHECK_CRL, why, sizeof(why)),
			 ATL_E_EXPIRED);
	/* a PCK CRL (issued by the Platform CA) does not cover the Platform CA */
	assert_int_equal(atl_crl_list_parse(b, len, &both), ATL_OK);
	assert_int_equal(atl_x509_verify_chain(platform_ca, NULL, root, both,
					       at("2023-07-01T01:00:00Z"), ATL_X509_CHECK_CRL, why,
					       sizeof(why)),
			 ATL_E_POLICY);
	/* tampered CRL: signature fails */
	b[len - 10] ^= 0x01;
	atl_crl_list_free(both);
	both = NULL;
	assert_int_equal(atl_crl_list_parse(b, len, &both), ATL_OK);
	free(b);
	b = load("tdx/go-tdx-guest/rootcrl.der", &len);
	b[len - 10] ^= 0x01;
	atl_crl_list_free(c);
	c = NULL;
	assert_int_equal(atl_crl_list_parse(b, len, &c), ATL_OK);
	assert_int_equal(atl_x509_verify_chain(platform_ca, NULL, root, c, at("2023-07-01T01:00:00Z"),
					       0, why, sizeof(why)),
			 ATL_E_AUTH);
	free(b);
	atl_crl_list_free(both);
	atl_crl_list_free(c);
	atl_x509_list_free(root);
	atl_x509_list_free(l);
}

/* A forged "ARK-Milan" (same subject, attacker key) signs a leaf; the real
 * ARK is pinned. NEGATIVE-TESTS.md #2. */
static void test_forged_root_same_subject(void **state)
{
	struct atl_x509_list *ask = NULL, *ark = NULL, *evil = NULL;
	const struct atl_x509 *real = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-384");
	EVP_PKEY *lk = EVP_EC_gen("P-384");
	X509_NAME *ln = X509_NAME_new();
	X509 *root = X509_new(), *leaf = X509_new();
	unsigned char *der = NULL;
	int der_len;
	struct atl_x509 *c = NULL, *l = NULL;
	uint8_t *rd = NULL;
	size_t rd_len = 0;
	char why[256];

	(void)state;
	split("sev-snp/go-sev-guest/ask_ark_milan.pem", &ask, &ark);
	real = atl_x509_list_get(ark, 0);
	assert_int_equal(atl_x509_der(real, &rd, &rd_len), ATL_OK);
	{
		const unsigned char *p = rd;
		X509 *rx = d2i_X509(NULL, &p, (long)rd_len);
		assert_non_null(rx);
		assert_int_equal(X509_set_version(root, 2), 1);
		assert_int_equal(X509_set_subject_name(root, X509_get_subject_name(rx)), 1);
		assert_int_equal(X509_set_issuer_name(root, X509_get_subject_name(rx)), 1);
		X509_free(rx);
	}
	assert_non_null(k);
	ASN1_INTEGER_set(X509_get_serialNumber(root), 1);
	X509_gmtime_adj(X509_getm_notBefore(root), -86400L * 365 * 10);
	X509_gmtime_adj(X509_getm_notAfter(root), 86400L * 365 * 10);
	assert_int_equal(X509_set_pubkey(root, k), 1);
	{
		BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
		assert_non_null(bc);
		bc->ca = 1;
		assert_int_equal(X509_add1_ext_i2d(root, NID_basic_constraints, bc, 1, 0), 1);
		BASIC_CONSTRAINTS_free(bc);
	}
	assert_true(X509_sign(root, k, EVP_sha384()) > 0);
	/* the leaf: issued in the forged root's name */
	assert_int_equal(X509_set_version(leaf, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(leaf), 2);
	assert_int_equal(X509_set_issuer_name(leaf, X509_get_subject_name(root)), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(ln, "CN", MBSTRING_ASC,
						    (const unsigned char *)"SEV-VCEK", -1, -1, 0),
			 1);
	assert_int_equal(X509_set_subject_name(leaf, ln), 1);
	X509_gmtime_adj(X509_getm_notBefore(leaf), -86400L);
	X509_gmtime_adj(X509_getm_notAfter(leaf), 86400L);
	assert_int_equal(X509_set_pubkey(leaf, lk), 1);
	assert_true(X509_sign(leaf, k, EVP_sha384()) > 0);

	der_len = i2d_X509(root, &der);
	assert_true(der_len > 0);
	assert_int_equal(atl_x509_parse(der, (size_t)der_len, &c), ATL_OK);
	OPENSSL_free(der);
	der = NULL;
	der_len = i2d_X509(leaf, &der);
	assert_true(der_len > 0);
	assert_int_equal(atl_x509_parse(der, (size_t)der_len, &l), ATL_OK);
	OPENSSL_free(der);
	assert_int_equal(atl_x509_list_add(&evil, c), ATL_OK);
	/* with the forged root carried as "intermediate": refused */
	assert_int_equal(atl_x509_verify_chain(l, evil, ark, NULL, atl_time_now(), 0, why,
					       sizeof(why)),
			 ATL_E_AUTH);
	/* with the forged root as the pin it verifies: the pin is what decides */
	assert_int_equal(atl_x509_verify_chain(l, NULL, evil, NULL, atl_time_now(), 0, why,
					       sizeof(why)),
			 ATL_OK);
	free(rd);
	atl_x509_free(c);
	atl_x509_free(l);
	atl_x509_list_free(evil);
	atl_x509_list_free(ask);
	atl_x509_list_free(ark);
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(k);
	EVP_PKEY_free(lk);
	X509_NAME_free(ln);
}

/* virtee turin_ca_stack: the real Turin VCEK chains to ARK-Turin; and the
 * trustee VCEKs with non-canonical extension encodings still parse. */
static void test_turin_and_odd_vceks(void **state)
{
	struct atl_x509 *vcek = cert("sev-snp/virtee-sev/vcek_turin.der");
	struct atl_x509_list *ask = NULL, *ark = NULL;
	uint8_t *v = NULL;
	size_t n = 0;
	char why[256];

	(void)state;
	split("sev-snp/virtee-sev/cert_chain_turin", &ask, &ark);
	assert_int_equal(atl_x509_verify_chain(vcek, ask, ark, NULL, at("2025-01-01T00:00:00Z"), 0,
					       why, sizeof(why)),
			 ATL_OK);
	/* fmcSPL exists on Turin */
	assert_int_equal(atl_x509_ext(vcek, "1.3.6.1.4.1.3704.1.3.9", &v, &n), ATL_OK);
	free(v);
	atl_x509_free(vcek);
	atl_x509_list_free(ask);
	atl_x509_list_free(ark);
	vcek = cert("sev-snp/trustee/test-vcek-invalid-legacy.der");
	atl_x509_free(vcek);
	vcek = cert("sev-snp/trustee/test-vcek-invalid-new.der");
	atl_x509_free(vcek);
}

/* ---- a small synthetic PKI for revocation cases ---- */

static X509 *mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
		     bool ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn,
						    -1, -1, 0),
			 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n), 1);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400L * 30);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (ca) {
		BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
		bc->ca = 1;
		assert_int_equal(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0), 1);
		BASIC_CONSTRAINTS_free(bc);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

/* CRL by issuer, listing serial (0 = none), valid [now+from, now+to];
 * to == 0 means no nextUpdate. */
static struct atl_crl_list *mk_crl(X509 *issuer, EVP_PKEY *key, long serial, long from, long to)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL;
	int n;
	struct atl_crl_list *l = NULL;

	assert_int_equal(X509_CRL_set_version(c, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)), 1);
	X509_gmtime_adj(t, from);
	assert_int_equal(X509_CRL_set1_lastUpdate(c, t), 1);
	if (to != 0) {
		X509_gmtime_adj(t, to);
		assert_int_equal(X509_CRL_set1_nextUpdate(c, t), 1);
	}
	if (serial != 0) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, serial);
		assert_int_equal(X509_REVOKED_set_serialNumber(r, s), 1);
		X509_gmtime_adj(t, -3600);
		assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
		assert_int_equal(X509_CRL_add0_revoked(c, r), 1);
		ASN1_INTEGER_free(s);
	}
	assert_true(X509_CRL_sign(c, key, EVP_sha256()) > 0);
	n = i2d_X509_CRL(c, &der);
	assert_true(n > 0);
	assert_int_equal(atl_crl_list_parse(der, (size_t)n, &l), ATL_OK);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(c);
	return l;
}

static struct atl_x509 *wrap_x(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	struct atl_x509 *c = NULL;

	assert_true(n > 0);
	assert_int_equal(atl_x509_parse(der, (size_t)n, &c), ATL_OK);
	OPENSSL_free(der);
	return c;
}

/* NEGATIVE-TESTS.md #12 and #22 at the X.509 level: a revoked leaf, a
 * revoked intermediate, CRLs without nextUpdate, from the future, or signed
 * by the wrong key. */
static void test_revocation(void **state)
{
	EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
	EVP_PKEY *ek = EVP_EC_gen("P-256");
	X509 *root = mk_cert("Test Root", rk, NULL, rk, 1, true);
	X509 *ica = mk_cert("Test CA", ik, root, rk, 2, true);
	X509 *leaf = mk_cert("Test Leaf", lk, ica, ik, 3, false);
	struct atl_x509 *l = wrap_x(leaf), *i = wrap_x(ica), *r = wrap_x(root);
	struct atl_x509_list *inter = NULL, *roots = NULL;
	struct atl_crl_list *c;
	int64_t now = atl_time_now();
	char why[256];

	(void)state;
	assert_int_equal(atl_x509_list_add(&inter, i), ATL_OK);
	assert_int_equal(atl_x509_list_add(&roots, r), ATL_OK);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, NULL, now, 0, why, sizeof(why)), ATL_OK);
	/* leaf revoked by the CA's CRL */
	c = mk_crl(ica, ik, 3, -3600, 86400);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, 0, why, sizeof(why)),
			 ATL_E_POLICY);
	assert_non_null(strstr(why, "revoked"));
	atl_crl_list_free(c);
	/* intermediate revoked by the root's CRL */
	c = mk_crl(root, rk, 2, -3600, 86400);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, 0, why, sizeof(why)),
			 ATL_E_POLICY);
	atl_crl_list_free(c);
	/* a clean CA CRL covers the leaf but CHECK_CRL also wants the root's */
	c = mk_crl(ica, ik, 99, -3600, 86400);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, 0, why, sizeof(why)), ATL_OK);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, ATL_X509_CHECK_CRL, why,
					       sizeof(why)),
			 ATL_E_POLICY);
	atl_crl_list_free(c);
	/* no nextUpdate; issued in the future; signed by another key */
	c = mk_crl(ica, ik, 0, -3600, 0);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, 0, why, sizeof(why)),
			 ATL_E_EXPIRED);
	atl_crl_list_free(c);
	c = mk_crl(ica, ik, 0, 3600, 86400);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, 0, why, sizeof(why)),
			 ATL_E_EXPIRED);
	atl_crl_list_free(c);
	c = mk_crl(ica, ek, 0, -3600, 86400);
	assert_int_equal(atl_x509_verify_chain(l, inter, roots, c, now, 0, why, sizeof(why)),
			 ATL_E_AUTH);
	atl_crl_list_free(c);
	/* the leaf is not a CA, the CA is */
	assert_false(atl_x509_is_ca(l));
	assert_true(atl_x509_is_ca(i));
	atl_x509_list_free(inter);
	atl_x509_list_free(roots);
	atl_x509_free(l);
	atl_x509_free(i);
	atl_x509_free(r);
	X509_free(root);
	X509_free(ica);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(ek);
}

static void test_parse_errors(void **state)
{
	static const uint8_t junk[] = {0x30, 0x82, 0xff, 0xff, 0x01};
	static const char pem_bad[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	struct atl_x509 *c = NULL;
	struct atl_x509_list *l = NULL;
	struct atl_crl_list *cl = NULL;
	size_t len = 0;
	uint8_t *b = load("sev-snp/trustee/test-vcek.der", &len);
	uint8_t *big;

	(void)state;
	assert_int_equal(atl_x509_parse(junk, sizeof(junk), &c), ATL_E_FORMAT);
	assert_null(c);
	assert_int_equal(atl_x509_parse(NULL, 0, &c), ATL_E_FORMAT);
	assert_int_equal(atl_x509_parse((const uint8_t *)pem_bad, sizeof(pem_bad) - 1, &c),
			 ATL_E_FORMAT);
	assert_int_equal(atl_x509_list_parse((const uint8_t *)pem_bad, sizeof(pem_bad) - 1, &l),
			 ATL_E_FORMAT);
	assert_int_equal(atl_crl_list_parse(junk, sizeof(junk), &cl), ATL_E_FORMAT);
	/* every truncation of a real certificate fails cleanly */
	for (size_t n = 0; n < len; n++) {
		c = NULL;
		assert_int_not_equal(atl_x509_parse(b, n, &c), ATL_OK);
		assert_null(c);
	}
	/* trailing bytes after DER */
	big = malloc(len + 1);
	memcpy(big, b, len);
	big[len] = 0;
	assert_int_equal(atl_x509_parse(big, len + 1, &c), ATL_E_TRAILING);
	free(big);
	assert_int_equal(atl_x509_parse(b, ATL_X509_INPUT_MAX + 1, &c), ATL_E_LIMIT);
	free(b);
	/* the list limit */
	for (size_t i = 0; i < ATL_X509_LIST_MAX; i++) {
		struct atl_x509 *v = cert("sev-snp/trustee/test-vcek.der");
		assert_int_equal(atl_x509_list_add(&l, v), ATL_OK);
		atl_x509_free(v);
	}
	c = cert("sev-snp/trustee/test-vcek.der");
	assert_int_equal(atl_x509_list_add(&l, c), ATL_E_LIMIT);
	assert_true(atl_x509_equal(c, atl_x509_list_get(l, 0)));
	assert_null(atl_x509_list_get(l, ATL_X509_LIST_MAX));
	atl_x509_free(c);
	atl_x509_list_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcek_serial0_and_chain),
		cmocka_unit_test(test_tampered_tbs),
		cmocka_unit_test(test_rsa_pss_params),
		cmocka_unit_test(test_extensions_and_pubkey),
		cmocka_unit_test(test_amd_crl),
		cmocka_unit_test(test_intel_crl),
		cmocka_unit_test(test_forged_root_same_subject),
		cmocka_unit_test(test_turin_and_odd_vceks),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
