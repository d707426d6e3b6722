# End-to-end tpm backend test on swtpm (issue 5): evidence generation through
# ESAPI, credential activation, EK chain to the swtpm local CA, and the
# negative cases, each refused with the reason named in the result.
if(TSS2_FOUND)
  add_executable(tpm_swtpm_test ${CMAKE_CURRENT_LIST_DIR}/tpm_swtpm_test.c)
  set_target_properties(tpm_swtpm_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(tpm_swtpm_test PRIVATE ${ATL_INCLUDE} ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(tpm_swtpm_test PRIVATE atoll_attest atoll_crypto atoll_core PkgConfig::CMOCKA)
  add_test(NAME integration.tpm_swtpm
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/tpm_swtpm.sh $<TARGET_FILE:tpm_swtpm_test>
                   $<TARGET_FILE:atoll>)
  set_tests_properties(integration.tpm_swtpm PROPERTIES LABELS integration TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
