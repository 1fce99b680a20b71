/**
 * Runs an external tool (runc, mount, tar, cc) with an argv array — never through a shell — and
 * collects its exit status and output. A non-zero exit is a result, not an exception; only a
 * tool that cannot be started (ENOENT, EACCES) rejects.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../errors.js';

/** What a finished tool run produced. */
export interface ToolResult {
  /** Exit status, or null when the tool was killed by a signal. */
  readonly status: number | null;
  /** The signal that killed the tool, if any. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** True when the tool was killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
}

/** Options for {@link runTool}. */
export interface RunToolOptions {
  /** Bytes written to the tool's stdin (stdin is /dev/null when absent). */
  readonly input?: Buffer | Readable;
  /** Kill the tool after this long (SIGTERM, then SIGKILL after `killGraceMs`). */
  readonly timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on timeout; default 2000 ms. */
  readonly killGraceMs?: number;
  /** Keep at most this many bytes of each output stream; default 64 MiB. */
  readonly maxBuffer?: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs `file` with `args` and resolves with its status and output. */
export function runTool(file: string, args: readonly string[], opts: RunToolOptions = {}): Promise<ToolResult> {
  const maxBuffer = opts.maxBuffer ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: opts.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout?.on('data', (b: Buffer) => {
      if (outLen < maxBuffer) out.push(b.subarray(0, maxBuffer - outLen));
      outLen += b.length;
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (errLen < maxBuffer) err.push(b.subarray(0, maxBuffer - errLen));
      errLen += b.length;
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            killTimer = setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 2000);
          }, opts.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      reject(new BerthError('ERR_RUNTIME', `run ${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut });
    });
    if (child.stdin) {
      // A tool that exits without reading its stdin makes the write fail with EPIPE: that is
      // the tool's business and shows in its status, not an error of ours.
      child.stdin.on('error', () => {});
      if (Buffer.isBuffer(opts.input)) child.stdin.end(opts.input);
      else if (opts.input) pipeline(opts.input, child.stdin).catch(() => {});
    }
  });
}

/** One line describing a failed run, for error messages: "mount exited 32: <stderr>". */
export function describeFailure(file: string, r: ToolResult): string {
  const how = r.timedOut
    ? 'timed out'
    : r.status === null
      ? `was killed by ${r.signal ?? 'a signal'}`
      : `exited ${r.status}`;
  const text = r.stderr.toString('utf8').trim() || r.stdout.toString('utf8').trim();
  return text ? `${file} ${how}: ${text}` : `${file} ${how}`;
}
