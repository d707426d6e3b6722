/* HTTP server adapter over libmicrohttpd (include/atoll/http.h,
 * docs/internals/http.md).
 *
 * Flow per request: first callback (headers parsed) → route lookup (404/405
 * answered at once) and Content-Length check (413 answered before any body is
 * read) → body chunks appended to a buffer capped at the route's limit → last
 * callback: the handler runs and its response is queued. The per-request
 * state is freed (body wiped) in the completion callback. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#define ATL_LOG_MODULE "http"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#define HEADER_MEMORY_MAX (64u * 1024u) /* MHD's per-connection buffer (headers) */

/* A connection still receiving its request, watched for the request deadline. */
struct watch {
	int fd;            /* -1: slot free */
	int64_t start_ms;  /* accept time (monotonic) */
	bool done;         /* the whole request arrived (or it was cut) */
};

struct atl_http_server {
	struct MHD_Daemon *d;
	/* request deadline watchdog */
	pthread_mutex_t wmu;
	pthread_t wthread;
	bool wthread_on, wstop;
	struct watch *watches;
	size_t n_watches;
	int64_t request_ms;
	const struct atl_http_route *routes;
	size_t n_routes;
	void *ctx;
	size_t body_max;
	uint16_t port;
	bool require_client_cert;
	char *cert_pem, *key_pem, *ca_pem; /* copies for libmicrohttpd; key wiped */
};

struct reqstate {
	const struct atl_http_route *route;
	size_t max;
	uint8_t *body;
	size_t len, cap;
	char params[ATL_HTTP_PARAMS_MAX][ATL_HTTP_SEGMENT_MAX + 1];
	size_t n_params;
	bool answered; /* an error was queued on the first call */
};

/* ---------------------------------------------------------------- routes */

/* Checks a pattern: "/" then segments that are literal or "{name}". */
static bool pattern_ok(const char *p)
{
	size_t n_params = 0;

	if (p == NULL || p[0] != '/')
		return false;
	for (const char *s = p + 1; *s != '\0';) {
		const char *e = strchr(s, '/');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
		if (len > 0 && s[0] == '{') {
			if (len < 3 || s[len - 1] != '}' || ++n_params > ATL_HTTP_PARAMS_MAX)
				return false;
		}
		if (e == NULL)
			break;
		s = e + 1;
	}
	return true;
}

/* Matches path against pattern segment by segment, capturing "{…}" segments
 * (non-empty, at most ATL_HTTP_SEGMENT_MAX bytes) into st->params. */
static bool match(const char *pattern, const char *path, struct reqstate *st)
{
	const char *p = pattern, *q = path;
	size_t n = 0;

	if (path[0] != '/')
		return false;
	for (;;) {
		const char *pe, *qe;
		size_t plen, qlen;

		p++; /* skip '/' */
		q++;
		pe = strchr(p, '/');
		qe = strchr(q, '/');
		plen = pe != NULL ? (size_t)(pe - p) : strlen(p);
		qlen = qe != NULL ? (size_t)(qe - q) : strlen(q);
		if (plen > 0 && p[0] == '{') {
			if (qlen == 0 || qlen > ATL_HTTP_SEGMENT_MAX || n >= ATL_HTTP_PARAMS_MAX)
				return false;
			if (st != NULL) {
				memcpy(st->params[n], q, qlen);
				st->params[n][qlen] = '\0';
			}
			n++;
		} else if (plen != qlen || memcmp(p, q, plen) != 0) {
			return false;
		}
		if ((pe == NULL) != (qe == NULL))
			return false;
		if (pe == NULL)
			break;
		p = pe;
		q = qe;
	}
	if (st != NULL)
		st->n_params = n;
	return true;
}

/* ------------------------------------------------------------- responses */

/* Response bodies are copied behind a length header so that the free
 * callback (which gets only the pointer) can wipe them. */
static void free_body(void *data)
{
	uint8_t *base;
	size_t len;

	if (data == NULL)
		return;
	base = (uint8_t *)data - sizeof(size_t);
	memcpy(&len, base, sizeof(len));
	atl_wipe(base, sizeof(size_t) + len);
	free(base);
}

static bool header_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return false;
	return true;
}

static enum MHD_Result queue(struct MHD_Connection *conn, int status, const char *body,
			     size_t len, const char *ctype, const char *allow,
			     const char *set_cookie)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (len > 0) {
		uint8_t *base = malloc(sizeof(size_t) + len);
		if (base == NULL)
			return MHD_NO;
		memcpy(base, &len, sizeof(len));
		memcpy(base + sizeof(size_t), body, len);
		r = MHD_create_response_from_buffer_with_free_callback(len, base + sizeof(size_t),
								       free_body);
		if (r == NULL) {
			free_body(base + sizeof(size_t));
			return MHD_NO;
		}
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				ctype != NULL ? ctype : "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (set_cookie != NULL && set_cookie[0] != '\0' && header_value_ok(set_cookie))
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, set_cookie);
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, int status, const char *code,
				   const char *message, const char *allow)
{
	struct atl_http_resp resp = {0};
	enum MHD_Result ret;

	atl_http_resp_error(&resp, status, code, message);
	ret = queue(conn, resp.status, resp.body, resp.body_len, NULL, allow, NULL);
	free(resp.body);
	return ret;
}

void atl_http_resp_json(struct atl_http_resp *resp, int status, const json_t *v)
{
	char *s;

	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->content_type = "application/json";
	s = v != NULL ? atl_json_dump(v) : NULL;
	if (s == NULL) {
		resp->status = 500;
		return;
	}
	resp->status = status;
	resp->body = s;
	resp->body_len = strlen(s);
}

void atl_http_resp_error(struct atl_http_resp *resp, int status, const char *code,
			 const char *message)
{
	json_t *v = json_pack("{s:{s:s,s:s}}", "error", "code", code != NULL ? code : "error",
			      "message", message != NULL ? message : "");

	atl_http_resp_json(resp, status, v);
	json_decref(v);
}

void atl_http_resp_text(struct atl_http_resp *resp, int status, const char *content_type,
			const char *text)
{
	free(resp->body);
	resp->body = strdup(text != NULL ? text : "");
	resp->body_len = resp->body != NULL ? strlen(resp->body) : 0;
	resp->status = resp->body != NULL ? status : 500;
	resp->content_type = content_type != NULL ? content_type : "text/plain; charset=utf-8";
}

int atl_http_status_for(enum atl_err e, const char **code_out)
{
	int status;
	const char *code;

	switch (e) {
	case ATL_OK: status = 200; code = "ok"; break;
	case ATL_E_ARG:
	case ATL_E_FORMAT:
	case ATL_E_TRUNCATED:
	case ATL_E_TRAILING: status = 400; code = "bad_request"; break;
	case ATL_E_AUTH: status = 401; code = "unauthorized"; break;
	case ATL_E_DENIED: status = 403; code = "forbidden"; break;
	case ATL_E_NOTFOUND: status = 404; code = "not_found"; break;
	case ATL_E_EXISTS:
	case ATL_E_STATE:
	case ATL_E_POLICY: status = 409; code = "conflict"; break;
	case ATL_E_LIMIT: status = 413; code = "too_large"; break;
	case ATL_E_BUSY: status = 503; code = "unavailable"; break;
	case ATL_E_TIMEOUT: status = 504; code = "timeout"; break;
	default: status = 500; code = "internal"; break;
	}
	if (code_out != NULL)
		*code_out = code;
	return status;
}

/* --------------------------------------------------------------- requests */

const char *atl_http_req_header(const struct atl_http_req *req, const char *name)
{
	const char *v;

	if (req == NULL || req->conn == NULL || name == NULL)
		return NULL;
	v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
	if (v == NULL || strnlen(v, ATL_HTTP_HEADER_MAX + 1) > ATL_HTTP_HEADER_MAX)
		return NULL;
	return v;
}

const char *atl_http_req_query(const struct atl_http_req *req, const char *key)
{
	const char *v;

	if (req == NULL || req->conn == NULL || key == NULL)
		return NULL;
	v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
	if (v == NULL || strnlen(v, ATL_HTTP_HEADER_MAX + 1) > ATL_HTTP_HEADER_MAX)
		return NULL;
	return v;
}

const char *atl_http_req_bearer(const struct atl_http_req *req)
{
	const char *v = atl_http_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	/* RFC 6750 §2.1: the scheme is case-insensitive */
	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return NULL;
	v += 7;
	while (*v == ' ')
		v++;
	return *v != '\0' ? v : NULL;
}

enum atl_err atl_http_req_json(const struct atl_http_req *req, json_t **out)
{
	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (req == NULL || req->body == NULL || req->body_len == 0)
		return ATL_E_FORMAT;
	return atl_json_parse((const char *)req->body, req->body_len, out);
}

enum atl_err atl_http_req_json_object(const struct atl_http_req *req,
				      const char *const *allowed, json_t **out,
				      struct atl_http_resp *resp)
{
	const char *bad = NULL;
	char msg[128], esc[80];
	json_t *v = NULL;

	if (out == NULL || resp == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (atl_http_req_json(req, &v) != ATL_OK) {
		atl_http_resp_error(resp, 400, "bad_request", "malformed JSON");
		return ATL_E_FORMAT;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		atl_http_resp_error(resp, 400, "bad_request", "expected a JSON object");
		return ATL_E_FORMAT;
	}
	if (allowed != NULL && atl_json_check_keys(v, allowed, &bad) != ATL_OK) {
		/* the name is the client's own bytes: escaped and cut short */
		atl_log_escape(bad != NULL ? bad : "?", bad != NULL ? strnlen(bad, 64) : 1, esc,
			       sizeof(esc));
		snprintf(msg, sizeof(msg), "unknown field '%s'", esc);
		json_decref(v);
		atl_http_resp_error(resp, 400, "bad_request", msg);
		return ATL_E_FORMAT;
	}
	*out = v;
	return ATL_OK;
}

/* Strict decimal Content-Length; false when absent. */
static bool content_length(struct MHD_Connection *conn, uint64_t *len, bool *bad)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n = 0;

	*bad = false;
	if (v == NULL)
		return false;
	if (*v == '\0')
		*bad = true;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10) {
			*bad = true;
			break;
		}
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*len = n;
	return true;
}

static void remote_of(struct MHD_Connection *conn, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(buf, cap, "?");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;
		inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)cap);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a =
			(const struct sockaddr_in6 *)(const void *)ci->client_addr;
		inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)cap);
	}
}

static gnutls_session_t tls_session(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);

	return ci != NULL ? (gnutls_session_t)ci->tls_session : NULL;
}

/* The peer presented a certificate that chains to the configured client CA
 * (GnuTLS checks signature, validity period and key usage). */
static bool client_cert_ok(struct MHD_Connection *conn)
{
	gnutls_session_t ss = tls_session(conn);
	unsigned int status = 1, n = 0;

	if (ss == NULL || gnutls_certificate_get_peers(ss, &n) == NULL || n == 0)
		return false;
	if (gnutls_certificate_verify_peers2(ss, &status) != GNUTLS_E_SUCCESS || status != 0) {
		atl_info("client certificate refused (status 0x%x)", status);
		return false;
	}
	return true;
}

enum atl_err atl_http_req_client_cert_sha256(const struct atl_http_req *req, uint8_t out[32])
{
	const gnutls_datum_t *certs;
	gnutls_session_t ss;
	unsigned int n = 0;
	size_t len = 32;

	if (req == NULL || out == NULL)
		return ATL_E_ARG;
	memset(out, 0, 32);
	ss = req->conn != NULL ? tls_session(req->conn) : NULL;
	if (ss == NULL || (certs = gnutls_certificate_get_peers(ss, &n)) == NULL || n == 0)
		return ATL_E_NOTFOUND;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], out, &len) != GNUTLS_E_SUCCESS ||
	    len != 32)
		return ATL_E_CRYPTO;
	return ATL_OK;
}

/* First call: route, method and size checks. Returns MHD_YES to go on. */
static enum MHD_Result first_call(struct atl_http_server *srv, struct MHD_Connection *conn,
				  const char *url, const char *method, struct reqstate *st)
{
	char allow[128];
	bool path_known = false, bad = false;
	uint64_t clen = 0;

	allow[0] = '\0';
	if (srv->require_client_cert && !client_cert_ok(conn)) {
		st->answered = true;
		return queue_error(conn, 401, "unauthorized", "a valid client certificate is required",
				   NULL);
	}
	for (size_t i = 0; i < srv->n_routes; i++) {
		const struct atl_http_route *r = &srv->routes[i];
		if (!match(r->pattern, url, NULL))
			continue;
		path_known = true;
		if (strcmp(r->method, method) == 0) {
			(void)match(r->pattern, url, st);
			st->route = r;
			break;
		}
		if (strlen(allow) + strlen(r->method) + 3 < sizeof(allow)) {
			if (allow[0] != '\0')
				strcat(allow, ", ");
			strcat(allow, r->method);
		}
	}
	if (st->route == NULL) {
		st->answered = true;
		if (path_known)
			return queue_error(conn, 405, "method_not_allowed",
					   "method not allowed for this path", allow);
		return queue_error(conn, 404, "not_found", "no such endpoint", NULL);
	}
	st->max = st->route->body_max != 0 ? st->route->body_max : srv->body_max;
	if (content_length(conn, &clen, &bad)) {
		if (bad) {
			st->answered = true;
			return queue_error(conn, 400, "bad_request", "bad Content-Length", NULL);
		}
		if (clen > st->max) {
			st->answered = true;
			return queue_error(conn, 413, "too_large", "request body too large", NULL);
		}
	}
	return MHD_YES;
}

/* ------------------------------------------------------- request deadline */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct atl_http_server *srv = cls;
	const union MHD_ConnectionInfo *ci;

	pthread_mutex_lock(&srv->wmu);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_ctx = NULL;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		for (size_t i = 0; ci != NULL && i < srv->n_watches; i++) {
			if (srv->watches[i].fd == -1) {
				srv->watches[i] = (struct watch){
					.fd = ci->connect_fd, .start_ms = atl_time_mono_ms()};
				*socket_ctx = &srv->watches[i];
				break;
			}
		}
	} else if (*socket_ctx != NULL) { /* closed: before libmicrohttpd closes the fd */
		((struct watch *)*socket_ctx)->fd = -1;
		*socket_ctx = NULL;
	}
	pthread_mutex_unlock(&srv->wmu);
}

/* The request of conn arrived in full: stop watching its deadline. */
static void request_arrived(struct atl_http_server *srv, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (ci == NULL || ci->socket_context == NULL)
		return;
	pthread_mutex_lock(&srv->wmu);
	((struct watch *)ci->socket_context)->done = true;
	pthread_mutex_unlock(&srv->wmu);
}

/* Every 250 ms: a connection whose request is not complete by its deadline is
 * shut down (libmicrohttpd then sees the error and closes it). The fd cannot
 * be closed and reused meanwhile: closing notifies on_connection first, which
 * needs the same mutex. */
static void *watchdog(void *arg)
{
	struct atl_http_server *srv = arg;
	struct timespec ts = {0, 250 * 1000 * 1000};

	for (;;) {
		int64_t now = atl_time_mono_ms();
		pthread_mutex_lock(&srv->wmu);
		if (srv->wstop) {
			pthread_mutex_unlock(&srv->wmu);
			return NULL;
		}
		for (size_t i = 0; i < srv->n_watches; i++) {
			struct watch *w = &srv->watches[i];
			if (w->fd >= 0 && !w->done && now - w->start_ms > srv->request_ms) {
				w->done = true;
				atl_info("closing a connection whose request took over %lld s",
					 (long long)(srv->request_ms / 1000));
				(void)shutdown(w->fd, SHUT_RDWR);
			}
		}
		pthread_mutex_unlock(&srv->wmu);
		nanosleep(&ts, NULL);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct atl_http_server *srv = cls;
	struct reqstate *st = *con_cls;
	struct atl_http_req req;
	struct atl_http_resp resp;
	enum MHD_Result ret;

	(void)version;
	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		*con_cls = st;
		return first_call(srv, conn, url, method, st);
	}
	if (st->answered) {
		*upload_size = 0; /* discard */
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;
		if (n > st->max - st->len) {
			/* chunked body over the limit: too late for a clean 413 in
			 * libmicrohttpd 0.9, so the connection is closed */
			atl_info("request body over its %zu-byte limit: closing the connection", st->max);
			return MHD_NO;
		}
		if (st->len + n + 1 > st->cap) {
			size_t cap = st->cap != 0 ? st->cap : 4096;
			uint8_t *b;
			while (cap < st->len + n + 1)
				cap *= 2;
			if (cap > st->max + 1)
				cap = st->max + 1;
			b = malloc(cap);
			if (b == NULL)
				return MHD_NO;
			if (st->len > 0)
				memcpy(b, st->body, st->len);
			if (st->body != NULL) {
				atl_wipe(st->body, st->cap);
				free(st->body);
			}
			st->body = b;
			st->cap = cap;
		}
		memcpy(st->body + st->len, upload_data, n);
		st->len += n;
		st->body[st->len] = 0;
		*upload_size = 0;
		return MHD_YES;
	}
	/* the whole request is here: run the handler */
	request_arrived(srv, conn);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = method;
	req.path = url;
	req.body = st->len > 0 ? st->body : NULL;
	req.body_len = st->len;
	for (size_t i = 0; i < st->n_params; i++)
		req.params[i] = st->params[i];
	req.n_params = st->n_params;
	req.conn = conn;
	remote_of(conn, req.remote, sizeof(req.remote));
	st->route->fn(srv->ctx, &req, &resp);
	if (resp.status < 100 || resp.status > 599) {
		free(resp.body);
		resp.body = NULL;
		atl_http_resp_error(&resp, 500, "internal", "internal error");
	}
	if (atl_log_get_level() <= ATL_LOG_DEBUG) {
		/* the route pattern, not the path: ids stay out of the log */
		atl_debug("%s %s -> %d (%zu bytes in, %zu out)", st->route->method,
			  st->route->pattern, resp.status, st->len, resp.body_len);
	}
	resp.set_cookie[sizeof(resp.set_cookie) - 1] = '\0';
	ret = queue(conn, resp.status, resp.body, resp.body_len, resp.content_type, resp.allow,
		    resp.set_cookie);
	if (resp.body != NULL) {
		atl_wipe(resp.body, resp.body_len);
		free(resp.body);
	}
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct reqstate *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	if (st->body != NULL) {
		atl_wipe(st->body, st->cap);
		free(st->body);
	}
	free(st);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char raw[512], esc[1024];
	size_t n;

	(void)cls;
	n = (size_t)vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n >= sizeof(raw))
		n = sizeof(raw) - 1;
	while (n > 0 && raw[n - 1] == '\n')
		n--;
	atl_log_escape(raw, n, esc, sizeof(esc));
	atl_debug("libmicrohttpd: %s", esc);
}

/* ---------------------------------------------------------------- listen */

/* Parses "HOST:PORT" / "[V6]:PORT" with an IP literal (or "localhost"). */
static enum atl_err parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6,
				 bool *loopback)
{
	char host[64];
	const char *colon, *port;
	unsigned long p = 0;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL || strnlen(s, 128) >= 128)
		return ATL_E_ARG;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL || e[1] != ':')
			return ATL_E_ARG;
		hlen = (size_t)(e - s - 1);
		if (hlen >= sizeof(host))
			return ATL_E_ARG;
		memcpy(host, s + 1, hlen);
		port = e + 2;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return ATL_E_ARG;
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return ATL_E_ARG;
		memcpy(host, s, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	if (*port == '\0' || strlen(port) > 5)
		return ATL_E_ARG;
	for (const char *c = port; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return ATL_E_ARG;
		p = p * 10 + (unsigned long)(*c - '0');
	}
	if (p > 65535)
		return ATL_E_ARG;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (s[0] != '[') {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return ATL_E_ARG;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*v6 = false;
		*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return ATL_E_ARG;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*v6 = true;
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return ATL_OK;
}

enum atl_err atl_http_server_start(const struct atl_http_server_opts *opts,
				   const struct atl_http_route *routes, size_t n_routes, void *ctx,
				   struct atl_http_server **srv_out)
{
	static const struct atl_http_server_opts defaults = {0};
	struct atl_http_server *srv = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	unsigned int flags;
	bool v6 = false, loopback = false;
	enum atl_err rc = ATL_E_INTERNAL;

	if (srv_out == NULL)
		return ATL_E_ARG;
	*srv_out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (routes == NULL || n_routes == 0)
		return ATL_E_ARG;
	for (size_t i = 0; i < n_routes; i++) {
		if (routes[i].method == NULL || routes[i].fn == NULL ||
		    !pattern_ok(routes[i].pattern))
			return ATL_E_ARG;
	}
	rc = parse_listen(opts->listen != NULL ? opts->listen : "127.0.0.1:0", &ss, &v6,
			  &loopback);
	if (rc != ATL_OK)
		return rc;
	if (!loopback && !opts->allow_public) {
		atl_error("refusing to listen on a non-loopback address without an explicit "
			  "opt-in");
		return ATL_E_POLICY;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return ATL_E_NOMEM;
	srv->routes = routes;
	srv->n_routes = n_routes;
	srv->ctx = ctx;
	srv->body_max = opts->body_max != 0 ? opts->body_max : ATL_HTTP_BODY_MAX;
	srv->request_ms = 1000 * (int64_t)(opts->request_timeout_s != 0
						   ? opts->request_timeout_s
						   : ATL_HTTP_REQUEST_TIMEOUT_S_DEFAULT);
	srv->n_watches = (opts->conn_max != 0 ? opts->conn_max : ATL_HTTP_CONN_MAX) + 16;
	srv->watches = calloc(srv->n_watches, sizeof(*srv->watches));
	if (srv->watches == NULL || pthread_mutex_init(&srv->wmu, NULL) != 0) {
		free(srv->watches);
		free(srv);
		return ATL_E_NOMEM;
	}
	for (size_t i = 0; i < srv->n_watches; i++)
		srv->watches[i].fd = -1;
	if (pthread_create(&srv->wthread, NULL, watchdog, srv) != 0) {
		pthread_mutex_destroy(&srv->wmu);
		free(srv->watches);
		free(srv);
		return ATL_E_NOMEM;
	}
	srv->wthread_on = true;
	flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	{
		struct MHD_OptionItem o[20];
		size_t n = 0;
#define OPT(opt, val, ptr) o[n++] = (struct MHD_OptionItem){(opt), (intptr_t)(val), (ptr)}
		OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL); /* first, to catch all */
		OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
		OPT(MHD_OPTION_CONNECTION_TIMEOUT,
		    opts->timeout_s != 0 ? opts->timeout_s : ATL_HTTP_TIMEOUT_S_DEFAULT, NULL);
		OPT(MHD_OPTION_CONNECTION_LIMIT,
		    opts->conn_max != 0 ? opts->conn_max : ATL_HTTP_CONN_MAX, NULL);
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    opts->per_ip_conn_max != 0 ? opts->per_ip_conn_max : ATL_HTTP_PER_IP_CONN_MAX,
		    NULL);
		OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, HEADER_MEMORY_MAX, NULL);
		OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv);
		OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv);
		if (opts->tls_cert_pem != NULL) {
			if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
				rc = ATL_E_UNSUPPORTED;
				goto out;
			}
			if (opts->tls_key_pem == NULL) {
				rc = ATL_E_ARG;
				goto out;
			}
			srv->cert_pem = strdup(opts->tls_cert_pem);
			srv->key_pem = strdup(opts->tls_key_pem);
			if (srv->cert_pem == NULL || srv->key_pem == NULL) {
				rc = ATL_E_NOMEM;
				goto out;
			}
			flags |= MHD_USE_TLS;
			OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem);
			OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem);
			OPT(MHD_OPTION_HTTPS_PRIORITIES, 0,
			    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
			if (opts->tls_client_ca_pem != NULL) {
				srv->ca_pem = strdup(opts->tls_client_ca_pem);
				if (srv->ca_pem == NULL) {
					rc = ATL_E_NOMEM;
					goto out;
				}
				OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->ca_pem);
				srv->require_client_cert = true;
			}
		} else if (opts->tls_key_pem != NULL || opts->tls_client_ca_pem != NULL) {
			rc = ATL_E_ARG;
			goto out;
		}
		OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
		srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
					  MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	}
	if (srv->d == NULL) {
		atl_error("cannot listen on %s%s", opts->listen != NULL ? opts->listen : "default",
			  srv->cert_pem != NULL ? " (or the TLS certificate/key is unusable)" : "");
		rc = ATL_E_IO;
		goto out;
	}
	di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	if (di == NULL || di->port == 0) {
		rc = ATL_E_IO;
		goto out;
	}
	srv->port = di->port;
	*srv_out = srv;
	srv = NULL;
	rc = ATL_OK;
out:
	atl_http_server_stop(srv);
	return rc;
}

uint16_t atl_http_server_port(const struct atl_http_server *srv)
{
	return srv != NULL ? srv->port : 0;
}

void atl_http_server_stop(struct atl_http_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->d != NULL)
		MHD_stop_daemon(srv->d);
	if (srv->wthread_on) {
		pthread_mutex_lock(&srv->wmu);
		srv->wstop = true;
		pthread_mutex_unlock(&srv->wmu);
		pthread_join(srv->wthread, NULL);
		pthread_mutex_destroy(&srv->wmu);
	}
	free(srv->watches);
	free(srv->cert_pem);
	free(srv->ca_pem);
	if (srv->key_pem != NULL) {
		atl_wipe(srv->key_pem, strlen(srv->key_pem));
		free(srv->key_pem);
	}
	free(srv);
}
