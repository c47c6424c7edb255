#!/usr/bin/env bash
# Installs exactly the Debian (bookworm) packages that gpuscale's build, tests, benchmarks and
# demo need. Idempotent: packages already present are left alone and nothing is downloaded.
# Not root and something missing: says what to install and exits 1.
set -euo pipefail

PKGS=(
  # build
  cmake ninja-build pkg-config gcc make clang-14 libclang-rt-14-dev
  # libraries (DESIGN.md)
  libcmocka-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev
  libhiredis-dev libmicrohttpd-dev librabbitmq-dev libssl-dev
  # IANA time zones: Budget.spec.timezone is checked against /usr/share/zoneinfo
  tzdata
  # real peers the tests start on loopback
  redis-server rabbitmq-server prometheus
  # control-plane tests run in their own network namespace (tests/kube/netns.sh)
  iproute2 util-linux
  # the container image (scripts/build-image.sh copies the CA bundle) and its test
  # (tests/image.sh: jq reads the OCI JSON, openssl serves TLS on loopback)
  ca-certificates jq openssl
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
# The Debian packages of the brokers start system services; the tests start their own on
# loopback ports they pick, so stop the system ones if they came up (ignore failures).
for svc in redis-server rabbitmq-server prometheus; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
exit 0
