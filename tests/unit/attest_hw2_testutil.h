/* Helpers shared by the hardware-attestation unit tests of src/attest/
 * (cose, nitro, psa, cca, nvgpu, composite): reading vectors and writing
 * small CBOR items by hand. Header-only, static functions. */
#ifndef ATOLL_TEST_ATTEST_HW2_TESTUTIL_H
#define ATOLL_TEST_ATTEST_HW2_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/file.h"

/* Reads tests/vectors/attestation/<rel> (aborts the test on failure). */
static inline uint8_t *hw2_read(const char *rel, size_t *len_out)
{
	char path[1024];
	const char *src = getenv("ATL_SOURCE_DIR");
	uint8_t *buf = NULL;

	if (src == NULL)
		src = ATL_SOURCE_DIR;
	snprintf(path, sizeof(path), "%s/tests/vectors/attestation/%s", src, rel);
	if (atl_file_read(path, 16u * 1024u * 1024u, &buf, len_out) != ATL_OK) {
		fprintf(stderr, "cannot read %s\n", path);
		abort();
	}
	return buf;
}

/* Path of a vector (static buffer). */
static inline const char *hw2_path(const char *rel)
{
	static char path[1024];
	const char *src = getenv("ATL_SOURCE_DIR");

	if (src == NULL)
		src = ATL_SOURCE_DIR;
	snprintf(path, sizeof(path), "%s/tests/vectors/attestation/%s", src, rel);
	return path;
}

/* CBOR head (RFC 8949 §3) into w. */
static inline void hw2_head(struct atl_wr *w, uint8_t major, uint64_t v)
{
	enum atl_err rc;

	major <<= 5;
	if (v < 24) {
		rc = atl_wr_u8(w, major | (uint8_t)v);
	} else if (v <= 0xff) {
		rc = atl_wr_u8(w, major | 24);
		rc = rc ? rc : atl_wr_u8(w, (uint8_t)v);
	} else if (v <= 0xffff) {
		rc = atl_wr_u8(w, major | 25);
		rc = rc ? rc : atl_wr_u16be(w, (uint16_t)v);
	} else if (v <= 0xffffffffu) {
		rc = atl_wr_u8(w, major | 26);
		rc = rc ? rc : atl_wr_u32be(w, (uint32_t)v);
	} else {
		rc = atl_wr_u8(w, major | 27);
		rc = rc ? rc : atl_wr_u64be(w, v);
	}
	if (rc != ATL_OK)
		abort();
}

static inline void hw2_int(struct atl_wr *w, int64_t v)
{
	if (v >= 0)
		hw2_head(w, 0, (uint64_t)v);
	else
		hw2_head(w, 1, (uint64_t)(-1 - v));
}

static inline void hw2_bstr(struct atl_wr *w, const void *p, size_t n)
{
	hw2_head(w, 2, n);
	if (atl_wr_bytes(w, p, n) != ATL_OK)
		abort();
}

static inline void hw2_tstr(struct atl_wr *w, const char *s)
{
	hw2_head(w, 3, strlen(s));
	if (atl_wr_bytes(w, s, strlen(s)) != ATL_OK)
		abort();
}

static inline void hw2_raw(struct atl_wr *w, const void *p, size_t n)
{
	if (atl_wr_bytes(w, p, n) != ATL_OK)
		abort();
}

/* Takes the writer's bytes (caller frees). */
static inline uint8_t *hw2_take(struct atl_wr *w, size_t *len_out)
{
	uint8_t *p = NULL;

	if (atl_wr_take(w, &p, len_out) != ATL_OK)
		abort();
	return p;
}

/* A copy of buf with byte off XORed with x. */
static inline uint8_t *hw2_flip(const uint8_t *buf, size_t len, size_t off, uint8_t x)
{
	uint8_t *c = malloc(len);

	if (c == NULL)
		abort();
	memcpy(c, buf, len);
	if (off < len)
		c[off] ^= x;
	return c;
}

/* Offset of needle in hay, or SIZE_MAX. */
static inline size_t hw2_find(const uint8_t *hay, size_t hay_len, const void *needle, size_t n)
{
	for (size_t i = 0; n <= hay_len && i + n <= hay_len; i++) {
		if (memcmp(hay + i, needle, n) == 0)
			return i;
	}
	return SIZE_MAX;
}

#endif
