/**
 * Image references as the docker CLI reads them (`github.com/distribution/reference`):
 * `ParseNormalizedNamed` (docker.io and `library/` implied), `ParseAnyReference` (a bare
 * 64-hex ID is an ID, not a name), `TagNameOnly` (`:latest` added) and `FamiliarString`
 * (docker.io/library/ trimmed again). Used for "Unable to find image 'busybox:latest' locally",
 * the client-side "invalid reference format" errors of run/create/import, and the REPOSITORY
 * and TAG columns of `images`. Pure.
 */

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_ID = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** A named reference: `domain/path[:tag][@digest]`. */
export interface NamedRef {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A reference that failed to parse; the message is the library's. */
export class ReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceError';
  }
}

function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return [domain, remainder];
}

/** `reference.Parse` of a fully qualified string. */
function parse(s: string): NamedRef {
  const m = REFERENCE.exec(s);
  if (m === null) {
    if (s === '') throw new ReferenceError('repository name must have at least one component');
    if (REFERENCE.exec(s.toLowerCase()) !== null) throw new ReferenceError('repository name must be lowercase');
    throw new ReferenceError('invalid reference format');
  }
  const name = m[1] as string;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const digest = m[3];
  if (digest !== undefined) {
    const [algo, hex = ''] = digest.split(':');
    const sizes: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
    const want = sizes[algo ?? ''];
    if (want === undefined) throw new ReferenceError('unsupported digest algorithm');
    if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) throw new ReferenceError('invalid checksum digest length');
  }
  const slash = name.indexOf('/');
  return {
    domain: name.slice(0, slash),
    path: name.slice(slash + 1),
    ...(m[2] !== undefined ? { tag: m[2] } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** `reference.ParseNormalizedNamed`. Throws {@link ReferenceError} with the library's text. */
export function parseNormalizedNamed(s: string): NamedRef {
  if (ANCHORED_ID.test(s)) {
    throw new ReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    throw new ReferenceError(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parse(`${domain}/${remainder}`);
}

/**
 * `reference.ParseAnyReference`: null for an image ID (a 64-hex string or `sha256:<hex>`),
 * which is not a name and so is never pulled; otherwise the normalized name.
 */
export function parseAnyReference(s: string): NamedRef | null {
  if (ANCHORED_ID.test(s)) return null;
  if (/^sha256:[a-f0-9]{64}$/.test(s)) return null;
  return parseNormalizedNamed(s);
}

/** `reference.TagNameOnly`: adds `latest` when there is neither tag nor digest. */
export function tagNameOnly(ref: NamedRef): NamedRef {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** `reference.FamiliarName`: `busybox`, `user/repo`, `localhost:5000/x`. */
export function familiarName(ref: NamedRef): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  if (ref.path.startsWith(OFFICIAL_PREFIX) && !ref.path.slice(OFFICIAL_PREFIX.length).includes('/')) {
    return ref.path.slice(OFFICIAL_PREFIX.length);
  }
  return ref.path;
}

/** `reference.FamiliarString`: familiar name plus `:tag` and `@digest`. */
export function familiarString(ref: NamedRef): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}
