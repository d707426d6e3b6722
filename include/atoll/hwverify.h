/* Verification of native hardware evidence (an SEV-SNP report, a DCAP quote)
 * as the vendor tools hand it out, without Atoll's evidence wrapper: the
 * entry point of `atoll verify --tee sev-snp|tdx|sgx --evidence FILE
 * [--collateral FILE]... [--anchor PEM] [--nonce HEX] [--policy FILE]
 * [--time RFC3339]` (issue "Hardware attestation verifiers").
 *
 * Checks, each recorded in the result with a reason:
 *   backend      a backend for tee is compiled in
 *   tee_type     (with a policy) the policy lists tee
 *   <backend>    the backend's checks (docs/attestation.md)
 *   measurement  (with a policy listing measurements for tee) the measurement
 *                is listed; otherwise any measurement passes
 *   nonce        (with expected_nonce) report_data equals the nonce padded
 *                with zero bytes to 64 bytes
 * Without a policy: authentic, not debug, TCB up to date where collateral
 * allows judging it, any measurement (the backends' defaults). */
#ifndef ATOLL_HWVERIFY_H
#define ATOLL_HWVERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"

/* Verifies ev (raw, hex or base64 text) for TEE kind tee at time now.
 * policy: validated policy or NULL; expected_nonce: NULL or 1..64 bytes;
 * anchors / collateral: NULL-terminated file paths or NULL. *ar_out always
 * receives a result (unless ATL_E_NOMEM); free it with atl_ar_free.
 * Returns ATL_OK when the status is affirming or warning, ATL_E_UNSUPPORTED
 * for an unknown TEE kind, ATL_E_FORMAT for unparseable evidence, ATL_E_ARG
 * for a bad nonce length, ATL_E_POLICY when a check failed. */
ATL_NODISCARD enum atl_err atl_verify_native(const char *tee, const uint8_t *ev, size_t ev_len,
					     const json_t *policy, const uint8_t *expected_nonce,
					     size_t expected_nonce_len, int64_t now,
					     const char *const *anchors,
					     const char *const *collateral, struct atl_ar **ar_out);

#endif
