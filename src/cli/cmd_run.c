/* `atoll run`, `atoll submit`, `atoll result`: a confidential job through
 * the coordinator (DESIGN §2), with the client library (include/atoll/
 * client.h). run = submit + result: fetch targets, verify each against the
 * user's policy locally, seal the input to every verified enclave key and to
 * the user's own client key, submit, wait, open. Nothing is submitted when
 * no target verifies. Steps go to stderr, the result to stdout (or --output). */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atoll/client.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "cli/cmds.h"

int atl_cmd_run(int argc, char **argv);
int atl_cmd_submit(int argc, char **argv);
int atl_cmd_result(int argc, char **argv);

#define RUN_TIMEOUT_DEFAULT 120

struct run_opts {
	const char *name;     /* "run", "submit", "result" */
	const char *url, *api_key, *keys, *policy, *workload, *input, *text, *output, *key;
	const char *job_id;   /* result */
	long timeout_s, count;
	bool wait;            /* result --wait */
	char dir[4096];
};

static void usage(FILE *f, const char *name)
{
	if (strcmp(name, "result") == 0) {
		fprintf(f,
			"usage: atoll result JOB_ID [--wait] [--timeout S] [--output FILE]\n"
			"                    [--coordinator URL] [--api-key K] [--keys DIR]\n\n"
			"Fetches a job submitted with 'atoll submit' and opens its sealed result with\n"
			"your client key (the job record in the key store holds the envelope; the\n"
			"data key is recovered from your own recipient entry, never stored).\n\n"
			"  --wait        wait for a queued or running job (up to --timeout, default %d s)\n",
			RUN_TIMEOUT_DEFAULT);
	} else {
		fprintf(f,
			"usage: atoll %s --workload W (--input FILE | --text STRING) [--policy FILE]\n"
			"                 [--key ck_…] [--count N]%s\n"
			"                 [--coordinator URL] [--api-key K] [--keys DIR]\n\n"
			"%s"
			"  --workload W  the workload id (as registered at the coordinator)\n"
			"  --input FILE  the input to seal ('-': stdin), or --text STRING\n"
			"  --policy FILE attestation policy the targets must satisfy (default:\n"
			"                DIR/policy.json; none is an error, never a silent downgrade)\n"
			"  --key ck_…    the client key to seal to (default: the newest)\n"
			"  --count N     targets to ask for (1..16, default 3)\n",
			name, strcmp(name, "run") == 0 ? " [--timeout S] [--output FILE]" : "",
			strcmp(name, "run") == 0
				? "Runs one confidential job: fetches attested targets, verifies each\n"
				  "against YOUR policy here, seals the input to every verified enclave\n"
				  "key and to your own key, submits, waits and opens the result.\n\n"
				: "Seals and submits one confidential job like 'atoll run' and prints its\n"
				  "job id; 'atoll result JOB_ID' fetches and opens it later.\n\n");
		if (strcmp(name, "run") == 0)
			fprintf(f, "  --timeout S   how long to wait for the result (default %d)\n",
				RUN_TIMEOUT_DEFAULT);
	}
	fprintf(f,
		"  --output FILE write the result there instead of stdout\n"
		"  --coordinator URL  (or $ATOLL_COORDINATOR)\n"
		"  --api-key K        tenant API key (or $ATOLL_API_KEY; never printed)\n"
		"  --keys DIR         key store (default: $ATOLL_KEYS, else ~/.config/atoll)\n\n"
		"exit status: 0 done, 1 refused or failed (no verified target, job failed,\n"
		"credentials refused, result not ready), 2 usage or I/O\n");
}

static int parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option lo[] = {
		{"coordinator", required_argument, NULL, 'c'},
		{"api-key", required_argument, NULL, 'k'},
		{"keys", required_argument, NULL, 'K'},
		{"policy", required_argument, NULL, 'p'},
		{"workload", required_argument, NULL, 'w'},
		{"input", required_argument, NULL, 'i'},
		{"text", required_argument, NULL, 'x'},
		{"output", required_argument, NULL, 'o'},
		{"key", required_argument, NULL, 'y'},
		{"timeout", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'},
		{"wait", no_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool is_result = strcmp(o->name, "result") == 0;
	int c;

	optind = 1;
	opterr = 0;
	o->timeout_s = is_result ? 0 : RUN_TIMEOUT_DEFAULT;
	o->count = 3;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'c': o->url = optarg; break;
		case 'k': o->api_key = optarg; break;
		case 'K': o->keys = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'w': o->workload = optarg; break;
		case 'i': o->input = optarg; break;
		case 'x': o->text = optarg; break;
		case 'o': o->output = optarg; break;
		case 'y': o->key = optarg; break;
		case 'W': o->wait = true; break;
		case 't':
		case 'n': {
			long v = strtol(optarg, &end, 10);
			long max = c == 't' ? 86400 : (long)ATL_COORD_TARGETS_MAX;
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || v < 1 || v > max) {
				fprintf(stderr, "atoll %s: --%s needs a number 1..%ld\n", o->name,
					c == 't' ? "timeout" : "count", max);
				return ATL_EXIT_USAGE;
			}
			if (c == 't')
				o->timeout_s = v;
			else
				o->count = v;
			break;
		}
		case 'h':
			usage(stdout, o->name);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll %s: unknown or incomplete option '%s'\n", o->name,
				argv[optind - 1]);
			usage(stderr, o->name);
			return ATL_EXIT_USAGE;
		}
	}
	if (is_result) {
		if (optind + 1 != argc) {
			fprintf(stderr, "atoll result: needs exactly one JOB_ID\n");
			usage(stderr, o->name);
			return ATL_EXIT_USAGE;
		}
		o->job_id = argv[optind];
		if (!atl_client_id_ok(o->job_id, "job_")) {
			fprintf(stderr, "atoll result: '%.80s' is not a job id (job_<32 hex>)\n",
				o->job_id);
			return ATL_EXIT_USAGE;
		}
		if (o->wait && o->timeout_s == 0)
			o->timeout_s = RUN_TIMEOUT_DEFAULT;
	} else if (optind != argc || o->workload == NULL ||
		   (o->input == NULL) == (o->text == NULL)) {
		fprintf(stderr, "atoll %s: needs --workload and one of --input or --text\n", o->name);
		usage(stderr, o->name);
		return ATL_EXIT_USAGE;
	}
	if (atl_client_dir(o->keys, o->dir, sizeof(o->dir)) != ATL_OK) {
		fprintf(stderr, "atoll %s: no key store: pass --keys DIR or set $ATOLL_KEYS\n",
			o->name);
		return ATL_EXIT_USAGE;
	}
	o->api_key = atl_client_api_key(o->api_key);
	o->url = atl_client_url(o->url);
	if (o->api_key == NULL) {
		fprintf(stderr, "atoll %s: no API key: pass --api-key or set $ATOLL_API_KEY\n",
			o->name);
		return ATL_EXIT_USAGE;
	}
	if (o->url == NULL && !is_result) {
		fprintf(stderr, "atoll %s: no coordinator: pass --coordinator URL or set "
				"$ATOLL_COORDINATOR\n", o->name);
		return ATL_EXIT_USAGE;
	}
	return -1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Exit status for a failed coordinator call (after printing why). */
static int call_failed(const struct run_opts *o, struct atl_client *c, const char *what,
		       enum atl_err rc)
{
	const char *e = atl_client_last_error(c);

	fprintf(stderr, "atoll %s: %s: %s\n", o->name, what, e[0] != '\0' ? e : atl_strerror(rc));
	if (rc == ATL_E_AUTH)
		fprintf(stderr, "atoll %s: check the API key (--api-key or $ATOLL_API_KEY)\n",
			o->name);
	return rc == ATL_E_IO && atl_client_last_status(c) == 0 ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
}

/* Seals and submits; job_id_out and *dek_out (may be NULL) on success. */
static int seal_submit(struct run_opts *o, struct atl_client *c, char *job_id_out,
		       uint8_t **dek_out)
{
	struct atl_client_target *t = NULL;
	struct atl_kp kp = {0};
	char kid[ATL_KEY_ID_LEN], used[4200], why[512], *env = NULL;
	uint8_t *in = NULL;
	size_t n = 0, in_len = 0, env_len = 0, ok = 0;
	json_t *policy = NULL;
	int ret = ATL_EXIT_USAGE;
	enum atl_err rc;

	rc = atl_client_policy_load(o->dir, o->policy, &policy, used, sizeof(used), why,
				    sizeof(why));
	if (rc != ATL_OK) {
		if (rc == ATL_E_NOTFOUND && o->policy == NULL)
			fprintf(stderr, "atoll %s: no attestation policy: pass --policy FILE or write "
					"%s (see 'atoll policy init')\n", o->name, used);
		else
			fprintf(stderr, "atoll %s: policy %s: %s\n", o->name, used,
				why[0] != '\0' ? why : atl_strerror(rc));
		goto out;
	}
	rc = atl_client_key_load(o->dir, o->key, &kp, kid);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll %s: %s: %s\n", o->name,
			o->key != NULL ? o->key : "no client key in the key store",
			rc == ATL_E_NOTFOUND ? "create one with 'atoll keys create'" : atl_strerror(rc));
		goto out;
	}
	if (o->text != NULL) {
		in_len = strlen(o->text);
		in = malloc(in_len + 1);
		if (in == NULL)
			goto out;
		memcpy(in, o->text, in_len + 1);
	} else {
		rc = atl_file_read(o->input, ATL_ENV_PAYLOAD_MAX, &in, &in_len);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll %s: cannot read %s: %s\n", o->name, o->input,
				atl_strerror(rc));
			goto out;
		}
	}
	/* a second round only when the coordinator lost every recipient between
	 * our targets call and the submission (an enclave restarted: new key) */
	for (int round = 0;; round++) {
		ok = 0;
		say("[1/5] fetching attested targets for workload %s from %s", o->workload, o->url);
		rc = atl_client_targets(c, o->workload, (size_t)o->count, policy, atl_time_now(),
					&t, &n);
		if (rc != ATL_OK) {
			ret = call_failed(o, c, "targets", rc);
			goto out;
		}
		say("[2/5] verifying %zu target%s against the policy %s", n, n == 1 ? "" : "s",
		    used);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(t[i].tee, "sim") == 0 && t[i].v.ok)
				say("      %s", ATL_SIM_WARNING);
			if (t[i].v.ok) {
				say("      accepted: island %s (%s) key %s, %s, evidence age %llds",
				    t[i].island, t[i].tee, t[i].v.key_id, t[i].v.status,
				    (long long)t[i].age_s);
				ok++;
			} else {
				say("      REFUSED: island %s (%s) key %s: %s", t[i].island,
				    t[i].tee, t[i].key_id, t[i].v.why);
			}
		}
		if (ok == 0) {
			fprintf(stderr, "atoll %s: REFUSED: no target of workload %s satisfies the "
					"policy; nothing was submitted\n", o->name, o->workload);
			ret = ATL_EXIT_FAIL;
			goto out;
		}
		say("[3/5] sealing the input (%zu bytes) to %zu enclave key%s and your key %s",
		    in_len, ok, ok == 1 ? "" : "s", kid);
		rc = atl_client_seal(t, n, &kp, o->workload, atl_time_now(), in, in_len, &env,
				     &env_len, dek_out);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll %s: cannot seal the input: %s\n", o->name,
				atl_strerror(rc));
			ret = ATL_EXIT_FAIL;
			goto out;
		}
		rc = atl_client_submit(c, o->workload, kid, env, job_id_out);
		if (rc == ATL_OK)
			break;
		if (dek_out != NULL) {
			atl_secret_free(*dek_out);
			*dek_out = NULL;
		}
		free(env);
		env = NULL;
		free(t);
		t = NULL;
		if (rc == ATL_E_STATE && round == 0) {
			say("      %s; fetching the targets again", atl_client_last_error(c));
			continue;
		}
		ret = call_failed(o, c, "submit", rc);
		goto out;
	}
	rc = atl_client_record_save(o->dir, job_id_out, o->workload, kid, o->url, env);
	if (rc != ATL_OK)
		fprintf(stderr, "atoll %s: warning: cannot keep the job record in %s/jobs: %s\n",
			o->name, o->dir, atl_strerror(rc));
	say("[4/5] submitted job %s", job_id_out);
	ret = ATL_EXIT_OK;
out:
	if (in != NULL)
		atl_wipe(in, in_len);
	free(in);
	free(env);
	free(t);
	atl_kp_clear(&kp);
	json_decref(policy);
	return ret;
}

static int write_out(const struct run_opts *o, const uint8_t *pt, size_t len)
{
	if (o->output != NULL) {
		enum atl_err rc = atl_file_write(o->output, pt, len, 0600, 0);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll %s: cannot write %s: %s\n", o->name, o->output,
				atl_strerror(rc));
			return ATL_EXIT_USAGE;
		}
		return ATL_EXIT_OK;
	}
	if (fwrite(pt, 1, len, stdout) != len || fflush(stdout) != 0)
		return ATL_EXIT_USAGE;
	return ATL_EXIT_OK;
}

/* Waits for the job until it is done or failed or timeout_s passes (0: once;
 * long-poll, else polls from 20 ms doubling to 500 ms: atl_client_job_wait),
 * then opens the result (with dek when given, else from the job record). */
static int wait_open(const struct run_opts *o, struct atl_client *c, const char *job_id,
		     const uint8_t *dek)
{
	struct atl_client_job job = {0};
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int ret = ATL_EXIT_FAIL;
	enum atl_err rc;

	rc = atl_client_job_wait(c, job_id, (int64_t)o->timeout_s * 1000, &job);
	if (rc == ATL_E_TIMEOUT) {
		fprintf(stderr, "atoll %s: job %s is still %s%s; fetch it later with 'atoll "
				"result %s --wait'\n", o->name, job_id, job.status,
			o->timeout_s > 0 ? " after the timeout" : "", job_id);
		goto out;
	}
	if (rc != ATL_OK) {
		atl_client_job_clear(&job);
		return call_failed(o, c, "job status", rc);
	}
	say("      job %s: %s", job_id, job.status);
	if (strcmp(job.status, "done") != 0) {
		fprintf(stderr, "atoll %s: job %s %s: %s%s%s\n", o->name, job_id, job.status,
			job.err_code[0] != '\0' ? job.err_code : "no reason given",
			job.err_msg[0] != '\0' ? ": " : "", job.err_msg);
		goto out;
	}
	if (job.result == NULL) {
		fprintf(stderr, "atoll %s: job %s is done but carries no result\n", o->name, job_id);
		goto out;
	}
	say("[5/5] opening the sealed result (%zu bytes)", job.result_len);
	if (dek != NULL)
		rc = atl_env_result_open(dek, job_id, o->workload, job.result, job.result_len, &pt,
					 &pt_len);
	else
		rc = atl_client_open_result(o->dir, job_id, job.result, job.result_len, &pt,
					    &pt_len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll %s: the result of job %s does not open: %s\n", o->name,
			job_id,
			rc == ATL_E_NOTFOUND ? "no job record or client key for it in the key store"
					     : atl_strerror(rc));
		goto out;
	}
	ret = write_out(o, pt, pt_len);
out:
	atl_secret_free(pt);
	atl_client_job_clear(&job);
	return ret;
}

static int run_cmd(int argc, char **argv, const char *name)
{
	struct run_opts o = {.name = name};
	struct atl_client *c = NULL;
	char job_id[ATL_ENV_ID_MAX + 1], url[600];
	uint8_t *dek = NULL;
	int ret;
	enum atl_err rc;

	ret = parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	if (o.url == NULL) {
		/* result: the coordinator the job went to */
		if (atl_client_record_coordinator(o.dir, o.job_id, url, sizeof(url)) != ATL_OK ||
		    url[0] == '\0') {
			fprintf(stderr, "atoll result: no coordinator: pass --coordinator URL or set "
					"$ATOLL_COORDINATOR\n");
			return ATL_EXIT_USAGE;
		}
		o.url = url;
	}
	rc = atl_client_new(o.url, o.api_key, &c);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll %s: bad coordinator URL '%.200s' (http:// or https://)\n",
			name, o.url);
		return ATL_EXIT_USAGE;
	}
	if (strcmp(name, "result") == 0) {
		ret = wait_open(&o, c, o.job_id, NULL);
	} else {
		ret = seal_submit(&o, c, job_id, strcmp(name, "run") == 0 ? &dek : NULL);
		if (ret == ATL_EXIT_OK && strcmp(name, "submit") == 0)
			printf("%s\n", job_id);
		else if (ret == ATL_EXIT_OK)
			ret = wait_open(&o, c, job_id, dek);
	}
	atl_secret_free(dek);
	atl_client_free(c);
	return ret;
}

int atl_cmd_run(int argc, char **argv)
{
	return run_cmd(argc, argv, "run");
}

int atl_cmd_submit(int argc, char **argv)
{
	return run_cmd(argc, argv, "submit");
}

int atl_cmd_result(int argc, char **argv)
{
	return run_cmd(argc, argv, "result");
}
