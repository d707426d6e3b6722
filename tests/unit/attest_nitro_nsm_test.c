/* Nitro evidence generation through the NSM (src/attest/nitro_nsm.c): the
 * request encoder byte for byte, the response parser (documents, errors,
 * garbage, truncation, size), and the whole generate path with the ioctl
 * replaced by a hook that answers with a real document from
 * tests/vectors/attestation/nitro (verified at its reference time).
 * atl-test-deps: atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/attest.h"
#include "atoll/encoding.h"
#include "atoll/nitro.h"
#include "atoll/policy.h"
#include "atoll/verify.h"
#include "attest/backends.h"
#include "attest/cbor.h"
#include "attest/nitro.h"
#include "attest_hw2_testutil.h"

#define T_ETERNIS 1725911352 /* the Eternis sample's own timestamp (attestation-vectors.tsv) */

/* ---- request ---- */

/* Hand-built: A1 "Attestation" A3 "user_data" .. "nonce" .. "public_key" .. */
static const uint8_t req_prefix[] = {0xa1, 0x6b, 'A', 't', 't', 'e', 's', 't', 'a', 't', 'i', 'o', 'n',
				     0xa3, 0x69, 'u', 's', 'e', 'r', '_', 'd', 'a', 't', 'a'};
static const uint8_t req_nonce_key[] = {0x65, 'n', 'o', 'n', 'c', 'e'};
static const uint8_t req_pk_key[] = {0x6a, 'p', 'u', 'b', 'l', 'i', 'c', '_', 'k', 'e', 'y'};

static uint8_t *expected_request(const uint8_t *ud, size_t ud_len, const uint8_t *nonce,
				 size_t nonce_len, const uint8_t *pk, size_t pk_len,
				 size_t *len_out)
{
	struct atl_wr w;

	atl_wr_init(&w, 1u << 16, false);
	hw2_raw(&w, req_prefix, sizeof(req_prefix));
	if (ud == NULL)
		hw2_raw(&w, "\xf6", 1);
	else
		hw2_bstr(&w, ud, ud_len);
	hw2_raw(&w, req_nonce_key, sizeof(req_nonce_key));
	if (nonce == NULL)
		hw2_raw(&w, "\xf6", 1);
	else
		hw2_bstr(&w, nonce, nonce_len);
	hw2_raw(&w, req_pk_key, sizeof(req_pk_key));
	if (pk == NULL)
		hw2_raw(&w, "\xf6", 1);
	else
		hw2_bstr(&w, pk, pk_len);
	return hw2_take(&w, len_out);
}

static void test_request(void **state)
{
	(void)state;
	/* all null: 49 bytes, written out in full */
	static const uint8_t all_null[] = {
		0xa1, 0x6b, 0x41, 0x74, 0x74, 0x65, 0x73, 0x74, 0x61, 0x74, 0x69, 0x6f, 0x6e,
		0xa3, 0x69, 0x75, 0x73, 0x65, 0x72, 0x5f, 0x64, 0x61, 0x74, 0x61, 0xf6,
		0x65, 0x6e, 0x6f, 0x6e, 0x63, 0x65, 0xf6,
		0x6a, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63, 0x5f, 0x6b, 0x65, 0x79, 0xf6};
	static const uint8_t small[] = {
		0xa1, 0x6b, 0x41, 0x74, 0x74, 0x65, 0x73, 0x74, 0x61, 0x74, 0x69, 0x6f, 0x6e,
		0xa3, 0x69, 0x75, 0x73, 0x65, 0x72, 0x5f, 0x64, 0x61, 0x74, 0x61, 0x42, 0xaa, 0xbb,
		0x65, 0x6e, 0x6f, 0x6e, 0x63, 0x65, 0x40,
		0x6a, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63, 0x5f, 0x6b, 0x65, 0x79, 0xf6};
	static uint8_t big[ATL_NITRO_PUBKEY_MAX + 1];
	uint8_t rd[64], nonce[32], pk[32];
	uint8_t *out = NULL, *want;
	size_t len = 0, want_len;
	cbor_item_t *it = NULL;

	assert_int_equal(atl_nitro_nsm_request(NULL, 0, NULL, 0, NULL, 0, &out, &len), ATL_OK);
	assert_int_equal(len, sizeof(all_null));
	assert_memory_equal(out, all_null, len);
	free(out);
	/* a 2-byte user_data, an empty (not null) nonce */
	assert_int_equal(atl_nitro_nsm_request((const uint8_t *)"\xaa\xbb", 2, (const uint8_t *)"", 0,
					       NULL, 0, &out, &len), ATL_OK);
	assert_int_equal(len, sizeof(small));
	assert_memory_equal(out, small, len);
	free(out);
	/* what the backend sends: 64-byte report data (58 40), nonce, X25519 key (58 20) */
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)i;
	memset(nonce, 0x5a, sizeof(nonce));
	memset(pk, 0x11, sizeof(pk));
	assert_int_equal(atl_nitro_nsm_request(rd, 64, nonce, 32, pk, 32, &out, &len), ATL_OK);
	want = expected_request(rd, 64, nonce, 32, pk, 32, &want_len);
	assert_int_equal(len, want_len);
	assert_int_equal(len, 24 + 2 + 64 + 6 + 2 + 32 + 11 + 2 + 32);
	assert_int_equal(out[24], 0x58);
	assert_int_equal(out[25], 0x40);
	assert_memory_equal(out, want, len);
	/* and it is one strict CBOR item of the expected shape */
	assert_int_equal(atl_cbor_decode(out, len, &it), ATL_OK);
	assert_non_null(atl_cbor_map_str(atl_cbor_map_str(it, "Attestation"), "public_key"));
	atl_cbor_free(it);
	free(out);
	free(want);
	/* limits: 512/512/1024 bytes pass (two-byte heads 59 02 00), one more does not */
	assert_int_equal(atl_nitro_nsm_request(big, ATL_NITRO_USER_DATA_MAX, big, ATL_NITRO_NONCE_MAX,
					       big, ATL_NITRO_PUBKEY_MAX, &out, &len), ATL_OK);
	assert_int_equal(out[24], 0x59);
	assert_int_equal(out[25], 0x02);
	assert_int_equal(out[26], 0x00);
	assert_true(len <= ATL_NSM_REQUEST_SIZE);
	free(out);
	assert_int_equal(atl_nitro_nsm_request(big, ATL_NITRO_USER_DATA_MAX + 1, NULL, 0, NULL, 0,
					       &out, &len), ATL_E_LIMIT);
	assert_null(out);
	assert_int_equal(atl_nitro_nsm_request(NULL, 0, big, ATL_NITRO_NONCE_MAX + 1, NULL, 0, &out,
					       &len), ATL_E_LIMIT);
	assert_int_equal(atl_nitro_nsm_request(NULL, 0, NULL, 0, big, ATL_NITRO_PUBKEY_MAX + 1, &out,
					       &len), ATL_E_LIMIT);
}

/* ---- response ---- */

static uint8_t *resp_doc(const uint8_t *doc, size_t doc_len, size_t *len_out)
{
	struct atl_wr w;

	atl_wr_init(&w, 1u << 20, false);
	hw2_head(&w, 5, 1);
	hw2_tstr(&w, "Attestation");
	hw2_head(&w, 5, 1);
	hw2_tstr(&w, "document");
	hw2_bstr(&w, doc, doc_len);
	return hw2_take(&w, len_out);
}

static enum atl_err parse(const uint8_t *b, size_t len, uint8_t **doc, size_t *doc_len)
{
	char why[160];
	enum atl_err rc = atl_nitro_nsm_response(b, len, doc, doc_len, why, sizeof(why));

	if (rc != ATL_OK) {
		assert_null(*doc);
		assert_int_equal(*doc_len, 0);
		assert_true(why[0] != '\0');
	}
	return rc;
}

static enum atl_err parse_hex(const char *hex)
{
	uint8_t *b = NULL, *doc = NULL;
	size_t len = 0, doc_len = 0;
	enum atl_err rc;

	assert_int_equal(atl_hex_decode_alloc(hex, strlen(hex), &b, &len), ATL_OK);
	rc = parse(b, len, &doc, &doc_len);
	free(doc);
	free(b);
	return rc;
}

static void test_response(void **state)
{
	(void)state;
	uint8_t *b, *doc = NULL, *big;
	size_t len, doc_len = 0;

	/* {"Attestation":{"document":h'd28443'}} */
	assert_int_equal(parse_hex("a16b4174746573746174696f6ea168646f63756d656e7443d28443"), ATL_OK);
	b = resp_doc((const uint8_t *)"\x84\x40\xa0\xf6\x40", 5, &len);
	assert_int_equal(parse(b, len, &doc, &doc_len), ATL_OK);
	assert_int_equal(doc_len, 5);
	assert_memory_equal(doc, "\x84\x40\xa0\xf6\x40", 5);
	free(doc);
	doc = NULL;
	/* truncated at every length, and one byte too many */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(parse(b, cut, &doc, &doc_len), ATL_E_TRUNCATED);
	{
		uint8_t *more = malloc(len + 1);

		memcpy(more, b, len);
		more[len] = 0x00;
		assert_int_equal(parse(more, len + 1, &doc, &doc_len), ATL_E_TRAILING);
		free(more);
	}
	free(b);
	/* {"Error": ...}: the NSM's ErrorCode names */
	assert_int_equal(parse_hex("a1654572726f726d496e7465726e616c4572726f72"), ATL_E_IO); /* InternalError */
	assert_int_equal(parse_hex("a1654572726f726d496e707574546f6f4c61726765"), ATL_E_LIMIT); /* InputTooLarge */
	assert_int_equal(parse_hex("a1654572726f7260"), ATL_E_FORMAT);     /* empty name */
	assert_int_equal(parse_hex("a1654572726f7201"), ATL_E_FORMAT);     /* not text */
	assert_int_equal(parse_hex("a1654572726f727821"
				   "414141414141414141414141414141414141414141414141414141414141414141"),
			 ATL_E_FORMAT); /* 33-byte name */
	/* garbage and wrong shapes */
	assert_int_equal(parse_hex("ff"), ATL_E_FORMAT);                    /* lone break */
	assert_int_equal(parse_hex("00"), ATL_E_FORMAT);                    /* not a map */
	assert_int_equal(parse_hex("a0"), ATL_E_FORMAT);                    /* empty map */
	assert_int_equal(parse_hex("81a0"), ATL_E_FORMAT);                  /* array */
	assert_int_equal(parse_hex("a16b4465736372696265" "4e534da0"), ATL_E_FORMAT); /* DescribeNSM */
	assert_int_equal(parse_hex("a16b4174746573746174696f6e43d28443"), ATL_E_FORMAT); /* not a map */
	assert_int_equal(parse_hex("a16b4174746573746174696f6ea0"), ATL_E_FORMAT); /* no document */
	assert_int_equal(parse_hex("a16b4174746573746174696f6ea168646f63756d656e7440"),
			 ATL_E_FORMAT); /* empty document */
	assert_int_equal(parse_hex("a16b4174746573746174696f6ea168646f63756d656e7463616263"),
			 ATL_E_FORMAT); /* text document */
	assert_int_equal(parse_hex("a16b4174746573746174696f6ea268646f63756d656e7441d2"
				   "656e6f6e636541ff"),
			 ATL_E_FORMAT); /* an extra field */
	assert_int_equal(parse_hex("a26b4174746573746174696f6ea168646f63756d656e7441d2"
				   "654572726f72614e"),
			 ATL_E_FORMAT); /* both variants */
	assert_int_equal(parse_hex("a2654572726f72614e654572726f72614e"), ATL_E_FORMAT); /* duplicate key */
	assert_int_equal(parse_hex("a1654572726f72"), ATL_E_TRUNCATED);
	/* indefinite-length document bytes are flattened (as the CBOR layer does everywhere) */
	assert_int_equal(parse_hex("a16b4174746573746174696f6ea168646f63756d656e745f41d2428443ff"),
			 ATL_OK);
	/* nesting beyond the CBOR depth limit */
	{
		uint8_t deep[64];

		memset(deep, 0x81, sizeof(deep));
		deep[sizeof(deep) - 1] = 0x00;
		assert_int_equal(parse(deep, sizeof(deep), &doc, &doc_len), ATL_E_LIMIT);
	}
	/* oversized: more than the driver's response buffer, even if well formed */
	big = calloc(1, ATL_NSM_RESPONSE_SIZE);
	b = resp_doc(big, ATL_NSM_RESPONSE_SIZE - 64, &len);
	assert_true(len <= ATL_NSM_RESPONSE_SIZE);
	assert_int_equal(parse(b, len, &doc, &doc_len), ATL_OK);
	free(doc);
	doc = NULL;
	free(b);
	b = resp_doc(big, ATL_NSM_RESPONSE_SIZE, &len);
	assert_int_equal(parse(b, len, &doc, &doc_len), ATL_E_LIMIT);
	free(b);
	free(big);
	/* why may be left out */
	assert_int_equal(atl_nitro_nsm_response((const uint8_t *)"\xff", 1, &doc, &doc_len, NULL, 0),
			 ATL_E_FORMAT);
}

/* ---- the generate path through a hook ---- */

struct hook {
	uint8_t *resp;          /* what the "NSM" answers */
	size_t resp_len;
	enum atl_err rc;        /* or this transport error */
	bool overlong;          /* report a length beyond the buffer */
	uint8_t *req;           /* the last request seen */
	size_t req_len;
	int calls;
};

static enum atl_err hook_fn(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap,
			    size_t *resp_len, void *ctx)
{
	struct hook *h = ctx;

	h->calls++;
	free(h->req);
	h->req = malloc(req_len);
	assert_non_null(h->req);
	memcpy(h->req, req, req_len);
	h->req_len = req_len;
	assert_int_equal(resp_cap, ATL_NSM_RESPONSE_SIZE);
	if (h->rc != ATL_OK)
		return h->rc;
	assert_true(h->resp_len <= resp_cap);
	memcpy(resp, h->resp, h->resp_len);
	*resp_len = h->overlong ? resp_cap + 1 : h->resp_len;
	return ATL_OK;
}

static void hook_answer(struct hook *h, const char *hex_or_null, const uint8_t *doc, size_t doc_len)
{
	free(h->resp);
	h->resp = NULL;
	h->rc = ATL_OK;
	h->overlong = false;
	if (hex_or_null != NULL)
		assert_int_equal(atl_hex_decode_alloc(hex_or_null, strlen(hex_or_null), &h->resp,
						      &h->resp_len), ATL_OK);
	else
		h->resp = resp_doc(doc, doc_len, &h->resp_len);
}

static uint8_t *eternis_doc(size_t *len_out)
{
	size_t n;
	uint8_t *txt = hw2_read("nitro/eternis/example_attestation", &n), *doc = NULL;

	assert_int_equal(atl_b64_decode((const char *)txt, n, ATL_B64_LENIENT_WS, &doc, len_out),
			 ATL_OK);
	free(txt);
	return doc;
}

static void test_generate(void **state)
{
	(void)state;
	const struct atl_tee_ops *ops = atl_tee_find("nitro");
	struct hook h = {0};
	size_t doc_len, ev_len = 0, want_len;
	uint8_t *doc = eternis_doc(&doc_len), *ev = NULL, *want;
	uint8_t rd[ATL_REPORT_DATA_LEN], pub[32], nonce[16], sample_nonce[20] = {0};
	char *pub_hex = NULL, *nonce_hex = NULL, *wrapper = NULL;
	json_t *cfg;
	struct atl_ar *ar;
	struct atl_nitro_opts o = {.now = T_ETERNIS, .max_age_s = -1};
	struct atl_evidence w;

	assert_non_null(ops);
	for (size_t i = 0; i < sizeof(pub); i++)
		pub[i] = (uint8_t)(0xc0 + i);
	memset(nonce, 0x42, sizeof(nonce));
	assert_int_equal(atl_attest_binding(pub, sizeof(pub), nonce, sizeof(nonce), rd), ATL_OK);
	assert_int_equal(atl_hex_encode_alloc(pub, sizeof(pub), &pub_hex), ATL_OK);
	assert_int_equal(atl_hex_encode_alloc(nonce, sizeof(nonce), &nonce_hex), ATL_OK);
	cfg = json_pack("{s:s, s:s}", "nonce", nonce_hex, "public_key", pub_hex);
	assert_non_null(cfg);
	atl_nitro_nsm_set_transport(hook_fn, &h);

	/* the backend's evidence(): request = {user_data: report data, nonce, public key} */
	hook_answer(&h, NULL, doc, doc_len);
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_OK);
	want = expected_request(rd, sizeof(rd), nonce, sizeof(nonce), pub, sizeof(pub), &want_len);
	assert_int_equal(h.req_len, want_len);
	assert_memory_equal(h.req, want, want_len);
	free(want);
	/* the evidence is the NSM's document, exactly; it verifies at the sample's
	 * time with the sample's own nonce (00..01) and public_key ("dummy") */
	assert_int_equal(ev_len, doc_len);
	assert_memory_equal(ev, doc, doc_len);
	sample_nonce[19] = 1;
	o.nonce = sample_nonce;
	o.nonce_len = sizeof(sample_nonce);
	o.public_key = (const uint8_t *)"dummy";
	o.public_key_len = 5;
	ar = atl_ar_new("nitro");
	assert_int_equal(atl_nitro_verify_doc(ev, ev_len, &o, ar), ATL_OK);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	free(ev);
	ev = NULL;
	/* without cfg: nonce and public_key null, user_data still the report data */
	assert_int_equal(ops->evidence(NULL, rd, &ev, &ev_len), ATL_OK);
	want = expected_request(rd, sizeof(rd), NULL, 0, NULL, 0, &want_len);
	assert_int_equal(h.req_len, want_len);
	assert_memory_equal(h.req, want, want_len);
	free(want);
	free(ev);
	ev = NULL;

	/* the whole producer: wrapper JSON around the document; the dispatcher
	 * reads it and fails exactly the binding (the sample's user_data is not
	 * this key and nonce), every check before it passing */
	assert_int_equal(atl_evidence_produce("nitro", cfg, pub, nonce, sizeof(nonce), &wrapper),
			 ATL_OK);
	assert_int_equal(atl_evidence_parse((const uint8_t *)wrapper, strlen(wrapper), &w, NULL, 0),
			 ATL_OK);
	assert_string_equal(w.tee, "nitro");
	assert_int_equal(w.native_len, doc_len);
	assert_memory_equal(w.native, doc, doc_len);
	assert_memory_equal(w.enclave_key, pub, sizeof(pub));
	atl_evidence_clear(&w);
	{
		json_t *pol = NULL;
		char why[256];
		static const char pol_txt[] =
			"{\"tee_types\":[\"nitro\"],\"allow_debug\":true,\"max_age_s\":3600,"
			"\"measurements\":{\"nitro\":[\"0000000000000000000000000000000000000000000000"
			"00000000000000000000000000000000000000000000000000\"]}}";

		assert_int_equal(atl_policy_parse(pol_txt, sizeof(pol_txt) - 1, &pol, why, sizeof(why)),
				 ATL_OK);
		ar = NULL;
		assert_int_equal(atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol,
						     nonce, sizeof(nonce), T_ETERNIS + 60, NULL, &ar),
				 ATL_E_POLICY);
		assert_non_null(ar);
		assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
		assert_string_equal(atl_ar_first_failure(ar), "report_data");
		atl_ar_free(ar);
		json_decref(pol);
	}
	free(wrapper);

	/* the NSM's own errors, bad answers and transport failures: clean errors */
	hook_answer(&h, "a1654572726f726d496e7465726e616c4572726f72", NULL, 0);
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_IO);
	assert_null(ev);
	hook_answer(&h, "a1654572726f726d496e707574546f6f4c61726765", NULL, 0);
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_LIMIT);
	hook_answer(&h, "deadbeef", NULL, 0);
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_FORMAT);
	hook_answer(&h, NULL, (const uint8_t *)"\xa0", 1); /* CBOR, not a COSE_Sign1 */
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_FORMAT);
	assert_null(ev);
	hook_answer(&h, NULL, doc, doc_len);
	h.overlong = true;
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_IO);
	h.rc = ATL_E_DENIED;
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_DENIED);
	assert_null(ev);
	/* a bad cfg never reaches the NSM */
	h.calls = 0;
	hook_answer(&h, NULL, doc, doc_len);
	json_object_set_new(cfg, "nonce", json_string("xyz"));
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_ARG);
	json_object_set_new(cfg, "nonce", json_integer(1));
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_ARG);
	assert_int_equal(h.calls, 0);

	/* back to the ioctl: on a machine without /dev/nsm, not available */
	atl_nitro_nsm_set_transport(NULL, NULL);
	/* the real open + NSM_IOCTL_RAW on other device nodes: a missing one is
	 * not available, one that is no NSM fails the ioctl (ENOTTY): ATL_E_IO */
	json_object_set_new(cfg, "nonce", json_string(nonce_hex));
	json_object_set_new(cfg, "nsm_device", json_string("/nonexistent/nsm"));
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_UNSUPPORTED);
	json_object_set_new(cfg, "nsm_device", json_string("/dev/null"));
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_IO);
	assert_null(ev);
	{
		char path[] = "/tmp/atoll-nsm-XXXXXX";
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		close(fd);
		json_object_set_new(cfg, "nsm_device", json_string(path));
		assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_IO);
		if (geteuid() != 0) { /* root opens anything */
			assert_int_equal(chmod(path, 0), 0);
			assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_DENIED);
		}
		unlink(path);
	}
	json_object_set_new(cfg, "nsm_device", json_integer(3));
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_ARG);
	json_object_del(cfg, "nsm_device");
	if (access(ATL_NSM_DEVICE, F_OK) != 0) {
		assert_int_equal(ops->evidence(NULL, rd, &ev, &ev_len), ATL_E_UNSUPPORTED);
		assert_int_equal(atl_evidence_produce("nitro", NULL, pub, nonce, sizeof(nonce),
						      &wrapper), ATL_E_UNSUPPORTED);
		assert_null(wrapper);
	}
	json_decref(cfg);
	free(h.req);
	free(h.resp);
	free(pub_hex);
	free(nonce_hex);
	free(doc);
}

/* ok field of the named check, or -1 when absent. */
static int check_ok(const struct atl_ar *ar, const char *name)
{
	json_t *j = atl_ar_to_json(ar), *c;
	size_t i;
	int r = -1;

	json_array_foreach(json_object_get(j, "checks"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			r = json_is_true(json_object_get(c, "ok"));
	}
	json_decref(j);
	return r;
}

/* The NSM session of a sandboxed enclave (include/atoll/nitro.h): opened
 * once, then every evidence() uses that descriptor (cfg nsm_device ignored). */
static void test_session(void **state)
{
	(void)state;
	const struct atl_tee_ops *ops = atl_tee_find("nitro");
	uint8_t rd[ATL_REPORT_DATA_LEN] = {0}, *ev = NULL;
	size_t ev_len = 0;
	json_t *cfg = json_pack("{s:s}", "nsm_device", "/nonexistent/nsm");

	assert_non_null(cfg);
	assert_int_equal(atl_nitro_nsm_session_fd(), -1);
	assert_int_equal(atl_nitro_nsm_session_open("/nonexistent/nsm"), ATL_E_UNSUPPORTED);
	assert_int_equal(atl_nitro_nsm_session_fd(), -1);
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_UNSUPPORTED);
	/* /dev/null stands in for the NSM: the ioctl reaches it and fails (ENOTTY) */
	assert_int_equal(atl_nitro_nsm_session_open("/dev/null"), ATL_OK);
	assert_true(atl_nitro_nsm_session_fd() >= 0);
	assert_int_equal(atl_nitro_nsm_session_open("/dev/null"), ATL_E_BUSY);
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_IO);
	assert_null(ev);
	atl_nitro_nsm_session_close();
	assert_int_equal(atl_nitro_nsm_session_fd(), -1);
	atl_nitro_nsm_session_close();
	assert_int_equal(ops->evidence(cfg, rd, &ev, &ev_len), ATL_E_UNSUPPORTED);
	if (access(ATL_NSM_DEVICE, F_OK) != 0)
		assert_int_equal(atl_nitro_nsm_session_open(NULL), ATL_E_UNSUPPORTED);
	json_decref(cfg);
}

/* The dispatcher's cross-check of the document's own public_key and nonce
 * against the wrapper (issue 7). The Eternis sample carries nonce 00..01
 * (20 bytes) and public_key "dummy"; the nsm-qvl sample carries neither. */
static void test_wrapper_fields(void **state)
{
	(void)state;
	struct hook h = {0};
	size_t doc_len, qn, item;
	uint8_t *doc = eternis_doc(&doc_len), *qf;
	uint8_t pub[32], nonce[20] = {0}, other[16];
	json_t *pol = NULL;
	char why[256], *wrapper = NULL;
	struct atl_ar *ar;
	struct atl_nitro_opts o = {.now = T_ETERNIS, .max_age_s = -1};
	static const char pol_txt[] =
		"{\"tee_types\":[\"nitro\"],\"allow_debug\":true,\"max_age_s\":3600,"
		"\"measurements\":{\"nitro\":[\"0000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000\"]}}";

	for (size_t i = 0; i < sizeof(pub); i++)
		pub[i] = (uint8_t)(0xc0 + i);
	nonce[19] = 1;
	memset(other, 0x42, sizeof(other));
	assert_int_equal(atl_policy_parse(pol_txt, sizeof(pol_txt) - 1, &pol, why, sizeof(why)),
			 ATL_OK);
	atl_nitro_nsm_set_transport(hook_fn, &h);
	hook_answer(&h, NULL, doc, doc_len);

	/* through the dispatcher: the document's public_key ("dummy") is not this
	 * wrapper's enclave key: refused by name; its nonce is the wrapper's */
	assert_int_equal(atl_evidence_produce("nitro", NULL, pub, nonce, sizeof(nonce), &wrapper),
			 ATL_OK);
	assert_int_equal(atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol, nonce,
					     sizeof(nonce), T_ETERNIS + 60, NULL, &ar),
			 ATL_E_POLICY);
	assert_int_equal(atl_ar_status(ar), ATL_AR_CONTRAINDICATED);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 0);
	assert_int_equal(check_ok(ar, "nitro.nonce"), 1);
	assert_int_equal(check_ok(ar, "nonce"), 1);
	atl_ar_free(ar);
	free(wrapper);
	wrapper = NULL;
	/* a wrapper of another nonce around the same document: nitro.nonce refused */
	assert_int_equal(atl_evidence_produce("nitro", NULL, pub, other, sizeof(other), &wrapper),
			 ATL_OK);
	assert_int_equal(atl_verify_evidence((const uint8_t *)wrapper, strlen(wrapper), pol, other,
					     sizeof(other), T_ETERNIS + 60, NULL, &ar),
			 ATL_E_POLICY);
	assert_int_equal(check_ok(ar, "nitro.nonce"), 0);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 0);
	atl_ar_free(ar);
	free(wrapper);
	atl_nitro_nsm_set_transport(NULL, NULL);

	/* the check itself on the verified claims */
	ar = atl_ar_new("nitro");
	assert_int_equal(atl_nitro_verify_doc(doc, doc_len, &o, ar), ATL_OK);
	assert_int_equal(atl_nitro_check_wrapper(ar, (const uint8_t *)"dummy", 5, nonce,
						 sizeof(nonce)), ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 1);
	assert_int_equal(check_ok(ar, "nitro.nonce"), 1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	ar = atl_ar_new("nitro");
	assert_int_equal(atl_nitro_verify_doc(doc, doc_len, &o, ar), ATL_OK);
	assert_int_equal(atl_nitro_check_wrapper(ar, (const uint8_t *)"dumm", 4, nonce, 19),
			 ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 0);
	assert_int_equal(check_ok(ar, "nitro.nonce"), 0);
	assert_string_equal(atl_ar_first_failure(ar), "nitro.public_key");
	atl_ar_free(ar);
	/* absent fields (nsm-qvl: nonce and public_key null): nothing recorded,
	 * the binding stays user_data's */
	qf = hw2_read("nitro/dstack/nsm-qvl_nitro_attestation.bin", &qn);
	assert_int_equal(atl_cbor_item_len(qf + 4, qn - 4, &item), ATL_OK);
	o.now = 1766668537;
	ar = atl_ar_new("nitro");
	assert_int_equal(atl_nitro_verify_doc(qf + 4, item, &o, ar), ATL_OK);
	assert_true(json_is_null(json_object_get(atl_ar_get(ar, "nitro"), "nonce")));
	assert_true(json_is_null(json_object_get(atl_ar_get(ar, "nitro"), "public_key")));
	assert_int_equal(atl_nitro_check_wrapper(ar, pub, sizeof(pub), other, sizeof(other)),
			 ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.public_key"), -1);
	assert_int_equal(check_ok(ar, "nitro.nonce"), -1);
	assert_int_equal(atl_ar_status(ar), ATL_AR_AFFIRMING);
	atl_ar_free(ar);
	/* no "nitro" claim: nothing; a claim that is not hex: refused */
	ar = atl_ar_new("nitro");
	assert_int_equal(atl_nitro_check_wrapper(ar, pub, sizeof(pub), other, sizeof(other)),
			 ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.public_key"), -1);
	assert_int_equal(atl_ar_set_json(ar, "nitro", json_pack("{s:s, s:n}", "public_key", "zz",
								  "nonce")), ATL_OK);
	assert_int_equal(atl_nitro_check_wrapper(ar, pub, sizeof(pub), other, sizeof(other)),
			 ATL_OK);
	assert_int_equal(check_ok(ar, "nitro.public_key"), 0);
	assert_int_equal(check_ok(ar, "nitro.nonce"), -1);
	atl_ar_free(ar);
	json_decref(pol);
	free(qf);
	free(h.req);
	free(h.resp);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_wrapper_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
