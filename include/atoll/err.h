/* Atoll's one error enum (STYLE.md "Errors").
 *
 * Every fallible function returns enum atl_err and is marked ATL_NODISCARD.
 * ATL_OK is zero so `if (rc != ATL_OK)` and `if (rc)` both read naturally.
 * Peers only ever see a generic code; details go to the local log. */
#ifndef ATOLL_ERR_H
#define ATOLL_ERR_H

#define ATL_NODISCARD __attribute__((warn_unused_result))

enum atl_err {
	ATL_OK = 0,
	ATL_E_NOMEM,       /* allocation failed */
	ATL_E_TRUNCATED,   /* input ended before a structure did */
	ATL_E_FORMAT,      /* input is not of the expected form */
	ATL_E_LIMIT,       /* a count, size or depth exceeds a named limit */
	ATL_E_TRAILING,    /* bytes left after a complete structure */
	ATL_E_CRYPTO,      /* a cryptographic primitive failed (not an auth failure) */
	ATL_E_AUTH,        /* authentication failed: tag, signature, MAC, key mismatch */
	ATL_E_POLICY,      /* well-formed and authentic, but the policy refuses it */
	ATL_E_IO,          /* file, socket or process I/O failed */
	ATL_E_NOTFOUND,    /* no such key, job, file or entry */
	ATL_E_INTERNAL,    /* a bug: an invariant did not hold */
	ATL_E_ARG,         /* the caller passed an invalid argument */
	ATL_E_STATE,       /* operation not valid in the current state (e.g. sequence overflow) */
	ATL_E_UNSUPPORTED, /* a known but unsupported variant (version, algorithm, type) */
	ATL_E_EXISTS,      /* the thing already exists */
	ATL_E_REPLAY,      /* seen before, or outside its freshness window */
	ATL_E_EXPIRED,     /* a certificate, token or piece of evidence is too old */
	ATL_E_TIMEOUT,     /* a deadline passed */
	ATL_E_DENIED,      /* the caller is not allowed to do this */
	ATL_E_BUSY,        /* try again later */
	ATL_E__COUNT
};

/* Human-readable one-line description; never NULL, static storage. */
const char *atl_strerror(enum atl_err e);
/* Stable symbolic name ("ATL_E_AUTH"); never NULL, static storage. */
const char *atl_err_name(enum atl_err e);

/* Guard macro: evaluate a fallible expression and jump to `out` with rc set on
 * failure. Requires a local `enum atl_err rc` and an `out:` label. */
#define ATL_TRY(expr)                          \
	do {                                   \
		rc = (expr);                   \
		if (rc != ATL_OK)              \
			goto out;              \
	} while (0)

#endif
