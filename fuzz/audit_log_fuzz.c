/* Fuzz target: the audit log verifier (src/kbs/audit.c), chain only (no
 * public key: the head lines are parsed and matched to the chain, their
 * signatures base64-decoded but not verified; the unit tests cover the
 * signature check). The corpus holds logs written by atl_audit_* (records,
 * heads, escapes) and broken variants.
 * Invariants: success reports no bad seq and counts consistent with
 * last_seq; failure names a bad seq >= 1 and a reason.
 * atl-fuzz-deps: atoll_kbs */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "atoll/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_audit_report rep;

	if (atl_audit_verify_mem(data, size, NULL, &rep) == ATL_OK) {
		if (rep.bad_seq != 0 || rep.n_records != rep.last_seq ||
		    rep.last_signed_seq > rep.last_seq)
			abort();
	} else if (rep.bad_seq == 0 || rep.reason[0] == 0) {
		abort();
	}
	return 0;
}
