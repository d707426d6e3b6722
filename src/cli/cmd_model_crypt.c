/* `atoll model-crypt ...`: encrypted model files (.atm) and the key broker's
 * audit log (DESIGN §8, issue 9; docs/internals/kbs.md):
 *   kek-new --out FILE
 *   encrypt --in MODEL --out M.atm --kek FILE --kek-id ID [--chunk N] [--model-id HEX]
 *   decrypt --in M.atm --kek FILE [--model-id HEX] [--out FILE]
 *   inspect --in M.atm
 *   rewrap  --in M.atm --kek OLD --new-kek NEW --new-kek-id ID
 *   audit-verify --log FILE [--pub PEM]
 * Exit codes: 0 ok, 1 refused (authentication, policy, a broken log),
 * 2 usage or I/O. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/audit.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "atoll/model_crypt.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "cli/cmds.h"

int atl_cmd_model_crypt(int argc, char **argv);

struct opts {
	const char *in, *out, *kek, *kek_id, *new_kek, *new_kek_id, *model_id, *log, *pub;
	uint32_t chunk;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll model-crypt kek-new --out FILE\n"
		"       atoll model-crypt encrypt --in MODEL --out M.atm --kek FILE --kek-id ID\n"
		"                             [--chunk BYTES] [--model-id HEX32]\n"
		"       atoll model-crypt decrypt --in M.atm --kek FILE [--model-id HEX32] [--out FILE]\n"
		"       atoll model-crypt inspect --in M.atm\n"
		"       atoll model-crypt rewrap --in M.atm --kek OLD --new-kek NEW --new-kek-id ID\n"
		"       atoll model-crypt audit-verify --log FILE [--pub PEM]\n\n"
		"kek-new       writes a new tenant key-encryption key (32 random bytes, hex) to a\n"
		"              new file with mode 0600.\n"
		"encrypt       chunked AES-256-GCM under a fresh per-model data key, wrapped by the\n"
		"              KEK; ID (1..%u of A-Za-z0-9._:-) names the KEK in the header\n"
		"              (--tenant-key is an alias of --kek-id). Default chunk %u bytes.\n"
		"decrypt       verifies every chunk and the digest; with --out writes the plaintext\n"
		"              (mode 0600; an owner's tool: enclaves decrypt into locked memory).\n"
		"inspect       prints the header (no key needed, nothing verified).\n"
		"rewrap        KEK rotation: re-wraps the data key, rewrites only the header.\n"
		"audit-verify  checks an audit log's hash chain and (with --pub) its signed heads.\n\n"
		"Exit codes: 0 ok, 1 refused, 2 usage or I/O error.\n",
		ATL_ATM_KEK_ID_MAX, ATL_ATM_CHUNK_DEFAULT);
}

static int exit_for(enum atl_err rc)
{
	switch (rc) {
	case ATL_OK:
		return ATL_EXIT_OK;
	case ATL_E_NOTFOUND:
	case ATL_E_IO:
	case ATL_E_ARG:
	case ATL_E_EXISTS:
	case ATL_E_NOMEM:
		return ATL_EXIT_USAGE;
	default:
		return ATL_EXIT_FAIL;
	}
}

/* Parses argv (argv[0] is the verb). Returns -1 when parsing succeeded,
 * otherwise the exit code. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"kek", required_argument, NULL, 'k'},
		{"kek-id", required_argument, NULL, 'K'},
		{"tenant-key", required_argument, NULL, 'K'},
		{"new-kek", required_argument, NULL, 'n'},
		{"new-kek-id", required_argument, NULL, 'N'},
		{"model-id", required_argument, NULL, 'm'},
		{"chunk", required_argument, NULL, 'c'},
		{"log", required_argument, NULL, 'l'},
		{"pub", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'i': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 'k': o->kek = optarg; break;
		case 'K': o->kek_id = optarg; break;
		case 'n': o->new_kek = optarg; break;
		case 'N': o->new_kek_id = optarg; break;
		case 'm': o->model_id = optarg; break;
		case 'l': o->log = optarg; break;
		case 'p': o->pub = optarg; break;
		case 'c':
			v = strtoull(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < ATL_ATM_CHUNK_MIN ||
			    v > ATL_ATM_CHUNK_MAX) {
				fprintf(stderr, "atoll model-crypt: --chunk must be %u..%u bytes\n",
					ATL_ATM_CHUNK_MIN, ATL_ATM_CHUNK_MAX);
				return ATL_EXIT_USAGE;
			}
			o->chunk = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll model-crypt %s: unknown or incomplete option '%s'\n",
				argv[0], argv[optind - 1]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "atoll model-crypt %s: unexpected argument '%s'\n", argv[0],
			argv[optind]);
		return ATL_EXIT_USAGE;
	}
	return -1;
}

static int need(const char *verb, const char *what, const char *v)
{
	if (v != NULL)
		return 1;
	fprintf(stderr, "atoll model-crypt %s: %s is required (see --help)\n", verb, what);
	return 0;
}

static int load_kek(const char *verb, const char *path, uint8_t *kek)
{
	enum atl_err rc = atl_model_kek_load(path, kek);

	if (rc == ATL_OK)
		return -1;
	fprintf(stderr, "atoll model-crypt %s: cannot load the KEK %s: %s\n", verb, path,
		rc == ATL_E_POLICY ? "readable by group or others (chmod 600)"
		: rc == ATL_E_FORMAT ? "not 64 hex digits"
				     : atl_strerror(rc));
	return rc == ATL_E_POLICY || rc == ATL_E_FORMAT ? ATL_EXIT_FAIL : ATL_EXIT_USAGE;
}

static int parse_model_id(const char *verb, const char *hex, uint8_t mid[ATL_ATM_MODEL_ID_LEN])
{
	if (atl_hex_decode_exact(hex, strlen(hex), mid, ATL_ATM_MODEL_ID_LEN) == ATL_OK)
		return -1;
	fprintf(stderr, "atoll model-crypt %s: --model-id must be 32 hex digits\n", verb);
	return ATL_EXIT_USAGE;
}

static void print_info(const struct atl_model_info *info)
{
	char mid[2 * ATL_ATM_MODEL_ID_LEN + 1], dg[65];

	if (atl_hex_encode(info->model_id, sizeof(info->model_id), mid, sizeof(mid)) != ATL_OK ||
	    atl_hex_encode(info->pt_sha256, sizeof(info->pt_sha256), dg, sizeof(dg)) != ATL_OK)
		return;
	printf("version: %u\nmodel_id: %s\nkek_id: %s\nchunk_size: %" PRIu32
	       "\nplaintext_len: %" PRIu64 "\nchunks: %" PRIu64 "\nplaintext_sha256: %s\n"
	       "file_len: %" PRIu64 "\n",
	       info->version, mid, info->kek_id, info->chunk_size, info->pt_len, info->n_chunks,
	       dg, info->file_len);
}

static int do_kek_new(const struct opts *o)
{
	enum atl_err rc;

	if (!need("kek-new", "--out FILE", o->out))
		return ATL_EXIT_USAGE;
	rc = atl_model_kek_new(o->out);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll model-crypt kek-new: cannot write %s: %s\n", o->out,
			atl_strerror(rc));
		return ATL_EXIT_USAGE;
	}
	return ATL_EXIT_OK;
}

static int do_encrypt(const struct opts *o)
{
	uint8_t *kek = NULL, mid[ATL_ATM_MODEL_ID_LEN];
	struct atl_model_info info;
	enum atl_err rc;
	int ret;

	if (!need("encrypt", "--in MODEL", o->in) || !need("encrypt", "--out FILE", o->out) ||
	    !need("encrypt", "--kek FILE", o->kek) || !need("encrypt", "--kek-id ID", o->kek_id))
		return ATL_EXIT_USAGE;
	if (!atl_model_kek_id_ok(o->kek_id)) {
		fprintf(stderr, "atoll model-crypt encrypt: --kek-id must be 1..%u of A-Za-z0-9._:-\n",
			ATL_ATM_KEK_ID_MAX);
		return ATL_EXIT_USAGE;
	}
	if (o->model_id != NULL && (ret = parse_model_id("encrypt", o->model_id, mid)) >= 0)
		return ret;
	kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	if (kek == NULL)
		return ATL_EXIT_USAGE;
	if ((ret = load_kek("encrypt", o->kek, kek)) >= 0)
		goto out;
	rc = atl_model_encrypt(o->in, o->out, kek, o->kek_id, o->model_id ? mid : NULL, o->chunk,
			       &info);
	ret = exit_for(rc);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll model-crypt encrypt: %s: %s\n", o->in, atl_strerror(rc));
		goto out;
	}
	print_info(&info);
out:
	atl_secret_free(kek);
	return ret;
}

static int do_decrypt(const struct opts *o)
{
	uint8_t *kek = NULL, *pt = NULL, mid[ATL_ATM_MODEL_ID_LEN];
	size_t len = 0;
	enum atl_err rc;
	int ret;

	if (!need("decrypt", "--in M.atm", o->in) || !need("decrypt", "--kek FILE", o->kek))
		return ATL_EXIT_USAGE;
	if (o->model_id != NULL && (ret = parse_model_id("decrypt", o->model_id, mid)) >= 0)
		return ret;
	kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	if (kek == NULL)
		return ATL_EXIT_USAGE;
	if ((ret = load_kek("decrypt", o->kek, kek)) >= 0)
		goto out;
	rc = atl_model_decrypt_to_secret(o->in, kek, o->model_id ? mid : NULL, &pt, &len);
	ret = exit_for(rc);
	if (rc != ATL_OK) {
		/* one message whichever check failed (STYLE.md "Secrets") */
		fprintf(stderr, "atoll model-crypt decrypt: %s refused: %s\n", o->in,
			rc == ATL_E_AUTH ? "authentication failed (wrong key, model id or "
					   "tampered file)"
					 : atl_strerror(rc));
		goto out;
	}
	if (o->out != NULL) {
		rc = atl_file_write(o->out, pt, len, 0600, 1);
		if (rc != ATL_OK) {
			fprintf(stderr, "atoll model-crypt decrypt: cannot write %s: %s\n", o->out,
				atl_strerror(rc));
			ret = ATL_EXIT_USAGE;
			goto out;
		}
		fprintf(stderr, "atoll model-crypt decrypt: plaintext written to %s\n", o->out);
	}
	printf("ok: %zu bytes verified\n", len);
out:
	atl_secret_free(pt);
	atl_secret_free(kek);
	return ret;
}

static int do_inspect(const struct opts *o)
{
	struct atl_model_info info;
	enum atl_err rc;

	if (!need("inspect", "--in M.atm", o->in))
		return ATL_EXIT_USAGE;
	rc = atl_model_inspect(o->in, &info);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll model-crypt inspect: %s: %s\n", o->in, atl_strerror(rc));
		return exit_for(rc);
	}
	print_info(&info);
	return ATL_EXIT_OK;
}

static int do_rewrap(const struct opts *o)
{
	uint8_t *old_kek = NULL, *new_kek = NULL;
	enum atl_err rc;
	int ret = ATL_EXIT_USAGE;

	if (!need("rewrap", "--in M.atm", o->in) || !need("rewrap", "--kek OLD", o->kek) ||
	    !need("rewrap", "--new-kek NEW", o->new_kek) ||
	    !need("rewrap", "--new-kek-id ID", o->new_kek_id))
		return ATL_EXIT_USAGE;
	if (!atl_model_kek_id_ok(o->new_kek_id)) {
		fprintf(stderr, "atoll model-crypt rewrap: --new-kek-id must be 1..%u of A-Za-z0-9._:-\n",
			ATL_ATM_KEK_ID_MAX);
		return ATL_EXIT_USAGE;
	}
	old_kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	new_kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	if (old_kek == NULL || new_kek == NULL)
		goto out;
	if ((ret = load_kek("rewrap", o->kek, old_kek)) >= 0 ||
	    (ret = load_kek("rewrap", o->new_kek, new_kek)) >= 0)
		goto out;
	rc = atl_model_rewrap(o->in, old_kek, new_kek, o->new_kek_id);
	ret = exit_for(rc);
	if (rc != ATL_OK)
		fprintf(stderr, "atoll model-crypt rewrap: %s refused: %s\n", o->in,
			rc == ATL_E_AUTH ? "the old KEK does not open this model" : atl_strerror(rc));
	else
		printf("ok: %s now wrapped under %s\n", o->in, o->new_kek_id);
out:
	atl_secret_free(old_kek);
	atl_secret_free(new_kek);
	return ret;
}

static int do_audit_verify(const struct opts *o)
{
	struct atl_audit_report rep;
	struct atl_pubkey *pk = NULL;
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	enum atl_err rc;
	int ret = ATL_EXIT_USAGE;

	if (!need("audit-verify", "--log FILE", o->log))
		return ATL_EXIT_USAGE;
	if (o->pub != NULL) {
		rc = atl_file_read(o->pub, ATL_SIG_KEY_INPUT_MAX, &pem, &pem_len);
		if (rc != ATL_OK || atl_pubkey_parse(pem, pem_len, &pk) != ATL_OK) {
			fprintf(stderr, "atoll model-crypt audit-verify: %s is not a readable PEM "
					"public key\n", o->pub);
			goto out;
		}
	}
	rc = atl_audit_verify(o->log, pk, &rep);
	ret = exit_for(rc);
	if (rc != ATL_OK) {
		if (rep.bad_seq != 0)
			fprintf(stderr, "atoll model-crypt audit-verify: %s: BROKEN at seq %" PRIu64
					": %s\n", o->log, rep.bad_seq, rep.reason);
		else
			fprintf(stderr, "atoll model-crypt audit-verify: %s: %s\n", o->log,
				atl_strerror(rc));
		goto out;
	}
	printf("ok: %" PRIu64 " records, %" PRIu64 " heads, last seq %" PRIu64
	       ", signed through seq %" PRIu64 "%s\n",
	       rep.n_records, rep.n_heads, rep.last_seq, rep.last_signed_seq,
	       pk == NULL ? " (head signatures NOT checked: no --pub)" : "");
	if (rep.last_signed_seq < rep.last_seq)
		fprintf(stderr, "atoll model-crypt audit-verify: records after seq %" PRIu64
				" are not covered by a signed head\n", rep.last_signed_seq);
out:
	free(pem);
	atl_pubkey_free(pk);
	return ret;
}

int atl_cmd_model_crypt(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*run)(const struct opts *o);
	} verbs[] = {
		{"kek-new", do_kek_new},   {"encrypt", do_encrypt}, {"decrypt", do_decrypt},
		{"inspect", do_inspect},   {"rewrap", do_rewrap},   {"audit-verify", do_audit_verify},
	};
	struct opts o;
	int ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ATL_EXIT_USAGE : ATL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].verb) != 0)
			continue;
		if ((ret = parse(argc - 1, argv + 1, &o)) >= 0)
			return ret;
		return verbs[i].run(&o);
	}
	fprintf(stderr, "atoll model-crypt: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return ATL_EXIT_USAGE;
}
