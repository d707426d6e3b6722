# End to end through the real programs: atoll sim init -> atoll-enclave --attest
# -> atoll policy init -> atoll verify, then each refusal with its exit code.
add_test(NAME integration.cli_verify
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/cli_verify.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.cli_verify PROPERTIES LABELS integration TIMEOUT 180)
