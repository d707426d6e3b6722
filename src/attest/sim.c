/* The `sim` TEE backend (DESIGN §4): a software stand-in for development and
 * tests. IT GIVES NO HARDWARE PROTECTION: whoever runs the machine can read the
 * enclave's memory and the simulation root key, and so forge evidence. It only
 * proves that the evidence was signed with a root the verifier pinned, over
 * the SHA-384 of a binary, the report data and a time.
 *
 * Native evidence (JSON, every field required, no others):
 *   {"v":1, "report":"<base64 report bytes>", "signature":"<base64 r||s, 96 bytes>"}
 * where the report bytes are JSON:
 *   {"v":1, "tee":"sim", "measurement":"<hex SHA-384 of the binary>",
 *    "report_data":"<hex, 64 bytes>", "issued_at":<seconds>, "debug":<bool>,
 *    "notice":"<ATL_SIM_WARNING>"}
 * and the signature is ECDSA P-384 / SHA-384 over
 *   "atoll-sim-report-v1" || 0x00 || report bytes
 * by the simulation root key (raw r||s, as COSE writes it). The verifier checks
 * the signature over the exact bytes first and parses the report only then. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/attest.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "attest/backends.h"

#define SIM_LABEL "atoll-sim-report-v1"
#define SIM_SIG_LEN 96 /* P-384 r || s */
#define SIM_MEAS_LEN ATL_SHA384_LEN

/* ---- root key files and measurement ---- */

static enum atl_err join(const char *dir, const char *name, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? ATL_E_ARG : ATL_OK;
}

enum atl_err atl_sim_root_create(const char *dir)
{
	struct atl_privkey *sk = NULL;
	struct atl_pubkey *pk = NULL;
	char *key_pem = NULL, *pub_pem = NULL;
	size_t key_len = 0;
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	struct stat st;
	bool key_written = false;
	enum atl_err rc = ATL_E_INTERNAL;

	if (dir == NULL || dir[0] == '\0')
		return ATL_E_ARG;
	ATL_TRY(join(dir, ATL_SIM_ROOT_KEY_FILE, key_path));
	ATL_TRY(join(dir, ATL_SIM_ROOT_PUB_FILE, pub_path));
	ATL_TRY(atl_mkdir_p(dir, 0700));
	/* Refuse before generating anything; the exclusive writes below close
	 * the remaining race. */
	if (lstat(key_path, &st) == 0 || lstat(pub_path, &st) == 0) {
		rc = ATL_E_EXISTS;
		goto out;
	}
	ATL_TRY(atl_privkey_generate_ec(384, &sk));
	ATL_TRY(atl_privkey_public(sk, &pk));
	ATL_TRY(atl_privkey_to_pem(sk, &key_pem, &key_len));
	ATL_TRY(atl_pubkey_to_pem(pk, &pub_pem));
	ATL_TRY(atl_file_write(key_path, key_pem, key_len, 0600, 1));
	key_written = true;
	ATL_TRY(atl_file_write(pub_path, pub_pem, strlen(pub_pem), 0644, 1));
	rc = ATL_OK;
out:
	if (rc != ATL_OK && key_written)
		(void)unlink(key_path);
	atl_secret_free(key_pem);
	free(pub_pem);
	atl_pubkey_free(pk);
	atl_privkey_free(sk);
	return rc;
}

enum atl_err atl_sim_measure(const char *path, uint8_t out[SIM_MEAS_LEN])
{
	if (path == NULL)
		return ATL_E_ARG;
	return atl_hash_file(ATL_HASH_SHA384, path, out);
}

static enum atl_err load_root_key(const char *dir, struct atl_privkey **sk_out)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*sk_out = NULL;
	ATL_TRY(join(dir, ATL_SIM_ROOT_KEY_FILE, path));
	ATL_TRY(atl_file_read(path, ATL_SIG_KEY_INPUT_MAX, &buf, &len));
	ATL_TRY(atl_privkey_parse(buf, len, sk_out));
	rc = ATL_OK;
out:
	if (buf != NULL) {
		atl_wipe(buf, len);
		free(buf);
	}
	return rc;
}

/* label || 0x00 || report: what the root signs (domain separation). */
static enum atl_err signed_message(const uint8_t *report, size_t report_len, uint8_t **msg_out,
				   size_t *len_out)
{
	size_t ll = sizeof(SIM_LABEL); /* includes the NUL separator */
	uint8_t *m;

	*msg_out = NULL;
	*len_out = 0;
	if (report_len > ATL_ATTEST_EVIDENCE_MAX)
		return ATL_E_LIMIT;
	m = malloc(ll + report_len);
	if (m == NULL)
		return ATL_E_NOMEM;
	memcpy(m, SIM_LABEL, ll);
	memcpy(m + ll, report, report_len);
	*msg_out = m;
	*len_out = ll + report_len;
	return ATL_OK;
}

/* ---- evidence ---- */

static enum atl_err sim_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
				 uint8_t **ev_out, size_t *ev_len_out)
{
	static const char *const cfg_keys[] = {"sim_root", "binary", "debug", NULL};
	struct atl_privkey *sk = NULL;
	const char *root_dir = NULL, *binary = "/proc/self/exe";
	bool debug = false;
	uint8_t meas[SIM_MEAS_LEN];
	char meas_hex[2 * SIM_MEAS_LEN + 1], rd_hex[2 * ATL_REPORT_DATA_LEN + 1];
	json_t *report = NULL, *native = NULL;
	char *report_txt = NULL, *report_b64 = NULL, *sig_b64 = NULL, *native_txt = NULL;
	uint8_t *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*ev_out = NULL;
	*ev_len_out = 0;
	if (atl_json_check_keys(cfg, cfg_keys, NULL) != ATL_OK ||
	    atl_json_get_str(cfg, "sim_root", &root_dir) != ATL_OK) {
		rc = ATL_E_ARG;
		goto out;
	}
	if (json_object_get(cfg, "binary") != NULL &&
	    atl_json_get_str(cfg, "binary", &binary) != ATL_OK) {
		rc = ATL_E_ARG;
		goto out;
	}
	if (json_object_get(cfg, "debug") != NULL &&
	    atl_json_get_bool(cfg, "debug", &debug) != ATL_OK) {
		rc = ATL_E_ARG;
		goto out;
	}
	ATL_TRY(load_root_key(root_dir, &sk));
	ATL_TRY(atl_sim_measure(binary, meas));
	ATL_TRY(atl_hex_encode(meas, sizeof(meas), meas_hex, sizeof(meas_hex)));
	ATL_TRY(atl_hex_encode(report_data, ATL_REPORT_DATA_LEN, rd_hex, sizeof(rd_hex)));
	report = json_pack("{s:i, s:s, s:s, s:s, s:I, s:b, s:s}", "v", 1, "tee", "sim",
			   "measurement", meas_hex, "report_data", rd_hex, "issued_at",
			   (json_int_t)atl_time_now(), "debug", debug, "notice", ATL_SIM_WARNING);
	if (report == NULL || (report_txt = atl_json_dump(report)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(signed_message((const uint8_t *)report_txt, strlen(report_txt), &msg, &msg_len));
	ATL_TRY(atl_sig_sign(sk, ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg, msg_len, &sig,
			     &sig_len));
	ATL_TRY(atl_b64_encode((const uint8_t *)report_txt, strlen(report_txt), ATL_B64_STD,
			       &report_b64));
	ATL_TRY(atl_b64_encode(sig, sig_len, ATL_B64_STD, &sig_b64));
	native = json_pack("{s:i, s:s, s:s}", "v", 1, "report", report_b64, "signature", sig_b64);
	if (native == NULL || (native_txt = atl_json_dump(native)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*ev_len_out = strlen(native_txt);
	*ev_out = (uint8_t *)native_txt;
	native_txt = NULL;
	rc = ATL_OK;
out:
	atl_privkey_free(sk);
	json_decref(report);
	json_decref(native);
	free(report_txt);
	free(report_b64);
	free(sig_b64);
	free(native_txt);
	free(msg);
	free(sig);
	return rc;
}

/* ---- verify ---- */

/* The pinned roots: policy trust_anchors.sim (PEM text) and the caller's
 * anchor files. A pinned value that is not a public key fails the check:
 * a broken pin must not silently shrink to "the other pins". */
static enum atl_err load_anchors(const struct atl_verify_in *in, struct atl_pubkey **keys,
				 size_t cap, size_t *n_out, struct atl_ar *ar, bool *bad_out)
{
	size_t n = 0, np = atl_policy_anchor_count(in->policy, "sim");
	enum atl_err rc;

	*n_out = 0;
	*bad_out = false;
	for (size_t i = 0; i < np && n < cap; i++) {
		const char *pem = atl_policy_anchor(in->policy, "sim", i);

		if (pem == NULL || atl_pubkey_parse((const uint8_t *)pem, strlen(pem), &keys[n]) !=
					   ATL_OK) {
			*bad_out = true;
			return atl_ar_check(ar, "trust_anchor", false,
					    "policy trust_anchors.sim[%zu] is not a public key", i);
		}
		n++;
		*n_out = n;
	}
	for (size_t i = 0; in->anchors != NULL && in->anchors[i] != NULL && n < cap; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		rc = atl_file_read(in->anchors[i], ATL_SIG_KEY_INPUT_MAX, &buf, &len);
		if (rc == ATL_OK)
			rc = atl_pubkey_parse(buf, len, &keys[n]);
		free(buf);
		if (rc != ATL_OK) {
			*bad_out = true;
			return atl_ar_check(ar, "trust_anchor", false,
					    "anchor file #%zu: %s", i + 1, atl_strerror(rc));
		}
		n++;
		*n_out = n;
	}
	return ATL_OK;
}

/* Parses the signed report (authentic by now) and records its claims. */
static enum atl_err record_report(const uint8_t *report, size_t report_len,
				  const struct atl_verify_in *in, struct atl_ar *ar)
{
	static const char *const keys[] = {"v",        "tee",   "measurement", "report_data",
					   "issued_at", "debug", "notice",      NULL};
	json_t *r = NULL;
	const char *tee = NULL, *notice = NULL;
	int64_t v = 0, issued_at = 0;
	bool debug = false;
	uint8_t meas[SIM_MEAS_LEN], rd[ATL_REPORT_DATA_LEN];
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_json_parse((const char *)report, report_len, &r));
	for (size_t i = 0; keys[i] != NULL; i++) {
		if (json_object_get(r, keys[i]) == NULL) {
			rc = ATL_E_FORMAT;
			goto out;
		}
	}
	ATL_TRY(atl_json_check_keys(r, keys, NULL));
	ATL_TRY(atl_json_get_int(r, "v", &v));
	ATL_TRY(atl_json_get_str(r, "tee", &tee));
	ATL_TRY(atl_json_get_hex(r, "measurement", meas, sizeof(meas)));
	ATL_TRY(atl_json_get_hex(r, "report_data", rd, sizeof(rd)));
	ATL_TRY(atl_json_get_int(r, "issued_at", &issued_at));
	ATL_TRY(atl_json_get_bool(r, "debug", &debug));
	ATL_TRY(atl_json_get_str(r, "notice", &notice));
	if (v != 1 || strcmp(tee, "sim") != 0 || issued_at < 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_ar_set_hex(ar, "measurement", meas, sizeof(meas)));
	ATL_TRY(atl_ar_set_hex(ar, "report_data", rd, sizeof(rd)));
	ATL_TRY(atl_ar_set_int(ar, "issued_at", issued_at));
	ATL_TRY(atl_ar_set_bool(ar, "debug", debug));
	ATL_TRY(atl_ar_set_json(ar, "tcb", json_null()));
	/* sim has no TCB versions: a policy asking for a minimum cannot be met. */
	if (atl_policy_min_tcb(in->policy, "sim") != NULL)
		ATL_TRY(atl_ar_check(ar, "min_tcb", false, "sim has no TCB; policy sets min_tcb.sim"));
	rc = ATL_OK;
out:
	json_decref(r);
	return rc;
}

static enum atl_err sim_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar)
{
	static const char *const keys[] = {"v", "report", "signature", NULL};
	struct atl_pubkey *roots[ATL_ATTEST_LIST_MAX + ATL_ATTEST_ARGS_MAX] = {0};
	size_t n_roots = 0, match = 0;
	json_t *o = NULL;
	int64_t v = 0;
	uint8_t *report = NULL, *sig = NULL, *msg = NULL;
	size_t report_len = 0, sig_len = 0, msg_len = 0;
	bool bad_anchor = false, ok = false;
	enum atl_err rc = ATL_E_INTERNAL;

	/* Parse the outer structure within limits. */
	if (ev_len > ATL_ATTEST_EVIDENCE_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	ATL_TRY(atl_json_parse((const char *)ev, ev_len, &o));
	if (json_object_get(o, "v") == NULL || json_object_get(o, "report") == NULL ||
	    json_object_get(o, "signature") == NULL) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_json_check_keys(o, keys, NULL));
	ATL_TRY(atl_json_get_int(o, "v", &v));
	if (v != 1) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	ATL_TRY(atl_json_get_b64(o, "report", ATL_ATTEST_EVIDENCE_MAX, &report, &report_len));
	ATL_TRY(atl_json_get_b64(o, "signature", ATL_SIG_LEN_MAX, &sig, &sig_len));
	if (report_len == 0 || sig_len != SIM_SIG_LEN) {
		rc = ATL_E_FORMAT;
		goto out;
	}

	ATL_TRY(atl_ar_warn(ar, "simulation", "%s", ATL_SIM_WARNING));
	/* Authenticate the exact report bytes against the pinned roots. */
	ATL_TRY(load_anchors(in, roots, sizeof(roots) / sizeof(roots[0]), &n_roots, ar,
			     &bad_anchor));
	if (bad_anchor) {
		rc = ATL_OK; /* recorded as a failed check; claims stay unset */
		goto out;
	}
	if (n_roots == 0) {
		ATL_TRY(atl_ar_check(ar, "trust_anchor", false,
				     "no sim root pinned (policy trust_anchors.sim or --anchor)"));
		rc = ATL_OK;
		goto out;
	}
	ATL_TRY(signed_message(report, report_len, &msg, &msg_len));
	for (size_t i = 0; i < n_roots && !ok; i++) {
		if (atl_sig_verify(roots[i], ATL_SIG_ECDSA_P384_SHA384, ATL_SIG_FMT_RAW_RS, msg,
				   msg_len, sig, sig_len) == ATL_OK) {
			ok = true;
			match = i;
		}
	}
	if (!ok) {
		ATL_TRY(atl_ar_check(ar, "signature", false,
				     "not signed by any of the %zu pinned sim root(s)", n_roots));
		rc = ATL_OK;
		goto out;
	}
	ATL_TRY(atl_ar_check(ar, "signature", true,
			     "ECDSA P-384 signature by pinned sim root #%zu", match + 1));
	ATL_TRY(record_report(report, report_len, in, ar));
	rc = ATL_OK;
out:
	for (size_t i = 0; i < n_roots; i++)
		atl_pubkey_free(roots[i]);
	json_decref(o);
	free(report);
	free(sig);
	free(msg);
	return rc;
}

const struct atl_tee_ops atl_tee_sim = {
	.name = "sim",
	.detect = NULL, /* never auto-detected: sim must be asked for by name */
	.evidence = sim_evidence,
	.verify = sim_verify,
};
