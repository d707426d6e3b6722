/* atoll-coordinator: the operator's program (include/atoll/coordinator.h).
 *   atoll-coordinator serve --listen 127.0.0.1:PORT --db PATH [--policy FILE] ...
 *   atoll-coordinator tenant add NAME --db PATH
 *   atoll-coordinator island add NAME --db PATH
 *   atoll-coordinator workload add --db PATH --id ID --kind KIND [--model FILE] [--tee LIST]
 *                                  [--kbs URL --kbs-tenant T]
 * Exit status: 0 ok, 1 refused or failed, 2 usage or I/O. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "coordinator"
#include "atoll/coordinator.h"
#include "atoll/file.h"
#include "atoll/log.h"
#include "atoll/secmem.h"

enum { EXIT_OK_ = 0, EXIT_FAIL_ = 1, EXIT_USAGE_ = 2 };

#define TLS_PEM_MAX (1024u * 1024u) /* bytes of a certificate chain or key file */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll-coordinator serve --listen HOST:PORT --db PATH [--policy FILE]\n"
		"                         [--lease-s N] [--maint-s N] [--queue-age-s N]\n"
		"                         [--challenge-s N] [--allow-public]\n"
		"                         [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n"
		"                         [--tpm-activation-key PEM]\n"
		"       atoll-coordinator tenant add NAME --db PATH\n"
		"       atoll-coordinator island add NAME --db PATH\n"
		"       atoll-coordinator workload add --db PATH --id ID --kind KIND\n"
		"                         [--model FILE] [--tee LIST] [--kbs URL --kbs-tenant T]\n\n"
		"serve          runs the HTTP API (islands, clients, /healthz, /metrics) on a\n"
		"               SQLite database; SIGTERM or SIGINT stops it gracefully\n"
		"  --listen     address to bind (loopback unless --allow-public)\n"
		"  --db         SQLite database file (created 0600 if missing)\n"
		"  --policy     attestation policy islands' evidence must satisfy (default:\n"
		"               hardware TEEs only, no sim); its max_age_s bounds how long an\n"
		"               island gets work after its last attestation\n"
		"  --lease-s    lease length of a job given to an island (default %d)\n"
		"  --maint-s    period of lease/attestation expiry (default %d)\n"
		"  --queue-age-s  a queued job nobody took fails after this (default %d)\n"
		"  --challenge-s  validity of an attestation nonce (default %d)\n"
		"  --tls-cert, --tls-key  serve HTTPS (TLS 1.2/1.3) with this certificate chain\n"
		"               and private key (PEM files)\n"
		"  --tls-client-ca  mTLS: every connection (islands and clients) must present\n"
		"               a client certificate issued by this CA (PEM file)\n"
		"  --tpm-activation-key  ECDSA P-384 private key (PEM) for TPM islands: the\n"
		"               coordinator activates their AK against their certified EK and\n"
		"               signs the record; its public key goes in tpm.activation_keys\n"
		"tenant add     new tenant; prints its API key (ak_…) once\n"
		"island add     new island; prints its token (it_…) once\n"
		"workload add   registers a workload; --model pins the file's SHA-256 (islands\n"
		"               download it through the coordinator, the enclave checks the\n"
		"               digest); --tee lists allowed TEE kinds (default sim);\n"
		"               --kbs URL --kbs-tenant T: the model is encrypted (.atm) and\n"
		"               islands get its key for their enclave from that key broker\n\n"
		"exit status: 0 ok, 1 refused or failed, 2 usage or I/O\n",
		ATL_COORD_LEASE_S_DEFAULT, ATL_COORD_MAINT_S_DEFAULT, ATL_COORD_QUEUE_AGE_S_DEFAULT,
		ATL_COORD_CHALLENGE_S_DEFAULT);
}

static int want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

static int exit_for(enum atl_err rc)
{
	switch (rc) {
	case ATL_OK: return EXIT_OK_;
	case ATL_E_IO:
	case ATL_E_NOTFOUND:
	case ATL_E_ARG: return EXIT_USAGE_;
	default: return EXIT_FAIL_;
	}
}

static int parse_secs(const char *s, const char *flag, int64_t *out)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);

	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > 366LL * 86400) {
		fprintf(stderr, "atoll-coordinator: %s needs a number of seconds (1..31622400)\n",
			flag);
		return -1;
	}
	*out = v;
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},  {"db", required_argument, NULL, 'd'},
		{"policy", required_argument, NULL, 'p'},  {"lease-s", required_argument, NULL, 'L'},
		{"maint-s", required_argument, NULL, 'M'}, {"queue-age-s", required_argument, NULL, 'Q'},
		{"challenge-s", required_argument, NULL, 'C'},
		{"allow-public", no_argument, NULL, 'P'},  {"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'k'},
		{"tls-client-ca", required_argument, NULL, 'a'},
		{"tpm-activation-key", required_argument, NULL, 'A'}, {NULL, 0, NULL, 0},
	};
	struct atl_coord_opts o = {0};
	struct atl_coord *c = NULL;
	const char *cert_path = NULL, *key_path = NULL, *act_path = NULL, *ca_path = NULL;
	uint8_t *cert = NULL, *key = NULL, *act = NULL, *ca = NULL;
	size_t cert_len = 0, key_len = 0, act_len = 0, ca_len = 0;
	int ret = EXIT_USAGE_;
	sigset_t set;
	char why[512];
	int ch, sig = 0;
	enum atl_err rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.listen = optarg; break;
		case 'd': o.db = optarg; break;
		case 'p': o.policy_path = optarg; break;
		case 'L': if (parse_secs(optarg, "--lease-s", &o.lease_s)) return EXIT_USAGE_; break;
		case 'M': if (parse_secs(optarg, "--maint-s", &o.maint_s)) return EXIT_USAGE_; break;
		case 'Q': if (parse_secs(optarg, "--queue-age-s", &o.queue_age_s)) return EXIT_USAGE_; break;
		case 'C': if (parse_secs(optarg, "--challenge-s", &o.challenge_s)) return EXIT_USAGE_; break;
		case 'P': o.allow_public = true; break;
		case 'c': cert_path = optarg; break;
		case 'k': key_path = optarg; break;
		case 'a': ca_path = optarg; break;
		case 'A': act_path = optarg; break;
		default:
			fprintf(stderr, "atoll-coordinator serve: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return EXIT_USAGE_;
		}
	}
	if (optind != argc || o.listen == NULL || o.db == NULL) {
		fprintf(stderr, "atoll-coordinator serve: needs --listen HOST:PORT and --db PATH\n");
		return EXIT_USAGE_;
	}
	if ((cert_path == NULL) != (key_path == NULL)) {
		fprintf(stderr, "atoll-coordinator serve: --tls-cert and --tls-key go together\n");
		return EXIT_USAGE_;
	}
	if (cert_path != NULL) {
		if (atl_file_read(cert_path, TLS_PEM_MAX, &cert, &cert_len) != ATL_OK ||
		    atl_file_read(key_path, TLS_PEM_MAX, &key, &key_len) != ATL_OK) {
			fprintf(stderr, "atoll-coordinator serve: cannot read %s or %s\n", cert_path,
				key_path);
			goto out;
		}
		o.tls_cert_pem = (const char *)cert;
		o.tls_key_pem = (const char *)key;
	}
	if (ca_path != NULL) {
		if (cert_path == NULL) {
			fprintf(stderr, "atoll-coordinator serve: --tls-client-ca needs --tls-cert "
					"and --tls-key\n");
			goto out;
		}
		if (atl_file_read(ca_path, TLS_PEM_MAX, &ca, &ca_len) != ATL_OK) {
			fprintf(stderr, "atoll-coordinator serve: cannot read %s\n", ca_path);
			goto out;
		}
		o.tls_client_ca_pem = (const char *)ca;
	}
	if (act_path != NULL) {
		/* atl_file_read appends a NUL: PEM text */
		if (atl_file_read(act_path, TLS_PEM_MAX, &act, &act_len) != ATL_OK) {
			fprintf(stderr, "atoll-coordinator serve: cannot read %s\n", act_path);
			goto out;
		}
		o.tpm_activation_key_pem = (const char *)act;
	}
	/* every thread inherits this mask; the main thread takes the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = atl_coord_start(&o, &c, why, sizeof(why));
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-coordinator: cannot start: %s\n",
			why[0] != '\0' ? why : atl_strerror(rc));
		ret = rc == ATL_E_POLICY ? EXIT_FAIL_ : EXIT_USAGE_;
		goto out;
	}
	/* the port on stdout, so scripts that asked for port 0 find it */
	printf("listening on %u\n", (unsigned)atl_coord_port(c));
	fflush(stdout);
	if (sigwait(&set, &sig) != 0)
		sig = 0;
	atl_info("signal %d: stopping (finishing in-flight requests)", sig);
	atl_coord_stop(c);
	atl_info("stopped");
	ret = EXIT_OK_;
out:
	free(cert);
	free(ca);
	if (key != NULL) {
		atl_wipe(key, key_len);
		free(key);
	}
	if (act != NULL) {
		atl_wipe(act, act_len);
		free(act);
	}
	return ret;
}

/* tenant add NAME --db PATH / island add NAME --db PATH */
static int cmd_principal(int argc, char **argv, bool tenant)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	const char *what = tenant ? "tenant" : "island";
	const char *db = NULL, *name = NULL;
	char tok[ATL_STORE_TOKEN_LEN];
	int ch;
	enum atl_err rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'd') {
			fprintf(stderr, "atoll-coordinator %s add: unknown or incomplete option '%s'\n",
				what, argv[optind - 1]);
			return EXIT_USAGE_;
		}
		db = optarg;
	}
	if (optind + 2 != argc || strcmp(argv[optind], "add") != 0 || db == NULL) {
		fprintf(stderr, "atoll-coordinator: usage: %s add NAME --db PATH\n", what);
		return EXIT_USAGE_;
	}
	name = argv[optind + 1];
	rc = tenant ? atl_coord_tenant_add(db, name, tok) : atl_coord_island_add(db, name, tok);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-coordinator: cannot add %s '%s': %s\n", what, name,
			rc == ATL_E_EXISTS ? "the name is taken"
			: rc == ATL_E_ARG  ? "bad name (1..64 characters [A-Za-z0-9._-])"
					   : atl_strerror(rc));
		return exit_for(rc);
	}
	fprintf(stderr, "%s '%s' added; its %s is shown once, keep it secret:\n", what, name,
		tenant ? "API key" : "token");
	printf("%s\n", tok);
	fflush(stdout);
	atl_wipe(tok, sizeof(tok));
	return EXIT_OK_;
}

static int cmd_workload(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},    {"id", required_argument, NULL, 'i'},
		{"kind", required_argument, NULL, 'k'},  {"model", required_argument, NULL, 'm'},
		{"tee", required_argument, NULL, 't'},   {"kbs", required_argument, NULL, 'K'},
		{"kbs-tenant", required_argument, NULL, 'T'}, {NULL, 0, NULL, 0},
	};
	const char *db = NULL, *id = NULL, *kind = NULL, *model = NULL, *tees = "sim";
	const char *kbs = NULL, *kbs_tenant = NULL;
	char hex[65], mid[33] = "";
	int ch;
	enum atl_err rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'i': id = optarg; break;
		case 'k': kind = optarg; break;
		case 'm': model = optarg; break;
		case 't': tees = optarg; break;
		case 'K': kbs = optarg; break;
		case 'T': kbs_tenant = optarg; break;
		default:
			fprintf(stderr, "atoll-coordinator workload add: unknown or incomplete option "
					"'%s'\n", argv[optind - 1]);
			return EXIT_USAGE_;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "add") != 0 || db == NULL || id == NULL ||
	    kind == NULL) {
		fprintf(stderr, "atoll-coordinator: usage: workload add --db PATH --id ID --kind KIND "
				"[--model FILE] [--tee LIST]\n");
		return EXIT_USAGE_;
	}
	if (strcmp(kind, "echo") != 0 && model == NULL) {
		fprintf(stderr, "atoll-coordinator: workload kind '%s' needs --model FILE\n", kind);
		return EXIT_USAGE_;
	}
	if ((kbs != NULL) != (kbs_tenant != NULL) || (kbs != NULL && model == NULL)) {
		fprintf(stderr, "atoll-coordinator: an encrypted model needs --model FILE.atm, "
				"--kbs URL and --kbs-tenant T together\n");
		return EXIT_USAGE_;
	}
	if (kbs != NULL)
		rc = atl_coord_workload_add_atm(db, id, kind, model, tees, kbs, kbs_tenant, hex,
						mid);
	else
		rc = atl_coord_workload_add(db, id, kind, model, tees, hex);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-coordinator: cannot add workload '%s': %s\n", id,
			rc == ATL_E_EXISTS     ? "the id is taken"
			: rc == ATL_E_NOTFOUND ? "the model file does not exist"
			: rc == ATL_E_FORMAT   ? "the model is not an encrypted model (.atm)"
			: rc == ATL_E_ARG      ? "bad id, kind, TEE list (names [a-z0-9-], "
						 "comma-separated), --kbs URL or --kbs-tenant"
					       : atl_strerror(rc));
		return exit_for(rc);
	}
	printf("workload %s (%s) added; TEEs %s; model %s\n", id, kind, tees,
	       model != NULL ? hex : "none");
	if (kbs != NULL)
		printf("encrypted model %s; key from %s (tenant %s)\n", mid, kbs, kbs_tenant);
	return EXIT_OK_;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE_ : EXIT_OK_;
	}
	if (want_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK_;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "tenant") == 0)
		return cmd_principal(argc - 1, argv + 1, true);
	if (strcmp(argv[1], "island") == 0)
		return cmd_principal(argc - 1, argv + 1, false);
	if (strcmp(argv[1], "workload") == 0)
		return cmd_workload(argc - 1, argv + 1);
	fprintf(stderr, "atoll-coordinator: unknown command '%s' (try --help)\n", argv[1]);
	return EXIT_USAGE_;
}
