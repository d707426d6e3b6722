/* The coordinator's route table, /healthz and /metrics, and helpers shared by
 * the island and client handlers. Every route goes through a trampoline that
 * counts its answer for /metrics (requests refused by the HTTP layer before a
 * handler runs — unknown path, wrong method, body over the limit — are not
 * counted). */
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "coordinator"
#include "atoll/log.h"
#include "coordinator/coord_int.h"

static void h_healthz(struct atl_coord *c, const struct atl_http_req *req,
		      struct atl_http_resp *resp)
{
	(void)c;
	(void)req;
	atl_http_resp_text(resp, 200, "application/json", "{\"status\":\"ok\"}");
}

static void h_metrics(struct atl_coord *c, const struct atl_http_req *req,
		      struct atl_http_resp *resp)
{
	char *t = coord_metrics_text(c);

	(void)req;
	if (t == NULL) {
		atl_http_resp_error(resp, 500, "internal", "metrics unavailable");
		return;
	}
	atl_http_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", t);
	free(t);
}

#define TRAMPOLINE(fn, idx)                                                                \
	static void t_##idx(void *ctx, const struct atl_http_req *req,                     \
			    struct atl_http_resp *resp)                                    \
	{                                                                                  \
		struct atl_coord *c_ = ctx;                                                \
		atomic_fetch_add(&c_->in_flight, 1);                                       \
		fn(c_, req, resp);                                                         \
		coord_count(c_, idx, resp->status);                                        \
		atomic_fetch_sub(&c_->in_flight, 1);                                       \
	}

/* A job just done wakes the clients long-polling for it (client.c
 * coord_h_job with ?wait=S) and, harmlessly, the leases waiting for work. */
static void h_result_wake(struct atl_coord *c, const struct atl_http_req *req,
			  struct atl_http_resp *resp)
{
	coord_h_result(c, req, resp);
	if (resp->status == 200)
		coord_wake(c);
}

TRAMPOLINE(h_healthz, R_HEALTHZ)
TRAMPOLINE(h_metrics, R_METRICS)
TRAMPOLINE(coord_h_challenge, R_I_CHALLENGE)
TRAMPOLINE(coord_h_evidence, R_I_EVIDENCE)
TRAMPOLINE(coord_h_lease, R_I_LEASE)
TRAMPOLINE(coord_h_model, R_I_MODEL)
TRAMPOLINE(h_result_wake, R_I_RESULT)
TRAMPOLINE(coord_h_fail, R_I_FAIL)
TRAMPOLINE(coord_h_targets, R_C_TARGETS)
TRAMPOLINE(coord_h_stats, R_C_STATS)
TRAMPOLINE(coord_h_submit, R_C_SUBMIT)
TRAMPOLINE(coord_h_job, R_C_JOB)
TRAMPOLINE(coord_h_usage, R_C_USAGE)
TRAMPOLINE(coord_h_list, R_C_LIST)
TRAMPOLINE(coord_h_cancel, R_C_CANCEL)
TRAMPOLINE(coord_h_tpm_challenge, R_I_TPM_CHALLENGE)
TRAMPOLINE(coord_h_tpm_activate, R_I_TPM_ACTIVATE)

/* Small bodies where nothing large is expected; the default cap
 * (ATL_HTTP_BODY_MAX, a sealed input plus JSON) for jobs and results. */
#define SMALL_BODY 4096u

const struct atl_http_route atl_coord_routes[R__COUNT] = {
	[R_HEALTHZ] = {"GET", "/healthz", t_R_HEALTHZ, SMALL_BODY},
	[R_METRICS] = {"GET", "/metrics", t_R_METRICS, SMALL_BODY},
	[R_I_CHALLENGE] = {"POST", "/api/v1/islands/challenge", t_R_I_CHALLENGE, SMALL_BODY},
	/* evidence wrapper (<= ATL_STORE_EVIDENCE_MAX) plus JSON around it */
	[R_I_EVIDENCE] = {"POST", "/api/v1/islands/evidence", t_R_I_EVIDENCE,
			  ATL_STORE_EVIDENCE_MAX + 4096u},
	[R_I_LEASE] = {"GET", "/api/v1/islands/lease", t_R_I_LEASE, SMALL_BODY},
	[R_I_MODEL] = {"GET", "/api/v1/islands/models/{workload_id}", t_R_I_MODEL, SMALL_BODY},
	[R_I_RESULT] = {"POST", "/api/v1/islands/jobs/{job_id}/result", t_R_I_RESULT, 0},
	[R_I_FAIL] = {"POST", "/api/v1/islands/jobs/{job_id}/fail", t_R_I_FAIL, SMALL_BODY},
	[R_C_TARGETS] = {"GET", "/api/v1/confidential/targets", t_R_C_TARGETS, SMALL_BODY},
	[R_C_STATS] = {"GET", "/api/v1/confidential/stats", t_R_C_STATS, SMALL_BODY},
	[R_C_SUBMIT] = {"POST", "/api/v1/jobs", t_R_C_SUBMIT, 0},
	[R_C_JOB] = {"GET", "/api/v1/jobs/{job_id}", t_R_C_JOB, SMALL_BODY},
	[R_C_USAGE] = {"GET", "/api/v1/usage", t_R_C_USAGE, SMALL_BODY},
	[R_C_LIST] = {"GET", "/api/v1/jobs", t_R_C_LIST, SMALL_BODY},
	[R_C_CANCEL] = {"DELETE", "/api/v1/jobs/{job_id}", t_R_C_CANCEL, SMALL_BODY},
	/* TPM registration: EK certificate + public areas in JSON */
	[R_I_TPM_CHALLENGE] = {"POST", "/api/v1/islands/tpm/challenge", t_R_I_TPM_CHALLENGE,
			       ATL_ATTEST_ANCHOR_MAX * 2u + 8192u},
	[R_I_TPM_ACTIVATE] = {"POST", "/api/v1/islands/tpm/activate", t_R_I_TPM_ACTIVATE,
			      ATL_ATTEST_ANCHOR_MAX * 2u + 8192u},
};


void coord_store_error(struct atl_http_resp *resp, enum atl_err rc, const char *what)
{
	const char *code = NULL;
	int status = atl_http_status_for(rc, &code);

	if (status >= 500)
		atl_warn("%s: %s", what, atl_strerror(rc));
	atl_http_resp_error(resp, status, code, status >= 500 ? "try again later" : what);
}

char *coord_json_text(const json_t *v)
{
	/* jansson keeps insertion order; COMPACT without SORT_KEYS keeps the
	 * peer's order (the envelope's AAD does not depend on it, DESIGN §3) */
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

enum atl_err coord_live_islands(struct atl_coord *c, int64_t now,
				struct atl_store_island **list_out, size_t *n_out)
{
	return atl_store_island_list_attested(c->store, now - c->max_age_s, ATL_STORE_LIST_MAX,
					      list_out, n_out);
}
