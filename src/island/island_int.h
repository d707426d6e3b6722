/* Internals of the island agent shared by its files (not installed). */
#ifndef ATOLL_ISLAND_INT_H
#define ATOLL_ISLAND_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "atoll/http.h"
#include "atoll/island.h"
#include "atoll/keys.h"

#define ISL_URL_MAX 512u
#define ISL_PATH_MAX 4096u
#define ISL_KEYED_MAX 8u /* encrypted models remembered as handed to the enclave */

/* An encrypted model handed to one enclave instance (src/island/kbs.c). */
struct isl_keyed {
	uint64_t gen, seq;
	char model_id[33];
	char workload[ATL_STORE_NAME_MAX + 1];
};

struct island {
	const struct atl_island_opts *o;
	volatile sig_atomic_t *stop;
	char base[ISL_URL_MAX];
	struct atl_http_client *http;  /* API calls (JSON) */
	struct atl_http_client *mhttp; /* model downloads (larger cap), lazily */
	/* the enclave */
	pid_t pid;
	int fd;
	char kid[ATL_KEY_ID_LEN];      /* attested key id, "" until attested */
	int64_t reattest_at;           /* wall clock */
	int64_t restart_backoff_ms;
	unsigned restarts;
	char tpm_act[ISL_PATH_MAX];    /* tpm: the AK activation record file, "" until registered */
	uint64_t enclave_gen;          /* bumped at every enclave start (kbs.c) */
	struct isl_keyed keyed[ISL_KEYED_MAX];
	uint64_t keyed_seq;
};

/* A call to the coordinator: *status_out the HTTP status (0 when none
 * arrived), *json_out the parsed body (may be NULL). body may be NULL. */
enum atl_err isl_call(struct island *is, const char *method, const char *path,
		      const json_t *body, long *status_out, json_t **json_out);
/* "code: message" of an error body, escaped, into out. */
void isl_error_text(const json_t *j, char *out, size_t cap);

/* The cached, verified model of a workload (src/island/models.c): path_out
 * gets an absolute path to a file whose SHA-256 is sha_hex. Downloads it
 * from the coordinator when it is not cached or the cached copy differs. */
enum atl_err isl_model_path(struct island *is, const char *workload, const char *sha_hex,
			    char *path_out, size_t cap);

/* TPM registration (src/island/tpm.c): AK activation against the certified
 * EK through the coordinator; path_out gets the record file for the enclave
 * (--tpm-activation). ATL_E_AUTH (token refused), ATL_E_DENIED (the
 * coordinator refused the TPM: reason in why), others: retry later. */
enum atl_err isl_tpm_register(struct island *is, char *path_out, size_t cap, char *why,
			      size_t why_cap);

/* Makes sure the current enclave instance holds the encrypted model of a
 * lease (src/island/kbs.c): mk is the lease's "model_key" object, atm_path
 * and atm_sha the cached, verified .atm ciphertext. Fetches the key from the
 * broker for this enclave (broker nonce -> evidence -> sealed key) and hands
 * it over with MODEL_KEY, once per enclave instance and model. mid_out gets
 * the model id for the job's params. why gets a one-line reason for the
 * job's failure (no secrets). ATL_E_STATE when the enclave did not answer
 * (restart it); ATL_E_FORMAT for a malformed mk; other errors: the broker or
 * the enclave refused. */
enum atl_err isl_model_key(struct island *is, const char *wid, const json_t *mk,
			   const char *atm_path, const char *atm_sha, char *mid_out,
			   size_t mid_cap, char *why, size_t why_cap);

#endif
