/**
 * Bridge driver planning: a Linux bridge per network with the gateway addresses, up, with an
 * explicit MAC (without one a bridge takes its lowest port's MAC, which changes as containers
 * come and go — KERNEL-NOTES "Bridges") and an alias that marks it as berth's.
 */
import type { KernelOp } from '../../kernel/types.js';
import type { Endpoint } from '../../model/container.js';
import type { Network } from '../../model/network.js';
import {
  endpointAlias,
  networkAlias,
  type DriverContext,
  type JoinContext,
  type KernelSnapshot,
  type NetworkDriver,
} from '../types.js';
import { parseBridgeOptions } from './options.js';

/** Deterministic locally-administered MAC for a network's bridge, so a re-created bridge keeps it. */
export function bridgeMac(networkId: string): string {
  const bytes = networkId.slice(0, 8).match(/../g) ?? [];
  return ['02', '42', ...bytes].join(':');
}

/** `gateway/prefix` for every pool that has a gateway. */
function gatewayCidrs(network: Network): string[] {
  return network.pools
    .filter((p) => p.gateway !== '')
    .map((p) => `${p.gateway}/${p.subnet.split('/')[1] ?? ''}`);
}

export const bridgeDriver: NetworkDriver = {
  name: 'bridge',
  usesIpam: true,
  singleton: false,

  validate(network: Network, ctx: DriverContext): void {
    parseBridgeOptions(network.id, network.options, ctx);
  },

  planCreate(network: Network, ctx: DriverContext): KernelOp[] {
    const opts = parseBridgeOptions(network.id, network.options, ctx);
    const ops: KernelOp[] = [
      {
        kind: 'link-add',
        netns: null,
        link: {
          name: opts.bridgeName,
          info: { kind: 'bridge' },
          mac: bridgeMac(network.id),
          mtu: opts.mtu,
          up: true,
          alias: networkAlias(network.id),
        },
      },
    ];
    for (const cidr of gatewayCidrs(network)) {
      ops.push({ kind: 'addr-add', netns: null, dev: opts.bridgeName, cidr });
    }
    return ops;
  },

  planRemove(network: Network, ctx: DriverContext): KernelOp[] {
    const opts = parseBridgeOptions(network.id, network.options, ctx);
    // Deleting the bridge takes its addresses and routes with it; its ports are released.
    return [{ kind: 'link-del', netns: null, name: opts.bridgeName }];
  },

  planReconcile(network: Network, ctx: DriverContext, now: KernelSnapshot): KernelOp[] {
    const opts = parseBridgeOptions(network.id, network.options, ctx);
    const link = now.links.find((l) => l.name === opts.bridgeName);
    if (link === undefined) return this.planCreate(network, ctx);
    const ops: KernelOp[] = [];
    if (!link.up) ops.push({ kind: 'link-set', netns: null, name: opts.bridgeName, up: true });
    const have = new Set(now.addrs.filter((a) => a.ifindex === link.index).map((a) => a.cidr));
    for (const cidr of gatewayCidrs(network)) {
      if (!have.has(cidr)) ops.push({ kind: 'addr-add', netns: null, dev: opts.bridgeName, cidr });
    }
    return ops;
  },

  planJoin(network: Network, endpoint: Endpoint, join: JoinContext, ctx: DriverContext): KernelOp[] {
    const opts = parseBridgeOptions(network.id, network.options, ctx);
    // No userland proxy: a container reaching its own published port through a host address
    // is DNAT'd back to itself, out of the port it came in by (Docker sets hairpin too when its
    // proxy is off).
    const ops = planVethJoin(endpoint, join, { bridge: opts.bridgeName, mtu: opts.mtu, hairpin: true });
    if (join.gateway) ops.push(...planGatewayRoutes(network, endpoint, join.netns));
    return ops;
  },

  planLeave(_network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
    // Deleting the sandbox end deletes the pair (and the bridge port) with it.
    return [{ kind: 'link-del', netns, name: endpoint.ifName }];
  },

  planDrop(): KernelOp[] {
    // The host end is a fresh name each start and the pair holds nothing else: nothing to free.
    return [];
  },
};

/**
 * A veth pair from a bridge port into a sandbox, with the endpoint's addresses, up (the bridge
 * and overlay drivers' join). One message makes the pair with its peer already inside the
 * sandbox, enslaved and up on the host side. The peer cannot be brought up in that message
 * (ENOTCONN, KERNEL-NOTES): it is brought up from a socket inside the sandbox.
 */
export function planVethJoin(
  endpoint: Endpoint,
  join: JoinContext,
  port: { readonly bridge: string; readonly mtu: number; readonly hairpin: boolean },
): KernelOp[] {
  const ns = join.netns;
  const ops: KernelOp[] = [
    {
      kind: 'link-add',
      netns: null,
      link: {
        name: join.hostIfName,
        info: { kind: 'veth', peerName: endpoint.ifName, peerNetns: ns, peerMac: endpoint.mac, peerMtu: port.mtu },
        mtu: port.mtu,
        master: port.bridge,
        up: true,
        alias: endpointAlias(endpoint.id),
        ...(port.hairpin ? { hairpin: true } : {}),
      },
    },
  ];
  if (endpoint.ipv4 !== undefined) ops.push({ kind: 'addr-add', netns: ns, dev: endpoint.ifName, cidr: endpoint.ipv4 });
  if (endpoint.ipv6 !== undefined) ops.push({ kind: 'addr-add', netns: ns, dev: endpoint.ifName, cidr: endpoint.ipv6 });
  ops.push({ kind: 'link-set', netns: ns, name: endpoint.ifName, up: true });
  return ops;
}

/** Default routes through an endpoint's network gateways (v4 and, if any, v6). */
export function planGatewayRoutes(network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
  const ops: KernelOp[] = [];
  for (const pool of network.pools) {
    if (pool.gateway === '') continue;
    const v6 = pool.subnet.includes(':');
    if (v6 ? endpoint.ipv6 === undefined : endpoint.ipv4 === undefined) continue;
    if (ops.some((o) => o.kind === 'route-add' && o.dst === (v6 ? 'default6' : 'default'))) continue;
    ops.push({ kind: 'route-add', netns, dst: v6 ? 'default6' : 'default', via: pool.gateway, dev: endpoint.ifName });
  }
  return ops;
}
