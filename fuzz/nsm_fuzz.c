/* Fuzz target: NSM responses (src/attest/nitro_nsm.c, atl_nitro_nsm_response):
 * what /dev/nsm hands back is parsed like any untrusted input. Invariants: a
 * document comes back only on ATL_OK, within the limits and shorter than
 * the input; errors leave nothing behind. The request encoder
 * runs on slices of the input too (its output must decode as strict CBOR).
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "atoll/limits.h"
#include "attest/cbor.h"
#include "attest/nitro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *doc = NULL, *req = NULL;
	size_t doc_len = 0, req_len = 0;
	char why[160];
	enum atl_err rc = atl_nitro_nsm_response(data, size, &doc, &doc_len, why, sizeof(why));
	cbor_item_t *it = NULL;

	if (rc == ATL_OK) {
		if (doc == NULL || doc_len == 0 || doc_len > ATL_NITRO_DOC_MAX || doc_len >= size)
			__builtin_trap();
	} else if (doc != NULL || doc_len != 0) {
		__builtin_trap();
	}
	free(doc);
	/* the encoder over three slices of the input (first byte: split points) */
	if (size > 0) {
		size_t a = data[0] % (size < 64 ? size : 64), b = (size - a) / 2;

		if (atl_nitro_nsm_request(data, a, size > 1 && (data[1] & 1) ? NULL : data + a, b,
					  data + a + b, size - a - b, &req, &req_len) == ATL_OK) {
			if (atl_cbor_decode(req, req_len, &it) != ATL_OK || req_len > ATL_NSM_REQUEST_SIZE)
				__builtin_trap();
			atl_cbor_free(it);
		}
		free(req);
	}
	return 0;
}
