#!/usr/bin/env bash
# Integration test of `atoll infer` and `atoll model` (see infer_cli.cmake).
#   infer_cli.sh BIN_DIR VECTORS_DIR
set -euo pipefail
bin=${1:?bin dir}
vec=${2:?vectors dir}
atoll="$bin/atoll"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { # RC CMD...
	local want=$1 rc=0
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[[ $rc == "$want" ]] || { cat "$tmp/err" >&2; fail "exit $rc, wanted $want: $*"; }
}

# help
"$atoll" infer --help | grep -q -- '--dump-logits' || fail "infer --help"
"$atoll" model --help | grep -q -- 'gen-random' || fail "model --help"

# llama.cpp's greedy path and logits, from ids and from text
for m in f32 q8_0; do
	pre="$vec/tiny-llama-random-$m"
	ids=$(cat "$pre.tokens.txt")
	out=$("$atoll" infer --model "$pre.gguf" --tokens "$ids" -n 16 --temp 0 --print-ids \
		--threads 2 --dump-logits "$tmp/l.f32")
	[[ $out == "$(cat "$pre.greedy.txt")" ]] || fail "$m greedy ids: $out"
	out=$("$atoll" infer --model "$pre.gguf" -n 16 --print-ids \
		--prompt "The quick brown fox jumps over the lazy dog. 1234567890 été")
	[[ $out == "$(cat "$pre.greedy.txt")" ]] || fail "$m greedy ids from text: $out"
	# --dump-logits: same size, max |diff| <= 1e-4 (compared in awk over od output)
	[[ $(stat -c %s "$tmp/l.f32") == $(stat -c %s "$pre.logits.f32") ]] || fail "$m dump size"
	paste <(od -An -v -w4 -t f4 "$tmp/l.f32") <(od -An -v -w4 -t f4 "$pre.logits.f32") |
		awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d }
		     END { if (m > 1e-4) { print "max diff " m; exit 1 } }' ||
		fail "$m logits differ from llama.cpp"
done

# gen-random -> info -> infer, both architectures, text out
for arch in llama qwen2; do
	"$atoll" model gen-random --arch $arch --type Q4_0 --seed 3 --out "$tmp/$arch.gguf"
	"$atoll" model info "$tmp/$arch.gguf" | grep -q "arch: $arch" || fail "info $arch"
	"$atoll" infer --model "$tmp/$arch.gguf" --prompt "hello" -n 4 --temp 0.7 --top-k 20 \
		--seed 9 --stats >"$tmp/out" 2>"$tmp/err" || fail "infer $arch"
	grep -q 'generated 4 tokens' "$tmp/err" || fail "stats $arch"
done
# same seed, same output
a=$("$atoll" infer --model "$tmp/llama.gguf" --prompt "x" -n 8 --temp 1 --seed 5 --print-ids)
b=$("$atoll" infer --model "$tmp/llama.gguf" --prompt "x" -n 8 --temp 1 --seed 5 --print-ids)
[[ $a == "$b" ]] || fail "seeded sampling is not reproducible"

# refusals
expect_rc 2 "$atoll" infer
expect_rc 2 "$atoll" infer --model "$tmp/llama.gguf"
expect_rc 2 "$atoll" infer --model "$tmp/llama.gguf" --prompt x --tokens 1
expect_rc 2 "$atoll" infer --model "$tmp/llama.gguf" --prompt x --temp abc
expect_rc 2 "$atoll" infer --model "$tmp/missing.gguf" --prompt x
expect_rc 2 "$atoll" infer --model "$tmp/llama.gguf" --tokens "1 99999"
expect_rc 2 "$atoll" infer --model "$tmp/llama.gguf" --tokens "1 2" --ctx 1
head -c 1000 "$tmp/llama.gguf" >"$tmp/trunc.gguf"
expect_rc 1 "$atoll" infer --model "$tmp/trunc.gguf" --prompt x
grep -q 'atoll infer' "$tmp/err" || fail "no message for a truncated file"
printf 'GGUF\3\0\0\0' >"$tmp/bad.gguf"
expect_rc 1 "$atoll" model info "$tmp/bad.gguf"
"$atoll" model gen-random --arch gpt2 --out "$tmp/x.gguf" 2>/dev/null && fail "gen-random gpt2"
expect_rc 2 "$atoll" model gen-random --type Q6_K --out "$tmp/x.gguf"
expect_rc 2 "$atoll" model frobnicate
echo "infer_cli: ok"
