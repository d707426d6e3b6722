/* The enclave sandbox: after atl_enclave_sandbox() a process can still compute,
 * read open descriptors and open files read-only, but cannot create sockets,
 * open files for writing or exec. Each case runs in a forked child so the
 * filter does not reach the test runner. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/enclave.h"
#include "atoll/limits.h"
#include "atoll/nitro.h"

/* Runs fn in a sandboxed child; returns its exit status (or 100+signal). */
static int in_sandbox(int (*fn)(void))
{
	int st = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (atl_enclave_sandbox() != ATL_OK)
			_exit(90);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return 100 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int try_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	return (fd < 0 && errno == EPERM) ? 0 : 1;
}

static int try_write_open(void)
{
	int fd = open("/tmp/atoll-sandbox-should-not-exist", O_WRONLY | O_CREAT, 0600);

	return (fd < 0 && errno == EPERM) ? 0 : 1;
}

static int try_read_open(void)
{
	char b[4];
	int fd = open("/proc/self/stat", O_RDONLY);

	if (fd < 0)
		return 1;
	if (read(fd, b, sizeof(b)) <= 0)
		return 2;
	close(fd);
	return 0;
}

static int try_exec(void)
{
	char *const argv[] = {(char *)"/bin/true", NULL};

	execv("/bin/true", argv);
	return errno == EPERM ? 0 : 1;
}

static int try_compute(void)
{
	void *p = malloc(1 << 20);

	if (p == NULL)
		return 1;
	memset(p, 0x5a, 1 << 20);
	free(p);
	return 0;
}

/* The NSM allowance (issue 7): ioctl(fd, ATL_NSM_IOCTL_RAW) on the one
 * allowed descriptor reaches the kernel (/dev/null answers ENOTTY); another
 * request on it, or the same request on another descriptor, is EPERM. */
static int try_ioctl_allowed(void)
{
	unsigned char raw[32] = {0};
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), other;
	int winsz[4];

	if (fd < 0)
		return 80;
	other = dup(fd);
	if (other < 0)
		return 81;
	if (atl_enclave_sandbox_allow_ioctl(fd, ATL_NSM_IOCTL_RAW) != ATL_OK)
		return 82;
	if (atl_enclave_sandbox() != ATL_OK)
		return 90;
	if (ioctl(fd, ATL_NSM_IOCTL_RAW, raw) != -1 || errno != ENOTTY)
		return 1;
	if (ioctl(fd, TIOCGWINSZ, winsz) != -1 || errno != EPERM)
		return 2;
	if (ioctl(fd, FIONREAD, winsz) != -1 || errno != EPERM)
		return 3;
	if (ioctl(other, ATL_NSM_IOCTL_RAW, raw) != -1 || errno != EPERM)
		return 4;
	if (ioctl(0, ATL_NSM_IOCTL_RAW, raw) != -1 || errno != EPERM)
		return 5;
	return 0;
}

/* Without an allowance every ioctl is denied, NSM_IOCTL_RAW included. */
static int try_ioctl_denied(void)
{
	unsigned char raw[32] = {0};
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 80;
	if (atl_enclave_sandbox() != ATL_OK)
		return 90;
	if (ioctl(fd, ATL_NSM_IOCTL_RAW, raw) != -1 || errno != EPERM)
		return 1;
	return 0;
}

/* Runs fn in a child that sandboxes itself (fn calls atl_enclave_sandbox). */
static int in_child(int (*fn)(void))
{
	int st = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return 100 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void test_ioctl_allowance(void **state)
{
	(void)state;
	assert_int_equal(in_child(try_ioctl_allowed), 0);
	assert_int_equal(in_child(try_ioctl_denied), 0);
}

/* At most ATL_ENCLAVE_IOCTLS_MAX allowances; no negative descriptor. */
static int try_ioctl_table(void)
{
	if (atl_enclave_sandbox_allow_ioctl(-1, ATL_NSM_IOCTL_RAW) != ATL_E_ARG)
		return 1;
	for (int i = 0; i < (int)ATL_ENCLAVE_IOCTLS_MAX; i++) {
		if (atl_enclave_sandbox_allow_ioctl(100 + i, ATL_NSM_IOCTL_RAW) != ATL_OK)
			return 2;
	}
	if (atl_enclave_sandbox_allow_ioctl(200, ATL_NSM_IOCTL_RAW) != ATL_E_LIMIT)
		return 3;
	return 0;
}

static void test_ioctl_allowance_args(void **state)
{
	(void)state;
	assert_int_equal(in_child(try_ioctl_table), 0);
}

static void test_socket_denied(void **state)
{
	(void)state;
	assert_int_equal(in_sandbox(try_socket), 0);
}

static void test_write_open_denied(void **state)
{
	(void)state;
	assert_int_equal(in_sandbox(try_write_open), 0);
}

static void test_read_open_allowed(void **state)
{
	(void)state;
	assert_int_equal(in_sandbox(try_read_open), 0);
}

static void test_exec_denied(void **state)
{
	(void)state;
	assert_int_equal(in_sandbox(try_exec), 0);
}

static void test_compute_allowed(void **state)
{
	(void)state;
	assert_int_equal(in_sandbox(try_compute), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_denied),     cmocka_unit_test(test_write_open_denied),
		cmocka_unit_test(test_read_open_allowed), cmocka_unit_test(test_exec_denied),
		cmocka_unit_test(test_compute_allowed),   cmocka_unit_test(test_ioctl_allowance),
		cmocka_unit_test(test_ioctl_allowance_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
