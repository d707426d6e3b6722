/* The "tdx" backend: Intel TDX DCAP quotes v4 and v5 (TD 1.0 and TD 1.5
 * bodies). The shared DCAP flow is in dcap_verify.c; this file adds the TD
 * claims and the TD attribute checks (dcap-qvl validate_attrs):
 *   tdx.debug            no TUD bit (DEBUG) unless the policy allows debug
 *   tdx.attributes       no reserved attribute bit
 *   tdx.sept_ve_disable  SEPT_VE_DISABLE (bit 28) set, unless
 *                        min_tcb.tdx.allow_sept_ve is true
 *   tdx.service_td       (TD 1.5) MR_SERVICETD zero unless
 *                        min_tcb.tdx.allow_service_td is true
 * Policy min_tcb.tdx: accept_status, require_crl, require_collateral (see
 * dcap_verify.c), allow_sept_ve, allow_service_td. */
#define ATL_LOG_MODULE "tdx"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atoll/attest.h"
#include "atoll/dcap.h"
#include "atoll/encoding.h"
#include "atoll/policy.h"
#include "attest/backends.h"
#include "attest/dcap.h"
#include "attest/hwcommon.h"

static bool pol_true(const json_t *o, const char *k)
{
	return o != NULL && json_is_true(json_object_get(o, k));
}

static bool zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static enum atl_err tdx_claims(const struct atl_dcap_quote *q, const json_t *pol,
			       const struct atl_verify_in *in, struct atl_ar *ar)
{
	const struct atl_dcap_td_report *t = &q->td;
	uint64_t a = t->td_attributes;
	bool dbg = (a & ATL_TD_ATTR_DEBUG) != 0;
	bool allow_dbg = atl_policy_allow_debug(in->policy);
	char hex[17];
	enum atl_err rc = ATL_E_INTERNAL;
	json_t *rtmrs = NULL;

	ATL_TRY(atl_ar_set_hex(ar, "measurement", t->mrtd, 48));
	ATL_TRY(atl_ar_set_hex(ar, "report_data", t->report_data, 64));
	ATL_TRY(atl_ar_set_bool(ar, "debug", dbg));
	ATL_TRY(atl_ar_set_hex(ar, "mrseam", t->mrseam, 48));
	ATL_TRY(atl_ar_set_hex(ar, "mrsignerseam", t->mrsignerseam, 48));
	ATL_TRY(atl_ar_set_hex(ar, "mrconfigid", t->mrconfigid, 48));
	ATL_TRY(atl_ar_set_hex(ar, "mrowner", t->mrowner, 48));
	ATL_TRY(atl_ar_set_hex(ar, "mrownerconfig", t->mrownerconfig, 48));
	ATL_TRY(atl_ar_set_hex(ar, "tee_tcb_svn", t->tee_tcb_svn, 16));
	(void)snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)a);
	ATL_TRY(atl_ar_set_str(ar, "td_attributes", hex));
	(void)snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)t->xfam);
	ATL_TRY(atl_ar_set_str(ar, "xfam", hex));
	rtmrs = json_array();
	if (rtmrs == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < 4; i++) {
		char h[97];
		ATL_TRY(atl_hex_encode(t->rtmr[i], 48, h, sizeof(h)));
		if (json_array_append_new(rtmrs, json_string(h)) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	ATL_TRY(atl_ar_set_json(ar, "rtmrs", rtmrs));
	rtmrs = NULL;
	if (t->td15) {
		ATL_TRY(atl_ar_set_hex(ar, "mr_servicetd", t->mr_servicetd, 48));
		ATL_TRY(atl_ar_set_hex(ar, "tee_tcb_svn_2", t->tee_tcb_svn2, 16));
	}

	ATL_TRY(atl_ar_check(ar, "tdx.debug", !dbg || allow_dbg, "TD %s%s",
			     dbg ? "is a DEBUG TD" : "is not debuggable",
			     dbg && !allow_dbg ? " (not allowed by policy)" : ""));
	ATL_TRY(atl_ar_check(ar, "tdx.attributes", (a & ATL_TD_ATTR_RESERVED) == 0,
			     "reserved TD attribute bits %s", (a & ATL_TD_ATTR_RESERVED) == 0 ? "clear" : "SET"));
	{
		bool sept = (a & ATL_TD_ATTR_SEPT_VE_DISABLE) != 0;
		ATL_TRY(atl_ar_check(ar, "tdx.sept_ve_disable", sept || pol_true(pol, "allow_sept_ve"),
				     "SEPT_VE_DISABLE %s", sept ? "set" : "CLEAR"));
	}
	if (t->td15) {
		bool z = zero(t->mr_servicetd, 48);
		ATL_TRY(atl_ar_check(ar, "tdx.service_td", z || pol_true(pol, "allow_service_td"),
				     "MR_SERVICETD %s", z ? "zero" : "NON-ZERO (a service TD is bound)"));
	}
	rc = ATL_OK;
out:
	json_decref(rtmrs);
	return rc;
}

static const char *const tdx_keys[] = {"allow_sept_ve", "allow_service_td", NULL};

static const struct atl_dcap_kind tdx_kind = {
	.tee = "tdx",
	.tee_type = ATL_DCAP_TEE_TDX,
	.tcb_id = "TDX",
	.tcb_version_min = 3,
	.qe_id = "TD_QE",
	.policy_keys = tdx_keys,
	.claims = tdx_claims,
};

static enum atl_err tdx_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar)
{
	return atl_dcap_verify(&tdx_kind, ev, ev_len, in, ar);
}

static bool tdx_detect(void)
{
	return access("/dev/tdx_guest", F_OK) == 0;
}

static enum atl_err tdx_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
				 uint8_t **ev_out, size_t *ev_len_out)
{
	(void)cfg;
	return atl_hw_tsm_report("tdx_guest", report_data, false, ev_out, ev_len_out);
}

const struct atl_tee_ops atl_tee_tdx = {
	.name = "tdx",
	.detect = tdx_detect,
	.evidence = tdx_evidence,
	.verify = tdx_verify,
};
