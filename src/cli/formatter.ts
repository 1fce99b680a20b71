/**
 * List output as the docker CLI's `formatter.Context` writes it (`cli/command/formatter`):
 *
 * - `table` / `table TEMPLATE`: a header row rendered from the same template with the header
 *   functions, then one row per item, laid out by tabwriter (minwidth 10, padding 3);
 * - `json`: `{{json .}}` per item, one per line;
 * - any other string: a Go template executed per item, each followed by a newline.
 *
 * Before parsing, the word `table` is stripped, surrounding spaces trimmed, and the two-character
 * sequences `\t` and `\n` replaced by a tab and a newline (so `--format 'table {{.ID}}\t{{.Name}}'`
 * works from a shell). Template errors become `template parsing error: …` with exit status 1.
 */
import { StatusError } from './command.js';
import { quoteJsonString } from './go-json.js';
import { GoTemplate, HEADER_FUNCS, TemplateExecError, TemplateParseError } from './go-template.js';
import type { GoMember, GoObject, GoValue } from './go-value.js';
import { goString } from './go-value.js';
import { tabwrite } from './tabwriter.js';

/** The format keywords the docker CLI recognises. */
export const TABLE_FORMAT = 'table';
export const RAW_FORMAT = 'raw';
export const JSON_FORMAT = 'json';

/** True for `table` and `table …` formats. */
export function isTableFormat(format: string): boolean {
  return format.startsWith(TABLE_FORMAT);
}

/** The template text a format stands for (the docker CLI's `preFormat`). */
export function templateText(format: string): string {
  let t = format;
  if (isTableFormat(t)) t = t.slice(TABLE_FORMAT.length);
  else if (t === JSON_FORMAT) t = '{{json .}}';
  t = t.replace(/^ +| +$/g, '');
  return t.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/** Parses a template, wrapping Go's parse error as the docker CLI does. */
export function parseTemplate(text: string): GoTemplate {
  try {
    return GoTemplate.parse(text);
  } catch (e) {
    if (e instanceof TemplateParseError) throw new StatusError(`template parsing error: ${e.message}`, 1, { cause: e });
    throw e;
  }
}

/**
 * Renders `rows` in `format`. `header` is the table header context (a map-like object whose
 * members are the column titles); it is only used for table formats.
 */
export function renderList(format: string, rows: readonly GoValue[], header: GoValue): string {
  const tmpl = parseTemplate(templateText(format));
  let body = '';
  for (const row of rows) {
    try {
      body += tmpl.execute(row) + '\n';
    } catch (e) {
      if (e instanceof TemplateExecError) throw new StatusError(`template parsing error: ${e.message}`, 1, { cause: e });
      throw e;
    }
  }
  if (!isTableFormat(format)) return body;
  // The docker CLI ignores header rendering errors and keeps what was printed.
  const head = tmpl.executePartial(header, { funcs: HEADER_FUNCS }).output;
  return tabwrite(head + '\n' + body, { minwidth: 10, padding: 3 });
}

/**
 * A formatting context: an object whose zero-argument members are the template fields
 * (`{{.ID}}`) and whose `MarshalJSON` is the map of those members, sorted by name — the
 * docker CLI's `formatter.MarshalJSON`.
 */
export function contextObject(
  typeName: string,
  fields: Readonly<Record<string, () => string>>,
  methods: Readonly<Record<string, GoMember>> = {},
): GoObject {
  return {
    kind: 'object',
    typeName,
    onMissing: 'error',
    member(name: string): GoMember | undefined {
      const f = fields[name];
      if (f !== undefined) return { arity: 0, call: () => goString(f()) };
      return methods[name];
    },
    marshalJson(): string {
      const keys = Object.keys(fields).sort();
      // json.Marshal: HTML characters escaped (`0.0.0.0:80->80/tcp` becomes `…-\u003e80/tcp`).
      return '{' + keys.map((k) => `${quoteJsonString(k, true)}:${quoteJsonString((fields[k] as () => string)(), true)}`).join(',') + '}';
    },
  };
}

/**
 * The header context of a table: column titles by field name (map semantics: an unknown field
 * prints `<no value>`), and `Label` turning `com.example.my-label` into `my label`.
 */
export function headerObject(titles: Readonly<Record<string, string>>): GoObject {
  return {
    kind: 'object',
    typeName: 'formatter.SubHeaderContext',
    onMissing: 'invalid',
    member(name: string): GoMember | undefined {
      const t = titles[name];
      if (t !== undefined) return { arity: 0, call: () => goString(t) };
      if (name === 'Label') {
        return {
          arity: 1,
          call: ([v]) => {
            const s = v !== undefined && v.kind === 'string' ? v.v : '';
            const last = s.split('.').pop() ?? '';
            return goString(last.replace(/[-_]/g, ' '));
          },
        };
      }
      return undefined;
    },
  };
}
