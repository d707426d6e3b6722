#!/usr/bin/env bash
# `atoll verify --tee ...` on real samples (tests/vectors/attestation, see its
# PROVENANCE files): accepted ones exit 0, refused ones 1 with the failed check
# named, usage errors 2. Usage: cli_verify_native.sh BIN_DIR VECTORS_DIR.
set -u
BIN=${1:?usage: cli_verify_native.sh BIN_DIR VECTORS_DIR}
V=${2:?usage: cli_verify_native.sh BIN_DIR VECTORS_DIR}
ATOLL=$BIN/atoll
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_verify_native.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0

expect() {
	local want=$1 what=$2 got
	shift 2
	timeout 60 "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, want $want"
		sed 's/^/  stderr: /' "$T/err" | tail -5
		FAILS=$((FAILS + 1))
	else
		echo "ok: $what (exit $got)"
	fi
}

SNP=$V/sev-snp
expect 0 "SEV-SNP Milan report (virtee) at its reference time" "$ATOLL" verify --tee sev-snp \
	--evidence "$SNP/virtee-sev/report_milan.hex" --collateral "$SNP/virtee-sev/vcek_milan.der" \
	--time 2023-05-02T00:00:00Z
grep -q '"status": "affirming"' "$T/out" || { echo "FAIL: not affirming"; FAILS=$((FAILS + 1)); }
expect 1 "SEV-SNP report whose guest policy allows debug (go-sev-guest)" "$ATOLL" verify \
	--tee sev-snp --evidence "$SNP/go-sev-guest/attestation.bin" \
	--collateral "$SNP/go-sev-guest/vcek.testcer" --anchor "$SNP/go-sev-guest/ask_ark_milan.pem" \
	--time 2022-09-24T01:00:00Z
grep -q "REFUSED" "$T/err" || { echo "FAIL: refusal not reported"; FAILS=$((FAILS + 1)); }
expect 1 "SEV-SNP report with the wrong VCEK" "$ATOLL" verify --tee sev-snp \
	--evidence "$SNP/virtee-sev/report_milan.hex" --collateral "$SNP/virtee-sev/vcek_turin.der" \
	--time 2023-05-02T00:00:00Z
D=$V/tdx/dcap-qvl
expect 0 "TDX quote v4 with full collateral (UpToDate)" "$ATOLL" verify --tee tdx \
	--evidence "$D/tdx_quote" --collateral "$D/tdx_quote_collateral.json" \
	--anchor "$D/TrustedRootCA.der" --time 2025-07-19T10:00:34Z
expect 1 "TDX quote v5 with no matching TCB level" "$ATOLL" verify --tee tdx \
	--evidence "$D/tdx_quote_outdated" --collateral "$D/tdx_quote_outdated_collateral.json" \
	--anchor "$D/TrustedRootCA.der" --time 2026-03-20T10:41:14Z
S=$V/sgx/dcap-qvl
expect 1 "SGX quote with ConfigurationAndSWHardeningNeeded: warning, not affirming" "$ATOLL" \
	verify --tee sgx --evidence "$S/sgx_quote" --collateral "$S/sgx_quote_collateral.json" \
	--anchor "$S/TrustedRootCA.der" --time 2025-07-19T10:01:17Z
grep -q '"status": "warning"' "$T/out" || { echo "FAIL: SGX status should be warning"; FAILS=$((FAILS + 1)); }
grep -q "INTEL-SA-00289" "$T/out" || { echo "FAIL: advisory ids missing"; FAILS=$((FAILS + 1)); }
N=$V/nitro
# eternis: authentic (TSV "valid"), but its PCR0 is all zero: a debug enclave, refused by default
expect 1 "Nitro document, base64 text (eternis): authentic, debug" "$ATOLL" verify --tee nitro \
	--evidence "$N/eternis/example_attestation" --time 2024-09-09T19:49:12Z
grep -q '"name": "nitro.signature"' "$T/out" && ! grep -B3 '"ok": false' "$T/out" | grep -q nitro.signature ||
	{ echo "FAIL: eternis should verify its signature"; FAILS=$((FAILS + 1)); }
grep -B3 '"ok": false' "$T/out" | grep -q '"name": "debug"' || { echo "FAIL: eternis refused for debug"; FAILS=$((FAILS + 1)); }
expect 0 "Nitro document in dstack framing, indefinite-length map (nsm-qvl)" "$ATOLL" verify \
	--tee nitro --evidence "$N/dstack/nsm-qvl_nitro_attestation.bin" --time 2025-12-25T13:15:37Z
expect 0 "Nitro document in SCALE framing (dstack-attest)" "$ATOLL" verify --tee nitro \
	--evidence "$N/dstack/dstack-attest_nitro_attestation.bin" --time 2025-12-25T16:04:19Z
expect 1 "Nitro debug enclave (PCR0 all zero) refused by default" "$ATOLL" verify --tee nitro \
	--evidence "$N/dstack/dstack-attest_nitro_attestation_dbg.bin" --time 2025-12-25T08:20:46Z
grep -q "allow_debug" "$T/out" || { echo "FAIL: debug reason missing"; FAILS=$((FAILS + 1)); }
expect 1 "Nitro document with a bad COSE signature" "$ATOLL" verify --tee nitro \
	--evidence "$N/eternis/invalid_attestation" --time 2024-07-23T21:29:40Z
grep -q "nitro.signature" "$T/out" || { echo "FAIL: signature reason missing"; FAILS=$((FAILS + 1)); }
P=$V/psa-cca
expect 0 "PSA 2.0 token with its IAK as --anchor" "$ATOLL" verify --tee psa \
	--evidence "$P/psatoken/psa-2_0_0_sign1.bin" --anchor "$P/psatoken/public.pem"
expect 0 "PSA IoT-1 token" "$ATOLL" verify --tee psa \
	--evidence "$P/psatoken/psa-iot-1_sign1.bin" --anchor "$P/psatoken/public.pem"
expect 1 "PSA token in a COSE_Mac0 (not a signature)" "$ATOLL" verify --tee psa \
	--evidence "$P/psatoken/psa-2_0_0_mac0.bin" --anchor "$P/psatoken/public.pem"
expect 1 "PSA token without its IAK" "$ATOLL" verify --tee psa \
	--evidence "$P/psatoken/psa-2_0_0_sign1.bin"
expect 0 "CCA token (platform + realm, binding)" "$ATOLL" verify --tee cca \
	--evidence "$P/ccatoken/cca_token.cbor" --anchor "$P/ccatoken/cca_platform.pub"
G=$V/nvidia-gpu
expect 0 "NVIDIA Hopper SPDM report with its device chain (nvtrust)" "$ATOLL" verify \
	--tee nvidia-gpu --evidence "$G/nvtrust/hopperAttestationReport.txt" \
	--collateral "$G/nvtrust/hopperCertChain.txt" --time 2026-01-01T00:00:00Z
for c in 2 3 4; do
	expect 1 "NVIDIA report with broken chain case $c" "$ATOLL" verify --tee nvidia-gpu \
		--evidence "$G/trustee/hopper_coco_report1.txt" \
		--collateral "$G/trustee/hopper_cert_chain_case$c.txt" --time 2026-01-01T00:00:00Z
	grep -B3 '"ok": false' "$T/out" | grep -qE '"name": "nvgpu\.(chain|fwid)"' ||
		{ echo "FAIL: case $c reason should be nvgpu.chain/fwid"; FAILS=$((FAILS + 1)); }
done
head -c 300 /dev/urandom >"$T/garbage"
expect 1 "garbage as SEV-SNP evidence" "$ATOLL" verify --tee sev-snp --evidence "$T/garbage"
: >"$T/empty"
expect 1 "empty TDX evidence" "$ATOLL" verify --tee tdx --evidence "$T/empty"
expect 2 "--collateral without --tee" "$ATOLL" verify --evidence "$T/garbage" --collateral "$T/garbage"
expect 2 "unknown TEE kind" "$ATOLL" verify --tee no-such-tee --evidence "$T/garbage"
expect 2 "missing evidence file" "$ATOLL" verify --tee sev-snp --evidence "$T/nope"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS failure(s)"
	exit 1
fi
echo "all native verification checks passed"
