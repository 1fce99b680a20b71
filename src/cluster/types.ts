/**
 * The cluster contracts: a small key-value interface (what berth needs of etcd v3, so the
 * cluster logic runs against an in-memory store in unit tests) and the data berth keeps there.
 *
 * Values are UTF-8 strings (JSON documents). Revisions and versions are etcd's int64 values as
 * JS numbers (safe below 2^53). Lease IDs are etcd's int64 as decimal strings (they exceed
 * 2^53), '0' meaning "no lease".
 */

/** One stored key. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Number of puts since creation; 0 only for a key that does not exist. */
  readonly version: number;
  /** Lease the key is attached to, '0' for none. */
  readonly lease: string;
}

/** A txn guard, etcd's Compare. `version` 0 means "the key does not exist". */
export interface Compare {
  readonly key: string;
  readonly target: 'version' | 'mod' | 'create' | 'value';
  readonly op: '=' | '!=' | '>' | '<';
  readonly value: number | string;
}

/** One operation inside a txn branch. */
export type TxnOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: string; readonly lease?: string }
  | { readonly kind: 'delete'; readonly key: string; readonly prefix?: boolean }
  | { readonly kind: 'get'; readonly key: string; readonly prefix?: boolean };

export interface TxnResult {
  readonly succeeded: boolean;
  /** Store revision after the txn. */
  readonly revision: number;
  /** For each op of the branch that ran, in order: the keys a `get` found ([] for put/delete). */
  readonly results: readonly (readonly KeyValue[])[];
}

/** A change seen by a watch. For deletes, `kv.value` is '' and `kv.version` 0. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
}

export interface WatchHandlers {
  /** Events of one store revision (or several), in order. `revision` is the newest seen. */
  onEvents(events: readonly WatchEvent[], revision: number): void;
  /**
   * The watch cannot continue from where it was (the revision was compacted, or the stream was
   * lost for longer than the client retries): the caller must re-read everything (`list`) and
   * start a new watch from that read's revision + 1.
   */
  onReset(reason: string): void;
}

export interface Watch {
  close(): void;
}

/** What berth needs of etcd v3. Every method rejects with a BerthError('ERR_CLUSTER') when the store cannot be reached. */
export interface Kv {
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key under `prefix` (sorted by key) and the store revision of the read. */
  list(prefix: string): Promise<{ readonly kvs: readonly KeyValue[]; readonly revision: number }>;
  /** Returns the revision of the write. */
  put(key: string, value: string, opts?: { readonly lease?: string }): Promise<number>;
  /** Deletes one key, or every key under it when `prefix`. Returns the revision. */
  delete(key: string, opts?: { readonly prefix?: boolean }): Promise<number>;
  /** If all `compares` hold, runs `success`, else `failure`; atomically. */
  txn(compares: readonly Compare[], success: readonly TxnOp[], failure?: readonly TxnOp[]): Promise<TxnResult>;
  /** Grants a lease of `ttlSec` seconds; returns its ID. */
  leaseGrant(ttlSec: number): Promise<string>;
  /** Renews a lease; returns its remaining TTL in seconds, 0 when the lease no longer exists. */
  leaseKeepAlive(id: string): Promise<number>;
  leaseRevoke(id: string): Promise<void>;
  /**
   * Watches every key under `prefix`, from `fromRevision` (inclusive). The client reconnects by
   * itself after a lost stream (resuming after the last revision it delivered) and calls
   * `onReset` only when it cannot resume.
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch;
  /** Closes watches and connections. */
  close(): void;
}

/** The root of every key berth writes. */
export const KEY_ROOT = '/berth/v1/';

/**
 * An endpoint running on some host, as announced in the cluster store
 * (`endpoints/<network id>/<endpoint id>`, attached to its host's lease).
 */
export interface AnnouncedEndpoint {
  readonly networkId: string;
  readonly endpointId: string;
  readonly containerId: string;
  /** Container name (DNS). */
  readonly name: string;
  /** Network-scoped aliases (DNS). */
  readonly aliases: readonly string[];
  /** The container's 12-hex short ID (Docker's DNS answers it too). */
  readonly shortId: string;
  /** With prefix, e.g. `10.0.0.2/24`. */
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly mac: string;
  /** The host it runs on (cluster host ID) and that host's VXLAN tunnel endpoint address. */
  readonly hostId: string;
  readonly vtep: string;
}
