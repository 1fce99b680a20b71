/**
 * Overlay driver planning: one layer-2 segment across the hosts of a cluster, on VXLAN.
 *
 * On every host, in the daemon's netns, a network has a bridge `ov-<12 hex>` (no address: the
 * segment has no router here) and, as its port, a VXLAN device `vx-<12 hex>` with the
 * network's VNI, this host's `--cluster-advertise` address as tunnel source and UDP 4789.
 * Learning is off and ARP proxy on: the cluster store says where every endpoint is, and
 * `peers.ts` writes that into the vxlan's FDB (MAC → remote host) and neighbour table (IP →
 * MAC), from which the vxlan answers ARP itself — no flooding across hosts.
 *
 * Containers join with a veth into the bridge, like the bridge driver's, but never get a
 * default route here: the engine gives an overlay container a second endpoint on the egress
 * bridge (docker_gwbridge), which routes and NATs, as Docker does.
 */
import { BerthError } from '../../errors.js';
import type { KernelOp, LinkSpec } from '../../kernel/types.js';
import type { Endpoint } from '../../model/container.js';
import type { Network } from '../../model/network.js';
import {
  networkAlias,
  type DriverContext,
  type JoinContext,
  type KernelSnapshot,
  type NetworkDriver,
  type OverlayContext,
} from '../types.js';
import { planVethJoin } from '../bridge/plan.js';
import { checkOverlayOptions, overlayBridgeName, overlayMtu, overlayVni, overlayVxlanName, VXLAN_PORT } from './options.js';

export { overlayBridgeName, overlayMtu, overlayVni, overlayVxlanName } from './options.js';

/** ctx.overlay, or why a daemon outside a cluster cannot have overlay networks. */
function requireCluster(ctx: DriverContext): OverlayContext {
  if (ctx.overlay === undefined) {
    throw new BerthError(
      'ERR_DRIVER_UNSUPPORTED',
      'overlay networks need a cluster store: start berthd with --cluster-store etcd://host:port --cluster-advertise <address or interface>',
    );
  }
  return ctx.overlay;
}

function bridgeLink(network: Network): LinkSpec {
  return {
    name: overlayBridgeName(network.id),
    info: { kind: 'bridge' },
    // No fixed MAC (unlike the bridge driver's): the bridge has no address, so nothing
    // depends on its MAC, and one derived from the id would be the same on every host.
    mtu: overlayMtu(network),
    up: true,
    alias: networkAlias(network.id),
  };
}

function vxlanLink(network: Network, cluster: OverlayContext): LinkSpec {
  return {
    name: overlayVxlanName(network.id),
    info: { kind: 'vxlan', vni: overlayVni(network), port: VXLAN_PORT, local: cluster.advertise, learning: false, proxy: true },
    mtu: overlayMtu(network),
    master: overlayBridgeName(network.id),
    up: true,
    alias: networkAlias(network.id),
  };
}

export const overlayDriver: NetworkDriver = {
  name: 'overlay',
  usesIpam: true,
  singleton: false,

  validate(network: Network, ctx: DriverContext): void {
    requireCluster(ctx);
    checkOverlayOptions(network);
  },

  planCreate(network: Network, ctx: DriverContext): KernelOp[] {
    const cluster = requireCluster(ctx);
    checkOverlayOptions(network);
    // The bridge first: the vxlan is enslaved to it in its creating message.
    return [
      { kind: 'link-add', netns: null, link: bridgeLink(network) },
      { kind: 'link-add', netns: null, link: vxlanLink(network, cluster) },
    ];
  },

  planRemove(network: Network): KernelOp[] {
    // 1. The vxlan (its FDB and neighbour entries go with it). 2. The bridge. Names come from
    // the id alone, so a network with options gone bad can still be removed.
    return [
      { kind: 'link-del', netns: null, name: overlayVxlanName(network.id) },
      { kind: 'link-del', netns: null, name: overlayBridgeName(network.id) },
    ];
  },

  planReconcile(network: Network, ctx: DriverContext, now: KernelSnapshot): KernelOp[] {
    const bridgeName = overlayBridgeName(network.id);
    const vxlanName = overlayVxlanName(network.id);
    const bridge = now.links.find((l) => l.name === bridgeName);
    const vxlan = now.links.find((l) => l.name === vxlanName);
    const ops: KernelOp[] = [];
    if (bridge === undefined) ops.push({ kind: 'link-add', netns: null, link: bridgeLink(network) });
    else if (!bridge.up) ops.push({ kind: 'link-set', netns: null, name: bridgeName, up: true });
    if (vxlan === undefined) {
      // A re-created vxlan has an empty FDB: the caller re-syncs its peers (OverlayPeers.forget).
      ops.push({ kind: 'link-add', netns: null, link: vxlanLink(network, requireCluster(ctx)) });
    } else {
      // A deleted bridge releases its ports: put the vxlan back.
      const reattach = bridge === undefined || vxlan.master !== bridge.index;
      if (reattach || !vxlan.up) {
        ops.push({
          kind: 'link-set',
          netns: null,
          name: vxlanName,
          ...(reattach ? { master: bridgeName } : {}),
          ...(vxlan.up ? {} : { up: true }),
        });
      }
    }
    return ops;
  },

  planJoin(network: Network, endpoint: Endpoint, join: JoinContext): KernelOp[] {
    // As the bridge driver's join, without hairpin (nothing is published on this leg) and
    // without routes whatever `join.gateway` says: the egress bridge endpoint gives the default
    // route. (IPv4 only: `validate` refuses IPv6 on overlay networks.)
    return planVethJoin(endpoint, join, { bridge: overlayBridgeName(network.id), mtu: overlayMtu(network), hairpin: false });
  },

  planLeave(_network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
    // Deleting the sandbox end deletes the pair (and the bridge port) with it.
    return [{ kind: 'link-del', netns, name: endpoint.ifName }];
  },

  planDrop(): KernelOp[] {
    // The host end is a fresh name each start and the pair holds nothing else.
    return [];
  },
};
