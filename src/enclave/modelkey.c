/* Encrypted models inside the enclave (DESIGN §8, issue 9;
 * docs/internals/enclave-models.md).
 *
 * The enclave has no network: the island asks the key broker for a nonce,
 * has this enclave produce evidence bound to it (ATTEST), relays the evidence
 * to the broker and hands the sealed key it got back in a MODEL_KEY message:
 *
 *   {"model_id":"<32 hex>","workload_id":W,"model":"<path of the .atm>",
 *    "model_sha256":"<64 hex>","sealed":"<sealed key JSON text>"}
 *
 * Here the sealed key is opened with the enclave's own key pair (HPKE; the
 * broker sealed it to the key the evidence vouches for, and the model id and
 * the workload id it was released for are its associated data: sealed format
 * 2, atl_kbs_sealed_open_workload), the .atm ciphertext is read (read-only open, allowed
 * by the sandbox) and checked against the pinned SHA-256, and decrypted into
 * secret memory (locked, excluded from core dumps) by
 * atl_kbs_dek_decrypt_mem, which verifies every chunk tag, the final flag and
 * the plaintext digest before anything is returned: no partial plaintext on
 * failure and never a plaintext file. The data key is wiped at once.
 *
 * Binding: a model is kept for the workload id the broker released its key
 * for (authenticated by the HPKE AAD: a MODEL_KEY whose "workload_id" is not
 * the sealed key's does not open) and used only for jobs whose
 * envelope-authenticated workload id is that one; a second MODEL_KEY naming
 * the same model for another workload is refused, so one release cannot
 * serve two workloads in one enclave instance. Which workloads a model may
 * serve is the model owner's broker configuration
 * (atl_kbs_model_allow_workload), never the island's word; who may get the
 * key at all is the broker's policy (measurement, TEE kind, debug,
 * revocation, tenant). */
#define ATL_LOG_MODULE "enclave"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/enclave.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "enclave/enclave_int.h"

#define MODEL_ID_HEX_LEN (2 * ATL_ATM_MODEL_ID_LEN)

struct enc_model {
	char id[MODEL_ID_HEX_LEN + 1];         /* "" = free slot */
	char workload[ATL_STORE_NAME_MAX + 1]; /* the one workload it serves */
	uint8_t *pt;                           /* secret memory */
	size_t len;
	uint64_t seq;                          /* load order, for eviction */
};

struct enc_models {
	struct enc_model m[ATL_ENCLAVE_MODELS_MAX];
	uint64_t seq;
};

enum atl_err enc_models_new(struct enc_models **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? ATL_OK : ATL_E_NOMEM;
}

static void slot_clear(struct enc_model *e)
{
	if (e->pt != NULL)
		atl_enclave_llm_forget(e->pt); /* a cached LLM parse borrows it */
	atl_secret_free(e->pt);
	memset(e, 0, sizeof(*e));
}

void enc_models_free(struct enc_models *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < ATL_ENCLAVE_MODELS_MAX; i++)
		slot_clear(&m->m[i]);
	free(m);
}

static bool hex_lower_ok(const char *s, size_t want)
{
	return s != NULL && strlen(s) == want && strspn(s, "0123456789abcdef") == want;
}

static bool name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= ATL_STORE_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static struct enc_model *find(struct enc_models *m, const char *id)
{
	for (size_t i = 0; i < ATL_ENCLAVE_MODELS_MAX; i++) {
		if (m->m[i].id[0] != '\0' && strcmp(m->m[i].id, id) == 0)
			return &m->m[i];
	}
	return NULL;
}

/* A free slot, or the oldest one (its plaintext wiped). */
static struct enc_model *take_slot(struct enc_models *m)
{
	struct enc_model *old = &m->m[0];

	for (size_t i = 0; i < ATL_ENCLAVE_MODELS_MAX; i++) {
		if (m->m[i].id[0] == '\0')
			return &m->m[i];
		if (m->m[i].seq < old->seq)
			old = &m->m[i];
	}
	atl_info("model %.8s evicted to make room", old->id);
	slot_clear(old);
	return old;
}

static const char *code_of(enum atl_err e)
{
	switch (e) {
	case ATL_E_AUTH:
		return "auth";
	case ATL_E_LIMIT:
		return "limit";
	case ATL_E_NOTFOUND:
		return "notfound";
	case ATL_E_POLICY:
		return "policy";
	case ATL_E_FORMAT:
	case ATL_E_TRUNCATED:
	case ATL_E_TRAILING:
	case ATL_E_ARG:
		return "format";
	default:
		return "internal";
	}
}

static enum atl_err reply(int fd, enum atl_err e, const char *model_id, const char *message)
{
	json_t *j = e == ATL_OK ? json_pack("{s:s}", "model_id", model_id)
				: json_pack("{s:s, s:s}", "code", code_of(e), "message", message);
	char *txt = j != NULL ? atl_json_dump(j) : NULL;
	enum atl_err rc = ATL_E_NOMEM;

	if (txt != NULL)
		rc = atl_msg_send(fd, e == ATL_OK ? ATL_MSG_MODEL_READY : ATL_MSG_ERROR, txt,
				  strlen(txt));
	json_decref(j);
	free(txt);
	return rc;
}

/* Opens the key (released for model id_hex and workload wid) and decrypts the
 * model; *pt_out secret memory. */
static enum atl_err load(const struct atl_kp *kp, const char *id_hex, const char *wid,
			 const char *path, const uint8_t pinned[ATL_SHA256_LEN], const char *sealed,
			 uint8_t **pt_out, size_t *len_out, const char **why)
{
	uint8_t dek[ATL_ATM_DEK_LEN], id[ATL_ATM_MODEL_ID_LEN], digest[ATL_SHA256_LEN];
	uint8_t *atm = NULL;
	size_t atm_len = 0, n = 0;
	enum atl_err rc;

	*pt_out = NULL;
	*len_out = 0;
	*why = "the model key did not open for this enclave, model and workload";
	ATL_TRY(atl_hex_decode(id_hex, strlen(id_hex), id, sizeof(id), &n));
	rc = atl_kbs_sealed_open_workload(sealed, strlen(sealed), kp, id_hex, wid, dek);
	if (rc != ATL_OK)
		goto out;
	*why = "the encrypted model could not be read";
	rc = atl_file_read(path, ATL_ENCLAVE_ATM_MAX, &atm, &atm_len);
	if (rc != ATL_OK)
		goto out;
	*why = "the encrypted model is not the pinned file";
	ATL_TRY(atl_hash(ATL_HASH_SHA256, atm, atm_len, digest));
	if (!atl_ct_eq(digest, pinned, sizeof(digest))) {
		rc = ATL_E_POLICY;
		goto out;
	}
	/* every chunk tag, the final flag and the plaintext digest verified
	 * before success; nothing returned on failure */
	*why = "the encrypted model did not decrypt";
	rc = atl_kbs_dek_decrypt_mem(atm, atm_len, dek, id, pt_out, len_out);
out:
	atl_wipe(dek, sizeof(dek));
	free(atm);
	return rc;
}

enum atl_err enc_model_key(int fd, struct enc_models *m, const struct atl_kp *kp,
			   const uint8_t *p, size_t n)
{
	static const char *const keys[] = {"model_id", "workload_id", "model", "model_sha256",
					   "sealed", NULL};
	const char *id = NULL, *wid = NULL, *path = NULL, *sealed = NULL, *why = NULL;
	uint8_t pinned[ATL_SHA256_LEN];
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	struct enc_model *e;
	json_t *j = NULL;
	enum atl_err rc;

	rc = atl_json_parse((const char *)p, n, &j);
	if (rc == ATL_OK)
		rc = atl_json_check_keys(j, keys, NULL);
	if (rc == ATL_OK && (atl_json_get_str(j, "model_id", &id) != ATL_OK ||
			     atl_json_get_str(j, "workload_id", &wid) != ATL_OK ||
			     atl_json_get_str(j, "model", &path) != ATL_OK ||
			     atl_json_get_str(j, "sealed", &sealed) != ATL_OK ||
			     atl_json_get_hex(j, "model_sha256", pinned, sizeof(pinned)) != ATL_OK ||
			     !hex_lower_ok(id, MODEL_ID_HEX_LEN) || !name_ok(wid) ||
			     path[0] != '/' || strlen(sealed) > ATL_ENCLAVE_SEALED_KEY_MAX))
		rc = ATL_E_FORMAT;
	if (rc != ATL_OK) {
		rc = reply(fd, ATL_E_FORMAT, NULL, "malformed MODEL_KEY message");
		goto out;
	}
	e = find(m, id);
	if (e != NULL) {
		if (strcmp(e->workload, wid) != 0) {
			atl_warn("model %.8s was handed over for another workload: refused", id);
			rc = reply(fd, ATL_E_POLICY, NULL,
				   "the model is bound to another workload in this enclave");
			goto out;
		}
		/* already decrypted and verified for this workload */
		rc = reply(fd, ATL_OK, id, NULL);
		goto out;
	}
	rc = load(kp, id, wid, path, pinned, sealed, &pt, &pt_len, &why);
	if (rc != ATL_OK) {
		atl_warn("model %.8s refused: %s (%s)", id, why, atl_err_name(rc));
		rc = reply(fd, rc, NULL, why);
		goto out;
	}
	e = take_slot(m);
	memcpy(e->id, id, MODEL_ID_HEX_LEN + 1);
	snprintf(e->workload, sizeof(e->workload), "%s", wid);
	e->pt = pt;
	e->len = pt_len;
	e->seq = ++m->seq;
	pt = NULL;
	atl_info("model %.8s decrypted into secret memory (%zu bytes) for workload %s", id,
		 pt_len, wid);
	rc = reply(fd, ATL_OK, id, NULL);
out:
	atl_secret_free(pt);
	json_decref(j);
	return rc;
}

bool enc_model_job(const json_t *params)
{
	return json_is_object(params) && json_object_get(params, "model_id") != NULL;
}

/* The error document an encrypted-model job answers with when it cannot run. */
static enum atl_err error_doc(const char *message, uint8_t **out_out, size_t *out_len_out)
{
	json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", "model_unavailable", "message",
			      message);
	char *txt = j != NULL ? atl_json_dump(j) : NULL;
	size_t len = txt != NULL ? strlen(txt) : 0;
	uint8_t *out = txt != NULL ? atl_secret_alloc(len) : NULL;
	enum atl_err rc = ATL_E_NOMEM;

	if (out != NULL) {
		memcpy(out, txt, len);
		*out_out = out;
		*out_len_out = len;
		rc = ATL_OK;
	}
	json_decref(j);
	free(txt);
	return rc;
}

enum atl_err enc_model_run(struct enc_models *m, const char *kind, const json_t *params,
			   const char *workload_id, const uint8_t *in, size_t in_len,
			   uint8_t **out_out, size_t *out_len_out)
{
	static const char *const keys[] = {"model_id", NULL};
	const char *id = NULL;
	struct enc_model *e;

	*out_out = NULL;
	*out_len_out = 0;
	if (atl_json_check_keys(params, keys, NULL) != ATL_OK ||
	    atl_json_get_str(params, "model_id", &id) != ATL_OK ||
	    !hex_lower_ok(id, MODEL_ID_HEX_LEN))
		return ATL_E_FORMAT;
	if (strcmp(kind, "classifier") != 0 && strcmp(kind, "llm") != 0)
		return ATL_E_UNSUPPORTED;
	e = find(m, id);
	if (e == NULL) {
		atl_info("job for model %.8s: not loaded in this enclave", id);
		return error_doc("the encrypted model is not loaded in this enclave", out_out,
				 out_len_out);
	}
	if (strcmp(e->workload, workload_id) != 0) {
		atl_warn("job of workload %s asked for model %.8s of another workload: refused",
			 workload_id, id);
		return error_doc("the encrypted model was not released for this workload",
				 out_out, out_len_out);
	}
	if (strcmp(kind, "llm") == 0)
		return atl_enclave_llm_run_mem(e->id, e->pt, e->len, in, in_len, out_out,
					       out_len_out);
	return atl_enclave_classifier_run_mem(e->pt, e->len, in, in_len, out_out, out_len_out);
}

/* ---- the host side ---- */

enum atl_err atl_enclave_model_key(int fd, const char *model_id, const char *workload_id,
				   const char *atm_path, const char *atm_sha256, const char *sealed,
				   int timeout_ms, char *why, size_t why_cap)
{
	json_t *msg = NULL, *r = NULL;
	const char *code = NULL, *text = NULL;
	char *txt = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	uint8_t type = 0;
	enum atl_err rc;

	if (why != NULL && why_cap > 0)
		why[0] = '\0';
	msg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "model_id", model_id, "workload_id",
			workload_id, "model", atm_path, "model_sha256", atm_sha256, "sealed",
			sealed);
	if (msg == NULL || (txt = atl_json_dump(msg)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_msg_send(fd, ATL_MSG_MODEL_KEY, txt, strlen(txt)));
	ATL_TRY(atl_msg_recv(fd, 64 * 1024, timeout_ms, &type, &p, &n));
	rc = ATL_E_FORMAT;
	if (atl_json_parse((const char *)p, n, &r) != ATL_OK)
		goto out;
	if (type == ATL_MSG_MODEL_READY) {
		const char *got = NULL;
		if (atl_json_get_str(r, "model_id", &got) == ATL_OK && strcmp(got, model_id) == 0)
			rc = ATL_OK;
		goto out;
	}
	if (type != ATL_MSG_ERROR || atl_json_get_str(r, "code", &code) != ATL_OK)
		goto out;
	rc = strcmp(code, "auth") == 0       ? ATL_E_AUTH
	     : strcmp(code, "policy") == 0   ? ATL_E_POLICY
	     : strcmp(code, "notfound") == 0 ? ATL_E_NOTFOUND
	     : strcmp(code, "limit") == 0    ? ATL_E_LIMIT
	     : strcmp(code, "format") == 0   ? ATL_E_FORMAT
					     : ATL_E_INTERNAL;
	if (atl_json_get_str(r, "message", &text) == ATL_OK && why != NULL && why_cap > 0)
		atl_log_escape(text, strlen(text), why, why_cap);
out:
	json_decref(msg);
	json_decref(r);
	free(txt);
	free(p);
	return rc;
}
