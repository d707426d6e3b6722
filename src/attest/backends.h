/* Private to src/attest/: the backend ops tables, one per TEE kind. A backend
 * that lands defines ATL_HAVE_TEE_<NAME> here and its table in its own file. */
#ifndef ATOLL_ATTEST_BACKENDS_H
#define ATOLL_ATTEST_BACKENDS_H

#include "atoll/attest.h"

/* sim.c: the simulated TEE (no hardware protection). */
#define ATL_HAVE_TEE_SIM 1
extern const struct atl_tee_ops atl_tee_sim;

/* snp.c: AMD SEV-SNP. */
#define ATL_HAVE_TEE_SNP 1
extern const struct atl_tee_ops atl_tee_snp;

/* tdx.c, sgx.c (with dcap.c, dcap_verify.c): Intel TDX and SGX DCAP quotes. */
#define ATL_HAVE_TEE_TDX 1
extern const struct atl_tee_ops atl_tee_tdx;
#define ATL_HAVE_TEE_SGX 1
extern const struct atl_tee_ops atl_tee_sgx;

/* tpm.c (with tpm_*.c): TPM 2.0 quotes, event logs, credential activation. */
#define ATL_HAVE_TEE_TPM 1
extern const struct atl_tee_ops atl_tee_tpm;

/* hwv2 backends begin */
/* psa.c, cca.c: Arm PSA and CCA attestation tokens (verify only). */
#define ATL_HAVE_TEE_PSA 1
extern const struct atl_tee_ops atl_tee_psa;
#define ATL_HAVE_TEE_CCA 1
extern const struct atl_tee_ops atl_tee_cca;
/* nitro.c: AWS Nitro Enclaves attestation documents (verify only). */
#define ATL_HAVE_TEE_NITRO 1
extern const struct atl_tee_ops atl_tee_nitro;
/* nvgpu.c, spdm.c: NVIDIA confidential GPUs (SPDM measurements; verify only). */
#define ATL_HAVE_TEE_NVGPU 1
extern const struct atl_tee_ops atl_tee_nvgpu;
/* hwv2 backends end */
#endif
