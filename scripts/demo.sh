#!/usr/bin/env bash
# make demo: the Foundation's end-to-end path on this machine, step by step.
#   1. a simulation root (the sim TEE's stand-in for a hardware vendor's key)
#   2. one-shot attestation of the enclave build: evidence bound to a nonce
#   3. a policy that accepts exactly that build, and verification against it
#   4. one confidential job: the enclave is started sandboxed, challenged,
#      verified; the input is sealed to its attested key; the enclave opens it
#      over its socketpair and returns a sealed result that only we can open
#   5. the same job against a changed enclave binary: refused
# Usage: scripts/demo.sh BUILD_DIR   (TEE=sim; the only TEE of the Foundation)
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bin
TEE=${TEE:-sim}
if [ "$TEE" != sim ]; then
	echo "demo: TEE=$TEE is not available in this demo yet (use TEE=sim)" >&2
	exit 2
fi
for p in atoll atoll-enclave; do
	[ -x "$BIN/$p" ] || { echo "demo: $BIN/$p missing: run 'make build' first" >&2; exit 2; }
done
ATOLL=$(cd "$BIN" && pwd)/atoll
ENCLAVE=$(cd "$BIN" && pwd)/atoll-enclave
W=$(mktemp -d "${TMPDIR:-/tmp}/atoll-demo.XXXXXX")
trap 'rm -rf "$W"' EXIT
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

say "Done: attested, sealed, opened inside the enclave, result opened here; a changed build was refused."
