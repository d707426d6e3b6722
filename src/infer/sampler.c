/* Token sampling (sampler.h). Each step copies the logits into a candidate
 * list, filters it and draws; penalties read a ring of recent tokens. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/limits.h"
#include "atoll/sampler.h"

struct cand {
	int32_t id;
	float logit;
	float p;
};

struct atl_sampler {
	struct atl_sampler_params prm;
	uint32_t n_vocab;
	struct cand *c;      /* [n_vocab] */
	int32_t *hist;       /* ring of repeat_last_n ids */
	uint32_t n_hist, hist_pos;
	uint64_t rng[4];
};

void atl_sampler_params_default(struct atl_sampler_params *p)
{
	memset(p, 0, sizeof(*p));
	p->temp = 0.0f;
	p->top_k = 0;
	p->top_p = 1.0f;
	p->min_p = 0.0f;
	p->repeat_penalty = 1.0f;
	p->repeat_last_n = 64;
	p->seed = 0;
}

/* splitmix64 expands the seed into the xoshiro256** state. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro(uint64_t *s)
{
	const uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* uniform in [0, 1) with 53 bits */
static double uniform(struct atl_sampler *s)
{
	return (double)(xoshiro(s->rng) >> 11) * 0x1.0p-53;
}

void atl_sampler_reset(struct atl_sampler *s)
{
	uint64_t x = s->prm.seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
	s->n_hist = 0;
	s->hist_pos = 0;
}

enum atl_err atl_sampler_new(const struct atl_sampler_params *p, uint32_t n_vocab,
			     struct atl_sampler **s_out)
{
	*s_out = NULL;
	if (n_vocab == 0 || n_vocab > ATL_MODEL_VOCAB_MAX || isnan(p->temp) || isinf(p->temp) ||
	    !(p->top_p > 0.0f && p->top_p <= 1.0f) || !(p->min_p >= 0.0f && p->min_p < 1.0f) ||
	    !(p->repeat_penalty >= 1.0f && p->repeat_penalty < 1e6f) ||
	    p->repeat_last_n > ATL_SAMPLER_HISTORY_MAX)
		return ATL_E_ARG;
	struct atl_sampler *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ATL_E_NOMEM;
	s->prm = *p;
	s->n_vocab = n_vocab;
	s->c = calloc(n_vocab, sizeof(*s->c));
	s->hist = calloc(p->repeat_last_n ? p->repeat_last_n : 1, sizeof(*s->hist));
	if (s->c == NULL || s->hist == NULL) {
		atl_sampler_free(s);
		return ATL_E_NOMEM;
	}
	atl_sampler_reset(s);
	*s_out = s;
	return ATL_OK;
}

void atl_sampler_free(struct atl_sampler *s)
{
	if (s == NULL)
		return;
	free(s->c);
	free(s->hist);
	free(s);
}

void atl_sampler_accept(struct atl_sampler *s, int32_t id)
{
	if (s->prm.repeat_last_n == 0)
		return;
	s->hist[s->hist_pos] = id;
	s->hist_pos = (s->hist_pos + 1) % s->prm.repeat_last_n;
	if (s->n_hist < s->prm.repeat_last_n)
		s->n_hist++;
}

/* logit descending, id ascending; non-finite (NaN) last */
static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	const bool xn = isnan(x->logit), yn = isnan(y->logit);
	if (xn != yn)
		return xn ? 1 : -1;
	if (!xn && x->logit != y->logit)
		return x->logit > y->logit ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* softmax over c[0..n) (sorted, so c[0] holds the max) into .p */
static void softmax(struct cand *c, size_t n, float temp)
{
	const float mx = c[0].logit;
	double sum = 0.0;
	for (size_t i = 0; i < n; i++) {
		c[i].p = expf((c[i].logit - mx) / temp);
		sum += c[i].p;
	}
	for (size_t i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

int32_t atl_sampler_sample(struct atl_sampler *s, const float *logits)
{
	const struct atl_sampler_params *p = &s->prm;
	struct cand *c = s->c;
	size_t n = s->n_vocab;
	for (size_t i = 0; i < n; i++) {
		c[i].id = (int32_t)i;
		c[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
	}
	/* llama.cpp's penalty: shrink positive logits, grow negative ones (once per
	 * distinct token) */
	if (p->repeat_penalty != 1.0f) {
		for (uint32_t i = 0; i < s->n_hist; i++) {
			int32_t id = s->hist[i];
			if (id < 0 || (uint32_t)id >= s->n_vocab)
				continue;
			bool seen = false;
			for (uint32_t j = 0; j < i; j++)
				seen = seen || s->hist[j] == id;
			if (seen)
				continue;
			float *l = &c[id].logit;
			*l = *l > 0.0f ? *l / p->repeat_penalty : *l * p->repeat_penalty;
		}
	}
	if (p->temp <= 0.0f) {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (c[i].logit > c[best].logit)
				best = i;
		return c[best].id;
	}
	/* top-k, then sort what is left (a full sort when k is off) */
	if (p->top_k > 0 && p->top_k < n) {
		/* partial selection: move the k best to the front with a bounded
		 * insertion pass (k is small in practice) */
		size_t k = p->top_k, filled = 0;
		for (size_t i = 0; i < n; i++) {
			struct cand x = c[i];
			if (filled == k && cmp_cand(&x, &c[k - 1]) >= 0)
				continue;
			size_t j = filled < k ? filled++ : k - 1;
			while (j > 0 && cmp_cand(&x, &c[j - 1]) < 0) {
				c[j] = c[j - 1];
				j--;
			}
			c[j] = x;
		}
		n = k;
	} else {
		qsort(c, n, sizeof(*c), cmp_cand);
	}
	if (!isfinite(c[0].logit))
		return c[0].id;
	softmax(c, n, 1.0f);
	if (p->top_p < 1.0f) {
		double cum = 0.0;
		size_t keep = n;
		for (size_t i = 0; i < n; i++) {
			cum += c[i].p;
			if (cum >= p->top_p) {
				keep = i + 1;
				break;
			}
		}
		n = keep;
	}
	if (p->min_p > 0.0f) {
		const float thr = c[0].p * p->min_p;
		size_t keep = 1;
		while (keep < n && c[keep].p >= thr)
			keep++;
		n = keep;
	}
	softmax(c, n, p->temp);
	double r = uniform(s), cum = 0.0;
	for (size_t i = 0; i < n; i++) {
		cum += c[i].p;
		if (r < cum)
			return c[i].id;
	}
	return c[n - 1].id;
}
