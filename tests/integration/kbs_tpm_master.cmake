# The key broker's master key sealed by a TPM (issue 9; src/kbs/master_tpm.c,
# src/attest/tpm_seal.c): atoll kbs init --master-tpm on swtpm, releases
# after restarts (unseal), another TPM and a corrupt master.tpm refused.
# Needs swtpm (skipped otherwise) and the kbs_peer of kbs_service.cmake.
if(TSS2_FOUND AND TARGET kbs_peer AND TARGET atoll-kbs AND TARGET atoll)
  add_test(NAME integration.kbs_tpm_master
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kbs_tpm_master.sh ${CMAKE_BINARY_DIR}/bin
                   $<TARGET_FILE:kbs_peer>)
  set_tests_properties(integration.kbs_tpm_master PROPERTIES LABELS integration TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
