/* The workloads compiled into the enclave. Each runs on an opened job's
 * plaintext and returns the result plaintext in secret memory; neither ever
 * leaves the enclave unsealed.
 *   echo  returns its input unchanged (tests, demo, health checks). */
#include <string.h>

#include "atoll/enclave.h"
#include "atoll/secmem.h"

static enum atl_err run_echo(const json_t *params, const uint8_t *in, size_t in_len,
			     uint8_t **out_out, size_t *out_len_out)
{
	uint8_t *out;

	if (params != NULL && json_object_size(params) != 0)
		return ATL_E_FORMAT;
	out = atl_secret_alloc(in_len > 0 ? in_len : 1);
	if (out == NULL)
		return ATL_E_NOMEM;
	if (in_len > 0)
		memcpy(out, in, in_len);
	*out_out = out;
	*out_len_out = in_len;
	return ATL_OK;
}

static const struct atl_enclave_workload workloads[] = {
	{"echo", run_echo},
};

const struct atl_enclave_workload *atl_enclave_workload_find(const char *kind)
{
	if (kind == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (strcmp(workloads[i].kind, kind) == 0)
			return &workloads[i];
	}
	return NULL;
}
