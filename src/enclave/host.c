/* The host side of the enclave protocol: what an island (or a local tool)
 * sends to its enclave and how it reads the replies. Nothing here sees
 * plaintext: the host passes sealed envelopes in and sealed results out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/enclave.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"

static void set_why(char *why, size_t cap, const char *msg)
{
	if (why != NULL && cap > 0)
		snprintf(why, cap, "%s", msg);
}

static enum atl_err code_err(const char *code)
{
	static const struct {
		const char *code;
		enum atl_err e;
	} map[] = {
		{"auth", ATL_E_AUTH},         {"replay", ATL_E_REPLAY},
		{"limit", ATL_E_LIMIT},       {"notfound", ATL_E_NOTFOUND},
		{"policy", ATL_E_POLICY},     {"busy", ATL_E_BUSY},
		{"unsupported", ATL_E_UNSUPPORTED}, {"format", ATL_E_FORMAT},
	};
	for (size_t i = 0; code != NULL && i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].code, code) == 0)
			return map[i].e;
	}
	return ATL_E_INTERNAL;
}

/* Maps an ERROR reply to its error and copies its (escaped) message. */
static enum atl_err from_error(const uint8_t *p, size_t n, char *why, size_t cap)
{
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	enum atl_err rc = ATL_E_FORMAT;

	if (atl_json_parse((const char *)p, n, &j) != ATL_OK)
		goto out;
	if (atl_json_get_str(j, "code", &code) != ATL_OK)
		goto out;
	rc = code_err(code);
	if (atl_json_get_str(j, "message", &msg) == ATL_OK && why != NULL && cap > 0) {
		atl_log_escape(msg, strlen(msg), why, cap);
	}
out:
	json_decref(j);
	return rc;
}

enum atl_err atl_enclave_ping(int fd, int timeout_ms)
{
	uint8_t *p = NULL;
	size_t n = 0;
	uint8_t type = 0;
	enum atl_err rc;

	ATL_TRY(atl_msg_send(fd, ATL_MSG_PING, NULL, 0));
	ATL_TRY(atl_msg_recv(fd, ATL_ENCLAVE_MSG_MAX, timeout_ms, &type, &p, &n));
	rc = type == ATL_MSG_PONG ? ATL_OK : ATL_E_FORMAT;
out:
	free(p);
	return rc;
}

enum atl_err atl_enclave_attest(int fd, const uint8_t *nonce, size_t nonce_len, int timeout_ms,
				char **wrapper_out, size_t *wrapper_len_out)
{
	char hex[2 * ATL_ATTEST_NONCE_MAX + 1];
	char msg[sizeof(hex) + 16];
	uint8_t *p = NULL;
	size_t n = 0;
	uint8_t type = 0;
	enum atl_err rc;

	*wrapper_out = NULL;
	*wrapper_len_out = 0;
	if (nonce_len == 0 || nonce_len > ATL_ATTEST_NONCE_MAX)
		return ATL_E_ARG;
	ATL_TRY(atl_hex_encode(nonce, nonce_len, hex, sizeof(hex)));
	snprintf(msg, sizeof(msg), "{\"nonce\":\"%s\"}", hex);
	ATL_TRY(atl_msg_send(fd, ATL_MSG_ATTEST, msg, strlen(msg)));
	ATL_TRY(atl_msg_recv(fd, ATL_ATTEST_EVIDENCE_MAX + 1, timeout_ms, &type, &p, &n));
	if (type == ATL_MSG_ERROR) {
		rc = from_error(p, n, NULL, 0);
		goto out;
	}
	if (type != ATL_MSG_EVIDENCE) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	*wrapper_out = (char *)p; /* NUL-terminated by atl_msg_recv */
	*wrapper_len_out = n;
	p = NULL;
	rc = ATL_OK;
out:
	free(p);
	return rc;
}

enum atl_err atl_enclave_job(int fd, const char *job_id, const char *workload_id,
			     const char *kind, const json_t *params, const char *envelope,
			     size_t envelope_len, int timeout_ms, char **result_out,
			     size_t *result_len_out, char *why, size_t why_cap)
{
	json_t *env = NULL, *msg = NULL, *reply = NULL;
	const json_t *res = NULL;
	const char *rid = NULL;
	char *txt = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	uint8_t type = 0;
	enum atl_err rc;

	*result_out = NULL;
	*result_len_out = 0;
	set_why(why, why_cap, "");
	rc = atl_json_parse(envelope, envelope_len, &env);
	if (rc != ATL_OK) {
		set_why(why, why_cap, "the envelope is not JSON");
		goto out;
	}
	msg = json_pack("{s:s, s:s, s:s, s:O}", "job_id", job_id, "workload_id", workload_id,
			"kind", kind, "envelope", env);
	if (msg == NULL || (params != NULL &&
			    json_object_set_new(msg, "params", json_deep_copy(params)) != 0)) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	txt = atl_json_dump(msg);
	if (txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_msg_send(fd, ATL_MSG_JOB, txt, strlen(txt)));
	ATL_TRY(atl_msg_recv(fd, ATL_ENCLAVE_MSG_MAX, timeout_ms, &type, &p, &n));
	if (type == ATL_MSG_ERROR) {
		rc = from_error(p, n, why, why_cap);
		goto out;
	}
	rc = ATL_E_FORMAT;
	if (type != ATL_MSG_RESULT || atl_json_parse((const char *)p, n, &reply) != ATL_OK ||
	    atl_json_get_str(reply, "job_id", &rid) != ATL_OK || strcmp(rid, job_id) != 0 ||
	    !json_is_object(res = json_object_get(reply, "result"))) {
		set_why(why, why_cap, "unexpected reply from the enclave");
		goto out;
	}
	*result_out = atl_json_dump(res);
	if (*result_out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*result_len_out = strlen(*result_out);
	rc = ATL_OK;
out:
	json_decref(env);
	json_decref(msg);
	json_decref(reply);
	free(txt);
	free(p);
	return rc;
}
