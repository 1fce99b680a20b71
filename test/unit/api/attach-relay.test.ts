/** relayAttach between an in-memory Docker client and a fake shim on a unix socket. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { relayAttach, type RelayOptions } from '../../../src/api/attach-relay.js';
import { parseFrames } from '../../../src/api/streams.js';
import { encodeFrame, FrameDecoder, ShimConnection, type AttachFrame } from '../../../src/runtime/attach.js';

const EXIT = Buffer.from('{"exitCode":3,"signal":null,"exitedAt":"2024-01-01T00:00:00Z"}\n');

/**
 * A fake shim: once the client sends ATTACH it runs `script` (which may send frames and wait
 * for input), then closes. Everything the client sent is in `received`.
 */
async function fakeShim(dir: string, script: (s: net.Socket, received: AttachFrame[], next: () => Promise<void>) => Promise<void>) {
  const path = join(dir, `shim-${Math.random().toString(16).slice(2)}.sock`);
  const received: AttachFrame[] = [];
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  const server = net.createServer((s) => {
    const d = new FrameDecoder();
    // `next()` resolves once per frame after ATTACH, whether it came before or after the call.
    const waiters: (() => void)[] = [];
    let unclaimed = 0;
    const next = (): Promise<void> => {
      if (unclaimed > 0) {
        unclaimed--;
        return Promise.resolve();
      }
      return new Promise<void>((r) => waiters.push(r));
    };
    s.on('data', (b: Buffer) => {
      for (const f of d.push(b)) {
        received.push(f);
        if (f.kind === 3) void script(s, received, next).then(() => s.end());
        else if (waiters.length > 0) waiters.shift()?.();
        else unclaimed++;
      }
    });
    s.on('close', () => closed());
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, received, done, close: () => server.close() };
}

async function relay(path: string, opts: Partial<RelayOptions>, feed?: (input: PassThrough, out: PassThrough) => void) {
  const conn = await ShimConnection.connect(path);
  const out = new PassThrough();
  const input = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  const full: RelayOptions = { tty: false, stdin: true, stdout: true, stderr: true, closeStdinOnEnd: false, ...opts };
  const p = relayAttach(conn, out, input, full);
  feed?.(input, out);
  const exit = await p;
  return { exit, output: Buffer.concat(chunks), input };
}

test('relayAttach', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-unit-relay-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  await t.test('without a tty: Docker frames, filtered by stream; the exit status is returned', async () => {
    const shim = await fakeShim(dir, async (s) => {
      s.write(encodeFrame(1, Buffer.from('out\n')));
      s.write(encodeFrame(2, Buffer.from('err\n')));
      s.write(encodeFrame(3, EXIT));
    });
    t.after(shim.close);
    const both = await relay(shim.path, {});
    assert.equal(both.exit?.exitCode, 3);
    const { frames, rest } = parseFrames(both.output);
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, 'out\n'],
        [2, 'err\n'],
      ],
    );
    assert.equal(rest.length, 0);
    const onlyErr = await relay(shim.path, { stdout: false });
    assert.deepEqual(
      parseFrames(onlyErr.output).frames.map((f) => [f.stream, f.payload.toString()]),
      [[2, 'err\n']],
    );
  });

  await t.test('with a tty: raw bytes', async () => {
    const shim = await fakeShim(dir, async (s) => {
      s.write(encodeFrame(1, Buffer.from('/ # ')));
      s.write(encodeFrame(1, Buffer.from('hi\r\n')));
      s.write(encodeFrame(3, EXIT));
    });
    t.after(shim.close);
    const r = await relay(shim.path, { tty: true });
    assert.equal(r.output.toString(), '/ # hi\r\n');
  });

  await t.test('stdin becomes STDIN frames; the end of input closes stdin only with StdinOnce', async () => {
    for (const once of [true, false]) {
      const shim = await fakeShim(dir, async (s, _received, next) => {
        await next(); // the first STDIN frame
        s.write(encodeFrame(1, Buffer.from('echoed\n')));
        if (once) await next(); // CLOSE_STDIN
        else await new Promise((r) => setTimeout(r, 50));
        s.write(encodeFrame(3, EXIT));
      });
      t.after(shim.close);
      const r = await relay(shim.path, { closeStdinOnEnd: once }, (input) => {
        input.write('typed\n');
        input.end();
      });
      assert.equal(r.exit?.exitCode, 3);
      assert.deepEqual(
        shim.received.map((f) => [f.kind, f.payload.toString()]),
        [[3, ''], [0, 'typed\n'], ...(once ? [[1, '']] : [])],
      );
      assert.deepEqual(parseFrames(r.output).frames.map((f) => f.payload.toString()), ['echoed\n']);
    }
  });

  await t.test('stdin not wanted: the input is read and dropped', async () => {
    const shim = await fakeShim(dir, async (s) => {
      await new Promise((r) => setTimeout(r, 50));
      s.write(encodeFrame(3, EXIT));
    });
    t.after(shim.close);
    await relay(shim.path, { stdin: false }, (input) => input.end('ignored'));
    assert.deepEqual(shim.received.map((f) => f.kind), [3]);
  });

  await t.test('the client going away (its connection closes) ends the relay (null) and closes the shim connection', async () => {
    const shim = await fakeShim(dir, async (_s, _r, next) => {
      await next(); // never comes
    });
    t.after(shim.close);
    const r = await relay(shim.path, {}, (_input, out) => setTimeout(() => out.destroy(), 20));
    assert.equal(r.exit, null);
    await shim.done;
  });
});
