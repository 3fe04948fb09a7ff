#!/usr/bin/env bash
# Builds the real-distro test image: Debian 13 (trixie) with systemd, cloud-init, sudo, git,
# bash and nodejs (for the JavaScript agents: gemini, pi), from Debian's packages with debootstrap,
# as an Incus image pair (meta + rootfs tarballs).
# The result is cached in $REPOMAN_TEST_IMAGE_CACHE (default /var/cache/repoman-test) under a
# name that carries this script's hash, so a changed recipe builds anew and an unchanged one is
# reused. Prints the directory that holds meta.tar.gz and rootfs.tar.gz.
set -euo pipefail
cache=${REPOMAN_TEST_IMAGE_CACHE:-/var/cache/repoman-test}
recipe=$(sha256sum "$0" | cut -c1-12)
out="$cache/debian13-$recipe"
if [ -f "$out/rootfs.tar.gz" ] && [ -f "$out/meta.tar.gz" ]; then
  echo "$out"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "building the Debian test image needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

mkdir -p "$cache"
work=$(mktemp -d "$cache/build-XXXX")
trap 'umount -l "$work/rootfs/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "building the Debian 13 test image in $work (about two minutes)..." >&2
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,bash,sudo,git,ca-certificates,iproute2,tmux,passwd,login,curl,nodejs \
  trixie "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
# debootstrap does not resolve virtual packages (cloud-init's python3-cffi-backend-api-*):
# apt in the chroot does.
chroot "$rootfs" sh -c 'export DEBIAN_FRONTEND=noninteractive
  apt-get -f install -y -qq && apt-get install -y -qq --no-install-recommends cloud-init && apt-get clean' \
  >"$work/apt.log" 2>&1 || {
  tail -20 "$work/apt.log" >&2
  exit 1
}
umount "$rootfs/proc"
rm -f "$rootfs/etc/resolv.conf"
cat >"$work/metadata.yaml" <<META
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Debian 13 (trixie) systemd cloud test image
  os: debian
  release: trixie
  variant: cloud
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
META
# As Incus's own images do: the container's name in /etc/hostname and /etc/hosts (sudo looks it up).
mkdir -p "$work/templates"
echo '{{ instance.name }}' >"$work/templates/hostname.tpl"
printf '127.0.0.1 localhost\n127.0.1.1 {{ instance.name }}\n::1 localhost ip6-localhost ip6-loopback\n' >"$work/templates/hosts.tpl"
tar -C "$work" -czf "$work/meta.tar.gz" metadata.yaml templates
tar -C "$rootfs" --numeric-owner -czf "$work/rootfs.tar.gz" .
mkdir -p "$out"
mv "$work/meta.tar.gz" "$work/rootfs.tar.gz" "$out/"
echo "$out"
