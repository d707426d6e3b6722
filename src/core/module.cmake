atl_module(core DEPS PkgConfig::JANSSON Threads::Threads m)
