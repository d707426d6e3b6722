/* Hashes, HMAC and randomness (OpenSSL underneath, in src/crypto/ only). */
#ifndef ATOLL_DIGEST_H
#define ATOLL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

enum atl_hash { ATL_HASH_SHA256, ATL_HASH_SHA384, ATL_HASH_SHA512 };

#define ATL_SHA256_LEN 32
#define ATL_SHA384_LEN 48
#define ATL_SHA512_LEN 64
#define ATL_HASH_MAX_LEN 64

/* Digest length in bytes (0 for an unknown algorithm). */
size_t atl_hash_len(enum atl_hash alg);
/* One-shot digest of data[0..len) into out (atl_hash_len(alg) bytes). */
ATL_NODISCARD enum atl_err atl_hash(enum atl_hash alg, const void *data, size_t len, uint8_t *out);

/* Incremental digest. new → update* → final; free is NULL-safe. */
struct atl_hash_ctx;
ATL_NODISCARD enum atl_err atl_hash_new(enum atl_hash alg, struct atl_hash_ctx **ctx_out);
ATL_NODISCARD enum atl_err atl_hash_update(struct atl_hash_ctx *ctx, const void *data, size_t len);
ATL_NODISCARD enum atl_err atl_hash_final(struct atl_hash_ctx *ctx, uint8_t *out);
void atl_hash_free(struct atl_hash_ctx *ctx);

/* Digest of a whole file, streamed (for measuring binaries). */
ATL_NODISCARD enum atl_err atl_hash_file(enum atl_hash alg, const char *path, uint8_t *out);

/* HMAC(alg, key, data) into out (atl_hash_len(alg) bytes). */
ATL_NODISCARD enum atl_err atl_hmac(enum atl_hash alg, const void *key, size_t key_len,
				    const void *data, size_t len, uint8_t *out);

/* Cryptographically secure random bytes (OpenSSL's DRBG). */
ATL_NODISCARD enum atl_err atl_random(void *out, size_t n);

/* Constant-time comparison (CRYPTO_memcmp); true when equal. */
int atl_crypto_memeq(const void *a, const void *b, size_t n);

#endif
