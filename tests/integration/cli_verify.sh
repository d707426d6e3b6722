#!/usr/bin/env bash
# End-to-end test of attestation through the CLI (issue 3): sim root, one-shot
# enclave evidence, policy for that build, verification; then every refusal
# through the CLI with its exit code (1 refused/invalid, 2 usage/IO/policy).
# Usage: cli_verify.sh BIN_DIR. Bounded (timeout per command), temp dir removed.
set -u
BIN=${1:?usage: cli_verify.sh BIN_DIR}
ATOLL=$BIN/atoll
ENCLAVE=$BIN/atoll-enclave
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_cli_verify.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
NONCE=00112233445566778899aabbccddeeff
OTHER=ffeeddccbbaa99887766554433221100

run() { timeout 30 "$@"; }

# expect CODE DESCRIPTION CMD... : runs CMD, checks its exit status.
expect() {
	local want=$1 what=$2 got
	shift 2
	run "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, want $want"
		sed 's/^/  stderr: /' "$T/err" | head -5
		FAILS=$((FAILS + 1))
	else
		echo "ok: $what (exit $got)"
	fi
}

# expect_check NAME: the last result's first failed check is NAME.
expect_refused_by() {
	if ! grep -q "check '$1' failed" "$T/err"; then
		echo "FAIL: expected refusal by check '$1'"; sed 's/^/  stderr: /' "$T/err" | tail -2
		FAILS=$((FAILS + 1))
	fi
}

b64flip() { # flips the first character of the "signature" value in native evidence
	sed -E 's/"signature":"(.)/"signature":"\1\n/' | { IFS= read -r a; IFS= read -r b
		c=${a: -1}; a=${a%?}; if [ "$c" = A ]; then c=B; else c=A; fi; printf '%s%s%s' "$a" "$c" "$b"; }
}

# --- help and usage ---
for c in "sim" "policy" "verify"; do
	expect 0 "atoll $c --help" "$ATOLL" $c --help
done
expect 0 "atoll sim init --help" "$ATOLL" sim init --help
expect 0 "atoll policy init --help" "$ATOLL" policy init --help
expect 0 "atoll-enclave --help" "$ENCLAVE" --help
expect 2 "atoll verify without arguments" "$ATOLL" verify
expect 2 "atoll sim init without --dir" "$ATOLL" sim init
expect 2 "atoll-enclave without a mode" "$ENCLAVE"
expect 2 "atoll-enclave --attest without --tee" "$ENCLAVE" --attest --nonce $NONCE

# --- the happy path ---
expect 0 "sim init" "$ATOLL" sim init --dir "$T/sim"
grep -q "NO hardware protection" "$T/err" || { echo "FAIL: sim init gave no warning"; FAILS=$((FAILS + 1)); }
[ "$(stat -c %a "$T/sim/sim-root.key")" = 600 ] || { echo "FAIL: key mode"; FAILS=$((FAILS + 1)); }
expect 1 "sim init refuses to overwrite" "$ATOLL" sim init --dir "$T/sim"
expect 0 "second sim root" "$ATOLL" sim init --dir "$T/sim2"

expect 0 "enclave --attest" "$ENCLAVE" --tee sim --sim-root "$T/sim" --attest --nonce $NONCE
cp "$T/out" "$T/ev.json"
grep -q "NO hardware protection" "$T/err" || { echo "FAIL: enclave gave no warning"; FAILS=$((FAILS + 1)); }
expect 0 "policy init" "$ATOLL" policy init --sim-root "$T/sim/sim-root.pub.pem" --enclave "$ENCLAVE"
cp "$T/out" "$T/policy.json"
expect 0 "policy check" "$ATOLL" policy check "$T/policy.json"
grep -q "NO hardware protection" "$T/err" || { echo "FAIL: policy check gave no sim warning"; FAILS=$((FAILS + 1)); }

expect 0 "verify accepts" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/policy.json" --nonce $NONCE
grep -q '"status": "warning"' "$T/out" || { echo "FAIL: status not warning"; FAILS=$((FAILS + 1)); }
grep -q "NO hardware protection" "$T/err" || { echo "FAIL: verify gave no sim warning"; FAILS=$((FAILS + 1)); }
expect 0 "verify from stdin" bash -c "'$ATOLL' verify --evidence - --policy '$T/policy.json' < '$T/ev.json'"
expect 0 "verify with the root as --anchor" "$ATOLL" verify --evidence "$T/ev.json" \
	--policy "$T/policy.json" --anchor "$T/sim/sim-root.pub.pem" --nonce $NONCE

# --- refusals (exit 1) ---
expect 1 "wrong nonce" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/policy.json" --nonce $OTHER
expect_refused_by nonce
LATER=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
expect 1 "stale evidence" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/policy.json" \
	--nonce $NONCE --time "$LATER"
expect_refused_by age
EARLIER=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
expect 1 "evidence from the future" "$ATOLL" verify --evidence "$T/ev.json" \
	--policy "$T/policy.json" --nonce $NONCE --time "$EARLIER"
expect_refused_by age

sed 's/"allow_sim": true/"allow_sim": false/' "$T/policy.json" >"$T/nosim.json"
expect 1 "sim not allowed" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/nosim.json" --nonce $NONCE
expect_refused_by allow_sim
expect 1 "no policy: sim refused by default" "$ATOLL" verify --evidence "$T/ev.json" --nonce $NONCE
expect_refused_by tee_type

expect 0 "policy for another binary" "$ATOLL" policy init --sim-root "$T/sim/sim-root.pub.pem" --enclave "$ATOLL"
cp "$T/out" "$T/othermeas.json"
expect 1 "wrong measurement" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/othermeas.json" --nonce $NONCE
expect_refused_by measurement

expect 0 "policy pinning another root" "$ATOLL" policy init --sim-root "$T/sim2/sim-root.pub.pem" --enclave "$ENCLAVE"
cp "$T/out" "$T/otherroot.json"
expect 1 "wrong root" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/otherroot.json" --nonce $NONCE
expect_refused_by signature

# evidence from an enclave under another root
expect 0 "enclave under root 2" "$ENCLAVE" --tee sim --sim-root "$T/sim2" --attest --nonce $NONCE
cp "$T/out" "$T/ev2.json"
expect 1 "evidence by an unpinned root" "$ATOLL" verify --evidence "$T/ev2.json" --policy "$T/policy.json" --nonce $NONCE
expect_refused_by signature

# tampered signature: flip one base64 character of the native signature
EV=$(sed -E 's/.*"evidence":"([^"]*)".*/\1/' "$T/ev.json")
NAT=$(printf '%s' "$EV" | base64 -d | b64flip | base64 -w0)
sed -E "s|\"evidence\":\"[^\"]*\"|\"evidence\":\"$NAT\"|" "$T/ev.json" >"$T/tampered.json"
expect 1 "tampered signature" "$ATOLL" verify --evidence "$T/tampered.json" --policy "$T/policy.json" --nonce $NONCE
expect_refused_by signature

# another enclave's key in the wrapper: the report data does not bind it
KEY2=$(sed -E 's/.*"enclave_key":"([^"]*)".*/\1/' "$T/ev2.json")
sed -E "s|\"enclave_key\":\"[^\"]*\"|\"enclave_key\":\"$KEY2\"|" "$T/ev.json" >"$T/swapped.json"
expect 1 "enclave key swapped" "$ATOLL" verify --evidence "$T/swapped.json" --policy "$T/policy.json" --nonce $NONCE
expect_refused_by report_data

# garbage, truncated, empty, huge
printf 'not json at all \001\002' >"$T/garbage"
expect 1 "garbage evidence" "$ATOLL" verify --evidence "$T/garbage" --policy "$T/policy.json"
expect_refused_by format
head -c 200 "$T/ev.json" >"$T/truncated"
expect 1 "truncated evidence" "$ATOLL" verify --evidence "$T/truncated" --policy "$T/policy.json"
: >"$T/empty"
expect 1 "empty evidence" "$ATOLL" verify --evidence "$T/empty" --policy "$T/policy.json"
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' '[' >"$T/huge"
expect 1 "huge evidence" "$ATOLL" verify --evidence "$T/huge" --policy "$T/policy.json"
grep -q "larger than" "$T/out" || { echo "FAIL: huge: no reason"; FAILS=$((FAILS + 1)); }
head -c 100000 /dev/zero | tr '\0' '[' >"$T/deep"
expect 1 "deeply nested evidence" "$ATOLL" verify --evidence "$T/deep" --policy "$T/policy.json"

# --- usage, I/O and policy errors (exit 2) ---
sed 's/"allow_sim": true/"allow_sim": true, "allow_everything": true/' "$T/policy.json" >"$T/unknown.json"
expect 2 "unknown policy field" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/unknown.json"
grep -q "allow_everything" "$T/err" || { echo "FAIL: reason does not name the field"; FAILS=$((FAILS + 1)); }
expect 1 "policy check names the unknown field" "$ATOLL" policy check "$T/unknown.json"
expect 2 "missing evidence file" "$ATOLL" verify --evidence "$T/nonexistent" --policy "$T/policy.json"
expect 2 "missing policy file" "$ATOLL" verify --evidence "$T/ev.json" --policy "$T/nonexistent"
expect 2 "bad nonce hex" "$ATOLL" verify --evidence "$T/ev.json" --nonce xyz
expect 2 "bad time" "$ATOLL" verify --evidence "$T/ev.json" --time yesterday
expect 2 "unknown option" "$ATOLL" verify --evidence "$T/ev.json" --frobnicate
expect 2 "enclave: no sim root there" "$ENCLAVE" --tee sim --sim-root "$T/nonexistent" --attest --nonce $NONCE
expect 2 "enclave: bad nonce" "$ENCLAVE" --tee sim --sim-root "$T/sim" --attest --nonce 0
expect 2 "policy init: not a key" "$ATOLL" policy init --sim-root "$T/garbage" --enclave "$ENCLAVE"
expect 2 "policy init: no enclave binary" "$ATOLL" policy init --sim-root "$T/sim/sim-root.pub.pem" --enclave "$T/nonexistent"

if [ "$FAILS" -ne 0 ]; then
	echo "cli_verify: $FAILS failure(s)"
	exit 1
fi
echo "cli_verify: all passed"
