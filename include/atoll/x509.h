/* X.509 certificates, chains and CRLs for the attestation verifiers (OpenSSL
 * underneath, in src/crypto/x509.c). Verification time is always a parameter:
 * the samples have their own reference times. */
#ifndef ATOLL_X509_H
#define ATOLL_X509_H

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
};

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
/* Validity window, seconds since the epoch. */
ATL_NODISCARD enum atl_err atl_x509_validity(const struct atl_x509 *c, int64_t *not_before_out,
					     int64_t *not_after_out);

#endif
