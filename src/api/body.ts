/**
 * Request bodies: JSON parsed once, at the edge, by a zod schema that also yields the type.
 * As Docker does, unknown fields are ignored; wrong types are refused with a message naming the
 * field.
 */
import { z } from 'zod';
import { BerthError } from '../errors.js';

/** Parses a JSON body against a schema; empty body = `{}`. */
export function parseBody<S extends z.ZodType>(schema: S, body: string): z.infer<S> {
  let value: unknown = {};
  if (body.trim() !== '') {
    try {
      value = JSON.parse(body);
    } catch (err) {
      throw new BerthError('ERR_INVALID_JSON', `invalid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
    throw new BerthError('ERR_INVALID_JSON', `invalid JSON: ${where}: ${issue?.message ?? 'invalid value'}`);
  }
  return result.data;
}

/** A Go `map[string]string` in JSON: an object of strings, or null. */
export const StringMap = z.record(z.string(), z.string()).nullish();
