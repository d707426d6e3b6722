/* Bounded byte reader and growable byte writer (STYLE.md "Bytes").
 *
 * Reader: every read checks `n > len - pos` (never `pos + n > len`). On failure
 * the output is zeroed, pos does not move, and the first error latches in
 * r->err, so every later read fails too and atl_rd_finish reports it: a
 * forgotten check still fails at the end.
 *
 * Writer: has a maximum size set at init; grows on demand up to it; can reserve
 * space for a length prefix and patch it later; wipes its memory on free when
 * initialised as secret. Errors latch the same way as the reader's. */
#ifndef ATOLL_BYTES_H
#define ATOLL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

struct atl_rd {
	const uint8_t *p;
	size_t len, pos;
	enum atl_err err;
};

/* Reads from the borrowed buffer p[0..len). p may be NULL only if len is 0. */
void atl_rd_init(struct atl_rd *r, const void *p, size_t len);
/* Bytes not yet consumed (0 once an error latched). */
size_t atl_rd_left(const struct atl_rd *r);

ATL_NODISCARD enum atl_err atl_rd_u8(struct atl_rd *r, uint8_t *v_out);
ATL_NODISCARD enum atl_err atl_rd_u16le(struct atl_rd *r, uint16_t *v_out);
ATL_NODISCARD enum atl_err atl_rd_u16be(struct atl_rd *r, uint16_t *v_out);
ATL_NODISCARD enum atl_err atl_rd_u32le(struct atl_rd *r, uint32_t *v_out);
ATL_NODISCARD enum atl_err atl_rd_u32be(struct atl_rd *r, uint32_t *v_out);
ATL_NODISCARD enum atl_err atl_rd_u64le(struct atl_rd *r, uint64_t *v_out);
ATL_NODISCARD enum atl_err atl_rd_u64be(struct atl_rd *r, uint64_t *v_out);
/* Copies n bytes into out (zeroed on failure). */
ATL_NODISCARD enum atl_err atl_rd_bytes(struct atl_rd *r, void *out, size_t n);
/* Borrows n bytes: *view_out points into the reader's buffer (NULL on failure). */
ATL_NODISCARD enum atl_err atl_rd_view(struct atl_rd *r, size_t n, const uint8_t **view_out);
/* Consumes exactly n bytes and returns a child reader over them. */
ATL_NODISCARD enum atl_err atl_rd_sub(struct atl_rd *r, size_t n, struct atl_rd *child_out);
ATL_NODISCARD enum atl_err atl_rd_skip(struct atl_rd *r, size_t n);
/* Child reader over [off, off+n) of the whole buffer; does not move pos. For
 * formats addressed by offsets (GGUF tensor data, DCAP, PE/ELF). */
ATL_NODISCARD enum atl_err atl_rd_at(const struct atl_rd *r, size_t off, size_t n,
				     struct atl_rd *child_out);
/* ATL_OK only if no error latched and every byte was consumed (else
 * the latched error, or ATL_E_TRAILING). */
ATL_NODISCARD enum atl_err atl_rd_finish(const struct atl_rd *r);

struct atl_wr {
	uint8_t *p;
	size_t len, cap, max;
	bool secret;
	enum atl_err err;
};

/* max: the most bytes this writer may ever hold (<= ATL_WR_SIZE_MAX).
 * secret: memory comes from atl_secret_alloc and is wiped on growth and free. */
void atl_wr_init(struct atl_wr *w, size_t max, bool secret);
ATL_NODISCARD enum atl_err atl_wr_u8(struct atl_wr *w, uint8_t v);
ATL_NODISCARD enum atl_err atl_wr_u16le(struct atl_wr *w, uint16_t v);
ATL_NODISCARD enum atl_err atl_wr_u16be(struct atl_wr *w, uint16_t v);
ATL_NODISCARD enum atl_err atl_wr_u32le(struct atl_wr *w, uint32_t v);
ATL_NODISCARD enum atl_err atl_wr_u32be(struct atl_wr *w, uint32_t v);
ATL_NODISCARD enum atl_err atl_wr_u64le(struct atl_wr *w, uint64_t v);
ATL_NODISCARD enum atl_err atl_wr_u64be(struct atl_wr *w, uint64_t v);
ATL_NODISCARD enum atl_err atl_wr_bytes(struct atl_wr *w, const void *p, size_t n);
/* Appends a string without its NUL. */
ATL_NODISCARD enum atl_err atl_wr_str(struct atl_wr *w, const char *s);
/* Reserves n zero bytes (a length prefix to fill later); *off_out is their offset. */
ATL_NODISCARD enum atl_err atl_wr_reserve(struct atl_wr *w, size_t n, size_t *off_out);
/* Fills a previously reserved big-endian u16/u32 at off. */
ATL_NODISCARD enum atl_err atl_wr_patch_u16be(struct atl_wr *w, size_t off, uint16_t v);
ATL_NODISCARD enum atl_err atl_wr_patch_u32be(struct atl_wr *w, size_t off, uint32_t v);
ATL_NODISCARD enum atl_err atl_wr_patch_u32le(struct atl_wr *w, size_t off, uint32_t v);
/* Hands the buffer to the caller (free with free(), or atl_secret_free() for a
 * secret writer) and resets the writer. Fails with the latched error, if any. */
ATL_NODISCARD enum atl_err atl_wr_take(struct atl_wr *w, uint8_t **buf_out, size_t *len_out);
/* Frees (and wipes, if secret) whatever the writer holds. NULL-safe. */
void atl_wr_free(struct atl_wr *w);

#endif
