/* The island agent (DESIGN §1, §2; docs/internals/island.md; the HTTP
 * contract is docs/api.md / platform-api.md "Island API").
 *
 * atoll-island is untrusted: it never sees plaintext. It supervises one
 * atoll-enclave child (sandboxed, socketpair on fd 3), relays the
 * coordinator's attestation challenges to it and the evidence back, leases
 * jobs by long-poll, fetches and caches workload models (checking their
 * SHA-256 before the enclave sees the path; the enclave checks it again),
 * pipes each job to the enclave and posts the sealed result, or a failure.
 *
 * Liveness: the enclave is re-attested before the coordinator's validity
 * runs out (at half of it, or every reattest_s), whenever the coordinator
 * asks (403 attestation_required), and whenever the enclave restarts (it
 * then has a new key: jobs sealed to the old key can no longer be opened).
 * A dead enclave is restarted with exponential backoff. The agent is one
 * thread; every wait is bounded (the long-poll by lease_wait_s) and checks
 * the stop flag, so SIGTERM ends it within about lease_wait_s seconds. */
#ifndef ATOLL_ISLAND_H
#define ATOLL_ISLAND_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"

#define ATL_ISLAND_LEASE_WAIT_DEFAULT 10 /* seconds of one lease long-poll */
#define ATL_ISLAND_BACKOFF_MAX_MS 30000  /* longest pause between retries */

struct atl_island_opts {
	const char *coordinator; /* http(s)://HOST:PORT */
	const char *token;       /* island token "it_…" (never logged) */
	const char *tee;         /* TEE kind the enclave attests with ("sim", ...) */
	const char *sim_root;    /* sim only: simulation root directory */
	const char *tpm;         /* tpm only: TPM URI (swtpm:host=H,port=P | device:/dev/tpmrm0) */
	const char *tpm_ek;      /* tpm only: "rsa" (default, NULL) or "ecc": which EK */
	const char *enclave;     /* path of the atoll-enclave program */
	const char *cache_dir;   /* model cache (created 0700) */
	int lease_wait_s;        /* 1..ATL_COORD_WAIT_MAX_S; 0: default */
	int64_t reattest_s;      /* re-attest at least this often; 0: half the validity */
	int64_t job_timeout_s;   /* cap on one job in the enclave; 0: until the lease ends */
	/* https coordinator: CA bundle to verify it (NULL: the system store), and
	 * a client certificate and key for mTLS (both or neither; PEM files) */
	const char *tls_ca_file;
	const char *tls_cert_file;
	const char *tls_key_file;
};

/* Runs the agent until *stop becomes non-zero (then stops the enclave and
 * returns ATL_OK). Fatal errors, with a one-line reason in why: ATL_E_ARG
 * (bad options), ATL_E_AUTH (the coordinator refuses the token: 401),
 * ATL_E_DENIED (the island is disabled), ATL_E_IO (the enclave never
 * started). Everything else (coordinator unreachable, evidence refused,
 * enclave crash) is logged and retried with backoff. */
ATL_NODISCARD enum atl_err atl_island_run(const struct atl_island_opts *opts,
					  volatile sig_atomic_t *stop, char *why, size_t why_cap);

#endif
