/**
 * The flags `berth run` and `berth create` share, and the `POST /containers/create` request
 * they become — docker CLI 28.2.2's `cli/command/container/opts.go` (`addFlags`, `parse`,
 * `parseNetworkOpts`) for the flags berth implements, with the same defaults, the same body
 * (key order, HTML-escaped strings, empty-but-present fields: `"Dns":[]`, `"Volumes":{}`,
 * `"MemorySwappiness":-1`, …) and the same error texts. Bodies were compared with what the real
 * docker binary sends to a recording fake daemon for the same command lines (see
 * `test/unit/cli/run.test.ts`).
 *
 * Flags docker has and berth does not (volumes, resources, security, health checks, logging)
 * are rejected as unknown flags rather than silently ignored.
 */
import type { ParsedFlags, FlagSpec } from './flags.js';
import { ContainerCreateRequest } from './docker-types.js';
import { decodeTyped, encodeJson, plainToJsonNode } from './go-value.js';
import { parsePortFlags } from './port-specs.js';
import {
  expandEnv,
  isValidMac,
  kvStringsToMap,
  readKvFile,
  validateAttach,
  validateDnsSearch,
  validateEnv,
  validateExtraHost,
  validateIPAddress,
  validateLabel,
  validateLink,
} from './validators.js';

/** A problem `parse()` reports: printed `berth: <message>` with a help hint, exit status 125. */
export class ContainerOptsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerOptsError';
  }
}

// ---------------------------------------------------------------------------------------------
// --network: `NAME` or the long syntax `name=NAME,alias=A,ip=…,driver-opt=k=v`

/** One `--network` value (`opts.NetworkAttachmentOpts`). */
export interface NetworkAttachment {
  readonly target: string;
  readonly aliases: readonly string[];
  readonly ipv4Address: string;
  readonly ipv6Address: string;
  readonly macAddress: string;
  readonly linkLocalIps: readonly string[];
  readonly driverOpts: ReadonlyMap<string, string>;
  readonly gwPriority: number;
}

/** Go's `encoding/csv` reading of one line, enough for `--network` values. */
function csvFields(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length) {
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i];
        i++;
      }
    } else {
      const end = value.indexOf(',', i);
      field = end < 0 ? value.slice(i) : value.slice(i, end);
      i = end < 0 ? value.length : end;
    }
    out.push(field);
    if (i >= value.length) return out;
    i++;
  }
}

/** `opts.NetworkOpt.Set`; throws pflag's message. */
export function parseNetworkOpt(value: string): NetworkAttachment {
  if (!/\w+=\w+(,\w+=\w+)*/.test(value)) {
    return { target: value, aliases: [], ipv4Address: '', ipv6Address: '', macAddress: '', linkLocalIps: [], driverOpts: new Map(), gwPriority: 0 };
  }
  let target = '';
  const aliases: string[] = [];
  let ipv4Address = '';
  let ipv6Address = '';
  let macAddress = '';
  const linkLocalIps: string[] = [];
  const driverOpts = new Map<string, string>();
  let gwPriority = 0;
  for (const field of csvFields(value)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq <= 0) throw new Error(`invalid field ${field}`);
    const key = lower.slice(0, eq).trim();
    const val = lower.slice(eq + 1).trim();
    switch (key) {
      case 'name':
        target = val;
        break;
      case 'alias':
        aliases.push(val);
        break;
      case 'ip':
        ipv4Address = val;
        break;
      case 'ip6':
        ipv6Address = val;
        break;
      case 'mac-address':
        macAddress = val;
        break;
      case 'link-local-ip':
        linkLocalIps.push(val);
        break;
      case 'driver-opt': {
        const e = val.indexOf('=');
        const k = (e < 0 ? val : val.slice(0, e)).trim();
        if (e < 0 || k === '') throw new Error('invalid key value pair format in driver options');
        driverOpts.set(k, val.slice(e + 1).trim());
        break;
      }
      case 'gw-priority':
        if (!/^[+-]?\d+$/.test(val)) throw new Error(`invalid gw-priority: strconv.Atoi: parsing "${val}": invalid syntax`);
        gwPriority = Number(val);
        break;
      default:
        throw new Error(`invalid field key ${key}`);
    }
  }
  if (target === '') throw new Error('network name not specified');
  return { target, aliases, ipv4Address, ipv6Address, macAddress, linkLocalIps, driverOpts, gwPriority };
}

/** `container.NetworkMode(n).IsUserDefined()`. */
export function isUserDefinedNetwork(mode: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

// ---------------------------------------------------------------------------------------------
// Flags

const validateNetwork = (v: string): void => {
  parseNetworkOpt(v);
};

/** The container flags of `run` and `create` (docker's `addFlags`, the subset berth has). */
export const CONTAINER_FLAGS: readonly FlagSpec[] = [
  { name: 'add-host', kind: 'list', usage: 'Add a custom host-to-IP mapping (host:ip)', validate: validateExtraHost },
  { name: 'attach', short: 'a', kind: 'list', usage: 'Attach to STDIN, STDOUT or STDERR', validate: validateAttach },
  { name: 'dns', kind: 'list', usage: 'Set custom DNS servers', validate: validateIPAddress },
  { name: 'dns-opt', kind: 'list', usage: 'Set DNS options', hidden: true },
  { name: 'dns-option', kind: 'list', usage: 'Set DNS options' },
  { name: 'dns-search', kind: 'list', usage: 'Set custom DNS search domains', validate: validateDnsSearch },
  { name: 'domainname', kind: 'string', usage: 'Container NIS domain name' },
  { name: 'entrypoint', kind: 'string', usage: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables', validate: validateEnv },
  { name: 'env-file', kind: 'list', usage: 'Read in a file of environment variables' },
  { name: 'expose', kind: 'list', usage: 'Expose a port or a range of ports' },
  { name: 'help', kind: 'bool', usage: 'Print usage' },
  { name: 'hostname', short: 'h', kind: 'string', usage: 'Container host name' },
  { name: 'init', kind: 'bool', usage: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
  { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'ip6', kind: 'string', usage: 'IPv6 address (e.g., 2001:db8::33)' },
  { name: 'label', short: 'l', kind: 'list', usage: 'Set meta data on a container', validate: validateLabel },
  { name: 'label-file', kind: 'list', usage: 'Read in a line delimited file of labels' },
  { name: 'link', kind: 'list', usage: 'Add link to another container', validate: validateLink },
  { name: 'link-local-ip', kind: 'list', usage: 'Container IPv4/IPv6 link-local addresses' },
  { name: 'mac-address', kind: 'string', usage: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { name: 'name', kind: 'string', usage: 'Assign a name to the container' },
  { name: 'net', kind: 'list', usage: 'Connect a container to a network', hidden: true, validate: validateNetwork },
  { name: 'net-alias', kind: 'list', usage: 'Add network-scoped alias for the container', hidden: true },
  { name: 'network', kind: 'list', usage: 'Connect a container to a network', validate: validateNetwork },
  { name: 'network-alias', kind: 'list', usage: 'Add network-scoped alias for the container' },
  { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to this container' },
  { name: 'publish', short: 'p', kind: 'list', usage: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', kind: 'bool', usage: 'Publish all exposed ports to random ports' },
  { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the pull output' },
  { name: 'read-only', kind: 'bool', usage: "Mount the container's root filesystem as read only" },
  { name: 'restart', kind: 'string', default: 'no', usage: 'Restart policy to apply when a container exits' },
  {
    name: 'rm',
    kind: 'bool',
    usage: 'Automatically remove the container and its associated anonymous volumes when it exits',
  },
  { name: 'stop-signal', kind: 'string', usage: 'Signal to stop the container' },
  { name: 'stop-timeout', kind: 'int', usage: 'Timeout (in seconds) to stop a container' },
  { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
  { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
];

// ---------------------------------------------------------------------------------------------
// parse()

/** What `parse()` produced: the request and the bits the run/create commands act on. */
export interface ContainerSpec {
  /** `?name=` of the create request ('' = none). */
  readonly name: string;
  /** The image as typed (`Config.Image`). */
  readonly image: string;
  /** The JSON body, as docker's client encodes it (no trailing newline). */
  readonly body: string;
  readonly attachStdin: boolean;
  readonly attachStdout: boolean;
  readonly attachStderr: boolean;
  readonly tty: boolean;
  readonly openStdin: boolean;
  readonly autoRemove: boolean;
  /** `--dns` values, for the localhost warning. */
  readonly dns: readonly string[];
}

/** `opts.ParseRestartPolicy`. */
export function parseRestartPolicy(policy: string): { Name: string; MaximumRetryCount: number } {
  if (policy === '') return { Name: '', MaximumRetryCount: 0 };
  const colon = policy.indexOf(':');
  const name = colon < 0 ? policy : policy.slice(0, colon);
  const count = colon < 0 ? '' : policy.slice(colon + 1);
  if (colon >= 0 && name === '') throw new ContainerOptsError('invalid restart policy format: no policy provided before colon');
  let max = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new ContainerOptsError('invalid restart policy format: maximum retry count must be an integer');
    max = Number(count);
  }
  return { Name: name, MaximumRetryCount: max };
}

interface EndpointBody {
  IPAMConfig: { IPv4Address: string; IPv6Address: string; LinkLocalIPs: readonly string[] | null } | null;
  Links: readonly string[] | null;
  Aliases: readonly string[] | null;
  MacAddress: string;
  DriverOpts: ReadonlyMap<string, string> | null;
  GwPriority: number;
}

const isZeroEndpoint = (e: EndpointBody): boolean =>
  e.IPAMConfig === null && e.Links === null && e.Aliases === null && e.MacAddress === '' && e.DriverOpts === null && e.GwPriority === 0;

/** `parseNetworkOpts` with `applyContainerOptions` and `parseNetworkAttachmentOpt`. */
function endpointsConfig(flags: ParsedFlags): Map<string, EndpointBody> {
  const nets = [...flags.strings('network'), ...flags.strings('net')].map(parseNetworkOpt);
  const aliases = [...flags.strings('network-alias'), ...flags.strings('net-alias')];
  const links = flags.strings('link');
  const ip4 = flags.string('ip');
  const ip6 = flags.string('ip6');
  const mac = flags.string('mac-address');
  const linkLocal = flags.strings('link-local-ip');
  const apply = (n: NetworkAttachment): NetworkAttachment => {
    if (n.aliases.length > 0 && aliases.length > 0) {
      throw new ContainerOptsError('conflicting options: cannot specify both --network-alias and per-network alias');
    }
    if (n.ipv4Address !== '' && ip4 !== '') throw new ContainerOptsError('conflicting options: cannot specify both --ip and per-network IPv4 address');
    if (n.ipv6Address !== '' && ip6 !== '') throw new ContainerOptsError('conflicting options: cannot specify both --ip6 and per-network IPv6 address');
    if (n.macAddress !== '' && mac !== '') {
      throw new ContainerOptsError('conflicting options: cannot specify both --mac-address and per-network MAC address');
    }
    if (n.linkLocalIps.length > 0 && linkLocal.length > 0) {
      throw new ContainerOptsError('conflicting options: cannot specify both --link-local-ip and per-network link-local IP addresses');
    }
    return {
      ...n,
      aliases: aliases.length > 0 ? [...aliases] : n.aliases,
      ipv4Address: ip4 !== '' ? ip4 : n.ipv4Address,
      ipv6Address: ip6 !== '' ? ip6 : n.ipv6Address,
      macAddress: mac !== '' ? mac : n.macAddress,
      linkLocalIps: linkLocal.length > 0 ? [...linkLocal] : n.linkLocalIps,
    };
  };
  const toEndpoint = (n: NetworkAttachment, withLinks: boolean): EndpointBody => {
    if (n.target.trim() === '') throw new ContainerOptsError('no name set for network');
    // For a user-defined network `--link` is an endpoint alias; on the default bridge it is a
    // legacy link and stays in HostConfig.Links only.
    const epLinks = withLinks && isUserDefinedNetwork(n.target) && links.length > 0 ? links : [];
    if (!isUserDefinedNetwork(n.target) && n.aliases.length > 0) {
      throw new ContainerOptsError('network-scoped aliases are only supported for user-defined networks');
    }
    const hasIpam = n.ipv4Address !== '' || n.ipv6Address !== '' || n.linkLocalIps.length > 0;
    if (n.macAddress !== '' && !isValidMac(n.macAddress.trim())) throw new ContainerOptsError(`${n.macAddress} is not a valid mac address`);
    return {
      IPAMConfig: hasIpam
        ? { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address, LinkLocalIPs: n.linkLocalIps.length > 0 ? n.linkLocalIps : null }
        : null,
      Links: epLinks.length > 0 ? epLinks : null,
      Aliases: n.aliases.length > 0 ? n.aliases : null,
      MacAddress: n.macAddress,
      DriverOpts: n.driverOpts.size > 0 ? n.driverOpts : null,
      GwPriority: n.gwPriority,
    };
  };
  const endpoints = new Map<string, EndpointBody>();
  if (nets.length === 0) {
    const n = apply({ target: 'default', aliases: [], ipv4Address: '', ipv6Address: '', macAddress: '', linkLocalIps: [], driverOpts: new Map(), gwPriority: 0 });
    endpoints.set('default', toEndpoint(n, true));
    return endpoints;
  }
  let userDefined = false;
  let nonUserDefined = false;
  nets.forEach((raw, i) => {
    if (isUserDefinedNetwork(raw.target)) userDefined = true;
    else nonUserDefined = true;
    const n = i === 0 ? apply(raw) : raw;
    const ep = toEndpoint(n, i === 0);
    if (endpoints.has(n.target)) throw new ContainerOptsError(`network ${JSON.stringify(n.target)} is specified multiple times`);
    // Docker leaves out the endpoint of a single network given without options.
    if (i === 0 && nets.length === 1 && isZeroEndpoint(ep)) return;
    endpoints.set(n.target, ep);
  });
  if (userDefined && nonUserDefined) {
    throw new ContainerOptsError('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  }
  return endpoints;
}

/**
 * docker's `parse()`: flags and arguments (`IMAGE [COMMAND] [ARG...]`) to the create request.
 * `env` resolves bare `-e NAME` and `--env-file` names. Throws {@link ContainerOptsError}.
 */
export function parseContainerFlags(
  flags: ParsedFlags,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: { readonly detach?: boolean } = {},
): ContainerSpec {
  const attach = flags.strings('attach');
  const mac = flags.string('mac-address');
  if (mac !== '' && !isValidMac(mac.trim())) throw new ContainerOptsError(`${mac} is not a valid mac address`);
  const openStdin = flags.bool('interactive');
  // `run -d` attaches nothing (runContainer clears the Attach* fields before creating).
  const detach = opts.detach === true;
  const attachStdin = !detach && (attach.includes('stdin') || openStdin);
  const attachStdout = !detach && (attach.length === 0 || attach.includes('stdout'));
  const attachStderr = !detach && (attach.length === 0 || attach.includes('stderr'));

  const image = args[0] ?? '';
  const cmd = args.length > 1 ? args.slice(1) : null;
  const entrypoint = flags.string('entrypoint') !== '' ? [flags.string('entrypoint')] : flags.changed('entrypoint') ? [''] : null;

  let ports;
  try {
    ports = parsePortFlags(flags.strings('publish'), flags.strings('expose'));
  } catch (e) {
    throw new ContainerOptsError((e as Error).message);
  }

  let envVars: string[];
  let labels: string[];
  try {
    const lookup = (k: string): string | undefined => env[k];
    envVars = [
      ...flags.strings('env-file').flatMap((f) => readKvFile(f, lookup)),
      ...flags.strings('env').map((v) => expandEnv(v, env)),
    ];
    labels = [...flags.strings('label-file').flatMap((f) => readKvFile(f, null)), ...flags.strings('label')];
  } catch (e) {
    throw new ContainerOptsError((e as Error).message);
  }

  const restartPolicy = parseRestartPolicy(flags.string('restart'));
  const autoRemove = flags.bool('rm');
  if (autoRemove && restartPolicy.Name !== '' && restartPolicy.Name !== 'no') {
    throw new ContainerOptsError('conflicting options: cannot specify both --restart and --rm');
  }
  const netModes = [...flags.strings('network'), ...flags.strings('net')];
  const networkMode = netModes.length > 0 ? parseNetworkOpt(netModes[0] as string).target : 'default';
  const endpoints = endpointsConfig(flags);
  const links = flags.strings('link');
  const dns = flags.strings('dns');
  const dnsOptions = [...flags.strings('dns-option'), ...flags.strings('dns-opt')];
  const tty = flags.bool('tty');

  const body = {
    Hostname: flags.string('hostname'),
    Domainname: flags.string('domainname'),
    User: flags.string('user'),
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: new Map(ports.exposed.map((p) => [p, {}])),
    Tty: tty,
    OpenStdin: openStdin,
    // parse() sets StdinOnce for -i attached; run -d clears it again.
    StdinOnce: openStdin && attachStdin,
    Env: envVars.length > 0 ? envVars : null,
    Cmd: cmd,
    Image: image,
    Volumes: {},
    WorkingDir: flags.string('workdir'),
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: kvStringsToMap(labels),
    StopSignal: flags.changed('stop-signal') ? flags.string('stop-signal') : '',
    StopTimeout: flags.changed('stop-timeout') ? flags.int('stop-timeout') : null,
    HostConfig: {
      Binds: null,
      ContainerIDFile: '',
      LogConfig: { Type: '', Config: {} },
      NetworkMode: networkMode,
      PortBindings: ports.bindings,
      RestartPolicy: restartPolicy,
      AutoRemove: autoRemove,
      VolumeDriver: '',
      VolumesFrom: null,
      ConsoleSize: [0, 0],
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: '',
      Dns: dns,
      DnsOptions: dnsOptions,
      DnsSearch: flags.strings('dns-search'),
      ExtraHosts: flags.strings('add-host').length > 0 ? flags.strings('add-host') : null,
      GroupAdd: null,
      IpcMode: '',
      Cgroup: '',
      Links: links.length > 0 ? links : null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: flags.bool('privileged'),
      PublishAllPorts: flags.bool('publish-all'),
      ReadonlyRootfs: flags.bool('read-only'),
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 0,
      Isolation: '',
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: '',
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: [],
      BlkioDeviceWriteBps: [],
      BlkioDeviceReadIOps: [],
      BlkioDeviceWriteIOps: [],
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: '',
      CpusetMems: '',
      Devices: [],
      DeviceCgroupRules: null,
      DeviceRequests: null,
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: -1,
      OomKillDisable: false,
      PidsLimit: 0,
      Ulimits: [],
      CpuCount: 0,
      CpuPercent: 0,
      IOMaximumIOps: 0,
      IOMaximumBandwidth: 0,
      MaskedPaths: null,
      ReadonlyPaths: null,
      Init: flags.changed('init') ? flags.bool('init') : null,
    },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  return {
    name: flags.string('name'),
    image,
    body: encodeJson(decodeTyped(ContainerCreateRequest, plainToJsonNode(body)), { escapeHtml: true }),
    attachStdin,
    attachStdout,
    attachStderr,
    tty,
    openStdin,
    autoRemove,
    dns,
  };
}

/** The `isLocalhost` check behind docker's "Localhost DNS" warning. */
export function localhostDns(dns: readonly string[]): string | undefined {
  return dns.find((ip) => /((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)/.test(ip));
}
