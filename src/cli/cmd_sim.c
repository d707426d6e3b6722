/* `atoll sim init --dir DIR`: creates the simulation root of the sim TEE
 * (DESIGN §4). The sim TEE gives NO hardware protection; this command says so. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "atoll/verify.h"
#include "cli/cmds.h"

int atl_cmd_sim(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f, "usage: atoll sim init --dir DIR\n\n"
		   "Creates a simulation root key for the 'sim' TEE:\n"
		   "  DIR/" ATL_SIM_ROOT_KEY_FILE "      ECDSA P-384 private key (mode 0600)\n"
		   "  DIR/" ATL_SIM_ROOT_PUB_FILE "  its public key, to pin in a policy\n"
		   "Existing files are never overwritten.\n\n"
		   "The sim TEE gives NO hardware protection: for development and tests only.\n");
}

static int sim_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	enum atl_err rc;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll sim init: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc || dir == NULL || dir[0] == '\0') {
		fprintf(stderr, "atoll sim init: --dir DIR is required (and nothing else)\n");
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	fprintf(stderr, "%s\n", ATL_SIM_WARNING);
	rc = atl_sim_root_create(dir);
	switch (rc) {
	case ATL_OK:
		printf("%s/%s\n", dir, ATL_SIM_ROOT_PUB_FILE);
		fprintf(stderr, "atoll sim init: created %s/%s (mode 0600) and %s/%s\n", dir,
			ATL_SIM_ROOT_KEY_FILE, dir, ATL_SIM_ROOT_PUB_FILE);
		return ATL_EXIT_OK;
	case ATL_E_EXISTS:
		fprintf(stderr, "atoll sim init: %s already holds a simulation root; refusing to "
				"overwrite it\n", dir);
		return ATL_EXIT_FAIL;
	case ATL_E_ARG:
		fprintf(stderr, "atoll sim init: directory name too long\n");
		return ATL_EXIT_USAGE;
	default:
		fprintf(stderr, "atoll sim init: cannot create the root in %s: %s\n", dir,
			atl_strerror(rc));
		return rc == ATL_E_IO || rc == ATL_E_NOTFOUND ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
	}
}

int atl_cmd_sim(int argc, char **argv)
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
		return sim_init(argc - 1, argv + 1);
	fprintf(stderr, "atoll sim: unknown subcommand\n");
	usage(stderr);
	return ATL_EXIT_USAGE;
}
