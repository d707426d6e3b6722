/* JSON glue over jansson with Atoll's limits.
 *
 * atl_json_parse rejects documents over ATL_JSON_SIZE_MAX bytes, nested deeper
 * than ATL_JSON_DEPTH_MAX (checked by a string-aware scan before jansson sees
 * the bytes), duplicate object keys, NUL bytes in strings, and trailing data.
 * Getters return ATL_E_NOTFOUND for a missing key and ATL_E_FORMAT for a wrong
 * type or encoding, so callers can map both to a clear message. */
#ifndef ATOLL_JSON_H
#define ATOLL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

ATL_NODISCARD enum atl_err atl_json_parse(const char *buf, size_t len, json_t **out);
/* Reads and parses a file of at most max bytes (0 = ATL_JSON_SIZE_MAX). */
ATL_NODISCARD enum atl_err atl_json_load_file(const char *path, size_t max, json_t **out);
/* Compact serialisation with sorted keys (free()); NULL on allocation failure. */
char *atl_json_dump(const json_t *v);
/* Pretty (indent 2, sorted keys) serialisation (free()). */
char *atl_json_dump_pretty(const json_t *v);

/* ATL_E_FORMAT if obj is not an object or has a key not in `allowed` (a
 * NULL-terminated list); *bad_key_out (may be NULL) names the first offender. */
ATL_NODISCARD enum atl_err atl_json_check_keys(const json_t *obj, const char *const *allowed,
					       const char **bad_key_out);

ATL_NODISCARD enum atl_err atl_json_get_str(const json_t *obj, const char *key, const char **out);
ATL_NODISCARD enum atl_err atl_json_get_int(const json_t *obj, const char *key, int64_t *out);
ATL_NODISCARD enum atl_err atl_json_get_bool(const json_t *obj, const char *key, bool *out);
/* Hex string decoding to exactly n bytes. */
ATL_NODISCARD enum atl_err atl_json_get_hex(const json_t *obj, const char *key, uint8_t *out,
					    size_t n);
/* Standard base64 string, at most max decoded bytes (allocated, free()). */
ATL_NODISCARD enum atl_err atl_json_get_b64(const json_t *obj, const char *key, size_t max,
					    uint8_t **out, size_t *out_len);

#endif
