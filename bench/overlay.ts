/**
 * `npm run bench:overlay`: what an overlay network costs against a bridge network, on two berth
 * hosts joined by a veth underlay with etcd beside it (TestCluster of test/helpers/cluster.ts):
 *
 *   (a) latency: 50 pings 10 ms apart, container to container, overlay across the two hosts vs
 *       a bridge network on one host (avg and p50 of the per-packet RTTs);
 *   (b) TCP throughput: iperf3, one stream, 3 s, run in the containers' netns (nsenter), same
 *       two paths;
 *   (c) how soon a new container on h2 answers a container on h1: pings every 20 ms from h1's
 *       container netns, started as soon as `berth run -d` returned and the API's inspect gave
 *       the address;
 *       time from `run -d` returning and from its start, median of 5; and when h1's FDB entry
 *       for it appeared (`bridge monitor fdb` in h1's netns). The probing container keeps the
 *       kernel's ARP timers: a probe sent before h1 knew the endpoint would show as a ~1 s
 *       wait (the unanswered ARP is retried after 1 s), which is what a user would see.
 *
 * A standalone script (not a part of `npm run bench`): prints one table. Needs root and etcd.
 * Never asserts a time; a part that fails shows n/a with the reason. Everything is in
 * namespaces named bench-ov-*, removed at the end, on failure and on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { berthAsync, TestCluster } from '../test/helpers/cluster.js';
import { etcdAvailable } from '../test/helpers/etcd.js';
import type { TestHost } from '../test/helpers/host.js';
import { iperf } from './iperf.js';
import { median, percentile } from './stats.js';
import { exec, execOk, lastLines, nowMs, onCleanup, progress, runAllCleanups, sleep, stopActiveChildren } from './util.js';

const PINGS = 50;
const IPERF_SECONDS = 3;
const ROUNDS = 5;
/** Bound of one reachability probe. */
const REACH_TIMEOUT_MS = 15_000;

interface Ctr {
  readonly name: string;
  readonly ip: string;
  readonly sandbox: string;
}

type Cell = { readonly value: string } | { readonly na: string };

const rows: { what: string; overlay: Cell; bridge: Cell }[] = [];

async function berthOk(host: TestHost, args: readonly string[]): Promise<string> {
  const r = await berthAsync(host, args);
  if (r.status !== 0) throw new Error(`berth ${args.join(' ')}: ${lastLines(r.stderr || r.stdout, 3)}`);
  return r.stdout;
}

async function runCtr(host: TestHost, network: string, name: string): Promise<Ctr> {
  await berthOk(host, ['run', '-d', '--network', network, '--name', name, 'busybox', 'sleep', '3600']);
  return inspectCtr(host, name);
}

async function inspectCtr(host: TestHost, name: string): Promise<Ctr> {
  const out = (await berthOk(host, ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{.NetworkSettings.SandboxKey}}', name])).trim();
  const [ip = '', sandbox = ''] = out.split(' ');
  if (ip === '' || sandbox === '') throw new Error(`inspect ${name}: no address or sandbox: ${out}`);
  return { name, ip, sandbox };
}

/** One ping from `from`'s netns until a reply, bounded. */
async function waitReachable(from: Ctr, to: string, timeoutMs: number): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    const r = await exec('nsenter', [`--net=${from.sandbox}`, 'ping', '-n', '-c', '1', '-W', '1', to], { timeoutMs: 5_000 });
    if (r.code === 0) return;
    await sleep(100);
  }
  throw new Error(`${from.name} does not reach ${to} within ${timeoutMs} ms`);
}

/** (a) RTT samples (ms) of PINGS pings 10 ms apart from `from`'s netns. */
async function latency(from: Ctr, to: Ctr): Promise<Cell[]> {
  await waitReachable(from, to.ip, 15_000);
  const out = await execOk('nsenter', [`--net=${from.sandbox}`, 'ping', '-n', '-c', String(PINGS), '-i', '0.01', '-W', '1', to.ip], { timeoutMs: 30_000 });
  const samples = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (samples.length === 0) throw new Error(`no replies: ${lastLines(out, 2)}`);
  const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
  const lost = PINGS - samples.length;
  return [
    { value: `${avg.toFixed(3)} ms${lost > 0 ? ` (${lost} lost)` : ''}` },
    { value: `${median(samples).toFixed(3)} ms` },
    { value: `${percentile(samples, 0.9).toFixed(3)} ms` },
  ];
}

/**
 * (c) Pings `ip` from `from`'s netns every 20 ms (one iputils ping without -c/-w, which keeps
 * going through unreachable errors) and resolves at the first reply line: ms since `t0`.
 */
function firstReply(from: Ctr, ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${from.sandbox}`, 'ping', '-n', '-i', '0.02', ip], { stdio: ['ignore', 'pipe', 'ignore'] });
    let done = false;
    let buf = '';
    const finish = (err: Error | undefined, at: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err === undefined) resolve(at);
      else reject(err);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from ${ip} within ${REACH_TIMEOUT_MS} ms`), 0), REACH_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      if (/bytes from/.test(buf)) finish(undefined, nowMs());
    });
    child.on('error', (err) => finish(err, 0));
    child.on('exit', (code) => finish(new Error(`ping exited ${code} before a reply`), 0));
  });
}

/**
 * Watches `bridge monitor fdb` in a host netns and notes when each MAC's entry on a VXLAN link
 * first appears (nowMs when the line is read; the pipe adds well under a millisecond).
 */
function watchFdb(netnsPath: string): { seen: Map<string, number>; stop: () => void } {
  const seen = new Map<string, number>();
  const child = spawn('nsenter', [`--net=${netnsPath}`, 'bridge', 'monitor', 'fdb'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    const at = nowMs();
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^([0-9a-f:]{17}) dev vx-\S+ dst /.exec(l);
      if (m !== null && !seen.has(m[1] as string)) seen.set(m[1] as string, at);
    }
  });
  const stop = onCleanup('bridge monitor fdb', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { seen, stop: () => void stop() };
}

interface Reach {
  /** First reply, ms after `run -d` returned / after it started. */
  readonly afterRun: number[];
  readonly fromStart: number[];
  /** The new endpoint's FDB entry on the probing host, ms after `run -d` returned / started. */
  readonly fdbAfterRun: number[];
  readonly fdbFromStart: number[];
}

/** (c) ROUNDS new containers on `host`, each timed until `probe` (on `probeHost`) gets a reply. */
async function reachability(host: TestHost, network: string, probeHost: TestHost, probe: Ctr): Promise<Reach> {
  const out: Reach = { afterRun: [], fromStart: [], fdbAfterRun: [], fdbFromStart: [] };
  const fdb = watchFdb(probeHost.netnsPath);
  try {
    await sleep(200); // the monitor subscribes
    for (let k = 1; k <= ROUNDS; k++) {
      const name = `r${k}`;
      const t0 = nowMs();
      await berthOk(host, ['run', '-d', '--network', network, '--name', name, 'busybox', 'sleep', '3600']);
      const t1 = nowMs();
      // The address through the API (a few ms), not the CLI (~130 ms of node start-up).
      const r = await host.request('GET', `/containers/${name}/json`);
      const net = Object.values((r.body?.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string; MacAddress?: string }>)[0];
      const ip = net?.IPAddress ?? '';
      if (r.status !== 200 || ip === '') throw new Error(`inspect ${name}: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
      const t2 = await firstReply(probe, ip);
      out.afterRun.push(t2 - t1);
      out.fromStart.push(t2 - t0);
      const tf = fdb.seen.get(net?.MacAddress ?? '');
      if (tf !== undefined) {
        out.fdbAfterRun.push(tf - t1);
        out.fdbFromStart.push(tf - t0);
      }
      progress(`  ${name} ${ip}: run -d took ${(t1 - t0).toFixed(0)} ms; first reply ${(t2 - t1).toFixed(0)} ms after it returned; ` +
        `FDB entry on h1 ${tf === undefined ? 'not seen' : `${(tf - t1).toFixed(0)} ms`} after it returned`);
    }
  } finally {
    fdb.stop();
  }
  return out;
}

function na(err: unknown): Cell {
  return { na: (err as Error).message.split('\n')[0]?.slice(0, 120) ?? 'failed' };
}

async function part(what: string[], fn: () => Promise<{ overlay: Cell[]; bridge: Cell[] }>): Promise<void> {
  try {
    const r = await fn();
    what.forEach((w, i) => rows.push({ what: w, overlay: r.overlay[i] ?? { na: '-' }, bridge: r.bridge[i] ?? { na: '-' } }));
  } catch (err) {
    progress(`${what[0]}: ${(err as Error).message}`);
    for (const w of what) rows.push({ what: w, overlay: na(err), bridge: na(err) });
  }
}

/** One side of a part that may fail alone. */
async function side(fn: () => Promise<Cell[]>, n: number): Promise<Cell[]> {
  try {
    return await fn();
  } catch (err) {
    progress(`  ${(err as Error).message}`);
    return Array.from({ length: n }, () => na(err));
  }
}

function text(c: Cell): string {
  return 'value' in c ? c.value : `n/a (${c.na})`;
}

function printTable(): void {
  const head = ['', 'overlay, 2 hosts', 'bridge, 1 host'];
  const body = rows.map((r) => [r.what, text(r.overlay), text(r.bridge)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench:overlay: needs root (network namespaces, berthd, runc)');
    return 1;
  }
  if (!etcdAvailable()) {
    console.error('bench:overlay: needs /usr/bin/etcd (Debian etcd-server; scripts/setup.sh installs it)');
    return 1;
  }
  let cluster: TestCluster | undefined;
  let stopping = false;
  const interrupt = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    progress('interrupted: cleaning up');
    await stopActiveChildren();
    await runAllCleanups();
    await cluster?.cleanup();
    process.exit(130);
  };
  process.once('SIGINT', () => void interrupt());
  process.once('SIGTERM', () => void interrupt());

  try {
    progress('starting 2 berth hosts, an underlay and etcd');
    cluster = await TestCluster.start(2, { prefix: 'bench-ov' });
    const [h1, h2] = cluster.hosts as [TestHost, TestHost];
    await berthOk(h1, ['network', 'create', '-d', 'overlay', 'bov']);
    const deadline = nowMs() + 10_000;
    while ((await berthAsync(h2, ['network', 'inspect', 'bov'])).status !== 0) {
      if (nowMs() > deadline) throw new Error('the overlay network did not reach h2 in 10 s');
      await sleep(100);
    }
    await berthOk(h1, ['network', 'create', 'bbr']);
    const [o1, o2, b1, b2] = await Promise.all([runCtr(h1, 'bov', 'o1'), runCtr(h2, 'bov', 'o2'), runCtr(h1, 'bbr', 'b1'), runCtr(h1, 'bbr', 'b2')]);
    progress(`overlay o1 ${o1.ip} (h1) → o2 ${o2.ip} (h2); bridge b1 ${b1.ip} → b2 ${b2.ip} (h1)`);

    progress(`(a) ping ×${PINGS}, 10 ms apart`);
    await part([`ping RTT avg (${PINGS} × 10 ms)`, 'ping RTT p50', 'ping RTT p90'], async () => ({
      overlay: await side(() => latency(o1, o2), 3),
      bridge: await side(() => latency(b1, b2), 3),
    }));

    progress(`(b) iperf3, ${IPERF_SECONDS} s`);
    const tcp = async (from: Ctr, to: Ctr): Promise<Cell[]> => {
      const r = await iperf({ serverNs: to.sandbox, clientNs: from.sandbox, target: to.ip, port: 5201, listenPort: 5201, seconds: IPERF_SECONDS });
      return [{ value: `${r.gbps.toFixed(2)} Gbit/s` }];
    };
    await part([`TCP throughput (iperf3, 1 stream, ${IPERF_SECONDS} s)`], async () => ({
      overlay: await side(() => tcp(o1, o2), 1),
      bridge: await side(() => tcp(b1, b2), 1),
    }));

    progress(`(c) new container on h2 reachable from o1 on h1, ${ROUNDS} rounds`);
    const noBridge: Cell = { na: 'one host' };
    const ms = (xs: number[]): Cell => (xs.length === 0 ? { na: 'not seen' } : { value: `${median(xs).toFixed(0)} ms` });
    await part([
      `new endpoint on h2 answers h1: after run -d returned (median of ${ROUNDS})`,
      '… after run -d started',
      "its FDB entry appears on h1: after run -d returned (− = before)",
      '… after run -d started',
    ], async () => ({
      overlay: await side(async () => {
        const r = await reachability(h2, 'bov', h1, o1);
        return [ms(r.afterRun), ms(r.fromStart), ms(r.fdbAfterRun), ms(r.fdbFromStart)];
      }, 4),
      bridge: [noBridge, noBridge, noBridge, noBridge],
    }));
  } catch (err) {
    progress(`failed: ${(err as Error).message}`);
    if (cluster !== undefined) process.stderr.write(`${cluster.logsTail(30)}\n`);
    return 1;
  } finally {
    progress('cleaning up');
    await runAllCleanups();
    await cluster?.cleanup();
  }
  console.log(`\nberth overlay vs bridge — ${new Date().toISOString().slice(0, 10)}, kernel ${os.release()}, ${os.availableParallelism()} CPUs, node ${process.version}`);
  console.log('(2 hosts = 2 network namespaces on this machine joined by veths on a bridge: the underlay costs no wire time)\n');
  printTable();
  return 0;
}

process.exitCode = await main();
