/* `atoll tpm ...`: the tpm backend's tools (issue 5). Island side: info,
 * activate, evidence. Coordinator side: challenge, record. Either side:
 * policy (the "tpm" policy section for a binary) and verify (native tpm
 * evidence: Atoll JSON, GCE protobuf, trustee/Azure JSON). See
 * docs/internals/attest-tpm.md for the registration protocol. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/tpm.h"
#include "cli/cmds.h"

int atl_cmd_tpm(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll tpm COMMAND [options]\n\n"
		"island side (TPM = swtpm:host=127.0.0.1,port=N | device:/dev/tpmrm0):\n"
		"  info     --tpm TPM [--ek rsa|ecc]         EK/AK public parts (JSON)\n"
		"  activate --tpm TPM [--ek rsa|ecc] --challenge FILE\n"
		"                                            answer a credential challenge (hex)\n"
		"  evidence --tpm TPM --report-data HEX (--binary PATH | --measurement HEX)\n"
		"           [--pcr N] [--pcrs N,N,...] [--reset-pcr] [--activation FILE]\n"
		"           [--event-log FILE] [--ek rsa|ecc] native tpm evidence (JSON)\n"
		"  (--ek ecc: the persistent ECC EK, 0x81010016 NIST P-384 or 0x81010002 P-256,\n"
		"   with its certificate; default the RSA 2048 EK)\n"
		"coordinator side:\n"
		"  challenge --info FILE --policy FILE --secret-out FILE\n"
		"                                            check the EK chain, print a challenge\n"
		"  record   --info FILE --secret FILE --answer HEX --key PEM\n"
		"                                            check the answer, print the activation record\n"
		"either side:\n"
		"  policy   (--binary PATH | --measurement HEX) [--pcr N] [--anchor ROOT.pem]...\n"
		"           [--collateral INTERMEDIATE.pem]... [--key ACTIVATION-PUB.pem]\n"
		"                                            a policy for this build (JSON)\n"
		"  verify   --evidence FILE [--policy FILE] [--nonce HEX] [--time RFC3339]\n"
		"           [--anchor PEM]... [--collateral FILE]...\n"
		"                                            verify native tpm evidence, print the result\n\n"
		"exit status: 0 ok, 1 refused or failed, 2 usage or I/O error\n");
}

struct args {
	const char *tpm, *challenge, *report_data, *binary, *measurement, *activation, *event_log,
		*info, *policy, *secret, *secret_out, *answer, *key, *evidence, *nonce, *time, *pcrs,
		*ek;
	int pcr;
	bool reset_pcr;
	const char *anchors[ATL_ATTEST_ARGS_MAX + 1];
	const char *collateral[ATL_ATTEST_ARGS_MAX + 1];
	size_t n_anchors, n_collateral;
};

static int parse_args(const char *cmd, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"tpm", required_argument, NULL, 't'},
		{"challenge", required_argument, NULL, 'c'},
		{"report-data", required_argument, NULL, 'r'},
		{"binary", required_argument, NULL, 'b'},
		{"measurement", required_argument, NULL, 'm'},
		{"activation", required_argument, NULL, 'A'},
		{"event-log", required_argument, NULL, 'l'},
		{"info", required_argument, NULL, 'i'},
		{"policy", required_argument, NULL, 'p'},
		{"secret", required_argument, NULL, 's'},
		{"secret-out", required_argument, NULL, 'S'},
		{"answer", required_argument, NULL, 'a'},
		{"key", required_argument, NULL, 'k'},
		{"evidence", required_argument, NULL, 'e'},
		{"nonce", required_argument, NULL, 'n'},
		{"time", required_argument, NULL, 'T'},
		{"pcr", required_argument, NULL, 'P'},
		{"pcrs", required_argument, NULL, 'L'},
		{"reset-pcr", no_argument, NULL, 'R'},
		{"ek", required_argument, NULL, 'E'},
		{"anchor", required_argument, NULL, 'X'},
		{"collateral", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->pcr = ATL_TPM_DEFAULT_PCR;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 't': a->tpm = optarg; break;
		case 'c': a->challenge = optarg; break;
		case 'r': a->report_data = optarg; break;
		case 'b': a->binary = optarg; break;
		case 'm': a->measurement = optarg; break;
		case 'A': a->activation = optarg; break;
		case 'l': a->event_log = optarg; break;
		case 'i': a->info = optarg; break;
		case 'p': a->policy = optarg; break;
		case 's': a->secret = optarg; break;
		case 'S': a->secret_out = optarg; break;
		case 'a': a->answer = optarg; break;
		case 'k': a->key = optarg; break;
		case 'e': a->evidence = optarg; break;
		case 'n': a->nonce = optarg; break;
		case 'T': a->time = optarg; break;
		case 'L': a->pcrs = optarg; break;
		case 'R': a->reset_pcr = true; break;
		case 'E':
			if (strcmp(optarg, "rsa") != 0 && strcmp(optarg, "ecc") != 0) {
				fprintf(stderr, "atoll tpm %s: --ek must be rsa or ecc\n", cmd);
				return ATL_EXIT_USAGE;
			}
			a->ek = optarg;
			break;
		case 'P':
			a->pcr = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->pcr < 0 || a->pcr >= ATL_TPM_PCRS) {
				fprintf(stderr, "atoll tpm %s: --pcr must be 0..23\n", cmd);
				return ATL_EXIT_USAGE;
			}
			break;
		case 'X':
		case 'C':
			if ((c == 'X' ? a->n_anchors : a->n_collateral) >= ATL_ATTEST_ARGS_MAX) {
				fprintf(stderr, "atoll tpm %s: too many --%s options\n", cmd,
					c == 'X' ? "anchor" : "collateral");
				return ATL_EXIT_USAGE;
			}
			if (c == 'X')
				a->anchors[a->n_anchors++] = optarg;
			else
				a->collateral[a->n_collateral++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			fprintf(stderr, "atoll tpm %s: unknown or incomplete option '%s'\n", cmd,
				argv[optind - 1]);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "atoll tpm %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return ATL_EXIT_USAGE;
	}
	return ATL_EXIT_OK;
}

static int need(const char *cmd, const char *v, const char *opt)
{
	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "atoll tpm %s: %s is required (see atoll tpm --help)\n", cmd, opt);
		return 0;
	}
	return 1;
}

static int print_json(const json_t *j)
{
	char *s = atl_json_dump_pretty(j);

	if (s == NULL) {
		fprintf(stderr, "atoll tpm: out of memory\n");
		return ATL_EXIT_FAIL;
	}
	printf("%s\n", s);
	free(s);
	return ATL_EXIT_OK;
}

static int io_exit(enum atl_err rc)
{
	return rc == ATL_E_IO || rc == ATL_E_NOTFOUND || rc == ATL_E_ARG || rc == ATL_E_LIMIT
		       ? ATL_EXIT_USAGE
		       : ATL_EXIT_FAIL;
}

static int load_json(const char *cmd, const char *what, const char *path, json_t **out)
{
	enum atl_err rc = atl_json_load_file(path, ATL_ATTEST_EVIDENCE_MAX, out);

	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm %s: cannot read %s %s: %s\n", cmd, what, path,
			atl_strerror(rc));
		return ATL_EXIT_USAGE;
	}
	return ATL_EXIT_OK;
}

/* The measurement: SHA-384 of --binary, or --measurement hex. */
static int measurement(const char *cmd, const struct args *a, uint8_t meas[64], size_t *len)
{
	if ((a->binary == NULL) == (a->measurement == NULL)) {
		fprintf(stderr, "atoll tpm %s: give exactly one of --binary / --measurement\n", cmd);
		return ATL_EXIT_USAGE;
	}
	if (a->binary != NULL) {
		enum atl_err rc = atl_hash_file(ATL_HASH_SHA384, a->binary, meas);

		if (rc != ATL_OK) {
			fprintf(stderr, "atoll tpm %s: cannot read %s: %s\n", cmd, a->binary,
				atl_strerror(rc));
			return ATL_EXIT_USAGE;
		}
		*len = ATL_SHA384_LEN;
		return ATL_EXIT_OK;
	}
	if (atl_hex_decode(a->measurement, strlen(a->measurement), meas, 64, len) != ATL_OK ||
	    *len == 0) {
		fprintf(stderr, "atoll tpm %s: --measurement must be hex of 1..64 bytes\n", cmd);
		return ATL_EXIT_USAGE;
	}
	return ATL_EXIT_OK;
}

static int do_info(const struct args *a)
{
	json_t *cfg, *info = NULL;
	enum atl_err rc;
	int ex;

	if (!need("info", a->tpm, "--tpm"))
		return ATL_EXIT_USAGE;
	cfg = json_pack("{s:s, s:s}", "tpm", a->tpm, "ek", a->ek != NULL ? a->ek : "rsa");
	rc = atl_tpm_ak_info(cfg, &info);
	json_decref(cfg);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm info: cannot read the TPM %s: %s\n", a->tpm,
			atl_strerror(rc));
		return io_exit(rc);
	}
	ex = print_json(info);
	json_decref(info);
	return ex;
}

static int do_activate(const struct args *a)
{
	json_t *cfg = NULL, *cj = NULL;
	struct atl_tpm_challenge ch = {0};
	uint8_t cred[64];
	char hex[129];
	size_t n = 0;
	enum atl_err rc;
	int ex;

	if (!need("activate", a->tpm, "--tpm") || !need("activate", a->challenge, "--challenge"))
		return ATL_EXIT_USAGE;
	if ((ex = load_json("activate", "challenge", a->challenge, &cj)) != ATL_EXIT_OK)
		return ex;
	rc = atl_tpm_challenge_from_json(cj, &ch);
	json_decref(cj);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm activate: %s is not a challenge\n", a->challenge);
		return ATL_EXIT_USAGE;
	}
	cfg = json_pack("{s:s, s:s}", "tpm", a->tpm, "ek", a->ek != NULL ? a->ek : "rsa");
	rc = atl_tpm_activate(cfg, &ch, cred, sizeof(cred), &n);
	json_decref(cfg);
	atl_tpm_challenge_clear(&ch);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm activate: the TPM refused the challenge: %s\n",
			rc == ATL_E_AUTH ? "not made for this TPM's EK and AK" : atl_strerror(rc));
		return io_exit(rc);
	}
	if (atl_hex_encode(cred, n, hex, sizeof(hex)) != ATL_OK)
		return ATL_EXIT_FAIL;
	printf("%s\n", hex);
	atl_wipe(cred, sizeof(cred));
	atl_wipe(hex, sizeof(hex));
	return ATL_EXIT_OK;
}

static int do_evidence(const struct args *a)
{
	uint8_t rd[ATL_REPORT_DATA_LEN] = {0}, meas[64], *ev = NULL;
	size_t rd_len = 0, meas_len = 0, ev_len = 0;
	char hex[129];
	json_t *cfg = NULL, *act = NULL;
	enum atl_err rc;
	int ex;

	if (!need("evidence", a->tpm, "--tpm") ||
	    !need("evidence", a->report_data, "--report-data"))
		return ATL_EXIT_USAGE;
	if (atl_hex_decode(a->report_data, strlen(a->report_data), rd, sizeof(rd), &rd_len) !=
		    ATL_OK ||
	    rd_len == 0) {
		fprintf(stderr, "atoll tpm evidence: --report-data must be hex of 1..64 bytes\n");
		return ATL_EXIT_USAGE;
	}
	if ((ex = measurement("evidence", a, meas, &meas_len)) != ATL_EXIT_OK)
		return ex;
	if (atl_hex_encode(meas, meas_len, hex, sizeof(hex)) != ATL_OK)
		return ATL_EXIT_FAIL;
	cfg = json_pack("{s:s, s:i, s:s, s:b, s:s}", "tpm", a->tpm, "pcr", a->pcr, "measurement",
			hex, "reset_pcr", a->reset_pcr, "ek", a->ek != NULL ? a->ek : "rsa");
	if (a->activation != NULL) {
		if ((ex = load_json("evidence", "activation record", a->activation, &act)) !=
		    ATL_EXIT_OK)
			goto out;
		json_object_set_new(cfg, "activation", act);
	}
	if (a->event_log != NULL)
		json_object_set_new(cfg, "event_log", json_string(a->event_log));
	if (a->pcrs != NULL) {
		json_t *arr = json_array();
		char *dup = strdup(a->pcrs), *save = NULL;

		for (char *t = strtok_r(dup, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
			json_array_append_new(arr, json_integer(strtol(t, NULL, 10)));
		free(dup);
		json_object_set_new(cfg, "pcrs", arr);
	}
	rc = atl_tpm_evidence(cfg, rd, &ev, &ev_len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm evidence: %s\n",
			rc == ATL_E_ARG ? "invalid options (PCR list, or --reset-pcr without PCR 23)"
					: atl_strerror(rc));
		ex = io_exit(rc);
		goto out;
	}
	printf("%.*s\n", (int)ev_len, (const char *)ev);
	ex = ATL_EXIT_OK;
out:
	free(ev);
	json_decref(cfg);
	return ex;
}

static int do_challenge(const struct args *a)
{
	json_t *info = NULL, *pol = NULL, *out = NULL;
	struct atl_tpm_challenge ch = {0};
	uint8_t cred[32];
	char hex[65], why[256] = "";
	enum atl_err rc;
	int ex;

	if (!need("challenge", a->info, "--info") || !need("challenge", a->policy, "--policy") ||
	    !need("challenge", a->secret_out, "--secret-out"))
		return ATL_EXIT_USAGE;
	if ((ex = load_json("challenge", "info", a->info, &info)) != ATL_EXIT_OK)
		return ex;
	rc = atl_policy_load(a->policy, &pol, why, sizeof(why));
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm challenge: %s: %s\n", a->policy, why);
		ex = ATL_EXIT_USAGE;
		goto out;
	}
	rc = atl_tpm_activation_begin(info, pol, atl_time_now(), cred, &ch, why, sizeof(why));
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm challenge: refused: %s\n", why);
		ex = ATL_EXIT_FAIL;
		goto out;
	}
	if (atl_hex_encode(cred, sizeof(cred), hex, sizeof(hex)) != ATL_OK ||
	    atl_file_write(a->secret_out, hex, 64, 0600, 1) != ATL_OK) {
		fprintf(stderr, "atoll tpm challenge: cannot write %s (it must not exist)\n",
			a->secret_out);
		ex = ATL_EXIT_USAGE;
		goto out;
	}
	if (atl_tpm_challenge_to_json(&ch, &out) != ATL_OK) {
		ex = ATL_EXIT_FAIL;
		goto out;
	}
	ex = print_json(out);
out:
	atl_wipe(cred, sizeof(cred));
	atl_wipe(hex, sizeof(hex));
	atl_tpm_challenge_clear(&ch);
	json_decref(info);
	json_decref(pol);
	json_decref(out);
	return ex;
}

static int do_record(const struct args *a)
{
	json_t *info = NULL, *rec = NULL;
	uint8_t *sec = NULL, *keybuf = NULL, cred[32], ans[64];
	size_t sec_len = 0, key_len = 0, ans_len = 0;
	struct atl_privkey *key = NULL;
	enum atl_err rc;
	int ex;

	if (!need("record", a->info, "--info") || !need("record", a->secret, "--secret") ||
	    !need("record", a->answer, "--answer") || !need("record", a->key, "--key"))
		return ATL_EXIT_USAGE;
	if ((ex = load_json("record", "info", a->info, &info)) != ATL_EXIT_OK)
		return ex;
	ex = ATL_EXIT_USAGE;
	if (atl_file_read(a->secret, 1024, &sec, &sec_len) != ATL_OK || sec_len < 64 ||
	    atl_hex_decode_exact((const char *)sec, 64, cred, sizeof(cred)) != ATL_OK) {
		fprintf(stderr, "atoll tpm record: cannot read the secret %s\n", a->secret);
		goto out;
	}
	if (atl_hex_decode(a->answer, strlen(a->answer), ans, sizeof(ans), &ans_len) != ATL_OK) {
		fprintf(stderr, "atoll tpm record: --answer must be hex\n");
		goto out;
	}
	if (atl_file_read(a->key, ATL_SIG_KEY_INPUT_MAX, &keybuf, &key_len) != ATL_OK ||
	    atl_privkey_parse(keybuf, key_len, &key) != ATL_OK) {
		fprintf(stderr, "atoll tpm record: cannot load the activation key %s\n", a->key);
		goto out;
	}
	rc = atl_tpm_activation_finish(info, cred, ans, ans_len, key, atl_time_now(), &rec);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm record: refused: %s\n",
			rc == ATL_E_AUTH ? "wrong answer: the AK does not live with that EK"
					 : atl_strerror(rc));
		ex = ATL_EXIT_FAIL;
		goto out;
	}
	ex = print_json(rec);
out:
	atl_wipe(cred, sizeof(cred));
	if (sec != NULL)
		atl_wipe(sec, sec_len);
	free(sec);
	if (keybuf != NULL)
		atl_wipe(keybuf, key_len);
	free(keybuf);
	atl_privkey_free(key);
	json_decref(info);
	json_decref(rec);
	return ex;
}

/* A JSON array of the PEM files' texts (NULL after a message). */
static json_t *pem_array(const char *cmd, const char *const *paths, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		if (atl_file_read(paths[i], ATL_ATTEST_ANCHOR_MAX, &buf, &len) != ATL_OK ||
		    len == 0 || memmem(buf, len, "-----BEGIN ", 11) == NULL) {
			fprintf(stderr, "atoll %s: cannot read a PEM file from %s\n", cmd, paths[i]);
			free(buf);
			json_decref(arr);
			return NULL;
		}
		if (json_array_append_new(arr, json_stringn((const char *)buf, len)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		free(buf);
	}
	return arr;
}

int atl_cli_tpm_policy(const char *cmd, const uint8_t *meas, size_t meas_len, int pcr,
		       const char *const *anchors, size_t n_anchors, const char *const *inters,
		       size_t n_inters, const char *const *act_keys, size_t n_act_keys)
{
	char hex[129], why[256] = "";
	json_t *sec = NULL, *pol = NULL, *arr;
	int ex = ATL_EXIT_FAIL;

	if (meas_len == 0 || meas_len > 64 || atl_tpm_policy_init(meas, meas_len, pcr, &sec) != ATL_OK ||
	    atl_hex_encode(meas, meas_len, hex, sizeof(hex)) != ATL_OK)
		goto out;
	pol = json_pack("{s:[s], s:b, s:{s:[s]}}", "tee_types", "tpm", "allow_debug", 0,
			"measurements", "tpm", hex);
	if (pol == NULL)
		goto out;
	ex = ATL_EXIT_USAGE;
	if (n_anchors > 0) {
		if ((arr = pem_array(cmd, anchors, n_anchors)) == NULL)
			goto out;
		json_object_set_new(pol, "trust_anchors", json_pack("{s:o}", "tpm", arr));
	}
	if (n_inters > 0) {
		if ((arr = pem_array(cmd, inters, n_inters)) == NULL)
			goto out;
		json_object_set_new(sec, "intermediates", arr);
	}
	if (n_act_keys > 0) {
		if ((arr = pem_array(cmd, act_keys, n_act_keys)) == NULL)
			goto out;
		json_object_set_new(sec, "activation_keys", arr);
	}
	json_object_set(pol, "tpm", sec);
	ex = ATL_EXIT_FAIL;
	if (atl_policy_validate(pol, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "atoll %s: %s\n", cmd, why);
		goto out;
	}
	ex = print_json(pol);
out:
	json_decref(sec);
	json_decref(pol);
	return ex;
}

static int do_policy(const struct args *a)
{
	uint8_t meas[64];
	size_t len = 0;
	int ex;

	if ((ex = measurement("policy", a, meas, &len)) != ATL_EXIT_OK)
		return ex;
	return atl_cli_tpm_policy("tpm policy", meas, len, a->pcr, a->anchors, a->n_anchors,
				  a->collateral, a->n_collateral, &a->key, a->key != NULL ? 1 : 0);
}

static int do_verify(const struct args *a)
{
	struct atl_verify_in in = {0};
	uint8_t *ev = NULL, nonce[ATL_ATTEST_NONCE_MAX];
	size_t ev_len = 0, nonce_len = 0;
	json_t *pol = NULL, *res = NULL;
	struct atl_ar *ar = NULL;
	char why[256] = "";
	enum atl_err rc;
	int ex = ATL_EXIT_USAGE;

	if (!need("verify", a->evidence, "--evidence"))
		return ATL_EXIT_USAGE;
	in.now = atl_time_now();
	if (a->time != NULL && atl_time_parse_rfc3339(a->time, &in.now) != ATL_OK) {
		fprintf(stderr, "atoll tpm verify: --time must be RFC 3339\n");
		return ATL_EXIT_USAGE;
	}
	if (a->nonce != NULL &&
	    atl_hex_decode(a->nonce, strlen(a->nonce), nonce, sizeof(nonce), &nonce_len) != ATL_OK) {
		fprintf(stderr, "atoll tpm verify: --nonce must be hex of at most %u bytes\n",
			ATL_ATTEST_NONCE_MAX);
		return ATL_EXIT_USAGE;
	}
	if (a->policy != NULL && atl_policy_load(a->policy, &pol, why, sizeof(why)) != ATL_OK) {
		fprintf(stderr, "atoll tpm verify: %s: %s\n", a->policy, why);
		return ATL_EXIT_USAGE;
	}
	rc = atl_file_read(a->evidence, ATL_ATTEST_EVIDENCE_MAX, &ev, &ev_len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll tpm verify: cannot read %s: %s\n", a->evidence,
			atl_strerror(rc));
		goto out;
	}
	in.policy = pol;
	in.anchors = a->n_anchors > 0 ? a->anchors : NULL;
	in.collateral = a->n_collateral > 0 ? a->collateral : NULL;
	ar = atl_ar_new("tpm");
	if (ar == NULL) {
		ex = ATL_EXIT_FAIL;
		goto out;
	}
	rc = atl_tpm_verify(ev, ev_len, &in, a->nonce != NULL ? nonce : NULL, nonce_len, ar);
	if (rc != ATL_OK && atl_ar_check(ar, "parse", false, "evidence unreadable: %s",
					 atl_strerror(rc)) != ATL_OK) {
		ex = ATL_EXIT_FAIL;
		goto out;
	}
	res = atl_ar_to_json(ar);
	if (res == NULL || print_json(res) != ATL_EXIT_OK) {
		ex = ATL_EXIT_FAIL;
		goto out;
	}
	ex = atl_ar_status(ar) == ATL_AR_CONTRAINDICATED ? ATL_EXIT_FAIL : ATL_EXIT_OK;
out:
	free(ev);
	json_decref(pol);
	json_decref(res);
	atl_ar_free(ar);
	return ex;
}

int atl_cmd_tpm(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct args *a);
	} subs[] = {
		{"info", do_info},         {"activate", do_activate}, {"evidence", do_evidence},
		{"challenge", do_challenge}, {"record", do_record},   {"policy", do_policy},
		{"verify", do_verify},
	};
	struct args a;
	int ex;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ATL_EXIT_USAGE : ATL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		ex = parse_args(subs[i].name, argc - 1, argv + 1, &a);
		if (ex < 0)
			return ATL_EXIT_OK; /* --help */
		if (ex != ATL_EXIT_OK)
			return ex;
		return subs[i].fn(&a);
	}
	fprintf(stderr, "atoll tpm: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return ATL_EXIT_USAGE;
}
