/* Operator commands: tenants, islands and workloads (include/atoll/coordinator.h).
 * Each opens the store, does one thing and closes it; secrets (API keys,
 * island tokens) exist in clear only in the caller's buffer. */
#include <stdlib.h>
#include <string.h>

#include "atoll/coordinator.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
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

enum atl_err atl_coord_workload_add(const char *db, const char *id, const char *kind,
				    const char *model, const char *tees, char *sha256_hex_out)
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
