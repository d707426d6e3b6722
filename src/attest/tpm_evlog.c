/* TCG PC Client crypto-agile event log replay (TCG PC Client Platform
 * Firmware Profile, §10.2: TCG_PCR_EVENT, TCG_EfiSpecIdEvent, TCG_PCR_EVENT2).
 *
 * The log is untrusted: replaying it only says which events explain the PCR
 * values; the caller must compare the replayed PCRs with PCRs covered by a
 * verified quote (CVE-2022-0317) before believing any event. All fields are
 * little-endian. */
#define ATL_LOG_MODULE "tpm"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "atoll/bytes.h"
#include "atoll/digest.h"
#include "atoll/limits.h"
#include "atoll/tpm.h"

#define EV_NO_ACTION 0x00000003u
#define EV_SEPARATOR 0x00000004u
#define EV_UNUSED 0x00000002u

static const char spec_id_sig[16] = "Spec ID Event03";    /* with its NUL */
static const char startup_locality_sig[16] = "StartupLocality"; /* with its NUL */

struct alg_size {
	uint16_t alg;
	uint16_t size;
};

/* Known event types (PFP §10.4.1, Table 9, and the EFI types). */
static bool known_type(uint32_t t)
{
	if (t <= 0x13u)
		return t != EV_UNUSED;
	if (t >= 0x80000001u && t <= 0x80000010u)
		return true;
	return t >= 0x800000E0u && t <= 0x800000E4u;
}

static enum atl_err tpm_hash(uint16_t alg, const uint8_t *p, size_t n, uint8_t *out)
{
	switch (alg) {
	case ATL_TPM_ALG_SHA256:
		return atl_hash(ATL_HASH_SHA256, p, n, out);
	case ATL_TPM_ALG_SHA384:
		return atl_hash(ATL_HASH_SHA384, p, n, out);
	case ATL_TPM_ALG_SHA512:
		return atl_hash(ATL_HASH_SHA512, p, n, out);
	default:
		return ATL_E_UNSUPPORTED;
	}
}

/* PCR_new = H(PCR_old || digest) */
static enum atl_err extend(uint16_t alg, uint8_t *pcr, const uint8_t *d, size_t n)
{
	uint8_t buf[2 * 64];

	memcpy(buf, pcr, n);
	memcpy(buf + n, d, n);
	return tpm_hash(alg, buf, 2 * n, pcr);
}

/* TCG_EfiSpecIdEvent (PFP §10.4.5.1), inside the first, SHA-1 format event. */
static enum atl_err parse_spec_id(struct atl_rd *r, struct alg_size *algs, size_t *n_algs)
{
	struct atl_rd ev;
	uint32_t pcr, type, size, n;
	uint8_t sig[16], major, vendor_len, u8;
	enum atl_err rc = ATL_E_INTERNAL;

	*n_algs = 0;
	ATL_TRY(atl_rd_u32le(r, &pcr));
	ATL_TRY(atl_rd_u32le(r, &type));
	ATL_TRY(atl_rd_skip(r, 20)); /* SHA-1 digest, zero */
	ATL_TRY(atl_rd_u32le(r, &size));
	if (pcr != 0 || type != EV_NO_ACTION)
		return ATL_E_FORMAT; /* not a crypto-agile log (or a SHA-1 only one) */
	if (size > ATL_TPM_EVENT_DATA_MAX)
		return ATL_E_LIMIT;
	ATL_TRY(atl_rd_sub(r, size, &ev));
	ATL_TRY(atl_rd_bytes(&ev, sig, sizeof(sig)));
	if (memcmp(sig, spec_id_sig, sizeof(sig)) != 0)
		return ATL_E_FORMAT;
	ATL_TRY(atl_rd_skip(&ev, 4)); /* platformClass */
	ATL_TRY(atl_rd_u8(&ev, &u8)); /* specVersionMinor */
	ATL_TRY(atl_rd_u8(&ev, &major));
	ATL_TRY(atl_rd_u8(&ev, &u8)); /* specErrata */
	ATL_TRY(atl_rd_u8(&ev, &u8)); /* uintnSize */
	if (major != 2)
		return ATL_E_UNSUPPORTED;
	ATL_TRY(atl_rd_u32le(&ev, &n));
	if (n == 0)
		return ATL_E_FORMAT;
	if (n > ATL_TPM_BANKS_MAX)
		return ATL_E_LIMIT;
	for (uint32_t i = 0; i < n; i++) {
		ATL_TRY(atl_rd_u16le(&ev, &algs[i].alg));
		ATL_TRY(atl_rd_u16le(&ev, &algs[i].size));
		size_t want = atl_tpm_hash_len(algs[i].alg);
		/* A known algorithm must have its true size; an unknown one is
		 * skipped by its declared size, which must fit TPMU_HA. */
		if ((want != 0 && want != algs[i].size) || algs[i].size == 0 || algs[i].size > 64)
			return ATL_E_FORMAT;
		for (uint32_t k = 0; k < i; k++) {
			if (algs[k].alg == algs[i].alg)
				return ATL_E_FORMAT;
		}
	}
	ATL_TRY(atl_rd_u8(&ev, &vendor_len));
	ATL_TRY(atl_rd_skip(&ev, vendor_len));
	ATL_TRY(atl_rd_finish(&ev));
	*n_algs = n;
	rc = ATL_OK;
out:
	return rc;
}

static void complain(struct atl_tpm_evlog_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void complain(struct atl_tpm_evlog_result *res, const char *fmt, ...)
{
	va_list ap;

	if (!res->types_ok)
		return; /* keep the first complaint */
	res->types_ok = false;
	va_start(ap, fmt);
	(void)vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

enum atl_err atl_tpm_evlog_replay(const uint8_t *log, size_t len, uint16_t hash,
				  struct atl_tpm_pcrs *out, struct atl_tpm_evlog_result *res)
{
	struct atl_rd r;
	struct alg_size algs[ATL_TPM_BANKS_MAX];
	size_t n_algs = 0, hlen = atl_tpm_hash_len(hash);
	unsigned separators[8] = {0};
	uint32_t touched = 0;
	bool have_bank = false, locality_set = false;
	enum atl_err rc = ATL_E_INTERNAL;

	memset(out, 0, sizeof(*out));
	memset(res, 0, sizeof(*res));
	res->types_ok = true;
	if (hash != ATL_TPM_ALG_SHA256 && hash != ATL_TPM_ALG_SHA384)
		return ATL_E_UNSUPPORTED;
	if (log == NULL || len == 0)
		return ATL_E_TRUNCATED;
	if (len > ATL_TPM_EVLOG_MAX)
		return ATL_E_LIMIT;
	atl_rd_init(&r, log, len);
	ATL_TRY(parse_spec_id(&r, algs, &n_algs));
	for (size_t i = 0; i < n_algs; i++)
		have_bank |= algs[i].alg == hash;
	if (!have_bank)
		return ATL_E_NOTFOUND;
	out->hash = hash;

	while (atl_rd_left(&r) > 0) {
		uint32_t pcr, type, count, size;
		const uint8_t *digest = NULL, *data;
		uint8_t h[64];

		if (res->n_events >= ATL_TPM_EVLOG_EVENTS_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		/* TCG_PCR_EVENT2 (PFP §10.2.2) */
		ATL_TRY(atl_rd_u32le(&r, &pcr));
		ATL_TRY(atl_rd_u32le(&r, &type));
		ATL_TRY(atl_rd_u32le(&r, &count));
		if (pcr >= ATL_TPM_PCRS) {
			rc = ATL_E_FORMAT;
			goto out;
		}
		if (count > ATL_TPM_BANKS_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		for (uint32_t i = 0; i < count; i++) {
			uint16_t alg, dsize = 0;
			const uint8_t *d;

			ATL_TRY(atl_rd_u16le(&r, &alg));
			for (size_t k = 0; k < n_algs; k++) {
				if (algs[k].alg == alg)
					dsize = algs[k].size;
			}
			if (dsize == 0) {
				rc = ATL_E_FORMAT; /* algorithm not declared in the Spec ID event */
				goto out;
			}
			ATL_TRY(atl_rd_view(&r, dsize, &d));
			if (alg == hash) {
				if (digest != NULL) {
					rc = ATL_E_FORMAT; /* two digests for one bank */
					goto out;
				}
				digest = d;
			}
		}
		ATL_TRY(atl_rd_u32le(&r, &size));
		if (size > ATL_TPM_EVENT_DATA_MAX) {
			rc = ATL_E_LIMIT;
			goto out;
		}
		ATL_TRY(atl_rd_view(&r, size, &data));
		res->n_events++;

		if (type == EV_NO_ACTION) {
			/* Not extended (PFP §10.4.1). StartupLocality sets PCR 0's
			 * initial value (PFP §10.4.5.3); only before any extend. */
			if (pcr == 0 && size == 17 &&
			    memcmp(data, startup_locality_sig, sizeof(startup_locality_sig)) == 0) {
				if (locality_set || (touched & 1u)) {
					rc = ATL_E_FORMAT;
					goto out;
				}
				locality_set = true;
				res->locality = data[16];
				out->value[0][hlen - 1] = data[16];
			}
			continue;
		}
		if (digest == NULL) {
			rc = ATL_E_FORMAT; /* event lacks the bank being replayed */
			goto out;
		}
		ATL_TRY(extend(hash, out->value[pcr], digest, hlen));
		touched |= 1u << pcr;

		/* Event-type sanity for the firmware PCRs (NEGATIVE-TESTS 30):
		 * the type is not covered by the digest, so a log could relabel
		 * events; refuse the relabelling we can detect. */
		if (pcr < 8) {
			bool sep_data = size == 4 && (memcmp(data, "\0\0\0\0", 4) == 0 ||
						      memcmp(data, "\xff\xff\xff\xff", 4) == 0);
			bool sep_digest = false;

			if (sep_data) {
				ATL_TRY(tpm_hash(hash, data, size, h));
				sep_digest = memcmp(h, digest, hlen) == 0;
			}
			if (!known_type(type))
				complain(res, "PCR %u: unknown event type 0x%08x", pcr, type);
			else if (type == EV_SEPARATOR && !(sep_data && sep_digest))
				complain(res, "PCR %u: malformed EV_SEPARATOR (event %zu)", pcr,
					 res->n_events);
			else if (type != EV_SEPARATOR && sep_data && sep_digest)
				complain(res, "PCR %u: separator event with type 0x%08x", pcr, type);
			if (type == EV_SEPARATOR)
				separators[pcr]++;
		}
	}
	ATL_TRY(atl_rd_finish(&r));
	for (unsigned p = 0; p < 8; p++) {
		if ((touched & (1u << p)) && separators[p] != 1)
			complain(res, "PCR %u: %u EV_SEPARATOR events (want 1)", p, separators[p]);
	}
	out->present = touched; /* only PCRs the log explains */
	res->covered = touched;
	rc = ATL_OK;
out:
	if (rc != ATL_OK) {
		memset(out, 0, sizeof(*out));
		res->covered = 0;
	}
	return rc;
}
