/**
 * Each container's writable layer: an overlayfs mount whose lower layer is the image rootfs
 * (read-only to the container: it never writes into the image) and whose upper and work
 * directories live under `<root>/containers/<id>/`:
 *
 *   <root>/containers/<id>/upper    the container's changes
 *   <root>/containers/<id>/work     overlayfs scratch space
 *   <root>/containers/<id>/merged   the mount point, given to runc as root.path
 *
 * Mounted with mount(8) through an argv array (Node has no mount syscall; ~2 ms). Paths go
 * into one `-o` option string that overlayfs splits on `,` and `:` (and mount(8) on quotes
 * and backslashes), so paths with those characters or whitespace are refused up front.
 * `mountLayer` is create-or-verify, `unmountLayer` treats "not mounted" as success.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, invalid } from '../errors.js';
import { mountOption, readMounts } from './mountinfo.js';
import { describeFailure, runTool } from './run-tool.js';

/** Where one container's layer lives. Only {@link layerPaths} makes one. */
export interface ContainerLayer {
  readonly id: string;
  /** The image rootfs (overlay lowerdir). */
  readonly lower: string;
  readonly upper: string;
  readonly work: string;
  /** The mount point; runc's `root.path`. */
  readonly merged: string;
}

/** Container IDs as runc accepts them (and safe as one path component). */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Throws ERR_INVALID_PARAMETER unless `id` is usable as a runc ID and a directory name. */
export function checkContainerId(id: string): void {
  if (!CONTAINER_ID.test(id) || id.includes('..')) throw invalid(`invalid container id: ${JSON.stringify(id)}`);
}

/** `<root>/containers/<id>`. */
export function containerDir(root: string, id: string): string {
  checkContainerId(id);
  return join(root, 'containers', id);
}

function checkOverlayPath(what: string, p: string): void {
  if (!p.startsWith('/') || /[,:\s\\"'\0]/.test(p)) {
    throw invalid(`${what} cannot be used in an overlay mount (absolute, no ',', ':', quotes, backslash or whitespace): ${JSON.stringify(p)}`);
  }
}

/** The layer paths of container `id` over image rootfs `lower`. Pure. */
export function layerPaths(root: string, id: string, lower: string): ContainerLayer {
  const dir = containerDir(root, id);
  const layer = { id, lower, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged') };
  checkOverlayPath('image rootfs', layer.lower);
  checkOverlayPath('container directory', dir);
  return layer;
}

/** The `-o` option string of the overlay mount. Pure. */
export function overlayOptions(layer: ContainerLayer): string {
  // index=off: the same image rootfs is the lower layer of many mounts at once (moby overlay2
  // does the same where the kernel supports it).
  return `lowerdir=${layer.lower},upperdir=${layer.upper},workdir=${layer.work},index=off`;
}

/** True when `path` is a mount point in this mount namespace. */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === path);
}

/**
 * Creates the directories and mounts the overlay, unless the same overlay is already mounted
 * there (idempotent). Throws ERR_RUNTIME when something else is mounted on `merged`.
 */
export async function mountLayer(layer: ContainerLayer): Promise<void> {
  const existing = (await readMounts()).filter((m) => m.mountPoint === layer.merged);
  if (existing.length > 0) {
    const top = existing[existing.length - 1];
    if (top?.fsType === 'overlay' && mountOption(top.superOptions, 'upperdir') === layer.upper) return;
    throw new BerthError('ERR_RUNTIME', `mount layer of ${layer.id}: ${layer.merged} is already a mount point of something else`);
  }
  await mkdir(layer.upper, { recursive: true, mode: 0o755 });
  await mkdir(layer.work, { recursive: true, mode: 0o700 });
  await mkdir(layer.merged, { recursive: true, mode: 0o755 });
  const args = ['-t', 'overlay', 'overlay', '-o', overlayOptions(layer), layer.merged];
  const r = await runTool('mount', args, { timeoutMs: 30_000 });
  if (r.status !== 0) throw new BerthError('ERR_RUNTIME', `mount layer of ${layer.id}: ${describeFailure('mount', r)}`);
}

/** Unmounts the overlay (every mount stacked on `merged`); "not mounted" is success. */
export async function unmountLayer(layer: Pick<ContainerLayer, 'id' | 'merged'>): Promise<void> {
  for (let i = 0; i < 8 && (await isMountPoint(layer.merged)); i++) {
    const r = await runTool('umount', [layer.merged], { timeoutMs: 30_000 });
    if (r.status === 0) continue;
    if (!(await isMountPoint(layer.merged))) return; // unmounted meanwhile
    throw new BerthError('ERR_RUNTIME', `unmount layer of ${layer.id}: ${describeFailure('umount', r)}`);
  }
}

/** Unmounts and deletes the layer's directories (the container's changes are lost). */
export async function removeLayer(layer: ContainerLayer): Promise<void> {
  await unmountLayer(layer);
  // Refuse to delete through a mount that could not be removed.
  if (await isMountPoint(layer.merged)) throw new BerthError('ERR_RUNTIME', `remove layer of ${layer.id}: ${layer.merged} is still mounted`);
  for (const d of [layer.merged, layer.work, layer.upper]) await rm(d, { recursive: true, force: true });
}
