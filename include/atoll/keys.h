/* X25519 key pairs for HPKE (client keys ck_…, enclave keys ek_…), DESIGN §3.
 * The private half lives in secret memory and is wiped by atl_kp_clear. */
#ifndef ATOLL_KEYS_H
#define ATOLL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_X25519_LEN 32
/* "ek_" / "ck_" + 32 hex digits (first 16 bytes of SHA-256(pub)) + NUL */
#define ATL_KEY_ID_LEN (3 + 32 + 1)

struct atl_kp {
	uint8_t pub[ATL_X25519_LEN];
	uint8_t *priv; /* ATL_X25519_LEN bytes of secret memory, NULL when empty */
};

/* Fresh random key pair. */
ATL_NODISCARD enum atl_err atl_kp_generate(struct atl_kp *kp_out);
/* Key pair from a private key (public key derived). */
ATL_NODISCARD enum atl_err atl_kp_from_private(const uint8_t priv[ATL_X25519_LEN],
					       struct atl_kp *kp_out);
/* Wipes and frees the private key; NULL-safe, idempotent. */
void atl_kp_clear(struct atl_kp *kp);
/* kid = prefix + hex(SHA-256(pub)[0..16)); prefix is "ek_" or "ck_". */
ATL_NODISCARD enum atl_err atl_key_id(const char *prefix, const uint8_t pub[ATL_X25519_LEN],
				      char out[ATL_KEY_ID_LEN]);

#endif
