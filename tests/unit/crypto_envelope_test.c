/* Unit tests for src/crypto/envelope.c: sealed envelope v1, results, replay.
 *
 * Every failure must be ATL_E_FORMAT, ATL_E_LIMIT, ATL_E_AUTH or ATL_E_REPLAY
 * and must never hand out plaintext or a DEK: try_open() checks that the
 * outputs stay NULL/0 on every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/aead.h"
#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"
#include "crypto/envelope_stream.h"
#include "crypto/envelope_text.h"

#define T0 1763884800 /* 2025-11-23T08:00:00Z */
#define SKEW 300

static const uint8_t msg[] = "the quick brown fox: confidential input";

struct fixture {
	struct atl_kp e1, e2, client, stranger;
	char *json;
	size_t json_len;
	uint8_t *dek;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct atl_env_recipient r[3];

	assert_non_null(f);
	assert_int_equal(atl_kp_generate(&f->e1), ATL_OK);
	assert_int_equal(atl_kp_generate(&f->e2), ATL_OK);
	assert_int_equal(atl_kp_generate(&f->client), ATL_OK);
	assert_int_equal(atl_kp_generate(&f->stranger), ATL_OK);
	memcpy(r[0].pub, f->e1.pub, 32);
	r[0].kid_prefix = NULL; /* "ek_" */
	memcpy(r[1].pub, f->e2.pub, 32);
	r[1].kid_prefix = "ek_";
	memcpy(r[2].pub, f->client.pub, 32);
	r[2].kid_prefix = "ck_";
	assert_int_equal(atl_env_seal(r, 3, "wl-echo", "ck_0123", T0, msg, sizeof(msg), &f->json,
				      &f->json_len, &f->dek),
			 ATL_OK);
	assert_int_equal(strlen(f->json), f->json_len);
	assert_int_equal(atl_secret_size(f->dek), ATL_ENV_DEK_LEN);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	atl_kp_clear(&f->e1);
	atl_kp_clear(&f->e2);
	atl_kp_clear(&f->client);
	atl_kp_clear(&f->stranger);
	free(f->json);
	atl_secret_free(f->dek);
	free(f);
	return 0;
}

/* Opens and checks the no-plaintext-on-failure rule; on success compares with
 * msg and frees. */
static enum atl_err try_open(const char *json, size_t len, const struct atl_kp *kp, int64_t now,
			     struct atl_env_replay *rp)
{
	uint8_t *pt = (uint8_t *)1, *dek = (uint8_t *)1;
	size_t pt_len = 99;
	struct atl_env_info info;
	enum atl_err rc = atl_env_open(json, len, kp, now, rp, &pt, &pt_len, &dek, &info);

	if (rc != ATL_OK) {
		assert_null(pt);
		assert_null(dek);
		assert_int_equal(pt_len, 0);
		assert_int_equal(info.n_recipients, 0);
		return rc;
	}
	assert_int_equal(pt_len, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	atl_secret_free(pt);
	atl_secret_free(dek);
	return rc;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	const struct atl_kp *keys[] = {&f->e1, &f->e2, &f->client};
	struct atl_env_info info, seen;
	char kid[ATL_KEY_ID_LEN];

	for (size_t k = 0; k < 3; k++) {
		uint8_t *pt = NULL, *dek = NULL;
		size_t pt_len = 0;

		assert_int_equal(atl_env_open(f->json, f->json_len, keys[k], T0, NULL, &pt,
					      &pt_len, &dek, &info),
				 ATL_OK);
		assert_int_equal(pt_len, sizeof(msg));
		assert_memory_equal(pt, msg, sizeof(msg));
		assert_true(atl_secret_size(pt) >= sizeof(msg)); /* secret memory */
		assert_memory_equal(dek, f->dek, ATL_ENV_DEK_LEN);
		assert_string_equal(info.suite, ATL_ENV_SUITE_DEFAULT);
		assert_string_equal(info.workload_id, "wl-echo");
		assert_string_equal(info.key_id, "ck_0123");
		assert_int_equal(info.created_at, T0);
		assert_int_equal(info.n_recipients, 3);
		assert_int_equal(info.opened_by, k);
		atl_secret_free(pt);
		atl_secret_free(dek);
	}
	/* kids: ek_ for enclave keys, ck_ for the client's own. */
	assert_int_equal(atl_key_id("ek_", f->e1.pub, kid), ATL_OK);
	assert_string_equal(info.kids[0], kid);
	assert_int_equal(atl_key_id("ck_", f->client.pub, kid), ATL_OK);
	assert_string_equal(info.kids[2], kid);
	/* inspect sees the same (unauthenticated) header and digest. */
	assert_int_equal(atl_env_inspect(f->json, f->json_len, &seen), ATL_OK);
	assert_int_equal(seen.n_recipients, 3);
	assert_string_equal(seen.kids[1], info.kids[1]);
	assert_memory_equal(seen.digest, info.digest, 32);
	/* Optional outputs may be NULL. */
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	assert_int_equal(atl_env_open(f->json, f->json_len, &f->e2, T0, NULL, &pt, &pt_len, NULL,
				      NULL),
			 ATL_OK);
	atl_secret_free(pt);
}

static void test_empty_payload_and_single_recipient(void **state)
{
	struct fixture *f = *state;
	struct atl_env_recipient r = {{0}, "ek_"};
	char *json = NULL;
	size_t len = 0, pt_len = 99;
	uint8_t *pt = NULL;

	memcpy(r.pub, f->e1.pub, 32);
	assert_int_equal(atl_env_seal(&r, 1, "w", "k", 0, NULL, 0, &json, &len, NULL), ATL_OK);
	assert_int_equal(atl_env_open(json, len, &f->e1, 0, NULL, &pt, &pt_len, NULL, NULL),
			 ATL_OK);
	assert_non_null(pt);
	assert_int_equal(pt_len, 0);
	atl_secret_free(pt);
	assert_int_equal(try_open(json, len, &f->e2, 0, NULL), ATL_E_AUTH);
	free(json);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(try_open(f->json, f->json_len, &f->stranger, T0, NULL), ATL_E_AUTH);
}

/* ---- tampering through the JSON tree ------------------------------------- */

typedef void (*mutator)(json_t *root);

/* A mutator that replaces one top-level member. */
#define MUT_SET(fn, key, value)                       \
	static void fn(json_t *r)                     \
	{                                             \
		json_object_set_new(r, key, value);   \
	}

static enum atl_err open_mutated(const struct fixture *f, mutator m,
				 const struct atl_kp *kp)
{
	json_error_t jerr;
	json_t *root = json_loadb(f->json, f->json_len, 0, &jerr);
	char *text;
	enum atl_err rc;

	assert_non_null(root);
	m(root);
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	rc = try_open(text, strlen(text), kp, T0, NULL);
	free(text);
	json_decref(root);
	return rc;
}

static json_t *rcp(json_t *root, size_t i)
{
	return json_array_get(json_object_get(root, "recipients"), i);
}

/* Flips one bit of the decoded bytes of a base64 string member. */
static void flip_b64(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	uint8_t *b = NULL;
	size_t n = 0;
	char *enc = NULL;

	assert_int_equal(atl_b64_decode(s, strlen(s), ATL_B64_STD, &b, &n), ATL_OK);
	b[n / 2] ^= 0x04;
	assert_int_equal(atl_b64_encode(b, n, ATL_B64_STD, &enc), ATL_OK);
	json_object_set_new(obj, key, json_string(enc));
	free(b);
	free(enc);
}

MUT_SET(m_v2, "v", json_integer(2))
MUT_SET(m_v_str, "v", json_string("1"))
MUT_SET(m_suite_other, "suite", json_string("x25519-sha256-aes128gcm"))
MUT_SET(m_suite_chacha, "suite", json_string("x25519-sha256-chacha20poly1305"))
MUT_SET(m_suite_unknown, "suite", json_string("rot13"))
MUT_SET(m_workload, "workload_id", json_string("wl-echp"))
MUT_SET(m_workload_bad, "workload_id", json_string("wl echo"))
MUT_SET(m_workload_empty, "workload_id", json_string(""))
static void m_workload_long(json_t *r)
{
	char s[ATL_ENV_ID_MAX + 2];

	memset(s, 'w', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	json_object_set_new(r, "workload_id", json_string(s));
}
MUT_SET(m_key_id, "key_id", json_string("ck_0124"))
MUT_SET(m_key_id_num, "key_id", json_integer(5))
MUT_SET(m_created, "created_at", json_integer(T0 + 1))
MUT_SET(m_created_neg, "created_at", json_integer(-1))
MUT_SET(m_created_real, "created_at", json_real(T0))
static void m_nonce(json_t *r)
{
	flip_b64(r, "nonce");
}
MUT_SET(m_nonce_short, "nonce", json_string("AAAA"))
static void m_ct(json_t *r)
{
	flip_b64(r, "ciphertext");
}
MUT_SET(m_ct_bad_b64, "ciphertext", json_string("AAAA*AAA"))
MUT_SET(m_ct_short, "ciphertext", json_string("AAAA"))
MUT_SET(m_extra, "extra", json_true())
static void m_missing(json_t *r)
{
	json_object_del(r, "created_at");
}
static void m_missing_ct(json_t *r)
{
	json_object_del(r, "ciphertext");
}
static void m_enc_mine(json_t *r)
{
	flip_b64(rcp(r, 0), "enc");
}
static void m_enc_other(json_t *r)
{
	flip_b64(rcp(r, 1), "enc");
}
static void m_wrapped_mine(json_t *r)
{
	flip_b64(rcp(r, 0), "wrapped_key");
}
static void m_wrapped_other(json_t *r)
{
	flip_b64(rcp(r, 2), "wrapped_key");
}
static void m_wrapped_swap(json_t *r)
{
	json_t *a = json_object_get(rcp(r, 0), "wrapped_key");
	json_t *b = json_object_get(rcp(r, 1), "wrapped_key");

	json_incref(a);
	json_object_set(rcp(r, 0), "wrapped_key", b);
	json_object_set_new(rcp(r, 1), "wrapped_key", a);
}
static void m_kid_other(json_t *r)
{
	/* a valid-looking but different kid for recipient 1 */
	json_object_set_new(rcp(r, 1), "kid", json_string("ek_00000000000000000000000000000000"));
}
static void m_kid_mine_prefix(json_t *r)
{
	const char *k = json_string_value(json_object_get(rcp(r, 0), "kid"));
	char s[ATL_KEY_ID_LEN];
	/* same key id under the other prefix: still ours, but the header changed */
	memcpy(s, k, sizeof(s));
	s[0] = 'c';
	json_object_set_new(rcp(r, 0), "kid", json_string(s));
}
static void m_kid_upper(json_t *r)
{
	json_object_set_new(rcp(r, 1), "kid", json_string("ek_0000000000000000000000000000000A"));
}
static void m_kid_short(json_t *r)
{
	json_object_set_new(rcp(r, 1), "kid", json_string("ek_00"));
}
static void m_drop_other(json_t *r)
{
	json_array_remove(json_object_get(r, "recipients"), 1);
}
static void m_drop_last(json_t *r)
{
	json_array_remove(json_object_get(r, "recipients"), 2);
}
static void m_drop_mine(json_t *r)
{
	json_array_remove(json_object_get(r, "recipients"), 0);
}
static void m_drop_all(json_t *r)
{
	json_array_clear(json_object_get(r, "recipients"));
}
static void m_reorder(json_t *r)
{
	json_t *arr = json_object_get(r, "recipients"), *first = json_array_get(arr, 0);
	json_incref(first);
	json_array_remove(arr, 0);
	json_array_append_new(arr, first);
}
static void m_duplicate(json_t *r)
{
	json_t *arr = json_object_get(r, "recipients");
	json_array_append_new(arr, json_deep_copy(json_array_get(arr, 1)));
}
static void m_recipient_extra(json_t *r)
{
	json_object_set_new(rcp(r, 0), "x", json_null());
}
static void m_recipient_missing(json_t *r)
{
	json_object_del(rcp(r, 1), "enc");
}
MUT_SET(m_recipients_obj, "recipients", json_object())
static void m_too_many(json_t *r)
{
	json_t *arr = json_object_get(r, "recipients");
	for (unsigned i = 0; json_array_size(arr) <= ATL_ENV_RECIPIENTS_MAX; i++) {
		json_t *c = json_deep_copy(json_array_get(arr, 1));
		char kid[ATL_KEY_ID_LEN];
		snprintf(kid, sizeof(kid), "ek_%032x", i + 1);
		json_object_set_new(c, "kid", json_string(kid));
		json_array_append_new(arr, c);
	}
}
static void m_ct_too_long(json_t *r)
{
	size_t n = ATL_ENV_PAYLOAD_MAX + ATL_AEAD_TAG_LEN + 1;
	uint8_t *b = calloc(1, n);
	char *enc = NULL;
	assert_non_null(b);
	assert_int_equal(atl_b64_encode(b, n, ATL_B64_STD, &enc), ATL_OK);
	json_object_set_new(r, "ciphertext", json_string(enc));
	free(b);
	free(enc);
}

static void test_tamper_every_field(void **state)
{
	static const struct {
		const char *what;
		mutator m;
		enum atl_err want;
	} cases[] = {
		{"v=2", m_v2, ATL_E_FORMAT},
		{"v as string", m_v_str, ATL_E_FORMAT},
		{"suite aes128", m_suite_other, ATL_E_AUTH},
		{"suite chacha", m_suite_chacha, ATL_E_AUTH},
		{"suite unknown", m_suite_unknown, ATL_E_FORMAT},
		{"workload_id", m_workload, ATL_E_AUTH},
		{"workload_id space", m_workload_bad, ATL_E_FORMAT},
		{"workload_id empty", m_workload_empty, ATL_E_FORMAT},
		{"workload_id long", m_workload_long, ATL_E_LIMIT},
		{"key_id", m_key_id, ATL_E_AUTH},
		{"key_id number", m_key_id_num, ATL_E_FORMAT},
		{"created_at", m_created, ATL_E_AUTH},
		{"created_at negative", m_created_neg, ATL_E_FORMAT},
		{"created_at real", m_created_real, ATL_E_FORMAT},
		{"nonce", m_nonce, ATL_E_AUTH},
		{"nonce short", m_nonce_short, ATL_E_FORMAT},
		{"ciphertext", m_ct, ATL_E_AUTH},
		{"ciphertext bad base64", m_ct_bad_b64, ATL_E_FORMAT},
		{"ciphertext shorter than tag", m_ct_short, ATL_E_FORMAT},
		{"ciphertext over limit", m_ct_too_long, ATL_E_LIMIT},
		{"extra member", m_extra, ATL_E_FORMAT},
		{"missing created_at", m_missing, ATL_E_FORMAT},
		{"missing ciphertext", m_missing_ct, ATL_E_FORMAT},
		{"enc (mine)", m_enc_mine, ATL_E_AUTH},
		{"enc (other)", m_enc_other, ATL_E_AUTH},
		{"wrapped_key (mine)", m_wrapped_mine, ATL_E_AUTH},
		{"wrapped_key (other)", m_wrapped_other, ATL_E_AUTH},
		{"wrapped_key swapped", m_wrapped_swap, ATL_E_AUTH},
		{"kid (other)", m_kid_other, ATL_E_AUTH},
		{"kid (mine, other prefix)", m_kid_mine_prefix, ATL_E_AUTH},
		{"kid upper-case hex", m_kid_upper, ATL_E_FORMAT},
		{"kid short", m_kid_short, ATL_E_FORMAT},
		{"recipient dropped", m_drop_other, ATL_E_AUTH},
		{"last recipient dropped", m_drop_last, ATL_E_AUTH},
		{"my recipient dropped", m_drop_mine, ATL_E_AUTH},
		{"no recipients", m_drop_all, ATL_E_FORMAT},
		{"recipients reordered", m_reorder, ATL_E_AUTH},
		{"recipient duplicated", m_duplicate, ATL_E_FORMAT},
		{"recipient extra member", m_recipient_extra, ATL_E_FORMAT},
		{"recipient missing enc", m_recipient_missing, ATL_E_FORMAT},
		{"recipients not an array", m_recipients_obj, ATL_E_FORMAT},
		{"too many recipients", m_too_many, ATL_E_LIMIT},
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum atl_err rc = open_mutated(f, cases[i].m, &f->e1);
		if (rc != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].what, atl_err_name(rc),
				 atl_err_name(cases[i].want));
	}
	/* Re-spacing and reordering JSON members is not tampering. */
	json_error_t jerr;
	json_t *root = json_loadb(f->json, f->json_len, 0, &jerr);
	char *pretty = json_dumps(root, JSON_INDENT(3) | JSON_SORT_KEYS);
	assert_int_equal(try_open(pretty, strlen(pretty), &f->e1, T0, NULL), ATL_OK);
	free(pretty);
	json_decref(root);
}

/* Rewrites the envelope text with the ciphertext value replaced by `value`
 * (raw JSON text, quotes included). */
static char *with_ct_text(const struct fixture *f, const char *value)
{
	const char *k = strstr(f->json, "\"ciphertext\":\"");
	const char *v, *e;
	char *out;

	assert_non_null(k);
	v = k + strlen("\"ciphertext\":");
	e = strchr(v + 1, '"') + 1;
	out = malloc(f->json_len + strlen(value) + 1);
	assert_non_null(out);
	memcpy(out, f->json, (size_t)(v - f->json));
	strcpy(out + (v - f->json), value);
	strcat(out, e);
	return out;
}

static const char *ct_b64(const struct fixture *f, size_t *len)
{
	const char *v = strstr(f->json, "\"ciphertext\":\"") + strlen("\"ciphertext\":\"");

	*len = (size_t)(strchr(v, '"') - v);
	return v;
}

/* The big ciphertext member is cut out of the text jansson sees and decoded
 * by its own strict base64 decoder: escapes still work (slow path), and
 * duplicates, nesting and non-canonical base64 are still refused. */
static void test_ciphertext_text_forms(void **state)
{
	struct fixture *f = *state;
	size_t n;
	const char *b = ct_b64(f, &n);
	char *val = malloc(2 * n + 16), *t;
	size_t o = 0;

	assert_non_null(val);
	/* Every character of the value escaped as \u00XX, or '/' as "\/". */
	val[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			o += (size_t)sprintf(val + o, "\\u%04x", (unsigned char)b[i]);
		} else if (b[i] == '/') {
			val[o++] = '\\';
			val[o++] = '/';
		} else {
			val[o++] = b[i];
		}
	}
	val[o++] = '"';
	val[o] = '\0';
	t = with_ct_text(f, val);
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_OK);
	free(t);
	/* Not a string. */
	t = with_ct_text(f, "12");
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	free(t);
	t = with_ct_text(f, "null");
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	free(t);
	/* Base64 strictness: whitespace, a missing pad, '=' inside, non-zero
	 * padding bits, an unknown character. */
	{
		char *v2 = malloc(n + 16);
		assert_non_null(v2);
		snprintf(v2, n + 16, "\"%.*s \"", (int)n, b);
		t = with_ct_text(f, v2);
		assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
		free(t);
		snprintf(v2, n + 16, "\"%.*s\"", (int)n - 1, b);
		t = with_ct_text(f, v2);
		assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
		free(t);
		snprintf(v2, n + 16, "\"%.*s=AAA\"", (int)n - 4, b);
		t = with_ct_text(f, v2);
		assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
		free(t);
		snprintf(v2, n + 16, "\"%.*s*\"", (int)n - 1, b);
		t = with_ct_text(f, v2);
		assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
		free(t);
		free(v2);
	}
	t = with_ct_text(f, "\"AAB=\""); /* 'B' leaves non-zero padding bits */
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	free(t);
	t = with_ct_text(f, "\"AAAAAAAAAAAAAAAAAAAAAA==\""); /* 16 zero bytes: canonical, fails the tag */
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_AUTH);
	free(t);
	t = with_ct_text(f, "\"AAAAAAAAAAAAAAAAAAAAAB==\"");
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	free(t);
	t = with_ct_text(f, "\"====\"");
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	free(t);
	/* A second "ciphertext" member, first or last. */
	t = malloc(f->json_len + 32);
	assert_non_null(t);
	memcpy(t, f->json, f->json_len - 1);
	strcpy(t + f->json_len - 1, ",\"ciphertext\":\"AAAA\"}");
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	memcpy(t, "{\"ciphertext\":\"AAAA\",", 21);
	memcpy(t + 21, f->json + 1, f->json_len - 1);
	t[20 + f->json_len] = '\0';
	assert_int_equal(try_open(t, strlen(t), &f->e1, T0, NULL), ATL_E_FORMAT);
	free(t);
	free(val);
}

static void test_truncated_and_trailing(void **state)
{
	struct fixture *f = *state;
	char *buf = malloc(f->json_len + 8);

	assert_non_null(buf);
	for (size_t n = 0; n < f->json_len; n++) {
		enum atl_err rc;
		memcpy(buf, f->json, n);
		rc = try_open(buf, n, &f->e1, T0, NULL);
		if (rc != ATL_E_FORMAT)
			fail_msg("truncated at %zu: %s", n, atl_err_name(rc));
	}
	memcpy(buf, f->json, f->json_len);
	memcpy(buf + f->json_len, "x", 1);
	assert_int_equal(try_open(buf, f->json_len + 1, &f->e1, T0, NULL), ATL_E_FORMAT);
	memcpy(buf + f->json_len, "{}", 2);
	assert_int_equal(try_open(buf, f->json_len + 2, &f->e1, T0, NULL), ATL_E_FORMAT);
	memcpy(buf + f->json_len, "\0", 1);
	assert_int_equal(try_open(buf, f->json_len + 1, &f->e1, T0, NULL), ATL_E_FORMAT);
	/* Not JSON at all, or not an object. */
	assert_int_equal(try_open("[]", 2, &f->e1, T0, NULL), ATL_E_FORMAT);
	assert_int_equal(try_open("\x80\xff", 2, &f->e1, T0, NULL), ATL_E_FORMAT);
	free(buf);
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	size_t n = ATL_ENV_SIZE_MAX + 1;
	char *big = malloc(n);
	struct atl_env_info info;
	struct atl_env_recipient r[ATL_ENV_RECIPIENTS_MAX + 1];
	char *json = NULL;
	size_t len = 0;

	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, f->json, f->json_len);
	assert_int_equal(try_open(big, n, &f->e1, T0, NULL), ATL_E_LIMIT);
	assert_int_equal(atl_env_inspect(big, n, &info), ATL_E_LIMIT);
	free(big);
	/* The sealer refuses what the opener would refuse. */
	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < ATL_ENV_RECIPIENTS_MAX + 1; i++)
		r[i].pub[0] = (uint8_t)(i + 9);
	assert_int_equal(atl_env_seal(r, ATL_ENV_RECIPIENTS_MAX + 1, "w", "k", T0, msg,
				      sizeof(msg), &json, &len, NULL),
			 ATL_E_LIMIT);
	assert_int_equal(atl_env_seal(r, 1, "w", "k", T0, msg, ATL_ENV_PAYLOAD_MAX + 1, &json,
				      &len, NULL),
			 ATL_E_LIMIT);
	assert_null(json);
}

/* The largest payload seals into at most ATL_ENV_SIZE_MAX bytes with the most
 * recipients, and opens. */
static void test_largest(void **state)
{
	struct fixture *f = *state;
	struct atl_env_recipient r[ATL_ENV_RECIPIENTS_MAX];
	uint8_t *pt = calloc(1, ATL_ENV_PAYLOAD_MAX), *back = NULL;
	char id[ATL_ENV_ID_MAX + 1], *json = NULL;
	size_t len = 0, back_len = 0;

	assert_non_null(pt);
	memset(id, 'z', ATL_ENV_ID_MAX);
	id[ATL_ENV_ID_MAX] = '\0';
	for (size_t i = 0; i < ATL_ENV_RECIPIENTS_MAX; i++) {
		struct atl_kp k;
		assert_int_equal(atl_kp_generate(&k), ATL_OK);
		memcpy(r[i].pub, i == 0 ? f->e1.pub : k.pub, 32);
		r[i].kid_prefix = "ck_";
		atl_kp_clear(&k);
	}
	assert_int_equal(atl_env_seal(r, ATL_ENV_RECIPIENTS_MAX, id, id, INT64_MAX, pt,
				      ATL_ENV_PAYLOAD_MAX, &json, &len, NULL),
			 ATL_OK);
	assert_true(len <= ATL_ENV_SIZE_MAX);
	assert_int_equal(atl_env_open(json, len, &f->e1, 0, NULL, &back, &back_len, NULL, NULL),
			 ATL_OK);
	assert_int_equal(back_len, ATL_ENV_PAYLOAD_MAX);
	assert_memory_equal(back, pt, ATL_ENV_PAYLOAD_MAX);
	atl_secret_free(back);
	free(json);
	free(pt);
}

static void test_seal_bad_args(void **state)
{
	struct fixture *f = *state;
	struct atl_env_recipient r[2] = {{{0}, NULL}, {{0}, NULL}};
	char *json = (char *)1;
	size_t len = 1;
	uint8_t *dek = (uint8_t *)1;

	memcpy(r[0].pub, f->e1.pub, 32);
	memcpy(r[1].pub, f->e1.pub, 32);
	assert_int_equal(atl_env_seal(r, 0, "w", "k", T0, msg, 1, &json, &len, &dek), ATL_E_ARG);
	assert_null(json);
	assert_null(dek);
	assert_int_equal(atl_env_seal(NULL, 1, "w", "k", T0, msg, 1, &json, &len, NULL),
			 ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 2, "w", "k", T0, msg, 1, &json, &len, NULL),
			 ATL_E_ARG); /* same key twice */
	r[1].kid_prefix = "ck_";
	assert_int_equal(atl_env_seal(r, 2, "w", "k", T0, msg, 1, &json, &len, NULL),
			 ATL_E_ARG); /* still the same key */
	r[1].kid_prefix = "xx_";
	memcpy(r[1].pub, f->e2.pub, 32);
	assert_int_equal(atl_env_seal(r, 2, "w", "k", T0, msg, 1, &json, &len, NULL),
			 ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 1, "w\"", "k", T0, msg, 1, &json, &len, NULL),
			 ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 1, "w", "", T0, msg, 1, &json, &len, NULL), ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 1, "w", NULL, T0, msg, 1, &json, &len, NULL), ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 1, "w", "k\n", T0, msg, 1, &json, &len, NULL), ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 1, "w", "k", -1, msg, 1, &json, &len, NULL), ATL_E_ARG);
	assert_int_equal(atl_env_seal(r, 1, "w", "k", T0, NULL, 1, &json, &len, NULL), ATL_E_ARG);
	assert_null(json);
	/* Open without a private key. */
	struct atl_kp pubonly = {{0}, NULL};
	assert_int_equal(try_open(f->json, f->json_len, &pubonly, T0, NULL), ATL_E_ARG);
}

/* ---- replay and freshness ------------------------------------------------ */

static void test_replay(void **state)
{
	struct fixture *f = *state;
	struct atl_env_replay *rp = NULL;
	json_error_t jerr;
	json_t *root;
	char *respaced;

	assert_int_equal(atl_env_replay_new(SKEW, 4, &rp), ATL_OK);
	/* Stale and future envelopes are refused, and not recorded. */
	assert_int_equal(try_open(f->json, f->json_len, &f->e1, T0 + SKEW + 1, rp), ATL_E_REPLAY);
	assert_int_equal(try_open(f->json, f->json_len, &f->e1, T0 - SKEW - 1, rp), ATL_E_REPLAY);
	assert_int_equal(try_open(f->json, f->json_len, &f->e1, INT64_MIN, rp), ATL_E_REPLAY);
	/* Within the window: once. */
	assert_int_equal(try_open(f->json, f->json_len, &f->e1, T0 + SKEW, rp), ATL_OK);
	assert_int_equal(try_open(f->json, f->json_len, &f->e1, T0, rp), ATL_E_REPLAY);
	/* The other recipient of the same envelope is also a replay (same
	 * digest), and so is a re-spaced copy of the JSON text. */
	assert_int_equal(try_open(f->json, f->json_len, &f->e2, T0, rp), ATL_E_REPLAY);
	root = json_loadb(f->json, f->json_len, 0, &jerr);
	respaced = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	assert_int_equal(try_open(respaced, strlen(respaced), &f->e1, T0 - SKEW, rp),
			 ATL_E_REPLAY);
	free(respaced);
	json_decref(root);
	/* A forged envelope is not recorded: the genuine one still is a replay
	 * and a fresh cache accepts the genuine one. */
	atl_env_replay_free(rp);
	assert_int_equal(atl_env_replay_new(SKEW, 4, &rp), ATL_OK);
	assert_int_equal(try_open(f->json, f->json_len, &f->stranger, T0, rp), ATL_E_AUTH);
	assert_int_equal(try_open(f->json, f->json_len, &f->e1, T0, rp), ATL_OK);
	atl_env_replay_free(rp);
	atl_env_replay_free(NULL);
}

static void test_replay_cache_bounded(void **state)
{
	struct atl_env_replay *rp = NULL;
	uint8_t d[32] = {0};

	(void)state;
	assert_int_equal(atl_env_replay_new(-1, 4, &rp), ATL_E_ARG);
	assert_int_equal(atl_env_replay_new(10, 0, &rp), ATL_E_ARG);
	assert_int_equal(atl_env_replay_new(10, ATL_ENV_REPLAY_MAX + 1, &rp), ATL_E_ARG);
	assert_int_equal(atl_env_replay_new(ATL_ENV_SKEW_MAX + 1, 4, &rp), ATL_E_ARG);
	assert_null(rp);
	assert_int_equal(atl_env_replay_new(10, 2, &rp), ATL_OK);
	d[0] = 1;
	assert_int_equal(atl_env_replay_check(rp, d, 100, 100), ATL_OK);
	d[0] = 2;
	assert_int_equal(atl_env_replay_check(rp, d, 105, 100), ATL_OK);
	d[0] = 3;
	/* Full of live entries: refused, not forgotten. */
	assert_int_equal(atl_env_replay_check(rp, d, 100, 100), ATL_E_BUSY);
	d[0] = 1;
	assert_int_equal(atl_env_replay_check(rp, d, 100, 109), ATL_E_REPLAY);
	/* At 111 the first entry can no longer be fresh: dropped, room again. */
	d[0] = 3;
	assert_int_equal(atl_env_replay_check(rp, d, 111, 111), ATL_OK);
	d[0] = 2;
	assert_int_equal(atl_env_replay_check(rp, d, 105, 111), ATL_E_REPLAY);
	d[0] = 1;
	assert_int_equal(atl_env_replay_check(rp, d, 100, 111), ATL_E_REPLAY); /* stale */
	assert_int_equal(atl_env_replay_check(rp, d, INT64_MAX, INT64_MIN), ATL_E_REPLAY);
	assert_int_equal(atl_env_replay_check(NULL, d, 0, 0), ATL_E_ARG);
	atl_env_replay_free(rp);
}

/* ---- results --------------------------------------------------------------- */

static void test_result(void **state)
{
	struct fixture *f = *state;
	static const uint8_t out[] = "result: 42";
	char *json = NULL;
	size_t len = 0, pt_len = 0;
	uint8_t *pt = NULL, dek2[ATL_ENV_DEK_LEN];

	assert_int_equal(atl_env_result_seal(f->dek, "job-1", "wl-echo", out, sizeof(out), &json,
					     &len),
			 ATL_OK);
	assert_int_equal(strlen(json), len);
	assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echo", json, len, &pt, &pt_len),
			 ATL_OK);
	assert_int_equal(pt_len, sizeof(out));
	assert_memory_equal(pt, out, sizeof(out));
	atl_secret_free(pt);
	pt = NULL;
	/* Wrong job, wrong workload, wrong DEK. */
	assert_int_equal(atl_env_result_open(f->dek, "job-2", "wl-echo", json, len, &pt, &pt_len),
			 ATL_E_AUTH);
	assert_null(pt);
	assert_int_equal(pt_len, 0);
	assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echO", json, len, &pt, &pt_len),
			 ATL_E_AUTH);
	memcpy(dek2, f->dek, sizeof(dek2));
	dek2[31] ^= 1;
	assert_int_equal(atl_env_result_open(dek2, "job-1", "wl-echo", json, len, &pt, &pt_len),
			 ATL_E_AUTH);
	/* Every truncation is a format error; trailing bytes too. */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echo", json, n, &pt,
						     &pt_len),
				 ATL_E_FORMAT);
	assert_null(pt);
	/* Tampering. */
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr);
	char *t;
	flip_b64(root, "ciphertext");
	t = json_dumps(root, JSON_COMPACT);
	assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echo", t, strlen(t), &pt,
					     &pt_len),
			 ATL_E_AUTH);
	free(t);
	flip_b64(root, "ciphertext");
	flip_b64(root, "nonce");
	t = json_dumps(root, JSON_COMPACT);
	assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echo", t, strlen(t), &pt,
					     &pt_len),
			 ATL_E_AUTH);
	free(t);
	json_object_set_new(root, "job_id", json_string("job-1"));
	t = json_dumps(root, JSON_COMPACT);
	assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echo", t, strlen(t), &pt,
					     &pt_len),
			 ATL_E_FORMAT);
	free(t);
	json_decref(root);
	assert_null(pt);
	/* Argument errors and limits. */
	assert_int_equal(atl_env_result_seal(f->dek, "", "wl", out, 1, &t, &len), ATL_E_ARG);
	assert_int_equal(atl_env_result_seal(f->dek, "j", "wl", out, ATL_ENV_PAYLOAD_MAX + 1, &t,
					     &len),
			 ATL_E_LIMIT);
	assert_int_equal(atl_env_result_open(f->dek, "job-1", "wl-echo", json,
					     ATL_ENV_SIZE_MAX + 1, &pt, &pt_len),
			 ATL_E_LIMIT);
	free(json);
	/* Empty result. */
	assert_int_equal(atl_env_result_seal(f->dek, "j", "w", NULL, 0, &json, &len), ATL_OK);
	assert_int_equal(atl_env_result_open(f->dek, "j", "w", json, len, &pt, &pt_len), ATL_OK);
	assert_non_null(pt);
	assert_int_equal(pt_len, 0);
	atl_secret_free(pt);
	free(json);
}

/* ---- the envelope's base64 code: scalar and AVX2 paths agree with each
 * other and with the core's strict reference decoder (atl_b64_*). ---- */

/* Decodes text with every vector level this CPU has (scalar, AVX2, AVX-512
 * VBMI) and checks they agree with each other and with atl_b64_decode;
 * returns the rc. */
static enum atl_err b64_check_decode(const char *text, size_t len)
{
	uint8_t *a = malloc(len / 4 * 3 + 1), *b = malloc(len / 4 * 3 + 1), *ref = NULL;
	size_t alen = 0, blen = 0, rlen = 0;
	enum atl_err ra, rb, rr;
	int cpu = atl_envtext_b64_simd_for_testing(0);

	assert_non_null(a);
	assert_non_null(b);
	ra = atl_envtext_b64_decode_part(text, len, true, a, &alen);
	for (int lvl = 1; lvl <= cpu; lvl++) {
		(void)atl_envtext_b64_simd_for_testing(lvl);
		rb = atl_envtext_b64_decode_part(text, len, true, b, &blen);
		assert_int_equal(ra, rb);
		if (ra == ATL_OK) {
			assert_int_equal(alen, blen);
			assert_memory_equal(a, b, alen);
		}
	}
	(void)atl_envtext_b64_simd_for_testing(2);
	rr = atl_b64_decode(text, len, ATL_B64_STD, &ref, &rlen);
	assert_int_equal(ra, rr);
	if (ra == ATL_OK) {
		assert_int_equal(alen, rlen);
		assert_memory_equal(a, ref, alen);
	}
	free(a);
	free(b);
	free(ref);
	return ra;
}

static void test_b64_paths_agree(void **state)
{
	uint8_t data[4099 + 2]; /* the longest length at offsets 0..2 */
	char *x, *y;
	int cpu;
	size_t lens[] = {0,  1,  2,  3,  4,  5,   23,  24,  25,  26,  27,   28,   29,   30,  47,
			 48, 49, 50, 51, 52, 53,  63,  64,  65,  75,  76,   77,   95,   96,  97,
			 111, 112, 113, 143, 144, 1000, 4096, 4097, 4098, 4099};

	(void)state;
	cpu = atl_envtext_b64_simd_for_testing(2);
	if (cpu < 2)
		print_message("note: vector levels on this CPU: %d of 2 (1 AVX2, 2 AVX-512 VBMI)\n",
			      cpu);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 167 + 13 + (i >> 8));
	x = malloc(atl_envtext_b64_len(sizeof(data)) + 1);
	y = malloc(atl_envtext_b64_len(sizeof(data)) + 1);
	assert_non_null(x);
	assert_non_null(y);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = lens[k], nx, ny, dn = 99;
		char *ref = NULL;

		for (size_t off = 0; off < 3; off++) { /* unaligned inputs too */
			(void)atl_envtext_b64_simd_for_testing(0);
			nx = atl_envtext_b64_encode(x, data + off, n);
			assert_int_equal(nx, atl_envtext_b64_len(n));
			for (int lvl = 1; lvl <= cpu; lvl++) {
				(void)atl_envtext_b64_simd_for_testing(lvl);
				ny = atl_envtext_b64_encode(y, data + off, n);
				assert_int_equal(nx, ny);
				assert_memory_equal(x, y, nx);
			}
			(void)atl_envtext_b64_simd_for_testing(2);
			assert_int_equal(atl_b64_encode(data + off, n, ATL_B64_STD, &ref), ATL_OK);
			assert_int_equal(strlen(ref), nx);
			assert_memory_equal(ref, x, nx);
			free(ref);
			assert_int_equal(atl_envtext_b64_decoded_len(x, nx, &dn), ATL_OK);
			assert_int_equal(dn, n);
			assert_int_equal(b64_check_decode(x, nx), ATL_OK);
		}
	}
	free(x);
	free(y);
}

/* Every byte value at every position of a text long enough for several
 * AVX2 blocks (and a padded tail): accepted exactly when the reference
 * accepts it, with the same bytes. */
static void test_b64_every_byte_everywhere(void **state)
{
	uint8_t data[104];
	char text[140 + 1];
	size_t len, n_ok = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 29 + 1);
	/* 140 chars ending in "=": one AVX-512 block, one AVX2 block, scalar */
	len = atl_envtext_b64_encode(text, data, sizeof(data));
	assert_int_equal(len, 140);
	assert_int_equal(text[139], '=');
	for (size_t pos = 0; pos < len; pos++) {
		char orig = text[pos];

		for (unsigned c = 0; c < 256; c++) {
			text[pos] = (char)c;
			if (b64_check_decode(text, len) == ATL_OK)
				n_ok++;
		}
		text[pos] = orig;
	}
	/* 64 alphabet characters at each of the first 138 positions; the one
	 * before '=' must keep its two zero bits (16 of 64; '=' there would
	 * need four); the final '=' may stay or become any of the 64 (then
	 * the text is 24 full groups). */
	assert_int_equal(n_ok, 138 * 64 + 16 + 1 + 64);
}

static void test_b64_strict_forms(void **state)
{
	static const char *const bad[] = {
		"====", "A===", "AA=A", "AAA", "AB==", "AAB=", "AA==AAAA", "AAAA ", " AAAA",
		"AA\nA", "AA-_", "AAAA====", "AA=", "=AAA", "AAAA\0AAA",
	};
	uint8_t out[16];
	size_t n = 0;
	char big[64 + 4 + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 8 : strlen(bad[i]);
		assert_int_equal(b64_check_decode(bad[i], len), ATL_E_FORMAT);
	}
	/* Padding only in the last part. */
	assert_int_equal(atl_envtext_b64_decode_part("AA==", 4, false, out, &n), ATL_E_FORMAT);
	assert_int_equal(atl_envtext_b64_decode_part("AA==", 4, true, out, &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(atl_envtext_b64_decoded_len("AAA", 3, &n), ATL_E_FORMAT);
	/* A whitespace or '=' inside what would be an AVX2 block. */
	memset(big, 'A', 68);
	big[68] = '\0';
	for (size_t pos = 0; pos < 68; pos += 7) {
		big[pos] = pos % 2 == 0 ? '=' : ' ';
		assert_int_equal(b64_check_decode(big, 68), ATL_E_FORMAT);
		big[pos] = 'A';
	}
	assert_int_equal(b64_check_decode(big, 68), ATL_OK);
}

/* ---- AES-256-GCM straight into and out of base64 (envelope_stream.c):
 * the same bytes as atl_aead_seal + base64, at lengths around the chunk
 * size (48 KiB of plaintext, 64 KiB of text). ---- */

static void test_stream_matches_aead(void **state)
{
	static const size_t lens[] = {0,         1,         15,        16,        17,
				      49152 - 17, 49152 - 16, 49152 - 15, 49152,     49153,
				      98304 - 16, 98304,      98304 + 1, 200000,    262144};
	uint8_t key[32], nonce[12], aad[40];
	const size_t max = 262144;
	uint8_t *pt = malloc(max), *ct = malloc(max + 16), *back = malloc(max + 16);
	char *text = malloc(atl_envtext_b64_len(max + 16) + 1), *ref = NULL;

	(void)state;
	assert_non_null(pt);
	assert_non_null(ct);
	assert_non_null(back);
	assert_non_null(text);
	memset(key, 0x3c, sizeof(key));
	memset(nonce, 0x5a, sizeof(nonce));
	memset(aad, 0x11, sizeof(aad));
	for (size_t i = 0; i < max; i++)
		pt[i] = (uint8_t)(i * 7 + (i >> 9));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = lens[k], ct_len = 0, tl = atl_envtext_b64_len(n + 16), got = 99;

		assert_int_equal(atl_aead_seal(ATL_AEAD_AES256_GCM, key, 32, nonce, 12, aad,
					       sizeof(aad), pt, n, ct, n + 16, &ct_len),
				 ATL_OK);
		assert_int_equal(atl_b64_encode(ct, ct_len, ATL_B64_STD, &ref), ATL_OK);
		memset(text, '#', tl + 1);
		assert_int_equal(atl_envstream_seal_b64(key, nonce, aad, sizeof(aad), pt, n, text),
				 ATL_OK);
		assert_int_equal(text[tl], '#'); /* exactly tl characters written */
		assert_int_equal(strlen(ref), tl);
		assert_memory_equal(text, ref, tl);
		free(ref);
		ref = NULL;
		assert_int_equal(atl_envstream_check_b64(text, tl), ATL_OK);
		assert_int_equal(atl_envstream_open_b64(key, nonce, aad, sizeof(aad), text, tl, back,
							n + 16, &got),
				 ATL_OK);
		assert_int_equal(got, n);
		assert_memory_equal(back, pt, n);
		/* Wrong AAD, or a changed character near the end (tag) or in the
		 * first chunk: ATL_E_AUTH and the output wiped. */
		aad[0] ^= 1;
		memset(back, 0x77, n + 16);
		assert_int_equal(atl_envstream_open_b64(key, nonce, aad, sizeof(aad), text, tl, back,
							n + 16, &got),
				 ATL_E_AUTH);
		aad[0] ^= 1;
		assert_int_equal(got, 0);
		for (size_t i = 0; i < n + 16; i++)
			assert_int_equal(back[i], 0);
		for (size_t at = 0; at < tl; at += tl / 3 + 1) {
			char orig = text[at];
			text[at] = orig == 'A' ? 'B' : 'A';
			if (at == tl - 1 || (at == tl - 2 && text[tl - 1] == '='))
				text[at] = orig; /* padding: covered by the forms tests */
			if (text[at] != orig) {
				enum atl_err rc = atl_envstream_open_b64(key, nonce, aad, sizeof(aad), text,
									 tl, back, n + 16, &got);
				/* A changed padding-bit character is FORMAT, else AUTH. */
				assert_true(rc == ATL_E_AUTH || rc == ATL_E_FORMAT);
				assert_int_equal(got, 0);
			}
			text[at] = orig;
		}
		/* A bad character anywhere (also after chunks already decrypted):
		 * ATL_E_FORMAT, output wiped. */
		if (tl > 8) {
			char orig = text[tl - 8];
			text[tl - 8] = '*';
			memset(back, 0x77, n + 16);
			assert_int_equal(atl_envstream_check_b64(text, tl), ATL_E_FORMAT);
			assert_int_equal(atl_envstream_open_b64(key, nonce, aad, sizeof(aad), text, tl,
								back, n + 16, &got),
					 ATL_E_FORMAT);
			for (size_t i = 0; i < n + 16; i++)
				assert_int_equal(back[i], 0);
			text[tl - 8] = orig;
		}
	}
	/* Too short for a tag, bad length, small output: refused. */
	{
		size_t got = 99;
		assert_int_equal(atl_envstream_open_b64(key, nonce, NULL, 0, "AAAA", 4, back, 16,
							&got),
				 ATL_E_FORMAT);
		assert_int_equal(atl_envstream_open_b64(key, nonce, NULL, 0, "AAAAA", 5, back, 16,
							&got),
				 ATL_E_FORMAT);
		assert_int_equal(atl_envstream_open_b64(key, nonce, NULL, 0,
							"AAAAAAAAAAAAAAAAAAAAAA==", 24, back, 15,
							&got),
				 ATL_E_ARG);
		assert_int_equal(got, 0);
	}
	free(pt);
	free(ct);
	free(back);
	free(text);
}

/* Envelopes and results around the chunk sizes open to the same payload;
 * a malformed ciphertext text is ATL_E_FORMAT whichever key opens it. */
static void test_stream_sizes_and_precedence(void **state)
{
	struct fixture *f = *state;
	static const size_t lens[] = {0, 1, 49136, 49137, 49152, 65536, 98288, 98289, 300001};
	struct atl_env_recipient r = {{0}, "ek_"};
	uint8_t *big = malloc(300001), *dek = NULL;

	assert_non_null(big);
	for (size_t i = 0; i < 300001; i++)
		big[i] = (uint8_t)(i * 13 + 5);
	memcpy(r.pub, f->e1.pub, sizeof(r.pub));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		char *json = NULL, *res = NULL, *p;
		size_t len = 0, res_len = 0, pt_len = 0;
		uint8_t *pt = NULL;

		assert_int_equal(atl_env_seal(&r, 1, "wl", "ck_1", T0, big, lens[k], &json, &len,
					      &dek),
				 ATL_OK);
		assert_int_equal(atl_env_open(json, len, &f->e1, T0, NULL, &pt, &pt_len, NULL, NULL),
				 ATL_OK);
		assert_int_equal(pt_len, lens[k]);
		assert_memory_equal(pt, big, lens[k]);
		atl_secret_free(pt);
		pt = NULL;
		assert_int_equal(atl_env_result_seal(dek, "job", "wl", big, lens[k], &res, &res_len),
				 ATL_OK);
		assert_int_equal(atl_env_result_open(dek, "job", "wl", res, res_len, &pt, &pt_len),
				 ATL_OK);
		assert_int_equal(pt_len, lens[k]);
		assert_memory_equal(pt, big, lens[k]);
		atl_secret_free(pt);
		pt = NULL;
		/* A '*' early in the ciphertext text: FORMAT for the recipient,
		 * for a stranger and for inspect alike; the result too. */
		p = strstr(json, "\"ciphertext\":\"");
		assert_non_null(p);
		p[14] = '*';
		assert_int_equal(try_open(json, len, &f->e1, T0, NULL), ATL_E_FORMAT);
		assert_int_equal(try_open(json, len, &f->stranger, T0, NULL), ATL_E_FORMAT);
		{
			struct atl_env_info info;
			assert_int_equal(atl_env_inspect(json, len, &info), ATL_E_FORMAT);
		}
		p = strstr(res, "\"ciphertext\":\"");
		assert_non_null(p);
		p[14] = '*';
		assert_int_equal(atl_env_result_open(dek, "job", "wl", res, res_len, &pt, &pt_len),
				 ATL_E_FORMAT);
		assert_null(pt);
		atl_secret_free(dek);
		dek = NULL;
		free(json);
		free(res);
	}
	free(big);
}

/* The ciphertext member's cut is the same with the one-pass AVX2 scan for
 * its closing quote and with memchr: a backslash (escape) or the closing
 * quote at every offset of a long plain string. */
static void test_cut_member_scan(void **state)
{
	char doc[300];
	int cpu = atl_envtext_b64_simd_for_testing(2);

	(void)state;
	for (int what = 0; what < 2; what++) {
		for (size_t at = 0; at < 200; at++) {
			size_t n, res[2][4];
			char *cut[2];

			/* {"a":1,"ciphertext":"AAAA…"}: at `at` in the content either
			 * the string ends, or an escaped quote \" sits there. */
			n = (size_t)snprintf(doc, sizeof(doc), "{\"a\":1,\"ciphertext\":\"");
			memset(doc + n, 'A', 220);
			if (what == 0) {
				memcpy(doc + n + at, "\"}", 3);
			} else {
				memcpy(doc + n + at, "\\\"", 2);
				memcpy(doc + n + 220, "\"}", 3);
			}
			n = strlen(doc);
			for (int lvl = 0; lvl < 2; lvl++) {
				(void)atl_envtext_b64_simd_for_testing(lvl == 0 ? 0 : cpu);
				assert_int_equal(atl_envtext_cut_member(doc, n, "ciphertext", &cut[lvl],
									&res[lvl][0], &res[lvl][1],
									&res[lvl][2]),
						 ATL_OK);
			}
			(void)atl_envtext_b64_simd_for_testing(2);
			assert_true((cut[0] == NULL) == (cut[1] == NULL));
			assert_true((cut[0] == NULL) == (what == 1)); /* escaped: no cut */
			if (cut[0] != NULL) {
				assert_memory_equal(res[0], res[1], 3 * sizeof(size_t));
				assert_int_equal(res[0][2] - res[0][1], at);
				/* the cut text is len-bounded, not NUL-terminated */
				assert_int_equal(res[0][0], strlen("{\"a\":1,\"ciphertext\":\"\"}"));
				assert_memory_equal(cut[0], "{\"a\":1,\"ciphertext\":\"\"}", res[0][0]);
				assert_memory_equal(cut[1], cut[0], res[0][0]);
			}
			free(cut[0]);
			free(cut[1]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_payload_and_single_recipient, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_every_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ciphertext_text_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_trailing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_largest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test(test_replay_cache_bounded),
		cmocka_unit_test_setup_teardown(test_result, setup, teardown),
		cmocka_unit_test(test_b64_paths_agree),
		cmocka_unit_test(test_b64_every_byte_everywhere),
		cmocka_unit_test(test_b64_strict_forms),
		cmocka_unit_test(test_stream_matches_aead),
		cmocka_unit_test(test_cut_member_scan),
		cmocka_unit_test_setup_teardown(test_stream_sizes_and_precedence, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
