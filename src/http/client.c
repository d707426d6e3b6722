/* HTTP client adapter over libcurl (include/atoll/http.h,
 * docs/internals/http.md): http/https only, no redirects, TLS verification
 * always on, connect and total timeouts, response bodies capped. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define ATL_LOG_MODULE "http"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"

#define CONNECT_TIMEOUT_MS_DEFAULT 5000u
#define TIMEOUT_MS_DEFAULT 30000u
#define BEARER_MAX 1024u

struct atl_http_client {
	CURL *h;
	unsigned connect_timeout_ms, timeout_ms;
	size_t response_max;
	char *ca_file, *cert_file, *key_file;
	char *auth_header; /* "Authorization: Bearer …", wiped on free */
	bool cookies;      /* keep the server's cookie (opts.cookies) */
	char cookie[ATL_HTTP_SET_COOKIE_MAX]; /* "name=value" last set, "" none; wiped */
	char errbuf[CURL_ERROR_SIZE];
};

struct sink {
	uint8_t *buf;
	size_t len, cap, max;
	bool over;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void sink_free(struct sink *s)
{
	if (s->buf != NULL) {
		atl_wipe(s->buf, s->cap);
		free(s->buf);
	}
	memset(s, 0, sizeof(*s));
}

/* opts.cookies: keeps the name=value of the last Set-Cookie header (one
 * cookie; attributes ignored; printable, bounded, else dropped). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	static const char name[] = "set-cookie:";
	struct atl_http_client *c = userdata;
	size_t n = size * nmemb, i = sizeof(name) - 1, j;

	if (n <= i || strncasecmp(ptr, name, i) != 0)
		return n;
	while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
		i++;
	for (j = i; j < n && ptr[j] != ';' && ptr[j] != '\r' && ptr[j] != '\n'; j++)
		if ((unsigned char)ptr[j] <= 0x20 || (unsigned char)ptr[j] >= 0x7f)
			return n;
	if (j == i || j - i >= sizeof(c->cookie) || memchr(ptr + i, '=', j - i) == NULL)
		return n;
	atl_wipe(c->cookie, sizeof(c->cookie));
	memcpy(c->cookie, ptr + i, j - i);
	return n;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb; /* curl guarantees size == 1 */

	if (n > s->max - s->len) {
		s->over = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap != 0 ? s->cap : 4096;
		uint8_t *b;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		b = malloc(cap);
		if (b == NULL)
			return 0;
		if (s->len > 0)
			memcpy(b, s->buf, s->len);
		if (s->buf != NULL) {
			atl_wipe(s->buf, s->cap);
			free(s->buf);
		}
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	s->buf[s->len] = 0;
	return n;
}

static char *dup_opt(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

enum atl_err atl_http_client_new(const struct atl_http_client_opts *opts,
				 struct atl_http_client **c_out)
{
	static const struct atl_http_client_opts defaults = {0};
	struct atl_http_client *c;
	bool ok = true;

	if (c_out == NULL)
		return ATL_E_ARG;
	*c_out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (opts->bearer != NULL) {
		size_t n = strnlen(opts->bearer, BEARER_MAX + 1);
		if (n == 0 || n > BEARER_MAX)
			return ATL_E_ARG;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)opts->bearer[i];
			if (ch <= 0x20 || ch >= 0x7f) /* no header injection */
				return ATL_E_ARG;
		}
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return ATL_E_INTERNAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ATL_E_NOMEM;
	c->h = curl_easy_init();
	c->connect_timeout_ms = opts->connect_timeout_ms != 0 ? opts->connect_timeout_ms
							      : CONNECT_TIMEOUT_MS_DEFAULT;
	c->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : TIMEOUT_MS_DEFAULT;
	c->response_max = opts->response_max != 0 ? opts->response_max : ATL_HTTP_RESPONSE_MAX;
	c->ca_file = dup_opt(opts->ca_file, &ok);
	c->cert_file = dup_opt(opts->cert_file, &ok);
	c->key_file = dup_opt(opts->key_file, &ok);
	c->cookies = opts->cookies;
	if (opts->bearer != NULL) {
		size_t n = strlen("Authorization: Bearer ") + strlen(opts->bearer) + 1;
		c->auth_header = malloc(n);
		if (c->auth_header == NULL)
			ok = false;
		else
			snprintf(c->auth_header, n, "Authorization: Bearer %s", opts->bearer);
	}
	if (c->h == NULL || !ok) {
		atl_http_client_free(c);
		return ATL_E_NOMEM;
	}
	*c_out = c;
	return ATL_OK;
}

void atl_http_client_free(struct atl_http_client *c)
{
	if (c == NULL)
		return;
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	if (c->auth_header != NULL) {
		atl_wipe(c->auth_header, strlen(c->auth_header));
		free(c->auth_header);
	}
	atl_wipe(c->cookie, sizeof(c->cookie));
	free(c);
}

void atl_http_response_clear(struct atl_http_response *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL) {
		atl_wipe(r->body, r->body_len);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
}

static enum atl_err map_curl(CURLcode cc, const struct sink *s, const char *errbuf)
{
	switch (cc) {
	case CURLE_OK:
		return ATL_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return ATL_E_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return ATL_E_LIMIT;
	case CURLE_WRITE_ERROR:
		return s->over ? ATL_E_LIMIT : ATL_E_NOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return ATL_E_ARG;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		atl_warn("TLS verification failed: %s", errbuf[0] != '\0' ? errbuf : "?");
		return ATL_E_AUTH;
	case CURLE_OUT_OF_MEMORY:
		return ATL_E_NOMEM;
	default:
		atl_debug("request failed: %s (%d)", errbuf[0] != '\0' ? errbuf : "?", (int)cc);
		return ATL_E_IO;
	}
}

enum atl_err atl_http_client_do(struct atl_http_client *c, const struct atl_http_call *call,
				struct atl_http_response *resp_out)
{
	struct curl_slist *hdrs = NULL, *t;
	struct sink s = {0};
	const char *method;
	char ctype[160];
	enum atl_err rc = ATL_E_INTERNAL;
	CURLcode cc;
	long status = 0;
	bool ok = true;

	if (resp_out != NULL)
		memset(resp_out, 0, sizeof(*resp_out));
	if (c == NULL || call == NULL || resp_out == NULL || call->url == NULL ||
	    (call->body == NULL && call->body_len != 0))
		return ATL_E_ARG;
	if (strncasecmp(call->url, "http://", 7) != 0 && strncasecmp(call->url, "https://", 8) != 0)
		return ATL_E_ARG;
	method = call->method != NULL ? call->method : (call->body != NULL ? "POST" : "GET");
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)
		return ATL_E_ARG;
	s.max = c->response_max;
	c->errbuf[0] = '\0';

	curl_easy_reset(c->h);
#define SET(opt, val) ok = ok && curl_easy_setopt(c->h, opt, val) == CURLE_OK
	SET(CURLOPT_URL, call->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, (long)(call->timeout_ms != 0 ? call->timeout_ms : c->timeout_ms));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->response_max);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, &s);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->cookies) {
		SET(CURLOPT_HEADERFUNCTION, on_header);
		SET(CURLOPT_HEADERDATA, c);
		if (c->cookie[0] != '\0')
			SET(CURLOPT_COOKIE, c->cookie);
	}
	if (c->ca_file != NULL)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file != NULL)
		SET(CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file != NULL)
		SET(CURLOPT_SSLKEY, c->key_file);
	if (strcmp(method, "GET") == 0 && call->body == NULL) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
		SET(CURLOPT_POSTFIELDS, call->body != NULL ? (const char *)call->body : "");
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	}
	snprintf(ctype, sizeof(ctype), "Content-Type: %s",
		 call->content_type != NULL ? call->content_type : "application/json");
	/* "Expect:" turns off 100-continue (a round trip per large body) */
	const char *const hv[] = {"Accept: application/json", ctype, "Expect:", c->auth_header};
	for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
		if (hv[i] == NULL)
			continue;
		t = curl_slist_append(hdrs, hv[i]);
		if (t == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		hdrs = t;
	}
	SET(CURLOPT_HTTPHEADER, hdrs);
#undef SET
	if (!ok) {
		rc = ATL_E_INTERNAL;
		goto out;
	}
	cc = curl_easy_perform(c->h);
	rc = map_curl(cc, &s, c->errbuf);
	if (rc != ATL_OK)
		goto out;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (s.buf == NULL) {
		s.buf = calloc(1, 1);
		if (s.buf == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		s.cap = 1;
	}
	resp_out->status = status;
	resp_out->body = s.buf;
	resp_out->body_len = s.len;
	s.buf = NULL;
	rc = ATL_OK;
out:
	/* the handle keeps pointers to these until the next reset */
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	sink_free(&s);
	return rc;
}

static void copy_printable(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	if (cap == 0)
		return;
	for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

void atl_http_response_error(const struct atl_http_response *r, char *code, size_t code_cap,
			     char *message, size_t message_cap)
{
	json_t *v = NULL, *e;
	const char *c = NULL, *m = NULL;

	copy_printable(code, code_cap, "");
	copy_printable(message, message_cap, "");
	if (r == NULL || r->body == NULL || r->body_len == 0 ||
	    atl_json_parse((const char *)r->body, r->body_len, &v) != ATL_OK)
		return;
	e = json_object_get(v, "error");
	if (json_is_object(e)) {
		if (atl_json_get_str(e, "code", &c) != ATL_OK)
			c = NULL;
		if (atl_json_get_str(e, "message", &m) != ATL_OK)
			m = NULL;
		copy_printable(code, code_cap, c);
		copy_printable(message, message_cap, m);
	}
	json_decref(v);
}

enum atl_err atl_http_client_json(struct atl_http_client *c, const char *method, const char *url,
				  const json_t *body, long *status_out, json_t **json_out)
{
	struct atl_http_response r = {0};
	struct atl_http_call call = {0};
	char *text = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (status_out != NULL)
		*status_out = 0;
	if (json_out != NULL)
		*json_out = NULL;
	if (status_out == NULL || json_out == NULL)
		return ATL_E_ARG;
	if (body != NULL) {
		text = atl_json_dump(body);
		if (text == NULL)
			return ATL_E_NOMEM;
		call.body = text;
		call.body_len = strlen(text);
	}
	call.method = method;
	call.url = url;
	ATL_TRY(atl_http_client_do(c, &call, &r));
	*status_out = r.status;
	if (r.body_len > 0)
		ATL_TRY(atl_json_parse((const char *)r.body, r.body_len, json_out));
	rc = ATL_OK;
out:
	atl_http_response_clear(&r);
	if (text != NULL) {
		atl_wipe(text, strlen(text));
		free(text);
	}
	return rc;
}
