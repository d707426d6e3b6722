# The atoll CLI: subcommands in src/cli/cmd_*.c, main in src/cli/main.c.
# Add a module to ATL_CLI_DEPS when a subcommand starts using it.
set(ATL_CLI_DEPS atoll_client atoll_http atoll_enclave atoll_core atoll_crypto atoll_attest atoll_workload atoll_infer atoll_kbs atoll_kbsd)
file(GLOB ATL_CLI_SRCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/cli/cmd_*.c)
atl_program(atoll ${CMAKE_SOURCE_DIR}/src/cli/main.c ${ATL_CLI_SRCS} DEPS ${ATL_CLI_DEPS})
