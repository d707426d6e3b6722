/* Attestation policy validation and getters; see include/atoll/policy.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/policy.h"

/* Untrusted names (keys, TEE kinds) are escaped before they go into a reason
 * that a terminal or a log will show. */
#define NAME_SHOW_MAX 80
static const char *show(const char *s, char buf[NAME_SHOW_MAX])
{
	(void)atl_log_escape(s, strnlen(s, 64), buf, NAME_SHOW_MAX);
	return buf;
}

/* DESIGN §4: the TEE kinds. */
static const char *const tee_names[] = {"sim", "tpm", "sev-snp", "tdx", "sgx", "nitro",
					"psa", "cca", "nvidia-gpu", NULL};

/* Sections that the named backends interpret (objects). */
static const char *const sections[] = {"tpm", "nitro", "psa", "cca", "nvidia-gpu", NULL};

static const char *const top_keys[] = {"tee_types",   "measurements", "min_tcb",
				       "allow_debug", "max_age_s",    "allow_sim",
				       "trust_anchors", "tpm",        "nitro",
				       "psa",         "cca",          "nvidia-gpu",
				       "require_gpu", NULL};

const char *atl_policy_tee_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; tee_names[i] != NULL; i++) {
		if (strcmp(name, tee_names[i]) == 0)
			return tee_names[i];
	}
	return NULL;
}

bool atl_policy_is_tee_name(const char *name)
{
	return atl_policy_tee_name(name) != NULL;
}

static enum atl_err fail(enum atl_err rc, char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum atl_err fail(enum atl_err rc, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Object whose keys must all be TEE names (unknown key = error). */
static enum atl_err check_tee_map(const json_t *o, const char *field, char *why, size_t cap)
{
	const char *k;
	json_t *v;
	char b[NAME_SHOW_MAX];

	if (!json_is_object(o))
		return fail(ATL_E_FORMAT, why, cap, "policy: %s must be an object", field);
	json_object_foreach((json_t *)o, k, v) {
		(void)v;
		if (!atl_policy_is_tee_name(k))
			return fail(ATL_E_FORMAT, why, cap, "policy: %s: unknown TEE kind '%s'",
				    field, show(k, b));
	}
	return ATL_OK;
}

static enum atl_err check_list(const json_t *a, const char *field, char *why, size_t cap)
{
	if (!json_is_array(a))
		return fail(ATL_E_FORMAT, why, cap, "policy: %s must be an array", field);
	if (json_array_size(a) == 0)
		return fail(ATL_E_FORMAT, why, cap, "policy: %s must not be empty", field);
	if (json_array_size(a) > ATL_ATTEST_LIST_MAX)
		return fail(ATL_E_LIMIT, why, cap, "policy: %s has more than %u entries", field,
			    ATL_ATTEST_LIST_MAX);
	return ATL_OK;
}

static enum atl_err check_tee_types(const json_t *a, char *why, size_t cap)
{
	size_t i;
	json_t *v;
	char b[NAME_SHOW_MAX];
	enum atl_err rc = check_list(a, "tee_types", why, cap);

	if (rc != ATL_OK)
		return rc;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return fail(ATL_E_FORMAT, why, cap, "policy: tee_types[%zu] must be a string",
				    i);
		if (!atl_policy_is_tee_name(json_string_value(v)))
			return fail(ATL_E_FORMAT, why, cap,
				    "policy: tee_types[%zu]: unknown TEE kind '%s'", i,
				    show(json_string_value(v), b));
	}
	return ATL_OK;
}

static enum atl_err check_measurements(const json_t *o, char *why, size_t cap)
{
	const char *tee;
	json_t *list, *v;
	uint8_t buf[ATL_ATTEST_MEAS_MAX];
	char field[96];
	size_t i, n;
	enum atl_err rc = check_tee_map(o, "measurements", why, cap);

	if (rc != ATL_OK)
		return rc;
	json_object_foreach((json_t *)o, tee, list) {
		(void)snprintf(field, sizeof(field), "measurements.%s", tee);
		rc = check_list(list, field, why, cap);
		if (rc != ATL_OK)
			return rc;
		json_array_foreach(list, i, v) {
			if (!json_is_string(v))
				return fail(ATL_E_FORMAT, why, cap, "policy: %s[%zu] must be a string",
					    field, i);
			if (json_string_length(v) == 0 ||
			    atl_hex_decode(json_string_value(v), json_string_length(v), buf,
					   sizeof(buf), &n) != ATL_OK)
				return fail(ATL_E_FORMAT, why, cap,
					    "policy: %s[%zu] must be hex of at most %u bytes", field, i,
					    ATL_ATTEST_MEAS_MAX);
		}
	}
	return ATL_OK;
}

static enum atl_err check_min_tcb(const json_t *o, char *why, size_t cap)
{
	const char *tee;
	json_t *v;
	enum atl_err rc = check_tee_map(o, "min_tcb", why, cap);

	if (rc != ATL_OK)
		return rc;
	json_object_foreach((json_t *)o, tee, v) {
		if (!json_is_object(v))
			return fail(ATL_E_FORMAT, why, cap, "policy: min_tcb.%s must be an object",
				    tee);
	}
	return ATL_OK;
}

static enum atl_err check_pem(const json_t *v, const char *field, size_t i, char *why, size_t cap)
{
	if (!json_is_string(v))
		return fail(ATL_E_FORMAT, why, cap, "policy: %s[%zu] must be a PEM string", field, i);
	if (json_string_length(v) > ATL_ATTEST_ANCHOR_MAX)
		return fail(ATL_E_LIMIT, why, cap, "policy: %s[%zu] is longer than %u bytes", field,
			    i, ATL_ATTEST_ANCHOR_MAX);
	if (strstr(json_string_value(v), "-----BEGIN ") == NULL)
		return fail(ATL_E_FORMAT, why, cap, "policy: %s[%zu] is not PEM text", field, i);
	return ATL_OK;
}

static enum atl_err check_anchors(const json_t *o, char *why, size_t cap)
{
	const char *tee;
	json_t *a, *v;
	char field[96];
	size_t i;
	enum atl_err rc = check_tee_map(o, "trust_anchors", why, cap);

	if (rc != ATL_OK)
		return rc;
	json_object_foreach((json_t *)o, tee, a) {
		(void)snprintf(field, sizeof(field), "trust_anchors.%s", tee);
		if (json_is_string(a)) {
			rc = check_pem(a, field, 0, why, cap);
			if (rc != ATL_OK)
				return rc;
			continue;
		}
		rc = check_list(a, field, why, cap);
		if (rc != ATL_OK)
			return rc;
		json_array_foreach(a, i, v) {
			rc = check_pem(v, field, i, why, cap);
			if (rc != ATL_OK)
				return rc;
		}
	}
	return ATL_OK;
}

enum atl_err atl_policy_validate(const json_t *p, char *why, size_t why_cap)
{
	const char *bad = NULL;
	json_t *v;
	char b[NAME_SHOW_MAX];
	enum atl_err rc;

	if (why != NULL && why_cap > 0)
		why[0] = '\0';
	if (!json_is_object(p))
		return fail(ATL_E_FORMAT, why, why_cap, "policy: must be a JSON object");
	if (atl_json_check_keys(p, top_keys, &bad) != ATL_OK)
		return fail(ATL_E_FORMAT, why, why_cap, "policy: unknown field '%s'",
			    show(bad != NULL ? bad : "?", b));
	v = json_object_get(p, "tee_types");
	if (v == NULL)
		return fail(ATL_E_FORMAT, why, why_cap, "policy: tee_types is required");
	rc = check_tee_types(v, why, why_cap);
	if (rc != ATL_OK)
		return rc;
	if ((v = json_object_get(p, "measurements")) != NULL &&
	    (rc = check_measurements(v, why, why_cap)) != ATL_OK)
		return rc;
	if ((v = json_object_get(p, "min_tcb")) != NULL &&
	    (rc = check_min_tcb(v, why, why_cap)) != ATL_OK)
		return rc;
	if ((v = json_object_get(p, "trust_anchors")) != NULL &&
	    (rc = check_anchors(v, why, why_cap)) != ATL_OK)
		return rc;
	static const char *const bools[] = {"allow_debug", "allow_sim", "require_gpu", NULL};
	for (size_t i = 0; bools[i] != NULL; i++) {
		v = json_object_get(p, bools[i]);
		if (v != NULL && !json_is_boolean(v))
			return fail(ATL_E_FORMAT, why, why_cap, "policy: %s must be true or false",
				    bools[i]);
	}
	v = json_object_get(p, "max_age_s");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
			  json_integer_value(v) > ATL_ATTEST_AGE_MAX))
		return fail(ATL_E_FORMAT, why, why_cap,
			    "policy: max_age_s must be an integer from 1 to %d", ATL_ATTEST_AGE_MAX);
	for (size_t i = 0; sections[i] != NULL; i++) {
		v = json_object_get(p, sections[i]);
		if (v != NULL && !json_is_object(v))
			return fail(ATL_E_FORMAT, why, why_cap, "policy: %s must be an object",
				    sections[i]);
	}
	return ATL_OK;
}

enum atl_err atl_policy_parse(const char *buf, size_t len, json_t **p_out, char *why,
			      size_t why_cap)
{
	json_t *p = NULL;
	enum atl_err rc;

	*p_out = NULL;
	if (why != NULL && why_cap > 0)
		why[0] = '\0';
	if (len > ATL_ATTEST_POLICY_MAX)
		return fail(ATL_E_LIMIT, why, why_cap, "policy: larger than %u bytes",
			    ATL_ATTEST_POLICY_MAX);
	rc = atl_json_parse(buf, len, &p);
	if (rc != ATL_OK)
		return fail(rc == ATL_E_LIMIT ? ATL_E_LIMIT : ATL_E_FORMAT, why, why_cap,
			    "policy: not valid JSON (or nested too deeply)");
	rc = atl_policy_validate(p, why, why_cap);
	if (rc != ATL_OK) {
		json_decref(p);
		return rc;
	}
	*p_out = p;
	return ATL_OK;
}

enum atl_err atl_policy_load(const char *path, json_t **p_out, char *why, size_t why_cap)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc;

	*p_out = NULL;
	rc = atl_file_read(path, ATL_ATTEST_POLICY_MAX, &buf, &len);
	if (rc != ATL_OK)
		return fail(rc, why, why_cap, "policy: cannot read the file (%s)",
			    rc == ATL_E_LIMIT ? "too large" : rc == ATL_E_NOTFOUND ? "not found"
										: "I/O error");
	rc = atl_policy_parse((const char *)buf, len, p_out, why, why_cap);
	free(buf);
	return rc;
}

bool atl_policy_lists_tee(const json_t *p, const char *tee)
{
	size_t i;
	json_t *v;

	if (p == NULL || tee == NULL)
		return false;
	json_array_foreach(json_object_get(p, "tee_types"), i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), tee) == 0)
			return true;
	}
	return false;
}

static bool get_bool(const json_t *p, const char *k)
{
	return p != NULL && json_is_true(json_object_get(p, k));
}

bool atl_policy_allow_sim(const json_t *p)
{
	return get_bool(p, "allow_sim");
}

bool atl_policy_allow_debug(const json_t *p)
{
	return get_bool(p, "allow_debug");
}

bool atl_policy_require_gpu(const json_t *p)
{
	return get_bool(p, "require_gpu");
}

int64_t atl_policy_max_age(const json_t *p)
{
	const json_t *v;

	if (p == NULL)
		return ATL_POLICY_MAX_AGE_DEFAULT;
	v = json_object_get(p, "max_age_s");
	if (!json_is_integer(v))
		return ATL_POLICY_MAX_AGE_DEFAULT;
	return (int64_t)json_integer_value(v);
}

static const json_t *tee_entry(const json_t *p, const char *map, const char *tee)
{
	if (p == NULL || tee == NULL)
		return NULL;
	return json_object_get(json_object_get(p, map), tee);
}

const json_t *atl_policy_measurements(const json_t *p, const char *tee)
{
	const json_t *a = tee_entry(p, "measurements", tee);

	return json_is_array(a) ? a : NULL;
}

bool atl_policy_measurement_listed(const json_t *p, const char *tee, const char *hex)
{
	const json_t *a = atl_policy_measurements(p, tee);
	size_t i;
	json_t *v;

	if (a == NULL || hex == NULL)
		return false;
	json_array_foreach(a, i, v) {
		/* Both sides are validated hex: a case-insensitive comparison of the
		 * text is a comparison of the bytes. Measurements are public. */
		if (json_is_string(v) && strcasecmp(json_string_value(v), hex) == 0)
			return true;
	}
	return false;
}

size_t atl_policy_anchor_count(const json_t *p, const char *tee)
{
	const json_t *a = tee_entry(p, "trust_anchors", tee);

	if (json_is_string(a))
		return 1;
	return json_is_array(a) ? json_array_size(a) : 0;
}

const char *atl_policy_anchor(const json_t *p, const char *tee, size_t i)
{
	const json_t *a = tee_entry(p, "trust_anchors", tee);

	if (json_is_string(a))
		return i == 0 ? json_string_value(a) : NULL;
	return json_string_value(json_array_get(a, i));
}

const json_t *atl_policy_min_tcb(const json_t *p, const char *tee)
{
	const json_t *o = tee_entry(p, "min_tcb", tee);

	return json_is_object(o) ? o : NULL;
}

const json_t *atl_policy_section(const json_t *p, const char *name)
{
	const json_t *o;

	if (p == NULL || name == NULL)
		return NULL;
	o = json_object_get(p, name);
	return json_is_object(o) ? o : NULL;
}
