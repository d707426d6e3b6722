# Shared swtpm helpers for the tpm integration tests and the tpm demo
# (sourced, not run): local CAs made by swtpm_localca, TPM states
# manufactured by swtpm_setup with EK and platform certificates, swtpm
# servers on free loopback ports. The caller sets T (a private temp dir) and
# calls tpm_cleanup from its EXIT trap.
#
#   tpm_have_tools                 0 when swtpm, swtpm_setup, swtpm_localca and
#                                  certtool are installed (else names the one missing)
#   tpm_setup_ca CA [--ecc]        config files for a local CA kept in $T/CA
#                                  (--ecc: the TPM gets an ECC EK certificate too)
#   tpm_manufacture NAME CA [--ecc]  TPM state $T/NAME with EK + platform certificates
#                                  (--ecc: an ECC P-384 EK next to the RSA one)
#   tpm_start NAME                 swtpm for $T/NAME; sets TPM_PORT, TPM_URI
#   tpm_stop_all / tpm_cleanup     kill the swtpm processes started here
# Roots: $T/CA/swtpm-localca-rootca-cert.pem, intermediate: $T/CA/issuercert.pem.

TPM_PIDS=()
declare -A TPM_ECC=()

tpm_have_tools() {
	local tool
	for tool in swtpm swtpm_setup swtpm_localca certtool; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "$tool not installed"
			return 1
		fi
	done
	return 0
}

tpm_setup_ca() {
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
	if [ "${2:-}" = "--ecc" ]; then
		TPM_ECC[$ca]=1
	fi
}

tpm_manufacture() {
	local name=$1 ca=$2 ecc=()
	mkdir -p "$T/$name"
	if [ -n "${TPM_ECC[$ca]:-}" ] || [ "${3:-}" = "--ecc" ]; then
		ecc=(--ecc)
	fi
	if ! timeout 60 swtpm_setup --tpm2 --tpm-state "$T/$name" --config "$T/$ca.setup.conf" \
		--create-ek-cert --create-platform-cert "${ecc[@]}" --overwrite \
		>"$T/$name.setup.log" 2>&1; then
		cat "$T/$name.setup.log" >&2
		return 1
	fi
}

tpm_start() {
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
				TPM_PIDS+=("$pid")
				TPM_PORT=$port
				TPM_URI="swtpm:host=127.0.0.1,port=$port"
				return 0
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "cannot start swtpm for $name" >&2
	return 1
}

tpm_stop_all() {
	local p
	for p in "${TPM_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${TPM_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	TPM_PIDS=()
}

tpm_cleanup() {
	tpm_stop_all
}

# tss2 logs every TCTI retry on stderr otherwise
export TSS2_LOG="all+NONE"
