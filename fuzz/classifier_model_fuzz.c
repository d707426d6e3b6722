/* Fuzz target: classifier model files (atl_clf_model_parse), the model
 * file the enclave is handed. A model that parses must serialise, parse back
 * to the same bytes, and predict a probability in [0, 1] (or NaN, reported as an error).
 * atl-fuzz-deps: atoll_workload atoll_core */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_clf_model *m = NULL, *m2 = NULL;
	char *j = NULL, *j2 = NULL;
	size_t l = 0, l2 = 0;
	double *x;

	if (atl_clf_model_parse(data, size, &m) != ATL_OK)
		return 0;
	if (atl_clf_model_write(m, &j, &l) != ATL_OK)
		abort();
	if (atl_clf_model_parse((const uint8_t *)j, l, &m2) != ATL_OK ||
	    atl_clf_model_write(m2, &j2, &l2) != ATL_OK || l != l2 || memcmp(j, j2, l) != 0)
		abort();
	x = calloc(m->n_features, sizeof(*x));
	if (x == NULL)
		abort();
	{
		double p = atl_clf_predict(m, x);
		if (!isnan(p) && !(p >= 0.0 && p <= 1.0))
			abort();
	}
	free(x);
	free(j);
	free(j2);
	atl_clf_model_free(m);
	atl_clf_model_free(m2);
	return 0;
}
