/* Test peer for tests/integration/coordinator_api.sh: a minimal island and a
 * minimal client speaking the platform API (platform-api.md) to a real
 * atoll-coordinator, with a real sandboxed atoll-enclave behind the island.
 * Not the product island/client (src/island/, src/cli/): just enough to drive
 * the coordinator end to end from a test.
 *
 *   coordinator_peer policy ROOT_DIR ENCLAVE MAX_AGE_S OUT.json
 *       creates a sim root in ROOT_DIR and writes a policy accepting ENCLAVE
 *   coordinator_peer island URL TOKEN ENCLAVE ROOT_DIR [options]
 *       --jobs N         jobs to run before exiting (default 1; 0: only attest)
 *       --abandon        lease one job and exit without answering it
 *       --ready FILE     written (enclave kid) once attested
 *       --gate FILE      wait for FILE to exist before leasing
 *       --leased FILE    written (job id) when a job is leased
 *       --replay-check   post the same evidence again: must be refused (403)
 *       --reattest       attest a second time (new nonce, same enclave key)
 *       --timeout S      give up after S seconds (default 60)
 *   coordinator_peer client URL API_KEY WORKLOAD POLICY INPUT OUT [options]
 *       --min N          wait for at least N verified targets (default 1)
 *       --count N        targets to ask for (default 3)
 *       --job FILE       written (job id) once submitted
 *       --no-wait        exit once the job is queued
 *       --delay-submit S seal, wait S seconds, then submit
 *       --expect-status N  the submit must answer N (body printed); exit 0 then
 *       --timeout S      (default 60)
 *   Every coordinator response body is appended to $PEER_RESPONSES when set
 *   (the canary check greps them). Exit 0 ok, 1 failed, 2 usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/digest.h"
#include "atoll/enclave.h"
#include "atoll/encoding.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

#define T_MS 30000

static struct atl_http_client *cli;
static char base[256];

static void record(const struct atl_http_response *r)
{
	const char *p = getenv("PEER_RESPONSES");
	FILE *f;

	if (p == NULL || r->body == NULL)
		return;
	f = fopen(p, "ab");
	if (f == NULL)
		return;
	fwrite(r->body, 1, r->body_len, f);
	fputc('\n', f);
	fclose(f);
}

/* One call; *json_out parsed when the body is JSON. Returns the status or -1. */
static long call(const char *method, const char *path, const char *body, json_t **json_out,
		 struct atl_http_response *raw_out)
{
	char url[512];
	struct atl_http_call c = {0};
	struct atl_http_response r = {0};
	long st;

	if (json_out != NULL)
		*json_out = NULL;
	snprintf(url, sizeof(url), "%s%s", base, path);
	c.method = method;
	c.url = url;
	c.body = body;
	c.body_len = body != NULL ? strlen(body) : 0;
	c.timeout_ms = 60000;
	if (atl_http_client_do(cli, &c, &r) != ATL_OK)
		return -1;
	record(&r);
	st = r.status;
	if (json_out != NULL && r.body_len > 0 &&
	    atl_json_parse((const char *)r.body, r.body_len, json_out) != ATL_OK)
		*json_out = NULL;
	if (raw_out != NULL)
		*raw_out = r;
	else
		atl_http_response_clear(&r);
	return st;
}

static int client_for(const char *url, const char *bearer)
{
	struct atl_http_client_opts o = {.bearer = bearer, .timeout_ms = 60000};

	snprintf(base, sizeof(base), "%s", url);
	return atl_http_client_new(&o, &cli) == ATL_OK ? 0 : -1;
}

static void write_text(const char *path, const char *s)
{
	if (path != NULL && atl_file_write(path, s, strlen(s), 0600, 0) != ATL_OK)
		fprintf(stderr, "peer: cannot write %s\n", path);
}

/* ---------------------------------------------------------------- policy */

static int cmd_policy(int argc, char **argv)
{
	char pem_path[1024], meas_hex[97], *txt = NULL;
	uint8_t meas[48], *pem = NULL;
	size_t pem_len = 0;
	json_t *p = NULL;
	int ret = 1;

	if (argc != 5)
		return 2;
	if (atl_sim_root_create(argv[1]) != ATL_OK)
		return 1;
	snprintf(pem_path, sizeof(pem_path), "%s/%s", argv[1], ATL_SIM_ROOT_PUB_FILE);
	if (atl_file_read(pem_path, 65536, &pem, &pem_len) != ATL_OK ||
	    atl_sim_measure(argv[2], meas) != ATL_OK ||
	    atl_hex_encode(meas, sizeof(meas), meas_hex, sizeof(meas_hex)) != ATL_OK)
		goto out;
	p = json_pack("{s:[s], s:b, s:b, s:I, s:{s:[s]}, s:{s:s}}", "tee_types", "sim",
		      "allow_sim", 1, "allow_debug", 0, "max_age_s",
		      (json_int_t)atoll(argv[3]), "measurements", "sim", meas_hex,
		      "trust_anchors", "sim", (const char *)pem);
	if (p == NULL || atl_policy_validate(p, NULL, 0) != ATL_OK ||
	    (txt = atl_json_dump_pretty(p)) == NULL)
		goto out;
	write_text(argv[4], txt);
	ret = 0;
out:
	free(pem);
	free(txt);
	json_decref(p);
	return ret;
}

/* ---------------------------------------------------------------- island */

struct island_opts {
	long jobs;
	bool abandon, replay_check, reattest;
	const char *ready, *gate, *leased;
	long timeout_s;
};

static int attest(int fd, struct island_opts *o)
{
	json_t *ch = NULL, *resp = NULL, *ev = NULL, *body = NULL;
	uint8_t nonce[64];
	size_t nonce_len = 0, wl = 0;
	const char *nonce_hex;
	char *wrapper = NULL, *btxt = NULL;
	long st;
	int ret = 1;

	st = call("POST", "/api/v1/islands/challenge", "{}", &ch, NULL);
	nonce_hex = json_string_value(json_object_get(ch, "nonce"));
	if (st != 200 || nonce_hex == NULL ||
	    atl_hex_decode(nonce_hex, strlen(nonce_hex), nonce, sizeof(nonce), &nonce_len) != ATL_OK) {
		fprintf(stderr, "peer island: challenge failed (%ld)\n", st);
		goto out;
	}
	if (atl_enclave_attest(fd, nonce, nonce_len, T_MS, &wrapper, &wl) != ATL_OK ||
	    atl_json_parse(wrapper, wl, &ev) != ATL_OK) {
		fprintf(stderr, "peer island: no evidence from the enclave\n");
		goto out;
	}
	body = json_pack("{s:s, s:O}", "nonce", nonce_hex, "evidence", ev);
	btxt = body != NULL ? atl_json_dump(body) : NULL;
	if (btxt == NULL)
		goto out;
	st = call("POST", "/api/v1/islands/evidence", btxt, &resp, NULL);
	if (st != 200) {
		char *t = resp != NULL ? atl_json_dump(resp) : NULL;
		/* the coordinator's answer on stdout for the test to check */
		printf("evidence %ld %s\n", st, t != NULL ? t : "");
		fflush(stdout);
		free(t);
		goto out;
	}
	fprintf(stderr, "peer island: attested as %s\n",
		json_string_value(json_object_get(resp, "key_id")));
	if (o->replay_check) {
		json_t *r2 = NULL;
		long st2 = call("POST", "/api/v1/islands/evidence", btxt, &r2, NULL);
		const char *code = json_string_value(
			json_object_get(json_object_get(r2, "error"), "code"));
		bool ok = st2 == 403 && code != NULL && strcmp(code, "attestation_refused") == 0;
		printf("replay %s %ld\n", ok ? "refused" : "ACCEPTED", st2);
		fflush(stdout);
		json_decref(r2);
		if (!ok)
			goto out;
	}
	write_text(o->ready, json_string_value(json_object_get(resp, "key_id")));
	ret = 0;
out:
	free(wrapper);
	free(btxt);
	json_decref(ch);
	json_decref(resp);
	json_decref(ev);
	json_decref(body);
	return ret;
}

/* Runs one leased job in the enclave and answers the coordinator. */
static int run_job(int fd, const json_t *lease, const char *tmpdir)
{
	const char *job_id = json_string_value(json_object_get(lease, "job_id"));
	const char *wid = json_string_value(json_object_get(lease, "workload_id"));
	const char *kind = json_string_value(json_object_get(lease, "kind"));
	const char *sha = json_string_value(json_object_get(lease, "model_sha256"));
	char path[600], mpath[600], why[256], *env = NULL, *res = NULL, *body = NULL;
	size_t res_len = 0;
	json_t *params = NULL, *rj = NULL, *b = NULL;
	enum atl_err rc;
	long st;
	int ret = 1;

	if (job_id == NULL || wid == NULL || kind == NULL)
		return 1;
	env = atl_json_dump(json_object_get(lease, "envelope"));
	if (env == NULL)
		goto out;
	if (sha != NULL) {
		struct atl_http_response raw = {0};
		snprintf(path, sizeof(path), "/api/v1/islands/models/%s", wid);
		st = call("GET", path, NULL, NULL, &raw);
		snprintf(mpath, sizeof(mpath), "%s/model-%s", tmpdir, wid);
		if (st != 200 || atl_file_write(mpath, raw.body, raw.body_len, 0600, 0) != ATL_OK) {
			atl_http_response_clear(&raw);
			fprintf(stderr, "peer island: model download failed (%ld)\n", st);
			goto out;
		}
		atl_http_response_clear(&raw);
		params = json_pack("{s:s, s:s}", "model", mpath, "model_sha256", sha);
	}
	why[0] = '\0';
	rc = atl_enclave_job(fd, job_id, wid, kind, params, env, strlen(env), T_MS, &res, &res_len,
			     why, sizeof(why));
	snprintf(path, sizeof(path), "/api/v1/islands/jobs/%s/%s", job_id,
		 rc == ATL_OK ? "result" : "fail");
	if (rc == ATL_OK) {
		if (atl_json_parse(res, res_len, &rj) != ATL_OK)
			goto out;
		b = json_pack("{s:O}", "result", rj);
	} else {
		fprintf(stderr, "peer island: enclave refused job %s: %s\n", job_id, why);
		b = json_pack("{s:s, s:s}", "code", atl_err_name(rc), "message", why);
	}
	body = b != NULL ? atl_json_dump(b) : NULL;
	if (body == NULL)
		goto out;
	st = call("POST", path, body, NULL, NULL);
	fprintf(stderr, "peer island: job %s answered (%ld)\n", job_id, st);
	ret = st == 200 ? 0 : 1;
out:
	free(env);
	free(res);
	free(body);
	json_decref(params);
	json_decref(rj);
	json_decref(b);
	return ret;
}

static int cmd_island(int argc, char **argv)
{
	struct island_opts o = {.jobs = 1, .timeout_s = 60};
	char *args[8];
	char tmpdir[] = "/tmp/atl_peer.XXXXXX";
	pid_t pid = -1;
	int fd = -1, ret = 1, i;
	long done = 0;
	int64_t deadline;

	if (argc < 5)
		return 2;
	for (i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			o.jobs = atol(argv[++i]);
		else if (strcmp(argv[i], "--abandon") == 0)
			o.abandon = true;
		else if (strcmp(argv[i], "--replay-check") == 0)
			o.replay_check = true;
		else if (strcmp(argv[i], "--reattest") == 0)
			o.reattest = true;
		else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc)
			o.ready = argv[++i];
		else if (strcmp(argv[i], "--gate") == 0 && i + 1 < argc)
			o.gate = argv[++i];
		else if (strcmp(argv[i], "--leased") == 0 && i + 1 < argc)
			o.leased = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			o.timeout_s = atol(argv[++i]);
		else
			return 2;
	}
	deadline = atl_time_mono_ms() + o.timeout_s * 1000;
	if (client_for(argv[1], argv[2]) != 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	args[0] = argv[3];
	args[1] = (char *)"--serve";
	args[2] = (char *)"--tee";
	args[3] = (char *)"sim";
	args[4] = (char *)"--sim-root";
	args[5] = argv[4];
	args[6] = NULL;
	if (atl_enclave_spawn(args, &pid, &fd) != ATL_OK || atl_enclave_ping(fd, T_MS) != ATL_OK) {
		fprintf(stderr, "peer island: enclave did not start\n");
		goto out;
	}
	if (attest(fd, &o) != 0)
		goto out;
	if (o.reattest) {
		o.replay_check = false;
		if (attest(fd, &o) != 0)
			goto out;
		printf("reattest ok\n");
		fflush(stdout);
	}
	if (o.gate != NULL) {
		struct stat sb;
		while (stat(o.gate, &sb) != 0 && atl_time_mono_ms() < deadline)
			usleep(50000);
	}
	while (done < o.jobs && atl_time_mono_ms() < deadline) {
		json_t *lease = NULL;
		long st = call("GET", "/api/v1/islands/lease?wait=2", NULL, &lease, NULL);

		if (st == 204) {
			continue;
		}
		if (st != 200) {
			fprintf(stderr, "peer island: lease answered %ld\n", st);
			printf("lease %ld\n", st);
			fflush(stdout);
			json_decref(lease);
			goto out;
		}
		write_text(o.leased, json_string_value(json_object_get(lease, "job_id")));
		if (o.abandon) {
			json_decref(lease);
			ret = 0;
			goto out;
		}
		if (run_job(fd, lease, tmpdir) != 0) {
			json_decref(lease);
			goto out;
		}
		json_decref(lease);
		done++;
	}
	ret = done == o.jobs ? 0 : 1;
out:
	if (pid > 0)
		atl_enclave_stop(pid, fd, 2000);
	{
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "peer island: cannot remove %s\n", tmpdir);
	}
	atl_http_client_free(cli);
	return ret;
}

/* ---------------------------------------------------------------- client */

static int cmd_client(int argc, char **argv)
{
	const char *url, *key, *wid, *policy_path, *in_path, *out_path, *job_file = NULL;
	long min = 1, count = 3, timeout_s = 60, delay_s = 0, expect = 201;
	bool no_wait = false;
	struct atl_env_recipient rc_list[ATL_ENV_RECIPIENTS_MAX];
	struct atl_kp ck = {0};
	char ckid[ATL_KEY_ID_LEN], path[512], why[256], job_id[128] = "";
	uint8_t *in = NULL, *dek = NULL, *pt = NULL;
	size_t in_len = 0, n = 0, env_len = 0, pt_len = 0;
	char *env = NULL, *btxt = NULL;
	json_t *policy = NULL, *targets = NULL, *envj = NULL, *body = NULL, *resp = NULL;
	int64_t deadline;
	int ret = 1;

	if (argc < 7)
		return 2;
	url = argv[1];
	key = argv[2];
	wid = argv[3];
	policy_path = argv[4];
	in_path = argv[5];
	out_path = argv[6];
	for (int i = 7; i < argc; i++) {
		if (strcmp(argv[i], "--min") == 0 && i + 1 < argc)
			min = atol(argv[++i]);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else if (strcmp(argv[i], "--job") == 0 && i + 1 < argc)
			job_file = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_s = atol(argv[++i]);
		else if (strcmp(argv[i], "--no-wait") == 0)
			no_wait = true;
		else if (strcmp(argv[i], "--delay-submit") == 0 && i + 1 < argc)
			delay_s = atol(argv[++i]);
		else if (strcmp(argv[i], "--expect-status") == 0 && i + 1 < argc)
			expect = atol(argv[++i]);
		else
			return 2;
	}
	deadline = atl_time_mono_ms() + timeout_s * 1000;
	if (client_for(url, key) != 0 || atl_policy_load(policy_path, &policy, why, sizeof(why)) ||
	    atl_file_read(in_path, ATL_ENV_PAYLOAD_MAX, &in, &in_len) != ATL_OK ||
	    atl_kp_generate(&ck) != ATL_OK || atl_key_id("ck_", ck.pub, ckid) != ATL_OK)
		goto out;
	/* targets: verify each locally (expected nonce NULL: freshness by age) */
	for (;;) {
		size_t i;
		json_t *t;

		n = 0;
		snprintf(path, sizeof(path), "/api/v1/confidential/targets?workload_id=%s&count=%ld",
			 wid, count);
		json_decref(targets);
		if (call("GET", path, NULL, &targets, NULL) != 200) {
			fprintf(stderr, "peer client: targets failed\n");
			goto out;
		}
		json_array_foreach(json_object_get(targets, "targets"), i, t) {
			struct atl_ar *ar = NULL;
			char *ev = atl_json_dump(json_object_get(t, "evidence"));
			if (ev != NULL &&
			    atl_verify_evidence((const uint8_t *)ev, strlen(ev), policy, NULL, 0,
						atl_time_now(), NULL, &ar) == ATL_OK &&
			    atl_verify_enclave_key(ar, rc_list[n].pub) == ATL_OK &&
			    n + 1 < ATL_ENV_RECIPIENTS_MAX) {
				rc_list[n].kid_prefix = "ek_";
				n++;
			}
			atl_ar_free(ar);
			free(ev);
		}
		if ((long)n >= min)
			break;
		if (atl_time_mono_ms() > deadline) {
			fprintf(stderr, "peer client: only %zu verified target(s)\n", n);
			goto out;
		}
		usleep(200000);
	}
	memcpy(rc_list[n].pub, ck.pub, ATL_X25519_LEN);
	rc_list[n].kid_prefix = "ck_";
	if (atl_env_seal(rc_list, n + 1, wid, ckid, atl_time_now(), in, in_len, &env, &env_len,
			 &dek) != ATL_OK ||
	    atl_json_parse(env, env_len, &envj) != ATL_OK)
		goto out;
	body = json_pack("{s:s, s:b, s:s, s:{s:b, s:s, s:O}}", "workload_id", wid, "confidential",
			 1, "encryption_key_id", ckid, "input", "encrypted", 1, "key_id", ckid,
			 "ciphertext", envj);
	btxt = body != NULL ? atl_json_dump(body) : NULL;
	if (btxt == NULL)
		goto out;
	if (delay_s > 0)
		sleep((unsigned)delay_s);
	{
		long st = call("POST", "/api/v1/jobs", btxt, &resp, NULL);
		if (expect != 201) {
			char *t = resp != NULL ? atl_json_dump(resp) : NULL;
			printf("submit %ld %s\n", st, t != NULL ? t : "");
			free(t);
			ret = st == expect ? 0 : 1;
			goto out;
		}
		if (st != 201) {
			fprintf(stderr, "peer client: submit refused (%ld)\n", st);
			goto out;
		}
	}
	snprintf(job_id, sizeof(job_id), "%s", json_string_value(json_object_get(resp, "job_id")));
	write_text(job_file, job_id);
	fprintf(stderr, "peer client: submitted %s to %zu enclave(s)\n", job_id, n);
	if (no_wait) {
		ret = 0;
		goto out;
	}
	for (;;) {
		const char *status;
		json_decref(resp);
		snprintf(path, sizeof(path), "/api/v1/jobs/%s", job_id);
		if (call("GET", path, NULL, &resp, NULL) != 200)
			goto out;
		status = json_string_value(json_object_get(resp, "status"));
		if (status != NULL && strcmp(status, "done") == 0)
			break;
		if (status != NULL && strcmp(status, "failed") == 0) {
			fprintf(stderr, "peer client: job failed\n");
			goto out;
		}
		if (atl_time_mono_ms() > deadline) {
			fprintf(stderr, "peer client: job still %s\n", status != NULL ? status : "?");
			goto out;
		}
		usleep(100000);
	}
	{
		char *res = atl_json_dump(json_object_get(resp, "result"));
		enum atl_err rc = res != NULL ? atl_env_result_open(dek, job_id, wid, res, strlen(res),
								      &pt, &pt_len)
					      : ATL_E_NOMEM;
		free(res);
		if (rc != ATL_OK) {
			fprintf(stderr, "peer client: result did not open: %s\n", atl_strerror(rc));
			goto out;
		}
	}
	if (atl_file_write(out_path, pt, pt_len, 0600, 0) != ATL_OK)
		goto out;
	ret = 0;
out:
	atl_kp_clear(&ck);
	if (in != NULL)
		atl_wipe(in, in_len);
	free(in);
	atl_secret_free(dek);
	atl_secret_free(pt);
	free(env);
	free(btxt);
	json_decref(policy);
	json_decref(targets);
	json_decref(envj);
	json_decref(body);
	json_decref(resp);
	atl_http_client_free(cli);
	return ret;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "policy") == 0)
		return cmd_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "island") == 0)
		return cmd_island(argc - 1, argv + 1);
	if (strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 1, argv + 1);
	return 2;
}
