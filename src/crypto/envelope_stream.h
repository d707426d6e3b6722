/* Private to src/crypto/: AES-256-GCM straight into and out of base64 text,
 * in chunks (envelope.c).
 *
 * Why: an envelope's or result's ciphertext exists only as base64 text. Going
 * through a full-size binary ciphertext costs a buffer the size of the
 * payload and two extra passes over memory that no longer fits the cache at
 * 1 MiB. GCM is a stream mode, so each chunk is encrypted into a small
 * scratch buffer and encoded while it is still in cache; opening decodes a
 * chunk into the caller's secret buffer and decrypts it in place. The bytes
 * produced and accepted are exactly those of atl_aead_seal / atl_aead_open
 * (ciphertext || 16-byte tag) followed or preceded by strict base64. */
#ifndef ATOLL_CRYPTO_ENVELOPE_STREAM_H
#define ATOLL_CRYPTO_ENVELOPE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_ENVSTREAM_KEY_LEN 32
#define ATL_ENVSTREAM_NONCE_LEN 12
#define ATL_ENVSTREAM_TAG_LEN 16

/* Seals pt[0..pt_len) with AES-256-GCM (key, nonce, aad) and writes the
 * padded standard base64 of ciphertext || tag to out, which has room for
 * exactly atl_envtext_b64_len(pt_len + 16) characters (no NUL written).
 * Errors: ATL_E_ARG, ATL_E_NOMEM, ATL_E_CRYPTO (out then holds garbage; it is
 * not secret). */
ATL_NODISCARD enum atl_err atl_envstream_seal_b64(const uint8_t key[ATL_ENVSTREAM_KEY_LEN],
						  const uint8_t nonce[ATL_ENVSTREAM_NONCE_LEN],
						  const uint8_t *aad, size_t aad_len,
						  const uint8_t *pt, size_t pt_len, char *out);

/* Strictly decodes text[0..text_len) (the base64 of ciphertext || tag) into
 * out, decrypting with AES-256-GCM (key, nonce, aad) as it goes; out_cap must
 * be at least the decoded size (atl_envtext_b64_decoded_len), which must be
 * >= 16. On success out[0..*pt_len_out) is the plaintext (the 16 bytes after
 * it held the tag). On any error out[0..out_cap) is wiped and *pt_len_out is
 * 0. Errors: ATL_E_FORMAT (bad base64: checked over the whole text before
 * the tag, so a malformed text is FORMAT whatever the key), ATL_E_AUTH (tag),
 * ATL_E_ARG, ATL_E_NOMEM, ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_envstream_open_b64(const uint8_t key[ATL_ENVSTREAM_KEY_LEN],
						  const uint8_t nonce[ATL_ENVSTREAM_NONCE_LEN],
						  const uint8_t *aad, size_t aad_len,
						  const char *text, size_t text_len, uint8_t *out,
						  size_t out_cap, size_t *pt_len_out);

/* Checks that text[0..text_len) is strict base64, without keeping the bytes.
 * ATL_E_FORMAT if not. */
ATL_NODISCARD enum atl_err atl_envstream_check_b64(const char *text, size_t text_len);

#endif
