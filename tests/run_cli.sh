#!/bin/bash
# gpuscale run: bad flags and start-up refusals that need no cluster. Each case: the exit code
# (2 usage, 1 failure) and one clear line naming what is wrong.
set -u
GS=$1
ROOT=$2
CFG=$ROOT/examples/budgets.yaml   # Budget objects only: enough to reach the ledger checks
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
expect() { # exit-code substring args...
    local code=$1 msg=$2
    shift 2
    local out rc
    out=$("$GS" "$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$code" ] || ! grep -qF -- "$msg" <<<"$out"; then
        echo "FAIL: gpuscale $*: exit $rc (want $code), output: $out"
        fail=1
    fi
}
expect 2 "--meter-interval" run --config "$CFG" --meter-interval soon
expect 2 "--meter-interval" run --config "$CFG" --meter-interval 10ms
expect 2 "--meter-interval needs a value" run --config "$CFG" --meter-interval
expect 2 "--mig-configmap must be NAMESPACE/NAME" run --config "$CFG" --mig-configmap justaname
expect 2 "--mig-configmap must be NAMESPACE/NAME" run --config "$CFG" --mig-configmap /name
expect 2 "--mig-retry-after" run --config "$CFG" --mig-retry-after 10ms
expect 2 "--ledger needs a value" run --config "$CFG" --ledger
expect 1 "--ledger FILE is needed to enforce them" run --config "$CFG"
expect 1 "$TMP/no/such/dir/l.db" run --config "$CFG" --ledger "$TMP/no/such/dir/l.db"
echo "not a database, not at all; long enough to fill a page header......................." >"$TMP/bad.db"
expect 1 "$TMP/bad.db" run --config "$CFG" --ledger "$TMP/bad.db"
[ "$fail" -eq 0 ] && echo "run_cli: all cases passed"
exit "$fail"
