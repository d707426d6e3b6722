/* Operator commands: tenants, islands and workloads (include/atoll/coordinator.h).
 * Each opens the store, does one thing and closes it; secrets (API keys,
 * island tokens) exist in clear only in the caller's buffer. */
#include <stdlib.h>
#include <string.h>

#include "atoll/coordinator.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/json.h"
#include "atoll/model_crypt.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

static enum atl_err add_principal(const char *db, const char *name, const char *prefix,
				  char token_out[ATL_STORE_TOKEN_LEN])
{
	struct atl_store *s = NULL;
	uint8_t h[ATL_SHA256_LEN];
	int64_t id = 0, now = atl_time_now();
	enum atl_err rc = ATL_E_INTERNAL;

	if (db == NULL || name == NULL || token_out == NULL)
		return ATL_E_ARG;
	memset(token_out, 0, ATL_STORE_TOKEN_LEN);
	ATL_TRY(atl_store_open(db, &s));
	ATL_TRY(atl_store_token_new(prefix, token_out, h));
	if (prefix[0] == 'a')
		ATL_TRY(atl_store_tenant_add(s, name, h, now, &id));
	else
		ATL_TRY(atl_store_island_add(s, name, h, now, &id));
	if (atl_store_audit_add(s, now, "operator", prefix[0] == 'a' ? "tenant_add" : "island_add",
				name, NULL) != ATL_OK) {
		/* the principal exists; a missing audit row is not worth failing for */
	}
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_wipe(token_out, ATL_STORE_TOKEN_LEN);
	atl_store_close(s);
	return rc;
}

enum atl_err atl_coord_tenant_add(const char *db, const char *name,
				  char key_out[ATL_STORE_TOKEN_LEN])
{
	return add_principal(db, name, "ak_", key_out);
}

enum atl_err atl_coord_island_add(const char *db, const char *name,
				  char token_out[ATL_STORE_TOKEN_LEN])
{
	return add_principal(db, name, "it_", token_out);
}

static enum atl_err workload_add(const char *db, const char *id, const char *kind,
				 const char *model, const char *tees, const char *model_key,
				 char *sha256_hex_out)
{
	struct atl_store *s = NULL;
	struct atl_store_workload w;
	char *abs = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (sha256_hex_out != NULL)
		sha256_hex_out[0] = '\0';
	if (db == NULL || id == NULL || kind == NULL || tees == NULL)
		return ATL_E_ARG;
	memset(&w, 0, sizeof(w));
	if (strlen(id) > ATL_STORE_NAME_MAX || strlen(kind) > ATL_STORE_NAME_MAX ||
	    strlen(tees) > ATL_STORE_TEE_LIST_MAX)
		return ATL_E_ARG;
	strcpy(w.id, id);
	strcpy(w.kind, kind);
	strcpy(w.tees, tees);
	if (model_key != NULL) {
		if (strlen(model_key) > ATL_STORE_MODEL_KEY_MAX)
			return ATL_E_ARG;
		strcpy(w.model_key, model_key);
	}
	if (model != NULL) {
		/* the absolute path, so the server finds it whatever its cwd */
		abs = realpath(model, NULL);
		if (abs == NULL)
			return ATL_E_NOTFOUND;
		if (strlen(abs) > ATL_STORE_PATH_MAX) {
			rc = ATL_E_ARG;
			goto out;
		}
		strcpy(w.model_path, abs);
		ATL_TRY(atl_hash_file(ATL_HASH_SHA256, abs, w.model_sha256));
	} else {
		strcpy(w.model_path, ATL_COORD_NO_MODEL);
	}
	w.created_at = atl_time_now();
	ATL_TRY(atl_store_open(db, &s));
	ATL_TRY(atl_store_workload_add(s, &w));
	if (atl_store_audit_add(s, w.created_at, "operator", "workload_add", id, kind) != ATL_OK) {
		/* as above */
	}
	if (sha256_hex_out != NULL && model != NULL)
		ATL_TRY(atl_hex_encode(w.model_sha256, sizeof(w.model_sha256), sha256_hex_out,
				       2 * ATL_SHA256_LEN + 1));
	rc = ATL_OK;
out:
	free(abs);
	atl_store_close(s);
	return rc;
}

enum atl_err atl_coord_workload_add(const char *db, const char *id, const char *kind,
				    const char *model, const char *tees, char *sha256_hex_out)
{
	return workload_add(db, id, kind, model, tees, NULL, sha256_hex_out);
}

static bool kbs_tenant_ok(const char *t)
{
	size_t n = t != NULL ? strlen(t) : 0;

	return n > 0 && n <= ATL_KBS_TENANT_MAX &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

enum atl_err atl_coord_workload_add_atm(const char *db, const char *id, const char *kind,
					const char *model, const char *tees, const char *kbs,
					const char *kbs_tenant, char *sha256_hex_out,
					char *model_id_hex_out)
{
	struct atl_model_info info;
	char mid[2 * ATL_ATM_MODEL_ID_LEN + 1];
	json_t *mk = NULL;
	char *txt = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	if (model_id_hex_out != NULL)
		model_id_hex_out[0] = '\0';
	if (model == NULL || kbs == NULL || !kbs_tenant_ok(kbs_tenant) || strlen(kbs) > 512 ||
	    (strncmp(kbs, "http://", 7) != 0 && strncmp(kbs, "https://", 8) != 0) ||
	    strpbrk(kbs, " \t\r\n\"\\") != NULL)
		return ATL_E_ARG;
	rc = atl_model_inspect(model, &info);
	if (rc == ATL_E_NOTFOUND || rc == ATL_E_IO)
		return rc;
	if (rc != ATL_OK)
		return ATL_E_FORMAT;
	ATL_TRY(atl_hex_encode(info.model_id, sizeof(info.model_id), mid, sizeof(mid)));
	mk = json_pack("{s:s, s:s, s:s}", "kbs", kbs, "tenant", kbs_tenant, "model_id", mid);
	if (mk == NULL || (txt = atl_json_dump(mk)) == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(workload_add(db, id, kind, model, tees, txt, sha256_hex_out));
	if (model_id_hex_out != NULL)
		memcpy(model_id_hex_out, mid, sizeof(mid));
	rc = ATL_OK;
out:
	json_decref(mk);
	free(txt);
	return rc;
}
