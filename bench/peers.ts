/**
 * The other side of the table: the CNI reference plugins, netavark (+ aardvark-dns) and Docker,
 * run on this machine in the same run, inside `peer-*` network namespaces, by the scripts in
 * shared/peers/ (as they are: docker-up.sh, docker-down.sh, bench-netavark.sh for aardvark-dns,
 * bench-docker-dns.sh; adapted for scale in bench/peer-scripts/). Their raw files land in a temp
 * RES directory, copied next to the results.
 *
 * Docker's API figures are taken with the same HTTP client berth's are (unixRequest), against
 * the peer dockerd's socket, so the two sides of a ratio differ only by the daemon.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { iperf } from './iperf.js';
import type { Cell, Results, System } from './model.js';
import { median, parseSamples, summarize } from './stats.js';
import {
  PEERS_DIR,
  REPO,
  alive,
  exec,
  haveCommand,
  lastLines,
  netnsList,
  nowMs,
  onCleanup,
  pidsOf,
  progress,
  rssKb,
  sleep,
  unixRequest,
  type ExecResult,
} from './util.js';

const SCRIPTS = path.join(REPO, 'bench/peer-scripts');
const KB_PER_MB = 1024;

// ----------------------------------------------------------------------------------------------
// Packages

/** What the peers (and their scripts) need, as Debian packages. */
export const PEER_PACKAGES = [
  'containernetworking-plugins',
  'netavark',
  'aardvark-dns',
  'iperf3',
  'bind9-dnsutils',
  'conntrack',
  'docker.io',
  // used by the shared scripts: iptables-save, jq for the CNI portmap config, busybox for the
  // docker image, python3 for dnsload.py and stats.py
  'iptables',
  'jq',
  'busybox-static',
  'python3',
] as const;

export interface PackageState {
  readonly installed: Record<string, string | undefined>;
  /** Why packages are still missing (apt failed), if they are. */
  readonly error?: string;
}

async function dpkgVersion(pkg: string): Promise<string | undefined> {
  const r = await exec('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg], { timeoutMs: 20_000 });
  if (r.code !== 0) return undefined;
  const [status = '', version] = r.stdout.split('\t');
  return status.includes('install ok installed') ? version : undefined;
}

/**
 * Installs the missing peer packages: dpkg first, `apt-get update` once only when something is
 * missing. While installing, a policy-rc.d that refuses service starts is put in place when the
 * machine has none, so docker.io's postinst never starts a dockerd in the root netns.
 */
export async function ensurePeerPackages(): Promise<PackageState> {
  const installed: Record<string, string | undefined> = {};
  for (const p of PEER_PACKAGES) installed[p] = await dpkgVersion(p);
  const missing = PEER_PACKAGES.filter((p) => installed[p] === undefined);
  if (missing.length === 0) return { installed };
  progress(`installing peer packages: ${missing.join(' ')}`);
  const policy = '/usr/sbin/policy-rc.d';
  const madePolicy = !fs.existsSync(policy);
  if (madePolicy) fs.writeFileSync(policy, '#!/bin/sh\n# berth bench: no service starts during the peer install\nexit 101\n', { mode: 0o755 });
  let error: string | undefined;
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const up = await exec('apt-get', ['update', '-qq'], { env, timeoutMs: 10 * 60_000 });
    if (up.code !== 0) error = `apt-get update failed: ${lastLines(up.stderr, 2)}`;
    const inst = await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, timeoutMs: 20 * 60_000 });
    if (inst.code !== 0) error = `apt-get install failed: ${lastLines(inst.stderr, 3)}`;
  } finally {
    if (madePolicy) fs.rmSync(policy, { force: true });
  }
  for (const p of missing) installed[p] = await dpkgVersion(p);
  const still = missing.filter((p) => installed[p] === undefined);
  return still.length === 0 ? { installed } : { installed, error: error ?? `still missing: ${still.join(' ')}` };
}

function missingReason(pkgs: PackageState, names: readonly string[]): string | undefined {
  const missing = names.filter((n) => pkgs.installed[n] === undefined);
  if (missing.length === 0) return undefined;
  return `not installed (${missing.join(', ')})${pkgs.error === undefined ? '' : `: ${pkgs.error}`}`;
}

// ----------------------------------------------------------------------------------------------
// Running scripts

async function runScript(script: string, env: Record<string, string>, timeoutMs: number, resDir: string): Promise<ExecResult> {
  const r = await exec('bash', [script], {
    env: { ...process.env, RES: resDir, PEERS_BENCH: path.join(PEERS_DIR, 'bench'), ...env },
    timeoutMs,
  });
  const base = path.basename(script, '.sh');
  fs.writeFileSync(path.join(resDir, `${base}.stdout.txt`), r.stdout);
  fs.writeFileSync(path.join(resDir, `${base}.stderr.txt`), r.stderr);
  return r;
}

function readMs(resDir: string, file: string): number[] {
  try {
    return parseSamples(fs.readFileSync(path.join(resDir, file), 'utf8'));
  } catch {
    return [];
  }
}

/** Deletes leftover namespaces matching `re` (a script killed by its time limit has no trap). */
async function dropNetns(re: RegExp): Promise<void> {
  for (const ns of netnsList()) if (re.test(ns)) await exec('ip', ['netns', 'del', ns], { timeoutMs: 30_000 });
}

/**
 * Fills setup/teardown rows of one peer from a single-round file pair and a batch file pair:
 * level 1 from the single rounds; level s from the first s batch setups and the last s batch
 * teardowns (the network then holds at most s containers), as for berth.
 */
function fillScaled(results: Results, system: System, scales: readonly number[], single: [number[], number[]], batch: [number[], number[]]): void {
  for (const s of scales) {
    if (s === 1) {
      results.setSamples('setup.1', system, single[0]);
      results.setSamples('teardown.1', system, single[1]);
    } else if (batch[0].length >= s && batch[1].length >= s) {
      results.setSamples(`setup.${s}`, system, batch[0].slice(0, s));
      results.setSamples(`teardown.${s}`, system, batch[1].slice(batch[1].length - s));
    } else {
      results.set(`setup.${s}`, system, { na: `batch reached ${batch[0].length}` });
      results.set(`teardown.${s}`, system, { na: `batch reached ${batch[0].length}` });
    }
  }
}

function failures(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/failures: (\d+)/g)) n += Number(m[1]);
  return n;
}

// ----------------------------------------------------------------------------------------------
// CNI

export async function benchCni(
  results: Results,
  pkgs: PackageState,
  opts: { rounds: number; batch: number; scales: readonly number[]; portmapMax: number; resDir: string },
): Promise<void> {
  const why = missingReason(pkgs, ['containernetworking-plugins', 'jq', 'iptables']);
  if (why !== undefined) {
    results.naAll('setup.', 'cni', why);
    results.naAll('teardown.', 'cni', why);
    results.naAll('ports.', 'cni', why);
    return;
  }
  progress(`CNI: ${opts.rounds} single rounds, batch of ${opts.batch} (portmap on the first ${Math.min(opts.portmapMax, opts.batch)})`);
  const undo = onCleanup('CNI namespaces', () => dropNetns(/^peer-bcni(s?\d+|host)$/));
  let r: ExecResult;
  try {
    r = await runScript(
      path.join(SCRIPTS, 'cni-scale.sh'),
      { N: String(opts.batch), ROUNDS: String(opts.rounds), PORTMAP_MAX: String(opts.portmapMax) },
      40 * 60_000,
      opts.resDir,
    );
  } finally {
    await undo();
  }
  const summary = r.stdout;
  results.raw['cni.summary'] = summary;
  const single: [number[], number[]] = [readMs(opts.resDir, 'cni-single-add.ms'), readMs(opts.resDir, 'cni-single-del.ms')];
  const batch: [number[], number[]] = [readMs(opts.resDir, 'cni-add.ms'), readMs(opts.resDir, 'cni-del.ms')];
  if (r.code !== 0) results.note(`CNI script exited ${r.code ?? r.signal}${r.timedOut ? ' (time limit)' : ''}: ${lastLines(r.stderr, 3)}`);
  const fails = failures(summary);
  if (fails > 0) results.note(`CNI: ${fails} plugin calls failed (see cni-scale.stderr.txt); their times are still counted`);
  fillScaled(results, 'cni', opts.scales, single, batch);
  // Publishing the N-th port: the portmap ADD of the N-th container (N-1 mappings exist).
  const pm = readMs(opts.resDir, 'cni-portmap-add.ms');
  for (const n of [10, 100, 1000, 10000]) {
    if (pm.length >= n) {
      // the N-th port, and its neighbours for a less noisy figure (N-2 … N+2 where they exist)
      const window = pm.slice(Math.max(0, n - 3), Math.min(pm.length, n + 2));
      results.setSamples(`ports.next.${n}`, 'cni', window, `portmap ADD #${n - 2}…#${Math.min(pm.length, n + 2)}`);
    } else {
      results.set(`ports.next.${n}`, 'cni', { na: pm.length === 0 ? 'portmap not run' : `portmap run for the first ${pm.length} containers only (time budget)` });
    }
  }
  results.set('mem.idle', 'cni', { na: 'no daemon: a plugin process per call' });
}

// ----------------------------------------------------------------------------------------------
// netavark + aardvark-dns

/** Parses dnsload.py's line. */
export function parseDnsload(line: string): { conc: number; qps: number; p50: number; p99: number; ok: number; sent: number } | undefined {
  const m = /sent=(\d+) answered_ok=(\d+).*conc=(\d+).* rate=(\d+) qps lat_median=([\d.]+)ms p90=[\d.]+ms p99=([\d.]+)ms/.exec(line);
  if (m === null) return undefined;
  return { sent: Number(m[1]), ok: Number(m[2]), conc: Number(m[3]), qps: Number(m[4]), p50: Number(m[5]), p99: Number(m[6]) };
}

function fillDns(results: Results, system: System, text: string, note: string): void {
  const found = new Set<number>();
  for (const line of text.split('\n')) {
    const d = parseDnsload(line);
    if (d === undefined || (d.conc !== 1 && d.conc !== 16)) continue;
    found.add(d.conc);
    const extra = d.ok < d.sent ? `, ${d.sent - d.ok} of ${d.sent} not answered ok` : '';
    results.set(`dns.c${d.conc}.qps`, system, { value: d.qps, note: `${note}${extra}` });
    results.set(`dns.c${d.conc}.p50`, system, { value: d.p50, note });
    results.set(`dns.c${d.conc}.p99`, system, { value: d.p99, note });
  }
  if (found.size === 0) results.naAll('dns.', system, `no dnsload result: ${lastLines(text, 2).slice(0, 120)}`);
}

export async function benchNetavark(
  results: Results,
  pkgs: PackageState,
  opts: { rounds: number; batch: number; scales: readonly number[]; resDir: string },
): Promise<void> {
  const why = missingReason(pkgs, ['netavark', 'iptables']);
  if (why !== undefined) {
    results.naAll('setup.', 'netavark', why);
    results.naAll('teardown.', 'netavark', why);
  } else {
    progress(`netavark: ${opts.rounds} single rounds, batch of ${opts.batch}`);
    const undo = onCleanup('netavark namespaces', () => dropNetns(/^peer-bnv(s?\d+|host)$/));
    let r: ExecResult;
    try {
      r = await runScript(path.join(SCRIPTS, 'netavark-scale.sh'), { N: String(opts.batch), ROUNDS: String(opts.rounds) }, 40 * 60_000, opts.resDir);
    } finally {
      await undo();
    }
    results.raw['netavark.summary'] = r.stdout;
    if (r.code !== 0) results.note(`netavark script exited ${r.code ?? r.signal}${r.timedOut ? ' (time limit)' : ''}: ${lastLines(r.stderr, 3)}`);
    const fails = failures(r.stdout);
    if (fails > 0) results.note(`netavark: ${fails} calls failed (see netavark-scale.stderr.txt); their times are still counted`);
    fillScaled(
      results,
      'netavark',
      opts.scales,
      [readMs(opts.resDir, 'netavark-single-setup.ms'), readMs(opts.resDir, 'netavark-single-teardown.ms')],
      [readMs(opts.resDir, 'netavark-setup.ms'), readMs(opts.resDir, 'netavark-teardown.ms')],
    );
  }
  // aardvark-dns: the shared script as it is, with one container (its DNS part is what we use).
  const whyDns = missingReason(pkgs, ['netavark', 'aardvark-dns', 'bind9-dnsutils', 'python3']);
  if (whyDns !== undefined) {
    results.naAll('dns.', 'netavark', whyDns);
    results.set('mem.idle', 'netavark', { na: whyDns });
    return;
  }
  progress('netavark: aardvark-dns (shared/peers/bench/bench-netavark.sh, N=1)');
  const undo = onCleanup('bench-netavark namespaces', async () => {
    const pidFile = '/run/peer-netavark/aardvark-dns/aardvark.pid';
    if (fs.existsSync(pidFile)) {
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      if (pid > 0 && alive(pid) && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('aardvark')) process.kill(pid, 'SIGTERM');
    }
    await dropNetns(/^peer-nv(dns)?\d+$|^peer-nvhost$/);
    fs.rmSync('/run/peer-netavark', { recursive: true, force: true });
  });
  try {
    const r = await runScript(path.join(PEERS_DIR, 'bench/bench-netavark.sh'), { N: '1' }, 10 * 60_000, opts.resDir);
    results.raw['aardvark.summary'] = r.stdout;
    fillDns(results, 'netavark', r.stdout, 'aardvark-dns, dnsload.py');
    const rss = /aardvark-dns pid=\d+ rss_kb=(\d+)/.exec(r.stdout);
    results.set('mem.idle', 'netavark', rss ? { value: Number(rss[1]) / KB_PER_MB, note: 'aardvark-dns (no daemon otherwise)' } : { na: 'no daemon: netavark runs per call' });
  } finally {
    await undo();
  }
}

// ----------------------------------------------------------------------------------------------
// Docker

const DOCKER_SOCK = '/run/peer-docker.sock';
const DOCKERD_PIDFILE = '/run/peer-docker.pid';
const CONTAINERD_PIDFILE = '/run/peer-containerd/containerd.pid';

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function dockerOk(method: string, urlPath: string, body?: unknown): Promise<any> {
  const r = await unixRequest(DOCKER_SOCK, method, urlPath, body);
  if (r.status < 200 || r.status >= 300) throw new Error(`dockerd ${method} ${urlPath}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  return r.body;
}

async function dockerCreate(network: string, ports?: Record<string, string>, name?: string): Promise<string> {
  const body: Record<string, unknown> = {
    Image: 'busybox:local',
    Cmd: ['sleep', '1000000'],
    HostConfig: {
      NetworkMode: network,
      ...(ports === undefined ? {} : { PortBindings: Object.fromEntries(Object.entries(ports).map(([c, h]) => [c, [{ HostIp: '', HostPort: h }]])) }),
    },
    ...(ports === undefined ? {} : { ExposedPorts: Object.fromEntries(Object.keys(ports).map((c) => [c, {}])) }),
  };
  const r = await dockerOk('POST', `/containers/create${name === undefined ? '' : `?name=${name}`}`, body);
  return String(r.Id);
}

async function dockerRun(network: string, ports?: Record<string, string>, name?: string): Promise<string> {
  const id = await dockerCreate(network, ports, name);
  await dockerOk('POST', `/containers/${id}/start`);
  return id;
}

async function dockerRm(id: string): Promise<void> {
  await dockerOk('DELETE', `/containers/${id}?force=1`);
}

function dockerMem(): { dockerdKb?: number; containerdKb?: number; shims: number; shimsKb: number } {
  const d = readPid(DOCKERD_PIDFILE);
  const c = readPid(CONTAINERD_PIDFILE);
  const shims = pidsOf('containerd-shim', 'peer-containerd');
  return {
    ...(d === undefined ? {} : { dockerdKb: rssKb(d) }),
    ...(c === undefined ? {} : { containerdKb: rssKb(c) }),
    shims: shims.length,
    shimsKb: shims.reduce((t, p) => t + (rssKb(p) ?? 0), 0),
  };
}

function memCell(m: ReturnType<typeof dockerMem>): Cell {
  if (m.dockerdKb === undefined) return { na: 'dockerd not running' };
  const d = m.dockerdKb / KB_PER_MB;
  const c = (m.containerdKb ?? 0) / KB_PER_MB;
  return { value: d + c, note: `dockerd ${d.toFixed(0)} + containerd ${c.toFixed(0)}` };
}

export interface DockerOptions {
  readonly rounds: number;
  readonly batch: number;
  readonly scales: readonly number[];
  /** Also run a batch on `none`, for the network share of run/rm at the batch scales. */
  readonly noneBatch: boolean;
  readonly netOps: number;
  readonly cliOps: number;
  readonly restarts: number;
  readonly iperfSeconds: number;
  readonly resDir: string;
}

export async function benchDocker(results: Results, pkgs: PackageState, opts: DockerOptions): Promise<void> {
  const allDocker = (reason: string) => {
    for (const r of results.rows) if (r.applies.includes('docker') && r.cells.docker === undefined) r.cells.docker = { na: reason };
  };
  const why = missingReason(pkgs, ['docker.io', 'busybox-static', 'iptables']);
  if (why !== undefined) return allDocker(why);
  if (!fs.existsSync(path.join(PEERS_DIR, 'docker-up.sh'))) return allDocker(`no ${PEERS_DIR}/docker-up.sh`);
  const raw: Record<string, unknown> = {};
  results.raw['docker'] = raw;
  progress('Docker: docker-up.sh (dockerd + containerd in netns peer-dockerhost)');
  const logs = path.join(opts.resDir, 'docker-logs');
  fs.mkdirSync(logs, { recursive: true });
  // --live-restore: containers survive a dockerd restart, as they survive a berthd restart
  // (docker-up.sh passes PEER_DOCKERD_EXTRA to dockerd); the restart below uses it too.
  const env = { PEER_LOGS: logs, PEER_DOCKERD_EXTRA: '--live-restore' };
  const down = onCleanup('peer dockerd (docker-down.sh)', async () => {
    progress('Docker: docker-down.sh');
    const r = await exec('bash', [path.join(PEERS_DIR, 'docker-down.sh')], { env: { ...process.env, ...env }, timeoutMs: 10 * 60_000 });
    if (r.code !== 0) progress(`docker-down.sh exited ${r.code}: ${lastLines(r.stderr, 3)}`);
  });
  try {
    // A dockerd from an earlier, interrupted run would make docker-up.sh fail: start clean.
    await exec('bash', [path.join(PEERS_DIR, 'docker-down.sh')], { env: { ...process.env, ...env }, timeoutMs: 10 * 60_000 });
    const up = await exec('bash', [path.join(PEERS_DIR, 'docker-up.sh')], { env: { ...process.env, ...env }, timeoutMs: 5 * 60_000 });
    if (up.code !== 0) return allDocker(`docker-up.sh failed: ${lastLines(up.stderr || up.stdout, 3).slice(0, 200)}`);
    raw['version'] = (await dockerOk('GET', '/version'))?.Version;
    await sleep(2000);
    const idle = dockerMem();
    raw['memIdle'] = idle;
    results.set('mem.idle', 'docker', memCell(idle));

    await dockerNetworkOps(results, opts, raw);
    await dockerOk('POST', '/networks/create', { Name: 'benchnet', CheckDuplicate: true });
    await dockerSingles(results, opts, raw);
    await dockerThroughput(results, opts, raw);
    await dockerBatch(results, opts, raw);
    await dockerDns(results, opts, env);
  } catch (err) {
    const msg = (err as Error).message.slice(0, 200);
    results.note(`Docker: ${msg}`);
    allDocker(`failed: ${msg}`);
  } finally {
    await down();
  }
}

async function dockerNetworkOps(results: Results, opts: DockerOptions, raw: Record<string, unknown>): Promise<void> {
  progress(`Docker: network create/rm x${opts.netOps} (API), x${opts.cliOps} (CLI)`);
  const create: number[] = [];
  const rm: number[] = [];
  for (let i = 0; i < opts.netOps; i++) {
    const t = nowMs();
    await dockerOk('POST', '/networks/create', { Name: `bn${i}`, CheckDuplicate: true });
    create.push(nowMs() - t);
  }
  for (let i = 0; i < opts.netOps; i++) {
    const t = nowMs();
    await dockerOk('DELETE', `/networks/bn${i}`);
    rm.push(nowMs() - t);
  }
  raw['netCreateApiMs'] = create;
  raw['netRmApiMs'] = rm;
  results.setSamples('net.create.api', 'docker', create);
  results.setSamples('net.rm.api', 'docker', rm);
  if (!haveCommand('docker')) {
    results.set('net.create.cli', 'docker', { na: 'no docker CLI' });
    results.set('net.rm.cli', 'docker', { na: 'no docker CLI' });
    return;
  }
  const cli = (args: string[]) => exec('docker', ['-H', `unix://${DOCKER_SOCK}`, ...args], { timeoutMs: 60_000 });
  const ccreate: number[] = [];
  const crm: number[] = [];
  for (let i = 0; i < opts.cliOps; i++) {
    const r = await cli(['network', 'create', `bc${i}`]);
    if (r.code !== 0) throw new Error(`docker network create: ${r.stderr.trim()}`);
    ccreate.push(r.ms);
  }
  for (let i = 0; i < opts.cliOps; i++) {
    const r = await cli(['network', 'rm', `bc${i}`]);
    if (r.code !== 0) throw new Error(`docker network rm: ${r.stderr.trim()}`);
    crm.push(r.ms);
  }
  raw['netCreateCliMs'] = ccreate;
  raw['netRmCliMs'] = crm;
  results.setSamples('net.create.cli', 'docker', ccreate, 'docker CLI');
  results.setSamples('net.rm.cli', 'docker', crm, 'docker CLI');
}

async function dockerSingles(results: Results, opts: DockerOptions, raw: Record<string, unknown>): Promise<void> {
  progress(`Docker: run -d / rm -f, ${opts.rounds} rounds on a user network and on none`);
  const run: Record<string, number[]> = { benchnet: [], none: [] };
  const rm: Record<string, number[]> = { benchnet: [], none: [] };
  for (let i = 0; i < 2; i++) await dockerRm(await dockerRun('benchnet'));
  for (let i = 0; i < opts.rounds; i++) {
    for (const net of i % 2 === 0 ? ['benchnet', 'none'] : ['none', 'benchnet']) {
      const t = nowMs();
      const id = await dockerRun(net);
      (run[net] as number[]).push(nowMs() - t);
      const t2 = nowMs();
      await dockerRm(id);
      (rm[net] as number[]).push(nowMs() - t2);
    }
  }
  raw['singleRunMs'] = run;
  raw['singleRmMs'] = rm;
  const u = run['benchnet'] as number[];
  const n = run['none'] as number[];
  const ru = rm['benchnet'] as number[];
  const rn = rm['none'] as number[];
  results.setSamples('run.1', 'docker', u);
  results.setSamples('rm.1', 'docker', ru);
  const note = `diff. of medians, n=${opts.rounds}`;
  results.set('runshare.1', 'docker', { value: median(u) - median(n), note });
  results.set('rmshare.1', 'docker', { value: median(ru) - median(rn), note });
  // Docker does a container's network inside run/rm: its setup/teardown is that difference.
  results.set('setup.1', 'docker', { value: median(u) - median(n), note: `run -d: user net − none` });
  results.set('teardown.1', 'docker', { value: median(ru) - median(rn), note: `rm -f: user net − none` });
}

async function dockerThroughput(results: Results, opts: DockerOptions, raw: Record<string, unknown>): Promise<void> {
  if (!haveCommand('iperf3')) {
    for (const id of ['tcp.published', 'tcp.direct', 'tcp.c2c']) results.set(id, 'docker', { na: 'iperf3 not installed' });
    return;
  }
  progress('Docker: TCP throughput (iperf3)');
  const out: Record<string, unknown> = {};
  raw['throughput'] = out;
  const a = await dockerRun('benchnet', { '5201/tcp': '15201' }, 'iperf-a');
  const b = await dockerRun('benchnet', undefined, 'iperf-b');
  try {
    const ia = await dockerOk('GET', `/containers/${a}/json`);
    const ib = await dockerOk('GET', `/containers/${b}/json`);
    const aNs = `/proc/${ia.State.Pid}/ns/net`;
    const bNs = `/proc/${ib.State.Pid}/ns/net`;
    const aIp = String(ia.NetworkSettings.Networks.benchnet.IPAddress);
    const cases = [
      // peer-uplink is docker-up.sh's "outside" (10.213.0.2), the daemon's host is 10.213.0.1
      { id: 'tcp.published', client: '/run/netns/peer-uplink', target: '10.213.0.1', port: 15201 },
      { id: 'tcp.direct', client: '/run/netns/peer-dockerhost', target: aIp, port: 5201 },
      { id: 'tcp.c2c', client: bNs, target: aIp, port: 5201 },
    ];
    for (const c of cases) {
      try {
        const r = await iperf({ serverNs: aNs, clientNs: c.client, target: c.target, port: c.port, listenPort: 5201, seconds: opts.iperfSeconds });
        out[c.id] = r;
        results.set(c.id, 'docker', { value: r.gbps, note: `${r.seconds} s` });
      } catch (err) {
        out[c.id] = { error: (err as Error).message };
        results.set(c.id, 'docker', { na: (err as Error).message.slice(0, 160) });
      }
    }
  } finally {
    await dockerRm(a);
    await dockerRm(b);
  }
}

async function dockerBatch(results: Results, opts: DockerOptions, raw: Record<string, unknown>): Promise<void> {
  const runOn = async (network: string, n: number, memAt?: Record<number, ReturnType<typeof dockerMem>>) => {
    const ids: string[] = [];
    const ms: number[] = [];
    const t0 = nowMs();
    for (let i = 0; i < n; i++) {
      const t = nowMs();
      ids.push(await dockerRun(network));
      ms.push(nowMs() - t);
      const count = i + 1;
      if (memAt !== undefined && count > 1 && opts.scales.includes(count)) {
        await sleep(1000);
        memAt[count] = dockerMem();
      }
      if (count % 100 === 0) progress(`Docker: ${count}/${n} running on ${network} (${((nowMs() - t0) / 1000).toFixed(0)} s)`);
    }
    return { ids, ms };
  };
  const rmAll = async (ids: readonly string[]) => {
    const ms: number[] = [];
    for (const id of ids) {
      const t = nowMs();
      await dockerRm(id);
      ms.push(nowMs() - t);
    }
    return ms;
  };
  const n = opts.batch;
  let none: { run: number[]; rm: number[] } | undefined;
  if (opts.noneBatch) {
    progress(`Docker: run -d x${n} on none (for the network share)`);
    const r = await runOn('none', n);
    none = { run: r.ms, rm: await rmAll(r.ids) };
    raw['noneBatch'] = none;
  }
  progress(`Docker: run -d x${n} on one network`);
  const memAt: Record<number, ReturnType<typeof dockerMem>> = {};
  const { ids, ms } = await runOn('benchnet', n, memAt);
  raw['batch'] = { n, runMs: ms, memAt };
  for (const s of opts.scales) {
    if (s === 1) continue;
    if (ms.length < s) {
      for (const id of [`run.${s}`, `rm.${s}`, `mem.${s}`, `mem.shims.${s}`, `restart.ping.${s}`, `restart.list.${s}`, `setup.${s}`, `teardown.${s}`]) {
        results.set(id, 'docker', { na: `not run at this scale (Docker batch ${n}${n < s ? '; --full runs 1,000' : ''})` });
      }
      continue;
    }
    results.setSamples(`run.${s}`, 'docker', ms.slice(0, s));
    const m = memAt[s];
    if (m !== undefined) {
      results.set(`mem.${s}`, 'docker', memCell(m));
      results.set(`mem.shims.${s}`, 'docker', { value: m.shimsKb / KB_PER_MB, note: `${m.shims} containerd-shim` });
    }
    if (none !== undefined) {
      results.set(`setup.${s}`, 'docker', { value: median(ms.slice(0, s)) - median(none.run.slice(0, s)), note: 'run -d: user net − none' });
    } else {
      results.set(`setup.${s}`, 'docker', { na: 'needs the batch on none (not in --quick)' });
    }
  }

  // Restart-reconcile: SIGKILL dockerd with everything running, start it again the way
  // docker-up.sh does (same flags, inside the same mount and network namespaces as containerd).
  if (ids.length > 1 && opts.scales.includes(ids.length)) {
    const key = ids.length;
    try {
      const r = await dockerRestart(ids.length, opts.restarts, path.join(opts.resDir, 'docker-logs'));
      raw['restart'] = r;
      results.set(`restart.ping.${key}`, 'docker', { value: median(r.pingMs), n: r.pingMs.length, note: `median of ${r.pingMs.length}` });
      results.set(`restart.list.${key}`, 'docker', {
        value: median(r.listMs),
        n: r.listMs.length,
        note: `${r.runningAfter} of ${key} still running`,
      });
    } catch (err) {
      const why = (err as Error).message.slice(0, 200);
      raw['restart'] = { error: why };
      results.set(`restart.ping.${key}`, 'docker', { na: why });
      results.set(`restart.list.${key}`, 'docker', { na: why });
    }
  }

  progress(`Docker: rm -f x${ids.length}`);
  const live = await dockerOk('GET', '/containers/json?all=1');
  const still = new Set((live as { Id: string }[]).map((c) => c.Id));
  const rmMs = await rmAll(ids.filter((id) => still.has(id)));
  raw['batchRmMs'] = rmMs;
  for (const s of opts.scales) {
    if (s === 1 || rmMs.length < s) continue;
    results.setSamples(`rm.${s}`, 'docker', rmMs.slice(rmMs.length - s));
    if (none !== undefined) {
      results.set(`teardown.${s}`, 'docker', { value: median(rmMs.slice(rmMs.length - s)) - median(none.rm.slice(none.rm.length - s)), note: 'rm -f: user net − none' });
    } else {
      results.set(`teardown.${s}`, 'docker', { na: 'needs the batch on none (not in --quick)' });
    }
  }
}

async function dockerRestart(n: number, times: number, logs: string): Promise<{ pingMs: number[]; listMs: number[]; runningAfter: number }> {
  const pingMs: number[] = [];
  const listMs: number[] = [];
  let runningAfter = 0;
  for (let k = 0; k < times; k++) {
    const ctrd = readPid(CONTAINERD_PIDFILE);
    const old = readPid(DOCKERD_PIDFILE);
    if (ctrd === undefined || !alive(ctrd)) throw new Error('containerd is not running');
    if (old === undefined || !alive(old)) throw new Error('dockerd is not running');
    progress(`Docker: restart-reconcile with ${n} containers (${k + 1}/${times})`);
    process.kill(old, 'SIGKILL');
    for (let i = 0; i < 500 && alive(old); i++) await sleep(10);
    const logFd = fs.openSync(path.join(logs, 'dockerd-restart.log'), 'a');
    const t0 = nowMs();
    const child = spawn(
      'nsenter',
      [
        `--mount=/proc/${ctrd}/ns/mnt`,
        '--net=/run/netns/peer-dockerhost',
        'dockerd',
        '--data-root', '/var/lib/peer-docker',
        '--exec-root', '/run/peer-docker',
        '--pidfile', DOCKERD_PIDFILE,
        '-H', `unix://${DOCKER_SOCK}`,
        '--containerd', '/run/peer-containerd/containerd.sock',
        '--storage-driver', process.env['PEER_STORAGE_DRIVER'] ?? 'overlay2',
        '--cgroup-parent', 'peer-docker',
        '--dns', '10.213.0.2',
        '--live-restore',
      ],
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
    child.unref();
    fs.closeSync(logFd);
    const deadline = t0 + 180_000;
    let pinged = false;
    for (;;) {
      if (nowMs() > deadline) throw new Error('dockerd did not come back within 180 s');
      if (!pinged) {
        const r = await unixRequest(DOCKER_SOCK, 'GET', '/_ping', undefined, 5_000).catch(() => undefined);
        if (r?.status === 200) {
          pingMs.push(nowMs() - t0);
          pinged = true;
        }
      } else {
        const r = await unixRequest(DOCKER_SOCK, 'GET', '/containers/json?all=1', undefined, 60_000).catch(() => undefined);
        if (Array.isArray(r?.body) && (r?.body as unknown[]).length >= n) {
          listMs.push(nowMs() - t0);
          runningAfter = (r?.body as { State?: string }[]).filter((c) => c.State === 'running').length;
          break;
        }
      }
      await sleep(5);
    }
    await sleep(2000);
  }
  return { pingMs, listMs, runningAfter };
}

async function dockerDns(results: Results, opts: DockerOptions, env: Record<string, string>): Promise<void> {
  progress('Docker: embedded DNS (shared/peers/bench/bench-docker-dns.sh)');
  const r = await runScript(path.join(PEERS_DIR, 'bench/bench-docker-dns.sh'), env, 10 * 60_000, opts.resDir);
  results.raw['docker.dns.summary'] = r.stdout;
  fillDns(results, 'docker', r.stdout, 'embedded DNS, dnsload.py');
}

/** Summaries of peers' raw files, for the JSON. */
export function summarizeFile(resDir: string, file: string): ReturnType<typeof summarize> {
  return summarize(readMs(resDir, file));
}
