/**
 * `berth inspect` (any object) and `berth container inspect` — docker CLI 28.2.2's
 * `system/inspect.go` and `container/inspect.go`, printed by `inspect.ts` (indented daemon
 * JSON, or `--format` templates on Docker's Go structs with the raw-map fallback).
 *
 * Without `--type`, each name is tried as a container, an image, then a network (docker also
 * tries volumes, plugins and — on swarm managers — swarm objects; berth has none of those), and
 * a name that is none of them reports `Error: No such object: <name>`.
 */
import { type Command, StatusError } from '../command.js';
import { DaemonError, goPathEscape } from '../client.js';
import { ContainerInspect, ImageInspect, NetworkInspect } from '../docker-types.js';
import { parseJsonText } from '../go-json.js';
import type { StructType } from '../go-value.js';
import { runInspect } from '../inspect.js';
import { INSPECT_FORMAT_HELP } from './network.js';

const TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

interface Kind {
  readonly type: string;
  readonly schema: StructType;
  path(ref: string, size: boolean): { path: string; query?: Record<string, string | undefined> };
}

const KINDS: readonly Kind[] = [
  {
    type: 'container',
    schema: ContainerInspect,
    path: (ref, size) => ({ path: `/containers/${goPathEscape(ref)}/json`, query: { size: size ? '1' : undefined } }),
  },
  { type: 'image', schema: ImageInspect, path: (ref) => ({ path: `/images/${goPathEscape(ref)}/json` }) },
  { type: 'network', schema: NetworkInspect, path: (ref) => ({ path: `/networks/${goPathEscape(ref)}` }) },
];

/** docker's `isErrSkippable`. */
const skippable = (e: StatusError): boolean =>
  (e instanceof DaemonError && e.status === 404) || /not supported|invalid reference format/.test(e.message);

/** Which struct a raw inspect answer decodes into, by its shape. */
function schemaOf(raw: string): StructType | null {
  try {
    const node = parseJsonText(raw);
    if (node.t !== 'obj') return null;
    const keys = new Set(node.entries.map(([k]) => k));
    if (keys.has('State') && keys.has('NetworkSettings')) return ContainerInspect;
    if (keys.has('RootFS') || keys.has('RepoTags')) return ImageInspect;
    if (keys.has('IPAM')) return NetworkInspect;
  } catch {
    // runInspect reports unreadable data
  }
  return null;
}

export const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  short: 'Return low-level information on Docker objects',
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes if the type is container' },
    { name: 'type', kind: 'string', usage: 'Only inspect objects of the given type' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const type = ctx.flags.string('type');
    if (type !== '' && !TYPES.includes(type)) {
      throw new StatusError(`unknown type: ${JSON.stringify(type)}: must be one of ${TYPES.map((t) => JSON.stringify(t)).join(', ')}`, 1);
    }
    const client = ctx.client();
    const size = ctx.flags.bool('size');
    const kinds = type === '' ? KINDS : KINDS.filter((k) => k.type === type);
    const schemas = new Map<string, StructType | null>();
    const fetch = async (ref: string): Promise<string> => {
      for (const k of kinds) {
        const { path, query } = k.path(ref, size);
        try {
          const raw = await client.call('GET', path, query !== undefined ? { query } : {});
          schemas.set(raw, k.schema);
          return raw;
        } catch (e) {
          if (type === '' && e instanceof StatusError && skippable(e)) continue;
          throw e;
        }
      }
      if (type !== '' && kinds.length === 0) {
        throw new StatusError(`Error response from daemon: berth has no ${type} objects`, 1);
      }
      throw new StatusError(`Error: No such object: ${ref}`, 1);
    };
    // The schema depends on what each name turned out to be; runInspect takes one, so decode
    // with the first object's type (mixed-type inspects with templates are rare).
    let schema: StructType | null = kinds.length === 1 ? (kinds[0] as Kind).schema : null;
    let prefetched: { ref: string; result: Promise<string> } | undefined;
    if (schema === null && ctx.flags.string('format') !== '' && ctx.flags.string('format') !== 'json') {
      const ref = ctx.args[0] as string;
      const result = fetch(ref);
      prefetched = { ref, result };
      const first = await result.catch(() => null);
      if (first !== null) schema = schemas.get(first) ?? schemaOf(first);
    }
    await runInspect(ctx.io, ctx.args, ctx.flags.string('format'), schema, (ref) => {
      if (prefetched !== undefined && prefetched.ref === ref) {
        const { result } = prefetched;
        prefetched = undefined;
        return result;
      }
      return fetch(ref);
    });
  },
};

export const containerInspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Display detailed information on one or more containers',
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const size = ctx.flags.bool('size');
    await runInspect(ctx.io, ctx.args, ctx.flags.string('format'), ContainerInspect, (ref) =>
      client.call('GET', `/containers/${goPathEscape(ref)}/json`, { query: { size: size ? '1' : undefined } }),
    );
  },
};

export const imageInspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Display detailed information on one or more images',
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    await runInspect(ctx.io, ctx.args, ctx.flags.string('format'), ImageInspect, (ref) =>
      client.call('GET', `/images/${goPathEscape(ref)}/json`),
    );
  },
};
