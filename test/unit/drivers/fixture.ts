// Networks, endpoints and host views for driver planner tests.
import type { HostView } from '../../../src/drivers/types.js';
import type { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import type { Endpoint } from '../../../src/model/container.js';
import type { Id64, Network } from '../../../src/model/network.js';

/** A 64-hex id starting with `prefix` (hex digits). */
export function id(prefix: string): Id64 {
  return prefix.padEnd(64, '0') as Id64;
}

/** A network on 10.252.0.0/24 with gateway .1 (the parent's segment), as the engine stores it. */
export function network(driver: 'macvlan' | 'ipvlan', options: Record<string, string>, over: Partial<Network> = {}): Network {
  return {
    id: id('aaaa1111bbbb'),
    name: 'mv',
    driver,
    scope: 'local',
    created: '2025-01-01T00:00:00.000000000Z',
    internal: false,
    attachable: false,
    ingress: false,
    enableIPv4: true,
    enableIPv6: false,
    ipamDriver: 'default',
    ipamOptions: {},
    pools: [{ subnet: '10.252.0.0/24', gateway: '10.252.0.1', gatewayExplicit: true, auxAddresses: {}, fromDefaultPool: false }],
    options,
    labels: {},
    predefined: false,
    ...over,
  };
}

/** A dual-stack variant of `network`. */
export function dualStack(n: Network): Network {
  return {
    ...n,
    enableIPv6: true,
    pools: [
      ...n.pools,
      { subnet: 'fd00:252::/64', gateway: 'fd00:252::1', gatewayExplicit: true, auxAddresses: {}, fromDefaultPool: false },
    ],
  };
}

/** The first container's endpoint: eth0, 10.252.0.2, Docker's MAC for that address. */
export function endpoint(over: Partial<Endpoint> = {}): Endpoint {
  return {
    id: id('eeee2222'),
    networkId: id('aaaa1111bbbb'),
    containerId: id('cccc3333'),
    ifName: 'eth0',
    mac: '02:42:0a:fc:00:02',
    ipv4: '10.252.0.2/24',
    aliases: [],
    links: [],
    order: 1,
    ...over,
  };
}

/** The host view the network controller gives drivers, over a FakeKernel and a network list. */
export function hostView(kernel: FakeKernel, networks: readonly Network[] = []): HostView {
  return {
    links: () => kernel.listLinks(null),
    supportsLinkKind: (kind) => kernel.linkKindSupported(null, kind),
    networks: () => networks,
  };
}

/** Where the sandbox is, and the fresh name the engine hands the join. */
export const SANDBOX = '/run/berth/netns/c1';
export const TEMP = 'veth1a2b3c4';
