/* Composite CPU + GPU evidence; see include/atoll/composite.h. The CPU part
 * goes through the dispatcher (atl_verify_evidence) unchanged; each GPU part
 * through the "nvidia-gpu" backend, then the GPU-specific appraisal here:
 * the binding to the CPU evidence, the TEE kind and the measurement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/composite.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/policy.h"
#include "atoll/verify.h"
#include "attest/hw2.h"

#define GPU_TEE "nvidia-gpu"

enum atl_err atl_composite_gpu_nonce(const uint8_t *enclave_pub, size_t pub_len,
				     const uint8_t *nonce, size_t nonce_len,
				     uint8_t out[ATL_COMPOSITE_GPU_NONCE_LEN])
{
	uint8_t rd[ATL_REPORT_DATA_LEN];
	enum atl_err rc = atl_attest_binding(enclave_pub, pub_len, nonce, nonce_len, rd);

	memcpy(out, rd, ATL_COMPOSITE_GPU_NONCE_LEN);
	return rc;
}

enum atl_err atl_composite_wrap(const char *cpu_wrapper, const uint8_t *const *gpu_natives,
				const size_t *gpu_lens, size_t n_gpus, char **json_out)
{
	json_t *cpu = NULL, *top = NULL, *gpus = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	char *b64 = NULL;

	*json_out = NULL;
	if (cpu_wrapper == NULL || (n_gpus > 0 && (gpu_natives == NULL || gpu_lens == NULL)))
		return ATL_E_ARG;
	if (n_gpus > ATL_COMPOSITE_GPUS_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(atl_json_parse(cpu_wrapper, strlen(cpu_wrapper), &cpu));
	if (!json_is_object(cpu)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	gpus = json_array();
	if (gpus == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_gpus; i++) {
		if (gpu_lens[i] == 0 || gpu_lens[i] > ATL_NVGPU_EVIDENCE_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		ATL_TRY(atl_b64_encode(gpu_natives[i], gpu_lens[i], ATL_B64_STD, &b64));
		if (json_array_append_new(gpus, json_pack("{s:s, s:s}", "tee", GPU_TEE, "evidence", b64))) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		free(b64);
		b64 = NULL;
	}
	top = json_pack("{s:i, s:O, s:O}", "v", ATL_COMPOSITE_VERSION, "cpu", cpu, "gpus", gpus);
	if (top == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*json_out = json_dumps(top, JSON_COMPACT | JSON_SORT_KEYS);
	if (*json_out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (strlen(*json_out) > ATL_ATTEST_EVIDENCE_MAX) {
		free(*json_out);
		*json_out = NULL;
		rc = ATL_E_LIMIT;
		goto out;
	}
	rc = ATL_OK;
out:
	free(b64);
	json_decref(cpu);
	json_decref(gpus);
	json_decref(top);
	return rc;
}

/* Copies the checks of sub into ar, names prefixed. */
static enum atl_err copy_checks(struct atl_ar *ar, const struct atl_ar *sub, const char *prefix)
{
	json_t *j = atl_ar_to_json(sub), *c;
	enum atl_err rc = ATL_OK;
	size_t i;

	if (j == NULL)
		return ATL_E_NOMEM;
	json_array_foreach(json_object_get(j, "checks"), i, c) {
		char name[96];
		const char *detail = json_string_value(json_object_get(c, "detail"));

		(void)snprintf(name, sizeof(name), "%s%s", prefix,
			       json_string_value(json_object_get(c, "name")));
		if (json_is_true(json_object_get(c, "warning")))
			rc = atl_ar_warn(ar, name, "%s", detail != NULL ? detail : "");
		else
			rc = atl_ar_check(ar, name, json_is_true(json_object_get(c, "ok")), "%s",
					  detail != NULL ? detail : "");
		if (rc != ATL_OK)
			break;
	}
	json_decref(j);
	return rc;
}

/* Copies claim `field` of sub to ar when present. */
static enum atl_err copy_claim(struct atl_ar *ar, const struct atl_ar *sub, const char *field)
{
	const json_t *v = atl_ar_get(sub, field);

	if (v == NULL)
		return ATL_OK;
	return atl_ar_set_json(ar, field, json_deep_copy(v));
}

/* The GPU-specific appraisal of one verified GPU result. */
static enum atl_err appraise_gpu(struct atl_ar *ar, const char *pfx, const struct atl_ar *gar,
				 const json_t *policy, const uint8_t *want_nonce)
{
	char name[64];
	const json_t *rd = atl_ar_get(gar, "report_data"), *m = atl_ar_get(gar, "measurement");
	const json_t *list = atl_policy_measurements(policy, GPU_TEE);
	uint8_t got[ATL_COMPOSITE_GPU_NONCE_LEN];
	enum atl_err rc;
	bool ok;

	(void)snprintf(name, sizeof(name), "%sbinding", pfx);
	ok = want_nonce != NULL &&
	     atl_hw2_json_hex(rd, got, sizeof(got), ATL_COMPOSITE_GPU_NONCE_LEN, NULL) &&
	     atl_crypto_memeq(got, want_nonce, sizeof(got));
	rc = atl_ar_check(ar, name, ok, ok ? "GPU challenge is the CPU evidence's binding"
					   : "GPU challenge is not the CPU evidence's binding "
					     "(another session's or another machine's GPU report)");
	if (rc != ATL_OK)
		return rc;
	(void)snprintf(name, sizeof(name), "%smeasurement", pfx);
	if (!json_is_string(m))
		return atl_ar_check(ar, name, false, "the GPU evidence did not verify");
	if (list != NULL)
		return atl_ar_check(ar, name,
				    atl_policy_measurement_listed(policy, GPU_TEE, json_string_value(m)),
				    "GPU measurement digest %.24s... %s", json_string_value(m),
				    atl_policy_measurement_listed(policy, GPU_TEE, json_string_value(m))
					    ? "is listed" : "is not listed in the policy");
	if (json_object_get(atl_policy_section(policy, GPU_TEE), "rim") != NULL)
		return atl_ar_check(ar, name, true, "appraised against the policy's reference values");
	return atl_ar_warn(ar, name, "GPU measurements not appraised (no list, no reference values)");
}

static enum atl_err fail_format(struct atl_ar **ar_out, enum atl_err why_rc, const char *why)
{
	struct atl_ar *ar = atl_ar_new("composite");

	*ar_out = ar;
	if (ar == NULL)
		return ATL_E_NOMEM;
	if (atl_ar_check(ar, "format", false, "%s", why) != ATL_OK)
		return ATL_E_NOMEM;
	return why_rc;
}

enum atl_err atl_composite_verify(const uint8_t *buf, size_t len, const json_t *policy,
				  const uint8_t *expected_nonce, size_t expected_nonce_len,
				  int64_t now, const char *const *anchors, struct atl_ar **ar_out)
{
	static const char *const keys[] = {"v", "cpu", "gpus", NULL};
	static const char *const gkeys[] = {"tee", "evidence", NULL};
	json_t *j = NULL, *gpus_json = NULL, *cpu_json = NULL;
	const json_t *cpu, *gpus, *g;
	struct atl_ar *ar = NULL, *cpu_ar = NULL;
	struct atl_evidence ev = {0};
	char *cpu_txt = NULL;
	uint8_t gpu_nonce[ATL_COMPOSITE_GPU_NONCE_LEN];
	bool have_nonce = false;
	const struct atl_tee_ops *ops = atl_tee_find(GPU_TEE);
	enum atl_err rc = ATL_E_INTERNAL;
	size_t i;

	*ar_out = NULL;
	if (len > ATL_ATTEST_EVIDENCE_MAX)
		return fail_format(ar_out, ATL_E_LIMIT, "evidence larger than the limit");
	if (atl_json_parse((const char *)buf, len, &j) != ATL_OK || !json_is_object(j))
		return json_decref(j), fail_format(ar_out, ATL_E_FORMAT, "evidence is not a JSON object");
	if (json_object_get(j, "cpu") == NULL) {
		/* A plain wrapper: the dispatcher, plus require_gpu. */
		json_decref(j);
		rc = atl_verify_evidence(buf, len, policy, expected_nonce, expected_nonce_len, now,
					 anchors, ar_out);
		if (*ar_out != NULL && atl_policy_require_gpu(policy)) {
			if (atl_ar_check(*ar_out, "require_gpu", false,
					 "the policy requires a confidential GPU; the evidence has none"))
				return ATL_E_NOMEM;
			if (rc == ATL_OK)
				rc = ATL_E_POLICY;
		}
		return rc;
	}
	cpu = json_object_get(j, "cpu");
	gpus = json_object_get(j, "gpus");
	if (atl_json_check_keys(j, keys, NULL) != ATL_OK || !json_is_integer(json_object_get(j, "v")) ||
	    json_integer_value(json_object_get(j, "v")) != ATL_COMPOSITE_VERSION ||
	    !json_is_object(cpu) || !json_is_array(gpus)) {
		json_decref(j);
		return fail_format(ar_out, ATL_E_FORMAT,
				   "composite evidence must be {v: 1, cpu: wrapper, gpus: [...]}");
	}
	if (json_array_size(gpus) > ATL_COMPOSITE_GPUS_MAX) {
		json_decref(j);
		return fail_format(ar_out, ATL_E_LIMIT, "too many GPUs in the composite evidence");
	}
	json_array_foreach(gpus, i, g) {
		if (!json_is_object(g) || atl_json_check_keys(g, gkeys, NULL) != ATL_OK ||
		    !json_is_string(json_object_get(g, "tee")) ||
		    !json_is_string(json_object_get(g, "evidence"))) {
			json_decref(j);
			return fail_format(ar_out, ATL_E_FORMAT,
					   "each GPU must be {tee: \"nvidia-gpu\", evidence: base64}");
		}
	}
	ar = atl_ar_new("composite");
	gpus_json = json_array();
	cpu_txt = json_dumps(cpu, JSON_COMPACT);
	if (ar == NULL || gpus_json == NULL || cpu_txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*ar_out = ar;
	/* The CPU TEE, exactly as a plain wrapper. */
	/* Its own return is reflected in its checks, which are copied below. */
	if (atl_verify_evidence((const uint8_t *)cpu_txt, strlen(cpu_txt), policy, expected_nonce,
				expected_nonce_len, now, anchors, &cpu_ar) == ATL_E_NOMEM ||
	    cpu_ar == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(copy_checks(ar, cpu_ar, "cpu."));
	ATL_TRY(copy_claim(ar, cpu_ar, "enclave_key"));
	ATL_TRY(copy_claim(ar, cpu_ar, "enclave_kid"));
	ATL_TRY(copy_claim(ar, cpu_ar, "nonce"));
	ATL_TRY(copy_claim(ar, cpu_ar, "measurement"));
	if (atl_ar_get(cpu_ar, "tee") != NULL)
		ATL_TRY(atl_ar_set_json(ar, "cpu_tee", json_deep_copy(atl_ar_get(cpu_ar, "tee"))));
	if (atl_evidence_parse((const uint8_t *)cpu_txt, strlen(cpu_txt), &ev, NULL, 0) == ATL_OK &&
	    atl_composite_gpu_nonce(ev.enclave_key, sizeof(ev.enclave_key), ev.nonce, ev.nonce_len,
				    gpu_nonce) == ATL_OK)
		have_nonce = true;
	/* Each GPU. */
	json_array_foreach(gpus, i, g) {
		char pfx[32], name[64];
		struct atl_verify_in in = {.now = now, .policy = policy};
		struct atl_ar *gar = atl_ar_new(GPU_TEE);
		const char *b64 = json_string_value(json_object_get(g, "evidence"));
		uint8_t *native = NULL;
		size_t native_len = 0;
		enum atl_err brc;
		json_t *gj;

		if (gar == NULL) {
			rc = ATL_E_NOMEM;
			goto out;
		}
		(void)snprintf(pfx, sizeof(pfx), "gpu[%zu].", i);
		(void)snprintf(name, sizeof(name), "%stee_type", pfx);
		if (strcmp(json_string_value(json_object_get(g, "tee")), GPU_TEE) != 0 || ops == NULL) {
			rc = atl_ar_check(ar, name, false, "GPU TEE kind is not nvidia-gpu, or not compiled in");
			atl_ar_free(gar);
			if (rc != ATL_OK)
				goto out;
			continue;
		}
		rc = atl_ar_check(ar, name, policy == NULL || atl_policy_lists_tee(policy, GPU_TEE),
				  policy == NULL || atl_policy_lists_tee(policy, GPU_TEE)
					  ? "nvidia-gpu is allowed" : "nvidia-gpu is not in the policy's tee_types");
		if (rc == ATL_OK) {
			brc = atl_b64_decode(b64, strlen(b64), ATL_B64_STD, &native, &native_len);
			if (brc == ATL_OK)
				brc = ops->verify(native, native_len, &in, gar);
			if (brc != ATL_OK && brc != ATL_E_NOMEM)
				rc = atl_ar_check(gar, "evidence", false, "GPU evidence is malformed (%s)",
						  atl_strerror(brc));
			else
				rc = brc;
		}
		if (rc == ATL_OK)
			rc = copy_checks(ar, gar, pfx);
		if (rc == ATL_OK)
			rc = appraise_gpu(ar, pfx, gar, policy, have_nonce ? gpu_nonce : NULL);
		gj = atl_ar_to_json(gar);
		if (rc == ATL_OK && (gj == NULL || json_array_append_new(gpus_json, gj) != 0)) {
			gj = NULL;
			rc = ATL_E_NOMEM;
		}
		free(native);
		atl_ar_free(gar);
		if (rc != ATL_OK)
			goto out;
	}
	if (atl_policy_require_gpu(policy))
		ATL_TRY(atl_ar_check(ar, "require_gpu", json_array_size(gpus) > 0,
				     json_array_size(gpus) > 0 ? "%zu GPU(s) in the set"
							       : "the policy requires a confidential GPU; the set has none",
				     json_array_size(gpus)));
	cpu_json = atl_ar_to_json(cpu_ar);
	if (cpu_json == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_ar_set_json(ar, "cpu", cpu_json));
	cpu_json = NULL;
	ATL_TRY(atl_ar_set_json(ar, "gpus", json_incref(gpus_json)));
	rc = atl_ar_status(ar) == ATL_AR_CONTRAINDICATED ? ATL_E_POLICY : ATL_OK;
out:
	if (rc != ATL_OK && rc != ATL_E_POLICY && ar != NULL &&
	    atl_ar_check(ar, "composite", false, "verification stopped: %s", atl_strerror(rc)) != ATL_OK)
		rc = ATL_E_NOMEM;
	atl_evidence_clear(&ev);
	free(cpu_txt);
	json_decref(cpu_json);
	json_decref(gpus_json);
	json_decref(j);
	atl_ar_free(cpu_ar);
	return rc;
}
