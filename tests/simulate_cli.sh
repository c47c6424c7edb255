#!/usr/bin/env bash
# gpuscale simulate from the outside: flags, bad input of each class, reports written.
set -u
BIN=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # name, expected exit, actual exit, output, grep pattern
    if [ "$2" != "$3" ]; then echo "FAIL $1: exit $3, want $2"; echo "$4" | head -20; fails=$((fails+1)); return; fi
    if [ -n "$5" ] && ! grep -qE -- "$5" <<<"$4"; then echo "FAIL $1: output lacks /$5/"; echo "$4" | head -20; fails=$((fails+1)); fi
}
out=$("$BIN" simulate --help 2>&1); check help 0 $? "$out" "--policies"
out=$("$BIN" simulate --bogus 2>&1); check unknown-flag 2 $? "$out" "unknown argument '--bogus'"
[ "$(wc -l <<<"$out")" = 1 ] || { echo "FAIL unknown-flag: more than one line"; fails=$((fails+1)); }
out=$("$BIN" simulate --policies gpuscale,nope 2>&1); check bad-policy 2 $? "$out" "unknown policy 'nope'"
out=$("$BIN" simulate --seed -3 2>&1); check bad-seed 2 $? "$out" "--seed"
out=$("$BIN" simulate --json 2>&1); check missing-value 2 $? "$out" "needs a value"

# a short scenario derived from the bundled one (absolute data paths)
sed -e "s#\.\./\.\./data#$ROOT/data#g" -e 's/"duration": "24h"/"duration": "90m"/' \
    "$ROOT/examples/claims/scenario.json" > "$T/s.json"
out=$("$BIN" simulate --config "$T/s.json" --json "$T/r.json" --html "$T/r.html" --quiet 2>&1)
check run 0 $? "$out" "HTML report: $T/r.html"
for p in static-peak cluster-autoscaler karpenter-keda gpuscale oracle; do
    grep -q "^$p " <<<"$out" || { echo "FAIL run: no row for $p"; fails=$((fails+1)); }
done
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['policies'])==5; assert d['policies'][3]['policy']=='gpuscale'" "$T/r.json" \
    || { echo "FAIL run: JSON report"; fails=$((fails+1)); }
grep -q "<svg" "$T/r.html" && grep -q "</html>" "$T/r.html" || { echo "FAIL run: HTML report"; fails=$((fails+1)); }

# bad scenario: unknown field, with its location
sed 's/"seed": 42/"seed": 42, "sead": 1/' "$T/s.json" > "$T/bad.json"
out=$("$BIN" simulate --config "$T/bad.json" --no-html 2>&1); check bad-field 1 $? "$out" "bad.json: \\$.sead: unknown field"
printf '{"name": }' > "$T/syn.json"
out=$("$BIN" simulate --config "$T/syn.json" --no-html 2>&1); check bad-json 1 $? "$out" "syn.json:1:"
out=$("$BIN" simulate --scenario "$T/none" --no-html 2>&1); check missing-scenario 1 $? "$out" "none/scenario.json"

# a trace with bad rows: skipped and counted by default, fatal with --strict
{ printf 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n'
  printf '2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:47.0,x,4\r\n'
  printf '2023-11-16 18:15:48.0,100,20\r\n2023-11-16 18:15:49.0,100' ; } > "$T/t.csv"
out=$("$BIN" simulate --config "$T/s.json" --trace "$T/t.csv" --no-html --quiet --policies gpuscale,oracle 2>&1)
check bad-rows-skipped 0 $? "$out" "2 bad trace rows skipped"
grep -q "t.csv:3: ContextTokens" <<<"$out" || { echo "FAIL bad-rows-skipped: no line number"; fails=$((fails+1)); }
out=$("$BIN" simulate --config "$T/s.json" --trace "$T/t.csv" --strict --no-html 2>&1)
check strict 1 $? "$out" "t.csv:3:1: ContextTokens"
printf 'a,b,c\n1,2,3\n' > "$T/u.csv"
out=$("$BIN" simulate --config "$T/s.json" --trace "$T/u.csv" --no-html 2>&1); check unknown-trace 1 $? "$out" "unknown trace format"
head -1 /dev/null > "$T/empty.csv"
out=$("$BIN" simulate --config "$T/s.json" --trace "$T/empty.csv" --no-html 2>&1); check empty-trace 1 $? "$out" "unknown trace format"

# the openb pod list as jobs
out=$("$BIN" simulate --config "$T/s.json" --trace "$ROOT/tests/data/sim/openb-300.csv" --duration 2d \
      --policies karpenter-keda,gpuscale,oracle --no-html --quiet 2>&1)
check openb 0 $? "$out" "GPU pods"
out=$("$BIN" simulate --config "$T/s.json" --html /nonexistent-dir/r.html --policies oracle --quiet 2>&1)
check html-unwritable 1 $? "$out" "cannot write"

# environments (examples/validation-env): the report's section, and a bad field with its location
out=$("$BIN" simulate --scenario "$ROOT/examples/validation-env" --no-html --quiet --policies gpuscale 2>&1)
check env-run 0 $? "$out" "why budget"
sed 's/"runFor": "45m"/"runFor": "45 minutes"/' "$ROOT/examples/validation-env/scenario.json" > "$T/env-bad.json"
out=$("$BIN" simulate --config "$T/env-bad.json" --no-html 2>&1)
check env-bad-field 1 $? "$out" "env-bad.json: \\$.environments\\[0\\].job.runFor: bad duration"

[ $fails = 0 ] && echo "simulate_cli: all checks passed"
exit $fails
