# A tiny LLM on an encrypted GGUF through the whole platform (issue 9):
# atoll kbs / atoll-kbs serve, atoll-coordinator, atoll-island with a
# sandboxed atoll-enclave, the atoll client; the output is compared with
# `atoll infer` on the plaintext model (tests/integration/llm_platform.sh).
if(TARGET atoll-kbs AND TARGET atoll-island AND TARGET atoll-coordinator AND TARGET atoll-enclave
   AND TARGET atoll)
  add_test(NAME integration.llm_platform
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/llm_platform.sh ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.llm_platform PROPERTIES LABELS integration TIMEOUT 300)
endif()
