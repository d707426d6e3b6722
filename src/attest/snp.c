/* The "sev-snp" backend: AMD SEV-SNP attestation reports.
 *
 * Spec: SEV Secure Nested Paging Firmware ABI Specification (AMD publication
 * 56860), "ATTESTATION_REPORT Structure" (Table 23 in rev 1.55 and the same
 * layout up to report version 5), "GUEST_POLICY Structure", "TCB_VERSION";
 * VCEK certificate spec (AMD publication 57230) for the certificate
 * extensions; KDS interface spec for the ASK/ASVK/ARK chain (RSASSA-PSS,
 * SHA-384, salt 48). Verification order and checks follow go-sev-guest
 * verify/validate (see tests/vectors/attestation/sev-snp/PROVENANCE.md) and are
 * documented in docs/attestation.md.
 *
 * Evidence generation: configfs-tsm (provider sev_guest), else the
 * SNP_GET_REPORT ioctl on /dev/sev-guest (VMPL 0).
 *
 * Evidence: the raw 1184-byte report (or hex / base64 text of it, or an Azure
 * HCL report with the SNP report at offset 32). Collateral: the VCEK or VLEK
 * (DER or PEM), optionally the ASK/ASVK (otherwise the built-in ones), and
 * AMD CRLs. Trust anchors: the built-in ARKs (Milan, Genoa, Turin), replaced
 * by --anchor files or the policy's trust_anchors["sev-snp"].
 *
 * Policy section min_tcb["sev-snp"] (all optional):
 *   bootloader, tee, snp, microcode, fmc   minimum reported TCB components
 *   guest_svn                               minimum GUEST_SVN
 *   min_version                             minimum report version (2..5)
 *   vmpl                                    required VMPL (exact)
 *   permit_provisional                      committed != current TCB: false =
 *                                           refuse; true or absent = accept
 *                                           (recorded in the check's detail)
 *   allow_migrate_ma, allow_smt             guest policy bits (defaults false, true)
 *   require_crl                             the ARK's CRL must be given and
 *                                           cover the ASK/ASVK */
#define ATL_LOG_MODULE "snp"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/sev-guest.h>)
#include <linux/sev-guest.h>
#define HAVE_SEV_GUEST_H 1
#endif
#endif

#include "atoll/attest.h"
#include "atoll/bytes.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/snp.h"
#include "atoll/x509.h"
#include "attest/backends.h"
#include "attest/hwcommon.h"

/* VCEK certificate extensions (AMD 57230 §3). */
#define OID_BL_SPL    "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL   "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL   "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL   "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID      "1.3.6.1.4.1.3704.1.4"
#define OID_PRODUCT   "1.3.6.1.4.1.3704.1.2"

/* ---- parsing ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Reads n reserved bytes that must be zero. */
static enum atl_err mbz(struct atl_rd *r, size_t n)
{
	const uint8_t *v = NULL;
	enum atl_err rc = atl_rd_view(r, n, &v);

	if (rc != ATL_OK)
		return rc;
	return all_zero(v, n) ? ATL_OK : ATL_E_FORMAT;
}

enum atl_err atl_snp_parse(const uint8_t *buf, size_t len, struct atl_snp_report *out)
{
	struct atl_rd r;
	struct atl_snp_report *s = out;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out == NULL)
		return ATL_E_ARG;
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < ATL_SNP_REPORT_LEN)
		return ATL_E_TRUNCATED;
	if (len > ATL_SNP_REPORT_LEN)
		return ATL_E_TRAILING;
	atl_rd_init(&r, buf, len);
	ATL_TRY(atl_rd_u32le(&r, &s->version));                         /* 0x00 */
	if (s->version < ATL_SNP_VERSION_MIN || s->version > ATL_SNP_VERSION_MAX) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	ATL_TRY(atl_rd_u32le(&r, &s->guest_svn));                       /* 0x04 */
	ATL_TRY(atl_rd_u64le(&r, &s->policy));                          /* 0x08 */
	ATL_TRY(atl_rd_bytes(&r, s->family_id, 16));                    /* 0x10 */
	ATL_TRY(atl_rd_bytes(&r, s->image_id, 16));                     /* 0x20 */
	ATL_TRY(atl_rd_u32le(&r, &s->vmpl));                            /* 0x30 */
	ATL_TRY(atl_rd_u32le(&r, &s->sig_algo));                        /* 0x34 */
	ATL_TRY(atl_rd_u64le(&r, &s->current_tcb));                     /* 0x38 */
	ATL_TRY(atl_rd_u64le(&r, &s->platform_info));                   /* 0x40 */
	ATL_TRY(atl_rd_u32le(&r, &s->flags));                           /* 0x48 */
	ATL_TRY(mbz(&r, 4));                                            /* 0x4C */
	ATL_TRY(atl_rd_bytes(&r, s->report_data, 64));                  /* 0x50 */
	ATL_TRY(atl_rd_bytes(&r, s->measurement, 48));                  /* 0x90 */
	ATL_TRY(atl_rd_bytes(&r, s->host_data, 32));                    /* 0xC0 */
	ATL_TRY(atl_rd_bytes(&r, s->id_key_digest, 48));                /* 0xE0 */
	ATL_TRY(atl_rd_bytes(&r, s->author_key_digest, 48));            /* 0x110 */
	ATL_TRY(atl_rd_bytes(&r, s->report_id, 32));                    /* 0x140 */
	ATL_TRY(atl_rd_bytes(&r, s->report_id_ma, 32));                 /* 0x160 */
	ATL_TRY(atl_rd_u64le(&r, &s->reported_tcb));                    /* 0x180 */
	if (s->version >= 3) {
		ATL_TRY(atl_rd_u8(&r, &s->cpuid_fam));                  /* 0x188 */
		ATL_TRY(atl_rd_u8(&r, &s->cpuid_mod));
		ATL_TRY(atl_rd_u8(&r, &s->cpuid_step));
		ATL_TRY(mbz(&r, 0x1A0 - 0x18B));
	} else {
		ATL_TRY(mbz(&r, 0x1A0 - 0x188));
	}
	ATL_TRY(atl_rd_bytes(&r, s->chip_id, 64));                      /* 0x1A0 */
	ATL_TRY(atl_rd_u64le(&r, &s->committed_tcb));                   /* 0x1E0 */
	ATL_TRY(atl_rd_u8(&r, &s->current_build));                      /* 0x1E8 */
	ATL_TRY(atl_rd_u8(&r, &s->current_minor));
	ATL_TRY(atl_rd_u8(&r, &s->current_major));
	ATL_TRY(mbz(&r, 1));
	ATL_TRY(atl_rd_u8(&r, &s->committed_build));                    /* 0x1EC */
	ATL_TRY(atl_rd_u8(&r, &s->committed_minor));
	ATL_TRY(atl_rd_u8(&r, &s->committed_major));
	ATL_TRY(mbz(&r, 1));
	ATL_TRY(atl_rd_u64le(&r, &s->launch_tcb));                      /* 0x1F0 */
	if (s->version >= 5) {
		ATL_TRY(atl_rd_u64le(&r, &s->launch_mit_vector));       /* 0x1F8 */
		ATL_TRY(atl_rd_u64le(&r, &s->current_mit_vector));     /* 0x200 */
		ATL_TRY(mbz(&r, 0x2A0 - 0x208));
	} else {
		ATL_TRY(mbz(&r, 0x2A0 - 0x1F8));
	}
	ATL_TRY(atl_rd_bytes(&r, s->sig_r, 72));                        /* 0x2A0 */
	ATL_TRY(atl_rd_bytes(&r, s->sig_s, 72));                        /* 0x2E8 */
	ATL_TRY(mbz(&r, ATL_SNP_REPORT_LEN - 0x330));                   /* 0x330 */
	ATL_TRY(atl_rd_finish(&r));

	/* Validate (meaning). */
	rc = ATL_E_FORMAT;
	if (s->sig_algo != 1) { /* ABI "Signature Algorithm Encodings": 1 = ECDSA P-384 SHA-384 */
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if ((s->policy & ATL_SNP_POLICY_RESERVED1) == 0 || (s->policy & ATL_SNP_POLICY_MBZ_MASK) != 0)
		goto out;
	if (ATL_SNP_SIGNING_KEY(s->flags) > 1 || (s->flags >> 5) != 0)
		goto out;
	/* r and s are 72-byte little-endian fields holding 48-byte values */
	if (!all_zero(s->sig_r + 48, 24) || !all_zero(s->sig_s + 48, 24))
		goto out;
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

void atl_snp_tcb_decode(uint64_t tcb, enum atl_snp_product prod, struct atl_snp_tcb *out)
{
	memset(out, 0, sizeof(*out));
	if (prod == ATL_SNP_TURIN) {
		out->fmc = (uint8_t)(tcb & 0xff);
		out->bootloader = (uint8_t)((tcb >> 8) & 0xff);
		out->tee = (uint8_t)((tcb >> 16) & 0xff);
		out->snp = (uint8_t)((tcb >> 24) & 0xff);
	} else {
		out->bootloader = (uint8_t)(tcb & 0xff);
		out->tee = (uint8_t)((tcb >> 8) & 0xff);
		out->snp = (uint8_t)((tcb >> 48) & 0xff);
	}
	out->microcode = (uint8_t)((tcb >> 56) & 0xff);
}

enum atl_snp_product atl_snp_product_from_cpuid(const struct atl_snp_report *r)
{
	if (r->version < 3)
		return ATL_SNP_UNKNOWN;
	/* AMD family 19h: Milan models 00h-0Fh, Genoa 10h-1Fh and A0h-AFh;
	 * family 1Ah: Turin models 00h-1Fh. */
	if (r->cpuid_fam == 0x19 && r->cpuid_mod <= 0x0f)
		return ATL_SNP_MILAN;
	if (r->cpuid_fam == 0x19 &&
	    ((r->cpuid_mod >= 0x10 && r->cpuid_mod <= 0x1f) || (r->cpuid_mod >= 0xa0 && r->cpuid_mod <= 0xaf)))
		return ATL_SNP_GENOA;
	if (r->cpuid_fam == 0x1a && r->cpuid_mod <= 0x1f)
		return ATL_SNP_TURIN;
	return ATL_SNP_UNKNOWN;
}

const char *atl_snp_product_name(enum atl_snp_product p)
{
	switch (p) {
	case ATL_SNP_MILAN:
		return "Milan";
	case ATL_SNP_GENOA:
		return "Genoa";
	case ATL_SNP_TURIN:
		return "Turin";
	default:
		return "unknown";
	}
}

/* ---- certificate table ---- */

/* GHCB spec, "SNP Extended Guest Request" certificate GUIDs, in the byte
 * order of their text form (as go-sev-guest and snphost write the table). */
static const uint8_t guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
					0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t guid_vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
					0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
static const uint8_t guid_ask[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
					0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t guid_ark[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
					0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

enum atl_err atl_snp_cert_table(const uint8_t *tbl, size_t len, struct atl_x509_list **certs)
{
	struct atl_rd r;
	enum atl_err rc = ATL_E_INTERNAL;

	if (tbl == NULL || certs == NULL)
		return ATL_E_ARG;
	atl_rd_init(&r, tbl, len);
	for (size_t i = 0;; i++) {
		const uint8_t *guid = NULL;
		uint32_t off = 0, n = 0;
		struct atl_rd cr;
		const uint8_t *der = NULL;
		struct atl_x509 *c = NULL;

		if (i > ATL_SNP_CERTS_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		ATL_TRY(atl_rd_view(&r, 16, &guid));
		ATL_TRY(atl_rd_u32le(&r, &off));
		ATL_TRY(atl_rd_u32le(&r, &n));
		if (all_zero(guid, 16)) {
			if (off != 0 || n != 0) {
				rc = ATL_E_FORMAT;
				goto out;
			}
			break;
		}
		if (memcmp(guid, guid_vcek, 16) != 0 && memcmp(guid, guid_vlek, 16) != 0 &&
		    memcmp(guid, guid_ask, 16) != 0 && memcmp(guid, guid_ark, 16) != 0)
			continue;
		if (n == 0 || n > ATL_X509_INPUT_MAX) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		ATL_TRY(atl_rd_at(&r, off, n, &cr));
		ATL_TRY(atl_rd_view(&cr, n, &der));
		ATL_TRY(atl_x509_parse(der, n, &c));
		rc = atl_x509_list_add(certs, c);
		atl_x509_free(c);
		if (rc != ATL_OK)
			goto out;
	}
	rc = ATL_OK;
out:
	return rc;
}

/* ---- verification helpers ---- */

static enum atl_snp_product product_from_name(const char *s)
{
	if (strcmp(s, "Milan") == 0)
		return ATL_SNP_MILAN;
	if (strcmp(s, "Genoa") == 0)
		return ATL_SNP_GENOA;
	if (strcmp(s, "Turin") == 0)
		return ATL_SNP_TURIN;
	return ATL_SNP_UNKNOWN;
}

/* Product from the VEK's issuer CN: "SEV-<P>" (VCEK) or "SEV-VLEK-<P>" (VLEK). */
static enum atl_snp_product product_from_issuer(const struct atl_x509 *vek, bool vlek)
{
	char *cn = NULL;
	enum atl_snp_product p = ATL_SNP_UNKNOWN;
	const char *pre = vlek ? "SEV-VLEK-" : "SEV-";

	if (atl_x509_issuer_cn(vek, &cn) != ATL_OK)
		return ATL_SNP_UNKNOWN;
	if (strncmp(cn, pre, strlen(pre)) == 0)
		p = product_from_name(cn + strlen(pre));
	free(cn);
	return p;
}

/* A VCEK TCB extension: DER INTEGER 0..255 (AMD 57230). Some old certificates
 * carry a bare byte; both are accepted, nothing else. */
static enum atl_err ext_spl(const struct atl_x509 *c, const char *oid, uint8_t *v_out)
{
	uint8_t *v = NULL;
	size_t n = 0;
	enum atl_err rc = atl_x509_ext(c, oid, &v, &n);

	*v_out = 0;
	if (rc != ATL_OK)
		return rc;
	rc = ATL_E_FORMAT;
	if (n == 3 && v[0] == 0x02 && v[1] == 1 && v[2] < 0x80) {
		*v_out = v[2];
		rc = ATL_OK;
	} else if (n == 4 && v[0] == 0x02 && v[1] == 2 && v[2] == 0 && v[3] >= 0x80) {
		*v_out = v[3];
		rc = ATL_OK;
	}
	free(v);
	return rc;
}

/* hwID: 64 bytes, raw or as a DER OCTET STRING. */
static enum atl_err ext_hwid(const struct atl_x509 *c, uint8_t out[64])
{
	uint8_t *v = NULL;
	size_t n = 0;
	enum atl_err rc = atl_x509_ext(c, OID_HWID, &v, &n);

	memset(out, 0, 64);
	if (rc != ATL_OK)
		return rc;
	rc = ATL_E_FORMAT;
	if (n == 64) {
		memcpy(out, v, 64);
		rc = ATL_OK;
	} else if (n == 66 && v[0] == 0x04 && v[1] == 64) {
		memcpy(out, v + 2, 64);
		rc = ATL_OK;
	}
	free(v);
	return rc;
}

static json_t *tcb_json(uint64_t raw, enum atl_snp_product prod)
{
	struct atl_snp_tcb t;
	char hex[17];

	atl_snp_tcb_decode(raw, prod, &t);
	(void)snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)raw);
	if (prod == ATL_SNP_TURIN)
		return json_pack("{s:s, s:i, s:i, s:i, s:i, s:i}", "raw", hex, "fmc", t.fmc,
				 "bootloader", t.bootloader, "tee", t.tee, "snp", t.snp,
				 "microcode", t.microcode);
	return json_pack("{s:s, s:i, s:i, s:i, s:i}", "raw", hex, "bootloader", t.bootloader,
			 "tee", t.tee, "snp", t.snp, "microcode", t.microcode);
}

static bool tcb_le(const struct atl_snp_tcb *a, const struct atl_snp_tcb *b)
{
	return a->fmc <= b->fmc && a->bootloader <= b->bootloader && a->tee <= b->tee &&
	       a->snp <= b->snp && a->microcode <= b->microcode;
}

static const char *const policy_keys[] = {"bootloader", "tee", "snp", "microcode", "fmc",
					  "guest_svn", "min_version", "vmpl",
					  "permit_provisional", "allow_migrate_ma", "allow_smt",
					  "require_crl", NULL};

/* Validates min_tcb["sev-snp"]; unknown keys and wrong types are errors. */
static enum atl_err policy_check(const json_t *o, char *why, size_t cap)
{
	const char *k;
	json_t *v;

	if (o == NULL)
		return ATL_OK;
	if (!json_is_object(o)) {
		(void)snprintf(why, cap, "min_tcb.sev-snp must be an object");
		return ATL_E_FORMAT;
	}
	json_object_foreach((json_t *)o, k, v) {
		bool known = false;
		for (size_t i = 0; policy_keys[i] != NULL; i++)
			known |= strcmp(k, policy_keys[i]) == 0;
		if (!known) {
			(void)snprintf(why, cap, "min_tcb.sev-snp: unknown field \"%.40s\"", k);
			return ATL_E_FORMAT;
		}
		if (strncmp(k, "permit", 6) == 0 || strncmp(k, "allow", 5) == 0 ||
		    strncmp(k, "require", 7) == 0) {
			if (!json_is_boolean(v)) {
				(void)snprintf(why, cap, "min_tcb.sev-snp.%s must be a boolean", k);
				return ATL_E_FORMAT;
			}
		} else if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			   json_integer_value(v) > 0xffffffffLL) {
			(void)snprintf(why, cap, "min_tcb.sev-snp.%s must be a non-negative integer", k);
			return ATL_E_FORMAT;
		}
	}
	return ATL_OK;
}

static int64_t pol_int(const json_t *o, const char *k, int64_t dflt)
{
	const json_t *v = o == NULL ? NULL : json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* -1 absent, 0 false, 1 true */
static int pol_bool(const json_t *o, const char *k)
{
	const json_t *v = o == NULL ? NULL : json_object_get(o, k);

	if (!json_is_boolean(v))
		return -1;
	return json_is_true(v) ? 1 : 0;
}

/* Little-endian 72-byte r/s to big-endian 48-byte r || s. */
static void sig_to_raw(const struct atl_snp_report *s, uint8_t raw[96])
{
	for (size_t i = 0; i < 48; i++) {
		raw[i] = s->sig_r[47 - i];
		raw[48 + i] = s->sig_s[47 - i];
	}
}

/* An AMD CA-issued certificate: X.509 v3, RSASSA-PSS with SHA-384,
 * MGF1-SHA-384 and salt 48, nothing else (NEGATIVE-TESTS.md #10). */
static bool amd_sig_ok(const struct atl_x509 *c)
{
	struct atl_x509_sig_info si;

	if (atl_x509_version(c) != 2 || atl_x509_sig_info(c, &si) != ATL_OK)
		return false;
	return si.kind == ATL_X509_SIG_RSA_PSS && si.hash_nid_bits == 384 &&
	       si.pss_mgf1_bits == 384 && si.pss_salt_len == 48;
}

#define CHECK(name, ok, ...) ATL_TRY(atl_ar_check(ar, name, ok, __VA_ARGS__))

static enum atl_err snp_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const uint8_t *rep;
	const uint8_t *tbl = NULL;
	size_t tbl_len = 0;
	struct atl_snp_report s;
	struct atl_hw_coll coll;
	struct atl_x509_list *inter = NULL, *roots = NULL;
	const struct atl_x509 *vek = NULL;
	struct atl_pubkey *pk = NULL;
	const json_t *pol = atl_policy_min_tcb(in == NULL ? NULL : in->policy, "sev-snp");
	enum atl_snp_product prod = ATL_SNP_UNKNOWN, cpu_prod;
	bool vlek, chain_ok = false;
	const char *anchor_src = "";
	char why[256];
	enum atl_err rc = ATL_E_INTERNAL;
	int64_t now = in == NULL ? 0 : in->now;

	memset(&coll, 0, sizeof(coll));
	why[0] = '\0';
	if (in == NULL || ar == NULL)
		return ATL_E_ARG;

	/* 1. evidence and structure */
	ATL_TRY(atl_hw_decode(ev, ev_len, ATL_ATTEST_EVIDENCE_MAX, &buf, &len));
	rep = buf;
	if (len >= 32 + ATL_SNP_REPORT_LEN && memcmp(buf, "HCLA", 4) == 0) {
		/* Azure HCL report: SNP report at offset 32 (openpcc PROVENANCE) */
		rep = buf + 32;
		len = ATL_SNP_REPORT_LEN;
	}
	if (rep == buf && len > ATL_SNP_REPORT_LEN) {
		/* report followed by its certificate table */
		tbl = buf + ATL_SNP_REPORT_LEN;
		tbl_len = len - ATL_SNP_REPORT_LEN;
		len = ATL_SNP_REPORT_LEN;
	}
	rc = atl_snp_parse(rep, len, &s);
	if (rc != ATL_OK) {
		CHECK("snp.report", false, "not a valid SEV-SNP report (%s)", atl_strerror(rc));
		rc = ATL_E_FORMAT;
		goto out;
	}
	rc = policy_check(pol, why, sizeof(why));
	if (rc != ATL_OK) {
		CHECK("snp.policy", false, "%s", why);
		rc = ATL_OK;
		goto out;
	}
	CHECK("snp.report", s.version >= (uint64_t)pol_int(pol, "min_version", ATL_SNP_VERSION_MIN),
	      "report version %u (minimum %lld)", s.version,
	      (long long)pol_int(pol, "min_version", ATL_SNP_VERSION_MIN));
	vlek = ATL_SNP_SIGNING_KEY(s.flags) == 1;

	/* claims */
	ATL_TRY(atl_ar_set_hex(ar, "report_data", s.report_data, sizeof(s.report_data)));
	ATL_TRY(atl_ar_set_hex(ar, "measurement", s.measurement, sizeof(s.measurement)));
	ATL_TRY(atl_ar_set_bool(ar, "debug", (s.policy & ATL_SNP_POLICY_DEBUG) != 0));
	ATL_TRY(atl_ar_set_hex(ar, "host_data", s.host_data, sizeof(s.host_data)));
	ATL_TRY(atl_ar_set_hex(ar, "chip_id", s.chip_id, sizeof(s.chip_id)));
	ATL_TRY(atl_ar_set_int(ar, "vmpl", s.vmpl));
	ATL_TRY(atl_ar_set_int(ar, "guest_svn", s.guest_svn));
	ATL_TRY(atl_ar_set_int(ar, "report_version", s.version));
	ATL_TRY(atl_ar_set_str(ar, "signing_key", vlek ? "VLEK" : "VCEK"));
	{
		char hex[17];
		(void)snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)s.policy);
		ATL_TRY(atl_ar_set_str(ar, "guest_policy", hex));
	}

	/* 2. certificates: VEK from the collateral, ASK/ASVK from the collateral
	 * or built in, ARK pinned */
	rc = atl_hw_coll_load(in->collateral, &coll, why, sizeof(why));
	if (rc != ATL_OK) {
		CHECK("snp.collateral", false, "%s", why);
		rc = ATL_OK;
		goto out;
	}
	if (tbl != NULL) {
		/* certificates the host attached; trust still comes from the ARK pin */
		rc = atl_snp_cert_table(tbl, tbl_len, &coll.certs);
		CHECK("snp.cert_table", rc == ATL_OK, "certificate table after the report %s (%s)",
		      rc == ATL_OK ? "read" : "MALFORMED", atl_strerror(rc));
		if (rc != ATL_OK) {
			rc = ATL_OK;
			goto out;
		}
	}
	for (size_t i = 0; i < atl_x509_list_len(coll.certs); i++) {
		const struct atl_x509 *c = atl_x509_list_get(coll.certs, i);
		if (atl_hw_cn_is(c, vlek ? "SEV-VLEK" : "SEV-VCEK")) {
			if (vek == NULL)
				vek = c;
		} else if (atl_hw_cn_starts(c, "SEV-")) {
			ATL_TRY(atl_x509_list_add(&inter, c));
		}
		/* ARKs in the collateral are ignored: anchors are pinned. */
	}
	if (vek == NULL) {
		CHECK("snp.vek", false, "no %s certificate among the collateral",
		      vlek ? "VLEK (SEV-VLEK)" : "VCEK (SEV-VCEK)");
		goto out;
	}
	prod = product_from_issuer(vek, vlek);
	cpu_prod = atl_snp_product_from_cpuid(&s);
	CHECK("snp.product", prod != ATL_SNP_UNKNOWN && (cpu_prod == ATL_SNP_UNKNOWN || cpu_prod == prod),
	      "certificate issued for %s, report CPUID says %s", atl_snp_product_name(prod),
	      cpu_prod == ATL_SNP_UNKNOWN ? "nothing (version 2)" : atl_snp_product_name(cpu_prod));
	ATL_TRY(atl_ar_set_str(ar, "product", atl_snp_product_name(prod)));
	if (atl_x509_list_len(inter) == 0)
		ATL_TRY(atl_hw_builtin(ATL_HW_AMD_ICA, &inter));
	rc = atl_hw_anchors(in, "sev-snp", ATL_HW_AMD_ARK, &roots, &anchor_src);
	if (rc != ATL_OK) {
		CHECK("snp.anchors", false, "trust anchors unreadable (%s)", atl_strerror(rc));
		rc = ATL_OK;
		goto out;
	}
	{
		bool algs = amd_sig_ok(vek);
		struct atl_x509_sig_info si;
		algs = algs && atl_x509_sig_info(vek, &si) == ATL_OK && si.key_ec && si.key_bits == 384;
		for (size_t i = 0; i < atl_x509_list_len(inter); i++)
			algs = algs && amd_sig_ok(atl_x509_list_get(inter, i));
		CHECK("snp.cert_algorithms", algs,
		      "%s", algs ? "RSASSA-PSS SHA-384 salt 48 chain, ECDSA P-384 VEK"
				 : "a certificate is not RSASSA-PSS/SHA-384/salt 48, or the VEK is not P-384");
	}
	rc = atl_x509_verify_chain(vek, inter, roots, coll.crls, now,
				   pol_bool(pol, "require_crl") == 1 ? ATL_X509_CHECK_CRL_CA : 0,
				   why, sizeof(why));
	chain_ok = rc == ATL_OK;
	CHECK("snp.chain", chain_ok, "%s %s to %s ARK (%s)%s", vlek ? "VLEK" : "VCEK",
	      chain_ok ? "chains" : "does not chain", anchor_src, why,
	      atl_crl_list_len(coll.crls) > 0 ? "; CRL checked" : "; no CRL given");
	rc = ATL_OK;

	/* 3. report signature: ECDSA P-384 SHA-384 over [0, 0x2A0) */
	ATL_TRY(atl_x509_pubkey(vek, &pk));
	{
		uint8_t raw[96];
		sig_to_raw(&s, raw);
		rc = atl_sig_verify(pk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, rep,
				    ATL_SNP_SIGNED_LEN, raw, sizeof(raw));
		CHECK("snp.signature", rc == ATL_OK, "report signature %s",
		      rc == ATL_OK ? "valid" : "INVALID");
		rc = ATL_OK;
	}

	/* 4. TCB: reported_tcb must equal the VEK's TCB extensions (go-sev-guest
	 * validateTcb; NEGATIVE-TESTS.md #8) */
	{
		struct atl_snp_tcb rep_t, cur_t, com_t, cert_t;
		enum atl_err e = ATL_OK;
		json_t *tj;

		memset(&cert_t, 0, sizeof(cert_t));
		atl_snp_tcb_decode(s.reported_tcb, prod, &rep_t);
		atl_snp_tcb_decode(s.current_tcb, prod, &cur_t);
		atl_snp_tcb_decode(s.committed_tcb, prod, &com_t);
		if (e == ATL_OK)
			e = ext_spl(vek, OID_BL_SPL, &cert_t.bootloader);
		if (e == ATL_OK)
			e = ext_spl(vek, OID_TEE_SPL, &cert_t.tee);
		if (e == ATL_OK)
			e = ext_spl(vek, OID_SNP_SPL, &cert_t.snp);
		if (e == ATL_OK)
			e = ext_spl(vek, OID_UCODE_SPL, &cert_t.microcode);
		if (e == ATL_OK && prod == ATL_SNP_TURIN)
			e = ext_spl(vek, OID_FMC_SPL, &cert_t.fmc);
		CHECK("snp.tcb", e == ATL_OK && memcmp(&rep_t, &cert_t, sizeof(rep_t)) == 0,
		      "reported TCB bl=%u tee=%u snp=%u ucode=%u fmc=%u; certificate %s bl=%u tee=%u "
		      "snp=%u ucode=%u fmc=%u",
		      rep_t.bootloader, rep_t.tee, rep_t.snp, rep_t.microcode, rep_t.fmc,
		      e == ATL_OK ? "" : "(extensions unreadable)", cert_t.bootloader, cert_t.tee,
		      cert_t.snp, cert_t.microcode, cert_t.fmc);
		CHECK("snp.tcb_current", tcb_le(&rep_t, &cur_t),
		      "reported TCB %s the current TCB", tcb_le(&rep_t, &cur_t) ? "<=" : "ABOVE");
		if (s.committed_tcb != s.current_tcb) {
			int pp = pol_bool(pol, "permit_provisional");
			if (pp == 1)
				CHECK("snp.tcb_committed", true,
				      "committed TCB differs from current (provisional firmware permitted)");
			else if (pp == 0)
				CHECK("snp.tcb_committed", false,
				      "committed TCB differs from current (provisional firmware)");
			else
				CHECK("snp.tcb_committed", true,
				      "committed TCB differs from current (provisional firmware; "
				      "refused only when min_tcb.sev-snp.permit_provisional is false)");
		}
		{
			struct atl_snp_tcb min_t;
			min_t.bootloader = (uint8_t)pol_int(pol, "bootloader", 0);
			min_t.tee = (uint8_t)pol_int(pol, "tee", 0);
			min_t.snp = (uint8_t)pol_int(pol, "snp", 0);
			min_t.microcode = (uint8_t)pol_int(pol, "microcode", 0);
			min_t.fmc = (uint8_t)pol_int(pol, "fmc", 0);
			if (pol != NULL)
				CHECK("snp.min_tcb", tcb_le(&min_t, &rep_t) &&
						     s.guest_svn >= (uint64_t)pol_int(pol, "guest_svn", 0),
				      "reported TCB and guest SVN %s the policy minimum",
				      tcb_le(&min_t, &rep_t) ? "meet" : "are BELOW");
		}
		tj = json_pack("{s:o, s:o, s:o, s:o, s:o}", "reported", tcb_json(s.reported_tcb, prod),
			       "current", tcb_json(s.current_tcb, prod), "committed",
			       tcb_json(s.committed_tcb, prod), "launch", tcb_json(s.launch_tcb, prod),
			       "certificate", tcb_json(0, prod));
		if (tj != NULL) {
			json_t *cj = json_object_get(tj, "certificate");
			json_object_set_new(cj, "bootloader", json_integer(cert_t.bootloader));
			json_object_set_new(cj, "tee", json_integer(cert_t.tee));
			json_object_set_new(cj, "snp", json_integer(cert_t.snp));
			json_object_set_new(cj, "microcode", json_integer(cert_t.microcode));
			json_object_del(cj, "raw");
			if (prod == ATL_SNP_TURIN)
				json_object_set_new(cj, "fmc", json_integer(cert_t.fmc));
			ATL_TRY(atl_ar_set_json(ar, "tcb", tj));
		}
	}

	/* 5. chip_id == VCEK hwID (skipped for VLEK and MASK_CHIP_ID;
	 * NEGATIVE-TESTS.md #9) */
	if (vlek) {
		CHECK("snp.chip_id", true, "VLEK-signed: no hwID to compare");
	} else if ((s.flags & ATL_SNP_FLAG_MASK_CHIP_KEY) != 0 || all_zero(s.chip_id, 64)) {
		CHECK("snp.chip_id", true, "chip_id masked (MASK_CHIP_ID): comparison skipped");
	} else {
		uint8_t hw[64];
		enum atl_err e = ext_hwid(vek, hw);
		CHECK("snp.chip_id", e == ATL_OK && memcmp(hw, s.chip_id, 64) == 0,
		      "report chip_id %s the VCEK hwID", e != ATL_OK ? "(hwID unreadable) vs"
							: memcmp(hw, s.chip_id, 64) == 0 ? "equals"
											 : "DIFFERS FROM");
	}

	/* 6. guest policy (ABI GUEST_POLICY) and VMPL */
	{
		bool dbg = (s.policy & ATL_SNP_POLICY_DEBUG) != 0;
		bool allow_dbg = atl_policy_allow_debug(in->policy);
		bool ma = (s.policy & ATL_SNP_POLICY_MIGRATE_MA) != 0;
		bool smt = (s.policy & ATL_SNP_POLICY_SMT) != 0;
		CHECK("snp.guest_debug", !dbg || allow_dbg, "guest policy %s debugging%s",
		      dbg ? "ALLOWS" : "forbids", dbg && !allow_dbg ? " (not allowed by policy)" : "");
		CHECK("snp.guest_migrate_ma", !ma || pol_bool(pol, "allow_migrate_ma") == 1,
		      "migration agent %s", ma ? "ALLOWED by guest policy" : "not allowed");
		CHECK("snp.guest_smt", !smt || pol_bool(pol, "allow_smt") != 0, "SMT %s",
		      smt ? "allowed by guest policy" : "not allowed");
		if (pol_int(pol, "vmpl", -1) >= 0)
			CHECK("snp.vmpl", (int64_t)s.vmpl == pol_int(pol, "vmpl", -1),
			      "VMPL %u, policy requires %lld", s.vmpl, (long long)pol_int(pol, "vmpl", -1));
	}
	rc = ATL_OK;
out:
	atl_pubkey_free(pk);
	atl_x509_list_free(inter);
	atl_x509_list_free(roots);
	atl_hw_coll_free(&coll);
	free(buf);
	return rc;
}

/* ---- detect / evidence ---- */

static bool snp_detect(void)
{
	return access("/dev/sev-guest", F_OK) == 0;
}

#ifdef HAVE_SEV_GUEST_H
/* SNP_GET_REPORT through /dev/sev-guest (linux/sev-guest.h). The response
 * buffer holds MSG_REPORT_RSP (ABI Table 24 in rev 1.55): status u32,
 * report_size u32, 24 reserved bytes, then the report. */
static enum atl_err sev_guest_report(const uint8_t report_data[ATL_REPORT_DATA_LEN],
				     uint8_t **ev_out, size_t *ev_len_out)
{
	struct snp_report_req req;
	struct snp_report_resp resp;
	struct snp_guest_request_ioctl g;
	struct atl_rd r;
	uint32_t status = 0, size = 0;
	const uint8_t *rep = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	int fd = open("/dev/sev-guest", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? ATL_E_UNSUPPORTED
		       : (errno == EACCES || errno == EPERM) ? ATL_E_DENIED : ATL_E_IO;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&g, 0, sizeof(g));
	memcpy(req.user_data, report_data, ATL_REPORT_DATA_LEN);
	req.vmpl = 0;
	g.msg_version = 1;
	g.req_data = (uint64_t)(uintptr_t)&req;
	g.resp_data = (uint64_t)(uintptr_t)&resp;
	if (ioctl(fd, SNP_GET_REPORT, &g) != 0) {
		atl_warn("SNP_GET_REPORT failed (firmware error %u)", (unsigned)g.fw_error);
		rc = ATL_E_IO;
		goto out;
	}
	atl_rd_init(&r, resp.data, sizeof(resp.data));
	ATL_TRY(atl_rd_u32le(&r, &status));
	ATL_TRY(atl_rd_u32le(&r, &size));
	ATL_TRY(atl_rd_skip(&r, 24));
	if (status != 0 || size != ATL_SNP_REPORT_LEN) {
		rc = ATL_E_IO;
		goto out;
	}
	ATL_TRY(atl_rd_view(&r, size, &rep));
	*ev_out = malloc(size);
	if (*ev_out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	memcpy(*ev_out, rep, size);
	*ev_len_out = size;
	rc = ATL_OK;
out:
	(void)close(fd);
	return rc;
}

#else
static enum atl_err sev_guest_report(const uint8_t report_data[ATL_REPORT_DATA_LEN],
				     uint8_t **ev_out, size_t *ev_len_out)
{
	(void)report_data;
	(void)ev_out;
	(void)ev_len_out;
	return ATL_E_UNSUPPORTED;
}
#endif

/* configfs-tsm first, /dev/sev-guest second (issue: evidence generation). */
static enum atl_err snp_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
				 uint8_t **ev_out, size_t *ev_len_out)
{
	enum atl_err rc;

	(void)cfg;
	*ev_out = NULL;
	*ev_len_out = 0;
	rc = atl_hw_tsm_report("sev_guest", report_data, true, ev_out, ev_len_out);
	if (rc != ATL_E_UNSUPPORTED)
		return rc;
	return sev_guest_report(report_data, ev_out, ev_len_out);
}

const struct atl_tee_ops atl_tee_snp = {
	.name = "sev-snp",
	.detect = snp_detect,
	.evidence = snp_evidence,
	.verify = snp_verify,
};
