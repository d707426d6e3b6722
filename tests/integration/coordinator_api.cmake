# The coordinator through real processes on loopback (issue 4): a real
# atoll-coordinator on an ephemeral port with a temp SQLite file, islands and
# a client (tests/integration/coordinator_peer.c) with real sandboxed
# atoll-enclave processes: a whole job end to end, auth and tenant isolation,
# limits, refused and replayed evidence, stale attestation, lease expiry,
# SIGTERM, and the plaintext canary (DESIGN §6).
if(TARGET atoll_coordinator AND TARGET atoll_enclave)
  add_executable(coordinator_peer ${CMAKE_CURRENT_LIST_DIR}/coordinator_peer.c)
  set_target_properties(coordinator_peer PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(coordinator_peer PRIVATE ${ATL_INCLUDE} ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(coordinator_peer PRIVATE atoll_enclave atoll_http atoll_attest atoll_crypto atoll_core)
  add_test(NAME integration.coordinator_api
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/coordinator_api.sh ${CMAKE_BINARY_DIR}/bin
                   $<TARGET_FILE:coordinator_peer>)
  set_tests_properties(integration.coordinator_api PROPERTIES LABELS integration TIMEOUT 300)
endif()
