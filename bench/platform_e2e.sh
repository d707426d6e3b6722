#!/usr/bin/env bash
# Throughput of the whole platform (issue 4, "Benchmarks"): one real
# atoll-coordinator and 2 atoll-island processes (sim TEE, each with its
# sandboxed atoll-enclave child) on loopback; JOBS echo jobs with 1 KiB inputs,
# each `atoll submit` then `atoll result --wait` (the client verifies the
# islands' attestation, seals, and opens the result), run by CONC concurrent
# workers. Prints jobs/s and the p50/p99 latency of one job (submit start to
# result opened); nothing is asserted on time.
#   bash bench/platform_e2e.sh BUILD_DIR     (PLATFORM_JOBS=40 PLATFORM_CONC=4
#     PLATFORM_MODE=split; PLATFORM_MODE=run times one `atoll run` per job, so the
#     wait for the result right after submitting is included)
# Bounded: about 60 s at most (the job phase stops at its deadline and reports
# what finished); every process started is killed and the temp dir removed.
set -u
BUILD=${1:?usage: bench/platform_e2e.sh BUILD_DIR}
BIN=$BUILD/bin
JOBS=${PLATFORM_JOBS:-40}
CONC=${PLATFORM_CONC:-4}
MODE=${PLATFORM_MODE:-split} # split: atoll submit + atoll result --wait; run: atoll run
DEADLINE_S=45 # for the job phase; setup takes a few seconds more
ATOLL=$BIN/atoll
CO=$BIN/atoll-coordinator
ISL=$BIN/atoll-island
ENC=$BIN/atoll-enclave
for b in "$ATOLL" "$CO" "$ISL" "$ENC"; do
	[ -x "$b" ] || { echo "platform_e2e: $b not built" >&2; exit 2; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_bench_e2e.XXXXXX")
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "platform_e2e: $*" >&2; exit 1; }
wait_grep() { # PATTERN FILE SECONDS
	local i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1; i=$((i + 1))
	done
}
ms() { echo $(($(date +%s%N) / 1000000)); }

export ATOLL_KEYS=$T/keys
export ATOLL_LOG=warn
unset ATOLL_COORDINATOR ATOLL_API_KEY

# ---------------------------------------------------------------- setup
timeout 30 "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || fail "sim init"
timeout 30 "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENC" \
	--max-age 60 >"$T/policy.json" 2>/dev/null || fail "policy init"
DB=$T/coord.db
timeout 30 "$CO" tenant add bench --db "$DB" >"$T/tenant.key" 2>/dev/null || fail "tenant add"
for i in 1 2; do
	timeout 30 "$CO" island add "isl-$i" --db "$DB" >"$T/isl-$i.tok" 2>/dev/null ||
		fail "island add isl-$i"
done
timeout 30 "$CO" workload add --db "$DB" --id echo1 --kind echo --tee sim >/dev/null 2>&1 ||
	fail "workload add"
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" --maint-s 1 \
	>"$T/coord.out" 2>"$T/coord.log" &
PIDS+=($!)
wait_grep '^listening on ' "$T/coord.out" 20 || { cat "$T/coord.log" >&2; fail "coordinator did not start"; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/coord.out")"
for i in 1 2; do
	ATOLL_LOG=info "$ISL" --coordinator "$URL" --token "$(cat "$T/isl-$i.tok")" --tee sim \
		--sim-root "$T/root" --cache "$T/cache-$i" --lease-wait 2 \
		>"$T/island-$i.out" 2>"$T/island-$i.log" &
	PIDS+=($!)
done
for i in 1 2; do
	wait_grep 'attested: enclave key' "$T/island-$i.log" 30 ||
		{ tail -5 "$T/island-$i.log" >&2; fail "island isl-$i did not attest"; }
done
export ATOLL_COORDINATOR=$URL ATOLL_API_KEY
ATOLL_API_KEY=$(cat "$T/tenant.key")
timeout 30 "$ATOLL" keys create >/dev/null 2>&1 || fail "keys create"
cp "$T/policy.json" "$T/keys/policy.json"
head -c 768 /dev/urandom | base64 -w0 | head -c 1024 >"$T/input" # 1 KiB of text

# ---------------------------------------------------------------- jobs
# worker W: jobs W, W+CONC, ...; one line "START_MS END_MS OK SUBMITTED_MS" per job
worker() {
	local w=$1 j t0 t1 ts id ok
	for ((j = w; j < JOBS; j += CONC)); do
		[ "$(ms)" -lt "$STOP_MS" ] || break
		t0=$(ms)
		ok=0
		ts=0
		if [ "$MODE" = run ]; then
			# one process: targets, seal, submit, wait, open
			timeout 30 "$ATOLL" run --workload echo1 --input "$T/input" --timeout 25 \
				>"$T/w$w.res" 2>>"$T/w$w.err" && cmp -s "$T/w$w.res" "$T/input" && ok=1
			ts=$t0
		elif id=$(timeout 30 "$ATOLL" submit --workload echo1 --input "$T/input" 2>>"$T/w$w.err") &&
			ts=$(ms) &&
			timeout 30 "$ATOLL" result "$id" --wait --timeout 25 >"$T/w$w.res" 2>>"$T/w$w.err" &&
			cmp -s "$T/w$w.res" "$T/input"; then
			ok=1
		fi
		t1=$(ms)
		echo "$t0 $t1 $ok $ts" >>"$T/lat-$w"
	done
}
T0=$(ms)
STOP_MS=$((T0 + DEADLINE_S * 1000))
WPIDS=()
for ((w = 0; w < CONC; w++)); do
	worker "$w" &
	WPIDS+=($!)
done
for p in "${WPIDS[@]}"; do wait "$p"; done
T1=$(ms)

cat "$T"/lat-* 2>/dev/null >"$T/lat"
DONE=$(awk '$3 == 1' "$T/lat" | wc -l)
FAILED=$(awk '$3 != 1' "$T/lat" | wc -l)
awk '$3 == 1 { print $2 - $1 }' "$T/lat" | sort -n >"$T/ms"
awk '$3 == 1 { print $4 - $1 }' "$T/lat" | sort -n >"$T/ms-submit"
awk '$3 == 1 { print $2 - $4 }' "$T/lat" | sort -n >"$T/ms-result"
pct() { # P [FILE]: nearest-rank percentile of the sorted numbers in FILE ($T/ms)
	local f=${2:-$T/ms} n
	n=$(wc -l <"$f")
	[ "$n" -gt 0 ] || { echo "-"; return; }
	awk -v p="$1" -v n="$n" 'BEGIN { r = int((p * n + 99) / 100); if (r < 1) r = 1 } NR == r { print; exit }' "$f"
}
ELAPSED=$((T1 - T0))
RATE=$(awk -v d="$DONE" -v e="$ELAPSED" 'BEGIN { printf "%.2f", (e > 0) ? (d * 1000 / e) : 0 }')
PER_ISLAND=$(for i in 1 2; do printf 'isl-%s %s  ' "$i" \
	"$(grep -c 'job .* done' "$T/island-$i.log" 2>/dev/null)"; done)
echo "platform_e2e: 1 coordinator, 2 islands (sim), echo, 1 KiB inputs, $CONC concurrent clients, mode $MODE"
echo "jobs: $DONE done, $FAILED failed of $JOBS in ${ELAPSED} ms -> $RATE jobs/s"
echo "latency (submit start -> result opened, ms): p50 $(pct 50), p99 $(pct 99), max $(tail -1 "$T/ms" 2>/dev/null)"
[ "$MODE" = run ] || echo "  of which atoll submit (targets + attestation check + seal + POST): p50 $(pct 50 "$T/ms-submit"), p99 $(pct 99 "$T/ms-submit")"
[ "$MODE" = run ] || echo "  and atoll result --wait (long-poll, else 20 ms backoff to 500 ms; opens): p50 $(pct 50 "$T/ms-result"), p99 $(pct 99 "$T/ms-result")"
echo "jobs done per island: $PER_ISLAND"
if [ "$FAILED" -gt 0 ]; then
	echo "first client errors:"; cat "$T"/w*.err 2>/dev/null | head -5 | sed 's/^/  /'
fi
exit 0
