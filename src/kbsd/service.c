/* The key broker's HTTP service (kbsd.h; docs/internals/kbsd.md).
 *
 * Flow of one key release: /auth opens a session (a slot in a fixed table)
 * holding a fresh broker nonce and answers the nonce and a session cookie;
 * /attest stores the enclave's evidence (size-limited) in the session;
 * /resource takes the session out of the table (whatever happens next, it is
 * used up), checks the tenant's release quota and calls atl_kbs_release with
 * the session's evidence and nonce. The broker handle, the session table and
 * the quota counters are guarded by one mutex: the HTTP server runs a thread
 * per connection, the broker is not thread-safe.
 *
 * Nothing secret is logged: no session ids, nonces, evidence or keys. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATL_LOG_MODULE "kbsd"

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/kbsd.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#define SID_LEN (ATL_KBSD_SID_HEX / 2u) /* random bytes of a session id */
#define SID_HEX ATL_KBSD_SID_HEX
#define VERSION_MAX 16u              /* bytes of the protocol version string */
#define RESOURCE_BODY_MAX 16u        /* GET /resource carries no body */
#define QUOTA_LINE_MAX (64u * 1024u) /* longer audit lines are not release records */

struct session {
	bool live;
	bool attested;
	char id[SID_HEX + 1];
	uint8_t nonce[ATL_KBS_NONCE_LEN];
	int64_t expires;
	char tenant[ATL_KBS_TENANT_MAX + 1];   /* "" when /auth named none */
	char model_id[ATL_KBS_MODEL_ID_HEX];   /* "" when /auth named none */
	uint8_t *evidence;                     /* malloc'd, wiped on free */
	size_t ev_len;
	uint8_t pub[ATL_X25519_LEN];           /* tee-pubkey, informational */
	char remote[64];                       /* client address that opened it */
};

struct quota_ctr {
	char tenant[ATL_KBS_TENANT_MAX + 1];
	int64_t window_start;
	uint32_t count;
};

struct atl_kbsd {
	pthread_mutex_t mu;
	struct atl_kbs *b;
	struct atl_http_server *srv;
	struct session *sessions;  /* ATL_KBSD_SESSIONS_MAX */
	struct quota_ctr *quota;   /* ATL_KBS_TENANTS_MAX */
	size_t n_quota;
	uint32_t quota_n, quota_window_s;
	int64_t rotate_after_s;
	unsigned rotate_check_s;
	int64_t (*clock)(void *);
	void *clock_ctx;
	/* rotation thread */
	pthread_t rot;
	bool rot_started;
	bool stopping;
	pthread_mutex_t rot_mu;
	pthread_cond_t rot_cv;
	/* admin API */
	bool admin;
	uint8_t admin_hash[ATL_KBSD_ADMIN_HASH_LEN]; /* SHA-256 of the admin token */
};

static int64_t now_of(const struct atl_kbsd *d)
{
	return d->clock ? d->clock(d->clock_ctx) : atl_time_now();
}

/* ---- identifiers ---- */

/* A workload id: 1..ATL_STORE_NAME_MAX bytes of [A-Za-z0-9._-]. */
static bool workload_ok(const char *s)
{
	size_t n = s ? strnlen(s, ATL_STORE_NAME_MAX + 1) : 0;

	return n > 0 && n <= ATL_STORE_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool printable_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* ---- sessions (caller holds d->mu) ---- */

static void session_clear(struct session *s)
{
	if (s->evidence) {
		atl_wipe(s->evidence, s->ev_len);
		free(s->evidence);
	}
	atl_wipe(s, sizeof(*s));
}

static void sessions_expire(struct atl_kbsd *d, int64_t now)
{
	for (size_t i = 0; i < ATL_KBSD_SESSIONS_MAX; i++)
		if (d->sessions[i].live && d->sessions[i].expires <= now)
			session_clear(&d->sessions[i]);
}

bool atl_kbsd_cookie_sid(const char *hdr, char sid[ATL_KBSD_SID_HEX + 1])
{
	static const char name[] = ATL_KBSD_COOKIE "=";
	const char *p = hdr;

	if (hdr == NULL)
		return false;
	while (*p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, sizeof(name) - 1) == 0) {
			const char *v = p + sizeof(name) - 1;
			size_t n = 0;
			while (n <= SID_HEX && v[n] != '\0' && v[n] != ';' && v[n] != ' ')
				n++;
			if (n != SID_HEX)
				return false;
			for (size_t i = 0; i < n; i++)
				if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
					return false;
			memcpy(sid, v, SID_HEX);
			sid[SID_HEX] = '\0';
			return true;
		}
		while (*p && *p != ';')
			p++;
	}
	return false;
}

/* The live, unexpired session of the request's cookie, or NULL. */
static struct session *session_of(struct atl_kbsd *d, const struct atl_http_req *req, int64_t now)
{
	char sid[SID_HEX + 1];
	struct session *found = NULL;

	if (!atl_kbsd_cookie_sid(atl_http_req_header(req, "Cookie"), sid))
		return NULL;
	sessions_expire(d, now);
	for (size_t i = 0; i < ATL_KBSD_SESSIONS_MAX; i++) {
		struct session *s = &d->sessions[i];
		if (s->live && atl_ct_eq(s->id, sid, SID_HEX))
			found = s;
	}
	atl_wipe(sid, sizeof(sid));
	return found;
}

/* ---- quotas (caller holds d->mu) ---- */

static void quota_of(struct atl_kbsd *d, const char *tenant, uint32_t *n, uint32_t *w)
{
	*n = 0;
	*w = 0;
	if (atl_kbs_tenant_quota_get(d->b, tenant, n, w) != ATL_OK)
		return; /* unknown tenant: the release refuses it */
	if (*n == 0) {
		*n = d->quota_n;
		*w = d->quota_window_s;
	}
}

static struct quota_ctr *quota_ctr(struct atl_kbsd *d, const char *tenant, bool create)
{
	for (size_t i = 0; i < d->n_quota; i++)
		if (strcmp(d->quota[i].tenant, tenant) == 0)
			return &d->quota[i];
	if (!create || d->n_quota >= ATL_KBS_TENANTS_MAX)
		return NULL;
	snprintf(d->quota[d->n_quota].tenant, sizeof(d->quota[0].tenant), "%s", tenant);
	return &d->quota[d->n_quota++];
}

/* True when one more release for tenant fits its quota now. */
static bool quota_allows(struct atl_kbsd *d, const char *tenant, int64_t now)
{
	uint32_t n, w;
	struct quota_ctr *c;

	quota_of(d, tenant, &n, &w);
	if (n == 0)
		return true;
	c = quota_ctr(d, tenant, false);
	if (c == NULL || now - c->window_start >= (int64_t)w || now < c->window_start)
		return true;
	return c->count < n;
}

static void quota_count(struct atl_kbsd *d, const char *tenant, int64_t now)
{
	uint32_t n, w;
	struct quota_ctr *c;

	quota_of(d, tenant, &n, &w);
	if (n == 0)
		return;
	c = quota_ctr(d, tenant, true);
	if (c == NULL)
		return;
	if (c->count == 0 || now - c->window_start >= (int64_t)w || now < c->window_start) {
		c->window_start = now;
		c->count = 0;
	}
	c->count++;
}

/* Rebuilds the quota counters from the audit log's release records (the
 * chain was verified by atl_kbs_open), so a restart does not reset them:
 * every "release" record is counted again, in order, against the tenant's
 * quota as it is now. Lines that are not release records are skipped. */
static void quota_restore(struct atl_kbsd *d, const char *dir)
{
	static const char needle[] = "\"action\":\"release\"";
	size_t n = strlen(dir) + sizeof(ATL_KBS_AUDIT_FILE) + 2, cap = 0;
	char *path = malloc(n), *line = NULL;
	unsigned long counted = 0;
	ssize_t len;
	FILE *f;

	if (path == NULL)
		return;
	snprintf(path, n, "%s/%s", dir, ATL_KBS_AUDIT_FILE);
	f = fopen(path, "re");
	free(path);
	if (f == NULL)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *r = NULL;
		const char *action = NULL, *detail = NULL, *actor = NULL;
		char tenant[ATL_KBS_TENANT_MAX + 1];
		size_t tl;

		if ((size_t)len > QUOTA_LINE_MAX || strstr(line, needle) == NULL ||
		    atl_json_parse(line, (size_t)len, &r) != ATL_OK)
			continue;
		if (atl_json_get_str(r, "action", &action) == ATL_OK &&
		    strcmp(action, "release") == 0 &&
		    atl_json_get_str(r, "actor", &actor) == ATL_OK && strcmp(actor, "kbs") == 0 &&
		    atl_json_get_str(r, "detail", &detail) == ATL_OK &&
		    strncmp(detail, "tenant=", 7) == 0 &&
		    json_is_integer(json_object_get(r, "time"))) {
			tl = strcspn(detail + 7, " ");
			if (tl >= 1 && tl <= ATL_KBS_TENANT_MAX) {
				memcpy(tenant, detail + 7, tl);
				tenant[tl] = '\0';
				if (atl_kbs_tenant_valid(tenant)) {
					quota_count(d, tenant,
						    (int64_t)json_integer_value(
							    json_object_get(r, "time")));
					counted++;
				}
			}
		}
		json_decref(r);
	}
	free(line);
	fclose(f);
	if (counted > 0)
		atl_info("quota counters rebuilt from %lu release record(s) of the audit log",
			 counted);
}

/* ---- handlers ---- */

static void h_auth(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"version", "tee", "extra-params", NULL};
	static const char *const xkeys[] = {"tenant", "model_id", NULL};
	struct atl_kbsd *d = ctx;
	json_t *body = NULL, *x, *ans = NULL;
	const char *version = NULL, *tee = NULL, *tenant = NULL, *mid = NULL;
	struct session *s = NULL;
	uint8_t sid[SID_LEN];
	char *nb64 = NULL;
	unsigned per_ip = 0;
	int64_t now;
	enum atl_err e;

	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	x = json_object_get(body, "extra-params");
	if (atl_json_get_str(body, "version", &version) != ATL_OK ||
	    !printable_ok(version, VERSION_MAX) || strncmp(version, "0.", 2) != 0) {
		atl_http_resp_error(resp, 400, "bad_request", "'version' must be a 0.x version");
		goto out;
	}
	if (atl_json_get_str(body, "tee", &tee) != ATL_OK || !printable_ok(tee, ATL_KBSD_TEE_MAX)) {
		atl_http_resp_error(resp, 400, "bad_request", "'tee' must name a TEE kind");
		goto out;
	}
	if (json_is_object(x)) {
		if (atl_json_check_keys(x, xkeys, NULL) != ATL_OK ||
		    (json_object_get(x, "tenant") &&
		     (atl_json_get_str(x, "tenant", &tenant) != ATL_OK || !atl_kbs_tenant_valid(tenant))) ||
		    (json_object_get(x, "model_id") &&
		     (atl_json_get_str(x, "model_id", &mid) != ATL_OK || !atl_kbs_model_id_valid(mid)))) {
			atl_http_resp_error(resp, 400, "bad_request",
					    "'extra-params' takes a tenant id and a model id "
					    "(32 lowercase hex digits)");
			goto out;
		}
	} else if (x != NULL && !json_is_string(x)) {
		atl_http_resp_error(resp, 400, "bad_request", "'extra-params' must be an object");
		goto out;
	}
	pthread_mutex_lock(&d->mu);
	now = now_of(d);
	sessions_expire(d, now);
	for (size_t i = 0; i < ATL_KBSD_SESSIONS_MAX; i++) {
		if (!d->sessions[i].live && s == NULL)
			s = &d->sessions[i];
		else if (d->sessions[i].live && strcmp(d->sessions[i].remote, req->remote) == 0)
			per_ip++;
	}
	if (per_ip >= ATL_KBSD_SESSIONS_PER_IP_MAX) {
		pthread_mutex_unlock(&d->mu);
		atl_warn("client %s has %u open sessions: /auth refused", req->remote, per_ip);
		atl_http_resp_error(resp, 503, "unavailable",
				    "too many open sessions from this address, retry later");
		goto out;
	}
	if (s == NULL) {
		pthread_mutex_unlock(&d->mu);
		atl_warn("all %u sessions in use: /auth refused", ATL_KBSD_SESSIONS_MAX);
		atl_http_resp_error(resp, 503, "unavailable", "too many open sessions, retry later");
		goto out;
	}
	e = atl_kbs_nonce_new(d->b, now, s->nonce);
	if (e == ATL_OK)
		e = atl_random(sid, sizeof(sid));
	if (e == ATL_OK)
		e = atl_hex_encode(sid, sizeof(sid), s->id, sizeof(s->id));
	if (e == ATL_OK)
		e = atl_b64_encode(s->nonce, sizeof(s->nonce), ATL_B64_STD, &nb64);
	if (e == ATL_OK) {
		s->live = true;
		s->expires = now + ATL_KBS_NONCE_TTL_S;
		snprintf(s->tenant, sizeof(s->tenant), "%s", tenant ? tenant : "");
		snprintf(s->model_id, sizeof(s->model_id), "%s", mid ? mid : "");
		snprintf(s->remote, sizeof(s->remote), "%s", req->remote);
		snprintf(resp->set_cookie, sizeof(resp->set_cookie),
			 ATL_KBSD_COOKIE "=%s; Path=/kbs; HttpOnly; SameSite=Strict", s->id);
	} else {
		atl_wipe(s, sizeof(*s));
	}
	pthread_mutex_unlock(&d->mu);
	atl_wipe(sid, sizeof(sid));
	if (e != ATL_OK) {
		if (e == ATL_E_BUSY)
			atl_http_resp_error(resp, 503, "unavailable", "too many outstanding nonces");
		else
			atl_http_resp_error(resp, 500, "internal", "cannot open a session");
		goto out;
	}
	ans = json_pack("{s:s, s:s}", "nonce", nb64, "extra-params", "");
	if (ans == NULL)
		atl_http_resp_error(resp, 500, "internal", "out of memory");
	else
		atl_http_resp_json(resp, 200, ans);
out:
	free(nb64);
	json_decref(ans);
	json_decref(body);
}

static void h_attest(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"tee-pubkey", "tee-evidence", NULL};
	static const char *const pkeys[] = {"kty", "crv", "alg", "x", NULL};
	struct atl_kbsd *d = ctx;
	json_t *body = NULL, *pk, *ans = NULL;
	const char *kty = NULL, *crv = NULL, *alg = NULL, *x = NULL, *ev = NULL;
	uint8_t *pub = NULL, *copy = NULL;
	size_t pub_len = 0, ev_len;
	struct session *s;

	if (atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	pk = json_object_get(body, "tee-pubkey");
	if (!json_is_object(pk) || atl_json_check_keys(pk, pkeys, NULL) != ATL_OK ||
	    atl_json_get_str(pk, "kty", &kty) != ATL_OK || strcmp(kty, "OKP") != 0 ||
	    atl_json_get_str(pk, "crv", &crv) != ATL_OK || strcmp(crv, "X25519") != 0 ||
	    (json_object_get(pk, "alg") != NULL &&
	     (atl_json_get_str(pk, "alg", &alg) != ATL_OK ||
	      strcmp(alg, ATL_KBSD_PUBKEY_ALG) != 0)) ||
	    atl_json_get_str(pk, "x", &x) != ATL_OK ||
	    strnlen(x, 64) >= 64 ||
	    atl_b64_decode(x, strlen(x), ATL_B64_URL | ATL_B64_NOPAD, &pub, &pub_len) != ATL_OK ||
	    pub_len != ATL_X25519_LEN) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "'tee-pubkey' must be an OKP X25519 JWK (alg " ATL_KBSD_PUBKEY_ALG
				    ")");
		goto out;
	}
	if (atl_json_get_str(body, "tee-evidence", &ev) != ATL_OK ||
	    (ev_len = json_string_length(json_object_get(body, "tee-evidence"))) == 0 ||
	    memchr(ev, 0, ev_len) != NULL) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "'tee-evidence' must be the evidence JSON as a string");
		goto out;
	}
	if (ev_len > ATL_KBSD_EVIDENCE_MAX) {
		atl_http_resp_error(resp, 413, "too_large", "evidence too large");
		goto out;
	}
	copy = malloc(ev_len);
	if (copy == NULL) {
		atl_http_resp_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	memcpy(copy, ev, ev_len);
	pthread_mutex_lock(&d->mu);
	s = session_of(d, req, now_of(d));
	if (s != NULL) {
		if (s->evidence) {
			atl_wipe(s->evidence, s->ev_len);
			free(s->evidence);
		}
		s->evidence = copy;
		s->ev_len = ev_len;
		memcpy(s->pub, pub, ATL_X25519_LEN);
		s->attested = true;
		copy = NULL;
	}
	pthread_mutex_unlock(&d->mu);
	if (s == NULL) {
		atl_http_resp_error(resp, 401, "unauthorized",
				    "no session: POST /kbs/v0/auth first (session unknown or expired)");
		goto out;
	}
	ans = json_pack("{s:s}", "status", "pending");
	if (ans == NULL)
		atl_http_resp_error(resp, 500, "internal", "out of memory");
	else
		atl_http_resp_json(resp, 200, ans);
out:
	if (copy) {
		atl_wipe(copy, ev_len);
		free(copy);
	}
	free(pub);
	json_decref(ans);
	json_decref(body);
}

static void h_resource(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct atl_kbsd *d = ctx;
	const char *tenant = req->n_params == 2 ? req->params[0] : NULL;
	const char *mid = req->n_params == 2 ? req->params[1] : NULL;
	const char *wid = atl_http_req_query(req, "workload"); /* optional: bind the key to it */
	struct session *s, ses;
	char *sealed = NULL;
	char msg[320];
	int64_t now;
	enum atl_err e;

	memset(&ses, 0, sizeof(ses));
	if (!atl_kbs_tenant_valid(tenant) || !atl_kbs_model_id_valid(mid)) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "expected /kbs/v0/resource/<tenant>/model-key/<32 hex digits>");
		return;
	}
	if (wid != NULL && !workload_ok(wid)) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "'workload' must be a workload id ([A-Za-z0-9._-], 1..64)");
		return;
	}
	pthread_mutex_lock(&d->mu);
	now = now_of(d);
	s = session_of(d, req, now);
	if (s == NULL || !s->attested) {
		pthread_mutex_unlock(&d->mu);
		atl_http_resp_error(resp, 401, "unauthorized",
				    s == NULL ? "no session: POST /kbs/v0/auth first (session "
						"unknown, expired or used)"
					      : "no evidence: POST /kbs/v0/attest first");
		return;
	}
	/* The session is used up now, whatever the outcome. */
	ses = *s;
	atl_wipe(s, sizeof(*s));
	if ((ses.tenant[0] && strcmp(ses.tenant, tenant) != 0) ||
	    (ses.model_id[0] && strcmp(ses.model_id, mid) != 0)) {
		pthread_mutex_unlock(&d->mu);
		atl_http_resp_error(resp, 403, "release_refused",
				    "the session was opened for another tenant or model");
		goto out;
	}
	if (!quota_allows(d, tenant, now)) {
		uint32_t n, w;
		char why[96];
		quota_of(d, tenant, &n, &w);
		snprintf(why, sizeof(why), "quota exceeded (%" PRIu32 " per %" PRIu32 " s)", n, w);
		if (atl_kbs_audit_note(d->b, now, "refuse", mid, tenant, why) != ATL_OK)
			atl_error("audit append failed for a quota refusal");
		pthread_mutex_unlock(&d->mu);
		atl_warn("release of %s to tenant %s refused: %s", mid, tenant, why);
		atl_http_resp_error(resp, 429, "too_many_requests", why);
		goto out;
	}
	if (wid != NULL)
		e = atl_kbs_release_workload(d->b, tenant, mid, wid, ses.evidence, ses.ev_len,
					     ses.nonce, sizeof(ses.nonce), now, &sealed);
	else
		e = atl_kbs_release(d->b, tenant, mid, ses.evidence, ses.ev_len, ses.nonce,
				    sizeof(ses.nonce), now, &sealed);
	snprintf(msg, sizeof(msg), "%s", e == ATL_OK ? "" : atl_kbs_last_reason(d->b));
	if (e == ATL_OK)
		quota_count(d, tenant, now);
	pthread_mutex_unlock(&d->mu);
	switch (e) {
	case ATL_OK:
		atl_info("released the key of model %s to tenant %s", mid, tenant);
		resp->status = 200;
		resp->body = sealed;
		resp->body_len = strlen(sealed);
		resp->content_type = "application/json";
		sealed = NULL;
		break;
	case ATL_E_REPLAY:
		atl_http_resp_error(resp, 409, "replay", msg[0] ? msg : "nonce already used");
		break;
	case ATL_E_NOTFOUND:
		atl_http_resp_error(resp, 404, "not_found", "unknown model");
		break;
	case ATL_E_ARG:
		atl_http_resp_error(resp, 400, "bad_request", msg[0] ? msg : "bad request");
		break;
	case ATL_E_IO:
	case ATL_E_NOMEM:
	case ATL_E_INTERNAL:
	case ATL_E_CRYPTO:
		atl_http_resp_error(resp, 500, "internal", "the broker failed; see its log");
		break;
	default:
		if (strncmp(msg, "key unwrap or seal failed", 25) == 0) {
			atl_http_resp_error(resp, 500, "internal", "the broker failed; see its log");
			break;
		}
		atl_http_resp_error(resp, 403, "release_refused", msg[0] ? msg : atl_err_name(e));
		break;
	}
out:
	free(sealed);
	session_clear(&ses);
}

/* ---- admin API (bearer token; the broker audits every change) ---- */

static enum atl_err admin_path(const char *dir, const char *name, char **out)
{
	size_t n = strlen(dir) + strlen(name) + 2;

	*out = malloc(n);
	if (*out == NULL)
		return ATL_E_NOMEM;
	snprintf(*out, n, "%s/%s", dir, name);
	return ATL_OK;
}

enum atl_err atl_kbsd_admin_hash_load(const char *dir, uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN])
{
	char *path = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err e;

	if (dir == NULL || hash == NULL)
		return ATL_E_ARG;
	e = admin_path(dir, ATL_KBSD_ADMIN_HASH_FILE, &path);
	if (e != ATL_OK)
		return e;
	e = atl_file_read(path, 2 * ATL_KBSD_ADMIN_HASH_LEN + 2, &buf, &len);
	free(path);
	if (e == ATL_E_LIMIT)
		return ATL_E_FORMAT;
	if (e != ATL_OK)
		return e;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	e = len == 2 * ATL_KBSD_ADMIN_HASH_LEN
		    ? atl_hex_decode_exact((const char *)buf, len, hash, ATL_KBSD_ADMIN_HASH_LEN)
		    : ATL_E_FORMAT;
	free(buf);
	return e == ATL_OK ? ATL_OK : ATL_E_FORMAT;
}

enum atl_err atl_kbsd_admin_token_init(const char *dir, bool *created)
{
	uint8_t raw[ATL_KBSD_ADMIN_TOKEN_HEX / 2], hash[ATL_KBSD_ADMIN_HASH_LEN];
	char tok[ATL_KBSD_ADMIN_TOKEN_HEX + 2], hhex[2 * ATL_KBSD_ADMIN_HASH_LEN + 2];
	char *tpath = NULL, *hpath = NULL;
	enum atl_err e;

	if (created)
		*created = false;
	if (dir == NULL)
		return ATL_E_ARG;
	e = atl_kbsd_admin_hash_load(dir, hash);
	if (e != ATL_E_NOTFOUND)
		return e;
	e = admin_path(dir, ATL_KBSD_ADMIN_TOKEN_FILE, &tpath);
	if (e == ATL_OK)
		e = admin_path(dir, ATL_KBSD_ADMIN_HASH_FILE, &hpath);
	if (e == ATL_OK)
		e = atl_random(raw, sizeof(raw));
	if (e == ATL_OK)
		e = atl_hex_encode(raw, sizeof(raw), tok, sizeof(tok));
	if (e == ATL_OK)
		e = atl_hash(ATL_HASH_SHA256, tok, ATL_KBSD_ADMIN_TOKEN_HEX, hash);
	if (e == ATL_OK)
		e = atl_hex_encode(hash, sizeof(hash), hhex, sizeof(hhex));
	if (e == ATL_OK) {
		tok[ATL_KBSD_ADMIN_TOKEN_HEX] = '\n';
		hhex[2 * ATL_KBSD_ADMIN_HASH_LEN] = '\n';
		/* the token first: a hash file without its token would lock the
		 * operator out; a stale token file is overwritten */
		e = atl_file_write(tpath, tok, ATL_KBSD_ADMIN_TOKEN_HEX + 1, 0600, 0);
	}
	if (e == ATL_OK)
		e = atl_file_write(hpath, hhex, 2 * ATL_KBSD_ADMIN_HASH_LEN + 1, 0600, 1);
	if (e == ATL_E_EXISTS)
		e = ATL_E_IO; /* a concurrent init */
	if (e == ATL_OK && created)
		*created = true;
	atl_wipe(raw, sizeof(raw));
	atl_wipe(tok, sizeof(tok));
	free(tpath);
	free(hpath);
	return e;
}

bool atl_kbsd_admin_check(const uint8_t hash[ATL_KBSD_ADMIN_HASH_LEN], const char *token)
{
	uint8_t h[ATL_KBSD_ADMIN_HASH_LEN];
	size_t n;
	bool ok;

	if (hash == NULL || token == NULL)
		return false;
	n = strnlen(token, ATL_KBSD_ADMIN_TOKEN_MAX + 1);
	if (n == 0 || n > ATL_KBSD_ADMIN_TOKEN_MAX)
		return false;
	if (atl_hash(ATL_HASH_SHA256, token, n, h) != ATL_OK)
		return false;
	ok = atl_ct_eq(h, hash, sizeof(h));
	atl_wipe(h, sizeof(h));
	return ok;
}

/* Answers 401 and returns false unless the request has the admin token. */
static bool admin_auth(struct atl_kbsd *d, const struct atl_http_req *req,
		       struct atl_http_resp *resp)
{
	if (atl_kbsd_admin_check(d->admin_hash, atl_http_req_bearer(req)))
		return true;
	atl_warn("admin request %s from %s refused: missing or wrong admin token", req->path,
		 req->remote);
	atl_http_resp_error(resp, 401, "unauthorized",
			    "admin token required (Authorization: Bearer TOKEN)");
	return false;
}

static void admin_fail(struct atl_http_resp *resp, enum atl_err e, const char *what)
{
	const char *code = "internal";
	int st = atl_http_status_for(e, &code);
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: %s", what, atl_strerror(e));
	atl_http_resp_error(resp, st, code, msg);
}

static void admin_ok(struct atl_http_resp *resp, json_t *ans)
{
	if (ans == NULL) {
		atl_http_resp_error(resp, 500, "internal", "out of memory");
		return;
	}
	atl_http_resp_json(resp, 200, ans);
	json_decref(ans);
}

/* The tenant field of an admin body, validated; NULL (and a 400) otherwise. */
static const char *admin_tenant(const json_t *body, struct atl_http_resp *resp)
{
	const char *t = NULL;

	if (atl_json_get_str(body, "tenant", &t) != ATL_OK || !atl_kbs_tenant_valid(t)) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "'tenant' must be 1..32 bytes of [A-Za-z0-9._-]");
		return NULL;
	}
	return t;
}

static void h_admin_revoke(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"model_id", "measurement", NULL};
	struct atl_kbsd *d = ctx;
	json_t *body = NULL;
	const char *mid = NULL, *meas = NULL;
	enum atl_err e;

	if (!admin_auth(d, req, resp) ||
	    atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	if ((json_object_get(body, "model_id") &&
	     atl_json_get_str(body, "model_id", &mid) != ATL_OK) ||
	    (json_object_get(body, "measurement") &&
	     atl_json_get_str(body, "measurement", &meas) != ATL_OK) ||
	    (mid == NULL) == (meas == NULL) || (mid && !atl_kbs_model_id_valid(mid)) ||
	    (meas && !printable_ok(meas, 2 * ATL_HASH_MAX_LEN))) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "give exactly one of 'model_id' (32 lowercase hex digits) and "
				    "'measurement' (hex)");
		goto out;
	}
	pthread_mutex_lock(&d->mu);
	e = mid ? atl_kbs_model_revoke(d->b, mid) : atl_kbs_measurement_revoke(d->b, meas);
	pthread_mutex_unlock(&d->mu);
	if (e != ATL_OK) {
		admin_fail(resp, e, mid ? "revoke model" : "revoke measurement");
		goto out;
	}
	atl_info("admin: revoked %s %s", mid ? "model" : "measurement", mid ? mid : meas);
	admin_ok(resp, json_pack("{s:s, s:s}", "revoked", mid ? "model" : "measurement", "id",
				 mid ? mid : meas));
out:
	json_decref(body);
}

static void h_admin_rotate(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"tenant", NULL};
	struct atl_kbsd *d = ctx;
	json_t *body = NULL;
	const char *t;
	char kid[ATL_ATM_KEK_ID_MAX + 1] = "";
	enum atl_err e;

	if (!admin_auth(d, req, resp) ||
	    atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	if ((t = admin_tenant(body, resp)) != NULL) {
		pthread_mutex_lock(&d->mu);
		e = atl_kbs_rotate(d->b, t, kid);
		pthread_mutex_unlock(&d->mu);
		if (e != ATL_OK) {
			admin_fail(resp, e, "rotate");
		} else {
			atl_info("admin: rotated the KEK of tenant %s to %s", t, kid);
			admin_ok(resp, json_pack("{s:s, s:s}", "tenant", t, "kek_id", kid));
		}
	}
	json_decref(body);
}

static void h_admin_tenant(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"tenant", NULL};
	struct atl_kbsd *d = ctx;
	json_t *body = NULL;
	const char *t;
	char kid[ATL_ATM_KEK_ID_MAX + 1] = "";
	enum atl_err e;

	if (!admin_auth(d, req, resp) ||
	    atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	if ((t = admin_tenant(body, resp)) != NULL) {
		pthread_mutex_lock(&d->mu);
		e = atl_kbs_tenant_add(d->b, t, NULL, kid);
		pthread_mutex_unlock(&d->mu);
		if (e != ATL_OK) {
			admin_fail(resp, e, "tenant add");
		} else {
			atl_info("admin: added tenant %s (%s)", t, kid);
			admin_ok(resp, json_pack("{s:s, s:s}", "tenant", t, "kek_id", kid));
		}
	}
	json_decref(body);
}

static void h_admin_quota(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"tenant", "n", "window_s", NULL};
	struct atl_kbsd *d = ctx;
	json_t *body = NULL, *jn, *jw;
	const char *t;
	json_int_t n, w;
	enum atl_err e;

	if (!admin_auth(d, req, resp) ||
	    atl_http_req_json_object(req, keys, &body, resp) != ATL_OK)
		return;
	if ((t = admin_tenant(body, resp)) == NULL)
		goto out;
	jn = json_object_get(body, "n");
	jw = json_object_get(body, "window_s");
	n = json_is_integer(jn) ? json_integer_value(jn) : -1;
	w = jw == NULL ? 0 : json_is_integer(jw) ? json_integer_value(jw) : -1;
	if (n < 0 || n > (json_int_t)UINT32_MAX ||
	    (n > 0 && (w < 1 || w > (json_int_t)ATL_KBS_QUOTA_WINDOW_MAX_S)) ||
	    (n == 0 && w != 0)) {
		atl_http_resp_error(resp, 400, "bad_request",
				    "'n' (0: none) and 'window_s' (1..366 days in seconds) must be "
				    "integers");
		goto out;
	}
	pthread_mutex_lock(&d->mu);
	e = atl_kbs_tenant_quota_set(d->b, t, (uint32_t)n, (uint32_t)w);
	pthread_mutex_unlock(&d->mu);
	if (e != ATL_OK) {
		admin_fail(resp, e, "tenant quota");
		goto out;
	}
	atl_info("admin: quota of tenant %s set to %" PRIu32 "/%" PRIu32, t, (uint32_t)n,
		 (uint32_t)w);
	admin_ok(resp, json_pack("{s:s, s:I, s:I}", "tenant", t, "n", (json_int_t)n, "window_s",
				 (json_int_t)w));
out:
	json_decref(body);
}

static void h_admin_status(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	struct atl_kbsd *d = ctx;
	json_t *st;

	if (!admin_auth(d, req, resp))
		return;
	pthread_mutex_lock(&d->mu);
	st = atl_kbs_status(d->b);
	pthread_mutex_unlock(&d->mu);
	admin_ok(resp, st);
}

static const struct atl_http_route routes[] = {
	{"POST", ATL_KBSD_PREFIX "/auth", h_auth, ATL_KBSD_AUTH_BODY_MAX},
	{"POST", ATL_KBSD_PREFIX "/attest", h_attest, ATL_KBSD_ATTEST_BODY_MAX},
	{"GET", ATL_KBSD_PREFIX "/resource/{tenant}/model-key/{model_id}", h_resource,
	 RESOURCE_BODY_MAX},
	/* the admin API: last, left out with admin_disabled (ADMIN_ROUTES) */
	{"POST", ATL_KBSD_PREFIX "/admin/revoke", h_admin_revoke, ATL_KBSD_ADMIN_BODY_MAX},
	{"POST", ATL_KBSD_PREFIX "/admin/rotate", h_admin_rotate, ATL_KBSD_ADMIN_BODY_MAX},
	{"POST", ATL_KBSD_PREFIX "/admin/quota", h_admin_quota, ATL_KBSD_ADMIN_BODY_MAX},
	{"POST", ATL_KBSD_PREFIX "/admin/tenant", h_admin_tenant, ATL_KBSD_ADMIN_BODY_MAX},
	{"GET", ATL_KBSD_PREFIX "/admin/status", h_admin_status, RESOURCE_BODY_MAX},
};
#define ADMIN_ROUTES 5u

/* ---- rotation schedule ---- */

static void rotate_check(struct atl_kbsd *d)
{
	unsigned n = 0;
	enum atl_err e;

	pthread_mutex_lock(&d->mu);
	e = atl_kbs_rotate_due(d->b, now_of(d), d->rotate_after_s, &n);
	pthread_mutex_unlock(&d->mu);
	if (e != ATL_OK)
		atl_error("scheduled KEK rotation: %s (will retry)", atl_err_name(e));
	else if (n > 0)
		atl_info("scheduled KEK rotation: %u tenant(s) rotated", n);
}

static void *rotate_main(void *arg)
{
	struct atl_kbsd *d = arg;

	pthread_mutex_lock(&d->rot_mu);
	while (!d->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)d->rotate_check_s;
		while (!d->stopping &&
		       pthread_cond_timedwait(&d->rot_cv, &d->rot_mu, &ts) != ETIMEDOUT)
			;
		if (d->stopping)
			break;
		pthread_mutex_unlock(&d->rot_mu);
		rotate_check(d);
		pthread_mutex_lock(&d->rot_mu);
	}
	pthread_mutex_unlock(&d->rot_mu);
	return NULL;
}

/* ---- lifecycle ---- */

enum atl_err atl_kbsd_quota_parse(const char *s, uint32_t *n, uint32_t *window_s)
{
	unsigned long long a, b;
	char *end;

	if (s == NULL || n == NULL || window_s == NULL)
		return ATL_E_ARG;
	*n = 0;
	*window_s = 0;
	if (strcmp(s, "none") == 0)
		return ATL_OK;
	if (*s < '0' || *s > '9')
		return ATL_E_ARG;
	errno = 0;
	a = strtoull(s, &end, 10);
	if (errno != 0 || *end != '/' || a < 1 || a > UINT32_MAX || end[1] < '0' || end[1] > '9')
		return ATL_E_ARG;
	b = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || b < 1 || b > (unsigned long long)ATL_KBS_QUOTA_WINDOW_MAX_S)
		return ATL_E_ARG;
	*n = (uint32_t)a;
	*window_s = (uint32_t)b;
	return ATL_OK;
}

enum atl_err atl_kbsd_start(const struct atl_kbsd_opts *opts, struct atl_kbsd **out)
{
	struct atl_http_server_opts so = {0};
	struct atl_kbsd *d;
	pthread_condattr_t ca;
	enum atl_err e;

	if (opts == NULL || out == NULL || opts->dir == NULL || opts->rotate_after_s < 0 ||
	    (opts->quota_n > 0 &&
	     (opts->quota_window_s < 1 || opts->quota_window_s > ATL_KBS_QUOTA_WINDOW_MAX_S)))
		return ATL_E_ARG;
	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return ATL_E_NOMEM;
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->rot_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->rot_cv, &ca);
	pthread_condattr_destroy(&ca);
	d->quota_n = opts->quota_n;
	d->quota_window_s = opts->quota_window_s;
	d->rotate_after_s = opts->rotate_after_s;
	d->rotate_check_s =
		opts->rotate_check_s ? opts->rotate_check_s : ATL_KBSD_ROTATE_CHECK_S_DEFAULT;
	d->clock = opts->clock;
	d->clock_ctx = opts->clock_ctx;
	d->sessions = calloc(ATL_KBSD_SESSIONS_MAX, sizeof(*d->sessions));
	d->quota = calloc(ATL_KBS_TENANTS_MAX, sizeof(*d->quota));
	if (d->sessions == NULL || d->quota == NULL) {
		e = ATL_E_NOMEM;
		goto fail;
	}
	e = atl_kbs_open(opts->dir, opts->audit_signer, &d->b);
	if (e != ATL_OK) {
		atl_error("cannot open the broker state in %s: %s", opts->dir, atl_err_name(e));
		goto fail;
	}
	if (!opts->admin_disabled) {
		bool created = false;
		e = atl_kbsd_admin_token_init(opts->dir, &created);
		if (e == ATL_OK)
			e = atl_kbsd_admin_hash_load(opts->dir, d->admin_hash);
		if (e != ATL_OK) {
			atl_error("cannot set up the admin token in %s: %s", opts->dir,
				  atl_err_name(e));
			goto fail;
		}
		if (created)
			atl_info("admin token created: %s/" ATL_KBSD_ADMIN_TOKEN_FILE
				 " (mode 0600; move it out of the state directory)", opts->dir);
		d->admin = true;
	}
	quota_restore(d, opts->dir);
	if (d->rotate_after_s > 0)
		rotate_check(d);
	so.listen = opts->listen;
	so.allow_public = opts->allow_public;
	so.tls_cert_pem = opts->tls_cert_pem;
	so.tls_key_pem = opts->tls_key_pem;
	so.body_max = ATL_KBSD_ATTEST_BODY_MAX;
	e = atl_http_server_start(&so, routes,
				  sizeof(routes) / sizeof(routes[0]) - (d->admin ? 0 : ADMIN_ROUTES),
				  d, &d->srv);
	if (e != ATL_OK) {
		atl_error("cannot listen on %s: %s", opts->listen ? opts->listen : "127.0.0.1:0",
			  atl_err_name(e));
		goto fail;
	}
	if (d->rotate_after_s > 0) {
		if (pthread_create(&d->rot, NULL, rotate_main, d) != 0) {
			e = ATL_E_NOMEM;
			goto fail;
		}
		d->rot_started = true;
	}
	*out = d;
	return ATL_OK;
fail:
	atl_kbsd_stop(d);
	return e;
}

uint16_t atl_kbsd_port(const struct atl_kbsd *d)
{
	return d && d->srv ? atl_http_server_port(d->srv) : 0;
}

void atl_kbsd_stop(struct atl_kbsd *d)
{
	if (d == NULL)
		return;
	if (d->rot_started) {
		pthread_mutex_lock(&d->rot_mu);
		d->stopping = true;
		pthread_cond_broadcast(&d->rot_cv);
		pthread_mutex_unlock(&d->rot_mu);
		pthread_join(d->rot, NULL);
	}
	atl_http_server_stop(d->srv); /* waits for running handlers */
	atl_kbs_close(d->b);
	if (d->sessions) {
		for (size_t i = 0; i < ATL_KBSD_SESSIONS_MAX; i++)
			session_clear(&d->sessions[i]);
		free(d->sessions);
	}
	free(d->quota);
	pthread_cond_destroy(&d->rot_cv);
	pthread_mutex_destroy(&d->rot_mu);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
