/* Tokenizer: loading from GGUF metadata, special-token partitioning, the
 * encode driver and decoding (include/atoll/tokenizer.h). The merge loops
 * live in tokenizer_spm.c and tokenizer_bpe.c.
 *
 * Behaviour follows llama.cpp's llama-vocab.cpp (load, tokenize,
 * tokenizer_st_partition, token_to_piece), which the test vectors come from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/gguf.h"
#include "atoll/log.h"
#include "atoll/tokenizer.h"
#include "infer/gguf_int.h"
#include "infer/tokenizer_int.h"

#define fail atl_gguf_fail_

uint64_t atl_tok_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

void atl_tok_ids_push(struct atl_tok_ids *o, int32_t id)
{
	if (o->err != ATL_OK)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		int32_t *v;

		if (o->n >= o->max) {
			o->err = ATL_E_LIMIT;
			return;
		}
		if (cap > o->max)
			cap = o->max;
		v = realloc(o->v, cap * sizeof(*v));
		if (v == NULL) {
			o->err = ATL_E_NOMEM;
			return;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = id;
}

/* ---- heap ---- */

static bool better(const struct atl_tok_bigram *a, const struct atl_tok_bigram *b)
{
	return a->key < b->key || (a->key == b->key && a->left < b->left);
}

enum atl_err atl_tok_heap_push(struct atl_tok_heap *h, const struct atl_tok_bigram *b)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct atl_tok_bigram *v = realloc(h->v, cap * sizeof(*v));

		if (v == NULL)
			return ATL_E_NOMEM;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!better(b, &h->v[parent]))
			break;
		h->v[i] = h->v[parent];
		i = parent;
	}
	h->v[i] = *b;
	return ATL_OK;
}

bool atl_tok_heap_pop(struct atl_tok_heap *h, struct atl_tok_bigram *b_out)
{
	struct atl_tok_bigram last;
	size_t i = 0;

	if (h->n == 0)
		return false;
	*b_out = h->v[0];
	last = h->v[--h->n];
	while (1) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && better(&h->v[c + 1], &h->v[c]))
			c++;
		if (!better(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n > 0)
		h->v[i] = last;
	return true;
}

/* ---- vocabulary lookups ---- */

int32_t atl_tok_find(const struct atl_tok *tok, const char *text, size_t len)
{
	size_t h = (size_t)atl_tok_hash(text, len) & tok->mask;

	while (tok->slot[h] != 0) {
		uint32_t id = tok->slot[h] - 1;

		if (tok->t_len[id] == len && memcmp(tok->arena + tok->t_off[id], text, len) == 0)
			return (int32_t)id;
		h = (h + 1) & tok->mask;
	}
	return -1;
}

size_t atl_tok_n_vocab(const struct atl_tok *tok) { return tok->n_vocab; }
enum atl_tok_model atl_tok_model(const struct atl_tok *tok) { return tok->model; }
enum atl_tok_pre atl_tok_pre(const struct atl_tok *tok) { return tok->pre; }
int32_t atl_tok_bos(const struct atl_tok *tok) { return tok->bos; }
int32_t atl_tok_eos(const struct atl_tok *tok) { return tok->eos; }
int32_t atl_tok_eot(const struct atl_tok *tok) { return tok->eot; }
int32_t atl_tok_unk(const struct atl_tok *tok) { return tok->unk; }
int32_t atl_tok_pad(const struct atl_tok *tok) { return tok->pad; }
bool atl_tok_add_bos(const struct atl_tok *tok) { return tok->add_bos; }
bool atl_tok_add_eos(const struct atl_tok *tok) { return tok->add_eos; }

static bool id_ok(const struct atl_tok *tok, int32_t id)
{
	return id >= 0 && (size_t)id < tok->n_vocab;
}

bool atl_tok_is_eog(const struct atl_tok *tok, int32_t id)
{
	for (size_t i = 0; i < tok->n_eog; i++)
		if (tok->eog[i] == id)
			return true;
	return false;
}

const char *atl_tok_text(const struct atl_tok *tok, int32_t id, size_t *len_out)
{
	if (!id_ok(tok, id)) {
		*len_out = 0;
		return NULL;
	}
	*len_out = tok->t_len[id];
	return tok->arena + tok->t_off[id];
}

enum atl_tok_kind atl_tok_kind(const struct atl_tok *tok, int32_t id)
{
	return id_ok(tok, id) ? (enum atl_tok_kind)tok->kind[id] : ATL_TOK_KIND_UNDEFINED;
}

float atl_tok_score(const struct atl_tok *tok, int32_t id)
{
	return id_ok(tok, id) ? tok->score[id] : 0.0f;
}

/* ---- load ---- */

void atl_tok_free(struct atl_tok *tok)
{
	if (tok == NULL)
		return;
	free(tok->arena);
	free(tok->t_off);
	free(tok->t_len);
	free(tok->score);
	free(tok->kind);
	free(tok->slot);
	free(tok->merge_arena);
	free(tok->merges);
	free(tok->mslot);
	free(tok->special);
	free(tok->eog);
	free(tok);
}

static bool gstr_is(struct atl_gguf_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* An optional token id key: absent keeps *id; present must be < n_vocab. */
static enum atl_err get_id(const struct atl_gguf *g, const char *key, size_t n_vocab, int32_t *id)
{
	uint32_t v;
	enum atl_err rc = atl_gguf_get_u32(g, key, &v);

	if (rc == ATL_E_NOTFOUND)
		return ATL_OK;
	if (rc != ATL_OK)
		return fail(rc, "tokenizer: %s is not a token id", key);
	if (v >= n_vocab)
		return fail(ATL_E_FORMAT, "tokenizer: %s = %u is outside the vocabulary", key, v);
	*id = (int32_t)v;
	return ATL_OK;
}

static enum atl_err get_flag(const struct atl_gguf *g, const char *key, bool *v)
{
	bool b;
	enum atl_err rc = atl_gguf_get_bool(g, key, &b); /* zeroes b when absent */

	if (rc == ATL_E_NOTFOUND)
		return ATL_OK;
	if (rc != ATL_OK)
		return fail(rc, "tokenizer: %s is not a bool", key);
	*v = b;
	return ATL_OK;
}

static size_t table_cap(size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	return cap;
}

static enum atl_err load_tokens(struct atl_tok *tok, const struct atl_gguf *g)
{
	struct atl_gguf_arr toks, scores, types;
	enum atl_err rc;
	size_t total = 0, cap;
	bool have_scores, have_types;

	rc = atl_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks);
	if (rc == ATL_E_NOTFOUND)
		return fail(rc, "tokenizer: no tokenizer.ggml.tokens");
	if (rc != ATL_OK || toks.elem_type != ATL_GGUF_TYPE_STRING)
		return fail(ATL_E_FORMAT, "tokenizer: tokenizer.ggml.tokens is not a string array");
	if (toks.n == 0 || toks.n > ATL_TOK_VOCAB_MAX)
		return fail(ATL_E_LIMIT, "tokenizer: %zu tokens (1..%u)", toks.n, ATL_TOK_VOCAB_MAX);
	tok->n_vocab = toks.n;
	rc = atl_gguf_get_arr(g, "tokenizer.ggml.scores", &scores);
	have_scores = rc == ATL_OK;
	if (rc != ATL_OK && rc != ATL_E_NOTFOUND)
		return fail(rc, "tokenizer: tokenizer.ggml.scores is not an array");
	if (have_scores && scores.n != toks.n)
		return fail(ATL_E_FORMAT, "tokenizer: %zu scores for %zu tokens", scores.n, toks.n);
	rc = atl_gguf_get_arr(g, "tokenizer.ggml.token_type", &types);
	have_types = rc == ATL_OK;
	if (rc != ATL_OK && rc != ATL_E_NOTFOUND)
		return fail(rc, "tokenizer: tokenizer.ggml.token_type is not an array");
	if (have_types && types.n != toks.n)
		return fail(ATL_E_FORMAT, "tokenizer: %zu token types for %zu tokens", types.n,
			    toks.n);

	for (size_t i = 0; i < toks.n; i++) {
		struct atl_gguf_str s;

		if (atl_gguf_arr_str(&toks, i, &s) != ATL_OK)
			return fail(ATL_E_INTERNAL, "tokenizer: token %zu", i);
		if (s.len > ATL_TOK_PIECE_MAX)
			return fail(ATL_E_LIMIT, "tokenizer: token %zu is %zu bytes (max %u)", i,
				    s.len, ATL_TOK_PIECE_MAX);
		total += s.len; /* <= 2^20 * 1024: no overflow */
	}
	if (total > UINT32_MAX)
		return fail(ATL_E_LIMIT, "tokenizer: token texts too large");
	tok->arena = malloc(total ? total : 1);
	tok->t_off = malloc(toks.n * sizeof(*tok->t_off));
	tok->t_len = malloc(toks.n * sizeof(*tok->t_len));
	tok->score = calloc(toks.n, sizeof(*tok->score));
	tok->kind = malloc(toks.n);
	cap = table_cap(toks.n);
	tok->slot = calloc(cap, sizeof(*tok->slot));
	tok->mask = cap - 1;
	if (tok->arena == NULL || tok->t_off == NULL || tok->t_len == NULL || tok->score == NULL ||
	    tok->kind == NULL || tok->slot == NULL)
		return fail(ATL_E_NOMEM, "tokenizer: out of memory");
	total = 0;
	for (size_t i = 0; i < toks.n; i++) {
		struct atl_gguf_str s;
		int32_t kind = ATL_TOK_KIND_NORMAL;
		size_t h;

		(void)!atl_gguf_arr_str(&toks, i, &s); /* checked above */
		memcpy(tok->arena + total, s.p, s.len);
		tok->t_off[i] = (uint32_t)total;
		tok->t_len[i] = (uint32_t)s.len;
		total += s.len;
		if (have_scores && atl_gguf_arr_f32(&scores, i, &tok->score[i]) != ATL_OK)
			return fail(ATL_E_FORMAT, "tokenizer: tokenizer.ggml.scores is not f32");
		if (have_types && atl_gguf_arr_i32(&types, i, &kind) != ATL_OK)
			return fail(ATL_E_FORMAT, "tokenizer: tokenizer.ggml.token_type is not i32");
		if (kind < 0 || kind > ATL_TOK_KIND_BYTE)
			kind = ATL_TOK_KIND_UNDEFINED; /* llama.cpp: unknown types are undefined */
		tok->kind[i] = (uint8_t)kind;
		if (s.len == 0)
			continue; /* an empty token can never match text */
		/* text -> id; a repeated text maps to its last id (llama.cpp) */
		h = (size_t)atl_tok_hash(s.p, s.len) & tok->mask;
		while (tok->slot[h] != 0) {
			uint32_t o = tok->slot[h] - 1;

			if (tok->t_len[o] == s.len && memcmp(tok->arena + tok->t_off[o], s.p, s.len) == 0)
				break;
			h = (h + 1) & tok->mask;
		}
		tok->slot[h] = (uint32_t)i + 1;
	}
	return ATL_OK;
}

static uint64_t merge_hash(const char *l, size_t ll, const char *r, size_t rl)
{
	return atl_tok_hash(l, ll) * 31u ^ atl_tok_hash(r, rl);
}

static enum atl_err load_merges(struct atl_tok *tok, const struct atl_gguf *g)
{
	struct atl_gguf_arr m;
	enum atl_err rc;
	size_t total = 0, cap;

	rc = atl_gguf_get_arr(g, "tokenizer.ggml.merges", &m);
	if (rc == ATL_E_NOTFOUND)
		return fail(ATL_E_FORMAT, "tokenizer: a gpt2 tokenizer needs tokenizer.ggml.merges");
	if (rc != ATL_OK || m.elem_type != ATL_GGUF_TYPE_STRING)
		return fail(ATL_E_FORMAT, "tokenizer: tokenizer.ggml.merges is not a string array");
	for (size_t i = 0; i < m.n; i++) {
		struct atl_gguf_str s;

		(void)!atl_gguf_arr_str(&m, i, &s);
		if (s.len > 2 * ATL_TOK_PIECE_MAX + 1)
			return fail(ATL_E_LIMIT, "tokenizer: merge %zu is %zu bytes", i, s.len);
		total += s.len;
	}
	if (total > UINT32_MAX)
		return fail(ATL_E_LIMIT, "tokenizer: merges too large");
	tok->merge_arena = malloc(total ? total : 1);
	tok->merges = malloc((m.n ? m.n : 1) * sizeof(*tok->merges));
	cap = table_cap(m.n);
	tok->mslot = calloc(cap, sizeof(*tok->mslot));
	tok->mmask = cap - 1;
	if (tok->merge_arena == NULL || tok->merges == NULL || tok->mslot == NULL)
		return fail(ATL_E_NOMEM, "tokenizer: out of memory");
	tok->n_merges = m.n;
	total = 0;
	for (size_t i = 0; i < m.n; i++) {
		struct atl_gguf_str s;
		struct atl_tok_merge *e = &tok->merges[i];
		const char *sp;
		size_t h;

		(void)!atl_gguf_arr_str(&m, i, &s);
		memcpy(tok->merge_arena + total, s.p, s.len);
		/* "left right", split at the first space after the first byte
		 * (llama.cpp: word.find(' ', 1)); without one the merge is dead */
		sp = s.len > 1 ? memchr(s.p + 1, ' ', s.len - 1) : NULL;
		if (sp == NULL) {
			memset(e, 0, sizeof(*e));
			total += s.len;
			continue;
		}
		e->l_off = (uint32_t)total;
		e->l_len = (uint32_t)(sp - s.p);
		e->r_off = (uint32_t)(total + e->l_len + 1);
		e->r_len = (uint32_t)(s.len - e->l_len - 1);
		total += s.len;
		h = (size_t)merge_hash(tok->merge_arena + e->l_off, e->l_len,
				       tok->merge_arena + e->r_off, e->r_len) & tok->mmask;
		while (tok->mslot[h] != 0) {
			const struct atl_tok_merge *o = &tok->merges[tok->mslot[h] - 1];

			if (o->l_len == e->l_len && o->r_len == e->r_len &&
			    memcmp(tok->merge_arena + o->l_off, tok->merge_arena + e->l_off, e->l_len) == 0 &&
			    memcmp(tok->merge_arena + o->r_off, tok->merge_arena + e->r_off, e->r_len) == 0)
				break;
			h = (h + 1) & tok->mmask;
		}
		if (tok->mslot[h] == 0) /* the first rank of a pair wins (emplace) */
			tok->mslot[h] = (uint32_t)i + 1;
	}
	return ATL_OK;
}

long atl_tok_merge_rank(const struct atl_tok *tok, const char *l, size_t ll, const char *r, size_t rl)
{
	size_t h;

	if (tok->mslot == NULL)
		return -1;
	h = (size_t)merge_hash(l, ll, r, rl) & tok->mmask;
	while (tok->mslot[h] != 0) {
		const struct atl_tok_merge *o = &tok->merges[tok->mslot[h] - 1];

		if (o->l_len == ll && o->r_len == rl && memcmp(tok->merge_arena + o->l_off, l, ll) == 0 &&
		    memcmp(tok->merge_arena + o->r_off, r, rl) == 0)
			return (long)(tok->mslot[h] - 1);
		h = (h + 1) & tok->mmask;
	}
	return -1;
}

static int cmp_special(const void *a, const void *b, void *arg)
{
	const struct atl_tok *tok = arg;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	if (tok->t_len[x] != tok->t_len[y])
		return tok->t_len[x] > tok->t_len[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static enum atl_err load_specials(struct atl_tok *tok)
{
	/* llama.cpp's end-of-turn / end-of-generation names */
	static const char *const eot_names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>",
						"<end_of_turn>", "<|endoftext|>"};
	static const char *const eog_names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>",
						"<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
						"<EOT>", "<|end_of_text|>"};
	size_t n = 0;

	for (size_t i = 0; i < tok->n_vocab; i++) {
		uint8_t k = tok->kind[i];

		if ((k == ATL_TOK_KIND_CONTROL || k == ATL_TOK_KIND_USER_DEFINED ||
		     k == ATL_TOK_KIND_UNKNOWN) && tok->t_len[i] > 0)
			n++;
	}
	tok->special = malloc((n ? n : 1) * sizeof(*tok->special));
	tok->eog = malloc((2 + sizeof(eog_names) / sizeof(eog_names[0])) * sizeof(*tok->eog));
	if (tok->special == NULL || tok->eog == NULL)
		return fail(ATL_E_NOMEM, "tokenizer: out of memory");
	for (size_t i = 0; i < tok->n_vocab; i++) {
		uint8_t k = tok->kind[i];

		if ((k == ATL_TOK_KIND_CONTROL || k == ATL_TOK_KIND_USER_DEFINED ||
		     k == ATL_TOK_KIND_UNKNOWN) && tok->t_len[i] > 0)
			tok->special[tok->n_special++] = (int32_t)i;
	}
	qsort_r(tok->special, tok->n_special, sizeof(*tok->special), cmp_special, tok);

	for (size_t i = 0; tok->eot < 0 && i < sizeof(eot_names) / sizeof(eot_names[0]); i++)
		tok->eot = atl_tok_find(tok, eot_names[i], strlen(eot_names[i]));
	if (tok->eos >= 0)
		tok->eog[tok->n_eog++] = tok->eos;
	if (tok->eot >= 0 && tok->eot != tok->eos)
		tok->eog[tok->n_eog++] = tok->eot;
	for (size_t i = 0; i < sizeof(eog_names) / sizeof(eog_names[0]); i++) {
		int32_t id = atl_tok_find(tok, eog_names[i], strlen(eog_names[i]));

		if (id >= 0 && !atl_tok_is_eog(tok, id))
			tok->eog[tok->n_eog++] = id;
	}
	return ATL_OK;
}

enum atl_err atl_tok_load(const struct atl_gguf *g, struct atl_tok **tok_out)
{
	struct atl_tok *tok = NULL;
	struct atl_gguf_str model, pre = {NULL, 0};
	enum atl_err rc = ATL_E_INTERNAL;
	char eb[80];

	*tok_out = NULL;
	rc = atl_gguf_get_str(g, "tokenizer.ggml.model", &model);
	if (rc == ATL_E_NOTFOUND)
		return fail(rc, "tokenizer: no tokenizer.ggml.model");
	if (rc != ATL_OK)
		return fail(rc, "tokenizer: tokenizer.ggml.model is not a string");
	tok = calloc(1, sizeof(*tok));
	if (tok == NULL)
		return fail(ATL_E_NOMEM, "tokenizer: out of memory");
	tok->bos = tok->eos = tok->eot = tok->unk = tok->pad = -1;
	for (int b = 0; b < 256; b++)
		tok->byte_id[b] = -1;
	if (gstr_is(model, "llama")) {
		/* llama-vocab.cpp: SPM defaults */
		tok->model = ATL_TOK_MODEL_SPM;
		tok->pre = ATL_TOK_PRE_NONE;
		tok->bos = 1;
		tok->eos = 2;
		tok->unk = 0;
		tok->add_bos = true;
		tok->add_space_prefix = true;
	} else if (gstr_is(model, "gpt2")) {
		tok->model = ATL_TOK_MODEL_BPE;
		rc = atl_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
		if (rc != ATL_OK && rc != ATL_E_NOTFOUND) {
			rc = fail(rc, "tokenizer: tokenizer.ggml.pre is not a string");
			goto out;
		}
		if (gstr_is(pre, "gpt-2") || gstr_is(pre, "phi-2") || gstr_is(pre, "jina-es") ||
		    gstr_is(pre, "jina-de") || gstr_is(pre, "gigachat") || gstr_is(pre, "jina-v1-en") ||
		    gstr_is(pre, "jina-v2-es") || gstr_is(pre, "jina-v2-de") ||
		    gstr_is(pre, "jina-v2-code") || gstr_is(pre, "roberta-bpe")) {
			tok->pre = ATL_TOK_PRE_GPT2;
		} else if (gstr_is(pre, "llama3") || gstr_is(pre, "llama-v3") ||
			   gstr_is(pre, "llama-bpe") || gstr_is(pre, "falcon3")) {
			tok->pre = ATL_TOK_PRE_LLAMA3;
			tok->ignore_merges = true;
			tok->add_bos = true;
		} else if (gstr_is(pre, "qwen2") || gstr_is(pre, "deepseek-r1-qwen")) {
			tok->pre = ATL_TOK_PRE_QWEN2;
		} else {
			if (pre.p != NULL)
				atl_log_escape(pre.p, pre.len > 40 ? 40 : pre.len, eb, sizeof(eb));
			rc = fail(ATL_E_UNSUPPORTED, "tokenizer: unsupported pre-tokenizer '%s'",
				  pre.p != NULL ? eb : "(none)");
			goto out;
		}
	} else {
		atl_log_escape(model.p, model.len > 40 ? 40 : model.len, eb, sizeof(eb));
		rc = fail(ATL_E_UNSUPPORTED, "tokenizer: unsupported tokenizer model '%s'", eb);
		goto out;
	}
	ATL_TRY(load_tokens(tok, g));
	if (tok->model == ATL_TOK_MODEL_BPE)
		ATL_TRY(load_merges(tok, g));
	if (tok->model == ATL_TOK_MODEL_SPM) {
		for (int b = 0; b < 256; b++) {
			char name[8];

			snprintf(name, sizeof(name), "<0x%02X>", b);
			tok->byte_id[b] = atl_tok_find(tok, name, 6);
		}
		if ((size_t)tok->bos >= tok->n_vocab)
			tok->bos = -1;
		if ((size_t)tok->eos >= tok->n_vocab)
			tok->eos = -1;
		if ((size_t)tok->unk >= tok->n_vocab)
			tok->unk = -1;
	}
	ATL_TRY(get_id(g, "tokenizer.ggml.bos_token_id", tok->n_vocab, &tok->bos));
	ATL_TRY(get_id(g, "tokenizer.ggml.eos_token_id", tok->n_vocab, &tok->eos));
	ATL_TRY(get_id(g, "tokenizer.ggml.eot_token_id", tok->n_vocab, &tok->eot));
	ATL_TRY(get_id(g, "tokenizer.ggml.unknown_token_id", tok->n_vocab, &tok->unk));
	ATL_TRY(get_id(g, "tokenizer.ggml.padding_token_id", tok->n_vocab, &tok->pad));
	ATL_TRY(get_flag(g, "tokenizer.ggml.add_bos_token", &tok->add_bos));
	ATL_TRY(get_flag(g, "tokenizer.ggml.add_eos_token", &tok->add_eos));
	ATL_TRY(get_flag(g, "tokenizer.ggml.add_space_prefix", &tok->add_space_prefix));
	ATL_TRY(load_specials(tok));
	*tok_out = tok;
	tok = NULL;
	rc = ATL_OK;
out:
	atl_tok_free(tok);
	return rc;
}

/* ---- encode ---- */

struct frag {
	size_t off, len;
	int32_t id; /* >= 0: a special token; -1: raw text */
};

struct frags {
	struct frag *v;
	size_t n, cap;
};

static enum atl_err frags_push(struct frags *f, size_t off, size_t len, int32_t id)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct frag *v = realloc(f->v, cap * sizeof(*v));

		if (v == NULL)
			return ATL_E_NOMEM;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n].off = off;
	f->v[f->n].len = len;
	f->v[f->n].id = id;
	f->n++;
	return ATL_OK;
}

/* May the special token text found at [m, m + sl) become its id? Control
 * and unknown tokens need PARSE_SPECIAL and, when spans are given, must lie
 * inside one of them; user-defined tokens always may (llama.cpp). */
static bool special_ok(const struct atl_tok *tok, int32_t id, unsigned flags,
		       const struct atl_tok_span *spans, size_t n_spans, size_t m, size_t sl)
{
	if (tok->kind[id] == ATL_TOK_KIND_USER_DEFINED)
		return true;
	if (!(flags & ATL_TOK_PARSE_SPECIAL))
		return false;
	if (spans == NULL)
		return true;
	for (size_t i = 0; i < n_spans; i++)
		if (m >= spans[i].off && sl <= spans[i].len && m - spans[i].off <= spans[i].len - sl)
			return true;
	return false;
}

/* llama.cpp tokenizer_st_partition: special tokens, longest first, cut the
 * raw fragments at their leftmost non-overlapping occurrences. */
static enum atl_err partition(const struct atl_tok *tok, const char *text, size_t len,
			      unsigned flags, const struct atl_tok_span *spans, size_t n_spans,
			      struct frags *f)
{
	enum atl_err rc = ATL_OK;
	struct frags nf = {0};

	if (len > 0)
		rc = frags_push(f, 0, len, -1);
	for (size_t s = 0; rc == ATL_OK && s < tok->n_special; s++) {
		int32_t id = tok->special[s];
		const char *st = tok->arena + tok->t_off[id];
		size_t sl = tok->t_len[id];
		bool any = false;

		if (tok->kind[id] != ATL_TOK_KIND_USER_DEFINED && !(flags & ATL_TOK_PARSE_SPECIAL))
			continue;
		for (size_t i = 0; i < f->n && !any; i++)
			any = f->v[i].id < 0 && memmem(text + f->v[i].off, f->v[i].len, st, sl) != NULL;
		if (!any)
			continue;
		nf.n = 0;
		for (size_t i = 0; rc == ATL_OK && i < f->n; i++) {
			size_t off = f->v[i].off, end = off + f->v[i].len, cur = off;
			const char *m;

			if (f->v[i].id >= 0) {
				rc = frags_push(&nf, off, f->v[i].len, f->v[i].id);
				continue;
			}
			while (rc == ATL_OK && cur < end &&
			       (m = memmem(text + cur, end - cur, st, sl)) != NULL) {
				size_t at = (size_t)(m - text);

				if (!special_ok(tok, id, flags, spans, n_spans, at, sl)) {
					cur = at + 1;
					continue;
				}
				if (at > off)
					rc = frags_push(&nf, off, at - off, -1);
				if (rc == ATL_OK)
					rc = frags_push(&nf, at, sl, id);
				off = cur = at + sl;
			}
			if (rc == ATL_OK && end > off)
				rc = frags_push(&nf, off, end - off, -1);
		}
		if (rc == ATL_OK) {
			struct frags t = *f;

			*f = nf;
			nf = t;
		}
	}
	free(nf.v);
	return rc;
}

/* SPM: optional leading space, then every ' ' as U+2581 (llama_escape_whitespace). */
static enum atl_err spm_raw(const struct atl_tok *tok, const char *text, size_t len, bool prefix,
			    struct atl_tok_ids *out)
{
	size_t n_sp = prefix ? 1 : 0, k = 0;
	uint8_t *buf;
	enum atl_err rc;

	for (size_t i = 0; i < len; i++)
		n_sp += text[i] == ' ';
	buf = malloc(len + 2 * n_sp + 1);
	if (buf == NULL)
		return ATL_E_NOMEM;
	if (prefix) {
		memcpy(buf, "\xe2\x96\x81", 3);
		k = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + k, "\xe2\x96\x81", 3);
			k += 3;
		} else {
			buf[k++] = (uint8_t)text[i];
		}
	}
	rc = atl_tok_spm_fragment(tok, buf, k, out);
	free(buf);
	return rc;
}

static enum atl_err encode(const struct atl_tok *tok, const char *text, size_t len, unsigned flags,
			   const struct atl_tok_span *spans, size_t n_spans, int32_t **ids_out,
			   size_t *n_out)
{
	struct frags f = {0};
	struct atl_tok_ids out = {0};
	enum atl_err rc = ATL_E_INTERNAL;
	bool add = (flags & ATL_TOK_ADD_SPECIAL) != 0, prev_special = true;

	*ids_out = NULL;
	*n_out = 0;
	if (text == NULL && len != 0)
		return ATL_E_ARG;
	if (len > ATL_TOK_TEXT_MAX)
		return ATL_E_LIMIT;
	out.max = 6 * len + 16; /* see docs: at most 3 ids per escaped byte */
	ATL_TRY(partition(tok, text, len, flags, spans, n_spans, &f));
	if (add && tok->add_bos && tok->bos >= 0)
		atl_tok_ids_push(&out, tok->bos);
	for (size_t i = 0; i < f.n && out.err == ATL_OK; i++) {
		const struct frag *fr = &f.v[i];

		if (fr->id >= 0) {
			atl_tok_ids_push(&out, fr->id);
			prev_special = true;
			continue;
		}
		if (tok->model == ATL_TOK_MODEL_SPM) {
			ATL_TRY(spm_raw(tok, text + fr->off, fr->len,
					tok->add_space_prefix && prev_special, &out));
			prev_special = false;
		} else {
			ATL_TRY(atl_tok_bpe_fragment(tok, (const uint8_t *)text + fr->off, fr->len,
						     &out));
		}
	}
	if (add && tok->add_eos && tok->eos >= 0)
		atl_tok_ids_push(&out, tok->eos);
	ATL_TRY(out.err);
	if (out.n == 0) {
		free(out.v);
		out.v = malloc(sizeof(int32_t)); /* a non-NULL empty result */
		if (out.v == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	*ids_out = out.v;
	*n_out = out.n;
	out.v = NULL;
	rc = ATL_OK;
out:
	free(out.v);
	free(f.v);
	return rc;
}

enum atl_err atl_tok_encode(const struct atl_tok *tok, const char *text, size_t len, unsigned flags,
			    int32_t **ids_out, size_t *n_out)
{
	return encode(tok, text, len, flags, NULL, 0, ids_out, n_out);
}

enum atl_err atl_tok_encode_spans(const struct atl_tok *tok, const char *text, size_t len,
				  unsigned flags, const struct atl_tok_span *trusted, size_t n_trusted,
				  int32_t **ids_out, size_t *n_out)
{
	static const struct atl_tok_span none[1] = {{0, 0}};

	*ids_out = NULL;
	*n_out = 0;
	if (trusted == NULL && n_trusted != 0)
		return ATL_E_ARG;
	for (size_t i = 0; i < n_trusted; i++)
		if (trusted[i].off > len || trusted[i].len > len - trusted[i].off)
			return ATL_E_ARG;
	/* a non-NULL span list, even empty, confines special tokens */
	return encode(tok, text, len, flags | ATL_TOK_PARSE_SPECIAL,
		      trusted != NULL ? trusted : none, n_trusted, ids_out, n_out);
}
