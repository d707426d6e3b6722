/* AMD SEV-SNP attestation reports (SEV-SNP Firmware ABI specification,
 * publication 56860, "ATTESTATION_REPORT Structure", Table 23 in rev 1.55),
 * parsed through the bounded reader. Verification (VCEK/VLEK chain to the
 * pinned ARK, signature, TCB, guest policy) is the "sev-snp" backend of
 * attest.h; this header exposes the parser for tests, fuzzing and tools. */
#ifndef ATOLL_SNP_H
#define ATOLL_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

#define ATL_SNP_REPORT_LEN 0x4A0u  /* 1184 */
#define ATL_SNP_SIGNED_LEN 0x2A0u  /* bytes covered by the signature */
#define ATL_SNP_VERSION_MIN 2u
#define ATL_SNP_VERSION_MAX 5u

/* Guest policy bits (ABI "GUEST_POLICY Structure"). */
#define ATL_SNP_POLICY_SMT          (1ull << 16)
#define ATL_SNP_POLICY_RESERVED1    (1ull << 17) /* must be 1 */
#define ATL_SNP_POLICY_MIGRATE_MA   (1ull << 18)
#define ATL_SNP_POLICY_DEBUG        (1ull << 19)
#define ATL_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define ATL_SNP_POLICY_MBZ_MASK     (~((1ull << 26) - 1)) /* bits 26-63 */

/* flags field (offset 0x48). */
#define ATL_SNP_FLAG_AUTHOR_KEY_EN  (1u << 0)
#define ATL_SNP_FLAG_MASK_CHIP_KEY  (1u << 1)
#define ATL_SNP_SIGNING_KEY(flags)  (((flags) >> 2) & 7u) /* 0 VCEK, 1 VLEK, 7 none */

struct atl_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t sig_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	uint32_t flags;
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb;
	uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* version >= 3, else 0 */
	uint8_t chip_id[64];
	uint64_t committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	uint64_t launch_tcb;
	uint64_t launch_mit_vector, current_mit_vector; /* version >= 5, else 0 */
	uint8_t sig_r[72], sig_s[72]; /* little-endian, as in the report */
};

/* TCB_VERSION components. Milan/Genoa: byte0 boot loader, byte1 TEE, byte6 SNP,
 * byte7 microcode. Turin: byte0 FMC, byte1 boot loader, byte2 TEE, byte3 SNP,
 * byte7 microcode. */
struct atl_snp_tcb {
	uint8_t fmc, bootloader, tee, snp, microcode;
};

enum atl_snp_product { ATL_SNP_UNKNOWN, ATL_SNP_MILAN, ATL_SNP_GENOA, ATL_SNP_TURIN };

/* Parses exactly ATL_SNP_REPORT_LEN bytes and validates the structure:
 * version in [ATL_SNP_VERSION_MIN, ATL_SNP_VERSION_MAX], signature_algo 1
 * (ECDSA P-384 with SHA-384), policy bit 17 set and bits 26-63 clear, signing
 * key 0 or 1, every reserved (MBZ) range zero, r and s below 2^384. Returns
 * ATL_E_TRUNCATED / ATL_E_TRAILING for a wrong length, ATL_E_UNSUPPORTED for a
 * version or algorithm outside the range, ATL_E_FORMAT otherwise. *out is
 * zeroed on failure. */
ATL_NODISCARD enum atl_err atl_snp_parse(const uint8_t *buf, size_t len,
					 struct atl_snp_report *out);
/* The certificate table that may follow the report (SNP_GET_EXT_REPORT,
 * configfs-tsm auxblob; GHCB spec "SNP Extended Guest Request"): entries of
 * GUID[16], offset u32, length u32, ended by an all-zero entry; offsets are
 * relative to the table. Appends the VCEK, VLEK, ASK and ARK certificates it
 * holds (unknown GUIDs are skipped) to *certs. At most ATL_SNP_CERTS_MAX
 * entries. ATL_E_FORMAT / ATL_E_TRUNCATED / ATL_E_LIMIT for a malformed table. */
struct atl_x509_list;
ATL_NODISCARD enum atl_err atl_snp_cert_table(const uint8_t *tbl, size_t len,
					      struct atl_x509_list **certs);
void atl_snp_tcb_decode(uint64_t tcb, enum atl_snp_product prod, struct atl_snp_tcb *out);
/* Product line from the report's CPUID fields (version >= 3), else UNKNOWN. */
enum atl_snp_product atl_snp_product_from_cpuid(const struct atl_snp_report *r);
const char *atl_snp_product_name(enum atl_snp_product p);

#endif
