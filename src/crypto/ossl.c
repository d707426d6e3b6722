/* OpenSSL error-queue draining (STYLE.md: turn 1/0 into ATL_E_CRYPTO, drain
 * the queue into the debug log). */
#define ATL_LOG_MODULE "crypto"
#include <openssl/err.h>

#include "atoll/log.h"
#include "crypto/ossl.h"

enum atl_err atl_ossl_fail_as(const char *what, enum atl_err rc)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		atl_debug("%s: %s", what, buf);
	}
	return rc;
}

enum atl_err atl_ossl_fail(const char *what)
{
	return atl_ossl_fail_as(what, ATL_E_CRYPTO);
}
