/* Fuzz target: strict CBOR (atl_cbor_item_len, atl_cbor_decode) and
 * COSE_Sign1 decoding and verification (src/attest/cbor.c, cose.c), plus the
 * PSA/CCA token decoders on the same bytes.
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>

#include "atoll/sig.h"
#include "attest/cbor.h"
#include "attest/cose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* TF-M development IAK (P-256), public: any key will do for a fuzzer. */
static const char iak_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeeupDov0UKZ1FXatRZmwet+TjaO7\n"
	"C9F9ADbtSaLQ/D+/zfqJVrVov9uGc+ZI2LWNkplVsUomwwgPNBF9lx1oZA==\n"
	"-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atl_pubkey *pk;
	struct atl_cose_sign1 s;
	cbor_item_t *it = NULL;
	size_t n;

	if (pk == NULL && atl_pubkey_parse((const uint8_t *)iak_pem, sizeof(iak_pem) - 1, &pk) != ATL_OK)
		return 0;
	if (atl_cbor_item_len(data, size, &n) == ATL_OK && n > size)
		__builtin_trap();
	if (atl_cbor_decode(data, size, &it) == ATL_OK)
		atl_cbor_free(it);
	if (atl_cose_sign1_parse(data, size, &s) == ATL_OK) {
		if (atl_cose_sign1_verify(&s, pk) == ATL_OK && s.sig_len == 0)
			__builtin_trap();
		atl_cose_sign1_free(&s);
	}
	return 0;
}
