/* Portable dot-product kernels and activation quantisers: the reference the
 * SIMD versions are tested against. Integer sums are exact, so SIMD and
 * generic differ only in the order of float additions. Formulas follow
 * GGML's ggml-quants.c / ggml-cpu quants.c generic paths. */
#include <math.h>
#include <string.h>

#include "infer/kernels.h"

static float dot_f32(size_t n, const void *w, const void *x)
{
	const float *a = w, *b = x;
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)(a[i] * b[i]);
	return (float)s;
}

static float dot_f16(size_t n, const void *w, const void *x)
{
	const uint16_t *a = w, *b = x;
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)(atl_fp16_to_fp32(a[i]) * atl_fp16_to_fp32(b[i]));
	return (float)s;
}

static float dot_bf16(size_t n, const void *w, const void *x)
{
	const uint16_t *a = w, *b = x;
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)(atl_bf16_to_fp32(a[i]) * atl_bf16_to_fp32(b[i]));
	return (float)s;
}

static float dot_q8_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q8_0 *a = w, *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 32; i++) {
		int sumi = 0;
		for (int j = 0; j < 32; j++)
			sumi += a[i].qs[j] * b[i].qs[j];
		s += (float)sumi * (atl_fp16_to_fp32(a[i].d) * atl_fp16_to_fp32(b[i].d));
	}
	return s;
}

static float dot_q4_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q4_0 *a = w;
	const struct atl_blk_q8_0 *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 32; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			int v0 = (a[i].qs[j] & 0x0F) - 8;
			int v1 = (a[i].qs[j] >> 4) - 8;
			sumi += v0 * b[i].qs[j] + v1 * b[i].qs[j + 16];
		}
		s += (float)sumi * (atl_fp16_to_fp32(a[i].d) * atl_fp16_to_fp32(b[i].d));
	}
	return s;
}

/* Q4_1/Q5_1 use Q8_0 activations here (GGML uses Q8_1, whose fp16 sum term
 * rounds differently: agreement is ~1e-3, not 1e-6). */
static float dot_q4_1(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q4_1 *a = w;
	const struct atl_blk_q8_0 *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 32; i++) {
		int sumi = 0, sumq = 0;
		for (int j = 0; j < 16; j++) {
			sumi += (a[i].qs[j] & 0x0F) * b[i].qs[j] + (a[i].qs[j] >> 4) * b[i].qs[j + 16];
			sumq += b[i].qs[j] + b[i].qs[j + 16];
		}
		float dx = atl_fp16_to_fp32(b[i].d);
		s += (float)sumi * (atl_fp16_to_fp32(a[i].d) * dx) +
		     atl_fp16_to_fp32(a[i].m) * dx * (float)sumq;
	}
	return s;
}

static float dot_q5_0(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q5_0 *a = w;
	const struct atl_blk_q8_0 *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, a[i].qh, 4);
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			int h0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
			int h1 = (int)((qh >> (j + 12)) & 0x10);
			int v0 = ((a[i].qs[j] & 0x0F) | h0) - 16;
			int v1 = ((a[i].qs[j] >> 4) | h1) - 16;
			sumi += v0 * b[i].qs[j] + v1 * b[i].qs[j + 16];
		}
		s += (float)sumi * (atl_fp16_to_fp32(a[i].d) * atl_fp16_to_fp32(b[i].d));
	}
	return s;
}

static float dot_q5_1(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q5_1 *a = w;
	const struct atl_blk_q8_0 *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, a[i].qh, 4);
		int sumi = 0, sumq = 0;
		for (int j = 0; j < 16; j++) {
			int h0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
			int h1 = (int)((qh >> (j + 12)) & 0x10);
			int v0 = (a[i].qs[j] & 0x0F) | h0;
			int v1 = (a[i].qs[j] >> 4) | h1;
			sumi += v0 * b[i].qs[j] + v1 * b[i].qs[j + 16];
			sumq += b[i].qs[j] + b[i].qs[j + 16];
		}
		float dx = atl_fp16_to_fp32(b[i].d);
		s += (float)sumi * (atl_fp16_to_fp32(a[i].d) * dx) +
		     atl_fp16_to_fp32(a[i].m) * dx * (float)sumq;
	}
	return s;
}

static float dot_q4_k(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q4_k *a = w;
	const struct atl_blk_q8_k *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 256; i++) {
		const uint8_t *q = a[i].qs;
		const int8_t *y = b[i].qs;
		int sumi = 0, summ = 0;
		for (int j = 0; j < 4; j++) {
			uint8_t sc0, m0, sc1, m1;
			atl_get_scale_min_k4(2 * j, a[i].scales, &sc0, &m0);
			atl_get_scale_min_k4(2 * j + 1, a[i].scales, &sc1, &m1);
			int s0 = 0, s1 = 0;
			for (int l = 0; l < 32; l++) {
				s0 += (q[l] & 0xF) * y[l];
				s1 += (q[l] >> 4) * y[l + 32];
			}
			sumi += sc0 * s0 + sc1 * s1;
			summ += m0 * (b[i].bsums[4 * j] + b[i].bsums[4 * j + 1]) +
				m1 * (b[i].bsums[4 * j + 2] + b[i].bsums[4 * j + 3]);
			q += 32;
			y += 64;
		}
		s += atl_fp16_to_fp32(a[i].d) * b[i].d * (float)sumi -
		     atl_fp16_to_fp32(a[i].dmin) * b[i].d * (float)summ;
	}
	return s;
}

static float dot_q5_k(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q5_k *a = w;
	const struct atl_blk_q8_k *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 256; i++) {
		const uint8_t *q = a[i].qs;
		const int8_t *y = b[i].qs;
		int sumi = 0, summ = 0;
		uint8_t u1 = 1, u2 = 2;
		for (int j = 0; j < 4; j++) {
			uint8_t sc0, m0, sc1, m1;
			atl_get_scale_min_k4(2 * j, a[i].scales, &sc0, &m0);
			atl_get_scale_min_k4(2 * j + 1, a[i].scales, &sc1, &m1);
			int s0 = 0, s1 = 0;
			for (int l = 0; l < 32; l++) {
				s0 += ((q[l] & 0xF) + ((a[i].qh[l] & u1) ? 16 : 0)) * y[l];
				s1 += ((q[l] >> 4) + ((a[i].qh[l] & u2) ? 16 : 0)) * y[l + 32];
			}
			sumi += sc0 * s0 + sc1 * s1;
			summ += m0 * (b[i].bsums[4 * j] + b[i].bsums[4 * j + 1]) +
				m1 * (b[i].bsums[4 * j + 2] + b[i].bsums[4 * j + 3]);
			q += 32;
			y += 64;
			u1 = (uint8_t)(u1 << 2);
			u2 = (uint8_t)(u2 << 2);
		}
		s += atl_fp16_to_fp32(a[i].d) * b[i].d * (float)sumi -
		     atl_fp16_to_fp32(a[i].dmin) * b[i].d * (float)summ;
	}
	return s;
}

static float dot_q6_k(size_t n, const void *w, const void *x)
{
	const struct atl_blk_q6_k *a = w;
	const struct atl_blk_q8_k *b = x;
	float s = 0.0f;
	for (size_t i = 0; i < n / 256; i++) {
		const uint8_t *ql = a[i].ql, *qh = a[i].qh;
		const int8_t *sc = a[i].scales, *y = b[i].qs;
		int sumi = 0;
		for (int h = 0; h < 2; h++) {
			int acc[8] = {0};
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				acc[is + 0] += q1 * y[l];
				acc[is + 2] += q2 * y[l + 32];
				acc[is + 4] += q3 * y[l + 64];
				acc[is + 6] += q4 * y[l + 96];
			}
			for (int k = 0; k < 8; k++)
				sumi += sc[k] * acc[k];
			ql += 64;
			qh += 32;
			sc += 8;
			y += 128;
		}
		s += atl_fp16_to_fp32(a[i].d) * b[i].d * (float)sumi;
	}
	return s;
}

/* Q8_0 as GGML's x86 quantize_row_q8_0: d = amax/127 (stored fp16),
 * q = round-to-nearest-even(x * 127/amax). */
static void quant_q8_0(const float *x, void *vy, size_t n)
{
	struct atl_blk_q8_0 *y = vy;
	for (size_t i = 0; i < n / 32; i++) {
		float amax = 0.0f;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(x[i * 32 + j]));
		float d = amax / 127.0f;
		float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		y[i].d = atl_fp32_to_fp16(d);
		for (int j = 0; j < 32; j++)
			y[i].qs[j] = (int8_t)nearbyintf(x[i * 32 + j] * id);
	}
}

static void quant_f16(const float *x, void *vy, size_t n)
{
	uint16_t *y = vy;
	for (size_t i = 0; i < n; i++)
		y[i] = atl_fp32_to_fp16(x[i]);
}

void atl_kernels_generic_init(struct atl_kernels *k)
{
	memset(k, 0, sizeof(*k));
	k->dot[ATL_GGML_TYPE_F32] = dot_f32;
	k->dot[ATL_GGML_TYPE_F16] = dot_f16;
	k->dot[ATL_GGML_TYPE_BF16] = dot_bf16;
	k->dot[ATL_GGML_TYPE_Q8_0] = dot_q8_0;
	k->dot[ATL_GGML_TYPE_Q4_0] = dot_q4_0;
	k->dot[ATL_GGML_TYPE_Q4_1] = dot_q4_1;
	k->dot[ATL_GGML_TYPE_Q5_0] = dot_q5_0;
	k->dot[ATL_GGML_TYPE_Q5_1] = dot_q5_1;
	k->dot[ATL_GGML_TYPE_Q4_K] = dot_q4_k;
	k->dot[ATL_GGML_TYPE_Q5_K] = dot_q5_k;
	k->dot[ATL_GGML_TYPE_Q6_K] = dot_q6_k;
	k->quant_q8_0 = quant_q8_0;
	k->quant_f16 = quant_f16;
}
