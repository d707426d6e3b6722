/* Training for the classifier workload (include/atoll/classifier.h).
 *
 * Deterministic: the held-out split is a Fisher–Yates shuffle driven by
 * splitmix64(seed) (our own generator, so the split is the same on every
 * libc), and the fit is Newton's method from w = 0 on the L2-regularised mean
 * log-loss — no randomness, a fixed order of floating-point operations.
 * Newton on this strictly convex objective converges in a handful of steps;
 * a step that does not lower the loss is halved (at most 30 times). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"

#define MAX_ITER_DEFAULT 100u
#define STEP_TOL 1e-10

static void set_err(char *err, const char *msg)
{
	if (err != NULL)
		snprintf(err, ATL_CLF_ERR_LEN, "%s", msg);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static size_t below(uint64_t *s, size_t n)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, r;

	do
		r = splitmix64(s);
	while (r >= lim);
	return (size_t)(r % n);
}

/* Numerically stable log(1 + exp(z)). */
static double log1pexp(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);
	return e / (1.0 + e);
}

/* Solves A x = b for symmetric positive definite A (k x k, overwritten by
 * its Cholesky factor). False when A is not positive definite. */
static bool cholesky_solve(double *a, double *b, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		double d = a[j * k + j];
		for (size_t p = 0; p < j; p++)
			d -= a[j * k + p] * a[j * k + p];
		if (!(d > 0))
			return false;
		d = sqrt(d);
		a[j * k + j] = d;
		for (size_t i = j + 1; i < k; i++) {
			double s = a[i * k + j];
			for (size_t p = 0; p < j; p++)
				s -= a[i * k + p] * a[j * k + p];
			a[i * k + j] = s / d;
		}
	}
	for (size_t i = 0; i < k; i++) { /* L y = b */
		double s = b[i];
		for (size_t p = 0; p < i; p++)
			s -= a[i * k + p] * b[p];
		b[i] = s / a[i * k + i];
	}
	for (size_t i = k; i-- > 0;) { /* L^T x = y */
		double s = b[i];
		for (size_t p = i + 1; p < k; p++)
			s -= a[p * k + i] * b[p];
		b[i] = s / a[i * k + i];
	}
	return true;
}

/* Mean log-loss + l2/2 |w|^2 of theta = (w[0..f), bias) on rows z (n x f). */
static double objective(const double *z, const uint8_t *y, size_t n, size_t f,
			const double *theta, double l2)
{
	double loss = 0, reg = 0;

	for (size_t r = 0; r < n; r++) {
		double t = theta[f];
		for (size_t i = 0; i < f; i++)
			t += theta[i] * z[r * f + i];
		/* -log p(y|x) = log(1 + e^t) - y t */
		loss += log1pexp(t) - (y[r] ? t : 0.0);
	}
	for (size_t i = 0; i < f; i++)
		reg += theta[i] * theta[i];
	return loss / (double)n + 0.5 * l2 * reg;
}

enum atl_err atl_clf_train(const struct atl_dataset *d, const struct atl_clf_train_opts *opts,
			   struct atl_clf_model **model_out, struct atl_clf_report *report_out,
			   char *err)
{
	struct atl_clf_train_opts o = {.seed = 42, .test_frac = 0.2, .l2 = -1, .max_iter = 0};
	struct atl_clf_model *m = NULL;
	struct atl_clf_report rep = {0};
	size_t *idx = NULL, n, n_test, n_train, f, k;
	double *z = NULL, *theta = NULL, *grad = NULL, *hess = NULL, *cand = NULL;
	uint8_t *yt = NULL;
	uint64_t rng;
	bool seen[2] = {false, false};
	double cur;
	enum atl_err rc = ATL_E_INTERNAL;

	if (model_out != NULL)
		*model_out = NULL;
	if (report_out != NULL)
		memset(report_out, 0, sizeof(*report_out));
	if (err != NULL)
		err[0] = '\0';
	if (d == NULL || model_out == NULL || d->y == NULL || d->x == NULL || d->n_features == 0 ||
	    d->n_features > ATL_CLASSIFIER_FEATURES_MAX)
		return ATL_E_ARG;
	if (opts != NULL)
		o = *opts;
	if (!(o.test_frac >= 0 && o.test_frac <= 0.9)) {
		set_err(err, "test fraction must be between 0 and 0.9");
		return ATL_E_ARG;
	}
	n = d->n_rows;
	f = d->n_features;
	k = f + 1;
	n_test = (size_t)floor((double)n * o.test_frac + 0.5);
	n_train = n - n_test;
	if (n_train < 2) {
		set_err(err, "need at least 2 training rows");
		return ATL_E_FORMAT;
	}
	idx = malloc(n * sizeof(*idx));
	z = malloc(n_train * f * sizeof(*z));
	yt = malloc(n_train);
	theta = calloc(k, sizeof(*theta));
	cand = calloc(k, sizeof(*cand));
	grad = calloc(k, sizeof(*grad));
	hess = calloc(k * k, sizeof(*hess));
	m = calloc(1, sizeof(*m));
	if (idx == NULL || z == NULL || yt == NULL || theta == NULL || cand == NULL ||
	    grad == NULL || hess == NULL || m == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	m->mean = calloc(f, sizeof(double));
	m->scale = calloc(f, sizeof(double));
	m->weights = calloc(f, sizeof(double));
	if (m->mean == NULL || m->scale == NULL || m->weights == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	m->n_features = f;
	memcpy(m->labels, d->labels, sizeof(m->labels));

	/* split: shuffled order, the first n_train rows train */
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	rng = o.seed;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = below(&rng, i + 1), t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	for (size_t r = 0; r < n_train; r++) {
		yt[r] = d->y[idx[r]] ? 1 : 0;
		seen[yt[r]] = true;
	}
	if (!seen[0] || !seen[1]) {
		set_err(err, "the training rows hold only one class");
		rc = ATL_E_FORMAT;
		goto out;
	}
	/* standardise with the training rows only */
	for (size_t i = 0; i < f; i++) {
		double mean = 0, var = 0;
		for (size_t r = 0; r < n_train; r++)
			mean += d->x[idx[r] * f + i];
		mean /= (double)n_train;
		for (size_t r = 0; r < n_train; r++) {
			double dv = d->x[idx[r] * f + i] - mean;
			var += dv * dv;
		}
		var /= (double)n_train;
		m->mean[i] = mean;
		m->scale[i] = var > 1e-24 ? sqrt(var) : 1.0; /* constant column */
		if (!isfinite(m->mean[i]) || !isfinite(m->scale[i])) {
			set_err(err, "feature values too large to standardise");
			rc = ATL_E_FORMAT;
			goto out;
		}
		for (size_t r = 0; r < n_train; r++)
			z[r * f + i] = (d->x[idx[r] * f + i] - mean) / m->scale[i];
	}
	if (o.l2 < 0)
		o.l2 = 1.0 / (double)n_train;
	if (o.max_iter == 0)
		o.max_iter = MAX_ITER_DEFAULT;

	cur = objective(z, yt, n_train, f, theta, o.l2);
	for (rep.iterations = 0; rep.iterations < o.max_iter;) {
		double step_max = 0, t_step = 1.0, next;
		memset(grad, 0, k * sizeof(*grad));
		memset(hess, 0, k * k * sizeof(*hess));
		for (size_t r = 0; r < n_train; r++) {
			const double *zr = &z[r * f];
			double t = theta[f], p, w;
			for (size_t i = 0; i < f; i++)
				t += theta[i] * zr[i];
			p = sigmoid(t);
			w = p * (1 - p);
			for (size_t i = 0; i < k; i++) {
				double zi = i < f ? zr[i] : 1.0;
				grad[i] += (p - yt[r]) * zi;
				for (size_t j = 0; j <= i; j++)
					hess[i * k + j] += w * zi * (j < f ? zr[j] : 1.0);
			}
		}
		for (size_t i = 0; i < k; i++) {
			grad[i] /= (double)n_train;
			for (size_t j = 0; j <= i; j++) {
				hess[i * k + j] /= (double)n_train;
				hess[j * k + i] = hess[i * k + j];
			}
			if (i < f) {
				grad[i] += o.l2 * theta[i];
				hess[i * k + i] += o.l2;
			}
		}
		/* the bias is not regularised; keep the system definite anyway */
		hess[f * k + f] += 1e-12;
		if (!cholesky_solve(hess, grad, k)) {
			set_err(err, "training diverged (singular system)");
			rc = ATL_E_FORMAT;
			goto out;
		}
		rep.iterations++;
		/* theta - t * step, halving t until the objective does not rise */
		for (int h = 0; h < 30; h++) {
			for (size_t i = 0; i < k; i++)
				cand[i] = theta[i] - t_step * grad[i];
			next = objective(z, yt, n_train, f, cand, o.l2);
			if (next <= cur)
				break;
			t_step *= 0.5;
		}
		for (size_t i = 0; i < k; i++) {
			double s = fabs(theta[i] - cand[i]);
			step_max = s > step_max ? s : step_max;
			theta[i] = cand[i];
		}
		cur = next;
		if (step_max < STEP_TOL) {
			rep.converged = true;
			break;
		}
	}
	for (size_t i = 0; i < f; i++) {
		m->weights[i] = theta[i];
		if (!isfinite(theta[i]))
			goto diverged;
	}
	m->bias = theta[f];
	if (!isfinite(m->bias))
		goto diverged;

	/* accuracy on both parts */
	{
		size_t ok_train = 0, ok_test = 0;
		for (size_t r = 0; r < n; r++) {
			bool right = (atl_clf_predict(m, &d->x[idx[r] * f]) >= 0.5) ==
				     (d->y[idx[r]] != 0);
			if (r < n_train)
				ok_train += right;
			else
				ok_test += right;
		}
		rep.train_accuracy = (double)ok_train / (double)n_train;
		rep.test_accuracy = n_test > 0 ? (double)ok_test / (double)n_test : 0.0;
	}
	rep.n_train = n_train;
	rep.n_test = n_test;
	m->seed = o.seed;
	m->test_frac = o.test_frac;
	m->test_accuracy = rep.test_accuracy;
	m->n_train = n_train;
	m->n_test = n_test;
	if (report_out != NULL)
		*report_out = rep;
	*model_out = m;
	m = NULL;
	rc = ATL_OK;
	goto out;
diverged:
	set_err(err, "training diverged (non-finite weights)");
	rc = ATL_E_FORMAT;
out:
	free(idx);
	free(z);
	free(yt);
	free(theta);
	free(cand);
	free(grad);
	free(hess);
	atl_clf_model_free(m);
	return rc;
}
