/**
 * The part of Go's `fmt` that templates reach through `print`, `println` and `printf`.
 *
 * Covered: verbs `%v %+v %s %q %d %t %x %X %o %b %c %f %F %e %E %g %G %T %%`, flags
 * `- + # 0 space`, width and precision as digits (not `*`), the `%!verb(type=value)`,
 * `%!verb(MISSING)` and `%!(EXTRA …)` diagnostics. Composite values apply the verb to their
 * elements as Go does (`%q` of a map quotes keys and values). Not covered: argument indexes
 * (`%[1]d`), `*` widths, `%U`, `%p`, `%#v` Go-syntax output (it falls back to `%v`).
 */
import {
  type GoValue,
  formatFloatG,
  formatValue,
  sortedKeys,
  timeString,
  valueTypeName,
} from './go-value.js';

const isStringKind = (v: GoValue): boolean => v.kind === 'string' || v.kind === 'number';

/** `fmt.Sprint`: operands in `%v`, a space between two operands when neither is a string. */
export function sprint(args: readonly GoValue[]): string {
  let out = '';
  args.forEach((a, i) => {
    const prev = args[i - 1];
    if (i > 0 && prev !== undefined && !isStringKind(prev) && !isStringKind(a)) out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** `fmt.Sprintln`: operands in `%v`, always space-separated, newline appended. */
export function sprintln(args: readonly GoValue[]): string {
  return args.map((a) => formatValue(a)).join(' ') + '\n';
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | null;
  prec: number | null;
  verb: string;
}

/** `fmt.Sprintf` for the verbs listed in the module comment. */
export function sprintf(format: string, args: readonly GoValue[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const c = format[i] as string;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, sharp: false, zero: false, space: false, width: null, prec: null, verb: '' };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '#') spec.sharp = true;
      else if (f === '0') spec.zero = true;
      else if (f === ' ') spec.space = true;
      else break;
    }
    const w = /^\d+/.exec(format.slice(i));
    if (w !== null) {
      spec.width = Number(w[0]);
      i += w[0].length;
    }
    if (format[i] === '.') {
      i++;
      const p = /^\d+/.exec(format.slice(i));
      spec.prec = p === null ? 0 : Number(p[0]);
      if (p !== null) i += p[0].length;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    spec.verb = format[i] as string;
    i++;
    if (spec.verb === '%') {
      out += '%';
      continue;
    }
    const arg = args[argi];
    if (arg === undefined) {
      out += `%!${spec.verb}(MISSING)`;
      continue;
    }
    argi++;
    out += pad(formatArg(arg, spec, 0), spec, arg);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${valueTypeName(a)}=${formatValue(a)}`).join(', ') + ')';
  }
  return out;
}

function pad(s: string, spec: Spec, arg: GoValue): string {
  if (spec.width === null || [...s].length >= spec.width) return s;
  const fill = spec.width - [...s].length;
  if (spec.minus) return s + ' '.repeat(fill);
  const numeric = arg.kind === 'int' || arg.kind === 'float';
  if (spec.zero && numeric && (s.startsWith('-') || s.startsWith('+'))) return s[0] + '0'.repeat(fill) + s.slice(1);
  return (spec.zero && numeric ? '0' : ' ').repeat(fill) + s;
}

function bad(spec: Spec, v: GoValue): string {
  return `%!${spec.verb}(${valueTypeName(v)}=${formatValue(v)})`;
}

/** Go's `strconv.Quote`: double-quoted, Go escapes, non-printable runes as `\x`/`\u`. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const esc: Record<string, string> = {
      '\x07': '\\a',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
      '\v': '\\v',
      '\\': '\\\\',
      '"': '\\"',
    };
    if (esc[ch] !== undefined) out += esc[ch];
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch)) {
      out += cp > 0xffff ? '\\U' + cp.toString(16).padStart(8, '0') : '\\u' + cp.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

function formatInt(n: number, spec: Spec): string {
  const neg = n < 0;
  const a = Math.abs(n);
  let digits: string;
  switch (spec.verb) {
    case 'd':
    case 'v':
      digits = String(a);
      break;
    case 'x':
      digits = (spec.sharp ? '0x' : '') + a.toString(16);
      break;
    case 'X':
      digits = (spec.sharp ? '0X' : '') + a.toString(16).toUpperCase();
      break;
    case 'o':
      digits = (spec.sharp ? '0' : '') + a.toString(8);
      break;
    case 'b':
      digits = a.toString(2);
      break;
    default:
      digits = String(a);
  }
  if (spec.prec !== null && digits.length < spec.prec) digits = digits.padStart(spec.prec, '0');
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return sign + digits;
}

function formatFloat(x: number, spec: Spec): string {
  const sign = x < 0 || Object.is(x, -0) ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  const a = Math.abs(x);
  let body: string;
  switch (spec.verb) {
    case 'f':
    case 'F':
      body = a.toFixed(spec.prec ?? 6);
      break;
    case 'e':
    case 'E': {
      const [m = '', e = '0'] = a.toExponential(spec.prec ?? 6).split('e');
      const n = Number(e);
      body = `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
      if (spec.verb === 'E') body = body.toUpperCase();
      break;
    }
    default: {
      body = spec.prec === null ? formatFloatG(a) : formatFloatG(Number(a.toPrecision(Math.max(spec.prec, 1))));
      if (spec.verb === 'G') body = body.toUpperCase();
    }
  }
  return sign + body;
}

function formatArg(v: GoValue, spec: Spec, depth: number): string {
  const verb = spec.verb;
  if (verb === 'T') return valueTypeName(v);
  if (verb === 'v') {
    if (v.kind === 'int' || v.kind === 'float') return v.kind === 'int' ? formatInt(v.v, spec) : formatFloat(v.v, { ...spec, verb: 'g' });
    return formatValue(v, { plus: spec.plus }, depth);
  }
  switch (v.kind) {
    case 'string':
    case 'number':
      if (verb === 's') return spec.prec === null ? v.v : [...v.v].slice(0, spec.prec).join('');
      if (verb === 'q') return goQuote(v.v);
      if (verb === 'x' || verb === 'X') {
        const hex = Buffer.from(v.v, 'utf8').toString('hex');
        return verb === 'X' ? hex.toUpperCase() : hex;
      }
      return bad(spec, v);
    case 'bool':
      return verb === 't' ? String(v.v) : bad(spec, v);
    case 'int':
      if ('dxXob'.includes(verb)) return formatInt(v.v, spec);
      if (verb === 'c') return String.fromCodePoint(v.v);
      if (verb === 'q') return `'${String.fromCodePoint(v.v)}'`;
      return bad(spec, v);
    case 'float':
      return 'fFeEgG'.includes(verb) ? formatFloat(v.v, spec) : bad(spec, v);
    case 'time':
      if (verb === 's') return timeString(v.v);
      if (verb === 'q') return goQuote(timeString(v.v));
      return bad(spec, v);
    case 'nil':
      return `%!${verb}(<nil>)`;
    case 'invalid':
      return `%!${verb}(<invalid reflect.Value>)`;
    case 'slice':
      return '[' + (v.items ?? []).map((x) => formatArg(x, spec, depth + 1)).join(' ') + ']';
    case 'map': {
      const entries = v.entries;
      if (entries === null || entries.size === 0) return 'map[]';
      return (
        'map[' +
        sortedKeys(entries)
          .map((k) => `${formatArg({ kind: 'string', v: k }, spec, depth + 1)}:${formatArg(entries.get(k) ?? { kind: 'nil' }, spec, depth + 1)}`)
          .join(' ') +
        ']'
      );
    }
    case 'struct':
      return (
        '{' +
        v.fields
          .map((f, i) => (spec.plus ? `${v.type.fields[i]?.name ?? ''}:` : '') + formatArg(f, spec, depth + 1))
          .join(' ') +
        '}'
      );
    case 'ptr':
      if (v.elem === null) return `%!${verb}(<nil>)`;
      if (depth === 0) return '&' + formatArg(v.elem, spec, depth + 1);
      return '0xc000010000';
    case 'object':
      return formatValue(v);
  }
}
