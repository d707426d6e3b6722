/* Fuzz target: the GGUF reader (src/infer/gguf*.c) and the tokenizers built
 * from its metadata (src/infer/tokenizer*.c). Parses the input, reads every
 * metadata value and touches every byte of every tensor, so a handle that
 * passed validation with a bad size or offset shows up under ASan; then, if
 * the metadata describes a tokenizer, loads it and runs encode, decode and
 * the streaming decoder over fixed texts and the input's own tail.
 * atl-fuzz-deps: atoll_infer */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/gguf.h"
#include "atoll/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_kv(const struct atl_gguf *g, size_t i)
{
	struct atl_gguf_str key = atl_gguf_kv_key(g, i), s;
	struct atl_gguf_arr a;
	char k[ATL_GGUF_KEY_MAX + 1];
	int64_t v;
	float f;
	bool b;

	/* keys have no NUL (checked at open) */
	for (size_t j = 0; j < key.len; j++)
		k[j] = key.p[j];
	k[key.len] = '\0';
	if (atl_gguf_get_i64(g, k, &v) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_f32(g, k, &f) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_bool(g, k, &b) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_str(g, k, &s) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_arr(g, k, &a) != ATL_OK)
		return;
	for (size_t j = 0; j < a.n && j < 4096; j++) {
		if (atl_gguf_arr_i64(&a, j, &v) == ATL_E_INTERNAL)
			__builtin_trap();
		if (atl_gguf_arr_f32(&a, j, &f) == ATL_E_INTERNAL)
			__builtin_trap();
		if (atl_gguf_arr_bool(&a, j, &b) == ATL_E_INTERNAL)
			__builtin_trap();
		if (atl_gguf_arr_str(&a, j, &s) == ATL_OK && s.len > 0)
			(void)*(volatile const char *)&s.p[s.len - 1];
	}
}

static void run_text(const struct atl_tok *tok, const char *text, size_t len)
{
	int32_t *ids = NULL;
	size_t n = 0;
	char *out;
	size_t out_len;

	if (atl_tok_encode(tok, text, len, ATL_TOK_ADD_SPECIAL | ATL_TOK_PARSE_SPECIAL, &ids, &n) !=
	    ATL_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || (size_t)ids[i] >= atl_tok_n_vocab(tok))
			__builtin_trap();
	if (atl_tok_decode(tok, ids, n, ATL_TOK_DECODE_SPECIAL, &out, &out_len) == ATL_OK)
		free(out);
	{
		struct atl_tok_stream st;
		static char buf[ATL_TOK_STREAM_OUT_MAX];
		size_t k;

		atl_tok_stream_init(&st, 0);
		for (size_t i = 0; i < n; i++)
			if (atl_tok_stream_push(tok, &st, ids[i], buf, sizeof(buf), &k) != ATL_OK)
				__builtin_trap();
		if (atl_tok_stream_flush(&st, buf, sizeof(buf), &k) != ATL_OK)
			__builtin_trap();
	}
	free(ids);
}

static void run_tokenizer(const struct atl_gguf *g, const uint8_t *data, size_t size)
{
	static const char *const texts[] = {
		"Hello, y'all! How are you \xf0\x9f\x98\x81 ?1314151\n\n  \t x",
		" <s></s><unk><|im_start|>user\n\xc3\xa9t\xc3\xa9<|im_end|>",
		"\xff\xfe\xc3 'RE 'll \r\n\r\n", "",
	};
	struct atl_tok *tok;
	size_t tail = size < 256 ? size : 256;

	if (atl_tok_load(g, &tok) != ATL_OK)
		return;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		run_text(tok, texts[i], strlen(texts[i]));
	run_text(tok, (const char *)data + size - tail, tail);
	atl_tok_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_gguf *g = NULL;
	volatile uint8_t sink = 0;

	if (atl_gguf_open_mem(data, size, &g) != ATL_OK)
		return 0;
	for (size_t i = 0; i < atl_gguf_n_kv(g); i++)
		touch_kv(g, i);
	for (size_t i = 0; i < atl_gguf_n_tensors(g); i++) {
		const struct atl_gguf_tensor *t = atl_gguf_tensor_at(g, i);
		const uint8_t *p = t->data;

		if (atl_gguf_find_tensor(g, t->name) != t)
			__builtin_trap();
		for (size_t j = 0; j < t->size; j++)
			sink ^= p[j];
	}
	(void)sink;
	run_tokenizer(g, data, size);
	atl_gguf_close(g);
	return 0;
}
