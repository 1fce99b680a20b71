/**
 * A netlink socket fd (opened by the native addon inside some netns) driven synchronously with
 * `fs.writeSync` / `fs.readSync`.
 *
 * Why synchronous reads do not stall: rtnetlink handles a request inside sendmsg, so the
 * answer is already queued when the write returns (KERNEL-NOTES), and a dump's next chunk is
 * produced inside the read that drains the previous one. The addon sets a 5 s receive timeout
 * so that a read with nothing queued (a bug) ends in EAGAIN instead of hanging the daemon.
 *
 * Replies are matched by sequence number; anything else (left over from an earlier failed
 * exchange) is skipped.
 */
import { closeSync, read, readSync, write, writeSync } from 'node:fs';

import type { KernelError } from '../../errors.js';
import { Errno, kernelErrorFromErrno } from '../errno.js';
import type { NetnsRef } from '../types.js';
import * as C from './constants.js';
import { decodeDoneErrno, decodeError, decodeMessages, type NlMessage } from './decode.js';
import { stampSeq } from './encode.js';

/** The three fd operations the socket needs; injectable so the protocol logic is unit-tested. */
export interface NetlinkIo {
  /** Write one datagram; returns bytes written. */
  write(fd: number, data: Buffer): number;
  /** Read one datagram into `into`; returns bytes read. Throws (with `.code`) on errors. */
  read(fd: number, into: Buffer): number;
  close(fd: number): void;
  /** `write` in libuv's thread pool (for `requestAsync`). */
  writeAsync(fd: number, data: Buffer): Promise<number>;
  /** `read` in libuv's thread pool (for `requestAsync`). */
  readAsync(fd: number, into: Buffer): Promise<number>;
}

/** The real thing: plain read(2)/write(2)/close(2) through node:fs. */
export const fsNetlinkIo: NetlinkIo = {
  write: (fd, data) => writeSync(fd, data),
  read: (fd, into) => readSync(fd, into, 0, into.length, null),
  close: (fd) => closeSync(fd),
  writeAsync: (fd, data) =>
    new Promise((resolve, reject) => write(fd, data, 0, data.length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  readAsync: (fd, into) =>
    new Promise((resolve, reject) => read(fd, into, 0, into.length, null, (err, n) => (err ? reject(err) : resolve(n)))),
};

/** One request of a batch and the operation it belongs to (for error messages). */
export interface BatchItem {
  /** An encoded request with NLM_F_ACK set. */
  readonly message: Buffer;
  /** e.g. `link-add br-1a2b` */
  readonly op: string;
}

/** The outcome of one request of a batch. */
export type BatchOutcome =
  | { readonly ok: true; readonly replies: readonly NlMessage[] }
  | { readonly ok: false; readonly error: KernelError };

/** The messages of a dump, and whether the kernel flagged it inconsistent (NLM_F_DUMP_INTR). */
export interface DumpResult {
  readonly messages: readonly NlMessage[];
  readonly interrupted: boolean;
}

/**
 * Big enough for any single datagram rtnetlink sends us: dump chunks are capped near 32 KiB.
 * One buffer for all sockets: reads are synchronous and each read is copied before the next.
 */
const readBuffer = Buffer.alloc(256 * 1024);

/** A netlink socket bound inside one netns. */
export class NetlinkSocket {
  readonly #fd: number;
  readonly #netns: NetnsRef;
  readonly #io: NetlinkIo;
  #seq: number;
  #closed = false;
  /** `requestAsync` calls, one after another; and their own read buffer. */
  #asyncQueue: Promise<unknown> = Promise.resolve();
  #asyncBuffer: Buffer | undefined;

  /** Takes ownership of `fd`, a socket inside `netns` (used in error messages). */
  constructor(fd: number, netns: NetnsRef, io: NetlinkIo = fsNetlinkIo) {
    this.#fd = fd;
    this.#netns = netns;
    this.#io = io;
    // Start away from 0 so replies to a fresh socket are never confused with seq-0 messages.
    this.#seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
  }

  /** The netns this socket lives in. */
  get netns(): NetnsRef {
    return this.#netns;
  }

  /** Send one request and wait for its ack; returns the data replies before the ack. */
  request(message: Buffer, op: string): readonly NlMessage[] {
    const [outcome] = this.requestBatch([{ message, op }]);
    if (outcome === undefined) throw new Error('unreachable: a batch of one has one outcome');
    if (!outcome.ok) throw outcome.error;
    return outcome.replies;
  }

  /**
   * Send several requests in one write and collect every ack. The kernel processes each
   * request whatever happened to the ones before it, so each outcome stands on its own.
   */
  requestBatch(items: readonly BatchItem[]): BatchOutcome[] {
    const bySeq = new Map<number, number>();
    const replies: NlMessage[][] = items.map(() => []);
    const outcomes: (BatchOutcome | undefined)[] = items.map(() => undefined);
    for (const [index, item] of items.entries()) {
      assertAck(item.message, item.op);
      const seq = this.#nextSeq();
      stampSeq(item.message, seq);
      bySeq.set(seq, index);
    }
    const ops = items.map((i) => i.op).join(', ');
    this.#write(Buffer.concat(items.map((i) => i.message)), ops);
    while (bySeq.size > 0) {
      for (const message of this.#read(ops)) {
        const index = bySeq.get(message.seq);
        if (index === undefined) continue;
        if (message.type !== C.NLMSG_ERROR) {
          replies[index]?.push(message);
          continue;
        }
        const info = decodeError(message);
        const op = items[index]?.op ?? ops;
        outcomes[index] =
          info.errno === 0
            ? { ok: true, replies: replies[index] ?? [] }
            : { ok: false, error: this.#error(op, info.errno, info.message) };
        bySeq.delete(message.seq);
      }
    }
    return outcomes.map((o) => o ?? { ok: false, error: this.#error(ops, Errno.EIO, 'no answer') });
  }

  /**
   * `request`, with the write and the read in libuv's thread pool: the kernel handles a request
   * inside the write, and some take long there — deleting a bridge or a veth waits for an RCU
   * grace period (27–45 ms measured), which would stall every client of the daemon and the
   * embedded DNS. Calls run one after another. Give such requests a socket of their own: a
   * synchronous request on the same socket meanwhile would read (and skip) their answer.
   */
  requestAsync(message: Buffer, op: string): Promise<readonly NlMessage[]> {
    const run = (): Promise<readonly NlMessage[]> => this.#requestAsync(message, op);
    const next = this.#asyncQueue.then(run, run);
    this.#asyncQueue = next.catch(() => undefined);
    return next;
  }

  async #requestAsync(message: Buffer, op: string): Promise<readonly NlMessage[]> {
    this.#assertOpen(op);
    assertAck(message, op);
    const seq = this.#nextSeq();
    stampSeq(message, seq);
    let written: number;
    try {
      written = await this.#io.writeAsync(this.#fd, message);
    } catch (err) {
      throw this.#sendError(op, err);
    }
    this.#assertWhole(op, written, message.length);
    const buffer = (this.#asyncBuffer ??= Buffer.alloc(64 * 1024));
    const replies: NlMessage[] = [];
    for (;;) {
      let length: number;
      try {
        length = await this.#io.readAsync(this.#fd, buffer);
      } catch (err) {
        if (errnoOf(err) === Errno.EINTR) continue;
        throw this.#receiveError(op, err);
      }
      for (const m of this.#datagram(op, buffer, length)) {
        if (m.seq !== seq) continue;
        if (m.type !== C.NLMSG_ERROR) {
          replies.push(m);
          continue;
        }
        const info = decodeError(m);
        if (info.errno !== 0) throw this.#error(op, info.errno, info.message);
        return replies;
      }
    }
  }

  /** Send a dump request and read every part until NLMSG_DONE. */
  dump(message: Buffer, op: string): DumpResult {
    const seq = this.#nextSeq();
    stampSeq(message, seq);
    this.#write(message, op);
    const messages: NlMessage[] = [];
    let interrupted = false;
    for (;;) {
      for (const m of this.#read(op)) {
        if (m.seq !== seq) continue;
        if ((m.flags & C.NLM_F_DUMP_INTR) !== 0) interrupted = true;
        if (m.type === C.NLMSG_DONE) {
          const errno = decodeDoneErrno(m);
          if (errno !== 0) throw this.#error(op, errno);
          return { messages, interrupted };
        }
        if (m.type === C.NLMSG_ERROR) {
          const info = decodeError(m);
          throw this.#error(op, info.errno === 0 ? Errno.EIO : info.errno, info.message);
        }
        if (m.type === C.NLMSG_NOOP || m.type === C.NLMSG_OVERRUN) continue;
        messages.push(m);
      }
    }
  }

  /** Close the fd (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#io.close(this.#fd);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) & 0x7fffffff;
    return this.#seq;
  }

  #write(data: Buffer, op: string): void {
    this.#assertOpen(op);
    let written: number;
    try {
      written = this.#io.write(this.#fd, data);
    } catch (err) {
      throw this.#sendError(op, err);
    }
    this.#assertWhole(op, written, data.length);
  }

  #read(op: string): NlMessage[] {
    for (;;) {
      let length: number;
      try {
        length = this.#io.read(this.#fd, readBuffer);
      } catch (err) {
        // A signal can interrupt a read; libuv does not retry reads itself.
        if (errnoOf(err) === Errno.EINTR) continue;
        throw this.#receiveError(op, err);
      }
      return this.#datagram(op, readBuffer, length);
    }
  }

  #assertOpen(op: string): void {
    if (this.#closed) throw this.#error(op, Errno.EBADF, 'netlink socket already closed');
  }

  /** A netlink datagram is sent whole or not at all; anything else means a broken fd. */
  #assertWhole(op: string, written: number, length: number): void {
    if (written !== length) throw this.#error(op, Errno.EIO, `netlink send wrote ${written} of ${length} bytes`);
  }

  #sendError(op: string, err: unknown): KernelError {
    return this.#error(op, errnoOf(err), 'netlink send', err);
  }

  #receiveError(op: string, err: unknown): KernelError {
    const errno = errnoOf(err);
    const detail = errno === Errno.EAGAIN ? 'no answer from the kernel within the receive timeout' : 'netlink receive';
    return this.#error(op, errno, detail, err);
  }

  /** The messages of the datagram read into `buffer` (copied: the buffer is reused). */
  #datagram(op: string, buffer: Buffer, length: number): NlMessage[] {
    if (length >= buffer.length) throw this.#error(op, Errno.ENOBUFS, 'netlink datagram larger than the read buffer');
    return decodeMessages(Buffer.from(buffer.subarray(0, length)));
  }

  #error(op: string, errno: number, detail?: string, cause?: unknown): KernelError {
    return kernelErrorFromErrno({
      op,
      netns: this.#netns,
      errno,
      ...(detail === undefined ? {} : { detail }),
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/** Positive errno of a node:fs error (whose `.errno` is negative), EIO if unknown. */
function errnoOf(err: unknown): number {
  const value = (err as { errno?: unknown } | null)?.errno;
  return typeof value === 'number' && value !== 0 ? Math.abs(value) : Errno.EIO;
}

/** A request the kernel would never acknowledge would wait for an answer forever. */
function assertAck(message: Buffer, op: string): void {
  if (((decodeMessages(message)[0]?.flags ?? 0) & C.NLM_F_ACK) === 0) {
    throw new Error(`${op}: request without NLM_F_ACK would never be answered`);
  }
}
