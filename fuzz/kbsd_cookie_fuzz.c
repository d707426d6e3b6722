/* Fuzz target: the key broker service's hand-written parsers of untrusted
 * text (src/kbsd/service.c): the Cookie header (atl_kbsd_cookie_sid) and the
 * "N/WINDOW_S" quota syntax (atl_kbsd_quota_parse, also a CLI flag).
 * The input, cut at the first NUL, is both strings.
 * Invariants: a session id found is exactly ATL_KBSD_SID_HEX lowercase hex
 * digits that follow "kbs-session-id=" in the input; a parsed quota is "none"
 * (0, 0) or 1..UINT32_MAX per 1..ATL_KBS_QUOTA_WINDOW_MAX_S seconds.
 * atl-fuzz-deps: atoll_kbsd atoll_kbs atoll_http atoll_attest atoll_crypto atoll_core */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/kbsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sid[ATL_KBSD_SID_HEX + 1];
	char *s = malloc(size + 1);
	uint32_t n = 7, w = 7;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (atl_kbsd_cookie_sid(s, sid)) {
		char pat[sizeof(ATL_KBSD_COOKIE) + ATL_KBSD_SID_HEX + 1];
		if (strlen(sid) != ATL_KBSD_SID_HEX)
			abort();
		for (size_t i = 0; i < ATL_KBSD_SID_HEX; i++)
			if (!((sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f')))
				abort();
		memcpy(pat, ATL_KBSD_COOKIE "=", sizeof(ATL_KBSD_COOKIE));
		memcpy(pat + sizeof(ATL_KBSD_COOKIE), sid, ATL_KBSD_SID_HEX + 1);
		if (strstr(s, pat) == NULL)
			abort();
	}
	if (atl_kbsd_quota_parse(s, &n, &w) == ATL_OK) {
		if (!((n == 0 && w == 0 && strcmp(s, "none") == 0) ||
		      (n >= 1 && w >= 1 && w <= ATL_KBS_QUOTA_WINDOW_MAX_S)))
			abort();
	} else if (n != 0 || w != 0) {
		abort();
	}
	free(s);
	return 0;
}
