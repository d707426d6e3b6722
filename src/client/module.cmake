# The client library (DESIGN §1, §2): key store, local verification of
# targets, sealing, submission, job records. Used by the atoll CLI.
atl_module(client DEPS atoll_http atoll_attest atoll_crypto atoll_core)
