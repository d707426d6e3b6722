/* Unit tests for src/crypto/keys.c: X25519 key pairs and key ids.
 * Known answers from RFC 7748 §6.1 (Alice's key pair). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "atoll/encoding.h"
#include "atoll/keys.h"
#include "atoll/secmem.h"

static const char alice_priv_hex[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub_hex[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

static void unhex32(const char *s, uint8_t out[32])
{
	assert_int_equal(atl_hex_decode_exact(s, strlen(s), out, 32), ATL_OK);
}

static void test_from_private_rfc7748(void **state)
{
	uint8_t priv[32], pub[32];
	struct atl_kp kp;

	(void)state;
	unhex32(alice_priv_hex, priv);
	unhex32(alice_pub_hex, pub);
	assert_int_equal(atl_kp_from_private(priv, &kp), ATL_OK);
	assert_non_null(kp.priv);
	assert_memory_equal(kp.pub, pub, 32);
	assert_memory_equal(kp.priv, priv, 32);
	/* The private key lives in secret memory. */
	assert_int_equal(atl_secret_size(kp.priv), 32);
	atl_kp_clear(&kp);
	assert_null(kp.priv);
	atl_kp_clear(&kp); /* idempotent */
	atl_kp_clear(NULL);
}

static void test_generate(void **state)
{
	struct atl_kp a, b, c;

	(void)state;
	assert_int_equal(atl_kp_generate(&a), ATL_OK);
	assert_int_equal(atl_kp_generate(&b), ATL_OK);
	assert_non_null(a.priv);
	assert_int_equal(atl_secret_size(a.priv), 32);
	assert_memory_not_equal(a.pub, b.pub, 32);
	assert_memory_not_equal(a.priv, b.priv, 32);
	/* The public half is the one derived from the private half. */
	assert_int_equal(atl_kp_from_private(a.priv, &c), ATL_OK);
	assert_memory_equal(a.pub, c.pub, 32);
	atl_kp_clear(&a);
	atl_kp_clear(&b);
	atl_kp_clear(&c);
}

static void test_key_id(void **state)
{
	uint8_t pub[32];
	char kid[ATL_KEY_ID_LEN];

	(void)state;
	unhex32(alice_pub_hex, pub);
	assert_int_equal(atl_key_id("ek_", pub, kid), ATL_OK);
	assert_string_equal(kid, "ek_300c9c9603b92a4b39ed3958bf924011");
	assert_int_equal(strlen(kid), ATL_KEY_ID_LEN - 1);
	assert_int_equal(atl_key_id("ck_", pub, kid), ATL_OK);
	assert_string_equal(kid, "ck_300c9c9603b92a4b39ed3958bf924011");
}

static void test_key_id_bad_prefix(void **state)
{
	uint8_t pub[32] = {0};
	char kid[ATL_KEY_ID_LEN];

	(void)state;
	assert_int_equal(atl_key_id("xx_", pub, kid), ATL_E_ARG);
	assert_int_equal(kid[0], '\0');
	assert_int_equal(atl_key_id("ek", pub, kid), ATL_E_ARG);
	assert_int_equal(atl_key_id(NULL, pub, kid), ATL_E_ARG);
	assert_int_equal(atl_key_id("ek_", NULL, kid), ATL_E_ARG);
}

static void test_from_private_null(void **state)
{
	struct atl_kp kp;

	(void)state;
	assert_int_equal(atl_kp_from_private(NULL, &kp), ATL_E_ARG);
	assert_null(kp.priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_private_rfc7748),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_key_id_bad_prefix),
		cmocka_unit_test(test_from_private_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
