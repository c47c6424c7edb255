#!/usr/bin/env bash
# Bad snapshot files for `gpuscale plan --config tests/data/plan/pools.yaml --state F`: each file
# under tests/data/plan/bad/ must exit
# 1 with exactly the message (file:line:col: reason) in its .expect file, and print no plan.
set -u
bin=$1
root=$2
cd "$root" || exit 1
fail=0
n=0
for f in tests/data/plan/bad/*.yaml tests/data/plan/bad/*.json; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  want=$(cat "${f%.*}.expect")
  out=$("$bin" plan --config tests/data/plan/pools.yaml --state "$f" 2>/tmp/gs_plan_err.$$); rc=$?
  got=$(cat /tmp/gs_plan_err.$$)
  if [ "$rc" != 1 ]; then echo "FAIL: $f: exit $rc, want 1"; fail=1; fi
  if [ -n "$out" ]; then echo "FAIL: $f: printed a plan on bad input"; fail=1; fi
  if [ "$got" != "$want" ]; then echo "FAIL: $f"; echo "  got:  $got"; echo "  want: $want"; fail=1; fi
done
rm -f /tmp/gs_plan_err.$$
[ "$n" -ge 30 ] || { echo "FAIL: only $n bad files found"; fail=1; }
[ $fail = 0 ] && echo "plan bad state: $n files, all rejected with the expected message"
exit $fail
