/**
 * The network driver contract. A driver turns a validated `Network` into kernel work (pure
 * planning); the engine applies the plan, undoes it on failure and commits to the store last.
 * Endpoint planning (container joins) extends this contract in the containers work.
 */
import type { KernelOp, LinkInfo, LinkState, AddrState } from '../kernel/types.js';
import type { Endpoint } from '../model/container.js';
import type { DriverName, Network } from '../model/network.js';

/** Daemon-wide settings a driver may need. */
export interface DriverContext {
  /** Default MTU (`berthd --mtu`). */
  readonly mtu: number;
  /**
   * What is there already, for drivers whose create depends on it (macvlan/ipvlan: does the
   * parent exist, does the kernel have the link type). The network controller gives it to
   * `validate` and the plan calls; absent elsewhere (joins, planner unit tests), where drivers
   * plan as if the parent were there and the kernel able.
   */
  readonly host?: HostView;
  /**
   * Set when the daemon is in a cluster (`--cluster-store`): what the overlay driver needs to
   * create a network's VXLAN. Absent on a single host, where overlay creation says why.
   */
  readonly overlay?: OverlayContext;
}

/** The cluster facts the overlay driver plans with. */
export interface OverlayContext {
  /** This host's VXLAN tunnel endpoint: the `--cluster-advertise` IPv4 address. */
  readonly advertise: string;
}

/**
 * A read-only view of the daemon's netns and the networks that exist. Reads happen when a
 * method is called (never cached across calls), so a driver reads only what it needs.
 */
export interface HostView {
  /** Links of the daemon's netns. */
  links(): readonly LinkState[];
  /** Whether the kernel has link type `kind` (asked by trying; nothing is created). */
  supportsLinkKind(kind: Exclude<LinkInfo['kind'], 'veth'>): boolean;
  /** The networks that exist (not the one being created). */
  networks(): readonly Network[];
}

/** What the kernel holds now, for reconcile planning. */
export interface KernelSnapshot {
  readonly links: readonly LinkState[];
  readonly addrs: readonly AddrState[];
}

/** One network driver. */
export interface NetworkDriver {
  readonly name: DriverName;
  /** Whether networks of this driver get address pools (bridge yes; host/null no). */
  readonly usesIpam: boolean;
  /** At most one network of this driver may exist (host, null). */
  readonly singleton: boolean;
  /** Parse and check driver options; throws ERR_INVALID_PARAMETER. Pure. */
  validate(network: Network, ctx: DriverContext): void;
  /** Kernel work to create the network (in the daemon's own netns). Pure. */
  planCreate(network: Network, ctx: DriverContext): KernelOp[];
  /** Kernel work to remove the network. Pure; applied with "already gone" tolerated. */
  planRemove(network: Network, ctx: DriverContext): KernelOp[];
  /** Kernel work to bring what exists back in line with the network (after a restart). Pure. */
  planReconcile(network: Network, ctx: DriverContext, now: KernelSnapshot): KernelOp[];
  /**
   * Kernel work to plug an endpoint into a sandbox (a container netns that exists, `lo` up).
   * Pure. Drivers without interfaces (host, null) return [].
   */
  planJoin(network: Network, endpoint: Endpoint, join: JoinContext, ctx: DriverContext): KernelOp[];
  /** Kernel work to unplug an endpoint from a running sandbox. Pure. */
  planLeave(network: Network, endpoint: Endpoint, netns: string): KernelOp[];
  /**
   * Kernel work before the sandbox's netns is dropped (stop, rm, an undone start); the netns
   * then takes the interface with it. Needed because the kernel destroys a dropped netns
   * asynchronously, batched (~40 ms idle, seconds under load, measured): until then the
   * interface still holds what it holds outside the sandbox — a macvlan its MAC on the
   * parent, so a restart with the same address fails with EADDRINUSE. Cheap ops only (no
   * deletes, which wait for RCU); best effort. Pure. Drivers with nothing shared return [].
   */
  planDrop(network: Network, endpoint: Endpoint, netns: string): KernelOp[];
}

/** Where and how an endpoint joins. */
export interface JoinContext {
  /** The sandbox: path of the container's netns bind mount. */
  readonly netns: string;
  /**
   * Name of the host-side interface (`veth` + 7 hex, new on every start: names are never reused
   * at once). Drivers whose interface has no host side (macvlan, ipvlan) create the link under
   * this name and rename it in the sandbox (see `planLinkInSandbox`).
   */
  readonly hostIfName: string;
  /** This endpoint gives the sandbox its default route(s). */
  readonly gateway: boolean;
}

/** IFLA_IFALIAS of an endpoint's host-side interface. */
export function endpointAlias(endpointId: string): string {
  return `${OWNER_ALIAS_PREFIX}ep:${endpointId}`;
}

/** IFLA_IFALIAS prefix marking links berth owns: `berth:net:<network id>`. */
export const OWNER_ALIAS_PREFIX = 'berth:';

/** Alias put on a network's own link (bridge, vxlan…). */
export function networkAlias(networkId: string): string {
  return `${OWNER_ALIAS_PREFIX}net:${networkId}`;
}

/** The network id in an alias written by `networkAlias`, else undefined. */
export function networkIdFromAlias(alias: string | undefined): string | undefined {
  const prefix = `${OWNER_ALIAS_PREFIX}net:`;
  return alias !== undefined && alias.startsWith(prefix) ? alias.slice(prefix.length) : undefined;
}
