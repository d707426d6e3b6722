atl_module(attest DEPS atoll_core atoll_crypto)
if(CBOR_FOUND)
  target_link_libraries(atoll_attest PUBLIC PkgConfig::CBOR)
endif()
