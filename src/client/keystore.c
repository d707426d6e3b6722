/* The client key store (include/atoll/client.h): X25519 client keys "ck_…"
 * in DIR/keys/, one JSON file each, mode 0600 in a 0700 directory. The
 * private key is read only by atl_client_key_load, into secret memory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATL_LOG_MODULE "client"
#include "atoll/client.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/timeutil.h"

#define KEY_FILE_MAX 4096u

enum atl_err atl_client_dir(const char *dir, char *out, size_t cap)
{
	const char *e;
	int n;

	if (dir != NULL && dir[0] != '\0')
		n = snprintf(out, cap, "%s", dir);
	else if ((e = getenv(ATL_CLIENT_DIR_ENV)) != NULL && e[0] != '\0')
		n = snprintf(out, cap, "%s", e);
	else if ((e = getenv("XDG_CONFIG_HOME")) != NULL && e[0] == '/')
		n = snprintf(out, cap, "%s/atoll", e);
	else if ((e = getenv("HOME")) != NULL && e[0] != '\0')
		n = snprintf(out, cap, "%s/.config/atoll", e);
	else
		return ATL_E_NOTFOUND;
	if (n < 0 || (size_t)n >= cap)
		return ATL_E_LIMIT;
	return ATL_OK;
}

bool atl_client_id_ok(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (s == NULL || strncmp(s, prefix, pl) != 0 || strlen(s) != pl + 32)
		return false;
	for (size_t i = pl; i < pl + 32; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* DIR/keys (created 0700 with DIR when create is set). */
static enum atl_err keys_dir(const char *dir, bool create, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/keys", dir);

	if (n < 0 || (size_t)n >= cap)
		return ATL_E_LIMIT;
	if (!create)
		return ATL_OK;
	if (atl_mkdir_p(dir, 0700) != ATL_OK || atl_mkdir_p(out, 0700) != ATL_OK)
		return ATL_E_IO;
	/* an existing directory keeps its mode: tighten ours */
	if (chmod(dir, 0700) != 0 || chmod(out, 0700) != 0)
		return ATL_E_IO;
	return ATL_OK;
}

static enum atl_err key_path(const char *dir, const char *kid, char *out, size_t cap)
{
	int n;

	if (!atl_client_id_ok(kid, "ck_"))
		return ATL_E_ARG;
	n = snprintf(out, cap, "%s/keys/%s.json", dir, kid);
	return n < 0 || (size_t)n >= cap ? ATL_E_LIMIT : ATL_OK;
}

enum atl_err atl_client_key_create(const char *dir, char kid_out[ATL_KEY_ID_LEN])
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_kp kp = {0};
	char kd[4096], path[4200], *pub = NULL, *priv = NULL, *txt = NULL;
	json_t *j = NULL;

	kid_out[0] = '\0';
	ATL_TRY(keys_dir(dir, true, kd, sizeof(kd)));
	ATL_TRY(atl_kp_generate(&kp));
	ATL_TRY(atl_key_id("ck_", kp.pub, kid_out));
	ATL_TRY(key_path(dir, kid_out, path, sizeof(path)));
	ATL_TRY(atl_b64_encode(kp.pub, sizeof(kp.pub), ATL_B64_STD, &pub));
	ATL_TRY(atl_b64_encode(kp.priv, ATL_X25519_LEN, ATL_B64_STD, &priv));
	j = json_pack("{s:i, s:s, s:s, s:s, s:I}", "v", 1, "key_id", kid_out, "public_key", pub,
		      "private_key", priv, "created_at", (json_int_t)atl_time_now());
	txt = j != NULL ? atl_json_dump_pretty(j) : NULL;
	if (txt == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_file_write(path, txt, strlen(txt), 0600, 1));
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		kid_out[0] = '\0';
	if (priv != NULL)
		atl_wipe(priv, strlen(priv));
	if (txt != NULL)
		atl_wipe(txt, strlen(txt));
	if (j != NULL) {
		/* jansson copied the base64 private key: wipe its copy too */
		json_t *pk = json_object_get(j, "private_key");
		const char *s = json_string_value(pk);
		if (s != NULL)
			atl_wipe((void *)s, strlen(s));
	}
	json_decref(j);
	free(pub);
	free(priv);
	free(txt);
	atl_kp_clear(&kp);
	return rc;
}

/* Parses a key file; kp_out (may be NULL) gets the key pair. The public
 * key must match the id and, with kp_out, the private key. */
static enum atl_err key_parse(const uint8_t *buf, size_t len, struct atl_client_key_info *info,
			      struct atl_kp *kp_out)
{
	static const char *const keys[] = {"v", "key_id", "public_key", "private_key",
					   "created_at", NULL};
	enum atl_err rc = ATL_E_FORMAT;
	json_t *j = NULL;
	const char *kid;
	uint8_t *pub = NULL, *priv = NULL;
	size_t pub_len = 0, priv_len = 0;
	char want[ATL_KEY_ID_LEN];
	int64_t v = 0;

	memset(info, 0, sizeof(*info));
	if (atl_json_parse((const char *)buf, len, &j) != ATL_OK ||
	    atl_json_check_keys(j, keys, NULL) != ATL_OK ||
	    atl_json_get_int(j, "v", &v) != ATL_OK || v != 1 ||
	    atl_json_get_str(j, "key_id", &kid) != ATL_OK || !atl_client_id_ok(kid, "ck_") ||
	    atl_json_get_int(j, "created_at", &info->created_at) != ATL_OK ||
	    atl_json_get_b64(j, "public_key", ATL_X25519_LEN, &pub, &pub_len) != ATL_OK ||
	    pub_len != ATL_X25519_LEN || atl_key_id("ck_", pub, want) != ATL_OK ||
	    strcmp(want, kid) != 0)
		goto out;
	memcpy(info->pub, pub, ATL_X25519_LEN);
	memcpy(info->key_id, kid, ATL_KEY_ID_LEN);
	if (kp_out != NULL) {
		if (atl_json_get_b64(j, "private_key", ATL_X25519_LEN, &priv, &priv_len) != ATL_OK ||
		    priv_len != ATL_X25519_LEN)
			goto out;
		rc = atl_kp_from_private(priv, kp_out);
		if (rc != ATL_OK)
			goto out;
		if (memcmp(kp_out->pub, info->pub, ATL_X25519_LEN) != 0) {
			atl_kp_clear(kp_out);
			rc = ATL_E_FORMAT;
			goto out;
		}
	}
	rc = ATL_OK;
out:
	if (priv != NULL)
		atl_wipe(priv, priv_len);
	free(priv);
	free(pub);
	if (j != NULL) {
		const char *s = json_string_value(json_object_get(j, "private_key"));
		if (s != NULL)
			atl_wipe((void *)s, strlen(s));
	}
	json_decref(j);
	return rc;
}

static int by_newest(const void *a, const void *b)
{
	const struct atl_client_key_info *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at > y->created_at ? -1 : 1;
	return strcmp(x->key_id, y->key_id);
}

enum atl_err atl_client_key_list(const char *dir, struct atl_client_key_info **list_out,
				 size_t *n_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_client_key_info *list = NULL;
	size_t n = 0, cap = 0;
	char kd[4096];
	DIR *d = NULL;
	struct dirent *e;

	*list_out = NULL;
	*n_out = 0;
	ATL_TRY(keys_dir(dir, false, kd, sizeof(kd)));
	d = opendir(kd);
	if (d == NULL) {
		rc = errno == ENOENT ? ATL_OK : ATL_E_IO;
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		char path[4400], kid[ATL_KEY_ID_LEN];
		uint8_t *buf = NULL;
		size_t len = 0;
		const char *dot = strrchr(e->d_name, '.');

		if (dot == NULL || strcmp(dot, ".json") != 0 ||
		    (size_t)(dot - e->d_name) != ATL_KEY_ID_LEN - 1)
			continue;
		memcpy(kid, e->d_name, ATL_KEY_ID_LEN - 1);
		kid[ATL_KEY_ID_LEN - 1] = '\0';
		if (!atl_client_id_ok(kid, "ck_"))
			continue;
		if (n == cap) {
			size_t nc = cap == 0 ? 8 : cap * 2;
			void *p = realloc(list, nc * sizeof(*list));
			if (p == NULL) {
				rc = ATL_E_NOMEM;
				goto out;
			}
			list = p;
			cap = nc;
		}
		snprintf(path, sizeof(path), "%s/%s", kd, e->d_name);
		if (atl_file_read(path, KEY_FILE_MAX, &buf, &len) != ATL_OK ||
		    key_parse(buf, len, &list[n], NULL) != ATL_OK ||
		    strcmp(list[n].key_id, kid) != 0) {
			atl_warn("skipping unreadable or malformed key file %s", kid);
		} else {
			n++;
		}
		if (buf != NULL)
			atl_wipe(buf, len);
		free(buf);
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), by_newest);
	*list_out = list;
	*n_out = n;
	list = NULL;
	rc = ATL_OK;
out:
	if (d != NULL)
		closedir(d);
	free(list);
	return rc;
}

enum atl_err atl_client_key_load(const char *dir, const char *kid, struct atl_kp *kp_out,
				 char kid_out[ATL_KEY_ID_LEN])
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_client_key_info info, *list = NULL;
	char path[4200], chosen[ATL_KEY_ID_LEN];
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;

	memset(kp_out, 0, sizeof(*kp_out));
	if (kid_out != NULL)
		kid_out[0] = '\0';
	if (kid == NULL) {
		ATL_TRY(atl_client_key_list(dir, &list, &n));
		if (n == 0) {
			rc = ATL_E_NOTFOUND;
			goto out;
		}
		memcpy(chosen, list[0].key_id, sizeof(chosen));
	} else {
		if (!atl_client_id_ok(kid, "ck_")) {
			rc = ATL_E_ARG;
			goto out;
		}
		snprintf(chosen, sizeof(chosen), "%s", kid);
	}
	ATL_TRY(key_path(dir, chosen, path, sizeof(path)));
	ATL_TRY(atl_file_read(path, KEY_FILE_MAX, &buf, &len));
	ATL_TRY(key_parse(buf, len, &info, kp_out));
	if (strcmp(info.key_id, chosen) != 0) {
		atl_kp_clear(kp_out);
		rc = ATL_E_FORMAT;
		goto out;
	}
	if (kid_out != NULL)
		memcpy(kid_out, chosen, ATL_KEY_ID_LEN);
	rc = ATL_OK;
out:
	if (buf != NULL)
		atl_wipe(buf, len);
	free(buf);
	free(list);
	return rc;
}

enum atl_err atl_client_key_delete(const char *dir, const char *kid)
{
	char path[4200];
	struct stat st;
	enum atl_err rc;
	int fd;

	rc = key_path(dir, kid, path, sizeof(path));
	if (rc != ATL_OK)
		return rc;
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO;
	/* overwrite before unlinking (best effort on journaling filesystems) */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= (off_t)KEY_FILE_MAX) {
		uint8_t zero[KEY_FILE_MAX] = {0};
		if (write(fd, zero, (size_t)st.st_size) != (ssize_t)st.st_size)
			atl_warn("could not overwrite key %s before deleting it", kid);
		(void)fsync(fd);
	}
	close(fd);
	return unlink(path) == 0 ? ATL_OK : ATL_E_IO;
}

const char *atl_client_url(const char *opt)
{
	const char *e = getenv(ATL_CLIENT_URL_ENV);

	if (opt != NULL && opt[0] != '\0')
		return opt;
	return e != NULL && e[0] != '\0' ? e : NULL;
}

const char *atl_client_api_key(const char *opt)
{
	const char *e = getenv(ATL_CLIENT_KEY_ENV);

	if (opt != NULL && opt[0] != '\0')
		return opt;
	return e != NULL && e[0] != '\0' ? e : NULL;
}

enum atl_err atl_client_policy_load(const char *dir, const char *path, json_t **p_out,
				    char *used_out, size_t cap, char *why, size_t why_cap)
{
	int n;

	*p_out = NULL;
	if (why_cap > 0)
		why[0] = '\0';
	if (path != NULL)
		n = snprintf(used_out, cap, "%s", path);
	else
		n = snprintf(used_out, cap, "%s/%s", dir, ATL_CLIENT_POLICY_FILE);
	if (n < 0 || (size_t)n >= cap)
		return ATL_E_LIMIT;
	return atl_policy_load(used_out, p_out, why, why_cap);
}
