/* Private to src/attest/: COSE_Sign1 (RFC 9052 §4.2) decoding and signature
 * verification, for Nitro attestation documents (ES384) and PSA/CCA tokens
 * (ES256/ES384/ES512).
 *
 * Strict: the item is the 4-element array, untagged or under tag 18 (any other
 * tag is refused, so a COSE_Mac0 or a CWT cannot pass as COSE_Sign1); alg must
 * sit in the protected bucket as an integer (RFC 9052 §3.1); a label in both
 * buckets, any crit header, a detached (nil) payload and text algorithm names
 * are refused. Supported algorithms: ES256 (-7), ES384 (-35) and ES512 (-36,
 * ECDSA P-521 with SHA-512, r||s of 2 x 66 bytes). Callers that expect one
 * algorithm (Nitro: ES384) check s.alg themselves. */
#ifndef ATOLL_ATTEST_COSE_H
#define ATOLL_ATTEST_COSE_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/sig.h"
#include "attest/cbor.h"

#define ATL_COSE_TAG_SIGN1 18
#define ATL_COSE_ALG_ES256 (-7)
#define ATL_COSE_ALG_ES384 (-35)
#define ATL_COSE_ALG_ES512 (-36)

struct atl_cose_sign1 {
	cbor_item_t *root;                /* owned */
	const uint8_t *prot;              /* protected header bstr contents (borrowed from root) */
	size_t prot_len;
	const uint8_t *payload;           /* payload bstr contents */
	size_t payload_len;
	const uint8_t *sig;
	size_t sig_len;
	int64_t alg;                      /* COSE alg from the protected header */
	bool tagged;                      /* carried tag 18 */
};

/* Decodes a COSE_Sign1 filling buf[0..len) exactly. On success *out owns a
 * tree (free with atl_cose_sign1_free). ATL_E_FORMAT for structural or header
 * violations (message in the debug log), ATL_E_UNSUPPORTED for a detached
 * payload, ATL_E_LIMIT / ATL_E_TRUNCATED / ATL_E_TRAILING from CBOR. */
ATL_NODISCARD enum atl_err atl_cose_sign1_parse(const uint8_t *buf, size_t len,
						struct atl_cose_sign1 *out);
void atl_cose_sign1_free(struct atl_cose_sign1 *s);

/* Verifies the signature with key over Sig_structure = ["Signature1",
 * protected, h'', payload] (RFC 9052 §4.4). ATL_OK, ATL_E_AUTH (bad
 * signature, wrong key type, or a signature of the wrong size, including an
 * empty one), ATL_E_UNSUPPORTED (alg not supported). */
ATL_NODISCARD enum atl_err atl_cose_sign1_verify(const struct atl_cose_sign1 *s,
						 const struct atl_pubkey *key);

/* Builds the Sig_structure (malloc'd) — exposed for tests that re-sign. */
ATL_NODISCARD enum atl_err atl_cose_sig_structure(const uint8_t *prot, size_t prot_len,
						  const uint8_t *payload, size_t payload_len,
						  uint8_t **out, size_t *out_len);

#endif
