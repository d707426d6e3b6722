/* Encrypted model files (.atm); layout in include/atoll/model_crypt.h and
 * docs/internals/kbs.md.
 *
 * Decryption is parse (the 196-byte header through the bounded reader),
 * validate (version, chunk size and plaintext length against named limits,
 * the file size against the layout), then use (unwrap the DEK, which
 * authenticates the header, then open chunk after chunk into one secret
 * buffer). Plaintext leaves this file only after every tag and the whole-model
 * SHA-256 verified; every failure path wipes and frees the buffer. */
#define ATL_LOG_MODULE "kbs"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/aead.h"
#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/log.h"
#include "atoll/model_crypt.h"
#include "atoll/secmem.h"

#define WRAP_AAD_LEN 136 /* header bytes before wrap_nonce */
#define WRAP_NONCE_OFF 136
#define WRAPPED_OFF 148
#define WRAPPED_LEN (ATL_ATM_DEK_LEN + ATL_AEAD_TAG_LEN)
#define KEK_ID_OFF 72
#define CHUNK_DOMAIN "atoll-atm-chunk-v1"
#define CHUNK_DOMAIN_LEN 18
#define CHUNK_AAD_LEN (CHUNK_DOMAIN_LEN + ATL_ATM_MODEL_ID_LEN + 8 + 1)

_Static_assert(sizeof(CHUNK_DOMAIN) - 1 == CHUNK_DOMAIN_LEN, "chunk domain length");
_Static_assert(WRAPPED_OFF + WRAPPED_LEN == ATL_ATM_HEADER_LEN, "header layout");

/* ---- layout helpers ------------------------------------------------------ */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void chunk_nonce(uint64_t i, uint8_t nonce[ATL_AEAD_NONCE_LEN])
{
	memset(nonce, 0, 4);
	put_be64(nonce + 4, i);
}

static void chunk_aad(const uint8_t model_id[ATL_ATM_MODEL_ID_LEN], uint64_t i, int final,
		      uint8_t aad[CHUNK_AAD_LEN])
{
	memcpy(aad, CHUNK_DOMAIN, CHUNK_DOMAIN_LEN);
	memcpy(aad + CHUNK_DOMAIN_LEN, model_id, ATL_ATM_MODEL_ID_LEN);
	put_be64(aad + CHUNK_DOMAIN_LEN + ATL_ATM_MODEL_ID_LEN, i);
	aad[CHUNK_AAD_LEN - 1] = final ? 1 : 0;
}

/* Plaintext bytes of chunk i. */
static size_t chunk_len(const struct atl_model_info *info, uint64_t i)
{
	uint64_t off = i * info->chunk_size;
	uint64_t left = info->pt_len - off;
	return (size_t)(left < info->chunk_size ? left : info->chunk_size);
}

static int kek_id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

int atl_model_kek_id_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, ATL_ATM_KEK_ID_MAX + 1);
	if (n == 0 || n > ATL_ATM_KEK_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!kek_id_char_ok(s[i]))
			return 0;
	return 1;
}

/* ---- header -------------------------------------------------------------- */

enum atl_err atl_model_header_parse(const uint8_t *buf, size_t len, struct atl_model_info *info_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_rd r;
	struct atl_model_info info;
	const uint8_t *magic = NULL, *kid = NULL;
	uint16_t aead = 0;
	size_t kid_len = 0;
	uint64_t body = 0, tags = 0;

	memset(&info, 0, sizeof(info));
	memset(info_out, 0, sizeof(*info_out));
	if (buf == NULL || len < ATL_ATM_HEADER_LEN)
		return ATL_E_TRUNCATED;
	atl_rd_init(&r, buf, ATL_ATM_HEADER_LEN);
	/* parse */
	ATL_TRY(atl_rd_view(&r, 8, &magic));
	ATL_TRY(atl_rd_u16be(&r, &info.version));
	ATL_TRY(atl_rd_u16be(&r, &aead));
	ATL_TRY(atl_rd_u32be(&r, &info.chunk_size));
	ATL_TRY(atl_rd_bytes(&r, info.model_id, ATL_ATM_MODEL_ID_LEN));
	ATL_TRY(atl_rd_u64be(&r, &info.pt_len));
	ATL_TRY(atl_rd_bytes(&r, info.pt_sha256, sizeof(info.pt_sha256)));
	ATL_TRY(atl_rd_view(&r, ATL_ATM_KEK_ID_MAX, &kid));
	ATL_TRY(atl_rd_skip(&r, ATL_AEAD_NONCE_LEN + WRAPPED_LEN));
	ATL_TRY(atl_rd_finish(&r));
	/* validate */
	rc = ATL_E_FORMAT;
	if (memcmp(magic, ATL_ATM_MAGIC, 8) != 0)
		goto out;
	rc = ATL_E_UNSUPPORTED;
	if (info.version != ATL_ATM_VERSION || aead != ATL_AEAD_AES256_GCM)
		goto out;
	rc = ATL_E_LIMIT;
	if (info.chunk_size < ATL_ATM_CHUNK_MIN || info.chunk_size > ATL_ATM_CHUNK_MAX ||
	    info.pt_len > ATL_ATM_PLAINTEXT_MAX)
		goto out;
	rc = ATL_E_FORMAT;
	while (kid_len < ATL_ATM_KEK_ID_MAX && kid[kid_len] != 0)
		kid_len++;
	if (kid_len == 0)
		goto out;
	for (size_t i = 0; i < kid_len; i++)
		if (!kek_id_char_ok((char)kid[i]))
			goto out;
	for (size_t i = kid_len; i < ATL_ATM_KEK_ID_MAX; i++)
		if (kid[i] != 0)
			goto out; /* canonical padding: one header, one encoding */
	memcpy(info.kek_id, kid, kid_len);
	info.n_chunks = info.pt_len == 0 ? 1 : (info.pt_len - 1) / info.chunk_size + 1;
	rc = ATL_E_LIMIT;
	if (__builtin_mul_overflow(info.n_chunks, (uint64_t)ATL_AEAD_TAG_LEN, &tags) ||
	    __builtin_add_overflow(info.pt_len, tags, &body) ||
	    __builtin_add_overflow(body, (uint64_t)ATL_ATM_HEADER_LEN, &info.file_len))
		goto out;
	*info_out = info;
	rc = ATL_OK;
out:
	return rc;
}

/* DEK = open(KEK, wrap_nonce, header[0..136), wrapped_dek); ATL_E_AUTH when
 * the KEK is wrong or any header field was edited. */
static enum atl_err unwrap_dek(const uint8_t raw[ATL_ATM_HEADER_LEN],
			       const uint8_t kek[ATL_ATM_KEK_LEN], uint8_t dek[ATL_ATM_DEK_LEN])
{
	size_t n = 0;
	enum atl_err rc;

	rc = atl_aead_open(ATL_AEAD_AES256_GCM, kek, ATL_ATM_KEK_LEN, raw + WRAP_NONCE_OFF,
			   ATL_AEAD_NONCE_LEN, raw, WRAP_AAD_LEN, raw + WRAPPED_OFF, WRAPPED_LEN,
			   dek, ATL_ATM_DEK_LEN, &n);
	if (rc == ATL_OK && n != ATL_ATM_DEK_LEN)
		rc = ATL_E_INTERNAL;
	if (rc != ATL_OK)
		atl_wipe(dek, ATL_ATM_DEK_LEN);
	return rc;
}

/* Sets kek_id, draws a wrap nonce and wraps dek under kek into raw, whose
 * other fields are already filled in. */
static enum atl_err wrap_dek(uint8_t raw[ATL_ATM_HEADER_LEN], const uint8_t kek[ATL_ATM_KEK_LEN],
			     const char *kek_id, const uint8_t dek[ATL_ATM_DEK_LEN])
{
	enum atl_err rc = ATL_E_INTERNAL;
	size_t n = 0;

	memset(raw + KEK_ID_OFF, 0, ATL_ATM_KEK_ID_MAX);
	memcpy(raw + KEK_ID_OFF, kek_id, strlen(kek_id));
	ATL_TRY(atl_random(raw + WRAP_NONCE_OFF, ATL_AEAD_NONCE_LEN));
	ATL_TRY(atl_aead_seal(ATL_AEAD_AES256_GCM, kek, ATL_ATM_KEK_LEN, raw + WRAP_NONCE_OFF,
			      ATL_AEAD_NONCE_LEN, raw, WRAP_AAD_LEN, dek, ATL_ATM_DEK_LEN,
			      raw + WRAPPED_OFF, WRAPPED_LEN, &n));
	rc = n == WRAPPED_LEN ? ATL_OK : ATL_E_INTERNAL;
out:
	return rc;
}

/* ---- fd helpers ---------------------------------------------------------- */

static enum atl_err open_err(void)
{
	return errno == ENOENT ? ATL_E_NOTFOUND : ATL_E_IO;
}

/* Reads exactly n bytes (fewer only at end of file: *got_out says how many). */
static enum atl_err read_full(int fd, uint8_t *buf, size_t n, size_t *got_out)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return ATL_E_IO;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	*got_out = got;
	return ATL_OK;
}

static enum atl_err write_full(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ATL_E_IO;
		buf += k;
		n -= (size_t)k;
	}
	return ATL_OK;
}

/* ---- encrypt ------------------------------------------------------------- */

static enum atl_err build_header(uint8_t raw[ATL_ATM_HEADER_LEN], uint32_t chunk_size,
				 const uint8_t model_id[ATL_ATM_MODEL_ID_LEN], uint64_t pt_len,
				 const uint8_t digest[32])
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct atl_wr w;
	uint8_t *buf = NULL;
	size_t len = 0;

	atl_wr_init(&w, ATL_ATM_HEADER_LEN, false);
	ATL_TRY(atl_wr_bytes(&w, ATL_ATM_MAGIC, 8));
	ATL_TRY(atl_wr_u16be(&w, ATL_ATM_VERSION));
	ATL_TRY(atl_wr_u16be(&w, ATL_AEAD_AES256_GCM));
	ATL_TRY(atl_wr_u32be(&w, chunk_size));
	ATL_TRY(atl_wr_bytes(&w, model_id, ATL_ATM_MODEL_ID_LEN));
	ATL_TRY(atl_wr_u64be(&w, pt_len));
	ATL_TRY(atl_wr_bytes(&w, digest, 32));
	ATL_TRY(atl_wr_reserve(&w, ATL_ATM_KEK_ID_MAX + ATL_AEAD_NONCE_LEN + WRAPPED_LEN, &len));
	ATL_TRY(atl_wr_take(&w, &buf, &len));
	rc = len == ATL_ATM_HEADER_LEN ? ATL_OK : ATL_E_INTERNAL;
	if (rc == ATL_OK)
		memcpy(raw, buf, ATL_ATM_HEADER_LEN);
out:
	free(buf);
	atl_wr_free(&w);
	return rc;
}

enum atl_err atl_model_encrypt(const char *in_path, const char *out_path,
			       const uint8_t kek[ATL_ATM_KEK_LEN], const char *kek_id,
			       const uint8_t *model_id, uint32_t chunk_size,
			       struct atl_model_info *info_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	int in_fd = -1, out_fd = -1;
	char *tmp = NULL;
	uint8_t *dek = NULL, *pt = NULL, *ct = NULL;
	uint8_t raw[ATL_ATM_HEADER_LEN], mid[ATL_ATM_MODEL_ID_LEN], digest[32];
	uint8_t nonce[ATL_AEAD_NONCE_LEN], aad[CHUNK_AAD_LEN], probe;
	struct atl_hash_ctx *h = NULL;
	struct stat st;
	uint64_t pt_len, n_chunks;
	size_t got = 0, n = 0;

	if (info_out != NULL)
		memset(info_out, 0, sizeof(*info_out));
	if (in_path == NULL || out_path == NULL || kek == NULL || !atl_model_kek_id_ok(kek_id))
		return ATL_E_ARG;
	if (chunk_size == 0)
		chunk_size = ATL_ATM_CHUNK_DEFAULT;
	if (chunk_size < ATL_ATM_CHUNK_MIN || chunk_size > ATL_ATM_CHUNK_MAX)
		return ATL_E_ARG;

	in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		rc = open_err();
		goto out;
	}
	rc = ATL_E_IO;
	if (fstat(in_fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	rc = ATL_E_LIMIT;
	if ((uint64_t)st.st_size > ATL_ATM_PLAINTEXT_MAX)
		goto out;
	pt_len = (uint64_t)st.st_size;
	n_chunks = pt_len == 0 ? 1 : (pt_len - 1) / chunk_size + 1;

	rc = ATL_E_NOMEM;
	if (asprintf(&tmp, "%s.tmpXXXXXX", out_path) < 0) {
		tmp = NULL;
		goto out;
	}
	dek = atl_secret_alloc(ATL_ATM_DEK_LEN);
	pt = atl_secret_alloc(chunk_size);
	ct = malloc((size_t)chunk_size + ATL_AEAD_TAG_LEN);
	if (dek == NULL || pt == NULL || ct == NULL)
		goto out;
	out_fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (out_fd < 0) {
		rc = ATL_E_IO;
		free(tmp);
		tmp = NULL;
		goto out;
	}
	ATL_TRY(atl_random(dek, ATL_ATM_DEK_LEN));
	if (model_id != NULL)
		memcpy(mid, model_id, sizeof(mid));
	else
		ATL_TRY(atl_random(mid, sizeof(mid)));
	memset(raw, 0, sizeof(raw));
	ATL_TRY(write_full(out_fd, raw, sizeof(raw))); /* placeholder, written last */
	ATL_TRY(atl_hash_new(ATL_HASH_SHA256, &h));

	for (uint64_t i = 0; i < n_chunks; i++) {
		uint64_t left = pt_len - i * chunk_size;
		size_t clen = (size_t)(left < chunk_size ? left : chunk_size);
		ATL_TRY(read_full(in_fd, pt, clen, &got));
		if (got != clen) {
			atl_error("%s shrank while being encrypted", in_path);
			rc = ATL_E_IO;
			goto out;
		}
		ATL_TRY(atl_hash_update(h, pt, clen));
		chunk_nonce(i, nonce);
		chunk_aad(mid, i, i + 1 == n_chunks, aad);
		ATL_TRY(atl_aead_seal(ATL_AEAD_AES256_GCM, dek, ATL_ATM_DEK_LEN, nonce,
				      sizeof(nonce), aad, sizeof(aad), pt, clen, ct,
				      (size_t)chunk_size + ATL_AEAD_TAG_LEN, &n));
		ATL_TRY(write_full(out_fd, ct, n));
	}
	ATL_TRY(read_full(in_fd, &probe, 1, &got));
	if (got != 0) {
		atl_error("%s grew while being encrypted", in_path);
		rc = ATL_E_IO;
		goto out;
	}
	ATL_TRY(atl_hash_final(h, digest));

	ATL_TRY(build_header(raw, chunk_size, mid, pt_len, digest));
	ATL_TRY(wrap_dek(raw, kek, kek_id, dek));
	rc = ATL_E_IO;
	if (pwrite(out_fd, raw, sizeof(raw), 0) != (ssize_t)sizeof(raw) || fsync(out_fd) != 0)
		goto out;
	if (close(out_fd) != 0) {
		out_fd = -1;
		goto out;
	}
	out_fd = -1;
	if (rename(tmp, out_path) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	if (info_out != NULL)
		ATL_TRY(atl_model_header_parse(raw, sizeof(raw), info_out));
	rc = ATL_OK;
out:
	if (out_fd >= 0)
		close(out_fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	if (in_fd >= 0)
		close(in_fd);
	atl_hash_free(h);
	atl_secret_free(dek);
	atl_secret_free(pt);
	free(ct);
	atl_wipe(&probe, sizeof(probe));
	return rc;
}

/* ---- decrypt ------------------------------------------------------------- */

/* The streaming decryptor over f, whose total size is total bytes. With
 * buf == NULL the plaintext goes to a new secret buffer (*pt_out); otherwise
 * into buf[0..cap), which is wiped whole on any failure. */
static enum atl_err decrypt_stream(FILE *f, uint64_t total, const uint8_t kek[ATL_ATM_KEK_LEN],
				   const uint8_t *expect_model_id, uint8_t *buf, size_t cap,
				   uint8_t **pt_out, size_t *len_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t raw[ATL_ATM_HEADER_LEN], digest[32];
	uint8_t nonce[ATL_AEAD_NONCE_LEN], aad[CHUNK_AAD_LEN];
	uint8_t *dek = NULL, *pt = NULL, *ct = NULL;
	struct atl_hash_ctx *h = NULL;
	struct atl_model_info info;
	size_t off = 0, n = 0;

	if (pt_out != NULL)
		*pt_out = NULL;
	*len_out = 0;
	memset(digest, 0, sizeof(digest));
	if (buf != NULL)
		atl_wipe(buf, cap);
	if (kek == NULL)
		return ATL_E_ARG;
	/* parse */
	if (total < ATL_ATM_HEADER_LEN)
		return ATL_E_TRUNCATED;
	if (fread(raw, 1, sizeof(raw), f) != sizeof(raw))
		return ATL_E_IO;
	ATL_TRY(atl_model_header_parse(raw, sizeof(raw), &info));
	/* validate: the size the layout requires, before any allocation */
	rc = total < info.file_len ? ATL_E_TRUNCATED : ATL_E_TRAILING;
	if (total != info.file_len)
		goto out;
	rc = ATL_E_LIMIT;
	if (info.pt_len > SIZE_MAX - 1)
		goto out;
	rc = ATL_E_NOMEM;
	dek = atl_secret_alloc(ATL_ATM_DEK_LEN);
	if (dek == NULL)
		goto out;
	/* use: the unwrap authenticates every header field */
	ATL_TRY(unwrap_dek(raw, kek, dek));
	rc = ATL_E_AUTH;
	if (expect_model_id != NULL &&
	    !atl_ct_eq(expect_model_id, info.model_id, ATL_ATM_MODEL_ID_LEN))
		goto out;
	rc = ATL_E_LIMIT;
	if (buf != NULL && info.pt_len > cap)
		goto out;
	rc = ATL_E_NOMEM;
	pt = buf != NULL ? buf : atl_secret_alloc(info.pt_len ? (size_t)info.pt_len : 1);
	ct = malloc((size_t)info.chunk_size + ATL_AEAD_TAG_LEN);
	if (pt == NULL || ct == NULL)
		goto out;
	ATL_TRY(atl_hash_new(ATL_HASH_SHA256, &h));
	for (uint64_t i = 0; i < info.n_chunks; i++) {
		size_t clen = chunk_len(&info, i);
		rc = ATL_E_TRUNCATED;
		if (fread(ct, 1, clen + ATL_AEAD_TAG_LEN, f) != clen + ATL_AEAD_TAG_LEN)
			goto out;
		chunk_nonce(i, nonce);
		chunk_aad(info.model_id, i, i + 1 == info.n_chunks, aad);
		ATL_TRY(atl_aead_open(ATL_AEAD_AES256_GCM, dek, ATL_ATM_DEK_LEN, nonce,
				      sizeof(nonce), aad, sizeof(aad), ct,
				      clen + ATL_AEAD_TAG_LEN, pt + off, clen, &n));
		rc = ATL_E_INTERNAL;
		if (n != clen)
			goto out;
		ATL_TRY(atl_hash_update(h, pt + off, clen));
		off += clen;
	}
	rc = ATL_E_TRAILING;
	if (fgetc(f) != EOF) /* the file grew after we sized it */
		goto out;
	ATL_TRY(atl_hash_final(h, digest));
	rc = ATL_E_AUTH;
	if (off != info.pt_len || !atl_ct_eq(digest, info.pt_sha256, sizeof(digest)))
		goto out;
	if (pt_out != NULL)
		*pt_out = pt;
	*len_out = (size_t)info.pt_len;
	pt = NULL;
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_debug("model decrypt refused: %s", atl_err_name(rc));
	if (pt != NULL && pt == buf)
		atl_wipe(buf, cap); /* the caller's buffer: wipe, keep */
	else
		atl_secret_free(pt); /* wipes any partial plaintext */
	atl_secret_free(dek);
	free(ct);
	atl_hash_free(h);
	atl_wipe(digest, sizeof(digest));
	return rc;
}

enum atl_err atl_model_decrypt_to_secret(const char *path, const uint8_t kek[ATL_ATM_KEK_LEN],
					 const uint8_t *expect_model_id, uint8_t **pt_out,
					 size_t *len_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct stat st;
	FILE *f = NULL;
	int fd;

	*pt_out = NULL;
	*len_out = 0;
	if (path == NULL)
		return ATL_E_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_err();
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return ATL_E_IO;
	}
	rc = decrypt_stream(f, (uint64_t)st.st_size, kek, expect_model_id, NULL, 0, pt_out,
			    len_out);
	fclose(f);
	return rc;
}

enum atl_err atl_model_decrypt_into(const char *path, const uint8_t kek[ATL_ATM_KEK_LEN],
				    const uint8_t *expect_model_id, uint8_t *buf, size_t cap,
				    size_t *len_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	struct stat st;
	FILE *f = NULL;
	int fd;

	*len_out = 0;
	if (buf == NULL || cap == 0)
		return ATL_E_ARG;
	atl_wipe(buf, cap);
	if (path == NULL)
		return ATL_E_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_err();
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return ATL_E_IO;
	}
	rc = decrypt_stream(f, (uint64_t)st.st_size, kek, expect_model_id, buf, cap, NULL,
			    len_out);
	fclose(f);
	return rc;
}

enum atl_err atl_model_decrypt_mem(const uint8_t *buf, size_t len,
				   const uint8_t kek[ATL_ATM_KEK_LEN],
				   const uint8_t *expect_model_id, uint8_t **pt_out,
				   size_t *len_out)
{
	enum atl_err rc;
	FILE *f;

	*pt_out = NULL;
	*len_out = 0;
	if (buf == NULL || len < ATL_ATM_HEADER_LEN)
		return ATL_E_TRUNCATED;
	f = fmemopen((void *)buf, len, "rb");
	if (f == NULL)
		return ATL_E_NOMEM;
	rc = decrypt_stream(f, len, kek, expect_model_id, NULL, 0, pt_out, len_out);
	fclose(f);
	return rc;
}

/* ---- rewrap, inspect ----------------------------------------------------- */

static enum atl_err read_header(int fd, uint8_t raw[ATL_ATM_HEADER_LEN])
{
	ssize_t k = pread(fd, raw, ATL_ATM_HEADER_LEN, 0);

	if (k < 0)
		return ATL_E_IO;
	return k == ATL_ATM_HEADER_LEN ? ATL_OK : ATL_E_TRUNCATED;
}

enum atl_err atl_model_rewrap(const char *path, const uint8_t old_kek[ATL_ATM_KEK_LEN],
			      const uint8_t new_kek[ATL_ATM_KEK_LEN], const char *new_kek_id)
{
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t raw[ATL_ATM_HEADER_LEN];
	uint8_t *dek = NULL;
	struct atl_model_info info;
	int fd = -1;

	if (path == NULL || old_kek == NULL || new_kek == NULL || !atl_model_kek_id_ok(new_kek_id))
		return ATL_E_ARG;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return open_err();
	ATL_TRY(read_header(fd, raw));
	ATL_TRY(atl_model_header_parse(raw, sizeof(raw), &info));
	rc = ATL_E_NOMEM;
	dek = atl_secret_alloc(ATL_ATM_DEK_LEN);
	if (dek == NULL)
		goto out;
	ATL_TRY(unwrap_dek(raw, old_kek, dek));
	ATL_TRY(wrap_dek(raw, new_kek, new_kek_id, dek));
	rc = ATL_E_IO;
	if (pwrite(fd, raw, sizeof(raw), 0) != (ssize_t)sizeof(raw) || fsync(fd) != 0)
		goto out;
	atl_info("model rewrapped: kek %s -> %s", info.kek_id, new_kek_id);
	rc = ATL_OK;
out:
	if (fd >= 0)
		close(fd);
	atl_secret_free(dek);
	return rc;
}

enum atl_err atl_model_inspect(const char *path, struct atl_model_info *info_out)
{
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t raw[ATL_ATM_HEADER_LEN];
	struct stat st;
	int fd;

	memset(info_out, 0, sizeof(*info_out));
	if (path == NULL)
		return ATL_E_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_err();
	rc = ATL_E_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	ATL_TRY(read_header(fd, raw));
	ATL_TRY(atl_model_header_parse(raw, sizeof(raw), info_out));
	rc = (uint64_t)st.st_size < info_out->file_len ? ATL_E_TRUNCATED : ATL_E_TRAILING;
	if ((uint64_t)st.st_size != info_out->file_len)
		goto out;
	rc = ATL_OK;
out:
	close(fd);
	return rc;
}

/* ---- KEK files ----------------------------------------------------------- */

enum atl_err atl_model_kek_new(const char *path)
{
	enum atl_err rc = ATL_E_INTERNAL;
	uint8_t kek[ATL_ATM_KEK_LEN];
	char hex[2 * ATL_ATM_KEK_LEN + 2];

	ATL_TRY(atl_random(kek, sizeof(kek)));
	ATL_TRY(atl_hex_encode(kek, sizeof(kek), hex, sizeof(hex)));
	hex[2 * ATL_ATM_KEK_LEN] = '\n';
	ATL_TRY(atl_file_write(path, hex, sizeof(hex) - 1, 0600, 1));
	rc = ATL_OK;
out:
	atl_wipe(kek, sizeof(kek));
	atl_wipe(hex, sizeof(hex));
	return rc;
}

enum atl_err atl_model_kek_load(const char *path, uint8_t kek_out[ATL_ATM_KEK_LEN])
{
	enum atl_err rc = ATL_E_INTERNAL;
	char buf[2 * ATL_ATM_KEK_LEN + 3];
	struct stat st;
	size_t got = 0;
	int fd;

	atl_wipe(kek_out, ATL_ATM_KEK_LEN);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_err();
	rc = ATL_E_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	rc = ATL_E_POLICY;
	if ((st.st_mode & 077) != 0) {
		atl_error("KEK file %s is readable by group or others (chmod 600)", path);
		goto out;
	}
	ATL_TRY(read_full(fd, (uint8_t *)buf, sizeof(buf), &got));
	rc = ATL_E_FORMAT;
	if (got == 2 * ATL_ATM_KEK_LEN + 1 && buf[got - 1] == '\n')
		got--;
	if (got != 2 * ATL_ATM_KEK_LEN)
		goto out;
	ATL_TRY(atl_hex_decode_exact(buf, got, kek_out, ATL_ATM_KEK_LEN));
	rc = ATL_OK;
out:
	if (rc != ATL_OK)
		atl_wipe(kek_out, ATL_ATM_KEK_LEN);
	atl_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}
