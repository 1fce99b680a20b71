/**
 * berth's per-container network setup/teardown, in-daemon-equivalent: makes a throwaway
 * "host" netns `bench-sb-<hex>` and a temp directory, runs berth-sandbox-worker.js inside that
 * netns with nsenter, and removes both afterwards (also on failure).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxWorkerArgs, SandboxWorkerResult } from './berth-sandbox-worker.js';
import { exec, execOk, lastLines, onCleanup, randomSuffix, unmountAllUnder } from './util.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'berth-sandbox-worker.js');

export async function measureBerthSandbox(opts: { rounds: number; batch: number }): Promise<SandboxWorkerResult> {
  const name = `bench-sb-${randomSuffix(4)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sb-'));
  const cleanup = onCleanup(`sandbox bench ${name}`, async () => {
    await unmountAllUnder(dir);
    if (fs.existsSync(`/run/netns/${name}`)) await exec('ip', ['netns', 'del', name], { timeoutMs: 60_000 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  try {
    await execOk('ip', ['netns', 'add', name]);
    await execOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const args: SandboxWorkerArgs = { dir, rounds: opts.rounds, batch: opts.batch, warmup: 5 };
    const r = await exec('nsenter', [`--net=/run/netns/${name}`, process.execPath, WORKER, JSON.stringify(args)], {
      timeoutMs: 10 * 60_000,
    });
    if (r.code !== 0) {
      // The worker's first line is its error message; the stack follows.
      const first = r.stderr.split('\n').find((l) => l.trim() !== '') ?? '';
      throw new Error(`sandbox worker failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${first.slice(0, 400) || lastLines(r.stdout, 2)}`);
    }
    const line = r.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as SandboxWorkerResult;
  } finally {
    await cleanup();
  }
}
