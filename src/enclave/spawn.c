/* Starting and stopping an enclave child over a socketpair. The island's
 * supervisor and local tools use this; inside a real TEE the same protocol runs
 * over vsock instead. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atoll/enclave.h"
#include "atoll/timeutil.h"

/* The child's end of the socketpair always arrives as this descriptor. */
#define ENCLAVE_CHILD_FD 3

enum atl_err atl_enclave_spawn(char *const argv[], pid_t *pid_out, int *fd_out)
{
	int sv[2] = {-1, -1};
	pid_t pid;

	*pid_out = -1;
	*fd_out = -1;
	if (argv == NULL || argv[0] == NULL)
		return ATL_E_ARG;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return ATL_E_IO;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return ATL_E_IO;
	}
	if (pid == 0) {
		/* child: only async-signal-safe calls until exec */
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0)
			_exit(127);
		if (dup2(sv[1], ENCLAVE_CHILD_FD) < 0) /* dup2 clears FD_CLOEXEC */
			_exit(127);
		for (int fd = ENCLAVE_CHILD_FD + 1; fd < 1024; fd++)
			(void)close(fd);
		execv(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	*pid_out = pid;
	*fd_out = sv[0];
	return ATL_OK;
}

void atl_enclave_stop(pid_t pid, int fd, int grace_ms)
{
	int64_t deadline = atl_time_mono_ms() + grace_ms;
	int status;

	if (fd >= 0) {
		/* best effort: a dead child cannot read it, and we kill it below */
		enum atl_err ignored = atl_msg_send(fd, ATL_MSG_SHUTDOWN, NULL, 0);
		(void)ignored;
		close(fd);
	}
	if (pid <= 0)
		return;
	while (atl_time_mono_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return;
		usleep(10000);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}
