/* Error names and messages for enum atl_err. */
#include "atoll/err.h"

static const char *const err_msg[ATL_E__COUNT] = {
	[ATL_OK] = "success",
	[ATL_E_NOMEM] = "out of memory",
	[ATL_E_TRUNCATED] = "input is truncated",
	[ATL_E_FORMAT] = "malformed input",
	[ATL_E_LIMIT] = "input exceeds a limit",
	[ATL_E_TRAILING] = "trailing bytes after input",
	[ATL_E_CRYPTO] = "cryptographic operation failed",
	[ATL_E_AUTH] = "authentication failed",
	[ATL_E_POLICY] = "refused by policy",
	[ATL_E_IO] = "input/output error",
	[ATL_E_NOTFOUND] = "not found",
	[ATL_E_INTERNAL] = "internal error",
	[ATL_E_ARG] = "invalid argument",
	[ATL_E_STATE] = "invalid state for this operation",
	[ATL_E_UNSUPPORTED] = "unsupported",
	[ATL_E_EXISTS] = "already exists",
	[ATL_E_REPLAY] = "replayed or stale",
	[ATL_E_EXPIRED] = "expired",
	[ATL_E_TIMEOUT] = "timed out",
	[ATL_E_DENIED] = "permission denied",
	[ATL_E_BUSY] = "busy, try again",
};

static const char *const err_name[ATL_E__COUNT] = {
	[ATL_OK] = "ATL_OK",
	[ATL_E_NOMEM] = "ATL_E_NOMEM",
	[ATL_E_TRUNCATED] = "ATL_E_TRUNCATED",
	[ATL_E_FORMAT] = "ATL_E_FORMAT",
	[ATL_E_LIMIT] = "ATL_E_LIMIT",
	[ATL_E_TRAILING] = "ATL_E_TRAILING",
	[ATL_E_CRYPTO] = "ATL_E_CRYPTO",
	[ATL_E_AUTH] = "ATL_E_AUTH",
	[ATL_E_POLICY] = "ATL_E_POLICY",
	[ATL_E_IO] = "ATL_E_IO",
	[ATL_E_NOTFOUND] = "ATL_E_NOTFOUND",
	[ATL_E_INTERNAL] = "ATL_E_INTERNAL",
	[ATL_E_ARG] = "ATL_E_ARG",
	[ATL_E_STATE] = "ATL_E_STATE",
	[ATL_E_UNSUPPORTED] = "ATL_E_UNSUPPORTED",
	[ATL_E_EXISTS] = "ATL_E_EXISTS",
	[ATL_E_REPLAY] = "ATL_E_REPLAY",
	[ATL_E_EXPIRED] = "ATL_E_EXPIRED",
	[ATL_E_TIMEOUT] = "ATL_E_TIMEOUT",
	[ATL_E_DENIED] = "ATL_E_DENIED",
	[ATL_E_BUSY] = "ATL_E_BUSY",
};

const char *atl_strerror(enum atl_err e)
{
	if ((unsigned)e >= ATL_E__COUNT || err_msg[e] == 0)
		return "unknown error";
	return err_msg[e];
}

const char *atl_err_name(enum atl_err e)
{
	if ((unsigned)e >= ATL_E__COUNT || err_name[e] == 0)
		return "ATL_E_UNKNOWN";
	return err_name[e];
}
