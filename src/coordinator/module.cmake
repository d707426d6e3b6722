# The coordinator (DESIGN §1, §5): island and client HTTP API, job routing by
# attested enclave key, leases, maintenance, metrics; the atoll-coordinator
# program (main.c: serve and the operator commands).
atl_module(coordinator DEPS atoll_kbs atoll_store atoll_http atoll_attest atoll_crypto atoll_core Threads::Threads)
atl_program(atoll-coordinator ${CMAKE_SOURCE_DIR}/src/coordinator/main.c DEPS atoll_coordinator atoll_kbs atoll_store atoll_http atoll_attest atoll_crypto atoll_core)
