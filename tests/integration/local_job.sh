#!/usr/bin/env bash
# End-to-end test of `atoll local` (issue 3 demo path): a job sealed to an
# attested sim enclave comes back opened and intact; a changed enclave binary,
# another simulation root, a broken policy and bad usage are each refused with
# the documented exit code, and no plaintext reaches stdout on a refusal.
# Usage: local_job.sh BIN_DIR. Bounded (timeout per command); temp dir removed.
set -u
BIN=${1:?usage: local_job.sh BIN_DIR}
ATOLL=$BIN/atoll
ENCLAVE=$BIN/atoll-enclave
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_local_job.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
SECRET="patient 4711: HbA1c 6.1%, no hypertension"

run() { timeout 60 "$@"; }

expect() {
	local want=$1 what=$2 got
	shift 2
	run "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, want $want"
		sed 's/^/  stderr: /' "$T/err" | tail -5
		FAILS=$((FAILS + 1))
	else
		echo "ok: $what (exit $got)"
	fi
	if [ "$want" != 0 ] && grep -q "HbA1c" "$T/out"; then
		echo "FAIL: $what: plaintext on stdout of a refused run"
		FAILS=$((FAILS + 1))
	fi
}

run "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
run "$ATOLL" sim init --dir "$T/other" >/dev/null 2>&1 || { echo "FAIL: sim init other"; exit 1; }
run "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENCLAVE" \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }

# Happy path: text and file input, result identical to the input.
expect 0 "local job (text)" "$ATOLL" local --enclave "$ENCLAVE" --tee sim --sim-root "$T/root" \
	--policy "$T/policy.json" --text "$SECRET"
if [ "$(cat "$T/out")" != "$SECRET" ]; then
	echo "FAIL: result differs from the input"; FAILS=$((FAILS + 1))
fi
for s in "[1/6]" "[3/6]" "[6/6]" "NO hardware protection"; do
	grep -qF "$s" "$T/err" || { echo "FAIL: missing '$s' on stderr"; FAILS=$((FAILS + 1)); }
done
head -c 200000 /dev/urandom >"$T/in.bin"
expect 0 "local job (200 kB binary file)" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/root" --policy "$T/policy.json" --input "$T/in.bin"
cmp -s "$T/out" "$T/in.bin" || { echo "FAIL: binary result differs"; FAILS=$((FAILS + 1)); }
printf '' >"$T/empty"
expect 0 "local job (empty input)" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/root" --policy "$T/policy.json" --input "$T/empty"

# The classifier workload with a pinned model (trained here on the UCI data).
DATA=$(cd "$(dirname "$0")/../.." && pwd)/data/breast_cancer.csv
if run "$ATOLL" train classifier --csv "$DATA" --out "$T/model.json" >/dev/null 2>&1; then
	sed -n 2,4p "$DATA" | cut -d, -f1-30 >"$T/rows.csv"
	expect 0 "classifier job with a pinned model" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
		--sim-root "$T/root" --policy "$T/policy.json" --input "$T/rows.csv" --model "$T/model.json"
	grep -q '"predictions"' "$T/out" || { echo "FAIL: no predictions"; FAILS=$((FAILS + 1)); }
	expect 2 "missing model file" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
		--sim-root "$T/root" --policy "$T/policy.json" --input "$T/rows.csv" --model "$T/nope.json"
	printf 'not,a,number\n' >"$T/bad.csv"
	expect 0 "classifier job on malformed rows: a sealed error result" "$ATOLL" local \
		--enclave "$ENCLAVE" --tee sim --sim-root "$T/root" --policy "$T/policy.json" \
		--input "$T/bad.csv" --model "$T/model.json"
	grep -q '"bad_input"' "$T/out" || { echo "FAIL: no bad_input error result"; FAILS=$((FAILS + 1)); }
	printf '{"instances":[[1,2,3]]}' >"$T/narrow.json"
	expect 0 "classifier job with the wrong width: a sealed error result" "$ATOLL" local \
		--enclave "$ENCLAVE" --tee sim --sim-root "$T/root" --policy "$T/policy.json" \
		--input "$T/narrow.json" --model "$T/model.json"
	grep -q '"error"' "$T/out" || { echo "FAIL: no error result"; FAILS=$((FAILS + 1)); }
else
	echo "FAIL: atoll train classifier"; FAILS=$((FAILS + 1))
fi

# A changed enclave binary has another measurement: refused before sealing.
cp "$ENCLAVE" "$T/enclave-changed"
printf 'x' >>"$T/enclave-changed"
expect 1 "changed enclave binary refused" "$ATOLL" local --enclave "$T/enclave-changed" \
	--tee sim --sim-root "$T/root" --policy "$T/policy.json" --text "$SECRET"
grep -q "measurement" "$T/err" || { echo "FAIL: reason should name the measurement"; FAILS=$((FAILS + 1)); }

# An enclave signing with another simulation root: refused.
expect 1 "other simulation root refused" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/other" --policy "$T/policy.json" --text "$SECRET"

# A policy that does not allow sim: refused.
sed 's/"allow_sim": true/"allow_sim": false/' "$T/policy.json" >"$T/nosim.json"
expect 1 "policy without allow_sim refused" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/root" --policy "$T/nosim.json" --text "$SECRET"

# Broken inputs and usage.
printf '{"tee_types":["sim"],"bogus":1}' >"$T/bad-policy.json"
expect 2 "unknown policy field" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/root" --policy "$T/bad-policy.json" --text x
expect 2 "missing policy file" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/root" --policy "$T/nope.json" --text x
expect 2 "no input" "$ATOLL" local --enclave "$ENCLAVE" --tee sim --sim-root "$T/root" \
	--policy "$T/policy.json"
expect 2 "missing input file" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--sim-root "$T/root" --policy "$T/policy.json" --input "$T/nope"
expect 2 "enclave program missing" "$ATOLL" local --enclave "$T/no-such-enclave" --tee sim \
	--sim-root "$T/root" --policy "$T/policy.json" --text x
expect 2 "sim without --sim-root" "$ATOLL" local --enclave "$ENCLAVE" --tee sim \
	--policy "$T/policy.json" --text x
expect 0 "--help" "$ATOLL" local --help
expect 2 "enclave without a mode" "$ENCLAVE" --tee sim
expect 2 "enclave --serve with a bad --skew" "$ENCLAVE" --serve --tee sim --sim-root "$T/root" --skew 0
expect 0 "enclave --help" "$ENCLAVE" --help

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS failure(s)"
	exit 1
fi
echo "all local-job checks passed"
