/* Test peer for tests/integration/kbs_service.sh: plays the enclave side of a
 * key release against a real atoll-kbs (sim TEE evidence made in-process
 * under a test sim root, measured over the given enclave BINARY).
 *
 *   kbs_peer fetch URL TENANT MODEL_ID SIM_ROOT BINARY ATM OUT [--debug] [--stale]
 *       auth (atl_kbsc_auth), evidence binding a fresh enclave key and the
 *       broker nonce (--stale: the nonce of an earlier session; --debug:
 *       debug evidence), fetch, then open the sealed key with the enclave's
 *       private key and decrypt ATM in locked memory; writes the plaintext to
 *       OUT (mode 0600) for the script to compare. Exit 0 released, 1 refused
 *       (prints "refused: ATL_E_X STATUS MESSAGE"), 2 usage or I/O.
 *   kbs_peer attest-body SIM_ROOT BINARY NONCE_B64
 *       prints a /kbs/v0/attest body for that nonce (for raw curl flows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/kbs.h"
#include "atoll/kbsd.h"
#include "atoll/keys.h"
#include "atoll/secmem.h"
#include "atoll/verify.h"

static char *make_evidence(const char *root, const char *binary, bool debug,
			   const uint8_t pub[ATL_X25519_LEN], const uint8_t *nonce)
{
	json_t *cfg = json_pack("{s:s, s:s, s:b}", "sim_root", root, "binary", binary, "debug",
				debug);
	char *out = NULL;

	if (cfg == NULL ||
	    atl_evidence_produce("sim", cfg, pub, nonce, ATL_KBS_NONCE_LEN, &out) != ATL_OK)
		out = NULL;
	json_decref(cfg);
	return out;
}

static int do_fetch(int argc, char **argv)
{
	const char *url = argv[2], *tenant = argv[3], *mid = argv[4], *root = argv[5];
	const char *binary = argv[6], *atm = argv[7], *out = argv[8];
	bool debug = false, stale = false;
	struct atl_kbsc *s = NULL, *old = NULL;
	struct atl_kp kp = {0};
	uint8_t nonce[ATL_KBS_NONCE_LEN], stale_nonce[ATL_KBS_NONCE_LEN];
	uint8_t dek[ATL_ATM_DEK_LEN], id[ATL_ATM_MODEL_ID_LEN];
	uint8_t *img = NULL, *pt = NULL;
	size_t img_len = 0, pt_len = 0, sealed_len = 0;
	char *ev = NULL, *sealed = NULL;
	enum atl_err e;
	long status = 0;
	int ret = 2;

	for (int i = 9; i < argc; i++) {
		if (strcmp(argv[i], "--debug") == 0)
			debug = true;
		else if (strcmp(argv[i], "--stale") == 0)
			stale = true;
		else
			return 2;
	}
	if (atl_kp_generate(&kp) != ATL_OK)
		goto out;
	if (stale) {
		e = atl_kbsc_auth(url, "sim", tenant, mid, &old, stale_nonce);
		if (e != ATL_OK)
			goto refused;
	}
	e = atl_kbsc_auth(url, "sim", tenant, mid, &s, nonce);
	if (e != ATL_OK)
		goto refused;
	ev = make_evidence(root, binary, debug, kp.pub, stale ? stale_nonce : nonce);
	if (ev == NULL) {
		fprintf(stderr, "kbs_peer: cannot make sim evidence\n");
		goto out;
	}
	e = atl_kbsc_fetch(s, ev, kp.pub, &sealed, &sealed_len);
	if (e != ATL_OK)
		goto refused;
	/* the enclave side */
	if (atl_hex_decode_exact(mid, strlen(mid), id, sizeof(id)) != ATL_OK ||
	    atl_file_read(atm, 1u << 30, &img, &img_len) != ATL_OK) {
		fprintf(stderr, "kbs_peer: cannot read %s\n", atm);
		goto out;
	}
	e = atl_kbs_sealed_open(sealed, sealed_len, &kp, mid, dek);
	if (e == ATL_OK)
		e = atl_kbs_dek_decrypt_mem(img, img_len, dek, id, &pt, &pt_len);
	atl_wipe(dek, sizeof(dek));
	if (e != ATL_OK) {
		printf("open failed: %s\n", atl_err_name(e));
		ret = 1;
		goto out;
	}
	if (atl_file_write(out, pt, pt_len, 0600, 0) != ATL_OK)
		goto out;
	printf("released: %zu bytes\n", pt_len);
	ret = 0;
	goto out;
refused:
	{
		const char *msg = s ? atl_kbsc_last_error(s, &status)
				    : old ? atl_kbsc_last_error(old, &status) : "";
		printf("refused: %s %ld %s\n", atl_err_name(e), status, msg);
		ret = 1;
	}
out:
	atl_kbsc_free(s);
	atl_kbsc_free(old);
	atl_kp_clear(&kp);
	atl_secret_free(pt);
	free(img);
	free(ev);
	free(sealed);
	return ret;
}

static int do_attest_body(char **argv)
{
	struct atl_kp kp = {0};
	uint8_t *nonce = NULL;
	size_t nonce_len = 0;
	char *ev = NULL, *x = NULL, *txt = NULL;
	json_t *j = NULL;
	int ret = 2;

	if (atl_b64_decode(argv[4], strlen(argv[4]), ATL_B64_STD, &nonce, &nonce_len) != ATL_OK ||
	    nonce_len != ATL_KBS_NONCE_LEN || atl_kp_generate(&kp) != ATL_OK)
		goto out;
	ev = make_evidence(argv[2], argv[3], false, kp.pub, nonce);
	if (ev == NULL ||
	    atl_b64_encode(kp.pub, ATL_X25519_LEN, ATL_B64_URL | ATL_B64_NOPAD, &x) != ATL_OK)
		goto out;
	j = json_pack("{s:{s:s, s:s, s:s, s:s}, s:s}", "tee-pubkey", "kty", "OKP", "crv", "X25519",
		      "alg", ATL_KBSD_PUBKEY_ALG, "x", x, "tee-evidence", ev);
	txt = j ? atl_json_dump(j) : NULL;
	if (txt == NULL)
		goto out;
	printf("%s\n", txt);
	ret = 0;
out:
	atl_kp_clear(&kp);
	free(nonce);
	free(ev);
	free(x);
	free(txt);
	json_decref(j);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 9 && strcmp(argv[1], "fetch") == 0)
		return do_fetch(argc, argv);
	if (argc == 5 && strcmp(argv[1], "attest-body") == 0)
		return do_attest_body(argv);
	fprintf(stderr, "usage: kbs_peer fetch URL TENANT MODEL_ID SIM_ROOT BINARY ATM OUT "
			"[--debug] [--stale]\n"
			"       kbs_peer attest-body SIM_ROOT BINARY NONCE_B64\n");
	return 2;
}
