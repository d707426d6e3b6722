/* File helpers; see include/atoll/file.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/file.h"

enum atl_err atl_file_read(const char *path, size_t max, uint8_t **buf_out, size_t *len_out)
{
	enum atl_err rc = ATL_E_IO;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = -1;
	struct stat st;

	*buf_out = NULL;
	*len_out = 0;
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO;
			goto out;
		}
		if (fstat(fd, &st) != 0)
			goto out;
		if (S_ISDIR(st.st_mode))
			goto out;
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
			rc = ATL_E_LIMIT;
			goto out;
		}
	}
	for (;;) {
		ssize_t n;
		if (len == cap) {
			size_t ncap = cap == 0 ? 4096 : cap * 2;
			uint8_t *nb;
			if (cap > max) {
				rc = ATL_E_LIMIT;
				goto out;
			}
			if (ncap > max + 1)
				ncap = max + 1;
			nb = realloc(buf, ncap + 1);
			if (nb == NULL) {
				rc = ATL_E_NOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			rc = ATL_E_LIMIT;
			goto out;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	buf[len] = '\0';
	*buf_out = buf;
	*len_out = len;
	buf = NULL;
	rc = ATL_OK;
out:
	free(buf);
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	return rc;
}

enum atl_err atl_file_write(const char *path, const void *data, size_t len, mode_t mode,
			    int exclusive)
{
	enum atl_err rc = ATL_E_IO;
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	size_t off = 0;
	int fd = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return ATL_E_ARG;
	if (exclusive && access(path, F_OK) == 0)
		return ATL_E_EXISTS;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		goto out;
	if (fchmod(fd, mode) != 0)
		goto out;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails if path exists: no window where we overwrite. */
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST ? ATL_E_EXISTS : ATL_E_IO;
			goto out;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		goto out;
	}
	rc = ATL_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc != ATL_OK)
		(void)unlink(tmp);
	return rc;
}

enum atl_err atl_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return ATL_E_ARG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, mode) != 0 && errno != EEXIST)
				return ATL_E_IO;
			buf[i] = c;
		}
	}
	return ATL_OK;
}
