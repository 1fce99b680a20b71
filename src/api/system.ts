/**
 * `/_ping`, `/version`, `/info`: enough for a Docker client to negotiate the API version and
 * print `docker version` / `docker info`.
 */
import os from 'node:os';
import { API_VERSION, MIN_API_VERSION, type Router } from './router.js';
import { builtinDriverNames } from '../drivers/registry.js';

/** berth's own version. */
export const BERTH_VERSION = '0.1.0';

/** What /info reports about the daemon. */
export interface SystemInfo {
  readonly root: string;
  readonly name: string;
  readonly id: string;
  /** Counts of containers by state (filled in by the container layer). */
  readonly containers: () => { total: number; running: number; paused: number; stopped: number };
  readonly images: () => Promise<number>;
  /** `--cluster-store` and the advertised address, when in a cluster (Docker ≤ 20.10 shows both). */
  readonly cluster?: { readonly store: string; readonly advertise: string };
}

const pingHeaders = {
  'API-Version': API_VERSION,
  'Docker-Experimental': 'false',
  'OSType': 'linux',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  'Pragma': 'no-cache',
};

export function addSystemRoutes(router: Router, info: SystemInfo): void {
  const ping = () => ({ status: 200, text: 'OK', headers: pingHeaders });
  router.add('GET', '/_ping', ping);
  router.add('HEAD', '/_ping', ping);

  router.add('GET', '/version', () => {
    const details = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: os.release(),
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      BuildTime: '',
    };
    return {
      status: 200,
      body: {
        Platform: { Name: 'berth' },
        Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: details }],
        Version: BERTH_VERSION,
        ...details,
      },
    };
  });

  router.add('GET', '/info', async () => {
    const c = info.containers();
    const images = await info.images();
    return {
      status: 200,
      body: {
        ID: info.id,
        Containers: c.total,
        ContainersRunning: c.running,
        ContainersPaused: c.paused,
        ContainersStopped: c.stopped,
        Images: images,
        Driver: 'overlay',
        DriverStatus: [],
        Plugins: { Volume: [], Network: builtinDriverNames(), Authorization: null, Log: ['json-file'] },
        MemoryLimit: false,
        SwapLimit: false,
        CpuCfsPeriod: false,
        CpuCfsQuota: false,
        IPv4Forwarding: true,
        Debug: false,
        NFd: 0,
        NGoroutines: 0,
        SystemTime: new Date().toISOString(),
        LoggingDriver: 'json-file',
        CgroupDriver: 'cgroupfs',
        CgroupVersion: '2',
        NEventsListener: 0,
        KernelVersion: os.release(),
        OperatingSystem: 'berth on Linux',
        OSVersion: '',
        OSType: 'linux',
        Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
        IndexServerAddress: '',
        RegistryConfig: null,
        NCPU: os.cpus().length,
        MemTotal: os.totalmem(),
        DockerRootDir: info.root,
        Name: info.name,
        Labels: [],
        ExperimentalBuild: false,
        ServerVersion: BERTH_VERSION,
        Runtimes: { runc: { path: 'runc' } },
        DefaultRuntime: 'runc',
        Swarm: { LocalNodeState: 'inactive', ControlAvailable: false, NodeID: '', NodeAddr: '' },
        ClusterStore: info.cluster?.store ?? '',
        ClusterAdvertise: info.cluster?.advertise ?? '',
        LiveRestoreEnabled: true,
        Isolation: '',
        InitBinary: '',
        SecurityOptions: [],
        Warnings: [],
      },
    };
  });
}

function goArch(): string {
  const a = os.arch();
  return a === 'x64' ? 'amd64' : a;
}
