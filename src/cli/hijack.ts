/**
 * The streaming side of the Engine API client, as docker's client does it:
 *
 * - {@link hijack}: a request with `Connection: Upgrade` / `Upgrade: tcp` (attach, exec
 *   start); on `101 UPGRADED` (or a plain 200 from older daemons) the socket carries the
 *   container's output one way and stdin the other;
 * - {@link StdDemuxer}: `stdcopy.StdCopy` — the 8-byte-header frames of a non-tty stream
 *   (`[stream, 0, 0, 0, size u32 BE]`) back to stdout and stderr; tty streams are raw bytes;
 * - {@link streamRequest}: a plain request whose response body is read as it arrives (logs,
 *   wait — berthd sends the wait headers at once and the body when the container exits);
 * - {@link writeOut}: bytes to a CLI sink, as bytes when it is a Node stream, else as text.
 *
 * Every connection is destroyed by its owner so nothing keeps the process alive after `main`
 * returns.
 */
import http from 'node:http';
import type net from 'node:net';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { TextSink } from './command.js';
import { API_VERSION, type ApiClient, ConnectError, DaemonError, daemonMessage, goQueryEscape } from './client.js';

/** Query parameters; a list repeats the key (`changes=a&changes=b`), undefined leaves it out. */
export type Query = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Builds `/v1.48<path>?<query>` with Go's sorted, escaped query. */
export function apiUrl(path: string, query: Query = {}): string {
  const keys = Object.keys(query)
    .filter((k) => query[k] !== undefined)
    .sort();
  const qs = keys
    .flatMap((k) => {
      const v = query[k] ?? '';
      return (typeof v === 'string' ? [v] : v).map((x) => `${goQueryEscape(k)}=${goQueryEscape(x)}`);
    })
    .join('&');
  return `/v${API_VERSION}${path}${qs === '' ? '' : '?' + qs}`;
}

/** Writes bytes to a sink: as bytes to a Node stream, as UTF-8 text (via `decoder`) otherwise. */
export function writeOut(sink: TextSink, data: Buffer, decoder: StringDecoder): void {
  if (data.length === 0) return;
  if (sink instanceof Writable) sink.write(data);
  else {
    const text = decoder.write(data);
    if (text !== '') sink.write(text);
  }
}

/** Where demultiplexed output goes. */
export interface OutputSinks {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

/**
 * `stdcopy.StdCopy` as a push parser: feed it chunks; frames for stream 1 go to stdout,
 * 2 to stderr (0, stdin, to stdout as docker does); a `raw` demuxer passes bytes to stdout.
 */
export class StdDemuxer {
  readonly #sinks: OutputSinks;
  readonly #raw: boolean;
  #pending: Buffer = Buffer.alloc(0);
  readonly #outDecoder = new StringDecoder('utf8');
  readonly #errDecoder = new StringDecoder('utf8');

  constructor(sinks: OutputSinks, raw: boolean) {
    this.#sinks = sinks;
    this.#raw = raw;
  }

  push(chunk: Buffer): void {
    if (this.#raw) {
      writeOut(this.#sinks.stdout, chunk, this.#outDecoder);
      return;
    }
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const payload = buf.subarray(8, 8 + size);
      const stream = buf[0];
      if (stream === 2) writeOut(this.#sinks.stderr, payload, this.#errDecoder);
      else if (stream === 0 || stream === 1) writeOut(this.#sinks.stdout, payload, this.#outDecoder);
      else if (stream === 3) {
        // systemerr: the daemon's error for this stream (stdcopy returns it as an error).
        throw new Error(payload.toString('utf8'));
      }
      buf = buf.subarray(8 + size);
    }
    this.#pending = Buffer.from(buf);
  }

  /** Flushes partial UTF-8 sequences at the end of the stream. */
  end(): void {
    const out = this.#outDecoder.end();
    if (out !== '' && !(this.#sinks.stdout instanceof Writable)) this.#sinks.stdout.write(out);
    const err = this.#errDecoder.end();
    if (err !== '' && !(this.#sinks.stderr instanceof Writable)) this.#sinks.stderr.write(err);
  }
}

/** A hijacked connection: the raw socket and what already arrived after the headers. */
export interface Hijacked {
  readonly socket: net.Socket;
  readonly head: Buffer;
}

/** Options of {@link hijack} and {@link streamRequest}. */
export interface StreamOptions {
  readonly query?: Query;
  /** A JSON body, already encoded; sent with a trailing newline as Go's encoder does. */
  readonly json?: string;
}

function connectError(client: ApiClient, e: Error & { code?: string }): ConnectError {
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new ConnectError(`Cannot connect to the berth daemon at ${client.host.url}. Is the berth daemon running?`, e);
  }
  return new ConnectError(`error during connect: ${e.message}`, e);
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function requestHeaders(client: ApiClient, json: string | undefined, contentType: string): Record<string, string> {
  const headers: Record<string, string> = { 'User-Agent': client.userAgent, 'Content-Type': contentType };
  if (json !== undefined) headers['Content-Length'] = String(Buffer.byteLength(json + '\n'));
  return headers;
}

/**
 * POSTs `path` asking to upgrade the connection (`Connection: Upgrade`, `Upgrade: tcp`, the
 * headers docker sends for attach and exec start) and resolves with the raw socket. A non-2xx
 * answer rejects with the daemon's error, worded as the docker CLI words it.
 */
export function hijack(client: ApiClient, path: string, opts: StreamOptions = {}): Promise<Hijacked> {
  const url = apiUrl(path, opts.query);
  const headers = {
    ...requestHeaders(client, opts.json, opts.json !== undefined ? 'application/json' : 'text/plain'),
    Connection: 'Upgrade',
    Upgrade: 'tcp',
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: client.host.socketPath, method: 'POST', path: url, headers, agent: false, host: 'localhost' });
    req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        // A daemon that does not upgrade streams the body on the plain connection.
        resolve({ socket: res.socket, head: Buffer.alloc(0) });
        return;
      }
      void readAll(res).then((body) =>
        reject(new DaemonError(status, daemonMessage({ status, contentType: String(res.headers['content-type'] ?? ''), body }, url))),
      );
    });
    req.on('error', (e) => reject(connectError(client, e)));
    req.end(opts.json !== undefined ? opts.json + '\n' : undefined);
  });
}

/** A response whose body is consumed as it arrives. */
export interface StreamedResponse {
  readonly status: number;
  readonly contentType: string;
  readonly res: http.IncomingMessage;
  /** Aborts the request (docker cancels its context). */
  abort(): void;
}

/**
 * Sends a request and resolves once the response headers are in (the body still streaming).
 * A non-2xx answer rejects with the daemon's error.
 */
export function streamRequest(client: ApiClient, method: string, path: string, opts: StreamOptions = {}): Promise<StreamedResponse> {
  const url = apiUrl(path, opts.query);
  const headers: Record<string, string> = { 'User-Agent': client.userAgent };
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(opts.json + '\n'));
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: client.host.socketPath, method, path: url, headers, agent: false, host: 'localhost' });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const contentType = String(res.headers['content-type'] ?? '');
      if (status >= 200 && status < 300) {
        resolve({ status, contentType, res, abort: () => req.destroy() });
        return;
      }
      void readAll(res).then((body) => reject(new DaemonError(status, daemonMessage({ status, contentType, body }, url))));
    });
    req.on('error', (e) => reject(connectError(client, e)));
    req.end(opts.json !== undefined ? opts.json + '\n' : undefined);
  });
}

/** Reads the rest of a streamed response as text. */
export function readBody(r: StreamedResponse): Promise<string> {
  return readAll(r.res);
}

/** Streams a body from a readable (image import) with the given content type; returns the answer. */
export function uploadRequest(
  client: ApiClient,
  path: string,
  query: Query,
  body: NodeJS.ReadableStream,
  contentType: string,
): Promise<StreamedResponse> {
  const url = apiUrl(path, query);
  const headers: Record<string, string> = { 'User-Agent': client.userAgent, 'Content-Type': contentType };
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: client.host.socketPath, method: 'POST', path: url, headers, agent: false, host: 'localhost' });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const ct = String(res.headers['content-type'] ?? '');
      if (status >= 200 && status < 300) {
        resolve({ status, contentType: ct, res, abort: () => req.destroy() });
        return;
      }
      void readAll(res).then((text) => reject(new DaemonError(status, daemonMessage({ status, contentType: ct, body: text }, url))));
    });
    req.on('error', (e) => reject(connectError(client, e)));
    body.on('error', (e: Error) => {
      req.destroy();
      reject(e);
    });
    body.pipe(req);
  });
}
