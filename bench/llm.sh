#!/usr/bin/env bash
# Atoll's inference engine against llama.cpp itself, side by side in one run
# (issue 8, STYLE.md "Tests"): the same random-weight model file (TinyLlama
# 1.1B shape, real LLaMA-2 vocabulary), the same prompt ids, the same
# threads; prompt processing (64 tokens, one batch) and generation (32
# tokens through the KV cache), tokens/s of both and the ratio atoll/llama.cpp,
# peak RSS, and generation's achieved weight-read bandwidth against this
# machine's memcpy bandwidth.
#
#   bash bench/llm.sh BUILD_DIR
# Environment: LLM_TYPES (default "F16 Q8_0 Q4_0"), LLM_THREADS (2),
#   LLM_RUNS (1; with N > 1 both engines run N times, alternating, and the
#   medians of tokens/s are printed, with the ratio of the medians),
#   LLM_PROMPT (64), LLM_GEN (32), LLM_SHAPE (1.1b; "tiny" for a quick check),
#   LLM_DIR (scratch directory for models and the baseline, default
#   ${TMPDIR:-/tmp}/atoll-bench-llm; models are reused between runs).
#
# The baseline: the prebuilt llama.cpp CPU libraries that the npm package
# node-llama-cpp ships (its platform package @node-llama-cpp/linux-x64,
# pinned below), installed with npm into the scratch directory and driven by
# bench/llm.c through dlopen. If npm or the package is unavailable the
# script prints Atoll's numbers alone and says so. Nothing asserts on time.
set -euo pipefail

build=${1:?usage: bench/llm.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
atoll="$build/bin/atoll"
[[ -x $atoll ]] || { echo "bench/llm: $atoll not built (cmake --build $build --target atoll)" >&2; exit 2; }
types=${LLM_TYPES:-F16 Q8_0 Q4_0}
threads=${LLM_THREADS:-2}
n_prompt=${LLM_PROMPT:-64}
n_gen=${LLM_GEN:-32}
runs=${LLM_RUNS:-1}
shape=${LLM_SHAPE:-1.1b}
dir=${LLM_DIR:-${TMPDIR:-/tmp}/atoll-bench-llm}
nlc_pkg="@node-llama-cpp/linux-x64@3.22.1"
vocab="$src/tests/vectors/llm/tokenizer/ggml-vocab-llama-spm.gguf"
mkdir -p "$dir"

echo "bench/llm: $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench/llm: shape $shape, $threads threads, prompt $n_prompt tokens, generation $n_gen tokens, $runs run(s) each (medians)"

# ---- the baseline ----
libdir=""
if [[ $(uname -m) == x86_64 ]] && command -v npm >/dev/null && command -v cc >/dev/null; then
	if [[ ! -f "$dir/npm/node_modules/@node-llama-cpp/linux-x64/package.json" ]]; then
		timeout 300 npm install --prefix "$dir/npm" --no-audit --no-fund --ignore-scripts \
			--loglevel=error "$nlc_pkg" >"$dir/npm.log" 2>&1 ||
			echo "bench/llm: npm install $nlc_pkg failed (see $dir/npm.log)" >&2
	fi
	d="$dir/npm/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
	if [[ -f "$d/libllama.v0.5.0.so" ]] && cc -O2 -o "$dir/llm" "$here/llm.c" -ldl; then
		libdir=$d
	fi
fi
if [[ -z $libdir ]]; then
	echo "bench/llm: NO BASELINE: llama.cpp (node-llama-cpp prebuilt binaries) is not available;"
	echo "bench/llm: printing Atoll's own numbers only"
	cc -O2 -o "$dir/llm" "$here/llm.c" -ldl 2>/dev/null || true
fi
membw=""
if [[ -x "$dir/llm" ]]; then
	membw=$("$dir/llm" --membw | awk '{print $4}')
	echo "bench/llm: memcpy bandwidth ${membw} GB/s copied (one thread)"
fi

# the prompt: BOS then fixed ids, exactly as bench/llm.c builds it
prompt="1"
for ((i = 1; i < n_prompt; i++)); do prompt+=" $((1000 + (i * 37) % 20000))"; done

median() { # values...: the median (mean of the middle two for an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rss_of() { # FILE: peak RSS in MiB from /usr/bin/time -f %M output (last line)
	awk 'END { printf "%.0f", $1 / 1024 }' "$1"
}

printf '\n%-6s %-10s %10s %10s %9s %9s %9s %9s\n' type engine "pp tok/s" "gen tok/s" \
	"pp ratio" "gen ratio" "RSS MiB" "gen GB/s"
for type in $types; do
	model="$dir/$shape-$type.gguf"
	if [[ ! -f $model ]]; then
		"$atoll" model gen-random --shape "$shape" --type "$type" --seed 1 --vocab "$vocab" \
			--out "$model"
	fi
	mib=$("$atoll" model info "$model" | sed -n 's/^weights: .*, \([0-9.]*\) MiB$/\1/p')
	cat "$model" >/dev/null # both engines start with the file in the page cache

	timer=()
	[[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f %M -o "$dir/rss")
	a_pps=() a_tgs=() l_pps=() l_tgs=() a_rss=- l_rss=-
	for ((run = 0; run < runs; run++)); do
		"${timer[@]}" "$atoll" infer --model "$model" --tokens "$prompt" -n $((n_gen + 1)) \
			--threads "$threads" --ctx $((n_prompt + n_gen + 8)) --print-ids --stats \
			>/dev/null 2>"$dir/atoll.err" || { cat "$dir/atoll.err" >&2; exit 1; }
		line=$(grep 'atoll infer: isa' "$dir/atoll.err")
		a_pps+=("$(sed -n 's/.*prompt [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p' <<<"$line")")
		a_tgs+=("$(sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p' <<<"$line")")
		[[ -f $dir/rss ]] && a_rss=$(rss_of "$dir/rss")

		if [[ -n $libdir ]]; then
			if out=$("${timer[@]}" "$dir/llm" "$libdir" "$model" "$threads" "$n_prompt" "$n_gen" 2>"$dir/llm.err"); then
				l_pps+=("$(awk '{print $5}' <<<"$out")")
				l_tgs+=("$(awk '{print $9}' <<<"$out")")
				[[ -f $dir/rss ]] && l_rss=$(rss_of "$dir/rss")
			else
				echo "bench/llm: llama.cpp failed on $type: $(cat "$dir/llm.err")" >&2
			fi
		fi
	done
	[[ $runs -gt 1 ]] && echo "bench/llm: $type runs: atoll pp ${a_pps[*]} gen ${a_tgs[*]}; llama.cpp pp ${l_pps[*]:-} gen ${l_tgs[*]:-}"
	a_pp=$(median "${a_pps[@]}") a_tg=$(median "${a_tgs[@]}")
	l_pp="" l_tg=""
	if [[ ${#l_pps[@]} -gt 0 ]]; then
		l_pp=$(median "${l_pps[@]}") l_tg=$(median "${l_tgs[@]}")
	fi
	gbs() { awk -v t="$1" -v m="$mib" 'BEGIN { if (m == "") print "-"; else printf "%.2f", t * m * 1048576 / 1e9 }'; }
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
	printf '%-6s %-10s %10s %10s %9s %9s %9s %9s\n' "$type" atoll "$a_pp" "$a_tg" \
		"$(ratio "$a_pp" "$l_pp")" "$(ratio "$a_tg" "$l_tg")" "$a_rss" "$(gbs "$a_tg")"
	if [[ -n $l_pp ]]; then
		printf '%-6s %-10s %10s %10s %9s %9s %9s %9s\n' "$type" llama.cpp "$l_pp" "$l_tg" \
			1.00 1.00 "$l_rss" "$(gbs "$l_tg")"
	fi
done
echo
echo "bench/llm: ratios are atoll / llama.cpp from this run (> 1: atoll faster); gen GB/s ="
echo "bench/llm: weight bytes read per token x tokens/s, against ${membw:-?} GB/s memcpy."
