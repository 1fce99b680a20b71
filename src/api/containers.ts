/**
 * `/containers`, `/exec` and `/images` routes of the Engine API, and the mapping of berth's
 * containers to Docker's JSON (`ContainerJSON`, `Container` list items, `EndpointSettings`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import * as v from 'valibot';
import { BerthError, invalid } from '../errors.js';
import type { ContainerController } from '../engine/containers.js';
import { matchAny, matchExact, matchLabels, parseFilters } from '../engine/filters.js';
import type { NetworkController } from '../engine/networks.js';
import type { Container, Endpoint } from '../model/container.js';
import type { Network } from '../model/network.js';
import { parseExposedKey, publishedPortsOf, toDockerPortList, toDockerPortMap, validatePortBinding } from '../firewall/index.js';
import { parseLogLine } from '../runtime/json-log.js';
import { getImage, importImage, listImages, removeImage, type Image } from '../runtime/images.js';
import { encodeResize, type ShimConnection } from '../runtime/attach.js';
import type { RuncRuntime } from '../runtime/runc.js';
import { relayAttach } from './attach-relay.js';
import { FiniteNumber, jsonMap, jsonObject, parseBody, StringMap } from './body.js';
import type { Router } from './router.js';
import { frame, STDERR, STDOUT, writeAll } from './streams.js';

/** `strslice.StrSlice`: a string or a list of strings. */
const StrOrList = v.nullish(v.union([v.pipe(v.string(), v.transform((s) => [s])), v.array(v.string())]));

const EndpointSettingsBody = jsonObject({
  IPAMConfig: v.nullish(
    jsonObject({ IPv4Address: v.nullish(v.string()), IPv6Address: v.nullish(v.string()), LinkLocalIPs: v.nullish(v.array(v.string())) }),
  ),
  Links: v.nullish(v.array(v.string())),
  Aliases: v.nullish(v.array(v.string())),
  MacAddress: v.nullish(v.string()),
  DriverOpts: StringMap,
});

const PortBindingBody = jsonObject({ HostIp: v.nullish(v.string()), HostPort: v.nullish(v.string()) });

const CreateBody = jsonObject({
  Hostname: v.nullish(v.string()),
  Domainname: v.nullish(v.string()),
  User: v.nullish(v.string()),
  Tty: v.nullish(v.boolean()),
  OpenStdin: v.nullish(v.boolean()),
  Env: v.nullish(v.array(v.string())),
  Cmd: StrOrList,
  Entrypoint: StrOrList,
  Image: v.string(),
  WorkingDir: v.nullish(v.string()),
  Labels: StringMap,
  MacAddress: v.nullish(v.string()),
  ExposedPorts: v.nullish(jsonMap(v.unknown())),
  HostConfig: v.nullish(
    jsonObject({
      NetworkMode: v.nullish(v.string()),
      PortBindings: v.nullish(jsonMap(v.nullish(v.array(PortBindingBody)))),
      PublishAllPorts: v.nullish(v.boolean()),
      Dns: v.nullish(v.array(v.string())),
      DnsSearch: v.nullish(v.array(v.string())),
      DnsOptions: v.nullish(v.array(v.string())),
      ExtraHosts: v.nullish(v.array(v.string())),
      Links: v.nullish(v.array(v.string())),
      AutoRemove: v.nullish(v.boolean()),
      RestartPolicy: v.nullish(jsonObject({ Name: v.nullish(v.string()), MaximumRetryCount: v.nullish(FiniteNumber) })),
    }),
  ),
  NetworkingConfig: v.nullish(jsonObject({ EndpointsConfig: v.nullish(jsonMap(v.nullish(EndpointSettingsBody))) })),
});

const ExecCreateBody = jsonObject({
  Cmd: StrOrList,
  Env: v.nullish(v.array(v.string())),
  WorkingDir: v.nullish(v.string()),
  Tty: v.nullish(v.boolean()),
  AttachStdin: v.nullish(v.boolean()),
  AttachStdout: v.nullish(v.boolean()),
  AttachStderr: v.nullish(v.boolean()),
  Detach: v.nullish(v.boolean()),
  User: v.nullish(v.string()),
});
const ExecStartBody = jsonObject({ Detach: v.nullish(v.boolean()), Tty: v.nullish(v.boolean()) });

/**
 * Port keys (and a PortBindings key's bindings) of a create request, validated by the firewall's
 * parser with Docker's messages; without bindings the key is an ExposedPorts key (ranges allowed).
 */
function checkPortKey(key: string, bindings?: readonly { HostIp?: string | null; HostPort?: string | null }[] | null): void {
  if (bindings === undefined) parseExposedKey(key);
  else validatePortBinding(key, bindings ?? []);
}

/** An exec instance (kept in memory, as Docker does). */
interface ExecInstance {
  readonly id: string;
  readonly containerId: string;
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly workingDir: string;
  readonly tty: boolean;
  readonly attachStdin: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** The shim connection of an attached (-i/-t) exec while it runs: resize goes through it. */
  connection?: ShimConnection;
  /** A resize that came before the connection. */
  size?: { readonly rows: number; readonly cols: number };
}

/** Docker's `EndpointSettings` of one endpoint (empty addresses unless the container runs). */
function toEndpointSettings(c: Container, e: Endpoint, n: Network): Record<string, unknown> {
  const running = c.state.status === 'running';
  const pool4 = n.pools.find((p) => !p.subnet.includes(':'));
  const pool6 = n.pools.find((p) => p.subnet.includes(':'));
  const [ip4 = '', len4 = '0'] = running && e.ipv4 !== undefined ? e.ipv4.split('/') : [];
  const [ip6 = '', len6 = '0'] = running && e.ipv6 !== undefined ? e.ipv6.split('/') : [];
  const dnsNames = n.predefined ? null : [c.name, c.id.slice(0, 12), ...e.aliases];
  return {
    IPAMConfig: null,
    Links: e.links.length > 0 ? e.links : null,
    Aliases: e.aliases.length > 0 ? e.aliases : null,
    MacAddress: running ? e.mac : '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: n.id,
    EndpointID: running ? e.id : '',
    Gateway: running && ip4 !== '' ? (pool4?.gateway ?? '') : '',
    IPAddress: ip4,
    IPPrefixLen: Number(len4),
    IPv6Gateway: running && ip6 !== '' ? (pool6?.gateway ?? '') : '',
    GlobalIPv6Address: ip6,
    GlobalIPv6PrefixLen: Number(len6),
    DNSNames: dnsNames,
  };
}

/** "Up 3 seconds", "Exited (0) 2 minutes ago", "Created": Docker's human status. */
export function humanStatus(c: Container, now = Date.now()): string {
  const ago = (iso: string): string => humanDuration(now - Date.parse(iso));
  switch (c.state.status) {
    case 'running':
      return `Up ${ago(c.state.startedAt)}`;
    case 'exited':
      return `Exited (${c.state.exitCode}) ${ago(c.state.finishedAt)} ago`;
    case 'created':
      return 'Created';
    default:
      return c.state.status[0]?.toUpperCase() + c.state.status.slice(1);
  }
}

/** go-units HumanDuration (seconds and minutes truncate; hours and above round). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(ms / 60_000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** Registers container, exec and image routes. */
export function addContainerRoutes(
  router: Router,
  deps: { containers: ContainerController; networks: NetworkController; runtime: RuncRuntime; root: string },
): void {
  const { containers, networks, runtime, root } = deps;
  const execs = new Map<string, ExecInstance>();
  const netById = (id: string): Network | undefined => networks.all().find((n) => n.id === id);

  const networksOf = (c: Container): Record<string, unknown> => {
    const owner = containers.ownerOf(c);
    const out: Record<string, unknown> = {};
    for (const e of containers.endpointsOf((owner ?? c).id)) {
      const n = netById(e.networkId);
      if (n !== undefined && owner === undefined && e.hidden !== true) out[n.name] = toEndpointSettings(c, e, n);
    }
    return out;
  };

  const ports = (c: Container): Record<string, unknown> => toDockerPortMap(c, publishedPortsOf(root, c));

  const inspect = (c: Container): Record<string, unknown> => {
    const nets = networksOf(c);
    const bridge = nets['bridge'] as Record<string, unknown> | undefined;
    const running = c.state.status === 'running';
    const dir = `${root}/containers/${c.id}`;
    const mode = c.hostConfig.networkMode;
    const sandbox = running && mode !== 'host' && !mode.startsWith('container:') ? containers.sandboxOf(c.id) ?? '' : '';
    return {
      Id: c.id,
      Created: c.created,
      Path: (c.config.entrypoint ?? [])[0] ?? c.config.cmd[0] ?? '',
      Args: [...(c.config.entrypoint ?? []), ...c.config.cmd].slice(1),
      State: {
        Status: c.state.status,
        Running: running,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: c.state.pid,
        ExitCode: c.state.exitCode,
        Error: c.state.error,
        StartedAt: c.state.startedAt,
        FinishedAt: c.state.finishedAt,
      },
      Image: c.config.imageId,
      ResolvConfPath: `${dir}/resolv.conf`,
      HostnamePath: `${dir}/hostname`,
      HostsPath: `${dir}/hosts`,
      LogPath: runtime.paths(c.id).log,
      Name: `/${c.name}`,
      RestartCount: c.restartCount,
      Driver: 'overlay',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: {
        NetworkMode: mode,
        PortBindings: Object.fromEntries(
          Object.entries(c.hostConfig.portBindings).map(([k, v]) => [k, v.map((b) => ({ HostIp: b.hostIp, HostPort: b.hostPort }))]),
        ),
        PublishAllPorts: c.hostConfig.publishAllPorts,
        Dns: c.hostConfig.dns,
        DnsSearch: c.hostConfig.dnsSearch,
        DnsOptions: c.hostConfig.dnsOptions,
        ExtraHosts: c.hostConfig.extraHosts.length > 0 ? c.hostConfig.extraHosts : null,
        Links: c.hostConfig.links.length > 0 ? c.hostConfig.links : null,
        AutoRemove: c.hostConfig.autoRemove,
        RestartPolicy: { Name: c.hostConfig.restartPolicy.name, MaximumRetryCount: c.hostConfig.restartPolicy.maximumRetryCount },
        LogConfig: { Type: 'json-file', Config: {} },
      },
      GraphDriver: { Name: 'overlay', Data: null },
      Mounts: [],
      Config: {
        Hostname: c.config.hostname,
        Domainname: c.config.domainname,
        User: c.config.user,
        AttachStdin: false,
        AttachStdout: !c.config.tty,
        AttachStderr: !c.config.tty,
        ExposedPorts: c.config.exposedPorts.length > 0 ? Object.fromEntries(c.config.exposedPorts.map((p) => [p, {}])) : undefined,
        Tty: c.config.tty,
        OpenStdin: c.config.openStdin,
        StdinOnce: false,
        Env: c.config.env,
        Cmd: c.config.cmd,
        Image: c.config.image,
        Volumes: null,
        WorkingDir: c.config.workingDir,
        Entrypoint: c.config.entrypoint,
        OnBuild: null,
        Labels: c.config.labels,
      },
      NetworkSettings: {
        Bridge: '',
        SandboxID: sandbox === '' ? '' : c.id,
        SandboxKey: sandbox,
        Ports: ports(c),
        HairpinMode: false,
        LinkLocalIPv6Address: '',
        LinkLocalIPv6PrefixLen: 0,
        SecondaryIPAddresses: null,
        SecondaryIPv6Addresses: null,
        EndpointID: bridge?.['EndpointID'] ?? '',
        Gateway: bridge?.['Gateway'] ?? '',
        GlobalIPv6Address: bridge?.['GlobalIPv6Address'] ?? '',
        GlobalIPv6PrefixLen: bridge?.['GlobalIPv6PrefixLen'] ?? 0,
        IPAddress: bridge?.['IPAddress'] ?? '',
        IPPrefixLen: bridge?.['IPPrefixLen'] ?? 0,
        IPv6Gateway: bridge?.['IPv6Gateway'] ?? '',
        MacAddress: bridge?.['MacAddress'] ?? '',
        Networks: nets,
      },
    };
  };

  const listItem = (c: Container): Record<string, unknown> => ({
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.config.image,
    ImageID: c.config.imageId,
    Command: [...(c.config.entrypoint ?? []), ...c.config.cmd].join(' '),
    Created: Math.floor(Date.parse(c.created) / 1000),
    Ports: toDockerPortList(c, publishedPortsOf(root, c)),
    Labels: c.config.labels,
    State: c.state.status,
    Status: humanStatus(c),
    HostConfig: { NetworkMode: c.hostConfig.networkMode },
    NetworkSettings: { Networks: networksOf(c) },
    Mounts: [],
  });

  // --- containers ---------------------------------------------------------------------------

  router.add('POST', '/containers/create', async (req) => {
    const b = parseBody(CreateBody, req.body);
    const hc = b.HostConfig ?? {};
    const portBindings: Record<string, { hostIp: string; hostPort: string }[]> = {};
    for (const [k, v] of Object.entries(hc.PortBindings ?? {})) {
      checkPortKey(k, v);
      portBindings[k] = (v ?? []).map((x) => ({ hostIp: x.HostIp ?? '', hostPort: x.HostPort ?? '' }));
    }
    const exposed = Object.keys(b.ExposedPorts ?? {});
    for (const k of exposed) checkPortKey(k);
    const endpoints: Record<string, Parameters<ContainerController['connect']>[2]> = {};
    for (const [net, s] of Object.entries(b.NetworkingConfig?.EndpointsConfig ?? {})) {
      endpoints[net] = {
        aliases: s?.Aliases ?? [],
        ipv4Address: s?.IPAMConfig?.IPv4Address ?? undefined,
        ipv6Address: s?.IPAMConfig?.IPv6Address ?? undefined,
        macAddress: s?.MacAddress ?? undefined,
        links: s?.Links ?? [],
        driverOpts: s?.DriverOpts ?? {},
      };
    }
    const { container, warnings } = await containers.create({
      name: req.query.get('name') ?? undefined,
      image: b.Image,
      cmd: b.Cmd ?? undefined,
      entrypoint: b.Entrypoint === null ? undefined : (b.Entrypoint ?? undefined),
      env: b.Env ?? [],
      workingDir: b.WorkingDir ?? '',
      user: b.User ?? '',
      tty: b.Tty ?? false,
      openStdin: b.OpenStdin ?? false,
      hostname: b.Hostname ?? '',
      domainname: b.Domainname ?? '',
      labels: b.Labels ?? {},
      exposedPorts: exposed,
      macAddress: b.MacAddress ?? undefined,
      hostConfig: {
        networkMode: hc.NetworkMode ?? 'bridge',
        portBindings,
        publishAllPorts: hc.PublishAllPorts ?? false,
        dns: hc.Dns ?? [],
        dnsSearch: hc.DnsSearch ?? [],
        dnsOptions: hc.DnsOptions ?? [],
        extraHosts: hc.ExtraHosts ?? [],
        links: hc.Links ?? [],
        autoRemove: hc.AutoRemove ?? false,
        restartPolicy: { name: hc.RestartPolicy?.Name ?? 'no', maximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
      },
      endpoints,
    });
    return { status: 201, body: { Id: container.id, Warnings: warnings } };
  });

  router.add('GET', '/containers/json', (req) => {
    const all = ['1', 'true', 'True'].includes(req.query.get('all') ?? '');
    const filters = parseFilters(req.query.get('filters'), ['id', 'name', 'label', 'status', 'network', 'ancestor', 'exited']);
    // `limit` (ps -n/-l) means the newest N in any state, as in Docker.
    const limit = Number(req.query.get('limit') ?? -1);
    let list = containers.all().filter((c) => all || limit > 0 || c.state.status === 'running' || filters.has('status'));
    const f = (k: string) => filters.get(k) ?? [];
    if (f('id').length) list = list.filter((c) => f('id').some((v) => c.id.startsWith(v)));
    if (f('name').length) list = list.filter((c) => matchAny(f('name'), c.name));
    if (f('label').length) list = list.filter((c) => matchLabels(f('label'), c.config.labels));
    if (f('status').length) list = list.filter((c) => matchExact(f('status'), c.state.status));
    if (f('exited').length) list = list.filter((c) => c.state.status === 'exited' && f('exited').includes(String(c.state.exitCode)));
    if (f('ancestor').length) list = list.filter((c) => f('ancestor').some((a) => c.config.image === a || c.config.imageId.startsWith(a)));
    if (f('network').length) {
      list = list.filter((c) =>
        containers.endpointsOf(c.id).some((e) => {
          const n = netById(e.networkId);
          return n !== undefined && f('network').some((v) => v === n.name || n.id.startsWith(v));
        }),
      );
    }
    list.sort((a, b) => (a.created < b.created ? 1 : -1));
    if (limit > 0) list = list.slice(0, limit);
    return { status: 200, body: list.map(listItem) };
  });

  router.add('GET', '/containers/{id}/json', (req) => ({ status: 200, body: inspect(containers.find(req.params['id'] ?? '')) }));

  router.add('POST', '/containers/{id}/start', async (req) => {
    const started = await containers.start(req.params['id'] ?? '');
    return { status: started ? 204 : 304 };
  });

  router.add('POST', '/containers/{id}/stop', async (req) => {
    const t = req.query.get('t') ?? req.query.get('timeout');
    const stopped = await containers.stop(req.params['id'] ?? '', t === null ? undefined : Number(t));
    return { status: stopped ? 204 : 304 };
  });

  router.add('POST', '/containers/{id}/restart', async (req) => {
    const t = req.query.get('t') ?? req.query.get('timeout');
    await containers.restart(req.params['id'] ?? '', t === null ? undefined : Number(t));
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/kill', async (req) => {
    await containers.kill(req.params['id'] ?? '', req.query.get('signal') ?? 'SIGKILL');
    return { status: 204 };
  });

  // The status line goes out at once and the body when the container exits: docker run waits
  // for the response headers of its `wait?condition=next-exit` before it starts the container.
  router.add('POST', '/containers/{id}/wait', (req) => {
    const waiting = containers.wait(req.params['id'] ?? '', req.query.get('condition') || 'not-running');
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      stream: async (out) => {
        const code = await waiting;
        await writeAll(out, Buffer.from(`${JSON.stringify({ StatusCode: code, Error: null })}\n`));
      },
    };
  });

  router.add('DELETE', '/containers/{id}', async (req) => {
    const force = ['1', 'true', 'True'].includes(req.query.get('force') ?? '');
    await containers.remove(req.params['id'] ?? '', { force });
    return { status: 204 };
  });

  /** Streams a container's log: what is there, then (follow) what comes until it stops. */
  const logStream = (c: Container, opts: { follow: boolean; stdout: boolean; stderr: boolean; tail: number | undefined; fromEnd: boolean }) =>
    async (out: NodeJS.WritableStream): Promise<void> => {
      const file = runtime.paths(c.id).log;
      let offset = 0;
      let pending = '';
      if (opts.fromEnd) offset = fileSize(file);
      let first = true;
      for (;;) {
        const size = fileSize(file);
        if (size > offset) {
          const fd = fs.openSync(file, 'r');
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          fs.closeSync(fd);
          offset = size;
          pending += buf.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          let entries = lines.map(parseLogLine).filter((e) => e !== null);
          if (first && opts.tail !== undefined) entries = entries.slice(Math.max(0, entries.length - opts.tail));
          for (const e of entries) {
            if ((e.stream === 'stdout' && !opts.stdout) || (e.stream === 'stderr' && !opts.stderr)) continue;
            await writeAll(out, c.config.tty ? Buffer.from(e.log) : frame(e.stream === 'stdout' ? STDOUT : STDERR, Buffer.from(e.log)));
          }
        }
        first = false;
        if (!opts.follow) return;
        const now = containers.all().find((x) => x.id === c.id);
        if (now === undefined || now.state.status !== 'running') {
          if (fileSize(file) <= offset) return;
          continue;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

  router.add('GET', '/containers/{id}/logs', (req) => {
    const c = containers.find(req.params['id'] ?? '');
    const q = (k: string) => ['1', 'true', 'True'].includes(req.query.get(k) ?? '');
    if (!q('stdout') && !q('stderr')) throw invalid('You must choose at least one stream');
    const tailRaw = req.query.get('tail') ?? 'all';
    const tail = tailRaw === 'all' || tailRaw === '' ? undefined : Number(tailRaw);
    return {
      status: 200,
      headers: { 'Content-Type': c.config.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' },
      stream: logStream(c, { follow: q('follow'), stdout: q('stdout'), stderr: q('stderr'), tail, fromEnd: false }),
    };
  });

  // `docker run` attaches before it starts the container (so does `docker start -a`): such an
  // attach waits for that start, and the shim holds the output for it, so none is missed. An
  // attach to a running container gets the output from now on. Stdin reaches a container made
  // with OpenStdin; when the attach came first (docker run -i sets StdinOnce), the client
  // closing its side closes the container's stdin, so `echo hi | docker run -i … cat` ends.
  router.add('POST', '/containers/{id}/attach', (req) => {
    const c = containers.find(req.params['id'] ?? '');
    const q = (k: string) => ['1', 'true', 'True'].includes(req.query.get(k) ?? '');
    const beforeStart = c.state.status !== 'running';
    const pending = beforeStart ? runtime.expectAttach(c.id) : undefined;
    const stdout = q('stdout') || !q('stderr');
    const stderr = q('stderr') || !q('stdout');
    return {
      status: 200,
      stream: async (out, input) => {
        if (pending !== undefined) {
          const gone = new Promise<boolean>((resolve) => {
            out.once('close', () => resolve(false));
            input?.once('close', () => resolve(false));
          });
          const started = await Promise.race([pending.started.then(() => true), gone]).finally(() => pending.cancel());
          if (!started) return;
        }
        let conn: ShimConnection;
        try {
          conn = await runtime.attach(c.id);
        } catch (err) {
          if (!(err instanceof BerthError && err.code === 'ERR_CONTAINER_STATE')) throw err;
          // A running container whose shim has no attach socket (started by an older berthd): output only.
          const now = containers.all().find((x) => x.id === c.id);
          if (now?.state.status === 'running') await logStream(now, { follow: true, stdout, stderr, tail: 0, fromEnd: true })(out);
          return;
        }
        await relayAttach(conn, out, input, {
          tty: c.config.tty,
          stdin: q('stdin') && c.config.openStdin,
          stdout,
          stderr,
          closeStdinOnEnd: beforeStart,
        });
      },
    };
  });

  router.add('POST', '/containers/{id}/resize', async (req) => {
    const c = containers.find(req.params['id'] ?? '');
    if (c.state.status !== 'running') throw new BerthError('ERR_CONTAINER_STATE', `Container ${c.id} is not running`);
    await runtime.resize(c.id, Number(req.query.get('h') ?? 0), Number(req.query.get('w') ?? 0));
    return { status: 200 };
  });

  // --- exec ---------------------------------------------------------------------------------

  router.add('POST', '/containers/{id}/exec', (req) => {
    const c = containers.find(req.params['id'] ?? '');
    const b = parseBody(ExecCreateBody, req.body);
    if (c.state.status !== 'running') {
      throw new BerthError('ERR_CONTAINER_STATE', `container ${c.id} is not running`);
    }
    const cmd = b.Cmd ?? [];
    if (cmd.length === 0) throw invalid('No exec command specified');
    const id = randomBytes(32).toString('hex');
    execs.set(id, {
      id,
      containerId: c.id,
      cmd,
      env: b.Env ?? [],
      workingDir: b.WorkingDir ?? '',
      tty: b.Tty ?? false,
      attachStdin: b.AttachStdin ?? false,
      running: false,
      exitCode: null,
      pid: 0,
    });
    return { status: 201, body: { Id: id } };
  });

  // Without -i and -t the output is collected and sent at the end. With either, the process runs
  // under a shim of its own (a pty with -t) and the connection is relayed both ways.
  router.add('POST', '/exec/{id}/start', async (req) => {
    const ex = execs.get(req.params['id'] ?? '');
    if (ex === undefined) throw new BerthError('ERR_EXEC_NOT_FOUND', `No such exec instance: ${req.params['id']}`);
    const b = parseBody(ExecStartBody, req.body);
    if (ex.running || ex.exitCode !== null) throw new BerthError('ERR_CONTAINER_STATE', `Exec command ${ex.id} has already run`);
    ex.running = true;
    const finish = (exitCode: number): void => {
      ex.exitCode = exitCode;
      ex.running = false;
      delete ex.connection;
    };
    if (ex.tty || ex.attachStdin) {
      const begin = () =>
        runtime.execAttached(ex.containerId, {
          args: ex.cmd,
          env: ex.env,
          ...(ex.workingDir !== '' ? { cwd: ex.workingDir } : {}),
          tty: ex.tty,
          openStdin: ex.attachStdin,
          detach: b.Detach ?? false,
        });
      if (b.Detach) {
        const session = await begin().catch((err: unknown) => {
          finish(126);
          throw err;
        });
        ex.pid = session.pid;
        void session.exit.then((e) => finish(e.exitCode), () => finish(255));
        return { status: 200 };
      }
      return {
        status: 200,
        stream: async (out, input) => {
          let session;
          try {
            session = await begin();
          } catch (err) {
            finish(126);
            const msg = Buffer.from(`${(err as Error).message}\r\n`);
            await writeAll(out, ex.tty ? msg : frame(STDERR, msg));
            return;
          }
          const conn = session.connection;
          ex.pid = session.pid;
          if (conn === null) return;
          ex.connection = conn;
          if (ex.size !== undefined) conn.resize(ex.size.rows, ex.size.cols);
          const exit = await relayAttach(conn, out, input, { tty: ex.tty, stdin: ex.attachStdin, stdout: true, stderr: true, closeStdinOnEnd: true });
          // The client reads ExitCode right after the stream ends; a client that left does not stop the process.
          if (exit !== null) finish(exit.exitCode);
          else void session.exit.then((e) => finish(e.exitCode), () => finish(255));
        },
      };
    }
    const runIt = async () => {
      try {
        const r = await runtime.exec(ex.containerId, {
          args: ex.cmd,
          env: ex.env,
          ...(ex.workingDir !== '' ? { cwd: ex.workingDir } : {}),
        });
        ex.exitCode = r.exitCode;
        return r;
      } catch (err) {
        ex.exitCode = 126;
        throw err;
      } finally {
        ex.running = false;
      }
    };
    if (b.Detach) {
      void runIt().catch(() => undefined);
      return { status: 200 };
    }
    return {
      status: 200,
      stream: async (out) => {
        try {
          const r = await runIt();
          await writeAll(out, frame(STDOUT, r.stdout));
          await writeAll(out, frame(STDERR, r.stderr));
        } catch (err) {
          await writeAll(out, frame(STDERR, Buffer.from(`${(err as Error).message}\n`)));
        }
      },
    };
  });

  router.add('GET', '/exec/{id}/json', (req) => {
    const ex = execs.get(req.params['id'] ?? '');
    if (ex === undefined) throw new BerthError('ERR_EXEC_NOT_FOUND', `No such exec instance: ${req.params['id']}`);
    return {
      status: 200,
      body: {
        ID: ex.id,
        Running: ex.running,
        ExitCode: ex.exitCode,
        ProcessConfig: { tty: ex.tty, entrypoint: ex.cmd[0], arguments: ex.cmd.slice(1), privileged: false, user: '' },
        OpenStdin: ex.attachStdin,
        OpenStderr: true,
        OpenStdout: true,
        CanRemove: false,
        ContainerID: ex.containerId,
        DetachKeys: '',
        Pid: ex.pid,
      },
    };
  });

  router.add('POST', '/exec/{id}/resize', (req) => {
    const ex = execs.get(req.params['id'] ?? '');
    if (ex === undefined) throw new BerthError('ERR_EXEC_NOT_FOUND', `No such exec instance: ${req.params['id']}`);
    const rows = Number(req.query.get('h') ?? 0);
    const cols = Number(req.query.get('w') ?? 0);
    encodeResize(rows, cols); // validates
    if (ex.connection !== undefined) ex.connection.resize(rows, cols);
    else ex.size = { rows, cols };
    return { status: 200 };
  });

  // --- images -------------------------------------------------------------------------------

  const imageSummary = (i: Image) => ({
    Id: i.id,
    ParentId: '',
    RepoTags: i.repoTags,
    RepoDigests: [],
    Created: Math.floor(Date.parse(i.created) / 1000),
    Size: i.size,
    SharedSize: -1,
    VirtualSize: i.size,
    Labels: i.config.Labels ?? null,
    Containers: -1,
  });

  router.add('GET', '/images/json', async () => ({ status: 200, body: (await listImages(root)).map(imageSummary) }));

  router.add('GET', '/images/{name}/json', async (req) => {
    const i = await getImage(root, req.params['name'] ?? '');
    return {
      status: 200,
      body: {
        Id: i.id,
        RepoTags: i.repoTags,
        RepoDigests: [],
        Parent: '',
        Comment: i.comment ?? '',
        Created: i.created,
        Config: i.config,
        Architecture: i.architecture,
        Os: i.os,
        Size: i.size,
        RootFS: { Type: 'layers', Layers: [] },
      },
    };
  });

  router.add('DELETE', '/images/{name}', async (req) => {
    const name = req.params['name'] ?? '';
    const img = await getImage(root, name);
    const user = containers.all().find((c) => c.config.imageId === img.id);
    if (user !== undefined && !['1', 'true'].includes(req.query.get('force') ?? '')) {
      throw new BerthError(
        'ERR_CONTAINER_STATE',
        `conflict: unable to remove repository reference "${name}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${img.id.replace('sha256:', '').slice(0, 12)}`,
      );
    }
    const removed = await removeImage(root, name);
    return { status: 200, body: [{ Untagged: removed.repoTags[0] ?? name }, { Deleted: removed.id }] };
  });

  // `docker import` / `berth image import`: POST /images/create?fromSrc=-&repo=NAME&tag=T, body = tar.
  router.add('POST', '/images/create', async (req) => {
    const fromSrc = req.query.get('fromSrc');
    const fromImage = req.query.get('fromImage');
    if (fromSrc === null) {
      throw new BerthError(
        'ERR_IMAGE_NOT_FOUND',
        `pull access denied for ${fromImage ?? ''}: berth has no registry; build or import images locally (berth image import)`,
      );
    }
    if (fromSrc !== '-') throw invalid('berth imports images from the request body only (fromSrc=-)');
    const repo = req.query.get('repo') ?? '';
    const tag = req.query.get('tag') ?? '';
    if (repo === '') throw invalid('an image name is required to import');
    const name = tag === '' ? repo : `${repo}:${tag}`;
    const body = req.raw;
    const img = await importImage(root, (async function* () { yield body; })(), name);
    return { status: 200, body: { status: img.id } };
  });
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
