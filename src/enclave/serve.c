/* The enclave's message loop (include/atoll/enclave.h, DESIGN §1-§3).
 *
 * Data flow of a job: the host sends JOB with a sealed envelope; the envelope
 * is opened with the enclave's private key (which exists only in this
 * process's secret memory), checked for freshness and replay, and its
 * authenticated workload id compared with the job's; the workload runs on the
 * plaintext; its output is sealed under the job's DEK (atl_env_result_seal) and
 * only the sealed result leaves the process. Plaintext, DEK and key are wiped
 * on every path. Errors sent to the host carry a generic code only. */
#define ATL_LOG_MODULE "enclave"
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/enclave.h"
#include "atoll/envelope.h"
#include "atoll/json.h"
#include "atoll/keys.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"
#include "enclave/enclave_int.h"

struct serve {
	int fd;
	const struct atl_enclave_cfg *cfg;
	struct atl_kp kp;
	struct atl_env_replay *replay;
	struct enc_models *models; /* encrypted models handed over (modelkey.c) */
};

/* Short stable code for an error; the host maps it back (host.c). */
static const char *err_code(enum atl_err e)
{
	switch (e) {
	case ATL_E_AUTH:
		return "auth";
	case ATL_E_REPLAY:
		return "replay";
	case ATL_E_LIMIT:
		return "limit";
	case ATL_E_NOTFOUND:
		return "notfound";
	case ATL_E_POLICY:
		return "policy";
	case ATL_E_BUSY:
		return "busy";
	case ATL_E_UNSUPPORTED:
		return "unsupported";
	case ATL_E_FORMAT:
	case ATL_E_TRUNCATED:
	case ATL_E_TRAILING:
	case ATL_E_ARG:
		return "format";
	default:
		return "internal";
	}
}

static enum atl_err send_error(struct serve *s, const char *job_id, enum atl_err e,
			       const char *message)
{
	json_t *j = json_pack("{s:s, s:s}", "code", err_code(e), "message", message);
	char *txt = NULL;
	enum atl_err rc = ATL_E_NOMEM;

	if (j == NULL)
		goto out;
	if (job_id != NULL && json_object_set_new(j, "job_id", json_string(job_id)) != 0)
		goto out;
	txt = atl_json_dump(j);
	if (txt == NULL)
		goto out;
	rc = atl_msg_send(s->fd, ATL_MSG_ERROR, txt, strlen(txt));
out:
	json_decref(j);
	free(txt);
	return rc;
}

/* nitro: the backend config of one ATTEST, the base config plus the
 * challenge nonce and the enclave's X25519 key for the NSM document's own
 * nonce and public_key fields (issue 7; as --attest does in main.c). */
static enum atl_err nitro_attest_cfg(const struct serve *s, const uint8_t *nonce,
				     size_t nonce_len, json_t **cfg_out)
{
	char nonce_hex[2 * ATL_ATTEST_NONCE_MAX + 1], pub_hex[2 * ATL_X25519_LEN + 1];
	json_t *c;

	*cfg_out = NULL;
	c = json_is_object(s->cfg->tee_cfg) ? json_deep_copy(s->cfg->tee_cfg) : json_object();
	if (c == NULL || atl_hex_encode(nonce, nonce_len, nonce_hex, sizeof(nonce_hex)) != ATL_OK ||
	    atl_hex_encode(s->kp.pub, sizeof(s->kp.pub), pub_hex, sizeof(pub_hex)) != ATL_OK ||
	    json_object_set_new(c, "nonce", json_string(nonce_hex)) != 0 ||
	    json_object_set_new(c, "public_key", json_string(pub_hex)) != 0) {
		json_decref(c);
		return ATL_E_NOMEM;
	}
	*cfg_out = c;
	return ATL_OK;
}

static enum atl_err on_attest(struct serve *s, const uint8_t *p, size_t n)
{
	static const char *const keys[] = {"nonce", NULL};
	uint8_t nonce[ATL_ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	const char *hex = NULL;
	json_t *j = NULL, *ncfg = NULL;
	char *wrapper = NULL;
	enum atl_err rc;

	rc = atl_json_parse((const char *)p, n, &j);
	if (rc == ATL_OK)
		rc = atl_json_check_keys(j, keys, NULL);
	if (rc == ATL_OK)
		rc = atl_json_get_str(j, "nonce", &hex);
	if (rc == ATL_OK && (hex[0] == '\0' || atl_hex_decode(hex, strlen(hex), nonce, sizeof(nonce),
							       &nonce_len) != ATL_OK))
		rc = ATL_E_FORMAT;
	if (rc != ATL_OK) {
		rc = send_error(s, NULL, ATL_E_FORMAT, "ATTEST needs {\"nonce\":\"<hex>\"}");
		goto out;
	}
	if (strcmp(s->cfg->tee, "nitro") == 0)
		rc = nitro_attest_cfg(s, nonce, nonce_len, &ncfg);
	if (rc == ATL_OK)
		rc = atl_evidence_produce(s->cfg->tee, ncfg != NULL ? ncfg : s->cfg->tee_cfg,
					  s->kp.pub, nonce, nonce_len, &wrapper);
	if (rc != ATL_OK) {
		atl_error("cannot produce evidence: %s", atl_strerror(rc));
		rc = send_error(s, NULL, rc, "cannot produce evidence");
		goto out;
	}
	rc = atl_msg_send(s->fd, ATL_MSG_EVIDENCE, wrapper, strlen(wrapper));
out:
	json_decref(j);
	json_decref(ncfg);
	free(wrapper);
	return rc;
}

/* Checks a job or workload id as the envelope layer accepts them. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > ATL_ENV_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return true;
}

static enum atl_err on_job(struct serve *s, const uint8_t *p, size_t n)
{
	static const char *const keys[] = {"job_id", "workload_id", "kind", "envelope", "params",
					   NULL};
	const struct atl_enclave_workload *w = NULL;
	struct atl_env_info info;
	const char *job_id = NULL, *workload_id = NULL, *kind = NULL;
	json_t *j = NULL, *res_j = NULL, *reply = NULL;
	const json_t *env_j = NULL, *params = NULL;
	char *env_txt = NULL, *res_txt = NULL, *reply_txt = NULL;
	uint8_t *pt = NULL, *dek = NULL, *out = NULL;
	size_t pt_len = 0, out_len = 0, res_len = 0;
	enum atl_err rc;

	rc = atl_json_parse((const char *)p, n, &j);
	if (rc == ATL_OK)
		rc = atl_json_check_keys(j, keys, NULL);
	if (rc == ATL_OK)
		rc = atl_json_get_str(j, "job_id", &job_id);
	if (rc == ATL_OK)
		rc = atl_json_get_str(j, "workload_id", &workload_id);
	if (rc == ATL_OK)
		rc = atl_json_get_str(j, "kind", &kind);
	if (rc == ATL_OK) {
		env_j = json_object_get(j, "envelope");
		params = json_object_get(j, "params");
		if (!json_is_object(env_j) || (params != NULL && !json_is_object(params)) ||
		    !id_ok(job_id) || !id_ok(workload_id))
			rc = ATL_E_FORMAT;
	}
	if (rc != ATL_OK) {
		rc = send_error(s, job_id != NULL && id_ok(job_id) ? job_id : NULL, ATL_E_FORMAT,
				"malformed JOB message");
		goto out;
	}
	w = atl_enclave_workload_find(kind);
	if (w == NULL) {
		rc = send_error(s, job_id, ATL_E_NOTFOUND, "no such workload kind in this enclave");
		goto out;
	}
	env_txt = atl_json_dump(env_j);
	if (env_txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	rc = atl_env_open(env_txt, strlen(env_txt), &s->kp, atl_time_now(), s->replay, &pt,
			  &pt_len, &dek, &info);
	if (rc != ATL_OK) {
		atl_info("job refused: the envelope did not open (%s)", atl_err_name(rc));
		rc = send_error(s, job_id, rc, "the envelope did not open for this enclave");
		goto out;
	}
	if (strcmp(info.workload_id, workload_id) != 0) {
		atl_info("job refused: sealed for another workload");
		rc = send_error(s, job_id, ATL_E_POLICY, "the envelope was sealed for another workload");
		goto out;
	}
	if (enc_model_job(params))
		rc = enc_model_run(s->models, kind, params, workload_id, pt, pt_len, &out,
				   &out_len);
	else
		rc = w->run(params, pt, pt_len, &out, &out_len);
	if (rc != ATL_OK) {
		atl_info("job failed in workload %s: %s", w->kind, atl_err_name(rc));
		rc = send_error(s, job_id, rc, "the workload failed on this input");
		goto out;
	}
	rc = atl_env_result_seal(dek, job_id, workload_id, out, out_len, &res_txt, &res_len);
	if (rc != ATL_OK) {
		atl_error("cannot seal a result: %s", atl_err_name(rc));
		rc = send_error(s, job_id, rc, "cannot seal the result");
		goto out;
	}
	rc = atl_json_parse(res_txt, res_len, &res_j);
	if (rc != ATL_OK)
		goto out;
	reply = json_pack("{s:s, s:o}", "job_id", job_id, "result", res_j);
	res_j = NULL; /* stolen by json_pack, even on failure */
	if (reply == NULL || (reply_txt = atl_json_dump(reply)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	rc = atl_msg_send(s->fd, ATL_MSG_RESULT, reply_txt, strlen(reply_txt));
out:
	atl_secret_free(pt);
	atl_secret_free(dek);
	atl_secret_free(out);
	json_decref(j);
	json_decref(res_j);
	json_decref(reply);
	free(env_txt);
	free(res_txt);
	free(reply_txt);
	return rc;
}

enum atl_err atl_enclave_serve(int fd, const struct atl_enclave_cfg *cfg)
{
	struct serve s = {.fd = fd, .cfg = cfg};
	uint8_t *payload = NULL;
	size_t len = 0;
	uint8_t type = 0;
	enum atl_err rc;

	if (cfg == NULL || cfg->tee == NULL || fd < 0)
		return ATL_E_ARG;
	ATL_TRY(atl_kp_generate(&s.kp));
	ATL_TRY(atl_env_replay_new(cfg->skew_s, cfg->replay_capacity, &s.replay));
	ATL_TRY(enc_models_new(&s.models));
	if (cfg->sandbox)
		ATL_TRY(atl_enclave_sandbox());
	atl_info("serving; enclave key generated, sandbox %s", cfg->sandbox ? "on" : "off");
	for (;;) {
		free(payload);
		payload = NULL;
		rc = atl_msg_recv(fd, ATL_ENCLAVE_MSG_MAX, -1, &type, &payload, &len);
		if (rc == ATL_E_IO && type == 0) {
			atl_info("the host closed the channel; exiting");
			rc = ATL_OK;
			goto out;
		}
		if (rc != ATL_OK)
			goto out;
		switch (type) {
		case ATL_MSG_PING:
			rc = atl_msg_send(fd, ATL_MSG_PONG, NULL, 0);
			break;
		case ATL_MSG_ATTEST:
			rc = on_attest(&s, payload, len);
			break;
		case ATL_MSG_JOB:
			rc = on_job(&s, payload, len);
			break;
		case ATL_MSG_MODEL_KEY:
			rc = enc_model_key(fd, s.models, &s.kp, payload, len);
			break;
		case ATL_MSG_SHUTDOWN:
			atl_info("shutdown requested");
			rc = ATL_OK;
			goto out;
		default:
			rc = send_error(&s, NULL, ATL_E_UNSUPPORTED, "unexpected message type");
			break;
		}
		if (rc != ATL_OK)
			goto out;
	}
out:
	free(payload);
	atl_env_replay_free(s.replay);
	enc_models_free(s.models);
	atl_kp_clear(&s.kp);
	return rc;
}
