#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for repoman and its tests: Incus (bookworm-backports
# on Debian 12, the main archive on 13+), rsync, busybox-static (the test image), git; with
# --test also what only the tests use: debootstrap (the real Debian test image), a C compiler
# with static libc (the 32-bit syscall attack), tmux (a real terminal for interactive tests) and
# sudo (the newcomer test's user runs install.sh with it) and btrfs-progs (the test daemon's
# copy-on-write pool).
# A no-op when everything is there; as a non-root user it only says what is missing. With
# --check it changes nothing and exits 1 when something is missing (install.sh then asks sudo).
set -euo pipefail
check=false
[ "${1:-}" = --check ] && check=true && shift
need=()
command -v incus >/dev/null || need+=(incus)
command -v rsync >/dev/null || need+=(rsync)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v git >/dev/null || need+=(git)
if [ "${1:-}" = --test ]; then
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
  command -v gcc >/dev/null || need+=(gcc)
  command -v tmux >/dev/null || need+=(tmux)
  command -v sudo >/dev/null || need+=(sudo)
  [ -x /usr/sbin/mkfs.btrfs ] || [ -x /sbin/mkfs.btrfs ] || need+=(btrfs-progs)
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
fi
[ ${#need[@]} -eq 0 ] && exit 0
[ "$check" = false ] || exit 1
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing: ${need[*]} (install them, or run this as root on Debian: scripts/install-system.sh)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
. /etc/os-release
apt_opts=()
if [ "${VERSION_CODENAME:-}" = bookworm ] && [[ " ${need[*]} " == *" incus "* ]]; then
  src=/etc/apt/sources.list.d/backports.sources
  if [ ! -f "$src" ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" >"$src"
  fi
  apt_opts=(-t bookworm-backports)
fi
apt-get update -qq
apt-get install -y -qq "${apt_opts[@]}" "${need[@]}" >/dev/null
