/**
 * berthd: wires config, store, kernel, engine and API together, and owns the process: pidfile,
 * signals, start-up reconcile. The network namespace berthd starts in is its "host".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BerthError } from '../errors.js';
import { addContainerRoutes } from '../api/containers.js';
import { addNetworkRoutes } from '../api/networks.js';
import { Router } from '../api/router.js';
import { serveUnix } from '../api/server.js';
import { addSystemRoutes, BERTH_VERSION } from '../api/system.js';
import { DAEMON_USAGE, parseDaemonArgs, type DaemonConfig } from '../config/daemon-config.js';
import { createLogger, type Logger } from '../engine/log.js';
import { DnsServer } from '../dns/index.js';
import { ContainerController } from '../engine/containers.js';
import { createFirewall } from '../firewall/index.js';
import { NetworkController } from '../engine/networks.js';
import { ensureBusyboxImage, listImages } from '../runtime/images.js';
import { RuncRuntime } from '../runtime/runc.js';
import { NetlinkKernel } from '../kernel/netlink-kernel.js';
import { Store } from '../store/store.js';
import { Cluster } from '../cluster/cluster.js';
import { EtcdKv, parseClusterStore } from '../cluster/etcd.js';
import { OverlayPeers } from '../drivers/overlay/peers.js';
import { ClusterLink, resolveAdvertise } from '../engine/cluster-link.js';

/** A running daemon, for tests and for the signal handlers. */
export interface RunningDaemon {
  readonly config: DaemonConfig;
  stop(): Promise<void>;
}

/** Starts berthd with a parsed config. */
export async function startDaemon(config: DaemonConfig, log: Logger): Promise<RunningDaemon> {
  fs.mkdirSync(config.root, { recursive: true, mode: 0o700 });
  fs.mkdirSync(config.execRoot, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(config.socketPath), { recursive: true });
  claimPidfile(config.pidfile);
  const store = Store.open(path.join(config.root, 'berth.db'));
  const kernel = new NetlinkKernel();
  // The sandbox directory is a shared mount (as iproute2 makes /run/netns): a mount namespace
  // created later (runc's) would otherwise keep a copy of a sandbox mount and its netns alive.
  fs.mkdirSync(path.join(config.execRoot, 'netns'), { recursive: true, mode: 0o700 });
  kernel.netnsDirSetup(path.join(config.execRoot, 'netns'));
  const networks = new NetworkController({ store, kernel, config, log });
  const runtime = new RuncRuntime({ root: config.root, execRoot: config.execRoot });
  const containers = new ContainerController({ store, kernel, networks, runtime, config, log });
  networks.setChangeListener(() => containers.notifyObservers());
  // Services that follow the model, added before init so they see the first snapshot.
  containers.addObserver(new DnsServer({ daemonDns: config.dns, log }));
  if (config.firewall) containers.addObserver(createFirewall({ kernel, root: config.root, log }));
  const link = joinCluster(config, { store, kernel, networks, containers, log });
  link?.wire();
  await networks.init();
  let joined = false;
  try {
    joined = (await link?.tryJoin()) ?? false;
  } catch (err) {
    link?.stop();
    throw err;
  }
  await containers.init();
  if (link !== undefined) {
    if (joined) await link.rejoin();
    else {
      link.keepJoining(async () => {
        await link.rejoin();
        await containers.notifyObservers();
      });
    }
  }
  await containers.notifyObservers();
  await ensureBusyboxImage(config.root);

  const router = new Router();
  addSystemRoutes(router, {
    root: config.root,
    name: os.hostname(),
    id: daemonId(store),
    containers: () => containers.counts(),
    images: async () => (await listImages(config.root)).length,
    ...(link !== undefined && config.clusterStore !== undefined ? { cluster: { store: config.clusterStore, advertise: link.advertise } } : {}),
  });
  addNetworkRoutes(
    router,
    networks,
    (networkId) => {
      const out: Record<string, unknown> = {};
      for (const { container, endpoint } of containers.runningOn(networkId)) {
        out[container.id] = {
          // docker_gwbridge shows an overlay container's leg as Docker does.
          Name: endpoint.hidden === true ? `gateway_${container.id.slice(0, 12)}` : container.name,
          EndpointID: endpoint.id,
          MacAddress: endpoint.ifName === '' ? '' : endpoint.mac,
          IPv4Address: endpoint.ipv4 ?? '',
          IPv6Address: endpoint.ipv6 ?? '',
        };
      }
      // Containers on other hosts, as Docker's KV-store overlay listed them: `ep-<endpoint id>`.
      for (const e of link?.remoteOn(networkId) ?? []) {
        out[`ep-${e.endpointId}`] = { Name: e.name, EndpointID: e.endpointId, MacAddress: e.mac, IPv4Address: e.ipv4 ?? '', IPv6Address: e.ipv6 ?? '' };
      }
      return out;
    },
    {
      connect: (net, body) =>
        containers.connect(net, body.Container, {
          aliases: body.EndpointConfig?.Aliases ?? [],
          ipv4Address: body.EndpointConfig?.IPAMConfig?.IPv4Address ?? undefined,
          ipv6Address: body.EndpointConfig?.IPAMConfig?.IPv6Address ?? undefined,
          macAddress: body.EndpointConfig?.MacAddress ?? undefined,
          links: body.EndpointConfig?.Links ?? [],
          driverOpts: body.EndpointConfig?.DriverOpts ?? {},
        }),
      disconnect: (net, body) => containers.disconnect(net, body.Container, body.Force ?? false),
    },
  );
  addContainerRoutes(router, { containers, networks, runtime, root: config.root });

  const server = await serveUnix(router, config.socketPath, log);
  log.info('berthd ready', { version: BERTH_VERSION, socket: config.socketPath, root: config.root, pid: process.pid });

  let stopped = false;
  return {
    config,
    async stop() {
      if (stopped) return;
      stopped = true;
      link?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      kernel.release();
      store.close();
      fs.rmSync(config.pidfile, { force: true });
      fs.rmSync(config.socketPath, { force: true });
      log.info('berthd stopped');
    },
  };
}

/**
 * The cluster side of the daemon when `--cluster-store` is given: etcd client, this host's
 * identity (the daemon ID, stable across restarts, so a restarted host renews its own claims)
 * and tunnel address, and the link between cluster and controllers.
 */
function joinCluster(
  config: DaemonConfig,
  deps: { store: Store; kernel: NetlinkKernel; networks: NetworkController; containers: ContainerController; log: Logger },
): ClusterLink | undefined {
  if (config.clusterStore === undefined || config.clusterAdvertise === undefined) return undefined;
  const kv = new EtcdKv({ endpoints: parseClusterStore(config.clusterStore) });
  const advertise = resolveAdvertise(config.clusterAdvertise, deps.kernel);
  const cluster = new Cluster({ kv, hostId: daemonId(deps.store), advertise, leaseTtlSec: config.clusterTtl, log: deps.log });
  const peers = new OverlayPeers(deps.kernel, deps.log);
  deps.log.info('joining the cluster', { store: config.clusterStore, advertise, ttl: config.clusterTtl });
  return new ClusterLink({ cluster, networks: deps.networks, containers: deps.containers, peers, log: deps.log, close: () => kv.close() });
}

/** A stable id for /info, kept in the store. */
function daemonId(store: Store): string {
  const existing = store.get<{ id: string }>('meta', 'daemon');
  if (existing !== undefined) return existing.id;
  const id = crypto.randomUUID();
  store.put('meta', 'daemon', { id });
  return id;
}

/** Refuses to start twice on one exec-root, like dockerd's "pid file found". */
function claimPidfile(pidfile: string): void {
  try {
    const pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new BerthError(
        'ERR_INTERNAL',
        `pid file found, ensure berthd is not running or delete ${pidfile} (pid ${pid} is alive)`,
      );
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
  }
  fs.writeFileSync(pidfile, `${process.pid}\n`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Entry point of bin/berthd. */
export async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseDaemonArgs(argv);
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\nSee 'berthd --help'.\n`);
    return 125;
  }
  if (args.kind === 'help') {
    process.stdout.write(DAEMON_USAGE);
    return 0;
  }
  if (args.kind === 'version') {
    process.stdout.write(`berthd version ${BERTH_VERSION}\n`);
    return 0;
  }
  const log = createLogger(args.config.logLevel);
  if (process.getuid?.() !== 0) {
    log.error('berthd needs root (network namespaces, netlink, nftables, runc)');
    return 1;
  }
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(args.config, log);
  } catch (err) {
    log.error('berthd failed to start', { error: (err as Error).message });
    return 1;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      log.info('signal received, shutting down (containers keep running)', { signal: sig });
      void daemon.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}
