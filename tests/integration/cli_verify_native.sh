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
