/**
 * Model snapshots for the DNS unit tests: networks, containers and endpoints built from a
 * short description, with Docker's defaults for everything the resolver does not read.
 */
import * as dnsPacket from 'dns-packet';
import type { Container, ContainerStatus, Endpoint, HostConfig } from '../../../src/model/container.js';
import type { Id64, Network } from '../../../src/model/network.js';
import type { ModelSnapshot } from '../../../src/engine/observers.js';

/** A 64-hex id from a short tag (`c3` → `c3c3c3…`), so short IDs are predictable. */
export function id(tag: string): Id64 {
  const hex = Buffer.from(tag).toString('hex');
  return hex.repeat(Math.ceil(64 / hex.length)).slice(0, 64) as Id64;
}

export function network(name: string, opts: { internal?: boolean; predefined?: boolean; driver?: Network['driver']; ipv6?: boolean } = {}): Network {
  return {
    id: id(`net-${name}`),
    name,
    driver: opts.driver ?? 'bridge',
    scope: 'local',
    created: '2024-01-01T00:00:00.000000000Z',
    internal: opts.internal ?? false,
    attachable: false,
    ingress: false,
    enableIPv4: true,
    enableIPv6: opts.ipv6 ?? false,
    ipamDriver: 'default',
    ipamOptions: {},
    pools: [],
    options: {},
    labels: {},
    predefined: opts.predefined ?? false,
  };
}

export interface ContainerSpec {
  readonly name: string;
  readonly status?: ContainerStatus;
  readonly hostname?: string;
  readonly hostConfig?: Partial<HostConfig>;
  /** network name → endpoint details */
  readonly on: Readonly<Record<string, { ipv4?: string; ipv6?: string; aliases?: string[]; links?: string[] }>>;
}

export function container(spec: ContainerSpec): Container {
  const cid = id(spec.name);
  return {
    id: cid,
    name: spec.name,
    created: '2024-01-01T00:00:00.000000000Z',
    config: {
      image: 'busybox',
      imageId: 'sha256:0',
      cmd: ['sleep', '1000'],
      entrypoint: null,
      env: [],
      workingDir: '',
      user: '',
      tty: false,
      openStdin: false,
      hostname: spec.hostname ?? cid.slice(0, 12),
      domainname: '',
      labels: {},
      exposedPorts: [],
    },
    hostConfig: {
      networkMode: Object.keys(spec.on)[0] ?? 'none',
      portBindings: {},
      publishAllPorts: false,
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      extraHosts: [],
      links: [],
      autoRemove: false,
      restartPolicy: { name: 'no', maximumRetryCount: 0 },
      ...spec.hostConfig,
    },
    state: { status: spec.status ?? 'running', pid: 1, exitCode: 0, error: '', startedAt: '', finishedAt: '' },
    restartCount: 0,
  };
}

/** A snapshot; every running container gets a sandbox path `/run/ns/<name>`. */
export function snapshot(networks: readonly Network[], specs: readonly ContainerSpec[]): ModelSnapshot {
  const byName = new Map(networks.map((n) => [n.name, n]));
  const containers = specs.map(container);
  const endpoints: Endpoint[] = [];
  let order = 0;
  specs.forEach((s, i) => {
    const c = containers[i] as Container;
    for (const [netName, ep] of Object.entries(s.on)) {
      const n = byName.get(netName);
      if (n === undefined) throw new Error(`fixture: no network ${netName}`);
      endpoints.push({
        id: id(`ep-${s.name}-${netName}`),
        networkId: n.id,
        containerId: c.id,
        ifName: `eth${Object.keys(s.on).indexOf(netName)}`,
        mac: '02:42:00:00:00:00',
        ...(ep.ipv4 !== undefined ? { ipv4: ep.ipv4 } : {}),
        ...(ep.ipv6 !== undefined ? { ipv6: ep.ipv6 } : {}),
        aliases: ep.aliases ?? [],
        links: ep.links ?? [],
        order: ++order,
      });
    }
  });
  const sandboxes = new Map<string, string>();
  for (const c of containers) if (c.state.status === 'running') sandboxes.set(c.id, `/run/ns/${c.name}`);
  return { networks, containers, endpoints, sandboxes };
}

/** A query as a stub resolver sends it. */
export function query(name: string, type: dnsPacket.RecordType = 'A', opts: { id?: number; edns?: number; ednsVersion?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals:
      opts.edns === undefined
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: opts.edns,
              extendedRcode: 0,
              ednsVersion: opts.ednsVersion ?? 0,
              flags: 0,
              flag_do: false,
              options: [{ code: 10, data: Buffer.alloc(8, 7) } as never],
            },
          ],
  });
}
