atl_module(crypto DEPS atoll_core OpenSSL::Crypto)
