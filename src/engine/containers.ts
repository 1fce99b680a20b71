/**
 * The container half of the controller: create, start, stop, restart, remove, connect,
 * disconnect, and re-attaching to running containers after a daemon restart.
 *
 * Endpoints (and so addresses) are reserved when a container is created or connected and held
 * until it is removed or disconnected; the sandbox — the container's netns with its interfaces
 * — exists only while the container runs. Order of a start: validate → plan the sandbox (pure) →
 * apply (undo on failure) → files → runc → commit the state.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BerthError, invalid, withContext } from '../errors.js';
import { getDriver } from '../drivers/registry.js';
import type { DriverContext } from '../drivers/types.js';
import { allocateAddress } from '../ipam/allocator.js';
import { applyAll, applyAllAsync } from '../kernel/ops.js';
import type { Kernel, KernelOp } from '../kernel/types.js';
import { macFromIPv4 } from '../model/cidr.js';
import {
  ZERO_TIME,
  type Container,
  type ContainerConfig,
  type ContainerState,
  type Endpoint,
  type EndpointRequest,
  type HostConfig,
} from '../model/container.js';
import type { Network } from '../model/network.js';
import type { AnnouncedEndpoint } from '../cluster/types.js';
import { renderOciSpec, resolveProcessArgs, mergeEnv, defaultCgroupsPath, type NetworkNamespace } from '../runtime/bundle.js';
import { getImage } from '../runtime/images.js';
import { containerDir, layerPaths, mountLayer, removeLayer, unmountLayer } from '../runtime/layers.js';
import type { RuncRuntime } from '../runtime/runc.js';
import type { Store } from '../store/store.js';
import { renderHosts, renderResolvConf } from './container-files.js';
import { lookupByTerm, newId, nowRfc3339Nano } from './ids.js';
import type { Logger } from './log.js';
import type { NetworkController } from './networks.js';
import { chooseGateway, inInterfaceOrder, newHostIfName, nextIfName, planSandboxDrop, planSandboxSetup, type Attachment } from './sandbox.js';
import { planGatewayRoutes } from '../drivers/bridge/plan.js';
import { randomName } from './names.js';
import type { ModelObserver, ModelSnapshot } from './observers.js';

/** Endpoint settings as a create/connect request carries them (Docker's EndpointSettings). */
export interface EndpointConfigRequest {
  readonly aliases?: readonly string[];
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  readonly macAddress?: string;
  readonly links?: readonly string[];
  readonly driverOpts?: Readonly<Record<string, string>>;
}

/** A parsed `POST /containers/create`. */
export interface ContainerCreateRequest {
  readonly name?: string;
  readonly image: string;
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[] | null;
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly tty?: boolean;
  readonly openStdin?: boolean;
  readonly hostname?: string;
  readonly domainname?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly exposedPorts?: readonly string[];
  readonly macAddress?: string;
  readonly hostConfig: Partial<HostConfig>;
  /** NetworkingConfig.EndpointsConfig: network name/id → settings. */
  readonly endpoints: Readonly<Record<string, EndpointConfigRequest>>;
}

/** Daemon settings the container controller needs. */
export interface ContainerConfigDeps {
  readonly root: string;
  readonly execRoot: string;
  readonly mtu: number;
  /** `berthd --dns`. */
  readonly dns: readonly string[];
}

/**
 * What the container layer needs of the cluster for endpoints on global (overlay) networks:
 * addresses claimed cluster-wide, and running endpoints announced so other hosts program their
 * VXLAN and DNS. Absent on a single host.
 */
export interface GlobalEndpointStore {
  readonly hostId: string;
  /** This host's VXLAN tunnel endpoint. */
  readonly advertise: string;
  /** Claims `want` or the first free IPv4 address of the network; returns it without prefix. */
  claimAddress(networkId: string, claim: { endpointId: string; containerName: string; want?: string }): Promise<string>;
  releaseAddress(networkId: string, ip: string, endpointId: string): Promise<void>;
  announce(ep: AnnouncedEndpoint): Promise<void>;
  withdraw(networkId: string, endpointId: string): Promise<void>;
  /** Endpoints other hosts announce (for the embedded DNS). */
  remote(): AnnouncedEndpoint[];
}

/** The local bridge network overlay containers leave through (Docker's name). */
export const GWBRIDGE_NETWORK = 'docker_gwbridge';

/** Docker's rule for container names. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** What is running: the sandbox of a running container (not stored: the kernel has it). */
interface Live {
  /** The netns path, for sandboxes berth made (none for host and container: modes). */
  readonly netns: string | undefined;
}

export class ContainerController {
  readonly #store: Store;
  readonly #kernel: Kernel;
  readonly #networks: NetworkController;
  readonly #runtime: RuncRuntime;
  readonly #cfg: ContainerConfigDeps;
  readonly #log: Logger;
  readonly #containers = new Map<string, Container>();
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #live = new Map<string, Live>();
  /**
   * Sandboxes of containers being started (made, process not yet running). Observers see them
   * as sandboxes: a sync that runs meanwhile — a cluster event, outside the serial queue —
   * would otherwise close the DNS sockets `sandboxReady` just opened, and the container's
   * first query would be refused.
   */
  readonly #starting = new Map<string, string>();
  /** Serialises every change: one at a time is simple and fast enough (each is a few ms). */
  #queue: Promise<unknown> = Promise.resolve();
  #order = 0;
  /** `exit` (id, code) and `removed` (id) for waiters. */
  readonly #events = new EventEmitter();
  readonly #lastExit = new Map<string, number>();
  readonly #observers: ModelObserver[] = [];
  #cluster: GlobalEndpointStore | undefined;

  constructor(deps: {
    store: Store;
    kernel: Kernel;
    networks: NetworkController;
    runtime: RuncRuntime;
    config: ContainerConfigDeps;
    log: Logger;
  }) {
    this.#store = deps.store;
    this.#kernel = deps.kernel;
    this.#networks = deps.networks;
    this.#runtime = deps.runtime;
    this.#cfg = deps.config;
    this.#log = deps.log;
    for (const c of this.#store.list<Container>('container')) this.#containers.set(c.id, c);
    for (const e of this.#store.list<Endpoint>('endpoint')) {
      this.#endpoints.set(e.id, e);
      this.#order = Math.max(this.#order, e.order);
    }
    this.#networks.setEndpointIndex({
      endpointsOn: (networkId) =>
        [...this.#endpoints.values()]
          .filter((e) => e.networkId === networkId)
          .map((e) => ({ name: this.#containers.get(e.containerId)?.name ?? e.containerId, id: e.id })),
    });
  }

  /** Joins the cluster: endpoints on global networks are claimed and announced there. */
  setCluster(cluster: GlobalEndpointStore): void {
    this.#cluster = cluster;
  }

  /** Adds a service that follows the model (see observers.ts). */
  addObserver(o: ModelObserver): void {
    this.#observers.push(o);
  }

  /** The whole model as data. */
  snapshot(): ModelSnapshot {
    const sandboxes = new Map<string, string>();
    for (const [id, live] of this.#live) if (live.netns !== undefined) sandboxes.set(id, live.netns);
    for (const [id, netns] of this.#starting) sandboxes.set(id, netns);
    return {
      networks: this.#networks.all(),
      containers: this.all(),
      endpoints: [...this.#endpoints.values()],
      sandboxes,
      remote: this.#cluster?.remote() ?? [],
    };
  }

  /**
   * Tells every observer about a change and waits for them, so that when an API call returns
   * the firewall and DNS already follow it. Their failures are logged; they never undo the
   * change (the observer catches up on the next one).
   */
  async #changed(): Promise<void> {
    const s = this.snapshot();
    await Promise.all(
      this.#observers.map(async (o) => {
        try {
          await o.sync(s);
        } catch (err) {
          this.#log.error('observer failed to follow a change', { observer: o.name, error: (err as Error).message });
        }
      }),
    );
  }

  /** For changes made elsewhere (network create/remove) and at start-up. */
  notifyObservers(): Promise<void> {
    return this.#changed();
  }

  get #ctx(): DriverContext {
    return { mtu: this.#cfg.mtu };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  // ---------------------------------------------------------------------------------------
  // Reads

  all(): Container[] {
    return [...this.#containers.values()];
  }

  /** By full ID, exact name (with or without '/'), or unique ID prefix. */
  find(term: string): Container {
    const found = lookupByTerm(this.#containers.values(), term.startsWith('/') ? term.slice(1) : term);
    if (found.kind === 'found') return found.value;
    if (found.kind === 'ambiguous') {
      throw new BerthError('ERR_INVALID_PARAMETER', `multiple IDs found with provided prefix: ${term}`);
    }
    throw new BerthError('ERR_CONTAINER_NOT_FOUND', `No such container: ${term}`);
  }

  /** Endpoints of a container, in interface order. */
  endpointsOf(containerId: string): Endpoint[] {
    return [...this.#endpoints.values()].filter((e) => e.containerId === containerId).sort((a, b) => a.order - b.order);
  }

  /** Endpoints of running containers on a network (network inspect `Containers`). */
  runningOn(networkId: string): { container: Container; endpoint: Endpoint }[] {
    const out: { container: Container; endpoint: Endpoint }[] = [];
    for (const e of this.#endpoints.values()) {
      const c = this.#containers.get(e.containerId);
      if (e.networkId === networkId && c?.state.status === 'running') out.push({ container: c, endpoint: e });
    }
    return out;
  }

  /** The netns path of a running container's sandbox (for DNS and tests). */
  sandboxOf(containerId: string): string | undefined {
    return this.#live.get(containerId)?.netns;
  }

  /** The container whose netns this container shares (`container:` mode), if any. */
  ownerOf(c: Container): Container | undefined {
    const mode = c.hostConfig.networkMode;
    if (!mode.startsWith('container:')) return undefined;
    try {
      return this.find(mode.slice('container:'.length));
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Create

  create(req: ContainerCreateRequest): Promise<{ container: Container; warnings: string[] }> {
    return this.#serial(async () => {
      const warnings: string[] = [];
      // 1. Validate everything.
      const name = req.name === undefined || req.name === '' ? this.#freeName() : req.name.replace(/^\//, '');
      if (!NAME_RE.test(name)) {
        throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      const clash = this.all().find((c) => c.name === name);
      if (clash !== undefined) {
        throw new BerthError(
          'ERR_CONTAINER_EXISTS',
          `Conflict. The container name "/${name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      const image = await getImage(this.#cfg.root, req.image);
      const hc = normaliseHostConfig(req.hostConfig);
      const mode = hc.networkMode;
      const isContainerMode = mode.startsWith('container:');
      let ownerForMode: Container | undefined;
      if (isContainerMode) {
        if (Object.keys(hc.portBindings).length > 0 || hc.publishAllPorts) {
          throw invalid('conflicting options: port publishing and the container type network mode');
        }
        if ((req.hostname ?? '') !== '') throw invalid('conflicting options: hostname and the network mode');
        if (hc.dns.length > 0) throw invalid('conflicting options: dns and the network mode');
        if (hc.extraHosts.length > 0) throw invalid('conflicting options: custom host-to-IP mapping and the network mode');
        if ((req.macAddress ?? '') !== '') throw invalid('conflicting options: mac-address and the network mode');
        ownerForMode = this.find(mode.slice('container:'.length));
      }
      if (mode === 'host' && Object.keys(hc.portBindings).length > 0) {
        warnings.push('Published ports are discarded when using host network mode');
      }
      // The networks to join: the mode's network first, then any other EndpointsConfig entry.
      const requests: { network: Network; req: EndpointConfigRequest }[] = [];
      if (!isContainerMode) {
        const primary = this.#networks.find(mode);
        const primaryReq =
          req.endpoints[mode] ??
          (primary.name === 'bridge' ? req.endpoints['default'] : undefined) ??
          req.endpoints[primary.name] ??
          req.endpoints[primary.id] ??
          {};
        requests.push({ network: primary, req: { ...primaryReq, macAddress: primaryReq.macAddress ?? req.macAddress } });
        for (const [term, epReq] of Object.entries(req.endpoints)) {
          // docker keys the mode's own entry by the mode name, `default` for the default bridge.
          const n = this.#networks.find(term === 'default' ? 'bridge' : term);
          if (requests.some((r) => r.network.id === n.id)) continue;
          requests.push({ network: n, req: epReq });
        }
        if (requests.some((r) => r.network.driver === 'host' || r.network.driver === 'null') && requests.length > 1) {
          throw invalid('container cannot be connected to multiple networks with one of the networks in private (none) mode');
        }
      }
      const id = newId();
      const config: ContainerConfig = {
        image: req.image,
        imageId: image.id,
        cmd: req.cmd ?? (req.entrypoint === undefined || req.entrypoint === null ? (image.config.Cmd ?? []) : []),
        entrypoint: req.entrypoint === undefined ? (image.config.Entrypoint ?? null) : req.entrypoint,
        env: mergeEnv(image.config.Env ?? [], req.env ?? []),
        workingDir: req.workingDir || image.config.WorkingDir || '',
        user: req.user ?? '',
        tty: req.tty ?? false,
        openStdin: req.openStdin ?? false,
        // container: mode shares the owner's hostname (moby initializeNetworking); host mode the host's.
        hostname: ownerForMode?.config.hostname ?? (req.hostname || (mode === 'host' ? os.hostname() : id.slice(0, 12))),
        domainname: ownerForMode?.config.domainname ?? req.domainname ?? '',
        labels: { ...(image.config.Labels ?? {}), ...(req.labels ?? {}) },
        exposedPorts: [...new Set([...Object.keys(image.config.ExposedPorts ?? {}), ...(req.exposedPorts ?? [])])],
      };
      if ((config.entrypoint ?? []).length + config.cmd.length === 0) throw invalid('No command specified');
      const container: Container = {
        id,
        name,
        created: nowRfc3339Nano(),
        config,
        hostConfig: hc,
        state: { status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
        restartCount: 0,
      };
      // 2. Reserve endpoints (addresses), all validated before anything is stored.
      const endpoints: Endpoint[] = [];
      try {
        for (const r of requests) endpoints.push(await this.#planEndpoint(container, r.network, r.req, [...endpoints]));
        const gw = this.#gwbridgeNeeded(endpoints);
        if (gw !== undefined) endpoints.push({ ...(await this.#planEndpoint(container, gw, {}, [...endpoints])), hidden: true });
        // 3. Commit.
        this.#store.transaction(() => {
          this.#store.put('container', id, container);
          for (const e of endpoints) this.#store.put('endpoint', e.id, e);
        });
      } catch (err) {
        await this.#releaseGlobal(endpoints);
        throw err;
      }
      this.#containers.set(id, container);
      for (const e of endpoints) this.#endpoints.set(e.id, e);
      fsPrepare(containerDir(this.#cfg.root, id));
      this.#log.info('container created', { id, name, network: mode });
      return { container, warnings };
    });
  }

  #freeName(): string {
    for (;;) {
      const n = randomName();
      if (!this.all().some((c) => c.name === n)) return n;
    }
  }

  /**
   * The egress network an overlay container needs: `docker_gwbridge`, when one of its
   * endpoints is on a (non-internal) overlay network and none of them gives a default route.
   */
  #gwbridgeNeeded(endpoints: readonly Endpoint[]): Network | undefined {
    const attachments = endpoints.map((endpoint) => ({ endpoint, network: this.#networkById(endpoint.networkId) }));
    if (!attachments.some((a) => a.network.driver === 'overlay' && !a.network.internal)) return undefined;
    if (chooseGateway(attachments) !== undefined) return undefined;
    return this.#networks.all().find((n) => n.name === GWBRIDGE_NETWORK);
  }

  /** An endpoint whose address was claimed in the cluster store (on a global network). */
  #claimedInCluster(e: Endpoint): e is Endpoint & { readonly ipv4: string } {
    return e.ipv4 !== undefined && this.#findNetwork(e.networkId)?.scope === 'global';
  }

  /** Gives back the cluster-wide addresses of endpoints on global networks (best effort). */
  async #releaseGlobal(endpoints: readonly Endpoint[]): Promise<void> {
    const cluster = this.#cluster;
    if (cluster === undefined) return;
    for (const e of endpoints) {
      if (!this.#claimedInCluster(e)) continue;
      try {
        await cluster.releaseAddress(e.networkId, e.ipv4.split('/')[0] as string, e.id);
      } catch (err) {
        this.#log.warn('release cluster address', { endpoint: e.id, error: (err as Error).message });
      }
    }
  }

  /** Announces (or withdraws) a container's running endpoints on global networks. */
  async #announce(c: Container, on: boolean): Promise<void> {
    const cluster = this.#cluster;
    if (cluster === undefined) return;
    for (const e of this.endpointsOf(c.id)) {
      const network = this.#findNetwork(e.networkId);
      if (network?.scope !== 'global') continue;
      try {
        if (on) {
          await cluster.announce({
            networkId: e.networkId,
            endpointId: e.id,
            containerId: c.id,
            name: c.name,
            aliases: e.aliases,
            shortId: c.id.slice(0, 12),
            ...(e.ipv4 !== undefined ? { ipv4: e.ipv4 } : {}),
            mac: e.mac,
            hostId: cluster.hostId,
            vtep: cluster.advertise,
          });
        } else {
          await cluster.withdraw(e.networkId, e.id);
        }
      } catch (err) {
        if (on) throw withContext(`announce ${c.name} on ${network.name}`, err);
        this.#log.warn('withdraw from the cluster', { container: c.name, network: network.name, error: (err as Error).message });
      }
    }
  }

  /**
   * After the daemon (re)joined the cluster: claims again every address of an endpoint on a
   * global network (the lease they were on may have expired while the daemon was down) and
   * re-announces the running ones.
   */
  async rejoinCluster(): Promise<void> {
    const cluster = this.#cluster;
    if (cluster === undefined) return;
    await this.#serial(async () => {
      for (const c of this.all()) {
        for (const e of this.endpointsOf(c.id)) {
          if (!this.#claimedInCluster(e)) continue;
          try {
            await cluster.claimAddress(e.networkId, { endpointId: e.id, containerName: c.name, want: e.ipv4.split('/')[0] as string });
          } catch (err) {
            this.#log.error('rejoin: could not claim an address again', { container: c.name, address: e.ipv4, error: (err as Error).message });
          }
        }
        if (c.state.status === 'running') {
          try {
            await this.#announce(c, true);
          } catch (err) {
            this.#log.error('rejoin: could not announce', { container: c.name, error: (err as Error).message });
          }
        }
      }
    });
  }

  /** Validates a join and allocates its addresses and interface name (global networks: in the cluster store). */
  async #planEndpoint(container: Container, network: Network, req: EndpointConfigRequest, pending: readonly Endpoint[]): Promise<Endpoint> {
    const userDefined = !network.predefined;
    if (!userDefined && network.name === 'bridge') {
      if ((req.ipv4Address ?? '') !== '' || (req.ipv6Address ?? '') !== '') {
        throw invalid('user specified IP address is supported on user defined networks only');
      }
      if ((req.aliases ?? []).length > 0) {
        throw invalid('network-scoped alias is supported only for containers in user defined networks');
      }
    }
    if (network.name !== 'bridge' && (req.links ?? []).length > 0 && network.predefined) {
      throw invalid('links are only supported for user-defined networks');
    }
    const existing = [...this.endpointsOf(container.id), ...pending];
    if (existing.some((e) => e.networkId === network.id)) {
      throw new BerthError('ERR_ENDPOINT_EXISTS', `endpoint with name ${container.name} already exists in network ${network.name}`);
    }
    const inUse = new Set<string>();
    for (const e of [...this.#endpoints.values(), ...pending]) {
      if (e.networkId !== network.id) continue;
      if (e.ipv4 !== undefined) inUse.add(e.ipv4);
      if (e.ipv6 !== undefined) inUse.add(e.ipv6);
    }
    let ipv4: string | undefined;
    let ipv6: string | undefined;
    const pool4 = network.pools.find((p) => !p.subnet.includes(':'));
    const pool6 = network.pools.find((p) => p.subnet.includes(':'));
    let mac = req.macAddress ?? '';
    if (mac !== '' && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw invalid(`invalid MAC address: ${mac}`);
    const endpointId = newId();
    if (pool4 !== undefined && network.enableIPv4 && network.scope === 'global') {
      // Every host allocates on a global network: the address is claimed in the cluster store.
      if (this.#cluster === undefined) throw new BerthError('ERR_CLUSTER', `network ${network.name} is global and this daemon is not in a cluster`);
      const want = req.ipv4Address || undefined;
      const ip = await this.#cluster.claimAddress(network.id, { endpointId, containerName: container.name, ...(want !== undefined ? { want } : {}) });
      ipv4 = `${ip}/${pool4.subnet.split('/')[1]}`;
    } else if (pool4 !== undefined && network.enableIPv4) {
      const want = req.ipv4Address || undefined;
      ipv4 = `${allocateAddress(pool4, inUse, want)}/${pool4.subnet.split('/')[1]}`;
    } else if ((req.ipv4Address ?? '') !== '') {
      throw invalid(`no configured subnet or ip-range contain the IP address ${req.ipv4Address}`);
    }
    if (pool6 !== undefined && network.enableIPv6) {
      ipv6 = `${allocateAddress(pool6, inUse, req.ipv6Address || undefined)}/${pool6.subnet.split('/')[1]}`;
    } else if ((req.ipv6Address ?? '') !== '') {
      throw invalid(`no configured subnet or ip-range contain the IP address ${req.ipv6Address}`);
    }
    if (mac === '' && ipv4 !== undefined) mac = macFromIPv4(ipv4.split('/')[0] as string);
    if (mac === '' && (network.driver === 'bridge')) mac = randomMac();
    const hasInterface = network.driver !== 'host' && network.driver !== 'null';
    return {
      id: endpointId as Endpoint['id'],
      networkId: network.id,
      containerId: container.id,
      ifName: hasInterface ? nextIfName(existing.filter((e) => e.ifName !== '')) : '',
      mac: mac.toLowerCase(),
      ...(ipv4 !== undefined ? { ipv4 } : {}),
      ...(ipv6 !== undefined ? { ipv6 } : {}),
      aliases: [...(req.aliases ?? [])],
      links: [...(req.links ?? [])],
      order: ++this.#order,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Start / stop

  /** Starts a container; false when it was already running (Docker answers 304). */
  start(term: string): Promise<boolean> {
    return this.#serial(() => this.#start(this.find(term)));
  }

  async #start(c: Container): Promise<boolean> {
    if (c.state.status === 'running') return false;
    const image = await getImage(this.#cfg.root, c.config.imageId);
    const undo: (() => Promise<void> | void)[] = [];
    try {
      // 0. Observers may refuse (a published host port already taken).
      // One snapshot for every observer: building it copies the whole model (start is a hot path).
      const before = this.snapshot();
      for (const o of this.#observers) await o.beforeStart?.(c, before);
      // 1. The sandbox.
      let network: NetworkNamespace;
      let netns: string | undefined;
      const mode = c.hostConfig.networkMode;
      if (mode === 'host') {
        network = { kind: 'host' };
      } else if (mode.startsWith('container:')) {
        const owner = this.find(mode.slice('container:'.length));
        const ownerNs = this.#live.get(owner.id)?.netns;
        if (owner.state.status !== 'running' || ownerNs === undefined) {
          throw new BerthError('ERR_CONTAINER_STATE', `cannot join network namespace of a non running container: ${owner.id}`);
        }
        network = { kind: 'path', path: ownerNs };
      } else {
        netns = this.#netnsPath(c.id);
        const attachments = this.#attachments(c.id);
        const ops = planSandboxSetup(netns, attachments, new Map(), this.#ctx);
        try {
          applyAll(this.#kernel, ops);
        } catch (err) {
          throw withContext(`start container ${c.name}: set up network`, err);
        }
        const ns = netns;
        undo.push(() => this.#dropSandbox(ns, c.id));
        // Services that serve the sandbox from inside it (the embedded DNS binds 127.0.0.11:53
        // there) get ready before the process starts, so its very first query is answered; if
        // the start fails, the sync in the undo lets them let go (once it is no longer starting:
        // undo runs newest first).
        undo.push(() => this.#changed());
        this.#starting.set(c.id, ns);
        undo.push(() => void this.#starting.delete(c.id));
        const ready = this.snapshot();
        for (const o of this.#observers) await o.sandboxReady?.(c, ns, ready);
        network = { kind: 'path', path: netns };
        // Other hosts program their VXLAN and DNS from the announcement; it goes before the
        // process starts so its first packets to them have a way back.
        undo.push(() => this.#announce(c, false));
        await this.#announce(c, true);
      }
      // 2. Files and the writable layer.
      const dir = containerDir(this.#cfg.root, c.id);
      fsPrepare(dir);
      this.#writeFiles(c);
      const layer = layerPaths(this.#cfg.root, c.id, image.rootfs);
      await mountLayer(layer);
      undo.push(() => unmountLayer(layer));
      // 3. The process.
      const spec = renderOciSpec({
        rootfs: layer.merged,
        args: resolveProcessArgs({}, { entrypoint: c.config.entrypoint ?? [], cmd: c.config.cmd }),
        env: c.config.env,
        cwd: c.config.workingDir,
        hostname: c.config.hostname,
        network,
        files: {
          hosts: path.join(dir, 'hosts'),
          resolvConf: path.join(dir, 'resolv.conf'),
          hostname: path.join(dir, 'hostname'),
        },
        cgroupsPath: defaultCgroupsPath(c.id),
      });
      const started = await this.#runtime.start(c.id, spec, { tty: c.config.tty, openStdin: c.config.openStdin });
      const state: ContainerState = {
        status: 'running',
        pid: started.pid,
        exitCode: 0,
        error: '',
        startedAt: nowRfc3339Nano(),
        finishedAt: c.state.finishedAt,
      };
      this.#live.set(c.id, { netns });
      this.#starting.delete(c.id);
      this.#update({ ...c, state });
      this.#watchExit(c.id);
      await this.#changed();
      this.#log.info('container started', { id: c.id, name: c.name, pid: started.pid });
      return true;
    } catch (err) {
      for (const u of undo.reverse()) {
        try {
          await u();
        } catch (e) {
          this.#log.error('undo after failed start', { container: c.name, error: (e as Error).message });
        }
      }
      throw err instanceof BerthError ? err : withContext(`start container ${c.name}`, err);
    }
  }

  #netnsPath(id: string): string {
    return path.join(this.#cfg.execRoot, 'netns', id.slice(0, 12));
  }

  #attachments(containerId: string): Attachment[] {
    return this.endpointsOf(containerId).map((endpoint) => ({ endpoint, network: this.#networkById(endpoint.networkId) }));
  }

  #findNetwork(id: string): Network | undefined {
    return this.#networks.all().find((x) => x.id === id);
  }

  #networkById(id: string): Network {
    const n = this.#findNetwork(id);
    if (n === undefined) throw new BerthError('ERR_NETWORK_NOT_FOUND', `network ${id} not found`);
    return n;
  }

  /**
   * Removes a sandbox. Dropping the netns is enough (the kernel destroys the veth pairs, batched,
   * in ~40 ms, without blocking us — KERNEL-NOTES "Teardown") unless another container shares
   * it (`container:` mode): its process keeps the netns alive, so our interfaces go explicitly.
   */
  #dropSandbox(netns: string, containerId: string): void {
    const joiners = this.all().filter((o) => o.state.status === 'running' && this.ownerOf(o)?.id === containerId);
    const errors: Error[] = [];
    if (joiners.length > 0) {
      for (const e of this.endpointsOf(containerId)) {
        if (e.ifName === '') continue;
        try {
          this.#kernel.linkDel(netns, e.ifName);
        } catch (err) {
          errors.push(err as Error);
        }
      }
    } else {
      // Interfaces that must let go at once (a macvlan holds its MAC on the parent until the
      // kernel destroys the dropped netns, 1–2.6 s later under load: a restart on the same
      // address would fail with EADDRINUSE). Bridge endpoints plan nothing here.
      for (const op of planSandboxDrop(netns, this.#attachments(containerId))) {
        try {
          applyAll(this.#kernel, [op]);
        } catch (err) {
          errors.push(err as Error);
        }
      }
    }
    try {
      this.#kernel.release(netns);
      this.#kernel.netnsDel(netns);
    } catch (err) {
      errors.push(err as Error);
    }
    if (errors.length > 0) this.#log.error('sandbox teardown', { netns, errors: errors.map((e) => e.message) });
  }

  /** Stops a container; false when it was not running (Docker answers 304). */
  stop(term: string, timeoutSec?: number): Promise<boolean> {
    return this.#serial(() => this.#stop(this.find(term), timeoutSec));
  }

  async #stop(c: Container, timeoutSec?: number): Promise<boolean> {
    if (c.state.status !== 'running') return false;
    const r = await this.#runtime.stop(c.id, { timeoutSec: timeoutSec ?? 10 });
    await this.#afterExit(c.id, r.exit?.exitCode ?? 137);
    return true;
  }

  /** Releases what a stopped container held while running, and records its exit. */
  async #afterExit(id: string, exitCode: number): Promise<void> {
    const c = this.#containers.get(id);
    if (c === undefined || c.state.status !== 'running') return;
    const live = this.#live.get(id);
    this.#live.delete(id);
    if (live?.netns !== undefined) this.#dropSandbox(live.netns, id);
    else if (c.hostConfig.networkMode !== 'host' && !c.hostConfig.networkMode.startsWith('container:')) {
      // After a daemon restart we may not know the sandbox: drop it by its deterministic path.
      if (existsSync(this.#netnsPath(id))) this.#dropSandbox(this.#netnsPath(id), id);
    }
    try {
      await this.#runtime.delete(id, { force: true });
    } catch (err) {
      this.#log.warn('runc delete after exit', { id, error: (err as Error).message });
    }
    try {
      const image = await getImage(this.#cfg.root, c.config.imageId);
      await unmountLayer(layerPaths(this.#cfg.root, id, image.rootfs));
    } catch (err) {
      this.#log.warn('unmount layer after exit', { id, error: (err as Error).message });
    }
    this.#update({ ...c, state: { ...c.state, status: 'exited', pid: 0, exitCode, finishedAt: nowRfc3339Nano() } });
    await this.#announce(c, false);
    await this.#changed();
    this.#events.emit('exit', id, exitCode);
    this.#log.info('container stopped', { id, name: c.name, exitCode });
    if (c.hostConfig.autoRemove) await this.#remove(this.#containers.get(id) as Container, true);
  }

  /**
   * Watches for the main process to exit on its own (not through stop). The watcher belongs to
   * one run (identified by its pid): after a restart, the old run's watcher must not tear down
   * the new one.
   */
  #watchExit(id: string): void {
    const pid = this.#containers.get(id)?.state.pid;
    const sameRun = (): boolean => {
      const c = this.#containers.get(id);
      return c?.state.status === 'running' && c.state.pid === pid;
    };
    void this.#runtime
      .waitExit(id)
      .then((exit) => {
        if (exit === null || !sameRun()) return;
        return this.#serial(async () => {
          if (sameRun()) await this.#afterExit(id, exit.exitCode);
        });
      })
      .catch((err) => this.#log.warn('watch exit', { id, error: (err as Error).message }));
  }

  restart(term: string, timeoutSec?: number): Promise<void> {
    return this.#serial(async () => {
      const c = this.find(term);
      await this.#stop(c, timeoutSec);
      await this.#start(this.find(c.id));
    });
  }

  /** Sends a signal (docker kill). */
  kill(term: string, signal: string): Promise<void> {
    return this.#serial(async () => {
      const c = this.find(term);
      if (c.state.status !== 'running') {
        throw new BerthError('ERR_CONTAINER_STATE', `cannot kill container: ${term}: container ${c.id} is not running`);
      }
      await this.#runtime.kill(c.id, signal || 'SIGKILL');
    });
  }

  /**
   * Docker's wait conditions: `not-running` (default) returns at once for a stopped container,
   * `next-exit` waits for the next exit even if it has not started yet (`docker run` asks this
   * before it starts the container), `removed` waits for the removal. Returns the exit code.
   */
  wait(term: string, condition = 'not-running'): Promise<number> {
    const c = this.find(term);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) {
      throw invalid(`invalid condition: "${condition}"`);
    }
    if (condition === 'not-running' && c.state.status !== 'running') return Promise.resolve(c.state.exitCode);
    return new Promise((resolve) => {
      const onExit = (id: string, code: number) => {
        if (id !== c.id) return;
        if (condition === 'removed') {
          this.#lastExit.set(id, code);
          return;
        }
        this.#events.off('exit', onExit);
        resolve(code);
      };
      const onRemoved = (id: string) => {
        if (id !== c.id || condition !== 'removed') return;
        this.#events.off('exit', onExit);
        this.#events.off('removed', onRemoved);
        resolve(this.#lastExit.get(id) ?? c.state.exitCode);
        this.#lastExit.delete(id);
      };
      this.#events.on('exit', onExit);
      if (condition === 'removed') this.#events.on('removed', onRemoved);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Remove

  remove(term: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.#serial(async () => this.#remove(this.find(term), opts.force ?? false));
  }

  async #remove(c: Container, force: boolean): Promise<void> {
    if (c.state.status === 'running') {
      if (!force) {
        throw new BerthError(
          'ERR_CONTAINER_STATE',
          `cannot remove container "/${c.name}": container is running: stop the container before removing or force remove`,
        );
      }
      const r = await this.#runtime.stop(c.id, { timeoutSec: 0 });
      await this.#afterExit(c.id, r.exit?.exitCode ?? 137);
      c = this.#containers.get(c.id) ?? c;
      if (!this.#containers.has(c.id)) return; // --rm already removed it
    }
    const eps = this.endpointsOf(c.id);
    this.#store.transaction(() => {
      for (const e of eps) this.#store.delete('endpoint', e.id);
      this.#store.delete('container', c.id);
    });
    for (const e of eps) this.#endpoints.delete(e.id);
    // After the local commit: a crash before this leaves a claim on the host's lease, which the
    // next start does not renew (the endpoint is gone), so it expires.
    await this.#releaseGlobal(eps);
    this.#containers.delete(c.id);
    try {
      await this.#runtime.delete(c.id, { force: true });
    } catch {
      // already gone
    }
    try {
      const image = await getImage(this.#cfg.root, c.config.imageId);
      await removeLayer(layerPaths(this.#cfg.root, c.id, image.rootfs));
    } catch (err) {
      this.#log.warn('remove layer', { id: c.id, error: (err as Error).message });
    }
    rmSync(containerDir(this.#cfg.root, c.id), { recursive: true, force: true });
    await this.#changed();
    this.#events.emit('removed', c.id);
    this.#log.info('container removed', { id: c.id, name: c.name });
  }

  // ---------------------------------------------------------------------------------------
  // Connect / disconnect

  connect(networkTerm: string, containerTerm: string, req: EndpointConfigRequest): Promise<void> {
    return this.#serial(async () => {
      const network = this.#networks.find(networkTerm);
      const c = this.find(containerTerm);
      const mode = c.hostConfig.networkMode;
      if (mode.startsWith('container:') || mode === 'host') {
        throw invalid('container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (network.driver === 'host') throw invalid('container cannot be disconnected from host network or connected to host network');
      if (network.driver === 'null' || this.endpointsOf(c.id).some((e) => this.#networkById(e.networkId).driver === 'null')) {
        throw invalid('container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      const added: Endpoint[] = [];
      try {
        added.push(await this.#planEndpoint(c, network, req, []));
        // An overlay leaves through docker_gwbridge unless another network gives the route.
        const gwNet = this.#gwbridgeNeeded([...this.endpointsOf(c.id), ...added]);
        if (gwNet !== undefined) added.push({ ...(await this.#planEndpoint(c, gwNet, {}, added)), hidden: true });
        const netns = this.#live.get(c.id)?.netns;
        if (netns !== undefined) {
          const before = this.#attachments(c.id);
          const attachments = [...before, ...added.map((endpoint) => ({ endpoint, network: this.#networkById(endpoint.networkId) }))];
          const oldGw = chooseGateway(before);
          const newGw = chooseGateway(attachments);
          const ops: KernelOp[] = [];
          const gatewayMoves = newGw !== undefined && added.some((e) => e.id === newGw.endpoint.id);
          if (gatewayMoves && oldGw !== undefined) ops.push(...invertRoutes(planGatewayRoutes(oldGw.network, oldGw.endpoint, netns)));
          for (const endpoint of added) {
            const n = this.#networkById(endpoint.networkId);
            const gateway = newGw?.endpoint.id === endpoint.id;
            ops.push(...getDriver(n.driver).planJoin(n, endpoint, { netns, hostIfName: newHostIfName(), gateway }, this.#ctx));
          }
          try {
            applyAll(this.#kernel, ops);
          } catch (err) {
            throw withContext(`connect ${c.name} to ${network.name}`, err);
          }
        }
        this.#store.transaction(() => {
          for (const e of added) this.#store.put('endpoint', e.id, e);
        });
        for (const e of added) this.#endpoints.set(e.id, e);
        if (netns !== undefined) {
          this.#writeFiles(c);
          await this.#announce(c, true).catch((err: unknown) =>
            this.#log.error('announce after connect', { container: c.name, error: (err as Error).message }),
          );
        }
      } catch (err) {
        await this.#releaseGlobal(added);
        throw err;
      }
      await this.#changed();
    });
  }

  disconnect(networkTerm: string, containerTerm: string, force: boolean): Promise<void> {
    return this.#serial(async () => {
      const network = this.#networks.find(networkTerm);
      let c: Container;
      try {
        c = this.find(containerTerm);
      } catch (err) {
        if (force) return;
        throw err;
      }
      if (network.driver === 'host') throw invalid('container cannot be disconnected from host network or connected to host network');
      const endpoint = this.endpointsOf(c.id).find((e) => e.networkId === network.id);
      if (endpoint === undefined) {
        throw new BerthError('ERR_ENDPOINT_NOT_FOUND', `container ${c.id} is not connected to network ${network.name}`);
      }
      // The docker_gwbridge leg goes with the last overlay endpoint.
      const leaving = [endpoint];
      const others = this.endpointsOf(c.id).filter((e) => e.id !== endpoint.id);
      if (!others.some((e) => e.hidden !== true && this.#networkById(e.networkId).driver === 'overlay')) {
        leaving.push(...others.filter((e) => e.hidden === true));
      }
      const netns = this.#live.get(c.id)?.netns;
      if (netns !== undefined) {
        const before = this.#attachments(c.id);
        const oldGw = chooseGateway(before);
        const rest = before.filter((a) => !leaving.includes(a.endpoint));
        const newGw = chooseGateway(rest);
        const ops: KernelOp[] = [];
        for (const e of leaving) {
          const n = this.#networkById(e.networkId);
          ops.push(...getDriver(n.driver).planLeave(n, e, netns));
        }
        if (oldGw !== undefined && leaving.includes(oldGw.endpoint) && newGw !== undefined) {
          ops.push(...planGatewayRoutes(newGw.network, newGw.endpoint, netns));
        }
        try {
          // The veth delete waits for RCU in the kernel: off the main thread.
          await applyAllAsync(this.#kernel, ops);
        } catch (err) {
          throw withContext(`disconnect ${c.name} from ${network.name}`, err);
        }
      }
      if (network.scope === 'global' && netns !== undefined && this.#cluster !== undefined) {
        await this.#cluster.withdraw(network.id, endpoint.id).catch((err: unknown) =>
          this.#log.warn('withdraw from the cluster', { container: c.name, error: (err as Error).message }),
        );
      }
      this.#store.transaction(() => {
        for (const e of leaving) this.#store.delete('endpoint', e.id);
      });
      for (const e of leaving) this.#endpoints.delete(e.id);
      await this.#releaseGlobal(leaving);
      if (netns !== undefined) this.#writeFiles(c);
      await this.#changed();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Files

  /** Writes hosts, resolv.conf and hostname for a container from the current model. */
  #writeFiles(c: Container): void {
    const dir = containerDir(this.#cfg.root, c.id);
    const owner = this.ownerOf(c);
    const source = owner ?? c;
    const attachments = inInterfaceOrder(this.#attachments(source.id));
    const own = attachments
      .filter((a) => a.endpoint.hidden !== true)
      .flatMap((a) => [a.endpoint.ipv4, a.endpoint.ipv6]).filter((x): x is string => x !== undefined).map((x) => x.split('/')[0] as string);
    const bridgeGw = this.#networks.all().find((n) => n.name === 'bridge')?.pools[0]?.gateway ?? '';
    const extraHosts = c.hostConfig.extraHosts.map((h) => {
      const i = h.indexOf(':');
      const name = h.slice(0, i);
      const ip = h.slice(i + 1);
      return { name, ip: ip === 'host-gateway' ? bridgeGw : ip };
    });
    const links = c.hostConfig.links.flatMap((l) => {
      const [target = '', alias] = l.split(':');
      try {
        const t = this.find(target);
        const ep = this.endpointsOf(t.id).find((e) => this.#networkById(e.networkId).name === 'bridge');
        if (ep?.ipv4 === undefined) return [];
        const names = [...new Set([alias ?? t.name, t.config.hostname, t.name].filter((x): x is string => x !== undefined))];
        return [{ ip: ep.ipv4.split('/')[0] as string, names }];
      } catch {
        return [];
      }
    });
    const hostsText =
      source.hostConfig.networkMode === 'host'
        ? safeRead('/etc/hosts')
        : renderHosts({ hostname: source.config.hostname, domainname: source.config.domainname, ownAddresses: own, extraHosts, links });
    const embedded = attachments.some((a) => !a.network.predefined && a.network.driver !== 'host' && a.network.driver !== 'null');
    const resolv = renderResolvConf({
      embedded,
      servers: source.hostConfig.dns.length > 0 ? source.hostConfig.dns : this.#cfg.dns,
      search: source.hostConfig.dnsSearch,
      options: source.hostConfig.dnsOptions,
      hostResolvConf: safeRead('/etc/resolv.conf'),
    });
    writeAtomic(path.join(dir, 'hosts'), hostsText);
    writeAtomic(path.join(dir, 'resolv.conf'), resolv);
    writeAtomic(path.join(dir, 'hostname'), `${source.config.hostname}\n`);
  }

  #update(c: Container): void {
    this.#store.put('container', c.id, c);
    this.#containers.set(c.id, c);
  }

  // ---------------------------------------------------------------------------------------
  // Daemon restart

  /**
   * Re-attaches after a daemon restart: running containers stay running (they are runc's) and
   * are watched again; containers that died meanwhile are cleaned up and marked exited.
   */
  async init(): Promise<void> {
    // A crash between runc starting a process and the store recording it leaves a process the
    // store does not call running: its start was never acknowledged, so it goes (its netns with
    // it, once the sweep below unmounts the sandbox).
    // One `runc list` answers for every container: a `runc state` each would cost 20–50 ms per
    // container before the API is served (measured: 23 s with 1,000 running).
    const listed = await this.#runtime.list().catch(() => []);
    const byId = new Map(listed.map((s) => [s.id, s]));
    for (const s of listed) {
      const c = this.#containers.get(s.id);
      if (c?.state.status === 'running') continue;
      try {
        await this.#runtime.delete(s.id, { force: true });
        this.#log.info('reconcile: removed an unacknowledged container process', { id: s.id });
      } catch (err) {
        this.#log.error('reconcile: unacknowledged container process', { id: s.id, error: (err as Error).message });
      }
    }
    for (const c of this.all()) {
      if (c.state.status !== 'running') continue;
      const s = byId.get(c.id);
      if (s?.status === 'running') {
        const mode = c.hostConfig.networkMode;
        const sandboxed = mode !== 'host' && !mode.startsWith('container:');
        this.#live.set(c.id, { netns: sandboxed ? this.#netnsPath(c.id) : undefined });
        this.#watchExit(c.id);
      } else {
        await this.#afterExit(c.id, s?.exit?.exitCode ?? (await this.#runtime.readExit(c.id))?.exitCode ?? 255);
      }
    }
    // Sandboxes nobody runs in any more (a crash between netns-add and the store write).
    const dir = path.join(this.#cfg.execRoot, 'netns');
    const keep = new Set([...this.#live.values()].map((l) => l.netns));
    for (const f of safeList(dir)) {
      const p = path.join(dir, f);
      if (!keep.has(p)) {
        try {
          this.#kernel.netnsDel(p);
          this.#log.info('reconcile: removed orphan sandbox', { netns: p });
        } catch (err) {
          this.#log.error('reconcile: orphan sandbox', { netns: p, error: (err as Error).message });
        }
      }
    }
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    const all = this.all();
    const running = all.filter((c) => c.state.status === 'running').length;
    return { total: all.length, running, paused: 0, stopped: all.length - running };
  }
}

/** HostConfig with Docker's defaults filled in. */
function normaliseHostConfig(h: Partial<HostConfig>): HostConfig {
  const mode = h.networkMode === undefined || h.networkMode === '' || h.networkMode === 'default' ? 'bridge' : h.networkMode;
  return {
    networkMode: mode,
    portBindings: h.portBindings ?? {},
    publishAllPorts: h.publishAllPorts ?? false,
    dns: h.dns ?? [],
    dnsSearch: h.dnsSearch ?? [],
    dnsOptions: h.dnsOptions ?? [],
    extraHosts: h.extraHosts ?? [],
    links: h.links ?? [],
    autoRemove: h.autoRemove ?? false,
    restartPolicy: h.restartPolicy ?? { name: 'no', maximumRetryCount: 0 },
  };
}

/** route-add ops → the matching route-del ops. */
function invertRoutes(ops: readonly KernelOp[]): KernelOp[] {
  return ops.flatMap((o) => (o.kind === 'route-add' ? [{ ...o, kind: 'route-del' as const }] : []));
}

function randomMac(): string {
  const b = Array.from({ length: 4 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0'));
  return ['02', '42', ...b].join(':');
}

function fsPrepare(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
}

function writeAtomic(file: string, text: string): void {
  // Bind mounts pin the inode: rewrite in place so a running container sees the change.
  writeFileSync(file, text, { mode: 0o644 });
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
