# The tpm TEE through the real programs on swtpm (issue 5): atoll policy init
# --tee tpm -> AK activation (atoll tpm info/challenge/activate/record) ->
# atoll-enclave --tee tpm --attest -> atoll verify, then the refusals.
add_test(NAME integration.tpm_enclave
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/tpm_enclave.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.tpm_enclave PROPERTIES LABELS integration TIMEOUT 240)
