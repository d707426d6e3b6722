/* X.509 certificates, chains and CRLs for the attestation verifiers (OpenSSL
 * underneath, in src/crypto/x509.c). Verification time is always a parameter:
 * the samples have their own reference times. */
#ifndef ATOLL_X509_H
#define ATOLL_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/sig.h"

struct atl_x509;      /* one certificate */
struct atl_x509_list; /* an ordered list of certificates */
struct atl_crl_list;  /* a list of CRLs */

/* One certificate from DER or PEM. */
ATL_NODISCARD enum atl_err atl_x509_parse(const uint8_t *buf, size_t len, struct atl_x509 **out);
void atl_x509_free(struct atl_x509 *c);
/* Every certificate in a PEM bundle, or a single DER certificate, in order.
 * ATL_E_FORMAT when none is found. Appends to *list (created if NULL). */
ATL_NODISCARD enum atl_err atl_x509_list_parse(const uint8_t *buf, size_t len,
					       struct atl_x509_list **list);
ATL_NODISCARD enum atl_err atl_x509_list_add(struct atl_x509_list **list, const struct atl_x509 *c);
size_t atl_x509_list_len(const struct atl_x509_list *l);
const struct atl_x509 *atl_x509_list_get(const struct atl_x509_list *l, size_t i);
void atl_x509_list_free(struct atl_x509_list *l);

/* CRLs from DER or PEM (several PEM blocks allowed). Appends to *list. */
ATL_NODISCARD enum atl_err atl_crl_list_parse(const uint8_t *buf, size_t len,
					      struct atl_crl_list **list);
void atl_crl_list_free(struct atl_crl_list *l);

enum {
	ATL_X509_CHECK_CRL = 1 << 0,   /* every certificate must be covered by a CRL in crls */
	ATL_X509_PARTIAL_OK = 1 << 1,  /* an intermediate may serve as anchor */
	ATL_X509_CHECK_CRL_CA = 1 << 2, /* every CA below the root must be covered by a CRL
					 * (AMD: the ARK's CRL covers the ASK/ASVK; no CRL
					 * exists for VCEKs) */
};

/* Revocation semantics of atl_x509_verify_chain (whatever the flags): every
 * CRL in crls whose issuer name equals the issuer of a certificate in the built
 * chain (the root included, for root CRLs) must carry a valid signature by that
 * issuer (else ATL_E_AUTH) and satisfy thisUpdate <= t < nextUpdate, a
 * nextUpdate being required (else ATL_E_EXPIRED); a certificate it lists is
 * revoked (ATL_E_POLICY). The CHECK flags add coverage requirements. The top of
 * the built chain must be byte-identical to one of roots: an anchor carried in
 * the evidence never counts. */

/* Verifies leaf up to one of roots through intermediates at time t (seconds
 * since the epoch). ATL_OK, or ATL_E_AUTH (bad signature / no path),
 * ATL_E_EXPIRED (outside validity), ATL_E_POLICY (revoked), with a reason in
 * why (NUL-terminated, may be NULL). Tolerates vendor quirks documented in
 * shared/vectors/attestation/README.md (serial 0, RSA-PSS, critical SAN). */
ATL_NODISCARD enum atl_err atl_x509_verify_chain(const struct atl_x509 *leaf,
						 const struct atl_x509_list *intermediates,
						 const struct atl_x509_list *roots,
						 const struct atl_crl_list *crls, int64_t t,
						 int flags, char *why, size_t why_cap);

ATL_NODISCARD enum atl_err atl_x509_pubkey(const struct atl_x509 *c, struct atl_pubkey **out);
/* SHA-256 of the DER certificate. */
ATL_NODISCARD enum atl_err atl_x509_fingerprint(const struct atl_x509 *c, uint8_t out[32]);
/* DER encoding (borrowed view valid while c lives is not possible with
 * OpenSSL; this returns a malloc'd copy). */
ATL_NODISCARD enum atl_err atl_x509_der(const struct atl_x509 *c, uint8_t **der_out,
					size_t *len_out);
/* The extension's value (the OCTET STRING contents) for a dotted OID;
 * ATL_E_NOTFOUND when absent. malloc'd copy. */
ATL_NODISCARD enum atl_err atl_x509_ext(const struct atl_x509 *c, const char *oid,
					uint8_t **val_out, size_t *len_out);
/* Subject / issuer as one-line RFC 2253 text (malloc'd). */
ATL_NODISCARD enum atl_err atl_x509_subject(const struct atl_x509 *c, char **out);
ATL_NODISCARD enum atl_err atl_x509_issuer(const struct atl_x509 *c, char **out);
/* commonName of the subject / issuer (malloc'd UTF-8); ATL_E_NOTFOUND if none. */
ATL_NODISCARD enum atl_err atl_x509_subject_cn(const struct atl_x509 *c, char **out);
ATL_NODISCARD enum atl_err atl_x509_issuer_cn(const struct atl_x509 *c, char **out);
/* X.509 version as written (0 = v1, 2 = v3). */
int atl_x509_version(const struct atl_x509 *c);
/* basicConstraints cA = TRUE? */
bool atl_x509_is_ca(const struct atl_x509 *c);
/* Serial number, big-endian magnitude (malloc'd; "0" has length 1). */
ATL_NODISCARD enum atl_err atl_x509_serial(const struct atl_x509 *c, uint8_t **out, size_t *len_out);
/* Does c carry exactly the same DER bytes as d? */
bool atl_x509_equal(const struct atl_x509 *c, const struct atl_x509 *d);

/* The certificate's own signature algorithm (outer AlgorithmIdentifier). */
enum atl_x509_sig_kind { ATL_X509_SIG_OTHER, ATL_X509_SIG_ECDSA, ATL_X509_SIG_RSA_PSS,
			 ATL_X509_SIG_RSA_PKCS1 };
struct atl_x509_sig_info {
	enum atl_x509_sig_kind kind;
	int hash_nid_bits; /* 256, 384, 512 for SHA-2; 0 otherwise */
	int pss_salt_len;  /* RSA-PSS only (-1 otherwise) */
	int pss_mgf1_bits; /* RSA-PSS MGF1 hash (256/384/512), 0 otherwise */
	int key_bits;      /* public key: EC curve bits or RSA modulus bits */
	bool key_ec;       /* the subject key is an EC key */
};
ATL_NODISCARD enum atl_err atl_x509_sig_info(const struct atl_x509 *c,
					     struct atl_x509_sig_info *out);

size_t atl_crl_list_len(const struct atl_crl_list *l);
/* commonName of the i-th CRL's issuer (malloc'd); ATL_E_NOTFOUND if none. */
ATL_NODISCARD enum atl_err atl_crl_issuer_cn(const struct atl_crl_list *l, size_t i, char **out);

/* Validity window, seconds since the epoch. */
ATL_NODISCARD enum atl_err atl_x509_validity(const struct atl_x509 *c, int64_t *not_before_out,
					     int64_t *not_after_out);

#endif
