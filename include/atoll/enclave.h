/* The enclave's message protocol and launcher (DESIGN §1).
 *
 * atoll-enclave has no network: it talks only to its parent (the island, or a
 * local tool) over one socketpair with length-prefixed messages:
 *
 *   u32be length (of type + payload) | u8 type | payload
 *
 * length is at least 1 and at most ATL_ENCLAVE_MSG_MAX. A reader never
 * allocates more than the validated length, and every read has a deadline, so a
 * dead or hostile peer cannot make the other side hang or allocate without
 * bound. Payloads are JSON documents or sealed envelopes: never plaintext
 * outside the enclave. */
#ifndef ATOLL_ENCLAVE_H
#define ATOLL_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "atoll/err.h"

enum atl_msg_type {
	ATL_MSG_ATTEST = 1,   /* parent → enclave: {"nonce":"<hex>"}; reply ATL_MSG_EVIDENCE */
	ATL_MSG_EVIDENCE = 2, /* enclave → parent: evidence wrapper JSON */
	ATL_MSG_JOB = 3,      /* parent → enclave: {"job_id","workload_id","envelope":{...}} */
	ATL_MSG_RESULT = 4,   /* enclave → parent: {"job_id","result":{sealed result}} */
	ATL_MSG_ERROR = 5,    /* enclave → parent: {"code":"…","message":"…"} (generic, no secrets) */
	ATL_MSG_PING = 6,     /* liveness; reply ATL_MSG_PONG */
	ATL_MSG_PONG = 7,
	ATL_MSG_SHUTDOWN = 8, /* parent → enclave: exit cleanly */
};

/* Sends one message; retries short writes and EINTR. ATL_E_LIMIT if too big,
 * ATL_E_IO if the peer is gone. */
ATL_NODISCARD enum atl_err atl_msg_send(int fd, uint8_t type, const void *payload, size_t len);
/* Receives one message within timeout_ms (-1 = no deadline). *payload_out is
 * malloc'd and NUL-terminated (not counted in *len_out). ATL_E_TIMEOUT,
 * ATL_E_IO (peer closed: ATL_E_IO with *type_out 0), ATL_E_LIMIT (length over
 * max), ATL_E_FORMAT (length 0). */
ATL_NODISCARD enum atl_err atl_msg_recv(int fd, size_t max, int timeout_ms, uint8_t *type_out,
					uint8_t **payload_out, size_t *len_out);

/* Starts argv[0] (a path) as a child whose only channel to us is one end of a
 * socketpair, passed as file descriptor 3 (the child sees --fd 3 in its own
 * argv if the caller put it there). Standard input is /dev/null; stdout and
 * stderr are inherited. Every other descriptor is closed in the child. */
ATL_NODISCARD enum atl_err atl_enclave_spawn(char *const argv[], pid_t *pid_out, int *fd_out);
/* Sends SHUTDOWN, waits up to grace_ms, then SIGKILLs; reaps the child. */
void atl_enclave_stop(pid_t pid, int fd, int grace_ms);

/* Sandboxes the calling process for serving jobs (src/enclave/sandbox.c): no
 * new privileges, not dumpable, no core files, and a seccomp allow-list under
 * which network sockets, exec, ptrace and opening files for writing fail with
 * EPERM. Irreversible; call after start-up I/O is done. */
ATL_NODISCARD enum atl_err atl_enclave_sandbox(void);

#endif
