/* Unit tests for the tokenizers (src/infer/tokenizer*.c, unicode*.c): every
 * string of tests/vectors/llm/tokenizer/X.gguf.inp must give exactly the ids
 * of X.gguf.out (llama.cpp's results), decode must give the text back, the
 * tiny model's prompt must give its tokens.txt; plus the pre-tokenizers,
 * special tokens, streaming decode, and bad metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/file.h"
#include "atoll/gguf.h"
#include "atoll/tokenizer.h"
#include "infer/tokenizer_int.h"
#include "infer/unicode.h"

#define VEC ATL_SOURCE_DIR "/tests/vectors/llm/"
#define SEP "\n__ggml_vocab_test__\n"

static struct atl_tok *load(const char *path, struct atl_gguf **g_out)
{
	struct atl_tok *tok;

	assert_int_equal(atl_gguf_open(path, g_out), ATL_OK);
	assert_int_equal(atl_tok_load(*g_out, &tok), ATL_OK);
	return tok;
}

/* Runs every vector of one vocabulary; returns the number of strings. */
static size_t run_vocab(const char *name, enum atl_tok_model model, enum atl_tok_pre pre)
{
	char path[512];
	struct atl_gguf *g;
	struct atl_tok *tok;
	uint8_t *inp, *outp;
	size_t inp_len, out_len, n_done = 0;
	char *s, *o;

	snprintf(path, sizeof(path), VEC "tokenizer/%s", name);
	tok = load(path, &g);
	atl_gguf_close(g); /* the tokenizer keeps its own copy */
	assert_int_equal(atl_tok_model(tok), model);
	assert_int_equal(atl_tok_pre(tok), pre);
	snprintf(path, sizeof(path), VEC "tokenizer/%s.inp", name);
	assert_int_equal(atl_file_read(path, 1 << 20, &inp, &inp_len), ATL_OK);
	snprintf(path, sizeof(path), VEC "tokenizer/%s.out", name);
	assert_int_equal(atl_file_read(path, 1 << 20, &outp, &out_len), ATL_OK);
	s = (char *)inp;
	o = (char *)outp;
	for (;;) {
		char *sep = strstr(s, SEP), *eol, *text;
		int32_t *ids, expect[512];
		size_t n, n_expect = 0, len;

		if (sep == NULL)
			break;
		eol = strchr(o, '\n');
		assert_non_null(eol);
		*eol = '\0';
		for (char *p = o; *p != '\0';) {
			char *end;
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			assert_true(n_expect < 512);
			expect[n_expect++] = (int32_t)v;
			p = end;
		}
		assert_int_equal(atl_tok_encode(tok, s, (size_t)(sep - s), 0, &ids, &n), ATL_OK);
		if (n != n_expect || memcmp(ids, expect, n * sizeof(*ids)) != 0) {
			fprintf(stderr, "%s: string %zu: got", name, n_done);
			for (size_t i = 0; i < n; i++)
				fprintf(stderr, " %d", ids[i]);
			fprintf(stderr, "\n  want%s\n", o);
		}
		assert_int_equal(n, n_expect);
		assert_memory_equal(ids, expect, n * sizeof(*ids));
		/* and back */
		assert_int_equal(atl_tok_decode(tok, ids, n, 0, &text, &len), ATL_OK);
		assert_int_equal(len, (size_t)(sep - s));
		assert_memory_equal(text, s, len);
		free(text);
		free(ids);
		n_done++;
		s = sep + strlen(SEP);
		o = eol + 1;
	}
	free(inp);
	free(outp);
	atl_tok_free(tok);
	return n_done;
}

static void test_vectors_spm(void **state)
{
	(void)state;
	assert_int_equal(run_vocab("ggml-vocab-llama-spm.gguf", ATL_TOK_MODEL_SPM, ATL_TOK_PRE_NONE),
			 46);
}

static void test_vectors_gpt2(void **state)
{
	(void)state;
	assert_int_equal(run_vocab("ggml-vocab-gpt-2.gguf", ATL_TOK_MODEL_BPE, ATL_TOK_PRE_GPT2), 46);
}

static void test_vectors_qwen2(void **state)
{
	(void)state;
	assert_int_equal(run_vocab("ggml-vocab-qwen2.gguf", ATL_TOK_MODEL_BPE, ATL_TOK_PRE_QWEN2), 46);
}

/* The tiny model's prompt, with BOS, as llama.cpp tokenized it. */
static void test_model_prompt(void **state)
{
	static const char text[] = "The quick brown fox jumps over the lazy dog. 1234567890 été";
	static const int32_t want[] = {1,     450,   4996,  17354, 1701,  29916, 432,
				       17204, 975,   278,   17366, 11203, 29889, 29871,
				       29896, 29906, 29941, 29946, 29945, 29953, 29955,
				       29947, 29929, 29900, 4370};
	struct atl_gguf *g;
	struct atl_tok *tok = load(VEC "logits/tiny-llama-random-q8_0.gguf", &g);
	int32_t *ids;
	size_t n, len;
	char *out;

	(void)state;
	assert_int_equal(atl_tok_n_vocab(tok), 32000);
	assert_int_equal(atl_tok_bos(tok), 1);
	assert_int_equal(atl_tok_eos(tok), 2);
	assert_int_equal(atl_tok_unk(tok), 0);
	assert_true(atl_tok_add_bos(tok));
	assert_false(atl_tok_add_eos(tok));
	assert_true(atl_tok_is_eog(tok, 2));
	assert_false(atl_tok_is_eog(tok, 1));
	assert_int_equal(atl_tok_encode(tok, text, strlen(text), ATL_TOK_ADD_SPECIAL, &ids, &n),
			 ATL_OK);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_memory_equal(ids, want, sizeof(want));
	/* BOS is control: skipped unless asked for */
	assert_int_equal(atl_tok_decode(tok, ids, n, 0, &out, &len), ATL_OK);
	assert_string_equal(out, text);
	free(out);
	assert_int_equal(atl_tok_decode(tok, ids, n, ATL_TOK_DECODE_SPECIAL, &out, &len), ATL_OK);
	assert_string_equal(out, "<s> The quick brown fox jumps over the lazy dog. 1234567890 été");
	free(out);
	assert_int_equal(atl_tok_decode(tok, ids, n, ATL_TOK_DECODE_KEEP_SPACE, &out, &len), ATL_OK);
	assert_string_equal(out, " The quick brown fox jumps over the lazy dog. 1234567890 été");
	free(out);
	free(ids);
	/* special tokens in text: only with PARSE_SPECIAL */
	assert_int_equal(atl_tok_encode(tok, "<s>hi</s>", 9, ATL_TOK_PARSE_SPECIAL, &ids, &n), ATL_OK);
	assert_true(n >= 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[n - 1], 2);
	free(ids);
	assert_int_equal(atl_tok_encode(tok, "<s>", 3, 0, &ids, &n), ATL_OK);
	assert_true(n > 1);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(ids[i], 1);
	free(ids);
	/* empty text; with ADD_SPECIAL only BOS */
	assert_int_equal(atl_tok_encode(tok, "", 0, 0, &ids, &n), ATL_OK);
	assert_int_equal(n, 0);
	free(ids);
	assert_int_equal(atl_tok_encode(tok, NULL, 0, ATL_TOK_ADD_SPECIAL, &ids, &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 1);
	free(ids);
	/* byte fallback: a code point not in the vocabulary */
	assert_int_equal(atl_tok_encode(tok, "\xf0\x9f\x98\x81", 4, 0, &ids, &n), ATL_OK);
	assert_int_equal(n, 5); /* ▁ + 4 bytes */
	assert_int_equal(ids[1], 3 + 0xf0);
	assert_int_equal(atl_tok_kind(tok, ids[1]), ATL_TOK_KIND_BYTE);
	free(ids);
	atl_tok_free(tok);
	atl_gguf_close(g);
}

static void test_pieces_and_stream(void **state)
{
	struct atl_gguf *g;
	struct atl_tok *tok = load(VEC "tokenizer/ggml-vocab-llama-spm.gguf", &g);
	struct atl_tok_stream st;
	char buf[ATL_TOK_STREAM_OUT_MAX], acc[64];
	size_t len, acc_len = 0;
	/* ▁é as bytes split over tokens: ' ' then C3 A9 */
	int32_t ids[] = {29871, 3 + 0xc3, 3 + 0xa9, 3 + 0xff, 3 + 'a'};
	const char *t;

	(void)state;
	assert_int_equal(atl_tok_piece(tok, 450, false, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, " The", 4);
	assert_int_equal(atl_tok_piece(tok, 450, false, buf, 2, &len), ATL_E_LIMIT);
	assert_int_equal(len, 4);
	assert_int_equal(atl_tok_piece(tok, 1, false, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 0);
	assert_int_equal(atl_tok_piece(tok, 1, true, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 3);
	assert_int_equal(atl_tok_piece(tok, 3 + 0x41, false, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 'A');
	assert_int_equal(atl_tok_piece(tok, 32000, false, buf, sizeof(buf), &len), ATL_E_ARG);
	assert_int_equal(atl_tok_piece(tok, -1, false, buf, sizeof(buf), &len), ATL_E_ARG);
	t = atl_tok_text(tok, 450, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(t, "\xe2\x96\x81The", 6);
	assert_null(atl_tok_text(tok, 99999, &len));
	assert_int_equal(atl_tok_find(tok, "\xe2\x96\x81The", 6), 450);
	assert_int_equal(atl_tok_find(tok, "no-such-token", 13), -1);
	assert_int_equal(atl_tok_kind(tok, 0), ATL_TOK_KIND_UNKNOWN);
	assert_int_equal(atl_tok_kind(tok, 1), ATL_TOK_KIND_CONTROL);
	assert_true(atl_tok_score(tok, 450) < 0.0f);

	atl_tok_stream_init(&st, 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(atl_tok_stream_push(tok, &st, ids[i], buf, sizeof(buf), &len), ATL_OK);
		if (i == 1) /* C3 alone is held back */
			assert_int_equal(len, 0);
		memcpy(acc + acc_len, buf, len);
		acc_len += len;
	}
	assert_int_equal(atl_tok_stream_flush(&st, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 0);
	/* leading space dropped; é whole; FF invalid -> U+FFFD */
	assert_int_equal(acc_len, 2 + 3 + 1);
	assert_memory_equal(acc, "\xc3\xa9\xef\xbf\xbd" "a", acc_len);
	/* a sequence cut at the end */
	atl_tok_stream_init(&st, ATL_TOK_DECODE_KEEP_SPACE);
	assert_int_equal(atl_tok_stream_push(tok, &st, 3 + 0xe2, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 0);
	assert_int_equal(atl_tok_stream_push(tok, &st, 99999, buf, sizeof(buf), &len), ATL_E_ARG);
	assert_int_equal(atl_tok_stream_flush(&st, buf, sizeof(buf), &len), ATL_OK);
	assert_int_equal(len, 3);
	{
		char *out;
		int32_t bad = 32000;

		assert_int_equal(atl_tok_decode(tok, &bad, 1, 0, &out, &len), ATL_E_ARG);
		assert_null(out);
	}
	atl_tok_free(tok);
	atl_gguf_close(g);
}

static void test_qwen2_specials(void **state)
{
	static const char text[] = "<|im_start|>user\nhi<think>x</think><|im_end|>";
	struct atl_gguf *g;
	struct atl_tok *tok = load(VEC "tokenizer/ggml-vocab-qwen2.gguf", &g);
	int32_t *ids;
	size_t n;
	char *out, buf[64];

	(void)state;
	assert_int_equal(atl_tok_eos(tok), 151645);
	assert_int_equal(atl_tok_bos(tok), -1);
	assert_int_equal(atl_tok_pad(tok), 151643);
	assert_false(atl_tok_add_bos(tok));
	assert_int_equal(atl_tok_eot(tok), 151645); /* <|im_end|> */
	assert_true(atl_tok_is_eog(tok, 151645));
	assert_true(atl_tok_is_eog(tok, 151643)); /* <|endoftext|> */
	assert_false(atl_tok_is_eog(tok, 151644));
	assert_int_equal(atl_tok_encode(tok, text, strlen(text), ATL_TOK_PARSE_SPECIAL, &ids, &n),
			 ATL_OK);
	assert_int_equal(ids[0], 151644);
	assert_int_equal(ids[n - 1], 151645);
	assert_int_equal(atl_tok_decode(tok, ids, n, ATL_TOK_DECODE_SPECIAL, &out, &n), ATL_OK);
	assert_string_equal(out, text);
	free(out);
	free(ids);
	/* without PARSE_SPECIAL control tokens are text, user-defined still split */
	assert_int_equal(atl_tok_encode(tok, text, strlen(text), 0, &ids, &n), ATL_OK);
	assert_int_not_equal(ids[0], 151644);
	{
		bool think = false;

		for (size_t i = 0; i < n; i++)
			think |= ids[i] == 151667;
		assert_true(think);
	}
	free(ids);
	/* a byte-level piece */
	assert_int_equal(atl_tok_piece(tok, 220, false, buf, sizeof(buf), &n), ATL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], ' ');
	/* invalid UTF-8 in the input is handled as U+FFFD, not a failure */
	assert_int_equal(atl_tok_encode(tok, "a\xff\xc3", 3, 0, &ids, &n), ATL_OK);
	assert_true(n >= 2);
	free(ids);
	atl_tok_free(tok);
	atl_gguf_close(g);
}

/* ---- pre-tokenizers on their own ---- */

struct words {
	char buf[512];
	size_t len;
	const uint32_t *cps;
};

static enum atl_err collect(void *ctx, size_t start, size_t end)
{
	struct words *w = ctx;

	w->buf[w->len++] = '[';
	for (size_t i = start; i < end; i++) {
		uint8_t u[4];
		size_t k = atl_utf8_put(w->cps[i], u);

		memcpy(w->buf + w->len, u, k);
		w->len += k;
	}
	w->buf[w->len++] = ']';
	w->buf[w->len] = '\0';
	return ATL_OK;
}

static void split(enum atl_tok_pre pre, const char *s, const char *want)
{
	uint32_t cps[128];
	size_t n = 0, len = strlen(s);
	struct words w = {{0}, 0, cps};

	for (size_t pos = 0; pos < len;)
		cps[n++] = atl_utf8_next((const uint8_t *)s, len, &pos);
	assert_int_equal(atl_tok_pretokenize(pre, cps, n, collect, &w), ATL_OK);
	assert_string_equal(w.buf, want);
}

static void test_pretokenizers(void **state)
{
	(void)state;
	split(ATL_TOK_PRE_LLAMA3, "1314151 abc", "[131][415][1][ abc]");
	split(ATL_TOK_PRE_QWEN2, "1314151 abc", "[1][3][1][4][1][5][1][ abc]");
	split(ATL_TOK_PRE_GPT2, "1314151 abc", "[1314151][ abc]");
	split(ATL_TOK_PRE_LLAMA3, "I'M here", "[I]['M][ here]");
	split(ATL_TOK_PRE_GPT2, "I'M here", "[I]['][M][ here]");
	split(ATL_TOK_PRE_LLAMA3, "a,  b!!\n\n c", "[a][,][ ][ b][!!\n\n][ c]");
	split(ATL_TOK_PRE_LLAMA3, "x  \n  y", "[x][  \n][ ][ y]");
	split(ATL_TOK_PRE_LLAMA3, "héllo wörld", "[héllo][ wörld]");
	split(ATL_TOK_PRE_LLAMA3, "\xe2\x80\x83x", "[\xe2\x80\x83x]"); /* em space + letter */
	split(ATL_TOK_PRE_GPT2, "a   ", "[a][   ]");
	split(ATL_TOK_PRE_NONE, "a b", "[a b]");
}

static void test_unicode(void **state)
{
	uint8_t u[4];

	(void)state;
	assert_int_equal(atl_ucls_of('a'), ATL_UCLS_LETTER);
	assert_int_equal(atl_ucls_of('7'), ATL_UCLS_NUMBER);
	assert_int_equal(atl_ucls_of('!'), ATL_UCLS_OTHER);
	assert_int_equal(atl_ucls_of(0x4e2d), ATL_UCLS_LETTER); /* 中 */
	assert_int_equal(atl_ucls_of(0x0663), ATL_UCLS_NUMBER); /* Arabic-Indic 3 */
	assert_int_equal(atl_ucls_of(0x00bd), ATL_UCLS_NUMBER); /* ½ (No) */
	assert_int_equal(atl_ucls_of(0x0301), ATL_UCLS_OTHER);  /* combining acute (Mn) */
	assert_int_equal(atl_ucls_of(0x1f601), ATL_UCLS_OTHER);
	assert_int_equal(atl_ucls_of(0x110000), ATL_UCLS_OTHER);
	assert_true(atl_uc_is_space(0x3000));
	assert_true(atl_uc_is_space('\t'));
	assert_false(atl_uc_is_space(0x200b));
	for (unsigned b = 0; b < 256; b++)
		assert_int_equal(atl_bpe_cp_to_byte(atl_bpe_byte_to_cp((uint8_t)b)), (int)b);
	assert_int_equal(atl_bpe_byte_to_cp(' '), 0x120);
	assert_int_equal(atl_bpe_cp_to_byte(0x144), -1);
	assert_int_equal(atl_utf8_put(0x10ffff, u), 4);
	{
		size_t pos = 0;

		assert_int_equal(atl_utf8_next((const uint8_t *)"\xe2\x82", 2, &pos), 0xfffd);
		assert_int_equal(pos, 1);
	}
}

/* ---- bad metadata ---- */

static enum atl_err load_built(struct atl_gguf_writer *w)
{
	struct atl_gguf *g;
	struct atl_tok *tok = (void *)1;
	uint8_t *buf;
	size_t len;
	enum atl_err rc;

	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	rc = atl_tok_load(g, &tok);
	if (rc == ATL_OK)
		atl_tok_free(tok);
	else
		assert_null(tok);
	atl_gguf_close(g);
	free(buf);
	return rc;
}

static struct atl_gguf_writer *vocab_w(const char *model, const char *pre)
{
	static const char *const toks[] = {"<unk>", "<s>", "</s>", "a", "b", "ab"};
	struct atl_gguf_writer *w;

	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	if (model != NULL)
		assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", model), ATL_OK);
	if (pre != NULL)
		assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 6), ATL_OK);
	return w;
}

static void test_bad_metadata(void **state)
{
	static const float scores5[5] = {0};
	static const int32_t types6[6] = {2, 3, 3, 1, 1, 1};
	static const char *const merges[] = {"a b"};
	static const char *const bad_merges[] = {"ab", " b", "a b"};
	struct atl_gguf_writer *w;

	(void)state;
	assert_int_equal(load_built(vocab_w(NULL, NULL)), ATL_E_NOTFOUND);
	assert_int_equal(load_built(vocab_w("bert", NULL)), ATL_E_UNSUPPORTED);
	assert_int_equal(load_built(vocab_w("llama", NULL)), ATL_OK);
	/* gpt2: needs a known pre-tokenizer and merges */
	assert_int_equal(load_built(vocab_w("gpt2", NULL)), ATL_E_UNSUPPORTED);
	assert_int_equal(load_built(vocab_w("gpt2", "default")), ATL_E_UNSUPPORTED);
	assert_int_equal(load_built(vocab_w("gpt2", "llama-bpe")), ATL_E_FORMAT);
	w = vocab_w("gpt2", "llama-bpe");
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", merges, 1), ATL_OK);
	assert_int_equal(load_built(w), ATL_OK);
	w = vocab_w("gpt2", "qwen2");
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", bad_merges, 3),
			 ATL_OK);
	assert_int_equal(load_built(w), ATL_OK); /* dead merges are ignored */
	/* arrays of the wrong length or kind */
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ATL_GGUF_TYPE_FLOAT32,
						 scores5, 5), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_FORMAT);
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ATL_GGUF_TYPE_INT32,
						 types6, 6), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_FORMAT);
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ATL_GGUF_TYPE_INT32,
						 types6, 6), ATL_OK);
	assert_int_equal(load_built(w), ATL_OK);
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.token_type", "x"), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_FORMAT);
	/* special ids outside the vocabulary, wrong kinds */
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 6), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_FORMAT);
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_i32(w, "tokenizer.ggml.bos_token_id", -1), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_LIMIT);
	w = vocab_w("llama", NULL);
	assert_int_equal(atl_gguf_writer_add_u32(w, "tokenizer.ggml.add_bos_token", 1), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_FORMAT);
	/* tokens: not strings, none, too long */
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_NOTFOUND);
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "tokenizer.ggml.tokens", ATL_GGUF_TYPE_INT32,
						 types6, 6), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_FORMAT);
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", NULL, 0), ATL_OK);
	assert_int_equal(load_built(w), ATL_E_LIMIT);
	{
		char *big = malloc(ATL_TOK_PIECE_MAX + 2);
		const char *one[1];

		memset(big, 'x', ATL_TOK_PIECE_MAX + 1);
		big[ATL_TOK_PIECE_MAX + 1] = '\0';
		one[0] = big;
		assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
		assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), ATL_OK);
		assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", one, 1),
				 ATL_OK);
		assert_int_equal(load_built(w), ATL_E_LIMIT);
		free(big);
	}
}

/* A made-up vocabulary: SPM merges by score, BPE by rank. */
static void test_small_vocabs(void **state)
{
	static const char *const toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b",
					   "ab", "\xe2\x96\x81" "ab", "<0x63>"};
	static const float scores[] = {0, 0, 0, -1, -2, -2, -1, -0.5f, 0};
	static const int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 6};
	struct atl_gguf_writer *w;
	struct atl_gguf *g;
	struct atl_tok *tok;
	uint8_t *buf;
	size_t len, n;
	int32_t *ids;

	(void)state;
	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 9), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ATL_GGUF_TYPE_FLOAT32,
						 scores, 9), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ATL_GGUF_TYPE_INT32,
						 types, 9), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", true), ATL_OK);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	assert_int_equal(atl_tok_load(g, &tok), ATL_OK);
	/* "▁abc": ▁ab (score -0.5) wins; c falls back to <0x63>; 'd' has no byte token -> unk */
	assert_int_equal(atl_tok_encode(tok, "abcd", 4, ATL_TOK_ADD_SPECIAL, &ids, &n), ATL_OK);
	assert_int_equal(n, 5);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 7);
	assert_int_equal(ids[2], 8);
	assert_int_equal(ids[3], 0);
	assert_int_equal(ids[4], 2);
	free(ids);
	atl_tok_free(tok);
	atl_gguf_close(g);
	free(buf);
}

/* Byte-level BPE: merges by rank; llama3 takes a whole word that is a token
 * as it is (ignore_merges); bytes with no token are dropped (llama.cpp). */
static int32_t *bpe_small(const char *pre, const char *text, size_t *n_out)
{
	static const char *const toks[] = {"a", "b", "c", "ab", "abc", "\xc4\xa0", "\xc4\xa0" "ab"};
	static const char *const merges[] = {"a b", "\xc4\xa0" " ab", "b c"};
	struct atl_gguf_writer *w;
	struct atl_gguf *g;
	struct atl_tok *tok;
	uint8_t *buf;
	size_t len;
	int32_t *ids;

	assert_int_equal(atl_gguf_writer_new(&w), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2"), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 7), ATL_OK);
	assert_int_equal(atl_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", merges, 3), ATL_OK);
	assert_int_equal(atl_gguf_writer_write_mem(w, &buf, &len), ATL_OK);
	atl_gguf_writer_free(w);
	assert_int_equal(atl_gguf_open_mem(buf, len, &g), ATL_OK);
	assert_int_equal(atl_tok_load(g, &tok), ATL_OK);
	assert_int_equal(atl_tok_encode(tok, text, strlen(text), ATL_TOK_ADD_SPECIAL, &ids, n_out),
			 ATL_OK);
	atl_tok_free(tok);
	atl_gguf_close(g);
	free(buf);
	return ids;
}

static void test_bpe_small(void **state)
{
	int32_t *ids;
	size_t n;

	(void)state;
	/* "a b" (rank 0) beats "b c" (rank 2): ab + c; " abd" -> Ġab, and d has no token */
	ids = bpe_small("qwen2", "abc abd", &n);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 6);
	free(ids);
	/* llama3: "abc" is a token, taken whole although no merge reaches it */
	ids = bpe_small("llama-bpe", "abc abd", &n);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 4);
	assert_int_equal(ids[1], 6);
	free(ids);
	ids = bpe_small("gpt-2", "abc", &n);
	assert_int_equal(n, 2);
	free(ids);
}

static void test_limits(void **state)
{
	struct atl_gguf *g;
	struct atl_tok *tok = load(VEC "tokenizer/ggml-vocab-gpt-2.gguf", &g);
	int32_t *ids;
	size_t n;

	(void)state;
	assert_int_equal(atl_tok_encode(tok, "x", (size_t)ATL_TOK_TEXT_MAX + 1, 0, &ids, &n),
			 ATL_E_LIMIT);
	assert_null(ids);
	assert_int_equal(atl_tok_encode(tok, NULL, 3, 0, &ids, &n), ATL_E_ARG);
	atl_tok_free(tok);
	atl_tok_free(NULL);
	atl_gguf_close(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_pretokenizers),
		cmocka_unit_test(test_vectors_spm),
		cmocka_unit_test(test_vectors_gpt2),
		cmocka_unit_test(test_vectors_qwen2),
		cmocka_unit_test(test_model_prompt),
		cmocka_unit_test(test_pieces_and_stream),
		cmocka_unit_test(test_qwen2_specials),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_small_vocabs),
		cmocka_unit_test(test_bpe_small),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
