/* AVX-512 (F, BW, VL, DQ, VNNI) kernels for the hot types: F32, F16, Q8_0,
 * Q4_0. Two 32-element blocks per 512-bit register; VPDPBUSD does the
 * unsigned x signed byte products (|x| times y with x's sign). Compiled with
 * a target pragma and called only when CPUID reports all of these (quant.c);
 * the other types keep their AVX2 kernels. */
#include "infer/kernels.h"

#if defined(__x86_64__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#endif

#include <immintrin.h>
#include <string.h>

static inline float h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

static inline __m512 dup2(float d0, float d1)
{
	return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(d0)), _mm256_set1_ps(d1), 1);
}

static inline __m512i load2(const void *p0, const void *p1)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
				  _mm256_loadu_si256((const __m256i *)p1), 1);
}

static float dot_f32(size_t n, const void *w, const void *x)
{
	const float *a = w, *b = x;
	__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static inline __m512 load_h16(const uint16_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

/* F16 weights times NR F16 activation rows; as for the quantised types the
 * single-row product is the NR = 1 case, so batching changes no bit. */
#define DOTN_F16(NR)                                                                     \
	const uint16_t *a = w;                                                           \
	const uint16_t *b[NR];                                                           \
	for (int k = 0; k < NR; k++)                                                     \
		b[k] = (const uint16_t *)(const void *)((const uint8_t *)x + k * xs);    \
	__m512 acc[NR][2];                                                               \
	for (int k = 0; k < NR; k++)                                                     \
		acc[k][0] = acc[k][1] = _mm512_setzero_ps();                             \
	size_t i = 0;                                                                    \
	for (; i + 32 <= n; i += 32) {                                                   \
		const __m512 w0 = load_h16(a + i), w1 = load_h16(a + i + 16);            \
		for (int k = 0; k < NR; k++) {                                           \
			acc[k][0] = _mm512_fmadd_ps(w0, load_h16(b[k] + i), acc[k][0]);  \
			acc[k][1] = _mm512_fmadd_ps(w1, load_h16(b[k] + i + 16), acc[k][1]); \
		}                                                                        \
	}                                                                                \
	for (int k = 0; k < NR; k++) {                                                   \
		float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[k][0], acc[k][1]));     \
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

static inline __m512i q4_unpack2(const uint8_t *q0, const uint8_t *q1)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(q4_unpack(q0)), q4_unpack(q1), 1);
}

/* One weight row against NR activation rows (x, x + xs, ...): the weight
 * blocks are loaded (and for Q4_0 unpacked) once for all NR tokens. The
 * single-row dot product is the NR = 1 case of the same code, so a token
 * gets bit-identical results whether it is evaluated alone or in a batch
 * (Q8_0 activations would otherwise amplify last-bit differences). */
#define DOTN_BODY(NR, UNPACK2, SCALAR_TAIL)                                                      \
	const struct atl_blk_q8_0 *b[NR];                                                        \
	for (int k = 0; k < NR; k++)                                                             \
		b[k] = (const struct atl_blk_q8_0 *)(const void *)((const uint8_t *)x + k * xs); \
	const size_t nb = n / 32;                                                                \
	__m512 acc[NR];                                                                          \
	for (int k = 0; k < NR; k++)                                                             \
		acc[k] = _mm512_setzero_ps();                                                    \
	size_t i = 0;                                                                            \
	for (; i + 2 <= nb; i += 2) {                                                            \
		const __m512i q = UNPACK2;                                                       \
		const __m512i aq = _mm512_abs_epi8(q);                                           \
		const __mmask64 neg = _mm512_movepi8_mask(q);                                    \
		const float d0 = h2f(a[i].d), d1 = h2f(a[i + 1].d);                              \
		for (int k = 0; k < NR; k++) {                                                   \
			const __m512i y = load2(b[k][i].qs, b[k][i + 1].qs);                     \
			const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y); \
			const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aq, sy);   \
			const __m512 d = dup2(d0 * h2f(b[k][i].d), d1 * h2f(b[k][i + 1].d));     \
			acc[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[k]);              \
		}                                                                                \
	}                                                                                        \
	for (int k = 0; k < NR; k++) {                                                           \
		float s = _mm512_reduce_add_ps(acc[k]);                                          \
		for (size_t j = i; j < nb; j++) {                                                \
			int sumi = 0;                                                            \
			SCALAR_TAIL                                                              \
			s += (float)sumi * (h2f(a[j].d) * h2f(b[k][j].d));                       \
		}                                                                                \
		out[k] = s;                                                                      \
	}

#define Q8_0_TAIL for (int l = 0; l < 32; l++) sumi += a[j].qs[l] * b[k][j].qs[l];
#define Q4_0_TAIL                                                                  \
	for (int l = 0; l < 16; l++)                                               \
		sumi += ((a[j].qs[l] & 0x0F) - 8) * b[k][j].qs[l] +                \
			((a[j].qs[l] >> 4) - 8) * b[k][j].qs[l + 16];

static void dot4_q8_0(size_t n, const void *w, const void *x, size_t xs, float *out)
{
	const struct atl_blk_q8_0 *a = w;
	DOTN_BODY(4, load2(a[i].qs, a[i + 1].qs), Q8_0_TAIL)
}

static float dot_q8_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q8_0 *a = w;
	const size_t xs = 0;
	float out[1];
	DOTN_BODY(1, load2(a[i].qs, a[i + 1].qs), Q8_0_TAIL)
	return out[0];
}

static void dot4_q4_0(size_t n, const void *w, const void *x, size_t xs, float *out)
{
	const struct atl_blk_q4_0 *a = w;
	DOTN_BODY(4, q4_unpack2(a[i].qs, a[i + 1].qs), Q4_0_TAIL)
}

static float dot_q4_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q4_0 *a = w;
	const size_t xs = 0;
	float out[1];
	DOTN_BODY(1, q4_unpack2(a[i].qs, a[i + 1].qs), Q4_0_TAIL)
	return out[0];
}

/* ---- row-group GEMM over packed Q4_0 / Q8_0 weights (kernels.h) ----
 *
 * Per block (32 columns) of a 16-row group: the weights' 8 chunk registers
 * (16 rows x 4 columns of unsigned bytes each) are loaded once for TT
 * tokens; per token, VPDPBUSD with the token's 4 activation bytes broadcast
 * adds 4 products to each row's lane, starting from -bias * sum(x block) so
 * the lane ends with the exact integer dot product of the block; then one
 * FMA adds it, scaled by d_w * d_x, to the row's float sum. Blocks are
 * accumulated in order, exactly like the portable dot product (one FMA
 * rounding instead of a multiply and an add). */

/* the tile loops must be unrolled for the registers to stay registers */
#define ATL_UNROLL _Pragma("GCC unroll 8")

static inline int32_t ld32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline float ldf(const uint8_t *p)
{
	float v;
	memcpy(&v, p, 4);
	return v;
}

static inline __attribute__((always_inline)) void
gemm_tile(const int q4, const int TT, size_t nb, const uint8_t *wg, const uint8_t *xp,
	  size_t xs, float *y, size_t ys, __mmask16 mask)
{
	const size_t bs = q4 ? 288 : 544;
	const int32_t bias = q4 ? -8 : -128;
	const uint8_t *xq[8], *xd[8], *xsum[8];
	__m512 acc[8];
	ATL_UNROLL
	for (int t = 0; t < TT; t++) {
		xq[t] = xp + (size_t)t * xs;
		xd[t] = xq[t] + nb * 32;
		xsum[t] = xd[t] + nb * 4;
		acc[t] = _mm512_setzero_ps();
	}
	const __m512i lo4 = _mm512_set1_epi8(0x0F);
	for (size_t b = 0; b < nb; b++) {
		const uint8_t *g = wg + b * bs;
		const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)g));
		__m512i w[8];
		if (q4) {
			ATL_UNROLL
			for (int u = 0; u < 4; u++) {
				const __m512i v = _mm512_loadu_si512((const void *)(g + 32 + 64 * u));
				w[u] = _mm512_and_si512(v, lo4);
				w[u + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
			}
		} else {
			ATL_UNROLL
			for (int u = 0; u < 8; u++)
				w[u] = _mm512_loadu_si512((const void *)(g + 32 + 64 * u));
		}
		ATL_UNROLL
	for (int t = 0; t < TT; t++) {
			const uint8_t *q = xq[t] + b * 32;
			/* integer sums are exact: one chain or two (latency for a
			 * single token) give the same value */
			__m512i s0 = _mm512_set1_epi32(bias * ld32(xsum[t] + b * 4));
			if (TT > 2) {
				ATL_UNROLL
				for (int j = 0; j < 8; j++)
					s0 = _mm512_dpbusd_epi32(s0, w[j], _mm512_set1_epi32(ld32(q + 4 * j)));
			} else {
				__m512i s1 = _mm512_setzero_si512();
				ATL_UNROLL
				for (int j = 0; j < 8; j += 2) {
					s0 = _mm512_dpbusd_epi32(s0, w[j], _mm512_set1_epi32(ld32(q + 4 * j)));
					s1 = _mm512_dpbusd_epi32(s1, w[j + 1],
								 _mm512_set1_epi32(ld32(q + 4 * j + 4)));
				}
				s0 = _mm512_add_epi32(s0, s1);
			}
			const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(ldf(xd[t] + b * 4)));
			acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s0), acc[t]);
		}
	}
	ATL_UNROLL
	for (int t = 0; t < TT; t++)
		_mm512_mask_storeu_ps(y + (size_t)t * ys, mask, acc[t]);
}

static inline __attribute__((always_inline)) void
gemm_any(const int q4, size_t nb, const uint8_t *wg, const uint8_t *xp, size_t xs,
	 uint32_t n_tok, float *y, size_t ys, unsigned n_rows)
{
	const __mmask16 mask = (__mmask16)(n_rows >= 16 ? 0xFFFFu : (1u << n_rows) - 1u);
	uint32_t t = 0;
	for (; t + 8 <= n_tok; t += 8)
		gemm_tile(q4, 8, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask);
	switch (n_tok - t) {
	case 7: gemm_tile(q4, 7, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	case 6: gemm_tile(q4, 6, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	case 5: gemm_tile(q4, 5, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	case 4: gemm_tile(q4, 4, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	case 3: gemm_tile(q4, 3, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	case 2: gemm_tile(q4, 2, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	case 1: gemm_tile(q4, 1, nb, wg, xp + t * xs, xs, y + t * ys, ys, mask); break;
	default: break;
	}
}

static void gemm_q4_0(size_t nb, const uint8_t *wg, const uint8_t *xp, size_t xs, uint32_t n_tok,
		      float *y, size_t ys, unsigned n_rows)
{
	gemm_any(1, nb, wg, xp, xs, n_tok, y, ys, n_rows);
}

static void gemm_q8_0(size_t nb, const uint8_t *wg, const uint8_t *xp, size_t xs, uint32_t n_tok,
		      float *y, size_t ys, unsigned n_rows)
{
	gemm_any(0, nb, wg, xp, xs, n_tok, y, ys, n_rows);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

void atl_kernels_avx512_init(struct atl_kernels *k)
{
	k->dot[ATL_GGML_TYPE_F32] = dot_f32;
	k->dot[ATL_GGML_TYPE_F16] = dot_f16;
	k->dot[ATL_GGML_TYPE_Q8_0] = dot_q8_0;
	k->dot[ATL_GGML_TYPE_Q4_0] = dot_q4_0;
	k->dot4[ATL_GGML_TYPE_F16] = dot4_f16;
	k->dot4[ATL_GGML_TYPE_Q8_0] = dot4_q8_0;
	k->dot4[ATL_GGML_TYPE_Q4_0] = dot4_q4_0;
	k->gemm[ATL_GGML_TYPE_Q4_0] = gemm_q4_0;
	k->gemm[ATL_GGML_TYPE_Q8_0] = gemm_q8_0;
}

#else /* not x86-64 */

void atl_kernels_avx512_init(struct atl_kernels *k)
{
	(void)k;
}

#endif
