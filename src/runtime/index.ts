/**
 * runtime/: containers through runc, for the engine.
 *
 * Contract:
 * - Images are directories `<root>/images/<name>/{rootfs/,image.json}` (images.ts); `busybox`
 *   is built from the host's busybox-static, others come from `importImage` (docker import).
 * - A container's root filesystem is an overlay over the image rootfs with its own upper
 *   layer under `<root>/containers/<id>/` (layers.ts); containers never write into an image.
 * - `renderOciSpec` (bundle.ts) is pure: engine decisions in, OCI config.json out, with
 *   Docker's defaults. The network namespace is the engine's (a netns path), the daemon's
 *   (host mode), or — for tests only — a fresh one runc makes.
 * - `RuncRuntime` (runc.ts) runs each container under its own berth-shim, so containers,
 *   their json-file logs and their exit codes survive a berthd restart. All runc state is
 *   under `<exec-root>/runc`, so several daemons never see each other's containers.
 * - A container's stdin (`-i`) and terminal (`-t`) are held by its shim too; clients reach
 *   them, and its live output, over the shim's attach socket (attach.ts), never through
 *   berthd's memory.
 * - No external program is run through a shell; everything that reaches a path or an argv is
 *   validated first (image references, container IDs, signals, env entries).
 *
 * Typical start: `ensureBusyboxImage`/`getImage` → `layerPaths` + `mountLayer` →
 * `renderOciSpec` → `runtime.start`. Typical removal: `runtime.stop` → `runtime.delete` →
 * `removeLayer` → the engine removes `<root>/containers/<id>`.
 */
export * from './bundle.js';
export * from './image-ref.js';
export * from './images.js';
export * from './json-log.js';
export * from './layers.js';
export * from './mountinfo.js';
export * from './runc.js';
export * from './attach.js';
export * from './shim.js';
export { runTool, describeFailure, type ToolResult, type RunToolOptions } from './run-tool.js';
