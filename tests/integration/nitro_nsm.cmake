# Nitro evidence generation outside a Nitro enclave (issue 7): atoll-enclave
# --tee nitro --attest says /dev/nsm is not available and exits 1.
add_test(NAME integration.nitro_nsm
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/nitro_nsm.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.nitro_nsm PROPERTIES LABELS integration TIMEOUT 60)
