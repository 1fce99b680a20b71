/**
 * The OCI runtime bundle's `config.json`, rendered from what the engine decided about a
 * container. Pure: no I/O, so specs can be golden-tested and printed by `--dry-run`.
 *
 * The defaults are Docker's (moby `oci/defaults.go`, `daemon/oci_linux.go`): its capability
 * set, mounts, masked and read-only paths, a deny-all device cgroup (runc adds its standard
 * allowed devices), `net.ipv4.ping_group_range` and `ip_unprivileged_port_start` in a private
 * network namespace, and containerd's RLIMIT_NOFILE of 1048576. Not yet rendered: seccomp and
 * AppArmor profiles, resource limits, user namespaces.
 */
import { invalid } from '../errors.js';
import type { ImageConfig } from './images.js';

/** Docker's PATH for containers whose image sets none (moby `oci.DefaultPathEnv`). */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The OCI spec version berth renders (runc 1.1 implements 1.0.2). */
export const OCI_VERSION = '1.0.2';

/** `process.user`. */
export interface OciUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids?: readonly number[];
}

/** `process.capabilities`. */
export interface OciCapabilities {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly permitted: readonly string[];
}

/** `process.rlimits[]`. */
export interface OciRlimit {
  readonly type: string;
  readonly hard: number;
  readonly soft: number;
}

/** `process`. */
export interface OciProcess {
  readonly terminal: boolean;
  readonly user: OciUser;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly capabilities: OciCapabilities;
  readonly rlimits: readonly OciRlimit[];
  readonly noNewPrivileges: boolean;
  readonly oomScoreAdj: number;
}

/** `mounts[]`. */
export interface OciMount {
  readonly destination: string;
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

/** `linux.namespaces[]`: without `path` runc creates a new namespace. */
export interface OciNamespace {
  readonly type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'user' | 'cgroup';
  readonly path?: string;
}

/** `linux.resources.devices[]`. */
export interface OciDeviceCgroup {
  readonly allow: boolean;
  readonly access: string;
  readonly type?: 'a' | 'b' | 'c';
  readonly major?: number;
  readonly minor?: number;
}

/** `linux`. */
export interface OciLinux {
  readonly namespaces: readonly OciNamespace[];
  readonly cgroupsPath: string;
  readonly resources: { readonly devices: readonly OciDeviceCgroup[] };
  readonly sysctl: Readonly<Record<string, string>>;
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
}

/** The whole `config.json`, the subset berth renders. */
export interface OciSpec {
  readonly ociVersion: string;
  readonly process: OciProcess;
  readonly root: { readonly path: string; readonly readonly: boolean };
  readonly hostname: string;
  readonly mounts: readonly OciMount[];
  readonly linux: OciLinux;
}

/**
 * Which network namespace the container runs in.
 * - `path`: a namespace berth made and configured (a bind-mounted netns file); bridge, none,
 *   overlay, macvlan and `container:` networks all end up here.
 * - `host`: the daemon's own namespace, shared (`--network host`).
 * - `new`: a fresh, empty namespace made by runc (loopback only); for tests and tools that
 *   must not touch any namespace berth manages.
 */
export type NetworkNamespace =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'host' }
  | { readonly kind: 'new' };

/** A bind mount from the host into the container (`-v /src:/dst[:ro]`). */
export interface BindMount {
  readonly source: string;
  readonly destination: string;
  readonly readonly?: boolean;
}

/** The container's own copies of the files Docker manages, bind-mounted over /etc. */
export interface ContainerFiles {
  /** Host path of the container's hosts file, mounted on /etc/hosts. */
  readonly hosts?: string;
  /** Host path of its resolv.conf, mounted on /etc/resolv.conf. */
  readonly resolvConf?: string;
  /** Host path of its hostname file, mounted on /etc/hostname. */
  readonly hostname?: string;
}

/** Everything {@link renderOciSpec} needs. */
export interface OciSpecOptions {
  /** Merged overlay directory (see layers.ts). Absolute. */
  readonly rootfs: string;
  /** argv of the main process; see {@link resolveProcessArgs}. */
  readonly args: readonly string[];
  /**
   * The container's Env (image Env merged with the user's, see {@link mergeEnv}); PATH and
   * HOSTNAME are added underneath as Docker does, so entries here override them.
   */
  readonly env: readonly string[];
  /** Working directory; `/` when empty or absent. */
  readonly cwd?: string;
  readonly hostname: string;
  /** Allocate a pty for the main process. Needs a console socket: not implemented yet. */
  readonly terminal?: boolean;
  /** Default 0:0. */
  readonly user?: OciUser;
  readonly network: NetworkNamespace;
  readonly files?: ContainerFiles;
  readonly binds?: readonly BindMount[];
  /** Relative (`berth/<id>`: under the daemon's own cgroup) or absolute; see {@link defaultCgroupsPath}. */
  readonly cgroupsPath: string;
  readonly readonlyRootfs?: boolean;
  /** Extra capabilities, e.g. `NET_ADMIN` or `CAP_NET_ADMIN`. */
  readonly capAdd?: readonly string[];
  /** Capabilities to drop from the default set. */
  readonly capDrop?: readonly string[];
  /** Extra sysctls (namespaced ones only, as Docker allows). */
  readonly sysctls?: Readonly<Record<string, string>>;
}

/**
 * Docker's default capabilities (moby `oci/caps/defaults.go`). CAP_NET_RAW is among them, so
 * `ping` works with a raw socket even without ping_group_range.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** moby `oci/defaults.go` maskedPaths. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** moby `oci/defaults.go` readonlyPaths. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** containerd's default; Docker inherits the daemon's limit, which is usually this. */
export const DEFAULT_NOFILE = 1048576;

/** Hard rlimits of the daemon, by OCI type (`RLIMIT_NOFILE`); Infinity for "unlimited". */
export type HostRlimits = Readonly<Record<string, number>>;

/**
 * Lowers the spec's rlimits to the daemon's own hard limits when the daemon cannot raise them
 * (no CAP_SYS_RESOURCE): runc applies them with prlimit from the daemon's side, and raising a
 * hard limit without that capability fails the whole start with "error setting rlimits for
 * ready process: operation not permitted" (seen on these VMs: hard NOFILE 20000, no
 * CAP_SYS_RESOURCE). Docker sets no rlimit by default and so never meets this. Pure.
 */
export function clampRlimits(spec: OciSpec, host: HostRlimits, canRaise: boolean): OciSpec {
  if (canRaise) return spec;
  const rlimits = spec.process.rlimits.map((r) => {
    const max = host[r.type];
    if (max === undefined || r.hard <= max) return r;
    return { type: r.type, hard: max, soft: Math.min(r.soft, max) };
  });
  return { ...spec, process: { ...spec.process, rlimits } };
}

/** The cgroup parent berth uses when the daemon config names none. */
export const DEFAULT_CGROUP_PARENT = 'berth';

/**
 * `<parent>/<id>`. A relative path makes runc (cgroupfs driver) create the container's cgroup
 * under runc's own cgroup, i.e. under the daemon's, which keeps several daemons apart.
 */
export function defaultCgroupsPath(id: string, parent: string = DEFAULT_CGROUP_PARENT): string {
  return `${parent.replace(/\/+$/, '')}/${id}`;
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * Docker's ReplaceOrAppendEnvValues: entries of `overrides` replace same-named entries of
 * `base` in place or are appended; an override without `=` removes the variable.
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const o of overrides) {
    const key = envKey(o);
    const idx = out.findIndex((e) => envKey(e) === key);
    if (!o.includes('=')) {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = o;
    } else {
      out.push(o);
    }
  }
  return out;
}

/**
 * The main process's argv, as Docker computes it: an Entrypoint given at create time (even an
 * empty one) replaces the image's and drops the image's Cmd; a Cmd given replaces the image's.
 * Throws ERR_INVALID_PARAMETER when nothing is left to run.
 */
export function resolveProcessArgs(
  image: ImageConfig,
  overrides: { readonly entrypoint?: readonly string[]; readonly cmd?: readonly string[] } = {},
): string[] {
  const entrypoint = overrides.entrypoint ?? image.Entrypoint ?? [];
  const cmd = overrides.cmd ?? (overrides.entrypoint === undefined ? (image.Cmd ?? []) : []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalid('no command specified');
  return args;
}

function normaliseCap(cap: string): string {
  const upper = cap.toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!/^CAP_[A-Z_]+$/.test(full)) throw invalid(`invalid capability: ${JSON.stringify(cap)}`);
  return full;
}

function checkAbsolute(what: string, p: string): void {
  if (!p.startsWith('/') || p.includes('\0')) throw invalid(`${what} must be an absolute path: ${JSON.stringify(p)}`);
}

/** Sort key: mounts closer to `/` first, so a parent is mounted before what lies in it. */
function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

/** Renders `config.json` for one container. Throws ERR_INVALID_PARAMETER on bad paths or caps. */
export function renderOciSpec(opts: OciSpecOptions): OciSpec {
  checkAbsolute('rootfs', opts.rootfs);
  if (opts.args.length === 0) throw invalid('no command specified');
  const terminal = opts.terminal ?? false;
  const defaults = [DEFAULT_PATH_ENV, `HOSTNAME=${opts.hostname}`, ...(terminal ? ['TERM=xterm'] : [])];
  const env = mergeEnv(defaults, opts.env);

  let caps = [...DEFAULT_CAPABILITIES];
  for (const c of opts.capAdd ?? []) {
    const n = normaliseCap(c);
    if (n === 'CAP_ALL') throw invalid('--cap-add ALL is not supported');
    if (!caps.includes(n)) caps.push(n);
  }
  const drop = new Set((opts.capDrop ?? []).map(normaliseCap));
  caps = drop.has('CAP_ALL') ? [] : caps.filter((c) => !drop.has(c));

  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  const binds: BindMount[] = [];
  const files = opts.files ?? {};
  if (files.resolvConf) binds.push({ source: files.resolvConf, destination: '/etc/resolv.conf' });
  if (files.hostname) binds.push({ source: files.hostname, destination: '/etc/hostname' });
  if (files.hosts) binds.push({ source: files.hosts, destination: '/etc/hosts' });
  binds.push(...(opts.binds ?? []));
  const seen = new Set(mounts.map((m) => m.destination));
  for (const b of [...binds].sort((a, b) => depth(a.destination) - depth(b.destination))) {
    checkAbsolute('bind mount source', b.source);
    checkAbsolute('bind mount destination', b.destination);
    if (seen.has(b.destination)) throw invalid(`duplicate mount point: ${b.destination}`);
    seen.add(b.destination);
    mounts.push({
      destination: b.destination,
      type: 'bind',
      source: b.source,
      options: ['rbind', 'rprivate', ...(b.readonly ? ['ro'] : [])],
    });
  }

  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  const sysctl: Record<string, string> = {};
  switch (opts.network.kind) {
    case 'path':
      checkAbsolute('network namespace', opts.network.path);
      namespaces.push({ type: 'network', path: opts.network.path });
      break;
    case 'new':
      namespaces.push({ type: 'network' });
      break;
    case 'host':
      // No network entry: the container shares the namespace runc runs in, the daemon's.
      break;
  }
  if (opts.network.kind !== 'host') {
    // Docker sets these in every private netns (moby daemon/oci_linux.go WithSysctls); they are
    // per-netns, and runc refuses net.* sysctls in the host's namespace.
    sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
    sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
  }
  Object.assign(sysctl, opts.sysctls ?? {});

  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal,
      user: opts.user ?? { uid: 0, gid: 0 },
      args: [...opts.args],
      env,
      cwd: opts.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: DEFAULT_NOFILE, soft: DEFAULT_NOFILE }],
      noNewPrivileges: false,
      oomScoreAdj: 0,
    },
    root: { path: opts.rootfs, readonly: opts.readonlyRootfs ?? false },
    hostname: opts.hostname,
    mounts,
    linux: {
      namespaces,
      cgroupsPath: opts.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      sysctl,
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}
