/* Fuzz target: the key broker's TPM-sealed master key file (master.tpm),
 * parsed by atl_tpm_sealed_parse (src/attest/tpm_seal.c) before anything is
 * sent to a TPM. Invariants: on success the three fields lie inside the
 * input, within their limits, and account for every byte; the URI is
 * printable ASCII and NUL-terminated; on failure the output is zeroed.
 * atl-fuzz-deps: atoll_attest */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/limits.h"
#include "atoll/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_tpm_sealed s;
	const uint8_t *end = data + size;
	size_t ulen;

	memset(&s, 0xa5, sizeof(s));
	if (atl_tpm_sealed_parse(data, size, &s) != ATL_OK) {
		if (s.pub != NULL || s.priv != NULL || s.pub_len != 0 || s.priv_len != 0 ||
		    s.uri[0] != '\0')
			abort();
		return 0;
	}
	ulen = strnlen(s.uri, sizeof(s.uri));
	if (ulen > ATL_TPM_SEAL_URI_MAX)
		abort();
	for (size_t i = 0; i < ulen; i++)
		if (s.uri[i] < 0x21 || s.uri[i] > 0x7e)
			abort();
	if (s.pub_len == 0 || s.pub_len > ATL_TPM_PUBLIC_MAX || s.priv_len == 0 ||
	    s.priv_len > ATL_TPM_SEAL_PRIV_MAX)
		abort();
	if (s.pub < data || s.pub + s.pub_len > end || s.priv < data || s.priv + s.priv_len > end)
		abort();
	if (8 + 2 + ulen + 2 + s.pub_len + 2 + s.priv_len != size)
		abort();
	return 0;
}
