/**
 * The firewall as a ModelObserver: it refuses starts whose host ports are taken (with nothing
 * made), and after every change brings berth's nftables tables and the forwarding sysctls in
 * line with the model.
 *
 * Per change, one transaction of element adds/deletes (the rules never change; see render.ts),
 * found by the tracker at a cost proportional to what changed. The first sync (daemon start)
 * replaces both tables whole, so they hold exactly what the model implies; so does the sync
 * after any failure (a replace is idempotent).
 *
 * Order matters for isolation: rules first, then `ip_forward=1`, so there is never a moment
 * where the kernel forwards between networks without the rules that stop it.
 */
import { BerthError } from '../errors.js';
import type { Logger } from '../engine/log.js';
import type { ModelObserver, ModelSnapshot } from '../engine/observers.js';
import { chooseGateway, type Attachment } from '../engine/sandbox.js';
import type { Kernel, NetnsRef } from '../kernel/types.js';
import type { IpFamily } from '../model/cidr.js';
import type { Container, Endpoint } from '../model/container.js';
import { parseBridgeOptions } from '../drivers/bridge/options.js';
import type { NftApplier } from './nft-session.js';
import type { PortRecords } from './port-records.js';
import { allocatePorts, EPHEMERAL_PORT_RANGE, PortIndex, portRequestsOf, type PortRange, type PublishedPort } from './ports.js';
import { renderReplace, type Ruleset } from './render.js';
import { RulesetTracker } from './tracker.js';

/** What the service needs. */
export interface FirewallServiceDeps {
  readonly kernel: Kernel;
  readonly nft: NftApplier;
  readonly records: PortRecords;
  readonly log: Logger;
  /** The netns whose firewall and sysctls are ours (null = berthd's own). */
  readonly netns?: NetnsRef;
  readonly ephemeral?: PortRange;
}

/** How the last sync reached the kernel (tests and the benchmark read it). */
export interface SyncReport {
  readonly kind: 'none' | 'elements' | 'replace';
  /** The whole sync. */
  readonly ms: number;
  /** Of which applying the nft transaction. */
  readonly applyMs: number;
  /** Containers whose elements were recomputed. */
  readonly containersTouched: number;
}

export class FirewallService implements ModelObserver {
  readonly name = 'firewall';
  readonly #kernel: Kernel;
  readonly #nft: NftApplier;
  readonly #records: PortRecords;
  readonly #log: Logger;
  readonly #netns: NetnsRef;
  readonly #ephemeral: PortRange;
  /** Resolved ports by container: running ones, plus one being started. */
  readonly #resolved = new Map<string, readonly PublishedPort[]>();
  /** The host ports of `#resolved`, for conflict checks that do not walk every container. */
  readonly #taken = new PortIndex();
  /** Containers whose resolution changed since the last sync. */
  readonly #changed = new Set<string>();
  /** Resolved by beforeStart, not yet seen running. */
  readonly #pending = new Set<string>();
  readonly #tracker = new RulesetTracker();
  /** False until a replace succeeded, and after any failure: the next sync replaces. */
  #inSync = false;
  #lastEphemeral: number;
  #queue: Promise<unknown> = Promise.resolve();
  /** Sysctls already written (key=value@owner). */
  readonly #sysctls = new Set<string>();
  #last: SyncReport = { kind: 'none', ms: 0, applyMs: 0, containersTouched: 0 };

  constructor(deps: FirewallServiceDeps) {
    this.#kernel = deps.kernel;
    this.#nft = deps.nft;
    this.#records = deps.records;
    this.#log = deps.log;
    this.#netns = deps.netns ?? null;
    this.#ephemeral = deps.ephemeral ?? EPHEMERAL_PORT_RANGE;
    this.#lastEphemeral = this.#ephemeral.end;
  }

  /** How the last sync was applied. */
  get lastSync(): SyncReport {
    return this.#last;
  }

  /** The whole ruleset the model implies, as last synced. */
  get ruleset(): Ruleset {
    return this.#tracker.ruleset;
  }

  /** The ports a container was given when it started (undefined when none are known). */
  publishedPorts(containerId: string): readonly PublishedPort[] | undefined {
    return this.#resolved.get(containerId);
  }

  /**
   * Resolves the container's published ports against those of running containers, records
   * them, or refuses the start with Docker's message. Nothing is made in the kernel here.
   */
  beforeStart(c: Container, snapshot: ModelSnapshot): void {
    // Starts are serial and each waits for its sync: a resolution still pending here belongs to
    // a start that failed after beforeStart. It holds nothing.
    for (const id of this.#pending) {
      if (id === c.id) continue;
      this.#pending.delete(id);
      this.#setResolved(id, undefined);
    }
    const ports = this.#resolve(c, snapshot);
    if (ports === undefined) return;
    this.#records.write(c.id, ports);
    this.#setResolved(c.id, ports);
    this.#pending.add(c.id);
  }

  /** The container's resolution, undefined when it publishes nothing (or cannot: host mode). */
  #resolve(c: Container, snapshot: ModelSnapshot): readonly PublishedPort[] | undefined {
    const mode = c.hostConfig.networkMode;
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return undefined;
    const requests = portRequestsOf(c.hostConfig, c.config.exposedPorts);
    if (requests.length === 0) return undefined;
    // A left-over resolution of this container (a start that failed) must not block it.
    this.#setResolved(c.id, undefined);
    const gw = gatewayOf(this.#tracker.endpointsIn(c.id, snapshot.endpoints), snapshot);
    // No gateway network (only --internal ones): nothing is published, as in Docker.
    if (gw === undefined || gw.network.driver !== 'bridge') return [];
    const families = new Set<IpFamily>();
    if (gw.endpoint.ipv4 !== undefined) families.add(4);
    if (gw.endpoint.ipv6 !== undefined) families.add(6);
    const hostBinding = parseBridgeOptions(gw.network.id, gw.network.options, { mtu: 1500 }).hostBindingIpv4;
    const defaultHostIps = hostBinding === '0.0.0.0' ? ['0.0.0.0', '::'] : [hostBinding];
    try {
      const a = allocatePorts(requests, this.#taken, { defaultHostIps, families, ephemeral: this.#ephemeral, lastEphemeral: this.#lastEphemeral });
      this.#lastEphemeral = a.lastEphemeral;
      return a.ports;
    } catch (err) {
      if (!(err instanceof BerthError)) throw err;
      throw new BerthError(err.code, `driver failed programming external connectivity on endpoint ${c.name} (${gw.endpoint.id}): ${err.message}`, {
        cause: err,
      });
    }
  }

  #setResolved(id: string, ports: readonly PublishedPort[] | undefined): void {
    const old = this.#resolved.get(id);
    if (old === ports) return;
    for (const p of old ?? []) this.#taken.remove(p);
    if (ports === undefined) this.#resolved.delete(id);
    else {
      this.#resolved.set(id, ports);
      for (const p of ports) this.#taken.add(p);
    }
    this.#changed.add(id);
  }

  /** Brings the kernel in line with `snapshot`; changes are applied in call order. */
  sync(snapshot: ModelSnapshot): Promise<void> {
    const run = () => this.#sync(snapshot);
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Stops the nft co-process. */
  close(): void {
    this.#nft.close();
  }

  async #sync(snapshot: ModelSnapshot): Promise<void> {
    const t0 = performance.now();
    // 1. What changed, and the published ports of the containers concerned: a container that
    //    stopped releases its ports; one that runs keeps what it was given (recorded when it
    //    started, read back after a daemon restart, or resolved now if there is no record).
    const touched = this.#tracker.observe(snapshot);
    for (const id of [...touched, ...this.#pending]) {
      const c = this.#tracker.container(id);
      if (c?.state.status !== 'running') {
        this.#setResolved(id, undefined);
        continue;
      }
      this.#pending.delete(id);
      if (this.#resolved.has(id)) continue;
      const recorded = this.#records.read(id);
      if (recorded !== undefined) {
        this.#setResolved(id, recorded);
        continue;
      }
      try {
        const ports = this.#resolve(c, snapshot);
        if (ports !== undefined) {
          this.#records.write(id, ports);
          this.#setResolved(id, ports);
        }
      } catch (err) {
        this.#log.error('firewall: cannot publish the ports of a running container', { container: c.name, error: (err as Error).message });
      }
    }
    for (const id of this.#pending) if (this.#tracker.container(id)?.state.status !== 'running') this.#pending.delete(id);
    const change = this.#tracker.update(this.#resolved, this.#changed);
    this.#changed.clear();
    // 2. One transaction: the element changes, or (first time, after a failure) a replace.
    let kind: SyncReport['kind'] = 'none';
    const ta = performance.now();
    const replace = async () => {
      this.#inSync = false;
      await this.#nft.apply(renderReplace(this.#tracker.ruleset));
      this.#inSync = true;
      kind = 'replace';
    };
    if (!this.#inSync) await replace();
    else if (change.script !== '') {
      try {
        await this.#nft.apply(change.script);
        kind = 'elements';
      } catch (err) {
        this.#log.warn('firewall: element update failed, replacing the tables', { error: (err as Error).message });
        await replace();
      }
    }
    const applyMs = performance.now() - ta;
    // 3. Forwarding, once the rules that police it are in place.
    this.#sysctl('net/ipv4/ip_forward', '1');
    for (const n of snapshot.networks) {
      if (n.driver !== 'bridge') continue;
      if (n.enableIPv6) this.#sysctl('net/ipv6/conf/all/forwarding', '1');
      if (n.internal) continue;
      // 127.0.0.1 → a published port: DNAT in output sends it out of the bridge, which the
      // kernel allows only with route_localnet on that bridge (the guard chain keeps it safe).
      const { bridgeName } = parseBridgeOptions(n.id, n.options, { mtu: 1500 });
      this.#sysctl(`net/ipv4/conf/${bridgeName}/route_localnet`, '1', n.id);
    }
    this.#last = { kind, ms: performance.now() - t0, applyMs, containersTouched: change.containersTouched };
  }

  /** Writes a sysctl once per (key, value, owner): a bridge re-made for a new network gets it again. */
  #sysctl(key: string, value: string, owner = ''): void {
    const k = `${key}=${value}@${owner}`;
    if (this.#sysctls.has(k)) return;
    try {
      this.#kernel.sysctlSet(this.#netns, key, value);
      this.#sysctls.add(k);
    } catch (err) {
      this.#log.error('firewall: sysctl', { key, value, error: (err as Error).message });
    }
  }
}

/** The attachment that would give the container its default route (its ports' target). */
function gatewayOf(endpoints: readonly Endpoint[], snapshot: ModelSnapshot): Attachment | undefined {
  const attachments: Attachment[] = [];
  for (const e of endpoints) {
    const network = snapshot.networks.find((n) => n.id === e.networkId);
    if (network !== undefined) attachments.push({ network, endpoint: e });
  }
  return chooseGateway(attachments);
}
