#!/usr/bin/env bash
# The key broker service end to end with real processes on loopback (issue 9):
# `atoll kbs` sets up the state (tenants, encrypted models with policies),
# `atoll-kbs serve` releases model keys to a test enclave peer (kbs_peer: sim
# evidence over the atoll-enclave binary, opens the sealed key with its private
# key and decrypts the .atm in locked memory). Checks: release + round trip;
# refusals for a wrong measurement, debug evidence, a stale nonce, another
# tenant, an unknown model, a revoked model, a revoked measurement, the quota;
# a replayed session (raw curl with the cookie); malformed and oversized
# bodies; manual and scheduled KEK rotation; audit chain verifies, and an
# edited or removed record is detected; the plaintext canary never appears in
# the state directory, the logs or the audit log. The admin API while the
# service runs (atoll kbs --url --admin-token-file): a model and a measurement
# revoked take effect at the next release, rotation while serving, tenant add
# and quota, a missing or wrong token is 401, --no-admin is 404.
# Usage: kbs_service.sh BIN_DIR KBS_PEER
set -u
BIN=${1:?usage: kbs_service.sh BIN_DIR KBS_PEER}
PEER=${2:?usage: kbs_service.sh BIN_DIR KBS_PEER}
ATOLL=$BIN/atoll
KBS=$BIN/atoll-kbs
ENCLAVE=$BIN/atoll-enclave
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_kbs_service.XXXXXX")
PID=""
cleanup() {
	if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
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
# refused WHAT STATUS ARGS...: kbs_peer fetch refused with that HTTP status
refused() {
	local what=$1 status=$2
	shift 2
	expect 1 "$what" "$PEER" fetch "$URL" "$@"
	grep -q "^refused: [A-Z_]* $status " "$T/out" || bad "$what: want HTTP $status, got: $(cat "$T/out")"
}
start() {
	"$KBS" serve --listen 127.0.0.1:0 --dir "$T/kbs" --audit-key "$T/audit.key" "$@" \
		>"$T/port.out" 2>>"$T/kbs.log" &
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

# ---- setup: sim root, policies, audit key, broker state, models
timeout 60 "$ATOLL" sim init --dir "$T/root" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
timeout 60 "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ENCLAVE" \
	>"$T/policy.json" 2>/dev/null || { echo "FAIL: policy init"; exit 1; }
# a policy pinning another measurement (the atoll CLI binary's)
timeout 60 "$ATOLL" policy init --sim-root "$T/root/sim-root.pub.pem" --enclave "$ATOLL" \
	>"$T/wrong.json" 2>/dev/null || { echo "FAIL: policy init (wrong)"; exit 1; }
MEAS=$(jq -r '.measurements.sim[0]' "$T/policy.json")
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/audit.key" 2>/dev/null &&
	openssl pkey -in "$T/audit.key" -pubout -out "$T/audit.pub" 2>/dev/null ||
	{ echo "FAIL: openssl audit key"; exit 1; }
{ head -c 300000 /dev/urandom; echo "CANARY-WEIGHTS-kbs-5d1e"; head -c 1000 /dev/urandom; } >"$T/m.gguf"
mkdir -p "$T/models"
K=(--dir "$T/kbs" --audit-key "$T/audit.key")
expect 0 "kbs init" "$ATOLL" kbs init "${K[@]}"
[ "$(stat -c %a "$T/kbs/master.key")" = 600 ] || bad "master key mode"
TOK=$T/kbs/admin.token
[ "$(stat -c %a "$TOK" 2>/dev/null)" = 600 ] || bad "admin token missing or not mode 0600"
[ "$(stat -c %a "$T/kbs/admin.token.sha256" 2>/dev/null)" = 600 ] || bad "admin token hash file"
grep -q "admin token: .*admin.token" "$T/out" || bad "init names the admin token file"
[ "$(sha256sum <"$TOK" | cut -c1-64)" != "$(cut -c1-64 "$T/kbs/admin.token.sha256")" ] ||
	bad "the hash file covers the token line with its newline (want the token only)"
[ "$(tr -d '\n' <"$TOK" | sha256sum | cut -c1-64)" = "$(cut -c1-64 "$T/kbs/admin.token.sha256")" ] ||
	bad "admin.token.sha256 is not the SHA-256 of the token"
expect 0 "kbs init again keeps the admin token" "$ATOLL" kbs init "${K[@]}"
grep -q "admin token" "$T/out" && bad "a second init made a new admin token"
expect 0 "tenant add acme" "$ATOLL" kbs tenant add acme "${K[@]}"
grep -q "^acme.k1$" "$T/out" || bad "tenant add prints the KEK id"
expect 0 "tenant add other" "$ATOLL" kbs tenant add other "${K[@]}"
expect 1 "tenant add acme again" "$ATOLL" kbs tenant add acme "${K[@]}"
expect 0 "model add (matching policy)" "$ATOLL" kbs model add "${K[@]}" --tenant acme \
	--in "$T/m.gguf" --out "$T/models/m.atm" --policy "$T/policy.json" --chunk 65536
MID=$(cat "$T/out")
expect 0 "model add (policy with another measurement)" "$ATOLL" kbs model add "${K[@]}" \
	--tenant acme --in "$T/m.gguf" --out "$T/models/wrong.atm" --policy "$T/wrong.json"
MID_WRONG=$(cat "$T/out")
expect 0 "model add (to revoke)" "$ATOLL" kbs model add "${K[@]}" --tenant acme \
	--in "$T/m.gguf" --out "$T/models/rev.atm" --policy "$T/policy.json"
MID_REV=$(cat "$T/out")
expect 0 "model add (to revoke through the admin API)" "$ATOLL" kbs model add "${K[@]}" \
	--tenant acme --in "$T/m.gguf" --out "$T/models/rev2.atm" --policy "$T/policy.json"
MID_REV2=$(cat "$T/out")
expect 0 "model add (tenant other)" "$ATOLL" kbs model add "${K[@]}" --tenant other \
	--in "$T/m.gguf" --out "$T/models/other.atm" --policy "$T/policy.json"
MID_OTHER=$(cat "$T/out")
cp "$T/models/m.atm" "$T/m-copy.atm"
expect 1 "model register (same model again)" "$ATOLL" kbs model register "${K[@]}" \
	--tenant acme --atm "$T/m-copy.atm" --policy "$T/policy.json"
expect 1 "model register under another tenant's KEK" "$ATOLL" kbs model register "${K[@]}" \
	--tenant other --atm "$T/models/m.atm" --policy "$T/policy.json"
expect 0 "status" "$ATOLL" kbs status --dir "$T/kbs"
[ "$(jq -r ".models[\"$MID\"].tenant" "$T/out")" = acme ] || bad "status lists the model"
jq -e '.tenants.acme.kek_created > 0' "$T/out" >/dev/null || bad "status: KEK creation time"

# ---- usage errors
expect 2 "kbs without a command" "$ATOLL" kbs
expect 2 "kbs unknown command" "$ATOLL" kbs bogus
expect 2 "tenant add without a name" "$ATOLL" kbs tenant add --dir "$T/kbs"
expect 2 "model add without --policy" "$ATOLL" kbs model add --dir "$T/kbs" --tenant acme \
	--in "$T/m.gguf" --out "$T/x.atm"
expect 2 "revoke with both --model and --measurement" "$ATOLL" kbs revoke --dir "$T/kbs" \
	--model "$MID" --measurement "$MEAS"
expect 2 "bad quota" "$ATOLL" kbs tenant quota acme --dir "$T/kbs" --quota 0/10
for sub in "init" "tenant add" "tenant quota" "model add" "model register" "revoke" "rotate" \
	"audit verify" "status"; do
	# shellcheck disable=SC2086
	expect 0 "kbs $sub --help" "$ATOLL" kbs $sub --help
done
expect 0 "atoll-kbs --help" "$KBS" --help
expect 0 "atoll-kbs serve --help" "$KBS" serve --help
expect 2 "atoll-kbs serve without --dir" "$KBS" serve
expect 2 "atoll-kbs serve bad --quota" "$KBS" serve --dir "$T/kbs" --quota 5
expect 2 "atoll-kbs without a command" "$KBS"

# ---- the service
start
expect 1 "CLI refused while the service holds the state" "$ATOLL" kbs tenant add x "${K[@]}"
grep -q "in use" "$T/err" || bad "busy state explained"
expect 0 "release to a matching enclave" "$PEER" fetch "$URL" acme "$MID" "$T/root" "$ENCLAVE" \
	"$T/models/m.atm" "$T/plain.out"
cmp -s "$T/m.gguf" "$T/plain.out" || bad "released key does not decrypt the model to the original"
rm -f "$T/plain.out"
refused "wrong measurement" 403 acme "$MID_WRONG" "$T/root" "$ENCLAVE" "$T/models/wrong.atm" "$T/x"
refused "debug evidence" 403 acme "$MID" "$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/x" --debug
grep -q debug "$T/out" || bad "debug refusal names debug: $(cat "$T/out")"
refused "stale nonce" 403 acme "$MID" "$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/x" --stale
refused "another tenant" 403 other "$MID" "$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/x"
grep -q "ATL_E_DENIED" "$T/out" || bad "another tenant maps to ATL_E_DENIED"
refused "unknown model" 404 acme 0123456789abcdef0123456789abcdef "$T/root" "$ENCLAVE" \
	"$T/models/m.atm" "$T/x"
[ ! -e "$T/x" ] || bad "plaintext written for a refusal"

# raw HTTP (curl, Trustee-style cookie): a replayed session is refused
C=(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -b "$T/jar" -c "$T/jar")
st=$("${C[@]}" -H 'Content-Type: application/json' -X POST "$URL/kbs/v0/auth" \
	-d "{\"version\":\"0.1.0\",\"tee\":\"sim\",\"extra-params\":{\"tenant\":\"acme\",\"model_id\":\"$MID\"}}")
[ "$st" = 200 ] || bad "curl auth: $st"
grep -q "kbs-session-id" "$T/jar" || bad "no session cookie set"
NONCE=$(jq -r .nonce "$T/body")
"$PEER" attest-body "$T/root" "$ENCLAVE" "$NONCE" >"$T/attest.json" || bad "attest-body"
st=$("${C[@]}" -H 'Content-Type: application/json' -X POST "$URL/kbs/v0/attest" -d @"$T/attest.json")
[ "$st" = 200 ] || bad "curl attest: $st"
st=$("${C[@]}" "$URL/kbs/v0/resource/acme/model-key/$MID")
[ "$st" = 200 ] || bad "curl resource: $st"
jq -e '.v == 1 and .enc and .ct' "$T/body" >/dev/null || bad "sealed key shape"
st=$("${C[@]}" "$URL/kbs/v0/resource/acme/model-key/$MID")
[ "$st" = 401 ] && echo "ok: replayed session refused (401)" || bad "replayed session: $st, want 401"
st=$("${C[@]}" -X POST "$URL/kbs/v0/auth" -d 'not json')
[ "$st" = 400 ] || bad "malformed auth body: $st"
head -c 20000 /dev/zero | tr '\0' ' ' >"$T/big"
st=$("${C[@]}" -X POST "$URL/kbs/v0/auth" --data-binary @"$T/big")
[ "$st" = 413 ] || bad "oversized auth body: $st"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$URL/kbs/v0/resource/acme/model-key/$MID")
[ "$st" = 401 ] || bad "resource without a session: $st"

# ---- admin API while the service runs
R=(--url "$URL" --admin-token-file "$TOK")
echo "0000000000000000000000000000000000000000000000000000000000000000" >"$T/wrong.token"
expect 1 "admin: wrong token refused" "$ATOLL" kbs status --url "$URL" \
	--admin-token-file "$T/wrong.token"
grep -q "HTTP 401" "$T/err" || bad "wrong admin token: want HTTP 401: $(cat "$T/err")"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$URL/kbs/v0/admin/status")
[ "$st" = 401 ] || bad "admin status without a token: $st, want 401"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X POST -H "Authorization: Bearer x" \
	-d "{\"model_id\":\"$MID\"}" "$URL/kbs/v0/admin/revoke")
[ "$st" = 401 ] || bad "admin revoke with a wrong token: $st, want 401"
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $(cat "$TOK")" \
	"$URL/kbs/v0/admin/status")
[ "$st" = 200 ] || bad "admin status with the token (curl): $st"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X POST \
	-H "Authorization: Bearer $(cat "$TOK")" -d '{"model_id":"x","bogus":1}' \
	"$URL/kbs/v0/admin/revoke")
[ "$st" = 400 ] || bad "admin revoke with a malformed body: $st, want 400"
expect 2 "admin: --url without --admin-token-file" "$ATOLL" kbs status --url "$URL"
expect 2 "admin: --url with a local-only command" "$ATOLL" kbs audit verify "${R[@]}"
expect 2 "admin: --url with --dir" "$ATOLL" kbs status "${R[@]}" --dir "$T/kbs"
expect 2 "admin: unreadable token file" "$ATOLL" kbs status --url "$URL" \
	--admin-token-file "$T/nope"
expect 0 "admin: status" "$ATOLL" kbs status "${R[@]}"
[ "$(jq -r .tenants.acme.kek_id "$T/out")" = acme.k1 ] || bad "admin status: acme.k1"
# a model revoked while serving: refused at the next release
expect 0 "release before the revocation" "$PEER" fetch "$URL" acme "$MID_REV2" "$T/root" \
	"$ENCLAVE" "$T/models/rev2.atm" "$T/plain.out"
rm -f "$T/plain.out"
expect 0 "admin: revoke model" "$ATOLL" kbs revoke "${R[@]}" --model "$MID_REV2"
refused "model revoked while serving" 403 acme "$MID_REV2" "$T/root" "$ENCLAVE" \
	"$T/models/rev2.atm" "$T/x"
grep -q "revoked" "$T/out" || bad "revoked-while-serving reason: $(cat "$T/out")"
expect 1 "admin: revoke an unknown model" "$ATOLL" kbs revoke "${R[@]}" \
	--model 0123456789abcdef0123456789abcdef
grep -q "HTTP 404" "$T/err" || bad "unknown model revocation: want 404: $(cat "$T/err")"
# rotation while serving
expect 0 "admin: rotate acme while serving" "$ATOLL" kbs rotate "${R[@]}" --tenant acme
grep -q "^acme.k2$" "$T/out" || bad "admin rotate prints the new KEK id: $(cat "$T/out")"
expect 0 "release after a rotation while serving" "$PEER" fetch "$URL" acme "$MID" "$T/root" \
	"$ENCLAVE" "$T/models/m.atm" "$T/plain.out"
cmp -s "$T/m.gguf" "$T/plain.out" || bad "round trip after a rotation while serving"
rm -f "$T/plain.out"
expect 0 "admin: status after rotation" "$ATOLL" kbs status "${R[@]}"
[ "$(jq -r .tenants.acme.kek_id "$T/out")" = acme.k2 ] || bad "status shows acme.k2"
[ "$(jq -r ".models[\"$MID\"].kek_id" "$T/out")" = acme.k2 ] || bad "model rewrapped to acme.k2"
# tenants and quotas while serving
expect 0 "admin: tenant add" "$ATOLL" kbs tenant add newt "${R[@]}" --quota 3/60
grep -q "^newt.k1$" "$T/out" || bad "admin tenant add prints the KEK id"
expect 1 "admin: tenant add twice" "$ATOLL" kbs tenant add newt "${R[@]}"
grep -q "HTTP 409" "$T/err" || bad "tenant add twice: want 409: $(cat "$T/err")"
expect 0 "admin: tenant quota" "$ATOLL" kbs tenant quota other "${R[@]}" --quota 7/120
expect 0 "admin: status (quotas)" "$ATOLL" kbs status "${R[@]}"
jq -e '.tenants.newt.quota.n == 3 and .tenants.other.quota.n == 7' "$T/out" >/dev/null ||
	bad "admin status: quotas: $(jq -c .tenants "$T/out")"
expect 0 "admin: tenant quota none" "$ATOLL" kbs tenant quota other "${R[@]}" --quota none
expect 1 "admin: quota of an unknown tenant" "$ATOLL" kbs tenant quota nobody "${R[@]}" \
	--quota 1/60
grep -q "$(cat "$TOK")" "$T/kbs.log" && bad "the admin token appears in the service log"
stop

# ---- revocation, quota, rotation (the CLI works while the service is stopped)
expect 0 "revoke model" "$ATOLL" kbs revoke "${K[@]}" --model "$MID_REV"
expect 0 "tenant quota 1/3600" "$ATOLL" kbs tenant quota other "${K[@]}" --quota 1/3600
expect 0 "rotate acme" "$ATOLL" kbs rotate "${K[@]}" --tenant acme
grep -q "^acme.k3$" "$T/out" || bad "rotate prints the new KEK id"
start
refused "revoked model" 403 acme "$MID_REV" "$T/root" "$ENCLAVE" "$T/models/rev.atm" "$T/x"
grep -q "revoked" "$T/out" || bad "revoked model refusal reason"
expect 0 "release after rotation" "$PEER" fetch "$URL" acme "$MID" "$T/root" \
	"$ENCLAVE" "$T/models/m.atm" "$T/plain.out"
cmp -s "$T/m.gguf" "$T/plain.out" || bad "round trip after rotation"
rm -f "$T/plain.out"
expect 0 "release (quota 1 of 1)" "$PEER" fetch "$URL" other "$MID_OTHER" "$T/root" \
	"$ENCLAVE" "$T/models/other.atm" "$T/plain.out"
rm -f "$T/plain.out"
refused "quota exceeded" 429 other "$MID_OTHER" "$T/root" "$ENCLAVE" "$T/models/other.atm" "$T/x"
stop
# the quota counters are rebuilt from the audit log: a restart does not reset them
start
refused "quota exceeded after a restart" 429 other "$MID_OTHER" "$T/root" "$ENCLAVE" \
	"$T/models/other.atm" "$T/x"
grep -q "quota counters rebuilt" "$T/kbs.log" || bad "no quota rebuild in the log"
stop
expect 0 "tenant quota none" "$ATOLL" kbs tenant quota other "${K[@]}" --quota none
# scheduled rotation: KEKs older than 1 s, checked every second (test flags)
start --test-rotate-after-s 1 --test-rotate-check-s 1 --quota 100/60
# at start (k3 -> k4) and at least once more (k4 -> k5, then every second)
for _ in $(seq 50); do
	jq -e '.tenants.acme.gen >= 5' "$T/kbs/state.json" >/dev/null 2>&1 && break
	sleep 0.2
done
jq -e '.tenants.acme.gen >= 5' "$T/kbs/state.json" >/dev/null || bad "scheduled rotation did not run"
expect 0 "release after scheduled rotations" "$PEER" fetch "$URL" acme "$MID" "$T/root" \
	"$ENCLAVE" "$T/models/m.atm" "$T/plain.out"
cmp -s "$T/m.gguf" "$T/plain.out" || bad "round trip after scheduled rotation"
rm -f "$T/plain.out"
stop
# HTTPS: a self-signed certificate for 127.0.0.1; the client verifies it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" \
	-out "$T/tls.crt" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 \
	>/dev/null 2>&1 || bad "openssl: test TLS certificate"
expect 2 "--tls-cert without --tls-key" "$KBS" serve --dir "$T/kbs" --tls-cert "$T/tls.crt"
start --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
URL=https://127.0.0.1:$PORT
expect 0 "release over HTTPS (ATOLL_KBS_CA_FILE)" env ATOLL_KBS_CA_FILE="$T/tls.crt" "$PEER" fetch \
	"$URL" acme "$MID" "$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/plain.out"
cmp -s "$T/m.gguf" "$T/plain.out" || bad "round trip over HTTPS"
rm -f "$T/plain.out"
expect 1 "HTTPS with an unknown certificate refused by the client" env ATOLL_KBS_CA_FILE= \
	"$PEER" fetch "$URL" acme "$MID" "$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/x"
grep -q "^refused: ATL_E_IO 0" "$T/out" || bad "unverified TLS: $(cat "$T/out")"
stop
# --no-admin: the admin API is not there
start --no-admin
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $(cat "$TOK")" \
	"$URL/kbs/v0/admin/status")
[ "$st" = 404 ] || bad "admin status with --no-admin: $st, want 404"
stop
# a measurement revoked while serving: refused at the next release
start
expect 0 "release before the measurement revocation" "$PEER" fetch "$URL" acme "$MID" \
	"$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/plain.out"
rm -f "$T/plain.out"
expect 0 "admin: revoke measurement" "$ATOLL" kbs revoke --url "$URL" --admin-token-file "$TOK" \
	--measurement "$MEAS"
refused "revoked measurement" 403 acme "$MID" "$T/root" "$ENCLAVE" "$T/models/m.atm" "$T/x"
grep -q "measurement revoked" "$T/out" || bad "revoked measurement reason: $(cat "$T/out")"
stop

# ---- audit log
expect 0 "audit verify (signed heads)" "$ATOLL" kbs audit verify --dir "$T/kbs" --pub "$T/audit.pub"
A=$T/kbs/audit.log
for act in tenant-add register release refuse revoke-model revoke-measurement rotate quota-set; do
	grep -q "\"action\":\"$act\"" "$A" || bad "audit log lacks a $act record"
done
grep -q "scheduled" "$A" || bad "audit log lacks the scheduled rotation"
grep -q "quota exceeded" "$A" || bad "audit log lacks the quota refusal"
mkdir -p "$T/t1" "$T/t2"
# edit one record's subject (a valid JSON line, wrong hash)
awk 'NR==3 {sub(/"action":"[a-z-]*"/, "\"action\":\"tampered\"")} {print}' "$A" >"$T/t1/audit.log"
cmp -s "$A" "$T/t1/audit.log" && bad "tamper edit did not change the log"
expect 1 "audit verify: edited record detected" "$ATOLL" kbs audit verify --dir "$T/t1"
grep -q "BROKEN" "$T/err" || bad "edited record: no BROKEN report"
# remove one record
awk '/"type":"record"/ {n++; if (n == 2) next} {print}' "$A" >"$T/t2/audit.log"
expect 1 "audit verify: removed record detected" "$ATOLL" kbs audit verify --dir "$T/t2"
expect 2 "audit verify: no log" "$ATOLL" kbs audit verify --dir "$T/nope"

# ---- canary: the plaintext never reaches the state, the logs or the .atm files
if grep -raq "CANARY-WEIGHTS-kbs-5d1e" "$T/kbs" "$T/kbs.log" "$T/port.out" "$T/models"; then
	bad "plaintext canary found in the state directory, logs or .atm files"
else
	echo "ok: canary absent from state, audit log, logs and .atm files"
fi
grep -qi "kbs-session-id=" "$T/kbs.log" && bad "session id in the log"
grep -q "Sanitizer" "$T/kbs.log" && bad "sanitizer report in the service log"

[ "$FAILS" = 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "all kbs service checks passed"
