/* The enclave's llm workload (src/enclave/llmwork.c) on the tiny random
 * llama of tests/vectors/llm/logits: greedy output equal to the engine driven
 * the way `atoll infer --prompt` drives it and to llama.cpp's greedy ids;
 * the same inside the sandbox (no thread may be created there); the model
 * from memory (an encrypted model's plaintext) and the parse cache; bad
 * input answered with an error document; a model that is not the pinned one
 * refused.
 * atl-test-deps: atoll_infer */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/digest.h"
#include "atoll/enclave.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/model.h"
#include "atoll/secmem.h"

#define VEC ATL_SOURCE_DIR "/tests/vectors/llm/logits/"
#define Q8 VEC "tiny-llama-random-q8_0.gguf"
#define F32 VEC "tiny-llama-random-f32.gguf"
#define PROMPT "The quick brown fox jumps over the lazy dog. 1234567890 \xc3\xa9t\xc3\xa9"

static json_t *params_for(const char *path)
{
	uint8_t *buf = NULL, d[ATL_SHA256_LEN];
	size_t len = 0;
	char hex[2 * ATL_SHA256_LEN + 1];

	assert_int_equal(atl_file_read(path, ATL_ENCLAVE_LLM_FILE_MAX, &buf, &len), ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, buf, len, d), ATL_OK);
	assert_int_equal(atl_hex_encode(d, sizeof(d), hex, sizeof(hex)), ATL_OK);
	free(buf);
	return json_pack("{s:s, s:s}", "model", path, "model_sha256", hex);
}

/* Runs the llm kind; returns the parsed output document. */
static json_t *run(const json_t *params, const char *input)
{
	const struct atl_enclave_workload *w = atl_enclave_workload_find("llm");
	uint8_t *out = NULL;
	size_t out_len = 0;
	json_t *j = NULL;

	assert_non_null(w);
	assert_int_equal(w->run(params, (const uint8_t *)input, strlen(input), &out, &out_len),
			 ATL_OK);
	assert_int_equal(atl_json_parse((const char *)out, out_len, &j), ATL_OK);
	atl_secret_free(out);
	return j;
}

struct ref {
	char text[4096];
	size_t len;
	int32_t ids[256];
	size_t n;
};

static bool ref_tok(void *arg, int32_t id, const char *text, size_t len)
{
	struct ref *r = arg;

	if (id >= 0 && r->n < 256)
		r->ids[r->n++] = id;
	if (len > 0 && r->len + len < sizeof(r->text)) {
		memcpy(r->text + r->len, text, len);
		r->len += len;
	}
	return true;
}

/* The engine as cmd_infer.c drives it for --prompt (several threads). */
static void reference(const char *path, const char *prompt, uint32_t n, struct ref *r)
{
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_tok *tok = NULL;
	struct atl_model_ctx *c = NULL;
	struct atl_sampler *smp = NULL;
	struct atl_sampler_params sp;
	int32_t *ids = NULL;
	size_t n_ids = 0;

	memset(r, 0, sizeof(*r));
	assert_int_equal(atl_gguf_open(path, &g), ATL_OK);
	assert_int_equal(atl_model_load(g, &m), ATL_OK);
	assert_int_equal(atl_tok_load(g, &tok), ATL_OK);
	assert_int_equal(atl_tok_encode(tok, prompt, strlen(prompt), ATL_TOK_ADD_SPECIAL, &ids, &n_ids),
			 ATL_OK);
	assert_int_equal(atl_model_ctx_new(m, (uint32_t)n_ids + n, 2, &c), ATL_OK);
	atl_sampler_params_default(&sp);
	assert_int_equal(atl_sampler_new(&sp, atl_model_hparams(m)->n_vocab, &smp), ATL_OK);
	assert_int_equal(atl_model_generate(c, tok, ids, n_ids, n, smp, NULL, ref_tok, r, NULL),
			 ATL_OK);
	free(ids);
	atl_sampler_free(smp);
	atl_model_ctx_free(c);
	atl_tok_free(tok);
	atl_model_free(m);
	atl_gguf_close(g);
}

static void check_matches(const json_t *out, const struct ref *r, size_t n_prompt)
{
	const json_t *toks = json_object_get(out, "tokens");
	const char *text = NULL;

	assert_null(json_object_get(out, "error"));
	assert_int_equal(atl_json_get_str(out, "text", &text), ATL_OK);
	assert_int_equal(strlen(text), r->len);
	assert_memory_equal(text, r->text, r->len);
	assert_int_equal(json_integer_value(json_object_get(out, "n_prompt")), n_prompt);
	assert_int_equal(json_integer_value(json_object_get(out, "n_gen")), r->n);
	assert_int_equal(json_array_size(toks), r->n);
	for (size_t i = 0; i < r->n; i++)
		assert_int_equal(json_integer_value(json_array_get(toks, i)), r->ids[i]);
}

/* Greedy: the reference engine path and llama.cpp's 16 greedy ids. */
static void test_greedy(void **state)
{
	json_t *p = params_for(Q8), *out;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct ref r;
	char *tail;

	(void)state;
	reference(Q8, PROMPT, 16, &r);
	out = run(p, "{\"prompt\":\"" PROMPT "\",\"max_tokens\":16}");
	check_matches(out, &r, 25);
	json_decref(out);
	/* llama.cpp's greedy path (tests/vectors/llm/logits/README.md) */
	assert_int_equal(atl_file_read(VEC "tiny-llama-random-q8_0.greedy.txt", 4096, &buf, &len),
			 ATL_OK);
	tail = (char *)buf;
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(strtol(tail, &tail, 10), r.ids[i]);
	free(buf);
	/* again: from the cache, same answer; default max_tokens 32 */
	reference(Q8, "Hello", 32, &r);
	out = run(p, "{\"prompt\":\"Hello\"}");
	check_matches(out, &r, json_integer_value(json_object_get(out, "n_prompt")));
	json_decref(out);
	json_decref(p);
}

/* Sampling is reproducible from its seed. */
static void test_seeded(void **state)
{
	json_t *p = params_for(Q8);
	json_t *a = run(p, "{\"prompt\":\"Once\",\"max_tokens\":12,\"temperature\":0.8,\"seed\":7}");
	json_t *b = run(p, "{\"prompt\":\"Once\",\"max_tokens\":12,\"temperature\":0.8,\"seed\":7}");

	(void)state;
	assert_null(json_object_get(a, "error"));
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	json_decref(p);
}

/* Parses and runs under the seccomp filter, which forbids clone: the output
 * is written to a pipe and must equal the unsandboxed one. */
static void test_sandboxed(void **state)
{
	const char *in = "{\"prompt\":\"" PROMPT "\",\"max_tokens\":8}";
	json_t *p = params_for(Q8), *want = run(p, in), *got = NULL;
	char buf[8192];
	size_t n = 0;
	ssize_t k;
	int fds[2], st = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct atl_enclave_workload *w = atl_enclave_workload_find("llm");
		uint8_t *out = NULL;
		size_t out_len = 0;
		close(fds[0]);
		atl_enclave_llm_forget(NULL); /* parse inside the sandbox too */
		if (atl_enclave_sandbox() != ATL_OK)
			_exit(90);
		if (w->run(p, (const uint8_t *)in, strlen(in), &out, &out_len) != ATL_OK)
			_exit(91);
		if (write(fds[1], out, out_len) != (ssize_t)out_len)
			_exit(92);
		_exit(0);
	}
	close(fds[1]);
	while ((k = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(atl_json_parse(buf, n, &got), ATL_OK);
	assert_true(json_equal(want, got));
	json_decref(got);
	json_decref(want);
	json_decref(p);
}

/* The model from memory (as an encrypted model's plaintext), the cache
 * bound (more models than it holds) and forgetting a buffer. */
static void test_mem_and_cache(void **state)
{
	const char *in = "{\"prompt\":\"" PROMPT "\",\"max_tokens\":6}";
	json_t *pq = params_for(Q8), *pf = params_for(F32), *want_q = run(pq, in), *want_f;
	uint8_t *file = NULL, *sec, *out = NULL;
	size_t len = 0, out_len = 0;
	json_t *got = NULL;

	(void)state;
	want_f = run(pf, in);
	assert_null(json_object_get(want_f, "error"));
	assert_int_equal(atl_file_read(Q8, ATL_ENCLAVE_LLM_FILE_MAX, &file, &len), ATL_OK);
	sec = atl_secret_alloc(len);
	assert_non_null(sec);
	memcpy(sec, file, len);
	free(file);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(atl_enclave_llm_run_mem("00112233445566778899aabbccddeeff", sec, len,
							 (const uint8_t *)in, strlen(in), &out,
							 &out_len),
				 ATL_OK);
		assert_int_equal(atl_json_parse((const char *)out, out_len, &got), ATL_OK);
		assert_true(json_equal(got, want_q));
		json_decref(got);
		atl_secret_free(out);
		/* a third model evicts the least recently used one; both still right */
		got = run(pf, in);
		assert_true(json_equal(got, want_f));
		json_decref(got);
		got = run(pq, in);
		assert_true(json_equal(got, want_q));
		json_decref(got);
		if (round == 1)
			atl_enclave_llm_forget(sec);
	}
	atl_enclave_llm_forget(sec);
	atl_secret_free(sec);
	assert_int_equal(atl_enclave_llm_run_mem("00", NULL, 0, (const uint8_t *)in, strlen(in),
						 &out, &out_len),
			 ATL_E_ARG);
	json_decref(want_q);
	json_decref(want_f);
	json_decref(pq);
	json_decref(pf);
}

static void expect_error(const json_t *p, const char *in, const char *code)
{
	json_t *out = run(p, in);
	const json_t *e = json_object_get(out, "error");
	char *txt = atl_json_dump(out);

	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_null(strstr(txt, "SECRET-PROMPT")); /* never echoes the input */
	free(txt);
	json_decref(out);
}

static void test_bad_input(void **state)
{
	json_t *p = params_for(Q8);
	char *big = malloc(ATL_ENCLAVE_LLM_PROMPT_MAX + 64);
	size_t n;

	(void)state;
	expect_error(p, "SECRET-PROMPT not json", "bad_input");
	expect_error(p, "[\"SECRET-PROMPT\"]", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"extra\":1}", "bad_input");
	expect_error(p, "{\"prompt\":\"\"}", "bad_input");
	expect_error(p, "{\"prompt\":42}", "bad_input");
	expect_error(p, "{\"max_tokens\":3}", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"max_tokens\":0}", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"max_tokens\":257}", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"max_tokens\":\"8\"}", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"temperature\":-1}", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"temperature\":\"hot\"}", "bad_input");
	expect_error(p, "{\"prompt\":\"SECRET-PROMPT\",\"seed\":-3}", "bad_input");
	/* a prompt over the byte limit */
	assert_non_null(big);
	n = (size_t)snprintf(big, 64, "{\"prompt\":\"SECRET-PROMPT");
	memset(big + n, 'a', ATL_ENCLAVE_LLM_PROMPT_MAX);
	strcpy(big + n + ATL_ENCLAVE_LLM_PROMPT_MAX, "\"}");
	expect_error(p, big, "too_large");
	/* under the byte limit but over the model's context with max_tokens */
	n = (size_t)snprintf(big, 64, "{\"prompt\":\"SECRET-PROMPT");
	for (size_t i = 0; i < 3000; i++)
		memcpy(big + n + 2 * i, "x ", 2);
	strcpy(big + n + 6000, "\",\"max_tokens\":256}");
	expect_error(p, big, "too_large");
	free(big);
	json_decref(p);
}

/* The pinned digest is checked; malformed params and a missing file refused. */
static void test_model_refused(void **state)
{
	const struct atl_enclave_workload *w = atl_enclave_workload_find("llm");
	const char *in = "{\"prompt\":\"hi\"}";
	json_t *p = params_for(Q8);
	uint8_t *out = NULL;
	size_t out_len = 0;

	(void)state;
	atl_enclave_llm_forget(NULL);
	/* the f32 file under the q8_0 file's pin */
	json_object_set_new(p, "model", json_string(F32));
	assert_int_equal(w->run(p, (const uint8_t *)in, strlen(in), &out, &out_len), ATL_E_POLICY);
	assert_null(out);
	json_object_set_new(p, "model", json_string(VEC "missing.gguf"));
	assert_int_equal(w->run(p, (const uint8_t *)in, strlen(in), &out, &out_len),
			 ATL_E_NOTFOUND);
	json_object_set_new(p, "extra", json_true());
	assert_int_equal(w->run(p, (const uint8_t *)in, strlen(in), &out, &out_len), ATL_E_FORMAT);
	assert_int_equal(w->run(NULL, (const uint8_t *)in, strlen(in), &out, &out_len),
			 ATL_E_FORMAT);
	json_decref(p);
	/* a file that is not a GGUF, pinned correctly */
	p = params_for(VEC "README.md");
	assert_int_equal(w->run(p, (const uint8_t *)in, strlen(in), &out, &out_len), ATL_E_FORMAT);
	assert_null(out);
	json_decref(p);
}

static int teardown_all(void **state)
{
	(void)state;
	atl_enclave_llm_forget(NULL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greedy),          cmocka_unit_test(test_seeded),
		cmocka_unit_test(test_sandboxed),       cmocka_unit_test(test_mem_and_cache),
		cmocka_unit_test(test_bad_input),       cmocka_unit_test(test_model_refused),
	};
	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
