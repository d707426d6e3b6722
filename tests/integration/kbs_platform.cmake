# Encrypted models through the whole platform (issue 9): atoll-kbs serve,
# atoll-coordinator, atoll-island with a sandboxed atoll-enclave, the atoll
# client; broker state set up by tests/integration/kbs_platform_setup.c
# (tests/integration/kbs_platform.sh).
if(TARGET atoll-kbs AND TARGET atoll-island AND TARGET atoll-coordinator AND TARGET atoll-enclave
   AND TARGET atoll)
  add_executable(kbs_platform_setup ${CMAKE_CURRENT_LIST_DIR}/kbs_platform_setup.c)
  set_target_properties(kbs_platform_setup PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(kbs_platform_setup PRIVATE ${ATL_INCLUDE} ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(kbs_platform_setup PRIVATE atoll_kbs atoll_attest atoll_crypto atoll_core)
  add_test(NAME integration.kbs_platform
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kbs_platform.sh ${CMAKE_BINARY_DIR}/bin
                   $<TARGET_FILE:kbs_platform_setup>)
  set_tests_properties(integration.kbs_platform PROPERTIES LABELS integration TIMEOUT 400)
endif()
