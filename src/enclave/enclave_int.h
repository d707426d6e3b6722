/* Internals of the enclave module shared by its files (not installed). */
#ifndef ATOLL_ENCLAVE_INT_H
#define ATOLL_ENCLAVE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/keys.h"

/* The encrypted models an enclave has decrypted (src/enclave/modelkey.c):
 * at most ATL_ENCLAVE_MODELS_MAX, each plaintext in secret memory, each bound
 * to the one workload id it was handed over for. */
struct enc_models;

ATL_NODISCARD enum atl_err enc_models_new(struct enc_models **out);
/* Wipes and frees every plaintext; NULL-safe. */
void enc_models_free(struct enc_models *m);

/* Handles one MODEL_KEY message: answers MODEL_READY or ERROR on fd. Returns
 * ATL_OK when a reply was sent (whatever it said), an error only when the
 * channel failed. */
ATL_NODISCARD enum atl_err enc_model_key(int fd, struct enc_models *m, const struct atl_kp *kp,
					 const uint8_t *p, size_t n);

/* True when a JOB's params name an encrypted model ({"model_id":…}). */
bool enc_model_job(const json_t *params);

/* Runs workload kind on the model named by params {"model_id":"<hex>"} for a
 * job whose authenticated workload id is workload_id. A model that is not
 * loaded, or was loaded for another workload, gives ATL_OK with an error
 * document {"error":{"code":"model_unavailable",…}} as the output (sealed
 * like any result). ATL_E_FORMAT for malformed params, ATL_E_UNSUPPORTED for
 * a kind that cannot use an encrypted model; otherwise the workload's error. */
ATL_NODISCARD enum atl_err enc_model_run(struct enc_models *m, const char *kind,
					 const json_t *params, const char *workload_id,
					 const uint8_t *in, size_t in_len, uint8_t **out_out,
					 size_t *out_len_out);

#endif
