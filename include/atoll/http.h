/* HTTP server and client adapters (DESIGN §5, docs/internals/http.md).
 *
 * The server wraps libmicrohttpd, the client libcurl; only src/http/ sees
 * those libraries, every other module speaks these Atoll types.
 *
 * Server: a thread per connection (so a handler may block, e.g. for a
 * long-poll lease), a route table matched on method and path (patterns with
 * "{name}" segments), request bodies buffered up to a per-route limit (a
 * Content-Length over the limit is answered 413 before the body is read; a
 * chunked body that runs over it closes the connection), an inactivity
 * timeout per connection, connection limits in total and per client address,
 * and binding to a loopback address unless the caller explicitly allows
 * otherwise. Unknown paths get 404, known paths with another method 405 with
 * an Allow header, all with JSON error bodies {"error":{"code","message"}}.
 * Request and response bodies are wiped when freed (the proxy handles
 * plaintext).
 *
 * Client: one reusable handle (keeps the connection), http/https only, no
 * redirects, TLS peer and host verification always on, connect and total
 * timeouts, and a cap on the response body size. */
#ifndef ATOLL_HTTP_H
#define ATOLL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "atoll/err.h"
#include "atoll/limits.h"

/* ------------------------------------------------------------------ server */

#define ATL_HTTP_PARAMS_MAX 4            /* "{name}" segments in one route pattern */
#define ATL_HTTP_SEGMENT_MAX 256         /* bytes of one captured path segment */
#define ATL_HTTP_TIMEOUT_S_DEFAULT 30    /* connection inactivity timeout */
#define ATL_HTTP_REQUEST_TIMEOUT_S_DEFAULT 30 /* whole request, accept to handler */
#define ATL_HTTP_SET_COOKIE_MAX 160      /* bytes of a response's Set-Cookie value (with NUL) */

struct atl_http_server;

/* One request as a handler sees it. Everything is borrowed for the duration
 * of the handler call and is untrusted input. */
struct atl_http_req {
	const char *method;     /* "GET", "POST", … */
	const char *path;       /* decoded path, without the query string */
	const uint8_t *body;    /* NUL-terminated (not counted); NULL when empty */
	size_t body_len;
	const char *params[ATL_HTTP_PARAMS_MAX]; /* captured "{name}" segments, in order */
	size_t n_params;
	char remote[64];        /* client address, "127.0.0.1" */
	void *conn;             /* private to src/http/ */
};

/* The handler fills this in; the server sends it and frees body. */
struct atl_http_resp {
	int status;               /* 0 means 500 */
	char *body;               /* malloc'd, taken over by the server; may be NULL */
	size_t body_len;
	const char *content_type; /* static string; default "application/json" */
	const char *allow;        /* static string for an Allow header, or NULL */
	/* A Set-Cookie header value ("" for none; the handler's own text, no
	 * control bytes, else the header is left out). */
	char set_cookie[ATL_HTTP_SET_COOKIE_MAX];
};

typedef void (*atl_http_handler)(void *ctx, const struct atl_http_req *req,
				 struct atl_http_resp *resp);

struct atl_http_route {
	const char *method;   /* "GET", "POST", … (exact) */
	const char *pattern;  /* "/api/v1/jobs/{id}": literal segments and "{name}" */
	atl_http_handler fn;
	size_t body_max;      /* 0: the server's body_max */
};

struct atl_http_server_opts {
	const char *listen;       /* "HOST:PORT" or "[V6]:PORT", IP literals; NULL: "127.0.0.1:0" */
	bool allow_public;        /* required to bind a non-loopback address */
	unsigned timeout_s;       /* inactivity timeout; 0: ATL_HTTP_TIMEOUT_S_DEFAULT */
	size_t body_max;          /* 0: ATL_HTTP_BODY_MAX */
	unsigned conn_max;        /* 0: ATL_HTTP_CONN_MAX */
	unsigned per_ip_conn_max; /* 0: ATL_HTTP_PER_IP_CONN_MAX */
	/* Deadline for receiving a whole request (TLS handshake, headers, body)
	 * from accept until the handler runs, however the bytes trickle in (the
	 * inactivity timeout alone lets a slow-loris client hold a connection
	 * forever); 0: ATL_HTTP_REQUEST_TIMEOUT_S_DEFAULT. */
	unsigned request_timeout_s;
	/* HTTPS (TLS 1.2/1.3): PEM text, not paths; copied. NULL cert: plain HTTP. */
	const char *tls_cert_pem;      /* server certificate chain */
	const char *tls_key_pem;       /* its unencrypted private key */
	const char *tls_client_ca_pem; /* set: every request needs a client certificate
					* issued by this CA (mTLS), else 401 */
};

/* Starts a server in its own threads. routes (and the strings in them) and
 * ctx must outlive the server. Port 0 picks a free port (see
 * atl_http_server_port). ATL_E_ARG for a malformed listen address or route
 * pattern, ATL_E_POLICY for a non-loopback address without allow_public,
 * ATL_E_IO when the address cannot be bound or the TLS certificate or key
 * is unusable, ATL_E_UNSUPPORTED when libmicrohttpd has no TLS. */
ATL_NODISCARD enum atl_err atl_http_server_start(const struct atl_http_server_opts *opts,
						 const struct atl_http_route *routes,
						 size_t n_routes, void *ctx,
						 struct atl_http_server **srv_out);
/* The bound TCP port. */
uint16_t atl_http_server_port(const struct atl_http_server *srv);
/* Stops accepting, waits for running handlers to return, frees; NULL-safe.
 * Handlers that block (long-poll) must watch their own stop flag. */
void atl_http_server_stop(struct atl_http_server *srv);

/* A request header or query argument, or NULL when absent or longer than
 * ATL_HTTP_HEADER_MAX. Borrowed for the handler call. */
const char *atl_http_req_header(const struct atl_http_req *req, const char *name);
const char *atl_http_req_query(const struct atl_http_req *req, const char *key);
/* SHA-256 of the DER client certificate of an mTLS connection (verified
 * against tls_client_ca_pem). ATL_E_NOTFOUND on a connection without one. */
ATL_NODISCARD enum atl_err atl_http_req_client_cert_sha256(const struct atl_http_req *req,
							   uint8_t out[32]);
/* The token of an "Authorization: Bearer TOKEN" header, or NULL. */
const char *atl_http_req_bearer(const struct atl_http_req *req);
/* Parses the body as one JSON document (atl_json_parse limits). ATL_E_FORMAT
 * when it is empty or malformed. */
ATL_NODISCARD enum atl_err atl_http_req_json(const struct atl_http_req *req, json_t **out);

/* Parses the body as a JSON object whose keys are all in `allowed` (a
 * NULL-terminated list; NULL allows any). On failure resp becomes a 400
 * {"error":{"code":"bad_request","message":…}} ("malformed JSON", "expected
 * a JSON object", "unknown field 'x'") and the error is returned
 * (ATL_E_FORMAT). On success *out is the object (json_decref it). */
ATL_NODISCARD enum atl_err atl_http_req_json_object(const struct atl_http_req *req,
						    const char *const *allowed, json_t **out,
						    struct atl_http_resp *resp);
/* Sets resp to status with v serialised as the body (v is not consumed).
 * On allocation failure the response becomes a bare 500. */
void atl_http_resp_json(struct atl_http_resp *resp, int status, const json_t *v);
/* Sets resp to {"error":{"code":code,"message":message}} with status. */
void atl_http_resp_error(struct atl_http_resp *resp, int status, const char *code,
			 const char *message);
/* Sets resp to status with a copy of text (for /metrics and the like). */
void atl_http_resp_text(struct atl_http_resp *resp, int status, const char *content_type,
			const char *text);
/* The HTTP status and error code for an Atoll error: ARG/FORMAT/TRUNCATED/
 * TRAILING 400 "bad_request", AUTH 401 "unauthorized", DENIED 403
 * "forbidden", NOTFOUND 404 "not_found", EXISTS/STATE/POLICY 409 "conflict",
 * LIMIT 413 "too_large", BUSY 503 "unavailable", TIMEOUT 504 "timeout",
 * otherwise 500 "internal". */
int atl_http_status_for(enum atl_err e, const char **code_out);

/* ------------------------------------------------------------------ client */

struct atl_http_client;

struct atl_http_client_opts {
	unsigned connect_timeout_ms; /* 0: 5000 */
	unsigned timeout_ms;         /* whole request; 0: 30000 */
	size_t response_max;         /* 0: ATL_HTTP_RESPONSE_MAX */
	const char *ca_file;         /* PEM bundle for https; NULL: system store */
	const char *cert_file;       /* client certificate for mTLS, or NULL */
	const char *key_file;        /* its private key, or NULL */
	const char *bearer;          /* sent as "Authorization: Bearer …", or NULL */
	bool cookies;                /* keep the cookie the server sets last (one
				      * name=value, in memory, this handle only) and
				      * send it with every later request */
};

struct atl_http_call {
	const char *method;       /* NULL: "GET", or "POST" when body is set */
	const char *url;          /* http:// or https:// */
	const void *body;         /* may be NULL */
	size_t body_len;
	const char *content_type; /* NULL: "application/json" */
	unsigned timeout_ms;      /* 0: the client's (long-polls set a longer one) */
};

struct atl_http_response {
	long status;
	uint8_t *body;   /* malloc'd, NUL-terminated (not counted); wiped by clear */
	size_t body_len;
};

/* Creates a client (opts may be NULL for defaults). Strings in opts are copied. */
ATL_NODISCARD enum atl_err atl_http_client_new(const struct atl_http_client_opts *opts,
					       struct atl_http_client **c_out);
/* NULL-safe. */
void atl_http_client_free(struct atl_http_client *c);
/* Performs one request. A response with any status is ATL_OK (look at
 * status). ATL_E_TIMEOUT when a deadline passed, ATL_E_LIMIT when the response
 * body exceeds response_max, ATL_E_ARG for a bad URL or scheme, ATL_E_AUTH for
 * a TLS verification failure, ATL_E_IO for connection failures. The client is
 * not thread-safe: use one per thread. */
ATL_NODISCARD enum atl_err atl_http_client_do(struct atl_http_client *c,
					      const struct atl_http_call *call,
					      struct atl_http_response *resp_out);
/* Wipes and frees the body; NULL-safe. */
void atl_http_response_clear(struct atl_http_response *r);
/* Copies the code and message of an error body {"error":{"code","message"}}
 * into the buffers (truncated, control bytes replaced by '?'); empty strings
 * when the body is not such a document. For showing a peer's error to a
 * user. */
void atl_http_response_error(const struct atl_http_response *r, char *code, size_t code_cap,
			     char *message, size_t message_cap);
/* JSON convenience: sends body (may be NULL: no body) and parses the response
 * body as JSON when there is one (*json_out NULL otherwise). ATL_E_FORMAT when
 * a non-empty response is not JSON. */
ATL_NODISCARD enum atl_err atl_http_client_json(struct atl_http_client *c, const char *method,
						const char *url, const json_t *body,
						long *status_out, json_t **json_out);

#endif
