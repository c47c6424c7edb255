#!/usr/bin/env bash
# `gpuscale run` flag and input checking (no cluster needed): usage errors exit 2 with a
# one-line reason; bad configuration and bad kubeconfigs exit 1 with the file named.
set -u
BIN=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { # want-exit needle -- args...
  local want=$1 needle=$2; shift 3
  local out rc
  out=$(env -u KUBERNETES_SERVICE_HOST "$BIN" "$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ] || ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: gpuscale $* -> exit $rc (want $want), output: $out (want: $needle)"; fail=1
  fi
}
cp "$ROOT/deploy/config.example.yaml" "$T/good.yaml"
printf 'apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: p}\nspec:\n  sharing: {mode: sideways}\n' > "$T/bad.yaml"
printf 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n' > "$T/exec.kubeconfig"
printf 'clusters: [\n' > "$T/broken.kubeconfig"

check 0 "--provider kube-fake|exec" -- run --help
# without --config the custom resources are read: outside a cluster, no kubeconfig is an error
check 1 "not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset" -- run
check 2 "unknown argument '--bogus'" -- run --config "$T/good.yaml" --bogus
check 2 "--kubeconfig needs a value" -- run --config "$T/good.yaml" --kubeconfig
check 2 "--provider must be kube-fake or exec" -- run --config "$T/good.yaml" --provider aws
check 2 "needs --exec-launch" -- run --config "$T/good.yaml" --provider exec
check 2 "--lease-duration must be" -- run --config "$T/good.yaml" --lease-duration 1
check 2 "not a number" -- run --config "$T/good.yaml" --interval fast
check 1 "$T/bad.yaml:5:" -- run --config "$T/bad.yaml" --kubeconfig "$T/exec.kubeconfig"
check 1 "$T/missing.yaml" -- run --config "$T/missing.yaml"
check 1 "not in a cluster" -- run --config "$T/good.yaml"
check 1 "exec and auth-provider credentials are not supported" -- run --config "$T/good.yaml" --kubeconfig "$T/exec.kubeconfig"
check 1 "$T/broken.kubeconfig:" -- run --config "$T/good.yaml" --kubeconfig "$T/broken.kubeconfig"
check 1 "context \"nope\" not found" -- run --config "$T/good.yaml" --kubeconfig "$T/exec.kubeconfig" --context nope
# cost governance and MIG flags; Budget objects need a ledger, a bad ledger fails before any
# connection (examples/budgets.yaml holds Budgets only)
B="$ROOT/examples/budgets.yaml"
check 2 "--meter-interval" -- run --config "$B" --meter-interval soon
check 2 "--meter-interval" -- run --config "$B" --meter-interval 10ms
check 2 "--meter-interval needs a value" -- run --config "$B" --meter-interval
check 2 "--mig-configmap must be NAMESPACE/NAME" -- run --config "$B" --mig-configmap justaname
check 2 "--mig-configmap must be NAMESPACE/NAME" -- run --config "$B" --mig-configmap /name
check 2 "--mig-retry-after" -- run --config "$B" --mig-retry-after 10ms
check 2 "--layout-settle" -- run --config "$B" --layout-settle 2h
check 2 "--layout-settle" -- run --config "$B" --layout-settle soon
check 2 "--device-plugin-configmap must be NAMESPACE/NAME" -- run --config "$B" --device-plugin-configmap justaname
check 2 "--device-plugin-configmap must be NAMESPACE/NAME" -- run --config "$B" --device-plugin-configmap ns/
check 2 "--timeslicing-timeout" -- run --config "$B" --timeslicing-timeout 500ms
check 2 "--timeslicing-timeout" -- run --config "$B" --timeslicing-timeout never
check 2 "--repack-headroom must be -1 (off) or 0..64" -- run --config "$B" --repack-headroom -2
check 2 "--repack-headroom must be -1 (off) or 0..64" -- run --config "$B" --repack-headroom lots
check 2 "--ledger needs a value" -- run --config "$B" --ledger
check 1 "--ledger FILE is needed to enforce them" -- run --config "$B"
check 1 "$T/no/such/dir/l.db" -- run --config "$B" --ledger "$T/no/such/dir/l.db"
printf 'not a database, not at all; long enough to fill a page header.....................\n' > "$T/bad.db"
check 1 "$T/bad.db" -- run --config "$B" --ledger "$T/bad.db"
exit $fail
