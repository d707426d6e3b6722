/* Fuzz target: atl_json_parse (size/depth limits, then jansson).
 * atl-fuzz-deps: atoll_core */
#include <stddef.h>
#include <stdint.h>

#include "atoll/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;

	if (atl_json_parse((const char *)data, size, &j) == ATL_OK) {
		char *s = atl_json_dump(j);
		free(s);
		json_decref(j);
	}
	return 0;
}
