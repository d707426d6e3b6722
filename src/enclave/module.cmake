# The enclave module: message protocol and launcher (library), and the
# atoll-enclave program (main.c and its mode files).
atl_module(enclave DEPS atoll_infer atoll_kbs atoll_workload atoll_core atoll_crypto atoll_attest PkgConfig::SECCOMP)
atl_program(atoll-enclave ${CMAKE_SOURCE_DIR}/src/enclave/main.c DEPS atoll_enclave atoll_infer atoll_kbs atoll_workload atoll_attest atoll_crypto atoll_core)
