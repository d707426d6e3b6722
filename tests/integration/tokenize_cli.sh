#!/usr/bin/env bash
# End-to-end test of `atoll tokenize` (issue 8): the ids of every string of
# tests/vectors/llm/tokenizer/X.gguf.inp must be those of X.gguf.out (--no-bos),
# the tiny model's prompt must give its tokens.txt (with BOS), --decode must
# give the text back, and bad input must give exit 1 (unusable model) or 2
# (usage, I/O). Usage: tokenize_cli.sh BIN_DIR VECTORS_DIR. Bounded (timeout
# per command), temp dir removed.
set -u
BIN=${1:?usage: tokenize_cli.sh BIN_DIR VECTORS_DIR}
VEC=${2:?usage: tokenize_cli.sh BIN_DIR VECTORS_DIR}
ATOLL=$BIN/atoll
T=$(mktemp -d "${TMPDIR:-/tmp}/atl_tokenize_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
OKS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { OKS=$((OKS + 1)); }

# expect CODE DESCRIPTION CMD...
expect() {
	local want=$1 what=$2 got
	shift 2
	timeout 30 "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "$what: exit $got, want $want"
		sed 's/^/  stderr: /' "$T/err" | head -3
	else
		ok
		if [ "$want" != 0 ] && ! [ -s "$T/err" ]; then
			fail "$what: no error message"
		fi
	fi
}

# Every vector, through files (the strings hold newlines and tabs).
for v in llama-spm gpt-2 qwen2; do
	m=$VEC/tokenizer/ggml-vocab-$v.gguf
	python3 - "$m.inp" "$T/$v" <<'PY' || { fail "$v: cannot split the vectors"; continue; }
import sys
parts = open(sys.argv[1], 'rb').read().split(b'\n__ggml_vocab_test__\n')[:-1]
for i, p in enumerate(parts):
    open('%s.%03d' % (sys.argv[2], i), 'wb').write(p)
PY
	i=0
	while IFS= read -r want || [ -n "$want" ]; do
		f=$(printf '%s.%03d' "$T/$v" "$i")
		got=$(timeout 30 "$ATOLL" tokenize --model "$m" --file "$f" --no-bos)
		if [ "$got" != "$(echo $want)" ]; then
			fail "$v string $i: got '$got', want '$(echo $want)'"
		else
			ok
		fi
		i=$((i + 1))
	done <"$m.out"
	[ "$i" = 46 ] || fail "$v: $i strings, want 46"
done

P="The quick brown fox jumps over the lazy dog. 1234567890 été"
M=$VEC/logits/tiny-llama-random-q8_0.gguf
got=$(timeout 30 "$ATOLL" tokenize --model "$M" --text "$P")
[ "$got" = "$(cat "$VEC/logits/tiny-llama-random-q8_0.tokens.txt")" ] && ok || fail "prompt: got '$got'"
got=$(timeout 30 "$ATOLL" tokenize --model "$M" --decode "$(cat "$VEC/logits/tiny-llama-random-q8_0.tokens.txt")")
[ "$got" = "$P" ] && ok || fail "decode: got '$got'"
got=$(timeout 30 "$ATOLL" tokenize --model "$VEC/tokenizer/ggml-vocab-qwen2.gguf" --text hi --chat auto)
[ "$got" = "151644 872 198 6023 151645 198 151644 77091 198" ] && ok || fail "chat: got '$got'"
got=$(timeout 30 "$ATOLL" tokenize --model "$VEC/tokenizer/ggml-vocab-qwen2.gguf" --text "<|im_end|>" --chat chatml)
[ "$(echo "$got" | tr ' ' '\n' | grep -c '^151645$')" = 1 ] && ok || fail "chat injection: got '$got'"

expect 0 "--help" "$ATOLL" tokenize --help
expect 2 "no --model" "$ATOLL" tokenize --text x
expect 2 "no text" "$ATOLL" tokenize --model "$M"
expect 2 "two inputs" "$ATOLL" tokenize --model "$M" --text x --file y
expect 2 "unknown option" "$ATOLL" tokenize --model "$M" --text x --frobnicate
expect 2 "missing model file" "$ATOLL" tokenize --model "$T/nope.gguf" --text x
expect 2 "missing text file" "$ATOLL" tokenize --model "$M" --file "$T/nope.txt"
expect 1 "not a GGUF file" "$ATOLL" tokenize --model "$VEC/tokenizer/ggml-vocab-qwen2.gguf.inp" --text x
printf 'GGUF\003\000\000\000' >"$T/trunc.gguf"
expect 1 "truncated GGUF" "$ATOLL" tokenize --model "$T/trunc.gguf" --text x
head -c 4096 "$M" >"$T/cut.gguf"
expect 1 "cut GGUF" "$ATOLL" tokenize --model "$T/cut.gguf" --text x
expect 2 "bad --decode" "$ATOLL" tokenize --model "$M" --decode "1 two"
expect 1 "id out of range" "$ATOLL" tokenize --model "$M" --decode "32000"
expect 2 "unknown chat template" "$ATOLL" tokenize --model "$M" --text x --chat jinja

echo "$OKS passed, $FAILS failed"
[ "$FAILS" = 0 ]
