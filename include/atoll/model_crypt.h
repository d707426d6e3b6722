/* Encrypted model files (.atm): chunked AES-256-GCM under a random per-model
 * data key (DEK) wrapped by a tenant key-encryption key (KEK). DESIGN §8,
 * issue 9; docs/internals/kbs.md.
 *
 * File layout (all integers big-endian), header 196 bytes:
 *   off  len  field
 *     0    8  magic "ATOLLATM"
 *     8    2  version = 1
 *    10    2  aead = 2 (AES-256-GCM, the RFC 9180 §7.3 id)
 *    12    4  chunk_size: plaintext bytes per chunk, ATL_ATM_CHUNK_MIN..MAX
 *    16   16  model_id (random, or given by the owner)
 *    32    8  pt_len: plaintext bytes, <= ATL_ATM_PLAINTEXT_MAX
 *    40   32  pt_sha256: SHA-256 of the whole plaintext
 *    72   64  kek_id: 1..64 bytes of [A-Za-z0-9._:-], NUL-padded
 *   136   12  wrap_nonce (random)
 *   148   48  wrapped_dek = AES-256-GCM(KEK, wrap_nonce, aad = bytes 0..136, DEK) ct||tag
 *   196       chunks
 * Chunks: n = max(1, ceil(pt_len / chunk_size)); chunk i holds
 * min(chunk_size, pt_len - i*chunk_size) plaintext bytes (the only chunk of an
 * empty model holds 0) and is stored as ct || tag (16 bytes), encrypted with
 *   key   = DEK
 *   nonce = 0x00000000 || u64be(i)
 *   aad   = "atoll-atm-chunk-v1" (18 bytes) || model_id (16) || u64be(i) || u8 final
 * where final = 1 for the last chunk only. The file size must be exactly
 * 196 + pt_len + 16 n.
 *
 * What this gives: every header field is authenticated by the DEK wrap (an
 * edited field makes unwrapping fail); a chunk cannot be moved (index in nonce
 * and AAD), dropped or cut off (final flag, authenticated pt_len, exact size),
 * or taken from another model (other model id, other DEK). Rotation of the KEK
 * rewrites the header only. */
#ifndef ATOLL_MODEL_CRYPT_H
#define ATOLL_MODEL_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"

#define ATL_ATM_MAGIC "ATOLLATM"
#define ATL_ATM_VERSION 1
#define ATL_ATM_HEADER_LEN 196
#define ATL_ATM_KEK_LEN 32
#define ATL_ATM_DEK_LEN 32
#define ATL_ATM_MODEL_ID_LEN 16
#define ATL_ATM_CHUNK_DEFAULT (1u << 20)

/* What the header says (authenticated only after a successful decrypt or
 * rewrap; atl_model_inspect reports it unverified). */
struct atl_model_info {
	uint16_t version;
	uint32_t chunk_size;
	uint8_t model_id[ATL_ATM_MODEL_ID_LEN];
	uint64_t pt_len;
	uint8_t pt_sha256[32];
	char kek_id[ATL_ATM_KEK_ID_MAX + 1]; /* NUL-terminated */
	uint64_t n_chunks;
	uint64_t file_len; /* the size the layout requires */
};

/* Parses and validates a header from buf[0..len) (len >= ATL_ATM_HEADER_LEN;
 * bytes after the header are ignored). No key needed, nothing authenticated.
 * Errors: ATL_E_TRUNCATED, ATL_E_FORMAT (magic, padding, kek_id alphabet),
 * ATL_E_UNSUPPORTED (version, aead), ATL_E_LIMIT (chunk size, pt_len). */
ATL_NODISCARD enum atl_err atl_model_header_parse(const uint8_t *buf, size_t len,
						  struct atl_model_info *info_out);

/* Encrypts the regular file in_path into out_path (written to a temporary file
 * in the same directory, fsynced, renamed; mode 0600). model_id may be NULL
 * (a random one is drawn). chunk_size 0 means ATL_ATM_CHUNK_DEFAULT. A fresh
 * random DEK is drawn for every call. info_out (may be NULL) gets the header.
 * Errors: ATL_E_ARG (kek_id, chunk size), ATL_E_NOTFOUND, ATL_E_IO (including
 * the input changing size while read), ATL_E_LIMIT, ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_model_encrypt(const char *in_path, const char *out_path,
					     const uint8_t kek[ATL_ATM_KEK_LEN], const char *kek_id,
					     const uint8_t *model_id, uint32_t chunk_size,
					     struct atl_model_info *info_out);

/* Decrypts path into a new secret buffer (atl_secret_alloc: locked, excluded
 * from core dumps; free with atl_secret_free; at least 1 byte even for an
 * empty model). Chunks are read and opened one at a time; success is returned
 * only after every tag and the final SHA-256 verified. On any failure the
 * buffer is wiped and freed, *pt_out is NULL and *len_out 0: no partial
 * plaintext ever reaches the caller.
 * expect_model_id (may be NULL) must equal the header's model id.
 * Errors: ATL_E_AUTH (wrong KEK, edited header, any chunk tag, digest,
 * wrong model id), ATL_E_FORMAT/_TRUNCATED/_TRAILING/_LIMIT/_UNSUPPORTED
 * (layout), ATL_E_NOTFOUND, ATL_E_IO, ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_model_decrypt_to_secret(const char *path,
						       const uint8_t kek[ATL_ATM_KEK_LEN],
						       const uint8_t *expect_model_id,
						       uint8_t **pt_out, size_t *len_out);

/* Same, into the caller's buffer buf[0..cap) (cap > 0; allocate it with
 * atl_secret_alloc, e.g. of info.pt_len from atl_model_inspect). On any
 * failure buf is wiped whole and *len_out is 0. ATL_E_LIMIT when the model's
 * plaintext is larger than cap; ATL_E_ARG for a NULL or empty buffer. */
ATL_NODISCARD enum atl_err atl_model_decrypt_into(const char *path,
						  const uint8_t kek[ATL_ATM_KEK_LEN],
						  const uint8_t *expect_model_id, uint8_t *buf,
						  size_t cap, size_t *len_out);

/* Same as atl_model_decrypt_to_secret, from an in-memory .atm image (for fuzzing and for ciphertext already
 * fetched into memory). */
ATL_NODISCARD enum atl_err atl_model_decrypt_mem(const uint8_t *buf, size_t len,
						 const uint8_t kek[ATL_ATM_KEK_LEN],
						 const uint8_t *expect_model_id, uint8_t **pt_out,
						 size_t *len_out);

/* KEK rotation: unwraps the DEK with old_kek (which authenticates the header)
 * and rewrites the header in place with new_kek_id and the DEK wrapped under
 * new_kek with a fresh nonce; chunks are untouched. The 196-byte header is
 * written with one pwrite and fsynced.
 * Errors: ATL_E_AUTH (old KEK wrong or header edited), ATL_E_ARG (new_kek_id),
 * header parse errors, ATL_E_IO. */
ATL_NODISCARD enum atl_err atl_model_rewrap(const char *path, const uint8_t old_kek[ATL_ATM_KEK_LEN],
					    const uint8_t new_kek[ATL_ATM_KEK_LEN],
					    const char *new_kek_id);

/* Reads and validates the header of path and checks the file size against
 * the layout (ATL_E_TRUNCATED / ATL_E_TRAILING). No key, nothing verified. */
ATL_NODISCARD enum atl_err atl_model_inspect(const char *path, struct atl_model_info *info_out);

/* True when s is a valid KEK id (1..ATL_ATM_KEK_ID_MAX of [A-Za-z0-9._:-]). */
int atl_model_kek_id_ok(const char *s);

/* KEK files: 64 lowercase hex digits (32 bytes) and an optional newline, mode
 * 0600. kek_new creates one exclusively (ATL_E_EXISTS if path exists);
 * kek_load refuses files readable by group or others (ATL_E_POLICY) and
 * anything but exactly 32 hex-encoded bytes (ATL_E_FORMAT). kek_out is
 * caller memory (ideally secret memory); it is wiped on failure. */
ATL_NODISCARD enum atl_err atl_model_kek_new(const char *path);
ATL_NODISCARD enum atl_err atl_model_kek_load(const char *path, uint8_t kek_out[ATL_ATM_KEK_LEN]);

#endif
