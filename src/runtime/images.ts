/**
 * Images as root-filesystem directories: `<root>/images/<dir>/rootfs/` plus
 * `<root>/images/<dir>/image.json`, where `<dir>` comes from {@link imageDirName} (`busybox`
 * for `busybox:latest`). An image directory is written once, under a `.tmp-*` name, and then
 * renamed into place, so readers never see half an image and concurrent builders of the same
 * image end with one winner. Containers never write into an image: they get an overlay layer
 * on top (see layers.ts).
 *
 * An image that is the lower layer of a mounted overlay is "in use": it is neither removed nor
 * replaced. Stopped containers whose layer is unmounted are the engine's to account for.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, invalid, withContext } from '../errors.js';
import { DEFAULT_PATH_ENV } from './bundle.js';
import { formatImageRef, imageDirName, looksLikeImageId, parseImageRef, type ImageRef } from './image-ref.js';
import { overlaysOver, readMounts } from './mountinfo.js';
import { describeFailure, runTool } from './run-tool.js';

/** The container configuration an image carries, with Docker's field names. */
export interface ImageConfig {
  readonly Cmd?: readonly string[];
  readonly Entrypoint?: readonly string[];
  /** `KEY=value` entries. */
  readonly Env?: readonly string[];
  readonly WorkingDir?: string;
  /** `"80/tcp": {}` entries, as in Docker's image config. */
  readonly ExposedPorts?: Readonly<Record<string, Readonly<Record<string, never>>>>;
  readonly User?: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly StopSignal?: string;
}

/** What an image was made from; decides whether a rebuild is needed. */
export type ImageSource =
  | {
      readonly kind: 'busybox';
      /** Path of the busybox binary it was built from. */
      readonly binary: string;
      readonly binarySize: number;
      readonly binaryMtimeMs: number;
      /** Version of the recipe in {@link ensureBusyboxImage}; bump it to force rebuilds. */
      readonly recipe: number;
    }
  | {
      readonly kind: 'import';
      /** sha256 of the bytes imported (compressed or not). */
      readonly digest: string;
    };

/** The content of `image.json`. */
export interface ImageRecord {
  /** `sha256:<64 hex>`, derived from the source and the config only (not from `created`). */
  readonly id: string;
  /** `["busybox:latest"]`. */
  readonly repoTags: readonly string[];
  /** RFC 3339. */
  readonly created: string;
  /** Bytes of regular files in the rootfs. */
  readonly size: number;
  readonly architecture: string;
  readonly os: 'linux';
  readonly config: ImageConfig;
  readonly source: ImageSource;
  /** `docker import -m`. */
  readonly comment?: string;
}

/** An image on disk. */
export interface Image extends ImageRecord {
  readonly ref: ImageRef;
  /** `<root>/images/<dir>`. */
  readonly dir: string;
  /** `<root>/images/<dir>/rootfs`: the overlay lower layer. */
  readonly rootfs: string;
}

const BUSYBOX_RECIPE = 1;
const BUSYBOX_BINARY = '/bin/busybox';

/** `<root>/images`. */
export function imagesDir(root: string): string {
  return join(root, 'images');
}

function dockerArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Image ID from what is stable about an image: its source digest and its config. */
function imageId(sourceDigest: string, config: ImageConfig): string {
  return `sha256:${sha256(JSON.stringify({ source: sourceDigest, config, architecture: dockerArch(), os: 'linux' }))}`;
}

async function rootfsSize(rootfs: string): Promise<number> {
  let total = 0;
  const names = await readdir(rootfs, { recursive: true });
  for (const name of names) {
    const st = await lstat(join(rootfs, name));
    if (st.isFile()) total += st.size;
  }
  return total;
}

async function readImageDir(dir: string, ref: ImageRef): Promise<Image | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'image.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw withContext(`read image ${formatImageRef(ref)}`, e);
  }
  const record = JSON.parse(text) as ImageRecord;
  return { ...record, ref, dir, rootfs: join(dir, 'rootfs') };
}

async function isInUse(rootfs: string): Promise<boolean> {
  return overlaysOver(await readMounts(), rootfs).length > 0;
}

function inUseError(ref: ImageRef, id: string): BerthError {
  return new BerthError(
    'ERR_IMAGE_IN_USE',
    `conflict: unable to remove repository reference "${formatImageRef(ref)}" - image ${id.slice(7, 19)} is being used by a running container`,
  );
}

/**
 * Moves a fully written `.tmp-*` image directory into place. If an image with that name
 * exists: when `replace` is false the existing one wins (a concurrent builder got there
 * first) and is returned; otherwise it is replaced, unless it is in use.
 */
async function commitImageDir(root: string, tmp: string, ref: ImageRef, replace: boolean): Promise<Image> {
  const dir = join(imagesDir(root), imageDirName(ref));
  try {
    await rename(tmp, dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw withContext(`store image ${formatImageRef(ref)}`, e);
    const existing = await readImageDir(dir, ref);
    if (!replace && existing) {
      await rm(tmp, { recursive: true, force: true });
      return existing;
    }
    if (existing && (await isInUse(existing.rootfs))) {
      await rm(tmp, { recursive: true, force: true });
      throw inUseError(ref, existing.id);
    }
    const trash = join(imagesDir(root), `.trash-${randomBytes(6).toString('hex')}`);
    await rename(dir, trash);
    await rename(tmp, dir);
    await rm(trash, { recursive: true, force: true });
  }
  const image = await readImageDir(dir, ref);
  if (!image) throw new BerthError('ERR_INTERNAL', `image ${formatImageRef(ref)} vanished while being stored`);
  return image;
}

async function makeTmpDir(root: string): Promise<string> {
  await mkdir(imagesDir(root), { recursive: true, mode: 0o700 });
  const tmp = join(imagesDir(root), `.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(join(tmp, 'rootfs'), { recursive: true, mode: 0o755 });
  return tmp;
}

/** Options for {@link ensureBusyboxImage}. */
export interface BusyboxImageOptions {
  /** The static busybox binary to use; default `/bin/busybox` (Debian's busybox-static). */
  readonly binary?: string;
}

/**
 * Ensures the `busybox` (= `busybox:latest`) image exists, built from the host's static
 * busybox: the binary, a symlink per applet of `busybox --list-full` (what `busybox --install
 * -s` would do, which needs /proc/self/exe inside a chroot), /etc/passwd, /etc/group,
 * /etc/nsswitch.conf (`hosts: files dns`), /var/www/index.html, /tmp (1777), /root, Cmd
 * `["sh"]`. Returns at the cost of one read and one stat when the image is already there and
 * the binary has not changed; a stale image is rebuilt unless a container has it mounted.
 */
export async function ensureBusyboxImage(root: string, opts: BusyboxImageOptions = {}): Promise<Image> {
  const binary = opts.binary ?? BUSYBOX_BINARY;
  const ref = parseImageRef('busybox');
  const dir = join(imagesDir(root), imageDirName(ref));
  let st;
  try {
    st = await stat(binary);
  } catch (e) {
    throw new BerthError('ERR_IMAGE_NOT_FOUND', `build image busybox: ${binary} not found: install busybox-static`, { cause: e });
  }
  const existing = await readImageDir(dir, ref);
  const fresh = (img: Image): boolean =>
    img.source.kind === 'busybox' &&
    img.source.binary === binary &&
    img.source.binarySize === st.size &&
    img.source.binaryMtimeMs === st.mtimeMs &&
    img.source.recipe === BUSYBOX_RECIPE;
  if (existing && (fresh(existing) || (await isInUse(existing.rootfs)))) return existing;

  const tmp = await makeTmpDir(root);
  try {
    const rootfs = join(tmp, 'rootfs');
    const list = await runTool(binary, ['--list-full']);
    if (list.status !== 0) throw new BerthError('ERR_RUNTIME', `build image busybox: ${describeFailure(binary, list)}`);
    const applets = list.stdout
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && l !== 'bin/busybox');
    for (const p of applets) {
      // The list comes from a binary we run; still keep every entry inside the rootfs.
      if (!/^[a-z0-9/._[\]-]+$/i.test(p) || p.startsWith('/') || p.split('/').includes('..')) {
        throw new BerthError('ERR_RUNTIME', `build image busybox: unexpected applet path ${JSON.stringify(p)}`);
      }
    }
    const dirs = new Set(['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'var/www', 'home']);
    for (const p of applets) dirs.add(p.split('/').slice(0, -1).join('/'));
    for (const d of dirs) if (d) await mkdir(join(rootfs, d), { recursive: true, mode: 0o755 });
    await mkdir(join(rootfs, 'tmp'), { mode: 0o1777 });
    await chmod(join(rootfs, 'tmp'), 0o1777); // mkdir's mode is filtered by the umask
    await mkdir(join(rootfs, 'root'), { mode: 0o700 });
    await copyFile(binary, join(rootfs, 'bin/busybox'));
    await chmod(join(rootfs, 'bin/busybox'), 0o755);
    await Promise.all(applets.map((p) => symlink('/bin/busybox', join(rootfs, p))));
    const files: Record<string, string> = {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
      'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
      'etc/nsswitch.conf': 'hosts: files dns\n',
      'var/www/index.html': 'hello from busybox httpd\n',
      // Mount targets for the container's own files (Docker's images ship them empty too).
      'etc/hosts': '',
      'etc/resolv.conf': '',
      'etc/hostname': '',
    };
    for (const [p, content] of Object.entries(files)) await writeFile(join(rootfs, p), content, { mode: 0o644 });

    const config: ImageConfig = { Cmd: ['sh'], Env: [DEFAULT_PATH_ENV] };
    const binaryDigest = sha256(await readFile(binary));
    const record: ImageRecord = {
      id: imageId(`busybox-recipe-${BUSYBOX_RECIPE}:${binaryDigest}`, config),
      repoTags: [formatImageRef(ref)],
      created: new Date().toISOString(),
      size: await rootfsSize(rootfs),
      architecture: dockerArch(),
      os: 'linux',
      config,
      source: { kind: 'busybox', binary, binarySize: st.size, binaryMtimeMs: st.mtimeMs, recipe: BUSYBOX_RECIPE },
    };
    await writeFile(join(tmp, 'image.json'), `${JSON.stringify(record, null, 2)}\n`);
    return await commitImageDir(root, tmp, ref, existing !== null);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e instanceof BerthError ? e : withContext('build image busybox', e);
  }
}

/** Options for {@link importImage}, as `docker import -c/-m` would give them. */
export interface ImportImageOptions {
  /** Container config for the image (Docker's import leaves it empty). */
  readonly config?: ImageConfig;
  /** Commit message, shown as the image's comment. */
  readonly message?: string;
}

/**
 * Imports a root filesystem from a tar archive (plain, gzip, bzip2, xz or zstd), like `docker
 * import`: `source` is a stream (e.g. an HTTP request body) or a file path. The image ID
 * derives from the sha256 of the bytes given and the config. The archive is
 * extracted by GNU tar with ownership and modes kept; tar refuses members with `..`, strips
 * leading `/`, and defers symlinks that point outside the tree, so an archive cannot write
 * outside the new image. Replaces an existing image of that name unless it is in use.
 */
export async function importImage(
  root: string,
  source: AsyncIterable<Uint8Array> | string,
  reference: string,
  opts: ImportImageOptions = {},
): Promise<Image> {
  const ref = parseImageRef(reference);
  const name = formatImageRef(ref);
  const tmp = await makeTmpDir(root);
  try {
    const rootfs = join(tmp, 'rootfs');
    // The archive is spooled to a file while it is hashed: tar stops reading at the
    // end-of-archive marker, so hashing what tar consumes would miss trailing bytes, and from
    // a file GNU tar detects gzip, bzip2, xz and zstd by itself.
    let archive: string;
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    if (typeof source === 'string') {
      archive = source;
      await stat(source).catch((e: unknown) => {
        throw invalid(`import image ${name}: cannot read ${source}: ${(e as Error).message}`, e);
      });
      await pipeline(createReadStream(source), hasher, new Writable({ write: (_c, _e, cb) => cb() }));
    } else {
      archive = join(tmp, 'archive');
      await pipeline(source, hasher, createWriteStream(archive, { mode: 0o600 }));
    }
    if ((await stat(archive)).size === 0) throw invalid(`import image ${name}: the archive is empty`);
    const tarArgs = ['-x', '-f', archive, '-C', rootfs, '--numeric-owner', '--same-owner', '--same-permissions'];
    const result = await runTool('tar', tarArgs, { timeoutMs: 30 * 60_000 });
    if (archive !== source) await rm(archive, { force: true });
    if (result.status !== 0) throw invalid(`import image ${name}: ${describeFailure('tar', result)}`);
    // Directories a runtime mounts over; an archive of a bare tree may not have them.
    for (const d of ['proc', 'sys', 'dev', 'etc']) await mkdir(join(rootfs, d), { recursive: true });
    if (await mkdir(join(rootfs, 'tmp')).then(() => true, () => false)) await chmod(join(rootfs, 'tmp'), 0o1777);

    const config: ImageConfig = opts.config ?? {};
    const digest = `sha256:${hash.digest('hex')}`;
    const record: ImageRecord = {
      id: imageId(digest, config),
      repoTags: [name],
      created: new Date().toISOString(),
      size: await rootfsSize(rootfs),
      architecture: dockerArch(),
      os: 'linux',
      config,
      source: { kind: 'import', digest },
      ...(opts.message === undefined ? {} : { comment: opts.message }),
    };
    await writeFile(join(tmp, 'image.json'), `${JSON.stringify(record, null, 2)}\n`);
    return await commitImageDir(root, tmp, ref, true);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e instanceof BerthError ? e : withContext(`import image ${name}`, e);
  }
}

/** All images, sorted by reference. Unreadable entries are skipped. */
export async function listImages(root: string): Promise<Image[]> {
  let names: string[];
  try {
    names = await readdir(imagesDir(root));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw withContext('list images', e);
  }
  const images: Image[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.')) continue;
    const text = n.replaceAll('%2F', '/').replaceAll('%3A', ':');
    let ref: ImageRef;
    try {
      ref = parseImageRef(text);
    } catch {
      continue;
    }
    if (imageDirName(ref) !== n) continue;
    try {
      const img = await readImageDir(join(imagesDir(root), n), ref);
      if (img) images.push(img);
    } catch {
      // a broken image.json: not an image
    }
  }
  return images;
}

/**
 * Finds an image by `name[:tag]` (tag `latest` by default), or by ID / ID prefix
 * (`sha256:…` or ≥ 12 hex digits) when no name matches. Throws ERR_IMAGE_NOT_FOUND with
 * Docker's "No such image: …" wording.
 */
export async function getImage(root: string, reference: string): Promise<Image> {
  const byId = async (): Promise<Image | null> => {
    const want = reference.startsWith('sha256:') ? reference : `sha256:${reference}`;
    const matches = (await listImages(root)).filter((i) => i.id.startsWith(want));
    const ids = new Set(matches.map((i) => i.id));
    return ids.size === 1 ? (matches[0] ?? null) : null;
  };
  if (reference.startsWith('sha256:')) {
    const img = looksLikeImageId(reference) ? await byId() : null;
    if (img) return img;
    throw new BerthError('ERR_IMAGE_NOT_FOUND', `No such image: ${reference}`);
  }
  const ref = parseImageRef(reference);
  const img = await readImageDir(join(imagesDir(root), imageDirName(ref)), ref);
  if (img) return img;
  if (looksLikeImageId(reference)) {
    const found = await byId();
    if (found) return found;
  }
  throw new BerthError('ERR_IMAGE_NOT_FOUND', `No such image: ${formatImageRef(ref)}`);
}

/**
 * Removes an image (its directory). Refused with ERR_IMAGE_IN_USE while a mounted container
 * layer uses it; the engine must also refuse for stopped containers it knows of.
 */
export async function removeImage(root: string, reference: string): Promise<Image> {
  const img = await getImage(root, reference);
  if (await isInUse(img.rootfs)) throw inUseError(img.ref, img.id);
  const trash = join(imagesDir(root), `.trash-${randomBytes(6).toString('hex')}`);
  try {
    await rename(img.dir, trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BerthError('ERR_IMAGE_NOT_FOUND', `No such image: ${formatImageRef(img.ref)}`);
    throw withContext(`remove image ${formatImageRef(img.ref)}`, e);
  }
  await rm(trash, { recursive: true, force: true });
  return img;
}
