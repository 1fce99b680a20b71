/**
 * Reading what a standalone bench script (bench/ports.ts, bench/dns.ts run as processes) prints:
 * its JSON mapped onto the table's figure ids (see plugin.ts).
 */
import type { PluginFigure } from './plugin.js';

/** Figures from a script's JSON: `figures` as in plugin.ts, or the DNS script's `results`. */
export function mapScriptOutput(out: unknown): Record<string, PluginFigure | { na: string }> {
  const o = out as Record<string, unknown>;
  if (o !== null && typeof o === 'object' && typeof o['figures'] === 'object' && o['figures'] !== null) {
    return o['figures'] as Record<string, PluginFigure | { na: string }>;
  }
  const figures: Record<string, PluginFigure | { na: string }> = {};
  // bench/ports.ts: { publish: { applier, series: [{ n, publishNextPortMs: { median, p90, samples } }] } }
  const publish = o?.['publish'] as { applier?: string; series?: Record<string, unknown>[] } | undefined;
  for (const row of Array.isArray(publish?.series) ? publish.series : []) {
    const st = row['publishNextPortMs'] as { median?: number; p90?: number; samples?: number } | undefined;
    if (typeof row['n'] === 'number' && typeof st?.median === 'number') {
      figures[`ports.next.${row['n']}`] = {
        value: st.median,
        ...(typeof st.p90 === 'number' ? { p90: st.p90 } : {}),
        ...(typeof st.samples === 'number' ? { n: st.samples } : {}),
        note: `FirewallService, ${publish?.applier ?? 'nft'}`,
      };
    }
  }
  const rows = Array.isArray(o?.['results']) ? (o['results'] as Record<string, unknown>[]) : [];
  for (const row of rows) {
    // bench/dns.ts: { inflight, qps, p50Us, p90Us, p99Us, answered, lost, badAnswers, seconds }
    if (typeof row['inflight'] === 'number' && typeof row['qps'] === 'number') {
      const c = row['inflight'];
      const lost = Number(row['lost'] ?? 0) + Number(row['badAnswers'] ?? 0);
      const note = `${row['seconds'] ?? '?'} s of load${lost > 0 ? `, ${lost} lost/bad` : ''}`;
      figures[`dns.c${c}.qps`] = { value: row['qps'], note };
      if (typeof row['p50Us'] === 'number') figures[`dns.c${c}.p50`] = { value: row['p50Us'] / 1000 };
      if (typeof row['p99Us'] === 'number') figures[`dns.c${c}.p99`] = { value: row['p99Us'] / 1000 };
      continue;
    }
    // a ports script: { published|n|N, medianMs|ms|p50Ms, p90Ms? }
    const n = row['published'] ?? row['n'] ?? row['N'];
    const ms = row['medianMs'] ?? row['ms'] ?? row['p50Ms'];
    if (typeof n === 'number' && typeof ms === 'number') {
      figures[`ports.next.${n}`] = { value: ms, ...(typeof row['p90Ms'] === 'number' ? { p90: row['p90Ms'] } : {}) };
    }
  }
  return figures;
}

