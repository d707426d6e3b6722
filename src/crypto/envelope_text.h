/* Private to src/crypto/: text helpers of the sealed envelope (envelope.c).
 *
 * Why by hand: an envelope's ciphertext is a multi-MiB base64 string, and
 * jansson scans strings about 40 times slower than AES-256-GCM encrypts
 * (measured by bench/crypto). So the one big member is located by a small
 * string-aware scan and cut out of the text that jansson parses, and it is
 * decoded by a strict base64 decoder (table-driven; AVX-512 VBMI or AVX2
 * when the CPU has them). Everything else (structure,
 * duplicate keys, types, UTF-8) is still validated by jansson. */
#ifndef ATOLL_CRYPTO_ENVELOPE_TEXT_H
#define ATOLL_CRYPTO_ENVELOPE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

/* JSON text minus the content of the top-level member `key`'s string value.
 * When the member is found exactly once at depth 1, written as a plain
 * string without escapes, *cut_out is a malloc'd copy of the text with that
 * string emptied (its length in *cut_len_out) and [*start_out, *end_out) is
 * the removed content. Otherwise *cut_out is NULL: the caller parses the text
 * as it is (jansson then rejects what is malformed or duplicated). Removing
 * escape-free content keeps the token structure, so the cut text is valid
 * JSON exactly when the original is, up to the removed bytes, which the
 * caller validates as base64. */
ATL_NODISCARD enum atl_err atl_envtext_cut_member(const char *json, size_t len, const char *key,
						  char **cut_out, size_t *cut_len_out,
						  size_t *start_out, size_t *end_out);

/* Strict standard base64 (RFC 4648 §4, padding required, canonical padding
 * bits, no whitespace) of in[0..len) into a new buffer (non-NULL even when
 * empty): from atl_secret_alloc when `secret` (so a ciphertext can be
 * decrypted in place; free with atl_secret_free), else malloc. ATL_E_LIMIT
 * when the decoded size would exceed max (checked before allocating),
 * ATL_E_FORMAT for anything else wrong. */
ATL_NODISCARD enum atl_err atl_envtext_b64_decode(const char *in, size_t len, size_t max,
						  bool secret, uint8_t **out, size_t *out_len);

/* Characters of the padded base64 of n bytes. */
size_t atl_envtext_b64_len(size_t n);
/* Writes the padded standard base64 of in[0..n) (no NUL) to out, which has
 * room for atl_envtext_b64_len(n) characters; returns that count. The
 * encodings of pieces whose lengths are multiples of 3 followed by the
 * encoding of the rest are the encoding of the whole. */
size_t atl_envtext_b64_encode(char *out, const uint8_t *in, size_t n);
/* Decoded size of a base64 text of len characters (len % 4 == 0, else
 * ATL_E_FORMAT), from its length and trailing '=' only: the content is
 * checked by atl_envtext_b64_decode_part. */
ATL_NODISCARD enum atl_err atl_envtext_b64_decoded_len(const char *in, size_t len,
						       size_t *n_out);
/* Strictly decodes in[0..len) (len % 4 == 0) into out (room for len / 4 * 3
 * bytes); padding is accepted only in the final group and only when `last`
 * (so a text can be decoded in pieces of whole groups). *out_len gets the
 * bytes written. ATL_E_FORMAT for any bad character, misplaced padding or
 * non-zero padding bits; out then holds garbage (the caller wipes it when
 * it matters). */
ATL_NODISCARD enum atl_err atl_envtext_b64_decode_part(const char *in, size_t len, bool last,
						       uint8_t *out, size_t *out_len);
/* Test hook: the vector code used is at most max_level (0 scalar only,
 * 1 AVX2, 2 AVX-512 VBMI; the default is 2). Returns the level this CPU
 * has. Not thread-safe. */
int atl_envtext_b64_simd_for_testing(int max_level);

/* Two-pass JSON text writer: with buf NULL it only measures; then allocate
 * pos + 1 bytes and run the same emitter again with buf set and cap = pos. */
struct atl_envtext_out {
	char *buf;
	size_t pos, cap;
	bool overflow;
};

void atl_envtext_put(struct atl_envtext_out *o, const char *s, size_t n);
void atl_envtext_puts(struct atl_envtext_out *o, const char *s);
/* Standard base64 with padding, no line breaks. */
void atl_envtext_put_b64(struct atl_envtext_out *o, const uint8_t *p, size_t n);
/* Reserves n bytes to be filled later; returns their offset. */
size_t atl_envtext_skip(struct atl_envtext_out *o, size_t n);

#endif
