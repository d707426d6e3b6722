# HTTP adapters (DESIGN §5): server over libmicrohttpd (TLS through GnuTLS,
# which libmicrohttpd uses), client over libcurl. The only module that
# includes microhttpd.h / gnutls.h / curl.h.
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
atl_module(http DEPS atoll_core PkgConfig::MHD PkgConfig::CURL PkgConfig::GNUTLS Threads::Threads)
