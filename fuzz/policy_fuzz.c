/* Fuzz target: attestation policy parsing and validation (atl_policy_parse),
 * then every getter on what validated.
 * atl-fuzz-deps: atoll_attest */
#include <stddef.h>
#include <stdint.h>

#include "atoll/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tees[] = {"sim", "sev-snp", "tdx", "tpm", "bogus"};
	json_t *p = NULL;
	char why[256];

	if (atl_policy_parse((const char *)data, size, &p, why, sizeof(why)) != ATL_OK)
		return 0;
	(void)atl_policy_allow_sim(p);
	(void)atl_policy_allow_debug(p);
	(void)atl_policy_require_gpu(p);
	(void)atl_policy_max_age(p);
	(void)atl_policy_section(p, "tpm");
	for (size_t i = 0; i < sizeof(tees) / sizeof(tees[0]); i++) {
		(void)atl_policy_lists_tee(p, tees[i]);
		(void)atl_policy_measurements(p, tees[i]);
		(void)atl_policy_measurement_listed(p, tees[i], "00");
		(void)atl_policy_min_tcb(p, tees[i]);
		for (size_t j = 0; j <= atl_policy_anchor_count(p, tees[i]); j++)
			(void)atl_policy_anchor(p, tees[i], j);
	}
	json_decref(p);
	return 0;
}
