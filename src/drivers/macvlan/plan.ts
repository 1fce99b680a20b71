/**
 * macvlan driver planning. A container's interface is a macvlan on the network's parent link:
 * its own MAC straight on the parent's segment, no bridge, no NAT, no host-side interface.
 *
 * - Network create: nothing on the host for a parent the user has; an 802.1q `eth0.10` or the
 *   dummy of a parent-less network is created and owned (see `parent-link.ts`).
 * - Gateway: never put on the host (it is a router on the segment, e.g. the LAN's); containers
 *   get a default route via the network's gateway. Parent-less networks are internal: no route.
 * - Modes are the kernel's (IFLA_MACVLAN_MODE): bridge (macvlans of one parent talk directly),
 *   private (they cannot), vepa (via the external switch, which must hairpin), passthru (one
 *   macvlan takes over the parent: one container per parent; it gets the parent's MAC).
 * - The host cannot reach its own macvlans through the parent (the kernel does not loop
 *   frames from a lower device up to its macvlans): as in Docker.
 */
import { BerthError, invalid } from '../../errors.js';
import type { KernelOp } from '../../kernel/types.js';
import type { Endpoint } from '../../model/container.js';
import type { Network } from '../../model/network.js';
import { planGatewayRoutes } from '../bridge/plan.js';
import {
  checkNoOtherKindOnParent,
  checkParentSupported,
  networksOnParent,
  planLinkInSandbox,
  planParentCreate,
  planParentReconcile,
  planParentRemove,
  resolveParent,
} from '../parent-link.js';
import type { DriverContext, JoinContext, KernelSnapshot, NetworkDriver } from '../types.js';
import { parseMacvlanOptions } from './options.js';

export const macvlanDriver: NetworkDriver = {
  name: 'macvlan',
  usesIpam: true,
  singleton: false,

  validate(network: Network, ctx: DriverContext): void {
    const opts = parseMacvlanOptions(network);
    const host = ctx.host;
    if (host === undefined) {
      resolveParent('macvlan', network, undefined);
      return;
    }
    // The kernel first: without macvlan nothing else matters.
    if (!host.supportsLinkKind('macvlan')) {
      throw new BerthError('ERR_DRIVER_UNSUPPORTED', "the macvlan driver needs the kernel's macvlan module, which this kernel does not have");
    }
    const parent = resolveParent('macvlan', network, host);
    checkParentSupported('macvlan', network, parent, host);
    checkNoOtherKindOnParent('macvlan', network, host);
    // moby macvlan_network.go createNetwork: passthru gives the parent to one macvlan.
    for (const other of networksOnParent('macvlan', network, host)) {
      if (opts.mode === 'passthru') {
        throw invalid(`cannot use mode passthru, macvlan network ${other.id} is already using parent interface ${opts.parent}`);
      }
      if (parseMacvlanOptions(other).mode === 'passthru') {
        throw invalid(`macvlan network ${other.id} is already using parent interface ${opts.parent} in mode passthru`);
      }
    }
  },

  planCreate(network: Network, ctx: DriverContext): KernelOp[] {
    return planParentCreate(network, resolveParent('macvlan', network, ctx.host));
  },

  planRemove(network: Network): KernelOp[] {
    // Endpoints are gone by now (the engine refuses to remove a network in use), and with
    // them their macvlans; what is left is a parent berth made.
    return planParentRemove('macvlan', network);
  },

  planReconcile(network: Network, _ctx: DriverContext, now: KernelSnapshot): KernelOp[] {
    return planParentReconcile('macvlan', network, now.links);
  },

  planJoin(network: Network, endpoint: Endpoint, join: JoinContext): KernelOp[] {
    const opts = parseMacvlanOptions(network);
    const ops = planLinkInSandbox(endpoint, join.netns, join.hostIfName, {
      info: { kind: 'macvlan', mode: opts.mode, parent: opts.parent },
      // passthru: the kernel gives the macvlan its parent's MAC whatever we ask.
      ...(opts.mode === 'passthru' || endpoint.mac === '' ? {} : { mac: endpoint.mac }),
    });
    if (join.gateway && !opts.parentless) ops.push(...planGatewayRoutes(network, endpoint, join.netns));
    return ops;
  },

  planLeave(_network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
    return [{ kind: 'link-del', netns, name: endpoint.ifName }];
  },

  planDrop(_network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
    // Down releases its MAC on the parent (the next macvlan with it would get EADDRINUSE) at once and stops it answering on the segment; the dropped netns
    // destroys the link later. Measured: 2–10 ms (a synchronize_net), against EADDRINUSE on
    // 8 of 10 immediate restarts without it.
    return [{ kind: 'link-set', netns, name: endpoint.ifName, up: false }];
  },
};
