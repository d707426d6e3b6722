/* Arm CCA attestation tokens: the platform token (CPAK-signed, PSA-style
 * claims) and the realm token (RAK-signed) in one collection, and the
 * binding between them; see src/attest/psa.h.
 *
 * The three-legged check (veraison/rust-ccatoken issue #10): the platform
 * token verifies under a pinned CPAK; the realm token verifies under the RAK
 * it carries; and the platform challenge equals H(RAK) with the realm's RAK
 * hash algorithm, which is what ties that RAK to that platform
 * (veraison/rust-ccatoken issue #33: without it any realm token pairs with
 * any platform token). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/digest.h"
#include "atoll/limits.h"
#include "attest/backends.h"
#include "attest/cose.h"
#include "attest/hw2.h"
#include "attest/psa.h"

#define CCA_TAG_LEGACY 399 /* draft collection tag, still emitted by TF-RMM */
#define CCA_TAG 907        /* IANA CBOR tag for the CCA attestation token */
#define CCA_PLATFORM 44234
#define CCA_REALM 44241

/* Realm claims (RMM spec A7.2.3.1). */
#define RLM_CHALLENGE 10
#define RLM_PROFILE 265
#define RLM_PERSO 44235
#define RLM_HASH_ALGO 44236
#define RLM_RAK 44237
#define RLM_RIM 44238
#define RLM_REM 44239
#define RLM_RAK_HASH_ALGO 44240
#define RLM_REMS 4
#define RAK_LEN 97 /* uncompressed P-384 point */

struct realm {
	const uint8_t *challenge, *rak, *rim;
	size_t rim_len;
	enum atl_hash rak_hash;
	json_t *json;
};

static bool hash_by_name(const cbor_item_t *v, enum atl_hash *h)
{
	if (atl_cbor_tstr_eq(v, "sha-256")) {
		*h = ATL_HASH_SHA256;
		return true;
	}
	if (atl_cbor_tstr_eq(v, "sha-384")) {
		*h = ATL_HASH_SHA384;
		return true;
	}
	if (atl_cbor_tstr_eq(v, "sha-512")) {
		*h = ATL_HASH_SHA512;
		return true;
	}
	return false;
}

static enum atl_err set_hex(json_t *obj, const char *name, const uint8_t *p, size_t n)
{
	json_t *h = atl_hw2_hex(p, n);

	if (h == NULL || json_object_set_new(obj, name, h) != 0)
		return ATL_E_NOMEM;
	return ATL_OK;
}

static enum atl_err bad(char *why, size_t cap, const char *what)
{
	(void)snprintf(why, cap, "%s", what);
	return ATL_E_FORMAT;
}

/* Validates the realm claims (RMM spec A7.2.3.1, rust-ccatoken realm.rs). */
static enum atl_err parse_realm(const cbor_item_t *m, struct realm *r, char *why, size_t cap)
{
	enum atl_hash halg;
	const uint8_t *p;
	size_t n, hl;
	const cbor_item_t *v, *rems;
	json_t *arr = NULL;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(r, 0, sizeof(*r));
	if (m == NULL || !cbor_isa_map(m))
		return bad(why, cap, "realm claims are not a map");
	v = atl_cbor_map_int(m, RLM_PROFILE);
	if (v != NULL && !atl_cbor_tstr_eq(v, "tag:arm.com,2023:realm#1.0.0"))
		return bad(why, cap, "unknown realm profile");
	if (!atl_cbor_bstr(atl_cbor_map_int(m, RLM_CHALLENGE), &r->challenge, &n) || n != 64)
		return bad(why, cap, "realm challenge missing or not 64 bytes");
	if (!hash_by_name(atl_cbor_map_int(m, RLM_HASH_ALGO), &halg))
		return bad(why, cap, "realm hash algorithm missing or unknown");
	if (!hash_by_name(atl_cbor_map_int(m, RLM_RAK_HASH_ALGO), &r->rak_hash))
		return bad(why, cap, "RAK hash algorithm missing or unknown");
	if (!atl_cbor_bstr(atl_cbor_map_int(m, RLM_RAK), &r->rak, &n) || n != RAK_LEN ||
	    r->rak[0] != 0x04)
		return bad(why, cap, "RAK missing or not an uncompressed P-384 point");
	hl = atl_hash_len(halg);
	if (!atl_cbor_bstr(atl_cbor_map_int(m, RLM_RIM), &r->rim, &r->rim_len) || r->rim_len != hl)
		return bad(why, cap, "RIM missing or not of the realm hash size");
	rems = atl_cbor_map_int(m, RLM_REM);
	if (atl_cbor_array_len(rems) != RLM_REMS)
		return bad(why, cap, "REMs missing or not 4 entries");
	if (!atl_cbor_bstr(atl_cbor_map_int(m, RLM_PERSO), &p, &n) || n != 64)
		return bad(why, cap, "personalization value missing or not 64 bytes");
	r->json = json_object();
	arr = json_array();
	if (r->json == NULL || arr == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(set_hex(r->json, "personalization", p, n));
	ATL_TRY(set_hex(r->json, "challenge", r->challenge, 64));
	ATL_TRY(set_hex(r->json, "rim", r->rim, r->rim_len));
	ATL_TRY(set_hex(r->json, "rak", r->rak, RAK_LEN));
	for (size_t i = 0; i < RLM_REMS; i++) {
		json_t *h;

		if (!atl_cbor_bstr(atl_cbor_array_at(rems, i), &p, &n) || n != hl) {
			rc = bad(why, cap, "a REM is not of the realm hash size");
			goto out;
		}
		h = atl_hw2_hex(p, n);
		if (h == NULL || json_array_append_new(arr, h) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	if (json_object_set(r->json, "rem", arr) != 0 ||
	    json_object_set_new(r->json, "hash_algo",
				json_string(halg == ATL_HASH_SHA256 ? "sha-256"
					    : halg == ATL_HASH_SHA384 ? "sha-384" : "sha-512")) != 0 ||
	    json_object_set_new(r->json, "rak_hash_algo",
				json_string(r->rak_hash == ATL_HASH_SHA256 ? "sha-256"
					    : r->rak_hash == ATL_HASH_SHA384 ? "sha-384"
									     : "sha-512")) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	rc = ATL_OK;
out:
	json_decref(arr);
	if (rc != ATL_OK) {
		json_decref(r->json);
		r->json = NULL;
	}
	return rc;
}

/* Realm reference sets: [{"rim": hex, "rem": [hex x4], "personalization": hex}],
 * every field optional, no other; a set matches when every field it gives
 * equals the claim. */
static bool realm_ref_valid(const json_t *r)
{
	const char *k;
	const json_t *v, *e;
	size_t i;

	if (!json_is_object(r))
		return false;
	json_object_foreach((json_t *)r, k, v) {
		if (strcmp(k, "rim") == 0 || strcmp(k, "personalization") == 0) {
			if (!atl_psa_is_hex(v, ATL_HASH_MAX_LEN))
				return false;
		} else if (strcmp(k, "rem") == 0) {
			if (!json_is_array(v) || json_array_size(v) != RLM_REMS)
				return false;
			json_array_foreach(v, i, e) {
				if (!atl_psa_is_hex(e, ATL_HASH_MAX_LEN))
					return false;
			}
		} else {
			return false;
		}
	}
	return true;
}

static bool realm_match(const json_t *claims, const json_t *r)
{
	const json_t *rim = json_object_get(r, "rim"), *rem = json_object_get(r, "rem");
	const json_t *pv = json_object_get(r, "personalization");
	bool ok = (rim == NULL || atl_psa_hex_eq(json_object_get(claims, "rim"), rim)) &&
		  (pv == NULL || atl_psa_hex_eq(json_object_get(claims, "personalization"), pv));

	for (size_t j = 0; ok && rem != NULL && j < RLM_REMS; j++)
		ok = atl_psa_hex_eq(json_array_get(json_object_get(claims, "rem"), j),
				    json_array_get(rem, j));
	return ok;
}

static enum atl_err appraise_realm(struct atl_ar *ar, const json_t *claims, const json_t *refs)
{
	static const struct atl_psa_refkind realm = {"realm reference", realm_ref_valid,
						     realm_match};

	return atl_psa_appraise_sets(ar, "cca.realm_reference", claims, refs, &realm);
}

/* The collection: tag 907 or 399 over {44234: platform, 44241: realm}. */
static enum atl_err parse_collection(const cbor_item_t *root, const uint8_t **plat,
				     size_t *plat_len, const uint8_t **realm, size_t *realm_len,
				     char *why, size_t cap)
{
	const cbor_item_t *m;
	uint64_t tag;
	static const int64_t keys[] = {CCA_PLATFORM, CCA_REALM};
	int64_t badk;

	if (!atl_cbor_tag(root, &tag, &m) || (tag != CCA_TAG && tag != CCA_TAG_LEGACY))
		return bad(why, cap, "not a CCA token collection (tag 907 or 399)");
	if (!cbor_isa_map(m) || cbor_map_size(m) != 2 || !atl_cbor_map_keys_in(m, keys, 2, &badk))
		return bad(why, cap, "collection must hold exactly the platform and realm tokens");
	if (!atl_cbor_bstr(atl_cbor_map_int(m, CCA_PLATFORM), plat, plat_len) ||
	    !atl_cbor_bstr(atl_cbor_map_int(m, CCA_REALM), realm, realm_len))
		return bad(why, cap, "platform or realm token is not a byte string");
	return ATL_OK;
}

enum atl_err atl_cca_verify_token(const uint8_t *tok, size_t len, const struct atl_cca_opts *o,
				  struct atl_ar *ar)
{
	struct atl_cose_sign1 ps = {0}, rs = {0};
	struct atl_psa_claims pc = {0};
	struct realm rc_ = {0};
	cbor_item_t *root = NULL, *pclaims = NULL, *rclaims = NULL;
	struct atl_pubkey *rak = NULL;
	const uint8_t *plat, *realm;
	size_t plat_len, realm_len;
	enum atl_err rc = ATL_E_INTERNAL, prc;
	char why[256] = "";
	const char *stage = "collection";
	bool ok;
	uint8_t h[ATL_HASH_MAX_LEN];
	json_t *claims = NULL;

	prc = atl_cbor_decode(tok, len, &root);
	if (prc == ATL_OK)
		prc = parse_collection(root, &plat, &plat_len, &realm, &realm_len, why, sizeof(why));
	if (prc == ATL_OK) {
		stage = "platform token";
		prc = atl_cose_sign1_parse(plat, plat_len, &ps);
	}
	if (prc == ATL_OK)
		prc = atl_cbor_decode(ps.payload, ps.payload_len, &pclaims);
	if (prc == ATL_OK)
		prc = atl_psa_claims_parse(pclaims, true, &pc, why, sizeof(why));
	if (prc != ATL_OK) {
		if (prc == ATL_E_NOMEM) {
			rc = prc;
			goto out;
		}
		ATL_TRY(atl_ar_check(ar, "cca.platform_claims", false, "%s does not decode: %s%s%s",
				     stage, atl_strerror(prc), why[0] ? ": " : "", why));
		rc = prc;
		goto out;
	}
	ATL_TRY(atl_ar_check(ar, "cca.platform_claims", true, "platform claims valid"));
	stage = "realm token";
	prc = atl_cose_sign1_parse(realm, realm_len, &rs);
	if (prc == ATL_OK)
		prc = atl_cbor_decode(rs.payload, rs.payload_len, &rclaims);
	if (prc == ATL_OK)
		prc = parse_realm(rclaims, &rc_, why, sizeof(why));
	if (prc == ATL_OK)
		prc = atl_pubkey_from_ec_xy(384, rc_.rak + 1, rc_.rak + 1 + 48, 48, &rak);
	if (prc != ATL_OK) {
		if (prc == ATL_E_NOMEM) {
			rc = prc;
			goto out;
		}
		ATL_TRY(atl_ar_check(ar, "cca.realm_claims", false, "%s does not decode: %s%s%s",
				     stage, atl_strerror(prc), why[0] ? ": " : "", why));
		rc = prc;
		goto out;
	}
	ATL_TRY(atl_ar_check(ar, "cca.realm_claims", true, "realm claims valid"));
	/* Leg 1: the platform token under a pinned CPAK. */
	ok = false;
	for (size_t i = 0; i < o->n_cpaks && !ok; i++)
		ok = atl_cose_sign1_verify(&ps, o->cpaks[i]) == ATL_OK;
	ATL_TRY(atl_ar_check(ar, "cca.cpak", o->n_cpaks > 0,
			     o->n_cpaks > 0 ? "%zu CPAK(s) pinned" : "no CPAK pinned (policy cca.cpak or --anchor)",
			     o->n_cpaks));
	ATL_TRY(atl_ar_check(ar, "cca.platform_signature", ok, "platform token (alg %lld) %s",
			     (long long)ps.alg, ok ? "verifies under a pinned CPAK" : "does not verify under any pinned CPAK"));
	/* Leg 2: the realm token under its own RAK. */
	ok = atl_cose_sign1_verify(&rs, rak) == ATL_OK;
	ATL_TRY(atl_ar_check(ar, "cca.realm_signature", ok, "realm token (alg %lld) %s",
			     (long long)rs.alg, ok ? "verifies under its RAK" : "does not verify under its RAK"));
	/* Leg 3: platform challenge == H(RAK). */
	ATL_TRY(atl_hash(rc_.rak_hash, rc_.rak, RAK_LEN, h));
	ok = pc.nonce_len == atl_hash_len(rc_.rak_hash) && atl_crypto_memeq(h, pc.nonce, pc.nonce_len);
	ATL_TRY(atl_ar_check(ar, "cca.binding", ok, ok ? "platform challenge equals H(RAK)"
						       : "platform challenge is not H(RAK): realm token not bound to this platform"));
	ATL_TRY(atl_psa_record_lifecycle(ar, "cca.lifecycle", pc.lifecycle));
	if (o->nonce != NULL) {
		ok = o->nonce_len == 64 && atl_crypto_memeq(o->nonce, rc_.challenge, 64);
		ATL_TRY(atl_ar_check(ar, "cca.nonce", ok, ok ? "realm challenge matches"
							     : "realm challenge differs from the expected nonce"));
	}
	ATL_TRY(atl_psa_appraise(ar, "cca.platform_reference", pc.json, o->platform_refs));
	ATL_TRY(appraise_realm(ar, rc_.json, o->realm_refs));
	claims = json_pack("{s:O, s:O}", "platform", pc.json, "realm", rc_.json);
	if (claims == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	ATL_TRY(atl_ar_set_json(ar, "cca", claims));
	claims = NULL;
	ATL_TRY(atl_ar_set_hex(ar, "measurement", rc_.rim, rc_.rim_len));
	ATL_TRY(atl_ar_set_hex(ar, "report_data", rc_.challenge, 64));
	ATL_TRY(atl_ar_set_bool(ar, "debug", pc.debug));
	rc = ATL_OK;
out:
	json_decref(claims);
	json_decref(rc_.json);
	atl_psa_claims_clear(&pc);
	atl_pubkey_free(rak);
	atl_cbor_free(rclaims);
	atl_cbor_free(pclaims);
	atl_cbor_free(root);
	atl_cose_sign1_free(&ps);
	atl_cose_sign1_free(&rs);
	return rc;
}

/* ---- the "cca" backend ---- */

/* CPAKs: policy trust_anchors.cca and --anchor files (PEM public keys), and
 * policy "cca": {"cpak": ["<PEM>", ...], "platform": [reference sets of
 * atl_psa_appraise], "realm": [{"rim", "rem", "personalization"}]}. */
static enum atl_err cca_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar)
{
	static const char *const allowed[] = {"cpak", "platform", "realm", NULL};
	struct atl_pubkey *keys[ATL_HW2_ANCHORS_MAX + ATL_PSA_KEYS_MAX] = {0};
	size_t n = 0, i;
	const json_t *sec = json_object_get(in->policy, "cca"), *list = NULL, *e;
	enum atl_err rc = ATL_E_INTERNAL;
	char why[256] = "";

	if (sec != NULL) {
		const char *k;
		json_t *v;
		bool known = true;

		json_object_foreach((json_t *)sec, k, v) {
			bool hit = false;

			for (size_t j = 0; allowed[j] != NULL; j++)
				hit = hit || strcmp(k, allowed[j]) == 0;
			known = known && hit;
		}
		list = json_object_get(sec, "cpak");
		if (!known || !json_is_object(sec) || (list != NULL &&
		    (!json_is_array(list) || json_array_size(list) > ATL_PSA_KEYS_MAX))) {
			ATL_TRY(atl_ar_check(ar, "cca.policy", false,
					     "policy cca accepts cpak (a list of PEM keys), platform and realm"));
			rc = ATL_E_FORMAT;
			goto out;
		}
		json_array_foreach(list, i, e) {
			if (!json_is_string(e) ||
			    atl_pubkey_parse((const uint8_t *)json_string_value(e), json_string_length(e),
					     &keys[n]) != ATL_OK) {
				ATL_TRY(atl_ar_check(ar, "cca.policy", false, "cca.cpak[%zu] is not a PEM public key", i));
				rc = ATL_E_FORMAT;
				goto out;
			}
			n++;
		}
	}
	{
		size_t got = 0;

		rc = atl_hw2_anchor_keys(in, "cca", keys + n, ATL_HW2_ANCHORS_MAX, &got, why, sizeof(why));
		n += got;
		if (rc != ATL_OK) {
			enum atl_err err = rc;

			ATL_TRY(atl_ar_check(ar, "cca.anchors", false, "%s", why));
			rc = err;
			goto out;
		}
	}
	{
		struct atl_cca_opts o = {.cpaks = (const struct atl_pubkey *const *)keys, .n_cpaks = n,
					 .platform_refs = json_object_get(sec, "platform"),
					 .realm_refs = json_object_get(sec, "realm")};

		rc = atl_cca_verify_token(ev, ev_len, &o, ar);
	}
out:
	for (i = 0; i < n; i++)
		atl_pubkey_free(keys[i]);
	return rc;
}

/* Realm evidence comes through configfs-tsm (/sys/kernel/config/tsm/report)
 * inside an Arm CCA realm; none is present on this machine. */
const struct atl_tee_ops atl_tee_cca = {
	.name = "cca",
	.detect = NULL,
	.evidence = atl_psa_evidence_unsupported,
	.verify = cca_verify,
};
