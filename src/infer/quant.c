/* Element types: conversions, dequantisation, quantisation and the kernel
 * dispatch behind quant.h. Block formulas are GGML's (ggml-quants.c). */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "atoll/quant.h"
#include "infer/kernels.h"

/* ---- scalar conversions ---- */

static inline uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

float atl_fp16_to_fp32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1Fu;
	uint32_t man = h & 0x3FFu;
	if (exp == 0x1F) /* inf / nan */
		return u2f(sign | 0x7F800000u | (man << 13));
	if (exp == 0) {
		if (man == 0)
			return u2f(sign);
		/* subnormal: man * 2^-24 exactly */
		float v = (float)man * 0x1p-24f;
		return sign ? -v : v;
	}
	return u2f(sign | ((exp + 112u) << 23) | (man << 13));
}

/* Round to nearest even, like F16C's _cvtss_sh(x, 0) that GGML uses on x86. */
uint16_t atl_fp32_to_fp16(float f)
{
	uint32_t x = f2u(f);
	uint32_t sign = (x >> 16) & 0x8000u;
	uint32_t ax = x & 0x7FFFFFFFu;
	if (ax >= 0x7F800000u) /* inf or nan (keep nan quiet) */
		return (uint16_t)(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0));
	if (ax >= 0x477FF000u) /* rounds to >= 65520: overflow to inf */
		return (uint16_t)(sign | 0x7C00u);
	if (ax < 0x38800000u) { /* below 2^-14: subnormal half or zero */
		/* add 0.5 (as a float) to align the mantissa at 2^-24 units; the
		 * FPU rounds to nearest even for us */
		float v = u2f(ax) + 0.5f;
		return (uint16_t)(sign | (f2u(v) - 0x3F000000u));
	}
	uint32_t mant_odd = (ax >> 13) & 1u;
	ax += 0xC8000FFFu + mant_odd; /* rebias exponent (-112 << 23) and round */
	return (uint16_t)(sign | (ax >> 13));
}

float atl_bf16_to_fp32(uint16_t h)
{
	return u2f((uint32_t)h << 16);
}

uint16_t atl_fp32_to_bf16(float f)
{
	uint32_t u = f2u(f);
	if ((u & 0x7FFFFFFFu) > 0x7F800000u) /* nan: keep it quiet */
		return (uint16_t)((u >> 16) | 64u);
	return (uint16_t)((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

/* ---- types ---- */

bool atl_quant_can_dequantize(uint32_t t)
{
	switch (t) {
	case ATL_GGML_TYPE_F32: case ATL_GGML_TYPE_F16: case ATL_GGML_TYPE_BF16:
	case ATL_GGML_TYPE_Q4_0: case ATL_GGML_TYPE_Q4_1: case ATL_GGML_TYPE_Q5_0:
	case ATL_GGML_TYPE_Q5_1: case ATL_GGML_TYPE_Q8_0: case ATL_GGML_TYPE_Q4_K:
	case ATL_GGML_TYPE_Q5_K: case ATL_GGML_TYPE_Q6_K: case ATL_GGML_TYPE_Q8_K:
		return true;
	default:
		return false;
	}
}

uint32_t atl_quant_dot_type(uint32_t t)
{
	switch (t) {
	case ATL_GGML_TYPE_F32: return ATL_GGML_TYPE_F32;
	case ATL_GGML_TYPE_F16: return ATL_GGML_TYPE_F16;
	case ATL_GGML_TYPE_BF16: return ATL_GGML_TYPE_BF16;
	case ATL_GGML_TYPE_Q4_0: case ATL_GGML_TYPE_Q4_1: case ATL_GGML_TYPE_Q5_0:
	case ATL_GGML_TYPE_Q5_1: case ATL_GGML_TYPE_Q8_0:
		return ATL_GGML_TYPE_Q8_0;
	case ATL_GGML_TYPE_Q4_K: case ATL_GGML_TYPE_Q5_K: case ATL_GGML_TYPE_Q6_K:
		return ATL_GGML_TYPE_Q8_K;
	default:
		return ATL_GGML_TYPE__END;
	}
}

bool atl_quant_can_matmul(uint32_t t)
{
	return atl_quant_dot_type(t) != ATL_GGML_TYPE__END;
}

/* ---- dequantisation ---- */

static void deq_q4_0(const struct atl_blk_q4_0 *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, y += 32) {
		float d = atl_fp16_to_fp32(b[i].d);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
			y[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void deq_q4_1(const struct atl_blk_q4_1 *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, y += 32) {
		float d = atl_fp16_to_fp32(b[i].d), m = atl_fp16_to_fp32(b[i].m);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)(b[i].qs[j] & 0x0F) * d + m;
			y[j + 16] = (float)(b[i].qs[j] >> 4) * d + m;
		}
	}
}

static void deq_q5_0(const struct atl_blk_q5_0 *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, y += 32) {
		float d = atl_fp16_to_fp32(b[i].d);
		uint32_t qh;
		memcpy(&qh, b[i].qh, 4);
		for (int j = 0; j < 16; j++) {
			int h0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
			int h1 = (int)((qh >> (j + 12)) & 0x10);
			y[j] = (float)(((b[i].qs[j] & 0x0F) | h0) - 16) * d;
			y[j + 16] = (float)(((b[i].qs[j] >> 4) | h1) - 16) * d;
		}
	}
}

static void deq_q5_1(const struct atl_blk_q5_1 *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, y += 32) {
		float d = atl_fp16_to_fp32(b[i].d), m = atl_fp16_to_fp32(b[i].m);
		uint32_t qh;
		memcpy(&qh, b[i].qh, 4);
		for (int j = 0; j < 16; j++) {
			int h0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
			int h1 = (int)((qh >> (j + 12)) & 0x10);
			y[j] = (float)((b[i].qs[j] & 0x0F) | h0) * d + m;
			y[j + 16] = (float)((b[i].qs[j] >> 4) | h1) * d + m;
		}
	}
}

static void deq_q8_0(const struct atl_blk_q8_0 *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, y += 32) {
		float d = atl_fp16_to_fp32(b[i].d);
		for (int j = 0; j < 32; j++)
			y[j] = (float)b[i].qs[j] * d;
	}
}

static void deq_q4_k(const struct atl_blk_q4_k *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		float d = atl_fp16_to_fp32(b[i].d), dmin = atl_fp16_to_fp32(b[i].dmin);
		const uint8_t *q = b[i].qs;
		for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
			uint8_t sc, m;
			atl_get_scale_min_k4(is, b[i].scales, &sc, &m);
			float d1 = d * sc, m1 = dmin * m;
			atl_get_scale_min_k4(is + 1, b[i].scales, &sc, &m);
			float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)(q[l] & 0xF) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (float)(q[l] >> 4) - m2;
			q += 32;
		}
	}
}

static void deq_q5_k(const struct atl_blk_q5_k *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		float d = atl_fp16_to_fp32(b[i].d), dmin = atl_fp16_to_fp32(b[i].dmin);
		const uint8_t *ql = b[i].qs, *qh = b[i].qh;
		uint8_t u1 = 1, u2 = 2;
		for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
			uint8_t sc, m;
			atl_get_scale_min_k4(is, b[i].scales, &sc, &m);
			float d1 = d * sc, m1 = dmin * m;
			atl_get_scale_min_k4(is + 1, b[i].scales, &sc, &m);
			float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
			ql += 32;
			u1 = (uint8_t)(u1 << 2);
			u2 = (uint8_t)(u2 << 2);
		}
	}
}

static void deq_q6_k(const struct atl_blk_q6_k *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		float d = atl_fp16_to_fp32(b[i].d);
		const uint8_t *ql = b[i].ql, *qh = b[i].qh;
		const int8_t *sc = b[i].scales;
		for (int n = 0; n < 256; n += 128) {
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				y[l + 0] = d * (float)sc[is + 0] * (float)q1;
				y[l + 32] = d * (float)sc[is + 2] * (float)q2;
				y[l + 64] = d * (float)sc[is + 4] * (float)q3;
				y[l + 96] = d * (float)sc[is + 6] * (float)q4;
			}
			y += 128;
			ql += 64;
			qh += 32;
			sc += 8;
		}
	}
}

static void deq_q8_k(const struct atl_blk_q8_k *b, float *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		for (int j = 0; j < 256; j++)
			*y++ = b[i].d * (float)b[i].qs[j];
}

enum atl_err atl_quant_dequantize(uint32_t t, const void *src, float *dst, size_t n)
{
	if (!atl_quant_can_dequantize(t))
		return ATL_E_UNSUPPORTED;
	size_t bs = atl_ggml_blck_size(t);
	if (bs == 0 || n % bs != 0)
		return ATL_E_ARG;
	size_t nb = n / bs;
	const uint16_t *h = src;
	switch (t) {
	case ATL_GGML_TYPE_F32: memcpy(dst, src, n * sizeof(float)); break;
	case ATL_GGML_TYPE_F16:
		for (size_t i = 0; i < n; i++)
			dst[i] = atl_fp16_to_fp32(h[i]);
		break;
	case ATL_GGML_TYPE_BF16:
		for (size_t i = 0; i < n; i++)
			dst[i] = atl_bf16_to_fp32(h[i]);
		break;
	case ATL_GGML_TYPE_Q4_0: deq_q4_0(src, dst, nb); break;
	case ATL_GGML_TYPE_Q4_1: deq_q4_1(src, dst, nb); break;
	case ATL_GGML_TYPE_Q5_0: deq_q5_0(src, dst, nb); break;
	case ATL_GGML_TYPE_Q5_1: deq_q5_1(src, dst, nb); break;
	case ATL_GGML_TYPE_Q8_0: deq_q8_0(src, dst, nb); break;
	case ATL_GGML_TYPE_Q4_K: deq_q4_k(src, dst, nb); break;
	case ATL_GGML_TYPE_Q5_K: deq_q5_k(src, dst, nb); break;
	case ATL_GGML_TYPE_Q6_K: deq_q6_k(src, dst, nb); break;
	case ATL_GGML_TYPE_Q8_K: deq_q8_k(src, dst, nb); break;
	default: return ATL_E_INTERNAL;
	}
	return ATL_OK;
}

/* ---- quantisation ---- */

/* GGML nearest_int: round half to even through the float mantissa. */
static inline int nearest_int(float fval)
{
	float val = fval + 12582912.f;
	int i;
	memcpy(&i, &val, sizeof(int));
	return (i & 0x007fffff) - 0x00400000;
}

/* GGML quantize_row_q8_K_ref. */
static void quant_q8_k(const float *x, struct atl_blk_q8_k *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, x += 256) {
		float max = 0.0f, amax = 0.0f;
		for (int j = 0; j < 256; j++) {
			float ax = fabsf(x[j]);
			if (ax > amax) {
				amax = ax;
				max = x[j];
			}
		}
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof(y[i]));
			continue;
		}
		const float iscale = -127.f / max;
		for (int j = 0; j < 256; j++) {
			int v = nearest_int(iscale * x[j]);
			y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
		}
		for (int j = 0; j < 16; j++) {
			int sum = 0;
			for (int k = 0; k < 16; k++)
				sum += y[i].qs[j * 16 + k];
			y[i].bsums[j] = (int16_t)sum;
		}
		y[i].d = 1 / iscale;
	}
}

/* GGML quantize_row_q4_0_ref. */
static void quant_q4_0(const float *x, struct atl_blk_q4_0 *y, size_t nb)
{
	for (size_t i = 0; i < nb; i++, x += 32) {
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < 32; j++) {
			if (amax < fabsf(x[j])) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		const float d = max / -8;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = atl_fp32_to_fp16(d);
		for (int j = 0; j < 16; j++) {
			float x0 = x[j] * id + 8.5f, x1 = x[16 + j] * id + 8.5f;
			int q0 = (int)(int8_t)x0, q1 = (int)(int8_t)x1;
			q0 = q0 < 15 ? q0 : 15;
			q1 = q1 < 15 ? q1 : 15;
			y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
		}
	}
}

enum atl_err atl_quant_quantize(uint32_t t, const float *src, void *dst, size_t n)
{
	size_t bs = atl_ggml_blck_size(t);
	if (bs == 0)
		return ATL_E_UNSUPPORTED;
	if (n % bs != 0)
		return ATL_E_ARG;
	uint16_t *h = dst;
	switch (t) {
	case ATL_GGML_TYPE_F32: memcpy(dst, src, n * sizeof(float)); break;
	case ATL_GGML_TYPE_F16: atl_kernels_get()->quant_f16(src, dst, n); break;
	case ATL_GGML_TYPE_BF16:
		for (size_t i = 0; i < n; i++)
			h[i] = atl_fp32_to_bf16(src[i]);
		break;
	case ATL_GGML_TYPE_Q8_0: atl_kernels_get()->quant_q8_0(src, dst, n); break;
	case ATL_GGML_TYPE_Q8_K: quant_q8_k(src, dst, n / bs); break;
	case ATL_GGML_TYPE_Q4_0: quant_q4_0(src, dst, n / bs); break;
	default: return ATL_E_UNSUPPORTED;
	}
	return ATL_OK;
}

/* ---- dispatch ---- */

static struct atl_kernels g_kernels;
static enum atl_quant_isa g_isa;
static int g_ready; /* set after the first selection */

bool atl_quant_isa_available(enum atl_quant_isa isa)
{
	switch (isa) {
	case ATL_QUANT_ISA_GENERIC:
		return true;
#if defined(__x86_64__) || defined(__i386__)
	case ATL_QUANT_ISA_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	case ATL_QUANT_ISA_AVX512:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		       __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
		       __builtin_cpu_supports("avx512vnni");
#endif
	default:
		return false;
	}
}

const char *atl_quant_isa_name(enum atl_quant_isa isa)
{
	switch (isa) {
	case ATL_QUANT_ISA_GENERIC: return "generic";
	case ATL_QUANT_ISA_AVX2: return "avx2";
	case ATL_QUANT_ISA_AVX512: return "avx512";
	default: return "?";
	}
}

static void select_isa(enum atl_quant_isa isa)
{
	struct atl_kernels k;
	atl_kernels_generic_init(&k);
	if (isa >= ATL_QUANT_ISA_AVX2)
		atl_kernels_avx2_init(&k);
	if (isa >= ATL_QUANT_ISA_AVX512)
		atl_kernels_avx512_init(&k);
	g_kernels = k;
	g_isa = isa;
	__atomic_store_n(&g_ready, 1, __ATOMIC_RELEASE);
}

static void select_best(void)
{
	enum atl_quant_isa isa = ATL_QUANT_ISA_GENERIC;
	if (atl_quant_isa_available(ATL_QUANT_ISA_AVX512))
		isa = ATL_QUANT_ISA_AVX512;
	else if (atl_quant_isa_available(ATL_QUANT_ISA_AVX2))
		isa = ATL_QUANT_ISA_AVX2;
	select_isa(isa);
}

const struct atl_kernels *atl_kernels_get(void)
{
	if (!__atomic_load_n(&g_ready, __ATOMIC_ACQUIRE)) {
		static pthread_once_t once = PTHREAD_ONCE_INIT;
		(void)pthread_once(&once, select_best);
	}
	return &g_kernels;
}

enum atl_quant_isa atl_quant_isa(void)
{
	(void)atl_kernels_get();
	return g_isa;
}

enum atl_err atl_quant_set_isa(enum atl_quant_isa isa)
{
	if (!atl_quant_isa_available(isa))
		return ATL_E_UNSUPPORTED;
	(void)atl_kernels_get();
	select_isa(isa);
	return ATL_OK;
}

float atl_quant_dot(uint32_t t, size_t n, const void *w, const void *x)
{
	return atl_kernels_get()->dot[t](n, w, x);
}
