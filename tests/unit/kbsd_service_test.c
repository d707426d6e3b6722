/* Unit tests for the key broker service (src/kbsd/): a real server on
 * 127.0.0.1 (ephemeral port) over a fresh broker state per test, driven with
 * the client library (atl_kbsc_*) and with raw HTTP for the malformed cases.
 * Sim TEE evidence over this test binary (/proc/self/exe) under a temporary
 * sim root. Release to a matching enclave (open, decrypt, compare); refusals
 * for a wrong measurement, debug evidence, a stale nonce, another tenant, a
 * used and an expired session (test clock), the per-tenant quota (429,
 * audited); bounded bodies (400/401/413); the KEK rotation schedule (test
 * clock); the audit log verifies and holds no key or plaintext. */
/* atl-test-deps: atoll_kbs atoll_http atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/audit.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/http.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/kbsd.h"
#include "atoll/keys.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

#define PT_LEN 1000u
#define CHUNK 64u

#include "kbs_testutil.h"

static int group_setup(void **st)
{
	(void)st;
	return kbs_fx_setup("/tmp/atl_kbsd_testXXXXXX");
}

/* max_age_s one day: tests move the server clock up to an hour ahead */
static json_t *policy_for(const char *meas)
{
	return kbs_fx_policy(meas, 86400);
}

struct fx {
	char bdir[256];
	char atm[320];
	char mid[ATL_KBS_MODEL_ID_HEX];
	char url[64];
	struct atl_kbsd *d;
	struct atl_kp kp;
	int64_t now; /* the server's clock */
};

static int64_t fx_clock(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

/* A fresh broker (tenants acme and other, one model of acme under policy
 * measurement meas, NULL: this binary's) served on 127.0.0.1:0. */
static void fx_init_opts(struct fx *f, const char *meas, uint32_t quota_n, int64_t rotate_after_s)
{
	struct atl_kbsd_opts o = {0};
	struct atl_kbs *b = NULL;
	char in[256];
	json_t *p;

	memset(f, 0, sizeof(*f));
	f->now = atl_time_now();
	snprintf(f->bdir, sizeof(f->bdir), "%s/kbs%d", dir, ++counter);
	assert_int_equal(atl_kbs_open(f->bdir, signer, &b), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(b, "acme", NULL, NULL), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(b, "other", NULL, NULL), ATL_OK);
	snprintf(in, sizeof(in), "%s/model.bin", dir);
	snprintf(f->atm, sizeof(f->atm), "%s/model.atm", f->bdir);
	assert_int_equal(atl_kbs_model_encrypt(b, "acme", in, f->atm, CHUNK, NULL), ATL_OK);
	p = policy_for(meas ? meas : meas_hex);
	assert_int_equal(atl_kbs_model_register(b, "acme", f->atm, p, f->mid), ATL_OK);
	json_decref(p);
	atl_kbs_close(b);
	assert_int_equal(atl_kp_generate(&f->kp), ATL_OK);
	o.dir = f->bdir;
	o.audit_signer = signer;
	o.quota_n = quota_n;
	o.quota_window_s = 3600;
	o.rotate_after_s = rotate_after_s;
	o.rotate_check_s = 1;
	o.clock = fx_clock;
	o.clock_ctx = f;
	assert_int_equal(atl_kbsd_start(&o, &f->d), ATL_OK);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", (unsigned)atl_kbsd_port(f->d));
}

static void fx_init(struct fx *f, const char *meas)
{
	fx_init_opts(f, meas, 0, 0);
}

static void fx_done(struct fx *f)
{
	struct atl_audit_report rep;
	char path[300];
	char *log;

	atl_kbsd_stop(f->d);
	snprintf(path, sizeof(path), "%s/%s", f->bdir, ATL_KBS_AUDIT_FILE);
	assert_int_equal(atl_audit_verify(path, signer_pub, &rep), ATL_OK);
	assert_true(rep.n_heads >= 1);
	log = read_text(path);
	assert_null(strstr(log, "CANARY-WEIGHTS"));
	free(log);
	atl_kp_clear(&f->kp);
}

static char *evidence_for(const struct fx *f, const uint8_t *nonce, bool debug)
{
	json_t *cfg = json_pack("{s:s, s:b}", "sim_root", sim_dir, "debug", debug);
	char *out = NULL;

	assert_non_null(cfg);
	assert_int_equal(atl_evidence_produce("sim", cfg, f->kp.pub, nonce, ATL_KBS_NONCE_LEN, &out),
			 ATL_OK);
	json_decref(cfg);
	return out;
}

/* auth + evidence + fetch through the client library. */
static enum atl_err fetch(struct fx *f, const char *tenant, bool debug, const uint8_t *ev_nonce,
			  char **sealed, long *status)
{
	struct atl_kbsc *s = NULL;
	uint8_t nonce[ATL_KBS_NONCE_LEN];
	char *ev;
	size_t len = 0;
	enum atl_err e;

	*sealed = NULL;
	assert_int_equal(atl_kbsc_auth(f->url, "sim", tenant, f->mid, &s, nonce), ATL_OK);
	ev = evidence_for(f, ev_nonce ? ev_nonce : nonce, debug);
	e = atl_kbsc_fetch(s, ev, f->kp.pub, sealed, &len);
	atl_kbsc_last_error(s, status);
	if (e == ATL_OK) {
		assert_non_null(*sealed);
		assert_int_equal(len, strlen(*sealed));
		/* a session fetches once */
		char *again = NULL;
		assert_int_equal(atl_kbsc_fetch(s, ev, f->kp.pub, &again, NULL), ATL_E_STATE);
	} else {
		assert_null(*sealed);
	}
	free(ev);
	atl_kbsc_free(s);
	return e;
}

static void enclave_open(const struct fx *f, const char *sealed)
{
	uint8_t dek[ATL_ATM_DEK_LEN], mid[ATL_ATM_MODEL_ID_LEN];
	uint8_t *img = NULL, *pt = NULL;
	size_t img_len = 0, pt_len = 0;

	assert_int_equal(atl_kbs_sealed_open(sealed, strlen(sealed), &f->kp, f->mid, dek), ATL_OK);
	assert_int_equal(atl_file_read(f->atm, 1u << 20, &img, &img_len), ATL_OK);
	assert_int_equal(atl_hex_decode_exact(f->mid, strlen(f->mid), mid, sizeof(mid)), ATL_OK);
	assert_int_equal(atl_kbs_dek_decrypt_mem(img, img_len, dek, mid, &pt, &pt_len), ATL_OK);
	assert_int_equal(pt_len, PT_LEN);
	assert_memory_equal(pt, plain, PT_LEN);
	atl_secret_free(pt);
	free(img);
	atl_wipe(dek, sizeof(dek));
}

static void test_release_ok(void **st)
{
	struct fx f;
	char *sealed = NULL;
	long status = 0;

	(void)st;
	assert_int_equal(atl_kbsc_set_ca_file("/nonexistent/ca.pem"), ATL_OK); /* unused by http */
	assert_int_equal(atl_kbsc_set_ca_file(NULL), ATL_OK);
	fx_init(&f, NULL);
	assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_OK);
	assert_int_equal(status, 200);
	enclave_open(&f, sealed);
	free(sealed);
	/* base URL forms */
	{
		struct atl_kbsc *s = NULL;
		uint8_t n[ATL_KBS_NONCE_LEN];
		char u[96];
		snprintf(u, sizeof(u), "%s/kbs/v0/", f.url);
		assert_int_equal(atl_kbsc_auth(u, "sim", "acme", f.mid, &s, n), ATL_OK);
		atl_kbsc_free(s);
		assert_int_equal(atl_kbsc_auth(f.url, "sim", "bad/tenant", f.mid, &s, n), ATL_E_ARG);
		assert_int_equal(atl_kbsc_auth(f.url, "sim", "acme", "XYZ", &s, n), ATL_E_ARG);
		assert_int_equal(atl_kbsc_auth("http://127.0.0.1:1", "sim", "acme", f.mid, &s, n),
				 ATL_E_IO);
	}
	fx_done(&f);
}

static void test_refusals(void **st)
{
	struct fx f;
	char *sealed = NULL;
	char zeros[2 * ATL_SHA384_LEN + 1];
	uint8_t stale[ATL_KBS_NONCE_LEN];
	long status = 0;

	(void)st;
	memset(zeros, '0', sizeof(zeros) - 1);
	zeros[sizeof(zeros) - 1] = 0;
	fx_init(&f, zeros); /* the policy pins another measurement */
	assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_E_POLICY);
	assert_int_equal(status, 403);
	fx_done(&f);

	fx_init(&f, NULL);
	assert_int_equal(fetch(&f, "acme", true, NULL, &sealed, &status), ATL_E_POLICY);
	assert_int_equal(status, 403);
	assert_int_equal(fetch(&f, "other", false, NULL, &sealed, &status), ATL_E_DENIED);
	assert_int_equal(status, 403);
	/* evidence bound to a nonce of another (earlier) session */
	{
		struct atl_kbsc *s = NULL;
		assert_int_equal(atl_kbsc_auth(f.url, "sim", "acme", f.mid, &s, stale), ATL_OK);
		atl_kbsc_free(s);
	}
	assert_int_equal(fetch(&f, "acme", false, stale, &sealed, &status), ATL_E_POLICY);
	assert_int_equal(status, 403);
	/* still releases afterwards */
	assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_OK);
	free(sealed);
	fx_done(&f);
}

/* Raw HTTP with a cookie-keeping client. */
static long raw(struct atl_http_client *c, const struct fx *f, const char *method,
		const char *path, const char *body, char *err, size_t err_cap)
{
	char url[512], code[64];
	struct atl_http_call call = {0};
	struct atl_http_response r = {0};
	long status;

	snprintf(url, sizeof(url), "%s%s", f->url, path);
	call.method = method;
	call.url = url;
	call.body = body;
	call.body_len = body ? strlen(body) : 0;
	assert_int_equal(atl_http_client_do(c, &call, &r), ATL_OK);
	status = r.status;
	if (err)
		atl_http_response_error(&r, code, sizeof(code), err, err_cap);
	atl_http_response_clear(&r);
	return status;
}

static char *attest_body(const struct fx *f, const char *ev)
{
	char *x = NULL, *s;
	json_t *j;

	assert_int_equal(atl_b64_encode(f->kp.pub, ATL_X25519_LEN, ATL_B64_URL | ATL_B64_NOPAD, &x),
			 ATL_OK);
	j = json_pack("{s:{s:s, s:s, s:s}, s:s}", "tee-pubkey", "kty", "OKP", "crv", "X25519", "x",
		      x, "tee-evidence", ev);
	s = atl_json_dump(j);
	json_decref(j);
	free(x);
	return s;
}

static void test_sessions_and_bodies(void **st)
{
	struct atl_http_client_opts o = {.cookies = true};
	struct atl_http_client *c = NULL, *nc = NULL;
	struct fx f;
	char res[160], auth[160], err[256];
	char *body, *ev, *big;
	uint8_t nonce[ATL_KBS_NONCE_LEN];

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(atl_http_client_new(&o, &c), ATL_OK);
	assert_int_equal(atl_http_client_new(NULL, &nc), ATL_OK);
	snprintf(res, sizeof(res), "/kbs/v0/resource/acme/model-key/%s", f.mid);
	snprintf(auth, sizeof(auth),
		 "{\"version\":\"0.1.0\",\"tee\":\"sim\",\"extra-params\":{\"tenant\":\"acme\","
		 "\"model_id\":\"%s\"}}",
		 f.mid);
	/* no session */
	assert_int_equal(raw(c, &f, "GET", res, NULL, NULL, 0), 401);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/attest", "{}", NULL, 0), 400);
	/* malformed /auth bodies */
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth", "nope", NULL, 0), 400);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth", "{\"version\":\"0.1.0\"}", NULL, 0),
			 400);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth",
			     "{\"version\":\"0.1.0\",\"tee\":\"sim\",\"bogus\":1}", NULL, 0),
			 400);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth",
			     "{\"version\":\"0.1.0\",\"tee\":\"sim\",\"extra-params\":{\"model_id\":"
			     "\"ABC\"}}",
			     NULL, 0),
			 400);
	assert_int_equal(raw(c, &f, "GET", "/kbs/v0/resource/acme/model-key/zz", NULL, NULL, 0),
			 400);
	/* a Trustee-style /auth (extra-params "") opens a session */
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth",
			     "{\"version\":\"0.1.0\",\"tee\":\"sim\",\"extra-params\":\"\"}", NULL,
			     0),
			 200);
	/* attested? not yet */
	assert_int_equal(raw(c, &f, "GET", res, NULL, err, sizeof(err)), 401);
	assert_non_null(strstr(err, "attest"));
	/* the session survived that; a fresh one for the real flow */
	{
		struct atl_kbsc *s = NULL;
		assert_int_equal(atl_kbsc_auth(f.url, "sim", "acme", f.mid, &s, nonce), ATL_OK);
		atl_kbsc_free(s);
	}
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth", auth, NULL, 0), 200);
	/* the client can't see the nonce through raw(): use evidence for another nonce, 403;
	 * what matters here is the session handling */
	ev = evidence_for(&f, nonce, false);
	body = attest_body(&f, ev);
	assert_int_equal(raw(nc, &f, "POST", "/kbs/v0/attest", body, NULL, 0), 401); /* no cookie */
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/attest", "{\"tee-pubkey\":{\"kty\":\"RSA\"},"
			     "\"tee-evidence\":\"x\"}", NULL, 0),
			 400);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/attest", body, NULL, 0), 200);
	assert_int_equal(raw(c, &f, "GET", res, NULL, NULL, 0), 403);
	/* the session is used up */
	assert_int_equal(raw(c, &f, "GET", res, NULL, NULL, 0), 401);
	free(body);
	/* evidence over the limit: 413 */
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth", auth, NULL, 0), 200);
	big = malloc(ATL_KBSD_EVIDENCE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', ATL_KBSD_EVIDENCE_MAX + 1);
	big[ATL_KBSD_EVIDENCE_MAX + 1] = 0;
	body = attest_body(&f, big);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/attest", body, NULL, 0), 413);
	free(body);
	free(big);
	/* a body over the route limit: refused before it is read */
	big = malloc(ATL_KBSD_AUTH_BODY_MAX + 100);
	assert_non_null(big);
	memset(big, ' ', ATL_KBSD_AUTH_BODY_MAX + 99);
	big[ATL_KBSD_AUTH_BODY_MAX + 99] = 0;
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth", big, NULL, 0), 413);
	free(big);
	/* an expired session: 401 */
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/auth", auth, NULL, 0), 200);
	body = attest_body(&f, ev);
	assert_int_equal(raw(c, &f, "POST", "/kbs/v0/attest", body, NULL, 0), 200);
	f.now += ATL_KBS_NONCE_TTL_S + 1;
	assert_int_equal(raw(c, &f, "GET", res, NULL, NULL, 0), 401);
	free(body);
	free(ev);
	atl_http_client_free(c);
	atl_http_client_free(nc);
	fx_done(&f);
}

static void test_session_table_bounded(void **st)
{
	struct fx f;
	struct atl_kbsc *s = NULL;
	uint8_t n[ATL_KBS_NONCE_LEN];

	(void)st;
	fx_init(&f, NULL);
	/* one client address: ATL_KBSD_SESSIONS_PER_IP_MAX (the whole table,
	 * ATL_KBSD_SESSIONS_MAX, needs more addresses than loopback offers here) */
	for (unsigned i = 0; i < ATL_KBSD_SESSIONS_PER_IP_MAX; i++) {
		assert_int_equal(atl_kbsc_auth(f.url, "sim", "acme", f.mid, &s, n), ATL_OK);
		atl_kbsc_free(s);
	}
	assert_int_equal(atl_kbsc_auth(f.url, "sim", "acme", f.mid, &s, n), ATL_E_BUSY);
	f.now += ATL_KBS_NONCE_TTL_S; /* they expire */
	assert_int_equal(atl_kbsc_auth(f.url, "sim", "acme", f.mid, &s, n), ATL_OK);
	atl_kbsc_free(s);
	fx_done(&f);
}

static void test_quota(void **st)
{
	struct fx f;
	char *sealed = NULL, *log;
	char path[300];
	long status = 0;

	(void)st;
	fx_init_opts(&f, NULL, 2, 0);
	/* refusals don't count */
	assert_int_equal(fetch(&f, "acme", true, NULL, &sealed, &status), ATL_E_POLICY);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_OK);
		free(sealed);
	}
	assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_E_LIMIT);
	assert_int_equal(status, 429);
	f.now += 3600; /* the next window */
	assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_OK);
	free(sealed);
	fx_done(&f);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_AUDIT_FILE);
	log = read_text(path);
	assert_non_null(strstr(log, "quota exceeded (2 per 3600 s)"));
	free(log);
}

static void test_quota_parse(void **st)
{
	uint32_t n, w;

	(void)st;
	assert_int_equal(atl_kbsd_quota_parse("100/3600", &n, &w), ATL_OK);
	assert_int_equal(n, 100);
	assert_int_equal(w, 3600);
	assert_int_equal(atl_kbsd_quota_parse("none", &n, &w), ATL_OK);
	assert_int_equal(n, 0);
	const char *bad[] = {"", "0/10", "10/0", "10", "/10", "10/", "-1/5", "1/5x", "x",
			     "4294967296/1", "1/99999999999", " 1/5", "1/ 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(atl_kbsd_quota_parse(bad[i], &n, &w), ATL_E_ARG);
}

static void test_rotation_schedule(void **st)
{
	struct fx f;
	char path[300], *state, *sealed = NULL;
	long status = 0;
	int i;

	(void)st;
	fx_init_opts(&f, NULL, 0, 1000);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_STATE_FILE);
	state = read_text(path);
	assert_null(strstr(state, "acme.k2")); /* young KEK: not rotated at start */
	free(state);
	f.now += 1001;
	for (i = 0; i < 50; i++) { /* the check runs every second */
		state = read_text(path);
		bool done = strstr(state, "\"acme.k2\"") != NULL && strstr(state, "\"other.k2\"");
		free(state);
		if (done)
			break;
		usleep(100 * 1000);
	}
	assert_true(i < 50);
	assert_int_equal(fetch(&f, "acme", false, NULL, &sealed, &status), ATL_OK);
	enclave_open(&f, sealed);
	free(sealed);
	fx_done(&f);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_AUDIT_FILE);
	state = read_text(path);
	assert_non_null(strstr(state, "scheduled (KEK age 10"));
	free(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_ok),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_sessions_and_bodies),
		cmocka_unit_test(test_session_table_bounded),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_quota_parse),
		cmocka_unit_test(test_rotation_schedule),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
