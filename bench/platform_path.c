/* bench/platform_path: one client of the whole confidential path (issue 4,
 * "Benchmarks": confidential overhead), driven by bench/platform_path.sh
 * against a real atoll-coordinator with one atoll-island and its sandboxed
 * atoll-enclave child on loopback.
 *
 *   platform_path --url URL --api-key K --keys DIR --workload W [--size B]
 *                 [--jobs N] [--warmup N]
 *     The client library in-process (no CLI process start, no polling
 *     backoff): the targets are fetched and verified against DIR/policy.json
 *     once (a client caching its verified targets), then each job is timed
 *     from seal to opened result: atl_client_seal → atl_client_submit →
 *     atl_client_job_wait (long-poll) → atl_env_result_open. Prints one line
 *     per timed job: "total seal submit wait open" in microseconds (wall).
 *   platform_path --direct --model FILE [--size B] [--jobs N] [--warmup N]
 *     The same computation called directly in-process on the same request:
 *     atl_clf_predict_json with the model already parsed. One line per call:
 *     its microseconds.
 *   platform_path --crypto --model FILE [--size B] [--jobs N] [--warmup N]
 *     The cryptography of one job alone, in-process (client seal to two
 *     recipients, enclave open with replay check, result seal of the
 *     classifier's output, client result open): an estimate of the crypto
 *     share that does not subtract two noisy whole-path times. One line per
 *     job: its microseconds.
 *
 * The request is {"instances":[[30 numbers],…]} of whole rows of
 * data/breast_cancer.csv, cycling, at most B bytes (default 65536).
 * Built in a normal build this client seals for real; built in a build
 * configured with -DATL_BENCH_PLAINTEXT=ON the same code seals with the null
 * suite (no encryption: src/crypto/envelope.c), which is the "plain" path. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atoll/classifier.h"
#include "atoll/client.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#ifndef ATL_SOURCE_DIR
#error "ATL_SOURCE_DIR must be defined (bench/CMakeLists.txt)"
#endif

#define JOB_TIMEOUT_MS 30000
#define JOBS_MAX 10000

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "bench/platform_path: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* {"instances":[[row],…]} of whole rows of d, cycling, at most cap bytes. */
static char *make_request(const struct atl_dataset *d, size_t cap, size_t *len_out)
{
	char *buf = malloc(cap + 1), row[4096];
	size_t len, rows = 0;

	if (buf == NULL || cap < 64)
		die("request", "size too small");
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
		die("request", "size below one row");
	memcpy(buf + len, "]}", 3);
	*len_out = len + 2;
	return buf;
}

struct opts {
	const char *url, *api_key, *keys, *workload, *model;
	size_t size;
	long jobs, warmup;
	bool direct, crypto;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: platform_path --url URL --api-key K --keys DIR --workload W "
		   "[--size BYTES] [--jobs N] [--warmup N]\n"
		   "       platform_path --direct|--crypto --model FILE [--size BYTES] "
		   "[--jobs N] [--warmup N]\n"
		   "Times classifier jobs through the whole confidential path with the client "
		   "library in-process\n(one line per job: total seal submit wait open, in us), "
		   "or the same computation called directly.\n");
}

static void run_direct(const struct opts *o, const char *req, size_t req_len)
{
	struct atl_clf_model *m = NULL;
	char err[ATL_CLF_ERR_LEN];

	if (atl_clf_model_load(o->model, &m) != ATL_OK)
		die("cannot load the model", o->model);
	for (long i = 0; i < o->warmup + o->jobs; i++) {
		char *resp = NULL;
		size_t len = 0;
		double t0 = now_us(), t1;

		if (atl_clf_predict_json(m, (const uint8_t *)req, req_len, &resp, &len, err) !=
			    ATL_OK ||
		    len == 0)
			die("atl_clf_predict_json", err);
		free(resp);
		t1 = now_us();
		if (i >= o->warmup)
			printf("%.1f\n", t1 - t0);
	}
	atl_clf_model_free(m);
}

/* The cryptography of one job alone, in-process, on the same request: the
 * client's seal (to an enclave key and its own client key, as
 * atl_client_seal), the enclave's open with a replay cache, its result seal
 * of the classifier's output for the request, the client's result open. */
static void run_crypto(const struct opts *o, const char *req, size_t req_len)
{
	struct atl_clf_model *m = NULL;
	struct atl_env_replay *rp = NULL;
	struct atl_env_recipient r[2] = {{{0}, "ek_"}, {{0}, "ck_"}};
	struct atl_kp ek, ck;
	char err[ATL_CLF_ERR_LEN], *out = NULL;
	size_t out_len = 0;

	if (atl_clf_model_load(o->model, &m) != ATL_OK)
		die("cannot load the model", o->model);
	if (atl_clf_predict_json(m, (const uint8_t *)req, req_len, &out, &out_len, err) != ATL_OK)
		die("atl_clf_predict_json", err);
	if (atl_kp_generate(&ek) != ATL_OK || atl_kp_generate(&ck) != ATL_OK ||
	    atl_env_replay_new(300, ATL_ENV_REPLAY_MAX, &rp) != ATL_OK)
		die("setup", NULL);
	memcpy(r[0].pub, ek.pub, sizeof(r[0].pub));
	memcpy(r[1].pub, ck.pub, sizeof(r[1].pub));
	for (long i = 0; i < o->warmup + o->jobs; i++) {
		char *env = NULL, *res = NULL;
		uint8_t *cdek = NULL, *pt = NULL, *edek = NULL, *back = NULL;
		size_t env_len = 0, pt_len = 0, res_len = 0, back_len = 0;
		int64_t now = atl_time_now();
		double t0 = now_us(), t1;

		if (atl_env_seal(r, 2, "clf", "ck_bench", now, (const uint8_t *)req, req_len, &env,
				 &env_len, &cdek) != ATL_OK ||
		    atl_env_open(env, env_len, &ek, now, rp, &pt, &pt_len, &edek, NULL) != ATL_OK ||
		    atl_env_result_seal(edek, "job_bench", "clf", (const uint8_t *)out, out_len,
					&res, &res_len) != ATL_OK ||
		    atl_env_result_open(cdek, "job_bench", "clf", res, res_len, &back,
					&back_len) != ATL_OK ||
		    back_len != out_len)
			die("crypto calls", NULL);
		atl_secret_free(cdek);
		atl_secret_free(pt);
		atl_secret_free(edek);
		atl_secret_free(back);
		free(env);
		free(res);
		t1 = now_us();
		if (i >= o->warmup)
			printf("%.1f\n", t1 - t0);
	}
	atl_env_replay_free(rp);
	atl_kp_clear(&ek);
	atl_kp_clear(&ck);
	free(out);
	atl_clf_model_free(m);
}

static void run_path(const struct opts *o, const char *req, size_t req_len)
{
	char dir[4096], used[4096], why[ATL_CLIENT_WHY_MAX], kid[ATL_KEY_ID_LEN];
	struct atl_client *c = NULL;
	struct atl_client_target *targets = NULL;
	struct atl_kp kp;
	json_t *policy = NULL;
	size_t n = 0, ok = 0;

	if (atl_client_dir(o->keys, dir, sizeof(dir)) != ATL_OK)
		die("key store", o->keys);
	if (atl_client_policy_load(dir, NULL, &policy, used, sizeof(used), why, sizeof(why)) !=
	    ATL_OK)
		die("policy", why);
	if (atl_client_key_load(dir, NULL, &kp, kid) != ATL_OK)
		die("no client key in the key store", dir);
	if (atl_client_new(o->url, o->api_key, &c) != ATL_OK)
		die("client", o->url);
	if (atl_client_targets(c, o->workload, ATL_COORD_TARGETS_MAX, policy, atl_time_now(),
			       &targets, &n) != ATL_OK)
		die("targets", atl_client_last_error(c));
	for (size_t i = 0; i < n; i++)
		ok += targets[i].v.ok;
	if (ok == 0)
		die("no target passed the policy", n > 0 ? targets[0].v.why : "none listed");
	for (long i = 0; i < o->warmup + o->jobs; i++) {
		struct atl_client_job job = {0};
		char *env = NULL, id[ATL_ENV_ID_MAX + 1];
		uint8_t *dek = NULL, *pt = NULL;
		size_t env_len = 0, pt_len = 0;
		double t0, t1, t2, t3, t4;
		enum atl_err rc;

		t0 = now_us();
		if (atl_client_seal(targets, n, &kp, o->workload, atl_time_now(),
				    (const uint8_t *)req, req_len, &env, &env_len, &dek) != ATL_OK)
			die("seal", NULL);
		t1 = now_us();
		if (atl_client_submit(c, o->workload, kid, env, id) != ATL_OK)
			die("submit", atl_client_last_error(c));
		t2 = now_us();
		rc = atl_client_job_wait(c, id, JOB_TIMEOUT_MS, &job);
		if (rc != ATL_OK || strcmp(job.status, "done") != 0 || job.result == NULL) {
			fprintf(stderr, "bench/platform_path: job %s: %s %s %s\n", id, job.status,
				job.err_code, job.err_msg);
			die("job not done", rc != ATL_OK ? atl_strerror(rc) : NULL);
		}
		t3 = now_us();
		if (atl_env_result_open(dek, id, o->workload, job.result, job.result_len, &pt,
					&pt_len) != ATL_OK ||
		    pt_len < 16 || memcmp(pt, "{\"predictions\":", 15) != 0)
			die("the result does not open to predictions", id);
		t4 = now_us();
		if (i >= o->warmup)
			printf("%.1f %.1f %.1f %.1f %.1f\n", t4 - t0, t1 - t0, t2 - t1, t3 - t2,
			       t4 - t3);
		atl_secret_free(pt);
		atl_secret_free(dek);
		atl_client_job_clear(&job);
		free(env);
	}
	free(targets);
	json_decref(policy);
	atl_kp_clear(&kp);
	atl_client_free(c);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"url", required_argument, NULL, 'u'},   {"api-key", required_argument, NULL, 'k'},
		{"keys", required_argument, NULL, 'K'},  {"workload", required_argument, NULL, 'w'},
		{"model", required_argument, NULL, 'm'}, {"size", required_argument, NULL, 's'},
		{"jobs", required_argument, NULL, 'n'},  {"warmup", required_argument, NULL, 'W'},
		{"direct", no_argument, NULL, 'd'},      {"help", no_argument, NULL, 'h'},
		{"crypto", no_argument, NULL, 'c'},
		{NULL, 0, NULL, 0}};
	struct opts o = {.size = 64 * 1024, .jobs = 20, .warmup = 2};
	struct atl_dataset *d = NULL;
	char err[ATL_CLF_ERR_LEN] = "", *req;
	uint8_t *csv = NULL;
	size_t csv_len = 0, req_len = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 'k': o.api_key = optarg; break;
		case 'K': o.keys = optarg; break;
		case 'w': o.workload = optarg; break;
		case 'm': o.model = optarg; break;
		case 's': o.size = strtoul(optarg, NULL, 10); break;
		case 'n': o.jobs = strtol(optarg, NULL, 10); break;
		case 'W': o.warmup = strtol(optarg, NULL, 10); break;
		case 'd': o.direct = true; break;
		case 'c': o.crypto = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || o.jobs < 1 || o.jobs > JOBS_MAX || o.warmup < 0 ||
	    o.warmup > JOBS_MAX || o.size < 64 || o.size > ATL_ENV_PAYLOAD_MAX ||
	    (o.direct && o.crypto) ||
	    (o.direct || o.crypto ? o.model == NULL
		      : (o.url == NULL || o.api_key == NULL || o.keys == NULL ||
			 o.workload == NULL))) {
		usage(stderr);
		return 2;
	}
	if (atl_file_read(ATL_SOURCE_DIR "/data/breast_cancer.csv", ATL_DATASET_SIZE_MAX, &csv,
			  &csv_len) != ATL_OK ||
	    atl_dataset_parse_csv((const char *)csv, csv_len, true, &d, err) != ATL_OK)
		die("reading data/breast_cancer.csv", err);
	req = make_request(d, o.size, &req_len);
#ifdef ATL_BENCH_PLAINTEXT
	fprintf(stderr, "bench/platform_path: PLAIN build (null suite, no encryption), "
			"request %zu bytes\n", req_len);
#endif
	if (o.direct)
		run_direct(&o, req, req_len);
	else if (o.crypto)
		run_crypto(&o, req, req_len);
	else
		run_path(&o, req, req_len);
	free(req);
	atl_dataset_free(d);
	free(csv);
	return 0;
}
