/* GGUF model files: a bounded reader and a writer (docs/internals/infer.md).
 *
 * GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) is
 *   header   "GGUF" u32 version, u64 n_tensors, u64 n_kv          (little-endian)
 *   metadata n_kv x { string key, u32 value_type, value }
 *   tensors  n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type,
 *                          u64 offset (from the start of the data section) }
 *   padding  to general.alignment (default 32)
 *   data
 * where string = u64 len + bytes (no NUL) and array = u32 elem_type, u64 n, n values.
 *
 * The reader accepts versions 2 and 3 (version 1 has 32-bit counts:
 * ATL_E_UNSUPPORTED). It parses everything through the bounded reader, then
 * validates: counts and lengths against ATL_GGUF_* limits, unique keys and
 * tensor names, known tensor types, ne[i] > 0, ne[0] a multiple of the type's
 * block size, sizes computed with overflow checks, every tensor aligned and
 * inside the file, no two tensors overlapping. Only then is the handle given
 * out, so users may trust what the getters return. All views (strings, tensor
 * data) point into the mapped file and live as long as the handle.
 *
 * Thread safety: a handle is read-only after open; any number of threads may
 * use it. Errors: the detail of the last failure in the calling thread is in
 * atl_gguf_errmsg(). */
#ifndef ATOLL_GGUF_H
#define ATOLL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"

#define ATL_GGUF_MAGIC           0x46554747u /* "GGUF" read as u32le */
#define ATL_GGUF_VERSION         3u          /* what the writer produces */
#define ATL_GGUF_ALIGNMENT       32u         /* default general.alignment */
#define ATL_GGUF_KEY_ALIGNMENT   "general.alignment"

/* Tensor element types, with GGML's numeric ids (ggml.h enum ggml_type). */
enum atl_ggml_type {
	ATL_GGML_TYPE_F32 = 0,
	ATL_GGML_TYPE_F16 = 1,
	ATL_GGML_TYPE_Q4_0 = 2,
	ATL_GGML_TYPE_Q4_1 = 3,
	/* 4, 5: Q4_2, Q4_3, removed from GGML */
	ATL_GGML_TYPE_Q5_0 = 6,
	ATL_GGML_TYPE_Q5_1 = 7,
	ATL_GGML_TYPE_Q8_0 = 8,
	ATL_GGML_TYPE_Q8_1 = 9,
	ATL_GGML_TYPE_Q2_K = 10,
	ATL_GGML_TYPE_Q3_K = 11,
	ATL_GGML_TYPE_Q4_K = 12,
	ATL_GGML_TYPE_Q5_K = 13,
	ATL_GGML_TYPE_Q6_K = 14,
	ATL_GGML_TYPE_Q8_K = 15,
	ATL_GGML_TYPE_IQ2_XXS = 16,
	ATL_GGML_TYPE_IQ2_XS = 17,
	ATL_GGML_TYPE_IQ3_XXS = 18,
	ATL_GGML_TYPE_IQ1_S = 19,
	ATL_GGML_TYPE_IQ4_NL = 20,
	ATL_GGML_TYPE_IQ3_S = 21,
	ATL_GGML_TYPE_IQ2_S = 22,
	ATL_GGML_TYPE_IQ4_XS = 23,
	ATL_GGML_TYPE_I8 = 24,
	ATL_GGML_TYPE_I16 = 25,
	ATL_GGML_TYPE_I32 = 26,
	ATL_GGML_TYPE_I64 = 27,
	ATL_GGML_TYPE_F64 = 28,
	ATL_GGML_TYPE_IQ1_M = 29,
	ATL_GGML_TYPE_BF16 = 30,
	/* 31..33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, removed from GGML */
	ATL_GGML_TYPE_TQ1_0 = 34,
	ATL_GGML_TYPE_TQ2_0 = 35,
	ATL_GGML_TYPE__END = 36 /* ids >= this, and the holes above, are unknown */
};

/* Metadata value types (gguf.h enum gguf_type). */
enum atl_gguf_vtype {
	ATL_GGUF_TYPE_UINT8 = 0,
	ATL_GGUF_TYPE_INT8 = 1,
	ATL_GGUF_TYPE_UINT16 = 2,
	ATL_GGUF_TYPE_INT16 = 3,
	ATL_GGUF_TYPE_UINT32 = 4,
	ATL_GGUF_TYPE_INT32 = 5,
	ATL_GGUF_TYPE_FLOAT32 = 6,
	ATL_GGUF_TYPE_BOOL = 7,
	ATL_GGUF_TYPE_STRING = 8,
	ATL_GGUF_TYPE_ARRAY = 9,
	ATL_GGUF_TYPE_UINT64 = 10,
	ATL_GGUF_TYPE_INT64 = 11,
	ATL_GGUF_TYPE_FLOAT64 = 12,
	ATL_GGUF_TYPE__END = 13
};

/* ---- tensor type traits ---- */

/* true if t is a type id this reader knows (the enum above, minus the holes). */
bool atl_ggml_type_known(uint32_t t);
/* "f32", "q8_0", ...; "?" for an unknown id. Static storage. */
const char *atl_ggml_type_name(uint32_t t);
/* Elements per block (1 for F32/F16/BF16/I*, 32 for Q4_0..Q8_1 and IQ4_NL,
 * 256 for the K and most IQ types); 0 for an unknown id. */
size_t atl_ggml_blck_size(uint32_t t);
/* Bytes per block (4 for F32, 34 for Q8_0, 210 for Q6_K, ...); 0 if unknown. */
size_t atl_ggml_type_size(uint32_t t);
/* Bytes of one row of ne0 elements: ATL_E_UNSUPPORTED for an unknown type,
 * ATL_E_FORMAT if ne0 is 0 or not a multiple of the block size, ATL_E_LIMIT
 * on overflow. */
ATL_NODISCARD enum atl_err atl_ggml_row_size(uint32_t t, uint64_t ne0, size_t *size_out);
/* Bytes of a whole tensor: row size x ne[1] x ... x ne[n_dims-1], same
 * errors as atl_ggml_row_size; n_dims in 1..ATL_GGUF_DIMS_MAX, each ne > 0. */
ATL_NODISCARD enum atl_err atl_ggml_nbytes(uint32_t t, uint32_t n_dims, const uint64_t *ne,
					   size_t *size_out);

/* ---- reader ---- */

struct atl_gguf; /* opaque, read-only after open */

/* A string inside the file: not NUL-terminated, may contain any bytes. */
struct atl_gguf_str {
	const char *p;
	size_t len;
};

struct atl_gguf_tensor {
	const char *name;          /* NUL-terminated copy (the name has no NUL) */
	enum atl_ggml_type type;   /* known type */
	uint32_t n_dims;           /* 1..ATL_GGUF_DIMS_MAX */
	uint64_t ne[ATL_GGUF_DIMS_MAX]; /* ne[0] is the contiguous dimension; unused = 1 */
	uint64_t n_elems;          /* product of ne */
	uint64_t offset;           /* from the start of the data section */
	const void *data;          /* into the file; aligned to the file's alignment
				      relative to the file start (mmap: page-aligned base) */
	size_t size;               /* bytes, = atl_ggml_nbytes(type, n_dims, ne) */
};

/* Maps the file read-only (MAP_PRIVATE) and parses and validates it.
 * ATL_E_NOTFOUND / ATL_E_IO for file errors; ATL_E_TRUNCATED, ATL_E_FORMAT,
 * ATL_E_LIMIT, ATL_E_UNSUPPORTED (version 1, unknown tensor type) for bad
 * contents; ATL_E_NOMEM. On failure *g_out is NULL and atl_gguf_errmsg() says why. */
ATL_NODISCARD enum atl_err atl_gguf_open(const char *path, struct atl_gguf **g_out);
/* Same over a caller's buffer, which is borrowed: it must outlive the handle
 * and not change. Tensor data is only as aligned as buf is. */
ATL_NODISCARD enum atl_err atl_gguf_open_mem(const void *buf, size_t len, struct atl_gguf **g_out);
/* Unmaps and frees. NULL-safe. */
void atl_gguf_close(struct atl_gguf *g);
/* Detail of the last failure of an atl_gguf_* call in this thread ("" if
 * none). Static thread-local storage, overwritten by the next failure. */
const char *atl_gguf_errmsg(void);

uint32_t atl_gguf_version(const struct atl_gguf *g);
uint32_t atl_gguf_alignment(const struct atl_gguf *g);
/* Offset of the data section from the start of the file. */
uint64_t atl_gguf_data_offset(const struct atl_gguf *g);
/* The whole file (mapped or borrowed) and its length. */
const void *atl_gguf_file_data(const struct atl_gguf *g, size_t *len_out);

/* ---- metadata ----
 * Scalar getters: ATL_E_NOTFOUND if the key is absent, ATL_E_FORMAT if the
 * value has another kind. The integer getters accept any integer type
 * (UINT8..INT64) whose value fits the target (else ATL_E_LIMIT); get_f32
 * accepts FLOAT32 and FLOAT64; get_bool only BOOL; get_str only STRING. */
size_t atl_gguf_n_kv(const struct atl_gguf *g);
/* Key and value type of the i-th pair (i < atl_gguf_n_kv), in file order. */
struct atl_gguf_str atl_gguf_kv_key(const struct atl_gguf *g, size_t i);
enum atl_gguf_vtype atl_gguf_kv_type(const struct atl_gguf *g, size_t i);
/* Index of key, or -1. */
long atl_gguf_find_key(const struct atl_gguf *g, const char *key);

ATL_NODISCARD enum atl_err atl_gguf_get_u32(const struct atl_gguf *g, const char *key,
					    uint32_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_get_i32(const struct atl_gguf *g, const char *key,
					    int32_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_get_u64(const struct atl_gguf *g, const char *key,
					    uint64_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_get_i64(const struct atl_gguf *g, const char *key,
					    int64_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_get_f32(const struct atl_gguf *g, const char *key,
					    float *v_out);
ATL_NODISCARD enum atl_err atl_gguf_get_bool(const struct atl_gguf *g, const char *key,
					     bool *v_out);
ATL_NODISCARD enum atl_err atl_gguf_get_str(const struct atl_gguf *g, const char *key,
					    struct atl_gguf_str *v_out);

/* An array value. elem_type ARRAY means nested arrays: they are parsed and
 * validated (depth <= ATL_GGUF_DEPTH_MAX) but their elements cannot be read
 * through this API (no model uses them): the element getters return
 * ATL_E_UNSUPPORTED. */
struct atl_gguf_arr {
	enum atl_gguf_vtype elem_type;
	size_t n;
	const struct atl_gguf *g_; /* private */
	size_t kv_;                /* private */
};

/* ATL_E_NOTFOUND, or ATL_E_FORMAT if the value is not an array. */
ATL_NODISCARD enum atl_err atl_gguf_get_arr(const struct atl_gguf *g, const char *key,
					    struct atl_gguf_arr *arr_out);
/* Element i (ATL_E_ARG if i >= n). Conversions as for the scalar getters. */
ATL_NODISCARD enum atl_err atl_gguf_arr_i64(const struct atl_gguf_arr *a, size_t i,
					    int64_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_arr_i32(const struct atl_gguf_arr *a, size_t i,
					    int32_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_arr_u32(const struct atl_gguf_arr *a, size_t i,
					    uint32_t *v_out);
ATL_NODISCARD enum atl_err atl_gguf_arr_f32(const struct atl_gguf_arr *a, size_t i,
					    float *v_out);
ATL_NODISCARD enum atl_err atl_gguf_arr_bool(const struct atl_gguf_arr *a, size_t i,
					     bool *v_out);
ATL_NODISCARD enum atl_err atl_gguf_arr_str(const struct atl_gguf_arr *a, size_t i,
					    struct atl_gguf_str *v_out);

/* ---- tensors ---- */
size_t atl_gguf_n_tensors(const struct atl_gguf *g);
/* i < atl_gguf_n_tensors, in file order. */
const struct atl_gguf_tensor *atl_gguf_tensor_at(const struct atl_gguf *g, size_t i);
/* NULL if there is no tensor of that name. */
const struct atl_gguf_tensor *atl_gguf_find_tensor(const struct atl_gguf *g, const char *name);

/* ---- writer ----
 * Builds a GGUF v3 file: add metadata and tensors, then write. Keys and names
 * are copied; tensor data is BORROWED until the writer is freed (so a
 * generator can stream big tensors without copying them). Errors latch: after
 * the first failure every later call returns it, and so does the final write.
 * The writer checks only what it needs to produce a well-formed layout
 * (lengths fit, type known when sizes must be computed); it is also used to
 * make hostile files for tests, see atl_gguf_writer_add_tensor_raw. */
struct atl_gguf_writer;

ATL_NODISCARD enum atl_err atl_gguf_writer_new(struct atl_gguf_writer **w_out);
void atl_gguf_writer_free(struct atl_gguf_writer *w);
/* Sets the data alignment (power of two <= ATL_GGUF_ALIGN_MAX) and records it
 * as general.alignment (u32). Default 32, not recorded. */
ATL_NODISCARD enum atl_err atl_gguf_writer_set_alignment(struct atl_gguf_writer *w, uint32_t align);
/* Version written in the header (default 3). For tests only. */
void atl_gguf_writer_set_version(struct atl_gguf_writer *w, uint32_t version);

ATL_NODISCARD enum atl_err atl_gguf_writer_add_u8(struct atl_gguf_writer *w, const char *key, uint8_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_i8(struct atl_gguf_writer *w, const char *key, int8_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_u16(struct atl_gguf_writer *w, const char *key, uint16_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_i16(struct atl_gguf_writer *w, const char *key, int16_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_u32(struct atl_gguf_writer *w, const char *key, uint32_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_i32(struct atl_gguf_writer *w, const char *key, int32_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_u64(struct atl_gguf_writer *w, const char *key, uint64_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_i64(struct atl_gguf_writer *w, const char *key, int64_t v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_f32(struct atl_gguf_writer *w, const char *key, float v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_f64(struct atl_gguf_writer *w, const char *key, double v);
ATL_NODISCARD enum atl_err atl_gguf_writer_add_bool(struct atl_gguf_writer *w, const char *key, bool v);
/* NUL-terminated string value. */
ATL_NODISCARD enum atl_err atl_gguf_writer_add_str(struct atl_gguf_writer *w, const char *key,
						   const char *v);
/* String value of len bytes (may contain NUL). */
ATL_NODISCARD enum atl_err atl_gguf_writer_add_strn(struct atl_gguf_writer *w, const char *key,
						    const char *v, size_t len);
/* Array of n fixed-size elements of elem_type (UINT8..INT64, FLOAT32/64,
 * BOOL as one byte each) from a host array (uint8_t[], int32_t[], float[], ...,
 * bool as uint8_t[]), written little-endian. */
ATL_NODISCARD enum atl_err atl_gguf_writer_add_arr(struct atl_gguf_writer *w, const char *key,
						   enum atl_gguf_vtype elem_type, const void *v,
						   size_t n);
/* Array of n NUL-terminated strings. */
ATL_NODISCARD enum atl_err atl_gguf_writer_add_arr_str(struct atl_gguf_writer *w, const char *key,
						       const char *const *v, size_t n);
/* Copies, in file order and byte for byte, every metadata pair of g whose
 * key starts with prefix ("" or NULL: all), except general.alignment; e.g.
 * "tokenizer." to give a generated model a real vocabulary. Values are
 * copied, so g may be closed afterwards. */
ATL_NODISCARD enum atl_err atl_gguf_writer_copy_kv(struct atl_gguf_writer *w,
						   const struct atl_gguf *g, const char *prefix);
/* A tensor whose data (size bytes, must equal atl_ggml_nbytes) is borrowed.
 * Offsets are assigned in order, each padded to the alignment. */
ATL_NODISCARD enum atl_err atl_gguf_writer_add_tensor(struct atl_gguf_writer *w, const char *name,
						      enum atl_ggml_type type, uint32_t n_dims,
						      const uint64_t *ne, const void *data,
						      size_t size);
/* For tests and fuzz corpora: a tensor info written exactly as given (any type
 * id, n_dims, ne, offset), with no data. Checks nothing. */
ATL_NODISCARD enum atl_err atl_gguf_writer_add_tensor_raw(struct atl_gguf_writer *w,
							  const char *name, uint32_t type,
							  uint32_t n_dims, const uint64_t *ne,
							  uint64_t offset);
/* The whole file in a malloc'd buffer (free()). */
ATL_NODISCARD enum atl_err atl_gguf_writer_write_mem(struct atl_gguf_writer *w, uint8_t **buf_out,
						     size_t *len_out);
/* Writes the file to path (created with mode 0644, replaced if it exists;
 * written to path.tmp then renamed). ATL_E_IO on failure. */
ATL_NODISCARD enum atl_err atl_gguf_writer_write_file(struct atl_gguf_writer *w, const char *path);

#endif
