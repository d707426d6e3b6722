/* Unit tests for src/kbs/model_crypt.c: .atm round trips at the chunk
 * boundaries, every refusal (with no partial plaintext), KEK rotation, KEK
 * files, and the canary check that plaintext never appears in the .atm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/file.h"
#include "atoll/model_crypt.h"
#include "atoll/secmem.h"

#define CHUNK 4096u

static char dir[256];
static uint8_t kek_a[32], kek_b[32];

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static uint8_t *pattern(size_t n, uint8_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131u + seed + (i >> 8));
	return p;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	assert_int_equal(atl_file_read(path, 64u << 20, &buf, len), ATL_OK);
	return buf;
}

/* Encrypts n pattern bytes into NAME.atm; returns the plaintext. */
static uint8_t *make_model(const char *name, size_t n, uint8_t seed, const uint8_t *kek,
			   const uint8_t *mid, struct atl_model_info *info)
{
	char in[512], out[512];
	uint8_t *pt = pattern(n, seed);
	snprintf(in, sizeof(in), "%s/%s.bin", dir, name);
	snprintf(out, sizeof(out), "%s/%s.atm", dir, name);
	write_file(in, pt, n);
	assert_int_equal(atl_model_encrypt(in, out, kek, "tenant-a:kek-1", mid, CHUNK, info),
			 ATL_OK);
	return pt;
}

static void expect_refused(const char *path, const uint8_t *kek, const uint8_t *mid,
			   enum atl_err want)
{
	uint8_t *pt = (uint8_t *)1;
	size_t len = 99;
	assert_int_equal(atl_model_decrypt_to_secret(path, kek, mid, &pt, &len), want);
	assert_null(pt);
	assert_int_equal(len, 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atl-kbs-mc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(kek_a, 0xa5, sizeof(kek_a));
	memset(kek_b, 0x5b, sizeof(kek_b));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_round_trips(void **state)
{
	const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5u * 1024 * 1024 + 7};
	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct atl_model_info info, seen;
		char out[512];
		uint8_t *back = NULL;
		size_t len = 0;
		uint8_t *pt = make_model("rt", sizes[k], (uint8_t)k, kek_a, NULL, &info);
		path_of(out, sizeof(out), "rt.atm");
		assert_int_equal(info.pt_len, sizes[k]);
		assert_int_equal(info.n_chunks, sizes[k] == 0 ? 1 : (sizes[k] + CHUNK - 1) / CHUNK);
		assert_int_equal(atl_model_inspect(out, &seen), ATL_OK);
		assert_memory_equal(&seen, &info, sizeof(info));
		assert_string_equal(seen.kek_id, "tenant-a:kek-1");
		assert_int_equal(atl_model_decrypt_to_secret(out, kek_a, info.model_id, &back, &len),
				 ATL_OK);
		assert_non_null(back);
		assert_int_equal(len, sizes[k]);
		if (len)
			assert_memory_equal(back, pt, len);
		atl_secret_free(back);
		free(pt);
	}
}

static void test_default_chunk_and_given_id(void **state)
{
	char in[512], out[512];
	uint8_t mid[16], *back = NULL;
	size_t len = 0;
	struct atl_model_info info;
	uint8_t *pt = pattern(3000000, 9);
	(void)state;
	memset(mid, 0x11, sizeof(mid));
	path_of(in, sizeof(in), "d.bin");
	path_of(out, sizeof(out), "d.atm");
	write_file(in, pt, 3000000);
	assert_int_equal(atl_model_encrypt(in, out, kek_a, "k", mid, 0, &info), ATL_OK);
	assert_int_equal(info.chunk_size, ATL_ATM_CHUNK_DEFAULT);
	assert_int_equal(info.n_chunks, 3);
	assert_memory_equal(info.model_id, mid, 16);
	assert_int_equal(atl_model_decrypt_to_secret(out, kek_a, mid, &back, &len), ATL_OK);
	assert_int_equal(len, 3000000);
	assert_memory_equal(back, pt, len);
	atl_secret_free(back);
	free(pt);
}

/* Flips the low bit of one byte of the file at path. */
static void flip_byte(const char *path, size_t off)
{
	size_t len = 0;
	uint8_t *b = read_all(path, &len);
	assert_true(off < len);
	b[off] ^= 0x01;
	write_file(path, b, len);
	free(b);
}

static void test_tampered_chunk(void **state)
{
	char out[512];
	struct atl_model_info info;
	(void)state;
	path_of(out, sizeof(out), "t.atm");
	free(make_model("t", 3 * CHUNK, 1, kek_a, NULL, &info));
	flip_byte(out, ATL_ATM_HEADER_LEN + CHUNK + 16 + 5); /* second chunk's ct */
	expect_refused(out, kek_a, NULL, ATL_E_AUTH);
	free(make_model("t", 3 * CHUNK, 1, kek_a, NULL, &info));
	flip_byte(out, ATL_ATM_HEADER_LEN + 3 * (CHUNK + 16) - 1); /* last tag */
	expect_refused(out, kek_a, NULL, ATL_E_AUTH);
}

static void test_reordered_and_dropped(void **state)
{
	char out[512];
	struct atl_model_info info;
	size_t len = 0, rec = CHUNK + 16;
	uint8_t *b, *tmp;
	(void)state;
	path_of(out, sizeof(out), "r.atm");
	free(make_model("r", 3 * CHUNK, 2, kek_a, NULL, &info));
	b = read_all(out, &len);
	tmp = malloc(rec);
	assert_non_null(tmp);
	/* swap chunks 0 and 1 */
	memcpy(tmp, b + ATL_ATM_HEADER_LEN, rec);
	memcpy(b + ATL_ATM_HEADER_LEN, b + ATL_ATM_HEADER_LEN + rec, rec);
	memcpy(b + ATL_ATM_HEADER_LEN + rec, tmp, rec);
	write_file(out, b, len);
	expect_refused(out, kek_a, NULL, ATL_E_AUTH);
	/* drop the middle chunk: size no longer fits the authenticated length */
	free(b);
	free(make_model("r", 3 * CHUNK, 2, kek_a, NULL, &info));
	b = read_all(out, &len);
	memmove(b + ATL_ATM_HEADER_LEN + rec, b + ATL_ATM_HEADER_LEN + 2 * rec, rec);
	write_file(out, b, len - rec);
	expect_refused(out, kek_a, NULL, ATL_E_TRUNCATED);
	/* drop the last chunk and forge nothing else: also too short */
	write_file(out, b, len - rec - rec);
	expect_refused(out, kek_a, NULL, ATL_E_TRUNCATED);
	free(tmp);
	free(b);
}

static void test_truncated_and_appended(void **state)
{
	char out[512];
	struct atl_model_info info, seen;
	size_t len = 0;
	uint8_t *b;
	(void)state;
	path_of(out, sizeof(out), "tr.atm");
	free(make_model("tr", 2 * CHUNK + 3, 3, kek_a, NULL, &info));
	b = read_all(out, &len);
	write_file(out, b, len - 1);
	expect_refused(out, kek_a, NULL, ATL_E_TRUNCATED);
	assert_int_equal(atl_model_inspect(out, &seen), ATL_E_TRUNCATED);
	write_file(out, b, 100);
	expect_refused(out, kek_a, NULL, ATL_E_TRUNCATED);
	write_file(out, b, 0);
	expect_refused(out, kek_a, NULL, ATL_E_TRUNCATED);
	b = realloc(b, len + 1);
	assert_non_null(b);
	b[len] = 0;
	write_file(out, b, len + 1);
	expect_refused(out, kek_a, NULL, ATL_E_TRAILING);
	assert_int_equal(atl_model_inspect(out, &seen), ATL_E_TRAILING);
	free(b);
}

static void test_wrong_kek_and_model_id(void **state)
{
	char out[512];
	struct atl_model_info info;
	uint8_t other[16];
	(void)state;
	path_of(out, sizeof(out), "w.atm");
	free(make_model("w", CHUNK + 1, 4, kek_a, NULL, &info));
	expect_refused(out, kek_b, NULL, ATL_E_AUTH);
	memcpy(other, info.model_id, 16);
	other[15] ^= 0x80;
	expect_refused(out, kek_a, other, ATL_E_AUTH);
	expect_refused("/nonexistent/x.atm", kek_a, NULL, ATL_E_NOTFOUND);
}

static void test_chunk_from_other_model(void **state)
{
	char p1[512], p2[512];
	struct atl_model_info i1, i2;
	size_t l1 = 0, l2 = 0, rec = CHUNK + 16;
	uint8_t *b1, *b2, mid[16];
	(void)state;
	path_of(p1, sizeof(p1), "m1.atm");
	path_of(p2, sizeof(p2), "m2.atm");
	memset(mid, 0x22, sizeof(mid));
	/* same KEK, same size, even the same model id: the DEKs differ */
	free(make_model("m1", 2 * CHUNK, 5, kek_a, mid, &i1));
	free(make_model("m2", 2 * CHUNK, 5, kek_a, mid, &i2));
	b1 = read_all(p1, &l1);
	b2 = read_all(p2, &l2);
	assert_int_equal(l1, l2);
	memcpy(b1 + ATL_ATM_HEADER_LEN + rec, b2 + ATL_ATM_HEADER_LEN + rec, rec);
	write_file(p1, b1, l1);
	expect_refused(p1, kek_a, NULL, ATL_E_AUTH);
	/* the other model's header on this model's chunks */
	free(b1);
	free(make_model("m1", 2 * CHUNK, 5, kek_a, mid, &i1));
	b1 = read_all(p1, &l1);
	memcpy(b1, b2, ATL_ATM_HEADER_LEN);
	write_file(p1, b1, l1);
	expect_refused(p1, kek_a, NULL, ATL_E_AUTH);
	free(b1);
	free(b2);
}

static void test_header_fields_edited(void **state)
{
	/* one byte in each authenticated field: version/aead/chunk size are
	 * refused by the parser, the rest by the DEK unwrap */
	static const struct {
		size_t off;
		enum atl_err want;
	} edits[] = {
		{0, ATL_E_FORMAT},      /* magic */
		{9, ATL_E_UNSUPPORTED}, /* version */
		{11, ATL_E_UNSUPPORTED}, /* aead */
		{15, ATL_E_AUTH},       /* chunk size 4096 -> 4097: parses, then refused */
		{16, ATL_E_AUTH},       /* model id */
		{39, ATL_E_TRAILING},   /* pt_len - 1: layout no longer fits */
		{40, ATL_E_AUTH},       /* digest */
		{72, ATL_E_AUTH},       /* kek id */
		{140, ATL_E_AUTH},      /* wrap nonce */
		{150, ATL_E_AUTH},      /* wrapped DEK */
		{195, ATL_E_AUTH},      /* wrap tag */
	};
	char out[512];
	struct atl_model_info info;
	(void)state;
	path_of(out, sizeof(out), "h.atm");
	for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++) {
		free(make_model("h", 2 * CHUNK - 1, 6, kek_a, NULL, &info));
		flip_byte(out, edits[k].off);
		expect_refused(out, kek_a, NULL, edits[k].want);
	}
	/* chunk size edited so the layout still fits the file: 4096 -> 4352
	 * keeps n_chunks 2 for 8191 bytes -> parses, then the unwrap refuses */
	free(make_model("h", 2 * CHUNK - 1, 6, kek_a, NULL, &info));
	{
		size_t len = 0;
		uint8_t *b = read_all(out, &len);
		b[14] ^= 0x01;
		write_file(out, b, len);
		free(b);
	}
	expect_refused(out, kek_a, NULL, ATL_E_AUTH);
}

static void test_rewrap(void **state)
{
	char out[512];
	struct atl_model_info info, seen;
	uint8_t *back = NULL, *pt, *before, *after;
	size_t len = 0, lb = 0, la = 0;
	(void)state;
	path_of(out, sizeof(out), "rw.atm");
	pt = make_model("rw", 2 * CHUNK + 100, 7, kek_a, NULL, &info);
	before = read_all(out, &lb);
	assert_int_equal(atl_model_rewrap(out, kek_b, kek_a, "x"), ATL_E_AUTH);
	assert_int_equal(atl_model_rewrap(out, kek_a, kek_b, "bad id!"), ATL_E_ARG);
	assert_int_equal(atl_model_rewrap(out, kek_a, kek_b, "tenant-a:kek-2"), ATL_OK);
	after = read_all(out, &la);
	assert_int_equal(la, lb);
	/* chunks untouched, header changed */
	assert_memory_equal(before + ATL_ATM_HEADER_LEN, after + ATL_ATM_HEADER_LEN,
			    lb - ATL_ATM_HEADER_LEN);
	assert_memory_not_equal(before, after, ATL_ATM_HEADER_LEN);
	assert_int_equal(atl_model_inspect(out, &seen), ATL_OK);
	assert_string_equal(seen.kek_id, "tenant-a:kek-2");
	expect_refused(out, kek_a, NULL, ATL_E_AUTH);
	assert_int_equal(atl_model_decrypt_to_secret(out, kek_b, info.model_id, &back, &len),
			 ATL_OK);
	assert_int_equal(len, 2 * CHUNK + 100);
	assert_memory_equal(back, pt, len);
	atl_secret_free(back);
	free(pt);
	free(before);
	free(after);
}

static void test_canary(void **state)
{
	static const char marker[] = "ATOLL-CANARY-WEIGHTS-7f3a9c";
	char in[512], out[512];
	size_t n = 3 * CHUNK + 77, len = 0;
	uint8_t *pt = pattern(n, 8), *ct;
	struct atl_model_info info;
	(void)state;
	/* the marker at the start, across a chunk boundary and at the end */
	memcpy(pt, marker, sizeof(marker) - 1);
	memcpy(pt + CHUNK - 10, marker, sizeof(marker) - 1);
	memcpy(pt + n - (sizeof(marker) - 1), marker, sizeof(marker) - 1);
	path_of(in, sizeof(in), "c.bin");
	path_of(out, sizeof(out), "c.atm");
	write_file(in, pt, n);
	assert_int_equal(atl_model_encrypt(in, out, kek_a, "k", NULL, CHUNK, &info), ATL_OK);
	ct = read_all(out, &len);
	assert_null(memmem(ct, len, marker, sizeof(marker) - 1));
	/* nor any 16-byte window of the plaintext's first chunk */
	for (size_t off = 0; off + 16 <= CHUNK; off += 512)
		assert_null(memmem(ct, len, pt + off, 16));
	free(ct);
	free(pt);
}

static void test_bad_args_and_header(void **state)
{
	char in[512], out[512];
	struct atl_model_info info;
	uint8_t hdr[ATL_ATM_HEADER_LEN];
	(void)state;
	path_of(in, sizeof(in), "a.bin");
	path_of(out, sizeof(out), "a.atm");
	write_file(in, (const uint8_t *)"x", 1);
	assert_int_equal(atl_model_encrypt(in, out, kek_a, "", NULL, CHUNK, NULL), ATL_E_ARG);
	assert_int_equal(atl_model_encrypt(in, out, kek_a, "a b", NULL, CHUNK, NULL), ATL_E_ARG);
	assert_int_equal(atl_model_encrypt(in, out, kek_a, "k", NULL, 15, NULL), ATL_E_ARG);
	assert_int_equal(atl_model_encrypt(in, out, kek_a, "k", NULL, ATL_ATM_CHUNK_MAX + 1, NULL),
			 ATL_E_ARG);
	assert_int_equal(atl_model_encrypt("/nonexistent/in", out, kek_a, "k", NULL, CHUNK, NULL),
			 ATL_E_NOTFOUND);
	assert_int_equal(atl_model_encrypt(dir, out, kek_a, "k", NULL, CHUNK, NULL), ATL_E_IO);
	assert_int_equal(access(out, F_OK), -1); /* nothing left behind */
	assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr) - 1, &info), ATL_E_TRUNCATED);
	memset(hdr, 0, sizeof(hdr));
	assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr), &info), ATL_E_FORMAT);
	/* a valid header with non-zero kek_id padding, and a kek_id with a space */
	free(make_model("a", 10, 1, kek_a, NULL, &info));
	{
		size_t len = 0;
		uint8_t *b = read_all(out, &len);
		memcpy(hdr, b, sizeof(hdr));
		assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr), &info), ATL_OK);
		hdr[72 + 63] = 'x';
		assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr), &info), ATL_E_FORMAT);
		memcpy(hdr, b, sizeof(hdr));
		hdr[72 + 1] = ' ';
		assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr), &info), ATL_E_FORMAT);
		memcpy(hdr, b, sizeof(hdr));
		hdr[12] = 0xff; /* chunk size huge */
		assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr), &info), ATL_E_LIMIT);
		memcpy(hdr, b, sizeof(hdr));
		hdr[32] = 0xff; /* pt_len huge */
		assert_int_equal(atl_model_header_parse(hdr, sizeof(hdr), &info), ATL_E_LIMIT);
		free(b);
	}
}

static void test_kek_files(void **state)
{
	char p[512];
	uint8_t k1[32], k2[32];
	struct stat st;
	(void)state;
	path_of(p, sizeof(p), "tenant.kek");
	assert_int_equal(atl_model_kek_new(p), ATL_OK);
	assert_int_equal(atl_model_kek_new(p), ATL_E_EXISTS);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(atl_model_kek_load(p, k1), ATL_OK);
	assert_int_equal(atl_model_kek_load(p, k2), ATL_OK);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(atl_model_kek_load(p, k2), ATL_E_POLICY);
	write_file(p, (const uint8_t *)"abcd\n", 5);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(atl_model_kek_load(p, k2), ATL_E_FORMAT);
	assert_int_equal(atl_model_kek_load("/nonexistent/k", k2), ATL_E_NOTFOUND);
}

static void test_decrypt_mem(void **state)
{
	char out[512];
	struct atl_model_info info;
	uint8_t *b, *back = NULL, *pt;
	size_t len = 0, n = 0;
	(void)state;
	path_of(out, sizeof(out), "mem.atm");
	pt = make_model("mem", CHUNK * 2 + 9, 10, kek_a, NULL, &info);
	b = read_all(out, &len);
	assert_int_equal(atl_model_decrypt_mem(b, len, kek_a, NULL, &back, &n), ATL_OK);
	assert_int_equal(n, CHUNK * 2 + 9);
	assert_memory_equal(back, pt, n);
	atl_secret_free(back);
	back = (uint8_t *)1;
	assert_int_equal(atl_model_decrypt_mem(b, len - 16, kek_a, NULL, &back, &n),
			 ATL_E_TRUNCATED);
	assert_null(back);
	free(b);
	free(pt);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void test_decrypt_into(void **state)
{
	char out[512];
	struct atl_model_info info;
	size_t n = 3 * CHUNK + 5, cap = n + 10, len = 99;
	uint8_t *pt, *buf = atl_secret_alloc(cap);
	(void)state;
	assert_non_null(buf);
	path_of(out, sizeof(out), "into.atm");
	pt = make_model("into", n, 11, kek_a, NULL, &info);
	assert_int_equal(atl_model_decrypt_into(out, kek_a, info.model_id, buf, cap, &len), ATL_OK);
	assert_int_equal(len, n);
	assert_memory_equal(buf, pt, n);
	/* too small: refused, wiped */
	memset(buf, 0xee, cap);
	assert_int_equal(atl_model_decrypt_into(out, kek_a, NULL, buf, n - 1, &len), ATL_E_LIMIT);
	assert_int_equal(len, 0);
	assert_true(all_zero(buf, n - 1));
	/* the last chunk tampered: the first chunks were already decrypted into
	 * buf, and all of it is wiped */
	flip_byte(out, info.file_len - 20);
	memset(buf, 0xee, cap);
	assert_int_equal(atl_model_decrypt_into(out, kek_a, NULL, buf, cap, &len), ATL_E_AUTH);
	assert_int_equal(len, 0);
	assert_true(all_zero(buf, cap));
	assert_int_equal(atl_model_decrypt_into(out, kek_a, NULL, NULL, 0, &len), ATL_E_ARG);
	atl_secret_free(buf);
	free(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_default_chunk_and_given_id),
		cmocka_unit_test(test_tampered_chunk),
		cmocka_unit_test(test_reordered_and_dropped),
		cmocka_unit_test(test_truncated_and_appended),
		cmocka_unit_test(test_wrong_kek_and_model_id),
		cmocka_unit_test(test_chunk_from_other_model),
		cmocka_unit_test(test_header_fields_edited),
		cmocka_unit_test(test_rewrap),
		cmocka_unit_test(test_canary),
		cmocka_unit_test(test_bad_args_and_header),
		cmocka_unit_test(test_kek_files),
		cmocka_unit_test(test_decrypt_mem),
		cmocka_unit_test(test_decrypt_into),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
