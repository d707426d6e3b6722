/* `atoll targets --workload W [--policy P]`: lists the coordinator's attested
 * targets for a workload and verifies each one here, against the user's
 * policy: which pass, and why the others fail. Exit 0 when at least one
 * passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/client.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "cli/cmds.h"

int atl_cmd_targets(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll targets --workload W [--policy FILE] [--count N]\n"
		"                     [--coordinator URL] [--api-key K] [--keys DIR]\n\n"
		"Fetches the attested targets (islands with their enclave keys and evidence)\n"
		"of a workload and verifies each one locally against your policy.\n\n"
		"  --workload W       the workload id\n"
		"  --policy FILE      attestation policy (default: DIR/policy.json)\n"
		"  --count N          targets to ask for (1..16, default 16)\n"
		"  --coordinator URL  (or $ATOLL_COORDINATOR)\n"
		"  --api-key K        tenant API key (or $ATOLL_API_KEY; never printed)\n"
		"  --keys DIR         key store (default: $ATOLL_KEYS, else ~/.config/atoll)\n\n"
		"exit status: 0 at least one target passes, 1 none does (or refused), 2 usage\n"
		"or I/O\n");
}

int atl_cmd_targets(int argc, char **argv)
{
	const char *url = NULL, *key = NULL, *keys = NULL, *policy_path = NULL, *wl = NULL;
	char dir[4096], used[4200], why[512];
	struct atl_client *c = NULL;
	struct atl_client_target *t = NULL;
	size_t n = 0, ok = 0, count = ATL_COORD_TARGETS_MAX;
	json_t *policy = NULL;
	int ret = ATL_EXIT_USAGE;
	enum atl_err rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ATL_EXIT_OK;
		}
		if (v == NULL)
			goto bad;
		if (strcmp(a, "--coordinator") == 0)
			url = v;
		else if (strcmp(a, "--api-key") == 0)
			key = v;
		else if (strcmp(a, "--keys") == 0)
			keys = v;
		else if (strcmp(a, "--policy") == 0)
			policy_path = v;
		else if (strcmp(a, "--workload") == 0)
			wl = v;
		else if (strcmp(a, "--count") == 0) {
			char *end = NULL;
			long k = strtol(v, &end, 10);
			if (v[0] < '0' || v[0] > '9' || *end != '\0' || k < 1 ||
			    k > (long)ATL_COORD_TARGETS_MAX)
				goto bad;
			count = (size_t)k;
		} else
			goto bad;
		i++;
	}
	url = atl_client_url(url);
	key = atl_client_api_key(key);
	if (wl == NULL || url == NULL || key == NULL) {
		fprintf(stderr, "atoll targets: needs --workload, a coordinator (--coordinator or "
				"$ATOLL_COORDINATOR) and an API key (--api-key or $ATOLL_API_KEY)\n");
		return ATL_EXIT_USAGE;
	}
	if (atl_client_dir(keys, dir, sizeof(dir)) != ATL_OK) {
		fprintf(stderr, "atoll targets: no key store: pass --keys DIR\n");
		return ATL_EXIT_USAGE;
	}
	rc = atl_client_policy_load(dir, policy_path, &policy, used, sizeof(used), why, sizeof(why));
	if (rc != ATL_OK) {
		if (rc == ATL_E_NOTFOUND && policy_path == NULL)
			fprintf(stderr, "atoll targets: no attestation policy: pass --policy FILE or "
					"write %s\n", used);
		else
			fprintf(stderr, "atoll targets: policy %s: %s\n", used,
				why[0] != '\0' ? why : atl_strerror(rc));
		goto out;
	}
	if (atl_client_new(url, key, &c) != ATL_OK) {
		fprintf(stderr, "atoll targets: bad coordinator URL '%.200s'\n", url);
		goto out;
	}
	rc = atl_client_targets(c, wl, count, policy, atl_time_now(), &t, &n);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll targets: %s\n", atl_client_last_error(c));
		ret = rc == ATL_E_IO && atl_client_last_status(c) == 0 ? ATL_EXIT_USAGE
								       : ATL_EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%-8s %-20s %-6s %-35s age %5llds  %s\n", t[i].v.ok ? "PASS" : "REFUSED",
		       t[i].island, t[i].tee, t[i].v.ok ? t[i].v.key_id : t[i].key_id,
		       (long long)t[i].age_s, t[i].v.ok ? t[i].v.status : t[i].v.why);
		if (t[i].v.ok)
			ok++;
		if (t[i].v.ok && strcmp(t[i].tee, "sim") == 0)
			fprintf(stderr, "%s\n", ATL_SIM_WARNING);
	}
	fprintf(stderr, "%zu of %zu target%s of workload %s pass the policy %s\n", ok, n,
		n == 1 ? "" : "s", wl, used);
	ret = ok > 0 ? ATL_EXIT_OK : ATL_EXIT_FAIL;
out:
	free(t);
	json_decref(policy);
	atl_client_free(c);
	return ret;
bad:
	fprintf(stderr, "atoll targets: unknown or incomplete option\n");
	usage(stderr);
	return ATL_EXIT_USAGE;
}
