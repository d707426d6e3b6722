/* The llama forward pass against llama.cpp's numbers (tests/vectors/llm/logits,
 * see its README): logits of every prompt position, greedy continuations,
 * token-by-token == batched, every ISA and thread count; hostile models. */
#include <math.h>
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
#include "atoll/model.h"
#include "atoll/quant.h"
#include "atoll/sampler.h"
#include "atoll/threadpool.h"
#include "atoll/tokenizer.h"

#define N_VOCAB 32000
#define TOL 1e-4f /* README: F32 and Q8_0 (with Q8_0 activations) */

static const char *src_dir(void)
{
	const char *d = getenv("ATL_SOURCE_DIR");
	return d != NULL ? d : ATL_SOURCE_DIR;
}

static void vec_path(char *buf, size_t len, const char *prefix, const char *suffix)
{
	snprintf(buf, len, "%s/tests/vectors/llm/logits/%s%s", src_dir(), prefix, suffix);
}

static size_t read_ids(const char *prefix, const char *suffix, int32_t *ids, size_t max)
{
	char p[1024];
	vec_path(p, sizeof(p), prefix, suffix);
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	assert_int_equal(atl_file_read(p, 1 << 20, &buf, &len), ATL_OK);
	char *s = (char *)buf, *end;
	for (;;) {
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		assert_true(n < max);
		ids[n++] = (int32_t)v;
		s = end;
	}
	free(buf);
	return n;
}

static float *read_logits(const char *prefix, size_t n_tok)
{
	char p[1024];
	vec_path(p, sizeof(p), prefix, ".logits.f32");
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(atl_file_read(p, 64u << 20, &buf, &len), ATL_OK);
	assert_int_equal(len, n_tok * N_VOCAB * sizeof(float));
	float *f = malloc(len);
	assert_non_null(f);
	memcpy(f, buf, len); /* little-endian host */
	free(buf);
	return f;
}

static int32_t argmax(const float *v, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best]) /* lowest id on ties */
			best = i;
	return (int32_t)best;
}

static float max_diff(const float *a, const float *b, size_t n)
{
	float m = 0.0f;
	for (size_t i = 0; i < n; i++) {
		float d = fabsf(a[i] - b[i]);
		if (!(d <= m))
			m = d;
	}
	return m;
}

/* Batched logits of the whole prompt, then 16 greedy tokens fed back one by
 * one with the cache; both against llama.cpp. Returns the max |diff|. */
static float check_model(const char *prefix, unsigned n_threads)
{
	char p[1024];
	vec_path(p, sizeof(p), prefix, ".gguf");
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_model_ctx *c = NULL;
	assert_int_equal(atl_gguf_open(p, &g), ATL_OK);
	if (atl_model_load(g, &m) != ATL_OK)
		fail_msg("load %s: %s", prefix, atl_model_errmsg());
	const struct atl_model_hparams *hp = atl_model_hparams(m);
	assert_int_equal(hp->n_vocab, N_VOCAB);
	assert_int_equal(hp->n_embd, 64);
	assert_int_equal(hp->n_layer, 2);
	assert_int_equal(hp->n_head_kv, 2);
	assert_false(hp->tied_output);
	assert_false(hp->rope_neox);

	int32_t toks[64], greedy[32];
	size_t n_tok = read_ids(prefix, ".tokens.txt", toks, 64);
	size_t n_greedy = read_ids(prefix, ".greedy.txt", greedy, 32);
	assert_int_equal(n_tok, 25);
	assert_int_equal(n_greedy, 16);
	float *ref = read_logits(prefix, n_tok);
	float *out = malloc(n_tok * N_VOCAB * sizeof(float));
	assert_non_null(out);

	assert_int_equal(atl_model_ctx_new(m, 512, n_threads, &c), ATL_OK);
	assert_int_equal(atl_model_eval(c, toks, n_tok, out, true), ATL_OK);
	float worst = max_diff(out, ref, n_tok * N_VOCAB);
	if (!(worst <= TOL))
		fail_msg("%s: max |logit - llama.cpp| = %g > %g", prefix, (double)worst, (double)TOL);

	/* greedy continuation with the cache, exactly llama.cpp's path */
	int32_t next = argmax(out + (n_tok - 1) * N_VOCAB, N_VOCAB);
	for (size_t i = 0; i < n_greedy; i++) {
		if (next != greedy[i])
			fail_msg("%s: greedy token %zu is %d, llama.cpp %d", prefix, i, next, greedy[i]);
		assert_int_equal(atl_model_eval(c, &next, 1, out, false), ATL_OK);
		next = argmax(out, N_VOCAB);
	}
	assert_int_equal(atl_model_ctx_pos(c), n_tok + n_greedy);

	/* token by token == batched, within the same tolerance */
	atl_model_ctx_reset(c);
	for (size_t i = 0; i < n_tok; i++) {
		assert_int_equal(atl_model_eval(c, &toks[i], 1, out, false), ATL_OK);
		float d = max_diff(out, ref + i * N_VOCAB, N_VOCAB);
		if (!(d <= TOL))
			fail_msg("%s: token-by-token position %zu differs by %g", prefix, i, (double)d);
	}
	atl_model_ctx_free(c);
	atl_model_free(m);
	atl_gguf_close(g);
	free(out);
	free(ref);
	return worst;
}

static void run_all_isas(const char *prefix)
{
	for (int isa = ATL_QUANT_ISA_GENERIC; isa <= ATL_QUANT_ISA_AVX512; isa++) {
		if (!atl_quant_isa_available((enum atl_quant_isa)isa))
			continue;
		assert_int_equal(atl_quant_set_isa((enum atl_quant_isa)isa), ATL_OK);
		for (unsigned nt = 1; nt <= 3; nt += 2) {
			float d = check_model(prefix, nt);
			print_message("%s isa %s threads %u: max |diff| %.3g\n", prefix,
				      atl_quant_isa_name((enum atl_quant_isa)isa), nt, (double)d);
		}
	}
}

static void test_f32_model(void **state)
{
	(void)state;
	run_all_isas("tiny-llama-random-f32");
}

static void test_q8_0_model(void **state)
{
	(void)state;
	run_all_isas("tiny-llama-random-q8_0");
}

/* ---- hostile and synthetic models, built with the GGUF writer ---- */

enum variant {
	V_OK, V_ARCH, V_NOARCH, V_MISSING, V_SHAPE, V_DIMS, V_TYPE, V_HEADS, V_HUGE,
	V_VOCAB, V_QWEN, V_QWEN_NOBIAS, V_ROPE_SCALING,
};

#define T_E 32
#define T_FF 64
#define T_V 16
static float g_rand[T_FF * T_E * 2];

static void add_t(struct atl_gguf_writer *w, const char *name, uint32_t n_dims, uint64_t ne0,
		  uint64_t ne1)
{
	uint64_t ne[2] = {ne0, ne1};
	size_t n = (size_t)ne0 * (n_dims == 2 ? ne1 : 1);
	assert_true(n <= sizeof(g_rand) / sizeof(float));
	assert_int_equal(atl_gguf_writer_add_tensor(w, name, ATL_GGML_TYPE_F32, n_dims, ne, g_rand,
						    n * sizeof(float)),
			 ATL_OK);
}

static uint8_t *build(enum variant v, size_t *len)
{
	struct atl_gguf_writer *w = NULL;
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	uint64_t st = 12345;
	for (size_t i = 0; i < sizeof(g_rand) / sizeof(float); i++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		g_rand[i] = ((float)(st >> 40) / 16777216.0f - 0.5f) * 0.5f;
	}
	const bool qwen = v == V_QWEN || v == V_QWEN_NOBIAS;
	const char *arch = qwen ? "qwen2" : "llama";
	if (v == V_ARCH)
		assert_int_equal(atl_gguf_writer_add_str(w, "general.architecture", "gpt2"), ATL_OK);
	else if (v != V_NOARCH)
		assert_int_equal(atl_gguf_writer_add_str(w, "general.architecture", arch), ATL_OK);
	char k[64];
#define KEY(s) (snprintf(k, sizeof(k), "%s." s, arch), k)
	assert_int_equal(atl_gguf_writer_add_u32(w, KEY("context_length"), 64), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u32(w, KEY("embedding_length"),
						 v == V_HUGE ? (1u << 20) : T_E), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u32(w, KEY("block_count"), 1), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u32(w, KEY("feed_forward_length"), T_FF), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u32(w, KEY("attention.head_count"),
						 v == V_HEADS ? 3 : 2), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_u32(w, KEY("attention.head_count_kv"), 1), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-6f),
			 ATL_OK);
	if (v == V_VOCAB)
		assert_int_equal(atl_gguf_writer_add_u32(w, KEY("vocab_size"), 99), ATL_OK);
	if (v == V_ROPE_SCALING)
		assert_int_equal(atl_gguf_writer_add_str(w, KEY("rope.scaling.type"), "yarn"), ATL_OK);
#undef KEY
	add_t(w, "token_embd.weight", 2, T_E, T_V);
	if (!qwen)
		add_t(w, "output.weight", 2, T_E, T_V);
	add_t(w, "output_norm.weight", 1, T_E, 1);
	add_t(w, "blk.0.attn_norm.weight", 1, T_E, 1);
	add_t(w, "blk.0.ffn_norm.weight", 1, T_E, 1);
	if (v == V_TYPE) {
		uint64_t ne[2] = {T_E, T_E};
		assert_int_equal(atl_gguf_writer_add_tensor(w, "blk.0.attn_q.weight", ATL_GGML_TYPE_I32,
							    2, ne, g_rand, T_E * T_E * 4), ATL_OK);
	} else if (v == V_DIMS) {
		uint64_t ne[3] = {T_E, T_E, 1};
		assert_int_equal(atl_gguf_writer_add_tensor(w, "blk.0.attn_q.weight", ATL_GGML_TYPE_F32,
							    3, ne, g_rand, T_E * T_E * 4), ATL_OK);
	} else {
		add_t(w, "blk.0.attn_q.weight", 2, T_E, v == V_SHAPE ? T_E / 2 : T_E);
	}
	add_t(w, "blk.0.attn_k.weight", 2, T_E, T_E / 2);
	add_t(w, "blk.0.attn_v.weight", 2, T_E, T_E / 2);
	add_t(w, "blk.0.attn_output.weight", 2, T_E, T_E);
	add_t(w, "blk.0.ffn_gate.weight", 2, T_E, T_FF);
	add_t(w, "blk.0.ffn_up.weight", 2, T_E, T_FF);
	if (v != V_MISSING)
		add_t(w, "blk.0.ffn_down.weight", 2, T_FF, T_E);
	if (v == V_QWEN) {
		add_t(w, "blk.0.attn_q.bias", 1, T_E, 1);
		add_t(w, "blk.0.attn_k.bias", 1, T_E / 2, 1);
		add_t(w, "blk.0.attn_v.bias", 1, T_E / 2, 1);
	}
	uint8_t *buf = NULL;
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, len), ATL_OK);
	atl_gguf_writer_free(w);
	return buf;
}

static enum atl_err try_load(enum variant v)
{
	size_t len;
	uint8_t *buf = build(v, &len);
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	enum atl_err rc = atl_model_load(g, &m);
	if (rc != ATL_OK) {
		assert_null(m);
		assert_true(atl_model_errmsg()[0] != '\0');
	}
	atl_model_free(m);
	atl_gguf_close(g);
	free(buf);
	return rc;
}

static void test_hostile(void **state)
{
	(void)state;
	assert_int_equal(try_load(V_OK), ATL_OK);
	assert_int_equal(try_load(V_ARCH), ATL_E_UNSUPPORTED);
	assert_int_equal(try_load(V_NOARCH), ATL_E_NOTFOUND);
	assert_int_equal(try_load(V_MISSING), ATL_E_NOTFOUND);
	assert_int_equal(try_load(V_SHAPE), ATL_E_FORMAT);
	assert_int_equal(try_load(V_DIMS), ATL_E_FORMAT);
	assert_int_equal(try_load(V_TYPE), ATL_E_UNSUPPORTED);
	assert_int_equal(try_load(V_HEADS), ATL_E_FORMAT);
	assert_int_equal(try_load(V_HUGE), ATL_E_LIMIT);
	assert_int_equal(try_load(V_VOCAB), ATL_E_FORMAT);
	assert_int_equal(try_load(V_QWEN_NOBIAS), ATL_E_NOTFOUND);
	assert_int_equal(try_load(V_ROPE_SCALING), ATL_E_UNSUPPORTED);
}

/* qwen2 (NEOX RoPE, biases, tied output): batched == token by token, and
 * the eval argument errors. */
static void test_qwen2_and_errors(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = build(V_QWEN, &len);
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_model_ctx *c = NULL;
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	assert_int_equal(atl_model_load(g, &m), ATL_OK);
	const struct atl_model_hparams *hp = atl_model_hparams(m);
	assert_int_equal(hp->arch, ATL_MODEL_ARCH_QWEN2);
	assert_true(hp->rope_neox);
	assert_true(hp->tied_output);
	assert_true(hp->has_qkv_bias);
	assert_int_equal(hp->n_vocab, T_V);

	const int32_t toks[7] = {1, 5, 9, 2, 15, 0, 7};
	float all[7 * T_V], one[T_V];
	assert_int_equal(atl_model_ctx_new(m, 8, 2, &c), ATL_OK);
	assert_int_equal(atl_model_eval(c, toks, 7, all, true), ATL_OK);
	atl_model_ctx_reset(c);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(atl_model_eval(c, &toks[i], 1, one, false), ATL_OK);
		assert_true(max_diff(one, all + i * T_V, T_V) == 0.0f);
	}
	/* errors: full cache, bad ids, empty batch; nothing evaluated */
	int32_t bad = T_V, two[2] = {1, 1};
	assert_int_equal(atl_model_eval(c, two, 2, one, false), ATL_E_LIMIT);
	assert_int_equal(atl_model_ctx_pos(c), 7);
	assert_int_equal(atl_model_eval(c, &bad, 1, one, false), ATL_E_ARG);
	bad = -1;
	assert_int_equal(atl_model_eval(c, &bad, 1, one, false), ATL_E_ARG);
	assert_int_equal(atl_model_eval(c, toks, 0, one, false), ATL_E_ARG);
	assert_int_equal(atl_model_eval(c, toks, 1, NULL, false), ATL_OK);
	assert_int_equal(atl_model_ctx_pos(c), 8);
	atl_model_ctx_free(c);
	c = NULL;
	assert_int_equal(atl_model_ctx_new(m, 8, 0, &c), ATL_E_ARG);
	assert_int_equal(atl_model_ctx_new(m, ATL_MODEL_CTX_MAX + 1, 1, &c), ATL_E_LIMIT);
	assert_null(c);
	assert_string_equal(atl_model_arch_name(ATL_MODEL_ARCH_LLAMA), "llama");
	atl_model_free(m);
	atl_gguf_close(g);
	free(buf);
}

/* ---- the worker pool ---- */

struct sum_job {
	uint32_t *hits;
};

static void mark(void *arg, size_t b, size_t e, unsigned tid)
{
	struct sum_job *j = arg;
	assert_true(tid < 4);
	for (size_t i = b; i < e; i++)
		__atomic_fetch_add(&j->hits[i], 1, __ATOMIC_RELAXED);
}

static void test_pool(void **state)
{
	(void)state;
	struct atl_pool *p = NULL;
	assert_int_equal(atl_pool_new(0, &p), ATL_E_ARG);
	assert_int_equal(atl_pool_new(ATL_POOL_THREADS_MAX + 1, &p), ATL_E_ARG);
	assert_int_equal(atl_pool_new(4, &p), ATL_OK);
	assert_int_equal(atl_pool_size(p), 4);
	uint32_t hits[1000];
	struct sum_job j = {hits};
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(round * 7) % 1000 + 1;
		memset(hits, 0, sizeof(hits));
		atl_pool_run(p, n, (size_t)(round % 5), mark, &j);
		for (size_t i = 0; i < 1000; i++)
			assert_int_equal(hits[i], i < n ? 1 : 0);
	}
	atl_pool_free(p);
	atl_pool_free(NULL);
}

/* ---- generation and the random-model generator ---- */

struct collect {
	int32_t ids[64];
	size_t n;
	size_t text_len;
};

static bool collect_fn(void *arg, int32_t id, const char *text, size_t len)
{
	struct collect *c = arg;
	(void)text;
	if (id >= 0 && c->n < 64)
		c->ids[c->n++] = id;
	c->text_len += len;
	return true;
}

/* atl_model_generate with the model's own tokenizer reproduces llama.cpp's
 * prompt logits and greedy path. */
static void test_generate(void **state)
{
	(void)state;
	const char *prefix = "tiny-llama-random-q8_0";
	char p[1024];
	vec_path(p, sizeof(p), prefix, ".gguf");
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_model_ctx *c = NULL;
	struct atl_tok *tok = NULL;
	struct atl_sampler *smp = NULL;
	assert_int_equal(atl_gguf_open(p, &g), ATL_OK);
	assert_int_equal(atl_model_load(g, &m), ATL_OK);
	assert_int_equal(atl_tok_load(g, &tok), ATL_OK);
	int32_t toks[64], greedy[32];
	size_t n_tok = read_ids(prefix, ".tokens.txt", toks, 64);
	size_t n_greedy = read_ids(prefix, ".greedy.txt", greedy, 32);
	float *ref = read_logits(prefix, n_tok);
	float *pl = malloc(n_tok * N_VOCAB * sizeof(float));
	assert_non_null(pl);
	struct atl_sampler_params sp;
	atl_sampler_params_default(&sp);
	assert_int_equal(atl_sampler_new(&sp, N_VOCAB, &smp), ATL_OK);
	assert_int_equal(atl_model_ctx_new(m, 64, 2, &c), ATL_OK);
	struct collect col = {0};
	struct atl_gen_stats st;
	assert_int_equal(atl_model_generate(c, tok, toks, n_tok, (uint32_t)n_greedy, smp, pl,
					    collect_fn, &col, &st),
			 ATL_OK);
	assert_true(max_diff(pl, ref, n_tok * N_VOCAB) <= TOL);
	assert_int_equal(col.n, n_greedy);
	assert_memory_equal(col.ids, greedy, n_greedy * sizeof(int32_t));
	assert_true(col.text_len > 0);
	assert_int_equal(st.n_prompt, n_tok);
	assert_int_equal(st.n_gen, n_greedy);
	assert_false(st.ctx_full);
	/* a context too small for the prompt, and one that fills up */
	atl_model_ctx_free(c);
	assert_int_equal(atl_model_ctx_new(m, 20, 1, &c), ATL_OK);
	assert_int_equal(atl_model_generate(c, tok, toks, n_tok, 4, smp, NULL, NULL, NULL, &st),
			 ATL_E_LIMIT);
	atl_model_ctx_free(c);
	assert_int_equal(atl_model_ctx_new(m, 27, 1, &c), ATL_OK);
	memset(&col, 0, sizeof(col));
	assert_int_equal(atl_model_generate(c, NULL, toks, n_tok, 10, smp, NULL, collect_fn, &col,
					    &st),
			 ATL_OK);
	assert_true(st.ctx_full);
	assert_int_equal(col.n, 3);
	assert_int_equal(col.text_len, 0);
	atl_model_ctx_free(c);
	atl_sampler_free(smp);
	atl_tok_free(tok);
	atl_model_free(m);
	atl_gguf_close(g);
	free(pl);
	free(ref);
}

/* gen-random models of every type and both architectures load, and their
 * batched and token-by-token logits agree. */
static void test_gen_random(void **state)
{
	(void)state;
	const uint32_t types[] = {ATL_GGML_TYPE_F32, ATL_GGML_TYPE_F16, ATL_GGML_TYPE_BF16,
				  ATL_GGML_TYPE_Q8_0, ATL_GGML_TYPE_Q4_0};
	char path[256];
	snprintf(path, sizeof(path), "%s/infer_model_test_%d.gguf",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
		for (int arch = ATL_MODEL_ARCH_LLAMA; arch <= ATL_MODEL_ARCH_QWEN2; arch++) {
			struct atl_model_gen_params gp;
			assert_int_equal(atl_model_gen_shape("tiny", &gp), ATL_OK);
			gp.arch = (enum atl_model_arch)arch;
			gp.type = types[ti];
			gp.n_vocab = 300;
			gp.seed = ti;
			assert_int_equal(atl_model_gen_random(&gp, path), ATL_OK);
			struct atl_gguf *g = NULL;
			struct atl_model *m = NULL;
			struct atl_model_ctx *c = NULL;
			struct atl_tok *tok = NULL;
			assert_int_equal(atl_gguf_open(path, &g), ATL_OK);
			if (atl_model_load(g, &m) != ATL_OK)
				fail_msg("%s: %s", atl_ggml_type_name(types[ti]), atl_model_errmsg());
			assert_int_equal(atl_tok_load(g, &tok), ATL_OK);
			assert_int_equal(atl_tok_n_vocab(tok), 300);
			const struct atl_model_hparams *hp = atl_model_hparams(m);
			assert_int_equal(hp->weight_type, types[ti]);
			assert_int_equal(hp->tied_output, arch == ATL_MODEL_ARCH_QWEN2);
			const int32_t ids[5] = {1, 7, 280, 42, 3};
			float all[5 * 300], one[300];
			assert_int_equal(atl_model_ctx_new(m, 8, 2, &c), ATL_OK);
			assert_int_equal(atl_model_eval(c, ids, 5, all, true), ATL_OK);
			atl_model_ctx_reset(c);
			for (int i = 0; i < 5; i++) {
				assert_int_equal(atl_model_eval(c, &ids[i], 1, one, false), ATL_OK);
				float md = max_diff(one, all + i * 300, 300);
				if (md != 0.0f) /* same kernels either way: bit-identical */
					fail_msg("%s arch %d pos %d: batched vs single %g",
						 atl_ggml_type_name(types[ti]), arch, i, (double)md);
			}
			for (int i = 0; i < 300; i++)
				assert_true(isfinite(all[i]));
			atl_model_ctx_free(c);
			atl_tok_free(tok);
			atl_model_free(m);
			atl_gguf_close(g);
		}
	}
	unlink(path);
	/* refused parameters */
	struct atl_model_gen_params gp;
	assert_int_equal(atl_model_gen_shape("huge", &gp), ATL_E_NOTFOUND);
	assert_int_equal(atl_model_gen_shape("tiny", &gp), ATL_OK);
	gp.type = ATL_GGML_TYPE_Q6_K;
	assert_int_equal(atl_model_gen_random(&gp, path), ATL_E_ARG);
	assert_int_equal(atl_model_gen_shape("tiny", &gp), ATL_OK);
	gp.n_head = 3;
	assert_int_equal(atl_model_gen_random(&gp, path), ATL_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_f32_model),
		cmocka_unit_test(test_q8_0_model),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_gen_random),
		cmocka_unit_test(test_qwen2_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
