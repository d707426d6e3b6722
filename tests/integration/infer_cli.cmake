# atoll infer / atoll model through the real binary: llama.cpp's greedy path
# and logits (--dump-logits) on the tiny test models, gen-random -> info ->
# infer for both architectures, and each refusal with its exit code.
add_test(NAME integration.infer_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/infer_cli.sh ${CMAKE_BINARY_DIR}/bin
                 ${CMAKE_SOURCE_DIR}/tests/vectors/llm/logits)
set_tests_properties(integration.infer_cli PROPERTIES LABELS integration TIMEOUT 300)
