#!/usr/bin/env bash
# Sets up berth on a Debian 12 machine, as root, idempotently:
#   1. system packages (apt) berth and its tests need, installed only when missing;
#   2. npm packages (npm ci), only when package-lock.json changed since the last install;
#   3. the native addon (node-gyp, offline against /usr/include/node) and the TypeScript build;
#   4. `berthd` and `berth` on PATH (symlinks in /usr/local/bin to this checkout's bin/).
# Usage: scripts/setup.sh [--quiet]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
quiet=${1:-}
log() { [ "$quiet" = --quiet ] || echo "setup: $*"; }

if [ "$(id -u)" != 0 ]; then
  echo "setup: berth needs root (network namespaces, netlink, nftables, runc); run as root" >&2
  exit 1
fi

# --- 1. system packages -------------------------------------------------------------------
# nftables: the firewall; runc: the OCI runtime; busybox-static: the busybox image;
# iproute2/iputils-ping/bind9-dnsutils/procps/util-linux(nsenter): kernel cross-checks and real clients in tests;
# iperf3: throughput through published ports (bench/ports.ts).
apt_packages=(nftables iproute2 runc busybox-static util-linux procps iputils-ping bind9-dnsutils python3 make g++ iperf3)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests drive berthd with the real docker CLI too. These machines ship one; where none is on
# PATH, Debian's docker.io provides it. A policy-rc.d refusing service starts is in place while
# it installs, so its postinst never starts a dockerd in this machine's network namespace.
if ! command -v docker >/dev/null 2>&1; then
  log "installing the docker CLI (docker.io, its daemon left stopped)"
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; made_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null || true
  [ -n "$made_policy" ] && rm -f "$policy"
fi

# etcd, the cluster store of the overlay tests and benchmark: they start their own etcd in a test
# netns (test/helpers/etcd.ts) and need only /usr/bin/etcd from Debian's etcd-server. Its service
# must never run in this machine's network namespace: a policy-rc.d refuses the start while the
# package installs (as for docker.io above), and the service is disabled for later boots.
if ! dpkg-query -W -f='${Status}' etcd-server 2>/dev/null | grep -q 'install ok installed'; then
  log "installing etcd (etcd-server, its service left stopped and disabled)"
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; made_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  status=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends etcd-server >/dev/null; } || status=$?
  if [ -n "$made_policy" ]; then rm -f "$policy"; fi
  [ "$status" = 0 ] || { echo "setup: installing etcd-server failed" >&2; exit "$status"; }
  if command -v systemctl >/dev/null 2>&1; then systemctl disable etcd.service >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d etcd disable >/dev/null 2>&1 || true; fi
fi

# --- 2. npm packages ----------------------------------------------------------------------
# Native builds must work offline: node-gyp uses the headers in /usr/include/node.
export npm_config_nodedir=/usr
stamp=node_modules/.berth-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "installing npm packages (better-sqlite3 builds from source: ~1-2 min)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# --- 3. build -----------------------------------------------------------------------------
if [ ! -f build/Release/berth_native.node ] || [ native/berth_native.c -nt build/Release/berth_native.node ] || [ binding.gyp -nt build/Release/berth_native.node ]; then
  log "building the native addon"
  npm run --silent build:native -- --loglevel=error >/dev/null
fi
log "compiling TypeScript"
npx --no-install tsc -p tsconfig.json
# berth-shim: the small C monitor that holds a container's stdio and records its exit status.
npm run --silent build:shim

# --- 4. PATH ------------------------------------------------------------------------------
for b in berthd berth; do
  ln -sfn "$here/bin/$b" "/usr/local/bin/$b"
done
log "ready: $(command -v berthd) $(command -v berth)"
