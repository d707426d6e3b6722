/* The running coordinator: start, stop, wake-ups and the maintenance thread
 * (include/atoll/coordinator.h, docs/internals/coordinator.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATL_LOG_MODULE "coordinator"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "coordinator/coord_int.h"

/* Graceful stop: how long running handlers get to return, then how long
 * their responses get to be written before the sockets are shut. */
#define STOP_DRAIN_MS 10000
#define STOP_SEND_GRACE_MS 200

#define MAINT_QUEUED_REASON "expired: no attested recipient enclave took the job in time"

uint64_t coord_generation(struct atl_coord *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->mu);
	g = c->generation;
	pthread_mutex_unlock(&c->mu);
	return g;
}

void coord_wake(struct atl_coord *c)
{
	pthread_mutex_lock(&c->mu);
	c->generation++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void coord_wait(struct atl_coord *c, uint64_t seen, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t left = deadline_ms - atl_time_mono_ms();

	if (left <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(left / 1000);
	ts.tv_nsec += (long)(left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (c->generation == seen && !atomic_load(&c->stopping)) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&c->mu);
}

/* One round of maintenance: leases past their deadline go back to the queue
 * (or fail after ATL_JOB_ATTEMPTS_MAX), queued jobs older than queue_age_s
 * fail, islands whose evidence is older than max_age_s become STALE. */
static void maintain(struct atl_coord *c)
{
	int64_t now = atl_time_now();
	size_t requeued = 0, failed = 0, queued = 0, staled = 0;
	enum atl_err rc;

	rc = atl_store_job_expire(c->store, now, &requeued, &failed);
	if (rc != ATL_OK)
		atl_warn("lease expiry: %s", atl_strerror(rc));
	rc = atl_store_job_expire_queued(c->store, now - c->queue_age_s, MAINT_QUEUED_REASON, now,
					 &queued);
	if (rc != ATL_OK)
		atl_warn("queued job expiry: %s", atl_strerror(rc));
	rc = atl_store_island_expire(c->store, now - c->max_age_s, &staled);
	if (rc != ATL_OK)
		atl_warn("island attestation expiry: %s", atl_strerror(rc));
	if (requeued + failed + queued + staled > 0) {
		atl_info("maintenance: %zu lease(s) requeued, %zu failed, %zu queued job(s) expired, "
			 "%zu island(s) stale", requeued, failed, queued, staled);
		pthread_mutex_lock(&c->mmu);
		c->lease_expired += requeued + failed;
		c->lease_failed += failed;
		c->queued_expired += queued;
		c->islands_staled += staled;
		pthread_mutex_unlock(&c->mmu);
	}
	if (requeued > 0)
		coord_wake(c);
}

static void *maint_main(void *arg)
{
	struct atl_coord *c = arg;

	while (!atomic_load(&c->stopping)) {
		uint64_t g = coord_generation(c);
		maintain(c);
		coord_wait(c, g, atl_time_mono_ms() + c->maint_s * 1000);
	}
	return NULL;
}

static void set_why(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

enum atl_err atl_coord_start(const struct atl_coord_opts *opts, struct atl_coord **c_out,
			     char *why, size_t why_cap)
{
	struct atl_http_server_opts so = {0};
	struct atl_coord *c = NULL;
	pthread_condattr_t ca;
	char pwhy[256];
	enum atl_err rc = ATL_E_INTERNAL;

	if (why != NULL && why_cap > 0)
		why[0] = '\0';
	if (c_out == NULL || opts == NULL || opts->db == NULL || opts->lease_s < 0 ||
	    opts->maint_s < 0 || opts->queue_age_s < 0 || opts->challenge_s < 0)
		return ATL_E_ARG;
	*c_out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ATL_E_NOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->mmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&c->stopping, false);
	atomic_init(&c->in_flight, 0);
	c->lease_s = opts->lease_s != 0 ? opts->lease_s : ATL_COORD_LEASE_S_DEFAULT;
	c->maint_s = opts->maint_s != 0 ? opts->maint_s : ATL_COORD_MAINT_S_DEFAULT;
	c->queue_age_s = opts->queue_age_s != 0 ? opts->queue_age_s : ATL_COORD_QUEUE_AGE_S_DEFAULT;
	c->challenge_s = opts->challenge_s != 0 ? opts->challenge_s : ATL_COORD_CHALLENGE_S_DEFAULT;
	if (opts->policy_path != NULL) {
		pwhy[0] = '\0';
		rc = atl_policy_load(opts->policy_path, &c->policy, pwhy, sizeof(pwhy));
		if (rc != ATL_OK) {
			set_why(why, why_cap, "policy %s: %s", opts->policy_path,
				pwhy[0] != '\0' ? pwhy : atl_strerror(rc));
			goto out;
		}
	}
	c->max_age_s = atl_policy_max_age(c->policy);
	if (opts->tpm_activation_key_pem != NULL) {
		const char *k = opts->tpm_activation_key_pem;
		rc = atl_privkey_parse((const uint8_t *)k, strlen(k), &c->tpm_key);
		if (rc != ATL_OK) {
			set_why(why, why_cap, "TPM activation key: not a private key");
			goto out;
		}
	}
	rc = atl_store_open(opts->db, &c->store);
	if (rc != ATL_OK) {
		set_why(why, why_cap, "database %s: %s", opts->db, atl_strerror(rc));
		goto out;
	}
	if (pthread_create(&c->maint, NULL, maint_main, c) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	c->maint_started = true;
	so.listen = opts->listen;
	so.allow_public = opts->allow_public;
	so.tls_cert_pem = opts->tls_cert_pem;
	so.tls_key_pem = opts->tls_key_pem;
	so.tls_client_ca_pem = opts->tls_client_ca_pem;
	/* a long-poll holds its connection up to ATL_COORD_WAIT_MAX_S */
	so.timeout_s = opts->timeout_s != 0 ? opts->timeout_s : ATL_COORD_WAIT_MAX_S + 30;
	rc = atl_http_server_start(&so, atl_coord_routes, R__COUNT, c, &c->srv);
	if (rc != ATL_OK) {
		set_why(why, why_cap, "cannot listen on %s: %s",
			opts->listen != NULL ? opts->listen : "127.0.0.1:0", atl_strerror(rc));
		goto out;
	}
	atl_info("listening on port %u; policy %s (max_age_s %lld); lease %llds",
		 (unsigned)atl_http_server_port(c->srv),
		 opts->policy_path != NULL ? "loaded" : "default", (long long)c->max_age_s,
		 (long long)c->lease_s);
	*c_out = c;
	c = NULL;
	rc = ATL_OK;
out:
	atl_coord_stop(c);
	return rc;
}

uint16_t atl_coord_port(const struct atl_coord *c)
{
	return c != NULL ? atl_http_server_port(c->srv) : 0;
}

void atl_coord_stop(struct atl_coord *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->stopping, true);
	coord_wake(c);
	/* Long-polls see `stopping` and answer 204 at once; the others finish.
	 * libmicrohttpd's stop shuts every connection's socket, so let running
	 * handlers return and their answers go out first (bounded wait). */
	if (c->srv != NULL) {
		int64_t until = atl_time_mono_ms() + STOP_DRAIN_MS;
		while (atomic_load(&c->in_flight) > 0 && atl_time_mono_ms() < until) {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
		}
		{
			struct timespec ts = {0, STOP_SEND_GRACE_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	atl_http_server_stop(c->srv);
	c->srv = NULL;
	if (c->maint_started)
		pthread_join(c->maint, NULL);
	atl_store_close(c->store);
	json_decref(c->policy);
	atl_privkey_free(c->tpm_key);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->mmu);
	free(c);
}
