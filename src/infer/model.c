/* Loading llama / qwen2 models from GGUF (model.h): hyper-parameters from
 * the metadata, every tensor found and checked (dimensions, shape, type)
 * before use. Weight matrices stay in the file; 1-D tensors (norms, biases,
 * RoPE factors) are dequantised into one owned F32 arena. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atoll/limits.h"
#include "atoll/quant.h"
#include "infer/gguf_int.h"
#include "infer/kernels.h"
#include "infer/model_int.h"

static _Thread_local char g_errmsg[256];

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_errmsg, sizeof(g_errmsg), fmt, ap);
	va_end(ap);
}

const char *atl_model_errmsg(void)
{
	return g_errmsg;
}

const char *atl_model_arch_name(enum atl_model_arch a)
{
	switch (a) {
	case ATL_MODEL_ARCH_LLAMA: return "llama";
	case ATL_MODEL_ARCH_QWEN2: return "qwen2";
	default: return "?";
	}
}

const struct atl_model_hparams *atl_model_hparams(const struct atl_model *m)
{
	return &m->hp;
}

/* ---- metadata ---- */

static enum atl_err meta_u32(const struct atl_gguf *g, const char *arch, const char *suffix,
			     bool required, uint32_t dflt, uint32_t *v_out)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	enum atl_err rc = atl_gguf_get_u32(g, key, v_out);
	if (rc == ATL_E_NOTFOUND && !required) {
		*v_out = dflt;
		return ATL_OK;
	}
	if (rc != ATL_OK)
		set_err("metadata %s: %s", key, atl_strerror(rc));
	return rc;
}

static enum atl_err meta_f32(const struct atl_gguf *g, const char *arch, const char *suffix,
			     float dflt, float *v_out)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	enum atl_err rc = atl_gguf_get_f32(g, key, v_out);
	if (rc == ATL_E_NOTFOUND) {
		*v_out = dflt;
		return ATL_OK;
	}
	if (rc != ATL_OK)
		set_err("metadata %s: %s", key, atl_strerror(rc));
	return rc;
}

static enum atl_err check_range(const char *what, uint32_t v, uint32_t max)
{
	if (v == 0) {
		set_err("%s is 0", what);
		return ATL_E_FORMAT;
	}
	if (v > max) {
		set_err("%s %u exceeds the limit %u", what, v, max);
		return ATL_E_LIMIT;
	}
	return ATL_OK;
}

static enum atl_err read_hparams(const struct atl_gguf *g, struct atl_model_hparams *hp)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_gguf_str s;
	rc = atl_gguf_get_str(g, "general.architecture", &s);
	if (rc != ATL_OK) {
		set_err("general.architecture: %s", atl_strerror(rc));
		return rc == ATL_E_NOTFOUND ? ATL_E_NOTFOUND : ATL_E_FORMAT;
	}
	const char *arch;
	if (s.len == 5 && memcmp(s.p, "llama", 5) == 0) {
		hp->arch = ATL_MODEL_ARCH_LLAMA;
		arch = "llama";
	} else if (s.len == 5 && memcmp(s.p, "qwen2", 5) == 0) {
		hp->arch = ATL_MODEL_ARCH_QWEN2;
		arch = "qwen2";
	} else {
		set_err("architecture '%.*s' is not supported (llama, qwen2)",
			(int)(s.len > 32 ? 32 : s.len), s.p);
		return ATL_E_UNSUPPORTED;
	}
	hp->rope_neox = hp->arch == ATL_MODEL_ARCH_QWEN2;
	ATL_TRY(meta_u32(g, arch, "context_length", false, 2048, &hp->n_ctx_train));
	ATL_TRY(meta_u32(g, arch, "embedding_length", true, 0, &hp->n_embd));
	ATL_TRY(meta_u32(g, arch, "block_count", true, 0, &hp->n_layer));
	ATL_TRY(meta_u32(g, arch, "feed_forward_length", true, 0, &hp->n_ff));
	ATL_TRY(meta_u32(g, arch, "attention.head_count", true, 0, &hp->n_head));
	ATL_TRY(meta_u32(g, arch, "attention.head_count_kv", false, hp->n_head, &hp->n_head_kv));
	ATL_TRY(meta_f32(g, arch, "rope.freq_base", 10000.0f, &hp->rope_freq_base));
	ATL_TRY(meta_f32(g, arch, "attention.layer_norm_rms_epsilon", 1e-6f, &hp->rms_eps));

	ATL_TRY(check_range("embedding_length", hp->n_embd, ATL_MODEL_EMBD_MAX));
	ATL_TRY(check_range("block_count", hp->n_layer, ATL_MODEL_LAYERS_MAX));
	ATL_TRY(check_range("feed_forward_length", hp->n_ff, ATL_MODEL_FF_MAX));
	ATL_TRY(check_range("attention.head_count", hp->n_head, ATL_MODEL_HEADS_MAX));
	ATL_TRY(check_range("attention.head_count_kv", hp->n_head_kv, ATL_MODEL_HEADS_MAX));
	ATL_TRY(check_range("context_length", hp->n_ctx_train, UINT32_MAX));
	if (hp->n_embd % hp->n_head != 0 || hp->n_head % hp->n_head_kv != 0) {
		set_err("heads do not divide: n_embd %u, n_head %u, n_head_kv %u", hp->n_embd,
			hp->n_head, hp->n_head_kv);
		rc = ATL_E_FORMAT;
		goto out;
	}
	hp->head_dim = hp->n_embd / hp->n_head;
	if (hp->head_dim % 2 != 0 || hp->head_dim > ATL_MODEL_HEAD_DIM_MAX) {
		set_err("head dimension %u is odd or too large", hp->head_dim);
		rc = ATL_E_FORMAT;
		goto out;
	}
	/* Only full-width RoPE and the standard head shape are implemented. */
	uint32_t v;
	ATL_TRY(meta_u32(g, arch, "rope.dimension_count", false, hp->head_dim, &v));
	if (v != hp->head_dim) {
		set_err("rope.dimension_count %u != head dimension %u", v, hp->head_dim);
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	ATL_TRY(meta_u32(g, arch, "attention.key_length", false, hp->head_dim, &v));
	if (v != hp->head_dim) {
		set_err("attention.key_length %u != head dimension %u", v, hp->head_dim);
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	char key[128];
	snprintf(key, sizeof(key), "%s.rope.scaling.type", arch);
	if (atl_gguf_get_str(g, key, &s) == ATL_OK && !(s.len == 4 && memcmp(s.p, "none", 4) == 0)) {
		set_err("RoPE scaling '%.*s' is not supported", (int)(s.len > 32 ? 32 : s.len), s.p);
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (!(hp->rms_eps > 0.0f && hp->rms_eps < 1.0f) ||
	    !(hp->rope_freq_base > 0.0f && hp->rope_freq_base < 1e12f)) {
		set_err("rms epsilon or rope base out of range");
		rc = ATL_E_FORMAT;
		goto out;
	}
	rc = ATL_OK;
out:
	return rc;
}

/* ---- tensors ---- */

static enum atl_err get_mat(struct atl_model *m, const char *name, uint32_t cols, uint32_t rows,
			    bool optional, struct atl_wmat *w)
{
	memset(w, 0, sizeof(*w));
	const struct atl_gguf_tensor *t = atl_gguf_find_tensor(m->g, name);
	if (t == NULL) {
		if (optional)
			return ATL_OK;
		set_err("tensor %s is missing", name);
		return ATL_E_NOTFOUND;
	}
	if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows) {
		set_err("tensor %s has shape [%llu, %llu] x%u dims, expected [%u, %u]", name,
			(unsigned long long)t->ne[0], (unsigned long long)t->ne[1], t->n_dims, cols,
			rows);
		return ATL_E_FORMAT;
	}
	if (!atl_quant_can_matmul(t->type)) {
		set_err("tensor %s has type %s, which this engine cannot multiply", name,
			atl_ggml_type_name(t->type));
		return ATL_E_UNSUPPORTED;
	}
	uint32_t dt = atl_quant_dot_type(t->type);
	if (cols % atl_ggml_blck_size(dt) != 0) {
		set_err("tensor %s: %u columns is not a multiple of the %s block", name, cols,
			atl_ggml_type_name(dt));
		return ATL_E_FORMAT;
	}
	size_t rs;
	enum atl_err rc = atl_ggml_row_size(t->type, cols, &rs);
	if (rc != ATL_OK || rs * rows != t->size) { /* the reader checked t->size */
		set_err("tensor %s: inconsistent size", name);
		return ATL_E_FORMAT;
	}
	w->data = t->data;
	w->type = t->type;
	w->dot_type = dt;
	w->rows = rows;
	w->cols = cols;
	w->row_size = rs;
	m->hp.n_params += t->n_elems;
	m->hp.weight_bytes += t->size;
	return ATL_OK;
}

/* A 1-D tensor of n elements, dequantised to dst. *present says whether it
 * exists (optional ones may not). */
static enum atl_err get_vec(struct atl_model *m, const char *name, uint32_t n, bool optional,
			    float *dst, bool *present)
{
	*present = false;
	const struct atl_gguf_tensor *t = atl_gguf_find_tensor(m->g, name);
	if (t == NULL) {
		if (optional)
			return ATL_OK;
		set_err("tensor %s is missing", name);
		return ATL_E_NOTFOUND;
	}
	if (t->n_dims != 1 || t->ne[0] != n) {
		set_err("tensor %s has %u dims, ne[0] %llu, expected [%u]", name, t->n_dims,
			(unsigned long long)t->ne[0], n);
		return ATL_E_FORMAT;
	}
	enum atl_err rc = atl_quant_dequantize(t->type, t->data, dst, n);
	if (rc != ATL_OK) {
		set_err("tensor %s: type %s: %s", name, atl_ggml_type_name(t->type), atl_strerror(rc));
		return rc == ATL_E_UNSUPPORTED ? rc : ATL_E_FORMAT;
	}
	m->hp.n_params += t->n_elems;
	m->hp.weight_bytes += t->size;
	*present = true;
	return ATL_OK;
}

/* Repacks every matrix the active kernel table has a gemm kernel for
 * (kernels.h; the same size as the weights, owned by the model). The
 * embedding table is only read row by row and stays as it is; a tied output
 * gets its own packed copy. */
static enum atl_err pack_one(const struct atl_model *m, struct atl_wmat *w, bool drop)
{
	const struct atl_kernels *k = atl_kernels_get();
	if (w->data == NULL || k->gemm[w->type] == NULL)
		return ATL_OK;
	enum atl_err rc = atl_pack_matrix(w->type, w->data, w->rows, w->cols, w->row_size,
					  &w->packed);
	if (rc != ATL_OK) {
		set_err("cannot repack the weights: %s", atl_strerror(rc));
		return rc;
	}
	/* The original rows are not read again: give their pages of a file
	 * mapping back (read-only MAP_PRIVATE, never written: a later access
	 * would simply fault them in again from the page cache), so RSS is not
	 * the packed copy plus the file. Never for borrowed buffers (a decrypted
	 * model is anonymous memory that DONTNEED would zero). */
	if (drop && m->g->mapped) {
		const long ps = sysconf(_SC_PAGESIZE);
		const uintptr_t pg = ps > 0 ? (uintptr_t)ps : 4096, a = (uintptr_t)w->data;
		const uintptr_t lo = (a + pg - 1) & ~(pg - 1);
		const uintptr_t hi = (a + (size_t)w->rows * w->row_size) & ~(pg - 1);
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* advice only */
	}
	return ATL_OK;
}

static enum atl_err pack_all(struct atl_model *m)
{
	enum atl_err rc = ATL_OK;
	m->output.packed = NULL; /* a struct copy of tok_embd when tied */
	/* a tied output's rows are still read as embeddings: keep them mapped */
	ATL_TRY(pack_one(m, &m->output, !m->hp.tied_output));
	for (uint32_t l = 0; l < m->hp.n_layer; l++) {
		struct atl_layer *ly = &m->layers[l];
		struct atl_wmat *w[7] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->gate, &ly->up,
					 &ly->down};
		for (int i = 0; i < 7; i++)
			ATL_TRY(pack_one(m, w[i], true));
	}
out:
	return rc;
}

void atl_model_free(struct atl_model *m)
{
	if (m == NULL)
		return;
	atl_pack_free(m->output.type, m->output.packed, m->output.rows, m->output.cols);
	for (uint32_t l = 0; m->layers != NULL && l < m->hp.n_layer; l++) {
		struct atl_layer *ly = &m->layers[l];
		struct atl_wmat *w[7] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->gate, &ly->up,
					 &ly->down};
		for (int i = 0; i < 7; i++)
			atl_pack_free(w[i]->type, w[i]->packed, w[i]->rows, w[i]->cols);
	}
	free(m->layers);
	free(m->vec_arena);
	free(m);
}

enum atl_err atl_model_load(const struct atl_gguf *g, struct atl_model **m_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_model *m = NULL;
	*m_out = NULL;
	g_errmsg[0] = '\0';

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return ATL_E_NOMEM;
	m->g = g;
	struct atl_model_hparams *hp = &m->hp;
	ATL_TRY(read_hparams(g, hp));

	/* The vocabulary size comes from token_embd; metadata must agree. */
	const struct atl_gguf_tensor *te = atl_gguf_find_tensor(g, "token_embd.weight");
	if (te == NULL) {
		set_err("tensor token_embd.weight is missing");
		rc = ATL_E_NOTFOUND;
		goto out;
	}
	if (te->n_dims != 2 || te->ne[1] == 0 || te->ne[1] > ATL_MODEL_VOCAB_MAX) {
		set_err("token_embd.weight: bad shape or vocabulary over %u", ATL_MODEL_VOCAB_MAX);
		rc = te->n_dims != 2 ? ATL_E_FORMAT : ATL_E_LIMIT;
		goto out;
	}
	hp->n_vocab = (uint32_t)te->ne[1];
	const char *arch = atl_model_arch_name(hp->arch);
	uint32_t nv;
	ATL_TRY(meta_u32(g, arch, "vocab_size", false, hp->n_vocab, &nv));
	if (nv != hp->n_vocab) {
		set_err("%s.vocab_size %u != token_embd rows %u", arch, nv, hp->n_vocab);
		rc = ATL_E_FORMAT;
		goto out;
	}

	const uint32_t E = hp->n_embd, L = hp->n_layer, hd = hp->head_dim;
	const uint32_t qd = hp->n_head * hd, kvd = hp->n_head_kv * hd;
	/* arena: output norm, rope factors, per layer 2 norms + 3 biases
	 * (all bounded by the limits above: < 2^16 * 512 * 6 floats) */
	size_t per_layer = (size_t)2 * E + qd + 2 * (size_t)kvd;
	size_t n_floats = (size_t)E + hd / 2 + per_layer * L;
	m->vec_arena = calloc(n_floats, sizeof(float));
	m->layers = calloc(L, sizeof(*m->layers));
	if (m->vec_arena == NULL || m->layers == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	float *arena = m->vec_arena;
	bool present;

	ATL_TRY(get_mat(m, "token_embd.weight", E, hp->n_vocab, false, &m->tok_embd));
	ATL_TRY(get_mat(m, "output.weight", E, hp->n_vocab, true, &m->output));
	if (m->output.data == NULL) {
		m->output = m->tok_embd;
		hp->tied_output = true;
	}
	ATL_TRY(get_vec(m, "output_norm.weight", E, false, arena, &present));
	m->output_norm = arena;
	arena += E;
	ATL_TRY(get_vec(m, "rope_freqs.weight", hd / 2, true, arena, &present));
	m->rope_freqs = present ? arena : NULL;
	arena += hd / 2;

	for (uint32_t l = 0; l < L; l++) {
		struct atl_layer *ly = &m->layers[l];
		char nm[ATL_GGUF_NAME_MAX + 1];
#define NAME(s) (snprintf(nm, sizeof(nm), "blk.%u." s, l), nm)
		ATL_TRY(get_vec(m, NAME("attn_norm.weight"), E, false, arena, &present));
		ly->attn_norm = arena;
		arena += E;
		ATL_TRY(get_vec(m, NAME("ffn_norm.weight"), E, false, arena, &present));
		ly->ffn_norm = arena;
		arena += E;
		ATL_TRY(get_mat(m, NAME("attn_q.weight"), E, qd, false, &ly->wq));
		ATL_TRY(get_mat(m, NAME("attn_k.weight"), E, kvd, false, &ly->wk));
		ATL_TRY(get_mat(m, NAME("attn_v.weight"), E, kvd, false, &ly->wv));
		ATL_TRY(get_mat(m, NAME("attn_output.weight"), qd, E, false, &ly->wo));
		ATL_TRY(get_mat(m, NAME("ffn_gate.weight"), E, hp->n_ff, false, &ly->gate));
		ATL_TRY(get_mat(m, NAME("ffn_up.weight"), E, hp->n_ff, false, &ly->up));
		ATL_TRY(get_mat(m, NAME("ffn_down.weight"), hp->n_ff, E, false, &ly->down));
		/* q/k/v biases: required by qwen2, optional for llama; all or none */
		bool need = hp->arch == ATL_MODEL_ARCH_QWEN2, pq, pk, pv;
		ATL_TRY(get_vec(m, NAME("attn_q.bias"), qd, !need, arena, &pq));
		ly->bq = pq ? arena : NULL;
		arena += qd;
		ATL_TRY(get_vec(m, NAME("attn_k.bias"), kvd, !need, arena, &pk));
		ly->bk = pk ? arena : NULL;
		arena += kvd;
		ATL_TRY(get_vec(m, NAME("attn_v.bias"), kvd, !need, arena, &pv));
		ly->bv = pv ? arena : NULL;
		arena += kvd;
#undef NAME
		if (pq != pk || pk != pv) {
			set_err("blk.%u: q/k/v biases must be all present or all absent", l);
			rc = ATL_E_FORMAT;
			goto out;
		}
		if (l == 0)
			hp->has_qkv_bias = pq;
		else if (pq != hp->has_qkv_bias) {
			set_err("blk.%u: q/k/v biases differ between layers", l);
			rc = ATL_E_FORMAT;
			goto out;
		}
	}
	hp->weight_type = m->layers[0].down.type;
	ATL_TRY(pack_all(m));
	*m_out = m;
	m = NULL;
	rc = ATL_OK;
out:
	atl_model_free(m);
	return rc;
}
