/**
 * The Docker Engine API client of the CLI: HTTP/1.1 over berthd's unix socket, API version
 * 1.48 in every path (`/v1.48/networks`), JSON bodies encoded as Go's encoder does (with its
 * trailing newline), query strings as Go's `url.Values.Encode`.
 *
 * Failures read as the docker CLI's: a non-2xx answer becomes
 * `Error response from daemon: <message>` (the JSON `message`, or the body text), a missing or
 * refusing socket `Cannot connect to the berth daemon at unix:///…. Is the berth daemon running?`;
 * both exit with status 1.
 *
 * The daemon is chosen by `-H/--host`, else `BERTH_HOST`, else `DOCKER_HOST` when it is a
 * `unix://` address, else `unix:///run/berth.sock`. Only unix sockets are supported.
 */
import http from 'node:http';
import { StatusError } from './command.js';

/** The API version every request is made with. */
export const API_VERSION = '1.48';

/** The socket berthd listens on by default. */
export const DEFAULT_HOST = 'unix:///run/berth.sock';

/** A daemon address: as the user wrote it (for messages) and the socket path. */
export interface DaemonHost {
  readonly url: string;
  readonly socketPath: string;
}

/** Parses a `unix://` address; throws an Error with the reason for anything else. */
export function parseHost(url: string): DaemonHost {
  if (!url.startsWith('unix://')) {
    throw new Error(`berth supports only unix:// daemon sockets, not ${JSON.stringify(url)}`);
  }
  const socketPath = url.slice('unix://'.length);
  if (socketPath === '') throw new Error(`no socket path in ${JSON.stringify(url)}`);
  return { url, socketPath };
}

/** Picks the daemon: `-H` value, else `BERTH_HOST`, else a `unix://` `DOCKER_HOST`, else the default. */
export function resolveHost(flagHost: string | undefined, env: Readonly<Record<string, string | undefined>>): DaemonHost {
  if (flagHost !== undefined && flagHost !== '') return parseHost(flagHost);
  const berthHost = env['BERTH_HOST'];
  if (berthHost !== undefined && berthHost !== '') {
    try {
      return parseHost(berthHost);
    } catch (e) {
      throw new StatusError(`invalid BERTH_HOST: ${(e as Error).message}`, 1, { cause: e });
    }
  }
  const dockerHost = env['DOCKER_HOST'];
  if (dockerHost !== undefined && dockerHost.startsWith('unix://')) return parseHost(dockerHost);
  return parseHost(DEFAULT_HOST);
}

/** The daemon answered with an error status. `status` is the HTTP status (404 = not found). */
export class DaemonError extends StatusError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`Error response from daemon: ${message}`, 1);
    this.name = 'DaemonError';
    this.status = status;
  }
}

/** The daemon could not be reached. */
export class ConnectError extends StatusError {
  constructor(message: string, cause: unknown) {
    super(message, 1, { cause });
    this.name = 'ConnectError';
  }
}

/** Go's `url.QueryEscape`: everything but `A-Za-z0-9-_.~` percent-encoded, space as `+`. */
export function goQueryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Go's URL path escaping for one path segment's characters (keeps `/`, sub-delims, `:` and `@`). */
export function goPathEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~!$&'()*+,;=:@/]/.test(c)) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** What a request returned. */
export interface ApiResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Options of one request. */
export interface RequestOptions {
  /** Query parameters; undefined values are left out. Encoded sorted by key, as Go does. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** A JSON body, already encoded (see `encodeJson`); sent with `Content-Type: application/json`. */
  readonly json?: string;
}

const STATUS_TEXT: Readonly<Record<number, string>> = http.STATUS_CODES as Record<number, string>;

/** A client of one daemon. Every request opens its own connection (nothing keeps the process alive). */
export class ApiClient {
  readonly host: DaemonHost;
  /** The `User-Agent` header of every request. */
  readonly userAgent: string;

  constructor(host: DaemonHost, userAgent: string) {
    this.host = host;
    this.userAgent = userAgent;
  }

  /** Builds `/v1.48<path>?<query>`. */
  #url(path: string, query: RequestOptions['query']): string {
    const keys = Object.keys(query ?? {})
      .filter((k) => query?.[k] !== undefined)
      .sort();
    const qs = keys.map((k) => `${goQueryEscape(k)}=${goQueryEscape(query?.[k] ?? '')}`).join('&');
    return `/v${API_VERSION}${path}${qs === '' ? '' : '?' + qs}`;
  }

  /** Sends one request and returns the answer whatever its status; throws {@link ConnectError}. */
  raw(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const url = this.#url(path, opts.query);
    const headers: Record<string, string> = { 'User-Agent': this.userAgent };
    let body: Buffer | undefined;
    if (opts.json !== undefined) {
      body = Buffer.from(opts.json + '\n', 'utf8');
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.host.socketPath, method, path: url, headers, agent: false, host: 'localhost' },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(this.#connectError(e)));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', (e) => reject(this.#connectError(e)));
      req.end(body);
    });
  }

  #connectError(e: Error & { code?: string }): ConnectError {
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
      return new ConnectError(`Cannot connect to the berth daemon at ${this.host.url}. Is the berth daemon running?`, e);
    }
    if (e.code === 'EACCES') {
      return new ConnectError(
        `permission denied while trying to connect to the berth daemon socket at ${this.host.url}: ` +
          `dial unix ${this.host.socketPath}: connect: permission denied`,
        e,
      );
    }
    return new ConnectError(`error during connect: ${e.message}`, e);
  }

  /**
   * Sends a request and returns the body of a 2xx answer; any other status becomes a
   * {@link DaemonError} worded as the docker CLI words it.
   */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.raw(method, path, opts);
    if (res.status >= 200 && res.status < 300) return res.body;
    throw new DaemonError(res.status, daemonMessage(res, this.#url(path, opts.query)));
  }
}

/** The message of an error answer, as the docker client derives it (`client/request.go`). */
export function daemonMessage(res: ApiResponse, url: string): string {
  if (res.body.length === 0) {
    const text = STATUS_TEXT[res.status] ?? String(res.status);
    return `request returned ${text} for API route and version http://api.moby.localhost${url}, check if the server supports the requested API version`;
  }
  if (res.contentType.split(';')[0]?.trim() === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch (e) {
      return `Error reading JSON: ${(e as Error).message}`;
    }
    const message = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
    if (typeof message === 'string' && message !== '') return message.trim();
    return `API returned a ${res.status} (${STATUS_TEXT[res.status] ?? ''}) but provided no error-message`;
  }
  return res.body.trim();
}
