/* atoll-kbs: the key broker service (kbsd.h; docs/operations.md "Key broker
 * service").
 *   atoll-kbs serve --listen HOST:PORT --dir DIR [--audit-key PEM]
 *                   [--rotate-days N] [--quota N/WINDOW_S] [--allow-public]
 *                   [--no-admin]
 * Prints "listening on PORT" once it serves; SIGTERM or SIGINT stops it
 * (in-flight requests finish, the audit log gets a final signed head).
 * Exit codes: 0 ok, 1 refused (state unreadable by policy), 2 usage or I/O. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/file.h"
#include "atoll/kbs.h"
#include "atoll/kbsd.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"

enum { EXIT_OK_ = 0, EXIT_FAIL_ = 1, EXIT_USAGE_ = 2 };

#define PEM_MAX (64u * 1024u)
#define TLS_PEM_MAX (1024u * 1024u) /* bytes of a certificate chain or key file */
#define ROTATE_DAYS_MAX 3650

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll-kbs serve --dir DIR [--listen HOST:PORT] [--audit-key PEM]\n"
		"                       [--rotate-days N] [--quota N/WINDOW_S] [--allow-public]\n"
		"                       [--tls-cert PEM --tls-key PEM] [--no-admin]\n\n"
		"Serves the key broker (Trustee-shaped KBS protocol v0: /kbs/v0/auth, /attest,\n"
		"/resource/<tenant>/model-key/<model_id>) over the state directory DIR (made\n"
		"with 'atoll kbs init'). The state is locked while it runs: change it through\n"
		"the admin API (/kbs/v0/admin/..., 'atoll kbs revoke|rotate|tenant add|tenant\n"
		"quota|status --url URL --admin-token-file F'), authenticated by the admin\n"
		"token (DIR/admin.token, created with the state or at the first start; the\n"
		"service keeps only its SHA-256, DIR/admin.token.sha256).\n\n"
		"  --listen HOST:PORT  address (default 127.0.0.1:0, a free port); a\n"
		"                      non-loopback address needs --allow-public\n"
		"  --tls-cert, --tls-key  serve HTTPS (TLS 1.2/1.3) with this certificate chain\n"
		"                      and key (PEM files); clients verify it (atl_kbsc:\n"
		"                      ATOLL_KBS_CA_FILE or the system store)\n"
		"  --audit-key PEM     ECDSA P-256 private key (PKCS#8) signing audit heads\n"
		"  --master-tpm URI    unseal the master key (master.tpm) on this TPM\n"
		"                      (swtpm:host=H,port=P, device:/dev/tpmrm0) instead of\n"
		"                      the one recorded at 'atoll kbs init --master-tpm'\n"
		"  --rotate-days N     rotate a tenant's KEK once it is N days old, checked at\n"
		"                      start and every minute (default %d; 0: never)\n"
		"  --quota N/WINDOW_S  default release quota per tenant: at most N key releases\n"
		"                      per WINDOW_S seconds (429 beyond); a tenant's own quota\n"
		"                      ('atoll kbs tenant quota') wins. Default: none\n"
		"  --no-admin          no admin API (/kbs/v0/admin/... answer 404)\n\n"
		"Prints 'listening on PORT'; SIGTERM or SIGINT stops it.\n"
		"Exit codes: 0 ok, 1 refused, 2 usage or I/O error.\n",
		ATL_KBSD_ROTATE_DAYS_DEFAULT);
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"dir", required_argument, NULL, 'd'},
		{"audit-key", required_argument, NULL, 'k'},
		{"rotate-days", required_argument, NULL, 'r'},
		{"quota", required_argument, NULL, 'q'},
		{"allow-public", no_argument, NULL, 'P'},
		{"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'K'},
		{"no-admin", no_argument, NULL, 'N'},
		{"master-tpm", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		/* tests only: rotate after S seconds, check every S seconds */
		{"test-rotate-after-s", required_argument, NULL, 'A'},
		{"test-rotate-check-s", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0}};
	struct atl_kbsd_opts o = {0};
	struct atl_kbsd *d = NULL;
	struct atl_privkey *signer = NULL;
	const char *key_path = NULL, *cert_path = NULL, *tls_key_path = NULL;
	uint8_t *cert = NULL, *tkey = NULL;
	size_t cert_len = 0, tkey_len = 0;
	int64_t days = ATL_KBSD_ROTATE_DAYS_DEFAULT, after_s = -1, check_s = 0;
	bool allow_public = false;
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	sigset_t set;
	int ch, sig = 0, ret = EXIT_USAGE_;
	enum atl_err rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.listen = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'k': key_path = optarg; break;
		case 'P': allow_public = true; break;
		case 'c': cert_path = optarg; break;
		case 'K': tls_key_path = optarg; break;
		case 'N': o.admin_disabled = true; break;
		case 'T': /* the master key sealed by this TPM (master.tpm) */
			if (atl_kbs_master_tpm_set(optarg) != ATL_OK) {
				fprintf(stderr, "atoll-kbs serve: --master-tpm takes a TPM URI "
						"(swtpm:host=H,port=P or device:/dev/tpmrm0)\n");
				return EXIT_USAGE_;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK_;
		case 'r':
			if (!parse_i64(optarg, 0, ROTATE_DAYS_MAX, &days)) {
				fprintf(stderr, "atoll-kbs serve: --rotate-days takes 0..%d\n",
					ROTATE_DAYS_MAX);
				return EXIT_USAGE_;
			}
			break;
		case 'q':
			if (atl_kbsd_quota_parse(optarg, &o.quota_n, &o.quota_window_s) != ATL_OK) {
				fprintf(stderr, "atoll-kbs serve: --quota takes N/WINDOW_S (e.g. "
						"100/3600) or none\n");
				return EXIT_USAGE_;
			}
			break;
		case 'A':
			if (!parse_i64(optarg, 1, INT32_MAX, &after_s)) {
				fprintf(stderr, "atoll-kbs serve: bad --test-rotate-after-s\n");
				return EXIT_USAGE_;
			}
			break;
		case 'C':
			if (!parse_i64(optarg, 1, 86400, &check_s)) {
				fprintf(stderr, "atoll-kbs serve: bad --test-rotate-check-s\n");
				return EXIT_USAGE_;
			}
			break;
		default:
			fprintf(stderr, "atoll-kbs serve: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE_;
		}
	}
	if (optind != argc || o.dir == NULL) {
		fprintf(stderr, "atoll-kbs serve: --dir DIR is required (and no operands)\n");
		usage(stderr);
		return EXIT_USAGE_;
	}
	o.allow_public = allow_public;
	if ((cert_path == NULL) != (tls_key_path == NULL)) {
		fprintf(stderr, "atoll-kbs serve: --tls-cert and --tls-key go together\n");
		return EXIT_USAGE_;
	}
	if (cert_path != NULL) {
		if (atl_file_read(cert_path, TLS_PEM_MAX, &cert, &cert_len) != ATL_OK ||
		    atl_file_read(tls_key_path, TLS_PEM_MAX, &tkey, &tkey_len) != ATL_OK) {
			fprintf(stderr, "atoll-kbs serve: cannot read %s or %s\n", cert_path,
				tls_key_path);
			goto out;
		}
		o.tls_cert_pem = (const char *)cert;
		o.tls_key_pem = (const char *)tkey;
	}
	o.rotate_after_s = after_s > 0 ? after_s : days * 86400;
	o.rotate_check_s = (unsigned)check_s;
	if (key_path != NULL) {
		if (atl_file_read(key_path, PEM_MAX, &pem, &pem_len) != ATL_OK) {
			fprintf(stderr, "atoll-kbs serve: cannot read %s\n", key_path);
			goto out;
		}
		if (atl_privkey_parse(pem, pem_len, &signer) != ATL_OK) {
			fprintf(stderr, "atoll-kbs serve: %s is not a PKCS#8 PEM private key\n",
				key_path);
			goto out;
		}
		o.audit_signer = signer;
	}
	/* every thread inherits this mask; the main thread takes the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = atl_kbsd_start(&o, &d);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll-kbs: cannot start: %s\n", atl_strerror(rc));
		ret = rc == ATL_E_POLICY || rc == ATL_E_AUTH ? EXIT_FAIL_ : EXIT_USAGE_;
		goto out;
	}
	printf("listening on %u\n", (unsigned)atl_kbsd_port(d));
	fflush(stdout);
	if (sigwait(&set, &sig) != 0)
		sig = 0;
	atl_info("signal %d: stopping", sig);
	atl_kbsd_stop(d);
	atl_info("stopped");
	ret = EXIT_OK_;
out:
	atl_privkey_free(signer);
	free(cert);
	if (tkey != NULL) {
		atl_wipe(tkey, tkey_len);
		free(tkey);
	}
	if (pem != NULL) {
		atl_wipe(pem, pem_len);
		free(pem);
	}
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return EXIT_OK_;
	}
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	usage(stderr);
	return EXIT_USAGE_;
}
