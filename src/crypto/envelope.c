/* Sealed envelope v1, sealed results and the replay checker; see
 * include/atoll/envelope.h and docs/internals/crypto.md.
 *
 * Opening is parse (jansson through atl_json_parse, size and depth bounded),
 * validate (every field's type, length and alphabet against named limits),
 * then use (find our recipient entry, HPKE-unwrap the DEK, AES-256-GCM-open
 * the payload with the canonical header as AAD). Plaintext reaches the caller
 * only after both tags verified and the replay checker accepted it.
 *
 * The JSON text is written here by hand in one fixed key order (all strings
 * are base64 or validated ids that need no escaping) so that a multi-MiB
 * ciphertext is encoded straight into the output buffer once. */
#define ATL_LOG_MODULE "envelope"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "atoll/aead.h"
#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/envelope.h"
#include "atoll/hpke.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "crypto/envelope_stream.h"
#include "crypto/envelope_text.h"
#include "crypto/ossl.h"

#define WRAPPED_LEN (ATL_ENV_DEK_LEN + ATL_HPKE_TAG_LEN)
#define KID_STR_LEN (ATL_KEY_ID_LEN - 1) /* "ek_" + 32 hex digits */
#define HDR_MAX 8192                     /* canonical header: < 4 KiB with 16 recipients */

static const char env_domain[] = "atoll envelope v1"; /* AAD prefix and HPKE info */
static const char result_domain[] = "atoll result v1"; /* AAD prefix and HKDF info */

static const struct {
	const char *name;
	uint16_t aead_id;
} suites[] = {
	{"x25519-sha256-aes128gcm", ATL_AEAD_AES128_GCM},
	{"x25519-sha256-aes256gcm", ATL_AEAD_AES256_GCM},
	{"x25519-sha256-chacha20poly1305", ATL_AEAD_CHACHA20_POLY1305},
#ifdef ATL_BENCH_PLAINTEXT
	{"null-bench-plaintext", 0xfffe},
#endif
};

#ifdef ATL_BENCH_PLAINTEXT
/* ---- benchmark-only "null" suite (CMake -DATL_BENCH_PLAINTEXT=ON) ---------
 * bench/platform_path measures the whole platform path with encryption off to
 * find the cryptographic share of its time (issue 4). In a build configured
 * with ATL_BENCH_PLAINTEXT, and only there, atl_env_seal writes suite
 * "null-bench-plaintext": the same JSON shape and code path, but no X25519
 * and no AEAD: every recipient's "enc" is its public key, "wrapped_key" is
 * the DEK in the clear followed by 16 zero bytes, and the ciphertext is the
 * base64 of the payload followed by a 16-byte all-zero "tag"; results are
 * written the same way (no HKDF, no AEAD). The parser of a normal build does
 * not know this suite name, so it refuses such envelopes (ATL_E_FORMAT). The
 * option is OFF by default, CMake warns when it is on, and every program of
 * that build says so on stderr when it starts. NEVER deploy such a build. */
#define NULL_AEAD_ID 0xfffe
#define NULL_SUITE "null-bench-plaintext"

static const uint8_t null_tag[ATL_AEAD_TAG_LEN];

__attribute__((constructor)) static void null_suite_warning(void)
{
	fputs("\n*** WARNING: atoll built with ATL_BENCH_PLAINTEXT: sealed envelopes and results"
	      " are NOT ENCRYPTED (benchmark-only null suite). Never use this build for real"
	      " data. ***\n\n",
	      stderr);
}

/* base64(pt || 16 zero bytes) into out (atl_envtext_b64_len(pt_len + 16)). */
static void null_seal_b64(const uint8_t *pt, size_t pt_len, char *out)
{
	size_t head = pt_len / 3 * 3, k = 0;
	uint8_t tail[2 + ATL_AEAD_TAG_LEN];

	if (head > 0)
		k = atl_envtext_b64_encode(out, pt, head);
	memset(tail, 0, sizeof(tail));
	if (pt_len > head)
		memcpy(tail, pt + head, pt_len - head);
	(void)atl_envtext_b64_encode(out + k, tail, pt_len - head + ATL_AEAD_TAG_LEN);
}

/* Decodes text (strict base64 of pt || 16 zero bytes) into *out_out (secret
 * memory); the payload length to *pt_len_out. ATL_E_FORMAT, ATL_E_AUTH (the
 * tag is not zero), ATL_E_NOMEM. */
static enum atl_err null_open_b64(const char *text, size_t text_len, uint8_t **out_out,
				  size_t *pt_len_out)
{
	size_t cap = text_len / 4 * 3, got = 0;
	uint8_t *out = atl_secret_alloc(cap > 0 ? cap : 1);

	*out_out = NULL;
	*pt_len_out = 0;
	if (out == NULL)
		return ATL_E_NOMEM;
	if (atl_envtext_b64_decode_part(text, text_len, true, out, &got) != ATL_OK) {
		atl_secret_free(out);
		return ATL_E_FORMAT;
	}
	if (got < ATL_AEAD_TAG_LEN ||
	    memcmp(out + got - ATL_AEAD_TAG_LEN, null_tag, ATL_AEAD_TAG_LEN) != 0) {
		atl_secret_free(out);
		return ATL_E_AUTH;
	}
	*out_out = out;
	*pt_len_out = got - ATL_AEAD_TAG_LEN;
	return ATL_OK;
}
#endif

/* ---- shared validation --------------------------------------------------- */

/* Ids are 1..ATL_ENV_ID_MAX bytes of printable ASCII other than '"' and '\\',
 * so they need no JSON escaping and cannot forge log lines. */
static enum atl_err check_id(const char *s, size_t len)
{
	if (len == 0)
		return ATL_E_FORMAT;
	if (len > ATL_ENV_ID_MAX)
		return ATL_E_LIMIT;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return ATL_E_FORMAT;
	}
	return ATL_OK;
}

/* An id passed by the caller: bad form is an argument error. */
static enum atl_err check_id_arg(const char *s)
{
	enum atl_err rc;

	if (s == NULL)
		return ATL_E_ARG;
	rc = check_id(s, strnlen(s, ATL_ENV_ID_MAX + 1));
	return rc == ATL_E_FORMAT ? ATL_E_ARG : rc;
}

/* "ek_" or "ck_" followed by 32 lowercase hex digits (keys.h atl_key_id). */
static bool kid_valid(const char *s, size_t len)
{
	if (len != KID_STR_LEN || (strncmp(s, "ek_", 3) != 0 && strncmp(s, "ck_", 3) != 0))
		return false;
	for (size_t i = 3; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static const char *suite_name(uint16_t aead_id)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].aead_id == aead_id)
			return suites[i].name;
	return NULL;
}

/* ---- canonical binary header (the payload's AAD) ------------------------- */

static enum atl_err wr_str16(struct atl_wr *w, const char *s)
{
	size_t n = strlen(s);
	enum atl_err rc;

	if (n > 0xffff)
		return ATL_E_INTERNAL;
	rc = atl_wr_u16be(w, (uint16_t)n);
	return rc != ATL_OK ? rc : atl_wr_bytes(w, s, n);
}

static enum atl_err wr_bin16(struct atl_wr *w, const uint8_t *p, size_t n)
{
	enum atl_err rc = atl_wr_u16be(w, (uint16_t)n);

	return rc != ATL_OK ? rc : atl_wr_bytes(w, p, n);
}

/* domain || u8 v || str16 suite || str16 workload_id || str16 key_id ||
 * u64be created_at: the part shared by the payload AAD and each wrap AAD. */
static enum atl_err wr_prefix(struct atl_wr *w, const char *suite, const char *workload_id,
			      const char *key_id, int64_t created_at)
{
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_wr_bytes(w, env_domain, sizeof(env_domain) - 1));
	ATL_TRY(atl_wr_u8(w, ATL_ENV_VERSION));
	ATL_TRY(wr_str16(w, suite));
	ATL_TRY(wr_str16(w, workload_id));
	ATL_TRY(wr_str16(w, key_id));
	ATL_TRY(atl_wr_u64be(w, (uint64_t)created_at));
	rc = ATL_OK;
out:
	return rc;
}

/* Wrap AAD of one recipient: prefix || str16 kid. Binds the wrapped DEK to
 * this header and this recipient entry. */
static enum atl_err wrap_aad(const char *suite, const char *workload_id, const char *key_id,
			     int64_t created_at, const char *kid, uint8_t **out, size_t *out_len)
{
	struct atl_wr w;
	enum atl_err rc = ATL_E_INTERNAL;

	atl_wr_init(&w, HDR_MAX, false);
	ATL_TRY(wr_prefix(&w, suite, workload_id, key_id, created_at));
	ATL_TRY(wr_str16(&w, kid));
	ATL_TRY(atl_wr_take(&w, out, out_len));
	rc = ATL_OK;
out:
	atl_wr_free(&w);
	return rc;
}

/* A parsed, validated (not yet authenticated) envelope. */
struct parsed {
	json_t *root;
	struct atl_env_info info;
	uint16_t aead_id;
	uint8_t enc[ATL_ENV_RECIPIENTS_MAX][ATL_HPKE_ENC_LEN];
	uint8_t wrapped[ATL_ENV_RECIPIENTS_MAX][WRAPPED_LEN];
	uint8_t nonce[ATL_ENV_NONCE_LEN];
	/* The ciphertext's base64 text: a view into the caller's JSON text, or
	 * ct_text_own when jansson had to unescape it. Decoded (and decrypted)
	 * only when opening, chunk by chunk (envelope_stream.h). */
	const char *ct_text;
	size_t ct_text_len;
	char *ct_text_own;
	size_t ct_len; /* decoded: ciphertext || tag */
	uint8_t tag[ATL_AEAD_TAG_LEN];
	uint8_t *aad; /* malloc'd canonical header */
	size_t aad_len;
};

/* Canonical header: prefix || u16be n || (str16 kid, bin16 enc, bin16
 * wrapped_key) per recipient, in order || bin16 nonce. */
static enum atl_err header_aad(const struct parsed *p, uint8_t **out, size_t *out_len)
{
	struct atl_wr w;
	enum atl_err rc = ATL_E_INTERNAL;

	atl_wr_init(&w, HDR_MAX, false);
	ATL_TRY(wr_prefix(&w, p->info.suite, p->info.workload_id, p->info.key_id,
			  p->info.created_at));
	ATL_TRY(atl_wr_u16be(&w, (uint16_t)p->info.n_recipients));
	for (size_t i = 0; i < p->info.n_recipients; i++) {
		ATL_TRY(wr_str16(&w, p->info.kids[i]));
		ATL_TRY(wr_bin16(&w, p->enc[i], ATL_HPKE_ENC_LEN));
		ATL_TRY(wr_bin16(&w, p->wrapped[i], WRAPPED_LEN));
	}
	ATL_TRY(wr_bin16(&w, p->nonce, ATL_ENV_NONCE_LEN));
	ATL_TRY(atl_wr_take(&w, out, out_len));
	rc = ATL_OK;
out:
	atl_wr_free(&w);
	return rc;
}

/* The replay identity: SHA-256(canonical header || u64be ciphertext length ||
 * tag). The header already holds the nonce and every recipient's enc and
 * wrapped key. Hashing the tag instead of the whole ciphertext is enough
 * because the digest is only checked for envelopes that authenticated: the
 * GCM tag is a MAC over (AAD, ciphertext) under the DEK, so someone without
 * the DEK cannot find a second ciphertext that opens with the same header,
 * nonce and tag (that would be a forgery); a holder of the DEK can forge
 * whole envelopes anyway and gains nothing. Different ciphertexts with the
 * same header and tag therefore never both open; re-spaced JSON keeps the
 * identity. It costs a few hundred bytes of hashing instead of a pass over
 * the whole payload (docs/internals/crypto.md). */
static enum atl_err envelope_digest(const struct parsed *p, uint8_t out[32])
{
	struct atl_hash_ctx *h = NULL;
	uint8_t len_be[8];
	enum atl_err rc = ATL_E_INTERNAL;

	if (p->ct_len < ATL_AEAD_TAG_LEN)
		return ATL_E_INTERNAL;
	for (int i = 0; i < 8; i++)
		len_be[i] = (uint8_t)((uint64_t)p->ct_len >> (56 - 8 * i));
	ATL_TRY(atl_hash_new(ATL_HASH_SHA256, &h));
	ATL_TRY(atl_hash_update(h, p->aad, p->aad_len));
	ATL_TRY(atl_hash_update(h, len_be, sizeof(len_be)));
	ATL_TRY(atl_hash_update(h, p->tag, ATL_AEAD_TAG_LEN));
	ATL_TRY(atl_hash_final(h, out));
	rc = ATL_OK;
out:
	atl_hash_free(h);
	return rc;
}

static void parsed_free(struct parsed *p)
{
	json_decref(p->root);
	free(p->ct_text_own);
	free(p->aad);
	memset(p, 0, sizeof(*p));
}

/* The JSON getters say NOTFOUND for a missing member: in an envelope that is
 * a format error like any other. */
static enum atl_err fmt(enum atl_err rc)
{
	return rc == ATL_E_NOTFOUND || rc == ATL_E_TRUNCATED ? ATL_E_FORMAT : rc;
}

/* Exactly n bytes of base64 at obj[key]. */
static enum atl_err get_b64_exact(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc = fmt(atl_json_get_b64(obj, key, n, &buf, &len));

	if (rc == ATL_OK && len != n)
		rc = ATL_E_FORMAT;
	if (rc == ATL_OK)
		memcpy(out, buf, n);
	free(buf);
	return rc;
}

static enum atl_err get_id(const json_t *obj, const char *key, char *out)
{
	const char *s;
	size_t len;
	enum atl_err rc = fmt(atl_json_get_str(obj, key, &s));

	if (rc != ATL_OK)
		return rc;
	len = json_string_length(json_object_get(obj, key));
	rc = check_id(s, len);
	if (rc != ATL_OK)
		return rc;
	memcpy(out, s, len);
	out[len] = '\0';
	return ATL_OK;
}

/* The base64 text of member `key` of obj, which may have been cut out of
 * the text jansson saw: then its content is json[start, end) and the parsed
 * member must be the empty string left in its place. Else (escaped, rare) a
 * copy of jansson's unescaped string goes to *own_out. Checks the length and
 * padding form and the decoded size against max (ATL_E_LIMIT), and decodes
 * the last 16 bytes (the AEAD tag) into tag; the rest of the content is
 * checked later (atl_envstream_*). */
static enum atl_err get_big_b64(const json_t *obj, const char *key, const char *json, bool cut,
				size_t start, size_t end, size_t max, const char **text_out,
				size_t *text_len_out, char **own_out, size_t *n_out,
				uint8_t tag[ATL_AEAD_TAG_LEN])
{
	const char *s, *t;
	uint8_t tail[24];
	size_t len, n = 0, g0, got = 0;
	enum atl_err rc = fmt(atl_json_get_str(obj, key, &s));

	*text_out = NULL;
	*text_len_out = *n_out = 0;
	*own_out = NULL;
	if (rc != ATL_OK)
		return rc;
	len = json_string_length(json_object_get(obj, key));
	if (cut) {
		if (len != 0)
			return ATL_E_INTERNAL;
		t = json + start;
		len = end - start;
	} else {
		t = s;
	}
	ATL_TRY(atl_envtext_b64_decoded_len(t, len, &n));
	if (n > max)
		return ATL_E_LIMIT;
	if (n < ATL_AEAD_TAG_LEN)
		return ATL_E_FORMAT;
	/* The groups that hold the tag: from group (n - 16) / 3 to the end,
	 * at most 18 bytes from at most 24 characters. */
	g0 = (n - ATL_AEAD_TAG_LEN) / 3;
	ATL_TRY(atl_envtext_b64_decode_part(t + 4 * g0, len - 4 * g0, true, tail, &got));
	if (got != n - 3 * g0 || got < ATL_AEAD_TAG_LEN)
		return ATL_E_INTERNAL;
	memcpy(tag, tail + got - ATL_AEAD_TAG_LEN, ATL_AEAD_TAG_LEN);
	if (!cut) {
		*own_out = malloc(len + 1);
		if (*own_out == NULL)
			return ATL_E_NOMEM;
		memcpy(*own_out, s, len);
		t = *own_out;
	}
	*text_out = t;
	*text_len_out = len;
	*n_out = n;
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err parse_recipients(const json_t *arr, struct parsed *p)
{
	static const char *const rkeys[] = {"kid", "enc", "wrapped_key", NULL};
	size_t n;

	if (!json_is_array(arr))
		return ATL_E_FORMAT;
	n = json_array_size(arr);
	if (n == 0)
		return ATL_E_FORMAT;
	if (n > ATL_ENV_RECIPIENTS_MAX)
		return ATL_E_LIMIT;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(arr, i);
		const char *kid;
		enum atl_err rc;

		if (atl_json_check_keys(r, rkeys, NULL) != ATL_OK || json_object_size(r) != 3)
			return ATL_E_FORMAT;
		rc = fmt(atl_json_get_str(r, "kid", &kid));
		if (rc != ATL_OK)
			return rc;
		if (!kid_valid(kid, json_string_length(json_object_get(r, "kid"))))
			return ATL_E_FORMAT;
		/* A key appears at most once (same hex id under either prefix). */
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->info.kids[j] + 3, kid + 3) == 0)
				return ATL_E_FORMAT;
		memcpy(p->info.kids[i], kid, ATL_KEY_ID_LEN);
		rc = get_b64_exact(r, "enc", p->enc[i], ATL_HPKE_ENC_LEN);
		if (rc == ATL_OK)
			rc = get_b64_exact(r, "wrapped_key", p->wrapped[i], WRAPPED_LEN);
		if (rc != ATL_OK)
			return rc;
		p->info.n_recipients = i + 1;
	}
	return ATL_OK;
}

/* Parse and validate; nothing is authenticated yet. The ciphertext text is
 * checked for form and size and its tag decoded; with check_all (inspect)
 * all of its content is checked too, else the opener checks it while it
 * decodes (json must then stay valid until then). */
static enum atl_err parse(const char *json, size_t json_len, bool check_all, struct parsed *p)
{
	static const char *const keys[] = {"v",          "suite",      "workload_id",
					   "key_id",     "created_at", "recipients",
					   "nonce",      "ciphertext", NULL};
	const char *suite;
	char *cut = NULL;
	size_t cut_len = 0, ct_start = 0, ct_end = 0;
	int64_t v;
	enum atl_err rc = ATL_E_INTERNAL;
	bool known = false;

	memset(p, 0, sizeof(*p));
	if (json == NULL)
		return ATL_E_ARG;
	if (json_len > ATL_ENV_SIZE_MAX)
		return ATL_E_LIMIT;
	/* jansson parses the text with the ciphertext's content cut out; the
	 * content is decoded straight from the input (envelope_text.h). */
	ATL_TRY(atl_envtext_cut_member(json, json_len, "ciphertext", &cut, &cut_len, &ct_start,
				       &ct_end));
	ATL_TRY(fmt(atl_json_parse(cut != NULL ? cut : json, cut != NULL ? cut_len : json_len,
				   &p->root)));
	/* Exactly the eight members of DESIGN §3, no more, none missing. */
	if (atl_json_check_keys(p->root, keys, NULL) != ATL_OK || json_object_size(p->root) != 8) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(fmt(atl_json_get_int(p->root, "v", &v)));
	if (v != ATL_ENV_VERSION) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(fmt(atl_json_get_str(p->root, "suite", &suite)));
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (strcmp(suite, suites[i].name) == 0) {
			p->aead_id = suites[i].aead_id;
			memcpy(p->info.suite, suites[i].name, strlen(suites[i].name) + 1);
			known = true;
		}
	}
	if (!known || strlen(suite) != json_string_length(json_object_get(p->root, "suite"))) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(get_id(p->root, "workload_id", p->info.workload_id));
	ATL_TRY(get_id(p->root, "key_id", p->info.key_id));
	ATL_TRY(fmt(atl_json_get_int(p->root, "created_at", &p->info.created_at)));
	if (p->info.created_at < 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(parse_recipients(json_object_get(p->root, "recipients"), p));
	ATL_TRY(get_b64_exact(p->root, "nonce", p->nonce, ATL_ENV_NONCE_LEN));
	ATL_TRY(get_big_b64(p->root, "ciphertext", json, cut != NULL, ct_start, ct_end,
			    ATL_ENV_PAYLOAD_MAX + ATL_AEAD_TAG_LEN, &p->ct_text, &p->ct_text_len,
			    &p->ct_text_own, &p->ct_len, p->tag));
	if (check_all)
		ATL_TRY(atl_envstream_check_b64(p->ct_text, p->ct_text_len));
	/* The text is no longer needed; free it before decrypting. */
	json_decref(p->root);
	p->root = NULL;
	ATL_TRY(header_aad(p, &p->aad, &p->aad_len));
	ATL_TRY(envelope_digest(p, p->info.digest));
	rc = ATL_OK;
out:
	free(cut);
	if (rc != ATL_OK)
		parsed_free(p);
	return rc;
}

/* ---- JSON text output ---------------------------------------------------- */

struct env_out {
	const char *suite, *workload_id, *key_id;
	int64_t created_at;
	size_t n;
	const char (*kids)[ATL_KEY_ID_LEN];
	const uint8_t (*enc)[ATL_HPKE_ENC_LEN];
	const uint8_t (*wrapped)[WRAPPED_LEN];
	const uint8_t *nonce;
	size_t ct_len; /* ciphertext || tag */
	size_t ct_at;  /* out: where its base64 goes (written by the caller) */
};

static void emit_envelope(struct atl_envtext_out *o, struct env_out *e)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, e->created_at);
	atl_envtext_puts(o, "{\"v\":1,\"suite\":\"");
	atl_envtext_puts(o, e->suite);
	atl_envtext_puts(o, "\",\"workload_id\":\"");
	atl_envtext_puts(o, e->workload_id);
	atl_envtext_puts(o, "\",\"key_id\":\"");
	atl_envtext_puts(o, e->key_id);
	atl_envtext_puts(o, "\",\"created_at\":");
	atl_envtext_puts(o, num);
	atl_envtext_puts(o, ",\"recipients\":[");
	for (size_t i = 0; i < e->n; i++) {
		atl_envtext_puts(o, i == 0 ? "{\"kid\":\"" : ",{\"kid\":\"");
		atl_envtext_puts(o, e->kids[i]);
		atl_envtext_puts(o, "\",\"enc\":\"");
		atl_envtext_put_b64(o, e->enc[i], ATL_HPKE_ENC_LEN);
		atl_envtext_puts(o, "\",\"wrapped_key\":\"");
		atl_envtext_put_b64(o, e->wrapped[i], WRAPPED_LEN);
		atl_envtext_puts(o, "\"}");
	}
	atl_envtext_puts(o, "],\"nonce\":\"");
	atl_envtext_put_b64(o, e->nonce, ATL_ENV_NONCE_LEN);
	atl_envtext_puts(o, "\",\"ciphertext\":\"");
	e->ct_at = atl_envtext_skip(o, atl_envtext_b64_len(e->ct_len));
	atl_envtext_puts(o, "\"}");
}

/* Returns where the ciphertext's base64 goes. */
static size_t emit_result(struct atl_envtext_out *o, const uint8_t *nonce, size_t ct_len)
{
	size_t at;

	atl_envtext_puts(o, "{\"v\":1,\"nonce\":\"");
	atl_envtext_put_b64(o, nonce, ATL_ENV_NONCE_LEN);
	atl_envtext_puts(o, "\",\"ciphertext\":\"");
	at = atl_envtext_skip(o, atl_envtext_b64_len(ct_len));
	atl_envtext_puts(o, "\"}");
	return at;
}

/* ---- seal ---------------------------------------------------------------- */

enum atl_err atl_env_seal(const struct atl_env_recipient *recipients, size_t n,
			  const char *workload_id, const char *key_id, int64_t created_at,
			  const uint8_t *pt, size_t pt_len, char **json_out, size_t *json_len_out,
			  uint8_t **dek_out)
{
	const struct atl_hpke_suite suite = ATL_HPKE_SUITE_DEFAULT;
	const char *sname = suite_name(suite.aead_id);
	char kids[ATL_ENV_RECIPIENTS_MAX][ATL_KEY_ID_LEN];
	uint8_t enc[ATL_ENV_RECIPIENTS_MAX][ATL_HPKE_ENC_LEN];
	uint8_t wrapped[ATL_ENV_RECIPIENTS_MAX][WRAPPED_LEN];
	struct parsed hdr;
	uint8_t *dek = NULL, *waad = NULL;
	size_t waad_len = 0, len = 0;
	struct atl_envtext_out o = {0};
	enum atl_err rc = ATL_E_INTERNAL;

	memset(&hdr, 0, sizeof(hdr));
	if (json_out != NULL)
		*json_out = NULL;
	if (json_len_out != NULL)
		*json_len_out = 0;
	if (dek_out != NULL)
		*dek_out = NULL;
	if (json_out == NULL || json_len_out == NULL || recipients == NULL || n == 0 ||
	    (pt == NULL && pt_len != 0) || created_at < 0 || sname == NULL)
		return ATL_E_ARG;
	if (n > ATL_ENV_RECIPIENTS_MAX || pt_len > ATL_ENV_PAYLOAD_MAX)
		return ATL_E_LIMIT;
#ifdef ATL_BENCH_PLAINTEXT
	sname = NULL_SUITE;
#endif
	ATL_TRY(check_id_arg(workload_id));
	ATL_TRY(check_id_arg(key_id));
	for (size_t i = 0; i < n; i++) {
		const char *pfx = recipients[i].kid_prefix != NULL ? recipients[i].kid_prefix : "ek_";
		ATL_TRY(atl_key_id(pfx, recipients[i].pub, kids[i])); /* ATL_E_ARG for a bad prefix */
		for (size_t j = 0; j < i; j++) {
			if (strcmp(kids[i] + 3, kids[j] + 3) == 0) {
				rc = ATL_E_ARG; /* the same key twice */
				goto out;
			}
		}
	}

	/* A fresh DEK per envelope, in secret memory (DESIGN §3). */
	dek = atl_secret_alloc(ATL_ENV_DEK_LEN);
	if (dek == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_random(dek, ATL_ENV_DEK_LEN));
	ATL_TRY(atl_random(hdr.nonce, ATL_ENV_NONCE_LEN));

	/* Wrap the DEK to every recipient: HPKE mode_base, info = domain, aad =
	 * header prefix || kid. */
	for (size_t i = 0; i < n; i++) {
		size_t wlen = 0;

#ifdef ATL_BENCH_PLAINTEXT
		memcpy(enc[i], recipients[i].pub, ATL_HPKE_ENC_LEN);
		memcpy(wrapped[i], dek, ATL_ENV_DEK_LEN);
		memset(wrapped[i] + ATL_ENV_DEK_LEN, 0, WRAPPED_LEN - ATL_ENV_DEK_LEN);
		continue;
#endif
		ATL_TRY(wrap_aad(sname, workload_id, key_id, created_at, kids[i], &waad,
				 &waad_len));
		ATL_TRY(atl_hpke_seal_single(suite, recipients[i].pub, ATL_X25519_LEN,
					     (const uint8_t *)env_domain, sizeof(env_domain) - 1,
					     NULL, waad, waad_len, dek, ATL_ENV_DEK_LEN, enc[i],
					     wrapped[i], WRAPPED_LEN, &wlen));
		free(waad);
		waad = NULL;
		if (wlen != WRAPPED_LEN) {
			rc = ATL_E_INTERNAL;
			goto out;
		}
	}

	/* The canonical header, exactly as the opener will rebuild it. */
	memcpy(hdr.info.suite, sname, strlen(sname) + 1);
	memcpy(hdr.info.workload_id, workload_id, strlen(workload_id) + 1);
	memcpy(hdr.info.key_id, key_id, strlen(key_id) + 1);
	hdr.info.created_at = created_at;
	hdr.info.n_recipients = n;
	memcpy(hdr.info.kids, kids, sizeof(kids[0]) * n);
	memcpy(hdr.enc, enc, sizeof(enc[0]) * n);
	memcpy(hdr.wrapped, wrapped, sizeof(wrapped[0]) * n);
	ATL_TRY(header_aad(&hdr, &hdr.aad, &hdr.aad_len));

	struct env_out e = {.suite = sname,
			    .workload_id = workload_id,
			    .key_id = key_id,
			    .created_at = created_at,
			    .n = n,
			    .kids = (const char (*)[ATL_KEY_ID_LEN])kids,
			    .enc = (const uint8_t (*)[ATL_HPKE_ENC_LEN])enc,
			    .wrapped = (const uint8_t (*)[WRAPPED_LEN])wrapped,
			    .nonce = hdr.nonce,
			    .ct_len = pt_len + ATL_AEAD_TAG_LEN};
	emit_envelope(&o, &e); /* measure */
	len = o.pos;
	if (len > ATL_ENV_SIZE_MAX) {
		rc = ATL_E_INTERNAL; /* ATL_ENV_PAYLOAD_MAX guarantees it fits */
		goto out;
	}
	o = (struct atl_envtext_out){.buf = malloc(len + 1), .cap = len};
	if (o.buf == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	emit_envelope(&o, &e);
	if (o.overflow || o.pos != len) {
		rc = ATL_E_INTERNAL;
		goto out;
	}
	/* The payload is encrypted straight into its base64 in the text. */
#ifdef ATL_BENCH_PLAINTEXT
	null_seal_b64(pt, pt_len, o.buf + e.ct_at);
#else
	ATL_TRY(atl_envstream_seal_b64(dek, hdr.nonce, hdr.aad, hdr.aad_len, pt, pt_len,
				       o.buf + e.ct_at));
#endif
	o.buf[len] = '\0';
	*json_out = o.buf;
	o.buf = NULL;
	*json_len_out = len;
	if (dek_out != NULL) {
		*dek_out = dek;
		dek = NULL;
	}
	rc = ATL_OK;
out:
	atl_wipe(wrapped, sizeof(wrapped));
	atl_secret_free(dek);
	free(o.buf);
	free(waad);
	parsed_free(&hdr);
	return rc;
}

/* ---- open ---------------------------------------------------------------- */

/* The error for an envelope this key cannot open: ATL_E_FORMAT when its
 * ciphertext text is malformed (as when the key can open it: the result
 * does not depend on the key), else ATL_E_AUTH. */
static enum atl_err auth_or_format(const struct parsed *p)
{
	return atl_envstream_check_b64(p->ct_text, p->ct_text_len) == ATL_OK ? ATL_E_AUTH
									      : ATL_E_FORMAT;
}

enum atl_err atl_env_inspect(const char *json, size_t json_len, struct atl_env_info *info_out)
{
	struct parsed p;
	enum atl_err rc;

	if (info_out == NULL)
		return ATL_E_ARG;
	memset(info_out, 0, sizeof(*info_out));
	rc = parse(json, json_len, true, &p);
	if (rc != ATL_OK)
		return rc;
	*info_out = p.info;
	parsed_free(&p);
	return ATL_OK;
}

enum atl_err atl_env_open(const char *json, size_t json_len, const struct atl_kp *kp,
			  int64_t now, struct atl_env_replay *replay, uint8_t **pt_out,
			  size_t *pt_len_out, uint8_t **dek_out, struct atl_env_info *info_out)
{
	const struct atl_hpke_suite suite_base = ATL_HPKE_SUITE_DEFAULT;
	struct atl_hpke_suite suite = suite_base;
	struct parsed p;
	char ek[ATL_KEY_ID_LEN], ck[ATL_KEY_ID_LEN];
	uint8_t *dek = NULL, *pt = NULL, *waad = NULL;
	size_t waad_len = 0, dek_len = 0, pt_len = 0, idx = SIZE_MAX;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(&p, 0, sizeof(p));
	if (pt_out != NULL)
		*pt_out = NULL;
	if (pt_len_out != NULL)
		*pt_len_out = 0;
	if (dek_out != NULL)
		*dek_out = NULL;
	if (info_out != NULL)
		memset(info_out, 0, sizeof(*info_out));
	if (pt_out == NULL || pt_len_out == NULL || kp == NULL || kp->priv == NULL)
		return ATL_E_ARG;
	ATL_TRY(parse(json, json_len, false, &p));

	/* Our entry, under either prefix. Public data: plain compares. */
	ATL_TRY(atl_key_id("ek_", kp->pub, ek));
	ATL_TRY(atl_key_id("ck_", kp->pub, ck));
	for (size_t i = 0; i < p.info.n_recipients; i++)
		if (strcmp(p.info.kids[i], ek) == 0 || strcmp(p.info.kids[i], ck) == 0)
			idx = i;
	if (idx == SIZE_MAX) {
		atl_debug("no recipient entry for key %s", ek);
		rc = auth_or_format(&p);
		goto out;
	}
#ifdef ATL_BENCH_PLAINTEXT
	if (p.aead_id == NULL_AEAD_ID) {
		if (memcmp(p.wrapped[idx] + ATL_ENV_DEK_LEN, null_tag,
			   WRAPPED_LEN - ATL_ENV_DEK_LEN) != 0) {
			rc = ATL_E_AUTH;
			goto out;
		}
		dek = atl_secret_alloc(ATL_ENV_DEK_LEN);
		if (dek == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		memcpy(dek, p.wrapped[idx], ATL_ENV_DEK_LEN);
		ATL_TRY(null_open_b64(p.ct_text, p.ct_text_len, &pt, &pt_len));
		goto opened;
	}
#endif

	/* Unwrap the DEK. Any failure here is an authentication failure to the
	 * caller: a bad enc, a wrong key and a changed header look the same. */
	dek = atl_secret_alloc(ATL_ENV_DEK_LEN);
	if (dek == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	suite.aead_id = p.aead_id;
	ATL_TRY(wrap_aad(p.info.suite, p.info.workload_id, p.info.key_id, p.info.created_at,
			 p.info.kids[idx], &waad, &waad_len));
	rc = atl_hpke_open_single(suite, p.enc[idx], ATL_HPKE_ENC_LEN, kp,
				  (const uint8_t *)env_domain, sizeof(env_domain) - 1, NULL, waad,
				  waad_len, p.wrapped[idx], WRAPPED_LEN, dek, ATL_ENV_DEK_LEN,
				  &dek_len);
	if (rc != ATL_OK || dek_len != ATL_ENV_DEK_LEN) {
		rc = rc == ATL_E_NOMEM ? rc : auth_or_format(&p);
		goto out;
	}

	/* Decode the ciphertext into secret memory and decrypt it there, chunk
	 * by chunk; released only if the tag over the whole canonical header
	 * verifies, else atl_envstream_open_b64 wipes it. Bad base64 anywhere
	 * is ATL_E_FORMAT (it is found before the tag is checked). */
	pt = atl_secret_alloc(p.ct_len);
	if (pt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	rc = atl_envstream_open_b64(dek, p.nonce, p.aad, p.aad_len, p.ct_text, p.ct_text_len, pt,
				    p.ct_len, &pt_len);
	if (rc != ATL_OK) {
		rc = rc == ATL_E_NOMEM || rc == ATL_E_FORMAT ? rc : ATL_E_AUTH;
		goto out;
	}

#ifdef ATL_BENCH_PLAINTEXT
opened:
#endif
	/* Authentic: now freshness and replay (DESIGN §3). Recording only
	 * authentic envelopes keeps forgeries from filling the cache. */
	if (replay != NULL)
		ATL_TRY(atl_env_replay_check(replay, p.info.digest, p.info.created_at, now));

	p.info.opened_by = idx;
	if (info_out != NULL)
		*info_out = p.info;
	*pt_out = pt;
	pt = NULL;
	*pt_len_out = pt_len;
	if (dek_out != NULL) {
		*dek_out = dek;
		dek = NULL;
	}
	rc = ATL_OK;
out:
	atl_secret_free(pt);
	atl_secret_free(dek);
	free(waad);
	parsed_free(&p);
	return rc;
}

/* ---- results ------------------------------------------------------------- */

/* key = HKDF-SHA256(ikm = DEK, salt = job id, info = "atoll result v1"). */
static enum atl_err result_key(const uint8_t dek[ATL_ENV_DEK_LEN], const char *job_id,
			       uint8_t key_out[32])
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5];
	enum atl_err rc = ATL_E_INTERNAL;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL || (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		rc = atl_ossl_fail("EVP_KDF HKDF");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)dek,
						      ATL_ENV_DEK_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)job_id,
						      strlen(job_id));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)result_domain,
						      sizeof(result_domain) - 1);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, key_out, 32, params) != 1) {
		rc = atl_ossl_fail("EVP_KDF_derive(HKDF)");
		goto out;
	}
	rc = ATL_OK;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* AAD = "atoll result v1" || str16 job_id || str16 workload_id. */
static enum atl_err result_aad(const char *job_id, const char *workload_id, uint8_t **out,
			       size_t *out_len)
{
	struct atl_wr w;
	enum atl_err rc = ATL_E_INTERNAL;

	atl_wr_init(&w, HDR_MAX, false);
	ATL_TRY(atl_wr_bytes(&w, result_domain, sizeof(result_domain) - 1));
	ATL_TRY(wr_str16(&w, job_id));
	ATL_TRY(wr_str16(&w, workload_id));
	ATL_TRY(atl_wr_take(&w, out, out_len));
	rc = ATL_OK;
out:
	atl_wr_free(&w);
	return rc;
}

enum atl_err atl_env_result_seal(const uint8_t dek[ATL_ENV_DEK_LEN], const char *job_id,
				 const char *workload_id, const uint8_t *pt, size_t pt_len,
				 char **json_out, size_t *json_len_out)
{
	uint8_t key[32], nonce[ATL_ENV_NONCE_LEN];
	uint8_t *aad = NULL;
	size_t aad_len = 0, len, ct_at;
	struct atl_envtext_out o = {0};
	enum atl_err rc = ATL_E_INTERNAL;

	if (json_out != NULL)
		*json_out = NULL;
	if (json_len_out != NULL)
		*json_len_out = 0;
	if (dek == NULL || json_out == NULL || json_len_out == NULL || (pt == NULL && pt_len != 0))
		return ATL_E_ARG;
	if (pt_len > ATL_ENV_PAYLOAD_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(check_id_arg(job_id));
	ATL_TRY(check_id_arg(workload_id));
#ifdef ATL_BENCH_PLAINTEXT
	memset(key, 0, sizeof(key)); /* the null suite: no key */
#else
	ATL_TRY(result_key(dek, job_id, key));
#endif
	ATL_TRY(result_aad(job_id, workload_id, &aad, &aad_len));
	ATL_TRY(atl_random(nonce, sizeof(nonce)));
	(void)emit_result(&o, nonce, pt_len + ATL_AEAD_TAG_LEN); /* measure */
	len = o.pos;
	o = (struct atl_envtext_out){.buf = malloc(len + 1), .cap = len};
	if (o.buf == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ct_at = emit_result(&o, nonce, pt_len + ATL_AEAD_TAG_LEN);
	if (o.overflow || o.pos != len) {
		rc = ATL_E_INTERNAL;
		goto out;
	}
	/* Encrypted straight into its base64 in the text. */
#ifdef ATL_BENCH_PLAINTEXT
	null_seal_b64(pt, pt_len, o.buf + ct_at);
#else
	ATL_TRY(atl_envstream_seal_b64(key, nonce, aad, aad_len, pt, pt_len, o.buf + ct_at));
#endif
	o.buf[len] = '\0';
	*json_out = o.buf;
	o.buf = NULL;
	*json_len_out = len;
	rc = ATL_OK;
out:
	atl_wipe(key, sizeof(key));
	free(o.buf);
	free(aad);
	return rc;
}

enum atl_err atl_env_result_open(const uint8_t dek[ATL_ENV_DEK_LEN], const char *job_id,
				 const char *workload_id, const char *json, size_t json_len,
				 uint8_t **pt_out, size_t *pt_len_out)
{
	static const char *const keys[] = {"v", "nonce", "ciphertext", NULL};
	json_t *root = NULL;
	uint8_t key[32], nonce[ATL_ENV_NONCE_LEN], tag[ATL_AEAD_TAG_LEN];
	uint8_t *aad = NULL, *pt = NULL;
	char *cut = NULL, *ct_own = NULL;
	const char *ct_text = NULL;
	size_t aad_len = 0, ct_len = 0, ct_text_len = 0, pt_len = 0, cut_len = 0, ct_start = 0,
	       ct_end = 0;
	int64_t v;
	enum atl_err rc = ATL_E_INTERNAL;

	if (pt_out != NULL)
		*pt_out = NULL;
	if (pt_len_out != NULL)
		*pt_len_out = 0;
	if (dek == NULL || json == NULL || pt_out == NULL || pt_len_out == NULL)
		return ATL_E_ARG;
	ATL_TRY(check_id_arg(job_id));
	ATL_TRY(check_id_arg(workload_id));
	if (json_len > ATL_ENV_SIZE_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(atl_envtext_cut_member(json, json_len, "ciphertext", &cut, &cut_len, &ct_start,
				       &ct_end));
	ATL_TRY(fmt(atl_json_parse(cut != NULL ? cut : json, cut != NULL ? cut_len : json_len,
				   &root)));
	if (atl_json_check_keys(root, keys, NULL) != ATL_OK || json_object_size(root) != 3) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(fmt(atl_json_get_int(root, "v", &v)));
	if (v != 1) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(get_b64_exact(root, "nonce", nonce, sizeof(nonce)));
	ATL_TRY(get_big_b64(root, "ciphertext", json, cut != NULL, ct_start, ct_end,
			    ATL_ENV_PAYLOAD_MAX + ATL_AEAD_TAG_LEN, &ct_text, &ct_text_len, &ct_own,
			    &ct_len, tag));
	json_decref(root);
	root = NULL;
#ifdef ATL_BENCH_PLAINTEXT
	memset(key, 0, sizeof(key)); /* the null suite: no key */
	ATL_TRY(null_open_b64(ct_text, ct_text_len, &pt, &pt_len));
	goto opened;
#endif
	ATL_TRY(result_key(dek, job_id, key));
	ATL_TRY(result_aad(job_id, workload_id, &aad, &aad_len));
	/* Decoded into secret memory and decrypted there chunk by chunk; wiped
	 * unless the tag verifies. Bad base64 anywhere is ATL_E_FORMAT. */
	pt = atl_secret_alloc(ct_len);
	if (pt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	rc = atl_envstream_open_b64(key, nonce, aad, aad_len, ct_text, ct_text_len, pt, ct_len,
				    &pt_len);
	if (rc != ATL_OK) {
		rc = rc == ATL_E_NOMEM || rc == ATL_E_FORMAT ? rc : ATL_E_AUTH;
		goto out;
	}
#ifdef ATL_BENCH_PLAINTEXT
opened:
#endif
	*pt_out = pt;
	pt = NULL;
	*pt_len_out = pt_len;
	rc = ATL_OK;
out:
	atl_wipe(key, sizeof(key));
	atl_secret_free(pt);
	json_decref(root);
	free(cut);
	free(ct_own);
	free(aad);
	return rc;
}
