/* The island's model cache: CACHE/<sha256>.model files (0600 in a 0700
 * directory), each checked against the digest the coordinator pinned for the
 * workload before the enclave gets its path. The enclave checks the digest
 * again before use (the island is untrusted); this check only keeps a bad
 * download from costing a job. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATL_LOG_MODULE "island"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/log.h"
#include "atoll/secmem.h"
#include "island/island_int.h"

static bool is_hex64(const char *s)
{
	if (s == NULL || strlen(s) != 2 * ATL_SHA256_LEN)
		return false;
	return strspn(s, "0123456789abcdef") == 2 * ATL_SHA256_LEN;
}

static bool id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= ATL_STORE_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static enum atl_err download(struct island *is, const char *workload, const uint8_t want[32],
			     const char *path)
{
	struct atl_http_call hc = {0};
	struct atl_http_response r = {0};
	char url[ISL_URL_MAX + 128];
	uint8_t got[ATL_SHA256_LEN];
	enum atl_err rc;

	if (is->mhttp == NULL) {
		struct atl_http_client_opts o = {.bearer = is->o->token,
						 .ca_file = is->o->tls_ca_file,
						 .cert_file = is->o->tls_cert_file,
						 .key_file = is->o->tls_key_file,
						 .timeout_ms = 300000,
						 .response_max = ATL_COORD_MODEL_MAX};
		rc = atl_http_client_new(&o, &is->mhttp);
		if (rc != ATL_OK)
			return rc;
	}
	snprintf(url, sizeof(url), "%s/api/v1/islands/models/%s", is->base, workload);
	hc.method = "GET";
	hc.url = url;
	rc = atl_http_client_do(is->mhttp, &hc, &r);
	if (rc != ATL_OK) {
		atl_warn("model of workload %s: download failed: %s", workload, atl_strerror(rc));
		return rc;
	}
	if (r.status != 200) {
		char code[48], msg[160];
		atl_http_response_error(&r, code, sizeof(code), msg, sizeof(msg));
		atl_warn("model of workload %s: the coordinator answered %ld %s: %s", workload,
			 r.status, code, msg);
		atl_http_response_clear(&r);
		return ATL_E_NOTFOUND;
	}
	rc = atl_hash(ATL_HASH_SHA256, r.body, r.body_len, got);
	if (rc == ATL_OK && !atl_ct_eq(got, want, sizeof(got))) {
		atl_warn("model of workload %s: downloaded bytes do not have the pinned SHA-256",
			 workload);
		rc = ATL_E_AUTH;
	}
	if (rc == ATL_OK)
		rc = atl_file_write(path, r.body, r.body_len, 0600, 0);
	if (rc == ATL_OK)
		atl_info("model of workload %s cached (%zu bytes)", workload, r.body_len);
	atl_http_response_clear(&r);
	return rc;
}

enum atl_err isl_model_path(struct island *is, const char *workload, const char *sha_hex,
			    char *path_out, size_t cap)
{
	uint8_t want[ATL_SHA256_LEN], got[ATL_SHA256_LEN];
	char path[ISL_PATH_MAX + 128], abs[PATH_MAX];
	size_t n = 0;
	enum atl_err rc;

	path_out[0] = '\0';
	if (!is_hex64(sha_hex) || !id_ok(workload) ||
	    atl_hex_decode(sha_hex, strlen(sha_hex), want, sizeof(want), &n) != ATL_OK ||
	    n != sizeof(want))
		return ATL_E_FORMAT;
	if (atl_mkdir_p(is->o->cache_dir, 0700) != ATL_OK)
		return ATL_E_IO;
	snprintf(path, sizeof(path), "%s/%s.model", is->o->cache_dir, sha_hex);
	rc = atl_hash_file(ATL_HASH_SHA256, path, got);
	if (rc != ATL_OK || !atl_ct_eq(got, want, sizeof(got))) {
		if (rc == ATL_OK)
			atl_warn("cached model %.16s… changed on disk: fetching it again", sha_hex);
		rc = download(is, workload, want, path);
		if (rc != ATL_OK)
			return rc;
	}
	if (realpath(path, abs) == NULL || strlen(abs) >= cap)
		return ATL_E_IO;
	snprintf(path_out, cap, "%s", abs);
	return ATL_OK;
}
