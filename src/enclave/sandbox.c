/* The enclave's sandbox (DESIGN §1): after it has read what it needs at start
 * (its configuration and, for the simulated TEE, its own binary), the enclave
 * process gives up everything it does not need to serve jobs over its
 * socketpair:
 *   - no new privileges, not dumpable, no core files (no plaintext on disk);
 *   - a seccomp allow-list: memory management, reading and writing already
 *     open descriptors, poll, time, randomness, futexes, exit. Anything else
 *     (socket, connect, open for writing, execve, ptrace, fork...) fails with
 *     EPERM, so no network and no new files are reachable from job code.
 * Opening files read-only stays allowed: workloads load their pinned model
 * file by path (the model digest is checked before use). ioctl is denied,
 * except the (descriptor, request) pairs allowed before the filter goes on
 * (atl_enclave_sandbox_allow_ioctl: the Nitro NSM device's one request). */
#define ATL_LOG_MODULE "enclave"
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "atoll/enclave.h"
#include "atoll/limits.h"
#include "atoll/log.h"

#ifdef ATL_SANITIZED
/* LeakSanitizer cannot stop the world under the filter (it fails to list
 * /proc/self/task), so sanitizer builds check for leaks once, right before
 * the filter goes on, and not at exit. The serve loop's own leaks are covered
 * by tests/unit/enclave_serve_test.c, which also runs it unsandboxed. */
void __lsan_do_leak_check(void);
#endif

static const int allowed[] = {
	SCMP_SYS(read),          SCMP_SYS(write),        SCMP_SYS(readv),
	SCMP_SYS(sendto),        SCMP_SYS(recvfrom),     SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg),
	SCMP_SYS(writev),        SCMP_SYS(pread64),      SCMP_SYS(close),
	SCMP_SYS(fstat),         SCMP_SYS(newfstatat),   SCMP_SYS(statx),
	SCMP_SYS(lseek),         SCMP_SYS(poll),         SCMP_SYS(ppoll),
	SCMP_SYS(brk),           SCMP_SYS(mmap),         SCMP_SYS(munmap),
	SCMP_SYS(mremap),        SCMP_SYS(mprotect),     SCMP_SYS(madvise),
	SCMP_SYS(mlock),         SCMP_SYS(munlock),      SCMP_SYS(mlock2),
	SCMP_SYS(futex),         SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction),  SCMP_SYS(sigaltstack),  SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),  SCMP_SYS(gettimeofday),
	SCMP_SYS(getrandom),     SCMP_SYS(getpid),       SCMP_SYS(gettid),
	SCMP_SYS(exit),          SCMP_SYS(exit_group),   SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),       SCMP_SYS(fcntl),
	SCMP_SYS(readlink),      SCMP_SYS(sysinfo),      SCMP_SYS(uname),
#ifdef ATL_SANITIZED
	/* LeakSanitizer stops the process with a tracer thread at exit. */
	SCMP_SYS(clone),         SCMP_SYS(clone3),       SCMP_SYS(ptrace),
	SCMP_SYS(wait4),         SCMP_SYS(prctl),        SCMP_SYS(getppid),
	SCMP_SYS(kill),          SCMP_SYS(open),
	SCMP_SYS(tgkill),        SCMP_SYS(getdents64),   SCMP_SYS(sched_setaffinity),
#endif
};

/* ioctl(fd, request, ...) pairs the filter allows (atl_enclave_sandbox_allow_ioctl). */
static struct {
	int fd;
	unsigned long request;
} g_ioctls[ATL_ENCLAVE_IOCTLS_MAX];
static size_t g_n_ioctls;

enum atl_err atl_enclave_sandbox_allow_ioctl(int fd, unsigned long request)
{
	if (fd < 0)
		return ATL_E_ARG;
	if (g_n_ioctls >= ATL_ENCLAVE_IOCTLS_MAX)
		return ATL_E_LIMIT;
	g_ioctls[g_n_ioctls].fd = fd;
	g_ioctls[g_n_ioctls].request = request;
	g_n_ioctls++;
	return ATL_OK;
}

enum atl_err atl_enclave_sandbox(void)
{
	enum atl_err err = ATL_E_INTERNAL;
	scmp_filter_ctx ctx = NULL;
	struct rlimit no_core = {0, 0};

	/* Sanitizer builds stay dumpable: LeakSanitizer reads /proc/self/task
	 * and attaches to the process at exit, which non-dumpable forbids. */
	if (setrlimit(RLIMIT_CORE, &no_core) != 0 ||
#ifndef ATL_SANITIZED
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
#endif
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		atl_error("enclave: cannot drop privileges (errno %d)", errno);
		return ATL_E_INTERNAL;
	}
#ifdef ATL_SANITIZED
	__lsan_do_leak_check();
#endif
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		return ATL_E_NOMEM;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) != 0)
			goto out;
	}
	/* openat only without any write or create flag. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ,
				     O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY),
				     O_RDONLY)) != 0)
		goto out;
	/* ioctl only on a descriptor opened before the sandbox, with exactly
	 * the request allowed for it (the NSM's NSM_IOCTL_RAW); every other
	 * ioctl, on any descriptor, fails with EPERM. */
	for (size_t i = 0; i < g_n_ioctls; i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)g_ioctls[i].fd),
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)g_ioctls[i].request)) != 0)
			goto out;
	}
	if (seccomp_load(ctx) != 0)
		goto out;
	err = ATL_OK;
out:
	if (err != ATL_OK)
		atl_error("enclave: cannot install the seccomp filter");
	seccomp_release(ctx);
	return err;
}
