/* Workloads with an encrypted model (atl_coord_workload_add_atm, issue 9):
 * the model id comes from the .atm header, the key source is stored as
 * {"kbs","tenant","model_id"} and the .atm's SHA-256 pinned like any model;
 * a plaintext file, a bad broker URL or tenant are refused.
 * atl-test-deps: atoll_kbs atoll_store atoll_attest atoll_crypto atoll_core */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atoll/coordinator.h"
#include "atoll/digest.h"
#include "atoll/encoding.h"
#include "atoll/file.h"
#include "atoll/json.h"
#include "atoll/model_crypt.h"
#include "atoll/store.h"

static void test_add_atm(void **state)
{
	char dir[64], db[128], plain[160], atm[160], hex[65], mid[33], want_mid[33], sha[65];
	static const uint8_t kek[ATL_ATM_KEK_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct atl_model_info info;
	struct atl_store *s = NULL;
	struct atl_store_workload w;
	uint8_t d[ATL_SHA256_LEN];
	json_t *mk = NULL;
	char cmd[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/atoll-coatm-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/c.db", dir);
	snprintf(plain, sizeof(plain), "%s/model.json", dir);
	snprintf(atm, sizeof(atm), "%s/model.atm", dir);
	assert_int_equal(atl_file_write(plain, "{\"w\":[1,2]}", 11, 0600, 0), ATL_OK);
	assert_int_equal(atl_model_encrypt(plain, atm, kek, "acme.k1", NULL, 0, &info), ATL_OK);
	assert_int_equal(atl_hex_encode(info.model_id, sizeof(info.model_id), want_mid,
					sizeof(want_mid)),
			 ATL_OK);

	assert_int_equal(atl_coord_workload_add_atm(db, "clf", "classifier", atm, "sim",
						    "http://127.0.0.1:9", "acme", hex, mid),
			 ATL_OK);
	assert_string_equal(mid, want_mid);
	assert_int_equal(atl_hash_file(ATL_HASH_SHA256, atm, d), ATL_OK);
	assert_int_equal(atl_hex_encode(d, sizeof(d), sha, sizeof(sha)), ATL_OK);
	assert_string_equal(hex, sha); /* the ciphertext is what is pinned */
	assert_int_equal(atl_store_open(db, &s), ATL_OK);
	assert_int_equal(atl_store_workload_get(s, "clf", &w), ATL_OK);
	assert_int_equal(atl_json_parse(w.model_key, strlen(w.model_key), &mk), ATL_OK);
	assert_string_equal(json_string_value(json_object_get(mk, "kbs")), "http://127.0.0.1:9");
	assert_string_equal(json_string_value(json_object_get(mk, "tenant")), "acme");
	assert_string_equal(json_string_value(json_object_get(mk, "model_id")), want_mid);
	json_decref(mk);
	atl_store_close(s);

	/* refusals: a plaintext model, a bad URL or tenant, a missing file */
	assert_int_equal(atl_coord_workload_add_atm(db, "p", "classifier", plain, "sim",
						    "http://127.0.0.1:9", "acme", hex, mid),
			 ATL_E_FORMAT);
	assert_int_equal(atl_coord_workload_add_atm(db, "u", "classifier", atm, "sim",
						    "ftp://127.0.0.1:9", "acme", hex, mid),
			 ATL_E_ARG);
	assert_int_equal(atl_coord_workload_add_atm(db, "q", "classifier", atm, "sim",
						    "http://127.0.0.1:9/\"x", "acme", hex, mid),
			 ATL_E_ARG);
	assert_int_equal(atl_coord_workload_add_atm(db, "t", "classifier", atm, "sim",
						    "http://127.0.0.1:9", "ac me", hex, mid),
			 ATL_E_ARG);
	assert_int_equal(atl_coord_workload_add_atm(db, "n", "classifier", "/nonexistent/m.atm",
						    "sim", "http://127.0.0.1:9", "acme", hex, mid),
			 ATL_E_NOTFOUND);
	assert_int_equal(atl_coord_workload_add_atm(db, "clf", "classifier", atm, "sim",
						    "http://127.0.0.1:9", "acme", hex, mid),
			 ATL_E_EXISTS);
	/* the plain entry point stores no key source */
	assert_int_equal(atl_coord_workload_add(db, "plain", "classifier", plain, "sim", hex),
			 ATL_OK);
	assert_int_equal(atl_store_open(db, &s), ATL_OK);
	assert_int_equal(atl_store_workload_get(s, "plain", &w), ATL_OK);
	assert_string_equal(w.model_key, "");
	atl_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_atm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
