/* atoll model: make random-weight models and describe model files
 * (include/atoll/model.h, docs/internals/infer-engine.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atoll/gguf.h"
#include "atoll/limits.h"
#include "atoll/model.h"
#include "atoll/quant.h"
#include "atoll/tokenizer.h"
#include "cli/cmds.h"

int atl_cmd_model(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll model gen-random --out FILE [--arch llama|qwen2] [--type T]\n"
		"                              [--shape tiny|1.1b] [--seed S] [--vocab FILE.gguf]\n"
		"                              [--layers N] [--ctx N] [--std X]\n"
		"       atoll model info FILE.gguf\n"
		"       atoll model encrypt|decrypt|inspect|rewrap ...   (encrypted models, .atm;\n"
		"                              the same as 'atoll model-crypt', see its --help)\n"
		"\n"
		"gen-random writes a model of a known shape with random weights, for tests and\n"
		"benchmarks (llama.cpp loads it too):\n"
		"  --arch A        llama (default) or qwen2 (q/k/v biases, tied output)\n"
		"  --type T        matrix type: F32 (default), F16, BF16, Q8_0, Q4_0\n"
		"  --shape S       tiny (n_embd 64, 2 layers; the default) or 1.1b (TinyLlama:\n"
		"                  2048, 22 layers, 32 heads / 4 kv heads, n_ff 5632)\n"
		"  --seed S        weights seed (default 0)\n"
		"  --vocab FILE    copy the tokenizer (tokenizer.* keys) from this GGUF, e.g. the\n"
		"                  LLaMA-2 vocabulary; default: a synthetic 32000-token vocabulary\n"
		"  --layers N      override the number of layers\n"
		"  --ctx N         context length recorded in the file\n"
		"  --std X         weight standard deviation (tiny 0.125, 1.1b 0.02)\n"
		"\n"
		"info prints the architecture, shape, tensor types and tokenizer of a model.\n"
		"\n"
		"exit status: 0 done, 1 the file is not a usable model, 2 usage or I/O error\n");
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || x < lo || x > hi)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int gen_random(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},   {"arch", required_argument, NULL, 'a'},
		{"type", required_argument, NULL, 't'},  {"shape", required_argument, NULL, 's'},
		{"seed", required_argument, NULL, 'S'},  {"vocab", required_argument, NULL, 'v'},
		{"layers", required_argument, NULL, 'l'}, {"ctx", required_argument, NULL, 'c'},
		{"std", required_argument, NULL, 'd'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *arch = "llama", *type = "F32", *shape = "tiny", *vocab = NULL;
	uint32_t layers = 0, ctx = 0;
	uint64_t seed = 0;
	float std = -1.0f;
	int c;
	char *end;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'a': arch = optarg; break;
		case 't': type = optarg; break;
		case 's': shape = optarg; break;
		case 'v': vocab = optarg; break;
		case 'S':
			seed = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0')
				goto bad;
			break;
		case 'l':
			if (!parse_u32(optarg, 1, ATL_MODEL_LAYERS_MAX, &layers))
				goto bad;
			break;
		case 'c':
			if (!parse_u32(optarg, 1, ATL_MODEL_CTX_MAX, &ctx))
				goto bad;
			break;
		case 'd':
			std = strtof(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(std > 0.0f && std < 100.0f))
				goto bad;
			break;
		case 'h': usage(stdout); return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll model gen-random: unknown option or missing value: %s\n",
				argv[optind - 1]);
			return ATL_EXIT_USAGE;
		}
	}
	if (out == NULL || optind != argc) {
		fprintf(stderr, "atoll model gen-random: need --out FILE (and no other arguments)\n");
		return ATL_EXIT_USAGE;
	}
	struct atl_model_gen_params p;
	if (atl_model_gen_shape(shape, &p) != ATL_OK) {
		fprintf(stderr, "atoll model gen-random: unknown --shape '%s' (tiny, 1.1b)\n", shape);
		return ATL_EXIT_USAGE;
	}
	if (strcmp(arch, "llama") == 0)
		p.arch = ATL_MODEL_ARCH_LLAMA;
	else if (strcmp(arch, "qwen2") == 0)
		p.arch = ATL_MODEL_ARCH_QWEN2;
	else {
		fprintf(stderr, "atoll model gen-random: unknown --arch '%s' (llama, qwen2)\n", arch);
		return ATL_EXIT_USAGE;
	}
	p.type = ATL_GGML_TYPE__END;
	const uint32_t types[] = {ATL_GGML_TYPE_F32, ATL_GGML_TYPE_F16, ATL_GGML_TYPE_BF16,
				  ATL_GGML_TYPE_Q8_0, ATL_GGML_TYPE_Q4_0};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(type, atl_ggml_type_name(types[i])) == 0)
			p.type = types[i];
	if (p.type == ATL_GGML_TYPE__END) {
		fprintf(stderr, "atoll model gen-random: unsupported --type '%s' (F32, F16, BF16, "
				"Q8_0, Q4_0)\n", type);
		return ATL_EXIT_USAGE;
	}
	p.seed = seed;
	if (layers)
		p.n_layer = layers;
	if (ctx)
		p.n_ctx = ctx;
	if (std > 0.0f)
		p.std = std;
	struct atl_gguf *vg = NULL;
	if (vocab != NULL) {
		enum atl_err rc = atl_gguf_open(vocab, &vg);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll model gen-random: %s: %s (%s)\n", vocab, atl_strerror(rc),
				atl_gguf_errmsg());
			return rc == ATL_E_IO || rc == ATL_E_NOTFOUND ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
		}
		p.vocab = vg;
	}
	enum atl_err rc = atl_model_gen_random(&p, out);
	atl_gguf_close(vg);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll model gen-random: %s: %s\n", out, atl_strerror(rc));
		return rc == ATL_E_IO ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
	}
	return ATL_EXIT_OK;
bad:
	fprintf(stderr, "atoll model gen-random: bad value for %s: '%s'\n", argv[optind - 2], optarg);
	return ATL_EXIT_USAGE;
}

static int info(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			usage(stdout);
			return ATL_EXIT_OK;
		}
		fprintf(stderr, "atoll model info: need exactly one FILE.gguf\n");
		return ATL_EXIT_USAGE;
	}
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_tok *tok = NULL;
	enum atl_err rc = atl_gguf_open(argv[1], &g);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll model info: %s: %s (%s)\n", argv[1], atl_strerror(rc),
			atl_gguf_errmsg());
		return rc == ATL_E_IO || rc == ATL_E_NOTFOUND ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
	}
	printf("file: %s\ngguf version: %u, %zu tensors, %zu metadata keys\n", argv[1],
	       atl_gguf_version(g), atl_gguf_n_tensors(g), atl_gguf_n_kv(g));
	size_t per_type[ATL_GGML_TYPE__END] = {0};
	for (size_t i = 0; i < atl_gguf_n_tensors(g); i++)
		per_type[atl_gguf_tensor_at(g, i)->type]++;
	printf("tensor types:");
	for (uint32_t t = 0; t < ATL_GGML_TYPE__END; t++)
		if (per_type[t])
			printf(" %s x%zu", atl_ggml_type_name(t), per_type[t]);
	printf("\n");
	int ret = ATL_EXIT_OK;
	rc = atl_model_load(g, &m);
	if (rc != ATL_OK) {
		printf("model: not usable: %s (%s)\n", atl_strerror(rc), atl_model_errmsg());
		ret = ATL_EXIT_FAIL;
	} else {
		const struct atl_model_hparams *hp = atl_model_hparams(m);
		printf("arch: %s\nvocab: %u\ncontext (trained): %u\nembedding: %u\nlayers: %u\n"
		       "heads: %u (kv %u, head dim %u)\nfeed-forward: %u\nrope: base %g, %s\n"
		       "rms eps: %g\noutput: %s\nq/k/v bias: %s\nweights: %s, %.3f M parameters, "
		       "%.1f MiB\n",
		       atl_model_arch_name(hp->arch), hp->n_vocab, hp->n_ctx_train, hp->n_embd,
		       hp->n_layer, hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_ff,
		       (double)hp->rope_freq_base, hp->rope_neox ? "neox (split halves)" : "adjacent pairs",
		       (double)hp->rms_eps, hp->tied_output ? "tied to token_embd" : "output.weight",
		       hp->has_qkv_bias ? "yes" : "no", atl_ggml_type_name(hp->weight_type),
		       (double)hp->n_params / 1e6, (double)hp->weight_bytes / (1024.0 * 1024.0));
	}
	rc = atl_tok_load(g, &tok);
	if (rc != ATL_OK)
		printf("tokenizer: not usable: %s (%s)\n", atl_strerror(rc), atl_gguf_errmsg());
	else
		printf("tokenizer: %s, %zu tokens, bos %d, eos %d\n",
		       atl_tok_model(tok) == ATL_TOK_MODEL_SPM ? "llama (SentencePiece)" : "gpt2 (BPE)",
		       atl_tok_n_vocab(tok), atl_tok_bos(tok), atl_tok_eos(tok));
	printf("kernels: %s\n", atl_quant_isa_name(atl_quant_isa()));
	atl_tok_free(tok);
	atl_model_free(m);
	atl_gguf_close(g);
	return ret;
}

int atl_cmd_model_crypt(int argc, char **argv);

int atl_cmd_model(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ATL_EXIT_USAGE : ATL_EXIT_OK;
	}
	if (strcmp(argv[1], "gen-random") == 0)
		return gen_random(argc - 1, argv + 1);
	if (strcmp(argv[1], "info") == 0)
		return info(argc - 1, argv + 1);
	/* Encrypted models (issue 9): `atoll model encrypt --in M.gguf --out M.atm
	 * --kek FILE --tenant-key KEK_ID` and friends, in src/cli/cmd_model_crypt.c. */
	if (strcmp(argv[1], "encrypt") == 0 || strcmp(argv[1], "decrypt") == 0 ||
	    strcmp(argv[1], "inspect") == 0 || strcmp(argv[1], "rewrap") == 0 ||
	    strcmp(argv[1], "kek-new") == 0)
		return atl_cmd_model_crypt(argc, argv);
	fprintf(stderr, "atoll model: unknown subcommand '%s' (gen-random, info, encrypt, decrypt, "
			"inspect, rewrap, kek-new)\n", argv[1]);
	usage(stderr);
	return ATL_EXIT_USAGE;
}
