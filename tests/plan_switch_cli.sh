#!/usr/bin/env bash
# `gpuscale plan` switches idle WHOLE GPUs of existing nodes to their pool's time-slicing or
# fractional mode (tests/data/plan/switch.yaml, pools in switch-pools.yaml; hand-checked):
# room as it is first, the pool's own mode only, never a GPU with a pod, never more than the
# declared replicas; table and --json.
set -u
bin=$1
root=$2
cd "$root" || exit 1
fail=0
expect() { echo "$out" | grep -qF -- "$1" || { echo "FAIL: $what: missing: $1"; fail=1; }; }
refuse() { echo "$out" | grep -qF -- "$1" && { echo "FAIL: $what: unexpected: $1"; fail=1; }; }

what=table
out=$("$bin" plan --config tests/data/plan/switch-pools.yaml --state tests/data/plan/switch.yaml 2>&1); rc=$?
[ $rc = 0 ] || { echo "FAIL: plan exit $rc"; echo "$out"; fail=1; }
# f1 (600m) first: GPU 0 of l40s-a has 100m free, so idle GPU 1 becomes fractional
expect 'default/f1                               gpu-milli 600      node l40s-a gpu 1'
# s1: GPU 2 of g5-a has one of its 2 replicas free: taken as it is
expect 'default/s1                               gpu.shared x1      node g5-a gpu 2'
# s2, s3: idle GPU 1 of g5-a switched to time-slicing x2 (the pool's), both replicas used
expect 'default/s2                               gpu.shared x1      node g5-a gpu 1'
expect 'default/s3                               gpu.shared x1      node g5-a gpu 1'
# s4: nothing left (GPU 0 of g5-a holds a pod, l40s-a is not a time-slicing pool): a launch
expect 'default/s4                               gpu.shared x1      claim #0 gpu 0'
# f2 (100m): the tightest fractional GPU, GPU 0 of l40s-a
expect 'default/f2                               gpu-milli 100      node l40s-a gpu 0'
expect 'l40s-a                            1  whole -> fractional'
expect 'g5-a                              1  whole -> timeSlicing x2'
refuse 'g5-a                              0  whole'
expect '$/hour before: $16.16464   after: $17.17064   (+$1.006 for 1 new node)'

what=json
out=$("$bin" plan --config tests/data/plan/switch-pools.yaml --state tests/data/plan/switch.yaml --json 2>&1); rc=$?
[ $rc = 0 ] || { echo "FAIL: plan --json exit $rc"; echo "$out"; fail=1; }
expect '"modeAfter": "timeSlicing"'
expect '"replicas": 2'
expect '"modeAfter": "fractional"'
if command -v python3 >/dev/null; then
  echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = sorted((x["node"], x["gpu"], x["modeBefore"], x["modeAfter"]) for x in d["repartitions"])
assert r == [("g5-a", 1, "whole", "timeSlicing"), ("l40s-a", 1, "whole", "fractional")], r
' || { echo "FAIL: json repartitions"; fail=1; }
fi
exit $fail
