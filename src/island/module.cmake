# The island agent (DESIGN §1, §2): enclave supervisor, attestation relay,
# lease loop, model cache (library), and the atoll-island program.
atl_module(island DEPS atoll_enclave atoll_http atoll_attest atoll_crypto atoll_core)
atl_program(atoll-island ${CMAKE_SOURCE_DIR}/src/island/main.c DEPS atoll_island atoll_enclave atoll_http atoll_attest atoll_crypto atoll_core)
