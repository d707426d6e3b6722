/* Sampling (sampler.h): greedy ties, seeded reproducibility, the filters,
 * the empirical distribution, the repetition penalty, argument errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/limits.h"
#include "atoll/sampler.h"

static struct atl_sampler *mk(float temp, uint32_t k, float top_p, float min_p, uint64_t seed,
			      uint32_t n)
{
	struct atl_sampler_params p;
	atl_sampler_params_default(&p);
	p.temp = temp;
	p.top_k = k;
	p.top_p = top_p;
	p.min_p = min_p;
	p.seed = seed;
	struct atl_sampler *s = NULL;
	assert_int_equal(atl_sampler_new(&p, n, &s), ATL_OK);
	return s;
}

static void test_greedy(void **state)
{
	(void)state;
	const float l[6] = {0.5f, 2.0f, -1.0f, 2.0f, NAN, 1.9f};
	struct atl_sampler *s = mk(0.0f, 0, 1.0f, 0.0f, 1, 6);
	assert_int_equal(atl_sampler_sample(s, l), 1); /* tie: lowest id; NaN ignored */
	atl_sampler_free(s);
	/* top-k 1 and a tiny top-p are greedy at any temperature */
	s = mk(5.0f, 1, 1.0f, 0.0f, 7, 6);
	for (int i = 0; i < 50; i++)
		assert_int_equal(atl_sampler_sample(s, l), 1);
	atl_sampler_free(s);
	s = mk(1.0f, 0, 0.01f, 0.0f, 7, 6);
	for (int i = 0; i < 50; i++)
		assert_int_equal(atl_sampler_sample(s, l), 1);
	atl_sampler_free(s);
}

static void test_distribution(void **state)
{
	(void)state;
	const float l[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
	struct atl_sampler *s = mk(1.0f, 0, 1.0f, 0.0f, 42, 3);
	int cnt[3] = {0};
	enum { N = 20000 };
	for (int i = 0; i < N; i++) {
		int32_t id = atl_sampler_sample(s, l);
		assert_true(id >= 0 && id < 3);
		cnt[id]++;
	}
	assert_true(fabs(cnt[0] / (double)N - 0.5) < 0.02);
	assert_true(fabs(cnt[1] / (double)N - 0.3) < 0.02);
	assert_true(fabs(cnt[2] / (double)N - 0.2) < 0.02);
	/* same seed, same sequence; reset restarts it */
	struct atl_sampler *t = mk(1.0f, 0, 1.0f, 0.0f, 42, 3);
	atl_sampler_reset(s);
	for (int i = 0; i < 200; i++)
		assert_int_equal(atl_sampler_sample(s, l), atl_sampler_sample(t, l));
	atl_sampler_free(t);
	/* another seed, another sequence */
	t = mk(1.0f, 0, 1.0f, 0.0f, 43, 3);
	atl_sampler_reset(s);
	int same = 0;
	for (int i = 0; i < 200; i++)
		same += atl_sampler_sample(s, l) == atl_sampler_sample(t, l);
	assert_true(same < 200);
	atl_sampler_free(t);
	atl_sampler_free(s);
}

static void test_filters(void **state)
{
	(void)state;
	const float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
	/* top-k 2: only 0 and 1 */
	struct atl_sampler *s = mk(1.0f, 2, 1.0f, 0.0f, 3, 4);
	bool seen[4] = {false};
	for (int i = 0; i < 2000; i++)
		seen[atl_sampler_sample(s, l)] = true;
	assert_true(seen[0] && seen[1] && !seen[2] && !seen[3]);
	atl_sampler_free(s);
	/* top-p 0.7: 0.5 + 0.3 reaches it, so 0 and 1 */
	s = mk(1.0f, 0, 0.7f, 0.0f, 3, 4);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 2000; i++)
		seen[atl_sampler_sample(s, l)] = true;
	assert_true(seen[0] && seen[1] && !seen[2] && !seen[3]);
	atl_sampler_free(s);
	/* min-p 0.25: keeps p >= 0.125, so 0, 1, 2 */
	s = mk(1.0f, 0, 1.0f, 0.25f, 3, 4);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 4000; i++)
		seen[atl_sampler_sample(s, l)] = true;
	assert_true(seen[0] && seen[1] && seen[2] && !seen[3]);
	atl_sampler_free(s);
	/* a low temperature sharpens towards the argmax */
	s = mk(0.05f, 0, 1.0f, 0.0f, 3, 4);
	int top = 0;
	for (int i = 0; i < 1000; i++)
		top += atl_sampler_sample(s, l) == 0;
	assert_true(top > 990);
	atl_sampler_free(s);
}

static void test_penalty(void **state)
{
	(void)state;
	struct atl_sampler_params p;
	atl_sampler_params_default(&p);
	p.repeat_penalty = 2.0f;
	p.repeat_last_n = 2;
	struct atl_sampler *s = NULL;
	assert_int_equal(atl_sampler_new(&p, 3, &s), ATL_OK);
	const float l[3] = {3.0f, 2.0f, -1.0f};
	assert_int_equal(atl_sampler_sample(s, l), 0);
	atl_sampler_accept(s, 0); /* 3 -> 1.5 */
	assert_int_equal(atl_sampler_sample(s, l), 1);
	atl_sampler_accept(s, 1); /* 2 -> 1 */
	assert_int_equal(atl_sampler_sample(s, l), 0);
	atl_sampler_accept(s, 2); /* window of 2: token 0 falls out */
	atl_sampler_accept(s, 2);
	assert_int_equal(atl_sampler_sample(s, l), 0);
	atl_sampler_free(s);
}

static void test_args(void **state)
{
	(void)state;
	struct atl_sampler_params p;
	struct atl_sampler *s = NULL;
	atl_sampler_params_default(&p);
	assert_int_equal(atl_sampler_new(&p, 0, &s), ATL_E_ARG);
	assert_int_equal(atl_sampler_new(&p, ATL_MODEL_VOCAB_MAX + 1, &s), ATL_E_ARG);
	p.temp = NAN;
	assert_int_equal(atl_sampler_new(&p, 10, &s), ATL_E_ARG);
	atl_sampler_params_default(&p);
	p.top_p = 0.0f;
	assert_int_equal(atl_sampler_new(&p, 10, &s), ATL_E_ARG);
	p.top_p = 1.5f;
	assert_int_equal(atl_sampler_new(&p, 10, &s), ATL_E_ARG);
	atl_sampler_params_default(&p);
	p.min_p = 1.0f;
	assert_int_equal(atl_sampler_new(&p, 10, &s), ATL_E_ARG);
	atl_sampler_params_default(&p);
	p.repeat_penalty = 0.5f;
	assert_int_equal(atl_sampler_new(&p, 10, &s), ATL_E_ARG);
	atl_sampler_params_default(&p);
	p.repeat_last_n = ATL_SAMPLER_HISTORY_MAX + 1;
	assert_int_equal(atl_sampler_new(&p, 10, &s), ATL_E_ARG);
	assert_null(s);
	atl_sampler_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greedy),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
