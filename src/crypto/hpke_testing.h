/* Private to src/crypto/ and its tests: TEST-ONLY HPKE entry points.
 *
 * They exist so the RFC 9180 Appendix A vectors can be reproduced exactly
 * (a deterministic ephemeral key, opening a ciphertext at a given sequence
 * number). Production code must never call them: a fixed ephemeral key or a
 * rewound sequence number reuses nonces. */
#ifndef ATOLL_CRYPTO_HPKE_TESTING_H
#define ATOLL_CRYPTO_HPKE_TESTING_H

#include <stdint.h>

#include "atoll/hpke.h"

/* atl_hpke_setup_sender (kp_s NULL) or atl_hpke_setup_sender_auth (kp_s set)
 * with the ephemeral key pair DeriveKeyPair(ikm_e) instead of a random one
 * (RFC 9180 Appendix A "ikmE"). TEST ONLY. */
ATL_NODISCARD enum atl_err atl_hpke_setup_sender_with_ikm_for_testing(
	struct atl_hpke_suite suite, const uint8_t *pk_r, size_t pk_r_len, const struct atl_kp *kp_s,
	const uint8_t *ikm_e, size_t ikm_e_len, const uint8_t *info, size_t info_len,
	const struct atl_hpke_psk *psk, uint8_t enc_out[ATL_HPKE_ENC_LEN],
	struct atl_hpke_ctx **ctx_out);

/* Positions the context's sequence number. TEST ONLY. */
void atl_hpke_ctx_set_seq_for_testing(struct atl_hpke_ctx *ctx, uint64_t seq);

#endif
