#!/usr/bin/env bash
# Builds the iamd container image from binaries built on this host.
#
#   deploy/docker/build-image.sh [TAG]        (default tag: iamd:latest)
#
# IAMD_PROFILE   the cargo profile to build: release (default), production, dev
# IAMD_BIN_DIR   take iamd and iamctl from this directory instead of building them
#
# The image holds the two binaries and exactly the shared libraries `ldd` says they load
# (glibc, libgcc_s, the dynamic loader), so it runs wherever this host's binaries would,
# with no base image to pull.
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=${1:-iamd:latest}
profile=${IAMD_PROFILE:-release}
if [ -n "${IAMD_BIN_DIR:-}" ]; then
  bin_dir=$IAMD_BIN_DIR
else
  cargo build --locked --profile "$profile" -p iamd -p iamctl
  case "$profile" in
    dev) bin_dir=target/debug ;;
    *) bin_dir=target/$profile ;;
  esac
fi
for bin in iamd iamctl; do
  if [ ! -x "$bin_dir/$bin" ]; then
    echo "build-image: no executable $bin_dir/$bin" >&2
    exit 1
  fi
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/rootfs
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$stage/data/var/lib/iamd"
chmod 0755 "$root"
chmod 1777 "$root/tmp"
chmod 0700 "$stage/data/var/lib/iamd"
install -m 0755 "$bin_dir/iamd" "$bin_dir/iamctl" "$root/usr/local/bin/"
# Debug information stays on the host (symbols stay, for backtraces).
strip --strip-debug "$root/usr/local/bin/iamd" "$root/usr/local/bin/iamctl"

# Every library either binary loads, at the path the loader looks for it.
libs=$(ldd "$bin_dir/iamd" "$bin_dir/iamctl" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $2 ~ /^\(/ {print $1}' | sort -u)
# glibc loads its name-service modules at run time, unseen by ldd: before 2.34 they hold
# the files and dns lookups themselves, so peers' host names would not resolve without them.
libc=$(printf '%s\n' $libs | grep '/libc\.so' | head -n 1)
for module in libnss_files.so.2 libnss_dns.so.2 libresolv.so.2; do
  if [ -e "$(dirname "$libc")/$module" ]; then
    libs="$libs $(dirname "$libc")/$module"
  fi
done
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cat > "$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/sbin/nologin
iamd:x:65532:65532:iamd:/var/lib/iamd:/sbin/nologin
PASSWD
# Host names from /etc/hosts (written by Docker and the kubelet), then DNS.
cat > "$root/etc/nsswitch.conf" <<NSS
passwd: files
group: files
hosts: files dns
NSS
cat > "$root/etc/group" <<GROUP
root:x:0:
iamd:x:65532:
GROUP

tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$stage/rootfs.tar" .
tar --numeric-owner --owner=65532 --group=65532 -C "$stage/data" -cf "$stage/data.tar" var/lib/iamd
rm -rf "$root" "$stage/data"
cp deploy/docker/Dockerfile "$stage/Dockerfile"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
docker build --quiet \
  --label "org.opencontainers.image.title=iamd" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$tag" "$stage" >/dev/null
echo "built $tag ($(docker image inspect --format '{{.Size}}' "$tag") bytes)"
