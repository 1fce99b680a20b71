/**
 * An in-memory {@link Kv} that behaves like etcd v3, so the cluster logic is unit-tested
 * against the semantics it will meet in production rather than against a convenient map.
 *
 * What it reproduces of etcd:
 * - One store revision (starting at 1, as a fresh etcd), bumped once per put, per delete that
 *   deletes something, per txn whose branch changes something, and per lease revocation or
 *   expiry that deletes keys. Every key carries createRevision, modRevision and version (puts
 *   since creation); a put always makes a new revision, even with the same value.
 * - Txn compares on version/mod/create/value with = != > <. A missing key compares as all-zero
 *   revisions, and any `value` compare on it is false (etcd `applyCompare`). A branch that puts
 *   one key twice, or puts a key its own delete covers, is refused as etcd refuses it
 *   ("duplicate key given in txn request"); a put naming a lease that does not exist is refused
 *   ("requested lease not found") and nothing of the txn is applied.
 * - Leases with a TTL on real, unref'd timers; keepalive returns the TTL, 0 for an unknown
 *   lease; revocation or expiry deletes the attached keys in one revision, in key order.
 * - Watches from a revision: past events from the history, then live ones, delivered on later
 *   turns of the event loop (as a network client would), in order, one revision per delivery.
 *   A start revision below the compacted one ends the watch with `onReset`.
 *
 * For tests, several clients share one store: `connect()` returns another client of the same
 * store (one per simulated host), with its own watches and its own failure switches
 * (`setUnavailable`, `failNext`). While a client is unavailable its calls reject with
 * `ERR_CLUSTER` and its watches hold their events, delivering them when it is back (an etcd
 * client resumes its stream), or resetting when the store was compacted past them meanwhile.
 * `expireLease`, `compact`, `resetWatches` and `pauseWatches` (a lagging stream) force what
 * timers and networks do by chance.
 *
 * Every call takes one `setImmediate` hop before it runs, so concurrent callers interleave at
 * every round trip as they do over the network.
 */
import { randomBytes } from 'node:crypto';
import { BerthError } from '../errors.js';
import type { Compare, KeyValue, Kv, TxnOp, TxnResult, Watch, WatchEvent, WatchHandlers } from './types.js';

interface LeaseState {
  readonly ttlSec: number;
  readonly keys: Set<string>;
  timer: NodeJS.Timeout;
}

interface Watcher {
  readonly client: MemoryKv;
  readonly prefix: string;
  readonly handlers: WatchHandlers;
  pending: WatchEvent[];
  scheduled: boolean;
  closed: boolean;
}

/** The state every client of one store shares: the "etcd server". */
class SharedStore {
  revision = 1;
  /** Events below this revision are gone from the history. */
  compacted = 0;
  readonly keys = new Map<string, KeyValue>();
  readonly leases = new Map<string, LeaseState>();
  /** Every event since the compaction point, in revision order. */
  history: WatchEvent[] = [];
  readonly watchers = new Set<Watcher>();
}

const hop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function clusterError(message: string): BerthError {
  return new BerthError('ERR_CLUSTER', message);
}

function compareValues(actual: number | string, op: Compare['op'], expected: number | string): boolean {
  let cmp: number;
  if (typeof actual === 'string' && typeof expected === 'string') {
    // etcd compares bytes.
    cmp = Buffer.compare(Buffer.from(actual), Buffer.from(expected));
  } else {
    cmp = actual === expected ? 0 : actual < expected ? -1 : 1;
  }
  switch (op) {
    case '=':
      return cmp === 0;
    case '!=':
      return cmp !== 0;
    case '>':
      return cmp > 0;
    case '<':
      return cmp < 0;
  }
}

/** A new lease ID: a random positive int64, as decimal text, never '0'. */
function newLeaseId(taken: ReadonlyMap<string, unknown>): string {
  for (;;) {
    const id = BigInt.asUintN(63, randomBytes(8).readBigUInt64BE()).toString();
    if (id !== '0' && !taken.has(id)) return id;
  }
}

/** One client of an in-memory etcd-like store. `new MemoryKv()` makes a new, empty store. */
export class MemoryKv implements Kv {
  readonly #store: SharedStore;
  readonly #watchers = new Set<Watcher>();
  #unavailable = false;
  #watchesPaused = false;
  #failures = 0;
  #closed = false;

  /** A client of a new empty store, or — with `sharing` — another client of that one's store. */
  constructor(sharing?: MemoryKv) {
    this.#store = sharing === undefined ? new SharedStore() : sharing.#store;
  }

  /** Another client of the same store (another host's connection). */
  connect(): MemoryKv {
    return new MemoryKv(this);
  }

  // --- test controls ------------------------------------------------------------------------

  /** The store's current revision. */
  get revision(): number {
    return this.#store.revision;
  }

  /**
   * Makes this client's calls reject with `ERR_CLUSTER` (the store is unreachable from it) or
   * work again. Its watches hold events meanwhile and deliver them once it is back.
   */
  setUnavailable(unavailable: boolean): void {
    this.#unavailable = unavailable;
    if (!unavailable) for (const w of this.#watchers) this.#schedule(w);
  }

  /**
   * Holds (or releases) this client's watch deliveries while its calls keep working: a slow
   * stream, so tests can let a client's own writes overtake the events before them.
   */
  pauseWatches(paused: boolean): void {
    this.#watchesPaused = paused;
    if (!paused) for (const w of this.#watchers) this.#schedule(w);
  }

  /** Makes this client's next `n` calls reject with `ERR_CLUSTER`. */
  failNext(n: number): void {
    this.#failures = n;
  }

  /** Expires a lease now, as its timer would: its keys are deleted. False when it did not exist. */
  expireLease(id: string): boolean {
    return this.#revokeLease(id);
  }

  /** IDs of the live leases. */
  leaseIds(): string[] {
    return [...this.#store.leases.keys()];
  }

  /** Drops the history below `revision`: watches starting (or held) before it reset. */
  compact(revision: number): void {
    const s = this.#store;
    if (revision > s.revision) throw clusterError(`etcdserver: mvcc: required revision is a future revision`);
    if (revision <= s.compacted) return;
    s.compacted = revision;
    s.history = s.history.filter((e) => e.kv.modRevision >= revision);
  }

  /** Ends every live watch of this client with `onReset(reason)`, as a stream that could not resume. */
  resetWatches(reason = 'watch stream lost'): void {
    for (const w of [...this.#watchers]) this.#reset(w, reason);
  }

  // --- Kv -----------------------------------------------------------------------------------

  async get(key: string): Promise<KeyValue | undefined> {
    await this.#enter();
    return this.#store.keys.get(key);
  }

  async list(prefix: string): Promise<{ readonly kvs: readonly KeyValue[]; readonly revision: number }> {
    await this.#enter();
    return { kvs: this.#range(prefix, true), revision: this.#store.revision };
  }

  async put(key: string, value: string, opts?: { readonly lease?: string }): Promise<number> {
    await this.#enter();
    return this.#write([{ kind: 'put', key, value, lease: opts?.lease }]).revision;
  }

  async delete(key: string, opts?: { readonly prefix?: boolean }): Promise<number> {
    await this.#enter();
    return this.#write([{ kind: 'delete', key, prefix: opts?.prefix }]).revision;
  }

  async txn(compares: readonly Compare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    await this.#enter();
    checkBranch(success);
    checkBranch(failure);
    const succeeded = compares.every((c) => this.#holds(c));
    const { revision, results } = this.#write(succeeded ? success : failure);
    return { succeeded, revision, results };
  }

  async leaseGrant(ttlSec: number): Promise<string> {
    await this.#enter();
    const s = this.#store;
    const id = newLeaseId(s.leases);
    // etcd raises a TTL below its minimum; 1 s is ours.
    const ttl = Math.max(1, Math.ceil(ttlSec));
    s.leases.set(id, { ttlSec: ttl, keys: new Set(), timer: this.#leaseTimer(id, ttl) });
    return id;
  }

  async leaseKeepAlive(id: string): Promise<number> {
    await this.#enter();
    const lease = this.#store.leases.get(id);
    if (lease === undefined) return 0;
    clearTimeout(lease.timer);
    lease.timer = this.#leaseTimer(id, lease.ttlSec);
    return lease.ttlSec;
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.#enter();
    if (!this.#revokeLease(id)) throw clusterError('etcdserver: requested lease not found');
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const s = this.#store;
    const w: Watcher = { client: this, prefix, handlers, pending: [], scheduled: false, closed: false };
    if (this.#closed) {
      w.closed = true;
      setImmediate(() => handlers.onReset('client closed'));
      return { close() {} };
    }
    this.#watchers.add(w);
    s.watchers.add(w);
    // etcd: start revision 0 (or below 1) means "from now on".
    const from = fromRevision > 0 ? fromRevision : s.revision + 1;
    if (from < s.compacted) {
      this.#reset(w, `mvcc: required revision has been compacted (start ${from}, compacted ${s.compacted})`);
    } else {
      w.pending = s.history.filter((e) => e.kv.modRevision >= from && e.kv.key.startsWith(prefix));
      if (w.pending.length > 0) this.#schedule(w);
    }
    return { close: () => this.#closeWatcher(w) };
  }

  close(): void {
    this.#closed = true;
    for (const w of [...this.#watchers]) this.#closeWatcher(w);
  }

  // --- internals ----------------------------------------------------------------------------

  /** One round trip: a hop, then the failure switches. */
  async #enter(): Promise<void> {
    await hop();
    if (this.#closed) throw clusterError('cluster store client is closed');
    if (this.#unavailable) throw clusterError('cluster store unreachable (memory kv set unavailable)');
    if (this.#failures > 0) {
      this.#failures--;
      throw clusterError('cluster store unreachable (memory kv failNext)');
    }
  }

  #range(key: string, prefix: boolean | undefined): KeyValue[] {
    if (!prefix) {
      const kv = this.#store.keys.get(key);
      return kv === undefined ? [] : [kv];
    }
    const found: KeyValue[] = [];
    for (const kv of this.#store.keys.values()) if (kv.key.startsWith(key)) found.push(kv);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #holds(c: Compare): boolean {
    const kv = this.#store.keys.get(c.key);
    if (c.target === 'value') {
      if (typeof c.value !== 'string') throw new BerthError('ERR_INTERNAL', `txn compare on value of ${c.key} needs a string`);
      // etcd: a value compare on a missing key is always false.
      return kv !== undefined && compareValues(kv.value, c.op, c.value);
    }
    if (typeof c.value !== 'number') throw new BerthError('ERR_INTERNAL', `txn compare on ${c.target} of ${c.key} needs a number`);
    const actual =
      kv === undefined ? 0 : c.target === 'version' ? kv.version : c.target === 'mod' ? kv.modRevision : kv.createRevision;
    return compareValues(actual, c.op, c.value);
  }

  /**
   * Applies `ops` atomically at one new revision (only if something changes) and publishes the
   * events. Every put's lease is checked first, so a refused txn changes nothing.
   */
  #write(ops: readonly TxnOp[]): { revision: number; results: KeyValue[][] } {
    const s = this.#store;
    for (const op of ops) {
      if (op.kind === 'put' && op.lease !== undefined && op.lease !== '0' && !s.leases.has(op.lease)) {
        throw clusterError('etcdserver: requested lease not found');
      }
    }
    const rev = s.revision + 1;
    const events: WatchEvent[] = [];
    const results: KeyValue[][] = [];
    for (const op of ops) {
      switch (op.kind) {
        case 'get':
          results.push(this.#range(op.key, op.prefix));
          break;
        case 'put': {
          const prev = s.keys.get(op.key);
          const lease = op.lease ?? '0';
          if (prev !== undefined && prev.lease !== lease) s.leases.get(prev.lease)?.keys.delete(op.key);
          if (lease !== '0') s.leases.get(lease)?.keys.add(op.key);
          const kv: KeyValue = {
            key: op.key,
            value: op.value,
            createRevision: prev?.createRevision ?? rev,
            modRevision: rev,
            version: (prev?.version ?? 0) + 1,
            lease,
          };
          s.keys.set(op.key, kv);
          events.push({ type: 'put', kv });
          results.push([]);
          break;
        }
        case 'delete':
          for (const kv of this.#range(op.key, op.prefix)) events.push(this.#deleteKey(kv, rev));
          results.push([]);
          break;
      }
    }
    this.#publish(events);
    return { revision: s.revision, results };
  }

  #deleteKey(kv: KeyValue, rev: number): WatchEvent {
    const s = this.#store;
    s.keys.delete(kv.key);
    if (kv.lease !== '0') s.leases.get(kv.lease)?.keys.delete(kv.key);
    return { type: 'delete', kv: { key: kv.key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: '0' } };
  }

  /** Commits the events of one revision: bumps the revision, records and fans them out. */
  #publish(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    const s = this.#store;
    s.revision++;
    s.history.push(...events);
    for (const w of s.watchers) {
      const mine = events.filter((e) => e.kv.key.startsWith(w.prefix));
      if (mine.length === 0) continue;
      w.pending.push(...mine);
      w.client.#schedule(w);
    }
  }

  #leaseTimer(id: string, ttlSec: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#revokeLease(id), ttlSec * 1000);
    timer.unref();
    return timer;
  }

  /** Deletes a lease and its keys (one revision, key order, as etcd's lessor). */
  #revokeLease(id: string): boolean {
    const s = this.#store;
    const lease = s.leases.get(id);
    if (lease === undefined) return false;
    clearTimeout(lease.timer);
    s.leases.delete(id);
    const rev = s.revision + 1;
    const events = [...lease.keys]
      .sort()
      .flatMap((key) => {
        const kv = s.keys.get(key);
        return kv === undefined ? [] : [this.#deleteKey(kv, rev)];
      });
    this.#publish(events);
    return true;
  }

  #schedule(w: Watcher): void {
    if (w.scheduled || w.closed) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      this.#flush(w);
    });
  }

  /** Delivers the oldest pending revision, and schedules the next one. */
  #flush(w: Watcher): void {
    const first = w.pending[0];
    if (w.closed || this.#unavailable || this.#watchesPaused || first === undefined) return;
    const rev = first.kv.modRevision;
    if (rev < this.#store.compacted) {
      this.#reset(w, `mvcc: required revision has been compacted (next ${rev}, compacted ${this.#store.compacted})`);
      return;
    }
    let n = 1;
    while (n < w.pending.length && w.pending[n]?.kv.modRevision === rev) n++;
    const events = w.pending.slice(0, n);
    w.pending = w.pending.slice(n);
    if (w.pending.length > 0) this.#schedule(w);
    w.handlers.onEvents(events, rev);
  }

  #reset(w: Watcher, reason: string): void {
    this.#closeWatcher(w);
    setImmediate(() => w.handlers.onReset(reason));
  }

  #closeWatcher(w: Watcher): void {
    w.closed = true;
    w.pending = [];
    this.#watchers.delete(w);
    this.#store.watchers.delete(w);
  }
}

/** etcd refuses a branch putting a key twice, or putting a key its own delete covers. */
function checkBranch(ops: readonly TxnOp[]): void {
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    if (puts.has(op.key)) throw clusterError('etcdserver: duplicate key given in txn request');
    puts.add(op.key);
  }
  for (const op of ops) {
    if (op.kind !== 'delete') continue;
    for (const key of puts) {
      if (op.prefix ? key.startsWith(op.key) : key === op.key) {
        throw clusterError('etcdserver: duplicate key given in txn request');
      }
    }
  }
}
