# The island agent (DESIGN §1, §2): enclave supervisor, attestation relay,
# lease loop, model cache (library), and the atoll-island program.
atl_module(island DEPS atoll_enclave atoll_http atoll_attest atoll_crypto atoll_core)
atl_program(atoll-island ${CMAKE_SOURCE_DIR}/src/island/main.c DEPS atoll_island atoll_enclave atoll_http atoll_attest atoll_crypto atoll_core)
# Encrypted models (src/island/kbs.c) use the key broker's client (atoll_kbsd,
# src/kbsd/); until that module exists the island refuses encrypted models.
target_link_libraries(atoll_island PUBLIC $<TARGET_NAME_IF_EXISTS:atoll_kbsd>)
target_compile_definitions(atoll_island PRIVATE ATL_HAVE_KBSD=$<TARGET_EXISTS:atoll_kbsd>)
