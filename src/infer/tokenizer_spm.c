/* SentencePiece-style BPE (tokenizer.ggml.model = "llama"): llama.cpp's
 * llm_tokenizer_spm_session. Start from UTF-8 characters, repeatedly merge
 * the adjacent pair whose concatenation is the highest-scoring token
 * (leftmost on ties), then emit each symbol's id, or its bytes as <0xXX>
 * tokens when the symbol is not in the vocabulary (byte fallback). */
#include <stdlib.h>

#include "infer/tokenizer_int.h"
#include "infer/unicode.h"

/* Queues the merge of symbols l and r if their concatenation is a token. */
static enum atl_err try_bigram(const struct atl_tok *tok, const uint8_t *text,
			       const struct atl_tok_sym *sym, int32_t l, int32_t r,
			       struct atl_tok_heap *h)
{
	struct atl_tok_bigram b;
	int32_t id;

	if (l < 0 || r < 0)
		return ATL_OK;
	b.size = sym[l].n + sym[r].n; /* <= the fragment length */
	/* symbols of one fragment are adjacent: r's text follows l's */
	id = atl_tok_find(tok, (const char *)text + sym[l].off, b.size);
	if (id < 0)
		return ATL_OK;
	b.key = -tok->score[id]; /* highest score first */
	b.left = l;
	b.right = r;
	return atl_tok_heap_push(h, &b);
}

enum atl_err atl_tok_spm_fragment(const struct atl_tok *tok, const uint8_t *text, size_t len,
				  struct atl_tok_ids *out)
{
	struct atl_tok_sym *sym = NULL;
	struct atl_tok_heap h = {0};
	struct atl_tok_bigram b;
	enum atl_err rc = ATL_E_INTERNAL;
	size_t n = 0;

	if (len == 0)
		return ATL_OK;
	if (len > INT32_MAX)
		return ATL_E_LIMIT;
	sym = malloc(len * sizeof(*sym));
	if (sym == NULL)
		return ATL_E_NOMEM;
	for (size_t off = 0; off < len; n++) {
		size_t cl = atl_utf8_len(text[off]);

		if (cl > len - off)
			cl = len - off;
		sym[n].off = (uint32_t)off;
		sym[n].n = (uint32_t)cl;
		sym[n].prev = (int32_t)n - 1;
		off += cl;
		sym[n].next = off == len ? -1 : (int32_t)n + 1;
	}
	for (size_t i = 1; i < n; i++)
		ATL_TRY(try_bigram(tok, text, sym, (int32_t)i - 1, (int32_t)i, &h));
	while (atl_tok_heap_pop(&h, &b)) {
		struct atl_tok_sym *l = &sym[b.left], *r = &sym[b.right];

		/* stale: one side was merged since */
		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			sym[r->next].prev = b.left;
		ATL_TRY(try_bigram(tok, text, sym, l->prev, b.left, &h));
		ATL_TRY(try_bigram(tok, text, sym, b.left, l->next, &h));
	}
	/* merged symbols are tokens by construction; single characters may not
	 * be, and fall back to bytes (llama.cpp resegment) */
	for (int32_t i = 0; i != -1; i = sym[i].next) {
		int32_t id = atl_tok_find(tok, (const char *)text + sym[i].off, sym[i].n);

		if (id >= 0) {
			atl_tok_ids_push(out, id);
			continue;
		}
		for (size_t j = 0; j < sym[i].n; j++) {
			int32_t bid = tok->byte_id[text[sym[i].off + j]];

			atl_tok_ids_push(out, bid >= 0 ? bid : tok->unk >= 0 ? tok->unk : 0);
		}
	}
	rc = out->err;
out:
	free(h.v);
	free(sym);
	return rc;
}
