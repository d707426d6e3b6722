/* `atoll verify --evidence FILE [--policy FILE] [--nonce HEX] [--time RFC3339]
 * [--anchor PEM]... [--tee KIND [--collateral FILE]...]`: verifies an evidence
 * wrapper (or, with --tee, native hardware evidence: include/atoll/hwverify.h)
 * against a policy and prints
 * the attestation result JSON (DESIGN §4). Exit 0 only when the policy accepts
 * (status affirming or warning); 1 when it refuses or the evidence is invalid
 * (garbage, truncated, too large); 2 for usage errors, unreadable files and
 * invalid policies. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/composite.h"
#include "atoll/file.h"
#include "atoll/hwverify.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "cli/cmds.h"

int atl_cmd_verify(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll verify --evidence FILE [--policy FILE] [--nonce HEX]\n"
		"                    [--time RFC3339] [--anchor PEM]...\n"
		"       atoll verify --tee KIND --evidence FILE [--collateral FILE]... [same options]\n\n"
		"Verifies attestation evidence (the JSON atoll-enclave --attest prints, or a\n"
		"composite CPU + GPU set; '-' reads\n"
		"stdin) against a policy and prints the result JSON: status affirming, warning or\n"
		"contraindicated, and every check with its reason.\n\n"
		"  --policy FILE   policy JSON (see 'atoll policy init'); without it the default\n"
		"                  policy: hardware TEEs only, never sim, measurement not appraised\n"
		"  --nonce HEX     the nonce you issued; the evidence must carry exactly it\n"
		"  --time RFC3339  verify as of this time instead of now\n"
		"  --anchor PEM    trust this root too (repeatable, at most %u)\n"
		"  --tee KIND      the evidence is NATIVE evidence of that TEE as its vendor tools\n"
		"                  give it (raw, hex or base64): sev-snp, tdx, sgx, nitro, psa, cca,\n"
		"                  tpm, nvidia-gpu; --nonce then must equal its report data;\n"
		"                  accepted (exit 0) only when the status is affirming\n"
		"  --collateral F  vendor collateral (VCEK/CRL, DCAP TCB info, QE identity, ...),\n"
		"                  repeatable\n\n"
		"exit status: 0 accepted, 1 refused or invalid evidence, 2 usage, I/O or policy error\n",
		ATL_ATTEST_ARGS_MAX);
}

/* A result for evidence that never reached the verifier (too large). */
static struct atl_ar *refused(const char *reason)
{
	struct atl_ar *ar = atl_ar_new("unknown");

	if (ar != NULL && atl_ar_check(ar, "format", false, "%s", reason) != ATL_OK) {
		atl_ar_free(ar);
		return NULL;
	}
	return ar;
}

static int print_result(const struct atl_ar *ar)
{
	json_t *j = atl_ar_to_json(ar);
	char *txt = j != NULL ? atl_json_dump_pretty(j) : NULL;

	json_decref(j);
	if (txt == NULL) {
		fprintf(stderr, "atoll verify: out of memory\n");
		return -1;
	}
	printf("%s\n", txt);
	free(txt);
	return 0;
}

int atl_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"evidence", required_argument, NULL, 'e'},
		{"policy", required_argument, NULL, 'p'},
		{"nonce", required_argument, NULL, 'n'},
		{"time", required_argument, NULL, 't'},
		{"anchor", required_argument, NULL, 'a'},
		{"tee", required_argument, NULL, 'T'},
		{"collateral", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *ev_path = NULL, *pol_path = NULL, *nonce_hex = NULL, *time_s = NULL;
	const char *anchors[ATL_ATTEST_ARGS_MAX + 1] = {0};
	const char *collateral[ATL_ATTEST_ARGS_MAX + 1] = {0};
	const char *native_tee = NULL;
	size_t n_anchors = 0, n_collateral = 0, nonce_len = 0, ev_len = 0;
	uint8_t nonce[ATL_ATTEST_NONCE_MAX], *ev = NULL;
	int64_t now = 0;
	json_t *policy = NULL;
	struct atl_ar *ar = NULL;
	const json_t *tee;
	char why[256];
	enum atl_err rc;
	int c, ret = ATL_EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			ev_path = optarg;
			break;
		case 'p':
			pol_path = optarg;
			break;
		case 'n':
			nonce_hex = optarg;
			break;
		case 't':
			time_s = optarg;
			break;
		case 'a':
			if (n_anchors == ATL_ATTEST_ARGS_MAX) {
				fprintf(stderr, "atoll verify: at most %u --anchor options\n",
					ATL_ATTEST_ARGS_MAX);
				return ATL_EXIT_USAGE;
			}
			anchors[n_anchors++] = optarg;
			break;
		case 'T':
			native_tee = optarg;
			break;
		case 'c':
			if (n_collateral == ATL_ATTEST_ARGS_MAX) {
				fprintf(stderr, "atoll verify: at most %u --collateral options\n",
					ATL_ATTEST_ARGS_MAX);
				return ATL_EXIT_USAGE;
			}
			collateral[n_collateral++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll verify: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc || ev_path == NULL) {
		fprintf(stderr, "atoll verify: --evidence FILE is required\n");
		usage(stderr);
		return ATL_EXIT_USAGE;
	}
	if (n_collateral > 0 && native_tee == NULL) {
		fprintf(stderr, "atoll verify: --collateral goes with --tee (native evidence)\n");
		return ATL_EXIT_USAGE;
	}
	if (native_tee != NULL && !atl_policy_is_tee_name(native_tee)) {
		fprintf(stderr, "atoll verify: unknown TEE kind for --tee\n");
		return ATL_EXIT_USAGE;
	}
	if (nonce_hex != NULL &&
	    (nonce_hex[0] == '\0' ||
	     atl_hex_decode(nonce_hex, strlen(nonce_hex), nonce, sizeof(nonce), &nonce_len) !=
		     ATL_OK)) {
		fprintf(stderr, "atoll verify: --nonce must be hex of 1 to %u bytes\n",
			ATL_ATTEST_NONCE_MAX);
		return ATL_EXIT_USAGE;
	}
	if (time_s != NULL) {
		if (atl_time_parse_rfc3339(time_s, &now) != ATL_OK) {
			fprintf(stderr, "atoll verify: --time must be RFC 3339, e.g. "
					"2026-11-23T10:00:00Z\n");
			return ATL_EXIT_USAGE;
		}
	} else {
		now = atl_time_now();
	}
	if (pol_path != NULL) {
		rc = atl_policy_load(pol_path, &policy, why, sizeof(why));
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll verify: %s: %s\n", pol_path, why);
			return ATL_EXIT_USAGE;
		}
	}

	rc = atl_file_read(ev_path, ATL_ATTEST_EVIDENCE_MAX, &ev, &ev_len);
	if (rc == ATL_E_LIMIT) {
		snprintf(why, sizeof(why), "evidence: larger than %u bytes", ATL_ATTEST_EVIDENCE_MAX);
		ar = refused(why);
		rc = ATL_E_LIMIT;
	} else if (rc != ATL_OK) {
		fprintf(stderr, "atoll verify: cannot read %s: %s\n", ev_path, atl_strerror(rc));
		goto out;
	} else if (native_tee != NULL) {
		rc = atl_verify_native(native_tee, ev, ev_len, policy,
				       nonce_hex != NULL ? nonce : NULL, nonce_len, now,
				       n_anchors > 0 ? anchors : NULL,
				       n_collateral > 0 ? collateral : NULL, &ar);
	} else {
		/* A plain wrapper, or a composite CPU + GPU set (composite.h); the
		 * policy's require_gpu applies to both. */
		rc = atl_composite_verify(ev, ev_len, policy, nonce_hex != NULL ? nonce : NULL,
					  nonce_len, now, n_anchors > 0 ? anchors : NULL, &ar);
	}
	if (ar == NULL) {
		fprintf(stderr, "atoll verify: out of memory\n");
		ret = ATL_EXIT_FAIL;
		goto out;
	}
	tee = atl_ar_get(ar, "tee");
	if (json_is_string(tee) && strcmp(json_string_value(tee), "sim") == 0)
		fprintf(stderr, "%s\n", ATL_SIM_WARNING);
	if (print_result(ar) != 0) {
		ret = ATL_EXIT_FAIL;
		goto out;
	}
	if (rc == ATL_OK && native_tee != NULL && atl_ar_status(ar) != ATL_AR_AFFIRMING) {
		/* Native hardware evidence is accepted only when affirming (issue 6):
		 * a warning (e.g. SWHardeningNeeded) is reported but refused. */
		fprintf(stderr, "atoll verify: REFUSED: status %s (native evidence must be "
				"affirming)\n",
			atl_ar_status_name(atl_ar_status(ar)));
		ret = ATL_EXIT_FAIL;
	} else if (rc == ATL_OK) {
		fprintf(stderr, "atoll verify: accepted (%s)\n",
			atl_ar_status_name(atl_ar_status(ar)));
		ret = ATL_EXIT_OK;
	} else {
		fprintf(stderr, "atoll verify: REFUSED: check '%s' failed (%s)\n",
			atl_ar_first_failure(ar) != NULL ? atl_ar_first_failure(ar) : "?",
			atl_strerror(rc));
		ret = ATL_EXIT_FAIL;
	}
out:
	free(ev);
	atl_ar_free(ar);
	json_decref(policy);
	return ret;
}
