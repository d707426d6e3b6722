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

struct atl_kernels {
	atl_dot_fn dot[ATL_GGML_TYPE__END];   /* NULL: not a matmul weight type */
	atl_dot4_fn dot4[ATL_GGML_TYPE__END]; /* NULL: use dot 4 times */
	atl_quant_fn quant_q8_0;              /* activation quantiser */
	atl_quant_fn quant_f16;
};

/* The active table (quant.c); never NULL after atl_kernels_get(). */
const struct atl_kernels *atl_kernels_get(void);

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
