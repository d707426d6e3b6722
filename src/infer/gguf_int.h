/* Private to src/infer/gguf*.c: the parsed GGUF handle. */
#ifndef ATOLL_INFER_GGUF_INT_H
#define ATOLL_INFER_GGUF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/gguf.h"

struct atl_gguf_kv_ {
	struct atl_gguf_str key;
	uint32_t type;             /* enum atl_gguf_vtype */
	struct atl_gguf_str str;   /* type STRING */
	uint32_t elem_type;        /* type ARRAY */
	size_t n;                  /* ARRAY: element count; scalars: 1 */
	const uint8_t *vals;       /* fixed-size scalar or array elements, little-endian */
	struct atl_gguf_str *strs; /* ARRAY of STRING: n views (owned) */
	const uint8_t *raw;        /* the encoded value (after the type id) */
	size_t raw_len;
};

struct atl_gguf {
	const uint8_t *file;
	size_t file_len;
	bool mapped;
	uint32_t version, alignment;
	uint64_t data_off;
	struct atl_gguf_kv_ *kv;
	size_t n_kv;
	struct atl_gguf_tensor *tensors;
	size_t n_tensors;
	char *names;          /* n_tensors x (ATL_GGUF_NAME_MAX + 1) */
	uint32_t *name_slot;  /* hash set of tensor index + 1 */
	size_t name_mask;
};

/* Sets the thread's error detail and returns rc. */
enum atl_err atl_gguf_fail_(enum atl_err rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Bytes of one fixed-size value (0 for STRING, ARRAY, unknown). */
size_t atl_gguf_vtype_size_(uint32_t t);

static inline uint16_t atl_gguf_ld16_(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t atl_gguf_ld32_(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t atl_gguf_ld64_(const uint8_t *p)
{
	return (uint64_t)atl_gguf_ld32_(p) | ((uint64_t)atl_gguf_ld32_(p + 4) << 32);
}

#endif
