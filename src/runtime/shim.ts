/**
 * Where berth-shim (src/runtime/shim/berth-shim.c) is found and how it is built. The build is
 * one `cc` call (~0.3 s), needs only libc, and is skipped when the binary is newer than the
 * source. The package build is expected to run it (`buildShim()`), like the native addon's.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../errors.js';
import { describeFailure, runTool } from './run-tool.js';

/** The C source, found from the compiled module (dist/src/runtime/) or the source tree. */
export const SHIM_SOURCE = fileURLToPath(new URL('../../../src/runtime/shim/berth-shim.c', import.meta.url));

/** Default location of the built binary: `dist/bin/berth-shim`. */
export const DEFAULT_SHIM_PATH = fileURLToPath(new URL('../../bin/berth-shim', import.meta.url));

/** Parsed first line of the shim's report on its stdout. */
export type ShimReport =
  | { readonly kind: 'ok'; readonly pid: number }
  | { readonly kind: 'error'; readonly status: number; readonly message: string };

/**
 * Parses what berth-shim wrote to its stdout before detaching: `ok <pid>\n`, or
 * `error <runc status>\n<runc's output>`. Null when the output is neither (the shim died).
 */
export function parseShimReport(text: string): ShimReport | null {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const ok = /^ok (\d+)$/.exec(first);
  if (ok) return { kind: 'ok', pid: Number(ok[1]) };
  const err = /^error (-?\d+)$/.exec(first);
  if (err) return { kind: 'error', status: Number(err[1]), message: nl < 0 ? '' : text.slice(nl + 1).trim() };
  return null;
}

async function mtime(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * Compiles berth-shim to `output` unless it is already newer than `source`. Returns `output`.
 * Throws ERR_RUNTIME when there is no C compiler or the build fails.
 */
export async function buildShim(output: string = DEFAULT_SHIM_PATH, source: string = SHIM_SOURCE): Promise<string> {
  const src = await mtime(source);
  if (src === null) throw new BerthError('ERR_RUNTIME', `build berth-shim: source ${source} not found`);
  const out = await mtime(output);
  if (out !== null && out >= src) return output;
  await mkdir(dirname(output), { recursive: true });
  const tmp = `${output}.tmp-${process.pid}`;
  const r = await runTool('cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, source], { timeoutMs: 120_000 });
  if (r.status !== 0) throw new BerthError('ERR_RUNTIME', `build berth-shim: ${describeFailure('cc', r)}`);
  await rename(tmp, output);
  return output;
}
