/* Private to src/crypto/: the concrete form of the opaque key types of
 * include/atoll/sig.h, shared by sig.c and x509.c. */
#ifndef ATOLL_CRYPTO_PKEY_H
#define ATOLL_CRYPTO_PKEY_H

#include <openssl/evp.h>

struct atl_pubkey {
	EVP_PKEY *pkey;
};

struct atl_privkey {
	EVP_PKEY *pkey;
};

#endif
