/* bench/platform: the confidential overhead of classifier batch inference
 * (issue 4, "Benchmarks"), for 1 KiB and 64 KiB prediction requests made of
 * real rows of data/breast_cancer.csv, with a model trained here on that file.
 *
 * Paths, all on the same request in the same run:
 *   direct  atl_clf_predict_json in-process, model already parsed: the
 *           computation alone;
 *   sealed  the whole local confidential path without network, calling the
 *           functions the enclave calls (src/enclave/serve.c on_job): client
 *           atl_env_seal to the enclave key → enclave atl_env_open with a
 *           replay cache → the enclave's `classifier` workload (model file
 *           read, SHA-256 pin check, parse, prediction) →
 *           atl_env_result_seal → client atl_env_result_open;
 *   plain   the same path with encryption off (a switch of this benchmark
 *           only): no seal or open, the workload runs on the plaintext
 *           request and the client takes its output as is;
 *   crypto  the four envelope calls of `sealed` alone (seal, open with replay,
 *           result seal, result open) on the same request and on the
 *           workload's output for it: where the difference goes;
 *   enclave sealed, through a real atoll-enclave child (sim TEE, sandboxed)
 *           over its socketpair (atl_enclave_job: the JOB message and its JSON
 *           included), when ATL_BINARY_DIR/bin/atoll-enclave is built; the
 *           child's CPU time is not ours, so this one compares by wall time.
 * Printed: direct/sealed and plain/sealed (time ratios; 1.0 = as fast as the
 * sealed path) and the cryptographic share of the end-to-end time,
 * (sealed - plain) / sealed, against the 3% target at 64 KiB (PASS/MISS;
 * never a failure). Not included: the JOB message framing and JSON of the
 * enclave channel, HTTP and the coordinator (bench/platform_e2e.sh measures
 * those end to end).
 *
 * Timing: process CPU time (single-threaded), the paths in alternating rounds,
 * best round of each; wall time of the same rounds is printed alongside.
 * ATL_BENCH_MS sets the time per round (default 100 ms); 5 rounds. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atoll/classifier.h"
#include "atoll/digest.h"
#include "atoll/enclave.h"
#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

#ifndef ATL_SOURCE_DIR
#error "ATL_SOURCE_DIR must be defined (bench/CMakeLists.txt)"
#endif

#define ROUNDS 5
#define WORKLOAD_ID "bench-bc"
#define JOB_ID "job_bench"
/* Replay digests one round may record; a fresh cache each round. */
#define ROUND_OPS_MAX 60000L

struct ctx {
	struct atl_clf_model *model; /* parsed once: the direct path */
	const struct atl_enclave_workload *w;
	json_t *params;              /* {"model":PATH,"model_sha256":HEX} */
	struct atl_kp enclave_kp;
	struct atl_env_replay *replay;
	const uint8_t *req;
	size_t req_len;
	uint8_t *resp; /* the workload's output for req (the crypto path) */
	size_t resp_len;
	/* the enclave path: a real atoll-enclave child over its socketpair */
	int enc_fd;
	uint8_t enc_pub[ATL_X25519_LEN];
};

static void die(const char *what)
{
	fprintf(stderr, "bench/platform: %s failed\n", what);
	exit(1);
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void op_direct(struct ctx *c)
{
	char err[ATL_CLF_ERR_LEN];
	char *resp = NULL;
	size_t len = 0;

	if (atl_clf_predict_json(c->model, c->req, c->req_len, &resp, &len, err) != ATL_OK ||
	    len == 0)
		die("atl_clf_predict_json");
	free(resp);
}

static void op_sealed(struct ctx *c)
{
	struct atl_env_recipient r = {{0}, "ek_"};
	struct atl_env_info info;
	char *env = NULL, *res = NULL;
	uint8_t *client_dek = NULL, *pt = NULL, *dek = NULL, *out = NULL, *back = NULL;
	size_t env_len = 0, pt_len = 0, out_len = 0, res_len = 0, back_len = 0;
	int64_t now = atl_time_now();

	memcpy(r.pub, c->enclave_kp.pub, sizeof(r.pub));
	/* client */
	if (atl_env_seal(&r, 1, WORKLOAD_ID, "ck_bench", now, c->req, c->req_len, &env, &env_len,
			 &client_dek) != ATL_OK)
		die("atl_env_seal");
	/* enclave (serve.c on_job, without the channel) */
	if (atl_env_open(env, env_len, &c->enclave_kp, now, c->replay, &pt, &pt_len, &dek,
			 &info) != ATL_OK ||
	    strcmp(info.workload_id, WORKLOAD_ID) != 0)
		die("atl_env_open");
	if (c->w->run(c->params, pt, pt_len, &out, &out_len) != ATL_OK)
		die("classifier workload");
	if (atl_env_result_seal(dek, JOB_ID, WORKLOAD_ID, out, out_len, &res, &res_len) != ATL_OK)
		die("atl_env_result_seal");
	/* client */
	if (atl_env_result_open(client_dek, JOB_ID, WORKLOAD_ID, res, res_len, &back,
				&back_len) != ATL_OK ||
	    back_len != out_len)
		die("atl_env_result_open");
	atl_secret_free(client_dek);
	atl_secret_free(pt);
	atl_secret_free(dek);
	atl_secret_free(out);
	atl_secret_free(back);
	free(env);
	free(res);
}

/* The cryptography of the sealed path alone: its four envelope calls on the
 * same request and on the workload's output for it, no workload. */
static void op_crypto(struct ctx *c)
{
	struct atl_env_recipient r = {{0}, "ek_"};
	char *env = NULL, *res = NULL;
	uint8_t *client_dek = NULL, *pt = NULL, *dek = NULL, *back = NULL;
	size_t env_len = 0, pt_len = 0, res_len = 0, back_len = 0;
	int64_t now = atl_time_now();

	memcpy(r.pub, c->enclave_kp.pub, sizeof(r.pub));
	if (atl_env_seal(&r, 1, WORKLOAD_ID, "ck_bench", now, c->req, c->req_len, &env, &env_len,
			 &client_dek) != ATL_OK ||
	    atl_env_open(env, env_len, &c->enclave_kp, now, c->replay, &pt, &pt_len, &dek,
			 NULL) != ATL_OK ||
	    atl_env_result_seal(dek, JOB_ID, WORKLOAD_ID, c->resp, c->resp_len, &res,
				&res_len) != ATL_OK ||
	    atl_env_result_open(client_dek, JOB_ID, WORKLOAD_ID, res, res_len, &back,
				&back_len) != ATL_OK)
		die("crypto path");
	atl_secret_free(client_dek);
	atl_secret_free(pt);
	atl_secret_free(dek);
	atl_secret_free(back);
	free(env);
	free(res);
}

/* The sealed path through a real atoll-enclave process: the JOB message, its
 * JSON and the channel included. Its CPU time is in another process, so this
 * path is compared by wall time. */
static void op_enclave(struct ctx *c)
{
	struct atl_env_recipient r = {{0}, "ek_"};
	char *env = NULL, *res = NULL, why[128];
	uint8_t *client_dek = NULL, *back = NULL;
	size_t env_len = 0, res_len = 0, back_len = 0;

	memcpy(r.pub, c->enc_pub, sizeof(r.pub));
	if (atl_env_seal(&r, 1, WORKLOAD_ID, "ck_bench", atl_time_now(), c->req, c->req_len, &env,
			 &env_len, &client_dek) != ATL_OK)
		die("atl_env_seal");
	if (atl_enclave_job(c->enc_fd, JOB_ID, WORKLOAD_ID, "classifier", c->params, env, env_len,
			    30000, &res, &res_len, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "bench/platform: enclave: %s\n", why);
		die("atl_enclave_job");
	}
	if (atl_env_result_open(client_dek, JOB_ID, WORKLOAD_ID, res, res_len, &back,
				&back_len) != ATL_OK ||
	    back_len == 0)
		die("atl_env_result_open (enclave)");
	atl_secret_free(client_dek);
	atl_secret_free(back);
	free(env);
	free(res);
}

/* Starts ATL_BINARY_DIR/bin/atoll-enclave (sim TEE, sandboxed) and learns its
 * key from its evidence (not verified: this is a benchmark). false if the
 * binary is not built. */
static bool enclave_start(struct ctx *c, const char *dir, pid_t *pid_out)
{
	char root[96], *wrapper = NULL;
	char *argv[] = {ATL_BINARY_DIR "/bin/atoll-enclave", "--tee", "sim", "--sim-root", root,
			"--serve", "--fd", "3", NULL};
	uint8_t nonce[16] = {1, 2, 3};
	size_t wlen = 0;
	struct atl_evidence ev;

	if (access(argv[0], X_OK) != 0)
		return false;
	snprintf(root, sizeof(root), "%s/sim", dir);
	if (atl_sim_root_create(root) != ATL_OK ||
	    atl_enclave_spawn(argv, pid_out, &c->enc_fd) != ATL_OK ||
	    atl_enclave_attest(c->enc_fd, nonce, sizeof(nonce), 10000, &wrapper, &wlen) != ATL_OK ||
	    atl_evidence_parse((const uint8_t *)wrapper, wlen, &ev, NULL, 0) != ATL_OK)
		die("starting atoll-enclave");
	memcpy(c->enc_pub, ev.enclave_key, sizeof(c->enc_pub));
	atl_evidence_clear(&ev);
	free(wrapper);
	return true;
}

/* Encryption off: the workload on the plaintext, its output handed over. */
static void op_plain(struct ctx *c)
{
	uint8_t *out = NULL;
	size_t out_len = 0;

	if (c->w->run(c->params, c->req, c->req_len, &out, &out_len) != ATL_OK || out_len == 0)
		die("classifier workload");
	atl_secret_free(out);
}

struct timing {
	double cpu, wall; /* seconds per operation, best round */
};

/* One round of about round_s CPU seconds; keeps the best per-op times. */
static void round_time(void (*op)(struct ctx *), struct ctx *c, double round_s, struct timing *best)
{
	double c0, w0, t;
	long n = 0;

	/* A fresh replay cache per round, outside the timed region. */
	atl_env_replay_free(c->replay);
	c->replay = NULL;
	if (atl_env_replay_new(300, ATL_ENV_REPLAY_MAX, &c->replay) != ATL_OK)
		die("atl_env_replay_new");
	w0 = wall_s();
	c0 = cpu_s();
	do {
		op(c);
		n++;
		t = cpu_s();
	} while (t - c0 < round_s && n < ROUND_OPS_MAX);
	if ((t - c0) / (double)n < best->cpu)
		best->cpu = (t - c0) / (double)n;
	t = wall_s();
	if ((t - w0) / (double)n < best->wall)
		best->wall = (t - w0) / (double)n;
}

/* {"instances":[[row],…]} of whole rows of d, cycling, at most cap bytes. */
static char *make_request(const struct atl_dataset *d, size_t cap, size_t *len_out, size_t *rows_out)
{
	char *buf = malloc(cap + 1), row[4096];
	size_t len = 0, rows = 0;

	if (buf == NULL)
		die("malloc");
	len = (size_t)snprintf(buf, cap + 1, "{\"instances\":[");
	for (size_t i = 0;; i = (i + 1) % d->n_rows) {
		size_t rl = 0;

		row[rl++] = rows > 0 ? ',' : '[';
		if (rows > 0)
			row[rl++] = '[';
		for (size_t f = 0; f < d->n_features; f++)
			rl += (size_t)snprintf(row + rl, sizeof(row) - rl, "%s%.17g", f ? "," : "",
					       d->x[i * d->n_features + f]);
		row[rl++] = ']';
		if (len + rl + 2 > cap)
			break;
		memcpy(buf + len, row, rl);
		len += rl;
		rows++;
	}
	if (rows == 0)
		die("request: cap below one row");
	memcpy(buf + len, "]}", 3);
	len += 2;
	*len_out = len;
	*rows_out = rows;
	return buf;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {1024, 64 * 1024};
	static const struct {
		const char *name;
		void (*op)(struct ctx *);
	} paths[] = {{"direct", op_direct},
		     {"sealed", op_sealed},
		     {"plain", op_plain},
		     {"crypto", op_crypto},
		     {"enclave", op_enclave}};
	enum {
		NP = sizeof(paths) / sizeof(paths[0]),
		DIRECT = 0,
		SEALED = 1,
		PLAIN = 2,
		CRYPTO = 3,
		ENCLAVE = 4
	};
	const char *ms = getenv("ATL_BENCH_MS");
	double round_s = (ms != NULL && atoi(ms) > 0 ? atoi(ms) : 100) / 1000.0;
	char dir[] = "/tmp/atl_bench_platform.XXXXXX", model_path[64], hex[65];
	char err[ATL_CLF_ERR_LEN] = "";
	uint8_t *csv = NULL, digest[32];
	size_t csv_len = 0, model_len = 0;
	char *model_json = NULL;
	struct atl_dataset *d = NULL;
	struct atl_clf_report rep;
	struct ctx c;
	double share64 = -1, crypto64 = -1;
	pid_t enc_pid = -1;
	bool have_enclave;

	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	if (argc > 1) {
		fprintf(stderr, "usage: %s   (ATL_BENCH_MS=per-round milliseconds)\n", argv[0]);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	/* Train on the UCI data; the model file is what the enclave workload reads. */
	if (atl_file_read(ATL_SOURCE_DIR "/data/breast_cancer.csv", ATL_DATASET_SIZE_MAX, &csv,
			  &csv_len) != ATL_OK ||
	    atl_dataset_parse_csv((const char *)csv, csv_len, true, &d, err) != ATL_OK)
		die("reading data/breast_cancer.csv");
	if (atl_clf_train(d, NULL, &c.model, &rep, err) != ATL_OK ||
	    atl_clf_model_write(c.model, &model_json, &model_len) != ATL_OK)
		die("training");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(model_path, sizeof(model_path), "%s/model.json", dir);
	if (atl_file_write(model_path, model_json, model_len, 0600, 0) != ATL_OK ||
	    atl_hash(ATL_HASH_SHA256, model_json, model_len, digest) != ATL_OK ||
	    atl_hex_encode(digest, sizeof(digest), hex, sizeof(hex)) != ATL_OK)
		die("model file");
	c.params = json_pack("{s:s, s:s}", "model", model_path, "model_sha256", hex);
	c.w = atl_enclave_workload_find("classifier");
	if (c.params == NULL || c.w == NULL || atl_kp_generate(&c.enclave_kp) != ATL_OK)
		die("setup");
	c.enc_fd = -1;
	have_enclave = enclave_start(&c, dir, &enc_pid);

	printf("bench/platform: classifier batch inference, %zu rows x %zu features trained "
	       "(test accuracy %.3f); CPU time per request, best of %d rounds of %.0f ms\n",
	       d->n_rows, d->n_features, rep.test_accuracy, ROUNDS, round_s * 1000);
	printf("%-7s %5s %-7s %11s %11s %9s\n", "size", "rows", "path", "cpu us/req", "wall us/req",
	       "vs sealed");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct timing best[NP];
		size_t rows = 0;
		char *req = make_request(d, sizes[s], &c.req_len, &rows);
		double share;

		c.req = (const uint8_t *)req;
		if (c.w->run(c.params, c.req, c.req_len, &c.resp, &c.resp_len) != ATL_OK)
			die("classifier workload");
		for (size_t p = 0; p < NP; p++) {
			best[p].cpu = best[p].wall = 1e30;
			if (p != ENCLAVE || have_enclave)
				paths[p].op(&c); /* warm up */
		}
		for (int r = 0; r < ROUNDS; r++)
			for (size_t p = 0; p < NP; p++)
				if (p != ENCLAVE || have_enclave)
					round_time(paths[p].op, &c, round_s, &best[p]);
		for (size_t p = 0; p < ENCLAVE; p++) {
			char label[32];
			snprintf(label, sizeof(label), "%zu KiB", sizes[s] / 1024);
			printf("%-7s %5zu %-7s %11.1f %11.1f %9.3f\n", label, rows, paths[p].name,
			       best[p].cpu * 1e6, best[p].wall * 1e6, best[p].cpu / best[SEALED].cpu);
		}
		share = (best[SEALED].cpu - best[PLAIN].cpu) / best[SEALED].cpu;
		printf("%-7s request %zu bytes: direct/sealed %.3f, plain/sealed %.3f, "
		       "crypto share of end-to-end %.2f%%\n",
		       "", c.req_len, best[DIRECT].cpu / best[SEALED].cpu,
		       best[PLAIN].cpu / best[SEALED].cpu, share * 100);
		printf("%-7s crypto calls alone / sealed %.3f (response %zu bytes)\n", "",
		       best[CRYPTO].cpu / best[SEALED].cpu, c.resp_len);
		if (have_enclave)
			printf("%-7s real atoll-enclave over its socketpair: %.1f us/req wall; "
			       "sealed/enclave (wall) %.3f, plain/enclave (wall) %.3f\n",
			       "", best[ENCLAVE].wall * 1e6, best[SEALED].wall / best[ENCLAVE].wall,
			       best[PLAIN].wall / best[ENCLAVE].wall);
		if (sizes[s] == 64 * 1024) {
			share64 = share;
			crypto64 = best[CRYPTO].cpu / best[SEALED].cpu;
		}
		atl_secret_free(c.resp);
		c.resp = NULL;
		free(req);
	}
	/* (sealed - plain) subtracts two noisy times; the crypto path alone
	 * over sealed estimates the same share independently. */
	printf("crypto share at 64 KiB: %.2f%% (target <= 3%%): %s  "
	       "[crypto calls alone / sealed: %.2f%%]\n",
	       share64 * 100, share64 <= 0.03 ? "PASS" : "MISS", crypto64 * 100);

	if (have_enclave) {
		char path[128];

		atl_enclave_stop(enc_pid, c.enc_fd, 2000);
		snprintf(path, sizeof(path), "%s/sim/%s", dir, ATL_SIM_ROOT_KEY_FILE);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/sim/%s", dir, ATL_SIM_ROOT_PUB_FILE);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/sim", dir);
		(void)rmdir(path);
	} else {
		printf("(enclave path skipped: %s/bin/atoll-enclave not built)\n", ATL_BINARY_DIR);
	}
	if (unlink(model_path) != 0 || rmdir(dir) != 0)
		fprintf(stderr, "bench/platform: cannot remove %s\n", dir);
	json_decref(c.params);
	atl_env_replay_free(c.replay);
	atl_kp_clear(&c.enclave_kp);
	atl_clf_model_free(c.model);
	atl_dataset_free(d);
	free(model_json);
	free(csv);
	return 0;
}
