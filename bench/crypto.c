/* bench/crypto: seal+open throughput of Atoll's crypto paths for 1 KiB, 64 KiB
 * and 1 MiB payloads, each printed as a ratio to raw OpenSSL AES-256-GCM
 * (EVP, one reused context, key set per message) on the same buffer in the
 * same run. Ratio 1.00 = as fast as the raw cipher; higher is better.
 *
 * Paths:
 *   aead      atl_aead_seal + atl_aead_open (AES-256-GCM)
 *   hpke      atl_hpke_seal_single + atl_hpke_open_single (X25519, AES-256-GCM):
 *             one ephemeral key generation and two X25519 DH per message
 *   envcore   the cryptography of an envelope without its text: HPKE wrap and
 *             unwrap of a 32-byte DEK, AES-256-GCM of the payload with a
 *             header-sized AAD, SHA-256 replay digest of a header-sized
 *             input (the envelope hashes header, length and tag)
 *   envelope  atl_env_seal + atl_env_open, one recipient: HPKE wrap of the DEK,
 *             AES-256-GCM of the payload, base64 and JSON text both ways
 *   result    atl_env_result_seal + atl_env_result_open: HKDF + AES-256-GCM,
 *             base64 and JSON text both ways
 *
 * Timing: process CPU time. For each size the baseline and every path run in
 * alternating rounds and the best round of each counts, which damps noise
 * from other processes.
 * ATL_BENCH_MS sets the time per round (default 60 ms); 5 rounds.
 *
 * Benchmarks may include OpenSSL (for the raw baseline only). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "atoll/aead.h"
#include "atoll/digest.h"
#include "atoll/envelope.h"
#include "atoll/hpke.h"
#include "atoll/secmem.h"

#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;

	/* CPU time of this (single-threaded) process: on a shared machine it
	 * is far steadier than wall time, and it still counts page faults and
	 * system calls (mlock of secret buffers). */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
	size_t len;
	uint8_t *pt, *ct, *back;
	uint8_t key[32], nonce[12];
	struct atl_kp kp;
	EVP_CIPHER_CTX *ectx, *dctx;
	EVP_CIPHER *cipher;
};

static void die(const char *what)
{
	fprintf(stderr, "bench/crypto: %s failed\n", what);
	exit(1);
}

/* Raw OpenSSL AES-256-GCM seal then open of the whole buffer. */
static void op_raw(struct job *j)
{
	uint8_t tag[16];
	int n = 0;

	if (EVP_EncryptInit_ex(j->ectx, j->cipher, NULL, j->key, j->nonce) != 1 ||
	    EVP_EncryptUpdate(j->ectx, j->ct, &n, j->pt, (int)j->len) != 1 ||
	    EVP_EncryptFinal_ex(j->ectx, j->ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(j->ectx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
		die("raw seal");
	if (EVP_DecryptInit_ex(j->dctx, j->cipher, NULL, j->key, j->nonce) != 1 ||
	    EVP_DecryptUpdate(j->dctx, j->back, &n, j->ct, (int)j->len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(j->dctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(j->dctx, j->back + n, &n) != 1)
		die("raw open");
}

static void op_aead(struct job *j)
{
	size_t n = 0;

	if (atl_aead_seal(ATL_AEAD_AES256_GCM, j->key, 32, j->nonce, 12, NULL, 0, j->pt, j->len,
			  j->ct, j->len + 16, &n) != ATL_OK ||
	    atl_aead_open(ATL_AEAD_AES256_GCM, j->key, 32, j->nonce, 12, NULL, 0, j->ct, n, j->back,
			  j->len, &n) != ATL_OK)
		die("atl_aead");
}

static void op_hpke(struct job *j)
{
	uint8_t enc[ATL_HPKE_ENC_LEN];
	size_t n = 0;

	if (atl_hpke_seal_single(ATL_HPKE_SUITE_DEFAULT, j->kp.pub, 32, NULL, 0, NULL, NULL, 0,
				 j->pt, j->len, enc, j->ct, j->len + 16, &n) != ATL_OK ||
	    atl_hpke_open_single(ATL_HPKE_SUITE_DEFAULT, enc, sizeof(enc), &j->kp, NULL, 0, NULL,
				 NULL, 0, j->ct, n, j->back, j->len, &n) != ATL_OK)
		die("atl_hpke");
}

static void op_envcore(struct job *j)
{
	uint8_t dek[32], dek2[32], enc[ATL_HPKE_ENC_LEN], wrapped[48], aad[300], digest[32];
	size_t n = 0, w = 0;

	memset(aad, 0x5a, sizeof(aad));
	if (atl_random(dek, sizeof(dek)) != ATL_OK ||
	    atl_hpke_seal_single(ATL_HPKE_SUITE_DEFAULT, j->kp.pub, 32, NULL, 0, NULL, aad, 60,
				 dek, 32, enc, wrapped, sizeof(wrapped), &w) != ATL_OK ||
	    atl_aead_seal(ATL_AEAD_AES256_GCM, dek, 32, j->nonce, 12, aad, sizeof(aad), j->pt,
			  j->len, j->ct, j->len + 16, &n) != ATL_OK)
		die("envcore seal");
	if (atl_hpke_open_single(ATL_HPKE_SUITE_DEFAULT, enc, sizeof(enc), &j->kp, NULL, 0, NULL,
				 aad, 60, wrapped, w, dek2, sizeof(dek2), &w) != ATL_OK ||
	    atl_hash(ATL_HASH_SHA256, aad, sizeof(aad), digest) != ATL_OK ||
	    atl_aead_open(ATL_AEAD_AES256_GCM, dek2, 32, j->nonce, 12, aad, sizeof(aad), j->ct, n,
			  j->back, j->len, &n) != ATL_OK)
		die("envcore open");
}

static void op_envelope(struct job *j)
{
	struct atl_env_recipient r = {{0}, "ek_"};
	char *json = NULL;
	uint8_t *pt = NULL;
	size_t len = 0, pt_len = 0;

	memcpy(r.pub, j->kp.pub, 32);
	if (atl_env_seal(&r, 1, "bench", "ck_bench", 1763884800, j->pt, j->len, &json, &len,
			 NULL) != ATL_OK ||
	    atl_env_open(json, len, &j->kp, 1763884800, NULL, &pt, &pt_len, NULL, NULL) != ATL_OK ||
	    pt_len != j->len)
		die("atl_env");
	atl_secret_free(pt);
	free(json);
}

static void op_result(struct job *j)
{
	char *json = NULL;
	uint8_t *pt = NULL;
	size_t len = 0, pt_len = 0;

	if (atl_env_result_seal(j->key, "job-1", "bench", j->pt, j->len, &json, &len) != ATL_OK ||
	    atl_env_result_open(j->key, "job-1", "bench", json, len, &pt, &pt_len) != ATL_OK ||
	    pt_len != j->len)
		die("atl_env_result");
	atl_secret_free(pt);
	free(json);
}

/* Seconds per operation over one round of about `round_s`. */
static double round_time(void (*op)(struct job *), struct job *j, double round_s)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		op(j);
		n++;
		t = now_s();
	} while (t - t0 < round_s);
	return (t - t0) / (double)n;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {1024, 64 * 1024, 1024 * 1024};
	static const struct {
		const char *name;
		void (*op)(struct job *);
	} paths[] = {
		{"aead", op_aead},
		{"hpke", op_hpke},
		{"envcore", op_envcore},
		{"envelope", op_envelope},
		{"result", op_result},
	};
	enum { NP = sizeof(paths) / sizeof(paths[0]) };
	const char *ms = getenv("ATL_BENCH_MS");
	double round_s = (ms != NULL && atoi(ms) > 0 ? atoi(ms) : 60) / 1000.0;
	struct job j;

	/* Keep freed memory in the heap instead of returning it to the kernel
	 * after every message: otherwise glibc's trimming turns each round trip
	 * into page faults whose cost depends on the heap's history (on this VM
	 * it varied 5x between identical loops), which measures the allocator,
	 * not the paths. Applies to the baseline and every path alike. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	if (argc > 1) {
		fprintf(stderr, "usage: %s   (ATL_BENCH_MS=per-round milliseconds)\n", argv[0]);
		return 2;
	}
	memset(&j, 0, sizeof(j));
	j.cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	j.ectx = EVP_CIPHER_CTX_new();
	j.dctx = EVP_CIPHER_CTX_new();
	if (j.cipher == NULL || j.ectx == NULL || j.dctx == NULL || atl_kp_generate(&j.kp) != ATL_OK)
		die("setup");
	memset(j.key, 0x11, sizeof(j.key));
	memset(j.nonce, 0x22, sizeof(j.nonce));

	printf("bench/crypto: seal+open, ratio = raw OpenSSL AES-256-GCM time / path time "
	       "(CPU time, best of %d rounds of %.0f ms)\n",
	       ROUNDS, round_s * 1000);
	printf("%-8s %-9s %12s %12s %7s\n", "size", "path", "path MB/s", "raw MB/s", "ratio");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double best_raw = 1e30, best[NP];

		j.len = sizes[s];
		j.pt = malloc(j.len);
		j.ct = malloc(j.len + 16);
		j.back = malloc(j.len);
		if (j.pt == NULL || j.ct == NULL || j.back == NULL)
			die("malloc");
		for (size_t i = 0; i < j.len; i++)
			j.pt[i] = (uint8_t)(i * 131 + 7);
		for (size_t p = 0; p < NP; p++)
			best[p] = 1e30;
		/* Warm up (fetches, page faults), then alternate rounds. */
		op_raw(&j);
		for (size_t p = 0; p < NP; p++)
			paths[p].op(&j);
		for (int r = 0; r < ROUNDS; r++) {
			double t = round_time(op_raw, &j, round_s);
			if (t < best_raw)
				best_raw = t;
			for (size_t p = 0; p < NP; p++) {
				t = round_time(paths[p].op, &j, round_s);
				if (t < best[p])
					best[p] = t;
			}
		}
		for (size_t p = 0; p < NP; p++) {
			char label[32];
			snprintf(label, sizeof(label), "%zu KiB", j.len / 1024);
			printf("%-8s %-9s %12.1f %12.1f %7.3f\n", label, paths[p].name,
			       (double)j.len / best[p] / 1e6, (double)j.len / best_raw / 1e6,
			       best_raw / best[p]);
		}
		free(j.pt);
		free(j.ct);
		free(j.back);
	}
	EVP_CIPHER_CTX_free(j.ectx);
	EVP_CIPHER_CTX_free(j.dctx);
	EVP_CIPHER_free(j.cipher);
	atl_kp_clear(&j.kp);
	return 0;
}
