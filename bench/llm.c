/* bench/llm.c: times llama.cpp itself on a GGUF model, for bench/llm.sh.
 *
 * Loads a prebuilt libllama (the CPU binaries of the npm package
 * node-llama-cpp) with dlopen, so no llama.cpp header or source is needed:
 * only functions whose parameter structs are passed or returned in memory
 * (x86-64 SysV class MEMORY) are used, through opaque buffers larger than the
 * real structs, and the defaults are changed only through functions
 * (llama_set_n_threads). Prints one line:
 *   llama.cpp pp N tok/s X gen M tok/s Y
 * Usage: llm LIBDIR MODEL.gguf THREADS N_PROMPT N_GEN
 *        llm --membw       (memcpy bandwidth of this machine, one thread)
 * The second form prints "membw copy GB/s X read GB/s Y" where X counts the
 * bytes copied per second and Y the bytes read plus written. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct blob { _Alignas(16) unsigned char b[4096]; }; /* llama_*_params, llama_batch */

typedef struct blob (*model_params_fn)(void);
typedef struct blob (*ctx_params_fn)(void);
typedef void *(*load_fn)(const char *, struct blob);
typedef void *(*init_fn)(void *, struct blob);
typedef struct blob (*batch_one_fn)(int32_t *, int32_t);
typedef int32_t (*decode_fn)(void *, struct blob);
typedef void (*threads_fn)(void *, int32_t, int32_t);
typedef void (*void_fn)(void);
typedef void (*free_fn)(void *);
typedef void (*log_cb)(int, const char *, void *);
typedef void (*log_set_fn)(log_cb, void *);
typedef void (*load_all_fn)(const char *);

static void quiet(int level, const char *text, void *ud)
{
	(void)level;
	(void)text;
	(void)ud;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);
	if (p == NULL) {
		fprintf(stderr, "llm bench: %s: %s\n", name, dlerror());
		exit(2);
	}
	return p;
}

static int membw(void)
{
	const size_t n = 256u << 20;
	char *a = malloc(n), *b = malloc(n);
	if (a == NULL || b == NULL)
		return 2;
	memset(a, 1, n);
	memset(b, 2, n);
	double best = 1e9;
	for (int i = 0; i < 5; i++) {
		double t0 = now_s();
		memcpy(i % 2 ? a : b, i % 2 ? b : a, n);
		double t = now_s() - t0;
		if (t < best)
			best = t;
	}
	printf("membw copy GB/s %.2f read+write GB/s %.2f\n", (double)n / best / 1e9,
	       2.0 * (double)n / best / 1e9);
	free(a);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--membw") == 0)
		return membw();
	if (argc != 6) {
		fprintf(stderr, "usage: llm LIBDIR MODEL.gguf THREADS N_PROMPT N_GEN\n");
		return 2;
	}
	const char *dir = argv[1], *model = argv[2];
	int threads = atoi(argv[3]), n_prompt = atoi(argv[4]), n_gen = atoi(argv[5]);
	char path[4096];
	snprintf(path, sizeof(path), "%s/libggml.v0.5.0.so", dir);
	void *hg = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	snprintf(path, sizeof(path), "%s/libllama.v0.5.0.so", dir);
	void *hl = hg ? dlopen(path, RTLD_NOW | RTLD_GLOBAL) : NULL;
	if (hg == NULL || hl == NULL) {
		fprintf(stderr, "llm bench: %s\n", dlerror());
		return 2;
	}
	((log_set_fn)sym(hl, "llama_log_set"))(quiet, NULL);
	((load_all_fn)sym(hg, "ggml_backend_load_all_from_path"))(dir);
	((void_fn)sym(hl, "llama_backend_init"))();
	void *m = ((load_fn)sym(hl, "llama_model_load_from_file"))(
		model, ((model_params_fn)sym(hl, "llama_model_default_params"))());
	if (m == NULL) {
		fprintf(stderr, "llm bench: llama.cpp cannot load %s\n", model);
		return 1;
	}
	void *ctx = ((init_fn)sym(hl, "llama_init_from_model"))(
		m, ((ctx_params_fn)sym(hl, "llama_context_default_params"))());
	if (ctx == NULL) {
		fprintf(stderr, "llm bench: llama.cpp cannot make a context\n");
		return 1;
	}
	((threads_fn)sym(hl, "llama_set_n_threads"))(ctx, threads, threads);
	batch_one_fn batch_one = (batch_one_fn)sym(hl, "llama_batch_get_one");
	decode_fn decode = (decode_fn)sym(hl, "llama_decode");

	int32_t *toks = calloc((size_t)n_prompt + 1, sizeof(int32_t));
	if (toks == NULL)
		return 2;
	toks[0] = 1;
	for (int i = 1; i < n_prompt; i++)
		toks[i] = 1000 + (i * 37) % 20000; /* the same ids as bench/llm.sh gives atoll */
	double t0 = now_s();
	if (decode(ctx, batch_one(toks, n_prompt)) != 0) {
		fprintf(stderr, "llm bench: decode of the prompt failed\n");
		return 1;
	}
	double pp = now_s() - t0;
	int32_t tok = 2000;
	t0 = now_s();
	for (int i = 0; i < n_gen; i++) {
		if (decode(ctx, batch_one(&tok, 1)) != 0) {
			fprintf(stderr, "llm bench: decode failed\n");
			return 1;
		}
		tok = 2000 + i;
	}
	double tg = now_s() - t0;
	printf("llama.cpp pp %d tok/s %.2f gen %d tok/s %.2f\n", n_prompt, n_prompt / pp, n_gen,
	       n_gen / tg);
	((free_fn)sym(hl, "llama_free"))(ctx);
	((free_fn)sym(hl, "llama_model_free"))(m);
	free(toks);
	return 0;
}
