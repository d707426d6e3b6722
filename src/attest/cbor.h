/* Private to src/attest/: strict, bounded CBOR (RFC 8949) over libcbor, for
 * COSE (RFC 9052), AWS Nitro attestation documents and Arm PSA/CCA tokens.
 *
 * libcbor builds the item tree; before it sees the bytes, an iterative scanner
 * of our own checks well-formedness and the limits of include/atoll/limits.h
 * (nesting depth ATL_CBOR_DEPTH_MAX, item count ATL_CBOR_ITEMS_MAX, every
 * length within the input). libcbor's own tree code recurses on depth (free,
 * copy), so it must never see input deeper than our bound. After loading:
 * indefinite-length strings are flattened into definite ones (so callers only
 * meet definite strings), and every map is checked for duplicate keys
 * (refused), with keys restricted to integers and strings.
 *
 * Accessors return borrowed pointers into the tree; the tree is owned by the
 * caller of atl_cbor_decode and freed with atl_cbor_free. */
#ifndef ATOLL_ATTEST_CBOR_H
#define ATOLL_ATTEST_CBOR_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/bytes.h"
#include "atoll/err.h"

/* Scans the first CBOR data item of buf and returns its encoded length in
 * *item_len_out (bytes after it are not examined). ATL_E_TRUNCATED when the
 * item does not end within buf, ATL_E_FORMAT for ill-formed or non-strict
 * encodings (reserved additional info, unassigned simple values, a break
 * outside an indefinite item, mixed chunks), ATL_E_LIMIT beyond the depth or
 * item-count limits. Never allocates. */
ATL_NODISCARD enum atl_err atl_cbor_item_len(const uint8_t *buf, size_t len, size_t *item_len_out);

/* Decodes exactly one data item filling buf[0..len) (ATL_E_TRAILING when bytes
 * follow it). Errors as atl_cbor_item_len, plus ATL_E_FORMAT for a duplicate
 * map key or a key that is neither an integer nor a string, ATL_E_NOMEM. */
ATL_NODISCARD enum atl_err atl_cbor_decode(const uint8_t *buf, size_t len, cbor_item_t **out);
/* NULL-safe. */
void atl_cbor_free(cbor_item_t *it);

/* Map lookups by integer or text key (borrowed value, NULL when absent or m is
 * not a map). Keys are unique (checked at decode). */
const cbor_item_t *atl_cbor_map_int(const cbor_item_t *m, int64_t key);
const cbor_item_t *atl_cbor_map_str(const cbor_item_t *m, const char *key);
/* Every key of m is an integer in keys[0..n) (strict claim sets). Returns the
 * first unknown integer key through *bad_out when false (0 for a text key). */
bool atl_cbor_map_keys_in(const cbor_item_t *m, const int64_t *keys, size_t n, int64_t *bad_out);

/* Typed views; false when it is NULL or of another type. */
bool atl_cbor_int(const cbor_item_t *it, int64_t *v_out);  /* uint or negint, within int64 */
bool atl_cbor_uint(const cbor_item_t *it, uint64_t *v_out);
bool atl_cbor_bstr(const cbor_item_t *it, const uint8_t **p_out, size_t *len_out);
bool atl_cbor_tstr(const cbor_item_t *it, const char **p_out, size_t *len_out);
bool atl_cbor_tstr_eq(const cbor_item_t *it, const char *s);
bool atl_cbor_is_null(const cbor_item_t *it);
/* Array elements (borrowed); n 0 for a non-array. */
size_t atl_cbor_array_len(const cbor_item_t *it);
const cbor_item_t *atl_cbor_array_at(const cbor_item_t *it, size_t i);
/* A tag's value and content (borrowed); false when it is not a tag. */
bool atl_cbor_tag(const cbor_item_t *it, uint64_t *tag_out, const cbor_item_t **content_out);

/* Writing (COSE Sig_structure, NSM requests): the head of a definite item
 * of major type major (0..7) and argument v, in the shortest form (RFC 8949
 * §4.2.1), so the bytes are deterministic. Errors from atl_wr_*. */
ATL_NODISCARD enum atl_err atl_cbor_put_head(struct atl_wr *w, uint8_t major, uint64_t v);
/* A text string (its head and bytes). */
ATL_NODISCARD enum atl_err atl_cbor_put_tstr(struct atl_wr *w, const char *s);
/* A byte string, or null (0xf6) when p is NULL. */
ATL_NODISCARD enum atl_err atl_cbor_put_bstr_or_null(struct atl_wr *w, const uint8_t *p, size_t n);

#endif
