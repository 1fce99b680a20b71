#!/bin/bash
# The CNI reference plugins at scale, for berth's side-by-side benchmark. Adapted from
# shared/peers/bench/bench-cni.sh (same config, same invocation per the CNI spec, same timing
# helpers from its lib.sh), with:
#   - ROUNDS single-container rounds (ADD then DEL, nothing else on the network);
#   - a batch of N containers on one network (ADD in order, then DEL in the same order), so the
#     i-th ADD runs with i-1 containers on the bridge;
#   - one portmap ADD for each of the first PORTMAP_MAX batch containers (the i-th publishes
#     the i-th port; each ADD rewrites iptables chains, so it grows with i).
# Namespaces: peer-bcnihost (the plugins run there via nsenter --net), peer-bcnis<r>,
# peer-bcni<i>; state in /run/peer-bcni. All removed on exit (trap), also on failure.
# Output: $RES/cni-{single-add,single-del,add,del,portmap-add,portmap-del}.ms, $RES/cni-scale-summary.txt
set -u
PEERS_BENCH=${PEERS_BENCH:-/work/shared/peers/bench}
source "$PEERS_BENCH/lib.sh"
SUMMARY=$RES/cni-scale-summary.txt; : >"$SUMMARY"
N=${N:-100}; ROUNDS=${ROUNDS:-10}; PORTMAP_MAX=${PORTMAP_MAX:-100}
CNI=/usr/lib/cni
HOST=peer-bcnihost
STATE=/run/peer-bcni
rm -f "$RES"/cni-*.ms
cleanup() {
  for ns in $(ls /run/netns 2>/dev/null | grep -E '^peer-bcni(s?[0-9]+|host)$'); do ip netns del "$ns" 2>/dev/null; done
  rm -rf $STATE
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup; mkdir -p $STATE/results
ip netns add $HOST; ip -n $HOST link set lo up
HX="nsenter --net=/run/netns/$HOST"
VER=1.0.0
CONF=$(cat <<JSON
{"cniVersion":"$VER","name":"peercni","type":"bridge","bridge":"cni-peer0","isGateway":true,"ipMasq":true,
 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.215.0.0/16","gateway":"10.215.0.1"}]],
 "routes":[{"dst":"0.0.0.0/0"}],"dataDir":"$STATE/ipam"}}
JSON
)
cni() { # CMD NETNS-NAME PLUGIN  (config on stdin)
  CNI_COMMAND=$1 CNI_CONTAINERID=peer-ctr-$2 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 CNI_PATH=$CNI \
    $HX $CNI/$3
}
log "# CNI scale $(date -u +%FT%TZ) containernetworking-plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins) cniVersion=$VER N=$N ROUNDS=$ROUNDS PORTMAP_MAX=$PORTMAP_MAX"
fail=0
for r in $(seq $ROUNDS); do
  ns=peer-bcnis$r; ip netns add $ns
  tstart; echo "$CONF" | cni ADD $ns bridge >/dev/null; rc=$?; tstop $RES/cni-single-add.ms; [ $rc = 0 ] || fail=$((fail+1))
  tstart; echo "$CONF" | cni DEL $ns bridge >/dev/null; rc=$?; tstop $RES/cni-single-del.ms; [ $rc = 0 ] || fail=$((fail+1))
  ip netns del $ns; sleep 0.06
done
log "single failures: $fail"
fail=0
for i in $(seq $N); do
  ns=peer-bcni$i; ip netns add $ns
  tstart; echo "$CONF" | cni ADD $ns bridge > $STATE/results/$i.json; rc=$?; tstop $RES/cni-add.ms
  [ $rc = 0 ] || { fail=$((fail+1)); head -c 300 $STATE/results/$i.json >&2; }
  if [ "$i" -le "$PORTMAP_MAX" ]; then
    PM=$(jq -c --argjson prev "$(cat $STATE/results/$i.json)" --argjson hp $((9000+i)) \
      '{cniVersion, name, type:"portmap", capabilities:{portMappings:true}, snat:true,
        runtimeConfig:{portMappings:[{hostPort:$hp, containerPort:80, protocol:"tcp"}]}, prevResult:$prev}' <<<"$CONF")
    echo "$PM" > $STATE/results/$i.portmap.conf
    tstart; echo "$PM" | cni ADD $ns portmap >/dev/null; rc=$?; tstop $RES/cni-portmap-add.ms
    [ $rc = 0 ] || fail=$((fail+1))
  fi
  [ $((i % 100)) = 0 ] && echo "cni: $i/$N up" >&2
done
log "ADD failures: $fail"
log "host side: $(ip -n $HOST -br link | wc -l) links, nat rules: $($HX iptables-save -t nat 2>/dev/null | grep -c -- '^-A')"
fail=0
for i in $(seq $N); do
  ns=peer-bcni$i
  if [ "$i" -le "$PORTMAP_MAX" ]; then
    tstart; cni DEL $ns portmap < $STATE/results/$i.portmap.conf >/dev/null; rc=$?; tstop $RES/cni-portmap-del.ms
    [ $rc = 0 ] || fail=$((fail+1))
  fi
  tstart; echo "$CONF" | cni DEL $ns bridge >/dev/null; rc=$?; tstop $RES/cni-del.ms
  [ $rc = 0 ] || fail=$((fail+1))
  ip netns del $ns
done
log "DEL failures: $fail"
for f in single-add single-del add del portmap-add portmap-del; do
  [ -s $RES/cni-$f.ms ] && $STATS "cni $f" < $RES/cni-$f.ms | tee -a "$SUMMARY"
done
exit 0
