/**
 * Containers, endpoints and sandboxes as plain data (CNM: a sandbox is a container's network
 * namespace; an endpoint joins a sandbox to one network). The store owns them; they refer to
 * each other by id.
 */
import type { Id64 } from './network.js';

/** A published port as requested (`-p`), Docker's PortBinding. */
export interface PortBinding {
  readonly hostIp: string;
  readonly hostPort: string;
}

/** What the container runs: Docker's Config, the parts berth uses. */
export interface ContainerConfig {
  readonly image: string;
  readonly imageId: string;
  readonly cmd: readonly string[];
  readonly entrypoint: readonly string[] | null;
  readonly env: readonly string[];
  readonly workingDir: string;
  readonly user: string;
  readonly tty: boolean;
  readonly openStdin: boolean;
  readonly hostname: string;
  readonly domainname: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `80/tcp`, … from the image and `--expose`. */
  readonly exposedPorts: readonly string[];
}

/** How the container is hosted: Docker's HostConfig, the parts berth uses. */
export interface HostConfig {
  /** `bridge`, `host`, `none`, `container:<id>`, or a network name/id. */
  readonly networkMode: string;
  /** `80/tcp` → bindings. Stored now, applied by the firewall. */
  readonly portBindings: Readonly<Record<string, readonly PortBinding[]>>;
  readonly publishAllPorts: boolean;
  readonly dns: readonly string[];
  readonly dnsSearch: readonly string[];
  readonly dnsOptions: readonly string[];
  /** `name:ip` entries for /etc/hosts (`host-gateway` resolved at start). */
  readonly extraHosts: readonly string[];
  /** Legacy `--link name:alias` on the default bridge. */
  readonly links: readonly string[];
  readonly autoRemove: boolean;
  readonly restartPolicy: { readonly name: string; readonly maximumRetryCount: number };
}

/** Per-network request of a container (Docker's EndpointSettings as asked). */
export interface EndpointRequest {
  readonly networkId: string;
  readonly aliases: readonly string[];
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  readonly macAddress?: string;
  readonly links: readonly string[];
  readonly driverOpts: Readonly<Record<string, string>>;
}

/** An endpoint: the container's place on one network. Addresses are held while it exists. */
export interface Endpoint {
  readonly id: Id64;
  readonly networkId: string;
  readonly containerId: string;
  /** Interface name in the sandbox: eth0, eth1, … in order of connection. */
  readonly ifName: string;
  readonly mac: string;
  /** `172.18.0.2/16`, when the network has IPv4. */
  readonly ipv4?: string;
  /** `fd00::2/64`, when the network has IPv6. */
  readonly ipv6?: string;
  readonly aliases: readonly string[];
  readonly links: readonly string[];
  /** Monotonic order of connection (sets ethN and the interface order). */
  readonly order: number;
  /**
   * An endpoint the daemon added itself, not the user: an overlay container's leg on
   * `docker_gwbridge` (its default route, NAT and published ports). Docker leaves it out of the
   * container's `NetworkSettings.Networks` and the embedded DNS; `network inspect` shows it.
   */
  readonly hidden?: boolean;
}

/** Lifecycle of a container as Docker reports it. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  readonly status: ContainerStatus;
  readonly pid: number;
  readonly exitCode: number;
  readonly error: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** A container as berth stores it. */
export interface Container {
  readonly id: Id64;
  /** Without Docker's leading '/'. */
  readonly name: string;
  readonly created: string;
  readonly config: ContainerConfig;
  readonly hostConfig: HostConfig;
  readonly state: ContainerState;
  readonly restartCount: number;
}

/** Docker's zero time, printed for containers that never started/finished. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
