#!/usr/bin/env bash
# Encrypted models through the whole platform with real processes on loopback
# (issue 9): atoll-kbs serve (the key broker), atoll-coordinator, atoll-island
# with its sandboxed atoll-enclave child, and the atoll client.
# Checks: classifier jobs on an encrypted model (.atm) succeed and give the
# same predictions as the plaintext model; the key is fetched once per enclave
# instance and again after the enclave restarts (new key pair); a model whose
# broker policy pins another enclave build -> the release is refused and the
# job comes back failed (model_key_refused), not hanging; a tampered .atm
# served by the coordinator -> the enclave refuses it (no plaintext); a model
# handed over for one workload is not used by another; the broker's audit log
# verifies and records releases and refusals; canary: the plaintext model
# bytes never appear in the island's cache, the coordinator's database or any
# log, and no cached file is the plaintext model.
# Usage: kbs_platform.sh BIN_DIR SETUP_HELPER. Bounded (timeouts on every
# command and wait); every process started is killed and the temp dir removed.
set -u
BIN=${1:?usage: kbs_platform.sh BIN_DIR SETUP_HELPER}
SETUP=${2:?usage: kbs_platform.sh BIN_DIR SETUP_HELPER}
ATOLL=$BIN/atoll
CO=$BIN/atoll-coordinator
ISL=$BIN/atoll-island
ENC=$BIN/atoll-enclave
KBS=$BIN/atoll-kbs
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_kbsplat.XXXXXX")
. "$(dirname "$0")/platform_lib.sh"
for p in "$ATOLL" "$CO" "$ISL" "$ENC" "$KBS" "$SETUP"; do
	[ -x "$p" ] || { echo "FAIL: $p is missing"; exit 1; }
done

export ATOLL_KEYS=$T/keys
export ATOLL_LOG=info
unset ATOLL_COORDINATOR ATOLL_API_KEY

# ---------------------------------------------------------------- setup
run "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENC" --max-age 60 \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }
cp "$ENC" "$T/other-enclave"; printf 'x' >>"$T/other-enclave"
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$T/other-enclave" \
	>"$T/other-policy.json" 2>/dev/null || { echo "FAIL: other policy"; exit 1; }
run "$ATOLL" train classifier --csv "$SRC/data/breast_cancer.csv" --out "$T/model.json" \
	>/dev/null 2>&1 || { echo "FAIL: train classifier"; exit 1; }
# the canary: a run of the plaintext weights from the middle of the model
CANARY=$(head -c 400 "$T/model.json" | tail -c 48)
PT_SHA=$(sha256sum "$T/model.json" | cut -c1-64)
[ ${#CANARY} = 48 ] || { echo "FAIL: canary"; exit 1; }

mkdir -p "$T/models"
# the broker releases bc.atm's key for the workloads bc and tam only (tampered.atm
# has the same model id), bad.atm's for badm only
MID=$(run "$SETUP" model "$T/kbs" acme "$T/model.json" "$T/models/bc.atm" "$T/policy.json" \
	bc tam 2>"$T/setup.err") || { echo "FAIL: broker setup"; cat "$T/setup.err"; exit 1; }
MID_BAD=$(run "$SETUP" model "$T/kbs" acme "$T/model.json" "$T/models/bad.atm" \
	"$T/other-policy.json" badm 2>"$T/setup.err") || { echo "FAIL: broker setup 2"; exit 1; }
check "model ids are 32 hex digits" bash -c "[[ '$MID' =~ ^[0-9a-f]{32}$ && '$MID_BAD' =~ ^[0-9a-f]{32}$ ]]"
check "the .atm holds no plaintext" bash -c "! grep -qaF '$CANARY' '$T/models/bc.atm'"
# a copy of bc.atm with one ciphertext byte flipped (same header, same model id)
python3 - "$T/models/bc.atm" "$T/models/tampered.atm" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[196 + 100] ^= 1
open(sys.argv[2], 'wb').write(b)
EOF

"$KBS" serve --dir "$T/kbs" --listen 127.0.0.1:0 >"$T/kbs.out" 2>"$T/kbs.log" &
KBSPID=$!
PIDS+=($KBSPID)
wait_grep 'listening on ' "$T/kbs.out" 20 || { echo "FAIL: atoll-kbs did not start";
	cat "$T/kbs.log"; exit 1; }
KURL="http://127.0.0.1:$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$T/kbs.out" | head -1)"

DB=$T/coord.db
run "$CO" tenant add alice --db "$DB" >"$T/alice.key" 2>/dev/null || bad "tenant add"
run "$CO" island add isl-1 --db "$DB" >"$T/isl.tok" 2>/dev/null || bad "island add"
expect 0 "workload add with an encrypted model" "$CO" workload add --db "$DB" --id bc \
	--kind classifier --model "$T/models/bc.atm" --kbs "$KURL" --kbs-tenant acme --tee sim
check "  names the model id" grep -q "encrypted model $MID" "$T/out"
expect 0 "workload add: same model for a second workload" "$CO" workload add --db "$DB" --id bc2 \
	--kind classifier --model "$T/models/bc.atm" --kbs "$KURL" --kbs-tenant acme --tee sim
expect 0 "workload add: a model whose policy pins another build" "$CO" workload add --db "$DB" \
	--id badm --kind classifier --model "$T/models/bad.atm" --kbs "$KURL" --kbs-tenant acme
expect 0 "workload add: a tampered .atm" "$CO" workload add --db "$DB" --id tam \
	--kind classifier --model "$T/models/tampered.atm" --kbs "$KURL" --kbs-tenant acme
expect 0 "workload add: the plaintext model (for comparison)" "$CO" workload add --db "$DB" \
	--id plain --kind classifier --model "$T/model.json"
expect 2 "workload add: --kbs without --kbs-tenant" "$CO" workload add --db "$DB" --id x \
	--kind classifier --model "$T/models/bc.atm" --kbs "$KURL"
expect 1 "workload add: --kbs with a plaintext model" "$CO" workload add --db "$DB" --id y \
	--kind classifier --model "$T/model.json" --kbs "$KURL" --kbs-tenant acme
check "  says it is not an encrypted model" grep -q "not an encrypted model" "$T/err"
KEY=$(cat "$T/alice.key")
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" --maint-s 1 \
	>"$T/coord.out" 2>"$T/coord.log" &
PIDS+=($!)
wait_grep '^listening on ' "$T/coord.out" 20 || { echo "FAIL: coordinator did not start";
	cat "$T/coord.log"; exit 1; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/coord.out")"

"$ISL" --coordinator "$URL" --token "$(cat "$T/isl.tok")" --tee sim --sim-root "$T/root" \
	--cache "$T/cache" --lease-wait 2 >"$T/island.out" 2>"$T/island.log" &
ISLAND=$!
PIDS+=($ISLAND)
wait_grep 'attested: enclave key' "$T/island.log" 30 || { bad "island attested"; sed 's/^/  /' "$T/island.log"; }

export ATOLL_COORDINATOR=$URL ATOLL_API_KEY=$KEY
run "$ATOLL" keys create >/dev/null 2>&1 || bad "keys create"
sed -n 2,6p "$SRC/data/breast_cancer.csv" | cut -d, -f1-30 >"$T/rows.csv"

# ---------------------------------------------------------------- refusals first
# (on a fresh enclave: nothing loaded yet)
expect 1 "a tampered .atm: the job fails" "$ATOLL" run --workload tam --input "$T/rows.csv" \
	--policy "$T/policy.json" --timeout 90
check "  as model_key_refused" grep -q "model_key_refused" "$T/err"
check "  the enclave said the model did not decrypt" \
	grep -q "refused: the encrypted model did not decrypt" "$T/island.log"
expect 1 "a model whose policy pins another build: the job fails" "$ATOLL" run --workload badm \
	--input "$T/rows.csv" --policy "$T/policy.json" --timeout 90
check "  as model_key_refused (the broker's 403)" grep -q "model_key_refused" "$T/err"
check "  the island logged the broker's refusal" \
	grep -q "did not release the key (403" "$T/island.log"

# ---------------------------------------------------------------- encrypted classifier
expect 0 "classifier job on the encrypted model" "$ATOLL" run --workload bc --input "$T/rows.csv" \
	--policy "$T/policy.json"
cp "$T/out" "$T/enc.out"
check "  predictions" grep -q '"predictions"' "$T/enc.out"
expect 0 "the same rows on the plaintext model" "$ATOLL" run --workload plain \
	--input "$T/rows.csv" --policy "$T/policy.json"
check "  identical predictions" cmp -s "$T/out" "$T/enc.out"
check "  the key was released once" [ "$(grep -c 'key released by the broker and loaded' "$T/island.log")" = 1 ]
expect 0 "a second job on the encrypted model" "$ATOLL" run --workload bc --input "$T/rows.csv" \
	--policy "$T/policy.json"
check "  reuses the model in the enclave (no second release)" \
	[ "$(grep -c 'key released by the broker and loaded' "$T/island.log")" = 1 ]
expect 1 "another workload naming the same model: refused in the enclave" "$ATOLL" run \
	--workload bc2 --input "$T/rows.csv" --policy "$T/policy.json" --timeout 90
check "  bound to the first workload" grep -q "bound to another workload" "$T/err"
check "  without asking the broker for the key again" \
	[ "$(grep -c 'key released by the broker and loaded' "$T/island.log")" = 1 ]

# ---------------------------------------------------------------- enclave restart
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
# a fresh enclave holds nothing: bc2 (same model, not allowed for it) asks the broker
expect 1 "a workload the model is not allowed for: refused by the broker" "$ATOLL" run \
	--workload bc2 --input "$T/rows.csv" --policy "$T/policy.json" --timeout 90
check "  403: the workload is not allowed for the model" \
	grep -q "model_key_refused.*workload bc2 is not allowed for this model" "$T/err"
expect 0 "an encrypted-model job after the enclave restart" "$ATOLL" run --workload bc \
	--input "$T/rows.csv" --policy "$T/policy.json"
check "  predictions" cmp -s "$T/out" "$T/enc.out"
check "  the key was fetched again for the new enclave key" \
	[ "$(grep -c 'key released by the broker and loaded' "$T/island.log")" = 2 ]

# ---------------------------------------------------------------- canary
check "cache holds only ciphertext (.atm) or the plaintext workload's model" bash -c "
	for f in '$T'/cache/*; do
		if [ \"\$(basename \"\$f\")\" = '$PT_SHA.model' ]; then continue; fi
		[ \"\$(head -c 8 \"\$f\")\" = ATOLLATM ] || exit 1
	done"
# the plaintext workload 'plain' legitimately caches model.json; set it aside
rm -f "$T/cache/$PT_SHA.model"
check "no plaintext model bytes in the island's cache, the coordinator db or any log" \
	bash -c "! grep -rqaF '$CANARY' '$T/cache' $T/coord.db* '$T/coord.log' '$T/coord.out' \
		'$T/island.log' '$T/island.out' '$T/kbs.log' '$T/kbs.out'"
check "no sealed key or data key in the logs" bash -c "! grep -qE '\"enc\"|\"ct\"' '$T/island.log' '$T/kbs.log'"

# ---------------------------------------------------------------- broker down
kill -TERM "$KBSPID"
i=0
while kill -0 "$KBSPID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "atoll-kbs stops on SIGTERM" bash -c "! kill -0 $KBSPID 2>/dev/null"
# the owner allows one more workload for the model (the state is free now)
expect 0 "atoll kbs model allow" "$ATOLL" kbs model allow --dir "$T/kbs" --model "$MID" \
	--workload bc2
expect 0 "atoll kbs status" "$ATOLL" kbs status --dir "$T/kbs"
check "  lists bc, tam and bc2 for the model" \
	python3 -c "import json,sys; w=json.load(open(sys.argv[1]))['models'][sys.argv[2]]['workloads']; sys.exit(0 if w==['bc','tam','bc2'] else 1)" "$T/out" "$MID"
expect 2 "model allow without --workload" "$ATOLL" kbs model allow --dir "$T/kbs" --model "$MID"
expect 1 "model allow for an unknown model" "$ATOLL" kbs model allow --dir "$T/kbs" \
	--model 00000000000000000000000000000000 --workload bc2
expect 2 "--workload on another command" "$ATOLL" kbs status --dir "$T/kbs" --workload bc2
expect 0 "atoll kbs model add --workload" "$ATOLL" kbs model add --dir "$T/kbs" --tenant acme \
	--in "$T/model.json" --out "$T/models/cli.atm" --policy "$T/policy.json" --workload w9
check "  prints the model id" grep -qE '^[0-9a-f]{32}$' "$T/out"
# a new enclave instance needs the key again, and the broker is gone
N=$(grep -c 'enclave restarted' "$T/island.log")
EPID=$(pgrep -P "$ISLAND" -x atoll-enclave | head -1)
kill -KILL "$EPID" 2>/dev/null
i=0
while [ "$(grep -c 'enclave restarted' "$T/island.log")" = "$N" ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1)); done
wait_grep 'attested: enclave key' "$T/island.log" 30
expect 1 "broker unreachable: the encrypted-model job fails, no hang" "$ATOLL" run --workload bc \
	--input "$T/rows.csv" --policy "$T/policy.json" --timeout 90
check "  as model_key_refused: the key broker is unavailable" \
	grep -q "model_key_refused.*key broker is unavailable" "$T/err"
expect 0 "the plaintext workload still works" "$ATOLL" run --workload plain \
	--input "$T/rows.csv" --policy "$T/policy.json"

# ---------------------------------------------------------------- audit
kill -TERM "$ISLAND"; wait "$ISLAND" 2>/dev/null
expect 0 "the broker's audit log verifies" "$SETUP" audit "$T/kbs"
cat "$T/out"
check "  records releases and refusals" \
	bash -c "grep -qE ' [1-9][0-9]* releases, [1-9][0-9]* refusals' '$T/out'"
check "  no plaintext in it" bash -c "! grep -qaF '$CANARY' '$T/kbs/audit.log'"

check "no sanitizer reports in the logs" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/island.log' '$T/kbs.log' '$T/coord.log'"

if [ "$FAILS" != 0 ]; then
	echo "--- island log"; tail -40 "$T/island.log"
	echo "--- kbs log"; tail -20 "$T/kbs.log"
	echo "--- coordinator log"; tail -20 "$T/coord.log"
	echo "$FAILS check(s) failed"; exit 1
fi
echo "all encrypted-model platform checks passed"
