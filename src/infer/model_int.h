/* Private to src/infer: the loaded model (model.c) as the forward pass
 * (llama.c) sees it. Everything here was validated by atl_model_load. */
#ifndef ATOLL_INFER_MODEL_INT_H
#define ATOLL_INFER_MODEL_INT_H

#include "atoll/model.h"

/* A weight matrix W [rows = outputs][cols = inputs], rows stored one after
 * the other in GGML's block format (GGUF ne = [cols, rows]). */
struct atl_wmat {
	const uint8_t *data;
	uint32_t type;     /* atl_quant_can_matmul(type) */
	uint32_t dot_type; /* atl_quant_dot_type(type) */
	uint32_t rows, cols;
	size_t row_size;   /* bytes of one row */
	uint8_t *packed;   /* owned: row groups for the gemm kernel (kernels.h), or NULL */
};

struct atl_layer {
	const float *attn_norm;           /* [n_embd] */
	struct atl_wmat wq, wk, wv, wo;
	const float *bq, *bk, *bv;        /* NULL unless has_qkv_bias */
	const float *ffn_norm;            /* [n_embd] */
	struct atl_wmat gate, up, down;
};

struct atl_model {
	struct atl_model_hparams hp;
	const struct atl_gguf *g;
	struct atl_wmat tok_embd;   /* [n_vocab][n_embd] */
	struct atl_wmat output;     /* [n_vocab][n_embd]; = tok_embd when tied */
	const float *output_norm;   /* [n_embd] */
	const float *rope_freqs;    /* [head_dim/2] or NULL (Llama 3 factors) */
	struct atl_layer *layers;   /* [n_layer] */
	float *vec_arena;           /* owns every const float * above */
};

#endif
