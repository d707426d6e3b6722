/* Secret memory: page-aligned, mlock'ed (best effort), MADV_DONTDUMP, wiped on
 * free. A small header before the user pointer records the usable size.
 *
 * Layout: [header page(s) | user bytes rounded up to pages]; the user pointer
 * is the start of the second region, so the whole mapping is locked and
 * excluded from dumps together. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atoll/secmem.h"

struct secret_hdr {
	size_t user_len;  /* bytes the caller asked for */
	size_t total_len; /* bytes of the whole allocation */
	uint64_t magic;
};

#define SECRET_MAGIC 0x61746c7365637265ull /* "atlsecre" */

static size_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	return ps > 0 ? (size_t)ps : 4096u;
}

void atl_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

bool atl_ct_eq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= (uint8_t)(x[i] ^ y[i]);
	return acc == 0;
}

static struct secret_hdr *hdr_of(const void *p)
{
	struct secret_hdr *h = (struct secret_hdr *)((uintptr_t)p - page_size());
	return h->magic == SECRET_MAGIC ? h : NULL;
}

void *atl_secret_alloc(size_t n)
{
	size_t ps = page_size(), body, total;
	uint8_t *base = NULL;
	struct secret_hdr *h;

	if (n == 0 || n > SIZE_MAX - 2 * ps)
		return NULL;
	body = (n + ps - 1) / ps * ps;
	total = body + ps;
	if (posix_memalign((void **)&base, ps, total) != 0)
		return NULL;
	memset(base, 0, total);
	/* Best effort: RLIMIT_MEMLOCK may be small for unprivileged users. */
	(void)mlock(base, total);
#ifdef MADV_DONTDUMP
	(void)madvise(base, total, MADV_DONTDUMP);
#endif
	h = (struct secret_hdr *)base;
	h->user_len = n;
	h->total_len = total;
	h->magic = SECRET_MAGIC;
	return base + ps;
}

size_t atl_secret_size(const void *p)
{
	const struct secret_hdr *h;

	if (p == NULL)
		return 0;
	h = hdr_of(p);
	return h != NULL ? h->user_len : 0;
}

void atl_secret_free(void *p)
{
	struct secret_hdr *h;
	uint8_t *base;
	size_t total;

	if (p == NULL)
		return;
	h = hdr_of(p);
	if (h == NULL)
		abort(); /* not ours: freeing it would corrupt the heap */
	base = (uint8_t *)h;
	total = h->total_len;
	explicit_bzero(base, total);
#ifdef MADV_DODUMP
	(void)madvise(base, total, MADV_DODUMP);
#endif
	(void)munlock(base, total);
	free(base);
}

void *atl_secret_realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return atl_secret_alloc(n);
	old = atl_secret_size(p);
	q = atl_secret_alloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	atl_secret_free(p);
	return q;
}
