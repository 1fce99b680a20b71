/**
 * Docker's list filters (`?filters={"name":{"foo":true}}`): parsing the two JSON forms Docker
 * accepts and the matching rules of moby's `filters.Args` (regexp `Match`, `ExactMatch`,
 * `MatchKVList` for labels).
 */
import { invalid } from '../errors.js';

/** Filter key → values. */
export type Filters = ReadonlyMap<string, readonly string[]>;

/** Parses the `filters` query parameter; both `{"k":{"v":true}}` and legacy `{"k":["v"]}`. */
export function parseFilters(raw: string | null | undefined, accepted: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  if (raw === null || raw === undefined || raw === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalid(`invalid filter: ${(err as Error).message}`, err);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('invalid filter: filters must be a JSON object');
  }
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!accepted.includes(key)) throw invalid(`invalid filter '${key}'`);
    let values: string[];
    if (Array.isArray(value)) values = value.map(String);
    else if (value !== null && typeof value === 'object') {
      values = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([v]) => v);
    } else throw invalid(`invalid filter: values of '${key}' must be a list or a map`);
    out.set(key, values);
  }
  return out;
}

/** moby `Args.Match`: any value, read as a regular expression, matches `source`. */
export function matchAny(values: readonly string[], source: string): boolean {
  return values.some((v) => {
    if (v === source || source.includes(v)) return true;
    // Bounded: a pattern from a request is matched against short names only, and overlong
    // patterns are treated as plain text (no catastrophic backtracking from hostile input).
    if (v.length > 200) return false;
    try {
      return new RegExp(v).test(source);
    } catch {
      return false;
    }
  });
}

/** moby `Args.MatchKVList`: every `key` or `key=value` must be present in `labels`. */
export function matchLabels(values: readonly string[], labels: Readonly<Record<string, string>>): boolean {
  return values.every((v) => {
    const eq = v.indexOf('=');
    if (eq < 0) return Object.hasOwn(labels, v);
    const key = v.slice(0, eq);
    return Object.hasOwn(labels, key) && labels[key] === v.slice(eq + 1);
  });
}

/** moby `Args.ExactMatch`. */
export function matchExact(values: readonly string[], source: string): boolean {
  return values.includes(source);
}
