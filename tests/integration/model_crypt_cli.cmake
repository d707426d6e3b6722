# atoll model encrypt/decrypt/inspect/rewrap (issue 9) through the CLI.
add_test(NAME integration.model_crypt_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/model_crypt_cli.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.model_crypt_cli PROPERTIES LABELS integration TIMEOUT 120)
