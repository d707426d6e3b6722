/* SQLite backend of the store (DESIGN §6, docs/internals/store.md).
 *
 * One connection per handle, opened with WAL, a busy timeout, foreign keys
 * and synchronous=NORMAL (durable across process crashes; a power cut may lose
 * the last transactions, never corrupt the file). Every statement is a
 * constant SQL string prepared once and cached (no SQL is ever built from
 * data). Every operation that writes runs in BEGIN IMMEDIATE … COMMIT, which
 * takes the database's write lock up front: two connections (threads or
 * processes) that lease at the same time are serialised by SQLite, so a job
 * can never be leased twice. store.c has already validated every argument. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define ATL_LOG_MODULE "store"
#include "atoll/digest.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/store.h"
#include "store/backend.h"

/* ---- schema migrations: append only, never edit a released step ---- */
static const char *const migrations[] = {
	/* version 1 */
	"CREATE TABLE tenants("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" key_hash BLOB NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE islands("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" token_hash BLOB NOT NULL UNIQUE,"
	" status INTEGER NOT NULL DEFAULT 0,"
	" tee TEXT NOT NULL DEFAULT '',"
	" enclave_pub BLOB,"
	" enclave_kid TEXT NOT NULL DEFAULT '',"
	" evidence BLOB,"
	" attested_at INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL);"
	/* one enclave key belongs to one island: evidence copied from another
	 * island cannot make a second island a target for the same key */
	"CREATE UNIQUE INDEX islands_kid ON islands(enclave_kid) WHERE enclave_kid <> '';"
	"CREATE TABLE attestations("
	" seq INTEGER PRIMARY KEY,"
	" island_id INTEGER NOT NULL REFERENCES islands(id),"
	" at INTEGER NOT NULL,"
	" tee TEXT NOT NULL,"
	" enclave_kid TEXT NOT NULL,"
	" evidence_sha256 BLOB NOT NULL);"
	"CREATE INDEX attestations_island ON attestations(island_id, seq);"
	"CREATE TABLE workloads("
	" id TEXT PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" model_sha256 BLOB NOT NULL,"
	" model_path TEXT NOT NULL,"
	" tees TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE jobs("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
	" workload_id TEXT NOT NULL REFERENCES workloads(id),"
	" status INTEGER NOT NULL,"
	" lease_island INTEGER NOT NULL DEFAULT 0,"
	" lease_deadline INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" error TEXT NOT NULL DEFAULT '',"
	" input BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE INDEX jobs_queue ON jobs(status, seq);"
	"CREATE INDEX jobs_lease ON jobs(status, lease_deadline);"
	"CREATE INDEX jobs_tenant ON jobs(tenant_id, seq);"
	"CREATE TABLE job_recipients("
	" kid TEXT NOT NULL,"
	" job_seq INTEGER NOT NULL REFERENCES jobs(seq),"
	" PRIMARY KEY(kid, job_seq)) WITHOUT ROWID;"
	"CREATE TABLE results("
	" job_seq INTEGER PRIMARY KEY REFERENCES jobs(seq),"
	" island_id INTEGER NOT NULL,"
	" output BLOB NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE usage("
	" tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),"
	" jobs_submitted INTEGER NOT NULL DEFAULT 0,"
	" jobs_done INTEGER NOT NULL DEFAULT 0,"
	" jobs_failed INTEGER NOT NULL DEFAULT 0,"
	" bytes_in INTEGER NOT NULL DEFAULT 0,"
	" bytes_out INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE audit("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" detail TEXT NOT NULL);",
	/* version 2: attestation challenges shared by every coordinator */
	"CREATE TABLE challenges("
	" nonce BLOB PRIMARY KEY,"
	" island_id INTEGER NOT NULL REFERENCES islands(id),"
	" issued_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL);"
	"CREATE INDEX challenges_island ON challenges(island_id, issued_at);"
	"CREATE INDEX challenges_expiry ON challenges(expires_at);"
	"CREATE INDEX jobs_queued_age ON jobs(status, created_at);",
	/* version 3: encrypted models (issue 9): where a workload's model key
	 * comes from, "" for a plaintext model */
	"ALTER TABLE workloads ADD COLUMN model_key TEXT NOT NULL DEFAULT '';",
	/* version 4: the replay digest of each job's envelope (header, nonce,
	 * recipients, ciphertext length, tag), unique: the same sealed envelope
	 * is not queued twice (NULL for jobs stored before) */
	"ALTER TABLE jobs ADD COLUMN env_digest BLOB;"
	"CREATE UNIQUE INDEX jobs_env_digest ON jobs(env_digest) WHERE env_digest IS NOT NULL;",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == ATL_STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

#define ISLAND_COLS                                                                        \
	"id,name,status,tee,enclave_pub,enclave_kid,attested_at,created_at,evidence"
#define JOB_COLS                                                                           \
	"j.id,j.tenant_id,j.workload_id,j.status,j.lease_island,j.lease_deadline,j.attempts," \
	"j.error,j.created_at,j.updated_at"

enum stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_TENANT_ADD, ST_TENANT_BY_KEY, ST_TENANT_LIST, ST_ISLAND_LIST_ALL,
	ST_ISLAND_ADD, ST_ISLAND_BY_TOKEN, ST_ISLAND_BY_ID, ST_ISLAND_BY_KID, ST_ISLAND_ATTEST, ST_ISLAND_ATTEST_LOG,
	ST_ISLAND_STATUS, ST_ISLAND_EXPIRE, ST_ISLAND_LIST, ST_ATTEST_LIST,
	ST_WORKLOAD_ADD, ST_WORKLOAD_GET, ST_WORKLOAD_LIST,
	ST_JOB_INSERT, ST_JOB_RCPT, ST_USAGE_SUBMIT, ST_JOB_GET, ST_JOB_STATUS, ST_JOB_CANCEL,
	ST_JOB_PICK, ST_JOB_PROBE, ST_ISLAND_KEY, ST_JOB_LEASE, ST_JOB_BY_SEQ, ST_JOB_HELD, ST_JOB_DONE, ST_RESULT_ADD,
	ST_USAGE_DONE, ST_JOB_RETRY, ST_USAGE_FAIL, ST_EXPIRE_USAGE, ST_EXPIRE_FAIL,
	ST_EXPIRE_REQUEUE, ST_QUEUED_USAGE, ST_QUEUED_FAIL, ST_CHAL_PURGE, ST_CHAL_ADD,
	ST_CHAL_TRIM, ST_CHAL_GET, ST_CHAL_DEL, ST_JOB_COUNTS, ST_JOB_LIST, ST_USAGE_GET, ST_AUDIT_ADD, ST_AUDIT_LIST,
	ST__COUNT
};

static const char *const sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_TENANT_ADD] = "INSERT INTO tenants(name,key_hash,created_at) VALUES(?1,?2,?3)",
	[ST_TENANT_BY_KEY] = "SELECT id,name,created_at FROM tenants WHERE key_hash=?1",
	[ST_TENANT_LIST] = "SELECT id,name,created_at FROM tenants ORDER BY id LIMIT ?1",
	[ST_ISLAND_LIST_ALL] = "SELECT id,name,status,tee,enclave_pub,enclave_kid,attested_at,"
			       "created_at,NULL FROM islands ORDER BY id LIMIT ?1",
	[ST_ISLAND_ADD] = "INSERT INTO islands(name,token_hash,created_at) VALUES(?1,?2,?3)",
	[ST_ISLAND_BY_TOKEN] = "SELECT " ISLAND_COLS " FROM islands WHERE token_hash=?1",
	[ST_ISLAND_BY_ID] = "SELECT " ISLAND_COLS " FROM islands WHERE id=?1",
	[ST_ISLAND_BY_KID] = "SELECT " ISLAND_COLS " FROM islands WHERE enclave_kid=?1 AND "
			     "enclave_kid<>''",
	[ST_ISLAND_ATTEST] = "UPDATE islands SET status=1,tee=?2,enclave_pub=?3,enclave_kid=?4,"
			     "evidence=?5,attested_at=?6 WHERE id=?1 AND status<>3",
	[ST_ISLAND_ATTEST_LOG] = "INSERT INTO attestations(island_id,at,tee,enclave_kid,"
				 "evidence_sha256) VALUES(?1,?2,?3,?4,?5)",
	[ST_ISLAND_STATUS] = "UPDATE islands SET status=?2 WHERE id=?1",
	[ST_ISLAND_EXPIRE] = "UPDATE islands SET status=2 WHERE status=1 AND attested_at<?1",
	[ST_ISLAND_LIST] = "SELECT " ISLAND_COLS " FROM islands WHERE status=1 AND "
			   "attested_at>=?1 ORDER BY attested_at DESC, id DESC LIMIT ?2",
	[ST_ATTEST_LIST] = "SELECT seq,island_id,at,tee,enclave_kid,evidence_sha256 FROM "
			   "attestations WHERE island_id=?1 AND seq>?2 ORDER BY seq LIMIT ?3",
	[ST_WORKLOAD_ADD] = "INSERT INTO workloads(id,kind,model_sha256,model_path,tees,"
			    "created_at,model_key) VALUES(?1,?2,?3,?4,?5,?6,?7)",
	[ST_WORKLOAD_GET] = "SELECT id,kind,model_sha256,model_path,tees,created_at,model_key "
			    "FROM workloads WHERE id=?1",
	[ST_WORKLOAD_LIST] = "SELECT id,kind,model_sha256,model_path,tees,created_at,model_key "
			     "FROM workloads ORDER BY id LIMIT ?1",
	[ST_JOB_INSERT] = "INSERT INTO jobs(id,tenant_id,workload_id,status,input,created_at,"
			  "updated_at,env_digest) VALUES(?1,?2,?3,0,?4,?5,?5,?6)",
	[ST_JOB_RCPT] = "INSERT OR IGNORE INTO job_recipients(kid,job_seq) VALUES(?1,?2)",
	[ST_USAGE_SUBMIT] = "INSERT INTO usage(tenant_id,jobs_submitted,bytes_in) VALUES(?1,1,?2)"
			    " ON CONFLICT(tenant_id) DO UPDATE SET"
			    " jobs_submitted=jobs_submitted+1, bytes_in=bytes_in+excluded.bytes_in",
	[ST_JOB_GET] = "SELECT " JOB_COLS ", CASE WHEN ?3 THEN j.input END, r.output"
		       " FROM jobs j LEFT JOIN results r ON r.job_seq=j.seq"
		       " WHERE j.id=?1 AND j.tenant_id=?2",
	[ST_JOB_STATUS] = "SELECT status FROM jobs WHERE id=?1 AND tenant_id=?2",
	[ST_JOB_CANCEL] = "UPDATE jobs SET status=4,updated_at=?3 WHERE id=?1 AND tenant_id=?2 "
			  "AND status=0",
	/* the oldest queued job addressed to one of the offered keys; unused
	 * slots are bound to NULL, which matches nothing */
	[ST_JOB_PICK] = "SELECT j.seq FROM jobs j WHERE j.status=0 AND EXISTS(SELECT 1 FROM"
			" job_recipients r WHERE r.job_seq=j.seq AND r.kid IN"
			" (?1,?2,?3,?4,?5,?6,?7,?8)) ORDER BY j.seq LIMIT 1",
	[ST_ISLAND_KEY] = "SELECT status, enclave_kid FROM islands WHERE id=?1",
	/* read-only: is there anything for a lease call to do? */
	[ST_JOB_PROBE] = "SELECT EXISTS(SELECT 1 FROM jobs WHERE status=1 AND lease_deadline<?9)"
			 " OR EXISTS(SELECT 1 FROM jobs j WHERE j.status=0 AND EXISTS(SELECT 1 FROM"
			 " job_recipients r WHERE r.job_seq=j.seq AND r.kid IN"
			 " (?1,?2,?3,?4,?5,?6,?7,?8)))",
	[ST_JOB_LEASE] = "UPDATE jobs SET status=1,lease_island=?2,lease_deadline=?3,updated_at=?4"
			 " WHERE seq=?1 AND status=0",
	[ST_JOB_BY_SEQ] = "SELECT " JOB_COLS ", j.input, NULL FROM jobs j WHERE j.seq=?1",
	[ST_JOB_HELD] = "SELECT seq,tenant_id,attempts FROM jobs WHERE id=?1 AND status=1 AND "
			"lease_island=?2",
	[ST_JOB_DONE] = "UPDATE jobs SET status=2,lease_deadline=0,updated_at=?2 WHERE seq=?1",
	[ST_RESULT_ADD] = "INSERT INTO results(job_seq,island_id,output,created_at) "
			  "VALUES(?1,?2,?3,?4)",
	[ST_USAGE_DONE] = "UPDATE usage SET jobs_done=jobs_done+1, bytes_out=bytes_out+?2 WHERE "
			  "tenant_id=?1",
	[ST_JOB_RETRY] = "UPDATE jobs SET status=?2,attempts=attempts+1,lease_island=0,"
			 "lease_deadline=0,error=?3,updated_at=?4 WHERE seq=?1",
	[ST_USAGE_FAIL] = "UPDATE usage SET jobs_failed=jobs_failed+1 WHERE tenant_id=?1",
	/* meter, per tenant, the expired leases that are about to fail for good */
	[ST_EXPIRE_USAGE] = "UPDATE usage SET jobs_failed=jobs_failed+(SELECT COUNT(*) FROM jobs j"
			    " WHERE j.tenant_id=usage.tenant_id AND j.status=1 AND"
			    " j.lease_deadline<?1 AND j.attempts+1>=?2)"
			    " WHERE tenant_id IN (SELECT tenant_id FROM jobs WHERE status=1 AND"
			    " lease_deadline<?1 AND attempts+1>=?2)",
	[ST_EXPIRE_FAIL] = "UPDATE jobs SET status=3,attempts=attempts+1,lease_island=0,"
			   "lease_deadline=0,error='lease expired',updated_at=?1"
			   " WHERE status=1 AND lease_deadline<?1 AND attempts+1>=?2",
	[ST_EXPIRE_REQUEUE] = "UPDATE jobs SET status=0,attempts=attempts+1,lease_island=0,"
			      "lease_deadline=0,error='lease expired',updated_at=?1"
			      " WHERE status=1 AND lease_deadline<?1",
	[ST_QUEUED_USAGE] = "UPDATE usage SET jobs_failed=jobs_failed+(SELECT COUNT(*) FROM jobs j"
			    " WHERE j.tenant_id=usage.tenant_id AND j.status=0 AND j.created_at<?1)"
			    " WHERE tenant_id IN (SELECT tenant_id FROM jobs WHERE status=0 AND"
			    " created_at<?1)",
	[ST_QUEUED_FAIL] = "UPDATE jobs SET status=3,error=?2,updated_at=?3 WHERE status=0 AND "
			   "created_at<?1",
	[ST_CHAL_PURGE] = "DELETE FROM challenges WHERE expires_at<?1",
	[ST_CHAL_ADD] = "INSERT INTO challenges(nonce,island_id,issued_at,expires_at) "
			"VALUES(?1,?2,?3,?4)",
	/* keep the newest ?2 nonces of the island */
	[ST_CHAL_TRIM] = "DELETE FROM challenges WHERE island_id=?1 AND nonce NOT IN (SELECT nonce"
			 " FROM challenges WHERE island_id=?1 ORDER BY issued_at DESC, rowid DESC"
			 " LIMIT ?2)",
	[ST_CHAL_GET] = "SELECT island_id, expires_at FROM challenges WHERE nonce=?1",
	[ST_CHAL_DEL] = "DELETE FROM challenges WHERE nonce=?1",
	[ST_JOB_COUNTS] = "SELECT status, COUNT(*) FROM jobs GROUP BY status",
	[ST_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs j WHERE j.tenant_id=?1 AND"
			" (?2 = 0 OR j.seq < (SELECT seq FROM jobs WHERE id=?3 AND tenant_id=?1))"
			" ORDER BY j.seq DESC LIMIT ?4",
	[ST_USAGE_GET] = "SELECT IFNULL(u.jobs_submitted,0),IFNULL(u.jobs_done,0),"
			 "IFNULL(u.jobs_failed,0),IFNULL(u.bytes_in,0),IFNULL(u.bytes_out,0)"
			 " FROM tenants t LEFT JOIN usage u ON u.tenant_id=t.id WHERE t.id=?1",
	[ST_AUDIT_ADD] = "INSERT INTO audit(at,actor,action,subject,detail) VALUES(?1,?2,?3,?4,?5)",
	[ST_AUDIT_LIST] = "SELECT seq,at,actor,action,subject,detail FROM audit WHERE seq>?1 "
			  "ORDER BY seq LIMIT ?2",
};

struct sq {
	struct atl_store base; /* first: store.c sees only this */
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
};

static struct sq *SQ(struct atl_store *s)
{
	return (struct sq *)s;
}

/* Maps a SQLite result code to an Atoll error; details to the local log
 * (sqlite3_errmsg never contains bound values). */
static enum atl_err fail(struct sq *q, int src, const char *what)
{
	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		atl_warn("%s: database busy", what);
		return ATL_E_BUSY;
	case SQLITE_NOMEM:
		return ATL_E_NOMEM;
	case SQLITE_CONSTRAINT:
		if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
			return ATL_E_NOTFOUND;
		if (src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY)
			return ATL_E_EXISTS;
		break;
	default:
		break;
	}
	atl_warn("%s: %s (%d)", what, q->db != NULL ? sqlite3_errmsg(q->db) : "?", src);
	return ATL_E_IO;
}

/* The cached statement for id, reset and unbound; NULL after logging. */
static sqlite3_stmt *stmt(struct sq *q, enum stmt id)
{
	sqlite3_stmt *st = q->st[id];

	if (st == NULL) {
		int src = sqlite3_prepare_v3(q->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
					     NULL);
		if (src != SQLITE_OK) {
			atl_error("prepare %d: %s", (int)id, sqlite3_errmsg(q->db));
			return NULL;
		}
		q->st[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Runs a statement that returns no rows. */
static enum atl_err run(struct sq *q, sqlite3_stmt *st, const char *what)
{
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	src = sqlite3_step(st);
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return fail(q, src, what);
	return ATL_OK;
}

static enum atl_err begin(struct sq *q)
{
	return run(q, stmt(q, ST_BEGIN), "begin");
}

static enum atl_err commit(struct sq *q)
{
	return run(q, stmt(q, ST_COMMIT), "commit");
}

/* Ends a transaction: commit when rc is ATL_OK, else roll back. Returns the
 * final result. */
static enum atl_err finish(struct sq *q, enum atl_err rc)
{
	if (rc == ATL_OK) {
		rc = commit(q);
		if (rc == ATL_OK)
			return ATL_OK;
	}
	if (sqlite3_get_autocommit(q->db) == 0)
		(void)run(q, stmt(q, ST_ROLLBACK), "rollback");
	return rc;
}

/* Copies a TEXT column into a buffer of cap bytes (NUL included); a value
 * that does not fit is a damaged database (ATL_E_FORMAT). */
static enum atl_err col_text(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	buf[0] = '\0';
	if (t == NULL)
		return ATL_OK;
	if (n < 0 || (size_t)n >= cap || memchr(t, '\0', (size_t)n) != NULL)
		return ATL_E_FORMAT;
	memcpy(buf, t, (size_t)n);
	buf[n] = '\0';
	return ATL_OK;
}

/* Copies a BLOB column of exactly n bytes. */
static enum atl_err col_fixed(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
	const void *b = sqlite3_column_blob(st, col);

	if (b == NULL || (size_t)sqlite3_column_bytes(st, col) != n)
		return ATL_E_FORMAT;
	memcpy(out, b, n);
	return ATL_OK;
}

/* Copies a BLOB column of at most max bytes into a malloc'd buffer; NULL and
 * length 0 for SQL NULL. */
static enum atl_err col_blob(sqlite3_stmt *st, int col, size_t max, uint8_t **out, size_t *len)
{
	const void *b;
	int n;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return ATL_OK;
	b = sqlite3_column_blob(st, col);
	n = sqlite3_column_bytes(st, col);
	if (n < 0 || (size_t)n > max)
		return ATL_E_FORMAT;
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (*out == NULL)
		return ATL_E_NOMEM;
	if (n > 0)
		memcpy(*out, b, (size_t)n);
	*len = (size_t)n;
	return ATL_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n)
{
	return sqlite3_bind_blob64(st, i, v, (sqlite3_uint64)n, SQLITE_STATIC);
}

/* ---- open, close, migrate ---- */

static enum atl_err sq_migrate(struct atl_store *s, int *version_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	int version = 0, src;
	char *msg = NULL;

	if (version_out != NULL)
		*version_out = 0;
	/* the migration table and the steps are constant SQL run once, in one
	 * write transaction, so two processes opening a new file cannot both
	 * migrate it */
	ATL_TRY(begin(q));
	src = sqlite3_exec(q->db,
			   "CREATE TABLE IF NOT EXISTS schema_migrations("
			   " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
			   NULL, NULL, &msg);
	if (src != SQLITE_OK) {
		rc = fail(q, src, "migrate");
		goto out;
	}
	src = sqlite3_prepare_v2(q->db, "SELECT IFNULL(MAX(version),0) FROM schema_migrations",
				 -1, &st, NULL);
	if (src != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = fail(q, sqlite3_errcode(q->db), "migrate");
		goto out;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version < 0 || version > ATL_STORE_SCHEMA_VERSION) {
		atl_error("database schema version %d is newer than this program's (%d)",
			  version, ATL_STORE_SCHEMA_VERSION);
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	for (; version < ATL_STORE_SCHEMA_VERSION; version++) {
		src = sqlite3_exec(q->db, migrations[version], NULL, NULL, &msg);
		if (src == SQLITE_OK) {
			src = sqlite3_prepare_v2(q->db,
						 "INSERT INTO schema_migrations(version,applied_at)"
						 " VALUES(?1, strftime('%s','now'))",
						 -1, &st, NULL);
			if (src == SQLITE_OK) {
				sqlite3_bind_int(st, 1, version + 1);
				src = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK
								      : sqlite3_errcode(q->db);
			}
			sqlite3_finalize(st);
			st = NULL;
		}
		if (src != SQLITE_OK) {
			atl_error("migration to schema version %d failed", version + 1);
			rc = fail(q, src, "migrate");
			goto out;
		}
		atl_info("database migrated to schema version %d", version + 1);
	}
	rc = ATL_OK;
out:
	sqlite3_finalize(st);
	sqlite3_free(msg);
	rc = finish(q, rc);
	if (rc == ATL_OK && version_out != NULL)
		*version_out = version;
	return rc;
}

static void sq_close(struct atl_store *s)
{
	struct sq *q = SQ(s);

	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close_v2(q->db);
	pthread_mutex_destroy(&q->base.mu);
	free(q);
}

/* ---- tenants ---- */

static enum atl_err sq_tenant_add(struct atl_store *s, const char *name, const uint8_t *key_hash,
				  int64_t now, int64_t *id_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_TENANT_ADD);
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_text(st, 1, name);
	bind_blob(st, 2, key_hash, ATL_SHA256_LEN);
	sqlite3_bind_int64(st, 3, now);
	rc = run(q, st, "tenant add");
	if (rc == ATL_OK && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(q->db);
	return rc;
}

static enum atl_err sq_tenant_by_key_hash(struct atl_store *s, const uint8_t *key_hash,
					  struct atl_store_tenant *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_TENANT_BY_KEY);
	enum atl_err rc = ATL_E_NOTFOUND;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_blob(st, 1, key_hash, ATL_SHA256_LEN);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		rc = col_text(st, 1, out->name, sizeof(out->name));
		out->created_at = sqlite3_column_int64(st, 2);
	} else if (src != SQLITE_DONE) {
		rc = fail(q, src, "tenant lookup");
	}
	sqlite3_reset(st);
	return rc;
}

/* Steps st (bound by the caller) into a new array of at most max rows of
 * elem bytes each, read by row; what names the query in errors. On failure
 * the rows read so far are released with free_rows (NULL: plain free). */
typedef enum atl_err (*row_reader)(sqlite3_stmt *st, void *out);

static enum atl_err list_rows(struct sq *q, sqlite3_stmt *st, size_t max, size_t elem,
			      row_reader row, void (*free_rows)(void *list, size_t n),
			      const char *what, void **list_out, size_t *n_out)
{
	uint8_t *list = calloc(max, elem);
	enum atl_err rc = ATL_E_INTERNAL;
	size_t n = 0;
	int src = SQLITE_DONE;

	if (list == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	while (n < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
		ATL_TRY(row(st, list + n * elem));
		n++;
	}
	if (n < max && src != SQLITE_DONE) {
		rc = fail(q, src, what);
		goto out;
	}
	*list_out = list;
	*n_out = n;
	list = NULL;
	rc = ATL_OK;
out:
	sqlite3_reset(st);
	if (list != NULL) {
		if (free_rows != NULL)
			free_rows(list, n);
		else
			free(list);
	}
	return rc;
}

static enum atl_err tenant_row(sqlite3_stmt *st, void *out)
{
	struct atl_store_tenant *t = out;

	t->id = sqlite3_column_int64(st, 0);
	t->created_at = sqlite3_column_int64(st, 2);
	return col_text(st, 1, t->name, sizeof(t->name));
}

static enum atl_err sq_tenant_list(struct atl_store *s, size_t max,
				   struct atl_store_tenant **list_out, size_t *n_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_TENANT_LIST);
	void *rows = NULL;
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	rc = list_rows(q, st, max, sizeof(**list_out), tenant_row, NULL, "tenant list",
		       &rows, n_out);
	if (rc == ATL_OK)
		*list_out = rows;
	return rc;
}

/* ---- islands ---- */

static enum atl_err sq_island_add(struct atl_store *s, const char *name, const uint8_t *token_hash,
				  int64_t now, int64_t *id_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_ISLAND_ADD);
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_text(st, 1, name);
	bind_blob(st, 2, token_hash, ATL_SHA256_LEN);
	sqlite3_bind_int64(st, 3, now);
	rc = run(q, st, "island add");
	if (rc == ATL_OK && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(q->db);
	return rc;
}

/* Reads one row of ISLAND_COLS. */
static enum atl_err island_row(sqlite3_stmt *st, struct atl_store_island *out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	int status;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	ATL_TRY(col_text(st, 1, out->name, sizeof(out->name)));
	status = sqlite3_column_int(st, 2);
	if (status < ATL_ISLAND_REGISTERED || status > ATL_ISLAND_DISABLED) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	out->status = (enum atl_island_status)status;
	ATL_TRY(col_text(st, 3, out->tee, sizeof(out->tee)));
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		ATL_TRY(col_fixed(st, 4, out->enclave_pub, sizeof(out->enclave_pub)));
		out->has_key = true;
	}
	ATL_TRY(col_text(st, 5, out->enclave_kid, sizeof(out->enclave_kid)));
	out->attested_at = sqlite3_column_int64(st, 6);
	out->created_at = sqlite3_column_int64(st, 7);
	ATL_TRY(col_blob(st, 8, ATL_STORE_EVIDENCE_MAX, &out->evidence, &out->evidence_len));
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_store_island_clear(out);
	return rc;
}

static enum atl_err sq_island_find(struct atl_store *s, const uint8_t *token_hash,
				   const char *kid, int64_t id, struct atl_store_island *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, token_hash != NULL ? ST_ISLAND_BY_TOKEN
					  : kid != NULL ? ST_ISLAND_BY_KID : ST_ISLAND_BY_ID);
	enum atl_err rc = ATL_E_NOTFOUND;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	if (token_hash != NULL)
		bind_blob(st, 1, token_hash, ATL_SHA256_LEN);
	else if (kid != NULL)
		bind_text(st, 1, kid);
	else
		sqlite3_bind_int64(st, 1, id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = island_row(st, out);
	else if (src != SQLITE_DONE)
		rc = fail(q, src, "island lookup");
	sqlite3_reset(st);
	return rc;
}

static enum atl_err sq_island_set_attested(struct atl_store *s, int64_t id, const char *tee,
					   const uint8_t *pub, const char *kid,
					   const uint8_t *evidence, size_t evidence_len,
					   int64_t attested_at)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	uint8_t ev_hash[ATL_SHA256_LEN];
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_hash(ATL_HASH_SHA256, evidence != NULL ? evidence : (const uint8_t *)"",
			 evidence_len, ev_hash));
	ATL_TRY(begin(q));
	st = stmt(q, ST_ISLAND_ATTEST);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, tee);
	bind_blob(st, 3, pub, ATL_X25519_LEN);
	bind_text(st, 4, kid);
	if (evidence_len > 0)
		bind_blob(st, 5, evidence, evidence_len);
	sqlite3_bind_int64(st, 6, attested_at);
	ATL_TRY(run(q, st, "island attest"));
	if (sqlite3_changes(q->db) != 1) {
		/* unknown island, or one the operator disabled */
		st = stmt(q, ST_ISLAND_BY_ID);
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_ROW ? ATL_E_STATE : ATL_E_NOTFOUND;
		sqlite3_reset(st);
		goto out;
	}
	st = stmt(q, ST_ISLAND_ATTEST_LOG);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, attested_at);
	bind_text(st, 3, tee);
	bind_text(st, 4, kid);
	bind_blob(st, 5, ev_hash, sizeof(ev_hash));
	ATL_TRY(run(q, st, "attestation log"));
	rc = ATL_OK;
out:
	return finish(q, rc);
}

static enum atl_err sq_island_set_status(struct atl_store *s, int64_t id, int status)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_ISLAND_STATUS);
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, status);
	rc = run(q, st, "island status");
	if (rc == ATL_OK && sqlite3_changes(q->db) != 1)
		rc = ATL_E_NOTFOUND;
	return rc;
}

static enum atl_err sq_island_expire(struct atl_store *s, int64_t oldest, size_t *n_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_ISLAND_EXPIRE);
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, oldest);
	rc = run(q, st, "island expire");
	if (rc == ATL_OK && n_out != NULL)
		*n_out = (size_t)sqlite3_changes(q->db);
	return rc;
}

static enum atl_err island_row_any(sqlite3_stmt *st, void *out)
{
	return island_row(st, out);
}

static void island_rows_free(void *list, size_t n)
{
	atl_store_island_list_free(list, n);
}

/* Islands from ST_ISLAND_LIST (attested since oldest) or ST_ISLAND_LIST_ALL. */
static enum atl_err island_list(struct atl_store *s, enum stmt id, int64_t oldest, size_t max,
				struct atl_store_island **list_out, size_t *n_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, id);
	void *rows = NULL;
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	if (id == ST_ISLAND_LIST) {
		sqlite3_bind_int64(st, 1, oldest);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	} else {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	}
	rc = list_rows(q, st, max, sizeof(**list_out), island_row_any, island_rows_free,
		       "island list", &rows, n_out);
	if (rc == ATL_OK)
		*list_out = rows;
	return rc;
}

static enum atl_err sq_island_list_attested(struct atl_store *s, int64_t oldest, size_t max,
					    struct atl_store_island **list_out, size_t *n_out)
{
	return island_list(s, ST_ISLAND_LIST, oldest, max, list_out, n_out);
}

static enum atl_err sq_island_list(struct atl_store *s, size_t max,
				   struct atl_store_island **list_out, size_t *n_out)
{
	return island_list(s, ST_ISLAND_LIST_ALL, 0, max, list_out, n_out);
}

static enum atl_err sq_attestation_foreach(struct atl_store *s, int64_t island_id,
					   int64_t after_seq, size_t max,
					   int (*fn)(void *ctx, const struct atl_store_attestation *a),
					   void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_ATTEST_LIST);
	struct atl_store_attestation a;
	enum atl_err rc = ATL_E_INTERNAL;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, island_id);
	sqlite3_bind_int64(st, 2, after_seq);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.seq = sqlite3_column_int64(st, 0);
		a.island_id = sqlite3_column_int64(st, 1);
		a.at = sqlite3_column_int64(st, 2);
		ATL_TRY(col_text(st, 3, a.tee, sizeof(a.tee)));
		ATL_TRY(col_text(st, 4, a.enclave_kid, sizeof(a.enclave_kid)));
		ATL_TRY(col_fixed(st, 5, a.evidence_sha256, sizeof(a.evidence_sha256)));
		if (fn(ctx, &a) != 0) {
			src = SQLITE_DONE;
			break;
		}
	}
	rc = src == SQLITE_DONE ? ATL_OK : fail(q, src, "attestation list");
out:
	sqlite3_reset(st);
	return rc;
}

/* ---- challenges ---- */

static enum atl_err sq_challenge_add(struct atl_store *s, int64_t island_id, const uint8_t *nonce,
				     size_t nonce_len, int64_t now, int64_t expires_at)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(begin(q));
	if ((st = stmt(q, ST_CHAL_PURGE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	ATL_TRY(run(q, st, "challenge purge"));
	if ((st = stmt(q, ST_CHAL_ADD)) == NULL)
		goto out;
	bind_blob(st, 1, nonce, nonce_len);
	sqlite3_bind_int64(st, 2, island_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires_at);
	ATL_TRY(run(q, st, "challenge add"));
	if ((st = stmt(q, ST_CHAL_TRIM)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, island_id);
	sqlite3_bind_int64(st, 2, ATL_STORE_CHALLENGES_MAX);
	ATL_TRY(run(q, st, "challenge trim"));
	rc = ATL_OK;
out:
	return finish(q, rc);
}

static enum atl_err sq_challenge_take(struct atl_store *s, int64_t island_id,
				      const uint8_t *nonce, size_t nonce_len, int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL, verdict;
	int64_t owner, expires_at;
	int src;

	ATL_TRY(begin(q));
	if ((st = stmt(q, ST_CHAL_GET)) == NULL)
		goto out;
	bind_blob(st, 1, nonce, nonce_len);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		sqlite3_reset(st);
		rc = ATL_E_REPLAY;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = fail(q, src, "challenge get");
		sqlite3_reset(st);
		goto out;
	}
	owner = sqlite3_column_int64(st, 0);
	expires_at = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (owner != island_id) {
		rc = ATL_E_REPLAY; /* another island's nonce: leave it */
		goto out;
	}
	verdict = now <= expires_at ? ATL_OK : ATL_E_EXPIRED;
	if ((st = stmt(q, ST_CHAL_DEL)) == NULL)
		goto out;
	bind_blob(st, 1, nonce, nonce_len);
	ATL_TRY(run(q, st, "challenge take"));
	/* commit the deletion even when the verdict is "expired" */
	rc = finish(q, ATL_OK);
	return rc != ATL_OK ? rc : verdict;
out:
	return finish(q, rc);
}

/* ---- workloads ---- */

static enum atl_err sq_workload_add(struct atl_store *s, const struct atl_store_workload *w)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_WORKLOAD_ADD);

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_text(st, 1, w->id);
	bind_text(st, 2, w->kind);
	bind_blob(st, 3, w->model_sha256, ATL_SHA256_LEN);
	bind_text(st, 4, w->model_path);
	bind_text(st, 5, w->tees);
	sqlite3_bind_int64(st, 6, w->created_at);
	bind_text(st, 7, w->model_key);
	return run(q, st, "workload add");
}

/* Reads one workloads row (id, kind, model_sha256, model_path, tees, created_at,
 * model_key). */
static enum atl_err workload_row(sqlite3_stmt *st, struct atl_store_workload *out)
{
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(col_text(st, 0, out->id, sizeof(out->id)));
	ATL_TRY(col_text(st, 1, out->kind, sizeof(out->kind)));
	ATL_TRY(col_fixed(st, 2, out->model_sha256, sizeof(out->model_sha256)));
	ATL_TRY(col_text(st, 3, out->model_path, sizeof(out->model_path)));
	ATL_TRY(col_text(st, 4, out->tees, sizeof(out->tees)));
	out->created_at = sqlite3_column_int64(st, 5);
	ATL_TRY(col_text(st, 6, out->model_key, sizeof(out->model_key)));
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err sq_workload_get(struct atl_store *s, const char *id,
				    struct atl_store_workload *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_WORKLOAD_GET);
	enum atl_err rc = ATL_E_NOTFOUND;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_text(st, 1, id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = workload_row(st, out);
	else if (src != SQLITE_DONE)
		rc = fail(q, src, "workload get");
	sqlite3_reset(st);
	if (rc != ATL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static enum atl_err workload_row_any(sqlite3_stmt *st, void *out)
{
	return workload_row(st, out);
}

static enum atl_err sq_workload_list(struct atl_store *s, size_t max,
				     struct atl_store_workload **list_out, size_t *n_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_WORKLOAD_LIST);
	void *rows = NULL;
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	rc = list_rows(q, st, max, sizeof(**list_out), workload_row_any, NULL, "workload list",
		       &rows, n_out);
	if (rc == ATL_OK)
		*list_out = rows;
	return rc;
}

/* ---- jobs ---- */

/* Reads the JOB_COLS part of a row (columns 0..9) into out. */
static enum atl_err job_row(sqlite3_stmt *st, struct atl_store_job *out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	int status;
	int64_t attempts;

	ATL_TRY(col_text(st, 0, out->id, sizeof(out->id)));
	out->tenant_id = sqlite3_column_int64(st, 1);
	ATL_TRY(col_text(st, 2, out->workload_id, sizeof(out->workload_id)));
	status = sqlite3_column_int(st, 3);
	attempts = sqlite3_column_int64(st, 6);
	if (status < ATL_JOB_QUEUED || status > ATL_JOB_CANCELLED || attempts < 0 ||
	    attempts > UINT32_MAX) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	out->status = (enum atl_job_status)status;
	out->lease_island = sqlite3_column_int64(st, 4);
	out->lease_deadline = sqlite3_column_int64(st, 5);
	out->attempts = (uint32_t)attempts;
	ATL_TRY(col_text(st, 7, out->error, sizeof(out->error)));
	out->created_at = sqlite3_column_int64(st, 8);
	out->updated_at = sqlite3_column_int64(st, 9);
	rc = ATL_OK;
out:
	return rc;
}

/* Reads a JOB_COLS row followed by input (10) and output (11) blobs. */
static enum atl_err job_row_full(sqlite3_stmt *st, struct atl_store_job *out)
{
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(job_row(st, out));
	ATL_TRY(col_blob(st, 10, ATL_JOB_INPUT_MAX, &out->input, &out->input_len));
	ATL_TRY(col_blob(st, 11, ATL_JOB_OUTPUT_MAX, &out->output, &out->output_len));
	rc = ATL_OK;
out:
	if (rc != ATL_OK) {
		atl_store_job_clear(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

static enum atl_err sq_job_submit(struct atl_store *s, const struct atl_store_job_new *j,
				  int64_t now, const char *id)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;
	int64_t seq;

	ATL_TRY(begin(q));
	if ((st = stmt(q, ST_JOB_INSERT)) == NULL)
		goto out;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, j->tenant_id);
	bind_text(st, 3, j->workload_id);
	bind_blob(st, 4, j->input, j->input_len);
	sqlite3_bind_int64(st, 5, now);
	if (j->env_digest != NULL)
		bind_blob(st, 6, j->env_digest, 32);
	else
		sqlite3_bind_null(st, 6);
	ATL_TRY(run(q, st, "job submit"));
	seq = sqlite3_last_insert_rowid(q->db);
	for (size_t i = 0; i < j->n_kids; i++) {
		if ((st = stmt(q, ST_JOB_RCPT)) == NULL)
			goto out;
		bind_text(st, 1, j->kids[i]);
		sqlite3_bind_int64(st, 2, seq);
		ATL_TRY(run(q, st, "job recipients"));
	}
	if ((st = stmt(q, ST_USAGE_SUBMIT)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, j->tenant_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)j->input_len);
	ATL_TRY(run(q, st, "usage"));
	rc = ATL_OK;
out:
	return finish(q, rc);
}

static enum atl_err sq_job_get(struct atl_store *s, int64_t tenant_id, const char *job_id,
			       bool with_input, struct atl_store_job *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_JOB_GET);
	enum atl_err rc = ATL_E_NOTFOUND;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_text(st, 1, job_id);
	sqlite3_bind_int64(st, 2, tenant_id);
	sqlite3_bind_int(st, 3, with_input ? 1 : 0);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = job_row_full(st, out);
	else if (src != SQLITE_DONE)
		rc = fail(q, src, "job get");
	sqlite3_reset(st);
	return rc;
}

static enum atl_err job_row_any(sqlite3_stmt *st, void *out)
{
	return job_row(st, out);
}

static enum atl_err sq_job_list(struct atl_store *s, int64_t tenant_id, const char *before_id,
				size_t max, struct atl_store_job **list_out, size_t *n_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_JOB_LIST);
	void *rows = NULL;
	enum atl_err rc;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_int(st, 2, before_id != NULL ? 1 : 0);
	if (before_id != NULL)
		bind_text(st, 3, before_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	rc = list_rows(q, st, max, sizeof(**list_out), job_row_any, NULL, "job list",
		       &rows, n_out);
	if (rc == ATL_OK)
		*list_out = rows;
	return rc;
}

static enum atl_err sq_job_cancel(struct atl_store *s, int64_t tenant_id, const char *job_id,
				  int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(begin(q));
	if ((st = stmt(q, ST_JOB_CANCEL)) == NULL)
		goto out;
	bind_text(st, 1, job_id);
	sqlite3_bind_int64(st, 2, tenant_id);
	sqlite3_bind_int64(st, 3, now);
	ATL_TRY(run(q, st, "job cancel"));
	if (sqlite3_changes(q->db) != 1) {
		if ((st = stmt(q, ST_JOB_STATUS)) == NULL)
			goto out;
		bind_text(st, 1, job_id);
		sqlite3_bind_int64(st, 2, tenant_id);
		rc = sqlite3_step(st) == SQLITE_ROW ? ATL_E_STATE : ATL_E_NOTFOUND;
		sqlite3_reset(st);
		goto out;
	}
	rc = ATL_OK;
out:
	return finish(q, rc);
}

/* Expired leases back to the queue (or failed), inside the caller's
 * transaction. */
static enum atl_err expire_locked(struct sq *q, int64_t now, size_t *n_requeued,
				  size_t *n_failed)
{
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;

	if ((st = stmt(q, ST_EXPIRE_USAGE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, ATL_JOB_ATTEMPTS_MAX);
	ATL_TRY(run(q, st, "expire usage"));
	if ((st = stmt(q, ST_EXPIRE_FAIL)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, ATL_JOB_ATTEMPTS_MAX);
	ATL_TRY(run(q, st, "expire fail"));
	if (n_failed != NULL)
		*n_failed = (size_t)sqlite3_changes(q->db);
	if ((st = stmt(q, ST_EXPIRE_REQUEUE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	ATL_TRY(run(q, st, "expire requeue"));
	if (n_requeued != NULL)
		*n_requeued = (size_t)sqlite3_changes(q->db);
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err sq_job_expire(struct atl_store *s, int64_t now, size_t *n_requeued_out,
				  size_t *n_failed_out)
{
	struct sq *q = SQ(s);
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(begin(q));
	rc = expire_locked(q, now, n_requeued_out, n_failed_out);
out:
	return finish(q, rc);
}

static enum atl_err sq_job_expire_queued(struct atl_store *s, int64_t created_before,
					  const char *reason, int64_t now, size_t *n_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(begin(q));
	if ((st = stmt(q, ST_QUEUED_USAGE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, created_before);
	ATL_TRY(run(q, st, "expire queued usage"));
	if ((st = stmt(q, ST_QUEUED_FAIL)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, created_before);
	bind_text(st, 2, reason);
	sqlite3_bind_int64(st, 3, now);
	ATL_TRY(run(q, st, "expire queued"));
	if (n_out != NULL)
		*n_out = (size_t)sqlite3_changes(q->db);
	rc = ATL_OK;
out:
	return finish(q, rc);
}

/* Only an ATTESTED island may lease, offering only its own attested key. */
static enum atl_err may_lease(struct sq *q, int64_t island_id, const char *const *kids,
			      size_t n_kids)
{
	sqlite3_stmt *st = stmt(q, ST_ISLAND_KEY);
	enum atl_err rc;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, island_id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const unsigned char *kid = sqlite3_column_text(st, 1);
		bool ok = sqlite3_column_int(st, 0) == ATL_ISLAND_ATTESTED && kid != NULL &&
			  kid[0] != '\0';
		for (size_t i = 0; ok && i < n_kids; i++)
			ok = strcmp(kids[i], (const char *)kid) == 0;
		rc = ok ? ATL_OK : ATL_E_DENIED;
	} else {
		rc = src == SQLITE_DONE ? ATL_E_DENIED : fail(q, src, "island key");
	}
	sqlite3_reset(st);
	return rc;
}

static enum atl_err sq_job_lease(struct atl_store *s, int64_t island_id, const char *const *kids,
				 size_t n_kids, int64_t now, int64_t lease_s,
				 struct atl_store_job *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;
	int64_t seq;
	int src;

	/* checked before the read-only probe and again under the write lock
	 * (the operator may disable the island in between) */
	ATL_TRY(may_lease(q, island_id, kids, n_kids));
	/* an idle poll (the usual case under long-polling islands) answers
	 * from a read without taking the write lock; a job submitted just
	 * after this read is found by the next poll */
	if ((st = stmt(q, ST_JOB_PROBE)) == NULL)
		goto out;
	for (size_t i = 0; i < n_kids; i++)
		bind_text(st, (int)i + 1, kids[i]);
	sqlite3_bind_int64(st, 9, now);
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = fail(q, src, "job probe");
		sqlite3_reset(st);
		goto out;
	}
	if (sqlite3_column_int(st, 0) == 0) {
		sqlite3_reset(st);
		rc = ATL_E_NOTFOUND;
		goto out;
	}
	sqlite3_reset(st);
	/* BEGIN IMMEDIATE: the write lock is ours before we look, so the job
	 * we pick cannot be picked by another connection before we update it */
	ATL_TRY(begin(q));
	ATL_TRY(may_lease(q, island_id, kids, n_kids));
	ATL_TRY(expire_locked(q, now, NULL, NULL));
	if ((st = stmt(q, ST_JOB_PICK)) == NULL)
		goto out;
	for (size_t i = 0; i < n_kids; i++)
		bind_text(st, (int)i + 1, kids[i]);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		sqlite3_reset(st);
		rc = ATL_E_NOTFOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = fail(q, src, "job pick");
		sqlite3_reset(st);
		goto out;
	}
	seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if ((st = stmt(q, ST_JOB_LEASE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, island_id);
	sqlite3_bind_int64(st, 3, now + lease_s);
	sqlite3_bind_int64(st, 4, now);
	ATL_TRY(run(q, st, "job lease"));
	if (sqlite3_changes(q->db) != 1) {
		rc = ATL_E_INTERNAL; /* impossible under the write lock */
		goto out;
	}
	if ((st = stmt(q, ST_JOB_BY_SEQ)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	src = sqlite3_step(st);
	rc = src == SQLITE_ROW ? job_row_full(st, out) : fail(q, src, "job read");
	sqlite3_reset(st);
out:
	rc = finish(q, rc);
	if (rc != ATL_OK) {
		atl_store_job_clear(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* Finds the job island_id holds: seq, tenant and attempts; ATL_E_DENIED if
 * it holds no such job (STYLE: one answer for every reason). */
static enum atl_err held(struct sq *q, int64_t island_id, const char *job_id, int64_t *seq,
			 int64_t *tenant, int64_t *attempts)
{
	sqlite3_stmt *st = stmt(q, ST_JOB_HELD);
	enum atl_err rc = ATL_E_DENIED;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	bind_text(st, 1, job_id);
	sqlite3_bind_int64(st, 2, island_id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		*tenant = sqlite3_column_int64(st, 1);
		*attempts = sqlite3_column_int64(st, 2);
		rc = ATL_OK;
	} else if (src != SQLITE_DONE) {
		rc = fail(q, src, "job held");
	}
	sqlite3_reset(st);
	return rc;
}

static enum atl_err sq_job_complete(struct atl_store *s, int64_t island_id, const char *job_id,
				    const uint8_t *output, size_t output_len, int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;
	int64_t seq, tenant, attempts;

	ATL_TRY(begin(q));
	ATL_TRY(held(q, island_id, job_id, &seq, &tenant, &attempts));
	if ((st = stmt(q, ST_RESULT_ADD)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, island_id);
	bind_blob(st, 3, output, output_len);
	sqlite3_bind_int64(st, 4, now);
	ATL_TRY(run(q, st, "result add"));
	if ((st = stmt(q, ST_JOB_DONE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, now);
	ATL_TRY(run(q, st, "job done"));
	if ((st = stmt(q, ST_USAGE_DONE)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)output_len);
	ATL_TRY(run(q, st, "usage"));
	rc = ATL_OK;
out:
	return finish(q, rc);
}

static enum atl_err sq_job_fail(struct atl_store *s, int64_t island_id, const char *job_id,
				const char *reason, int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	enum atl_err rc = ATL_E_INTERNAL;
	int64_t seq, tenant, attempts;
	bool final;

	ATL_TRY(begin(q));
	ATL_TRY(held(q, island_id, job_id, &seq, &tenant, &attempts));
	final = attempts + 1 >= (int64_t)ATL_JOB_ATTEMPTS_MAX;
	if ((st = stmt(q, ST_JOB_RETRY)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int(st, 2, final ? ATL_JOB_FAILED : ATL_JOB_QUEUED);
	bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, now);
	ATL_TRY(run(q, st, "job fail"));
	if (final) {
		if ((st = stmt(q, ST_USAGE_FAIL)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, tenant);
		ATL_TRY(run(q, st, "usage"));
	}
	rc = ATL_OK;
out:
	return finish(q, rc);
}

static enum atl_err sq_job_counts(struct atl_store *s, uint64_t counts_out[ATL_JOB_STATUS_COUNT])
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_JOB_COUNTS);
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int status = sqlite3_column_int(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);
		if (status >= 0 && status < ATL_JOB_STATUS_COUNT && n >= 0)
			counts_out[status] = (uint64_t)n;
	}
	sqlite3_reset(st);
	return src == SQLITE_DONE ? ATL_OK : fail(q, src, "job counts");
}

static enum atl_err sq_usage_get(struct atl_store *s, int64_t tenant_id,
				 struct atl_store_usage *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_USAGE_GET);
	enum atl_err rc = ATL_E_NOTFOUND;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, tenant_id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		out->jobs_submitted = (uint64_t)sqlite3_column_int64(st, 0);
		out->jobs_done = (uint64_t)sqlite3_column_int64(st, 1);
		out->jobs_failed = (uint64_t)sqlite3_column_int64(st, 2);
		out->bytes_in = (uint64_t)sqlite3_column_int64(st, 3);
		out->bytes_out = (uint64_t)sqlite3_column_int64(st, 4);
		rc = ATL_OK;
	} else if (src != SQLITE_DONE) {
		rc = fail(q, src, "usage get");
	}
	sqlite3_reset(st);
	return rc;
}

/* ---- audit ---- */

static enum atl_err sq_audit_add(struct atl_store *s, int64_t now, const char *actor,
				 const char *action, const char *subject, const char *detail)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_AUDIT_ADD);

	if (st == NULL)
		return ATL_E_INTERNAL;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, actor);
	bind_text(st, 3, action);
	bind_text(st, 4, subject);
	bind_text(st, 5, detail);
	return run(q, st, "audit add");
}

static enum atl_err sq_audit_foreach(struct atl_store *s, int64_t after_seq, size_t max,
				     int (*fn)(void *ctx, const struct atl_store_audit *row),
				     void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = stmt(q, ST_AUDIT_LIST);
	struct atl_store_audit *row;
	enum atl_err rc = ATL_E_INTERNAL;
	int src;

	if (st == NULL)
		return ATL_E_INTERNAL;
	row = malloc(sizeof(*row));
	if (row == NULL)
		return ATL_E_NOMEM;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(row, 0, sizeof(*row));
		row->seq = sqlite3_column_int64(st, 0);
		row->at = sqlite3_column_int64(st, 1);
		ATL_TRY(col_text(st, 2, row->actor, sizeof(row->actor)));
		ATL_TRY(col_text(st, 3, row->action, sizeof(row->action)));
		ATL_TRY(col_text(st, 4, row->subject, sizeof(row->subject)));
		ATL_TRY(col_text(st, 5, row->detail, sizeof(row->detail)));
		if (fn(ctx, row) != 0) {
			src = SQLITE_DONE;
			break;
		}
	}
	rc = src == SQLITE_DONE ? ATL_OK : fail(q, src, "audit list");
out:
	sqlite3_reset(st);
	free(row);
	return rc;
}

static const struct atl_store_ops sqlite_ops = {
	.close = sq_close,
	.migrate = sq_migrate,
	.tenant_add = sq_tenant_add,
	.tenant_by_key_hash = sq_tenant_by_key_hash,
	.tenant_list = sq_tenant_list,
	.island_list = sq_island_list,
	.island_add = sq_island_add,
	.island_find = sq_island_find,
	.island_set_attested = sq_island_set_attested,
	.island_set_status = sq_island_set_status,
	.island_expire = sq_island_expire,
	.island_list_attested = sq_island_list_attested,
	.attestation_foreach = sq_attestation_foreach,
	.challenge_add = sq_challenge_add,
	.challenge_take = sq_challenge_take,
	.workload_add = sq_workload_add,
	.workload_get = sq_workload_get,
	.workload_list = sq_workload_list,
	.job_submit = sq_job_submit,
	.job_get = sq_job_get,
	.job_list = sq_job_list,
	.job_cancel = sq_job_cancel,
	.job_lease = sq_job_lease,
	.job_complete = sq_job_complete,
	.job_fail = sq_job_fail,
	.job_expire = sq_job_expire,
	.job_expire_queued = sq_job_expire_queued,
	.job_counts = sq_job_counts,
	.usage_get = sq_usage_get,
	.audit_add = sq_audit_add,
	.audit_foreach = sq_audit_foreach,
};

/* Runs a constant PRAGMA and checks its single text result when want != NULL. */
static enum atl_err pragma(struct sq *q, const char *text, const char *want)
{
	sqlite3_stmt *st = NULL;
	enum atl_err rc = ATL_OK;
	int src = sqlite3_prepare_v2(q->db, text, -1, &st, NULL);

	if (src != SQLITE_OK)
		return fail(q, src, "pragma");
	src = sqlite3_step(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = fail(q, src, "pragma");
	} else if (want != NULL) {
		const unsigned char *t = src == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
		if (t == NULL || strcmp((const char *)t, want) != 0) {
			atl_error("%s: unexpected result", text);
			rc = ATL_E_IO;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

enum atl_err atl_store_sqlite_open(const char *path, struct atl_store **store_out)
{
	struct sq *q = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	int fd, src;

	*store_out = NULL;
	/* create the file ourselves so that it (and the -wal/-shm files SQLite
	 * derives from it) get mode 0600 whatever the umask */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		atl_error("cannot open database file: %s", strerror(errno));
		return errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO;
	}
	close(fd);
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return ATL_E_NOMEM;
	q->base.backend = ATL_STORE_SQLITE;
	q->base.ops = &sqlite_ops;
	if (pthread_mutex_init(&q->base.mu, NULL) != 0) {
		free(q);
		return ATL_E_INTERNAL;
	}
	/* NOMUTEX: store.c serialises use of the handle */
	src = sqlite3_open_v2(path, &q->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
				      SQLITE_OPEN_EXRESCODE,
			      NULL);
	if (src != SQLITE_OK) {
		rc = fail(q, src, "open");
		goto out;
	}
	sqlite3_extended_result_codes(q->db, 1);
	src = sqlite3_busy_timeout(q->db, ATL_STORE_BUSY_MS);
	if (src != SQLITE_OK) {
		rc = fail(q, src, "busy timeout");
		goto out;
	}
	/* no ATTACH, no loadable extensions, no triggers/views planted in the
	 * file run with our privileges (SQLite "defensive" guidance) */
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_limit(q->db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(q->db, SQLITE_LIMIT_LENGTH, (int)ATL_JOB_INPUT_MAX + 1024);
	ATL_TRY(pragma(q, "PRAGMA journal_mode=WAL", "wal"));
	ATL_TRY(pragma(q, "PRAGMA synchronous=NORMAL", NULL));
	ATL_TRY(pragma(q, "PRAGMA foreign_keys=ON", NULL));
	ATL_TRY(sq_migrate(&q->base, NULL));
	*store_out = &q->base;
	q = NULL;
	rc = ATL_OK;
out:
	if (q != NULL)
		sq_close(&q->base);
	return rc;
}
