/* The broker's master key sealed by a TPM (master_tpm.h; the sealing itself
 * is atl_tpm_seal / atl_tpm_unseal of the tpm backend, src/attest/tpm_seal.c).
 *
 * State directory in this mode: master.tpm (the sealed blob: the TPM URI it
 * was made on, the sealed object's public and private parts; mode 0600,
 * useless without that TPM) instead of master.key. The plaintext master key
 * lives only in the broker's secret memory. */
#define ATL_LOG_MODULE "kbs"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atoll/digest.h"
#include "atoll/file.h"
#include "atoll/kbs.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "atoll/tpm.h"
#include "master_tpm.h"

/* Process-wide: the TPM named by --master-tpm ("" none). */
static char g_uri[ATL_TPM_SEAL_URI_MAX + 1];

enum atl_err atl_kbs_master_tpm_set(const char *uri)
{
	size_t n;

	if (uri == NULL) {
		g_uri[0] = '\0';
		return ATL_OK;
	}
	n = strlen(uri);
	if (n == 0 || n > ATL_TPM_SEAL_URI_MAX)
		return ATL_E_ARG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)uri[i] < 0x21 || (unsigned char)uri[i] > 0x7e)
			return ATL_E_ARG;
	memcpy(g_uri, uri, n + 1);
	return ATL_OK;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(n);

	if (p != NULL)
		(void)snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* A fresh random key, sealed, written exclusively to tpath. */
static enum atl_err master_create(const char *tpath, uint8_t *master, size_t len)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	enum atl_err e;

	e = atl_random(master, len);
	if (e == ATL_OK)
		e = atl_tpm_seal(g_uri, master, len, &blob, &blob_len);
	if (e == ATL_OK)
		e = atl_file_write(tpath, blob, blob_len, 0600, 1);
	free(blob);
	if (e == ATL_OK)
		atl_info("created a master key sealed by the TPM %s (%s)", g_uri, tpath);
	else
		atl_error("cannot create a master key sealed by the TPM %s: %s", g_uri,
			  atl_err_name(e));
	return e;
}

static enum atl_err master_unseal(const char *tpath, uint8_t *master, size_t len)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0, got = 0;
	struct atl_tpm_sealed s;
	enum atl_err e;

	e = atl_file_read(tpath, ATL_TPM_SEAL_FILE_MAX, &blob, &blob_len);
	if (e == ATL_E_LIMIT)
		e = ATL_E_FORMAT;
	if (e == ATL_OK && atl_tpm_sealed_parse(blob, blob_len, &s) != ATL_OK)
		e = ATL_E_FORMAT;
	if (e == ATL_E_FORMAT)
		atl_error("%s is not a sealed master key", tpath);
	if (e == ATL_OK) {
		const char *uri = g_uri[0] != '\0' ? g_uri : s.uri;

		e = atl_tpm_unseal(uri, blob, blob_len, master, len, &got);
		if (e == ATL_OK && got != len)
			e = ATL_E_FORMAT;
		if (e == ATL_E_AUTH)
			atl_error("the master key in %s does not unseal on the TPM %s (another "
				  "TPM, or its owner hierarchy was cleared)",
				  tpath, uri);
		else if (e != ATL_OK)
			atl_error("cannot unseal the master key in %s on the TPM %s: %s", tpath,
				  uri[0] != '\0' ? uri : "(none recorded: use --master-tpm)",
				  atl_err_name(e));
	}
	if (e != ATL_OK)
		atl_wipe(master, len);
	free(blob);
	return e;
}

enum atl_err atl_kbs_master_tpm_load(const char *dir, uint8_t *master, size_t len, bool *used)
{
	char *tpath = join(dir, ATL_KBS_MASTER_TPM_FILE);
	char *kpath = join(dir, ATL_KBS_MASTER_FILE);
	struct stat st;
	bool have_tpm, have_key;
	enum atl_err e = ATL_OK;

	*used = false;
	if (tpath == NULL || kpath == NULL) {
		free(tpath);
		free(kpath);
		return ATL_E_NOMEM;
	}
	have_tpm = lstat(tpath, &st) == 0 || errno != ENOENT;
	have_key = lstat(kpath, &st) == 0 || errno != ENOENT;
	if (have_tpm || g_uri[0] != '\0') {
		*used = true;
		if (have_key) {
			atl_error("%s has a file master key (%s) %s: refused", dir,
				  ATL_KBS_MASTER_FILE,
				  have_tpm ? "and a TPM-sealed one" : "but a TPM was asked for");
			e = ATL_E_STATE;
		} else if (have_tpm) {
			e = master_unseal(tpath, master, len);
		} else {
			e = master_create(tpath, master, len);
		}
	}
	free(tpath);
	free(kpath);
	return e;
}
