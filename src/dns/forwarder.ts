/**
 * Forwarding to upstream resolvers: the client's query as it came (EDNS and all) under a fresh
 * random ID, over UDP with a timeout, again over TCP when the UDP answer is truncated; the next
 * upstream on no answer, SERVFAIL or REFUSED (as libnetwork does). Every attempt is bounded, and
 * so is the whole forward, so a dead upstream costs the client one timeout, never a hang; one
 * that is unreachable (ICMP port/host unreachable on the connected socket) fails at once.
 *
 * Queries leave from the daemon's own netns (aardvark-dns does the same; libnetwork leaves from
 * the container's): one place, no socket per container. So a container whose networks are all
 * internal is never forwarded for (see records.ts `mayForward`).
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { answersQuestion, HEADER_BYTES, isTruncated, RCODE, TcpFramer, withId } from './wire.js';
import type { Upstream } from './records.js';

/** Limits of forwarding. */
export interface ForwarderOptions {
  /** One attempt (one upstream, one transport) waits this long. Default 2000 ms. */
  readonly attemptTimeoutMs: number;
  /** A whole forward (all upstreams) ends after this. Default 4000 ms. */
  readonly totalTimeoutMs: number;
  /** Forwards in flight at once; more get SERVFAIL at once (libnetwork: 100). Default 1024. */
  readonly maxInFlight: number;
}

export const DEFAULT_FORWARDER_OPTIONS: ForwarderOptions = { attemptTimeoutMs: 2000, totalTimeoutMs: 4000, maxInFlight: 1024 };

/** The result of one exchange with one upstream. */
type Exchange = { readonly kind: 'reply'; readonly packet: Buffer } | { readonly kind: 'failed'; readonly reason: string };

export class Forwarder {
  readonly #opts: ForwarderOptions;
  #inFlight = 0;

  constructor(opts: Partial<ForwarderOptions> = {}) {
    this.#opts = { ...DEFAULT_FORWARDER_OPTIONS, ...opts };
  }

  /** Forwards in flight now (for tests and logs). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Asks `upstreams` in order. `query` is the client's packet and `questionEnd` where its
   * question ends (answers must repeat it). Resolves to the upstream's answer carrying the
   * client's ID, or undefined when none answered usefully (the caller answers SERVFAIL).
   * Never rejects.
   */
  async forward(query: Buffer, questionEnd: number, upstreams: readonly Upstream[], transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    if (this.#inFlight >= this.#opts.maxInFlight || query.length < HEADER_BYTES) return undefined;
    this.#inFlight++;
    try {
      const clientId = query.readUInt16BE(0);
      const deadline = Date.now() + this.#opts.totalTimeoutMs;
      let fallback: Buffer | undefined;
      for (const up of upstreams) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const timeout = Math.min(this.#opts.attemptTimeoutMs, left);
        const id = randomInt(0, 0x10000);
        const q = withId(query, id);
        let r = transport === 'tcp' ? await exchangeTcp(up, q, questionEnd, timeout) : await exchangeUdp(up, q, questionEnd, timeout);
        if (r.kind === 'reply' && transport === 'udp' && isTruncated(r.packet)) {
          // The full answer over TCP; if that fails, the client still gets the truncated one
          // (and can retry over TCP itself).
          const left2 = deadline - Date.now();
          const full = left2 > 0 ? await exchangeTcp(up, q, questionEnd, Math.min(this.#opts.attemptTimeoutMs, left2)) : undefined;
          if (full?.kind === 'reply') r = full;
        }
        if (r.kind === 'failed') continue;
        const rcode = r.packet.readUInt16BE(2) & 0xf;
        if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
          fallback ??= r.packet;
          continue;
        }
        return withId(r.packet, clientId);
      }
      return fallback === undefined ? undefined : withId(fallback, clientId);
    } finally {
      this.#inFlight--;
    }
  }
}

/**
 * True when `reply` answers `query` (same ID and question), or is an error answer without a
 * question under the same ID (some servers answer FORMERR/REFUSED so): a failure to move on from.
 */
function matches(reply: Buffer, query: Buffer, questionEnd: number): boolean {
  if (reply.length < HEADER_BYTES || reply.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  if (answersQuestion(reply, query, questionEnd)) return true;
  return (reply.readUInt16BE(2) & 0x8000) !== 0 && reply.readUInt16BE(4) === 0 && (reply.readUInt16BE(2) & 0xf) !== 0;
}

/** One query over UDP on a connected socket of its own (a fresh source port each time). */
function exchangeUdp(up: Upstream, query: Buffer, questionEnd: number, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(up.family === 4 ? 'udp4' : 'udp6');
    let done = false;
    const finish = (r: Exchange): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const failed = (err: unknown): void => finish({ kind: 'failed', reason: (err as NodeJS.ErrnoException).code ?? String(err) });
    const timer = setTimeout(() => finish({ kind: 'failed', reason: 'timeout' }), timeoutMs);
    timer.unref();
    sock.unref();
    sock.on('error', failed);
    sock.on('message', (msg) => {
      // Anything else (a late answer to an earlier query, a spoof) is ignored until the timeout.
      if (matches(msg, query, questionEnd)) finish({ kind: 'reply', packet: msg });
    });
    // connect() reports ENETUNREACH (no route) through its callback: send() on a socket that is
    // not connected would throw.
    sock.connect(up.port, up.address, (err?: Error) => {
      if (done) return;
      if (err) {
        failed(err);
        return;
      }
      try {
        sock.send(query, (e) => {
          if (e) failed(e);
        });
      } catch (e) {
        failed(e);
      }
    });
  });
}

/** One query over TCP (2-byte length prefix, RFC 1035 §4.2.2) on a connection of its own. */
function exchangeTcp(up: Upstream, query: Buffer, questionEnd: number, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: up.address, port: up.port, family: up.family });
    let done = false;
    const framer = new TcpFramer();
    const finish = (r: Exchange): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'failed', reason: 'timeout' }), timeoutMs);
    timer.unref();
    sock.unref();
    sock.on('error', (err) => finish({ kind: 'failed', reason: (err as NodeJS.ErrnoException).code ?? err.message }));
    sock.on('close', () => finish({ kind: 'failed', reason: 'closed' }));
    sock.on('connect', () => {
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      const msgs = framer.push(chunk);
      if (msgs === undefined) {
        finish({ kind: 'failed', reason: 'oversized' });
        return;
      }
      for (const m of msgs) {
        if (matches(m, query, questionEnd)) {
          finish({ kind: 'reply', packet: m });
          return;
        }
      }
    });
  });
}
