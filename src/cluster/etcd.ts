/**
 * The `Kv` contract over etcd v3's HTTP/JSON gateway (`POST /v3/...`), with `node:http` only:
 * no gRPC stack. Keys and values travel base64-encoded, int64s as decimal strings, and absent
 * fields mean zero (proto3 JSON). What etcd 3.4.23 actually sends was checked with curl:
 * unary calls answer one JSON object; errors come as a non-200 status with
 * `{error, message, code}` (gRPC code); streams (`/v3/watch`, `/v3/lease/keepalive`) answer
 * newline-terminated `{"result":…}` objects; a txn answers `response_put`/`response_range`/
 * `response_delete_range` (snake_case).
 *
 * Unary calls share one keep-alive agent and fail over between endpoints on transport errors,
 * remembering the endpoint that answered. A txn is re-sent elsewhere only if it never reached
 * a server: a CAS whose outcome is unknown must surface as an error, not run twice.
 *
 * A watch holds its own connection and keeps the request body open: every few seconds it
 * writes a `progress_request`, which etcd answers on the stream, so a peer that went silent
 * (host gone or frozen, no RST) is noticed within heartbeat + timeout instead of TCP's minutes.
 */
import http from 'node:http';
import { BerthError, invalid } from '../errors.js';
import type { Compare, KeyValue, Kv, TxnOp, TxnResult, Watch, WatchEvent, WatchHandlers } from './types.js';

/**
 * Turns berthd's `--cluster-store etcd://host:port[,host:port…]` into base URLs
 * (`http://host:port`). IPv6 hosts are written in brackets (`etcd://[fd00::1]:2379`).
 */
export function parseClusterStore(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url.trim());
  if (m === null) throw invalid(`invalid cluster store ${JSON.stringify(url)}: want etcd://host:port[,host:port…]`);
  if (m[1]!.toLowerCase() !== 'etcd') throw invalid(`invalid cluster store ${JSON.stringify(url)}: berth supports etcd:// only, not ${m[1]}://`);
  const rest = m[2]!.endsWith('/') ? m[2]!.slice(0, -1) : m[2]!;
  if (rest.includes('/')) throw invalid(`invalid cluster store ${JSON.stringify(url)}: a key path is not supported, want etcd://host:port[,host:port…]`);
  if (rest === '') throw invalid(`invalid cluster store ${JSON.stringify(url)}: no host:port given`);
  return rest.split(',').map((hostPort) => {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d+))?$/.exec(hostPort);
    if (hp === null) throw invalid(`invalid cluster store ${JSON.stringify(url)}: ${JSON.stringify(hostPort)} is not host:port`);
    const port = hp[2] === undefined ? NaN : Number(hp[2]);
    if (!(port >= 1 && port <= 65535)) throw invalid(`invalid cluster store ${JSON.stringify(url)}: ${JSON.stringify(hostPort)} needs a port (1-65535), e.g. ${hp[1]}:2379`);
    return `http://${hp[1]}:${port}`;
  });
}

/** At most this often a watch asks etcd for a progress notification (its heartbeat). */
const HEARTBEAT_MS = 5_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2_000;

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');
const int = (s: string | number | undefined): number => Number(s ?? 0);

/** etcd's rule for "every key under prefix": the prefix with its last byte below 0xff plus one. */
export function prefixRangeEnd(prefix: string): string {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return b64(end.subarray(0, i + 1));
    }
  }
  return b64(Buffer.from([0])); // all 0xff (or empty): "\0" means every key
}

/** The wire range for "every key under prefix"; etcd wants a key, so '' becomes "\0" (as clientv3 does). */
function prefixRange(prefix: string): { key: string; range_end: string } {
  return { key: prefix === '' ? b64(Buffer.from([0])) : b64(prefix), range_end: prefixRangeEnd(prefix) };
}

/** Cuts a byte stream into lines; a partial line waits for the chunk that ends it. */
export class LineSplitter {
  #rest = '';
  /** Complete, non-empty lines so far. Feed strings decoded with `setEncoding('utf8')`. */
  push(chunk: string): string[] {
    const parts = (this.#rest + chunk).split('\n');
    this.#rest = parts.pop()!;
    return parts.filter((l) => l.trim() !== '');
  }
}

interface WireKv { key?: string; value?: string; create_revision?: string; mod_revision?: string; version?: string; lease?: string }
interface WireHeader { revision?: string }
interface WireRange { header?: WireHeader; kvs?: WireKv[] }
interface WireWatchResult {
  header?: WireHeader;
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: { type?: 'PUT' | 'DELETE'; kv?: WireKv }[];
}

function toKeyValue(w: WireKv): KeyValue {
  return {
    key: unb64(w.key),
    value: unb64(w.value),
    createRevision: int(w.create_revision),
    modRevision: int(w.mod_revision),
    version: int(w.version),
    lease: w.lease ?? '0',
  };
}

const TARGETS = { version: ['VERSION', 'version'], mod: ['MOD', 'mod_revision'], create: ['CREATE', 'create_revision'], value: ['VALUE', 'value'] } as const;
const RESULTS = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '>': 'GREATER', '<': 'LESS' } as const;

function toWireCompare(c: Compare): object {
  const [target, field] = TARGETS[c.target];
  return { key: b64(c.key), target, result: RESULTS[c.op], [field]: c.target === 'value' ? b64(String(c.value)) : String(c.value) };
}

function toWireOp(op: TxnOp): object {
  const range = (prefix?: boolean) => (prefix ? prefixRange(op.key) : { key: b64(op.key) });
  switch (op.kind) {
    case 'put':
      return { request_put: { key: b64(op.key), value: b64(op.value), ...(op.lease && op.lease !== '0' ? { lease: op.lease } : {}) } };
    case 'delete':
      return { request_delete_range: range(op.prefix) };
    case 'get':
      return { request_range: range(op.prefix) };
  }
}

/** A failed HTTP exchange; `sent` when the request may have reached the server. */
class TransportError extends Error {
  constructor(message: string, readonly sent: boolean) {
    super(message);
  }
}

export interface EtcdKvOptions {
  /** Base URLs, `http://host:port` (see `parseClusterStore`). */
  readonly endpoints: readonly string[];
  /**
   * Per-request timeout, default 5000 ms. A watch stream silent for longer than its heartbeat
   * (min(5 s, timeout)) plus this is dropped and reconnected.
   */
  readonly timeoutMs?: number;
  /** How long a watch keeps failing to reconnect before `onReset`, default 30000 ms. */
  readonly watchResetMs?: number;
}

export class EtcdKv implements Kv {
  readonly #endpoints: readonly string[];
  readonly #timeoutMs: number;
  readonly #watchResetMs: number;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  readonly #watches = new Set<EtcdWatch>();
  #current = 0;
  #closed = false;

  constructor(opts: EtcdKvOptions) {
    if (opts.endpoints.length === 0) throw invalid('etcd client: no endpoints given');
    this.#endpoints = [...opts.endpoints];
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#watchResetMs = opts.watchResetMs ?? 30_000;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = (await this.#call('kv/range', { key: b64(key) })) as WireRange;
    return r.kvs?.[0] === undefined ? undefined : toKeyValue(r.kvs[0]);
  }

  async list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = (await this.#call('kv/range', prefixRange(prefix))) as WireRange;
    return { kvs: (r.kvs ?? []).map(toKeyValue), revision: int(r.header?.revision) };
  }

  async put(key: string, value: string, opts?: { readonly lease?: string }): Promise<number> {
    const lease = opts?.lease && opts.lease !== '0' ? { lease: opts.lease } : {};
    const r = (await this.#call('kv/put', { key: b64(key), value: b64(value), ...lease })) as { header?: WireHeader };
    return int(r.header?.revision);
  }

  async delete(key: string, opts?: { readonly prefix?: boolean }): Promise<number> {
    const r = (await this.#call('kv/deleterange', opts?.prefix ? prefixRange(key) : { key: b64(key) })) as { header?: WireHeader };
    return int(r.header?.revision);
  }

  async txn(compares: readonly Compare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    const body = { compare: compares.map(toWireCompare), success: success.map(toWireOp), failure: failure.map(toWireOp) };
    const r = (await this.#call('kv/txn', body, false)) as { header?: WireHeader; succeeded?: boolean; responses?: { response_range?: WireRange }[] };
    const ran = r.succeeded ? success : failure;
    return {
      succeeded: r.succeeded === true,
      revision: int(r.header?.revision),
      results: ran.map((op, i) => (op.kind === 'get' ? (r.responses?.[i]?.response_range?.kvs ?? []).map(toKeyValue) : [])),
    };
  }

  async leaseGrant(ttlSec: number): Promise<string> {
    const r = (await this.#call('lease/grant', { TTL: ttlSec })) as { ID?: string };
    if (r.ID === undefined) throw new BerthError('ERR_CLUSTER', 'etcd lease/grant: reply has no lease ID');
    return r.ID;
  }

  async leaseKeepAlive(id: string): Promise<number> {
    // A stream endpoint: one request line in, one `{"result":…}` (or `{"error":…}`) line out.
    const r = (await this.#call('lease/keepalive', { ID: id })) as { result?: { TTL?: string }; error?: { message?: string } };
    if (r.error !== undefined) throw new BerthError('ERR_CLUSTER', `etcd lease/keepalive: ${r.error.message ?? JSON.stringify(r.error)}`);
    return Math.max(0, int(r.result?.TTL)); // TTL absent: the lease expired or never existed
  }

  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.#call('lease/revoke', { ID: id });
    } catch (err) {
      // Revoking a lease that is already gone is success (teardown is idempotent).
      if (!(err instanceof BerthError && /requested lease not found/.test(err.message))) throw err;
    }
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    if (this.#closed) throw new BerthError('ERR_CLUSTER', 'etcd client is closed');
    const w = new EtcdWatch(prefixRange(prefix), fromRevision, handlers, {
      endpoint: (attempt) => this.#endpoints[(this.#current + attempt) % this.#endpoints.length]!,
      timeoutMs: this.#timeoutMs,
      resetMs: this.#watchResetMs,
      done: () => this.#watches.delete(w),
    });
    this.#watches.add(w);
    return w;
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watches) w.close();
    this.#agent.destroy();
  }

  /** POSTs to each endpoint in turn, from the last one that answered; returns the parsed reply. */
  async #call(path: string, body: object, resendAfterSent = true): Promise<unknown> {
    if (this.#closed) throw new BerthError('ERR_CLUSTER', 'etcd client is closed');
    const failures: string[] = [];
    for (let i = 0; i < this.#endpoints.length; i++) {
      const idx = (this.#current + i) % this.#endpoints.length;
      const base = this.#endpoints[idx]!;
      let status: number, text: string;
      try {
        ({ status, text } = await this.#post(base, path, body));
      } catch (err) {
        const e = err as TransportError;
        failures.push(`${base}: ${e.message}`);
        if (e.sent && !resendAfterSent) {
          failures.push(`not re-sent, it may have been applied`);
          break;
        }
        continue;
      }
      let reply: { error?: unknown; message?: string; code?: number } | undefined;
      try {
        reply = JSON.parse(text) as typeof reply;
      } catch {
        reply = undefined;
      }
      if (status === 200 && reply !== undefined) {
        this.#current = idx;
        return reply;
      }
      const message = reply?.message ?? (typeof reply?.error === 'string' ? reply.error : `HTTP ${status}: ${text.slice(0, 200)}`);
      // gRPC UNAVAILABLE (e.g. "no leader"): another member may do better.
      if (reply?.code === 14 && resendAfterSent) {
        failures.push(`${base}: ${message}`);
        continue;
      }
      throw new BerthError('ERR_CLUSTER', `etcd ${path}: ${message}`);
    }
    throw new BerthError('ERR_CLUSTER', `cluster store unreachable: ${failures.join('; ')}`);
  }

  #post(base: string, path: string, body: object): Promise<{ status: number; text: string }> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let sent = false;
      const req = http.request(new URL(`/v3/${path}`, base), {
        method: 'POST',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      });
      const timer = setTimeout(() => req.destroy(new Error(`no reply within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      const fail = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // A kept-alive socket the server had already closed: the request was never read.
        const unread = req.reusedSocket && err.code === 'ECONNRESET';
        reject(new TransportError(err.message || String(err), sent && !unread));
      };
      req.on('socket', (socket) => {
        if (!socket.connecting) sent = true;
        else socket.once('connect', () => (sent = true));
      });
      req.on('error', fail);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', fail);
        res.on('close', () => res.complete || fail(new Error('connection closed mid-reply')));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text });
        });
      });
      req.end(payload);
    });
  }
}

interface WatchDeps {
  /** The endpoint for the n-th connection attempt. */
  endpoint(attempt: number): string;
  readonly timeoutMs: number;
  readonly resetMs: number;
  done(): void;
}

/** One watch: a stream, and the reconnect loop that resumes it after the last delivered revision. */
class EtcdWatch implements Watch {
  /** The revision to (re)start from; 0 until known when the caller asked for "now". */
  #next: number;
  #attempt = 0;
  #backoff = BACKOFF_MIN_MS;
  #failingSince: number | undefined;
  #req: http.ClientRequest | undefined;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(
    readonly create: { key: string; range_end: string },
    fromRevision: number,
    readonly handlers: WatchHandlers,
    readonly deps: WatchDeps,
  ) {
    this.#next = Math.max(0, fromRevision);
    this.#connect();
  }

  close(): void {
    this.#stop();
  }

  #connect(): void {
    const base = this.deps.endpoint(this.#attempt);
    const req = http.request(new URL('/v3/watch', base), { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } });
    this.#req = req;
    let lost = false;
    const fail = (detail: string) => {
      if (lost || this.#req !== req) return;
      lost = true;
      this.#lost(`${base}: ${detail}`);
    };
    // Until the reply starts: the request timeout. Then the heartbeat makes etcd speak every
    // `beat` ms, and a silence longer than a beat plus the timeout means the peer is gone.
    const timeoutMs = this.deps.timeoutMs;
    const beat = Math.min(HEARTBEAT_MS, timeoutMs);
    let watchdog = setTimeout(() => fail(`no reply within ${timeoutMs} ms`), timeoutMs).unref();
    const heartbeat = setInterval(() => req.write(`${JSON.stringify({ progress_request: {} })}\n`), beat).unref();
    this.#timers = [watchdog, heartbeat];
    req.on('error', (err) => fail(err.message));
    req.on('response', (res) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => fail(`watch stream silent for ${beat + timeoutMs} ms`), beat + timeoutMs).unref();
      this.#timers = [watchdog, heartbeat];
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: string) => (text += d));
        res.on('end', () => fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        return;
      }
      const lines = new LineSplitter();
      res.on('data', (chunk: string) => {
        watchdog.refresh();
        for (const line of lines.push(chunk)) {
          if (lost || this.#req !== req) return;
          let msg: { result?: WireWatchResult; error?: { message?: string } };
          try {
            msg = JSON.parse(line) as typeof msg;
          } catch {
            return fail(`bad watch line: ${line.slice(0, 200)}`);
          }
          if (msg.error !== undefined) return fail(`etcd: ${msg.error.message ?? JSON.stringify(msg.error)}`);
          if (msg.result !== undefined) this.#result(msg.result, fail);
        }
      });
      res.on('error', (err) => fail(err.message));
      res.on('end', () => fail('watch stream ended'));
      res.on('close', () => fail('watch stream closed'));
    });
    const start = this.#next > 0 ? { start_revision: String(this.#next) } : {};
    req.write(`${JSON.stringify({ create_request: { ...this.create, ...start } })}\n`);
  }

  #result(r: WireWatchResult, fail: (detail: string) => void): void {
    if (int(r.compact_revision) > 0) {
      return this.#reset(`watch from revision ${this.#next} lost: etcd compacted up to revision ${r.compact_revision}`);
    }
    if (r.canceled) return fail(`watch canceled by etcd${r.cancel_reason ? `: ${r.cancel_reason}` : ''}`);
    if (r.created) {
      this.#failingSince = undefined;
      this.#backoff = BACKOFF_MIN_MS;
      // Started at "now": etcd began right after the header's revision.
      if (this.#next === 0) this.#next = int(r.header?.revision) + 1;
    }
    if (r.events === undefined || r.events.length === 0) return;
    const events: WatchEvent[] = r.events.map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: toKeyValue(e.kv ?? {}) }));
    // Resume after the newest event, not the header: etcd may send a header ahead of a batch.
    const revision = Math.max(...events.map((e) => e.kv.modRevision));
    this.#next = revision + 1;
    this.handlers.onEvents(events, revision);
  }

  #lost(detail: string): void {
    this.#teardown();
    if (this.#stopped) return;
    const now = Date.now();
    this.#failingSince ??= now;
    if (now - this.#failingSince >= this.deps.resetMs) {
      return this.#reset(`watch lost for ${Math.round((now - this.#failingSince) / 1000)} s: cluster store unreachable: ${detail}`);
    }
    this.#attempt++;
    this.#timers = [setTimeout(() => this.#connect(), this.#backoff).unref()];
    this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
  }

  #reset(reason: string): void {
    if (this.#stopped) return;
    this.#stop();
    this.handlers.onReset(reason);
  }

  #teardown(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    this.#req?.destroy();
    this.#req = undefined;
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#teardown();
    this.deps.done();
  }
}
