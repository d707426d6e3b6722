/* DEK helpers for the key broker and the enclave side (kbs.h): unwrap a
 * model's DEK from its .atm header with a KEK, and decrypt an in-memory .atm
 * image with the DEK alone (what an enclave holds after a release). The
 * layout is the one of model_crypt.h; headers are parsed by
 * atl_model_header_parse (bounded, validated) before any use. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "atoll/aead.h"
#include "atoll/digest.h"
#include "atoll/kbs.h"
#include "atoll/secmem.h"

/* Returns the error of a fallible call (for steps with nothing to undo). */
#define RET_IF(expr)                          \
	do {                                  \
		enum atl_err ret_if_ = (expr); \
		if (ret_if_ != ATL_OK)        \
			return ret_if_;       \
	} while (0)

#define WRAP_AAD_LEN 136u
#define WRAP_NONCE_OFF 136u
#define WRAP_CT_OFF 148u
#define WRAP_CT_LEN (ATL_ATM_DEK_LEN + ATL_AEAD_TAG_LEN)
#define CHUNK_LABEL "atoll-atm-chunk-v1"
#define CHUNK_LABEL_LEN 18u
#define CHUNK_AAD_LEN (CHUNK_LABEL_LEN + ATL_ATM_MODEL_ID_LEN + 8u + 1u)

enum atl_err atl_kbs_dek_unwrap(const uint8_t *buf, size_t len, const uint8_t kek[ATL_ATM_KEK_LEN],
				uint8_t dek_out[ATL_ATM_DEK_LEN], struct atl_model_info *info_out)
{
	struct atl_model_info info;
	size_t n = 0;
	enum atl_err e;

	if (buf == NULL || kek == NULL || dek_out == NULL)
		return ATL_E_ARG;
	atl_wipe(dek_out, ATL_ATM_DEK_LEN);
	RET_IF(atl_model_header_parse(buf, len, &info));
	e = atl_aead_open(ATL_AEAD_AES256_GCM, kek, ATL_ATM_KEK_LEN, buf + WRAP_NONCE_OFF,
			  ATL_AEAD_NONCE_LEN, buf, WRAP_AAD_LEN, buf + WRAP_CT_OFF, WRAP_CT_LEN,
			  dek_out, ATL_ATM_DEK_LEN, &n);
	if (e == ATL_OK && n != ATL_ATM_DEK_LEN)
		e = ATL_E_INTERNAL;
	if (e != ATL_OK) {
		atl_wipe(dek_out, ATL_ATM_DEK_LEN);
		return e == ATL_E_AUTH ? ATL_E_AUTH : e;
	}
	if (info_out)
		*info_out = info;
	return ATL_OK;
}

enum atl_err atl_kbs_dek_unwrap_file(const char *path, const uint8_t kek[ATL_ATM_KEK_LEN],
				     uint8_t dek_out[ATL_ATM_DEK_LEN],
				     struct atl_model_info *info_out)
{
	uint8_t hdr[ATL_ATM_HEADER_LEN];
	size_t got = 0;
	int fd;

	if (path == NULL)
		return ATL_E_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ATL_E_NOTFOUND;
	while (got < sizeof(hdr)) {
		ssize_t r = read(fd, hdr + got, sizeof(hdr) - got);
		if (r < 0) {
			close(fd);
			return ATL_E_IO;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got < sizeof(hdr))
		return ATL_E_TRUNCATED;
	return atl_kbs_dek_unwrap(hdr, sizeof(hdr), kek, dek_out, info_out);
}

static void chunk_aad(uint8_t aad[CHUNK_AAD_LEN], const uint8_t *model_id, uint64_t i, int final)
{
	memcpy(aad, CHUNK_LABEL, CHUNK_LABEL_LEN);
	memcpy(aad + CHUNK_LABEL_LEN, model_id, ATL_ATM_MODEL_ID_LEN);
	for (int k = 0; k < 8; k++)
		aad[CHUNK_LABEL_LEN + ATL_ATM_MODEL_ID_LEN + k] = (uint8_t)(i >> (56 - 8 * k));
	aad[CHUNK_AAD_LEN - 1] = final ? 1 : 0;
}

enum atl_err atl_kbs_dek_decrypt_mem(const uint8_t *buf, size_t len,
				     const uint8_t dek[ATL_ATM_DEK_LEN],
				     const uint8_t *expect_model_id, uint8_t **pt_out,
				     size_t *len_out)
{
	struct atl_model_info info;
	uint8_t *pt = NULL;
	uint8_t digest[ATL_SHA256_LEN];
	enum atl_err e = ATL_OK;

	if (pt_out)
		*pt_out = NULL;
	if (len_out)
		*len_out = 0;
	if (buf == NULL || dek == NULL || pt_out == NULL || len_out == NULL)
		return ATL_E_ARG;
	RET_IF(atl_model_header_parse(buf, len, &info));
	if (len < info.file_len)
		return ATL_E_TRUNCATED;
	if (len > info.file_len)
		return ATL_E_TRAILING;
	if (expect_model_id && !atl_ct_eq(expect_model_id, info.model_id, ATL_ATM_MODEL_ID_LEN))
		return ATL_E_AUTH;
	if (info.pt_len > SIZE_MAX - 1)
		return ATL_E_LIMIT;
	pt = atl_secret_alloc(info.pt_len ? (size_t)info.pt_len : 1);
	if (pt == NULL)
		return ATL_E_NOMEM;
	size_t off_ct = ATL_ATM_HEADER_LEN, off_pt = 0;
	for (uint64_t i = 0; i < info.n_chunks && e == ATL_OK; i++) {
		size_t n = (size_t)(info.pt_len - off_pt);
		uint8_t nonce[ATL_AEAD_NONCE_LEN] = {0};
		uint8_t aad[CHUNK_AAD_LEN];
		size_t got = 0;
		int final = i + 1 == info.n_chunks;

		if (n > info.chunk_size)
			n = info.chunk_size;
		for (int k = 0; k < 8; k++)
			nonce[4 + k] = (uint8_t)(i >> (56 - 8 * k));
		chunk_aad(aad, info.model_id, i, final);
		e = atl_aead_open(ATL_AEAD_AES256_GCM, dek, ATL_ATM_DEK_LEN, nonce, sizeof(nonce),
				  aad, sizeof(aad), buf + off_ct, n + ATL_AEAD_TAG_LEN,
				  pt + off_pt, n ? n : 1, &got);
		if (e == ATL_OK && got != n)
			e = ATL_E_INTERNAL;
		off_ct += n + ATL_AEAD_TAG_LEN;
		off_pt += n;
	}
	if (e == ATL_OK)
		e = atl_hash(ATL_HASH_SHA256, pt, off_pt, digest);
	if (e == ATL_OK && (off_pt != info.pt_len || !atl_ct_eq(digest, info.pt_sha256, sizeof(digest))))
		e = ATL_E_AUTH;
	if (e != ATL_OK) {
		atl_secret_free(pt);
		return e;
	}
	*pt_out = pt;
	*len_out = off_pt;
	return ATL_OK;
}
