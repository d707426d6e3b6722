# The key broker module (DESIGN §8, issue 9): encrypted model files (.atm,
# model_crypt.c), the hash-chained, signed audit log (audit.c) and the broker
# core (broker.c, dek.c). The HTTP service is src/kbsd/.
atl_module(kbs DEPS atoll_attest atoll_crypto atoll_core)
