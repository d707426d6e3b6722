/* `atoll keys create|list|delete`: the user's client keys "ck_…" (X25519),
 * kept in the key store (include/atoll/client.h): --keys DIR, $ATOLL_KEYS,
 * or ~/.config/atoll. The private key is never printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/client.h"
#include "atoll/timeutil.h"
#include "cli/cmds.h"

int atl_cmd_keys(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll keys create [--keys DIR]\n"
		"       atoll keys list [--keys DIR]\n"
		"       atoll keys delete KEY_ID [--keys DIR]\n\n"
		"Client keys (X25519, 'ck_<hex>'): every confidential job is sealed to the\n"
		"attested enclaves and to your own key, so you can reopen its result later.\n"
		"The private key stays in the key store (directory 0700, files 0600) and is\n"
		"never printed. The newest key is the default one.\n\n"
		"  --keys DIR   the key store (default: $ATOLL_KEYS, else ~/.config/atoll)\n\n"
		"exit status: 0 ok, 1 failed (no such key), 2 usage or I/O\n");
}

int atl_cmd_keys(int argc, char **argv)
{
	const char *keys = NULL, *verb = NULL, *arg = NULL;
	char dir[4096], kid[ATL_KEY_ID_LEN];
	enum atl_err rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return ATL_EXIT_OK;
		} else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
			keys = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "atoll keys: unknown or incomplete option '%s'\n", argv[i]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		} else if (verb == NULL) {
			verb = argv[i];
		} else if (arg == NULL) {
			arg = argv[i];
		} else {
			fprintf(stderr, "atoll keys: too many arguments\n");
			return ATL_EXIT_USAGE;
		}
	}
	if (verb == NULL) {
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	if (atl_client_dir(keys, dir, sizeof(dir)) != ATL_OK) {
		fprintf(stderr, "atoll keys: no key store: pass --keys DIR or set $ATOLL_KEYS or $HOME\n");
		return ATL_EXIT_USAGE;
	}
	if (strcmp(verb, "create") == 0 && arg == NULL) {
		rc = atl_client_key_create(dir, kid);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll keys create: cannot create a key in %s: %s\n", dir,
				atl_strerror(rc));
			return ATL_EXIT_USAGE;
		}
		printf("%s\n", kid);
		fprintf(stderr, "created client key %s in %s/keys (private key mode 0600)\n", kid,
			dir);
		return ATL_EXIT_OK;
	}
	if (strcmp(verb, "list") == 0 && arg == NULL) {
		struct atl_client_key_info *list = NULL;
		size_t n = 0;

		rc = atl_client_key_list(dir, &list, &n);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll keys list: cannot read %s: %s\n", dir,
				atl_strerror(rc));
			return ATL_EXIT_USAGE;
		}
		for (size_t i = 0; i < n; i++) {
			char when[ATL_RFC3339_LEN] = "?";
			if (atl_time_format_rfc3339(list[i].created_at, when, sizeof(when)) != ATL_OK)
				snprintf(when, sizeof(when), "?");
			printf("%s  created %s%s\n", list[i].key_id, when,
			       i == 0 ? "  (default)" : "");
		}
		if (n == 0)
			fprintf(stderr, "no client keys in %s (create one: atoll keys create)\n", dir);
		free(list);
		return ATL_EXIT_OK;
	}
	if (strcmp(verb, "delete") == 0 && arg != NULL) {
		rc = atl_client_key_delete(dir, arg);
		if (rc == ATL_E_ARG) {
			fprintf(stderr, "atoll keys delete: '%s' is not a client key id (ck_<32 hex>)\n",
				arg);
			return ATL_EXIT_USAGE;
		}
		if (rc == ATL_E_NOTFOUND) {
			fprintf(stderr, "atoll keys delete: no key %s in %s\n", arg, dir);
			return ATL_EXIT_FAIL;
		}
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll keys delete: %s\n", atl_strerror(rc));
			return ATL_EXIT_USAGE;
		}
		fprintf(stderr, "deleted %s (results of jobs sealed to it can no longer be opened)\n",
			arg);
		return ATL_EXIT_OK;
	}
	fprintf(stderr, "atoll keys: unknown or incomplete command '%s'\n", verb);
	usage(stderr);
	return ATL_EXIT_USAGE;
}
