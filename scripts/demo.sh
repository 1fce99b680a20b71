#!/usr/bin/env bash
# berth's main job, for a new user: set everything up, start berthd inside a network namespace
# of its own (so trying berth never changes this machine's network), walk through the seeds'
# scenarios printing each command and its output, then remove everything it made.
#   --keep   leave the daemon running and print how to point `berth` at it
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
keep=${1:-}
"$here/scripts/setup.sh" --quiet

ns="berth-demo-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
dir=$(mktemp -d /tmp/berth-demo.XXXXXX)
sock="$dir/berth.sock"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  # container netns mounts live under the exec-root; unmount before removing
  grep -o " $dir/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
if [ "$keep" != --keep ]; then trap cleanup EXIT; fi

ip netns add "$ns"
ip -n "$ns" link set lo up
nsenter --net="/run/netns/$ns" "$here/bin/berthd" --root "$dir/root" --exec-root "$dir/exec" -H "unix://$sock" 2>"$dir/berthd.log" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "berthd did not start:"; cat "$dir/berthd.log"; exit 1; }
export BERTH_HOST="unix://$sock"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" 2>&1 || true; }
host() { printf '\n\033[1m[host netns] $ %s\033[0m\n' "$*"; nsenter --net="/run/netns/$ns" "$@" 2>&1 || true; }

echo "berthd (pid $pid) runs in network namespace $ns; state in $dir"
echo
echo "== The predefined networks (seed 003/004: docker network ls)"
step berth network ls
host ip addr show berth0

echo
echo "== A user-defined bridge with --ip-range (seed 004's 'personal' network)"
step berth network create --subnet 172.21.0.0/16 --ip-range 172.21.240.0/20 personal
step berth network ls
step berth network inspect --format '{{.Name}} {{.Driver}} {{.IPAM.Config}}' personal
id=$(berth network inspect --format '{{.Id}}' personal)
host ip -d link show "br-${id:0:12}"
host ip addr show "br-${id:0:12}"

echo
echo "== Seed 003's network commands: create, inspect, ls filters, rm, prune"
step berth network create -d bridge new-bridge
step berth network create --driver=bridge --subnet=192.168.0.0/16 br0
step berth network create --subnet=172.18.0.0/16 mynetwork
step berth network ls --filter driver=bridge --format '{{.Name}}\t{{.Driver}}'
step berth network inspect new-bridge
step berth network rm br0
step berth network prune -f
step berth network ls

echo
echo "== Bad input gets Docker's errors"
step berth network create --subnet 10.0.0.0/33 bad
step berth network create --ip-range 10.1.0.0/24 bad
step berth network create --subnet 10.2.0.0/16 --gateway 10.3.0.1 bad
step berth network create personal
step berth network rm bridge
step berth network create -d host host2
step berth network create -d nosuchdriver bad

echo
echo "== The real docker CLI against berthd"
step docker -H "unix://$sock" network ls
step docker -H "unix://$sock" network create --subnet 172.30.0.0/24 from-docker
step docker -H "unix://$sock" network inspect -f '{{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}}{{end}}' from-docker
step docker -H "unix://$sock" network rm from-docker

if [ "$keep" = --keep ]; then
  echo
  echo "berthd keeps running (pid $pid) in netns $ns. Point berth at it with:"
  echo "  export BERTH_HOST=unix://$sock"
  echo "Stop it with: kill $pid; ip netns del $ns; rm -rf $dir"
else
  echo
  echo "done: removing the daemon, its namespace and its state"
fi
