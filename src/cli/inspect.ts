/**
 * `inspect` output as the docker CLI's `cli/command/inspect` prints it:
 *
 * - no format: the daemon's JSON for each object, as an array, re-indented with 4 spaces by
 *   Go's `json.Indent` rules (key order and literals exactly as the daemon sent them);
 *   `[]` when nothing was found;
 * - `json`: the same array compacted onto one line;
 * - a template: executed on the object decoded into Docker's Go struct (so `{{.IPAM.Config}}`
 *   prints Go's `%v` of `[]IPAMConfig`); if that fails, executed again on the raw JSON as
 *   `map[string]interface{}` with `missingkey=error` (so `{{.Id}}` works too); one line per
 *   object, or a single empty line when nothing printed.
 *
 * Per-object errors (not found, template errors) go to stderr, joined by newlines, exit 1. A
 * template that does not parse fails before any request, with exit status 64.
 */
import { type CliIO, StatusError } from './command.js';
import { compactJson, indentJson, parseJsonText } from './go-json.js';
import { GoTemplate, TemplateExecError, TemplateParseError } from './go-template.js';
import { type StructType, decodeDynamic, decodeTyped } from './go-value.js';

/** Fetches one object's raw JSON by reference; throws a StatusError (e.g. not found). */
export type FetchRaw = (ref: string) => Promise<string>;

/**
 * Inspects `refs` one after another and prints them in `format` ("" = indented JSON).
 * `schema` is the Go struct the docker CLI decodes into (null: raw JSON only).
 */
export async function runInspect(
  io: CliIO,
  refs: readonly string[],
  format: string,
  schema: StructType | null,
  fetch: FetchRaw,
): Promise<void> {
  let tmpl: GoTemplate | null = null;
  if (format !== '' && format !== 'json') {
    try {
      tmpl = GoTemplate.parse(format);
    } catch (e) {
      if (e instanceof TemplateParseError) throw new StatusError(`template parsing error: ${e.message}`, 64, { cause: e });
      throw e;
    }
  }
  const errors: string[] = [];
  const raws: string[] = [];
  let printed = '';
  for (const ref of refs) {
    let raw: string;
    try {
      raw = await fetch(ref);
    } catch (e) {
      if (e instanceof StatusError) {
        errors.push(e.message);
        continue;
      }
      throw e;
    }
    if (tmpl === null) {
      raws.push(raw);
      continue;
    }
    let node;
    try {
      node = parseJsonText(raw);
    } catch (e) {
      errors.push(`unable to read inspect data: ${(e as Error).message}`);
      continue;
    }
    try {
      const typed = schema !== null ? decodeTyped(schema, node) : decodeDynamic(node);
      printed += tmpl.execute(typed) + '\n';
      continue;
    } catch (e) {
      if (!(e instanceof TemplateExecError)) throw e;
    }
    try {
      printed += tmpl.execute(decodeDynamic(node), { missingKeyError: true }) + '\n';
    } catch (e) {
      if (!(e instanceof TemplateExecError)) throw e;
      errors.push(`template parsing error: ${e.message}`);
    }
  }
  if (tmpl !== null) {
    io.stdout.write(printed === '' ? '\n' : printed);
  } else if (raws.length === 0) {
    io.stdout.write('[]\n');
  } else {
    const array = '[' + raws.join(',') + ']';
    try {
      io.stdout.write((format === 'json' ? compactJson(array) : indentJson(array, '    ')) + '\n');
    } catch (e) {
      errors.push(`unable to read inspect data: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
}
