#!/usr/bin/env bash
# Encrypted model files through `atoll model` (issue 9): round trip, no
# plaintext in the .atm, a flipped byte / wrong KEK / truncation refused with
# no output written, KEK rotation. Usage: model_crypt_cli.sh BIN_DIR.
set -u
ATOLL=${1:?usage: model_crypt_cli.sh BIN_DIR}/atoll
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_model_crypt.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
expect() {
	local want=$1 what=$2 got
	shift 2
	timeout 60 "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then echo "ok: $what (exit $got)"; else
		echo "FAIL: $what: exit $got, want $want"; sed 's/^/  stderr: /' "$T/err" | tail -3
		FAILS=$((FAILS + 1)); fi
}
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

{ head -c 3000000 /dev/urandom; echo "CANARY-WEIGHTS-7f3a"; head -c 1000 /dev/urandom; } >"$T/m.gguf"
expect 0 "kek-new" "$ATOLL" model kek-new --out "$T/kek"
[ "$(stat -c %a "$T/kek")" = 600 ] || bad "KEK file mode"
expect 0 "kek-new (second tenant key)" "$ATOLL" model kek-new --out "$T/kek2"
expect 0 "encrypt" "$ATOLL" model encrypt --in "$T/m.gguf" --out "$T/m.atm" --kek "$T/kek" \
	--tenant-key tenant-a --chunk 65536
grep -aq "CANARY-WEIGHTS-7f3a" "$T/m.atm" && bad "plaintext marker in the .atm"
expect 0 "inspect (no key)" "$ATOLL" model inspect --in "$T/m.atm"
grep -q "tenant-a" "$T/out" || bad "inspect shows the KEK id"
expect 0 "decrypt" "$ATOLL" model decrypt --in "$T/m.atm" --kek "$T/kek" --out "$T/back"
cmp -s "$T/m.gguf" "$T/back" || bad "round trip differs"
cp "$T/m.atm" "$T/flip.atm"
printf '\xff' | dd of="$T/flip.atm" bs=1 seek=100000 conv=notrunc status=none
expect 1 "a flipped byte in a chunk" "$ATOLL" model decrypt --in "$T/flip.atm" --kek "$T/kek" --out "$T/flip.out"
[ ! -e "$T/flip.out" ] || bad "output written for a tampered file"
head -c 200000 "$T/m.atm" >"$T/trunc.atm"
expect 1 "a truncated file" "$ATOLL" model decrypt --in "$T/trunc.atm" --kek "$T/kek" --out "$T/trunc.out"
[ ! -e "$T/trunc.out" ] || bad "output written for a truncated file"
expect 1 "the wrong KEK" "$ATOLL" model decrypt --in "$T/m.atm" --kek "$T/kek2" --out "$T/wrong.out"
expect 0 "rewrap to the second KEK" "$ATOLL" model rewrap --in "$T/m.atm" --kek "$T/kek" \
	--new-kek "$T/kek2" --new-kek-id tenant-a-2
expect 1 "old KEK refused after rotation" "$ATOLL" model decrypt --in "$T/m.atm" --kek "$T/kek" --out "$T/old.out"
expect 0 "new KEK opens it" "$ATOLL" model decrypt --in "$T/m.atm" --kek "$T/kek2" --out "$T/new.out"
cmp -s "$T/m.gguf" "$T/new.out" || bad "round trip after rewrap differs"
expect 2 "missing input" "$ATOLL" model encrypt --in "$T/nope" --out "$T/x.atm" --kek "$T/kek" --tenant-key t
expect 2 "unknown model subcommand" "$ATOLL" model bogus
[ "$FAILS" = 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "all model-crypt CLI checks passed"
