/* Unit tests for the store interface (src/store/store.c) and its SQLite
 * backend (src/store/sqlite.c), against real database files in a temp dir.
 * The concurrency tests lease from 2 threads (two handles) and from 2
 * processes at once and check that no job is leased twice.
 * (This test, like src/store/, may see sqlite3.h: it plants a future schema
 * version to check that an old program refuses the file.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "atoll/digest.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/store.h"

static char tmpdir[64];
static char dbpath[128];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/atl-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/atoll.db", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char p[160];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
		unlink(p);
	}
	rmdir(tmpdir);
	return 0;
}

static void hash_of(const char *secret, uint8_t out[ATL_SHA256_LEN])
{
	assert_int_equal(atl_hash(ATL_HASH_SHA256, secret, strlen(secret), out), ATL_OK);
}

static struct atl_store *open_db(void)
{
	struct atl_store *s = NULL;

	assert_int_equal(atl_store_open(dbpath, &s), ATL_OK);
	assert_non_null(s);
	return s;
}

static void pub_of(uint8_t b, uint8_t pub[ATL_X25519_LEN])
{
	memset(pub, b, ATL_X25519_LEN);
}

static void kid_of(uint8_t b, char kid[ATL_KEY_ID_LEN])
{
	uint8_t pub[ATL_X25519_LEN];

	pub_of(b, pub);
	assert_int_equal(atl_key_id("ek_", pub, kid), ATL_OK);
}

/* A tenant, an island and the workload "clf" in a fresh database. */
static void seed(struct atl_store *s, int64_t *tenant, int64_t *island)
{
	struct atl_store_workload w;
	uint8_t h[ATL_SHA256_LEN];

	hash_of("ak_tenant_a", h);
	assert_int_equal(atl_store_tenant_add(s, "alice", h, 100, tenant), ATL_OK);
	hash_of("it_island_1", h);
	assert_int_equal(atl_store_island_add(s, "island-1", h, 100, island), ATL_OK);
	memset(&w, 0, sizeof(w));
	strcpy(w.id, "clf");
	strcpy(w.kind, "classifier");
	strcpy(w.model_path, "/models/clf.json");
	strcpy(w.tees, "sim,tpm");
	memset(w.model_sha256, 0xab, sizeof(w.model_sha256));
	w.created_at = 100;
	assert_int_equal(atl_store_workload_add(s, &w), ATL_OK);
}

static void submit(struct atl_store *s, int64_t tenant, const char *kid, const char *input,
		   char id[ATL_JOB_ID_LEN])
{
	const char *kids[2] = {kid, "ck_00112233445566778899aabbccddeeff"};
	struct atl_store_job_new j = {
		.tenant_id = tenant, .workload_id = "clf", .input = (const uint8_t *)input,
		.input_len = strlen(input), .kids = kids, .n_kids = 2,
	};

	assert_int_equal(atl_store_job_submit(s, &j, 200, id), ATL_OK);
}

static void test_open_migrate(void **state)
{
	struct atl_store *s = NULL;
	struct stat st;
	sqlite3 *db;
	int v = -1;

	(void)state;
	s = open_db();
	assert_int_equal(atl_store_backend(s), ATL_STORE_SQLITE);
	assert_int_equal(atl_store_migrate(s, &v), ATL_OK);
	assert_int_equal(v, ATL_STORE_SCHEMA_VERSION);
	atl_store_close(s);
	assert_int_equal(stat(dbpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* reopening is a no-op migration; "sqlite:" prefix accepted */
	{
		char url[160];
		snprintf(url, sizeof(url), "sqlite:%s", dbpath);
		assert_int_equal(atl_store_open(url, &s), ATL_OK);
		assert_int_equal(atl_store_migrate(s, &v), ATL_OK);
		assert_int_equal(v, ATL_STORE_SCHEMA_VERSION);
		atl_store_close(s);
	}
	/* a database from a newer program is refused, not downgraded */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(99, 0)", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	s = (struct atl_store *)1;
	assert_int_equal(atl_store_open(dbpath, &s), ATL_E_UNSUPPORTED);
	assert_null(s);
	/* argument and backend errors */
	assert_int_equal(atl_store_open("", &s), ATL_E_ARG);
	assert_int_equal(atl_store_open("sqlite:", &s), ATL_E_ARG);
	assert_int_equal(atl_store_open("postgres://localhost/atoll", &s), ATL_E_UNSUPPORTED);
	assert_int_equal(atl_store_open("/nonexistent-dir/x/atoll.db", &s), ATL_E_NOTFOUND);
	atl_store_close(NULL);
}

static void test_tenants(void **state)
{
	struct atl_store *s;
	struct atl_store_tenant t;
	uint8_t h[ATL_SHA256_LEN], h2[ATL_SHA256_LEN];
	int64_t id = 0, id2 = 0;

	(void)state;
	s = open_db();
	hash_of("ak_secret", h);
	hash_of("ak_other", h2);
	assert_int_equal(atl_store_tenant_add(s, "alice", h, 10, &id), ATL_OK);
	assert_true(id > 0);
	assert_int_equal(atl_store_tenant_add(s, "alice", h2, 10, &id2), ATL_E_EXISTS);
	assert_int_equal(atl_store_tenant_add(s, "bob", h, 10, &id2), ATL_E_EXISTS);
	assert_int_equal(atl_store_tenant_add(s, "bad name", h2, 10, &id2), ATL_E_ARG);
	assert_int_equal(atl_store_tenant_add(s, "", h2, 10, &id2), ATL_E_ARG);
	assert_int_equal(atl_store_tenant_by_key_hash(s, h, &t), ATL_OK);
	assert_int_equal(t.id, id);
	assert_string_equal(t.name, "alice");
	assert_int_equal(t.created_at, 10);
	assert_int_equal(atl_store_tenant_by_key_hash(s, h2, &t), ATL_E_NOTFOUND);
	atl_store_close(s);
}

static void test_tokens_lists(void **state)
{
	struct atl_store *s;
	struct atl_store_tenant t, *tl = NULL;
	struct atl_store_island *il = NULL;
	char tok[ATL_STORE_TOKEN_LEN], tok2[ATL_STORE_TOKEN_LEN];
	uint8_t h[ATL_SHA256_LEN], h2[ATL_SHA256_LEN];
	int64_t id, isl;
	size_t n;

	(void)state;
	assert_int_equal(atl_store_token_new("ak_", tok, h), ATL_OK);
	assert_int_equal(strlen(tok), ATL_STORE_TOKEN_LEN - 1);
	assert_memory_equal(tok, "ak_", 3);
	assert_int_equal(atl_store_token_new("ak_", tok2, h2), ATL_OK);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(atl_store_token_new("xx_", tok2, h2), ATL_E_ARG);
	/* the presented token hashes to the stored digest */
	assert_int_equal(atl_store_token_hash("ak_", tok, h2), ATL_OK);
	assert_memory_equal(h, h2, sizeof(h));
	s = open_db();
	assert_int_equal(atl_store_tenant_add(s, "alice", h, 1, &id), ATL_OK);
	assert_int_equal(atl_store_tenant_by_key_hash(s, h2, &t), ATL_OK);
	assert_int_equal(t.id, id);
	/* malformed tokens: ATL_E_AUTH like an unknown one */
	assert_int_equal(atl_store_token_hash("it_", tok, h2), ATL_E_AUTH);
	tok[10] = 'G';
	assert_int_equal(atl_store_token_hash("ak_", tok, h2), ATL_E_AUTH);
	tok[10] = 'A';
	assert_int_equal(atl_store_token_hash("ak_", tok, h2), ATL_E_AUTH);
	assert_int_equal(atl_store_token_hash("ak_", "ak_00", h2), ATL_E_AUTH);
	assert_int_equal(atl_store_token_hash("ak_", NULL, h2), ATL_E_AUTH);
	/* operator lists */
	assert_int_equal(atl_store_token_new("it_", tok2, h2), ATL_OK);
	assert_int_equal(atl_store_island_add(s, "isl-1", h2, 2, &isl), ATL_OK);
	hash_of("bob", h);
	assert_int_equal(atl_store_tenant_add(s, "bob", h, 3, &id), ATL_OK);
	assert_int_equal(atl_store_tenant_list(s, 10, &tl, &n), ATL_OK);
	assert_int_equal(n, 2);
	assert_string_equal(tl[0].name, "alice");
	assert_string_equal(tl[1].name, "bob");
	free(tl);
	assert_int_equal(atl_store_tenant_list(s, 1, &tl, &n), ATL_OK);
	assert_int_equal(n, 1);
	free(tl);
	assert_int_equal(atl_store_island_list(s, 10, &il, &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_string_equal(il[0].name, "isl-1");
	assert_int_equal(il[0].status, ATL_ISLAND_REGISTERED);
	assert_null(il[0].evidence);
	atl_store_island_list_free(il, n);
	assert_int_equal(atl_store_island_list(s, 0, &il, &n), ATL_E_ARG);
	atl_store_close(s);
}

static int count_attest(void *ctx, const struct atl_store_attestation *a)
{
	int *n = ctx;

	assert_true(a->at == 300 || a->at == 400);
	(*n)++;
	return 0;
}

static void test_islands(void **state)
{
	struct atl_store *s;
	struct atl_store_island is, *list = NULL;
	uint8_t h[ATL_SHA256_LEN], pub[ATL_X25519_LEN];
	char kid[ATL_KEY_ID_LEN];
	int64_t a = 0, b = 0;
	size_t n = 0;
	int nat = 0;

	(void)state;
	s = open_db();
	hash_of("it_a", h);
	assert_int_equal(atl_store_island_add(s, "isl-a", h, 10, &a), ATL_OK);
	assert_int_equal(atl_store_island_add(s, "isl-a2", h, 10, &b), ATL_E_EXISTS);
	assert_int_equal(atl_store_island_by_token_hash(s, h, &is), ATL_OK);
	assert_int_equal(is.id, a);
	assert_int_equal(is.status, ATL_ISLAND_REGISTERED);
	assert_false(is.has_key);
	assert_null(is.evidence);
	atl_store_island_clear(&is);
	hash_of("it_b", h);
	assert_int_equal(atl_store_island_add(s, "isl-b", h, 10, &b), ATL_OK);
	hash_of("it_nope", h);
	assert_int_equal(atl_store_island_by_token_hash(s, h, &is), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_island_get(s, 9999, &is), ATL_E_NOTFOUND);

	pub_of(1, pub);
	kid_of(1, kid);
	assert_int_equal(atl_store_island_set_attested(s, a, "sim", pub, (const uint8_t *)"EV", 2,
						       300),
			 ATL_OK);
	assert_int_equal(atl_store_island_get(s, a, &is), ATL_OK);
	assert_int_equal(is.status, ATL_ISLAND_ATTESTED);
	assert_string_equal(is.tee, "sim");
	assert_string_equal(is.enclave_kid, kid);
	assert_true(is.has_key);
	assert_memory_equal(is.enclave_pub, pub, sizeof(pub));
	assert_int_equal(is.evidence_len, 2);
	assert_memory_equal(is.evidence, "EV", 2);
	assert_int_equal(is.attested_at, 300);
	atl_store_island_clear(&is);
	assert_int_equal(atl_store_island_by_kid(s, kid, &is), ATL_OK);
	assert_int_equal(is.id, a);
	atl_store_island_clear(&is);
	assert_int_equal(atl_store_island_by_kid(s, "ek_ffffffffffffffffffffffffffffffff", &is),
			 ATL_E_NOTFOUND);
	assert_int_equal(atl_store_island_by_kid(s, "", &is), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_island_by_kid(s, "bad kid!", &is), ATL_E_NOTFOUND);
	/* the same enclave key cannot be claimed by a second island */
	assert_int_equal(atl_store_island_set_attested(s, b, "sim", pub, NULL, 0, 300),
			 ATL_E_EXISTS);
	assert_int_equal(atl_store_island_set_attested(s, 4242, "sim", pub, NULL, 0, 300),
			 ATL_E_NOTFOUND);
	assert_int_equal(atl_store_island_set_attested(s, b, "bad tee!", pub, NULL, 0, 300),
			 ATL_E_ARG);
	assert_int_equal(atl_store_island_set_attested(s, b, "sim", pub, NULL,
						       ATL_STORE_EVIDENCE_MAX + 1, 300),
			 ATL_E_ARG);
	/* re-attestation (new evidence, same key) appends to the history */
	assert_int_equal(atl_store_island_set_attested(s, a, "sim", pub, NULL, 0, 400), ATL_OK);
	assert_int_equal(atl_store_attestation_foreach(s, a, 0, 10, count_attest, &nat), ATL_OK);
	assert_int_equal(nat, 2);
	pub_of(2, pub);
	assert_int_equal(atl_store_island_set_attested(s, b, "tpm", pub, NULL, 0, 350), ATL_OK);

	assert_int_equal(atl_store_island_list_attested(s, 0, 10, &list, &n), ATL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, a); /* newest first */
	assert_int_equal(list[1].id, b);
	atl_store_island_list_free(list, n);
	assert_int_equal(atl_store_island_list_attested(s, 0, 0, &list, &n), ATL_E_ARG);

	/* re-attestation age: b (350) is older than 360 */
	assert_int_equal(atl_store_island_expire(s, 360, &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(atl_store_island_list_attested(s, 0, 10, &list, &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, a);
	atl_store_island_list_free(list, n);

	/* a disabled island cannot attest back into service */
	assert_int_equal(atl_store_island_set_status(s, a, ATL_ISLAND_DISABLED), ATL_OK);
	pub_of(3, pub);
	assert_int_equal(atl_store_island_set_attested(s, a, "sim", pub, NULL, 0, 500),
			 ATL_E_STATE);
	assert_int_equal(atl_store_island_set_status(s, 777, ATL_ISLAND_STALE), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_island_set_status(s, a, (enum atl_island_status)9), ATL_E_ARG);
	atl_store_close(s);
}

static void test_workloads(void **state)
{
	struct atl_store *s;
	struct atl_store_workload w, g;
	int64_t t, i;

	(void)state;
	s = open_db();
	seed(s, &t, &i);
	assert_int_equal(atl_store_workload_get(s, "clf", &g), ATL_OK);
	assert_string_equal(g.kind, "classifier");
	assert_string_equal(g.tees, "sim,tpm");
	assert_string_equal(g.model_path, "/models/clf.json");
	assert_int_equal(g.model_sha256[0], 0xab);
	assert_true(atl_store_workload_allows_tee(&g, "sim"));
	assert_true(atl_store_workload_allows_tee(&g, "tpm"));
	assert_false(atl_store_workload_allows_tee(&g, "si"));
	assert_false(atl_store_workload_allows_tee(&g, "sev-snp"));
	assert_false(atl_store_workload_allows_tee(&g, ""));
	assert_int_equal(atl_store_workload_add(s, &g), ATL_E_EXISTS);
	{
		struct atl_store_workload *wl = NULL;
		size_t n = 0;
		w = g;
		strcpy(w.id, "a-first");
		/* an encrypted model's key source (schema version 3) */
		strcpy(w.model_key, "{\"kbs\":\"http://127.0.0.1:1\"}");
		assert_int_equal(atl_store_workload_add(s, &w), ATL_OK);
		assert_int_equal(atl_store_workload_list(s, 10, &wl, &n), ATL_OK);
		assert_int_equal(n, 2);
		assert_string_equal(wl[0].id, "a-first");
		assert_string_equal(wl[0].model_key, w.model_key);
		assert_string_equal(wl[1].id, "clf");
		assert_string_equal(wl[1].model_key, "");
		assert_int_equal(wl[1].model_sha256[31], 0xab);
		free(wl);
		assert_int_equal(atl_store_workload_list(s, 0, &wl, &n), ATL_E_ARG);
	}
	assert_int_equal(atl_store_workload_get(s, "nope", &g), ATL_E_NOTFOUND);
	w = g;
	strcpy(w.id, "w2");
	strcpy(w.tees, "sim,,tpm");
	assert_int_equal(atl_store_workload_add(s, &w), ATL_E_ARG);
	strcpy(w.tees, "SIM");
	assert_int_equal(atl_store_workload_add(s, &w), ATL_E_ARG);
	strcpy(w.tees, "sim,");
	assert_int_equal(atl_store_workload_add(s, &w), ATL_E_ARG);
	strcpy(w.tees, "sev-snp");
	w.model_path[0] = '\0';
	assert_int_equal(atl_store_workload_add(s, &w), ATL_E_ARG);
	atl_store_close(s);
}

/* The same envelope digest twice is refused (schema version 4), whatever
 * the tenant or status; jobs without a digest are unaffected. */
static void test_job_env_digest(void **state)
{
	struct atl_store *s = open_db();
	const char *kids[1] = {"ek_00112233445566778899aabbccddeeff"};
	uint8_t d1[32], d2[32];
	struct atl_store_job_new j = {.workload_id = "clf", .input = (const uint8_t *)"{}",
				      .input_len = 2, .kids = kids, .n_kids = 1};
	char id[ATL_JOB_ID_LEN], id2[ATL_JOB_ID_LEN];
	int64_t t, a;
	uint64_t counts[ATL_JOB_STATUS_COUNT] = {0};

	(void)state;
	seed(s, &t, &a);
	memset(d1, 1, sizeof(d1));
	memset(d2, 2, sizeof(d2));
	j.tenant_id = t;
	j.env_digest = d1;
	assert_int_equal(atl_store_job_submit(s, &j, 200, id), ATL_OK);
	assert_int_equal(atl_store_job_submit(s, &j, 201, id2), ATL_E_EXISTS);
	assert_string_equal(id2, "");
	assert_int_equal(atl_store_job_cancel(s, t, id, 202), ATL_OK);
	assert_int_equal(atl_store_job_submit(s, &j, 203, id2), ATL_E_EXISTS);
	j.env_digest = d2;
	assert_int_equal(atl_store_job_submit(s, &j, 204, id2), ATL_OK);
	j.env_digest = NULL;
	assert_int_equal(atl_store_job_submit(s, &j, 205, id2), ATL_OK);
	assert_int_equal(atl_store_job_submit(s, &j, 206, id2), ATL_OK);
	assert_int_equal(atl_store_job_counts(s, counts), ATL_OK);
	assert_int_equal(counts[ATL_JOB_QUEUED], 3);
	assert_int_equal(counts[ATL_JOB_CANCELLED], 1);
	atl_store_close(s);
}

static void test_jobs(void **state)
{
	struct atl_store *s;
	struct atl_store_job j, *list = NULL;
	struct atl_store_usage u;
	uint8_t h[ATL_SHA256_LEN];
	uint64_t counts[ATL_JOB_STATUS_COUNT];
	char kid1[ATL_KEY_ID_LEN], kid2[ATL_KEY_ID_LEN];
	char id1[ATL_JOB_ID_LEN], id2[ATL_JOB_ID_LEN], id3[ATL_JOB_ID_LEN];
	const char *offer1[1], *offer2[1], *none[1] = {"ek_ffffffffffffffffffffffffffffffff"};
	int64_t t, bob, i1, i2;
	size_t n, nf;

	(void)state;
	s = open_db();
	seed(s, &t, &i1);
	hash_of("ak_bob", h);
	assert_int_equal(atl_store_tenant_add(s, "bob", h, 100, &bob), ATL_OK);
	hash_of("it_island_2", h);
	assert_int_equal(atl_store_island_add(s, "island-2", h, 100, &i2), ATL_OK);
	kid_of(1, kid1);
	kid_of(2, kid2);
	offer1[0] = kid1;
	offer2[0] = kid2;
	/* not attested yet: no lease */
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 300, 30, &j), ATL_E_DENIED);
	{
		uint8_t pub[ATL_X25519_LEN];
		pub_of(1, pub);
		assert_int_equal(atl_store_island_set_attested(s, i1, "sim", pub, NULL, 0, 100),
				 ATL_OK);
		pub_of(2, pub);
		assert_int_equal(atl_store_island_set_attested(s, i2, "sim", pub, NULL, 0, 100),
				 ATL_OK);
	}

	submit(s, t, kid1, "sealed-1", id1);
	assert_memory_equal(id1, "job_", 4);
	assert_int_equal(strlen(id1), ATL_JOB_ID_LEN - 1);
	submit(s, t, kid1, "sealed-2", id2);
	assert_string_not_equal(id1, id2);

	/* unknown tenant / workload; argument limits */
	{
		const char *kids[1] = {kid1};
		struct atl_store_job_new nj = {.tenant_id = 999, .workload_id = "clf",
					       .input = (const uint8_t *)"x", .input_len = 1,
					       .kids = kids, .n_kids = 1};
		char id[ATL_JOB_ID_LEN];
		assert_int_equal(atl_store_job_submit(s, &nj, 1, id), ATL_E_NOTFOUND);
		nj.tenant_id = t;
		nj.workload_id = "nope";
		assert_int_equal(atl_store_job_submit(s, &nj, 1, id), ATL_E_NOTFOUND);
		nj.workload_id = "clf";
		nj.n_kids = 0;
		assert_int_equal(atl_store_job_submit(s, &nj, 1, id), ATL_E_ARG);
		nj.n_kids = ATL_JOB_RECIPIENTS_MAX + 1;
		assert_int_equal(atl_store_job_submit(s, &nj, 1, id), ATL_E_ARG);
		nj.n_kids = 1;
		nj.input_len = ATL_JOB_INPUT_MAX + 1;
		assert_int_equal(atl_store_job_submit(s, &nj, 1, id), ATL_E_ARG);
	}

	/* tenant isolation: bob sees neither job, and cannot cancel it */
	assert_int_equal(atl_store_job_get(s, t, id1, true, &j), ATL_OK);
	assert_int_equal(j.status, ATL_JOB_QUEUED);
	assert_int_equal(j.input_len, 8);
	assert_memory_equal(j.input, "sealed-1", 8);
	assert_null(j.output);
	atl_store_job_clear(&j);
	assert_int_equal(atl_store_job_get(s, t, id1, false, &j), ATL_OK);
	assert_null(j.input);
	atl_store_job_clear(&j);
	assert_int_equal(atl_store_job_get(s, bob, id1, true, &j), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_job_get(s, t, "job_zz", true, &j), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_job_cancel(s, bob, id1, 1), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_job_list(s, bob, NULL, 10, &list, &n), ATL_OK);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(atl_store_job_list(s, t, NULL, 10, &list, &n), ATL_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, id2); /* newest first */
	assert_string_equal(list[1].id, id1);
	free(list);
	assert_int_equal(atl_store_job_list(s, t, id2, 10, &list, &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, id1);
	free(list);

	/* leases go only to islands holding a recipient key, oldest first; an
	 * island can offer only its own attested key */
	assert_int_equal(atl_store_job_lease(s, i2, none, 1, 300, 30, &j), ATL_E_DENIED);
	assert_int_equal(atl_store_job_lease(s, i2, offer1, 1, 300, 30, &j), ATL_E_DENIED);
	assert_int_equal(atl_store_job_lease(s, 4242, offer1, 1, 300, 30, &j), ATL_E_DENIED);
	assert_int_equal(atl_store_job_lease(s, i2, offer2, 1, 300, 30, &j), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_island_set_status(s, i1, ATL_ISLAND_STALE), ATL_OK);
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 300, 30, &j), ATL_E_DENIED);
	assert_int_equal(atl_store_island_set_status(s, i1, ATL_ISLAND_ATTESTED), ATL_OK);
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 300, 30, &j), ATL_OK);
	assert_string_equal(j.id, id1);
	assert_int_equal(j.status, ATL_JOB_LEASED);
	assert_int_equal(j.lease_island, i1);
	assert_int_equal(j.lease_deadline, 330);
	assert_memory_equal(j.input, "sealed-1", 8);
	atl_store_job_clear(&j);
	assert_int_equal(atl_store_job_cancel(s, t, id1, 1), ATL_E_STATE);

	/* only the holder completes, exactly once */
	assert_int_equal(atl_store_job_complete(s, i2, id1, (const uint8_t *)"out", 3, 310),
			 ATL_E_DENIED);
	assert_int_equal(atl_store_job_complete(s, i1, "job_nope", (const uint8_t *)"out", 3,
						310),
			 ATL_E_DENIED);
	assert_int_equal(atl_store_job_complete(s, i1, id1, (const uint8_t *)"sealed-out", 10,
						310),
			 ATL_OK);
	assert_int_equal(atl_store_job_complete(s, i1, id1, (const uint8_t *)"again", 5, 311),
			 ATL_E_DENIED);
	assert_int_equal(atl_store_job_get(s, t, id1, false, &j), ATL_OK);
	assert_int_equal(j.status, ATL_JOB_DONE);
	assert_int_equal(j.output_len, 10);
	assert_memory_equal(j.output, "sealed-out", 10);
	atl_store_job_clear(&j);

	/* expiry: job 2 leased by i1 and abandoned goes back to the queue; the
	 * late result of the old holder is refused; i2 can't lease it (key) */
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 400, 10, &j), ATL_OK);
	assert_string_equal(j.id, id2);
	atl_store_job_clear(&j);
	assert_int_equal(atl_store_job_expire(s, 405, &n, &nf), ATL_OK);
	assert_int_equal(n, 0); /* not yet */
	assert_int_equal(atl_store_job_expire(s, 411, &n, &nf), ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(nf, 0);
	assert_int_equal(atl_store_job_complete(s, i1, id2, (const uint8_t *)"late", 4, 412),
			 ATL_E_DENIED);
	assert_int_equal(atl_store_job_get(s, t, id2, false, &j), ATL_OK);
	assert_int_equal(j.status, ATL_JOB_QUEUED);
	assert_int_equal(j.attempts, 1);
	assert_string_equal(j.error, "lease expired");
	atl_store_job_clear(&j);

	/* failures: attempts reach the max and the job fails with the reason */
	for (uint32_t k = 1; k < ATL_JOB_ATTEMPTS_MAX; k++) {
		assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 500 + k, 10, &j), ATL_OK);
		atl_store_job_clear(&j);
		assert_int_equal(atl_store_job_fail(s, i2, id2, "nope", 501), ATL_E_DENIED);
		assert_int_equal(atl_store_job_fail(s, i1, id2, "enclave died", 501 + k), ATL_OK);
	}
	assert_int_equal(atl_store_job_get(s, t, id2, false, &j), ATL_OK);
	assert_int_equal(j.status, ATL_JOB_FAILED);
	assert_int_equal(j.attempts, ATL_JOB_ATTEMPTS_MAX);
	assert_string_equal(j.error, "enclave died");
	atl_store_job_clear(&j);
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 600, 10, &j), ATL_E_NOTFOUND);

	/* lease expiry that fails a job for good; cancel */
	submit(s, t, kid1, "sealed-3", id3);
	for (uint32_t k = 0; k < ATL_JOB_ATTEMPTS_MAX; k++) {
		assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 700 + 100 * k, 10, &j),
				 ATL_OK);
		atl_store_job_clear(&j);
	}
	assert_int_equal(atl_store_job_expire(s, 2000, &n, &nf), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(nf, 1);
	submit(s, t, kid1, "sealed-4", id3);
	assert_int_equal(atl_store_job_cancel(s, t, id3, 900), ATL_OK);
	assert_int_equal(atl_store_job_cancel(s, t, id3, 901), ATL_E_STATE);
	/* queued too long (submitted at 200): failed with the reason */
	submit(s, t, "ek_ffffffffffffffffffffffffffffffff", "sealed-5", id3);
	assert_int_equal(atl_store_job_expire_queued(s, 200, "no island", 950, &n), ATL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(atl_store_job_expire_queued(s, 201, "no attested island took the job",
						     950, &n),
			 ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(atl_store_job_get(s, t, id3, false, &j), ATL_OK);
	assert_int_equal(j.status, ATL_JOB_FAILED);
	assert_string_equal(j.error, "no attested island took the job");
	atl_store_job_clear(&j);
	assert_int_equal(atl_store_job_expire_queued(s, 201, "", 950, &n), ATL_E_ARG);

	assert_int_equal(atl_store_job_counts(s, counts), ATL_OK);
	assert_int_equal(counts[ATL_JOB_QUEUED], 0);
	assert_int_equal(counts[ATL_JOB_LEASED], 0);
	assert_int_equal(counts[ATL_JOB_DONE], 1);
	assert_int_equal(counts[ATL_JOB_FAILED], 3);
	assert_int_equal(counts[ATL_JOB_CANCELLED], 1);

	/* metering */
	assert_int_equal(atl_store_usage_get(s, t, &u), ATL_OK);
	assert_int_equal(u.jobs_submitted, 5);
	assert_int_equal(u.jobs_done, 1);
	assert_int_equal(u.jobs_failed, 3);
	assert_int_equal(u.bytes_in, 40);
	assert_int_equal(u.bytes_out, 10);
	assert_int_equal(atl_store_usage_get(s, bob, &u), ATL_OK);
	assert_int_equal(u.jobs_submitted, 0);
	assert_int_equal(atl_store_usage_get(s, 4242, &u), ATL_E_NOTFOUND);

	/* lease arguments */
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 0, 1, 10, &j), ATL_E_ARG);
	assert_int_equal(atl_store_job_lease(s, i1, offer1, ATL_LEASE_KIDS_MAX + 1, 1, 10, &j),
			 ATL_E_ARG);
	assert_int_equal(atl_store_job_lease(s, i1, offer1, 1, 1, 0, &j), ATL_E_ARG);
	atl_store_close(s);
}

static void test_challenges(void **state)
{
	struct atl_store *s;
	uint8_t n1[32], n2[32], nb[32];
	int64_t t, a, b;
	uint8_t h[ATL_SHA256_LEN];

	(void)state;
	s = open_db();
	seed(s, &t, &a);
	hash_of("it_b", h);
	assert_int_equal(atl_store_island_add(s, "isl-b", h, 10, &b), ATL_OK);
	memset(n1, 1, sizeof(n1));
	memset(n2, 2, sizeof(n2));
	memset(nb, 3, sizeof(nb));
	assert_int_equal(atl_store_challenge_add(s, a, n1, sizeof(n1), 100, 130), ATL_OK);
	assert_int_equal(atl_store_challenge_add(s, a, n1, sizeof(n1), 100, 130), ATL_E_EXISTS);
	assert_int_equal(atl_store_challenge_add(s, a, n2, sizeof(n2), 100, 130), ATL_OK);
	assert_int_equal(atl_store_challenge_add(s, b, nb, sizeof(nb), 100, 130), ATL_OK);
	assert_int_equal(atl_store_challenge_add(s, 999, n1 + 1, 16, 100, 130), ATL_E_NOTFOUND);
	assert_int_equal(atl_store_challenge_add(s, a, n1, 8, 100, 130), ATL_E_ARG);
	assert_int_equal(atl_store_challenge_add(s, a, n1, sizeof(n1), 100, 99), ATL_E_ARG);
	/* another island's nonce is refused and left alone */
	assert_int_equal(atl_store_challenge_take(s, a, nb, sizeof(nb), 110), ATL_E_REPLAY);
	assert_int_equal(atl_store_challenge_take(s, b, nb, sizeof(nb), 110), ATL_OK);
	/* single use */
	assert_int_equal(atl_store_challenge_take(s, a, n1, sizeof(n1), 110), ATL_OK);
	assert_int_equal(atl_store_challenge_take(s, a, n1, sizeof(n1), 111), ATL_E_REPLAY);
	/* too old: refused, and gone */
	assert_int_equal(atl_store_challenge_take(s, a, n2, sizeof(n2), 131), ATL_E_EXPIRED);
	assert_int_equal(atl_store_challenge_take(s, a, n2, sizeof(n2), 120), ATL_E_REPLAY);
	assert_int_equal(atl_store_challenge_take(s, a, n2, 4, 120), ATL_E_REPLAY);
	/* only the newest ATL_STORE_CHALLENGES_MAX stay outstanding */
	for (int i = 0; i < (int)ATL_STORE_CHALLENGES_MAX + 2; i++) {
		uint8_t n[16];
		memset(n, 0x40 + i, sizeof(n));
		assert_int_equal(atl_store_challenge_add(s, a, n, sizeof(n), 200 + i, 1000), ATL_OK);
	}
	for (int i = 0; i < (int)ATL_STORE_CHALLENGES_MAX + 2; i++) {
		uint8_t n[16];
		memset(n, 0x40 + i, sizeof(n));
		assert_int_equal(atl_store_challenge_take(s, a, n, sizeof(n), 300),
				 i < 2 ? ATL_E_REPLAY : ATL_OK);
	}
	atl_store_close(s);
}

static void test_migrate_from_v1(void **state)
{
	struct atl_store *s;
	sqlite3 *db;
	uint8_t n[16];
	int64_t t, a;
	int v = 0;

	(void)state;
	/* a version-1 database: the current one with steps 2, 3 and 4 taken back */
	s = open_db();
	seed(s, &t, &a);
	atl_store_close(s);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE challenges; DROP INDEX jobs_queued_age;"
				      "ALTER TABLE workloads DROP COLUMN model_key;"
				      "DROP INDEX jobs_env_digest;"
				      "ALTER TABLE jobs DROP COLUMN env_digest;"
				      "DELETE FROM schema_migrations WHERE version>=2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* reopening migrates it, keeping the data */
	s = open_db();
	assert_int_equal(atl_store_migrate(s, &v), ATL_OK);
	assert_int_equal(v, ATL_STORE_SCHEMA_VERSION);
	memset(n, 7, sizeof(n));
	assert_int_equal(atl_store_challenge_add(s, a, n, sizeof(n), 1, 2), ATL_OK);
	{
		struct atl_store_workload w;
		assert_int_equal(atl_store_workload_get(s, "clf", &w), ATL_OK);
		assert_string_equal(w.model_key, ""); /* step 3: a plaintext model */
	}
	atl_store_close(s);
}

static int collect_audit(void *ctx, const struct atl_store_audit *row)
{
	int *n = ctx;

	(*n)++;
	if (row->seq == 1) {
		assert_string_equal(row->actor, "operator");
		assert_string_equal(row->action, "tenant.add");
		assert_string_equal(row->subject, "alice");
		assert_string_equal(row->detail, "");
	}
	return *n >= 2; /* stop after two */
}

static void test_audit(void **state)
{
	struct atl_store *s;
	char big[ATL_STORE_AUDIT_DETAIL_MAX + 2];
	int n = 0;

	(void)state;
	s = open_db();
	assert_int_equal(atl_store_audit_add(s, 1, "operator", "tenant.add", "alice", NULL),
			 ATL_OK);
	assert_int_equal(atl_store_audit_add(s, 2, "island-1", "attest", "island-1", "tee=sim"),
			 ATL_OK);
	assert_int_equal(atl_store_audit_add(s, 3, "x", "y", "z", "w"), ATL_OK);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(atl_store_audit_add(s, 4, "x", "y", "z", big), ATL_E_ARG);
	assert_int_equal(atl_store_audit_add(s, 4, "x", "y\n", "z", NULL), ATL_E_ARG);
	assert_int_equal(atl_store_audit_foreach(s, 0, 10, collect_audit, &n), ATL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(atl_store_audit_foreach(s, 0, 0, collect_audit, &n), ATL_E_ARG);
	atl_store_close(s);
}

/* ---- concurrency: no job is leased twice ---- */

#define N_RACE_JOBS 300

struct racer {
	int64_t island;
	char kid[ATL_KEY_ID_LEN];
	char ids[N_RACE_JOBS][ATL_JOB_ID_LEN];
	size_t n;
	enum atl_err last;
	int ready_w, go_r; /* start line: "ready" to the driver, wait for "go" */
};

/* Leases until the queue is empty, with its own handle (own connection). */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct atl_store *s = NULL;
	struct atl_store_job j;
	const char *offer[1] = {r->kid};
	char b = 'r';

	r->last = atl_store_open(dbpath, &s);
	if (write(r->ready_w, &b, 1) != 1 || read(r->go_r, &b, 1) != 1)
		r->last = ATL_E_IO;
	if (r->last != ATL_OK) {
		atl_store_close(s);
		return NULL;
	}
	for (;;) {
		r->last = atl_store_job_lease(s, r->island, offer, 1, 1000, 60, &j);
		if (r->last != ATL_OK)
			break;
		if (r->n < N_RACE_JOBS)
			memcpy(r->ids[r->n], j.id, ATL_JOB_ID_LEN);
		r->n++;
		atl_store_job_clear(&j);
	}
	atl_store_close(s);
	return NULL;
}

static void race_setup(struct racer *r)
{
	struct atl_store *s;
	uint8_t h[ATL_SHA256_LEN];
	char id[ATL_JOB_ID_LEN];
	int64_t t, i2;

	s = open_db();
	seed(s, &t, &r[0].island);
	hash_of("it_island_2", h);
	assert_int_equal(atl_store_island_add(s, "island-2", h, 100, &i2), ATL_OK);
	r[1].island = i2;
	/* each island attested with its own key; every job sealed to both */
	for (int k = 0; k < 2; k++) {
		uint8_t pub[ATL_X25519_LEN];
		pub_of((uint8_t)(7 + k), pub);
		kid_of((uint8_t)(7 + k), r[k].kid);
		assert_int_equal(atl_store_island_set_attested(s, r[k].island, "sim", pub, NULL, 0,
							       100),
				 ATL_OK);
	}
	for (int k = 0; k < N_RACE_JOBS; k++) {
		const char *kids[2] = {r[0].kid, r[1].kid};
		struct atl_store_job_new nj = {.tenant_id = t, .workload_id = "clf",
					       .input = (const uint8_t *)"sealed", .input_len = 6,
					       .kids = kids, .n_kids = 2};
		assert_int_equal(atl_store_job_submit(s, &nj, 200, id), ATL_OK);
	}
	atl_store_close(s);
}

/* Pipes for the start line; after both racers are ready, release both. */
static void start_pipes(struct racer *r, int ready[2], int go[2][2])
{
	assert_int_equal(pipe(ready), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(pipe(go[k]), 0);
		r[k].ready_w = ready[1];
		r[k].go_r = go[k][0];
	}
}

static void start_race(int ready[2], int go[2][2])
{
	char b[2];

	assert_int_equal(read(ready[0], &b[0], 1), 1);
	assert_int_equal(read(ready[0], &b[1], 1), 1);
	for (int k = 0; k < 2; k++)
		assert_int_equal(write(go[k][1], "g", 1), 1);
}

static void close_pipes(int ready[2], int go[2][2])
{
	close(ready[0]);
	close(ready[1]);
	for (int k = 0; k < 2; k++) {
		close(go[k][0]);
		close(go[k][1]);
	}
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void check_disjoint(struct racer *r)
{
	static char all[2 * N_RACE_JOBS][ATL_JOB_ID_LEN];
	size_t n = 0;

	assert_int_equal(r[0].last, ATL_E_NOTFOUND);
	assert_int_equal(r[1].last, ATL_E_NOTFOUND);
	assert_int_equal(r[0].n + r[1].n, N_RACE_JOBS);
	print_message("lease race: %zu + %zu jobs, none twice\n", r[0].n, r[1].n);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < r[k].n; i++)
			memcpy(all[n++], r[k].ids[i], ATL_JOB_ID_LEN);
	}
	qsort(all, n, ATL_JOB_ID_LEN, cmp_id);
	for (size_t i = 1; i < n; i++)
		assert_string_not_equal(all[i - 1], all[i]);
}

static void test_lease_threads(void **state)
{
	static struct racer r[2];
	pthread_t th[2];
	int ready[2], go[2][2];

	(void)state;
	memset(r, 0, sizeof(r));
	race_setup(r);
	start_pipes(r, ready, go);
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&th[k], NULL, race, &r[k]), 0);
	start_race(ready, go);
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_join(th[k], NULL), 0);
	close_pipes(ready, go);
	check_disjoint(r);
}

static void test_lease_processes(void **state)
{
	static struct racer r[2];
	int fds[2][2], ready[2], go[2][2];
	pid_t pid[2];

	(void)state;
	memset(r, 0, sizeof(r));
	race_setup(r);
	start_pipes(r, ready, go);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(pipe(fds[k]), 0);
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			close(fds[k][0]);
			race(&r[k]);
			/* report n, last error and the ids to the parent */
			if (write(fds[k][1], &r[k], sizeof(r[k])) != (ssize_t)sizeof(r[k]))
				_exit(2);
			_exit(0);
		}
		close(fds[k][1]);
	}
	start_race(ready, go);
	for (int k = 0; k < 2; k++) {
		int status = 0;
		size_t got = 0;
		char *p = (char *)&r[k];
		while (got < sizeof(r[k])) {
			ssize_t m = read(fds[k][0], p + got, sizeof(r[k]) - got);
			assert_true(m > 0);
			got += (size_t)m;
		}
		close(fds[k][0]);
		assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close_pipes(ready, go);
	check_disjoint(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_islands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_env_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_processes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
