/* Chat templates (include/atoll/chat.h): llama.cpp's llm_chat_detect_template
 * and llm_chat_apply_template (src/llama-chat.cpp) for the chatml, llama2 and
 * llama3 families, with the template's own text recorded as trusted spans. */
#include <stdlib.h>
#include <string.h>

#include "atoll/chat.h"
#include "atoll/gguf.h"
#include "atoll/limits.h"
#include "atoll/tokenizer.h"

/* ---- detection ---- */

static bool has(const char *t, size_t len, const char *needle)
{
	return memmem(t, len, needle, strlen(needle)) != NULL;
}

enum atl_err atl_chat_detect(const char *tmpl, size_t len, enum atl_chat_tmpl *t_out)
{
	*t_out = 0;
	if (tmpl == NULL && len != 0)
		return ATL_E_ARG;
	if (has(tmpl, len, "<|im_start|>")) {
		if (has(tmpl, len, "<|im_sep|>") || has(tmpl, len, "<end_of_utterance>"))
			return ATL_E_UNSUPPORTED; /* phi-4, smolvlm */
		*t_out = ATL_CHAT_CHATML;
		return ATL_OK;
	}
	if (has(tmpl, len, "[INST]")) {
		/* mistral v1/v3/v7 are other formats */
		if (has(tmpl, len, "[SYSTEM_PROMPT]") || has(tmpl, len, "[AVAILABLE_TOOLS]") ||
		    has(tmpl, len, "' [INST] ' + system_message"))
			return ATL_E_UNSUPPORTED;
		if (has(tmpl, len, "content.strip()"))
			*t_out = ATL_CHAT_LLAMA2_SYS_STRIP;
		else if (has(tmpl, len, "bos_token + '[INST]"))
			*t_out = ATL_CHAT_LLAMA2_SYS_BOS;
		else if (has(tmpl, len, "<<SYS>>"))
			*t_out = ATL_CHAT_LLAMA2_SYS;
		else
			*t_out = ATL_CHAT_LLAMA2;
		return ATL_OK;
	}
	if (has(tmpl, len, "<|start_header_id|>") && has(tmpl, len, "<|end_header_id|>")) {
		*t_out = ATL_CHAT_LLAMA3;
		return ATL_OK;
	}
	return ATL_E_UNSUPPORTED;
}

static const struct {
	const char *name;
	enum atl_chat_tmpl t;
} names[] = {
	{"chatml", ATL_CHAT_CHATML},
	{"llama2", ATL_CHAT_LLAMA2},
	{"llama2-sys", ATL_CHAT_LLAMA2_SYS},
	{"llama2-sys-bos", ATL_CHAT_LLAMA2_SYS_BOS},
	{"llama2-sys-strip", ATL_CHAT_LLAMA2_SYS_STRIP},
	{"llama3", ATL_CHAT_LLAMA3},
};

enum atl_err atl_chat_from_name(const char *name, enum atl_chat_tmpl *t_out)
{
	*t_out = 0;
	for (size_t i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*t_out = names[i].t;
			return ATL_OK;
		}
	}
	return ATL_E_NOTFOUND;
}

const char *atl_chat_name(enum atl_chat_tmpl t)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].name;
	return "?";
}

enum atl_err atl_chat_from_gguf(const struct atl_gguf *g, enum atl_chat_tmpl *t_out)
{
	struct atl_gguf_str s;
	enum atl_err rc;

	*t_out = 0;
	rc = atl_gguf_get_str(g, "tokenizer.chat_template", &s);
	if (rc == ATL_OK)
		return atl_chat_detect(s.p, s.len, t_out);
	if (rc != ATL_E_NOTFOUND)
		return rc;
	/* no template: guess from the tokenizer */
	rc = atl_gguf_get_str(g, "tokenizer.ggml.model", &s);
	if (rc == ATL_OK && s.len == 5 && memcmp(s.p, "llama", 5) == 0) {
		*t_out = ATL_CHAT_LLAMA2;
		return ATL_OK;
	}
	rc = atl_gguf_get_str(g, "tokenizer.ggml.pre", &s);
	if (rc == ATL_OK && ((s.len == 6 && memcmp(s.p, "llama3", 6) == 0) ||
			     (s.len == 8 && memcmp(s.p, "llama-v3", 8) == 0) ||
			     (s.len == 9 && memcmp(s.p, "llama-bpe", 9) == 0))) {
		*t_out = ATL_CHAT_LLAMA3;
		return ATL_OK;
	}
	*t_out = ATL_CHAT_CHATML;
	return ATL_OK;
}

/* ---- rendering ---- */

struct sb {
	char *p;
	size_t len, cap;
	struct atl_tok_span *sp;
	size_t n_sp, cap_sp;
	enum atl_err err;
};

static void sb_put(struct sb *b, const char *s, size_t n, bool trusted)
{
	if (b->err != ATL_OK || n == 0)
		return;
	if (n > ATL_TOK_TEXT_MAX - b->len) {
		b->err = ATL_E_LIMIT;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->err = ATL_E_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (trusted) {
		if (b->n_sp > 0 && b->sp[b->n_sp - 1].off + b->sp[b->n_sp - 1].len == b->len) {
			b->sp[b->n_sp - 1].len += n; /* extend the previous span */
		} else {
			if (b->n_sp == b->cap_sp) {
				size_t cap = b->cap_sp ? 2 * b->cap_sp : 16;
				struct atl_tok_span *ns = realloc(b->sp, cap * sizeof(*ns));

				if (ns == NULL) {
					b->err = ATL_E_NOMEM;
					return;
				}
				b->sp = ns;
				b->cap_sp = cap;
			}
			b->sp[b->n_sp].off = b->len;
			b->sp[b->n_sp].len = n;
			b->n_sp++;
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* template text: trusted */
static void lit(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s), true);
}

/* message text: untrusted */
static void raw(struct sb *b, const char *s, size_t n)
{
	sb_put(b, s, n, false);
}

static bool c_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* llama-chat.cpp trim(): ASCII white space off both ends. */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && c_isspace((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && c_isspace((*s)[*n - 1]))
		(*n)--;
}

static bool role_ok(const char *r)
{
	size_t n = r != NULL ? strlen(r) : 0;

	if (n == 0 || n > ATL_CHAT_ROLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = r[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void render_llama2(struct sb *b, enum atl_chat_tmpl t, const struct atl_chat_msg *msgs,
			  size_t n)
{
	bool sys_ok = t != ATL_CHAT_LLAMA2, bos_inside = t == ATL_CHAT_LLAMA2_SYS_BOS,
	     strip = t == ATL_CHAT_LLAMA2_SYS_STRIP, inside = true; /* BOS comes from the tokenizer */

	lit(b, "[INST] ");
	for (size_t i = 0; i < n; i++) {
		const char *c = msgs[i].content;
		size_t cl = msgs[i].content_len;

		if (strip)
			trim(&c, &cl);
		if (!inside) {
			inside = true;
			lit(b, bos_inside ? "<s>[INST] " : "[INST] ");
		}
		if (strcmp(msgs[i].role, "system") == 0) {
			if (sys_ok) {
				lit(b, "<<SYS>>\n");
				raw(b, c, cl);
				lit(b, "\n<</SYS>>\n\n");
			} else {
				raw(b, c, cl);
				lit(b, "\n");
			}
		} else if (strcmp(msgs[i].role, "user") == 0) {
			raw(b, c, cl);
			lit(b, " [/INST]");
		} else {
			raw(b, c, cl);
			lit(b, "</s>");
			inside = false;
		}
	}
}

enum atl_err atl_chat_apply(enum atl_chat_tmpl t, const struct atl_chat_msg *msgs, size_t n,
			    bool add_assistant, char **text_out, size_t *len_out,
			    struct atl_tok_span **spans_out, size_t *n_spans_out)
{
	struct sb b = {0};
	enum atl_err rc = ATL_E_INTERNAL;

	*text_out = NULL;
	*len_out = 0;
	if (spans_out != NULL) {
		*spans_out = NULL;
		*n_spans_out = 0;
	}
	if (n == 0 || msgs == NULL)
		return ATL_E_ARG;
	if (n > ATL_CHAT_MSGS_MAX)
		return ATL_E_LIMIT;
	for (size_t i = 0; i < n; i++)
		if (!role_ok(msgs[i].role) || (msgs[i].content == NULL && msgs[i].content_len != 0))
			return ATL_E_ARG;
	switch (t) {
	case ATL_CHAT_CHATML:
		for (size_t i = 0; i < n; i++) {
			lit(&b, "<|im_start|>");
			raw(&b, msgs[i].role, strlen(msgs[i].role));
			lit(&b, "\n");
			raw(&b, msgs[i].content, msgs[i].content_len);
			lit(&b, "<|im_end|>\n");
		}
		if (add_assistant)
			lit(&b, "<|im_start|>assistant\n");
		break;
	case ATL_CHAT_LLAMA3:
		for (size_t i = 0; i < n; i++) {
			const char *c = msgs[i].content;
			size_t cl = msgs[i].content_len;

			trim(&c, &cl);
			lit(&b, "<|start_header_id|>");
			raw(&b, msgs[i].role, strlen(msgs[i].role));
			lit(&b, "<|end_header_id|>\n\n");
			raw(&b, c, cl);
			lit(&b, "<|eot_id|>");
		}
		if (add_assistant)
			lit(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
		break;
	case ATL_CHAT_LLAMA2:
	case ATL_CHAT_LLAMA2_SYS:
	case ATL_CHAT_LLAMA2_SYS_BOS:
	case ATL_CHAT_LLAMA2_SYS_STRIP:
		/* llama.cpp adds nothing for add_assistant: the turn is open after [/INST] */
		render_llama2(&b, t, msgs, n);
		break;
	default:
		rc = ATL_E_ARG;
		goto out;
	}
	if (b.err != ATL_OK) {
		rc = b.err;
		goto out;
	}
	if (b.p == NULL) { /* only empty contents and no template text: impossible today */
		rc = ATL_E_INTERNAL;
		goto out;
	}
	*text_out = b.p;
	*len_out = b.len;
	b.p = NULL;
	if (spans_out != NULL) {
		*spans_out = b.sp;
		*n_spans_out = b.n_sp;
		b.sp = NULL;
	}
	rc = ATL_OK;
out:
	free(b.p);
	free(b.sp);
	return rc;
}

enum atl_err atl_chat_tokenize(const struct atl_tok *tok, enum atl_chat_tmpl t,
			       const struct atl_chat_msg *msgs, size_t n, bool add_assistant,
			       int32_t **ids_out, size_t *n_out)
{
	struct atl_tok_span *sp = NULL;
	size_t len, n_sp;
	char *text = NULL;
	enum atl_err rc;

	*ids_out = NULL;
	*n_out = 0;
	rc = atl_chat_apply(t, msgs, n, add_assistant, &text, &len, &sp, &n_sp);
	if (rc == ATL_OK)
		rc = atl_tok_encode_spans(tok, text, len, ATL_TOK_ADD_SPECIAL, sp, n_sp, ids_out,
					  n_out);
	free(text);
	free(sp);
	return rc;
}
