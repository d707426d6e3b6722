/* TPM2_MakeCredential in software (TPM 2.0 Part 1 §24 "Credential
 * Protection", Part 3 §12.6), for the coordinator that has no TPM:
 *
 *   seed        random, |nameAlg| bytes
 *   secret      RSA-OAEP_EK(seed, label "IDENTITY\0")           (Part 1 §B.10.3)
 *   symKey      KDFa(nameAlg, seed, "STORAGE", AK name, -, 128)  (§24.4)
 *   encIdentity AES-128-CFB(symKey, IV 0, TPM2B(credential))
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

#define SEED_LEN 32 /* SHA-256 nameAlg */

/* KDFa with HMAC-SHA-256 (Part 1 §11.4.10.2); bits a multiple of 8. */
static enum atl_err kdfa(const uint8_t *key, size_t key_len, const char *label,
			 const uint8_t *ctx_u, size_t u_len, uint32_t bits, uint8_t *out)
{
	uint8_t buf[4 + 16 + ATL_TPM_NAME_MAX_LEN + 4], h[32];
	size_t want = bits / 8, got = 0, lab = strlen(label) + 1; /* label's NUL included */
	enum atl_err rc = ATL_E_INTERNAL;

	if (lab > 16 || u_len > ATL_TPM_NAME_MAX_LEN || bits % 8 != 0)
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
		ATL_TRY(atl_hmac(ATL_HASH_SHA256, key, key_len, buf, n, h));
		take = want - got < sizeof(h) ? want - got : sizeof(h);
		memcpy(out + got, h, take);
		got += take;
	}
	rc = ATL_OK;
out:
	atl_wipe(h, sizeof(h));
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
	static const uint8_t label[] = "IDENTITY"; /* with its NUL: 9 bytes */
	struct atl_tpm_public ek, ak;
	uint8_t seed[SEED_LEN], sym[16], hk[32], mac[32];
	uint8_t *ident = NULL, *macin = NULL;
	size_t ident_len = 2 + cred_len;
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
	if (ek.type != ATL_TPM_ALG_RSA || ek.name_alg != ATL_TPM_ALG_SHA256 ||
	    (ek.attrs & ek_need) != ek_need || ek.sym_alg != ATL_TPM_ALG_AES ||
	    ek.sym_bits != 128 || ek.sym_mode != ATL_TPM_ALG_CFB) {
		rc = ATL_E_UNSUPPORTED; /* only the TCG default RSA EK template */
		goto out;
	}
	if ((ak.attrs & ak_need) != ak_need || (ak.attrs & ATL_TPMA_DECRYPT)) {
		rc = ATL_E_POLICY; /* not an attestation key */
		goto out;
	}
	out->secret = malloc(512);
	out->blob = malloc(2 + sizeof(mac) + ident_len);
	ident = malloc(ident_len);
	macin = malloc(ident_len + ak.name_len);
	if (out->secret == NULL || out->blob == NULL || ident == NULL || macin == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_random(seed, sizeof(seed)));
	ATL_TRY(atl_rsa_oaep_encrypt(ek.key, ATL_HASH_SHA256, label, sizeof(label), seed,
				     sizeof(seed), out->secret, 512, &out->secret_len));
	ATL_TRY(kdfa(seed, sizeof(seed), "STORAGE", ak.name, ak.name_len, 128, sym));
	ident[0] = (uint8_t)(cred_len >> 8);
	ident[1] = (uint8_t)cred_len;
	memcpy(ident + 2, credential, cred_len);
	ATL_TRY(atl_aes_cfb(sym, sizeof(sym), iv, 1, ident, ident_len, ident));
	ATL_TRY(kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, 256, hk));
	memcpy(macin, ident, ident_len);
	memcpy(macin + ident_len, ak.name, ak.name_len);
	ATL_TRY(atl_hmac(ATL_HASH_SHA256, hk, sizeof(hk), macin, ident_len + ak.name_len, mac));
	out->blob[0] = 0;
	out->blob[1] = sizeof(mac);
	memcpy(out->blob + 2, mac, sizeof(mac));
	memcpy(out->blob + 2 + sizeof(mac), ident, ident_len);
	out->blob_len = 2 + sizeof(mac) + ident_len;
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
