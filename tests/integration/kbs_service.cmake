# The key broker service through real processes on loopback (issue 9):
# atoll kbs (operator CLI) sets up tenants and encrypted models, atoll-kbs
# serve releases keys to a test enclave peer (tests/integration/kbs_peer.c,
# sim evidence), refusals, quota, revocation, rotation (manual and
# scheduled), audit chain tamper detection and the plaintext canary.
if(TARGET atoll_kbsd AND TARGET atoll-kbs AND TARGET atoll)
  add_executable(kbs_peer ${CMAKE_CURRENT_LIST_DIR}/kbs_peer.c)
  set_target_properties(kbs_peer PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(kbs_peer PRIVATE ${ATL_INCLUDE})
  target_link_libraries(kbs_peer PRIVATE atoll_kbsd atoll_kbs atoll_http atoll_attest atoll_crypto atoll_core)
  add_test(NAME integration.kbs_service
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kbs_service.sh ${CMAKE_BINARY_DIR}/bin
                   $<TARGET_FILE:kbs_peer>)
  set_tests_properties(integration.kbs_service PROPERTIES LABELS integration TIMEOUT 300)
endif()
