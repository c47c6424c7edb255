#!/usr/bin/env bash
# CLI behaviour: every command has --help (exit 0); unknown commands and flags exit 2 with a
# one-line reason; `gpuscale mig` prints the real H100 placements.
set -u
bin=$1
fail=0
check() { # expected-rc description cmd...
  local want=$1 what=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ]; then echo "FAIL: $what: exit $rc, want $want"; echo "$out" | head -5; fail=1; fi
}
check 0 "--help" "$bin" --help
check 0 "--version" "$bin" --version
check 2 "no command" "$bin"
check 2 "unknown command" "$bin" frobnicate
check 2 "unknown global flag" "$bin" --frob
for c in simulate run plan cost budget validate mig version; do
  check 0 "$c --help" "$bin" "$c" --help
  out=$("$bin" "$c" --help 2>&1)
  echo "$out" | head -1 | grep -q "^usage: gpuscale $c" || { echo "FAIL: $c --help has no usage line"; fail=1; }
  check 2 "$c unknown flag" "$bin" "$c" --no-such-flag
  n=$("$bin" "$c" --no-such-flag 2>&1 | wc -l)
  [ "$n" = 1 ] || { echo "FAIL: $c unknown flag: $n lines, want 1"; fail=1; }
done
"$bin" version | grep -Eq '^gpuscale [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL: version format"; fail=1; }

# gpuscale mig h100-80gb: the 7 profiles with the real placements
out=$("$bin" mig h100-80gb)
for row in "19 +1g.10gb +1 +1 +7 +\{0,1,2,3,4,5,6\}:1" "20 +1g.10gb\+me +1 +1 +1 +\{0,1,2,3,4,5,6\}:1" \
           "15 +1g.20gb +1 +2 +4 +\{0,2,4,6\}:2" "14 +2g.20gb +2 +2 +3 +\{0,2,4\}:2" \
           "9 +3g.40gb +3 +4 +2 +\{0,4\}:4" "5 +4g.40gb +4 +4 +1 +\{0\}:4" "0 +7g.80gb +7 +8 +1 +\{0\}:8"; do
  echo "$out" | grep -Eq "^$row " || { echo "FAIL: mig h100-80gb lacks row: $row"; fail=1; }
done
echo "$out" | grep -q "1x4g.40gb + 1x3g.40gb" || { echo "FAIL: 4g+3g layout missing"; fail=1; }
echo "$out" | grep -q "2x4g" && { echo "FAIL: 4g+4g listed"; fail=1; }
check 1 "mig unknown model" "$bin" mig z100
check 1 "mig non-MIG model" "$bin" mig t4
check 2 "mig no model" "$bin" mig
"$bin" mig --mig-parted a100-40gb | grep -q '"3g.20gb": 2' || { echo "FAIL: mig-parted output"; fail=1; }

# the README's configuration example stays valid
root=$2
tmp=$(mktemp)
awk '/^```yaml/{f=1;next}/^```/{if(f){f=0;exit}}f' "$root/README.md" > "$tmp"
"$bin" validate "$tmp" >/dev/null 2>&1 || { echo "FAIL: README's YAML example does not validate:"; "$bin" validate "$tmp"; fail=1; }
rm -f "$tmp"

[ $fail = 0 ] && echo "cli: all checks passed"
exit $fail
