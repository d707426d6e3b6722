/* Transformer models from GGUF files: llama and qwen2 (docs/internals/infer-engine.md).
 *
 * atl_model_load reads the hyper-parameters from the GGUF metadata, finds
 * every tensor the architecture needs and checks its shape and type before
 * any use (STYLE.md parse -> validate -> use); weights stay in the file
 * (mapped) and are read in place by the kernels of quant.h. A model is
 * read-only after load and may be shared by any number of contexts.
 *
 * A context (atl_model_ctx) holds the KV cache, scratch buffers and a worker
 * pool; atl_model_eval runs a batch of tokens through the model at the next
 * positions, in one forward pass per ATL_MODEL_BATCH_MAX tokens (causal
 * attention over the cache), and returns logits. The numbers follow
 * llama.cpp's CPU backend: RMSNorm with a double sum, RoPE angles computed
 * as GGML does, activations quantised to the weight's dot type
 * (Q8_0 / Q8_K / F16) before each matmul. */
#ifndef ATOLL_MODEL_H
#define ATOLL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/gguf.h"

enum atl_model_arch {
	ATL_MODEL_ARCH_LLAMA = 1, /* RoPE on adjacent pairs, separate or tied output */
	ATL_MODEL_ARCH_QWEN2 = 2, /* RoPE on split halves (NEOX), q/k/v biases */
};

struct atl_model_hparams {
	enum atl_model_arch arch;
	uint32_t n_vocab;      /* rows of token_embd */
	uint32_t n_ctx_train;  /* {arch}.context_length */
	uint32_t n_embd;
	uint32_t n_layer;
	uint32_t n_head;
	uint32_t n_head_kv;
	uint32_t head_dim;     /* n_embd / n_head */
	uint32_t n_ff;
	float rope_freq_base;
	float rms_eps;
	bool rope_neox;        /* rotate (x[i], x[i + d/2]) instead of (x[2i], x[2i+1]) */
	bool tied_output;      /* no output.weight: logits use token_embd */
	bool has_qkv_bias;
	uint32_t weight_type;  /* type of blk.0.ffn_down (for display) */
	uint64_t n_params;     /* elements of all tensors used */
	uint64_t weight_bytes; /* bytes of all tensors used */
};

struct atl_model;

/* Loads the model described by g, which is borrowed and must outlive the
 * model. ATL_E_UNSUPPORTED for another architecture or a tensor type this
 * engine cannot multiply, ATL_E_NOTFOUND for a missing key or tensor,
 * ATL_E_FORMAT for a wrong shape or inconsistent hyper-parameters,
 * ATL_E_LIMIT beyond the ATL_MODEL_* limits, ATL_E_NOMEM. On failure
 * *m_out is NULL and atl_model_errmsg() says why. */
ATL_NODISCARD enum atl_err atl_model_load(const struct atl_gguf *g, struct atl_model **m_out);
void atl_model_free(struct atl_model *m);
const struct atl_model_hparams *atl_model_hparams(const struct atl_model *m);
const char *atl_model_arch_name(enum atl_model_arch a);
/* Detail of the last failure of atl_model_* in this thread ("" if none). */
const char *atl_model_errmsg(void);

struct atl_model_ctx;

/* A context with room for n_ctx positions (1..ATL_MODEL_CTX_MAX; 0 means
 * min(n_ctx_train, 4096)) and n_threads threads (1..ATL_POOL_THREADS_MAX).
 * The model must outlive the context. ATL_E_ARG, ATL_E_LIMIT, ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_model_ctx_new(const struct atl_model *m, uint32_t n_ctx,
					     unsigned n_threads, struct atl_model_ctx **c_out);
void atl_model_ctx_free(struct atl_model_ctx *c);
/* Positions used (tokens evaluated since the last reset) and capacity. */
uint32_t atl_model_ctx_pos(const struct atl_model_ctx *c);
uint32_t atl_model_ctx_size(const struct atl_model_ctx *c);
/* Forgets the cache: the next eval starts at position 0. */
void atl_model_ctx_reset(struct atl_model_ctx *c);

/* Evaluates n tokens at the next n positions. logits_out receives n x n_vocab
 * floats (row-major) when all_logits, else only the last token's n_vocab;
 * it may be NULL to only fill the cache. ATL_E_ARG for n == 0 or a token id
 * outside the vocabulary, ATL_E_LIMIT if the cache would overflow (nothing
 * is evaluated then). */
ATL_NODISCARD enum atl_err atl_model_eval(struct atl_model_ctx *c, const int32_t *tokens, size_t n,
					  float *logits_out, bool all_logits);

#endif
