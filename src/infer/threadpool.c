/* Fixed worker pool with chunked parallel-for (threadpool.h).
 *
 * Protocol: the caller publishes a job (fn, ctx, n, chunk, next = 0,
 * pending = n_workers) and bumps `gen`. Workers notice the new generation by
 * spinning or, after ATL_POOL_SPIN rounds, by sleeping on `cv`; the wake-up
 * cannot be lost because a worker re-checks `gen` under the mutex before it
 * waits, and the caller broadcasts under the same mutex when any worker
 * sleeps (both counters are sequentially consistent). Each participant takes
 * chunks until none are left, then decrements `pending`; the caller waits
 * for pending == 0, so the job's memory outlives every access to it. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "atoll/limits.h"
#include "atoll/threadpool.h"

#define ATL_POOL_SPIN 20000 /* pause rounds before a worker sleeps */
#define ATL_POOL_YIELD 256  /* sched_yield every this many rounds */

struct atl_pool {
	unsigned n_threads;
	pthread_t *th;
	unsigned n_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_ulong gen;
	atomic_int stop;
	atomic_uint sleepers;
	atomic_uint pending;
	atomic_size_t next;
	/* the current job, written before gen is bumped */
	atl_pool_fn fn;
	void *ctx;
	size_t n, chunk;
};

struct worker_arg {
	struct atl_pool *p;
	unsigned tid;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void do_chunks(struct atl_pool *p, unsigned tid)
{
	for (;;) {
		size_t b = atomic_fetch_add_explicit(&p->next, p->chunk, memory_order_relaxed);
		if (b >= p->n)
			break;
		size_t e = p->n - b < p->chunk ? p->n : b + p->chunk;
		p->fn(p->ctx, b, e, tid);
	}
}

static void *worker(void *arg)
{
	struct worker_arg wa = *(struct worker_arg *)arg;
	struct atl_pool *p = wa.p;
	free(arg);
	/* gen was 0 when the pool was made: a job published before this thread
	 * got to run must still be seen as new */
	unsigned long seen = 0;
	for (;;) {
		int spins = 0;
		while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop) &&
		       spins < ATL_POOL_SPIN) {
			/* on a shared machine give the core away now and then */
			if (++spins % ATL_POOL_YIELD == 0)
				sched_yield();
			else
				cpu_relax();
		}
		if (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) {
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->stop))
			return NULL;
		seen = atomic_load(&p->gen);
		do_chunks(p, wa.tid);
		atomic_fetch_sub(&p->pending, 1);
	}
}

enum atl_err atl_pool_new(unsigned n_threads, struct atl_pool **pool_out)
{
	*pool_out = NULL;
	if (n_threads == 0 || n_threads > ATL_POOL_THREADS_MAX)
		return ATL_E_ARG;
	struct atl_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return ATL_E_NOMEM;
	p->n_threads = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (n_threads > 1) {
		p->th = calloc(n_threads - 1, sizeof(*p->th));
		if (p->th == NULL) {
			atl_pool_free(p);
			return ATL_E_NOMEM;
		}
	}
	for (unsigned i = 1; i < n_threads; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));
		if (wa == NULL) {
			atl_pool_free(p);
			return ATL_E_NOMEM;
		}
		wa->p = p;
		wa->tid = i;
		if (pthread_create(&p->th[i - 1], NULL, worker, wa) != 0) {
			free(wa);
			atl_pool_free(p);
			return ATL_E_INTERNAL;
		}
		p->n_started++;
	}
	*pool_out = p;
	return ATL_OK;
}

void atl_pool_free(struct atl_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_started; i++)
		pthread_join(p->th[i], NULL);
	free(p->th);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

unsigned atl_pool_size(const struct atl_pool *p)
{
	return p->n_threads;
}

void atl_pool_run(struct atl_pool *p, size_t n, size_t chunk, atl_pool_fn fn, void *ctx)
{
	if (n == 0)
		return;
	if (chunk == 0) {
		chunk = n / ((size_t)p->n_threads * 4);
		if (chunk == 0)
			chunk = 1;
	}
	if (p->n_threads == 1 || n <= chunk) {
		fn(ctx, 0, n, 0);
		return;
	}
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	p->chunk = chunk;
	atomic_store(&p->next, 0);
	atomic_store(&p->pending, p->n_threads - 1);
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	do_chunks(p, 0);
	/* a worker that lost its core finishes sooner if we do not spin on it */
	for (unsigned spins = 1; atomic_load(&p->pending) != 0; spins++) {
		if (spins % ATL_POOL_YIELD == 0)
			sched_yield();
		else
			cpu_relax();
	}
}
