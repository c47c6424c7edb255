#!/usr/bin/env bash
# The layer rule of docs/architecture.md: model <- policy <- io/sim <- cli. An #include never
# points up that order, and the pure core (model, policy) reaches no clock, file, network,
# environment or global RNG.
set -u
root=$2
cd "$root" || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
for f in $(find src/model -name '*.[ch]'); do
  grep -nE '#include "(policy|io|sim|cli)/' "$f" && bad "$f: model includes a higher layer"
done
for f in $(find src/policy -name '*.[ch]'); do
  grep -nE '#include "(io|sim|cli)/' "$f" && bad "$f: policy includes io/sim/cli"
done
for f in $(find src/io src/sim -name '*.[ch]' 2>/dev/null); do
  grep -nE '#include "cli/' "$f" && bad "$f: io/sim includes cli"
done
for f in $(find src/io -name '*.[ch]' 2>/dev/null); do
  grep -nE '#include "sim/' "$f" && bad "$f: io includes sim"
done
# purity of the core: no clock, I/O, environment or libc RNG calls
hits=$(for f in $(find src/model src/policy -name '*.[ch]'); do
  perl -0pe 's{/\*.*?\*/}{ }gs; s{//[^\n]*}{}g; s{"(\\.|[^"\\])*"}{""}g' "$f" \
    | grep -nE '\b(time|clock_gettime|gettimeofday|fopen|open|read|write|getenv|rand|srand|random|sleep|usleep|printf|fprintf|puts|socket|connect)[[:space:]]*\(' \
    | sed "s|^|$f:|"; done)
[ -n "$hits" ] && { echo "$hits"; bad "the pure core calls the outside world"; }
[ $fail = 0 ] && echo "layers: ok"
exit $fail
