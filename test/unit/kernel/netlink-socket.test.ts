// The request/ack and dump protocol of NetlinkSocket, against a scripted fd (no kernel).
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { describe, it } from 'node:test';

import { KernelError } from '../../../src/errors.js';
import * as C from '../../../src/kernel/netlink/constants.js';
import { decodeMessages, type NlMessage } from '../../../src/kernel/netlink/decode.js';
import { attr, encodeLinkDump, encodeLinkGet, encodeMessage, ifinfomsg } from '../../../src/kernel/netlink/encode.js';
import { NetlinkSocket, type NetlinkIo } from '../../../src/kernel/netlink/socket.js';

/** A reply to one request: the datagrams the kernel would queue for it. */
type Responder = (request: NlMessage) => Buffer[][];

/** A fake fd: each write is answered by `respond`, each read returns the next queued datagram. */
class ScriptedIo implements NetlinkIo {
  readonly writes: Buffer[] = [];
  readonly queue: (Buffer | NodeJS.ErrnoException)[] = [];
  closed = 0;

  constructor(private readonly respond: Responder) {}

  write(_fd: number, data: Buffer): number {
    this.writes.push(Buffer.from(data));
    for (const request of decodeMessages(data)) {
      for (const datagram of this.respond(request)) this.queue.push(Buffer.concat(datagram));
    }
    return data.length;
  }

  read(_fd: number, into: Buffer): number {
    const next = this.queue.shift();
    if (next === undefined) throw Object.assign(new Error('EAGAIN: resource temporarily unavailable, read'), { errno: -11, code: 'EAGAIN' });
    if (next instanceof Error) throw next;
    next.copy(into);
    return next.length;
  }

  close(): void {
    this.closed++;
  }

  /** Answers later, as the thread pool would: the caller must not rely on it being synchronous. */
  async writeAsync(fd: number, data: Buffer): Promise<number> {
    await new Promise((r) => setImmediate(r));
    return this.write(fd, data);
  }

  async readAsync(fd: number, into: Buffer): Promise<number> {
    await new Promise((r) => setImmediate(r));
    return this.read(fd, into);
  }
}

/** NLMSG_ERROR for `seq` (errno 0 = ack), capped, with an optional extended-ack text. */
function nlError(seq: number, errno: number, text?: string): Buffer {
  const payload = Buffer.alloc(4 + C.NLMSG_HDRLEN);
  payload.writeInt32LE(-errno, 0);
  const flags = C.NLM_F_CAPPED | (text === undefined ? 0 : C.NLM_F_ACK_TLVS);
  return encodeMessage(C.NLMSG_ERROR, flags, payload, text === undefined ? [] : [attr.str(C.NLMSGERR_ATTR_MSG, text)], { seq });
}

function newLink(seq: number, index: number, name: string, flags = C.NLM_F_MULTI): Buffer {
  return encodeMessage(C.RTM_NEWLINK, flags, ifinfomsg({ index }), [attr.str(C.IFLA_IFNAME, name)], { seq });
}

function done(seq: number, flags = C.NLM_F_MULTI, errno = 0): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeInt32LE(-errno, 0);
  return encodeMessage(C.NLMSG_DONE, flags, payload, [], { seq });
}

describe('NetlinkSocket', { skip: endianness() === 'LE' ? false : 'fixtures are little-endian' }, () => {
  it('returns the data replies that precede the ack, skipping stale sequence numbers', () => {
    const io = new ScriptedIo((req) => [[newLink(req.seq - 1, 9, 'stale', 0), newLink(req.seq, 4, 'eth0', 0), nlError(req.seq, 0)]]);
    const socket = new NetlinkSocket(3, '/run/x', io);
    const replies = socket.request(encodeLinkGet('eth0'), 'link-get eth0');
    assert.equal(replies.length, 1);
    assert.equal(replies[0]?.type, C.RTM_NEWLINK);
    assert.equal(io.writes.length, 1);
  });

  it('sends a batch in one write and reports each outcome on its own', () => {
    const io = new ScriptedIo((req) =>
      req.seq % 2 === 0 ? [[nlError(req.seq, 17, 'already there')]] : [[nlError(req.seq, 0)]],
    );
    const socket = new NetlinkSocket(3, '/run/x', io);
    const outcomes = socket.requestBatch([
      { message: encodeLinkGet('a'), op: 'op-a' },
      { message: encodeLinkGet('b'), op: 'op-b' },
    ]);
    assert.equal(io.writes.length, 1);
    assert.equal(decodeMessages(io.writes[0]!).length, 2);
    const failed = outcomes.find((o) => !o.ok);
    const succeeded = outcomes.find((o) => o.ok);
    assert.ok(succeeded !== undefined && failed !== undefined && !failed.ok);
    assert.equal(failed.error.errno, 17);
    assert.match(failed.error.message, /^op-[ab] in netns \/run\/x: already there: File exists \(EEXIST\)$/);
  });

  it('throws a KernelError with errno for a failed request', () => {
    const io = new ScriptedIo((req) => [[nlError(req.seq, 19)]]);
    const socket = new NetlinkSocket(3, null, io);
    assert.throws(
      () => socket.request(encodeLinkGet('nope'), 'link-get nope'),
      (err: unknown) => err instanceof KernelError && err.errno === 19 && err.message === 'link-get nope: No such device (ENODEV)',
    );
  });

  it('reads a dump across several datagrams until NLMSG_DONE and flags NLM_F_DUMP_INTR', () => {
    let calls = 0;
    const io = new ScriptedIo((req) => {
      calls++;
      const intr = calls === 1 ? C.NLM_F_DUMP_INTR : 0;
      return [[newLink(req.seq, 1, 'lo')], [newLink(req.seq, 2, 'br0', C.NLM_F_MULTI | intr)], [done(req.seq)]];
    });
    const socket = new NetlinkSocket(3, null, io);
    const first = socket.dump(encodeLinkDump(), 'link-list');
    assert.equal(first.messages.length, 2);
    assert.equal(first.interrupted, true);
    const second = socket.dump(encodeLinkDump(), 'link-list');
    assert.equal(second.interrupted, false);
  });

  it('requestAsync: returns the replies before the ack, skips stale ones, runs calls one after another', async () => {
    const io = new ScriptedIo((req) => [[newLink(req.seq - 1, 9, 'stale', 0)], [newLink(req.seq, 4, 'eth0', 0), nlError(req.seq, 0)]]);
    const socket = new NetlinkSocket(3, null, io);
    const [a, b] = await Promise.all([socket.requestAsync(encodeLinkGet('eth0'), 'a'), socket.requestAsync(encodeLinkGet('eth0'), 'b')]);
    assert.deepEqual([a.length, b.length], [1, 1]);
    assert.equal(a[0]?.type, C.RTM_NEWLINK);
    assert.equal(io.writes.length, 2);
    assert.equal(io.queue.length, 0, 'every datagram was read');
  });

  it('requestAsync: a failed request rejects with its errno, and the next call still works', async () => {
    let n = 0;
    const io = new ScriptedIo((req) => [[nlError(req.seq, n++ === 0 ? 16 : 0)]]);
    const socket = new NetlinkSocket(3, null, io);
    const first = socket.requestAsync(encodeLinkGet('br0'), 'link-del br0');
    const second = socket.requestAsync(encodeLinkGet('br1'), 'link-del br1');
    await assert.rejects(first, (err: unknown) => err instanceof KernelError && err.errno === 16 && err.message === 'link-del br0: Device or resource busy (EBUSY)');
    assert.deepEqual(await second, []);
  });

  it('turns an error in NLMSG_DONE into a KernelError', () => {
    const io = new ScriptedIo((req) => [[done(req.seq, C.NLM_F_MULTI, 105)]]);
    assert.throws(() => new NetlinkSocket(3, null, io).dump(encodeLinkDump(), 'link-list'), (err: unknown) => err instanceof KernelError && err.errno === 105);
  });

  it('reports a missing answer as EAGAIN instead of waiting forever, and retries EINTR', () => {
    const silent = new ScriptedIo(() => []);
    assert.throws(
      () => new NetlinkSocket(3, null, silent).request(encodeLinkGet('x'), 'link-get x'),
      (err: unknown) => err instanceof KernelError && err.errno === 11 && /no answer from the kernel/.test(err.message),
    );
    const interrupted = new ScriptedIo((req) => [[nlError(req.seq, 0)]]);
    interrupted.queue.push(Object.assign(new Error('EINTR'), { errno: -4, code: 'EINTR' }));
    new NetlinkSocket(3, null, interrupted).request(encodeLinkGet('x'), 'link-get x');
  });

  it('refuses a request without NLM_F_ACK (it would never be answered) and closes once', () => {
    const io = new ScriptedIo(() => []);
    const socket = new NetlinkSocket(3, null, io);
    assert.throws(() => socket.request(encodeLinkDump(), 'link-list'), /without NLM_F_ACK/);
    socket.close();
    socket.close();
    assert.equal(io.closed, 1);
    assert.throws(() => socket.request(encodeLinkGet('x'), 'link-get x'), (err: unknown) => err instanceof KernelError && err.errno === 9);
  });
});
