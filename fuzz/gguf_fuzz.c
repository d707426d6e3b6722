/* Fuzz target: the GGUF reader (src/infer/gguf*.c). Parses the input, then
 * reads every metadata value and touches every byte of every tensor, so a
 * handle that passed validation with a bad size or offset shows up under ASan.
 * atl-fuzz-deps: atoll_infer */
#include <stddef.h>
#include <stdint.h>

#include "atoll/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_kv(const struct atl_gguf *g, size_t i)
{
	struct atl_gguf_str key = atl_gguf_kv_key(g, i), s;
	struct atl_gguf_arr a;
	char k[ATL_GGUF_KEY_MAX + 1];
	int64_t v;
	float f;
	bool b;

	/* keys have no NUL (checked at open) */
	for (size_t j = 0; j < key.len; j++)
		k[j] = key.p[j];
	k[key.len] = '\0';
	if (atl_gguf_get_i64(g, k, &v) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_f32(g, k, &f) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_bool(g, k, &b) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_str(g, k, &s) == ATL_E_INTERNAL)
		__builtin_trap();
	if (atl_gguf_get_arr(g, k, &a) != ATL_OK)
		return;
	for (size_t j = 0; j < a.n && j < 4096; j++) {
		if (atl_gguf_arr_i64(&a, j, &v) == ATL_E_INTERNAL)
			__builtin_trap();
		if (atl_gguf_arr_f32(&a, j, &f) == ATL_E_INTERNAL)
			__builtin_trap();
		if (atl_gguf_arr_bool(&a, j, &b) == ATL_E_INTERNAL)
			__builtin_trap();
		if (atl_gguf_arr_str(&a, j, &s) == ATL_OK && s.len > 0)
			(void)*(volatile const char *)&s.p[s.len - 1];
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_gguf *g = NULL;
	volatile uint8_t sink = 0;

	if (atl_gguf_open_mem(data, size, &g) != ATL_OK)
		return 0;
	for (size_t i = 0; i < atl_gguf_n_kv(g); i++)
		touch_kv(g, i);
	for (size_t i = 0; i < atl_gguf_n_tensors(g); i++) {
		const struct atl_gguf_tensor *t = atl_gguf_tensor_at(g, i);
		const uint8_t *p = t->data;

		if (atl_gguf_find_tensor(g, t->name) != t)
			__builtin_trap();
		for (size_t j = 0; j < t->size; j++)
			sink ^= p[j];
	}
	(void)sink;
	atl_gguf_close(g);
	return 0;
}
