#!/usr/bin/env bash
# make demo TEE=tpm: the demo on software TPMs (swtpm) it starts and stops
# (issue 5). scripts/demo.sh hands over here for TEE=tpm.
#   1. two TPMs manufactured by swtpm_setup with EK certificates from a local
#      CA (the stand-in for a TPM vendor's CA), started on loopback
#   2. one-shot attestation of the enclave build: its SHA-384 is extended
#      into PCR 23 and quoted with the nonce's binding
#   3. a policy for exactly this build (the PCR 23 value it implies, the EK
#      CA, the coordinator's activation key) and verification
#   4. the same with a changed enclave binary: refused (pcr_policy)
#   5. the platform: atoll-coordinator, two atoll-island --tee tpm processes
#      (each registers its TPM: EK chain checked, AK activated), sandboxed
#      enclaves quoting on their TPM, and the client: the classifier predicts
#      the held-out rows of the UCI breast-cancer data confidentially;
#      accuracy and proof that the operator side holds no plaintext
# Usage: scripts/demo_tpm.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bin
SRC=$(cd "$(dirname "$0")/.." && pwd)
for p in atoll atoll-enclave atoll-coordinator atoll-island; do
	[ -x "$BIN/$p" ] || { echo "demo: $BIN/$p missing: run 'make build' first" >&2; exit 2; }
done
for tool in swtpm swtpm_setup swtpm_localca certtool openssl python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "demo: TEE=tpm needs $tool (apt-get install swtpm swtpm-tools gnutls-bin)" >&2; exit 2; }
done
ATOLL=$(cd "$BIN" && pwd)/atoll
ENCLAVE=$(cd "$BIN" && pwd)/atoll-enclave
COORD=$(cd "$BIN" && pwd)/atoll-coordinator
ISLAND=$(cd "$BIN" && pwd)/atoll-island
T=$(mktemp -d "${TMPDIR:-/tmp}/atoll-demo-tpm.XXXXXX")
W=$T
. "$SRC/tests/integration/tpm_lib.sh"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	tpm_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
wait_for() {
	local i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ "$i" -lt $(($3 * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}
export ATOLL_LOG=${ATOLL_LOG:-warn}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show_checks() {
	python3 - "$1" <<'PY' 2>/dev/null || grep '"status"' "$1"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"status: {r['status']}")
for c in r.get("checks", []):
    print(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']:<12} {c.get('detail', '')[:90]}")
PY
}

say "1. Two software TPMs (swtpm) with EK certificates from a local CA"
tpm_setup_ca vendor-ca
for i in 1 2; do
	tpm_manufacture tpm-$i vendor-ca
	tpm_start tpm-$i
	eval "TPM_$i=\$TPM_URI"
	echo "tpm-$i: $TPM_URI (EK certificate issued by the local CA)"
done

say "2. Attest the enclave build once: SHA-384 into PCR 23, quoted with the nonce"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$W/activation.key" 2>/dev/null
openssl pkey -in "$W/activation.key" -pubout -out "$W/activation.pub" 2>/dev/null
"$ATOLL" policy init --tee tpm --enclave "$ENCLAVE" \
	--ek-ca "$T/vendor-ca/swtpm-localca-rootca-cert.pem" \
	--ek-intermediate "$T/vendor-ca/issuercert.pem" --activation-key "$W/activation.pub" \
	>"$W/policy.json"
# the AK activation, done by hand once (the islands in step 5 do it with the coordinator)
"$ATOLL" tpm info --tpm "$TPM_1" >"$W/info.json"
"$ATOLL" tpm challenge --info "$W/info.json" --policy "$W/policy.json" --secret-out "$W/secret" \
	>"$W/challenge.json"
ANSWER=$("$ATOLL" tpm activate --tpm "$TPM_1" --challenge "$W/challenge.json")
"$ATOLL" tpm record --info "$W/info.json" --secret "$W/secret" --answer "$ANSWER" \
	--key "$W/activation.key" >"$W/record.json"
echo "AK $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ak_name"][:24])' "$W/record.json")… activated against the certified EK of tpm-1"
NONCE=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$ENCLAVE" --tee tpm --tpm "$TPM_1" --tpm-activation "$W/record.json" --attest \
	--nonce "$NONCE" >"$W/evidence.json" 2>/dev/null
echo "nonce    $NONCE"
echo "evidence $(wc -c <"$W/evidence.json") bytes (TPM2_Quote, AK public area, PCR 23, EK certificate)"

say "3. A policy that accepts exactly this build on a certified TPM, and verification"
echo "policy: $(tr -d '\n ' <"$W/policy.json" | sed 's/-----BEGIN[^"]*-----END[^"]*-----/<PEM>/g' | head -c 200)..."
"$ATOLL" verify --evidence "$W/evidence.json" --policy "$W/policy.json" --nonce "$NONCE" \
	>"$W/result.json" 2>/dev/null
show_checks "$W/result.json"

say "4. The same with a changed enclave binary (on tpm-2)"
cp "$ENCLAVE" "$W/atoll-enclave-changed"
printf 'tampered' >>"$W/atoll-enclave-changed"
chmod +x "$W/atoll-enclave-changed"
"$W/atoll-enclave-changed" --tee tpm --tpm "$TPM_2" --attest --nonce "$NONCE" \
	>"$W/evidence-changed.json" 2>/dev/null
if "$ATOLL" verify --evidence "$W/evidence-changed.json" --policy "$W/policy.json" \
	--nonce "$NONCE" >"$W/result-changed.json" 2>/dev/null; then
	echo "demo: a changed enclave was accepted" >&2
	exit 1
fi
show_checks "$W/result-changed.json" | grep -E "status|FAIL"

say "5. The platform: coordinator, two TPM islands with sandboxed enclaves, client"
# tpm-2's PCR 23 holds the changed build's measurement now: restart it from
# its state so it starts with fresh PCRs, as a rebooted host would
tpm_stop_all
tpm_start tpm-1; TPM_1=$TPM_URI
tpm_start tpm-2; TPM_2=$TPM_URI
awk -F, 'NR == 1 { next } (NR - 2) % 5 == 0 { print > "'"$W"'/test.csv"; next } { print > "'"$W"'/train.body" }' \
	"$SRC/data/breast_cancer.csv"
{ echo "$(wc -l <"$W/train.body"),30,malignant,benign"; cat "$W/train.body"; } >"$W/train.csv"
cut -d, -f1-30 "$W/test.csv" >"$W/test-features.csv"
"$ATOLL" train classifier --csv "$W/train.csv" --out "$W/model.json" --test-frac 0 2>&1 |
	grep -E "trained|model:|sha256" | sed 's/^/  /'
DB=$W/coordinator.db
"$COORD" tenant add demo-clinic --db "$DB" >"$W/api.key" 2>/dev/null
"$COORD" island add island-1 --db "$DB" >"$W/island-1.token" 2>/dev/null
"$COORD" island add island-2 --db "$DB" >"$W/island-2.token" 2>/dev/null
"$COORD" workload add --db "$DB" --id breast-cancer --kind classifier --model "$W/model.json" \
	--tee tpm >/dev/null 2>&1
"$COORD" serve --listen 127.0.0.1:0 --db "$DB" --policy "$W/policy.json" \
	--tpm-activation-key "$W/activation.key" >"$W/coordinator.out" 2>"$W/coordinator.log" &
PIDS+=($!)
wait_for '^listening on ' "$W/coordinator.out" 20 || { cat "$W/coordinator.log" >&2; exit 1; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$W/coordinator.out")"
echo "atoll-coordinator listening on $URL (activation key for TPM islands)"
for i in 1 2; do
	eval "U=\$TPM_$i"
	ATOLL_LOG=info ATOLL_ISLAND_TOKEN=$(cat "$W/island-$i.token") "$ISLAND" --coordinator "$URL" \
		--tee tpm --tpm "$U" --enclave "$ENCLAVE" --cache "$W/island-$i-cache" \
		--lease-wait 2 >"$W/island-$i.out" 2>"$W/island-$i.log" &
	PIDS+=($!)
done
for i in 1 2; do
	wait_for 'attested: enclave key' "$W/island-$i.log" 60 || { cat "$W/island-$i.log" >&2; exit 1; }
	echo "atoll-island island-$i registered tpm-$i (EK chain, AK activation), started its enclave and attested it"
done
export ATOLL_KEYS=$W/client ATOLL_COORDINATOR=$URL ATOLL_API_KEY
ATOLL_API_KEY=$(cat "$W/api.key")
echo "client key: $("$ATOLL" keys create 2>/dev/null)"
"$ATOLL" targets --workload breast-cancer --policy "$W/policy.json" 2>/dev/null | sed 's/^/  /'
echo "input: $(wc -l <"$W/test-features.csv") held-out patients' 30 tumour features, sealed here"
"$ATOLL" run --workload breast-cancer --input "$W/test-features.csv" --policy "$W/policy.json" \
	>"$W/prediction.json"
echo "opened result: $(head -c 150 "$W/prediction.json")..."
python3 - "$W/prediction.json" "$W/test.csv" <<'PY' || { echo "demo: cannot score the predictions" >&2; exit 1; }
import json, sys
pred = json.load(open(sys.argv[1]))["predictions"]
truth = [["malignant", "benign"][int(l.strip().split(",")[-1])] for l in open(sys.argv[2])]
ok = sum(p["label"] == t for p, t in zip(pred, truth))
print(f"accuracy on the held-out rows, computed confidentially: {ok}/{len(truth)} = {100 * ok / len(truth):.2f}%")
PY
LEAK=0
while IFS= read -r row; do
	if grep -aqF "$row" "$DB"* "$W/coordinator.log" "$W"/island-*.log 2>/dev/null; then LEAK=1; fi
done < <(head -20 "$W/test-features.csv")
[ "$LEAK" = 0 ] || { echo "demo: plaintext found on the operator side" >&2; exit 1; }
echo "searched the coordinator's database files and the coordinator and island logs for the"
echo "input rows: none found (they only ever held ciphertext)"
"$ATOLL" stats 2>/dev/null | tr -d '\n ' | sed 's/^/stats: /'; echo

say "Done: enclaves measured into TPMs with certified EKs, AKs activated by the coordinator, quotes verified by the client itself; a changed build was refused; confidential predictions on TPM islands. (swtpm processes stopped.)"
