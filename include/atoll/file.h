/* Small file helpers with size caps. */
#ifndef ATOLL_FILE_H
#define ATOLL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "atoll/err.h"

/* Reads a whole regular file of at most max bytes into a malloc'd buffer with a
 * NUL appended (not counted in *len_out). ATL_E_NOTFOUND if it does not exist,
 * ATL_E_LIMIT if larger than max, ATL_E_IO otherwise. "-" reads stdin. */
ATL_NODISCARD enum atl_err atl_file_read(const char *path, size_t max, uint8_t **buf_out,
					 size_t *len_out);
/* Writes data to path atomically (temp file in the same directory, fsync,
 * rename) with the given mode. ATL_E_EXISTS if exclusive and path exists. */
ATL_NODISCARD enum atl_err atl_file_write(const char *path, const void *data, size_t len,
					  mode_t mode, int exclusive);
/* Creates a directory (and parents) with the given mode; fine if it exists. */
ATL_NODISCARD enum atl_err atl_mkdir_p(const char *path, mode_t mode);

#endif
