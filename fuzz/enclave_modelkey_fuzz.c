/* Fuzz target: the enclave's MODEL_KEY handler and encrypted-model job params
 * (src/enclave/modelkey.c), fed by the untrusted host. Every input goes to
 * enc_model_key (the reply is written to /dev/null) and, when it is a JSON
 * object, to enc_model_run as JOB params. The key pair is random, so a sealed
 * key never opens: this exercises parsing, validation and the refusal paths.
 * atl-fuzz-deps: atoll_enclave atoll_kbs atoll_workload atoll_attest atoll_crypto atoll_core */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/secmem.h"
#include "enclave/enclave_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct enc_models *models;
static struct atl_kp kp;
static int sink = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	json_t *p = NULL;

	if (sink < 0) {
		sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (sink < 0 || atl_kp_generate(&kp) != ATL_OK || enc_models_new(&models) != ATL_OK)
			abort();
	}
	if (enc_model_key(sink, models, &kp, data, size) != ATL_OK)
		abort(); /* /dev/null never fails a write */
	if (atl_json_parse((const char *)data, size, &p) == ATL_OK && json_is_object(p)) {
		if (enc_model_run(models, "classifier", p, "clf", (const uint8_t *)"{}", 2, &out,
				  &out_len) == ATL_OK &&
		    out == NULL)
			abort();
		atl_secret_free(out);
	}
	json_decref(p);
	return 0;
}
