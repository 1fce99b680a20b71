/**
 * IDs and timestamps as Docker makes them, and lookup by name / full ID / unique ID prefix.
 */
import { randomBytes } from 'node:crypto';
import type { Id64 } from '../model/network.js';

/**
 * A random 64-hex ID. Like moby's stringid, one whose 12-character short form is all digits is
 * drawn again (it could be mistaken for a number by tools and by the CLI's own parsing).
 */
export function newId(): Id64 {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d{12}/.test(id)) return id as Id64;
  }
}

/** RFC 3339 with nanoseconds in UTC, trailing zeros trimmed, as Go's time.RFC3339Nano prints. */
export function nowRfc3339Nano(): string {
  const ms = Date.now();
  const iso = new Date(ms).toISOString(); // 2026-11-22T05:35:00.123Z
  const sub = process.hrtime.bigint() % 1_000_000n;
  const frac = `${iso.slice(20, 23)}${sub.toString().padStart(6, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac === '' ? '' : `.${frac}`}Z`;
}

/** Result of looking a term up among named objects. */
export type Lookup<T> =
  | { readonly kind: 'found'; readonly value: T }
  | { readonly kind: 'none' }
  | { readonly kind: 'ambiguous'; readonly count: number; readonly by: 'name' | 'ID prefix' };

/**
 * Docker's rule: full ID first, then exact name, then unique ID prefix (moby
 * `findUniqueNetwork`).
 */
export function lookupByTerm<T extends { readonly id: string; readonly name: string }>(
  items: Iterable<T>,
  term: string,
): Lookup<T> {
  if (term === '') return { kind: 'none' };
  const byName: T[] = [];
  const byPrefix: T[] = [];
  for (const item of items) {
    if (item.id === term) return { kind: 'found', value: item };
    if (item.name === term) byName.push(item);
    if (item.id.startsWith(term)) byPrefix.push(item);
  }
  if (byName.length === 1) return { kind: 'found', value: byName[0] as T };
  if (byName.length > 1) return { kind: 'ambiguous', count: byName.length, by: 'name' };
  if (byPrefix.length === 1) return { kind: 'found', value: byPrefix[0] as T };
  if (byPrefix.length > 1) return { kind: 'ambiguous', count: byPrefix.length, by: 'ID prefix' };
  return { kind: 'none' };
}
