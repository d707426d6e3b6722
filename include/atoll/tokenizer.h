/* Tokenizers driven by GGUF metadata (docs/internals/infer-gguf-tokenizer.md).
 *
 * What the file says (tokenizer.ggml.*) picks the algorithm, as llama.cpp does:
 *   model "llama": SentencePiece-style BPE over scores, with byte fallback
 *                  (<0xXX> tokens) and a space prefix (add_space_prefix);
 *   model "gpt2":  byte-level BPE over ranked merges, after a pre-tokenizer
 *                  chosen by "pre": "gpt-2" (and aliases), "llama3" /
 *                  "llama-v3" / "llama-bpe" / "falcon3" (Llama 3 regex),
 *                  "qwen2" / "deepseek-r1-qwen" (Qwen2 regex).
 * Anything else is ATL_E_UNSUPPORTED. The pre-tokenizer regexes are
 * implemented by hand over Unicode categories (no regex engine).
 *
 * The results are those of llama.cpp's llama_tokenize (checked on every
 * string of tests/vectors/llm/tokenizer/) and llama_token_to_piece.
 *
 * The tokenizer copies what it needs from the GGUF handle, so it may outlive
 * it. It is read-only after load: any number of threads may use it. */
#ifndef ATOLL_TOKENIZER_H
#define ATOLL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/gguf.h"
#include "atoll/limits.h"

enum atl_tok_model { ATL_TOK_MODEL_SPM = 1, ATL_TOK_MODEL_BPE = 2 };
enum atl_tok_pre {
	ATL_TOK_PRE_NONE = 0, /* SPM: no pre-tokenizer */
	ATL_TOK_PRE_GPT2 = 1,
	ATL_TOK_PRE_LLAMA3 = 2,
	ATL_TOK_PRE_QWEN2 = 3
};

/* Token kinds: GGUF tokenizer.ggml.token_type values (llama.cpp llama_token_type). */
enum atl_tok_kind {
	ATL_TOK_KIND_UNDEFINED = 0,
	ATL_TOK_KIND_NORMAL = 1,
	ATL_TOK_KIND_UNKNOWN = 2,
	ATL_TOK_KIND_CONTROL = 3,
	ATL_TOK_KIND_USER_DEFINED = 4,
	ATL_TOK_KIND_UNUSED = 5,
	ATL_TOK_KIND_BYTE = 6
};

struct atl_tok; /* opaque, read-only after load */

/* Builds a tokenizer from the metadata of g. Checks: token count in
 * 1..ATL_TOK_VOCAB_MAX, each token at most ATL_TOK_PIECE_MAX bytes, scores /
 * token_type arrays (if present) as long as the token list, special ids
 * (bos, eos, eot, unk, pad) inside the vocabulary, merges of the form "a b".
 * ATL_E_NOTFOUND if g has no tokenizer.ggml.model / tokens; ATL_E_UNSUPPORTED
 * for another model or pre-tokenizer; ATL_E_FORMAT / ATL_E_LIMIT for bad
 * metadata; ATL_E_NOMEM. On failure *tok_out is NULL and atl_gguf_errmsg()
 * says why. */
ATL_NODISCARD enum atl_err atl_tok_load(const struct atl_gguf *g, struct atl_tok **tok_out);
/* NULL-safe. */
void atl_tok_free(struct atl_tok *tok);

/* encode flags */
#define ATL_TOK_ADD_SPECIAL   0x1u /* BOS (and EOS) as tokenizer.ggml.add_bos/eos_token say */
#define ATL_TOK_PARSE_SPECIAL 0x2u /* control/unknown token texts in the input ("<|im_start|>",
				      "<s>") become their ids; user-defined tokens always do */

/* Tokenizes text[0..len) (any bytes; invalid UTF-8 is handled as llama.cpp
 * does). *ids_out is malloc'd (free()), *n_out ids; an empty text gives no
 * ids (plus BOS/EOS with ATL_TOK_ADD_SPECIAL). ATL_E_LIMIT if len exceeds
 * ATL_TOK_TEXT_MAX; ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_tok_encode(const struct atl_tok *tok, const char *text, size_t len,
					  unsigned flags, int32_t **ids_out, size_t *n_out);

/* A byte range [off, off + len) of a text. */
struct atl_tok_span {
	size_t off, len;
};

/* Like atl_tok_encode with ATL_TOK_PARSE_SPECIAL, except that control and
 * unknown token texts become their ids only where they lie wholly inside one
 * of the n_trusted ranges (the template's own text, see atl_chat_tokenize);
 * elsewhere (user content) they stay plain text, so a prompt cannot forge
 * "<|im_start|>system". Where no forgery is attempted the ids equal those of
 * atl_tok_encode over the whole text. ATL_E_ARG for a range outside text. */
ATL_NODISCARD enum atl_err atl_tok_encode_spans(const struct atl_tok *tok, const char *text,
						size_t len, unsigned flags,
						const struct atl_tok_span *trusted, size_t n_trusted,
						int32_t **ids_out, size_t *n_out);

/* decode flags */
#define ATL_TOK_DECODE_SPECIAL 0x1u /* render control/unknown tokens as their text (else skipped) */
#define ATL_TOK_DECODE_KEEP_SPACE 0x2u /* SPM: keep the leading space of the first piece */

/* The bytes token id stands for (llama_token_to_piece): SPM turns U+2581
 * into spaces and <0xXX> into the byte, byte-level BPE maps its code points
 * back to bytes; control/unknown tokens give their text only with special,
 * else nothing. Writes at most cap bytes to buf (not NUL-terminated) and
 * the piece's length to *len_out. ATL_E_ARG for an id outside the
 * vocabulary; ATL_E_LIMIT if cap is too small (*len_out says how much is
 * needed; ATL_TOK_PIECE_MAX always suffices). */
ATL_NODISCARD enum atl_err atl_tok_piece(const struct atl_tok *tok, int32_t id, bool special,
					 char *buf, size_t cap, size_t *len_out);
/* The bytes of n ids, concatenated (malloc'd, NUL-terminated, *len_out
 * without the NUL). Without ATL_TOK_DECODE_KEEP_SPACE an SPM tokenizer drops
 * one leading space of the first piece (the one encode added). The bytes
 * are exactly the pieces': a sequence cut inside a UTF-8 character stays
 * cut (use atl_tok_stream for text to show). ATL_E_ARG for a bad id. */
ATL_NODISCARD enum atl_err atl_tok_decode(const struct atl_tok *tok, const int32_t *ids, size_t n,
					  unsigned flags, char **text_out, size_t *len_out);

/* Streaming decode for generation: pieces go in, only complete, valid UTF-8
 * comes out; a character split across tokens is held until it completes,
 * and invalid bytes come out as U+FFFD. */
struct atl_tok_stream {
	uint8_t pending[8]; /* an incomplete UTF-8 sequence */
	size_t n_pending;
	bool started;       /* a piece was pushed (SPM leading-space rule) */
	unsigned flags;     /* ATL_TOK_DECODE_* */
};

/* Output room that always suffices for one push (every byte invalid). */
#define ATL_TOK_STREAM_OUT_MAX (3u * (ATL_TOK_PIECE_MAX + 8u))

void atl_tok_stream_init(struct atl_tok_stream *s, unsigned flags);
/* Appends id's piece; writes the text now complete to out (cap >=
 * ATL_TOK_STREAM_OUT_MAX always suffices) and its length to *len_out.
 * ATL_E_ARG for a bad id, ATL_E_LIMIT if cap is too small. */
ATL_NODISCARD enum atl_err atl_tok_stream_push(const struct atl_tok *tok, struct atl_tok_stream *s,
					       int32_t id, char *out, size_t cap, size_t *len_out);
/* End of stream: what is still pending comes out as U+FFFD (cap >= 32). */
ATL_NODISCARD enum atl_err atl_tok_stream_flush(struct atl_tok_stream *s, char *out, size_t cap,
						size_t *len_out);

/* ---- vocabulary ---- */
size_t atl_tok_n_vocab(const struct atl_tok *tok);
enum atl_tok_model atl_tok_model(const struct atl_tok *tok);
enum atl_tok_pre atl_tok_pre(const struct atl_tok *tok);
/* Special ids, -1 when the vocabulary has none. eot: end of turn
 * (tokenizer.ggml.eot_token_id, else a control token named <|eot_id|>,
 * <|im_end|>, <|end|>, <end_of_turn> or <|endoftext|> as llama.cpp guesses). */
int32_t atl_tok_bos(const struct atl_tok *tok);
int32_t atl_tok_eos(const struct atl_tok *tok);
int32_t atl_tok_eot(const struct atl_tok *tok);
int32_t atl_tok_unk(const struct atl_tok *tok);
int32_t atl_tok_pad(const struct atl_tok *tok);
bool atl_tok_add_bos(const struct atl_tok *tok);
bool atl_tok_add_eos(const struct atl_tok *tok);
/* true if id ends generation: eos, eot, or another end-of-generation
 * control token (<|eot_id|>, <|im_end|>, <|endoftext|>, <|end_of_text|>...). */
bool atl_tok_is_eog(const struct atl_tok *tok, int32_t id);
/* Id of the token whose vocabulary text is exactly text[0..len), or -1. */
int32_t atl_tok_find(const struct atl_tok *tok, const char *text, size_t len);
/* Vocabulary text of id (not NUL-terminated; NULL and 0 for a bad id). */
const char *atl_tok_text(const struct atl_tok *tok, int32_t id, size_t *len_out);
enum atl_tok_kind atl_tok_kind(const struct atl_tok *tok, int32_t id);
float atl_tok_score(const struct atl_tok *tok, int32_t id);

#endif
