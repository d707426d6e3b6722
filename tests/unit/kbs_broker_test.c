/* Unit tests for the key broker core (src/kbs/broker.c, src/kbs/dek.c) with
 * the sim TEE: a temporary sim root signs evidence over this test binary
 * (/proc/self/exe), and each model's policy pins that root and measurement.
 * Release to a matching enclave (which opens the DEK and decrypts the .atm);
 * refusals for a wrong measurement, debug evidence, a stale, reused or foreign
 * nonce, another tenant, a revoked model and a revoked measurement; KEK
 * rotation (old KEK refused, releases still work, state survives a reopen,
 * an interrupted rotation keeps both KEKs and is resumed);
 * the master key file mode; an edited state file; the audit chain records every decision, verifies,
 * and holds no key material. */
/* atl-test-deps: atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/audit.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/kbs.h"
#include "atoll/keys.h"
#include "atoll/model_crypt.h"
#include "atoll/policy.h"
#include "atoll/secmem.h"
#include "atoll/sig.h"
#include "atoll/timeutil.h"
#include "atoll/verify.h"

#define PT_LEN 1000u
#define CHUNK 64u

#include "kbs_testutil.h"

static const uint8_t kek_acme[32] = {0xa5, 0xa5, 0x5a, 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
				     13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};

static int group_setup(void **st)
{
	(void)st;
	return kbs_fx_setup("/tmp/atl_kbs_testXXXXXX");
}

static json_t *policy_for(const char *meas)
{
	return kbs_fx_policy(meas, 300);
}

struct fx {
	char bdir[256];
	struct atl_kbs *b;
	char mid[ATL_KBS_MODEL_ID_HEX];
	char atm[320];
	struct atl_kp kp;
};

/* A fresh broker with tenants acme (known KEK) and other, and one model of
 * acme registered under policy measurement meas (NULL: this binary's). */
static void fx_init(struct fx *f, const char *meas)
{
	char kid[ATL_ATM_KEK_ID_MAX + 1], in[256];
	json_t *p;

	memset(f, 0, sizeof(*f));
	snprintf(f->bdir, sizeof(f->bdir), "%s/kbs%d", dir, ++counter);
	assert_int_equal(atl_kbs_open(f->bdir, signer, &f->b), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(f->b, "acme", kek_acme, kid), ATL_OK);
	assert_string_equal(kid, "acme.k1");
	assert_int_equal(atl_kbs_tenant_add(f->b, "other", NULL, NULL), ATL_OK);
	assert_int_equal(atl_kbs_tenant_add(f->b, "acme", NULL, NULL), ATL_E_EXISTS);
	assert_int_equal(atl_kbs_tenant_add(f->b, "bad/name", NULL, NULL), ATL_E_ARG);
	snprintf(in, sizeof(in), "%s/model.bin", dir);
	snprintf(f->atm, sizeof(f->atm), "%s/model.atm", f->bdir);
	assert_int_equal(atl_kbs_model_encrypt(f->b, "acme", in, f->atm, CHUNK, NULL), ATL_OK);
	p = policy_for(meas ? meas : meas_hex);
	assert_int_equal(atl_kbs_model_register(f->b, "acme", f->atm, p, f->mid), ATL_OK);
	assert_int_equal(atl_kbs_model_register(f->b, "acme", f->atm, p, NULL), ATL_E_EXISTS);
	json_decref(p);
	assert_int_equal(atl_kp_generate(&f->kp), ATL_OK);
}

static void fx_done(struct fx *f)
{
	atl_kbs_close(f->b);
	atl_kp_clear(&f->kp);
}

static char *evidence(const struct fx *f, const uint8_t *nonce, bool debug)
{
	json_t *cfg = json_pack("{s:s, s:b}", "sim_root", sim_dir, "debug", debug);
	char *out = NULL;

	assert_non_null(cfg);
	assert_int_equal(atl_evidence_produce("sim", cfg, f->kp.pub, nonce, ATL_KBS_NONCE_LEN, &out),
			 ATL_OK);
	json_decref(cfg);
	return out;
}

/* One release attempt with a fresh broker nonce and fresh evidence. */
static enum atl_err try_release(struct fx *f, const char *tenant, bool debug, char **sealed)
{
	uint8_t nonce[ATL_KBS_NONCE_LEN];
	int64_t now = atl_time_now();
	char *ev;
	enum atl_err e;

	assert_int_equal(atl_kbs_nonce_new(f->b, now, nonce), ATL_OK);
	ev = evidence(f, nonce, debug);
	e = atl_kbs_release(f->b, tenant, f->mid, (const uint8_t *)ev, strlen(ev), nonce,
			    sizeof(nonce), now, sealed);
	free(ev);
	if (e != ATL_OK)
		assert_null(*sealed);
	return e;
}

/* The enclave side: open the sealed DEK and decrypt the .atm with it. */
static void enclave_open(const struct fx *f, const char *sealed)
{
	uint8_t dek[ATL_ATM_DEK_LEN], mid[ATL_ATM_MODEL_ID_LEN];
	uint8_t *img = NULL, *pt = NULL;
	size_t img_len = 0, pt_len = 0;
	struct atl_kp other;

	assert_int_equal(atl_kbs_sealed_open(sealed, strlen(sealed), &f->kp, f->mid, dek), ATL_OK);
	assert_int_equal(atl_file_read(f->atm, 1u << 20, &img, &img_len), ATL_OK);
	assert_int_equal(atl_hex_decode_exact(f->mid, strlen(f->mid), mid, sizeof(mid)), ATL_OK);
	assert_int_equal(atl_kbs_dek_decrypt_mem(img, img_len, dek, mid, &pt, &pt_len), ATL_OK);
	assert_int_equal(pt_len, PT_LEN);
	assert_memory_equal(pt, plain, PT_LEN);
	atl_secret_free(pt);
	/* tampered chunk, truncation, wrong model id: refused, no plaintext */
	img[ATL_ATM_HEADER_LEN + 70] ^= 1;
	assert_int_equal(atl_kbs_dek_decrypt_mem(img, img_len, dek, mid, &pt, &pt_len), ATL_E_AUTH);
	assert_null(pt);
	assert_int_equal(pt_len, 0);
	img[ATL_ATM_HEADER_LEN + 70] ^= 1;
	assert_int_equal(atl_kbs_dek_decrypt_mem(img, img_len - 1, dek, mid, &pt, &pt_len),
			 ATL_E_TRUNCATED);
	mid[0] ^= 1;
	assert_int_equal(atl_kbs_dek_decrypt_mem(img, img_len, dek, mid, &pt, &pt_len), ATL_E_AUTH);
	assert_null(pt);
	free(img);
	/* another enclave key, another model id: refused */
	assert_int_equal(atl_kp_generate(&other), ATL_OK);
	assert_int_equal(atl_kbs_sealed_open(sealed, strlen(sealed), &other, f->mid, dek),
			 ATL_E_AUTH);
	atl_kp_clear(&other);
	assert_int_equal(atl_kbs_sealed_open(sealed, strlen(sealed), &f->kp,
					     "00000000000000000000000000000000", dek),
			 ATL_E_AUTH);
	atl_wipe(dek, sizeof(dek));
}

static void test_release_ok(void **st)
{
	struct fx f;
	char *sealed = NULL;

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	assert_non_null(sealed);
	enclave_open(&f, sealed);
	free(sealed);
	fx_done(&f);
}

static void test_refuse_measurement_and_debug(void **st)
{
	struct fx f;
	char *sealed = NULL;
	char zeros[2 * ATL_SHA384_LEN + 1];

	(void)st;
	memset(zeros, '0', sizeof(zeros) - 1);
	zeros[sizeof(zeros) - 1] = 0;
	fx_init(&f, zeros);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_E_POLICY);
	fx_done(&f);

	fx_init(&f, NULL);
	assert_int_equal(try_release(&f, "acme", true, &sealed), ATL_E_POLICY);
	fx_done(&f);
}

static void test_refuse_nonces(void **st)
{
	struct fx f;
	uint8_t nonce[ATL_KBS_NONCE_LEN], forged[ATL_KBS_NONCE_LEN];
	int64_t now = atl_time_now();
	char *ev, *sealed = NULL;

	(void)st;
	fx_init(&f, NULL);
	/* reused: the first release consumes the nonce */
	assert_int_equal(atl_kbs_nonce_new(f.b, now, nonce), ATL_OK);
	ev = evidence(&f, nonce, false);
	assert_int_equal(atl_kbs_release(f.b, "acme", f.mid, (const uint8_t *)ev, strlen(ev), nonce,
					 sizeof(nonce), now, &sealed),
			 ATL_OK);
	free(sealed);
	sealed = NULL;
	assert_int_equal(atl_kbs_release(f.b, "acme", f.mid, (const uint8_t *)ev, strlen(ev), nonce,
					 sizeof(nonce), now, &sealed),
			 ATL_E_REPLAY);
	assert_null(sealed);
	free(ev);
	/* stale: issued, then used after its lifetime */
	assert_int_equal(atl_kbs_nonce_new(f.b, now, nonce), ATL_OK);
	ev = evidence(&f, nonce, false);
	assert_int_equal(atl_kbs_release(f.b, "acme", f.mid, (const uint8_t *)ev, strlen(ev), nonce,
					 sizeof(nonce), now + ATL_KBS_NONCE_TTL_S + 1, &sealed),
			 ATL_E_REPLAY);
	free(ev);
	/* never issued by this broker */
	assert_int_equal(atl_random(forged, sizeof(forged)), ATL_OK);
	ev = evidence(&f, forged, false);
	assert_int_equal(atl_kbs_release(f.b, "acme", f.mid, (const uint8_t *)ev, strlen(ev), forged,
					 sizeof(forged), now, &sealed),
			 ATL_E_REPLAY);
	free(ev);
	/* issued, but the evidence is bound to another nonce */
	assert_int_equal(atl_kbs_nonce_new(f.b, now, nonce), ATL_OK);
	ev = evidence(&f, forged, false);
	assert_int_equal(atl_kbs_release(f.b, "acme", f.mid, (const uint8_t *)ev, strlen(ev), nonce,
					 sizeof(nonce), now, &sealed),
			 ATL_E_POLICY);
	free(ev);
	fx_done(&f);
}

static void test_refuse_tenant_and_revocation(void **st)
{
	struct fx f;
	char *sealed = NULL;
	char upper[sizeof(meas_hex)];

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(try_release(&f, "other", false, &sealed), ATL_E_DENIED);
	assert_int_equal(try_release(&f, "nobody", false, &sealed), ATL_E_DENIED);
	/* revoked measurement (given in upper case) */
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)(meas_hex[i] >= 'a' && meas_hex[i] <= 'f' ? meas_hex[i] - 32
									     : meas_hex[i]);
	assert_int_equal(atl_kbs_measurement_revoke(f.b, upper), ATL_OK);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_E_POLICY);
	fx_done(&f);

	fx_init(&f, NULL);
	assert_int_equal(atl_kbs_model_revoke(f.b, f.mid), ATL_OK);
	assert_int_equal(atl_kbs_model_revoke(f.b, "0123456789abcdef0123456789abcdef"),
			 ATL_E_NOTFOUND);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_E_POLICY);
	fx_done(&f);
	/* revocations persist */
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_OK);
	assert_int_equal(atl_kp_generate(&f.kp), ATL_OK);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_E_POLICY);
	fx_done(&f);
}

static void test_rotation(void **st)
{
	struct fx f;
	char *sealed = NULL;
	char kid[ATL_ATM_KEK_ID_MAX + 1];
	struct atl_model_info info;
	uint8_t *pt = NULL;
	size_t pt_len = 0;

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(atl_model_decrypt_to_secret(f.atm, kek_acme, NULL, &pt, &pt_len), ATL_OK);
	atl_secret_free(pt);
	pt = NULL;
	assert_int_equal(atl_kbs_rotate(f.b, "acme", kid), ATL_OK);
	assert_string_equal(kid, "acme.k2");
	assert_int_equal(atl_model_inspect(f.atm, &info), ATL_OK);
	assert_string_equal(info.kek_id, "acme.k2");
	/* the old KEK no longer opens the model */
	assert_int_equal(atl_model_decrypt_to_secret(f.atm, kek_acme, NULL, &pt, &pt_len),
			 ATL_E_AUTH);
	assert_null(pt);
	/* releases go on under the new KEK, also after a reopen */
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	enclave_open(&f, sealed);
	free(sealed);
	sealed = NULL;
	atl_kbs_close(f.b);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_OK);
	assert_int_equal(atl_kbs_rotate(f.b, "acme", kid), ATL_OK);
	assert_string_equal(kid, "acme.k3");
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	enclave_open(&f, sealed);
	free(sealed);
	assert_int_equal(atl_kbs_rotate(f.b, "nobody", NULL), ATL_E_NOTFOUND);
	/* a model under another tenant's KEK cannot be registered for acme */
	{
		char in[256], atm2[320];
		json_t *p = policy_for(meas_hex);
		snprintf(in, sizeof(in), "%s/model.bin", dir);
		snprintf(atm2, sizeof(atm2), "%s/other.atm", f.bdir);
		assert_int_equal(atl_kbs_model_encrypt(f.b, "other", in, atm2, CHUNK, NULL), ATL_OK);
		assert_int_equal(atl_kbs_model_register(f.b, "acme", atm2, p, NULL), ATL_E_AUTH);
		assert_int_equal(atl_kbs_model_register(f.b, "other", atm2, p, NULL), ATL_OK);
		json_decref(p);
	}
	fx_done(&f);
}

/* A rotation that stops half-way (a model file missing) keeps both KEKs:
 * releases go on for every model, and the next rotate (after a reopen)
 * finishes the same rotation. */
static void test_rotation_resume(void **st)
{
	struct fx f;
	char *sealed = NULL;
	char kid[ATL_ATM_KEK_ID_MAX + 1], in[256], atm2[320], away[330];
	char mid1[ATL_KBS_MODEL_ID_HEX], mid2[ATL_KBS_MODEL_ID_HEX], atm1[320];
	struct atl_model_info info;
	json_t *p = policy_for(meas_hex);

	(void)st;
	fx_init(&f, NULL);
	snprintf(in, sizeof(in), "%s/model.bin", dir);
	snprintf(atm2, sizeof(atm2), "%s/model2.atm", f.bdir);
	snprintf(away, sizeof(away), "%s.away", atm2);
	assert_int_equal(atl_kbs_model_encrypt(f.b, "acme", in, atm2, CHUNK, NULL), ATL_OK);
	assert_int_equal(atl_kbs_model_register(f.b, "acme", atm2, p, mid2), ATL_OK);
	json_decref(p);
	memcpy(mid1, f.mid, sizeof(mid1));
	memcpy(atm1, f.atm, sizeof(atm1));
	assert_int_equal(rename(atm2, away), 0);
	assert_int_not_equal(atl_kbs_rotate(f.b, "acme", kid), ATL_OK);
	assert_int_equal(rename(away, atm2), 0);
	/* one model under each KEK now; both still released */
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	enclave_open(&f, sealed);
	free(sealed);
	sealed = NULL;
	memcpy(f.mid, mid2, sizeof(mid2));
	memcpy(f.atm, atm2, sizeof(f.atm));
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	enclave_open(&f, sealed);
	free(sealed);
	sealed = NULL;
	atl_kbs_close(f.b);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_OK);
	assert_int_equal(atl_kbs_rotate(f.b, "acme", kid), ATL_OK);
	assert_string_equal(kid, "acme.k2");
	assert_int_equal(atl_model_inspect(atm1, &info), ATL_OK);
	assert_string_equal(info.kek_id, "acme.k2");
	assert_int_equal(atl_model_inspect(atm2, &info), ATL_OK);
	assert_string_equal(info.kek_id, "acme.k2");
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	enclave_open(&f, sealed);
	free(sealed);
	fx_done(&f);
}

__attribute__((noinline)) static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	size_t off = 0;
	const char *hit;

	while ((hit = strstr(hay + off, needle)) != NULL) {
		n++;
		off = (size_t)(hit - hay) + 1;
	}
	return n;
}

static void test_audit_and_secrets(void **st)
{
	struct fx f;
	char *sealed = NULL, *log, *state, path[300], kek_hex[65];
	struct atl_audit_report rep;

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_OK);
	free(sealed);
	sealed = NULL;
	assert_int_equal(try_release(&f, "other", false, &sealed), ATL_E_DENIED);
	assert_int_equal(try_release(&f, "acme", true, &sealed), ATL_E_POLICY);
	assert_int_equal(atl_kbs_rotate(f.b, "acme", NULL), ATL_OK);
	assert_int_equal(atl_kbs_model_revoke(f.b, f.mid), ATL_OK);
	fx_done(&f);

	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_AUDIT_FILE);
	assert_int_equal(atl_audit_verify(path, signer_pub, &rep), ATL_OK);
	assert_int_equal(rep.bad_seq, 0);
	assert_int_equal(rep.last_signed_seq, rep.last_seq);
	log = read_text(path);
	assert_int_equal(count(log, "\"action\":\"release\""), 1);
	assert_int_equal(count(log, "\"action\":\"refuse\""), 2);
	assert_int_equal(count(log, "\"action\":\"rotate\""), 1);
	assert_int_equal(count(log, "\"action\":\"revoke-model\""), 1);
	assert_int_equal(count(log, "\"action\":\"register\""), 1);
	assert_int_equal(count(log, "another tenant"), 1);
	/* no key material, no plaintext in the log or the state */
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_STATE_FILE);
	state = read_text(path);
	assert_int_equal(atl_hex_encode(kek_acme, sizeof(kek_acme), kek_hex, sizeof(kek_hex)),
			 ATL_OK);
	assert_null(strstr(log, kek_hex));
	assert_null(strstr(state, kek_hex));
	assert_null(strstr(log, "CANARY"));
	assert_null(strstr(state, "CANARY"));
	free(log);
	free(state);
}

static void write_state(const char *bdir, json_t *st)
{
	char path[300], *txt = json_dumps(st, JSON_SORT_KEYS);

	assert_non_null(txt);
	snprintf(path, sizeof(path), "%s/%s", bdir, ATL_KBS_STATE_FILE);
	assert_int_equal(atl_file_write(path, txt, strlen(txt), 0600, 0), ATL_OK);
	free(txt);
}

/* Someone who can edit state.json but not read the master key: moving a model
 * to another tenant gets no release (the header names the owner's KEK, which
 * the other tenant does not have); an edited wrapped KEK is refused at open. */
static void test_state_tamper(void **st)
{
	struct fx f;
	char path[300], *sealed = NULL;
	json_t *state, *t;
	const char *w;
	char buf[200];

	(void)st;
	fx_init(&f, NULL);
	fx_done(&f);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_STATE_FILE);
	state = json_load_file(path, 0, NULL);
	assert_non_null(state);
	json_object_set_new(json_object_get(json_object_get(state, "models"), f.mid), "tenant",
			    json_string("other"));
	write_state(f.bdir, state);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_OK);
	assert_int_equal(atl_kp_generate(&f.kp), ATL_OK);
	assert_int_equal(try_release(&f, "other", false, &sealed), ATL_E_AUTH);
	assert_int_equal(try_release(&f, "acme", false, &sealed), ATL_E_DENIED);
	fx_done(&f);
	t = json_object_get(json_object_get(state, "tenants"), "acme");
	w = json_string_value(json_object_get(t, "wrapped"));
	snprintf(buf, sizeof(buf), "%s", w);
	buf[0] = buf[0] == '0' ? '1' : '0';
	json_object_set_new(t, "wrapped", json_string(buf));
	write_state(f.bdir, state);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_E_AUTH);
	assert_null(f.b);
	json_object_set_new(state, "extra", json_true());
	write_state(f.bdir, state);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_E_FORMAT);
	json_decref(state);
}

/* One release attempt for a workload (NULL: atl_kbs_release). */
static enum atl_err try_release_wl(struct fx *f, const char *wid, char **sealed)
{
	uint8_t nonce[ATL_KBS_NONCE_LEN];
	int64_t now = atl_time_now();
	char *ev;
	enum atl_err e;

	assert_int_equal(atl_kbs_nonce_new(f->b, now, nonce), ATL_OK);
	ev = evidence(f, nonce, false);
	e = wid != NULL ? atl_kbs_release_workload(f->b, "acme", f->mid, wid, (const uint8_t *)ev,
						   strlen(ev), nonce, sizeof(nonce), now, sealed)
			: atl_kbs_release(f->b, "acme", f->mid, (const uint8_t *)ev, strlen(ev), nonce,
					  sizeof(nonce), now, sealed);
	free(ev);
	if (e != ATL_OK)
		assert_null(*sealed);
	return e;
}

/* Workload binding: a model with allowed workloads is released only for one
 * of them, the sealed key (format 2) opens only for that workload, and the
 * allowed list survives a reopen. */
static void test_workload_binding(void **st)
{
	struct fx f;
	char *sealed = NULL, *forged, *log, *p;
	uint8_t dek[ATL_ATM_DEK_LEN];
	json_t *s;

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(atl_kbs_model_allow_workload(f.b, f.mid, "bad/wl"), ATL_E_ARG);
	assert_int_equal(atl_kbs_model_allow_workload(f.b, "00000000000000000000000000000000",
						      "w1"),
			 ATL_E_NOTFOUND);
	/* no workload list yet: a workload release is refused, a plain one works */
	assert_int_equal(try_release_wl(&f, "w1", &sealed), ATL_E_DENIED);
	assert_string_equal(atl_kbs_last_reason(f.b), "workload w1 is not allowed for this model");
	assert_int_equal(atl_kbs_model_allow_workload(f.b, f.mid, "w1"), ATL_OK);
	assert_int_equal(atl_kbs_model_allow_workload(f.b, f.mid, "w1"), ATL_OK); /* idempotent */
	assert_int_equal(atl_kbs_model_allow_workload(f.b, f.mid, "w3"), ATL_OK);
	/* bound: a release without a workload, or for another one, is refused */
	assert_int_equal(try_release_wl(&f, NULL, &sealed), ATL_E_DENIED);
	assert_int_equal(try_release_wl(&f, "w2", &sealed), ATL_E_DENIED);
	assert_int_equal(try_release_wl(&f, "bad/wl", &sealed), ATL_E_ARG);
	assert_int_equal(try_release_wl(&f, "w1", &sealed), ATL_OK);
	assert_non_null(strstr(sealed, "\"v\":2"));
	assert_non_null(strstr(sealed, "\"workload_id\":\"w1\""));
	/* opens for (model, w1) only */
	assert_int_equal(atl_kbs_sealed_open_workload(sealed, strlen(sealed), &f.kp, f.mid, "w1",
						      dek),
			 ATL_OK);
	assert_int_equal(atl_kbs_sealed_open_workload(sealed, strlen(sealed), &f.kp, f.mid, "w2",
						      dek),
			 ATL_E_AUTH);
	assert_int_equal(atl_kbs_sealed_open_workload(sealed, strlen(sealed), &f.kp, f.mid, NULL,
						      dek),
			 ATL_E_ARG);
	assert_int_equal(atl_kbs_sealed_open(sealed, strlen(sealed), &f.kp, f.mid, dek),
			 ATL_E_FORMAT);
	/* relabelled for another workload: the AAD does not match */
	p = strstr(sealed, "\"workload_id\":\"w1\"");
	forged = strdup(sealed);
	assert_non_null(forged);
	forged[(size_t)(p - sealed) + strlen("\"workload_id\":\"w")] = '3';
	assert_int_equal(atl_kbs_sealed_open_workload(forged, strlen(forged), &f.kp, f.mid, "w3",
						      dek),
			 ATL_E_AUTH);
	free(forged);
	free(sealed);
	sealed = NULL;
	atl_wipe(dek, sizeof(dek));
	/* revocation still applies to a bound model */
	assert_int_equal(atl_kbs_model_revoke(f.b, f.mid), ATL_OK);
	assert_int_equal(try_release_wl(&f, "w1", &sealed), ATL_E_POLICY);
	/* kept across a reopen, shown in the status */
	atl_kbs_close(f.b);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_OK);
	s = atl_kbs_status(f.b);
	assert_non_null(s);
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(json_object_get(s, "models"),
								 f.mid),
						"workloads")),
		2);
	json_decref(s);
	fx_done(&f);
	/* audited: the allowance and the refusal */
	{
		char path[320];
		snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_AUDIT_FILE);
		log = read_text(path);
	}
	assert_non_null(strstr(log, "allow-workload"));
	assert_non_null(strstr(log, "workload w2 is not allowed for this model"));
	assert_non_null(strstr(log, "workload=w1"));
	free(log);
}

/* Format 1 keys (atl_kbs_release of an unbound model) do not open as format 2. */
static void test_sealed_v1_not_v2(void **st)
{
	struct fx f;
	char *sealed = NULL;
	uint8_t dek[ATL_ATM_DEK_LEN];

	(void)st;
	fx_init(&f, NULL);
	assert_int_equal(try_release_wl(&f, NULL, &sealed), ATL_OK);
	assert_int_equal(atl_kbs_sealed_open_workload(sealed, strlen(sealed), &f.kp, f.mid, "w1",
						      dek),
			 ATL_E_FORMAT);
	free(sealed);
	fx_done(&f);
}

static void test_master_key_file(void **st)
{
	struct fx f;
	char path[300];
	struct stat sb;

	(void)st;
	fx_init(&f, NULL);
	fx_done(&f);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_MASTER_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_STATE_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/%s", f.bdir, ATL_KBS_MASTER_FILE);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_E_POLICY);
	assert_null(f.b);
	/* another master key: the stored KEKs do not unwrap */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(atl_kbs_open(f.bdir, signer, &f.b), ATL_E_AUTH);
	assert_null(f.b);
	assert_int_equal(atl_kbs_open(NULL, NULL, &f.b), ATL_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_ok),
		cmocka_unit_test(test_refuse_measurement_and_debug),
		cmocka_unit_test(test_refuse_nonces),
		cmocka_unit_test(test_refuse_tenant_and_revocation),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_rotation_resume),
		cmocka_unit_test(test_audit_and_secrets),
		cmocka_unit_test(test_state_tamper),
		cmocka_unit_test(test_master_key_file),
		cmocka_unit_test(test_workload_binding),
		cmocka_unit_test(test_sealed_v1_not_v2),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
