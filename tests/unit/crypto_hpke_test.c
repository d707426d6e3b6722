/* Unit tests for src/crypto/hpke.c (RFC 9180).
 *
 * Known answers: every section of tests/vectors/hpke/rfc9180-appendix-a1-a2.txt
 * in modes base and psk (DeriveKeyPair, enc, every encryption sealed and
 * opened at its sequence number, every exported value). Then round trips of
 * the default AES-256-GCM suite, tampering, wrong keys / info / PSK, argument
 * errors (wrong-length keys and enc), roles and sequence-number exhaustion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/hpke.h"
#include "atoll/secmem.h"
#include "crypto/hpke_testing.h"

/* ---- vector file parsing ------------------------------------------------ */

#define MAX_KV 40
#define MAX_REC 16

struct kv {
	char name[32];
	char *val; /* joined hex (or decimal) text, malloc'd */
};

struct rec {
	struct kv kv[8];
	size_t n;
};

struct section {
	struct kv setup[MAX_KV];
	size_t n_setup;
	struct rec encs[MAX_REC], exps[MAX_REC];
	size_t n_encs, n_exps;
	enum { IN_SETUP, IN_ENC, IN_EXP } where;
};

struct bin {
	uint8_t *p;
	size_t len;
};

static const char *kv_get(const struct kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].name, name) == 0)
			return kv[i].val;
	return NULL;
}

static struct bin hexbin(const char *s)
{
	struct bin b = {0};

	assert_non_null(s);
	assert_int_equal(atl_hex_decode_alloc(s, strlen(s), &b.p, &b.len), ATL_OK);
	return b;
}

static void kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(kv[i].val);
}

static void section_reset(struct section *s)
{
	kv_free(s->setup, s->n_setup);
	for (size_t i = 0; i < s->n_encs; i++)
		kv_free(s->encs[i].kv, s->encs[i].n);
	for (size_t i = 0; i < s->n_exps; i++)
		kv_free(s->exps[i].kv, s->exps[i].n);
	memset(s, 0, sizeof(*s));
}

static void kv_append(struct kv *kv, const char *text, size_t len)
{
	size_t old = kv->val != NULL ? strlen(kv->val) : 0;
	char *v = realloc(kv->val, old + len + 1);

	assert_non_null(v);
	memcpy(v + old, text, len);
	v[old + len] = '\0';
	kv->val = v;
}

static struct kv *kv_new(struct section *s, const char *name, size_t name_len)
{
	struct kv *kv;

	if (strncmp(name, "sequence number", name_len) == 0 && name_len == 15) {
		s->where = IN_ENC;
		assert_true(s->n_encs < MAX_REC);
		s->n_encs++;
	} else if (strncmp(name, "exporter_context", name_len) == 0 && name_len == 16) {
		s->where = IN_EXP;
		assert_true(s->n_exps < MAX_REC);
		s->n_exps++;
	}
	if (s->where == IN_SETUP) {
		assert_true(s->n_setup < MAX_KV);
		kv = &s->setup[s->n_setup++];
	} else {
		struct rec *r = s->where == IN_ENC ? &s->encs[s->n_encs - 1]
						   : &s->exps[s->n_exps - 1];
		assert_true(r->n < 8);
		kv = &r->kv[r->n++];
	}
	assert_true(name_len < sizeof(kv->name));
	memcpy(kv->name, name, name_len);
	kv->name[name_len] = '\0';
	kv->val = calloc(1, 1);
	assert_non_null(kv->val);
	return kv;
}

struct totals {
	size_t sections, skipped, encs, exps;
};

static int ival(const struct section *s, const char *name)
{
	const char *v = kv_get(s->setup, s->n_setup, name);

	assert_non_null(v);
	return atoi(v);
}

static void check_section(const struct section *s, struct totals *t)
{
	struct atl_hpke_suite suite;
	struct atl_hpke_psk psk_s, *psk = NULL;
	struct bin info, ikm_e, pk_em, sk_em, ikm_r, pk_rm, sk_rm, enc, psk_b = {0}, pskid = {0};
	struct bin ikm_s = {0}, pk_sm = {0}, sk_sm = {0};
	struct atl_kp kp_e, kp_r, kp_s = {0};
	bool auth;
	struct atl_hpke_ctx *sctx = NULL, *rctx = NULL;
	uint8_t enc_out[ATL_HPKE_ENC_LEN];
	int mode;

	if (s->n_setup == 0)
		return;
	mode = ival(s, "mode");
	if (mode < ATL_HPKE_MODE_BASE || mode > ATL_HPKE_MODE_AUTH_PSK) {
		t->skipped++;
		return;
	}
	auth = mode == ATL_HPKE_MODE_AUTH || mode == ATL_HPKE_MODE_AUTH_PSK;
	suite.kem_id = (uint16_t)ival(s, "kem_id");
	suite.kdf_id = (uint16_t)ival(s, "kdf_id");
	suite.aead_id = (uint16_t)ival(s, "aead_id");
	assert_int_equal(atl_hpke_suite_check(suite), ATL_OK);

	info = hexbin(kv_get(s->setup, s->n_setup, "info"));
	ikm_e = hexbin(kv_get(s->setup, s->n_setup, "ikmE"));
	pk_em = hexbin(kv_get(s->setup, s->n_setup, "pkEm"));
	sk_em = hexbin(kv_get(s->setup, s->n_setup, "skEm"));
	ikm_r = hexbin(kv_get(s->setup, s->n_setup, "ikmR"));
	pk_rm = hexbin(kv_get(s->setup, s->n_setup, "pkRm"));
	sk_rm = hexbin(kv_get(s->setup, s->n_setup, "skRm"));
	enc = hexbin(kv_get(s->setup, s->n_setup, "enc"));
	if (mode == ATL_HPKE_MODE_PSK || mode == ATL_HPKE_MODE_AUTH_PSK) {
		psk_b = hexbin(kv_get(s->setup, s->n_setup, "psk"));
		pskid = hexbin(kv_get(s->setup, s->n_setup, "psk_id"));
		psk_s = (struct atl_hpke_psk){psk_b.p, psk_b.len, pskid.p, pskid.len};
		psk = &psk_s;
	}

	/* DeriveKeyPair (RFC 9180 §7.1.3) of both ikms. */
	assert_int_equal(atl_hpke_derive_keypair(suite, ikm_e.p, ikm_e.len, &kp_e), ATL_OK);
	assert_memory_equal(kp_e.priv, sk_em.p, 32);
	assert_memory_equal(kp_e.pub, pk_em.p, 32);
	assert_int_equal(atl_hpke_derive_keypair(suite, ikm_r.p, ikm_r.len, &kp_r), ATL_OK);
	assert_memory_equal(kp_r.priv, sk_rm.p, 32);
	assert_memory_equal(kp_r.pub, pk_rm.p, 32);

	if (auth) {
		ikm_s = hexbin(kv_get(s->setup, s->n_setup, "ikmS"));
		pk_sm = hexbin(kv_get(s->setup, s->n_setup, "pkSm"));
		sk_sm = hexbin(kv_get(s->setup, s->n_setup, "skSm"));
		assert_int_equal(atl_hpke_derive_keypair(suite, ikm_s.p, ikm_s.len, &kp_s), ATL_OK);
		assert_memory_equal(kp_s.priv, sk_sm.p, 32);
		assert_memory_equal(kp_s.pub, pk_sm.p, 32);
	}

	assert_int_equal(atl_hpke_setup_sender_with_ikm_for_testing(
				 suite, pk_rm.p, pk_rm.len, auth ? &kp_s : NULL, ikm_e.p, ikm_e.len,
				 info.p, info.len, psk, enc_out, &sctx),
			 ATL_OK);
	assert_int_equal(enc.len, ATL_HPKE_ENC_LEN);
	assert_memory_equal(enc_out, enc.p, ATL_HPKE_ENC_LEN);
	if (auth)
		assert_int_equal(atl_hpke_setup_receiver_auth(suite, enc.p, enc.len, &kp_r, pk_sm.p,
							      pk_sm.len, info.p, info.len, psk,
							      &rctx),
				 ATL_OK);
	else
		assert_int_equal(atl_hpke_setup_receiver(suite, enc.p, enc.len, &kp_r, info.p,
							 info.len, psk, &rctx),
				 ATL_OK);

	for (size_t i = 0; i < s->n_encs; i++) {
		const struct rec *r = &s->encs[i];
		uint64_t seq = strtoull(kv_get(r->kv, r->n, "sequence number"), NULL, 10);
		struct bin pt = hexbin(kv_get(r->kv, r->n, "pt"));
		struct bin aad = hexbin(kv_get(r->kv, r->n, "aad"));
		struct bin ct = hexbin(kv_get(r->kv, r->n, "ct"));
		uint8_t buf[256];
		size_t len = 0;

		assert_true(ct.len <= sizeof(buf));
		atl_hpke_ctx_set_seq_for_testing(sctx, seq);
		assert_int_equal(atl_hpke_seal(sctx, aad.p, aad.len, pt.p, pt.len, buf,
					       sizeof(buf), &len),
				 ATL_OK);
		assert_int_equal(len, ct.len);
		assert_memory_equal(buf, ct.p, ct.len);
		atl_hpke_ctx_set_seq_for_testing(rctx, seq);
		assert_int_equal(atl_hpke_open(rctx, aad.p, aad.len, ct.p, ct.len, buf,
					       sizeof(buf), &len),
				 ATL_OK);
		assert_int_equal(len, pt.len);
		assert_memory_equal(buf, pt.p, pt.len);
		/* The same ciphertext at the next sequence number fails. */
		assert_int_equal(atl_hpke_open(rctx, aad.p, aad.len, ct.p, ct.len, buf,
					       sizeof(buf), &len),
				 ATL_E_AUTH);
		t->encs++;
		free(pt.p);
		free(aad.p);
		free(ct.p);
	}
	for (size_t i = 0; i < s->n_exps; i++) {
		const struct rec *r = &s->exps[i];
		struct bin ctxb = hexbin(kv_get(r->kv, r->n, "exporter_context"));
		struct bin want = hexbin(kv_get(r->kv, r->n, "exported_value"));
		size_t l = (size_t)atoi(kv_get(r->kv, r->n, "L"));
		uint8_t out[64];

		assert_int_equal(l, want.len);
		assert_true(l <= sizeof(out));
		assert_int_equal(atl_hpke_export(sctx, ctxb.p, ctxb.len, out, l), ATL_OK);
		assert_memory_equal(out, want.p, l);
		assert_int_equal(atl_hpke_export(rctx, ctxb.p, ctxb.len, out, l), ATL_OK);
		assert_memory_equal(out, want.p, l);
		t->exps++;
		free(ctxb.p);
		free(want.p);
	}
	t->sections++;
	atl_hpke_ctx_free(sctx);
	atl_hpke_ctx_free(rctx);
	atl_kp_clear(&kp_e);
	atl_kp_clear(&kp_r);
	atl_kp_clear(&kp_s);
	free(ikm_s.p);
	free(pk_sm.p);
	free(sk_sm.p);
	free(info.p);
	free(ikm_e.p);
	free(pk_em.p);
	free(sk_em.p);
	free(ikm_r.p);
	free(pk_rm.p);
	free(sk_rm.p);
	free(enc.p);
	free(psk_b.p);
	free(pskid.p);
}

static void test_rfc9180_vectors(void **state)
{
	static struct section sec; /* large: keep off the stack */
	struct totals t = {0};
	char path[1024];
	uint8_t *buf = NULL;
	size_t len = 0, pos = 0;
	struct kv *cur = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/vectors/hpke/rfc9180-appendix-a1-a2.txt",
		 ATL_SOURCE_DIR);
	assert_int_equal(atl_file_read(path, 1024 * 1024, &buf, &len), ATL_OK);
	memset(&sec, 0, sizeof(sec));
	while (pos < len) {
		const char *line = (const char *)buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		const char *colon = memchr(line, ':', ll);

		pos += ll + (nl != NULL ? 1 : 0);
		while (ll > 0 && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
			ll--;
		if (ll >= 3 && strncmp(line, "###", 3) == 0 && (ll < 4 || line[3] != '#')) {
			/* "### <Mode> Setup Information": a new section. */
			check_section(&sec, &t);
			section_reset(&sec);
			cur = NULL;
		} else if (ll >= 2 && strncmp(line, "## ", 3) == 0) {
			check_section(&sec, &t);
			section_reset(&sec);
			cur = NULL;
		} else if (ll == 0 || line[0] == '#' || strncmp(line, "~~~", 3) == 0) {
			cur = NULL; /* blank line, sub-heading or fence ends a value */
		} else if (colon != NULL) {
			const char *v = colon + 1;
			while (v < line + ll && *v == ' ')
				v++;
			cur = kv_new(&sec, line, (size_t)(colon - line));
			kv_append(cur, v, (size_t)(line + ll - v));
		} else {
			assert_non_null(cur); /* a wrapped hex value continues */
			kv_append(cur, line, ll);
		}
	}
	check_section(&sec, &t);
	section_reset(&sec);
	free(buf);
	/* A.1 and A.2, each in modes base, psk, auth and auth_psk. */
	print_message("hpke vectors: %zu sections, %zu encryptions, %zu exports (%zu skipped)\n",
		      t.sections, t.encs, t.exps, t.skipped);
	assert_int_equal(t.sections, 8);
	assert_int_equal(t.skipped, 0);
	assert_int_equal(t.encs, 8 * 6);
	assert_int_equal(t.exps, 8 * 3);
}

/* ---- round trips and negatives ------------------------------------------ */

static const uint8_t info_s[] = "atoll test info";

static void test_round_trip_all_suites(void **state)
{
	static const uint16_t aeads[] = {ATL_AEAD_AES128_GCM, ATL_AEAD_AES256_GCM,
					 ATL_AEAD_CHACHA20_POLY1305};
	struct atl_kp kp;

	(void)state;
	assert_int_equal(atl_kp_generate(&kp), ATL_OK);
	for (size_t a = 0; a < 3; a++) {
		struct atl_hpke_suite suite = {ATL_HPKE_KEM_X25519_SHA256,
					       ATL_HPKE_KDF_HKDF_SHA256, aeads[a]};
		struct atl_hpke_ctx *s = NULL, *r = NULL;
		uint8_t enc[ATL_HPKE_ENC_LEN], ct[64 + ATL_HPKE_TAG_LEN], pt[64], back[64];
		uint8_t e1[48], e2[48];
		size_t len;

		assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, info_s, sizeof(info_s),
						       NULL, enc, &s),
				 ATL_OK);
		assert_int_equal(atl_hpke_setup_receiver(suite, enc, sizeof(enc), &kp, info_s,
							 sizeof(info_s), NULL, &r),
				 ATL_OK);
		for (int m = 0; m < 5; m++) {
			memset(pt, 'a' + m, sizeof(pt));
			assert_int_equal(atl_hpke_seal(s, (const uint8_t *)"aad", 3, pt, sizeof(pt),
						       ct, sizeof(ct), &len),
					 ATL_OK);
			assert_int_equal(len, sizeof(ct));
			assert_int_equal(atl_hpke_open(r, (const uint8_t *)"aad", 3, ct, len, back,
						       sizeof(back), &len),
					 ATL_OK);
			assert_int_equal(len, sizeof(pt));
			assert_memory_equal(back, pt, sizeof(pt));
		}
		/* Roles are enforced. */
		assert_int_equal(atl_hpke_open(s, NULL, 0, ct, sizeof(ct), back, sizeof(back), &len),
				 ATL_E_STATE);
		assert_int_equal(atl_hpke_seal(r, NULL, 0, pt, sizeof(pt), ct, sizeof(ct), &len),
				 ATL_E_STATE);
		/* Both sides export the same secret, different per context. */
		assert_int_equal(atl_hpke_export(s, (const uint8_t *)"ctx", 3, e1, sizeof(e1)),
				 ATL_OK);
		assert_int_equal(atl_hpke_export(r, (const uint8_t *)"ctx", 3, e2, sizeof(e2)),
				 ATL_OK);
		assert_memory_equal(e1, e2, sizeof(e1));
		assert_int_equal(atl_hpke_export(r, NULL, 0, e2, sizeof(e2)), ATL_OK);
		assert_memory_not_equal(e1, e2, sizeof(e1));
		atl_hpke_ctx_free(s);
		atl_hpke_ctx_free(r);
	}
	atl_kp_clear(&kp);
}

/* Default suite: single-shot round trip in base and psk mode, then every way
 * to get it wrong gives ATL_E_AUTH with the output wiped. */
static void test_single_shot_aes256(void **state)
{
	struct atl_hpke_suite suite = ATL_HPKE_SUITE_DEFAULT;
	uint8_t psk_bytes[32], enc[ATL_HPKE_ENC_LEN], ct[100 + ATL_HPKE_TAG_LEN], pt[100],
		out[100], zero[100] = {0};
	struct atl_hpke_psk psk = {psk_bytes, sizeof(psk_bytes), (const uint8_t *)"id-1", 4};
	struct atl_hpke_psk psk2 = {psk_bytes, sizeof(psk_bytes), (const uint8_t *)"id-2", 4};
	struct atl_kp kp, other;
	size_t len;

	(void)state;
	assert_int_equal(suite.aead_id, ATL_AEAD_AES256_GCM);
	memset(psk_bytes, 0x5a, sizeof(psk_bytes));
	memset(pt, 'x', sizeof(pt));
	assert_int_equal(atl_kp_generate(&kp), ATL_OK);
	assert_int_equal(atl_kp_generate(&other), ATL_OK);

	for (int mode = 0; mode < 2; mode++) {
		const struct atl_hpke_psk *p = mode ? &psk : NULL;
		assert_int_equal(atl_hpke_seal_single(suite, kp.pub, 32, info_s, sizeof(info_s), p,
						      (const uint8_t *)"hdr", 3, pt, sizeof(pt),
						      enc, ct, sizeof(ct), &len),
				 ATL_OK);
		assert_int_equal(len, sizeof(ct));
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_OK);
		assert_memory_equal(out, pt, sizeof(pt));
		/* Wrong recipient key. */
		memset(out, 0xee, sizeof(out));
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &other, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		assert_memory_equal(out, zero, sizeof(out));
		/* Wrong info, wrong aad, wrong mode / PSK. */
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s) - 1, p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdX",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), mode ? &psk2 : &psk,
						      (const uint8_t *)"hdr", 3, ct, sizeof(ct),
						      out, sizeof(out), &len),
				 ATL_E_AUTH);
		/* Wrong suite (same key length, different AEAD). */
		struct atl_hpke_suite cc = suite;
		cc.aead_id = ATL_AEAD_CHACHA20_POLY1305;
		assert_int_equal(atl_hpke_open_single(cc, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		/* Tampered enc, tampered ciphertext, truncated ciphertext. */
		enc[5] ^= 0x10;
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		enc[5] ^= 0x10;
		ct[sizeof(ct) - 1] ^= 1;
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct), out, sizeof(out), &len),
				 ATL_E_AUTH);
		ct[sizeof(ct) - 1] ^= 1;
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, sizeof(ct) - 1, out, sizeof(out), &len),
				 ATL_E_AUTH);
		assert_int_equal(atl_hpke_open_single(suite, enc, sizeof(enc), &kp, info_s,
						      sizeof(info_s), p, (const uint8_t *)"hdr",
						      3, ct, ATL_HPKE_TAG_LEN - 1, out, sizeof(out),
						      &len),
				 ATL_E_TRUNCATED);
	}
	atl_kp_clear(&kp);
	atl_kp_clear(&other);
}

static void test_bad_args(void **state)
{
	struct atl_hpke_suite suite = ATL_HPKE_SUITE_DEFAULT, bad;
	struct atl_hpke_ctx *ctx = (struct atl_hpke_ctx *)&suite; /* must be reset to NULL */
	uint8_t enc[ATL_HPKE_ENC_LEN], big[ATL_HPKE_INFO_MAX + 1] = {0}, out[16], zero32[32] = {0};
	uint8_t short_psk[31] = {1};
	struct atl_kp kp, nokey = {0};
	size_t len;

	(void)state;
	assert_int_equal(atl_kp_generate(&kp), ATL_OK);
	/* Wrong-length public keys and enc. */
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 31, NULL, 0, NULL, enc, &ctx),
			 ATL_E_ARG);
	assert_null(ctx);
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 33, NULL, 0, NULL, enc, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_sender(suite, NULL, 32, NULL, 0, NULL, enc, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_receiver(suite, kp.pub, 31, &kp, NULL, 0, NULL, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_receiver(suite, kp.pub, 65, &kp, NULL, 0, NULL, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_receiver(suite, kp.pub, 32, &nokey, NULL, 0, NULL, &ctx),
			 ATL_E_ARG);
	/* DeriveKeyPair needs at least Nsk bytes of ikm. */
	assert_int_equal(atl_hpke_derive_keypair(suite, zero32, 31, &nokey), ATL_E_ARG);
	assert_int_equal(atl_hpke_derive_keypair(suite, big, ATL_HPKE_IKM_MAX + 1, &nokey),
			 ATL_E_LIMIT);
	/* Unsupported suites. */
	bad = suite;
	bad.aead_id = 0xffff; /* export-only AEAD is not supported */
	assert_int_equal(atl_hpke_setup_sender(bad, kp.pub, 32, NULL, 0, NULL, enc, &ctx),
			 ATL_E_UNSUPPORTED);
	bad = suite;
	bad.kem_id = 0x0010; /* DHKEM(P-256) */
	assert_int_equal(atl_hpke_suite_check(bad), ATL_E_UNSUPPORTED);
	bad = suite;
	bad.kdf_id = 0x0003;
	assert_int_equal(atl_hpke_setup_receiver(bad, kp.pub, 32, &kp, NULL, 0, NULL, &ctx),
			 ATL_E_UNSUPPORTED);
	/* Info too long; NULL info with a length. */
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, big, sizeof(big), NULL, enc,
					       &ctx),
			 ATL_E_LIMIT);
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, NULL, 4, NULL, enc, &ctx),
			 ATL_E_ARG);
	/* PSK inputs: too short, missing id, id without psk, too long. */
	struct atl_hpke_psk p1 = {short_psk, sizeof(short_psk), (const uint8_t *)"i", 1};
	struct atl_hpke_psk p2 = {big, 32, NULL, 0};
	struct atl_hpke_psk p3 = {NULL, 0, (const uint8_t *)"i", 1};
	struct atl_hpke_psk p4 = {big, ATL_HPKE_PSK_MAX + 1, (const uint8_t *)"i", 1};
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, NULL, 0, &p1, enc, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, NULL, 0, &p2, enc, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_receiver(suite, kp.pub, 32, &kp, NULL, 0, &p3, &ctx),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, NULL, 0, &p4, enc, &ctx),
			 ATL_E_LIMIT);
	/* A low-order public key (all zero) gives an all-zero DH: refused. */
	assert_int_equal(atl_hpke_setup_sender(suite, zero32, 32, NULL, 0, NULL, enc, &ctx),
			 ATL_E_CRYPTO);
	assert_int_equal(atl_hpke_setup_receiver(suite, zero32, 32, &kp, NULL, 0, NULL, &ctx),
			 ATL_E_CRYPTO);
	assert_null(ctx);

	/* Export bounds. */
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, NULL, 0, NULL, enc, &ctx),
			 ATL_OK);
	assert_int_equal(atl_hpke_export(ctx, NULL, 0, out, 0), ATL_E_ARG);
	assert_int_equal(atl_hpke_export(ctx, NULL, 0, out, ATL_HPKE_EXPORT_MAX + 1), ATL_E_ARG);
	assert_int_equal(atl_hpke_export(ctx, big, ATL_HPKE_EXPORT_CONTEXT_MAX + 1, out, 16),
			 ATL_E_LIMIT);
	assert_int_equal(atl_hpke_export(ctx, big, ATL_HPKE_EXPORT_CONTEXT_MAX, out, 16), ATL_OK);
	/* Output buffer too small for ct || tag. */
	assert_int_equal(atl_hpke_seal(ctx, NULL, 0, out, 1, out, sizeof(out), &len), ATL_E_ARG);
	atl_hpke_ctx_free(ctx);
	atl_hpke_ctx_free(NULL);
	atl_kp_clear(&kp);
}

/* The sequence number never wraps: the last one is refused, on both sides,
 * and a failed open does not advance it. */
static void test_seq_overflow(void **state)
{
	struct atl_hpke_suite suite = ATL_HPKE_SUITE_DEFAULT;
	struct atl_hpke_ctx *s = NULL, *r = NULL;
	uint8_t enc[ATL_HPKE_ENC_LEN], ct[4 + ATL_HPKE_TAG_LEN], bad[sizeof(ct)], out[4];
	struct atl_kp kp;
	size_t len;

	(void)state;
	assert_int_equal(atl_kp_generate(&kp), ATL_OK);
	assert_int_equal(atl_hpke_setup_sender(suite, kp.pub, 32, NULL, 0, NULL, enc, &s), ATL_OK);
	assert_int_equal(atl_hpke_setup_receiver(suite, enc, 32, &kp, NULL, 0, NULL, &r), ATL_OK);
	atl_hpke_ctx_set_seq_for_testing(s, UINT64_MAX - 1);
	atl_hpke_ctx_set_seq_for_testing(r, UINT64_MAX - 1);
	assert_int_equal(atl_hpke_seal(s, NULL, 0, (const uint8_t *)"last", 4, ct, sizeof(ct),
				       &len),
			 ATL_OK);
	assert_int_equal(atl_hpke_seal(s, NULL, 0, (const uint8_t *)"more", 4, ct + 0, 0, &len),
			 ATL_E_STATE);
	assert_int_equal(atl_hpke_seal(s, NULL, 0, (const uint8_t *)"more", 4, bad, sizeof(bad),
				       &len),
			 ATL_E_STATE);
	memcpy(bad, ct, sizeof(ct));
	bad[0] ^= 1;
	assert_int_equal(atl_hpke_open(r, NULL, 0, bad, sizeof(bad), out, sizeof(out), &len),
			 ATL_E_AUTH);
	assert_int_equal(atl_hpke_open(r, NULL, 0, ct, sizeof(ct), out, sizeof(out), &len),
			 ATL_OK);
	assert_memory_equal(out, "last", 4);
	assert_int_equal(atl_hpke_open(r, NULL, 0, ct, sizeof(ct), out, sizeof(out), &len),
			 ATL_E_STATE);
	atl_hpke_ctx_free(s);
	atl_hpke_ctx_free(r);
	atl_kp_clear(&kp);
}

/* Auth mode: the receiver must name the right sender key. */
static void test_auth_wrong_sender(void **state)
{
	struct atl_hpke_suite suite = ATL_HPKE_SUITE_DEFAULT;
	struct atl_kp r, snd, other, nokey = {0};
	struct atl_hpke_ctx *s = NULL, *c = NULL;
	uint8_t enc[ATL_HPKE_ENC_LEN], ct[3 + ATL_HPKE_TAG_LEN], out[3];
	size_t len;

	(void)state;
	assert_int_equal(atl_kp_generate(&r), ATL_OK);
	assert_int_equal(atl_kp_generate(&snd), ATL_OK);
	assert_int_equal(atl_kp_generate(&other), ATL_OK);
	assert_int_equal(atl_hpke_setup_sender_auth(suite, r.pub, 32, &snd, NULL, 0, NULL, enc, &s),
			 ATL_OK);
	assert_int_equal(atl_hpke_seal(s, NULL, 0, (const uint8_t *)"abc", 3, ct, sizeof(ct), &len),
			 ATL_OK);
	assert_int_equal(atl_hpke_setup_receiver_auth(suite, enc, 32, &r, other.pub, 32, NULL, 0,
						      NULL, &c),
			 ATL_OK);
	assert_int_equal(atl_hpke_open(c, NULL, 0, ct, sizeof(ct), out, sizeof(out), &len),
			 ATL_E_AUTH);
	atl_hpke_ctx_free(c);
	/* A base-mode receiver does not open an auth-mode message either. */
	assert_int_equal(atl_hpke_setup_receiver(suite, enc, 32, &r, NULL, 0, NULL, &c), ATL_OK);
	assert_int_equal(atl_hpke_open(c, NULL, 0, ct, sizeof(ct), out, sizeof(out), &len),
			 ATL_E_AUTH);
	atl_hpke_ctx_free(c);
	assert_int_equal(atl_hpke_setup_receiver_auth(suite, enc, 32, &r, snd.pub, 32, NULL, 0,
						      NULL, &c),
			 ATL_OK);
	assert_int_equal(atl_hpke_open(c, NULL, 0, ct, sizeof(ct), out, sizeof(out), &len),
			 ATL_OK);
	assert_memory_equal(out, "abc", 3);
	atl_hpke_ctx_free(c);
	/* Argument errors. */
	assert_int_equal(atl_hpke_setup_sender_auth(suite, r.pub, 32, NULL, NULL, 0, NULL, enc, &c),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_sender_auth(suite, r.pub, 32, &nokey, NULL, 0, NULL, enc,
						    &c),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_receiver_auth(suite, enc, 32, &r, snd.pub, 31, NULL, 0,
						      NULL, &c),
			 ATL_E_ARG);
	assert_int_equal(atl_hpke_setup_receiver_auth(suite, enc, 32, &r, NULL, 32, NULL, 0, NULL,
						      &c),
			 ATL_E_ARG);
	assert_null(c);
	atl_hpke_ctx_free(s);
	atl_kp_clear(&r);
	atl_kp_clear(&snd);
	atl_kp_clear(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9180_vectors),
		cmocka_unit_test(test_round_trip_all_suites),
		cmocka_unit_test(test_single_shot_aes256),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_seq_overflow),
		cmocka_unit_test(test_auth_wrong_sender),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
