/* Prompt processing and token-by-token generation (model.h). */
#include <stdlib.h>
#include <time.h>

#include "atoll/model.h"
#include "infer/model_int.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum atl_err atl_model_generate(struct atl_model_ctx *c, const struct atl_tok *tok,
				const int32_t *prompt, size_t n_prompt, uint32_t n_predict,
				struct atl_sampler *smp, float *prompt_logits_out, atl_gen_fn fn,
				void *arg, struct atl_gen_stats *stats_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_gen_stats st = {0};
	const struct atl_model_hparams *hp = atl_model_hparams(atl_model_ctx_model(c));
	float *logits = NULL;
	char text[ATL_TOK_STREAM_OUT_MAX];
	size_t text_len = 0;
	struct atl_tok_stream ts;
	atl_tok_stream_init(&ts, ATL_TOK_DECODE_KEEP_SPACE);

	logits = malloc((size_t)hp->n_vocab * sizeof(float));
	if (logits == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	double t0 = now_s();
	if (prompt_logits_out != NULL) {
		ATL_TRY(atl_model_eval(c, prompt, n_prompt, prompt_logits_out, true));
		for (size_t i = 0; i < hp->n_vocab; i++)
			logits[i] = prompt_logits_out[(n_prompt - 1) * hp->n_vocab + i];
	} else {
		ATL_TRY(atl_model_eval(c, prompt, n_prompt, logits, false));
	}
	st.n_prompt = (uint32_t)n_prompt;
	st.prompt_s = now_s() - t0;
	for (size_t i = 0; i < n_prompt; i++)
		atl_sampler_accept(smp, prompt[i]);

	t0 = now_s();
	for (uint32_t i = 0; i < n_predict; i++) {
		int32_t id = atl_sampler_sample(smp, logits);
		atl_sampler_accept(smp, id);
		if (tok != NULL && atl_tok_is_eog(tok, id)) {
			st.stopped_eog = true;
			break;
		}
		st.n_gen++;
		text_len = 0;
		if (tok != NULL && id >= 0 && (size_t)id < atl_tok_n_vocab(tok))
			ATL_TRY(atl_tok_stream_push(tok, &ts, id, text, sizeof(text), &text_len));
		if (fn != NULL && !fn(arg, id, text, text_len))
			break;
		if (i + 1 == n_predict)
			break;
		if (atl_model_ctx_pos(c) >= atl_model_ctx_size(c)) {
			st.ctx_full = true;
			break;
		}
		ATL_TRY(atl_model_eval(c, &id, 1, logits, false));
	}
	st.gen_s = now_s() - t0;
	if (tok != NULL && fn != NULL) {
		ATL_TRY(atl_tok_stream_flush(&ts, text, sizeof(text), &text_len));
		if (text_len > 0)
			(void)fn(arg, -1, text, text_len);
	}
	rc = ATL_OK;
out:
	if (stats_out != NULL)
		*stats_out = st;
	free(logits);
	return rc;
}
