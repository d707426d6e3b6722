/* Private to src/store/: the backend table behind struct atl_store.
 *
 * store.c validates arguments against the named limits, takes the handle's
 * mutex and calls the backend; a backend sees only validated arguments and runs
 * each operation as one transaction. Signatures match include/atoll/store.h. */
#ifndef ATOLL_STORE_BACKEND_H
#define ATOLL_STORE_BACKEND_H

#include <pthread.h>

#include "atoll/store.h"

struct atl_store_ops {
	void (*close)(struct atl_store *s);
	enum atl_err (*migrate)(struct atl_store *s, int *version_out);
	enum atl_err (*tenant_add)(struct atl_store *s, const char *name, const uint8_t *key_hash,
				   int64_t now, int64_t *id_out);
	enum atl_err (*tenant_by_key_hash)(struct atl_store *s, const uint8_t *key_hash,
					   struct atl_store_tenant *out);
	enum atl_err (*tenant_list)(struct atl_store *s, size_t max,
				    struct atl_store_tenant **list_out, size_t *n_out);
	enum atl_err (*island_list)(struct atl_store *s, size_t max,
				    struct atl_store_island **list_out, size_t *n_out);
	enum atl_err (*island_add)(struct atl_store *s, const char *name, const uint8_t *token_hash,
				   int64_t now, int64_t *id_out);
	/* by token hash, else by kid, else by id */
	enum atl_err (*island_find)(struct atl_store *s, const uint8_t *token_hash, const char *kid,
				    int64_t id, struct atl_store_island *out);
	enum atl_err (*island_set_attested)(struct atl_store *s, int64_t id, const char *tee,
					    const uint8_t *pub, const char *kid,
					    const uint8_t *evidence, size_t evidence_len,
					    int64_t attested_at);
	enum atl_err (*island_set_status)(struct atl_store *s, int64_t id, int st);
	enum atl_err (*island_expire)(struct atl_store *s, int64_t oldest, size_t *n_out);
	enum atl_err (*island_list_attested)(struct atl_store *s, int64_t oldest, size_t max,
					     struct atl_store_island **list_out, size_t *n_out);
	enum atl_err (*attestation_foreach)(struct atl_store *s, int64_t island_id,
					    int64_t after_seq, size_t max,
					    int (*fn)(void *ctx,
						      const struct atl_store_attestation *a),
					    void *ctx);
	enum atl_err (*challenge_add)(struct atl_store *s, int64_t island_id, const uint8_t *nonce,
				      size_t nonce_len, int64_t now, int64_t expires_at);
	enum atl_err (*challenge_take)(struct atl_store *s, int64_t island_id,
				       const uint8_t *nonce, size_t nonce_len, int64_t now);
	enum atl_err (*workload_add)(struct atl_store *s, const struct atl_store_workload *w);
	enum atl_err (*workload_list)(struct atl_store *s, size_t max,
				      struct atl_store_workload **list_out, size_t *n_out);
	enum atl_err (*workload_get)(struct atl_store *s, const char *id,
				     struct atl_store_workload *out);
	enum atl_err (*job_submit)(struct atl_store *s, const struct atl_store_job_new *j,
				   int64_t now, const char *id);
	enum atl_err (*job_get)(struct atl_store *s, int64_t tenant_id, const char *job_id,
				bool with_input, struct atl_store_job *out);
	enum atl_err (*job_list)(struct atl_store *s, int64_t tenant_id, const char *before_id,
				 size_t max, struct atl_store_job **list_out, size_t *n_out);
	enum atl_err (*job_cancel)(struct atl_store *s, int64_t tenant_id, const char *job_id,
				   int64_t now);
	enum atl_err (*job_lease)(struct atl_store *s, int64_t island_id, const char *const *kids,
				  size_t n_kids, int64_t now, int64_t lease_s,
				  struct atl_store_job *out);
	enum atl_err (*job_complete)(struct atl_store *s, int64_t island_id, const char *job_id,
				     const uint8_t *output, size_t output_len, int64_t now);
	enum atl_err (*job_fail)(struct atl_store *s, int64_t island_id, const char *job_id,
				 const char *reason, int64_t now);
	enum atl_err (*job_expire)(struct atl_store *s, int64_t now, size_t *n_requeued_out,
				   size_t *n_failed_out);
	enum atl_err (*job_expire_queued)(struct atl_store *s, int64_t created_before,
					  const char *reason, int64_t now, size_t *n_out);
	enum atl_err (*job_counts)(struct atl_store *s, uint64_t counts_out[ATL_JOB_STATUS_COUNT]);
	enum atl_err (*usage_get)(struct atl_store *s, int64_t tenant_id,
				  struct atl_store_usage *out);
	enum atl_err (*audit_add)(struct atl_store *s, int64_t now, const char *actor,
				  const char *action, const char *subject, const char *detail);
	enum atl_err (*audit_foreach)(struct atl_store *s, int64_t after_seq, size_t max,
				      int (*fn)(void *ctx, const struct atl_store_audit *row),
				      void *ctx);
};

/* Every backend's handle starts with this. */
struct atl_store {
	enum atl_store_backend backend;
	const struct atl_store_ops *ops;
	pthread_mutex_t mu;
};

/* Opens a SQLite database file (sqlite.c). A PostgreSQL backend adds
 * atl_store_postgres_open(conninfo, …) with its own ops table. */
ATL_NODISCARD enum atl_err atl_store_sqlite_open(const char *path, struct atl_store **store_out);

#endif
