/** The attach-socket protocol, client side (pure parts, and connecting past sun_path's limit). */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CLIENT_FRAME,
  connectUnix,
  encodeFrame,
  encodeResize,
  encodeStdin,
  FrameDecoder,
  MAX_CLIENT_FRAME,
  parseExitFrame,
} from '../../../src/runtime/attach.js';
import { isCode } from '../../../src/errors.js';

test('encodeFrame: Docker framing, kind in byte 0, length u32 BE in bytes 4-7', () => {
  assert.deepEqual([...encodeFrame(CLIENT_FRAME.attach)], [3, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeFrame(CLIENT_FRAME.stdin, Buffer.from('hi'))], [0, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
  assert.throws(() => encodeFrame(0, Buffer.alloc(MAX_CLIENT_FRAME + 1)), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
});

test('encodeStdin splits at 64 KiB; FrameDecoder reassembles across chunk borders', () => {
  const data = Buffer.alloc(MAX_CLIENT_FRAME * 2 + 10, 7);
  const wire = encodeStdin(data);
  assert.equal(wire.length, data.length + 3 * 8);
  const d = new FrameDecoder();
  const frames = [];
  for (let off = 0; off < wire.length; off += 1000) frames.push(...d.push(wire.subarray(off, off + 1000)));
  assert.deepEqual(
    frames.map((f) => [f.kind, f.payload.length]),
    [
      [0, MAX_CLIENT_FRAME],
      [0, MAX_CLIENT_FRAME],
      [0, 10],
    ],
  );
  assert.equal(d.pending, 0);
  assert.deepEqual(d.push(Buffer.from([1, 0, 0])), []);
  assert.equal(d.pending, 3);
  assert.equal(encodeStdin(Buffer.alloc(0)).length, 0);
});

test('encodeResize: rows then cols, u16 BE; out of range is invalid', () => {
  assert.deepEqual([...encodeResize(24, 80)], [2, 0, 0, 0, 0, 0, 0, 4, 0, 24, 0, 80]);
  assert.deepEqual([...encodeResize(0x1234, 0xffff).subarray(8)], [0x12, 0x34, 0xff, 0xff]);
  for (const [r, c] of [[-1, 80], [24, 65536], [1.5, 2], [NaN, 3]] as const) {
    assert.throws(() => encodeResize(r, c), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'), `${r}x${c}`);
  }
});

test('parseExitFrame', () => {
  assert.deepEqual(parseExitFrame(Buffer.from('{"exitCode":137,"signal":9,"exitedAt":"2024-01-01T00:00:00Z"}\n')), {
    exitCode: 137,
    signal: 9,
    exitedAt: '2024-01-01T00:00:00Z',
  });
  assert.equal(parseExitFrame(Buffer.from('{"exitCode":255,"signal":null,"exitedAt":"x","unknown":true}'))?.unknown, true);
  assert.equal(parseExitFrame(Buffer.from('nope')), null);
  assert.equal(parseExitFrame(Buffer.from('{}')), null);
});

test('connectUnix reaches a socket whose path is longer than sun_path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-unit-connect-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const deep = join(dir, 'd'.repeat(100));
  await mkdir(deep);
  const path = join(deep, 'attach.sock');
  assert.ok(Buffer.byteLength(path) > 107);
  // Node cannot listen on that path either; the server listens through /proc/self/fd too.
  const { openSync, closeSync } = await import('node:fs');
  const dirFd = openSync(deep, 'r');
  const server = net.createServer((s) => s.end('hello'));
  await new Promise<void>((resolve) => server.listen(`/proc/self/fd/${dirFd}/attach.sock`, resolve));
  closeSync(dirFd);
  t.after(() => server.close());
  const socket = await connectUnix(path);
  let got = '';
  for await (const chunk of socket) got += (chunk as Buffer).toString();
  assert.equal(got, 'hello');
  await assert.rejects(connectUnix(join(deep, 'missing.sock')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
});
