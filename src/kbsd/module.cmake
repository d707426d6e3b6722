# The key broker's HTTP service (DESIGN §8, issue 9; docs/internals/kbsd.md):
# the Trustee-shaped /kbs/v0 server over the broker core (src/kbs/), its client
# (atl_kbsc_*, used by islands), and the atoll-kbs program.
atl_module(kbsd DEPS atoll_kbs atoll_http atoll_attest atoll_crypto atoll_core Threads::Threads)
atl_program(atoll-kbs ${CMAKE_SOURCE_DIR}/src/kbsd/main.c DEPS atoll_kbsd atoll_kbs atoll_http atoll_attest atoll_crypto atoll_core)
