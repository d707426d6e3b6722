/* Random-weight models for tests and benchmarks (model.h): the shapes of
 * real models with uniform random weights, written through the GGUF writer
 * so that both atoll and llama.cpp can load them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/log.h"
#include "atoll/model.h"
#include "atoll/quant.h"

enum atl_err atl_model_gen_shape(const char *name, struct atl_model_gen_params *p)
{
	memset(p, 0, sizeof(*p));
	p->arch = ATL_MODEL_ARCH_LLAMA;
	p->type = ATL_GGML_TYPE_F32;
	p->n_vocab = 32000;
	if (strcmp(name, "tiny") == 0) {
		p->n_embd = 64;
		p->n_layer = 2;
		p->n_head = 4;
		p->n_head_kv = 2;
		p->n_ff = 192;
		p->n_ctx = 512;
		p->std = 0.125f;
	} else if (strcmp(name, "1.1b") == 0) {
		p->n_embd = 2048;
		p->n_layer = 22;
		p->n_head = 32;
		p->n_head_kv = 4;
		p->n_ff = 5632;
		p->n_ctx = 2048;
		p->std = 0.02f;
	} else {
		return ATL_E_NOTFOUND;
	}
	return ATL_OK;
}

static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Tensors are kept until the file is written (the writer borrows them). */
struct gen {
	struct atl_gguf_writer *w;
	void **bufs;
	size_t n_bufs, cap_bufs;
	uint64_t rng;
	float *row; /* scratch of the widest row */
};

static enum atl_err keep(struct gen *g, void *p)
{
	if (g->n_bufs == g->cap_bufs) {
		size_t nc = g->cap_bufs ? 2 * g->cap_bufs : 64;
		void **nb = realloc(g->bufs, nc * sizeof(*nb));
		if (nb == NULL) {
			free(p);
			return ATL_E_NOMEM;
		}
		g->bufs = nb;
		g->cap_bufs = nc;
	}
	g->bufs[g->n_bufs++] = p;
	return ATL_OK;
}

/* A [rows][cols] matrix of type t with uniform weights of deviation std
 * (or all `fill` when std is 0, for norms). */
static enum atl_err add_tensor(struct gen *g, const char *name, uint32_t t, uint32_t n_dims,
			       uint32_t cols, uint32_t rows, float std, float fill)
{
	size_t rs;
	enum atl_err rc = atl_ggml_row_size(t, cols, &rs);
	if (rc != ATL_OK)
		return ATL_E_ARG;
	uint8_t *data = malloc(rs * rows);
	if (data == NULL)
		return ATL_E_NOMEM;
	rc = keep(g, data);
	if (rc != ATL_OK)
		return rc;
	const float a = std * 1.7320508f; /* uniform(-a, a) has deviation std */
	for (uint32_t r = 0; r < rows; r++) {
		for (uint32_t i = 0; i < cols; i++) {
			if (std == 0.0f) {
				g->row[i] = fill;
			} else {
				double u = (double)(next_u64(&g->rng) >> 11) * 0x1.0p-53;
				g->row[i] = (float)((2.0 * u - 1.0) * a);
			}
		}
		rc = atl_quant_quantize(t, g->row, data + r * rs, cols);
		if (rc != ATL_OK)
			return ATL_E_ARG;
	}
	uint64_t ne[2] = {cols, rows};
	return atl_gguf_writer_add_tensor(g->w, name, t, n_dims, ne, data, rs * rows);
}

/* Copies every tokenizer.* pair of v. */
static enum atl_err copy_vocab(struct gen *g, const struct atl_gguf *v, uint32_t *n_vocab_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_gguf_arr arr;
	rc = atl_gguf_get_arr(v, "tokenizer.ggml.tokens", &arr);
	if (rc != ATL_OK || arr.elem_type != ATL_GGUF_TYPE_STRING || arr.n == 0 ||
	    arr.n > ATL_MODEL_VOCAB_MAX)
		return ATL_E_ARG;
	*n_vocab_out = (uint32_t)arr.n;
	for (size_t i = 0; i < atl_gguf_n_kv(v); i++) {
		struct atl_gguf_str k = atl_gguf_kv_key(v, i);
		if (k.len < 10 || memcmp(k.p, "tokenizer.", 10) != 0 || k.len >= 256)
			continue;
		char key[256];
		memcpy(key, k.p, k.len);
		key[k.len] = '\0';
		enum atl_gguf_vtype vt = atl_gguf_kv_type(v, i);
		uint32_t u32;
		int32_t i32;
		float f;
		bool b;
		struct atl_gguf_str s;
		switch (vt) {
		case ATL_GGUF_TYPE_UINT32:
			ATL_TRY(atl_gguf_get_u32(v, key, &u32));
			ATL_TRY(atl_gguf_writer_add_u32(g->w, key, u32));
			break;
		case ATL_GGUF_TYPE_INT32:
			ATL_TRY(atl_gguf_get_i32(v, key, &i32));
			ATL_TRY(atl_gguf_writer_add_i32(g->w, key, i32));
			break;
		case ATL_GGUF_TYPE_FLOAT32:
			ATL_TRY(atl_gguf_get_f32(v, key, &f));
			ATL_TRY(atl_gguf_writer_add_f32(g->w, key, f));
			break;
		case ATL_GGUF_TYPE_BOOL:
			ATL_TRY(atl_gguf_get_bool(v, key, &b));
			ATL_TRY(atl_gguf_writer_add_bool(g->w, key, b));
			break;
		case ATL_GGUF_TYPE_STRING:
			ATL_TRY(atl_gguf_get_str(v, key, &s));
			ATL_TRY(atl_gguf_writer_add_strn(g->w, key, s.p, s.len));
			break;
		case ATL_GGUF_TYPE_ARRAY: {
			ATL_TRY(atl_gguf_get_arr(v, key, &arr));
			size_t n = arr.n;
			if (arr.elem_type == ATL_GGUF_TYPE_STRING) {
				char **strs = calloc(n ? n : 1, sizeof(char *));
				if (strs == NULL)
					return ATL_E_NOMEM;
				rc = ATL_OK;
				for (size_t j = 0; j < n && rc == ATL_OK; j++) {
					rc = atl_gguf_arr_str(&arr, j, &s);
					if (rc == ATL_OK && (strs[j] = strndup(s.p, s.len)) == NULL)
						rc = ATL_E_NOMEM;
				}
				if (rc == ATL_OK)
					rc = atl_gguf_writer_add_arr_str(g->w, key,
									 (const char *const *)strs, n);
				for (size_t j = 0; j < n; j++)
					free(strs[j]);
				free(strs);
				if (rc != ATL_OK)
					goto out;
			} else if (arr.elem_type == ATL_GGUF_TYPE_FLOAT32 ||
				   arr.elem_type == ATL_GGUF_TYPE_INT32) {
				void *vals = calloc(n ? n : 1, 4);
				if (vals == NULL)
					return ATL_E_NOMEM;
				rc = ATL_OK;
				for (size_t j = 0; j < n && rc == ATL_OK; j++)
					rc = arr.elem_type == ATL_GGUF_TYPE_FLOAT32
						     ? atl_gguf_arr_f32(&arr, j, (float *)vals + j)
						     : atl_gguf_arr_i32(&arr, j, (int32_t *)vals + j);
				if (rc == ATL_OK)
					rc = atl_gguf_writer_add_arr(g->w, key, arr.elem_type, vals, n);
				free(vals);
				if (rc != ATL_OK)
					goto out;
			} else {
				atl_warn("gen-random: vocabulary key %s skipped (array type)", key);
			}
			break;
		}
		default:
			atl_warn("gen-random: vocabulary key %s skipped (type %d)", key, (int)vt);
			break;
		}
	}
	rc = ATL_OK;
out:
	return rc;
}

/* <unk> <s> </s>, <0x00>..<0xFF>, then "tokN" fillers. */
static enum atl_err synth_vocab(struct gen *g, uint32_t n_vocab)
{
	enum atl_err rc = ATL_E_NOMEM;
	char **toks = calloc(n_vocab, sizeof(char *));
	float *scores = calloc(n_vocab, sizeof(float));
	int32_t *types = calloc(n_vocab, sizeof(int32_t));
	if (toks == NULL || scores == NULL || types == NULL)
		goto out;
	for (uint32_t i = 0; i < n_vocab; i++) {
		char buf[32];
		if (i == 0)
			snprintf(buf, sizeof(buf), "<unk>");
		else if (i == 1)
			snprintf(buf, sizeof(buf), "<s>");
		else if (i == 2)
			snprintf(buf, sizeof(buf), "</s>");
		else if (i < 259)
			snprintf(buf, sizeof(buf), "<0x%02X>", i - 3);
		else
			snprintf(buf, sizeof(buf), "tok%u", i);
		toks[i] = strdup(buf);
		if (toks[i] == NULL)
			goto out;
		types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
		scores[i] = i < 259 ? 0.0f : -(float)i;
	}
	ATL_TRY(atl_gguf_writer_add_str(g->w, "tokenizer.ggml.model", "llama"));
	ATL_TRY(atl_gguf_writer_add_arr_str(g->w, "tokenizer.ggml.tokens", (const char *const *)toks,
					    n_vocab));
	ATL_TRY(atl_gguf_writer_add_arr(g->w, "tokenizer.ggml.scores", ATL_GGUF_TYPE_FLOAT32, scores,
					n_vocab));
	ATL_TRY(atl_gguf_writer_add_arr(g->w, "tokenizer.ggml.token_type", ATL_GGUF_TYPE_INT32, types,
					n_vocab));
	ATL_TRY(atl_gguf_writer_add_u32(g->w, "tokenizer.ggml.bos_token_id", 1));
	ATL_TRY(atl_gguf_writer_add_u32(g->w, "tokenizer.ggml.eos_token_id", 2));
	ATL_TRY(atl_gguf_writer_add_u32(g->w, "tokenizer.ggml.unknown_token_id", 0));
	ATL_TRY(atl_gguf_writer_add_bool(g->w, "tokenizer.ggml.add_bos_token", true));
	rc = ATL_OK;
out:
	if (toks != NULL)
		for (uint32_t i = 0; i < n_vocab; i++)
			free(toks[i]);
	free(toks);
	free(scores);
	free(types);
	return rc;
}

static uint32_t file_type(uint32_t t)
{
	switch (t) { /* llama.cpp enum llama_ftype */
	case ATL_GGML_TYPE_F32: return 0;
	case ATL_GGML_TYPE_F16: return 1;
	case ATL_GGML_TYPE_Q4_0: return 2;
	case ATL_GGML_TYPE_Q8_0: return 7;
	case ATL_GGML_TYPE_BF16: return 32;
	default: return 0;
	}
}

enum atl_err atl_model_gen_random(const struct atl_model_gen_params *p, const char *path)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct gen g = {0};
	const uint32_t t = p->type;
	if (t != ATL_GGML_TYPE_F32 && t != ATL_GGML_TYPE_F16 && t != ATL_GGML_TYPE_BF16 &&
	    t != ATL_GGML_TYPE_Q8_0 && t != ATL_GGML_TYPE_Q4_0)
		return ATL_E_ARG;
	if (p->n_embd == 0 || p->n_embd > ATL_MODEL_EMBD_MAX || p->n_layer == 0 ||
	    p->n_layer > ATL_MODEL_LAYERS_MAX || p->n_head == 0 || p->n_head_kv == 0 ||
	    p->n_embd % p->n_head != 0 || p->n_head % p->n_head_kv != 0 ||
	    (p->n_embd / p->n_head) % 2 != 0 || p->n_ff == 0 || p->n_ff > ATL_MODEL_FF_MAX ||
	    p->n_embd % 32 != 0 || p->n_ff % 32 != 0 || p->n_ctx == 0 ||
	    !(p->std >= 0.0f && p->std < 100.0f) ||
	    (p->vocab == NULL && (p->n_vocab < 259 || p->n_vocab > ATL_MODEL_VOCAB_MAX)))
		return ATL_E_ARG;
	const char *arch = atl_model_arch_name(p->arch);
	if (p->arch != ATL_MODEL_ARCH_LLAMA && p->arch != ATL_MODEL_ARCH_QWEN2)
		return ATL_E_ARG;
	const uint32_t E = p->n_embd, hd = E / p->n_head, kvd = p->n_head_kv * hd;
	g.rng = p->seed;
	g.row = malloc((size_t)(p->n_ff > E ? p->n_ff : E) * sizeof(float));
	if (g.row == NULL)
		return ATL_E_NOMEM;
	ATL_TRY(atl_gguf_writer_new(&g.w));

	char key[128];
#define KEY(s) (snprintf(key, sizeof(key), "%s." s, arch), key)
	ATL_TRY(atl_gguf_writer_add_str(g.w, "general.architecture", arch));
	ATL_TRY(atl_gguf_writer_add_str(g.w, "general.name", "atoll-random"));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("context_length"), p->n_ctx));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("embedding_length"), E));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("block_count"), p->n_layer));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("feed_forward_length"), p->n_ff));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("attention.head_count"), p->n_head));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("attention.head_count_kv"), p->n_head_kv));
	ATL_TRY(atl_gguf_writer_add_f32(g.w, KEY("rope.freq_base"), 10000.0f));
	ATL_TRY(atl_gguf_writer_add_f32(g.w, KEY("attention.layer_norm_rms_epsilon"), 1e-5f));
	ATL_TRY(atl_gguf_writer_add_u32(g.w, KEY("rope.dimension_count"), hd));
#undef KEY
	ATL_TRY(atl_gguf_writer_add_u32(g.w, "general.file_type", file_type(t)));
	if (t == ATL_GGML_TYPE_Q8_0 || t == ATL_GGML_TYPE_Q4_0)
		ATL_TRY(atl_gguf_writer_add_u32(g.w, "general.quantization_version", 2));
	uint32_t n_vocab = p->n_vocab;
	if (p->vocab != NULL)
		ATL_TRY(copy_vocab(&g, p->vocab, &n_vocab));
	else
		ATL_TRY(synth_vocab(&g, n_vocab));

	const float s = p->std;
	ATL_TRY(add_tensor(&g, "token_embd.weight", t, 2, E, n_vocab, s, 0));
	ATL_TRY(add_tensor(&g, "output_norm.weight", ATL_GGML_TYPE_F32, 1, E, 1, 0, 1.0f));
	if (p->arch == ATL_MODEL_ARCH_LLAMA) /* qwen2: tied to token_embd */
		ATL_TRY(add_tensor(&g, "output.weight", t, 2, E, n_vocab, s, 0));
	for (uint32_t l = 0; l < p->n_layer; l++) {
		char nm[64];
#define NAME(x) (snprintf(nm, sizeof(nm), "blk.%u." x, l), nm)
		ATL_TRY(add_tensor(&g, NAME("attn_norm.weight"), ATL_GGML_TYPE_F32, 1, E, 1, 0, 1.0f));
		ATL_TRY(add_tensor(&g, NAME("attn_q.weight"), t, 2, E, E, s, 0));
		ATL_TRY(add_tensor(&g, NAME("attn_k.weight"), t, 2, E, kvd, s, 0));
		ATL_TRY(add_tensor(&g, NAME("attn_v.weight"), t, 2, E, kvd, s, 0));
		ATL_TRY(add_tensor(&g, NAME("attn_output.weight"), t, 2, E, E, s, 0));
		if (p->arch == ATL_MODEL_ARCH_QWEN2) {
			ATL_TRY(add_tensor(&g, NAME("attn_q.bias"), ATL_GGML_TYPE_F32, 1, E, 1, s, 0));
			ATL_TRY(add_tensor(&g, NAME("attn_k.bias"), ATL_GGML_TYPE_F32, 1, kvd, 1, s, 0));
			ATL_TRY(add_tensor(&g, NAME("attn_v.bias"), ATL_GGML_TYPE_F32, 1, kvd, 1, s, 0));
		}
		ATL_TRY(add_tensor(&g, NAME("ffn_norm.weight"), ATL_GGML_TYPE_F32, 1, E, 1, 0, 1.0f));
		ATL_TRY(add_tensor(&g, NAME("ffn_gate.weight"), t, 2, E, p->n_ff, s, 0));
		ATL_TRY(add_tensor(&g, NAME("ffn_up.weight"), t, 2, E, p->n_ff, s, 0));
		ATL_TRY(add_tensor(&g, NAME("ffn_down.weight"), t, 2, p->n_ff, E, s, 0));
#undef NAME
	}
	rc = atl_gguf_writer_write_file(g.w, path);
out:
	atl_gguf_writer_free(g.w);
	for (size_t i = 0; i < g.n_bufs; i++)
		free(g.bufs[i]);
	free(g.bufs);
	free(g.row);
	return rc;
}
