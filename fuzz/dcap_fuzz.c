/* Fuzz target: DCAP parsing. The first byte selects what the rest is:
 *   0  a quote: atl_dcap_parse, then the tdx and sgx backends' verify with no
 *      collateral (PCK chain parse, signatures, PCK extension)
 *   1  a PCK SGX extension value: atl_dcap_pck_parse
 *   2  a tcbInfo JSON document: TCB level matching for SGX and TDX
 *   3  certificates and CRLs (PEM or DER), as attacker-controlled collateral
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/attest.h"
#include "atoll/dcap.h"
#include "atoll/json.h"
#include "atoll/x509.h"
#include "attest/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results are not interesting here, only the absence of crashes. */
static void ignore(enum atl_err e)
{
	(void)e;
}

static void quote(const uint8_t *p, size_t n)
{
	static const char *const tees[] = {"tdx", "sgx"};
	const struct atl_tee_ops *const all[] = {&atl_tee_tdx, &atl_tee_sgx};
	struct atl_dcap_quote q;

	ignore(atl_dcap_parse(p, n, &q));
	for (size_t i = 0; i < 2; i++) {
		const struct atl_tee_ops *ops = all[i];
		struct atl_verify_in in = {.now = 1750000000, .policy = NULL};
		struct atl_ar *ar;
		if (ops == NULL)
			continue;
		ar = atl_ar_new(tees[i]);
		if (ar == NULL)
			continue;
		ignore(ops->verify(p, n, &in, ar));
		atl_ar_free(ar);
	}
}

static void tcb(const uint8_t *p, size_t n)
{
	json_t *j = NULL;
	struct atl_dcap_pck pck;
	enum atl_dcap_status st;
	uint8_t svn[16];

	if (atl_json_parse((const char *)p, n, &j) != ATL_OK)
		return;
	memset(&pck, 7, sizeof(pck));
	memset(svn, 7, sizeof(svn));
	{
		json_t *adv = json_array();
		ignore(atl_dcap_tcb_match(j, &pck, NULL, &st, adv));
		ignore(atl_dcap_tcb_match(j, &pck, svn, &st, adv));
		json_decref(adv);
	}
	json_decref(j);
}

static void certs(const uint8_t *p, size_t n)
{
	struct atl_x509_list *l = NULL;
	struct atl_crl_list *c = NULL;

	if (atl_x509_list_parse(p, n, &l) == ATL_OK) {
		for (size_t i = 0; i < atl_x509_list_len(l); i++) {
			uint8_t *v = NULL;
			size_t vn = 0;
			struct atl_dcap_pck pck;
			if (atl_x509_ext(atl_x509_list_get(l, i), "1.2.840.113741.1.13.1", &v, &vn) == ATL_OK) {
				ignore(atl_dcap_pck_parse(v, vn, &pck));
				free(v);
			}
		}
	}
	atl_x509_list_free(l);
	ignore(atl_crl_list_parse(p, n, &c));
	atl_crl_list_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_dcap_pck pck;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		quote(data + 1, size - 1);
		break;
	case 1:
		ignore(atl_dcap_pck_parse(data + 1, size - 1, &pck));
		break;
	case 2:
		tcb(data + 1, size - 1);
		break;
	default:
		certs(data + 1, size - 1);
		break;
	}
	return 0;
}
