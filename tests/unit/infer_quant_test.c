/* Element types and kernels (quant.h): conversions, block layouts, and every
 * SIMD kernel against the portable reference on random data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/quant.h"
#include "infer/kernels.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static float rndf(void) /* uniform in [-1, 1) */
{
	return (float)rnd32() / 2147483648.0f - 1.0f;
}

static void test_fp16(void **state)
{
	(void)state;
	assert_int_equal(atl_fp32_to_fp16(1.0f), 0x3C00);
	assert_int_equal(atl_fp32_to_fp16(-2.0f), 0xC000);
	assert_int_equal(atl_fp32_to_fp16(65504.0f), 0x7BFF);
	assert_int_equal(atl_fp32_to_fp16(65520.0f), 0x7C00);
	assert_int_equal(atl_fp32_to_fp16(0x1p-24f), 0x0001);
	assert_int_equal(atl_fp32_to_fp16(0x1p-25f), 0x0000); /* tie to even */
	assert_int_equal(atl_fp32_to_fp16(0.1f), 0x2E66);
	assert_true(atl_fp16_to_fp32(0x3555) > 0.333f && atl_fp16_to_fp32(0x3555) < 0.334f);
	/* every finite half survives the round trip */
	for (uint32_t h = 0; h < 0x10000u; h++) {
		if ((h & 0x7C00u) == 0x7C00u)
			continue;
		assert_int_equal(atl_fp32_to_fp16(atl_fp16_to_fp32((uint16_t)h)), h);
	}
	assert_int_equal(atl_fp32_to_bf16(1.0f), 0x3F80);
	assert_true(atl_bf16_to_fp32(0x4049) > 3.1f && atl_bf16_to_fp32(0x4049) < 3.15f);
}

static void test_layouts(void **state)
{
	(void)state;
	/* Q8_0: d = 0.5, q = j - 16 */
	uint8_t q8[34];
	uint16_t d = atl_fp32_to_fp16(0.5f);
	memcpy(q8, &d, 2);
	for (int j = 0; j < 32; j++)
		q8[2 + j] = (uint8_t)(int8_t)(j - 16);
	float y[32];
	assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q8_0, q8, y, 32), ATL_OK);
	for (int j = 0; j < 32; j++)
		assert_true(y[j] == 0.5f * (float)(j - 16));
	/* Q4_0: low nibbles are elements 0..15, high nibbles 16..31 */
	uint8_t q4[18];
	d = atl_fp32_to_fp16(2.0f);
	memcpy(q4, &d, 2);
	for (int j = 0; j < 16; j++)
		q4[2 + j] = (uint8_t)(j | ((15 - j) << 4));
	assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q4_0, q4, y, 32), ATL_OK);
	for (int j = 0; j < 16; j++) {
		assert_true(y[j] == 2.0f * (float)(j - 8));
		assert_true(y[j + 16] == 2.0f * (float)(7 - j));
	}
	/* errors */
	assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q2_K, q4, y, 256), ATL_E_UNSUPPORTED);
	assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q8_0, q8, y, 31), ATL_E_ARG);
	assert_int_equal(atl_quant_quantize(ATL_GGML_TYPE_Q6_K, y, q8, 256), ATL_E_UNSUPPORTED);
	assert_int_equal(atl_quant_quantize(ATL_GGML_TYPE_Q8_0, y, q8, 33), ATL_E_ARG);
	assert_int_equal(atl_quant_quantize(9999, y, q8, 32), ATL_E_UNSUPPORTED);
	assert_false(atl_quant_can_matmul(ATL_GGML_TYPE_Q8_K));
	assert_true(atl_quant_can_dequantize(ATL_GGML_TYPE_Q8_K));
	assert_int_equal(atl_quant_dot_type(ATL_GGML_TYPE_Q4_K), ATL_GGML_TYPE_Q8_K);
	assert_int_equal(atl_quant_dot_type(ATL_GGML_TYPE_Q4_0), ATL_GGML_TYPE_Q8_0);
	assert_int_equal(atl_quant_dot_type(ATL_GGML_TYPE_I32), ATL_GGML_TYPE__END);
}

/* Random blocks of type t: random bytes, then sane fp16 scale fields. */
static void fill_random(uint32_t t, uint8_t *buf, size_t n_elems)
{
	size_t bs = atl_ggml_blck_size(t), ts = atl_ggml_type_size(t), nb = n_elems / bs;
	if (t == ATL_GGML_TYPE_F32) {
		for (size_t i = 0; i < n_elems; i++) {
			float f = rndf();
			memcpy(buf + 4 * i, &f, 4);
		}
		return;
	}
	if (t == ATL_GGML_TYPE_F16 || t == ATL_GGML_TYPE_BF16) {
		for (size_t i = 0; i < n_elems; i++) {
			uint16_t h = t == ATL_GGML_TYPE_F16 ? atl_fp32_to_fp16(rndf())
							    : atl_fp32_to_bf16(rndf());
			memcpy(buf + 2 * i, &h, 2);
		}
		return;
	}
	for (size_t i = 0; i < nb * ts; i++)
		buf[i] = (uint8_t)rnd32();
	for (size_t b = 0; b < nb; b++) {
		uint8_t *p = buf + b * ts;
		uint16_t d0 = atl_fp32_to_fp16(0.01f + 0.02f * fabsf(rndf()));
		uint16_t d1 = atl_fp32_to_fp16(0.01f * fabsf(rndf()));
		switch (t) {
		case ATL_GGML_TYPE_Q4_1: case ATL_GGML_TYPE_Q5_1:
		case ATL_GGML_TYPE_Q4_K: case ATL_GGML_TYPE_Q5_K:
			memcpy(p + 2, &d1, 2);
			/* fall through */
		case ATL_GGML_TYPE_Q4_0: case ATL_GGML_TYPE_Q5_0: case ATL_GGML_TYPE_Q8_0:
			memcpy(p, &d0, 2);
			break;
		case ATL_GGML_TYPE_Q6_K:
			memcpy(p + 208, &d0, 2);
			break;
		default:
			fail_msg("no filler for type %u", t);
		}
	}
}

static const uint32_t matmul_types[] = {
	ATL_GGML_TYPE_F32, ATL_GGML_TYPE_F16, ATL_GGML_TYPE_BF16, ATL_GGML_TYPE_Q4_0,
	ATL_GGML_TYPE_Q4_1, ATL_GGML_TYPE_Q5_0, ATL_GGML_TYPE_Q5_1, ATL_GGML_TYPE_Q8_0,
	ATL_GGML_TYPE_Q4_K, ATL_GGML_TYPE_Q5_K, ATL_GGML_TYPE_Q6_K,
};

/* For each weight type: generic dot == sum of dequantised products (double),
 * and every available SIMD dot == generic, relative to sum |w x|. */
static void test_dots(void **state)
{
	(void)state;
	const size_t ns[] = {256, 512, 768, 2048, 4352};
	for (size_t ti = 0; ti < sizeof(matmul_types) / sizeof(matmul_types[0]); ti++) {
		uint32_t t = matmul_types[ti], xt = atl_quant_dot_type(t);
		for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
			size_t n = ns[ni], wsz, xsz;
			assert_int_equal(atl_ggml_row_size(t, n, &wsz), ATL_OK);
			assert_int_equal(atl_ggml_row_size(xt, n, &xsz), ATL_OK);
			uint8_t *w = malloc(wsz), *xq = malloc(xsz);
			float *x = malloc(n * 4), *wd = malloc(n * 4), *xd = malloc(n * 4);
			assert_non_null(w);
			assert_non_null(xq);
			assert_non_null(x);
			assert_non_null(wd);
			assert_non_null(xd);
			fill_random(t, w, n);
			for (size_t i = 0; i < n; i++)
				x[i] = rndf() * 3.0f;
			assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
			assert_int_equal(atl_quant_quantize(xt, x, xq, n), ATL_OK);
			assert_int_equal(atl_quant_dequantize(t, w, wd, n), ATL_OK);
			assert_int_equal(atl_quant_dequantize(xt, xq, xd, n), ATL_OK);
			double ref = 0.0, mag = 0.0;
			for (size_t i = 0; i < n; i++) {
				ref += (double)wd[i] * (double)xd[i];
				mag += fabs((double)wd[i] * (double)xd[i]);
			}
			float g = atl_quant_dot(t, n, w, xq);
			if (fabs((double)g - ref) > 1e-5 * mag + 1e-6)
				fail_msg("type %s n %zu: generic %g vs reference %g",
					 atl_ggml_type_name(t), n, (double)g, ref);
			for (int isa = ATL_QUANT_ISA_AVX2; isa <= ATL_QUANT_ISA_AVX512; isa++) {
				if (!atl_quant_isa_available((enum atl_quant_isa)isa))
					continue;
				assert_int_equal(atl_quant_set_isa((enum atl_quant_isa)isa), ATL_OK);
				float s = atl_quant_dot(t, n, w, xq);
				if (fabs((double)s - (double)g) > 1e-5 * mag + 1e-6)
					fail_msg("type %s n %zu isa %s: %g vs generic %g",
						 atl_ggml_type_name(t), n,
						 atl_quant_isa_name((enum atl_quant_isa)isa),
						 (double)s, (double)g);
			}
			free(w);
			free(xq);
			free(x);
			free(wd);
			free(xd);
		}
	}
	assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
}

/* Activation quantisers: SIMD output is bit-identical to the reference. */
static void test_quantizers(void **state)
{
	(void)state;
	enum { N = 4096 };
	float *x = malloc(N * 4);
	uint8_t *a = malloc(N * 2 + 64), *b = malloc(N * 2 + 64);
	assert_non_null(x);
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < N; i++)
		x[i] = rndf() * (float)(1 + (i % 97));
	for (size_t i = 0; i < 32; i++) /* an all-zero block */
		x[64 + i] = 0.0f;
	const uint32_t types[] = {ATL_GGML_TYPE_Q8_0, ATL_GGML_TYPE_F16};
	for (size_t k = 0; k < 2; k++) {
		size_t sz;
		assert_int_equal(atl_ggml_row_size(types[k], N, &sz), ATL_OK);
		assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
		assert_int_equal(atl_quant_quantize(types[k], x, a, N), ATL_OK);
		for (int isa = ATL_QUANT_ISA_AVX2; isa <= ATL_QUANT_ISA_AVX512; isa++) {
			if (!atl_quant_isa_available((enum atl_quant_isa)isa))
				continue;
			assert_int_equal(atl_quant_set_isa((enum atl_quant_isa)isa), ATL_OK);
			assert_int_equal(atl_quant_quantize(types[k], x, b, N), ATL_OK);
			assert_memory_equal(a, b, sz);
		}
	}
	/* Q8_0 of known values: amax 127 -> d 1, q = round-half-even(x) */
	float v[32] = {0};
	v[0] = 127.0f;
	v[1] = 2.5f;
	v[2] = -3.5f;
	assert_int_equal(atl_quant_quantize(ATL_GGML_TYPE_Q8_0, v, a, 32), ATL_OK);
	assert_int_equal((int8_t)a[2], 127);
	assert_int_equal((int8_t)a[3], 2);
	assert_int_equal((int8_t)a[4], -4);
	/* Q4_0 and Q8_K round trips stay within half a step */
	float y[N];
	assert_int_equal(atl_quant_quantize(ATL_GGML_TYPE_Q4_0, x, a, N), ATL_OK);
	assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q4_0, a, y, N), ATL_OK);
	for (size_t blk = 0; blk < N / 32; blk++) {
		float amax = 0;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(x[blk * 32 + j]));
		for (int j = 0; j < 32; j++)
			assert_true(fabsf(y[blk * 32 + j] - x[blk * 32 + j]) <= amax / 8.0f * 1.01f + 1e-3f); /* -max clips to 7d */
	}
	uint8_t *k8 = malloc(N / 256 * 292);
	assert_non_null(k8);
	assert_int_equal(atl_quant_quantize(ATL_GGML_TYPE_Q8_K, x, k8, N), ATL_OK);
	assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q8_K, k8, y, N), ATL_OK);
	for (size_t i = 0; i < N; i++)
		assert_true(fabsf(y[i] - x[i]) <= 97.0f / 127.0f * 0.51f);
	free(k8);
	free(x);
	free(a);
	free(b);
	assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
}

/* The 1-row x 4-token kernels equal four single dot products. */
static void test_dot4(void **state)
{
	(void)state;
	const uint32_t types[] = {ATL_GGML_TYPE_Q8_0, ATL_GGML_TYPE_Q4_0, ATL_GGML_TYPE_F16};
	const size_t ns[] = {32, 64, 96, 2048, 5632};
	for (int isa = ATL_QUANT_ISA_GENERIC; isa <= ATL_QUANT_ISA_AVX512; isa++) {
		if (!atl_quant_isa_available((enum atl_quant_isa)isa))
			continue;
		assert_int_equal(atl_quant_set_isa((enum atl_quant_isa)isa), ATL_OK);
		const struct atl_kernels *k = atl_kernels_get();
		for (size_t ti = 0; ti < 3; ti++) {
			uint32_t t = types[ti], xt = atl_quant_dot_type(t);
			if (k->dot4[t] == NULL)
				continue;
			for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
				size_t n = ns[ni], wsz, xsz;
				assert_int_equal(atl_ggml_row_size(t, n, &wsz), ATL_OK);
				assert_int_equal(atl_ggml_row_size(xt, n, &xsz), ATL_OK);
				uint8_t *w = malloc(wsz), *xq = malloc(4 * xsz);
				float *x = malloc(n * 4);
				assert_non_null(w);
				assert_non_null(xq);
				assert_non_null(x);
				fill_random(t, w, n);
				for (int r = 0; r < 4; r++) {
					for (size_t i = 0; i < n; i++)
						x[i] = rndf() * (float)(r + 1);
					assert_int_equal(atl_quant_quantize(xt, x, xq + r * xsz, n),
							 ATL_OK);
				}
				float o[4];
				k->dot4[t](n, w, xq, xsz, o);
				for (int r = 0; r < 4; r++) {
					float s = k->dot[t](n, w, xq + r * xsz);
					if (o[r] != s) /* the same code: bit-identical */
						fail_msg("dot4 %s n %zu isa %d row %d: %g vs %g",
							 atl_ggml_type_name(t), n, isa, r, (double)o[r],
							 (double)s);
				}
				free(w);
				free(xq);
				free(x);
			}
		}
	}
	assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
}

/* The row-group GEMM kernels over packed weights (kernels.h): every output
 * equals the generic dot product of the original row (relative to sum
 * |w x|), for row counts with partial groups, odd block counts and token
 * counts off the kernel's tile; one token alone gives the same bits as in
 * a batch; buffers at odd addresses (unaligned loads) give the same bits. */
static void test_gemm(void **state)
{
	(void)state;
	const uint32_t types[] = {ATL_GGML_TYPE_Q4_0, ATL_GGML_TYPE_Q8_0};
	const uint32_t rows_list[] = {1, 16, 37};
	const size_t cols_list[] = {32, 224, 2080};
	const uint32_t toks_list[] = {1, 3, 7, 12};
	bool any = false;
	for (int isa = ATL_QUANT_ISA_GENERIC; isa <= ATL_QUANT_ISA_AVX512; isa++) {
		if (!atl_quant_isa_available((enum atl_quant_isa)isa))
			continue;
		assert_int_equal(atl_quant_set_isa((enum atl_quant_isa)isa), ATL_OK);
		const struct atl_kernels *k = atl_kernels_get();
		for (size_t ti = 0; ti < 2; ti++) {
			const uint32_t t = types[ti];
			if (k->gemm[t] == NULL)
				continue;
			any = true;
			for (size_t ri = 0; ri < 3; ri++)
			for (size_t ci = 0; ci < 3; ci++)
			for (size_t ki = 0; ki < 4; ki++) {
				const uint32_t rows = rows_list[ri], nt = toks_list[ki];
				const size_t n = cols_list[ci], nb = n / 32;
				size_t rs, xsz;
				assert_int_equal(atl_ggml_row_size(t, n, &rs), ATL_OK);
				assert_int_equal(atl_ggml_row_size(ATL_GGML_TYPE_Q8_0, n, &xsz), ATL_OK);
				const size_t xps = atl_q8p_size(n) + 4; /* rows 4-byte aligned */
				uint8_t *w = malloc(rs * rows), *xq = malloc(xsz * nt);
				uint8_t *xp = malloc(xps * nt + 1), *xp1 = malloc(xps * nt + 1);
				float *x = malloc(n * 4), *wd = malloc(n * 4), *xd = malloc(n * 4);
				float *y = malloc(sizeof(float) * rows * nt);
				float *y1 = malloc(sizeof(float) * rows * nt);
				assert_true(w && xq && xp && xp1 && x && wd && xd && y && y1);
				fill_random(t, w, n * rows);
				for (uint32_t j = 0; j < nt; j++) {
					for (size_t i = 0; i < n; i++)
						x[i] = rndf() * (float)(j + 1);
					assert_int_equal(atl_quant_quantize(ATL_GGML_TYPE_Q8_0, x,
									    xq + j * xsz, n), ATL_OK);
					atl_q8p_prepare(xq + j * xsz, nb, xp + j * xps);
				}
				uint8_t *pk;
				assert_int_equal(atl_pack_matrix(t, w, rows, (uint32_t)n, rs, &pk),
						 ATL_OK);
				const size_t gsz = nb * atl_pack_block_size(t);
				const size_t groups = (rows + 15) / 16;
				for (size_t g = 0; g < groups; g++) {
					const unsigned nr = (unsigned)(rows - g * 16 < 16 ? rows - g * 16 : 16);
					k->gemm[t](nb, pk + g * gsz, xp, xps, nt, y + g * 16, rows, nr);
				}
				/* token by token, with the prepared rows and the packed
				 * weights one byte off alignment */
				uint8_t *pk1 = malloc(groups * gsz + 1);
				assert_non_null(pk1);
				memcpy(pk1 + 1, pk, groups * gsz);
				memcpy(xp1 + 1, xp, xps * nt);
				for (uint32_t j = 0; j < nt; j++)
					for (size_t g = 0; g < groups; g++) {
						const unsigned nr = (unsigned)(rows - g * 16 < 16
										  ? rows - g * 16 : 16);
						k->gemm[t](nb, pk1 + 1 + g * gsz, xp1 + 1 + j * xps, xps, 1,
							   y1 + j * rows + g * 16, rows, nr);
					}
				assert_memory_equal(y, y1, sizeof(float) * rows * nt);
				for (uint32_t j = 0; j < nt; j++) {
					assert_int_equal(atl_quant_dequantize(ATL_GGML_TYPE_Q8_0,
									      xq + j * xsz, xd, n), ATL_OK);
					for (uint32_t r = 0; r < rows; r++) {
						const uint8_t *wr = w + r * rs;
						assert_int_equal(atl_quant_dequantize(t, wr, wd, n), ATL_OK);
						double mag = 0.0;
						for (size_t i = 0; i < n; i++)
							mag += fabs((double)wd[i] * (double)xd[i]);
						struct atl_kernels gk;
						atl_kernels_generic_init(&gk);
						const float ref = gk.dot[t](n, wr, xq + j * xsz);
						const float got = y[j * rows + r];
						if (fabs((double)got - (double)ref) > 1e-5 * mag + 1e-6)
							fail_msg("gemm %s rows %u n %zu toks %u: [%u][%u] %g vs generic %g",
								 atl_ggml_type_name(t), rows, n, nt, j, r,
								 (double)got, (double)ref);
					}
				}
				atl_pack_free(t, pk, rows, (uint32_t)n);
				free(pk1);
				free(w);
				free(xq);
				free(xp);
				free(xp1);
				free(x);
				free(wd);
				free(xd);
				free(y);
				free(y1);
			}
		}
	}
	if (!any)
		print_message("no gemm kernel on this CPU: skipped\n");
	/* no packing for other types; bad widths refused */
	uint8_t *pk = (uint8_t *)1;
	assert_int_equal(atl_pack_matrix(ATL_GGML_TYPE_F16, NULL, 1, 32, 64, &pk),
			 ATL_E_UNSUPPORTED);
	assert_null(pk);
	assert_int_equal(atl_pack_matrix(ATL_GGML_TYPE_Q4_0, NULL, 1, 33, 18, &pk), ATL_E_ARG);
	assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
}

static void test_isa(void **state)
{
	(void)state;
	assert_true(atl_quant_isa_available(ATL_QUANT_ISA_GENERIC));
	assert_int_equal(atl_quant_set_isa(ATL_QUANT_ISA_GENERIC), ATL_OK);
	assert_int_equal(atl_quant_isa(), ATL_QUANT_ISA_GENERIC);
	assert_string_equal(atl_quant_isa_name(ATL_QUANT_ISA_AVX2), "avx2");
	assert_int_equal(atl_quant_set_isa((enum atl_quant_isa)7), ATL_E_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp16),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_dots),
		cmocka_unit_test(test_quantizers),
		cmocka_unit_test(test_dot4),
		cmocka_unit_test(test_gemm),
		cmocka_unit_test(test_isa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
