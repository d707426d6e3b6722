/* The coordinator (DESIGN §1, §2, §5; docs/internals/coordinator.md;
 * the HTTP contract is /work/notes/platform-api.md, copied in docs/api.md).
 *
 * Untrusted for confidentiality: it authenticates tenants and islands,
 * verifies islands' evidence (to route, not to protect data), stores and
 * queues sealed jobs, leases each one only to an island whose currently
 * attested enclave key is among the envelope's recipients, meters usage and
 * keeps an audit log. It never holds a key that opens a job.
 *
 * Threads: libmicrohttpd runs one thread per connection (a lease long-poll
 * blocks its own thread only); one maintenance thread expires leases, old
 * queued jobs and stale island attestations every maint_s seconds. The store
 * handle is shared (it serialises its own calls). */
#ifndef ATOLL_COORDINATOR_H
#define ATOLL_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"
#include "atoll/store.h"

#define ATL_COORD_LEASE_S_DEFAULT 60      /* lease length of a job given to an island */
#define ATL_COORD_MAINT_S_DEFAULT 5       /* period of the maintenance thread */
#define ATL_COORD_QUEUE_AGE_S_DEFAULT 3600 /* a queued job nobody took fails after this */
#define ATL_COORD_CHALLENGE_S_DEFAULT 120 /* validity of an attestation nonce */
#define ATL_COORD_NONCE_LEN 32            /* bytes of an attestation nonce */
#define ATL_COORD_TARGETS_DEFAULT 3       /* targets returned without ?count= */
/* A workload registered without a model stores this as its model path. */
#define ATL_COORD_NO_MODEL "-"

struct atl_coord_opts {
	const char *listen;      /* "HOST:PORT" (loopback unless allow_public); NULL: 127.0.0.1:0 */
	const char *db;          /* store URL or SQLite path (atl_store_open) */
	const char *policy_path; /* attestation policy file; NULL: the default policy */
	int64_t lease_s;         /* 0: ATL_COORD_LEASE_S_DEFAULT */
	int64_t maint_s;         /* 0: ATL_COORD_MAINT_S_DEFAULT */
	int64_t queue_age_s;     /* 0: ATL_COORD_QUEUE_AGE_S_DEFAULT */
	int64_t challenge_s;     /* 0: ATL_COORD_CHALLENGE_S_DEFAULT */
	unsigned timeout_s;      /* connection inactivity timeout; 0: http default */
	bool allow_public;       /* allow a non-loopback listen address */
	const char *tls_cert_pem; /* HTTPS: certificate chain (PEM text), or NULL: plain HTTP */
	const char *tls_key_pem;  /* its private key (PEM text) */
	/* mTLS (with tls_cert_pem): every connection must present a client
	 * certificate issued by this CA (PEM text), islands and clients alike;
	 * NULL: none asked for. */
	const char *tls_client_ca_pem;
	/* TPM islands (issue 5): ECDSA P-384 private key (PEM text) signing AK
	 * activation records and freshness countersignatures; its public key
	 * goes in the policies' tpm.activation_keys. NULL: no TPM registration. */
	const char *tpm_activation_key_pem;
};

struct atl_coord;

/* Opens the store, loads and validates the policy, starts the HTTP server and
 * the maintenance thread. *why (may be NULL) gets a one-line reason on
 * failure (policy field, bind error). ATL_E_ARG for bad options, the store's,
 * policy loader's or server's error otherwise. */
ATL_NODISCARD enum atl_err atl_coord_start(const struct atl_coord_opts *opts,
					   struct atl_coord **c_out, char *why, size_t why_cap);
/* The bound TCP port. */
uint16_t atl_coord_port(const struct atl_coord *c);
/* Graceful stop: long-polls return at once (204), in-flight requests finish,
 * the maintenance thread ends, the store is closed; NULL-safe. */
void atl_coord_stop(struct atl_coord *c);

/* ---- operator commands (src/coordinator/admin.c) ----
 * Each opens the store at db, does one thing, closes it. Tokens are printed
 * to their owner once by the caller and never stored or logged in clear. */

/* New tenant with a fresh API key "ak_…" (stored as its SHA-256).
 * ATL_E_EXISTS for a taken name, ATL_E_ARG for a bad name. */
ATL_NODISCARD enum atl_err atl_coord_tenant_add(const char *db, const char *name,
						char key_out[ATL_STORE_TOKEN_LEN]);
/* New island with a fresh token "it_…" (stored as its SHA-256). */
ATL_NODISCARD enum atl_err atl_coord_island_add(const char *db, const char *name,
						char token_out[ATL_STORE_TOKEN_LEN]);
/* Registers a workload: id, kind ("classifier", "echo", …), model file
 * (may be NULL: no model; its absolute path and SHA-256 are pinned, islands
 * fetch it through the coordinator, which serves it only while the digest
 * still matches), allowed TEE kinds (comma-separated, e.g. "sim,tpm").
 * sha256_hex_out (may be NULL, 65 bytes) gets the pinned digest.
 * ATL_E_EXISTS, ATL_E_ARG (bad id, kind or TEE list), ATL_E_NOTFOUND / ATL_E_IO
 * (model unreadable). */
ATL_NODISCARD enum atl_err atl_coord_workload_add(const char *db, const char *id,
						  const char *kind, const char *model,
						  const char *tees, char *sha256_hex_out);
/* Same for an encrypted model (.atm, issue 9): the file must parse as one
 * (atl_model_inspect; its model id is read from the header, unverified: the
 * enclave and the broker check it), and islands get the key from the broker
 * at kbs (http:// or https:// URL) under broker tenant kbs_tenant before the
 * enclave loads it. The lease of such a job carries "model_key":
 * {"kbs","tenant","model_id"}. model_id_hex_out (may be NULL, 33 bytes).
 * Errors as atl_coord_workload_add, and ATL_E_FORMAT (not an .atm file),
 * ATL_E_ARG (kbs, kbs_tenant). */
ATL_NODISCARD enum atl_err atl_coord_workload_add_atm(const char *db, const char *id,
						      const char *kind, const char *model,
						      const char *tees, const char *kbs,
						      const char *kbs_tenant,
						      char *sha256_hex_out,
						      char *model_id_hex_out);

#endif
