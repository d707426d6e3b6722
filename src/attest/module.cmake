atl_module(attest DEPS atoll_core atoll_crypto)
if(CBOR_FOUND)
  target_link_libraries(atoll_attest PUBLIC PkgConfig::CBOR)
endif()
# tpm backend: evidence generation through tpm2-tss ESAPI when present
# (src/attest/tpm_esys.c answers ATL_E_UNSUPPORTED without it).
if(TSS2_FOUND)
  target_link_libraries(atoll_attest PUBLIC PkgConfig::TSS2)
  target_compile_definitions(atoll_attest PRIVATE ATL_HAVE_TSS2=1)
endif()
