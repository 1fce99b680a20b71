/**
 * Summary statistics of latency samples, computed the way the peers' `stats.py` does so the two
 * sides of a ratio are comparable: the median is the middle value (the mean of the two middle
 * values for an even count) and percentiles are nearest-rank (the ceil(q·n)-th smallest value).
 */

/** A summary of samples (all in the samples' unit). */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Ascending copy without NaN/Infinity. */
function sortedFinite(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** The median; NaN for no samples. */
export function median(xs: readonly number[]): number {
  const s = sortedFinite(xs);
  const n = s.length;
  if (n === 0) return NaN;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile, q in (0, 1]; NaN for no samples. */
export function percentile(xs: readonly number[], q: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`percentile: q must be in (0, 1], got ${q}`);
  const s = sortedFinite(xs);
  if (s.length === 0) return NaN;
  return s[Math.max(0, Math.ceil(q * s.length) - 1)] as number;
}

/** n, median, p90, p99, mean, min, max; undefined for no (finite) samples. */
export function summarize(xs: readonly number[]): Summary | undefined {
  const s = sortedFinite(xs);
  if (s.length === 0) return undefined;
  return {
    n: s.length,
    median: median(s),
    p90: percentile(s, 0.9),
    p99: percentile(s, 0.99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0] as number,
    max: s[s.length - 1] as number,
  };
}

/** Parses a `.ms` file of the peers' scripts: one number a line, blank lines ignored. */
export function parseSamples(text: string): number[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map(Number)
    .filter((x) => Number.isFinite(x));
}
