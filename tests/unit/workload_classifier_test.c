/* Unit tests for the classifier workload (src/workload/): CSV reader,
 * deterministic training on the UCI breast-cancer data (data/, see
 * data/README.md), model file round trip and every parser refusal, and JSON
 * inference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/classifier.h"
#include "atoll/file.h"
#include "atoll/limits.h"

static struct atl_dataset *load_bc(void)
{
	const char *src = getenv("ATL_SOURCE_DIR");
	char path[1024];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct atl_dataset *d = NULL;
	char err[ATL_CLF_ERR_LEN];

	snprintf(path, sizeof(path), "%s/data/breast_cancer.csv",
		 src != NULL ? src : ATL_SOURCE_DIR);
	assert_int_equal(atl_file_read(path, ATL_DATASET_SIZE_MAX, &buf, &len), ATL_OK);
	assert_int_equal(atl_dataset_parse_csv((const char *)buf, len, true, &d, err), ATL_OK);
	free(buf);
	return d;
}

static enum atl_err csv(const char *text, bool with_label, struct atl_dataset **d, char *err)
{
	return atl_dataset_parse_csv(text, strlen(text), with_label, d, err);
}

static void test_csv(void **state)
{
	struct atl_dataset *d = NULL;
	char err[ATL_CLF_ERR_LEN];

	(void)state;
	d = load_bc();
	assert_int_equal(d->n_rows, 569);
	assert_int_equal(d->n_features, 30);
	assert_string_equal(d->labels[0], "malignant");
	assert_string_equal(d->labels[1], "benign");
	assert_true(d->x[0] == 17.99);
	assert_int_equal(d->y[0], 0);
	atl_dataset_free(d);

	/* CRLF, blank lines, column-name header, spaces around fields */
	assert_int_equal(csv("a,b,label\r\n1, 2 ,0\r\n\r\n  \n3,4e0,1\n", true, &d, err), ATL_OK);
	assert_int_equal(d->n_rows, 2);
	assert_int_equal(d->n_features, 2);
	assert_string_equal(d->labels[1], "1");
	assert_true(d->x[3] == 4.0);
	atl_dataset_free(d);
	/* prediction files: no label column */
	assert_int_equal(csv("1,2\n3,4\n", false, &d, err), ATL_OK);
	assert_null(d->y);
	assert_int_equal(d->n_features, 2);
	atl_dataset_free(d);

	/* refusals, each with a message */
	assert_int_equal(csv("", true, &d, err), ATL_E_FORMAT);
	assert_null(d);
	assert_non_null(strstr(err, "no data rows"));
	assert_int_equal(csv("a,b,label\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("1,2,0\n3,1\n", true, &d, err), ATL_E_FORMAT);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "missing or extra column"));
	assert_int_equal(csv("1,2,0\n3,x,1\n", true, &d, err), ATL_E_FORMAT);
	assert_non_null(strstr(err, "line 2, column 2"));
	assert_int_equal(csv("1,nan,0\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("1,2,0\n1,inf,0\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("1,0x10,0\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("1,1e999,0\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("1,,0\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("1,2,2\n", true, &d, err), ATL_E_FORMAT);
	assert_non_null(strstr(err, "label must be 0 or 1"));
	assert_int_equal(csv("0\n1\n", true, &d, err), ATL_E_FORMAT);
	assert_int_equal(csv("3,2,no,yes\n1,2,0\n", true, &d, err), ATL_E_FORMAT);
	assert_non_null(strstr(err, "header announces"));
	assert_int_equal(csv("1,2,same,same\n1,2,0\n", true, &d, err), ATL_E_FORMAT);
	{
		char line[200];
		memset(line, '1', sizeof(line));
		memcpy(line + sizeof(line) - 5, ",0\n", 4);
		assert_int_equal(csv(line, true, &d, err), ATL_E_LIMIT);
	}
	{
		/* more columns than features allowed */
		size_t n = (ATL_CLASSIFIER_FEATURES_MAX + 3) * 2 + 2;
		char *many = malloc(n);
		size_t p = 0;
		for (size_t i = 0; i < ATL_CLASSIFIER_FEATURES_MAX + 3; i++) {
			many[p++] = '1';
			many[p++] = ',';
		}
		many[p - 1] = '\n';
		many[p] = '\0';
		assert_int_equal(csv(many, true, &d, err), ATL_E_LIMIT);
		free(many);
	}
	assert_int_equal(atl_dataset_parse_csv("1", ATL_DATASET_SIZE_MAX + 1u, true, &d, err),
			 ATL_E_LIMIT);
}

static void test_train_breast_cancer(void **state)
{
	struct atl_dataset *d = load_bc();
	struct atl_clf_train_opts o = {.seed = 42, .test_frac = 0.2, .l2 = -1};
	struct atl_clf_model *m1 = NULL, *m2 = NULL, *m3 = NULL;
	struct atl_clf_report r1, r2, r3;
	char *j1 = NULL, *j2 = NULL, *j3 = NULL, err[ATL_CLF_ERR_LEN];
	size_t l1, l2, l3;

	(void)state;
	assert_int_equal(atl_clf_train(d, &o, &m1, &r1, err), ATL_OK);
	print_message("breast-cancer, seed 42, 20%% held out: train %.4f (%zu rows), "
		      "test %.4f (%zu rows), %u Newton steps, converged %d\n",
		      r1.train_accuracy, r1.n_train, r1.test_accuracy, r1.n_test, r1.iterations,
		      (int)r1.converged);
	assert_int_equal(r1.n_test, 114);
	assert_int_equal(r1.n_train, 455);
	assert_true(r1.converged);
	assert_true(r1.test_accuracy >= 0.94);
	assert_true(r1.train_accuracy >= 0.95);
	/* deterministic: same seed, same bytes */
	assert_int_equal(atl_clf_train(d, &o, &m2, &r2, err), ATL_OK);
	assert_int_equal(atl_clf_model_write(m1, &j1, &l1), ATL_OK);
	assert_int_equal(atl_clf_model_write(m2, &j2, &l2), ATL_OK);
	assert_int_equal(l1, l2);
	assert_memory_equal(j1, j2, l1);
	assert_true(r1.test_accuracy == r2.test_accuracy);
	/* another seed: another split, still accurate */
	o.seed = 7;
	assert_int_equal(atl_clf_train(d, &o, &m3, &r3, err), ATL_OK);
	assert_true(r3.test_accuracy >= 0.93);
	assert_int_equal(atl_clf_model_write(m3, &j3, &l3), ATL_OK);
	assert_true(l3 != l1 || memcmp(j1, j3, l1) != 0);
	print_message("seed 7: test %.4f\n", r3.test_accuracy);
	assert_true(atl_clf_accuracy(m1, d) >= 0.95);
	atl_clf_model_free(m3);
	m3 = NULL;

	/* option and data errors */
	o.test_frac = 0.95;
	assert_int_equal(atl_clf_train(d, &o, &m3, &r3, err), ATL_E_ARG);
	{
		struct atl_dataset *one = NULL;
		o.test_frac = 0;
		assert_int_equal(csv("1,0\n2,0\n3,0\n", true, &one, err), ATL_OK);
		assert_int_equal(atl_clf_train(one, &o, &m3, &r3, err), ATL_E_FORMAT);
		assert_non_null(strstr(err, "only one class"));
		atl_dataset_free(one);
		assert_int_equal(csv("1,2\n", false, &one, err), ATL_OK);
		assert_int_equal(atl_clf_train(one, &o, &m3, &r3, err), ATL_E_ARG);
		atl_dataset_free(one);
	}
	free(j1);
	free(j2);
	free(j3);
	atl_clf_model_free(m1);
	atl_clf_model_free(m2);
	atl_clf_model_free(m3);
	atl_dataset_free(d);
}

/* A small valid model (2 features) as JSON text with one substitution. */
static const char model2[] =
	"{\"bias\":0.5,\"format\":\"atoll-classifier\",\"kind\":\"logistic\","
	"\"labels\":[\"no\",\"yes\"],\"mean\":[1.0,2.0],\"n_features\":2,"
	"\"scale\":[1.0,0.5],\"weights\":[2.0,-1.0],\"version\":1}";

static enum atl_err parse_str(const char *s, struct atl_clf_model **m)
{
	return atl_clf_model_parse((const uint8_t *)s, strlen(s), m);
}

static enum atl_err parse_sub(const char *from, const char *to)
{
	char buf[1024];
	const char *at = strstr(model2, from);
	struct atl_clf_model *m = NULL;
	enum atl_err rc;

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - model2), model2, to, at + strlen(from));
	rc = parse_str(buf, &m);
	if (rc == ATL_OK)
		atl_clf_model_free(m);
	else
		assert_null(m);
	return rc;
}

static void test_model_file(void **state)
{
	struct atl_clf_model *m = NULL, *m2 = NULL;
	char *j = NULL, *j2 = NULL;
	size_t l, l2;
	double x[2] = {1.0, 2.0};

	(void)state;
	assert_int_equal(parse_str(model2, &m), ATL_OK);
	assert_int_equal(m->n_features, 2);
	assert_string_equal(m->labels[1], "yes");
	/* at the mean the score is the bias */
	assert_true(atl_clf_predict(m, x) > 0.62 && atl_clf_predict(m, x) < 0.63);
	assert_int_equal(atl_clf_model_write(m, &j, &l), ATL_OK);
	assert_int_equal(j[l - 1], '\n');
	assert_int_equal(atl_clf_model_parse((const uint8_t *)j, l, &m2), ATL_OK);
	assert_int_equal(atl_clf_model_write(m2, &j2, &l2), ATL_OK);
	assert_int_equal(l, l2);
	assert_memory_equal(j, j2, l); /* exact round trip */
	free(j);
	free(j2);
	atl_clf_model_free(m);
	atl_clf_model_free(m2);

	/* refusals */
	assert_int_equal(parse_sub("\"version\":1", "\"version\":2"), ATL_E_UNSUPPORTED);
	assert_int_equal(parse_sub("atoll-classifier", "other"), ATL_E_UNSUPPORTED);
	assert_int_equal(parse_sub("\"logistic\"", "\"mlp\""), ATL_E_UNSUPPORTED);
	assert_int_equal(parse_sub("\"version\":1", "\"version\":\"1\""), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[1.0,0.5]", "[1.0,0.0]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[1.0,0.5]", "[1.0,-2]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[2.0,-1.0]", "[2.0]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[2.0,-1.0]", "[2.0,\"x\"]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[2.0,-1.0]", "[2.0,1e999]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("\"n_features\":2", "\"n_features\":0"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("\"n_features\":2", "\"n_features\":100000"), ATL_E_LIMIT);
	assert_int_equal(parse_sub("[\"no\",\"yes\"]", "[\"yes\",\"yes\"]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[\"no\",\"yes\"]", "[\"no\"]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[\"no\",\"yes\"]", "[\"no\",\"y\\u0000s\"]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("[\"no\",\"yes\"]", "[\"no\",\"y\\nes\"]"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("\"bias\":0.5,", "\"bias\":0.5,\"extra\":1,"), ATL_E_FORMAT);
	assert_int_equal(parse_sub("\"bias\":0.5,", ""), ATL_E_FORMAT);
	assert_int_equal(parse_sub("\"bias\":0.5,", "\"bias\":0.5,\"training\":{\"seed\":1},"),
			 ATL_E_FORMAT);
	assert_int_equal(parse_sub("\"bias\":0.5,",
				   "\"bias\":0.5,\"training\":{\"seed\":1,\"test_frac\":0.2,"
				   "\"n_train\":4,\"n_test\":1,\"test_accuracy\":1},"),
			 ATL_OK);
	assert_int_equal(parse_str("[]", &m), ATL_E_FORMAT);
	assert_int_equal(parse_str("", &m), ATL_E_FORMAT);
	assert_int_equal(parse_str("{\"format\":", &m), ATL_E_FORMAT);
	assert_int_equal(atl_clf_model_parse((const uint8_t *)model2, ATL_CLASSIFIER_MODEL_MAX + 1,
					     &m),
			 ATL_E_LIMIT);
	assert_int_equal(atl_clf_model_load("/nonexistent/model.json", &m), ATL_E_NOTFOUND);
}

static enum atl_err predict(const struct atl_clf_model *m, const char *req, char **out,
			    char *err)
{
	return atl_clf_predict_json(m, (const uint8_t *)req, strlen(req), out, NULL, err);
}

static void test_predict_json(void **state)
{
	struct atl_clf_model *m = NULL;
	char *out = NULL, err[ATL_CLF_ERR_LEN];

	(void)state;
	assert_int_equal(parse_str(model2, &m), ATL_OK);
	assert_int_equal(predict(m, "{\"instances\":[[1,2],[-10,20]]}", &out, err), ATL_OK);
	assert_non_null(strstr(out, "{\"predictions\":[{\"label\":\"yes\",\"probability\":0.622"));
	assert_non_null(strstr(out, "{\"label\":\"no\",\"probability\":"));
	free(out);
	assert_int_equal(predict(m, "{\"instances\":[[1,2,3]]}", &out, err), ATL_E_FORMAT);
	assert_null(out);
	assert_non_null(strstr(err, "instance 0 must be an array of 2 numbers"));
	assert_int_equal(predict(m, "{\"instances\":[[1,\"2\"]]}", &out, err), ATL_E_FORMAT);
	assert_non_null(strstr(err, "feature 1"));
	assert_int_equal(predict(m, "{\"instances\":[[1,NaN]]}", &out, err), ATL_E_FORMAT);
	assert_int_equal(predict(m, "{\"instances\":[[1,1e400]]}", &out, err), ATL_E_FORMAT);
	assert_int_equal(predict(m, "{\"instances\":[]}", &out, err), ATL_E_FORMAT);
	assert_int_equal(predict(m, "{\"instances\":[[1,2]],\"x\":1}", &out, err), ATL_E_FORMAT);
	assert_int_equal(predict(m, "[[1,2]]", &out, err), ATL_E_FORMAT);
	assert_int_equal(predict(m, "", &out, err), ATL_E_FORMAT);
	{
		/* one row too many */
		size_t n = 16 + 6 * (ATL_CLASSIFIER_ROWS_MAX + 1) + 4, p;
		char *big = malloc(n);
		p = (size_t)sprintf(big, "{\"instances\":[");
		for (size_t r = 0; r <= ATL_CLASSIFIER_ROWS_MAX; r++)
			p += (size_t)sprintf(big + p, "[1,2],");
		big[p - 1] = ']';
		big[p++] = '}';
		big[p] = '\0';
		assert_int_equal(predict(m, big, &out, err), ATL_E_LIMIT);
		free(big);
	}
	assert_int_equal(atl_clf_predict_json(m, (const uint8_t *)"{}", ATL_CLASSIFIER_INPUT_MAX + 1,
					      &out, NULL, err),
			 ATL_E_LIMIT);
	/* extreme values whose terms overflow to +inf and -inf: no score */
	assert_int_equal(predict(m, "{\"instances\":[[1e308,1e308]]}", &out, err), ATL_E_FORMAT);
	assert_non_null(strstr(err, "out of the model's range"));

	/* the enclave's entry point: an error result document for bad input */
	{
		bool is_err = true;
		size_t n = 0;
		static const char good[] = "{\"instances\":[[1,2]]}";
		static const char bad[] = "{\"instances\":[[1,2,3]]}";
		assert_int_equal(atl_clf_run_json(m, (const uint8_t *)good, sizeof(good) - 1, &out,
						  &n, &is_err),
				 ATL_OK);
		assert_false(is_err);
		assert_int_equal(strlen(out), n);
		assert_memory_equal(out, "{\"predictions\":", 15);
		free(out);
		assert_int_equal(atl_clf_run_json(m, (const uint8_t *)bad, sizeof(bad) - 1, &out, &n,
						  &is_err),
				 ATL_OK);
		assert_true(is_err);
		assert_string_equal(out, "{\"error\":{\"code\":\"bad_input\",\"message\":"
					 "\"instance 0 must be an array of 2 numbers\"}}");
		free(out);
		assert_int_equal(atl_clf_run_json(m, (const uint8_t *)bad,
						  ATL_CLASSIFIER_INPUT_MAX + 1, &out, &n, &is_err),
				 ATL_OK);
		assert_true(is_err);
		assert_non_null(strstr(out, "too_large"));
		free(out);
	}

	/* the same answer for CSV rows */
	{
		struct atl_dataset *d = NULL;
		char *out2 = NULL;
		assert_int_equal(csv("1,2\n-10,20\n", false, &d, err), ATL_OK);
		assert_int_equal(atl_clf_predict_dataset(m, d, &out2, NULL, err), ATL_OK);
		assert_int_equal(predict(m, "{\"instances\":[[1,2],[-10,20]]}", &out, err), ATL_OK);
		assert_string_equal(out, out2);
		free(out);
		free(out2);
		atl_dataset_free(d);
		assert_int_equal(csv("1,2,3\n", false, &d, err), ATL_OK);
		assert_int_equal(atl_clf_predict_dataset(m, d, &out2, NULL, err), ATL_E_FORMAT);
		assert_null(out2);
		assert_non_null(strstr(err, "the model takes 2"));
		atl_dataset_free(d);
	}
	atl_clf_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_train_breast_cancer),
		cmocka_unit_test(test_model_file),
		cmocka_unit_test(test_predict_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
