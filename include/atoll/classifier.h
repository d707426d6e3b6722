/* The `classifier` workload (DESIGN §7, docs/internals/workload.md): binary
 * logistic regression on standardised tabular features.
 *
 * Three pieces:
 *  - datasets: a bounded CSV reader for training and prediction files;
 *  - training: deterministic for a given seed (seeded shuffle for the
 *    held-out split, Newton's method with L2 regularisation from zero);
 *  - models: a versioned JSON model file with a bounded parser (the enclave
 *    parses model files it is given, fuzz/classifier_model_fuzz.c) and
 *    inference on one vector or on a JSON request
 *    {"instances":[[x0,…],…]} → {"predictions":[{"label":…,"probability":…}]},
 *    where probability is the model's probability of the label it reports.
 *
 * Model file, version 1 (keys sorted when written; unknown keys refused):
 *   {"format":"atoll-classifier","version":1,"kind":"logistic",
 *    "n_features":F,"labels":[L0,L1],"mean":[F],"scale":[F],"weights":[F],
 *    "bias":b,"training":{"seed":S,"test_frac":f,"n_train":n,"n_test":m,
 *    "test_accuracy":a}}
 * p(L1 | x) = 1 / (1 + exp(-(bias + Σ weights[i] * (x[i] - mean[i]) / scale[i]))).
 * Every number is finite, scale[i] > 0, 1 <= F <= ATL_CLASSIFIER_FEATURES_MAX,
 * labels are 1..ATL_CLASSIFIER_LABEL_MAX printable ASCII bytes and differ.
 *
 * CSV (training: features then a 0/1 label per row; prediction: features
 * only): comma-separated decimal numbers, LF or CRLF, blank lines skipped, no
 * quoting. An optional first line that is not all numbers is a header: either
 * scikit-learn's "N,F,name0,name1" (row and feature counts are checked, the
 * class names become the labels) or column names (labels default to "0"/"1").
 * Limits: ATL_DATASET_SIZE_MAX bytes, ATL_DATASET_ROWS_MAX rows,
 * ATL_CLASSIFIER_FEATURES_MAX features, ATL_CSV_FIELD_MAX bytes a field. */
#ifndef ATOLL_CLASSIFIER_H
#define ATOLL_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"

#define ATL_CLF_FORMAT "atoll-classifier"
#define ATL_CLF_VERSION 1
#define ATL_CLF_ERR_LEN 160 /* bytes of an error message buffer */

struct atl_clf_model;

/* ---- datasets ---- */
struct atl_dataset {
	size_t n_rows, n_features;
	double *x;     /* n_rows * n_features, row-major */
	uint8_t *y;    /* n_rows labels (0/1), NULL when read without labels */
	char labels[2][ATL_CLASSIFIER_LABEL_MAX + 1];
};

/* Parses CSV text buf[0..len) (see above); with_label: the last column is
 * the 0/1 label. On failure err (ATL_CLF_ERR_LEN bytes, may be NULL) gets a
 * message naming the line and column. ATL_E_FORMAT (not a number, wrong
 * column count, bad label, empty), ATL_E_LIMIT (over a limit), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_dataset_parse_csv(const char *buf, size_t len, bool with_label,
						 struct atl_dataset **out, char *err);
/* NULL-safe. */
void atl_dataset_free(struct atl_dataset *d);

/* ---- training ---- */
struct atl_clf_train_opts {
	uint64_t seed;     /* shuffle for the held-out split */
	double test_frac;  /* share held out, in [0, 0.9]; default 0.2 when opts is NULL */
	double l2;         /* L2 strength (per-row loss average + l2/2 |w|^2); < 0: 1/n_train */
	unsigned max_iter; /* Newton steps; 0: 100 */
};

struct atl_clf_report {
	size_t n_train, n_test;
	double train_accuracy, test_accuracy; /* test_accuracy is 0 when n_test is 0 */
	unsigned iterations;
	bool converged;
};

/* Splits d by seed, standardises with the training rows' mean and standard
 * deviation, fits, and measures accuracy on both parts. d needs labels, both
 * classes among the training rows and at least 2 of them. ATL_E_ARG, ATL_E_FORMAT
 * (unusable data, with err set), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_clf_train(const struct atl_dataset *d,
					 const struct atl_clf_train_opts *opts,
					 struct atl_clf_model **model_out,
					 struct atl_clf_report *report_out, char *err);

/* ---- models ---- */
struct atl_clf_model {
	size_t n_features;
	char labels[2][ATL_CLASSIFIER_LABEL_MAX + 1];
	double *mean, *scale, *weights; /* n_features each */
	double bias;
	/* training record (informational) */
	uint64_t seed;
	double test_frac, test_accuracy;
	uint64_t n_train, n_test;
};

/* Parses a model file of at most ATL_CLASSIFIER_MODEL_MAX bytes. Untrusted
 * input: ATL_E_FORMAT (malformed, wrong types, unknown keys, non-finite
 * numbers, scale <= 0), ATL_E_UNSUPPORTED (other format or version),
 * ATL_E_LIMIT (too big, too many features), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_clf_model_parse(const uint8_t *buf, size_t len,
					       struct atl_clf_model **out);
/* Reads and parses a model file. ATL_E_NOTFOUND, ATL_E_IO, or as parse. */
ATL_NODISCARD enum atl_err atl_clf_model_load(const char *path, struct atl_clf_model **out);
/* Serialises (compact JSON, sorted keys, numbers that round-trip exactly,
 * trailing newline) into a malloc'd NUL-terminated string. */
ATL_NODISCARD enum atl_err atl_clf_model_write(const struct atl_clf_model *m, char **json_out,
					       size_t *len_out);
/* NULL-safe. */
void atl_clf_model_free(struct atl_clf_model *m);

/* p(labels[1] | x) for x[0..n_features), in [0, 1]; NaN when the score is
 * undefined (terms overflowing to +inf and -inf: extreme values). */
double atl_clf_predict(const struct atl_clf_model *m, const double *x);
/* Runs a JSON prediction request (at most ATL_CLASSIFIER_INPUT_MAX bytes,
 * 1..ATL_CLASSIFIER_ROWS_MAX instances of exactly n_features finite numbers)
 * and returns the malloc'd JSON response. ATL_E_FORMAT / ATL_E_LIMIT with
 * err set (a message fit to send back to the client), ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_clf_predict_json(const struct atl_clf_model *m,
						const uint8_t *req, size_t req_len,
						char **resp_out, size_t *resp_len_out, char *err);
/* The workload entry point for the enclave: always produces a result
 * document, either the predictions or, for bad input,
 * {"error":{"code":"bad_input"|"too_large","message":…}} (the message names
 * the instance and feature, never echoes values), so that bad input yields an
 * error result sealed like any other. Returns ATL_OK with *resp_out set in
 * both cases; ATL_E_NOMEM / ATL_E_ARG only when no document can be made.
 * *is_error_out (may be NULL) tells which. */
ATL_NODISCARD enum atl_err atl_clf_run_json(const struct atl_clf_model *m, const uint8_t *req,
					    size_t req_len, char **resp_out,
					    size_t *resp_len_out, bool *is_error_out);
/* The same response for the rows of a dataset (e.g. a CSV read without
 * labels; labels, if any, are ignored). ATL_E_FORMAT when the width differs
 * from the model's, ATL_E_LIMIT over ATL_CLASSIFIER_ROWS_MAX rows. */
ATL_NODISCARD enum atl_err atl_clf_predict_dataset(const struct atl_clf_model *m,
						   const struct atl_dataset *d, char **resp_out,
						   size_t *resp_len_out, char *err);
/* Fraction of d's rows (with labels) that m classifies right. */
double atl_clf_accuracy(const struct atl_clf_model *m, const struct atl_dataset *d);

#endif
