/**
 * The native addon (`native/berth_native.c`, built by `npm run build:native` into
 * `build/Release/berth_native.node`), typed. It is the only code in berth that enters another
 * network namespace, and only inside one synchronous call that switches back before returning.
 *
 * The addon is loaded on first use, so code that merely imports the kernel layer (unit tests,
 * `--dry-run`) works without a native build.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An Error thrown by the addon for a failed system call. */
export interface NativeError extends Error {
  /** Positive errno, e.g. 17. */
  readonly errno: number;
  /** Symbolic errno, e.g. `EEXIST`. */
  readonly code: string;
  /** The failing system call, e.g. `setns`. */
  readonly syscall: string;
  /** The path involved, when there is one. */
  readonly path?: string;
}

/** The functions the addon exports. All are synchronous. */
export interface BerthNative {
  /** Create a netns and bind-mount it on `path` (which must not exist; its directory must). */
  netnsCreate(path: string): void;
  /**
   * Unmount every nsfs mount stacked on `path`, then unlink it. Returns false when there was
   * nothing (absent is success).
   */
  netnsDelete(path: string): boolean;
  /** An `O_RDONLY|O_CLOEXEC` fd of the netns at `path`; close it with `fs.closeSync`. */
  netnsOpen(path: string): number;
  /**
   * Make `dir` a shared mount, binding it onto itself first if it is not a mount point (as
   * iproute2 does for /run/netns). Returns true when it created that bind mount.
   */
  netnsDirSetup(dir: string): boolean;
  /** One `umount2(path, MNT_DETACH)`; false when `path` was not a mount point. */
  unmount(path: string): boolean;
  /**
   * A netlink socket (`protocol` 0 = NETLINK_ROUTE) created inside the netns at `path` (null =
   * the calling thread's own netns), bound, with large buffers, extended acks and a 5 s receive
   * timeout. Close it with `fs.closeSync`.
   */
  netlinkOpen(path: string | null, protocol: number): number;
  /** Write `value` to `/proc/sys/<key>` as seen from the netns at `path` (null = own). */
  sysctlWrite(path: string | null, key: string, value: string): void;
  /** Read `/proc/sys/<key>` as seen from the netns at `path` (null = own), untrimmed. */
  sysctlRead(path: string | null, key: string): string;
  /**
   * A UDP socket, or a listening TCP socket, bound to `address:port` inside the netns at `path`
   * (null = the calling thread's own netns), `SOCK_CLOEXEC`. Hand the fd to Node
   * (`dgram.createSocket('udp4').bind({ fd })`, `net.createServer().listen({ fd })`), which then
   * owns and closes it. The socket keeps its netns alive while open.
   */
  socketInNetns(path: string | null, type: 'udp' | 'tcp', address: string, port: number): number;
}

/** Where the addon lands relative to the package root. */
const ADDON_RELATIVE_PATH = join('build', 'Release', 'berth_native.node');

let loaded: BerthNative | undefined;

/**
 * The addon, loaded once. Throws an Error that says how to build it when it is missing.
 */
export function loadNative(): BerthNative {
  if (loaded === undefined) {
    const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
    const file = join(root, ADDON_RELATIVE_PATH);
    if (!existsSync(file)) {
      throw new Error(`native addon ${file} is missing: run "npm run build:native"`);
    }
    const require = createRequire(import.meta.url);
    loaded = require(file) as BerthNative;
  }
  return loaded;
}

/** True when `err` came from the addon (has a numeric errno and a syscall). */
export function isNativeError(err: unknown): err is NativeError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeError>).errno === 'number' &&
    typeof (err as Partial<NativeError>).syscall === 'string'
  );
}

/**
 * The directory of berth's package.json above `start`. Compiled code runs from
 * `dist/src/kernel/` and sources from `src/kernel/`, so counting levels would break one of
 * them; walking up to the package file does not.
 */
function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isBerthManifest(manifest)) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find berth's package.json above ${start}`);
    dir = parent;
  }
}

function isBerthManifest(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'berth';
  } catch {
    return false;
  }
}
