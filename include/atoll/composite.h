/* Composite evidence: one CPU TEE plus its confidential GPUs, verified as one
 * unit (src/attest/composite.c; DESIGN §4, issue "Hardware attestation
 * verifiers: ... NVIDIA confidential GPUs", section "Composite evidence").
 *
 * Format (JSON, strict: these fields, no others):
 *
 *   {"v":1,
 *    "cpu": <an evidence wrapper object of include/atoll/verify.h>,
 *    "gpus": [{"tee":"nvidia-gpu", "evidence":"<base64 native GPU evidence>"}, ...]}
 *
 * Binding: each GPU's challenge (the SPDM request nonce, 32 bytes) must be
 * the first 32 bytes of the CPU evidence's binding, SHA-512("atoll-evidence-v1"
 * || enclave key || nonce) (atl_composite_gpu_nonce). The CPU TEE's
 * report_data carries the same binding, so one verified result says: this
 * enclave key lives in that CPU TEE, and these GPUs answered that same fresh
 * challenge. A GPU report made for another challenge (replayed, or from a
 * GPU attached to another machine) fails "gpu[i].binding".
 *
 * Appraisal of each GPU: the backend's checks (chain to the NVIDIA root,
 * FWID, SPDM signature, reference values of the policy's "nvidia-gpu"
 * section); "nvidia-gpu" must be in the policy's tee_types (any policy that
 * lists GPUs); measurements listed under measurements."nvidia-gpu" must
 * contain the GPU's measurement digest; with neither a list nor RIM values
 * the GPU's measurements are not appraised (a warning). The policy's
 * require_gpu makes a CPU-only set (or a plain wrapper) contraindicated. */
#ifndef ATOLL_COMPOSITE_H
#define ATOLL_COMPOSITE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"

#define ATL_COMPOSITE_VERSION 1
#define ATL_COMPOSITE_GPU_NONCE_LEN 32

/* The GPU challenge for a CPU evidence's enclave key and nonce: the first
 * 32 bytes of atl_attest_binding(enclave_pub, nonce). */
ATL_NODISCARD enum atl_err atl_composite_gpu_nonce(const uint8_t *enclave_pub, size_t pub_len,
						   const uint8_t *nonce, size_t nonce_len,
						   uint8_t out[ATL_COMPOSITE_GPU_NONCE_LEN]);

/* Builds a composite (malloc'd compact JSON text): cpu_wrapper is the
 * wrapper's JSON text; gpu_natives[i] the native "nvidia-gpu" evidence.
 * ATL_E_ARG / ATL_E_FORMAT for bad input, ATL_E_LIMIT beyond
 * ATL_COMPOSITE_GPUS_MAX GPUs or ATL_ATTEST_EVIDENCE_MAX bytes. */
ATL_NODISCARD enum atl_err atl_composite_wrap(const char *cpu_wrapper,
					      const uint8_t *const *gpu_natives,
					      const size_t *gpu_lens, size_t n_gpus, char **json_out);

/* Verifies a composite, or a plain evidence wrapper (then as
 * atl_verify_evidence, plus require_gpu), with the arguments of
 * atl_verify_evidence (anchors apply to the CPU TEE; GPU roots come from the
 * policy's trust_anchors."nvidia-gpu" or the built-in NVIDIA root).
 *
 * *ar_out always receives a result (unless ATL_E_NOMEM): tee "composite"
 * (or the wrapper's TEE), the CPU checks prefixed "cpu.", each GPU's checks
 * prefixed "gpu[i].", the claims "cpu" and "gpus" (the sub-results), and the
 * CPU's enclave_key, enclave_kid, nonce and measurement at the top, so
 * atl_verify_enclave_key works on it. Returns ATL_OK only when every part is
 * accepted; ATL_E_POLICY when a check failed; ATL_E_FORMAT / ATL_E_LIMIT /
 * ATL_E_UNSUPPORTED when the set does not parse. */
ATL_NODISCARD enum atl_err atl_composite_verify(const uint8_t *buf, size_t len, const json_t *policy,
						const uint8_t *expected_nonce,
						size_t expected_nonce_len, int64_t now,
						const char *const *anchors, struct atl_ar **ar_out);

#endif
