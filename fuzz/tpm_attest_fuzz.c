/* Fuzz target: the tpm backend's parsers of untrusted bytes. The first byte
 * picks the parser: TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC, the TCG event
 * log, or the whole verifier (protobuf / JSON evidence) with no policy.
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "atoll/attest.h"
#include "atoll/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_tpm_attest at;
	struct atl_tpm_sig sig;
	struct atl_tpm_public pub;
	struct atl_tpm_evlog_result res;
	struct atl_tpm_pcrs *pcrs;
	struct atl_verify_in in = {.now = 1767225600};
	struct atl_ar *ar;
	enum atl_err rc = ATL_OK;

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		rc = atl_tpm_attest_parse(data + 1, size - 1, &at);
		break;
	case 1:
		rc = atl_tpm_sig_parse(data + 1, size - 1, &sig);
		break;
	case 2:
		if (atl_tpm_public_parse(data + 1, size - 1, &pub) == ATL_OK)
			atl_tpm_public_clear(&pub);
		break;
	case 3:
		pcrs = malloc(sizeof(*pcrs));
		if (pcrs != NULL)
			rc = atl_tpm_evlog_replay(data + 1, size - 1, ATL_TPM_ALG_SHA256, pcrs,
						  &res);
		free(pcrs);
		break;
	default:
		ar = atl_ar_new("tpm");
		if (ar != NULL)
			rc = atl_tpm_verify(data + 1, size - 1, &in, NULL, 0, ar);
		atl_ar_free(ar);
		break;
	}
	(void)rc;
	return 0;
}
