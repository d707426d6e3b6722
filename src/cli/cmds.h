/* Subcommands of the `atoll` CLI. Each is `int atl_cmd_X(int argc, char **argv)`
 * where argv[0] is the subcommand name; it returns the process exit code
 * (0 success, 1 refused/failed, 2 usage or I/O error) and never exits. */
#ifndef ATOLL_CLI_CMDS_H
#define ATOLL_CLI_CMDS_H

#include <stddef.h>
#include <stdint.h>

struct atl_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* The table of subcommands (main.c). */
extern const struct atl_cmd atl_cmds[];

/* Exit codes shared by all commands. */
enum { ATL_EXIT_OK = 0, ATL_EXIT_FAIL = 1, ATL_EXIT_USAGE = 2 };

/* Prints the policy for a tpm enclave build (cmd_tpm.c; `atoll tpm policy`
 * and `atoll policy init --tee tpm`): tee_types ["tpm"], no debug, the
 * measurement (SHA-384, meas_len bytes) and the PCR value it implies in pcr,
 * trust_anchors.tpm from the anchor PEM files, tpm.intermediates and
 * tpm.activation_keys from theirs (act_keys may be empty). cmd names the
 * command in messages. Returns an exit code (2: a PEM file unreadable). */
int atl_cli_tpm_policy(const char *cmd, const uint8_t *meas, size_t meas_len, int pcr,
		       const char *const *anchors, size_t n_anchors, const char *const *inters,
		       size_t n_inters, const char *const *act_keys, size_t n_act_keys);

#endif
