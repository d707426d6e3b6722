/* Private to src/infer/tokenizer*.c. */
#ifndef ATOLL_INFER_TOKENIZER_INT_H
#define ATOLL_INFER_TOKENIZER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/tokenizer.h"

struct atl_tok_merge {
	uint32_t l_off, l_len, r_off, r_len; /* into merge_arena */
};

struct atl_tok {
	enum atl_tok_model model;
	enum atl_tok_pre pre;
	size_t n_vocab;
	char *arena;          /* token texts, back to back */
	uint32_t *t_off, *t_len;
	float *score;
	uint8_t *kind;        /* enum atl_tok_kind */
	uint32_t *slot;       /* text -> id + 1, open addressing */
	size_t mask;
	char *merge_arena;
	struct atl_tok_merge *merges;
	size_t n_merges;
	uint32_t *mslot;      /* (left, right) -> rank + 1 */
	size_t mmask;
	int32_t byte_id[256]; /* SPM <0xXX> tokens, -1 if absent */
	int32_t bos, eos, eot, unk, pad;
	bool add_bos, add_eos, add_space_prefix, ignore_merges;
	int32_t *special;     /* control/user-defined/unknown ids, longest text first */
	size_t n_special;
	int32_t *eog;         /* end-of-generation ids */
	size_t n_eog;
};

/* A growable id list with a hard cap. */
struct atl_tok_ids {
	int32_t *v;
	size_t n, cap, max;
	enum atl_err err;
};

void atl_tok_ids_push(struct atl_tok_ids *o, int32_t id);

/* Rank of the merge "l r" (its index in tokenizer.ggml.merges), or -1. */
long atl_tok_merge_rank(const struct atl_tok *tok, const char *l, size_t ll, const char *r,
			size_t rl);

/* Hash of bytes (FNV-1a). */
uint64_t atl_tok_hash(const void *p, size_t n);

/* SPM session over one text fragment (already space-escaped). */
ATL_NODISCARD enum atl_err atl_tok_spm_fragment(const struct atl_tok *tok, const uint8_t *text,
						size_t len, struct atl_tok_ids *out);
/* BPE session over one text fragment (pre-tokenized here). */
ATL_NODISCARD enum atl_err atl_tok_bpe_fragment(const struct atl_tok *tok, const uint8_t *text,
						size_t len, struct atl_tok_ids *out);

/* Pre-tokenizer: splits cps[0..n) into words; calls emit(ctx, start, end)
 * for each, in order (code point indices). Exposed for tests. */
typedef enum atl_err (*atl_tok_word_fn)(void *ctx, size_t start, size_t end);
ATL_NODISCARD enum atl_err atl_tok_pretokenize(enum atl_tok_pre pre, const uint32_t *cps, size_t n,
					       atl_tok_word_fn emit, void *ctx);

/* Min-heap of candidate merges: smallest key first, ties by smallest left.
 * 16 bytes: SPM keys are negated f32 scores, BPE keys ranks < 2^24
 * (ATL_GGUF_ARRAY_MAX), exact in a float. */
struct atl_tok_bigram {
	float key;
	int32_t left, right;
	uint32_t size;
};

struct atl_tok_heap {
	struct atl_tok_bigram *v;
	size_t n, cap;
};

ATL_NODISCARD enum atl_err atl_tok_heap_push(struct atl_tok_heap *h, const struct atl_tok_bigram *b);
bool atl_tok_heap_pop(struct atl_tok_heap *h, struct atl_tok_bigram *b_out);

/* Symbols of a word being merged (a doubly linked list over text runs). */
struct atl_tok_sym {
	int32_t prev, next;
	uint32_t off, n; /* into the word's bytes (a fragment is < 4 GiB) */
};

#endif
