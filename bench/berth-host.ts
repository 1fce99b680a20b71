/**
 * A berthd for the benchmark, in a throwaway network namespace `bench-<hex>` (the TestHost of
 * test/helpers/host.ts, with a clean-up that also removes the containers it ran): state under a
 * mkdtemp directory, started with `nsenter --net=…` (never `ip netns exec`, which remounts /sys),
 * asked over its unix socket. `cleanup()` force-removes the containers through the API, stops
 * the daemon by PID, then as a fallback kills and deletes whatever runc still lists under this
 * host's exec-root, unmounts what is left under its directory and deletes the netns. It is
 * registered with the benchmark's clean-up list, so it runs on failure and on Ctrl-C too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO,
  alive,
  exec,
  execOk,
  nowMs,
  onCleanup,
  progress,
  randomSuffix,
  rssKb,
  sleep,
  unixRequest,
  unmountAllUnder,
  type HttpReply,
} from './util.js';

/** A container started through the API, with what the benchmark needs of it. */
export interface RunningContainer {
  readonly id: string;
  /** Its netns file (NetworkSettings.SandboxKey), for nsenter. */
  readonly sandboxKey: string;
  /** IPv4 on its first network, without prefix ('' for none). */
  readonly ip: string;
  readonly pid: number;
}

export class BerthHost {
  readonly name: string;
  readonly netnsPath: string;
  readonly dir: string;
  readonly root: string;
  readonly execRoot: string;
  readonly socket: string;
  #daemon: ChildProcess | undefined;
  #log = '';
  #cleanupNow: (() => Promise<void>) | undefined;
  #extraArgs: readonly string[] = [];

  private constructor() {
    this.name = `bench-${randomSuffix(4)}`;
    this.netnsPath = `/run/netns/${this.name}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-berth-'));
    this.root = path.join(this.dir, 'root');
    this.execRoot = path.join(this.dir, 'exec');
    this.socket = path.join(this.dir, 'berth.sock');
  }

  /** Makes the netns (lo up) and starts berthd in it; on failure everything is removed again. */
  static async start(extraArgs: readonly string[] = []): Promise<BerthHost> {
    const host = new BerthHost();
    host.#cleanupNow = onCleanup(`berthd host ${host.name}`, () => host.#cleanup());
    try {
      await execOk('ip', ['netns', 'add', host.name]);
      await execOk('ip', ['-n', host.name, 'link', 'set', 'lo', 'up']);
      host.#extraArgs = extraArgs;
      await host.startDaemon();
    } catch (err) {
      await host.cleanup();
      throw err;
    }
    return host;
  }

  /** The daemon's stderr (last 64 kB), for failure messages. */
  get log(): string {
    return this.#log;
  }

  /** PID of berthd (nsenter --net execs node without forking). */
  get pid(): number | undefined {
    return this.#daemon?.pid;
  }

  rssKb(): number | undefined {
    const pid = this.pid;
    return pid === undefined ? undefined : rssKb(pid);
  }

  /** Spawns berthd; returns once it is spawned (not yet answering). */
  spawnDaemon(): ChildProcess {
    const child = spawn(
      'nsenter',
      [
        `--net=${this.netnsPath}`,
        // bin/berthd itself: its shebang carries berthd's node flags.
        path.join(REPO, 'bin/berthd'),
        '--root',
        this.root,
        '--exec-root',
        this.execRoot,
        '-H',
        `unix://${this.socket}`,
        ...this.#extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-65536);
    });
    this.#daemon = child;
    return child;
  }

  /** Starts berthd and waits (up to `timeoutMs`) until `/_ping` answers; returns ms until then. */
  async startDaemon(timeoutMs = 60_000): Promise<number> {
    const t0 = nowMs();
    const child = this.spawnDaemon();
    return this.waitPing(child, t0, timeoutMs);
  }

  /** Polls `/_ping` every 2 ms until it answers 200; returns ms since `t0`. */
  async waitPing(child: ChildProcess, t0: number, timeoutMs = 60_000): Promise<number> {
    const deadline = t0 + timeoutMs;
    while (nowMs() < deadline) {
      if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}: ${this.#log.slice(-2000)}`);
      try {
        const r = await unixRequest(this.socket, 'GET', '/_ping', undefined, 5_000);
        if (r.status === 200) return nowMs() - t0;
      } catch {
        // not up yet
      }
      await sleep(2);
    }
    throw new Error(`berthd did not answer /_ping within ${timeoutMs} ms: ${this.#log.slice(-2000)}`);
  }

  /** SIGKILL (a crash) and wait for the process to be gone. */
  async killDaemon(): Promise<void> {
    await this.#stop('SIGKILL');
  }

  async stopDaemon(): Promise<void> {
    await this.#stop('SIGTERM');
  }

  async #stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#daemon;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(5_000)]);
    }
    this.#daemon = undefined;
  }

  request(method: string, urlPath: string, body?: unknown, timeoutMs?: number): Promise<HttpReply> {
    return unixRequest(this.socket, method, urlPath, body, timeoutMs);
  }

  async requestOk(method: string, urlPath: string, body?: unknown): Promise<any> {
    const r = await this.request(method, urlPath, body);
    if (r.status < 200 || r.status >= 300) throw new Error(`berthd ${method} ${urlPath}: HTTP ${r.status}: ${r.text.slice(0, 400)}`);
    return r.body;
  }

  /** `POST /containers/create` of busybox `sleep`; returns the id. */
  async createContainer(network: string, opts: { name?: string; ports?: Record<string, string> } = {}): Promise<string> {
    const q = opts.name === undefined ? '' : `?name=${encodeURIComponent(opts.name)}`;
    const body: Record<string, unknown> = {
      Image: 'busybox',
      Cmd: ['sleep', '1000000'],
      HostConfig: {
        NetworkMode: network,
        ...(opts.ports === undefined
          ? {}
          : { PortBindings: Object.fromEntries(Object.entries(opts.ports).map(([c, h]) => [c, [{ HostIp: '', HostPort: h }]])) }),
      },
      ...(opts.ports === undefined ? {} : { ExposedPorts: Object.fromEntries(Object.keys(opts.ports).map((c) => [c, {}])) }),
    };
    const r = await this.requestOk('POST', `/containers/create${q}`, body);
    return String(r.Id);
  }

  async startContainer(id: string): Promise<void> {
    await this.requestOk('POST', `/containers/${id}/start`);
  }

  async removeContainer(id: string): Promise<void> {
    await this.requestOk('DELETE', `/containers/${id}?force=1`);
  }

  /** create + start, then inspect for the sandbox key and address. */
  async runContainer(network: string, opts: { name?: string; ports?: Record<string, string> } = {}): Promise<RunningContainer> {
    const id = await this.createContainer(network, opts);
    await this.startContainer(id);
    return this.inspectRunning(id);
  }

  async inspectRunning(id: string): Promise<RunningContainer> {
    const c = await this.requestOk('GET', `/containers/${id}/json`);
    const nets = Object.values((c?.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string }>);
    return {
      id,
      sandboxKey: String(c?.NetworkSettings?.SandboxKey ?? ''),
      ip: nets[0]?.IPAddress ?? '',
      pid: Number(c?.State?.Pid ?? 0),
    };
  }

  /**
   * Removes the daemon, its containers and the namespace (idempotent). `viaApi: false` skips
   * the removal through the API (slow with many containers) and goes straight to SIGKILL +
   * runc kill/delete.
   */
  async cleanup(opts: { viaApi?: boolean } = {}): Promise<void> {
    if (opts.viaApi === false) this.#viaApi = false;
    const now = this.#cleanupNow;
    this.#cleanupNow = undefined;
    if (now !== undefined) await now();
  }

  #viaApi = true;

  async #cleanup(): Promise<void> {
    // 1. Containers, through the daemon (bounded in time).
    if (!this.#viaApi) await this.killDaemon();
    if (this.#daemon !== undefined && this.#daemon.exitCode === null) {
      const deadline = nowMs() + 10 * 60_000;
      try {
        const list = await this.request('GET', '/containers/json?all=1', undefined, 30_000);
        const ids = Array.isArray(list.body) ? (list.body as { Id: string }[]).map((c) => c.Id) : [];
        if (ids.length > 0) progress(`removing ${ids.length} berth container(s) of ${this.name}`);
        for (const id of ids) {
          if (nowMs() > deadline) break;
          await this.request('DELETE', `/containers/${id}?force=1`, undefined, 30_000).catch(() => undefined);
        }
      } catch {
        // the daemon is not answering: the runc fallback below
      }
    }
    await this.stopDaemon();
    // 2. Fallback: whatever runc still has under this exec-root (by this host's runc root only).
    const runcRoot = path.join(this.execRoot, 'runc');
    if (fs.existsSync(runcRoot)) {
      const ls = await exec('runc', ['--root', runcRoot, 'list', '-q'], { timeoutMs: 60_000 });
      const ids = ls.stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '');
      if (ids.length > 0) progress(`killing ${ids.length} container(s) of ${this.name} through runc`);
      // `delete --force` kills (SIGKILL) and deletes; four at a time.
      const queue = [...ids];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
            await exec('runc', ['--root', runcRoot, 'delete', '--force', id], { timeoutMs: 30_000 });
          }
        }),
      );
    }
    // berth-shims of this host exit with their containers; one still alive is killed by PID.
    for (const pid of shimPidsOf(this.dir)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    // 3. Mounts (overlay layers, netns files), the namespace, the directory.
    await unmountAllUnder(this.dir);
    if (fs.existsSync(this.netnsPath)) await exec('ip', ['netns', 'del', this.name], { timeoutMs: 30_000 });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** berth-shim processes whose command line names this host's directory. */
function shimPidsOf(dir: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!fs.readFileSync(`/proc/${e}/comm`, 'utf8').startsWith('berth-shim')) continue;
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}
