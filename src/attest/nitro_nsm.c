/* Nitro evidence through the Nitro Secure Module (/dev/nsm); see
 * src/attest/nitro.h ("NSM").
 *
 * The driver interface, as aws-nitro-enclaves-nsm-api (src/driver/mod.rs,
 * src/api/mod.rs) and the kernel's uapi linux/nsm.h define it: one ioctl,
 * NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw), where struct nsm_raw is two
 * {u64 addr, u64 len} iovecs, the CBOR request (at most 0x1000 bytes) and a
 * response buffer (0x3000 bytes) whose len the driver sets to the response's
 * length. Requests and responses are serde's externally tagged enums:
 *   request  {"Attestation": {"user_data": bstr/null, "nonce": bstr/null,
 *                             "public_key": bstr/null}}
 *   response {"Attestation": {"document": bstr}}  or  {"Error": "<ErrorCode>"}
 * The response is untrusted bytes like any other: parsed strictly through
 * the bounded CBOR layer, validated, then used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "atoll/bytes.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/limits.h"
#include "atoll/nitro.h"
#define ATL_LOG_MODULE "nitro"
#include "atoll/log.h"
#include "attest/cbor.h"
#include "attest/cose.h"
#include "attest/nitro.h"

/* uapi linux/nsm.h: struct nsm_iovec { __u64 addr; __u64 len; }, struct
 * nsm_raw { request; response; }, 32 bytes on every ABI. Not a cast onto
 * input bytes: the kernel fills the fields of our own struct. */
struct nsm_iovec {
	uint64_t addr;
	uint64_t len;
};

struct nsm_raw {
	struct nsm_iovec request;
	struct nsm_iovec response;
};

#define NSM_MAGIC 0x0A
#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)

_Static_assert(sizeof(struct nsm_raw) == 32, "struct nsm_raw is two 16-byte iovecs");
#if defined(__x86_64__) || defined(__aarch64__)
/* dir RW (3 << 30) | size 32 << 16 | type 0x0A << 8 | nr 0, the value the AWS
 * library computes with nix::request_code_readwrite! on these ABIs. */
_Static_assert(NSM_IOCTL_RAW == 0xC0200A00u, "NSM_IOCTL_RAW is 0xC0200A00");
#endif
/* the public constant the enclave's sandbox allows (include/atoll/nitro.h) */
_Static_assert(NSM_IOCTL_RAW == ATL_NSM_IOCTL_RAW, "ATL_NSM_IOCTL_RAW is NSM_IOCTL_RAW");

/* ---- request ---- */

enum atl_err atl_nitro_nsm_request(const uint8_t *user_data, size_t user_data_len,
				   const uint8_t *nonce, size_t nonce_len,
				   const uint8_t *public_key, size_t public_key_len,
				   uint8_t **out, size_t *out_len)
{
	struct atl_wr w;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	*out_len = 0;
	/* The document's own limits (nitro.h, AWS attestation_process.md §3.2.2):
	 * the NSM would refuse more, and the verifier does. */
	if ((user_data != NULL && user_data_len > ATL_NITRO_USER_DATA_MAX) ||
	    (nonce != NULL && nonce_len > ATL_NITRO_NONCE_MAX) ||
	    (public_key != NULL && public_key_len > ATL_NITRO_PUBKEY_MAX))
		return ATL_E_LIMIT;
	atl_wr_init(&w, ATL_NSM_REQUEST_SIZE, false);
	/* serde field order: user_data, nonce, public_key */
	ATL_TRY(atl_cbor_put_head(&w, 5, 1));
	ATL_TRY(atl_cbor_put_tstr(&w, "Attestation"));
	ATL_TRY(atl_cbor_put_head(&w, 5, 3));
	ATL_TRY(atl_cbor_put_tstr(&w, "user_data"));
	ATL_TRY(atl_cbor_put_bstr_or_null(&w, user_data, user_data_len));
	ATL_TRY(atl_cbor_put_tstr(&w, "nonce"));
	ATL_TRY(atl_cbor_put_bstr_or_null(&w, nonce, nonce_len));
	ATL_TRY(atl_cbor_put_tstr(&w, "public_key"));
	ATL_TRY(atl_cbor_put_bstr_or_null(&w, public_key, public_key_len));
	ATL_TRY(atl_wr_take(&w, out, out_len));
	rc = ATL_OK;
out:
	atl_wr_free(&w);
	return rc;
}

/* ---- response ---- */

static enum atl_err why_fail(enum atl_err rc, char *why, size_t cap, const char *what)
{
	if (cap > 0)
		(void)snprintf(why, cap, "%s", what);
	return rc;
}

/* {"Error": "<name>"}: a printable name of the ErrorCode enum. */
static enum atl_err nsm_error(const cbor_item_t *v, char *why, size_t cap)
{
	const char *name;
	size_t n;
	char esc[2 * ATL_NSM_ERROR_NAME_LEN];

	if (!atl_cbor_tstr(v, &name, &n) || n == 0 || n > ATL_NSM_ERROR_NAME_LEN)
		return why_fail(ATL_E_FORMAT, why, cap, "NSM error response without an error name");
	(void)atl_log_escape(name, n, esc, sizeof(esc));
	if (cap > 0)
		(void)snprintf(why, cap, "the NSM answered Error %s", esc);
	/* ErrorCode::InputTooLarge: the request exceeded the NSM's limits */
	if (n == 13 && memcmp(name, "InputTooLarge", 13) == 0)
		return ATL_E_LIMIT;
	return ATL_E_IO;
}

enum atl_err atl_nitro_nsm_response(const uint8_t *buf, size_t len, uint8_t **doc_out,
				    size_t *doc_len_out, char *why, size_t why_cap)
{
	cbor_item_t *root = NULL;
	const cbor_item_t *key, *val, *doc;
	struct cbor_pair *h;
	const uint8_t *p;
	size_t n;
	enum atl_err rc = ATL_E_INTERNAL;

	*doc_out = NULL;
	*doc_len_out = 0;
	if (why_cap > 0)
		why[0] = '\0';
	if (len > ATL_NSM_RESPONSE_SIZE)
		return why_fail(ATL_E_LIMIT, why, why_cap, "NSM response larger than its buffer");
	if (len == 0)
		return why_fail(ATL_E_TRUNCATED, why, why_cap, "empty NSM response");
	rc = atl_cbor_decode(buf, len, &root);
	if (rc != ATL_OK) {
		(void)why_fail(rc, why, why_cap, "NSM response is not one strict CBOR item");
		goto out;
	}
	if (!cbor_isa_map(root) || cbor_map_size(root) != 1) {
		rc = why_fail(ATL_E_FORMAT, why, why_cap, "NSM response is not a one-entry map");
		goto out;
	}
	h = cbor_map_handle(root);
	key = h[0].key;
	val = h[0].value;
	if (atl_cbor_tstr_eq(key, "Error")) {
		rc = nsm_error(val, why, why_cap);
		goto out;
	}
	if (!atl_cbor_tstr_eq(key, "Attestation")) {
		rc = why_fail(ATL_E_FORMAT, why, why_cap,
			      "NSM response is neither Attestation nor Error");
		goto out;
	}
	doc = atl_cbor_map_str(val, "document");
	if (!cbor_isa_map(val) || cbor_map_size(val) != 1 || !atl_cbor_bstr(doc, &p, &n)) {
		rc = why_fail(ATL_E_FORMAT, why, why_cap,
			      "Attestation response without exactly one document byte string");
		goto out;
	}
	if (n == 0) {
		rc = why_fail(ATL_E_FORMAT, why, why_cap, "empty attestation document");
		goto out;
	}
	if (n > ATL_NITRO_DOC_MAX) {
		rc = why_fail(ATL_E_LIMIT, why, why_cap, "attestation document too large");
		goto out;
	}
	*doc_out = malloc(n);
	if (*doc_out == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	memcpy(*doc_out, p, n);
	*doc_len_out = n;
	rc = ATL_OK;
out:
	atl_cbor_free(root);
	return rc;
}

/* ---- transport: the ioctl, or a test's hook ---- */

static atl_nitro_nsm_transport_fn g_transport;
static void *g_transport_ctx;

void atl_nitro_nsm_set_transport(atl_nitro_nsm_transport_fn fn, void *ctx)
{
	g_transport = fn;
	g_transport_ctx = ctx;
}

static enum atl_err open_errno(int e)
{
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		return ATL_E_UNSUPPORTED;
	return e == EACCES || e == EPERM ? ATL_E_DENIED : ATL_E_IO;
}

/* The device opened before the sandbox (include/atoll/nitro.h), or -1. */
static int g_session_fd = -1;

static enum atl_err nsm_open(const char *device, int *fd_out)
{
	int fd, e;

	*fd_out = -1;
	fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (open_errno(e) == ATL_E_UNSUPPORTED)
			atl_warn("%s is not available: not inside an AWS Nitro enclave", device);
		else
			atl_warn("cannot open %s: %s", device, strerror(e));
		return open_errno(e);
	}
	*fd_out = fd;
	return ATL_OK;
}

enum atl_err atl_nitro_nsm_session_open(const char *device)
{
	if (g_session_fd >= 0)
		return ATL_E_BUSY;
	return nsm_open(device != NULL ? device : ATL_NSM_DEVICE, &g_session_fd);
}

int atl_nitro_nsm_session_fd(void)
{
	return g_session_fd;
}

void atl_nitro_nsm_session_close(void)
{
	if (g_session_fd >= 0)
		(void)close(g_session_fd);
	g_session_fd = -1;
}

/* One NSM_IOCTL_RAW round trip on an open NSM descriptor. */
static enum atl_err nsm_ioctl_fd(int fd, const uint8_t *req, size_t req_len, uint8_t *resp,
				 size_t resp_cap, size_t *resp_len)
{
	struct nsm_raw raw;
	int e;

	*resp_len = 0;
	memset(&raw, 0, sizeof(raw));
	raw.request.addr = (uint64_t)(uintptr_t)req;
	raw.request.len = req_len;
	raw.response.addr = (uint64_t)(uintptr_t)resp;
	raw.response.len = resp_cap;
	if (ioctl(fd, NSM_IOCTL_RAW, &raw) != 0) {
		e = errno;
		atl_warn("NSM_IOCTL_RAW failed: %s", strerror(e));
		return e == EMSGSIZE ? ATL_E_LIMIT : ATL_E_IO;
	}
	/* the driver reports the response's length; never beyond our buffer */
	if (raw.response.len > resp_cap)
		return ATL_E_IO;
	*resp_len = (size_t)raw.response.len;
	return ATL_OK;
}

/* The session's descriptor when one is open, else the device opened for
 * this one exchange. */
static enum atl_err nsm_ioctl(const char *device, const uint8_t *req, size_t req_len,
			      uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
	enum atl_err rc;
	int fd;

	*resp_len = 0;
	if (g_session_fd >= 0)
		return nsm_ioctl_fd(g_session_fd, req, req_len, resp, resp_cap, resp_len);
	ATL_TRY(nsm_open(device, &fd));
	rc = nsm_ioctl_fd(fd, req, req_len, resp, resp_cap, resp_len);
	(void)close(fd);
out:
	return rc;
}

enum atl_err atl_nitro_nsm_attest(const char *device, const uint8_t *user_data, size_t user_data_len,
				  const uint8_t *nonce, size_t nonce_len,
				  const uint8_t *public_key, size_t public_key_len,
				  uint8_t **doc_out, size_t *doc_len_out)
{
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len = 0, resp_len = 0;
	struct atl_cose_sign1 s = {0};
	enum atl_err rc = ATL_E_INTERNAL;
	char why[160] = "";

	*doc_out = NULL;
	*doc_len_out = 0;
	ATL_TRY(atl_nitro_nsm_request(user_data, user_data_len, nonce, nonce_len, public_key,
				      public_key_len, &req, &req_len));
	resp = malloc(ATL_NSM_RESPONSE_SIZE);
	if (resp == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (g_transport != NULL)
		rc = g_transport(req, req_len, resp, ATL_NSM_RESPONSE_SIZE, &resp_len,
				 g_transport_ctx);
	else
		rc = nsm_ioctl(device != NULL ? device : ATL_NSM_DEVICE, req, req_len, resp,
			       ATL_NSM_RESPONSE_SIZE, &resp_len);
	if (rc != ATL_OK)
		goto out;
	if (resp_len > ATL_NSM_RESPONSE_SIZE) {
		rc = ATL_E_IO;
		goto out;
	}
	rc = atl_nitro_nsm_response(resp, resp_len, doc_out, doc_len_out, why, sizeof(why));
	if (rc != ATL_OK) {
		atl_warn("NSM attestation failed: %s (%s)", why, atl_strerror(rc));
		goto out;
	}
	/* What comes back must at least be a COSE_Sign1 (the verifier does the rest). */
	rc = atl_cose_sign1_parse(*doc_out, *doc_len_out, &s);
	if (rc != ATL_OK) {
		atl_warn("the NSM's document is not a COSE_Sign1 (%s)", atl_strerror(rc));
		free(*doc_out);
		*doc_out = NULL;
		*doc_len_out = 0;
		goto out;
	}
	rc = ATL_OK;
out:
	atl_cose_sign1_free(&s);
	free(req);
	free(resp);
	return rc;
}

/* cfg (optional, from the caller): {"nonce": hex, "public_key": hex,
 * "nsm_device": path}. */
static enum atl_err cfg_hex(const json_t *cfg, const char *key, uint8_t *buf, size_t cap,
			    const uint8_t **p_out, size_t *len_out)
{
	const json_t *v = cfg != NULL ? json_object_get(cfg, key) : NULL;
	const char *s;

	*p_out = NULL;
	*len_out = 0;
	if (v == NULL || json_is_null(v))
		return ATL_OK;
	s = json_string_value(v);
	if (s == NULL || json_string_length(v) == 0 ||
	    atl_hex_decode(s, json_string_length(v), buf, cap, len_out) != ATL_OK) {
		atl_warn("nitro evidence: cfg.%s must be hex of 1 to %zu bytes", key, cap);
		return ATL_E_ARG;
	}
	*p_out = buf;
	return ATL_OK;
}

enum atl_err atl_nitro_nsm_evidence(const json_t *cfg,
				    const uint8_t report_data[ATL_REPORT_DATA_LEN],
				    uint8_t **ev_out, size_t *ev_len_out)
{
	uint8_t nonce[ATL_NITRO_NONCE_MAX], pk[ATL_NITRO_PUBKEY_MAX];
	const uint8_t *np = NULL, *pp = NULL;
	size_t nn = 0, pn = 0;
	const json_t *dev = cfg != NULL ? json_object_get(cfg, "nsm_device") : NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	*ev_out = NULL;
	*ev_len_out = 0;
	if (cfg != NULL && !json_is_object(cfg))
		return ATL_E_ARG;
	if (dev != NULL && (!json_is_string(dev) || json_string_length(dev) == 0)) {
		atl_warn("nitro evidence: cfg.nsm_device must be a path");
		return ATL_E_ARG;
	}
	ATL_TRY(cfg_hex(cfg, "nonce", nonce, sizeof(nonce), &np, &nn));
	ATL_TRY(cfg_hex(cfg, "public_key", pk, sizeof(pk), &pp, &pn));
	/* user_data = report_data: the verifier reports it as "report_data" and
	 * the dispatcher checks the DESIGN §4 binding of enclave key and nonce. */
	rc = atl_nitro_nsm_attest(json_string_value(dev), report_data, ATL_REPORT_DATA_LEN, np, nn,
				  pp, pn, ev_out, ev_len_out);
out:
	return rc;
}
