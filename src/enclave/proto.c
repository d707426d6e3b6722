/* Length-prefixed messages over the enclave's socketpair; see
 * include/atoll/enclave.h for the framing and the contract. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atoll/enclave.h"
#include "atoll/limits.h"
#include "atoll/timeutil.h"

static enum atl_err write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		/* MSG_NOSIGNAL: a dead peer is an error, not a SIGPIPE. */
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOTSOCK) {
				w = write(fd, p, n);
				if (w >= 0)
					goto advance;
				if (errno == EINTR)
					continue;
			}
			return ATL_E_IO;
		}
advance:
		p += w;
		n -= (size_t)w;
	}
	return ATL_OK;
}

enum atl_err atl_msg_send(int fd, uint8_t type, const void *payload, size_t len)
{
	uint8_t hdr[5];
	enum atl_err rc;

	if (len > ATL_ENCLAVE_MSG_MAX - 1)
		return ATL_E_LIMIT;
	hdr[0] = (uint8_t)((len + 1) >> 24);
	hdr[1] = (uint8_t)((len + 1) >> 16);
	hdr[2] = (uint8_t)((len + 1) >> 8);
	hdr[3] = (uint8_t)(len + 1);
	hdr[4] = type;
	rc = write_all(fd, hdr, sizeof(hdr));
	if (rc != ATL_OK)
		return rc;
	return len > 0 ? write_all(fd, payload, len) : ATL_OK;
}

/* Reads exactly n bytes before the deadline (monotonic ms, -1 = none). */
static enum atl_err read_all(int fd, uint8_t *p, size_t n, int64_t deadline, int *eof_out)
{
	*eof_out = 0;
	while (n > 0) {
		ssize_t r;
		if (deadline >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int64_t left = deadline - atl_time_mono_ms();
			int pr;
			if (left <= 0)
				return ATL_E_TIMEOUT;
			pr = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
			if (pr < 0) {
				if (errno == EINTR)
					continue;
				return ATL_E_IO;
			}
			if (pr == 0)
				return ATL_E_TIMEOUT;
		}
		r = read(fd, p, n);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return ATL_E_IO;
		}
		if (r == 0) {
			*eof_out = 1;
			return ATL_E_IO;
		}
		p += r;
		n -= (size_t)r;
	}
	return ATL_OK;
}

enum atl_err atl_msg_recv(int fd, size_t max, int timeout_ms, uint8_t *type_out,
			  uint8_t **payload_out, size_t *len_out)
{
	int64_t deadline = timeout_ms < 0 ? -1 : atl_time_mono_ms() + timeout_ms;
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t hdr[5], *buf = NULL;
	uint32_t len;
	int eof;

	*type_out = 0;
	*payload_out = NULL;
	*len_out = 0;
	if (max > ATL_ENCLAVE_MSG_MAX)
		max = ATL_ENCLAVE_MSG_MAX;
	ATL_TRY(read_all(fd, hdr, sizeof(hdr), deadline, &eof));
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	/* validate before allocating anything of a size read from the peer */
	if (len == 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (len - 1 > max) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	buf = malloc((size_t)len);
	if (buf == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(read_all(fd, buf, len - 1, deadline, &eof));
	buf[len - 1] = '\0';
	*type_out = hdr[4];
	*payload_out = buf;
	*len_out = len - 1;
	buf = NULL;
	rc = ATL_OK;
out:
	free(buf);
	return rc;
}
