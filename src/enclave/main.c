/* atoll-enclave: the trusted worker (DESIGN §1). Thin main: parse the
 * arguments, then run one mode.
 *
 *   --attest   one-shot: generate an enclave X25519 key pair, print one
 *              evidence wrapper (include/atoll/verify.h) binding its public
 *              key and the given nonce, and exit (enclave_attest_once).
 *
 *   --serve    long-running: generate the enclave key pair, sandbox the
 *              process, and serve the host over descriptor 3 (or --fd) with the
 *              message protocol of include/atoll/enclave.h (enclave_serve). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/enclave.h"
#include "atoll/enclavecfg.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/nitro.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"
#include "atoll/verify.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct enclave_opts {
	const char *tee;      /* --tee: TEE kind ("sim", ...) */
	const char *sim_root; /* --sim-root: directory with sim-root.key (sim only) */
	const char *nonce;    /* --nonce: hex, the verifier's nonce */
	const char *tpm;      /* --tpm: TPM URI (tpm only) */
	const char *tpm_act;  /* --tpm-activation: activation record file (tpm only) */
	const char *tpm_ek;   /* --tpm-ek: "rsa" or "ecc" (tpm only) */
	int64_t pcr;          /* --pcr: PCR for the measurement (tpm only) */
	bool reset_pcr;       /* --reset-pcr: reset PCR 23 first (tpm test setups) */
	bool attest;          /* --attest: one-shot evidence mode */
	bool serve;           /* --serve: message loop on fd */
	bool no_sandbox;      /* --no-sandbox: debugging only */
	int fd;               /* --fd: channel to the host (default 3) */
	int64_t skew_s;       /* --skew: envelope freshness window */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll-enclave --tee sim --sim-root DIR --attest --nonce HEX\n"
		"       atoll-enclave --tee sim --sim-root DIR --serve [--fd N] [--skew S]\n"
		"       atoll-enclave --tee tpm --tpm URI [--pcr N] [--reset-pcr]\n"
		"                     [--tpm-activation FILE] (--attest --nonce HEX | --serve)\n"
		"       atoll-enclave --tee nitro (--attest --nonce HEX | --serve)\n\n"
		"The Atoll enclave: the only trusted code on the server side.\n\n"
		"  --attest          generate a fresh enclave key pair, print one evidence JSON\n"
		"                    binding its public key and the nonce, and exit\n"
		"  --serve           generate the enclave key pair, sandbox this process (seccomp:\n"
		"                    no network, no exec, no file writes) and serve the host over\n"
		"                    descriptor N (default 3): attest, open jobs, seal results\n"
		"  --fd N            the host's socketpair end (--serve; default 3)\n"
		"  --skew S          accept envelopes created at most S seconds from now\n"
		"                    (--serve; default 300)\n"
		"  --no-sandbox      do not apply the seccomp sandbox (debugging only)\n"
		"  --tee KIND        the TEE to attest with (sim, tpm, nitro: the NSM at /dev/nsm,\n"
		"                    opened once before the sandbox with --serve)\n"
		"  --sim-root DIR    the simulation root (from 'atoll sim init'); sim only\n"
		"  --tpm URI         the TPM (swtpm:host=H,port=P or device:/dev/tpmrm0); tpm only.\n"
		"                    The measurement (SHA-384 of this binary and of its workload\n"
		"                    configuration: PCR, sandbox, workload kinds and limits) is\n"
		"                    extended into the PCR and quoted (--serve: connected once,\n"
		"                    before the sandbox)\n"
		"  --pcr N           the PCR for the measurement (tpm; default %d)\n"
		"  --reset-pcr       reset PCR 23 before extending (tpm; test setups only)\n"
		"  --tpm-activation FILE  the AK activation record ('atoll tpm record') to attach\n"
		"  --tpm-ek rsa|ecc  the EK whose certificate the evidence carries (tpm;\n"
		"                    default rsa; ecc: the persistent ECC EK)\n"
		"  --nonce HEX       the verifier's nonce, 1 to %u bytes\n\n"
		"The sim TEE gives NO hardware protection: for development and tests only.\n",
		ATL_TPM_DEFAULT_PCR, ATL_ATTEST_NONCE_MAX);
}

/* The tpm backend configuration (atl_tpm_evidence): the TPM, the PCR, the
 * measurement = SHA-384(SHA-384 of this very binary || digest of the workload
 * configuration: tee, PCR, sandbox, workload kinds and limits;
 * include/atoll/enclavecfg.h), what `atoll policy init --tee tpm --enclave
 * PATH` expects, and the activation record when given. */
static bool tpm_cfg(const struct enclave_opts *o, json_t **cfg_out)
{
	const struct atl_enclave_config ec = {.tee = "tpm", .pcr = (int)o->pcr,
					      .sandbox = !o->no_sandbox};
	uint8_t meas[ATL_SHA384_LEN];
	char hex[2 * ATL_SHA384_LEN + 1];
	json_t *cfg = NULL, *act = NULL;
	enum atl_err rc;

	if (o->tpm == NULL || o->tpm[0] == '\0') {
		fprintf(stderr, "atoll-enclave: --tee tpm needs --tpm URI\n");
		return false;
	}
	if (o->reset_pcr && o->pcr != ATL_TPM_DEFAULT_PCR) {
		fprintf(stderr, "atoll-enclave: --reset-pcr works on PCR %d only\n",
			ATL_TPM_DEFAULT_PCR);
		return false;
	}
	rc = atl_enclave_measure("/proc/self/exe", &ec, meas);
	if (rc != ATL_OK || atl_hex_encode(meas, sizeof(meas), hex, sizeof(hex)) != ATL_OK) {
		fprintf(stderr, "atoll-enclave: cannot measure this binary: %s\n",
			atl_strerror(rc));
		return false;
	}
	if (o->tpm_act != NULL) {
		if (atl_json_load_file(o->tpm_act, 0, &act) != ATL_OK || !json_is_object(act)) {
			fprintf(stderr, "atoll-enclave: %s: not a JSON activation record\n",
				o->tpm_act);
			json_decref(act);
			return false;
		}
	}
	cfg = json_pack("{s:s, s:I, s:s, s:b, s:s}", "tpm", o->tpm, "pcr", (json_int_t)o->pcr,
			"measurement", hex, "reset_pcr", o->reset_pcr ? 1 : 0, "ek",
			o->tpm_ek != NULL ? o->tpm_ek : "rsa");
	if (cfg != NULL && act != NULL && json_object_set(cfg, "activation", act) != 0) {
		json_decref(cfg);
		cfg = NULL;
	}
	json_decref(act);
	*cfg_out = cfg;
	return true;
}

/* The backend configuration for --tee: for sim the root directory (the
 * measurement is of this very binary, /proc/self/exe), and the loud warning.
 * false (after a message) for a usage error; *cfg_out NULL when out of memory. */
static bool tee_cfg(const struct enclave_opts *o, json_t **cfg_out)
{
	*cfg_out = NULL;
	if (strcmp(o->tee, "tpm") == 0)
		return tpm_cfg(o, cfg_out);
	if (o->tpm != NULL || o->tpm_act != NULL || o->reset_pcr || o->tpm_ek != NULL) {
		fprintf(stderr, "atoll-enclave: --tpm, --tpm-activation, --tpm-ek and --reset-pcr "
				"are for --tee tpm\n");
		return false;
	}
	if (strcmp(o->tee, "sim") != 0) {
		*cfg_out = json_object();
		return true;
	}
	if (o->sim_root == NULL) {
		fprintf(stderr, "atoll-enclave: --tee sim needs --sim-root DIR\n");
		return false;
	}
	fprintf(stderr, "%s\n", ATL_SIM_WARNING);
	*cfg_out = json_pack("{s:s}", "sim_root", o->sim_root);
	return true;
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
	if (!tee_cfg(o, &cfg))
		goto out;
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
	/* nitro: the document's nonce and public_key fields as well (issue 7) */
	if (strcmp(o->tee, "nitro") == 0) {
		char pub_hex[2 * ATL_X25519_LEN + 1];

		if (atl_hex_encode(kp.pub, sizeof(kp.pub), pub_hex, sizeof(pub_hex)) != ATL_OK ||
		    json_object_set_new(cfg, "nonce", json_string(o->nonce)) != 0 ||
		    json_object_set_new(cfg, "public_key", json_string(pub_hex)) != 0) {
			fprintf(stderr, "atoll-enclave: out of memory\n");
			goto out;
		}
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

/* --serve: the message loop. The key pair is generated inside
 * atl_enclave_serve and never leaves this process. */
static int enclave_serve(const struct enclave_opts *o)
{
	json_t *cfg = NULL;
	enum atl_err rc;
	int ret = EXIT_USAGE;

	if (o->tee == NULL || !atl_policy_is_tee_name(o->tee)) {
		fprintf(stderr, "atoll-enclave: --serve needs --tee KIND\n");
		goto out;
	}
	if (o->fd < 0 || o->skew_s < 1 || o->skew_s > ATL_ENV_SKEW_MAX) {
		fprintf(stderr, "atoll-enclave: --fd must be >= 0 and --skew 1..%d\n",
			ATL_ENV_SKEW_MAX);
		goto out;
	}
	if (!tee_cfg(o, &cfg))
		goto out;
	if (o->no_sandbox)
		fprintf(stderr, "atoll-enclave: WARNING: running without the sandbox\n");
	ret = EXIT_FAIL;
	if (cfg == NULL)
		goto out;
	if (strcmp(o->tee, "tpm") == 0) {
		/* The sandbox forbids socket()/connect() and opening the TPM
		 * device: connect now and let every ATTEST reuse the session. The
		 * measurement goes into the PCR before the enclave key exists. */
		static const uint8_t zero[ATL_REPORT_DATA_LEN];
		uint8_t *ev = NULL;
		size_t ev_len = 0;

		rc = atl_tpm_session_open(cfg);
		if (rc == ATL_OK)
			rc = atl_tpm_evidence(cfg, zero, &ev, &ev_len);
		free(ev);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll-enclave: cannot use the TPM %s: %s\n", o->tpm,
				atl_strerror(rc));
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (strcmp(o->tee, "nitro") == 0) {
		/* The sandbox refuses read-write opens and every ioctl: open the
		 * NSM now and allow exactly NSM_IOCTL_RAW on that descriptor. */
		rc = atl_nitro_nsm_session_open(NULL);
		if (rc == ATL_OK && !o->no_sandbox)
			rc = atl_enclave_sandbox_allow_ioctl(atl_nitro_nsm_session_fd(),
							     ATL_NSM_IOCTL_RAW);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll-enclave: cannot use the NSM: %s\n",
				rc == ATL_E_UNSUPPORTED
					? "/dev/nsm is not available (not inside an AWS Nitro enclave)"
					: atl_strerror(rc));
			goto out;
		}
	}
	{
		struct atl_enclave_cfg c = {.tee = o->tee, .tee_cfg = cfg, .skew_s = o->skew_s,
					    .replay_capacity = ATL_ENV_REPLAY_MAX,
					    .sandbox = !o->no_sandbox};
		rc = atl_enclave_serve(o->fd, &c);
	}
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-enclave: stopped: %s\n", atl_strerror(rc));
		goto out;
	}
	ret = EXIT_OK;
out:
	atl_tpm_session_close();
	atl_nitro_nsm_session_close();
	json_decref(cfg);
	return ret;
}

static bool parse_int(const char *s, long lo, long hi, int64_t *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tee", required_argument, NULL, 't'},
		{"sim-root", required_argument, NULL, 'r'},
		{"nonce", required_argument, NULL, 'n'},
		{"attest", no_argument, NULL, 'A'},
		{"serve", no_argument, NULL, 'S'},
		{"fd", required_argument, NULL, 'f'},
		{"skew", required_argument, NULL, 'k'},
		{"no-sandbox", no_argument, NULL, 'N'},
		{"tpm", required_argument, NULL, 'T'},
		{"pcr", required_argument, NULL, 'p'},
		{"reset-pcr", no_argument, NULL, 'R'},
		{"tpm-activation", required_argument, NULL, 'a'},
		{"tpm-ek", required_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct enclave_opts o = {.fd = 3, .skew_s = 300, .pcr = ATL_TPM_DEFAULT_PCR};
	int64_t v = 0;
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
		case 'S':
			o.serve = true;
			break;
		case 'N':
			o.no_sandbox = true;
			break;
		case 'T':
			o.tpm = optarg;
			break;
		case 'a':
			o.tpm_act = optarg;
			break;
		case 'E':
			if (strcmp(optarg, "rsa") != 0 && strcmp(optarg, "ecc") != 0) {
				fprintf(stderr, "atoll-enclave: --tpm-ek must be rsa or ecc\n");
				return EXIT_USAGE;
			}
			o.tpm_ek = optarg;
			break;
		case 'R':
			o.reset_pcr = true;
			break;
		case 'p':
			if (!parse_int(optarg, 0, ATL_TPM_PCRS - 1, &o.pcr)) {
				fprintf(stderr, "atoll-enclave: --pcr needs 0..%d\n",
					ATL_TPM_PCRS - 1);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			if (!parse_int(optarg, 0, 1 << 20, &v)) {
				fprintf(stderr, "atoll-enclave: --fd needs a descriptor number\n");
				return EXIT_USAGE;
			}
			o.fd = (int)v;
			break;
		case 'k':
			if (!parse_int(optarg, 1, ATL_ENV_SKEW_MAX, &o.skew_s)) {
				fprintf(stderr, "atoll-enclave: --skew needs 1..%d seconds\n",
					ATL_ENV_SKEW_MAX);
				return EXIT_USAGE;
			}
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
	if (o.attest && o.serve) {
		fprintf(stderr, "atoll-enclave: --attest and --serve exclude each other\n");
		return EXIT_USAGE;
	}
	if (o.attest)
		return enclave_attest_once(&o);
	if (o.serve)
		return enclave_serve(&o);
	fprintf(stderr, "atoll-enclave: no mode given (--attest or --serve)\n");
	usage(stderr);
	return EXIT_USAGE;
}
