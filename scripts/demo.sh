#!/usr/bin/env bash
# make demo: the Foundation's end-to-end path on this machine, step by step.
#   1. a simulation root (the sim TEE's stand-in for a hardware vendor's key)
#   2. one-shot attestation of the enclave build: evidence bound to a nonce
#   3. a policy that accepts exactly that build, and verification against it
#   4. one confidential job: the enclave is started sandboxed, challenged,
#      verified; the input is sealed to its attested key; the enclave opens it
#      over its socketpair and returns a sealed result that only we can open
#   5. the same job against a changed enclave binary: refused
#   6. the platform on the embedded defaults (SQLite, sim TEE, local processes
#      on loopback): atoll-coordinator, two atoll-island processes with their
#      sandboxed enclaves, and the client: a classifier trained on the UCI
#      breast-cancer data predicts the held-out rows confidentially; accuracy,
#      stats, and proof that the operator side holds no plaintext
#   7. an encrypted model (.atm): atoll-kbs (the key broker) releases its data
#      key only to an enclave whose evidence matches the model's policy; the
#      islands relay, the enclave decrypts into locked memory; the same
#      predictions; the plaintext weights appear nowhere on the operator side;
#      the broker's audit log verifies; then a tiny LLM (GGUF) encrypted the
#      same way generates text in the enclave (the `llm` workload), equal to
#      `atoll infer` on the plaintext model
# Usage: scripts/demo.sh BUILD_DIR   (TEE=sim; TEE=tpm runs scripts/demo_tpm.sh on swtpm)
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bin
TEE=${TEE:-sim}
if [ "$TEE" = tpm ]; then
	# the demo on swtpm instances it starts and stops (issue 5)
	exec bash "$(dirname "$0")/demo_tpm.sh" "$BUILD"
fi
if [ "$TEE" != sim ]; then
	echo "demo: TEE=$TEE is not available in this demo (use TEE=sim or TEE=tpm)" >&2
	exit 2
fi
for p in atoll atoll-enclave atoll-coordinator atoll-island; do
	[ -x "$BIN/$p" ] || { echo "demo: $BIN/$p missing: run 'make build' first" >&2; exit 2; }
done
ATOLL=$(cd "$BIN" && pwd)/atoll
ENCLAVE=$(cd "$BIN" && pwd)/atoll-enclave
COORD=$(cd "$BIN" && pwd)/atoll-coordinator
ISLAND=$(cd "$BIN" && pwd)/atoll-island
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/atoll-demo.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
# wait_for PATTERN FILE SECONDS
wait_for() {
	local i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ "$i" -lt $(($3 * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}
export ATOLL_LOG=${ATOLL_LOG:-warn}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Simulation root (development only: NO hardware protection)"
"$ATOLL" sim init --dir "$W/simroot"

say "2. Attest the enclave build once, bound to a fresh nonce"
NONCE=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$ENCLAVE" --tee sim --sim-root "$W/simroot" --attest --nonce "$NONCE" >"$W/evidence.json" 2>/dev/null
echo "nonce    $NONCE"
echo "evidence $(wc -c <"$W/evidence.json") bytes: $(head -c 110 "$W/evidence.json")..."

say "3. A policy that accepts exactly this build, and verification"
"$ATOLL" policy init --sim-root "$W/simroot/sim-root.pub.pem" --enclave "$ENCLAVE" >"$W/policy.json" 2>/dev/null
echo "policy: $(tr -d '\n ' <"$W/policy.json" | head -c 160)..."
"$ATOLL" verify --evidence "$W/evidence.json" --policy "$W/policy.json" --nonce "$NONCE" \
	>"$W/result.json" 2>/dev/null
python3 - "$W/result.json" <<'PY' 2>/dev/null || grep '"status"' "$W/result.json"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"status: {r['status']}")
for c in r.get("checks", []):
    print(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']:<12} {c.get('detail', '')}")
PY

say "4. One confidential job in a sandboxed enclave"
MSG="patient 4711: HbA1c 6.1%, blood pressure 128/82"
echo "input (sealed before it leaves this process): $MSG"
OUT=$("$ATOLL" local --enclave "$ENCLAVE" --tee sim --sim-root "$W/simroot" \
	--policy "$W/policy.json" --text "$MSG")
echo "opened result: $OUT"
[ "$OUT" = "$MSG" ] || { echo "demo: the result differs from the input" >&2; exit 1; }

say "5. The same job against a changed enclave binary"
cp "$ENCLAVE" "$W/atoll-enclave-changed"
printf 'tampered' >>"$W/atoll-enclave-changed"
if "$ATOLL" local --enclave "$W/atoll-enclave-changed" --tee sim --sim-root "$W/simroot" \
	--policy "$W/policy.json" --text "$MSG" >"$W/out-changed" 2>"$W/err-changed"; then
	echo "demo: a changed enclave was accepted" >&2
	exit 1
fi
grep -F "REFUSED" "$W/err-changed" || true
[ ! -s "$W/out-changed" ] || { echo "demo: output from a refused run" >&2; exit 1; }

say "6. The platform: coordinator (SQLite), two islands with sandboxed enclaves, client"
# A fixed split of the UCI data: every 5th row held out (114 rows), the rest trains.
awk -F, 'NR == 1 { next } (NR - 2) % 5 == 0 { print > "'"$W"'/test.csv"; next } { print > "'"$W"'/train.body" }' \
	"$SRC/data/breast_cancer.csv"
{ echo "$(wc -l <"$W/train.body"),30,malignant,benign"; cat "$W/train.body"; } >"$W/train.csv"
cut -d, -f1-30 "$W/test.csv" >"$W/test-features.csv"
"$ATOLL" train classifier --csv "$W/train.csv" --out "$W/model.json" --test-frac 0 2>&1 |
	grep -E "trained|model:|sha256" | sed 's/^/  /'
DB=$W/coordinator.db
"$COORD" tenant add demo-clinic --db "$DB" >"$W/api.key" 2>/dev/null
"$COORD" island add island-1 --db "$DB" >"$W/island-1.token" 2>/dev/null
"$COORD" island add island-2 --db "$DB" >"$W/island-2.token" 2>/dev/null
"$COORD" workload add --db "$DB" --id breast-cancer --kind classifier --model "$W/model.json" \
	--tee sim >/dev/null 2>&1
echo "tenant demo-clinic, islands island-1 and island-2, workload breast-cancer registered"
echo "(API key and island tokens are shown once and stored only as hashes)"
"$COORD" serve --listen 127.0.0.1:0 --db "$DB" --policy "$W/policy.json" \
	>"$W/coordinator.out" 2>"$W/coordinator.log" &
PIDS+=($!)
wait_for '^listening on ' "$W/coordinator.out" 20 || { cat "$W/coordinator.log" >&2; exit 1; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$W/coordinator.out")"
echo "atoll-coordinator listening on $URL (SQLite file $DB)"
for i in 1 2; do
	ATOLL_LOG=info ATOLL_ISLAND_TOKEN=$(cat "$W/island-$i.token") "$ISLAND" --coordinator "$URL" \
		--tee sim --sim-root "$W/simroot" --enclave "$ENCLAVE" --cache "$W/island-$i-cache" \
		--lease-wait 2 >"$W/island-$i.out" 2>"$W/island-$i.log" &
	PIDS+=($!)
done
for i in 1 2; do
	wait_for 'attested: enclave key' "$W/island-$i.log" 30 || { cat "$W/island-$i.log" >&2; exit 1; }
	echo "atoll-island island-$i started its enclave and attested it to the coordinator"
done
export ATOLL_KEYS=$W/client ATOLL_COORDINATOR=$URL ATOLL_API_KEY
ATOLL_API_KEY=$(cat "$W/api.key")
echo "client key: $("$ATOLL" keys create 2>/dev/null)"
"$ATOLL" targets --workload breast-cancer --policy "$W/policy.json" 2>/dev/null | sed 's/^/  /'
echo "input: $(wc -l <"$W/test-features.csv") held-out patients' 30 tumour features, sealed here"
"$ATOLL" run --workload breast-cancer --input "$W/test-features.csv" --policy "$W/policy.json" \
	>"$W/prediction.json"
echo "opened result: $(head -c 150 "$W/prediction.json")..."
python3 - "$W/prediction.json" "$W/test.csv" <<'PY' || { echo "demo: cannot score the predictions" >&2; exit 1; }
import json, sys
pred = json.load(open(sys.argv[1]))["predictions"]
truth = [["malignant", "benign"][int(l.strip().split(",")[-1])] for l in open(sys.argv[2])]
ok = sum(p["label"] == t for p, t in zip(pred, truth))
print(f"accuracy on the held-out rows, computed confidentially: {ok}/{len(truth)} = {100 * ok / len(truth):.2f}%")
PY
# Proof: the input rows appear nowhere on the coordinator side.
LEAK=0
while IFS= read -r row; do
	if grep -aqF "$row" "$DB"* "$W/coordinator.log" "$W"/island-*.log 2>/dev/null; then LEAK=1; fi
done < <(head -20 "$W/test-features.csv")
[ "$LEAK" = 0 ] || { echo "demo: plaintext found on the operator side" >&2; exit 1; }
echo "searched the coordinator's database files and the coordinator and island logs for the"
echo "input rows: none found (they only ever held ciphertext)"
"$ATOLL" stats 2>/dev/null | tr -d '\n ' | sed 's/^/stats: /'; echo

say "7. An encrypted model: its key is released only to an attested enclave (issue 9)"
KBSD=$(cd "$BIN" && pwd)/atoll-kbs
SETUP_HELPER=$BUILD/tests/kbs_platform_setup
if [ ! -x "$KBSD" ]; then
	echo "(skipped: $BIN/atoll-kbs is not built)"
else
	KDIR=$W/kbs
	# the tiny LLM of the second part: a random-weight llama (n_embd 64, 2 layers)
	LLM_GGUF=$SRC/tests/vectors/llm/logits/tiny-llama-random-q8_0.gguf
	LMID=
	# the model owner's side: a broker tenant, the model encrypted under its
	# key-encryption key and registered with a release policy (this build only)
	# the broker signs its audit log's heads with this key (when openssl is here)
	AK=()
	AKPUB=()
	if command -v openssl >/dev/null &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/audit.pem" 2>/dev/null &&
		openssl pkey -in "$W/audit.pem" -pubout -out "$W/audit.pub.pem" 2>/dev/null; then
		AK=(--audit-key "$W/audit.pem")
		AKPUB=(--pub "$W/audit.pub.pem")
	fi
	if "$ATOLL" kbs --help >/dev/null 2>&1; then
		"$ATOLL" kbs init --dir "$KDIR" "${AK[@]}" >/dev/null
		"$ATOLL" kbs tenant add demo-clinic --dir "$KDIR" "${AK[@]}" >/dev/null
		MID=$("$ATOLL" kbs model add --dir "$KDIR" --tenant demo-clinic --in "$W/model.json" \
			--out "$W/model.atm" --policy "$W/policy.json" --workload breast-cancer-enc "${AK[@]}")
		[ ! -f "$LLM_GGUF" ] || LMID=$("$ATOLL" kbs model add --dir "$KDIR" --tenant demo-clinic \
			--in "$LLM_GGUF" --out "$W/tiny-llm.atm" --policy "$W/policy.json" \
			--workload tiny-llm-enc "${AK[@]}")
	else
		MID=$("$SETUP_HELPER" model "$KDIR" demo-clinic "$W/model.json" "$W/model.atm" \
			"$W/policy.json" breast-cancer-enc)
		[ ! -f "$LLM_GGUF" ] || LMID=$("$SETUP_HELPER" model "$KDIR" demo-clinic "$LLM_GGUF" \
			"$W/tiny-llm.atm" "$W/policy.json" tiny-llm-enc)
	fi
	echo "model.json ($(wc -c <"$W/model.json") bytes) encrypted to model.atm ($(wc -c <"$W/model.atm") bytes), model id $MID"
	echo "model.atm starts with: $(head -c 8 "$W/model.atm") (chunked AES-256-GCM; the data key is wrapped by the tenant's KEK)"
	if "$ATOLL" kbs --help >/dev/null 2>&1; then
		"$KBSD" serve --dir "$KDIR" --listen 127.0.0.1:0 "${AK[@]}" >"$W/kbs.out" 2>"$W/kbs.log" &
	else
		"$KBSD" serve --dir "$KDIR" --listen 127.0.0.1:0 >"$W/kbs.out" 2>"$W/kbs.log" &
	fi
	KBSPID=$!
	PIDS+=($KBSPID)
	wait_for 'listening on ' "$W/kbs.out" 20 || { cat "$W/kbs.log" >&2; exit 1; }
	KURL="http://127.0.0.1:$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$W/kbs.out" | head -1)"
	echo "atoll-kbs (the key broker) listening on $KURL"
	"$COORD" workload add --db "$DB" --id breast-cancer-enc --kind classifier --model "$W/model.atm" \
		--kbs "$KURL" --kbs-tenant demo-clinic --tee sim | sed 's/^/  /'
	"$ATOLL" run --workload breast-cancer-enc --input "$W/test-features.csv" \
		--policy "$W/policy.json" >"$W/prediction-enc.json"
	echo "opened result: $(head -c 150 "$W/prediction-enc.json")..."
	cmp -s "$W/prediction.json" "$W/prediction-enc.json" ||
		{ echo "demo: the encrypted model predicts differently" >&2; exit 1; }
	echo "identical to the plaintext model's predictions in step 6"
	grep -h "key released by the broker\|decrypted into secret memory" "$W"/island-*.log |
		sed 's/^[^ ]* [A-Z]* */  log: /' | head -4 || true
	# the plaintext weights never reached the island's disk: the encrypted
	# workload's cache file is the ciphertext, and a run of the weights appears
	# nowhere on the operator side except the step-6 plaintext model's cache file
	ATM_SHA=$(sha256sum "$W/model.atm" | cut -c1-64)
	PT_SHA=$(sha256sum "$W/model.json" | cut -c1-64)
	for f in "$W"/island-*-cache/"$ATM_SHA".model; do
		[ -f "$f" ] && echo "  cached by the island: $(basename "$f"): $(head -c 8 "$f") ciphertext"
	done
	CANARY=$(head -c 400 "$W/model.json" | tail -c 48)
	if grep -rlaF "$CANARY" "$W"/island-*-cache "$DB"* "$W"/island-*.log "$W/coordinator.log" \
		"$W/kbs.log" 2>/dev/null | grep -v "/$PT_SHA.model\$"; then
		echo "demo: plaintext model bytes found on the operator side" >&2; exit 1
	fi
	echo "searched the island caches, the coordinator's database and every log for the model's"
	echo "plaintext weights: found only in step 6's plaintext model file, never for the .atm workload"
	if [ -n "$LMID" ]; then
		echo
		echo "a tiny LLM: $(basename "$LLM_GGUF") ($(wc -c <"$LLM_GGUF") bytes, random weights)"
		echo "encrypted to tiny-llm.atm ($(wc -c <"$W/tiny-llm.atm") bytes), model id $LMID"
		"$COORD" workload add --db "$DB" --id tiny-llm-enc --kind llm --model "$W/tiny-llm.atm" \
			--kbs "$KURL" --kbs-tenant demo-clinic --tee sim | sed 's/^/  /'
		LLM_PROMPT="Once upon a time"
		printf '{"prompt":"%s","max_tokens":16}' "$LLM_PROMPT" >"$W/llm-in.json"
		echo "prompt (sealed here): $LLM_PROMPT"
		"$ATOLL" run --workload tiny-llm-enc --input "$W/llm-in.json" --policy "$W/policy.json" \
			>"$W/llm-out.json"
		"$ATOLL" infer --model "$LLM_GGUF" --prompt "$LLM_PROMPT" -n 16 >"$W/llm-ref.txt" 2>/dev/null
		python3 - "$W/llm-out.json" "$W/llm-ref.txt" <<'PY' || { echo "demo: the encrypted LLM's output differs from atoll infer's" >&2; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
ref = open(sys.argv[2], encoding="utf-8").read()
print(f"generated in the enclave ({r['n_prompt']} prompt tokens, {r['n_gen']} generated): {r['text']!r}")
print("(random weights, so gibberish) tokens:", " ".join(map(str, r["tokens"])))
sys.exit(0 if r["text"] == ref.rstrip("\n") else 1)
PY
		echo "identical to 'atoll infer' on the plaintext GGUF, here"
		python3 - "$LLM_GGUF" "$W"/island-*-cache "$DB"* "$W"/island-*.log "$W/coordinator.log" \
			"$W/kbs.log" <<'PY' || { echo "demo: plaintext LLM bytes found on the operator side" >&2; exit 1; }
import os, sys
m = open(sys.argv[1], "rb").read()
runs = [m[o:o + 64] for o in (len(m) // 3, len(m) // 2, len(m) - 4096)]
hits = []
for root in sys.argv[2:]:
    paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    hits += [p for p in paths if any(r in open(p, "rb").read() for r in runs)]
hits and print("\n".join(hits))
sys.exit(1 if hits else 0)
PY
		echo "searched the island caches, the coordinator's database and every log for runs of the"
		echo "GGUF's bytes: none found (the islands cached only tiny-llm.atm's ciphertext)"
	fi
	kill -TERM "$KBSPID"; wait "$KBSPID" 2>/dev/null || true
	if "$ATOLL" kbs --help >/dev/null 2>&1; then
		"$ATOLL" kbs audit verify --dir "$KDIR" "${AKPUB[@]}" | sed 's/^/  audit: /'
	else
		"$SETUP_HELPER" audit "$KDIR" | sed 's/^/  audit: /'
	fi
fi

say "Done: attested, sealed, opened inside the enclave, result opened here; a changed build was refused; the platform served confidential predictions, also from an encrypted model (a classifier and a tiny LLM) whose key only the attested enclave got."
