/* The enclave's workload configuration and its measurement
 * (src/enclave/config.c; docs/internals/attest-tpm.md "Measurement").
 *
 * The configuration is one canonical JSON document (compact, keys sorted,
 * integers in decimal, ASCII strings):
 *
 *   {"pcr":23,"sandbox":true,"tee":"tpm","v":1,
 *    "workloads":[{"kind":"classifier","limits":{…}},{"kind":"echo",…},…]}
 *
 * workloads lists every kind of the workload table this build serves
 * (atl_enclave_workload_at), sorted by kind, each with its limits. Its
 * SHA-384 is the config digest; the enclave measurement is
 * SHA-384(SHA-384(binary) || config digest). atoll-enclave and `atoll policy
 * init --tee tpm` both compute it here, so they cannot disagree. */
#ifndef ATOLL_ENCLAVECFG_H
#define ATOLL_ENCLAVECFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/enclave.h"
#include "atoll/err.h"

#define ATL_ENCLAVE_CONFIG_VERSION 1

struct atl_enclave_config {
	const char *tee; /* TEE kind ("tpm", ...): non-empty, printable ASCII */
	int pcr;         /* the measurement PCR (0..23) */
	bool sandbox;    /* the seccomp sandbox is applied (no --no-sandbox) */
};

/* The i-th entry of the workload table (src/enclave/workloads.c), NULL past
 * the end; in table order. */
const struct atl_enclave_workload *atl_enclave_workload_at(size_t i);

/* The canonical configuration JSON text (*json_out malloc'd, NUL-terminated).
 * ATL_E_ARG for a bad tee or pcr; ATL_E_INTERNAL for a table kind without
 * limits (a build error caught by tests/unit/enclave_config_test.c). */
ATL_NODISCARD enum atl_err atl_enclave_config_json(const struct atl_enclave_config *c,
						   char **json_out);
/* SHA-384 of atl_enclave_config_json. */
ATL_NODISCARD enum atl_err atl_enclave_config_digest(const struct atl_enclave_config *c,
						     uint8_t digest_out[48]);
/* SHA-384(bin_sha384 || config digest): the enclave measurement. */
ATL_NODISCARD enum atl_err atl_enclave_measurement_of(const uint8_t bin_sha384[48],
						      const struct atl_enclave_config *c,
						      uint8_t meas_out[48]);
/* The same for the binary at path (its SHA-384 first). ATL_E_IO / ATL_E_NOTFOUND
 * when it cannot be read. */
ATL_NODISCARD enum atl_err atl_enclave_measure(const char *path,
					       const struct atl_enclave_config *c,
					       uint8_t meas_out[48]);

#endif
