/**
 * berth's cluster service: global (overlay) networks, their VXLAN IDs, pools and addresses,
 * and the endpoints each host runs, coordinated through a {@link Kv} (etcd in production).
 *
 * Consistency model. Every decision that must be unique cluster-wide (a network name, a VNI, a
 * subnet, an address) is one etcd txn whose compares prove the facts the decision was made on
 * are still true; a txn that loses a race re-reads (its failure branch reads the same snapshot,
 * saving a round trip) and decides again, a bounded number of times. Two "generation" keys turn
 * set-level facts into single-key compares: `poolgen` (re-put by every pool claim and release)
 * guards "the pools I chose from are still the pools in use", and `netgen/<id>` (re-put by every
 * address claim) guards "no claim appeared since I saw none" for a removal — so a claim racing
 * a removal either lands first and the removal is refused, or finds the network gone.
 *
 * Liveness. Address claims and endpoint announcements live on this host's lease: a host that
 * dies takes them with it after the TTL. A host that merely lost its lease (store unreachable
 * longer than the TTL, daemon paused) remembers what it claimed and announced and puts it back
 * on a new lease; an address another endpoint took meanwhile is logged and given up.
 *
 * Caches. The watch keeps a copy of networks, claims and announcements; our own writes are
 * applied to it at once with their revision, and every cache entry remembers the revision it
 * reflects, so an older event arriving later never undoes a newer local write.
 */
import { BerthError, isCode, withContext } from '../errors.js';
import type { Logger } from '../engine/log.js';
import { allocateAddress } from '../ipam/allocator.js';
import { MSG_POOL_OVERLAP } from '../ipam/pools.js';
import { cidrContains, parseCidr, tryParseIp } from '../model/cidr.js';
import type { IpamPool, Network } from '../model/network.js';
import {
  addrKey,
  addrsPrefix,
  endpointKey,
  endpointsPrefix,
  hostKey,
  HOSTS_PREFIX,
  nameKey,
  NAMES_PREFIX,
  netgenKey,
  networkKey,
  parseKey,
  POOLGEN_KEY,
  poolKey,
  POOLS_PREFIX,
  subnetOfPoolKey,
  VNI_PREFIX,
  vniKey,
} from './keys.js';
import { KEY_ROOT, type AnnouncedEndpoint, type Compare, type KeyValue, type Kv, type TxnOp, type Watch, type WatchEvent } from './types.js';

export interface ClusterListener {
  /** A global network appeared (also our own creations; may be called again for the same id). */
  networkAdded(network: Network): void | Promise<void>;
  /** A global network is gone (may name a network this listener never heard of). */
  networkRemoved(networkId: string): void | Promise<void>;
  /** The announced endpoints of a network changed (any host's, ours included). */
  endpointsChanged(networkId: string): void | Promise<void>;
}

export interface ClusterDeps {
  readonly kv: Kv;
  /** This host's cluster ID (no '/'). */
  readonly hostId: string;
  /** This host's VXLAN tunnel endpoint address. */
  readonly advertise: string;
  readonly leaseTtlSec: number;
  readonly log: Logger;
}

/** Docker's overlay driver option carrying the network's VXLAN ID(s). */
export const OPT_VXLANID_LIST = 'com.docker.network.driver.overlay.vxlanid_list';

/** Who holds an address of a global network. */
export interface AddressClaim {
  readonly endpointId: string;
  readonly containerName: string;
  readonly hostId: string;
}

/** VXLAN IDs below this are left to other users of VXLAN on the hosts (Docker starts there too). */
const VNI_FIRST = 4096;
const VNI_LAST = 0xff_ffff;
const CREATE_RETRIES = 20;
const REMOVE_RETRIES = 20;
const CLAIM_RETRIES = 50;
/** Pause between attempts to re-read the store after a watch reset it could not serve. */
const RESYNC_RETRY_MS = 1000;

/** A cache of one kind of key, each entry at the revision it reflects (deletions kept as tombstones). */
class RevMap<T> {
  readonly #entries = new Map<string, { rev: number; value: T | undefined }>();

  /** Records `value` (undefined: deleted) as of `rev`. False when the entry is newer than `rev`. */
  apply(key: string, rev: number, value: T | undefined): boolean {
    const cur = this.#entries.get(key);
    if (cur !== undefined && cur.rev > rev) return false;
    this.#entries.set(key, { rev, value });
    return true;
  }

  get(key: string): T | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Live entries. */
  *entries(): IterableIterator<[string, T]> {
    for (const [key, e] of this.#entries) if (e.value !== undefined) yield [key, e.value];
  }

  /** Entries (live or tombstones) newer than `rev`. */
  *newerThan(rev: number): IterableIterator<[string, { rev: number; value: T | undefined }]> {
    for (const [key, e] of this.#entries) if (e.rev > rev) yield [key, e];
  }

  /** Drops tombstones at or below `rev`: the watch has passed them, no older event can come. */
  prune(rev: number): void {
    for (const [key, e] of this.#entries) if (e.value === undefined && e.rev <= rev) this.#entries.delete(key);
  }

  get empty(): boolean {
    return this.#entries.size === 0;
  }

  /** Makes this map a copy of `other`. */
  replaceWith(other: RevMap<T>): void {
    this.#entries.clear();
    for (const [key, e] of other.#entries) this.#entries.set(key, e);
  }
}

/** A claim this host made, to put back after a lease loss. */
interface OwnClaim {
  readonly networkId: string;
  readonly ip: string;
  readonly claim: AddressClaim;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A stored network, checked enough for the engine to rely on its shape; undefined if malformed. */
function parseNetwork(text: string, networkId: string): Network | undefined {
  const v = parseJson(text);
  if (!isRecord(v) || v['id'] !== networkId || !isString(v['name']) || !isString(v['driver'])) return undefined;
  if (!Array.isArray(v['pools']) || !v['pools'].every((p) => isRecord(p) && isString(p['subnet']) && isString(p['gateway']))) {
    return undefined;
  }
  if (!isRecord(v['options']) || !isRecord(v['labels'])) return undefined;
  return v as unknown as Network;
}

function parseClaim(text: string): AddressClaim | undefined {
  const v = parseJson(text);
  if (!isRecord(v) || !isString(v['endpointId']) || !isString(v['containerName']) || !isString(v['hostId'])) return undefined;
  return { endpointId: v['endpointId'], containerName: v['containerName'], hostId: v['hostId'] };
}

function parseEndpoint(text: string, networkId: string, endpointId: string): AnnouncedEndpoint | undefined {
  const v = parseJson(text);
  if (!isRecord(v) || v['networkId'] !== networkId || v['endpointId'] !== endpointId) return undefined;
  for (const field of ['containerId', 'name', 'shortId', 'mac', 'hostId', 'vtep']) if (!isString(v[field])) return undefined;
  if (!Array.isArray(v['aliases']) || !v['aliases'].every(isString)) return undefined;
  if (v['ipv4'] !== undefined && !isString(v['ipv4'])) return undefined;
  if (v['ipv6'] !== undefined && !isString(v['ipv6'])) return undefined;
  return v as unknown as AnnouncedEndpoint;
}

const claimJson = (c: AddressClaim): string =>
  JSON.stringify({ endpointId: c.endpointId, containerName: c.containerName, hostId: c.hostId });

const exists = (key: string): Compare => ({ key, target: 'version', op: '>', value: 0 });
const absent = (key: string): Compare => ({ key, target: 'version', op: '=', value: 0 });
/** The key is still at the revision read (0: still absent). */
const unchanged = (key: string, kv: KeyValue | undefined): Compare => ({ key, target: 'mod', op: '=', value: kv?.modRevision ?? 0 });
const get = (key: string): TxnOp => ({ kind: 'get', key });
const getPrefix = (key: string): TxnOp => ({ kind: 'get', key, prefix: true });

function notFound(networkId: string): BerthError {
  return new BerthError('ERR_NETWORK_NOT_FOUND', `network ${networkId} not found`);
}

/** The VXLAN ID of a new network: the one asked for in the options, else the first free from 4096. */
function chooseVni(draft: Network, inUse: ReadonlyMap<number, string>): number {
  const given = draft.options[OPT_VXLANID_LIST];
  if (given !== undefined && given !== '') {
    const text = given.trim();
    const vni = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!(vni >= 1 && vni <= VNI_LAST)) {
      throw new BerthError(
        'ERR_INVALID_PARAMETER',
        `invalid ${OPT_VXLANID_LIST} ${JSON.stringify(given)}: berth gives a network one VXLAN ID, between 1 and ${VNI_LAST}`,
      );
    }
    const holder = inUse.get(vni);
    if (holder !== undefined) {
      throw new BerthError('ERR_INVALID_PARAMETER', `vxlan id ${vni} is already in use by network ${holder.slice(0, 12)}`);
    }
    return vni;
  }
  for (let vni = VNI_FIRST; vni <= VNI_LAST; vni++) if (!inUse.has(vni)) return vni;
  throw new BerthError('ERR_CLUSTER', 'no free VXLAN ID is left in the cluster');
}

/**
 * An address for a new claim: `want` (which must be free) in the IPv4 pool containing it, else
 * the first free address of the first IPv4 pool that has one.
 */
function chooseAddress(network: Network, inUse: ReadonlySet<string>, want: string | undefined): string {
  const pools = network.pools.filter((p) => !p.subnet.includes(':'));
  const first = pools[0];
  if (first === undefined) throw new BerthError('ERR_NO_ADDRESS', `network ${network.name} has no IPv4 pool`);
  if (want !== undefined && want !== '') {
    const ip = tryParseIp(want);
    const pool = pools.find((p) => ip !== undefined && cidrContains(parseCidr(p.subnet), ip)) ?? first;
    return allocateAddress(pool, inUse, want);
  }
  let lastErr: unknown;
  for (const pool of pools) {
    try {
      return allocateAddress(pool, inUse);
    } catch (err) {
      if (!isCode(err, 'ERR_NO_ADDRESS')) throw err;
      lastErr = err;
    }
  }
  throw lastErr;
}

/** What a create attempt reads, in one txn so it is one consistent snapshot. */
const createSnapshotOps = (name: string): TxnOp[] => [
  get(nameKey(name)),
  getPrefix(VNI_PREFIX),
  getPrefix(POOLS_PREFIX),
  get(POOLGEN_KEY),
  getPrefix(HOSTS_PREFIX),
];

/** The local subnets hosts publish in their `hosts/` documents (malformed ones skipped). */
function hostSubnets(hostKvs: readonly KeyValue[]): string[] {
  return hostKvs.flatMap((kv) => {
    try {
      const doc = JSON.parse(kv.value) as { subnets?: unknown };
      return Array.isArray(doc.subnets) ? doc.subnets.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  });
}

/** What a claim attempt reads. */
const claimSnapshotOps = (networkId: string): TxnOp[] => [get(networkKey(networkId)), getPrefix(addrsPrefix(networkId))];

/** What a removal attempt reads. */
const removeSnapshotOps = (networkId: string): TxnOp[] => [
  get(networkKey(networkId)),
  getPrefix(addrsPrefix(networkId)),
  get(netgenKey(networkId)),
  getPrefix(NAMES_PREFIX),
  getPrefix(VNI_PREFIX),
  getPrefix(POOLS_PREFIX),
  get(POOLGEN_KEY),
];

export class Cluster {
  readonly hostId: string;
  readonly advertise: string;
  readonly #kv: Kv;
  readonly #ttlSec: number;
  readonly #log: Logger;

  #state: 'new' | 'started' | 'stopped' = 'new';
  #localSubnets: string[] = [];
  #listener: ClusterListener | undefined;
  #lease = '0';
  #since = '';
  #watch: Watch | undefined;
  /** Bumped whenever a watch is replaced: callbacks of an older one are ignored. */
  #watchGen = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  /** True while the store is unreachable for keepalive (warn once per outage). */
  #outage = false;
  /** True after a new lease was granted until every remembered key is back on it. */
  #reputPending = false;

  readonly #networks = new RevMap<Network>();
  /** networkId → ip → claim. */
  readonly #claims = new Map<string, RevMap<AddressClaim>>();
  /** networkId → endpointId → announcement. */
  readonly #endpoints = new Map<string, RevMap<AnnouncedEndpoint>>();

  /** Our claims and announcements, by key, to put back on a new lease. */
  readonly #ownClaims = new Map<string, OwnClaim>();
  readonly #ownEndpoints = new Map<string, AnnouncedEndpoint>();

  #notifyChain: Promise<void> = Promise.resolve();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: ClusterDeps) {
    hostKey(deps.hostId); // validates the ID
    this.hostId = deps.hostId;
    this.advertise = deps.advertise;
    this.#kv = deps.kv;
    this.#ttlSec = deps.leaseTtlSec;
    this.#log = deps.log;
  }

  /**
   * Grants the host lease, writes hosts/<id>, reads everything (the listener hears
   * `networkAdded` for every global network and `endpointsChanged` for every network with
   * announcements before this resolves), starts the watch and the keepalive. Rejects with
   * ERR_CLUSTER when the store is unreachable.
   */
  async start(listener: ClusterListener): Promise<void> {
    if (this.#state !== 'new') throw new BerthError('ERR_INTERNAL', 'cluster service already started');
    this.#state = 'started';
    this.#listener = listener;
    this.#since = new Date().toISOString();
    try {
      this.#lease = await this.#kv.leaseGrant(this.#ttlSec);
      await this.#putHost();
      const revision = await this.#relist();
      this.#watchFrom(revision + 1);
    } catch (err) {
      this.stop();
      // A failed join may be tried again: the daemon keeps trying while the store is down.
      this.#state = 'new';
      throw withContext(`join cluster as host ${this.hostId}`, err);
    }
    this.#timer = setInterval(() => void this.tick(), (this.#ttlSec * 1000) / 3);
    this.#timer.unref();
    this.#log.info('joined cluster', { hostId: this.hostId, advertise: this.advertise, lease: this.#lease });
    await this.#notifyChain;
  }

  /** Stops keepalive and watch; does NOT revoke the lease (containers keep running; a restarted daemon re-announces). */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watchGen++;
    this.#watch?.close();
    this.#watch = undefined;
  }

  /** Global networks as last seen (cache fed by the watch), by name. */
  networks(): Network[] {
    return [...this.#networks.entries()].map(([, n]) => n).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Announced endpoints of a network, every host's (cache), by endpoint ID. */
  endpoints(networkId: string): AnnouncedEndpoint[] {
    const map = this.#endpoints.get(networkId);
    if (map === undefined) return [];
    return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ep]) => ep);
  }

  /** Address claims of a network (cache): ip → {endpointId, containerName, hostId}. */
  claims(networkId: string): ReadonlyMap<string, AddressClaim> {
    return new Map(this.#claims.get(networkId)?.entries() ?? []);
  }

  /**
   * Creates a global network. `draft` is complete except VNI and pools: the cluster picks the
   * VNI (first free ≥ 4096 unless the draft's options name one, written into
   * draft.options[OPT_VXLANID_LIST]) and calls `resolve(subnetsInUseClusterWide)` to get the
   * pools; then one txn: name free, vni free, poolgen unchanged → puts all keys. Lost races are
   * retried (≤ 20 times, then ERR_CLUSTER). Name taken → ERR_NETWORK_EXISTS. Errors of
   * `resolve` propagate. Returns the stored network (scope 'global').
   */
  async createNetwork(draft: Network, resolve: (subnetsInUse: readonly string[]) => IpamPool[]): Promise<Network> {
    this.#assertStarted();
    // One create at a time per host: same-host creates would only race each other.
    return this.#locked('create', async () => {
      let snap = (await this.#kv.txn([], createSnapshotOps(draft.name))).results;
      for (let attempt = 0; ; attempt++) {
        const [nameKvs = [], vniKvs = [], poolKvs = [], poolgenKvs = [], hostKvs = []] = snap;
        if (nameKvs.length > 0) {
          throw new BerthError('ERR_NETWORK_EXISTS', `network with name ${draft.name} already exists`);
        }
        const vnis = new Map<number, string>();
        for (const kv of vniKvs) {
          const parsed = parseKey(kv.key);
          if (parsed?.kind === 'vni') vnis.set(parsed.vni, kv.value);
        }
        const vni = chooseVni(draft, vnis);
        // Global pools, and the local networks' subnets every host publishes (best effort: a
        // local network made meanwhile on another host is not part of the CAS).
        const subnetsInUse = [...poolKvs.flatMap((kv) => subnetOfPoolKey(kv.key) ?? []), ...hostSubnets(hostKvs)];
        const pools = resolve(subnetsInUse);
        const poolKeys = pools.map((p) => poolKey(p.subnet));
        if (poolKeys.some((k) => poolKvs.some((kv) => kv.key === k))) {
          throw new BerthError('ERR_POOL_OVERLAP', MSG_POOL_OVERLAP);
        }
        const network: Network = {
          ...draft,
          scope: 'global',
          pools,
          options: { ...draft.options, [OPT_VXLANID_LIST]: String(vni) },
        };
        const t = await this.#kv.txn(
          [
            absent(nameKey(network.name)),
            absent(vniKey(vni)),
            absent(networkKey(network.id)),
            unchanged(POOLGEN_KEY, poolgenKvs[0]),
            ...poolKeys.map(absent),
          ],
          [
            { kind: 'put', key: networkKey(network.id), value: JSON.stringify(network) },
            { kind: 'put', key: nameKey(network.name), value: network.id },
            { kind: 'put', key: vniKey(vni), value: network.id },
            ...poolKeys.map((key): TxnOp => ({ kind: 'put', key, value: network.id })),
            { kind: 'put', key: POOLGEN_KEY, value: network.id },
            { kind: 'put', key: netgenKey(network.id), value: '' },
          ],
          createSnapshotOps(draft.name),
        );
        if (t.succeeded) {
          this.#networks.apply(network.id, t.revision, network);
          this.#log.info('global network created', { id: network.id, name: network.name, vni });
          return network;
        }
        if (attempt >= CREATE_RETRIES) {
          throw new BerthError('ERR_CLUSTER', `create network ${draft.name}: lost the race for name, VXLAN ID or pools ${attempt + 1} times`);
        }
        snap = t.results;
      }
    });
  }

  /**
   * Removes a global network everywhere: refused with ERR_NETWORK_IN_USE while any address
   * claim remains (any host); else one txn guarded by netgen's mod revision deletes every key
   * of the network. Not found → ERR_NETWORK_NOT_FOUND.
   */
  async removeNetwork(networkId: string): Promise<void> {
    this.#assertStarted();
    let snap = (await this.#kv.txn([], removeSnapshotOps(networkId))).results;
    for (let attempt = 0; ; attempt++) {
      const [netKvs = [], addrKvs = [], netgenKvs = [], nameKvs = [], vniKvs = [], poolKvs = [], poolgenKvs = []] = snap;
      const netKv = netKvs[0];
      if (netKv === undefined) throw notFound(networkId);
      const name = parseNetwork(netKv.value, networkId)?.name ?? networkId;
      if (addrKvs.length > 0) {
        const list = addrKvs
          .map((kv) => parseClaim(kv.value))
          .map((c) => `name:"${c?.containerName ?? ''}" id:"${(c?.endpointId ?? '').slice(0, 12)}"`)
          .join(', ');
        throw new BerthError('ERR_NETWORK_IN_USE', `error while removing network: network ${name} has active endpoints (${list})`);
      }
      // The index keys are found by value rather than from the network's JSON, so even a
      // network whose JSON is damaged is removed completely.
      const owned = (kvs: readonly KeyValue[]): TxnOp[] =>
        kvs.filter((kv) => kv.value === networkId).map((kv): TxnOp => ({ kind: 'delete', key: kv.key }));
      const t = await this.#kv.txn(
        [unchanged(networkKey(networkId), netKv), unchanged(netgenKey(networkId), netgenKvs[0]), unchanged(POOLGEN_KEY, poolgenKvs[0])],
        [
          { kind: 'delete', key: networkKey(networkId) },
          ...owned(nameKvs),
          ...owned(vniKvs),
          ...owned(poolKvs),
          { kind: 'put', key: POOLGEN_KEY, value: networkId },
          { kind: 'delete', key: netgenKey(networkId) },
          { kind: 'delete', key: addrsPrefix(networkId), prefix: true },
          { kind: 'delete', key: endpointsPrefix(networkId), prefix: true },
        ],
        removeSnapshotOps(networkId),
      );
      if (t.succeeded) {
        this.#networks.apply(networkId, t.revision, undefined);
        this.#forgetNetwork(networkId);
        this.#log.info('global network removed', { id: networkId, name });
        return;
      }
      if (attempt >= REMOVE_RETRIES) {
        throw new BerthError('ERR_CLUSTER', `remove network ${name}: the network changed under the removal ${attempt + 1} times`);
      }
      snap = t.results;
    }
  }

  /**
   * Claims an IPv4 address on a global network for an endpoint, on this host's lease: `want`
   * exactly (ERR_ADDRESS_IN_USE if another endpoint holds it; fine if this endpoint already
   * does) or, without `want`, the address this endpoint already holds on the network, else the
   * first free of the network's IPv4 pools (every claimed address in use). A claim found on an
   * older lease of this endpoint (daemon restart) is moved to the current one. Retries lost
   * races (≤ 50). Returns the ip without prefix. Remembered, so it is re-put after a lease loss.
   */
  async claimAddress(networkId: string, claim: { endpointId: string; containerName: string; want?: string }): Promise<string> {
    this.#assertStarted();
    // Claims of one network from one host go one at a time: they would otherwise all pick the
    // same first free address and retry each other out (n claims, n² txns).
    return this.#locked(`addr:${networkId}`, () => this.#withLease(() => this.#claim(networkId, claim)));
  }

  async #claim(networkId: string, request: { endpointId: string; containerName: string; want?: string }): Promise<string> {
    const claim: AddressClaim = { endpointId: request.endpointId, containerName: request.containerName, hostId: this.hostId };
    let snap = (await this.#kv.txn([], claimSnapshotOps(networkId))).results;
    for (let attempt = 0; ; attempt++) {
      const [netKvs = [], addrKvs = []] = snap;
      const netKv = netKvs[0];
      if (netKv === undefined) throw notFound(networkId);
      const network = parseNetwork(netKv.value, networkId);
      if (network === undefined) throw new BerthError('ERR_CLUSTER', `network ${networkId} in the cluster store is malformed`);

      const inUse = new Set<string>();
      let ownIp: string | undefined;
      const byIp = new Map<string, KeyValue>();
      for (const kv of addrKvs) {
        const parsed = parseKey(kv.key);
        if (parsed?.kind !== 'addr') continue;
        byIp.set(parsed.ip, kv);
        if (parseClaim(kv.value)?.endpointId === claim.endpointId) ownIp ??= parsed.ip;
        else inUse.add(parsed.ip);
      }
      const wants = request.want !== undefined && request.want !== '';
      const ip = !wants && ownIp !== undefined ? ownIp : chooseAddress(network, inUse, request.want);
      const key = addrKey(networkId, ip);
      const current = byIp.get(ip);
      if (current !== undefined && current.lease === this.#lease) {
        // Already ours on this lease.
        this.#ownClaims.set(key, { networkId, ip, claim });
        this.#claimsOf(networkId).apply(ip, current.modRevision, claim);
        return ip;
      }
      const t = await this.#kv.txn(
        [exists(networkKey(networkId)), current === undefined ? absent(key) : unchanged(key, current)],
        [
          { kind: 'put', key, value: claimJson(claim), lease: this.#lease },
          { kind: 'put', key: netgenKey(networkId), value: '' },
        ],
        claimSnapshotOps(networkId),
      );
      if (t.succeeded) {
        this.#ownClaims.set(key, { networkId, ip, claim });
        this.#claimsOf(networkId).apply(ip, t.revision, claim);
        return ip;
      }
      if (attempt >= CLAIM_RETRIES) {
        throw new BerthError('ERR_CLUSTER', `claim address on network ${network.name}: lost the race ${attempt + 1} times`);
      }
      snap = t.results;
    }
  }

  /** Releases a claim if it is this endpoint's (no-op otherwise, and when the network is gone). Forgets it. */
  async releaseAddress(networkId: string, ip: string, endpointId: string): Promise<void> {
    this.#assertStarted();
    const key = addrKey(networkId, ip);
    if (this.#ownClaims.get(key)?.claim.endpointId === endpointId) this.#ownClaims.delete(key);
    await this.#locked(`addr:${networkId}`, async () => {
      for (let attempt = 0; ; attempt++) {
        const current = await this.#kv.get(key);
        if (current === undefined || parseClaim(current.value)?.endpointId !== endpointId) return;
        const t = await this.#kv.txn([unchanged(key, current)], [{ kind: 'delete', key }]);
        if (t.succeeded) {
          this.#claimsOf(networkId).apply(ip, t.revision, undefined);
          return;
        }
        if (attempt >= CLAIM_RETRIES) {
          throw new BerthError('ERR_CLUSTER', `release address ${ip} on network ${networkId}: lost the race ${attempt + 1} times`);
        }
      }
    });
  }

  /** Announces a running endpoint on the host lease (ERR_NETWORK_NOT_FOUND when the network is gone). Remembered for re-announce. */
  async announce(ep: AnnouncedEndpoint): Promise<void> {
    this.#assertStarted();
    const key = endpointKey(ep.networkId, ep.endpointId);
    this.#ownEndpoints.set(key, ep);
    await this.#withLease(async () => {
      // Guarded by the network's existence so an announcement cannot outlive its network.
      const t = await this.#kv.txn([exists(networkKey(ep.networkId))], [{ kind: 'put', key, value: JSON.stringify(ep), lease: this.#lease }]);
      if (!t.succeeded) {
        this.#ownEndpoints.delete(key);
        throw notFound(ep.networkId);
      }
      this.#endpointsOf(ep.networkId).apply(ep.endpointId, t.revision, ep);
    });
  }

  /** Withdraws an announcement (no-op when absent). Forgets it. */
  async withdraw(networkId: string, endpointId: string): Promise<void> {
    this.#assertStarted();
    const key = endpointKey(networkId, endpointId);
    this.#ownEndpoints.delete(key);
    const revision = await this.#kv.delete(key);
    this.#endpointsOf(networkId).apply(endpointId, revision, undefined);
  }

  /**
   * One keepalive round now (the timer runs it every TTL/3; tests call it to drive the lease
   * deterministically). When the lease is gone, grants a new one and puts back the host key,
   * every remembered claim and announcement. Never rejects: failures are logged.
   */
  tick(): Promise<void> {
    this.#ticking ??= this.#keepAlive().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #keepAlive(): Promise<void> {
    if (this.#state !== 'started') return;
    try {
      const ttl = await this.#kv.leaseKeepAlive(this.#lease);
      if (this.#outage) {
        this.#outage = false;
        this.#log.info('cluster store reachable again', { hostId: this.hostId });
      }
      if (ttl <= 0) {
        this.#log.warn('host lease expired: registering again on a new lease', { hostId: this.hostId, lease: this.#lease });
        this.#lease = await this.#kv.leaseGrant(this.#ttlSec);
        this.#reputPending = true;
      }
      if (this.#reputPending) {
        await this.#reput();
        this.#reputPending = false;
      }
    } catch (err) {
      if (!this.#outage) {
        this.#outage = true;
        this.#log.warn('cluster store unreachable: keeping the host lease alive failed; retrying', {
          hostId: this.hostId,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  /** Puts the host key, our claims and our announcements on the current lease. */
  async #reput(): Promise<void> {
    await this.#putHost();
    for (const [key, own] of [...this.#ownClaims]) await this.#reclaim(key, own);
    for (const [key, ep] of [...this.#ownEndpoints]) {
      const t = await this.#kv.txn([exists(networkKey(ep.networkId))], [{ kind: 'put', key, value: JSON.stringify(ep), lease: this.#lease }]);
      if (t.succeeded) this.#endpointsOf(ep.networkId).apply(ep.endpointId, t.revision, ep);
      else if (this.#ownEndpoints.get(key) === ep) this.#ownEndpoints.delete(key);
    }
    this.#log.info('host registered again', { hostId: this.hostId, lease: this.#lease, claims: this.#ownClaims.size, endpoints: this.#ownEndpoints.size });
  }

  /** Puts one remembered claim back: absent or already ours → ours on the current lease. */
  async #reclaim(key: string, own: OwnClaim): Promise<void> {
    for (let attempt = 0; attempt <= CLAIM_RETRIES; attempt++) {
      const [netKvs = [], curKvs = []] = (await this.#kv.txn([], [get(networkKey(own.networkId)), get(key)])).results;
      if (this.#ownClaims.get(key) !== own) return; // released meanwhile
      if (netKvs.length === 0) {
        this.#ownClaims.delete(key);
        return;
      }
      const current = curKvs[0];
      if (current !== undefined) {
        const holder = parseClaim(current.value);
        if (holder?.endpointId !== own.claim.endpointId) {
          this.#log.error('address lost while the host lease was expired: another endpoint holds it now', {
            networkId: own.networkId,
            ip: own.ip,
            endpointId: own.claim.endpointId,
            otherEndpointId: holder?.endpointId ?? '',
            otherHostId: holder?.hostId ?? '',
          });
          this.#ownClaims.delete(key);
          return;
        }
        if (current.lease === this.#lease) return;
      }
      // Re-creating a claim touches netgen like any claim, so a removal that saw none fails.
      const t = await this.#kv.txn(
        [exists(networkKey(own.networkId)), current === undefined ? absent(key) : unchanged(key, current)],
        [
          { kind: 'put', key, value: claimJson(own.claim), lease: this.#lease },
          ...(current === undefined ? [{ kind: 'put', key: netgenKey(own.networkId), value: '' } as const] : []),
        ],
      );
      if (t.succeeded) {
        this.#claimsOf(own.networkId).apply(own.ip, t.revision, own.claim);
        return;
      }
    }
    throw new BerthError('ERR_CLUSTER', `put back address ${own.ip} on network ${own.networkId}: lost the race too often`);
  }

  async #putHost(): Promise<void> {
    const doc = { advertise: this.advertise, since: this.#since, subnets: this.#localSubnets };
    await this.#kv.put(hostKey(this.hostId), JSON.stringify(doc), { lease: this.#lease });
  }

  /**
   * Publishes the subnets of this host's local networks (in `hosts/<id>`), so global networks
   * created on any host avoid them. Stored at once if joined, else with the join.
   */
  async publishLocalSubnets(subnets: readonly string[]): Promise<void> {
    this.#localSubnets = [...subnets];
    if (this.#state !== 'started') return;
    await this.#withLease(() => this.#putHost());
  }

  /**
   * Runs a write that uses the lease; when it fails with ERR_CLUSTER and a keepalive round then
   * finds the lease was lost (and replaces it), runs it once more on the new lease.
   */
  async #withLease<T>(fn: () => Promise<T>): Promise<T> {
    const lease = this.#lease;
    try {
      return await fn();
    } catch (err) {
      if (!isCode(err, 'ERR_CLUSTER') || this.#state !== 'started') throw err;
      await this.tick();
      if (this.#lease === lease) throw err;
      return fn();
    }
  }

  // --- cache and watch ----------------------------------------------------------------------

  /**
   * Reads everything and replaces the caches (keeping local writes newer than the read), then
   * queues the listener calls that bring the listener from the old caches to the new ones.
   * Returns the read's revision.
   */
  async #relist(): Promise<number> {
    const { kvs, revision } = await this.#kv.list(KEY_ROOT);
    const beforeNets = new Set([...this.#networks.entries()].map(([id]) => id));
    const beforeEps = new Map<string, string>();
    for (const [id] of this.#endpoints) beforeEps.set(id, this.#endpointSignature(id));

    const networks = new RevMap<Network>();
    const claims = new Map<string, RevMap<AddressClaim>>();
    const endpoints = new Map<string, RevMap<AnnouncedEndpoint>>();
    const sub = <T>(m: Map<string, RevMap<T>>, id: string): RevMap<T> => {
      let r = m.get(id);
      if (r === undefined) m.set(id, (r = new RevMap<T>()));
      return r;
    };
    for (const kv of kvs) {
      const parsed = parseKey(kv.key);
      if (parsed?.kind === 'network') {
        const n = parseNetwork(kv.value, parsed.networkId);
        if (n === undefined) this.#log.error('ignoring a malformed network in the cluster store', { key: kv.key });
        else networks.apply(parsed.networkId, kv.modRevision, n);
      } else if (parsed?.kind === 'addr') {
        const c = parseClaim(kv.value);
        if (c === undefined) this.#log.error('ignoring a malformed address claim in the cluster store', { key: kv.key });
        else sub(claims, parsed.networkId).apply(parsed.ip, kv.modRevision, c);
      } else if (parsed?.kind === 'endpoint') {
        const ep = parseEndpoint(kv.value, parsed.networkId, parsed.endpointId);
        if (ep === undefined) this.#log.error('ignoring a malformed endpoint announcement in the cluster store', { key: kv.key });
        else sub(endpoints, parsed.networkId).apply(parsed.endpointId, kv.modRevision, ep);
      }
    }
    // Local writes that completed after the read: keep them (the new watch replays them too).
    for (const [key, e] of this.#networks.newerThan(revision)) networks.apply(key, e.rev, e.value);
    for (const [id, m] of this.#claims) for (const [k, e] of m.newerThan(revision)) sub(claims, id).apply(k, e.rev, e.value);
    for (const [id, m] of this.#endpoints) for (const [k, e] of m.newerThan(revision)) sub(endpoints, id).apply(k, e.rev, e.value);

    this.#networks.replaceWith(networks);
    replaceMap(this.#claims, claims);
    replaceMap(this.#endpoints, endpoints);

    const present = [...this.#networks.entries()];
    for (const [, network] of present) this.#notify((l) => l.networkAdded(network));
    for (const id of beforeNets) {
      if (this.#networks.get(id) === undefined) {
        this.#forgetNetwork(id);
        this.#notify((l) => l.networkRemoved(id));
      }
    }
    for (const [id] of present) {
      if (this.#endpointSignature(id) !== (beforeEps.get(id) ?? '[]')) this.#notify((l) => l.endpointsChanged(id));
    }
    return revision;
  }

  #endpointSignature(networkId: string): string {
    return JSON.stringify(this.endpoints(networkId));
  }

  #watchFrom(revision: number): void {
    const gen = ++this.#watchGen;
    this.#watch = this.#kv.watch(KEY_ROOT, revision, {
      onEvents: (events) => {
        if (gen === this.#watchGen && this.#state === 'started') this.#onEvents(events);
      },
      onReset: (reason) => {
        if (gen === this.#watchGen && this.#state === 'started') void this.#resync(reason);
      },
    });
  }

  #onEvents(events: readonly WatchEvent[]): void {
    const endpointsChanged = new Set<string>();
    let newest = 0;
    for (const ev of events) {
      newest = Math.max(newest, ev.kv.modRevision);
      const parsed = parseKey(ev.kv.key);
      const rev = ev.kv.modRevision;
      if (parsed?.kind === 'network') {
        const id = parsed.networkId;
        if (ev.type === 'delete') {
          if (this.#networks.apply(id, rev, undefined)) {
            this.#forgetNetwork(id);
            this.#notify((l) => l.networkRemoved(id));
          }
          continue;
        }
        const network = parseNetwork(ev.kv.value, id);
        if (network === undefined) {
          this.#log.error('ignoring a malformed network in the cluster store', { key: ev.kv.key });
          continue;
        }
        if (this.#networks.apply(id, rev, network)) this.#notify((l) => l.networkAdded(network));
      } else if (parsed?.kind === 'addr') {
        const claim = ev.type === 'put' ? parseClaim(ev.kv.value) : undefined;
        if (ev.type === 'put' && claim === undefined) {
          this.#log.error('ignoring a malformed address claim in the cluster store', { key: ev.kv.key });
          continue;
        }
        this.#claimsOf(parsed.networkId).apply(parsed.ip, rev, claim);
      } else if (parsed?.kind === 'endpoint') {
        const ep = ev.type === 'put' ? parseEndpoint(ev.kv.value, parsed.networkId, parsed.endpointId) : undefined;
        if (ev.type === 'put' && ep === undefined) {
          this.#log.error('ignoring a malformed endpoint announcement in the cluster store', { key: ev.kv.key });
          continue;
        }
        if (this.#endpointsOf(parsed.networkId).apply(parsed.endpointId, rev, ep)) endpointsChanged.add(parsed.networkId);
      }
    }
    // One call per network and batch; none for a network that is gone (networkRemoved said it).
    for (const id of endpointsChanged) {
      if (this.#networks.get(id) !== undefined) this.#notify((l) => l.endpointsChanged(id));
    }
    if (newest > 0) this.#prune(newest);
  }

  /** The watch cannot resume: re-read everything (until it works or we stop), then watch again. */
  async #resync(reason: string): Promise<void> {
    this.#watchGen++;
    this.#watch?.close();
    this.#watch = undefined;
    this.#log.warn('cluster watch reset: re-reading the cluster store', { hostId: this.hostId, reason });
    let warned = false;
    while (this.#state === 'started') {
      try {
        const revision = await this.#relist();
        if (this.#state === 'started') this.#watchFrom(revision + 1);
        return;
      } catch (err) {
        if (!warned) {
          warned = true;
          this.#log.warn('cluster store unreachable: re-reading after a watch reset failed; retrying', {
            hostId: this.hostId,
            error: err instanceof Error ? err.message : String(err),
          });
        }
        await new Promise<void>((resolve) => setTimeout(resolve, RESYNC_RETRY_MS).unref());
      }
    }
  }

  #prune(revision: number): void {
    this.#networks.prune(revision);
    for (const [id, m] of this.#claims) {
      m.prune(revision);
      if (m.empty) this.#claims.delete(id);
    }
    for (const [id, m] of this.#endpoints) {
      m.prune(revision);
      if (m.empty) this.#endpoints.delete(id);
    }
  }

  #claimsOf(networkId: string): RevMap<AddressClaim> {
    let m = this.#claims.get(networkId);
    if (m === undefined) this.#claims.set(networkId, (m = new RevMap()));
    return m;
  }

  #endpointsOf(networkId: string): RevMap<AnnouncedEndpoint> {
    let m = this.#endpoints.get(networkId);
    if (m === undefined) this.#endpoints.set(networkId, (m = new RevMap()));
    return m;
  }

  /** A removed network takes our remembered claims and announcements on it along. */
  #forgetNetwork(networkId: string): void {
    for (const [key, own] of this.#ownClaims) if (own.networkId === networkId) this.#ownClaims.delete(key);
    for (const [key, ep] of this.#ownEndpoints) if (ep.networkId === networkId) this.#ownEndpoints.delete(key);
  }

  /** Queues a listener call; calls run one at a time, in order; a failing one is logged. */
  #notify(call: (listener: ClusterListener) => void | Promise<void>): void {
    this.#notifyChain = this.#notifyChain.then(async () => {
      const listener = this.#listener;
      if (listener === undefined || this.#state !== 'started') return;
      try {
        await call(listener);
      } catch (err) {
        this.#log.error('cluster listener failed', { error: err instanceof Error ? err.message : String(err) });
      }
    });
  }

  /** Runs `fn` after every earlier call holding the same lock has finished. */
  async #locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(name) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    }
  }

  #assertStarted(): void {
    if (this.#state !== 'started') throw new BerthError('ERR_CLUSTER', `cluster service of host ${this.hostId} is not running`);
  }
}

function replaceMap<T>(target: Map<string, RevMap<T>>, source: Map<string, RevMap<T>>): void {
  target.clear();
  for (const [k, v] of source) target.set(k, v);
}
