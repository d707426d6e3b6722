/* Private to src/attest/: the SPDM 1.1 GET_MEASUREMENTS / MEASUREMENTS
 * exchange (DMTF DSP0274 1.1.x §10.11) as an NVIDIA Hopper GPU reports it,
 * and NVIDIA's opaque-data TLVs. A parser only: spdm.c never verifies.
 *
 * Layout: request (37 bytes: 0x11, 0xE0, param1 with bit 0 = signature
 * requested, param2 = 0xFF for all blocks, nonce[32], slot id) immediately
 * followed by the response (0x11, 0x60, param1, param2, number of blocks,
 * record length u24 LE, measurement record, nonce[32], opaque length u16 LE,
 * opaque data, signature). Hopper signs with ECDSA P-384/SHA-384, so the
 * signature is 96 bytes; it covers request || response up to the signature
 * (SPDM 1.1: no signing-context prefix). */
#ifndef ATOLL_ATTEST_SPDM_H
#define ATOLL_ATTEST_SPDM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"
#include "atoll/limits.h"

#define ATL_SPDM_VERSION_11 0x11
#define ATL_SPDM_GET_MEASUREMENTS 0xE0
#define ATL_SPDM_MEASUREMENTS 0x60
#define ATL_SPDM_NONCE_LEN 32
#define ATL_SPDM_REQ_LEN 37
#define ATL_SPDM_SIG_LEN 96 /* ECDSA P-384 r || s */

/* NVIDIA opaque data field ids (nvtrust OpaqueDataParser). */
enum {
	ATL_NVOP_DRIVER_VERSION = 3,
	ATL_NVOP_GPU_INFO = 4,
	ATL_NVOP_VBIOS_VERSION = 6,
	ATL_NVOP_NVDEC0_STATUS = 11,
	ATL_NVOP_MSRSCNT = 12,
	ATL_NVOP_CPRINFO = 13,
	ATL_NVOP_BOARD_ID = 14,
	ATL_NVOP_CHIP_SKU = 15,
	ATL_NVOP_CHIP_SKU_MOD = 16,
	ATL_NVOP_PROJECT = 17,
	ATL_NVOP_PROJECT_SKU = 18,
	ATL_NVOP_PROJECT_SKU_MOD = 19,
	ATL_NVOP_FWID = 20,
	ATL_NVOP_PROTECTED_PCIE_STATUS = 21,
};

struct atl_spdm_block {
	uint8_t index;
	uint8_t dmtf_type;        /* DMTF measurement value type */
	const uint8_t *value;     /* borrowed */
	size_t value_len;
};

struct atl_spdm_opaque {
	uint16_t type;
	const uint8_t *value;     /* borrowed */
	size_t len;
};

/* A parsed transcript; every pointer borrows from the parsed buffer. */
struct atl_spdm_meas {
	uint8_t version, req_param1, req_param2, slot;
	const uint8_t *req_nonce;  /* ATL_SPDM_NONCE_LEN bytes */
	const uint8_t *resp_nonce; /* ATL_SPDM_NONCE_LEN bytes */
	uint8_t resp_param1, resp_param2;
	struct atl_spdm_block blocks[ATL_SPDM_BLOCKS_MAX];
	size_t n_blocks;
	const uint8_t *opaque;
	size_t opaque_len;
	struct atl_spdm_opaque tlvs[ATL_SPDM_OPAQUE_MAX / 4];
	size_t n_tlvs;
	const uint8_t *signed_part; /* request || response without the signature */
	size_t signed_len;
	const uint8_t *sig;         /* ATL_SPDM_SIG_LEN bytes */
	size_t trailing;            /* bytes after the signature (not parsed) */
};

/* Parses buf (binary transcript). Trailing bytes after the signature are
 * counted in out->trailing, not refused: the caller decides. ATL_E_TRUNCATED,
 * ATL_E_FORMAT (a field out of the layout above: wrong codes, a block size
 * that disagrees with its DMTF header, record length not the sum of the
 * blocks, opaque TLVs that do not tile the opaque data), ATL_E_UNSUPPORTED
 * (an SPDM version other than 1.1, or no signature requested), ATL_E_LIMIT. */
ATL_NODISCARD enum atl_err atl_spdm_parse_measurements(const uint8_t *buf, size_t len,
						       struct atl_spdm_meas *out);

/* The first opaque TLV of a type, or NULL. */
const struct atl_spdm_opaque *atl_spdm_opaque_find(const struct atl_spdm_meas *m, uint16_t type);

#endif
