/**
 * Integration-test harness: a throwaway "host" network namespace with a berthd inside it.
 *
 * Nothing here touches the machine's root network namespace: the host netns is created with
 * `ip netns add <prefix>-<random>`, berthd is started in it with `nsenter --net=…` (not
 * `ip netns exec`, which remounts /sys), and `cleanup()` stops the daemon by PID, unmounts what
 * it left under its exec-root and deletes the namespace — call it from `after` hooks so it runs
 * when a test fails too.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (the compiled file lives in dist/test/helpers). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** True when the process may create namespaces and run berthd. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Runs a command, returns stdout; throws with stderr on failure. Bounded by a timeout. */
export function sh(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync(cmd, [...args], {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 20_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Result of running a command that may fail. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command and returns status/stdout/stderr (stderr on success too) without throwing. */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(cmd, [...args], {
    encoding: 'utf8',
    env: opts.env ?? process.env,
    input: opts.input,
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
}

/** A throwaway host netns with a running berthd. */
export class TestHost {
  readonly name: string;
  readonly netnsPath: string;
  readonly dir: string;
  readonly root: string;
  readonly execRoot: string;
  readonly socket: string;
  #daemon: ChildProcess | undefined;
  #log = '';

  private constructor(prefix: string) {
    this.name = `${prefix}-${randomBytes(4).toString('hex')}`;
    this.netnsPath = `/run/netns/${this.name}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    this.root = path.join(this.dir, 'root');
    this.execRoot = path.join(this.dir, 'exec');
    this.socket = path.join(this.dir, 'berth.sock');
  }

  /** Creates the netns (lo up) and starts berthd in it. */
  static async start(prefix = 'berth-it', extraArgs: readonly string[] = []): Promise<TestHost> {
    const host = await TestHost.create(prefix);
    try {
      await host.startDaemon(extraArgs);
    } catch (err) {
      // The caller never gets the host to clean up: remove the netns and dir made so far.
      await host.cleanup();
      throw err;
    }
    return host;
  }

  /**
   * Creates the netns (lo up) without starting berthd, for callers that must wire the netns
   * first (the cluster topology's underlay link); start the daemon with `startDaemon`.
   */
  static async create(prefix = 'berth-it'): Promise<TestHost> {
    const host = new TestHost(prefix);
    try {
      sh('ip', ['netns', 'add', host.name]);
      sh('ip', ['-n', host.name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await host.cleanup();
      throw err;
    }
    return host;
  }

  /** The daemon's captured stderr (for failure messages). */
  get log(): string {
    return this.#log;
  }

  get pid(): number | undefined {
    return this.#daemon?.pid;
  }

  /** Starts berthd (again) in this host's netns and waits for its socket to answer. */
  async startDaemon(extraArgs: readonly string[] = []): Promise<void> {
    const child = spawn(
      'nsenter',
      // bin/berthd itself (its shebang carries berthd's node flags), as a user starts it.
      [`--net=${this.netnsPath}`, path.join(REPO, 'bin/berthd'),
        '--root', this.root, '--exec-root', this.execRoot, '-H', `unix://${this.socket}`, ...extraArgs],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => {
      this.#log += d.toString();
    });
    this.#daemon = child;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}:\n${this.#log}`);
      try {
        const r = await this.request('GET', '/_ping');
        if (r.status === 200) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not come up in 20 s:\n${this.#log}`);
  }

  /** SIGKILLs the daemon (crash tests). */
  async killDaemon(): Promise<void> {
    await this.#stop('SIGKILL');
  }

  /** SIGTERMs the daemon and waits for it. */
  async stopDaemon(): Promise<void> {
    await this.#stop('SIGTERM');
  }

  async #stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#daemon;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.#daemon = undefined;
  }

  /** An HTTP request to the daemon's API. */
  request(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = http.request(
        {
          socketPath: this.socket,
          method,
          path: urlPath,
          headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
          timeout: 60_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${urlPath}`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Runs the berth CLI against this daemon. */
  berth(args: readonly string[], input?: string): RunResult {
    return run(process.execPath, [path.join(REPO, 'bin/berth'), '-H', `unix://${this.socket}`, ...args], { input });
  }

  /** Runs the real docker CLI against this daemon. */
  docker(args: readonly string[]): RunResult {
    return run('docker', ['-H', `unix://${this.socket}`, ...args], {
      env: { ...process.env, DOCKER_CONFIG: path.join(this.dir, 'docker-config') },
    });
  }

  /** Runs a command inside the host netns. */
  inHost(cmd: string, args: readonly string[]): RunResult {
    return run('nsenter', [`--net=${this.netnsPath}`, cmd, ...args]);
  }

  /** `ip -json <args>` inside the host netns, parsed. */
  ipJson(args: readonly string[]): any[] {
    return JSON.parse(sh('nsenter', [`--net=${this.netnsPath}`, 'ip', '-json', ...args]) || '[]');
  }

  /** Kernel state for failure messages. */
  dump(): string {
    return ['ip -d addr', 'ip route'].map((c) => {
      const [cmd, ...a] = c.split(' ');
      return `# ${c}\n${this.inHost(cmd as string, a).stdout}`;
    }).join('\n');
  }

  /**
   * Stops the daemon and removes everything this host made: netns mounts under the exec-root,
   * the host netns, the temp dir. Safe to call twice.
   */
  async cleanup(): Promise<void> {
    // Containers outlive berthd by design (their shims own them): remove them first, through the
    // API while the daemon runs, then whatever runc under our exec-root still has.
    if (this.#daemon !== undefined) {
      try {
        const list = await this.request('GET', '/containers/json?all=1');
        for (const c of (list.body ?? []) as { Id: string }[]) await this.request('DELETE', `/containers/${c.Id}?force=1`);
      } catch {
        // the daemon may be dead already
      }
    }
    await this.stopDaemon();
    const runcRoot = path.join(this.execRoot, 'runc');
    if (fs.existsSync(runcRoot)) {
      for (const id of run('runc', ['--root', runcRoot, 'list', '-q']).stdout.split('\n').filter(Boolean)) {
        run('runc', ['--root', runcRoot, 'delete', '-f', id]);
      }
    }
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mnt = line.split(' ')[4];
      if (mnt !== undefined && mnt.startsWith(this.dir)) run('umount', ['-l', mnt]);
    }
    if (fs.existsSync(this.netnsPath)) run('ip', ['netns', 'del', this.name]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
