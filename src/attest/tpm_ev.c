/* Decoding of the TPM evidence formats into one internal form (tpm_int.h):
 *   - Atoll's JSON evidence {"format":"atoll-tpm-v1", ...};
 *   - go-tpm-tools attest.Attestation (protobuf, GCE vTPM);
 *   - trustee's generic TPM evidence {"ak_public", "tpm_quote"}.
 * Decoding only checks structure and limits; tpm.c judges the content. */
#define ATL_LOG_MODULE "tpm"
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "attest/tpm_int.h"

void tpm_ev_free(struct tpm_ev *e)
{
	if (e == NULL)
		return;
	free(e->ak_pub);
	free(e->ak_spki);
	for (size_t i = 0; i < e->n_quotes; i++) {
		free(e->q[i].attest);
		free(e->q[i].sig);
	}
	free(e->evlog);
	free(e->ak_cert);
	free(e->ek_pub);
	free(e->ek_cert);
	for (size_t i = 0; i < e->n_certs; i++)
		free(e->certs[i]);
	json_decref(e->activation);
	json_decref(e->freshness);
	free(e->hcl);
	free(e->vcek);
	free(e->td_quote);
	free(e);
}

static enum atl_err dup_bytes(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
	*out = malloc(n > 0 ? n : 1);
	if (*out == NULL)
		return ATL_E_NOMEM;
	if (n > 0)
		memcpy(*out, p, n);
	*out_len = n;
	return ATL_OK;
}

/* ---- protobuf (proto3 wire format) ---- */

struct pb_field {
	uint32_t num;
	uint8_t wt;
	uint64_t v;          /* varint */
	struct atl_rd sub;   /* length-delimited */
};

static enum atl_err pb_varint(struct atl_rd *r, uint64_t *v)
{
	uint8_t b;
	enum atl_err rc;

	*v = 0;
	for (unsigned i = 0; i < 10; i++) {
		if ((rc = atl_rd_u8(r, &b)) != ATL_OK)
			return rc;
		if (i == 9 && b > 1)
			return ATL_E_FORMAT; /* more than 64 bits */
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return ATL_OK;
	}
	return ATL_E_FORMAT;
}

static enum atl_err pb_next(struct atl_rd *r, struct pb_field *f)
{
	uint64_t key, n;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(f, 0, sizeof(*f));
	ATL_TRY(pb_varint(r, &key));
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return ATL_E_FORMAT;
	f->num = (uint32_t)(key >> 3);
	f->wt = (uint8_t)(key & 7);
	switch (f->wt) {
	case 0:
		return pb_varint(r, &f->v);
	case 1:
		return atl_rd_skip(r, 8);
	case 2:
		ATL_TRY(pb_varint(r, &n));
		if (n > atl_rd_left(r))
			return ATL_E_TRUNCATED;
		return atl_rd_sub(r, (size_t)n, &f->sub);
	case 5:
		return atl_rd_skip(r, 4);
	default:
		return ATL_E_FORMAT; /* groups (3, 4) and reserved types */
	}
out:
	return rc;
}

static enum atl_err pb_bytes(const struct pb_field *f, size_t max, uint8_t **out, size_t *len)
{
	const uint8_t *v;
	struct atl_rd sub = f->sub;
	size_t n = atl_rd_left(&sub);

	if (f->wt != 2 || *out != NULL)
		return ATL_E_FORMAT; /* wrong type, or a singular field twice */
	if (n > max)
		return ATL_E_LIMIT;
	if (atl_rd_view(&sub, n, &v) != ATL_OK)
		return ATL_E_FORMAT;
	return dup_bytes(v, n, out, len);
}

/* tpm.PCRs {HashAlgo hash = 1; map<uint32, bytes> pcrs = 2;} */
static enum atl_err pb_pcrs(struct atl_rd *r, struct atl_tpm_pcrs *pcrs)
{
	struct pb_field f, g;
	bool have_hash = false;
	enum atl_err rc = ATL_E_INTERNAL;
	struct {
		uint32_t idx;
		const uint8_t *v;
		size_t n;
	} ent[ATL_TPM_PCRS];
	size_t n_ent = 0;

	memset(pcrs, 0, sizeof(*pcrs));
	while (atl_rd_left(r) > 0) {
		ATL_TRY(pb_next(r, &f));
		if (f.num == 1 && f.wt == 0) {
			if (have_hash || f.v > 0xffff)
				return ATL_E_FORMAT;
			pcrs->hash = (uint16_t)f.v;
			have_hash = true;
		} else if (f.num == 2 && f.wt == 2) {
			bool have_k = false, have_v = false;

			if (n_ent >= ATL_TPM_PCRS)
				return ATL_E_LIMIT;
			ent[n_ent].idx = 0;
			ent[n_ent].v = NULL;
			ent[n_ent].n = 0;
			while (atl_rd_left(&f.sub) > 0) {
				ATL_TRY(pb_next(&f.sub, &g));
				if (g.num == 1 && g.wt == 0 && !have_k) {
					if (g.v >= ATL_TPM_PCRS)
						return ATL_E_FORMAT;
					ent[n_ent].idx = (uint32_t)g.v;
					have_k = true;
				} else if (g.num == 2 && g.wt == 2 && !have_v) {
					ent[n_ent].n = atl_rd_left(&g.sub);
					ATL_TRY(atl_rd_view(&g.sub, ent[n_ent].n, &ent[n_ent].v));
					have_v = true;
				} else {
					return ATL_E_FORMAT;
				}
			}
			n_ent++;
		}
		/* other fields: none defined; unknown ones are skipped */
	}
	if (!have_hash)
		return ATL_E_FORMAT;
	size_t hl = atl_tpm_hash_len(pcrs->hash);
	if (hl == 0)
		return ATL_E_UNSUPPORTED;
	for (size_t i = 0; i < n_ent; i++) {
		uint32_t bit = 1u << ent[i].idx;

		if (ent[i].n != hl || (pcrs->present & bit))
			return ATL_E_FORMAT;
		memcpy(pcrs->value[ent[i].idx], ent[i].v, hl);
		pcrs->present |= bit;
	}
	rc = ATL_OK;
out:
	return rc;
}

/* tpm.Quote {bytes quote = 1; bytes raw_sig = 2; PCRs pcrs = 3;} */
static enum atl_err pb_quote(struct atl_rd *r, struct tpm_quote *q)
{
	struct pb_field f;
	bool have_pcrs = false;
	enum atl_err rc = ATL_E_INTERNAL;

	while (atl_rd_left(r) > 0) {
		ATL_TRY(pb_next(r, &f));
		if (f.num == 1)
			ATL_TRY(pb_bytes(&f, ATL_TPM_ATTEST_MAX, &q->attest, &q->attest_len));
		else if (f.num == 2)
			ATL_TRY(pb_bytes(&f, ATL_SIG_LEN_MAX, &q->sig, &q->sig_len));
		else if (f.num == 3) {
			if (f.wt != 2 || have_pcrs)
				return ATL_E_FORMAT;
			ATL_TRY(pb_pcrs(&f.sub, &q->pcrs));
			have_pcrs = true;
		}
	}
	if (q->attest == NULL || q->sig == NULL || !have_pcrs)
		return ATL_E_FORMAT;
	rc = ATL_OK;
out:
	return rc;
}

/* attest.Attestation (go-tpm-tools proto/attest.proto). */
static enum atl_err decode_pb(const uint8_t *buf, size_t len, struct tpm_ev *e)
{
	struct atl_rd r;
	struct pb_field f;
	enum atl_err rc = ATL_E_INTERNAL;

	e->format = "go-tpm-tools";
	atl_rd_init(&r, buf, len);
	while (atl_rd_left(&r) > 0) {
		ATL_TRY(pb_next(&r, &f));
		switch (f.num) {
		case 1: /* ak_pub: TPMT_PUBLIC */
			ATL_TRY(pb_bytes(&f, ATL_TPM_PUBLIC_MAX, &e->ak_pub, &e->ak_pub_len));
			break;
		case 2: /* quotes */
			if (f.wt != 2)
				return ATL_E_FORMAT;
			if (e->n_quotes >= ATL_TPM_QUOTES_MAX)
				return ATL_E_LIMIT;
			e->n_quotes++;
			ATL_TRY(pb_quote(&f.sub, &e->q[e->n_quotes - 1]));
			break;
		case 3: /* event_log */
			ATL_TRY(pb_bytes(&f, ATL_TPM_EVLOG_MAX, &e->evlog, &e->evlog_len));
			break;
		case 6: /* ak_cert (DER) */
			ATL_TRY(pb_bytes(&f, ATL_ATTEST_ANCHOR_MAX, &e->ak_cert, &e->ak_cert_len));
			break;
		case 7: /* intermediate_certs */
			if (e->n_certs >= ATL_TPM_CERTS_MAX)
				return ATL_E_LIMIT;
			ATL_TRY(pb_bytes(&f, ATL_ATTEST_ANCHOR_MAX, &e->certs[e->n_certs],
					 &e->cert_len[e->n_certs]));
			e->n_certs++;
			break;
		default:
			/* 4 instance_info, 5 canonical_event_log, 8/9 TEE
			 * attestations: not used here, skipped. */
			break;
		}
	}
	if (e->ak_pub == NULL || e->n_quotes == 0)
		return ATL_E_FORMAT;
	rc = ATL_OK;
out:
	return rc;
}

/* ---- JSON forms ---- */

static enum atl_err get_b64(const json_t *o, const char *key, size_t max, bool required,
			    uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL)
		return required ? ATL_E_FORMAT : ATL_OK;
	return atl_json_get_b64(o, key, max, out, len);
}

static enum atl_err hex_pcr(const json_t *v, size_t hl, uint8_t *out)
{
	if (!json_is_string(v))
		return ATL_E_FORMAT;
	return atl_hex_decode_exact(json_string_value(v), json_string_length(v), out, hl);
}

/* {"bank":"sha256","values":{"<index>":"<hex>",...}} */
static enum atl_err decode_pcr_map(const json_t *o, struct atl_tpm_pcrs *pcrs)
{
	static const char *const keys[] = {"bank", "values", NULL};
	const char *bank, *k;
	const json_t *vals;
	json_t *v;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(pcrs, 0, sizeof(*pcrs));
	ATL_TRY(atl_json_check_keys(o, keys, NULL));
	ATL_TRY(atl_json_get_str(o, "bank", &bank));
	pcrs->hash = atl_tpm_hash_from_name(bank);
	if (pcrs->hash == 0)
		return ATL_E_UNSUPPORTED;
	vals = json_object_get(o, "values");
	if (!json_is_object(vals) || json_object_size(vals) > ATL_TPM_PCRS)
		return ATL_E_FORMAT;
	json_object_foreach((json_t *)vals, k, v) {
		char *end = NULL;
		unsigned long idx;

		if (k[0] < '0' || k[0] > '9' || (k[0] == '0' && k[1] != '\0'))
			return ATL_E_FORMAT;
		idx = strtoul(k, &end, 10);
		if (*end != '\0' || idx >= ATL_TPM_PCRS)
			return ATL_E_FORMAT;
		ATL_TRY(hex_pcr(v, atl_tpm_hash_len(pcrs->hash), pcrs->value[idx]));
		pcrs->present |= 1u << idx;
	}
	rc = ATL_OK;
out:
	return rc;
}

static enum atl_err decode_atoll(const json_t *j, struct tpm_ev *e)
{
	static const char *const keys[] = {"format",     "ak_pub",     "quote",     "signature",
					   "pcrs",       "ek_pub",     "ek_cert",   "certs",
					   "ak_cert",    "activation", "event_log", "measurement",
					   "measurement_pcr", "freshness", NULL};
	const json_t *v, *certs;
	const char *s;
	int64_t pcr;
	size_t i;
	json_t *c;
	enum atl_err rc = ATL_E_INTERNAL;

	e->format = ATL_TPM_EVIDENCE_FORMAT;
	ATL_TRY(atl_json_check_keys(j, keys, NULL));
	ATL_TRY(get_b64(j, "ak_pub", ATL_TPM_PUBLIC_MAX, true, &e->ak_pub, &e->ak_pub_len));
	e->n_quotes = 1;
	ATL_TRY(get_b64(j, "quote", ATL_TPM_ATTEST_MAX, true, &e->q[0].attest,
			&e->q[0].attest_len));
	ATL_TRY(get_b64(j, "signature", ATL_SIG_LEN_MAX, true, &e->q[0].sig, &e->q[0].sig_len));
	v = json_object_get(j, "pcrs");
	if (v == NULL)
		return ATL_E_FORMAT;
	ATL_TRY(decode_pcr_map(v, &e->q[0].pcrs));
	ATL_TRY(get_b64(j, "ek_pub", ATL_TPM_PUBLIC_MAX, false, &e->ek_pub, &e->ek_pub_len));
	ATL_TRY(get_b64(j, "ek_cert", ATL_ATTEST_ANCHOR_MAX, false, &e->ek_cert, &e->ek_cert_len));
	ATL_TRY(get_b64(j, "ak_cert", ATL_ATTEST_ANCHOR_MAX, false, &e->ak_cert, &e->ak_cert_len));
	ATL_TRY(get_b64(j, "event_log", ATL_TPM_EVLOG_MAX, false, &e->evlog, &e->evlog_len));
	certs = json_object_get(j, "certs");
	if (certs != NULL) {
		if (!json_is_array(certs))
			return ATL_E_FORMAT;
		if (json_array_size(certs) > ATL_TPM_CERTS_MAX)
			return ATL_E_LIMIT;
		json_array_foreach(certs, i, c) {
			uint8_t *der = NULL;
			size_t n = 0;

			if (!json_is_string(c))
				return ATL_E_FORMAT;
			ATL_TRY(atl_b64_decode(json_string_value(c), json_string_length(c),
					       ATL_B64_STD, &der, &n));
			e->certs[e->n_certs] = der;
			e->cert_len[e->n_certs++] = n;
			if (n > ATL_ATTEST_ANCHOR_MAX)
				return ATL_E_LIMIT;
		}
	}
	v = json_object_get(j, "activation");
	if (v != NULL) {
		if (!json_is_object(v))
			return ATL_E_FORMAT;
		e->activation = json_incref((json_t *)v);
	}
	v = json_object_get(j, "freshness");
	if (v != NULL) {
		if (!json_is_object(v))
			return ATL_E_FORMAT;
		e->freshness = json_incref((json_t *)v);
	}
	if (json_object_get(j, "measurement") != NULL) {
		ATL_TRY(atl_json_get_str(j, "measurement", &s));
		ATL_TRY(atl_hex_decode(s, strlen(s), e->meas, sizeof(e->meas), &e->meas_len));
		if (e->meas_len == 0)
			return ATL_E_FORMAT;
		ATL_TRY(atl_json_get_int(j, "measurement_pcr", &pcr));
		if (pcr < 0 || pcr >= ATL_TPM_PCRS)
			return ATL_E_FORMAT;
		e->meas_pcr = (int)pcr;
	} else if (json_object_get(j, "measurement_pcr") != NULL) {
		return ATL_E_FORMAT;
	}
	rc = ATL_OK;
out:
	return rc;
}

/* trustee deps/verifier generic TPM evidence: ak_public (SPKI, base64),
 * tpm_quote {message (TPMS_ATTEST, b64), signature (TPMT_SIGNATURE, b64),
 * pcrs [24 x SHA-256 hex]}. */
static enum atl_err decode_trustee(const json_t *j, struct tpm_ev *e)
{
	static const char *const keys[] = {"ak_public", "tpm_quote", NULL};
	static const char *const qkeys[] = {"message", "signature", "pcrs", NULL};
	const json_t *q, *pcrs;
	json_t *v;
	size_t i;
	enum atl_err rc = ATL_E_INTERNAL;

	e->format = "trustee-tpm";
	ATL_TRY(atl_json_check_keys(j, keys, NULL));
	ATL_TRY(get_b64(j, "ak_public", ATL_SIG_KEY_INPUT_MAX, true, &e->ak_spki,
			&e->ak_spki_len));
	q = json_object_get(j, "tpm_quote");
	if (q == NULL)
		return ATL_E_FORMAT;
	ATL_TRY(atl_json_check_keys(q, qkeys, NULL));
	e->n_quotes = 1;
	ATL_TRY(get_b64(q, "message", ATL_TPM_ATTEST_MAX, true, &e->q[0].attest,
			&e->q[0].attest_len));
	ATL_TRY(get_b64(q, "signature", ATL_SIG_LEN_MAX, true, &e->q[0].sig, &e->q[0].sig_len));
	pcrs = json_object_get(q, "pcrs");
	if (!json_is_array(pcrs) || json_array_size(pcrs) != ATL_TPM_PCRS)
		return ATL_E_FORMAT;
	e->q[0].pcrs.hash = ATL_TPM_ALG_SHA256;
	json_array_foreach(pcrs, i, v) {
		ATL_TRY(hex_pcr(v, 32, e->q[0].pcrs.value[i]));
		e->q[0].pcrs.present |= 1u << i;
	}
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err tpm_ev_decode(const uint8_t *buf, size_t len, struct tpm_ev **out)
{
	struct tpm_ev *e;
	json_t *j = NULL;
	const char *fmt;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	if (buf == NULL || len == 0)
		return ATL_E_TRUNCATED;
	if (len > ATL_ATTEST_EVIDENCE_MAX)
		return ATL_E_LIMIT;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return ATL_E_NOMEM;
	e->meas_pcr = -1;
	/* JSON (possibly after whitespace) or a protobuf, whose first byte is
	 * a field key and never '{' or whitespace for attest.Attestation. */
	size_t ws = 0;
	while (ws < len && (buf[ws] == ' ' || buf[ws] == '\n' || buf[ws] == '\r' || buf[ws] == '\t'))
		ws++;
	if (ws < len && buf[ws] == '{') {
		ATL_TRY(atl_json_parse((const char *)buf, len, &j));
		if (json_object_get(j, "format") != NULL) {
			ATL_TRY(atl_json_get_str(j, "format", &fmt));
			if (strcmp(fmt, ATL_TPM_EVIDENCE_FORMAT) != 0) {
				rc = ATL_E_UNSUPPORTED;
				goto out;
			}
			ATL_TRY(decode_atoll(j, e));
		} else if (json_object_get(j, "ak_public") != NULL) {
			ATL_TRY(decode_trustee(j, e));
		} else if (tpm_azure_sniff(j)) {
			ATL_TRY(tpm_azure_decode(j, e));
		} else {
			rc = ATL_E_UNSUPPORTED;
			goto out;
		}
	} else {
		ATL_TRY(decode_pb(buf, len, e));
	}
	*out = e;
	e = NULL;
	rc = ATL_OK;
out:
	json_decref(j);
	tpm_ev_free(e);
	return rc;
}
