/* atoll-enclave: the trusted worker (DESIGN §1). Thin main: parse the
 * arguments, then run one mode.
 *
 *   --attest   one-shot: generate an enclave X25519 key pair, print one
 *              evidence wrapper (include/atoll/verify.h) binding its public
 *              key and the given nonce, and exit (enclave_attest_once).
 *
 * The long-running mode (serve jobs over descriptor 3) comes with the platform
 * issue and dispatches from main beside --attest. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/verify.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct enclave_opts {
	const char *tee;      /* --tee: TEE kind ("sim", ...) */
	const char *sim_root; /* --sim-root: directory with sim-root.key (sim only) */
	const char *nonce;    /* --nonce: hex, the verifier's nonce */
	bool attest;          /* --attest: one-shot evidence mode */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll-enclave --tee sim --sim-root DIR --attest --nonce HEX\n\n"
		"The Atoll enclave: the only trusted code on the server side.\n\n"
		"  --attest          generate a fresh enclave key pair, print one evidence JSON\n"
		"                    binding its public key and the nonce, and exit\n"
		"  --tee KIND        the TEE to attest with (sim)\n"
		"  --sim-root DIR    the simulation root (from 'atoll sim init'); sim only\n"
		"  --nonce HEX       the verifier's nonce, 1 to %u bytes\n\n"
		"The sim TEE gives NO hardware protection: for development and tests only.\n",
		ATL_ATTEST_NONCE_MAX);
}

/* --attest: prints one evidence wrapper for a freshly generated enclave key.
 * In this one-shot mode the private key is discarded on exit. */
static int enclave_attest_once(const struct enclave_opts *o)
{
	struct atl_kp kp = {0};
	uint8_t nonce[ATL_ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	json_t *cfg = NULL;
	char *out = NULL;
	enum atl_err rc;
	int ret = EXIT_USAGE;

	if (o->tee == NULL || o->nonce == NULL) {
		fprintf(stderr, "atoll-enclave: --attest needs --tee and --nonce\n");
		goto out;
	}
	if (!atl_policy_is_tee_name(o->tee)) {
		fprintf(stderr, "atoll-enclave: unknown TEE kind\n");
		goto out;
	}
	if (o->nonce[0] == '\0' ||
	    atl_hex_decode(o->nonce, strlen(o->nonce), nonce, sizeof(nonce), &nonce_len) != ATL_OK) {
		fprintf(stderr, "atoll-enclave: --nonce must be hex of 1 to %u bytes\n",
			ATL_ATTEST_NONCE_MAX);
		goto out;
	}
	if (strcmp(o->tee, "sim") == 0) {
		if (o->sim_root == NULL) {
			fprintf(stderr, "atoll-enclave: --tee sim needs --sim-root DIR\n");
			goto out;
		}
		fprintf(stderr, "%s\n", ATL_SIM_WARNING);
		/* The measurement is of this very binary (/proc/self/exe). */
		cfg = json_pack("{s:s}", "sim_root", o->sim_root);
	} else {
		cfg = json_object();
	}
	ret = EXIT_FAIL;
	if (cfg == NULL) {
		fprintf(stderr, "atoll-enclave: out of memory\n");
		goto out;
	}
	rc = atl_kp_generate(&kp);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-enclave: cannot generate the enclave key: %s\n",
			atl_strerror(rc));
		goto out;
	}
	rc = atl_evidence_produce(o->tee, cfg, kp.pub, nonce, nonce_len, &out);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-enclave: cannot produce %s evidence: %s\n", o->tee,
			rc == ATL_E_NOTFOUND && strcmp(o->tee, "sim") == 0
				? "no simulation root in that directory (run 'atoll sim init')"
				: atl_strerror(rc));
		if (rc == ATL_E_NOTFOUND || rc == ATL_E_IO)
			ret = EXIT_USAGE;
		goto out;
	}
	if (printf("%s\n", out) < 0 || fflush(stdout) != 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	ret = EXIT_OK;
out:
	atl_kp_clear(&kp);
	atl_wipe(nonce, sizeof(nonce));
	json_decref(cfg);
	free(out);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tee", required_argument, NULL, 't'},
		{"sim-root", required_argument, NULL, 'r'},
		{"nonce", required_argument, NULL, 'n'},
		{"attest", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct enclave_opts o = {0};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.tee = optarg;
			break;
		case 'r':
			o.sim_root = optarg;
			break;
		case 'n':
			o.nonce = optarg;
			break;
		case 'A':
			o.attest = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "atoll-enclave: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "atoll-enclave: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.attest)
		return enclave_attest_once(&o);
	fprintf(stderr, "atoll-enclave: no mode given (--attest)\n");
	usage(stderr);
	return EXIT_USAGE;
}
