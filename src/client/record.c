/* Job records (include/atoll/client.h): DIR/jobs/<job_id>.json keeps the
 * sealed envelope of a submitted job (ciphertext only, mode 0600), so the
 * client can reopen its own recipient entry later and recover the job's data
 * key without ever storing it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/client.h"
#include "atoll/envelope.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#define RECORD_MAX (ATL_ENV_SIZE_MAX + 4096u)

static enum atl_err record_path(const char *dir, const char *job_id, bool create, char *out,
				size_t cap)
{
	char jd[4096];
	int n;

	if (!atl_client_id_ok(job_id, "job_"))
		return ATL_E_ARG;
	n = snprintf(jd, sizeof(jd), "%s/jobs", dir);
	if (n < 0 || (size_t)n >= sizeof(jd))
		return ATL_E_LIMIT;
	if (create && (atl_mkdir_p(dir, 0700) != ATL_OK || atl_mkdir_p(jd, 0700) != ATL_OK))
		return ATL_E_IO;
	n = snprintf(out, cap, "%s/%s.json", jd, job_id);
	return n < 0 || (size_t)n >= cap ? ATL_E_LIMIT : ATL_OK;
}

enum atl_err atl_client_record_save(const char *dir, const char *job_id, const char *workload,
				    const char *ck_kid, const char *coordinator,
				    const char *envelope)
{
	enum atl_err rc = ATL_E_INTERNAL;
	char path[4200], *txt = NULL;
	json_t *env = NULL, *j = NULL;

	ATL_TRY(record_path(dir, job_id, true, path, sizeof(path)));
	ATL_TRY(atl_json_parse(envelope, strlen(envelope), &env));
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:O}", "v", 1, "job_id", job_id,
		      "workload_id", workload, "key_id", ck_kid, "coordinator",
		      coordinator != NULL ? coordinator : "", "submitted_at",
		      (json_int_t)atl_time_now(), "envelope", env);
	txt = j != NULL ? atl_json_dump_pretty(j) : NULL;
	if (txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_file_write(path, txt, strlen(txt), 0600, 0));
	rc = ATL_OK;
out:
	free(txt);
	json_decref(env);
	json_decref(j);
	return rc;
}

static enum atl_err record_load(const char *dir, const char *job_id, json_t **out)
{
	char path[4200];
	enum atl_err rc;
	const char *id;

	*out = NULL;
	rc = record_path(dir, job_id, false, path, sizeof(path));
	if (rc == ATL_OK)
		rc = atl_json_load_file(path, RECORD_MAX, out);
	if (rc == ATL_OK && (atl_json_get_str(*out, "job_id", &id) != ATL_OK ||
			     strcmp(id, job_id) != 0 ||
			     !json_is_object(json_object_get(*out, "envelope")))) {
		json_decref(*out);
		*out = NULL;
		rc = ATL_E_FORMAT;
	}
	return rc;
}

enum atl_err atl_client_record_coordinator(const char *dir, const char *job_id, char *out,
					   size_t cap)
{
	json_t *j = NULL;
	const char *u = NULL;
	enum atl_err rc = record_load(dir, job_id, &j);

	out[0] = '\0';
	if (rc == ATL_OK && atl_json_get_str(j, "coordinator", &u) == ATL_OK &&
	    strlen(u) < cap)
		snprintf(out, cap, "%s", u);
	json_decref(j);
	return rc;
}

enum atl_err atl_client_open_result(const char *dir, const char *job_id, const char *result,
				    size_t result_len, uint8_t **pt_out, size_t *pt_len_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_env_info *info = NULL;
	struct atl_kp kp = {0};
	json_t *j = NULL;
	const char *kid;
	char *env = NULL;
	uint8_t *in = NULL, *dek = NULL;
	size_t in_len = 0;

	*pt_out = NULL;
	*pt_len_out = 0;
	ATL_TRY(record_load(dir, job_id, &j));
	if (atl_json_get_str(j, "key_id", &kid) != ATL_OK) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_client_key_load(dir, kid, &kp, NULL));
	env = atl_json_dump(json_object_get(j, "envelope"));
	info = calloc(1, sizeof(*info));
	if (env == NULL || info == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	/* no replay cache: the client reopens its own envelope */
	ATL_TRY(atl_env_open(env, strlen(env), &kp, atl_time_now(), NULL, &in, &in_len, &dek,
			     info));
	atl_secret_free(in);
	in = NULL;
	ATL_TRY(atl_env_result_open(dek, job_id, info->workload_id, result, result_len, pt_out,
				    pt_len_out));
	rc = ATL_OK;
out:
	atl_secret_free(in);
	atl_secret_free(dek);
	atl_kp_clear(&kp);
	free(info);
	free(env);
	json_decref(j);
	return rc;
}
