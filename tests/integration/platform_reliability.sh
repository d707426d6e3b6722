#!/usr/bin/env bash
# Reliability and security of the platform through real processes on loopback
# (issue 4): atoll-coordinator, two atoll-island processes (each with its
# sandboxed sim atoll-enclave child) and the atoll client. Covers what
# platform_e2e.sh and coordinator_api.sh do not:
#   1. an island SIGKILLed (with its enclave) while it holds a job: the lease
#      expires and the job completes on the other island, opened by the client;
#   2. island A's evidence replayed by island B with B's fresh nonce (403
#      naming the nonce / report_data check) and with an old nonce (refused);
#   3. the same sealed envelope submitted twice: the second never completes
#      (refused by the coordinator or failed by the enclave's replay check);
#   4. tenant isolation: bob cannot read, list or cancel alice's jobs (404);
#   5. slow-loris: a client trickling one header byte a second is cut off by
#      the server's timeout while normal requests keep working; 200 concurrent
#      short requests are all answered and /healthz is still ok after.
# A check marked "KNOWN BUG:" documents a found defect: printed, not counted.
# Usage: platform_reliability.sh BIN_DIR. Bounded (timeouts on every command
# and wait); every process started is killed and the temp dir removed on exit.
set -u
BIN=${1:?usage: platform_reliability.sh BIN_DIR}
ATOLL=$BIN/atoll
CO=$BIN/atoll-coordinator
ISL=$BIN/atoll-island
ENC=$BIN/atoll-enclave
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_platrel.XXXXXX")
PIDS=()
FAILS=0
KNOWN=0
SECRET="reliability canary-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"

cleanup() {
	for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# known WHAT CMD...: a check that fails because of a reported defect; not counted
known() {
	local what=$1; shift
	if "$@"; then ok "$what (the known bug is fixed: make this a check)"; else
		echo "KNOWN BUG: $what"; KNOWN=$((KNOWN + 1)); fi
}
run() { timeout 60 "$@"; }
wait_grep() { # PATTERN FILE SECONDS
	local i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1; i=$((i + 1))
	done
}
# req METHOD PATH TOKEN [curl args]: prints the status, body in $T/body
req() {
	local method=$1 path=$2 tok=$3
	shift 3
	curl -s -o "$T/body" -w '%{http_code}' --max-time 30 -X "$method" \
		${tok:+-H "Authorization: Bearer $tok"} "$@" "$URL$path"
}
job_status() { # JOB KEY: prints the job's status
	req GET "/api/v1/jobs/$1" "$2" >/dev/null
	jq -r '.status // "none"' "$T/body" 2>/dev/null
}
wait_status() { # JOB KEY STATUS SECONDS
	local i=0
	while [ "$(job_status "$1" "$2")" != "$3" ]; do
		[ $i -ge $(($4 * 5)) ] && return 1
		sleep 0.2; i=$((i + 1))
	done
}
start_island() { # NAME: starts island NAME (token $T/NAME.tok), sets IPID
	"$ISL" --coordinator "$URL" --token "$(cat "$T/$1.tok")" --tee sim --sim-root "$T/root" \
		--cache "$T/cache-$1" --lease-wait 1 >"$T/$1.out" 2>"$T/$1.log" &
	IPID=$!
	PIDS+=("$IPID")
}

command -v jq >/dev/null || { echo "skip: platform reliability checks need jq"; exit 0; }
command -v curl >/dev/null || { echo "skip: platform reliability checks need curl"; exit 0; }
export ATOLL_KEYS=$T/keys
export ATOLL_LOG=info
unset ATOLL_COORDINATOR ATOLL_API_KEY

# ---------------------------------------------------------------- setup
run "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENC" --max-age 300 \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }
DB=$T/coord.db
run "$CO" tenant add alice --db "$DB" >"$T/alice.key" 2>/dev/null || bad "tenant add alice"
run "$CO" tenant add bob --db "$DB" >"$T/bob.key" 2>/dev/null || bad "tenant add bob"
run "$CO" island add isl-a --db "$DB" >"$T/a.tok" 2>/dev/null || bad "island add a"
run "$CO" island add isl-b --db "$DB" >"$T/b.tok" 2>/dev/null || bad "island add b"
run "$CO" workload add --db "$DB" --id echo1 --kind echo --tee sim >/dev/null 2>&1 ||
	bad "workload add echo"
ALICE=$(cat "$T/alice.key"); BOB=$(cat "$T/bob.key")
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" --lease-s 3 --maint-s 1 \
	>"$T/coord.out" 2>"$T/coord.log" &
CPID=$!
PIDS+=("$CPID")
wait_grep '^listening on ' "$T/coord.out" 20 || { echo "FAIL: coordinator did not start";
	cat "$T/coord.log"; exit 1; }
PORT=$(sed -n 's/^listening on //p' "$T/coord.out")
URL="http://127.0.0.1:$PORT"

start_island a; APID=$IPID
start_island b; BPID=$IPID
wait_grep 'attested: enclave key' "$T/a.log" 30 || bad "island a attested"
wait_grep 'attested: enclave key' "$T/b.log" 30 || bad "island b attested"
AKEY=$(grep -o 'attested: enclave key ek_[0-9a-f]*' "$T/a.log" | tail -1 | awk '{print $4}')
BKEY=$(grep -o 'attested: enclave key ek_[0-9a-f]*' "$T/b.log" | tail -1 | awk '{print $4}')
AENC=$(pgrep -P "$APID" -x atoll-enclave | head -1)
check "both islands run an enclave child" [ -n "$AENC" -a -n "$(pgrep -P "$BPID" -x atoll-enclave)" ]
run "$ATOLL" keys create >/dev/null 2>&1 || bad "atoll keys create"
cp "$T/policy.json" "$T/keys/policy.json"
export ATOLL_COORDINATOR=$URL ATOLL_API_KEY=$ALICE

# ---------------------------------------------------------------- 5. slow clients (started here)
# Two raw connections that never finish their request header, running while
# cases 1-4 go on (normal requests must keep working meanwhile): one sends a
# header byte a second (slow-loris), one sends part of a header and then
# nothing (control). The server's request deadline (ATL_HTTP_REQUEST_TIMEOUT_S_DEFAULT,
# 30 s from accept to a complete request) must cut both. Each records "cut N" when the
# server closed it after N seconds, or "open N" at the bound (LORIS_S).
LORIS_S=50
slow_client() { # OUTFILE TRICKLE(0|1)
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
	printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' >&3 || exit 1
	local i=0 x rc
	while [ $i -lt $LORIS_S ]; do
		[ "$2" = 1 ] && { printf 'a' >&3 2>/dev/null || { echo "cut $i" >"$1"; exit 0; }; }
		read -r -t 1 -u 3 x; rc=$?
		# 1: end of file (closed by the server); >128: nothing within 1 s
		if [ $rc -ge 1 ] && [ $rc -le 128 ]; then echo "cut $i" >"$1"; exit 0; fi
		[ $rc = 0 ] && { echo "answered $i" >"$1"; exit 0; }
		i=$((i + 1))
	done
	echo "open $i" >"$1"
}
( slow_client "$T/loris" 1 ) &
LORIS=$!
PIDS+=("$LORIS")
( slow_client "$T/idle" 0 ) &
IDLE=$!
PIDS+=("$IDLE")
LORIS_T0=$(date +%s)

# ---------------------------------------------------------------- 1. island SIGKILL mid-job
# Both islands attested, so the client seals to both enclave keys. Island b is
# paused (after its pending long-poll has ended) so that island a leases the
# job; a's enclave is paused so the job stays in it; then a and its enclave
# are SIGKILLed while the job is leased.
run "$ATOLL" targets --workload echo1 >"$T/targets.txt" 2>&1
check "1: both islands are verified targets" \
	bash -c "grep -q '^PASS .*isl-a' '$T/targets.txt' && grep -q '^PASS .*isl-b' '$T/targets.txt'"
kill -STOP "$BPID"
sleep 2.5 # island b's long-poll (--lease-wait 1) has answered; b asks for nothing more
kill -STOP "$AENC"
run "$ATOLL" submit --workload echo1 --text "$SECRET" >"$T/job1" 2>"$T/submit1.err"
JOB1=$(cat "$T/job1")
check "1: job submitted" grep -qE '^job_[0-9a-f]{32}$' "$T/job1"
wait_grep "job $JOB1 leased" "$T/a.log" 20
# at once: island a gives a job up when its enclave has not answered by the
# end of the lease (3 s)
kill -KILL "$APID" "$AENC" 2>/dev/null
wait "$APID" 2>/dev/null
check "1: island a leased the job" grep -q "job $JOB1 leased" "$T/a.log"
check "1: the coordinator leased it to island a" \
	grep -q "job $JOB1 leased to island isl-a" "$T/coord.log"
check "1: island a neither finished nor gave it up" \
	bash -c "! grep -q 'job $JOB1 \(done\|given up\)' '$T/coord.log'"
gone() { # PID: not running (gone, or a zombie not yet reaped by its new parent)
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [ "${st:0:1}" = Z ]
}
check "1: island a and its enclave are dead" bash -c "$(declare -f gone); gone $APID && gone $AENC"
check "1: no result from island a" bash -c "! grep -q 'job $JOB1 done' '$T/a.log'"
wait_status "$JOB1" "$ALICE" queued 20
check "1: the lease expired, the job is queued again" [ "$(job_status "$JOB1" "$ALICE")" = queued ]
kill -CONT "$BPID"
run "$ATOLL" result "$JOB1" --wait --timeout 40 >"$T/out1" 2>"$T/err1"
check "1: the client opens the result (exit 0)" [ $? = 0 ]
check "1: the result is the input" [ "$(cat "$T/out1")" = "$SECRET" ]
check "1: island b ran it" grep -q "job $JOB1 done" "$T/b.log"
check "1: the job is done" [ "$(job_status "$JOB1" "$ALICE")" = done ]
check "1: exactly one result taken (nothing lost, nothing twice)" \
	[ "$(grep -c "job $JOB1 done by island" "$T/coord.log")" = 1 ]
check "1: by island b" grep -q "job $JOB1 done by island isl-b" "$T/coord.log"

# ---------------------------------------------------------------- 2. replayed evidence
check "2: targets 200" [ "$(req GET '/api/v1/confidential/targets?workload_id=echo1&count=4' "$ALICE")" = 200 ]
jq -c '.targets[] | select(.island == "isl-a") | .evidence' "$T/body" >"$T/a-evidence.json"
check "2: island a's evidence as posted" grep -q '"enclave_key"' "$T/a-evidence.json"
ANONCE=$(jq -r .nonce "$T/a-evidence.json")
check "2: island b gets a challenge" [ "$(req POST /api/v1/islands/challenge "$(cat "$T/b.tok")")" = 200 ]
BNONCE=$(jq -r .nonce "$T/body")
jq -c --arg n "$BNONCE" '{nonce:$n, evidence:.}' "$T/a-evidence.json" >"$T/replay1.json"
check "2: a's evidence with b's fresh nonce: 403" \
	[ "$(req POST /api/v1/islands/evidence "$(cat "$T/b.tok")" --data-binary @"$T/replay1.json")" = 403 ]
check "2:   attestation_refused" grep -q '"attestation_refused"' "$T/body"
check "2:   naming the nonce / report_data check" grep -qiE 'nonce|report_data' "$T/body"
sed 's/^/  /' "$T/body"; echo
jq -c --arg n "$ANONCE" '{nonce:$n, evidence:.}' "$T/a-evidence.json" >"$T/replay2.json"
ST=$(req POST /api/v1/islands/evidence "$(cat "$T/b.tok")" --data-binary @"$T/replay2.json")
check "2: a's evidence with its own old nonce, b's token: refused ($ST)" [ "${ST:0:1}" = 4 ]
check "2:   naming the nonce" grep -q 'nonce' "$T/body"
ST=$(req POST /api/v1/islands/evidence "$(cat "$T/a.tok")" --data-binary @"$T/replay2.json")
check "2: a's evidence with its own old nonce, a's token: refused ($ST)" [ "${ST:0:1}" = 4 ]
check "2:   naming the nonce" grep -q 'nonce' "$T/body"
check "2: island b's attestation is untouched (its key still a target)" \
	[ "$(req GET '/api/v1/confidential/targets?workload_id=echo1&count=4' "$ALICE")" = 200 ]
check "2:   (key $BKEY)" grep -q "$BKEY" "$T/body"
check "2: no target carries island a's key for island b" \
	bash -c "[ \"\$(jq -r '.targets[] | select(.island == \"isl-b\") | .key_id' '$T/body')\" != '$AKEY' ]"

# ---------------------------------------------------------------- 3. replayed sealed job
"$ATOLL" proxy --listen 127.0.0.1:0 >"$T/proxy.out" 2>"$T/proxy.log" &
PROXY=$!
PIDS+=("$PROXY")
if wait_grep '^listening on ' "$T/proxy.out" 20; then
	P="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/proxy.out")"
	pc() { curl -s --max-time 30 -o "$T/pbody" -w '%{http_code}' "$@"; }
	jq -n --arg d "$(printf '%s' "$SECRET" | base64 -w0)" '{workload_id:"echo1",data:$d}' \
		>"$T/enc.json"
	check "3: proxy seals an envelope (200)" \
		[ "$(pc -X POST --data-binary @"$T/enc.json" "$P/api/v1/confidential/encrypt")" = 200 ]
	jq -c '.envelope' "$T/pbody" >"$T/env3.json"
	jq -c '{workload_id:"echo1",confidential:true,encryption_key_id:.key_id,input:.envelope}' \
		"$T/pbody" >"$T/job3.json"
	check "3: first submission: 201" \
		[ "$(req POST /api/v1/jobs "$ALICE" --data-binary @"$T/job3.json")" = 201 ]
	J3A=$(jq -r .job_id "$T/body")
	wait_status "$J3A" "$ALICE" done 30
	check "3: the first completes" [ "$(job_status "$J3A" "$ALICE")" = done ]
	jq --arg j "$J3A" --slurpfile e "$T/env3.json" '{job_id:$j,result:.result,envelope:$e[0]}' \
		"$T/body" >"$T/dec.json"
	check "3:   and opens (200)" \
		[ "$(pc -X POST --data-binary @"$T/dec.json" "$P/api/v1/confidential/decrypt")" = 200 ]
	check "3:   to the input" [ "$(jq -r .data "$T/pbody" | base64 -d)" = "$SECRET" ]
	ST=$(req POST /api/v1/jobs "$ALICE" --data-binary @"$T/job3.json")
	if [ "$ST" = 201 ]; then
		J3B=$(jq -r .job_id "$T/body")
		i=0
		while [ $i -lt 150 ]; do
			S=$(job_status "$J3B" "$ALICE")
			[ "$S" = done ] || [ "$S" = failed ] && break
			sleep 0.2; i=$((i + 1))
		done
		check "3: the replayed envelope fails (status $S)" [ "$S" = failed ]
		check "3:   refused by the enclave (enclave_refused)" grep -q '"enclave_refused"' "$T/body"
		check "3:   and island b logged the refusal" grep -q "job $J3B refused by the enclave" "$T/b.log"
	else
		check "3: the replayed envelope refused by the coordinator ($ST)" [ "${ST:0:1}" = 4 ]
	fi
else
	bad "3: proxy started"; sed 's/^/  /' "$T/proxy.log"
fi

# ---------------------------------------------------------------- 4. tenant isolation
run "$ATOLL" submit --workload echo1 --text "$SECRET" >"$T/job4" 2>/dev/null
JOB4=$(cat "$T/job4")
check "4: alice reads her job: 200" [ "$(req GET "/api/v1/jobs/$JOB1" "$ALICE")" = 200 ]
check "4: bob reads alice's job: 404" [ "$(req GET "/api/v1/jobs/$JOB1" "$BOB")" = 404 ]
check "4:   and learns nothing of it" bash -c "! grep -q '$JOB1\|result' '$T/body'"
check "4: alice's list: 200" [ "$(req GET '/api/v1/jobs?limit=100' "$ALICE")" = 200 ]
check "4:   holds her job" grep -q "$JOB1" "$T/body"
check "4: bob's list: 200" [ "$(req GET '/api/v1/jobs?limit=100' "$BOB")" = 200 ]
check "4:   holds none of alice's jobs" grep -q '"jobs":\[\]' "$T/body"
check "4: bob's list paged from alice's job id: no leak" \
	bash -c "st=\$(curl -s -o '$T/b4' -w '%{http_code}' --max-time 30 -H 'Authorization: Bearer $BOB' \
		'$URL/api/v1/jobs?before=$JOB4'); ! grep -q 'job_' '$T/b4'"
check "4: bob cancels alice's job: 404" [ "$(req DELETE "/api/v1/jobs/$JOB4" "$BOB")" = 404 ]
check "4: bob cancels alice's done job: 404" [ "$(req DELETE "/api/v1/jobs/$JOB1" "$BOB")" = 404 ]
check "4: alice's job not cancelled by bob" [ "$(job_status "$JOB4" "$ALICE")" != cancelled ]
check "4: alice's done job still done" [ "$(job_status "$JOB1" "$ALICE")" = done ]

# ---------------------------------------------------------------- 5. slow-loris and load
check "5: /healthz answers while the slow client trickles" [ "$(req GET /healthz '')" = 200 ]
seq 200 | xargs -P 200 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
	"$URL/healthz" >"$T/load.txt" 2>/dev/null
check "5: 200 concurrent requests all answered 200 ($(grep -c '^200$' "$T/load.txt"))" \
	[ "$(grep -c '^200$' "$T/load.txt")" = 200 ]
seq 100 | xargs -P 100 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
	-H "Authorization: Bearer $ALICE" "$URL/api/v1/usage" >"$T/load2.txt" 2>/dev/null
check "5: 100 concurrent authenticated requests all answered 200" \
	[ "$(grep -c '^200$' "$T/load2.txt")" = 100 ]
check "5: /healthz still ok after the load" [ "$(req GET /healthz '')" = 200 ]
check "5:   body" grep -q '"status":"ok"' "$T/body"
# both slow clients end by LORIS_S (+ 5 s slack) from their start
while { [ ! -s "$T/loris" ] || [ ! -s "$T/idle" ]; } && [ $(($(date +%s) - LORIS_T0)) -le $((LORIS_S + 5)) ]; do
	sleep 0.2
done
wait "$LORIS" "$IDLE" 2>/dev/null
echo "  slow-loris client: $(cat "$T/loris" 2>/dev/null); idle client: $(cat "$T/idle" 2>/dev/null)"
check "5: the server's timeout cuts an idle, unfinished request (${LORIS_S} s bound)" \
	grep -q '^cut' "$T/idle"
# (found by this test and fixed: the inactivity timeout alone was reset by every
# trickled byte; the server now has a deadline for a whole request, 30 s by default)
check "5: the slow-loris client (one header byte a second) is cut off within ${LORIS_S} s" \
	grep -q '^cut' "$T/loris"
check "5: /healthz ok after the slow client" [ "$(req GET /healthz '')" = 200 ]
check "5: the coordinator is still running" kill -0 "$CPID"

# ---------------------------------------------------------------- canary
check "no plaintext in the coordinator's files and logs, nor the islands' logs" \
	bash -c "! grep -rqaF '$SECRET' '$T/coord.log' '$T/coord.out' '$T/a.log' '$T/b.log' $T/coord.db*"

check "no sanitizer report in any process's log" \
	bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' '$T'/*.log"

if [ "$FAILS" != 0 ]; then
	for f in a.log b.log coord.log; do echo "--- $f"; tail -20 "$T/$f"; done
	echo "$FAILS check(s) failed ($KNOWN known bug(s) not counted)"; exit 1
fi
echo "all platform reliability checks passed ($KNOWN known bug(s) not counted)"
