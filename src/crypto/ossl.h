/* Private to src/crypto/: OpenSSL helpers shared by the crypto module. */
#ifndef ATOLL_CRYPTO_OSSL_H
#define ATOLL_CRYPTO_OSSL_H

#include <openssl/evp.h>

#include "atoll/digest.h"
#include "atoll/err.h"

/* Drains OpenSSL's error queue into the debug log (prefixed by `what`) and
 * returns ATL_E_CRYPTO, so call sites read `return atl_ossl_fail("EVP_...")`. */
enum atl_err atl_ossl_fail(const char *what);
/* Same, but returns the given code (e.g. ATL_E_AUTH for a failed verify). */
enum atl_err atl_ossl_fail_as(const char *what, enum atl_err rc);
/* EVP_MD for an Atoll hash, NULL if unknown. */
const EVP_MD *atl_ossl_md(enum atl_hash alg);

#endif
