/* Fuzz target: AWS Nitro attestation documents (src/attest/nitro.c): COSE,
 * the payload map, X.509 parsing of the leaf and cabundle, chain building.
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "attest/nitro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_nitro_opts o = {.now = 1766668537, .max_age_s = 3600};
	struct atl_ar *ar = atl_ar_new("nitro");

	if (ar == NULL)
		return 0;
	if (atl_nitro_verify_doc(data, size, &o, ar) == ATL_OK &&
	    atl_ar_status(ar) == ATL_AR_AFFIRMING && size < 16)
		__builtin_trap(); /* nothing that small can be authentic */
	atl_ar_free(ar);
	return 0;
}
