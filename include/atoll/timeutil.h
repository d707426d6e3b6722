/* Time as seconds since the Unix epoch (int64), RFC 3339 in UTC. Verifiers take
 * "now" as a parameter (attestation samples have their own reference times). */
#ifndef ATOLL_TIMEUTIL_H
#define ATOLL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_RFC3339_LEN 32

/* Current wall-clock time, seconds since the epoch. */
int64_t atl_time_now(void);
/* Monotonic milliseconds, for deadlines and timeouts. */
int64_t atl_time_mono_ms(void);
/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; fractions are dropped. */
ATL_NODISCARD enum atl_err atl_time_parse_rfc3339(const char *s, int64_t *t_out);
/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= ATL_RFC3339_LEN bytes). */
ATL_NODISCARD enum atl_err atl_time_format_rfc3339(int64_t t, char *buf, size_t cap);

#endif
