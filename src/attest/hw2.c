/* Helpers shared by the Nitro, PSA, CCA, NVIDIA GPU and composite backends;
 * see src/attest/hw2.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "attest/hw2.h"

json_t *atl_hw2_hex(const uint8_t *p, size_t n)
{
	char *s = NULL;
	json_t *j;

	if (atl_hex_encode_alloc(p, n, &s) != ATL_OK)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

static void say(char *why, size_t cap, const char *msg, const char *arg)
{
	if (why != NULL && cap > 0)
		(void)snprintf(why, cap, "%s%s", msg, arg != NULL ? arg : "");
}

/* Calls fn on each anchor text: policy trust_anchors.<tee> (string or array),
 * then each --anchor file. */
typedef enum atl_err (*anchor_fn)(const uint8_t *pem, size_t len, void *ctx);

static enum atl_err each_anchor(const struct atl_verify_in *in, const char *tee, anchor_fn fn,
				void *ctx, char *why, size_t why_cap)
{
	const json_t *ta = in->policy != NULL ? json_object_get(in->policy, "trust_anchors") : NULL;
	const json_t *v = ta != NULL ? json_object_get(ta, tee) : NULL;
	enum atl_err rc;

	if (v != NULL) {
		size_t i;
		const json_t *e;

		if (json_is_string(v)) {
			rc = fn((const uint8_t *)json_string_value(v), json_string_length(v), ctx);
			if (rc != ATL_OK) {
				say(why, why_cap, "policy trust anchor is unusable for ", tee);
				return rc;
			}
		} else {
			json_array_foreach(v, i, e) {
				if (!json_is_string(e))
					return ATL_E_FORMAT;
				rc = fn((const uint8_t *)json_string_value(e), json_string_length(e), ctx);
				if (rc != ATL_OK) {
					say(why, why_cap, "policy trust anchor is unusable for ", tee);
					return rc;
				}
			}
		}
	}
	for (size_t i = 0; in->anchors != NULL && in->anchors[i] != NULL; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		rc = atl_file_read(in->anchors[i], ATL_ATTEST_ANCHOR_MAX, &buf, &len);
		if (rc != ATL_OK) {
			say(why, why_cap, "cannot read anchor ", in->anchors[i]);
			return rc;
		}
		rc = fn(buf, len, ctx);
		free(buf);
		if (rc != ATL_OK) {
			say(why, why_cap, "anchor is unusable: ", in->anchors[i]);
			return rc;
		}
	}
	return ATL_OK;
}

struct keys_ctx {
	struct atl_pubkey **keys;
	size_t cap, n;
};

static enum atl_err add_key(const uint8_t *pem, size_t len, void *vctx)
{
	struct keys_ctx *c = vctx;
	enum atl_err rc;

	if (c->n >= c->cap)
		return ATL_E_LIMIT;
	rc = atl_pubkey_parse(pem, len, &c->keys[c->n]);
	if (rc != ATL_OK)
		return ATL_E_FORMAT;
	c->n++;
	return ATL_OK;
}

enum atl_err atl_hw2_anchor_keys(const struct atl_verify_in *in, const char *tee,
				 struct atl_pubkey **keys, size_t cap, size_t *n_out, char *why,
				 size_t why_cap)
{
	struct keys_ctx c = {.keys = keys, .cap = cap, .n = 0};
	enum atl_err rc = each_anchor(in, tee, add_key, &c, why, why_cap);

	*n_out = c.n;
	return rc;
}

static enum atl_err add_root(const uint8_t *pem, size_t len, void *vctx)
{
	struct atl_x509_list **l = vctx;

	if (*l != NULL && atl_x509_list_len(*l) >= ATL_HW2_ANCHORS_MAX)
		return ATL_E_LIMIT;
	return atl_x509_list_parse(pem, len, l);
}

enum atl_err atl_hw2_anchor_roots(const struct atl_verify_in *in, const char *tee,
				  const char *builtin_pem, struct atl_x509_list **roots_out,
				  bool *builtin_out, char *why, size_t why_cap)
{
	struct atl_x509_list *l = NULL;
	enum atl_err rc;

	*roots_out = NULL;
	*builtin_out = false;
	rc = each_anchor(in, tee, add_root, &l, why, why_cap);
	if (rc != ATL_OK) {
		atl_x509_list_free(l);
		return rc;
	}
	if (l == NULL || atl_x509_list_len(l) == 0) {
		atl_x509_list_free(l);
		l = NULL;
		rc = atl_x509_list_parse((const uint8_t *)builtin_pem, strlen(builtin_pem), &l);
		if (rc != ATL_OK) {
			atl_x509_list_free(l);
			return ATL_E_INTERNAL;
		}
		*builtin_out = true;
	}
	*roots_out = l;
	return ATL_OK;
}

bool atl_hw2_json_hex(const json_t *v, uint8_t *out, size_t cap, size_t n, size_t *len_out)
{
	size_t got = 0;

	if (len_out != NULL)
		*len_out = 0;
	if (!json_is_string(v))
		return false;
	if (atl_hex_decode(json_string_value(v), json_string_length(v), out, cap, &got) != ATL_OK)
		return false;
	if (n != 0 && got != n)
		return false;
	if (len_out != NULL)
		*len_out = got;
	return true;
}

bool atl_hw2_allow_debug(const json_t *policy)
{
	return policy != NULL && json_is_true(json_object_get(policy, "allow_debug"));
}

int64_t atl_hw2_max_age(const json_t *policy)
{
	const json_t *v;

	if (policy == NULL)
		return -1;
	v = json_object_get(policy, "max_age_s");
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 300;
}
