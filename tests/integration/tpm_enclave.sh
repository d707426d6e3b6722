#!/usr/bin/env bash
# atoll-enclave --tee tpm end to end on a software TPM (issue 5).
#
# In a private temp dir: a local CA (swtpm_localca) and a TPM state
# manufactured by swtpm_setup with an EK certificate from it; one swtpm on
# 127.0.0.1 at a free port (killed, and the dir removed, on exit). Then:
#   atoll policy init --tee tpm (EK CA root + intermediate, activation key)
#   AK activation: atoll tpm info -> challenge -> activate -> record
#   atoll-enclave --tee tpm --attest --nonce N  -> atoll verify exits 0
#   a changed enclave binary -> 1 (pcr_policy / measurement), wrong nonce -> 1,
#   no activation record -> 1 (ak_trust), --serve with --tee tpm -> 2.
# Skips (exit 0, with a message) when swtpm or its tools are not installed.
set -euo pipefail

BIN=${1:?usage: tpm_enclave.sh BIN_DIR}
for tool in swtpm swtpm_setup swtpm_localca certtool openssl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool not installed"; exit 0; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/atoll-tpmenc.XXXXXX")
PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/ca" "$T/tpm"
cat >"$T/ca.conf" <<CONF
statedir = $T/ca
signingkey = $T/ca/signkey.pem
issuercert = $T/ca/issuercert.pem
certserial = $T/ca/certserial
CONF
cat >"$T/ca.options" <<CONF
--platform-manufacturer Atoll
--platform-version 2.1
--platform-model swtpm-enclave-test
CONF
cat >"$T/setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $T/ca.conf
create_certs_tool_options = $T/ca.options
active_pcr_banks = sha256
CONF
if ! timeout 60 swtpm_setup --tpm2 --tpm-state "$T/tpm" --config "$T/setup.conf" \
	--create-ek-cert --create-platform-cert --overwrite >"$T/setup.log" 2>&1; then
	cat "$T/setup.log" >&2
	exit 1
fi

PORT=
for try in 1 2 3 4 5 6 7 8; do
	port=$((20000 + RANDOM % 40000))
	swtpm socket --tpm2 --tpmstate dir="$T/tpm" \
		--server type=tcp,port=$port,bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --log file="$T/swtpm.log" >/dev/null 2>&1 &
	PID=$!
	for i in $(seq 1 50); do
		kill -0 "$PID" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			PORT=$port
			break 2
		fi
		sleep 0.1
	done
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
done
[ -n "$PORT" ] || { echo "cannot start swtpm" >&2; exit 1; }
TPM="swtpm:host=127.0.0.1,port=$PORT"
export TSS2_LOG="all+NONE"

fail() { echo "FAIL: $*" >&2; exit 1; }
# failed NAME: the last verify result has check NAME with "ok": false.
failed() { grep -A1 "\"name\": \"$1\"," "$T/out" | grep -q '"ok": false'; }
expect_exit() {
	local want=$1 got=0
	shift
	timeout 60 "$@" >"$T/out" 2>"$T/err" || got=$?
	if [ "$got" != "$want" ] || grep -q 'Sanitizer' "$T/err"; then
		echo "FAIL: exit $got (want $want): $*" >&2
		cat "$T/out" "$T/err" >&2
		exit 1
	fi
}
A="$BIN/atoll"
E="$BIN/atoll-enclave"

# The coordinator's activation key, and the policy for this enclave build.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/coord.key" 2>/dev/null
openssl pkey -in "$T/coord.key" -pubout -out "$T/coord.pub" 2>/dev/null
expect_exit 0 "$A" policy init --tee tpm --enclave "$E" \
	--ek-ca "$T/ca/swtpm-localca-rootca-cert.pem" --ek-intermediate "$T/ca/issuercert.pem" \
	--activation-key "$T/coord.pub"
cp "$T/out" "$T/policy.json"
expect_exit 0 "$A" policy check "$T/policy.json"
expect_exit 2 "$A" policy init --tee tpm --enclave "$E"
expect_exit 2 "$A" policy init --tee tpm --enclave "$E" --ek-ca "$T/nonexistent.pem"

# AK activation (registration): the verifier trusts the AK through a record
# the coordinator signs after the TPM proved it holds both the EK and the AK.
expect_exit 0 "$A" tpm info --tpm "$TPM"
cp "$T/out" "$T/info.json"
expect_exit 0 "$A" tpm challenge --info "$T/info.json" --policy "$T/policy.json" \
	--secret-out "$T/secret"
cp "$T/out" "$T/challenge.json"
expect_exit 0 "$A" tpm activate --tpm "$TPM" --challenge "$T/challenge.json"
ANSWER=$(cat "$T/out")
expect_exit 0 "$A" tpm record --info "$T/info.json" --secret "$T/secret" --answer "$ANSWER" \
	--key "$T/coord.key"
cp "$T/out" "$T/record.json"

NONCE=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
OTHER=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# Happy path.
expect_exit 0 "$E" --tee tpm --tpm "$TPM" --reset-pcr --tpm-activation "$T/record.json" \
	--attest --nonce "$NONCE"
cp "$T/out" "$T/ev.json"
grep -q '"tpm"' "$T/ev.json" || fail "evidence is not tpm evidence"
expect_exit 0 "$A" verify --evidence "$T/ev.json" --policy "$T/policy.json" --nonce "$NONCE"
grep -q '"status": "affirming"' "$T/out" || fail "not affirming"
failed nonce && fail "happy path: nonce check failed"

# Wrong nonce.
expect_exit 1 "$A" verify --evidence "$T/ev.json" --policy "$T/policy.json" --nonce "$OTHER"
failed nonce || fail "wrong nonce: nonce check not failed"

# A changed enclave binary: same code plus one byte, so another measurement.
cp "$E" "$T/atoll-enclave-changed"
printf 'x' >>"$T/atoll-enclave-changed"
chmod +x "$T/atoll-enclave-changed"
expect_exit 0 "$T/atoll-enclave-changed" --tee tpm --tpm "$TPM" --reset-pcr \
	--tpm-activation "$T/record.json" --attest --nonce "$NONCE"
cp "$T/out" "$T/ev-changed.json"
expect_exit 1 "$A" verify --evidence "$T/ev-changed.json" --policy "$T/policy.json" \
	--nonce "$NONCE"
failed pcr_policy || failed measurement || fail "changed binary: check not named"

# No activation record: the AK is not trusted.
expect_exit 0 "$E" --tee tpm --tpm "$TPM" --reset-pcr --attest --nonce "$NONCE"
cp "$T/out" "$T/ev-noact.json"
expect_exit 1 "$A" verify --evidence "$T/ev-noact.json" --policy "$T/policy.json" \
	--nonce "$NONCE"
failed ak_trust || fail "no activation: ak_trust not named"

# Usage errors.
expect_exit 2 "$E" --tee tpm --attest --nonce "$NONCE"
expect_exit 2 "$E" --tee tpm --tpm "$TPM" --serve --fd 0
expect_exit 2 "$E" --tee tpm --tpm "$TPM" --pcr 16 --reset-pcr --attest --nonce "$NONCE"
echo "tpm enclave: ok"
