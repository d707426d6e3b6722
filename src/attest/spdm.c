/* SPDM 1.1 GET_MEASUREMENTS transcript parser; see src/attest/spdm.h.
 * Everything goes through the bounded reader; nothing is cast onto bytes. */
#include <string.h>

#include "atoll/bytes.h"
#include "attest/spdm.h"

static enum atl_err rd_u24le(struct atl_rd *r, uint32_t *v)
{
	uint8_t b[3];
	enum atl_err rc = atl_rd_bytes(r, b, 3);

	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
	return rc;
}

/* DSP0274 1.1 Table 45 (measurement block) and Table 46 (DMTF measurement). */
static enum atl_err parse_record(struct atl_rd *rec, uint8_t n_blocks, struct atl_spdm_meas *out)
{
	enum atl_err rc = ATL_E_INTERNAL;

	for (size_t i = 0; i < n_blocks; i++) {
		struct atl_spdm_block *b = &out->blocks[i];
		struct atl_rd body;
		uint8_t spec;
		uint16_t size, vsize;

		ATL_TRY(atl_rd_u8(rec, &b->index));
		ATL_TRY(atl_rd_u8(rec, &spec));
		ATL_TRY(atl_rd_u16le(rec, &size));
		ATL_TRY(atl_rd_sub(rec, size, &body));
		if (spec != 0x01) { /* bit 0: DMTF-defined; nothing else is */
			rc = ATL_E_FORMAT;
			goto out;
		}
		ATL_TRY(atl_rd_u8(&body, &b->dmtf_type));
		ATL_TRY(atl_rd_u16le(&body, &vsize));
		ATL_TRY(atl_rd_view(&body, vsize, &b->value));
		b->value_len = vsize;
		ATL_TRY(atl_rd_finish(&body)); /* size == 3 + value size */
		if (b->index == 0 || b->index == 0xff) { /* reserved indices */
			rc = ATL_E_FORMAT;
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (out->blocks[j].index == b->index) {
				rc = ATL_E_FORMAT; /* an index twice */
				goto out;
			}
		}
		out->n_blocks++;
	}
	rc = atl_rd_finish(rec); /* record length == sum of the blocks */
out:
	return rc == ATL_E_TRUNCATED || rc == ATL_E_TRAILING ? ATL_E_FORMAT : rc;
}

/* NVIDIA opaque data: u16 LE type, u16 LE length, value; tiles the data. */
static enum atl_err parse_opaque(const uint8_t *p, size_t len, struct atl_spdm_meas *out)
{
	struct atl_rd r;
	enum atl_err rc = ATL_OK;

	atl_rd_init(&r, p, len);
	while (atl_rd_left(&r) > 0) {
		struct atl_spdm_opaque *t;
		uint16_t n;

		if (out->n_tlvs >= sizeof(out->tlvs) / sizeof(out->tlvs[0]))
			return ATL_E_LIMIT;
		t = &out->tlvs[out->n_tlvs];
		rc = atl_rd_u16le(&r, &t->type);
		if (rc == ATL_OK)
			rc = atl_rd_u16le(&r, &n);
		if (rc == ATL_OK)
			rc = atl_rd_view(&r, n, &t->value);
		if (rc != ATL_OK)
			return ATL_E_FORMAT;
		t->len = n;
		out->n_tlvs++;
	}
	return atl_rd_finish(&r);
}

enum atl_err atl_spdm_parse_measurements(const uint8_t *buf, size_t len, struct atl_spdm_meas *out)
{
	struct atl_rd r, rec;
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t code, v, n_blocks;
	uint32_t rec_len;
	uint16_t op_len;

	memset(out, 0, sizeof(*out));
	atl_rd_init(&r, buf, len);
	/* GET_MEASUREMENTS request (DSP0274 1.1 Table 40). */
	ATL_TRY(atl_rd_u8(&r, &out->version));
	ATL_TRY(atl_rd_u8(&r, &code));
	ATL_TRY(atl_rd_u8(&r, &out->req_param1));
	ATL_TRY(atl_rd_u8(&r, &out->req_param2));
	if (code != ATL_SPDM_GET_MEASUREMENTS) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (out->version != ATL_SPDM_VERSION_11 || (out->req_param1 & 0x01) == 0) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	ATL_TRY(atl_rd_view(&r, ATL_SPDM_NONCE_LEN, &out->req_nonce));
	ATL_TRY(atl_rd_u8(&r, &out->slot));
	/* MEASUREMENTS response (Table 44). */
	ATL_TRY(atl_rd_u8(&r, &v));
	ATL_TRY(atl_rd_u8(&r, &code));
	if (v != out->version || code != ATL_SPDM_MEASUREMENTS) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_rd_u8(&r, &out->resp_param1));
	ATL_TRY(atl_rd_u8(&r, &out->resp_param2));
	ATL_TRY(atl_rd_u8(&r, &n_blocks));
	ATL_TRY(rd_u24le(&r, &rec_len));
	if (n_blocks == 0 && rec_len != 0) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(atl_rd_sub(&r, rec_len, &rec));
	ATL_TRY(parse_record(&rec, n_blocks, out));
	ATL_TRY(atl_rd_view(&r, ATL_SPDM_NONCE_LEN, &out->resp_nonce));
	ATL_TRY(atl_rd_u16le(&r, &op_len));
	if (op_len > ATL_SPDM_OPAQUE_MAX) { /* DSP0274 1.1: at most 1024 bytes */
		rc = ATL_E_LIMIT;
		goto out;
	}
	ATL_TRY(atl_rd_view(&r, op_len, &out->opaque));
	out->opaque_len = op_len;
	ATL_TRY(parse_opaque(out->opaque, out->opaque_len, out));
	out->signed_part = buf;
	out->signed_len = r.pos;
	ATL_TRY(atl_rd_view(&r, ATL_SPDM_SIG_LEN, &out->sig));
	out->trailing = atl_rd_left(&r);
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

const struct atl_spdm_opaque *atl_spdm_opaque_find(const struct atl_spdm_meas *m, uint16_t type)
{
	for (size_t i = 0; i < m->n_tlvs; i++) {
		if (m->tlvs[i].type == type)
			return &m->tlvs[i];
	}
	return NULL;
}
