/* Unit tests for src/kbs/audit.c: the chain verifies; each tamper case is
 * refused naming the first bad seq (removed, edited, reordered, inserted
 * record, a rewritten chain caught by a signed head, a head signed by another
 * key or naming another hash, a torn last line); appending resumes an
 * existing chain; a broken log is not appended to; one writer at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/audit.h"
#include "atoll/file.h"
#include "atoll/sig.h"

#define N_REC 10
#define MAX_LINES 32

static char dir[256];
static struct atl_privkey *key, *other_key;
static struct atl_pubkey *pub, *other_pub;

struct lines {
	char *l[MAX_LINES];
	size_t n;
};

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Writes a log of N_REC records with heads every 4 and one at the end:
 * r1 r2 r3 r4 h4 r5 r6 r7 r8 h8 r9 r10 h10 (13 lines). */
static void make_log(const char *path, const struct atl_privkey *k)
{
	struct atl_audit *a = NULL;
	char detail[64], subject[64];
	uint64_t seq = 0;
	remove(path);
	assert_int_equal(atl_audit_open(path, k, 4, &a), ATL_OK);
	for (int i = 1; i <= N_REC; i++) {
		snprintf(detail, sizeof(detail), "detail-%d", i);
		snprintf(subject, sizeof(subject), "model-%d", i);
		assert_int_equal(atl_audit_append(a, 1700000000 + i, "kbs", "release", subject,
						  detail, &seq),
				 ATL_OK);
		assert_int_equal(seq, (uint64_t)i);
	}
	assert_int_equal(atl_audit_sign_head(a), ATL_OK);
	assert_int_equal(atl_audit_sign_head(a), ATL_OK); /* no second head */
	atl_audit_close(a);
}

static void load(const char *path, struct lines *ls)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *save = NULL, *tok;
	assert_int_equal(atl_file_read(path, 1 << 20, &buf, &len), ATL_OK);
	ls->n = 0;
	for (tok = strtok_r((char *)buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		assert_true(ls->n < MAX_LINES);
		ls->l[ls->n++] = strdup(tok);
	}
	free(buf);
}

static void store(const char *path, const struct lines *ls)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < ls->n; i++)
		fprintf(f, "%s\n", ls->l[i]);
	assert_int_equal(fclose(f), 0);
}

static void drop(struct lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->l[i]);
	ls->n = 0;
}

static void expect_bad(const char *path, const struct atl_pubkey *k, enum atl_err want,
		       uint64_t bad_seq)
{
	struct atl_audit_report rep;
	assert_int_equal(atl_audit_verify(path, k, &rep), want);
	assert_int_equal(rep.bad_seq, bad_seq);
	assert_true(rep.reason[0] != 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atl-kbs-audit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(atl_privkey_generate_ec(256, &key), ATL_OK);
	assert_int_equal(atl_privkey_public(key, &pub), ATL_OK);
	assert_int_equal(atl_privkey_generate_ec(256, &other_key), ATL_OK);
	assert_int_equal(atl_privkey_public(other_key, &other_pub), ATL_OK);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	atl_privkey_free(key);
	atl_privkey_free(other_key);
	atl_pubkey_free(pub);
	atl_pubkey_free(other_pub);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_verifies(void **state)
{
	char p[512];
	struct atl_audit_report rep;
	struct lines ls;
	(void)state;
	path_of(p, sizeof(p), "ok.log");
	make_log(p, key);
	load(p, &ls);
	assert_int_equal(ls.n, 13);
	assert_non_null(strstr(ls.l[4], "\"type\":\"head\""));
	drop(&ls);
	assert_int_equal(atl_audit_verify(p, pub, &rep), ATL_OK);
	assert_int_equal(rep.n_records, N_REC);
	assert_int_equal(rep.n_heads, 3);
	assert_int_equal(rep.last_seq, N_REC);
	assert_int_equal(rep.last_signed_seq, N_REC);
	assert_int_equal(rep.bad_seq, 0);
	/* chain only, no key */
	assert_int_equal(atl_audit_verify(p, NULL, &rep), ATL_OK);
	/* an empty log verifies */
	path_of(p, sizeof(p), "empty.log");
	{
		struct atl_audit *a = NULL;
		assert_int_equal(atl_audit_open(p, key, 4, &a), ATL_OK);
		assert_int_equal(atl_audit_sign_head(a), ATL_OK);
		atl_audit_close(a);
	}
	assert_int_equal(atl_audit_verify(p, pub, &rep), ATL_OK);
	assert_int_equal(rep.n_records, 0);
	assert_int_equal(atl_audit_verify("/nonexistent/log", pub, &rep), ATL_E_NOTFOUND);
	/* in memory: the same answers */
	path_of(p, sizeof(p), "ok.log");
	{
		uint8_t *buf = NULL;
		size_t len = 0;
		assert_int_equal(atl_file_read(p, 1 << 20, &buf, &len), ATL_OK);
		assert_int_equal(atl_audit_verify_mem(buf, len, pub, &rep), ATL_OK);
		assert_int_equal(rep.last_signed_seq, N_REC);
		assert_int_equal(atl_audit_verify_mem(buf, len, other_pub, &rep), ATL_E_AUTH);
		assert_int_equal(rep.bad_seq, 4);
		assert_int_equal(atl_audit_verify_mem(buf, 0, pub, &rep), ATL_OK);
		assert_int_equal(rep.n_records, 0);
		free(buf);
	}
}

static void test_removed(void **state)
{
	char p[512];
	struct lines ls;
	(void)state;
	path_of(p, sizeof(p), "rm.log");
	make_log(p, key);
	load(p, &ls);
	free(ls.l[5]); /* r5 */
	memmove(&ls.l[5], &ls.l[6], (ls.n - 6) * sizeof(char *));
	ls.n--;
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 5);
}

static void test_edited(void **state)
{
	char p[512], *at;
	struct lines ls;
	(void)state;
	path_of(p, sizeof(p), "ed.log");
	make_log(p, key);
	load(p, &ls);
	at = strstr(ls.l[2], "detail-3");
	assert_non_null(at);
	at[7] = 'X';
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 3);
	/* time edited */
	make_log(p, key);
	load(p, &ls);
	at = strstr(ls.l[6], "1700000006");
	assert_non_null(at);
	at[9] = '9';
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 6);
}

static void test_reordered(void **state)
{
	char p[512], *t;
	struct lines ls;
	(void)state;
	path_of(p, sizeof(p), "ro.log");
	make_log(p, key);
	load(p, &ls);
	t = ls.l[6]; /* r6 <-> r7 */
	ls.l[6] = ls.l[7];
	ls.l[7] = t;
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 6);
}

static void test_inserted(void **state)
{
	char p[512];
	struct lines ls;
	(void)state;
	path_of(p, sizeof(p), "in.log");
	make_log(p, key);
	load(p, &ls);
	/* a copy of r2 after r2 */
	memmove(&ls.l[3], &ls.l[2], (ls.n - 2) * sizeof(char *));
	ls.l[2] = strdup(ls.l[1]);
	ls.n++;
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 3);
}

/* Someone who can write the file rebuilds a consistent chain with an extra
 * record at seq 3 and keeps the signed heads: the first head catches it. */
static void test_rewritten_chain_caught_by_head(void **state)
{
	char p[512], forged[512];
	struct lines orig, fake, out;
	struct atl_audit *a = NULL;
	char detail[64], subject[64];
	(void)state;
	path_of(p, sizeof(p), "rw.log");
	path_of(forged, sizeof(forged), "forged.log");
	make_log(p, key);
	load(p, &orig);
	remove(forged);
	assert_int_equal(atl_audit_open(forged, NULL, 0, &a), ATL_OK);
	for (int i = 1; i <= N_REC - 1; i++) {
		snprintf(detail, sizeof(detail), "detail-%d", i);
		snprintf(subject, sizeof(subject), "model-%d", i);
		if (i == 3)
			assert_int_equal(atl_audit_append(a, 1700000000 + i, "kbs", "release",
							  "model-x", "inserted", NULL),
					 ATL_OK);
		assert_int_equal(atl_audit_append(a, 1700000000 + i, "kbs", "release", subject,
						  detail, NULL),
				 ATL_OK);
	}
	atl_audit_close(a);
	assert_int_equal(atl_audit_verify(forged, NULL, &(struct atl_audit_report){0}), ATL_OK);
	load(forged, &fake);
	assert_int_equal(fake.n, N_REC);
	/* r1 r2 X r3 h4(orig) ... */
	out.n = 0;
	for (size_t i = 0; i < 4; i++)
		out.l[out.n++] = fake.l[i];
	out.l[out.n++] = orig.l[4];
	store(p, &out);
	expect_bad(p, pub, ATL_E_AUTH, 4);
	drop(&orig);
	drop(&fake);
}

static void test_head_bad(void **state)
{
	char p[512], *at;
	struct lines ls;
	(void)state;
	path_of(p, sizeof(p), "hd.log");
	/* signed by another key */
	make_log(p, other_key);
	expect_bad(p, pub, ATL_E_AUTH, 4);
	assert_int_equal(atl_audit_verify(p, other_pub, &(struct atl_audit_report){0}), ATL_OK);
	/* head naming another hash */
	make_log(p, key);
	load(p, &ls);
	at = strstr(ls.l[9], "\"hash\":\"");
	assert_non_null(at);
	at[8] = at[8] == '0' ? '1' : '0';
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 8);
	/* signature swapped in from another head */
	make_log(p, key);
	load(p, &ls);
	{
		char *s4 = strstr(ls.l[4], "\"sig\":\""), *s8 = strstr(ls.l[9], "\"sig\":\"");
		char *e4, *e8, buf[1024];
		assert_non_null(s4);
		assert_non_null(s8);
		e4 = strchr(s4 + 7, '"');
		e8 = strchr(s8 + 7, '"');
		snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(s8 - ls.l[9]), ls.l[9],
			 (int)(e4 - s4), s4, e8);
		free(ls.l[9]);
		ls.l[9] = strdup(buf);
	}
	store(p, &ls);
	drop(&ls);
	expect_bad(p, pub, ATL_E_AUTH, 8);
}

static void test_tail_and_torn(void **state)
{
	char p[512];
	struct lines ls;
	struct atl_audit_report rep;
	struct atl_audit *a = NULL;
	FILE *f;
	(void)state;
	path_of(p, sizeof(p), "tail.log");
	make_log(p, key);
	load(p, &ls);
	/* cutting the unsigned... here signed tail: chain still verifies, the
	 * report shows what is signed */
	ls.n -= 2; /* drop r10 h10 */
	store(p, &ls);
	ls.n += 2;
	drop(&ls);
	assert_int_equal(atl_audit_verify(p, pub, &rep), ATL_OK);
	assert_int_equal(rep.last_seq, 9);
	assert_int_equal(rep.last_signed_seq, 8);
	/* a torn last write */
	f = fopen(p, "a");
	assert_non_null(f);
	fputs("{\"type\":\"rec", f);
	assert_int_equal(fclose(f), 0);
	expect_bad(p, pub, ATL_E_FORMAT, 10);
	/* nothing is appended to a broken log */
	assert_int_equal(atl_audit_open(p, key, 4, &a), ATL_E_FORMAT);
	assert_null(a);
	/* garbage and unknown types */
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("[1,2]\n", f);
	assert_int_equal(fclose(f), 0);
	expect_bad(p, pub, ATL_E_FORMAT, 1);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"type\":\"other\"}\n", f);
	assert_int_equal(fclose(f), 0);
	expect_bad(p, pub, ATL_E_FORMAT, 1);
}

static void test_resume_and_lock(void **state)
{
	char p[512];
	struct atl_audit *a = NULL, *b = NULL;
	struct atl_audit_report rep;
	uint64_t seq = 0;
	char big[ATL_AUDIT_DETAIL_MAX + 2];
	(void)state;
	path_of(p, sizeof(p), "resume.log");
	make_log(p, key);
	assert_int_equal(atl_audit_open(p, key, 4, &a), ATL_OK);
	assert_int_equal(atl_audit_open(p, key, 4, &b), ATL_E_BUSY);
	assert_null(b);
	assert_int_equal(atl_audit_append(a, 0, "kbs", "rotate", "tenant-a", NULL, &seq), ATL_OK);
	assert_int_equal(seq, N_REC + 1);
	assert_int_equal(atl_audit_append(a, 0, "kbs", "refuse", "tenant-a", "wrong \"meas\"\n",
					  &seq),
			 ATL_OK);
	assert_int_equal(seq, N_REC + 2); /* 12 % 4 == 0: a head follows */
	/* bad arguments */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(atl_audit_append(a, 0, "", "x", "y", NULL, NULL), ATL_E_ARG);
	assert_int_equal(atl_audit_append(a, 0, "a", NULL, "y", NULL, NULL), ATL_E_ARG);
	assert_int_equal(atl_audit_append(a, 0, "a", "x", "y", big, NULL), ATL_E_ARG);
	assert_int_equal(atl_audit_append(a, 0, "a", "x", "\xff\xfe", NULL, NULL), ATL_E_ARG);
	atl_audit_close(a);
	assert_int_equal(atl_audit_verify(p, pub, &rep), ATL_OK);
	assert_int_equal(rep.last_seq, N_REC + 2);
	assert_int_equal(rep.last_signed_seq, N_REC + 2);
	assert_int_equal(rep.n_heads, 4);
	/* no signer: heads on request are a state error */
	assert_int_equal(atl_audit_open(p, NULL, 0, &a), ATL_OK);
	assert_int_equal(atl_audit_append(a, 0, "kbs", "revoke", "m", NULL, NULL), ATL_OK);
	assert_int_equal(atl_audit_sign_head(a), ATL_E_STATE);
	atl_audit_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verifies),
		cmocka_unit_test(test_removed),
		cmocka_unit_test(test_edited),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_inserted),
		cmocka_unit_test(test_rewritten_chain_caught_by_head),
		cmocka_unit_test(test_head_bad),
		cmocka_unit_test(test_tail_and_torn),
		cmocka_unit_test(test_resume_and_lock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
