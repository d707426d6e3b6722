/* Append-only, hash-chained audit log with signed heads (DESIGN §8, issue 9;
 * docs/internals/kbs.md). Records hold no secrets: callers pass ids and short
 * reasons, never keys, model bytes or request bodies.
 *
 * File: JSON lines, each written with one write() and fsynced. Two kinds:
 *   {"action":A,"actor":B,"detail":D,"hash":H,"prev":P,"seq":N,"subject":S,
 *    "time":T,"type":"record"}
 *   {"alg":"ecdsa-p256-sha256","hash":H,"seq":N,"sig":B64,"type":"head"}
 * seq counts records from 1; prev is the previous record's hash (32 zero
 * bytes for seq 1); H and P are 64 lowercase hex digits; time is Unix seconds.
 * hash = SHA-256 of the canonical encoding (all integers big-endian):
 *   "atoll-audit-v1" (14 bytes) || u64 seq || u64 time (two's complement)
 *   || u32 len || actor || u32 len || action || u32 len || subject
 *   || u32 len || detail || prev (32)
 * A head signs (ECDSA P-256, SHA-256, DER) the message
 *   "atoll-audit-head-v1" (19 bytes) || u64 seq || hash
 * for the record just before it: anyone holding the public key can check that
 * the chain up to seq is the one the log's owner signed. Records after the
 * last head are protected by the chain only (an attacker who can write the
 * file could cut or rewrite that tail); heads are written every head_every
 * records and on request. */
#ifndef ATOLL_AUDIT_H
#define ATOLL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"
#include "atoll/sig.h"

struct atl_audit; /* an open log, for appending */

/* Opens (or creates, mode 0600) the log at path for appending. An existing log
 * is verified first (chain only; ATL_E_AUTH / ATL_E_FORMAT if broken, and
 * nothing is appended to a broken log). The file is locked (flock) for the
 * handle's lifetime: ATL_E_BUSY if another handle holds it.
 * signer (borrowed, must outlive the handle; may be NULL: no heads) must be
 * an ECDSA P-256 key. head_every: sign a head after every head_every-th
 * record (0: only on atl_audit_sign_head). */
ATL_NODISCARD enum atl_err atl_audit_open(const char *path, const struct atl_privkey *signer,
					  uint32_t head_every, struct atl_audit **out);

/* Appends one record (and a head when one is due) and fsyncs.
 * actor, action, subject: 1..ATL_AUDIT_FIELD_MAX bytes; detail (may be NULL
 * for "") up to ATL_AUDIT_DETAIL_MAX bytes; valid UTF-8 (jansson's rule).
 * time 0 means now. seq_out (may be NULL) gets the record's seq.
 * Errors: ATL_E_ARG, ATL_E_IO, ATL_E_CRYPTO (signing). */
ATL_NODISCARD enum atl_err atl_audit_append(struct atl_audit *a, int64_t time, const char *actor,
					    const char *action, const char *subject,
					    const char *detail, uint64_t *seq_out);

/* Writes a signed head for the latest record now (no-op with ATL_OK when the
 * log is empty or the latest record already has a head). ATL_E_STATE without
 * a signer. */
ATL_NODISCARD enum atl_err atl_audit_sign_head(struct atl_audit *a);

/* Closes the handle (NULL-safe). */
void atl_audit_close(struct atl_audit *a);

struct atl_audit_report {
	uint64_t n_records;
	uint64_t n_heads;
	uint64_t last_seq;        /* seq of the last record (0: empty log) */
	uint64_t last_signed_seq; /* seq covered by the last valid head (0: none) */
	uint64_t bad_seq;         /* first bad seq (0 when the log verified) */
	char reason[128];         /* what was wrong, for people ("" when fine) */
};

/* Verifies the whole log: every record's seq follows the last, prev links to
 * the last hash, hash matches the canonical encoding; every head names the
 * record just before it and (pub non-NULL) carries a valid signature. A
 * removed, edited, reordered or inserted record or a bad head is reported in
 * rep_out->bad_seq (the first seq at which the log stops being the one that
 * was written) and reason.
 * Errors: ATL_E_AUTH (chain or signature broken), ATL_E_FORMAT / ATL_E_LIMIT
 * (a malformed line), ATL_E_NOTFOUND, ATL_E_IO. */
ATL_NODISCARD enum atl_err atl_audit_verify(const char *path, const struct atl_pubkey *pub,
					    struct atl_audit_report *rep_out);

/* Same, over an in-memory copy of a log (fuzzing, a log fetched elsewhere). */
ATL_NODISCARD enum atl_err atl_audit_verify_mem(const uint8_t *buf, size_t len,
						const struct atl_pubkey *pub,
						struct atl_audit_report *rep_out);

#endif
