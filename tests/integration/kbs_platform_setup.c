/* Test helper for tests/integration/kbs_platform.sh and the demo: sets up a
 * key broker's state directory through the broker core (atl_kbs_*), before
 * `atoll-kbs serve` opens it, and checks its audit log afterwards.
 *
 *   kbs_platform_setup model DIR TENANT IN OUT.atm POLICY.json [WORKLOAD...]
 *       adds TENANT (once), encrypts IN to OUT.atm under the tenant's KEK
 *       (4 KiB chunks), registers it with the release policy and allows the
 *       workloads named (atl_kbs_model_allow_workload); prints the model id
 *   kbs_platform_setup audit DIR
 *       verifies DIR/audit.log (hash chain); prints the record count and the
 *       counts of releases and refusals
 * Exit 0 ok, 1 failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/audit.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/kbs.h"

static int model(int argc, char **argv)
{
	struct atl_kbs *b = NULL;
	char mid[ATL_KBS_MODEL_ID_HEX], *abs = NULL;
	uint8_t *pol = NULL;
	size_t pol_len = 0;
	json_t *policy = NULL;
	enum atl_err rc;
	int ret = 1;

	rc = atl_file_read(argv[6], 1 << 20, &pol, &pol_len);
	if (rc == ATL_OK)
		rc = atl_json_parse((const char *)pol, pol_len, &policy);
	if (rc != ATL_OK) {
		fprintf(stderr, "kbs_platform_setup: policy %s: %s\n", argv[6], atl_strerror(rc));
		goto out;
	}
	rc = atl_kbs_open(argv[2], NULL, &b);
	if (rc != ATL_OK) {
		fprintf(stderr, "kbs_platform_setup: open %s: %s\n", argv[2], atl_strerror(rc));
		goto out;
	}
	rc = atl_kbs_tenant_add(b, argv[3], NULL, NULL);
	if (rc != ATL_OK && rc != ATL_E_EXISTS) {
		fprintf(stderr, "kbs_platform_setup: tenant %s: %s\n", argv[3], atl_strerror(rc));
		goto out;
	}
	rc = atl_kbs_model_encrypt(b, argv[3], argv[4], argv[5], 4096, NULL);
	if (rc == ATL_OK && (abs = realpath(argv[5], NULL)) == NULL)
		rc = ATL_E_IO;
	if (rc == ATL_OK)
		rc = atl_kbs_model_register(b, argv[3], abs, policy, mid);
	for (int i = 7; rc == ATL_OK && i < argc; i++)
		rc = atl_kbs_model_allow_workload(b, mid, argv[i]);
	if (rc != ATL_OK) {
		fprintf(stderr, "kbs_platform_setup: model %s: %s\n", argv[4], atl_strerror(rc));
		goto out;
	}
	printf("%s\n", mid);
	ret = 0;
out:
	atl_kbs_close(b);
	json_decref(policy);
	free(pol);
	free(abs);
	return ret;
}

static int audit(char **argv)
{
	struct atl_audit_report rep;
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0, released = 0, refused = 0;
	enum atl_err rc;

	snprintf(path, sizeof(path), "%s/%s", argv[2], ATL_KBS_AUDIT_FILE);
	rc = atl_audit_verify(path, NULL, &rep);
	if (rc != ATL_OK) {
		fprintf(stderr, "kbs_platform_setup: audit log does not verify: %s (seq %llu: %s)\n",
			atl_strerror(rc), (unsigned long long)rep.bad_seq, rep.reason);
		return 1;
	}
	if (atl_file_read(path, 1 << 26, &buf, &len) == ATL_OK) {
		/* count the decisions: one record per line */
		for (const char *p = (const char *)buf; p != NULL && *p != '\0';) {
			const char *e = strchr(p, '\n');
			size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
			if (memmem(p, n, "\"action\":\"release\"", 18) != NULL)
				released++;
			else if (memmem(p, n, "\"action\":\"refuse\"", 17) != NULL)
				refused++;
			p = e != NULL ? e + 1 : NULL;
		}
	}
	printf("audit log verifies: %llu records, %llu heads, %zu releases, %zu refusals\n",
	       (unsigned long long)rep.n_records, (unsigned long long)rep.n_heads, released,
	       refused);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "model") == 0)
		return model(argc, argv);
	if (argc == 3 && strcmp(argv[1], "audit") == 0)
		return audit(argv);
	fprintf(stderr, "usage: kbs_platform_setup model DIR TENANT IN OUT.atm POLICY.json "
			"[WORKLOAD...]\n"
			"       kbs_platform_setup audit DIR\n");
	return 2;
}
