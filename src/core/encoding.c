/* Strict hex and base64; see include/atoll/encoding.h. Written by hand because
 * the decoders must be strict in ways library decoders are not (canonical
 * padding bits, no silent whitespace, bounded input). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/limits.h"

static const char hexdig[] = "0123456789abcdef";

enum atl_err atl_hex_encode(const uint8_t *in, size_t in_len, char *out, size_t out_cap)
{
	if (in_len > (SIZE_MAX - 1) / 2 || out_cap < 2 * in_len + 1)
		return ATL_E_LIMIT;
	for (size_t i = 0; i < in_len; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	out[2 * in_len] = '\0';
	return ATL_OK;
}

enum atl_err atl_hex_encode_alloc(const uint8_t *in, size_t in_len, char **out)
{
	enum atl_err rc;

	*out = NULL;
	if (in_len > ATL_HEX_INPUT_MAX / 2)
		return ATL_E_LIMIT;
	*out = malloc(2 * in_len + 1);
	if (*out == NULL)
		return ATL_E_NOMEM;
	rc = atl_hex_encode(in, in_len, *out, 2 * in_len + 1);
	if (rc != ATL_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum atl_err atl_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
			    size_t *out_len)
{
	*out_len = 0;
	if (in_len > ATL_HEX_INPUT_MAX)
		return ATL_E_LIMIT;
	if (in_len % 2 != 0)
		return ATL_E_FORMAT;
	if (in_len / 2 > out_cap)
		return ATL_E_LIMIT;
	for (size_t i = 0; i < in_len; i += 2) {
		int hi = hexval(in[i]), lo = hexval(in[i + 1]);
		if (hi < 0 || lo < 0) {
			memset(out, 0, i / 2);
			return ATL_E_FORMAT;
		}
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = in_len / 2;
	return ATL_OK;
}

enum atl_err atl_hex_decode_exact(const char *in, size_t in_len, uint8_t *out, size_t n)
{
	size_t got;
	enum atl_err rc;

	if (in_len != 2 * n)
		return ATL_E_FORMAT;
	rc = atl_hex_decode(in, in_len, out, n, &got);
	return rc;
}

enum atl_err atl_hex_decode_alloc(const char *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	enum atl_err rc;

	*out = NULL;
	*out_len = 0;
	if (in_len > ATL_HEX_INPUT_MAX)
		return ATL_E_LIMIT;
	*out = malloc(in_len / 2 + 1);
	if (*out == NULL)
		return ATL_E_NOMEM;
	rc = atl_hex_decode(in, in_len, *out, in_len / 2, out_len);
	if (rc != ATL_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enum atl_err atl_b64_encode(const uint8_t *in, size_t in_len, int flags, char **out)
{
	const char *a = (flags & ATL_B64_URL) ? b64url : b64std;
	bool pad = !(flags & ATL_B64_NOPAD);
	size_t olen, o = 0, i = 0;
	char *s;

	*out = NULL;
	if (in_len > ATL_B64_INPUT_MAX / 4 * 3)
		return ATL_E_LIMIT;
	olen = (in_len + 2) / 3 * 4;
	s = malloc(olen + 1);
	if (s == NULL)
		return ATL_E_NOMEM;
	for (; i + 3 <= in_len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		s[o++] = a[v >> 18];
		s[o++] = a[(v >> 12) & 63];
		s[o++] = a[(v >> 6) & 63];
		s[o++] = a[v & 63];
	}
	if (in_len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		s[o++] = a[v >> 18];
		s[o++] = a[(v >> 12) & 63];
		if (pad) {
			s[o++] = '=';
			s[o++] = '=';
		}
	} else if (in_len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		s[o++] = a[v >> 18];
		s[o++] = a[(v >> 12) & 63];
		s[o++] = a[(v >> 6) & 63];
		if (pad)
			s[o++] = '=';
	}
	s[o] = '\0';
	*out = s;
	return ATL_OK;
}

static int b64val(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

enum atl_err atl_b64_decode(const char *in, size_t in_len, int flags, uint8_t **out,
			    size_t *out_len)
{
	bool url = (flags & ATL_B64_URL) != 0, nopad = (flags & ATL_B64_NOPAD) != 0;
	bool ws = (flags & ATL_B64_LENIENT_WS) != 0;
	enum atl_err rc = ATL_E_FORMAT;
	uint8_t *buf = NULL;
	size_t o = 0, n_sym = 0, n_pad = 0;
	uint32_t acc = 0;

	*out = NULL;
	*out_len = 0;
	if (in_len > ATL_B64_INPUT_MAX)
		return ATL_E_LIMIT;
	buf = malloc(in_len / 4 * 3 + 3);
	if (buf == NULL)
		return ATL_E_NOMEM;
	for (size_t i = 0; i < in_len; i++) {
		char c = in[i];
		int v;
		if (ws && is_ws(c))
			continue;
		if (c == '=') {
			if (nopad)
				goto out;
			n_pad++;
			continue;
		}
		if (n_pad > 0) /* data after padding */
			goto out;
		v = b64val(c, url);
		if (v < 0)
			goto out;
		acc = acc << 6 | (uint32_t)v;
		n_sym++;
		if (n_sym % 4 == 0) {
			buf[o++] = (uint8_t)(acc >> 16);
			buf[o++] = (uint8_t)(acc >> 8);
			buf[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	switch (n_sym % 4) {
	case 0:
		if (n_pad != 0)
			goto out;
		break;
	case 1:
		goto out;
	case 2:
		if ((!nopad && n_pad != 2) || (acc & 0xf) != 0)
			goto out;
		buf[o++] = (uint8_t)(acc >> 4);
		break;
	case 3:
		if ((!nopad && n_pad != 1) || (acc & 0x3) != 0)
			goto out;
		buf[o++] = (uint8_t)(acc >> 10);
		buf[o++] = (uint8_t)(acc >> 2);
		break;
	}
	*out = buf;
	*out_len = o;
	buf = NULL;
	rc = ATL_OK;
out:
	free(buf);
	return rc;
}
