/**
 * Containers through the runc CLI, one berth-shim per container.
 *
 * Files (several daemons on one machine never share any of them):
 *
 *   <execRoot>/runc/                     runc's state (`runc --root`), so daemons with different
 *                                        exec-roots do not see each other's containers
 *   <execRoot>/bundles/<id>/config.json  the OCI bundle; rootfs is the layer's merged dir
 *   <execRoot>/bundles/<id>/{init.pid,runc.log,shim.log,shim.pid}
 *   <execRoot>/bundles/<id>/attach.sock  the shim's attach socket (mode 0600, see attach.ts)
 *   <execRoot>/bundles/<id>/exec-<x>.*   one attached exec: process.json, pid, exit, socket, logs
 *   <root>/containers/<id>/<id>-json.log the container's stdout/stderr, Docker's json-file format
 *   <root>/containers/<id>/exit.json     the main process's exit status, once it has exited
 *
 * Who does what:
 * - `start` writes config.json and spawns berth-shim detached (own session). The shim runs
 *   `runc run -d` with pipes as the container's stdout/stderr, reports `ok <pid>` (or runc's
 *   error) on a pipe we read, then stops talking to us. From then on the container, the shim
 *   and the log do not depend on berthd: killing or restarting berthd leaves them running.
 * - The shim is a child subreaper, so the container process becomes its child when runc exits;
 *   it reaps it and writes exit.json (`{"exitCode":0,"signal":null,"exitedAt":…}`; a signal
 *   gives 128+n as Docker reports it) after the last output is in the log.
 * - A restarted berthd needs no handshake: `state`/`list` ask runc, the exit status is in
 *   exit.json, `waitExit` watches for that file, and `stop`/`kill`/`exec` go through runc.
 * - Stdin and terminals belong to the shim too. With `openStdin` (`docker run -i`) it holds
 *   the write end of the container's stdin pipe for the container's life, so `sh` waits for
 *   input instead of reading EOF from /dev/null. With `tty` (`-t`) runc sends it the pty master
 *   over `--console-socket` (SCM_RIGHTS, which Node cannot receive); the pty's output is the
 *   container's stdout. Either way the shim serves `attach.sock`: output to attached clients,
 *   stdin and window sizes from them (`attach`, `resize`; protocol in attach.ts). Nothing of
 *   this goes through berthd's memory, so a berthd restart leaves terminals and stdin alone.
 * - `docker run` attaches before it starts the container. `expectAttach` tells the next
 *   `start` of that container to make the shim hold the output (`--hold`) until the first
 *   client attaches, so a fast container's first bytes (or all of them) are not missed.
 * - `execAttached` (`docker exec -i`/`-t`) runs the process with `runc exec -d` under a shim
 *   of its own (no log), reached over a socket of its own; plain `exec` collects output in
 *   berthd, as before.
 *
 * Every external program runs with an argv array; nothing passes through a shell.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, watch, type FSWatcher } from 'node:fs';
import { access, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { BerthError, invalid } from '../errors.js';
import { encodeResize, parseExitFrame, ShimConnection } from './attach.js';
import { clampRlimits, mergeEnv, type HostRlimits, type OciProcess, type OciSpec } from './bundle.js';
import { checkContainerId, containerDir } from './layers.js';
import { describeFailure, runTool, type ToolResult } from './run-tool.js';
import { DEFAULT_SHIM_PATH, parseShimReport, type ShimReport } from './shim.js';

/** How a {@link RuncRuntime} finds its tools and keeps its files. */
export interface RuncRuntimeOptions {
  /** berthd `--root`: container logs and exit files. */
  readonly root: string;
  /** berthd `--exec-root`: runc state and bundles. */
  readonly execRoot: string;
  /** The runc binary; default `runc` from PATH. */
  readonly runc?: string;
  /** The berth-shim binary; default `dist/bin/berth-shim` (see shim.ts `buildShim`). */
  readonly shim?: string;
  /** How long `start` waits for runc to report; default 60 s. */
  readonly startTimeoutMs?: number;
}

/** Every file the runtime keeps for one container. */
export interface ContainerPaths {
  readonly bundle: string;
  readonly config: string;
  readonly pidFile: string;
  readonly runcLog: string;
  readonly shimLog: string;
  readonly shimPidFile: string;
  /** The shim's attach socket (see attach.ts); may be longer than sun_path allows. */
  readonly attachSocket: string;
  /** `<root>/containers/<id>`, shared with the engine (and layers.ts). */
  readonly containerDir: string;
  /** Docker's json-file log. */
  readonly log: string;
  readonly exitFile: string;
}

/** runc's view of a container. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'pausing' | 'paused' | 'stopped';

/** How the main process ended. */
export interface ExitStatus {
  /** Exit status, or 128 + signal number when killed by a signal (Docker's convention). */
  readonly exitCode: number;
  /** The signal number that killed it, if any. */
  readonly signal: number | null;
  /** RFC 3339 with nanoseconds. */
  readonly exitedAt: string;
  /** True when the real status was lost (the shim died, or the process was reaped elsewhere): 255 is a placeholder. */
  readonly unknown?: boolean;
}

/** A container as runc and the exit file describe it. */
export interface ContainerState {
  readonly id: string;
  readonly status: ContainerStatus;
  /** PID of the main process in the daemon's PID namespace; null unless it is alive. */
  readonly pid: number | null;
  readonly bundle: string;
  /** When runc created it (RFC 3339). */
  readonly created: string;
  /** Set once the main process has exited and the shim has recorded it. */
  readonly exit: ExitStatus | null;
}

/** Options for {@link RuncRuntime.start}. */
export interface StartOptions {
  /**
   * Allocate a pty (`docker run -t`): the process gets `terminal: true` (and `TERM=xterm`
   * unless its environment sets TERM), as `renderOciSpec({ terminal: true })` renders it.
   */
  readonly tty?: boolean;
  /** Keep the container's stdin open for attach clients (`docker run -i`); else /dev/null. */
  readonly openStdin?: boolean;
}

/** An attach announced before the start it waits for; see {@link RuncRuntime.expectAttach}. */
export interface PendingAttach {
  /** Resolves when the next start of the container has succeeded. */
  readonly started: Promise<void>;
  /** Withdraws the announcement (the client went away). */
  cancel(): void;
}

/** What {@link RuncRuntime.start} returns. */
export interface StartedContainer {
  /** PID of the main process in the daemon's PID namespace. */
  readonly pid: number;
  /** PID of its berth-shim. */
  readonly shimPid: number;
}

/** Options for {@link RuncRuntime.stop}. */
export interface StopOptions {
  /** Seconds between the stop signal and SIGKILL; default 10; -1 waits forever (Docker's `-t`). */
  readonly timeoutSec?: number;
  /** Default SIGTERM (the image's StopSignal, if the engine passes it). */
  readonly signal?: string | number;
}

/** What {@link RuncRuntime.stop} returns. */
export interface StopResult {
  /** False when the container was not running (Docker answers 304 then). */
  readonly wasRunning: boolean;
  /** The recorded exit; null only for a container that never ran under a shim. */
  readonly exit: ExitStatus | null;
}

/** Options for {@link RuncRuntime.exec}. */
export interface ExecOptions {
  readonly args: readonly string[];
  /** `KEY=value` entries added to (and overriding) the container's environment. */
  readonly env?: readonly string[];
  /** Working directory inside the container; default the container's. */
  readonly cwd?: string;
  /** Default: the container's user. */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** Bytes fed to the process's stdin (else /dev/null). */
  readonly stdin?: Buffer;
  /** Kill the exec after this long (SIGTERM forwarded to the process, then SIGKILL). */
  readonly timeoutMs?: number;
  /** Keep at most this many bytes of each stream; default 64 MiB. */
  readonly maxBuffer?: number;
}

/** Options for {@link RuncRuntime.execAttached}. */
export interface AttachedExecOptions {
  readonly args: readonly string[];
  /** `KEY=value` entries added to (and overriding) the container's environment. */
  readonly env?: readonly string[];
  /** Working directory inside the container; default the container's. */
  readonly cwd?: string;
  /** Default: the container's user. */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** A pty for the process (`docker exec -t`); `TERM=xterm` unless set. */
  readonly tty?: boolean;
  /** A stdin the attach connection writes to (`docker exec -i`); else /dev/null. */
  readonly openStdin?: boolean;
  /** `docker exec -d`: no connection; the session's `connection` is null. */
  readonly detach?: boolean;
}

/** A process started by {@link RuncRuntime.execAttached}. */
export interface ExecSession {
  /** PID of the process in the daemon's PID namespace. */
  readonly pid: number;
  /** The attached connection (output, stdin, resize); null for a detached exec. */
  readonly connection: ShimConnection | null;
  /** Resolves once the process has exited and its files are gone. */
  readonly exit: Promise<ExitStatus>;
}

/** What an exec produced. */
export interface ExecResult {
  /** Exit status, or 128 + signal number. */
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

interface RuncStateJson {
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  created: string;
}

const EXIT_FILE = 'exit.json';
/** Socket names relative to the bundle, where the shim runs: short whatever the exec-root. */
const ATTACH_SOCKET = 'attach.sock';
const CONSOLE_SOCKET = 'console.sock';

/** /proc/self/limits row names of the rlimits berth renders. */
const LIMIT_NAMES: Readonly<Record<string, string>> = {
  'Max open files': 'RLIMIT_NOFILE',
  'Max processes': 'RLIMIT_NPROC',
  'Max core file size': 'RLIMIT_CORE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max stack size': 'RLIMIT_STACK',
};

/** Parses /proc/<pid>/limits into hard limits by OCI rlimit type. Pure. */
export function parseProcLimits(text: string): HostRlimits {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    for (const [name, type] of Object.entries(LIMIT_NAMES)) {
      if (!line.startsWith(name)) continue;
      const hard = line.slice(name.length).trim().split(/\s+/)[1];
      if (hard !== undefined) out[type] = hard === 'unlimited' ? Infinity : Number(hard);
    }
  }
  return out;
}

/** The daemon's hard rlimits and whether it may raise them (CAP_SYS_RESOURCE, bit 24). */
async function daemonRlimits(): Promise<{ host: HostRlimits; canRaise: boolean }> {
  const [limits, status] = await Promise.all([readFile('/proc/self/limits', 'utf8'), readFile('/proc/self/status', 'utf8')]);
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return { host: parseProcLimits(limits), canRaise: (BigInt(`0x${capEff}`) & (1n << 24n)) !== 0n };
}

/** Turns `SIGTERM`, `TERM`, `15` or 15 into a signal number; throws ERR_INVALID_PARAMETER. */
export function parseSignal(signal: string | number): number {
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
  } else {
    const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
    const n = (osConstants.signals as Record<string, number | undefined>)[name];
    if (n !== undefined) return n;
  }
  throw invalid(`invalid signal: ${JSON.stringify(signal)}`);
}

/** Messages of `level: error` entries in runc's JSON log output (file or stderr). */
export function runcErrors(text: string): string[] {
  const msgs: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if ((v.level === 'error' || v.level === 'fatal') && typeof v.msg === 'string') msgs.push(v.msg);
    } catch {
      // not a log line
    }
  }
  return msgs;
}

/** `spec` with a terminal, as `renderOciSpec({ terminal: true })` renders one. Pure. */
export function withTerminal(spec: OciSpec): OciSpec {
  const hasTerm = spec.process.env.some((e) => e.startsWith('TERM='));
  return { ...spec, process: { ...spec.process, terminal: true, env: hasTerm ? spec.process.env : [...spec.process.env, 'TERM=xterm'] } };
}

/**
 * The runc runtime of one daemon. Holds configuration and, in memory, only the attaches that
 * wait for a start (see `expectAttach`); all other state is in files, the shims and runc.
 */
export class RuncRuntime {
  readonly #root: string;
  readonly #execRoot: string;
  readonly #runcPath: string;
  readonly #shim: string;
  readonly #startTimeoutMs: number;
  #resolvedRunc: string | undefined;
  /** Container id → callbacks of attaches waiting for its next start. */
  readonly #attachWaiters = new Map<string, Set<() => void>>();

  constructor(opts: RuncRuntimeOptions) {
    if (!opts.root.startsWith('/') || !opts.execRoot.startsWith('/')) throw invalid('runtime root and exec-root must be absolute paths');
    this.#root = opts.root;
    this.#execRoot = opts.execRoot;
    this.#runcPath = opts.runc ?? 'runc';
    this.#shim = opts.shim ?? DEFAULT_SHIM_PATH;
    this.#startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  /** `runc --root` of this daemon. */
  get runcRoot(): string {
    return join(this.#execRoot, 'runc');
  }

  /** The files of container `id`. Throws ERR_INVALID_PARAMETER for an unusable id. */
  paths(id: string): ContainerPaths {
    const dir = containerDir(this.#root, id);
    const bundle = join(this.#execRoot, 'bundles', id);
    return {
      bundle,
      config: join(bundle, 'config.json'),
      pidFile: join(bundle, 'init.pid'),
      runcLog: join(bundle, 'runc.log'),
      shimLog: join(bundle, 'shim.log'),
      shimPidFile: join(bundle, 'shim.pid'),
      attachSocket: join(bundle, ATTACH_SOCKET),
      containerDir: dir,
      log: join(dir, `${id}-json.log`),
      exitFile: join(dir, EXIT_FILE),
    };
  }

  async #runc(args: readonly string[], timeoutMs = 30_000): Promise<ToolResult> {
    return runTool(this.#runcPath, ['--root', this.runcRoot, '--log-format', 'json', ...args], { timeoutMs });
  }

  /** runc's error text from a failed run: its JSON error messages, else its output. */
  #runcMessage(r: ToolResult): string {
    const msgs = runcErrors(r.stderr.toString('utf8'));
    return msgs.length ? msgs.join('; ') : describeFailure('runc', r);
  }

  async #runcState(id: string): Promise<RuncStateJson | null> {
    const r = await this.#runc(['state', id]);
    if (r.status === 0) return JSON.parse(r.stdout.toString('utf8')) as RuncStateJson;
    if (/does not exist/.test(r.stderr.toString('utf8'))) return null;
    throw new BerthError('ERR_RUNTIME', `state of container ${id}: ${this.#runcMessage(r)}`);
  }

  /**
   * Starts container `id` from `spec` (see bundle.ts `renderOciSpec`): writes the bundle and
   * runs it under a new berth-shim. A stopped leftover of the same id in runc is deleted first;
   * a running one is a conflict. The previous exit file is removed; the log is appended to.
   * When an attach waits for this start (`expectAttach`), the shim holds the output for it and
   * the waiter is told once the start has succeeded.
   */
  async start(id: string, spec: OciSpec, opts: StartOptions = {}): Promise<StartedContainer> {
    checkContainerId(id);
    const tty = (opts.tty ?? false) || spec.process.terminal;
    const p = this.paths(id);
    // runc keeps each container's state in `<runc root>/<id>/`; only ask runc (≈6 ms) when
    // that directory exists, i.e. when there is a leftover to deal with.
    const leftover = await access(join(this.runcRoot, id)).then(
      () => true,
      () => false,
    );
    const existing = leftover ? await this.#runcState(id) : null;
    if (existing?.status === 'running' || existing?.status === 'paused' || existing?.status === 'pausing') {
      throw new BerthError('ERR_CONTAINER_STATE', `container ${id} is already running`);
    }
    if (existing) await this.delete(id, { force: true });
    await mkdir(this.runcRoot, { recursive: true, mode: 0o700 });
    await mkdir(p.bundle, { recursive: true, mode: 0o700 });
    await mkdir(p.containerDir, { recursive: true, mode: 0o700 });
    await Promise.all([p.exitFile, p.pidFile, p.runcLog, p.shimPidFile].map((f) => rm(f, { force: true })));
    const { host, canRaise } = await daemonRlimits();
    await writeFile(p.config, JSON.stringify(clampRlimits(tty ? withTerminal(spec) : spec, host, canRaise)));

    // Someone waits to attach (`docker run` attaches first): the shim holds the output for it.
    const waiters = this.#attachWaiters.get(id);
    const args = [
      '--runc', await this.#runcBinary(),
      '--runc-root', this.runcRoot,
      '--bundle', p.bundle,
      '--id', id,
      '--pid-file', p.pidFile,
      '--runc-log', p.runcLog,
      '--log', p.log,
      '--exit-file', p.exitFile,
      '--attach-socket', ATTACH_SOCKET,
      ...(opts.openStdin ? ['--stdin'] : []),
      ...(tty ? ['--tty', '--console-socket', CONSOLE_SOCKET] : []),
      ...(waiters !== undefined && waiters.size > 0 ? ['--hold'] : []),
    ];
    const { report, shimPid } = await this.#runShim(args, { cwd: p.bundle, shimLog: p.shimLog, what: `start container ${id}` });
    if (shimPid !== undefined) await writeFile(p.shimPidFile, `${shimPid}\n`);
    const parsed = parseShimReport(report);
    if (parsed?.kind === 'ok') {
      for (const w of waiters ?? []) w();
      this.#attachWaiters.delete(id);
      return { pid: parsed.pid, shimPid: shimPid ?? 0 };
    }
    const detail = await this.#shimFailure(parsed, p.runcLog, p.shimLog);
    await this.#runc(['delete', '--force', id]).catch(() => undefined);
    await rm(p.bundle, { recursive: true, force: true });
    throw new BerthError('ERR_RUNTIME', `start container ${id}: runc run failed: ${detail}`);
  }

  /**
   * Spawns berth-shim detached with `args` and returns what it reported on its stdout before
   * it stopped talking to us (see shim.ts `parseShimReport`). Its diagnostics go to `shimLog`.
   */
  async #runShim(args: readonly string[], o: { cwd: string; shimLog: string; what: string }): Promise<{ report: string; shimPid: number | undefined }> {
    const shimLog = await open(o.shimLog, 'a', 0o600);
    try {
      const child = spawn(this.#shim, args, { detached: true, stdio: ['ignore', 'pipe', shimLog.fd], cwd: o.cwd });
      const shimPid = child.pid;
      if (shimPid === undefined) {
        const [e] = (await once(child, 'error')) as [NodeJS.ErrnoException];
        const hint = e.code === 'ENOENT' ? ': build it with buildShim() (src/runtime/shim.ts)' : '';
        throw new BerthError('ERR_RUNTIME', `${o.what}: run berth-shim ${this.#shim}: ${e.message}${hint}`, { cause: e });
      }
      const report = await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          // Our own child's process group: the shim and the runc it started.
          try {
            process.kill(-shimPid, 'SIGKILL');
          } catch {
            // already gone
          }
          reject(new BerthError('ERR_RUNTIME', `${o.what}: runc did not report within ${this.#startTimeoutMs} ms`));
        }, this.#startTimeoutMs);
        child.on('error', (e: Error) => {
          clearTimeout(timer);
          reject(new BerthError('ERR_RUNTIME', `${o.what}: berth-shim: ${e.message}`, { cause: e }));
        });
        child.stdout?.on('data', (b: Buffer) => chunks.push(b));
        child.stdout?.on('end', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
      });
      // From here the shim lives on its own; berthd must not wait for it.
      child.unref();
      return { report, shimPid };
    } finally {
      await shimLog.close();
    }
  }

  /** The best description of a failed shim start: runc's log, the report, the shim's stderr. */
  async #shimFailure(parsed: ShimReport | null, runcLog: string, shimLog: string): Promise<string> {
    const msgs = runcErrors(await readFile(runcLog, 'utf8').catch(() => ''));
    if (msgs.length) return msgs.join('; ');
    if (parsed?.kind === 'error' && parsed.message) return parsed.message;
    return (await readFile(shimLog, 'utf8').catch(() => '')).trim() || 'berth-shim exited without a report';
  }

  async #runcBinary(): Promise<string> {
    return this.#runcPath === 'runc' ? this.#resolveRunc() : this.#runcPath;
  }

  /** The shim execs runc by path (execl), so find `runc` in PATH once. */
  async #resolveRunc(): Promise<string> {
    if (this.#resolvedRunc) return this.#resolvedRunc;
    for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
      const candidate = join(dir || '.', 'runc');
      try {
        await access(candidate, fsConstants.X_OK);
        this.#resolvedRunc = candidate;
        return candidate;
      } catch {
        // next
      }
    }
    throw new BerthError('ERR_RUNTIME', 'runc not found in PATH: install runc');
  }

  /** runc's state plus the recorded exit. Throws ERR_CONTAINER_NOT_FOUND if runc has no such container. */
  async state(id: string): Promise<ContainerState> {
    checkContainerId(id);
    const s = await this.#runcState(id);
    if (!s) throw new BerthError('ERR_CONTAINER_NOT_FOUND', `No such container: ${id}`);
    return this.#toState(s);
  }

  async #toState(s: RuncStateJson): Promise<ContainerState> {
    const exit = s.status === 'stopped' ? await this.readExit(s.id) : null;
    return { id: s.id, status: s.status, pid: s.pid > 0 && s.status !== 'stopped' ? s.pid : null, bundle: s.bundle, created: s.created, exit };
  }

  /** Every container runc knows under this daemon's exec-root. */
  async list(): Promise<ContainerState[]> {
    const r = await this.#runc(['list', '--format', 'json']);
    if (r.status !== 0) throw new BerthError('ERR_RUNTIME', `list containers: ${this.#runcMessage(r)}`);
    const list = JSON.parse(r.stdout.toString('utf8') || 'null') as RuncStateJson[] | null;
    return Promise.all((list ?? []).map((s) => this.#toState(s)));
  }

  /** The recorded exit status, or null while the process runs (or never ran). */
  async readExit(id: string): Promise<ExitStatus | null> {
    try {
      const v = JSON.parse(await readFile(this.paths(id).exitFile, 'utf8')) as ExitStatus;
      return { exitCode: v.exitCode, signal: v.signal, exitedAt: v.exitedAt, ...(v.unknown ? { unknown: true } : {}) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new BerthError('ERR_RUNTIME', `read exit status of ${id}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** PID of the container's berth-shim if it is still alive. */
  async shimPid(id: string): Promise<number | null> {
    const p = this.paths(id);
    const pid = Number((await readFile(p.shimPidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    // Guard against PID reuse: the process must be a berth-shim for this bundle.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const argv = cmdline.split('\0');
    return argv.some((a) => a.endsWith('berth-shim')) && argv.includes(p.bundle) ? pid : null;
  }

  /**
   * Resolves with the exit status once the main process has exited and the shim has recorded
   * it, or null after `timeoutMs` (default: no limit). Works for containers started by an
   * earlier berthd. If the shim died without recording an exit and runc says the container
   * is gone, resolves with exit code 255 and `unknown: true`.
   */
  async waitExit(id: string, timeoutMs?: number): Promise<ExitStatus | null> {
    const p = this.paths(id);
    const first = await this.readExit(id);
    if (first) return first;
    return new Promise<ExitStatus | null>((resolve, reject) => {
      let settled = false;
      let watcher: FSWatcher | undefined;
      let ticks = 0;
      const finish = (v: ExitStatus | null, err?: unknown): void => {
        if (settled) return;
        settled = true;
        watcher?.close();
        clearInterval(poll);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      };
      const check = (): void => {
        this.readExit(id).then((v) => v && finish(v), (e: unknown) => finish(null, e));
      };
      // inotify tells us at once when the shim renames exit.json into place; the poll is a
      // fallback and also notices a shim that died without writing it.
      try {
        watcher = watch(p.containerDir, (_ev, name) => {
          if (name === EXIT_FILE) check();
        });
        watcher.on('error', () => undefined);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          settled = true;
          reject(new BerthError('ERR_CONTAINER_NOT_FOUND', `No such container: ${id}`));
          return;
        }
        throw e;
      }
      // The fallback must stay cheap: every running container has one of these. A poll that
      // read exit.json every 250 ms and the shim's /proc entry every second cost 6 file reads a
      // second per container — at 300 running, run -d took twice as long (the thread pool was
      // busy reading). Now a signal-0 probe of the shim (no I/O) each second, and the files
      // only when the shim is gone, or every 10 s (a shim that is a zombie still answers kill).
      let shim: number | null = null;
      const poll = setInterval(() => {
        ticks++;
        void (async () => {
          if (settled) return;
          if (shim !== null && ticks % 10 !== 0 && pidAlive(shim)) return;
          shim = await this.shimPid(id);
          if (settled || (shim !== null && pidAlive(shim))) return;
          if (await this.readExit(id)) return check();
          const s = await this.#runcState(id).catch(() => null);
          if (s === null || s.status === 'stopped') {
            finish({ exitCode: 255, signal: null, exitedAt: new Date().toISOString(), unknown: true });
          }
        })().catch((e: unknown) => finish(null, e));
      }, 1000);
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(null), timeoutMs);
      check(); // the file may have appeared before the watch started
    });
  }

  /** `runc kill`: signals the main process. ERR_CONTAINER_STATE when it is not running. */
  async kill(id: string, signal: string | number = 'SIGTERM'): Promise<void> {
    checkContainerId(id);
    const n = parseSignal(signal);
    const r = await this.#runc(['kill', id, String(n)]);
    if (r.status === 0) return;
    const msg = this.#runcMessage(r);
    if (/does not exist/.test(msg)) throw new BerthError('ERR_CONTAINER_NOT_FOUND', `No such container: ${id}`);
    if (/not running|stopped/.test(msg)) throw new BerthError('ERR_CONTAINER_STATE', `Container ${id} is not running`);
    throw new BerthError('ERR_RUNTIME', `kill container ${id}: ${msg}`);
  }

  /**
   * `docker stop`: the stop signal, up to `timeoutSec` for the process to exit, then SIGKILL.
   * PID 1 of a container ignores signals it has no handler for, so `sleep` needs the SIGKILL.
   */
  async stop(id: string, opts: StopOptions = {}): Promise<StopResult> {
    const timeoutSec = opts.timeoutSec ?? 10;
    const s = await this.state(id);
    if (s.status === 'stopped') return { wasRunning: false, exit: s.exit ?? (await this.waitExit(id, 2000)) };
    const tolerateNotRunning = (e: unknown): void => {
      if (!(e instanceof BerthError && e.code === 'ERR_CONTAINER_STATE')) throw e;
    };
    await this.kill(id, opts.signal ?? 'SIGTERM').catch(tolerateNotRunning);
    let exit = timeoutSec === 0 ? await this.readExit(id) : await this.waitExit(id, timeoutSec < 0 ? undefined : timeoutSec * 1000);
    if (!exit) {
      await this.kill(id, 'SIGKILL').catch(tolerateNotRunning);
      exit = await this.waitExit(id, 30_000);
      if (!exit) throw new BerthError('ERR_RUNTIME', `stop container ${id}: still running 30 s after SIGKILL`);
    }
    return { wasRunning: true, exit };
  }

  /**
   * `runc delete` and the bundle directory; the log and exit file stay (they belong to the
   * container until the engine removes `<root>/containers/<id>`). A container runc does not
   * know is already deleted. A running one needs `force` (SIGKILL), else ERR_CONTAINER_STATE.
   * Waits (up to 10 s) for the shim to record the exit, so no process is left behind.
   */
  async delete(id: string, opts: { readonly force?: boolean } = {}): Promise<void> {
    checkContainerId(id);
    const p = this.paths(id);
    if (opts.force && (await this.#runcState(id))?.status === 'running') {
      // `runc delete --force` polls for the death of a running container in 100 ms sleeps;
      // SIGKILL and the shim's exit record (inotify) are quicker.
      await this.kill(id, 'SIGKILL').catch(() => undefined);
      await this.waitExit(id, 5000).catch(() => null);
    }
    const r = await this.#runc(['delete', ...(opts.force ? ['--force'] : []), id]);
    if (r.status !== 0) {
      const msg = this.#runcMessage(r);
      if (/running/.test(msg) && !opts.force) {
        throw new BerthError('ERR_CONTAINER_STATE', `cannot remove container ${id}: container is running: stop the container before removing or force remove`);
      }
      if (!/does not exist/.test(msg)) throw new BerthError('ERR_RUNTIME', `delete container ${id}: ${msg}`);
    }
    if ((await this.shimPid(id)) !== null) await this.waitExit(id, 10_000).catch(() => null);
    await rm(p.bundle, { recursive: true, force: true });
  }

  /**
   * `docker exec` without a terminal: runs `args` in the running container with its
   * environment plus `env`, collects stdout/stderr and the exit code. runc's own failures
   * (no such executable, bad cwd) throw ERR_RUNTIME with runc's message; a container that is
   * not running gives ERR_CONTAINER_STATE.
   */
  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    checkContainerId(id);
    if (opts.args.length === 0) throw invalid('no command specified');
    for (const e of opts.env ?? []) if (!/^[^=\0]+=[^\0]*$/.test(e)) throw invalid(`invalid environment variable: ${JSON.stringify(e)}`);
    const p = this.paths(id);
    const log = join(p.bundle, `exec-${randomBytes(6).toString('hex')}.log`);
    const args = ['--root', this.runcRoot, '--log', log, '--log-format', 'json', 'exec'];
    if (opts.cwd) args.push('--cwd', opts.cwd);
    for (const e of opts.env ?? []) args.push('--env', e);
    if (opts.user) args.push('--user', `${opts.user.uid}:${opts.user.gid}`);
    // runc exec stops parsing its own flags at the container id (SkipArgReorder), so args that
    // look like flags reach the process unchanged.
    args.push(id, ...opts.args);
    const r = await runTool(this.#runcPath, args, {
      ...(opts.stdin === undefined ? {} : { input: opts.stdin }),
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.maxBuffer === undefined ? {} : { maxBuffer: opts.maxBuffer }),
    });
    const errors = runcErrors(await readFile(log, 'utf8').catch(() => ''));
    await rm(log, { force: true });
    if (r.timedOut) throw new BerthError('ERR_RUNTIME', `exec in container ${id}: timed out after ${opts.timeoutMs} ms`);
    if (errors.length > 0) {
      const s = await this.#runcState(id).catch(() => null);
      if (!s) throw new BerthError('ERR_CONTAINER_NOT_FOUND', `No such container: ${id}`);
      if (s.status !== 'running') throw new BerthError('ERR_CONTAINER_STATE', `Container ${id} is not running`);
      throw new BerthError('ERR_RUNTIME', `exec in container ${id}: ${errors.join('; ')}`);
    }
    const exitCode = r.status ?? 128 + (r.signal ? (osConstants.signals[r.signal] ?? 0) : 0);
    return { exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * Announces an attach that waits for the next start of `id` (`docker run` attaches before
   * it starts the container): that start makes the shim hold the output until the first
   * client attaches, and `started` resolves when it has succeeded. Call `cancel` when the
   * client goes away first.
   */
  expectAttach(id: string): PendingAttach {
    checkContainerId(id);
    let waiters = this.#attachWaiters.get(id);
    if (waiters === undefined) {
      waiters = new Set();
      this.#attachWaiters.set(id, waiters);
    }
    const set = waiters;
    let notify!: () => void;
    const started = new Promise<void>((resolve) => {
      notify = resolve;
    });
    set.add(notify);
    return {
      started,
      cancel: () => {
        set.delete(notify);
        if (set.size === 0 && this.#attachWaiters.get(id) === set) this.#attachWaiters.delete(id);
      },
    };
  }

  /**
   * Attaches to the shim of container `id`: its output from now on (from the start, right
   * after a start that held it for us), and a way to its stdin and terminal size. Works for
   * containers started by an earlier berthd. ERR_CONTAINER_STATE when no shim serves it.
   */
  async attach(id: string): Promise<ShimConnection> {
    return this.#connectShim(id, true);
  }

  /** Sets the terminal size of container `id` (TIOCSWINSZ on its pty; ignored without one). */
  async resize(id: string, rows: number, cols: number): Promise<void> {
    const frame = encodeResize(rows, cols);
    const c = await this.#connectShim(id, false);
    await new Promise<void>((resolve) => c.socket.end(frame, () => resolve()));
  }

  async #connectShim(id: string, attach: boolean): Promise<ShimConnection> {
    checkContainerId(id);
    try {
      return await ShimConnection.connect(this.paths(id).attachSocket, { attach });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        throw new BerthError('ERR_CONTAINER_STATE', `Container ${id} is not running`, { cause: e });
      }
      throw new BerthError('ERR_RUNTIME', `attach to container ${id}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * `docker exec -i` / `-t`: starts `args` in running container `id` under a berth-shim of
   * its own (`runc exec -d`, with a pty when `tty`), and connects to it unless `detach`. The
   * process runs with the container's process settings (capabilities, rlimits, user) plus
   * `env`, `cwd` and `user`. Its output is not logged. runc's failures (no such executable)
   * throw ERR_RUNTIME with runc's message; a container that is not running gives
   * ERR_CONTAINER_STATE, an unknown one ERR_CONTAINER_NOT_FOUND.
   */
  async execAttached(id: string, opts: AttachedExecOptions): Promise<ExecSession> {
    checkContainerId(id);
    if (opts.args.length === 0) throw invalid('no command specified');
    for (const e of opts.env ?? []) if (!/^[^=\0]+=[^\0]*$/.test(e)) throw invalid(`invalid environment variable: ${JSON.stringify(e)}`);
    const p = this.paths(id);
    const notRunning = async (cause?: unknown): Promise<BerthError> => {
      const s = await this.#runcState(id).catch(() => null);
      if (!s) return new BerthError('ERR_CONTAINER_NOT_FOUND', `No such container: ${id}`, { cause });
      if (s.status !== 'running') return new BerthError('ERR_CONTAINER_STATE', `Container ${id} is not running`, { cause });
      return new BerthError('ERR_RUNTIME', `exec in container ${id}: ${(cause as Error | undefined)?.message ?? 'failed'}`, { cause });
    };
    let config: OciSpec;
    try {
      config = JSON.parse(await readFile(p.config, 'utf8')) as OciSpec;
    } catch (e) {
      throw await notRunning(e);
    }
    const base = config.process;
    const env = mergeEnv(base.env, opts.env ?? []);
    if (opts.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
    const proc: OciProcess = {
      ...base,
      terminal: opts.tty ?? false,
      args: [...opts.args],
      env,
      cwd: opts.cwd || base.cwd,
      user: opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : base.user,
    };
    // Sockets by name (the shim runs in the bundle: sun_path is short); other files by path.
    const x = `exec-${randomBytes(6).toString('hex')}`;
    const f = {
      process: join(p.bundle, `${x}.json`),
      pid: join(p.bundle, `${x}.pid`),
      exit: join(p.bundle, `${x}.exit`),
      runcLog: join(p.bundle, `${x}.runc.log`),
      shimLog: join(p.bundle, `${x}.shim.log`),
      socket: join(p.bundle, `${x}.sock`),
    };
    const cleanup = async (): Promise<void> => {
      await Promise.all([...Object.values(f), join(p.bundle, `${x}.console`)].map((file) => rm(file, { force: true })));
    };
    await writeFile(f.process, JSON.stringify(proc), { mode: 0o600 });
    const args = [
      '--runc', await this.#runcBinary(),
      '--runc-root', this.runcRoot,
      '--bundle', p.bundle,
      '--id', id,
      '--pid-file', f.pid,
      '--runc-log', f.runcLog,
      '--exit-file', f.exit,
      '--attach-socket', `${x}.sock`,
      '--exec-process', f.process,
      ...(opts.openStdin ? ['--stdin'] : []),
      ...(opts.tty ? ['--tty', '--console-socket', `${x}.console`] : []),
      ...(opts.detach ? [] : ['--hold']),
    ];
    let started: { report: string; shimPid: number | undefined };
    try {
      started = await this.#runShim(args, { cwd: p.bundle, shimLog: f.shimLog, what: `exec in container ${id}` });
    } catch (e) {
      await cleanup();
      throw e;
    }
    const parsed = parseShimReport(started.report);
    if (parsed?.kind !== 'ok') {
      const detail = await this.#shimFailure(parsed, f.runcLog, f.shimLog);
      await cleanup();
      const err = await notRunning();
      throw err.code === 'ERR_RUNTIME' ? new BerthError('ERR_RUNTIME', `exec in container ${id}: ${detail}`) : err;
    }
    const exit = this.#execExit(f.exit, started.shimPid, cleanup);
    let connection: ShimConnection | null = null;
    if (!opts.detach) {
      try {
        connection = await ShimConnection.connect(f.socket);
      } catch (e) {
        // The shim holds the output for 10 s, then finishes on its own; `exit` cleans up.
        throw new BerthError('ERR_RUNTIME', `exec in container ${id}: attach: ${(e as Error).message}`, { cause: e });
      }
    }
    return { pid: parsed.pid, connection, exit };
  }

  /**
   * The exit of an attached exec, then its files removed: its shim writes the exit file
   * before it sends EXIT and closes the connection, then exits. A shim that dies without one
   * gives 255, unknown. Polls (100 ms): the attached caller has the EXIT frame sooner.
   */
  async #execExit(exitFile: string, shimPid: number | undefined, cleanup: () => Promise<void>): Promise<ExitStatus> {
    const shimAlive = (): boolean => shimPid !== undefined && pidAlive(shimPid);
    let exit: ExitStatus | null = null;
    for (;;) {
      exit = await readFile(exitFile, 'utf8').then(
        (s) => parseExitFrame(Buffer.from(s)),
        () => null,
      );
      if (exit !== null) break;
      if (!shimAlive()) {
        exit = await readFile(exitFile, 'utf8').then(
          (s) => parseExitFrame(Buffer.from(s)),
          () => null,
        );
        exit ??= { exitCode: 255, signal: null, exitedAt: new Date().toISOString(), unknown: true };
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let the shim remove its socket and exit before the files go. Never rejects: callers
    // may not be listening any more.
    for (let i = 0; i < 50 && shimAlive(); i++) await new Promise((r) => setTimeout(r, 100));
    await cleanup().catch(() => undefined);
    return exit;
  }
}

/** Whether a process exists (signal 0: no signal is sent). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
