/* The "sgx" backend: Intel SGX DCAP quotes v3. The shared DCAP flow is in
 * dcap_verify.c; this file adds the enclave claims (MRENCLAVE as the
 * measurement, MRSIGNER, ISVPRODID, ISVSVN) and the enclave checks:
 *   sgx.debug      ATTRIBUTES.DEBUG clear unless the policy allows debug
 *   sgx.isvsvn     ISVSVN >= min_tcb.sgx.isvsvn (when set)
 *   sgx.isvprodid  ISVPRODID == min_tcb.sgx.isvprodid (when set)
 *   sgx.mrsigner   MRSIGNER == min_tcb.sgx.mrsigner (hex, when set)
 * Evidence: Gramine's /dev/attestation/quote when present (write the report
 * data to /dev/attestation/user_report_data first). */
#define ATL_LOG_MODULE "sgx"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoll/attest.h"
#include "atoll/dcap.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "attest/backends.h"
#include "attest/dcap.h"

#define SGX_ATTR_DEBUG 0x02u /* ATTRIBUTES byte 0 bit 1 (SDM Vol. 3D "SECS") */

static enum atl_err sgx_claims(const struct atl_dcap_quote *q, const json_t *pol,
			       const struct atl_verify_in *in, struct atl_ar *ar)
{
	const struct atl_dcap_sgx_report *s = &q->sgx;
	bool dbg = (s->attributes[0] & SGX_ATTR_DEBUG) != 0;
	bool allow_dbg = atl_policy_allow_debug(in->policy);
	const json_t *v;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_ar_set_hex(ar, "measurement", s->mrenclave, 32));
	ATL_TRY(atl_ar_set_hex(ar, "mrsigner", s->mrsigner, 32));
	ATL_TRY(atl_ar_set_hex(ar, "report_data", s->report_data, 64));
	ATL_TRY(atl_ar_set_bool(ar, "debug", dbg));
	ATL_TRY(atl_ar_set_int(ar, "isvprodid", s->isvprodid));
	ATL_TRY(atl_ar_set_int(ar, "isvsvn", s->isvsvn));
	ATL_TRY(atl_ar_set_hex(ar, "attributes", s->attributes, 16));
	ATL_TRY(atl_ar_set_hex(ar, "cpusvn", s->cpusvn, 16));
	ATL_TRY(atl_ar_check(ar, "sgx.debug", !dbg || allow_dbg, "enclave %s%s",
			     dbg ? "has ATTRIBUTES.DEBUG set" : "is not debuggable",
			     dbg && !allow_dbg ? " (not allowed by policy)" : ""));
	v = pol == NULL ? NULL : json_object_get(pol, "isvsvn");
	if (json_is_integer(v))
		ATL_TRY(atl_ar_check(ar, "sgx.isvsvn", s->isvsvn >= json_integer_value(v),
				     "ISVSVN %u, minimum %lld", s->isvsvn, (long long)json_integer_value(v)));
	v = pol == NULL ? NULL : json_object_get(pol, "isvprodid");
	if (json_is_integer(v))
		ATL_TRY(atl_ar_check(ar, "sgx.isvprodid", s->isvprodid == json_integer_value(v),
				     "ISVPRODID %u, required %lld", s->isvprodid,
				     (long long)json_integer_value(v)));
	v = pol == NULL ? NULL : json_object_get(pol, "mrsigner");
	if (v != NULL) {
		uint8_t want[32];
		const char *h = json_string_value(v);
		bool ok = h != NULL && strlen(h) == 64 &&
			  atl_hex_decode_exact(h, 64, want, 32) == ATL_OK &&
			  memcmp(want, s->mrsigner, 32) == 0;
		ATL_TRY(atl_ar_check(ar, "sgx.mrsigner", ok, "MRSIGNER %s the policy's",
				     ok ? "equals" : "DIFFERS FROM"));
	}
	rc = ATL_OK;
out:
	return rc;
}

static const char *const sgx_keys[] = {"isvsvn", "isvprodid", "mrsigner", NULL};

static const struct atl_dcap_kind sgx_kind = {
	.tee = "sgx",
	.tee_type = ATL_DCAP_TEE_SGX,
	.tcb_id = "SGX",
	.tcb_version_min = 2,
	.qe_id = "QE",
	.policy_keys = sgx_keys,
	.claims = sgx_claims,
};

static enum atl_err sgx_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar)
{
	return atl_dcap_verify(&sgx_kind, ev, ev_len, in, ar);
}

#define GRAMINE_RD "/dev/attestation/user_report_data"
#define GRAMINE_QUOTE "/dev/attestation/quote"

static bool sgx_detect(void)
{
	return access(GRAMINE_QUOTE, F_OK) == 0;
}

static enum atl_err sgx_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
				 uint8_t **ev_out, size_t *ev_len_out)
{
	int fd;
	ssize_t w;

	(void)cfg;
	*ev_out = NULL;
	*ev_len_out = 0;
	if (!sgx_detect())
		return ATL_E_UNSUPPORTED;
	fd = open(GRAMINE_RD, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ATL_E_IO;
	w = write(fd, report_data, ATL_REPORT_DATA_LEN);
	(void)close(fd);
	if (w != (ssize_t)ATL_REPORT_DATA_LEN)
		return ATL_E_IO;
	return atl_file_read(GRAMINE_QUOTE, ATL_ATTEST_EVIDENCE_MAX, ev_out, ev_len_out);
}

const struct atl_tee_ops atl_tee_sgx = {
	.name = "sgx",
	.detect = sgx_detect,
	.evidence = sgx_evidence,
	.verify = sgx_verify,
};
