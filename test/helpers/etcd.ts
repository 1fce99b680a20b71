/**
 * Test helper: a real, throwaway single-member etcd (Debian's /usr/bin/etcd) for tests of the
 * cluster store.
 *
 * Each instance gets a fresh data dir (`mkdtemp /tmp/berth-etcd-*`) holding etcd's data and its
 * log (`etcd.log`, quoted in errors). With `netnsPath` etcd runs inside that namespace through
 * `nsenter --net=…`, which execs etcd, so `pid` is etcd's own. Readiness is probed with
 * `POST /v3/kv/range` from a small node child process run in the same namespace (the test
 * process may live in another one). `stop()` sends SIGTERM, then SIGKILL after 5 s, and removes
 * the data dir; an exit hook kills whatever a crashed test left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ETCD = '/usr/bin/etcd';
const READY_MS = 10_000;
const STOP_MS = 5_000;

/** True when Debian's etcd-server is installed. */
export function etcdAvailable(): boolean {
  return fs.existsSync(ETCD);
}

export interface EtcdStartOptions {
  /** Run etcd inside this network namespace (e.g. `/run/netns/<name>`). */
  readonly netnsPath?: string;
  /** Address to listen on and advertise, default 127.0.0.1. */
  readonly host?: string;
  /** Default 2379. */
  readonly clientPort?: number;
  /** Default 2380. */
  readonly peerPort?: number;
}

/** Probes `POST /v3/kv/range` until it answers 200 or the deadline passes (argv: url, ms). */
const PROBE = `
const [url, ms] = process.argv.slice(-2);
const deadline = Date.now() + Number(ms);
let last = 'no answer';
while (Date.now() < deadline) {
  try {
    const r = await fetch(url + '/v3/kv/range', { method: 'POST', body: '{"key":"AA=="}', signal: AbortSignal.timeout(1000) });
    if (r.status === 200) process.exit(0);
    last = 'HTTP ' + r.status;
  } catch (err) { last = err.cause?.code ?? err.message; }
  await new Promise((res) => setTimeout(res, 100));
}
console.error(last);
process.exit(1);
`;

/** Every etcd this process started and has not stopped, killed on exit. */
const running = new Set<EtcdProcess>();
let exitHook = false;

export class EtcdProcess {
  /** `http://host:clientPort`. */
  readonly url: string;
  /** `etcd://host:clientPort`, what berthd's `--cluster-store` takes. */
  readonly clusterStore: string;
  /** The data dir (etcd data in `data/`, log in `etcd.log`). */
  readonly dir: string;
  readonly #opts: EtcdStartOptions;
  readonly #host: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(opts: EtcdStartOptions) {
    this.#opts = opts;
    const host = opts.host ?? '127.0.0.1';
    this.#host = host.includes(':') ? `[${host}]` : host;
    this.url = `http://${this.#host}:${opts.clientPort ?? 2379}`;
    this.clusterStore = `etcd://${this.#host}:${opts.clientPort ?? 2379}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-etcd-'));
  }

  /** Starts etcd and waits (≤ 10 s) until it answers; on failure kills it and throws with its log. */
  static async start(opts: EtcdStartOptions = {}): Promise<EtcdProcess> {
    const etcd = new EtcdProcess(opts);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const e of running) e.#killNow();
      });
    }
    running.add(etcd);
    try {
      await etcd.#launch();
    } catch (err) {
      await etcd.stop();
      throw err;
    }
    return etcd;
  }

  /** etcd's PID (changes after `restart`). */
  get pid(): number {
    return this.#child?.pid ?? -1;
  }

  /** The log so far. */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'etcd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Crash-restart: SIGKILL, then start again on the same data dir and ports. */
  async restart(whileDown?: () => Promise<void>): Promise<void> {
    await this.#signal('SIGKILL', STOP_MS);
    try {
      await whileDown?.();
    } finally {
      await this.#launch();
    }
  }

  /** SIGTERM (SIGKILL after 5 s), then removes the data dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (!(await this.#signal('SIGTERM', STOP_MS))) await this.#signal('SIGKILL', STOP_MS);
    fs.rmSync(this.dir, { recursive: true, force: true });
    running.delete(this);
  }

  async #launch(): Promise<void> {
    const peer = `http://${this.#host}:${this.#opts.peerPort ?? 2380}`;
    const args = [
      '--name', 'default',
      '--data-dir', path.join(this.dir, 'data'),
      '--listen-client-urls', this.url,
      '--advertise-client-urls', this.url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`,
      '--logger', 'zap',
      '--log-outputs', 'stderr',
    ];
    const logFd = fs.openSync(path.join(this.dir, 'etcd.log'), 'a');
    const ns = this.#opts.netnsPath;
    const child = ns === undefined
      ? spawn(ETCD, args, { stdio: ['ignore', logFd, logFd] })
      : spawn('nsenter', [`--net=${ns}`, ETCD, ...args], { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    child.unref(); // a test that forgets stop() must not hang; the exit hook still kills etcd
    this.#child = child;
    let exitedEarly: (why: string) => void = () => undefined;
    const early = new Promise<string>((resolve) => (exitedEarly = resolve));
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitedEarly(`etcd exited (${signal ?? code}) before answering`);
        resolve();
      });
      child.once('error', (err) => {
        exitedEarly(`etcd did not start: ${err.message}`);
        resolve();
      });
    });
    const probeArgs = ['--input-type=module', '-e', PROBE, this.url, String(READY_MS)];
    const probe = ns === undefined
      ? spawn(process.execPath, probeArgs, { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('nsenter', [`--net=${ns}`, process.execPath, ...probeArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let probeErr = '';
    probe.stderr.on('data', (d: Buffer) => (probeErr += d.toString()));
    const ready = new Promise<string | undefined>((resolve) => {
      probe.once('exit', (code) => resolve(code === 0 ? undefined : `etcd at ${this.url} did not answer within ${READY_MS} ms (${probeErr.trim()})`));
    });
    const failure = await Promise.race([ready, early]);
    if (probe.exitCode === null) probe.kill('SIGKILL');
    if (failure !== undefined) throw new Error(`${failure}; log ${path.join(this.dir, 'etcd.log')}:\n${this.log().slice(-4000)}`);
  }

  /** Sends a signal to etcd and waits up to `ms` for it to exit; true when it is gone. */
  async #signal(sig: NodeJS.Signals, ms: number): Promise<boolean> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return true;
    try {
      process.kill(child.pid!, sig);
    } catch {
      return true; // already gone
    }
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return gone;
  }

  #killNow(): void {
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
