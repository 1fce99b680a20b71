/**
 * A tiny router for the Engine API. Handlers take an `ApiRequest` and return an `ApiResponse`
 * (JSON or text), so routes are tested in-process without a socket (`Api.handle`). Paths may
 * carry Docker's version prefix `/v1.48/…`; it is stripped and checked here.
 */
import { BerthError, ERROR_CATALOGUE, type ErrorKind } from '../errors.js';

/** Highest Engine API version berth speaks (Docker 28.0). */
export const API_VERSION = '1.48';
/** Lowest version berth accepts in a path prefix. */
export const MIN_API_VERSION = '1.24';

/** A request as handlers see it. */
export interface ApiRequest {
  readonly method: string;
  /** Path without the version prefix, e.g. `/networks/abc`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Body text ('' when none). */
  readonly body: string;
  /** Body bytes (image archives). */
  readonly raw: Buffer;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** API version from the path prefix, or API_VERSION. */
  readonly version: string;
  /** Route parameters (`{id}`). */
  readonly params: Readonly<Record<string, string>>;
}

/** A response; `body` is serialised as JSON unless `text` is given. */
export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A streamed body (logs, attach, exec): written to `out` until the promise settles. When the
   * client asked to upgrade the connection (`Connection: Upgrade`, as docker does for attach and
   * exec), `out` is the raw socket after a `101 UPGRADED` header and `input` carries what the
   * client sends (stdin).
   */
  readonly stream?: (out: NodeJS.WritableStream, input: NodeJS.ReadableStream | undefined) => Promise<void>;
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: Handler;
}

/** HTTP status for each error kind (moby `httpstatus`). */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  'not-found': 404,
  invalid: 400,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  'not-implemented': 501,
  internal: 500,
};

export class Router {
  readonly #routes: Route[] = [];

  /** Registers `METHOD /path/{param}/…`. */
  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.#routes.push({ method, pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  /**
   * Dispatches a request. Never throws: BerthErrors become Docker's `{message}` with the
   * status of their kind; anything else is a 500 (and is logged by the caller).
   */
  async dispatch(
    raw: Omit<ApiRequest, 'params' | 'version' | 'path'> & { readonly rawPath: string },
    onInternal: (err: unknown) => void,
  ): Promise<ApiResponse> {
    try {
      const { path, version } = splitVersion(raw.rawPath);
      let methodMismatch = false;
      for (const route of this.#routes) {
        const m = route.pattern.exec(path);
        if (m === null) continue;
        const method = raw.method === 'HEAD' && route.method === 'GET' ? 'GET' : raw.method;
        if (route.method !== method) {
          methodMismatch = true;
          continue;
        }
        const params: Record<string, string> = {};
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(m[i + 1] ?? '');
        });
        return await route.handler({ ...raw, path, version, params });
      }
      if (methodMismatch) return errorResponse(405, 'method not allowed');
      return errorResponse(404, 'page not found');
    } catch (err) {
      if (err instanceof BerthError) {
        const status = STATUS_BY_KIND[ERROR_CATALOGUE[err.code].kind];
        if (status >= 500) onInternal(err);
        return errorResponse(status, err.message);
      }
      onInternal(err);
      return errorResponse(500, `internal error: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}

/** Docker's error body. */
export function errorResponse(status: number, message: string): ApiResponse {
  return { status, body: { message } };
}

/** Strips `/v1.48` and checks the version is one we speak. */
function splitVersion(rawPath: string): { path: string; version: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(rawPath);
  if (m === null) return { path: rawPath, version: API_VERSION };
  const version = m[1] as string;
  if (compareVersions(version, API_VERSION) > 0) {
    throw new BerthError(
      'ERR_INVALID_PARAMETER',
      `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw new BerthError(
      'ERR_INVALID_PARAMETER',
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  return { path: m[2] as string, version };
}

/** Compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
