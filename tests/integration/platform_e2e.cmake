# The whole platform through real processes on loopback (issue 4):
# atoll-coordinator, atoll-island with a sandboxed atoll-enclave, and the atoll
# client commands (tests/integration/platform_e2e.sh).
if(TARGET atoll-island AND TARGET atoll-coordinator AND TARGET atoll-enclave AND TARGET atoll)
  add_test(NAME integration.platform_e2e
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/platform_e2e.sh ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.platform_e2e PROPERTIES LABELS integration TIMEOUT 300)
endif()
