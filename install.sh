#!/usr/bin/env bash
# Installs repoman from this checkout for you and runs `repoman setup` (arguments go to setup).
#
#   ./install.sh --repos-root ~/repos --backup-root /nfs/repos
#
# Run it as yourself, not with sudo: everything it builds and writes (this clone's node_modules
# and dist, ~/.local, your registry in ~/.config/repoman) is yours. It asks for sudo only for
# the steps that need root, and says what each one is: installing Incus and rsync, adding
# root:UID:1 to /etc/subuid and /etc/subgid, starting the Incus daemon when none answers, and
# adding you to the group that may use the daemon's socket (incus-admin). It never starts or
# changes a daemon that already answers (INCUS_DIR and INCUS_SOCKET are respected).
set -euo pipefail
cd "$(dirname "$0")"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
# Runs a command as root, saying why first; root's own environment keeps the Incus daemon's address.
as_root() {
  local why=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    say "$why"
    "$@"
  else
    say "$why (sudo)"
    sudo env ${INCUS_DIR:+INCUS_DIR="$INCUS_DIR"} ${INCUS_SOCKET:+INCUS_SOCKET="$INCUS_SOCKET"} "$@"
  fi
}

if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  fail "run ./install.sh as yourself (without sudo): it asks for sudo only where root is needed, and your registry, clone and ~/.local stay yours"
fi
user=$(id -un)

# Node >= 20.19 (package.json "engines"): Debian 12's own nodejs is 18.
node_ok() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null || ! node_ok; then
  have=$(node --version 2>/dev/null || echo none)
  fail "repoman needs Node.js 20.19 or later with npm (found: $have).
  Debian 13: sudo apt-get install nodejs npm   (Debian 13 ships Node 20.19)
  Debian 12: its nodejs is 18; install Node 22 from nodejs.org's Linux binaries (or NodeSource's apt repository, or nvm), put its bin directory on your PATH, and run ./install.sh again"
fi

if ! bash scripts/install-system.sh --check; then
  as_root "Installing the packages repoman needs (Incus, rsync, git)" bash scripts/install-system.sh
fi
command -v incus >/dev/null && command -v rsync >/dev/null ||
  fail "repoman needs Incus and rsync: install them (https://linuxcontainers.org/incus/docs/main/installing/) and run this again"

# repoman maps only your own ids into containers (raw.idmap); Incus allows that once root may
# map them. Incus reads these files when it starts: added before a daemon this script starts.
subids_added=false
for pair in "/etc/subuid:$(id -u)" "/etc/subgid:$(id -g)"; do
  file=${pair%%:*} id=${pair#*:}
  if ! grep -qx "root:$id:1" "$file" 2>/dev/null; then
    as_root "Adding root:$id:1 to $file (lets Incus map your id into containers)" \
      sh -c 'echo "$1" >>"$2"' sh "root:$id:1" "$file"
    subids_added=true
  fi
done

# The daemon: answering you, answering only root (you are not in its group yet), or not running.
socket=${INCUS_SOCKET:-${INCUS_DIR:-/var/lib/incus}/unix.socket}
daemon_started=false
if ! incus info >/dev/null 2>&1; then
  if ! as_root "Checking whether an Incus daemon runs" incus info >/dev/null 2>&1; then
    [ -z "${INCUS_DIR:-}${INCUS_SOCKET:-}" ] || fail "no Incus daemon answers at $socket (INCUS_DIR/INCUS_SOCKET name it): start that daemon, or unset them"
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
      as_root "Starting the Incus daemon (systemd)" systemctl enable --now incus.socket incus.service
    else
      as_root "Creating the incus-admin group" sh -c 'getent group incus-admin >/dev/null || groupadd --system incus-admin'
      # No init system manages it here: started in the background, its log in /var/log/incus.
      as_root "Starting the Incus daemon (log: /var/log/incus/incusd.log)" sh -c \
        'mkdir -p /var/log/incus && nohup /usr/libexec/incus/incusd --group incus-admin >>/var/log/incus/incusd.log 2>&1 &'
    fi
    as_root "Waiting for the Incus daemon" incus admin waitready --timeout 60
    daemon_started=true
  fi
fi

# Who may use the daemon: the members of its socket's group (incus-admin on Debian).
run_incus=()
if ! incus info >/dev/null 2>&1; then
  group=$(as_root "Reading the Incus socket's group" stat -c %G "$socket")
  group=${group##*$'\n'}
  [ -n "$group" ] && [ "$group" != root ] || fail "the Incus socket $socket belongs to group root: start incusd with --group incus-admin"
  if ! id -nG "$user" | tr ' ' '\n' | grep -qx "$group"; then
    as_root "Adding you ($user) to group $group, which may use Incus" usermod -aG "$group" "$user"
  fi
  # This shell's groups are those of your login: sg runs the rest with the new group.
  run_incus=(sg "$group" -c)
  incus_group=$group
fi
# Runs a command with the Incus group (when this shell does not have it yet); sg hands its
# command line to sh, so each word is quoted for sh.
with_incus() {
  if [ ${#run_incus[@]} -eq 0 ]; then
    "$@"
  else
    local line='' word q=\'
    for word in "$@"; do line+="'${word//$q/$q\\$q$q}' "; done
    "${run_incus[@]}" "$line"
  fi
}
with_incus incus info >/dev/null || fail "Incus still does not answer you at $socket; see docs/troubleshooting.md"

if [ -z "$(with_incus incus storage list --format csv)" ]; then
  say "Creating a storage pool (dir driver) for a fresh Incus"
  with_incus incus storage create default dir
fi

# Files a root run of an older install.sh left here would make npm fail with EACCES.
for dir in node_modules dist; do
  if [ -e "$dir" ] && [ -n "$(find "$dir" -maxdepth 2 ! -user "$user" -print -quit)" ]; then
    fail "$PWD/$dir holds files that are not yours (a sudo run of an older install.sh?): sudo chown -R $user: $PWD/$dir, then run ./install.sh again"
  fi
done

say "Building and installing repoman"
npm install --no-audit --no-fund --loglevel=error
rm -f repoman-*.tgz
tarball=$(npm pack --silent | tail -n 1)
prefix=()
bin_dir=$(npm prefix --global)/bin
if [ ! -w "$(npm prefix --global)" ]; then
  # npm's global directory belongs to root: install for you instead.
  prefix=(--prefix "$HOME/.local")
  bin_dir=$HOME/.local/bin
  say "npm's global directory is not yours: installing into ~/.local"
fi
npm install --global "${prefix[@]}" --no-audit --no-fund --loglevel=error "./$tarball"
rm -f "$tarball"
repoman=$bin_dir/repoman

say "Running repoman setup"
setup=("$repoman" setup "$@")
[ -t 0 ] && [ -t 1 ] || setup=("$repoman" setup --non-interactive "$@")
with_incus "${setup[@]}"

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "Put $bin_dir on your PATH: echo 'export PATH=\"$bin_dir:\$PATH\"' >> ~/.profile (then log in again)" ;;
esac
if [ "$subids_added" = true ] && [ "$daemon_started" = false ]; then
  say "Incus reads /etc/subuid and /etc/subgid when it starts: restart it once (sudo systemctl restart incus) before repoman new"
fi
if [ -n "${incus_group:-}" ]; then
  say "You were added to group $incus_group: log out and in again (or run: newgrp $incus_group) before using repoman in this shell"
fi
