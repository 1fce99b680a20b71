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
  # Containers outlive berthd by design: remove them through it, then whatever runc still has.
  if [ -n "$pid" ] && [ -S "$sock" ]; then
    ids=$(BERTH_HOST="unix://$sock" "$here/bin/berth" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && BERTH_HOST="unix://$sock" "$here/bin/berth" rm -f $ids >/dev/null 2>&1
  fi
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ -d "$dir/exec/runc" ]; then
    for c in $(runc --root "$dir/exec/runc" list -q 2>/dev/null); do runc --root "$dir/exec/runc" delete -f "$c" 2>/dev/null || true; done
  fi
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
echo "== Seed 000: the four network models"
step berth run -d --network=none --name none busybox sleep 600
step berth exec none ip addr
step berth run -d --network=host --name host busybox sleep 600
step berth exec host ip -o link
step berth run -d --network=bridge --name bridge busybox sleep 600
step berth exec bridge ip addr show eth0
host ip link show master berth0
step berth run -d --name co_container --network container:bridge busybox sleep 600
step berth exec co_container ip -o -4 addr

echo
echo "== Seed 003: container: mode loses the network when the owner stops, regains it on restart"
step berth stop -t 1 bridge
step berth exec co_container ip -o -4 addr
step berth start bridge
step berth restart -t 1 co_container
step berth exec co_container ip -o -4 addr

echo
echo "== Seed 004: a user-defined bridge with --ip-range, isolation between networks"
step berth network create --subnet 172.21.0.0/16 --ip-range 172.21.240.0/20 personal
step berth run -itd --name mybox1_docker0 busybox
step berth run -itd --name mybox2_docker0 busybox
step berth run -itd --name mybox1_personal --network personal busybox
step berth run -itd --name mybox2_personal --network personal busybox
step berth inspect --format '{{.NetworkSettings.IPAddress}}' mybox1_docker0 mybox2_docker0
step berth inspect --format '{{.NetworkSettings.Networks.personal.IPAddress}}' mybox1_personal mybox2_personal
step berth exec mybox1_personal ping -c 2 -W 1 172.21.240.2
step berth exec mybox1_docker0 ping -c 2 -W 1 172.21.240.2
step berth exec mybox1_personal ping -c 2 -W 1 172.17.0.4

echo
echo "== Seed 003: DNS works on user-defined bridges, not on the default bridge"
step berth network create -d bridge new-bridge
step berth run -itd --name c3 --network new-bridge busybox
step berth run -itd --name c4 --network new-bridge busybox
step berth exec c3 ping -c 2 -W 1 c4
step berth exec mybox1_docker0 ping -c 1 -W 1 mybox2_docker0
step berth exec c3 cat /etc/resolv.conf
step berth network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{println}}{{end}}' new-bridge

echo
echo "== Seed 003: connect, disconnect, rm refused while in use"
step berth network connect new-bridge mybox1_docker0
step berth exec mybox1_docker0 ip -o -4 addr
step berth exec mybox1_docker0 ping -c 1 -W 1 c4
step berth network disconnect new-bridge mybox1_docker0
step berth network rm new-bridge

echo
echo "== Seed 001/004: a published port, reached from the host without a userland proxy"
step berth run -d --name web -p 8080:80 busybox sh -c 'echo hello from berth > /www && httpd -f -p 80 -h /'
step berth port web
step berth ps --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
host wget -q -O- http://127.0.0.1:8080/www
host nft list table inet berth

echo
echo "== Seed 003's network commands: inspect, ls filters, rm, prune"
step berth network create --driver=bridge --subnet=192.168.0.0/16 br0
step berth network ls --filter driver=bridge --format '{{.Name}}\t{{.Driver}}'
step berth network inspect --format '{{.Name}} {{.Driver}} {{.IPAM.Config}}' personal
step berth network rm br0
step berth network prune -f

echo
echo "== Bad input gets Docker's errors"
step berth network create --subnet 10.0.0.0/33 bad
step berth network create --subnet 10.2.0.0/16 --gateway 10.3.0.1 bad
step berth network create personal
step berth network rm bridge
step berth network create -d host host2
step berth network create -d ipvlan -o parent=lo bad
step berth run -d --network personal --ip 10.9.9.9 busybox true
step berth run -d --network container:web -p 81:80 busybox true

echo
echo "== The real docker CLI against berthd"
step docker -H "unix://$sock" network ls
step docker -H "unix://$sock" ps
step docker -H "unix://$sock" exec c3 nslookup c4
step docker -H "unix://$sock" run --rm --network personal busybox ping -c 1 -W 1 mybox2_personal

echo
echo "== Cleaning up the containers"
ids=$(berth ps -aq)
[ -n "$ids" ] && step berth rm -f $ids

# Several hosts: its own namespaces, etcd and daemons, removed when it ends.
"$here/scripts/demo-overlay.sh"

if [ "$keep" = --keep ]; then
  echo
  echo "berthd keeps running (pid $pid) in netns $ns. Point berth at it with:"
  echo "  export BERTH_HOST=unix://$sock"
  echo "Stop it with: kill $pid; ip netns del $ns; rm -rf $dir"
else
  echo
  echo "done: removing the daemon, its namespace and its state"
fi
