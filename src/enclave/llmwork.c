/* The llm workload (docs/internals/enclave-models.md): a GGUF language model
 * (llama, qwen2; src/infer/) generating text inside the enclave.
 *
 * Input (the job's plaintext, JSON):
 *   {"prompt":"…","max_tokens":N (1..ATL_ENCLAVE_LLM_GEN_MAX, default 32),
 *    "temperature":T (0..100, default 0: greedy),"seed":S (default 0)}
 * Output: {"text":"…","tokens":[ids],"n_prompt":P,"n_gen":G} (a generated
 * NUL byte becomes U+FFFD in text). The prompt is
 * tokenized like `atoll infer --prompt` (BOS as the model asks, control-token
 * texts stay plain text), so greedy output equals the CLI's.
 * Bad input (not JSON, unknown key, empty or too long prompt, max_tokens out
 * of range) gives {"error":{"code":"bad_input"|"too_large","message"}},
 * sealed like any result, and never echoes the input.
 *
 * The model is either a file (params {"model":PATH,"model_sha256":HEX}: read
 * whole into memory, its SHA-256 compared in constant time with the pinned
 * digest, then parsed from that buffer, so the file cannot change under the
 * parser) or an encrypted model decrypted into secret memory by MODEL_KEY
 * (modelkey.c calls atl_enclave_llm_run_mem with the model id).
 *
 * Parsing an LLM (tokenizer tables, repacked weights) costs far more than a
 * job on a tiny model, so up to ATL_ENCLAVE_LLM_CACHE_MAX parsed models are
 * kept, keyed by "f:<sha256>" or "e:<model id>" (the least recently used is
 * freed). An encrypted model's entry borrows the plaintext in secret memory:
 * modelkey.c calls atl_enclave_llm_forget before it wipes that plaintext.
 *
 * Everything runs on the calling thread: the context is created with one
 * thread, so the worker pool starts none (the sandbox forbids clone). The
 * engine's memory is mmap/brk/madvise only. The enclave serves one job at a
 * time, so the cache needs no lock. */
#define ATL_LOG_MODULE "enclave"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/enclave.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/gguf.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/model.h"
#include "atoll/sampler.h"
#include "atoll/secmem.h"
#include "atoll/tokenizer.h"

#define LLM_KEY_LEN 80

struct llm_entry {
	char key[LLM_KEY_LEN]; /* "" = free */
	const void *buf;       /* the GGUF bytes the parse borrows */
	uint8_t *owned;        /* buf when read from a file (free), else NULL */
	size_t owned_len;
	struct atl_gguf *g;
	struct atl_model *m;
	struct atl_tok *tok;
	uint64_t used;
};

static struct llm_entry cache[ATL_ENCLAVE_LLM_CACHE_MAX];
static uint64_t cache_clock;

static void entry_clear(struct llm_entry *e)
{
	atl_tok_free(e->tok);
	atl_model_free(e->m);
	atl_gguf_close(e->g);
	free(e->owned);
	memset(e, 0, sizeof(*e));
}

void atl_enclave_llm_forget(const void *buf)
{
	for (size_t i = 0; i < ATL_ENCLAVE_LLM_CACHE_MAX; i++) {
		if (cache[i].key[0] != '\0' && (buf == NULL || cache[i].buf == buf))
			entry_clear(&cache[i]);
	}
}

static struct llm_entry *cache_find(const char *key, const void *buf)
{
	for (size_t i = 0; i < ATL_ENCLAVE_LLM_CACHE_MAX; i++) {
		struct llm_entry *e = &cache[i];
		if (e->key[0] != '\0' && strcmp(e->key, key) == 0 && (buf == NULL || e->buf == buf)) {
			e->used = ++cache_clock;
			return e;
		}
	}
	return NULL;
}

/* Parses buf (borrowed; owned is freed with the entry, on failure too) and
 * caches it under key, evicting the least recently used entry. */
static enum atl_err cache_add(const char *key, const uint8_t *buf, size_t len, uint8_t *owned,
			      struct llm_entry **e_out)
{
	struct llm_entry *e = &cache[0];
	enum atl_err rc;

	for (size_t i = 0; i < ATL_ENCLAVE_LLM_CACHE_MAX; i++) {
		if (cache[i].key[0] == '\0') {
			e = &cache[i];
			break;
		}
		if (cache[i].used < e->used)
			e = &cache[i];
	}
	entry_clear(e);
	e->owned = owned;
	e->owned_len = owned != NULL ? len : 0;
	e->buf = buf;
	rc = atl_gguf_open_mem(buf, len, &e->g);
	if (rc != ATL_OK) {
		atl_warn("llm: the model is not a usable GGUF: %s (%s)", atl_err_name(rc),
			 atl_gguf_errmsg());
		goto fail;
	}
	rc = atl_model_load(e->g, &e->m);
	if (rc != ATL_OK) {
		atl_warn("llm: cannot use this model: %s (%s)", atl_err_name(rc), atl_model_errmsg());
		goto fail;
	}
	rc = atl_tok_load(e->g, &e->tok);
	if (rc != ATL_OK) {
		atl_warn("llm: the model has no usable tokenizer: %s", atl_err_name(rc));
		goto fail;
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->used = ++cache_clock;
	*e_out = e;
	return ATL_OK;
fail:
	entry_clear(e);
	return rc == ATL_E_NOMEM ? rc : ATL_E_FORMAT;
}

/* ---- one job ---- */

struct gen_out {
	char *text;
	size_t len, cap;
	int32_t *ids;
	size_t n_ids, cap_ids;
	bool failed;
};

static bool on_token(void *arg, int32_t id, const char *text, size_t len)
{
	struct gen_out *o = arg;

	if (id >= 0 && o->n_ids < o->cap_ids)
		o->ids[o->n_ids++] = id;
	if (len > 0) {
		/* room for every byte as U+FFFD (3 bytes) and a NUL */
		if (o->len + 3 * len + 1 > o->cap) {
			size_t cap = (o->len + 3 * len + 1) * 2;
			char *t = malloc(cap);
			if (t == NULL) {
				o->failed = true;
				return false;
			}
			if (o->text != NULL) {
				memcpy(t, o->text, o->len);
				atl_wipe(o->text, o->cap);
				free(o->text);
			}
			o->text = t;
			o->cap = cap;
		}
		/* a NUL byte (a byte token <0x00>) becomes U+FFFD: the client's
		 * JSON parser refuses NUL in strings */
		for (size_t i = 0; i < len; i++) {
			if (text[i] != '\0') {
				o->text[o->len++] = text[i];
			} else {
				memcpy(o->text + o->len, "\xef\xbf\xbd", 3);
				o->len += 3;
			}
		}
		o->text[o->len] = '\0';
	}
	return true;
}

/* A document into secret memory (the workloads' output contract). */
static enum atl_err dump_secret(const json_t *j, uint8_t **out_out, size_t *out_len_out)
{
	char *txt = j != NULL ? atl_json_dump(j) : NULL;
	size_t len = txt != NULL ? strlen(txt) : 0;
	uint8_t *out = txt != NULL ? atl_secret_alloc(len > 0 ? len : 1) : NULL;

	if (out == NULL) {
		free(txt);
		return ATL_E_NOMEM;
	}
	memcpy(out, txt, len);
	atl_wipe(txt, len);
	free(txt);
	*out_out = out;
	*out_len_out = len;
	return ATL_OK;
}

static enum atl_err error_doc(const char *code, const char *message, uint8_t **out_out,
			      size_t *out_len_out)
{
	json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
	enum atl_err rc = dump_secret(j, out_out, out_len_out);

	json_decref(j);
	return rc;
}

struct llm_req {
	const char *prompt;
	size_t prompt_len;
	uint32_t max_tokens;
	float temp;
	uint64_t seed;
};

/* Parses the job's input; on refusal *why is the message and *code the
 * error document's code. */
static bool parse_req(const json_t *j, struct llm_req *r, const char **code, const char **why)
{
	static const char *const keys[] = {"prompt", "max_tokens", "temperature", "seed", NULL};
	const json_t *v;

	*code = "bad_input";
	r->max_tokens = 32;
	r->temp = 0.0f;
	r->seed = 0;
	if (atl_json_check_keys(j, keys, NULL) != ATL_OK) {
		*why = "expected {\"prompt\",\"max_tokens\",\"temperature\",\"seed\"}";
		return false;
	}
	v = json_object_get(j, "prompt");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		*why = "\"prompt\" must be a non-empty string";
		return false;
	}
	r->prompt = json_string_value(v);
	r->prompt_len = json_string_length(v);
	if (r->prompt_len > ATL_ENCLAVE_LLM_PROMPT_MAX) {
		*code = "too_large";
		*why = "the prompt is too long";
		return false;
	}
	v = json_object_get(j, "max_tokens");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)ATL_ENCLAVE_LLM_GEN_MAX) {
			*why = "\"max_tokens\" must be an integer from 1 to 256";
			return false;
		}
		r->max_tokens = (uint32_t)json_integer_value(v);
	}
	v = json_object_get(j, "temperature");
	if (v != NULL) {
		double t = json_number_value(v);
		if (!json_is_number(v) || !isfinite(t) || t < 0.0 || t > 100.0) {
			*why = "\"temperature\" must be a number from 0 to 100";
			return false;
		}
		r->temp = (float)t;
	}
	v = json_object_get(j, "seed");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			*why = "\"seed\" must be a non-negative integer";
			return false;
		}
		r->seed = (uint64_t)json_integer_value(v);
	}
	return true;
}

static enum atl_err run_entry(const struct llm_entry *e, const uint8_t *in, size_t in_len,
			      uint8_t **out_out, size_t *out_len_out)
{
	const struct atl_model_hparams *hp = atl_model_hparams(e->m);
	struct atl_sampler_params sp;
	struct atl_model_ctx *c = NULL;
	struct atl_sampler *smp = NULL;
	struct gen_out o = {0};
	struct atl_gen_stats st;
	const char *code = NULL, *why = NULL;
	json_t *req = NULL, *res = NULL, *ids = NULL;
	int32_t *prompt = NULL;
	size_t n_prompt = 0, n_ctx_max;
	struct llm_req r;
	enum atl_err rc;

	if (atl_json_parse((const char *)in, in_len, &req) != ATL_OK) {
		rc = error_doc("bad_input", "the input is not a JSON object", out_out, out_len_out);
		goto out;
	}
	if (!parse_req(req, &r, &code, &why)) {
		rc = error_doc(code, why, out_out, out_len_out);
		goto out;
	}
	rc = atl_tok_encode(e->tok, r.prompt, r.prompt_len, ATL_TOK_ADD_SPECIAL, &prompt, &n_prompt);
	if (rc == ATL_E_LIMIT || rc == ATL_E_FORMAT || rc == ATL_E_ARG || n_prompt == 0) {
		rc = error_doc(rc == ATL_E_LIMIT ? "too_large" : "bad_input",
			       "the prompt cannot be tokenized", out_out, out_len_out);
		goto out;
	}
	if (rc != ATL_OK)
		goto out;
	n_ctx_max = hp->n_ctx_train < ATL_ENCLAVE_LLM_CTX_MAX ? hp->n_ctx_train
							      : ATL_ENCLAVE_LLM_CTX_MAX;
	if (n_prompt + r.max_tokens > n_ctx_max) {
		rc = error_doc("too_large", "the prompt and max_tokens exceed the model's context",
			       out_out, out_len_out);
		goto out;
	}
	atl_sampler_params_default(&sp);
	sp.temp = r.temp;
	sp.seed = r.seed;
	/* one thread: the pool creates no worker (the sandbox forbids clone) */
	ATL_TRY(atl_model_ctx_new(e->m, (uint32_t)(n_prompt + r.max_tokens), 1, &c));
	ATL_TRY(atl_sampler_new(&sp, hp->n_vocab, &smp));
	o.cap_ids = r.max_tokens;
	o.ids = calloc(o.cap_ids, sizeof(*o.ids));
	if (o.ids == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_model_generate(c, e->tok, prompt, n_prompt, r.max_tokens, smp, NULL, on_token,
				   &o, &st));
	if (o.failed) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ids = json_array();
	for (size_t i = 0; ids != NULL && i < o.n_ids; i++) {
		if (json_array_append_new(ids, json_integer(o.ids[i])) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	/* the engine hands out whole UTF-8 characters only (U+FFFD for a
	 * split one), so the text is valid for JSON */
	res = json_pack("{s:s%, s:O, s:I, s:I}", "text", o.text != NULL ? o.text : "", o.len,
			"tokens", ids, "n_prompt", (json_int_t)st.n_prompt, "n_gen",
			(json_int_t)o.n_ids);
	if (res == NULL) {
		rc = error_doc("internal", "the generated text is not valid UTF-8", out_out,
			       out_len_out);
		goto out;
	}
	rc = dump_secret(res, out_out, out_len_out);
out:
	if (o.text != NULL)
		atl_wipe(o.text, o.cap);
	free(o.text);
	free(o.ids);
	free(prompt);
	json_decref(ids);
	json_decref(res);
	json_decref(req);
	atl_sampler_free(smp);
	atl_model_ctx_free(c);
	return rc;
}

enum atl_err atl_enclave_llm_run_mem(const char *model_id, const uint8_t *buf, size_t len,
				     const uint8_t *in, size_t in_len, uint8_t **out_out,
				     size_t *out_len_out)
{
	char key[LLM_KEY_LEN];
	struct llm_entry *e;
	enum atl_err rc;

	*out_out = NULL;
	*out_len_out = 0;
	if (model_id == NULL || strlen(model_id) > LLM_KEY_LEN - 3 || buf == NULL || len == 0)
		return ATL_E_ARG;
	snprintf(key, sizeof(key), "e:%s", model_id);
	e = cache_find(key, buf);
	if (e == NULL) {
		ATL_TRY(cache_add(key, buf, len, NULL, &e));
		atl_info("llm: encrypted model %.8s parsed and cached", model_id);
	}
	rc = run_entry(e, in, in_len, out_out, out_len_out);
out:
	return rc;
}

static enum atl_err run_llm(const json_t *params, const uint8_t *in, size_t in_len,
			    uint8_t **out_out, size_t *out_len_out)
{
	static const char *const keys[] = {"model", "model_sha256", NULL};
	uint8_t pinned[ATL_SHA256_LEN], digest[ATL_SHA256_LEN];
	char key[LLM_KEY_LEN] = "f:";
	const char *path = NULL;
	struct llm_entry *e;
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc;

	*out_out = NULL;
	*out_len_out = 0;
	if (params == NULL || atl_json_check_keys(params, keys, NULL) != ATL_OK ||
	    atl_json_get_str(params, "model", &path) != ATL_OK ||
	    atl_json_get_hex(params, "model_sha256", pinned, sizeof(pinned)) != ATL_OK)
		return ATL_E_FORMAT;
	ATL_TRY(atl_hex_encode(pinned, sizeof(pinned), key + 2, sizeof(key) - 2));
	e = cache_find(key, NULL);
	if (e == NULL) {
		/* read whole, check, then parse that very buffer */
		ATL_TRY(atl_file_read(path, ATL_ENCLAVE_LLM_FILE_MAX, &buf, &len));
		ATL_TRY(atl_hash(ATL_HASH_SHA256, buf, len, digest));
		if (!atl_ct_eq(digest, pinned, sizeof(digest))) {
			rc = ATL_E_POLICY; /* not the model the workload pinned */
			goto out;
		}
		rc = cache_add(key, buf, len, buf, &e);
		buf = NULL; /* owned by the cache, freed there on failure too */
		if (rc != ATL_OK)
			goto out;
		atl_info("llm: model %.12s parsed and cached (%zu bytes)", key + 2, len);
	}
	rc = run_entry(e, in, in_len, out_out, out_len_out);
out:
	free(buf);
	return rc;
}

/* Registered in workloads.c. */
const struct atl_enclave_workload atl_enclave_llm_workload = {"llm", run_llm};
