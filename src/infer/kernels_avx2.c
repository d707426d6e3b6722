/* AVX2 + FMA + F16C kernels. The file is compiled for the baseline ISA; the
 * target pragma below enables AVX2 code generation for these functions only,
 * and they are called only when CPUID says the CPU has AVX2 and FMA
 * (quant.c), so the build stays portable. Integer parts follow GGML's
 * ggml-cpu x86 kernels (mul_sum_i8_pairs_float and friends). */
#include "infer/kernels.h"

#if defined(__x86_64__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#include <immintrin.h>
#include <string.h>

static inline float hsum_ps(__m256 x)
{
	__m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
	r = _mm_add_ps(r, _mm_movehl_ps(r, r));
	r = _mm_add_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

static inline float h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

static float dot_f32(size_t n, const void *w, const void *x)
{
	const float *a = w, *b = x;
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static inline __m256 load_h8(const uint16_t *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* One weight row against NR activation rows (x, x + xs, ...), weights loaded
 * once for all of them; the single-row product is the NR = 1 case of the
 * same code, so batched and token-by-token evaluation agree to the bit. */
#define DOTN_F16(NR)                                                                     \
	const uint16_t *a = w;                                                           \
	const uint16_t *b[NR];                                                           \
	for (int k = 0; k < NR; k++)                                                     \
		b[k] = (const uint16_t *)(const void *)((const uint8_t *)x + k * xs);    \
	__m256 acc[NR][2];                                                               \
	for (int k = 0; k < NR; k++)                                                     \
		acc[k][0] = acc[k][1] = _mm256_setzero_ps();                             \
	size_t i = 0;                                                                    \
	for (; i + 16 <= n; i += 16) {                                                   \
		const __m256 w0 = load_h8(a + i), w1 = load_h8(a + i + 8);               \
		for (int k = 0; k < NR; k++) {                                           \
			acc[k][0] = _mm256_fmadd_ps(w0, load_h8(b[k] + i), acc[k][0]);   \
			acc[k][1] = _mm256_fmadd_ps(w1, load_h8(b[k] + i + 8), acc[k][1]); \
		}                                                                        \
	}                                                                                \
	for (int k = 0; k < NR; k++) {                                                   \
		float s = hsum_ps(_mm256_add_ps(acc[k][0], acc[k][1]));                  \
		for (size_t j = i; j < n; j++)                                           \
			s += h2f(a[j]) * h2f(b[k][j]);                                   \
		out[k] = s;                                                              \
	}

static void dot4_f16(size_t n, const void *w, const void *x, size_t xs, float *out)
{
	DOTN_F16(4)
}

static float dot_f16(size_t n, const void *w, const void *x)
{
	const size_t xs = 0;
	float out[1];
	DOTN_F16(1)
	return out[0];
}

static inline __m256i q4_unpack(const uint8_t *qs)
{
	const __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)qs);
	const __m256i bytes = _mm256_insertf128_si256(_mm256_castsi128_si256(tmp),
						      _mm_srli_epi16(tmp, 4), 1);
	return _mm256_sub_epi8(_mm256_and_si256(bytes, _mm256_set1_epi8(0x0F)),
			       _mm256_set1_epi8(8));
}

#define DOTN_Q(NR, UNPACK)                                                               \
	const struct atl_blk_q8_0 *b[NR];                                                \
	for (int k = 0; k < NR; k++)                                                     \
		b[k] = (const struct atl_blk_q8_0 *)(const void *)((const uint8_t *)x + k * xs); \
	const size_t nb = n / 32;                                                        \
	__m256 acc[NR];                                                                  \
	for (int k = 0; k < NR; k++)                                                     \
		acc[k] = _mm256_setzero_ps();                                            \
	for (size_t i = 0; i < nb; i++) {                                                \
		const __m256i q = UNPACK;                                                \
		const __m256i aq = _mm256_sign_epi8(q, q);                               \
		const float dw = h2f(a[i].d);                                            \
		for (int k = 0; k < NR; k++) {                                           \
			const __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)b[k][i].qs); \
			const __m256i p = _mm256_madd_epi16(                             \
				_mm256_maddubs_epi16(aq, _mm256_sign_epi8(y, q)), _mm256_set1_epi16(1)); \
			acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(b[k][i].d)),    \
						 _mm256_cvtepi32_ps(p), acc[k]);         \
		}                                                                        \
	}                                                                                \
	for (int k = 0; k < NR; k++)                                                     \
		out[k] = hsum_ps(acc[k]);

static void dot4_q8_0(size_t n, const void *w, const void *x, size_t xs, float *out)
{
	const struct atl_blk_q8_0 *a = w;
	DOTN_Q(4, _mm256_loadu_si256((const __m256i *)(const void *)a[i].qs))
}

static float dot_q8_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q8_0 *a = w;
	const size_t xs = 0;
	float out[1];
	DOTN_Q(1, _mm256_loadu_si256((const __m256i *)(const void *)a[i].qs))
	return out[0];
}

static void dot4_q4_0(size_t n, const void *w, const void *x, size_t xs, float *out)
{
	const struct atl_blk_q4_0 *a = w;
	DOTN_Q(4, q4_unpack(a[i].qs))
}

static float dot_q4_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q4_0 *a = w;
	const size_t xs = 0;
	float out[1];
	DOTN_Q(1, q4_unpack(a[i].qs))
	return out[0];
}

static float dot_q4_k(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q4_k *a = w;
	const struct atl_blk_q8_k *b = x;
	const __m256i m4 = _mm256_set1_epi8(0x0F);
	__m256 acc = _mm256_setzero_ps();
	float accm = 0.0f;
	for (size_t i = 0; i < n / 256; i++) {
		uint8_t sc[8], mn[8];
		for (int j = 0; j < 8; j++)
			atl_get_scale_min_k4(j, a[i].scales, &sc[j], &mn[j]);
		int summ = 0;
		for (int j = 0; j < 8; j++)
			summ += mn[j] * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
		__m256i sumi = _mm256_setzero_si256();
		for (int j = 0; j < 4; j++) {
			const __m256i q4 = _mm256_loadu_si256((const __m256i *)(const void *)(a[i].qs + 32 * j));
			const __m256i lo = _mm256_and_si256(q4, m4);
			const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);
			const __m256i y0 = _mm256_loadu_si256((const __m256i *)(const void *)(b[i].qs + 64 * j));
			const __m256i y1 = _mm256_loadu_si256((const __m256i *)(const void *)(b[i].qs + 64 * j + 32));
			__m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * j]));
			__m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * j + 1]));
			sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
		}
		const float dy = b[i].d;
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[i].d) * dy), _mm256_cvtepi32_ps(sumi), acc);
		accm += h2f(a[i].dmin) * dy * (float)summ;
	}
	return hsum_ps(acc) - accm;
}

static float dot_q6_k(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q6_k *a = w;
	const struct atl_blk_q8_k *b = x;
	const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
	__m256 acc = _mm256_setzero_ps();
	for (size_t i = 0; i < n / 256; i++) {
		const uint8_t *ql = a[i].ql, *qh = a[i].qh;
		const int8_t *sc = a[i].scales, *y = b[i].qs;
		int bias = 0;
		for (int k = 0; k < 16; k++)
			bias += sc[k] * b[i].bsums[k];
		__m256i sumi = _mm256_setzero_si256();
		for (int h = 0; h < 2; h++) {
			const __m256i l0 = _mm256_loadu_si256((const __m256i *)(const void *)ql);
			const __m256i l1 = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 32));
			const __m256i hh = _mm256_loadu_si256((const __m256i *)(const void *)qh);
			__m256i q[4];
			q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
					       _mm256_slli_epi16(_mm256_and_si256(hh, m2), 4));
			q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
					       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hh, 2), m2), 4));
			q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
					       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hh, 4), m2), 4));
			q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
					       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hh, 6), m2), 4));
			for (int k = 0; k < 4; k++) {
				const __m256i yy = _mm256_loadu_si256((const __m256i *)(const void *)(y + 32 * k));
				const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]),
								   _mm_set1_epi16(sc[2 * k]));
				sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yy), s));
			}
			ql += 64;
			qh += 32;
			sc += 8;
			y += 128;
		}
		/* q - 32 folded in through the block sums */
		sumi = _mm256_sub_epi32(sumi, _mm256_setr_epi32(32 * bias, 0, 0, 0, 0, 0, 0, 0));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[i].d) * b[i].d), _mm256_cvtepi32_ps(sumi), acc);
	}
	return hsum_ps(acc);
}

/* round to nearest even, no exceptions (an immediate: clang insists) */
#define ATL_RND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

static void quant_q8_0(const float *x, void *vy, size_t n)
{
	struct atl_blk_q8_0 *y = vy;
	const __m256 sign = _mm256_set1_ps(-0.0f);
	const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	for (size_t i = 0; i < n / 32; i++, x += 32) {
		__m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
		__m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
		__m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
					 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
		__m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		const float amax = _mm_cvtss_f32(m4);
		y[i].d = _cvtss_sh(amax / 127.f, 0);
		const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
		__m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), ATL_RND));
		__m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), ATL_RND));
		__m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), ATL_RND));
		__m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), ATL_RND));
		i0 = _mm256_packs_epi32(i0, i1);
		i2 = _mm256_packs_epi32(i2, i3);
		i0 = _mm256_packs_epi16(i0, i2);
		i0 = _mm256_permutevar8x32_epi32(i0, perm);
		_mm256_storeu_si256((__m256i *)(void *)y[i].qs, i0);
	}
}

static void quant_f16(const float *x, void *vy, size_t n)
{
	uint16_t *y = vy;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(void *)(y + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = _cvtss_sh(x[i], 0);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

void atl_kernels_avx2_init(struct atl_kernels *k)
{
	k->dot[ATL_GGML_TYPE_F32] = dot_f32;
	k->dot[ATL_GGML_TYPE_F16] = dot_f16;
	k->dot[ATL_GGML_TYPE_Q8_0] = dot_q8_0;
	k->dot[ATL_GGML_TYPE_Q4_0] = dot_q4_0;
	k->dot[ATL_GGML_TYPE_Q4_K] = dot_q4_k;
	k->dot[ATL_GGML_TYPE_Q6_K] = dot_q6_k;
	k->dot4[ATL_GGML_TYPE_F16] = dot4_f16;
	k->dot4[ATL_GGML_TYPE_Q8_0] = dot4_q8_0;
	k->dot4[ATL_GGML_TYPE_Q4_0] = dot4_q4_0;
	k->quant_q8_0 = quant_q8_0;
	k->quant_f16 = quant_f16;
}

#else /* not x86-64 */

void atl_kernels_avx2_init(struct atl_kernels *k)
{
	(void)k;
}

#endif
