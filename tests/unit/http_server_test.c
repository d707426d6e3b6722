/* Unit tests for the HTTP adapters (src/http/): a real server on
 * 127.0.0.1 with an ephemeral port and the real client, plus raw sockets for
 * what a well-behaved client never does (slow headers, chunked oversize). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/timeutil.h"
#include "atoll/json.h"

static void h_health(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	(void)ctx;
	(void)req;
	atl_http_resp_text(resp, 200, NULL, "ok\n");
}

static void h_echo(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	json_t *v = NULL;
	enum atl_err rc;

	(void)ctx;
	rc = atl_http_req_json(req, &v);
	if (rc != ATL_OK) {
		atl_http_resp_error(resp, 400, "bad_request", "malformed JSON");
		return;
	}
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
}

static void h_strict(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	static const char *const keys[] = {"workload_id", "input", NULL};
	json_t *v = NULL;

	(void)ctx;
	if (atl_http_req_json_object(req, keys, &v, resp) != ATL_OK)
		return;
	atl_http_resp_json(resp, 201, v);
	json_decref(v);
}

static void h_job(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	json_t *v;

	(void)ctx;
	v = json_pack("{s:s,s:I}", "id", req->params[0], "n", (json_int_t)req->n_params);
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
}

static void h_whoami(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	const char *b = atl_http_req_bearer(req), *x = atl_http_req_query(req, "x");
	json_t *v;

	(void)ctx;
	if (b == NULL) {
		atl_http_resp_error(resp, 401, "unauthorized", "missing API key");
		return;
	}
	v = json_pack("{s:s,s:s?,s:s}", "bearer", b, "x", x, "remote", req->remote);
	atl_http_resp_json(resp, 200, v);
	json_decref(v);
}

static void h_cert(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	uint8_t fp[32];
	char hex[65];

	(void)ctx;
	if (atl_http_req_client_cert_sha256(req, fp) != ATL_OK) {
		atl_http_resp_text(resp, 200, NULL, "none");
		return;
	}
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", fp[i]);
	atl_http_resp_text(resp, 200, NULL, hex);
}

static void h_slow(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	(void)ctx;
	(void)req;
	usleep(1500 * 1000);
	atl_http_resp_text(resp, 200, NULL, "late");
}

static void h_bad(void *ctx, const struct atl_http_req *req, struct atl_http_resp *resp)
{
	(void)ctx;
	(void)req;
	(void)resp; /* a handler that forgets to answer gets a 500 */
}

static const struct atl_http_route routes[] = {
	{"GET", "/healthz", h_health, 0},
	{"POST", "/echo", h_echo, 0},
	{"GET", "/api/v1/jobs/{id}", h_job, 0},
	{"DELETE", "/api/v1/jobs/{id}", h_job, 0},
	{"GET", "/whoami", h_whoami, 0},
	{"POST", "/small", h_echo, 16},
	{"GET", "/slow", h_slow, 0},
	{"GET", "/bad", h_bad, 0},
	{"GET", "/cert", h_cert, 0},
	{"POST", "/strict", h_strict, 0},
};

static struct atl_http_server *srv;
static char base[64];

static int setup(void **state)
{
	struct atl_http_server_opts o = {.listen = "127.0.0.1:0", .timeout_s = 1};

	(void)state;
	if (atl_http_server_start(&o, routes, sizeof(routes) / sizeof(routes[0]), NULL, &srv) !=
	    ATL_OK)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", atl_http_server_port(srv));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	atl_http_server_stop(srv);
	srv = NULL;
	return 0;
}

static void url_of(char *buf, size_t cap, const char *path)
{
	snprintf(buf, cap, "%s%s", base, path);
}

static long get(struct atl_http_client *c, const char *method, const char *path,
		const char *body, struct atl_http_response *r)
{
	char url[256];
	struct atl_http_call call = {.method = method, .url = url, .body = body,
				     .body_len = body != NULL ? strlen(body) : 0};

	url_of(url, sizeof(url), path);
	assert_int_equal(atl_http_client_do(c, &call, r), ATL_OK);
	return r->status;
}

static void assert_error_code(const struct atl_http_response *r, const char *code)
{
	json_t *v = NULL, *e;
	const char *got = NULL;

	assert_int_equal(atl_json_parse((const char *)r->body, r->body_len, &v), ATL_OK);
	e = json_object_get(v, "error");
	assert_non_null(e);
	assert_int_equal(atl_json_get_str(e, "code", &got), ATL_OK);
	assert_string_equal(got, code);
	assert_int_equal(atl_json_get_str(e, "message", &got), ATL_OK);
	json_decref(v);
}

static void test_routing(void **state)
{
	struct atl_http_client *c = NULL;
	struct atl_http_response r;
	json_t *v = NULL;
	long status = 0;
	const char *s;
	char url[256];

	(void)state;
	assert_int_equal(atl_http_client_new(NULL, &c), ATL_OK);
	assert_int_equal(get(c, NULL, "/healthz", NULL, &r), 200);
	assert_string_equal((char *)r.body, "ok\n");
	{
		char code[16], msg[32];
		atl_http_response_error(&r, code, sizeof(code), msg, sizeof(msg));
		assert_string_equal(code, "");
		assert_string_equal(msg, "");
	}
	atl_http_response_clear(&r);

	assert_int_equal(get(c, NULL, "/nope", NULL, &r), 404);
	assert_error_code(&r, "not_found");
	{
		char code[16], msg[8];
		atl_http_response_error(&r, code, sizeof(code), msg, sizeof(msg));
		assert_string_equal(code, "not_found");
		assert_string_equal(msg, "no such"); /* truncated to the buffer */
	}
	atl_http_response_clear(&r);
	assert_int_equal(get(c, NULL, "/healthz/", NULL, &r), 404);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, NULL, "/api/v1/jobs/", NULL, &r), 404);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, NULL, "/api/v1/jobs/a/b", NULL, &r), 404);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "POST", "/healthz", "{}", &r), 405);
	assert_error_code(&r, "method_not_allowed");
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "PUT", "/api/v1/jobs/x", "{}", &r), 405);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, NULL, "/bad", NULL, &r), 500);
	assert_error_code(&r, "internal");
	atl_http_response_clear(&r);

	/* path parameters and JSON convenience */
	url_of(url, sizeof(url), "/api/v1/jobs/job_123");
	assert_int_equal(atl_http_client_json(c, "GET", url, NULL, &status, &v), ATL_OK);
	assert_int_equal(status, 200);
	assert_int_equal(atl_json_get_str(v, "id", &s), ATL_OK);
	assert_string_equal(s, "job_123");
	json_decref(v);
	assert_int_equal(atl_http_client_json(c, "DELETE", url, NULL, &status, &v), ATL_OK);
	assert_int_equal(status, 200);
	json_decref(v);

	/* JSON bodies: echo, malformed → 400, empty → 400 */
	{
		json_t *in = json_pack("{s:s,s:i}", "workload_id", "clf", "n", 3);
		url_of(url, sizeof(url), "/echo");
		assert_int_equal(atl_http_client_json(c, "POST", url, in, &status, &v), ATL_OK);
		assert_int_equal(status, 200);
		assert_true(json_equal(in, v));
		json_decref(v);
		json_decref(in);
	}
	assert_int_equal(get(c, "POST", "/echo", "{\"a\":", &r), 400);
	assert_error_code(&r, "bad_request");
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "POST", "/echo", "{\"a\":1,\"a\":2}", &r), 400);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "POST", "/echo", "", &r), 400);
	atl_http_response_clear(&r);

	/* strict JSON objects */
	assert_int_equal(get(c, "POST", "/strict", "{\"workload_id\":\"clf\"}", &r), 201);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "POST", "/strict", "[1]", &r), 400);
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "POST", "/strict", "{\"workload_id\":1,\"evil\\n\":2}", &r), 400);
	{
		char code[16], msg[64];
		atl_http_response_error(&r, code, sizeof(code), msg, sizeof(msg));
		assert_string_equal(msg, "unknown field 'evil\\x0a'");
	}
	atl_http_response_clear(&r);
	atl_http_client_free(c);
}

static void test_auth_query(void **state)
{
	struct atl_http_client_opts o = {.bearer = "ak_0123456789abcdef"};
	struct atl_http_client *c = NULL;
	struct atl_http_response r;
	json_t *v = NULL;
	const char *s;

	(void)state;
	assert_int_equal(atl_http_client_new(&o, &c), ATL_OK);
	assert_int_equal(get(c, NULL, "/whoami?x=hello", NULL, &r), 200);
	assert_int_equal(atl_json_parse((const char *)r.body, r.body_len, &v), ATL_OK);
	assert_int_equal(atl_json_get_str(v, "bearer", &s), ATL_OK);
	assert_string_equal(s, "ak_0123456789abcdef");
	assert_int_equal(atl_json_get_str(v, "x", &s), ATL_OK);
	assert_string_equal(s, "hello");
	assert_int_equal(atl_json_get_str(v, "remote", &s), ATL_OK);
	assert_string_equal(s, "127.0.0.1");
	json_decref(v);
	atl_http_response_clear(&r);
	atl_http_client_free(c);

	assert_int_equal(atl_http_client_new(NULL, &c), ATL_OK);
	assert_int_equal(get(c, NULL, "/whoami", NULL, &r), 401);
	assert_error_code(&r, "unauthorized");
	atl_http_response_clear(&r);
	atl_http_client_free(c);

	/* a bearer with a newline could inject headers */
	o.bearer = "ak_x\r\nX-Evil: 1";
	assert_int_equal(atl_http_client_new(&o, &c), ATL_E_ARG);
	assert_null(c);
}

static void test_limits(void **state)
{
	struct atl_http_client_opts o = {.timeout_ms = 300, .response_max = 8};
	struct atl_http_client *c = NULL;
	struct atl_http_response r;
	struct atl_http_call call = {0};
	char url[256];
	char big[64];

	(void)state;
	assert_int_equal(atl_http_client_new(NULL, &c), ATL_OK);
	/* over the route's 16-byte limit: 413 before the body is read */
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(get(c, "POST", "/small", big, &r), 413);
	assert_error_code(&r, "too_large");
	atl_http_response_clear(&r);
	assert_int_equal(get(c, "POST", "/small", "{\"a\":1}", &r), 200);
	atl_http_response_clear(&r);
	atl_http_client_free(c);

	/* client: total timeout and response cap */
	assert_int_equal(atl_http_client_new(&o, &c), ATL_OK);
	url_of(url, sizeof(url), "/slow");
	call.url = url;
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_E_TIMEOUT);
	assert_null(r.body);
	url_of(url, sizeof(url), "/api/v1/jobs/a-rather-long-identifier");
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_E_LIMIT);
	url_of(url, sizeof(url), "/healthz");
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_OK); /* 3 bytes fit */
	atl_http_response_clear(&r);
	/* bad scheme, bad method, nobody listening */
	call.url = "file:///etc/passwd";
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_E_ARG);
	call.url = "ftp://127.0.0.1/";
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_E_ARG);
	call.url = url;
	call.method = "TRACE";
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_E_ARG);
	call.method = NULL;
	call.url = "http://127.0.0.1:1/";
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_E_IO);
	atl_http_client_free(c);
}

/* Raw client: connect to the server. */
static int raw_connect(void)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_port = htons(atl_http_server_port(srv));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads until the server closes (bounded: 10 s); returns bytes read. */
static size_t read_until_closed(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	for (int i = 0; i < 100; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0) {
			buf[got] = '\0';
			return got;
		}
		got += (size_t)n;
		if (got >= cap - 1)
			break;
	}
	fail_msg("server did not close the connection within 10 s");
	return got;
}

static void test_slow_client(void **state)
{
	static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	char buf[1024];
	int fd;

	(void)state;
	/* headers never finished: the 1 s inactivity timeout closes it */
	fd = raw_connect();
	assert_int_equal(send(fd, partial, sizeof(partial) - 1, 0), (ssize_t)sizeof(partial) - 1);
	assert_int_equal(read_until_closed(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* an idle connection that never sends anything is closed too */
	fd = raw_connect();
	assert_int_equal(read_until_closed(fd, buf, sizeof(buf)), 0);
	close(fd);
}

/* Slow-loris: a client that sends one header byte every 300 ms never trips
 * the 1 s inactivity timeout, but the 2 s request deadline cuts it; a normal
 * request on another connection is served meanwhile. */
static void test_slow_loris(void **state)
{
	static const char hdr[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa";
	struct atl_http_server_opts o = {.listen = "127.0.0.1:0", .timeout_s = 1,
					 .request_timeout_s = 2};
	struct atl_http_server *s2 = NULL, *saved = srv;
	struct atl_http_client *c = NULL;
	struct atl_http_response r = {0};
	int64_t t0;
	bool closed = false;
	char url[128];
	int fd;

	(void)state;
	assert_int_equal(atl_http_server_start(&o, routes, sizeof(routes) / sizeof(routes[0]), NULL,
					       &s2),
			 ATL_OK);
	srv = s2; /* raw_connect uses srv's port */
	fd = raw_connect();
	t0 = atl_time_mono_ms();
	for (size_t i = 0; i < sizeof(hdr) - 1 && atl_time_mono_ms() - t0 < 8000; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (send(fd, hdr + i, 1, MSG_NOSIGNAL) != 1 ||
		    (poll(&p, 1, 300) > 0 && recv(fd, url, 1, 0) <= 0)) {
			closed = true;
			break;
		}
	}
	assert_true(closed);
	assert_true(atl_time_mono_ms() - t0 >= 1500); /* not the inactivity timeout */
	assert_true(atl_time_mono_ms() - t0 < 6000);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", atl_http_server_port(s2));
	assert_int_equal(atl_http_client_new(NULL, &c), ATL_OK);
	{
		struct atl_http_call call = {.method = "GET", .url = url};
		assert_int_equal(atl_http_client_do(c, &call, &r), ATL_OK);
	}
	assert_int_equal(r.status, 200);
	atl_http_response_clear(&r);
	atl_http_client_free(c);
	srv = saved;
	atl_http_server_stop(s2);
}

static void test_chunked_oversize(void **state)
{
	static const char req[] = "POST /small HTTP/1.1\r\nHost: x\r\n"
				  "Content-Type: application/json\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"
				  "20\r\n{\"a\":\"0123456789012345678901\"}  \r\n0\r\n\r\n";
	char buf[2048];
	int fd;

	(void)state;
	fd = raw_connect();
	assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
	(void)read_until_closed(fd, buf, sizeof(buf));
	assert_null(strstr(buf, "200 OK")); /* never handled */
	close(fd);
}

static void *hammer(void *arg)
{
	struct atl_http_client *c = NULL;
	struct atl_http_response r;
	char url[256];
	struct atl_http_call call = {.url = url};
	intptr_t ok = 0;

	(void)arg;
	url_of(url, sizeof(url), "/healthz");
	if (atl_http_client_new(NULL, &c) != ATL_OK)
		return (void *)0;
	for (int i = 0; i < 3; i++) {
		if (atl_http_client_do(c, &call, &r) == ATL_OK && r.status == 200)
			ok++;
		atl_http_response_clear(&r);
	}
	atl_http_client_free(c);
	return (void *)ok;
}

/* 200 clients at once (DESIGN: the server stays up under 200 concurrent
 * clients), each with its own connection, 3 requests each. */
static void test_concurrent(void **state)
{
	enum { N = 200 };
	static pthread_t th[N];
	struct atl_http_client *c = NULL;
	struct atl_http_response r;

	(void)state;
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < N; i++) {
		void *ok;
		assert_int_equal(pthread_join(th[i], &ok), 0);
		assert_int_equal((intptr_t)ok, 3);
	}
	assert_int_equal(atl_http_client_new(NULL, &c), ATL_OK);
	assert_int_equal(get(c, NULL, "/healthz", NULL, &r), 200); /* still up */
	atl_http_response_clear(&r);
	atl_http_client_free(c);
}

static void test_listen(void **state)
{
	struct atl_http_server_opts o = {0};
	struct atl_http_server *s2 = NULL;

	(void)state;
	o.listen = "0.0.0.0:0";
	assert_int_equal(atl_http_server_start(&o, routes, 1, NULL, &s2), ATL_E_POLICY);
	o.listen = "127.0.0.1";
	assert_int_equal(atl_http_server_start(&o, routes, 1, NULL, &s2), ATL_E_ARG);
	o.listen = "127.0.0.1:99999";
	assert_int_equal(atl_http_server_start(&o, routes, 1, NULL, &s2), ATL_E_ARG);
	o.listen = "example.com:80";
	assert_int_equal(atl_http_server_start(&o, routes, 1, NULL, &s2), ATL_E_ARG);
	{
		/* the port is taken by the fixture's server */
		char l[32];
		snprintf(l, sizeof(l), "127.0.0.1:%u", atl_http_server_port(srv));
		o.listen = l;
		assert_int_equal(atl_http_server_start(&o, routes, 1, NULL, &s2), ATL_E_IO);
	}
	{
		static const struct atl_http_route bad[] = {{"GET", "nope", h_health, 0}};
		o.listen = NULL;
		assert_int_equal(atl_http_server_start(&o, bad, 1, NULL, &s2), ATL_E_ARG);
	}
	o.listen = "[::1]:0";
	if (atl_http_server_start(&o, routes, 1, NULL, &s2) == ATL_OK) { /* no IPv6: skip */
		assert_true(atl_http_server_port(s2) > 0);
		atl_http_server_stop(s2);
	}
	assert_int_equal(atl_http_status_for(ATL_E_NOTFOUND, NULL), 404);
	assert_int_equal(atl_http_status_for(ATL_E_LIMIT, NULL), 413);
	assert_int_equal(atl_http_status_for(ATL_E_AUTH, NULL), 401);
	assert_int_equal(atl_http_status_for(ATL_E_DENIED, NULL), 403);
	assert_int_equal(atl_http_status_for(ATL_E_STATE, NULL), 409);
	assert_int_equal(atl_http_status_for(ATL_E_INTERNAL, NULL), 500);
}

static char *vector(const char *name)
{
	const char *src = getenv("ATL_SOURCE_DIR");
	char path[1024];
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/tests/vectors/http/%s", src != NULL ? src : ATL_SOURCE_DIR,
		 name);
	assert_int_equal(atl_file_read(path, 65536, &buf, &len), ATL_OK);
	return (char *)buf;
}

static void vector_path(char *buf, size_t cap, const char *name)
{
	const char *src = getenv("ATL_SOURCE_DIR");

	snprintf(buf, cap, "%s/tests/vectors/http/%s", src != NULL ? src : ATL_SOURCE_DIR, name);
}

static long tls_get(struct atl_http_server *s, const struct atl_http_client_opts *o,
		    const char *scheme, const char *path, enum atl_err want,
		    struct atl_http_response *r)
{
	struct atl_http_client *c = NULL;
	char url[256];
	struct atl_http_call call = {.url = url};

	snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", scheme, atl_http_server_port(s), path);
	assert_int_equal(atl_http_client_new(o, &c), ATL_OK);
	assert_int_equal(atl_http_client_do(c, &call, r), want);
	atl_http_client_free(c);
	return r->status;
}

static void test_tls(void **state)
{
	char *cert = vector("server.pem"), *key = vector("server.key"), *ca = vector("ca.pem");
	char ca_path[1024], cc[1024], ck[1024], rc_[1024], rk[1024];
	struct atl_http_server_opts so = {.tls_cert_pem = cert, .tls_key_pem = key};
	struct atl_http_client_opts co = {.ca_file = ca_path};
	struct atl_http_server *s = NULL;
	struct atl_http_response r;

	(void)state;
	vector_path(ca_path, sizeof(ca_path), "ca.pem");
	vector_path(cc, sizeof(cc), "client.pem");
	vector_path(ck, sizeof(ck), "client.key");
	vector_path(rc_, sizeof(rc_), "rogue.pem");
	vector_path(rk, sizeof(rk), "rogue.key");

	/* HTTPS */
	assert_int_equal(atl_http_server_start(&so, routes, sizeof(routes) / sizeof(routes[0]), NULL,
					       &s),
			 ATL_OK);
	assert_int_equal(tls_get(s, &co, "https", "/healthz", ATL_OK, &r), 200);
	assert_string_equal((char *)r.body, "ok\n");
	atl_http_response_clear(&r);
	assert_int_equal(tls_get(s, &co, "https", "/cert", ATL_OK, &r), 200);
	assert_string_equal((char *)r.body, "none");
	atl_http_response_clear(&r);
	/* the client verifies the server: not in the system store */
	(void)tls_get(s, NULL, "https", "/healthz", ATL_E_AUTH, &r);
	/* plain HTTP to a TLS port fails */
	(void)tls_get(s, &co, "http", "/healthz", ATL_E_IO, &r);
	atl_http_server_stop(s);

	/* mTLS: a client certificate from the CA is required */
	so.tls_client_ca_pem = ca;
	assert_int_equal(atl_http_server_start(&so, routes, sizeof(routes) / sizeof(routes[0]), NULL,
					       &s),
			 ATL_OK);
	assert_int_equal(tls_get(s, &co, "https", "/healthz", ATL_OK, &r), 401);
	assert_error_code(&r, "unauthorized");
	atl_http_response_clear(&r);
	co.cert_file = rc_;
	co.key_file = rk;
	assert_int_equal(tls_get(s, &co, "https", "/healthz", ATL_OK, &r), 401);
	atl_http_response_clear(&r);
	co.cert_file = cc;
	co.key_file = ck;
	assert_int_equal(tls_get(s, &co, "https", "/cert", ATL_OK, &r), 200);
	assert_int_equal(r.body_len, 64); /* SHA-256 of the client certificate */
	atl_http_response_clear(&r);
	atl_http_server_stop(s);

	/* TLS option errors */
	so.tls_key_pem = NULL;
	assert_int_equal(atl_http_server_start(&so, routes, 1, NULL, &s), ATL_E_ARG);
	so.tls_cert_pem = NULL;
	assert_int_equal(atl_http_server_start(&so, routes, 1, NULL, &s), ATL_E_ARG);
	so.tls_cert_pem = "not a certificate";
	so.tls_key_pem = key;
	so.tls_client_ca_pem = NULL;
	assert_int_equal(atl_http_server_start(&so, routes, 1, NULL, &s), ATL_E_IO);
	free(cert);
	free(key);
	free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing),      cmocka_unit_test(test_auth_query),
		cmocka_unit_test(test_limits),       cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_slow_loris),
		cmocka_unit_test(test_chunked_oversize), cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_listen),       cmocka_unit_test(test_tls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
