/* JSON glue; see include/atoll/json.h. */
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"

/* Nesting depth of a JSON text, ignoring brackets inside strings. Runs before
 * jansson so hostile depth never reaches its recursive parser. */
static enum atl_err check_depth(const char *buf, size_t len)
{
	size_t depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\0')
			return ATL_E_FORMAT;
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > ATL_JSON_DEPTH_MAX)
				return ATL_E_LIMIT;
		} else if (c == ']' || c == '}') {
			if (depth == 0)
				return ATL_E_FORMAT;
			depth--;
		}
	}
	return ATL_OK;
}

enum atl_err atl_json_parse(const char *buf, size_t len, json_t **out)
{
	json_error_t jerr;
	enum atl_err rc;

	*out = NULL;
	if (buf == NULL)
		return ATL_E_ARG;
	if (len > ATL_JSON_SIZE_MAX)
		return ATL_E_LIMIT;
	rc = check_depth(buf, len);
	if (rc != ATL_OK)
		return rc;
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL)
		return len == 0 ? ATL_E_TRUNCATED : ATL_E_FORMAT;
	return ATL_OK;
}

enum atl_err atl_json_load_file(const char *path, size_t max, json_t **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc;

	*out = NULL;
	rc = atl_file_read(path, max != 0 ? max : ATL_JSON_SIZE_MAX, &buf, &len);
	if (rc != ATL_OK)
		return rc;
	rc = atl_json_parse((const char *)buf, len, out);
	free(buf);
	return rc;
}

char *atl_json_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

char *atl_json_dump_pretty(const json_t *v)
{
	return json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
}

enum atl_err atl_json_check_keys(const json_t *obj, const char *const *allowed,
				 const char **bad_key_out)
{
	const char *key;
	json_t *val;

	if (bad_key_out != NULL)
		*bad_key_out = NULL;
	if (!json_is_object(obj))
		return ATL_E_FORMAT;
	json_object_foreach((json_t *)obj, key, val) {
		bool ok = false;
		(void)val;
		for (size_t i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0) {
				ok = true;
				break;
			}
		}
		if (!ok) {
			if (bad_key_out != NULL)
				*bad_key_out = key;
			return ATL_E_FORMAT;
		}
	}
	return ATL_OK;
}

static enum atl_err get(const json_t *obj, const char *key, json_t **v)
{
	*v = NULL;
	if (!json_is_object(obj))
		return ATL_E_FORMAT;
	*v = json_object_get(obj, key);
	return *v != NULL ? ATL_OK : ATL_E_NOTFOUND;
}

enum atl_err atl_json_get_str(const json_t *obj, const char *key, const char **out)
{
	json_t *v;
	enum atl_err rc = get(obj, key, &v);

	*out = NULL;
	if (rc != ATL_OK)
		return rc;
	if (!json_is_string(v))
		return ATL_E_FORMAT;
	*out = json_string_value(v);
	return ATL_OK;
}

enum atl_err atl_json_get_int(const json_t *obj, const char *key, int64_t *out)
{
	json_t *v;
	enum atl_err rc = get(obj, key, &v);

	*out = 0;
	if (rc != ATL_OK)
		return rc;
	if (!json_is_integer(v))
		return ATL_E_FORMAT;
	*out = (int64_t)json_integer_value(v);
	return ATL_OK;
}

enum atl_err atl_json_get_bool(const json_t *obj, const char *key, bool *out)
{
	json_t *v;
	enum atl_err rc = get(obj, key, &v);

	*out = false;
	if (rc != ATL_OK)
		return rc;
	if (!json_is_boolean(v))
		return ATL_E_FORMAT;
	*out = json_is_true(v);
	return ATL_OK;
}

enum atl_err atl_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
	const char *s;
	enum atl_err rc = atl_json_get_str(obj, key, &s);

	if (rc != ATL_OK)
		return rc;
	return atl_hex_decode_exact(s, json_string_length(json_object_get(obj, key)), out, n);
}

enum atl_err atl_json_get_b64(const json_t *obj, const char *key, size_t max, uint8_t **out,
			      size_t *out_len)
{
	const char *s;
	size_t slen;
	enum atl_err rc = atl_json_get_str(obj, key, &s);

	*out = NULL;
	*out_len = 0;
	if (rc != ATL_OK)
		return rc;
	slen = json_string_length(json_object_get(obj, key));
	if (slen / 4 * 3 > max + 2)
		return ATL_E_LIMIT;
	rc = atl_b64_decode(s, slen, ATL_B64_STD, out, out_len);
	if (rc == ATL_OK && *out_len > max) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return ATL_E_LIMIT;
	}
	return rc;
}
