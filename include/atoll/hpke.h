/* HPKE, RFC 9180: modes base, psk, auth and auth_psk with DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256 and the AEADs AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, plus
 * the secret exporter (DESIGN §3).
 *
 * Built on OpenSSL 3.0 primitives in src/crypto/hpke.c (EVP_PKEY X25519,
 * EVP_KDF "HKDF" in extract-only / expand-only modes, EVP_CIPHER), because
 * OSSL_HPKE only exists from OpenSSL 3.2. Checked against every RFC 9180
 * Appendix A.1/A.2 vector, all four modes (tests/vectors/hpke/). Atoll's
 * envelopes use mode_base.
 *
 * Conventions: wrong-length keys, enc or PSK inputs are ATL_E_ARG; an unknown
 * KEM/KDF/AEAD id is ATL_E_UNSUPPORTED; a failed tag is ATL_E_AUTH (and no
 * plaintext is released); a sequence number that would overflow is ATL_E_STATE
 * (RFC 9180 §5.2 MessageLimitReachedError). Key schedule secrets live in
 * secret memory and are wiped when the context is freed. */
#ifndef ATOLL_HPKE_H
#define ATOLL_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/aead.h"
#include "atoll/err.h"
#include "atoll/keys.h"
#include "atoll/limits.h"

/* Algorithm identifiers, RFC 9180 §7. */
#define ATL_HPKE_KEM_X25519_SHA256 0x0020
#define ATL_HPKE_KDF_HKDF_SHA256 0x0001
/* AEAD ids are enum atl_aead (ATL_AEAD_AES128_GCM = 1, ATL_AEAD_AES256_GCM = 2,
 * ATL_AEAD_CHACHA20_POLY1305 = 3). */

#define ATL_HPKE_MODE_BASE 0x00
#define ATL_HPKE_MODE_PSK 0x01
#define ATL_HPKE_MODE_AUTH 0x02
#define ATL_HPKE_MODE_AUTH_PSK 0x03

#define ATL_HPKE_ENC_LEN 32     /* Nenc of DHKEM(X25519) */
#define ATL_HPKE_PUB_LEN 32     /* Npk */
#define ATL_HPKE_PRIV_LEN 32    /* Nsk */
#define ATL_HPKE_TAG_LEN 16     /* Nt of all three AEADs */
#define ATL_HPKE_PSK_MIN_LEN 32 /* RFC 9180 §5.1.2: a PSK has at least 32 bytes of entropy */
#define ATL_HPKE_EXPORT_MAX (255 * 32) /* L <= 255 * Nh (RFC 9180 §5.3) */

struct atl_hpke_suite {
	uint16_t kem_id;  /* ATL_HPKE_KEM_X25519_SHA256 */
	uint16_t kdf_id;  /* ATL_HPKE_KDF_HKDF_SHA256 */
	uint16_t aead_id; /* enum atl_aead */
};

/* DESIGN §3 default: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM. */
#define ATL_HPKE_SUITE_DEFAULT                                                       \
	((struct atl_hpke_suite){ATL_HPKE_KEM_X25519_SHA256, ATL_HPKE_KDF_HKDF_SHA256, \
				 ATL_AEAD_AES256_GCM})

/* Pre-shared key for mode_psk; pass NULL for mode_base. psk_len must be at
 * least ATL_HPKE_PSK_MIN_LEN and at most ATL_HPKE_PSK_MAX; id_len 1..ATL_HPKE_PSK_ID_MAX
 * (RFC 9180 §5.1 VerifyPSKInputs: both present or neither). */
struct atl_hpke_psk {
	const uint8_t *psk;
	size_t psk_len;
	const uint8_t *id;
	size_t id_len;
};

/* ATL_OK when the three ids name a supported suite, else ATL_E_UNSUPPORTED. */
ATL_NODISCARD enum atl_err atl_hpke_suite_check(struct atl_hpke_suite suite);

/* DeriveKeyPair(ikm) of RFC 9180 §7.1.3 for DHKEM(X25519, HKDF-SHA256):
 * deterministic key pair from at least 32 bytes of input keying material
 * (at most ATL_HPKE_IKM_MAX). The private half is in secret memory (atl_kp_clear). */
ATL_NODISCARD enum atl_err atl_hpke_derive_keypair(struct atl_hpke_suite suite, const uint8_t *ikm,
						   size_t ikm_len, struct atl_kp *kp_out);

/* An HPKE context (RFC 9180 §5.2): a sender context only seals, a receiver
 * context only opens (ATL_E_STATE otherwise); both export. Not thread-safe. */
struct atl_hpke_ctx;

/* SetupBaseS / SetupPSKS: encapsulates to the recipient's public key pk_r
 * (pk_r_len == ATL_HPKE_PUB_LEN) with a fresh ephemeral key, writes enc
 * (ATL_HPKE_ENC_LEN bytes) and returns a sender context (atl_hpke_ctx_free).
 * info (at most ATL_HPKE_INFO_MAX bytes) may be NULL when info_len is 0.
 * psk NULL selects mode_base.
 * Errors: ATL_E_ARG, ATL_E_UNSUPPORTED, ATL_E_LIMIT (info too long),
 * ATL_E_CRYPTO (e.g. pk_r is a low-order point: DH output all zero), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_hpke_setup_sender(struct atl_hpke_suite suite, const uint8_t *pk_r,
						 size_t pk_r_len, const uint8_t *info,
						 size_t info_len, const struct atl_hpke_psk *psk,
						 uint8_t enc_out[ATL_HPKE_ENC_LEN],
						 struct atl_hpke_ctx **ctx_out);

/* SetupBaseR / SetupPSKR: decapsulates enc (enc_len == ATL_HPKE_ENC_LEN) with
 * the recipient's key pair kp_r (atl_kp with its private half) and returns a
 * receiver context. Errors as for atl_hpke_setup_sender. A wrong key or PSK is
 * not detected here: it shows as ATL_E_AUTH on the first open. */
ATL_NODISCARD enum atl_err atl_hpke_setup_receiver(struct atl_hpke_suite suite, const uint8_t *enc,
						   size_t enc_len, const struct atl_kp *kp_r,
						   const uint8_t *info, size_t info_len,
						   const struct atl_hpke_psk *psk,
						   struct atl_hpke_ctx **ctx_out);

/* SetupAuthS / SetupAuthPSKS (RFC 9180 §5.1.3, §5.1.4): as
 * atl_hpke_setup_sender, and the sender also authenticates with its own key
 * pair kp_s (AuthEncap). psk NULL selects mode_auth, else mode_auth_psk. */
ATL_NODISCARD enum atl_err atl_hpke_setup_sender_auth(struct atl_hpke_suite suite,
						      const uint8_t *pk_r, size_t pk_r_len,
						      const struct atl_kp *kp_s,
						      const uint8_t *info, size_t info_len,
						      const struct atl_hpke_psk *psk,
						      uint8_t enc_out[ATL_HPKE_ENC_LEN],
						      struct atl_hpke_ctx **ctx_out);

/* SetupAuthR / SetupAuthPSKR: as atl_hpke_setup_receiver, for a sender whose
 * public key is pk_s (pk_s_len == ATL_HPKE_PUB_LEN; AuthDecap). A different
 * sender shows as ATL_E_AUTH on the first open. */
ATL_NODISCARD enum atl_err atl_hpke_setup_receiver_auth(struct atl_hpke_suite suite,
							const uint8_t *enc, size_t enc_len,
							const struct atl_kp *kp_r,
							const uint8_t *pk_s, size_t pk_s_len,
							const uint8_t *info, size_t info_len,
							const struct atl_hpke_psk *psk,
							struct atl_hpke_ctx **ctx_out);

/* ContextS.Seal: encrypts pt with the next sequence number; writes ct || tag
 * (pt_len + ATL_HPKE_TAG_LEN bytes) to out (capacity out_cap; out may equal pt).
 * Errors: ATL_E_ARG (out_cap too small, NULL with a length), ATL_E_STATE
 * (receiver context, or sequence number exhausted), ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_hpke_seal(struct atl_hpke_ctx *ctx, const uint8_t *aad,
					 size_t aad_len, const uint8_t *pt, size_t pt_len,
					 uint8_t *out, size_t out_cap, size_t *out_len_out);

/* ContextR.Open: verifies and decrypts ct || tag with the next sequence number
 * into out (capacity >= ct_len - ATL_HPKE_TAG_LEN; out may equal ct). On
 * ATL_E_AUTH out is wiped and the sequence number does not advance.
 * Errors: ATL_E_ARG, ATL_E_TRUNCATED, ATL_E_AUTH, ATL_E_STATE, ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_hpke_open(struct atl_hpke_ctx *ctx, const uint8_t *aad,
					 size_t aad_len, const uint8_t *ct, size_t ct_len,
					 uint8_t *out, size_t out_cap, size_t *out_len_out);

/* Context.Export (RFC 9180 §5.3): out_len (1..ATL_HPKE_EXPORT_MAX) bytes
 * derived from the exporter secret and exporter_context (at most
 * ATL_HPKE_EXPORT_CONTEXT_MAX bytes). Errors: ATL_E_ARG, ATL_E_LIMIT, ATL_E_CRYPTO. */
ATL_NODISCARD enum atl_err atl_hpke_export(const struct atl_hpke_ctx *ctx,
					   const uint8_t *exporter_context, size_t context_len,
					   uint8_t *out, size_t out_len);

/* Wipes and frees a context; NULL-safe. */
void atl_hpke_ctx_free(struct atl_hpke_ctx *ctx);

/* Single-shot APIs (RFC 9180 §6.1): setup + one seal/open with sequence 0.
 * atl_hpke_seal_single writes enc (ATL_HPKE_ENC_LEN bytes) and ct || tag. */
ATL_NODISCARD enum atl_err atl_hpke_seal_single(struct atl_hpke_suite suite, const uint8_t *pk_r,
						size_t pk_r_len, const uint8_t *info,
						size_t info_len, const struct atl_hpke_psk *psk,
						const uint8_t *aad, size_t aad_len,
						const uint8_t *pt, size_t pt_len,
						uint8_t enc_out[ATL_HPKE_ENC_LEN], uint8_t *out,
						size_t out_cap, size_t *out_len_out);
ATL_NODISCARD enum atl_err atl_hpke_open_single(struct atl_hpke_suite suite, const uint8_t *enc,
						size_t enc_len, const struct atl_kp *kp_r,
						const uint8_t *info, size_t info_len,
						const struct atl_hpke_psk *psk, const uint8_t *aad,
						size_t aad_len, const uint8_t *ct, size_t ct_len,
						uint8_t *out, size_t out_cap, size_t *out_len_out);

/* Test-only entry points (deterministic ephemeral key for the RFC vectors,
 * sequence-number positioning) are declared in the private header
 * src/crypto/hpke_testing.h and are not part of this API. */

#endif
