/* `atoll policy init --sim-root PEM --enclave PATH` prints a policy accepting
 * exactly that enclave build in simulation; `atoll policy check FILE` validates
 * a policy and names the offending field (DESIGN §4). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/enclavecfg.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/sig.h"
#include "atoll/tpm.h"
#include "atoll/verify.h"
#include "cli/cmds.h"

int atl_cmd_policy(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll policy init --sim-root PEM --enclave PATH [--max-age SECONDS]\n"
		"       atoll policy init --tee tpm --enclave PATH --ek-ca PEM [--ek-intermediate PEM]\n"
		"                         [--activation-key PEM] [--pcr N]\n"
		"       atoll policy check FILE\n\n"
		"init   prints (stdout) a policy that accepts exactly the enclave binary PATH\n"
		"       running in the simulated TEE with the root PEM (sim-root.pub.pem):\n"
		"       allow_sim true, its SHA-384 as the only measurement, the root pinned,\n"
		"       no debug, max_age_s SECONDS (default %d).\n"
		"       With --tee tpm: tee_types [\"tpm\"], the measurement of PATH\n"
		"       (SHA-384 of the binary and of the configuration of a sandboxed\n"
		"       'atoll-enclave --tee tpm --pcr N' serving this build's workloads), the\n"
		"       expected value of PCR N (default 23) after the enclave extends it,\n"
		"       the EK CA root as trust_anchors.tpm, the EK CA intermediate\n"
		"       and the coordinator's AK activation key (see 'atoll tpm record').\n"
		"check  validates a policy file; exit 0 when valid, 1 with the reason when not.\n\n"
		"The sim TEE gives NO hardware protection: for development and tests only.\n",
		ATL_POLICY_MAX_AGE_DEFAULT);
}

static int bad_option(const char *cmd, char **argv)
{
	fprintf(stderr, "atoll policy %s: unknown or incomplete option '%s'\n", cmd,
		argv[optind - 1]);
	usage(stderr);
	return ATL_EXIT_USAGE;
}

struct tpm_init_args {
	const char *enclave, *ek_ca, *ek_int, *act_key;
	int pcr;
};

/* --tee tpm: the policy for this enclave binary (shared with `atoll tpm
 * policy`, cmd_tpm.c). The measurement covers the binary and the workload
 * configuration of a sandboxed atoll-enclave --tee tpm --pcr N serving the
 * workload table linked here (include/atoll/enclavecfg.h): the same function
 * the enclave uses, so this CLI and the enclave must come from one build. */
static int policy_init_tpm(const struct tpm_init_args *a)
{
	const struct atl_enclave_config ec = {.tee = "tpm", .pcr = a->pcr, .sandbox = true};
	uint8_t meas[ATL_SHA384_LEN];
	enum atl_err rc = atl_enclave_measure(a->enclave, &ec, meas);

	if (rc != ATL_OK) {
		fprintf(stderr, "atoll policy init: cannot read the enclave binary %s: %s\n",
			a->enclave, atl_strerror(rc));
		return ATL_EXIT_USAGE;
	}
	return atl_cli_tpm_policy("policy init", meas, sizeof(meas), a->pcr, &a->ek_ca, 1,
				  &a->ek_int, a->ek_int != NULL ? 1 : 0, &a->act_key,
				  a->act_key != NULL ? 1 : 0);
}

static int policy_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"sim-root", required_argument, NULL, 'r'},
		{"enclave", required_argument, NULL, 'e'},
		{"max-age", required_argument, NULL, 'a'},
		{"tee", required_argument, NULL, 't'},
		{"ek-ca", required_argument, NULL, 'c'},
		{"ek-intermediate", required_argument, NULL, 'i'},
		{"activation-key", required_argument, NULL, 'k'},
		{"pcr", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *root_path = NULL, *enclave = NULL, *tee = "sim";
	struct tpm_init_args ta = {.pcr = ATL_TPM_DEFAULT_PCR};
	long pcr;
	long long max_age = ATL_POLICY_MAX_AGE_DEFAULT;
	uint8_t *pem = NULL, meas[ATL_SHA384_LEN];
	size_t pem_len = 0;
	char meas_hex[2 * ATL_SHA384_LEN + 1], why[256], *canon = NULL, *txt = NULL, *end;
	struct atl_pubkey *pk = NULL;
	json_t *p = NULL;
	enum atl_err rc;
	int c, ret = ATL_EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root_path = optarg;
			break;
		case 'e':
			enclave = optarg;
			break;
		case 'a':
			max_age = strtoll(optarg, &end, 10);
			if (end == optarg || *end != '\0' || max_age < 1 ||
			    max_age > ATL_ATTEST_AGE_MAX) {
				fprintf(stderr, "atoll policy init: --max-age must be 1..%d seconds\n",
					ATL_ATTEST_AGE_MAX);
				return ATL_EXIT_USAGE;
			}
			break;
		case 't':
			tee = optarg;
			break;
		case 'c':
			ta.ek_ca = optarg;
			break;
		case 'i':
			ta.ek_int = optarg;
			break;
		case 'k':
			ta.act_key = optarg;
			break;
		case 'p':
			pcr = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || pcr < 0 || pcr >= ATL_TPM_PCRS) {
				fprintf(stderr, "atoll policy init: --pcr must be 0..%d\n",
					ATL_TPM_PCRS - 1);
				return ATL_EXIT_USAGE;
			}
			ta.pcr = (int)pcr;
			break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			return bad_option("init", argv);
		}
	}
	if (strcmp(tee, "tpm") == 0) {
		if (optind != argc || enclave == NULL || ta.ek_ca == NULL || root_path != NULL) {
			fprintf(stderr, "atoll policy init: --tee tpm needs --enclave PATH and "
					"--ek-ca PEM (and no --sim-root)\n");
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
		ta.enclave = enclave;
		return policy_init_tpm(&ta);
	}
	if (strcmp(tee, "sim") != 0) {
		fprintf(stderr, "atoll policy init: --tee must be sim or tpm\n");
		return ATL_EXIT_USAGE;
	}
	if (ta.ek_ca != NULL || ta.ek_int != NULL || ta.act_key != NULL) {
		fprintf(stderr, "atoll policy init: --ek-ca, --ek-intermediate and "
				"--activation-key are for --tee tpm\n");
		return ATL_EXIT_USAGE;
	}
	if (optind != argc || root_path == NULL || enclave == NULL) {
		fprintf(stderr, "atoll policy init: --sim-root PEM and --enclave PATH are required\n");
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	fprintf(stderr, "%s\n", ATL_SIM_WARNING);
	rc = atl_file_read(root_path, ATL_SIG_KEY_INPUT_MAX, &pem, &pem_len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll policy init: cannot read %s: %s\n", root_path,
			atl_strerror(rc));
		goto out;
	}
	if (atl_pubkey_parse(pem, pem_len, &pk) != ATL_OK || atl_pubkey_to_pem(pk, &canon) != ATL_OK) {
		fprintf(stderr, "atoll policy init: %s is not a PEM public key\n", root_path);
		goto out;
	}
	rc = atl_sim_measure(enclave, meas);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll policy init: cannot read the enclave binary %s: %s\n",
			enclave, atl_strerror(rc));
		goto out;
	}
	if (atl_hex_encode(meas, sizeof(meas), meas_hex, sizeof(meas_hex)) != ATL_OK)
		goto out;
	p = json_pack("{s:[s], s:b, s:b, s:I, s:{s:[s]}, s:{s:s}}", "tee_types", "sim",
		      "allow_sim", 1, "allow_debug", 0, "max_age_s", (json_int_t)max_age,
		      "measurements", "sim", meas_hex, "trust_anchors", "sim", canon);
	ret = ATL_EXIT_FAIL;
	if (p == NULL || atl_policy_validate(p, why, sizeof(why)) != ATL_OK ||
	    (txt = atl_json_dump_pretty(p)) == NULL) {
		fprintf(stderr, "atoll policy init: cannot build the policy\n");
		goto out;
	}
	printf("%s\n", txt);
	ret = ATL_EXIT_OK;
out:
	free(pem);
	free(canon);
	free(txt);
	json_decref(p);
	atl_pubkey_free(pk);
	return ret;
}

static int policy_check(int argc, char **argv)
{
	json_t *p = NULL;
	char why[256];
	enum atl_err rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return ATL_EXIT_OK;
	}
	if (argc != 2) {
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	rc = atl_policy_load(argv[1], &p, why, sizeof(why));
	if (rc == ATL_E_NOTFOUND || rc == ATL_E_IO) {
		fprintf(stderr, "atoll policy check: %s\n", why);
		return ATL_EXIT_USAGE;
	}
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll policy check: %s\n", why);
		return ATL_EXIT_FAIL;
	}
	if (atl_policy_allow_sim(p) && atl_policy_lists_tee(p, "sim"))
		fprintf(stderr, "%s\n", ATL_SIM_WARNING);
	json_decref(p);
	printf("ok\n");
	return ATL_EXIT_OK;
}

int atl_cmd_policy(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return ATL_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return policy_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	fprintf(stderr, "atoll policy: unknown subcommand\n");
	usage(stderr);
	return ATL_EXIT_USAGE;
}
