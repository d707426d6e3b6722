# One confidential job through real processes on one machine: atoll local
# starts the sandboxed atoll-enclave, verifies it, seals, and opens the result;
# then each refusal (wrong build, wrong root, bad policy, bad usage).
add_test(NAME integration.local_job
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/local_job.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.local_job PROPERTIES LABELS integration TIMEOUT 180)
