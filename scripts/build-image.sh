#!/usr/bin/env bash
# Builds the gpuscale container image without a daemon and without network: a minimal root
# filesystem (the binary, the instance catalog, exactly the shared libraries the dynamic loader
# resolves for it and the loader itself, CA certificates, tzdata, /etc/passwd+group with the
# non-root user 65532, /tmp) packed as an OCI image layout (oci-layout, index.json, blobs/sha256/: config, manifest,
# one gzip layer) and as one tarball of that layout plus a manifest.json, which `docker load`,
# `podman load` and `skopeo copy oci-archive:...` all read.
#
#   scripts/build-image.sh --binary build/release/gpuscale --out build/image
#
# Reproducible: same binary, same host files and same SOURCE_DATE_EPOCH -> same digests (files
# sorted, owners numeric, mtimes clamped, gzip without name/time). Runs as any user; the
# libraries and data are copied from this machine (Debian bookworm), so the image holds the
# same library versions the binary was built and tested against. Docs: docs/deploy.md "The image".
set -euo pipefail

prog=build-image
die() { echo "$prog: $*" >&2; exit 1; }
usage() {
  cat <<'EOF'
usage: scripts/build-image.sh --binary FILE (--out DIR | --rootfs DIR) [--name NAME] [--tag TAG]
                              [--data DIR] [--source URL] [--revision REV]
Builds an OCI image of gpuscale from a built binary, without a daemon or network.
  --binary FILE   the gpuscale executable (dynamically linked ELF), e.g. build/release/gpuscale
  --out DIR       output directory (created); writes DIR/oci/ (an OCI image layout) and
                  DIR/NAME-TAG.tar (the same layout + manifest.json: docker load / podman load)
  --rootfs DIR    instead of --out: write the image's root filesystem tree into DIR (new or
                  empty); deploy/Dockerfile uses it to copy the same files into its image
  --data DIR      instance catalog (instance-types.csv, spot-discounts.csv, README.md) copied
                  to /usr/share/gpuscale (default: the source tree's data/)
  --name NAME     image name (default gpuscale)
  --tag TAG       image tag (default: the version `gpuscale version` prints)
  --source URL    org.opencontainers.image.source label (default: git remote origin, else unknown)
  --revision REV  org.opencontainers.image.revision label (default: git HEAD of the tree, else unknown)
Environment: SOURCE_DATE_EPOCH fixes file times and the created date (default: the last commit's
time, else 0).
EOF
}

bin="" out="" rootfs_out="" data="" name=gpuscale tag="" source="" revision=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary|--out|--rootfs|--data|--name|--tag|--source|--revision)
      [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --binary) bin=$2 ;; --out) out=$2 ;; --rootfs) rootfs_out=$2 ;; --data) data=$2 ;;
        --name) name=$2 ;; --tag) tag=$2 ;; --source) source=$2 ;; --revision) revision=$2 ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$prog: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$bin" ] || { echo "$prog: --binary FILE is required (see --help)" >&2; exit 2; }
[ -n "$out" ] || [ -n "$rootfs_out" ] || { echo "$prog: --out DIR is required (see --help)" >&2; exit 2; }
[ -z "$out" ] || [ -z "$rootfs_out" ] || { echo "$prog: --out and --rootfs exclude each other" >&2; exit 2; }

for t in ldd tar gzip sha256sum stat find; do
  command -v "$t" >/dev/null 2>&1 || die "needs '$t' on PATH"
done

# --- the input binary -------------------------------------------------------------------------
[ -e "$bin" ] || die "binary '$bin' does not exist (build it first: make release)"
[ -f "$bin" ] || die "binary '$bin' is not a regular file"
[ -x "$bin" ] || die "binary '$bin' is not executable"
[ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" = '177ELF' ] || die "binary '$bin' is not an ELF executable"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
ver_line=$("$bin" version 2>/dev/null) || die "'$bin version' failed: is it gpuscale?"
case "$ver_line" in
  "gpuscale "*) version=${ver_line#gpuscale } ;;
  *) die "'$bin version' printed '$ver_line', not 'gpuscale VERSION'" ;;
esac
[ -n "$tag" ] || tag=$version
case "$name:$tag" in
  *[!a-z0-9._/:-]*) die "image name '$name:$tag' has characters outside [a-z0-9._/:-]" ;;
esac

case "$(uname -m)" in
  x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) die "unsupported machine $(uname -m)" ;;
esac

srcdir=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$data" ] || data=$srcdir/data
[ -d "$data" ] || die "catalog directory '$data' does not exist (--data DIR)"
if [ -z "$revision" ]; then
  revision=$(git -C "$srcdir" rev-parse HEAD 2>/dev/null || echo unknown)
fi
if [ -z "$source" ]; then
  source=$(git -C "$srcdir" config --get remote.origin.url 2>/dev/null || echo unknown)
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$srcdir" log -1 --format=%ct 2>/dev/null || echo 0)
fi
case "$SOURCE_DATE_EPOCH" in ''|*[!0-9]*) die "SOURCE_DATE_EPOCH '$SOURCE_DATE_EPOCH' is not a number of seconds" ;; esac
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

# --- the output directory ---------------------------------------------------------------------
if [ -n "$rootfs_out" ]; then
  [ ! -e "$rootfs_out" ] || [ -z "$(ls -A "$rootfs_out" 2>/dev/null)" ] || die "--rootfs '$rootfs_out' exists and is not empty"
  out=$rootfs_out
fi
mkdir -p "$out" 2>/dev/null || die "cannot create output directory '$out'"
[ -d "$out" ] || die "output '$out' is not a directory"
probe="$out/.build-image.$$"
( : > "$probe" ) 2>/dev/null || die "output directory '$out' is not writable"
rm -f "$probe"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/gpuscale-image.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"

# Copy one host file into the root at its canonical directory (symlinked directories such as
# /lib -> usr/lib resolved, and recreated below as the same links) under the name the loader asked
# for (libfoo.so.1, dereferenced: the libfoo.so.1.2.3 it points to is not needed under its own name).
copy_file() { # host-path
  local p=$1 dir base canon
  [ -e "$p" ] || die "'$p' (needed by the image) does not exist on this machine"
  dir=$(cd "$(dirname "$p")" && pwd -P) base=$(basename "$p")
  canon=$dir/$base
  mkdir -p "$root$dir"
  cp -L --preserve=mode "$p" "$root$canon"
}

# Merged /usr (Debian bookworm): keep the top-level symlinks the ELF interpreter path and the
# loader's search path go through (/lib64/ld-linux-x86-64.so.2, /lib/x86_64-linux-gnu).
for l in bin sbin lib lib64; do
  if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$root/$l"; fi
done
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib"

# --- the binary and its library closure (as the dynamic loader resolves it) -------------------
install -m 0755 "$bin" "$root/usr/bin/gpuscale"
ldd_out=$(ldd "$bin" 2>&1) || die "ldd '$bin' failed: $ldd_out"
case "$ldd_out" in *"not a dynamic executable"*) die "binary '$bin' is not dynamically linked (nothing to collect; copy it alone)" ;; esac
nlibs=0
while read -r line; do
  case "$line" in
    *"=> not found"*) die "library missing on this machine: ${line%% *}" ;;
    *"=> "/*) p=${line#*=> }; p=${p%% (*} ;;
    /*) p=${line%% (*} ;;           # the loader itself: /lib64/ld-linux-x86-64.so.2 (0x...)
    *) continue ;;                   # linux-vdso.so.1 (kernel-provided)
  esac
  copy_file "$p"
  nlibs=$((nlibs + 1))
done <<< "$ldd_out"
[ "$nlibs" -ge 2 ] || die "ldd found no libraries for '$bin'"

# --- data: CA certificates, time zones --------------------------------------------------------
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || die "$ca missing (apt-get install ca-certificates)"
mkdir -p "$root/etc/ssl/certs"
cp -L "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"
[ -f /usr/share/zoneinfo/UTC ] || die "/usr/share/zoneinfo missing (apt-get install tzdata)"
mkdir -p "$root/usr/share"
# The whole IANA database minus right/ (leap-second variants nobody names in a Budget).
(cd /usr/share && tar --exclude=zoneinfo/right -cf - zoneinfo) | (cd "$root/usr/share" && tar -xf - --no-same-owner)

# The instance catalog `run` and `validate` read (gs_fs_data_dir: $GPUSCALE_DATA, set in the
# image config), with its provenance.
for f in instance-types.csv spot-discounts.csv README.md; do
  [ -f "$data/$f" ] || die "catalog file '$data/$f' missing (--data DIR)"
done
mkdir -p "$root/usr/share/gpuscale"
install -m 0644 "$data/instance-types.csv" "$data/spot-discounts.csv" "$data/README.md" "$root/usr/share/gpuscale/"

# --- users, name service, /tmp ----------------------------------------------------------------
mkdir -p "$root/etc" "$root/tmp" "$root/home/nonroot" "$root/root"
cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
# glibc >= 2.34 has files and dns built in; this only says the order (/etc/hosts first).
cat > "$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
cat > "$root/etc/os-release" <<EOF
NAME="gpuscale"
ID=gpuscale
VERSION_ID="$version"
PRETTY_NAME="gpuscale $version (libraries from $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-this machine}"))"
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/nsswitch.conf" "$root/etc/os-release"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
chmod 0755 "$root/home/nonroot"

find "$root" -mindepth 1 -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
if [ -n "$rootfs_out" ]; then
  # The tree only (deploy/Dockerfile copies it into a FROM scratch stage). Owners as in the layer
  # when run as root.
  if [ "$(id -u)" = 0 ]; then chown -hR 0:0 "$root" && chown 65532:65532 "$root/home/nonroot"; fi
  cp -a "$root/." "$out/"
  echo "$prog: root filesystem of $name:$tag ($nlibs libraries) in $out"
  exit 0
fi

# --- the layer --------------------------------------------------------------------------------
# Everything root-owned except the non-root user's home; names sorted, mtimes clamped to
# SOURCE_DATE_EPOCH, no atime/ctime pax records: the same inputs give the same bytes.
tarflags=(--format=posix --sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime
          --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
layer_tar=$work/layer.tar
mapfile -t top < <(cd "$root" && LC_ALL=C ls -A | LC_ALL=C sort)
tar -cf "$layer_tar" --owner=0 --group=0 --exclude=home/nonroot "${tarflags[@]}" -C "$root" "${top[@]}"
tar -rf "$layer_tar" --owner=65532 --group=65532 --no-recursion "${tarflags[@]}" -C "$root" home/nonroot
diff_id=$(sha256sum "$layer_tar" | cut -d' ' -f1)

oci=$work/oci
mkdir -p "$oci/blobs/sha256"
gzip -n -9 -c "$layer_tar" > "$work/layer.tar.gz"
layer_digest=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$oci/blobs/sha256/$layer_digest"

# JSON strings: the values come from flags; escape backslash and double quote, refuse controls.
js() {
  case "$1" in *[[:cntrl:]]*) die "value '$1' has a control character" ;; esac
  local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"
}
put_blob() { # file -> prints digest; moves the file into blobs/
  local d; d=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$oci/blobs/sha256/$d"; printf '%s' "$d"
}

labels="{\"org.opencontainers.image.title\":\"gpuscale\",\"org.opencontainers.image.description\":\"GPU autoscaler for Kubernetes (gpuscale run)\",\"org.opencontainers.image.version\":$(js "$version"),\"org.opencontainers.image.source\":$(js "$source"),\"org.opencontainers.image.revision\":$(js "$revision"),\"org.opencontainers.image.created\":\"$created\"}"
printf '{"architecture":"%s","os":"linux","created":"%s","config":{"User":"65532","Entrypoint":["/usr/bin/gpuscale"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt","GPUSCALE_DATA=/usr/share/gpuscale"],"WorkingDir":"/","Labels":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"scripts/build-image.sh (gpuscale %s: binary, %d libraries incl. the loader, CA certificates, tzdata, user 65532)"}]}' \
  "$arch" "$created" "$labels" "$diff_id" "$created" "$version" "$nlibs" > "$work/config.json"
config_size=$(stat -c %s "$work/config.json")
config_digest=$(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}],"annotations":%s}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" "$labels" > "$work/manifest.json"
manifest_size=$(stat -c %s "$work/manifest.json")
manifest_digest=$(put_blob "$work/manifest.json")

ref=$name:$tag
case "$name" in */*) full=$ref ;; *) full=docker.io/library/$ref ;; esac
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":%s,"io.containerd.image.name":%s}}]}' \
  "$manifest_digest" "$manifest_size" "$arch" "$(js "$tag")" "$(js "$full")" > "$oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"

# docker load reads manifest.json (Config and Layers are paths inside the tarball; a gzip layer
# is accepted); Docker >= 25 and podman also read the OCI index of the same tarball.
printf '[{"Config":"blobs/sha256/%s","RepoTags":[%s],"Layers":["blobs/sha256/%s"]}]' \
  "$config_digest" "$(js "$ref")" "$layer_digest" > "$work/docker-manifest.json"

# --- publish: replace DIR/oci and DIR/NAME-TAG.tar whole ---------------------------------------
tarball_name="${name##*/}-$tag.tar"
cp "$work/docker-manifest.json" "$oci/manifest.json"
find "$oci" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
tar -cf "$work/image.tar" --owner=0 --group=0 "${tarflags[@]}" -C "$oci" oci-layout index.json manifest.json blobs
rm "$oci/manifest.json"
rm -rf "$out/oci.new"
mv "$oci" "$out/oci.new"
rm -rf "$out/oci"
mv "$out/oci.new" "$out/oci"
mv "$work/image.tar" "$out/$tarball_name"

size_h() { numfmt --to=iec-i --suffix=B "$1" 2>/dev/null || echo "$1 bytes"; }
echo "$prog: $ref: $nlibs libraries, layer $(size_h "$layer_size") gzip ($(size_h "$(stat -c %s "$layer_tar")") unpacked)"
echo "$prog: OCI layout  $out/oci  (manifest sha256:$manifest_digest)"
echo "$prog: tarball     $out/$tarball_name  (docker load -i / podman load -i / skopeo copy oci-archive:)"
