#!/usr/bin/env bash
# The container image (scripts/build-image.sh, `make image`): builds it from the release binary
# into a temporary directory, checks the OCI layout byte for byte (every blob's sha256 and size
# against index.json/manifest, the layer's diff_id, entrypoint, user, labels, the docker-load
# manifest.json of the tarball), that a second build is identical, then unpacks the layer and
# runs gpuscale INSIDE it: chroot as uid 65532 with the image config's environment only, the root
# mounted read-only and a tmpfs on /tmp (as deploy/deployment.yaml runs it). It checks `version`,
# `--help`, `validate` (the catalog and tzdata of the image: a Budget in Europe/Berlin passes, one
# in a zone that does not exist fails), and HTTPS through the image's libcurl + CA bundle: against
# a TLS server on loopback with a self-signed certificate the error must be the certificate
# verification (the bundle was loaded and used), and against a port nobody listens on a
# connection error — never a missing library or CA file; `run --ledger` on a volume writes the
# SQLite ledger with the root read-only and `cost` reads it. Bad input to the build script (missing
# binary, not ELF, output under a file, read-only output) must fail with a clear message.
#
# Needs root (chroot, mount namespace), jq, openssl; the release build (build/release/gpuscale,
# which `make test` builds first; GS_IMAGE_BINARY overrides). Without them: exit 77 (skip).
# Usage: bash tests/image.sh <gpuscale binary (unused: the image is built from release)> <repo root>
set -uo pipefail

ROOT=${2:?usage: image.sh BINARY REPO_ROOT}
ROOT=$(cd "$ROOT" && pwd)
skip() { echo "image.sh: SKIP: $*"; exit 77; }
fail() { echo "image.sh: FAIL: $*" >&2; exit 1; }
ok() { echo "image.sh: ok: $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (chroot into the image and a private mount namespace)"
for t in jq openssl unshare chroot mount tar gzip sha256sum ldd timeout cmp; do
  command -v "$t" >/dev/null 2>&1 || skip "needs '$t' on PATH"
done
CHROOT=$(command -v chroot)
REL=${GS_IMAGE_BINARY:-$ROOT/build/release/gpuscale}
[ -x "$REL" ] || skip "no release binary at $REL (make release): the image is built from it"
unshare -m true 2>/dev/null || skip "cannot create a mount namespace here (unshare -m)"

T=$(mktemp -d "${TMPDIR:-/tmp}/gs-image-test.XXXXXX")
SPID=""
cleanup() {
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT

BUILD="$ROOT/scripts/build-image.sh"
export SOURCE_DATE_EPOCH=1700000000

# --- bad input to the build script ------------------------------------------------------------
expect_fail() { # description, expected message fragment, args...
  local what=$1 frag=$2; shift 2
  local rc=0
  bash "$BUILD" "$@" > "$T/bad.out" 2> "$T/bad.err" || rc=$?
  [ "$rc" -ne 0 ] || fail "build-image with $what exited 0"
  grep -qF -- "$frag" "$T/bad.err" || fail "build-image with $what: expected '$frag' in: $(cat "$T/bad.err")"
  ok "build-image with $what -> exit $rc: $(head -1 "$T/bad.err")"
}
expect_fail "a missing binary" "binary '$T/nope' does not exist" --binary "$T/nope" --out "$T/o1"
printf '#!/bin/sh\necho gpuscale 0.1.0\n' > "$T/fake"; chmod +x "$T/fake"
expect_fail "a shell script as binary" "is not an ELF executable" --binary "$T/fake" --out "$T/o2"
: > "$T/afile"
expect_fail "an output directory under a regular file" "cannot create output directory" --binary "$REL" --out "$T/afile/out"
expect_fail "no --out" "--out DIR is required" --binary "$REL"
mkdir -p "$T/ro"
rc=0
unshare -m bash -c 'mount -t tmpfs -o ro,size=1m tmpfs "$1" && exec bash "$2" --binary "$3" --out "$1"' _ \
  "$T/ro" "$BUILD" "$REL" > "$T/bad.out" 2> "$T/bad.err" || rc=$?
[ "$rc" -ne 0 ] || fail "build-image into a read-only directory exited 0"
grep -qF "is not writable" "$T/bad.err" || fail "build-image into a read-only directory: $(cat "$T/bad.err")"
ok "build-image into a read-only directory -> exit $rc: $(head -1 "$T/bad.err")"
for d in o1 o2; do [ ! -e "$T/$d/oci" ] || fail "a failed build left $T/$d/oci behind"; done

# --- build twice: identical ------------------------------------------------------------------
bash "$BUILD" --binary "$REL" --out "$T/a" --revision test > "$T/build.out" 2>&1 || fail "build-image failed: $(cat "$T/build.out")"
cat "$T/build.out"
bash "$BUILD" --binary "$REL" --out "$T/b" --revision test > "$T/build2.out" 2>&1 || fail "second build failed: $(cat "$T/build2.out")"
VERSION=$("$REL" version | sed 's/^gpuscale //')
TARBALL="$T/a/gpuscale-$VERSION.tar"
[ -f "$TARBALL" ] || fail "no tarball $TARBALL"
cmp -s "$T/a/oci/index.json" "$T/b/oci/index.json" || fail "two builds of the same inputs differ (index.json)"
cmp -s "$TARBALL" "$T/b/gpuscale-$VERSION.tar" || fail "two builds of the same inputs differ (tarball)"
ok "two builds are byte-identical"

# --- the OCI layout ---------------------------------------------------------------------------
O="$T/a/oci"
check_blob() { # "sha256:HEX" size what -> path
  local dg=$1 size=$2 what=$3 hex p
  case "$dg" in sha256:*) hex=${dg#sha256:} ;; *) fail "$what digest '$dg' is not sha256" ;; esac
  p="$O/blobs/sha256/$hex"
  [ -f "$p" ] || fail "$what blob $dg missing"
  [ "$(sha256sum "$p" | cut -d' ' -f1)" = "$hex" ] || fail "$what blob $dg: content does not hash to its name"
  [ "$(stat -c %s "$p")" = "$size" ] || fail "$what blob $dg: size $(stat -c %s "$p") != descriptor size $size"
  printf '%s' "$p"
}
[ "$(jq -c . "$O/oci-layout")" = '{"imageLayoutVersion":"1.0.0"}' ] || fail "oci-layout: $(cat "$O/oci-layout")"
jq -e '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.index.v1+json" and (.manifests|length) == 1' \
  "$O/index.json" >/dev/null || fail "index.json: $(cat "$O/index.json")"
[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$O/index.json")" = "$VERSION" ] || fail "index.json ref.name is not $VERSION"
[ "$(jq -r '.manifests[0].mediaType' "$O/index.json")" = application/vnd.oci.image.manifest.v1+json ] || fail "index.json: manifest media type"
M=$(check_blob "$(jq -r '.manifests[0].digest' "$O/index.json")" "$(jq -r '.manifests[0].size' "$O/index.json")" manifest) || exit 1
jq -e '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.manifest.v1+json"
       and .config.mediaType == "application/vnd.oci.image.config.v1+json" and (.layers|length) == 1
       and .layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip"' "$M" >/dev/null || fail "manifest: $(cat "$M")"
C=$(check_blob "$(jq -r '.config.digest' "$M")" "$(jq -r '.config.size' "$M")" config) || exit 1
L=$(check_blob "$(jq -r '.layers[0].digest' "$M")" "$(jq -r '.layers[0].size' "$M")" layer) || exit 1
[ "$(find "$O/blobs/sha256" -type f | wc -l)" = 3 ] || fail "blobs/sha256 holds blobs nothing references: $(ls "$O/blobs/sha256")"
[ "$(jq -c .config.Entrypoint "$C")" = '["/usr/bin/gpuscale"]' ] || fail "config Entrypoint: $(jq -c .config.Entrypoint "$C")"
[ "$(jq -r .config.User "$C")" = 65532 ] || fail "config User: $(jq -r .config.User "$C")"
jq -e '.os == "linux" and (.architecture|type) == "string" and .rootfs.type == "layers"' "$C" >/dev/null || fail "config os/arch/rootfs"
[ "$(jq -r '.config.Labels["org.opencontainers.image.version"]' "$C")" = "$VERSION" ] || fail "config version label"
[ "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' "$C")" = test ] || fail "config revision label"
jq -e '.config.Labels["org.opencontainers.image.source"] | type == "string" and length > 0' "$C" >/dev/null || fail "config source label"
DIFF=$(gzip -dc "$L" | sha256sum | cut -d' ' -f1)
[ "$(jq -r '.rootfs.diff_ids[0]' "$C")" = "sha256:$DIFF" ] || fail "config diff_id does not match the uncompressed layer"
ok "OCI layout: index -> manifest -> config + layer, digests, sizes, diff_id, Entrypoint, User 65532, labels"

# The tarball: the same layout plus docker load's manifest.json.
mkdir "$T/tx"
tar -xf "$TARBALL" -C "$T/tx" || fail "tarball does not unpack"
for f in oci-layout index.json; do cmp -s "$O/$f" "$T/tx/$f" || fail "tarball $f differs from the layout"; done
for b in "$O"/blobs/sha256/*; do cmp -s "$b" "$T/tx/blobs/sha256/$(basename "$b")" || fail "tarball lacks blob $(basename "$b")"; done
[ "$(jq -r '.[0].Config' "$T/tx/manifest.json")" = "blobs/sha256/$(basename "$C")" ] || fail "manifest.json Config"
[ "$(jq -r '.[0].Layers[0]' "$T/tx/manifest.json")" = "blobs/sha256/$(basename "$L")" ] || fail "manifest.json Layers"
[ "$(jq -r '.[0].RepoTags[0]' "$T/tx/manifest.json")" = "gpuscale:$VERSION" ] || fail "manifest.json RepoTags"
ok "tarball: OCI layout + docker manifest.json (gpuscale:$VERSION)"

# deploy/Dockerfile cannot be built here (no daemon): check its minimal (last) stage says what
# this image's config says, and that it takes its files from build-image.sh --rootfs.
DF="$ROOT/deploy/Dockerfile"
last=$(awk '/^FROM /{s=""} {s=s $0 "\n"} END{printf "%s", s}' "$DF")
grep -q '^FROM scratch' <<< "$last" || fail "deploy/Dockerfile: last stage is not FROM scratch"
grep -qF 'ENTRYPOINT ["/usr/bin/gpuscale"]' <<< "$last" || fail "deploy/Dockerfile: entrypoint differs from the image's"
grep -qx 'USER 65532' <<< "$last" || fail "deploy/Dockerfile: USER differs from the image's"
while read -r e; do
  grep -qF -- "$e" <<< "$last" || fail "deploy/Dockerfile: last stage lacks ENV $e (image config has it)"
done < <(jq -r '.config.Env[]' "$C")
grep -q -- '--rootfs /rootfs' "$DF" || fail "deploy/Dockerfile does not use build-image.sh --rootfs"
grep -q "^ARG VERSION=$VERSION\$" "$DF" || fail "deploy/Dockerfile: ARG VERSION is not $VERSION"
ok "deploy/Dockerfile's final stage: same entrypoint, user, environment, files (--rootfs), version"

# --- the root filesystem ----------------------------------------------------------------------
if gzip -dc "$L" | tar -t | grep -qE '^/|(^|/)\.\.(/|$)'; then fail "layer has absolute or .. paths"; fi
R="$T/root"; mkdir "$R"
tar -xzf "$L" -C "$R" --numeric-owner || fail "layer does not unpack"
[ "$(stat -c %a "$R/tmp")" = 1777 ] || fail "/tmp mode $(stat -c %a "$R/tmp")"
[ "$(stat -c %u:%g "$R/home/nonroot")" = 65532:65532 ] || fail "/home/nonroot owner"
grep -q '^nonroot:x:65532:65532:' "$R/etc/passwd" || fail "/etc/passwd lacks uid 65532"
grep -q '^nonroot:x:65532:' "$R/etc/group" || fail "/etc/group lacks gid 65532"
[ -z "$(find "$R" -xdev -not -path "$R/home/nonroot" \( -not -uid 0 -o -perm -o+w \) -not -path "$R/tmp" -not -type l)" ] \
  || fail "files not owned by root or world-writable: $(find "$R" -not -uid 0 -not -path "$R/home/nonroot" | head)"
ok "rootfs: /tmp 1777, /home/nonroot 65532, passwd/group, nothing else writable"

# --rootfs (what deploy/Dockerfile copies) writes the same tree as the layer holds.
bash "$BUILD" --binary "$REL" --rootfs "$T/rfs" > "$T/rfs.out" 2>&1 || fail "build-image --rootfs: $(cat "$T/rfs.out")"
tree() { (cd "$1" && find . -printf '%p %y %m %U:%G %s %l\n' | LC_ALL=C sort); }
diff <(tree "$R") <(tree "$T/rfs") > "$T/rfs.diff" || fail "--rootfs tree differs from the layer: $(head "$T/rfs.diff")"
diff -r --no-dereference "$R" "$T/rfs" > /dev/null || fail "--rootfs file contents differ from the layer"
rm -rf "$T/rfs"
ok "build-image --rootfs writes the layer's tree (modes, owners, sizes, contents)"

# Independent readers of the layout, where installed (not needed by the test): umoci unpacks it
# (verifying every digest) into the same tree; skopeo reads the layout and both tarball forms.
if command -v umoci >/dev/null 2>&1; then
  umoci unpack --image "$O:$VERSION" "$T/um" > "$T/um.out" 2>&1 || fail "umoci unpack refused the layout: $(cat "$T/um.out")"
  [ "$(jq -c .process.user "$T/um/config.json")" = '{"uid":65532,"gid":65532}' ] || fail "umoci: user $(jq -c .process.user "$T/um/config.json")"
  diff <(tree "$R") <(tree "$T/um/rootfs") > "$T/um.diff" || fail "umoci's unpack differs: $(head "$T/um.diff")"
  rm -rf "$T/um"
  ok "umoci unpack: digests verified, same tree, process user 65532:65532"
else
  echo "image.sh: note: umoci not installed; its cross-check is not run"
fi
if command -v skopeo >/dev/null 2>&1; then
  for ref in "oci:$O:$VERSION" "oci-archive:$TARBALL" "docker-archive:$TARBALL"; do
    skopeo inspect --config "$ref" > "$T/sk.json" 2> "$T/sk.err" || fail "skopeo inspect $ref: $(cat "$T/sk.err")"
    [ "$(jq -c .config.Entrypoint "$T/sk.json")" = '["/usr/bin/gpuscale"]' ] || fail "skopeo $ref: entrypoint"
  done
  ok "skopeo reads oci:, oci-archive: and docker-archive: (the tarball)"
else
  echo "image.sh: note: skopeo not installed; its cross-check is not run"
fi

# Inputs for the runs, copied into the container's tmpfs /tmp.
IN="$T/in"; mkdir "$IN"
cp "$ROOT/deploy/config.example.yaml" "$IN/config.yaml"
cat > "$IN/budget.yaml" <<'EOF'
apiVersion: gpuscale.dev/v1alpha1
kind: Budget
metadata: {name: b}
spec: {project: p, timezone: Europe/Berlin, limits: {perDay: "10"}}
EOF
sed 's#Europe/Berlin#Mars/Olympus_Mons#' "$IN/budget.yaml" > "$IN/badzone.yaml"
mapfile -t ENVV < <(jq -r '.config.Env[]' "$C")
# inroot [-t SECS] ARGS...: run /usr/bin/gpuscale ARGS inside the image as 65532:65532, root
# read-only, tmpfs /tmp, environment = the image config's Env only (with -t: SIGTERM after SECS).
# /tmp/state is $T/state, a volume that outlives the run (as a ledger volume would).
# Prints stdout+stderr; returns its status.
mkdir "$T/state" && chown 65532:65532 "$T/state"
inroot() {
  local secs=0
  if [ "$1" = -t ]; then secs=$2; shift 2; fi
  unshare -m bash -c '
    R=$1 IN=$2 CH=$3 S=$4 N=$5; shift 5
    envv=("${@:1:$N}"); shift "$N"
    mount --bind "$R" "$R" && mount -o remount,bind,ro "$R" &&
    mount -t tmpfs -o size=16m,mode=1777 tmpfs "$R/tmp" && cp -r "$IN" "$R/tmp/in" && chmod -R a+rX "$R/tmp/in" &&
    mkdir "$R/tmp/state" && mount --bind "$IN/../state" "$R/tmp/state" || exit 99
    pre=(); if [ "$S" != 0 ]; then pre=(timeout -s TERM "$S"); fi
    exec "${pre[@]}" env -i "${envv[@]}" "$CH" --userspec=65532:65532 "$R" /usr/bin/gpuscale "$@"' \
    _ "$R" "$IN" "$CHROOT" "$secs" "${#ENVV[@]}" "${ENVV[@]}" "$@" 2>&1
}
no_loader_errors() { # output what
  if grep -qE 'error while loading shared libraries|cannot open shared object' <<< "$1"; then
    fail "$2: a library is missing from the image: $1"
  fi
}

out=$(inroot version); rc=$?
no_loader_errors "$out" version
[ "$rc" = 0 ] && [ "$out" = "gpuscale $VERSION" ] || fail "gpuscale version in the image: rc=$rc: $out"
ok "in the image as 65532 (read-only root): gpuscale version -> $out"
out=$(inroot --help); rc=$?
no_loader_errors "$out" --help
[ "$rc" = 0 ] && grep -q '^usage: gpuscale' <<< "$out" || fail "gpuscale --help in the image: rc=$rc: $out"
ok "in the image: gpuscale --help"
out=$(inroot validate /tmp/in/config.yaml); rc=$?
[ "$rc" = 0 ] || fail "gpuscale validate deploy/config.example.yaml in the image: rc=$rc: $out"
ok "in the image: validate deploy/config.example.yaml -> $out"
out=$(inroot validate /tmp/in/budget.yaml); rc=$?
[ "$rc" = 0 ] || fail "a Budget in Europe/Berlin in the image (tzdata?): rc=$rc: $out"
out=$(inroot validate /tmp/in/badzone.yaml); rc=$?
[ "$rc" = 1 ] && grep -q "unknown time zone 'Mars/Olympus_Mons'" <<< "$out" || fail "a Budget in a zone that does not exist: rc=$rc: $out"
ok "in the image: tzdata read (Europe/Berlin accepted, Mars/Olympus_Mons refused)"

# --- HTTPS through the image's libcurl and CA bundle ------------------------------------------
# A TLS server on loopback with a self-signed certificate: libcurl must load the image's CA
# bundle and then refuse the certificate (a missing bundle fails first, naming the file).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for _ in 1 2 3 4 5 6 7 8; do
  p=$((20000 + RANDOM % 30000))
  port_open "$p" && continue
  openssl s_server -accept "127.0.0.1:$p" -cert "$T/cert.pem" -key "$T/key.pem" -www -quiet \
    > "$T/s_server.log" 2>&1 < /dev/null &
  SPID=$!
  for _ in $(seq 50); do
    if port_open "$p"; then PORT=$p; break; fi
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$PORT" ] && break
  kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
done
[ -n "$PORT" ] || fail "could not start openssl s_server on loopback: $(cat "$T/s_server.log")"
CLOSED=""
for _ in $(seq 20); do
  p=$((20000 + RANDOM % 30000))
  if ! port_open "$p"; then CLOSED=$p; break; fi
done
[ -n "$CLOSED" ] || fail "no closed loopback port found"
for k in "tls $PORT" "closed $CLOSED"; do
  set -- $k
  cat > "$IN/kc-$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:$2"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
EOF
done
run_in() { # kubeconfig name, args... -> gpuscale run's output over ~5 s (then SIGTERM)
  local kc=$1; shift
  inroot -t 5 run --kubeconfig "/tmp/in/kc-$kc" --provider kube-fake --metrics-addr 127.0.0.1 \
    --metrics-port 0 --lease-namespace gs-image-test --id image-test "$@"
}
out=$(run_in tls)
no_loader_errors "$out" "run (TLS)"
# gpuscale logs curl_easy_strerror(): CURLE_PEER_FAILED_VERIFICATION (60) is "SSL peer
# certificate or SSH remote key was not OK"; an unreadable bundle is CURLE_SSL_CACERT_BADFILE (77),
# "Problem with the SSL CA cert (path? access rights?)".
if grep -qE 'Problem with the SSL CA cert|error setting certificate' <<< "$out"; then
  fail "run against TLS: the image's CA bundle was not usable: $(grep -m1 -E 'CA cert|certificate' <<< "$out")"
fi
grep -q 'SSL peer certificate or SSH remote key was not OK' <<< "$out" \
  || fail "run against a self-signed TLS server: expected libcurl's certificate verification error, got: $(head -5 <<< "$out")"
ok "in the image: run against https://127.0.0.1:$PORT (self-signed): certificate verification refused it (CA bundle loaded)"
out=$(run_in closed --ledger /tmp/state/ledger.db)
no_loader_errors "$out" "run (closed port)"
grep -q "Couldn't connect to server" <<< "$out" || fail "run against a closed port: expected a connection error, got: $(head -5 <<< "$out")"
grep -q 'msg="shutting down"' <<< "$out" || fail "run did not shut down on SIGTERM: $(tail -3 <<< "$out")"
ok "in the image: run against https://127.0.0.1:$CLOSED (nobody listens): Couldn't connect to server; SIGTERM -> shutting down"
# The SQLite ledger on a volume, with the root read-only: run created it, cost reads it.
[ -s "$T/state/ledger.db" ] || fail "run --ledger /tmp/state/ledger.db created no ledger: $(grep -i ledger <<< "$out" | head -3)"
out=$(inroot cost --ledger /tmp/state/ledger.db --tz Europe/Berlin); rc=$?
[ "$rc" = 0 ] && grep -q '^TOTAL' <<< "$out" || fail "gpuscale cost on the ledger in the image: rc=$rc: $out"
ok "in the image: run --ledger wrote the SQLite ledger on a volume (root read-only), cost read it"
echo "image.sh: all checks passed"
