/* Secret memory: page-aligned mappings, mlock'ed (best effort), MADV_DONTDUMP,
 * wiped on free, with a small bounded cache of freed regions.
 *
 * Layout: one mmap per region, [header page | body]; the user pointer is the
 * start of the body, so the whole mapping is locked and excluded from dumps
 * together and mlock/munlock cover exactly its pages. The header records the
 * usable size, the mapping's size, whether mlock succeeded and a magic that
 * says whether the region is live or cached.
 *
 * Cache (docs/internals/core.md "Secret memory"): bodies up to
 * ATL_SECRET_CACHE_CLASS_MAX are rounded up to a power-of-two number of
 * bytes (at least one page), so each body size is a class. atl_secret_free
 * wipes the whole body, then keeps the region (still locked and DONTDUMP) if
 * its class holds fewer than ATL_SECRET_CACHE_PER_CLASS_MAX regions and the
 * cache stays under its byte cap (ATL_SECRET_CACHE_BYTES_MAX, and at most half
 * of RLIMIT_MEMLOCK so that cached pages never starve live secrets of locked
 * memory). atl_secret_alloc takes a cached region of the right class without
 * any system call; its body is all zero because free wiped it. Larger bodies,
 * and regions whose mlock failed, bypass the cache. When mlock or mmap fails
 * the cache is released and the call retried once.
 *
 * Sanitizer builds (ATL_SANITIZED) keep the cache but poison cached regions
 * with the AddressSanitizer interface, so a use after free of a cached region
 * is still reported (as use-after-poison). A double free aborts in every build:
 * the header of a cached region carries a different magic. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "atoll/limits.h"
#include "atoll/secmem.h"

#if defined(ATL_SANITIZED) && defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

struct secret_hdr {
	size_t user_len;  /* bytes the caller asked for */
	size_t total_len; /* bytes of the whole mapping (header page + body) */
	uint64_t magic;   /* SECRET_MAGIC live, SECRET_MAGIC_CACHED in the cache */
	uint32_t locked;  /* mlock succeeded */
};

#define SECRET_MAGIC 0x61746c7365637265ull        /* "atlsecre" */
#define SECRET_MAGIC_CACHED 0x61746c7363616368ull /* "atlscach" */
#define SECRET_CLASSES 32u

struct secret_class {
	uint8_t *base[ATL_SECRET_CACHE_PER_CLASS_MAX];
	unsigned n;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static struct secret_class cache[SECRET_CLASSES]; /* guarded by cache_mu */
static size_t cache_bytes;                        /* guarded by cache_mu */
static size_t cache_cap;                          /* set once by cache_init */

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

/* Body size for a request of n bytes (n <= SIZE_MAX - 2 pages) and its cache
 * class, or -1 when the body is too large to be cached. */
static int body_for(size_t n, size_t ps, size_t *body)
{
	size_t b = (n + ps - 1) / ps * ps;
	unsigned k = 0;

	*body = b;
	if (b > ATL_SECRET_CACHE_CLASS_MAX)
		return -1;
	while ((ps << k) < b)
		k++;
	if (k >= SECRET_CLASSES)
		return -1;
	*body = ps << k;
	return (int)k;
}

static struct secret_hdr *hdr_of(const void *p)
{
	struct secret_hdr *h = (struct secret_hdr *)((uintptr_t)p - page_size());

	if (h->magic != SECRET_MAGIC)
		abort(); /* not ours, or freed twice: going on would corrupt memory */
	return h;
}

/* Takes every region out of the cache (cache_mu held) into out[], returns the
 * count; the caller unmaps them after dropping the lock. */
static size_t cache_take_all(uint8_t **out, size_t *lens)
{
	size_t n = 0;

	for (unsigned c = 0; c < SECRET_CLASSES; c++) {
		while (cache[c].n > 0) {
			uint8_t *base = cache[c].base[--cache[c].n];
			struct secret_hdr *h = (struct secret_hdr *)base;

			ASAN_UNPOISON_MEMORY_REGION(base, sizeof(*h));
			lens[n] = h->total_len;
			out[n++] = base;
		}
	}
	cache_bytes = 0;
	return n;
}

static void release(uint8_t *base, size_t total)
{
	ASAN_UNPOISON_MEMORY_REGION(base, total);
	/* The body was wiped at free; the header holds no secret. Unmapping
	 * also unlocks. */
	(void)munmap(base, total);
}

void atl_secret_cache_trim(void)
{
	uint8_t *base[SECRET_CLASSES * ATL_SECRET_CACHE_PER_CLASS_MAX];
	size_t lens[SECRET_CLASSES * ATL_SECRET_CACHE_PER_CLASS_MAX], n;

	pthread_mutex_lock(&cache_mu);
	n = cache_take_all(base, lens);
	pthread_mutex_unlock(&cache_mu);
	for (size_t i = 0; i < n; i++)
		release(base[i], lens[i]);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&cache_mu);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&cache_mu);
}

/* Memory locks are not inherited across fork: a child must not hand out
 * cached regions as if they were locked, so it drops them. */
static void fork_child(void)
{
	uint8_t *base[SECRET_CLASSES * ATL_SECRET_CACHE_PER_CLASS_MAX];
	size_t lens[SECRET_CLASSES * ATL_SECRET_CACHE_PER_CLASS_MAX], n;

	n = cache_take_all(base, lens);
	pthread_mutex_unlock(&cache_mu);
	for (size_t i = 0; i < n; i++)
		release(base[i], lens[i]);
}

static void cache_init(void)
{
	struct rlimit rl;
	size_t cap = ATL_SECRET_CACHE_BYTES_MAX;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < cap)
		cap = (size_t)(rl.rlim_cur / 2);
	cache_cap = cap;
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
	(void)atexit(atl_secret_cache_trim);
}

static bool cache_nonempty(void)
{
	size_t b;

	pthread_mutex_lock(&cache_mu);
	b = cache_bytes;
	pthread_mutex_unlock(&cache_mu);
	return b > 0;
}

void *atl_secret_alloc(size_t n)
{
	size_t ps = page_size(), body, total;
	uint8_t *base = NULL;
	struct secret_hdr *h;
	int cls;

	if (n == 0 || n > SIZE_MAX - 2 * ps)
		return NULL;
	cls = body_for(n, ps, &body);
	total = body + ps;
	if (cls >= 0) {
		pthread_once(&cache_once, cache_init);
		pthread_mutex_lock(&cache_mu);
		if (cache[cls].n > 0) {
			base = cache[cls].base[--cache[cls].n];
			cache_bytes -= total;
		}
		pthread_mutex_unlock(&cache_mu);
		if (base != NULL) {
			/* No system call: still locked and DONTDUMP, and the
			 * body is all zero (wiped by atl_secret_free). */
			ASAN_UNPOISON_MEMORY_REGION(base, total);
			h = (struct secret_hdr *)base;
			h->magic = SECRET_MAGIC;
			h->user_len = n;
			return base + ps;
		}
	}
	base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED && cache_nonempty()) {
		atl_secret_cache_trim();
		base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (base == MAP_FAILED)
		return NULL;
	/* Fresh anonymous pages read zero. mlock is best effort:
	 * RLIMIT_MEMLOCK may be small for unprivileged users; cached regions
	 * give way to live secrets. */
	h = (struct secret_hdr *)base;
	h->locked = mlock(base, total) == 0;
	if (!h->locked && cache_nonempty()) {
		atl_secret_cache_trim();
		h->locked = mlock(base, total) == 0;
	}
#ifdef MADV_DONTDUMP
	(void)madvise(base, total, MADV_DONTDUMP);
#endif
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
	h = (const struct secret_hdr *)((uintptr_t)p - page_size());
	return h->magic == SECRET_MAGIC ? h->user_len : 0;
}

void atl_secret_free(void *p)
{
	size_t ps = page_size(), total, body;
	struct secret_hdr *h;
	uint8_t *base;
	bool cached = false;
	int cls;

	if (p == NULL)
		return;
	h = hdr_of(p);
	base = (uint8_t *)h;
	total = h->total_len;
	body = total - ps;
	/* The whole body, not only user_len: it is what a later alloc of this
	 * class gets, and atl_secret_alloc returns zeroed memory. */
	explicit_bzero(p, body);
	cls = body_for(body, ps, &body);
	if (cls >= 0 && h->locked) {
		pthread_once(&cache_once, cache_init);
		h->magic = SECRET_MAGIC_CACHED;
		h->user_len = 0;
		pthread_mutex_lock(&cache_mu);
		if (cache[cls].n < ATL_SECRET_CACHE_PER_CLASS_MAX &&
		    cache_bytes + total <= cache_cap) {
			cache[cls].base[cache[cls].n++] = base;
			cache_bytes += total;
			/* Under the lock: another thread may take it as
			 * soon as it is unlocked, and unpoisons it then. */
			ASAN_POISON_MEMORY_REGION(base, total);
			cached = true;
		}
		pthread_mutex_unlock(&cache_mu);
	}
	if (!cached)
		release(base, total);
}

void *atl_secret_realloc(void *p, size_t n)
{
	size_t ps = page_size(), old, body, nbody;
	struct secret_hdr *h;
	uint8_t *q;

	if (p == NULL)
		return atl_secret_alloc(n);
	if (n == 0 || n > SIZE_MAX - 2 * ps)
		return NULL;
	h = hdr_of(p);
	old = h->user_len;
	body = h->total_len - ps;
	(void)body_for(n, ps, &nbody);
	if (nbody == body) {
		/* Same region size: resize in place. Bytes past the new size
		 * are zero, as in a fresh buffer. */
		if (n < old)
			explicit_bzero((uint8_t *)p + n, old - n);
		else
			memset((uint8_t *)p + old, 0, n - old);
		h->user_len = n;
		return p;
	}
	q = atl_secret_alloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	atl_secret_free(p);
	return q;
}

void atl_secret_cache_get_stats(struct atl_secret_cache_stats *st)
{
	pthread_once(&cache_once, cache_init);
	pthread_mutex_lock(&cache_mu);
	st->regions = 0;
	for (unsigned c = 0; c < SECRET_CLASSES; c++)
		st->regions += cache[c].n;
	st->bytes = cache_bytes;
	st->cap = cache_cap;
	pthread_mutex_unlock(&cache_mu);
}

bool atl_secret_cache_holds_wiped(const void *p)
{
	uint8_t *base = (uint8_t *)((uintptr_t)p - page_size());
	bool found = false, zero = true;

	pthread_mutex_lock(&cache_mu);
	for (unsigned c = 0; c < SECRET_CLASSES && !found; c++) {
		for (unsigned i = 0; i < cache[c].n && !found; i++) {
			struct secret_hdr *h = (struct secret_hdr *)base;
			size_t total;

			if (cache[c].base[i] != base)
				continue;
			found = true;
			ASAN_UNPOISON_MEMORY_REGION(base, sizeof(*h));
			total = h->total_len;
			ASAN_UNPOISON_MEMORY_REGION(base, total);
			zero = h->magic == SECRET_MAGIC_CACHED;
			for (size_t j = page_size(); j < total && zero; j++)
				zero = base[j] == 0;
			ASAN_POISON_MEMORY_REGION(base, total);
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return found && zero;
}
