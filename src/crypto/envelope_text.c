/* Text helpers of the sealed envelope; see src/crypto/envelope_text.h. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "atoll/secmem.h"
#include "crypto/envelope_text.h"

/* End (index of the closing quote) of the JSON string whose opening quote is
 * at s[i]; *escaped tells whether it held a backslash. false if unterminated. */
static bool string_end(const char *s, size_t len, size_t i, size_t *end, bool *escaped)
{
	size_t j = i + 1;
	const char *q;

	*escaped = false;
	/* Fast path for long plain strings (base64): the closing quote with no
	 * backslash before it. */
	q = memchr(s + j, '"', len - j);
	if (q == NULL)
		return false;
	if (memchr(s + j, '\\', (size_t)(q - (s + j))) == NULL) {
		*end = (size_t)(q - s);
		return true;
	}
	while (j < len && s[j] != '"') {
		if (s[j] == '\\') {
			*escaped = true;
			if (len - j < 2)
				return false;
			j += 2;
		} else {
			j++;
		}
	}
	if (j >= len)
		return false;
	*end = j;
	return true;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

enum atl_err atl_envtext_cut_member(const char *json, size_t len, const char *key,
				    char **cut_out, size_t *cut_len_out, size_t *start_out,
				    size_t *end_out)
{
	size_t depth = 0, klen = strlen(key), start = 0, end = 0;
	bool found = false;
	char *cut;

	*cut_out = NULL;
	*cut_len_out = *start_out = *end_out = 0;
	for (size_t i = 0; i < len; i++) {
		char c = json[i];
		size_t e, k, ve;
		bool esc, vesc;

		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return ATL_OK; /* malformed: let jansson say so */
			depth--;
		} else if (c == '"') {
			if (!string_end(json, len, i, &e, &esc))
				return ATL_OK;
			if (depth == 1 && !esc && e - i - 1 == klen &&
			    memcmp(json + i + 1, key, klen) == 0) {
				k = skip_ws(json, len, e + 1);
				if (k < len && json[k] == ':') {
					k = skip_ws(json, len, k + 1);
					if (k >= len || json[k] != '"' ||
					    !string_end(json, len, k, &ve, &vesc) || vesc || found)
						return ATL_OK; /* not plain, or a duplicate */
					found = true;
					start = k + 1;
					end = ve;
					e = ve;
				}
			}
			i = e;
		}
	}
	if (!found)
		return ATL_OK;
	cut = malloc(len - (end - start) + 1);
	if (cut == NULL)
		return ATL_E_NOMEM;
	memcpy(cut, json, start);
	memcpy(cut + start, json + end, len - end);
	*cut_out = cut;
	*cut_len_out = len - (end - start);
	*start_out = start;
	*end_out = end;
	return ATL_OK;
}

/* 0..63 for the standard alphabet, 0x80 for everything else ('=' included). */
static uint8_t b64_table[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void b64_init(void)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64_table, 0x80, sizeof(b64_table));
	for (unsigned i = 0; i < 64; i++)
		b64_table[(unsigned char)alpha[i]] = (uint8_t)i;
}

enum atl_err atl_envtext_b64_decode(const char *in, size_t len, size_t max, bool secret,
				    uint8_t **out, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t pad = 0, n, groups, o = 0;
	uint32_t bad = 0;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	pthread_once(&b64_once, b64_init);
	if (len % 4 != 0)
		return ATL_E_FORMAT;
	if (len > 0 && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	groups = len / 4;
	n = groups * 3 - pad;
	if (n > max)
		return ATL_E_LIMIT;
	buf = secret ? atl_secret_alloc(n > 0 ? n : 1) : malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return ATL_E_NOMEM;
	/* Full groups: invalid characters set bit 7, checked once at the end. */
	for (size_t g = 0; g + (pad > 0 ? 1 : 0) < groups; g++, s += 4) {
		uint32_t a = b64_table[s[0]], b = b64_table[s[1]], c = b64_table[s[2]],
			 d = b64_table[s[3]];
		uint32_t v = a << 18 | b << 12 | c << 6 | d;

		bad |= a | b | c | d;
		buf[o++] = (uint8_t)(v >> 16);
		buf[o++] = (uint8_t)(v >> 8);
		buf[o++] = (uint8_t)v;
	}
	if (pad > 0) {
		uint32_t a = b64_table[s[0]], b = b64_table[s[1]];

		bad |= a | b;
		if (pad == 2) {
			/* xx== : 8 bits, the low 4 bits of b must be zero */
			bad |= (b & 0x0f) != 0 ? 0x80 : 0;
			buf[o++] = (uint8_t)(a << 2 | b >> 4);
		} else {
			/* xxx= : 16 bits, the low 2 bits of c must be zero */
			uint32_t c = b64_table[s[2]];
			bad |= c | ((c & 0x03) != 0 ? 0x80 : 0);
			buf[o++] = (uint8_t)(a << 2 | b >> 4);
			buf[o++] = (uint8_t)((b & 0x0f) << 4 | c >> 2);
		}
	}
	if ((bad & 0x80) != 0 || o != n) {
		if (secret)
			atl_secret_free(buf);
		else
			free(buf);
		return ATL_E_FORMAT;
	}
	*out = buf;
	*out_len = n;
	return ATL_OK;
}

void atl_envtext_put(struct atl_envtext_out *o, const char *s, size_t n)
{
	if (o->buf != NULL) {
		if (n > o->cap - o->pos) {
			o->overflow = true;
			return;
		}
		memcpy(o->buf + o->pos, s, n);
	}
	o->pos += n;
}

void atl_envtext_puts(struct atl_envtext_out *o, const char *s)
{
	atl_envtext_put(o, s, strlen(s));
}

void atl_envtext_put_b64(struct atl_envtext_out *o, const uint8_t *p, size_t n)
{
	size_t enc_len = (n + 2) / 3 * 4;

	if (o->buf != NULL) {
		/* EVP_EncodeBlock writes a NUL after the text: the buffer has
		 * cap + 1 bytes, and the next put overwrites it. */
		if (enc_len > o->cap - o->pos || n > INT_MAX) {
			o->overflow = true;
			return;
		}
		if ((size_t)EVP_EncodeBlock((unsigned char *)o->buf + o->pos, p, (int)n) !=
		    enc_len) {
			o->overflow = true;
			return;
		}
	}
	o->pos += enc_len;
}
