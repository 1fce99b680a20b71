/**
 * A throwaway multi-host berth cluster for overlay tests and the overlay benchmark:
 *
 *   underlay netns <prefix>-ul-<rand>                       host netns (TestHost) i = 0..N-1
 *   br0 198.18.0.254/24 (etcd on :2379) ── h<i> <── veth ──> ul0 198.18.0.<i+1>/24, berthd
 *
 * Each berthd joins the cluster with `--cluster-store etcd://198.18.0.254:2379
 * --cluster-advertise ul0 --cluster-store-opt discovery.ttl=3`, so VXLAN traffic between the
 * hosts crosses the underlay bridge. Nothing touches the root netns; `cleanup()` removes hosts,
 * etcd and the underlay, also after a setup that failed halfway (`start` cleans up itself then).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { EtcdProcess } from './etcd.js';
import { REPO, run, sh, TestHost, type RunResult } from './host.js';

/** The underlay's addresses: the bridge (and etcd) and host i's ul0. */
export const UNDERLAY_GATEWAY = '198.18.0.254';
export const ETCD_PORT = 2379;
export function underlayAddress(i: number): string {
  return `198.18.0.${i + 1}`;
}

/** Runs a command without blocking the event loop (for parallel `run -d`s); never throws. */
export function runAsync(cmd: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      [...args],
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        const status = err === null ? 0 : typeof code === 'number' ? code : null;
        resolve({ status, stdout, stderr: stderr || (err !== null && status === null ? err.message : '') });
      },
    );
  });
}

/** The berth CLI against a host's daemon, asynchronously. */
export function berthAsync(host: TestHost, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return runAsync(process.execPath, [path.join(REPO, 'bin/berth'), '-H', `unix://${host.socket}`, ...args], { timeoutMs });
}

export interface TestClusterOptions {
  /** Name prefix of every netns and temp dir (default `berth-itov`). */
  readonly prefix?: string;
  /** Lease TTL of the hosts' announcements, seconds (default 3). */
  readonly ttl?: number;
  /** More berthd arguments, after the cluster ones. */
  readonly extraArgs?: readonly string[];
  /** false: wire the hosts but leave their daemons stopped (start them with `restartDaemon`). */
  readonly startDaemons?: boolean;
}

/** The underlay, etcd on it and N hosts whose berthd joined the cluster. */
export class TestCluster {
  readonly hosts: TestHost[] = [];
  readonly underlayNetns: string;
  readonly underlayNetnsPath: string;
  etcd: EtcdProcess | undefined;
  readonly ttl: number;
  readonly #extraArgs: readonly string[];

  private constructor(prefix: string, ttl: number, extraArgs: readonly string[]) {
    this.underlayNetns = `${prefix}-ul-${randomBytes(3).toString('hex')}`;
    this.underlayNetnsPath = `/run/netns/${this.underlayNetns}`;
    this.ttl = ttl;
    this.#extraArgs = extraArgs;
  }

  /** Builds the topology and starts the N daemons (in parallel). Cleans up when anything fails. */
  static async start(n: number, opts: TestClusterOptions = {}): Promise<TestCluster> {
    const prefix = opts.prefix ?? 'berth-itov';
    const cluster = new TestCluster(prefix, opts.ttl ?? 3, opts.extraArgs ?? []);
    try {
      const ul = cluster.underlayNetns;
      sh('ip', ['netns', 'add', ul]);
      sh('ip', ['-n', ul, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ul, 'link', 'add', 'br0', 'type', 'bridge']);
      sh('ip', ['-n', ul, 'addr', 'add', `${UNDERLAY_GATEWAY}/24`, 'dev', 'br0']);
      sh('ip', ['-n', ul, 'link', 'set', 'br0', 'up']);
      cluster.etcd = await EtcdProcess.start({ netnsPath: cluster.underlayNetnsPath, host: UNDERLAY_GATEWAY, clientPort: ETCD_PORT });
      for (let i = 0; i < n; i++) {
        const host = await TestHost.create(`${prefix}-h${i + 1}`);
        cluster.hosts.push(host);
        // The veth is made in the host netns with its peer already in the underlay.
        sh('ip', ['-n', host.name, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', `h${i + 1}`, 'netns', ul]);
        sh('ip', ['-n', host.name, 'addr', 'add', `${underlayAddress(i)}/24`, 'dev', 'ul0']);
        sh('ip', ['-n', host.name, 'link', 'set', 'ul0', 'up']);
        sh('ip', ['-n', ul, 'link', 'set', `h${i + 1}`, 'master', 'br0', 'up']);
      }
      if (opts.startDaemons !== false) await Promise.all(cluster.hosts.map((h) => h.startDaemon(cluster.daemonArgs())));
    } catch (err) {
      const logs = cluster.logsTail(30);
      await cluster.cleanup();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
    return cluster;
  }

  /** What every berthd of the cluster is started with. */
  daemonArgs(): string[] {
    const etcd = this.etcd?.clusterStore ?? `etcd://${UNDERLAY_GATEWAY}:${ETCD_PORT}`;
    return ['--cluster-store', etcd, '--cluster-advertise', 'ul0', '--cluster-store-opt', `discovery.ttl=${this.ttl}`, ...this.#extraArgs];
  }

  /** Starts host i's berthd (again, after `killDaemon`/`stopDaemon`) with the cluster's arguments. */
  async restartDaemon(i: number): Promise<void> {
    const host = this.hosts[i];
    if (host === undefined) throw new Error(`no host ${i}`);
    await host.startDaemon(this.daemonArgs());
  }

  /** Runs a command in the underlay netns. */
  inUnderlay(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
    return runAsync('nsenter', [`--net=${this.underlayNetnsPath}`, cmd, ...args], { timeoutMs });
  }

  /**
   * An HTTP request from the underlay netns (as another machine on the wire would make it), by a
   * small node script run there; busybox's wget crashes on these machines and curl/wget may be
   * missing. Resolves with the status and body; rejects when nothing answers within `timeoutMs`.
   */
  async httpFromUnderlay(url: string, opts: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const script = `
      const [url, method, body, ms] = process.argv.slice(1);
      const headers = body === '' ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
      const req = require('http').request(url, { method, timeout: Number(ms), headers }, (res) => {
        let t = ''; res.setEncoding('utf8'); res.on('data', (c) => (t += c));
        res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body: t })));
      });
      req.on('timeout', () => req.destroy(new Error('timeout after ' + ms + ' ms')));
      req.on('error', (e) => { console.error(e.message); process.exit(1); });
      req.end(body);`;
    const r = await this.inUnderlay(process.execPath, ['-e', script, url, opts.method ?? 'GET', opts.body ?? '', String(timeoutMs)], timeoutMs + 5_000);
    if (r.status !== 0) throw new Error(`${opts.method ?? 'GET'} ${url} from the underlay: ${r.stderr.trim() || `exit ${r.status}`}`);
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  /**
   * Every key under `prefix` in etcd, through etcd's JSON gateway (POST /v3/kv/range), asked
   * from the underlay netns (etcd is reachable only there).
   */
  async etcdRange(prefix: string): Promise<{ key: string; value: string }[]> {
    const key = Buffer.from(prefix);
    const end = Buffer.from(key);
    // range_end = the prefix with its last byte + 1 (every key starting with the prefix).
    end[end.length - 1] = (end[end.length - 1] as number) + 1;
    const body = JSON.stringify({ key: key.toString('base64'), range_end: end.toString('base64') });
    const r = await this.httpFromUnderlay(`http://${UNDERLAY_GATEWAY}:${ETCD_PORT}/v3/kv/range`, { method: 'POST', body });
    if (r.status !== 200) throw new Error(`etcd range ${prefix}: HTTP ${r.status}: ${r.body}`);
    const parsed = JSON.parse(r.body) as { kvs?: { key: string; value?: string }[] };
    return (parsed.kvs ?? []).map((kv) => ({
      key: Buffer.from(kv.key, 'base64').toString('utf8'),
      value: Buffer.from(kv.value ?? '', 'base64').toString('utf8'),
    }));
  }

  /** The last `n` lines of each daemon's log, labelled, for failure messages. */
  logsTail(n = 20): string {
    return this.hosts
      .map((h, i) => {
        const lines = h.log.split('\n').filter((l) => l.trim() !== '').slice(-n);
        return `--- berthd h${i + 1} (${h.name}), last ${lines.length} lines:\n${lines.join('\n')}`;
      })
      .join('\n');
  }

  /** Removes the hosts (daemons, containers, netns), etcd and the underlay netns. Safe to call twice. */
  async cleanup(): Promise<void> {
    // Hosts first, while etcd still answers (their daemons withdraw from it on the way out).
    await Promise.allSettled(this.hosts.map((h) => h.cleanup()));
    try {
      await this.etcd?.stop();
    } catch {
      // stopped already
    }
    this.etcd = undefined;
    run('ip', ['netns', 'del', this.underlayNetns]);
  }
}
