/* Encrypted models in the enclave (src/enclave/modelkey.c), end to end over a
 * real socketpair: a forked child runs atl_enclave_serve (sandboxed, sim
 * TEE), the test is both the island and the key broker (atl_kbs_* in a temp
 * state dir, the model's policy pins this binary). A classifier is trained,
 * encrypted to .atm and registered; the key is released against evidence the
 * enclave binds to the broker's nonce and handed over with MODEL_KEY; jobs
 * naming the model id get predictions. Refusals, each answered without
 * killing the loop: malformed MODEL_KEY, a garbage sealed key, a key for
 * another model id, a tampered chunk, a truncated file, another pinned digest,
 * a job for a model not loaded and for another workload (sealed error
 * documents), the same model handed over for a second workload, an encrypted
 * model with a kind that cannot use one. Workload binding: the broker releases
 * the key for one allowed workload (HPKE AAD); a MODEL_KEY claiming another
 * workload, or a sealed key relabelled for one, does not open; a model
 * released for W1 never serves an envelope sealed for W2, whatever workload
 * the island names in the JOB message.
 * atl-test-deps: atoll_enclave atoll_kbs atoll_workload atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
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
#include "atoll/kbs.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

#define TIMEOUT_MS 10000

struct fixture {
	char tmp[64];
	char dir[96]; /* sim root */
	pid_t pid;
	int fd;
	json_t *policy;
	struct atl_kbs *kbs;
	char mid[ATL_KBS_MODEL_ID_HEX];
	char atm[160], atm_sha[65];
	uint8_t ek[ATL_X25519_LEN];
};

static json_t *make_policy(const char *dir)
{
	char path[160], hex[97];
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

static void sha_hex(const char *path, char out[65])
{
	uint8_t d[32];

	assert_int_equal(atl_hash_file(ATL_HASH_SHA256, path, d), ATL_OK);
	assert_int_equal(atl_hex_encode(d, sizeof(d), out, 65), ATL_OK);
}

/* Trains the classifier, encrypts it to f->atm and registers it. */
static void make_model(struct fixture *f)
{
	struct atl_clf_train_opts o = {.seed = 1, .test_frac = 0.2, .l2 = -1};
	struct atl_dataset *d = NULL;
	struct atl_clf_model *m = NULL;
	struct atl_clf_report rep;
	char path[160], kdir[160], err[ATL_CLF_ERR_LEN];
	uint8_t *csv = NULL;
	size_t csv_len = 0, mlen = 0;
	char *mj = NULL;

	snprintf(path, sizeof(path), "%s/data/breast_cancer.csv", ATL_SOURCE_DIR);
	assert_int_equal(atl_file_read(path, 1 << 22, &csv, &csv_len), ATL_OK);
	assert_int_equal(atl_dataset_parse_csv((const char *)csv, csv_len, true, &d, err), ATL_OK);
	assert_int_equal(atl_clf_train(d, &o, &m, &rep, err), ATL_OK);
	assert_int_equal(atl_clf_model_write(m, &mj, &mlen), ATL_OK);
	snprintf(path, sizeof(path), "%s/model.json", f->tmp);
	assert_int_equal(atl_file_write(path, mj, mlen, 0600, 0), ATL_OK);
	snprintf(kdir, sizeof(kdir), "%s/kbs", f->tmp);
	assert_int_equal(atl_kbs_open(kdir, NULL, &f->kbs), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(f->kbs, "acme", NULL, NULL), ATL_OK);
	snprintf(f->atm, sizeof(f->atm), "%s/model.atm", f->tmp);
	/* small chunks: the model spans many of them */
	assert_int_equal(atl_kbs_model_encrypt(f->kbs, "acme", path, f->atm, 1024, NULL), ATL_OK);
	assert_int_equal(atl_kbs_model_register(f->kbs, "acme", f->atm, f->policy, f->mid), ATL_OK);
	assert_int_equal(atl_kbs_model_allow_workload(f->kbs, f->mid, "clf"), ATL_OK);
	sha_hex(f->atm, f->atm_sha);
	free(mj);
	free(csv);
	atl_clf_model_free(m);
	atl_dataset_free(d);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/atoll-mkey-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->dir, sizeof(f->dir), "%s/root", f->tmp);
	assert_int_equal(atl_sim_root_create(f->dir), ATL_OK);
	f->policy = make_policy(f->dir);
	make_model(f);
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
	atl_kbs_close(f->kbs);
	json_decref(f->policy);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* What the island does: broker nonce -> evidence bound to it -> release for
 * workload wid; NULL when the broker refuses with want. */
static char *release_for(struct fixture *f, const char *mid, const char *wid, enum atl_err want)
{
	uint8_t nonce[ATL_KBS_NONCE_LEN];
	struct atl_evidence e = {0};
	char *w = NULL, *sealed = NULL;
	size_t wl = 0;

	assert_int_equal(atl_kbs_nonce_new(f->kbs, atl_time_now(), nonce), ATL_OK);
	assert_int_equal(atl_enclave_attest(f->fd, nonce, sizeof(nonce), TIMEOUT_MS, &w, &wl),
			 ATL_OK);
	assert_int_equal(atl_evidence_parse((const uint8_t *)w, wl, &e, NULL, 0), ATL_OK);
	memcpy(f->ek, e.enclave_key, sizeof(f->ek));
	assert_int_equal(atl_kbs_release_workload(f->kbs, "acme", mid, wid, (const uint8_t *)w, wl,
						  nonce, sizeof(nonce), atl_time_now(), &sealed),
			 want);
	atl_evidence_clear(&e);
	free(w);
	return sealed;
}

static char *release(struct fixture *f, const char *mid)
{
	return release_for(f, mid, "clf", ATL_OK);
}

/* A classifier job naming the encrypted model, its envelope sealed for
 * workload and the JOB message claiming claimed; returns the opened result. */
static char *run_as(struct fixture *f, const char *job_id, const char *workload,
		    const char *claimed, const char *kind, const char *mid, enum atl_err want)
{
	const char *req = "{\"instances\":[[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,"
			  "0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,"
			  "0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,0.6656,0.7119,"
			  "0.2654,0.4601,0.1189]]}";
	struct atl_env_recipient r = {.kid_prefix = "ek_"};
	json_t *params = json_pack("{s:s}", "model_id", mid);
	uint8_t *dek = NULL, *pt = NULL;
	size_t len = 0, rl = 0, pt_len = 0;
	char *env = NULL, *res = NULL, why[256], *out = NULL;

	memcpy(r.pub, f->ek, sizeof(r.pub));
	assert_int_equal(atl_env_seal(&r, 1, workload, "ck_test", atl_time_now(),
				      (const uint8_t *)req, strlen(req), &env, &len, &dek),
			 ATL_OK);
	assert_int_equal(atl_enclave_job(f->fd, job_id, claimed, kind, params, env, len,
					 TIMEOUT_MS, &res, &rl, why, sizeof(why)),
			 want);
	if (want == ATL_OK) {
		assert_int_equal(atl_env_result_open(dek, job_id, workload, res, rl, &pt, &pt_len),
				 ATL_OK);
		out = strndup((const char *)pt, pt_len);
		atl_secret_free(pt);
	}
	json_decref(params);
	atl_secret_free(dek);
	free(env);
	free(res);
	return out;
}

static char *run(struct fixture *f, const char *job_id, const char *workload, const char *kind,
		 const char *mid, enum atl_err want)
{
	return run_as(f, job_id, workload, workload, kind, mid, want);
}

static enum atl_err hand(struct fixture *f, const char *mid, const char *wid, const char *path,
			 const char *sha, const char *sealed)
{
	char why[256];

	return atl_enclave_model_key(f->fd, mid, wid, path, sha, sealed, TIMEOUT_MS, why,
				     sizeof(why));
}

static void test_load_and_run(void **state)
{
	struct fixture *f = *state;
	char *sealed = release(f, f->mid), *out;

	assert_int_equal(hand(f, f->mid, "clf", f->atm, f->atm_sha, sealed), ATL_OK);
	out = run(f, "j1", "clf", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "\"predictions\""));
	free(out);
	/* handed over again for the same workload: already loaded */
	assert_int_equal(hand(f, f->mid, "clf", f->atm, f->atm_sha, sealed), ATL_OK);
	out = run(f, "j2", "clf", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "\"predictions\""));
	free(out);
	/* bound to "clf": another workload neither gets it handed over ... */
	assert_int_equal(hand(f, f->mid, "other", f->atm, f->atm_sha, sealed), ATL_E_POLICY);
	/* ... nor uses it: a sealed error document, not a crash */
	out = run(f, "j3", "other", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "model_unavailable"));
	assert_null(strstr(out, "predictions"));
	free(out);
	/* a kind that cannot use an encrypted model */
	assert_null(run(f, "j4", "clf", "echo", f->mid, ATL_E_UNSUPPORTED));
	/* malformed params */
	assert_null(run(f, "j5", "clf", "classifier", "NOTHEX", ATL_E_FORMAT));
	assert_int_equal(atl_enclave_ping(f->fd, TIMEOUT_MS), ATL_OK);
	free(sealed);
}

static void copy_edit(const char *from, const char *to, long flip_at, size_t cut)
{
	uint8_t *b = NULL;
	size_t n = 0;

	assert_int_equal(atl_file_read(from, 1 << 24, &b, &n), ATL_OK);
	if (flip_at < 0)
		b[n + (size_t)flip_at] ^= 0x01;
	else if (flip_at > 0)
		b[flip_at] ^= 0x01;
	assert_int_equal(atl_file_write(to, b, n - cut, 0600, 0), ATL_OK);
	free(b);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	char *sealed = release(f, f->mid), *out, bad[200], sha[65], other[33];
	static const char *const garbage = "{\"v\":1,\"model_id\":\"x\",\"enc\":\"AA==\",\"ct\":\"AA==\"}";
	size_t n = 0;

	/* not loaded yet: a sealed error document */
	out = run(f, "r0", "clf", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "model_unavailable"));
	free(out);
	/* malformed MODEL_KEY (relative path, uppercase id) and a garbage key */
	assert_int_equal(hand(f, f->mid, "clf", "model.atm", f->atm_sha, sealed), ATL_E_FORMAT);
	assert_int_equal(atl_msg_send(f->fd, ATL_MSG_MODEL_KEY, "{}", 2), ATL_OK);
	{
		uint8_t t = 0, *p = NULL;
		assert_int_equal(atl_msg_recv(f->fd, 4096, TIMEOUT_MS, &t, &p, &n), ATL_OK);
		assert_int_equal(t, ATL_MSG_ERROR);
		free(p);
	}
	assert_int_not_equal(hand(f, f->mid, "clf", f->atm, f->atm_sha, garbage), ATL_OK);
	/* a key for another model id: the HPKE associated data differs */
	snprintf(other, sizeof(other), "%s", f->mid);
	other[0] = other[0] == '0' ? '1' : '0';
	assert_int_equal(hand(f, other, "clf", f->atm, f->atm_sha, sealed), ATL_E_AUTH);
	/* a tampered chunk (last byte: the final tag) */
	snprintf(bad, sizeof(bad), "%s/tampered.atm", f->tmp);
	copy_edit(f->atm, bad, -1, 0);
	sha_hex(bad, sha);
	assert_int_equal(hand(f, f->mid, "clf", bad, sha, sealed), ATL_E_AUTH);
	/* a chunk in the middle */
	copy_edit(f->atm, bad, ATL_ATM_HEADER_LEN + 2000, 0);
	sha_hex(bad, sha);
	assert_int_equal(hand(f, f->mid, "clf", bad, sha, sealed), ATL_E_AUTH);
	/* truncated by one chunk's tag */
	copy_edit(f->atm, bad, 0, 16);
	sha_hex(bad, sha);
	assert_int_not_equal(hand(f, f->mid, "clf", bad, sha, sealed), ATL_OK);
	/* the right file but another pinned digest */
	snprintf(sha, sizeof(sha), "%s", f->atm_sha);
	sha[0] = sha[0] == '0' ? '1' : '0';
	assert_int_equal(hand(f, f->mid, "clf", f->atm, sha, sealed), ATL_E_POLICY);
	/* a missing file */
	assert_int_equal(hand(f, f->mid, "clf", "/nonexistent/m.atm", f->atm_sha, sealed),
			 ATL_E_NOTFOUND);
	/* none of that loaded anything */
	out = run(f, "r1", "clf", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "model_unavailable"));
	free(out);
	/* and the right one still loads afterwards */
	assert_int_equal(hand(f, f->mid, "clf", f->atm, f->atm_sha, sealed), ATL_OK);
	out = run(f, "r2", "clf", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "\"predictions\""));
	free(out);
	free(sealed);
}

/* The island cannot attach the model to another workload: the broker binds
 * the release to "clf", and the enclave takes that binding from the sealed
 * key, never from the island's message. */
static void test_workload_binding(void **state)
{
	struct fixture *f = *state;
	char *sealed, *forged, *out, *p;
	const char *tag = "\"workload_id\":\"clf\"";

	/* the broker refuses a workload the model is not allowed for */
	assert_null(release_for(f, f->mid, "w2", ATL_E_DENIED));
	sealed = release(f, f->mid);
	assert_non_null(strstr(sealed, tag));
	/* released for clf, handed over claiming w2: does not open */
	assert_int_equal(hand(f, f->mid, "w2", f->atm, f->atm_sha, sealed), ATL_E_AUTH);
	/* relabelled for w2 (the "workload_id" of the sealed JSON): the AAD differs */
	forged = malloc(strlen(sealed) + 1);
	assert_non_null(forged);
	p = strstr(sealed, tag);
	memcpy(forged, sealed, (size_t)(p - sealed));
	sprintf(forged + (p - sealed), "\"workload_id\":\"w2\"%s", p + strlen(tag));
	assert_int_equal(hand(f, f->mid, "w2", f->atm, f->atm_sha, forged), ATL_E_AUTH);
	free(forged);
	/* nothing loaded for w2 */
	out = run(f, "b1", "w2", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "model_unavailable"));
	free(out);
	/* loaded for clf: an envelope sealed for w2 is refused whether the
	 * island claims clf (the envelope's authenticated workload differs) ... */
	assert_int_equal(hand(f, f->mid, "clf", f->atm, f->atm_sha, sealed), ATL_OK);
	assert_null(run_as(f, "b2", "w2", "clf", "classifier", f->mid, ATL_E_POLICY));
	/* ... or w2 (the model is bound to clf): a sealed error document */
	out = run(f, "b3", "w2", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "model_unavailable"));
	assert_null(strstr(out, "predictions"));
	free(out);
	/* clf's own jobs run */
	out = run(f, "b4", "clf", "classifier", f->mid, ATL_OK);
	assert_non_null(strstr(out, "\"predictions\""));
	free(out);
	assert_int_equal(atl_enclave_ping(f->fd, TIMEOUT_MS), ATL_OK);
	free(sealed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_and_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workload_binding, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
