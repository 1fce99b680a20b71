/**
 * The network half of the controller: create, remove, find, list, prune, and the start-up work
 * (predefined networks, reconcile with the kernel).
 *
 * Order of every change: validate everything → plan (pure) → apply to the kernel (undo in
 * reverse on failure) → commit to the store. A crash between apply and commit leaves only
 * kernel objects marked with our alias, which `reconcile` removes on the next start.
 */
import { BerthError, TeardownError, withContext } from '../errors.js';
import { getDriver } from '../drivers/registry.js';
import { networkAlias, networkIdFromAlias, type DriverContext } from '../drivers/types.js';
import { overlayVxlanName } from '../drivers/overlay/options.js';
import { OPT_BRIDGE_NAME, OPT_DEFAULT_BRIDGE, OPT_ENABLE_ICC, OPT_ENABLE_IP_MASQUERADE, OPT_HOST_BINDING_IPV4, OPT_MTU, DEFAULT_BRIDGE_NAME } from '../drivers/bridge/options.js';
import { resolvePools } from '../ipam/pools.js';
import { canonicalCidr } from '../model/cidr.js';
import type { DefaultPool, PoolRequest } from '../ipam/types.js';
import { applyAll, applyAllAsync } from '../kernel/ops.js';
import type { Kernel, KernelOp } from '../kernel/types.js';
import { PREDEFINED_NETWORK_NAMES, type DriverName, type IpamPool, type Network } from '../model/network.js';
import type { Store } from '../store/store.js';
import { matchAny, matchExact, matchLabels, type Filters } from './filters.js';
import { lookupByTerm, newId, nowRfc3339Nano } from './ids.js';
import type { Logger } from './log.js';

/** A network create request, already parsed from the API body. */
export interface NetworkCreateRequest {
  readonly name: string;
  readonly driver?: string;
  readonly scope?: string;
  readonly internal?: boolean;
  readonly attachable?: boolean;
  readonly ingress?: boolean;
  readonly configOnly?: boolean;
  readonly enableIPv4?: boolean;
  readonly enableIPv6?: boolean;
  readonly ipamDriver?: string;
  readonly ipamOptions?: Readonly<Record<string, string>>;
  readonly pools?: readonly PoolRequest[];
  readonly options?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Daemon settings the network controller needs. */
export interface NetworkConfig {
  readonly mtu: number;
  /** `--bip`: the default bridge's gateway/prefix, e.g. `172.17.0.1/16`. */
  readonly bip: string;
  readonly defaultPools: readonly DefaultPool[];
  readonly defaultPools6: readonly DefaultPool[];
}

/** Filters `GET /networks` accepts (moby daemon/network/filter.go). */
export const NETWORK_LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
/** Filters `POST /networks/prune` accepts. */
export const NETWORK_PRUNE_FILTERS = ['until', 'label', 'label!'] as const;

/**
 * What the network layer needs of the cluster for global networks (overlay); absent on a
 * single host. The cluster store is the authority: a global network exists once it is written
 * there, and every host (this one included) adopts it from there.
 */
export interface GlobalNetworkStore {
  /** This host's VXLAN tunnel endpoint (`--cluster-advertise`). */
  readonly advertise: string;
  /** Writes a new global network; `resolve` gets the subnets in use cluster-wide and returns its pools. */
  create(draft: Network, resolve: (subnetsInUse: readonly string[]) => IpamPool[]): Promise<Network>;
  /** Removes it everywhere; refused while any host still has an endpoint on it. */
  remove(networkId: string): Promise<void>;
  /** Tells the cluster this host's local subnets, which global networks then avoid. */
  publishLocalSubnets(subnets: readonly string[]): Promise<void>;
}

/**
 * Default pools of global networks: 10.0.0.0/8 in /24s, as Docker's swarm overlays. Kept apart
 * from the local pools so a global network never takes a subnet another host uses locally.
 */
export const GLOBAL_DEFAULT_POOLS: readonly DefaultPool[] = [{ base: '10.0.0.0/8', size: 24 }];

/** Something that knows which endpoints sit on a network (containers, in the next layer). */
export interface EndpointIndex {
  /** Endpoints on the network: name (container name) and 12-hex endpoint id for messages. */
  endpointsOn(networkId: string): readonly { readonly name: string; readonly id: string }[];
}

export class NetworkController {
  readonly #store: Store;
  readonly #kernel: Kernel;
  readonly #config: NetworkConfig;
  readonly #log: Logger;
  #endpoints: EndpointIndex = { endpointsOn: () => [] };
  #cluster: GlobalNetworkStore | undefined;
  /** Global networks not adopted because a local network has their name, by name. */
  readonly #blocked = new Map<string, Network>();
  /** The networks, kept in memory; the store is the durable copy (write-through). */
  readonly #networks = new Map<string, Network>();

  constructor(deps: { store: Store; kernel: Kernel; config: NetworkConfig; log: Logger }) {
    this.#store = deps.store;
    this.#kernel = deps.kernel;
    this.#config = deps.config;
    this.#log = deps.log;
    for (const n of this.#store.list<Network>('network')) this.#networks.set(n.id, n);
  }

  #onChange: () => Promise<void> = async () => undefined;

  /** Called after every network create/remove (observers follow the model). */
  setChangeListener(fn: () => Promise<void>): void {
    this.#onChange = fn;
  }

  /** Joins the cluster: global networks can be created and are adopted from it. */
  setCluster(cluster: GlobalNetworkStore): void {
    this.#cluster = cluster;
  }

  /** Subnets of this host's local networks. */
  localSubnets(): string[] {
    return this.all()
      .filter((n) => n.scope !== 'global')
      .flatMap((n) => n.pools.map((p) => p.subnet));
  }

  /** Publishes the local subnets to the cluster after a local change (best effort, logged). */
  async #publishLocal(): Promise<void> {
    if (this.#cluster === undefined) return;
    try {
      await this.#cluster.publishLocalSubnets(this.localSubnets());
    } catch (err) {
      this.#log.warn('could not publish local subnets to the cluster', { error: (err as Error).message });
    }
  }

  /** Lets the container layer tell which networks are in use. */
  setEndpointIndex(index: EndpointIndex): void {
    this.#endpoints = index;
  }

  get #ctx(): DriverContext {
    // The host view reads on demand: only macvlan/ipvlan ask it anything (parent links, link
    // types the kernel has, networks sharing a parent).
    const kernel = this.#kernel;
    const networks = (): Network[] => this.all();
    return {
      mtu: this.#config.mtu,
      host: { links: () => kernel.listLinks(null), supportsLinkKind: (kind) => kernel.linkKindSupported(null, kind), networks },
      ...(this.#cluster !== undefined ? { overlay: { advertise: this.#cluster.advertise } } : {}),
    };
  }

  /** All networks, in creation order. */
  all(): Network[] {
    return [...this.#networks.values()];
  }

  /** By full ID, exact name, or unique ID prefix; Docker's errors otherwise. */
  find(term: string): Network {
    const found = lookupByTerm(this.#networks.values(), term);
    switch (found.kind) {
      case 'found':
        return found.value;
      case 'ambiguous':
        throw new BerthError(
          'ERR_NETWORK_AMBIGUOUS',
          `network ${term} is ambiguous (${found.count} matches found based on ${found.by === 'name' ? 'name' : 'ID prefix'})`,
        );
      case 'none':
        throw new BerthError('ERR_NETWORK_NOT_FOUND', `network ${term} not found`);
    }
  }

  /** Start-up: make the predefined networks on a fresh root, then reconcile the kernel. */
  async init(): Promise<void> {
    const byName = new Map(this.all().map((n) => [n.name, n]));
    if (!byName.has('none')) await this.#createPredefined('none', 'null');
    if (!byName.has('host')) await this.#createPredefined('host', 'host');
    if (!byName.has('bridge')) await this.#createPredefined('bridge', 'bridge');
    this.#renewTunnels();
    this.reconcile();
  }

  /**
   * A VXLAN keeps the tunnel address it was made with, and a link listing does not show it: when
   * `--cluster-advertise` changed since the last start, the global networks' VXLANs go here and
   * `reconcile` makes them again with the new address (their peers are then programmed afresh).
   */
  #renewTunnels(): void {
    const advertise = this.#cluster?.advertise;
    if (advertise === undefined) return;
    const last = this.#store.get<{ advertise: string }>('meta', 'overlay')?.advertise;
    if (last === advertise) return;
    if (last !== undefined) {
      for (const n of this.all()) {
        if (n.scope !== 'global') continue;
        try {
          this.#kernel.linkDel(null, overlayVxlanName(n.id), networkAlias(n.id));
          this.#log.info('tunnel address changed: VXLAN re-made', { network: n.name, from: last, to: advertise });
        } catch (err) {
          this.#log.error('could not remove a VXLAN with the old tunnel address', { network: n.name, error: (err as Error).message });
        }
      }
    }
    this.#store.put('meta', 'overlay', { advertise });
  }

  async #createPredefined(name: string, driver: DriverName): Promise<void> {
    let pools: IpamPool[] = [];
    let options: Record<string, string> = {};
    if (driver === 'bridge') {
      // --bip names the gateway with its prefix (172.17.0.1/16): the subnet is its network.
      const [gateway = ''] = this.#config.bip.split('/');
      const subnet = resolvePools({
        requests: [{ subnet: canonicalCidr(this.#config.bip), gateway }],
        enableIPv4: true,
        enableIPv6: false,
        subnetsInUse: [],
        defaultPools: this.#config.defaultPools,
        defaultPools6: this.#config.defaultPools6,
        needsGateway: true,
      });
      pools = subnet.map((p) => ({ ...p, gatewayExplicit: false, fromDefaultPool: true }));
      options = {
        [OPT_DEFAULT_BRIDGE]: 'true',
        [OPT_ENABLE_ICC]: 'true',
        [OPT_ENABLE_IP_MASQUERADE]: 'true',
        [OPT_HOST_BINDING_IPV4]: '0.0.0.0',
        [OPT_BRIDGE_NAME]: DEFAULT_BRIDGE_NAME,
        [OPT_MTU]: String(this.#config.mtu),
      };
    }
    const network: Network = {
      id: newId(),
      name,
      driver,
      scope: 'local',
      created: nowRfc3339Nano(),
      internal: false,
      attachable: false,
      ingress: false,
      enableIPv4: driver === 'bridge',
      enableIPv6: false,
      ipamDriver: 'default',
      ipamOptions: {},
      pools,
      options,
      labels: {},
      predefined: true,
    };
    this.#commitNew(network);
  }

  /** `POST /networks/create`. Returns the new network. */
  async create(req: NetworkCreateRequest): Promise<Network> {
    // 1. Validate everything before the first side effect.
    const name = req.name;
    if (PREDEFINED_NETWORK_NAMES.includes(name)) {
      throw new BerthError('ERR_PREDEFINED_NETWORK', `operation is not permitted on predefined ${name} network `);
    }
    validateNetworkName(name);
    if (this.all().some((n) => n.name === name)) {
      throw new BerthError('ERR_NETWORK_EXISTS', `network with name ${name} already exists`);
    }
    const driverName = req.driver === undefined || req.driver === '' ? 'bridge' : req.driver;
    const driver = getDriver(driverName);
    if (driver.singleton && this.all().some((n) => n.driver === driver.name)) {
      throw new BerthError('ERR_SINGLETON_NETWORK', `only one instance of "${driver.name}" network is allowed`);
    }
    const ipamDriver = req.ipamDriver === undefined || req.ipamDriver === '' ? 'default' : req.ipamDriver;
    if (ipamDriver !== 'default') {
      throw new BerthError('ERR_DRIVER_NOT_FOUND', `plugin "${ipamDriver}" not found`);
    }
    const global = driver.name === 'overlay';
    const scope = global ? 'global' : 'local';
    if (req.scope !== undefined && req.scope !== '' && req.scope !== scope) {
      throw new BerthError('ERR_INVALID_PARAMETER', `scope "${req.scope}" is not supported by the ${driverName} driver: only "${scope}"`);
    }
    const enableIPv4 = req.enableIPv4 ?? true;
    const enableIPv6 = req.enableIPv6 ?? false;
    const requests = req.pools ?? [];
    let pools: IpamPool[] = [];
    if (global) {
      // Resolved by the cluster, against every global network's subnets (below).
    } else if (driver.usesIpam) {
      pools = resolvePools({
        requests,
        enableIPv4,
        enableIPv6,
        subnetsInUse: this.all().flatMap((n) => n.pools.map((p) => p.subnet)),
        defaultPools: this.#config.defaultPools,
        defaultPools6: this.#config.defaultPools6,
        needsGateway: true,
      });
    } else if (requests.length > 0) {
      throw new BerthError('ERR_INVALID_PARAMETER', `the ${driver.name} driver does not take IPAM configuration`);
    }
    const network: Network = {
      id: newId(),
      name,
      driver: driver.name,
      scope,
      created: nowRfc3339Nano(),
      internal: req.internal ?? false,
      attachable: req.attachable ?? false,
      ingress: req.ingress ?? false,
      enableIPv4: driver.usesIpam ? enableIPv4 : false,
      enableIPv6: driver.usesIpam ? enableIPv6 : false,
      ipamDriver,
      ipamOptions: { ...(req.ipamOptions ?? {}) },
      pools,
      options: { ...(req.options ?? {}) },
      labels: { ...(req.labels ?? {}) },
      predefined: false,
    };
    driver.validate(network, this.#ctx);
    if (global) return this.#createGlobal(network, requests);
    this.#checkBridgeNameFree(network);
    // 2–4. Plan, apply, commit.
    this.#commitNew(network);
    await this.#publishLocal();
    await this.#onChange();
    this.#log.info('network created', { id: network.id, name: network.name, driver: network.driver });
    return network;
  }

  /**
   * A global network: written to the cluster store first (name, VNI and subnet claimed there
   * with compare-and-swap), then adopted here like every other host adopts it from its watch.
   */
  async #createGlobal(draft: Network, requests: readonly PoolRequest[]): Promise<Network> {
    const cluster = this.#cluster;
    if (cluster === undefined) throw new BerthError('ERR_DRIVER_UNSUPPORTED', 'global networks need a cluster store (--cluster-store)');
    const local = this.localSubnets();
    const network = await cluster.create(draft, (subnetsInUse) =>
      resolvePools({
        requests,
        enableIPv4: draft.enableIPv4,
        enableIPv6: draft.enableIPv6,
        subnetsInUse: [...subnetsInUse, ...local],
        defaultPools: GLOBAL_DEFAULT_POOLS,
        defaultPools6: this.#config.defaultPools6,
        needsGateway: true,
      }),
    );
    getDriver(network.driver).validate(network, this.#ctx);
    // The watch may have adopted it already; if this host cannot make its links, the network
    // must not stay in the store under a name nobody can use or remove from here.
    if (!this.#networks.has(network.id)) {
      try {
        this.#commitNew(network);
      } catch (err) {
        await cluster.remove(network.id).catch((e: unknown) =>
          this.#log.error('could not undo a global network this host failed to create', { name: network.name, error: (e as Error).message }),
        );
        throw withContext(`create network ${network.name}`, err);
      }
    }
    await this.#onChange();
    this.#log.info('network created', { id: network.id, name: network.name, driver: network.driver, scope: 'global' });
    return this.find(network.id);
  }

  /**
   * Makes a global network exist on this host (its bridge and VXLAN), as the cluster store
   * has it. Idempotent; synchronous, so a watch event and the creating call cannot interleave.
   * Returns whether anything changed.
   */
  adoptGlobal(network: Network): boolean {
    if (this.#networks.has(network.id)) return false;
    const clash = this.all().find((n) => n.name === network.name);
    if (clash !== undefined) {
      // Adopted once the local network goes (see `remove`).
      this.#blocked.set(network.name, network);
      this.#log.error('cluster network not adopted: a local network has its name', { name: network.name, id: network.id, local: clash.id });
      return false;
    }
    this.#blocked.delete(network.name);
    try {
      this.#commitNew(network);
    } catch (err) {
      this.#log.error('cluster network not adopted', { name: network.name, error: (err as Error).message });
      return false;
    }
    this.#log.info('network adopted from the cluster', { id: network.id, name: network.name });
    return true;
  }

  /**
   * Removes a global network from this host once the cluster store no longer has it. Kept
   * (with an error) while local endpoints remain, which the store's CAS should never allow.
   */
  async dropGlobal(networkId: string): Promise<boolean> {
    for (const [name, n] of this.#blocked) if (n.id === networkId) this.#blocked.delete(name);
    const network = this.#networks.get(networkId);
    if (network === undefined || network.scope !== 'global') return false;
    if (this.#endpoints.endpointsOn(networkId).length > 0) {
      this.#log.error('cluster removed a network that still has local endpoints; kept here', { name: network.name });
      return false;
    }
    // Forgotten first (a second drop finds nothing), then the links, off the main thread: a
    // crash in between leaves links with our alias and no network, which reconcile removes.
    this.#store.delete('network', network.id);
    this.#networks.delete(network.id);
    try {
      await this.#teardownAsync(`remove network ${network.name}`, getDriver(network.driver).planRemove(network, this.#ctx));
    } catch (err) {
      this.#log.error('teardown of a removed cluster network', { name: network.name, error: (err as Error).message });
    }
    this.#log.info('network removed by the cluster', { id: network.id, name: network.name });
    return true;
  }

  /** After (re)joining the cluster: adopt what it has, drop global networks it no longer has. */
  async syncGlobal(present: readonly Network[]): Promise<void> {
    let changed = false;
    const ids = new Set(present.map((n) => n.id));
    for (const n of present) changed = this.adoptGlobal(n) || changed;
    for (const n of this.all()) if (n.scope === 'global' && !ids.has(n.id)) changed = (await this.dropGlobal(n.id)) || changed;
    if (changed) await this.#onChange();
  }

  /** A second network may not reuse a bridge name, and we never adopt a link that is not ours. */
  #checkBridgeNameFree(network: Network): void {
    if (network.driver !== 'bridge') return;
    const ops = getDriver('bridge').planCreate(network, this.#ctx);
    const first = ops[0];
    if (first?.kind !== 'link-add') return;
    const bridgeName = first.link.name;
    for (const other of this.all()) {
      if (other.driver !== 'bridge') continue;
      const otherOps = getDriver('bridge').planCreate(other, this.#ctx);
      const o = otherOps[0];
      if (o?.kind === 'link-add' && o.link.name === bridgeName) {
        throw new BerthError('ERR_NETWORK_EXISTS', `bridge name ${bridgeName} is already used by network ${other.name}`);
      }
    }
    const existing = this.#kernel.listLinks(null).find((l) => l.name === bridgeName);
    if (existing !== undefined) {
      throw new BerthError(
        'ERR_INVALID_PARAMETER',
        `a link named ${bridgeName} already exists and berth does not own it: choose another ${OPT_BRIDGE_NAME}`,
      );
    }
  }

  #commitNew(network: Network): void {
    const ops = getDriver(network.driver).planCreate(network, this.#ctx);
    try {
      applyAll(this.#kernel, ops);
    } catch (err) {
      throw withContext(`create network ${network.name}`, err);
    }
    try {
      this.#store.put('network', network.id, network);
    } catch (err) {
      this.#teardown(network.name, getDriver(network.driver).planRemove(network, this.#ctx));
      throw withContext(`create network ${network.name}`, err);
    }
    this.#networks.set(network.id, network);
  }

  /** `DELETE /networks/{id}`. */
  async remove(term: string): Promise<Network> {
    const network = this.find(term);
    if (network.predefined) {
      throw new BerthError('ERR_PREDEFINED_NETWORK', `${network.name} is a pre-defined network and cannot be removed`);
    }
    const eps = this.#endpoints.endpointsOn(network.id);
    if (eps.length > 0) {
      const list = eps.map((e) => `name:"${e.name}" id:"${e.id.slice(0, 12)}"`).join(', ');
      throw new BerthError(
        'ERR_NETWORK_IN_USE',
        `error while removing network: network ${network.name} has active endpoints (${list})`,
      );
    }
    if (network.scope === 'global') {
      // Everywhere at once: the store refuses while any host has an endpoint; every host
      // (this one too) then drops its bridge and VXLAN.
      if (this.#cluster === undefined) throw new BerthError('ERR_CLUSTER', `network ${network.name} is global and this daemon is not in a cluster`);
      await this.#cluster.remove(network.id);
      if (await this.dropGlobal(network.id)) await this.#onChange();
      return network;
    }
    // Kernel first, then the store: a crash in between leaves the network stored and its
    // bridge re-created on restart, so an unacknowledged rm never half-happens.
    await this.#teardownAsync(`remove network ${network.name}`, getDriver(network.driver).planRemove(network, this.#ctx));
    this.#store.delete('network', network.id);
    this.#networks.delete(network.id);
    const waiting = this.#blocked.get(network.name);
    if (waiting !== undefined) this.adoptGlobal(waiting);
    await this.#publishLocal();
    await this.#onChange();
    this.#log.info('network removed', { id: network.id, name: network.name });
    return network;
  }

  /** `#teardown` with link deletes off the main thread (they wait for RCU in the kernel). */
  async #teardownAsync(what: string, ops: readonly KernelOp[]): Promise<void> {
    const errors: Error[] = [];
    for (const op of ops) {
      try {
        await applyAllAsync(this.#kernel, [op]);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    if (errors.length > 0) throw new TeardownError(what, errors);
  }

  /** Runs teardown ops, all of them, collecting failures ("already gone" is success). */
  #teardown(what: string, ops: readonly KernelOp[]): void {
    const errors: Error[] = [];
    for (const op of ops) {
      try {
        applyAll(this.#kernel, [op]);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    if (errors.length > 0) throw new TeardownError(what, errors);
  }

  /** `GET /networks` with Docker's filters. */
  list(filters: Filters): Network[] {
    let out = this.all();
    const get = (k: string): readonly string[] | undefined => {
      const v = filters.get(k);
      return v === undefined || v.length === 0 ? undefined : v;
    };
    const driver = get('driver');
    const name = get('name');
    const id = get('id');
    const label = get('label');
    const scope = get('scope');
    if (driver) out = out.filter((n) => matchExact(driver, n.driver));
    if (name) out = out.filter((n) => matchAny(name, n.name));
    if (id) out = out.filter((n) => matchAny(id, n.id));
    if (label) out = out.filter((n) => matchLabels(label, n.labels));
    if (scope) out = out.filter((n) => matchExact(scope, n.scope));
    const dangling = filters.get('dangling');
    if (dangling !== undefined && dangling.length > 0) {
      if (dangling.length > 1) throw new BerthError('ERR_INVALID_PARAMETER', 'got more than one value for filter key "dangling"');
      const v = dangling[0];
      let only: boolean;
      if (v === '1' || v === 'true') only = true;
      else if (v === '0' || v === 'false') only = false;
      else {
        throw new BerthError(
          'ERR_INVALID_PARAMETER',
          `invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`,
        );
      }
      out = out.filter((n) => {
        const unused = !n.predefined && this.#endpoints.endpointsOn(n.id).length === 0;
        return only ? unused : !unused;
      });
    }
    const types = get('type');
    if (types) {
      const keep = new Set<Network>();
      for (const t of types) {
        if (t !== 'builtin' && t !== 'custom') throw new BerthError('ERR_INVALID_PARAMETER', `invalid filter: 'type'='${t}'`);
        for (const n of out) if (n.predefined === (t === 'builtin')) keep.add(n);
      }
      out = out.filter((n) => keep.has(n));
    }
    return out;
  }

  /** `POST /networks/prune`: removes unused user networks; returns their names. */
  async prune(filters: Filters): Promise<string[]> {
    const until = filters.get('until');
    let cutoff: number | undefined;
    if (until !== undefined && until.length > 0) cutoff = parseUntil(until[0] as string);
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const removed: string[] = [];
    for (const n of this.all()) {
      if (n.predefined || this.#endpoints.endpointsOn(n.id).length > 0) continue;
      if (cutoff !== undefined && Date.parse(n.created) >= cutoff) continue;
      if (labels.length > 0 && !matchLabels(labels, n.labels)) continue;
      if (notLabels.length > 0 && notLabels.some((l) => matchLabels([l], n.labels))) continue;
      try {
        await this.remove(n.id);
        removed.push(n.name);
      } catch (err) {
        this.#log.warn('prune: could not remove network', { name: n.name, error: (err as Error).message });
      }
    }
    return removed;
  }

  /**
   * Brings the kernel in line with the store: re-creates missing bridges and addresses, and
   * deletes links carrying our alias whose network no longer exists. Never touches links
   * without our alias.
   */
  reconcile(): void {
    const links = this.#kernel.listLinks(null);
    const addrs = this.#kernel.listAddrs(null);
    for (const network of this.all()) {
      if (network.scope === 'global' && this.#cluster === undefined) {
        this.#log.warn('reconcile: global network kept as is, this daemon is not in a cluster', { name: network.name });
        continue;
      }
      const ops = getDriver(network.driver).planReconcile(network, this.#ctx, { links, addrs });
      if (ops.length === 0) continue;
      try {
        applyAll(this.#kernel, ops);
        this.#log.info('reconcile: repaired network', { name: network.name, ops: ops.length });
      } catch (err) {
        this.#log.error('reconcile: could not repair network', { name: network.name, error: (err as Error).message });
      }
    }
    for (const link of links) {
      const owner = networkIdFromAlias(link.alias);
      if (owner === undefined || this.#networks.has(owner)) continue;
      try {
        this.#kernel.linkDel(null, link.name);
        this.#log.info('reconcile: removed orphan link', { link: link.name, network: owner });
      } catch (err) {
        this.#log.error('reconcile: could not remove orphan link', { link: link.name, error: (err as Error).message });
      }
    }
  }
}

/**
 * Network names: Docker's container-name characters, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255
 * bytes. Docker itself accepts almost any string; berth refuses the rest (spaces, '/', shell
 * metacharacters, control characters) because names show up in kernel aliases, DNS
 * (`name.network`) and admins' scripts.
 */
function validateNetworkName(name: string): void {
  if (name === '') throw new BerthError('ERR_INVALID_PARAMETER', 'invalid name: name is empty');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > 255) {
    throw new BerthError(
      'ERR_INVALID_PARAMETER',
      `invalid network name ${JSON.stringify(name.slice(0, 64))}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
}

/** `until` as Docker takes it: a Unix timestamp, an RFC 3339 date, or a Go duration ago. */
function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const m = /^(\d+)(h|m|s)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * { h: 3600_000, m: 60_000, s: 1000 }[m[2] as 'h' | 'm' | 's'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new BerthError('ERR_INVALID_PARAMETER', `failed to parse value as time or duration: "${v}"`);
  return t;
}
