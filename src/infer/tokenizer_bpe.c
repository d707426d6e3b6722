/* Byte-level BPE (tokenizer.ggml.model = "gpt2"): pre-tokenizer, byte
 * mapping, then merges by rank. llama.cpp's llm_tokenizer_bpe_session and
 * unicode.cpp's unicode_regex_split_custom_gpt2 / _llama3.
 *
 * The pre-tokenizer regexes, implemented by hand (no regex engine):
 *   gpt-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   qwen2:  the llama3 one with \p{N} (one digit) instead of \p{N}{1,3}
 * (llama.cpp runs the qwen2 one through std::regex over text whose non-ASCII
 * code points are collapsed to their category; the classes are the same, so
 * the matcher below, with a digit run of 1, gives the same words). */
#include <stdlib.h>
#include <string.h>

#include "infer/tokenizer_int.h"
#include "infer/unicode.h"

/* ---- pre-tokenizers ---- */

struct cls {
	bool in;     /* inside the fragment (llama.cpp: flags.as_uint() != 0) */
	bool letter, number, space;
};

struct pt {
	const uint32_t *cps;
	size_t n;
};

static uint32_t cpt(const struct pt *p, size_t i)
{
	return i < p->n ? p->cps[i] : 0xffffffffu;
}

static struct cls cls_at(const struct pt *p, size_t i)
{
	struct cls c = {false, false, false, false};
	enum atl_ucls u;

	if (i >= p->n)
		return c;
	u = atl_ucls_of(p->cps[i]);
	c.in = true;
	c.letter = u == ATL_UCLS_LETTER;
	c.number = u == ATL_UCLS_NUMBER;
	c.space = atl_uc_is_space(p->cps[i]);
	return c;
}

static uint32_t lower_ascii(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's 't 'm 'd -> 2, 're 've 'll -> 3, else 0 (case-folded if icase). */
static size_t contraction(const struct pt *p, size_t pos, bool icase)
{
	uint32_t a, b;

	if (cpt(p, pos) != '\'' || pos + 1 >= p->n)
		return 0;
	a = icase ? lower_ascii(cpt(p, pos + 1)) : cpt(p, pos + 1);
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if (pos + 2 >= p->n)
		return 0;
	b = icase ? lower_ascii(cpt(p, pos + 2)) : cpt(p, pos + 2);
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

static enum atl_err split_gpt2(const struct pt *p, atl_tok_word_fn emit, void *ctx)
{
	size_t pos = 0;
	enum atl_err rc = ATL_OK;

	while (pos < p->n && rc == ATL_OK) {
		size_t start = pos, k = contraction(p, pos, false), nws = 0;
		uint32_t c = cpt(p, pos);
		struct cls f2;

		if (k > 0) {
			rc = emit(ctx, start, pos + k);
			pos += k;
			continue;
		}
		f2 = c == ' ' ? cls_at(p, pos + 1) : cls_at(p, pos);
		if (f2.letter || f2.number) { /* ' ?\p{L}+' and ' ?\p{N}+' */
			bool letter = f2.letter;

			pos += c == ' ';
			while (letter ? cls_at(p, pos).letter : cls_at(p, pos).number)
				pos++;
			rc = emit(ctx, start, pos);
			continue;
		}
		if (!(f2.space || f2.letter || f2.number) && f2.in) { /* ' ?[^\s\p{L}\p{N}]+' */
			pos += c == ' ';
			for (;;) {
				struct cls f = cls_at(p, pos);

				if (f.space || f.letter || f.number || !f.in)
					break;
				pos++;
			}
			rc = emit(ctx, start, pos);
			continue;
		}
		while (cls_at(p, pos + nws).space)
			nws++;
		if (nws > 1 && pos + nws < p->n) { /* '\s+(?!\S)' */
			pos += nws - 1;
			rc = emit(ctx, start, pos);
			continue;
		}
		if (nws > 0) { /* '\s+' */
			pos += nws;
			rc = emit(ctx, start, pos);
			continue;
		}
		rc = emit(ctx, start, ++pos);
	}
	return rc;
}

static enum atl_err split_llama3(const struct pt *p, size_t max_digits, atl_tok_word_fn emit,
				 void *ctx)
{
	size_t pos = 0;
	enum atl_err rc = ATL_OK;

	while (pos < p->n && rc == ATL_OK) {
		size_t start = pos, k = contraction(p, pos, true), nws = 0, last_rn = 0;
		uint32_t c = cpt(p, pos);
		struct cls f = cls_at(p, pos), f2;

		if (k > 0) { /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
			rc = emit(ctx, start, pos + k);
			pos += k;
			continue;
		}
		/* [^\r\n\p{L}\p{N}]?\p{L}+ */
		if (!(c == '\r' || c == '\n' || f.number) && (f.letter || cls_at(p, pos + 1).letter)) {
			pos++;
			while (cls_at(p, pos).letter)
				pos++;
			rc = emit(ctx, start, pos);
			continue;
		}
		if (f.number) { /* \p{N}{1,max_digits} */
			size_t ini = pos;

			while (rc == ATL_OK && cls_at(p, pos).number) {
				if (++pos - ini >= max_digits) {
					rc = emit(ctx, ini, pos);
					ini = pos;
				}
			}
			if (rc == ATL_OK && pos > ini)
				rc = emit(ctx, ini, pos);
			continue;
		}
		/* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
		f2 = c == ' ' ? cls_at(p, pos + 1) : f;
		if (!(f2.space || f2.letter || f2.number) && f.in) {
			pos += c == ' ';
			while (!(f2.space || f2.letter || f2.number) && f2.in)
				f2 = cls_at(p, ++pos);
			while (cpt(p, pos) == '\r' || cpt(p, pos) == '\n')
				pos++;
			rc = emit(ctx, start, pos);
			continue;
		}
		while (cls_at(p, pos + nws).space) {
			uint32_t c2 = cpt(p, pos + nws);

			if (c2 == '\r' || c2 == '\n')
				last_rn = pos + nws + 1;
			nws++;
		}
		if (last_rn > 0) { /* '\s*[\r\n]+' */
			pos = last_rn;
			rc = emit(ctx, start, pos);
			continue;
		}
		if (nws > 1 && pos + nws < p->n) { /* '\s+(?!\S)' */
			pos += nws - 1;
			rc = emit(ctx, start, pos);
			continue;
		}
		if (nws > 0) { /* '\s+' */
			pos += nws;
			rc = emit(ctx, start, pos);
			continue;
		}
		rc = emit(ctx, start, ++pos);
	}
	return rc;
}

enum atl_err atl_tok_pretokenize(enum atl_tok_pre pre, const uint32_t *cps, size_t n,
				 atl_tok_word_fn emit, void *ctx)
{
	struct pt p = {cps, n};

	switch (pre) {
	case ATL_TOK_PRE_GPT2:
		return split_gpt2(&p, emit, ctx);
	case ATL_TOK_PRE_LLAMA3:
		return split_llama3(&p, 3, emit, ctx);
	case ATL_TOK_PRE_QWEN2:
		return split_llama3(&p, 1, emit, ctx);
	default:
		return n > 0 ? emit(ctx, 0, n) : ATL_OK;
	}
}

/* ---- merges ---- */

struct bpe_ctx {
	const struct atl_tok *tok;
	const uint32_t *cps;
	struct atl_tok_ids *out;
	uint8_t *word;          /* byte-mapped word */
	size_t word_cap;
	struct atl_tok_sym *sym;
	size_t sym_cap;
	struct atl_tok_heap heap;
};

static enum atl_err add_bigram(struct bpe_ctx *c, int32_t l, int32_t r)
{
	struct atl_tok_bigram b;
	long rank;

	if (l < 0 || r < 0)
		return ATL_OK;
	rank = atl_tok_merge_rank(c->tok, (const char *)c->word + c->sym[l].off, c->sym[l].n,
				  (const char *)c->word + c->sym[r].off, c->sym[r].n);
	if (rank < 0)
		return ATL_OK;
	b.key = (float)rank; /* lowest rank first; exact below 2^24 */
	b.left = l;
	b.right = r;
	b.size = c->sym[l].n + c->sym[r].n;
	return atl_tok_heap_push(&c->heap, &b);
}

static enum atl_err grow(void **p, size_t *cap, size_t need, size_t elem)
{
	void *np;
	size_t nc;

	if (need <= *cap)
		return ATL_OK;
	nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * elem);
	if (np == NULL)
		return ATL_E_NOMEM;
	*p = np;
	*cap = nc;
	return ATL_OK;
}

/* One pre-tokenized word: code points [start, end) of the fragment. */
static enum atl_err bpe_word(void *ctx, size_t start, size_t end)
{
	struct bpe_ctx *c = ctx;
	const struct atl_tok *tok = c->tok;
	enum atl_err rc;
	struct atl_tok_bigram b;
	size_t len = 0, n = 0;
	int32_t id;

	/* each code point is at most 4 UTF-8 bytes, each byte at most 2 mapped */
	rc = grow((void **)&c->word, &c->word_cap, (end - start) * 8, 1);
	if (rc != ATL_OK)
		return rc;
	for (size_t i = start; i < end; i++) {
		uint8_t u[4];
		size_t k = atl_utf8_put(c->cps[i], u);

		for (size_t j = 0; j < k; j++)
			len += atl_utf8_put(atl_bpe_byte_to_cp(u[j]), c->word + len);
	}
	if (tok->ignore_merges && (id = atl_tok_find(tok, (const char *)c->word, len)) >= 0) {
		atl_tok_ids_push(c->out, id);
		return c->out->err;
	}
	rc = grow((void **)&c->sym, &c->sym_cap, len, sizeof(*c->sym));
	if (rc != ATL_OK)
		return rc;
	for (size_t off = 0; off < len; n++) {
		size_t cl = atl_utf8_len(c->word[off]);

		if (cl > len - off)
			cl = len - off;
		c->sym[n].off = (uint32_t)off;
		c->sym[n].n = (uint32_t)cl;
		c->sym[n].prev = (int32_t)n - 1;
		off += cl;
		c->sym[n].next = off == len ? -1 : (int32_t)n + 1;
	}
	c->heap.n = 0;
	for (size_t i = 1; i < n; i++) {
		rc = add_bigram(c, (int32_t)i - 1, (int32_t)i);
		if (rc != ATL_OK)
			return rc;
	}
	while (atl_tok_heap_pop(&c->heap, &b)) {
		struct atl_tok_sym *l = &c->sym[b.left], *r = &c->sym[b.right];

		/* outdated: a side was merged since (r still follows l while both live) */
		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			c->sym[r->next].prev = b.left;
		rc = add_bigram(c, l->prev, b.left);
		if (rc == ATL_OK)
			rc = add_bigram(c, b.left, l->next);
		if (rc != ATL_OK)
			return rc;
	}
	for (int32_t i = n > 0 ? 0 : -1; i != -1; i = c->sym[i].next) {
		const char *s = (const char *)c->word + c->sym[i].off;

		id = atl_tok_find(tok, s, c->sym[i].n);
		if (id >= 0) {
			atl_tok_ids_push(c->out, id);
			continue;
		}
		/* not a token: its single bytes, where those are tokens */
		for (size_t j = 0; j < c->sym[i].n; j++) {
			id = atl_tok_find(tok, s + j, 1);
			if (id >= 0)
				atl_tok_ids_push(c->out, id);
		}
	}
	return c->out->err;
}

enum atl_err atl_tok_bpe_fragment(const struct atl_tok *tok, const uint8_t *text, size_t len,
				  struct atl_tok_ids *out)
{
	struct bpe_ctx c = {0};
	uint32_t *cps;
	size_t n = 0;
	enum atl_err rc;

	if (len == 0)
		return ATL_OK;
	cps = malloc(len * sizeof(*cps));
	if (cps == NULL)
		return ATL_E_NOMEM;
	for (size_t pos = 0; pos < len;)
		cps[n++] = atl_utf8_next(text, len, &pos);
	c.tok = tok;
	c.cps = cps;
	c.out = out;
	rc = atl_tok_pretokenize(tok->pre, cps, n, bpe_word, &c);
	free(c.word);
	free(c.sym);
	free(c.heap.v);
	free(cps);
	return rc;
}
