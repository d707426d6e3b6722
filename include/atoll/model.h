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
#include "atoll/sampler.h"
#include "atoll/tokenizer.h"

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
/* The model the context runs. */
const struct atl_model *atl_model_ctx_model(const struct atl_model_ctx *c);
/* Forgets the cache: the next eval starts at position 0. */
void atl_model_ctx_reset(struct atl_model_ctx *c);

/* Evaluates n tokens at the next n positions. logits_out receives n x n_vocab
 * floats (row-major) when all_logits, else only the last token's n_vocab;
 * it may be NULL to only fill the cache. ATL_E_ARG for n == 0 or a token id
 * outside the vocabulary, ATL_E_LIMIT if the cache would overflow (nothing
 * is evaluated then). */
ATL_NODISCARD enum atl_err atl_model_eval(struct atl_model_ctx *c, const int32_t *tokens, size_t n,
					  float *logits_out, bool all_logits);

/* ---- generation (generate.c) ---- */

/* Called with each generated token and the text it completes (only whole
 * UTF-8 characters; empty while a character is split, or without a
 * tokenizer). Return false to stop. A last call with id -1 may carry the
 * rest of an unfinished character (as U+FFFD). */
typedef bool (*atl_gen_fn)(void *arg, int32_t id, const char *text, size_t len);

struct atl_gen_stats {
	uint32_t n_prompt, n_gen;
	double prompt_s, gen_s; /* wall time of prompt processing / generation */
	bool stopped_eog;       /* an end-of-generation token came (not emitted) */
	bool ctx_full;          /* the cache filled up before n_predict */
};

/* Evaluates prompt[n_prompt] (one batch per ATL_MODEL_BATCH_MAX tokens, from
 * the context's current position) and then generates up to n_predict
 * tokens with smp, feeding each back through the cache. With a tokenizer,
 * generation stops at an end-of-generation token and fn gets text; without
 * one fn gets ids only. prompt_logits_out, if not NULL, receives
 * n_prompt x n_vocab floats: the logits of every prompt position. Every
 * prompt and generated token goes into the sampler's history. Errors of
 * atl_model_eval (ATL_E_LIMIT if the prompt does not fit); the callback
 * stopping is not an error. stats_out may be NULL. */
ATL_NODISCARD enum atl_err atl_model_generate(struct atl_model_ctx *c, const struct atl_tok *tok,
					      const int32_t *prompt, size_t n_prompt,
					      uint32_t n_predict, struct atl_sampler *smp,
					      float *prompt_logits_out, atl_gen_fn fn, void *arg,
					      struct atl_gen_stats *stats_out);

/* ---- random models for tests and benchmarks (model_gen.c) ---- */

struct atl_model_gen_params {
	enum atl_model_arch arch;
	uint32_t type;        /* 2-D weights: F32, F16, BF16, Q8_0 or Q4_0 */
	uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
	float std;            /* weights uniform with this standard deviation */
	uint64_t seed;
	/* Optional vocabulary: every tokenizer.* key of this file is copied and
	 * n_vocab becomes its token count. Without it a synthetic SentencePiece
	 * vocabulary (<unk>, <s>, </s>, 256 byte tokens, fillers) is written. */
	const struct atl_gguf *vocab;
};

/* Fills p with a named shape: "tiny" (n_embd 64, 2 layers, 4/2 heads, n_ff
 * 192, vocab 32000, the shape of the test vectors) or "1.1b" (TinyLlama:
 * 2048, 22 layers, 32/4 heads, n_ff 5632, vocab 32000). Arch llama, type
 * F32, seed 0. ATL_E_NOTFOUND for another name. */
ATL_NODISCARD enum atl_err atl_model_gen_shape(const char *name, struct atl_model_gen_params *p);
/* Writes a random-weight model (GGUF v3) to path. ATL_E_ARG for a shape that
 * atl_model_load would refuse or an unsupported type, ATL_E_NOMEM, ATL_E_IO. */
ATL_NODISCARD enum atl_err atl_model_gen_random(const struct atl_model_gen_params *p,
						const char *path);

#endif
