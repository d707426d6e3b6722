/* Fuzz target: the SEV-SNP report parser and the sev-snp backend's verify
 * (evidence decoding, HCL unwrapping, parsing, claims; no collateral, so the
 * certificate path stops at "no VCEK"), plus certificate/CRL parsing of the
 * same bytes as attacker-controlled collateral (NEGATIVE-TESTS.md #23).
 * atl-fuzz-deps: atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "atoll/attest.h"
#include "atoll/snp.h"
#include "atoll/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results are not interesting here, only the absence of crashes. */
static void ignore(enum atl_err e)
{
	(void)e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atl_snp_report r;
	const struct atl_tee_ops *ops = atl_tee_find("sev-snp");
	struct atl_x509_list *l = NULL;
	struct atl_crl_list *c = NULL;

	if (atl_snp_parse(data, size, &r) == ATL_OK) {
		struct atl_snp_tcb t;
		atl_snp_tcb_decode(r.reported_tcb, atl_snp_product_from_cpuid(&r), &t);
	}
	if (ops != NULL) {
		struct atl_verify_in in = {.now = 1700000000, .policy = NULL};
		struct atl_ar *ar = atl_ar_new("sev-snp");
		if (ar != NULL) {
			ignore(ops->verify(data, size, &in, ar));
			atl_ar_free(ar);
		}
	}
	if (atl_x509_list_parse(data, size, &l) == ATL_OK) {
		for (size_t i = 0; i < atl_x509_list_len(l); i++) {
			uint8_t *v = NULL;
			size_t n = 0;
			struct atl_x509_sig_info si;
			if (atl_x509_ext(atl_x509_list_get(l, i), "1.3.6.1.4.1.3704.1.4", &v, &n) == ATL_OK)
				free(v);
			ignore(atl_x509_sig_info(atl_x509_list_get(l, i), &si));
		}
	}
	atl_x509_list_free(l);
	if (atl_crl_list_parse(data, size, &c) == ATL_OK) {
		char *cn = NULL;
		if (atl_crl_issuer_cn(c, 0, &cn) == ATL_OK)
			free(cn);
	}
	atl_crl_list_free(c);
	return 0;
}
