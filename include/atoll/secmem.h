/* Memory for secrets (STYLE.md "Secrets").
 *
 * atl_secret_alloc returns zeroed memory that is page-locked (mlock, best
 * effort: a failure is logged at debug level, not fatal) and excluded from core
 * dumps (MADV_DONTDUMP). atl_secret_free wipes it before release. Crypto code
 * may use OpenSSL's secure heap instead; both satisfy the rule. */
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
/* Wipes n bytes in a way the compiler cannot elide. */
void atl_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte buffers (time depends on n only). */
bool atl_ct_eq(const void *a, const void *b, size_t n);

#endif
