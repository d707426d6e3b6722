/* Evidence generation on a TPM through tpm2-tss ESAPI (placeholder until the
 * ESAPI slice lands). */
#define ATL_LOG_MODULE "tpm"
#include "atoll/tpm.h"

enum atl_err atl_tpm_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
			      uint8_t **ev_out, size_t *ev_len_out)
{
	(void)cfg;
	(void)report_data;
	*ev_out = NULL;
	*ev_len_out = 0;
	return ATL_E_UNSUPPORTED;
}
