/* The compiled-in TEE backends. Each backend file defines one
 * `const struct atl_tee_ops atl_tee_<name>` and adds a line below. */
#include <string.h>

#include "atoll/attest.h"
#include "attest/backends.h"

static const struct atl_tee_ops *const all_tees[] = {
#ifdef ATL_HAVE_TEE_SIM
	&atl_tee_sim,
#endif
#ifdef ATL_HAVE_TEE_SNP
	&atl_tee_snp,
#endif
#ifdef ATL_HAVE_TEE_TDX
	&atl_tee_tdx,
#endif
#ifdef ATL_HAVE_TEE_SGX
	&atl_tee_sgx,
#endif
#ifdef ATL_HAVE_TEE_TPM
	&atl_tee_tpm,
#endif
/* hwv2 backends begin */
#ifdef ATL_HAVE_TEE_PSA
	&atl_tee_psa,
#endif
#ifdef ATL_HAVE_TEE_CCA
	&atl_tee_cca,
#endif
#ifdef ATL_HAVE_TEE_NITRO
	&atl_tee_nitro,
#endif
#ifdef ATL_HAVE_TEE_NVGPU
	&atl_tee_nvgpu,
#endif
/* hwv2 backends end */
	NULL,
};

const struct atl_tee_ops *const *atl_tee_all(void)
{
	return all_tees;
}

const struct atl_tee_ops *atl_tee_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; all_tees[i] != NULL; i++) {
		if (strcmp(all_tees[i]->name, name) == 0)
			return all_tees[i];
	}
	return NULL;
}
