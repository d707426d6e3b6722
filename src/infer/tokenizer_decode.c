/* Tokenizer decoding (include/atoll/tokenizer.h): token pieces as llama.cpp's
 * llama_token_to_piece, whole-sequence decode, and the streaming decoder that
 * only lets complete, valid UTF-8 out. */
#include <stdlib.h>
#include <string.h>

#include "atoll/tokenizer.h"
#include "infer/tokenizer_int.h"
#include "infer/unicode.h"

static bool id_ok(const struct atl_tok *tok, int32_t id)
{
	return id >= 0 && (size_t)id < tok->n_vocab;
}

/* ---- decode ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The piece into buf (room for ATL_TOK_PIECE_MAX bytes); returns its length. */
static size_t piece(const struct atl_tok *tok, int32_t id, bool special, uint8_t *buf)
{
	const char *t = tok->arena + tok->t_off[id];
	size_t tl = tok->t_len[id], k = 0;
	uint8_t kind = tok->kind[id];

	if (kind == ATL_TOK_KIND_UNKNOWN || kind == ATL_TOK_KIND_CONTROL) {
		if (!special)
			return 0;
		memcpy(buf, t, tl);
		return tl;
	}
	if (kind == ATL_TOK_KIND_USER_DEFINED) {
		memcpy(buf, t, tl);
		return tl;
	}
	if (tok->model == ATL_TOK_MODEL_SPM) {
		if (kind == ATL_TOK_KIND_BYTE) {
			int hi = tl == 6 ? hexval(t[3]) : -1, lo = tl == 6 ? hexval(t[4]) : -1;

			if (hi < 0 || lo < 0)
				return 0;
			buf[0] = (uint8_t)(hi * 16 + lo);
			return 1;
		}
		if (kind != ATL_TOK_KIND_NORMAL)
			return 0;
		/* U+2581 -> ' ' (llama_unescape_whitespace): only shrinks */
		for (size_t i = 0; i < tl;) {
			if (tl - i >= 3 && memcmp(t + i, "\xe2\x96\x81", 3) == 0) {
				buf[k++] = ' ';
				i += 3;
			} else {
				buf[k++] = (uint8_t)t[i++];
			}
		}
		return k;
	}
	if (kind != ATL_TOK_KIND_NORMAL)
		return 0;
	/* byte-level BPE: each code point stands for one byte (llama_decode_text);
	 * one that stands for none is kept as is. Never longer than the text. */
	for (size_t i = 0; i < tl;) {
		size_t start = i;
		uint32_t cp = atl_utf8_next((const uint8_t *)t, tl, &i);
		int b = atl_bpe_cp_to_byte(cp);

		if (b >= 0) {
			buf[k++] = (uint8_t)b;
		} else {
			memcpy(buf + k, t + start, i - start);
			k += i - start;
		}
	}
	return k;
}

enum atl_err atl_tok_piece(const struct atl_tok *tok, int32_t id, bool special, char *buf,
			   size_t cap, size_t *len_out)
{
	uint8_t tmp[ATL_TOK_PIECE_MAX];
	size_t n;

	*len_out = 0;
	if (!id_ok(tok, id))
		return ATL_E_ARG;
	n = piece(tok, id, special, tmp);
	*len_out = n;
	if (n > cap)
		return ATL_E_LIMIT;
	memcpy(buf, tmp, n);
	return ATL_OK;
}

static bool strip_first_space(const struct atl_tok *tok, unsigned flags)
{
	return tok->model == ATL_TOK_MODEL_SPM && tok->add_space_prefix &&
	       !(flags & ATL_TOK_DECODE_KEEP_SPACE);
}

enum atl_err atl_tok_decode(const struct atl_tok *tok, const int32_t *ids, size_t n, unsigned flags,
			    char **text_out, size_t *len_out)
{
	uint8_t tmp[ATL_TOK_PIECE_MAX];
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool first = true;

	*text_out = NULL;
	*len_out = 0;
	for (size_t i = 0; i < n; i++)
		if (!id_ok(tok, ids[i]))
			return ATL_E_ARG;
	for (size_t i = 0; i < n; i++) {
		size_t k = piece(tok, ids[i], (flags & ATL_TOK_DECODE_SPECIAL) != 0, tmp), skip = 0;

		if (k == 0)
			continue;
		if (first && strip_first_space(tok, flags) && tmp[0] == ' ')
			skip = 1;
		first = false;
		if (len + k + 1 > cap) {
			size_t nc = cap ? 2 * cap : 256;
			char *nb;

			while (nc < len + k + 1)
				nc *= 2;
			nb = realloc(buf, nc);
			if (nb == NULL) {
				free(buf);
				return ATL_E_NOMEM;
			}
			buf = nb;
			cap = nc;
		}
		memcpy(buf + len, tmp + skip, k - skip);
		len += k - skip;
	}
	if (buf == NULL) {
		buf = malloc(1);
		if (buf == NULL)
			return ATL_E_NOMEM;
	}
	buf[len] = '\0';
	*text_out = buf;
	*len_out = len;
	return ATL_OK;
}

void atl_tok_stream_init(struct atl_tok_stream *s, unsigned flags)
{
	memset(s, 0, sizeof(*s));
	s->flags = flags;
}

enum atl_err atl_tok_stream_push(const struct atl_tok *tok, struct atl_tok_stream *s, int32_t id,
				 char *out, size_t cap, size_t *len_out)
{
	uint8_t buf[sizeof(s->pending) + ATL_TOK_PIECE_MAX];
	size_t n = s->n_pending, k, pos = 0, o = 0;

	*len_out = 0;
	if (!id_ok(tok, id))
		return ATL_E_ARG;
	memcpy(buf, s->pending, n);
	k = piece(tok, id, (s->flags & ATL_TOK_DECODE_SPECIAL) != 0, buf + n);
	if (k == 0)
		return ATL_OK;
	if (!s->started && strip_first_space(tok, s->flags) && buf[n] == ' ') {
		memmove(buf + n, buf + n + 1, k - 1);
		k--;
	}
	s->started = true;
	n += k;
	while (pos < n) {
		bool bad;
		size_t v = atl_utf8_valid_prefix(buf + pos, n - pos, &bad);

		if (o + v + (bad ? 3 : 0) > cap)
			return ATL_E_LIMIT;
		memcpy(out + o, buf + pos, v);
		o += v;
		pos += v;
		if (!bad)
			break;
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		pos++;
	}
	/* what is left is a valid start cut short: at most 3 bytes */
	s->n_pending = n - pos;
	memcpy(s->pending, buf + pos, s->n_pending);
	*len_out = o;
	return ATL_OK;
}

enum atl_err atl_tok_stream_flush(struct atl_tok_stream *s, char *out, size_t cap, size_t *len_out)
{
	*len_out = 0;
	if (s->n_pending == 0)
		return ATL_OK;
	if (cap < 3)
		return ATL_E_LIMIT;
	memcpy(out, "\xef\xbf\xbd", 3);
	*len_out = 3;
	s->n_pending = 0;
	return ATL_OK;
}
