/**
 * Small helpers of the benchmark: processes with time limits, HTTP over a unix socket, clean-up
 * that also runs on failure and on Ctrl-C, and /proc readings.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs as dist/bench/util.js). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The peers' scripts (shared/ beside the repository). */
export const PEERS_DIR = process.env['BERTH_PEERS_DIR'] ?? path.resolve(REPO, '../shared/peers');

/** Milliseconds from a monotonic clock. */
export function nowMs(): number {
  return performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A short random hex suffix for names of namespaces and directories. */
export function randomSuffix(bytes = 3): string {
  return randomBytes(bytes).toString('hex');
}

/** Progress on stderr (stdout carries only the table). */
export function progress(msg: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${msg}\n`);
}

// ----------------------------------------------------------------------------------------------
// Processes

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly timedOut: boolean;
}

export interface ExecOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Killed (SIGKILL) after this long; default 60 s. Every exec is bounded. */
  readonly timeoutMs?: number;
  /** Keep at most this many characters of each output stream (default 4 MB). */
  readonly maxOutput?: number;
}

/** Children of `exec` still running (so an interrupted run can stop them). */
const active = new Set<ChildProcess>();

/** SIGTERM to every child `exec` started that is still running (scripts run their traps). */
export async function stopActiveChildren(): Promise<void> {
  const kids = [...active];
  for (const c of kids) c.kill('SIGTERM');
  const deadline = nowMs() + 30_000;
  while (kids.some((c) => c.exitCode === null && c.signalCode === null) && nowMs() < deadline) await sleep(50);
  for (const c of kids) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Runs a command to completion, never throws for a non-zero exit (look at `code`). */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const max = opts.maxOutput ?? 4 * 1024 * 1024;
  return new Promise((resolve) => {
    const t0 = nowMs();
    const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env };
    if (opts.cwd !== undefined) spawnOpts.cwd = opts.cwd;
    const child = spawn(cmd, [...args], spawnOpts);
    active.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < max) stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < max) stderr += d.toString();
    });
    child.on('error', (err) => {
      active.delete(child);
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err.message), ms: nowMs() - t0, timedOut });
    });
    child.on('close', (code, signal) => {
      active.delete(child);
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: nowMs() - t0, timedOut });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** Like `exec` but throws with the command's stderr when it fails. */
export async function execOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`;
    throw new Error(`${cmd} ${args.join(' ')}: ${why}: ${lastLines(r.stderr || r.stdout, 5)}`);
  }
  return r.stdout;
}

/** The last `n` non-empty lines of a text, joined with ' | ' (for one-line reasons). */
export function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}

/** Whether an executable exists (absolute path or on PATH). */
export function haveCommand(name: string): boolean {
  if (name.includes('/')) return isExecutable(name);
  return (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => isExecutable(path.join(d, name)));
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

// ----------------------------------------------------------------------------------------------
// HTTP over a unix socket (berthd and the peer dockerd are asked the same way)

export interface HttpReply {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

/** One request; rejects on connection errors and after `timeoutMs` (default 60 s). */
export function unixRequest(socketPath: string, method: string, urlPath: string, body?: unknown, timeoutMs = 60_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
        agent: false,
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
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${urlPath}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A request that must answer 2xx; returns the parsed body. */
export async function unixRequestOk(socketPath: string, method: string, urlPath: string, body?: unknown): Promise<any> {
  const r = await unixRequest(socketPath, method, urlPath, body);
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${urlPath}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  return r.body;
}

// ----------------------------------------------------------------------------------------------
// Clean-up: everything the benchmark makes registers how to undo it, newest first.

type Cleanup = { readonly what: string; readonly fn: () => Promise<void> | void };
const cleanups: Cleanup[] = [];

/** Registers an undo step; returns a function that runs it now (and unregisters it). */
export function onCleanup(what: string, fn: () => Promise<void> | void): () => Promise<void> {
  const entry: Cleanup = { what, fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i < 0) return;
    cleanups.splice(i, 1);
    await runOne(entry);
  };
}

async function runOne(c: Cleanup): Promise<void> {
  try {
    await c.fn();
  } catch (err) {
    progress(`clean-up "${c.what}" failed: ${(err as Error).message}`);
  }
}

/** Runs every registered undo step, newest first. */
export async function runAllCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop() as Cleanup;
    await runOne(c);
  }
}

// ----------------------------------------------------------------------------------------------
// /proc

/** VmRSS of a process in kB, undefined when it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** PIDs whose exe basename is `name` and whose command line contains `mention`. */
export function pidsOf(name: string, mention: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const comm = fs.readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      if (comm !== name.slice(0, 15)) continue;
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(mention)) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount points at or below `dir`, deepest (latest) first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mnt = line.split(' ')[4];
    if (mnt !== undefined && (mnt === dir || mnt.startsWith(`${dir}/`))) out.push(mnt);
  }
  return out.reverse();
}

/** Lazily unmounts everything at or below `dir` (bounded number of rounds). */
export async function unmountAllUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mnts = mountsUnder(dir);
    if (mnts.length === 0) return;
    for (const m of mnts) await exec('umount', ['-l', m], { timeoutMs: 10_000 });
  }
}

/** Named network namespaces (`ip netns list`). */
export function netnsList(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}
