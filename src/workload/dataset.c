/* Bounded CSV reader for the classifier (include/atoll/classifier.h).
 *
 * Parse: lines and fields are scanned within buf[0..len) (no NUL needed),
 * each field copied into a fixed ATL_CSV_FIELD_MAX buffer before strtod.
 * Validate: every row has the first data row's column count, numbers are
 * plain decimals and finite, labels are 0/1, counts stay under the named
 * limits. Memory grows with the rows actually read, never from a count
 * taken from the input. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/classifier.h"
#include "atoll/limits.h"

struct cursor {
	const char *p, *end;
	size_t line; /* 1-based number of the line last returned */
};

static void set_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, ATL_CLF_ERR_LEN, fmt, ap);
	va_end(ap);
}

/* Next non-blank line as [*ls, *le) without its line ending; false at end. */
static bool next_line(struct cursor *c, const char **ls, const char **le)
{
	while (c->p < c->end) {
		const char *s = c->p, *e = memchr(s, '\n', (size_t)(c->end - s));
		const char *stop = e != NULL ? e : c->end;
		c->p = e != NULL ? e + 1 : c->end;
		c->line++;
		if (stop > s && stop[-1] == '\r')
			stop--;
		/* blank (only spaces/tabs) lines are skipped */
		for (const char *q = s; q < stop; q++) {
			if (*q != ' ' && *q != '\t') {
				*ls = s;
				*le = stop;
				return true;
			}
		}
	}
	return false;
}

/* Splits [s, e) at commas into at most max fields of at most
 * ATL_CSV_FIELD_MAX bytes (trimmed of spaces), copied into f. Returns the
 * field count, or -1 when a field is too long / there are too many. */
static long split(const char *s, const char *e, char (*f)[ATL_CSV_FIELD_MAX + 1], size_t max)
{
	size_t n = 0;

	for (;;) {
		const char *c = memchr(s, ',', (size_t)(e - s));
		const char *fe = c != NULL ? c : e, *fs = s;
		size_t len;
		while (fs < fe && (*fs == ' ' || *fs == '\t'))
			fs++;
		while (fe > fs && (fe[-1] == ' ' || fe[-1] == '\t'))
			fe--;
		len = (size_t)(fe - fs);
		if (n >= max || len > ATL_CSV_FIELD_MAX)
			return -1;
		memcpy(f[n], fs, len);
		f[n][len] = '\0';
		n++;
		if (c == NULL)
			break;
		s = c + 1;
	}
	return (long)n;
}

/* A plain decimal number: [+-]digits[.digits][e[+-]digits], finite. No
 * hex floats, "nan" or "inf" (which strtod would accept). */
static bool number(const char *f, double *v)
{
	char *end;
	bool digit = false;

	if (*f == '\0')
		return false;
	for (const char *p = f; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p != '+' && *p != '-' && *p != '.' && *p != 'e' && *p != 'E')
			return false;
	}
	if (!digit)
		return false;
	*v = strtod(f, &end);
	return *end == '\0' && isfinite(*v);
}

static bool all_numbers(char (*f)[ATL_CSV_FIELD_MAX + 1], size_t n)
{
	double v;

	for (size_t i = 0; i < n; i++) {
		if (!number(f[i], &v))
			return false;
	}
	return true;
}

static bool label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ATL_CLASSIFIER_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	}
	return true;
}

void atl_dataset_free(struct atl_dataset *d)
{
	if (d == NULL)
		return;
	free(d->x);
	free(d->y);
	free(d);
}

/* Parses an unsigned decimal count field. */
static bool count_field(const char *f, uint64_t *v)
{
	uint64_t n = 0;

	if (*f == '\0')
		return false;
	for (; *f != '\0'; f++) {
		if (*f < '0' || *f > '9' || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*f - '0');
	}
	*v = n;
	return true;
}

enum atl_err atl_dataset_parse_csv(const char *buf, size_t len, bool with_label,
				   struct atl_dataset **out, char *err)
{
	/* one line's fields: ATL_CLASSIFIER_FEATURES_MAX + label + 1 (to detect
	 * an extra column) */
	enum { FIELDS_MAX = ATL_CLASSIFIER_FEATURES_MAX + 2 };
	char (*f)[ATL_CSV_FIELD_MAX + 1] = NULL;
	struct atl_dataset *d = NULL;
	struct cursor c;
	const char *ls, *le;
	size_t n_cols = 0, cap_rows = 0;
	uint64_t want_rows = 0, want_feats = 0;
	bool sk_header = false, first = true;
	enum atl_err rc = ATL_E_INTERNAL;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (err != NULL)
		err[0] = '\0';
	if (buf == NULL && len != 0)
		return ATL_E_ARG;
	if (len > ATL_DATASET_SIZE_MAX) {
		set_err(err, "file larger than %u bytes", ATL_DATASET_SIZE_MAX);
		return ATL_E_LIMIT;
	}
	f = malloc(sizeof(*f) * FIELDS_MAX);
	d = calloc(1, sizeof(*d));
	if (f == NULL || d == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	strcpy(d->labels[0], "0");
	strcpy(d->labels[1], "1");
	c.p = buf;
	c.end = buf + len;
	c.line = 0;
	while (next_line(&c, &ls, &le)) {
		long nf = split(ls, le, f, FIELDS_MAX);
		size_t nfeat;
		if (nf < 0) {
			set_err(err, "line %zu: more than %u columns or a field longer than %u bytes",
				c.line, ATL_CLASSIFIER_FEATURES_MAX + 1, ATL_CSV_FIELD_MAX);
			rc = ATL_E_LIMIT;
			goto out;
		}
		if (first && !all_numbers(f, (size_t)nf)) {
			/* header: scikit-learn's "N,F,name0,name1" or column names */
			first = false;
			if (nf == 4 && count_field(f[0], &want_rows) &&
			    count_field(f[1], &want_feats)) {
				if (!label_ok(f[2]) || !label_ok(f[3]) || strcmp(f[2], f[3]) == 0) {
					set_err(err, "line %zu: bad class names in the header", c.line);
					rc = ATL_E_FORMAT;
					goto out;
				}
				strcpy(d->labels[0], f[2]);
				strcpy(d->labels[1], f[3]);
				sk_header = true;
			}
			continue;
		}
		first = false;
		if (n_cols == 0) {
			n_cols = (size_t)nf;
			if (n_cols < (with_label ? 2u : 1u)) {
				set_err(err, "line %zu: need at least one feature%s", c.line,
					with_label ? " and a label column" : "");
				rc = ATL_E_FORMAT;
				goto out;
			}
			if (n_cols - (with_label ? 1 : 0) > ATL_CLASSIFIER_FEATURES_MAX) {
				set_err(err, "line %zu: more than %u features", c.line,
					ATL_CLASSIFIER_FEATURES_MAX);
				rc = ATL_E_LIMIT;
				goto out;
			}
			d->n_features = n_cols - (with_label ? 1 : 0);
		}
		if ((size_t)nf != n_cols) {
			set_err(err, "line %zu: %ld columns, expected %zu (missing or extra column)",
				c.line, nf, n_cols);
			rc = ATL_E_FORMAT;
			goto out;
		}
		if (d->n_rows >= ATL_DATASET_ROWS_MAX) {
			set_err(err, "more than %u rows", ATL_DATASET_ROWS_MAX);
			rc = ATL_E_LIMIT;
			goto out;
		}
		nfeat = d->n_features;
		if (d->n_rows == cap_rows) {
			size_t nc = cap_rows != 0 ? cap_rows * 2 : 64;
			double *nx;
			uint8_t *ny;
			if (nc > ATL_DATASET_ROWS_MAX)
				nc = ATL_DATASET_ROWS_MAX;
			/* nc * nfeat <= 1e6 * 1024 doubles: no overflow on 64-bit */
			nx = realloc(d->x, nc * nfeat * sizeof(double));
			if (nx == NULL) {
				rc = ATL_E_NOMEM;
				goto out;
			}
			d->x = nx;
			if (with_label) {
				ny = realloc(d->y, nc);
				if (ny == NULL) {
					rc = ATL_E_NOMEM;
					goto out;
				}
				d->y = ny;
			}
			cap_rows = nc;
		}
		for (size_t i = 0; i < nfeat; i++) {
			if (!number(f[i], &d->x[d->n_rows * nfeat + i])) {
				set_err(err, "line %zu, column %zu: not a finite decimal number",
					c.line, i + 1);
				rc = ATL_E_FORMAT;
				goto out;
			}
		}
		if (with_label) {
			const char *lab = f[nfeat];
			if (strcmp(lab, "0") == 0) {
				d->y[d->n_rows] = 0;
			} else if (strcmp(lab, "1") == 0) {
				d->y[d->n_rows] = 1;
			} else {
				set_err(err, "line %zu, column %zu: label must be 0 or 1", c.line,
					nfeat + 1);
				rc = ATL_E_FORMAT;
				goto out;
			}
		}
		d->n_rows++;
	}
	if (d->n_rows == 0) {
		set_err(err, "no data rows");
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (sk_header && (want_rows != d->n_rows || want_feats != d->n_features)) {
		set_err(err, "header announces %llu rows of %llu features, found %zu of %zu",
			(unsigned long long)want_rows, (unsigned long long)want_feats, d->n_rows,
			d->n_features);
		rc = ATL_E_FORMAT;
		goto out;
	}
	*out = d;
	d = NULL;
	rc = ATL_OK;
out:
	free(f);
	atl_dataset_free(d);
	return rc;
}
