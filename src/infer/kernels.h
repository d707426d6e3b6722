/* Private to src/infer: the kernel tables behind quant.h and the block
 * structs (GGML's layouts; see quant.h). Kernels read tensor data in place:
 * the structs are used only over buffers the model loader has validated to
 * hold whole blocks (tensor sizes checked by the GGUF reader). */
#ifndef ATOLL_INFER_KERNELS_H
#define ATOLL_INFER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/gguf.h"
#include "atoll/quant.h"

struct atl_blk_q4_0 { uint16_t d; uint8_t qs[16]; };
struct atl_blk_q4_1 { uint16_t d, m; uint8_t qs[16]; };
struct atl_blk_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct atl_blk_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct atl_blk_q8_0 { uint16_t d; int8_t qs[32]; };
struct atl_blk_q4_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct atl_blk_q5_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct atl_blk_q6_k { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct atl_blk_q8_k { float d; int8_t qs[256]; int16_t bsums[16]; };

_Static_assert(sizeof(struct atl_blk_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(struct atl_blk_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(struct atl_blk_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(struct atl_blk_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(struct atl_blk_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(struct atl_blk_q4_k) == 144, "q4_k layout");
_Static_assert(sizeof(struct atl_blk_q5_k) == 176, "q5_k layout");
_Static_assert(sizeof(struct atl_blk_q6_k) == 210, "q6_k layout");
_Static_assert(sizeof(struct atl_blk_q8_k) == 292, "q8_k layout");

typedef float (*atl_dot_fn)(size_t n, const void *w, const void *x);
typedef void (*atl_quant_fn)(const float *x, void *y, size_t n);
/* One weight row against 4 activation rows x, x + x_stride, ... (bytes):
 * out[k] = dot(w, x_k). Reads each weight block once for 4 tokens (prompt
 * processing). */
typedef void (*atl_dot4_fn)(size_t n, const void *w, const void *x, size_t x_stride, float *out);

/* Row-group GEMM over packed weights (repack.c): ATL_PACK_ROWS weight rows
 * of one group (wg, nb blocks of atl_pack_block_size(type) bytes) against
 * n_tok prepared activation rows (xp, xp_stride bytes apart, see
 * atl_q8p_prepare): y[t * y_stride + r] = dot(W[r], x_t) for r < n_rows.
 * Every token's result is computed by the same instructions whatever n_tok
 * is, so batched and token-by-token evaluation agree to the bit. */
typedef void (*atl_gemm_fn)(size_t nb, const uint8_t *wg, const uint8_t *xp, size_t xp_stride,
			    uint32_t n_tok, float *y, size_t y_stride, unsigned n_rows);

struct atl_kernels {
	atl_dot_fn dot[ATL_GGML_TYPE__END];   /* NULL: not a matmul weight type */
	atl_dot4_fn dot4[ATL_GGML_TYPE__END]; /* NULL: use dot 4 times */
	atl_gemm_fn gemm[ATL_GGML_TYPE__END]; /* NULL: no packed path for the type */
	atl_quant_fn quant_q8_0;              /* activation quantiser */
	atl_quant_fn quant_f16;
};

/* The active table (quant.c); never NULL after atl_kernels_get(). */
const struct atl_kernels *atl_kernels_get(void);

/* ---- packed weights (repack.c) ----
 *
 * A matrix of Q4_0 or Q8_0 rows is repacked at load time (when the active
 * table has a gemm for the type) into groups of ATL_PACK_ROWS = 16 rows;
 * a group stores, block by block (32 columns), first the 16 fp16 scales,
 * then the quants as 4-byte chunks interleaved across the rows:
 *   Q4_0 (288 bytes):  u16 d[16]; u8 q[4][16][4]   q[m][r][i] = qs_r[4m+i]
 *                      (low nibbles: elements 4m..4m+3, high: 16+4m..)
 *   Q8_0 (544 bytes):  u16 d[16]; u8 q[8][16][4]   q[m][r][i] = qs_r[4m+i]^0x80
 * The same size as the 16 original rows. A trailing partial group is padded
 * with zero scales. One 512-bit load of chunk m then holds 4 columns of 16
 * rows, and VPDPBUSD with the activation's 4 bytes broadcast (signed) gives
 * 16 per-row partial sums: the unsigned weights (q for Q4_0, q + 128 for
 * Q8_0) are corrected by -8 or -128 times the activation block's sum, so
 * the integer sums are exact. */
#define ATL_PACK_ROWS 16u

/* Bytes of one packed block of a group, 0 if the type has no packing. */
size_t atl_pack_block_size(uint32_t type);
/* Packs rows x cols of type (row_size bytes a row, cols a multiple of 32)
 * into a new 64-byte aligned buffer of ceil(rows / 16) groups (locked where
 * allowed, out of core dumps); *out is freed with atl_pack_free.
 * ATL_E_UNSUPPORTED for a type without packing,
 * ATL_E_NOMEM. */
enum atl_err atl_pack_matrix(uint32_t type, const uint8_t *data, uint32_t rows, uint32_t cols,
			     size_t row_size, uint8_t **out);
/* Wipes, unlocks and frees a matrix of atl_pack_matrix (the same type, rows
 * and cols); NULL-safe. */
void atl_pack_free(uint32_t type, uint8_t *p, uint32_t rows, uint32_t cols);
/* Bytes of one prepared activation row of n (multiple of 32) columns. */
static inline size_t atl_q8p_size(size_t n)
{
	return n + n / 32 * 8;
}
/* Prepared activation row from nb Q8_0 blocks: i8 qs[nb * 32], then f32
 * d[nb] (the fp16 scales widened), then i32 sum[nb] (sum of the block's
 * quants). dst holds atl_q8p_size(nb * 32) bytes, 4-byte aligned. */
void atl_q8p_prepare(const void *q8_0_blocks, size_t nb, uint8_t *dst);

/* K-quant 6-bit scale/min unpacking (GGML get_scale_min_k4). */
static inline void atl_get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
	}
}

/* Portable kernels (kernels_generic.c): the reference. */
void atl_kernels_generic_init(struct atl_kernels *k);
/* SIMD tables: each overrides the entries it has. Only called when the CPU
 * supports the isa. Defined as no-ops on non-x86 builds. */
void atl_kernels_avx2_init(struct atl_kernels *k);
void atl_kernels_avx512_init(struct atl_kernels *k);

#endif
