/* Unit tests for the GGUF reader and writer (src/infer/gguf*.c): the real
 * files from tests/vectors/llm/, writer round trips, and one hostile file per
 * check the reader makes (truncation at every length, bad magic, versions,
 * huge counts, misaligned or overlapping tensors, unknown types, limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/file.h"
#include "atoll/gguf.h"
#include "atoll/limits.h"

#define VEC ATL_SOURCE_DIR "/tests/vectors/llm/"

static void test_type_traits(void **state)
{
	uint64_t ne[2] = {64, 3};
	size_t sz;

	(void)state;
	assert_true(atl_ggml_type_known(ATL_GGML_TYPE_Q8_0));
	assert_false(atl_ggml_type_known(4));
	assert_false(atl_ggml_type_known(31));
	assert_false(atl_ggml_type_known(ATL_GGML_TYPE__END));
	assert_string_equal(atl_ggml_type_name(ATL_GGML_TYPE_Q6_K), "q6_K");
	assert_string_equal(atl_ggml_type_name(99), "?");
	assert_int_equal(atl_ggml_blck_size(ATL_GGML_TYPE_F32), 1);
	assert_int_equal(atl_ggml_blck_size(ATL_GGML_TYPE_Q4_0), 32);
	assert_int_equal(atl_ggml_blck_size(ATL_GGML_TYPE_Q4_K), 256);
	assert_int_equal(atl_ggml_type_size(ATL_GGML_TYPE_Q8_0), 34);
	assert_int_equal(atl_ggml_type_size(ATL_GGML_TYPE_Q6_K), 210);
	assert_int_equal(atl_ggml_type_size(ATL_GGML_TYPE_Q4_K), 144);
	assert_int_equal(atl_ggml_type_size(ATL_GGML_TYPE_Q4_0), 18);
	assert_int_equal(atl_ggml_type_size(5), 0);
	assert_int_equal(atl_ggml_row_size(ATL_GGML_TYPE_Q8_0, 64, &sz), ATL_OK);
	assert_int_equal(sz, 68);
	assert_int_equal(atl_ggml_row_size(ATL_GGML_TYPE_Q8_0, 48, &sz), ATL_E_FORMAT);
	assert_int_equal(atl_ggml_row_size(ATL_GGML_TYPE_F32, 0, &sz), ATL_E_FORMAT);
	assert_int_equal(atl_ggml_row_size(77, 32, &sz), ATL_E_UNSUPPORTED);
	assert_int_equal(atl_ggml_row_size(ATL_GGML_TYPE_F64, UINT64_MAX / 4, &sz), ATL_E_LIMIT);
	assert_int_equal(atl_ggml_nbytes(ATL_GGML_TYPE_F16, 2, ne, &sz), ATL_OK);
	assert_int_equal(sz, 64 * 3 * 2);
	assert_int_equal(atl_ggml_nbytes(ATL_GGML_TYPE_F16, 0, ne, &sz), ATL_E_FORMAT);
	assert_int_equal(atl_ggml_nbytes(ATL_GGML_TYPE_F16, 5, ne, &sz), ATL_E_FORMAT);
	ne[1] = UINT64_MAX / 2;
	assert_int_equal(atl_ggml_nbytes(ATL_GGML_TYPE_F32, 2, ne, &sz), ATL_E_LIMIT);
}

/* The real tiny model: metadata and every tensor. */
static void test_real_model(void **state)
{
	struct atl_gguf *g;
	struct atl_gguf_str s;
	struct atl_gguf_arr a;
	const struct atl_gguf_tensor *t;
	uint32_t u;
	float f;
	bool b;
	int32_t tt;

	(void)state;
	assert_int_equal(atl_gguf_open(VEC "logits/tiny-llama-random-q8_0.gguf", &g), ATL_OK);
	assert_int_equal(atl_gguf_version(g), 3);
	assert_int_equal(atl_gguf_alignment(g), 32);
	assert_int_equal(atl_gguf_n_kv(g), 24);
	assert_int_equal(atl_gguf_n_tensors(g), 21);
	assert_int_equal(atl_gguf_data_offset(g) % 32, 0);
	assert_int_equal(atl_gguf_get_str(g, "general.architecture", &s), ATL_OK);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.p, "llama", 5);
	assert_int_equal(atl_gguf_get_u32(g, "llama.embedding_length", &u), ATL_OK);
	assert_int_equal(u, 64);
	assert_int_equal(atl_gguf_get_f32(g, "llama.rope.freq_base", &f), ATL_OK);
	assert_true(f == 10000.0f);
	assert_int_equal(atl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b), ATL_OK);
	assert_true(b);
	/* wrong kinds and absent keys */
	assert_int_equal(atl_gguf_get_u32(g, "general.architecture", &u), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_str(g, "llama.block_count", &s), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_bool(g, "llama.block_count", &b), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_f32(g, "llama.block_count", &f), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_u32(g, "no.such.key", &u), ATL_E_NOTFOUND);
	assert_int_equal(atl_gguf_get_arr(g, "llama.block_count", &a), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_find_key(g, "nope"), -1);
	/* arrays */
	assert_int_equal(atl_gguf_get_arr(g, "tokenizer.ggml.tokens", &a), ATL_OK);
	assert_int_equal(a.elem_type, ATL_GGUF_TYPE_STRING);
	assert_int_equal(a.n, 32000);
	assert_int_equal(atl_gguf_arr_str(&a, 1, &s), ATL_OK);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.p, "<s>", 3);
	assert_int_equal(atl_gguf_arr_str(&a, 32000, &s), ATL_E_ARG);
	assert_int_equal(atl_gguf_arr_i32(&a, 0, &tt), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_arr(g, "tokenizer.ggml.token_type", &a), ATL_OK);
	assert_int_equal(atl_gguf_arr_i32(&a, 0, &tt), ATL_OK);
	assert_int_equal(tt, 2);
	assert_int_equal(atl_gguf_arr_i32(&a, 3, &tt), ATL_OK);
	assert_int_equal(tt, 6);
	assert_int_equal(atl_gguf_arr_str(&a, 0, &s), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_arr_f32(&a, 0, &f), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_arr(g, "tokenizer.ggml.scores", &a), ATL_OK);
	assert_int_equal(atl_gguf_arr_f32(&a, 0, &f), ATL_OK);
	/* tensors */
	t = atl_gguf_find_tensor(g, "blk.1.ffn_down.weight");
	assert_non_null(t);
	assert_int_equal(t->type, ATL_GGML_TYPE_Q8_0);
	assert_int_equal(t->n_dims, 2);
	assert_int_equal(t->ne[0], 192);
	assert_int_equal(t->ne[1], 64);
	assert_int_equal(t->ne[2], 1);
	assert_int_equal(t->n_elems, 192 * 64);
	assert_int_equal(t->size, 192 / 32 * 34 * 64);
	assert_int_equal(((uintptr_t)t->data) % 32, 0);
	t = atl_gguf_find_tensor(g, "output_norm.weight");
	assert_non_null(t);
	assert_int_equal(t->type, ATL_GGML_TYPE_F32);
	assert_int_equal(t->size, 256);
	assert_null(atl_gguf_find_tensor(g, "missing"));
	t = atl_gguf_tensor_at(g, 0);
	assert_string_equal(t->name, "output.weight");
	assert_null(atl_gguf_tensor_at(g, 21));
	atl_gguf_close(g);
}

static void test_vocab_files(void **state)
{
	static const char *const files[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf",
					    "ggml-vocab-qwen2.gguf"};
	static const size_t n_tokens[] = {32000, 50257, 151936};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char path[512];
		struct atl_gguf *g;
		struct atl_gguf_arr a;

		snprintf(path, sizeof(path), VEC "tokenizer/%s", files[i]);
		assert_int_equal(atl_gguf_open(path, &g), ATL_OK);
		assert_int_equal(atl_gguf_n_tensors(g), 0);
		assert_int_equal(atl_gguf_get_arr(g, "tokenizer.ggml.tokens", &a), ATL_OK);
		assert_int_equal(a.n, n_tokens[i]);
		atl_gguf_close(g);
	}
}

static void test_open_errors(void **state)
{
	struct atl_gguf *g = (void *)1;
	char path[] = "/tmp/atl_gguf_testXXXXXX";
	int fd;

	(void)state;
	assert_int_equal(atl_gguf_open("/nonexistent/x.gguf", &g), ATL_E_NOTFOUND);
	assert_null(g);
	assert_true(strlen(atl_gguf_errmsg()) > 0);
	assert_int_equal(atl_gguf_open("/", &g), ATL_E_IO);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "GGUF", 4), 4);
	close(fd);
	assert_int_equal(atl_gguf_open(path, &g), ATL_E_TRUNCATED);
	unlink(path);
	assert_int_equal(atl_gguf_open_mem(NULL, 5, &g), ATL_E_ARG);
}

/* ---- writer round trip ---- */

static struct atl_gguf_writer *sample_writer(float *w0, uint8_t *q8)
{
	struct atl_gguf_writer *w;
	static const int32_t ints[] = {-1, 2, 3};
	static const float floats[] = {0.5f, -2.0f};
	static const uint8_t bools[] = {1, 0};
	static const char *const strs[] = {"a", "", "hello"};
	uint64_t ne1[1] = {8}, ne2[2] = {32, 2};

	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	for (int i = 0; i < 8; i++)
		w0[i] = (float)i;
	for (int i = 0; i < 68; i++)
		q8[i] = (uint8_t)i;
	assert_int_equal(atl_gguf_writer_add_str(w, "general.architecture", "llama"), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u8(w, "k.u8", 200), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_i8(w, "k.i8", -5), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u16(w, "k.u16", 60000), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_i16(w, "k.i16", -30000), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u32(w, "k.u32", 4000000000u), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_i32(w, "k.i32", -7), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u64(w, "k.u64", UINT64_MAX), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_i64(w, "k.i64", INT64_MIN), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_f32(w, "k.f32", 1.5f), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_f64(w, "k.f64", 0.25), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_bool(w, "k.bool", true), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_strn(w, "k.strn", "a\0b", 3), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "k.ai32", ATL_GGUF_TYPE_INT32, ints, 3), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "k.af32", ATL_GGUF_TYPE_FLOAT32, floats, 2),
			 ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "k.abool", ATL_GGUF_TYPE_BOOL, bools, 2), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "k.empty", ATL_GGUF_TYPE_UINT8, NULL, 0), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "k.astr", strs, 3), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor(w, "w0", ATL_GGML_TYPE_F32, 1, ne1, w0, 32),
			 ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor(w, "q8", ATL_GGML_TYPE_Q8_0, 2, ne2, q8, 68),
			 ATL_OK);
	return w;
}

static void check_sample(struct atl_gguf *g)
{
	struct atl_gguf_arr a;
	struct atl_gguf_str s;
	const struct atl_gguf_tensor *t;
	uint32_t u32;
	int32_t i32;
	uint64_t u64;
	int64_t i64;
	float f;
	bool b;

	assert_int_equal(atl_gguf_get_u32(g, "k.u8", &u32), ATL_OK);
	assert_int_equal(u32, 200);
	assert_int_equal(atl_gguf_get_i32(g, "k.i8", &i32), ATL_OK);
	assert_int_equal(i32, -5);
	assert_int_equal(atl_gguf_get_u32(g, "k.i8", &u32), ATL_E_LIMIT);
	assert_int_equal(atl_gguf_get_u64(g, "k.u16", &u64), ATL_OK);
	assert_int_equal(u64, 60000);
	assert_int_equal(atl_gguf_get_i64(g, "k.i16", &i64), ATL_OK);
	assert_int_equal(i64, -30000);
	assert_int_equal(atl_gguf_get_u32(g, "k.u32", &u32), ATL_OK);
	assert_int_equal(u32, 4000000000u);
	assert_int_equal(atl_gguf_get_i32(g, "k.u32", &i32), ATL_E_LIMIT);
	assert_int_equal(atl_gguf_get_i32(g, "k.i32", &i32), ATL_OK);
	assert_int_equal(i32, -7);
	assert_int_equal(atl_gguf_get_u64(g, "k.u64", &u64), ATL_OK);
	assert_true(u64 == UINT64_MAX);
	assert_int_equal(atl_gguf_get_i64(g, "k.u64", &i64), ATL_E_LIMIT);
	assert_int_equal(atl_gguf_get_i64(g, "k.i64", &i64), ATL_OK);
	assert_true(i64 == INT64_MIN);
	assert_int_equal(atl_gguf_get_i32(g, "k.i64", &i32), ATL_E_LIMIT);
	assert_int_equal(atl_gguf_get_f32(g, "k.f32", &f), ATL_OK);
	assert_true(f == 1.5f);
	assert_int_equal(atl_gguf_get_f32(g, "k.f64", &f), ATL_OK);
	assert_true(f == 0.25f);
	assert_int_equal(atl_gguf_get_bool(g, "k.bool", &b), ATL_OK);
	assert_true(b);
	assert_int_equal(atl_gguf_get_str(g, "k.strn", &s), ATL_OK);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.p, "a\0b", 3);
	assert_int_equal(atl_gguf_get_arr(g, "k.ai32", &a), ATL_OK);
	assert_int_equal(a.n, 3);
	assert_int_equal(atl_gguf_arr_i32(&a, 0, &i32), ATL_OK);
	assert_int_equal(i32, -1);
	assert_int_equal(atl_gguf_arr_u32(&a, 0, &u32), ATL_E_LIMIT);
	assert_int_equal(atl_gguf_arr_i64(&a, 2, &i64), ATL_OK);
	assert_int_equal(i64, 3);
	assert_int_equal(atl_gguf_arr_i32(&a, 3, &i32), ATL_E_ARG);
	assert_int_equal(atl_gguf_arr_bool(&a, 0, &b), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_get_arr(g, "k.af32", &a), ATL_OK);
	assert_int_equal(atl_gguf_arr_f32(&a, 1, &f), ATL_OK);
	assert_true(f == -2.0f);
	assert_int_equal(atl_gguf_get_arr(g, "k.abool", &a), ATL_OK);
	assert_int_equal(atl_gguf_arr_bool(&a, 0, &b), ATL_OK);
	assert_true(b);
	assert_int_equal(atl_gguf_arr_bool(&a, 1, &b), ATL_OK);
	assert_false(b);
	assert_int_equal(atl_gguf_get_arr(g, "k.empty", &a), ATL_OK);
	assert_int_equal(a.n, 0);
	assert_int_equal(atl_gguf_get_arr(g, "k.astr", &a), ATL_OK);
	assert_int_equal(atl_gguf_arr_str(&a, 2, &s), ATL_OK);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.p, "hello", 5);
	assert_int_equal(atl_gguf_arr_str(&a, 1, &s), ATL_OK);
	assert_int_equal(s.len, 0);
	t = atl_gguf_find_tensor(g, "w0");
	assert_non_null(t);
	assert_int_equal(t->offset, 0);
	assert_true(((const float *)t->data)[7] == 7.0f);
	t = atl_gguf_find_tensor(g, "q8");
	assert_non_null(t);
	assert_int_equal(t->offset % atl_gguf_alignment(g), 0);
	assert_int_equal(t->size, 68);
	assert_int_equal(((const uint8_t *)t->data)[67], 67);
}

static void test_writer_roundtrip(void **state)
{
	struct atl_gguf_writer *w;
	struct atl_gguf *g, *g2;
	float w0[8];
	uint8_t q8[68], *buf;
	size_t len;
	char path[] = "/tmp/atl_gguf_wrXXXXXX";
	int fd;

	(void)state;
	w = sample_writer(w0, q8);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	assert_int_equal(len % 32, 0);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	check_sample(g);
	atl_gguf_close(g);
	/* the same bytes through a file */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(atl_gguf_writer_write_file(w, path), ATL_OK);
	assert_int_equal(atl_gguf_open(path, &g2), ATL_OK);
	check_sample(g2);
	{
		size_t flen;
		const void *fp = atl_gguf_file_data(g2, &flen);

		assert_int_equal(flen, len);
		assert_memory_equal(fp, buf, len);
	}
	atl_gguf_close(g2);
	unlink(path);
	free(buf);
	atl_gguf_writer_free(w);

	/* alignment 64 */
	w = sample_writer(w0, q8);
	assert_int_equal(atl_gguf_writer_set_alignment(w, 64), ATL_OK);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	assert_int_equal(atl_gguf_alignment(g), 64);
	assert_int_equal(atl_gguf_data_offset(g) % 64, 0);
	assert_int_equal(atl_gguf_find_tensor(g, "q8")->offset, 64);
	check_sample(g);
	atl_gguf_close(g);
	free(buf);
	/* errors latch */
	assert_int_equal(atl_gguf_writer_set_alignment(w, 64), ATL_E_STATE);
	assert_int_equal(atl_gguf_writer_add_u8(w, "x", 1), ATL_E_STATE);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_E_STATE);
	assert_null(buf);
	atl_gguf_writer_free(w);
}

static void test_writer_errors(void **state)
{
	struct atl_gguf_writer *w;
	uint64_t ne[1] = {8};
	float d[8] = {0};

	(void)state;
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_set_alignment(w, 48), ATL_E_ARG);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor(w, "t", ATL_GGML_TYPE_F32, 1, ne, d, 16),
			 ATL_E_ARG);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "a", ATL_GGUF_TYPE_STRING, d, 1), ATL_E_ARG);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u8(w, "k", 1), ATL_OK);
	assert_int_equal(atl_gguf_writer_write_file(w, "/nonexistent/dir/x.gguf"), ATL_E_IO);
	atl_gguf_writer_free(w);
}

/* Copying metadata from a real file: a generated model gets a real vocabulary. */
static void test_writer_copy_kv(void **state)
{
	struct atl_gguf *src, *g;
	struct atl_gguf_writer *w;
	struct atl_gguf_arr a, b;
	struct atl_gguf_str s1, s2;
	uint8_t *buf;
	size_t len;
	bool add_bos;

	(void)state;
	assert_int_equal(atl_gguf_open(VEC "logits/tiny-llama-random-q8_0.gguf", &src), ATL_OK);
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "general.architecture", "llama"), ATL_OK);
	assert_int_equal(atl_gguf_writer_copy_kv(w, src, "tokenizer."), ATL_OK);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	assert_int_equal(atl_gguf_n_kv(g), 1 + 10);
	assert_int_equal(atl_gguf_get_arr(g, "tokenizer.ggml.tokens", &a), ATL_OK);
	assert_int_equal(atl_gguf_get_arr(src, "tokenizer.ggml.tokens", &b), ATL_OK);
	assert_int_equal(a.n, b.n);
	assert_int_equal(atl_gguf_arr_str(&a, 31999, &s1), ATL_OK);
	assert_int_equal(atl_gguf_arr_str(&b, 31999, &s2), ATL_OK);
	assert_int_equal(s1.len, s2.len);
	assert_memory_equal(s1.p, s2.p, s1.len);
	assert_int_equal(atl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos), ATL_OK);
	assert_true(add_bos);
	assert_int_equal(atl_gguf_find_key(g, "llama.block_count"), -1);
	atl_gguf_close(g);
	free(buf);
	/* everything */
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_copy_kv(w, src, NULL), ATL_OK);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	assert_int_equal(atl_gguf_n_kv(g), atl_gguf_n_kv(src));
	atl_gguf_close(g);
	free(buf);
	atl_gguf_close(src);
}

/* ---- hostile files ---- */

/* Builds a file from a writer and returns the open result. */
static enum atl_err open_built(struct atl_gguf_writer *w)
{
	struct atl_gguf *g = NULL;
	uint8_t *buf;
	size_t len;
	enum atl_err rc;

	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	rc = atl_gguf_open_mem(buf, len, &g);
	if (rc == ATL_OK)
		atl_gguf_close(g);
	else
		assert_null(g);
	free(buf);
	return rc;
}

static struct atl_gguf_writer *new_w(void)
{
	struct atl_gguf_writer *w;

	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	return w;
}

static void test_truncated_everywhere(void **state)
{
	struct atl_gguf_writer *w;
	struct atl_gguf *g;
	float w0[8];
	uint8_t q8[68], *buf;
	size_t len;
	size_t need;

	(void)state;
	w = sample_writer(w0, q8);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	/* only the padding after the last tensor may go */
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	need = (size_t)atl_gguf_data_offset(g) + atl_gguf_find_tensor(g, "q8")->offset + 68;
	atl_gguf_close(g);
	for (size_t n = 0; n < len; n++) {
		/* a private copy of exactly n bytes so ASan sees any overread */
		uint8_t *cut = malloc(n ? n : 1);
		enum atl_err rc;

		memcpy(cut, buf, n);
		rc = atl_gguf_open_mem(n ? cut : NULL, n, &g);
		if (n >= need) {
			assert_int_equal(rc, ATL_OK);
			atl_gguf_close(g);
		} else {
			assert_true(rc == ATL_E_TRUNCATED || rc == ATL_E_FORMAT ||
				    rc == ATL_E_LIMIT);
			assert_null(g);
		}
		free(cut);
	}
	free(buf);
}

static void test_header_errors(void **state)
{
	struct atl_gguf_writer *w;
	struct atl_gguf *g;
	uint8_t hdr[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};

	(void)state;
	w = new_w();
	atl_gguf_writer_set_version(w, 1);
	assert_int_equal(open_built(w), ATL_E_UNSUPPORTED);
	w = new_w();
	atl_gguf_writer_set_version(w, 4);
	assert_int_equal(open_built(w), ATL_E_UNSUPPORTED);
	w = new_w();
	atl_gguf_writer_set_version(w, 0x03000000u);
	assert_int_equal(open_built(w), ATL_E_UNSUPPORTED);
	w = new_w();
	atl_gguf_writer_set_version(w, 2);
	assert_int_equal(open_built(w), ATL_OK);
	/* bad magic */
	hdr[0] = 'X';
	assert_int_equal(atl_gguf_open_mem(hdr, sizeof(hdr), &g), ATL_E_FORMAT);
	hdr[0] = 'G';
	assert_int_equal(atl_gguf_open_mem(hdr, sizeof(hdr), &g), ATL_OK);
	atl_gguf_close(g);
	/* huge counts */
	memset(hdr + 8, 0xff, 8);
	assert_int_equal(atl_gguf_open_mem(hdr, sizeof(hdr), &g), ATL_E_LIMIT);
	memset(hdr + 8, 0, 8);
	hdr[16 + 2] = 1; /* n_kv = 65536: within the limit, beyond the file */
	assert_int_equal(atl_gguf_open_mem(hdr, sizeof(hdr), &g), ATL_E_TRUNCATED);
	hdr[16 + 2] = 2;
	assert_int_equal(atl_gguf_open_mem(hdr, sizeof(hdr), &g), ATL_E_LIMIT);
	assert_true(strstr(atl_gguf_errmsg(), "metadata") != NULL);
}

static void test_metadata_errors(void **state)
{
	struct atl_gguf_writer *w;
	char big[ATL_GGUF_KEY_MAX + 2];

	(void)state;
	/* key too long, empty key, NUL in key, duplicate key */
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u8(w, big, 1), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_LIMIT);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u8(w, "", 1), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u8(w, "a", 1), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u8(w, "a", 2), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	assert_true(strstr(atl_gguf_errmsg(), "duplicate") != NULL);
	/* alignment: wrong type, not a power of two, too big */
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u64(w, ATL_GGUF_KEY_ALIGNMENT, 32), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u32(w, ATL_GGUF_KEY_ALIGNMENT, 48), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u32(w, ATL_GGUF_KEY_ALIGNMENT, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_u32(w, ATL_GGUF_KEY_ALIGNMENT, ATL_GGUF_ALIGN_MAX * 2),
			 ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
}

/* Hand-made metadata values the writer cannot produce. */
static enum atl_err open_one_kv(const uint8_t *val, size_t val_len)
{
	uint8_t buf[256] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			    1, 0, 0, 0, 0, 0, 0, 0, /* n_kv 1 */
			    1, 0, 0, 0, 0, 0, 0, 0, 'k'};
	struct atl_gguf *g;
	enum atl_err rc;
	uint8_t *copy;

	assert_true(val_len <= sizeof(buf) - 33);
	memcpy(buf + 33, val, val_len);
	copy = malloc(33 + val_len);
	memcpy(copy, buf, 33 + val_len);
	rc = atl_gguf_open_mem(copy, 33 + val_len, &g);
	if (rc == ATL_OK) {
		struct atl_gguf_arr a;
		int64_t v;

		/* nested arrays parse but cannot be read */
		if (atl_gguf_get_arr(g, "k", &a) == ATL_OK && a.elem_type == ATL_GGUF_TYPE_ARRAY &&
		    a.n > 0)
			assert_int_equal(atl_gguf_arr_i64(&a, 0, &v), ATL_E_UNSUPPORTED);
		atl_gguf_close(g);
	}
	free(copy);
	return rc;
}

static void test_metadata_hand(void **state)
{
	static const uint8_t bool2[] = {7, 0, 0, 0, 2};
	static const uint8_t bad_type[] = {13, 0, 0, 0, 0};
	static const uint8_t arr_bad_elem[] = {9, 0, 0, 0, 99, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t arr_bool2[] = {9, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3};
	static const uint8_t arr_huge[] = {9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
	static const uint8_t arr_strs_past[] = {9, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
	static const uint8_t str_huge[] = {8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
	/* [[1u8, 2u8]] : array of 1 array of 2 u8 */
	static const uint8_t nested[] = {9, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2};
	/* [[["s"]]] : three levels, the limit */
	static const uint8_t nested3[] = {9, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  1, 0, 0, 0, 0, 0, 0, 0, 's'};
	/* four levels */
	static const uint8_t nested4[] = {9, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t nested_bad[] = {9, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					     77, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(open_one_kv(bool2, sizeof(bool2)), ATL_E_FORMAT);
	assert_int_equal(open_one_kv(bad_type, sizeof(bad_type)), ATL_E_FORMAT);
	assert_int_equal(open_one_kv(arr_bad_elem, sizeof(arr_bad_elem)), ATL_E_FORMAT);
	assert_int_equal(open_one_kv(arr_bool2, sizeof(arr_bool2)), ATL_E_FORMAT);
	assert_int_equal(open_one_kv(arr_huge, sizeof(arr_huge)), ATL_E_LIMIT);
	assert_int_equal(open_one_kv(arr_strs_past, sizeof(arr_strs_past)), ATL_E_TRUNCATED);
	assert_int_equal(open_one_kv(str_huge, sizeof(str_huge)), ATL_E_LIMIT);
	assert_int_equal(open_one_kv(nested, sizeof(nested)), ATL_OK);
	assert_int_equal(open_one_kv(nested3, sizeof(nested3)), ATL_OK);
	assert_int_equal(open_one_kv(nested4, sizeof(nested4)), ATL_E_LIMIT);
	assert_int_equal(open_one_kv(nested_bad, sizeof(nested_bad)), ATL_E_FORMAT);
}

static void test_tensor_errors(void **state)
{
	struct atl_gguf_writer *w;
	uint64_t ne[4] = {32, 2, 1, 1};
	uint8_t d[256] = {0};
	char longname[ATL_GGUF_NAME_MAX + 2];

	(void)state;
	/* unknown type */
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 4, 1, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_UNSUPPORTED);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 1000, 1, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_UNSUPPORTED);
	/* zero dims, too many dims */
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 0, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	/* zero / absurd dimensions; shape not a multiple of the block */
	ne[1] = 0;
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 2, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	ne[1] = UINT64_MAX;
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 2, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	ne[0] = 1ull << 40;
	ne[1] = 1ull << 40;
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 2, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_LIMIT);
	ne[0] = 48;
	ne[1] = 1;
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", ATL_GGML_TYPE_Q8_0, 1, ne, 0),
			 ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	/* offset past the end, misaligned, overflowing */
	ne[0] = 32;
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 1, ne, 0), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_TRUNCATED);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor(w, "a", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 1, ne, 8), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor(w, "a", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 1, ne, UINT64_MAX - 31), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_TRUNCATED);
	/* overlapping: t covers the second half of a */
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor(w, "a", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	ne[0] = 16;
	assert_int_equal(atl_gguf_writer_add_tensor_raw(w, "t", 0, 1, ne, 64), ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	assert_true(strstr(atl_gguf_errmsg(), "overlap") != NULL);
	/* inside, aligned, not overlapping: fine */
	w = new_w();
	ne[0] = 32;
	assert_int_equal(atl_gguf_writer_add_tensor(w, "a", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor(w, "b", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(open_built(w), ATL_OK);
	/* duplicate names */
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor(w, "a", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(atl_gguf_writer_add_tensor(w, "a", ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(open_built(w), ATL_E_FORMAT);
	/* name too long */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor(w, longname, ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(open_built(w), ATL_E_LIMIT);
	longname[ATL_GGUF_NAME_MAX] = '\0';
	w = new_w();
	assert_int_equal(atl_gguf_writer_add_tensor(w, longname, ATL_GGML_TYPE_F32, 1, ne, d, 128),
			 ATL_OK);
	assert_int_equal(open_built(w), ATL_OK);
}

/* Every single-byte corruption of a small valid file: no crash, and either
 * an error or a handle whose tensors all lie inside the file. */
static void test_flip_bytes(void **state)
{
	struct atl_gguf_writer *w;
	float w0[8];
	uint8_t q8[68], *buf;
	size_t len;

	(void)state;
	w = sample_writer(w0, q8);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	for (size_t i = 0; i < len; i++) {
		static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x01};

		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t save = buf[i];
			struct atl_gguf *g;

			buf[i] = vals[v];
			if (atl_gguf_open_mem(buf, len, &g) == ATL_OK) {
				for (size_t k = 0; k < atl_gguf_n_tensors(g); k++) {
					const struct atl_gguf_tensor *t = atl_gguf_tensor_at(g, k);

					assert_true((const uint8_t *)t->data >= buf);
					assert_true((const uint8_t *)t->data + t->size <= buf + len);
				}
				atl_gguf_close(g);
			}
			buf[i] = save;
		}
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_traits),
		cmocka_unit_test(test_real_model),
		cmocka_unit_test(test_vocab_files),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_writer_copy_kv),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_metadata_errors),
		cmocka_unit_test(test_metadata_hand),
		cmocka_unit_test(test_tensor_errors),
		cmocka_unit_test(test_flip_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
