#!/usr/bin/env bash
# The seeds' multi-host scenario (overlay networks on VXLAN with a KV store), on one machine: two
# "hosts" (network namespaces) joined by an underlay bridge in a third, Debian's etcd on that
# underlay, one berthd per host. Prints each command and its output, then removes everything.
# Called by scripts/demo.sh after set-up; runnable on its own once scripts/setup.sh has run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tag="berth-demo-ov-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
dir=$(mktemp -d /tmp/berth-demo-ov.XXXXXX)
etcd_pid=""
pids=()

cleanup() {
  for i in 1 2; do
    sock="$dir/h$i.sock"
    if [ -S "$sock" ]; then
      ids=$(BERTH_HOST="unix://$sock" "$here/bin/berth" ps -aq 2>/dev/null || true)
      [ -n "$ids" ] && BERTH_HOST="unix://$sock" "$here/bin/berth" rm -f $ids >/dev/null 2>&1 || true
    fi
  done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  [ -n "$etcd_pid" ] && kill -TERM "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null || true
  for i in 1 2; do
    r="$dir/h$i/exec/runc"
    [ -d "$r" ] && for c in $(runc --root "$r" list -q 2>/dev/null); do runc --root "$r" delete -f "$c" 2>/dev/null || true; done
  done
  grep -o " $dir/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for n in ul h1 h2; do ip netns del "$tag-$n" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# The underlay: a bridge holding 198.18.0.254/24 (etcd listens there), one veth per host.
ip netns add "$tag-ul"
nsenter --net="/run/netns/$tag-ul" sh -c 'ip link set lo up; ip link add ul type bridge; ip addr add 198.18.0.254/24 dev ul; ip link set ul up'
for i in 1 2; do
  ip netns add "$tag-h$i"
  nsenter --net="/run/netns/$tag-h$i" ip link set lo up
  ip -n "$tag-ul" link add "h$i" type veth peer name ul0 netns "$tag-h$i"
  ip -n "$tag-ul" link set "h$i" master ul up
  ip -n "$tag-h$i" addr add "198.18.0.$i/24" dev ul0
  ip -n "$tag-h$i" link set ul0 up
done
nsenter --net="/run/netns/$tag-ul" etcd --data-dir "$dir/etcd" --name demo \
  --listen-client-urls http://198.18.0.254:2379 --advertise-client-urls http://198.18.0.254:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 >"$dir/etcd.log" 2>&1 &
etcd_pid=$!
for i in 1 2; do
  nsenter --net="/run/netns/$tag-h$i" "$here/bin/berthd" --root "$dir/h$i/root" --exec-root "$dir/h$i/exec" \
    -H "unix://$dir/h$i.sock" --cluster-store etcd://198.18.0.254:2379 --cluster-advertise ul0 \
    --cluster-store-opt discovery.ttl=5 2>"$dir/h$i.log" &
  pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 150); do [ -S "$dir/h$i.sock" ] && break; sleep 0.1; done
  [ -S "$dir/h$i.sock" ] || { echo "berthd on host $i did not start:"; cat "$dir/h$i.log" "$dir/etcd.log"; exit 1; }
done

on() { local h=$1; shift; printf '\n\033[1m[host %s] $ berth %s\033[0m\n' "$h" "$*"; "$here/bin/berth" -H "unix://$dir/h$h.sock" "$@" 2>&1 || true; }
kernel() { local h=$1; shift; printf '\n\033[1m[host %s netns] $ %s\033[0m\n' "$h" "$*"; nsenter --net="/run/netns/$tag-h$h" "$@" 2>&1 || true; }

echo
echo "== Seeds 002–004: an overlay network across two hosts (VXLAN, etcd at 198.18.0.254:2379)"
echo "   host 1 = 198.18.0.1, host 2 = 198.18.0.2, each running berthd --cluster-store etcd://…"
on 1 network create -d overlay --subnet 10.77.0.0/24 ov1
sleep 0.3
on 2 network ls --filter driver=overlay
on 1 run -d --network ov1 --name alpha busybox sleep 600
on 2 run -d --network ov1 --name beta busybox sh -c 'echo hello from host 2 > /www && httpd -f -p 80 -h /'
on 1 exec alpha ping -c 2 -W 2 beta
on 1 exec alpha wget -qO- http://beta/www
kernel 1 ip -d link show type vxlan
kernel 1 bridge fdb show brport "vx-$("$here/bin/berth" -H "unix://$dir/h1.sock" network inspect -f '{{printf "%.12s" .Id}}' ov1)"
echo
echo "== Overlay containers leave through docker_gwbridge (NAT) and publish ports there"
on 1 exec alpha ping -c 1 -W 2 198.18.0.254
on 1 exec alpha ip route
echo
echo "== A network is removed everywhere once no host has endpoints on it"
on 2 network rm ov1
on 1 rm -f alpha
on 2 rm -f beta
on 2 network rm ov1
sleep 0.3
on 1 network ls --filter driver=overlay
