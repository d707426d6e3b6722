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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/enclave.h"

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
		cmocka_unit_test(test_compute_allowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
