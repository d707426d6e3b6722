/* Unit tests for src/core: reader, writer, secret memory, hex, base64, JSON,
 * time, files, errors, log escaping. One negative test per error path. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/bytes.h"
#include "atoll/encoding.h"
#include "atoll/err.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

static void test_rd_ints(void **state)
{
	static const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	struct atl_rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	atl_rd_init(&r, b, sizeof(b));
	assert_int_equal(atl_rd_u8(&r, &u8), ATL_OK);
	assert_int_equal(u8, 1);
	assert_int_equal(atl_rd_u16le(&r, &u16), ATL_OK);
	assert_int_equal(u16, 0x0302);
	assert_int_equal(atl_rd_u32be(&r, &u32), ATL_OK);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(atl_rd_u64le(&r, &u64), ATL_OK);
	assert_true(u64 == 0x0f0e0d0c0b0a0908ull);
	assert_int_equal(atl_rd_left(&r), 0);
	assert_int_equal(atl_rd_finish(&r), ATL_OK);
}

static void test_rd_truncated_latches(void **state)
{
	static const uint8_t b[] = {1, 2, 3};
	struct atl_rd r;
	uint32_t u32 = 77;
	uint8_t u8 = 77;
	uint8_t out[2] = {9, 9};

	(void)state;
	atl_rd_init(&r, b, sizeof(b));
	assert_int_equal(atl_rd_u32le(&r, &u32), ATL_E_TRUNCATED);
	assert_int_equal(u32, 0);
	assert_int_equal(r.pos, 0);
	/* The error latches: even a read that would fit now fails. */
	assert_int_equal(atl_rd_u8(&r, &u8), ATL_E_TRUNCATED);
	assert_int_equal(u8, 0);
	assert_int_equal(atl_rd_bytes(&r, out, 2), ATL_E_TRUNCATED);
	assert_int_equal(out[0], 0);
	assert_int_equal(atl_rd_finish(&r), ATL_E_TRUNCATED);
	assert_int_equal(atl_rd_left(&r), 0);
}

static void test_rd_trailing_and_sub(void **state)
{
	static const uint8_t b[] = {0, 3, 'a', 'b', 'c', 'x'};
	struct atl_rd r, c, bad;
	uint16_t n;
	const uint8_t *v;

	(void)state;
	atl_rd_init(&r, b, sizeof(b));
	assert_int_equal(atl_rd_u16be(&r, &n), ATL_OK);
	assert_int_equal(atl_rd_sub(&r, n, &c), ATL_OK);
	assert_int_equal(atl_rd_view(&c, 3, &v), ATL_OK);
	assert_memory_equal(v, "abc", 3);
	assert_int_equal(atl_rd_finish(&c), ATL_OK);
	assert_int_equal(atl_rd_finish(&r), ATL_E_TRAILING);
	assert_int_equal(atl_rd_sub(&r, 2, &bad), ATL_E_TRUNCATED);
	assert_int_equal(bad.err, ATL_E_TRUNCATED);
	/* huge n must not wrap around */
	atl_rd_init(&r, b, sizeof(b));
	assert_int_equal(atl_rd_skip(&r, SIZE_MAX), ATL_E_TRUNCATED);
	atl_rd_init(&r, b, sizeof(b));
	assert_int_equal(atl_rd_view(&r, SIZE_MAX - 1, &v), ATL_E_TRUNCATED);
	assert_null(v);
}

static void test_rd_at(void **state)
{
	static const uint8_t b[] = {1, 2, 3, 4};
	struct atl_rd r, c;
	uint8_t u8;

	(void)state;
	atl_rd_init(&r, b, sizeof(b));
	assert_int_equal(atl_rd_at(&r, 2, 2, &c), ATL_OK);
	assert_int_equal(atl_rd_u8(&c, &u8), ATL_OK);
	assert_int_equal(u8, 3);
	assert_int_equal(r.pos, 0);
	assert_int_equal(atl_rd_at(&r, 3, 2, &c), ATL_E_TRUNCATED);
	assert_int_equal(atl_rd_at(&r, SIZE_MAX, 1, &c), ATL_E_TRUNCATED);
	assert_int_equal(atl_rd_at(&r, 1, SIZE_MAX, &c), ATL_E_TRUNCATED);
	assert_int_equal(atl_rd_at(&r, 4, 0, &c), ATL_OK);
}

static void test_wr_basic_and_patch(void **state)
{
	struct atl_wr w;
	size_t off;
	uint8_t *buf;
	size_t len;

	(void)state;
	atl_wr_init(&w, 1024, false);
	assert_int_equal(atl_wr_reserve(&w, 4, &off), ATL_OK);
	assert_int_equal(atl_wr_str(&w, "hello"), ATL_OK);
	assert_int_equal(atl_wr_u16le(&w, 0x0102), ATL_OK);
	assert_int_equal(atl_wr_u64be(&w, 0x0102030405060708ull), ATL_OK);
	assert_int_equal(atl_wr_patch_u32be(&w, off, (uint32_t)(w.len - 4)), ATL_OK);
	assert_int_equal(atl_wr_patch_u32be(&w, w.len - 2, 1), ATL_E_ARG);
	assert_int_equal(atl_wr_take(&w, &buf, &len), ATL_E_ARG); /* latched */
	atl_wr_free(&w);

	atl_wr_init(&w, 1024, true);
	assert_int_equal(atl_wr_reserve(&w, 2, &off), ATL_OK);
	assert_int_equal(atl_wr_bytes(&w, "secret", 6), ATL_OK);
	assert_int_equal(atl_wr_patch_u16be(&w, off, 6), ATL_OK);
	assert_int_equal(atl_wr_take(&w, &buf, &len), ATL_OK);
	assert_int_equal(len, 8);
	assert_memory_equal(buf, "\0\6secret", 8);
	atl_secret_free(buf);
	atl_wr_free(&w);
}

static void test_wr_limit(void **state)
{
	struct atl_wr w;
	uint8_t big[100] = {0};
	uint8_t *buf;
	size_t len;

	(void)state;
	atl_wr_init(&w, 64, false);
	assert_int_equal(atl_wr_bytes(&w, big, 60), ATL_OK);
	assert_int_equal(atl_wr_bytes(&w, big, 5), ATL_E_LIMIT);
	assert_int_equal(atl_wr_u8(&w, 1), ATL_E_LIMIT);
	assert_int_equal(atl_wr_take(&w, &buf, &len), ATL_E_LIMIT);
	assert_null(buf);
	atl_wr_free(&w);
	atl_wr_init(&w, 64, false);
	assert_int_equal(atl_wr_take(&w, &buf, &len), ATL_OK);
	assert_int_equal(len, 0);
	free(buf);
}

static void test_secmem(void **state)
{
	uint8_t *p, *q;

	(void)state;
	p = atl_secret_alloc(100);
	assert_non_null(p);
	assert_int_equal(atl_secret_size(p), 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xaa, 100);
	q = atl_secret_realloc(p, 5000);
	assert_non_null(q);
	assert_int_equal(q[99], 0xaa);
	assert_int_equal(q[100], 0);
	atl_secret_free(q);
	atl_secret_free(NULL);
	assert_null(atl_secret_alloc(0));
	assert_null(atl_secret_alloc(SIZE_MAX));
	assert_true(atl_ct_eq("abc", "abc", 3));
	assert_false(atl_ct_eq("abc", "abd", 3));
}

/* A freed region is wiped and cached; the next alloc of its class reuses it
 * zeroed, with the new size. */
static void test_secmem_cache_reuse(void **state)
{
	struct atl_secret_cache_stats st;
	uint8_t *p, *q;

	(void)state;
	atl_secret_cache_trim();
	atl_secret_cache_get_stats(&st);
	assert_int_equal(st.regions, 0);
	assert_int_equal(st.bytes, 0);
	assert_true(st.cap > 0 && st.cap <= ATL_SECRET_CACHE_BYTES_MAX);
	p = atl_secret_alloc(1000);
	assert_non_null(p);
	memset(p, 0xaa, 1000);
	memset(p + 1000, 0xbb, 100); /* past the size: wiped too (whole body) */
	atl_secret_free(p);
	atl_secret_cache_get_stats(&st);
	if (st.regions == 0) {
		skip(); /* mlock refused (RLIMIT_MEMLOCK): regions bypass the cache */
		return;
	}
	assert_int_equal(st.regions, 1);
	assert_true(atl_secret_cache_holds_wiped(p));
	q = atl_secret_alloc(700); /* same class (one page) */
	assert_ptr_equal(q, p);
	assert_int_equal(atl_secret_size(q), 700);
	for (size_t i = 0; i < 700; i++)
		assert_int_equal(q[i], 0);
	assert_false(atl_secret_cache_holds_wiped(q)); /* live again */
	atl_secret_cache_get_stats(&st);
	assert_int_equal(st.regions, 0);
	atl_secret_free(q);
	atl_secret_cache_trim();
	atl_secret_cache_get_stats(&st);
	assert_int_equal(st.regions, 0);
	assert_int_equal(st.bytes, 0);
	assert_false(atl_secret_cache_holds_wiped(q));
}

/* Per-class bound, byte cap, large allocations bypass the cache. */
static void test_secmem_cache_bounds(void **state)
{
	enum { N = ATL_SECRET_CACHE_PER_CLASS_MAX + 3 };
	struct atl_secret_cache_stats st;
	uint8_t *p[N], *big;
	size_t n = 64 * 1024;

	(void)state;
	atl_secret_cache_trim();
	for (int i = 0; i < N; i++) {
		p[i] = atl_secret_alloc(n);
		assert_non_null(p[i]);
		p[i][n - 1] = 0x5a;
	}
	for (int i = 0; i < N; i++)
		atl_secret_free(p[i]);
	atl_secret_cache_get_stats(&st);
	assert_true(st.regions <= ATL_SECRET_CACHE_PER_CLASS_MAX);
	assert_true(st.bytes <= st.cap);
	/* Larger than the largest class: never cached. */
	big = atl_secret_alloc(ATL_SECRET_CACHE_CLASS_MAX + 1);
	assert_non_null(big);
	assert_int_equal(atl_secret_size(big), ATL_SECRET_CACHE_CLASS_MAX + 1);
	assert_int_equal(big[ATL_SECRET_CACHE_CLASS_MAX], 0);
	big[ATL_SECRET_CACHE_CLASS_MAX] = 1;
	atl_secret_free(big);
	atl_secret_cache_get_stats(&st);
	assert_true(st.regions <= ATL_SECRET_CACHE_PER_CLASS_MAX);
	assert_true(st.bytes <= st.cap);
	/* Reuse of this class returns zeroed memory, last byte included. */
	for (int i = 0; i < N; i++) {
		p[i] = atl_secret_alloc(n);
		assert_non_null(p[i]);
		assert_int_equal(p[i][0], 0);
		assert_int_equal(p[i][n - 1], 0);
	}
	for (int i = 0; i < N; i++)
		atl_secret_free(p[i]);
	atl_secret_cache_trim();
	atl_secret_cache_get_stats(&st);
	assert_int_equal(st.regions, 0);
}

/* Realloc in place (same class) and across classes keeps the prefix and
 * zeroes what is new, also after a shrink and regrow. */
static void test_secmem_realloc(void **state)
{
	uint8_t *p, *q;

	(void)state;
	p = atl_secret_alloc(200);
	assert_non_null(p);
	memset(p, 0x11, 200);
	q = atl_secret_realloc(p, 300); /* same page */
	assert_non_null(q);
	assert_int_equal(atl_secret_size(q), 300);
	assert_int_equal(q[199], 0x11);
	assert_int_equal(q[200], 0);
	assert_int_equal(q[299], 0);
	q = atl_secret_realloc(q, 50); /* shrink: bytes 50..199 wiped */
	assert_int_equal(atl_secret_size(q), 50);
	q = atl_secret_realloc(q, 200);
	assert_int_equal(q[49], 0x11);
	for (int i = 50; i < 200; i++)
		assert_int_equal(q[i], 0);
	memset(q, 0x22, 200);
	p = atl_secret_realloc(q, 100000); /* other class */
	assert_non_null(p);
	assert_int_equal(atl_secret_size(p), 100000);
	assert_int_equal(p[199], 0x22);
	assert_int_equal(p[200], 0);
	assert_int_equal(p[99999], 0);
	assert_null(atl_secret_realloc(p, 0)); /* refused, p still owned */
	assert_int_equal(p[0], 0x22);
	atl_secret_free(p);
}

/* Each thread tags its buffers with its own byte: a region handed to two
 * owners at once, or one not zeroed on reuse, shows as a wrong byte. */
static void *secmem_worker(void *arg)
{
	uint8_t tag = (uint8_t)(uintptr_t)arg;
	unsigned seed = tag;
	uint8_t *held[8] = {0};
	void *bad = NULL;

	for (int it = 0; it < 2000 && bad == NULL; it++) {
		int slot = (int)(rand_r(&seed) % 8);
		size_t n = (size_t)1 + (size_t)rand_r(&seed) % (70 * 1024);

		if (held[slot] != NULL) {
			size_t len = atl_secret_size(held[slot]);

			if (held[slot][0] != tag || held[slot][len / 2] != tag ||
			    held[slot][len - 1] != tag)
				bad = (void *)1;
			atl_secret_free(held[slot]);
		}
		held[slot] = atl_secret_alloc(n);
		if (held[slot] == NULL)
			return (void *)1;
		if (held[slot][0] != 0 || held[slot][n / 2] != 0 || held[slot][n - 1] != 0)
			bad = (void *)1;
		memset(held[slot], tag, n);
	}
	for (int k = 0; k < 8; k++)
		atl_secret_free(held[k]);
	return bad;
}

static void test_secmem_threads(void **state)
{
	pthread_t t[4];
	struct atl_secret_cache_stats st;

	(void)state;
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, secmem_worker, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++) {
		void *ret = (void *)1;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	atl_secret_cache_get_stats(&st);
	assert_true(st.bytes <= st.cap);
	assert_true(st.regions <= 32u * ATL_SECRET_CACHE_PER_CLASS_MAX);
	atl_secret_cache_trim();
	atl_secret_cache_get_stats(&st);
	assert_int_equal(st.regions, 0);
}

static void test_hex(void **state)
{
	uint8_t out[4];
	size_t n;
	char s[9];
	uint8_t *a;

	(void)state;
	assert_int_equal(atl_hex_decode("DEadbeef", 8, out, sizeof(out), &n), ATL_OK);
	assert_int_equal(n, 4);
	assert_int_equal(atl_hex_encode(out, 4, s, sizeof(s)), ATL_OK);
	assert_string_equal(s, "deadbeef");
	assert_int_equal(atl_hex_encode(out, 4, s, 8), ATL_E_LIMIT);
	assert_int_equal(atl_hex_decode("abc", 3, out, sizeof(out), &n), ATL_E_FORMAT);
	assert_int_equal(atl_hex_decode("zz", 2, out, sizeof(out), &n), ATL_E_FORMAT);
	assert_int_equal(atl_hex_decode("0011223344", 10, out, sizeof(out), &n), ATL_E_LIMIT);
	assert_int_equal(atl_hex_decode_exact("0011", 4, out, 3), ATL_E_FORMAT);
	assert_int_equal(atl_hex_decode_alloc("", 0, &a, &n), ATL_OK);
	assert_int_equal(n, 0);
	free(a);
}

static void test_b64(void **state)
{
	static const struct {
		const char *plain, *enc;
	} rfc4648[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
		       {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
		       {"foobar", "Zm9vYmFy"}};
	static const char *const bad[] = {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm9v!", "Zg==Zg==",
					  "=Zg=", "Zm 9v", "Zm8=="};
	uint8_t *out;
	size_t n;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		assert_int_equal(atl_b64_encode((const uint8_t *)rfc4648[i].plain,
						strlen(rfc4648[i].plain), ATL_B64_STD, &s),
				 ATL_OK);
		assert_string_equal(s, rfc4648[i].enc);
		free(s);
		assert_int_equal(atl_b64_decode(rfc4648[i].enc, strlen(rfc4648[i].enc), ATL_B64_STD,
						&out, &n),
				 ATL_OK);
		assert_int_equal(n, strlen(rfc4648[i].plain));
		assert_memory_equal(out, rfc4648[i].plain, n);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(atl_b64_decode(bad[i], strlen(bad[i]), ATL_B64_STD, &out, &n),
				 ATL_E_FORMAT);
	assert_int_equal(atl_b64_decode("Zm 9v\n", 6, ATL_B64_LENIENT_WS, &out, &n), ATL_OK);
	assert_int_equal(n, 3);
	free(out);
	assert_int_equal(atl_b64_decode("-_8", 3, ATL_B64_URL | ATL_B64_NOPAD, &out, &n), ATL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	free(out);
	assert_int_equal(atl_b64_decode("Zg==", 4, ATL_B64_NOPAD, &out, &n), ATL_E_FORMAT);
	assert_int_equal(atl_b64_decode("x", ATL_B64_INPUT_MAX + 1, ATL_B64_STD, &out, &n),
			 ATL_E_LIMIT);
}

static void test_json(void **state)
{
	json_t *j = NULL;
	const char *s, *bad = NULL;
	int64_t i;
	bool b;
	uint8_t h[2];
	uint8_t *d;
	size_t n;
	static const char *const allowed[] = {"a", "b", "c", "d", "e", NULL};
	char deep[200];

	(void)state;
	assert_int_equal(atl_json_parse("{\"a\":\"x\",\"b\":5,\"c\":true,\"d\":\"beef\",\"e\":\"Zm8=\"}", strlen("{\"a\":\"x\",\"b\":5,\"c\":true,\"d\":\"beef\",\"e\":\"Zm8=\"}"), &j),
			 ATL_OK);
	assert_int_equal(atl_json_check_keys(j, allowed, &bad), ATL_OK);
	assert_int_equal(atl_json_get_str(j, "a", &s), ATL_OK);
	assert_string_equal(s, "x");
	assert_int_equal(atl_json_get_int(j, "b", &i), ATL_OK);
	assert_int_equal(i, 5);
	assert_int_equal(atl_json_get_bool(j, "c", &b), ATL_OK);
	assert_true(b);
	assert_int_equal(atl_json_get_hex(j, "d", h, 2), ATL_OK);
	assert_int_equal(h[0], 0xbe);
	assert_int_equal(atl_json_get_hex(j, "d", h, 1), ATL_E_FORMAT);
	assert_int_equal(atl_json_get_b64(j, "e", 16, &d, &n), ATL_OK);
	assert_int_equal(n, 2);
	free(d);
	assert_int_equal(atl_json_get_b64(j, "e", 1, &d, &n), ATL_E_LIMIT);
	assert_int_equal(atl_json_get_str(j, "b", &s), ATL_E_FORMAT);
	assert_int_equal(atl_json_get_str(j, "zz", &s), ATL_E_NOTFOUND);
	assert_int_equal(atl_json_get_int(j, "a", &i), ATL_E_FORMAT);
	assert_int_equal(atl_json_get_bool(j, "a", &b), ATL_E_FORMAT);
	json_decref(j);

	assert_int_equal(atl_json_parse("{\"a\":1,\"zz\":2}", strlen("{\"a\":1,\"zz\":2}"), &j), ATL_OK);
	assert_int_equal(atl_json_check_keys(j, allowed, &bad), ATL_E_FORMAT);
	assert_string_equal(bad, "zz");
	json_decref(j);

	assert_int_equal(atl_json_parse("{\"a\":1,\"a\":2}", strlen("{\"a\":1,\"a\":2}"), &j), ATL_E_FORMAT);
	assert_int_equal(atl_json_parse("{\"a\":1} x", strlen("{\"a\":1} x"), &j), ATL_E_FORMAT);
	assert_int_equal(atl_json_parse("{\"a\":", strlen("{\"a\":"), &j), ATL_E_FORMAT);
	assert_int_equal(atl_json_parse("", 0, &j), ATL_E_TRUNCATED);
	assert_int_equal(atl_json_parse("{\"a\":\"\\u0000\"}", strlen("{\"a\":\"\\u0000\"}"), &j), ATL_E_FORMAT);
	assert_int_equal(atl_json_parse("{\"a\":\"x\0\"}", 9, &j), ATL_E_FORMAT);
	assert_int_equal(atl_json_parse("x", ATL_JSON_SIZE_MAX + 1, &j), ATL_E_LIMIT);
	memset(deep, '[', sizeof(deep));
	assert_int_equal(atl_json_parse(deep, sizeof(deep), &j), ATL_E_LIMIT);
	/* brackets inside strings do not count */
	assert_int_equal(atl_json_parse("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]", strlen("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]"), &j),
			 ATL_OK);
	json_decref(j);
}

static void test_time(void **state)
{
	int64_t t;
	char buf[ATL_RFC3339_LEN];

	(void)state;
	assert_int_equal(atl_time_parse_rfc3339("1970-01-01T00:00:00Z", &t), ATL_OK);
	assert_int_equal(t, 0);
	assert_int_equal(atl_time_parse_rfc3339("2025-12-25T13:15:37.578Z", &t), ATL_OK);
	assert_int_equal(t, 1766668537);
	assert_int_equal(atl_time_parse_rfc3339("2025-12-25T14:15:37+01:00", &t), ATL_OK);
	assert_int_equal(t, 1766668537);
	assert_int_equal(atl_time_format_rfc3339(t, buf, sizeof(buf)), ATL_OK);
	assert_string_equal(buf, "2025-12-25T13:15:37Z");
	assert_int_equal(atl_time_parse_rfc3339("2025-02-29T00:00:00Z", &t), ATL_E_FORMAT);
	assert_int_equal(atl_time_parse_rfc3339("2024-02-29T00:00:00Z", &t), ATL_OK);
	assert_int_equal(atl_time_parse_rfc3339("2025-13-01T00:00:00Z", &t), ATL_E_FORMAT);
	assert_int_equal(atl_time_parse_rfc3339("2025-12-25T13:15:37", &t), ATL_E_FORMAT);
	assert_int_equal(atl_time_parse_rfc3339("2025-12-25T13:15:37Zjunk", &t), ATL_E_FORMAT);
	assert_int_equal(atl_time_parse_rfc3339("yesterday", &t), ATL_E_FORMAT);
	assert_int_equal(atl_time_format_rfc3339(0, buf, 5), ATL_E_ARG);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/atl_core_test_XXXXXX";
	char path[256];
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b", dir);
	assert_int_equal(atl_mkdir_p(path, 0700), ATL_OK);
	snprintf(path, sizeof(path), "%s/a/b/f", dir);
	assert_int_equal(atl_file_write(path, "data", 4, 0600, 1), ATL_OK);
	assert_int_equal(atl_file_write(path, "data", 4, 0600, 1), ATL_E_EXISTS);
	assert_int_equal(atl_file_read(path, 100, &buf, &len), ATL_OK);
	assert_int_equal(len, 4);
	assert_int_equal(buf[4], 0);
	free(buf);
	assert_int_equal(atl_file_read(path, 3, &buf, &len), ATL_E_LIMIT);
	assert_null(buf);
	snprintf(path, sizeof(path), "%s/nope", dir);
	assert_int_equal(atl_file_read(path, 100, &buf, &len), ATL_E_NOTFOUND);
	assert_int_equal(atl_file_read(dir, 100, &buf, &len), ATL_E_IO);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void test_err_and_log(void **state)
{
	char out[16];

	(void)state;
	for (int e = 0; e < ATL_E__COUNT; e++) {
		assert_non_null(atl_strerror((enum atl_err)e));
		assert_string_not_equal(atl_err_name((enum atl_err)e), "ATL_E_UNKNOWN");
	}
	assert_string_equal(atl_strerror((enum atl_err)999), "unknown error");
	assert_int_equal(atl_log_escape("a\nb\\", 4, out, sizeof(out)), 10);
	assert_string_equal(out, "a\\x0ab\\x5c");
	assert_int_equal(atl_log_escape("abcdef", 6, out, 4), 3);
	assert_string_equal(out, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rd_ints),
		cmocka_unit_test(test_rd_truncated_latches),
		cmocka_unit_test(test_rd_trailing_and_sub),
		cmocka_unit_test(test_rd_at),
		cmocka_unit_test(test_wr_basic_and_patch),
		cmocka_unit_test(test_wr_limit),
		cmocka_unit_test(test_secmem),
		cmocka_unit_test(test_secmem_cache_reuse),
		cmocka_unit_test(test_secmem_cache_bounds),
		cmocka_unit_test(test_secmem_realloc),
		cmocka_unit_test(test_secmem_threads),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_err_and_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
