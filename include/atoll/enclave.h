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

#include <jansson.h>
#include <stdbool.h>
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
	ATL_MSG_MODEL_KEY = 9,   /* parent → enclave: an encrypted model's sealed key
				  * (src/enclave/modelkey.c); reply ATL_MSG_MODEL_READY */
	ATL_MSG_MODEL_READY = 10,/* enclave → parent: {"model_id":"<hex>"} */
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
/* Lets the next atl_enclave_sandbox() allow ioctl(fd, request, ...) on this
 * one descriptor, opened before the sandbox (the Nitro NSM device, with
 * ATL_NSM_IOCTL_RAW, include/atoll/nitro.h); every other ioctl stays denied
 * (EPERM). ATL_E_ARG for fd < 0, ATL_E_LIMIT beyond ATL_ENCLAVE_IOCTLS_MAX. */
ATL_NODISCARD enum atl_err atl_enclave_sandbox_allow_ioctl(int fd, unsigned long request);

/* ---- the enclave side: serving jobs (src/enclave/serve.c) ----
 *
 * The enclave generates its X25519 key pair when it starts; the private key
 * never leaves its memory. Then it answers messages until SHUTDOWN or until
 * the parent closes the channel:
 *   PING      → PONG
 *   ATTEST    {"nonce":"<hex>"} → EVIDENCE (wrapper binding the enclave key
 *             and that nonce, include/atoll/verify.h)
 *   JOB       {"job_id","workload_id","kind","envelope":{…}[,"params":{…}]}
 *             → RESULT {"job_id","result":{sealed result}} after opening the
 *             envelope with the enclave key (freshness and replay checked),
 *             checking that its authenticated workload id is the job's, and
 *             running the workload `kind`; or ERROR {"job_id","code","message"}
 *             with a generic reason (no secrets, no plaintext).
 * Anything else gets ERROR and the loop goes on; a framing error ends it. */
struct atl_enclave_cfg {
	const char *tee;       /* TEE kind for evidence ("sim", ...) */
	const json_t *tee_cfg; /* backend config for atl_evidence_produce */
	int64_t skew_s;        /* freshness window of envelopes (1..ATL_ENV_SKEW_MAX) */
	size_t replay_capacity;/* digests remembered (1..ATL_ENV_REPLAY_MAX) */
	bool sandbox;          /* apply atl_enclave_sandbox() once the key exists */
};

/* Serves one channel. ATL_OK after SHUTDOWN or when the parent closed the
 * channel; ATL_E_FORMAT / ATL_E_LIMIT for a framing error; other errors when
 * start-up (key generation, sandbox) failed. */
ATL_NODISCARD enum atl_err atl_enclave_serve(int fd, const struct atl_enclave_cfg *cfg);

/* A workload the enclave can run on an opened job. in is the job's plaintext;
 * *out_out (secret memory, atl_secret_free) the result plaintext. */
struct atl_enclave_workload {
	const char *kind;
	enum atl_err (*run)(const json_t *params, const uint8_t *in, size_t in_len,
			    uint8_t **out_out, size_t *out_len_out);
};
/* The workload of that kind, or NULL. */
const struct atl_enclave_workload *atl_enclave_workload_find(const char *kind);
/* The classifier workload on a model already in memory (buf[0..len), e.g. an
 * encrypted model decrypted into secret memory); same result contract as the
 * "classifier" kind. ATL_E_LIMIT for an empty or oversized model. */
ATL_NODISCARD enum atl_err atl_enclave_classifier_run_mem(const uint8_t *buf, size_t len,
							  const uint8_t *in, size_t in_len,
							  uint8_t **out_out, size_t *out_len_out);

/* The llm workload (src/enclave/llmwork.c) on a GGUF model already in
 * memory (an encrypted model decrypted into secret memory): buf is borrowed
 * and its parse cached under model_id until atl_enclave_llm_forget(buf).
 * Same result contract as the "llm" kind. ATL_E_ARG for an empty buffer or
 * a bad id, ATL_E_FORMAT for a model the engine cannot use. */
ATL_NODISCARD enum atl_err atl_enclave_llm_run_mem(const char *model_id, const uint8_t *buf,
						   size_t len, const uint8_t *in, size_t in_len,
						   uint8_t **out_out, size_t *out_len_out);
/* Frees every cached LLM parse that borrows buf (NULL: every cached model);
 * call before wiping or freeing buf. */
void atl_enclave_llm_forget(const void *buf);
/* The "llm" kind's table entry (llmwork.c, listed by workloads.c). */
extern const struct atl_enclave_workload atl_enclave_llm_workload;

/* ---- the host side (island or local tool; src/enclave/host.c) ---- */

/* PING → PONG within timeout_ms. */
ATL_NODISCARD enum atl_err atl_enclave_ping(int fd, int timeout_ms);
/* ATTEST with nonce → the evidence wrapper text (*wrapper_out, malloc'd,
 * NUL-terminated). ATL_E_FORMAT for an unexpected reply. */
ATL_NODISCARD enum atl_err atl_enclave_attest(int fd, const uint8_t *nonce, size_t nonce_len,
					      int timeout_ms, char **wrapper_out,
					      size_t *wrapper_len_out);
/* JOB → the sealed result JSON text (*result_out, malloc'd). params may be
 * NULL. When the enclave answers ERROR, returns the error its code names
 * (ATL_E_AUTH, ATL_E_REPLAY, ATL_E_FORMAT, ATL_E_NOTFOUND, ...) and copies its
 * message to why (NUL-terminated; why may be NULL). */
ATL_NODISCARD enum atl_err atl_enclave_job(int fd, const char *job_id, const char *workload_id,
					   const char *kind, const json_t *params,
					   const char *envelope, size_t envelope_len,
					   int timeout_ms, char **result_out, size_t *result_len_out,
					   char *why, size_t why_cap);

/* MODEL_KEY (src/enclave/modelkey.c): hands the enclave the sealed key of an
 * encrypted model (.atm) that the key broker released to this enclave's key,
 * with the path of the .atm ciphertext, its SHA-256 (hex, as pinned by the
 * coordinator) and the workload it is released for. The enclave opens the
 * key, decrypts the model into secret memory and keeps it for jobs of that
 * workload (JOB params {"model_id":"<hex>"}). ATL_OK on MODEL_READY;
 * otherwise the error the enclave's code names, with its generic message in
 * why (may be NULL). */
ATL_NODISCARD enum atl_err atl_enclave_model_key(int fd, const char *model_id,
						 const char *workload_id, const char *atm_path,
						 const char *atm_sha256, const char *sealed,
						 int timeout_ms, char *why, size_t why_cap);

#endif
