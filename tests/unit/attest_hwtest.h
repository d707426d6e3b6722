/* Helpers shared by the hardware-verifier tests (attest_snp_test.c,
 * attest_tdx_test.c, attest_sgx_test.c): run a backend's verify on a vector
 * with collateral at a reference time and inspect the result's checks. */
#ifndef ATOLL_TEST_ATTEST_HWTEST_H
#define ATOLL_TEST_ATTEST_HWTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoll/attest.h"
#include "atoll/file.h"
#include "atoll/policy.h"
#include "atoll/timeutil.h"

#define HWV ATL_SOURCE_DIR "/tests/vectors/attestation/"

static inline uint8_t *hw_load(const char *rel, size_t *len)
{
	uint8_t *buf = NULL;
	char path[512];

	(void)snprintf(path, sizeof(path), "%s%s", HWV, rel);
	assert_int_equal(atl_file_read(path, 4u * 1024u * 1024u, &buf, len), ATL_OK);
	return buf;
}

static inline int64_t hw_at(const char *s)
{
	int64_t t = 0;

	assert_int_equal(atl_time_parse_rfc3339(s, &t), ATL_OK);
	return t;
}

/* Runs ops->verify over buf with collateral files (relative to the vectors
 * dir, NULL-terminated), anchor files likewise (or NULL), policy JSON text (or
 * NULL). *rc_out gets verify's return. */
static inline struct atl_ar *hw_run_buf(const struct atl_tee_ops *ops, const uint8_t *buf,
					size_t len, const char *const *coll,
					const char *const *anchors, const char *time,
					const char *policy, enum atl_err *rc_out)
{
	static char paths[2][16][512];
	const char *cp[17] = {0}, *ap[17] = {0};
	struct atl_verify_in in;
	json_t *pol = NULL;
	struct atl_ar *ar = atl_ar_new(ops->name);
	char why[256];

	assert_non_null(ar);
	for (size_t i = 0; coll != NULL && coll[i] != NULL; i++) {
		(void)snprintf(paths[0][i], sizeof(paths[0][i]), "%s%s", coll[i][0] == '/' ? "" : HWV,
			       coll[i]);
		cp[i] = paths[0][i];
	}
	for (size_t i = 0; anchors != NULL && anchors[i] != NULL; i++) {
		(void)snprintf(paths[1][i], sizeof(paths[1][i]), "%s%s", HWV, anchors[i]);
		ap[i] = paths[1][i];
	}
	if (policy != NULL)
		assert_int_equal(atl_policy_parse(policy, strlen(policy), &pol, why, sizeof(why)), ATL_OK);
	memset(&in, 0, sizeof(in));
	in.now = hw_at(time);
	in.policy = pol;
	in.collateral = cp;
	in.anchors = anchors != NULL ? ap : NULL;
	*rc_out = ops->verify(buf, len, &in, ar);
	json_decref(pol);
	return ar;
}

static inline struct atl_ar *hw_run(const struct atl_tee_ops *ops, const char *ev,
				    const char *const *coll, const char *const *anchors,
				    const char *time, const char *policy)
{
	size_t len = 0;
	uint8_t *buf = hw_load(ev, &len);
	enum atl_err rc;
	struct atl_ar *ar = hw_run_buf(ops, buf, len, coll, anchors, time, policy, &rc);

	assert_int_equal(rc, ATL_OK);
	free(buf);
	return ar;
}

/* 1 passed, 0 failed, -1 absent */
static inline int hw_check(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar);
	json_t *checks = json_object_get(j, "checks");
	int r = -1;
	size_t i;
	json_t *c;

	json_array_foreach(checks, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			r = json_is_true(json_object_get(c, "ok")) ? 1 : 0;
	}
	json_decref(j);
	return r;
}

static inline void hw_dump(const struct atl_ar *ar)
{
	json_t *j = atl_ar_to_json(ar);
	char *s = json_dumps(j, JSON_INDENT(1));

	fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(j);
}

/* Writes data to a file under the build tree; returns its path (static). */
static inline const char *hw_tmpfile(const char *name, const void *data, size_t len)
{
	static char path[8][512];
	static int k;
	char *p = path[k++ % 8];
	FILE *f;

	(void)snprintf(p, 512, "%s/tests/hwtmp-%ld-%s", ATL_BINARY_DIR, (long)getpid(), name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static inline const char *hw_claim_str(const struct atl_ar *ar, const char *field)
{
	return json_string_value(atl_ar_get(ar, field));
}

#endif
