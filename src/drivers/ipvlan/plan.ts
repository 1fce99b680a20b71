/**
 * ipvlan driver planning, the macvlan way (see `macvlan/plan.ts` and `parent-link.ts`): the
 * container's interface is an ipvlan on the parent, created in the host netns straight into
 * the sandbox. Unlike macvlan, every ipvlan shares the parent's MAC (no MAC is asked for).
 *
 * - l2: the container ARPs on the parent's segment; default route via the network's gateway.
 * - l3 / l3s: the parent routes; no ARP, no broadcast, so the default route is `dev eth0`
 *   without a gateway (moby `ipvlan_joinleave.go`).
 * - Flags: bridge (default), private, vepa (IFLA_IPVLAN_FLAGS).
 *
 * Kernels without ipvlan (this one: KERNEL-NOTES) are found out at network create by asking
 * the kernel (`HostView.supportsLinkKind`), with a message that says so.
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
import { parseIpvlanOptions } from './options.js';

/** The error for a kernel without ipvlan. */
export const IPVLAN_UNSUPPORTED = "the ipvlan driver needs the kernel's ipvlan module, which this kernel does not have";

export const ipvlanDriver: NetworkDriver = {
  name: 'ipvlan',
  usesIpam: true,
  singleton: false,

  validate(network: Network, ctx: DriverContext): void {
    const host = ctx.host;
    // The kernel first, as Docker checks the kernel version first: nothing else matters then.
    if (host !== undefined && !host.supportsLinkKind('ipvlan')) throw new BerthError('ERR_DRIVER_UNSUPPORTED', IPVLAN_UNSUPPORTED);
    const opts = parseIpvlanOptions(network);
    const parent = resolveParent('ipvlan', network, host);
    if (host === undefined) return;
    checkParentSupported('ipvlan', network, parent, host);
    checkNoOtherKindOnParent('ipvlan', network, host);
    // moby ipvlan_network.go createNetwork: one ipvlan network per parent.
    const other = networksOnParent('ipvlan', network, host)[0];
    if (other !== undefined) throw invalid(`network ${other.name} is already using parent interface ${opts.parent}`);
  },

  planCreate(network: Network, ctx: DriverContext): KernelOp[] {
    return planParentCreate(network, resolveParent('ipvlan', network, ctx.host));
  },

  planRemove(network: Network): KernelOp[] {
    return planParentRemove('ipvlan', network);
  },

  planReconcile(network: Network, _ctx: DriverContext, now: KernelSnapshot): KernelOp[] {
    return planParentReconcile('ipvlan', network, now.links);
  },

  planJoin(network: Network, endpoint: Endpoint, join: JoinContext): KernelOp[] {
    const opts = parseIpvlanOptions(network);
    const ops = planLinkInSandbox(endpoint, join.netns, join.hostIfName, {
      info: { kind: 'ipvlan', mode: opts.mode, flag: opts.flag, parent: opts.parent },
    });
    if (!join.gateway || opts.parentless) return ops;
    if (opts.mode === 'l2') {
      ops.push(...planGatewayRoutes(network, endpoint, join.netns));
    } else {
      if (endpoint.ipv4 !== undefined) ops.push({ kind: 'route-add', netns: join.netns, dst: 'default', dev: endpoint.ifName });
      if (endpoint.ipv6 !== undefined) ops.push({ kind: 'route-add', netns: join.netns, dst: 'default6', dev: endpoint.ifName });
    }
    return ops;
  },

  planLeave(_network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
    return [{ kind: 'link-del', netns, name: endpoint.ifName }];
  },

  planDrop(_network: Network, endpoint: Endpoint, netns: string): KernelOp[] {
    // Down releases its addresses on the parent's port (the next ipvlan with one would get EADDRINUSE) at once and stops it answering on the segment; the dropped netns
    // destroys the link later. Measured: 2–10 ms (a synchronize_net), against EADDRINUSE on
    // 8 of 10 immediate restarts without it.
    return [{ kind: 'link-set', netns, name: endpoint.ifName, up: false }];
  },
};
