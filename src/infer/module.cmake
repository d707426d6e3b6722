# The infer module: GGUF files, tokenizers, chat templates (llmtok) and the
# model, kernels and sampler (llmeng). Every src/infer/*.c is part of it.
# Only libc, libm and pthreads: this code runs inside the enclave (issue 8).
atl_module(infer DEPS atoll_core Threads::Threads m)
