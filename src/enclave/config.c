/* The enclave's workload configuration, its digest and the enclave
 * measurement (include/atoll/enclavecfg.h). One function builds the canonical
 * document for both sides: atoll-enclave (what it extends into the PCR) and
 * `atoll policy init --tee tpm` (what the policy expects). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atoll/digest.h"
#include "atoll/enclavecfg.h"
#include "atoll/json.h"
#include "atoll/limits.h"

/* The limits of each workload kind, as they enter the measurement. A kind in
 * the workload table without an entry here makes atl_enclave_config_json fail
 * (ATL_E_INTERNAL), so a new kind cannot be served unmeasured. */
struct kind_limit {
	const char *kind, *name;
	json_int_t value;
};

static const struct kind_limit kind_limits[] = {
	{"classifier", "features_max", ATL_CLASSIFIER_FEATURES_MAX},
	{"classifier", "input_max", ATL_CLASSIFIER_INPUT_MAX},
	{"classifier", "model_max", ATL_CLASSIFIER_MODEL_MAX},
	{"classifier", "rows_max", ATL_CLASSIFIER_ROWS_MAX},
	{"echo", "input_max", ATL_ENV_PAYLOAD_MAX},
	{"llm", "cache_max", ATL_ENCLAVE_LLM_CACHE_MAX},
	{"llm", "ctx_max", ATL_ENCLAVE_LLM_CTX_MAX},
	{"llm", "file_max", ATL_ENCLAVE_LLM_FILE_MAX},
	{"llm", "gen_max", ATL_ENCLAVE_LLM_GEN_MAX},
	{"llm", "prompt_max", ATL_ENCLAVE_LLM_PROMPT_MAX},
};

static int cmp_kind(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* {"kind":K,"limits":{…}} for one kind; NULL for a kind without limits or
 * out of memory (*known_out tells which). */
static json_t *workload_entry(const char *kind, bool *known_out)
{
	json_t *lim = json_object(), *e = NULL;

	*known_out = false;
	if (lim == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(kind_limits) / sizeof(kind_limits[0]); i++) {
		if (strcmp(kind_limits[i].kind, kind) != 0)
			continue;
		*known_out = true;
		if (json_object_set_new(lim, kind_limits[i].name,
					json_integer(kind_limits[i].value)) != 0)
			goto out;
	}
	if (!*known_out)
		goto out;
	e = json_pack("{s:s, s:O}", "kind", kind, "limits", lim);
out:
	json_decref(lim);
	return e;
}

static bool tee_name_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	}
	return true;
}

enum atl_err atl_enclave_config_json(const struct atl_enclave_config *c, char **json_out)
{
	const char **kinds = NULL;
	size_t n = 0;
	json_t *doc = NULL, *arr = NULL;
	enum atl_err rc = ATL_E_NOMEM;

	*json_out = NULL;
	if (c == NULL || !tee_name_ok(c->tee) || c->pcr < 0 || c->pcr > 23)
		return ATL_E_ARG;
	while (atl_enclave_workload_at(n) != NULL)
		n++;
	if ((kinds = calloc(n > 0 ? n : 1, sizeof(kinds[0]))) == NULL ||
	    (arr = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		kinds[i] = atl_enclave_workload_at(i)->kind;
	qsort(kinds, n, sizeof(kinds[0]), cmp_kind);
	for (size_t i = 0; i < n; i++) {
		bool known;
		json_t *e = workload_entry(kinds[i], &known);

		if (e == NULL) {
			rc = known ? ATL_E_NOMEM : ATL_E_INTERNAL;
			goto out;
		}
		if (json_array_append_new(arr, e) != 0)
			goto out;
	}
	doc = json_pack("{s:i, s:s, s:i, s:b, s:O}", "v", ATL_ENCLAVE_CONFIG_VERSION, "tee", c->tee,
			"pcr", c->pcr, "sandbox", c->sandbox ? 1 : 0, "workloads", arr);
	if (doc == NULL || (*json_out = atl_json_dump(doc)) == NULL)
		goto out;
	rc = ATL_OK;
out:
	free(kinds);
	json_decref(arr);
	json_decref(doc);
	return rc;
}

enum atl_err atl_enclave_config_digest(const struct atl_enclave_config *c, uint8_t digest_out[48])
{
	char *txt = NULL;
	enum atl_err rc;

	memset(digest_out, 0, ATL_SHA384_LEN);
	rc = atl_enclave_config_json(c, &txt);
	if (rc == ATL_OK)
		rc = atl_hash(ATL_HASH_SHA384, txt, strlen(txt), digest_out);
	free(txt);
	return rc;
}

enum atl_err atl_enclave_measurement_of(const uint8_t bin_sha384[48],
					const struct atl_enclave_config *c, uint8_t meas_out[48])
{
	uint8_t buf[2 * ATL_SHA384_LEN];
	enum atl_err rc;

	memset(meas_out, 0, ATL_SHA384_LEN);
	memcpy(buf, bin_sha384, ATL_SHA384_LEN);
	rc = atl_enclave_config_digest(c, buf + ATL_SHA384_LEN);
	if (rc == ATL_OK)
		rc = atl_hash(ATL_HASH_SHA384, buf, sizeof(buf), meas_out);
	return rc;
}

enum atl_err atl_enclave_measure(const char *path, const struct atl_enclave_config *c,
				 uint8_t meas_out[48])
{
	uint8_t bin[ATL_SHA384_LEN];
	enum atl_err rc;

	memset(meas_out, 0, ATL_SHA384_LEN);
	if (path == NULL)
		return ATL_E_ARG;
	rc = atl_hash_file(ATL_HASH_SHA384, path, bin);
	if (rc == ATL_OK)
		rc = atl_enclave_measurement_of(bin, c, meas_out);
	return rc;
}
