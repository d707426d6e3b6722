/* `atoll-enclave --serve --tee nitro` (issue 7), through the library calls its
 * main.c makes:
 *   - each ATTEST asks the NSM for a document whose nonce is the challenge
 *     and whose public_key is the enclave's X25519 key (user_data the DESIGN
 *     §4 binding), and the dispatcher cross-checks both fields against the
 *     wrapper (the NSM replaced by a hook answering the Eternis sample);
 *   - sandboxed, the NSM descriptor opened before the sandbox with its
 *     NSM_IOCTL_RAW allowance reaches the driver (/dev/null stands in and
 *     answers ENOTTY); without the allowance the filter refuses it (EPERM).
 * atl-test-deps: atoll_enclave atoll_workload atoll_attest atoll_crypto atoll_core */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/attest.h"
#include "atoll/enclave.h"
#include "atoll/encoding.h"
#include "atoll/limits.h"
#include "atoll/nitro.h"
#include "atoll/policy.h"
#include "atoll/verify.h"
#include "attest/nitro.h"
#include "attest_hw2_testutil.h"

#define TIMEOUT_MS 10000
#define T_ETERNIS 1725911352 /* the Eternis sample's own timestamp */

/* ---- the NSM hook ---- */

struct hook {
	uint8_t *resp; /* the NSM's answer: {"Attestation": {"document": doc}} */
	size_t resp_len;
	uint8_t *req; /* the last request */
	size_t req_len;
	int calls;
};

static enum atl_err hook_fn(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap,
			    size_t *resp_len, void *ctx)
{
	struct hook *h = ctx;

	h->calls++;
	free(h->req);
	h->req = malloc(req_len);
	if (h->req == NULL || h->resp_len > resp_cap)
		return ATL_E_NOMEM;
	memcpy(h->req, req, req_len);
	h->req_len = req_len;
	memcpy(resp, h->resp, h->resp_len);
	*resp_len = h->resp_len;
	return ATL_OK;
}

static void hook_init(struct hook *h, uint8_t **doc_out, size_t *doc_len_out)
{
	size_t n;
	uint8_t *txt = hw2_read("nitro/eternis/example_attestation", &n);
	struct atl_wr w;

	memset(h, 0, sizeof(*h));
	assert_int_equal(atl_b64_decode((const char *)txt, n, ATL_B64_LENIENT_WS, doc_out,
					doc_len_out), ATL_OK);
	free(txt);
	atl_wr_init(&w, ATL_NSM_RESPONSE_SIZE, false);
	hw2_head(&w, 5, 1);
	hw2_tstr(&w, "Attestation");
	hw2_head(&w, 5, 1);
	hw2_tstr(&w, "document");
	hw2_bstr(&w, *doc_out, *doc_len_out);
	h->resp = hw2_take(&w, &h->resp_len);
}

/* ok field of the named check, or -1 when absent. */
static int check_ok(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;
	int r = -1;

	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			r = json_is_true(json_object_get(c, "ok"));
	}
	json_decref(j);
	return r;
}

/* ---- the serve loop in a thread (unsandboxed: the hook is in-process) ---- */

struct srv {
	int fd;
	struct atl_enclave_cfg cfg;
	enum atl_err rc;
};

static void *serve_thread(void *arg)
{
	struct srv *s = arg;

	s->rc = atl_enclave_serve(s->fd, &s->cfg);
	return NULL;
}

/* One ATTEST with nonce: the request the NSM saw must carry the binding,
 * that nonce and the wrapper's enclave key; returns the wrapper. */
static char *attest_once(int fd, struct hook *h, const uint8_t *nonce, size_t nonce_len)
{
	char *wrapper = NULL;
	size_t wrapper_len = 0, want_len = 0;
	struct atl_evidence w;
	uint8_t rd[ATL_REPORT_DATA_LEN], *want = NULL;

	assert_int_equal(atl_enclave_attest(fd, nonce, nonce_len, TIMEOUT_MS, &wrapper,
					    &wrapper_len), ATL_OK);
	assert_int_equal(atl_evidence_parse((const uint8_t *)wrapper, wrapper_len, &w, NULL, 0),
			 ATL_OK);
	assert_string_equal(w.tee, "nitro");
	assert_int_equal(w.nonce_len, nonce_len);
	assert_memory_equal(w.nonce, nonce, nonce_len);
	assert_int_equal(atl_attest_binding(w.enclave_key, sizeof(w.enclave_key), nonce, nonce_len,
					    rd), ATL_OK);
	assert_int_equal(atl_nitro_nsm_request(rd, sizeof(rd), nonce, nonce_len, w.enclave_key,
					       sizeof(w.enclave_key), &want, &want_len), ATL_OK);
	assert_int_equal(h->req_len, want_len);
	assert_memory_equal(h->req, want, want_len);
	free(want);
	atl_evidence_clear(&w);
	return wrapper;
}

static void test_serve_attest_fields(void **state)
{
	(void)state;
	struct hook h;
	uint8_t *doc = NULL, nonce[16], sample_nonce[20] = {0};
	size_t doc_len = 0;
	int sv[2];
	pthread_t th;
	json_t *base = json_pack("{s:s}", "nsm_device", "/nonexistent/nsm"), *pol = NULL;
	struct srv s = {.cfg = {.tee = "nitro", .tee_cfg = base, .skew_s = 300,
				.replay_capacity = 16, .sandbox = false}};
	struct atl_ar *ar = NULL;
	char why[256], *wrapper;
	static const char pol_txt[] =
		"{\"tee_types\":[\"nitro\"],\"allow_debug\":true,\"max_age_s\":3600,"
		"\"measurements\":{\"nitro\":[\"0000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000\"]}}";

	assert_non_null(base);
	assert_int_equal(atl_policy_parse(pol_txt, sizeof(pol_txt) - 1, &pol, why, sizeof(why)),
			 ATL_OK);
	hook_init(&h, &doc, &doc_len);
	atl_nitro_nsm_set_transport(hook_fn, &h);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, serve_thread, &s), 0);

	/* a challenge of 16 bytes: the document (the sample) carries another
	 * nonce and public_key "dummy": both refused by name */
	memset(nonce, 0x42, sizeof(nonce));
	wrapper = attest_once(sv[0], &h, nonce, sizeof(nonce));
	assert_int_equal(atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol, nonce,
					     sizeof(nonce), T_ETERNIS + 60, NULL, &ar),
			 ATL_E_POLICY);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 0);
	assert_int_equal(check_ok(ar, "nitro.nonce"), 0);
	assert_int_equal(check_ok(ar, "nonce"), 1);
	atl_ar_free(ar);
	free(wrapper);
	/* the sample's own nonce (00..01) as the challenge: nitro.nonce passes */
	sample_nonce[19] = 1;
	wrapper = attest_once(sv[0], &h, sample_nonce, sizeof(sample_nonce));
	assert_int_equal(atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol,
					     sample_nonce, sizeof(sample_nonce), T_ETERNIS + 60,
					     NULL, &ar),
			 ATL_E_POLICY);
	assert_int_equal(check_ok(ar, "nitro.nonce"), 1);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 0);
	atl_ar_free(ar);
	free(wrapper);
	assert_int_equal(h.calls, 2);
	/* the base config is not changed by the per-ATTEST fields */
	assert_int_equal(json_object_size(base), 1);

	assert_int_equal(atl_msg_send(sv[0], ATL_MSG_SHUTDOWN, NULL, 0), ATL_OK);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.rc, ATL_OK);
	atl_nitro_nsm_set_transport(NULL, NULL);
	close(sv[0]);
	close(sv[1]);
	json_decref(base);
	json_decref(pol);
	free(h.req);
	free(h.resp);
	free(doc);
}

/* ---- sandboxed: the ioctl allowance (the real ioctl, /dev/null as the NSM) ---- */

static int child_serve(int fd, int errfd, bool allow)
{
	struct atl_enclave_cfg cfg = {.tee = "nitro", .skew_s = 300, .replay_capacity = 16,
				      .sandbox = true};

	if (dup2(errfd, 2) < 0)
		return 70;
	if (atl_nitro_nsm_session_open("/dev/null") != ATL_OK)
		return 71;
	if (allow && atl_enclave_sandbox_allow_ioctl(atl_nitro_nsm_session_fd(),
						     ATL_NSM_IOCTL_RAW) != ATL_OK)
		return 72;
	return atl_enclave_serve(fd, &cfg) == ATL_OK ? 0 : 1;
}

/* Serves ATTEST once in a sandboxed child; returns what it logged. */
static char *sandboxed_attest(bool allow)
{
	int sv[2], ep[2], st = 0;
	uint8_t nonce[16];
	char *wrapper = NULL, *log;
	size_t wrapper_len = 0, n = 0;
	ssize_t r;
	pid_t pid;

	memset(nonce, 0x17, sizeof(nonce));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(ep, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		close(ep[0]);
		_exit(child_serve(sv[1], ep[1], allow));
	}
	close(sv[1]);
	close(ep[1]);
	/* the NSM call fails (no NSM behind /dev/nsm's stand-in): ERROR, and the
	 * loop goes on */
	assert_int_not_equal(atl_enclave_attest(sv[0], nonce, sizeof(nonce), TIMEOUT_MS, &wrapper,
						&wrapper_len), ATL_OK);
	assert_null(wrapper);
	assert_int_equal(atl_enclave_ping(sv[0], TIMEOUT_MS), ATL_OK);
	assert_int_equal(atl_msg_send(sv[0], ATL_MSG_SHUTDOWN, NULL, 0), ATL_OK);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	log = calloc(1, 65536);
	assert_non_null(log);
	while (n < 65535 && (r = read(ep[0], log + n, 65535 - n)) > 0)
		n += (size_t)r;
	close(ep[0]);
	close(sv[0]);
	return log;
}

static void test_sandboxed_ioctl(void **state)
{
	(void)state;
	char *log;

	atl_nitro_nsm_set_transport(NULL, NULL);
	/* allowed: the ioctl reached the device, which is no NSM */
	log = sandboxed_attest(true);
	if (strstr(log, "NSM_IOCTL_RAW failed: Inappropriate ioctl for device") == NULL)
		fprintf(stderr, "child log:\n%s\n", log);
	assert_non_null(strstr(log, "NSM_IOCTL_RAW failed: Inappropriate ioctl for device"));
	assert_null(strstr(log, "Operation not permitted"));
	free(log);
	/* not allowed: the filter refused it */
	log = sandboxed_attest(false);
	if (strstr(log, "NSM_IOCTL_RAW failed: Operation not permitted") == NULL)
		fprintf(stderr, "child log:\n%s\n", log);
	assert_non_null(strstr(log, "NSM_IOCTL_RAW failed: Operation not permitted"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serve_attest_fields),
		cmocka_unit_test(test_sandboxed_ioctl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
