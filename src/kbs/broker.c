/* The key broker's core (kbs.h; docs/internals/kbs.md "Broker").
 *
 * The state is kept as one JSON document (state.json) in memory:
 *   {"v":1,
 *    "tenants":{"T":{"gen":N,"kek_id":"T.kN","nonce":HEX12,"wrapped":HEX48,
 *                    "kek_created":SECONDS,                  (optional: older states)
 *                    "quota":{"n":N,"window_s":W},           (optional)
 *                    "pending":{"kek_id":..,"nonce":..,"wrapped":..}}},   (during rotation)
 *    "models":{"<model id hex>":{"tenant":"T","kek_id":..,"path":..,"chunk_size":N,
 *                    "pt_len":N,"pt_sha256":HEX32,"policy":{..},"revoked":false,
 *                    "workloads":["W",...]}},                   (optional: allowed workloads)
 *    "revoked_measurements":["<lowercase hex>",...]}
 * KEKs are unwrapped from it with the master key only for the moment they are
 * used, into secret memory, and wiped right after. Every change is written
 * back atomically (atl_file_write, mode 0600) before it is acted upon. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATL_LOG_MODULE "kbs"

#include "atoll/aead.h"
#include "atoll/audit.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/hpke.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "master_tpm.h"

/* Returns the error of a fallible call (for steps with nothing to undo). */
#define RET_IF(expr)                          \
	do {                                  \
		enum atl_err ret_if_ = (expr); \
		if (ret_if_ != ATL_OK)        \
			return ret_if_;       \
	} while (0)

#define MASTER_LEN 32u
#define AUDIT_HEAD_EVERY 16u
#define ACTOR "kbs"

struct kbs_nonce {
	uint8_t n[ATL_KBS_NONCE_LEN];
	int64_t expires;
};

struct atl_kbs {
	char *dir;
	uint8_t *master; /* secret memory, MASTER_LEN */
	json_t *state;
	struct atl_audit *audit;
	struct kbs_nonce *nonces;
	size_t n_nonces;
	char last_reason[256]; /* why the last release was refused ("" after a release) */
};

/* ---- small helpers ---- */

static char *path_in(const struct atl_kbs *b, const char *name)
{
	size_t n = strlen(b->dir) + 1 + strlen(name) + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", b->dir, name);
	return p;
}

static bool id_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool atl_kbs_model_id_valid(const char *s)
{
	if (s == NULL || strnlen(s, 2 * ATL_ATM_MODEL_ID_LEN + 1) != 2 * ATL_ATM_MODEL_ID_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool atl_kbs_tenant_valid(const char *s)
{
	return id_ok(s, ATL_KBS_TENANT_MAX);
}

static bool model_id_ok(const char *s)
{
	return atl_kbs_model_id_valid(s);
}

/* Audit detail text: printable ASCII only (callers pass reasons that may hold
 * bytes of the evidence), cut to fit. */
static void audit_rec(struct atl_kbs *b, int64_t now, const char *action, const char *subject,
		      const char *fmt_tenant, const char *reason, enum atl_err *e_io)
{
	char detail[512];
	enum atl_err e;

	snprintf(detail, sizeof(detail), "tenant=%s%s%s", fmt_tenant ? fmt_tenant : "-",
		 reason ? " reason=" : "", reason ? reason : "");
	for (char *p = detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	e = atl_audit_append(b->audit, now, ACTOR, action, subject && *subject ? subject : "-",
			     detail, NULL);
	if (e != ATL_OK) {
		atl_error("audit append failed: %s", atl_err_name(e));
		if (e_io)
			*e_io = e;
	}
}

static enum atl_err save_state(struct atl_kbs *b)
{
	char *txt = atl_json_dump_pretty(b->state);
	char *path = path_in(b, ATL_KBS_STATE_FILE);
	enum atl_err e = ATL_E_NOMEM;

	if (txt && path) {
		size_t n = strlen(txt);
		e = n > ATL_KBS_STATE_MAX ? ATL_E_LIMIT : atl_file_write(path, txt, n, 0600, 0);
	}
	free(txt);
	free(path);
	return e;
}

/* ---- master key ---- */

static enum atl_err master_load(struct atl_kbs *b)
{
	char *path = path_in(b, ATL_KBS_MASTER_FILE);
	char buf[2 * MASTER_LEN + 2];
	struct stat st;
	ssize_t r;
	int fd;
	enum atl_err e = ATL_OK;

	if (path == NULL)
		return ATL_E_NOMEM;
	b->master = atl_secret_alloc(MASTER_LEN);
	if (b->master == NULL) {
		free(path);
		return ATL_E_NOMEM;
	}
	{ /* master.tpm, or --master-tpm: sealed by a TPM (master_tpm.c) */
		bool tpm = false;

		e = atl_kbs_master_tpm_load(b->dir, b->master, MASTER_LEN, &tpm);
		if (e != ATL_OK || tpm) {
			free(path);
			return e;
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		char hex[2 * MASTER_LEN + 2];
		e = atl_random(b->master, MASTER_LEN);
		if (e == ATL_OK)
			e = atl_hex_encode(b->master, MASTER_LEN, hex, sizeof(hex));
		if (e == ATL_OK) {
			hex[2 * MASTER_LEN] = '\n';
			e = atl_file_write(path, hex, 2 * MASTER_LEN + 1, 0600, 1);
		}
		atl_wipe(hex, sizeof(hex));
		if (e == ATL_OK)
			atl_info("created master key %s", path);
		free(path);
		return e;
	}
	free(path);
	if (fd < 0)
		return ATL_E_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ATL_E_IO;
	}
	if (st.st_mode & 077) {
		close(fd);
		atl_error("master key is readable by group or others (mode %03o): refused",
			  (unsigned)(st.st_mode & 0777));
		return ATL_E_POLICY;
	}
	r = read(fd, buf, sizeof(buf));
	close(fd);
	if (r < 0)
		e = ATL_E_IO;
	else if (!(r == 2 * MASTER_LEN || (r == 2 * MASTER_LEN + 1 && buf[2 * MASTER_LEN] == '\n')))
		e = ATL_E_FORMAT;
	else if (atl_hex_decode_exact(buf, 2 * MASTER_LEN, b->master, MASTER_LEN) != ATL_OK)
		e = ATL_E_FORMAT;
	atl_wipe(buf, sizeof(buf));
	return e;
}

/* ---- KEK wrapping under the master key ---- */

static enum atl_err kek_aad(const char *tenant, const char *kek_id, uint8_t *aad, size_t cap,
			    size_t *len)
{
	size_t t = strlen(tenant), k = strlen(kek_id);

	if (t + 1 + k > cap)
		return ATL_E_LIMIT;
	memcpy(aad, tenant, t);
	aad[t] = 0;
	memcpy(aad + t + 1, kek_id, k);
	*len = t + 1 + k;
	return ATL_OK;
}

/* Builds {"kek_id","nonce","wrapped"} for kek. */
static enum atl_err kek_wrap(const struct atl_kbs *b, const char *tenant, const char *kek_id,
			     const uint8_t kek[ATL_ATM_KEK_LEN], json_t **out)
{
	uint8_t nonce[ATL_AEAD_NONCE_LEN], ct[ATL_ATM_KEK_LEN + ATL_AEAD_TAG_LEN];
	uint8_t aad[ATL_KBS_TENANT_MAX + 1 + ATL_ATM_KEK_ID_MAX];
	char nhex[2 * sizeof(nonce) + 1], chex[2 * sizeof(ct) + 1];
	size_t aad_len = 0, n = 0;

	RET_IF(kek_aad(tenant, kek_id, aad, sizeof(aad), &aad_len));
	RET_IF(atl_random(nonce, sizeof(nonce)));
	RET_IF(atl_aead_seal(ATL_AEAD_AES256_GCM, b->master, MASTER_LEN, nonce, sizeof(nonce), aad,
			      aad_len, kek, ATL_ATM_KEK_LEN, ct, sizeof(ct), &n));
	RET_IF(atl_hex_encode(nonce, sizeof(nonce), nhex, sizeof(nhex)));
	RET_IF(atl_hex_encode(ct, sizeof(ct), chex, sizeof(chex)));
	*out = json_pack("{s:s, s:s, s:s}", "kek_id", kek_id, "nonce", nhex, "wrapped", chex);
	return *out ? ATL_OK : ATL_E_NOMEM;
}

/* Unwraps the KEK recorded in w (a tenant entry or its "pending") into kek. */
static enum atl_err kek_unwrap(const struct atl_kbs *b, const char *tenant, const json_t *w,
			       uint8_t kek[ATL_ATM_KEK_LEN])
{
	uint8_t nonce[ATL_AEAD_NONCE_LEN], ct[ATL_ATM_KEK_LEN + ATL_AEAD_TAG_LEN];
	uint8_t aad[ATL_KBS_TENANT_MAX + 1 + ATL_ATM_KEK_ID_MAX];
	const char *kek_id = NULL;
	size_t aad_len = 0, n = 0;
	enum atl_err e;

	if (atl_json_get_str(w, "kek_id", &kek_id) != ATL_OK || !atl_model_kek_id_ok(kek_id) ||
	    atl_json_get_hex(w, "nonce", nonce, sizeof(nonce)) != ATL_OK ||
	    atl_json_get_hex(w, "wrapped", ct, sizeof(ct)) != ATL_OK)
		return ATL_E_FORMAT;
	RET_IF(kek_aad(tenant, kek_id, aad, sizeof(aad), &aad_len));
	e = atl_aead_open(ATL_AEAD_AES256_GCM, b->master, MASTER_LEN, nonce, sizeof(nonce), aad,
			  aad_len, ct, sizeof(ct), kek, ATL_ATM_KEK_LEN, &n);
	if (e == ATL_OK && n != ATL_ATM_KEK_LEN)
		e = ATL_E_INTERNAL;
	if (e != ATL_OK)
		atl_wipe(kek, ATL_ATM_KEK_LEN);
	return e;
}

/* The tenant's KEK named kek_id (current or pending). ATL_E_NOTFOUND. */
static enum atl_err tenant_kek(const struct atl_kbs *b, const char *tenant, const char *kek_id,
			       uint8_t kek[ATL_ATM_KEK_LEN])
{
	json_t *t = json_object_get(json_object_get(b->state, "tenants"), tenant);
	json_t *p;

	if (t == NULL)
		return ATL_E_NOTFOUND;
	if (kek_id == NULL || strcmp(json_string_value(json_object_get(t, "kek_id")), kek_id) == 0)
		return kek_unwrap(b, tenant, t, kek);
	p = json_object_get(t, "pending");
	if (p && strcmp(json_string_value(json_object_get(p, "kek_id")), kek_id) == 0)
		return kek_unwrap(b, tenant, p, kek);
	return ATL_E_NOTFOUND;
}

/* ---- state load and validation ---- */

/* A model's "workloads": absent, or an array of at most
 * ATL_KBS_MODEL_WORKLOADS_MAX distinct workload ids. */
static bool workloads_ok(const json_t *w)
{
	size_t i, j;
	json_t *v;

	if (w == NULL)
		return true;
	if (!json_is_array(w) || json_array_size(w) > ATL_KBS_MODEL_WORKLOADS_MAX)
		return false;
	json_array_foreach(w, i, v) {
		if (!json_is_string(v) || !id_ok(json_string_value(v), ATL_STORE_NAME_MAX))
			return false;
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(w, j)),
				   json_string_value(v)) == 0)
				return false;
	}
	return true;
}

/* Whether workload_id is among model m's allowed workloads. */
static bool workload_allowed(const json_t *m, const char *workload_id)
{
	const json_t *w = json_object_get(m, "workloads");

	for (size_t i = 0; i < json_array_size(w); i++)
		if (strcmp(json_string_value(json_array_get(w, i)), workload_id) == 0)
			return true;
	return false;
}

static enum atl_err state_check(struct atl_kbs *b)
{
	static const char *const top[] = {"v", "tenants", "models", "revoked_measurements", NULL};
	static const char *const tkeys[] = {"gen",     "kek_id",      "nonce", "wrapped",
					    "pending", "kek_created", "quota", NULL};
	static const char *const qkeys[] = {"n", "window_s", NULL};
	static const char *const mkeys[] = {"tenant",	 "kek_id", "path",   "chunk_size",
					    "pt_len",	 "pt_sha256", "policy", "revoked",
					    "workloads", NULL};
	json_t *s = b->state, *tenants, *models, *rev, *v;
	const char *k;
	int64_t ver = 0;
	size_t i;
	uint8_t *kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	enum atl_err e = ATL_OK;

	if (kek == NULL)
		return ATL_E_NOMEM;
	tenants = json_object_get(s, "tenants");
	models = json_object_get(s, "models");
	rev = json_object_get(s, "revoked_measurements");
	if (atl_json_check_keys(s, top, NULL) != ATL_OK ||
	    atl_json_get_int(s, "v", &ver) != ATL_OK || ver != 1 || !json_is_object(tenants) ||
	    !json_is_object(models) || !json_is_array(rev))
		e = ATL_E_FORMAT;
	else if (json_object_size(tenants) > ATL_KBS_TENANTS_MAX ||
		 json_object_size(models) > ATL_KBS_MODELS_MAX ||
		 json_array_size(rev) > ATL_KBS_REVOKED_MAX)
		e = ATL_E_LIMIT;
	if (e == ATL_OK) {
		json_object_foreach(tenants, k, v) {
			int64_t gen = 0, created = 0, qn = 0, qw = 0;
			json_t *p = json_object_get(v, "pending");
			json_t *q = json_object_get(v, "quota");
			if (!id_ok(k, ATL_KBS_TENANT_MAX) ||
			    atl_json_check_keys(v, tkeys, NULL) != ATL_OK ||
			    atl_json_get_int(v, "gen", &gen) != ATL_OK || gen < 1 || gen > INT32_MAX ||
			    (json_object_get(v, "kek_created") != NULL &&
			     (atl_json_get_int(v, "kek_created", &created) != ATL_OK || created < 0)) ||
			    (q != NULL &&
			     (atl_json_check_keys(q, qkeys, NULL) != ATL_OK ||
			      atl_json_get_int(q, "n", &qn) != ATL_OK ||
			      atl_json_get_int(q, "window_s", &qw) != ATL_OK || qn < 1 ||
			      qn > UINT32_MAX || qw < 1 || qw > ATL_KBS_QUOTA_WINDOW_MAX_S))) {
				e = ATL_E_FORMAT;
				break;
			}
			e = kek_unwrap(b, k, v, kek);
			if (e == ATL_OK && p)
				e = kek_unwrap(b, k, p, kek);
			if (e != ATL_OK)
				break;
		}
	}
	if (e == ATL_OK) {
		json_object_foreach(models, k, v) {
			const char *tn = NULL, *kid = NULL, *path = NULL;
			int64_t cs = 0, pl = 0;
			bool revoked = false;
			uint8_t sha[32];
			char why[160];
			if (!model_id_ok(k) || atl_json_check_keys(v, mkeys, NULL) != ATL_OK ||
			    atl_json_get_str(v, "tenant", &tn) != ATL_OK ||
			    json_object_get(tenants, tn) == NULL ||
			    atl_json_get_str(v, "kek_id", &kid) != ATL_OK ||
			    !atl_model_kek_id_ok(kid) ||
			    atl_json_get_str(v, "path", &path) != ATL_OK || path[0] != '/' ||
			    strlen(path) > ATL_KBS_PATH_MAX ||
			    atl_json_get_int(v, "chunk_size", &cs) != ATL_OK ||
			    atl_json_get_int(v, "pt_len", &pl) != ATL_OK || cs < 0 || pl < 0 ||
			    atl_json_get_hex(v, "pt_sha256", sha, sizeof(sha)) != ATL_OK ||
			    atl_json_get_bool(v, "revoked", &revoked) != ATL_OK ||
			    atl_policy_validate(json_object_get(v, "policy"), why, sizeof(why)) !=
				    ATL_OK ||
			    !workloads_ok(json_object_get(v, "workloads"))) {
				e = ATL_E_FORMAT;
				break;
			}
		}
	}
	if (e == ATL_OK) {
		json_array_foreach(rev, i, v) {
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > 2 * ATL_SHA512_LEN) {
				e = ATL_E_FORMAT;
				break;
			}
		}
	}
	atl_secret_free(kek);
	return e;
}

static enum atl_err state_load(struct atl_kbs *b)
{
	char *path = path_in(b, ATL_KBS_STATE_FILE);
	struct stat st;
	enum atl_err e;

	if (path == NULL)
		return ATL_E_NOMEM;
	if (stat(path, &st) != 0 && errno == ENOENT) {
		free(path);
		b->state = json_pack("{s:i, s:{}, s:{}, s:[]}", "v", 1, "tenants", "models",
				     "revoked_measurements");
		return b->state ? save_state(b) : ATL_E_NOMEM;
	}
	e = atl_json_load_file(path, ATL_KBS_STATE_MAX, &b->state);
	free(path);
	if (e != ATL_OK)
		return e;
	return state_check(b);
}

enum atl_err atl_kbs_open(const char *dir, const struct atl_privkey *audit_signer,
			  struct atl_kbs **out)
{
	struct atl_kbs *b;
	char *apath;
	enum atl_err e;

	if (dir == NULL || *dir == 0 || out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	RET_IF(atl_mkdir_p(dir, 0700));
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return ATL_E_NOMEM;
	b->dir = strdup(dir);
	b->nonces = calloc(ATL_KBS_NONCES_MAX, sizeof(*b->nonces));
	if (b->dir == NULL || b->nonces == NULL) {
		atl_kbs_close(b);
		return ATL_E_NOMEM;
	}
	e = master_load(b);
	if (e == ATL_OK)
		e = state_load(b);
	if (e == ATL_OK) {
		apath = path_in(b, ATL_KBS_AUDIT_FILE);
		e = apath ? atl_audit_open(apath, audit_signer, AUDIT_HEAD_EVERY, &b->audit)
			  : ATL_E_NOMEM;
		free(apath);
	}
	if (e != ATL_OK) {
		atl_kbs_close(b);
		return e;
	}
	*out = b;
	return ATL_OK;
}

void atl_kbs_close(struct atl_kbs *b)
{
	if (b == NULL)
		return;
	if (b->audit) {
		enum atl_err e = atl_audit_sign_head(b->audit);
		if (e != ATL_OK && e != ATL_E_STATE)
			atl_error("signing the final audit head failed: %s", atl_err_name(e));
		atl_audit_close(b->audit);
	}
	atl_secret_free(b->master);
	json_decref(b->state);
	if (b->nonces)
		atl_wipe(b->nonces, ATL_KBS_NONCES_MAX * sizeof(*b->nonces));
	free(b->nonces);
	free(b->dir);
	free(b);
}

/* ---- tenants and models ---- */

enum atl_err atl_kbs_tenant_add(struct atl_kbs *b, const char *tenant, const uint8_t *kek,
				char kek_id_out[ATL_ATM_KEK_ID_MAX + 1])
{
	json_t *tenants, *w = NULL;
	char kek_id[ATL_ATM_KEK_ID_MAX + 1];
	uint8_t *k;
	enum atl_err e;

	if (b == NULL || !id_ok(tenant, ATL_KBS_TENANT_MAX))
		return ATL_E_ARG;
	tenants = json_object_get(b->state, "tenants");
	if (json_object_get(tenants, tenant))
		return ATL_E_EXISTS;
	if (json_object_size(tenants) >= ATL_KBS_TENANTS_MAX)
		return ATL_E_LIMIT;
	snprintf(kek_id, sizeof(kek_id), "%s.k1", tenant);
	k = atl_secret_alloc(ATL_ATM_KEK_LEN);
	if (k == NULL)
		return ATL_E_NOMEM;
	if (kek)
		memcpy(k, kek, ATL_ATM_KEK_LEN);
	e = kek ? ATL_OK : atl_random(k, ATL_ATM_KEK_LEN);
	if (e == ATL_OK)
		e = kek_wrap(b, tenant, kek_id, k, &w);
	atl_secret_free(k);
	if (e == ATL_OK && (json_object_set_new(w, "gen", json_integer(1)) != 0 ||
			    json_object_set_new(w, "kek_created", json_integer(atl_time_now())) != 0))
		e = ATL_E_NOMEM;
	if (e == ATL_OK && json_object_set_new(tenants, tenant, w) != 0) {
		e = ATL_E_NOMEM;
		w = NULL;
	} else if (e == ATL_OK) {
		w = NULL;
		e = save_state(b);
		if (e != ATL_OK)
			json_object_del(tenants, tenant);
	}
	json_decref(w);
	if (e != ATL_OK)
		return e;
	audit_rec(b, 0, "tenant-add", tenant, tenant, kek_id, NULL);
	if (kek_id_out)
		memcpy(kek_id_out, kek_id, sizeof(kek_id));
	return ATL_OK;
}

enum atl_err atl_kbs_model_encrypt(struct atl_kbs *b, const char *tenant, const char *in_path,
				   const char *out_path, uint32_t chunk_size,
				   struct atl_model_info *info_out)
{
	json_t *t;
	uint8_t *kek;
	enum atl_err e;

	if (b == NULL || !id_ok(tenant, ATL_KBS_TENANT_MAX) || in_path == NULL || out_path == NULL)
		return ATL_E_ARG;
	t = json_object_get(json_object_get(b->state, "tenants"), tenant);
	if (t == NULL)
		return ATL_E_NOTFOUND;
	kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	if (kek == NULL)
		return ATL_E_NOMEM;
	e = kek_unwrap(b, tenant, t, kek);
	if (e == ATL_OK)
		e = atl_model_encrypt(in_path, out_path, kek,
				      json_string_value(json_object_get(t, "kek_id")), NULL,
				      chunk_size, info_out);
	atl_secret_free(kek);
	return e;
}

enum atl_err atl_kbs_model_register(struct atl_kbs *b, const char *tenant, const char *atm_path,
				    const json_t *policy, char model_id_out[ATL_KBS_MODEL_ID_HEX])
{
	struct atl_model_info info;
	char mid[ATL_KBS_MODEL_ID_HEX], sha[65], why[160];
	json_t *models, *m;
	uint8_t *kek = NULL;
	uint8_t dek[ATL_ATM_DEK_LEN];
	enum atl_err e;

	if (b == NULL || !id_ok(tenant, ATL_KBS_TENANT_MAX) || atm_path == NULL ||
	    atm_path[0] != '/' || policy == NULL)
		return ATL_E_ARG;
	if (strlen(atm_path) > ATL_KBS_PATH_MAX)
		return ATL_E_LIMIT;
	if (atl_policy_validate(policy, why, sizeof(why)) != ATL_OK) {
		atl_error("model policy refused: %s", why);
		return ATL_E_FORMAT;
	}
	models = json_object_get(b->state, "models");
	if (json_object_size(models) >= ATL_KBS_MODELS_MAX)
		return ATL_E_LIMIT;
	RET_IF(atl_model_inspect(atm_path, &info));
	RET_IF(atl_hex_encode(info.model_id, sizeof(info.model_id), mid, sizeof(mid)));
	if (json_object_get(models, mid))
		return ATL_E_EXISTS;
	kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
	if (kek == NULL)
		return ATL_E_NOMEM;
	e = tenant_kek(b, tenant, info.kek_id, kek);
	if (e == ATL_E_NOTFOUND && json_object_get(json_object_get(b->state, "tenants"), tenant))
		e = ATL_E_AUTH; /* the header names a KEK this tenant does not have */
	if (e == ATL_OK)
		e = atl_kbs_dek_unwrap_file(atm_path, kek, dek, NULL);
	atl_wipe(dek, sizeof(dek));
	atl_secret_free(kek);
	if (e != ATL_OK) {
		audit_rec(b, 0, "register-refused", mid, tenant, atl_err_name(e), NULL);
		return e;
	}
	RET_IF(atl_hex_encode(info.pt_sha256, sizeof(info.pt_sha256), sha, sizeof(sha)));
	m = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:O, s:b}", "tenant", tenant, "kek_id",
		      info.kek_id, "path", atm_path, "chunk_size", (json_int_t)info.chunk_size,
		      "pt_len", (json_int_t)info.pt_len, "pt_sha256", sha, "policy", policy,
		      "revoked", 0);
	if (m == NULL || json_object_set_new(models, mid, m) != 0)
		return ATL_E_NOMEM;
	e = save_state(b);
	if (e != ATL_OK) {
		json_object_del(models, mid);
		return e;
	}
	audit_rec(b, 0, "register", mid, tenant, NULL, NULL);
	if (model_id_out)
		memcpy(model_id_out, mid, sizeof(mid));
	return ATL_OK;
}

enum atl_err atl_kbs_model_allow_workload(struct atl_kbs *b, const char *model_id,
					  const char *workload_id)
{
	json_t *m, *w;
	char why[96];
	enum atl_err e;

	if (b == NULL || !model_id_ok(model_id) || !id_ok(workload_id, ATL_STORE_NAME_MAX))
		return ATL_E_ARG;
	m = json_object_get(json_object_get(b->state, "models"), model_id);
	if (m == NULL)
		return ATL_E_NOTFOUND;
	if (workload_allowed(m, workload_id))
		return ATL_OK;
	w = json_object_get(m, "workloads");
	if (w == NULL) {
		w = json_array();
		if (w == NULL || json_object_set_new(m, "workloads", w) != 0)
			return ATL_E_NOMEM;
	}
	if (json_array_size(w) >= ATL_KBS_MODEL_WORKLOADS_MAX)
		return ATL_E_LIMIT;
	if (json_array_append_new(w, json_string(workload_id)) != 0)
		return ATL_E_NOMEM;
	e = save_state(b);
	if (e != ATL_OK) {
		json_array_remove(w, json_array_size(w) - 1);
		if (json_array_size(w) == 0)
			json_object_del(m, "workloads");
		return e;
	}
	snprintf(why, sizeof(why), "workload=%s", workload_id);
	audit_rec(b, 0, "allow-workload", model_id,
		  json_string_value(json_object_get(m, "tenant")), why, NULL);
	return ATL_OK;
}

enum atl_err atl_kbs_model_revoke(struct atl_kbs *b, const char *model_id)
{
	json_t *m;
	enum atl_err e;

	if (b == NULL || !model_id_ok(model_id))
		return ATL_E_ARG;
	m = json_object_get(json_object_get(b->state, "models"), model_id);
	if (m == NULL)
		return ATL_E_NOTFOUND;
	json_object_set_new(m, "revoked", json_true());
	e = save_state(b);
	if (e != ATL_OK) {
		json_object_set_new(m, "revoked", json_false());
		return e;
	}
	audit_rec(b, 0, "revoke-model", model_id,
		  json_string_value(json_object_get(m, "tenant")), NULL, NULL);
	return ATL_OK;
}

enum atl_err atl_kbs_measurement_revoke(struct atl_kbs *b, const char *meas_hex)
{
	uint8_t raw[ATL_SHA512_LEN];
	char low[2 * ATL_SHA512_LEN + 1];
	size_t n, raw_len = 0;
	json_t *rev;
	enum atl_err e;

	if (b == NULL || meas_hex == NULL)
		return ATL_E_ARG;
	n = strlen(meas_hex);
	if (n == 0 || n > 2 * ATL_SHA512_LEN ||
	    atl_hex_decode(meas_hex, n, raw, sizeof(raw), &raw_len) != ATL_OK)
		return ATL_E_ARG;
	RET_IF(atl_hex_encode(raw, raw_len, low, sizeof(low)));
	rev = json_object_get(b->state, "revoked_measurements");
	for (size_t i = 0; i < json_array_size(rev); i++)
		if (strcmp(json_string_value(json_array_get(rev, i)), low) == 0)
			return ATL_OK;
	if (json_array_size(rev) >= ATL_KBS_REVOKED_MAX)
		return ATL_E_LIMIT;
	if (json_array_append_new(rev, json_string(low)) != 0)
		return ATL_E_NOMEM;
	e = save_state(b);
	if (e != ATL_OK) {
		json_array_remove(rev, json_array_size(rev) - 1);
		return e;
	}
	audit_rec(b, 0, "revoke-measurement", low, NULL, NULL, NULL);
	return ATL_OK;
}

/* ---- nonces ---- */

static void nonces_expire(struct atl_kbs *b, int64_t now)
{
	size_t j = 0;

	for (size_t i = 0; i < b->n_nonces; i++)
		if (b->nonces[i].expires > now)
			b->nonces[j++] = b->nonces[i];
	atl_wipe(b->nonces + j, (b->n_nonces - j) * sizeof(*b->nonces));
	b->n_nonces = j;
}

enum atl_err atl_kbs_nonce_new(struct atl_kbs *b, int64_t now, uint8_t nonce_out[ATL_KBS_NONCE_LEN])
{
	if (b == NULL || nonce_out == NULL)
		return ATL_E_ARG;
	nonces_expire(b, now);
	if (b->n_nonces >= ATL_KBS_NONCES_MAX)
		return ATL_E_BUSY;
	RET_IF(atl_random(nonce_out, ATL_KBS_NONCE_LEN));
	memcpy(b->nonces[b->n_nonces].n, nonce_out, ATL_KBS_NONCE_LEN);
	b->nonces[b->n_nonces].expires = now + ATL_KBS_NONCE_TTL_S;
	b->n_nonces++;
	return ATL_OK;
}

/* Finds and removes the nonce (single use); false when unknown or expired. */
static bool nonce_take(struct atl_kbs *b, const uint8_t *n, size_t len, int64_t now)
{
	bool found = false;

	nonces_expire(b, now);
	if (n == NULL || len != ATL_KBS_NONCE_LEN)
		return false;
	for (size_t i = 0; i < b->n_nonces; i++) {
		if (!found && atl_ct_eq(b->nonces[i].n, n, ATL_KBS_NONCE_LEN)) {
			found = true;
			b->nonces[i] = b->nonces[b->n_nonces - 1];
			atl_wipe(&b->nonces[b->n_nonces - 1], sizeof(*b->nonces));
			b->n_nonces--;
			break;
		}
	}
	return found;
}

/* ---- release ---- */

static bool measurement_revoked(const struct atl_kbs *b, const char *meas)
{
	json_t *rev = json_object_get(b->state, "revoked_measurements");

	for (size_t i = 0; meas && i < json_array_size(rev); i++)
		if (strcasecmp(json_string_value(json_array_get(rev, i)), meas) == 0)
			return true;
	return false;
}

/* The HPKE associated data of a release: the model id (format 1), or model id
 * || 0x00 || workload id (format 2, wid non-NULL). */
static enum atl_err release_aad(const char *mid, const char *wid, uint8_t *aad, size_t cap,
				size_t *len)
{
	size_t ml = strlen(mid), wl = wid != NULL ? strlen(wid) : 0;

	if (ml + 1 + wl > cap)
		return ATL_E_LIMIT;
	memcpy(aad, mid, ml);
	*len = ml;
	if (wid != NULL) {
		aad[ml] = 0;
		memcpy(aad + ml + 1, wid, wl);
		*len = ml + 1 + wl;
	}
	return ATL_OK;
}

static enum atl_err seal_dek(const uint8_t dek[ATL_ATM_DEK_LEN], const uint8_t pub[ATL_X25519_LEN],
			     const char *mid, const char *wid, char **out)
{
	uint8_t enc[ATL_HPKE_ENC_LEN], ct[ATL_ATM_DEK_LEN + ATL_HPKE_TAG_LEN];
	uint8_t aad[ATL_KBS_MODEL_ID_HEX + ATL_STORE_NAME_MAX + 1];
	const char *info = wid != NULL ? ATL_KBS_RELEASE_INFO_WL : ATL_KBS_RELEASE_INFO;
	char *enc_b64 = NULL, *ct_b64 = NULL;
	size_t n = 0, aad_len = 0;
	json_t *j = NULL;
	enum atl_err e;

	e = release_aad(mid, wid, aad, sizeof(aad), &aad_len);
	if (e == ATL_OK)
		e = atl_hpke_seal_single(ATL_HPKE_SUITE_DEFAULT, pub, ATL_X25519_LEN,
					 (const uint8_t *)info, strlen(info), NULL, aad, aad_len,
					 dek, ATL_ATM_DEK_LEN, enc, ct, sizeof(ct), &n);
	if (e == ATL_OK)
		e = atl_b64_encode(enc, sizeof(enc), 0, &enc_b64);
	if (e == ATL_OK)
		e = atl_b64_encode(ct, n, 0, &ct_b64);
	if (e == ATL_OK) {
		j = wid != NULL ? json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 2, "model_id", mid,
					    "workload_id", wid, "enc", enc_b64, "ct", ct_b64)
				: json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "model_id", mid, "enc",
					    enc_b64, "ct", ct_b64);
		*out = j ? atl_json_dump(j) : NULL;
		if (*out == NULL)
			e = ATL_E_NOMEM;
	}
	json_decref(j);
	free(enc_b64);
	free(ct_b64);
	return e;
}

/* atl_kbs_release (wid NULL) and atl_kbs_release_workload. */
static enum atl_err release(struct atl_kbs *b, const char *tenant, const char *model_id,
			    const char *wid, const uint8_t *evidence, size_t evidence_len,
			    const uint8_t *expected_nonce, size_t nonce_len, int64_t now,
			    char **sealed_out)
{
	const char *subject = model_id_ok(model_id) ? model_id : "-";
	const char *who = id_ok(tenant, ATL_KBS_TENANT_MAX) ? tenant : "-";
	const char *reason = NULL, *meas = NULL, *owner;
	char rbuf[256];
	json_t *m = NULL;
	struct atl_ar *ar = NULL;
	struct atl_model_info info;
	uint8_t pub[ATL_X25519_LEN], sha[32];
	uint8_t *kek = NULL, *dek = NULL;
	enum atl_err e = ATL_OK, e_audit = ATL_OK;

	if (sealed_out)
		*sealed_out = NULL;
	if (b == NULL || sealed_out == NULL || evidence == NULL)
		return ATL_E_ARG;
	b->last_reason[0] = '\0';
	if (!nonce_take(b, expected_nonce, nonce_len, now)) {
		e = ATL_E_REPLAY;
		reason = "nonce unknown, expired or already used";
	} else if (!model_id_ok(model_id) || !id_ok(tenant, ATL_KBS_TENANT_MAX) ||
		   (wid != NULL && !id_ok(wid, ATL_STORE_NAME_MAX))) {
		e = ATL_E_ARG;
		reason = "bad model id, tenant or workload id";
	} else if ((m = json_object_get(json_object_get(b->state, "models"), model_id)) == NULL) {
		e = ATL_E_NOTFOUND;
		reason = "unknown model";
	} else if (strcmp((owner = json_string_value(json_object_get(m, "tenant"))), tenant) != 0) {
		e = ATL_E_DENIED;
		reason = "model belongs to another tenant";
	} else if (json_is_true(json_object_get(m, "revoked"))) {
		e = ATL_E_POLICY;
		reason = "model revoked";
	} else if (wid == NULL && json_array_size(json_object_get(m, "workloads")) > 0) {
		e = ATL_E_DENIED;
		reason = "the model is bound to workloads: the request names none";
	} else if (wid != NULL && !workload_allowed(m, wid)) {
		e = ATL_E_DENIED;
		snprintf(rbuf, sizeof(rbuf), "workload %s is not allowed for this model", wid);
		reason = rbuf;
	}
	if (e == ATL_OK) {
		e = atl_verify_evidence(evidence, evidence_len, json_object_get(m, "policy"),
					expected_nonce, nonce_len, now, NULL, &ar);
		if (e != ATL_OK) {
			const char *f = ar ? atl_ar_first_failure(ar) : NULL;
			snprintf(rbuf, sizeof(rbuf), "evidence refused (%s): %s", atl_err_name(e),
				 f ? f : "-");
			reason = rbuf;
		}
	}
	if (e == ATL_OK) {
		meas = json_string_value(atl_ar_get(ar, "measurement"));
		if (measurement_revoked(b, meas)) {
			e = ATL_E_POLICY;
			reason = "measurement revoked";
		} else if (atl_verify_enclave_key(ar, pub) != ATL_OK) {
			e = ATL_E_POLICY;
			reason = "no attested enclave key";
		}
	}
	if (e == ATL_OK) {
		/* The KEK the header names (current, or pending during a rotation),
		 * among this tenant's only; the unwrap authenticates the header. */
		const char *path = json_string_value(json_object_get(m, "path"));
		kek = atl_secret_alloc(ATL_ATM_KEK_LEN);
		dek = atl_secret_alloc(ATL_ATM_DEK_LEN);
		e = kek && dek ? atl_model_inspect(path, &info) : ATL_E_NOMEM;
		if (e == ATL_OK)
			e = tenant_kek(b, tenant, info.kek_id, kek);
		if (e == ATL_E_NOTFOUND)
			e = ATL_E_AUTH;
		if (e == ATL_OK)
			e = atl_kbs_dek_unwrap_file(path, kek, dek, &info);
		if (e == ATL_OK) {
			char mid2[ATL_KBS_MODEL_ID_HEX];
			if (atl_hex_encode(info.model_id, sizeof(info.model_id), mid2,
					   sizeof(mid2)) != ATL_OK ||
			    strcmp(mid2, model_id) != 0 ||
			    atl_json_get_hex(m, "pt_sha256", sha, sizeof(sha)) != ATL_OK ||
			    !atl_ct_eq(sha, info.pt_sha256, sizeof(sha)))
				e = ATL_E_AUTH;
		}
		if (e == ATL_OK)
			e = seal_dek(dek, pub, model_id, wid, sealed_out);
		if (e != ATL_OK) {
			snprintf(rbuf, sizeof(rbuf), "key unwrap or seal failed: %s",
				 atl_err_name(e));
			reason = rbuf;
		}
		atl_secret_free(kek);
		atl_secret_free(dek);
	}
	if (e == ATL_OK) {
		char ok[160];
		snprintf(ok, sizeof(ok), "measurement %.96s%s%s", meas ? meas : "-",
			 wid ? " workload=" : "", wid ? wid : "");
		audit_rec(b, now, "release", subject, who, ok, &e_audit);
		if (e_audit != ATL_OK) {
			free(*sealed_out);
			*sealed_out = NULL;
			e = ATL_E_IO;
		}
	} else {
		audit_rec(b, now, "refuse", subject, who, reason, NULL);
		snprintf(b->last_reason, sizeof(b->last_reason), "%s",
			 reason ? reason : atl_err_name(e));
		for (char *p = b->last_reason; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		atl_warn("release of %s to tenant %s refused: %s", subject, who,
			 reason ? reason : atl_err_name(e));
	}
	atl_ar_free(ar);
	return e;
}

enum atl_err atl_kbs_release(struct atl_kbs *b, const char *tenant, const char *model_id,
			     const uint8_t *evidence, size_t evidence_len,
			     const uint8_t *expected_nonce, size_t nonce_len, int64_t now,
			     char **sealed_out)
{
	return release(b, tenant, model_id, NULL, evidence, evidence_len, expected_nonce,
		       nonce_len, now, sealed_out);
}

enum atl_err atl_kbs_release_workload(struct atl_kbs *b, const char *tenant,
				      const char *model_id, const char *workload_id,
				      const uint8_t *evidence, size_t evidence_len,
				      const uint8_t *expected_nonce, size_t nonce_len, int64_t now,
				      char **sealed_out)
{
	if (sealed_out)
		*sealed_out = NULL;
	if (workload_id == NULL)
		return ATL_E_ARG;
	return release(b, tenant, model_id, workload_id, evidence, evidence_len, expected_nonce,
		       nonce_len, now, sealed_out);
}

/* ---- rotation ---- */

/* Brings every model of tenant under the pending KEK t.pending (rewrapping
 * those still under the current KEK, checking each unwraps under the pending
 * one), then makes the pending KEK the current one and drops the old. On a
 * failure both KEKs stay in the state (a release picks the KEK its model's
 * header names) and the next atl_kbs_rotate resumes here. */
static enum atl_err rotation_finish(struct atl_kbs *b, const char *tenant, json_t *t,
				    int64_t now, char *why, size_t why_cap)
{
	json_t *models = json_object_get(b->state, "models"), *m;
	json_t *pend = json_object_get(t, "pending");
	const char *mid, *cur_id = json_string_value(json_object_get(t, "kek_id"));
	const char *new_id = json_string_value(json_object_get(pend, "kek_id"));
	uint8_t *oldk = atl_secret_alloc(ATL_ATM_KEK_LEN), *newk = atl_secret_alloc(ATL_ATM_KEK_LEN);
	uint8_t dek[ATL_ATM_DEK_LEN];
	int64_t gen = 0;
	enum atl_err e = oldk && newk ? ATL_OK : ATL_E_NOMEM;

	if (e == ATL_OK)
		e = kek_unwrap(b, tenant, t, oldk);
	if (e == ATL_OK)
		e = kek_unwrap(b, tenant, pend, newk);
	if (e == ATL_OK)
		e = atl_json_get_int(t, "gen", &gen);
	if (e == ATL_OK) {
		json_object_foreach(models, mid, m) {
			const char *path = json_string_value(json_object_get(m, "path"));
			struct atl_model_info info;
			if (strcmp(json_string_value(json_object_get(m, "tenant")), tenant) != 0)
				continue;
			e = atl_model_inspect(path, &info);
			if (e == ATL_OK && strcmp(info.kek_id, cur_id) == 0)
				e = atl_model_rewrap(path, oldk, newk, new_id);
			else if (e == ATL_OK && strcmp(info.kek_id, new_id) != 0)
				e = ATL_E_AUTH; /* a KEK this tenant does not have */
			if (e == ATL_OK)
				e = atl_kbs_dek_unwrap_file(path, newk, dek, NULL);
			atl_wipe(dek, sizeof(dek));
			if (e != ATL_OK) {
				snprintf(why, why_cap, "model %.32s: %s", mid, atl_err_name(e));
				break;
			}
		}
	}
	atl_secret_free(oldk);
	atl_secret_free(newk);
	if (e != ATL_OK)
		return e;
	/* Every model verified under the new KEK: drop the old one. */
	json_object_foreach(models, mid, m) {
		if (strcmp(json_string_value(json_object_get(m, "tenant")), tenant) == 0)
			json_object_set_new(m, "kek_id", json_string(new_id));
	}
	json_object_set(t, "nonce", json_object_get(pend, "nonce"));
	json_object_set(t, "wrapped", json_object_get(pend, "wrapped"));
	json_object_set(t, "kek_id", json_object_get(pend, "kek_id"));
	json_object_set_new(t, "gen", json_integer(gen + 1));
	json_object_set_new(t, "kek_created", json_integer(now));
	json_object_del(t, "pending");
	return save_state(b);
}

static enum atl_err rotate_at(struct atl_kbs *b, const char *tenant, int64_t now,
			      const char *note, char new_kek_id_out[ATL_ATM_KEK_ID_MAX + 1])
{
	json_t *t, *pend = NULL;
	char new_id[ATL_ATM_KEK_ID_MAX + 1], why[96] = "";
	int64_t gen = 0;
	uint8_t *newk;
	enum atl_err e = ATL_OK;

	if (b == NULL || !id_ok(tenant, ATL_KBS_TENANT_MAX))
		return ATL_E_ARG;
	t = json_object_get(json_object_get(b->state, "tenants"), tenant);
	if (t == NULL)
		return ATL_E_NOTFOUND;
	if (json_object_get(t, "pending") == NULL) {
		RET_IF(atl_json_get_int(t, "gen", &gen));
		snprintf(new_id, sizeof(new_id), "%s.k%lld", tenant, (long long)gen + 1);
		newk = atl_secret_alloc(ATL_ATM_KEK_LEN);
		e = newk ? atl_random(newk, ATL_ATM_KEK_LEN) : ATL_E_NOMEM;
		if (e == ATL_OK)
			e = kek_wrap(b, tenant, new_id, newk, &pend);
		atl_secret_free(newk);
		/* The new KEK is on disk before any model names it. */
		if (e == ATL_OK && json_object_set_new(t, "pending", pend) != 0)
			e = ATL_E_NOMEM;
		if (e == ATL_OK) {
			e = save_state(b);
			if (e != ATL_OK)
				json_object_del(t, "pending");
		}
		if (e != ATL_OK)
			return e;
	} else {
		atl_warn("tenant %s: resuming an unfinished rotation", tenant);
	}
	snprintf(new_id, sizeof(new_id), "%s",
		 json_string_value(json_object_get(json_object_get(t, "pending"), "kek_id")));
	e = rotation_finish(b, tenant, t, now, why, sizeof(why));
	if (e != ATL_OK) {
		atl_error("rotation of %s to %s unfinished (%s); both KEKs kept", tenant, new_id, why);
		audit_rec(b, 0, "rotate-failed", tenant, tenant, why[0] ? why : atl_err_name(e), NULL);
		return e;
	}
	if (note != NULL) {
		char r[ATL_ATM_KEK_ID_MAX + 96];
		snprintf(r, sizeof(r), "%s %s", new_id, note);
		audit_rec(b, 0, "rotate", tenant, tenant, r, NULL);
	} else {
		audit_rec(b, 0, "rotate", tenant, tenant, new_id, NULL);
	}
	if (new_kek_id_out)
		memcpy(new_kek_id_out, new_id, sizeof(new_id));
	return ATL_OK;
}

enum atl_err atl_kbs_rotate(struct atl_kbs *b, const char *tenant,
			    char new_kek_id_out[ATL_ATM_KEK_ID_MAX + 1])
{
	return rotate_at(b, tenant, atl_time_now(), NULL, new_kek_id_out);
}

enum atl_err atl_kbs_rotate_due(struct atl_kbs *b, int64_t now, int64_t max_age_s,
				unsigned *n_rotated)
{
	json_t *tenants, *t;
	const char *name;
	enum atl_err first = ATL_OK;
	bool stamped = false;

	if (n_rotated)
		*n_rotated = 0;
	if (b == NULL || max_age_s < 1)
		return ATL_E_ARG;
	tenants = json_object_get(b->state, "tenants");
	json_object_foreach(tenants, name, t) {
		int64_t created = 0;
		char note[64];
		enum atl_err e;
		if (atl_json_get_int(t, "kek_created", &created) != ATL_OK) {
			/* a state from before creation times: the age starts now */
			if (json_object_set_new(t, "kek_created", json_integer(now)) != 0)
				return ATL_E_NOMEM;
			stamped = true;
			continue;
		}
		if (json_object_get(t, "pending") == NULL && now - created < max_age_s)
			continue;
		snprintf(note, sizeof(note), "scheduled (KEK age %lld s)",
			 (long long)(now - created));
		e = rotate_at(b, name, now, note, NULL);
		if (e == ATL_OK) {
			atl_info("tenant %s: KEK rotated on schedule", name);
			if (n_rotated)
				(*n_rotated)++;
		} else if (first == ATL_OK) {
			first = e;
		}
	}
	if (stamped) {
		enum atl_err e = save_state(b);
		if (first == ATL_OK)
			first = e;
	}
	return first;
}

/* ---- enclave side ---- */

/* Opens a sealed key of format 1 (ewid NULL) or 2 (for ewid). */
static enum atl_err sealed_open(const char *sealed, size_t len, const struct atl_kp *kp,
				const char *emid, const char *ewid, uint8_t dek_out[ATL_ATM_DEK_LEN])
{
	static const char *const keys1[] = {"v", "model_id", "enc", "ct", NULL};
	static const char *const keys2[] = {"v", "model_id", "workload_id", "enc", "ct", NULL};
	const char *info = ewid != NULL ? ATL_KBS_RELEASE_INFO_WL : ATL_KBS_RELEASE_INFO;
	uint8_t aad[ATL_KBS_MODEL_ID_HEX + ATL_STORE_NAME_MAX + 1];
	json_t *j = NULL;
	const char *mid = NULL, *wid = NULL;
	int64_t v = 0;
	uint8_t *enc = NULL, *ct = NULL;
	size_t enc_len = 0, ct_len = 0, n = 0, aad_len = 0;
	enum atl_err e;

	if (sealed == NULL || kp == NULL || emid == NULL || dek_out == NULL)
		return ATL_E_ARG;
	atl_wipe(dek_out, ATL_ATM_DEK_LEN);
	if (ewid != NULL && !id_ok(ewid, ATL_STORE_NAME_MAX))
		return ATL_E_ARG;
	RET_IF(atl_json_parse(sealed, len, &j));
	e = atl_json_check_keys(j, ewid != NULL ? keys2 : keys1, NULL);
	if (e == ATL_OK && (atl_json_get_int(j, "v", &v) != ATL_OK || v != (ewid != NULL ? 2 : 1) ||
			    atl_json_get_str(j, "model_id", &mid) != ATL_OK ||
			    (ewid != NULL && atl_json_get_str(j, "workload_id", &wid) != ATL_OK)))
		e = ATL_E_FORMAT;
	if (e == ATL_OK && (strcmp(mid, emid) != 0 || (ewid != NULL && strcmp(wid, ewid) != 0)))
		e = ATL_E_AUTH;
	if (e == ATL_OK)
		e = release_aad(emid, ewid, aad, sizeof(aad), &aad_len);
	if (e == ATL_OK)
		e = atl_json_get_b64(j, "enc", ATL_HPKE_ENC_LEN, &enc, &enc_len);
	if (e == ATL_OK)
		e = atl_json_get_b64(j, "ct", ATL_ATM_DEK_LEN + ATL_HPKE_TAG_LEN, &ct, &ct_len);
	if (e == ATL_OK && (enc_len != ATL_HPKE_ENC_LEN || ct_len != ATL_ATM_DEK_LEN + ATL_HPKE_TAG_LEN))
		e = ATL_E_FORMAT;
	if (e == ATL_OK)
		e = atl_hpke_open_single(ATL_HPKE_SUITE_DEFAULT, enc, enc_len, kp,
					 (const uint8_t *)info, strlen(info), NULL, aad, aad_len,
					 ct, ct_len, dek_out, ATL_ATM_DEK_LEN, &n);
	if (e == ATL_OK && n != ATL_ATM_DEK_LEN)
		e = ATL_E_INTERNAL;
	if (e != ATL_OK)
		atl_wipe(dek_out, ATL_ATM_DEK_LEN);
	json_decref(j);
	free(enc);
	free(ct);
	return e;
}

enum atl_err atl_kbs_sealed_open(const char *sealed, size_t len, const struct atl_kp *kp,
				 const char *expect_model_id, uint8_t dek_out[ATL_ATM_DEK_LEN])
{
	return sealed_open(sealed, len, kp, expect_model_id, NULL, dek_out);
}

enum atl_err atl_kbs_sealed_open_workload(const char *sealed, size_t len, const struct atl_kp *kp,
					  const char *expect_model_id,
					  const char *expect_workload_id,
					  uint8_t dek_out[ATL_ATM_DEK_LEN])
{
	if (expect_workload_id == NULL) {
		if (dek_out != NULL)
			atl_wipe(dek_out, ATL_ATM_DEK_LEN);
		return ATL_E_ARG;
	}
	return sealed_open(sealed, len, kp, expect_model_id, expect_workload_id, dek_out);
}

/* ---- service hooks (src/kbsd/) ---- */

const char *atl_kbs_last_reason(const struct atl_kbs *b)
{
	return b != NULL ? b->last_reason : "";
}

enum atl_err atl_kbs_audit_note(struct atl_kbs *b, int64_t now, const char *action,
				const char *subject, const char *tenant, const char *reason)
{
	enum atl_err e = ATL_OK;

	if (b == NULL || action == NULL || *action == 0)
		return ATL_E_ARG;
	audit_rec(b, now, action, subject, id_ok(tenant, ATL_KBS_TENANT_MAX) ? tenant : "-",
		  reason, &e);
	return e;
}

enum atl_err atl_kbs_tenant_quota_set(struct atl_kbs *b, const char *tenant, uint32_t n,
				      uint32_t window_s)
{
	json_t *t, *old, *q = NULL;
	char r[64];
	enum atl_err e;

	if (b == NULL || !id_ok(tenant, ATL_KBS_TENANT_MAX) ||
	    (n > 0 && (window_s < 1 || window_s > ATL_KBS_QUOTA_WINDOW_MAX_S)))
		return ATL_E_ARG;
	t = json_object_get(json_object_get(b->state, "tenants"), tenant);
	if (t == NULL)
		return ATL_E_NOTFOUND;
	old = json_incref(json_object_get(t, "quota"));
	if (n == 0) {
		json_object_del(t, "quota");
	} else {
		q = json_pack("{s:I, s:I}", "n", (json_int_t)n, "window_s", (json_int_t)window_s);
		if (q == NULL || json_object_set_new(t, "quota", q) != 0) {
			json_decref(old);
			return ATL_E_NOMEM;
		}
	}
	e = save_state(b);
	if (e != ATL_OK) {
		if (old)
			json_object_set(t, "quota", old);
		else
			json_object_del(t, "quota");
		json_decref(old);
		return e;
	}
	json_decref(old);
	if (n == 0)
		snprintf(r, sizeof(r), "none");
	else
		snprintf(r, sizeof(r), "%u/%us", n, window_s);
	audit_rec(b, 0, "quota-set", tenant, tenant, r, NULL);
	return ATL_OK;
}

enum atl_err atl_kbs_tenant_quota_get(const struct atl_kbs *b, const char *tenant, uint32_t *n,
				      uint32_t *window_s)
{
	json_t *t, *q;
	int64_t qn = 0, qw = 0;

	if (n)
		*n = 0;
	if (window_s)
		*window_s = 0;
	if (b == NULL || !id_ok(tenant, ATL_KBS_TENANT_MAX))
		return ATL_E_ARG;
	t = json_object_get(json_object_get(b->state, "tenants"), tenant);
	if (t == NULL)
		return ATL_E_NOTFOUND;
	q = json_object_get(t, "quota");
	if (q == NULL)
		return ATL_OK;
	RET_IF(atl_json_get_int(q, "n", &qn));
	RET_IF(atl_json_get_int(q, "window_s", &qw));
	if (n)
		*n = (uint32_t)qn;
	if (window_s)
		*window_s = (uint32_t)qw;
	return ATL_OK;
}

json_t *atl_kbs_status(const struct atl_kbs *b)
{
	json_t *out, *tl, *ml, *t, *m;
	const char *k;

	if (b == NULL)
		return NULL;
	out = json_pack("{s:o, s:o, s:O}", "tenants", json_object(), "models", json_object(),
			"revoked_measurements",
			json_object_get(b->state, "revoked_measurements"));
	if (out == NULL)
		return NULL;
	tl = json_object_get(out, "tenants");
	ml = json_object_get(out, "models");
	json_object_foreach(json_object_get(b->state, "tenants"), k, t) {
		json_t *e = json_pack("{s:O, s:O}", "kek_id", json_object_get(t, "kek_id"), "gen",
				      json_object_get(t, "gen"));
		if (e == NULL || json_object_set_new(tl, k, e) != 0)
			goto fail;
		if (json_object_get(t, "kek_created"))
			json_object_set(e, "kek_created", json_object_get(t, "kek_created"));
		if (json_object_get(t, "quota"))
			json_object_set_new(e, "quota", json_deep_copy(json_object_get(t, "quota")));
		if (json_object_get(t, "pending"))
			json_object_set(e, "pending_kek_id",
					json_object_get(json_object_get(t, "pending"), "kek_id"));
	}
	json_object_foreach(json_object_get(b->state, "models"), k, m) {
		json_t *e = json_pack("{s:O, s:O, s:O, s:O, s:O}", "tenant",
				      json_object_get(m, "tenant"), "kek_id",
				      json_object_get(m, "kek_id"), "path", json_object_get(m, "path"),
				      "pt_len", json_object_get(m, "pt_len"), "revoked",
				      json_object_get(m, "revoked"));
		if (e == NULL || json_object_set_new(ml, k, e) != 0)
			goto fail;
		if (json_object_get(m, "workloads"))
			json_object_set_new(e, "workloads",
					    json_deep_copy(json_object_get(m, "workloads")));
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}
