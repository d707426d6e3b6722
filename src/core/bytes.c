/* Bounded reader and writer: see include/atoll/bytes.h for the contract. */
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"

void atl_rd_init(struct atl_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p != NULL ? len : 0;
	r->pos = 0;
	r->err = ATL_OK;
}

size_t atl_rd_left(const struct atl_rd *r)
{
	return r->err != ATL_OK ? 0 : r->len - r->pos;
}

/* Checks that n more bytes exist; latches ATL_E_TRUNCATED otherwise. */
static enum atl_err need(struct atl_rd *r, size_t n)
{
	if (r->err != ATL_OK)
		return r->err;
	if (n > r->len - r->pos) {
		r->err = ATL_E_TRUNCATED;
		return r->err;
	}
	return ATL_OK;
}

enum atl_err atl_rd_bytes(struct atl_rd *r, void *out, size_t n)
{
	enum atl_err rc = need(r, n);

	if (rc != ATL_OK) {
		if (out != NULL && n > 0)
			memset(out, 0, n);
		return rc;
	}
	if (n > 0)
		memcpy(out, r->p + r->pos, n);
	r->pos += n;
	return ATL_OK;
}

enum atl_err atl_rd_view(struct atl_rd *r, size_t n, const uint8_t **view_out)
{
	enum atl_err rc = need(r, n);

	*view_out = NULL;
	if (rc != ATL_OK)
		return rc;
	*view_out = r->p + r->pos;
	r->pos += n;
	return ATL_OK;
}

enum atl_err atl_rd_skip(struct atl_rd *r, size_t n)
{
	enum atl_err rc = need(r, n);

	if (rc != ATL_OK)
		return rc;
	r->pos += n;
	return ATL_OK;
}

enum atl_err atl_rd_sub(struct atl_rd *r, size_t n, struct atl_rd *child_out)
{
	enum atl_err rc = need(r, n);

	atl_rd_init(child_out, NULL, 0);
	if (rc != ATL_OK) {
		child_out->err = rc;
		return rc;
	}
	atl_rd_init(child_out, r->p + r->pos, n);
	r->pos += n;
	return ATL_OK;
}

enum atl_err atl_rd_at(const struct atl_rd *r, size_t off, size_t n, struct atl_rd *child_out)
{
	atl_rd_init(child_out, NULL, 0);
	if (r->err != ATL_OK) {
		child_out->err = r->err;
		return r->err;
	}
	if (off > r->len || n > r->len - off) {
		child_out->err = ATL_E_TRUNCATED;
		return ATL_E_TRUNCATED;
	}
	atl_rd_init(child_out, r->p + off, n);
	return ATL_OK;
}

enum atl_err atl_rd_finish(const struct atl_rd *r)
{
	if (r->err != ATL_OK)
		return r->err;
	return r->pos == r->len ? ATL_OK : ATL_E_TRAILING;
}

#define RD_INT(name, type, n, expr)                                   \
	enum atl_err name(struct atl_rd *r, type *v_out)              \
	{                                                             \
		const uint8_t *b;                                     \
		enum atl_err rc = atl_rd_view(r, n, &b);              \
		*v_out = 0;                                           \
		if (rc != ATL_OK)                                     \
			return rc;                                    \
		*v_out = (type)(expr);                                \
		return ATL_OK;                                        \
	}

RD_INT(atl_rd_u8, uint8_t, 1, b[0])
RD_INT(atl_rd_u16le, uint16_t, 2, (unsigned)b[0] | (unsigned)b[1] << 8)
RD_INT(atl_rd_u16be, uint16_t, 2, (unsigned)b[1] | (unsigned)b[0] << 8)
RD_INT(atl_rd_u32le, uint32_t, 4,
       (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24)
RD_INT(atl_rd_u32be, uint32_t, 4,
       (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24)
RD_INT(atl_rd_u64le, uint64_t, 8,
       (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
	       (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 | (uint64_t)b[6] << 48 |
	       (uint64_t)b[7] << 56)
RD_INT(atl_rd_u64be, uint64_t, 8,
       (uint64_t)b[7] | (uint64_t)b[6] << 8 | (uint64_t)b[5] << 16 | (uint64_t)b[4] << 24 |
	       (uint64_t)b[3] << 32 | (uint64_t)b[2] << 40 | (uint64_t)b[1] << 48 |
	       (uint64_t)b[0] << 56)

/* ---- writer ---- */

void atl_wr_init(struct atl_wr *w, size_t max, bool secret)
{
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->max = max < ATL_WR_SIZE_MAX ? max : ATL_WR_SIZE_MAX;
	w->secret = secret;
	w->err = ATL_OK;
}

static enum atl_err grow(struct atl_wr *w, size_t n)
{
	size_t want, cap;
	uint8_t *q;

	if (w->err != ATL_OK)
		return w->err;
	if (n > w->max - w->len) {
		w->err = ATL_E_LIMIT;
		return w->err;
	}
	want = w->len + n;
	if (want <= w->cap)
		return ATL_OK;
	cap = w->cap > 0 ? w->cap : 64;
	while (cap < want)
		cap = cap > w->max / 2 ? w->max : cap * 2;
	if (w->secret) {
		q = atl_secret_realloc(w->p, cap);
	} else {
		q = realloc(w->p, cap);
	}
	if (q == NULL) {
		w->err = ATL_E_NOMEM;
		return w->err;
	}
	w->p = q;
	w->cap = cap;
	return ATL_OK;
}

enum atl_err atl_wr_bytes(struct atl_wr *w, const void *p, size_t n)
{
	enum atl_err rc = grow(w, n);

	if (rc != ATL_OK)
		return rc;
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
	return ATL_OK;
}

enum atl_err atl_wr_str(struct atl_wr *w, const char *s)
{
	return atl_wr_bytes(w, s, strlen(s));
}

enum atl_err atl_wr_reserve(struct atl_wr *w, size_t n, size_t *off_out)
{
	enum atl_err rc = grow(w, n);

	*off_out = 0;
	if (rc != ATL_OK)
		return rc;
	memset(w->p + w->len, 0, n);
	*off_out = w->len;
	w->len += n;
	return ATL_OK;
}

static enum atl_err patch(struct atl_wr *w, size_t off, const uint8_t *b, size_t n)
{
	if (w->err != ATL_OK)
		return w->err;
	if (off > w->len || n > w->len - off) {
		w->err = ATL_E_ARG;
		return w->err;
	}
	memcpy(w->p + off, b, n);
	return ATL_OK;
}

enum atl_err atl_wr_patch_u16be(struct atl_wr *w, size_t off, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return patch(w, off, b, sizeof(b));
}

enum atl_err atl_wr_patch_u32be(struct atl_wr *w, size_t off, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return patch(w, off, b, sizeof(b));
}

enum atl_err atl_wr_patch_u32le(struct atl_wr *w, size_t off, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return patch(w, off, b, sizeof(b));
}

enum atl_err atl_wr_u8(struct atl_wr *w, uint8_t v)
{
	return atl_wr_bytes(w, &v, 1);
}

enum atl_err atl_wr_u16le(struct atl_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	return atl_wr_bytes(w, b, sizeof(b));
}

enum atl_err atl_wr_u16be(struct atl_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return atl_wr_bytes(w, b, sizeof(b));
}

enum atl_err atl_wr_u32le(struct atl_wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return atl_wr_bytes(w, b, sizeof(b));
}

enum atl_err atl_wr_u32be(struct atl_wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return atl_wr_bytes(w, b, sizeof(b));
}

enum atl_err atl_wr_u64le(struct atl_wr *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return atl_wr_bytes(w, b, sizeof(b));
}

enum atl_err atl_wr_u64be(struct atl_wr *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[7 - i] = (uint8_t)(v >> (8 * i));
	return atl_wr_bytes(w, b, sizeof(b));
}

enum atl_err atl_wr_take(struct atl_wr *w, uint8_t **buf_out, size_t *len_out)
{
	*buf_out = NULL;
	*len_out = 0;
	if (w->err != ATL_OK)
		return w->err;
	if (w->p == NULL) {
		/* An empty result is still a valid, freeable buffer. */
		enum atl_err rc = grow(w, 1);
		if (rc != ATL_OK)
			return rc;
	}
	*buf_out = w->p;
	*len_out = w->len;
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	return ATL_OK;
}

void atl_wr_free(struct atl_wr *w)
{
	if (w->p != NULL) {
		if (w->secret)
			atl_secret_free(w->p);
		else
			free(w->p);
	}
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
}
