/* atoll infer: run a GGUF model on a prompt with Atoll's own engine
 * (include/atoll/model.h, docs/internals/infer-engine.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoll/chat.h"
#include "atoll/file.h"
#include "atoll/gguf.h"
#include "atoll/limits.h"
#include "atoll/model.h"
#include "atoll/quant.h"
#include "atoll/sampler.h"
#include "atoll/tokenizer.h"
#include "cli/cmds.h"

int atl_cmd_infer(int argc, char **argv);

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "--dump-logits writes host floats as little-endian"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll infer --model FILE.gguf (--prompt TEXT | --tokens \"ID ID ...\") [options]\n"
		"\n"
		"Runs a llama or qwen2 GGUF model (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,\n"
		"Q4_K, Q5_K, Q6_K) on the prompt with Atoll's engine and prints the generated text.\n"
		"\n"
		"options:\n"
		"  --model FILE         the model\n"
		"  --prompt TEXT        the prompt, tokenized with the model's tokenizer (BOS added\n"
		"                       as the model asks); control-token texts stay plain text\n"
		"  --tokens IDS         the prompt as token ids (used as given, no BOS added)\n"
		"  --chat               wrap the prompt as a user message in the model's chat template\n"
		"  --system TEXT        with --chat: a system message first\n"
		"  --no-bos             with --prompt: add no BOS\n"
		"  -n, --n-predict N    tokens to generate (default 32; 0: only the prompt)\n"
		"  --threads N          threads (default: the online CPUs, at most 8)\n"
		"  --ctx N              KV cache positions (default: prompt + n, at most %u)\n"
		"  --temp X             temperature (default 0: greedy)\n"
		"  --top-k K            keep the K most likely tokens (default 0: off)\n"
		"  --top-p P            nucleus sampling (default 1: off)\n"
		"  --min-p P            drop tokens below P x the top probability (default 0: off)\n"
		"  --repeat-penalty R   penalise the last --repeat-last-n tokens (default 1: off)\n"
		"  --repeat-last-n N    (default 64)\n"
		"  --seed S             sampling seed (default 0)\n"
		"  --print-ids          print the generated ids instead of text\n"
		"  --dump-logits FILE   write float32 LE logits of every prompt position,\n"
		"                       [n_prompt][n_vocab], from one pass over the whole prompt\n"
		"  --stats              print token counts, timings and tokens/s on stderr\n"
		"  --isa NAME           force kernels: generic, avx2, avx512 (default: the best)\n"
		"\n"
		"exit status: 0 done, 1 the model or prompt was refused or inference failed,\n"
		"2 usage or I/O error\n",
		ATL_MODEL_CTX_MAX);
}

struct infer_opts {
	const char *model, *prompt, *tokens, *system, *dump, *isa;
	bool chat, no_bos, print_ids, stats;
	long n_predict, threads, ctx;
	struct atl_sampler_params sp;
};

static bool parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;
	long x = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || x < lo || x > hi)
		return false;
	*v = x;
	return true;
}

static bool parse_float(const char *s, float lo, float hi, float *v)
{
	char *end;
	float x = strtof(s, &end);
	if (*s == '\0' || *end != '\0' || !(x >= lo && x <= hi))
		return false;
	*v = x;
	return true;
}

static int parse(int argc, char **argv, struct infer_opts *o)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},      {"prompt", required_argument, NULL, 'p'},
		{"tokens", required_argument, NULL, 'T'},     {"chat", no_argument, NULL, 'c'},
		{"system", required_argument, NULL, 'S'},     {"no-bos", no_argument, NULL, 'B'},
		{"n-predict", required_argument, NULL, 'n'},  {"threads", required_argument, NULL, 't'},
		{"ctx", required_argument, NULL, 'C'},        {"temp", required_argument, NULL, 1},
		{"top-k", required_argument, NULL, 2},        {"top-p", required_argument, NULL, 3},
		{"min-p", required_argument, NULL, 4},        {"repeat-penalty", required_argument, NULL, 5},
		{"repeat-last-n", required_argument, NULL, 6}, {"seed", required_argument, NULL, 7},
		{"print-ids", no_argument, NULL, 8},          {"dump-logits", required_argument, NULL, 9},
		{"stats", no_argument, NULL, 10},             {"isa", required_argument, NULL, 11},
		{"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
	};
	int c;
	long v;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	atl_sampler_params_default(&o->sp);
	o->n_predict = 32;
	o->threads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'p': o->prompt = optarg; break;
		case 'T': o->tokens = optarg; break;
		case 'c': o->chat = true; break;
		case 'S': o->system = optarg; break;
		case 'B': o->no_bos = true; break;
		case 'n':
			if (!parse_long(optarg, 0, ATL_MODEL_CTX_MAX, &o->n_predict))
				goto bad;
			break;
		case 't':
			if (!parse_long(optarg, 1, ATL_POOL_THREADS_MAX, &o->threads))
				goto bad;
			break;
		case 'C':
			if (!parse_long(optarg, 1, ATL_MODEL_CTX_MAX, &o->ctx))
				goto bad;
			break;
		case 1:
			if (!parse_float(optarg, 0.0f, 100.0f, &o->sp.temp))
				goto bad;
			break;
		case 2:
			if (!parse_long(optarg, 0, ATL_MODEL_VOCAB_MAX, &v))
				goto bad;
			o->sp.top_k = (uint32_t)v;
			break;
		case 3:
			if (!parse_float(optarg, 1e-6f, 1.0f, &o->sp.top_p))
				goto bad;
			break;
		case 4:
			if (!parse_float(optarg, 0.0f, 0.999f, &o->sp.min_p))
				goto bad;
			break;
		case 5:
			if (!parse_float(optarg, 1.0f, 100.0f, &o->sp.repeat_penalty))
				goto bad;
			break;
		case 6:
			if (!parse_long(optarg, 0, ATL_SAMPLER_HISTORY_MAX, &v))
				goto bad;
			o->sp.repeat_last_n = (uint32_t)v;
			break;
		case 7: {
			char *end;
			o->sp.seed = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0')
				goto bad;
			break;
		}
		case 8: o->print_ids = true; break;
		case 9: o->dump = optarg; break;
		case 10: o->stats = true; break;
		case 11: o->isa = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "atoll infer: unknown option or missing value: %s\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "atoll infer: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->model == NULL || (o->prompt == NULL) == (o->tokens == NULL)) {
		fprintf(stderr, "atoll infer: need --model and one of --prompt / --tokens\n");
		return -1;
	}
	if ((o->chat || o->system != NULL || o->no_bos) && o->prompt == NULL) {
		fprintf(stderr, "atoll infer: --chat, --system and --no-bos need --prompt\n");
		return -1;
	}
	if (o->system != NULL && !o->chat) {
		fprintf(stderr, "atoll infer: --system needs --chat\n");
		return -1;
	}
	return 1;
bad:
	fprintf(stderr, "atoll infer: bad value for %s: '%s'\n", argv[optind - 2], optarg);
	return -1;
}

static int parse_ids(const char *s, int32_t **ids_out, size_t *n_out)
{
	size_t cap = 64, n = 0;
	int32_t *ids = malloc(cap * sizeof(*ids));
	if (ids == NULL)
		return -1;
	for (;;) {
		while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < 0 || v >= (long)ATL_MODEL_VOCAB_MAX || n >= ATL_MODEL_CTX_MAX) {
			free(ids);
			return -1;
		}
		if (n == cap) {
			int32_t *nids = realloc(ids, 2 * cap * sizeof(*ids));
			if (nids == NULL) {
				free(ids);
				return -1;
			}
			ids = nids;
			cap *= 2;
		}
		ids[n++] = (int32_t)v;
		s = end;
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
}

struct out_state {
	bool print_ids, first;
};

static bool on_token(void *arg, int32_t id, const char *text, size_t len)
{
	struct out_state *st = arg;
	if (st->print_ids) {
		if (id >= 0) {
			printf("%s%d", st->first ? "" : " ", id);
			st->first = false;
		}
	} else if (len > 0) {
		fwrite(text, 1, len, stdout);
	}
	fflush(stdout);
	return true;
}

static int err_exit(enum atl_err rc)
{
	return rc == ATL_E_IO || rc == ATL_E_NOTFOUND ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
}

int atl_cmd_infer(int argc, char **argv)
{
	struct infer_opts o;
	int ret = ATL_EXIT_FAIL, pr = parse(argc, argv, &o);
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_model_ctx *c = NULL;
	struct atl_tok *tok = NULL;
	struct atl_sampler *smp = NULL;
	int32_t *ids = NULL;
	size_t n_ids = 0;
	float *dump = NULL;
	enum atl_err rc;

	if (pr <= 0)
		return pr == 0 ? ATL_EXIT_OK : ATL_EXIT_USAGE;
	if (o.isa != NULL) {
		enum atl_quant_isa isa;
		if (strcmp(o.isa, "generic") == 0)
			isa = ATL_QUANT_ISA_GENERIC;
		else if (strcmp(o.isa, "avx2") == 0)
			isa = ATL_QUANT_ISA_AVX2;
		else if (strcmp(o.isa, "avx512") == 0)
			isa = ATL_QUANT_ISA_AVX512;
		else {
			fprintf(stderr, "atoll infer: unknown --isa '%s'\n", o.isa);
			return ATL_EXIT_USAGE;
		}
		if (atl_quant_set_isa(isa) != ATL_OK) {
			fprintf(stderr, "atoll infer: this CPU cannot run --isa %s\n", o.isa);
			return ATL_EXIT_FAIL;
		}
	}
	rc = atl_gguf_open(o.model, &g);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll infer: %s: %s (%s)\n", o.model, atl_strerror(rc),
			atl_gguf_errmsg());
		return err_exit(rc);
	}
	rc = atl_model_load(g, &m);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll infer: %s: cannot use this model: %s (%s)\n", o.model,
			atl_strerror(rc), atl_model_errmsg());
		goto out;
	}
	const struct atl_model_hparams *hp = atl_model_hparams(m);
	rc = atl_tok_load(g, &tok);
	if (rc != ATL_OK) {
		if (o.prompt != NULL || !o.print_ids) {
			fprintf(stderr, "atoll infer: %s: no usable tokenizer: %s (%s)\n", o.model,
				atl_strerror(rc), atl_gguf_errmsg());
			goto out;
		}
		tok = NULL; /* ids in, ids out */
	}
	if (o.prompt != NULL && o.chat) {
		enum atl_chat_tmpl t;
		struct atl_chat_msg msgs[2];
		size_t nm = 0;
		rc = atl_chat_from_gguf(g, &t);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll infer: the model's chat template is not supported: %s\n",
				atl_strerror(rc));
			goto out;
		}
		if (o.system != NULL)
			msgs[nm++] = (struct atl_chat_msg){"system", o.system, strlen(o.system)};
		msgs[nm++] = (struct atl_chat_msg){"user", o.prompt, strlen(o.prompt)};
		rc = atl_chat_tokenize(tok, t, msgs, nm, true, &ids, &n_ids);
	} else if (o.prompt != NULL) {
		rc = atl_tok_encode(tok, o.prompt, strlen(o.prompt), o.no_bos ? 0 : ATL_TOK_ADD_SPECIAL,
				    &ids, &n_ids);
	} else {
		rc = parse_ids(o.tokens, &ids, &n_ids) == 0 ? ATL_OK : ATL_E_FORMAT;
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll infer: --tokens: expected ids separated by spaces\n");
			ret = ATL_EXIT_USAGE;
			goto out_noprint;
		}
	}
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll infer: cannot tokenize the prompt: %s\n", atl_strerror(rc));
		goto out;
	}
	if (n_ids == 0) {
		fprintf(stderr, "atoll infer: the prompt is empty\n");
		ret = ATL_EXIT_USAGE;
		goto out_noprint;
	}
	for (size_t i = 0; i < n_ids; i++) {
		if (ids[i] < 0 || (uint32_t)ids[i] >= hp->n_vocab) {
			fprintf(stderr, "atoll infer: token id %d is outside the vocabulary (%u)\n",
				ids[i], hp->n_vocab);
			ret = ATL_EXIT_USAGE;
			goto out_noprint;
		}
	}
	long n_ctx = o.ctx;
	if (n_ctx == 0)
		n_ctx = (long)n_ids + o.n_predict;
	if (n_ctx < (long)n_ids + 1 || n_ctx > (long)ATL_MODEL_CTX_MAX) {
		fprintf(stderr, "atoll infer: the prompt (%zu tokens) does not fit a context of %ld\n",
			n_ids, n_ctx);
		ret = ATL_EXIT_USAGE;
		goto out_noprint;
	}
	if (n_ctx > (long)hp->n_ctx_train)
		fprintf(stderr, "atoll infer: warning: context %ld exceeds the trained %u\n", n_ctx,
			hp->n_ctx_train);
	rc = atl_model_ctx_new(m, (uint32_t)n_ctx, (unsigned)o.threads, &c);
	if (rc != ATL_OK)
		goto out;
	rc = atl_sampler_new(&o.sp, hp->n_vocab, &smp);
	if (rc != ATL_OK)
		goto out;
	if (o.dump != NULL) {
		size_t nf;
		if (__builtin_mul_overflow(n_ids, (size_t)hp->n_vocab, &nf) ||
		    nf > (size_t)ATL_WR_SIZE_MAX / sizeof(float)) {
			fprintf(stderr, "atoll infer: --dump-logits: too large\n");
			ret = ATL_EXIT_USAGE;
			goto out_noprint;
		}
		dump = malloc(nf * sizeof(float));
		if (dump == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	struct out_state os = {o.print_ids, true};
	struct atl_gen_stats st;
	rc = atl_model_generate(c, tok, ids, n_ids, (uint32_t)o.n_predict, smp, dump, on_token, &os,
				&st);
	if (rc != ATL_OK)
		goto out;
	printf("\n");
	fflush(stdout);
	if (o.stats)
		fprintf(stderr,
			"atoll infer: isa %s, threads %ld; prompt %u tokens in %.3f s (%.2f tok/s); "
			"generated %u tokens in %.3f s (%.2f tok/s)%s%s\n",
			atl_quant_isa_name(atl_quant_isa()), o.threads, st.n_prompt, st.prompt_s,
			st.prompt_s > 0 ? st.n_prompt / st.prompt_s : 0.0, st.n_gen, st.gen_s,
			st.gen_s > 0 && st.n_gen > 1 ? (st.n_gen - 1) / st.gen_s : 0.0,
			st.stopped_eog ? "; stopped at end of generation" : "",
			st.ctx_full ? "; context full" : "");
	if (dump != NULL) {
		rc = atl_file_write(o.dump, dump, n_ids * hp->n_vocab * sizeof(float), 0644, 0);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll infer: cannot write %s: %s\n", o.dump, atl_strerror(rc));
			ret = ATL_EXIT_USAGE;
			goto out_noprint;
		}
	}
	ret = ATL_EXIT_OK;
	goto out_noprint;
out:
	if (rc != ATL_OK && ret == ATL_EXIT_FAIL && m != NULL)
		fprintf(stderr, "atoll infer: failed: %s\n", atl_strerror(rc));
out_noprint:
	free(dump);
	free(ids);
	atl_sampler_free(smp);
	atl_tok_free(tok);
	atl_model_ctx_free(c);
	atl_model_free(m);
	atl_gguf_close(g);
	return ret;
}
