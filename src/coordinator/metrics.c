/* /metrics in the Prometheus text exposition format (version 0.0.4):
 *   atoll_jobs{state="queued"} …            from the store (all coordinators)
 *   atoll_attested_islands{tee="sim"} …     islands with evidence younger than max_age_s
 *   atoll_http_requests_total{method,route,status} answered by this process
 *   atoll_lease_expiries_total, atoll_jobs_failed_lease_total,
 *   atoll_queued_jobs_expired_total, atoll_islands_staled_total,
 *   atoll_attestations_total{result}, atoll_leases_total  this process */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/timeutil.h"
#include "coordinator/coord_int.h"

void coord_count(struct atl_coord *c, enum coord_route r, int status)
{
	if (c == NULL || (unsigned)r >= R__COUNT)
		return;
	pthread_mutex_lock(&c->mmu);
	for (size_t i = 0; i < COORD_STATUS_SLOTS; i++) {
		struct coord_status_count *sc = &c->req[r][i];
		if (sc->status == status || sc->status == 0) {
			sc->status = status;
			sc->n++;
			break;
		}
	}
	pthread_mutex_unlock(&c->mmu);
}

struct buf {
	char *p;
	size_t len, cap;
	bool bad;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->bad)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->bad = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap * 2 + (size_t)n;
			char *q = realloc(b->p, cap);
			if (q == NULL) {
				b->bad = true;
				return;
			}
			b->p = q;
			b->cap = cap;
		}
	}
}

/* TEE names are [a-z0-9-] (store-validated), safe inside a label value. */
static void islands_by_tee(struct atl_coord *c, struct buf *b)
{
	struct atl_store_island *list = NULL;
	size_t n = 0;
	int64_t oldest = atl_time_now() - c->max_age_s;

	put(b, "# HELP atoll_attested_islands Islands whose evidence is younger than max_age_s.\n"
	       "# TYPE atoll_attested_islands gauge\n");
	if (atl_store_island_list(c->store, ATL_STORE_LIST_MAX, &list, &n) != ATL_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		bool first = true;

		if (list[i].status != ATL_ISLAND_ATTESTED || list[i].attested_at < oldest)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (list[j].status == ATL_ISLAND_ATTESTED && list[j].attested_at >= oldest &&
			    strcmp(list[j].tee, list[i].tee) == 0)
				first = false;
		}
		if (!first)
			continue;
		for (size_t j = i; j < n; j++) {
			if (list[j].status == ATL_ISLAND_ATTESTED && list[j].attested_at >= oldest &&
			    strcmp(list[j].tee, list[i].tee) == 0)
				k++;
		}
		put(b, "atoll_attested_islands{tee=\"%s\"} %zu\n", list[i].tee, k);
	}
	atl_store_island_list_free(list, n);
}

char *coord_metrics_text(struct atl_coord *c)
{
	struct buf b = {.cap = 4096};
	uint64_t counts[ATL_JOB_STATUS_COUNT] = {0};

	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	put(&b, "# HELP atoll_jobs Jobs in the store by state.\n# TYPE atoll_jobs gauge\n");
	if (atl_store_job_counts(c->store, counts) == ATL_OK) {
		for (int s = 0; s < ATL_JOB_STATUS_COUNT; s++)
			put(&b, "atoll_jobs{state=\"%s\"} %llu\n",
			    atl_job_status_name((enum atl_job_status)s), (unsigned long long)counts[s]);
	}
	islands_by_tee(c, &b);
	pthread_mutex_lock(&c->mmu);
	put(&b, "# HELP atoll_http_requests_total Requests answered, by method, route and status.\n"
		"# TYPE atoll_http_requests_total counter\n");
	for (int r = 0; r < R__COUNT; r++) {
		for (size_t i = 0; i < COORD_STATUS_SLOTS && c->req[r][i].status != 0; i++)
			put(&b,
			    "atoll_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} "
			    "%llu\n",
			    atl_coord_routes[r].method, atl_coord_routes[r].pattern, c->req[r][i].status,
			    (unsigned long long)c->req[r][i].n);
	}
	put(&b,
	    "# HELP atoll_lease_expiries_total Leases that expired (job requeued or failed).\n"
	    "# TYPE atoll_lease_expiries_total counter\n"
	    "atoll_lease_expiries_total %llu\n"
	    "# HELP atoll_jobs_failed_lease_total Jobs failed after their last lease expired.\n"
	    "# TYPE atoll_jobs_failed_lease_total counter\n"
	    "atoll_jobs_failed_lease_total %llu\n"
	    "# HELP atoll_queued_jobs_expired_total Queued jobs failed because no island took them.\n"
	    "# TYPE atoll_queued_jobs_expired_total counter\n"
	    "atoll_queued_jobs_expired_total %llu\n"
	    "# HELP atoll_islands_staled_total Islands marked stale (evidence older than max_age_s).\n"
	    "# TYPE atoll_islands_staled_total counter\n"
	    "atoll_islands_staled_total %llu\n"
	    "# HELP atoll_attestations_total Island evidence verified, by result.\n"
	    "# TYPE atoll_attestations_total counter\n"
	    "atoll_attestations_total{result=\"accepted\"} %llu\n"
	    "atoll_attestations_total{result=\"refused\"} %llu\n"
	    "# HELP atoll_leases_total Jobs leased to islands.\n"
	    "# TYPE atoll_leases_total counter\n"
	    "atoll_leases_total %llu\n",
	    (unsigned long long)c->lease_expired, (unsigned long long)c->lease_failed,
	    (unsigned long long)c->queued_expired, (unsigned long long)c->islands_staled,
	    (unsigned long long)c->attest_ok, (unsigned long long)c->attest_refused,
	    (unsigned long long)c->leases_granted);
	pthread_mutex_unlock(&c->mmu);
	if (b.bad) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
