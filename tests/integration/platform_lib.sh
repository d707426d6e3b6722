# Shared harness of the platform integration tests (sourced, not run, by
# kbs_platform.sh and llm_platform.sh): the processes started (PIDS, stopped
# and the scratch directory $T removed at exit), ok/bad/check counters,
# bounded command runs, and waiting for a line in a log. Set T first.
# shellcheck shell=bash
PIDS=()
FAILS=0

cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
run() { timeout 120 "$@"; }
expect() { # CODE WHAT CMD...: stdout in $T/out, stderr in $T/err
	local want=$1 what=$2 got
	shift 2
	run "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else
		bad "$what: exit $got, want $want"; sed 's/^/  stderr: /' "$T/err" | tail -8; fi
}
wait_grep() { # PATTERN FILE SECONDS
	local i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1; i=$((i + 1))
	done
}
