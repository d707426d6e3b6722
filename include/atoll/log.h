/* Logging to stderr (or a chosen stream), one line per call:
 *   2026-11-23T07:00:00Z WARN  module: message
 * Never log keys, tokens, prompts, outputs, model bytes or request bodies (STYLE.md).
 * Untrusted strings go through atl_log_escape (or the %s-safe atl_log_str helper)
 * so control bytes cannot forge log lines. The level comes from ATOLL_LOG
 * (debug|info|warn|error|off), default info. */
#ifndef ATOLL_LOG_H
#define ATOLL_LOG_H

#include <stddef.h>
#include <stdio.h>

enum atl_log_level { ATL_LOG_DEBUG, ATL_LOG_INFO, ATL_LOG_WARN, ATL_LOG_ERROR, ATL_LOG_OFF };

void atl_log_set_level(enum atl_log_level lvl);
enum atl_log_level atl_log_get_level(void);
/* Redirects log output (NULL = stderr). The stream is not closed by Atoll. */
void atl_log_set_stream(FILE *f);
void atl_log(enum atl_log_level lvl, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies in[0..in_len) to out as printable ASCII: bytes outside 0x20..0x7e and
 * the backslash become \xNN. Always NUL-terminates (truncating) when out_cap > 0.
 * Returns the length written. */
size_t atl_log_escape(const char *in, size_t in_len, char *out, size_t out_cap);

#ifndef ATL_LOG_MODULE
#define ATL_LOG_MODULE "atoll"
#endif
#define atl_debug(...) atl_log(ATL_LOG_DEBUG, ATL_LOG_MODULE, __VA_ARGS__)
#define atl_info(...) atl_log(ATL_LOG_INFO, ATL_LOG_MODULE, __VA_ARGS__)
#define atl_warn(...) atl_log(ATL_LOG_WARN, ATL_LOG_MODULE, __VA_ARGS__)
#define atl_error(...) atl_log(ATL_LOG_ERROR, ATL_LOG_MODULE, __VA_ARGS__)

#endif
