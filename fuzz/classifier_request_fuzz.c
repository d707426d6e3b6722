/* Fuzz target: classifier prediction requests (atl_clf_predict_json), the
 * untrusted JSON the enclave runs a model on. Fixed 3-feature model; a
 * request that succeeds must produce a JSON response.
 * atl-fuzz-deps: atoll_workload atoll_core */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model[] =
	"{\"bias\":0.25,\"format\":\"atoll-classifier\",\"kind\":\"logistic\","
	"\"labels\":[\"neg\",\"pos\"],\"mean\":[1.0,-2.0,1e6],\"n_features\":3,"
	"\"scale\":[1.0,0.5,1e-6],\"weights\":[2.0,-1.0,3.5],\"version\":1}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atl_clf_model *m;
	char *out = NULL, err[ATL_CLF_ERR_LEN];
	size_t len = 0;

	if (m == NULL &&
	    atl_clf_model_parse((const uint8_t *)model, sizeof(model) - 1, &m) != ATL_OK)
		abort();
	if (atl_clf_predict_json(m, data, size, &out, &len, err) == ATL_OK) {
		if (out == NULL || len == 0 || out[0] != '{' || strlen(out) != len)
			abort();
		free(out);
	} else if (out != NULL) {
		abort();
	}
	return 0;
}
