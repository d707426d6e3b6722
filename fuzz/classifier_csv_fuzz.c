/* Fuzz target: the classifier's CSV reader (atl_dataset_parse_csv), with and
 * without a label column. A dataset that parses is internally consistent.
 * atl-fuzz-deps: atoll_workload atoll_core */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "atoll/classifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ATL_CLF_ERR_LEN];

	for (int with_label = 0; with_label < 2; with_label++) {
		struct atl_dataset *d = NULL;
		if (atl_dataset_parse_csv((const char *)data, size, with_label != 0, &d, err) !=
		    ATL_OK) {
			if (d != NULL)
				abort();
			continue;
		}
		if (d->n_rows == 0 || d->n_features == 0 ||
		    d->n_features > ATL_CLASSIFIER_FEATURES_MAX || (with_label && d->y == NULL))
			abort();
		for (size_t i = 0; i < d->n_rows * d->n_features; i++) {
			if (!isfinite(d->x[i]))
				abort();
		}
		for (size_t r = 0; with_label && r < d->n_rows; r++) {
			if (d->y[r] > 1)
				abort();
		}
		atl_dataset_free(d);
	}
	return 0;
}
