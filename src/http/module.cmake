# HTTP adapters (DESIGN §5): server over libmicrohttpd, client over libcurl.
# The only module that includes microhttpd.h / curl.h.
atl_module(http DEPS atoll_core PkgConfig::MHD PkgConfig::CURL Threads::Threads)
