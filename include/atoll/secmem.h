/* Memory for secrets (STYLE.md "Secrets").
 *
 * atl_secret_alloc returns zeroed memory that is page-locked (mlock, best
 * effort: a failure is not fatal) and excluded from core dumps
 * (MADV_DONTDUMP). atl_secret_free wipes it before release. Crypto code
 * may use OpenSSL's secure heap instead; both satisfy the rule.
 *
 * Freed regions of up to ATL_SECRET_CACHE_CLASS_MAX bytes are wiped, then
 * kept locked in a small bounded cache (limits.h ATL_SECRET_CACHE_*) and
 * reused without system calls; all functions are thread-safe. */
#ifndef ATOLL_SECMEM_H
#define ATOLL_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Zeroed, locked memory of n bytes (n > 0), or NULL when out of memory. */
void *atl_secret_alloc(size_t n);
/* Grows or shrinks a secret buffer: allocates, copies, wipes and frees the old. */
void *atl_secret_realloc(void *p, size_t n);
/* Wipes and frees; NULL-safe. */
void atl_secret_free(void *p);
/* Usable size of a secret buffer (0 for NULL). */
size_t atl_secret_size(const void *p);
/* Releases (unmaps) every cached region; thread-safe. Registered with atexit
 * at first use; callers may also call it to give the locked pages back early. */
void atl_secret_cache_trim(void);

struct atl_secret_cache_stats {
	size_t regions; /* regions held in the cache now */
	size_t bytes;   /* bytes of those regions (mappings, header pages included) */
	size_t cap;     /* byte cap in force: ATL_SECRET_CACHE_BYTES_MAX or RLIMIT_MEMLOCK/2 */
};
/* Fills *st with the cache's current state. */
void atl_secret_cache_get_stats(struct atl_secret_cache_stats *st);
/* Test hook: true when p, a pointer from atl_secret_alloc already passed to
 * atl_secret_free, is held in the cache and its whole body reads zero. */
bool atl_secret_cache_holds_wiped(const void *p);
/* Wipes n bytes in a way the compiler cannot elide. */
void atl_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte buffers (time depends on n only). */
bool atl_ct_eq(const void *a, const void *b, size_t n);

#endif
