#!/usr/bin/env bash
# atoll-enclave --tee nitro --attest and --serve on a machine without
# /dev/nsm (issue 7): exit 1, nothing on stdout, and stderr names /dev/nsm as
# not available; --serve says so before serving (it opens the NSM before its
# sandbox, which refuses read-write opens).
# Generation itself is covered by unit.attest_nitro_nsm_test (ioctl replaced
# by a hook). Skips (exit 0, with a message) inside a Nitro enclave.
set -euo pipefail

BIN=${1:?usage: nitro_nsm.sh BIN_DIR}
if [ -e /dev/nsm ]; then
	echo "skip: /dev/nsm exists (inside a Nitro enclave)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/atoll-nitro.XXXXXX")
trap 'rm -rf "$T"' EXIT

rc=0
"$BIN/atoll-enclave" --tee nitro --attest --nonce 00112233445566778899aabbccddeeff \
	>"$T/out" 2>"$T/err" || rc=$?
cat "$T/err"
if [ "$rc" -ne 1 ]; then
	echo "FAIL: atoll-enclave --tee nitro --attest exited $rc, expected 1"
	exit 1
fi
if [ -s "$T/out" ]; then
	echo "FAIL: evidence printed without an NSM"
	exit 1
fi
grep -q "/dev/nsm is not available" "$T/err" || { echo "FAIL: no 'not available' message"; exit 1; }
grep -q "cannot produce nitro evidence" "$T/err" || { echo "FAIL: no error line"; exit 1; }
echo "ok: --attest: no /dev/nsm -> not available, exit 1"

# --serve: refused at start-up, before the key, the sandbox or the channel
rc=0
"$BIN/atoll-enclave" --tee nitro --serve --fd 3 3</dev/null >"$T/out" 2>"$T/err" || rc=$?
cat "$T/err"
if [ "$rc" -ne 1 ]; then
	echo "FAIL: atoll-enclave --tee nitro --serve exited $rc, expected 1"
	exit 1
fi
if [ -s "$T/out" ]; then
	echo "FAIL: output on stdout without an NSM"
	exit 1
fi
grep -q "cannot use the NSM: /dev/nsm is not available" "$T/err" ||
	{ echo "FAIL: no 'not available' message"; exit 1; }
if grep -q "serving" "$T/err"; then
	echo "FAIL: served without an NSM"
	exit 1
fi
echo "ok: --serve: no /dev/nsm -> not available, exit 1, not served"
