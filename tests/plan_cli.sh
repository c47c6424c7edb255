#!/usr/bin/env bash
# `gpuscale plan` on a small hand-checked cluster (tests/data/plan/cluster.yaml, its JSON twin and
# the pools in tests/data/plan/pools.yaml):
# placements, claims, repartition, unschedulable reason, $/hour before and after, --json, usage.
set -u
bin=$1
root=$2
cd "$root" || exit 1
fail=0
expect() { echo "$out" | grep -qF -- "$1" || { echo "FAIL: $what: missing: $1"; fail=1; }; }

what=table
cfg=tests/data/plan/pools.yaml
out=$("$bin" plan --config $cfg --state tests/data/plan/cluster.yaml 2>&1); rc=$?
[ $rc = 0 ] || { echo "FAIL: plan exit $rc"; echo "$out"; fail=1; }
# before: p5.48xlarge $55.04 + g5.12xlarge $5.672; after: + g6.12xlarge $4.6016 + g6.xlarge $0.8048
expect '$/hour before: $60.712   after: $66.1184   (+$5.4064 for 2 new nodes)'
expect 'pending pods: 7   on existing nodes: 4   on new nodes: 2   unschedulable: 1'
# the free 3g.40gb instance (partition 1 of GPU 0) is taken as it is
expect 'ml/infer-3g                              mig-3g.40gb        node h100-a gpu 0 partition 1'
# GPU 1 is idle: repartitioned for the 2g and the 1g (its unused 7g is dropped)
expect 'ml/infer-2g                              mig-2g.20gb        node h100-a gpu 1 partition 0'
expect 'h100-a                            1  [7g.80gb@0] -> [2g.20gb@4* 1g.10gb@6*]'
# time-slicing: GPU 0 of g5-a had 3 of 4 replicas used: one more fits, the next goes to a new node
expect 'web/chat-0                               gpu.shared x1      node g5-a gpu 0'
expect 'web/chat-1                               gpu.shared x1      claim #1 gpu 0'
expect '#1   gpu-shared     on-demand  g6.xlarge                   $0.8048     1  0:ts 1/4'
# 4 whole GPUs: the cheapest 4-GPU type of pool gpu-whole
expect '#0   gpu-whole      on-demand  g6.12xlarge                 $4.6016     1  0:whole* 1:whole* 2:whole* 3:whole*'
expect 'UNSCHEDULABLE: pool gpu-mig: shares GPUs as mig, pod asks for 16 whole GPUs; pool gpu-shared: shares GPUs as timeSlicing, pod asks for 16 whole GPUs; pool gpu-whole: no instance type offers 16 whole GPUs'

what=json
out=$("$bin" plan --config $cfg --state tests/data/plan/cluster.json --json 2>&1); rc=$?
[ $rc = 0 ] || { echo "FAIL: plan --json exit $rc"; echo "$out"; fail=1; }
expect '"usdPerHourBefore": "$60.712"'
expect '"usdPerHourAfter": "$66.1184"'
expect '"instanceType": "g6.12xlarge"'
expect '"reason": "pool gpu-mig: shares GPUs as mig'
if command -v python3 >/dev/null; then
  echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["claims"])==2 and len(d["repartitions"])==1 and len(d["unschedulable"])==1' \
    || { echo "FAIL: --json is not the expected JSON"; fail=1; }
fi
# the same cluster in JSON and YAML gives the same plan
a=$("$bin" plan --config $cfg --state tests/data/plan/cluster.yaml --json); b=$("$bin" plan --state tests/data/plan/cluster.json --json --config $cfg)
[ "$a" = "$b" ] || { echo "FAIL: JSON and YAML snapshots plan differently"; fail=1; }

what=usage
"$bin" plan --config $cfg >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL: plan without --state should exit 2"; fail=1; }
"$bin" plan --state tests/data/plan/cluster.yaml >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL: plan without --config should exit 2"; fail=1; }
"$bin" plan --state >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL: --state without value should exit 2"; fail=1; }
"$bin" plan --config $cfg --state tests/data/plan/cluster.yaml --max-candidates 0 >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL: --max-candidates 0 should exit 2"; fail=1; }
"$bin" plan --config $cfg --state /nonexistent.yaml >/dev/null 2>&1; [ $? = 1 ] || { echo "FAIL: missing state file should exit 1"; fail=1; }
out=$("$bin" plan --config $cfg --state tests/data/plan/cluster.yaml --max-candidates 1 2>&1)
expect 'candidates (1): g6.12xlarge/on-demand $4.6016'

# a bad configuration is reported by the config loader with its position, exit 1
printf 'apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: x}\nspec: {sharing: {mode: mps}}\n' > /tmp/gs_plan_cfg.$$.yaml
out=$("$bin" plan --config /tmp/gs_plan_cfg.$$.yaml --state tests/data/plan/cluster.yaml 2>&1); rc=$?
rm -f /tmp/gs_plan_cfg.$$.yaml
[ $rc = 1 ] || { echo "FAIL: bad config should exit 1, got $rc"; fail=1; }
echo "$out" | grep -Eq "gs_plan_cfg\.[0-9]+\.yaml:4:[0-9]+: " || { echo "FAIL: bad config message has no position: $out"; fail=1; }
# pools belong to the configuration, not the snapshot
printf 'pools: []\n' > /tmp/gs_plan_st.$$.yaml
out=$("$bin" plan --config $cfg --state /tmp/gs_plan_st.$$.yaml 2>&1); rc=$?
rm -f /tmp/gs_plan_st.$$.yaml
[ $rc = 1 ] || { echo "FAIL: pools in the state should exit 1"; fail=1; }
what=pools-in-state; expect "1:1: state: unknown field 'pools'"

[ $fail = 0 ] && echo "plan cli: all checks passed"
exit $fail
