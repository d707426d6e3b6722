/* Choosing the next token from logits (docs/internals/infer-engine.md).
 *
 * The chain, in llama.cpp's default order: repetition penalty over the last
 * repeat_last_n accepted tokens, then greedy (temp <= 0: argmax, lowest id
 * on ties), else top-k, top-p, min-p, temperature, and a draw from the
 * resulting distribution with a seeded xoshiro256** generator, so a run is
 * reproducible from its seed. A sampler is owned by one thread. */
#ifndef ATOLL_SAMPLER_H
#define ATOLL_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

struct atl_sampler_params {
	float temp;             /* <= 0: greedy */
	uint32_t top_k;         /* 0: off */
	float top_p;            /* 1: off; in (0, 1] */
	float min_p;            /* 0: off; in [0, 1) */
	float repeat_penalty;   /* 1: off; >= 1 */
	uint32_t repeat_last_n; /* history window, <= ATL_SAMPLER_HISTORY_MAX */
	uint64_t seed;
};

/* Greedy, every filter off, seed 0. */
void atl_sampler_params_default(struct atl_sampler_params *p);

struct atl_sampler;

/* ATL_E_ARG for a parameter out of range (NaN, top_p outside (0, 1], ...) or
 * n_vocab 0 / above ATL_MODEL_VOCAB_MAX; ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_sampler_new(const struct atl_sampler_params *p, uint32_t n_vocab,
					   struct atl_sampler **s_out);
void atl_sampler_free(struct atl_sampler *s);
/* The next token for logits[n_vocab] (not modified). Non-finite logits are
 * never chosen unless all are. */
int32_t atl_sampler_sample(struct atl_sampler *s, const float *logits);
/* Records a token in the repetition history (generation calls it for every
 * prompt and generated token). */
void atl_sampler_accept(struct atl_sampler *s, int32_t id);
/* Clears the history and reseeds the generator. */
void atl_sampler_reset(struct atl_sampler *s);

#endif
