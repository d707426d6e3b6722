/* Private to src/attest/: the backend ops tables, one per TEE kind. A backend
 * that lands defines ATL_HAVE_TEE_<NAME> here and its table in its own file. */
#ifndef ATOLL_ATTEST_BACKENDS_H
#define ATOLL_ATTEST_BACKENDS_H

#include "atoll/attest.h"

#endif
