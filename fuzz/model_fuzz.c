/* Fuzz target: the model loader (src/infer/model.c) and one forward pass
 * (src/infer/llama.c) over whatever GGUF file the input is. A file that the
 * GGUF reader accepts must either be refused by atl_model_load with an error
 * and a message, or be evaluable without any out-of-bounds access: the
 * loader checks every shape, type and hyper-parameter before the kernels read
 * a byte. Costs are bounded by the input: every tensor lies inside it.
 * atl-fuzz-deps: atoll_infer */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/gguf.h"
#include "atoll/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_gguf *g = NULL;
	struct atl_model *m = NULL;
	struct atl_model_ctx *c = NULL;
	float *logits = NULL;
	/* the reader borrows the buffer; give it the alignment a mapping has */
	uint8_t *buf = aligned_alloc(64, (size + 63) & ~(size_t)63);
	if (buf == NULL || size == 0)
		goto out;
	memcpy(buf, data, size);
	if (atl_gguf_open_mem(buf, size, &g) != ATL_OK)
		goto out;
	enum atl_err rc = atl_model_load(g, &m);
	if (rc != ATL_OK) {
		if (m != NULL || atl_model_errmsg()[0] == '\0')
			__builtin_trap();
		goto out;
	}
	const struct atl_model_hparams *hp = atl_model_hparams(m);
	if (atl_model_ctx_new(m, 3, 2, &c) != ATL_OK)
		goto out;
	logits = malloc((size_t)hp->n_vocab * 2 * sizeof(float));
	if (logits == NULL)
		goto out;
	const int32_t ids[2] = {0, (int32_t)hp->n_vocab - 1};
	if (atl_model_eval(c, ids, 2, logits, true) != ATL_OK)
		__builtin_trap();
	if (atl_model_eval(c, ids, 1, logits, false) != ATL_OK)
		__builtin_trap();
	if (atl_model_eval(c, ids, 1, logits, false) != ATL_E_LIMIT) /* cache full */
		__builtin_trap();
out:
	free(logits);
	atl_model_ctx_free(c);
	atl_model_free(m);
	atl_gguf_close(g);
	free(buf);
	return 0;
}
