/**
 * Model builders for the firewall's unit tests: networks, containers and endpoints as plain data,
 * with deterministic ids, and a snapshot to hand to the service.
 */
import { createHash } from 'node:crypto';
import type { ModelSnapshot } from '../../../src/engine/observers.js';
import { ZERO_TIME, type Container, type Endpoint, type HostConfig } from '../../../src/model/container.js';
import type { Id64, IpamPool, Network } from '../../../src/model/network.js';

/** A deterministic 64-hex id from a short tag (its SHA-256). */
export function id(tag: string): Id64 {
  return createHash('sha256').update(tag).digest('hex') as Id64;
}

function pool(subnet: string, gateway: string): IpamPool {
  return { subnet, gateway, gatewayExplicit: false, auxAddresses: {}, fromDefaultPool: false };
}

/** A bridge network; `v6` adds an IPv6 pool. */
export function bridgeNetwork(
  name: string,
  subnet: string,
  opts: { v6?: string; internal?: boolean; options?: Record<string, string>; predefined?: boolean } = {},
): Network {
  const gw4 = subnet.replace(/0\/\d+$/, '1');
  const pools = [pool(subnet, gw4)];
  if (opts.v6 !== undefined) pools.push(pool(opts.v6, opts.v6.replace(/\/\d+$/, '1')));
  return {
    id: id(`net-${name}`),
    name,
    driver: 'bridge',
    scope: 'local',
    created: ZERO_TIME,
    internal: opts.internal ?? false,
    attachable: false,
    ingress: false,
    enableIPv4: true,
    enableIPv6: opts.v6 !== undefined,
    ipamDriver: 'default',
    ipamOptions: {},
    pools,
    options: opts.options ?? {},
    labels: {},
    predefined: opts.predefined ?? false,
  };
}

/** The default bridge as the daemon makes it. */
export function defaultBridge(): Network {
  return bridgeNetwork('bridge', '172.17.0.0/16', {
    predefined: true,
    options: {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': 'berth0',
      'com.docker.network.driver.mtu': '1500',
    },
  });
}

/** host and none, which the firewall ignores. */
export function otherPredefined(): Network[] {
  const base = bridgeNetwork('x', '10.0.0.0/8');
  return [
    { ...base, id: id('net-host'), name: 'host', driver: 'host', pools: [], enableIPv4: false, predefined: true },
    { ...base, id: id('net-none'), name: 'none', driver: 'null', pools: [], enableIPv4: false, predefined: true },
  ];
}

/** A container; `ports` are PortBindings as `80/tcp` → [[hostIp, hostPort]]. */
export function container(
  name: string,
  opts: {
    running?: boolean;
    mode?: string;
    ports?: Record<string, [string, string][]>;
    publishAll?: boolean;
    exposed?: string[];
  } = {},
): Container {
  const hostConfig: HostConfig = {
    networkMode: opts.mode ?? 'bridge',
    portBindings: Object.fromEntries(
      Object.entries(opts.ports ?? {}).map(([k, v]) => [k, v.map(([hostIp, hostPort]) => ({ hostIp, hostPort }))]),
    ),
    publishAllPorts: opts.publishAll ?? false,
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    links: [],
    autoRemove: false,
    restartPolicy: { name: 'no', maximumRetryCount: 0 },
  };
  return {
    id: id(`ctr-${name}`),
    name,
    created: ZERO_TIME,
    config: {
      image: 'busybox',
      imageId: 'sha256:0',
      cmd: ['sleep', '1'],
      entrypoint: null,
      env: [],
      workingDir: '',
      user: '',
      tty: false,
      openStdin: false,
      hostname: name,
      domainname: '',
      labels: {},
      exposedPorts: opts.exposed ?? [],
    },
    hostConfig,
    state: {
      status: opts.running === false ? 'exited' : 'running',
      pid: opts.running === false ? 0 : 100,
      exitCode: 0,
      error: '',
      startedAt: ZERO_TIME,
      finishedAt: ZERO_TIME,
    },
    restartCount: 0,
  };
}

let order = 0;

/** An endpoint of `c` on `n` with the given addresses (`172.17.0.2/16`). */
export function endpoint(c: Container, n: Network, ipv4?: string, ipv6?: string): Endpoint {
  return {
    id: id(`ep-${c.name}-${n.name}`),
    networkId: n.id,
    containerId: c.id,
    ifName: 'eth0',
    mac: '02:42:00:00:00:00',
    ...(ipv4 !== undefined ? { ipv4 } : {}),
    ...(ipv6 !== undefined ? { ipv6 } : {}),
    aliases: [],
    links: [],
    order: ++order,
  };
}

/** A snapshot of the given model. */
export function snapshot(networks: Network[], containers: Container[], endpoints: Endpoint[]): ModelSnapshot {
  return { networks, containers, endpoints, sandboxes: new Map() };
}

/** The same container, stopped or running. */
export function withStatus(c: Container, running: boolean): Container {
  return { ...c, state: { ...c.state, status: running ? 'running' : 'exited' } };
}
