/* Fuzz target: the enclave-side DEK path of the key broker (src/kbs/dek.c).
 *
 * The input is an .atm image. Its DEK is unwrapped with the fixed KEK
 * (0xa5 x 32, the KEK of the corpus, copied from fuzz/corpus/model_crypt/),
 * then the image is decrypted with that DEK alone (atl_kbs_dek_decrypt_mem)
 * and, differentially, with the KEK (atl_model_decrypt_mem of model_crypt.c).
 * Invariants: both agree on success and on the plaintext; failure leaves no
 * plaintext; a fixed wrong DEK never opens anything.
 * atl-fuzz-deps: atoll_kbs atoll_attest */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/kbs.h"
#include "atoll/model_crypt.h"
#include "atoll/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t kek[ATL_ATM_KEK_LEN], dek[ATL_ATM_DEK_LEN], wrong[ATL_ATM_DEK_LEN];
	struct atl_model_info info;
	uint8_t *pt = NULL, *pt2 = NULL;
	size_t len = 0, len2 = 0;
	enum atl_err e, e2;

	memset(kek, 0xa5, sizeof(kek));
	memset(wrong, 0x5a, sizeof(wrong));
	e = atl_kbs_dek_decrypt_mem(data, size, wrong, NULL, &pt, &len);
	if (e == ATL_OK || pt != NULL || len != 0)
		abort();
	if (atl_kbs_dek_unwrap(data, size, kek, dek, &info) != ATL_OK)
		return 0;
	e = atl_kbs_dek_decrypt_mem(data, size, dek, info.model_id, &pt, &len);
	e2 = atl_model_decrypt_mem(data, size, kek, info.model_id, &pt2, &len2);
	if ((e == ATL_OK) != (e2 == ATL_OK))
		abort();
	if (e == ATL_OK) {
		if (pt == NULL || len != info.pt_len || len != len2 ||
		    (len && memcmp(pt, pt2, len) != 0))
			abort();
	} else if (pt != NULL || len != 0) {
		abort();
	}
	atl_secret_free(pt);
	atl_secret_free(pt2);
	atl_wipe(dek, sizeof(dek));
	return 0;
}
