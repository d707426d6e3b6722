/* TPM2_MakeCredential in software (TPM 2.0 Part 1 §24 "Credential
 * Protection", Part 3 §12.6), for the coordinator that has no TPM:
 *
 *   seed        random, |nameAlg| bytes
 *   secret      RSA EK: RSA-OAEP_EK(seed, label "IDENTITY\0")   (Part 1 §B.10.3)
 *               ECC EK: ephemeral point Qe (TPMS_ECC_POINT), seed =
 *               KDFe(nameAlg, ECDH(e, EK).x, "IDENTITY", Qe.x, EK.x) (§C.6.4)
 *   symKey      KDFa(nameAlg, seed, "STORAGE", AK name, -, EK sym bits) (§24.4)
 *   encIdentity AES-128/256-CFB(symKey, IV 0, TPM2B(credential))
 *   hmacKey     KDFa(nameAlg, seed, "INTEGRITY", -, -, |nameAlg|*8) (§24.5)
 *   outerHMAC   HMAC(hmacKey, encIdentity || AK name)
 *   blob        TPM2B(outerHMAC) || encIdentity
 *
 * Only a TPM holding the EK's private key can recover the seed, and it
 * releases the credential only for an object whose name is the AK name. */
#define ATL_LOG_MODULE "tpm"
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"
#include "atoll/tpmcrypto.h"

#define ATL_EC_COORD_MAX 66 /* P-521 */

/* KDFa with HMAC-<h> (Part 1 §11.4.10.2); bits a multiple of 8. */
static enum atl_err kdfa(enum atl_hash hash, const uint8_t *key, size_t key_len, const char *label,
			 const uint8_t *ctx_u, size_t u_len, uint32_t bits, uint8_t *out)
{
	uint8_t buf[4 + 16 + ATL_TPM_NAME_MAX_LEN + 4], h[ATL_SHA512_LEN];
	size_t want = bits / 8, got = 0, lab = strlen(label) + 1; /* label's NUL included */
	size_t hl = atl_hash_len(hash);
	enum atl_err rc = ATL_E_INTERNAL;

	if (lab > 16 || u_len > ATL_TPM_NAME_MAX_LEN || bits % 8 != 0 || hl == 0)
		return ATL_E_ARG;
	for (uint32_t i = 1; got < want; i++) {
		size_t n = 0, take;

		buf[n++] = (uint8_t)(i >> 24);
		buf[n++] = (uint8_t)(i >> 16);
		buf[n++] = (uint8_t)(i >> 8);
		buf[n++] = (uint8_t)i;
		memcpy(buf + n, label, lab);
		n += lab;
		if (u_len > 0)
			memcpy(buf + n, ctx_u, u_len);
		n += u_len;
		buf[n++] = (uint8_t)(bits >> 24);
		buf[n++] = (uint8_t)(bits >> 16);
		buf[n++] = (uint8_t)(bits >> 8);
		buf[n++] = (uint8_t)bits;
		ATL_TRY(atl_hmac(hash, key, key_len, buf, n, h));
		take = want - got < hl ? want - got : hl;
		memcpy(out + got, h, take);
		got += take;
	}
	rc = ATL_OK;
out:
	atl_wipe(h, sizeof(h));
	return rc;
}

/* KDFe (Part 1 §11.4.10.3): H(counter || Z || label\0 || U || V)...; ECC EK seed. */
static enum atl_err kdfe(enum atl_hash hash, const uint8_t *z, size_t z_len, const char *label,
			 const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len,
			 uint32_t bits, uint8_t *out)
{
	uint8_t h[ATL_SHA512_LEN], ctr[4];
	size_t want = bits / 8, got = 0, hl = atl_hash_len(hash);
	struct atl_hash_ctx *c = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (bits % 8 != 0 || hl == 0)
		return ATL_E_ARG;
	for (uint32_t i = 1; got < want; i++) {
		size_t take;

		ctr[0] = (uint8_t)(i >> 24);
		ctr[1] = (uint8_t)(i >> 16);
		ctr[2] = (uint8_t)(i >> 8);
		ctr[3] = (uint8_t)i;
		ATL_TRY(atl_hash_new(hash, &c));
		ATL_TRY(atl_hash_update(c, ctr, sizeof(ctr)));
		ATL_TRY(atl_hash_update(c, z, z_len));
		ATL_TRY(atl_hash_update(c, label, strlen(label) + 1));
		ATL_TRY(atl_hash_update(c, u, u_len));
		ATL_TRY(atl_hash_update(c, v, v_len));
		ATL_TRY(atl_hash_final(c, h));
		atl_hash_free(c);
		c = NULL;
		take = want - got < hl ? want - got : hl;
		memcpy(out + got, h, take);
		got += take;
	}
	rc = ATL_OK;
out:
	atl_hash_free(c);
	atl_wipe(h, sizeof(h));
	return rc;
}

/* The EK's secret sharing (Part 1 §B.10.4 RSA, §C.6.4 ECC): a fresh seed of
 * |nameAlg| bytes and its encryption to the EK in out->secret. */
static enum atl_err ek_seed(const struct atl_tpm_public *ek, enum atl_hash hash, uint8_t *seed,
			    size_t seed_len, struct atl_tpm_challenge *out)
{
	static const uint8_t label[] = "IDENTITY"; /* with its NUL: 9 bytes */
	uint8_t z[ATL_EC_COORD_MAX], ex[ATL_EC_COORD_MAX], ey[ATL_EC_COORD_MAX];
	size_t n = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	if (ek->type == ATL_TPM_ALG_RSA) {
		ATL_TRY(atl_random(seed, seed_len));
		ATL_TRY(atl_rsa_oaep_encrypt(ek->key, hash, label, sizeof(label), seed, seed_len,
					     out->secret, 512, &out->secret_len));
		return ATL_OK;
	}
	ATL_TRY(atl_ecdh_ephemeral(ek->key, z, ex, ey, sizeof(z), &n));
	if (ek->ecc_x_len != n) {
		rc = ATL_E_FORMAT;
		goto out;
	}
	ATL_TRY(kdfe(hash, z, n, "IDENTITY", ex, n, ek->ecc_x, ek->ecc_x_len,
		     (uint32_t)seed_len * 8, seed));
	/* TPMS_ECC_POINT: TPM2B x || TPM2B y */
	out->secret[0] = (uint8_t)(n >> 8);
	out->secret[1] = (uint8_t)n;
	memcpy(out->secret + 2, ex, n);
	out->secret[2 + n] = (uint8_t)(n >> 8);
	out->secret[3 + n] = (uint8_t)n;
	memcpy(out->secret + 4 + n, ey, n);
	out->secret_len = 4 + 2 * n;
	rc = ATL_OK;
out:
	atl_wipe(z, sizeof(z));
	return rc;
}

void atl_tpm_challenge_clear(struct atl_tpm_challenge *c)
{
	if (c == NULL)
		return;
	free(c->blob);
	free(c->secret);
	memset(c, 0, sizeof(*c));
}

enum atl_err atl_tpm_make_credential(const uint8_t *ek_pub, size_t ek_len, const uint8_t *ak_pub,
				     size_t ak_len, const uint8_t *credential, size_t cred_len,
				     struct atl_tpm_challenge *out)
{
	static const uint8_t iv[16] = {0};
	struct atl_tpm_public ek, ak;
	uint8_t seed[ATL_SHA512_LEN], sym[32], hk[ATL_SHA512_LEN], mac[ATL_SHA512_LEN];
	uint8_t *ident = NULL, *macin = NULL;
	size_t ident_len = 2 + cred_len, hl;
	enum atl_hash hash;
	const uint32_t ak_need = ATL_TPMA_SIGN | ATL_TPMA_RESTRICTED | ATL_TPMA_FIXEDTPM;
	const uint32_t ek_need = ATL_TPMA_DECRYPT | ATL_TPMA_RESTRICTED | ATL_TPMA_FIXEDTPM;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(out, 0, sizeof(*out));
	memset(&ek, 0, sizeof(ek));
	memset(&ak, 0, sizeof(ak));
	if (ek_pub == NULL || ak_pub == NULL || credential == NULL || cred_len == 0 ||
	    cred_len > 32)
		return ATL_E_ARG;
	ATL_TRY(atl_tpm_public_parse(ek_pub, ek_len, &ek));
	ATL_TRY(atl_tpm_public_parse(ak_pub, ak_len, &ak));
	/* TCG EK templates: RSA 2048 / ECC, nameAlg SHA-256 or SHA-384, a
	 * restricted decryption key with AES-128/256-CFB */
	hash = ek.name_alg == ATL_TPM_ALG_SHA256   ? ATL_HASH_SHA256
	       : ek.name_alg == ATL_TPM_ALG_SHA384 ? ATL_HASH_SHA384
						   : (enum atl_hash)-1;
	if ((ek.type != ATL_TPM_ALG_RSA && ek.type != ATL_TPM_ALG_ECC) ||
	    (int)hash == -1 || (ek.attrs & ek_need) != ek_need || ek.sym_alg != ATL_TPM_ALG_AES ||
	    (ek.sym_bits != 128 && ek.sym_bits != 256) || ek.sym_mode != ATL_TPM_ALG_CFB) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	hl = atl_hash_len(hash);
	if ((ak.attrs & ak_need) != ak_need || (ak.attrs & ATL_TPMA_DECRYPT)) {
		rc = ATL_E_POLICY; /* not an attestation key */
		goto out;
	}
	out->secret = malloc(512);
	out->blob = malloc(2 + hl + ident_len);
	ident = malloc(ident_len);
	macin = malloc(ident_len + ak.name_len);
	if (out->secret == NULL || out->blob == NULL || ident == NULL || macin == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(ek_seed(&ek, hash, seed, hl, out));
	ATL_TRY(kdfa(hash, seed, hl, "STORAGE", ak.name, ak.name_len, ek.sym_bits, sym));
	ident[0] = (uint8_t)(cred_len >> 8);
	ident[1] = (uint8_t)cred_len;
	memcpy(ident + 2, credential, cred_len);
	ATL_TRY(atl_aes_cfb(sym, ek.sym_bits / 8, iv, 1, ident, ident_len, ident));
	ATL_TRY(kdfa(hash, seed, hl, "INTEGRITY", NULL, 0, (uint32_t)hl * 8, hk));
	memcpy(macin, ident, ident_len);
	memcpy(macin + ident_len, ak.name, ak.name_len);
	ATL_TRY(atl_hmac(hash, hk, hl, macin, ident_len + ak.name_len, mac));
	out->blob[0] = (uint8_t)(hl >> 8);
	out->blob[1] = (uint8_t)hl;
	memcpy(out->blob + 2, mac, hl);
	memcpy(out->blob + 2 + hl, ident, ident_len);
	out->blob_len = 2 + hl + ident_len;
	rc = ATL_OK;
out:
	atl_wipe(seed, sizeof(seed));
	atl_wipe(sym, sizeof(sym));
	atl_wipe(hk, sizeof(hk));
	free(ident);
	free(macin);
	atl_tpm_public_clear(&ek);
	atl_tpm_public_clear(&ak);
	if (rc != ATL_OK)
		atl_tpm_challenge_clear(out);
	return rc;
}
