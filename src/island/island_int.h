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

#endif
