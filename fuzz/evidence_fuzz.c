/* Fuzz target: attestation evidence. Each input goes (1) through the whole
 * dispatcher as an evidence wrapper (atl_verify_evidence: wrapper parse, sim
 * backend, appraisal) under a policy that accepts the corpus sample, and (2)
 * straight into the sim backend's verify as native evidence. The pinned root
 * and measurement are those of tests/vectors/sim/, so mutations of the valid
 * corpus entries reach the signature check and the appraisal.
 * atl-fuzz-deps: atoll_attest */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "atoll/attest.h"
#include "atoll/policy.h"
#include "atoll/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char root_pem[] = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEFuVRCK2bC//WbhXxOydPgtCNfslN0VZl\nQ2R1Q1WnZNYuisVWXWmfyrDOLCXZmVFM220eYeXLBJoq1HKy5IM2VAVjwIj2Sv5z\n9ax1fwKJuYo2wwgP4iF5XaV24SFvtJPo\n-----END PUBLIC KEY-----\n";
static const char meas[] =
	"18d837969a4c165d73c021482bcf5dbdfb33cc3fc028c5eb98eab21bbdb7947f4d8bcef7d070f7c1b7a388e0e64d0edb";
static const uint8_t nonce[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
#define ISSUED_AT 1795431866

static json_t *policy(void)
{
	static json_t *p;

	if (p == NULL) {
		p = json_pack("{s:[s], s:b, s:{s:[s]}, s:{s:s}}", "tee_types", "sim", "allow_sim", 1,
			      "measurements", "sim", meas, "trust_anchors", "sim", root_pem);
		if (p != NULL && atl_policy_validate(p, NULL, 0) != ATL_OK) {
			json_decref(p);
			p = NULL;
		}
	}
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const json_t *p = policy();
	const struct atl_tee_ops *sim = atl_tee_find("sim");
	struct atl_verify_in in = {ISSUED_AT + 10, p, NULL, NULL};
	struct atl_ar *ar = NULL;
	uint8_t pub[32];
	json_t *j;

	if (p == NULL || sim == NULL)
		__builtin_trap();
	if (atl_verify_evidence(data, size, p, nonce, sizeof(nonce), ISSUED_AT + 10, NULL, &ar) ==
	    ATL_OK) {
		if (atl_verify_enclave_key(ar, pub) != ATL_OK)
			__builtin_trap(); /* accepted results always carry the key */
	}
	if (ar != NULL) {
		j = atl_ar_to_json(ar);
		json_decref(j);
		atl_ar_free(ar);
	}
	ar = atl_ar_new("sim");
	if (ar != NULL) {
		(void)sim->verify(data, size, &in, ar);
		atl_ar_free(ar);
	}
	return 0;
}
