/* Arm PSA attestation tokens (both profiles) and the platform claims shared
 * with CCA; see src/attest/psa.h. Verification is parse (COSE, CBOR), then
 * validate (claims per profile, limits), then use (key lookup, signature,
 * nonce, lifecycle). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atoll/digest.h"
#include "atoll/limits.h"
#include "attest/backends.h"
#include "attest/cose.h"
#include "attest/hw2.h"
#include "attest/psa.h"

#define PSA_P2_PROFILE "http://arm.com/psa/2.0.0"
#define PSA_P2_PROFILE_RFC "tag:psacertified.org,2023:psa#tfm" /* RFC 9783 */
#define PSA_P1_PROFILE "PSA_IOT_PROFILE_1"
#define CCA_PROFILE_LEGACY "http://arm.com/CCA-SSD/1.0.0"
#define CCA_PROFILE "tag:arm.com,2023:cca_platform#1.0.0"

/* Claim keys per profile (0 = not part of the profile). */
struct keyset {
	int64_t profile, nonce, instance, client, lifecycle, impl, boot_seed, hw_version, swcomp,
		no_sw, vservice, config, hash_algo;
};

/* PSA token draft §4 (2.0) and PSA_IOT_PROFILE_1 (-75000 ...). */
static const struct keyset keys_p2 = {265, 10, 256, 2394, 2395, 2396, 2397, 2398, 2399, 0, 2400, 0, 0};
static const struct keyset keys_p1 = {-75000, -75008, -75009, -75001, -75002, -75003, -75004,
				      -75005, -75006, -75007, -75010, 0, 0};
/* Arm CCA Security Model, platform token claims. */
static const struct keyset keys_cca = {265, 10, 256, 0, 2395, 2396, 0, 0, 2399, 0, 2400, 2401, 2402};

/* sw-component map keys (PSA token draft §4.4.1) */
#define SWC_TYPE 1
#define SWC_VALUE 2
#define SWC_VERSION 4
#define SWC_SIGNER 5
#define SWC_DESC 6

static enum atl_err bad(char *why, size_t cap, const char *what)
{
	if (why != NULL && cap > 0)
		(void)snprintf(why, cap, "%s", what);
	return ATL_E_FORMAT;
}

void atl_psa_claims_clear(struct atl_psa_claims *c)
{
	if (c == NULL)
		return;
	json_decref(c->json);
	memset(c, 0, sizeof(*c));
}

/* Adds an optional text claim to obj (bounded). */
static enum atl_err opt_tstr(const cbor_item_t *m, int64_t key, json_t *obj, const char *name,
			     char *why, size_t cap)
{
	const cbor_item_t *v;
	const char *s;
	size_t n;

	if (key == 0 || (v = atl_cbor_map_int(m, key)) == NULL)
		return ATL_OK;
	if (!atl_cbor_tstr(v, &s, &n) || n > ATL_PSA_STR_MAX)
		return bad(why, cap, name);
	if (json_object_set_new(obj, name, json_stringn(s, n)) != 0)
		return ATL_E_NOMEM;
	return ATL_OK;
}

static enum atl_err set_hex(json_t *obj, const char *name, const uint8_t *p, size_t n)
{
	json_t *h = atl_hw2_hex(p, n);

	if (h == NULL || json_object_set_new(obj, name, h) != 0)
		return ATL_E_NOMEM;
	return ATL_OK;
}

/* Software components (PSA draft §4.4.1): each a map with a measurement
 * value and a signer id; digest of all values into sw_digest. */
static enum atl_err parse_swcomps(const cbor_item_t *arr, json_t *out_arr, uint8_t digest[32],
				  char *why, size_t cap)
{
	struct atl_hash_ctx *h = NULL;
	enum atl_err rc = ATL_E_INTERNAL;
	size_t n = atl_cbor_array_len(arr);

	if (arr == NULL || !cbor_isa_array(arr) || n == 0) {
		rc = bad(why, cap, "sw-components must be a non-empty array");
		goto out;
	}
	if (n > ATL_PSA_SWCOMP_MAX) {
		rc = ATL_E_LIMIT;
		goto out;
	}
	ATL_TRY(atl_hash_new(ATL_HASH_SHA256, &h));
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *c = atl_cbor_array_at(arr, i);
		const uint8_t *val, *signer;
		size_t val_len, signer_len;
		json_t *o;
		uint8_t lenb[2];

		if (c == NULL || !cbor_isa_map(c) ||
		    !atl_cbor_bstr(atl_cbor_map_int(c, SWC_VALUE), &val, &val_len) ||
		    val_len == 0 || val_len > ATL_ATTEST_MEAS_MAX ||
		    !atl_cbor_bstr(atl_cbor_map_int(c, SWC_SIGNER), &signer, &signer_len) ||
		    signer_len == 0 || signer_len > ATL_ATTEST_MEAS_MAX) {
			rc = bad(why, cap, "sw-component without a valid measurement-value and signer-id");
			goto out;
		}
		o = json_object();
		if (o == NULL || json_array_append_new(out_arr, o) != 0) {
			json_decref(o);
			rc = ATL_E_NOMEM;
			goto out;
		}
		ATL_TRY(set_hex(o, "measurement", val, val_len));
		ATL_TRY(set_hex(o, "signer_id", signer, signer_len));
		ATL_TRY(opt_tstr(c, SWC_TYPE, o, "type", why, cap));
		ATL_TRY(opt_tstr(c, SWC_VERSION, o, "version", why, cap));
		ATL_TRY(opt_tstr(c, SWC_DESC, o, "description", why, cap));
		/* length-prefixed so that value boundaries are unambiguous */
		lenb[0] = (uint8_t)(val_len >> 8);
		lenb[1] = (uint8_t)val_len;
		ATL_TRY(atl_hash_update(h, lenb, 2));
		ATL_TRY(atl_hash_update(h, val, val_len));
	}
	ATL_TRY(atl_hash_final(h, digest));
	rc = ATL_OK;
out:
	atl_hash_free(h);
	return rc;
}

/* PSA security lifecycle (PSA draft §4.3.1): the major state is bits 15..8. */
static const char *lifecycle_name(uint64_t lc, bool *ok, bool *debug)
{
	*ok = false;
	*debug = false;
	switch (lc >> 8) {
	case 0x00:
		return "unknown";
	case 0x10:
		return "assembly-and-test";
	case 0x20:
		return "psa-rot-provisioning";
	case 0x30:
		*ok = true;
		return "secured";
	case 0x40:
		*ok = true;
		*debug = true;
		return "non-psa-rot-debug";
	case 0x50:
		*ok = true;
		*debug = true;
		return "recoverable-psa-rot-debug";
	case 0x60:
		return "decommissioned";
	default:
		return "invalid";
	}
}

enum atl_err atl_psa_claims_parse(const cbor_item_t *m, bool cca, struct atl_psa_claims *out,
				  char *why, size_t cap)
{
	const struct keyset *k;
	const cbor_item_t *v;
	enum atl_err rc = ATL_E_INTERNAL;
	const uint8_t *p;
	size_t n;
	json_t *comps = NULL;
	bool lc_ok;

	memset(out, 0, sizeof(*out));
	if (m == NULL || !cbor_isa_map(m))
		return bad(why, cap, "claims are not a map");
	/* Profile (PSA draft §4.2.1; CCA platform profile claim). */
	if (cca) {
		v = atl_cbor_map_int(m, 265);
		if (!atl_cbor_tstr_eq(v, CCA_PROFILE_LEGACY) && !atl_cbor_tstr_eq(v, CCA_PROFILE))
			return bad(why, cap, "unknown CCA platform profile");
		k = &keys_cca;
		out->profile = ATL_PSA_PROFILE_CCA;
	} else if ((v = atl_cbor_map_int(m, 265)) != NULL) {
		if (!atl_cbor_tstr_eq(v, PSA_P2_PROFILE) && !atl_cbor_tstr_eq(v, PSA_P2_PROFILE_RFC))
			return bad(why, cap, "unknown PSA profile");
		k = &keys_p2;
		out->profile = ATL_PSA_PROFILE_P2;
	} else if (atl_cbor_map_int(m, -75008) != NULL || atl_cbor_map_int(m, -75000) != NULL) {
		v = atl_cbor_map_int(m, -75000);
		if (v != NULL && !atl_cbor_tstr_eq(v, PSA_P1_PROFILE))
			return bad(why, cap, "unknown PSA profile");
		k = &keys_p1;
		out->profile = ATL_PSA_PROFILE_P1;
	} else {
		return bad(why, cap, "no PSA profile claim");
	}
	out->json = json_object();
	comps = json_array();
	if (out->json == NULL || comps == NULL) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	if (json_object_set_new(out->json, "profile",
				json_string(out->profile == ATL_PSA_PROFILE_P1 ? PSA_P1_PROFILE
					    : out->profile == ATL_PSA_PROFILE_P2 ? PSA_P2_PROFILE
										 : "cca-platform")) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	/* Challenge: 32, 48 or 64 bytes (PSA draft §4.1.1). */
	if (!atl_cbor_bstr(atl_cbor_map_int(m, k->nonce), &out->nonce, &out->nonce_len) ||
	    (out->nonce_len != 32 && out->nonce_len != 48 && out->nonce_len != 64)) {
		rc = bad(why, cap, "challenge missing or not 32/48/64 bytes");
		goto out;
	}
	ATL_TRY(set_hex(out->json, "challenge", out->nonce, out->nonce_len));
	/* Instance ID: a RAND-type UEID, 0x01 followed by 32 bytes (§4.2.2). */
	if (!atl_cbor_bstr(atl_cbor_map_int(m, k->instance), &p, &n) ||
	    n != ATL_PSA_INSTANCE_ID_LEN || p[0] != 0x01) {
		rc = bad(why, cap, "instance-id missing or not 0x01 || 32 bytes");
		goto out;
	}
	out->instance_id = p;
	ATL_TRY(set_hex(out->json, "instance_id", p, n));
	/* Implementation ID: 32 bytes (§4.2.3). */
	if (!atl_cbor_bstr(atl_cbor_map_int(m, k->impl), &out->impl_id, &out->impl_id_len) ||
	    out->impl_id_len != 32) {
		rc = bad(why, cap, "implementation-id missing or not 32 bytes");
		goto out;
	}
	ATL_TRY(set_hex(out->json, "implementation_id", out->impl_id, out->impl_id_len));
	/* Client ID (PSA only, §4.2.4). */
	if (k->client != 0) {
		int64_t cid;

		if (!atl_cbor_int(atl_cbor_map_int(m, k->client), &cid)) {
			rc = bad(why, cap, "client-id missing or not an integer");
			goto out;
		}
		if (json_object_set_new(out->json, "client_id", json_integer(cid)) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	/* Security lifecycle (§4.3.1). */
	if (!atl_cbor_uint(atl_cbor_map_int(m, k->lifecycle), &out->lifecycle) ||
	    out->lifecycle > 0xffff) {
		rc = bad(why, cap, "security lifecycle missing or out of range");
		goto out;
	}
	if (json_object_set_new(out->json, "lifecycle", json_integer((json_int_t)out->lifecycle)) ||
	    json_object_set_new(out->json, "lifecycle_state",
				json_string(lifecycle_name(out->lifecycle, &lc_ok, &out->debug)))) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	/* Boot seed (PSA only): 32 bytes in P1, 8..32 in P2 (§4.3.2). */
	if (k->boot_seed != 0) {
		if (!atl_cbor_bstr(atl_cbor_map_int(m, k->boot_seed), &p, &n) ||
		    (out->profile == ATL_PSA_PROFILE_P1 ? n != 32 : (n < 8 || n > 32))) {
			rc = bad(why, cap, "boot seed missing or of a wrong size");
			goto out;
		}
		ATL_TRY(set_hex(out->json, "boot_seed", p, n));
	}
	/* CCA platform config (bstr) and hash algorithm id (tstr). */
	if (k->config != 0) {
		if (!atl_cbor_bstr(atl_cbor_map_int(m, k->config), &p, &n) || n > ATL_PSA_STR_MAX) {
			rc = bad(why, cap, "platform config missing or too long");
			goto out;
		}
		ATL_TRY(set_hex(out->json, "config", p, n));
	}
	if (k->hash_algo != 0) {
		const char *s;

		if (!atl_cbor_tstr(atl_cbor_map_int(m, k->hash_algo), &s, &n) || n == 0 ||
		    n > ATL_PSA_STR_MAX) {
			rc = bad(why, cap, "platform hash algorithm id missing");
			goto out;
		}
		if (json_object_set_new(out->json, "hash_algo", json_stringn(s, n)) != 0) {
			rc = ATL_E_NOMEM;
			goto out;
		}
	}
	ATL_TRY(opt_tstr(m, k->hw_version, out->json, "hardware_version", why, cap));
	ATL_TRY(opt_tstr(m, k->vservice, out->json, "verification_service", why, cap));
	/* Software components; P1 may declare "no-sw-measurements" instead. */
	v = atl_cbor_map_int(m, k->swcomp);
	if (v == NULL && k->no_sw != 0 && atl_cbor_map_int(m, k->no_sw) != NULL) {
		uint64_t one;

		if (!atl_cbor_uint(atl_cbor_map_int(m, k->no_sw), &one) || one != 1) {
			rc = bad(why, cap, "no-sw-measurements must be 1");
			goto out;
		}
		ATL_TRY(atl_hash(ATL_HASH_SHA256, "", 0, out->sw_digest));
	} else {
		ATL_TRY(parse_swcomps(v, comps, out->sw_digest, why, cap));
	}
	if (json_object_set(out->json, "sw_components", comps) != 0) {
		rc = ATL_E_NOMEM;
		goto out;
	}
	rc = ATL_OK;
out:
	json_decref(comps);
	if (rc != ATL_OK) {
		json_decref(out->json);
		out->json = NULL;
	}
	return rc;
}

bool atl_psa_is_hex(const json_t *v, size_t max_bytes)
{
	const char *s = json_string_value(v);
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n % 2 != 0 || n / 2 > max_bytes)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

bool atl_psa_hex_eq(const json_t *a, const json_t *b)
{
	const char *x = json_string_value(a), *y = json_string_value(b);

	return x != NULL && y != NULL && strlen(x) == strlen(y) && strcasecmp(x, y) == 0;
}

/* One reference set is well formed (every field optional, no other). */
static bool ref_valid(const json_t *r)
{
	const json_t *comps = json_object_get(r, "sw_components"), *c, *v;
	const char *k;
	size_t i;

	if (!json_is_object(r))
		return false;
	json_object_foreach((json_t *)r, k, v) {
		if (strcmp(k, "implementation_id") == 0 || strcmp(k, "config") == 0) {
			if (!atl_psa_is_hex(v, ATL_PSA_STR_MAX))
				return false;
		} else if (strcmp(k, "sw_components") != 0) {
			return false;
		}
	}
	if (comps == NULL)
		return true;
	if (!json_is_array(comps) || json_array_size(comps) > ATL_PSA_SWCOMP_MAX)
		return false;
	json_array_foreach(comps, i, c) {
		const json_t *sid = json_object_get(c, "signer_id");

		if (!json_is_object(c) || json_object_size(c) != (sid != NULL ? 2u : 1u) ||
		    !atl_psa_is_hex(json_object_get(c, "measurement"), ATL_ATTEST_MEAS_MAX) ||
		    (sid != NULL && !atl_psa_is_hex(sid, ATL_ATTEST_MEAS_MAX)))
			return false;
	}
	return true;
}

/* The token's components and the reference's pair up one to one. */
static bool comps_match(const json_t *have, const json_t *want)
{
	bool used[ATL_PSA_SWCOMP_MAX] = {false};
	size_t i, j;
	const json_t *h, *w;

	if (json_array_size(have) != json_array_size(want) ||
	    json_array_size(want) > ATL_PSA_SWCOMP_MAX)
		return false;
	json_array_foreach(have, i, h) {
		bool found = false;

		json_array_foreach(want, j, w) {
			const json_t *sid = json_object_get(w, "signer_id");

			if (used[j] || !atl_psa_hex_eq(json_object_get(h, "measurement"),
						       json_object_get(w, "measurement")) ||
			    (sid != NULL && !atl_psa_hex_eq(json_object_get(h, "signer_id"), sid)))
				continue;
			used[j] = true;
			found = true;
			break;
		}
		if (!found)
			return false;
	}
	return true;
}

enum atl_err atl_psa_appraise_sets(struct atl_ar *ar, const char *name, const json_t *claims,
				   const json_t *refs, const struct atl_psa_refkind *k)
{
	const json_t *r;
	size_t i;

	if (refs == NULL)
		return ATL_OK;
	if (!json_is_array(refs) || json_array_size(refs) == 0 ||
	    json_array_size(refs) > ATL_ATTEST_LIST_MAX)
		goto bad;
	json_array_foreach(refs, i, r) {
		if (!k->valid(r))
			goto bad;
	}
	json_array_foreach(refs, i, r) {
		if (k->match(claims, r))
			return atl_ar_check(ar, name, true, "matches %s set %zu", k->what, i);
	}
	return atl_ar_check(ar, name, false, "matches none of the %zu %s sets",
			    json_array_size(refs), k->what);
bad:
	if (atl_ar_check(ar, name, false, "the policy's %s values are malformed", k->what) != ATL_OK)
		return ATL_E_NOMEM;
	return ATL_E_FORMAT;
}

static bool platform_match(const json_t *claims, const json_t *r)
{
	const json_t *impl = json_object_get(r, "implementation_id");
	const json_t *cfg = json_object_get(r, "config");
	const json_t *comps = json_object_get(r, "sw_components");

	return (impl == NULL || atl_psa_hex_eq(json_object_get(claims, "implementation_id"), impl)) &&
	       (cfg == NULL || atl_psa_hex_eq(json_object_get(claims, "config"), cfg)) &&
	       (comps == NULL || comps_match(json_object_get(claims, "sw_components"), comps));
}

enum atl_err atl_psa_appraise(struct atl_ar *ar, const char *name, const json_t *claims,
			      const json_t *refs)
{
	static const struct atl_psa_refkind platform = {"reference", ref_valid, platform_match};

	return atl_psa_appraise_sets(ar, name, claims, refs, &platform);
}

/* Records the lifecycle check shared by PSA and CCA. */
enum atl_err atl_psa_record_lifecycle(struct atl_ar *ar, const char *check, uint64_t lc)
{
	bool ok, debug;
	const char *name = lifecycle_name(lc, &ok, &debug);

	return atl_ar_check(ar, check, ok, "security lifecycle 0x%04llx (%s)%s",
			    (unsigned long long)lc, name,
			    ok ? (debug ? ": a debug state" : "") : ": not an operational state");
}

enum atl_err atl_psa_verify_token(const uint8_t *tok, size_t len, const struct atl_psa_opts *o,
				  struct atl_ar *ar)
{
	struct atl_cose_sign1 s = {0};
	struct atl_psa_claims c = {0};
	cbor_item_t *claims = NULL;
	const struct atl_pubkey *key = NULL;
	enum atl_err rc = ATL_E_INTERNAL, prc;
	char why[256] = "";
	bool sig_ok = false;

	prc = atl_cose_sign1_parse(tok, len, &s);
	if (prc == ATL_OK)
		prc = atl_cbor_decode(s.payload, s.payload_len, &claims);
	if (prc == ATL_OK)
		prc = atl_psa_claims_parse(claims, false, &c, why, sizeof(why));
	if (prc != ATL_OK) {
		if (prc == ATL_E_NOMEM) {
			rc = prc;
			goto out;
		}
		ATL_TRY(atl_ar_check(ar, "psa.claims", false, "token does not decode: %s%s%s",
				     atl_strerror(prc), why[0] ? ": " : "", why));
		rc = prc;
		goto out;
	}
	ATL_TRY(atl_ar_check(ar, "psa.claims", true, "%s claims valid",
			     c.profile == ATL_PSA_PROFILE_P1 ? "PSA_IOT_PROFILE_1" : "PSA 2.0"));
	/* Key lookup by instance-id (veraison issue #107: say so when unknown). */
	for (size_t i = 0; i < o->n_iaks && key == NULL; i++) {
		if (memcmp(o->iaks[i].instance_id, c.instance_id, ATL_PSA_INSTANCE_ID_LEN) == 0)
			key = o->iaks[i].key;
	}
	if (key != NULL) {
		ATL_TRY(atl_ar_check(ar, "psa.iak", true, "IAK registered for this instance-id"));
		sig_ok = atl_cose_sign1_verify(&s, key) == ATL_OK;
	} else if (o->n_any > 0) {
		for (size_t i = 0; i < o->n_any && !sig_ok; i++)
			sig_ok = atl_cose_sign1_verify(&s, o->any_keys[i]) == ATL_OK;
		ATL_TRY(atl_ar_check(ar, "psa.iak", sig_ok,
				     sig_ok ? "signed by a pinned anchor key"
					    : "no IAK registered for this instance-id, and no pinned anchor key verifies it"));
	} else {
		ATL_TRY(atl_ar_check(ar, "psa.iak", false, "no IAK registered for this instance-id"));
	}
	ATL_TRY(atl_ar_check(ar, "psa.signature", sig_ok, "COSE_Sign1 alg %lld %s",
			     (long long)s.alg, sig_ok ? "verifies" : "does not verify"));
	ATL_TRY(atl_psa_record_lifecycle(ar, "psa.lifecycle", c.lifecycle));
	if (o->nonce != NULL) {
		bool eq = o->nonce_len == c.nonce_len &&
			  atl_crypto_memeq(o->nonce, c.nonce, c.nonce_len);

		ATL_TRY(atl_ar_check(ar, "psa.nonce", eq, eq ? "challenge matches"
							     : "challenge differs from the expected nonce"));
	}
	ATL_TRY(atl_psa_appraise(ar, "psa.reference", c.json, o->refs));
	ATL_TRY(atl_ar_set_hex(ar, "measurement", c.sw_digest, sizeof(c.sw_digest)));
	ATL_TRY(atl_ar_set_hex(ar, "report_data", c.nonce, c.nonce_len));
	ATL_TRY(atl_ar_set_bool(ar, "debug", c.debug));
	ATL_TRY(atl_ar_set_json(ar, "psa", json_incref(c.json)));
	rc = ATL_OK;
out:
	atl_psa_claims_clear(&c);
	atl_cbor_free(claims);
	atl_cose_sign1_free(&s);
	return rc;
}

/* ---- the "psa" backend ---- */

/* policy "psa": {"iak": [{"instance_id": "<hex 33 bytes>", "key": "<PEM>"}, ...],
 *                "reference": [reference sets of atl_psa_appraise]} */
static enum atl_err psa_verify(const uint8_t *ev, size_t ev_len, const struct atl_verify_in *in,
			       struct atl_ar *ar)
{
	static const char *const allowed[] = {"iak", "reference", NULL};
	struct atl_psa_iak iaks[ATL_PSA_KEYS_MAX];
	struct atl_pubkey *keys[ATL_PSA_KEYS_MAX] = {0};
	uint8_t ids[ATL_PSA_KEYS_MAX][ATL_PSA_INSTANCE_ID_LEN];
	struct atl_pubkey *any[ATL_HW2_ANCHORS_MAX] = {0};
	size_t n_iaks = 0, n_any = 0;
	const json_t *sec = json_object_get(in->policy, "psa"), *list, *e;
	enum atl_err rc = ATL_E_INTERNAL;
	char why[256] = "";
	size_t i;

	if (sec != NULL) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)sec, k, v) {
			bool known = false;

			for (size_t j = 0; allowed[j] != NULL; j++)
				known = known || strcmp(k, allowed[j]) == 0;
			if (!known) {
				ATL_TRY(atl_ar_check(ar, "psa.policy", false, "unknown field psa.%s", k));
				rc = ATL_E_FORMAT;
				goto out;
			}
		}
		list = json_object_get(sec, "iak");
		if (list != NULL && (!json_is_array(list) || json_array_size(list) > ATL_PSA_KEYS_MAX)) {
			ATL_TRY(atl_ar_check(ar, "psa.policy", false, "psa.iak must be a list of at most %u entries",
					     ATL_PSA_KEYS_MAX));
			rc = ATL_E_FORMAT;
			goto out;
		}
		json_array_foreach(list, i, e) {
			const json_t *key = json_object_get(e, "key");

			if (!json_is_object(e) || json_object_size(e) != 2 ||
			    !atl_hw2_json_hex(json_object_get(e, "instance_id"), ids[n_iaks],
					      sizeof(ids[n_iaks]), ATL_PSA_INSTANCE_ID_LEN, NULL) ||
			    !json_is_string(key) ||
			    atl_pubkey_parse((const uint8_t *)json_string_value(key),
					     json_string_length(key), &keys[n_iaks]) != ATL_OK) {
				ATL_TRY(atl_ar_check(ar, "psa.policy", false,
						     "psa.iak[%zu] must be {instance_id: hex (33 bytes), key: PEM}", i));
				rc = ATL_E_FORMAT;
				goto out;
			}
			iaks[n_iaks].instance_id = ids[n_iaks];
			iaks[n_iaks].key = keys[n_iaks];
			n_iaks++;
		}
	}
	rc = atl_hw2_anchor_keys(in, "psa", any, ATL_HW2_ANCHORS_MAX, &n_any, why, sizeof(why));
	if (rc != ATL_OK) {
		enum atl_err err = rc;

		ATL_TRY(atl_ar_check(ar, "psa.anchors", false, "%s", why));
		rc = err;
		goto out;
	}
	{
		struct atl_psa_opts o = {.iaks = iaks, .n_iaks = n_iaks,
					 .any_keys = (const struct atl_pubkey *const *)any, .n_any = n_any,
					 .refs = json_object_get(sec, "reference")};

		rc = atl_psa_verify_token(ev, ev_len, &o, ar);
	}
out:
	for (i = 0; i < ATL_PSA_KEYS_MAX; i++)
		atl_pubkey_free(keys[i]);
	for (i = 0; i < ATL_HW2_ANCHORS_MAX; i++)
		atl_pubkey_free(any[i]);
	return rc;
}

enum atl_err atl_psa_evidence_unsupported(const json_t *cfg,
					  const uint8_t report_data[ATL_REPORT_DATA_LEN],
					  uint8_t **ev_out, size_t *ev_len_out)
{
	(void)cfg;
	(void)report_data;
	*ev_out = NULL;
	*ev_len_out = 0;
	return ATL_E_UNSUPPORTED;
}

/* PSA evidence comes from the platform's initial attestation service
 * (psa_initial_attest_get_token), not reachable from Linux user space here. */
const struct atl_tee_ops atl_tee_psa = {
	.name = "psa",
	.detect = NULL,
	.evidence = atl_psa_evidence_unsupported,
	.verify = psa_verify,
};
