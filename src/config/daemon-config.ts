/**
 * berthd's configuration: flags in the spirit of dockerd, parsed with Node's util.parseArgs
 * (unknown flags are refused), then checked by one valibot schema that yields the frozen config.
 */
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { invalid } from '../errors.js';
import { DEFAULT_POOLS, DEFAULT_POOLS6, parseDefaultAddressPool } from '../ipam/default-pools.js';
import type { DefaultPool } from '../ipam/types.js';

/** The daemon's frozen configuration. */
export interface DaemonConfig {
  readonly root: string;
  readonly execRoot: string;
  /** Path of the unix socket the API is served on. */
  readonly socketPath: string;
  readonly bip: string;
  readonly defaultPools: readonly DefaultPool[];
  readonly defaultPools6: readonly DefaultPool[];
  readonly mtu: number;
  readonly dns: readonly string[];
  readonly clusterStore: string | undefined;
  readonly clusterAdvertise: string | undefined;
  /**
   * Lease TTL of this host's entries in the cluster store, seconds (`--cluster-store-opt
   * discovery.ttl=N`, Docker's key): how long a dead host's endpoints outlive it.
   */
  readonly clusterTtl: number;
  readonly firewall: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly pidfile: string;
}

export const DAEMON_USAGE = `Usage:  berthd [OPTIONS]

berth's daemon: Docker's container networking on the real kernel, serving the Docker Engine API.

Options:
      --root string                  Root directory of persistent state (default "/var/lib/berth")
      --exec-root string             Root directory for runtime state and netns mounts (default "/run/berth")
  -H, --host string                  Daemon socket to listen on (default "unix:///run/berth.sock")
      --bip string                   Gateway address/prefix of the default bridge (default "172.17.0.1/16")
      --default-address-pool pool    Default address pools for new networks: base=CIDR,size=N (repeatable)
      --mtu int                      Default MTU of container interfaces (default 1500)
      --dns list                     DNS servers for containers (repeatable)
      --cluster-store string         Cluster store URL (etcd://host:port[,host:port])
      --cluster-advertise string     Address or interface to advertise to the cluster
      --cluster-store-opt map        Cluster store options: discovery.ttl=<seconds> (default 20)
      --firewall                     Manage nftables rules (default true; --firewall=false leaves the firewall alone)
  -p, --pidfile string               Path of the PID file (default "<exec-root>/berthd.pid")
  -l, --log-level string             debug, info, warn or error (default "info")
  -D, --debug                        Same as --log-level=debug
  -v, --version                      Print version and exit
  -h, --help                         Print usage
`;

const AbsolutePath = v.pipe(v.string(), v.minLength(1), v.startsWith('/', 'must be an absolute path'));
// finite: zod's number refused Infinity, valibot's takes it.
const Pool = v.object({ base: v.string(), size: v.pipe(v.number(), v.finite()) });

const Schema = v.strictObject({
  root: AbsolutePath,
  execRoot: AbsolutePath,
  socketPath: AbsolutePath,
  bip: v.pipe(v.string(), v.regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 address with a prefix, e.g. 172.17.0.1/16')),
  defaultPools: v.pipe(v.array(Pool), v.minLength(1)),
  defaultPools6: v.array(Pool),
  mtu: v.pipe(v.number(), v.integer(), v.minValue(68), v.maxValue(65535)),
  dns: v.array(v.string()),
  clusterStore: v.optional(v.string()),
  clusterAdvertise: v.optional(v.string()),
  clusterTtl: v.pipe(v.number(), v.integer(), v.minValue(2, 'must be at least 2 seconds'), v.maxValue(3600)),
  firewall: v.boolean(),
  logLevel: v.picklist(['debug', 'info', 'warn', 'error']),
  pidfile: v.pipe(v.string(), v.minLength(1)),
});

/** What the command line asked for besides a config (help, version). */
export type DaemonArgs = { kind: 'run'; config: DaemonConfig } | { kind: 'help' } | { kind: 'version' };

/** Parses berthd's argv (without node and script). Throws ERR_INVALID_PARAMETER. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        root: { type: 'string' },
        'exec-root': { type: 'string' },
        host: { type: 'string', short: 'H' },
        bip: { type: 'string' },
        'default-address-pool': { type: 'string', multiple: true },
        mtu: { type: 'string' },
        dns: { type: 'string', multiple: true },
        'cluster-store': { type: 'string' },
        'cluster-advertise': { type: 'string' },
        'cluster-store-opt': { type: 'string', multiple: true },
        firewall: { type: 'string' },
        pidfile: { type: 'string', short: 'p' },
        'log-level': { type: 'string', short: 'l' },
        debug: { type: 'boolean', short: 'D' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw invalid((err as Error).message.replace(/\. To specify a positional argument.*$/, ''), err);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const execRoot = values['exec-root'] ?? '/run/berth';
  const host = values.host ?? 'unix:///run/berth.sock';
  if (!host.startsWith('unix://')) throw invalid(`invalid -H ${host}: berthd listens on unix sockets only (unix:///path)`);
  const mtu = values.mtu === undefined ? 1500 : Number(values.mtu);
  const fw = values.firewall ?? 'true';
  if (fw !== 'true' && fw !== 'false') throw invalid(`invalid --firewall=${fw}: want true or false`);
  let clusterTtl = 20;
  for (const opt of values['cluster-store-opt'] ?? []) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key !== 'discovery.ttl') throw invalid(`invalid --cluster-store-opt ${opt}: berth knows discovery.ttl=<seconds>`);
    const m = /^(\d+)s?$/.exec(value);
    if (m === null) throw invalid(`invalid --cluster-store-opt ${opt}: discovery.ttl wants whole seconds`);
    clusterTtl = Number(m[1]);
    if (clusterTtl < 2 || clusterTtl > 3600) throw invalid(`invalid --cluster-store-opt ${opt}: discovery.ttl must be 2 to 3600 seconds`);
  }
  if ((values['cluster-store'] === undefined) !== (values['cluster-advertise'] === undefined)) {
    throw invalid('--cluster-store and --cluster-advertise go together');
  }
  if (values['cluster-store'] === undefined && (values['cluster-store-opt'] ?? []).length > 0) {
    throw invalid('--cluster-store-opt needs --cluster-store');
  }
  const raw = {
    root: values.root ?? '/var/lib/berth',
    execRoot,
    socketPath: host.slice('unix://'.length),
    bip: values.bip ?? '172.17.0.1/16',
    defaultPools: values['default-address-pool']?.map((p) => parseDefaultAddressPool(p)) ?? [...DEFAULT_POOLS],
    defaultPools6: [...DEFAULT_POOLS6],
    mtu,
    dns: values.dns ?? [],
    clusterStore: values['cluster-store'],
    clusterAdvertise: values['cluster-advertise'],
    clusterTtl,
    firewall: fw === 'true',
    logLevel: values.debug ? 'debug' : (values['log-level'] ?? 'info'),
    pidfile: values.pidfile ?? `${execRoot}/berthd.pid`,
  };
  const parsed = v.safeParse(Schema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw invalid(`invalid ${issue.path?.map((p) => String(p.key)).join('.') ?? 'configuration'}: ${issue.message}`);
  }
  return { kind: 'run', config: Object.freeze(parsed.output) as DaemonConfig };
}
