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
#   the same binary with --no-sandbox -> 1 (pcr_policy, measurement: the
#   workload configuration is measured), a --pcr 16 policy and enclave -> 0,
#   no activation record -> 1 (ak_trust); --serve (sandboxed) answers two
#   ATTESTs on one TPM connection, each verifying with its own nonce.
# Skips (exit 0, with a message) when swtpm or its tools are not installed.
set -euo pipefail

BIN=${1:?usage: tpm_enclave.sh BIN_DIR}
. "$(dirname "$0")/tpm_lib.sh"
why=$(tpm_have_tools) || { echo "skip: $why"; exit 0; }
command -v openssl >/dev/null 2>&1 || { echo "skip: openssl not installed"; exit 0; }

T=$(mktemp -d "${TMPDIR:-/tmp}/atoll-tpmenc.XXXXXX")
cleanup() {
	tpm_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

tpm_setup_ca ca
tpm_manufacture tpm ca || exit 1
tpm_start tpm || exit 1
TPM=$TPM_URI

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

# The same binary started with --no-sandbox: the workload configuration is
# part of the measurement, so the policy for the sandboxed enclave refuses it.
expect_exit 0 "$E" --tee tpm --tpm "$TPM" --reset-pcr --tpm-activation "$T/record.json" \
	--no-sandbox --attest --nonce "$NONCE"
cp "$T/out" "$T/ev-nosandbox.json"
expect_exit 1 "$A" verify --evidence "$T/ev-nosandbox.json" --policy "$T/policy.json" \
	--nonce "$NONCE"
failed pcr_policy || fail "--no-sandbox: pcr_policy not named"
failed measurement || fail "--no-sandbox: measurement not named"

# The PCR index is part of the configuration too: a policy for PCR 16 takes an
# enclave measured into PCR 16 (fresh TPM: one extend) and refuses the PCR 23 one.
expect_exit 0 "$A" policy init --tee tpm --enclave "$E" --pcr 16 \
	--ek-ca "$T/ca/swtpm-localca-rootca-cert.pem" --ek-intermediate "$T/ca/issuercert.pem" \
	--activation-key "$T/coord.pub"
cp "$T/out" "$T/policy16.json"
expect_exit 0 "$E" --tee tpm --tpm "$TPM" --pcr 16 --tpm-activation "$T/record.json" \
	--attest --nonce "$NONCE"
cp "$T/out" "$T/ev16.json"
expect_exit 0 "$A" verify --evidence "$T/ev16.json" --policy "$T/policy16.json" --nonce "$NONCE"
expect_exit 1 "$A" verify --evidence "$T/ev.json" --policy "$T/policy16.json" --nonce "$NONCE"
failed measurement || fail "PCR 23 enclave under a PCR 16 policy: measurement not named"

# No activation record: the AK is not trusted.
expect_exit 0 "$E" --tee tpm --tpm "$TPM" --reset-pcr --attest --nonce "$NONCE"
cp "$T/out" "$T/ev-noact.json"
expect_exit 1 "$A" verify --evidence "$T/ev-noact.json" --policy "$T/policy.json" \
	--nonce "$NONCE"
failed ak_trust || fail "no activation: ak_trust not named"

# --serve: the TPM connection is opened before the sandbox and reused by
# every ATTEST (two quotes, two nonces, one enclave key), each verifying.
if command -v python3 >/dev/null 2>&1; then
	N1=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	N2=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	timeout 60 python3 "$(dirname "$0")/tpm_serve_attest.py" "$E" "$T/serve" "$N1" "$N2" \
		--tee tpm --tpm "$TPM" --tpm-activation "$T/record.json" 2>"$T/serve.err" ||
		{ cat "$T/serve.err" >&2; fail "--serve with --tee tpm"; }
	grep -q 'Sanitizer' "$T/serve.err" && { cat "$T/serve.err" >&2; fail "sanitizer"; }
	expect_exit 0 "$A" verify --evidence "$T/serve.1.json" --policy "$T/policy.json" --nonce "$N1"
	expect_exit 0 "$A" verify --evidence "$T/serve.2.json" --policy "$T/policy.json" --nonce "$N2"
	expect_exit 1 "$A" verify --evidence "$T/serve.2.json" --policy "$T/policy.json" --nonce "$N1"
	# another TPM than the one it serves is unreachable: a usage error at start
	expect_exit 2 "$E" --tee tpm --tpm "swtpm:host=127.0.0.1,port=1" --serve --fd 0
else
	echo "python3 missing: --serve case skipped"
fi

# Usage errors.
expect_exit 2 "$E" --tee tpm --attest --nonce "$NONCE"
expect_exit 2 "$E" --tee tpm --tpm "$TPM" --pcr 16 --reset-pcr --attest --nonce "$NONCE"
echo "tpm enclave: ok"
