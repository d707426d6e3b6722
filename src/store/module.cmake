# The store (DESIGN §6): interface (store.c) and the SQLite backend (sqlite.c);
# the only module that includes sqlite3.h (and, later, libpq-fe.h).
atl_module(store DEPS atoll_core atoll_crypto PkgConfig::SQLITE)
