/* Classifier models: the versioned JSON model file (bounded parser and
 * writer) and inference (include/atoll/classifier.h).
 *
 * Model files and prediction requests are untrusted (the enclave receives
 * both): sizes are checked before parsing, atl_json_parse bounds depth and
 * refuses duplicate keys, every key is checked against an allow-list, counts
 * against named limits before any allocation, and every number must be
 * finite. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"

static void set_err(char *err, const char *msg)
{
	if (err != NULL)
		snprintf(err, ATL_CLF_ERR_LEN, "%s", msg);
}

void atl_clf_model_free(struct atl_clf_model *m)
{
	if (m == NULL)
		return;
	free(m->mean);
	free(m->scale);
	free(m->weights);
	free(m);
}

static bool label_ok(const char *s)
{
	size_t n = strnlen(s, ATL_CLASSIFIER_LABEL_MAX + 1);

	if (n == 0 || n > ATL_CLASSIFIER_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* A finite JSON number (integer or real). */
static bool finite_number(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* An array of exactly n finite numbers into a fresh buffer. */
static enum atl_err get_vec(const json_t *obj, const char *key, size_t n, double **out)
{
	const json_t *a = json_object_get(obj, key);
	double *v;

	*out = NULL;
	if (a == NULL)
		return ATL_E_FORMAT;
	if (!json_is_array(a) || json_array_size(a) != n)
		return ATL_E_FORMAT;
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return ATL_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!finite_number(json_array_get(a, i), &v[i])) {
			free(v);
			return ATL_E_FORMAT;
		}
	}
	*out = v;
	return ATL_OK;
}

static enum atl_err parse_training(const json_t *t, struct atl_clf_model *m)
{
	static const char *const keys[] = {"seed", "test_frac", "n_train", "n_test",
					   "test_accuracy", NULL};
	int64_t seed, n_train, n_test;
	enum atl_err rc = ATL_E_INTERNAL;

	if (atl_json_check_keys(t, keys, NULL) != ATL_OK)
		return ATL_E_FORMAT;
	ATL_TRY(atl_json_get_int(t, "seed", &seed));
	ATL_TRY(atl_json_get_int(t, "n_train", &n_train));
	ATL_TRY(atl_json_get_int(t, "n_test", &n_test));
	if (seed < 0 || n_train < 0 || n_test < 0 ||
	    !finite_number(json_object_get(t, "test_frac"), &m->test_frac) ||
	    !finite_number(json_object_get(t, "test_accuracy"), &m->test_accuracy)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	m->seed = (uint64_t)seed;
	m->n_train = (uint64_t)n_train;
	m->n_test = (uint64_t)n_test;
	rc = ATL_OK;
out:
	return rc == ATL_E_NOTFOUND ? ATL_E_FORMAT : rc;
}

enum atl_err atl_clf_model_parse(const uint8_t *buf, size_t len, struct atl_clf_model **out)
{
	static const char *const keys[] = {"format", "version", "kind", "n_features", "labels",
					   "mean", "scale", "weights", "bias", "training", NULL};
	struct atl_clf_model *m = NULL;
	json_t *root = NULL, *labels, *t;
	const char *s;
	int64_t version, nf;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (buf == NULL && len != 0)
		return ATL_E_ARG;
	/* parse */
	if (len > ATL_CLASSIFIER_MODEL_MAX)
		return ATL_E_LIMIT;
	if (atl_json_parse((const char *)buf, len, &root) != ATL_OK)
		return ATL_E_FORMAT;
	if (!json_is_object(root) || atl_json_check_keys(root, keys, NULL) != ATL_OK) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	/* validate: format, version and kind first, so that a future file is
	 * reported as unsupported rather than malformed */
	if (atl_json_get_str(root, "format", &s) != ATL_OK) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (strcmp(s, ATL_CLF_FORMAT) != 0) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (atl_json_get_int(root, "version", &version) != ATL_OK) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (version != ATL_CLF_VERSION) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (atl_json_get_str(root, "kind", &s) != ATL_OK) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (strcmp(s, "logistic") != 0) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	if (atl_json_get_int(root, "n_features", &nf) != ATL_OK || nf < 1) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (nf > (int64_t)ATL_CLASSIFIER_FEATURES_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	m->n_features = (size_t)nf;
	labels = json_object_get(root, "labels");
	if (!json_is_array(labels) || json_array_size(labels) != 2) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		const json_t *l = json_array_get(labels, i);
		if (!json_is_string(l) || json_string_length(l) > ATL_CLASSIFIER_LABEL_MAX ||
		    strlen(json_string_value(l)) != json_string_length(l) ||
		    !label_ok(json_string_value(l))) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		strcpy(m->labels[i], json_string_value(l));
	}
	if (strcmp(m->labels[0], m->labels[1]) == 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(get_vec(root, "mean", m->n_features, &m->mean));
	ATL_TRY(get_vec(root, "scale", m->n_features, &m->scale));
	ATL_TRY(get_vec(root, "weights", m->n_features, &m->weights));
	for (size_t i = 0; i < m->n_features; i++) {
		if (!(m->scale[i] > 0)) {
			rc = ATL_E_FORMAT;
			goto out;
		}
	}
	if (!finite_number(json_object_get(root, "bias"), &m->bias)) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	t = json_object_get(root, "training");
	if (t != NULL)
		ATL_TRY(parse_training(t, m));
	*out = m;
	m = NULL;
	rc = ATL_OK;
out:
	json_decref(root);
	atl_clf_model_free(m);
	return rc;
}

enum atl_err atl_clf_model_load(const char *path, struct atl_clf_model **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum atl_err rc;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	rc = atl_file_read(path, ATL_CLASSIFIER_MODEL_MAX, &buf, &len);
	if (rc == ATL_OK)
		rc = atl_clf_model_parse(buf, len, out);
	free(buf);
	return rc;
}

static json_t *vec_json(const double *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_real(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

enum atl_err atl_clf_model_write(const struct atl_clf_model *m, char **json_out,
				 size_t *len_out)
{
	json_t *root = NULL, *mean, *scale, *weights;
	char *s = NULL, *full;
	size_t n;
	enum atl_err rc = ATL_E_INTERNAL;

	if (json_out != NULL)
		*json_out = NULL;
	if (len_out != NULL)
		*len_out = 0;
	if (m == NULL || json_out == NULL || m->n_features == 0 ||
	    m->n_features > ATL_CLASSIFIER_FEATURES_MAX || !label_ok(m->labels[0]) ||
	    !label_ok(m->labels[1]))
		return ATL_E_ARG;
	mean = vec_json(m->mean, m->n_features);
	scale = vec_json(m->scale, m->n_features);
	weights = vec_json(m->weights, m->n_features);
	root = json_pack("{s:s,s:i,s:s,s:I,s:[s,s],s:o*,s:o*,s:o*,s:f,s:{s:I,s:f,s:I,s:I,s:f}}",
			 "format", ATL_CLF_FORMAT, "version", ATL_CLF_VERSION, "kind", "logistic",
			 "n_features", (json_int_t)m->n_features, "labels", m->labels[0],
			 m->labels[1], "mean", mean, "scale", scale, "weights", weights, "bias",
			 m->bias, "training", "seed", (json_int_t)(m->seed & INT64_MAX),
			 "test_frac", m->test_frac, "n_train", (json_int_t)m->n_train, "n_test",
			 (json_int_t)m->n_test, "test_accuracy", m->test_accuracy);
	/* json_pack steals mean/scale/weights even on failure ("o*") */
	if (root == NULL || mean == NULL || scale == NULL || weights == NULL) {
		rc = ATL_E_FORMAT; /* a non-finite number, or out of memory */
		goto out;
	}
	s = atl_json_dump(root);
	if (s == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	n = strlen(s);
	full = realloc(s, n + 2);
	if (full == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	s = full;
	s[n] = '\n';
	s[n + 1] = '\0';
	*json_out = s;
	if (len_out != NULL)
		*len_out = n + 1;
	s = NULL;
	rc = ATL_OK;
out:
	free(s);
	json_decref(root);
	return rc;
}

double atl_clf_predict(const struct atl_clf_model *m, const double *x)
{
	double t = m->bias;

	for (size_t i = 0; i < m->n_features; i++)
		t += m->weights[i] * ((x[i] - m->mean[i]) / m->scale[i]);
	if (isnan(t))
		return NAN; /* +inf and -inf terms: extreme inputs or model */
	if (t >= 0)
		return 1.0 / (1.0 + exp(-t));
	return exp(t) / (1.0 + exp(t));
}

double atl_clf_accuracy(const struct atl_clf_model *m, const struct atl_dataset *d)
{
	size_t ok = 0;

	if (m == NULL || d == NULL || d->y == NULL || d->n_rows == 0 ||
	    d->n_features != m->n_features)
		return 0.0;
	for (size_t r = 0; r < d->n_rows; r++)
		ok += (atl_clf_predict(m, &d->x[r * d->n_features]) >= 0.5) == (d->y[r] != 0);
	return (double)ok / (double)d->n_rows;
}

/* Appends {"label","probability"} for row r (features x) to preds. */
static enum atl_err append_prediction(json_t *preds, const struct atl_clf_model *m,
				      const double *x, size_t r, char *err)
{
	double p = atl_clf_predict(m, x);
	int cls;

	if (isnan(p)) {
		if (err != NULL)
			snprintf(err, ATL_CLF_ERR_LEN,
				 "instance %zu: feature values out of the model's range", r);
		return ATL_E_FORMAT;
	}
	cls = p >= 0.5;
	if (json_array_append_new(preds, json_pack("{s:s,s:f}", "label", m->labels[cls],
						   "probability", cls ? p : 1.0 - p)) != 0)
		return ATL_E_NOMEM;
	return ATL_OK;
}

/* {"predictions":preds} serialised into *resp_out. */
static enum atl_err finish_response(json_t *preds, char **resp_out, size_t *resp_len_out)
{
	json_t *resp = json_pack("{s:O}", "predictions", preds);
	char *s = resp != NULL ? atl_json_dump(resp) : NULL;

	json_decref(resp);
	if (s == NULL)
		return ATL_E_NOMEM;
	*resp_out = s;
	if (resp_len_out != NULL)
		*resp_len_out = strlen(s);
	return ATL_OK;
}

enum atl_err atl_clf_predict_json(const struct atl_clf_model *m, const uint8_t *req,
				  size_t req_len, char **resp_out, size_t *resp_len_out,
				  char *err)
{
	static const char *const keys[] = {"instances", NULL};
	json_t *root = NULL, *inst, *preds = NULL;
	double *x = NULL;
	size_t n_rows;
	enum atl_err rc = ATL_E_INTERNAL;

	if (resp_out != NULL)
		*resp_out = NULL;
	if (resp_len_out != NULL)
		*resp_len_out = 0;
	if (err != NULL)
		err[0] = '\0';
	if (m == NULL || resp_out == NULL || (req == NULL && req_len != 0))
		return ATL_E_ARG;
	if (req_len > ATL_CLASSIFIER_INPUT_MAX) {
		set_err(err, "request too large");
		return ATL_E_LIMIT;
	}
	if (atl_json_parse((const char *)req, req_len, &root) != ATL_OK || !json_is_object(root) ||
	    atl_json_check_keys(root, keys, NULL) != ATL_OK) {
		set_err(err, "request must be a JSON object {\"instances\":[[numbers],...]}");
		rc = ATL_E_FORMAT;
		goto out;
	}
	inst = json_object_get(root, "instances");
	if (!json_is_array(inst) || json_array_size(inst) == 0) {
		set_err(err, "\"instances\" must be a non-empty array");
		rc = ATL_E_FORMAT;
		goto out;
	}
	n_rows = json_array_size(inst);
	if (n_rows > ATL_CLASSIFIER_ROWS_MAX) {
		set_err(err, "too many instances");
		rc = ATL_E_LIMIT;
		goto out;
	}
	x = malloc(m->n_features * sizeof(*x));
	preds = json_array();
	if (x == NULL || preds == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	for (size_t r = 0; r < n_rows; r++) {
		const json_t *row = json_array_get(inst, r);
		if (!json_is_array(row) || json_array_size(row) != m->n_features) {
			if (err != NULL)
				snprintf(err, ATL_CLF_ERR_LEN,
					 "instance %zu must be an array of %zu numbers", r,
					 m->n_features);
			rc = ATL_E_FORMAT;
			goto out;
		}
		for (size_t i = 0; i < m->n_features; i++) {
			if (!finite_number(json_array_get(row, i), &x[i])) {
				if (err != NULL)
					snprintf(err, ATL_CLF_ERR_LEN,
						 "instance %zu, feature %zu is not a finite number",
						 r, i);
				rc = ATL_E_FORMAT;
				goto out;
			}
		}
		rc = append_prediction(preds, m, x, r, err);
		if (rc != ATL_OK)
			goto out;
	}
	rc = finish_response(preds, resp_out, resp_len_out);
out:
	free(x);
	json_decref(preds);
	json_decref(root);
	return rc;
}

enum atl_err atl_clf_predict_dataset(const struct atl_clf_model *m, const struct atl_dataset *d,
				     char **resp_out, size_t *resp_len_out, char *err)
{
	json_t *preds = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (resp_out != NULL)
		*resp_out = NULL;
	if (resp_len_out != NULL)
		*resp_len_out = 0;
	if (err != NULL)
		err[0] = '\0';
	if (m == NULL || d == NULL || resp_out == NULL || d->n_rows == 0)
		return ATL_E_ARG;
	if (d->n_features != m->n_features) {
		if (err != NULL)
			snprintf(err, ATL_CLF_ERR_LEN, "rows have %zu features, the model takes %zu",
				 d->n_features, m->n_features);
		return ATL_E_FORMAT;
	}
	if (d->n_rows > ATL_CLASSIFIER_ROWS_MAX) {
		set_err(err, "too many instances");
		return ATL_E_LIMIT;
	}
	preds = json_array();
	if (preds == NULL)
		return ATL_E_NOMEM;
	for (size_t r = 0; r < d->n_rows; r++)
		ATL_TRY(append_prediction(preds, m, &d->x[r * d->n_features], r, err));
	rc = finish_response(preds, resp_out, resp_len_out);
out:
	json_decref(preds);
	return rc;
}

enum atl_err atl_clf_run_json(const struct atl_clf_model *m, const uint8_t *req, size_t req_len,
			      char **resp_out, size_t *resp_len_out, bool *is_error_out)
{
	char err[ATL_CLF_ERR_LEN];
	json_t *doc;
	char *s;
	enum atl_err rc;

	if (is_error_out != NULL)
		*is_error_out = false;
	if (resp_out != NULL)
		*resp_out = NULL;
	if (resp_len_out != NULL)
		*resp_len_out = 0;
	if (m == NULL || resp_out == NULL)
		return ATL_E_ARG;
	rc = atl_clf_predict_json(m, req, req_len, resp_out, resp_len_out, err);
	if (rc == ATL_OK || (rc != ATL_E_FORMAT && rc != ATL_E_LIMIT))
		return rc;
	doc = json_pack("{s:{s:s,s:s}}", "error", "code",
			rc == ATL_E_LIMIT ? "too_large" : "bad_input", "message",
			err[0] != '\0' ? err : "bad input");
	s = doc != NULL ? atl_json_dump(doc) : NULL;
	json_decref(doc);
	if (s == NULL)
		return ATL_E_NOMEM;
	*resp_out = s;
	if (resp_len_out != NULL)
		*resp_len_out = strlen(s);
	if (is_error_out != NULL)
		*is_error_out = true;
	return ATL_OK;
}
