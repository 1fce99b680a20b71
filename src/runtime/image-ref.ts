/**
 * Image references (`busybox`, `busybox:latest`, `myorg/app:1.2`, `localhost:5000/app`),
 * validated with Docker's reference grammar, normalised (`docker.io/library/x` → `x`, tag
 * `latest` by default) and mapped to a directory name that cannot escape `<root>/images/`.
 * Pure: no I/O.
 */
import { invalid } from '../errors.js';

declare const imageRefBrand: unique symbol;

/** A validated, normalised image reference. Only {@link parseImageRef} makes one. */
export interface ImageRef {
  /** Repository, e.g. `busybox` or `myorg/app` or `localhost:5000/app`. */
  readonly repository: string;
  /** Tag, `latest` unless given. */
  readonly tag: string;
  readonly [imageRefBrand]: true;
}

/** The tag used when a reference has none. */
export const DEFAULT_TAG = 'latest';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const NAME_MAX_LENGTH = 255;

/** Docker's wording, which clients match on. */
const INVALID_FORMAT = 'invalid reference format';

/**
 * Parses `name[:tag]`. Digests (`@sha256:…`) are not supported: berth stores images by name.
 * Throws ERR_INVALID_PARAMETER with Docker's "invalid reference format" wording.
 */
export function parseImageRef(input: string): ImageRef {
  if (typeof input !== 'string' || input.length === 0) throw invalid(INVALID_FORMAT);
  if (input.includes('@')) throw invalid(`${INVALID_FORMAT}: digests are not supported: ${JSON.stringify(input)}`);
  let name = input;
  let tag = DEFAULT_TAG;
  const colon = input.lastIndexOf(':');
  if (colon > input.lastIndexOf('/')) {
    name = input.slice(0, colon);
    tag = input.slice(colon + 1);
    if (!TAG.test(tag)) throw invalid(INVALID_FORMAT);
  }
  if (name.length === 0 || name.length > NAME_MAX_LENGTH) throw invalid(INVALID_FORMAT);
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasDomain =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  if (hasDomain && !DOMAIN.test(first)) throw invalid(INVALID_FORMAT);
  const path = hasDomain ? parts.slice(1) : parts;
  for (const c of path) {
    if (PATH_COMPONENT.test(c)) continue;
    if (PATH_COMPONENT.test(c.toLowerCase())) throw invalid(`${INVALID_FORMAT}: repository name must be lowercase`);
    throw invalid(INVALID_FORMAT);
  }
  let repository = name;
  if (repository.startsWith('docker.io/')) repository = repository.slice('docker.io/'.length);
  if (repository.startsWith('library/') && repository.split('/').length === 2) {
    repository = repository.slice('library/'.length);
  }
  return { repository, tag } as ImageRef;
}

/** `repository:tag`, the form Docker shows in RepoTags. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.repository}:${ref.tag}`;
}

/**
 * The directory name of an image under `<root>/images/`: the reference with `/` and `:`
 * percent-encoded and `:latest` left out (`busybox`, `myorg%2Fapp%3A1.2`). Valid references
 * contain neither `%` nor a leading `.`, so the mapping is one-to-one, never names `.`/`..`,
 * never collides with berth's own `.tmp-*` entries, and is safe inside overlayfs's
 * `lowerdir=` option (which splits on `:` and `,`).
 */
export function imageDirName(ref: ImageRef): string {
  const full = ref.tag === DEFAULT_TAG ? ref.repository : `${ref.repository}:${ref.tag}`;
  const dir = full.replaceAll('/', '%2F').replaceAll(':', '%3A');
  if (Buffer.byteLength(dir) > 255) throw invalid(`${INVALID_FORMAT}: reference too long: ${formatImageRef(ref)}`);
  return dir;
}

/** Inverse of {@link imageDirName}; null for names that are not image directories. */
export function imageRefFromDirName(dir: string): ImageRef | null {
  if (dir.startsWith('.')) return null;
  const text = dir.replaceAll('%2F', '/').replaceAll('%3A', ':');
  try {
    const ref = parseImageRef(text);
    return imageDirName(ref) === dir ? ref : null;
  } catch {
    return null;
  }
}

/** An image ID or ID prefix as users type it: `sha256:<hex>` or 12–64 hex digits. */
export function looksLikeImageId(input: string): boolean {
  return /^sha256:[0-9a-f]{1,64}$/.test(input) || /^[0-9a-f]{12,64}$/.test(input);
}
