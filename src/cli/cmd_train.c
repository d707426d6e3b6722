/* atoll train classifier: fit the classifier workload's logistic regression
 * on a CSV file and write a model file (include/atoll/classifier.h,
 * docs/internals/workload.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "cli/cmds.h"

/* The workload kind argument of `atoll train|predict KIND`: -1 when it is
 * "classifier" (go on), else the exit code (help printed, or a usage error). */
static int kind_arg(int argc, char **argv, const char *cmd, void (*use)(FILE *))
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		use(stdout);
		return ATL_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "classifier") != 0) {
		fprintf(stderr, "atoll %s: %s\n", cmd,
			argc < 2 ? "missing workload kind" : "unknown workload kind (only 'classifier')");
		use(stderr);
		return ATL_EXIT_USAGE;
	}
	return -1;
}

int atl_cmd_train(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: atoll train classifier --csv FILE --out MODEL [--seed S] [--test-frac F]\n"
		"\n"
		"Trains the 'classifier' workload: logistic regression on standardised\n"
		"features (Newton's method, L2 1/n), deterministic for a given seed.\n"
		"A share of the rows (--test-frac, default 0.2) is held out, chosen by a\n"
		"shuffle seeded with --seed (default 42), and the accuracy on it is reported.\n"
		"\n"
		"CSV: one row per line, the features then a 0/1 label, comma-separated\n"
		"decimal numbers; an optional header line (column names, or scikit-learn's\n"
		"'ROWS,FEATURES,NAME0,NAME1' which also names the two classes).\n"
		"The model file is JSON (format \"atoll-classifier\", version 1); its SHA-256\n"
		"is printed for 'atoll-coordinator workload add'.\n"
		"\n"
		"options:\n"
		"  --csv FILE        training data (at most %u MiB)\n"
		"  --out MODEL       model file to write (replaced atomically)\n"
		"  --seed S          shuffle seed, 0..2^63-1 (default 42)\n"
		"  --test-frac F     held-out share, 0..0.9 (default 0.2)\n"
		"\n"
		"exit status: 0 trained, 1 unusable data, 2 usage or I/O error\n",
		ATL_DATASET_SIZE_MAX / (1024u * 1024u));
}

static bool parse_seed(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > (unsigned long long)INT64_MAX)
		return false;
	*out = (uint64_t)v;
	return true;
}

static bool parse_frac(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0 && v <= 0.9))
		return false;
	*out = v;
	return true;
}

int atl_cmd_train(int argc, char **argv)
{
	static const struct option opts[] = {
		{"csv", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"seed", required_argument, NULL, 's'},
		{"test-frac", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct atl_clf_train_opts to = {.seed = 42, .test_frac = 0.2, .l2 = -1};
	struct atl_clf_report rep;
	struct atl_dataset *d = NULL;
	struct atl_clf_model *m = NULL;
	const char *csv = NULL, *out = NULL;
	uint8_t *buf = NULL, digest[ATL_SHA256_LEN];
	char *json = NULL, hex[2 * ATL_SHA256_LEN + 1], err[ATL_CLF_ERR_LEN];
	size_t len = 0, json_len = 0;
	enum atl_err rc;
	int ret = ATL_EXIT_USAGE, c;

	if ((c = kind_arg(argc, argv, "train", usage)) >= 0)
		return c;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': csv = optarg; break;
		case 'o': out = optarg; break;
		case 's':
			if (!parse_seed(optarg, &to.seed)) {
				fprintf(stderr, "atoll train: --seed must be an integer 0..2^63-1\n");
				return ATL_EXIT_USAGE;
			}
			break;
		case 't':
			if (!parse_frac(optarg, &to.test_frac)) {
				fprintf(stderr, "atoll train: --test-frac must be a number 0..0.9\n");
				return ATL_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll train: unknown option or missing value: %s\n",
				argv[optind - 1]);
			usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "atoll train: unexpected argument: %s\n", argv[optind]);
		return ATL_EXIT_USAGE;
	}
	if (csv == NULL || out == NULL) {
		fprintf(stderr, "atoll train: --csv and --out are required\n");
		usage(stderr);
		return ATL_EXIT_USAGE;
	}

	rc = atl_file_read(csv, ATL_DATASET_SIZE_MAX, &buf, &len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll train: cannot read %s: %s\n", csv,
			rc == ATL_E_LIMIT ? "file too large" : atl_strerror(rc));
		ret = ATL_EXIT_USAGE;
		goto out;
	}
	rc = atl_dataset_parse_csv((const char *)buf, len, true, &d, err);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll train: %s: %s\n", csv, err[0] != '\0' ? err : atl_strerror(rc));
		ret = rc == ATL_E_NOMEM ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
		goto out;
	}
	rc = atl_clf_train(d, &to, &m, &rep, err);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll train: %s: %s\n", csv, err[0] != '\0' ? err : atl_strerror(rc));
		ret = ATL_EXIT_FAIL;
		goto out;
	}
	rc = atl_clf_model_write(m, &json, &json_len);
	if (rc == ATL_OK)
		rc = atl_file_write(out, json, json_len, 0644, 0);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll train: cannot write %s: %s\n", out, atl_strerror(rc));
		ret = ATL_EXIT_USAGE;
		goto out;
	}
	if (atl_hash(ATL_HASH_SHA256, json, json_len, digest) != ATL_OK ||
	    atl_hex_encode(digest, sizeof(digest), hex, sizeof(hex)) != ATL_OK)
		snprintf(hex, sizeof(hex), "?");
	printf("trained logistic regression on %s: %zu rows, %zu features, classes %s/%s\n", csv,
	       d->n_rows, d->n_features, d->labels[0], d->labels[1]);
	printf("held-out split: seed %llu, test fraction %.2f: %zu training rows, %zu test rows\n",
	       (unsigned long long)to.seed, to.test_frac, rep.n_train, rep.n_test);
	printf("Newton steps: %u%s\n", rep.iterations, rep.converged ? "" : " (not converged)");
	printf("training accuracy: %.2f%%\n", 100.0 * rep.train_accuracy);
	if (rep.n_test > 0)
		printf("test accuracy:     %.2f%% (%zu of %zu held-out rows)\n",
		       100.0 * rep.test_accuracy,
		       (size_t)(rep.test_accuracy * (double)rep.n_test + 0.5), rep.n_test);
	else
		printf("test accuracy:     n/a (no rows held out)\n");
	printf("model: %s\nsha256: %s\n", out, hex);
	ret = ATL_EXIT_OK;
out:
	free(buf);
	free(json);
	atl_dataset_free(d);
	atl_clf_model_free(m);
	return ret;
}

/* ---- atoll predict classifier ---- */

int atl_cmd_predict(int argc, char **argv);

static void predict_usage(FILE *f)
{
	fprintf(f,
		"usage: atoll predict classifier --model MODEL --input FILE\n"
		"\n"
		"Runs a classifier model locally, in this process (no enclave, no network):\n"
		"the same computation the 'classifier' workload does inside an enclave.\n"
		"FILE ('-' for standard input) is either a JSON request\n"
		"{\"instances\":[[x0,...],...]} or CSV rows of features; CSV rows with one\n"
		"extra column are taken as labelled (0/1) and the accuracy is reported on\n"
		"standard error. Prints {\"predictions\":[{\"label\",\"probability\"},...]}.\n"
		"\n"
		"exit status: 0 done, 1 bad model or input, 2 usage or I/O error\n");
}

int atl_cmd_predict(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"input", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct atl_clf_model *m = NULL;
	struct atl_dataset *d = NULL;
	const char *model = NULL, *input = NULL;
	uint8_t *buf = NULL;
	char *resp = NULL, err[ATL_CLF_ERR_LEN];
	size_t len = 0, resp_len = 0, i;
	enum atl_err rc;
	int ret = ATL_EXIT_USAGE, c;

	if ((c = kind_arg(argc, argv, "predict", predict_usage)) >= 0)
		return c;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'i': input = optarg; break;
		case 'h': predict_usage(stdout); return ATL_EXIT_OK;
		default:
			fprintf(stderr, "atoll predict: unknown option or missing value: %s\n",
				argv[optind - 1]);
			predict_usage(stderr);
			return ATL_EXIT_USAGE;
		}
	}
	if (optind != argc || model == NULL || input == NULL) {
		fprintf(stderr, "atoll predict: --model and --input are required\n");
		predict_usage(stderr);
		return ATL_EXIT_USAGE;
	}
	rc = atl_clf_model_load(model, &m);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll predict: cannot load model %s: %s\n", model, atl_strerror(rc));
		ret = rc == ATL_E_NOTFOUND || rc == ATL_E_IO ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
		goto out;
	}
	rc = atl_file_read(input, ATL_DATASET_SIZE_MAX, &buf, &len);
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll predict: cannot read %s: %s\n", input, atl_strerror(rc));
		goto out;
	}
	for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n');
	     i++)
		;
	if (i < len && buf[i] == '{') {
		rc = atl_clf_predict_json(m, buf, len, &resp, &resp_len, err);
	} else {
		/* CSV: features only, or features and a label */
		rc = atl_dataset_parse_csv((const char *)buf, len, false, &d, err);
		if (rc != ATL_OK || d->n_features != m->n_features) {
			struct atl_dataset *dl = NULL;
			char err2[ATL_CLF_ERR_LEN];
			if (atl_dataset_parse_csv((const char *)buf, len, true, &dl, err2) == ATL_OK &&
			    dl->n_features == m->n_features) {
				atl_dataset_free(d);
				d = dl;
				rc = ATL_OK;
			} else {
				atl_dataset_free(dl);
			}
		}
		if (rc == ATL_OK)
			rc = atl_clf_predict_dataset(m, d, &resp, &resp_len, err);
		if (rc == ATL_OK && d->y != NULL)
			fprintf(stderr, "accuracy on %s: %.2f%% of %zu labelled rows\n", input,
				100.0 * atl_clf_accuracy(m, d), d->n_rows);
	}
	if (rc != ATL_OK) {
		fprintf(stderr, "atoll predict: %s: %s\n", input,
			err[0] != '\0' ? err : atl_strerror(rc));
		ret = rc == ATL_E_NOMEM ? ATL_EXIT_USAGE : ATL_EXIT_FAIL;
		goto out;
	}
	printf("%s\n", resp);
	ret = ATL_EXIT_OK;
out:
	free(buf);
	free(resp);
	atl_dataset_free(d);
	atl_clf_model_free(m);
	return ret;
}
