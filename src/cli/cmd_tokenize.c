/* atoll tokenize: run a GGUF model's tokenizer on a text (or back), as the
 * engine will (include/atoll/tokenizer.h, include/atoll/chat.h,
 * docs/internals/infer-gguf-tokenizer.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/chat.h"
#include "atoll/file.h"
#include "atoll/gguf.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/tokenizer.h"
#include "cli/cmds.h"

int atl_cmd_tokenize(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll tokenize --model FILE.gguf (--text TEXT | --file PATH) [options]\n"
		"       atoll tokenize --model FILE.gguf --decode \"ID ID ...\" [--special]\n"
		"\n"
		"Runs the tokenizer described by the model's metadata (tokenizer.ggml.*:\n"
		"SentencePiece 'llama', or byte-level BPE 'gpt2' with the gpt-2, llama3 or\n"
		"qwen2 pre-tokenizer) and prints the token ids, space separated, on one line.\n"
		"BOS/EOS are added when the model asks for them (add_bos_token/add_eos_token).\n"
		"Control-token texts such as <s> or <|im_start|> in the input become their ids.\n"
		"\n"
		"options:\n"
		"  --model FILE        GGUF model or vocabulary file\n"
		"  --text TEXT         the text to tokenize\n"
		"  --file PATH         read the text from a file ('-' for stdin), at most %u MiB\n"
		"  --ids               print the ids only (the default)\n"
		"  --pieces            print one token per line: id, tab, its text (escaped)\n"
		"  --no-bos            add no BOS/EOS\n"
		"  --no-parse-special  treat control-token texts as plain text\n"
		"  --chat TMPL         wrap the text as one user message in a chat template and\n"
		"                      open the assistant's turn: auto (from the model), chatml,\n"
		"                      llama2, llama2-sys, llama2-sys-bos, llama2-sys-strip, llama3\n"
		"  --decode IDS        the other way: print the text of these ids\n"
		"  --special           with --decode: render control tokens too\n"
		"\n"
		"exit status: 0 done, 1 the model's tokenizer is unusable, 2 usage or I/O error\n",
		ATL_TOK_TEXT_MAX / (1024u * 1024u));
}

/* "1 450 29871" -> ids (malloc'd). */
static int parse_ids(const char *s, int32_t **ids_out, size_t *n_out)
{
	size_t cap = 16, n = 0;
	int32_t *ids = malloc(cap * sizeof(*ids));

	*ids_out = NULL;
	*n_out = 0;
	if (ids == NULL)
		return -1;
	while (*s != '\0') {
		char *end;
		long v;

		while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		if (*s < '0' || *s > '9')
			goto bad;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || v > INT32_MAX || (*end != '\0' && *end != ' ' && *end != ',' &&
						   *end != '\t' && *end != '\n'))
			goto bad;
		if (n == cap) {
			int32_t *ni;

			if (cap >= ATL_TOK_TEXT_MAX)
				goto bad;
			cap *= 2;
			ni = realloc(ids, cap * sizeof(*ids));
			if (ni == NULL)
				goto bad;
			ids = ni;
		}
		ids[n++] = (int32_t)v;
		s = end;
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
bad:
	free(ids);
	return -1;
}

static void print_pieces(const struct atl_tok *tok, const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char piece[ATL_TOK_PIECE_MAX], esc[4 * ATL_TOK_PIECE_MAX + 1];
		size_t len = 0;

		if (atl_tok_piece(tok, ids[i], true, piece, sizeof(piece), &len) != ATL_OK)
			len = 0;
		atl_log_escape(piece, len, esc, sizeof(esc));
		printf("%d\t%s\n", ids[i], esc);
	}
}

int atl_cmd_tokenize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"text", required_argument, NULL, 't'},
		{"file", required_argument, NULL, 'f'},
		{"ids", no_argument, NULL, 'i'},
		{"pieces", no_argument, NULL, 'p'},
		{"no-bos", no_argument, NULL, 'B'},
		{"no-parse-special", no_argument, NULL, 'S'},
		{"chat", required_argument, NULL, 'c'},
		{"decode", required_argument, NULL, 'd'},
		{"special", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *text = NULL, *file = NULL, *chat = NULL, *decode = NULL;
	bool pieces = false, no_bos = false, no_special = false, special = false;
	struct atl_gguf *g = NULL;
	struct atl_tok *tok = NULL;
	uint8_t *buf = NULL;
	int32_t *ids = NULL;
	size_t n = 0, len = 0;
	int ret = ATL_EXIT_USAGE, c;
	enum atl_err rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 't': text = optarg; break;
		case 'f': file = optarg; break;
		case 'i': pieces = false; break;
		case 'p': pieces = true; break;
		case 'B': no_bos = true; break;
		case 'S': no_special = true; break;
		case 'c': chat = optarg; break;
		case 'd': decode = optarg; break;
		case 's': special = true; break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll tokenize: unknown option or missing value: %s\n",
				argv[optind - 1]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "atoll tokenize: unexpected argument '%s'\n", argv[optind]);
		return ATL_EXIT_USAGE;
	}
	if (model == NULL) {
		fprintf(stderr, "atoll tokenize: --model is required\n");
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	if ((text != NULL) + (file != NULL) + (decode != NULL) != 1) {
		fprintf(stderr, "atoll tokenize: give exactly one of --text, --file, --decode\n");
		return ATL_EXIT_USAGE;
	}
	if (decode != NULL && chat != NULL) {
		fprintf(stderr, "atoll tokenize: --chat does not go with --decode\n");
		return ATL_EXIT_USAGE;
	}
	if (text != NULL && strlen(text) > ATL_TOK_TEXT_MAX) {
		fprintf(stderr, "atoll tokenize: --text is longer than %u bytes\n", ATL_TOK_TEXT_MAX);
		return ATL_EXIT_USAGE;
	}

	rc = atl_gguf_open(model, &g);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tokenize: %s: %s (%s)\n", model, atl_gguf_errmsg(),
			atl_strerror(rc));
		ret = rc == ATL_E_NOTFOUND || rc == ATL_E_IO ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
		goto out;
	}
	rc = atl_tok_load(g, &tok);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tokenize: %s: %s (%s)\n", model, atl_gguf_errmsg(),
			atl_strerror(rc));
		ret = ATL_EXIT_FAIL;
		goto out;
	}

	if (decode != NULL) {
		char *out = NULL;

		if (parse_ids(decode, &ids, &n) != 0) {
			fprintf(stderr, "atoll tokenize: --decode wants decimal ids separated by spaces\n");
			goto out;
		}
		rc = atl_tok_decode(tok, ids, n, special ? ATL_TOK_DECODE_SPECIAL : 0, &out, &len);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll tokenize: %s (ids must be below %zu)\n",
				atl_strerror(rc), atl_tok_n_vocab(tok));
			ret = ATL_EXIT_FAIL;
			goto out;
		}
		fwrite(out, 1, len, stdout);
		fputc('\n', stdout);
		free(out);
		ret = ATL_EXIT_OK;
		goto out;
	}

	if (file != NULL) {
		rc = atl_file_read(file, ATL_TOK_TEXT_MAX, &buf, &len);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll tokenize: cannot read %s: %s\n", file, atl_strerror(rc));
			goto out;
		}
		text = (const char *)buf;
	} else {
		len = strlen(text);
	}

	if (chat != NULL) {
		enum atl_chat_tmpl t;
		struct atl_chat_msg msg = {"user", text, len};

		rc = strcmp(chat, "auto") == 0 ? atl_chat_from_gguf(g, &t)
					       : atl_chat_from_name(chat, &t);
		if (rc == ATL_E_NOTFOUND) {
			fprintf(stderr, "atoll tokenize: unknown chat template '%s'\n", chat);
			goto out;
		}
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll tokenize: the model's chat template is not supported "
					"(%s); name one with --chat\n", atl_strerror(rc));
			ret = ATL_EXIT_FAIL;
			goto out;
		}
		/* template text may hold special tokens, the message may not */
		rc = atl_chat_tokenize(tok, t, &msg, 1, true, &ids, &n);
	} else {
		unsigned flags = (no_bos ? 0 : ATL_TOK_ADD_SPECIAL) |
				 (no_special ? 0 : ATL_TOK_PARSE_SPECIAL);

		rc = atl_tok_encode(tok, text, len, flags, &ids, &n);
	}
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tokenize: %s\n", atl_strerror(rc));
		ret = ATL_EXIT_FAIL;
		goto out;
	}
	if (chat != NULL && no_bos && n > 0 && ids[0] == atl_tok_bos(tok)) {
		memmove(ids, ids + 1, (n - 1) * sizeof(*ids));
		n--;
	}
	if (pieces) {
		print_pieces(tok, ids, n);
	} else {
		for (size_t i = 0; i < n; i++)
			printf(i ? " %d" : "%d", ids[i]);
		putchar('\n');
	}
	ret = fflush(stdout) == 0 ? ATL_EXIT_OK : ATL_EXIT_USAGE;
out:
	free(ids);
	free(buf);
	atl_tok_free(tok);
	atl_gguf_close(g);
	return ret;
}
