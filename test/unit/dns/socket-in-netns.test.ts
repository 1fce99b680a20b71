/**
 * The addon's socketInNetns without root: in the calling thread's own netns (path null) on
 * 127.0.0.1, plus its argument and error handling. (Inside container netns: integration/dns.)
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, it } from 'node:test';
import { isNativeError, loadNative, type BerthNative } from '../../../src/kernel/native.js';

let native: BerthNative | undefined;
try {
  native = loadNative();
} catch {
  native = undefined;
}

/** The fd's open flags (octal in /proc/self/fdinfo). */
function fdFlags(fd: number): number {
  const m = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return parseInt(m?.[1] ?? '0', 8);
}
const O_CLOEXEC = 0o2000000;

describe('socketInNetns', { skip: native === undefined ? 'native addon not built (npm run build:native)' : false }, () => {
  const n = native as BerthNative;

  it('gives a bound UDP socket (close-on-exec) that dgram adopts', async () => {
    const fd = n.socketInNetns(null, 'udp', '127.0.0.1', 0);
    assert.ok((fdFlags(fd) & O_CLOEXEC) !== 0);
    const s = dgram.createSocket('udp4');
    s.bind({ fd });
    const port = s.address().port;
    assert.ok(port > 0);
    const got = new Promise<string>((resolve) => s.once('message', (m) => resolve(m.toString())));
    const c = dgram.createSocket('udp4');
    c.send('ping', port, '127.0.0.1');
    assert.equal(await got, 'ping');
    c.close();
    s.close();
  });

  it('gives a listening TCP socket that net.Server adopts', async () => {
    const fd = n.socketInNetns(null, 'tcp', '127.0.0.1', 0);
    assert.ok((fdFlags(fd) & O_CLOEXEC) !== 0);
    const server = net.createServer((sock) => sock.end('hi'));
    server.listen({ fd });
    const port = (server.address() as net.AddressInfo).port;
    const text = await new Promise<string>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1');
      let t = '';
      c.on('data', (d) => (t += d.toString()));
      c.on('end', () => resolve(t));
      c.on('error', reject);
    });
    assert.equal(text, 'hi');
    server.close();
  });

  it('reports a taken port as EADDRINUSE from bind, and a missing netns as ENOENT from open', () => {
    const fd = n.socketInNetns(null, 'tcp', '127.0.0.1', 0);
    const server = net.createServer();
    server.listen({ fd });
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.throws(
        () => n.socketInNetns(null, 'tcp', '127.0.0.1', port),
        (err: unknown) => isNativeError(err) && err.code === 'EADDRINUSE' && err.syscall === 'bind',
      );
    } finally {
      server.close();
    }
    assert.throws(
      () => n.socketInNetns('/nonexistent/netns', 'udp', '127.0.0.1', 0),
      (err: unknown) => isNativeError(err) && err.code === 'ENOENT' && err.syscall === 'open',
    );
  });

  it('rejects bad arguments with a TypeError before touching any netns', () => {
    const call = n.socketInNetns as unknown as (...args: unknown[]) => number;
    assert.throws(() => call(null, 'sctp', '127.0.0.1', 0), TypeError);
    assert.throws(() => call(null, 'udp', 'localhost', 0), TypeError);
    assert.throws(() => call(null, 'udp', '127.0.0.1', 70000), TypeError);
    assert.throws(() => call(null, 'udp', '127.0.0.1', -1), TypeError);
    assert.throws(() => call(42, 'udp', '127.0.0.1', 0), TypeError);
  });

  it('binds IPv6 too (v6-only)', () => {
    let fd: number;
    try {
      fd = n.socketInNetns(null, 'udp', '::1', 0);
    } catch (err) {
      // A machine without IPv6 on lo.
      if (isNativeError(err) && (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT')) return;
      throw err;
    }
    const s = dgram.createSocket('udp6');
    s.bind({ fd });
    assert.equal(s.address().address, '::1');
    s.close();
  });
});
