#!/usr/bin/env bash
# atoll-coordinator through real processes on loopback (issue 4; see
# coordinator_api.cmake). Usage: coordinator_api.sh BIN_DIR PEER
# Starts its own coordinators (port 0: the kernel picks a free port, which the
# coordinator prints), islands and clients (PEER, with real sandboxed
# atoll-enclave children); every process is killed and the temp dir removed
# on exit. Bounded: every wait has a deadline, curl has --max-time.
set -u
BIN=${1:?usage: coordinator_api.sh BIN_DIR PEER}
PEER=${2:?usage: coordinator_api.sh BIN_DIR PEER}
CO=$BIN/atoll-coordinator
ENC=$BIN/atoll-enclave
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_coord_api.XXXXXX")
PIDS=()
FAILS=0
CANARY="canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-plaintext"
export PEER_RESPONSES=$T/responses.txt

cleanup() {
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# curl wrapper: prints the status; the body goes to $T/body (and to the
# responses file the canary check reads)
req() {
	local method=$1 path=$2 tok=$3
	shift 3
	local st
	st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 40 -X "$method" \
		${tok:+-H "Authorization: Bearer $tok"} "$@" "$URL$path")
	cat "$T/body" >>"$PEER_RESPONSES" 2>/dev/null
	echo >>"$PEER_RESPONSES"
	echo "$st"
}

wait_file() { # FILE SECONDS
	local i=0
	while [ ! -s "$1" ] && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}

# start_coord NAME DB POLICY [more flags]: sets URL and CPID
start_coord() {
	local name=$1 db=$2 pol=$3
	shift 3
	"$CO" serve --listen 127.0.0.1:0 --db "$db" --policy "$pol" "$@" \
		>"$T/$name.out" 2>"$T/$name.log" &
	CPID=$!
	PIDS+=("$CPID")
	local i=0
	while ! grep -q '^listening on ' "$T/$name.out" 2>/dev/null; do
		if ! kill -0 "$CPID" 2>/dev/null || [ $i -gt 200 ]; then
			echo "FAIL: coordinator $name did not start"; sed 's/^/  /' "$T/$name.log"
			exit 1
		fi
		sleep 0.1; i=$((i + 1))
	done
	URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/$name.out")"
}

# ---------------------------------------------------------------- setup
"$PEER" policy "$T/root" "$ENC" 300 "$T/policy.json" || { echo "FAIL: policy"; exit 1; }
"$PEER" policy "$T/other" "$ENC" 300 "$T/other.json" || { echo "FAIL: other policy"; exit 1; }
sed 's/"max_age_s": 300/"max_age_s": 3/' "$T/policy.json" >"$T/short.json"
grep -q '"max_age_s": 3,' "$T/short.json" || { echo "FAIL: short policy"; exit 1; }

DB=$T/coord.db
"$CO" tenant add alice --db "$DB" >"$T/alice.key" 2>/dev/null || bad "tenant add"
"$CO" tenant add bob --db "$DB" >"$T/bob.key" 2>/dev/null || bad "tenant add bob"
for i in a b c x; do
	"$CO" island add "isl-$i" --db "$DB" >"$T/$i.tok" 2>/dev/null || bad "island add $i"
done
ALICE=$(cat "$T/alice.key"); BOB=$(cat "$T/bob.key")
check "API key form" grep -qE '^ak_[0-9a-f]{64}$' "$T/alice.key"
check "island token form" grep -qE '^it_[0-9a-f]{64}$' "$T/a.tok"
"$CO" tenant add alice --db "$DB" >/dev/null 2>&1; check "duplicate tenant refused (exit 1)" [ $? = 1 ]
"$CO" tenant add 'bad name' --db "$DB" >/dev/null 2>&1; check "bad tenant name (exit 2)" [ $? = 2 ]
"$CO" tenant add carol >/dev/null 2>&1; check "tenant add without --db (exit 2)" [ $? = 2 ]
"$CO" --help >/dev/null; check "--help (exit 0)" [ $? = 0 ]
"$CO" workload add --help >/dev/null; check "workload add --help (exit 0)" [ $? = 0 ]
"$CO" workload add --db "$DB" --id echo1 --kind echo --tee sim >/dev/null || bad "workload add echo"
printf '{"model":"not really, just bytes to pin"}\n' >"$T/model.json"
"$CO" workload add --db "$DB" --id clf --kind classifier --model "$T/model.json" --tee sim,tpm \
	>"$T/wl.out" || bad "workload add classifier"
check "workload add prints the pinned SHA-256" \
	grep -q "$(sha256sum "$T/model.json" | cut -c1-64)" "$T/wl.out"
"$CO" workload add --db "$DB" --id clf2 --kind classifier >/dev/null 2>&1
check "classifier without --model (exit 2)" [ $? = 2 ]
"$CO" workload add --db "$DB" --id clf3 --kind classifier --model "$T/nope" >/dev/null 2>&1
check "missing model file (exit 2)" [ $? = 2 ]
"$CO" workload add --db "$DB" --id echo1 --kind echo >/dev/null 2>&1
check "duplicate workload (exit 1)" [ $? = 1 ]
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/nope.json" >/dev/null 2>&1
check "serve with a missing policy (exit 2)" [ $? = 2 ]

start_coord coord "$DB" "$T/policy.json" --lease-s 3 --maint-s 1
MAIN_PID=$CPID

# ---------------------------------------------------------------- basics
check "/healthz" [ "$(req GET /healthz '')" = 200 ]
check "/healthz body" grep -q '"status":"ok"' "$T/body"
check "no API key: 401" [ "$(req GET '/api/v1/confidential/stats' '')" = 401 ]
check "wrong API key: 401" [ "$(req GET '/api/v1/confidential/stats' "ak_$(printf '%064d' 0)")" = 401 ]
check "island token on the client API: 401" [ "$(req GET '/api/v1/confidential/stats' "$(cat "$T/a.tok")")" = 401 ]
check "API key on the island API: 401" [ "$(req POST '/api/v1/islands/challenge' "$ALICE")" = 401 ]
check "malformed JSON: 400" [ "$(req POST /api/v1/jobs "$ALICE" -d '{"workload_id":')" = 400 ]
check "unknown field: 400" [ "$(req POST /api/v1/jobs "$ALICE" -d '{"bogus":1}')" = 400 ]
check "not an envelope: 400" [ "$(req POST /api/v1/jobs "$ALICE" -d "{\"workload_id\":\"echo1\",\"confidential\":true,\"encryption_key_id\":\"ck_$(printf '%032d' 0)\",\"input\":{\"v\":1}}")" = 400 ]
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big"
check "oversized body: 413" [ "$(req POST /api/v1/jobs "$ALICE" -H 'Content-Type: application/json' --data-binary @"$T/big")" = 413 ]
check "unknown workload targets: 404" [ "$(req GET '/api/v1/confidential/targets?workload_id=nope' "$ALICE")" = 404 ]
check "lease before attesting: 403 attestation_required" [ "$(req GET '/api/v1/islands/lease' "$(cat "$T/a.tok")")" = 403 ]
check "  (code)" grep -q attestation_required "$T/body"

# ---------------------------------------------------------------- refused evidence
"$PEER" island "$URL" "$(cat "$T/x.tok")" "$ENC" "$T/other" --jobs 0 --timeout 30 >"$T/x.out" 2>"$T/x.err"
check "evidence from another sim root: 403" grep -q '^evidence 403 ' "$T/x.out"
check "  refusal names the failed check" grep -q '"code":"attestation_refused"' "$T/x.out"
sed 's/^/  /' "$T/x.out"

# ---------------------------------------------------------------- a whole job
printf 'patient record %s: HbA1c 6.1%%\n' "$CANARY" >"$T/input.txt"
"$PEER" island "$URL" "$(cat "$T/a.tok")" "$ENC" "$T/root" --jobs 1 --replay-check --reattest \
	--ready "$T/a.ready" --timeout 90 >"$T/a.out" 2>"$T/a.err" &
PIDS+=($!); APID=$!
wait_file "$T/a.ready" 30 || { bad "island a attested"; sed 's/^/  /' "$T/a.err" "$T/a.out"; }
check "replayed evidence (used nonce) refused" grep -q '^replay refused' "$T/a.out"
# the peer re-attests after writing its ready file: wait for its answer
i=0; while ! grep -q '^reattest ok' "$T/a.out" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
check "re-attestation with the same enclave key accepted" grep -q '^reattest ok' "$T/a.out"
check "targets list the attested island" [ "$(req GET '/api/v1/confidential/targets?workload_id=echo1&count=2' "$ALICE")" = 200 ]
check "  with its key and evidence" grep -q "\"key_id\":\"$(cat "$T/a.ready")\".*\"evidence\"\|\"evidence\".*\"key_id\":\"$(cat "$T/a.ready")\"" "$T/body"
"$PEER" client "$URL" "$ALICE" echo1 "$T/policy.json" "$T/input.txt" "$T/output.txt" \
	--job "$T/job1" --timeout 60 2>"$T/client1.err"
check "end to end: attest, targets, seal, submit, lease, enclave, result, open" cmp -s "$T/input.txt" "$T/output.txt"
wait "$APID"; check "island a finished its job" [ $? = 0 ]
JOB1=$(cat "$T/job1" 2>/dev/null)
check "job id form" grep -qE '^job_[0-9a-f]{32}$' "$T/job1"
check "owner reads the job: 200" [ "$(req GET "/api/v1/jobs/$JOB1" "$ALICE")" = 200 ]
check "  done, with a sealed result" grep -q '"status":"done".*"result"\|"result".*"status":"done"' "$T/body"
check "another tenant's job: 404" [ "$(req GET "/api/v1/jobs/$JOB1" "$BOB")" = 404 ]
check "unknown job: 404" [ "$(req GET "/api/v1/jobs/job_$(printf '%032d' 0)" "$ALICE")" = 404 ]
check "result for a job the island does not hold: 403" \
	[ "$(req POST "/api/v1/islands/jobs/$JOB1/result" "$(cat "$T/b.tok")" -d '{"result":{"v":1}}')" = 403 ]
check "stats: 200" [ "$(req GET /api/v1/confidential/stats "$ALICE")" = 200 ]
check "  counts the attested sim island" grep -q '"tee_types":{"sim":1}' "$T/body"
check "  and the done job" grep -q '"done":1' "$T/body"

# ---------------------------------------------------------------- model download
check "model download: 200" [ "$(req GET /api/v1/islands/models/clf "$(cat "$T/b.tok")")" = 200 ]
check "  the pinned bytes" cmp -s "$T/body" "$T/model.json"
check "workload without a model: 404" [ "$(req GET /api/v1/islands/models/echo1 "$(cat "$T/b.tok")")" = 404 ]
printf 'changed' >>"$T/model.json"
check "changed model file is not served" [ "$(req GET /api/v1/islands/models/clf "$(cat "$T/b.tok")")" = 500 ]

# ---------------------------------------------------------------- lease expiry
"$PEER" island "$URL" "$(cat "$T/b.tok")" "$ENC" "$T/root" --abandon --ready "$T/b.ready" \
	--leased "$T/b.leased" --timeout 90 >"$T/b.out" 2>"$T/b.err" &
PIDS+=($!)
"$PEER" island "$URL" "$(cat "$T/c.tok")" "$ENC" "$T/root" --jobs 1 --ready "$T/c.ready" \
	--gate "$T/gate" --timeout 90 >"$T/c.out" 2>"$T/c.err" &
PIDS+=($!); CPID_ISL=$!
wait_file "$T/b.ready" 30 && wait_file "$T/c.ready" 30 || bad "islands b and c attested"
"$PEER" client "$URL" "$ALICE" echo1 "$T/policy.json" "$T/input.txt" "$T/output2.txt" \
	--min 3 --count 3 --job "$T/job2" --timeout 90 2>"$T/client2.err" &
PIDS+=($!); CLPID=$!
wait_file "$T/b.leased" 30 || bad "island b leased the job"
# island c stays gated until the maintenance thread has expired b's lease
i=0
while [ $i -lt 100 ]; do
	[ "$(req GET /metrics '')" = 200 ] && grep -qE '^atoll_lease_expiries_total [1-9]' "$T/body" && break
	sleep 0.2; i=$((i + 1))
done
check "maintenance expired the abandoned lease" grep -qE '^atoll_lease_expiries_total [1-9]' "$T/body"
check "  the job is queued again" [ "$(req GET "/api/v1/jobs/$(cat "$T/b.leased")" "$ALICE")" = 200 ]
check "  (status queued)" grep -q '"status":"queued"' "$T/body"
touch "$T/gate"
wait "$CLPID"; check "abandoned lease expires, job completes on another island" [ $? = 0 ]
check "  result intact" cmp -s "$T/input.txt" "$T/output2.txt"
wait "$CPID_ISL"; check "island c ran it" [ $? = 0 ]
check "metrics: 200" [ "$(req GET /metrics '')" = 200 ]
check "  jobs by state" grep -q '^atoll_jobs{state="done"} 2' "$T/body"
check "  attested islands by TEE" grep -qE '^atoll_attested_islands\{tee="sim"\} [1-9]' "$T/body"
check "  requests by route and status" grep -q '^atoll_http_requests_total{method="POST",route="/api/v1/jobs",status="201"} 2' "$T/body"
check "usage: 200" [ "$(req GET /api/v1/usage "$ALICE")" = 200 ]
check "  metered per tenant" grep -q '"jobs_done":2' "$T/body"
check "  and bytes" grep -qE '"bytes_in":[1-9]' "$T/body"
check "  bob's usage: 200" [ "$(req GET /api/v1/usage "$BOB")" = 200 ]
check "  bob has none" grep -q '"jobs_submitted":0' "$T/body"

# ---------------------------------------------------------------- island gives up: retry, then failed
# island a's process is gone but its attestation is live: lease and fail by hand
"$PEER" client "$URL" "$ALICE" echo1 "$T/policy.json" "$T/input.txt" "$T/unused" \
	--min 3 --count 3 --job "$T/job3" --no-wait --timeout 30 2>"$T/client3.err"
check "job 3 queued" [ -s "$T/job3" ]
JOB3=$(cat "$T/job3" 2>/dev/null)
for i in 1 2 3; do
	check "attempt $i: island a leases job 3" [ "$(req GET '/api/v1/islands/lease?wait=5' "$(cat "$T/a.tok")")" = 200 ]
	check "  it is job 3" grep -q "\"job_id\":\"$JOB3\"" "$T/body"
	check "  another island cannot fail it: 403" [ "$(req POST "/api/v1/islands/jobs/$JOB3/fail" "$(cat "$T/x.tok")" -d '{"code":"x","message":"y"}')" = 403 ]
	check "  island a gives up: 200" [ "$(req POST "/api/v1/islands/jobs/$JOB3/fail" "$(cat "$T/a.tok")" -d '{"code":"enclave_crashed","message":"restarting"}')" = 200 ]
done
check "job 3 after 3 attempts: 200" [ "$(req GET "/api/v1/jobs/$JOB3" "$ALICE")" = 200 ]
check "  failed with the island's reason" grep -q '"status":"failed"' "$T/body"
check "  error code" grep -q '"code":"enclave_crashed"' "$T/body"

# ---------------------------------------------------------------- list and cancel
check "list: 200" [ "$(req GET '/api/v1/jobs?limit=2' "$ALICE")" = 200 ]
check "  newest first (job 3), a full page has next" grep -q "\"job_id\":\"$JOB3\".*\"next\":\"job_" "$T/body"
check "bob's list: 200" [ "$(req GET /api/v1/jobs "$BOB")" = 200 ]
check "  empty" grep -q '"jobs":\[\]' "$T/body"
"$PEER" client "$URL" "$ALICE" echo1 "$T/policy.json" "$T/input.txt" "$T/unused" \
	--min 1 --job "$T/job4" --no-wait --timeout 30 2>"$T/client4.err"
JOB4=$(cat "$T/job4" 2>/dev/null)
# long-poll GET /api/v1/jobs/{id}?wait=S
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
t0=$(date +%s%N)
check "long-poll on a queued job (wait=1): 200" [ "$(req GET "/api/v1/jobs/$JOB4?wait=1" "$ALICE")" = 200 ]
LP_MS=$(ms_since "$t0")
check "  still queued" grep -q '"status":"queued"' "$T/body"
check "  answered after its wait (${LP_MS} ms)" [ "$LP_MS" -ge 900 -a "$LP_MS" -lt 10000 ]
check "long-poll with a bad wait: 400" [ "$(req GET "/api/v1/jobs/$JOB4?wait=soon" "$ALICE")" = 400 ]
t0=$(date +%s%N)
check "long-poll on a done job (wait=20): 200" [ "$(req GET "/api/v1/jobs/$JOB1?wait=20" "$ALICE")" = 200 ]
LP_MS=$(ms_since "$t0")
check "  at once (${LP_MS} ms)" [ "$LP_MS" -lt 5000 ]
check "  long-poll on another tenant's job: 404" [ "$(req GET "/api/v1/jobs/$JOB4?wait=5" "$BOB")" = 404 ]
check "bob cannot cancel alice's job: 404" [ "$(req DELETE "/api/v1/jobs/$JOB4" "$BOB")" = 404 ]
check "alice cancels her queued job: 200" [ "$(req DELETE "/api/v1/jobs/$JOB4" "$ALICE")" = 200 ]
check "  it is cancelled" [ "$(req GET "/api/v1/jobs/$JOB4" "$ALICE")" = 200 ]
check "  (status)" grep -q '"status":"cancelled"' "$T/body"
check "a done job cannot be cancelled: 409" [ "$(req DELETE "/api/v1/jobs/$JOB1" "$ALICE")" = 409 ]

# ---------------------------------------------------------------- SIGTERM
curl -s -o "$T/poll.body" -w '%{http_code}' --max-time 40 \
	-H "Authorization: Bearer $(cat "$T/c.tok")" "$URL/api/v1/islands/lease?wait=30" >"$T/poll.st" &
POLL=$!
sleep 0.5
kill -TERM "$MAIN_PID"
i=0; while kill -0 "$MAIN_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
wait "$MAIN_PID"; RC=$?
check "SIGTERM: clean exit 0 within 15 s" [ "$RC" = 0 ]
wait "$POLL"
check "  the in-flight long-poll got its answer (204)" [ "$(cat "$T/poll.st")" = 204 ]
check "  logged the stop" grep -q 'stopped' "$T/coord.log"

# ---------------------------------------------------------------- SIGKILL and restart
start_coord r1 "$DB" "$T/policy.json" --lease-s 3 --maint-s 1
"$PEER" client "$URL" "$ALICE" echo1 "$T/policy.json" "$T/input.txt" "$T/unused" \
	--min 3 --count 3 --job "$T/job5" --no-wait --timeout 30 2>"$T/client5.err"
JOB5=$(cat "$T/job5" 2>/dev/null)
check "restart: job 5 leased before the crash" [ "$(req GET '/api/v1/islands/lease?wait=5' "$(cat "$T/a.tok")")" = 200 ]
kill -KILL "$CPID"; wait "$CPID" 2>/dev/null
start_coord r2 "$DB" "$T/policy.json" --lease-s 3 --maint-s 1
check "restart: job 5 still there after SIGKILL" [ "$(req GET "/api/v1/jobs/$JOB5" "$ALICE")" = 200 ]
i=0
while [ $i -lt 100 ]; do
	[ "$(req GET "/api/v1/jobs/$JOB5" "$ALICE")" = 200 ] && grep -q '"status":"queued"' "$T/body" && break
	sleep 0.2; i=$((i + 1))
done
check "restart: its lease expired, queued again" grep -q '"status":"queued"' "$T/body"
check "restart: leased again" [ "$(req GET '/api/v1/islands/lease?wait=5' "$(cat "$T/a.tok")")" = 200 ]
check "  the same job" grep -q "\"job_id\":\"$JOB5\"" "$T/body"
FAKE='{"result":{"v":1,"nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="}}'
# a client long-polling job 5 is answered as soon as the result arrives
curl -s -o "$T/lp.body" -w '%{http_code} %{time_total}' --max-time 40 \
	-H "Authorization: Bearer $ALICE" "$URL/api/v1/jobs/$JOB5?wait=20" >"$T/lp.st" &
LP=$!
sleep 0.5
check "restart: result accepted once" [ "$(req POST "/api/v1/islands/jobs/$JOB5/result" "$(cat "$T/a.tok")" -d "$FAKE")" = 200 ]
check "  a second result refused (403)" [ "$(req POST "/api/v1/islands/jobs/$JOB5/result" "$(cat "$T/a.tok")" -d "$FAKE")" = 403 ]
check "  done" [ "$(req GET "/api/v1/jobs/$JOB5" "$ALICE")" = 200 ]
check "  (status)" grep -q '"status":"done"' "$T/body"
wait "$LP"
check "long-poll woken by the result: done" grep -q '"status":"done"' "$T/lp.body"
check "  well before its 20 s ($(cat "$T/lp.st"))" awk '{ exit !($1 == 200 && $2 < 5) }' "$T/lp.st"
kill -TERM "$CPID"; wait "$CPID"; check "restarted coordinator stopped cleanly" [ $? = 0 ]

# ---------------------------------------------------------------- stale attestation
start_coord stale "$T/stale.db" "$T/short.json" --maint-s 1
"$CO" tenant add t --db "$T/stale.db" >"$T/t.key" 2>/dev/null
"$CO" island add d --db "$T/stale.db" >"$T/d.tok" 2>/dev/null
"$CO" workload add --db "$T/stale.db" --id echo1 --kind echo >/dev/null
"$PEER" island "$URL" "$(cat "$T/d.tok")" "$ENC" "$T/root" --jobs 0 --ready "$T/d.ready" \
	--timeout 30 >"$T/d.out" 2>"$T/d.err"
check "island d attested (max_age_s 3)" [ -s "$T/d.ready" ]
check "fresh: targets 200" [ "$(req GET '/api/v1/confidential/targets?workload_id=echo1' "$(cat "$T/t.key")")" = 200 ]
check "fresh: island d is a target" grep -q "$(cat "$T/d.ready")" "$T/body"
# sealed to island d while fresh, submitted once it is stale: 409
"$PEER" client "$URL" "$(cat "$T/t.key")" echo1 "$T/short.json" "$T/input.txt" "$T/unused" \
	--delay-submit 5 --expect-status 409 --timeout 20 >"$T/t.out" 2>"$T/t.err"
check "stale recipient: submit refused 409" [ $? = 0 ]
check "  naming the workload" grep -q "no_attested_recipient.*echo1\|echo1.*no_attested_recipient" "$T/t.out"
check "stale: targets 200" [ "$(req GET '/api/v1/confidential/targets?workload_id=echo1' "$(cat "$T/t.key")")" = 200 ]
check "stale: no target" grep -q '"targets":\[\]' "$T/body"
check "stale: no work (403)" [ "$(req GET '/api/v1/islands/lease?wait=1' "$(cat "$T/d.tok")")" = 403 ]
check "stale: code attestation_required" grep -q attestation_required "$T/body"
check "stale: stats 200" [ "$(req GET /api/v1/confidential/stats "$(cat "$T/t.key")")" = 200 ]
check "stale: stats count no host" grep -q '"attested_hosts":0' "$T/body"
kill -TERM "$CPID"; wait "$CPID"; check "second coordinator stopped cleanly" [ $? = 0 ]

# ---------------------------------------------------------------- HTTPS
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1; then
	start_coord tls "$T/tls.db" "$T/policy.json" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
	URL=${URL/http:/https:}
	check "HTTPS /healthz with the pinned certificate" [ "$(req GET /healthz '' --cacert "$T/tls.crt")" = 200 ]
	check "HTTPS refuses an unverified peer" [ "$(req GET /healthz '')" = 000 ]
	kill -TERM "$CPID"; wait "$CPID"; check "HTTPS coordinator stopped cleanly" [ $? = 0 ]

	# ------------------------------------------------------------ mTLS
	# a client CA with one island certificate, and a certificate of another CA
	EC="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	if openssl req -x509 $EC -days 1 -subj /CN=atoll-test-client-ca -keyout "$T/ca.key" \
		-out "$T/ca.crt" >/dev/null 2>&1 &&
		openssl req $EC -subj /CN=island-m -keyout "$T/m.key" -out "$T/m.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$T/m.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
			-days 1 -out "$T/m.crt" >/dev/null 2>&1 &&
		openssl req -x509 $EC -days 1 -subj /CN=rogue -keyout "$T/rogue.key" \
			-out "$T/rogue.crt" >/dev/null 2>&1; then
		"$CO" island add m --db "$T/mtls.db" >"$T/m.tok" 2>/dev/null
		start_coord mtls "$T/mtls.db" "$T/policy.json" --tls-cert "$T/tls.crt" \
			--tls-key "$T/tls.key" --tls-client-ca "$T/ca.crt"
		URL=${URL/http:/https:}
		check "mTLS: no client certificate, no answer" \
			[ "$(req GET /healthz '' --cacert "$T/tls.crt")" != 200 ]
		check "mTLS: a certificate of another CA, no answer" \
			[ "$(req GET /healthz '' --cacert "$T/tls.crt" --cert "$T/rogue.crt" --key "$T/rogue.key")" != 200 ]
		check "mTLS: the client CA's certificate: 200" \
			[ "$(req GET /healthz '' --cacert "$T/tls.crt" --cert "$T/m.crt" --key "$T/m.key")" = 200 ]
		if [ -x "$BIN/atoll-island" ]; then
			ATOLL_LOG=info "$BIN/atoll-island" --coordinator "$URL" --token "$(cat "$T/m.tok")" \
				--tee sim --sim-root "$T/root" --enclave "$ENC" --cache "$T/m.cache" \
				--lease-wait 2 --tls-ca "$T/tls.crt" --tls-cert "$T/m.crt" --tls-key "$T/m.key" \
				>"$T/m.out" 2>"$T/m.log" &
			MPID=$!
			PIDS+=("$MPID")
			i=0
			while ! grep -q 'attested: enclave key' "$T/m.log" 2>/dev/null && [ $i -lt 300 ]; do
				sleep 0.1; i=$((i + 1))
			done
			check "mTLS: atoll-island attests with its client certificate" \
				grep -q 'attested: enclave key' "$T/m.log"
			kill -TERM "$MPID"; wait "$MPID"; check "  and stops cleanly" [ $? = 0 ]
		else
			echo "skip: mTLS island ($BIN/atoll-island not built)"
		fi
		kill -TERM "$CPID"; wait "$CPID"; check "mTLS coordinator stopped cleanly" [ $? = 0 ]
		"$CO" serve --listen 127.0.0.1:0 --db "$T/mtls.db" --tls-client-ca "$T/ca.crt" \
			>/dev/null 2>&1
		check "--tls-client-ca without --tls-cert (exit 2)" [ $? = 2 ]
	else
		echo "skip: mTLS (openssl cannot make test certificates)"
	fi
else
	echo "skip: HTTPS (openssl cannot make a test certificate)"
fi
"$CO" serve --listen 127.0.0.1:0 --db "$T/tls.db" --tls-cert "$T/tls.crt" >/dev/null 2>&1
check "--tls-cert without --tls-key (exit 2)" [ $? = 2 ]

# ---------------------------------------------------------------- canary (DESIGN §6)
check "canary reached the client (positive control)" grep -q "$CANARY" "$T/output.txt"
LEAKS=$(grep -l -a -F "$CANARY" "$T"/coord.db* "$T"/stale.db* "$T"/coord.log "$T"/coord.out \
	"$T"/stale.log "$T"/stale.out "$T"/tls.log "$T"/r1.log "$T"/r2.log "$PEER_RESPONSES" "$T"/body "$T"/poll.body 2>/dev/null)
check "canary in no coordinator database file, log or response" [ -z "$LEAKS" ]
[ -z "$LEAKS" ] || echo "  found in: $LEAKS"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS failure(s)"
	for f in coord.log a.err b.err c.err client1.err client2.err; do
		echo "--- $f"; tail -15 "$T/$f" 2>/dev/null
	done
	exit 1
fi
echo "all coordinator API checks passed"
