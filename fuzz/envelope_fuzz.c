/* Fuzz target: sealed envelope and result parsing/opening (src/crypto/envelope.c).
 *
 * The input is tried as an envelope (inspect, then open with a fixed key
 * pair, no replay cache) and as a sealed result (open with a fixed DEK, job
 * id "job-1", workload id "wl-fuzz"). The corpus holds envelopes sealed to
 * the fixed key and a result sealed under the fixed DEK, so the fuzzer starts
 * from inputs that reach the AEAD, plus broken variants.
 * atl-fuzz-deps: atoll_crypto */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/envelope.h"
#include "atoll/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Private key 0x01 0x02 … 0x20; DEK 0x42 × 32. */
static void fixed_key(uint8_t priv[ATL_X25519_LEN])
{
	for (size_t i = 0; i < ATL_X25519_LEN; i++)
		priv[i] = (uint8_t)(i + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atl_kp kp;
	static int have_kp;
	uint8_t priv[ATL_X25519_LEN], dek_fixed[ATL_ENV_DEK_LEN];
	struct atl_env_info info, seen;
	enum atl_err inspected;
	uint8_t *pt = NULL, *dek = NULL;
	size_t pt_len = 0;
	const char *json = (const char *)data;

	if (!have_kp) {
		fixed_key(priv);
		if (atl_kp_from_private(priv, &kp) != ATL_OK)
			abort();
		have_kp = 1;
	}
	inspected = atl_env_inspect(json, size, &seen);
	if (inspected == ATL_OK &&
	    (seen.n_recipients == 0 || seen.n_recipients > ATL_ENV_RECIPIENTS_MAX))
		abort();
	if (atl_env_open(json, size, &kp, 0, NULL, &pt, &pt_len, &dek, &info) == ATL_OK) {
		/* Success must come with consistent outputs, and what opens must
		 * also inspect to the same header. */
		if (pt == NULL || dek == NULL || info.n_recipients == 0 ||
		    info.opened_by >= info.n_recipients || atl_secret_size(dek) != ATL_ENV_DEK_LEN ||
		    inspected != ATL_OK || memcmp(seen.digest, info.digest, 32) != 0)
			abort();
		atl_secret_free(pt);
		atl_secret_free(dek);
	} else if (pt != NULL || dek != NULL || pt_len != 0) {
		abort(); /* no plaintext on failure */
	}
	pt = NULL;
	pt_len = 0;
	memset(dek_fixed, 0x42, sizeof(dek_fixed));
	if (atl_env_result_open(dek_fixed, "job-1", "wl-fuzz", json, size, &pt, &pt_len) ==
	    ATL_OK) {
		if (pt == NULL)
			abort();
		atl_secret_free(pt);
	} else if (pt != NULL || pt_len != 0) {
		abort();
	}
	return 0;
}
