/* `atoll local`: the whole confidential path on one machine, without a
 * coordinator. Starts atoll-enclave as a sandboxed child (socketpair on fd 3),
 * challenges it with a fresh nonce, verifies its evidence against the policy,
 * seals the input to the attested enclave key, sends the job, and opens the
 * sealed result. Each step is reported on stderr; the result plaintext goes to
 * stdout. This is what `make demo` runs for the Foundation, and the same steps
 * an island and a client perform across the network in the platform. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "cli/cmds.h"

int atl_cmd_local(int argc, char **argv);

#define LOCAL_TIMEOUT_MS 30000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll local --enclave PATH --tee sim --sim-root DIR --policy FILE\n"
		"                   (--input FILE | --text STRING) [--workload-id ID] [--kind K]\n"
		"                   [--model FILE]\n\n"
		"Runs one confidential job on this machine: starts the enclave (sandboxed child),\n"
		"verifies its attestation against the policy with a fresh nonce, seals the input\n"
		"to the attested enclave key, lets the enclave open it and run the workload, and\n"
		"opens the sealed result. Steps go to stderr, the result to stdout.\n\n"
		"  --enclave PATH     the atoll-enclave program to start\n"
		"  --tee KIND         its TEE (sim)\n"
		"  --sim-root DIR     simulation root (from 'atoll sim init'); sim only\n"
		"  --policy FILE      attestation policy (see 'atoll policy init')\n"
		"  --input FILE       the input to seal ('-' reads stdin), or\n"
		"  --text STRING      the input as text\n"
		"  --workload-id ID   the workload id bound into the envelope (default: local)\n"
		"  --kind K           the workload to run in the enclave (default: echo, or\n"
		"                     classifier with --model)\n"
		"  --model FILE       the model the workload uses; its SHA-256 is pinned in the\n"
		"                     job and checked by the enclave before use\n\n"
		"exit status: 0 done, 1 refused (attestation, envelope) or failed, 2 usage or I/O\n");
}

struct local_opts {
	const char *enclave, *tee, *sim_root, *policy, *input, *text, *workload_id, *kind, *model;
};

static int parse(int argc, char **argv, struct local_opts *o)
{
	static const struct option opts[] = {
		{"enclave", required_argument, NULL, 'e'}, {"tee", required_argument, NULL, 't'},
		{"sim-root", required_argument, NULL, 'r'}, {"policy", required_argument, NULL, 'p'},
		{"input", required_argument, NULL, 'i'},   {"text", required_argument, NULL, 'x'},
		{"workload-id", required_argument, NULL, 'w'},
		{"kind", required_argument, NULL, 'k'},    {"model", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'e': o->enclave = optarg; break;
		case 't': o->tee = optarg; break;
		case 'r': o->sim_root = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'i': o->input = optarg; break;
		case 'x': o->text = optarg; break;
		case 'w': o->workload_id = optarg; break;
		case 'k': o->kind = optarg; break;
		case 'm': o->model = optarg; break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll local: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc || o->enclave == NULL || o->tee == NULL || o->policy == NULL ||
	    (o->input == NULL) == (o->text == NULL)) {
		fprintf(stderr, "atoll local: needs --enclave, --tee, --policy and one of --input "
				"or --text\n");
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	if (o->model != NULL && o->kind == NULL)
		o->kind = "classifier";
	if (o->kind == NULL)
		o->kind = "echo";
	if (strcmp(o->tee, "sim") == 0 && o->sim_root == NULL) {
		fprintf(stderr, "atoll local: --tee sim needs --sim-root DIR\n");
		return ATL_EXIT_USAGE;
	}
	return -1;
}

static void step(int n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(int n, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%d/6] ", n);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int atl_cmd_local(int argc, char **argv)
{
	struct local_opts o = {.workload_id = "local"};
	char why[512];
	uint8_t nonce[32], ek[ATL_X25519_LEN];
	char nonce_hex[65], kid[ATL_KEY_ID_LEN];
	struct atl_env_recipient r = {.kid_prefix = "ek_"};
	json_t *policy = NULL, *params = NULL;
	struct atl_ar *ar = NULL;
	uint8_t *in = NULL, *dek = NULL, *pt = NULL;
	size_t in_len = 0, pt_len = 0, wl = 0, env_len = 0, res_len = 0;
	char *wrapper = NULL, *env = NULL, *res = NULL;
	char job_id[40];
	pid_t pid = -1;
	int fd = -1, ret;
	enum atl_err rc;

	ret = parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = ATL_EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);
	rc = atl_policy_load(o.policy, &policy, why, sizeof(why));
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll local: policy %s: %s\n", o.policy,
			why[0] != '\0' ? why : atl_strerror(rc));
		goto out;
	}
	if (o.text != NULL) {
		in_len = strlen(o.text);
		in = malloc(in_len + 1);
		if (in == NULL)
			goto out;
		memcpy(in, o.text, in_len + 1);
	} else {
		rc = atl_file_read(o.input, ATL_ENV_PAYLOAD_MAX, &in, &in_len);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll local: cannot read %s: %s\n", o.input,
				atl_strerror(rc));
			goto out;
		}
	}
	if (o.model != NULL) {
		uint8_t digest[32];
		char hex[65];
		char *abs = realpath(o.model, NULL);

		rc = abs != NULL ? atl_hash_file(ATL_HASH_SHA256, abs, digest) : ATL_E_NOTFOUND;
		if (rc == ATL_OK)
			rc = atl_hex_encode(digest, sizeof(digest), hex, sizeof(hex));
		if (rc == ATL_OK) {
			params = json_pack("{s:s, s:s}", "model", abs, "model_sha256", hex);
			if (params == NULL)
				rc = ATL_E_NOMEM;
		}
		free(abs);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll local: cannot read the model %s: %s\n", o.model,
				atl_strerror(rc));
			goto out;
		}
	}
	if (strcmp(o.tee, "sim") == 0)
		fprintf(stderr, "%s\n", ATL_SIM_WARNING);

	step(1, "starting the enclave %s (sandboxed child, socketpair on fd 3)", o.enclave);
	{
		char *args[8];
		size_t na = 0;

		args[na++] = (char *)o.enclave;
		args[na++] = (char *)"--serve";
		args[na++] = (char *)"--tee";
		args[na++] = (char *)o.tee;
		if (o.sim_root != NULL) {
			args[na++] = (char *)"--sim-root";
			args[na++] = (char *)o.sim_root;
		}
		args[na] = NULL;
		rc = atl_enclave_spawn(args, &pid, &fd);
	}
	if (rc == ATL_OK)
		rc = atl_enclave_ping(fd, LOCAL_TIMEOUT_MS);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll local: the enclave did not start: %s\n", atl_strerror(rc));
		goto out;
	}
	ret = ATL_EXIT_FAIL;
	if (atl_random(nonce, sizeof(nonce)) != ATL_OK ||
	    atl_hex_encode(nonce, sizeof(nonce), nonce_hex, sizeof(nonce_hex)) != ATL_OK)
		goto out;
	step(2, "challenging it with a fresh nonce %s", nonce_hex);
	rc = atl_enclave_attest(fd, nonce, sizeof(nonce), LOCAL_TIMEOUT_MS, &wrapper, &wl);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll local: no evidence from the enclave: %s\n", atl_strerror(rc));
		goto out;
	}
	step(3, "verifying its %s evidence against the policy", o.tee);
	rc = atl_verify_evidence((const uint8_t *)wrapper, wl, policy, nonce, sizeof(nonce),
				 atl_time_now(), NULL, &ar);
	if (rc != ATL_OK || atl_verify_enclave_key(ar, ek) != ATL_OK) {
		const char *bad = ar != NULL ? atl_ar_first_failure(ar) : NULL;
		fprintf(stderr, "atoll local: REFUSED: the enclave's evidence does not satisfy the "
				"policy (first failed check: %s)\n",
			bad != NULL ? bad : atl_strerror(rc));
		goto out;
	}
	if (atl_key_id("ek_", ek, kid) != ATL_OK)
		goto out;
	fprintf(stderr, "      status %s; attested enclave key %s\n",
		atl_ar_status_name(atl_ar_status(ar)), kid);
	step(4, "sealing the input to %s (HPKE + AES-256-GCM envelope)", kid);
	memcpy(r.pub, ek, sizeof(ek));
	rc = atl_env_seal(&r, 1, o.workload_id, "local", atl_time_now(), in, in_len, &env, &env_len,
			  &dek);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll local: cannot seal the input: %s\n", atl_strerror(rc));
		goto out;
	}
	snprintf(job_id, sizeof(job_id), "job-%.16s", nonce_hex);
	step(5, "sending sealed job %s; the enclave opens it and runs the workload", job_id);
	rc = atl_enclave_job(fd, job_id, o.workload_id, o.kind, params, env, env_len,
			     LOCAL_TIMEOUT_MS, &res, &res_len, why, sizeof(why));
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll local: the enclave refused the job: %s (%s)\n",
			why[0] != '\0' ? why : "no reason", atl_strerror(rc));
		goto out;
	}
	step(6, "opening the sealed result (%zu bytes of JSON) with the job's data key", res_len);
	rc = atl_env_result_open(dek, job_id, o.workload_id, res, res_len, &pt, &pt_len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll local: the result did not open: %s\n", atl_strerror(rc));
		goto out;
	}
	if (fwrite(pt, 1, pt_len, stdout) != pt_len || fflush(stdout) != 0) {
		ret = ATL_EXIT_USAGE;
		goto out;
	}
	ret = ATL_EXIT_OK;
out:
	if (pid > 0)
		atl_enclave_stop(pid, fd, 2000);
	json_decref(policy);
	json_decref(params);
	atl_ar_free(ar);
	if (in != NULL)
		atl_wipe(in, in_len);
	free(in);
	atl_secret_free(dek);
	atl_secret_free(pt);
	free(wrapper);
	free(env);
	free(res);
	return ret;
}
