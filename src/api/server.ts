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

/** Bodies larger than this are refused: no JSON request of the Engine API needs more. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Image archives (`POST /images/create?fromSrc=-`) may be larger. */
const MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

/** Serves `router` on the unix socket at `socketPath`. */
export async function serveUnix(router: Router, socketPath: string, log: Logger): Promise<http.Server> {
  await removeStaleSocket(socketPath);
  const server = http.createServer((req, res) => {
    void handle(router, req, res, log);
  });
  // docker hijacks the connection for attach and exec start (`Connection: Upgrade`,
  // `Upgrade: tcp`); Node hands those requests to 'upgrade' instead of 'request'.
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    void handleUpgrade(router, req, socket, head, log);
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
    const url = new URL(req.url ?? '/', 'http://berth');
    const raw = await readBody(req, /\/images\/create$/.test(url.pathname) ? MAX_IMAGE_BYTES : MAX_BODY_BYTES);
    response = await router.dispatch(
      { method: req.method ?? 'GET', rawPath: url.pathname, query: url.searchParams, body: raw.toString('utf8'), raw, headers: req.headers },
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
  if (response.stream !== undefined) {
    headers['Content-Type'] ??= 'application/vnd.docker.multiplexed-stream';
    res.writeHead(response.status, headers);
    res.flushHeaders();
    try {
      await response.stream(res, req);
    } catch (err) {
      log.warn('stream ended with an error', { url: req.url, error: errorText(err) });
    }
    res.end();
    return;
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(req.method === 'HEAD' ? undefined : payload);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  log.debug('request', { method: req.method, url: req.url, status: response.status, ms: ms.toFixed(2) });
}

/**
 * An upgraded (hijacked) request: read the body (its start may already be in `head`), answer
 * `101 UPGRADED`, then the stream owns the raw socket in both directions.
 */
async function handleUpgrade(
  router: Router,
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  log: Logger,
): Promise<void> {
  socket.on('error', () => undefined);
  const length = Number(req.headers['content-length'] ?? 0);
  let body = head;
  while (body.length < length) {
    const chunk: Buffer | null = await new Promise((resolve) => {
      const onData = (c: Buffer): void => done(c);
      const onEnd = (): void => done(null);
      const done = (c: Buffer | null): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        // A 'data' listener set the socket flowing, and removing it does not stop the flow:
        // what the client sends next (an exec's stdin, its end) would be emitted to nobody
        // before the stream attaches, and be lost (`docker exec -i` then hung, now and then).
        socket.pause();
        resolve(c);
      };
      socket.on('data', onData);
      socket.on('end', onEnd);
    });
    if (chunk === null) break;
    body = Buffer.concat([body, chunk]);
  }
  const rest = body.subarray(length);
  if (rest.length > 0) socket.unshift(rest);
  const url = new URL(req.url ?? '/', 'http://berth');
  const response = await router.dispatch(
    {
      method: req.method ?? 'POST',
      rawPath: url.pathname,
      query: url.searchParams,
      body: body.subarray(0, length).toString('utf8'),
      raw: body.subarray(0, length),
      headers: req.headers,
    },
    (err) => log.error('request failed', { method: req.method, url: req.url, error: errorText(err) }),
  );
  if (response.stream === undefined) {
    const payload = response.body === undefined ? '' : `${JSON.stringify(response.body)}\n`;
    socket.end(
      `HTTP/1.1 ${response.status} ${http.STATUS_CODES[response.status] ?? ''}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
    return;
  }
  const contentType = response.headers?.['Content-Type'] ?? 'application/vnd.docker.multiplexed-stream';
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  try {
    await response.stream(socket, socket);
  } catch (err) {
    log.warn('hijacked stream ended with an error', { url: req.url, error: errorText(err) });
  }
  socket.end();
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped, so the client gets a 400, not a reset.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) reject(new BerthError('ERR_INVALID_PARAMETER', `request body too large: more than ${limit} bytes`));
      else resolve(Buffer.concat(chunks));
    });
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
