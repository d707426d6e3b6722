# Reliability and security of the platform through real processes on loopback
# (issue 4): island SIGKILL mid-job, replayed evidence, replayed sealed job,
# tenant isolation, slow-loris and concurrent load
# (tests/integration/platform_reliability.sh).
if(TARGET atoll-island AND TARGET atoll-coordinator AND TARGET atoll-enclave AND TARGET atoll)
  add_test(NAME integration.platform_reliability
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/platform_reliability.sh ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.platform_reliability PROPERTIES LABELS integration TIMEOUT 240)
endif()
