/* atoll: the client command. Thin: find the subcommand and run it. Each
 * subcommand lives in src/cli/cmd_<name>.c and registers in atl_cmds below. */
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"

/* Subcommands register here (one line each). */
#define ATL_CMD_DECL(fn) int fn(int argc, char **argv);
ATL_CMD_DECL(atl_cmd_version)
ATL_CMD_DECL(atl_cmd_sim)
ATL_CMD_DECL(atl_cmd_policy)
ATL_CMD_DECL(atl_cmd_verify)
ATL_CMD_DECL(atl_cmd_tpm)
ATL_CMD_DECL(atl_cmd_train)
ATL_CMD_DECL(atl_cmd_predict)
ATL_CMD_DECL(atl_cmd_local)
ATL_CMD_DECL(atl_cmd_tokenize)
ATL_CMD_DECL(atl_cmd_infer)
ATL_CMD_DECL(atl_cmd_model)
ATL_CMD_DECL(atl_cmd_keys)
ATL_CMD_DECL(atl_cmd_model_crypt)
ATL_CMD_DECL(atl_cmd_targets)
ATL_CMD_DECL(atl_cmd_run)
ATL_CMD_DECL(atl_cmd_submit)
ATL_CMD_DECL(atl_cmd_result)
ATL_CMD_DECL(atl_cmd_stats)
ATL_CMD_DECL(atl_cmd_proxy)
ATL_CMD_DECL(atl_cmd_kbs)

const struct atl_cmd atl_cmds[] = {
	{"version", "print the version", atl_cmd_version},
	{"sim", "simulated TEE: create a simulation root (no hardware protection)", atl_cmd_sim},
	{"policy", "write or check an attestation policy", atl_cmd_policy},
	{"verify", "verify attestation evidence against a policy", atl_cmd_verify},
	{"tpm", "TPM tools: AK info, credential activation, evidence, policy, verify", atl_cmd_tpm},
	{"train", "train a workload model (classifier) from a CSV file", atl_cmd_train},
	{"predict", "run a classifier model locally on JSON or CSV rows", atl_cmd_predict},
	{"local", "run one confidential job in a local enclave (attest, seal, open)", atl_cmd_local},
	{"tokenize", "run a GGUF model's tokenizer on a text (or decode ids)", atl_cmd_tokenize},
	{"infer", "run a llama/qwen2 GGUF model on a prompt (Atoll's engine)", atl_cmd_infer},
	{"model", "make random-weight GGUF models, describe model files", atl_cmd_model},
	{"keys", "client keys: create, list, delete (X25519 ck_ keys)", atl_cmd_keys},
	{"model-crypt", "encrypted models (.atm): kek-new, encrypt, decrypt, inspect, rewrap; audit-verify", atl_cmd_model_crypt},
	{"targets", "list a workload's attested targets, verified against your policy", atl_cmd_targets},
	{"run", "run a confidential job: verify, seal, submit, wait, open", atl_cmd_run},
	{"submit", "seal and submit a confidential job; prints its id", atl_cmd_submit},
	{"result", "fetch and open the result of a submitted job", atl_cmd_result},
	{"stats", "the coordinator's attested hosts and job counts", atl_cmd_stats},
	{"proxy", "serve the confidential API on localhost (keys, encrypt, decrypt)", atl_cmd_proxy},
	{"kbs", "key broker operator commands: init, tenants, models, revoke, rotate, audit", atl_cmd_kbs},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: atoll COMMAND [ARGS...]\n\n"
		   "Atoll: confidential inference. The client side: keys, sealing, attestation\n"
		   "verification, and local tools.\n\ncommands:\n");
	for (size_t i = 0; atl_cmds[i].name != NULL; i++)
		fprintf(f, "  %-12s %s\n", atl_cmds[i].name, atl_cmds[i].summary);
	fprintf(f, "\nRun 'atoll COMMAND --help' for a command's options.\n");
}

int atl_cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("atoll 0.1.0\n");
	return ATL_EXIT_OK;
}

int main(int argc, char **argv)
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
	for (size_t i = 0; atl_cmds[i].name != NULL; i++) {
		if (strcmp(argv[1], atl_cmds[i].name) == 0)
			return atl_cmds[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "atoll: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return ATL_EXIT_USAGE;
}
