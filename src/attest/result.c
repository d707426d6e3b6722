/* Attestation result builder; see include/atoll/attest.h. The result is a
 * jansson object built incrementally; status is derived from the checks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/attest.h"
#include "atoll/encoding.h"

struct atl_ar {
	json_t *claims; /* top-level fields other than status/checks */
	json_t *checks; /* array of {name, ok, detail[, warning]} */
	bool failed, warned;
	char *first_failure;
};

struct atl_ar *atl_ar_new(const char *tee)
{
	struct atl_ar *ar = calloc(1, sizeof(*ar));

	if (ar == NULL)
		return NULL;
	ar->claims = json_object();
	ar->checks = json_array();
	if (ar->claims == NULL || ar->checks == NULL ||
	    json_object_set_new(ar->claims, "tee", json_string(tee != NULL ? tee : "unknown")) != 0) {
		atl_ar_free(ar);
		return NULL;
	}
	return ar;
}

void atl_ar_free(struct atl_ar *ar)
{
	if (ar == NULL)
		return;
	json_decref(ar->claims);
	json_decref(ar->checks);
	free(ar->first_failure);
	free(ar);
}

static enum atl_err add_check(struct atl_ar *ar, const char *name, bool ok, bool warning,
			      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static enum atl_err add_check(struct atl_ar *ar, const char *name, bool ok, bool warning,
			      const char *fmt, va_list ap)
{
	char detail[1024];
	json_t *c;

	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	c = json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok, "detail", detail);
	if (c == NULL)
		goto nomem;
	if (warning && json_object_set_new(c, "warning", json_true()) != 0) {
		json_decref(c);
		goto nomem;
	}
	if (json_array_append_new(ar->checks, c) != 0)
		goto nomem;
	if (!ok && !ar->failed) {
		ar->failed = true;
		ar->first_failure = strdup(name);
	}
	if (warning)
		ar->warned = true;
	return ATL_OK;
nomem:
	/* Fail closed even when we cannot record why. */
	ar->failed = true;
	return ATL_E_NOMEM;
}

enum atl_err atl_ar_check(struct atl_ar *ar, const char *name, bool ok, const char *fmt, ...)
{
	enum atl_err rc;
	va_list ap;

	va_start(ap, fmt);
	rc = add_check(ar, name, ok, false, fmt, ap);
	va_end(ap);
	return rc;
}

enum atl_err atl_ar_warn(struct atl_ar *ar, const char *name, const char *fmt, ...)
{
	enum atl_err rc;
	va_list ap;

	va_start(ap, fmt);
	rc = add_check(ar, name, true, true, fmt, ap);
	va_end(ap);
	return rc;
}

enum atl_err atl_ar_set_json(struct atl_ar *ar, const char *field, json_t *v)
{
	if (v == NULL) {
		ar->failed = true;
		return ATL_E_NOMEM;
	}
	if (strcmp(field, "status") == 0 || strcmp(field, "checks") == 0) {
		json_decref(v);
		return ATL_E_ARG;
	}
	if (json_object_set_new(ar->claims, field, v) != 0) {
		ar->failed = true;
		return ATL_E_NOMEM;
	}
	return ATL_OK;
}

enum atl_err atl_ar_set_str(struct atl_ar *ar, const char *field, const char *v)
{
	return atl_ar_set_json(ar, field, json_string(v));
}

enum atl_err atl_ar_set_hex(struct atl_ar *ar, const char *field, const uint8_t *p, size_t n)
{
	char *hex = NULL;
	enum atl_err rc = atl_hex_encode_alloc(p, n, &hex);

	if (rc != ATL_OK) {
		ar->failed = true;
		return rc;
	}
	rc = atl_ar_set_json(ar, field, json_string(hex));
	free(hex);
	return rc;
}

enum atl_err atl_ar_set_bool(struct atl_ar *ar, const char *field, bool v)
{
	return atl_ar_set_json(ar, field, json_boolean(v));
}

enum atl_err atl_ar_set_int(struct atl_ar *ar, const char *field, int64_t v)
{
	return atl_ar_set_json(ar, field, json_integer((json_int_t)v));
}

const json_t *atl_ar_get(const struct atl_ar *ar, const char *field)
{
	return json_object_get(ar->claims, field);
}

enum atl_ar_status atl_ar_status(const struct atl_ar *ar)
{
	if (ar->failed || json_array_size(ar->checks) == 0)
		return ATL_AR_CONTRAINDICATED;
	return ar->warned ? ATL_AR_WARNING : ATL_AR_AFFIRMING;
}

const char *atl_ar_status_name(enum atl_ar_status s)
{
	switch (s) {
	case ATL_AR_AFFIRMING:
		return "affirming";
	case ATL_AR_WARNING:
		return "warning";
	case ATL_AR_CONTRAINDICATED:
		break;
	}
	return "contraindicated";
}

const char *atl_ar_first_failure(const struct atl_ar *ar)
{
	return ar->first_failure;
}

json_t *atl_ar_to_json(const struct atl_ar *ar)
{
	json_t *o = json_deep_copy(ar->claims);

	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "status", json_string(atl_ar_status_name(atl_ar_status(ar)))) != 0 ||
	    json_object_set(o, "checks", ar->checks) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
