# The key broker module (DESIGN §8, issue 9): encrypted model files (.atm,
# model_crypt.c) and the hash-chained, signed audit log (audit.c). The broker
# service comes later.
atl_module(kbs DEPS atoll_attest atoll_crypto atoll_core)
