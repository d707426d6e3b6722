#!/usr/bin/env bash
# End-to-end test of the tpm backend on two real software TPMs (swtpm).
#
# Creates, in a private temp dir: two local CAs (swtpm_localca) and two TPM
# states manufactured by swtpm_setup with EK and platform certificates (TPM A
# by CA A, TPM B by CA B); starts one swtpm per state on 127.0.0.1 at random
# free ports; runs the cmocka test binary given as $1 against them; kills the
# swtpm processes it started and removes the dir on exit. Exit 77 (skip) when
# swtpm is not installed.
set -euo pipefail

TEST_BIN=${1:?usage: tpm_swtpm.sh TEST_BINARY [ATOLL_BINARY]}
ATOLL=${2:-}
. "$(dirname "$0")/tpm_lib.sh"
why=$(tpm_have_tools) || { echo "skip: $why"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/atoll-swtpm.XXXXXX")
cleanup() {
	tpm_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

tpm_setup_ca caA
tpm_setup_ca caB
tpm_manufacture tpmA caA || exit 1
tpm_manufacture tpmB caB || exit 1
tpm_start tpmA || exit 1
PORT_A=$TPM_PORT
tpm_start tpmB || exit 1
PORT_B=$TPM_PORT

export ATL_SWTPM_A="swtpm:host=127.0.0.1,port=$PORT_A"
export ATL_SWTPM_B="swtpm:host=127.0.0.1,port=$PORT_B"
export ATL_SWTPM_CA_A="$T/caA"
export ATL_SWTPM_CA_B="$T/caB"
timeout 240 "$TEST_BIN"

[ -n "$ATOLL" ] || exit 0
command -v openssl >/dev/null 2>&1 || { echo "openssl CLI missing: CLI flow skipped"; exit 0; }

# The same flow through the CLI (atoll tpm ...), as the demo runs it.
cli() { timeout 60 "$ATOLL" tpm "$@"; }
expect_exit() {
	local want=$1 got=0
	shift
	"$@" >"$T/out" 2>"$T/err" || got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: exit $got (want $want): $*" >&2
		cat "$T/out" "$T/err" >&2
		exit 1
	fi
}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/coord.key" 2>/dev/null
openssl pkey -in "$T/coord.key" -pubout -out "$T/coord.pub" 2>/dev/null
cli info --tpm "$ATL_SWTPM_A" >"$T/info-a.json"
cli info --tpm "$ATL_SWTPM_B" >"$T/info-b.json"
cli policy --binary "$ATOLL" --anchor "$T/caA/swtpm-localca-rootca-cert.pem" \
	--collateral "$T/caA/issuercert.pem" --key "$T/coord.pub" >"$T/policy.json"
cli challenge --info "$T/info-a.json" --policy "$T/policy.json" --secret-out "$T/secret" \
	>"$T/challenge.json"
ANSWER=$(cli activate --tpm "$ATL_SWTPM_A" --challenge "$T/challenge.json")
expect_exit 1 cli activate --tpm "$ATL_SWTPM_B" --challenge "$T/challenge.json"
expect_exit 1 cli record --info "$T/info-a.json" --secret "$T/secret" --answer "00$ANSWER" \
	--key "$T/coord.key"
cli record --info "$T/info-a.json" --secret "$T/secret" --answer "$ANSWER" \
	--key "$T/coord.key" >"$T/record.json"
RD=$(printf 'atoll-cli-test' | sha512sum | cut -c1-128)
cli evidence --tpm "$ATL_SWTPM_A" --report-data "$RD" --binary "$ATOLL" --reset-pcr \
	--activation "$T/record.json" >"$T/evidence.json"
expect_exit 0 cli verify --evidence "$T/evidence.json" --policy "$T/policy.json" \
	--nonce "${RD:0:64}"
expect_exit 1 cli verify --evidence "$T/evidence.json" --policy "$T/policy.json" \
	--nonce "${RD:64:64}"
# changed binary
cli evidence --tpm "$ATL_SWTPM_A" --report-data "$RD" --binary "$TEST_BIN" --reset-pcr \
	--activation "$T/record.json" >"$T/evidence2.json"
expect_exit 1 cli verify --evidence "$T/evidence2.json" --policy "$T/policy.json" \
	--nonce "${RD:0:64}"
grep -q '"pcr_policy"' "$T/out"
# untrusted EK CA
expect_exit 1 cli challenge --info "$T/info-b.json" --policy "$T/policy.json" \
	--secret-out "$T/secret-b"
# the real GCE sample, verified offline
V="$SRC/tests/vectors/attestation/tpm/go-tpm-tools"
expect_exit 0 cli verify --evidence "$V/gce-cos-85-nonce9009.pb" --nonce 9009 \
	--anchor "$V/tpm_ek_root_1.cer" --collateral "$V/tpm_ek_intermediate_2.crt" \
	--time 2026-01-01T00:00:00Z
expect_exit 1 cli verify --evidence "$V/gce-cos-85-nonce9009.pb" --nonce 9009 \
	--time 2026-01-01T00:00:00Z
expect_exit 2 cli verify

# An ECC EK (swtpm_setup --ecc: a NIST P-384 EK next to the RSA one, its
# certificate from the local CA): MakeCredential by ECDH + KDFe, activation,
# the EK chain, and evidence whose activation record names the ECC EK.
tpm_setup_ca caE --ecc
tpm_manufacture tpmE caE || exit 1
tpm_start tpmE || exit 1
TPM_E=$TPM_URI
cli info --tpm "$TPM_E" --ek ecc >"$T/info-e.json"
cli info --tpm "$TPM_E" >"$T/info-e-rsa.json"
grep -o '"ek_pub": "[^"]*"' "$T/info-e.json" >"$T/ekp-e"
grep -o '"ek_pub": "[^"]*"' "$T/info-e-rsa.json" >"$T/ekp-e-rsa"
cmp -s "$T/ekp-e" "$T/ekp-e-rsa" && { echo "FAIL: --ek ecc gave the RSA EK" >&2; exit 1; }
cli policy --binary "$ATOLL" --anchor "$T/caE/swtpm-localca-rootca-cert.pem" \
	--collateral "$T/caE/issuercert.pem" --key "$T/coord.pub" >"$T/policy-e.json"
cli challenge --info "$T/info-e.json" --policy "$T/policy-e.json" --secret-out "$T/secret-e" \
	>"$T/challenge-e.json"
expect_exit 1 cli activate --tpm "$TPM_E" --challenge "$T/challenge-e.json"
ANSWER_E=$(cli activate --tpm "$TPM_E" --ek ecc --challenge "$T/challenge-e.json")
cli record --info "$T/info-e.json" --secret "$T/secret-e" --answer "$ANSWER_E" \
	--key "$T/coord.key" >"$T/record-e.json"
cli evidence --tpm "$TPM_E" --ek ecc --report-data "$RD" --binary "$ATOLL" --reset-pcr \
	--activation "$T/record-e.json" >"$T/evidence-e.json"
expect_exit 0 cli verify --evidence "$T/evidence-e.json" --policy "$T/policy-e.json" \
	--nonce "${RD:0:64}"
# the record names the ECC EK's certificate: evidence carrying the RSA one is refused
cli evidence --tpm "$TPM_E" --report-data "$RD" --binary "$ATOLL" --reset-pcr \
	--activation "$T/record-e.json" >"$T/evidence-e-rsa.json"
expect_exit 1 cli verify --evidence "$T/evidence-e-rsa.json" --policy "$T/policy-e.json" \
	--nonce "${RD:0:64}"
grep -q '"ak_trust"' "$T/out"
# an ECC EK from an untrusted CA
expect_exit 1 cli challenge --info "$T/info-e.json" --policy "$T/policy.json" \
	--secret-out "$T/secret-e2"
echo "atoll tpm CLI flow: ok (RSA and ECC EKs)"
