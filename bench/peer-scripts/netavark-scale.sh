#!/bin/bash
# netavark at scale, for berth's side-by-side benchmark. Adapted from
# shared/peers/bench/bench-netavark.sh (same JSON shape, same invocation inside a "host" netns
# with nsenter --net, same timing helpers), with:
#   - ROUNDS single-container rounds (setup then teardown, nothing else on the network);
#   - a batch of N containers on one network (setup in order, teardown in the same order);
#   - addresses 10.216.x.y computed for N up to ~60,000 (the original numbers 10.216.0.<i+1>);
#   - no port mapping (the original maps one port per container): the figure is the network
#     setup alone, like the CNI bridge ADD and berth's sandbox setup.
# Namespaces: peer-bnvhost, peer-bnvs<r>, peer-bnv<i>; config in /run/peer-bnetavark. Removed on
# exit (trap), also on failure. DNS (aardvark-dns) is measured by the original script.
# Output: $RES/netavark-{single-setup,single-teardown,setup,teardown}.ms, $RES/netavark-scale-summary.txt
set -u
PEERS_BENCH=${PEERS_BENCH:-/work/shared/peers/bench}
source "$PEERS_BENCH/lib.sh"
SUMMARY=$RES/netavark-scale-summary.txt; : >"$SUMMARY"
N=${N:-100}; ROUNDS=${ROUNDS:-10}
NV=/usr/lib/podman/netavark
HOST=peer-bnvhost
CFG=/run/peer-bnetavark
rm -f "$RES"/netavark-*.ms
cleanup() {
  [ -f $CFG/aardvark-dns/aardvark.pid ] && kill "$(cat $CFG/aardvark-dns/aardvark.pid)" 2>/dev/null
  for ns in $(ls /run/netns 2>/dev/null | grep -E '^peer-bnv(s?[0-9]+|host)$'); do ip netns del "$ns" 2>/dev/null; done
  rm -rf $CFG
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup; mkdir -p $CFG/opts
ip netns add $HOST; ip -n $HOST link set lo up
HX="nsenter --net=/run/netns/$HOST"
opts() { # id ip
  cat <<JSON
{"container_id":"$(printf 'peer%060d' $1)","container_name":"nvctr$1",
 "port_mappings":[],
 "networks":{"peernet":{"static_ips":["$2"],"aliases":["alias-nvctr$1"],"interface_name":"eth0"}},
 "network_info":{"peernet":{"name":"peernet","id":"$(printf '%064d' 7)","driver":"bridge","network_interface":"nv-peer0",
   "subnets":[{"subnet":"10.216.0.0/16","gateway":"10.216.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false,
   "ipam_options":{"driver":"host-local"}}}}
JSON
}
log "# netavark scale $(date -u +%FT%TZ) $($NV --version) N=$N ROUNDS=$ROUNDS firewall=iptables(default of 1.4) port_mappings=none"
fail=0
for r in $(seq $ROUNDS); do
  ns=peer-bnvs$r; ip netns add $ns
  opts $((100000+r)) 10.216.250.$((r % 250 + 2)) > $CFG/opts/s$r.json
  tstart; $HX $NV --config $CFG setup /run/netns/$ns < $CFG/opts/s$r.json >/dev/null 2>$CFG/opts/s$r.err; rc=$?; tstop $RES/netavark-single-setup.ms
  [ $rc = 0 ] || { fail=$((fail+1)); head -3 $CFG/opts/s$r.err >&2; }
  tstart; $HX $NV --config $CFG teardown /run/netns/$ns < $CFG/opts/s$r.json >/dev/null 2>$CFG/opts/s$r.err; rc=$?; tstop $RES/netavark-single-teardown.ms
  [ $rc = 0 ] || { fail=$((fail+1)); head -3 $CFG/opts/s$r.err >&2; }
  ip netns del $ns; sleep 0.06
done
log "single failures: $fail"
fail=0
for i in $(seq $N); do
  ns=peer-bnv$i; ip netns add $ns
  opts $i 10.216.$((i / 250)).$((i % 250 + 2)) > $CFG/opts/$i.json
  tstart; $HX $NV --config $CFG setup /run/netns/$ns < $CFG/opts/$i.json >/dev/null 2>$CFG/opts/$i.err; rc=$?; tstop $RES/netavark-setup.ms
  [ $rc = 0 ] || { fail=$((fail+1)); head -3 $CFG/opts/$i.err >&2; }
  [ $((i % 100)) = 0 ] && echo "netavark: $i/$N up" >&2
done
log "setup failures: $fail"
log "host side: $(ip -n $HOST -br link | wc -l) links, nat rules: $($HX iptables-save -t nat 2>/dev/null | grep -c -- '^-A')"
fail=0
for i in $(seq $N); do
  tstart; $HX $NV --config $CFG teardown /run/netns/peer-bnv$i < $CFG/opts/$i.json >/dev/null 2>$CFG/opts/$i.terr; rc=$?; tstop $RES/netavark-teardown.ms
  [ $rc = 0 ] || { fail=$((fail+1)); head -3 $CFG/opts/$i.terr >&2; }
  ip netns del peer-bnv$i
done
log "teardown failures: $fail"
for f in single-setup single-teardown setup teardown; do
  [ -s $RES/netavark-$f.ms ] && $STATS "netavark $f" < $RES/netavark-$f.ms | tee -a "$SUMMARY"
done
exit 0
