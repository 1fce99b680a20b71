/**
 * Embedded DNS throughput and latency: A queries for a container name against berth's resolver
 * (127.0.0.11:53 inside a container's netns), with 1 and with 16 queries in flight. Prints one
 * JSON object; asserts nothing about time.
 *
 * Setup, all inside a throwaway "host" netns (test/helpers/host.ts): a real berthd, a
 * user-defined network, two busybox containers. The load generator is this process: its UDP
 * socket is created inside the first container's netns by the native addon (as the daemon's
 * own sockets are), so queries take the path a container process's queries take, and the
 * generator and berthd are separate processes, as in the peers' runs (dnsload.py).
 *
 * Usage (root): node dist/bench/dns.js [--seconds N] [--inflight 1,16]
 * Or import `benchDns` (it prints nothing; the script prints its result as JSON).
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadNative } from '../src/kernel/native.js';
import { isRoot, TestHost } from '../test/helpers/host.js';

/** One load level. */
export interface PhaseResult {
  readonly inflight: number;
  readonly queries: number;
  readonly answered: number;
  /** Answers that were not NOERROR with at least one record. */
  readonly badAnswers: number;
  /** Queries without an answer within 1 s (re-sent). */
  readonly lost: number;
  readonly seconds: number;
  readonly qps: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** berthd CPU time (user + system) per answered query: the server's share, whatever the client costs. */
  readonly serverCpuUsPerQuery: number | undefined;
  /** berthd CPU use over the phase, 1.0 = one core busy. */
  readonly serverCpuCores: number | undefined;
}

const LOSS_TIMEOUT_MS = 1000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** An A query for `name` with ID 0 (the ID is patched per send). */
function encodeQuery(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  return Buffer.concat([Buffer.from([0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Keeps `inflight` queries outstanding for `seconds`; every answer's latency is recorded. */
function runPhase(sock: dgram.Socket, query: Buffer, inflight: number, seconds: number, serverPid: number | undefined): Promise<PhaseResult> {
  return new Promise((resolve) => {
    const cpu0 = cpuUs(serverPid);
    // Per-ID send times (NaN = not outstanding) and one query buffer per ID: the generator
    // should cost as little as possible next to the server it measures.
    const sentAt = new Float64Array(0x10000).fill(NaN);
    const buffers: Buffer[] = [];
    let outstanding = 0;
    const lat: number[] = [];
    let nextId = 1;
    let queries = 0;
    let bad = 0;
    let lost = 0;
    let stopping = false;
    const start = performance.now();
    const send = (): void => {
      const id = nextId;
      nextId = (nextId % 0xffff) + 1;
      let q = buffers[id];
      if (q === undefined) {
        q = Buffer.from(query);
        q.writeUInt16BE(id, 0);
        buffers[id] = q;
      }
      sentAt[id] = performance.now();
      outstanding++;
      queries++;
      sock.send(q);
    };
    const onMessage = (msg: Buffer): void => {
      const now = performance.now();
      const id = msg.readUInt16BE(0);
      const t0 = sentAt[id] as number;
      if (Number.isNaN(t0)) return;
      sentAt[id] = NaN;
      outstanding--;
      lat.push(now - t0);
      if ((msg.readUInt16BE(2) & 0xf) !== 0 || msg.readUInt16BE(6) === 0) bad++;
      if (!stopping) send();
      else if (outstanding === 0) finish();
    };
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (let id = 1; id < sentAt.length; id++) {
        const t0 = sentAt[id] as number;
        if (!Number.isNaN(t0) && now - t0 > LOSS_TIMEOUT_MS) {
          sentAt[id] = NaN;
          outstanding--;
          lost++;
          if (!stopping) send();
        }
      }
      if (stopping && outstanding === 0) finish();
    }, 100);
    const stopTimer = setTimeout(() => {
      stopping = true;
    }, seconds * 1000);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      const elapsed = (performance.now() - start) / 1000;
      clearInterval(sweeper);
      clearTimeout(stopTimer);
      sock.off('message', onMessage);
      const sorted = Float64Array.from(lat).sort();
      const us = (ms: number): number => Math.round(ms * 1000);
      const cpu1 = cpuUs(serverPid);
      const serverCpu = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
      resolve({
        inflight,
        queries,
        answered: lat.length,
        badAnswers: bad,
        lost,
        seconds: Number(elapsed.toFixed(3)),
        qps: Math.round(lat.length / elapsed),
        p50Us: us(percentile(sorted, 0.5)),
        p90Us: us(percentile(sorted, 0.9)),
        p99Us: us(percentile(sorted, 0.99)),
        maxUs: us(sorted[sorted.length - 1] ?? NaN),
        serverCpuUsPerQuery: serverCpu === undefined ? undefined : Number((serverCpu / Math.max(1, lat.length)).toFixed(2)),
        serverCpuCores: serverCpu === undefined ? undefined : Number((serverCpu / 1e6 / elapsed).toFixed(2)),
      });
    };
    sock.on('message', onMessage);
    for (let i = 0; i < inflight; i++) send();
  });
}

/** User + system CPU time of a process in µs (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

function rssKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * The berthd process: TestHost's child is `nsenter`, which execs node in place (same pid); if
 * it ever forks instead, take its only child.
 */
function berthdPid(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berthd')) return pid;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    return children.length === 1 && children[0] !== '' ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** What benchDns measured. */
export interface DnsBenchResult {
  readonly bench: 'dns';
  readonly target: string;
  readonly name: string;
  readonly berthdRssKb: { readonly before: number | undefined; readonly after: number | undefined };
  readonly results: readonly PhaseResult[];
}

/**
 * Runs the measurement (root only): a throwaway host netns with berthd, a network, two
 * containers; `seconds` of load per entry of `inflight`. Leaves nothing behind.
 */
export async function benchDns(opts: { seconds?: number; inflight?: readonly number[] } = {}): Promise<DnsBenchResult> {
  const seconds = opts.seconds ?? 3;
  const phases = opts.inflight ?? [1, 16];
  // No upstream is ever asked (the name is a container's), but point forwarding at a dead
  // loopback address anyway so nothing could leave the test netns.
  const host = await TestHost.start('berth-bench-dns', ['--dns', '127.0.0.1']);
  let client: dgram.Socket | undefined;
  try {
    const api = async (method: string, path: string, body?: unknown): Promise<any> => {
      const r = await host.request(method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
      return r.body;
    };
    await api('POST', '/networks/create', { Name: 'benchnet', Driver: 'bridge' });
    const ids: string[] = [];
    for (const name of ['dns1', 'dns2']) {
      const c = await api('POST', `/containers/create?name=${name}`, {
        Image: 'busybox',
        Cmd: ['sleep', '100000'],
        HostConfig: { NetworkMode: 'benchnet' },
      });
      await api('POST', `/containers/${c.Id}/start`);
      ids.push(c.Id as string);
    }
    const inspect = await api('GET', `/containers/${ids[0]}/json`);
    const sandboxKey = inspect.NetworkSettings.SandboxKey as string;

    const fd = loadNative().socketInNetns(sandboxKey, 'udp', '127.0.0.1', 0);
    const sock = dgram.createSocket('udp4');
    client = sock;
    sock.bind({ fd });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(53, '127.0.0.11', () => resolve());
    });
    const query = encodeQuery('dns2');
    const daemonPid = berthdPid(host.pid);
    const rssBefore = rssKb(daemonPid);
    await runPhase(sock, query, 16, 1, undefined); // warm-up: JIT, caches
    const results: PhaseResult[] = [];
    for (const n of phases) results.push(await runPhase(sock, query, n, seconds, daemonPid));
    return {
      bench: 'dns',
      target: 'berth embedded DNS, A query for a container name, UDP, from a container netns',
      name: 'dns2',
      berthdRssKb: { before: rssBefore, after: rssKb(daemonPid) },
      results,
    };
  } finally {
    client?.close();
    await host.cleanup();
  }
}

async function main(): Promise<void> {
  if (!isRoot()) {
    process.stdout.write(`${JSON.stringify({ bench: 'dns', skipped: 'needs root (netns, berthd, runc)' })}\n`);
    return;
  }
  const result = await benchDns({
    seconds: Number(arg('--seconds', '3')),
    inflight: arg('--inflight', '1,16').split(',').map(Number),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
