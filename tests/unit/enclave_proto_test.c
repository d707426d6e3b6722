/* Unit tests for the enclave message protocol (src/enclave/proto.c) and the
 * launcher (src/enclave/spawn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/enclave.h"
#include "atoll/limits.h"

static void test_roundtrip(void **state)
{
	int sv[2];
	uint8_t type, *p;
	size_t len;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(atl_msg_send(sv[0], ATL_MSG_PING, "hi", 2), ATL_OK);
	assert_int_equal(atl_msg_send(sv[0], ATL_MSG_PONG, NULL, 0), ATL_OK);
	assert_int_equal(atl_msg_recv(sv[1], 1024, 1000, &type, &p, &len), ATL_OK);
	assert_int_equal(type, ATL_MSG_PING);
	assert_int_equal(len, 2);
	assert_string_equal((char *)p, "hi");
	free(p);
	assert_int_equal(atl_msg_recv(sv[1], 1024, 1000, &type, &p, &len), ATL_OK);
	assert_int_equal(type, ATL_MSG_PONG);
	assert_int_equal(len, 0);
	free(p);
	close(sv[0]);
	close(sv[1]);
}

static void test_errors(void **state)
{
	static const uint8_t zero_len[] = {0, 0, 0, 0, 1};
	static const uint8_t huge_len[] = {0xff, 0xff, 0xff, 0xff, 1};
	static const uint8_t short_body[] = {0, 0, 0, 10, 1, 'a'};
	int sv[2];
	uint8_t type, *p;
	size_t len;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* nothing sent: deadline */
	assert_int_equal(atl_msg_recv(sv[1], 1024, 50, &type, &p, &len), ATL_E_TIMEOUT);
	assert_null(p);
	assert_int_equal(write(sv[0], zero_len, sizeof(zero_len)), (ssize_t)sizeof(zero_len));
	assert_int_equal(atl_msg_recv(sv[1], 1024, 1000, &type, &p, &len), ATL_E_FORMAT);
	assert_int_equal(write(sv[0], huge_len, sizeof(huge_len)), (ssize_t)sizeof(huge_len));
	assert_int_equal(atl_msg_recv(sv[1], 1024, 1000, &type, &p, &len), ATL_E_LIMIT);
	/* over the caller's max */
	assert_int_equal(atl_msg_send(sv[0], 1, "0123456789", 10), ATL_OK);
	assert_int_equal(atl_msg_recv(sv[1], 5, 1000, &type, &p, &len), ATL_E_LIMIT);
	close(sv[0]);
	close(sv[1]);

	/* body cut short, then the peer closes */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], short_body, sizeof(short_body)), (ssize_t)sizeof(short_body));
	close(sv[0]);
	assert_int_equal(atl_msg_recv(sv[1], 1024, 1000, &type, &p, &len), ATL_E_IO);
	assert_null(p);
	/* sending to a closed peer is an error, not SIGPIPE */
	assert_int_equal(atl_msg_send(sv[1], 1, "x", 1), ATL_E_IO);
	close(sv[1]);
	assert_int_equal(atl_msg_send(-1, 1, "x", ATL_ENCLAVE_MSG_MAX), ATL_E_LIMIT);
}

static void test_spawn(void **state)
{
	/* /bin/sh stands in for an enclave: it echoes one framed message back
	 * through descriptor 3, proving the child got the socketpair there. */
	char *argv[] = {"/bin/sh", "-c", "head -c 7 <&3 >&3", NULL};
	char *bad[] = {"/nonexistent/atoll-enclave", NULL};
	uint8_t type, *p;
	size_t len;
	pid_t pid;
	int fd;

	(void)state;
	assert_int_equal(atl_enclave_spawn(argv, &pid, &fd), ATL_OK);
	assert_int_equal(atl_msg_send(fd, ATL_MSG_PING, "ab", 2), ATL_OK);
	assert_int_equal(atl_msg_recv(fd, 1024, 5000, &type, &p, &len), ATL_OK);
	assert_int_equal(type, ATL_MSG_PING);
	assert_memory_equal(p, "ab", 2);
	free(p);
	atl_enclave_stop(pid, fd, 2000);

	/* exec failure shows as a closed channel, not a hang */
	assert_int_equal(atl_enclave_spawn(bad, &pid, &fd), ATL_OK);
	assert_int_equal(atl_msg_recv(fd, 1024, 5000, &type, &p, &len), ATL_E_IO);
	atl_enclave_stop(pid, fd, 1000);
	assert_int_equal(atl_enclave_spawn(NULL, &pid, &fd), ATL_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_spawn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
