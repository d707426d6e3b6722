/* Private to src/coordinator/: the running coordinator and the helpers its
 * handler files share. */
#ifndef ATOLL_COORD_INT_H
#define ATOLL_COORD_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "atoll/coordinator.h"
#include "atoll/http.h"
#include "atoll/store.h"

/* Routes, in the order of the route table (metrics index by these). */
enum coord_route {
	R_HEALTHZ, R_METRICS,
	R_I_CHALLENGE, R_I_EVIDENCE, R_I_LEASE, R_I_MODEL, R_I_RESULT, R_I_FAIL,
	R_C_TARGETS, R_C_STATS, R_C_SUBMIT, R_C_JOB, R_C_USAGE, R_C_LIST, R_C_CANCEL,
	R_I_TPM_CHALLENGE, R_I_TPM_ACTIVATE,
	R__COUNT
};

#define COORD_STATUS_SLOTS 12 /* distinct HTTP statuses counted per route */

struct coord_status_count {
	int status;
	uint64_t n;
};

struct atl_coord {
	struct atl_store *store;
	json_t *policy;           /* validated, or NULL (default policy) */
	int64_t max_age_s;        /* the policy's max_age_s */
	int64_t lease_s, maint_s, queue_age_s, challenge_s;
	struct atl_http_server *srv;
	struct atl_privkey *tpm_key; /* TPM activation key (tpm.c), or NULL */

	atomic_bool stopping;
	atomic_int in_flight;     /* handlers running now (graceful stop waits) */
	/* wakes long-polling leases (a job arrived, leases expired) and the
	 * maintenance thread (stop) */
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* CLOCK_MONOTONIC */
	uint64_t generation;      /* bumped under mu at every wake-up */
	pthread_t maint;
	bool maint_started;

	/* metrics, under mmu */
	pthread_mutex_t mmu;
	struct coord_status_count req[R__COUNT][COORD_STATUS_SLOTS];
	uint64_t lease_expired, lease_failed, queued_expired, islands_staled;
	uint64_t attest_ok, attest_refused, leases_granted;
};

/* The route table (api.c). */
extern const struct atl_http_route atl_coord_routes[R__COUNT];

/* Counts one answered request (metrics.c). */
void coord_count(struct atl_coord *c, enum coord_route r, int status);
/* Prometheus text of the current metrics (malloc'd) or NULL (metrics.c). */
char *coord_metrics_text(struct atl_coord *c);

/* Wakes every long-poll and the maintenance thread (coord.c). */
void coord_wake(struct atl_coord *c);
/* Waits until woken, stopping, or deadline_ms (atl_time_mono_ms) passes;
 * seen is the generation observed before the last check (coord.c). */
void coord_wait(struct atl_coord *c, uint64_t seen, int64_t deadline_ms);
uint64_t coord_generation(struct atl_coord *c);

/* Handlers (island.c, client.c). */
void coord_h_challenge(struct atl_coord *c, const struct atl_http_req *req,
		       struct atl_http_resp *resp);
void coord_h_evidence(struct atl_coord *c, const struct atl_http_req *req,
		      struct atl_http_resp *resp);
void coord_h_lease(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp);
void coord_h_model(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp);
void coord_h_result(struct atl_coord *c, const struct atl_http_req *req,
		    struct atl_http_resp *resp);
void coord_h_fail(struct atl_coord *c, const struct atl_http_req *req,
		  struct atl_http_resp *resp);
void coord_h_targets(struct atl_coord *c, const struct atl_http_req *req,
		     struct atl_http_resp *resp);
void coord_h_stats(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp);
void coord_h_submit(struct atl_coord *c, const struct atl_http_req *req,
		    struct atl_http_resp *resp);
void coord_h_job(struct atl_coord *c, const struct atl_http_req *req,
		 struct atl_http_resp *resp);
void coord_h_usage(struct atl_coord *c, const struct atl_http_req *req,
		   struct atl_http_resp *resp);
void coord_h_list(struct atl_coord *c, const struct atl_http_req *req,
		  struct atl_http_resp *resp);
void coord_h_cancel(struct atl_coord *c, const struct atl_http_req *req,
		    struct atl_http_resp *resp);

/* TPM island registration (tpm.c): credential activation of the AK against
 * the certified EK, and the freshness countersignature of verified tpm
 * evidence (a malloc'd copy of text, or NULL when not applicable). */
void coord_h_tpm_challenge(struct atl_coord *c, const struct atl_http_req *req,
			   struct atl_http_resp *resp);
void coord_h_tpm_activate(struct atl_coord *c, const struct atl_http_req *req,
			  struct atl_http_resp *resp);
char *coord_tpm_countersign(struct atl_coord *c, const char *text);
/* Island bearer-token authentication (island.c); false after answering resp. */
bool coord_island_auth(struct atl_coord *c, const struct atl_http_req *req,
		       struct atl_http_resp *resp, struct atl_store_island *out);

/* Shared helpers (api.c). */
/* Answers resp with the generic error for a store error and logs what. */
void coord_store_error(struct atl_http_resp *resp, enum atl_err rc, const char *what);
/* Compact JSON text keeping the document's key order (malloc'd) or NULL. */
char *coord_json_text(const json_t *v);
/* Attested islands whose evidence is younger than max_age_s (newest first). */
ATL_NODISCARD enum atl_err coord_live_islands(struct atl_coord *c, int64_t now,
					      struct atl_store_island **list_out, size_t *n_out);

#endif
