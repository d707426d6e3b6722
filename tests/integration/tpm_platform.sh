#!/usr/bin/env bash
# TPM islands on the platform (issue 5), real processes on loopback:
# atoll-coordinator (with a TPM activation key) + atoll-island --tee tpm on a
# swtpm + the atoll client, a confidential job end to end. Then the
# registration refusals:
#   - AK from another TPM than the EK's (EK of TPM B, AK of TPM C): the TPM
#     cannot activate the credential, a guessed answer is refused (403);
#   - EK certificate from an untrusted CA: refused at the challenge (403
#     activation_refused, ek_chain), and atoll-island on that TPM exits 1;
#   - the coordinator without an activation key: 409 tpm_not_configured.
# A second island registers the ECC (P-384) EK of its TPM. Four swtpm
# instances from two local CAs (tests/integration/tpm_lib.sh).
# Usage: tpm_platform.sh BIN_DIR. Bounded (timeouts everywhere); every process
# started is killed and the temp dir removed on exit. Exit 77 (skip) without
# swtpm, openssl, curl or jq.
set -u
BIN=${1:?usage: tpm_platform.sh BIN_DIR}
ATOLL=$BIN/atoll
CO=$BIN/atoll-coordinator
ISL=$BIN/atoll-island
ENC=$BIN/atoll-enclave
. "$(dirname "$0")/tpm_lib.sh"
why=$(tpm_have_tools) || { echo "skip: $why"; exit 77; }
for tool in openssl curl jq; do
	command -v $tool >/dev/null 2>&1 || { echo "skip: $tool not installed"; exit 77; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/atl_tpmplat.XXXXXX")
PIDS=()
FAILS=0
SECRET="tpm-island canary-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	tpm_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
expect() {
	local want=$1 what=$2 got
	shift 2
	timeout 90 "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else
		bad "$what: exit $got, want $want"; sed 's/^/  stderr: /' "$T/err" | tail -8; fi
}
wait_grep() { # PATTERN FILE SECONDS
	local i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1; i=$((i + 1))
	done
}
# failed/passed NAME: the last verify result has check NAME with "ok": false/true
failed() { grep -A1 "\"name\": \"$1\"," "$T/out" | grep -q '"ok": false'; }
passed() { grep -A1 "\"name\": \"$1\"," "$T/out" | grep -q '"ok": true'; }
# post TOKEN PATH JSONFILE: HTTP status on stdout, body in $T/pbody
post() { curl -s --max-time 20 -o "$T/pbody" -w '%{http_code}' -H "Authorization: Bearer $1" \
	-H 'Content-Type: application/json' --data-binary @"$3" "$URL$2"; }

export ATOLL_KEYS=$T/keys
export ATOLL_LOG=info
unset ATOLL_COORDINATOR ATOLL_API_KEY

# ---------------------------------------------------------------- TPMs
tpm_setup_ca ca
tpm_setup_ca evil
tpm_manufacture tpmA ca || { echo "FAIL: swtpm_setup A"; exit 1; }
tpm_manufacture tpmB ca || { echo "FAIL: swtpm_setup B"; exit 1; }
tpm_manufacture tpmC evil || { echo "FAIL: swtpm_setup C"; exit 1; }
tpm_start tpmA || exit 1; TPM_A=$TPM_URI
tpm_start tpmB || exit 1; TPM_B=$TPM_URI
tpm_start tpmC || exit 1; TPM_C=$TPM_URI
tpm_manufacture tpmD ca --ecc || { echo "FAIL: swtpm_setup D"; exit 1; }
tpm_start tpmD || exit 1; TPM_D=$TPM_URI

# ---------------------------------------------------------------- coordinator
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/act.key" 2>/dev/null
openssl pkey -in "$T/act.key" -pubout -out "$T/act.pub" 2>/dev/null
expect 0 "atoll policy init --tee tpm" "$ATOLL" policy init --tee tpm --enclave "$ENC" \
	--ek-ca "$T/ca/swtpm-localca-rootca-cert.pem" --ek-intermediate "$T/ca/issuercert.pem" \
	--activation-key "$T/act.pub"
cp "$T/out" "$T/policy.json"
DB=$T/coord.db
timeout 30 "$CO" tenant add alice --db "$DB" >"$T/alice.key" 2>/dev/null || bad "tenant add"
for i in isl-tpm isl-evil isl-mix isl-ecc; do
	timeout 30 "$CO" island add $i --db "$DB" >"$T/$i.tok" 2>/dev/null || bad "island add $i"
done
timeout 30 "$CO" workload add --db "$DB" --id echo1 --kind echo --tee tpm >/dev/null 2>&1 ||
	bad "workload add"
KEY=$(cat "$T/alice.key")
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" --maint-s 1 \
	--tpm-activation-key "$T/act.key" >"$T/coord.out" 2>"$T/coord.log" &
PIDS+=($!)
wait_grep '^listening on ' "$T/coord.out" 20 || { echo "FAIL: coordinator did not start";
	cat "$T/coord.log"; exit 1; }
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/coord.out")"

# ---------------------------------------------------------------- refusals first
# (TPM A stays free: the island's enclave holds its socket once it runs)
expect 0 "atoll tpm info (TPM B)" "$ATOLL" tpm info --tpm "$TPM_B"
cp "$T/out" "$T/info-b.json"
expect 0 "atoll tpm info (TPM C)" "$ATOLL" tpm info --tpm "$TPM_C"
cp "$T/out" "$T/info-c.json"
# EK certificate and EK of TPM B (trusted CA), AK of TPM C
jq -s '{info: (.[0] + {ak_pub: .[1].ak_pub, ak_name: .[1].ak_name})}' "$T/info-b.json" \
	"$T/info-c.json" >"$T/mix.json"
MIX=$(cat "$T/isl-mix.tok")
check "AK of another TPM: the challenge is issued (EK chain ok)" \
	[ "$(post "$MIX" /api/v1/islands/tpm/challenge "$T/mix.json")" = 200 ]
jq .challenge "$T/pbody" >"$T/mix-ch.json"
expect 1 "  TPM B cannot activate it (its AK is another)" "$ATOLL" tpm activate --tpm "$TPM_B" \
	--challenge "$T/mix-ch.json"
expect 1 "  TPM C cannot activate it (its EK is another)" "$ATOLL" tpm activate --tpm "$TPM_C" \
	--challenge "$T/mix-ch.json"
jq --arg a "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" '. + {answer: $a}' \
	"$T/mix.json" >"$T/mix-ans.json"
check "  a guessed answer is refused (403)" \
	[ "$(post "$MIX" /api/v1/islands/tpm/activate "$T/mix-ans.json")" = 403 ]
check "  activation_refused" grep -q '"activation_refused"' "$T/pbody"
check "  no record issued" bash -c "! grep -q '\"activation\"' '$T/pbody'"
check "  a second guess is refused too (single use)" \
	[ "$(post "$MIX" /api/v1/islands/tpm/activate "$T/mix-ans.json")" = 403 ]
jq '{info: .}' "$T/info-c.json" >"$T/evil.json"
check "EK certificate from an untrusted CA: refused (403)" \
	[ "$(post "$(cat "$T/isl-evil.tok")" /api/v1/islands/tpm/challenge "$T/evil.json")" = 403 ]
check "  names ek_chain" grep -q 'ek_chain' "$T/pbody"
expect 1 "atoll-island on the untrusted TPM exits 1" "$ISL" --coordinator "$URL" \
	--token "$(cat "$T/isl-evil.tok")" --tee tpm --tpm "$TPM_C" --cache "$T/cache-evil" \
	--lease-wait 1
check "  says the registration was refused" grep -q 'TPM registration (challenge): 403' "$T/err"
expect 2 "atoll-island --tee tpm without --tpm" "$ISL" --coordinator "$URL" --token x --tee tpm
check "refused registrations are audited in the log" grep -q 'TPM activation refused' "$T/coord.log"

# ---------------------------------------------------------------- the tpm island
"$ISL" --coordinator "$URL" --token "$(cat "$T/isl-tpm.tok")" --tee tpm --tpm "$TPM_A" \
	--cache "$T/cache" --lease-wait 2 --reattest 30 >"$T/island.out" 2>"$T/island.log" &
ISLAND=$!
PIDS+=($ISLAND)
wait_grep 'attested: enclave key' "$T/island.log" 60 || { bad "tpm island attested";
	sed 's/^/  /' "$T/island.log" | tail -20; }
check "  registered (AK activated)" grep -q 'TPM registration: AK .* activated' "$T/island.log"
check "  record kept 0600" [ "$(stat -c %a "$T/cache/tpm-activation.json" 2>/dev/null)" = 600 ]
check "  coordinator logged the activation" grep -q 'TPM AK .* activated' "$T/coord.log"

# a second island registering the ECC (NIST P-384) EK of its TPM
"$ISL" --coordinator "$URL" --token "$(cat "$T/isl-ecc.tok")" --tee tpm --tpm "$TPM_D" \
	--tpm-ek ecc --cache "$T/cache-ecc" --lease-wait 2 --reattest 30 >"$T/island-ecc.out" \
	2>"$T/island-ecc.log" &
ISLAND_ECC=$!
PIDS+=($ISLAND_ECC)
wait_grep 'attested: enclave key' "$T/island-ecc.log" 60 || { bad "ECC-EK island attested";
	sed 's/^/  /' "$T/island-ecc.log" | tail -20; }
check "  its record names the ECC EK's certificate" [ "$(jq -r .ek_cert_sha256 \
	"$T/cache-ecc/tpm-activation.json")" != "$(jq -r .ek_cert_sha256 "$T/cache/tpm-activation.json")" ]

expect 0 "atoll targets (client verifies the tpm evidence itself)" "$ATOLL" targets \
	--workload echo1 --policy "$T/policy.json" --coordinator "$URL" --api-key "$KEY"
check "  the tpm island passes" grep -q '^PASS .*isl-tpm' "$T/out"
check "  the ECC-EK island passes" grep -q '^PASS .*isl-ecc' "$T/out"
export ATOLL_COORDINATOR=$URL ATOLL_API_KEY=$KEY
expect 0 "atoll keys create" "$ATOLL" keys create
expect 0 "atoll run: echo job on the tpm island" "$ATOLL" run --workload echo1 --text "$SECRET" \
	--policy "$T/policy.json"
check "  result is the input" [ "$(cat "$T/out")" = "$SECRET" ]
check "  no plaintext in the coordinator's log" bash -c "! grep -qF '$SECRET' '$T/coord.log'"
check "  no plaintext in the island's log" bash -c "! grep -qF '$SECRET' '$T/island.log'"
expect 0 "a second job (same enclave, same TPM session)" "$ATOLL" run --workload echo1 \
	--text "$SECRET-2" --policy "$T/policy.json"
check "  result is the input" [ "$(cat "$T/out")" = "$SECRET-2" ]
# the countersigned evidence the coordinator serves, verified offline without
# a nonce: fresh by the countersignature, refused when it is edited or removed
curl -s --max-time 20 -H "Authorization: Bearer $KEY" \
	"$URL/api/v1/confidential/targets?workload_id=echo1" | jq '.targets[0].evidence' >"$T/w.json"
expect 0 "served tpm evidence verifies without a nonce (freshness)" "$ATOLL" verify \
	--evidence "$T/w.json" --policy "$T/policy.json"
check "  freshness check passed" passed freshness
edit_native() { # JQ-FILTER OUT: the wrapper with its native evidence edited
	jq -r .evidence "$T/w.json" | base64 -d | jq -c "$1" >"$T/nat.json"
	jq --arg e "$(base64 -w0 <"$T/nat.json")" '.evidence = $e' "$T/w.json" >"$2"
}
edit_native '.freshness.issued_at += 600' "$T/w-edited.json"
expect 1 "  an edited countersignature is refused" "$ATOLL" verify --evidence "$T/w-edited.json" \
	--policy "$T/policy.json"
check "  names freshness" failed freshness
edit_native 'del(.freshness)' "$T/w-bare.json"
expect 1 "  without it: no time, no nonce" "$ATOLL" verify --evidence "$T/w-bare.json" \
	--policy "$T/policy.json"
check "  names age" failed age
# a client whose policy does not trust this coordinator's activation key
jq 'del(.tpm.activation_keys)' "$T/policy.json" >"$T/noact-policy.json"
expect 1 "a policy without the activation key refuses the island" "$ATOLL" targets \
	--workload echo1 --policy "$T/noact-policy.json" --coordinator "$URL" --api-key "$KEY"
check "  says why (ak_trust)" grep -q 'REFUSED.*ak_trust' "$T/out"
grep -q 'REFUSED.*ak_trust' "$T/out" || sed 's/^/  out: /' "$T/out"

kill -TERM "$ISLAND"
timeout 20 tail --pid="$ISLAND" -f /dev/null
wait "$ISLAND"
check "island stops on SIGTERM (exit 0)" [ $? = 0 ]
kill -TERM "$ISLAND_ECC"
timeout 20 tail --pid="$ISLAND_ECC" -f /dev/null
wait "$ISLAND_ECC"
check "ECC-EK island stops on SIGTERM (exit 0)" [ $? = 0 ]

# ---------------------------------------------------------------- no activation key
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null
"$CO" serve --listen 127.0.0.1:0 --db "$DB" --policy "$T/policy.json" \
	>"$T/coord2.out" 2>"$T/coord2.log" &
PIDS+=($!)
wait_grep '^listening on ' "$T/coord2.out" 20 || bad "coordinator restarted"
URL="http://127.0.0.1:$(sed -n 's/^listening on //p' "$T/coord2.out")"
check "no activation key: 409" \
	[ "$(post "$(cat "$T/isl-tpm.tok")" /api/v1/islands/tpm/challenge "$T/mix.json")" = 409 ]
check "  tpm_not_configured" grep -q 'tpm_not_configured' "$T/pbody"

if grep -q 'Sanitizer' "$T"/*.log 2>/dev/null; then
	bad "sanitizer report in a log"; grep -h -A5 'Sanitizer' "$T"/*.log | head -40
fi
[ "$FAILS" = 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "tpm platform: ok"
