/**
 * Applying nft scripts. Each apply is one transaction: all of it or nothing.
 *
 * `NftSession` keeps one `nft -i` co-process in the target netns and writes each script to it
 * as a single line (interactive nft commits one transaction per line). Measured here: an
 * element add/delete ~0.2–0.4 ms and a whole structural replace ~2–3 ms, flat in the number of
 * elements, against ~5–15 ms for an `nft -f -` exec (KERNEL-NOTES: 5–8 ms).
 *
 * Very long scripts (a start-up replace with thousands of ports) go through `nft -f -` instead
 * (`large`): interactive nft is slow on very long lines.
 *
 * Framing: nft -i writes nothing on success and errors to stderr (stdout is block-buffered
 * into a pipe, so it is useless for this). After each script we send a line that is sure to be a
 * syntax error, `berth-sync-<n>`; nft echoes it in its error message, so everything on stderr
 * before that echo belongs to the script. The sentinel costs no kernel round trip.
 *
 * `KernelNftApplier` goes through `Kernel.nftApply` (`nft -f -` per call): the fallback when the
 * co-process cannot be used, and the applier of unit tests (with the fake kernel).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { KernelError } from '../errors.js';
import type { Kernel, NetnsRef } from '../kernel/types.js';

/** Something that applies an nft script as one transaction. */
export interface NftApplier {
  /** A short name for logs and measurements. */
  readonly kind: string;
  apply(script: string): Promise<void>;
  /** Stops what it runs (idempotent). */
  close(): void;
}

/** Applies through `Kernel.nftApply` (one `nft -f -` exec per script). */
export class KernelNftApplier implements NftApplier {
  readonly kind = 'nft -f';
  readonly #kernel: Kernel;
  readonly #netns: NetnsRef;

  constructor(kernel: Kernel, netns: NetnsRef = null) {
    this.#kernel = kernel;
    this.#netns = netns;
  }

  apply(script: string): Promise<void> {
    return this.#kernel.nftApply(this.#netns, script);
  }

  close(): void {}
}

/** Options of a session. */
export interface NftSessionOptions {
  /** Where nft runs: null = our own netns; a path = that netns (through nsenter). */
  readonly netns?: NetnsRef;
  readonly nftPath?: string;
  readonly nsenterPath?: string;
  /** A script that takes longer kills the co-process and fails (default 10 s). */
  readonly timeoutMs?: number;
  /**
   * Where scripts longer than `largeBytes` (default 32 KiB) go instead, in the same order:
   * interactive nft parses a very long line slowly (a 10,000-port replace: ~0.7 s as one line,
   * ~0.2 s through `nft -f -`).
   */
  readonly large?: NftApplier;
  readonly largeBytes?: number;
}

interface Pending {
  readonly token: string;
  readonly resolve: (stderr: string) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Joins a script into one line: nft accepts `;` wherever it accepts a newline. */
export function toOneLine(script: string): string {
  return script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

/** A persistent `nft -i` co-process. Scripts are applied one at a time, in call order. */
export class NftSession implements NftApplier {
  readonly kind = 'nft -i';
  readonly #opts: NftSessionOptions;
  #child: ChildProcess | undefined;
  #stderr = '';
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #seq = 0;
  #closed = false;

  constructor(opts: NftSessionOptions = {}) {
    this.#opts = opts;
  }

  /** The co-process' PID, when it runs (tests, logs). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  apply(script: string): Promise<void> {
    const large = this.#opts.large;
    const run =
      large !== undefined && script.length > (this.#opts.largeBytes ?? 32 * 1024)
        ? () => large.apply(script)
        : () => this.#apply(toOneLine(script));
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    void this.stop();
  }

  /**
   * Ends the co-process: closes its stdin (nft -i exits at end of input), kills it if it is
   * still there after a second, and resolves once it is gone (reaped).
   */
  stop(): Promise<void> {
    this.#closed = true;
    this.#opts.large?.close();
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin?.end();
    });
  }

  #argv(): string[] {
    const nft = this.#opts.nftPath ?? 'nft';
    const netns = this.#opts.netns ?? null;
    return netns === null ? [nft, '-i'] : [this.#opts.nsenterPath ?? 'nsenter', `--net=${netns}`, '--', nft, '-i'];
  }

  #error(message: string, stderr = '', cause?: unknown): KernelError {
    return new KernelError(`nft-session${this.#opts.netns ? ` in netns ${this.#opts.netns}` : ''}: ${message}`, {
      op: 'nft-apply',
      netns: this.#opts.netns ?? null,
      exec: { argv: this.#argv(), status: this.#child?.exitCode ?? null, stderr },
      ...(cause === undefined ? {} : { cause }),
    });
  }

  #start(): ChildProcess {
    const [cmd = 'nft', ...args] = this.#argv();
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (this.#child !== child) return;
      this.#stderr += chunk;
      this.#settle();
    });
    const gone = (why: string, cause?: unknown) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      const p = this.#pending;
      this.#pending = undefined;
      if (p !== undefined) {
        clearTimeout(p.timer);
        p.reject(this.#error(why, this.#stderr, cause));
      }
    };
    child.on('error', (err) => gone(`cannot run nft: ${err.message}`, err));
    child.on('exit', (code, signal) => gone(`nft exited (${signal ?? code})`));
    child.stdin?.on('error', () => undefined);
    // The co-process must not keep berthd alive: a pending apply holds its own timer instead.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    this.#child = child;
    return child;
  }

  #apply(line: string): Promise<void> {
    if (this.#closed) return Promise.reject(this.#error('session closed'));
    const child = this.#child ?? this.#start();
    const token = `berth-sync-${++this.#seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        const stderr = this.#stderr;
        this.#child = undefined;
        child.kill('SIGKILL');
        reject(this.#error(`no answer within ${this.#opts.timeoutMs ?? 10_000} ms`, stderr));
      }, this.#opts.timeoutMs ?? 10_000);
      this.#pending = {
        token,
        timer,
        reject,
        resolve: (stderr) => {
          const failed = /^Error:/m.test(stderr);
          if (!failed) return resolve();
          const first = stderr.split('\n').find((l) => l.startsWith('Error:')) ?? 'error';
          reject(this.#error(first.replace(/^Error:\s*/, ''), truncate(stderr)));
        },
      };
      child.stdin?.write(`${line}\n${token}\n`);
    });
  }

  /** Completes the pending apply once the sentinel's error (three lines) has arrived. */
  #settle(): void {
    const p = this.#pending;
    if (p === undefined) return;
    const at = this.#stderr.indexOf(`\n${p.token}\n`);
    if (at < 0) return;
    const caretEnd = this.#stderr.indexOf('\n', at + p.token.length + 2);
    if (caretEnd < 0) return;
    // Drop the sentinel's own "Error: syntax error…" line, the last line before its echo.
    const before = this.#stderr.slice(0, at);
    const own = before.lastIndexOf('\n');
    const output = own < 0 ? '' : before.slice(0, own + 1);
    this.#stderr = this.#stderr.slice(caretEnd + 1);
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.resolve(output);
  }
}

/** nft echoes the failing line: keep error texts readable when that line is a 10,000-port map. */
function truncate(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
    .join('\n');
}
