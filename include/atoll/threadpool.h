/* A fixed pool of worker threads for data-parallel loops (the matmuls and
 * attention of the inference engine, docs/internals/infer-engine.md).
 *
 * atl_pool_run splits [0, n) into chunks handed out through an atomic counter
 * to the calling thread and the workers, and returns when all chunks are
 * done. Workers spin briefly between jobs (a forward pass runs hundreds of
 * short loops per token) and then sleep on a condition variable, so an idle
 * pool costs nothing. One job at a time: atl_pool_run must not be called
 * concurrently on one pool, nor from inside a job. */
#ifndef ATOLL_THREADPOOL_H
#define ATOLL_THREADPOOL_H

#include <stddef.h>

#include "atoll/err.h"

struct atl_pool;

/* fn(ctx, begin, end, tid) processes items [begin, end); tid < n_threads
 * identifies the thread (0 = the caller), for per-thread scratch. */
typedef void (*atl_pool_fn)(void *ctx, size_t begin, size_t end, unsigned tid);

/* A pool of n_threads in all (the caller counts as one, so n_threads - 1
 * workers are started), 1..ATL_POOL_THREADS_MAX. ATL_E_ARG, ATL_E_NOMEM,
 * ATL_E_INTERNAL if a thread cannot be started. */
ATL_NODISCARD enum atl_err atl_pool_new(unsigned n_threads, struct atl_pool **pool_out);
/* Stops and joins the workers. NULL-safe. */
void atl_pool_free(struct atl_pool *pool);
unsigned atl_pool_size(const struct atl_pool *pool);
/* Runs fn over [0, n) in chunks of `chunk` items (0 = pick one). */
void atl_pool_run(struct atl_pool *pool, size_t n, size_t chunk, atl_pool_fn fn, void *ctx);

#endif
