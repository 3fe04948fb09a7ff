#!/usr/bin/env bash
# Installs repoman from this checkout and runs `repoman setup` (arguments are passed to setup).
#
#   ./install.sh --repos-root ~/repos --backup-root /nfs/repos
#
# On a machine that lacks them (and as root on Debian), it also installs Incus and rsync, and
# starts the Incus daemon with a storage pool when nothing runs one yet. It never changes an
# Incus that is already running.
set -euo pipefail
cd "$(dirname "$0")"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

bash scripts/install-system.sh
if ! command -v incus >/dev/null || ! command -v rsync >/dev/null; then
  echo "repoman needs Incus and rsync: install them (https://linuxcontainers.org/incus/docs/main/installing/) and run this again" >&2
  exit 1
fi

# repoman maps only your own ids into containers (raw.idmap); Incus allows that once root may
# map them. Run with sudo, this adds the lines for the user who ran sudo (setup says what to do
# otherwise).
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  for pair in "/etc/subuid:$(id -u "$SUDO_USER")" "/etc/subgid:$(id -g "$SUDO_USER")"; do
    file=${pair%%:*} id=${pair#*:}
    grep -qx "root:$id:1" "$file" 2>/dev/null || { echo "root:$id:1" >>"$file" && say "Added root:$id:1 to $file"; }
  done
fi

if ! incus info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The Incus daemon does not answer: start it (sudo systemctl start incus) and make sure you are in the incus-admin group" >&2
    exit 1
  fi
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    say "Starting the Incus daemon (systemd)"
    systemctl enable --now incus.socket incus.service
  else
    say "Starting the Incus daemon (no init system manages it here; log in /var/log/incus/incusd.log)"
    getent group incus-admin >/dev/null || groupadd --system incus-admin
    mkdir -p /var/log/incus
    nohup /usr/libexec/incus/incusd --group incus-admin >>/var/log/incus/incusd.log 2>&1 &
  fi
  incus admin waitready --timeout 60
fi
if [ -z "$(incus storage list --format csv)" ]; then
  say "Creating a storage pool (dir driver) for a fresh Incus"
  incus storage create default dir
fi

say "Building and installing repoman"
npm install --no-audit --no-fund --loglevel=error
rm -f repoman-*.tgz
tarball=$(npm pack --silent | tail -n 1)
prefix=()
if [ ! -w "$(npm prefix --global)" ]; then
  # npm's global directory belongs to root: install for this user instead.
  prefix=(--prefix "$HOME/.local")
  say "npm's global directory is not writable: installing into ~/.local (put ~/.local/bin on your PATH)"
fi
npm install --global "${prefix[@]}" --no-audit --no-fund --loglevel=error "./$tarball"
rm -f "$tarball"
repoman=$(command -v repoman || echo "$HOME/.local/bin/repoman")

say "Running repoman setup"
if [ -t 0 ] && [ -t 1 ]; then
  "$repoman" setup "$@"
else
  "$repoman" setup --non-interactive "$@"
fi
