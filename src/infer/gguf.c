/* GGUF reader: parse (bounded reader) -> validate (limits, overflow, layout)
 * -> hand out a read-only handle. See include/atoll/gguf.h for the contract
 * and docs/internals/infer-gguf-tokenizer.md for the invariants.
 *
 * Format reference: ggml docs/gguf.md ("GGUF" spec), and ggml/src/gguf.cpp for
 * the checks llama.cpp applies (we apply the same ones, and a few more:
 * overlapping tensors, bool values other than 0/1, NUL inside keys/names). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/bytes.h"
#include "atoll/gguf.h"
#include "atoll/log.h"
#include "infer/gguf_int.h"

/* ---- tensor type traits (ggml.c type_traits) ---- */

struct type_trait {
	const char *name;
	uint8_t blck;    /* elements per block, 0 = unknown id */
	uint16_t size;   /* bytes per block */
};

static const struct type_trait traits[ATL_GGML_TYPE__END] = {
	[ATL_GGML_TYPE_F32] = {"f32", 1, 4},
	[ATL_GGML_TYPE_F16] = {"f16", 1, 2},
	[ATL_GGML_TYPE_Q4_0] = {"q4_0", 32, 18},
	[ATL_GGML_TYPE_Q4_1] = {"q4_1", 32, 20},
	[ATL_GGML_TYPE_Q5_0] = {"q5_0", 32, 22},
	[ATL_GGML_TYPE_Q5_1] = {"q5_1", 32, 24},
	[ATL_GGML_TYPE_Q8_0] = {"q8_0", 32, 34},
	[ATL_GGML_TYPE_Q8_1] = {"q8_1", 32, 36},
	[ATL_GGML_TYPE_Q2_K] = {"q2_K", 0, 84},
	[ATL_GGML_TYPE_Q3_K] = {"q3_K", 0, 110},
	[ATL_GGML_TYPE_Q4_K] = {"q4_K", 0, 144},
	[ATL_GGML_TYPE_Q5_K] = {"q5_K", 0, 176},
	[ATL_GGML_TYPE_Q6_K] = {"q6_K", 0, 210},
	[ATL_GGML_TYPE_Q8_K] = {"q8_K", 0, 292},
	[ATL_GGML_TYPE_IQ2_XXS] = {"iq2_xxs", 0, 66},
	[ATL_GGML_TYPE_IQ2_XS] = {"iq2_xs", 0, 74},
	[ATL_GGML_TYPE_IQ3_XXS] = {"iq3_xxs", 0, 98},
	[ATL_GGML_TYPE_IQ1_S] = {"iq1_s", 0, 50},
	[ATL_GGML_TYPE_IQ4_NL] = {"iq4_nl", 32, 18},
	[ATL_GGML_TYPE_IQ3_S] = {"iq3_s", 0, 110},
	[ATL_GGML_TYPE_IQ2_S] = {"iq2_s", 0, 82},
	[ATL_GGML_TYPE_IQ4_XS] = {"iq4_xs", 0, 136},
	[ATL_GGML_TYPE_I8] = {"i8", 1, 1},
	[ATL_GGML_TYPE_I16] = {"i16", 1, 2},
	[ATL_GGML_TYPE_I32] = {"i32", 1, 4},
	[ATL_GGML_TYPE_I64] = {"i64", 1, 8},
	[ATL_GGML_TYPE_F64] = {"f64", 1, 8},
	[ATL_GGML_TYPE_IQ1_M] = {"iq1_m", 0, 56},
	[ATL_GGML_TYPE_BF16] = {"bf16", 1, 2},
	[ATL_GGML_TYPE_TQ1_0] = {"tq1_0", 0, 54},
	[ATL_GGML_TYPE_TQ2_0] = {"tq2_0", 0, 66},
};

/* blck 0 with a size means QK_K = 256 (does not fit the u8 field). */
static size_t trait_blck(uint32_t t)
{
	if (t >= ATL_GGML_TYPE__END || traits[t].size == 0)
		return 0;
	return traits[t].blck != 0 ? traits[t].blck : 256u;
}

bool atl_ggml_type_known(uint32_t t)
{
	return t < ATL_GGML_TYPE__END && traits[t].size != 0;
}

const char *atl_ggml_type_name(uint32_t t)
{
	return atl_ggml_type_known(t) ? traits[t].name : "?";
}

size_t atl_ggml_blck_size(uint32_t t)
{
	return trait_blck(t);
}

size_t atl_ggml_type_size(uint32_t t)
{
	return atl_ggml_type_known(t) ? traits[t].size : 0;
}

enum atl_err atl_ggml_row_size(uint32_t t, uint64_t ne0, size_t *size_out)
{
	size_t blck = trait_blck(t);
	uint64_t bytes;

	*size_out = 0;
	if (blck == 0)
		return ATL_E_UNSUPPORTED;
	if (ne0 == 0 || ne0 % blck != 0)
		return ATL_E_FORMAT;
	if (__builtin_mul_overflow(ne0 / blck, (uint64_t)traits[t].size, &bytes) || bytes > SIZE_MAX)
		return ATL_E_LIMIT;
	*size_out = (size_t)bytes;
	return ATL_OK;
}

enum atl_err atl_ggml_nbytes(uint32_t t, uint32_t n_dims, const uint64_t *ne, size_t *size_out)
{
	enum atl_err rc;
	size_t total;

	*size_out = 0;
	if (n_dims == 0 || n_dims > ATL_GGUF_DIMS_MAX)
		return ATL_E_FORMAT;
	for (uint32_t i = 1; i < n_dims; i++)
		if (ne[i] == 0)
			return ATL_E_FORMAT;
	rc = atl_ggml_row_size(t, ne[0], &total);
	if (rc != ATL_OK)
		return rc;
	for (uint32_t i = 1; i < n_dims; i++) {
		if (ne[i] > SIZE_MAX || __builtin_mul_overflow(total, (size_t)ne[i], &total))
			return ATL_E_LIMIT;
	}
	*size_out = total;
	return ATL_OK;
}

/* ---- error detail ---- */

static _Thread_local char errbuf[256];

const char *atl_gguf_errmsg(void)
{
	return errbuf;
}

enum atl_err atl_gguf_fail_(enum atl_err rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return rc;
}

#define fail atl_gguf_fail_

/* An untrusted string made printable for an error message. */
static const char *esc(struct atl_gguf_str s, char *buf, size_t cap)
{
	atl_log_escape(s.p, s.len > 64 ? 64 : s.len, buf, cap);
	return buf;
}

/* ---- parse ---- */

/* Bytes of one element of a fixed-size value type; 0 for STRING/ARRAY/unknown. */
size_t atl_gguf_vtype_size_(uint32_t t)
{
	switch (t) {
	case ATL_GGUF_TYPE_UINT8:
	case ATL_GGUF_TYPE_INT8:
	case ATL_GGUF_TYPE_BOOL:
		return 1;
	case ATL_GGUF_TYPE_UINT16:
	case ATL_GGUF_TYPE_INT16:
		return 2;
	case ATL_GGUF_TYPE_UINT32:
	case ATL_GGUF_TYPE_INT32:
	case ATL_GGUF_TYPE_FLOAT32:
		return 4;
	case ATL_GGUF_TYPE_UINT64:
	case ATL_GGUF_TYPE_INT64:
	case ATL_GGUF_TYPE_FLOAT64:
		return 8;
	default:
		return 0;
	}
}

/* u64 length, then that many bytes, at most max. */
static enum atl_err rd_str(struct atl_rd *r, size_t max, struct atl_gguf_str *s_out)
{
	enum atl_err rc;
	uint64_t n;
	const uint8_t *p;

	s_out->p = NULL;
	s_out->len = 0;
	rc = atl_rd_u64le(r, &n);
	if (rc != ATL_OK)
		return rc;
	if (n > max)
		return ATL_E_LIMIT;
	rc = atl_rd_view(r, (size_t)n, &p);
	if (rc != ATL_OK)
		return rc;
	s_out->p = (const char *)p;
	s_out->len = (size_t)n;
	return ATL_OK;
}

/* Checks the n fixed-size values at p: bools must be 0 or 1. */
static enum atl_err check_fixed(uint32_t t, const uint8_t *p, size_t n)
{
	if (t != ATL_GGUF_TYPE_BOOL)
		return ATL_OK;
	for (size_t i = 0; i < n; i++)
		if (p[i] > 1)
			return fail(ATL_E_FORMAT, "gguf: bool value %u is not 0 or 1", p[i]);
	return ATL_OK;
}

/* Skips over a nested array value (the element type and count already read)
 * without recursion: an explicit stack of at most ATL_GGUF_DEPTH_MAX levels. */
static enum atl_err skip_nested(struct atl_rd *r, uint32_t depth0, uint64_t n0)
{
	struct {
		uint64_t left;
	} st[ATL_GGUF_DEPTH_MAX + 1];
	uint32_t top = 0;
	enum atl_err rc;

	st[0].left = n0;
	while (1) {
		uint32_t et;
		uint64_t n;

		if (st[top].left == 0) {
			if (top == 0)
				return ATL_OK;
			top--;
			continue;
		}
		st[top].left--;
		/* each element of this level is itself an array: u32 type, u64 n */
		rc = atl_rd_u32le(r, &et);
		if (rc == ATL_OK)
			rc = atl_rd_u64le(r, &n);
		if (rc != ATL_OK)
			return fail(rc, "gguf: truncated nested array");
		if (n > ATL_GGUF_ARRAY_MAX)
			return fail(ATL_E_LIMIT, "gguf: nested array of %llu elements",
				    (unsigned long long)n);
		if (et == ATL_GGUF_TYPE_ARRAY) {
			/* depth0 + top + 1 levels are open, this would add one more */
			if (depth0 + top + 2 > ATL_GGUF_DEPTH_MAX)
				return fail(ATL_E_LIMIT, "gguf: arrays nested deeper than %u",
					    ATL_GGUF_DEPTH_MAX);
			top++;
			st[top].left = n;
			continue;
		}
		if (et == ATL_GGUF_TYPE_STRING) {
			for (uint64_t i = 0; i < n; i++) {
				struct atl_gguf_str s;

				rc = rd_str(r, ATL_GGUF_STRING_MAX, &s);
				if (rc != ATL_OK)
					return fail(rc, "gguf: bad string in nested array");
			}
			continue;
		}
		{
			size_t es = atl_gguf_vtype_size_(et);
			const uint8_t *p;

			if (es == 0)
				return fail(ATL_E_FORMAT, "gguf: unknown value type %u", et);
			/* n <= 2^24 and es <= 8: no overflow */
			rc = atl_rd_view(r, (size_t)n * es, &p);
			if (rc != ATL_OK)
				return fail(rc, "gguf: truncated nested array");
			rc = check_fixed(et, p, (size_t)n);
			if (rc != ATL_OK)
				return rc;
		}
	}
}

/* One metadata value of type t into kv. */
static enum atl_err parse_value(struct atl_rd *r, uint32_t t, struct atl_gguf_kv_ *kv)
{
	enum atl_err rc;
	size_t es;

	kv->type = t;
	if (t == ATL_GGUF_TYPE_STRING) {
		rc = rd_str(r, ATL_GGUF_STRING_MAX, &kv->str);
		if (rc != ATL_OK)
			return fail(rc, "gguf: bad string value (%s)", atl_err_name(rc));
		return ATL_OK;
	}
	if (t == ATL_GGUF_TYPE_ARRAY) {
		uint32_t et;
		uint64_t n;

		rc = atl_rd_u32le(r, &et);
		if (rc == ATL_OK)
			rc = atl_rd_u64le(r, &n);
		if (rc != ATL_OK)
			return fail(rc, "gguf: truncated array header");
		if (n > ATL_GGUF_ARRAY_MAX)
			return fail(ATL_E_LIMIT, "gguf: array of %llu elements (max %u)",
				    (unsigned long long)n, ATL_GGUF_ARRAY_MAX);
		kv->elem_type = et;
		kv->n = (size_t)n;
		if (et == ATL_GGUF_TYPE_STRING) {
			/* each string takes at least its 8-byte length: bound the
			 * index before allocating it from a size read from input */
			if (kv->n > atl_rd_left(r) / 8)
				return fail(ATL_E_TRUNCATED, "gguf: string array past the end");
			kv->strs = calloc(kv->n ? kv->n : 1, sizeof(*kv->strs));
			if (kv->strs == NULL)
				return fail(ATL_E_NOMEM, "gguf: out of memory");
			for (size_t i = 0; i < kv->n; i++) {
				rc = rd_str(r, ATL_GGUF_STRING_MAX, &kv->strs[i]);
				if (rc != ATL_OK)
					return fail(rc, "gguf: bad string %zu in array (%s)", i,
						    atl_err_name(rc));
			}
			return ATL_OK;
		}
		if (et == ATL_GGUF_TYPE_ARRAY) {
			if (ATL_GGUF_DEPTH_MAX < 2)
				return fail(ATL_E_LIMIT, "gguf: nested arrays");
			return skip_nested(r, 1, n);
		}
		es = atl_gguf_vtype_size_(et);
		if (es == 0)
			return fail(ATL_E_FORMAT, "gguf: unknown array element type %u", et);
		rc = atl_rd_view(r, kv->n * es, &kv->vals);
		if (rc != ATL_OK)
			return fail(rc, "gguf: truncated array data");
		return check_fixed(et, kv->vals, kv->n);
	}
	es = atl_gguf_vtype_size_(t);
	if (es == 0)
		return fail(ATL_E_FORMAT, "gguf: unknown value type %u", t);
	rc = atl_rd_view(r, es, &kv->vals);
	if (rc != ATL_OK)
		return fail(rc, "gguf: truncated value");
	kv->n = 1;
	return check_fixed(t, kv->vals, 1);
}

static int cmp_tensor_off(const void *a, const void *b)
{
	const struct atl_gguf_tensor *x = *(const struct atl_gguf_tensor *const *)a;
	const struct atl_gguf_tensor *y = *(const struct atl_gguf_tensor *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static bool str_eq(struct atl_gguf_str a, struct atl_gguf_str b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* FNV-1a, for the duplicate-name/key hash sets. */
static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Open-addressing table of indices (n entries, cap a power of two >= 2n). */
struct idx_set {
	uint32_t *slot; /* index + 1, 0 = empty */
	size_t mask;
};

static enum atl_err set_init(struct idx_set *s, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	s->slot = calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
	return s->slot != NULL ? ATL_OK : ATL_E_NOMEM;
}

/* ---- the whole parse ---- */

static enum atl_err parse(struct atl_gguf *g)
{
	struct atl_rd r;
	enum atl_err rc;
	uint32_t magic, version;
	uint64_t n_tensors, n_kv, data_off;
	struct atl_gguf_tensor **by_off = NULL;
	char eb[300];

	atl_rd_init(&r, g->file, g->file_len);
	rc = atl_rd_u32le(&r, &magic);
	if (rc == ATL_OK)
		rc = atl_rd_u32le(&r, &version);
	if (rc != ATL_OK)
		return fail(ATL_E_TRUNCATED, "gguf: file shorter than the header");
	if (magic != ATL_GGUF_MAGIC)
		return fail(ATL_E_FORMAT, "gguf: bad magic (not a GGUF file)");
	if (version == 1)
		return fail(ATL_E_UNSUPPORTED, "gguf: version 1 is not supported");
	if (version != 2 && version != 3) {
		if ((version & 0xffffu) == 0)
			return fail(ATL_E_UNSUPPORTED, "gguf: big-endian files are not supported");
		return fail(ATL_E_UNSUPPORTED, "gguf: unknown version %u", version);
	}
	g->version = version;
	rc = atl_rd_u64le(&r, &n_tensors);
	if (rc == ATL_OK)
		rc = atl_rd_u64le(&r, &n_kv);
	if (rc != ATL_OK)
		return fail(ATL_E_TRUNCATED, "gguf: file shorter than the header");
	if (n_tensors > ATL_GGUF_TENSORS_MAX)
		return fail(ATL_E_LIMIT, "gguf: %llu tensors (max %u)",
			    (unsigned long long)n_tensors, ATL_GGUF_TENSORS_MAX);
	if (n_kv > ATL_GGUF_KV_MAX)
		return fail(ATL_E_LIMIT, "gguf: %llu metadata pairs (max %u)",
			    (unsigned long long)n_kv, ATL_GGUF_KV_MAX);
	/* minimum encoded sizes: kv 8+4+1, tensor info 8+4+8+4+8 */
	if (n_kv > atl_rd_left(&r) / 13 || n_tensors > atl_rd_left(&r) / 32)
		return fail(ATL_E_TRUNCATED, "gguf: counts larger than the file");

	g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof(*g->kv));
	g->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*g->tensors));
	if (g->kv == NULL || g->tensors == NULL)
		return fail(ATL_E_NOMEM, "gguf: out of memory");

	/* metadata */
	for (size_t i = 0; i < (size_t)n_kv; i++) {
		struct atl_gguf_kv_ *kv = &g->kv[i];
		uint32_t t;

		rc = rd_str(&r, ATL_GGUF_KEY_MAX, &kv->key);
		if (rc != ATL_OK)
			return fail(rc, "gguf: bad key of pair %zu (%s)", i, atl_err_name(rc));
		if (kv->key.len == 0 || memchr(kv->key.p, 0, kv->key.len) != NULL)
			return fail(ATL_E_FORMAT, "gguf: empty key or NUL in key of pair %zu", i);
		rc = atl_rd_u32le(&r, &t);
		if (rc != ATL_OK)
			return fail(rc, "gguf: truncated metadata");
		g->n_kv = i + 1; /* owns kv->strs from here on */
		kv->raw = g->file + r.pos;
		rc = parse_value(&r, t, kv);
		if (rc != ATL_OK)
			return rc;
		kv->raw_len = (size_t)(g->file + r.pos - kv->raw);
	}

	/* tensor infos */
	for (size_t i = 0; i < (size_t)n_tensors; i++) {
		struct atl_gguf_tensor *t = &g->tensors[i];
		struct atl_gguf_str name;
		uint32_t type;

		rc = rd_str(&r, ATL_GGUF_NAME_MAX, &name);
		if (rc != ATL_OK)
			return fail(rc, "gguf: bad name of tensor %zu (%s)", i, atl_err_name(rc));
		if (memchr(name.p, 0, name.len) != NULL)
			return fail(ATL_E_FORMAT, "gguf: NUL in the name of tensor %zu", i);
		memcpy(g->names + i * (ATL_GGUF_NAME_MAX + 1), name.p, name.len);
		t->name = g->names + i * (ATL_GGUF_NAME_MAX + 1);
		rc = atl_rd_u32le(&r, &t->n_dims);
		if (rc != ATL_OK)
			return fail(rc, "gguf: truncated tensor info");
		if (t->n_dims == 0 || t->n_dims > ATL_GGUF_DIMS_MAX)
			return fail(ATL_E_FORMAT, "gguf: tensor '%s' has %u dimensions",
				    esc(name, eb, sizeof(eb)), t->n_dims);
		for (uint32_t d = 0; d < ATL_GGUF_DIMS_MAX; d++)
			t->ne[d] = 1;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if (atl_rd_u64le(&r, &t->ne[d]) != ATL_OK)
				return fail(ATL_E_TRUNCATED, "gguf: truncated tensor info");
		rc = atl_rd_u32le(&r, &type);
		if (rc == ATL_OK)
			rc = atl_rd_u64le(&r, &t->offset);
		if (rc != ATL_OK)
			return fail(rc, "gguf: truncated tensor info");
		t->type = (enum atl_ggml_type)type;
		g->n_tensors = i + 1;
		if (!atl_ggml_type_known(type))
			return fail(ATL_E_UNSUPPORTED, "gguf: tensor '%s' has unknown type %u",
				    t->name, type);
	}

	/* alignment (ggml gguf.cpp: GGUF_KEY_GENERAL_ALIGNMENT must be u32, power of 2) */
	g->alignment = ATL_GGUF_ALIGNMENT;
	{
		long k = atl_gguf_find_key(g, ATL_GGUF_KEY_ALIGNMENT);

		if (k >= 0) {
			uint32_t a;

			if (g->kv[k].type != ATL_GGUF_TYPE_UINT32)
				return fail(ATL_E_FORMAT, "gguf: general.alignment is not a u32");
			a = atl_gguf_ld32_(g->kv[k].vals);
			if (a == 0 || (a & (a - 1)) != 0 || a > ATL_GGUF_ALIGN_MAX)
				return fail(ATL_E_FORMAT, "gguf: bad alignment %u", a);
			g->alignment = a;
		}
	}

	/* data section: after the infos, padded to the alignment */
	data_off = r.pos;
	if (data_off % g->alignment != 0)
		data_off += g->alignment - data_off % g->alignment;
	if (data_off > g->file_len) {
		if (n_tensors != 0)
			return fail(ATL_E_TRUNCATED, "gguf: file ends before its data section");
		data_off = g->file_len; /* a vocab-only file may omit the padding */
	}
	g->data_off = data_off;

	/* tensors: shape, size, alignment, bounds */
	for (size_t i = 0; i < g->n_tensors; i++) {
		struct atl_gguf_tensor *t = &g->tensors[i];
		uint64_t n_elems = 1, end;

		for (uint32_t d = 0; d < t->n_dims; d++) {
			if (t->ne[d] == 0 || t->ne[d] > INT64_MAX)
				return fail(ATL_E_FORMAT, "gguf: tensor '%s' has a bad dimension",
					    t->name);
			if (__builtin_mul_overflow(n_elems, t->ne[d], &n_elems) ||
			    n_elems > INT64_MAX)
				return fail(ATL_E_LIMIT, "gguf: tensor '%s' has too many elements",
					    t->name);
		}
		t->n_elems = n_elems;
		rc = atl_ggml_nbytes(t->type, t->n_dims, t->ne, &t->size);
		if (rc != ATL_OK)
			return fail(rc, "gguf: tensor '%s' (%s) has a bad shape (%s)", t->name,
				    atl_ggml_type_name(t->type), atl_err_name(rc));
		if (t->offset % g->alignment != 0)
			return fail(ATL_E_FORMAT, "gguf: tensor '%s' offset is not aligned",
				    t->name);
		if (t->offset > g->file_len - data_off ||
		    __builtin_add_overflow(t->offset, (uint64_t)t->size, &end) ||
		    end > g->file_len - data_off)
			return fail(ATL_E_TRUNCATED, "gguf: tensor '%s' data past the end of the file",
				    t->name);
		t->data = g->file + data_off + t->offset;
	}

	/* unique keys and names */
	{
		struct idx_set ks = {0}, ns = {0};

		rc = set_init(&ks, g->n_kv);
		if (rc == ATL_OK)
			rc = set_init(&ns, g->n_tensors);
		if (rc != ATL_OK) {
			free(ks.slot);
			free(ns.slot);
			return fail(rc, "gguf: out of memory");
		}
		for (size_t i = 0; i < g->n_kv && rc == ATL_OK; i++) {
			size_t h = (size_t)hash_bytes(g->kv[i].key.p, g->kv[i].key.len) & ks.mask;

			while (ks.slot[h] != 0) {
				if (str_eq(g->kv[ks.slot[h] - 1].key, g->kv[i].key)) {
					rc = fail(ATL_E_FORMAT, "gguf: duplicate key '%s'",
						  esc(g->kv[i].key, eb, sizeof(eb)));
					break;
				}
				h = (h + 1) & ks.mask;
			}
			ks.slot[h] = (uint32_t)i + 1;
		}
		for (size_t i = 0; i < g->n_tensors && rc == ATL_OK; i++) {
			const char *nm = g->tensors[i].name;
			size_t h = (size_t)hash_bytes(nm, strlen(nm)) & ns.mask;

			while (ns.slot[h] != 0) {
				if (strcmp(g->tensors[ns.slot[h] - 1].name, nm) == 0) {
					rc = fail(ATL_E_FORMAT, "gguf: duplicate tensor '%s'", nm);
					break;
				}
				h = (h + 1) & ns.mask;
			}
			ns.slot[h] = (uint32_t)i + 1;
		}
		free(ks.slot);
		if (rc != ATL_OK) {
			free(ns.slot);
			return rc;
		}
		g->name_slot = ns.slot;
		g->name_mask = ns.mask;
	}

	/* no two tensors overlap */
	if (g->n_tensors > 1) {
		by_off = malloc(g->n_tensors * sizeof(*by_off));
		if (by_off == NULL)
			return fail(ATL_E_NOMEM, "gguf: out of memory");
		for (size_t i = 0; i < g->n_tensors; i++)
			by_off[i] = &g->tensors[i];
		qsort(by_off, g->n_tensors, sizeof(*by_off), cmp_tensor_off);
		for (size_t i = 0; i + 1 < g->n_tensors; i++) {
			/* offset + size checked against the file above: no overflow */
			if (by_off[i]->offset + by_off[i]->size > by_off[i + 1]->offset) {
				rc = fail(ATL_E_FORMAT, "gguf: tensors '%s' and '%s' overlap",
					  by_off[i]->name, by_off[i + 1]->name);
				free(by_off);
				return rc;
			}
		}
		free(by_off);
	}
	return ATL_OK;
}

static enum atl_err open_common(struct atl_gguf *g, struct atl_gguf **g_out)
{
	enum atl_err rc;

	errbuf[0] = '\0';
	/* tensor name copies: bounded by the tensor count, itself bounded by
	 * the file size (checked in parse before use) */
	rc = parse(g);
	if (rc != ATL_OK) {
		atl_gguf_close(g);
		return rc;
	}
	*g_out = g;
	return ATL_OK;
}

/* Names are copied NUL-terminated into one block allocated up front; its size
 * depends on n_tensors, so parse() allocates it once the count is checked. */
static enum atl_err alloc_names(struct atl_gguf *g)
{
	struct atl_rd r;
	uint32_t magic, version;
	uint64_t n_tensors = 0, n_kv;

	atl_rd_init(&r, g->file, g->file_len);
	if (atl_rd_u32le(&r, &magic) != ATL_OK || atl_rd_u32le(&r, &version) != ATL_OK ||
	    atl_rd_u64le(&r, &n_tensors) != ATL_OK || atl_rd_u64le(&r, &n_kv) != ATL_OK)
		n_tensors = 0;
	if (n_tensors > ATL_GGUF_TENSORS_MAX || n_tensors > atl_rd_left(&r) / 32)
		n_tensors = 0; /* parse() reports the error */
	g->names = calloc(n_tensors ? (size_t)n_tensors : 1, ATL_GGUF_NAME_MAX + 1);
	return g->names != NULL ? ATL_OK : ATL_E_NOMEM;
}

enum atl_err atl_gguf_open_mem(const void *buf, size_t len, struct atl_gguf **g_out)
{
	struct atl_gguf *g;

	*g_out = NULL;
	if (buf == NULL && len != 0)
		return fail(ATL_E_ARG, "gguf: NULL buffer");
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return fail(ATL_E_NOMEM, "gguf: out of memory");
	g->file = buf;
	g->file_len = len;
	if (alloc_names(g) != ATL_OK) {
		atl_gguf_close(g);
		return fail(ATL_E_NOMEM, "gguf: out of memory");
	}
	return open_common(g, g_out);
}

enum atl_err atl_gguf_open(const char *path, struct atl_gguf **g_out)
{
	struct atl_gguf *g = NULL;
	struct stat st;
	int fd;
	void *p;

	*g_out = NULL;
	errbuf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO, "gguf: cannot open: %s",
			    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(ATL_E_IO, "gguf: not a regular file");
	}
	if (st.st_size < 8) {
		close(fd);
		return fail(ATL_E_TRUNCATED, "gguf: file shorter than the header");
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return fail(ATL_E_LIMIT, "gguf: file too large");
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail(ATL_E_IO, "gguf: mmap failed: %s", strerror(errno));
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		munmap(p, (size_t)st.st_size);
		return fail(ATL_E_NOMEM, "gguf: out of memory");
	}
	g->file = p;
	g->file_len = (size_t)st.st_size;
	g->mapped = true;
	if (alloc_names(g) != ATL_OK) {
		atl_gguf_close(g);
		return fail(ATL_E_NOMEM, "gguf: out of memory");
	}
	return open_common(g, g_out);
}

void atl_gguf_close(struct atl_gguf *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n_kv; i++)
		free(g->kv[i].strs);
	free(g->kv);
	free(g->tensors);
	free(g->names);
	free(g->name_slot);
	if (g->mapped)
		munmap((void *)(uintptr_t)g->file, g->file_len);
	free(g);
}

uint32_t atl_gguf_version(const struct atl_gguf *g)
{
	return g->version;
}

uint32_t atl_gguf_alignment(const struct atl_gguf *g)
{
	return g->alignment;
}

uint64_t atl_gguf_data_offset(const struct atl_gguf *g)
{
	return g->data_off;
}

const void *atl_gguf_file_data(const struct atl_gguf *g, size_t *len_out)
{
	*len_out = g->file_len;
	return g->file;
}

size_t atl_gguf_n_tensors(const struct atl_gguf *g)
{
	return g->n_tensors;
}

const struct atl_gguf_tensor *atl_gguf_tensor_at(const struct atl_gguf *g, size_t i)
{
	return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct atl_gguf_tensor *atl_gguf_find_tensor(const struct atl_gguf *g, const char *name)
{
	size_t h;

	if (g->name_slot == NULL || name == NULL)
		return NULL;
	h = (size_t)hash_bytes(name, strlen(name)) & g->name_mask;
	while (g->name_slot[h] != 0) {
		const struct atl_gguf_tensor *t = &g->tensors[g->name_slot[h] - 1];

		if (strcmp(t->name, name) == 0)
			return t;
		h = (h + 1) & g->name_mask;
	}
	return NULL;
}
