/* Shared helpers of the hardware verifiers; see attest/hwcommon.h. */
#define ATL_LOG_MODULE "attest"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/limits.h"
#include "atoll/log.h"
#include "atoll/policy.h"
#include "attest/hwcommon.h"

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

enum atl_err atl_hw_builtin(enum atl_hw_root_kind kind, struct atl_x509_list **out)
{
	enum atl_err rc = ATL_OK;

	for (size_t i = 0; atl_hw_roots[i].name != NULL && rc == ATL_OK; i++) {
		const struct atl_hw_root *r = &atl_hw_roots[i];
		struct atl_x509 *c = NULL;
		uint8_t fp[32];
		char hex[65];

		if (r->kind != kind)
			continue;
		rc = atl_x509_parse((const uint8_t *)r->pem, strlen(r->pem), &c);
		if (rc == ATL_OK)
			rc = atl_x509_fingerprint(c, fp);
		if (rc == ATL_OK)
			rc = atl_hex_encode(fp, sizeof(fp), hex, sizeof(hex));
		if (rc == ATL_OK && strcmp(hex, r->sha256_hex) != 0) {
			atl_error("built-in certificate %s does not match its fingerprint", r->name);
			rc = ATL_E_INTERNAL;
		}
		if (rc == ATL_OK)
			rc = atl_x509_list_add(out, c);
		atl_x509_free(c);
	}
	return rc;
}

enum atl_err atl_hw_anchors(const struct atl_verify_in *in, const char *tee,
			    enum atl_hw_root_kind kind, struct atl_x509_list **out,
			    const char **source_out)
{
	enum atl_err rc = ATL_OK;
	size_t n_pol = in == NULL ? 0 : atl_policy_anchor_count(in->policy, tee);
	bool caller = false;

	*source_out = "built-in";
	for (size_t i = 0; in != NULL && in->anchors != NULL && in->anchors[i] != NULL; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		if (i >= ATL_ATTEST_ARGS_MAX)
			return ATL_E_LIMIT;
		rc = atl_file_read(in->anchors[i], ATL_ATTEST_ANCHOR_MAX, &buf, &len);
		if (rc == ATL_OK)
			rc = atl_x509_list_parse(buf, len, out);
		free(buf);
		if (rc != ATL_OK)
			return rc;
		caller = true;
	}
	for (size_t i = 0; i < n_pol; i++) {
		const char *pem = atl_policy_anchor(in->policy, tee, i);

		if (pem == NULL)
			return ATL_E_FORMAT;
		rc = atl_x509_list_parse((const uint8_t *)pem, strlen(pem), out);
		if (rc != ATL_OK)
			return rc;
		caller = true;
	}
	if (caller) {
		*source_out = "pinned by caller";
		return ATL_OK;
	}
	return atl_hw_builtin(kind, out);
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_b64(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '+' || c == '/' || c == '=' || c == '-' || c == '_';
}

enum atl_err atl_hw_decode(const uint8_t *in, size_t len, size_t max, uint8_t **out,
			   size_t *out_len)
{
	bool all_hex = true, all_b64 = true;
	size_t start = 0, n_sig = 0;
	char *txt = NULL;
	size_t t = 0;
	enum atl_err rc = ATL_E_INTERNAL;

	*out = NULL;
	*out_len = 0;
	if (in == NULL || len == 0)
		return ATL_E_FORMAT;
	if (len > ATL_ATTEST_EVIDENCE_MAX)
		return ATL_E_LIMIT;
	while (start < len && is_space(in[start]))
		start++;
	if (len - start >= 2 && in[start] == '0' && (in[start + 1] == 'x' || in[start + 1] == 'X'))
		start += 2;
	for (size_t i = start; i < len; i++) {
		if (is_space(in[i]))
			continue;
		n_sig++;
		if (!is_hex(in[i]))
			all_hex = false;
		if (!is_b64(in[i]))
			all_b64 = false;
	}
	if (n_sig == 0 || (!all_hex && !all_b64)) {
		/* binary */
		if (len > max)
			return ATL_E_LIMIT;
		*out = malloc(len);
		if (*out == NULL)
			return ATL_E_NOMEM;
		memcpy(*out, in, len);
		*out_len = len;
		return ATL_OK;
	}
	txt = malloc(n_sig + 1);
	if (txt == NULL)
		return ATL_E_NOMEM;
	for (size_t i = start; i < len; i++) {
		if (!is_space(in[i]))
			txt[t++] = (char)in[i];
	}
	txt[t] = '\0';
	if (all_hex && t % 2 == 0)
		rc = atl_hex_decode_alloc(txt, t, out, out_len);
	else {
		bool url = strchr(txt, '-') != NULL || strchr(txt, '_') != NULL;
		rc = atl_b64_decode(txt, t, url ? ATL_B64_URL : 0, out, out_len);
	}
	free(txt);
	if (rc != ATL_OK) {
		*out = NULL;
		*out_len = 0;
		return ATL_E_FORMAT;
	}
	if (*out_len == 0 || *out_len > max) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return *out_len == 0 ? ATL_E_FORMAT : ATL_E_LIMIT;
	}
	return ATL_OK;
}

static bool contains(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; len >= n && i <= len - n; i++) {
		if (memcmp(buf + i, s, n) == 0)
			return true;
	}
	return false;
}

enum atl_err atl_hw_coll_load(const char *const *paths, struct atl_hw_coll *c, char *why,
			      size_t why_cap)
{
	enum atl_err rc = ATL_OK;

	memset(c, 0, sizeof(*c));
	say(why, why_cap, "ok");
	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
		uint8_t *buf = NULL;
		size_t len = 0, s = 0;

		if (i >= ATL_ATTEST_ARGS_MAX) {
			say(why, why_cap, "too many collateral files");
			return ATL_E_LIMIT;
		}
		rc = atl_file_read(paths[i], ATL_HW_COLLATERAL_MAX, &buf, &len);
		if (rc != ATL_OK) {
			say(why, why_cap, "collateral %s: %s", paths[i], atl_strerror(rc));
			return rc;
		}
		while (s < len && is_space(buf[s]))
			s++;
		if (s < len && buf[s] == '{') {
			if (c->n_json >= ATL_HW_JSON_MAX) {
				free(buf);
				say(why, why_cap, "too many JSON collateral files");
				return ATL_E_LIMIT;
			}
			/* atl_file_read NUL-terminates */
			c->json[c->n_json] = (char *)buf;
			c->json_len[c->n_json++] = len;
			continue;
		}
		bool pem_cert = contains(buf, len, "-----BEGIN CERTIFICATE-----");
		bool pem_crl = contains(buf, len, "-----BEGIN X509 CRL-----");
		if (pem_cert)
			rc = atl_x509_list_parse(buf, len, &c->certs);
		if (rc == ATL_OK && pem_crl)
			rc = atl_crl_list_parse(buf, len, &c->crls);
		if (rc == ATL_OK && !pem_cert && !pem_crl && contains(buf, len, "-----BEGIN"))
			rc = ATL_E_FORMAT;
		else if (rc == ATL_OK && !pem_cert && !pem_crl) {
			/* DER: a certificate or a CRL */
			struct atl_x509 *x = NULL;
			if (atl_x509_parse(buf, len, &x) == ATL_OK) {
				rc = atl_x509_list_add(&c->certs, x);
				atl_x509_free(x);
			} else {
				rc = atl_crl_list_parse(buf, len, &c->crls);
			}
		}
		free(buf);
		if (rc != ATL_OK) {
			say(why, why_cap, "collateral %s: not a certificate, CRL or JSON document (%s)",
			    paths[i], atl_strerror(rc));
			return rc;
		}
	}
	return ATL_OK;
}

void atl_hw_coll_free(struct atl_hw_coll *c)
{
	if (c == NULL)
		return;
	atl_x509_list_free(c->certs);
	atl_crl_list_free(c->crls);
	for (size_t i = 0; i < c->n_json; i++)
		free(c->json[i]);
	memset(c, 0, sizeof(*c));
}

bool atl_hw_cn_is(const struct atl_x509 *c, const char *s)
{
	char *cn = NULL;
	bool eq;

	if (atl_x509_subject_cn(c, &cn) != ATL_OK)
		return false;
	eq = strcmp(cn, s) == 0;
	free(cn);
	return eq;
}

bool atl_hw_cn_starts(const struct atl_x509 *c, const char *prefix)
{
	char *cn = NULL;
	bool eq;

	if (atl_x509_subject_cn(c, &cn) != ATL_OK)
		return false;
	eq = strncmp(cn, prefix, strlen(prefix)) == 0;
	free(cn);
	return eq;
}

#define TSM_DIR "/sys/kernel/config/tsm/report"

static enum atl_err write_all(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return ATL_E_IO;
	w = write(fd, p, n);
	(void)close(fd);
	return w == (ssize_t)n ? ATL_OK : ATL_E_IO;
}

enum atl_err atl_hw_tsm_report(const char *provider, const uint8_t report_data[ATL_REPORT_DATA_LEN],
			       bool aux, uint8_t **out, size_t *out_len)
{
	char dir[128], path[192];
	uint8_t *prov = NULL;
	size_t prov_len = 0;
	enum atl_err rc = ATL_E_INTERNAL;
	struct stat st;

	*out = NULL;
	*out_len = 0;
	if (stat(TSM_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
		return ATL_E_UNSUPPORTED;
	(void)snprintf(dir, sizeof(dir), TSM_DIR "/atoll-%ld", (long)getpid());
	if (mkdir(dir, 0700) != 0)
		return errno == EACCES || errno == EPERM ? ATL_E_DENIED : ATL_E_IO;
	(void)snprintf(path, sizeof(path), "%s/provider", dir);
	rc = atl_file_read(path, 64, &prov, &prov_len);
	if (rc != ATL_OK)
		goto out;
	while (prov_len > 0 && (prov[prov_len - 1] == '\n' || prov[prov_len - 1] == ' '))
		prov[--prov_len] = '\0';
	if (strcmp((const char *)prov, provider) != 0) {
		rc = ATL_E_UNSUPPORTED;
		goto out;
	}
	(void)snprintf(path, sizeof(path), "%s/inblob", dir);
	ATL_TRY(write_all(path, report_data, ATL_REPORT_DATA_LEN));
	(void)snprintf(path, sizeof(path), "%s/outblob", dir);
	ATL_TRY(atl_file_read(path, ATL_ATTEST_EVIDENCE_MAX, out, out_len));
	if (*out_len == 0) {
		free(*out);
		*out = NULL;
		rc = ATL_E_IO;
		goto out;
	}
	(void)snprintf(path, sizeof(path), "%s/auxblob", dir);
	if (aux && access(path, R_OK) == 0) {
		uint8_t *ab = NULL, *both;
		size_t ab_len = 0;
		if (atl_file_read(path, ATL_HW_COLLATERAL_MAX, &ab, &ab_len) == ATL_OK && ab_len > 0 &&
		    ab_len <= ATL_ATTEST_EVIDENCE_MAX - *out_len) {
			both = realloc(*out, *out_len + ab_len);
			if (both == NULL) {
				free(ab);
				rc = ATL_E_NOMEM;
				goto out;
			}
			memcpy(both + *out_len, ab, ab_len);
			*out = both;
			*out_len += ab_len;
		}
		free(ab);
	}
	rc = ATL_OK;
out:
	free(prov);
	(void)rmdir(dir);
	return rc;
}
