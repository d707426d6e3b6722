#!/usr/bin/env bash
# Runs Atoll's benchmarks from a build directory and prints their results.
#   bash bench/run.sh BUILD_DIR        (make bench runs: bash bench/run.sh build)
# Each benchmark is bounded (a few seconds) and prints ratios measured side by
# side in one run; nothing here asserts on time. Add a benchmark with
# atl_bench() in bench/CMakeLists.txt and a run_bench line below.
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
bin="$build/bench"
status=0

run_bench() { # NAME [ARGS...]
	local name=$1
	shift
	if [[ ! -x "$bin/$name" ]]; then
		echo "bench: $bin/$name not built (cmake --build $build --target bench_$name)" >&2
		status=2
		return
	fi
	echo "== $name"
	if ! timeout 120 "$bin/$name" "$@"; then
		echo "bench: $name failed" >&2
		status=1
	fi
}

echo "bench: $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
run_bench crypto
run_bench platform
# platform_path: the confidential overhead through the whole path (coordinator +
# island + sandboxed enclave), sealed (this build) vs plain (a second build dir,
# BUILD-plain, configured with the benchmark-only -DATL_BENCH_PLAINTEXT=ON) vs
# direct; crypto share at 64 KiB against the 3% target (bench/platform_path.sh)
echo "== platform_path"
plain="$build-plain"
mkdir -p "$plain"
if cmake -S "$(dirname "$0")/.." -B "$plain" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DATL_BENCH_PLAINTEXT=ON >"$plain/configure.log" 2>&1 &&
	cmake --build "$plain" -j"$(nproc)" --target atoll atoll-coordinator atoll-island \
		atoll-enclave bench_platform_path >/dev/null 2>&1 &&
	cmake --build "$build" -j"$(nproc)" --target bench_platform_path >/dev/null 2>&1; then
	bash "$(dirname "$0")/platform_path.sh" "$build" "$plain" || { echo "bench: platform_path failed" >&2; status=1; }
else
	echo "bench: cannot build $plain (ATL_BENCH_PLAINTEXT) or bench_platform_path" >&2
	status=2
fi
# platform_e2e: jobs/s and p50/p99 latency through one coordinator and 2 islands (bench/platform_e2e.sh)
echo "== platform_e2e"; bash "$(dirname "$0")/platform_e2e.sh" "$build" || { echo "bench: platform_e2e failed" >&2; status=1; }
# llm: atoll vs llama.cpp (bench/llm.sh; tiny shape here to stay quick, LLM_SHAPE=1.1b for the real one)
echo "== llm"; LLM_SHAPE=${LLM_SHAPE:-tiny} bash "$(dirname "$0")/llm.sh" "$build" || { echo "bench: llm failed" >&2; status=1; }

exit $status
