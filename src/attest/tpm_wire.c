/* TPM 2.0 wire structures (TPM 2.0 Library Part 2): TPMS_ATTEST (quote),
 * TPMT_SIGNATURE, TPMT_PUBLIC, PCR digests and quote signatures.
 * Everything is big-endian and read with the bounded reader; sizes are checked
 * against the structure maxima of Part 2 and include/atoll/limits.h. */
#define ATL_LOG_MODULE "tpm"
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/tpm.h"

size_t atl_tpm_hash_len(uint16_t alg)
{
	switch (alg) {
	case ATL_TPM_ALG_SHA1:
		return 20;
	case ATL_TPM_ALG_SHA256:
		return 32;
	case ATL_TPM_ALG_SHA384:
		return 48;
	case ATL_TPM_ALG_SHA512:
		return 64;
	default:
		return 0;
	}
}

const char *atl_tpm_hash_name(uint16_t alg)
{
	switch (alg) {
	case ATL_TPM_ALG_SHA1:
		return "sha1";
	case ATL_TPM_ALG_SHA256:
		return "sha256";
	case ATL_TPM_ALG_SHA384:
		return "sha384";
	case ATL_TPM_ALG_SHA512:
		return "sha512";
	default:
		return NULL;
	}
}

uint16_t atl_tpm_hash_from_name(const char *name)
{
	static const uint16_t algs[] = {ATL_TPM_ALG_SHA1, ATL_TPM_ALG_SHA256, ATL_TPM_ALG_SHA384,
					ATL_TPM_ALG_SHA512};

	if (name == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcmp(name, atl_tpm_hash_name(algs[i])) == 0)
			return algs[i];
	}
	return 0;
}

/* Atoll hash for a TPM hash we can compute (SHA-1 is deliberately absent). */
static enum atl_err tpm_to_atl_hash(uint16_t alg, enum atl_hash *out)
{
	switch (alg) {
	case ATL_TPM_ALG_SHA256:
		*out = ATL_HASH_SHA256;
		return ATL_OK;
	case ATL_TPM_ALG_SHA384:
		*out = ATL_HASH_SHA384;
		return ATL_OK;
	case ATL_TPM_ALG_SHA512:
		*out = ATL_HASH_SHA512;
		return ATL_OK;
	default:
		return ATL_E_UNSUPPORTED;
	}
}

/* TPM2B: u16 size then size bytes, size <= max. */
static enum atl_err rd_tpm2b(struct atl_rd *r, size_t max, const uint8_t **v, size_t *n)
{
	uint16_t sz;
	enum atl_err rc;

	*v = NULL;
	*n = 0;
	if ((rc = atl_rd_u16be(r, &sz)) != ATL_OK)
		return rc;
	if (sz > max)
		return ATL_E_LIMIT;
	if ((rc = atl_rd_view(r, sz, v)) != ATL_OK)
		return rc;
	*n = sz;
	return ATL_OK;
}

/* TPML_PCR_SELECTION (Part 2 §10.9.7). */
static enum atl_err rd_pcr_selection(struct atl_rd *r, struct atl_tpm_pcrsel *sel, size_t *n_out)
{
	uint32_t count;
	enum atl_err rc = ATL_E_INTERNAL;

	*n_out = 0;
	ATL_TRY(atl_rd_u32be(r, &count));
	if (count > ATL_TPM_BANKS_MAX)
		return ATL_E_LIMIT;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t size, b;
		uint32_t mask = 0;

		ATL_TRY(atl_rd_u16be(r, &sel[i].hash));
		ATL_TRY(atl_rd_u8(r, &size));
		/* PCR_SELECT_MAX: 4 octets cover 32 PCRs; a PC Client TPM has 24. */
		if (size > 4)
			return ATL_E_LIMIT;
		for (uint8_t j = 0; j < size; j++) {
			ATL_TRY(atl_rd_u8(r, &b));
			mask |= (uint32_t)b << (8 * j);
		}
		if ((mask >> ATL_TPM_PCRS) != 0)
			return ATL_E_FORMAT; /* PCR index beyond the PC Client range */
		for (uint32_t k = 0; k < i; k++) {
			if (sel[k].hash == sel[i].hash)
				return ATL_E_FORMAT; /* one entry per bank */
		}
		sel[i].mask = mask;
	}
	*n_out = count;
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err atl_tpm_attest_parse(const uint8_t *buf, size_t len, struct atl_tpm_attest *out)
{
	struct atl_rd r;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len != 0)
		return ATL_E_ARG;
	if (len > ATL_TPM_ATTEST_MAX)
		return ATL_E_LIMIT;
	atl_rd_init(&r, buf, len);
	ATL_TRY(atl_rd_u32be(&r, &out->magic));
	ATL_TRY(atl_rd_u16be(&r, &out->type));
	/* TPM2B_NAME: at most sizeof(TPMU_NAME) = 2 + 64. */
	ATL_TRY(rd_tpm2b(&r, ATL_TPM_NAME_MAX_LEN, &out->signer, &out->signer_len));
	/* TPM2B_DATA: at most sizeof(TPMT_HA) = 2 + 64. */
	ATL_TRY(rd_tpm2b(&r, 66, &out->extra, &out->extra_len));
	/* TPMS_CLOCK_INFO (Part 2 §10.11.1) */
	ATL_TRY(atl_rd_u64be(&r, &out->clock));
	ATL_TRY(atl_rd_u32be(&r, &out->reset_count));
	ATL_TRY(atl_rd_u32be(&r, &out->restart_count));
	ATL_TRY(atl_rd_u8(&r, &out->safe));
	ATL_TRY(atl_rd_u64be(&r, &out->firmware));
	if (out->type != ATL_TPM_ST_ATTEST_QUOTE) {
		/* Another TPMU_ATTEST arm: nothing here reads it; the verifier
		 * refuses the type by name. Consume the rest. */
		ATL_TRY(atl_rd_skip(&r, atl_rd_left(&r)));
		rc = atl_rd_finish(&r);
		goto out;
	}
	/* TPMS_QUOTE_INFO (Part 2 §10.12.4) */
	ATL_TRY(rd_pcr_selection(&r, out->sel, &out->n_sel));
	ATL_TRY(rd_tpm2b(&r, 64, &out->pcr_digest, &out->pcr_digest_len));
	rc = atl_rd_finish(&r);
out:
	if (rc != ATL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

enum atl_err atl_tpm_sig_parse(const uint8_t *buf, size_t len, struct atl_tpm_sig *out)
{
	struct atl_rd r;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len != 0)
		return ATL_E_ARG;
	atl_rd_init(&r, buf, len);
	ATL_TRY(atl_rd_u16be(&r, &out->alg));
	switch (out->alg) {
	case ATL_TPM_ALG_RSASSA:
	case ATL_TPM_ALG_RSAPSS:
		/* TPMS_SIGNATURE_RSA: hash, TPM2B_PUBLIC_KEY_RSA (<= 512 bytes) */
		ATL_TRY(atl_rd_u16be(&r, &out->hash));
		ATL_TRY(rd_tpm2b(&r, 512, &out->rsa, &out->rsa_len));
		break;
	case ATL_TPM_ALG_ECDSA:
		/* TPMS_SIGNATURE_ECC: hash, TPM2B_ECC_PARAMETER r, s (<= 66 bytes) */
		ATL_TRY(atl_rd_u16be(&r, &out->hash));
		ATL_TRY(rd_tpm2b(&r, 66, &out->r, &out->r_len));
		ATL_TRY(rd_tpm2b(&r, 66, &out->s, &out->s_len));
		break;
	default:
		rc = ATL_E_UNSUPPORTED; /* TPM_ALG_NULL, HMAC, SM2, ECDAA, ECSCHNORR */
		goto out;
	}
	rc = atl_rd_finish(&r);
out:
	if (rc != ATL_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* TPMT_SYM_DEF_OBJECT (Part 2 §11.1.7) */
static enum atl_err rd_symdef(struct atl_rd *r, struct atl_tpm_public *p)
{
	enum atl_err rc = ATL_E_INTERNAL;

	ATL_TRY(atl_rd_u16be(r, &p->sym_alg));
	if (p->sym_alg == 0x000A) {
		/* TPM_ALG_XOR: keyBits is a hash, and there is no mode */
		ATL_TRY(atl_rd_u16be(r, &p->sym_bits));
	} else if (p->sym_alg != ATL_TPM_ALG_NULL) {
		ATL_TRY(atl_rd_u16be(r, &p->sym_bits));
		ATL_TRY(atl_rd_u16be(r, &p->sym_mode));
	}
	rc = ATL_OK;
out:
	return rc;
}

/* TPMT_RSA_SCHEME / TPMT_ECC_SCHEME (Part 2 §11.2.4.2, §11.2.5.6): every arm
 * but RSAES carries one hash; ECDAA adds a count. */
static enum atl_err rd_scheme(struct atl_rd *r, struct atl_tpm_public *p)
{
	enum atl_err rc = ATL_E_INTERNAL;
	uint16_t count;

	ATL_TRY(atl_rd_u16be(r, &p->scheme));
	/* TPM_ALG_RSAES (0x0015) has an empty TPMS_ENC_SCHEME_RSAES. */
	if (p->scheme != ATL_TPM_ALG_NULL && p->scheme != 0x0015) {
		ATL_TRY(atl_rd_u16be(r, &p->scheme_hash));
		if (p->scheme == 0x001A) /* TPM_ALG_ECDAA */
			ATL_TRY(atl_rd_u16be(r, &count));
	}
	rc = ATL_OK;
out:
	return rc;
}

enum atl_err atl_tpm_public_parse(const uint8_t *buf, size_t len, struct atl_tpm_public *out)
{
	struct atl_rd r;
	const uint8_t *v, *x, *y;
	size_t n, xn, yn;
	uint16_t u16;
	uint32_t exp;
	enum atl_hash h;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len != 0)
		return ATL_E_ARG;
	if (len > ATL_TPM_PUBLIC_MAX)
		return ATL_E_LIMIT;
	atl_rd_init(&r, buf, len);
	ATL_TRY(atl_rd_u16be(&r, &out->type));
	ATL_TRY(atl_rd_u16be(&r, &out->name_alg));
	ATL_TRY(atl_rd_u32be(&r, &out->attrs));
	ATL_TRY(rd_tpm2b(&r, 64, &v, &n)); /* authPolicy */
	ATL_TRY(rd_symdef(&r, out));
	ATL_TRY(rd_scheme(&r, out));
	if (out->type == ATL_TPM_ALG_RSA) {
		/* TPMS_RSA_PARMS then TPM2B_PUBLIC_KEY_RSA */
		ATL_TRY(atl_rd_u16be(&r, &out->rsa_bits));
		ATL_TRY(atl_rd_u32be(&r, &exp));
		ATL_TRY(rd_tpm2b(&r, 512, &v, &n));
		rc = atl_rd_finish(&r);
		if (rc != ATL_OK)
			goto out;
		if (n == 0 || n * 8 != out->rsa_bits) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		if (exp == 0)
			exp = 65537; /* Part 2 §12.2.3.5: 0 means 2^16 + 1 */
		{
			uint8_t e[4] = {(uint8_t)(exp >> 24), (uint8_t)(exp >> 16), (uint8_t)(exp >> 8),
					(uint8_t)exp};
			ATL_TRY(atl_pubkey_from_rsa(v, n, e, sizeof(e), &out->key));
		}
	} else if (out->type == ATL_TPM_ALG_ECC) {
		/* TPMS_ECC_PARMS: curveID, kdf; then TPMS_ECC_POINT */
		ATL_TRY(atl_rd_u16be(&r, &out->curve));
		ATL_TRY(atl_rd_u16be(&r, &u16)); /* kdf scheme */
		if (u16 != ATL_TPM_ALG_NULL)
			ATL_TRY(atl_rd_u16be(&r, &u16));
		ATL_TRY(rd_tpm2b(&r, 66, &x, &xn));
		ATL_TRY(rd_tpm2b(&r, 66, &y, &yn));
		rc = atl_rd_finish(&r);
		if (rc != ATL_OK)
			goto out;
		if (out->curve == ATL_TPM_ECC_NIST_P256 && xn == 32 && yn == 32)
			rc = atl_pubkey_from_ec_xy(256, x, y, 32, &out->key);
		else if (out->curve == ATL_TPM_ECC_NIST_P384 && xn == 48 && yn == 48)
			rc = atl_pubkey_from_ec_xy(384, x, y, 48, &out->key);
		else
			rc = ATL_E_UNSUPPORTED;
		if (rc != ATL_OK)
			goto out;
		memcpy(out->ecc_x, x, xn);
		out->ecc_x_len = xn;
	} else {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	/* Name = nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1 §16). */
	rc = tpm_to_atl_hash(out->name_alg, &h);
	if (rc != ATL_OK)
		goto out;
	out->name[0] = (uint8_t)(out->name_alg >> 8);
	out->name[1] = (uint8_t)out->name_alg;
	ATL_TRY(atl_hash(h, buf, len, out->name + 2));
	out->name_len = 2 + atl_hash_len(h);
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_tpm_public_clear(out);
	return rc;
}

void atl_tpm_public_clear(struct atl_tpm_public *p)
{
	if (p == NULL)
		return;
	atl_pubkey_free(p->key);
	memset(p, 0, sizeof(*p));
}

enum atl_err atl_tpm_pcr_digest(uint16_t alg, const struct atl_tpm_pcrsel *sel, size_t n_sel,
				const struct atl_tpm_pcrs *banks, size_t n_banks, uint8_t *out,
				size_t *out_len)
{
	struct atl_hash_ctx *ctx = NULL;
	enum atl_hash h;
	enum atl_err rc = ATL_E_INTERNAL;

	*out_len = 0;
	ATL_TRY(tpm_to_atl_hash(alg, &h));
	ATL_TRY(atl_hash_new(h, &ctx));
	for (size_t i = 0; i < n_sel; i++) {
		const struct atl_tpm_pcrs *b = NULL;
		size_t vlen = atl_tpm_hash_len(sel[i].hash);

		for (size_t k = 0; k < n_banks; k++) {
			if (banks[k].hash == sel[i].hash)
				b = &banks[k];
		}
		if (vlen == 0) {
			rc = ATL_E_UNSUPPORTED;
			goto out;
		}
		for (unsigned pcr = 0; pcr < ATL_TPM_PCRS; pcr++) {
			if (!(sel[i].mask & (1u << pcr)))
				continue;
			if (b == NULL || !(b->present & (1u << pcr))) {
				rc = ATL_E_NOTFOUND;
				goto out;
			}
			ATL_TRY(atl_hash_update(ctx, b->value[pcr], vlen));
		}
	}
	ATL_TRY(atl_hash_final(ctx, out));
	*out_len = atl_hash_len(h);
	rc = ATL_OK;
out:
	atl_hash_free(ctx);
	return rc;
}

/* Left-pads a TPM2B_ECC_PARAMETER to the coordinate size. */
static enum atl_err pad_coord(const uint8_t *v, size_t n, size_t clen, uint8_t *out)
{
	while (n > clen && n > 0 && v[0] == 0) {
		v++;
		n--;
	}
	if (n > clen || n == 0)
		return ATL_E_FORMAT;
	memset(out, 0, clen - n);
	memcpy(out + clen - n, v, n);
	return ATL_OK;
}

enum atl_err atl_tpm_sig_verify_key(const struct atl_pubkey *key, const struct atl_tpm_sig *sig,
				    const uint8_t *msg, size_t msg_len)
{
	enum atl_sig_alg alg;
	uint8_t rs[2 * 66];
	uint8_t *pt = NULL;
	size_t pt_len = 0, clen;
	enum atl_err rc = ATL_E_INTERNAL;

	bool s384 = sig->hash == ATL_TPM_ALG_SHA384;

	if (sig->hash != ATL_TPM_ALG_SHA256 && sig->hash != ATL_TPM_ALG_SHA384)
		return ATL_E_UNSUPPORTED; /* SHA-1 signatures are not accepted */
	switch (sig->alg) {
	case ATL_TPM_ALG_RSASSA:
		alg = s384 ? ATL_SIG_RSA_PKCS1_SHA384 : ATL_SIG_RSA_PKCS1_SHA256;
		return atl_sig_verify(key, alg, ATL_SIG_FMT_DER, msg, msg_len, sig->rsa,
				      sig->rsa_len);
	case ATL_TPM_ALG_RSAPSS:
		alg = s384 ? ATL_SIG_RSA_PSS_SHA384 : ATL_SIG_RSA_PSS_SHA256;
		return atl_sig_verify(key, alg, ATL_SIG_FMT_DER, msg, msg_len, sig->rsa,
				      sig->rsa_len);
	case ATL_TPM_ALG_ECDSA:
		/* The curve comes from the key: its point length gives the size. */
		ATL_TRY(atl_pubkey_ec_point(key, &pt, &pt_len));
		if (pt_len == 65) {
			clen = 32;
			alg = s384 ? ATL_SIG_ECDSA_P256_SHA384 : ATL_SIG_ECDSA_P256_SHA256;
		} else if (pt_len == 97) {
			clen = 48;
			alg = s384 ? ATL_SIG_ECDSA_P384_SHA384 : ATL_SIG_ECDSA_P384_SHA256;
		} else {
			rc = ATL_E_UNSUPPORTED;
			goto out;
		}
		ATL_TRY(pad_coord(sig->r, sig->r_len, clen, rs));
		ATL_TRY(pad_coord(sig->s, sig->s_len, clen, rs + clen));
		rc = atl_sig_verify(key, alg, ATL_SIG_FMT_RAW_RS, msg, msg_len, rs, 2 * clen);
		goto out;
	default:
		return ATL_E_UNSUPPORTED;
	}
out:
	free(pt);
	return rc;
}

enum atl_err atl_tpm_sig_verify(const struct atl_tpm_public *ak, const struct atl_tpm_sig *sig,
				const uint8_t *msg, size_t msg_len)
{
	if (ak == NULL || ak->key == NULL)
		return ATL_E_ARG;
	/* A restricted signing key signs only with its own scheme (Part 1 §25.2). */
	if (ak->scheme != ATL_TPM_ALG_NULL &&
	    (ak->scheme != sig->alg || ak->scheme_hash != sig->hash))
		return ATL_E_AUTH;
	if ((ak->type == ATL_TPM_ALG_RSA) != (sig->alg != ATL_TPM_ALG_ECDSA))
		return ATL_E_AUTH;
	return atl_tpm_sig_verify_key(ak->key, sig, msg, msg_len);
}
