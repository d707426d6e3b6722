/* The broker's master key sealed by a TPM (src/kbs/master_tpm.c; kbs.h
 * atl_kbs_master_tpm_set; docs/internals/kbs.md "Master key on a TPM").
 * Private to the kbs module. */
#ifndef ATOLL_KBS_MASTER_TPM_H
#define ATOLL_KBS_MASTER_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/err.h"

/* Loads the master key of the state in dir into master[0..len) (secret
 * memory) when the state uses a TPM: dir has master.tpm (unsealed on the TPM
 * set with atl_kbs_master_tpm_set, else the one recorded in the file), or a
 * TPM is set and dir has neither master.tpm nor master.key (a fresh random
 * key is sealed, master.tpm written with mode 0600; the plaintext key is
 * never written). *used false: the state uses the file master key (nothing
 * done). Errors: ATL_E_STATE (master.key and a TPM both), ATL_E_FORMAT
 * (master.tpm malformed), ATL_E_AUTH (does not unseal on that TPM), ATL_E_IO
 * (TPM unreachable), ATL_E_UNSUPPORTED (built without tpm2-tss). */
ATL_NODISCARD enum atl_err atl_kbs_master_tpm_load(const char *dir, uint8_t *master, size_t len,
						   bool *used);

#endif
