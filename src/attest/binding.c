/* The evidence binding of DESIGN §4. */
#include <string.h>

#include "atoll/attest.h"
#include "atoll/digest.h"

enum atl_err atl_attest_binding(const uint8_t *enclave_pub, size_t pub_len, const uint8_t *nonce,
				size_t nonce_len, uint8_t report_data_out[ATL_REPORT_DATA_LEN])
{
	struct atl_hash_ctx *h = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(report_data_out, 0, ATL_REPORT_DATA_LEN);
	ATL_TRY(atl_hash_new(ATL_HASH_SHA512, &h));
	ATL_TRY(atl_hash_update(h, ATL_BINDING_LABEL, strlen(ATL_BINDING_LABEL)));
	ATL_TRY(atl_hash_update(h, enclave_pub, pub_len));
	ATL_TRY(atl_hash_update(h, nonce, nonce_len));
	ATL_TRY(atl_hash_final(h, report_data_out));
	rc = ATL_OK;
out:
	atl_hash_free(h);
	return rc;
}
