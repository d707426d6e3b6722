/* The enclave's message loop, end to end over a real socketpair: a forked
 * child runs atl_enclave_serve (sandboxed, sim TEE), the test is the host.
 * Attest → verify against a policy pinning this binary → seal to the attested
 * key → JOB → open the sealed result. Then every refusal: envelope for another
 * key, for another workload, replayed, stale, unknown workload kind, malformed
 * JOB, unknown message type; the loop survives each and answers the next.
 * atl-test-deps: atoll_enclave atoll_workload atoll_attest atoll_crypto atoll_core */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/classifier.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/enclave.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

#define TIMEOUT_MS 10000

struct fixture {
	char dir[64];
	pid_t pid;
	int fd;
	json_t *policy;
	uint8_t ek[ATL_X25519_LEN]; /* the attested enclave key */
};

static json_t *make_policy(const char *dir)
{
	char path[128], hex[97];
	uint8_t meas[48], *pem = NULL;
	size_t pem_len = 0;
	json_t *p;

	snprintf(path, sizeof(path), "%s/%s", dir, ATL_SIM_ROOT_PUB_FILE);
	assert_int_equal(atl_file_read(path, 65536, &pem, &pem_len), ATL_OK);
	assert_int_equal(atl_sim_measure("/proc/self/exe", meas), ATL_OK);
	assert_int_equal(atl_hex_encode(meas, sizeof(meas), hex, sizeof(hex)), ATL_OK);
	p = json_pack("{s:[s], s:b, s:{s:[s]}, s:{s:s%}}", "tee_types", "sim", "allow_sim", 1,
		      "measurements", "sim", hex, "trust_anchors", "sim", (const char *)pem,
		      pem_len);
	assert_non_null(p);
	assert_int_equal(atl_policy_validate(p, NULL, 0), ATL_OK);
	free(pem);
	return p;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/atoll-serve-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	strcat(f->dir, "/root");
	assert_int_equal(atl_sim_root_create(f->dir), ATL_OK);
	f->policy = make_policy(f->dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		json_t *cfg = json_pack("{s:s}", "sim_root", f->dir);
		struct atl_enclave_cfg c = {.tee = "sim", .tee_cfg = cfg, .skew_s = 300,
					    .replay_capacity = 64, .sandbox = true};
		close(sv[0]);
		_exit(atl_enclave_serve(sv[1], &c) == ATL_OK ? 0 : 1);
	}
	close(sv[1]);
	f->fd = sv[0];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	int st = 0;

	assert_int_equal(atl_msg_send(f->fd, ATL_MSG_SHUTDOWN, NULL, 0), ATL_OK);
	assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(f->fd);
	json_decref(f->policy);
	f->dir[strlen(f->dir) - strlen("/root")] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ATTEST with a fresh nonce and verify; fills f->ek. */
static void attest(struct fixture *f)
{
	uint8_t nonce[16];
	char *w = NULL;
	size_t wl = 0;
	struct atl_ar *ar = NULL;

	assert_int_equal(atl_random(nonce, sizeof(nonce)), ATL_OK);
	assert_int_equal(atl_enclave_attest(f->fd, nonce, sizeof(nonce), TIMEOUT_MS, &w, &wl),
			 ATL_OK);
	assert_int_equal(atl_verify_evidence((const uint8_t *)w, wl, f->policy, nonce,
					     sizeof(nonce), atl_time_now(), NULL, &ar),
			 ATL_OK);
	assert_int_equal(atl_verify_enclave_key(ar, f->ek), ATL_OK);
	atl_ar_free(ar);
	free(w);
}

static char *seal(const uint8_t pub[ATL_X25519_LEN], const char *workload, int64_t created,
		  const char *msg, uint8_t **dek)
{
	struct atl_env_recipient r = {.kid_prefix = "ek_"};
	char *env = NULL;
	size_t len = 0;

	memcpy(r.pub, pub, ATL_X25519_LEN);
	assert_int_equal(atl_env_seal(&r, 1, workload, "ck_test", created, (const uint8_t *)msg,
				      strlen(msg), &env, &len, dek),
			 ATL_OK);
	return env;
}

static enum atl_err job(struct fixture *f, const char *job_id, const char *workload,
			const char *kind, const char *env, char **res)
{
	char why[256];
	size_t len = 0;
	enum atl_err rc = atl_enclave_job(f->fd, job_id, workload, kind, NULL, env, strlen(env),
					  TIMEOUT_MS, res, &len, why, sizeof(why));

	if (rc != ATL_OK)
		fprintf(stderr, "job %s: %s (%s)\n", job_id, atl_err_name(rc), why);
	return rc;
}

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	const char *msg = "blood pressure 120/80";
	uint8_t *dek = NULL, *pt = NULL;
	size_t pt_len = 0;
	char *env, *res = NULL;

	assert_int_equal(atl_enclave_ping(f->fd, TIMEOUT_MS), ATL_OK);
	attest(f);
	env = seal(f->ek, "w1", atl_time_now(), msg, &dek);
	assert_int_equal(job(f, "job-1", "w1", "echo", env, &res), ATL_OK);
	assert_int_equal(atl_env_result_open(dek, "job-1", "w1", res, strlen(res), &pt, &pt_len),
			 ATL_OK);
	assert_int_equal(pt_len, strlen(msg));
	assert_memory_equal(pt, msg, pt_len);
	/* The result is bound to its job id. */
	atl_secret_free(pt);
	pt = NULL;
	assert_int_equal(atl_env_result_open(dek, "job-2", "w1", res, strlen(res), &pt, &pt_len),
			 ATL_E_AUTH);
	assert_null(pt);
	free(res);
	res = NULL;
	/* The same envelope again is a replay. */
	assert_int_equal(job(f, "job-1", "w1", "echo", env, &res), ATL_E_REPLAY);
	assert_null(res);
	free(env);
	atl_secret_free(dek);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct atl_kp other = {0};
	uint8_t *dek = NULL;
	char *env, *res = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	uint8_t type = 0;

	attest(f);
	/* Sealed to another key. */
	assert_int_equal(atl_kp_generate(&other), ATL_OK);
	env = seal(other.pub, "w1", atl_time_now(), "x", NULL);
	assert_int_equal(job(f, "j1", "w1", "echo", env, &res), ATL_E_AUTH);
	free(env);
	atl_kp_clear(&other);
	/* Sealed for another workload than the job says. */
	env = seal(f->ek, "w-other", atl_time_now(), "x", &dek);
	assert_int_equal(job(f, "j2", "w1", "echo", env, &res), ATL_E_POLICY);
	free(env);
	atl_secret_free(dek);
	/* Stale. */
	env = seal(f->ek, "w1", atl_time_now() - 3600, "x", NULL);
	assert_int_equal(job(f, "j3", "w1", "echo", env, &res), ATL_E_REPLAY);
	free(env);
	/* Unknown workload kind. */
	env = seal(f->ek, "w1", atl_time_now(), "x", NULL);
	assert_int_equal(job(f, "j4", "w1", "no-such-kind", env, &res), ATL_E_NOTFOUND);
	free(env);
	/* Malformed JOB: not an envelope, bad ids. */
	assert_int_equal(job(f, "j5", "w1", "echo", "{}", &res), ATL_E_FORMAT);
	assert_int_equal(job(f, "bad id", "w1", "echo", "{\"a\":1}", &res), ATL_E_FORMAT);
	assert_int_equal(atl_msg_send(f->fd, ATL_MSG_JOB, "not json", 8), ATL_OK);
	assert_int_equal(atl_msg_recv(f->fd, 65536, TIMEOUT_MS, &type, &p, &n), ATL_OK);
	assert_int_equal(type, ATL_MSG_ERROR);
	free(p);
	/* Unknown message type, malformed ATTEST. */
	assert_int_equal(atl_msg_send(f->fd, 99, "x", 1), ATL_OK);
	assert_int_equal(atl_msg_recv(f->fd, 65536, TIMEOUT_MS, &type, &p, &n), ATL_OK);
	assert_int_equal(type, ATL_MSG_ERROR);
	free(p);
	assert_int_equal(atl_msg_send(f->fd, ATL_MSG_ATTEST, "{\"nonce\":\"zz\"}", 14), ATL_OK);
	assert_int_equal(atl_msg_recv(f->fd, 65536, TIMEOUT_MS, &type, &p, &n), ATL_OK);
	assert_int_equal(type, ATL_MSG_ERROR);
	free(p);
	/* Still serving. */
	assert_int_equal(atl_enclave_ping(f->fd, TIMEOUT_MS), ATL_OK);
	assert_null(res);
}

/* The same loop in a thread of this process, unsandboxed, so that the leak
 * checker of sanitizer builds sees every allocation of a served job. */
struct thread_arg {
	int fd;
	const char *dir;
	enum atl_err rc;
};

static void *serve_thread(void *p)
{
	struct thread_arg *a = p;
	json_t *cfg = json_pack("{s:s}", "sim_root", a->dir);
	struct atl_enclave_cfg c = {.tee = "sim", .tee_cfg = cfg, .skew_s = 300,
				    .replay_capacity = 8, .sandbox = false};

	a->rc = atl_enclave_serve(a->fd, &c);
	json_decref(cfg);
	return NULL;
}

static void test_in_thread(void **state)
{
	struct fixture *f = *state; /* reuses its sim root and policy */
	struct thread_arg a = {.dir = f->dir, .rc = ATL_E_INTERNAL};
	struct fixture t = *f;
	uint8_t *dek = NULL, *pt = NULL;
	size_t pt_len = 0;
	char *env, *res = NULL;
	pthread_t th;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	a.fd = sv[1];
	t.fd = sv[0];
	assert_int_equal(pthread_create(&th, NULL, serve_thread, &a), 0);
	attest(&t);
	env = seal(t.ek, "w1", atl_time_now(), "in a thread", &dek);
	assert_int_equal(job(&t, "job-t", "w1", "echo", env, &res), ATL_OK);
	assert_int_equal(atl_env_result_open(dek, "job-t", "w1", res, strlen(res), &pt, &pt_len),
			 ATL_OK);
	assert_memory_equal(pt, "in a thread", pt_len);
	free(res);
	res = NULL;
	assert_int_equal(job(&t, "job-t", "w1", "echo", env, &res), ATL_E_REPLAY);
	/* Closing the channel ends the loop cleanly. */
	close(sv[0]);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.rc, ATL_OK);
	close(sv[1]);
	free(env);
	atl_secret_free(dek);
	atl_secret_free(pt);
}

/* The classifier workload: the model's pinned SHA-256 is checked before use. */
static void test_classifier(void **state)
{
	struct fixture *f = *state;
	struct atl_clf_train_opts o = {.seed = 1, .test_frac = 0.2, .l2 = -1};
	struct atl_dataset *d = NULL;
	struct atl_clf_model *m = NULL;
	struct atl_clf_report rep;
	char path[160], err[ATL_CLF_ERR_LEN], hex[65], why[256];
	uint8_t *csv = NULL, digest[32], *dek = NULL, *pt = NULL;
	size_t csv_len = 0, mlen = 0, rl = 0, pt_len = 0;
	char *mj = NULL, *env, *res = NULL;
	json_t *params;
	const char *req = "{\"instances\":[[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,"
			  "0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,"
			  "0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,0.6656,0.7119,"
			  "0.2654,0.4601,0.1189]]}";

	snprintf(path, sizeof(path), "%s/data/breast_cancer.csv", ATL_SOURCE_DIR);
	assert_int_equal(atl_file_read(path, 1 << 22, &csv, &csv_len), ATL_OK);
	assert_int_equal(atl_dataset_parse_csv((const char *)csv, csv_len, true, &d, err), ATL_OK);
	assert_int_equal(atl_clf_train(d, &o, &m, &rep, err), ATL_OK);
	assert_int_equal(atl_clf_model_write(m, &mj, &mlen), ATL_OK);
	snprintf(path, sizeof(path), "%s/model.json", f->dir);
	assert_int_equal(atl_file_write(path, mj, mlen, 0600, 0), ATL_OK);
	assert_int_equal(atl_hash(ATL_HASH_SHA256, mj, mlen, digest), ATL_OK);
	assert_int_equal(atl_hex_encode(digest, sizeof(digest), hex, sizeof(hex)), ATL_OK);
	attest(f);

	params = json_pack("{s:s, s:s}", "model", path, "model_sha256", hex);
	env = seal(f->ek, "clf", atl_time_now(), req, &dek);
	assert_int_equal(atl_enclave_job(f->fd, "c1", "clf", "classifier", params, env, strlen(env),
					 TIMEOUT_MS, &res, &rl, why, sizeof(why)),
			 ATL_OK);
	assert_int_equal(atl_env_result_open(dek, "c1", "clf", res, rl, &pt, &pt_len), ATL_OK);
	assert_non_null(strstr((const char *)pt, "\"predictions\""));
	free(env);
	free(res);
	res = NULL;
	atl_secret_free(dek);
	json_decref(params);

	/* Another digest pinned: the enclave refuses the model. */
	hex[0] = hex[0] == '0' ? '1' : '0';
	params = json_pack("{s:s, s:s}", "model", path, "model_sha256", hex);
	env = seal(f->ek, "clf", atl_time_now(), req, NULL);
	assert_int_equal(atl_enclave_job(f->fd, "c2", "clf", "classifier", params, env, strlen(env),
					 TIMEOUT_MS, &res, &rl, why, sizeof(why)),
			 ATL_E_POLICY);
	free(env);
	json_decref(params);
	/* No params at all, and a missing model file. */
	env = seal(f->ek, "clf", atl_time_now(), req, NULL);
	assert_int_equal(job(f, "c3", "clf", "classifier", env, &res), ATL_E_FORMAT);
	free(env);
	params = json_pack("{s:s, s:s}", "model", "/nonexistent/m.json", "model_sha256", hex);
	env = seal(f->ek, "clf", atl_time_now(), req, NULL);
	assert_int_equal(atl_enclave_job(f->fd, "c4", "clf", "classifier", params, env, strlen(env),
					 TIMEOUT_MS, &res, &rl, why, sizeof(why)),
			 ATL_E_NOTFOUND);
	free(env);
	json_decref(params);
	assert_null(res);
	atl_secret_free(pt);
	free(mj);
	free(csv);
	atl_clf_model_free(m);
	atl_dataset_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classifier, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
