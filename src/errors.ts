/**
 * The error catalogue: every error berth raises on purpose has a stable `code` listed here, a
 * `kind` that each surface maps once (HTTP status in api/, exit code in cli/), a lowercase
 * human message, and the `cause` it wraps. `docs/errors.md` lists the same codes; a unit test
 * keeps the two in sync.
 */

/** How a surface should treat an error; mapped to an HTTP status in `api/`. */
export type ErrorKind =
  | 'not-found'
  | 'invalid'
  | 'conflict'
  | 'forbidden'
  | 'unavailable'
  | 'not-implemented'
  | 'internal';

/** Every code berth raises, with its kind and a one-line description for docs/errors.md. */
export const ERROR_CATALOGUE = {
  ERR_INVALID_PARAMETER: { kind: 'invalid', doc: 'a request field, flag or option is malformed' },
  ERR_INVALID_JSON: { kind: 'invalid', doc: 'a request body is not valid JSON' },
  ERR_NETWORK_NOT_FOUND: { kind: 'not-found', doc: 'no network has that name, ID or ID prefix' },
  ERR_NETWORK_AMBIGUOUS: { kind: 'invalid', doc: 'an ID prefix matches several networks' },
  ERR_NETWORK_EXISTS: { kind: 'conflict', doc: 'a network with that name already exists' },
  ERR_NETWORK_IN_USE: { kind: 'forbidden', doc: 'the network still has active endpoints' },
  ERR_PREDEFINED_NETWORK: { kind: 'forbidden', doc: 'the operation is not allowed on bridge, host or none' },
  ERR_SINGLETON_NETWORK: { kind: 'forbidden', doc: 'only one host or null network may exist' },
  ERR_DRIVER_NOT_FOUND: { kind: 'not-found', doc: 'no network driver has that name' },
  ERR_DRIVER_UNSUPPORTED: { kind: 'not-implemented', doc: 'the driver needs something this kernel or daemon lacks' },
  ERR_POOL_OVERLAP: { kind: 'forbidden', doc: 'the requested subnet overlaps a subnet in use' },
  ERR_NO_POOL: { kind: 'forbidden', doc: 'no default address pool is free' },
  ERR_ADDRESS_IN_USE: { kind: 'forbidden', doc: 'the requested address is already allocated' },
  ERR_NO_ADDRESS: { kind: 'unavailable', doc: 'the pool (or ip-range) has no free address left' },
  ERR_ADDRESS_OUT_OF_RANGE: { kind: 'invalid', doc: 'the requested address is outside the pool' },
  ERR_CONTAINER_NOT_FOUND: { kind: 'not-found', doc: 'no container has that name, ID or ID prefix' },
  ERR_CONTAINER_EXISTS: { kind: 'conflict', doc: 'a container with that name already exists' },
  ERR_CONTAINER_STATE: { kind: 'conflict', doc: 'the container is not in a state that allows the operation' },
  ERR_IMAGE_NOT_FOUND: { kind: 'not-found', doc: 'no image has that name' },
  ERR_IMAGE_IN_USE: { kind: 'conflict', doc: 'the image is used by a container and cannot be removed or replaced' },
  ERR_ENDPOINT_EXISTS: { kind: 'forbidden', doc: 'the container is already connected to the network' },
  ERR_ENDPOINT_NOT_FOUND: { kind: 'not-found', doc: 'the container is not connected to the network' },
  ERR_PORT_ALLOCATED: { kind: 'internal', doc: 'the host port is already published' },
  ERR_EXEC_NOT_FOUND: { kind: 'not-found', doc: 'no exec instance has that ID' },
  ERR_ROUTE_NOT_FOUND: { kind: 'not-found', doc: 'no API route matches the method and path' },
  ERR_NOT_IMPLEMENTED: { kind: 'not-implemented', doc: 'berth does not implement this yet' },
  ERR_KERNEL: { kind: 'internal', doc: 'a kernel operation failed (netlink, netns, nft)' },
  ERR_TEARDOWN: { kind: 'internal', doc: 'one or more teardown steps failed; the rest still ran' },
  ERR_STORE: { kind: 'internal', doc: 'the state store failed' },
  ERR_CLUSTER: { kind: 'unavailable', doc: 'the cluster store (etcd) cannot be reached, or a change lost a race too often' },
  ERR_RUNTIME: { kind: 'internal', doc: 'the container runtime (runc) failed' },
  ERR_INTERNAL: { kind: 'internal', doc: 'an unexpected failure inside berth' },
} as const satisfies Record<string, { kind: ErrorKind; doc: string }>;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Base of every error berth raises on purpose. */
export class BerthError extends Error {
  /** Stable machine-readable code, e.g. `ERR_NETWORK_NOT_FOUND`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }

  /** How surfaces should treat this error. */
  get kind(): ErrorKind {
    return ERROR_CATALOGUE[this.code].kind;
  }
}

/**
 * A failed kernel operation. Carries the operation, the netns it ran in (null = the daemon's
 * own), and errno (netlink/syscalls) or argv/exit code/stderr (executed tools).
 */
export class KernelError extends BerthError {
  /** What was attempted, e.g. `link-add br-1a2b3c4d5e6f`. */
  readonly op: string;
  /** The netns path, or null for the daemon's own namespace. */
  readonly netns: string | null;
  /** Positive errno (e.g. 17 for EEXIST) when the kernel returned one. */
  readonly errno: number | undefined;
  /** For executed tools: argv, exit status and stderr. */
  readonly exec: { argv: readonly string[]; status: number | null; stderr: string } | undefined;

  constructor(
    message: string,
    details: {
      op: string;
      netns: string | null;
      errno?: number;
      exec?: { argv: readonly string[]; status: number | null; stderr: string };
      cause?: unknown;
    },
  ) {
    super('ERR_KERNEL', message, { cause: details.cause });
    this.name = 'KernelError';
    this.op = details.op;
    this.netns = details.netns;
    this.errno = details.errno;
    this.exec = details.exec;
  }
}

/** Several teardown steps failed; all steps still ran. */
export class TeardownError extends BerthError {
  readonly errors: readonly Error[];

  constructor(what: string, errors: readonly Error[]) {
    super('ERR_TEARDOWN', `${what}: ${errors.length} step(s) failed: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'TeardownError';
    this.errors = errors;
  }
}

/** Shorthand for the most common error: a malformed request field. */
export function invalid(message: string, cause?: unknown): BerthError {
  return new BerthError('ERR_INVALID_PARAMETER', message, { cause });
}

/** Adds context to an error while keeping it as the cause ("create network x: <cause>"). */
export function withContext(context: string, err: unknown): BerthError {
  const message = err instanceof Error ? err.message : String(err);
  const code: ErrorCode = err instanceof BerthError ? err.code : 'ERR_INTERNAL';
  return new BerthError(code, `${context}: ${message}`, { cause: err });
}

/** True when the error is a BerthError of the given code. */
export function isCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof BerthError && err.code === code;
}
