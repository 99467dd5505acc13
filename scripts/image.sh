#!/usr/bin/env bash
# The operator's OCI image, built here without Docker or a registry: the release binary, the shared
# libraries it links, CA certificates, a passwd entry for the non-root user and nsswitch.conf, assembled
# with Debian's umoci. Entrypoint, user and port are the Dockerfile's (a test keeps them in step).
#
#   scripts/image.sh [--out ARCHIVE]    build; the OCI archive goes to ARCHIVE (default under the cargo
#                                       target dir); the last line printed is the image's REPOSITORY:TAG
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
REPOSITORY=dti.local/dti-operator
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET/oci/dti-operator.tar
if [ "${1:-}" = --out ]; then OUT=${2:?usage: image.sh [--out ARCHIVE]}; fi
log() { printf 'image: %s\n' "$*" >&2; }
command -v umoci >/dev/null || { log "installing umoci (Debian)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci >&2; }

log "building the release binary (first run takes a few minutes)"
cargo build --release --locked -p dti-operator --bin dti-operator >&2
BIN=$TARGET/release/dti-operator

ROOTFS=$(mktemp -d)
# mktemp makes 0700 directories; copied as the image's / they would lock the non-root user out of it.
chmod 0755 "$ROOTFS"
WORK=$(mktemp -d)
trap 'rm -rf "$ROOTFS" "$WORK"' EXIT
install -D -m 0755 "$BIN" "$ROOTFS/usr/local/bin/dti-operator"
# The dynamic loader and every library the binary links, at the paths it was linked against.
for lib in $(ldd "$BIN" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
  install -D -m 0755 "$(readlink -f "$lib")" "$ROOTFS$lib" # the loader must be executable
done
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$ROOTFS/etc" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$ROOTFS/etc/group"
# glibc without nsswitch.conf asks DNS before /etc/hosts; pods' hostAliases live in /etc/hosts.
printf 'hosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"

VERSION=$(awk -F'"' '/^version/ { print $2; exit }' Cargo.toml)
TAG=$VERSION-$(sha256sum "$BIN" | cut -c1-12)
LAYOUT=$WORK/layout
umoci init --layout "$LAYOUT" >&2
umoci new --image "$LAYOUT:$TAG" >&2
umoci unpack --rootless --image "$LAYOUT:$TAG" "$WORK/bundle" >&2
cp -a "$ROOTFS/." "$WORK/bundle/rootfs/"
umoci repack --image "$LAYOUT:$TAG" "$WORK/bundle" >&2
umoci config --image "$LAYOUT:$TAG" --os linux --architecture amd64 \
  --config.entrypoint /usr/local/bin/dti-operator --config.cmd run \
  --config.user 65532:65532 --config.exposedports 8080/tcp >&2
mkdir -p "$(dirname "$OUT")"
(cd "$LAYOUT" && tar -cf "$OUT.tmp" .) && mv "$OUT.tmp" "$OUT"
log "OCI archive: $OUT ($(du -h "$OUT" | cut -f1))"
echo "$REPOSITORY:$TAG"
