#!/usr/bin/env bash
# gpuscale validate on the bad-config corpus: every tests/data/bad-config/NN-what.yaml must
# exit 1 with exactly the line in NN-what.expected on stderr (run from the repo root, so the
# path in the message is tests/data/bad-config/NN-what.yaml). Also: the examples validate,
# usage errors exit 2, and a few cases that need no file in the corpus (missing file,
# oversized file, references across files).
set -u
BIN=$1
ROOT=$2
cd "$ROOT" || exit 1
fails=0
n=0
for y in tests/data/bad-config/*.yaml; do
    exp=${y%.yaml}.expected
    n=$((n + 1))
    if [ ! -f "$exp" ]; then echo "FAIL $y: no $exp"; fails=$((fails + 1)); continue; fi
    out=$("$BIN" validate "$y" 2>&1 >/dev/null); rc=$?
    want=$(cat "$exp")
    if [ $rc -ne 1 ]; then echo "FAIL $y: exit $rc, want 1"; fails=$((fails + 1)); continue; fi
    if [ "$out" != "$want" ]; then
        echo "FAIL $y:"; echo "  got:  $out"; echo "  want: $want"; fails=$((fails + 1))
    fi
done
echo "bad-config: $n files checked"
[ "$n" -ge 30 ] || { echo "FAIL: fewer than 30 bad-config files"; fails=$((fails + 1)); }

# the examples are valid, together
out=$("$BIN" validate examples/*.yaml 2>&1); rc=$?
if [ $rc -ne 0 ]; then echo "FAIL examples: exit $rc: $out"; fails=$((fails + 1)); fi
nex=$(printf '%s\n' "$out" | grep -c ': ok: ')
nfiles=$(ls examples/*.yaml | wc -l)
[ "$nex" -eq "$nfiles" ] || { echo "FAIL examples: $nex summary lines for $nfiles files"; fails=$((fails + 1)); }

# usage errors: exit 2 with a one-line reason
for args in "" "--bogus examples/gpupools.yaml" "--catalog"; do
    # shellcheck disable=SC2086
    out=$("$BIN" validate $args 2>&1); rc=$?
    if [ $rc -ne 2 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
        echo "FAIL usage 'validate $args': exit $rc, output: $out"; fails=$((fails + 1))
    fi
done
"$BIN" validate --help | grep -q 'usage: gpuscale validate' || { echo "FAIL --help"; fails=$((fails + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a missing file
out=$("$BIN" validate "$tmp/nope.yaml" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "nope.yaml" || { echo "FAIL missing file: $rc $out"; fails=$((fails + 1)); }
# a directory
out=$("$BIN" validate examples 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "is a directory" || { echo "FAIL directory: $rc $out"; fails=$((fails + 1)); }
# an oversized file (over 1 MiB of comments)
head -c 1100000 /dev/zero | tr '\0' '#' > "$tmp/big.yaml"
out=$("$BIN" validate "$tmp/big.yaml" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "larger than" || { echo "FAIL big file: $rc $out"; fails=$((fails + 1)); }
# a scaler's pool in another file: valid only when both files are given
out=$("$BIN" validate examples/queuescalers.yaml 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "unknown GPUPool 'mig-h100'" || { echo "FAIL cross-file alone: $rc $out"; fails=$((fails + 1)); }
out=$("$BIN" validate examples/gpupools.yaml examples/queuescalers.yaml 2>&1); rc=$?
[ $rc -eq 0 ] || { echo "FAIL cross-file together: $rc $out"; fails=$((fails + 1)); }
# a bad file among good ones: exit 1, nothing reported as ok
out=$("$BIN" validate examples/gpupools.yaml tests/data/bad-config/10-unknown-field-suggestion.yaml 2>&1); rc=$?
if [ $rc -ne 1 ] || printf '%s' "$out" | grep -q ': ok: '; then echo "FAIL mixed: $rc $out"; fails=$((fails + 1)); fi

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "validate_bad_config: all passed"
