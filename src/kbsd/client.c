/* The key broker client (kbsd.h): one session = one HTTP client handle with
 * its cookie engine on, so the kbs-session-id cookie of /auth goes back with
 * /attest and /resource. Every answer is untrusted: bounded by the HTTP
 * client's response cap (ATL_KBSD_SEALED_MAX for the sealed key), parsed with
 * allow-listed keys and exact lengths. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "kbsc"

#include "atoll/encoding.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/kbsd.h"
#include "atoll/log.h"
#include "atoll/secmem.h"

#define BASE_URL_MAX 512u
#define CLIENT_TIMEOUT_MS 30000u

static pthread_mutex_t ca_mu = PTHREAD_MUTEX_INITIALIZER;
static char *ca_file_set; /* atl_kbsc_set_ca_file */
static bool ca_file_given;

enum atl_err atl_kbsc_set_ca_file(const char *ca_file)
{
	char *c = NULL;

	if (ca_file != NULL && (c = strdup(ca_file)) == NULL)
		return ATL_E_NOMEM;
	pthread_mutex_lock(&ca_mu);
	free(ca_file_set);
	ca_file_set = c;
	ca_file_given = true;
	pthread_mutex_unlock(&ca_mu);
	return ATL_OK;
}

/* A workload id: 1..ATL_STORE_NAME_MAX bytes of [A-Za-z0-9._-] (URL-safe). */
static bool workload_ok(const char *s)
{
	size_t n = s ? strnlen(s, ATL_STORE_NAME_MAX + 1) : 0;

	return n > 0 && n <= ATL_STORE_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

struct atl_kbsc {
	struct atl_http_client *http;
	char base[BASE_URL_MAX + sizeof(ATL_KBSD_PREFIX)]; /* ".../kbs/v0" */
	char tenant[ATL_KBS_TENANT_MAX + 1];
	char model_id[ATL_KBS_MODEL_ID_HEX];
	bool used;
	long last_status;
	char last_error[256];
};

static bool tee_ok(const char *s)
{
	size_t n = s ? strnlen(s, ATL_KBSD_TEE_MAX + 1) : 0;

	if (n == 0 || n > ATL_KBSD_TEE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Maps a non-2xx answer to an error and keeps its message. */
static enum atl_err status_err(struct atl_kbsc *s, const struct atl_http_response *r)
{
	char code[64];

	s->last_status = r->status;
	atl_http_response_error(r, code, sizeof(code), s->last_error, sizeof(s->last_error));
	switch (r->status) {
	case 400:
		return ATL_E_ARG;
	case 401:
		return ATL_E_AUTH;
	case 403:
		return strstr(s->last_error, "another tenant") != NULL ? ATL_E_DENIED
								       : ATL_E_POLICY;
	case 404:
		return ATL_E_NOTFOUND;
	case 409:
		return ATL_E_REPLAY;
	case 413:
	case 429:
		return ATL_E_LIMIT;
	case 503:
		return ATL_E_BUSY;
	default:
		return ATL_E_IO;
	}
}

static enum atl_err call(struct atl_kbsc *s, const char *method, const char *path,
			 const char *body, struct atl_http_response *r)
{
	char url[sizeof(s->base) + 256];
	struct atl_http_call c = {0};
	enum atl_err e;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", s->base, path) >= sizeof(url))
		return ATL_E_ARG;
	c.method = method;
	c.url = url;
	c.body = body;
	c.body_len = body ? strlen(body) : 0;
	e = atl_http_client_do(s->http, &c, r);
	if (e != ATL_OK) {
		s->last_status = 0;
		snprintf(s->last_error, sizeof(s->last_error), "transport: %s", atl_err_name(e));
		return e == ATL_E_TIMEOUT || e == ATL_E_ARG ? e : ATL_E_IO;
	}
	if (r->status < 200 || r->status > 299)
		return status_err(s, r);
	return ATL_OK;
}

enum atl_err atl_kbsc_auth(const char *base_url, const char *tee, const char *tenant,
			   const char *model_id, struct atl_kbsc **out,
			   uint8_t nonce_out[ATL_KBS_NONCE_LEN])
{
	static const char *const keys[] = {"nonce", "extra-params", NULL};
	struct atl_http_client_opts o = {0};
	struct atl_http_response r = {0};
	struct atl_kbsc *s = NULL;
	json_t *req = NULL, *ans = NULL;
	char *body = NULL;
	const char *nb64 = NULL;
	uint8_t *nonce = NULL;
	size_t n, nonce_len = 0;
	enum atl_err e;

	if (out == NULL || nonce_out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	n = base_url ? strnlen(base_url, BASE_URL_MAX + 1) : 0;
	if (n == 0 || n > BASE_URL_MAX || !tee_ok(tee) || !atl_kbs_tenant_valid(tenant) ||
	    !atl_kbs_model_id_valid(model_id))
		return ATL_E_ARG;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ATL_E_NOMEM;
	/* "http://h:p", "http://h:p/" and "http://h:p/kbs/v0[/]" all work */
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	if (n >= strlen(ATL_KBSD_PREFIX) &&
	    strncmp(base_url + n - strlen(ATL_KBSD_PREFIX), ATL_KBSD_PREFIX,
		    strlen(ATL_KBSD_PREFIX)) == 0)
		n -= strlen(ATL_KBSD_PREFIX);
	snprintf(s->base, sizeof(s->base), "%.*s%s", (int)n, base_url, ATL_KBSD_PREFIX);
	snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
	snprintf(s->model_id, sizeof(s->model_id), "%s", model_id);
	o.cookies = true;
	o.timeout_ms = CLIENT_TIMEOUT_MS;
	o.response_max = ATL_KBSD_SEALED_MAX;
	pthread_mutex_lock(&ca_mu);
	o.ca_file = ca_file_given ? ca_file_set : getenv("ATOLL_KBS_CA_FILE");
	if (o.ca_file != NULL && o.ca_file[0] == '\0')
		o.ca_file = NULL;
	e = atl_http_client_new(&o, &s->http); /* copies ca_file */
	pthread_mutex_unlock(&ca_mu);
	if (e != ATL_OK)
		goto out;
	req = json_pack("{s:s, s:s, s:{s:s, s:s}}", "version", ATL_KBSD_PROTOCOL_VERSION, "tee",
			tee, "extra-params", "tenant", tenant, "model_id", model_id);
	body = req ? atl_json_dump(req) : NULL;
	if (body == NULL) {
		e = ATL_E_NOMEM;
		goto out;
	}
	e = call(s, "POST", "/auth", body, &r);
	if (e != ATL_OK)
		goto out;
	e = atl_json_parse((const char *)r.body, r.body_len, &ans);
	if (e == ATL_OK && (!json_is_object(ans) || atl_json_check_keys(ans, keys, NULL) != ATL_OK ||
			    atl_json_get_str(ans, "nonce", &nb64) != ATL_OK))
		e = ATL_E_FORMAT;
	if (e == ATL_OK)
		e = atl_b64_decode(nb64, strlen(nb64), ATL_B64_STD, &nonce, &nonce_len);
	if (e == ATL_OK && nonce_len != ATL_KBS_NONCE_LEN)
		e = ATL_E_FORMAT;
	if (e != ATL_OK) {
		e = ATL_E_FORMAT;
		snprintf(s->last_error, sizeof(s->last_error), "malformed /auth answer");
		goto out;
	}
	memcpy(nonce_out, nonce, ATL_KBS_NONCE_LEN);
	*out = s;
	s = NULL;
out:
	if (e != ATL_OK && s != NULL)
		atl_debug("kbs auth failed: %s (%ld %s)", atl_err_name(e), s->last_status,
			  s->last_error);
	free(nonce);
	free(body);
	json_decref(req);
	json_decref(ans);
	atl_http_response_clear(&r);
	atl_kbsc_free(s);
	return e;
}

/* atl_kbsc_fetch (wid NULL) and atl_kbsc_fetch_workload. */
static enum atl_err fetch(struct atl_kbsc *s, const char *evidence_json,
			  const uint8_t enclave_pub[ATL_X25519_LEN], const char *wid,
			  char **sealed_out, size_t *sealed_len)
{
	struct atl_http_response r = {0};
	json_t *req = NULL;
	char *body = NULL, *x = NULL, *sealed = NULL;
	char path[96 + ATL_KBS_TENANT_MAX + ATL_KBS_MODEL_ID_HEX + ATL_STORE_NAME_MAX];
	size_t ev_len;
	enum atl_err e;

	if (sealed_out)
		*sealed_out = NULL;
	if (sealed_len)
		*sealed_len = 0;
	if (s == NULL || evidence_json == NULL || enclave_pub == NULL || sealed_out == NULL ||
	    (wid != NULL && !workload_ok(wid)))
		return ATL_E_ARG;
	if (s->used)
		return ATL_E_STATE;
	ev_len = strnlen(evidence_json, ATL_KBSD_EVIDENCE_MAX + 1);
	if (ev_len == 0 || ev_len > ATL_KBSD_EVIDENCE_MAX)
		return ATL_E_LIMIT;
	s->used = true;
	e = atl_b64_encode(enclave_pub, ATL_X25519_LEN, ATL_B64_URL | ATL_B64_NOPAD, &x);
	if (e != ATL_OK)
		goto out;
	req = json_pack("{s:{s:s, s:s, s:s, s:s}, s:s}", "tee-pubkey", "kty", "OKP", "crv",
			"X25519", "alg", ATL_KBSD_PUBKEY_ALG, "x", x, "tee-evidence",
			evidence_json);
	body = req ? atl_json_dump(req) : NULL;
	if (body == NULL) {
		e = req ? ATL_E_NOMEM : ATL_E_FORMAT; /* json_pack refuses invalid UTF-8 */
		goto out;
	}
	e = call(s, "POST", "/attest", body, &r);
	atl_http_response_clear(&r);
	if (e != ATL_OK)
		goto out;
	snprintf(path, sizeof(path), "/resource/%s/model-key/%s%s%s", s->tenant, s->model_id,
		 wid != NULL ? "?workload=" : "", wid != NULL ? wid : "");
	e = call(s, "GET", path, NULL, &r);
	if (e != ATL_OK)
		goto out;
	if (r.body_len == 0 || r.body_len > ATL_KBSD_SEALED_MAX ||
	    memchr(r.body, 0, r.body_len) != NULL) {
		e = ATL_E_FORMAT;
		goto out;
	}
	sealed = malloc(r.body_len + 1);
	if (sealed == NULL) {
		e = ATL_E_NOMEM;
		goto out;
	}
	memcpy(sealed, r.body, r.body_len);
	sealed[r.body_len] = '\0';
	*sealed_out = sealed;
	if (sealed_len)
		*sealed_len = r.body_len;
	s->last_status = r.status;
	s->last_error[0] = '\0';
out:
	free(x);
	free(body);
	json_decref(req);
	atl_http_response_clear(&r);
	return e;
}

enum atl_err atl_kbsc_fetch(struct atl_kbsc *s, const char *evidence_json,
			    const uint8_t enclave_pub[ATL_X25519_LEN], char **sealed_out,
			    size_t *sealed_len)
{
	return fetch(s, evidence_json, enclave_pub, NULL, sealed_out, sealed_len);
}

enum atl_err atl_kbsc_fetch_workload(struct atl_kbsc *s, const char *evidence_json,
				     const uint8_t enclave_pub[ATL_X25519_LEN],
				     const char *workload_id, char **sealed_out, size_t *sealed_len)
{
	if (workload_id == NULL) {
		if (sealed_out)
			*sealed_out = NULL;
		if (sealed_len)
			*sealed_len = 0;
		return ATL_E_ARG;
	}
	return fetch(s, evidence_json, enclave_pub, workload_id, sealed_out, sealed_len);
}

const char *atl_kbsc_last_error(const struct atl_kbsc *s, long *status_out)
{
	if (status_out)
		*status_out = s ? s->last_status : 0;
	return s ? s->last_error : "";
}

void atl_kbsc_free(struct atl_kbsc *s)
{
	if (s == NULL)
		return;
	atl_http_client_free(s->http);
	atl_wipe(s, sizeof(*s));
	free(s);
}
