/* The forward pass of llama and qwen2 (model.h) and the contexts that hold
 * the KV cache. One pass evaluates a batch of B tokens:
 *
 *   x = token_embd[tokens]                                     [B][E]
 *   per layer:  h = rmsnorm(x) * attn_norm
 *               q, k, v = Wq h (+bq), Wk h (+bk), Wv h (+bv)   RoPE on q, k
 *               cache[pos..] = k, v
 *               a = softmax(q k^T / sqrt(hd), causal) v        per head, GQA
 *               x += Wo a
 *               h = rmsnorm(x) * ffn_norm
 *               x += Wdown (silu(Wgate h) * Wup h)
 *   logits = Wout (rmsnorm(x) * output_norm)
 *
 * Matmuls quantise their input rows to the weight's dot type once and run
 * over row ranges on the worker pool; attention runs over (token, head)
 * pairs. Every formula mirrors GGML's CPU ops so logits agree with
 * llama.cpp to float rounding (see docs/internals/infer-engine.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/limits.h"
#include "atoll/quant.h"
#include "atoll/threadpool.h"
#include "infer/kernels.h"
#include "infer/model_int.h"

struct atl_model_ctx {
	const struct atl_model *m;
	uint32_t n_ctx, pos, n_batch;
	struct atl_pool *pool;
	float *k_cache, *v_cache;     /* [n_layer][n_ctx][kv_dim] */
	float *x, *h, *q, *k, *v, *a; /* [n_batch][...] */
	float *ff_g, *ff_u;           /* [n_batch][n_ff] */
	uint8_t *xq;                  /* quantised activations [n_batch][xq_stride] */
	size_t xq_stride;
	uint8_t *xp;                  /* prepared for the gemm kernels [n_batch][xq_stride] */
	float *scores;                /* [n_threads][n_ctx] */
	float *rope_cos, *rope_sin;   /* [n_batch][head_dim/2] */
};

static void *xcalloc(size_t a, size_t b, bool *fail)
{
	size_t n;
	if (__builtin_mul_overflow(a, b, &n) || n == 0) {
		*fail = true;
		return NULL;
	}
	void *p = calloc(1, n);
	if (p == NULL)
		*fail = true;
	return p;
}

void atl_model_ctx_free(struct atl_model_ctx *c)
{
	if (c == NULL)
		return;
	atl_pool_free(c->pool);
	free(c->k_cache);
	free(c->v_cache);
	free(c->x);
	free(c->h);
	free(c->q);
	free(c->k);
	free(c->v);
	free(c->a);
	free(c->ff_g);
	free(c->ff_u);
	free(c->xq);
	free(c->xp);
	free(c->scores);
	free(c->rope_cos);
	free(c->rope_sin);
	free(c);
}

enum atl_err atl_model_ctx_new(const struct atl_model *m, uint32_t n_ctx, unsigned n_threads,
			       struct atl_model_ctx **c_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	const struct atl_model_hparams *hp = &m->hp;
	*c_out = NULL;
	if (n_threads == 0 || n_threads > ATL_POOL_THREADS_MAX)
		return ATL_E_ARG;
	if (n_ctx == 0)
		n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
	if (n_ctx > ATL_MODEL_CTX_MAX)
		return ATL_E_LIMIT;
	struct atl_model_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ATL_E_NOMEM;
	c->m = m;
	c->n_ctx = n_ctx;
	c->n_batch = n_ctx < ATL_MODEL_BATCH_MAX ? n_ctx : ATL_MODEL_BATCH_MAX;
	const size_t E = hp->n_embd, B = c->n_batch, hd = hp->head_dim;
	const size_t qd = (size_t)hp->n_head * hd, kvd = (size_t)hp->n_head_kv * hd;
	bool fail = false;
	size_t cache_elems;
	if (__builtin_mul_overflow((size_t)hp->n_layer * n_ctx, kvd, &cache_elems)) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	c->k_cache = xcalloc(cache_elems, sizeof(float), &fail);
	c->v_cache = xcalloc(cache_elems, sizeof(float), &fail);
	c->x = xcalloc(B * E, sizeof(float), &fail);
	c->h = xcalloc(B * E, sizeof(float), &fail);
	c->q = xcalloc(B * qd, sizeof(float), &fail);
	c->k = xcalloc(B * kvd, sizeof(float), &fail);
	c->v = xcalloc(B * kvd, sizeof(float), &fail);
	c->a = xcalloc(B * qd, sizeof(float), &fail);
	c->ff_g = xcalloc(B * hp->n_ff, sizeof(float), &fail);
	c->ff_u = xcalloc(B * hp->n_ff, sizeof(float), &fail);
	c->rope_cos = xcalloc(B * hd / 2, sizeof(float), &fail);
	c->rope_sin = xcalloc(B * hd / 2, sizeof(float), &fail);
	c->scores = xcalloc((size_t)n_threads * n_ctx, sizeof(float), &fail);
	/* widest quantised input row: any matmul input (E, qd or n_ff wide) in
	 * any dot type, F32 at most */
	size_t widest = E > qd ? E : qd;
	if (hp->n_ff > widest)
		widest = hp->n_ff;
	c->xq_stride = (widest * sizeof(float) + 63) & ~(size_t)63;
	c->xq = xcalloc(B, c->xq_stride, &fail);
	c->xp = xcalloc(B, c->xq_stride, &fail); /* atl_q8p_size(n) < 4 n */
	if (fail) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_pool_new(n_threads, &c->pool));
	*c_out = c;
	c = NULL;
	rc = ATL_OK;
out:
	atl_model_ctx_free(c);
	return rc;
}

uint32_t atl_model_ctx_pos(const struct atl_model_ctx *c)
{
	return c->pos;
}

uint32_t atl_model_ctx_size(const struct atl_model_ctx *c)
{
	return c->n_ctx;
}

const struct atl_model *atl_model_ctx_model(const struct atl_model_ctx *c)
{
	return c->m;
}

void atl_model_ctx_reset(struct atl_model_ctx *c)
{
	c->pos = 0;
}

/* ---- matmul: y[t][r] = dot(W[r], x[t]) ---- */

/* Up to 3 matrices sharing one input (q/k/v, gate/up) run as one pool job,
 * their rows numbered one after the other: fewer synchronisations per token.
 * Each output element is still one kernel call, so results do not change. */
struct mm_part {
	const struct atl_wmat *w;
	atl_dot_fn dot;
	atl_dot4_fn dot4;
	float *y;
	size_t y_stride;
};

struct mm_job {
	struct mm_part part[3];
	unsigned n_parts;
	const uint8_t *xq;
	size_t xq_stride;
	uint32_t n_tok;
};

static void mm_rows(void *arg, size_t begin, size_t end, unsigned tid)
{
	const struct mm_job *j = arg;
	(void)tid;
	size_t base = 0;
	for (unsigned pi = 0; pi < j->n_parts; pi++) {
		const struct mm_part *p = &j->part[pi];
		const size_t rows = p->w->rows, cols = p->w->cols;
		size_t lo = begin > base ? begin - base : 0, hi = end - base;
		if (end <= base)
			break;
		if (hi > rows)
			hi = rows;
		for (size_t r = lo; r < hi; r++) {
			const uint8_t *wr = p->w->data + r * p->w->row_size;
			uint32_t t = 0;
			if (p->dot4 != NULL) {
				float o[4];
				for (; t + 4 <= j->n_tok; t += 4) {
					p->dot4(cols, wr, j->xq + t * j->xq_stride, j->xq_stride, o);
					for (int k = 0; k < 4; k++)
						p->y[(t + k) * p->y_stride + r] = o[k];
				}
			}
			for (; t < j->n_tok; t++)
				p->y[t * p->y_stride + r] = p->dot(cols, wr, j->xq + t * j->xq_stride);
		}
		base += rows;
	}
}

/* ggml_compute_forward_rms_norm_f32 then ggml_mul by the weight. */
static void rmsnorm(float *out, const float *x, const float *w, size_t n, float eps)
{
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]);
	const float mean = (float)(sum / (double)n);
	const float scale = 1.0f / sqrtf(mean + eps);
	for (size_t i = 0; i < n; i++)
		out[i] = (x[i] * scale) * w[i];
}

/* Elementwise op before a matmul's quantisation, per token row: RMSNorm
 * (norm_w set: out = rmsnorm(in) * norm_w) or SwiGLU (out = silu(out) * in). */
struct pre_op {
	float *out;
	const float *in;
	const float *norm_w;
	float eps;
};

struct quant_job {
	uint32_t type, n;
	const float *x;
	size_t x_stride;
	uint8_t *xq;
	size_t xq_stride;
	uint8_t *xp; /* non-NULL: also prepare Q8_0 rows for the gemm kernels */
	/* the elementwise op that makes the input row, run here in parallel
	 * over the tokens (the same per-row code as on one thread) */
	const struct pre_op *pre;
};

static void quant_rows(void *arg, size_t begin, size_t end, unsigned tid)
{
	const struct quant_job *j = arg;
	(void)tid;
	for (size_t t = begin; t < end; t++) {
		const struct pre_op *p = j->pre;
		if (p != NULL && p->norm_w != NULL) /* out = rmsnorm(in) * w */
			rmsnorm(p->out + t * j->x_stride, p->in + t * j->x_stride, p->norm_w, j->n,
				p->eps);
		else if (p != NULL) { /* out = silu(out) * in (SwiGLU) */
			float *g = p->out + t * j->x_stride;
			const float *u = p->in + t * j->x_stride;
			for (size_t i = 0; i < j->n; i++)
				g[i] = (g[i] / (1.0f + expf(-g[i]))) * u[i];
		}
		/* types and widths were validated at load: cannot fail */
		enum atl_err rc = atl_quant_quantize(j->type, j->x + t * j->x_stride,
						     j->xq + t * j->xq_stride, j->n);
		(void)rc;
		if (j->xp != NULL)
			atl_q8p_prepare(j->xq + t * j->xq_stride, j->n / 32, j->xp + t * j->xq_stride);
	}
}

/* Packed matrices: work items are 16-row groups, numbered across the parts;
 * each group is multiplied with every token of the batch in one call. */
struct gemm_job {
	const struct atl_wmat *w[3];
	atl_gemm_fn fn[3];
	float *y[3];
	size_t y_stride[3];
	unsigned n_parts;
	const uint8_t *xp;
	size_t xp_stride;
	uint32_t n_tok;
};

static void gemm_groups(void *arg, size_t begin, size_t end, unsigned tid)
{
	const struct gemm_job *j = arg;
	(void)tid;
	size_t base = 0;
	for (unsigned pi = 0; pi < j->n_parts && base < end; pi++) {
		const struct atl_wmat *w = j->w[pi];
		const size_t groups = (w->rows + ATL_PACK_ROWS - 1) / ATL_PACK_ROWS;
		const size_t nb = w->cols / 32, gsize = nb * atl_pack_block_size(w->type);
		size_t lo = begin > base ? begin - base : 0, hi = end - base;
		if (hi > groups)
			hi = groups;
		for (size_t g = lo; g < hi; g++) {
			const size_t r0 = g * ATL_PACK_ROWS;
			const unsigned nr = (unsigned)(w->rows - r0 < ATL_PACK_ROWS ? w->rows - r0
										      : ATL_PACK_ROWS);
			j->fn[pi](nb, w->packed + g * gsize, j->xp, j->xp_stride, j->n_tok,
				  j->y[pi] + r0, j->y_stride[pi], nr);
		}
		base += groups;
	}
}

/* y_i[t][r] = dot(W_i[r], x[t]) for n (1..3) matrices with the same input
 * width and dot type; x: n_tok rows (stride x_stride), y_i: n_tok rows of
 * W_i->rows floats (stride y_stride_i). */
static void matmul_n(struct atl_model_ctx *c, unsigned n, const struct atl_wmat *const *w,
		     float *const *y, const size_t *y_stride, const float *x, size_t x_stride,
		     uint32_t n_tok, const struct pre_op *pre)
{
	const struct atl_kernels *k = atl_kernels_get();
	bool packed = true;
	for (unsigned i = 0; i < n; i++)
		packed = packed && w[i]->packed != NULL && k->gemm[w[i]->type] != NULL;
	struct quant_job qj = {w[0]->dot_type, w[0]->cols, x, x_stride, c->xq, c->xq_stride,
			       packed ? c->xp : NULL, pre};
	if (n_tok == 1) /* one row: not worth waking the pool */
		quant_rows(&qj, 0, 1, 0);
	else
		atl_pool_run(c->pool, n_tok, 1, quant_rows, &qj);
	if (packed) {
		struct gemm_job gj = {.n_parts = n, .xp = c->xp, .xp_stride = c->xq_stride,
				      .n_tok = n_tok};
		size_t groups = 0;
		for (unsigned i = 0; i < n; i++) {
			gj.w[i] = w[i];
			gj.fn[i] = k->gemm[w[i]->type];
			gj.y[i] = y[i];
			gj.y_stride[i] = y_stride[i];
			groups += (w[i]->rows + ATL_PACK_ROWS - 1) / ATL_PACK_ROWS;
		}
		size_t gchunk = groups / (atl_pool_size(c->pool) * 8);
		atl_pool_run(c->pool, groups, gchunk ? gchunk : 1, gemm_groups, &gj);
		return;
	}
	struct mm_job j = {.n_parts = n, .xq = c->xq, .xq_stride = c->xq_stride, .n_tok = n_tok};
	size_t rows = 0;
	for (unsigned i = 0; i < n; i++) {
		j.part[i] = (struct mm_part){w[i], k->dot[w[i]->type], k->dot4[w[i]->type], y[i],
					     y_stride[i]};
		rows += w[i]->rows;
	}
	size_t nt = atl_pool_size(c->pool);
	size_t chunk = rows / (nt * 8);
	if (chunk < 4)
		chunk = 4;
	atl_pool_run(c->pool, rows, chunk, mm_rows, &j);
}

static void matmul(struct atl_model_ctx *c, const struct atl_wmat *w, const float *x,
		   size_t x_stride, uint32_t n_tok, float *y, size_t y_stride)
{
	matmul_n(c, 1, &w, &y, &y_stride, x, x_stride, n_tok, NULL);
}

/* q/k/v (or gate/up) of x = rmsnorm(res) * norm_w: one job when the
 * matrices share a dot type, the norm computed in the quantisation job. */
static void matmul_shared(struct atl_model_ctx *c, unsigned n, const struct atl_wmat *const *w,
			  float *const *y, const size_t *y_stride, float *x, size_t x_stride,
			  uint32_t n_tok, const float *res, const float *norm_w, float eps)
{
	const struct pre_op pre = {x, res, norm_w, eps};
	bool same = true;
	for (unsigned i = 1; i < n; i++)
		same = same && w[i]->dot_type == w[0]->dot_type;
	if (same) {
		matmul_n(c, n, w, y, y_stride, x, x_stride, n_tok, &pre);
		return;
	}
	for (uint32_t t = 0; t < n_tok; t++)
		rmsnorm(x + t * x_stride, res + t * x_stride, norm_w, x_stride, eps);
	for (unsigned i = 0; i < n; i++)
		matmul(c, w[i], x, x_stride, n_tok, y[i], y_stride[i]);
}

/* ---- elementwise ops, as GGML computes them ---- */

/* ggml rope cache: theta_i = pos * base^(-2i/d) built by repeated
 * multiplication in float, divided by the optional frequency factor. */
static void rope_tables(struct atl_model_ctx *c, uint32_t pos0, uint32_t n_tok)
{
	const struct atl_model *m = c->m;
	const uint32_t half = m->hp.head_dim / 2;
	const float theta_scale = powf(m->hp.rope_freq_base, -2.0f / (float)m->hp.head_dim);
	for (uint32_t t = 0; t < n_tok; t++) {
		float theta = (float)(pos0 + t);
		for (uint32_t i = 0; i < half; i++) {
			float th = m->rope_freqs ? theta / m->rope_freqs[i] : theta;
			c->rope_cos[t * half + i] = cosf(th);
			c->rope_sin[t * half + i] = sinf(th);
			theta *= theta_scale;
		}
	}
}

static void rope(const struct atl_model_ctx *c, float *v, uint32_t n_heads, uint32_t t)
{
	const uint32_t hd = c->m->hp.head_dim, half = hd / 2;
	const float *cs = c->rope_cos + (size_t)t * half, *sn = c->rope_sin + (size_t)t * half;
	for (uint32_t h = 0; h < n_heads; h++) {
		float *x = v + (size_t)h * hd;
		for (uint32_t i = 0; i < half; i++) {
			/* llama: adjacent pairs; NEOX (qwen2): split halves */
			uint32_t i0 = c->m->hp.rope_neox ? i : 2 * i;
			uint32_t i1 = c->m->hp.rope_neox ? i + half : 2 * i + 1;
			const float x0 = x[i0], x1 = x[i1];
			x[i0] = x0 * cs[i] - x1 * sn[i];
			x[i1] = x0 * sn[i] + x1 * cs[i];
		}
	}
}

/* ---- attention over (token, head) pairs ---- */

/* Attention of at most this many multiply-adds (q.k and weights.v each)
 * runs on the calling thread: a pool job costs more, above all on a busy
 * machine. Results do not depend on it (each (token, head) is computed the
 * same way by whichever thread). */
#define ATT_INLINE_MACS (256u * 1024u)

struct att_job {
	struct atl_model_ctx *c;
	uint32_t layer, pos0, n_tok;
	atl_dot_fn dot_f32;
};

static void att_items(void *arg, size_t begin, size_t end, unsigned tid)
{
	const struct att_job *j = arg;
	struct atl_model_ctx *c = j->c;
	const struct atl_model_hparams *hp = &c->m->hp;
	const uint32_t hd = hp->head_dim, H = hp->n_head, group = hp->n_head / hp->n_head_kv;
	const size_t kvd = (size_t)hp->n_head_kv * hd, qd = (size_t)H * hd;
	const float scale = 1.0f / sqrtf((float)hd);
	const float *kc = c->k_cache + (size_t)j->layer * c->n_ctx * kvd;
	const float *vc = c->v_cache + (size_t)j->layer * c->n_ctx * kvd;
	float *s = c->scores + (size_t)tid * c->n_ctx;
	for (size_t it = begin; it < end; it++) {
		const uint32_t t = (uint32_t)(it / H), h = (uint32_t)(it % H), kh = h / group;
		const uint32_t n_att = j->pos0 + t + 1; /* causal: positions 0..pos */
		const float *q = c->q + t * qd + (size_t)h * hd;
		float mx = -INFINITY;
		for (uint32_t p = 0; p < n_att; p++) {
			s[p] = j->dot_f32(hd, kc + p * kvd + (size_t)kh * hd, q) * scale;
			if (s[p] > mx)
				mx = s[p];
		}
		double sum = 0.0;
		for (uint32_t p = 0; p < n_att; p++) {
			s[p] = expf(s[p] - mx);
			sum += (double)s[p];
		}
		const float inv = (float)(1.0 / sum);
		float *o = c->a + t * qd + (size_t)h * hd;
		memset(o, 0, hd * sizeof(float));
		for (uint32_t p = 0; p < n_att; p++) {
			const float w = s[p] * inv;
			const float *vv = vc + p * kvd + (size_t)kh * hd;
			for (uint32_t d = 0; d < hd; d++)
				o[d] += w * vv[d];
		}
	}
}

/* One forward pass of n_tok <= n_batch tokens at positions pos..; logits of
 * the rows selected go to out (all rows when all, else only the last). */
static void forward(struct atl_model_ctx *c, const int32_t *tokens, uint32_t n_tok, float *out,
		    bool all)
{
	const struct atl_model *m = c->m;
	const struct atl_model_hparams *hp = &m->hp;
	const size_t E = hp->n_embd, hd = hp->head_dim, F = hp->n_ff;
	const size_t qd = (size_t)hp->n_head * hd, kvd = (size_t)hp->n_head_kv * hd;
	const uint32_t pos0 = c->pos;

	for (uint32_t t = 0; t < n_tok; t++) {
		/* token ids checked by atl_model_eval, the type at load */
		enum atl_err rc = atl_quant_dequantize(
			m->tok_embd.type, m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_size,
			c->x + t * E, (size_t)E);
		(void)rc;
	}
	rope_tables(c, pos0, n_tok);

	for (uint32_t l = 0; l < hp->n_layer; l++) {
		const struct atl_layer *ly = &m->layers[l];
		{ /* h = rmsnorm(x) * attn_norm (in the quantisation job) */
			const struct atl_wmat *w[3] = {&ly->wq, &ly->wk, &ly->wv};
			float *const y[3] = {c->q, c->k, c->v};
			const size_t ys[3] = {qd, kvd, kvd};
			matmul_shared(c, 3, w, y, ys, c->h, E, n_tok, c->x, ly->attn_norm,
				      hp->rms_eps);
		}
		float *kc = c->k_cache + ((size_t)l * c->n_ctx + pos0) * kvd;
		float *vc = c->v_cache + ((size_t)l * c->n_ctx + pos0) * kvd;
		for (uint32_t t = 0; t < n_tok; t++) {
			float *q = c->q + t * qd, *k = c->k + t * kvd, *v = c->v + t * kvd;
			if (ly->bq != NULL) {
				for (size_t i = 0; i < qd; i++)
					q[i] += ly->bq[i];
				for (size_t i = 0; i < kvd; i++) {
					k[i] += ly->bk[i];
					v[i] += ly->bv[i];
				}
			}
			rope(c, q, hp->n_head, t);
			rope(c, k, hp->n_head_kv, t);
			memcpy(kc + t * kvd, k, kvd * sizeof(float));
			memcpy(vc + t * kvd, v, kvd * sizeof(float));
		}
		struct att_job aj = {c, l, pos0, n_tok, atl_kernels_get()->dot[ATL_GGML_TYPE_F32]};
		/* one token over a short cache: less work than waking the pool */
		if ((size_t)n_tok * hp->n_head * (pos0 + n_tok) * hd <= ATT_INLINE_MACS)
			att_items(&aj, 0, (size_t)n_tok * hp->n_head, 0);
		else
			atl_pool_run(c->pool, (size_t)n_tok * hp->n_head, 1, att_items, &aj);
		matmul(c, &ly->wo, c->a, qd, n_tok, c->h, E);
		for (size_t i = 0; i < (size_t)n_tok * E; i++)
			c->x[i] += c->h[i];

		{ /* h = rmsnorm(x) * ffn_norm (in the quantisation job) */
			const struct atl_wmat *w[2] = {&ly->gate, &ly->up};
			float *const y[2] = {c->ff_g, c->ff_u};
			const size_t ys[2] = {F, F};
			matmul_shared(c, 2, w, y, ys, c->h, E, n_tok, c->x, ly->ffn_norm,
				      hp->rms_eps);
		}
		/* down (silu(gate) * up): the SwiGLU runs in the quantisation job */
		{
			const struct atl_wmat *w = &ly->down;
			float *y = c->h;
			const size_t ys = E;
			const struct pre_op pre = {c->ff_g, c->ff_u, NULL, 0.0f};
			matmul_n(c, 1, &w, &y, &ys, c->ff_g, F, n_tok, &pre);
		}
		for (size_t i = 0; i < (size_t)n_tok * E; i++)
			c->x[i] += c->h[i];
	}
	c->pos += n_tok;
	if (out == NULL)
		return;
	const uint32_t first = all ? 0 : n_tok - 1;
	for (uint32_t t = first; t < n_tok; t++)
		rmsnorm(c->h + t * E, c->x + t * E, m->output_norm, E, hp->rms_eps);
	matmul(c, &m->output, c->h + first * E, E, n_tok - first, out, hp->n_vocab);
}

enum atl_err atl_model_eval(struct atl_model_ctx *c, const int32_t *tokens, size_t n,
			    float *logits_out, bool all_logits)
{
	const struct atl_model_hparams *hp = &c->m->hp;
	if (n == 0 || tokens == NULL)
		return ATL_E_ARG;
	if (n > (size_t)(c->n_ctx - c->pos))
		return ATL_E_LIMIT;
	for (size_t i = 0; i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= hp->n_vocab)
			return ATL_E_ARG;
	for (size_t done = 0; done < n;) {
		uint32_t nb = (uint32_t)(n - done < c->n_batch ? n - done : c->n_batch);
		bool last = done + nb == n;
		float *out = NULL;
		if (logits_out != NULL && all_logits)
			out = logits_out + done * hp->n_vocab;
		else if (logits_out != NULL && last)
			out = logits_out;
		forward(c, tokens + done, nb, out, all_logits);
		done += nb;
	}
	return ATL_OK;
}
