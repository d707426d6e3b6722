/* GGUF metadata getters over a validated handle (include/atoll/gguf.h).
 * Values were bounds-checked at open; here we only convert types. */
#include <string.h>

#include "atoll/gguf.h"
#include "infer/gguf_int.h"

size_t atl_gguf_n_kv(const struct atl_gguf *g)
{
	return g->n_kv;
}

struct atl_gguf_str atl_gguf_kv_key(const struct atl_gguf *g, size_t i)
{
	struct atl_gguf_str none = {"", 0};

	return i < g->n_kv ? g->kv[i].key : none;
}

enum atl_gguf_vtype atl_gguf_kv_type(const struct atl_gguf *g, size_t i)
{
	return i < g->n_kv ? (enum atl_gguf_vtype)g->kv[i].type : ATL_GGUF_TYPE__END;
}

long atl_gguf_find_key(const struct atl_gguf *g, const char *key)
{
	size_t len;

	if (key == NULL)
		return -1;
	len = strlen(key);
	/* linear: a file has tens of keys and callers look up a handful */
	for (size_t i = 0; i < g->n_kv; i++)
		if (g->kv[i].key.len == len && memcmp(g->kv[i].key.p, key, len) == 0)
			return (long)i;
	return -1;
}

/* ---- one fixed-size value at p of type t ---- */

static bool is_int_type(uint32_t t)
{
	switch (t) {
	case ATL_GGUF_TYPE_UINT8:
	case ATL_GGUF_TYPE_INT8:
	case ATL_GGUF_TYPE_UINT16:
	case ATL_GGUF_TYPE_INT16:
	case ATL_GGUF_TYPE_UINT32:
	case ATL_GGUF_TYPE_INT32:
	case ATL_GGUF_TYPE_UINT64:
	case ATL_GGUF_TYPE_INT64:
		return true;
	default:
		return false;
	}
}

/* Integer value as (negative?, magnitude) so every type converts exactly. */
static void load_int(uint32_t t, const uint8_t *p, bool *neg_out, uint64_t *mag_out)
{
	int64_t s = 0;
	uint64_t u = 0;
	bool is_signed = true;

	switch (t) {
	case ATL_GGUF_TYPE_UINT8: u = p[0]; is_signed = false; break;
	case ATL_GGUF_TYPE_INT8: s = (int8_t)p[0]; break;
	case ATL_GGUF_TYPE_UINT16: u = atl_gguf_ld16_(p); is_signed = false; break;
	case ATL_GGUF_TYPE_INT16: s = (int16_t)atl_gguf_ld16_(p); break;
	case ATL_GGUF_TYPE_UINT32: u = atl_gguf_ld32_(p); is_signed = false; break;
	case ATL_GGUF_TYPE_INT32: s = (int32_t)atl_gguf_ld32_(p); break;
	case ATL_GGUF_TYPE_UINT64: u = atl_gguf_ld64_(p); is_signed = false; break;
	default: s = (int64_t)atl_gguf_ld64_(p); break;
	}
	if (!is_signed) {
		*neg_out = false;
		*mag_out = u;
	} else if (s < 0) {
		*neg_out = true;
		*mag_out = (uint64_t)0 - (uint64_t)s;
	} else {
		*neg_out = false;
		*mag_out = (uint64_t)s;
	}
}

enum int_target { T_U32, T_I32, T_U64, T_I64 };

static enum atl_err conv_int(uint32_t t, const uint8_t *p, enum int_target tgt, void *out)
{
	bool neg;
	uint64_t m;

	if (!is_int_type(t))
		return ATL_E_FORMAT;
	load_int(t, p, &neg, &m);
	switch (tgt) {
	case T_U32:
		if (neg || m > UINT32_MAX)
			return ATL_E_LIMIT;
		*(uint32_t *)out = (uint32_t)m;
		return ATL_OK;
	case T_I32:
		if ((!neg && m > INT32_MAX) || (neg && m > (uint64_t)INT32_MAX + 1))
			return ATL_E_LIMIT;
		*(int32_t *)out = neg ? (int32_t)(-(int64_t)m) : (int32_t)m;
		return ATL_OK;
	case T_U64:
		if (neg)
			return ATL_E_LIMIT;
		*(uint64_t *)out = m;
		return ATL_OK;
	default:
		if ((!neg && m > INT64_MAX) || (neg && m > (uint64_t)INT64_MAX + 1))
			return ATL_E_LIMIT;
		*(int64_t *)out = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m)
				      : (int64_t)m;
		return ATL_OK;
	}
}

static enum atl_err conv_f32(uint32_t t, const uint8_t *p, float *out)
{
	if (t == ATL_GGUF_TYPE_FLOAT32) {
		uint32_t u = atl_gguf_ld32_(p);

		memcpy(out, &u, 4);
		return ATL_OK;
	}
	if (t == ATL_GGUF_TYPE_FLOAT64) {
		uint64_t u = atl_gguf_ld64_(p);
		double d;

		memcpy(&d, &u, 8);
		*out = (float)d;
		return ATL_OK;
	}
	return ATL_E_FORMAT;
}

/* ---- scalar getters ---- */

static enum atl_err find_scalar(const struct atl_gguf *g, const char *key,
				const struct atl_gguf_kv_ **kv_out)
{
	long i = atl_gguf_find_key(g, key);

	*kv_out = NULL;
	if (i < 0)
		return ATL_E_NOTFOUND;
	*kv_out = &g->kv[i];
	return ATL_OK;
}

#define SCALAR_INT(fn, ctype, tgt)                                                   \
	enum atl_err fn(const struct atl_gguf *g, const char *key, ctype *v_out)     \
	{                                                                            \
		const struct atl_gguf_kv_ *kv;                                       \
		enum atl_err rc = find_scalar(g, key, &kv);                          \
                                                                                     \
		*v_out = 0;                                                          \
		if (rc != ATL_OK)                                                    \
			return rc;                                                   \
		if (kv->type == ATL_GGUF_TYPE_ARRAY)                                 \
			return ATL_E_FORMAT;                                         \
		return conv_int(kv->type, kv->vals, tgt, v_out);                     \
	}

SCALAR_INT(atl_gguf_get_u32, uint32_t, T_U32)
SCALAR_INT(atl_gguf_get_i32, int32_t, T_I32)
SCALAR_INT(atl_gguf_get_u64, uint64_t, T_U64)
SCALAR_INT(atl_gguf_get_i64, int64_t, T_I64)

enum atl_err atl_gguf_get_f32(const struct atl_gguf *g, const char *key, float *v_out)
{
	const struct atl_gguf_kv_ *kv;
	enum atl_err rc = find_scalar(g, key, &kv);

	*v_out = 0;
	if (rc != ATL_OK)
		return rc;
	return conv_f32(kv->type, kv->vals, v_out);
}

enum atl_err atl_gguf_get_bool(const struct atl_gguf *g, const char *key, bool *v_out)
{
	const struct atl_gguf_kv_ *kv;
	enum atl_err rc = find_scalar(g, key, &kv);

	*v_out = false;
	if (rc != ATL_OK)
		return rc;
	if (kv->type != ATL_GGUF_TYPE_BOOL)
		return ATL_E_FORMAT;
	*v_out = kv->vals[0] != 0;
	return ATL_OK;
}

enum atl_err atl_gguf_get_str(const struct atl_gguf *g, const char *key, struct atl_gguf_str *v_out)
{
	const struct atl_gguf_kv_ *kv;
	enum atl_err rc = find_scalar(g, key, &kv);

	v_out->p = NULL;
	v_out->len = 0;
	if (rc != ATL_OK)
		return rc;
	if (kv->type != ATL_GGUF_TYPE_STRING)
		return ATL_E_FORMAT;
	*v_out = kv->str;
	return ATL_OK;
}

/* ---- arrays ---- */

enum atl_err atl_gguf_get_arr(const struct atl_gguf *g, const char *key, struct atl_gguf_arr *arr_out)
{
	long i = atl_gguf_find_key(g, key);

	memset(arr_out, 0, sizeof(*arr_out));
	if (i < 0)
		return ATL_E_NOTFOUND;
	if (g->kv[i].type != ATL_GGUF_TYPE_ARRAY)
		return ATL_E_FORMAT;
	arr_out->elem_type = (enum atl_gguf_vtype)g->kv[i].elem_type;
	arr_out->n = g->kv[i].n;
	arr_out->g_ = g;
	arr_out->kv_ = (size_t)i;
	return ATL_OK;
}

/* Element i of a fixed-size array, or an error for strings/nested/out of range. */
static enum atl_err elem(const struct atl_gguf_arr *a, size_t i, const uint8_t **p_out)
{
	const struct atl_gguf_kv_ *kv;

	*p_out = NULL;
	if (a == NULL || a->g_ == NULL || i >= a->n)
		return ATL_E_ARG;
	kv = &a->g_->kv[a->kv_];
	if (kv->elem_type == ATL_GGUF_TYPE_ARRAY)
		return ATL_E_UNSUPPORTED;
	if (kv->elem_type == ATL_GGUF_TYPE_STRING)
		return ATL_E_FORMAT;
	*p_out = kv->vals + i * atl_gguf_vtype_size_(kv->elem_type);
	return ATL_OK;
}

#define ARR_INT(fn, ctype, tgt)                                                        \
	enum atl_err fn(const struct atl_gguf_arr *a, size_t i, ctype *v_out)          \
	{                                                                              \
		const uint8_t *p;                                                      \
		enum atl_err rc = elem(a, i, &p);                                      \
                                                                                       \
		*v_out = 0;                                                            \
		if (rc != ATL_OK)                                                      \
			return rc;                                                     \
		return conv_int(a->elem_type, p, tgt, v_out);                          \
	}

ARR_INT(atl_gguf_arr_i64, int64_t, T_I64)
ARR_INT(atl_gguf_arr_i32, int32_t, T_I32)
ARR_INT(atl_gguf_arr_u32, uint32_t, T_U32)

enum atl_err atl_gguf_arr_f32(const struct atl_gguf_arr *a, size_t i, float *v_out)
{
	const uint8_t *p;
	enum atl_err rc = elem(a, i, &p);

	*v_out = 0;
	if (rc != ATL_OK)
		return rc;
	return conv_f32(a->elem_type, p, v_out);
}

enum atl_err atl_gguf_arr_bool(const struct atl_gguf_arr *a, size_t i, bool *v_out)
{
	const uint8_t *p;
	enum atl_err rc = elem(a, i, &p);

	*v_out = false;
	if (rc != ATL_OK)
		return rc;
	if (a->elem_type != ATL_GGUF_TYPE_BOOL)
		return ATL_E_FORMAT;
	*v_out = p[0] != 0;
	return ATL_OK;
}

enum atl_err atl_gguf_arr_str(const struct atl_gguf_arr *a, size_t i, struct atl_gguf_str *v_out)
{
	const struct atl_gguf_kv_ *kv;

	v_out->p = NULL;
	v_out->len = 0;
	if (a == NULL || a->g_ == NULL || i >= a->n)
		return ATL_E_ARG;
	kv = &a->g_->kv[a->kv_];
	if (kv->elem_type == ATL_GGUF_TYPE_ARRAY)
		return ATL_E_UNSUPPORTED;
	if (kv->elem_type != ATL_GGUF_TYPE_STRING)
		return ATL_E_FORMAT;
	*v_out = kv->strs[i];
	return ATL_OK;
}
