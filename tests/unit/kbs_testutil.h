/* Shared fixture of the key broker unit tests (kbs_broker_test.c,
 * kbsd_service_test.c): a temporary directory with a sim root and the test
 * binary's measurement, a plaintext "model" holding a canary, an audit
 * signer, and a release policy pinning that root and measurement. Include
 * once, after cmocka.h and the atoll headers the tests use; define PT_LEN. */
#ifndef ATL_KBS_TESTUTIL_H
#define ATL_KBS_TESTUTIL_H

static char dir[64];
static char sim_dir[128];
static char *root_pem;
static char meas_hex[2 * ATL_SHA384_LEN + 1];
static uint8_t plain[PT_LEN];
static struct atl_privkey *signer;
static struct atl_pubkey *signer_pub;
static int counter;

static void rm_rf(const char *d)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static char *read_text(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(atl_file_read(path, 16u << 20, &buf, &len), ATL_OK);
	return (char *)buf;
}

static int kbs_fx_setup(const char *tmpl)
{
	uint8_t m[ATL_SHA384_LEN];
	char path[256];

	snprintf(dir, sizeof(dir), "%s", tmpl);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sim_dir, sizeof(sim_dir), "%s/sim", dir);
	if (atl_sim_root_create(sim_dir) != ATL_OK)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", sim_dir, ATL_SIM_ROOT_PUB_FILE);
	root_pem = read_text(path);
	if (atl_sim_measure("/proc/self/exe", m) != ATL_OK ||
	    atl_hex_encode(m, sizeof(m), meas_hex, sizeof(meas_hex)) != ATL_OK)
		return -1;
	for (size_t i = 0; i < PT_LEN; i++)
		plain[i] = (uint8_t)(i * 7u + 3u);
	memcpy(plain + 500, "CANARY-WEIGHTS-7f3a", 19);
	snprintf(path, sizeof(path), "%s/model.bin", dir);
	if (atl_file_write(path, plain, sizeof(plain), 0600, 0) != ATL_OK)
		return -1;
	if (atl_privkey_generate_ec(256, &signer) != ATL_OK ||
	    atl_privkey_public(signer, &signer_pub) != ATL_OK)
		return -1;
	return 0;
}

static int group_teardown(void **st)
{
	(void)st;
	rm_rf(dir);
	free(root_pem);
	atl_privkey_free(signer);
	atl_pubkey_free(signer_pub);
	return 0;
}

static json_t *kbs_fx_policy(const char *meas, int max_age_s)
{
	json_t *p = json_pack("{s:[s], s:b, s:b, s:i, s:{s:[s]}, s:{s:s}}", "tee_types", "sim",
			      "allow_sim", 1, "allow_debug", 0, "max_age_s", max_age_s, "measurements",
			      "sim", meas, "trust_anchors", "sim", root_pem);
	char why[256];

	assert_non_null(p);
	assert_int_equal(atl_policy_validate(p, why, sizeof(why)), ATL_OK);
	return p;
}

#endif
