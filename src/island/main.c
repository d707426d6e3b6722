/* atoll-island: the untrusted worker agent (include/atoll/island.h). Thin:
 * parse the arguments, install the signal handlers, run the agent, map its
 * error to an exit status (0 stopped by SIGTERM/SIGINT, 1 refused or failed,
 * 2 usage or I/O). */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ATL_LOG_MODULE "island"
#include "atoll/island.h"
#include "atoll/log.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll-island --coordinator URL --token T\n"
		"                    (--tee sim --sim-root DIR | --tee tpm --tpm URI)\n"
		"                    [--enclave PATH] [--cache DIR] [--lease-wait S]\n"
		"                    [--reattest S] [--job-timeout S]\n\n"
		"The island agent: runs an atoll-enclave child (sandboxed, no network), attests\n"
		"it to the coordinator with the coordinator's fresh nonces (again before the\n"
		"attestation expires, and after every enclave restart), leases jobs, fetches\n"
		"and caches workload models (SHA-256 checked), and relays sealed jobs and\n"
		"results. It never sees plaintext. SIGTERM or SIGINT stops it cleanly.\n\n"
		"  --coordinator URL  the coordinator (http://127.0.0.1:PORT)\n"
		"  --token T          island token (it_…) from 'atoll-coordinator island add';\n"
		"                     also read from $ATOLL_ISLAND_TOKEN\n"
		"  --tee KIND         the TEE the enclave attests with (sim, tpm)\n"
		"  --sim-root DIR     simulation root (from 'atoll sim init'); sim only\n"
		"  --tpm URI          the TPM (swtpm:host=H,port=P | device:/dev/tpmrm0); tpm\n"
		"                     only. At start the island registers it: the coordinator\n"
		"                     checks the EK certificate and activates the AK; the\n"
		"                     enclave measures itself into PCR 23 and quotes\n"
		"  --tpm-ek rsa|ecc   the TPM's EK to register: its RSA 2048 EK (default) or\n"
		"                     its persistent ECC EK (NIST P-384 / P-256)\n"
		"  --enclave PATH     the enclave program (default: atoll-enclave next to this\n"
		"                     program)\n"
		"  --cache DIR        model cache (default: $XDG_CACHE_HOME/atoll-island or\n"
		"                     ~/.cache/atoll-island)\n"
		"  --lease-wait S     seconds one lease long-poll waits (1..30, default %d);\n"
		"                     also bounds how long a stop request may take\n"
		"  --reattest S       attest at least every S seconds (default: at half the\n"
		"                     validity the coordinator grants)\n"
		"  --job-timeout S    longest time one job may take in the enclave (default:\n"
		"                     until its lease ends)\n"
		"  --tls-ca FILE      https coordinator: verify it with this CA bundle (PEM;\n"
		"                     default: the system store)\n"
		"  --tls-cert FILE, --tls-key FILE  mTLS: client certificate and its key (PEM)\n"
		"                     for a coordinator started with --tls-client-ca\n\n"
		"exit status: 0 stopped, 1 refused (token, disabled island), 2 usage or I/O\n",
		ATL_ISLAND_LEASE_WAIT_DEFAULT);
}

static int secs(const char *s, long max, long *out)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);

	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"coordinator", required_argument, NULL, 'c'}, {"token", required_argument, NULL, 't'},
		{"tee", required_argument, NULL, 'e'},  {"sim-root", required_argument, NULL, 'r'},
		{"tpm", required_argument, NULL, 'T'}, {"tpm-ek", required_argument, NULL, 'K'},
		{"enclave", required_argument, NULL, 'n'}, {"cache", required_argument, NULL, 'C'},
		{"lease-wait", required_argument, NULL, 'w'},
		{"reattest", required_argument, NULL, 'a'},
		{"job-timeout", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
		{"tls-ca", required_argument, NULL, 'A'},
		{"tls-cert", required_argument, NULL, 'R'},
		{"tls-key", required_argument, NULL, 'Y'},
		{NULL, 0, NULL, 0},
	};
	struct atl_island_opts o = {0};
	char enclave[PATH_MAX], cache[PATH_MAX], why[512];
	struct sigaction sa;
	long v;
	int c;
	enum atl_err rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.coordinator = optarg; break;
		case 't': o.token = optarg; break;
		case 'e': o.tee = optarg; break;
		case 'r': o.sim_root = optarg; break;
		case 'T': o.tpm = optarg; break;
		case 'K':
			if (strcmp(optarg, "rsa") != 0 && strcmp(optarg, "ecc") != 0) {
				fprintf(stderr, "atoll-island: --tpm-ek must be rsa or ecc\n");
				return 2;
			}
			o.tpm_ek = optarg;
			break;
		case 'n': o.enclave = optarg; break;
		case 'C': o.cache_dir = optarg; break;
		case 'w':
			if (secs(optarg, ATL_COORD_WAIT_MAX_S, &v) != 0) {
				fprintf(stderr, "atoll-island: --lease-wait needs 1..%d seconds\n",
					ATL_COORD_WAIT_MAX_S);
				return 2;
			}
			o.lease_wait_s = (int)v;
			break;
		case 'a':
		case 'j':
			if (secs(optarg, 86400, &v) != 0) {
				fprintf(stderr, "atoll-island: --%s needs 1..86400 seconds\n",
					c == 'a' ? "reattest" : "job-timeout");
				return 2;
			}
			if (c == 'a')
				o.reattest_s = v;
			else
				o.job_timeout_s = v;
			break;
		case 'A': o.tls_ca_file = optarg; break;
		case 'R': o.tls_cert_file = optarg; break;
		case 'Y': o.tls_key_file = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "atoll-island: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (o.token == NULL)
		o.token = getenv("ATOLL_ISLAND_TOKEN");
	if (optind != argc || o.coordinator == NULL || o.token == NULL || o.tee == NULL) {
		fprintf(stderr, "atoll-island: needs --coordinator, --token and --tee\n");
		usage(stderr);
		return 2;
	}
	if ((o.tls_cert_file == NULL) != (o.tls_key_file == NULL)) {
		fprintf(stderr, "atoll-island: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (o.enclave == NULL) {
		/* the atoll-enclave installed next to this program */
		ssize_t n = readlink("/proc/self/exe", enclave, sizeof(enclave) - 1);
		char *slash;
		if (n <= 0 || (size_t)n >= sizeof(enclave) - 16) {
			fprintf(stderr, "atoll-island: cannot find my own program; pass --enclave\n");
			return 2;
		}
		enclave[n] = '\0';
		slash = strrchr(enclave, '/');
		if (slash == NULL) {
			fprintf(stderr, "atoll-island: cannot find my own program; pass --enclave\n");
			return 2;
		}
		snprintf(slash + 1, sizeof(enclave) - (size_t)(slash + 1 - enclave), "atoll-enclave");
		o.enclave = enclave;
	}
	if (o.cache_dir == NULL) {
		const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
		int n;
		if (x != NULL && x[0] == '/')
			n = snprintf(cache, sizeof(cache), "%s/atoll-island", x);
		else if (h != NULL && h[0] != '\0')
			n = snprintf(cache, sizeof(cache), "%s/.cache/atoll-island", h);
		else
			n = -1;
		if (n < 0 || (size_t)n >= sizeof(cache)) {
			fprintf(stderr, "atoll-island: no cache directory: pass --cache DIR\n");
			return 2;
		}
		o.cache_dir = cache;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atl_info("island starting: coordinator %s, tee %s, enclave %s", o.coordinator, o.tee,
		 o.enclave);
	rc = atl_island_run(&o, &stop_flag, why, sizeof(why));
	if (rc == ATL_OK) {
		atl_info("island stopped");
		return 0;
	}
	fprintf(stderr, "atoll-island: %s\n", why[0] != '\0' ? why : atl_strerror(rc));
	return rc == ATL_E_AUTH || rc == ATL_E_DENIED ? 1 : 2;
}
