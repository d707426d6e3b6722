/* Strict hex and base64 (RFC 4648).
 *
 * Decoders reject: characters outside the alphabet, odd hex length, missing or
 * misplaced padding, non-zero padding bits (non-canonical encodings), and input
 * longer than ATL_HEX_INPUT_MAX / ATL_B64_INPUT_MAX. ATL_B64_LENIENT_WS allows
 * ASCII whitespace anywhere (for sample files wrapped at 64/76 columns). */
#ifndef ATOLL_ENCODING_H
#define ATOLL_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

/* Writes 2*in_len lowercase hex digits and a NUL; out_cap >= 2*in_len + 1. */
ATL_NODISCARD enum atl_err atl_hex_encode(const uint8_t *in, size_t in_len, char *out,
					  size_t out_cap);
/* Allocated lowercase hex string (free()). */
ATL_NODISCARD enum atl_err atl_hex_encode_alloc(const uint8_t *in, size_t in_len, char **out);
/* Decodes in[0..in_len) (upper or lower case) into out; *out_len gets the byte count.
 * ATL_E_LIMIT when out_cap is too small. */
ATL_NODISCARD enum atl_err atl_hex_decode(const char *in, size_t in_len, uint8_t *out,
					  size_t out_cap, size_t *out_len);
/* Decodes exactly n bytes (in_len must be 2n), else ATL_E_FORMAT. */
ATL_NODISCARD enum atl_err atl_hex_decode_exact(const char *in, size_t in_len, uint8_t *out,
						size_t n);
/* Allocated decode (free()); *out is non-NULL on success even for empty input. */
ATL_NODISCARD enum atl_err atl_hex_decode_alloc(const char *in, size_t in_len, uint8_t **out,
						size_t *out_len);

enum {
	ATL_B64_STD = 0,         /* standard alphabet, padding required */
	ATL_B64_URL = 1 << 0,    /* URL-safe alphabet (- and _) */
	ATL_B64_NOPAD = 1 << 1,  /* no padding (decode: padding refused; encode: none written) */
	ATL_B64_LENIENT_WS = 1 << 2, /* decode only: skip ASCII whitespace */
};

/* Allocated NUL-terminated encoding (free()). */
ATL_NODISCARD enum atl_err atl_b64_encode(const uint8_t *in, size_t in_len, int flags, char **out);
/* Allocated decode (free()); *out non-NULL on success even for empty input. */
ATL_NODISCARD enum atl_err atl_b64_decode(const char *in, size_t in_len, int flags, uint8_t **out,
					  size_t *out_len);

#endif
