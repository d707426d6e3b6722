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

#include <jansson.h>

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

/* The dispatcher's cross-check of a verified document against its evidence
 * wrapper (verify.c, issue 7): when the "nitro" claim carries public_key, it
 * must be the wrapper's enclave key (check "nitro.public_key"); when it
 * carries nonce, the wrapper's nonce (check "nitro.nonce", which the
 * dispatcher compares with the verifier's). Absent or null fields record
 * nothing: the DESIGN §4 binding through user_data (report_data) stays the
 * rule. No "nitro" claim: nothing. ATL_OK or ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_nitro_check_wrapper(struct atl_ar *ar, const uint8_t *enclave_key,
						   size_t enclave_key_len, const uint8_t *nonce,
						   size_t nonce_len);

/* ---- evidence through the Nitro Secure Module (nitro_nsm.c) ---- */

#define ATL_NSM_DEVICE "/dev/nsm"
/* Buffer sizes of the NSM driver ABI (uapi linux/nsm.h NSM_REQUEST_MAX_SIZE,
 * NSM_RESPONSE_MAX_SIZE): a request never exceeds the first; a response
 * longer than the second is refused. */
#define ATL_NSM_REQUEST_SIZE 0x1000u
#define ATL_NSM_RESPONSE_SIZE 0x3000u
/* Bytes of an NSM ErrorCode name in an {"Error": name} response. */
#define ATL_NSM_ERROR_NAME_LEN 32u

/* The CBOR request {"Attestation": {"user_data", "nonce", "public_key"}}
 * with each field a byte string or null (NULL pointer), definite lengths,
 * shortest heads, in serde's field order: the bytes the AWS library sends.
 * ATL_E_LIMIT when a field exceeds the document's limits above. */
ATL_NODISCARD enum atl_err atl_nitro_nsm_request(const uint8_t *user_data, size_t user_data_len,
						 const uint8_t *nonce, size_t nonce_len,
						 const uint8_t *public_key, size_t public_key_len,
						 uint8_t **out, size_t *out_len);

/* Parses an NSM response (untrusted): {"Attestation": {"document": bstr}}
 * gives a malloc'd copy of the document (1..ATL_NITRO_DOC_MAX bytes).
 * {"Error": name} is ATL_E_IO (ATL_E_LIMIT for InputTooLarge), anything
 * else ATL_E_FORMAT / ATL_E_TRUNCATED / ATL_E_TRAILING / ATL_E_LIMIT (more
 * than ATL_NSM_RESPONSE_SIZE bytes, nesting, a document too large); why
 * (may be NULL with why_cap 0) says what, for logs. */
ATL_NODISCARD enum atl_err atl_nitro_nsm_response(const uint8_t *buf, size_t len, uint8_t **doc_out,
						  size_t *doc_len_out, char *why, size_t why_cap);

/* One request/response exchange with the NSM: send req, fill resp (cap
 * bytes), set *resp_len. The default is NSM_IOCTL_RAW on /dev/nsm. */
typedef enum atl_err (*atl_nitro_nsm_transport_fn)(const uint8_t *req, size_t req_len,
						   uint8_t *resp, size_t resp_cap,
						   size_t *resp_len, void *ctx);
/* Replaces the ioctl (tests); fn NULL restores it. Not thread-safe: set it
 * before any evidence is produced. */
void atl_nitro_nsm_set_transport(atl_nitro_nsm_transport_fn fn, void *ctx);

/* Asks the NSM at device (NULL: ATL_NSM_DEVICE) for an attestation document
 * with these fields (each may be NULL: null in the request) and returns it (malloc'd, checked to be a
 * COSE_Sign1; the verifier checks the rest). ATL_E_UNSUPPORTED when
 * the device does not exist (not inside a Nitro enclave; logged as "not
 * available"), ATL_E_DENIED when it cannot be opened for lack of rights,
 * ATL_E_IO / ATL_E_LIMIT when the ioctl or the NSM fails, the parser's
 * errors for a bad response. */
ATL_NODISCARD enum atl_err atl_nitro_nsm_attest(const char *device,
						const uint8_t *user_data, size_t user_data_len,
						const uint8_t *nonce, size_t nonce_len,
						const uint8_t *public_key, size_t public_key_len,
						uint8_t **doc_out, size_t *doc_len_out);

/* The backend's evidence(): user_data = report_data (DESIGN §4 binding,
 * which the verifier reports as the "report_data" claim); nonce and
 * public_key from cfg {"nonce": hex, "public_key": hex} when the caller
 * gives them (the challenge nonce and the enclave's X25519 key), else null;
 * cfg "nsm_device" names another device node (tests). ATL_E_ARG for a bad
 * cfg. */
ATL_NODISCARD enum atl_err atl_nitro_nsm_evidence(const json_t *cfg,
						  const uint8_t report_data[ATL_REPORT_DATA_LEN],
						  uint8_t **ev_out, size_t *ev_len_out);

#endif
