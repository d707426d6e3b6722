# atoll verify --tee KIND on real native hardware evidence (issue 6), through the CLI.
add_test(NAME integration.cli_verify_native
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/cli_verify_native.sh
                 ${CMAKE_BINARY_DIR}/bin ${CMAKE_CURRENT_SOURCE_DIR}/vectors/attestation)
set_tests_properties(integration.cli_verify_native PROPERTIES LABELS integration TIMEOUT 180)
