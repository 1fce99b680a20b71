/**
 * Programming a network's VXLAN with the endpoints on other hosts. With learning off, the
 * vxlan knows a remote MAC only from its FDB (`bridge fdb add MAC dev vx-… dst VTEP`), and
 * with ARP proxy on it answers a container's ARP request from its neighbour table
 * (`ip neigh add IP lladdr MAC dev vx-…`) — what Docker's overlay driver does with the peers
 * it learns from its cluster store.
 *
 * `planPeers` is the pure diff; `OverlayPeers` remembers what it programmed per network and
 * applies diffs, entry by entry. A daemon restart keeps the links, with their entries, but not
 * the memory of them: the first sync of a network in a process reads the vxlan's entries back
 * from the kernel and diffs against those, so entries of peers that went away while the daemon
 * was down are deleted too.
 */
import type { Logger } from '../../engine/log.js';
import { KernelError } from '../../errors.js';
import { Errno } from '../../kernel/errno.js';
import { applyOp, describeOp } from '../../kernel/ops.js';
import type { DeviceNeighbours, Kernel, KernelOp } from '../../kernel/types.js';
import type { Network } from '../../model/network.js';
import { overlayVxlanName } from './options.js';

/** A remote endpoint to reach through a network's VXLAN. */
export interface OverlayPeer {
  /** The endpoint's IPv4 address, without prefix (a `/len` suffix is ignored). */
  readonly ip: string;
  readonly mac: string;
  /** The tunnel endpoint (`--cluster-advertise` address) of the host it runs on. */
  readonly vtep: string;
}

/** A vxlan's entries: FDB MAC → VTEP, neighbour IP → MAC (both keys normalised). */
interface Entries {
  readonly fdb: Map<string, string>;
  readonly neigh: Map<string, string>;
}

/** The entries `peers` need. A MAC or IP listed twice keeps its first peer (the store should never say both). */
function entriesOf(peers: readonly OverlayPeer[]): Entries {
  const fdb = new Map<string, string>();
  const neigh = new Map<string, string>();
  for (const peer of peers) {
    const mac = peer.mac.toLowerCase();
    const ip = peer.ip.split('/')[0] ?? peer.ip;
    if (!fdb.has(mac)) fdb.set(mac, peer.vtep);
    if (!neigh.has(ip)) neigh.set(ip, mac);
  }
  return { fdb, neigh };
}

/** Ops from `current` to `desired` on vxlan `dev`: every delete first, then the adds. */
function planEntries(dev: string, current: Entries, desired: Entries): KernelOp[] {
  const deletes: KernelOp[] = [];
  const adds: KernelOp[] = [];
  // A changed entry is deleted and added: the kernel's adds are exclusive (EEXIST).
  for (const [ip, mac] of current.neigh) {
    if (desired.neigh.get(ip) !== mac) deletes.push({ kind: 'neigh-del', netns: null, dev, ip });
  }
  for (const [mac, vtep] of current.fdb) {
    if (desired.fdb.get(mac) !== vtep) deletes.push({ kind: 'fdb-del', netns: null, dev, mac, dst: vtep });
  }
  // The FDB entry before the neighbour: once ARP is answered, the frame must have a way out.
  for (const [mac, vtep] of desired.fdb) {
    if (current.fdb.get(mac) !== vtep) adds.push({ kind: 'fdb-add', netns: null, dev, mac, dst: vtep });
  }
  for (const [ip, mac] of desired.neigh) {
    if (current.neigh.get(ip) !== mac) adds.push({ kind: 'neigh-add', netns: null, dev, ip, mac });
  }
  return [...deletes, ...adds];
}

/**
 * Whether a vxlan FDB entry can be a peer's: a unicast MAC. The all-zero MAC holds the default
 * destinations (flooding) and group MACs (multicast, broadcast) their own lists of remotes;
 * neither is ever a container's, and the diff must leave them alone.
 */
function isPeerMac(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return Number.isInteger(first) && (first & 1) === 0 && mac !== '00:00:00:00:00:00';
}

/**
 * The peer entries a vxlan holds, from the kernel's listing. A unicast MAC has one remote (the
 * vxlan appends remotes only to the all-zero and group MACs).
 */
function entriesIn(listed: DeviceNeighbours): Entries {
  const fdb = new Map<string, string>();
  const neigh = new Map<string, string>();
  for (const { mac, dst } of listed.fdb) if (isPeerMac(mac)) fdb.set(mac, dst);
  for (const { ip, mac } of listed.neigh) neigh.set(ip, mac);
  return { fdb, neigh };
}

/**
 * Pure: ops that turn `current` into `desired` on network's vxlan (in the daemon netns, netns
 * null): fdb-add MAC dst VTEP + neigh-add IP lladdr MAC for new/changed peers; neigh-del +
 * fdb-del for gone ones (deletes first, then adds). Only the entries that differ are touched:
 * a peer that moved host keeps its neighbour entry and gets a new FDB entry.
 */
export function planPeers(network: Network, current: readonly OverlayPeer[], desired: readonly OverlayPeer[]): KernelOp[] {
  return planEntries(overlayVxlanName(network.id), entriesOf(current), entriesOf(desired));
}

/**
 * `fdb-del … dst 0.0.0.0` removes every remote of a MAC: the vxlan takes the any-address as
 * "no particular remote" and deletes the whole entry (drivers/net/vxlan __vxlan_fdb_delete).
 */
const ANY_REMOTE = '0.0.0.0';

/**
 * Keeps what was programmed per network (starting from what the kernel holds), applies diffs;
 * tolerant: "already exists" on add and "not found" on delete are success (the kernel may
 * still differ from the memory: a read that failed, someone else's `bridge fdb`).
 */
export class OverlayPeers {
  readonly #kernel: Kernel;
  readonly #log: Logger;
  /** Per network id: the entries the kernel holds, as far as we know. */
  readonly #programmed = new Map<string, Entries>();
  /** Networks whose vxlan could not be read: the next sync tries again. */
  readonly #unread = new Set<string>();

  constructor(kernel: Kernel, log: Logger) {
    this.#kernel = kernel;
    this.#log = log;
  }

  /**
   * Brings network's FDB/neighbour entries in line with `desired` (peers on OTHER hosts only —
   * the caller filters out its own host). Logs and continues on failures of single entries;
   * an entry that failed is tried again by the next sync.
   */
  sync(network: Network, desired: readonly OverlayPeer[]): void {
    const dev = overlayVxlanName(network.id);
    const known = this.#known(network.id, dev);
    const now: Entries = { fdb: new Map(known.fdb), neigh: new Map(known.neigh) };
    for (const op of planEntries(dev, known, entriesOf(desired))) {
      try {
        this.#apply(op);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (err instanceof KernelError && err.errno === Errno.ENODEV) {
          // The vxlan is not there (network being removed, or reconcile still to run): every
          // further entry would fail the same way.
          this.#log.warn('overlay peers: the network has no vxlan device', { network: network.id, dev, error });
          break;
        }
        this.#log.warn('overlay peers: entry not programmed', { network: network.id, op: describeOp(op), error });
        continue;
      }
      record(now, op);
    }
    this.#programmed.set(network.id, now);
  }

  /** Drops the memory of a network (its links are being deleted, entries go with them). */
  forget(networkId: string): void {
    this.#programmed.delete(networkId);
    this.#unread.delete(networkId);
  }

  /**
   * What the kernel holds on `dev`: the memory, or on the network's first sync in this process
   * the vxlan's entries read back. No vxlan: nothing (a new one starts empty, and the sync
   * says the device is missing). A failed read is logged and tried again next time; meanwhile
   * the memory stands, and the adds' tolerance covers what it lacks.
   */
  #known(networkId: string, dev: string): Entries {
    const remembered = this.#programmed.get(networkId);
    if (remembered !== undefined && !this.#unread.has(networkId)) return remembered;
    const empty: Entries = { fdb: new Map(), neigh: new Map() };
    try {
      const read = entriesIn(this.#kernel.listNeighbours(null, dev));
      this.#unread.delete(networkId);
      return read;
    } catch (err) {
      if (err instanceof KernelError && err.errno === Errno.ENODEV) {
        this.#unread.delete(networkId);
        return empty;
      }
      const error = err instanceof Error ? err.message : String(err);
      this.#log.warn("overlay peers: cannot read the vxlan's entries, stale ones stay until a later sync", { network: networkId, dev, error });
      this.#unread.add(networkId);
      return remembered ?? empty;
    }
  }

  /** One op; adds replace what a forgotten entry left (deletes already accept "not found"). */
  #apply(op: KernelOp): void {
    try {
      applyOp(this.#kernel, op);
    } catch (err) {
      if (!(err instanceof KernelError && err.errno === Errno.EEXIST)) throw err;
      if (op.kind === 'neigh-add') {
        // Same IP, perhaps another MAC: replace it.
        this.#kernel.neighDel(op.netns, op.dev, op.ip);
        this.#kernel.neighAdd(op.netns, op.dev, op.ip, op.mac);
      } else if (op.kind === 'fdb-add') {
        // The kernel keeps one entry per unicast MAC, perhaps towards another host: replace it.
        this.#kernel.fdbDel(op.netns, op.dev, op.mac, ANY_REMOTE);
        this.#kernel.fdbAdd(op.netns, op.dev, op.mac, op.dst);
      } else {
        throw err;
      }
    }
  }
}

/** Notes a successful op in `entries`. */
function record(entries: Entries, op: KernelOp): void {
  switch (op.kind) {
    case 'fdb-add':
      entries.fdb.set(op.mac, op.dst);
      break;
    case 'fdb-del':
      entries.fdb.delete(op.mac);
      break;
    case 'neigh-add':
      entries.neigh.set(op.ip, op.mac);
      break;
    case 'neigh-del':
      entries.neigh.delete(op.ip);
      break;
    default:
      break;
  }
}
