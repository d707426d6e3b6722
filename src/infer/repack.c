/* Packed weights and prepared activations for the row-group GEMM kernels
 * (kernels.h "packed weights"). Portable C: only the layout lives here, the
 * kernels that read it are in kernels_avx512.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "infer/kernels.h"

size_t atl_pack_block_size(uint32_t type)
{
	switch (type) {
	case ATL_GGML_TYPE_Q4_0: return 2 * ATL_PACK_ROWS + 16 * ATL_PACK_ROWS; /* 288 */
	case ATL_GGML_TYPE_Q8_0: return 2 * ATL_PACK_ROWS + 32 * ATL_PACK_ROWS; /* 544 */
	default: return 0;
	}
}

/* One block column b of group g: 16 scales, then chunk m of row r at
 * q + (m * 16 + r) * 4. Rows past the matrix stay zero (scale 0; for Q8_0
 * the quant 0 is stored as 0x80). */
static void pack_block(uint32_t type, const uint8_t *data, size_t row_size, uint32_t rows,
		       uint32_t r0, size_t b, uint8_t *dst)
{
	uint8_t *q = dst + 2 * ATL_PACK_ROWS;
	const unsigned chunks = type == ATL_GGML_TYPE_Q4_0 ? 4 : 8;
	for (unsigned r = 0; r < ATL_PACK_ROWS; r++) {
		if (r0 + r >= rows) {
			memset(dst + 2 * r, 0, 2);
			for (unsigned m = 0; m < chunks; m++)
				memset(q + (m * ATL_PACK_ROWS + r) * 4,
				       type == ATL_GGML_TYPE_Q8_0 ? 0x80 : 0, 4);
			continue;
		}
		const uint8_t *row = data + (size_t)(r0 + r) * row_size;
		if (type == ATL_GGML_TYPE_Q4_0) {
			const struct atl_blk_q4_0 *blk = (const struct atl_blk_q4_0 *)(const void *)row + b;
			memcpy(dst + 2 * r, &blk->d, 2);
			for (unsigned m = 0; m < chunks; m++)
				memcpy(q + (m * ATL_PACK_ROWS + r) * 4, blk->qs + 4 * m, 4);
		} else {
			const struct atl_blk_q8_0 *blk = (const struct atl_blk_q8_0 *)(const void *)row + b;
			memcpy(dst + 2 * r, &blk->d, 2);
			for (unsigned m = 0; m < chunks; m++)
				for (unsigned i = 0; i < 4; i++)
					q[(m * ATL_PACK_ROWS + r) * 4 + i] =
						(uint8_t)((uint8_t)blk->qs[4 * m + i] ^ 0x80u);
		}
	}
}

/* The allocation behind a packed matrix of n bytes: 2 MiB aligned and
 * rounded from 2 MiB on (transparent huge pages: 512 times fewer page faults
 * at load and TLB misses when streaming), else 64-byte aligned. */
static const size_t pack_huge = (size_t)2 << 20;

static size_t pack_alloc_size(size_t n)
{
	return n >= pack_huge ? (n + pack_huge - 1) & ~(pack_huge - 1) : (n + 63) & ~(size_t)63;
}

static enum atl_err pack_bytes(uint32_t type, uint32_t rows, uint32_t cols, size_t *n_out)
{
	const size_t bs = atl_pack_block_size(type);
	if (bs == 0 || cols % 32 != 0 || rows == 0)
		return bs == 0 ? ATL_E_UNSUPPORTED : ATL_E_ARG;
	const size_t nb = cols / 32, groups = (rows + ATL_PACK_ROWS - 1) / ATL_PACK_ROWS;
	if (__builtin_mul_overflow(groups * nb, bs, n_out) || *n_out > SIZE_MAX - pack_huge)
		return ATL_E_LIMIT;
	return ATL_OK;
}

enum atl_err atl_pack_matrix(uint32_t type, const uint8_t *data, uint32_t rows, uint32_t cols,
			     size_t row_size, uint8_t **out)
{
	size_t n;
	*out = NULL;
	enum atl_err rc = pack_bytes(type, rows, cols, &n);
	if (rc != ATL_OK)
		return rc;
	const size_t bs = atl_pack_block_size(type), nb = cols / 32;
	const size_t groups = (rows + ATL_PACK_ROWS - 1) / ATL_PACK_ROWS;
	const size_t alloc = pack_alloc_size(n);
	uint8_t *p = aligned_alloc(n >= pack_huge ? pack_huge : 64, alloc);
	if (p == NULL)
		return ATL_E_NOMEM;
#if defined(MADV_HUGEPAGE)
	if (n >= pack_huge)
		(void)madvise(p, alloc, MADV_HUGEPAGE); /* advice only */
#endif
	/* The packed copy is plaintext weights (for an encrypted model, as
	 * secret as its decrypted image): kept out of core dumps, locked in
	 * memory where RLIMIT_MEMLOCK allows (best effort: an unprivileged
	 * `atoll infer` with the default 8 MiB limit goes on unlocked), and
	 * wiped and unlocked by atl_pack_free. */
#if defined(MADV_DONTDUMP)
	(void)madvise(p, alloc, MADV_DONTDUMP); /* advice only */
#endif
	(void)mlock(p, alloc);
	for (size_t g = 0; g < groups; g++)
		for (size_t b = 0; b < nb; b++)
			pack_block(type, data, row_size, rows, (uint32_t)(g * ATL_PACK_ROWS), b,
				   p + (g * nb + b) * bs);
	*out = p;
	return ATL_OK;
}

void atl_pack_free(uint32_t type, uint8_t *p, uint32_t rows, uint32_t cols)
{
	size_t n;
	if (p == NULL)
		return;
	if (pack_bytes(type, rows, cols, &n) == ATL_OK) {
		const size_t alloc = pack_alloc_size(n);
		explicit_bzero(p, alloc);
		(void)munlock(p, alloc);
	}
	free(p);
}

void atl_q8p_prepare(const void *q8_0_blocks, size_t nb, uint8_t *dst)
{
	const struct atl_blk_q8_0 *b = q8_0_blocks;
	uint8_t *dd = dst + nb * 32, *ds = dd + nb * 4;
	for (size_t i = 0; i < nb; i++) {
		memcpy(dst + i * 32, b[i].qs, 32);
		const float d = atl_fp16_to_fp32(b[i].d);
		int32_t s = 0;
		for (int j = 0; j < 32; j++)
			s += b[i].qs[j];
		memcpy(dd + i * 4, &d, 4);
		memcpy(ds + i * 4, &s, 4);
	}
}
