/* Tensor element types: conversion, dequantisation, activation quantisation
 * and dot products (docs/internals/infer-engine.md).
 *
 * Block layouts are exactly GGML's (ggml-common.h), so GGUF tensor data is
 * used in place:
 *   Q4_0  { f16 d; u8 qs[16]; }                      32 weights, 18 bytes
 *   Q4_1  { f16 d, m; u8 qs[16]; }                   32 weights, 20 bytes
 *   Q5_0  { f16 d; u8 qh[4]; u8 qs[16]; }            32 weights, 22 bytes
 *   Q5_1  { f16 d, m; u8 qh[4]; u8 qs[16]; }         32 weights, 24 bytes
 *   Q8_0  { f16 d; i8 qs[32]; }                      32 weights, 34 bytes
 *   Q4_K  { f16 d, dmin; u8 scales[12]; u8 qs[128]; }            256, 144 bytes
 *   Q5_K  { f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } 256, 176 bytes
 *   Q6_K  { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; }       256, 210 bytes
 *   Q8_K  { f32 d; i8 qs[256]; i16 bsums[16]; }                  256, 292 bytes
 * A matrix row of weight type W is multiplied by an activation row that was
 * first converted to W's "dot type" (F32 for F32, F16 for F16, BF16 for
 * BF16, Q8_0 for the 32-blocks, Q8_K for the K types), as GGML's CPU backend
 * does, so results match llama.cpp's to rounding.
 *
 * Kernels exist in portable C (the reference) and for AVX2 and AVX-512; the
 * best one the CPU supports is chosen at the first call (CPUID), and
 * atl_quant_set_isa() can force a lower one (tests, benchmarks). All
 * functions here are pure and thread-safe except atl_quant_set_isa. */
#ifndef ATOLL_QUANT_H
#define ATOLL_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/gguf.h"

#define ATL_QK4_0 32
#define ATL_QK8_0 32
#define ATL_QK_K  256

/* ---- scalar conversions (IEEE half, bfloat16), round to nearest even ---- */
float atl_fp16_to_fp32(uint16_t h);
uint16_t atl_fp32_to_fp16(float f);
float atl_bf16_to_fp32(uint16_t h);
uint16_t atl_fp32_to_bf16(float f);

/* ---- type support ---- */

/* true if rows of type t can be dequantised (F32, F16, BF16, Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K). */
bool atl_quant_can_dequantize(uint32_t t);
/* true if t can be the weight type of a matmul (the above minus Q8_K). */
bool atl_quant_can_matmul(uint32_t t);
/* The activation type a weight of type t is multiplied with (see above);
 * ATL_GGML_TYPE__END if t cannot be a matmul weight. */
uint32_t atl_quant_dot_type(uint32_t t);

/* Dequantises n elements (a multiple of t's block size) from src to dst.
 * ATL_E_UNSUPPORTED for a type this engine cannot read, ATL_E_ARG if n is
 * not a multiple of the block size. */
ATL_NODISCARD enum atl_err atl_quant_dequantize(uint32_t t, const void *src, float *dst, size_t n);

/* Quantises n floats (a multiple of the block size) into dst, which holds
 * atl_ggml_row_size(t, n) bytes. Supported t: F32 (copy), F16, BF16, Q8_0,
 * Q8_K (activation types, GGML's rounding) and Q4_0 (weights, GGML's
 * reference quantiser). ATL_E_UNSUPPORTED otherwise, ATL_E_ARG for bad n. */
ATL_NODISCARD enum atl_err atl_quant_quantize(uint32_t t, const float *src, void *dst, size_t n);

/* Dot product of one weight row w (type t, n elements) with one activation
 * row x already in atl_quant_dot_type(t). The caller guarantees t can be a
 * matmul weight and n is a multiple of the block size (checked when the
 * model is loaded); hot path, no checks. */
float atl_quant_dot(uint32_t t, size_t n, const void *w, const void *x);

/* ---- instruction-set selection ---- */
enum atl_quant_isa {
	ATL_QUANT_ISA_GENERIC = 0, /* portable C */
	ATL_QUANT_ISA_AVX2 = 1,    /* AVX2 + FMA + F16C */
	ATL_QUANT_ISA_AVX512 = 2,  /* AVX-512 F/BW/VL/DQ/VNNI (+ AVX2 for other types) */
};

/* true if this CPU (and build) can run isa. */
bool atl_quant_isa_available(enum atl_quant_isa isa);
/* The isa in use ("generic", "avx2", "avx512"). */
enum atl_quant_isa atl_quant_isa(void);
const char *atl_quant_isa_name(enum atl_quant_isa isa);
/* Forces an isa for the whole process. Not thread-safe: call before any
 * other thread uses these functions. ATL_E_UNSUPPORTED if not available. */
ATL_NODISCARD enum atl_err atl_quant_set_isa(enum atl_quant_isa isa);

#endif
