/**
 * Sandbox planning (pure): a container's network namespace and the endpoints joined to it, in
 * order, with the default route given by the endpoint Docker would choose.
 */
import { randomBytes } from 'node:crypto';
import { getDriver } from '../drivers/registry.js';
import type { DriverContext } from '../drivers/types.js';
import type { KernelOp } from '../kernel/types.js';
import type { Endpoint } from '../model/container.js';
import type { Network } from '../model/network.js';

/** An endpoint with its network. */
export interface Attachment {
  readonly network: Network;
  readonly endpoint: Endpoint;
}

/**
 * The endpoint that gives the sandbox its default route, by libnetwork's `Endpoint.Less`:
 * networks with a gateway (internal ones have none), dual-stack before IPv6-only before
 * IPv4-only, then network name. Undefined when no network offers a gateway.
 */
export function chooseGateway(attachments: readonly Attachment[]): Attachment | undefined {
  const score = (a: Attachment): number => {
    // Overlay networks give no default route: their containers leave through docker_gwbridge.
    if (a.network.internal || a.network.driver === 'null' || a.network.driver === 'host' || a.network.driver === 'overlay') return 0;
    let s = 0;
    if (a.endpoint.ipv4 !== undefined && a.network.pools.some((p) => !p.subnet.includes(':') && p.gateway !== '')) s += 1;
    if (a.endpoint.ipv6 !== undefined && a.network.pools.some((p) => p.subnet.includes(':') && p.gateway !== '')) s += 2;
    return s;
  };
  const candidates = attachments.filter((a) => score(a) > 0);
  candidates.sort((a, b) => score(b) - score(a) || (a.network.name < b.network.name ? -1 : a.network.name > b.network.name ? 1 : 0));
  return candidates[0];
}

/** Attachments in interface order (order of connection). */
export function inInterfaceOrder(attachments: readonly Attachment[]): Attachment[] {
  return [...attachments].sort((a, b) => a.endpoint.order - b.endpoint.order);
}

/** A fresh host-side veth name: `veth` + 7 hex, never reused at once (KERNEL-NOTES: teardown). */
export function newHostIfName(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/**
 * Kernel work to bring a sandbox up: the netns, `lo` up, then every endpoint in interface order,
 * the default route on the chosen one. `hostIfNames` gives each endpoint's host-side name.
 */
export function planSandboxSetup(
  netns: string,
  attachments: readonly Attachment[],
  hostIfNames: ReadonlyMap<string, string>,
  ctx: DriverContext,
): KernelOp[] {
  const ops: KernelOp[] = [
    { kind: 'netns-add', path: netns },
    { kind: 'link-set', netns, name: 'lo', up: true },
  ];
  const gw = chooseGateway(attachments);
  for (const a of inInterfaceOrder(attachments)) {
    ops.push(
      ...getDriver(a.network.driver).planJoin(
        a.network,
        a.endpoint,
        { netns, hostIfName: hostIfNames.get(a.endpoint.id) ?? newHostIfName(), gateway: a === gw },
        ctx,
      ),
    );
  }
  return ops;
}

/**
 * Kernel work to run before a sandbox's netns is dropped (`Kernel.netnsDel`): every driver's
 * `planDrop`, last interface first. Best effort — run each op on its own, collect failures,
 * and drop the netns anyway. Without it a macvlan keeps its MAC on the parent until the kernel
 * gets round to destroying the dropped netns, and a restart on the same address fails.
 */
export function planSandboxDrop(netns: string, attachments: readonly Attachment[]): KernelOp[] {
  return inInterfaceOrder(attachments)
    .reverse()
    .flatMap((a) => (a.endpoint.ifName === '' ? [] : getDriver(a.network.driver).planDrop(a.network, a.endpoint, netns)));
}

/** Names the interfaces of a sandbox: eth0, eth1, … for the lowest free index. */
export function nextIfName(existing: readonly Endpoint[]): string {
  const used = new Set(existing.map((e) => e.ifName));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}
