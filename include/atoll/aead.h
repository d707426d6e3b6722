/* One-shot AEAD: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 (OpenSSL EVP
 * underneath, in src/crypto/ only).
 *
 * Output layout is ct || tag (16 bytes). The algorithm numbers are the HPKE
 * AEAD identifiers of RFC 9180 §7.3 so HPKE suites can use them directly.
 * Wrong key or nonce lengths are ATL_E_ARG. Opening releases plaintext only
 * after the tag verified: on ATL_E_AUTH the whole output buffer is wiped. */
#ifndef ATOLL_AEAD_H
#define ATOLL_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

enum atl_aead {
	ATL_AEAD_AES128_GCM = 0x0001,
	ATL_AEAD_AES256_GCM = 0x0002,
	ATL_AEAD_CHACHA20_POLY1305 = 0x0003,
};

#define ATL_AEAD_NONCE_LEN 12
#define ATL_AEAD_TAG_LEN 16
#define ATL_AEAD_KEY_MAX_LEN 32

/* Key length in bytes (16 or 32), 0 for an unknown algorithm. */
size_t atl_aead_key_len(enum atl_aead alg);

/* Encrypts pt[0..pt_len) and writes ct || tag (pt_len + ATL_AEAD_TAG_LEN bytes)
 * to out (capacity out_cap); *out_len_out gets the length. out may equal pt
 * (in place) but must not otherwise overlap it. aad may be NULL when aad_len
 * is 0, pt may be NULL when pt_len is 0.
 * Errors: ATL_E_ARG (unknown alg, key_len/nonce_len wrong, out_cap too
 * small), ATL_E_CRYPTO (OpenSSL failed; out is wiped). */
ATL_NODISCARD enum atl_err atl_aead_seal(enum atl_aead alg, const uint8_t *key, size_t key_len,
					 const uint8_t *nonce, size_t nonce_len,
					 const uint8_t *aad, size_t aad_len, const uint8_t *pt,
					 size_t pt_len, uint8_t *out, size_t out_cap,
					 size_t *out_len_out);

/* Verifies and decrypts ct || tag (ct_len >= ATL_AEAD_TAG_LEN) into out
 * (capacity out_cap >= ct_len - ATL_AEAD_TAG_LEN); out may equal ct.
 * Errors: ATL_E_ARG (as for seal), ATL_E_TRUNCATED (ct_len < tag length),
 * ATL_E_AUTH (the tag did not verify: out[0..out_cap) is wiped and
 * *out_len_out is 0), ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_aead_open(enum atl_aead alg, const uint8_t *key, size_t key_len,
					 const uint8_t *nonce, size_t nonce_len,
					 const uint8_t *aad, size_t aad_len, const uint8_t *ct,
					 size_t ct_len, uint8_t *out, size_t out_cap,
					 size_t *out_len_out);

#endif
