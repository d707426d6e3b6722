#!/usr/bin/env bash
# A tiny LLM on an encrypted GGUF through the whole platform with real
# processes on loopback (issue 9): `atoll kbs` encrypts the tiny random llama
# of tests/vectors/llm/logits and registers it with the broker, atoll-kbs
# serve releases its key to the attested enclave, atoll-coordinator serves
# the ciphertext, atoll-island relays, the sandboxed atoll-enclave decrypts
# it into secret memory and runs the `llm` workload.
# Checks: the encrypted model's greedy output (text and token ids) equals
# `atoll infer` on the plaintext GGUF and the plaintext-model workload's; a
# second job reuses the loaded model (one release); bad input comes back as a
# sealed error document; canary: no 64-byte run of the plaintext GGUF in the
# island's cache (except the plaintext workload's own file), the coordinator's
# database or any log; no sanitizer reports.
# Usage: llm_platform.sh BIN_DIR. Bounded (timeouts on every command and
# wait); every process started is killed and the temp dir removed.
set -u
BIN=${1:?usage: llm_platform.sh BIN_DIR}
ATOLL=$BIN/atoll
CO=$BIN/atoll-coordinator
ISL=$BIN/atoll-island
ENC=$BIN/atoll-enclave
KBS=$BIN/atoll-kbs
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MODEL=$SRC/tests/vectors/llm/logits/tiny-llama-random-q8_0.gguf
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_llmplat.XXXXXX")
. "$(dirname "$0")/platform_lib.sh"
for p in "$ATOLL" "$CO" "$ISL" "$ENC" "$KBS"; do
	[ -x "$p" ] || { echo "FAIL: $p is missing"; exit 1; }
done
[ -f "$MODEL" ] || { echo "FAIL: $MODEL is missing"; exit 1; }
if ! "$ATOLL" kbs --help >/dev/null 2>&1; then
	echo "skipped: this atoll has no 'kbs' command"; exit 0
fi

export ATOLL_KEYS=$T/keys
export ATOLL_LOG=info
unset ATOLL_COORDINATOR ATOLL_API_KEY

# ---------------------------------------------------------------- setup
run "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENC" --max-age 60 \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }
cp "$MODEL" "$T/tiny.gguf"
# a broker that binds releases to workloads needs the model's allowed workload
WL=()
if "$ATOLL" kbs --help 2>&1 | grep -q -- '--workload'; then WL=(--workload tiny-enc); fi
PT_SHA=$(sha256sum "$T/tiny.gguf" | cut -c1-64)
run "$ATOLL" kbs init --dir "$T/kbs" >/dev/null 2>"$T/setup.err" &&
	run "$ATOLL" kbs tenant add acme --dir "$T/kbs" >/dev/null 2>>"$T/setup.err" &&
	MID=$(run "$ATOLL" kbs model add --dir "$T/kbs" --tenant acme --in "$T/tiny.gguf" \
		--out "$T/tiny.atm" --policy "$T/policy.json" "${WL[@]}" 2>>"$T/setup.err") ||
	{ echo "FAIL: broker setup"; cat "$T/setup.err"; exit 1; }
check "model id is 32 hex digits" bash -c "[[ '$MID' =~ ^[0-9a-f]{32}$ ]]"
# canary: 64-byte runs of the plaintext GGUF (metadata and weights)
cat >"$T/canary.py" <<'EOF'
import os, sys
model = open(sys.argv[1], 'rb').read()
runs = [model[o:o + 64] for o in (len(model) // 3, len(model) // 2, len(model) - 4096)]
skip = sys.argv[2]
hits = []
for root in sys.argv[3:]:
    paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for p in paths:
        if os.path.basename(p) == skip:
            continue
        b = open(p, 'rb').read()
        if any(r in b for r in runs):
            hits.append(p)
hits and print("\n".join(hits))
sys.exit(1 if hits else 0)
EOF
check "the .atm holds no plaintext" python3 "$T/canary.py" "$T/tiny.gguf" - "$T/tiny.atm"

"$KBS" serve --dir "$T/kbs" --listen 127.0.0.1:0 >"$T/kbs.out" 2>"$T/kbs.log" &
PIDS+=($!)
wait_grep 'listening on ' "$T/kbs.out" 20 || { echo "FAIL: atoll-kbs did not start";
	cat "$T/kbs.log"; exit 1; }
KURL="http://127.0.0.1:$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$T/kbs.out" | head -1)"

DB=$T/coord.db
run "$CO" tenant add alice --db "$DB" >"$T/alice.key" 2>/dev/null || bad "tenant add"
run "$CO" island add isl-1 --db "$DB" >"$T/isl.tok" 2>/dev/null || bad "island add"
expect 0 "workload add --kind llm with an encrypted GGUF" "$CO" workload add --db "$DB" \
	--id tiny-enc --kind llm --model "$T/tiny.atm" --kbs "$KURL" --kbs-tenant acme --tee sim
check "  names the model id" grep -q "$MID" "$T/out"
expect 0 "workload add --kind llm with the plaintext GGUF" "$CO" workload add --db "$DB" \
	--id tiny-plain --kind llm --model "$T/tiny.gguf" --tee sim
KEY=$(cat "$T/alice.key")
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" --maint-s 1 \
	>"$T/coord.out" 2>"$T/coord.log" &
PIDS+=($!)
wait_grep '^listening on ' "$T/coord.out" 20 || { echo "FAIL: coordinator did not start";
	cat "$T/coord.log"; exit 1; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/coord.out")"
"$ISL" --coordinator "$URL" --token "$(cat "$T/isl.tok")" --tee sim --sim-root "$T/root" \
	--enclave "$ENC" --cache "$T/cache" --lease-wait 2 >"$T/island.out" 2>"$T/island.log" &
PIDS+=($!)
wait_grep 'attested: enclave key' "$T/island.log" 30 || { bad "island attested"; sed 's/^/  /' "$T/island.log"; }

export ATOLL_COORDINATOR=$URL ATOLL_API_KEY=$KEY
run "$ATOLL" keys create >/dev/null 2>&1 || bad "keys create"

# ---------------------------------------------------------------- the reference
PROMPT='The quick brown fox jumps over the lazy dog.'
N=16
expect 0 "atoll infer on the plaintext GGUF (text)" "$ATOLL" infer --model "$T/tiny.gguf" \
	--prompt "$PROMPT" -n $N --threads 1
cp "$T/out" "$T/ref.txt"
expect 0 "atoll infer on the plaintext GGUF (ids)" "$ATOLL" infer --model "$T/tiny.gguf" \
	--prompt "$PROMPT" -n $N --print-ids
cp "$T/out" "$T/ref.ids"
printf '{"prompt":"%s","max_tokens":%d}' "$PROMPT" $N >"$T/in.json"

# ---------------------------------------------------------------- encrypted LLM
expect 0 "llm job on the encrypted GGUF" "$ATOLL" run --workload tiny-enc --input "$T/in.json" \
	--policy "$T/policy.json"
cp "$T/out" "$T/enc.json"
head -c 300 "$T/enc.json"; echo
# compares a workload result with atoll infer's text (its trailing newline
# removed) and ids
cat >"$T/cmp.py" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
text = open(sys.argv[2], encoding='utf-8').read()
ids = [int(x) for x in open(sys.argv[3]).read().split()]
assert text.endswith('\n'), 'atoll infer ends with a newline'
ok = r.get('text') == text[:-1] and r.get('tokens') == ids and r.get('n_gen') == len(ids) \
    and isinstance(r.get('n_prompt'), int) and r['n_prompt'] > 0
if not ok:
    print('result:', r, '\ninfer text:', repr(text), '\ninfer ids:', ids)
sys.exit(0 if ok else 1)
EOF
check "  text and token ids equal atoll infer on the plaintext model" \
	python3 "$T/cmp.py" "$T/enc.json" "$T/ref.txt" "$T/ref.ids"
check "  the key was released and the model decrypted in the enclave" \
	grep -q "decrypted into secret memory" "$T/island.log"
expect 0 "the same prompt on the plaintext-GGUF workload" "$ATOLL" run --workload tiny-plain \
	--input "$T/in.json" --policy "$T/policy.json"
check "  identical result" cmp -s "$T/out" "$T/enc.json"
expect 0 "a second job on the encrypted model" "$ATOLL" run --workload tiny-enc \
	--input "$T/in.json" --policy "$T/policy.json"
check "  identical result" cmp -s "$T/out" "$T/enc.json"
check "  the key was released once (the model stays loaded and parsed)" \
	[ "$(grep -c 'key released by the broker and loaded' "$T/island.log")" = 1 ]
printf '{"prompt":"SECRET-PROMPT","max_tokens":999}' >"$T/bad.json"
run "$ATOLL" run --workload tiny-enc --input "$T/bad.json" --policy "$T/policy.json" \
	>"$T/out" 2>"$T/err"
check "bad input: a sealed error document (bad_input), not a crash" grep -q '"bad_input"' "$T/out"
check "  without the input in it" bash -c "! grep -q SECRET-PROMPT '$T/out'"
expect 0 "  the enclave still serves" "$ATOLL" run --workload tiny-enc --input "$T/in.json" \
	--policy "$T/policy.json"
check "  identical result" cmp -s "$T/out" "$T/enc.json"

# ---------------------------------------------------------------- canary
check "no plaintext GGUF bytes in the island's cache (but the plaintext workload's file), the coordinator db or any log" \
	python3 "$T/canary.py" "$T/tiny.gguf" "$PT_SHA.model" "$T/cache" "$T/coord.db" \
	"$T/coord.log" "$T/coord.out" "$T/island.log" "$T/island.out" "$T/kbs.log" "$T/kbs.out"
check "the encrypted workload's cache file is ciphertext" bash -c "
	n=0; for f in '$T'/cache/*.model; do
		[ \"\$(basename \"\$f\")\" = '$PT_SHA.model' ] && continue
		[ \"\$(head -c 8 \"\$f\")\" = ATOLLATM ] || exit 1; n=\$((n + 1))
	done; [ \$n -ge 1 ]"
check "no sanitizer reports in the logs" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/island.log' '$T/kbs.log' '$T/coord.log'"

if [ "$FAILS" != 0 ]; then
	echo "--- island log"; tail -40 "$T/island.log"
	echo "--- kbs log"; tail -20 "$T/kbs.log"
	echo "--- coordinator log"; tail -20 "$T/coord.log"
	echo "$FAILS check(s) failed"; exit 1
fi
echo "all encrypted-LLM platform checks passed"
