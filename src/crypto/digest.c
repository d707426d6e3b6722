/* Hashes, HMAC and randomness over OpenSSL 3 EVP; see include/atoll/digest.h. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "atoll/digest.h"
#include "crypto/ossl.h"

struct atl_hash_ctx {
	EVP_MD_CTX *md;
	enum atl_hash alg;
};

size_t atl_hash_len(enum atl_hash alg)
{
	switch (alg) {
	case ATL_HASH_SHA256:
		return ATL_SHA256_LEN;
	case ATL_HASH_SHA384:
		return ATL_SHA384_LEN;
	case ATL_HASH_SHA512:
		return ATL_SHA512_LEN;
	}
	return 0;
}

const EVP_MD *atl_ossl_md(enum atl_hash alg)
{
	switch (alg) {
	case ATL_HASH_SHA256:
		return EVP_sha256();
	case ATL_HASH_SHA384:
		return EVP_sha384();
	case ATL_HASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

enum atl_err atl_hash(enum atl_hash alg, const void *data, size_t len, uint8_t *out)
{
	const EVP_MD *md = atl_ossl_md(alg);
	unsigned int olen = 0;

	if (md == NULL)
		return ATL_E_ARG;
	if (EVP_Digest(data, len, out, &olen, md, NULL) != 1)
		return atl_ossl_fail("EVP_Digest");
	return ATL_OK;
}

enum atl_err atl_hash_new(enum atl_hash alg, struct atl_hash_ctx **ctx_out)
{
	const EVP_MD *md = atl_ossl_md(alg);
	struct atl_hash_ctx *c = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*ctx_out = NULL;
	if (md == NULL)
		return ATL_E_ARG;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ATL_E_NOMEM;
	c->alg = alg;
	c->md = EVP_MD_CTX_new();
	if (c->md == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(c->md, md, NULL) != 1) {
		rc = atl_ossl_fail("EVP_DigestInit_ex");
		goto out;
	}
	*ctx_out = c;
	c = NULL;
	rc = ATL_OK;
out:
	atl_hash_free(c);
	return rc;
}

enum atl_err atl_hash_update(struct atl_hash_ctx *ctx, const void *data, size_t len)
{
	if (EVP_DigestUpdate(ctx->md, data, len) != 1)
		return atl_ossl_fail("EVP_DigestUpdate");
	return ATL_OK;
}

enum atl_err atl_hash_final(struct atl_hash_ctx *ctx, uint8_t *out)
{
	unsigned int olen = 0;

	if (EVP_DigestFinal_ex(ctx->md, out, &olen) != 1)
		return atl_ossl_fail("EVP_DigestFinal_ex");
	return ATL_OK;
}

void atl_hash_free(struct atl_hash_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

enum atl_err atl_hash_file(enum atl_hash alg, const char *path, uint8_t *out)
{
	struct atl_hash_ctx *ctx = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t buf[65536];
	int fd = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO;
		goto out;
	}
	ATL_TRY(atl_hash_new(alg, &ctx));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = ATL_E_IO;
			goto out;
		}
		if (n == 0)
			break;
		ATL_TRY(atl_hash_update(ctx, buf, (size_t)n));
	}
	ATL_TRY(atl_hash_final(ctx, out));
	rc = ATL_OK;
out:
	if (fd >= 0)
		close(fd);
	atl_hash_free(ctx);
	return rc;
}

enum atl_err atl_hmac(enum atl_hash alg, const void *key, size_t key_len, const void *data,
		      size_t len, uint8_t *out)
{
	const EVP_MD *md = atl_ossl_md(alg);
	unsigned int olen = 0;

	if (md == NULL || key_len > INT32_MAX)
		return ATL_E_ARG;
	if (HMAC(md, key, (int)key_len, data, len, out, &olen) == NULL)
		return atl_ossl_fail("HMAC");
	return ATL_OK;
}

enum atl_err atl_random(void *out, size_t n)
{
	if (n > INT32_MAX)
		return ATL_E_ARG;
	if (n == 0)
		return ATL_OK;
	if (RAND_bytes(out, (int)n) != 1)
		return atl_ossl_fail("RAND_bytes");
	return ATL_OK;
}

int atl_crypto_memeq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
