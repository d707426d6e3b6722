/* Primitives the TPM credential protocol needs beyond sig.h / digest.h
 * (OpenSSL underneath, in src/crypto/tpmcrypto.c): RSA-OAEP encryption with a
 * label (TPM 2.0 Part 1 §B.10.3, the EK seed) and AES-CFB (Part 1 §11.4.6.3,
 * the credential's symmetric wrap). */
#ifndef ATOLL_TPMCRYPTO_H
#define ATOLL_TPMCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/digest.h"
#include "atoll/err.h"
#include "atoll/sig.h"

/* RSA-OAEP (MGF1 with the same hash) of in under the RSA key k with the given
 * label bytes (the TPM includes the label's NUL: "IDENTITY\0" is 9 bytes).
 * out_cap must hold the modulus size. ATL_E_ARG when k is not RSA,
 * ATL_E_LIMIT when out_cap is too small, ATL_E_CRYPTO otherwise. */
ATL_NODISCARD enum atl_err atl_rsa_oaep_encrypt(const struct atl_pubkey *k, enum atl_hash h,
						const uint8_t *label, size_t label_len,
						const uint8_t *in, size_t in_len, uint8_t *out,
						size_t out_cap, size_t *out_len);

/* AES-128/256-CFB (full-block feedback, CFB128) encryption or decryption of
 * len bytes (out may equal in). key_len 16 or 32. */
ATL_NODISCARD enum atl_err atl_aes_cfb(const uint8_t *key, size_t key_len, const uint8_t iv[16],
				       int encrypt, const uint8_t *in, size_t len, uint8_t *out);

/* ECDH with a fresh ephemeral key on the curve of the EC public key peer
 * (Part 1 §C.6.4, the ECC EK seed): z gets the shared point's x-coordinate,
 * eph_x / eph_y the ephemeral public point, each *coord_len bytes (the field
 * size; cap bounds all three). ATL_E_ARG when peer is not EC. */
ATL_NODISCARD enum atl_err atl_ecdh_ephemeral(const struct atl_pubkey *peer, uint8_t *z,
					      uint8_t *eph_x, uint8_t *eph_y, size_t cap,
					      size_t *coord_len);

#endif
