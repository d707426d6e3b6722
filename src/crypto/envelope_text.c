/* Text helpers of the sealed envelope; see src/crypto/envelope_text.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/secmem.h"
#include "crypto/envelope_text.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
static int simd_level(void);
static size_t find_quote_or_backslash(const char *s, size_t len);
#endif

/* End (index of the closing quote) of the JSON string whose opening quote is
 * at s[i]; *escaped tells whether it held a backslash. false if unterminated. */
static bool string_end(const char *s, size_t len, size_t i, size_t *end, bool *escaped)
{
	size_t j = i + 1;
	const char *q;

	*escaped = false;
	/* Fast path for long plain strings (base64): the closing quote with no
	 * backslash before it, in one pass with AVX2, else two memchr. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (simd_level() >= 1) {
		size_t k = j + find_quote_or_backslash(s + j, len - j);

		if (k >= len)
			return false;
		if (s[k] == '"') {
			*end = k;
			return true;
		}
		goto slow;
	}
#endif
	q = memchr(s + j, '"', len - j);
	if (q == NULL)
		return false;
	if (memchr(s + j, '\\', (size_t)(q - (s + j))) == NULL) {
		*end = (size_t)(q - s);
		return true;
	}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
slow:
#endif
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

/* ---- base64 --------------------------------------------------------------
 *
 * Strict standard base64 (RFC 4648 §4). The scalar code is the reference;
 * on x86-64 CPUs with AVX2 (checked at run time) the bulk of the text goes
 * through the vector code of W. Muła and D. Lemire ("Faster Base64 Encoding
 * and Decoding Using AVX2 Instructions", ACM TOPS 2018; validation tables
 * as in aklomp/base64), which is exactly as strict: a block that holds any
 * byte outside the alphabet ('=' included) is left to the scalar code,
 * which rejects it. tests/unit/crypto_envelope_test.c checks both paths
 * against each other byte by byte. */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define B64_AVX2 1
#include <immintrin.h>
#endif

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for the standard alphabet, 0x80 for everything else ('=' included). */
static uint8_t b64_table[256];
static int b64_cpu_level;            /* 0 scalar, 1 AVX2, 2 AVX-512 VBMI */
static int b64_level_max = 2;        /* lowered by atl_envtext_b64_simd_for_testing */
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void b64_init(void)
{
	memset(b64_table, 0x80, sizeof(b64_table));
	for (unsigned i = 0; i < 64; i++)
		b64_table[(unsigned char)b64_alpha[i]] = (uint8_t)i;
#ifdef B64_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		b64_cpu_level = 1;
	if (b64_cpu_level == 1 && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi"))
		b64_cpu_level = 2;
#endif
}

static int simd_level(void)
{
	pthread_once(&b64_once, b64_init);
	return b64_cpu_level < b64_level_max ? b64_cpu_level : b64_level_max;
}

int atl_envtext_b64_simd_for_testing(int max_level)
{
	pthread_once(&b64_once, b64_init);
	b64_level_max = max_level;
	return b64_cpu_level;
}

#ifdef B64_AVX2
/* Encodes 24 input bytes to 32 characters per step while at least 28 bytes
 * remain (each step loads 16 bytes at +0 and +12). Returns bytes consumed. */
__attribute__((target("avx2"))) static size_t enc_avx2(char *out, const uint8_t *in, size_t n)
{
	const __m256i shuf = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
					      1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
	/* Index range -> offset to its ASCII character, selected below. */
	const __m256i lut = _mm256_setr_epi8(
		'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
		'0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0, 'a' - 26, '0' - 52,
		'0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
		'0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
	size_t i = 0, o = 0;

	while (n - i >= 28) {
		__m128i lo = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
		__m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 12));
		__m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
		__m256i t0, t1, t2, t3, idx, r, less;

		/* Per 32-bit word: bytes b1 b0 b2 b1, then the four 6-bit
		 * indices into bytes 0..3 with two multiplies. */
		v = _mm256_shuffle_epi8(v, shuf);
		t0 = _mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00));
		t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
		t2 = _mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0));
		t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
		idx = _mm256_or_si256(t1, t3);
		/* 0..25 -> 13 ('A'), 26..51 -> 0 ('a' - 26), 52..61 -> 1..10,
		 * 62 -> 11, 63 -> 12. */
		r = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
		less = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx);
		r = _mm256_or_si256(r, _mm256_and_si256(less, _mm256_set1_epi8(13)));
		r = _mm256_add_epi8(_mm256_shuffle_epi8(lut, r), idx);
		_mm256_storeu_si256((__m256i *)(void *)(out + o), r);
		i += 24;
		o += 32;
	}
	return i;
}

/* Decodes 32 characters to 24 bytes per step while at least 32 remain;
 * stops before the first block holding a byte outside the alphabet. Returns
 * characters consumed (the scalar code goes on from there). */
__attribute__((target("avx2"))) static size_t dec_avx2(uint8_t *out, const char *in, size_t len)
{
	const __m256i lut_lo = _mm256_setr_epi8(
		0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b,
		0x1b, 0x1a, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a,
		0x1b, 0x1b, 0x1b, 0x1a);
	const __m256i lut_hi = _mm256_setr_epi8(
		0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
		0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
		0x10, 0x10, 0x10, 0x10);
	const __m256i lut_roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 16, 19, 4, -65, -65, -71, -71, 0,
						  0, 0, 0, 0, 0, 0, 0);
	const __m256i mask_2f = _mm256_set1_epi8(0x2f);
	const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1,
					      -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1,
					      -1, -1);
	const __m256i perm = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
	size_t i = 0, o = 0;

	while (len - i >= 32) {
		__m256i str = _mm256_loadu_si256((const __m256i *)(const void *)(in + i));
		__m256i hi_nib = _mm256_and_si256(_mm256_srli_epi32(str, 4), mask_2f);
		__m256i lo_nib = _mm256_and_si256(str, mask_2f);
		__m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nib);
		__m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nib);
		__m256i roll, v;

		if (!_mm256_testz_si256(lo, hi))
			break; /* a byte outside the alphabet: scalar reports it */
		roll = _mm256_shuffle_epi8(lut_roll,
					   _mm256_add_epi8(_mm256_cmpeq_epi8(str, mask_2f), hi_nib));
		v = _mm256_add_epi8(str, roll); /* 6-bit values */
		/* aaaaaa bbbbbb -> 12 bits, then 24 bits per word, big-endian
		 * bytes packed to the low 24 bytes. */
		v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
		v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
		v = _mm256_shuffle_epi8(v, pack);
		v = _mm256_permutevar8x32_epi32(v, perm);
		_mm_storeu_si128((__m128i *)(void *)(out + o), _mm256_castsi256_si128(v));
		_mm_storel_epi64((__m128i *)(void *)(out + o + 16), _mm256_extracti128_si256(v, 1));
		i += 32;
		o += 24;
	}
	return i;
}

/* Index of the first '"' or '\\' in s[0..len), or len. */
__attribute__((target("avx2"))) static size_t find_quote_or_backslash(const char *s, size_t len)
{
	const __m256i q = _mm256_set1_epi8('"'), b = _mm256_set1_epi8('\\');
	size_t i = 0;

	for (; len - i >= 64; i += 64) {
		__m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
		__m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 32));
		__m256i m0 = _mm256_or_si256(_mm256_cmpeq_epi8(v0, q), _mm256_cmpeq_epi8(v0, b));
		__m256i m1 = _mm256_or_si256(_mm256_cmpeq_epi8(v1, q), _mm256_cmpeq_epi8(v1, b));

		if (!_mm256_testz_si256(_mm256_or_si256(m0, m1), _mm256_or_si256(m0, m1))) {
			uint64_t m = (uint64_t)(uint32_t)_mm256_movemask_epi8(m0) |
				     (uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32;
			return i + (size_t)__builtin_ctzll(m);
		}
	}
	for (; i < len; i++)
		if (s[i] == '"' || s[i] == '\\')
			return i;
	return len;
}

/* AVX-512 VBMI (Muła and Lemire, "Base64 encoding and decoding at almost the
 * speed of a memory copy", SPE 2020): 48 bytes <-> 64 characters per step
 * with byte permutes. The permutation and lookup tables are computed from
 * the alphabet at first use. */
static uint8_t vbmi_enc_shuf[64], vbmi_dec_lut[128], vbmi_dec_pack[64];
static pthread_once_t vbmi_once = PTHREAD_ONCE_INIT;

static void vbmi_init(void)
{
	for (unsigned w = 0; w < 16; w++) { /* bytes b1 b0 b2 b1 of each triple */
		vbmi_enc_shuf[4 * w] = (uint8_t)(3 * w + 1);
		vbmi_enc_shuf[4 * w + 1] = (uint8_t)(3 * w);
		vbmi_enc_shuf[4 * w + 2] = (uint8_t)(3 * w + 2);
		vbmi_enc_shuf[4 * w + 3] = (uint8_t)(3 * w + 1);
	}
	for (unsigned c = 0; c < 128; c++)
		vbmi_dec_lut[c] = b64_table[c];
	for (unsigned j = 0; j < 48; j++) /* big-endian 24 bits of each word */
		vbmi_dec_pack[j] = (uint8_t)(j / 3 * 4 + 2 - j % 3);
}

/* While at least 64 bytes remain (each step loads 64, uses 48). */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static size_t
enc_vbmi(char *out, const uint8_t *in, size_t n)
{
	__m512i shuf, lookup;
	/* Per 64-bit lane: bit offsets 10, 4, 22, 16 of each 32-bit word. */
	const __m512i shifts = _mm512_set1_epi64(0x3036242a1016040aLL);
	size_t i = 0, o = 0;

	pthread_once(&vbmi_once, vbmi_init);
	shuf = _mm512_loadu_si512((const void *)vbmi_enc_shuf);
	lookup = _mm512_loadu_si512((const void *)b64_alpha);
	while (n - i >= 64) {
		__m512i v = _mm512_loadu_si512((const void *)(in + i));

		v = _mm512_permutexvar_epi8(shuf, v);
		v = _mm512_multishift_epi64_epi8(shifts, v); /* 6-bit indices (low bits) */
		v = _mm512_permutexvar_epi8(v, lookup);
		_mm512_storeu_si512((void *)(out + o), v);
		i += 48;
		o += 64;
	}
	return i;
}

/* While at least 64 characters remain; stops before the first block with a
 * byte outside the alphabet. Returns characters consumed. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static size_t
dec_vbmi(uint8_t *out, const char *in, size_t len)
{
	__m512i lut0, lut1, pack;
	size_t i = 0, o = 0;

	pthread_once(&vbmi_once, vbmi_init);
	lut0 = _mm512_loadu_si512((const void *)vbmi_dec_lut);
	lut1 = _mm512_loadu_si512((const void *)(vbmi_dec_lut + 64));
	pack = _mm512_loadu_si512((const void *)vbmi_dec_pack);
	while (len - i >= 64) {
		__m512i str = _mm512_loadu_si512((const void *)(in + i));
		/* Low 7 bits index the 128-entry table; bit 7 of the input or
		 * of the value (0x80 = not in the alphabet) means invalid. */
		__m512i v = _mm512_permutex2var_epi8(lut0, str, lut1);

		if (_mm512_movepi8_mask(_mm512_or_si512(v, str)) != 0)
			break;
		v = _mm512_maddubs_epi16(v, _mm512_set1_epi32(0x01400140));
		v = _mm512_madd_epi16(v, _mm512_set1_epi32(0x00011000));
		v = _mm512_permutexvar_epi8(pack, v);
		_mm512_mask_storeu_epi8((void *)(out + o), 0x0000ffffffffffffULL, v);
		i += 64;
		o += 48;
	}
	return i;
}
#endif

size_t atl_envtext_b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t atl_envtext_b64_encode(char *out, const uint8_t *in, size_t n)
{
	size_t i = 0, o = 0;

#ifdef B64_AVX2
	int lvl = simd_level();

	if (lvl >= 2 && n >= 64)
		i = enc_vbmi(out, in, n);
	if (lvl >= 1 && n - i >= 28)
		i += enc_avx2(out + i / 3 * 4, in + i, n - i);
	o = i / 3 * 4;
#endif
	for (; n - i >= 3; i += 3, o += 4) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o] = b64_alpha[v >> 18];
		out[o + 1] = b64_alpha[(v >> 12) & 63];
		out[o + 2] = b64_alpha[(v >> 6) & 63];
		out[o + 3] = b64_alpha[v & 63];
	}
	if (n - i == 1) {
		out[o] = b64_alpha[in[i] >> 2];
		out[o + 1] = b64_alpha[(in[i] & 3) << 4];
		out[o + 2] = '=';
		out[o + 3] = '=';
		o += 4;
	} else if (n - i == 2) {
		out[o] = b64_alpha[in[i] >> 2];
		out[o + 1] = b64_alpha[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o + 2] = b64_alpha[(in[i + 1] & 15) << 2];
		out[o + 3] = '=';
		o += 4;
	}
	return o;
}

/* Number of '=' at the end of a text whose length is a multiple of 4. */
static size_t pad_of(const char *in, size_t len)
{
	if (len == 0 || in[len - 1] != '=')
		return 0;
	return in[len - 2] == '=' ? 2 : 1;
}

enum atl_err atl_envtext_b64_decoded_len(const char *in, size_t len, size_t *n_out)
{
	*n_out = 0;
	if (len % 4 != 0)
		return ATL_E_FORMAT;
	*n_out = len / 4 * 3 - pad_of(in, len);
	return ATL_OK;
}

enum atl_err atl_envtext_b64_decode_part(const char *in, size_t len, bool last, uint8_t *out,
					 size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t pad, body, i = 0, o = 0;
	uint32_t bad = 0;

	*out_len = 0;
	if (len % 4 != 0)
		return ATL_E_FORMAT;
	pad = last ? pad_of(in, len) : 0;
	body = pad > 0 ? len - 4 : len; /* full groups, no padding */
#ifdef B64_AVX2
	int lvl = simd_level();

	if (lvl >= 2 && body >= 64)
		i = dec_vbmi(out, in, body);
	if (lvl >= 1 && body - i >= 32)
		i += dec_avx2(out + i / 4 * 3, in + i, body - i);
	o = i / 4 * 3;
#else
	(void)simd_level;
#endif
	/* Invalid characters set bit 7, checked once at the end. */
	for (; i < body; i += 4, o += 3) {
		uint32_t a = b64_table[s[i]], b = b64_table[s[i + 1]], c = b64_table[s[i + 2]],
			 d = b64_table[s[i + 3]];
		uint32_t v = a << 18 | b << 12 | c << 6 | d;

		bad |= a | b | c | d;
		out[o] = (uint8_t)(v >> 16);
		out[o + 1] = (uint8_t)(v >> 8);
		out[o + 2] = (uint8_t)v;
	}
	if (pad > 0) {
		uint32_t a = b64_table[s[i]], b = b64_table[s[i + 1]];

		bad |= a | b;
		if (pad == 2) {
			/* xx== : 8 bits, the low 4 bits of b must be zero */
			bad |= (b & 0x0f) != 0 ? 0x80 : 0;
			out[o++] = (uint8_t)(a << 2 | b >> 4);
		} else {
			/* xxx= : 16 bits, the low 2 bits of c must be zero */
			uint32_t c = b64_table[s[i + 2]];
			bad |= c | ((c & 0x03) != 0 ? 0x80 : 0);
			out[o++] = (uint8_t)(a << 2 | b >> 4);
			out[o++] = (uint8_t)((b & 0x0f) << 4 | c >> 2);
		}
	}
	if ((bad & 0x80) != 0)
		return ATL_E_FORMAT;
	*out_len = o;
	return ATL_OK;
}

enum atl_err atl_envtext_b64_decode(const char *in, size_t len, size_t max, bool secret,
				    uint8_t **out, size_t *out_len)
{
	size_t n = 0, got = 0;
	uint8_t *buf;
	enum atl_err rc;

	*out = NULL;
	*out_len = 0;
	rc = atl_envtext_b64_decoded_len(in, len, &n);
	if (rc != ATL_OK)
		return rc;
	if (n > max)
		return ATL_E_LIMIT;
	buf = secret ? atl_secret_alloc(n > 0 ? n : 1) : malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return ATL_E_NOMEM;
	rc = atl_envtext_b64_decode_part(in, len, true, buf, &got);
	if (rc == ATL_OK && got != n)
		rc = ATL_E_INTERNAL;
	if (rc != ATL_OK) {
		if (secret)
			atl_secret_free(buf);
		else
			free(buf);
		return rc;
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
	size_t enc_len = atl_envtext_b64_len(n);

	if (o->buf != NULL) {
		if (enc_len > o->cap - o->pos) {
			o->overflow = true;
			return;
		}
		atl_envtext_b64_encode(o->buf + o->pos, p, n);
	}
	o->pos += enc_len;
}

size_t atl_envtext_skip(struct atl_envtext_out *o, size_t n)
{
	size_t at = o->pos;

	if (o->buf != NULL && n > o->cap - o->pos) {
		o->overflow = true;
		return at;
	}
	o->pos += n;
	return at;
}
