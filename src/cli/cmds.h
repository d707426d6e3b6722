/* Subcommands of the `atoll` CLI. Each is `int atl_cmd_X(int argc, char **argv)`
 * where argv[0] is the subcommand name; it returns the process exit code
 * (0 success, 1 refused/failed, 2 usage or I/O error) and never exits. */
#ifndef ATOLL_CLI_CMDS_H
#define ATOLL_CLI_CMDS_H

struct atl_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* The table of subcommands (main.c). */
extern const struct atl_cmd atl_cmds[];

/* Exit codes shared by all commands. */
enum { ATL_EXIT_OK = 0, ATL_EXIT_FAIL = 1, ATL_EXIT_USAGE = 2 };

#endif
