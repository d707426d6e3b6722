#!/usr/bin/env bash
# The key broker's master key sealed by a TPM, end to end with real processes
# (two swtpm instances on loopback, atoll kbs, atoll-kbs serve, kbs_peer):
#   init --master-tpm A writes master.tpm (mode 0600) and no master.key;
#   later commands unseal on the TPM recorded in master.tpm; tenant add,
#   model add, a release (decrypting the model) after a restart of the
#   service, with and without --master-tpm; TPM B cannot unseal it (refused,
#   exit 1, named); a garbage, truncated or altered master.tpm is refused
#   (exit 1) without a crash; an unreachable TPM is an I/O error (exit 2);
#   --master-tpm on a state with a file master key is refused.
# Exit 77 (skip) without swtpm.
# Usage: kbs_tpm_master.sh BIN_DIR KBS_PEER
set -u
BIN=${1:?usage: kbs_tpm_master.sh BIN_DIR KBS_PEER}
PEER=${2:?usage: kbs_tpm_master.sh BIN_DIR KBS_PEER}
ATOLL=$BIN/atoll
KBS=$BIN/atoll-kbs
ENCLAVE=$BIN/atoll-enclave
. "$(dirname "$0")/tpm_lib.sh"
command -v swtpm >/dev/null 2>&1 || { echo "skip: swtpm not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_kbs_tpm.XXXXXX")
PID=""
cleanup() {
	if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	tpm_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
expect() {
	local want=$1 what=$2 got
	shift 2
	timeout 60 "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then echo "ok: $what (exit $got)"; else
		bad "$what: exit $got, want $want"; sed 's/^/  out: /' "$T/out" | tail -3
		sed 's/^/  err: /' "$T/err" | tail -3; fi
}
start() {
	: >"$T/port.out"
	"$KBS" serve --listen 127.0.0.1:0 --dir "$T/kbs" "$@" >"$T/port.out" 2>>"$T/kbs.log" &
	PID=$!
	for _ in $(seq 100); do grep -q "listening on" "$T/port.out" && break; sleep 0.1; done
	PORT=$(awk '/listening on/{print $3}' "$T/port.out")
	[ -n "$PORT" ] || { echo "FAIL: atoll-kbs did not start"; cat "$T/kbs.log"; exit 1; }
	URL=http://127.0.0.1:$PORT
}
stop() {
	kill -TERM "$PID"
	wait "$PID" || bad "atoll-kbs exit status $? after SIGTERM"
	PID=""
}
release() {
	rm -f "$T/plain.out"
	expect 0 "release $1" "$PEER" fetch "$URL" acme "$MID" "$T/root" "$ENCLAVE" \
		"$T/models/m.atm" "$T/plain.out"
	cmp -s "$T/m.gguf" "$T/plain.out" || bad "release $1: the key does not decrypt the model"
}

# ---- two fresh software TPMs (different owner seeds)
mkdir -p "$T/tpmA" "$T/tpmB"
tpm_start tpmA || exit 1
URI_A=$TPM_URI
tpm_start tpmB || exit 1
URI_B=$TPM_URI

# ---- sim root, policy, a model
timeout 60 "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
timeout 60 "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENCLAVE" \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }
{ head -c 100000 /dev/urandom; echo "CANARY-WEIGHTS-kbs-tpm-77a1"; } >"$T/m.gguf"
mkdir -p "$T/models"

# ---- init on TPM A
expect 0 "kbs init --master-tpm A" "$ATOLL" kbs init --dir "$T/kbs" --master-tpm "$URI_A"
[ -f "$T/kbs/master.tpm" ] || bad "no master.tpm"
[ "$(stat -c %a "$T/kbs/master.tpm" 2>/dev/null)" = 600 ] || bad "master.tpm mode"
[ ! -e "$T/kbs/master.key" ] || bad "a plaintext master.key was written"
expect 0 "tenant add (TPM recorded in master.tpm)" "$ATOLL" kbs tenant add acme --dir "$T/kbs"
expect 0 "model add" "$ATOLL" kbs model add --dir "$T/kbs" --tenant acme --in "$T/m.gguf" \
	--out "$T/models/m.atm" --policy "$T/policy.json"
MID=$(cat "$T/out")
expect 0 "status with --master-tpm A" "$ATOLL" kbs status --dir "$T/kbs" --master-tpm "$URI_A"

# ---- the service: release, restart, release again
start
release "(first start)"
stop
start --master-tpm "$URI_A"
release "(after a restart, --master-tpm A)"
stop
[ ! -e "$T/kbs/master.key" ] || bad "a plaintext master.key appeared"

# ---- another TPM cannot unseal it
expect 1 "status on TPM B refused" "$ATOLL" kbs status --dir "$T/kbs" --master-tpm "$URI_B"
grep -q "does not unseal" "$T/err" || bad "TPM B refusal not explained: $(cat "$T/err")"
expect 1 "atoll-kbs serve on TPM B refused" "$KBS" serve --listen 127.0.0.1:0 --dir "$T/kbs" \
	--master-tpm "$URI_B"
expect 2 "unreachable TPM" "$ATOLL" kbs status --dir "$T/kbs" \
	--master-tpm "swtpm:host=127.0.0.1,port=1"
expect 2 "empty --master-tpm" "$ATOLL" kbs status --dir "$T/kbs" --master-tpm ""

# ---- corrupt master.tpm files (copies of the state)
corrupt() {
	local what=$1
	rm -rf "$T/c"
	cp -a "$T/kbs" "$T/c"
	shift
	"$@" "$T/c/master.tpm"
	expect 1 "corrupt master.tpm ($what)" "$ATOLL" kbs status --dir "$T/c"
	grep -qi "sealed master key\|does not unseal" "$T/err" || bad "$what: not explained: $(cat "$T/err")"
}
garbage() { head -c 300 /dev/urandom >"$1"; }
truncate_it() { truncate -s 40 "$1"; }
trailing() { printf 'x' >>"$1"; }
# a byte of the sealed object's private part (the last bytes of the file)
flip_priv() {
	local n
	n=$(stat -c %s "$1")
	printf '\xff' | dd of="$1" bs=1 seek=$((n - 5)) conv=notrunc status=none
}
empty() { : >"$1"; }
corrupt "garbage" garbage
corrupt "truncated" truncate_it
corrupt "trailing byte" trailing
corrupt "empty" empty
corrupt "private part altered" flip_priv

# ---- a state with a file master key is not switched silently
expect 0 "kbs init (file master key)" "$ATOLL" kbs init --dir "$T/kbsfile"
expect 2 "--master-tpm on a state with master.key refused" "$ATOLL" kbs status \
	--dir "$T/kbsfile" --master-tpm "$URI_A"
[ ! -e "$T/kbsfile/master.tpm" ] || bad "master.tpm written next to master.key"

# ---- no plaintext weights in the state or the logs
if grep -rqa "CANARY-WEIGHTS-kbs-tpm-77a1" "$T/kbs" "$T/kbs.log"; then bad "plaintext canary found"; fi

if [ "$FAILS" -ne 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
echo "all ok"
