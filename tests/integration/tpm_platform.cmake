# TPM islands on the platform (issue 5): coordinator + atoll-island --tee tpm
# on swtpm + a client job end to end, and the registration refusals
# (tests/integration/tpm_platform.sh). Skips (77) without swtpm.
if(TARGET atoll-island AND TARGET atoll-coordinator AND TARGET atoll-enclave AND TARGET atoll)
  add_test(NAME integration.tpm_platform
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/tpm_platform.sh ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.tpm_platform PROPERTIES LABELS integration TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
