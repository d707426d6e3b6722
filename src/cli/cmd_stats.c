/* `atoll stats`: the coordinator's live statistics (attested hosts by TEE
 * kind, jobs by state) and, with --usage, the calling tenant's metering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/client.h"
#include "atoll/json.h"
#include "cli/cmds.h"

int atl_cmd_stats(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll stats [--usage] [--coordinator URL] [--api-key K]\n\n"
		"Prints the coordinator's statistics as JSON: attested hosts by TEE kind\n"
		"(counted from live attestations) and jobs by state; --usage adds your\n"
		"tenant's metering (jobs and bytes).\n\n"
		"  --coordinator URL  (or $ATOLL_COORDINATOR)\n"
		"  --api-key K        tenant API key (or $ATOLL_API_KEY; never printed)\n\n"
		"exit status: 0 ok, 1 refused, 2 usage or I/O\n");
}

int atl_cmd_stats(int argc, char **argv)
{
	const char *url = NULL, *key = NULL;
	struct atl_client *c = NULL;
	json_t *stats = NULL, *use = NULL;
	bool want_usage = false;
	char *txt = NULL;
	int ret = ATL_EXIT_FAIL;
	enum atl_err rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return ATL_EXIT_OK;
		} else if (strcmp(argv[i], "--usage") == 0) {
			want_usage = true;
		} else if (strcmp(argv[i], "--coordinator") == 0 && i + 1 < argc) {
			url = argv[++i];
		} else if (strcmp(argv[i], "--api-key") == 0 && i + 1 < argc) {
			key = argv[++i];
		} else {
			fprintf(stderr, "atoll stats: unknown or incomplete option '%s'\n", argv[i]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	url = atl_client_url(url);
	key = atl_client_api_key(key);
	if (url == NULL || key == NULL) {
		fprintf(stderr, "atoll stats: needs a coordinator (--coordinator or "
				"$ATOLL_COORDINATOR) and an API key (--api-key or $ATOLL_API_KEY)\n");
		return ATL_EXIT_USAGE;
	}
	if (atl_client_new(url, key, &c) != ATL_OK) {
		fprintf(stderr, "atoll stats: bad coordinator URL '%.200s'\n", url);
		return ATL_EXIT_USAGE;
	}
	rc = atl_client_get_json(c, "/api/v1/confidential/stats", &stats);
	if (rc == ATL_OK && want_usage) {
		rc = atl_client_get_json(c, "/api/v1/usage", &use);
		if (rc == ATL_OK && json_object_set(stats, "usage", use) != 0)
			rc = ATL_E_NOMEM;
	}
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll stats: %s\n", atl_client_last_error(c));
		ret = rc == ATL_E_IO && atl_client_last_status(c) == 0 ? ATL_EXIT_USAGE
								       : ATL_EXIT_FAIL;
		goto out;
	}
	txt = atl_json_dump_pretty(stats);
	if (txt == NULL)
		goto out;
	printf("%s\n", txt);
	ret = ATL_EXIT_OK;
out:
	free(txt);
	json_decref(stats);
	json_decref(use);
	atl_client_free(c);
	return ret;
}
