/* Unicode helpers for the tokenizers (src/infer/unicode.h). */
#include "infer/unicode.h"

enum atl_ucls atl_ucls_of(uint32_t cp)
{
	size_t lo = 0, hi = atl_ucd_n_ranges;

	if (cp > 0x10ffff)
		return ATL_UCLS_OTHER;
	/* last range whose start <= cp; the first range starts at 0 */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if ((atl_ucd_ranges[mid] >> 2) <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return (enum atl_ucls)(atl_ucd_ranges[lo] & 3u);
}

bool atl_uc_is_space(uint32_t cp)
{
	/* PropList.txt White_Space, the set llama.cpp's unicode-data.cpp uses */
	if ((cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0)
		return true;
	if (cp < 0x1680)
		return false;
	return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

size_t atl_utf8_len(uint8_t lead)
{
	static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

	return lookup[lead >> 4];
}

static bool cont(uint8_t c)
{
	return (c & 0xc0) == 0x80;
}

uint32_t atl_utf8_next(const uint8_t *s, size_t len, size_t *pos)
{
	size_t i = *pos, left = len - i;
	uint8_t c = s[i];

	/* llama.cpp unicode_cpt_from_utf8 */
	if (!(c & 0x80)) {
		*pos = i + 1;
		return c;
	}
	if ((c & 0xe0) == 0xc0 && left >= 2 && cont(s[i + 1])) {
		*pos = i + 2;
		return ((uint32_t)(c & 0x1f) << 6) | (s[i + 1] & 0x3f);
	}
	if ((c & 0xf0) == 0xe0 && left >= 3 && cont(s[i + 1]) && cont(s[i + 2])) {
		*pos = i + 3;
		return ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(s[i + 1] & 0x3f) << 6) |
		       (s[i + 2] & 0x3f);
	}
	if ((c & 0xf8) == 0xf0 && left >= 4 && cont(s[i + 1]) && cont(s[i + 2]) && cont(s[i + 3])) {
		*pos = i + 4;
		return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3f) << 12) |
		       ((uint32_t)(s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f);
	}
	*pos = i + 1;
	return 0xfffd;
}

size_t atl_utf8_put(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | ((cp >> 18) & 0x07));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Strict UTF-8 (RFC 3629 §4): length of the valid sequence at s, 0 if
 * invalid, or -1 if it is a valid start cut short by the end of s. */
static int strict_seq(const uint8_t *s, size_t len)
{
	uint8_t c = s[0];
	size_t n;
	uint8_t lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (size_t k = 1; k < n; k++) {
		if (k >= len)
			return -1;
		if (s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xbf))
			return 0;
	}
	return (int)n;
}

size_t atl_utf8_valid_prefix(const uint8_t *s, size_t len, bool *bad_out)
{
	size_t i = 0;

	*bad_out = false;
	while (i < len) {
		int n = strict_seq(s + i, len - i);

		if (n < 0)
			break;
		if (n == 0) {
			*bad_out = true;
			break;
		}
		i += (size_t)n;
	}
	return i;
}

/* GPT-2 bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
 * the other 68 map to U+0100.. in byte order. */
uint32_t atl_bpe_byte_to_cp(uint8_t b)
{
	uint32_t n = 0;

	if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae)
		return b;
	/* rank of b among the non-printable bytes */
	if (b <= 0x20)
		n = b;
	else if (b <= 0xa0)
		n = 0x21 + (uint32_t)(b - 0x7f);
	else
		n = 0x21 + 0x22; /* 0xad */
	return 0x100 + n;
}

int atl_bpe_cp_to_byte(uint32_t cp)
{
	if ((cp >= 0x21 && cp <= 0x7e) || (cp >= 0xa1 && cp <= 0xac) || (cp >= 0xae && cp <= 0xff))
		return (int)cp;
	if (cp < 0x100 || cp > 0x143)
		return -1;
	cp -= 0x100;
	if (cp <= 0x20)
		return (int)cp;
	if (cp <= 0x42)
		return (int)(0x7f + cp - 0x21);
	return 0xad;
}
