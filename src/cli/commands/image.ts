/**
 * `berth image import|ls|rm|inspect` (and the top-level `import`, `images`, `rmi`) — docker
 * CLI 28.2.2's `image/import.go`, `list.go`, `remove.go` and `formatter/image.go`.
 *
 * import: the tarball (a file, or stdin for `-`) is the body of
 * `POST /images/create?fromSrc=-&repo=NAME[:TAG]` (docker puts the whole reference in `repo`),
 * `Content-Type: text/plain`; the daemon's JSON messages are printed as `jsonmessage` does —
 * for berthd, the new image's ID.
 *
 * ls: one row per repository:tag of each image, in the daemon's order (docker walks a Go map
 * per image, so its order of an image's tags varies between runs; berth keeps the daemon's),
 * images without tags as `<none> <none>`, sizes in decimal units (`4.26MB`).
 */
import fs from 'node:fs';
import { type Command, StatusError } from '../command.js';
import { goPathEscape } from '../client.js';
import { RAW_FORMAT, TABLE_FORMAT, contextObject, headerObject, renderList } from '../formatter.js';
import { parseJsonText, type JsonNode } from '../go-json.js';
import type { GoValue } from '../go-value.js';
import { uploadRequest, readBody } from '../hijack.js';
import { humanDuration, humanSize, humanSizeWithPrecision } from '../humanize.js';
import { ReferenceError, familiarName, parseNormalizedNamed } from '../image-ref.js';
import { FORMAT_HELP, filtersJson, truncateId } from './network.js';
import { unixTimeString } from './ps.js';
import { imageInspect } from './inspect.js';

// ---------------------------------------------------------------------------------------------
// import

/** Prints a `jsonmessage` stream the way `DisplayJSONMessagesToStream` does without a terminal. */
function printJsonMessages(text: string, out: (s: string) => void): void {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let msg: { status?: unknown; id?: unknown; progress?: unknown; error?: unknown; errorDetail?: { message?: unknown } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      out(line + '\n');
      continue;
    }
    const detail = msg.errorDetail?.message;
    if (typeof detail === 'string' && detail !== '') throw new StatusError(detail, 1);
    if (typeof msg.error === 'string' && msg.error !== '') throw new StatusError(msg.error, 1);
    const id = typeof msg.id === 'string' && msg.id !== '' ? `${msg.id}: ` : '';
    const status = typeof msg.status === 'string' ? msg.status : '';
    const progress = typeof msg.progress === 'string' && msg.progress !== '' ? ` ${msg.progress}` : '';
    out(`${id}${status}${progress}\n`);
  }
}

export const imageImport: Command = {
  name: 'import',
  aliasPaths: ['image import', 'import'],
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  short: 'Import the contents from a tarball to create a filesystem image',
  flags: [
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Set commit message for imported image' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const source = ctx.args[0] as string;
    const ref = ctx.args[1] ?? '';
    if (ref !== '') {
      try {
        parseNormalizedNamed(ref);
      } catch (e) {
        if (e instanceof ReferenceError) throw new StatusError(e.message, 1);
        throw e;
      }
    }
    const isUrl = /^https?:\/\//.test(source);
    let body: NodeJS.ReadableStream;
    if (source === '-') body = ctx.io.stdin;
    else if (isUrl) body = (await import('node:stream')).Readable.from([]);
    else {
      try {
        fs.accessSync(source, fs.constants.R_OK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new StatusError(`open ${source}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`, 1);
      }
      body = fs.createReadStream(source);
    }
    const changes = ctx.flags.strings('change');
    const res = await uploadRequest(
      ctx.client(),
      '/images/create',
      {
        fromSrc: isUrl ? source : '-',
        repo: ref === '' ? undefined : ref,
        message: ctx.flags.string('message') === '' ? undefined : ctx.flags.string('message'),
        changes: changes.length > 0 ? changes : undefined,
        platform: ctx.flags.string('platform') === '' ? undefined : ctx.flags.string('platform'),
      },
      body,
      'text/plain',
    );
    printJsonMessages(await readBody(res), (s) => ctx.io.stdout.write(s));
  },
};

// ---------------------------------------------------------------------------------------------
// ls

interface ImageSummary {
  readonly Id: string;
  readonly RepoTags: readonly string[];
  readonly RepoDigests: readonly string[];
  readonly Created: number;
  readonly Size: number;
  readonly SharedSize: number;
  readonly Containers: number;
}

const get = (n: JsonNode, key: string): JsonNode | undefined => (n.t === 'obj' ? n.entries.find(([k]) => k === key)?.[1] : undefined);
const strs = (n: JsonNode | undefined): string[] =>
  n !== undefined && n.t === 'arr' ? n.items.map((x) => (x.t === 'str' ? x.v : '')) : [];
const num = (n: JsonNode | undefined, dflt = 0): number => (n !== undefined && n.t === 'num' ? Number(n.raw) : dflt);

function toImageSummary(n: JsonNode): ImageSummary {
  const id = get(n, 'Id');
  const size = num(get(n, 'Size'));
  return {
    Id: id !== undefined && id.t === 'str' ? id.v : '',
    RepoTags: strs(get(n, 'RepoTags')),
    RepoDigests: strs(get(n, 'RepoDigests')),
    Created: num(get(n, 'Created')),
    Size: size,
    SharedSize: num(get(n, 'SharedSize'), -1),
    Containers: num(get(n, 'Containers'), -1),
  };
}

interface ImageRow {
  readonly image: ImageSummary;
  readonly repo: string;
  readonly tag: string;
  readonly digest: string;
}

/** `imageFormat` + `imageFormatTaggedAndDigest`: the rows one image contributes. */
export function imageRows(img: ImageSummary, showDigests: boolean): ImageRow[] {
  const dangling =
    (img.RepoTags.length === 0 && img.RepoDigests.length === 0) ||
    (img.RepoTags.length === 1 && img.RepoTags[0] === '<none>:<none>' && img.RepoDigests.length === 1 && img.RepoDigests[0] === '<none>@<none>');
  if (dangling) return [{ image: img, repo: '<none>', tag: '<none>', digest: '<none>' }];
  const repoTags = new Map<string, string[]>();
  const repoDigests = new Map<string, string[]>();
  for (const r of img.RepoTags) {
    try {
      const ref = parseNormalizedNamed(r);
      if (ref.tag !== undefined && ref.digest === undefined) {
        const name = familiarName(ref);
        repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
      }
    } catch {
      // docker skips references it cannot parse
    }
  }
  for (const r of img.RepoDigests) {
    try {
      const ref = parseNormalizedNamed(r);
      if (ref.digest !== undefined) {
        const name = familiarName(ref);
        repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
      }
    } catch {
      // skipped, as in docker
    }
  }
  const rows: ImageRow[] = [];
  for (const [repo, tags] of repoTags) {
    const digests = showDigests ? (repoDigests.get(repo) ?? []) : [];
    repoDigests.delete(repo);
    for (const tag of tags) {
      if (digests.length === 0) rows.push({ image: img, repo, tag, digest: '<none>' });
      else for (const d of digests) rows.push({ image: img, repo, tag, digest: d });
    }
  }
  for (const [repo, digests] of repoDigests) {
    if (showDigests) for (const d of digests) rows.push({ image: img, repo, tag: '<none>', digest: d });
    else rows.push({ image: img, repo, tag: '<none>', digest: '' });
  }
  return rows;
}

function imageContext(row: ImageRow, trunc: boolean, now: number): GoValue {
  const i = row.image;
  return contextObject('*formatter.imageContext', {
    ID: () => (trunc ? truncateId(i.Id) : i.Id),
    Repository: () => row.repo,
    Tag: () => row.tag,
    Digest: () => row.digest,
    CreatedSince: () => `${humanDuration(now - i.Created * 1000)} ago`,
    CreatedAt: () => unixTimeString(i.Created),
    Size: () => humanSizeWithPrecision(i.Size, 3),
    Containers: () => (i.Containers === -1 ? 'N/A' : String(i.Containers)),
    // docker 28 derives the deprecated VirtualSize from Size.
    VirtualSize: () => humanSize(i.Size),
    SharedSize: () => (i.SharedSize === -1 ? 'N/A' : humanSize(i.SharedSize)),
    UniqueSize: () => (i.Size === -1 || i.SharedSize === -1 ? 'N/A' : humanSize(i.Size - i.SharedSize)),
  });
}

const IMAGE_HEADER = headerObject({
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
});

/** `formatter.NewImageFormat`. */
function imageFormat(source: string, quiet: boolean, digest: boolean): string {
  if (source === TABLE_FORMAT || source === '') {
    if (quiet) return '{{.ID}}';
    return digest
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
  }
  if (source === RAW_FORMAT) {
    if (quiet) return 'image_id: {{.ID}}';
    return digest
      ? 'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n'
      : 'repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n';
  }
  return quiet ? '{{.ID}}' : source;
}

export const imageLs: Command = {
  name: 'ls',
  aliases: ['list'],
  aliasPaths: ['image ls', 'image list', 'images'],
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  short: 'List images',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all images (default hides intermediate images)' },
    { name: 'digests', kind: 'bool', usage: 'Show digests' },
    { name: 'filter', short: 'f', kind: 'filter', usage: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
  ],
  args: { kind: 'max', n: 1 },
  async run(ctx) {
    const { flags } = ctx;
    const filters = new Map(flags.filters('filter'));
    const ref = ctx.args[0];
    if (ref !== undefined) filters.set('reference', [...(filters.get('reference') ?? []), ref]);
    const body = await ctx.client().call('GET', '/images/json', {
      query: { all: flags.bool('all') ? '1' : undefined, filters: filtersJson(filters) },
    });
    const node = parseJsonText(body);
    const images = node.t === 'arr' ? node.items.map(toImageSummary) : [];
    const digests = flags.bool('digests');
    const now = Date.now();
    const rows = images.flatMap((i) => imageRows(i, digests)).map((r) => imageContext(r, !flags.bool('no-trunc'), now));
    ctx.io.stdout.write(renderList(imageFormat(flags.string('format'), flags.bool('quiet'), digests), rows, IMAGE_HEADER));
  },
};

export const images: Command = { ...imageLs, name: 'images', aliases: [] };

// ---------------------------------------------------------------------------------------------
// rm

export const imageRm: Command = {
  name: 'rm',
  aliases: ['remove'],
  aliasPaths: ['image rm', 'image remove', 'rmi'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images',
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete untagged parents' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const query = { force: ctx.flags.bool('force') ? '1' : undefined, noprune: ctx.flags.bool('no-prune') ? '1' : undefined };
    const errors: string[] = [];
    for (const name of ctx.args) {
      let res: string;
      try {
        res = await client.call('DELETE', `/images/${goPathEscape(name)}`, { query });
      } catch (e) {
        if (!(e instanceof StatusError)) throw e;
        errors.push(e.message);
        continue;
      }
      const items = JSON.parse(res) as { Untagged?: string; Deleted?: string }[];
      for (const it of Array.isArray(items) ? items : []) {
        if (it.Deleted !== undefined && it.Deleted !== '') ctx.io.stdout.write(`Deleted: ${it.Deleted}\n`);
        else ctx.io.stdout.write(`Untagged: ${it.Untagged ?? ''}\n`);
      }
    }
    if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  },
};

export const rmi: Command = { ...imageRm, name: 'rmi', aliases: [] };

export { imageInspect };
