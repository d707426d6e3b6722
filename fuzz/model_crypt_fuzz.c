/* Fuzz target: encrypted model files (.atm, src/kbs/model_crypt.c).
 *
 * The input is parsed as a header, then decrypted from memory with a fixed
 * KEK (0xa5 x 32). The corpus holds small models encrypted under that KEK
 * (chunk size 16, so several chunks) and broken variants, so the fuzzer
 * starts from inputs that reach the DEK unwrap and the chunk loop.
 * Invariants: success comes with plaintext of exactly the header's length;
 * failure leaves no plaintext.
 * atl-fuzz-deps: atoll_kbs */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/model_crypt.h"
#include "atoll/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t kek[ATL_ATM_KEK_LEN];
	struct atl_model_info info;
	enum atl_err parsed;
	uint8_t *pt = NULL;
	size_t len = 0;

	memset(kek, 0xa5, sizeof(kek));
	parsed = atl_model_header_parse(data, size, &info);
	if (parsed == ATL_OK &&
	    (info.chunk_size < ATL_ATM_CHUNK_MIN || info.chunk_size > ATL_ATM_CHUNK_MAX ||
	     info.pt_len > ATL_ATM_PLAINTEXT_MAX || info.n_chunks == 0 || info.kek_id[0] == 0))
		abort();
	if (atl_model_decrypt_mem(data, size, kek, NULL, &pt, &len) == ATL_OK) {
		if (pt == NULL || parsed != ATL_OK || len != info.pt_len || size != info.file_len)
			abort();
		atl_secret_free(pt);
	} else if (pt != NULL || len != 0) {
		abort(); /* no plaintext on failure */
	}
	return 0;
}
