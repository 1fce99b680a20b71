// Hijacked (upgraded) requests on the real unix-socket server: what the client sends after the
// body reaches the stream even when the body came in a packet of its own (no kernel, no root).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Router } from '../../../src/api/router.js';
import { serveUnix } from '../../../src/api/server.js';
import { silentLogger } from '../../../src/engine/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('serveUnix: hijacked requests', () => {
  let dir: string;
  let socketPath: string;
  let close: () => Promise<void>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-upgrade-'));
    socketPath = path.join(dir, 'api.sock');
    const router = new Router();
    // Like an exec start: the stream reads the client's input only some time after the body,
    // as the real one does once the shim is connected, and echoes it back after its end.
    router.add('POST', '/echo', (req) => ({
      status: 200,
      stream: async (out, input) => {
        await sleep(50);
        const chunks: Buffer[] = [];
        await new Promise<void>((resolve) => {
          input?.on('data', (c: Buffer) => chunks.push(c));
          input?.on('end', () => resolve());
          input?.resume();
        });
        out.write(`${req.body}|${Buffer.concat(chunks).toString()}`);
      },
    }));
    const server = await serveUnix(router, socketPath, silentLogger);
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });

  after(async () => {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sends the request head, then the body and the input in separate packets, then half-closes. */
  async function hijack(body: string, input: string): Promise<string> {
    const sock = net.connect(socketPath);
    await new Promise((r) => sock.once('connect', r));
    let answer = '';
    sock.on('data', (c: Buffer) => (answer += c.toString()));
    const done = new Promise((r) => sock.on('close', r));
    sock.write(
      `POST /echo HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    await sleep(20);
    sock.write(body);
    await sleep(10);
    sock.write(input);
    sock.end();
    await Promise.race([done, sleep(3000)]);
    sock.destroy();
    return answer.slice(answer.indexOf('\r\n\r\n') + 4);
  }

  it('passes the input (and its end) sent right after a body that came on its own', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await hijack('{"Detach":false}', `n${i}\n`), `{"Detach":false}|n${i}\n`);
  });
});
