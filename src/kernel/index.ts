/**
 * kernel/: the only code in berth with side effects on the kernel.
 *
 * Contract:
 * - Everything else talks to the kernel through the `Kernel` interface (types.ts), in kernel
 *   vocabulary, with typed values: callers never see netlink bytes or `nft` text output.
 * - Plans are lists of `KernelOp` (data). `applyAll` runs them in order and on failure undoes
 *   what succeeded (inverses, newest first) before rethrowing; `inverseOf` defines the undo.
 * - Failures are `KernelError`s carrying the operation, the netns (null = the daemon's own)
 *   and errno, or argv/exit status/stderr for `nft`. Deletes treat "already gone" as success.
 * - Only the native addon enters another netns, inside one synchronous call that switches
 *   back before it returns (or aborts the process). Netlink sockets opened that way are cached
 *   per netns by `NetlinkKernel` and closed by `netnsDel` / `release`; no fd outlives its use.
 * - `FakeKernel` is the same surface over an in-memory model, for unit tests and `--dry-run`.
 */
export type {
  AddrState,
  Kernel,
  KernelOp,
  LinkInfo,
  LinkSpec,
  LinkState,
  NetnsRef,
  RouteState,
} from './types.js';
export { NetlinkKernel, type NetlinkKernelOptions } from './netlink-kernel.js';
export { FakeKernel, type FakeKernelOptions } from './fake-kernel.js';
export { applyAll, applyOp, describeOp, inverseOf, undoAll } from './ops.js';
