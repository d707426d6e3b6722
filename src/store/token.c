/* Secret tokens for tenants (API keys, "ak_…") and islands ("it_…"): 32
 * random bytes in hex behind a prefix. The store keeps only SHA-256 digests
 * and finds the owner by digest, so a database leak reveals no usable key
 * (DESIGN §5 "API keys stored hashed"). The tokens carry 256 bits of entropy,
 * so an unsalted fast hash is enough: there is nothing to brute-force. */
#include <string.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/secmem.h"
#include "atoll/store.h"

#define RAW_LEN 32

static bool prefix_ok(const char *p)
{
	return p != NULL && (strcmp(p, "ak_") == 0 || strcmp(p, "it_") == 0);
}

enum atl_err atl_store_token_new(const char *prefix, char token_out[ATL_STORE_TOKEN_LEN],
				 uint8_t hash_out[ATL_SHA256_LEN])
{
	uint8_t raw[RAW_LEN];
	enum atl_err rc = ATL_E_INTERNAL;

	if (token_out != NULL)
		memset(token_out, 0, ATL_STORE_TOKEN_LEN);
	if (hash_out != NULL)
		memset(hash_out, 0, ATL_SHA256_LEN);
	if (!prefix_ok(prefix) || token_out == NULL || hash_out == NULL)
		return ATL_E_ARG;
	ATL_TRY(atl_random(raw, sizeof(raw)));
	memcpy(token_out, prefix, 3);
	ATL_TRY(atl_hex_encode(raw, sizeof(raw), token_out + 3, ATL_STORE_TOKEN_LEN - 3));
	ATL_TRY(atl_hash(ATL_HASH_SHA256, token_out, ATL_STORE_TOKEN_LEN - 1, hash_out));
	rc = ATL_OK;
out:
	atl_wipe(raw, sizeof(raw));
	if (rc != ATL_OK) {
		atl_wipe(token_out, ATL_STORE_TOKEN_LEN);
		memset(hash_out, 0, ATL_SHA256_LEN);
	}
	return rc;
}

enum atl_err atl_store_token_hash(const char *prefix, const char *token,
				  uint8_t hash_out[ATL_SHA256_LEN])
{
	if (hash_out != NULL)
		memset(hash_out, 0, ATL_SHA256_LEN);
	if (!prefix_ok(prefix) || hash_out == NULL)
		return ATL_E_ARG;
	if (token == NULL || strnlen(token, ATL_STORE_TOKEN_LEN) != ATL_STORE_TOKEN_LEN - 1 ||
	    memcmp(token, prefix, 3) != 0)
		return ATL_E_AUTH;
	for (size_t i = 3; i < ATL_STORE_TOKEN_LEN - 1; i++) {
		char c = token[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return ATL_E_AUTH;
	}
	return atl_hash(ATL_HASH_SHA256, token, ATL_STORE_TOKEN_LEN - 1, hash_out);
}
