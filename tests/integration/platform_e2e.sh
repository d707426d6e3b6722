#!/usr/bin/env bash
# The whole confidential platform through real processes on loopback (issue
# 4): atoll-coordinator, atoll-island with its sandboxed atoll-enclave child,
# and the atoll client commands (keys, targets, run, submit/result, stats).
# Checks: an echo job and a classifier job (trained here on the UCI data, the
# model fetched and cached by the island); the enclave killed -> the island
# restarts it and re-attests (a new key) and the next job still works; a
# wrong API key; a policy refusing the build (exit 1, nothing submitted);
# SIGTERM stops the island cleanly.
# Usage: platform_e2e.sh BIN_DIR. Bounded (timeouts on every command and
# wait); every process started is killed and the temp dir removed on exit.
set -u
BIN=${1:?usage: platform_e2e.sh BIN_DIR}
ATOLL=$BIN/atoll
CO=$BIN/atoll-coordinator
ISL=$BIN/atoll-island
ENC=$BIN/atoll-enclave
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_platform.XXXXXX")
PIDS=()
FAILS=0
SECRET="patient 4711: HbA1c 6.1%, canary-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"

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
run() { timeout 90 "$@"; }
# expect CODE WHAT CMD...: exit status CODE; stdout in $T/out, stderr in $T/err
expect() {
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

export ATOLL_KEYS=$T/keys
export ATOLL_LOG=info
unset ATOLL_COORDINATOR ATOLL_API_KEY

# ---------------------------------------------------------------- setup
run "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENC" --max-age 20 \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }
# a policy that pins another build: refuses this enclave
cp "$ENC" "$T/other-enclave"; printf 'x' >>"$T/other-enclave"
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$T/other-enclave" \
	>"$T/other-policy.json" 2>/dev/null || { echo "FAIL: other policy"; exit 1; }
run "$ATOLL" train classifier --csv "$SRC/data/breast_cancer.csv" --out "$T/model.json" \
	>/dev/null 2>&1 || { echo "FAIL: train classifier"; exit 1; }

DB=$T/coord.db
run "$CO" tenant add alice --db "$DB" >"$T/alice.key" 2>/dev/null || bad "tenant add"
run "$CO" island add isl-1 --db "$DB" >"$T/isl.tok" 2>/dev/null || bad "island add"
run "$CO" workload add --db "$DB" --id echo1 --kind echo --tee sim >/dev/null 2>&1 ||
	bad "workload add echo"
run "$CO" workload add --db "$DB" --id bc --kind classifier --model "$T/model.json" --tee sim \
	>/dev/null 2>&1 || bad "workload add classifier"
KEY=$(cat "$T/alice.key")
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" --maint-s 1 \
	>"$T/coord.out" 2>"$T/coord.log" &
PIDS+=($!)
wait_grep '^listening on ' "$T/coord.out" 20 || { echo "FAIL: coordinator did not start";
	cat "$T/coord.log"; exit 1; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/coord.out")"

# ---------------------------------------------------------------- island usage
expect 0 "atoll-island --help" "$ISL" --help
expect 2 "atoll-island without --token" "$ISL" --coordinator "$URL" --tee sim --sim-root "$T/root"
expect 2 "atoll-island with a missing enclave" "$ISL" --coordinator "$URL" --token x --tee sim \
	--sim-root "$T/root" --enclave "$T/nope"
expect 1 "atoll-island with a wrong token" "$ISL" --coordinator "$URL" --token "it_$(printf '%064d' 0)" \
	--tee sim --sim-root "$T/root" --cache "$T/cache-x" --lease-wait 1
check "  says the token was refused" grep -q "refused the island token" "$T/err"

"$ISL" --coordinator "$URL" --token "$(cat "$T/isl.tok")" --tee sim --sim-root "$T/root" \
	--cache "$T/cache" --lease-wait 2 --reattest 30 >"$T/island.out" 2>"$T/island.log" &
ISLAND=$!
PIDS+=($ISLAND)
wait_grep 'attested: enclave key' "$T/island.log" 30 || { bad "island attested"; sed 's/^/  /' "$T/island.log"; }
check "island log has no token" bash -c "! grep -qF '$(cat "$T/isl.tok")' '$T/island.log'"

# ---------------------------------------------------------------- client
expect 0 "atoll keys create" "$ATOLL" keys create
check "  prints a ck_ id" grep -qE '^ck_[0-9a-f]{32}$' "$T/out"
check "  key file mode 0600" [ "$(stat -c %a "$T"/keys/keys/ck_*.json)" = 600 ]
check "  key store mode 0700" [ "$(stat -c %a "$T/keys")" = 700 ]
expect 0 "atoll keys list" "$ATOLL" keys list
check "  no private key printed" bash -c "! grep -q private '$T/out'"
expect 0 "atoll targets" "$ATOLL" targets --workload echo1 --policy "$T/policy.json" \
	--coordinator "$URL" --api-key "$KEY"
check "  the island passes" grep -q '^PASS .*isl-1' "$T/out"
expect 1 "atoll targets with a policy pinning another build" "$ATOLL" targets --workload echo1 \
	--policy "$T/other-policy.json" --coordinator "$URL" --api-key "$KEY"
check "  says why (measurement)" grep -q 'REFUSED.*measurement' "$T/out"

export ATOLL_COORDINATOR=$URL ATOLL_API_KEY=$KEY
expect 0 "atoll run: echo job" "$ATOLL" run --workload echo1 --text "$SECRET" --policy "$T/policy.json"
check "  result is the input" [ "$(cat "$T/out")" = "$SECRET" ]
check "  API key not echoed" bash -c "! grep -qF '$KEY' '$T/err'"
sed -n 2,4p "$SRC/data/breast_cancer.csv" | cut -d, -f1-30 >"$T/rows.csv"
expect 0 "atoll run: classifier job (model fetched and cached by the island)" \
	"$ATOLL" run --workload bc --input "$T/rows.csv" --policy "$T/policy.json"
check "  predictions" grep -q '"predictions"' "$T/out"
check "  model cached under its SHA-256" [ -f "$T/cache/$(sha256sum "$T/model.json" | cut -c1-64).model" ]
expect 0 "a second classifier job" "$ATOLL" run --workload bc --input "$T/rows.csv" \
	--policy "$T/policy.json"
check "  uses the cached model (one download)" [ "$(grep -c 'model of workload bc cached' "$T/island.log")" = 1 ]

# the default policy file of the key store
cp "$T/policy.json" "$T/keys/policy.json"
expect 0 "atoll submit (default policy file)" "$ATOLL" submit --workload echo1 --text "$SECRET"
JOB=$(cat "$T/out")
check "  prints a job id" grep -qE '^job_[0-9a-f]{32}$' "$T/out"
check "  job record kept 0600" [ "$(stat -c %a "$T/keys/jobs/$JOB.json" 2>/dev/null)" = 600 ]
check "  record holds no plaintext" bash -c "! grep -qF 'HbA1c' '$T/keys/jobs/$JOB.json'"
expect 0 "atoll result --wait" "$ATOLL" result "$JOB" --wait --timeout 60
check "  result is the input" [ "$(cat "$T/out")" = "$SECRET" ]
expect 0 "atoll result again (reopened from the record)" "$ATOLL" result "$JOB"
expect 2 "atoll result with a malformed id" "$ATOLL" result nope
# the same sealed envelope again (from the job record): refused by the
# coordinator, not queued for the enclave's replay check to fail
jq -c '{workload_id: .workload_id, confidential: true, encryption_key_id: .key_id,
	input: {encrypted: true, key_id: .key_id, ciphertext: .envelope}}' \
	"$T/keys/jobs/$JOB.json" >"$T/dup.json" 2>/dev/null
check "the same envelope submitted again: 409" [ "$(curl -s -o "$T/dup.out" -w '%{http_code}' \
	--max-time 20 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	--data-binary @"$T/dup.json" "$URL/api/v1/jobs")" = 409 ]
check "  code duplicate_envelope" grep -q '"code":"duplicate_envelope"' "$T/dup.out"
expect 0 "atoll stats --usage" "$ATOLL" stats --usage
check "  counts the sim host" grep -q '"sim": 1' "$T/out"
check "  and the tenant's jobs" grep -q '"jobs_done": 4' "$T/out"

# ---------------------------------------------------------------- refusals
expect 1 "wrong API key" "$ATOLL" run --workload echo1 --text "$SECRET" --policy "$T/policy.json" \
	--api-key "ak_$(printf '%064d' 0)"
check "  says 401" grep -q '401' "$T/err"
check "  no plaintext on stdout" [ ! -s "$T/out" ]
BEFORE=$(curl -s --max-time 10 -H "Authorization: Bearer $KEY" "$URL/api/v1/usage")
expect 1 "policy refusing the build" "$ATOLL" run --workload echo1 --text "$SECRET" \
	--policy "$T/other-policy.json"
check "  says nothing was submitted" grep -q 'nothing was submitted' "$T/err"
AFTER=$(curl -s --max-time 10 -H "Authorization: Bearer $KEY" "$URL/api/v1/usage")
check "  and submitted nothing" [ "$BEFORE" = "$AFTER" ]
expect 2 "no policy at all" env ATOLL_KEYS="$T/empty" "$ATOLL" run --workload echo1 --text x
expect 2 "run without a coordinator" env -u ATOLL_COORDINATOR "$ATOLL" run --workload echo1 --text x
# the job input shape of issue 4: {"encrypted":true,"key_id":"ck_…","ciphertext":{envelope}}
CK=$(ls "$T/keys/keys" | sed -n 's/\.json$//p' | head -1)
post_job() { curl -s --max-time 10 -o "$T/pbody" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
	-d "{\"workload_id\":\"echo1\",\"confidential\":true,\"encryption_key_id\":\"$CK\",\"input\":$1}" \
	"$URL/api/v1/jobs"; }
check "input with encrypted:false -> 400" [ "$(post_job '{"encrypted":false,"key_id":"'"$CK"'","ciphertext":{}}')" = 400 ]
check "input whose key_id is not the encryption_key_id -> 400" \
	[ "$(post_job '{"encrypted":true,"key_id":"ck_00000000000000000000000000000000","ciphertext":{}}')" = 400 ]
check "input with an unknown field -> 400" \
	[ "$(post_job '{"encrypted":true,"key_id":"'"$CK"'","ciphertext":{},"x":1}')" = 400 ]

# ---------------------------------------------------------------- atoll proxy
if command -v jq >/dev/null; then
	"$ATOLL" proxy --listen 127.0.0.1:0 >"$T/proxy.out" 2>"$T/proxy.log" &
	PROXY=$!
	PIDS+=($PROXY)
	if wait_grep '^listening on ' "$T/proxy.out" 20; then
		P="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/proxy.out")"
		pc() { curl -s --max-time 30 -o "$T/pbody" -w '%{http_code}' "$@"; }
		check "proxy: create a key (201)" [ "$(pc -X POST "$P/api/v1/confidential/keys")" = 201 ]
		PK=$(jq -r .key_id "$T/pbody")
		check "  key id and public key" grep -q '"public_key"' "$T/pbody"
		check "  no private key in the answer" bash -c "! grep -q private '$T/pbody'"
		jq -n --arg d "$(printf '%s' "$SECRET" | base64 -w0)" --arg k "$PK" \
			'{workload_id:"echo1",data:$d,key_id:$k}' >"$T/enc.json"
		check "proxy: encrypt (200)" [ "$(pc -X POST --data-binary @"$T/enc.json" "$P/api/v1/confidential/encrypt")" = 200 ]
		jq --arg k "$PK" '{workload_id:"echo1",confidential:true,encryption_key_id:$k,input:.envelope}' \
			"$T/pbody" >"$T/job.json"
		check "  envelope has no plaintext" bash -c "! grep -qF 'HbA1c' '$T/job.json'"
		check "proxy: submit forwarded (201)" [ "$(pc -X POST --data-binary @"$T/job.json" "$P/api/v1/jobs")" = 201 ]
		PJOB=$(jq -r .job_id "$T/pbody")
		i=0
		while [ $i -lt 100 ]; do
			pc "$P/api/v1/jobs/$PJOB" >/dev/null
			grep -q '"status":"done"\|"status": "done"' "$T/pbody" && break
			sleep 0.2; i=$((i + 1))
		done
		check "proxy: job done (forwarded status)" grep -q '"result"' "$T/pbody"
		jq --arg j "$PJOB" '{job_id:$j,result:.result}' "$T/pbody" >"$T/dec.json"
		check "proxy: decrypt (200)" [ "$(pc -X POST --data-binary @"$T/dec.json" "$P/api/v1/confidential/decrypt")" = 200 ]
		check "  plaintext back" [ "$(jq -r .data "$T/pbody" | base64 -d)" = "$SECRET" ]
		jq -n '{workload_id:"nope",data:"eA=="}' >"$T/enc2.json"
		check "proxy: encrypt for an unknown workload (404)" [ "$(pc -X POST --data-binary @"$T/enc2.json" "$P/api/v1/confidential/encrypt")" = 404 ]
		jq --arg j "job_$(printf '%032d' 0)" '.job_id=$j' "$T/dec.json" >"$T/dec2.json"
		check "proxy: decrypt of an unknown job (404)" [ "$(pc -X POST --data-binary @"$T/dec2.json" "$P/api/v1/confidential/decrypt")" = 404 ]
		check "proxy: stats forwarded" [ "$(pc "$P/api/v1/confidential/stats")" = 200 ]
		kill -TERM "$PROXY"; wait "$PROXY"; check "proxy stops on SIGTERM (exit 0)" [ $? = 0 ]
	else
		bad "proxy started"; sed 's/^/  /' "$T/proxy.log"
	fi
else
	echo "skip: atoll proxy checks (no jq)"
fi

# ---------------------------------------------------------------- enclave crash
OLDKEY=$(grep -o 'attested: enclave key ek_[0-9a-f]*' "$T/island.log" | tail -1 | awk '{print $4}')
EPID=$(pgrep -P "$ISLAND" -x atoll-enclave | head -1)
check "the island runs an enclave child" [ -n "$EPID" ]
kill -KILL "$EPID" 2>/dev/null
wait_grep 'enclave restarted' "$T/island.log" 30 || bad "island restarted the enclave"
i=0
while [ $i -lt 300 ]; do
	NEWKEY=$(grep -o 'attested: enclave key ek_[0-9a-f]*' "$T/island.log" | tail -1 | awk '{print $4}')
	[ -n "$NEWKEY" ] && [ "$NEWKEY" != "$OLDKEY" ] && break
	sleep 0.1; i=$((i + 1))
done
check "re-attested with a new enclave key" [ -n "$NEWKEY" -a "$NEWKEY" != "$OLDKEY" ]
expect 0 "atoll targets after the restart" "$ATOLL" targets --workload echo1
check "  old key no longer offered" bash -c "! grep -q '$OLDKEY' '$T/out'"
expect 0 "the next job works" "$ATOLL" run --workload echo1 --text "$SECRET"
check "  result is the input" [ "$(cat "$T/out")" = "$SECRET" ]

# policy max_age_s 20: the island re-attests the same key every 10 s on its own
i=0
while [ "$(grep -c "attested: enclave key $NEWKEY" "$T/island.log")" -lt 2 ] && [ $i -lt 250 ]; do
	sleep 0.1; i=$((i + 1))
done
check "periodic re-attestation before the evidence ages out" \
	[ "$(grep -c "attested: enclave key $NEWKEY" "$T/island.log")" -ge 2 ]

# ---------------------------------------------------------------- plaintext canary
check "no plaintext in the coordinator's files and logs" \
	bash -c "! grep -rqaF 'HbA1c' '$T/coord.log' '$T/coord.out' '$T/island.log' '$T/island.out' $T/coord.db*"

# ---------------------------------------------------------------- clean stop
EPID2=$(pgrep -P "$ISLAND" -x atoll-enclave | head -1)
kill -TERM "$ISLAND"
i=0
while kill -0 "$ISLAND" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
check "island stops on SIGTERM" bash -c "! kill -0 $ISLAND 2>/dev/null"
wait "$ISLAND"; check "  with exit 0" [ $? = 0 ]
check "  and its enclave is gone" bash -c "[ -n '$EPID2' ] && ! kill -0 '$EPID2' 2>/dev/null"

if [ "$FAILS" != 0 ]; then
	echo "--- island log"; tail -30 "$T/island.log"
	echo "--- coordinator log"; tail -20 "$T/coord.log"
	echo "$FAILS check(s) failed"; exit 1
fi
echo "all platform checks passed"
