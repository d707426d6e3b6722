/* `atoll kbs ...`: the key broker's operator commands, working on its state
 * directory directly (DESIGN §8, issue 9; docs/operations.md "Key broker
 * service"), or, with --url URL --admin-token-file F, on a running
 * `atoll-kbs serve` through its admin API (revoke, rotate, tenant add,
 * tenant quota, status; the state is locked while the service runs, local
 * commands then fail with "in use").
 *   init            --dir D
 *   tenant add T    --dir D [--quota N/WINDOW_S]
 *   tenant quota T  --dir D --quota N/WINDOW_S|none
 *   model add       --dir D --tenant T --in MODEL --out M.atm --policy P [--chunk N]
 *   model register  --dir D --tenant T --atm M.atm --policy P
 *   revoke          --dir D --model ID | --measurement HEX
 *   rotate          --dir D --tenant T
 *   audit verify    --dir D [--pub PEM]
 *   status          --dir D
 * Every local command takes --audit-key PEM (signs the audit heads it writes).
 * Remote: --url URL --admin-token-file F [--ca-file PEM] instead of --dir.
 * Exit codes: 0 ok, 1 refused or failed, 2 usage or I/O. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/audit.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/kbsd.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "cli/cmds.h"

int atl_cmd_kbs(int argc, char **argv);

#define PEM_MAX (64u * 1024u)
#define POLICY_MAX (1024u * 1024u)

struct kopts {
	const char *verb;  /* "tenant add", "status", ... */
	const char *arg;   /* the operand (tenant name), or NULL */
	const char *dir, *tenant, *in, *out, *atm, *policy, *model, *measurement, *pub;
	const char *audit_key, *quota;
	const char *url, *token_file, *ca_file; /* remote mode */
	uint32_t chunk;
	const char *workloads[ATL_KBS_MODEL_WORKLOADS_MAX]; /* --workload (model add/register) */
	size_t n_workloads;
};

static bool remote_verb(const char *verb);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll kbs init           --dir DIR\n"
		"       atoll kbs tenant add T   --dir DIR [--quota N/WINDOW_S]\n"
		"       atoll kbs tenant quota T --dir DIR --quota N/WINDOW_S|none\n"
		"       atoll kbs model add      --dir DIR --tenant T --in MODEL --out M.atm\n"
		"                                --policy POLICY.json [--chunk BYTES]\n"
		"       atoll kbs model register --dir DIR --tenant T --atm M.atm --policy POLICY.json\n"
		"       atoll kbs revoke         --dir DIR (--model ID | --measurement HEX)\n"
		"       atoll kbs rotate         --dir DIR --tenant T\n"
		"       atoll kbs audit verify   --dir DIR [--pub PEM]\n"
		"       atoll kbs status         --dir DIR\n"
		"   or, on a running service (its admin API):\n"
		"       atoll kbs revoke|rotate|tenant add|tenant quota|status\n"
		"                 --url URL --admin-token-file FILE [--ca-file PEM] (other options\n"
		"                 as above, without --dir)\n\n"
		"The key broker's operator commands, on its state directory (master key, tenants'\n"
		"wrapped KEKs, registered models, audit log). The service (atoll-kbs serve)\n"
		"locks the directory while it runs: then use --url (revoke, rotate, tenant add,\n"
		"tenant quota, status take effect at once, at the next release), or stop it.\n\n"
		"init            creates the state (master.key mode 0600, state.json, audit.log)\n"
		"                and the admin token DIR/admin.token (mode 0600; the service keeps\n"
		"                only its SHA-256): move it where the operators keep secrets.\n"
		"tenant add      a tenant with a fresh random KEK (T: 1..%u of A-Za-z0-9._-);\n"
		"                --quota: at most N key releases per WINDOW_S seconds.\n"
		"tenant quota    sets or (none) removes a tenant's own release quota.\n"
		"model add       encrypts MODEL into M.atm under the tenant's KEK and registers it\n"
		"                with the release policy (atoll policy init); prints the model id.\n"
		"model register  registers an .atm already under the tenant's KEK.\n"
		"model allow     --model ID --workload W [--workload W2 ...]: allows more workloads\n"
		"                for a registered model (audited; there is no disallow: revoke).\n"
		"  --workload W    (model add/register, repeatable) a workload id the model's key\n"
		"                  may be released for; the key is then released only to an\n"
		"                  enclave that asks for one of them, bound to that workload.\n"
		"revoke          a model (never released again) or an enclave measurement (no\n"
		"                release to evidence with it); effective at the next release.\n"
		"rotate          a new KEK for the tenant; every model key is re-wrapped (the\n"
		"                models are not re-encrypted), then the old KEK is dropped.\n"
		"audit verify    checks the audit log's hash chain and, with --pub, its signed heads.\n"
		"status          tenants, KEK ids and ages, quotas, models (JSON; no key material).\n\n"
		"  --url URL         the service (http://127.0.0.1:PORT or https://...)\n"
		"  --admin-token-file FILE  the admin token (first line of FILE)\n"
		"  --ca-file PEM     CA bundle verifying an https service (default:\n"
		"                    $ATOLL_KBS_CA_FILE, else the system store)\n"
		"  --audit-key PEM   ECDSA P-256 private key signing the audit heads written\n"
		"  --master-tpm URI  the master key is sealed by this TPM (swtpm:host=H,port=P,\n"
		"                    device:/dev/tpmrm0): init writes master.tpm, never\n"
		"                    master.key; later commands find master.tpm (URI overrides\n"
		"                    the TPM recorded in it)\n\n"
		"Exit codes: 0 ok, 1 refused or failed, 2 usage or I/O error.\n",
		ATL_KBS_TENANT_MAX);
}

static int exit_for(enum atl_err rc)
{
	switch (rc) {
	case ATL_OK:
		return ATL_EXIT_OK;
	case ATL_E_IO:
	case ATL_E_ARG:
	case ATL_E_NOMEM:
		return ATL_EXIT_USAGE;
	default:
		return ATL_EXIT_FAIL;
	}
}

static void report(const struct kopts *o, const char *what, enum atl_err rc)
{
	const char *hint = "";

	if (rc == ATL_E_BUSY)
		hint = " (the state is in use: is atoll-kbs serve running on it?)";
	else if (rc == ATL_E_EXISTS)
		hint = " (it exists already)";
	else if (rc == ATL_E_NOTFOUND)
		hint = " (no such tenant or model)";
	fprintf(stderr, "atoll kbs %s: %s: %s%s\n", o->verb, what, atl_strerror(rc), hint);
}

/* Parses the options after the verb words. Returns -1 to go on, else the
 * exit code. */
static int parse(int argc, char **argv, struct kopts *o)
{
	static const struct option lo[] = {
		{"dir", required_argument, NULL, 'd'},
		{"tenant", required_argument, NULL, 't'},
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"atm", required_argument, NULL, 'a'},
		{"policy", required_argument, NULL, 'p'},
		{"model", required_argument, NULL, 'm'},
		{"measurement", required_argument, NULL, 'M'},
		{"pub", required_argument, NULL, 'P'},
		{"audit-key", required_argument, NULL, 'k'},
		{"quota", required_argument, NULL, 'q'},
		{"chunk", required_argument, NULL, 'c'},
		{"url", required_argument, NULL, 'u'},
		{"admin-token-file", required_argument, NULL, 'F'},
		{"ca-file", required_argument, NULL, 'C'},
		{"master-tpm", required_argument, NULL, 'T'},
		{"workload", required_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	char *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 't': o->tenant = optarg; break;
		case 'i': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 'a': o->atm = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'm': o->model = optarg; break;
		case 'M': o->measurement = optarg; break;
		case 'P': o->pub = optarg; break;
		case 'k': o->audit_key = optarg; break;
		case 'q': o->quota = optarg; break;
		case 'u': o->url = optarg; break;
		case 'F': o->token_file = optarg; break;
		case 'C': o->ca_file = optarg; break;
		case 'T': /* the master key sealed by this TPM (master.tpm) */
			if (atl_kbs_master_tpm_set(optarg) != ATL_OK) {
				fprintf(stderr, "atoll kbs %s: --master-tpm takes a TPM URI "
						"(swtpm:host=H,port=P or device:/dev/tpmrm0)\n",
					o->verb);
				return ATL_EXIT_USAGE;
			}
			break;
		case 'W': /* a workload the model may be released for */
			if (o->n_workloads >= ATL_KBS_MODEL_WORKLOADS_MAX) {
				fprintf(stderr, "atoll kbs %s: at most %u --workload\n", o->verb,
					ATL_KBS_MODEL_WORKLOADS_MAX);
				return ATL_EXIT_USAGE;
			}
			o->workloads[o->n_workloads++] = optarg;
			break;
		case 'c':
			v = strtoull(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < ATL_ATM_CHUNK_MIN ||
			    v > ATL_ATM_CHUNK_MAX) {
				fprintf(stderr, "atoll kbs %s: --chunk must be %u..%u bytes\n",
					o->verb, ATL_ATM_CHUNK_MIN, ATL_ATM_CHUNK_MAX);
				return ATL_EXIT_USAGE;
			}
			o->chunk = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll kbs %s: unknown or incomplete option '%s'\n", o->verb,
				argv[optind - 1]);
			return ATL_EXIT_USAGE;
		}
	}
	/* one operand at most (tenant add T, tenant quota T) */
	if (optind < argc && o->arg == NULL && (strcmp(o->verb, "tenant add") == 0 ||
						strcmp(o->verb, "tenant quota") == 0))
		o->arg = argv[optind++];
	if (optind != argc) {
		fprintf(stderr, "atoll kbs %s: unexpected argument '%s'\n", o->verb, argv[optind]);
		return ATL_EXIT_USAGE;
	}
	if (o->url != NULL) {
		if (!remote_verb(o->verb)) {
			fprintf(stderr, "atoll kbs %s: works on the state directory only (--dir "
					"DIR, service stopped); --url is for revoke, rotate, tenant "
					"add, tenant quota and status\n", o->verb);
			return ATL_EXIT_USAGE;
		}
		if (o->dir != NULL || o->audit_key != NULL) {
			fprintf(stderr, "atoll kbs %s: --url goes without --dir and --audit-key "
					"(the service writes its own audit log)\n", o->verb);
			return ATL_EXIT_USAGE;
		}
		if (o->token_file == NULL) {
			fprintf(stderr, "atoll kbs %s: --url needs --admin-token-file FILE\n",
				o->verb);
			return ATL_EXIT_USAGE;
		}
		return -1;
	}
	if (o->token_file != NULL || o->ca_file != NULL) {
		fprintf(stderr, "atoll kbs %s: --admin-token-file and --ca-file go with --url\n",
			o->verb);
		return ATL_EXIT_USAGE;
	}
	if (o->dir == NULL) {
		fprintf(stderr, "atoll kbs %s: --dir DIR (or --url URL) is required\n", o->verb);
		return ATL_EXIT_USAGE;
	}
	return -1;
}

static bool need(const struct kopts *o, const char *what, const char *v)
{
	if (v != NULL)
		return true;
	fprintf(stderr, "atoll kbs %s: %s is required\n", o->verb, what);
	return false;
}

/* Opens the broker, with the audit signer when --audit-key is given. */
static int kbs_open(const struct kopts *o, struct atl_privkey **signer, struct atl_kbs **b)
{
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	enum atl_err rc;

	*signer = NULL;
	if (o->audit_key != NULL) {
		if (atl_file_read(o->audit_key, PEM_MAX, &pem, &pem_len) != ATL_OK ||
		    atl_privkey_parse(pem, pem_len, signer) != ATL_OK) {
			fprintf(stderr, "atoll kbs %s: %s is not a readable PKCS#8 PEM key\n",
				o->verb, o->audit_key);
			if (pem) {
				atl_wipe(pem, pem_len);
				free(pem);
			}
			return ATL_EXIT_USAGE;
		}
		atl_wipe(pem, pem_len);
		free(pem);
	}
	rc = atl_kbs_open(o->dir, *signer, b);
	if (rc != ATL_OK) {
		report(o, o->dir, rc);
		atl_privkey_free(*signer);
		*signer = NULL;
		return rc == ATL_E_POLICY || rc == ATL_E_AUTH || rc == ATL_E_BUSY ||
				       rc == ATL_E_FORMAT
			       ? ATL_EXIT_FAIL
			       : ATL_EXIT_USAGE;
	}
	return -1;
}

static int load_policy(const struct kopts *o, json_t **p)
{
	char why[256];

	if (atl_json_load_file(o->policy, POLICY_MAX, p) != ATL_OK) {
		fprintf(stderr, "atoll kbs %s: cannot read the policy %s (JSON)\n", o->verb,
			o->policy);
		return ATL_EXIT_USAGE;
	}
	if (atl_policy_validate(*p, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "atoll kbs %s: %s: %s\n", o->verb, o->policy, why);
		json_decref(*p);
		*p = NULL;
		return ATL_EXIT_USAGE;
	}
	return -1;
}

/* ---- remote mode: the running service's admin API ---- */

static bool remote_verb(const char *verb)
{
	return strcmp(verb, "revoke") == 0 || strcmp(verb, "rotate") == 0 ||
	       strcmp(verb, "tenant add") == 0 || strcmp(verb, "tenant quota") == 0 ||
	       strcmp(verb, "status") == 0;
}

static enum atl_err err_for_status(long st)
{
	switch (st) {
	case 400: return ATL_E_ARG;
	case 401: return ATL_E_AUTH;
	case 403: return ATL_E_DENIED;
	case 404: return ATL_E_NOTFOUND;
	case 409: return ATL_E_EXISTS;
	case 413: return ATL_E_LIMIT;
	case 503: return ATL_E_BUSY;
	default: return ATL_E_IO;
	}
}

/* Reads the admin token: the file's first line, 1..ATL_KBSD_ADMIN_TOKEN_MAX
 * printable bytes. *tok is malloc'd (wipe and free). */
static int read_token(const struct kopts *o, char **tok)
{
	uint8_t *buf = NULL;
	size_t len = 0, got;

	*tok = NULL;
	if (atl_file_read(o->token_file, ATL_KBSD_ADMIN_TOKEN_MAX + 2, &buf, &len) != ATL_OK) {
		fprintf(stderr, "atoll kbs %s: cannot read the admin token file %s\n", o->verb,
			o->token_file);
		return ATL_EXIT_USAGE;
	}
	got = len;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f)
			len = 0;
	if (len == 0 || len > ATL_KBSD_ADMIN_TOKEN_MAX) {
		fprintf(stderr, "atoll kbs %s: %s does not hold an admin token (one line)\n",
			o->verb, o->token_file);
		atl_wipe(buf, got);
		free(buf);
		return ATL_EXIT_USAGE;
	}
	*tok = (char *)buf;
	return -1;
}

/* One admin call: method to base URL + "/kbs/v0/admin/" + ep; *ans the
 * answer of a 200. Returns -1 on success, else the exit code (reported). */
static int admin_call(const struct kopts *o, struct atl_http_client *c, const char *method,
		      const char *ep, const json_t *body, json_t **ans)
{
	char url[1200];
	size_t n = strlen(o->url);
	long st = 0;
	enum atl_err rc;

	*ans = NULL;
	while (n > 0 && o->url[n - 1] == '/')
		n--;
	if (n > 1000) {
		fprintf(stderr, "atoll kbs %s: --url too long\n", o->verb);
		return ATL_EXIT_USAGE;
	}
	snprintf(url, sizeof(url), "%.*s" ATL_KBSD_PREFIX "/admin/%s", (int)n, o->url, ep);
	rc = atl_http_client_json(c, method, url, body, &st, ans);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll kbs %s: %s: %s\n", o->verb, o->url, atl_strerror(rc));
		json_decref(*ans);
		*ans = NULL;
		return ATL_EXIT_USAGE;
	}
	if (st != 200) {
		json_t *er = json_object_get(*ans, "error");
		const char *msg = json_string_value(json_object_get(er, "message"));
		rc = err_for_status(st);
		fprintf(stderr, "atoll kbs %s: the service refused (HTTP %ld): %s%s\n", o->verb, st,
			msg ? msg : atl_strerror(rc),
			st == 401 ? " (wrong admin token?)"
			: st == 404 && strcmp(ep, "status") == 0 ? " (admin API disabled?)"
								  : "");
		json_decref(*ans);
		*ans = NULL;
		return exit_for(rc);
	}
	return -1;
}

static int remote(const struct kopts *o, uint32_t qn, uint32_t qw)
{
	struct atl_http_client_opts co = {0};
	struct atl_http_client *c = NULL;
	json_t *body = NULL, *ans = NULL;
	char *tok = NULL, *txt = NULL;
	const char *ca = o->ca_file ? o->ca_file : getenv("ATOLL_KBS_CA_FILE");
	int ret;

	if ((ret = read_token(o, &tok)) >= 0)
		return ret;
	co.bearer = tok;
	co.ca_file = ca != NULL && ca[0] != '\0' ? ca : NULL;
	co.timeout_ms = 120000; /* a rotation rewraps every model of the tenant */
	if (atl_http_client_new(&co, &c) != ATL_OK) {
		fprintf(stderr, "atoll kbs %s: cannot create an HTTP client\n", o->verb);
		ret = ATL_EXIT_USAGE;
		goto out;
	}
	if (strcmp(o->verb, "status") == 0) {
		ret = admin_call(o, c, "GET", "status", NULL, &ans);
		if (ret < 0) {
			txt = atl_json_dump_pretty(ans);
			if (txt != NULL)
				printf("%s\n", txt);
		}
		goto out;
	}
	if (strcmp(o->verb, "revoke") == 0)
		body = o->model ? json_pack("{s:s}", "model_id", o->model)
				: json_pack("{s:s}", "measurement", o->measurement);
	else if (strcmp(o->verb, "rotate") == 0)
		body = json_pack("{s:s}", "tenant", o->tenant);
	else if (strcmp(o->verb, "tenant add") == 0)
		body = json_pack("{s:s}", "tenant", o->arg);
	else
		body = json_pack("{s:s, s:I, s:I}", "tenant", o->arg, "n", (json_int_t)qn,
				 "window_s", (json_int_t)qw);
	if (body == NULL) {
		ret = ATL_EXIT_USAGE;
		goto out;
	}
	if (strcmp(o->verb, "revoke") == 0)
		ret = admin_call(o, c, "POST", "revoke", body, &ans);
	else if (strcmp(o->verb, "rotate") == 0)
		ret = admin_call(o, c, "POST", "rotate", body, &ans);
	else if (strcmp(o->verb, "tenant add") == 0)
		ret = admin_call(o, c, "POST", "tenant", body, &ans);
	else
		ret = admin_call(o, c, "POST", "quota", body, &ans);
	if (ret >= 0)
		goto out;
	if (strcmp(o->verb, "rotate") == 0 || strcmp(o->verb, "tenant add") == 0) {
		const char *kid = json_string_value(json_object_get(ans, "kek_id"));
		printf("%s\n", kid ? kid : "");
	}
	if (strcmp(o->verb, "tenant add") == 0 && qn > 0) {
		json_decref(body);
		json_decref(ans);
		ans = NULL;
		body = json_pack("{s:s, s:I, s:I}", "tenant", o->arg, "n", (json_int_t)qn,
				 "window_s", (json_int_t)qw);
		ret = body ? admin_call(o, c, "POST", "quota", body, &ans) : ATL_EXIT_USAGE;
		if (ret >= 0)
			goto out;
	}
out:
	if (ret < 0)
		ret = ATL_EXIT_OK;
	atl_http_client_free(c);
	if (tok != NULL) {
		atl_wipe(tok, strlen(tok));
		free(tok);
	}
	free(txt);
	json_decref(body);
	json_decref(ans);
	return ret;
}

static int run(struct kopts *o)
{
	struct atl_privkey *signer = NULL;
	struct atl_kbs *b = NULL;
	json_t *pol = NULL, *st = NULL;
	char mid[ATL_KBS_MODEL_ID_HEX], kid[ATL_ATM_KEK_ID_MAX + 1];
	char *abs = NULL, *txt = NULL;
	uint32_t qn = 0, qw = 0;
	enum atl_err rc = ATL_OK;
	int ret;

	/* argument checks first: nothing is opened for a usage error */
	if ((strcmp(o->verb, "tenant add") == 0 || strcmp(o->verb, "tenant quota") == 0) &&
	    o->arg == NULL) {
		fprintf(stderr, "atoll kbs %s: the tenant name is required\n", o->verb);
		return ATL_EXIT_USAGE;
	}
	if (strcmp(o->verb, "tenant quota") == 0 && !need(o, "--quota N/WINDOW_S|none", o->quota))
		return ATL_EXIT_USAGE;
	if (o->quota != NULL && atl_kbsd_quota_parse(o->quota, &qn, &qw) != ATL_OK) {
		fprintf(stderr, "atoll kbs %s: --quota takes N/WINDOW_S (e.g. 100/3600) or none\n",
			o->verb);
		return ATL_EXIT_USAGE;
	}
	if (strcmp(o->verb, "model add") == 0 &&
	    (!need(o, "--tenant T", o->tenant) || !need(o, "--in MODEL", o->in) ||
	     !need(o, "--out M.atm", o->out) || !need(o, "--policy FILE", o->policy)))
		return ATL_EXIT_USAGE;
	if (strcmp(o->verb, "model register") == 0 &&
	    (!need(o, "--tenant T", o->tenant) || !need(o, "--atm M.atm", o->atm) ||
	     !need(o, "--policy FILE", o->policy)))
		return ATL_EXIT_USAGE;
	if (o->n_workloads > 0 && strcmp(o->verb, "model add") != 0 &&
	    strcmp(o->verb, "model register") != 0 && strcmp(o->verb, "model allow") != 0) {
		fprintf(stderr, "atoll kbs %s: --workload is for model add/register/allow\n",
			o->verb);
		return ATL_EXIT_USAGE;
	}
	if (strcmp(o->verb, "model allow") == 0 &&
	    (!need(o, "--model ID", o->model) ||
	     !need(o, "--workload W", o->n_workloads > 0 ? o->workloads[0] : NULL)))
		return ATL_EXIT_USAGE;
	if (strcmp(o->verb, "revoke") == 0 && (o->model == NULL) == (o->measurement == NULL)) {
		fprintf(stderr, "atoll kbs revoke: give exactly one of --model ID and "
				"--measurement HEX\n");
		return ATL_EXIT_USAGE;
	}
	if (strcmp(o->verb, "rotate") == 0 && !need(o, "--tenant T", o->tenant))
		return ATL_EXIT_USAGE;
	if (o->url != NULL)
		return remote(o, qn, qw);
	if (o->policy != NULL && (ret = load_policy(o, &pol)) >= 0)
		return ret;
	if (strcmp(o->verb, "audit verify") == 0) {
		struct atl_audit_report rep;
		struct atl_pubkey *pk = NULL;
		uint8_t *pem = NULL;
		size_t pem_len = 0, n = strlen(o->dir) + sizeof(ATL_KBS_AUDIT_FILE) + 2;
		char *path = malloc(n);
		ret = ATL_EXIT_USAGE;
		if (path == NULL)
			return ret;
		snprintf(path, n, "%s/%s", o->dir, ATL_KBS_AUDIT_FILE);
		if (o->pub != NULL && (atl_file_read(o->pub, PEM_MAX, &pem, &pem_len) != ATL_OK ||
				       atl_pubkey_parse(pem, pem_len, &pk) != ATL_OK)) {
			fprintf(stderr, "atoll kbs audit verify: %s is not a readable PEM public "
					"key\n", o->pub);
		} else {
			memset(&rep, 0, sizeof(rep));
			rc = atl_audit_verify(path, pk, &rep);
			if (rc == ATL_OK) {
				printf("ok: %" PRIu64 " records, %" PRIu64 " heads, last seq %" PRIu64
				       ", signed through seq %" PRIu64 "%s\n",
				       rep.n_records, rep.n_heads, rep.last_seq, rep.last_signed_seq,
				       pk == NULL ? " (head signatures NOT checked: no --pub)" : "");
				ret = ATL_EXIT_OK;
			} else if (rc == ATL_E_NOTFOUND || rc == ATL_E_IO) {
				fprintf(stderr, "atoll kbs audit verify: cannot read %s\n", path);
			} else {
				fprintf(stderr, "atoll kbs audit verify: %s: BROKEN at seq %" PRIu64
						": %s\n", path, rep.bad_seq,
					rep.reason[0] ? rep.reason : atl_strerror(rc));
				ret = ATL_EXIT_FAIL;
			}
		}
		free(path);
		free(pem);
		atl_pubkey_free(pk);
		json_decref(pol);
		return ret;
	}
	if ((ret = kbs_open(o, &signer, &b)) >= 0) {
		json_decref(pol);
		return ret;
	}
	ret = ATL_EXIT_OK;
	if (strcmp(o->verb, "init") == 0) {
		bool created = false;
		rc = atl_kbsd_admin_token_init(o->dir, &created);
		if (rc == ATL_OK) {
			printf("ok: broker state in %s\n", o->dir);
			if (created)
				printf("admin token: %s/%s (mode 0600; the service keeps only "
				       "its SHA-256)\n", o->dir, ATL_KBSD_ADMIN_TOKEN_FILE);
		}
	} else if (strcmp(o->verb, "tenant add") == 0) {
		rc = atl_kbs_tenant_add(b, o->arg, NULL, kid);
		if (rc == ATL_OK && qn > 0)
			rc = atl_kbs_tenant_quota_set(b, o->arg, qn, qw);
		if (rc == ATL_OK)
			printf("%s\n", kid);
	} else if (strcmp(o->verb, "tenant quota") == 0) {
		rc = atl_kbs_tenant_quota_set(b, o->arg, qn, qw);
	} else if (strcmp(o->verb, "model add") == 0 || strcmp(o->verb, "model register") == 0) {
		const char *atm = o->atm;
		if (strcmp(o->verb, "model add") == 0) {
			rc = atl_kbs_model_encrypt(b, o->tenant, o->in, o->out,
						   o->chunk ? o->chunk : ATL_ATM_CHUNK_DEFAULT, NULL);
			atm = o->out;
		}
		if (rc == ATL_OK) {
			abs = realpath(atm, NULL);
			rc = abs != NULL ? atl_kbs_model_register(b, o->tenant, abs, pol, mid)
					 : ATL_E_IO;
		}
		for (size_t i = 0; rc == ATL_OK && i < o->n_workloads; i++)
			rc = atl_kbs_model_allow_workload(b, mid, o->workloads[i]);
		if (rc == ATL_OK)
			printf("%s\n", mid);
	} else if (strcmp(o->verb, "model allow") == 0) {
		for (size_t i = 0; rc == ATL_OK && i < o->n_workloads; i++)
			rc = atl_kbs_model_allow_workload(b, o->model, o->workloads[i]);
	} else if (strcmp(o->verb, "revoke") == 0) {
		rc = o->model ? atl_kbs_model_revoke(b, o->model)
			      : atl_kbs_measurement_revoke(b, o->measurement);
	} else if (strcmp(o->verb, "rotate") == 0) {
		rc = atl_kbs_rotate(b, o->tenant, kid);
		if (rc == ATL_OK)
			printf("%s\n", kid);
	} else if (strcmp(o->verb, "status") == 0) {
		st = atl_kbs_status(b);
		txt = st ? atl_json_dump_pretty(st) : NULL;
		if (txt == NULL)
			rc = ATL_E_NOMEM;
		else
			printf("%s\n", txt);
	}
	if (rc != ATL_OK) {
		report(o, o->arg ? o->arg : o->tenant ? o->tenant : o->dir, rc);
		ret = exit_for(rc);
	}
	atl_kbs_close(b);
	atl_privkey_free(signer);
	json_decref(pol);
	json_decref(st);
	free(txt);
	free(abs);
	return ret;
}

int atl_cmd_kbs(int argc, char **argv)
{
	static const char *const one[] = {"init", "revoke", "rotate", "status"};
	static const char *const two[] = {"tenant add", "tenant quota", "model add",
					  "model register", "audit verify", "model allow"};
	struct kopts o;
	char verb[64];
	int words = 0, ret;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ATL_EXIT_USAGE : ATL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (strcmp(argv[1], one[i]) == 0) {
			o.verb = one[i];
			words = 1;
		}
	if (words == 0 && argc >= 3) {
		snprintf(verb, sizeof(verb), "%s %s", argv[1], argv[2]);
		for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
			if (strcmp(verb, two[i]) == 0) {
				o.verb = two[i];
				words = 2;
			}
	}
	if (words == 0) {
		fprintf(stderr, "atoll kbs: unknown command '%s%s%s' (see atoll kbs --help)\n",
			argv[1], argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
		return ATL_EXIT_USAGE;
	}
	ret = parse(argc - words, argv + words, &o);
	if (ret >= 0)
		return ret;
	return run(&o);
}
