/* Strict, bounded CBOR over libcbor; see src/attest/cbor.h.
 *
 * Why a scanner of our own in front of libcbor: libcbor 0.8 decodes with an
 * explicit stack, but frees and copies trees recursively, allocates arrays of
 * the size an item header announces, and does not refuse duplicate map keys.
 * The scanner (iterative, fixed-size stack) bounds depth and item count and
 * proves every announced length fits in the input before libcbor allocates. */
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/limits.h"
#include "attest/cbor.h"

/* ---- scanner ---- */

enum frame_kind { FR_ARRAY, FR_MAP, FR_TAG, FR_STR };

struct frame {
	enum frame_kind kind;
	bool indef;
	uint8_t str_major; /* FR_STR: 2 or 3 */
	uint64_t left;     /* definite: items still expected */
	uint64_t seen;     /* indefinite map: items seen (must be even at break) */
};

/* Reads the argument of an initial byte (RFC 8949 §3). ai 31 sets *indef. */
static enum atl_err read_arg(struct atl_rd *r, uint8_t ai, uint64_t *v, bool *indef)
{
	enum atl_err rc;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	*indef = false;
	*v = 0;
	if (ai < 24) {
		*v = ai;
		return ATL_OK;
	}
	switch (ai) {
	case 24:
		rc = atl_rd_u8(r, &u8);
		*v = u8;
		return rc;
	case 25:
		rc = atl_rd_u16be(r, &u16);
		*v = u16;
		return rc;
	case 26:
		rc = atl_rd_u32be(r, &u32);
		*v = u32;
		return rc;
	case 27:
		return atl_rd_u64be(r, v);
	case 31:
		*indef = true;
		return ATL_OK;
	default: /* 28..30 reserved: RFC 8949 §3 */
		return ATL_E_FORMAT;
	}
}

/* The scanner. With norm != NULL it also copies the item into norm, writing
 * tags 6..20 in their one-byte-argument form (0xd8 NN): libcbor 0.8 refuses
 * the short heads 0xc6..0xd4 as malformed, though RFC 8949 §3 allows them
 * (COSE_Sign1's tag 18 is 0xd2). The copy means the same data item. */
static enum atl_err scan(const uint8_t *buf, size_t len, size_t *item_len_out, struct atl_wr *norm,
			 bool *short_tag_out)
{
	struct frame st[ATL_CBOR_DEPTH_MAX];
	size_t depth = 0, items = 0;
	struct atl_rd r;
	enum atl_err rc;

	*item_len_out = 0;
	if (buf == NULL && len > 0)
		return ATL_E_ARG;
	atl_rd_init(&r, buf, len);
	for (;;) {
		uint8_t ib, major, ai;
		uint64_t arg;
		bool indef, done = false;

		size_t start = r.pos;

		if (++items > ATL_CBOR_ITEMS_MAX)
			return ATL_E_LIMIT;
		rc = atl_rd_u8(&r, &ib);
		if (rc != ATL_OK)
			return ATL_E_TRUNCATED;
		if (ib == 0xff) {
			/* A break closes the innermost indefinite item (§3.2.1). */
			if (depth == 0 || !st[depth - 1].indef)
				return ATL_E_FORMAT;
			if (st[depth - 1].kind == FR_MAP && st[depth - 1].seen % 2 != 0)
				return ATL_E_FORMAT;
			depth--;
			done = true;
		} else {
			major = ib >> 5;
			ai = ib & 0x1f;
			rc = read_arg(&r, ai, &arg, &indef);
			if (rc != ATL_OK)
				return rc == ATL_E_FORMAT ? rc : ATL_E_TRUNCATED;
			/* Chunks of an indefinite string: definite strings of
			 * the same major type only (§3.2.3). */
			if (depth > 0 && st[depth - 1].kind == FR_STR &&
			    (major != st[depth - 1].str_major || indef))
				return ATL_E_FORMAT;
			if (indef && (major < 2 || major > 5))
				return ATL_E_FORMAT;
			switch (major) {
			case 0:
			case 1:
				done = true;
				break;
			case 2:
			case 3:
				if (indef) {
					if (depth >= ATL_CBOR_DEPTH_MAX)
						return ATL_E_LIMIT;
					st[depth++] = (struct frame){.kind = FR_STR, .indef = true,
								     .str_major = major};
					break;
				}
				if (arg > atl_rd_left(&r))
					return ATL_E_TRUNCATED;
				if (atl_rd_skip(&r, (size_t)arg) != ATL_OK)
					return ATL_E_TRUNCATED;
				done = true;
				break;
			case 4:
			case 5:
				if (!indef) {
					/* Every item takes at least one byte. */
					uint64_t need = arg;

					if (major == 5 && __builtin_mul_overflow(arg, 2, &need))
						return ATL_E_TRUNCATED;
					if (need > atl_rd_left(&r))
						return ATL_E_TRUNCATED;
					if (need == 0) {
						done = true;
						break;
					}
					arg = need;
				}
				if (depth >= ATL_CBOR_DEPTH_MAX)
					return ATL_E_LIMIT;
				st[depth++] = (struct frame){.kind = major == 4 ? FR_ARRAY : FR_MAP,
							     .indef = indef, .left = arg};
				break;
			case 6:
				if (ai >= 6 && ai <= 20) {
					if (short_tag_out != NULL)
						*short_tag_out = true;
					if (norm != NULL) {
						rc = atl_wr_u8(norm, 0xd8);
						if (rc != ATL_OK)
							return rc;
						start++; /* the argument is ib's low bits */
						rc = atl_wr_u8(norm, ai);
						if (rc != ATL_OK)
							return rc;
					}
				}
				if (depth >= ATL_CBOR_DEPTH_MAX)
					return ATL_E_LIMIT;
				st[depth++] = (struct frame){.kind = FR_TAG, .left = 1};
				break;
			default: /* 7: simple values and floats (§3.3) */
				if (ai < 20 || ai == 24)
					return ATL_E_FORMAT; /* unassigned simple values */
				done = true;
				break;
			}
		}
		if (norm != NULL && r.pos > start) {
			rc = atl_wr_bytes(norm, buf + start, r.pos - start);
			if (rc != ATL_OK)
				return rc;
		}
		/* An item completed: account it to its parents. */
		while (done) {
			struct frame *f;

			if (depth == 0) {
				*item_len_out = r.pos;
				return ATL_OK;
			}
			f = &st[depth - 1];
			if (f->indef) {
				f->seen++;
				break;
			}
			if (--f->left > 0)
				break;
			depth--; /* a definite container or a tag closed */
		}
	}
}

enum atl_err atl_cbor_item_len(const uint8_t *buf, size_t len, size_t *item_len_out)
{
	return scan(buf, len, item_len_out, NULL, NULL);
}

/* ---- tree post-processing: flatten indefinite strings, refuse duplicate keys ---- */

static bool is_indef_string(const cbor_item_t *it)
{
	return (cbor_isa_bytestring(it) && cbor_bytestring_is_indefinite(it)) ||
	       (cbor_isa_string(it) && cbor_string_is_indefinite(it));
}

/* A definite copy of an indefinite string (new reference), or NULL. */
static cbor_item_t *flatten(const cbor_item_t *it)
{
	bool bytes = cbor_isa_bytestring(it);
	size_t n = bytes ? cbor_bytestring_chunk_count(it) : cbor_string_chunk_count(it);
	cbor_item_t **ch = bytes ? cbor_bytestring_chunks_handle(it) : cbor_string_chunks_handle(it);
	size_t total = 0, off = 0;
	unsigned char *buf;
	cbor_item_t *out;

	for (size_t i = 0; i < n; i++)
		total += bytes ? cbor_bytestring_length(ch[i]) : cbor_string_length(ch[i]);
	buf = malloc(total > 0 ? total : 1);
	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l = bytes ? cbor_bytestring_length(ch[i]) : cbor_string_length(ch[i]);

		if (l > 0)
			memcpy(buf + off, bytes ? cbor_bytestring_handle(ch[i]) : cbor_string_handle(ch[i]), l);
		off += l;
	}
	out = bytes ? cbor_build_bytestring(buf, total) : cbor_build_stringn((const char *)buf, total);
	free(buf);
	return out;
}

/* Replaces *slot by its flattened copy when it is an indefinite string. */
static enum atl_err flatten_slot(cbor_item_t **slot)
{
	cbor_item_t *old = *slot, *nw;

	if (!is_indef_string(old))
		return ATL_OK;
	nw = flatten(old);
	if (nw == NULL)
		return ATL_E_NOMEM;
	*slot = nw;
	cbor_decref(&old);
	return ATL_OK;
}

static bool key_ok(const cbor_item_t *k)
{
	return cbor_isa_uint(k) || cbor_isa_negint(k) || cbor_isa_bytestring(k) ||
	       cbor_isa_string(k);
}

static bool key_eq(const cbor_item_t *a, const cbor_item_t *b)
{
	if (cbor_typeof(a) != cbor_typeof(b))
		return false;
	if (cbor_isa_uint(a) || cbor_isa_negint(a))
		return cbor_get_int(a) == cbor_get_int(b);
	if (cbor_isa_bytestring(a))
		return cbor_bytestring_length(a) == cbor_bytestring_length(b) &&
		       memcmp(cbor_bytestring_handle(a), cbor_bytestring_handle(b),
			      cbor_bytestring_length(a)) == 0;
	return cbor_string_length(a) == cbor_string_length(b) &&
	       memcmp(cbor_string_handle(a), cbor_string_handle(b), cbor_string_length(a)) == 0;
}

/* Walks the tree with an explicit stack (at most ATL_CBOR_ITEMS_MAX pending
 * items, which the scanner guarantees is the whole tree). */
static enum atl_err postprocess(cbor_item_t *root)
{
	cbor_item_t **stack = calloc(ATL_CBOR_ITEMS_MAX, sizeof(*stack));
	size_t sp = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (stack == NULL)
		return ATL_E_NOMEM;
	stack[sp++] = root;
	while (sp > 0) {
		cbor_item_t *it = stack[--sp];

		if (cbor_isa_array(it)) {
			cbor_item_t **h = cbor_array_handle(it);
			size_t n = cbor_array_size(it);

			for (size_t i = 0; i < n; i++) {
				ATL_TRY(flatten_slot(&h[i]));
				if (sp >= ATL_CBOR_ITEMS_MAX) {
					rc = ATL_E_LIMIT;
					goto out;
				}
				stack[sp++] = h[i];
			}
		} else if (cbor_isa_map(it)) {
			struct cbor_pair *h = cbor_map_handle(it);
			size_t n = cbor_map_size(it);

			for (size_t i = 0; i < n; i++) {
				ATL_TRY(flatten_slot(&h[i].key));
				ATL_TRY(flatten_slot(&h[i].value));
				if (!key_ok(h[i].key)) {
					rc = ATL_E_FORMAT;
					goto out;
				}
				/* RFC 8949 §5.6: duplicate keys make a map invalid. */
				for (size_t j = 0; j < i; j++) {
					if (key_eq(h[i].key, h[j].key)) {
						rc = ATL_E_FORMAT;
						goto out;
					}
				}
				if (sp + 1 >= ATL_CBOR_ITEMS_MAX) {
					rc = ATL_E_LIMIT;
					goto out;
				}
				stack[sp++] = h[i].value;
			}
		} else if (cbor_isa_tag(it)) {
			ATL_TRY(flatten_slot(&it->metadata.tag_metadata.tagged_item));
			if (sp >= ATL_CBOR_ITEMS_MAX) {
				rc = ATL_E_LIMIT;
				goto out;
			}
			stack[sp++] = it->metadata.tag_metadata.tagged_item;
		}
	}
	rc = ATL_OK;
out:
	free(stack);
	return rc;
}

enum atl_err atl_cbor_decode(const uint8_t *buf, size_t len, cbor_item_t **out)
{
	struct cbor_load_result res;
	cbor_item_t *it = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	size_t n;

	struct atl_wr norm;
	bool short_tag = false;
	uint8_t *nbuf = NULL;
	size_t nlen = 0;

	*out = NULL;
	atl_wr_init(&norm, len + 16u * ATL_CBOR_DEPTH_MAX + 16u, false);
	ATL_TRY(scan(buf, len, &n, NULL, &short_tag));
	if (n != len) {
		rc = ATL_E_TRAILING;
		goto out;
	}
	if (short_tag) {
		/* At most one extra byte per tag head; tags count as items. */
		atl_wr_free(&norm);
		atl_wr_init(&norm, len + ATL_CBOR_ITEMS_MAX, false);
		ATL_TRY(scan(buf, len, &n, &norm, NULL));
		ATL_TRY(atl_wr_take(&norm, &nbuf, &nlen));
		buf = nbuf;
		len = nlen;
	}
	it = cbor_load(buf, len, &res);
	if (it == NULL || res.error.code != CBOR_ERR_NONE || res.read != len) {
		rc = (it == NULL && res.error.code == CBOR_ERR_MEMERROR) ? ATL_E_NOMEM : ATL_E_FORMAT;
		goto out;
	}
	if (is_indef_string(it)) {
		ATL_TRY(flatten_slot(&it));
	}
	ATL_TRY(postprocess(it));
	*out = it;
	it = NULL;
	rc = ATL_OK;
out:
	if (it != NULL)
		cbor_decref(&it);
	atl_wr_free(&norm);
	free(nbuf);
	return rc;
}

void atl_cbor_free(cbor_item_t *it)
{
	if (it != NULL)
		cbor_decref(&it);
}

/* ---- accessors ---- */

bool atl_cbor_uint(const cbor_item_t *it, uint64_t *v_out)
{
	*v_out = 0;
	if (it == NULL || !cbor_isa_uint(it))
		return false;
	*v_out = cbor_get_int(it);
	return true;
}

bool atl_cbor_int(const cbor_item_t *it, int64_t *v_out)
{
	uint64_t u;

	*v_out = 0;
	if (it == NULL)
		return false;
	if (cbor_isa_uint(it)) {
		u = cbor_get_int(it);
		if (u > INT64_MAX)
			return false;
		*v_out = (int64_t)u;
		return true;
	}
	if (cbor_isa_negint(it)) {
		u = cbor_get_int(it); /* value is -1 - u */
		if (u > INT64_MAX)
			return false;
		*v_out = -1 - (int64_t)u;
		return true;
	}
	return false;
}

bool atl_cbor_bstr(const cbor_item_t *it, const uint8_t **p_out, size_t *len_out)
{
	*p_out = NULL;
	*len_out = 0;
	if (it == NULL || !cbor_isa_bytestring(it) || cbor_bytestring_is_indefinite(it))
		return false;
	*p_out = cbor_bytestring_handle(it);
	*len_out = cbor_bytestring_length(it);
	return true;
}

bool atl_cbor_tstr(const cbor_item_t *it, const char **p_out, size_t *len_out)
{
	*p_out = NULL;
	*len_out = 0;
	if (it == NULL || !cbor_isa_string(it) || cbor_string_is_indefinite(it))
		return false;
	*p_out = (const char *)cbor_string_handle(it);
	*len_out = cbor_string_length(it);
	return true;
}

bool atl_cbor_tstr_eq(const cbor_item_t *it, const char *s)
{
	const char *p;
	size_t n;

	if (!atl_cbor_tstr(it, &p, &n))
		return false;
	return n == strlen(s) && (n == 0 || memcmp(p, s, n) == 0);
}

bool atl_cbor_is_null(const cbor_item_t *it)
{
	/* libcbor's cbor_is_null asserts on floats (found by fuzzing): only a
	 * width-0 major-7 item is a simple value. */
	return it != NULL && cbor_isa_float_ctrl(it) && cbor_float_get_width(it) == CBOR_FLOAT_0 &&
	       cbor_is_null(it);
}

size_t atl_cbor_array_len(const cbor_item_t *it)
{
	return (it != NULL && cbor_isa_array(it)) ? cbor_array_size(it) : 0;
}

const cbor_item_t *atl_cbor_array_at(const cbor_item_t *it, size_t i)
{
	if (i >= atl_cbor_array_len(it))
		return NULL;
	return cbor_array_handle(it)[i];
}

bool atl_cbor_tag(const cbor_item_t *it, uint64_t *tag_out, const cbor_item_t **content_out)
{
	*tag_out = 0;
	*content_out = NULL;
	if (it == NULL || !cbor_isa_tag(it))
		return false;
	*tag_out = cbor_tag_value(it);
	*content_out = it->metadata.tag_metadata.tagged_item; /* borrowed */
	return true;
}

/* The value under a text key skey, or under the integer key ikey when skey
 * is NULL; NULL when absent or m is not a map. */
static const cbor_item_t *map_find(const cbor_item_t *m, int64_t ikey, const char *skey)
{
	struct cbor_pair *h;
	size_t n;

	if (m == NULL || !cbor_isa_map(m))
		return NULL;
	h = cbor_map_handle(m);
	n = cbor_map_size(m);
	for (size_t i = 0; i < n; i++) {
		int64_t k;

		if (skey != NULL ? atl_cbor_tstr_eq(h[i].key, skey)
				 : atl_cbor_int(h[i].key, &k) && k == ikey)
			return h[i].value;
	}
	return NULL;
}

const cbor_item_t *atl_cbor_map_int(const cbor_item_t *m, int64_t key)
{
	return map_find(m, key, NULL);
}

const cbor_item_t *atl_cbor_map_str(const cbor_item_t *m, const char *key)
{
	return key != NULL ? map_find(m, 0, key) : NULL;
}

bool atl_cbor_map_keys_in(const cbor_item_t *m, const int64_t *keys, size_t n, int64_t *bad_out)
{
	struct cbor_pair *h;
	size_t cnt;

	*bad_out = 0;
	if (m == NULL || !cbor_isa_map(m))
		return false;
	h = cbor_map_handle(m);
	cnt = cbor_map_size(m);
	for (size_t i = 0; i < cnt; i++) {
		int64_t k;
		bool found = false;

		if (!atl_cbor_int(h[i].key, &k))
			return false;
		for (size_t j = 0; j < n && !found; j++)
			found = keys[j] == k;
		if (!found) {
			*bad_out = k;
			return false;
		}
	}
	return true;
}

/* ---- writing ---- */

enum atl_err atl_cbor_put_head(struct atl_wr *w, uint8_t major, uint64_t v)
{
	enum atl_err rc;

	if (major > 7)
		return ATL_E_ARG;
	major <<= 5;
	if (v < 24)
		return atl_wr_u8(w, major | (uint8_t)v);
	if (v <= 0xff) {
		rc = atl_wr_u8(w, major | 24);
		return rc != ATL_OK ? rc : atl_wr_u8(w, (uint8_t)v);
	}
	if (v <= 0xffff) {
		rc = atl_wr_u8(w, major | 25);
		return rc != ATL_OK ? rc : atl_wr_u16be(w, (uint16_t)v);
	}
	if (v <= 0xffffffffu) {
		rc = atl_wr_u8(w, major | 26);
		return rc != ATL_OK ? rc : atl_wr_u32be(w, (uint32_t)v);
	}
	rc = atl_wr_u8(w, major | 27);
	return rc != ATL_OK ? rc : atl_wr_u64be(w, v);
}

enum atl_err atl_cbor_put_tstr(struct atl_wr *w, const char *s)
{
	size_t n = strlen(s);
	enum atl_err rc = atl_cbor_put_head(w, 3, n);

	return rc != ATL_OK ? rc : atl_wr_bytes(w, s, n);
}

enum atl_err atl_cbor_put_bstr_or_null(struct atl_wr *w, const uint8_t *p, size_t n)
{
	enum atl_err rc;

	if (p == NULL)
		return atl_wr_u8(w, 0xf6); /* simple value 22: null */
	rc = atl_cbor_put_head(w, 2, n);
	return rc != ATL_OK ? rc : atl_wr_bytes(w, p, n);
}
