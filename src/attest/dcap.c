/* DCAP quote, PCK extension and TCB-level parsing; see include/atoll/dcap.h.
 * The verification flow shared by the tdx and sgx backends is in
 * dcap_verify.c. Everything read from outside goes through the bounded
 * reader; DER is walked iteratively with a fixed nesting (no recursion). */
#define ATL_LOG_MODULE "dcap"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "atoll/bytes.h"
#include "atoll/dcap.h"
#include "atoll/encoding.h"
#include "atoll/limits.h"
#include "atoll/timeutil.h"
#include "attest/dcap.h"

const uint8_t atl_dcap_intel_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
					   0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* ---- quote ---- */

/* SGX REPORT body, 384 bytes (quote v3 appendix A.4, "Enclave Report Body"). */
static enum atl_err rd_sgx_report(struct atl_rd *r, struct atl_dcap_sgx_report *s)
{
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_rd_bytes(r, s->cpusvn, 16));       /* 0 */
	ATL_TRY(atl_rd_u32le(r, &s->miscselect));      /* 16 */
	ATL_TRY(atl_rd_skip(r, 28));                    /* 20 reserved */
	ATL_TRY(atl_rd_bytes(r, s->attributes, 16));   /* 48 */
	ATL_TRY(atl_rd_bytes(r, s->mrenclave, 32));    /* 64 */
	ATL_TRY(atl_rd_skip(r, 32));                    /* 96 reserved */
	ATL_TRY(atl_rd_bytes(r, s->mrsigner, 32));     /* 128 */
	ATL_TRY(atl_rd_skip(r, 96));                    /* 160 reserved */
	ATL_TRY(atl_rd_u16le(r, &s->isvprodid));       /* 256 */
	ATL_TRY(atl_rd_u16le(r, &s->isvsvn));          /* 258 */
	ATL_TRY(atl_rd_skip(r, 60));                    /* 260 reserved */
	ATL_TRY(atl_rd_bytes(r, s->report_data, 64));  /* 320 */
	rc = ATL_OK;
out:
	return rc;
}

/* TD report body (TDX DCAP Quoting Library API §A.3.2 "TD Quote Body"). */
static enum atl_err rd_td_report(struct atl_rd *r, struct atl_dcap_td_report *t, bool td15)
{
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_rd_bytes(r, t->tee_tcb_svn, 16));
	ATL_TRY(atl_rd_bytes(r, t->mrseam, 48));
	ATL_TRY(atl_rd_bytes(r, t->mrsignerseam, 48));
	ATL_TRY(atl_rd_u64le(r, &t->seam_attributes));
	ATL_TRY(atl_rd_u64le(r, &t->td_attributes));
	ATL_TRY(atl_rd_u64le(r, &t->xfam));
	ATL_TRY(atl_rd_bytes(r, t->mrtd, 48));
	ATL_TRY(atl_rd_bytes(r, t->mrconfigid, 48));
	ATL_TRY(atl_rd_bytes(r, t->mrowner, 48));
	ATL_TRY(atl_rd_bytes(r, t->mrownerconfig, 48));
	for (size_t i = 0; i < 4; i++)
		ATL_TRY(atl_rd_bytes(r, t->rtmr[i], 48));
	ATL_TRY(atl_rd_bytes(r, t->report_data, 64));
	t->td15 = td15;
	if (td15) {
		ATL_TRY(atl_rd_bytes(r, t->tee_tcb_svn2, 16));
		ATL_TRY(atl_rd_bytes(r, t->mr_servicetd, 48));
	}
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err atl_dcap_parse(const uint8_t *buf, size_t len, struct atl_dcap_quote *q)
{
	struct atl_rd r, sd, cd, body;
	uint32_t sig_len = 0, cd_len = 0, inner_len = 0;
	uint16_t cd_type = 0, inner_type = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (q == NULL)
		return ATL_E_ARG;
	memset(q, 0, sizeof(*q));
	if (buf == NULL)
		return ATL_E_TRUNCATED;
	if (len > ATL_ATTEST_EVIDENCE_MAX)
		return ATL_E_LIMIT;
	atl_rd_init(&r, buf, len);

	/* Header, 48 bytes (quote v3 A.4 / v4 A.3.1) */
	ATL_TRY(atl_rd_u16le(&r, &q->version));
	ATL_TRY(atl_rd_u16le(&r, &q->att_key_type));
	ATL_TRY(atl_rd_u32le(&r, &q->tee_type));
	ATL_TRY(atl_rd_u16le(&r, &q->qe_svn));
	ATL_TRY(atl_rd_u16le(&r, &q->pce_svn));
	ATL_TRY(atl_rd_bytes(&r, q->qe_vendor_id, 16));
	ATL_TRY(atl_rd_bytes(&r, q->user_data, 20));
	if (q->version < 3 || q->version > 5) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	/* tee_type must fit the version: SGX quotes are v3, TDX v4/v5 */
	if (!((q->version == 3 && q->tee_type == ATL_DCAP_TEE_SGX) ||
	      (q->version >= 4 && q->tee_type == ATL_DCAP_TEE_TDX))) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (q->att_key_type != ATL_DCAP_ATT_KEY_ECDSA_P256) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (memcmp(q->qe_vendor_id, atl_dcap_intel_vendor, 16) != 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}

	/* Body */
	if (q->version == 3) {
		q->body_type = 1;
		ATL_TRY(rd_sgx_report(&r, &q->sgx));
	} else if (q->version == 4) {
		q->body_type = 2;
		ATL_TRY(rd_td_report(&r, &q->td, false));
	} else {
		uint32_t body_size = 0;
		/* v5 A.4.2: body type u16 and size u32 precede the body */
		ATL_TRY(atl_rd_u16le(&r, &q->body_type));
		ATL_TRY(atl_rd_u32le(&r, &body_size));
		if ((q->body_type == 2 && body_size != ATL_DCAP_TD10_LEN) ||
		    (q->body_type == 3 && body_size != ATL_DCAP_TD15_LEN) ||
		    (q->body_type != 2 && q->body_type != 3)) {
			rc = q->body_type == 2 || q->body_type == 3 ? ATL_E_FORMAT : ATL_E_UNSUPPORTED;
			goto out;
		}
		ATL_TRY(atl_rd_sub(&r, body_size, &body));
		ATL_TRY(rd_td_report(&body, &q->td, q->body_type == 3));
		ATL_TRY(atl_rd_finish(&body));
	}
	q->signed_len = r.pos;
	if (q->signed_len > ATL_DCAP_QUOTE_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}

	/* Signature data (A.4 "Quote Signature Data" / A.3.8) */
	ATL_TRY(atl_rd_u32le(&r, &sig_len));
	if (sig_len > ATL_DCAP_QUOTE_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	ATL_TRY(atl_rd_sub(&r, sig_len, &sd));
	q->trailing = atl_rd_left(&r);
	ATL_TRY(atl_rd_view(&sd, 64, &q->sig));
	ATL_TRY(atl_rd_view(&sd, 64, &q->att_key));
	if (q->version == 3) {
		cd = sd; /* v3: the QE report follows directly */
	} else {
		/* v4/v5: certification data type 6 wraps QE report + auth + PCK */
		ATL_TRY(atl_rd_u16le(&sd, &cd_type));
		ATL_TRY(atl_rd_u32le(&sd, &cd_len));
		if (cd_type != ATL_DCAP_CERT_QE_REPORT) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		if (cd_len > ATL_DCAP_QUOTE_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		ATL_TRY(atl_rd_sub(&sd, cd_len, &cd));
		ATL_TRY(atl_rd_finish(&sd));
	}
	ATL_TRY(atl_rd_view(&cd, ATL_DCAP_SGX_REPORT_LEN, &q->qe_report));
	{
		struct atl_rd qr;
		atl_rd_init(&qr, q->qe_report, ATL_DCAP_SGX_REPORT_LEN);
		ATL_TRY(rd_sgx_report(&qr, &q->qe));
		ATL_TRY(atl_rd_finish(&qr));
	}
	ATL_TRY(atl_rd_view(&cd, 64, &q->qe_sig));
	{
		uint16_t auth_len = 0;
		ATL_TRY(atl_rd_u16le(&cd, &auth_len));
		if (auth_len > ATL_DCAP_AUTH_DATA_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		q->auth_len = auth_len;
		ATL_TRY(atl_rd_view(&cd, auth_len, &q->auth_data));
	}
	ATL_TRY(atl_rd_u16le(&cd, &inner_type));
	ATL_TRY(atl_rd_u32le(&cd, &inner_len));
	q->cert_type = inner_type;
	if (inner_type != ATL_DCAP_CERT_PCK_CHAIN) {
		/* e.g. type 3 (PPID encrypted) carries no PCK chain to verify */
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (inner_len == 0 || inner_len > ATL_DCAP_CERT_DATA_MAX) {
		rc = inner_len == 0 ? ATL_E_FORMAT : ATL_E_LIMIT;
		goto out;
	}
	q->cert_len = inner_len;
	ATL_TRY(atl_rd_view(&cd, inner_len, &q->cert_data));
	ATL_TRY(atl_rd_finish(&cd));
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		memset(q, 0, sizeof(*q));
	return rc;
}

/* ---- DER for the PCK extension ---- */

/* One TLV: tag byte, DER length (short form, or long form with 1-3 bytes),
 * value as a child reader. */
static enum atl_err der_tlv(struct atl_rd *r, uint8_t *tag, struct atl_rd *val)
{
	uint8_t l = 0, b = 0;
	size_t n = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_rd_u8(r, tag));
	ATL_TRY(atl_rd_u8(r, &l));
	if (l < 0x80) {
		n = l;
	} else {
		size_t k = l & 0x7f;
		if (k == 0 || k > 3) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		for (size_t i = 0; i < k; i++) {
			ATL_TRY(atl_rd_u8(r, &b));
			n = (n << 8) | b;
		}
		if (n < 0x80) { /* not minimal */
			rc = ATL_E_FORMAT;
			goto out;
		}
	}
	ATL_TRY(atl_rd_sub(r, n, val));
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err der_expect(struct atl_rd *r, uint8_t want, struct atl_rd *val)
{
	uint8_t tag = 0;
	enum atl_err rc = der_tlv(r, &tag, val);

	if (rc != ATL_OK)
		return rc;
	return tag == want ? ATL_OK : ATL_E_FORMAT;
}

/* Non-negative INTEGER that fits max. */
static enum atl_err der_uint(struct atl_rd *v, uint32_t max, uint32_t *out)
{
	size_t n = atl_rd_left(v);
	uint32_t x = 0;
	uint8_t b = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = 0;
	if (n == 0 || n > 3)
		return ATL_E_FORMAT;
	for (size_t i = 0; i < n; i++) {
		ATL_TRY(atl_rd_u8(v, &b));
		if (i == 0 && (b & 0x80) != 0) {
			rc = ATL_E_FORMAT; /* negative */
			goto out;
		}
		x = (x << 8) | b;
	}
	if (x > max) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	*out = x;
	rc = ATL_OK;
out:
	return rc;
}

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* Is the OID the SGX arc followed by exactly the n arcs in sub? */
static bool oid_is(const uint8_t *p, size_t len, const uint8_t *sub, size_t n)
{
	return len == sizeof(sgx_oid) + n && memcmp(p, sgx_oid, sizeof(sgx_oid)) == 0 &&
	       memcmp(p + sizeof(sgx_oid), sub, n) == 0;
}

static enum atl_err octets(struct atl_rd *v, uint8_t *out, size_t n)
{
	if (atl_rd_left(v) != n)
		return ATL_E_FORMAT;
	return atl_rd_bytes(v, out, n);
}

/* TCB SEQUENCE: 16 component SVNs (.2.1-.2.16), pcesvn (.2.17), cpusvn (.2.18). */
static enum atl_err pck_tcb(struct atl_rd *seq, struct atl_dcap_pck *o, uint32_t *seen)
{
	struct atl_rd item, oid, val;
	const uint8_t *op = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	while (atl_rd_left(seq) > 0) {
		uint8_t tag = 0;
		size_t ol;

		ATL_TRY(der_expect(seq, 0x30, &item));
		ATL_TRY(der_expect(&item, 0x06, &oid));
		ol = atl_rd_left(&oid);
		ATL_TRY(atl_rd_view(&oid, ol, &op));
		ATL_TRY(der_tlv(&item, &tag, &val));
		ATL_TRY(atl_rd_finish(&item));
		if (ol == sizeof(sgx_oid) + 2 && memcmp(op, sgx_oid, sizeof(sgx_oid)) == 0 &&
		    op[sizeof(sgx_oid)] == 0x02) {
			uint8_t k = op[sizeof(sgx_oid) + 1];
			uint32_t x = 0;
			if (k >= 1 && k <= 16) {
				if (tag != 0x02 || (*seen & (1u << (k - 1))) != 0) {
					rc = ATL_E_FORMAT;
					goto out;
				}
				ATL_TRY(der_uint(&val, 255, &x));
				o->comps[k - 1] = (uint8_t)x;
				*seen |= 1u << (k - 1);
			} else if (k == 17) {
				if (tag != 0x02 || (*seen & (1u << 16)) != 0) {
					rc = ATL_E_FORMAT;
					goto out;
				}
				ATL_TRY(der_uint(&val, 0xffff, &x));
				o->pcesvn = (uint16_t)x;
				*seen |= 1u << 16;
			} else if (k == 18) {
				if (tag != 0x04 || (*seen & (1u << 17)) != 0) {
					rc = ATL_E_FORMAT;
					goto out;
				}
				ATL_TRY(octets(&val, o->cpusvn, 16));
				*seen |= 1u << 17;
			}
		}
	}
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err atl_dcap_pck_parse(const uint8_t *der, size_t len, struct atl_dcap_pck *out)
{
	static const uint8_t s_ppid[] = {0x01}, s_tcb[] = {0x02}, s_pceid[] = {0x03},
			     s_fmspc[] = {0x04};
	struct atl_rd r, top, item, oid, val;
	const uint8_t *op = NULL;
	uint32_t tcb_seen = 0;
	unsigned seen = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out == NULL)
		return ATL_E_ARG;
	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		return ATL_E_FORMAT;
	atl_rd_init(&r, der, len);
	ATL_TRY(der_expect(&r, 0x30, &top));
	ATL_TRY(atl_rd_finish(&r));
	while (atl_rd_left(&top) > 0) {
		uint8_t tag = 0;
		size_t ol;

		ATL_TRY(der_expect(&top, 0x30, &item));
		ATL_TRY(der_expect(&item, 0x06, &oid));
		ol = atl_rd_left(&oid);
		ATL_TRY(atl_rd_view(&oid, ol, &op));
		ATL_TRY(der_tlv(&item, &tag, &val));
		ATL_TRY(atl_rd_finish(&item));
		if (oid_is(op, ol, s_ppid, 1)) {
			if (tag != 0x04 || (seen & 1u) != 0)
				goto bad;
			ATL_TRY(octets(&val, out->ppid, 16));
			seen |= 1u;
		} else if (oid_is(op, ol, s_tcb, 1)) {
			if (tag != 0x30 || (seen & 2u) != 0)
				goto bad;
			ATL_TRY(pck_tcb(&val, out, &tcb_seen));
			seen |= 2u;
		} else if (oid_is(op, ol, s_pceid, 1)) {
			if (tag != 0x04 || (seen & 4u) != 0)
				goto bad;
			ATL_TRY(octets(&val, out->pceid, 2));
			seen |= 4u;
		} else if (oid_is(op, ol, s_fmspc, 1)) {
			if (tag != 0x04 || (seen & 8u) != 0)
				goto bad;
			ATL_TRY(octets(&val, out->fmspc, 6));
			seen |= 8u;
		}
		/* SGX type, platform instance id, configuration: not used */
	}
	if (seen != 0xfu || tcb_seen != 0x3ffffu)
		goto bad;
	rc = ATL_OK;
	goto out;
bad:
	rc = ATL_E_FORMAT;
out:
	if (rc != ATL_OK) {
		memset(out, 0, sizeof(*out));
		rc = rc == ATL_E_NOMEM ? rc : ATL_E_FORMAT;
	}
	return rc;
}

/* ---- TCB statuses and level matching ---- */

static const char *const status_names[] = {
	[ATL_DCAP_UP_TO_DATE] = "UpToDate",
	[ATL_DCAP_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[ATL_DCAP_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[ATL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
	[ATL_DCAP_OUT_OF_DATE] = "OutOfDate",
	[ATL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
	[ATL_DCAP_REVOKED] = "Revoked",
	[ATL_DCAP_STATUS_UNKNOWN] = "Unknown",
};

const char *atl_dcap_status_name(enum atl_dcap_status s)
{
	if ((unsigned)s > ATL_DCAP_STATUS_UNKNOWN)
		return "Unknown";
	return status_names[s];
}

enum atl_err atl_dcap_status_parse(const char *s, enum atl_dcap_status *out)
{
	*out = ATL_DCAP_STATUS_UNKNOWN;
	if (s == NULL)
		return ATL_E_FORMAT;
	for (unsigned i = 0; i < ATL_DCAP_STATUS_UNKNOWN; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum atl_dcap_status)i;
			return ATL_OK;
		}
	}
	return ATL_E_FORMAT;
}

static bool is_config(enum atl_dcap_status s)
{
	return s == ATL_DCAP_CONFIGURATION_NEEDED ||
	       s == ATL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
	       s == ATL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED;
}

enum atl_dcap_status atl_dcap_status_merge(enum atl_dcap_status a, enum atl_dcap_status b)
{
	enum atl_dcap_status m = a > b ? a : b;

	if (m == ATL_DCAP_OUT_OF_DATE && (is_config(a) || is_config(b)))
		m = ATL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED;
	if (m == ATL_DCAP_SW_HARDENING_NEEDED || m == ATL_DCAP_CONFIGURATION_NEEDED) {
		bool sw = a == ATL_DCAP_SW_HARDENING_NEEDED || b == ATL_DCAP_SW_HARDENING_NEEDED;
		if (sw && (is_config(a) || is_config(b)))
			m = ATL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED;
	}
	return m;
}

enum atl_dcap_verdict atl_dcap_status_verdict(enum atl_dcap_status s, const json_t *accept)
{
	size_t i;
	json_t *v;

	if (s == ATL_DCAP_REVOKED || s >= ATL_DCAP_STATUS_UNKNOWN)
		return ATL_DCAP_FAIL;
	if (s == ATL_DCAP_UP_TO_DATE)
		return ATL_DCAP_PASS;
	json_array_foreach((json_t *)accept, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), atl_dcap_status_name(s)) == 0)
			return ATL_DCAP_PASS;
	}
	if (s == ATL_DCAP_SW_HARDENING_NEEDED || s == ATL_DCAP_CONFIGURATION_NEEDED ||
	    s == ATL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED)
		return ATL_DCAP_WARN;
	return ATL_DCAP_FAIL;
}

/* The 16 "svn" values of a component list; exactly 16 entries. */
static enum atl_err comps16(const json_t *arr, uint8_t out[ATL_DCAP_TCB_COMPONENTS])
{
	size_t i;
	json_t *c;

	if (!json_is_array(arr) || json_array_size(arr) != ATL_DCAP_TCB_COMPONENTS)
		return ATL_E_FORMAT;
	json_array_foreach(arr, i, c) {
		json_t *svn = json_object_get(c, "svn");
		if (!json_is_integer(svn) || json_integer_value(svn) < 0 ||
		    json_integer_value(svn) > 255)
			return ATL_E_FORMAT;
		out[i] = (uint8_t)json_integer_value(svn);
	}
	return ATL_OK;
}

enum atl_err atl_dcap_tcb_match(const json_t *tcb_info, const struct atl_dcap_pck *pck,
				const uint8_t *tee_tcb_svn, enum atl_dcap_status *status_out,
				json_t *advisories)
{
	const json_t *levels = json_object_get(tcb_info, "tcbLevels");
	size_t i;
	json_t *lv;

	*status_out = ATL_DCAP_STATUS_UNKNOWN;
	if (!json_is_array(levels) || json_array_size(levels) == 0 ||
	    json_array_size(levels) > ATL_DCAP_TCB_LEVELS_MAX)
		return ATL_E_FORMAT;
	/* Validate every level first: a malformed level anywhere is an error,
	 * not something to skip (dcap-qvl GHSA-6q6c-vvf9-fj3w). */
	json_array_foreach(levels, i, lv) {
		const json_t *tcb = json_object_get(lv, "tcb");
		const json_t *pce = json_object_get(tcb, "pcesvn");
		uint8_t tmp[ATL_DCAP_TCB_COMPONENTS];
		enum atl_dcap_status st;

		if (!json_is_object(tcb) || !json_is_integer(pce) || json_integer_value(pce) < 0 ||
		    json_integer_value(pce) > 0xffff)
			return ATL_E_FORMAT;
		if (comps16(json_object_get(tcb, "sgxtcbcomponents"), tmp) != ATL_OK)
			return ATL_E_FORMAT;
		if (tee_tcb_svn != NULL &&
		    comps16(json_object_get(tcb, "tdxtcbcomponents"), tmp) != ATL_OK)
			return ATL_E_FORMAT;
		if (atl_dcap_status_parse(json_string_value(json_object_get(lv, "tcbStatus")), &st) !=
		    ATL_OK)
			return ATL_E_FORMAT;
	}
	json_array_foreach(levels, i, lv) {
		const json_t *tcb = json_object_get(lv, "tcb");
		uint8_t sgx[ATL_DCAP_TCB_COMPONENTS], tdx[ATL_DCAP_TCB_COMPONENTS];
		bool match = json_integer_value(json_object_get(tcb, "pcesvn")) <= pck->pcesvn;
		const json_t *adv;

		(void)comps16(json_object_get(tcb, "sgxtcbcomponents"), sgx);
		for (size_t k = 0; k < ATL_DCAP_TCB_COMPONENTS; k++)
			match = match && sgx[k] <= pck->comps[k];
		if (tee_tcb_svn != NULL) {
			(void)comps16(json_object_get(tcb, "tdxtcbcomponents"), tdx);
			for (size_t k = 0; k < ATL_DCAP_TCB_COMPONENTS; k++)
				match = match && tdx[k] <= tee_tcb_svn[k];
		}
		if (!match)
			continue;
		if (atl_dcap_status_parse(json_string_value(json_object_get(lv, "tcbStatus")),
					  status_out) != ATL_OK)
			return ATL_E_FORMAT;
		adv = json_object_get(lv, "advisoryIDs");
		if (advisories != NULL && json_is_array(adv)) {
			size_t j;
			json_t *a;
			json_array_foreach(adv, j, a) {
				if (!json_is_string(a) ||
				    json_array_size(advisories) >= ATL_DCAP_ADVISORIES_MAX)
					return ATL_E_FORMAT;
				if (json_array_append(advisories, a) != 0)
					return ATL_E_NOMEM;
			}
		}
		return ATL_OK;
	}
	return ATL_E_NOTFOUND;
}

/* ---- collateral field helpers and the QE identity ---- */

static enum atl_err date_field(const json_t *o, const char *k, int64_t *t)
{
	const char *s = json_string_value(json_object_get(o, k));

	*t = 0;
	if (s == NULL)
		return ATL_E_FORMAT;
	return atl_time_parse_rfc3339(s, t);
}

/* issueDate <= now < nextUpdate */
const char *atl_dcap_window(const json_t *o, int64_t now)
{
	int64_t is = 0, nu = 0;

	if (date_field(o, "issueDate", &is) != ATL_OK || date_field(o, "nextUpdate", &nu) != ATL_OK)
		return "issueDate/nextUpdate missing or malformed";
	if (now < is)
		return "issue date is in the future";
	if (now >= nu)
		return "expired (past nextUpdate)";
	return NULL;
}

bool atl_dcap_hex_eq(const json_t *s, const uint8_t *b, size_t n)
{
	const char *h = json_string_value(s);
	uint8_t tmp[64];

	if (h == NULL || n > sizeof(tmp) || strlen(h) != 2 * n)
		return false;
	if (atl_hex_decode_exact(h, 2 * n, tmp, n) != ATL_OK)
		return false;
	return memcmp(tmp, b, n) == 0;
}

bool atl_dcap_masked_eq(const json_t *val, const json_t *mask, const uint8_t *b, size_t n)
{
	const char *hv = json_string_value(val), *hm = json_string_value(mask);
	uint8_t v[16], m[16];

	if (hv == NULL || hm == NULL || n > 16 || strlen(hv) != 2 * n || strlen(hm) != 2 * n)
		return false;
	if (atl_hex_decode_exact(hv, 2 * n, v, n) != ATL_OK ||
	    atl_hex_decode_exact(hm, 2 * n, m, n) != ATL_OK)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((b[i] & m[i]) != v[i])
			return false;
	}
	return true;
}

/* ---- QE identity ---- */

enum atl_err atl_dcap_qe_identity_check(const json_t *qi, const struct atl_dcap_sgx_report *qe,
					const char *want_id, int64_t now,
					enum atl_dcap_status *st, json_t *adv, char *why,
					size_t cap)
{
	const char *w;
	const json_t *lv, *ver = json_object_get(qi, "version");
	size_t j;
	json_t *l;
	uint8_t misc[4];

	*st = ATL_DCAP_STATUS_UNKNOWN;
	if (!json_is_string(json_object_get(qi, "id")) ||
	    strcmp(json_string_value(json_object_get(qi, "id")), want_id) != 0) {
		(void)snprintf(why, cap, "identity id is not %s", want_id);
		return ATL_E_POLICY;
	}
	if (!json_is_integer(ver) || json_integer_value(ver) < 2) {
		(void)snprintf(why, cap, "identity version unsupported");
		return ATL_E_UNSUPPORTED;
	}
	w = atl_dcap_window(qi, now);
	if (w != NULL) {
		(void)snprintf(why, cap, "QE identity %s", w);
		return ATL_E_EXPIRED;
	}
	for (size_t b = 0; b < 4; b++)
		misc[b] = (uint8_t)(qe->miscselect >> (8 * (3 - b))); /* hex is big-endian text */
	{
		/* miscselect is hex of the u32 value */
		const char *mh = json_string_value(json_object_get(qi, "miscselect"));
		const char *mm = json_string_value(json_object_get(qi, "miscselectMask"));
		uint8_t mv[4], mk[4];
		bool ok = mh != NULL && mm != NULL && strlen(mh) == 8 && strlen(mm) == 8 &&
			  atl_hex_decode_exact(mh, 8, mv, 4) == ATL_OK &&
			  atl_hex_decode_exact(mm, 8, mk, 4) == ATL_OK;
		for (size_t b = 0; ok && b < 4; b++)
			ok = (misc[b] & mk[b]) == mv[b];
		if (!ok) {
			(void)snprintf(why, cap, "QE MISCSELECT does not match the identity");
			return ATL_E_POLICY;
		}
	}
	if (!atl_dcap_masked_eq(json_object_get(qi, "attributes"), json_object_get(qi, "attributesMask"),
		       qe->attributes, 16)) {
		(void)snprintf(why, cap, "QE ATTRIBUTES do not match the identity");
		return ATL_E_POLICY;
	}
	if (!atl_dcap_hex_eq(json_object_get(qi, "mrsigner"), qe->mrsigner, 32)) {
		(void)snprintf(why, cap, "QE MRSIGNER does not match the identity");
		return ATL_E_POLICY;
	}
	if (!json_is_integer(json_object_get(qi, "isvprodid")) ||
	    json_integer_value(json_object_get(qi, "isvprodid")) != qe->isvprodid) {
		(void)snprintf(why, cap, "QE ISVPRODID does not match the identity");
		return ATL_E_POLICY;
	}
	lv = json_object_get(qi, "tcbLevels");
	if (!json_is_array(lv) || json_array_size(lv) > ATL_DCAP_TCB_LEVELS_MAX) {
		(void)snprintf(why, cap, "identity tcbLevels malformed");
		return ATL_E_FORMAT;
	}
	json_array_foreach((json_t *)lv, j, l) {
		const json_t *svn = json_object_get(json_object_get(l, "tcb"), "isvsvn");
		const json_t *a = json_object_get(l, "advisoryIDs");
		if (!json_is_integer(svn)) {
			(void)snprintf(why, cap, "identity tcbLevels malformed");
			return ATL_E_FORMAT;
		}
		if (json_integer_value(svn) > qe->isvsvn)
			continue;
		if (atl_dcap_status_parse(json_string_value(json_object_get(l, "tcbStatus")), st) != ATL_OK) {
			(void)snprintf(why, cap, "identity has an unknown TCB status");
			return ATL_E_FORMAT;
		}
		if (json_is_array(a))
			(void)json_array_extend(adv, (json_t *)a);
		(void)snprintf(why, cap, "%s ISVSVN %u matches level %lld: %s", want_id, qe->isvsvn,
			       (long long)json_integer_value(svn), atl_dcap_status_name(*st));
		return ATL_OK;
	}
	*st = ATL_DCAP_OUT_OF_DATE;
	(void)snprintf(why, cap, "QE ISVSVN %u below every identity level: OutOfDate", qe->isvsvn);
	return ATL_OK;
}

