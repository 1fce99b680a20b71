/**
 * `berth ps` / `berth container ls` — docker CLI 28.2.2's `container/list.go` and
 * `formatter/container.go`:
 *
 * - `GET /containers/json` with `all=1`, `limit=N` (`-n`; `-l` is `-n 1`), `size=1` (`-s`, or a
 *   `--format` that uses `.Size`) and the JSON `filters`;
 * - the table `CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES`, IDs cut to 12,
 *   the command quoted and cut to 20 columns with `…`, CREATED as go-units' "About a minute
 *   ago" computed on the client's clock, PORTS grouped as `DisplayablePorts` does, link names
 *   (`/web/db`) left out unless `--no-trunc`;
 * - `--format json` / templates over the same context, `-q` IDs only.
 */
import type { Command, CommandContext } from '../command.js';
import { StatusError } from '../command.js';
import { RAW_FORMAT, TABLE_FORMAT, contextObject, headerObject, renderList } from '../formatter.js';
import { goQuote } from '../go-fmt.js';
import { parseJsonText, type JsonNode } from '../go-json.js';
import { GoTemplate, TemplateExecError, TemplateParseError } from '../go-template.js';
import { type GoValue, NIL, goString, timeString } from '../go-value.js';
import { ellipsis, humanDuration, humanSizeWithPrecision } from '../humanize.js';
import { ReferenceError, familiarString, parseNormalizedNamed } from '../image-ref.js';
import { FORMAT_HELP, filtersJson, naturalLess, truncateId } from './network.js';

/** One port of a list item (`container.Port`). */
export interface ListPort {
  readonly IP: string;
  readonly PrivatePort: number;
  readonly PublicPort: number;
  readonly Type: string;
}

/** The list item fields the formatter reads (`container.Summary`). */
export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly Image: string;
  readonly ImageID: string;
  readonly Command: string;
  readonly Created: number;
  readonly Ports: readonly ListPort[];
  readonly SizeRw: number;
  readonly SizeRootFs: number;
  readonly Labels: Readonly<Record<string, string>> | null;
  readonly State: string;
  readonly Status: string;
  readonly Networks: readonly string[];
  readonly Mounts: readonly { Name: string; Source: string; Driver: string }[];
}

const str = (n: JsonNode | undefined): string => (n !== undefined && n.t === 'str' ? n.v : '');
const num = (n: JsonNode | undefined): number => (n !== undefined && n.t === 'num' ? Number(n.raw) : 0);
const get = (n: JsonNode | undefined, key: string): JsonNode | undefined =>
  n !== undefined && n.t === 'obj' ? n.entries.find(([k]) => k === key)?.[1] : undefined;

/** Reads one `GET /containers/json` item. */
export function toSummary(n: JsonNode): ContainerSummary {
  const arr = (x: JsonNode | undefined): readonly JsonNode[] => (x !== undefined && x.t === 'arr' ? x.items : []);
  const labels = get(n, 'Labels');
  const networks = get(get(n, 'NetworkSettings'), 'Networks');
  return {
    Id: str(get(n, 'Id')),
    Names: arr(get(n, 'Names')).map(str),
    Image: str(get(n, 'Image')),
    ImageID: str(get(n, 'ImageID')),
    Command: str(get(n, 'Command')),
    Created: num(get(n, 'Created')),
    Ports: arr(get(n, 'Ports')).map((p) => ({
      IP: str(get(p, 'IP')),
      PrivatePort: num(get(p, 'PrivatePort')),
      PublicPort: num(get(p, 'PublicPort')),
      Type: str(get(p, 'Type')),
    })),
    SizeRw: num(get(n, 'SizeRw')),
    SizeRootFs: num(get(n, 'SizeRootFs')),
    Labels: labels !== undefined && labels.t === 'obj' ? Object.fromEntries(labels.entries.map(([k, v]) => [k, str(v)])) : null,
    State: str(get(n, 'State')),
    Status: str(get(n, 'Status')),
    Networks: networks !== undefined && networks.t === 'obj' ? networks.entries.map(([k]) => k) : [],
    Mounts: arr(get(n, 'Mounts')).map((m) => ({ Name: str(get(m, 'Name')), Source: str(get(m, 'Source')), Driver: str(get(m, 'Driver')) })),
  };
}

/** Go's `net.JoinHostPort`. */
export const joinHostPort = (host: string, port: string): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** `formatter.DisplayablePorts`: `0.0.0.0:8080->80/tcp, 9000-9002/udp`. */
export function displayablePorts(ports: readonly ListPort[]): string {
  const sorted = [...ports].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    if (a.IP !== b.IP) return a.IP < b.IP ? -1 : 1;
    if (a.PublicPort !== b.PublicPort) return a.PublicPort - b.PublicPort;
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number): string => {
    const parts = key.split('/');
    let type = parts[0] as string;
    let ip = '';
    if (parts.length > 1) {
      ip = parts[0] as string;
      type = parts[1] as string;
    }
    let group = String(first);
    if (first !== last) group = `${group}-${last}`;
    if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP !== '') {
      if (p.PublicPort !== current) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (g === undefined) {
      groups.set(key, { first: current, last: current });
      order.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const key of order) {
    const g = groups.get(key) as { first: number; last: number };
    result.push(formGroup(key, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

/** `ContainerContext.Image()`. */
export function displayImage(c: ContainerSummary, trunc: boolean): string {
  if (c.Image === '') return '<no image>';
  if (!trunc) return c.Image;
  const t = truncateId(c.ImageID);
  if (t === truncateId(c.Image)) return t;
  try {
    const ref = parseNormalizedNamed(c.Image);
    if (ref.digest === undefined) return familiarString(ref);
    const { digest: _drop, ...named } = ref;
    return familiarString(named);
  } catch (e) {
    if (e instanceof ReferenceError) return c.Image;
    throw e;
  }
}

/**
 * Go's `time.Unix(sec, 0).String()` in the local zone, as docker prints CreatedAt. Go names
 * the zone (`CET`); berth knows only the offset, so outside UTC it prints `+0100 +0100`.
 */
export function unixTimeString(sec: number): string {
  const offsetMin = -new Date(sec * 1000).getTimezoneOffset();
  const d = new Date(sec * 1000 + offsetMin * 60_000);
  return timeString({
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    nanosecond: 0,
    offset: offsetMin * 60,
  });
}

/** The `*formatter.ContainerContext` a template sees for one container. */
export function containerContext(c: ContainerSummary, trunc: boolean, now: number, used?: Set<string>): GoValue {
  const mark = (f: string): void => {
    used?.add(f);
  };
  const fields: Record<string, () => string> = {
    ID: () => (trunc ? truncateId(c.Id) : c.Id),
    Names: () => {
      const names = c.Names.map((n) => n.replace(/^\//, ''));
      if (trunc) return names.find((n) => !n.includes('/')) ?? '';
      return names.join(',');
    },
    Image: () => displayImage(c, trunc),
    Command: () => goQuote(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: () => unixTimeString(c.Created),
    RunningFor: () => `${humanDuration(now - c.Created * 1000)} ago`,
    Ports: () => displayablePorts(c.Ports),
    State: () => c.State,
    Status: () => c.Status,
    Size: () => {
      mark('Size');
      const srw = humanSizeWithPrecision(c.SizeRw, 3);
      return c.SizeRootFs > 0 ? `${srw} (virtual ${humanSizeWithPrecision(c.SizeRootFs, 3)})` : srw;
    },
    Labels: () =>
      c.Labels === null
        ? ''
        : Object.entries(c.Labels)
            .map(([k, v]) => `${k}=${v}`)
            .sort()
            .join(','),
    Mounts: () => c.Mounts.map((m) => (trunc ? ellipsis(m.Name === '' ? m.Source : m.Name, 15) : m.Name === '' ? m.Source : m.Name)).join(','),
    LocalVolumes: () => String(c.Mounts.filter((m) => m.Driver === 'local').length),
    Networks: () => c.Networks.join(','),
  };
  const ctx = contextObject('*formatter.ContainerContext', fields, {
    Label: {
      arity: 1,
      call: ([name]) => goString(c.Labels?.[name !== undefined && name.kind === 'string' ? name.v : ''] ?? ''),
    },
    Platform: { arity: 0, call: () => NIL },
  });
  // docker's MarshalJSON includes the nil Platform.
  const marshal = ctx.marshalJson;
  return {
    ...ctx,
    marshalJson: () => (marshal === undefined ? '{}' : marshal().replace(/,"Ports":/, ',"Platform":null,"Ports":')),
  };
}

const CONTAINER_HEADER = headerObject({
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
});

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** `formatter.NewContainerFormat`. */
function listFormat(source: string, quiet: boolean, size: boolean): string {
  if (source === TABLE_FORMAT || source === '') {
    if (quiet) return '{{.ID}}';
    return size ? `${DEFAULT_TABLE}\t{{.Size}}` : DEFAULT_TABLE;
  }
  if (source === RAW_FORMAT) {
    if (quiet) return 'container_id: {{.ID}}';
    let f =
      'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\n' +
      'state: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\n' +
      'ports: {{- pad .Ports 1 0}}\n';
    if (size) f += 'size: {{.Size}}\\n';
    return f;
  }
  return quiet ? '{{.ID}}' : source;
}

/** Whether a `--format` template reads `.Size` (docker executes it on an empty context to see). */
function formatUsesSize(format: string): boolean {
  let tmpl: GoTemplate;
  try {
    tmpl = GoTemplate.parse(format);
  } catch (e) {
    if (e instanceof TemplateParseError) throw new StatusError(`template parsing error: ${e.message}`, 1, { cause: e });
    throw e;
  }
  const used = new Set<string>();
  const empty: ContainerSummary = {
    Id: '',
    Names: [],
    Image: '',
    ImageID: '',
    Command: '',
    Created: 0,
    Ports: [],
    SizeRw: 0,
    SizeRootFs: 0,
    Labels: null,
    State: '',
    Status: '',
    Networks: [],
    Mounts: [],
  };
  try {
    tmpl.execute(containerContext(empty, false, 0, used));
  } catch (e) {
    if (e instanceof TemplateExecError) throw new StatusError(`failed to execute template: ${e.message}`, 1, { cause: e });
    throw e;
  }
  return used.has('Size');
}

export const ps: Command = {
  name: 'ps',
  aliasPaths: ['container ls', 'container list', 'container ps', 'ps'],
  usage: '[OPTIONS]',
  short: 'List containers',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { name: 'filter', short: 'f', kind: 'filter', usage: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'last', short: 'n', kind: 'int', default: -1, usage: 'Show n last created containers (includes all states)' },
    { name: 'latest', short: 'l', kind: 'bool', usage: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display container IDs' },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  args: { kind: 'none' },
  async run(ctx: CommandContext) {
    const { flags } = ctx;
    const quiet = flags.bool('quiet');
    const format = flags.string('format');
    let size = flags.bool('size');
    if (format !== '' && !quiet && !flags.changed('size') && formatUsesSize(format)) size = true;
    let limit = flags.int('last');
    if (flags.bool('latest') && limit === -1) limit = 1;
    const body = await ctx.client().call('GET', '/containers/json', {
      query: {
        all: flags.bool('all') ? '1' : undefined,
        limit: limit > 0 ? String(limit) : undefined,
        size: size ? '1' : undefined,
        filters: filtersJson(flags.filters('filter')),
      },
    });
    const node = parseJsonText(body);
    const items = node.t === 'arr' ? node.items.map(toSummary) : [];
    const now = Date.now();
    const rows = items.map((c) => containerContext(c, !flags.bool('no-trunc'), now));
    ctx.io.stdout.write(renderList(listFormat(format, quiet, size), rows, CONTAINER_HEADER));
  },
};

/** Natural order of `port` output lines. */
export const naturalCompare = (a: string, b: string): number => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0);
