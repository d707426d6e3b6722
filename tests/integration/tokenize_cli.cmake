# atoll tokenize through the real program: every llama.cpp vector of the three
# vocabularies, the tiny model's prompt with BOS, decode, chat wrapping, and each
# refusal with its exit code.
add_test(NAME integration.tokenize_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/tokenize_cli.sh ${CMAKE_BINARY_DIR}/bin
                 ${CMAKE_SOURCE_DIR}/tests/vectors/llm)
set_tests_properties(integration.tokenize_cli PROPERTIES LABELS integration TIMEOUT 600)
