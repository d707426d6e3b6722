/* Sealing a small secret (the key broker's master key) to a TPM (tpm.h
 * "sealing"; docs/internals/kbs.md "Master key on a TPM").
 *
 * Seal: CreatePrimary in the owner hierarchy from the standard ECC P-256
 * storage key template (TCG TPM 2.0 Provisioning Guidance, "SRK": restricted
 * decrypt, AES-128-CFB, userWithAuth, noDA, unique zero), then TPM2_Create
 * of a keyedHash data object under it whose sensitive data is the secret:
 * fixedTPM | fixedParent | userWithAuth | noDA, empty authValue, no policy
 * (no PCR binding). Whoever can talk to that TPM's owner hierarchy (empty
 * owner auth) and holds the blob can unseal: the seal protects the secret
 * from a copy of the state directory, not from root on the broker host.
 * The commands run in an HMAC session salted to the SRK with AES-128-CFB
 * parameter encryption, so the secret never crosses the TPM link in the clear.
 * Unseal: the same primary again (derived from the owner seed: the same key),
 * Load, Unseal into secret memory; every transient object is flushed.
 *
 * The blob (master.tpm) is a small container read with the bounded reader:
 *   "ATLTPMS1" (8 bytes)
 *   u16be n, URI (0..ATL_TPM_SEAL_URI_MAX printable ASCII: the TPM it was made on)
 *   u16be n, TPMT_PUBLIC bytes of the sealed object (1..ATL_TPM_PUBLIC_MAX)
 *   u16be n, TPM2B_PRIVATE contents (1..ATL_TPM_SEAL_PRIV_MAX)
 *   nothing after.
 * The parser is built without tpm2-tss (fuzz/kbs_master_tpm_fuzz.c); the
 * TPM entry points answer ATL_E_UNSUPPORTED without it. */
#define ATL_LOG_MODULE "tpm"
#include <stdlib.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"

static const uint8_t seal_magic[8] = {'A', 'T', 'L', 'T', 'P', 'M', 'S', '1'};

/* Reads one u16be-length-prefixed field of min..max bytes. */
static enum atl_err rd_field(struct atl_rd *r, size_t min, size_t max, const uint8_t **v,
			     size_t *n_out)
{
	uint16_t n;
	enum atl_err e = atl_rd_u16be(r, &n);

	if (e != ATL_OK)
		return e;
	if (n < min)
		return ATL_E_FORMAT;
	if (n > max)
		return ATL_E_LIMIT;
	*n_out = n;
	return atl_rd_view(r, n, v);
}

static enum atl_err sealed_parse(const uint8_t *buf, size_t len, struct atl_tpm_sealed *out)
{
	struct atl_rd r;
	uint8_t magic[sizeof(seal_magic)];
	const uint8_t *uri = NULL;
	size_t n = 0;
	enum atl_err e;

	if (len > ATL_TPM_SEAL_FILE_MAX)
		return ATL_E_LIMIT;
	atl_rd_init(&r, buf, len);
	if ((e = atl_rd_bytes(&r, magic, sizeof(magic))) != ATL_OK)
		return e;
	if (memcmp(magic, seal_magic, sizeof(magic)) != 0)
		return ATL_E_FORMAT;
	if ((e = rd_field(&r, 0, ATL_TPM_SEAL_URI_MAX, &uri, &n)) != ATL_OK)
		return e;
	for (size_t i = 0; i < n; i++)
		if (uri[i] < 0x21 || uri[i] > 0x7e)
			return ATL_E_FORMAT;
	if (n > 0)
		memcpy(out->uri, uri, n);
	out->uri[n] = '\0';
	if ((e = rd_field(&r, 1, ATL_TPM_PUBLIC_MAX, &out->pub, &out->pub_len)) != ATL_OK)
		return e;
	if ((e = rd_field(&r, 1, ATL_TPM_SEAL_PRIV_MAX, &out->priv, &out->priv_len)) != ATL_OK)
		return e;
	return atl_rd_finish(&r);
}

enum atl_err atl_tpm_sealed_parse(const uint8_t *buf, size_t len, struct atl_tpm_sealed *out)
{
	enum atl_err e;

	if (out == NULL || (buf == NULL && len != 0))
		return ATL_E_ARG;
	memset(out, 0, sizeof(*out));
	e = sealed_parse(buf, len, out);
	if (e != ATL_OK)
		memset(out, 0, sizeof(*out));
	return e;
}

/* The container above; *out malloc'd. */
static enum atl_err sealed_build(const char *uri, const uint8_t *pub, size_t pub_len,
				 const uint8_t *priv, size_t priv_len, uint8_t **out,
				 size_t *out_len)
{
	struct atl_wr w;
	size_t ulen = strlen(uri);

	if (ulen > ATL_TPM_SEAL_URI_MAX || pub_len == 0 || pub_len > ATL_TPM_PUBLIC_MAX ||
	    priv_len == 0 || priv_len > ATL_TPM_SEAL_PRIV_MAX)
		return ATL_E_LIMIT;
	atl_wr_init(&w, ATL_TPM_SEAL_FILE_MAX, false);
	if (atl_wr_bytes(&w, seal_magic, sizeof(seal_magic)) != ATL_OK ||
	    atl_wr_u16be(&w, (uint16_t)ulen) != ATL_OK || atl_wr_bytes(&w, uri, ulen) != ATL_OK ||
	    atl_wr_u16be(&w, (uint16_t)pub_len) != ATL_OK ||
	    atl_wr_bytes(&w, pub, pub_len) != ATL_OK ||
	    atl_wr_u16be(&w, (uint16_t)priv_len) != ATL_OK ||
	    atl_wr_bytes(&w, priv, priv_len) != ATL_OK) {
		atl_wr_free(&w);
		return ATL_E_LIMIT;
	}
	return atl_wr_take(&w, out, out_len);
}

static bool uri_ok(const char *uri)
{
	size_t n;

	if (uri == NULL)
		return false;
	n = strlen(uri);
	if (n == 0 || n > ATL_TPM_SEAL_URI_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)uri[i] < 0x21 || (unsigned char)uri[i] > 0x7e)
			return false;
	return true;
}

#ifdef ATL_HAVE_TSS2

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

struct seal_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR srk, obj, sess;
};

static enum atl_err seal_fail(const char *what, TSS2_RC r)
{
	atl_warn("%s: %s", what, Tss2_RC_Decode(r));
	return ATL_E_IO;
}

static void seal_close(struct seal_tpm *t)
{
	if (t->ctx != NULL) {
		if (t->sess != ESYS_TR_NONE)
			(void)Esys_FlushContext(t->ctx, t->sess);
		if (t->obj != ESYS_TR_NONE)
			(void)Esys_FlushContext(t->ctx, t->obj);
		if (t->srk != ESYS_TR_NONE)
			(void)Esys_FlushContext(t->ctx, t->srk);
		Esys_Finalize(&t->ctx);
	}
	if (t->tcti != NULL)
		Tss2_TctiLdr_Finalize(&t->tcti);
	memset(t, 0, sizeof(*t));
}

/* Connects, starts the TPM if needed, creates the SRK and a salted
 * parameter-encryption session to it. */
static enum atl_err seal_open(const char *uri, struct seal_tpm *t)
{
	TPM2B_PUBLIC tmpl;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = {.size = 0};
	TPML_PCR_SELECTION none = {.count = 0};
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES,
			    .keyBits = {.aes = 128},
			    .mode = {.aes = TPM2_ALG_CFB}};
	TSS2_RC r;

	memset(t, 0, sizeof(*t));
	t->srk = t->obj = t->sess = ESYS_TR_NONE;
	r = Tss2_TctiLdr_Initialize(uri, &t->tcti);
	if (r != TSS2_RC_SUCCESS)
		return seal_fail("TCTI", r);
	r = Esys_Initialize(&t->ctx, t->tcti, NULL);
	if (r != TSS2_RC_SUCCESS)
		return seal_fail("Esys_Initialize", r);
	r = Esys_Startup(t->ctx, TPM2_SU_CLEAR);
	if (r != TSS2_RC_SUCCESS && r != TPM2_RC_INITIALIZE)
		return seal_fail("Esys_Startup", r);

	memset(&sens, 0, sizeof(sens));
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.publicArea.type = TPM2_ALG_ECC;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes =
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
		TPMA_OBJECT_DECRYPT;
	tmpl.publicArea.parameters.eccDetail.symmetric = (TPMT_SYM_DEF_OBJECT){
		.algorithm = TPM2_ALG_AES, .keyBits = {.aes = 128}, .mode = {.aes = TPM2_ALG_CFB}};
	tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.unique.ecc.x.size = 32;
	tmpl.publicArea.unique.ecc.y.size = 32;
	r = Esys_CreatePrimary(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &t->srk, NULL, NULL,
			       NULL, NULL);
	if (r != TSS2_RC_SUCCESS)
		return seal_fail("create the storage primary key", r);
	r = Esys_StartAuthSession(t->ctx, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
				  &t->sess);
	if (r != TSS2_RC_SUCCESS)
		return seal_fail("start a salted session", r);
	r = Esys_TRSess_SetAttributes(t->ctx, t->sess,
				      TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT |
					      TPMA_SESSION_CONTINUESESSION,
				      0xff);
	if (r != TSS2_RC_SUCCESS)
		return seal_fail("session attributes", r);
	return ATL_OK;
}

enum atl_err atl_tpm_seal(const char *uri, const uint8_t *secret, size_t len, uint8_t **blob_out,
			  size_t *blob_len_out)
{
	struct seal_tpm t;
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = {.size = 0};
	TPML_PCR_SELECTION none = {.count = 0};
	uint8_t pbuf[ATL_TPM_PUBLIC_MAX];
	size_t poff = 0;
	enum atl_err rc;
	TSS2_RC r;

	if (blob_out == NULL || blob_len_out == NULL)
		return ATL_E_ARG;
	*blob_out = NULL;
	*blob_len_out = 0;
	if (!uri_ok(uri) || secret == NULL || len == 0 || len > ATL_TPM_SEAL_SECRET_MAX)
		return ATL_E_ARG;
	rc = seal_open(uri, &t);
	if (rc != ATL_OK)
		goto out;
	memset(&sens, 0, sizeof(sens));
	sens.sensitive.data.size = (UINT16)len;
	memcpy(sens.sensitive.data.buffer, secret, len);
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					   TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	r = Esys_Create(t.ctx, t.srk, t.sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
			&none, &priv, &pub, NULL, NULL, NULL);
	atl_wipe(&sens, sizeof(sens));
	if (r != TSS2_RC_SUCCESS) {
		rc = seal_fail("create the sealed object", r);
		goto out;
	}
	r = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, pbuf, sizeof(pbuf), &poff);
	if (r != TSS2_RC_SUCCESS) {
		rc = seal_fail("marshal TPMT_PUBLIC", r);
		goto out;
	}
	rc = sealed_build(uri, pbuf, poff, priv->buffer, priv->size, blob_out, blob_len_out);
out:
	Esys_Free(pub);
	Esys_Free(priv);
	seal_close(&t);
	return rc;
}

enum atl_err atl_tpm_unseal(const char *uri, const uint8_t *blob, size_t blob_len, uint8_t *out,
			    size_t cap, size_t *len_out)
{
	struct atl_tpm_sealed s;
	struct seal_tpm t;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *data = NULL;
	size_t off = 0;
	enum atl_err rc;
	TSS2_RC r;

	if (out == NULL || len_out == NULL)
		return ATL_E_ARG;
	*len_out = 0;
	rc = atl_tpm_sealed_parse(blob, blob_len, &s);
	if (rc != ATL_OK)
		return rc;
	if (uri == NULL || *uri == '\0')
		uri = s.uri;
	if (!uri_ok(uri))
		return ATL_E_ARG;
	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	r = Tss2_MU_TPMT_PUBLIC_Unmarshal(s.pub, s.pub_len, &off, &pub.publicArea);
	if (r != TSS2_RC_SUCCESS || off != s.pub_len ||
	    pub.publicArea.type != TPM2_ALG_KEYEDHASH || s.priv_len > sizeof(priv.buffer))
		return ATL_E_FORMAT;
	priv.size = (UINT16)s.priv_len;
	memcpy(priv.buffer, s.priv, s.priv_len);

	rc = seal_open(uri, &t);
	if (rc != ATL_OK)
		goto out;
	r = Esys_Load(t.ctx, t.srk, t.sess, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &t.obj);
	if (r != TSS2_RC_SUCCESS) {
		/* A TPM response code: the blob was not made by this TPM's owner
		 * seed (another TPM, a cleared one) or was altered. */
		atl_warn("the sealed master key does not load on this TPM: %s",
			 Tss2_RC_Decode(r));
		rc = (r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER ? ATL_E_AUTH : ATL_E_IO;
		goto out;
	}
	r = Esys_Unseal(t.ctx, t.obj, t.sess, ESYS_TR_NONE, ESYS_TR_NONE, &data);
	if (r != TSS2_RC_SUCCESS) {
		rc = seal_fail("unseal", r);
		goto out;
	}
	if (data->size == 0 || data->size > cap) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	memcpy(out, data->buffer, data->size);
	*len_out = data->size;
	rc = ATL_OK;
out:
	if (data != NULL) {
		atl_wipe(data, sizeof(*data));
		Esys_Free(data);
	}
	atl_wipe(&priv, sizeof(priv));
	seal_close(&t);
	return rc;
}

#else /* !ATL_HAVE_TSS2 */

enum atl_err atl_tpm_seal(const char *uri, const uint8_t *secret, size_t len, uint8_t **blob_out,
			  size_t *blob_len_out)
{
	(void)sealed_build;
	if (blob_out != NULL)
		*blob_out = NULL;
	if (blob_len_out != NULL)
		*blob_len_out = 0;
	if (!uri_ok(uri) || secret == NULL || len == 0 || len > ATL_TPM_SEAL_SECRET_MAX)
		return ATL_E_ARG;
	return ATL_E_UNSUPPORTED;
}

enum atl_err atl_tpm_unseal(const char *uri, const uint8_t *blob, size_t blob_len, uint8_t *out,
			    size_t cap, size_t *len_out)
{
	struct atl_tpm_sealed s;
	enum atl_err e;

	(void)uri;
	(void)out;
	(void)cap;
	if (len_out != NULL)
		*len_out = 0;
	e = atl_tpm_sealed_parse(blob, blob_len, &s);
	return e != ATL_OK ? e : ATL_E_UNSUPPORTED;
}

#endif
