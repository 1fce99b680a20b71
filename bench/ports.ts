/**
 * The firewall's costs, measured against throwaway network namespaces (root only); prints one
 * JSON document and never asserts a time.
 *
 * 1. Publishing the next port with N = 10, 100, 1,000, 10,000 already published: one container
 *    start as the FirewallService sees it (beforeStart: allocation against the running
 *    containers; sync: what changed, its elements, one `nft -i` transaction), and its stop. For
 *    comparison: the same element add through the session alone and through an `nft -f -`
 *    exec, what rendering the whole model and diffing it would cost (the tracker avoids it),
 *    and a whole replace of the tables at N (daemon start-up) through the session and an exec.
 * 2. TCP throughput (iperf3, `--iperf-seconds`, default 3) from an "outside" netns to a
 *    "container" netns behind a bridge in a "host" netns: routed to the container's address
 *    before any firewall exists, then through a published port (DNAT) with berth's tables.
 *
 * Usage: node dist/bench/ports.js [--scales 10,100,1000,10000] [--samples 25] [--iperf-seconds 3]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/engine/log.js';
import type { ModelSnapshot } from '../src/engine/observers.js';
import { KernelNftApplier, NftSession } from '../src/firewall/nft-session.js';
import { MemoryPortRecords } from '../src/firewall/port-records.js';
import { firewallStateOf, renderElementChanges, renderReplace, renderRuleset } from '../src/firewall/render.js';
import { FirewallService } from '../src/firewall/service.js';
import { NetlinkKernel } from '../src/kernel/netlink-kernel.js';
import { ZERO_TIME, type Container, type Endpoint } from '../src/model/container.js';
import type { Id64, Network } from '../src/model/network.js';

interface Stats {
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number;
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
  return { median: at(0.5), p90: at(0.9), min: round(s[0] ?? NaN), max: round(s[s.length - 1] ?? NaN), samples: s.length };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, [...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---------------------------------------------------------------------------------------------
// A model of N running containers on the default bridge, each publishing one port.

const id = (tag: string) => createHash('sha256').update(tag).digest('hex') as Id64;

const bridge: Network = {
  id: id('bench-bridge'),
  name: 'bridge',
  driver: 'bridge',
  scope: 'local',
  created: ZERO_TIME,
  internal: false,
  attachable: false,
  ingress: false,
  enableIPv4: true,
  enableIPv6: false,
  ipamDriver: 'default',
  ipamOptions: {},
  pools: [{ subnet: '172.17.0.0/16', gateway: '172.17.0.1', gatewayExplicit: false, auxAddresses: {}, fromDefaultPool: true }],
  options: { 'com.docker.network.bridge.name': 'berth0' },
  labels: {},
  predefined: true,
};

/** Container `i` publishes host port `hostPort` → 80 and has address 172.17.x.y (i < 65,000). */
function member(i: number, hostPort: number, running = true): { c: Container; e: Endpoint } {
  const c: Container = {
    id: id(`bench-c-${i}`),
    name: `c${i}`,
    created: ZERO_TIME,
    config: {
      image: 'busybox',
      imageId: 'sha256:0',
      cmd: ['sleep'],
      entrypoint: null,
      env: [],
      workingDir: '',
      user: '',
      tty: false,
      openStdin: false,
      hostname: `c${i}`,
      domainname: '',
      labels: {},
      exposedPorts: [],
    },
    hostConfig: {
      networkMode: 'bridge',
      portBindings: { '80/tcp': [{ hostIp: '', hostPort: String(hostPort) }] },
      publishAllPorts: false,
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      extraHosts: [],
      links: [],
      autoRemove: false,
      restartPolicy: { name: 'no', maximumRetryCount: 0 },
    },
    state: { status: running ? 'running' : 'created', pid: 1, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
    restartCount: 0,
  };
  const host = i + 2;
  const e: Endpoint = {
    id: id(`bench-e-${i}`),
    networkId: bridge.id,
    containerId: c.id,
    ifName: 'eth0',
    mac: '02:42:ac:11:00:02',
    ipv4: `172.17.${host >> 8}.${host & 255}/16`,
    aliases: [],
    links: [],
    order: i,
  };
  return { c, e };
}

function snapshotOf(members: readonly { c: Container; e: Endpoint }[]): ModelSnapshot {
  return { networks: [bridge], containers: members.map((m) => m.c), endpoints: members.map((m) => m.e), sandboxes: new Map() };
}

// ---------------------------------------------------------------------------------------------
// Namespaces, cleaned up on every exit path.

const made: string[] = [];
const children: ChildProcess[] = [];
const closers: (() => void)[] = [];

function netnsAdd(prefix: string): string {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  sh('ip', ['netns', 'add', name]);
  made.push(name);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

function cleanup(): void {
  for (const c of closers.splice(0)) c();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const n of made.splice(0)) {
    try {
      sh('ip', ['netns', 'del', n]);
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function publishSeries(hostNs: string, scales: readonly number[], samples: number) {
  const path = `/run/netns/${hostNs}`;
  // The default bridge, as berthd has it (the service writes its route_localnet).
  sh('ip', ['-n', hostNs, 'link', 'add', 'berth0', 'type', 'bridge']);
  const kernel = new NetlinkKernel();
  const exec = new KernelNftApplier(kernel, path);
  // As berthd has it: small scripts through `nft -i`, long ones through `nft -f -`.
  const session = new NftSession({ netns: path, large: exec });
  closers.push(() => session.close(), () => kernel.release());
  const service = new FirewallService({ kernel, nft: session, records: new MemoryPortRecords(), log: silentLogger, netns: path });
  const members: { c: Container; e: Endpoint }[] = [];
  await service.sync(snapshotOf(members));
  const out: unknown[] = [];
  for (const n of scales) {
    // Grow to N: every new container through beforeStart, then one sync (a bulk element add).
    const before = members.length;
    for (let i = before; i < n; i++) members.push(member(i, 10_000 + i));
    const grown = snapshotOf(members);
    for (let i = before; i < n; i++) service.beforeStart((members[i] as { c: Container }).c, grown);
    const tBulk = performance.now();
    await service.sync(grown);
    const bulkMs = performance.now() - tBulk;

    const publish: number[] = [];
    const unpublish: number[] = [];
    const allocate: number[] = [];
    const pure: number[] = [];
    const execAdd: number[] = [];
    const sessionAdd: number[] = [];
    const syncApply: number[] = [];
    const syncAll: number[] = [];
    for (let k = 0; k < samples; k++) {
      const x = member(60_000 + k, 60_000 + k, false);
      const withX = snapshotOf([...members, x]);
      const running = { ...x, c: { ...x.c, state: { ...x.c.state, status: 'running' as const } } };
      const started = snapshotOf([...members, running]);
      const t0 = performance.now();
      service.beforeStart(x.c, withX);
      const t1 = performance.now();
      await service.sync(started);
      const t2 = performance.now();
      syncAll.push(service.lastSync.ms);
      syncApply.push(service.lastSync.applyMs);
      await service.sync(grown);
      const t3 = performance.now();
      allocate.push(t1 - t0);
      publish.push(t2 - t0);
      unpublish.push(t3 - t2);
    }
    // For comparison, in separate loops (another process' commit makes nft -i refetch its cache,
    // which would blur the numbers above): the same element through the session alone…
    for (let k = 0; k < samples; k++) {
      const t6 = performance.now();
      await session.apply(`add element inet berth pub4any { tcp . ${62_000 + k} : 172.17.250.1 . 80 }`);
      sessionAdd.push(performance.now() - t6);
      await session.apply(`delete element inet berth pub4any { tcp . ${62_000 + k} }`);
    }
    // …through one `nft -f -` exec each…
    for (let k = 0; k < samples; k++) {
      const t5 = performance.now();
      await exec.apply(`add element inet berth pub4any { tcp . ${61_000 + k} : 172.17.250.1 . 80 }\n`);
      execAdd.push(performance.now() - t5);
      await exec.apply(`delete element inet berth pub4any { tcp . ${61_000 + k} }\n`);
    }
    // …and what rendering the whole model and diffing it would cost (the tracker avoids it).
    const published = new Map(members.map((m) => [m.c.id, service.publishedPorts(m.c.id) ?? []]));
    const base = renderRuleset(firewallStateOf(grown, published));
    for (let k = 0; k < Math.min(samples, 10); k++) {
      const x = member(63_000 + k, 63_000 + k);
      const t4 = performance.now();
      const more = new Map(published).set(x.c.id, [{ containerPort: 80, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 63_000 + k }]);
      renderElementChanges(base, renderRuleset(firewallStateOf(snapshotOf([...members, x]), more)));
      pure.push(performance.now() - t4);
    }
    // Start-up at N: a new service replaces both tables with everything in one transaction.
    const fresh = new FirewallService({ kernel, nft: session, records: new MemoryPortRecords(), log: silentLogger, netns: path });
    for (const m of members) fresh.beforeStart(m.c, grown);
    const tr = performance.now();
    await fresh.sync(grown);
    const replaceMs = performance.now() - tr;
    // The same replace through one `nft -f -` exec.
    const script = renderReplace(fresh.ruleset);
    const te = performance.now();
    await exec.apply(script);
    const replaceExecMs = performance.now() - te;
    // The kernel agrees: N elements in the map.
    const listed = JSON.parse(sh('nsenter', [`--net=${path}`, 'nft', '-j', 'list', 'map', 'inet', 'berth', 'pub4any'])) as {
      nftables: { map?: { elem?: unknown[] } }[];
    };
    const inKernel = listed.nftables.find((o) => o.map !== undefined)?.map?.elem?.length ?? 0;
    out.push({
      n,
      elementsInKernel: inKernel,
      publishNextPortMs: stats(publish),
      unpublishMs: stats(unpublish),
      allocateMs: stats(allocate),
      syncMs: stats(syncAll),
      syncApplyMs: stats(syncApply),
      sameElementBySessionMs: stats(sessionAdd),
      sameElementByNftExecMs: stats(execAdd),
      fullRenderAndDiffMs: stats(pure),
      bulkAddToReachNMs: round(bulkMs),
      replaceTablesAtNMs: round(replaceMs),
      replaceTablesAtNByNftExecMs: round(replaceExecMs),
    });
  }
  return { applier: session.kind, series: out };
}

/** iperf3 from `client` to `target:port`, the server in `serverNs`; Gbit/s received. */
async function iperf(serverNs: string, clientNs: string, target: string, port: number, serverPort: number, seconds: number): Promise<number> {
  const server = spawn('nsenter', [`--net=/run/netns/${serverNs}`, 'iperf3', '-s', '-1', '-p', String(serverPort)], { stdio: 'ignore' });
  children.push(server);
  await new Promise((r) => setTimeout(r, 400));
  const json = sh('nsenter', [`--net=/run/netns/${clientNs}`, 'iperf3', '-c', target, '-p', String(port), '-t', String(seconds), '-J']);
  server.kill('SIGKILL');
  const r = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } } };
  return round((r.end?.sum_received?.bits_per_second ?? NaN) / 1e9);
}

async function throughput(seconds: number) {
  const host = netnsAdd('berth-bfw-h');
  const ctr = netnsAdd('berth-bfw-c');
  const outside = netnsAdd('berth-bfw-o');
  const ipH = (...a: string[]) => sh('ip', ['-n', host, ...a]);
  ipH('link', 'add', 'berth0', 'type', 'bridge');
  ipH('addr', 'add', '172.17.0.1/16', 'dev', 'berth0');
  ipH('link', 'set', 'berth0', 'up');
  ipH('link', 'add', 'vb0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ctr);
  ipH('link', 'set', 'vb0', 'master', 'berth0', 'up');
  sh('ip', ['-n', ctr, 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']);
  sh('ip', ['-n', ctr, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', ctr, 'route', 'add', 'default', 'via', '172.17.0.1']);
  ipH('link', 'add', 'vo0', 'type', 'veth', 'peer', 'name', 'vo1', 'netns', outside);
  ipH('addr', 'add', '10.251.0.1/24', 'dev', 'vo0');
  ipH('link', 'set', 'vo0', 'up');
  sh('ip', ['-n', outside, 'addr', 'add', '10.251.0.2/24', 'dev', 'vo1']);
  sh('ip', ['-n', outside, 'link', 'set', 'vo1', 'up']);
  sh('ip', ['-n', outside, 'route', 'add', 'default', 'via', '10.251.0.1']);
  sh('nsenter', [`--net=/run/netns/${host}`, 'sysctl', '-q', 'net.ipv4.ip_forward=1']);
  // 1. Routed straight to the container's address, no firewall at all.
  const direct = await iperf(ctr, outside, '172.17.0.2', 5201, 5201, seconds);
  // 2. Through a published port 15201 → 5201, with berth's tables in the host netns.
  const path = `/run/netns/${host}`;
  const kernel = new NetlinkKernel();
  const session = new NftSession({ netns: path });
  closers.push(() => session.close(), () => kernel.release());
  const service = new FirewallService({ kernel, nft: session, records: new MemoryPortRecords(), log: silentLogger, netns: path });
  const m = member(0, 15201);
  const c: Container = { ...m.c, hostConfig: { ...m.c.hostConfig, portBindings: { '5201/tcp': [{ hostIp: '', hostPort: '15201' }] } } };
  const snap = snapshotOf([{ c, e: m.e }]);
  service.beforeStart(c, snap);
  await service.sync(snap);
  const published = await iperf(ctr, outside, '10.251.0.1', 15201, 5201, seconds);
  return { seconds, directGbps: direct, publishedGbps: published, publishedOverDirect: round(published / direct) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scales: { type: 'string', default: '10,100,1000,10000' },
      samples: { type: 'string', default: '25' },
      'iperf-seconds': { type: 'string', default: '3' },
    },
  });
  const report: Record<string, unknown> = {
    bench: 'firewall-ports',
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, kernel: os.release(), node: process.version, loadavg: os.loadavg().map(round) },
  };
  if (process.getuid?.() !== 0) {
    report['skipped'] = 'needs root: network namespaces and nftables';
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  try {
    const scales = (values.scales ?? '').split(',').map(Number).filter((n) => n > 0 && n <= 50_000).sort((a, b) => a - b);
    report['publish'] = await publishSeries(netnsAdd('berth-bfw-p'), scales, Number(values.samples));
    try {
      sh('iperf3', ['--version']);
    } catch (err) {
      report['throughput'] = { skipped: `iperf3 is not installed: ${(err as Error).message.split('\n')[0]}` };
    }
    report['throughput'] ??= await throughput(Number(values['iperf-seconds']));
  } catch (err) {
    report['error'] = (err as Error).message;
    process.exitCode = 1;
  } finally {
    cleanup();
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}

main().catch((err) => {
  cleanup();
  process.stderr.write(`bench/ports: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
