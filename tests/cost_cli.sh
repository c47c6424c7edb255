#!/usr/bin/env bash
# `gpuscale cost` and `gpuscale budget` on bad input: every class gets a one-line reason and
# the right exit status (2 usage, 1 bad ledger/config), and nothing is created or changed.
# (The happy paths run end to end in tests/test_ledger_meter.c against a metered ledger.)
set -u
bin=$1
fail=0
tmp=$(mktemp -d /tmp/gs-costcli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
check() { # expected-rc expected-text description cmd...
  local want=$1 text=$2 what=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ]; then echo "FAIL: $what: exit $rc, want $want"; echo "$out" | head -5; fail=1; return; fi
  if ! grep -qF -- "$text" <<<"$out"; then echo "FAIL: $what: output lacks '$text'"; echo "$out" | head -5; fail=1; fi
  n=$(printf '%s\n' "$out" | wc -l)
  if [ "$want" != 0 ] && [ "$n" != 1 ]; then echo "FAIL: $what: $n lines of error, want 1"; echo "$out"; fail=1; fi
}
L=$tmp/none.db
check 2 "unknown argument '--frob'"      "cost unknown flag"      "$bin" cost --frob
check 2 "--by must be project, pool"     "cost bad --by"          "$bin" cost --by color
check 2 "--ledger needs a value"         "cost missing value"     "$bin" cost --ledger
check 2 "--since: 'yesterday' is not a date" "cost bad --since"   "$bin" cost --ledger "$L" --since yesterday
check 2 "--until: '2026-02-30' is not a valid date" "cost impossible date" "$bin" cost --ledger "$L" --until 2026-02-30
check 2 "--until must be after --since"  "cost empty range"       "$bin" cost --ledger "$L" --since 2026-03-02 --until 2026-03-01
check 2 "unknown timezone 'Mars/Base'"   "cost bad --tz"          "$bin" cost --ledger "$L" --tz Mars/Base
check 2 "is not an IANA name"            "cost tz path escape"    "$bin" cost --ledger "$L" --tz ../../etc/passwd
check 2 "--json and --csv exclude"       "cost two formats"       "$bin" cost --json --csv
check 1 "ledger $L does not exist"       "cost missing ledger"    "$bin" cost --ledger "$L"
[ -e "$L" ] && { echo "FAIL: cost created a ledger it was only asked to read"; fail=1; }
echo "not a database, just words" > "$tmp/junk.db"
check 1 "junk.db"                        "cost junk ledger"       "$bin" cost --ledger "$tmp/junk.db"
GPUSCALE_LEDGER=$L check 1 "ledger $L does not exist" "cost ledger from env" "$bin" cost
check 2 "missing subcommand"             "budget no subcommand"   "$bin" budget
check 2 "unknown argument 'show'"        "budget bad subcommand"  "$bin" budget show
check 2 "status needs --config"          "budget no config"       "$bin" budget status
check 2 "--at: 'noon' is not a date"     "budget bad --at"        "$bin" budget status --config x.yaml --at noon
printf 'apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata:\n  name: x\nspec:\n  project: a\n  limits:\n    perDay: "-5"\n' > "$tmp/bad.yaml"
check 1 "bad.yaml:"                      "budget bad config"      "$bin" budget status --config "$tmp/bad.yaml" --ledger "$L"
check 1 "missing.yaml"                   "budget missing config"  "$bin" budget status --config "$tmp/missing.yaml" --ledger "$L"
printf 'apiVersion: gpuscale.dev/v1alpha1\nkind: Budget\nmetadata:\n  name: x\nspec:\n  project: a\n  limits:\n    perDay: "5"\n' > "$tmp/ok.yaml"
check 1 "ledger $L does not exist"       "budget missing ledger"  "$bin" budget status --config "$tmp/ok.yaml" --ledger "$L"
exit $fail
