/**
 * Command-line flags with the docker CLI's (spf13/pflag's) semantics, parsed by Node's
 * `util.parseArgs`:
 *
 * - `--flag value`, `--flag=value`, `-f value`, `-fvalue`, `-f=value`, combined booleans
 *   (`-qf driver=bridge`), `--bool=false`, flags after positionals, `--` ending flags;
 * - repeatable flags of pflag's kinds: `stringSlice` (comma-separated, appends), `list`
 *   (one value per use, optionally validated), `map` (`k=v`, later wins), `filter` (`k=v`);
 * - pflag's error texts (`unknown flag: --foo`, `unknown shorthand flag: 'x' in -x`,
 *   `flag needs an argument: --subnet`, `invalid argument "x" for "--ipv4" flag: …`), which
 *   the command layer turns into exit status 125 with a usage hint;
 * - help output laid out as pflag's `FlagUsagesWrapped(79)`.
 *
 * parseArgs mis-reads `-x=value` inside short groups, so those arguments are rewritten to
 * `--long=value` first; everything else goes to parseArgs as typed by the user.
 */
import { parseArgs } from 'node:util';
import { goQuote } from './go-fmt.js';

/** pflag value kinds the CLI uses. */
export type FlagKind = 'bool' | 'string' | 'int' | 'stringSlice' | 'list' | 'map' | 'filter';

/** One flag of a command. */
export interface FlagSpec {
  /** Long name, without dashes. */
  readonly name: string;
  /** One-letter shorthand, without the dash. */
  readonly short?: string;
  readonly kind: FlagKind;
  /** Help text; may contain newlines (pflag keeps them). */
  readonly usage: string;
  /** Default of a bool, string or int flag (shown in help when not the zero value). */
  readonly default?: string | boolean | number;
  /**
   * Validates one value of a `list` flag; throws an Error whose message pflag would print. A
   * returned string replaces the value (docker's `ValidatorFctType` may normalise, e.g.
   * `--dns 0:0::1` is stored as `::1`).
   */
  readonly validate?: (value: string) => string | void;
  /** Parsed but not listed in help. */
  readonly hidden?: boolean;
}

/** A flag the user got wrong; printed with the command's usage, exit status 125. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** The implicit `-h/--help` every command has (hidden, as in the docker CLI). */
export const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', kind: 'bool', usage: 'Print usage', hidden: true };

/** Flag values after parsing, with pflag's defaults for flags not given. */
export class ParsedFlags {
  readonly #specs: ReadonlyMap<string, FlagSpec>;
  readonly #values = new Map<string, unknown>();
  readonly #changed = new Set<string>();

  constructor(specs: readonly FlagSpec[]) {
    this.#specs = new Map(specs.map((s) => [s.name, s]));
  }

  #spec(name: string): FlagSpec {
    const s = this.#specs.get(name);
    if (s === undefined) throw new Error(`internal error: flag --${name} is not defined`);
    return s;
  }

  /** True when the user set the flag (pflag's `Changed`). */
  changed(name: string): boolean {
    this.#spec(name);
    return this.#changed.has(name);
  }

  bool(name: string): boolean {
    const s = this.#spec(name);
    return (this.#values.get(name) as boolean | undefined) ?? s.default === true;
  }

  string(name: string): string {
    const s = this.#spec(name);
    return (this.#values.get(name) as string | undefined) ?? (typeof s.default === 'string' ? s.default : '');
  }

  int(name: string): number {
    const s = this.#spec(name);
    return (this.#values.get(name) as number | undefined) ?? (typeof s.default === 'number' ? s.default : 0);
  }

  /** Values of a `stringSlice` or `list` flag, in order. */
  strings(name: string): readonly string[] {
    this.#spec(name);
    return (this.#values.get(name) as string[] | undefined) ?? [];
  }

  /** Values of a `map` flag: key → value, later uses winning, in first-use order. */
  map(name: string): ReadonlyMap<string, string> {
    this.#spec(name);
    return (this.#values.get(name) as Map<string, string> | undefined) ?? new Map();
  }

  /** Values of a `filter` flag: name → values (deduplicated), in first-use order. */
  filters(name: string): ReadonlyMap<string, readonly string[]> {
    this.#spec(name);
    return (this.#values.get(name) as Map<string, string[]> | undefined) ?? new Map();
  }

  /** Records one use of a flag; throws the pflag message (without the "invalid argument" prefix). */
  set(spec: FlagSpec, value: string | undefined): void {
    this.#changed.add(spec.name);
    switch (spec.kind) {
      case 'bool':
        this.#values.set(spec.name, value === undefined ? true : parseGoBool(value));
        return;
      case 'string':
        this.#values.set(spec.name, value ?? '');
        return;
      case 'int':
        this.#values.set(spec.name, parseGoInt(value ?? ''));
        return;
      case 'stringSlice': {
        const prev = (this.#values.get(spec.name) as string[] | undefined) ?? [];
        this.#values.set(spec.name, [...prev, ...readCsv(value ?? '')]);
        return;
      }
      case 'list': {
        const normalised = spec.validate?.(value ?? '');
        const prev = (this.#values.get(spec.name) as string[] | undefined) ?? [];
        this.#values.set(spec.name, [...prev, typeof normalised === 'string' ? normalised : (value ?? '')]);
        return;
      }
      case 'map': {
        const m = (this.#values.get(spec.name) as Map<string, string> | undefined) ?? new Map<string, string>();
        const v = value ?? '';
        const eq = v.indexOf('=');
        if (eq < 0) m.set(v, '');
        else m.set(v.slice(0, eq), v.slice(eq + 1));
        this.#values.set(spec.name, m);
        return;
      }
      case 'filter': {
        const v = value ?? '';
        const m = (this.#values.get(spec.name) as Map<string, string[]> | undefined) ?? new Map<string, string[]>();
        this.#values.set(spec.name, m);
        if (v === '') return;
        const eq = v.indexOf('=');
        if (eq < 0) throw new Error('bad format of filter (expected name=value)');
        const key = v.slice(0, eq).trim().toLowerCase();
        const val = v.slice(eq + 1).trim();
        const list = m.get(key) ?? [];
        if (!list.includes(val)) list.push(val);
        m.set(key, list);
        return;
      }
    }
  }
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

/** Go's `strconv.ParseInt(s, 0, 64)` (sign, `0x`/`0o`/`0b`/leading-`0` bases, underscores). */
export function parseGoInt(s: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (m === null || /__|_$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
  const body = (m[2] as string).replace(/_/g, '');
  let n: bigint;
  if (/^0[xX]/.test(body)) n = BigInt(body);
  else if (/^0[oO]/.test(body)) n = BigInt('0o' + body.slice(2));
  else if (/^0[bB]/.test(body)) n = BigInt(body);
  else if (body.length > 1 && body.startsWith('0')) n = BigInt('0o' + body.slice(1));
  else n = BigInt(body);
  if (m[1] === '-') n = -n;
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(n);
}

/** One line of CSV as Go's `encoding/csv` reads a `stringSlice` value; `""` reads as no values. */
export function readCsv(s: string): string[] {
  if (s === '') return [];
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new Error(`parse error on line 1, column ${s.length + 1}: extraneous or missing " in quoted-field`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i];
        i++;
      }
      if (i < s.length && s[i] !== ',') throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
    } else {
      const end = s.indexOf(',', i);
      field = end < 0 ? s.slice(i) : s.slice(i, end);
      if (field.includes('"')) throw new Error(`parse error on line 1, column ${i + field.indexOf('"') + 1}: bare " in non-quoted-field`);
      i = end < 0 ? s.length : end;
    }
    out.push(field);
    if (i >= s.length) return out;
    i++; // the comma
    if (i >= s.length) {
      out.push('');
      return out;
    }
  }
}

/** How a flag is named in pflag's "invalid argument" message: `-f, --filter` or `--label`. */
function flagDisplay(spec: FlagSpec): string {
  return spec.short !== undefined ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

/** Options of {@link parseFlags}. */
export interface ParseOptions {
  /** false: stop at the first positional (the root command's global flags). Default true. */
  readonly interspersed?: boolean;
}

/** Result of {@link parseFlags}: the flags and the positional arguments. */
export interface ParsedArgs {
  readonly flags: ParsedFlags;
  readonly args: readonly string[];
}

/**
 * Rewrites short groups containing `=` (`-q=true`, `-qf=a=b`) into forms parseArgs reads the
 * way pflag does, and marks where flag parsing ends for non-interspersed parsing. Returns the
 * arguments to give parseArgs and the untouched rest (after the first positional).
 */
function normalise(
  argv: readonly string[],
  byLong: ReadonlyMap<string, FlagSpec>,
  byShort: ReadonlyMap<string, FlagSpec>,
  interspersed: boolean,
): { args: string[]; rest: string[] } {
  const args: string[] = [];
  let expectValue = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (expectValue) {
      args.push(a);
      expectValue = false;
      continue;
    }
    if (a === '--') {
      if (!interspersed) return { args, rest: argv.slice(i + 1) };
      args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const spec = byLong.get(a.slice(2).split('=')[0] as string);
      if (spec !== undefined && spec.kind !== 'bool' && !a.includes('=')) expectValue = true;
      args.push(a);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      let k = 1;
      for (; k < a.length; k++) {
        const spec = byShort.get(a[k] as string);
        if (spec === undefined) {
          args.push('-' + a.slice(k));
          break;
        }
        if (a[k + 1] === '=') {
          args.push(`--${spec.name}=${a.slice(k + 2)}`);
          break;
        }
        if (spec.kind === 'bool') {
          args.push('-' + (a[k] as string));
          continue;
        }
        args.push('-' + a.slice(k));
        if (k === a.length - 1) expectValue = true;
        break;
      }
      continue;
    }
    if (!interspersed) return { args, rest: argv.slice(i) };
    args.push(a);
  }
  return { args, rest: [] };
}

/**
 * Parses `argv` against `specs` (plus `-h/--help`) with pflag's semantics. Throws
 * {@link FlagError} with pflag's message for the first problem, in argument order.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], opts: ParseOptions = {}): ParsedArgs {
  const all = specs.some((s) => s.name === 'help') ? specs : [...specs, HELP_FLAG];
  const byLong = new Map(all.map((s) => [s.name, s]));
  const byShort = new Map(all.filter((s) => s.short !== undefined).map((s) => [s.short as string, s]));
  const interspersed = opts.interspersed !== false;
  const { args: normalised, rest } = normalise(argv, byLong, byShort, interspersed);

  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: true }> = {};
  for (const s of all) {
    options[s.name] = {
      type: s.kind === 'bool' ? 'boolean' : 'string',
      ...(s.short !== undefined ? { short: s.short } : {}),
      multiple: true,
    };
  }
  const { tokens } = parseArgs({ args: normalised, options, strict: false, allowPositionals: true, tokens: true });

  const flags = new ParsedFlags(all);
  const positionals: string[] = [];
  let lastIndex = -1;
  let groupOffset = 0;
  for (const tok of tokens) {
    if (tok.kind === 'positional') {
      positionals.push(tok.value);
      continue;
    }
    if (tok.kind === 'option-terminator') continue;
    const raw = normalised[tok.index] as string;
    const isLong = tok.rawName.startsWith('--');
    if (!isLong) {
      groupOffset = tok.index === lastIndex ? groupOffset + 1 : 1;
      lastIndex = tok.index;
    } else {
      lastIndex = -1;
    }
    const spec = isLong ? byLong.get(tok.name) : byShort.get(tok.rawName.slice(1));
    const shorthands = '-' + raw.slice(groupOffset);
    if (spec === undefined) {
      if (isLong) throw new FlagError(`unknown flag: ${tok.rawName}`);
      throw new FlagError(`unknown shorthand flag: '${tok.rawName.slice(1)}' in ${shorthands}`);
    }
    if (spec.kind !== 'bool' && tok.value === undefined) {
      if (isLong) throw new FlagError(`flag needs an argument: --${spec.name}`);
      throw new FlagError(`flag needs an argument: '${spec.short ?? ''}' in ${shorthands}`);
    }
    try {
      flags.set(spec, tok.value);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new FlagError(`invalid argument ${goQuote(tok.value ?? '')} for ${goQuote(flagDisplay(spec))} flag: ${msg}`);
    }
  }
  return { flags, args: [...positionals, ...rest] };
}

// ---------------------------------------------------------------------------------------------
// Help

function varName(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'bool':
      return '';
    case 'stringSlice':
      return 'strings';
    default:
      return spec.kind;
  }
}

function defaultText(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'bool':
      return spec.default === true ? ' (default true)' : '';
    case 'string':
      return typeof spec.default === 'string' && spec.default !== '' ? ` (default ${goQuote(spec.default)})` : '';
    case 'int':
      return typeof spec.default === 'number' && spec.default !== 0 ? ` (default ${spec.default})` : '';
    case 'map':
      return ' (default map[])';
    default:
      return '';
  }
}

/** pflag's wrapN: split `s` at the last whitespace before `i` runes, allowing `slop` overrun. */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: text at indent `i` wrapped to width `w`; the first line is not indented. */
function wrap(i: number, w: number, s: string): string {
  let indent = i;
  let width = w - indent;
  let r = '';
  if (width < 24) {
    indent = 16;
    width = w - indent;
    r += '\n' + ' '.repeat(indent);
  }
  if (width < 24) return s.replace(/\n/g, r);
  const slop = 5;
  width -= slop;
  let [l, rest] = wrapN(width, slop, s);
  r += l.replace(/\n/g, '\n' + ' '.repeat(indent));
  while (rest !== '') {
    [l, rest] = wrapN(width, slop, rest);
    r += '\n' + ' '.repeat(indent) + l.replace(/\n/g, '\n' + ' '.repeat(indent));
  }
  return r;
}

/** The flag table of a help text, as pflag's `FlagUsagesWrapped(cols)` prints it (sorted by name). */
export function renderFlagUsages(specs: readonly FlagSpec[], cols = 79): string {
  const visible = specs.filter((s) => s.hidden !== true).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = visible.map((s) => {
    let head = s.short !== undefined ? `  -${s.short}, --${s.name}` : `      --${s.name}`;
    const v = varName(s);
    if (v !== '') head += ' ' + v;
    return { head, usage: s.usage + defaultText(s) };
  });
  const maxlen = Math.max(0, ...lines.map((l) => l.head.length + 1));
  return lines
    .map((l) => `${l.head} ${' '.repeat(maxlen - l.head.length)} ${wrap(maxlen + 2, cols, l.usage)}\n`)
    .join('');
}
