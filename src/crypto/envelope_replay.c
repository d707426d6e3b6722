/* Replay and freshness checker of sealed envelopes (DESIGN §3); see
 * include/atoll/envelope.h. A bounded array of (digest, created_at): small
 * enough (ATL_ENV_REPLAY_MAX) that a linear scan per opened job is cheap
 * next to the AEAD work, and simple enough to audit. */
#define ATL_LOG_MODULE "envelope"
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/envelope.h"
#include "atoll/log.h"

struct replay_entry {
	uint8_t digest[32];
	int64_t created_at;
};

struct atl_env_replay {
	int64_t skew;
	size_t cap, n;
	struct replay_entry *e;
};

enum atl_err atl_env_replay_new(int64_t skew_s, size_t capacity, struct atl_env_replay **out)
{
	struct atl_env_replay *rp;

	if (out == NULL)
		return ATL_E_ARG;
	*out = NULL;
	if (skew_s < 0 || skew_s > ATL_ENV_SKEW_MAX || capacity == 0 ||
	    capacity > ATL_ENV_REPLAY_MAX)
		return ATL_E_ARG;
	rp = calloc(1, sizeof(*rp));
	if (rp == NULL)
		return ATL_E_NOMEM;
	rp->e = calloc(capacity, sizeof(*rp->e));
	if (rp->e == NULL) {
		free(rp);
		return ATL_E_NOMEM;
	}
	rp->skew = skew_s;
	rp->cap = capacity;
	*out = rp;
	return ATL_OK;
}

void atl_env_replay_free(struct atl_env_replay *rp)
{
	if (rp == NULL)
		return;
	free(rp->e);
	free(rp);
}

/* |a - b| > skew, without signed overflow for any int64 inputs. */
static bool outside(int64_t a, int64_t b, int64_t skew)
{
	uint64_t d = a >= b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;

	return d > (uint64_t)skew;
}

enum atl_err atl_env_replay_check(struct atl_env_replay *rp, const uint8_t digest[32],
				  int64_t created_at, int64_t now)
{
	if (rp == NULL || digest == NULL)
		return ATL_E_ARG;
	if (outside(now, created_at, rp->skew)) {
		atl_debug("envelope outside the freshness window (created_at %" PRId64
			  ", now %" PRId64 ")",
			  created_at, now);
		return ATL_E_REPLAY; /* stale, or from the future */
	}
	/* Forget entries that can no longer be fresh: any replay of them fails
	 * the window check above. */
	for (size_t i = 0; i < rp->n;) {
		if (rp->e[i].created_at < now && outside(now, rp->e[i].created_at, rp->skew))
			rp->e[i] = rp->e[--rp->n];
		else
			i++;
	}
	for (size_t i = 0; i < rp->n; i++) {
		if (memcmp(rp->e[i].digest, digest, 32) == 0) {
			atl_debug("envelope replayed");
			return ATL_E_REPLAY;
		}
	}
	if (rp->n == rp->cap)
		return ATL_E_BUSY; /* full of live entries: refuse rather than forget */
	memcpy(rp->e[rp->n].digest, digest, 32);
	rp->e[rp->n].created_at = created_at;
	rp->n++;
	return ATL_OK;
}
