#!/usr/bin/env bash
# Kubernetes v1.20.2 control plane for gpuscale's end-to-end tests, built offline from Debian
# bookworm's `kubernetes` source package (see /work/shared/kube-testenv.md, docs/deploy.md).
#
#   kube-testenv.sh build        build kube-apiserver, kube-scheduler, kube-controller-manager
#                                into the cache (idempotent: a stamp holds the source sha256;
#                                a second run returns at once)
#   kube-testenv.sh bin          print the cache's bin directory (exit 1 when not built)
#   kube-testenv.sh start DIR    start etcd + apiserver + scheduler + controller-manager on free
#                                loopback ports; writes DIR/env (ports, pids), DIR/admin.kubeconfig,
#                                DIR/user.kubeconfig (unprivileged "gpuscale" user), DIR/*.log;
#                                waits for /readyz
#   kube-testenv.sh stop DIR     stop what `start DIR` started (by the pids it recorded)
#   kube-testenv.sh restart-apiserver DIR   kill the API server and start it again, same port
#
# start: with GS_KUBE_OWNER_PID set, a watchdog stops everything once that process is gone.
#
# Cache: $GS_KUBE_CACHE, else /var/cache/gpuscale-kube/1.20.2 (root) or
# $HOME/.cache/gpuscale/kube-1.20.2. Options for start: GS_KUBE_NO_SCHED=1 skips the scheduler and
# controller-manager; GS_KUBE_CLIENT_QPS=N raises their API client rate limits (benchmarks).
set -euo pipefail

KVER=1.20.2
ORIG_SHA=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc
STAMP_VER=3  # bump when the build recipe below changes

if [ -n "${GS_KUBE_CACHE:-}" ]; then CACHE=$GS_KUBE_CACHE
elif [ "$(id -u)" = 0 ]; then CACHE=/var/cache/gpuscale-kube/$KVER
else CACHE=${HOME}/.cache/gpuscale/kube-$KVER; fi
BIN=$CACHE/bin
STAMP=$CACHE/stamp
WANT_STAMP="$ORIG_SHA recipe=$STAMP_VER"

log() { echo "kube-testenv: $*" >&2; }
die() { echo "kube-testenv: error: $*" >&2; exit 1; }

built() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] &&
  [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-scheduler" ] && [ -x "$BIN/kube-controller-manager" ]; }

ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root or apt-get install them)"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null; apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}

ensure_deb_src() {
  local f=/etc/apt/sources.list.d/gpuscale-deb-src.sources
  if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qs '^deb-src' /etc/apt/sources.list; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "no deb-src lines in /etc/apt; add them for bookworm, bookworm-updates, bookworm-security"
  # Same mirrors as the binary sources; fall back to deb.debian.org.
  local main sec
  main=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | awk '{print $2}' | head -1)
  sec=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | grep security | awk '{print $2}' | head -1)
  : "${main:=http://deb.debian.org/debian}" "${sec:=http://deb.debian.org/debian-security}"
  log "adding deb-src sources in $f"
  cat > "$f" <<SRC
Types: deb-src
URIs: $main
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $sec
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update >/dev/null
}

do_build() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if built; then log "already built in $BIN"; return 0; fi
  local t0; t0=$(date +%s)
  ensure_pkgs golang-go etcd-server dpkg-dev golang-github-modern-go-reflect2-dev openssl curl
  ensure_deb_src
  local dl=$CACHE/download
  mkdir -p "$dl"
  local orig
  orig=$(ls "$dl"/kubernetes_*.orig.tar.* 2>/dev/null | head -1 || true)
  if [ -z "$orig" ] || [ "$(sha256sum "$orig" | cut -d' ' -f1)" != "$ORIG_SHA" ]; then
    log "fetching the kubernetes source package"
    rm -f "$dl"/kubernetes_*
    (cd "$dl" && apt-get source --download-only kubernetes >/dev/null 2>&1) ||
      { apt-get update >/dev/null; (cd "$dl" && apt-get source --download-only kubernetes >/dev/null); }
    orig=$(ls "$dl"/kubernetes_*.orig.tar.* | head -1)
  fi
  [ "$(sha256sum "$orig" | cut -d' ' -f1)" = "$ORIG_SHA" ] ||
    die "$orig: sha256 differs from $ORIG_SHA (expected Kubernetes v$KVER)"

  export GOPATH=$CACHE/gopath GO111MODULE=off CGO_ENABLED=0 GOPROXY=off GOFLAGS= GOCACHE=$CACHE/gocache
  local src=$GOPATH/src/k8s.io/kubernetes
  rm -rf "$GOPATH"; mkdir -p "$src"
  log "extracting $(basename "$orig")"
  tar -xf "$orig" -C "$src" --strip-components=1
  [ -f "$src/cmd/kube-apiserver/apiserver.go" ] || die "unexpected layout of $orig"

  # Fix 3: reflect2 1.0.1 crashes under Go >= 1.18; use Debian's 1.0.2.
  local r2=$src/vendor/github.com/modern-go/reflect2
  rm -f "$r2"/*.go "$r2"/*.s
  for f in /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s; do
    case $f in *_test.go) continue;; esac
    [ -e "$f" ] && cp "$f" "$r2/"
  done

  cd "$src"
  # Fix 2: generate pkg/generated/openapi with the vendored openapi-gen.
  log "building openapi-gen"
  go build -o "$CACHE/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
  local inputs
  inputs=$( { grep -Rl --include='*.go' '+k8s:openapi-gen=' pkg cmd vendor 2>/dev/null || true; } |
    xargs -n1 dirname | LC_ALL=C sort -u | sed 's#^#k8s.io/kubernetes/#' | paste -sd, -)
  [ -n "$inputs" ] || die "found no packages with +k8s:openapi-gen= tags"
  log "generating pkg/generated/openapi ($(echo "$inputs" | tr ',' '\n' | wc -l) packages)"
  "$CACHE/openapi-gen" -i "$inputs" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -o "$GOPATH/src" \
    -r "$CACHE/openapi-violations.list" >"$CACHE/openapi-gen.log" 2>&1 ||
    { tail -20 "$CACHE/openapi-gen.log" >&2; die "openapi-gen failed (log: $CACHE/openapi-gen.log)"; }
  [ -f pkg/generated/openapi/zz_generated.openapi.go ] || die "openapi-gen wrote nothing"
  if ! diff -q <(sort "$CACHE/openapi-violations.list") <(sort api/api-rules/violation_exceptions.list) >/dev/null; then
    log "note: openapi rule violations differ from api/api-rules/violation_exceptions.list"
  fi

  mkdir -p "$BIN"
  local ld="-s -w -X k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitVersion=v$KVER"
  ld="$ld -X k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitMajor=1"
  ld="$ld -X k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitMinor=20"
  ld="$ld -X k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitTreeState=clean"
  local b
  for b in kube-apiserver kube-scheduler kube-controller-manager; do
    log "go build $b ($(date -u +%H:%M:%S))"
    go build -p 2 -ldflags "$ld" -o "$BIN/$b.tmp" "./cmd/$b"
    mv "$BIN/$b.tmp" "$BIN/$b"
  done
  cd /
  # Keep the Go build cache (fast rebuild after a recipe bump) but not the source tree.
  rm -rf "$GOPATH"
  echo "$WANT_STAMP" > "$STAMP"
  log "built in $(( $(date +%s) - t0 )) s: $BIN"
}

# --- start / stop -------------------------------------------------------------------------

free_port() {
  python3 - <<'PY' 2>/dev/null || shuf -i 20000-60000 -n 1
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

write_kubeconfig() { # file server ca token user
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: $2
    certificate-authority: $3
contexts:
- name: $5@testenv
  context: {cluster: testenv, user: $5, namespace: default}
current-context: $5@testenv
users:
- name: $5
  user:
    token: $4
KC
}

wait_ready() { # url token seconds
  local i=0
  while [ $i -lt $(( $3 * 5 )) ]; do
    if curl -sfk -H "Authorization: Bearer $2" "$1/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.2; i=$((i + 1))
  done
  return 1
}

do_start() {
  local dir=$1
  built || die "control plane not built; run: $0 build"
  command -v etcd >/dev/null || die "etcd not installed (Debian etcd-server)"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  local ep ep2 ap
  ep=$(free_port); ep2=$(free_port); ap=$(free_port)
  # Certificates: a CA and a serving cert for 127.0.0.1; SA signing key.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gpuscale-testenv-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout "$dir/apiserver.key" \
    -out "$dir/apiserver.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$dir/san.ext"
  openssl x509 -req -in "$dir/apiserver.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/san.ext" -out "$dir/apiserver.crt" >/dev/null 2>&1
  openssl genrsa -out "$dir/sa.key" 2048 >/dev/null 2>&1
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" >/dev/null 2>&1
  local admin_tok user_tok
  admin_tok=$(openssl rand -hex 16); user_tok=$(openssl rand -hex 16)
  {
    echo "$admin_tok,admin,uid-admin,\"system:masters\""
    echo "$user_tok,gpuscale,uid-gpuscale,\"gpuscale-users\""
  } > "$dir/tokens.csv"
  local server=https://127.0.0.1:$ap
  write_kubeconfig "$dir/admin.kubeconfig" "$server" "$dir/ca.crt" "$admin_tok" admin
  write_kubeconfig "$dir/user.kubeconfig" "$server" "$dir/ca.crt" "$user_tok" gpuscale

  etcd --name testenv --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
    --listen-peer-urls "http://127.0.0.1:$ep2" --initial-advertise-peer-urls "http://127.0.0.1:$ep2" \
    --initial-cluster "testenv=http://127.0.0.1:$ep2" --unsafe-no-fsync 2>/dev/null >/dev/null </dev/null &
  local etcd_pid=$!
  # --unsafe-no-fsync exists only in newer etcd: restart without it if etcd exited.
  sleep 0.3
  if ! kill -0 $etcd_pid 2>/dev/null; then
    etcd --name testenv --data-dir "$dir/etcd" \
      --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
      --listen-peer-urls "http://127.0.0.1:$ep2" --initial-advertise-peer-urls "http://127.0.0.1:$ep2" \
      --initial-cluster "testenv=http://127.0.0.1:$ep2" >"$dir/etcd.log" 2>&1 </dev/null &
    etcd_pid=$!
  fi
  {
    echo "ETCD_PID=$etcd_pid"; echo "ETCD_PORT=$ep"; echo "APISERVER_PORT=$ap"; echo "SERVER=$server"
    echo "ADMIN_TOKEN=$admin_tok"; echo "USER_TOKEN=$user_tok"; echo "CA=$dir/ca.crt"
  } > "$dir/env"
  start_apiserver "$dir"
  # shellcheck disable=SC1091
  . "$dir/env"
  if ! wait_ready "$server" "$admin_tok" 60; then
    tail -20 "$dir/apiserver.log" >&2
    do_stop "$dir"; die "kube-apiserver not ready within 60 s (log: $dir/apiserver.log)"
  fi
  local qps=()
  [ -n "${GS_KUBE_CLIENT_QPS:-}" ] && qps=(--kube-api-qps "$GS_KUBE_CLIENT_QPS" --kube-api-burst "$GS_KUBE_CLIENT_QPS")
  if [ "${GS_KUBE_NO_SCHED:-0}" != 1 ]; then
    "$BIN/kube-scheduler" --kubeconfig "$dir/admin.kubeconfig" --leader-elect=false "${qps[@]}" \
      --bind-address 127.0.0.1 --port 0 --secure-port "$(free_port)" \
      --authentication-kubeconfig "$dir/admin.kubeconfig" --authorization-kubeconfig "$dir/admin.kubeconfig" \
      >"$dir/scheduler.log" 2>&1 </dev/null &
    echo "SCHED_PID=$!" >> "$dir/env"
    "$BIN/kube-controller-manager" --kubeconfig "$dir/admin.kubeconfig" --leader-elect=false "${qps[@]}" \
      --bind-address 127.0.0.1 --port 0 --secure-port "$(free_port)" \
      --authentication-kubeconfig "$dir/admin.kubeconfig" --authorization-kubeconfig "$dir/admin.kubeconfig" \
      --service-account-private-key-file "$dir/sa.key" --root-ca-file "$dir/ca.crt" \
      --use-service-account-credentials=false --controllers '*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-ttl,-bootstrapsigner,-tokencleaner,-csrsigning,-csrapproving,-csrcleaner,-route,-service,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-pvc-protection,-pv-protection,-endpointslicemirroring' \
      >"$dir/controller-manager.log" 2>&1 </dev/null &
    echo "KCM_PID=$!" >> "$dir/env"
  fi
  # Owner watchdog: when GS_KUBE_OWNER_PID (the test process) dies, even by a crash, stop all
  # (by the pids recorded now, so a deleted DIR does not leave them running).
  if [ -n "${GS_KUBE_OWNER_PID:-}" ]; then
    local wpids
    wpids=$(grep -E '^(KCM|SCHED|APISERVER|ETCD)_PID=' "$dir/env" | cut -d= -f2 | tac | tr '\n' ' ')
    ( trap '' HUP; while kill -0 "$GS_KUBE_OWNER_PID" 2>/dev/null && [ -f "$dir/env" ]; do sleep 1; done
      if [ -f "$dir/env" ]; then do_stop "$dir"; else for p in $wpids; do kill "$p" 2>/dev/null; done; fi
    ) >/dev/null 2>&1 </dev/null &
  fi
  log "ready: $server (kubeconfigs in $dir)"
}

start_apiserver() { # dir (reads ports from DIR/env; appends APISERVER_PID)
  local dir=$1
  # shellcheck disable=SC1091
  . "$dir/env"
  local adm="ServiceAccount"
  [ "${GS_KUBE_NO_SCHED:-0}" = 1 ] || adm=""
  "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --insecure-port 0 --cert-dir "$dir" \
    --tls-cert-file "$dir/apiserver.crt" --tls-private-key-file "$dir/apiserver.key" \
    --client-ca-file "$dir/ca.crt" --token-auth-file "$dir/tokens.csv" \
    --authorization-mode RBAC --service-account-key-file "$dir/sa.pub" \
    --service-account-signing-key-file "$dir/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --api-audiences https://kubernetes.default.svc \
    --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type=none \
    ${adm:+--disable-admission-plugins "$adm"} \
    --max-requests-inflight 1000 --max-mutating-requests-inflight 500 \
    >>"$dir/apiserver.log" 2>&1 </dev/null &
  echo "APISERVER_PID=$!" >> "$dir/env"
}

# restart-apiserver DIR: kill the API server and start it again on the same port (tests).
do_restart_apiserver() {
  local dir=$1
  # shellcheck disable=SC1091
  . "$dir/env"
  kill "$APISERVER_PID" 2>/dev/null || true
  local i=0; while kill -0 "$APISERVER_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  start_apiserver "$dir"
  . "$dir/env"
  wait_ready "$SERVER" "$ADMIN_TOKEN" 60 || die "kube-apiserver not ready after restart"
}

do_stop() {
  local dir=$1
  [ -f "$dir/env" ] || return 0
  local pids
  pids=$(grep -E '^(KCM|SCHED|APISERVER|ETCD)_PID=' "$dir/env" | cut -d= -f2 | tac)
  local p
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  local i=0
  for p in $pids; do
    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -f "$dir/env"
}

case "${1:-}" in
  build) do_build ;;
  bin) built || exit 1; echo "$BIN" ;;
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; do_start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; do_stop "$2" ;;
  restart-apiserver) [ $# -eq 2 ] || die "usage: $0 restart-apiserver DIR"; do_restart_apiserver "$2" ;;
  *) echo "usage: $0 build | bin | start DIR | stop DIR | restart-apiserver DIR" >&2; exit 2 ;;
esac
