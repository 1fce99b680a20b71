/**
 * Joins the controllers to the cluster: global networks are created and removed through the
 * cluster store and adopted from its watch; endpoints on them claim their addresses there and
 * are announced while they run; what other hosts announce becomes VXLAN forwarding entries
 * (FDB + neighbour, `OverlayPeers`) and names in the embedded DNS.
 *
 * Order at start-up (daemon/main.ts): `wire` before the network controller's init (so its
 * reconcile can plan overlay links), `start` after it, `rejoin` after the container
 * controller's init (so it knows what runs).
 */
import { BerthError, isCode } from '../errors.js';
import type { Cluster, ClusterListener } from '../cluster/cluster.js';
import type { AnnouncedEndpoint } from '../cluster/types.js';
import { OPT_BRIDGE_NAME, OPT_ENABLE_ICC, OPT_ENABLE_IP_MASQUERADE } from '../drivers/bridge/options.js';
import type { OverlayPeers } from '../drivers/overlay/peers.js';
import type { Kernel } from '../kernel/types.js';
import { tryParseIp } from '../model/cidr.js';
import type { Network } from '../model/network.js';
import { GWBRIDGE_NETWORK, type ContainerController } from './containers.js';
import type { Logger } from './log.js';
import type { NetworkController } from './networks.js';

/** Bridge device of docker_gwbridge (Docker's is `docker_gwbridge`; ours says whose it is). */
export const GWBRIDGE_DEVICE = 'berth_gwbridge';

export class ClusterLink implements ClusterListener {
  readonly #cluster: Cluster;
  readonly #networks: NetworkController;
  readonly #containers: ContainerController;
  readonly #peers: OverlayPeers;
  readonly #log: Logger;
  readonly #close: () => void;
  #retry: NodeJS.Timeout | undefined;
  #remoteCache: { readonly key: string; readonly list: AnnouncedEndpoint[] } | undefined;
  #stopped = false;

  constructor(deps: {
    cluster: Cluster;
    networks: NetworkController;
    containers: ContainerController;
    peers: OverlayPeers;
    log: Logger;
    /** Closes the store client once the cluster stops. */
    close?: () => void;
  }) {
    this.#cluster = deps.cluster;
    this.#close = deps.close ?? (() => undefined);
    this.#networks = deps.networks;
    this.#containers = deps.containers;
    this.#peers = deps.peers;
    this.#log = deps.log;
  }

  /** This host's VXLAN tunnel endpoint. */
  get advertise(): string {
    return this.#cluster.advertise;
  }

  /** Gives both controllers their view of the cluster. */
  wire(): void {
    const cluster = this.#cluster;
    this.#networks.setCluster({
      advertise: cluster.advertise,
      create: (draft, resolve) => cluster.createNetwork(draft, resolve),
      remove: (id) => cluster.removeNetwork(id),
      publishLocalSubnets: (subnets) => cluster.publishLocalSubnets(subnets),
    });
    this.#containers.setCluster({
      hostId: cluster.hostId,
      advertise: cluster.advertise,
      claimAddress: (id, claim) => cluster.claimAddress(id, claim),
      releaseAddress: (id, ip, ep) => cluster.releaseAddress(id, ip, ep),
      announce: (ep) => cluster.announce(ep),
      withdraw: (id, ep) => cluster.withdraw(id, ep),
      remote: () => this.#remote(),
    });
  }

  /** Joins: the egress bridge, the store's networks adopted, the peers programmed. */
  async start(): Promise<void> {
    if (!this.#networks.all().some((n) => n.name === GWBRIDGE_NETWORK)) {
      // Docker's docker_gwbridge: no traffic between its containers (they are on it only to
      // leave the host), masquerade out.
      await this.#networks.create({
        name: GWBRIDGE_NETWORK,
        driver: 'bridge',
        options: { [OPT_BRIDGE_NAME]: GWBRIDGE_DEVICE, [OPT_ENABLE_ICC]: 'false', [OPT_ENABLE_IP_MASQUERADE]: 'true' },
      });
    }
    // Published with the host's entry as it joins.
    await this.#cluster.publishLocalSubnets(this.#networks.localSubnets());
    await this.#cluster.start(this);
    await this.#networks.syncGlobal(this.#cluster.networks());
    this.#remoteCache = undefined;
    for (const n of this.#cluster.networks()) this.#syncPeers(n.id);
  }

  /**
   * Joins now if the store answers; returns false (logged) when it cannot be reached, so a
   * daemon whose etcd is down still starts and serves its local networks — overlay calls fail
   * with ERR_CLUSTER until `keepJoining` gets through.
   */
  async tryJoin(): Promise<boolean> {
    try {
      await this.start();
      return true;
    } catch (err) {
      if (!isCode(err, 'ERR_CLUSTER')) throw err;
      this.#log.error('cluster store unreachable: starting without it, retrying in the background', { error: (err as Error).message });
      return false;
    }
  }

  /** Retries the join every `retryMs` until it works (then runs `onJoined`) or `stop`. */
  keepJoining(onJoined: () => Promise<void>, retryMs = 2000): void {
    this.#retry = setTimeout(() => {
      this.start().then(
        () => {
          this.#retry = undefined;
          this.#log.info('joined the cluster after retrying');
          return onJoined().catch((err: unknown) => this.#log.error('after joining the cluster', { error: (err as Error).message }));
        },
        (err: unknown) => {
          if (this.#stopped) return;
          if (!isCode(err, 'ERR_CLUSTER')) this.#log.error('joining the cluster failed', { error: (err as Error).message });
          this.keepJoining(onJoined, retryMs);
        },
      );
    }, retryMs);
  }

  /** Leaves: keepalive and watch stop; the lease is left to expire (containers keep running). */
  stop(): void {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#cluster.stop();
    this.#close();
  }

  /** Claims and announcements of what this host already has (after a restart). */
  async rejoin(): Promise<void> {
    await this.#containers.rejoinCluster();
  }

  async networkAdded(network: Network): Promise<void> {
    this.#remoteCache = undefined;
    if (!this.#networks.adoptGlobal(network)) return;
    this.#syncPeers(network.id);
    await this.#containers.notifyObservers();
  }

  async networkRemoved(networkId: string): Promise<void> {
    this.#remoteCache = undefined;
    this.#peers.forget(networkId);
    if (await this.#networks.dropGlobal(networkId)) await this.#containers.notifyObservers();
  }

  async endpointsChanged(networkId: string): Promise<void> {
    this.#remoteCache = undefined;
    this.#syncPeers(networkId);
    await this.#containers.notifyObservers();
  }

  /** Endpoints other hosts run on one network (its `network inspect`). */
  remoteOn(networkId: string): AnnouncedEndpoint[] {
    return this.#cluster.endpoints(networkId).filter((e) => e.hostId !== this.#cluster.hostId);
  }

  /**
   * Endpoints other hosts run, on the global networks this host has. Kept until the cluster
   * says something changed: it goes into every model snapshot, several per container start.
   */
  #remote(): AnnouncedEndpoint[] {
    const global = this.#networks.all().filter((n) => n.scope === 'global');
    // A network adopted or dropped here without a cluster event (a local name clash resolved)
    // changes the key, so the cache cannot miss it.
    const key = global.map((n) => n.id).join(',');
    if (this.#remoteCache?.key !== key) this.#remoteCache = { key, list: global.flatMap((n) => this.remoteOn(n.id)) };
    return this.#remoteCache.list;
  }

  #syncPeers(networkId: string): void {
    const network = this.#networks.all().find((n) => n.id === networkId && n.scope === 'global');
    if (network === undefined) return;
    const peers = this.remoteOn(networkId)
      .filter((e) => e.ipv4 !== undefined)
      .map((e) => ({ ip: (e.ipv4 as string).split('/')[0] as string, mac: e.mac, vtep: e.vtep }));
    this.#peers.sync(network, peers);
  }
}

/**
 * `--cluster-advertise`: an IPv4 address (Docker's `ip:port` form accepted, the port ignored:
 * VXLAN uses 4789) or an interface of the daemon's netns, whose first IPv4 address is taken.
 */
export function resolveAdvertise(spec: string, kernel: Kernel): string {
  const host = tryParseIp(spec) !== undefined ? spec : spec.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const ip = tryParseIp(host);
  if (ip !== undefined) {
    if (ip.family !== 4) throw new BerthError('ERR_INVALID_PARAMETER', `invalid --cluster-advertise ${spec}: berth's VXLAN underlay is IPv4`);
    return host;
  }
  const link = kernel.listLinks(null).find((l) => l.name === host);
  if (link === undefined) throw new BerthError('ERR_INVALID_PARAMETER', `invalid --cluster-advertise ${spec}: no such address or interface`);
  const addr = kernel.listAddrs(null).find((a) => a.ifindex === link.index && a.family === 4);
  if (addr === undefined) throw new BerthError('ERR_INVALID_PARAMETER', `invalid --cluster-advertise ${spec}: interface ${host} has no IPv4 address`);
  return addr.cidr.split('/')[0] as string;
}
