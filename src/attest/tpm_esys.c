/* Evidence generation on a real TPM (or swtpm) through tpm2-tss ESAPI.
 *
 * Keys:
 *   EK  the RSA-2048 endorsement key: persistent handle 0x81010001 when the
 *       TPM has one (swtpm_setup --createek), else created as a primary from
 *       the TCG default template L-1 (EK Credential Profile §B.3.3). Its
 *       certificate is read from NV index 0x01c00002.
 * The measurement extend is idempotent: a PCR that already holds exactly the
 * measurement (H(0 || event)) is left alone, so every evidence call after
 * the first quotes the same value.
 *   AK  an ECDSA P-256 restricted signing primary key in the endorsement
 *       hierarchy. A primary key is derived from the hierarchy seed and the
 *       template, so every call recreates the same AK: nothing to persist,
 *       and the AK the coordinator activated is the AK that quotes.
 * Built only when tpm2-tss was found (ATL_HAVE_TSS2); otherwise every entry
 * point answers ATL_E_UNSUPPORTED. */
#define ATL_LOG_MODULE "tpm"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"

#ifdef ATL_HAVE_TSS2

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define EK_HANDLE 0x81010001u
#define EK_CERT_NV 0x01c00002u
#define NV_CHUNK 512u

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR ek, ak;
	bool ek_transient;
	bool ek_user_auth; /* EK userWithAuth (TCG high-range templates): no policy */
	uint32_t ek_nv;    /* NV index of its certificate */
	bool shared; /* ctx/tcti belong to the process session: not finalized */
};

/* The process-wide session (atl_tpm_session_open): one connection opened
 * before the enclave's sandbox, reused by every call with the same "tpm". */
static struct {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	bool own_tcti; /* the socket TCTI below, not one from the TCTI loader */
	char conf[257];
} g_sess;

/* ---- a TCTI on one long-lived swtpm socket ----
 * tpm2-tss's swtpm TCTI connects a new socket for every command (and the
 * control socket for locality changes), which the enclave's sandbox forbids.
 * swtpm serves any number of commands on one connection, so the session
 * speaks the same raw TPM 2.0 framing (command / response with the size in
 * the 10-byte header) over a socket connected once, before the sandbox. */
struct sock_tcti {
	TSS2_TCTI_CONTEXT_COMMON_V2 common;
	int fd;
	bool have_hdr;    /* response header read, body pending */
	uint8_t hdr[10];
	uint32_t rsp_size;
};

#define SOCK_TCTI_MAGIC 0x61746f6c6c746374ull /* "atollbct" */

static bool io_all(int fd, uint8_t *p, size_t n, bool wr, int32_t timeout)
{
	while (n > 0) {
		struct pollfd pf = {.fd = fd, .events = wr ? POLLOUT : POLLIN};
		ssize_t k;

		if (poll(&pf, 1, timeout < 0 ? -1 : timeout) <= 0)
			return false;
		k = wr ? write(fd, p, n) : read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static TSS2_RC sock_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	struct sock_tcti *t = (struct sock_tcti *)c;

	if (t == NULL || cmd == NULL || size < 10)
		return TSS2_TCTI_RC_BAD_VALUE;
	t->have_hdr = false;
	return io_all(t->fd, (uint8_t *)(uintptr_t)cmd, size, true, -1) ? TSS2_RC_SUCCESS
									  : TSS2_TCTI_RC_IO_ERROR;
}

static TSS2_RC sock_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *rsp, int32_t timeout)
{
	struct sock_tcti *t = (struct sock_tcti *)c;

	if (t == NULL || size == NULL)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	if (!t->have_hdr) {
		if (!io_all(t->fd, t->hdr, sizeof(t->hdr), false, timeout))
			return TSS2_TCTI_RC_IO_ERROR;
		t->rsp_size = (uint32_t)t->hdr[2] << 24 | (uint32_t)t->hdr[3] << 16 |
			      (uint32_t)t->hdr[4] << 8 | t->hdr[5];
		if (t->rsp_size < sizeof(t->hdr) || t->rsp_size > TPM2_MAX_COMMAND_SIZE)
			return TSS2_TCTI_RC_MALFORMED_RESPONSE;
		t->have_hdr = true;
	}
	if (rsp == NULL || *size < t->rsp_size) {
		*size = t->rsp_size;
		return rsp == NULL ? TSS2_RC_SUCCESS : TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	}
	memcpy(rsp, t->hdr, sizeof(t->hdr));
	if (!io_all(t->fd, rsp + sizeof(t->hdr), t->rsp_size - sizeof(t->hdr), false, timeout))
		return TSS2_TCTI_RC_IO_ERROR;
	*size = t->rsp_size;
	t->have_hdr = false;
	return TSS2_RC_SUCCESS;
}

static void sock_finalize(TSS2_TCTI_CONTEXT *c)
{
	struct sock_tcti *t = (struct sock_tcti *)c;

	if (t != NULL && t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
}

/* "swtpm:host=H,port=P" (either may be left out: localhost, 2321). */
static enum atl_err sock_tcti_open(const char *conf, TSS2_TCTI_CONTEXT **out)
{
	char host[128] = "localhost", port[8] = "2321";
	const char *p = conf + strlen("swtpm");
	struct addrinfo hints, *res = NULL, *ai;
	struct sock_tcti *t;
	int fd = -1;

	if (*p == ':')
		p++;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		if (n > 5 && strncmp(p, "host=", 5) == 0 && n - 5 < sizeof(host))
			(void)snprintf(host, sizeof(host), "%.*s", (int)(n - 5), p + 5);
		else if (n > 5 && strncmp(p, "port=", 5) == 0 && n - 5 < sizeof(port))
			(void)snprintf(port, sizeof(port), "%.*s", (int)(n - 5), p + 5);
		else
			return ATL_E_ARG;
		p += n;
		if (*p == ',')
			p++;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return ATL_E_IO;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ATL_E_IO;
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		close(fd);
		return ATL_E_NOMEM;
	}
	t->common.v1.magic = SOCK_TCTI_MAGIC;
	t->common.v1.version = 2;
	t->common.v1.transmit = sock_transmit;
	t->common.v1.receive = sock_receive;
	t->common.v1.finalize = sock_finalize;
	t->fd = fd;
	*out = (TSS2_TCTI_CONTEXT *)t;
	return ATL_OK;
}

static enum atl_err tss_fail(const char *what, TSS2_RC r)
{
	atl_warn("%s: %s", what, Tss2_RC_Decode(r));
	return ATL_E_IO;
}

static void tpm_close(struct tpm *t)
{
	if (t->ctx != NULL) {
		if (t->ak != ESYS_TR_NONE)
			(void)Esys_FlushContext(t->ctx, t->ak);
		if (t->ek != ESYS_TR_NONE && t->ek_transient)
			(void)Esys_FlushContext(t->ctx, t->ek);
		else if (t->ek != ESYS_TR_NONE)
			(void)Esys_TR_Close(t->ctx, &t->ek); /* persistent: forget the handle */
		if (!t->shared)
			Esys_Finalize(&t->ctx);
	}
	if (t->tcti != NULL && !t->shared)
		Tss2_TctiLdr_Finalize(&t->tcti);
	memset(t, 0, sizeof(*t));
}

/* cfg "tpm": "swtpm:host=..,port=..", "device:/dev/tpmrm0", "mssim:...". */
static enum atl_err tpm_open(const json_t *cfg, struct tpm *t)
{
	const char *conf = NULL;
	TSS2_RC r;

	memset(t, 0, sizeof(*t));
	t->ek = t->ak = ESYS_TR_NONE;
	if (atl_json_get_str(cfg, "tpm", &conf) != ATL_OK || conf[0] == '\0' ||
	    strlen(conf) > 256)
		return ATL_E_ARG;
	if (g_sess.ctx != NULL) {
		/* Inside the sandbox no new connection can be made: the session
		 * serves only the TPM it was opened for. */
		if (strcmp(conf, g_sess.conf) != 0)
			return ATL_E_ARG;
		t->ctx = g_sess.ctx;
		t->tcti = g_sess.tcti;
		t->shared = true;
		return ATL_OK;
	}
	r = Tss2_TctiLdr_Initialize(conf, &t->tcti);
	if (r != TSS2_RC_SUCCESS)
		return tss_fail("TCTI", r);
	r = Esys_Initialize(&t->ctx, t->tcti, NULL);
	if (r != TSS2_RC_SUCCESS) {
		tpm_close(t);
		return tss_fail("Esys_Initialize", r);
	}
	r = Esys_Startup(t->ctx, TPM2_SU_CLEAR);
	if (r != TSS2_RC_SUCCESS && r != TPM2_RC_INITIALIZE) {
		tpm_close(t);
		return tss_fail("Esys_Startup", r);
	}
	return ATL_OK;
}

enum atl_err atl_tpm_session_open(const json_t *cfg)
{
	struct tpm t;
	const char *conf = NULL;
	enum atl_err rc;

	if (g_sess.ctx != NULL)
		return ATL_E_EXISTS;
	if (atl_json_get_str(cfg, "tpm", &conf) != ATL_OK || conf[0] == '\0' ||
	    strlen(conf) >= sizeof(g_sess.conf))
		return ATL_E_ARG;
	if (strncmp(conf, "swtpm", 5) == 0 && (conf[5] == '\0' || conf[5] == ':')) {
		TSS2_TCTI_CONTEXT *tcti = NULL;
		TSS2_RC r;

		ATL_TRY(sock_tcti_open(conf, &tcti));
		r = Esys_Initialize(&g_sess.ctx, tcti, NULL);
		if (r == TSS2_RC_SUCCESS) {
			r = Esys_Startup(g_sess.ctx, TPM2_SU_CLEAR);
			if (r == TPM2_RC_INITIALIZE)
				r = TSS2_RC_SUCCESS;
		}
		g_sess.tcti = tcti;
		g_sess.own_tcti = true;
		if (r != TSS2_RC_SUCCESS) {
			atl_tpm_session_close();
			return tss_fail("TPM session", r);
		}
	} else {
		ATL_TRY(tpm_open(cfg, &t));
		g_sess.ctx = t.ctx;
		g_sess.tcti = t.tcti;
	}
	(void)snprintf(g_sess.conf, sizeof(g_sess.conf), "%s", conf);
	rc = ATL_OK;
out:
	return rc;
}

void atl_tpm_session_close(void)
{
	if (g_sess.ctx != NULL)
		Esys_Finalize(&g_sess.ctx);
	if (g_sess.tcti != NULL && g_sess.own_tcti) {
		sock_finalize(g_sess.tcti);
		free(g_sess.tcti);
	} else if (g_sess.tcti != NULL) {
		Tss2_TctiLdr_Finalize(&g_sess.tcti);
	}
	memset(&g_sess, 0, sizeof(g_sess));
}

static enum atl_err marshal_public(const TPMT_PUBLIC *p, uint8_t **out, size_t *len)
{
	uint8_t buf[ATL_TPM_PUBLIC_MAX];
	size_t off = 0;
	TSS2_RC r = Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, sizeof(buf), &off);

	if (r != TSS2_RC_SUCCESS)
		return tss_fail("marshal TPMT_PUBLIC", r);
	*out = malloc(off);
	if (*out == NULL)
		return ATL_E_NOMEM;
	memcpy(*out, buf, off);
	*len = off;
	return ATL_OK;
}

/* TCG EK Credential Profile, template L-1 (RSA 2048). */
static void ek_template(TPM2B_PUBLIC *p)
{
	static const uint8_t policy[32] = {
		0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
		0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
		0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_RSA;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					 TPMA_OBJECT_SENSITIVEDATAORIGIN |
					 TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED |
					 TPMA_OBJECT_DECRYPT;
	p->publicArea.authPolicy.size = sizeof(policy);
	memcpy(p->publicArea.authPolicy.buffer, policy, sizeof(policy));
	p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p->publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.keyBits = 2048;
	p->publicArea.parameters.rsaDetail.exponent = 0;
	p->publicArea.unique.rsa.size = 256;
}

/* The EK of cfg "ek": "rsa" (default: persistent 0x81010001, else the L-1
 * template) or "ecc" (persistent only: 0x81010016, the TCG high-range NIST
 * P-384 EK that swtpm_setup --ecc makes, else 0x81010002, L-2 P-256). */
static enum atl_err load_ek(struct tpm *t, const json_t *cfg, uint8_t **pub, size_t *pub_len)
{
	static const uint32_t ecc_handles[] = {0x81010016u, 0x81010002u};
	static const uint32_t ecc_nvs[] = {0x01c00016u, 0x01c0000au};
	const char *alg = json_string_value(json_object_get(cfg, "ek"));
	TPM2B_PUBLIC *out = NULL, tmpl;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = {.size = 0};
	TPML_PCR_SELECTION none = {.count = 0};
	enum atl_err rc;
	TSS2_RC r = TSS2_BASE_RC_GENERAL_FAILURE;

	t->ek_nv = EK_CERT_NV;
	if (alg != NULL && strcmp(alg, "ecc") == 0) {
		for (size_t i = 0; i < 2 && r != TSS2_RC_SUCCESS; i++) {
			r = Esys_TR_FromTPMPublic(t->ctx, ecc_handles[i], ESYS_TR_NONE, ESYS_TR_NONE,
						  ESYS_TR_NONE, &t->ek);
			t->ek_nv = ecc_nvs[i];
		}
		if (r != TSS2_RC_SUCCESS)
			return tss_fail("no persistent ECC EK", r);
	} else if (alg != NULL && strcmp(alg, "rsa") != 0) {
		return ATL_E_ARG;
	} else {
		r = Esys_TR_FromTPMPublic(t->ctx, EK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, &t->ek);
	}
	if (r != TSS2_RC_SUCCESS) {
		memset(&sens, 0, sizeof(sens));
		ek_template(&tmpl);
		r = Esys_CreatePrimary(t->ctx, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &none,
				       &t->ek, NULL, NULL, NULL, NULL);
		if (r != TSS2_RC_SUCCESS)
			return tss_fail("create EK", r);
		t->ek_transient = true;
	}
	r = Esys_ReadPublic(t->ctx, t->ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &out, NULL,
			    NULL);
	if (r != TSS2_RC_SUCCESS)
		return tss_fail("read EK public", r);
	t->ek_user_auth = (out->publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH) != 0;
	rc = marshal_public(&out->publicArea, pub, pub_len);
	Esys_Free(out);
	return rc;
}

/* The AK: restricted ECDSA P-256 / SHA-256 signing primary (endorsement). */
static enum atl_err load_ak(struct tpm *t, uint8_t **pub, size_t *pub_len)
{
	TPM2B_PUBLIC tmpl, *out = NULL;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = {.size = 0};
	TPML_PCR_SELECTION none = {.count = 0};
	enum atl_err rc;
	TSS2_RC r;

	memset(&sens, 0, sizeof(sens));
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.publicArea.type = TPM2_ALG_ECC;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					   TPMA_OBJECT_SENSITIVEDATAORIGIN |
					   TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
					   TPMA_OBJECT_SIGN_ENCRYPT;
	tmpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	tmpl.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	r = Esys_CreatePrimary(t->ctx, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &t->ak, &out, NULL,
			       NULL, NULL);
	if (r != TSS2_RC_SUCCESS)
		return tss_fail("create AK", r);
	rc = marshal_public(&out->publicArea, pub, pub_len);
	Esys_Free(out);
	return rc;
}

/* EK certificate from its NV index; ATL_E_NOTFOUND when the TPM has none. */
static enum atl_err read_ek_cert(struct tpm *t, uint8_t **der, size_t *der_len)
{
	ESYS_TR nv = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *np = NULL;
	uint8_t *buf = NULL;
	size_t size, off = 0;
	enum atl_err rc = ATL_E_INTERNAL;
	TSS2_RC r;

	*der = NULL;
	*der_len = 0;
	r = Esys_TR_FromTPMPublic(t->ctx, t->ek_nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  &nv);
	if (r != TSS2_RC_SUCCESS)
		return ATL_E_NOTFOUND;
	r = Esys_NV_ReadPublic(t->ctx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &np, NULL);
	if (r != TSS2_RC_SUCCESS) {
		rc = tss_fail("NV_ReadPublic", r);
		goto out;
	}
	size = np->nvPublic.dataSize;
	if (size == 0 || size > ATL_ATTEST_ANCHOR_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	buf = malloc(size);
	if (buf == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *d = NULL;
		uint16_t n = (uint16_t)(size - off > NV_CHUNK ? NV_CHUNK : size - off);


		r = Esys_NV_Read(t->ctx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
				 (uint16_t)off, &d);
		if (r != TSS2_RC_SUCCESS || d->size != n) {
			Esys_Free(d);
			rc = r != TSS2_RC_SUCCESS ? tss_fail("NV_Read", r) : ATL_E_IO;
			goto out;
		}
		memcpy(buf + off, d->buffer, n);
		off += n;
		Esys_Free(d);
	}
	/* NV cert indices may be padded after the DER; trust the DER length. */
	if (size >= 4 && buf[0] == 0x30 && buf[1] == 0x82) {
		size_t dl = 4 + ((size_t)buf[2] << 8 | buf[3]);

		if (dl <= size)
			size = dl;
	}
	*der = buf;
	*der_len = size;
	buf = NULL;
	rc = ATL_OK;
out:
	free(buf);
	Esys_Free(np);
	if (nv != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->ctx, &nv);
	return rc;
}

static enum atl_err pcr_extend(struct tpm *t, int pcr, const uint8_t digest[32], bool reset)
{
	TPML_DIGEST_VALUES v;
	TSS2_RC r;

	if (reset) {
		r = Esys_PCR_Reset(t->ctx, (ESYS_TR)(ESYS_TR_PCR0 + (unsigned)pcr), ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE);
		if (r != TSS2_RC_SUCCESS)
			return tss_fail("PCR_Reset", r);
	}
	memset(&v, 0, sizeof(v));
	v.count = 1;
	v.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(v.digests[0].digest.sha256, digest, 32);
	r = Esys_PCR_Extend(t->ctx, (ESYS_TR)(ESYS_TR_PCR0 + (unsigned)pcr), ESYS_TR_PASSWORD,
			    ESYS_TR_NONE, ESYS_TR_NONE, &v);
	if (r != TSS2_RC_SUCCESS)
		return tss_fail("PCR_Extend", r);
	return ATL_OK;
}

static void selection(uint32_t mask, TPML_PCR_SELECTION *s)
{
	memset(s, 0, sizeof(*s));
	s->count = 1;
	s->pcrSelections[0].hash = TPM2_ALG_SHA256;
	s->pcrSelections[0].sizeofSelect = 3;
	s->pcrSelections[0].pcrSelect[0] = (uint8_t)mask;
	s->pcrSelections[0].pcrSelect[1] = (uint8_t)(mask >> 8);
	s->pcrSelections[0].pcrSelect[2] = (uint8_t)(mask >> 16);
}

/* Reads the SHA-256 values of mask (PCR_Read returns at most 8 per call). */
static enum atl_err pcr_read(struct tpm *t, uint32_t mask, struct atl_tpm_pcrs *out)
{
	memset(out, 0, sizeof(*out));
	out->hash = ATL_TPM_ALG_SHA256;
	for (unsigned i = 0; i < ATL_TPM_PCRS; i++) {
		TPML_PCR_SELECTION s, *so = NULL;
		TPML_DIGEST *d = NULL;
		UINT32 ctr;
		TSS2_RC r;

		if (!(mask & (1u << i)))
			continue;
		selection(1u << i, &s);
		r = Esys_PCR_Read(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &s, &ctr, &so,
				  &d);
		if (r != TSS2_RC_SUCCESS || d->count != 1 || d->digests[0].size != 32) {
			Esys_Free(so);
			Esys_Free(d);
			return r != TSS2_RC_SUCCESS ? tss_fail("PCR_Read", r) : ATL_E_IO;
		}
		memcpy(out->value[i], d->digests[0].buffer, 32);
		out->present |= 1u << i;
		Esys_Free(so);
		Esys_Free(d);
	}
	return ATL_OK;
}

static enum atl_err quote(struct tpm *t, const uint8_t qual[32], uint32_t mask, uint8_t **att,
			  size_t *att_len, uint8_t **sig, size_t *sig_len)
{
	TPM2B_DATA q = {.size = 32};
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL}; /* the AK's own */
	TPML_PCR_SELECTION s;
	TPM2B_ATTEST *a = NULL;
	TPMT_SIGNATURE *sg = NULL;
	uint8_t buf[ATL_SIG_LEN_MAX];
	size_t off = 0;
	enum atl_err rc = ATL_E_INTERNAL;
	TSS2_RC r;

	memcpy(q.buffer, qual, 32);
	selection(mask, &s);
	r = Esys_Quote(t->ctx, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &q, &scheme, &s,
		       &a, &sg);
	if (r != TSS2_RC_SUCCESS)
		return tss_fail("Quote", r);
	r = Tss2_MU_TPMT_SIGNATURE_Marshal(sg, buf, sizeof(buf), &off);
	if (r != TSS2_RC_SUCCESS) {
		rc = tss_fail("marshal TPMT_SIGNATURE", r);
		goto out;
	}
	*att = malloc(a->size);
	*sig = malloc(off);
	if (*att == NULL || *sig == NULL) {
		free(*att);
		free(*sig);
		*att = *sig = NULL;
		rc = ATL_E_NOMEM;
		goto out;
	}
	memcpy(*att, a->attestationData, a->size);
	*att_len = a->size;
	memcpy(*sig, buf, off);
	*sig_len = off;
	rc = ATL_OK;
out:
	Esys_Free(a);
	Esys_Free(sg);
	return rc;
}

static enum atl_err set_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = NULL;
	enum atl_err rc = atl_b64_encode(p, n, ATL_B64_STD, &s);

	if (rc != ATL_OK)
		return rc;
	rc = json_object_set_new(o, k, json_string(s)) == 0 ? ATL_OK : ATL_E_NOMEM;
	free(s);
	return rc;
}

static enum atl_err cfg_pcr(const json_t *cfg, int *pcr, uint32_t *mask)
{
	const json_t *v = json_object_get(cfg, "pcr"), *a = json_object_get(cfg, "pcrs"), *e;
	size_t i;

	*pcr = ATL_TPM_DEFAULT_PCR;
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) >= ATL_TPM_PCRS)
			return ATL_E_ARG;
		*pcr = (int)json_integer_value(v);
	}
	*mask = 1u << *pcr;
	if (a != NULL) {
		if (!json_is_array(a) || json_array_size(a) == 0 ||
		    json_array_size(a) > ATL_TPM_PCRS)
			return ATL_E_ARG;
		json_array_foreach(a, i, e) {
			if (!json_is_integer(e) || json_integer_value(e) < 0 ||
			    json_integer_value(e) >= ATL_TPM_PCRS)
				return ATL_E_ARG;
			*mask |= 1u << json_integer_value(e);
		}
	}
	return ATL_OK;
}

static const char *const cfg_keys[] = {"tpm",       "pcr",       "pcrs",      "measurement",
				       "extend",    "reset_pcr", "event_log", "activation",
				       "ek",        NULL};

enum atl_err atl_tpm_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
			      uint8_t **ev_out, size_t *ev_len_out)
{
	struct tpm t = {0};
	struct atl_tpm_pcrs *pcrs = NULL;
	uint8_t meas[64], ev_digest[32];
	size_t meas_len = 0;
	uint8_t *ak = NULL, *ek = NULL, *ekc = NULL, *att = NULL, *sig = NULL, *log = NULL;
	size_t ak_len = 0, ek_len = 0, ekc_len = 0, att_len = 0, sig_len = 0, log_len = 0;
	const char *s = NULL;
	json_t *ev = NULL, *vals = NULL, *act;
	char *txt = NULL, hex[129];
	uint32_t mask;
	int pcr;
	bool extend, reset;
	enum atl_err rc = ATL_E_INTERNAL;

	*ev_out = NULL;
	*ev_len_out = 0;
	if (cfg == NULL || report_data == NULL || atl_json_check_keys(cfg, cfg_keys, NULL) != ATL_OK)
		return ATL_E_ARG;
	ATL_TRY(cfg_pcr(cfg, &pcr, &mask));
	if (json_object_get(cfg, "measurement") != NULL) {
		if (atl_json_get_str(cfg, "measurement", &s) != ATL_OK ||
		    atl_hex_decode(s, strlen(s), meas, sizeof(meas), &meas_len) != ATL_OK ||
		    meas_len == 0)
			return ATL_E_ARG;
	}
	extend = meas_len > 0 && !json_is_false(json_object_get(cfg, "extend"));
	reset = json_is_true(json_object_get(cfg, "reset_pcr"));
	if (reset && pcr != 23)
		return ATL_E_ARG; /* only the debug PCR is resettable from locality 0 */
	act = json_object_get(cfg, "activation");
	if (act != NULL && !json_is_object(act))
		return ATL_E_ARG;
	if (json_object_get(cfg, "event_log") != NULL) {
		if (atl_json_get_str(cfg, "event_log", &s) != ATL_OK)
			return ATL_E_ARG;
		ATL_TRY(atl_file_read(s, ATL_TPM_EVLOG_MAX, &log, &log_len));
	}
	pcrs = malloc(sizeof(*pcrs));
	if (pcrs == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(tpm_open(cfg, &t));
	if (extend) {
		/* DESIGN §4: measure before the enclave key is used. Idempotent:
		 * when the PCR already holds exactly this one measurement (an
		 * earlier call), extending again would break the replay. */
		uint8_t want[32];

		ATL_TRY(atl_tpm_measurement_event(meas, meas_len, ev_digest));
		ATL_TRY(atl_tpm_expected_pcr(meas, meas_len, want));
		ATL_TRY(pcr_read(&t, 1u << pcr, pcrs));
		if (!atl_ct_eq(pcrs->value[pcr], want, sizeof(want)))
			ATL_TRY(pcr_extend(&t, pcr, ev_digest, reset));
	}
	ATL_TRY(load_ek(&t, cfg, &ek, &ek_len));
	rc = read_ek_cert(&t, &ekc, &ekc_len);
	if (rc != ATL_OK && rc != ATL_E_NOTFOUND)
		goto out;
	ATL_TRY(load_ak(&t, &ak, &ak_len));
	/* TPM qualifying data: the first 32 bytes of report_data (DESIGN §4). */
	ATL_TRY(quote(&t, report_data, mask, &att, &att_len, &sig, &sig_len));
	ATL_TRY(pcr_read(&t, mask, pcrs));

	vals = json_object();
	ev = json_pack("{s:s, s:{s:s, s:o}}", "format", ATL_TPM_EVIDENCE_FORMAT, "pcrs", "bank",
		       "sha256", "values", vals);
	vals = NULL;
	if (ev == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	for (unsigned i = 0; i < ATL_TPM_PCRS; i++) {
		char key[4];

		if (!(pcrs->present & (1u << i)))
			continue;
		(void)snprintf(key, sizeof(key), "%u", i);
		ATL_TRY(atl_hex_encode(pcrs->value[i], 32, hex, sizeof(hex)));
		if (json_object_set_new(json_object_get(json_object_get(ev, "pcrs"), "values"), key,
					json_string(hex)) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	ATL_TRY(set_b64(ev, "ak_pub", ak, ak_len));
	ATL_TRY(set_b64(ev, "quote", att, att_len));
	ATL_TRY(set_b64(ev, "signature", sig, sig_len));
	ATL_TRY(set_b64(ev, "ek_pub", ek, ek_len));
	if (ekc != NULL)
		ATL_TRY(set_b64(ev, "ek_cert", ekc, ekc_len));
	if (log != NULL)
		ATL_TRY(set_b64(ev, "event_log", log, log_len));
	if (meas_len > 0) {
		ATL_TRY(atl_hex_encode(meas, meas_len, hex, sizeof(hex)));
		if (json_object_set_new(ev, "measurement", json_string(hex)) != 0 ||
		    json_object_set_new(ev, "measurement_pcr", json_integer(pcr)) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	if (act != NULL && json_object_set(ev, "activation", act) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	txt = atl_json_dump(ev);
	if (txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	*ev_out = (uint8_t *)txt;
	*ev_len_out = strlen(txt);
	txt = NULL;
	rc = ATL_OK;
out:
	tpm_close(&t);
	json_decref(ev);
	json_decref(vals);
	free(pcrs);
	free(ak);
	free(ek);
	free(ekc);
	free(att);
	free(sig);
	free(log);
	free(txt);
	return rc;
}

enum atl_err atl_tpm_ak_info(const json_t *cfg, json_t **info_out)
{
	struct tpm t = {0};
	struct atl_tpm_public ap;
	uint8_t *ak = NULL, *ek = NULL, *ekc = NULL;
	size_t ak_len = 0, ek_len = 0, ekc_len = 0;
	char name[2 * ATL_TPM_NAME_MAX_LEN + 1];
	json_t *info = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*info_out = NULL;
	memset(&ap, 0, sizeof(ap));
	if (cfg == NULL || atl_json_check_keys(cfg, cfg_keys, NULL) != ATL_OK)
		return ATL_E_ARG;
	ATL_TRY(tpm_open(cfg, &t));
	ATL_TRY(load_ek(&t, cfg, &ek, &ek_len));
	rc = read_ek_cert(&t, &ekc, &ekc_len);
	if (rc != ATL_OK && rc != ATL_E_NOTFOUND)
		goto out;
	ATL_TRY(load_ak(&t, &ak, &ak_len));
	ATL_TRY(atl_tpm_public_parse(ak, ak_len, &ap));
	ATL_TRY(atl_hex_encode(ap.name, ap.name_len, name, sizeof(name)));
	info = json_pack("{s:s}", "ak_name", name);
	if (info == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(set_b64(info, "ak_pub", ak, ak_len));
	ATL_TRY(set_b64(info, "ek_pub", ek, ek_len));
	if (ekc != NULL)
		ATL_TRY(set_b64(info, "ek_cert", ekc, ekc_len));
	*info_out = info;
	info = NULL;
	rc = ATL_OK;
out:
	tpm_close(&t);
	atl_tpm_public_clear(&ap);
	json_decref(info);
	free(ak);
	free(ek);
	free(ekc);
	return rc;
}

enum atl_err atl_tpm_activate(const json_t *cfg, const struct atl_tpm_challenge *ch,
			      uint8_t *cred_out, size_t cred_cap, size_t *cred_len_out)
{
	struct tpm t = {0};
	uint8_t *ak = NULL, *ek = NULL;
	size_t ak_len = 0, ek_len = 0;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET secret;
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
	TPM2B_DIGEST *cert = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	enum atl_err rc = ATL_E_INTERNAL;
	TSS2_RC r;

	*cred_len_out = 0;
	if (cfg == NULL || ch == NULL || cred_out == NULL ||
	    atl_json_check_keys(cfg, cfg_keys, NULL) != ATL_OK ||
	    ch->blob_len > sizeof(blob.credential) || ch->secret_len > sizeof(secret.secret))
		return ATL_E_ARG;
	blob.size = (uint16_t)ch->blob_len;
	memcpy(blob.credential, ch->blob, ch->blob_len);
	secret.size = (uint16_t)ch->secret_len;
	memcpy(secret.secret, ch->secret, ch->secret_len);
	ATL_TRY(tpm_open(cfg, &t));
	ATL_TRY(load_ek(&t, cfg, &ek, &ek_len));
	ATL_TRY(load_ak(&t, &ak, &ak_len));
	/* The EK's authPolicy is PolicySecret(TPM_RH_ENDORSEMENT); the
	 * high-range templates (userWithAuth, empty auth) take a password. */
	if (t.ek_user_auth)
		goto activate;
	r = Esys_StartAuthSession(t.ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &sess);
	if (r != TSS2_RC_SUCCESS) {
		rc = tss_fail("StartAuthSession", r);
		goto out;
	}
	r = Esys_PolicySecret(t.ctx, ESYS_TR_RH_ENDORSEMENT, sess, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			      ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	if (r != TSS2_RC_SUCCESS) {
		rc = tss_fail("PolicySecret", r);
		goto out;
	}
activate:
	r = Esys_ActivateCredential(t.ctx, t.ak, t.ek, ESYS_TR_PASSWORD,
				    t.ek_user_auth ? ESYS_TR_PASSWORD : sess, ESYS_TR_NONE, &blob,
				    &secret, &cert);
	if (r != TSS2_RC_SUCCESS) {
		/* Integrity failure: not our EK, or another AK name. */
		atl_warn("ActivateCredential: %s", Tss2_RC_Decode(r));
		rc = ATL_E_AUTH;
		goto out;
	}
	if (cert->size > cred_cap) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	memcpy(cred_out, cert->buffer, cert->size);
	*cred_len_out = cert->size;
	rc = ATL_OK;
out:
	if (cert != NULL) {
		atl_wipe(cert->buffer, sizeof(cert->buffer));
		Esys_Free(cert);
	}
	if (sess != ESYS_TR_NONE && t.ctx != NULL)
		(void)Esys_FlushContext(t.ctx, sess);
	tpm_close(&t);
	free(ak);
	free(ek);
	return rc;
}

#else /* !ATL_HAVE_TSS2 */

enum atl_err atl_tpm_session_open(const json_t *cfg)
{
	(void)cfg;
	return ATL_E_UNSUPPORTED;
}

void atl_tpm_session_close(void)
{
}

enum atl_err atl_tpm_evidence(const json_t *cfg, const uint8_t report_data[ATL_REPORT_DATA_LEN],
			      uint8_t **ev_out, size_t *ev_len_out)
{
	(void)cfg;
	(void)report_data;
	*ev_out = NULL;
	*ev_len_out = 0;
	return ATL_E_UNSUPPORTED;
}

enum atl_err atl_tpm_ak_info(const json_t *cfg, json_t **info_out)
{
	(void)cfg;
	*info_out = NULL;
	return ATL_E_UNSUPPORTED;
}

enum atl_err atl_tpm_activate(const json_t *cfg, const struct atl_tpm_challenge *ch,
			      uint8_t *cred_out, size_t cred_cap, size_t *cred_len_out)
{
	(void)cfg;
	(void)ch;
	(void)cred_out;
	(void)cred_cap;
	*cred_len_out = 0;
	return ATL_E_UNSUPPORTED;
}

#endif
