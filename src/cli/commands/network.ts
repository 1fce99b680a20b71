/**
 * `berth network create|ls|inspect|rm|prune|connect|disconnect` — the docker CLI 28.2.2's
 * `cli/command/network/*.go` over berthd's Engine API: same flags, same request bodies (key
 * order, `omitempty`, trailing newline), same output and error texts. Each command was checked
 * against the real `docker` binary talking to a recording fake daemon; the unit tests in
 * `test/unit/cli/network.test.ts` pin those observations.
 *
 * Deliberate differences: Go map order (IPAM configs, `Labels` column) is random in Docker and
 * stable here (flag order / sorted keys); `rm` does not first inspect each network for the
 * swarm-ingress warning (berth has no ingress network).
 */
import { type Command, type CommandContext, type CommandGroup, StatusError } from '../command.js';
import { DaemonError, goPathEscape } from '../client.js';
import {
  NetworkConnectRequest,
  NetworkCreateRequest,
  NetworkDisconnectRequest,
  NetworkInspect,
} from '../docker-types.js';
import type { FlagSpec } from '../flags.js';
import { RAW_FORMAT, TABLE_FORMAT, contextObject, headerObject, renderList } from '../formatter.js';
import { parseJsonText, quoteJsonString } from '../go-json.js';
import {
  type GoValue,
  decodeTyped,
  encodeJson,
  goString,
  plainToJsonNode,
  sortedKeys,
  timeString,
} from '../go-value.js';
import { runInspect } from '../inspect.js';
import { buildIpamConfig } from '../ipam-config.js';
import { confirm } from '../prompt.js';
import { kvStringsToMap, validateLabel, validateLink } from '../validators.js';

// ---------------------------------------------------------------------------------------------
// Shared texts and helpers

/** `flagsHelper.FormatHelp` of the docker CLI. */
export const FORMAT_HELP =
  'Format output using a custom template:\n' +
  "'table':            Print output in table format with column headers (default)\n" +
  "'table TEMPLATE':   Print output in table format using the given Go template\n" +
  "'json':             Print in JSON format\n" +
  "'TEMPLATE':         Print output using the given Go template.\n" +
  'Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates';

/** `flagsHelper.InspectFormatHelp` of the docker CLI. */
export const INSPECT_FORMAT_HELP =
  'Format output using a custom template:\n' +
  "'json':             Print in JSON format\n" +
  "'TEMPLATE':         Print output using the given Go template.\n" +
  'Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates';

/** `stringid.TruncateID`: drop an algorithm prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  const bare = colon >= 0 ? id.slice(colon + 1) : id;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}

/** `sortorder.NaturalLess`: digit runs compare as numbers, the rest byte-wise. */
export function naturalLess(a: string, b: string): boolean {
  const s1 = Buffer.from(a);
  const s2 = Buffer.from(b);
  const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
  let i1 = 0;
  let i2 = 0;
  while (i1 < s1.length && i2 < s2.length) {
    const c1 = s1[i1] as number;
    const c2 = s2[i2] as number;
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i1++;
      i2++;
      continue;
    }
    while (i1 < s1.length && s1[i1] === 0x30) i1++;
    while (i2 < s2.length && s2[i2] === 0x30) i2++;
    const nz1 = i1;
    const nz2 = i2;
    while (i1 < s1.length && isDigit(s1[i1])) i1++;
    while (i2 < s2.length && isDigit(s2[i2])) i2++;
    const len1 = i1 - nz1;
    const len2 = i2 - nz2;
    if (len1 !== len2) return len1 < len2;
    const n1 = s1.subarray(nz1, i1).toString();
    const n2 = s2.subarray(nz2, i2).toString();
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  // Identical so far and at least one has ended: the shorter sorts first.
  return s1.length < s2.length;
}

/** `filters.ToJSON` (json.Marshal, so HTML-escaped): `{"name":{"value":true}}` with sorted keys, or undefined when empty. */
export function filtersJson(filters: ReadonlyMap<string, readonly string[]>): string | undefined {
  if (filters.size === 0) return undefined;
  const keys = sortedKeys(filters);
  return (
    '{' +
    keys
      .map((k) => {
        const vals = [...new Set(filters.get(k) ?? [])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        return `${quoteJsonString(k, true)}:{${vals.map((v) => `${quoteJsonString(v, true)}:true`).join(',')}}`;
      })
      .join(',') +
    '}'
  );
}

const networkPath = (ref: string): string => `/networks/${goPathEscape(ref)}`;

// ---------------------------------------------------------------------------------------------
// create

const createFlags: readonly FlagSpec[] = [
  { name: 'attachable', kind: 'bool', usage: 'Enable manual container attachment' },
  { name: 'aux-address', kind: 'map', usage: 'Auxiliary IPv4 or IPv6 addresses used by Network driver' },
  { name: 'config-from', kind: 'string', usage: 'The network from which to copy the configuration' },
  { name: 'config-only', kind: 'bool', usage: 'Create a configuration only network' },
  { name: 'driver', short: 'd', kind: 'string', default: 'bridge', usage: 'Driver to manage the Network' },
  { name: 'gateway', kind: 'stringSlice', usage: 'IPv4 or IPv6 Gateway for the master subnet' },
  { name: 'ingress', kind: 'bool', usage: 'Create swarm routing-mesh network' },
  { name: 'internal', kind: 'bool', usage: 'Restrict external access to the network' },
  { name: 'ip-range', kind: 'stringSlice', usage: 'Allocate container ip from a sub-range' },
  { name: 'ipam-driver', kind: 'string', default: 'default', usage: 'IP Address Management Driver' },
  { name: 'ipam-opt', kind: 'map', usage: 'Set IPAM driver specific options' },
  { name: 'ipv4', kind: 'bool', default: true, usage: 'Enable or disable IPv4 address assignment' },
  { name: 'ipv6', kind: 'bool', usage: 'Enable or disable IPv6 address assignment' },
  { name: 'label', kind: 'list', usage: 'Set metadata on a network', validate: validateLabel },
  { name: 'opt', short: 'o', kind: 'map', usage: 'Set driver specific options' },
  { name: 'scope', kind: 'string', usage: "Control the network's scope" },
  { name: 'subnet', kind: 'stringSlice', usage: 'Subnet in CIDR format that represents a network segment' },
];

/**
 * The JSON body docker CLI 28.2.2 sends for `network create` with these flags (exported for
 * tests and for callers that build networks programmatically). Throws StatusError on bad IPAM flags.
 */
export function createRequestBody(ctx: Pick<CommandContext, 'flags' | 'args'>): string {
  const { flags } = ctx;
  let config;
  try {
    config = buildIpamConfig({
      subnets: flags.strings('subnet'),
      ipRanges: flags.strings('ip-range'),
      gateways: flags.strings('gateway'),
      auxAddresses: flags.map('aux-address'),
    });
  } catch (e) {
    throw new StatusError((e as Error).message, 1, { cause: e });
  }
  const configFrom = flags.string('config-from');
  const body = {
    Driver: flags.string('driver'),
    Scope: flags.string('scope'),
    EnableIPv4: flags.changed('ipv4') ? flags.bool('ipv4') : null,
    EnableIPv6: flags.changed('ipv6') ? flags.bool('ipv6') : null,
    IPAM: {
      Driver: flags.string('ipam-driver'),
      Options: flags.map('ipam-opt'),
      Config: config.map((c) => ({
        Subnet: c.Subnet,
        IPRange: c.IPRange,
        Gateway: c.Gateway,
        AuxiliaryAddresses: c.AuxiliaryAddresses,
      })),
    },
    Internal: flags.bool('internal'),
    Attachable: flags.bool('attachable'),
    Ingress: flags.bool('ingress'),
    ConfigOnly: flags.bool('config-only'),
    ConfigFrom: configFrom !== '' ? { Network: configFrom } : null,
    Options: flags.map('opt'),
    Labels: kvStringsToMap(flags.strings('label')),
    Name: ctx.args[0] ?? '',
  };
  return encodeJson(decodeTyped(NetworkCreateRequest, plainToJsonNode(body)), { escapeHtml: true });
}

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] NETWORK',
  short: 'Create a network',
  flags: createFlags,
  args: { kind: 'exact', n: 1 },
  async run(ctx) {
    const body = createRequestBody(ctx);
    const res = await ctx.client().call('POST', '/networks/create', { json: body });
    const id = (JSON.parse(res) as { Id?: unknown }).Id;
    ctx.io.stdout.write(`${typeof id === 'string' ? id : ''}\n`);
  },
};

// ---------------------------------------------------------------------------------------------
// ls

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

/** The docker CLI's `network.NewFormat`. */
function listFormat(source: string, quiet: boolean): string {
  if (source === TABLE_FORMAT) return quiet ? '{{.ID}}' : DEFAULT_TABLE;
  if (source === RAW_FORMAT) {
    return quiet ? 'network_id: {{.ID}}' : 'network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n';
  }
  return source;
}

/** The `*network.networkContext` a list template sees for one network. */
export function networkContext(nw: GoValue, trunc: boolean): GoValue {
  const field = (name: string): GoValue => {
    if (nw.kind !== 'struct') return goString('');
    const i = nw.type.fields.findIndex((f) => f.name === name);
    return nw.fields[i] ?? goString('');
  };
  const s = (name: string): string => {
    const v = field(name);
    return v.kind === 'string' ? v.v : '';
  };
  const b = (name: string): string => {
    const v = field(name);
    return v.kind === 'bool' && v.v ? 'true' : 'false';
  };
  const labels = (): ReadonlyMap<string, GoValue> | null => {
    const v = field('Labels');
    return v.kind === 'map' ? v.entries : null;
  };
  return contextObject(
    '*network.networkContext',
    {
      ID: () => (trunc ? truncateId(s('ID')) : s('ID')),
      Name: () => s('Name'),
      Driver: () => s('Driver'),
      Scope: () => s('Scope'),
      IPv4: () => b('EnableIPv4'),
      IPv6: () => b('EnableIPv6'),
      Internal: () => b('Internal'),
      Labels: () => {
        const m = labels();
        if (m === null) return '';
        return sortedKeys(m)
          .map((k) => {
            const v = m.get(k);
            return `${k}=${v !== undefined && v.kind === 'string' ? v.v : ''}`;
          })
          .join(',');
      },
      CreatedAt: () => {
        const v = field('Created');
        return v.kind === 'time' ? timeString(v.v) : v.kind === 'string' ? v.v : '';
      },
    },
    {
      Label: {
        arity: 1,
        call: ([name]) => {
          const m = labels();
          const v = m?.get(name !== undefined && name.kind === 'string' ? name.v : '');
          return goString(v !== undefined && v.kind === 'string' ? v.v : '');
        },
      },
    },
  );
}

const NETWORK_HEADER = headerObject({
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
});

const ls: Command = {
  name: 'ls',
  aliases: ['list'],
  usage: '[OPTIONS]',
  short: 'List networks',
  flags: [
    { name: 'filter', short: 'f', kind: 'filter', usage: 'Provide filter values (e.g. "driver=bridge")' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display network IDs' },
  ],
  args: { kind: 'none' },
  async run(ctx) {
    const body = await ctx.client().call('GET', '/networks', { query: { filters: filtersJson(ctx.flags.filters('filter')) } });
    const node = parseJsonText(body);
    const items = node.t === 'arr' ? node.items.map((n) => decodeTyped(NetworkInspect, n)) : [];
    const nameOf = (v: GoValue): string => {
      if (v.kind !== 'struct') return '';
      const name = v.fields[0];
      return name !== undefined && name.kind === 'string' ? name.v : '';
    };
    items.sort((x, y) => {
      const a = nameOf(x);
      const b = nameOf(y);
      return naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0;
    });
    const quiet = ctx.flags.bool('quiet');
    const format = listFormat(ctx.flags.string('format') === '' ? TABLE_FORMAT : ctx.flags.string('format'), quiet);
    const rows = items.map((n) => networkContext(n, !ctx.flags.bool('no-trunc')));
    ctx.io.stdout.write(renderList(format, rows, NETWORK_HEADER));
  },
};

// ---------------------------------------------------------------------------------------------
// inspect

const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  short: 'Display detailed information on one or more networks',
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'verbose', short: 'v', kind: 'bool', usage: 'Verbose output for diagnostics' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const verbose = ctx.flags.bool('verbose');
    await runInspect(ctx.io, ctx.args, ctx.flags.string('format'), NetworkInspect, (ref) =>
      client.call('GET', networkPath(ref), { query: { verbose: verbose ? 'true' : undefined } }),
    );
  },
};

// ---------------------------------------------------------------------------------------------
// rm

const rm: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'NETWORK [NETWORK...]',
  short: 'Remove one or more networks',
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    let status = 0;
    for (const name of ctx.args) {
      try {
        await client.call('DELETE', networkPath(name));
      } catch (e) {
        if (e instanceof DaemonError) {
          if (ctx.flags.bool('force') && e.status === 404) continue;
          ctx.io.stderr.write(e.message + '\n');
          status = 1;
          continue;
        }
        throw e;
      }
      ctx.io.stdout.write(name + '\n');
    }
    if (status !== 0) throw new StatusError(`exit status ${status}`, status);
  },
};

// ---------------------------------------------------------------------------------------------
// prune

const PRUNE_WARNING =
  'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

const prune: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  short: 'Remove all unused networks',
  flags: [
    { name: 'filter', kind: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(ctx) {
    if (!ctx.flags.bool('force') && !(await confirm(ctx.io, PRUNE_WARNING))) {
      // Docker treats a declined prompt as a cancellation: nothing more is printed, status 0.
      return 0;
    }
    const body = await ctx.client().call('POST', '/networks/prune', {
      query: { filters: filtersJson(ctx.flags.filters('filter')) },
    });
    const deleted = (JSON.parse(body) as { NetworksDeleted?: unknown }).NetworksDeleted;
    if (Array.isArray(deleted) && deleted.length > 0) {
      ctx.io.stdout.write('Deleted Networks:\n' + deleted.map((id) => `${String(id)}\n`).join('') + '\n');
    }
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------
// connect / disconnect

/** `convertDriverOpt` of `network connect`. */
function driverOpts(values: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const k = (eq < 0 ? v : v.slice(0, eq)).trim();
    if (eq < 0 || k === '') throw new StatusError('invalid key/value pair format in driver options', 1);
    m.set(k, v.slice(eq + 1).trim());
  }
  return m;
}

/** The JSON body docker CLI 28.2.2 sends for `network connect` with these flags. */
export function connectRequestBody(ctx: Pick<CommandContext, 'flags' | 'args'>): string {
  const { flags } = ctx;
  const links = flags.strings('link');
  const endpoint = {
    IPAMConfig: {
      IPv4Address: flags.string('ip'),
      IPv6Address: flags.string('ip6'),
      LinkLocalIPs: flags.strings('link-local-ip'),
    },
    Links: links.length > 0 ? links : null,
    Aliases: flags.strings('alias'),
    MacAddress: '',
    DriverOpts: driverOpts(flags.strings('driver-opt')),
    GwPriority: flags.int('gw-priority'),
  };
  const body = { Container: ctx.args[1] ?? '', EndpointConfig: endpoint };
  return encodeJson(decodeTyped(NetworkConnectRequest, plainToJsonNode(body)), { escapeHtml: true });
}

const connect: Command = {
  name: 'connect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  short: 'Connect a container to a network',
  flags: [
    { name: 'alias', kind: 'stringSlice', usage: 'Add network-scoped alias for the container' },
    { name: 'driver-opt', kind: 'stringSlice', usage: 'driver options for the network' },
    {
      name: 'gw-priority',
      kind: 'int',
      usage: 'Highest gw-priority provides the default gateway. Accepts positive and negative values.',
    },
    { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', kind: 'string', usage: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'link', kind: 'list', usage: 'Add link to another container', validate: validateLink },
    { name: 'link-local-ip', kind: 'stringSlice', usage: 'Add a link-local address for the container' },
  ],
  args: { kind: 'exact', n: 2 },
  async run(ctx) {
    const body = connectRequestBody(ctx);
    await ctx.client().call('POST', `${networkPath(ctx.args[0] ?? '')}/connect`, { json: body });
  },
};

const disconnect: Command = {
  name: 'disconnect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  short: 'Disconnect a container from a network',
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the container to disconnect from a network' }],
  args: { kind: 'exact', n: 2 },
  async run(ctx) {
    const body = encodeJson(
      decodeTyped(NetworkDisconnectRequest, plainToJsonNode({ Container: ctx.args[1] ?? '', Force: ctx.flags.bool('force') })),
      { escapeHtml: true },
    );
    await ctx.client().call('POST', `${networkPath(ctx.args[0] ?? '')}/disconnect`, { json: body });
  },
};

/** `berth network …`. */
export const networkGroup: CommandGroup = {
  name: 'network',
  short: 'Manage networks',
  commands: [connect, create, disconnect, inspect, ls, prune, rm],
};
