/* AWS Nitro Enclaves: the Nitro Secure Module session of a sandboxed enclave
 * (src/attest/nitro_nsm.c; issue 7).
 *
 * `atoll-enclave --serve --tee nitro` opens /dev/nsm read-write BEFORE its
 * seccomp sandbox goes on (the sandbox refuses read-write opens), keeps the
 * descriptor here, and allows exactly ioctl(fd, ATL_NSM_IOCTL_RAW, ...) on it
 * (atl_enclave_sandbox_allow_ioctl). Every later evidence() of the "nitro"
 * backend then uses that descriptor instead of opening the device. */
#ifndef ATOLL_NITRO_H
#define ATOLL_NITRO_H

#include <sys/ioctl.h>

#include "atoll/err.h"

/* NSM_IOCTL_RAW of uapi linux/nsm.h: _IOWR(0x0A, 0, struct nsm_raw), a
 * 32-byte struct (0xC0200A00 on x86_64 and aarch64). */
#define ATL_NSM_IOCTL_RAW _IOC(_IOC_READ | _IOC_WRITE, 0x0A, 0x0, 32)

/* Opens device (NULL: /dev/nsm) O_RDWR|O_CLOEXEC and keeps the descriptor
 * for the backend's evidence() (which then ignores its cfg "nsm_device").
 * ATL_E_UNSUPPORTED when the device does not exist (not inside a Nitro
 * enclave; logged as "not available"), ATL_E_DENIED without the rights,
 * ATL_E_IO otherwise, ATL_E_BUSY when a session is already open. */
ATL_NODISCARD enum atl_err atl_nitro_nsm_session_open(const char *device);
/* The session's descriptor, or -1 when none is open. */
int atl_nitro_nsm_session_fd(void);
/* Closes the session (no-op without one). */
void atl_nitro_nsm_session_close(void);

#endif
