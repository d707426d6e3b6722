/* Fuzz target: the SPDM 1.1 measurements parser and the NVIDIA GPU verifier
 * (src/attest/spdm.c, nvgpu.c) with no chain, and the "nvidia-gpu" JSON
 * evidence splitter on the same bytes.
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "attest/nvgpu.h"
#include "attest/spdm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atl_spdm_meas m;
	struct atl_nvgpu_opts o = {.now = 1767225600};
	struct atl_ar *ar;
	uint8_t *rep = NULL;
	size_t rep_len = 0;
	struct atl_x509_list *chain = NULL;

	if (atl_spdm_parse_measurements(data, size, &m) == ATL_OK &&
	    (m.signed_len + ATL_SPDM_SIG_LEN + m.trailing != size || m.n_blocks > ATL_SPDM_BLOCKS_MAX))
		__builtin_trap();
	ar = atl_ar_new("nvidia-gpu");
	if (ar != NULL) {
		if (atl_nvgpu_verify_report(data, size, NULL, &o, ar) == ATL_OK &&
		    atl_ar_status(ar) == ATL_AR_AFFIRMING)
			__builtin_trap(); /* no chain: never affirming */
		atl_ar_free(ar);
	}
	if (atl_nvgpu_evidence_parse(data, size, &rep, &rep_len, &chain) == ATL_OK) {
		free(rep);
		atl_x509_list_free(chain);
	}
	return 0;
}
