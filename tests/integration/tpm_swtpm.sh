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

TEST_BIN=${1:?usage: tpm_swtpm.sh TEST_BINARY}
for tool in swtpm swtpm_setup swtpm_localca certtool; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool not installed"; exit 77; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/atoll-swtpm.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

# setup_ca NAME: config files for a local CA kept in $T/NAME.
setup_ca() {
	local ca=$1
	mkdir -p "$T/$ca"
	cat >"$T/$ca.conf" <<CONF
statedir = $T/$ca
signingkey = $T/$ca/signkey.pem
issuercert = $T/$ca/issuercert.pem
certserial = $T/$ca/certserial
CONF
	cat >"$T/$ca.options" <<CONF
--platform-manufacturer Atoll
--platform-version 2.1
--platform-model swtpm-test-$ca
CONF
	cat >"$T/$ca.setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $T/$ca.conf
create_certs_tool_options = $T/$ca.options
active_pcr_banks = sha256
CONF
}

# manufacture NAME CA: TPM state with EK + platform certificates.
manufacture() {
	local name=$1 ca=$2
	mkdir -p "$T/$name"
	if ! timeout 60 swtpm_setup --tpm2 --tpm-state "$T/$name" --config "$T/$ca.setup.conf" \
		--create-ek-cert --create-platform-cert --overwrite >"$T/$name.setup.log" 2>&1; then
		cat "$T/$name.setup.log" >&2
		exit 1
	fi
}

# start NAME: swtpm on a free loopback port; sets PORT.
start() {
	local name=$1 try port pid i
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		swtpm socket --tpm2 --tpmstate dir="$T/$name" \
			--server type=tcp,port=$port,bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear \
			--log file="$T/$name.swtpm.log" >/dev/null 2>&1 &
		pid=$!
		for i in $(seq 1 50); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				PIDS+=("$pid")
				PORT=$port
				return 0
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "cannot start swtpm for $name" >&2
	exit 1
}

setup_ca caA
setup_ca caB
manufacture tpmA caA
manufacture tpmB caB
start tpmA
PORT_A=$PORT
start tpmB
PORT_B=$PORT

export ATL_SWTPM_A="swtpm:host=127.0.0.1,port=$PORT_A"
export ATL_SWTPM_B="swtpm:host=127.0.0.1,port=$PORT_B"
export ATL_SWTPM_CA_A="$T/caA"
export ATL_SWTPM_CA_B="$T/caB"
export TSS2_LOG="all+NONE"
timeout 240 "$TEST_BIN"
