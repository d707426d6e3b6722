/* Public keys and signatures (OpenSSL underneath, in src/crypto/sig.c).
 * Used by the sim TEE (ECDSA P-384 signing) and every attestation verifier
 * (ECDSA P-256/P-384/P-521 with DER or raw r||s signatures, RSA-PSS, RSA PKCS#1). */
#ifndef ATOLL_SIG_H
#define ATOLL_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

struct atl_pubkey;  /* opaque public key */
struct atl_privkey; /* opaque private key (signing) */

enum atl_sig_alg {
	ATL_SIG_ECDSA_P256_SHA256,
	ATL_SIG_ECDSA_P384_SHA384,
	ATL_SIG_ECDSA_P384_SHA256, /* e.g. TPM AKs and some vendors hash differently */
	ATL_SIG_ECDSA_P256_SHA384,
	ATL_SIG_RSA_PSS_SHA256,
	ATL_SIG_RSA_PSS_SHA384,
	ATL_SIG_RSA_PKCS1_SHA256,
	ATL_SIG_RSA_PKCS1_SHA384,
	/* COSE ES512 (RFC 9053 §2.1). P-521 keys are accepted by atl_pubkey_parse
	 * and atl_privkey_parse (PEM/DER); atl_privkey_generate_ec and
	 * atl_pubkey_from_ec_xy stay P-256/P-384. Raw r||s is 2 x 66 bytes. */
	ATL_SIG_ECDSA_P521_SHA512,
};

enum atl_sig_fmt {
	ATL_SIG_FMT_DER,    /* ASN.1 ECDSA-Sig-Value, or the raw RSA signature */
	ATL_SIG_FMT_RAW_RS, /* ECDSA r || s, big-endian, each the curve's byte size, rounded up (COSE, TPM) */
};

/* Parses a public key: PEM (SubjectPublicKeyInfo) or DER SPKI. */
ATL_NODISCARD enum atl_err atl_pubkey_parse(const uint8_t *buf, size_t len,
					    struct atl_pubkey **out);
/* EC public key from affine coordinates (big-endian, coord_len bytes each);
 * curve_bits 256 or 384. Rejects points not on the curve. */
ATL_NODISCARD enum atl_err atl_pubkey_from_ec_xy(int curve_bits, const uint8_t *x, const uint8_t *y,
						 size_t coord_len, struct atl_pubkey **out);
/* RSA public key from big-endian modulus and exponent. */
ATL_NODISCARD enum atl_err atl_pubkey_from_rsa(const uint8_t *n, size_t n_len, const uint8_t *e,
					       size_t e_len, struct atl_pubkey **out);
/* DER SubjectPublicKeyInfo (malloc'd). */
ATL_NODISCARD enum atl_err atl_pubkey_to_der(const struct atl_pubkey *k, uint8_t **der_out,
					     size_t *len_out);
/* PEM text (malloc'd, NUL-terminated). */
ATL_NODISCARD enum atl_err atl_pubkey_to_pem(const struct atl_pubkey *k, char **pem_out);
/* Uncompressed EC point 04||x||y (malloc'd; 133 bytes on P-521); ATL_E_ARG if not EC. */
ATL_NODISCARD enum atl_err atl_pubkey_ec_point(const struct atl_pubkey *k, uint8_t **pt_out,
					       size_t *len_out);
/* ATL_OK if both keys are the same key. */
ATL_NODISCARD enum atl_err atl_pubkey_equal(const struct atl_pubkey *a, const struct atl_pubkey *b);
void atl_pubkey_free(struct atl_pubkey *k);

/* Verifies sig over msg (hashing msg with the algorithm's hash). ATL_E_AUTH
 * for a bad signature, ATL_E_FORMAT for a malformed one, ATL_E_ARG when the key
 * type does not fit the algorithm. */
ATL_NODISCARD enum atl_err atl_sig_verify(const struct atl_pubkey *k, enum atl_sig_alg alg,
					  enum atl_sig_fmt fmt, const uint8_t *msg, size_t msg_len,
					  const uint8_t *sig, size_t sig_len);
/* Same, over a precomputed digest (TPM quotes, SEV-SNP reports sign a hash). */
ATL_NODISCARD enum atl_err atl_sig_verify_digest(const struct atl_pubkey *k, enum atl_sig_alg alg,
						 enum atl_sig_fmt fmt, const uint8_t *dgst,
						 size_t dgst_len, const uint8_t *sig,
						 size_t sig_len);

/* New ECDSA key on P-256 or P-384. */
ATL_NODISCARD enum atl_err atl_privkey_generate_ec(int curve_bits, struct atl_privkey **out);
/* Loads a PEM private key (PKCS#8). */
ATL_NODISCARD enum atl_err atl_privkey_parse(const uint8_t *buf, size_t len,
					     struct atl_privkey **out);
/* PKCS#8 PEM (secret memory: free with atl_secret_free). */
ATL_NODISCARD enum atl_err atl_privkey_to_pem(const struct atl_privkey *k, char **pem_out,
					      size_t *len_out);
ATL_NODISCARD enum atl_err atl_privkey_public(const struct atl_privkey *k, struct atl_pubkey **out);
/* Signs msg; the signature (malloc'd) is in fmt. */
ATL_NODISCARD enum atl_err atl_sig_sign(const struct atl_privkey *k, enum atl_sig_alg alg,
					enum atl_sig_fmt fmt, const uint8_t *msg, size_t msg_len,
					uint8_t **sig_out, size_t *sig_len_out);
void atl_privkey_free(struct atl_privkey *k);

#endif
