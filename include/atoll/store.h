/* The coordinator's store (DESIGN §6): tenants, islands, workloads, the job
 * queue with leases, usage metering and the audit log.
 *
 * One interface, several backends behind an opaque handle with a backend tag:
 * SQLite now (WAL, busy timeout, foreign keys, versioned migrations), PostgreSQL
 * later (the lease is one `UPDATE … WHERE seq = (SELECT … FOR UPDATE SKIP
 * LOCKED) RETURNING …`, the same shape the SQLite backend uses with a single
 * UPDATE … RETURNING). Only src/store/ sees sqlite3.h / libpq-fe.h.
 *
 * The store holds only ciphertext, public keys, evidence and metadata: API keys
 * and island tokens are stored as SHA-256 digests (include/atoll/digest.h) and
 * looked up by digest; sealed inputs/outputs are opaque blobs.
 *
 * A handle is safe to share between threads (operations are serialised by a
 * mutex); several handles (or processes) on one database file coordinate
 * through the database's own locking: every write is one transaction that
 * takes the write lock first (SQLite BEGIN IMMEDIATE; PostgreSQL row locks). Times are seconds since the epoch and
 * are passed in by the caller (tests control the clock).
 *
 * Errors: ATL_E_ARG (bad argument, over a named limit), ATL_E_NOTFOUND,
 * ATL_E_EXISTS (unique name/id taken), ATL_E_DENIED (an island acting on a job
 * it does not hold), ATL_E_STATE (wrong job state), ATL_E_BUSY (database locked
 * past the busy timeout), ATL_E_IO (any other database failure),
 * ATL_E_UNSUPPORTED (backend not built), ATL_E_NOMEM. */
#ifndef ATOLL_STORE_H
#define ATOLL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/digest.h"
#include "atoll/err.h"
#include "atoll/keys.h"
#include "atoll/limits.h"

enum atl_store_backend { ATL_STORE_SQLITE = 1, ATL_STORE_POSTGRES = 2 };

/* Current schema version the code migrates to. */
#define ATL_STORE_SCHEMA_VERSION 4
/* "job_" + 32 hex digits + NUL */
#define ATL_JOB_ID_LEN (4 + 32 + 1)
/* Default busy timeout (ms) when another connection holds the write lock. */
#define ATL_STORE_BUSY_MS 5000

struct atl_store;

/* Opens (creating if needed) a store and migrates its schema to
 * ATL_STORE_SCHEMA_VERSION. `url` is "sqlite:PATH", a plain PATH (SQLite), or
 * "postgres://…" (ATL_E_UNSUPPORTED until the PostgreSQL backend lands).
 * A SQLite file is created with mode 0600. */
ATL_NODISCARD enum atl_err atl_store_open(const char *url, struct atl_store **store_out);
/* Closes the handle; NULL-safe. */
void atl_store_close(struct atl_store *s);
enum atl_store_backend atl_store_backend(const struct atl_store *s);
/* Applies any pending migrations (atl_store_open already did; running it again
 * is a no-op). *version_out (may be NULL) gets the schema version afterwards. */
ATL_NODISCARD enum atl_err atl_store_migrate(struct atl_store *s, int *version_out);

/* ---- secret tokens (tenant API keys "ak_…", island tokens "it_…") ---- */
/* prefix (3 bytes) + 64 lowercase hex digits (32 random bytes) + NUL */
#define ATL_STORE_TOKEN_LEN (3 + 64 + 1)
/* A fresh token and its SHA-256 (the only thing the store keeps). The token
 * is shown to its owner once and never logged; the caller wipes it.
 * prefix must be "ak_" or "it_" (ATL_E_ARG otherwise). */
ATL_NODISCARD enum atl_err atl_store_token_new(const char *prefix,
					       char token_out[ATL_STORE_TOKEN_LEN],
					       uint8_t hash_out[ATL_SHA256_LEN]);
/* The SHA-256 of a presented token after checking its form (prefix, exactly
 * 64 lowercase hex digits). ATL_E_AUTH for anything malformed, so a peer
 * gets the same answer as for an unknown token. */
ATL_NODISCARD enum atl_err atl_store_token_hash(const char *prefix, const char *token,
						uint8_t hash_out[ATL_SHA256_LEN]);

/* ---- tenants ---- */
struct atl_store_tenant {
	int64_t id;
	char name[ATL_STORE_NAME_MAX + 1];
	int64_t created_at;
};
/* Adds a tenant with the digest of its API key. ATL_E_EXISTS if the name or
 * key digest is taken. */
ATL_NODISCARD enum atl_err atl_store_tenant_add(struct atl_store *s, const char *name,
						const uint8_t key_hash[ATL_SHA256_LEN], int64_t now,
						int64_t *id_out);
/* Finds the tenant whose API key hashes to key_hash; ATL_E_NOTFOUND if none. */
ATL_NODISCARD enum atl_err atl_store_tenant_by_key_hash(struct atl_store *s,
							const uint8_t key_hash[ATL_SHA256_LEN],
							struct atl_store_tenant *out);

/* All tenants by id, at most max (1..ATL_STORE_LIST_MAX); malloc'd, free(). */
ATL_NODISCARD enum atl_err atl_store_tenant_list(struct atl_store *s, size_t max,
						 struct atl_store_tenant **list_out, size_t *n_out);

/* ---- islands ---- */
enum atl_island_status {
	ATL_ISLAND_REGISTERED = 0, /* token issued, not attested yet */
	ATL_ISLAND_ATTESTED = 1,   /* evidence verified at attested_at */
	ATL_ISLAND_STALE = 2,      /* evidence too old or enclave restarted */
	ATL_ISLAND_DISABLED = 3,   /* operator switched it off */
};
struct atl_store_island {
	int64_t id;
	char name[ATL_STORE_NAME_MAX + 1];
	enum atl_island_status status;
	char tee[ATL_STORE_NAME_MAX + 1];       /* "" until attested */
	bool has_key;
	uint8_t enclave_pub[ATL_X25519_LEN];
	char enclave_kid[ATL_KEY_ID_LEN];       /* "" until attested */
	int64_t attested_at;                    /* 0 until attested */
	int64_t created_at;
	uint8_t *evidence;                      /* malloc'd (free()), NULL if none */
	size_t evidence_len;
};
/* Frees the evidence buffer of an island record; NULL-safe. */
void atl_store_island_clear(struct atl_store_island *is);
ATL_NODISCARD enum atl_err atl_store_island_add(struct atl_store *s, const char *name,
						const uint8_t token_hash[ATL_SHA256_LEN], int64_t now,
						int64_t *id_out);
ATL_NODISCARD enum atl_err atl_store_island_by_token_hash(struct atl_store *s,
							  const uint8_t token_hash[ATL_SHA256_LEN],
							  struct atl_store_island *out);
ATL_NODISCARD enum atl_err atl_store_island_get(struct atl_store *s, int64_t id,
						struct atl_store_island *out);
/* The island whose current enclave key id is kid ("ek_…"), whatever its
 * status (check status and attested_at); ATL_E_NOTFOUND if none. For the
 * coordinator's check that a job's recipients include a live enclave key. */
ATL_NODISCARD enum atl_err atl_store_island_by_kid(struct atl_store *s, const char *kid,
						   struct atl_store_island *out);
/* Records verified evidence: tee type, enclave public key (its kid is derived
 * here), evidence bytes (<= ATL_STORE_EVIDENCE_MAX), attested_at; status
 * becomes ATTESTED and an attestation record is appended, in one transaction.
 * ATL_E_NOTFOUND for an unknown island, ATL_E_STATE for a DISABLED one,
 * ATL_E_EXISTS if another island already holds this enclave key. */
ATL_NODISCARD enum atl_err atl_store_island_set_attested(struct atl_store *s, int64_t id,
							 const char *tee,
							 const uint8_t pub[ATL_X25519_LEN],
							 const uint8_t *evidence, size_t evidence_len,
							 int64_t attested_at);
/* Sets an island's status (the operator disables one; the coordinator marks
 * one STALE when its enclave restarts). ATL_E_NOTFOUND for an unknown id. */
ATL_NODISCARD enum atl_err atl_store_island_set_status(struct atl_store *s, int64_t id,
						       enum atl_island_status st);
/* Marks ATTESTED islands whose attested_at < oldest as STALE; *n_out (may be
 * NULL) gets how many. */
ATL_NODISCARD enum atl_err atl_store_island_expire(struct atl_store *s, int64_t oldest,
						   size_t *n_out);
/* ATTESTED islands with attested_at >= oldest, newest first, at most max
 * (<= ATL_STORE_LIST_MAX). The array is malloc'd; free with
 * atl_store_island_list_free. Evidence is included. */
ATL_NODISCARD enum atl_err atl_store_island_list_attested(struct atl_store *s, int64_t oldest,
							  size_t max,
							  struct atl_store_island **list_out,
							  size_t *n_out);
void atl_store_island_list_free(struct atl_store_island *list, size_t n);

/* All islands by id whatever their status (operator view), at most max
 * (1..ATL_STORE_LIST_MAX), without evidence (evidence NULL). Free with
 * atl_store_island_list_free. */
ATL_NODISCARD enum atl_err atl_store_island_list(struct atl_store *s, size_t max,
						 struct atl_store_island **list_out, size_t *n_out);

/* Every successful atl_store_island_set_attested also appends an attestation
 * record (history with time; the evidence itself is kept only as a digest). */
struct atl_store_attestation {
	int64_t seq, island_id, at;
	char tee[ATL_STORE_NAME_MAX + 1];
	char enclave_kid[ATL_KEY_ID_LEN];
	uint8_t evidence_sha256[ATL_SHA256_LEN];
};
/* Calls fn for each attestation record of island_id with seq > after_seq, in
 * order, at most max (1..ATL_STORE_LIST_MAX); fn returning non-zero stops
 * early. fn runs under the handle's lock and must not call the store. */
ATL_NODISCARD enum atl_err atl_store_attestation_foreach(
	struct atl_store *s, int64_t island_id, int64_t after_seq, size_t max,
	int (*fn)(void *ctx, const struct atl_store_attestation *a), void *ctx);

/* ---- attestation challenges (schema 2) ---- */
/* At most ATL_STORE_CHALLENGES_MAX (limits.h) nonces stay outstanding per
 * island; adding one more drops the oldest. */
/* Bytes of a challenge nonce. */
#define ATL_STORE_NONCE_MIN 16
/* Records a fresh nonce (ATL_STORE_NONCE_MIN..ATL_ATTEST_NONCE_MAX bytes)
 * issued to island_id, valid until expires_at, and drops expired nonces.
 * ATL_E_NOTFOUND for an unknown island, ATL_E_EXISTS for a nonce already
 * issued. Kept in the database so that coordinators sharing it agree. */
ATL_NODISCARD enum atl_err atl_store_challenge_add(struct atl_store *s, int64_t island_id,
						   const uint8_t *nonce, size_t nonce_len,
						   int64_t now, int64_t expires_at);
/* Consumes a nonce issued to island_id: ATL_OK exactly once while now <=
 * expires_at; ATL_E_EXPIRED after that (the nonce is consumed too);
 * ATL_E_REPLAY for a nonce never issued, already used, or issued to another
 * island (whose nonce is left alone). */
ATL_NODISCARD enum atl_err atl_store_challenge_take(struct atl_store *s, int64_t island_id,
						    const uint8_t *nonce, size_t nonce_len,
						    int64_t now);

/* ---- workloads ---- */
struct atl_store_workload {
	char id[ATL_STORE_NAME_MAX + 1];
	char kind[ATL_STORE_NAME_MAX + 1];
	uint8_t model_sha256[ATL_SHA256_LEN];
	char model_path[ATL_STORE_PATH_MAX + 1];
	char tees[ATL_STORE_TEE_LIST_MAX + 1]; /* comma-separated, e.g. "sim,tpm" */
	int64_t created_at;
	/* "" or, for an encrypted model (.atm), where its key comes from: JSON
	 * {"kbs":URL,"tenant":T,"model_id":HEX} (schema version 3) */
	char model_key[ATL_STORE_MODEL_KEY_MAX + 1];
};
/* Adds a workload; ATL_E_EXISTS if the id is taken, ATL_E_ARG if a field is
 * empty/over its limit or the TEE list is not [a-z0-9-] names separated by
 * commas. */
ATL_NODISCARD enum atl_err atl_store_workload_add(struct atl_store *s,
						  const struct atl_store_workload *w);
ATL_NODISCARD enum atl_err atl_store_workload_get(struct atl_store *s, const char *id,
						  struct atl_store_workload *out);
/* All workloads by id, at most max (1..ATL_STORE_LIST_MAX); malloc'd, free(). */
ATL_NODISCARD enum atl_err atl_store_workload_list(struct atl_store *s, size_t max,
						   struct atl_store_workload **list_out,
						   size_t *n_out);
/* True when tee is one of the workload's comma-separated TEE names. */
bool atl_store_workload_allows_tee(const struct atl_store_workload *w, const char *tee);

/* ---- jobs ---- */
enum atl_job_status { ATL_JOB_QUEUED = 0, ATL_JOB_LEASED, ATL_JOB_DONE, ATL_JOB_FAILED,
		      ATL_JOB_CANCELLED };
#define ATL_JOB_STATUS_COUNT 5
/* "queued", "leased", "done", "failed", "cancelled"; "unknown" otherwise. */
const char *atl_job_status_name(enum atl_job_status st);

struct atl_store_job_new {
	int64_t tenant_id;
	const char *workload_id;
	const uint8_t *input;       /* sealed envelope bytes, opaque */
	size_t input_len;           /* 1..ATL_JOB_INPUT_MAX */
	const char *const *kids;    /* recipient key ids (ek_…/ck_…) */
	size_t n_kids;              /* 1..ATL_JOB_RECIPIENTS_MAX */
	/* The envelope's replay identity (atl_env_info.digest, 32 bytes) or
	 * NULL: a second job with the same digest is refused (ATL_E_EXISTS). */
	const uint8_t *env_digest;
};
struct atl_store_job {
	char id[ATL_JOB_ID_LEN];
	int64_t tenant_id;
	char workload_id[ATL_STORE_NAME_MAX + 1];
	enum atl_job_status status;
	int64_t lease_island;   /* 0 unless leased */
	int64_t lease_deadline; /* 0 unless leased */
	uint32_t attempts;      /* failed attempts so far */
	char error[ATL_STORE_REASON_MAX + 1];
	int64_t created_at, updated_at;
	uint8_t *input;         /* malloc'd; filled by lease and (with_input) get */
	size_t input_len;
	uint8_t *output;        /* malloc'd; filled by get when done */
	size_t output_len;
};
/* Frees a job record's buffers; NULL-safe. */
void atl_store_job_clear(struct atl_store_job *j);

/* Stores and queues a sealed job (input and recipient kids in one transaction)
 * and meters it for the tenant. ATL_E_NOTFOUND if the tenant or workload does
 * not exist; ATL_E_EXISTS if a job with the same env_digest exists (any
 * tenant, any status: the same sealed envelope submitted again). id_out gets
 * the new random job id. */
ATL_NODISCARD enum atl_err atl_store_job_submit(struct atl_store *s,
						const struct atl_store_job_new *j, int64_t now,
						char id_out[ATL_JOB_ID_LEN]);
/* Reads a job of this tenant; ATL_E_NOTFOUND for an unknown id and for
 * another tenant's job alike (tenant isolation). with_input also loads the
 * sealed input. */
ATL_NODISCARD enum atl_err atl_store_job_get(struct atl_store *s, int64_t tenant_id,
					     const char *job_id, bool with_input,
					     struct atl_store_job *out);
/* This tenant's jobs, newest first, without input/output, at most max
 * (1..ATL_STORE_LIST_MAX); before_id (may be NULL) pages on from the job with
 * that id (an unknown or foreign id gives an empty page). The array is
 * malloc'd: free() it (records hold no buffers). */
ATL_NODISCARD enum atl_err atl_store_job_list(struct atl_store *s, int64_t tenant_id,
					      const char *before_id, size_t max,
					      struct atl_store_job **list_out, size_t *n_out);
/* Cancels a queued job of this tenant. ATL_E_NOTFOUND as for get; ATL_E_STATE
 * if it is no longer queued. */
ATL_NODISCARD enum atl_err atl_store_job_cancel(struct atl_store *s, int64_t tenant_id,
						const char *job_id, int64_t now);
/* Atomically leases the oldest queued job one of whose recipients is among
 * kids[0..n_kids) (1..ATL_LEASE_KIDS_MAX) to island_id until now + lease_s,
 * after first returning expired leases to the queue (atl_store_job_expire).
 * No job is ever leased to two callers at once. Only an ATTESTED island may
 * lease, and only with its own attested enclave key (every kid offered must
 * be the island's enclave_kid): ATL_E_DENIED otherwise, so that a job can
 * reach no island whose key the client did not seal to (mark stale islands
 * with atl_store_island_expire). ATL_E_NOTFOUND if no job waits; out gets
 * the job with its sealed input. */
ATL_NODISCARD enum atl_err atl_store_job_lease(struct atl_store *s, int64_t island_id,
					       const char *const *kids, size_t n_kids, int64_t now,
					       int64_t lease_s, struct atl_store_job *out);
/* Stores the sealed output of a job this island holds and marks it done
 * (exactly once). ATL_E_DENIED if the island does not hold it (unknown job,
 * another island's lease, an expired lease that went back to the queue, or a
 * job already completed). A late result for a lease still held is accepted. */
ATL_NODISCARD enum atl_err atl_store_job_complete(struct atl_store *s, int64_t island_id,
						  const char *job_id, const uint8_t *output,
						  size_t output_len, int64_t now);
/* The island gives up a job it holds (enclave died, …): attempts+1, and the job
 * goes back to the queue, or to failed with `reason` once attempts reaches
 * ATL_JOB_ATTEMPTS_MAX. ATL_E_DENIED as for complete. */
ATL_NODISCARD enum atl_err atl_store_job_fail(struct atl_store *s, int64_t island_id,
					      const char *job_id, const char *reason, int64_t now);
/* Returns leases whose deadline < now to the queue (attempts+1), failing jobs
 * that reach ATL_JOB_ATTEMPTS_MAX with reason "lease expired". Counts (may be
 * NULL) of requeued and failed jobs. */
ATL_NODISCARD enum atl_err atl_store_job_expire(struct atl_store *s, int64_t now,
						size_t *n_requeued_out, size_t *n_failed_out);
/* Fails queued jobs created before `created_before` (no attested island
 * took them: their recipients' enclaves are gone) with `reason`, metering
 * them as failed. *n_out (may be NULL) gets how many. */
ATL_NODISCARD enum atl_err atl_store_job_expire_queued(struct atl_store *s,
						       int64_t created_before,
						       const char *reason, int64_t now,
						       size_t *n_out);
/* Number of jobs in each status (indexed by enum atl_job_status). */
ATL_NODISCARD enum atl_err atl_store_job_counts(struct atl_store *s,
						uint64_t counts_out[ATL_JOB_STATUS_COUNT]);

/* ---- usage metering ---- */
struct atl_store_usage {
	uint64_t jobs_submitted, jobs_done, jobs_failed;
	uint64_t bytes_in, bytes_out;
};
/* The tenant's counters (all zero for a tenant with no jobs yet);
 * ATL_E_NOTFOUND for an unknown tenant. */
ATL_NODISCARD enum atl_err atl_store_usage_get(struct atl_store *s, int64_t tenant_id,
					       struct atl_store_usage *out);

/* ---- audit log ---- */
/* Appends a row. actor/action/subject: short names (<= ATL_STORE_NAME_MAX);
 * detail (may be NULL) <= ATL_STORE_AUDIT_DETAIL_MAX. Never pass secrets. */
ATL_NODISCARD enum atl_err atl_store_audit_add(struct atl_store *s, int64_t now,
					       const char *actor, const char *action,
					       const char *subject, const char *detail);
struct atl_store_audit {
	int64_t seq, at;
	char actor[ATL_STORE_NAME_MAX + 1], action[ATL_STORE_NAME_MAX + 1];
	char subject[ATL_STORE_NAME_MAX + 1];
	char detail[ATL_STORE_AUDIT_DETAIL_MAX + 1];
};
/* Calls fn for each row with seq > after_seq in order, at most max rows
 * (1..ATL_STORE_LIST_MAX); fn returning non-zero stops early. fn runs under
 * the handle's lock and must not call the store. */
ATL_NODISCARD enum atl_err atl_store_audit_foreach(struct atl_store *s, int64_t after_seq,
						   size_t max,
						   int (*fn)(void *ctx,
							     const struct atl_store_audit *row),
						   void *ctx);

#endif
