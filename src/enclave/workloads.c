/* The workloads compiled into the enclave. Each runs on an opened job's
 * plaintext and returns the result plaintext in secret memory; neither ever
 * leaves the enclave unsealed.
 *   echo        returns its input unchanged (tests, demo, health checks).
 *   classifier  params {"model":"PATH","model_sha256":"<hex>"}: reads the
 *               model file, refuses it unless its SHA-256 equals the pinned
 *               digest (compared in constant time), then answers the job's
 *               prediction request (JSON {"instances":[[…],…]} or CSV rows
 *               without labels) with the classifier's JSON response; bad
 *               input gives {"error":{"code","message"}}, sealed like any
 *               result (issue 4), and never echoes input values.
 *               With params {"model_id":"<hex>"} instead, the model is an
 *               encrypted one the enclave decrypted into secret memory
 *               (modelkey.c, atl_enclave_classifier_run_mem). */
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"
#include "atoll/digest.h"
#include "atoll/enclave.h"
#include "atoll/enclavecfg.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/secmem.h"

static enum atl_err run_echo(const json_t *params, const uint8_t *in, size_t in_len,
			     uint8_t **out_out, size_t *out_len_out)
{
	uint8_t *out;

	if (params != NULL && json_object_size(params) != 0)
		return ATL_E_FORMAT;
	out = atl_secret_alloc(in_len > 0 ? in_len : 1);
	if (out == NULL)
		return ATL_E_NOMEM;
	if (in_len > 0)
		memcpy(out, in, in_len);
	*out_out = out;
	*out_len_out = in_len;
	return ATL_OK;
}

/* Copies a malloc'd response into secret memory (the caller's contract). */
static enum atl_err to_secret(char *resp, size_t len, uint8_t **out_out, size_t *out_len_out)
{
	uint8_t *out = atl_secret_alloc(len > 0 ? len : 1);

	if (out == NULL)
		return ATL_E_NOMEM;
	memcpy(out, resp, len);
	*out_out = out;
	*out_len_out = len;
	return ATL_OK;
}

enum atl_err atl_enclave_classifier_run_mem(const uint8_t *buf, size_t len, const uint8_t *in,
					   size_t in_len, uint8_t **out_out, size_t *out_len_out)
{
	size_t resp_len = 0;
	struct atl_clf_model *m = NULL;
	struct atl_dataset *d = NULL;
	char err[ATL_CLF_ERR_LEN] = "";
	char *resp = NULL;
	enum atl_err rc;

	if (buf == NULL || len == 0 || len > ATL_CLASSIFIER_MODEL_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(atl_clf_model_parse(buf, len, &m));
	if (in_len > 0 && in[0] == '{') {
		/* Bad input gives an error document, sealed like any result. */
		rc = atl_clf_run_json(m, in, in_len, &resp, &resp_len, NULL);
	} else {
		rc = atl_dataset_parse_csv((const char *)in, in_len, false, &d, err);
		if (rc == ATL_OK)
			rc = atl_clf_predict_dataset(m, d, &resp, &resp_len, err);
		if (rc == ATL_E_FORMAT || rc == ATL_E_LIMIT) {
			json_t *e = json_pack("{s:{s:s, s:s}}", "error", "code",
					      rc == ATL_E_LIMIT ? "too_large" : "bad_input",
					      "message", err);
			free(resp);
			resp = e != NULL ? atl_json_dump(e) : NULL;
			resp_len = resp != NULL ? strlen(resp) : 0;
			json_decref(e);
			rc = resp != NULL ? ATL_OK : ATL_E_NOMEM;
		}
	}
	if (rc != ATL_OK)
		goto out;
	rc = to_secret(resp, resp_len, out_out, out_len_out);
out:
	if (resp != NULL)
		atl_wipe(resp, resp_len);
	free(resp);
	atl_clf_model_free(m);
	atl_dataset_free(d);
	return rc;
}

static enum atl_err run_classifier(const json_t *params, const uint8_t *in, size_t in_len,
				   uint8_t **out_out, size_t *out_len_out)
{
	static const char *const keys[] = {"model", "model_sha256", NULL};
	uint8_t pinned[32], digest[32];
	const char *path = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc;

	if (params == NULL || atl_json_check_keys(params, keys, NULL) != ATL_OK ||
	    atl_json_get_str(params, "model", &path) != ATL_OK ||
	    atl_json_get_hex(params, "model_sha256", pinned, sizeof(pinned)) != ATL_OK)
		return ATL_E_FORMAT;
	ATL_TRY(atl_file_read(path, ATL_CLASSIFIER_MODEL_MAX, &buf, &len));
	ATL_TRY(atl_hash(ATL_HASH_SHA256, buf, len, digest));
	if (!atl_ct_eq(digest, pinned, sizeof(digest))) {
		rc = ATL_E_POLICY; /* not the model the workload pinned */
		goto out;
	}
	rc = atl_enclave_classifier_run_mem(buf, len, in, in_len, out_out, out_len_out);
out:
	free(buf);
	return rc;
}

static const struct atl_enclave_workload workloads[] = {
	{"echo", run_echo},
	{"classifier", run_classifier},
};
/* kinds defined in their own files */
static const struct atl_enclave_workload *const more_workloads[] = {
	&atl_enclave_llm_workload, /* llmwork.c */
};

const struct atl_enclave_workload *atl_enclave_workload_find(const char *kind)
{
	if (kind == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (strcmp(workloads[i].kind, kind) == 0)
			return &workloads[i];
	}
	for (size_t i = 0; i < sizeof(more_workloads) / sizeof(more_workloads[0]); i++) {
		if (strcmp(more_workloads[i]->kind, kind) == 0)
			return more_workloads[i];
	}
	return NULL;
}

const struct atl_enclave_workload *atl_enclave_workload_at(size_t i)
{
	size_t n = sizeof(workloads) / sizeof(workloads[0]);

	if (i < n)
		return &workloads[i];
	i -= n;
	if (i < sizeof(more_workloads) / sizeof(more_workloads[0]))
		return more_workloads[i];
	return NULL;
}
