/* Chat templates (docs/internals/infer-gguf-tokenizer.md).
 *
 * Not a Jinja engine: the fixed formats of the model families Atoll runs,
 * written out by hand exactly as llama.cpp's llm_chat_apply_template does,
 * and recognised from the GGUF tokenizer.chat_template text the same way
 * llama.cpp's llm_chat_detect_template does:
 *   chatml  (Qwen2):  <|im_start|>ROLE\nCONTENT<|im_end|>\n ... <|im_start|>assistant\n
 *   llama3:           <|start_header_id|>ROLE<|end_header_id|>\n\nTRIM(CONTENT)<|eot_id|> ...
 *   llama2 (4 variants: system message or not, BOS inside the history, content
 *           stripped):  [INST] <<SYS>>\nSYS\n<</SYS>>\n\nUSER [/INST]ASSISTANT</s>[INST] ...
 * The BOS token is not written: the tokenizer adds it (ATL_TOK_ADD_SPECIAL).
 *
 * atl_chat_tokenize renders and tokenizes in one go and lets special tokens
 * come only from the template's own text, never from message contents
 * (atl_tok_encode_spans), so user text cannot forge a turn or a system
 * message. */
#ifndef ATOLL_CHAT_H
#define ATOLL_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/gguf.h"
#include "atoll/limits.h"
#include "atoll/tokenizer.h"

enum atl_chat_tmpl {
	ATL_CHAT_CHATML = 1,
	ATL_CHAT_LLAMA2,           /* no system message support: system text goes in plain */
	ATL_CHAT_LLAMA2_SYS,       /* <<SYS>> blocks */
	ATL_CHAT_LLAMA2_SYS_BOS,   /* and <s> before each later [INST] */
	ATL_CHAT_LLAMA2_SYS_STRIP, /* and contents trimmed */
	ATL_CHAT_LLAMA3
};

struct atl_chat_msg {
	const char *role;    /* NUL-terminated: 1..ATL_CHAT_ROLE_MAX bytes of [A-Za-z0-9_-] */
	const char *content; /* content_len bytes, any */
	size_t content_len;
};

/* Recognises a Jinja template text (tokenizer.chat_template). ATL_E_UNSUPPORTED
 * for a family not listed above. */
ATL_NODISCARD enum atl_err atl_chat_detect(const char *tmpl, size_t len, enum atl_chat_tmpl *t_out);
/* By name: "chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip",
 * "llama3" (ATL_E_NOTFOUND otherwise). */
ATL_NODISCARD enum atl_err atl_chat_from_name(const char *name, enum atl_chat_tmpl *t_out);
/* Name of t ("?" if unknown). Static storage. */
const char *atl_chat_name(enum atl_chat_tmpl t);
/* The template a model file asks for: tokenizer.chat_template if present
 * (errors of atl_chat_detect), else by its tokenizer: SPM "llama" -> llama2,
 * pre "llama3"-like -> llama3, anything else -> chatml (llama.cpp's default). */
ATL_NODISCARD enum atl_err atl_chat_from_gguf(const struct atl_gguf *g, enum atl_chat_tmpl *t_out);

/* Renders n messages (1..ATL_CHAT_MSGS_MAX) and, if add_assistant, the start
 * of the assistant's turn. *text_out is malloc'd and NUL-terminated (free()),
 * *len_out without the NUL. If spans_out is not NULL it receives a malloc'd
 * array of the byte ranges written by the template itself (not by a message),
 * *n_spans_out of them. ATL_E_ARG for a bad role or template; ATL_E_LIMIT past
 * ATL_CHAT_MSGS_MAX or ATL_TOK_TEXT_MAX bytes; ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_chat_apply(enum atl_chat_tmpl t, const struct atl_chat_msg *msgs,
					  size_t n, bool add_assistant, char **text_out,
					  size_t *len_out, struct atl_tok_span **spans_out,
					  size_t *n_spans_out);
/* Renders and tokenizes: BOS/EOS per the tokenizer (ATL_TOK_ADD_SPECIAL),
 * special tokens only from the template's text. *ids_out malloc'd (free()). */
ATL_NODISCARD enum atl_err atl_chat_tokenize(const struct atl_tok *tok, enum atl_chat_tmpl t,
					     const struct atl_chat_msg *msgs, size_t n,
					     bool add_assistant, int32_t **ids_out, size_t *n_out);

#endif
