/* GGUF v3 writer (include/atoll/gguf.h). Metadata is serialised as it is
 * added; tensor infos are kept and laid out at write time; tensor data is
 * borrowed and streamed to the file so multi-gigabyte models never need one
 * buffer. Errors latch. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/bytes.h"
#include "atoll/gguf.h"
#include "infer/gguf_int.h"

struct wtensor {
	char *name;
	uint32_t type, n_dims;
	uint64_t ne[ATL_GGUF_DIMS_MAX];
	uint64_t offset; /* raw: as given; else assigned at write time */
	const void *data;
	size_t size;
	bool raw;
};

struct atl_gguf_writer {
	enum atl_err err;
	uint32_t version, alignment;
	bool align_set;
	struct atl_wr kv; /* serialised pairs */
	uint64_t n_kv;
	struct wtensor *t;
	size_t n_t, cap_t;
};

enum atl_err atl_gguf_writer_new(struct atl_gguf_writer **w_out)
{
	struct atl_gguf_writer *w = calloc(1, sizeof(*w));

	*w_out = NULL;
	if (w == NULL)
		return ATL_E_NOMEM;
	w->version = ATL_GGUF_VERSION;
	w->alignment = ATL_GGUF_ALIGNMENT;
	atl_wr_init(&w->kv, ATL_WR_SIZE_MAX, false);
	*w_out = w;
	return ATL_OK;
}

void atl_gguf_writer_free(struct atl_gguf_writer *w)
{
	if (w == NULL)
		return;
	atl_wr_free(&w->kv);
	for (size_t i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->t);
	free(w);
}

static enum atl_err latch(struct atl_gguf_writer *w, enum atl_err rc)
{
	if (w->err == ATL_OK)
		w->err = rc;
	return w->err;
}

static enum atl_err wr_gstr(struct atl_wr *b, const char *s, size_t len)
{
	enum atl_err rc = atl_wr_u64le(b, (uint64_t)len);

	if (rc == ATL_OK && len > 0)
		rc = atl_wr_bytes(b, s, len);
	return rc;
}

/* key, then the type id. */
static enum atl_err begin_kv(struct atl_gguf_writer *w, const char *key, uint32_t type)
{
	enum atl_err rc;

	if (w->err != ATL_OK)
		return w->err;
	if (key == NULL)
		return latch(w, ATL_E_ARG);
	rc = wr_gstr(&w->kv, key, strlen(key));
	if (rc == ATL_OK)
		rc = atl_wr_u32le(&w->kv, type);
	if (rc != ATL_OK)
		return latch(w, rc);
	w->n_kv++;
	return ATL_OK;
}

static enum atl_err add_fixed(struct atl_gguf_writer *w, const char *key, uint32_t type,
			      uint64_t bits, size_t size)
{
	enum atl_err rc = begin_kv(w, key, type);

	for (size_t i = 0; rc == ATL_OK && i < size; i++)
		rc = atl_wr_u8(&w->kv, (uint8_t)(bits >> (8 * i)));
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}

enum atl_err atl_gguf_writer_add_u8(struct atl_gguf_writer *w, const char *key, uint8_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_UINT8, v, 1);
}

enum atl_err atl_gguf_writer_add_i8(struct atl_gguf_writer *w, const char *key, int8_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_INT8, (uint8_t)v, 1);
}

enum atl_err atl_gguf_writer_add_u16(struct atl_gguf_writer *w, const char *key, uint16_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_UINT16, v, 2);
}

enum atl_err atl_gguf_writer_add_i16(struct atl_gguf_writer *w, const char *key, int16_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_INT16, (uint16_t)v, 2);
}

enum atl_err atl_gguf_writer_add_u32(struct atl_gguf_writer *w, const char *key, uint32_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_UINT32, v, 4);
}

enum atl_err atl_gguf_writer_add_i32(struct atl_gguf_writer *w, const char *key, int32_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_INT32, (uint32_t)v, 4);
}

enum atl_err atl_gguf_writer_add_u64(struct atl_gguf_writer *w, const char *key, uint64_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_UINT64, v, 8);
}

enum atl_err atl_gguf_writer_add_i64(struct atl_gguf_writer *w, const char *key, int64_t v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_INT64, (uint64_t)v, 8);
}

enum atl_err atl_gguf_writer_add_f32(struct atl_gguf_writer *w, const char *key, float v)
{
	uint32_t u;

	memcpy(&u, &v, 4);
	return add_fixed(w, key, ATL_GGUF_TYPE_FLOAT32, u, 4);
}

enum atl_err atl_gguf_writer_add_f64(struct atl_gguf_writer *w, const char *key, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	return add_fixed(w, key, ATL_GGUF_TYPE_FLOAT64, u, 8);
}

enum atl_err atl_gguf_writer_add_bool(struct atl_gguf_writer *w, const char *key, bool v)
{
	return add_fixed(w, key, ATL_GGUF_TYPE_BOOL, v ? 1 : 0, 1);
}

enum atl_err atl_gguf_writer_add_strn(struct atl_gguf_writer *w, const char *key, const char *v,
				      size_t len)
{
	enum atl_err rc;

	if (v == NULL && len != 0)
		return latch(w, ATL_E_ARG);
	rc = begin_kv(w, key, ATL_GGUF_TYPE_STRING);
	if (rc == ATL_OK)
		rc = wr_gstr(&w->kv, v, len);
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}

enum atl_err atl_gguf_writer_add_str(struct atl_gguf_writer *w, const char *key, const char *v)
{
	if (v == NULL)
		return latch(w, ATL_E_ARG);
	return atl_gguf_writer_add_strn(w, key, v, strlen(v));
}

enum atl_err atl_gguf_writer_add_arr(struct atl_gguf_writer *w, const char *key,
				     enum atl_gguf_vtype elem_type, const void *v, size_t n)
{
	size_t es = atl_gguf_vtype_size_(elem_type);
	const uint8_t *src = v;
	enum atl_err rc;

	if (w->err != ATL_OK)
		return w->err;
	if (es == 0 || (v == NULL && n != 0))
		return latch(w, ATL_E_ARG);
	rc = begin_kv(w, key, ATL_GGUF_TYPE_ARRAY);
	if (rc == ATL_OK)
		rc = atl_wr_u32le(&w->kv, elem_type);
	if (rc == ATL_OK)
		rc = atl_wr_u64le(&w->kv, n);
	/* host order in, little-endian out */
	for (size_t i = 0; rc == ATL_OK && i < n; i++) {
		uint64_t bits = 0;

		switch (es) {
		case 1: bits = src[i]; break;
		case 2: { uint16_t x; memcpy(&x, src + 2 * i, 2); bits = x; break; }
		case 4: { uint32_t x; memcpy(&x, src + 4 * i, 4); bits = x; break; }
		default: memcpy(&bits, src + 8 * i, 8); break;
		}
		if (elem_type == ATL_GGUF_TYPE_BOOL)
			bits = bits != 0;
		for (size_t b = 0; rc == ATL_OK && b < es; b++)
			rc = atl_wr_u8(&w->kv, (uint8_t)(bits >> (8 * b)));
	}
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}

enum atl_err atl_gguf_writer_add_arr_str(struct atl_gguf_writer *w, const char *key,
					 const char *const *v, size_t n)
{
	enum atl_err rc;

	if (w->err != ATL_OK)
		return w->err;
	if (v == NULL && n != 0)
		return latch(w, ATL_E_ARG);
	for (size_t i = 0; i < n; i++)
		if (v[i] == NULL)
			return latch(w, ATL_E_ARG);
	rc = begin_kv(w, key, ATL_GGUF_TYPE_ARRAY);
	if (rc == ATL_OK)
		rc = atl_wr_u32le(&w->kv, ATL_GGUF_TYPE_STRING);
	if (rc == ATL_OK)
		rc = atl_wr_u64le(&w->kv, n);
	for (size_t i = 0; rc == ATL_OK && i < n; i++)
		rc = wr_gstr(&w->kv, v[i], strlen(v[i]));
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}

enum atl_err atl_gguf_writer_copy_kv(struct atl_gguf_writer *w, const struct atl_gguf *g,
				     const char *prefix)
{
	size_t pl = prefix != NULL ? strlen(prefix) : 0;
	enum atl_err rc = ATL_OK;

	if (w->err != ATL_OK)
		return w->err;
	if (g == NULL)
		return latch(w, ATL_E_ARG);
	for (size_t i = 0; i < g->n_kv && rc == ATL_OK; i++) {
		const struct atl_gguf_kv_ *kv = &g->kv[i];

		if (pl > 0 && (kv->key.len < pl || memcmp(kv->key.p, prefix, pl) != 0))
			continue;
		/* the alignment is the writer's own business */
		if (kv->key.len == strlen(ATL_GGUF_KEY_ALIGNMENT) &&
		    memcmp(kv->key.p, ATL_GGUF_KEY_ALIGNMENT, kv->key.len) == 0)
			continue;
		rc = wr_gstr(&w->kv, kv->key.p, kv->key.len);
		if (rc == ATL_OK)
			rc = atl_wr_u32le(&w->kv, kv->type);
		if (rc == ATL_OK)
			rc = atl_wr_bytes(&w->kv, kv->raw, kv->raw_len);
		if (rc == ATL_OK)
			w->n_kv++;
	}
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}

enum atl_err atl_gguf_writer_set_alignment(struct atl_gguf_writer *w, uint32_t align)
{
	if (w->err != ATL_OK)
		return w->err;
	if (align == 0 || (align & (align - 1)) != 0 || align > ATL_GGUF_ALIGN_MAX)
		return latch(w, ATL_E_ARG);
	if (w->align_set)
		return latch(w, ATL_E_STATE);
	w->align_set = true;
	w->alignment = align;
	return atl_gguf_writer_add_u32(w, ATL_GGUF_KEY_ALIGNMENT, align);
}

void atl_gguf_writer_set_version(struct atl_gguf_writer *w, uint32_t version)
{
	w->version = version;
}

static enum atl_err push_tensor(struct atl_gguf_writer *w, const char *name, struct wtensor *t)
{
	if (w->n_t == w->cap_t) {
		size_t cap = w->cap_t ? 2 * w->cap_t : 16;
		struct wtensor *nt = realloc(w->t, cap * sizeof(*nt));

		if (nt == NULL)
			return latch(w, ATL_E_NOMEM);
		w->t = nt;
		w->cap_t = cap;
	}
	t->name = strdup(name);
	if (t->name == NULL)
		return latch(w, ATL_E_NOMEM);
	w->t[w->n_t++] = *t;
	return ATL_OK;
}

enum atl_err atl_gguf_writer_add_tensor(struct atl_gguf_writer *w, const char *name,
					enum atl_ggml_type type, uint32_t n_dims, const uint64_t *ne,
					const void *data, size_t size)
{
	struct wtensor t = {0};
	size_t want;
	enum atl_err rc;

	if (w->err != ATL_OK)
		return w->err;
	if (name == NULL || ne == NULL || (data == NULL && size != 0))
		return latch(w, ATL_E_ARG);
	rc = atl_ggml_nbytes(type, n_dims, ne, &want);
	if (rc != ATL_OK)
		return latch(w, rc);
	if (want != size)
		return latch(w, ATL_E_ARG);
	t.type = type;
	t.n_dims = n_dims;
	memcpy(t.ne, ne, n_dims * sizeof(*ne));
	t.data = data;
	t.size = size;
	return push_tensor(w, name, &t);
}

enum atl_err atl_gguf_writer_add_tensor_raw(struct atl_gguf_writer *w, const char *name,
					    uint32_t type, uint32_t n_dims, const uint64_t *ne,
					    uint64_t offset)
{
	struct wtensor t = {0};

	if (w->err != ATL_OK)
		return w->err;
	if (name == NULL || (ne == NULL && n_dims != 0) || n_dims > ATL_GGUF_DIMS_MAX)
		return latch(w, ATL_E_ARG); /* the info must still fit our struct */
	t.type = type;
	t.n_dims = n_dims;
	if (n_dims > 0)
		memcpy(t.ne, ne, n_dims * sizeof(*ne));
	t.offset = offset;
	t.raw = true;
	return push_tensor(w, name, &t);
}

static uint64_t align_up(uint64_t x, uint32_t a)
{
	return (x + a - 1) / a * a;
}

/* Header, metadata, tensor infos and the padding up to the data section, in
 * head; assigns offsets to non-raw tensors; *data_len_out = data section size. */
static enum atl_err build_head(struct atl_gguf_writer *w, struct atl_wr *head,
			       uint64_t *data_len_out)
{
	enum atl_err rc;
	uint64_t off = 0;

	*data_len_out = 0;
	if (w->err != ATL_OK)
		return w->err;
	for (size_t i = 0; i < w->n_t; i++) {
		if (w->t[i].raw)
			continue;
		off = align_up(off, w->alignment);
		w->t[i].offset = off;
		off += w->t[i].size;
	}
	if (w->n_t > 0)
		off = align_up(off, w->alignment);
	atl_wr_init(head, ATL_WR_SIZE_MAX, false);
	rc = atl_wr_u32le(head, ATL_GGUF_MAGIC);
	if (rc == ATL_OK)
		rc = atl_wr_u32le(head, w->version);
	if (rc == ATL_OK)
		rc = atl_wr_u64le(head, w->n_t);
	if (rc == ATL_OK)
		rc = atl_wr_u64le(head, w->n_kv);
	if (rc == ATL_OK && w->kv.len > 0)
		rc = atl_wr_bytes(head, w->kv.p, w->kv.len);
	for (size_t i = 0; rc == ATL_OK && i < w->n_t; i++) {
		const struct wtensor *t = &w->t[i];

		rc = wr_gstr(head, t->name, strlen(t->name));
		if (rc == ATL_OK)
			rc = atl_wr_u32le(head, t->n_dims);
		for (uint32_t d = 0; rc == ATL_OK && d < t->n_dims; d++)
			rc = atl_wr_u64le(head, t->ne[d]);
		if (rc == ATL_OK)
			rc = atl_wr_u32le(head, t->type);
		if (rc == ATL_OK)
			rc = atl_wr_u64le(head, t->offset);
	}
	while (rc == ATL_OK && head->len % w->alignment != 0)
		rc = atl_wr_u8(head, 0);
	if (rc != ATL_OK) {
		atl_wr_free(head);
		return latch(w, rc);
	}
	*data_len_out = off;
	return ATL_OK;
}

enum atl_err atl_gguf_writer_write_mem(struct atl_gguf_writer *w, uint8_t **buf_out,
				       size_t *len_out)
{
	struct atl_wr head;
	uint64_t data_len, pos = 0;
	enum atl_err rc;

	*buf_out = NULL;
	*len_out = 0;
	rc = build_head(w, &head, &data_len);
	if (rc != ATL_OK)
		return rc;
	for (size_t i = 0; rc == ATL_OK && i < w->n_t; i++) {
		const struct wtensor *t = &w->t[i];

		if (t->raw)
			continue;
		for (; rc == ATL_OK && pos < t->offset; pos++)
			rc = atl_wr_u8(&head, 0);
		if (rc == ATL_OK && t->size > 0)
			rc = atl_wr_bytes(&head, t->data, t->size);
		pos += t->size;
	}
	for (; rc == ATL_OK && pos < data_len; pos++)
		rc = atl_wr_u8(&head, 0);
	if (rc == ATL_OK)
		rc = atl_wr_take(&head, buf_out, len_out);
	atl_wr_free(&head);
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}

static enum atl_err write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k = write(fd, b, n > (1u << 30) ? (1u << 30) : n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ATL_E_IO;
		b += k;
		n -= (size_t)k;
	}
	return ATL_OK;
}

static enum atl_err write_zeros(int fd, uint64_t n)
{
	static const uint8_t z[4096];
	enum atl_err rc = ATL_OK;

	while (rc == ATL_OK && n > 0) {
		size_t k = n > sizeof(z) ? sizeof(z) : (size_t)n;

		rc = write_all(fd, z, k);
		n -= k;
	}
	return rc;
}

enum atl_err atl_gguf_writer_write_file(struct atl_gguf_writer *w, const char *path)
{
	struct atl_wr head;
	uint64_t data_len, pos = 0;
	enum atl_err rc;
	char *tmp = NULL;
	int fd = -1;

	if (path == NULL)
		return latch(w, ATL_E_ARG);
	rc = build_head(w, &head, &data_len);
	if (rc != ATL_OK)
		return rc;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		rc = ATL_E_NOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = ATL_E_IO;
		goto out;
	}
	rc = write_all(fd, head.p, head.len);
	for (size_t i = 0; rc == ATL_OK && i < w->n_t; i++) {
		const struct wtensor *t = &w->t[i];

		if (t->raw)
			continue;
		rc = write_zeros(fd, t->offset - pos);
		if (rc == ATL_OK)
			rc = write_all(fd, t->data, t->size);
		pos = t->offset + t->size;
	}
	if (rc == ATL_OK)
		rc = write_zeros(fd, data_len - pos);
	if (rc == ATL_OK && fsync(fd) != 0)
		rc = ATL_E_IO;
	if (close(fd) != 0 && rc == ATL_OK)
		rc = ATL_E_IO;
	fd = -1;
	if (rc == ATL_OK && rename(tmp, path) != 0)
		rc = ATL_E_IO;
out:
	if (fd >= 0)
		close(fd);
	if (rc != ATL_OK && tmp != NULL)
		unlink(tmp);
	free(tmp);
	atl_wr_free(&head);
	return rc != ATL_OK ? latch(w, rc) : ATL_OK;
}
