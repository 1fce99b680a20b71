/**
 * The Engine API over HTTP/1.1 on a unix socket. The socket is created mode 0660 (root and the
 * socket's group only: the API controls the machine's networking).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { BerthError } from '../errors.js';
import type { Logger } from '../engine/log.js';
import { BERTH_VERSION } from './system.js';
import { errorResponse, type ApiResponse, type Router } from './router.js';

/** Bodies larger than this are refused: no Engine API request needs more. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Serves `router` on the unix socket at `socketPath`. */
export async function serveUnix(router: Router, socketPath: string, log: Logger): Promise<http.Server> {
  await removeStaleSocket(socketPath);
  const server = http.createServer((req, res) => {
    void handle(router, req, res, log);
  });
  server.keepAliveTimeout = 30_000;
  const oldMask = process.umask(0o117);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(socketPath, 0o660);
  return server;
}

async function handle(router: Router, req: http.IncomingMessage, res: http.ServerResponse, log: Logger): Promise<void> {
  const started = process.hrtime.bigint();
  let response: ApiResponse;
  try {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://berth');
    response = await router.dispatch(
      { method: req.method ?? 'GET', rawPath: url.pathname, query: url.searchParams, body, headers: req.headers },
      (err) => log.error('request failed', { method: req.method, url: req.url, error: errorText(err) }),
    );
  } catch (err) {
    response = errorResponse(err instanceof BerthError ? 400 : 500, (err as Error).message);
  }
  const headers: Record<string, string> = { Server: `berth/${BERTH_VERSION} (linux)`, 'Api-Version': '1.48', ...response.headers };
  let payload = '';
  if (response.text !== undefined) {
    payload = response.text;
    headers['Content-Type'] ??= 'text/plain; charset=utf-8';
  } else if (response.body !== undefined) {
    payload = `${JSON.stringify(response.body)}\n`;
    headers['Content-Type'] = 'application/json';
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(req.method === 'HEAD' ? undefined : payload);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  log.debug('request', { method: req.method, url: req.url, status: response.status, ms: ms.toFixed(2) });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BerthError('ERR_INVALID_PARAMETER', `request body too large: more than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A socket file nobody answers on is left over from a killed daemon: remove it. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) {
    throw new BerthError('ERR_INTERNAL', `another daemon is serving ${socketPath}: stop it first or use another -H`);
  }
  fs.unlinkSync(socketPath);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    let text = err.stack ?? err.message;
    let cause = err.cause;
    while (cause instanceof Error) {
      text += `\ncaused by: ${cause.message}`;
      cause = cause.cause;
    }
    return text;
  }
  return String(err);
}
