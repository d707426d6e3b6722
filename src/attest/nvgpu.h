/* Private to src/attest/: NVIDIA confidential-computing GPU evidence
 * (Hopper H100), verified offline (nvgpu.c): the SPDM 1.1 measurement
 * transcript (spdm.h) signed by the GPU's per-boot attestation key, whose
 * certificate chains to the pinned NVIDIA Device Identity CA and carries the
 * TCG DICE FWID extension that the report's opaque FWID must equal.
 *
 * Not done offline: OCSP for the device certificates, and fetching or
 * checking the signatures of NVIDIA's RIMs (reference values come from the
 * caller's policy instead). */
#ifndef ATOLL_ATTEST_NVGPU_H
#define ATOLL_ATTEST_NVGPU_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/x509.h"

/* SHA-256 of the DER "NVIDIA Device Identity CA" (nvtrust verifier_device_root.pem). */
#define ATL_NVGPU_ROOT_SHA256 "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
#define ATL_NVGPU_FWID_OID "2.23.133.5.4.1" /* TCG DICE TcbInfo */
#define ATL_NVGPU_FWID_LEN 48

extern const char atl_nvgpu_root_pem[];

/* One reference value: the measurement block `index` must equal one of the
 * values given for that index (several entries = alternatives). */
struct atl_nvgpu_ref {
	unsigned index;
	const uint8_t *value;
	size_t len;
};

struct atl_nvgpu_opts {
	int64_t now;                       /* time for the certificate chain */
	const struct atl_x509_list *roots; /* NULL = the built-in NVIDIA root */
	const uint8_t *nonce;              /* expected SPDM request nonce (32 bytes) or NULL */
	const struct atl_nvgpu_ref *refs;  /* reference values (RIM) or NULL */
	size_t n_refs;
};

/* Verifies a binary SPDM transcript (report) with the device chain (leaf
 * first, as the GPU returns it; at most ATL_NVGPU_CHAIN_MAX certificates).
 * Records checks "nvgpu.report", "nvgpu.chain", "nvgpu.fwid",
 * "nvgpu.signature", "nvgpu.nonce", "nvgpu.rim", "nvgpu.trailing" (a
 * warning: zero bytes after the signature) and claims "nvidia_gpu" (versions,
 * ids, FWID, every measurement by index), "measurement" (SHA-384 over the
 * blocks: index byte || value, in report order), "report_data" (the 32-byte
 * request nonce), "debug" (false: the report carries no debug indicator; see
 * docs). ATL_OK when it ran to the end; the parser's error (also recorded)
 * for an unreadable report; ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_nvgpu_verify_report(const uint8_t *report, size_t len,
						   const struct atl_x509_list *chain,
						   const struct atl_nvgpu_opts *o, struct atl_ar *ar);

/* Native "nvidia-gpu" evidence: JSON {"spdm": "<hex transcript>",
 * "cert_chain": "<PEM, leaf first>"} (strict: both fields, no others). Splits
 * it; the caller frees *report_out and *chain_out. ATL_E_FORMAT / ATL_E_LIMIT. */
ATL_NODISCARD enum atl_err atl_nvgpu_evidence_parse(const uint8_t *ev, size_t len,
						    uint8_t **report_out, size_t *report_len_out,
						    struct atl_x509_list **chain_out);

#endif
