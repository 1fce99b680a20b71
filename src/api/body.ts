/**
 * Request bodies: JSON parsed once, at the edge, by a valibot schema that also yields the type.
 * As Docker does, unknown fields are ignored; wrong types are refused with a message naming the
 * field.
 */
import * as v from 'valibot';
import { BerthError } from '../errors.js';

/** Parses a JSON body against a schema; empty body = `{}`. */
export function parseBody<S extends v.GenericSchema>(schema: S, body: string): v.InferOutput<S> {
  let value: unknown = {};
  if (body.trim() !== '') {
    try {
      value = JSON.parse(body);
    } catch (err) {
      throw new BerthError('ERR_INVALID_JSON', `invalid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const result = v.safeParse(schema, value);
  if (!result.success) {
    const issue = result.issues[0];
    const where = issue.path === undefined || issue.path.length === 0 ? 'body' : issue.path.map((p) => String(p.key)).join('.');
    throw new BerthError('ERR_INVALID_JSON', `invalid JSON: ${where}: ${issue.message}`);
  }
  return result.output;
}

/**
 * A JSON object, not an array: valibot's `object` and `record` take arrays (`"HostConfig": []`,
 * `"Labels": ["a"]`), where Go's decoder refuses them.
 */
const JsonObjectValue = v.custom<Record<string, unknown>>(
  (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  (issue) => `Invalid type: Expected Object but received ${issue.received}`,
);

/** A JSON object with these fields (a Go struct): unknown fields are dropped. */
export function jsonObject<E extends v.ObjectEntries>(entries: E) {
  return v.pipe(JsonObjectValue, v.object(entries));
}

/**
 * A Go `map[string]T` in JSON. Every key is kept but `__proto__`: valibot's `record` also drops
 * `constructor` and `prototype`, which are fine label keys and network names. Going through a Map
 * keeps the key in an issue's path (`Labels.x: …`).
 */
export function jsonMap<T extends v.GenericSchema>(value: T) {
  return v.pipe(
    JsonObjectValue,
    v.transform((o) => new Map(Object.entries(o).filter(([k]) => k !== '__proto__'))),
    v.map(v.string(), value),
    v.transform((m) => Object.fromEntries(m) as Record<string, v.InferOutput<T>>),
  );
}

/** A JSON number that is finite (`1e999` parses to Infinity; valibot's `number` takes it). */
export const FiniteNumber = v.pipe(v.number(), v.finite());

/** A Go `map[string]string` in JSON: an object of strings, or null. */
export const StringMap = v.nullish(jsonMap(v.string()));
