/* Hash-chained, signed audit log; format in include/atoll/audit.h and
 * docs/internals/kbs.md.
 *
 * Verification reads one bounded line at a time (no line longer than
 * ATL_AUDIT_LINE_MAX), parses it with atl_json_parse (size and depth bounded,
 * duplicate keys refused), validates every field's type and length, then
 * recomputes the hash from the canonical binary encoding. The JSON text is
 * never hashed, so key order and escaping cannot matter. */
#define ATL_LOG_MODULE "audit"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/audit.h"
#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#define REC_DOMAIN "atoll-audit-v1"
#define HEAD_DOMAIN "atoll-audit-head-v1"
#define HEAD_ALG "ecdsa-p256-sha256"
#define HASH_LEN ATL_SHA256_LEN

struct atl_audit {
	int fd;
	const struct atl_privkey *signer;
	uint32_t head_every;
	uint64_t seq;       /* last record's seq (0: empty) */
	uint64_t signed_seq; /* seq of the last head */
	uint8_t hash[HASH_LEN];
};

struct rec {
	uint64_t seq;
	int64_t time;
	const char *actor, *action, *subject, *detail;
	uint8_t prev[HASH_LEN];
};

/* ---- canonical encodings ------------------------------------------------- */

static enum atl_err wr_str32(struct atl_wr *w, const char *s)
{
	enum atl_err rc = ATL_E_INTERNAL;
	size_t n = strlen(s);

	if (n > UINT32_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(atl_wr_u32be(w, (uint32_t)n));
	ATL_TRY(atl_wr_bytes(w, s, n));
out:
	return rc;
}

static enum atl_err rec_hash(const struct rec *r, uint8_t out[HASH_LEN])
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_wr w;
	uint8_t *buf = NULL;
	size_t len = 0;

	atl_wr_init(&w, ATL_AUDIT_LINE_MAX, false);
	ATL_TRY(atl_wr_str(&w, REC_DOMAIN));
	ATL_TRY(atl_wr_u64be(&w, r->seq));
	ATL_TRY(atl_wr_u64be(&w, (uint64_t)r->time));
	ATL_TRY(wr_str32(&w, r->actor));
	ATL_TRY(wr_str32(&w, r->action));
	ATL_TRY(wr_str32(&w, r->subject));
	ATL_TRY(wr_str32(&w, r->detail));
	ATL_TRY(atl_wr_bytes(&w, r->prev, HASH_LEN));
	ATL_TRY(atl_wr_take(&w, &buf, &len));
	ATL_TRY(atl_hash(ATL_HASH_SHA256, buf, len, out));
	rc = ATL_OK;
out:
	free(buf);
	atl_wr_free(&w);
	return rc;
}

static void head_msg(uint64_t seq, const uint8_t hash[HASH_LEN],
		     uint8_t msg[sizeof(HEAD_DOMAIN) - 1 + 8 + HASH_LEN])
{
	size_t d = sizeof(HEAD_DOMAIN) - 1;

	memcpy(msg, HEAD_DOMAIN, d);
	for (int i = 7; i >= 0; i--) {
		msg[d + (size_t)i] = (uint8_t)seq;
		seq >>= 8;
	}
	memcpy(msg + d + 8, hash, HASH_LEN);
}

#define HEAD_MSG_LEN (sizeof(HEAD_DOMAIN) - 1 + 8 + HASH_LEN)

/* ---- verification -------------------------------------------------------- */

static void fail(struct atl_audit_report *rep, uint64_t seq, const char *why)
{
	rep->bad_seq = seq;
	snprintf(rep->reason, sizeof(rep->reason), "%s", why);
}

static enum atl_err get_field(const json_t *o, const char *key, size_t max, int may_be_empty,
			      const char **out)
{
	enum atl_err rc = atl_json_get_str(o, key, out);
	size_t n;

	if (rc != ATL_OK)
		return rc == ATL_E_NOTFOUND ? ATL_E_FORMAT : rc;
	n = strlen(*out);
	if (n == 0 && !may_be_empty)
		return ATL_E_FORMAT;
	return n > max ? ATL_E_LIMIT : ATL_OK;
}

static enum atl_err get_seq(const json_t *o, uint64_t *seq_out)
{
	int64_t v = 0;
	enum atl_err rc = atl_json_get_int(o, "seq", &v);

	if (rc != ATL_OK || v < 1)
		return ATL_E_FORMAT;
	*seq_out = (uint64_t)v;
	return ATL_OK;
}

static const char *const rec_keys[] = {"action", "actor", "detail", "hash", "prev",
				       "seq",    "subject", "time", "type", NULL};
static const char *const head_keys[] = {"alg", "hash", "seq", "sig", "type", NULL};

/* Checks one record line against the chain state (seq, hash). */
static enum atl_err check_record(const json_t *o, uint64_t *seq, uint8_t hash[HASH_LEN],
				 struct atl_audit_report *rep)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct rec r;
	uint8_t stored[HASH_LEN], want[HASH_LEN];
	uint64_t expect = *seq + 1;

	memset(&r, 0, sizeof(r));
	/* parse and validate */
	rc = atl_json_check_keys(o, rec_keys, NULL);
	if (rc == ATL_OK)
		rc = get_seq(o, &r.seq);
	if (rc == ATL_OK)
		rc = atl_json_get_int(o, "time", &r.time);
	if (rc == ATL_OK)
		rc = get_field(o, "actor", ATL_AUDIT_FIELD_MAX, 0, &r.actor);
	if (rc == ATL_OK)
		rc = get_field(o, "action", ATL_AUDIT_FIELD_MAX, 0, &r.action);
	if (rc == ATL_OK)
		rc = get_field(o, "subject", ATL_AUDIT_FIELD_MAX, 0, &r.subject);
	if (rc == ATL_OK)
		rc = get_field(o, "detail", ATL_AUDIT_DETAIL_MAX, 1, &r.detail);
	if (rc == ATL_OK)
		rc = atl_json_get_hex(o, "prev", r.prev, HASH_LEN);
	if (rc == ATL_OK)
		rc = atl_json_get_hex(o, "hash", stored, HASH_LEN);
	if (rc != ATL_OK) {
		fail(rep, expect, "malformed record");
		return rc == ATL_E_NOTFOUND ? ATL_E_FORMAT : rc;
	}
	/* use: position in the chain, link, content */
	if (r.seq != expect) {
		fail(rep, expect, r.seq < expect ? "record out of order or repeated"
						 : "seq gap: a record is missing or out of order");
		return ATL_E_AUTH;
	}
	if (!atl_ct_eq(r.prev, hash, HASH_LEN)) {
		fail(rep, r.seq, "prev does not link to the previous record");
		return ATL_E_AUTH;
	}
	ATL_TRY(rec_hash(&r, want));
	if (!atl_ct_eq(want, stored, HASH_LEN)) {
		fail(rep, r.seq, "record content does not match its hash");
		return ATL_E_AUTH;
	}
	*seq = r.seq;
	memcpy(hash, want, HASH_LEN);
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err check_head(const json_t *o, uint64_t seq, const uint8_t hash[HASH_LEN],
			       const struct atl_pubkey *pub, struct atl_audit_report *rep)
{
	enum atl_err rc;
	const char *alg = NULL;
	uint8_t h[HASH_LEN], msg[HEAD_MSG_LEN], *sig = NULL;
	size_t sig_len = 0;
	uint64_t hseq = 0;

	rc = atl_json_check_keys(o, head_keys, NULL);
	if (rc == ATL_OK)
		rc = get_seq(o, &hseq);
	if (rc == ATL_OK)
		rc = atl_json_get_str(o, "alg", &alg);
	if (rc == ATL_OK)
		rc = atl_json_get_hex(o, "hash", h, HASH_LEN);
	if (rc == ATL_OK)
		rc = atl_json_get_b64(o, "sig", ATL_SIG_LEN_MAX, &sig, &sig_len);
	if (rc != ATL_OK) {
		fail(rep, seq + 1, "malformed head");
		rc = rc == ATL_E_NOTFOUND ? ATL_E_FORMAT : rc;
		goto out;
	}
	rc = ATL_E_UNSUPPORTED;
	if (strcmp(alg, HEAD_ALG) != 0) {
		fail(rep, hseq, "head algorithm not supported");
		goto out;
	}
	rc = ATL_E_AUTH;
	if (hseq != seq || !atl_ct_eq(h, hash, HASH_LEN)) {
		fail(rep, hseq, "head does not match the chain");
		goto out;
	}
	if (pub != NULL) {
		head_msg(hseq, h, msg);
		rc = atl_sig_verify(pub, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_DER, msg,
				    sizeof(msg), sig, sig_len);
		if (rc != ATL_OK) {
			fail(rep, hseq, "head signature does not verify");
			rc = ATL_E_AUTH;
			goto out;
		}
	}
	rep->n_heads++;
	rep->last_signed_seq = hseq;
	rc = ATL_OK;
out:
	free(sig);
	return rc;
}

/* Verifies the log open on f; on success *seq/hash hold the chain's end. */
static enum atl_err verify_stream(FILE *f, const struct atl_pubkey *pub, uint64_t *seq_out,
				  uint8_t hash_out[HASH_LEN], struct atl_audit_report *rep)
{
	enum atl_err rc = ATL_OK;
	char *line = NULL;
	uint64_t seq = 0;
	uint8_t hash[HASH_LEN];
	json_t *o = NULL;

	memset(hash, 0, sizeof(hash));
	line = malloc(ATL_AUDIT_LINE_MAX + 2);
	if (line == NULL)
		return ATL_E_NOMEM;
	while (fgets(line, ATL_AUDIT_LINE_MAX + 2, f) != NULL) {
		size_t n = strlen(line);
		const char *type = NULL;

		if (n == 0 || line[n - 1] != '\n') {
			/* too long, a NUL byte, or a torn last write */
			fail(rep, seq + 1, n > ATL_AUDIT_LINE_MAX ? "line too long"
								 : "incomplete line");
			rc = n > ATL_AUDIT_LINE_MAX ? ATL_E_LIMIT : ATL_E_FORMAT;
			break;
		}
		rc = atl_json_parse(line, n - 1, &o);
		if (rc == ATL_OK && !json_is_object(o))
			rc = ATL_E_FORMAT;
		if (rc == ATL_OK)
			rc = atl_json_get_str(o, "type", &type);
		if (rc != ATL_OK) {
			fail(rep, seq + 1, "line is not a log entry");
			rc = rc == ATL_E_NOTFOUND ? ATL_E_FORMAT : rc;
			break;
		}
		if (strcmp(type, "record") == 0) {
			rc = check_record(o, &seq, hash, rep);
			if (rc == ATL_OK)
				rep->n_records++;
		} else if (strcmp(type, "head") == 0) {
			rc = check_head(o, seq, hash, pub, rep);
		} else {
			fail(rep, seq + 1, "unknown entry type");
			rc = ATL_E_FORMAT;
		}
		json_decref(o);
		o = NULL;
		if (rc != ATL_OK)
			break;
	}
	if (rc == ATL_OK && ferror(f)) {
		fail(rep, seq + 1, "read error");
		rc = ATL_E_IO;
	}
	rep->last_seq = seq;
	*seq_out = seq;
	memcpy(hash_out, hash, HASH_LEN);
	json_decref(o);
	free(line);
	return rc;
}

enum atl_err atl_audit_verify(const char *path, const struct atl_pubkey *pub,
			      struct atl_audit_report *rep_out)
{
	enum atl_err rc;
	uint64_t seq = 0;
	uint8_t hash[HASH_LEN];
	FILE *f;

	memset(rep_out, 0, sizeof(*rep_out));
	if (path == NULL)
		return ATL_E_ARG;
	f = fopen(path, "rbe");
	if (f == NULL)
		return errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO;
	rc = verify_stream(f, pub, &seq, hash, rep_out);
	fclose(f);
	if (rc != ATL_OK)
		atl_warn("audit log refused at seq %" PRIu64 ": %s", rep_out->bad_seq,
			 rep_out->reason);
	return rc;
}

enum atl_err atl_audit_verify_mem(const uint8_t *buf, size_t len, const struct atl_pubkey *pub,
				  struct atl_audit_report *rep_out)
{
	enum atl_err rc;
	uint64_t seq = 0;
	uint8_t hash[HASH_LEN];
	FILE *f;

	memset(rep_out, 0, sizeof(*rep_out));
	if (buf == NULL && len != 0)
		return ATL_E_ARG;
	if (len == 0)
		return ATL_OK; /* an empty log */
	f = fmemopen((void *)buf, len, "rb");
	if (f == NULL)
		return ATL_E_NOMEM;
	rc = verify_stream(f, pub, &seq, hash, rep_out);
	fclose(f);
	return rc;
}

/* ---- appending ----------------------------------------------------------- */

static enum atl_err write_line(int fd, json_t *o)
{
	enum atl_err rc = ATL_E_NOMEM;
	char *s = atl_json_dump(o);
	char *line = NULL;
	size_t n;

	if (s == NULL)
		goto out;
	n = strlen(s);
	rc = ATL_E_LIMIT;
	if (n + 1 > ATL_AUDIT_LINE_MAX)
		goto out;
	rc = ATL_E_NOMEM;
	line = malloc(n + 1);
	if (line == NULL)
		goto out;
	memcpy(line, s, n);
	line[n] = '\n';
	/* one write() of the whole line (O_APPEND), then fsync */
	rc = ATL_E_IO;
	if (write(fd, line, n + 1) != (ssize_t)(n + 1) || fsync(fd) != 0)
		goto out;
	rc = ATL_OK;
out:
	free(line);
	free(s);
	return rc;
}

static json_t *hex_str(const uint8_t *p, size_t n)
{
	char buf[2 * HASH_LEN + 1];

	if (n > HASH_LEN || atl_hex_encode(p, n, buf, sizeof(buf)) != ATL_OK)
		return NULL;
	return json_string(buf);
}

enum atl_err atl_audit_sign_head(struct atl_audit *a)
{
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t msg[HEAD_MSG_LEN], *sig = NULL;
	size_t sig_len = 0;
	char *b64 = NULL;
	json_t *o = NULL;

	if (a == NULL)
		return ATL_E_ARG;
	if (a->signer == NULL)
		return ATL_E_STATE;
	if (a->seq == 0 || a->signed_seq == a->seq)
		return ATL_OK;
	head_msg(a->seq, a->hash, msg);
	ATL_TRY(atl_sig_sign(a->signer, ATL_SIG_ECDSA_P256_SHA256, ATL_SIG_FMT_DER, msg,
			     sizeof(msg), &sig, &sig_len));
	ATL_TRY(atl_b64_encode(sig, sig_len, ATL_B64_STD, &b64));
	rc = ATL_E_NOMEM;
	o = json_pack("{s:s, s:o, s:I, s:s, s:s}", "alg", HEAD_ALG, "hash",
		      hex_str(a->hash, HASH_LEN), "seq", (json_int_t)a->seq, "sig", b64, "type",
		      "head");
	if (o == NULL)
		goto out;
	ATL_TRY(write_line(a->fd, o));
	a->signed_seq = a->seq;
	rc = ATL_OK;
out:
	json_decref(o);
	free(b64);
	free(sig);
	return rc;
}

static int field_ok(const char *s, size_t max, int may_be_empty)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	return n <= max && (n > 0 || may_be_empty);
}

enum atl_err atl_audit_append(struct atl_audit *a, int64_t time, const char *actor,
			      const char *action, const char *subject, const char *detail,
			      uint64_t *seq_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct rec r;
	uint8_t h[HASH_LEN];
	json_t *o = NULL;

	if (seq_out != NULL)
		*seq_out = 0;
	if (detail == NULL)
		detail = "";
	if (a == NULL || !field_ok(actor, ATL_AUDIT_FIELD_MAX, 0) ||
	    !field_ok(action, ATL_AUDIT_FIELD_MAX, 0) ||
	    !field_ok(subject, ATL_AUDIT_FIELD_MAX, 0) ||
	    !field_ok(detail, ATL_AUDIT_DETAIL_MAX, 1))
		return ATL_E_ARG;
	if (a->seq == INT64_MAX)
		return ATL_E_STATE;
	memset(&r, 0, sizeof(r));
	r.seq = a->seq + 1;
	r.time = time != 0 ? time : atl_time_now();
	r.actor = actor;
	r.action = action;
	r.subject = subject;
	r.detail = detail;
	memcpy(r.prev, a->hash, HASH_LEN);
	ATL_TRY(rec_hash(&r, h));
	/* json_string refuses invalid UTF-8: such a field is the caller's error */
	rc = ATL_E_ARG;
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:I, s:s}", "action", action, "actor",
		      actor, "detail", detail, "hash", hex_str(h, HASH_LEN), "prev",
		      hex_str(r.prev, HASH_LEN), "seq", (json_int_t)r.seq, "subject", subject,
		      "time", (json_int_t)r.time, "type", "record");
	if (o == NULL)
		goto out;
	ATL_TRY(write_line(a->fd, o));
	a->seq = r.seq;
	memcpy(a->hash, h, HASH_LEN);
	if (seq_out != NULL)
		*seq_out = r.seq;
	if (a->signer != NULL && a->head_every != 0 && a->seq % a->head_every == 0)
		ATL_TRY(atl_audit_sign_head(a));
	rc = ATL_OK;
out:
	json_decref(o);
	return rc;
}

enum atl_err atl_audit_open(const char *path, const struct atl_privkey *signer,
			    uint32_t head_every, struct atl_audit **out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_audit *a = NULL;
	struct atl_audit_report rep;
	FILE *f = NULL;

	*out = NULL;
	if (path == NULL)
		return ATL_E_ARG;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return ATL_E_NOMEM;
	a->signer = signer;
	a->head_every = head_every;
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	rc = ATL_E_IO;
	if (a->fd < 0)
		goto out;
	rc = ATL_E_BUSY;
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0)
		goto out;
	/* the chain so far: nothing is appended to a broken log */
	memset(&rep, 0, sizeof(rep));
	rc = ATL_E_IO;
	f = fopen(path, "rbe");
	if (f == NULL)
		goto out;
	rc = verify_stream(f, NULL, &a->seq, a->hash, &rep);
	if (rc != ATL_OK) {
		atl_error("audit log %s is broken at seq %" PRIu64 ": %s", path, rep.bad_seq,
			  rep.reason);
		goto out;
	}
	a->signed_seq = rep.last_signed_seq;
	*out = a;
	a = NULL;
	rc = ATL_OK;
out:
	if (f != NULL)
		fclose(f);
	atl_audit_close(a);
	return rc;
}

void atl_audit_close(struct atl_audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}
