/* Private to src/attest/: AWS Nitro Enclaves attestation documents (nitro.c).
 *
 * A document is a COSE_Sign1 (ES384) over a CBOR map (definite or
 * indefinite length): module_id, digest "SHA384", timestamp (ms), pcrs,
 * certificate (the leaf, DER), cabundle (root first), and optional
 * public_key, user_data, nonce (aws-nitro-enclaves-nsm-api,
 * docs/attestation_process.md). The chain is built from the leaf through
 * the cabundle to a PINNED root (AWS Nitro Enclaves Root-G1 built in);
 * cabundle[0] is never trusted as it stands and the bundle's order is not
 * relied on: any path to the pinned root is accepted, none other. */
#ifndef ATOLL_ATTEST_NITRO_H
#define ATOLL_ATTEST_NITRO_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/x509.h"

/* SHA-256 of the DER AWS Nitro Enclaves Root-G1 (published by AWS). */
#define ATL_NITRO_ROOT_G1_SHA256 "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

/* The built-in root (PEM). */
extern const char atl_nitro_root_g1_pem[];

struct atl_nitro_pcr {
	unsigned index;          /* 0..31 */
	const uint8_t *value;
	size_t len;
};

struct atl_nitro_opts {
	int64_t now;                        /* verification time, seconds since the epoch */
	const struct atl_x509_list *roots;  /* pinned roots; NULL = the built-in Root-G1 */
	int64_t max_age_s;                  /* < 0: age not checked here */
	const struct atl_nitro_pcr *pcrs;   /* expected PCR values (pinned even if zero) */
	size_t n_pcrs;
	const uint8_t *nonce;               /* expected nonce field, or NULL */
	size_t nonce_len;
	const uint8_t *user_data;           /* expected user_data field, or NULL */
	size_t user_data_len;
	const uint8_t *public_key;          /* expected public_key field, or NULL */
	size_t public_key_len;
};

/* Verifies a document (the COSE_Sign1 bytes exactly: strip any transport
 * framing first) and records checks ("nitro.document", "nitro.chain",
 * "nitro.signature", "nitro.age", "nitro.pcrs", "nitro.nonce",
 * "nitro.user_data", "nitro.public_key") and claims ("nitro" with every
 * field, "measurement" = PCR0, "debug" = PCR0 all zero, "issued_at" in
 * seconds, "report_data" = user_data when it is 64 bytes). ATL_OK when it ran
 * to the end (checks may have failed); ATL_E_FORMAT / ATL_E_LIMIT /
 * ATL_E_TRUNCATED / ATL_E_TRAILING / ATL_E_UNSUPPORTED for an undecodable
 * document (also recorded as a failed "nitro.document"), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_nitro_verify_doc(const uint8_t *doc, size_t len,
						const struct atl_nitro_opts *o, struct atl_ar *ar);

#endif
