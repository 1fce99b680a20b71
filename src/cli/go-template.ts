/**
 * A Go `text/template` engine for `--format`, faithful to what the docker CLI prints.
 *
 * Covered syntax: text and `{{pipeline}}` actions; `{{-` / `-}}` trim markers; comments
 * `{{/* … *\/}}`; fields and chains (`.A.B`, map keys as fields: `.Networks.personal.IPAddress`,
 * `$x.A`, `(pipeline).A`); variables (`$`, `$x := …`, `$x = …`); literals (strings, raw strings,
 * chars, ints, floats, hex/octal/binary, `true`/`false`/`nil`); pipes (`.X | json`) and
 * parenthesised pipelines; `if`/`else if`/`else`, `with`/`else with`/`else`, `range` over
 * slices, maps (sorted keys), ints, with `$i, $v :=`, `else`, `break`, `continue`;
 * `define`/`template`/`block`.
 *
 * Functions: Go's builtins `and or not len index slice eq ne lt le gt ge print printf println
 * html urlquery` and the docker CLI's `json split join title lower upper pad truncate`
 * (table headers use the CLI's header variants, see {@link HEADER_FUNCS}). Methods on values:
 * formatter contexts (`{{.ID}}`, `{{.Label "x"}}`) and `time.Time`'s `Year Month Day Hour
 * Minute Second Nanosecond Unix UnixNano String IsZero Weekday`.
 *
 * Not covered: `call`, `js`, custom delimiters, methods of other Go types (e.g. `.Created.Format`),
 * comparison of non-basic values beyond nil checks. Such templates fail with a Go-style error.
 *
 * Errors read as Go's: parse errors `template: :1: unclosed action`, execution errors
 * `template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type …`; the docker
 * CLI prefixes both with `template parsing error: `.
 */
import { sprint, sprintf, sprintln } from './go-fmt.js';
import {
  type GoMember,
  type GoTime,
  type GoType,
  type GoValue,
  INVALID,
  NIL,
  encodeJson,
  formatValue,
  goBool,
  goFloat,
  goInt,
  goString,
  goStrings,
  isTrue,
  monthName,
  sortedKeys,
  timeString,
  timeUnix,
  typeName,
  valueTypeName,
  weekdayName,
  zeroValue,
} from './go-value.js';

// ---------------------------------------------------------------------------------------------
// Errors

/** A template that does not parse; `message` is Go's (`template: :1: unclosed action`). */
export class TemplateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateParseError';
  }
}

/** A template that failed while executing; `message` is Go's, with position and node. */
export class TemplateExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokKind =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'identifier'
  | 'keyword'
  | 'field'
  | 'variable'
  | 'dot'
  | 'string'
  | 'rawstring'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'eof'
  | 'error';

interface Tok {
  readonly kind: TokKind;
  readonly val: string;
  readonly pos: number;
  readonly line: number;
}

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  let line = 1;
  const emit = (kind: TokKind, start: number, val: string, startLine: number): void => {
    toks.push({ kind, val, pos: start, line: startLine });
  };
  const countLines = (s: string): number => s.split('\n').length - 1;

  while (pos <= src.length) {
    // Text up to the next left delimiter.
    const next = src.indexOf('{{', pos);
    if (next < 0) {
      if (pos < src.length) emit('text', pos, src.slice(pos), line);
      line += countLines(src.slice(pos));
      emit('eof', src.length, '', line);
      return toks;
    }
    let text = src.slice(pos, next);
    const trimLeft = src[next + 2] === '-' && isSpace(src[next + 3]);
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    if (text !== '') emit('text', pos, text, line);
    line += countLines(src.slice(pos, next));
    let i = next + 2;
    if (trimLeft) i += 1;
    // Comment: {{/* … */}} possibly with trim markers.
    let j = i;
    while (trimLeft && isSpace(src[j])) j++;
    if (src.startsWith('/*', j)) {
      const end = src.indexOf('*/', j + 2);
      if (end < 0) {
        emit('error', j, 'unclosed comment', line);
        return toks;
      }
      let k = end + 2;
      let trimRight = false;
      if (isSpace(src[k]) && src[k + 1] === '-' && src.startsWith('}}', k + 2)) {
        trimRight = true;
        k += 2;
      }
      if (!src.startsWith('}}', k)) {
        emit('error', k, 'comment ends before closing delimiter', line);
        return toks;
      }
      line += countLines(src.slice(next, k + 2));
      pos = k + 2;
      if (trimRight) while (isSpace(src[pos])) {
        if (src[pos] === '\n') line++;
        pos++;
      }
      continue;
    }
    emit('left', next, '{{', line);
    // Inside the action.
    let parenDepth = 0;
    for (;;) {
      if (i >= src.length) {
        emit('error', i, 'unclosed action', line);
        return toks;
      }
      const c = src[i] as string;
      // Right delimiter, possibly with a trim marker (" -}}").
      if (isSpace(c) && src[i + 1] === '-' && src.startsWith('}}', i + 2)) {
        if (parenDepth > 0) {
          emit('error', i, 'unclosed left paren', line);
          return toks;
        }
        emit('right', i + 2, '}}', line);
        pos = i + 4;
        while (isSpace(src[pos])) {
          if (src[pos] === '\n') line++;
          pos++;
        }
        break;
      }
      if (src.startsWith('}}', i)) {
        if (parenDepth > 0) {
          emit('error', i, 'unclosed left paren', line);
          return toks;
        }
        emit('right', i, '}}', line);
        pos = i + 2;
        break;
      }
      if (isSpace(c)) {
        const s = i;
        while (i < src.length && isSpace(src[i]) && !(src[i + 1] === '-' && src.startsWith('}}', i + 2))) {
          if (src[i] === '\n') line++;
          i++;
        }
        if (i === s) {
          // A space that starts " -}}": let the delimiter check see it.
          continue;
        }
        emit('space', s, src.slice(s, i), line);
        continue;
      }
      const start = i;
      const startLine = line;
      if (c === '|') {
        emit('pipe', i, '|', line);
        i++;
      } else if (c === '(') {
        parenDepth++;
        emit('lparen', i, '(', line);
        i++;
      } else if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) {
          emit('error', i, `unexpected right paren ${goQuoteRune(')')}`, line);
          return toks;
        }
        emit('rparen', i, ')', line);
        i++;
      } else if (c === ',') {
        emit('comma', i, ',', line);
        i++;
      } else if (c === '=') {
        emit('assign', i, '=', line);
        i++;
      } else if (c === ':') {
        if (src[i + 1] !== '=') {
          emit('error', i, 'expected :=', line);
          return toks;
        }
        emit('declare', i, ':=', line);
        i += 2;
      } else if (c === '"') {
        i++;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\') i++;
          if (src[i] === '\n' || i >= src.length) {
            emit('error', start, 'unterminated quoted string', line);
            return toks;
          }
          i++;
        }
        if (i >= src.length) {
          emit('error', start, 'unterminated quoted string', line);
          return toks;
        }
        i++;
        emit('string', start, src.slice(start, i), startLine);
      } else if (c === '`') {
        const end = src.indexOf('`', i + 1);
        if (end < 0) {
          emit('error', start, 'unterminated raw quoted string', line);
          return toks;
        }
        line += countLines(src.slice(i, end));
        i = end + 1;
        emit('rawstring', start, src.slice(start, i), startLine);
      } else if (c === "'") {
        i++;
        while (i < src.length && src[i] !== "'") {
          if (src[i] === '\\') i++;
          if (src[i] === '\n' || i >= src.length) {
            emit('error', start, 'unterminated character constant', line);
            return toks;
          }
          i++;
        }
        i++;
        emit('char', start, src.slice(start, i), startLine);
      } else if (c === '$' || (c === '.' && !/[0-9]/.test(src[i + 1] ?? ''))) {
        i++;
        while (isAlnum(src[i])) i++;
        const word = src.slice(start, i);
        if (!atTerminator(src, i)) {
          emit('error', i, `bad character ${goRuneDesc(src[i] ?? '')}`, line);
          return toks;
        }
        emit(c === '$' ? 'variable' : word === '.' ? 'dot' : 'field', start, word, line);
      } else if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(?:0[xX][0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?\d+)?|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d*(?:[eE][+-]?\d+)?)i?/.exec(src.slice(i));
        const lit = m?.[0] ?? '';
        i += lit.length;
        if (lit === '' || lit === '+' || lit === '-' || isAlnum(src[i])) {
          emit('error', start, `bad number syntax: ${JSON.stringify(src.slice(start, Math.max(i + 1, start + 1)))}`, line);
          return toks;
        }
        emit('number', start, lit, line);
      } else if (isAlnum(c)) {
        while (isAlnum(src[i])) i++;
        const word = src.slice(start, i);
        if (!atTerminator(src, i)) {
          emit('error', i, `bad character ${goRuneDesc(src[i] ?? '')}`, line);
          return toks;
        }
        if (KEYWORDS.has(word)) emit('keyword', start, word, line);
        else if (word === 'true' || word === 'false') emit('bool', start, word, line);
        else if (word === 'nil') emit('nil', start, word, line);
        else emit('identifier', start, word, line);
      } else {
        emit('error', i, `bad character ${goRuneDesc(c)}`, line);
        return toks;
      }
    }
  }
  emit('eof', src.length, '', line);
  return toks;
}

function atTerminator(src: string, i: number): boolean {
  const c = src[i];
  if (c === undefined || isSpace(c)) return true;
  if ('.,|:)('.includes(c)) return true;
  return src.startsWith('}}', i);
}

function goRuneDesc(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${goQuoteRune(c)}`;
}

function goQuoteRune(c: string): string {
  return `'${c}'`;
}

// ---------------------------------------------------------------------------------------------
// AST

type Arg =
  | { readonly t: 'field'; readonly pos: number; readonly ident: readonly string[] }
  | { readonly t: 'variable'; readonly pos: number; readonly ident: readonly string[] }
  | { readonly t: 'dot'; readonly pos: number }
  | { readonly t: 'nil'; readonly pos: number }
  | { readonly t: 'identifier'; readonly pos: number; readonly name: string }
  | { readonly t: 'chain'; readonly pos: number; readonly node: Arg; readonly field: readonly string[] }
  | { readonly t: 'pipe'; readonly pos: number; readonly pipe: Pipe }
  | { readonly t: 'string'; readonly pos: number; readonly text: string; readonly v: string }
  | { readonly t: 'number'; readonly pos: number; readonly text: string; readonly v: GoValue }
  | { readonly t: 'bool'; readonly pos: number; readonly v: boolean };

interface Cmd {
  readonly pos: number;
  readonly args: readonly Arg[];
}

interface Pipe {
  readonly pos: number;
  readonly decl: readonly string[];
  readonly isAssign: boolean;
  readonly cmds: readonly Cmd[];
}

interface ControlNode {
  readonly t: 'if' | 'with' | 'range';
  readonly pos: number;
  readonly pipe: Pipe;
  readonly list: readonly Node[];
  readonly elseList: readonly Node[] | null;
}

type Node =
  | { readonly t: 'text'; readonly pos: number; readonly text: string }
  | { readonly t: 'action'; readonly pos: number; readonly pipe: Pipe }
  | ControlNode
  | { readonly t: 'template'; readonly pos: number; readonly name: string; readonly pipe: Pipe | null }
  | { readonly t: 'break' | 'continue'; readonly pos: number };

/** `{{end}}` and `{{else}}` while parsing; `kw` is the `if`/`with` of `{{else if …}}`. */
type Delim = { readonly t: 'end'; readonly pos: number } | { readonly t: 'else'; readonly pos: number; readonly kw?: string };

const isDelim = (n: Node | Delim): n is Delim => n.t === 'end' || n.t === 'else';

function argString(a: Arg): string {
  switch (a.t) {
    case 'field':
      return '.' + a.ident.join('.');
    case 'variable':
      return a.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'identifier':
      return a.name;
    case 'chain':
      return (a.node.t === 'pipe' ? `(${pipeString(a.node.pipe)})` : argString(a.node)) + '.' + a.field.join('.');
    case 'pipe':
      return `(${pipeString(a.pipe)})`;
    case 'string':
    case 'number':
      return a.text;
    case 'bool':
      return String(a.v);
  }
}

function cmdString(c: Cmd): string {
  return c.args.map(argString).join(' ');
}

function pipeString(p: Pipe): string {
  const decl = p.decl.length > 0 ? `${p.decl.join(', ')} ${p.isAssign ? '=' : ':='} ` : '';
  return decl + p.cmds.map(cmdString).join(' | ');
}

// ---------------------------------------------------------------------------------------------
// Functions

/** A function's parameter type, as far as the CLI's functions need them. */
type Param = 'any' | 'string' | 'int' | 'bool' | 'strings';

interface FuncDef {
  readonly params: readonly Param[];
  /** Type of the variadic tail, when the function is variadic. */
  readonly variadic?: Param;
  readonly call: (args: readonly GoValue[]) => GoValue;
}

/** Thrown inside a function; surfaces as `error calling <name>: <message>`. */
class FuncError extends Error {}

const paramTypeName: Record<Param, string> = {
  any: 'interface {}',
  string: 'string',
  int: 'int',
  bool: 'bool',
  strings: '[]string',
};

const str = (v: GoValue): string => (v.kind === 'string' ? v.v : '');
const num = (v: GoValue): number => (v.kind === 'int' ? v.v : 0);

/** `strings.Title`: upper-cases the first letter of each word (words split on non-letters/digits/underscore). */
function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = !/[\p{L}\p{Nd}_]/u.test(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';

function basicKind(v: GoValue): BasicKind {
  switch (v.kind) {
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float';
    case 'string':
    case 'number':
      return 'string';
    case 'invalid':
      return 'invalid';
    default:
      return 'other';
  }
}

const isNilish = (v: GoValue): boolean =>
  v.kind === 'nil' ||
  (v.kind === 'ptr' && v.elem === null) ||
  (v.kind === 'map' && v.entries === null) ||
  (v.kind === 'slice' && v.items === null);

function goEq(a: GoValue, rest: readonly GoValue[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === 'other' || k2 === 'other') {
        if (!(isNilish(a) || isNilish(b) || a.kind === 'invalid' || b.kind === 'invalid')) {
          throw new FuncError(`incompatible types for comparison`);
        }
        truth = isNilish(a) && isNilish(b);
      } else if (a.kind !== 'invalid' && b.kind !== 'invalid') {
        throw new FuncError('incompatible types for comparison');
      }
    } else if (k1 === 'other') {
      if (!isNilish(a) && !isNilish(b)) throw new FuncError(`non-comparable type ${formatValue(a)}: ${valueTypeName(a)}`);
      truth = isNilish(a) === isNilish(b);
    } else if (k1 !== 'invalid') {
      truth = (a as { v: unknown }).v === (b as { v: unknown }).v;
    }
    if (truth) return true;
  }
  return false;
}

function goLess(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 !== k2) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool' || k1 === 'other' || k1 === 'invalid') throw new FuncError('invalid type for comparison');
  const x = (a as { v: string | number }).v;
  const y = (b as { v: string | number }).v;
  if (typeof x === 'string' && typeof y === 'string') return Buffer.compare(Buffer.from(x), Buffer.from(y)) < 0;
  return x < y;
}

function goLen(v: GoValue): GoValue {
  switch (v.kind) {
    case 'string':
    case 'number':
      return goInt(Buffer.byteLength(v.v));
    case 'map':
      return goInt(v.entries?.size ?? 0);
    case 'slice':
      return goInt(v.items?.length ?? 0);
    case 'ptr':
      if (v.elem === null) throw new FuncError('len of nil pointer');
      return goLen(v.elem);
    case 'nil':
    case 'invalid':
      throw new FuncError('len of untyped nil');
    default:
      throw new FuncError(`len of type ${valueTypeName(v)}`);
  }
}

function goIndex(item: GoValue, indexes: readonly GoValue[]): GoValue {
  let v = item;
  if (v.kind === 'nil' || v.kind === 'invalid') throw new FuncError('index of untyped nil');
  for (const ix of indexes) {
    if (v.kind === 'ptr') {
      if (v.elem === null) throw new FuncError('index of nil pointer');
      v = v.elem;
    }
    switch (v.kind) {
      case 'slice':
      case 'string':
      case 'number': {
        if (ix.kind !== 'int') throw new FuncError(`cannot index slice/array with type ${valueTypeName(ix)}`);
        const len = v.kind === 'slice' ? (v.items?.length ?? 0) : Buffer.byteLength(v.v);
        if (ix.v < 0 || ix.v >= len) throw new FuncError(`index out of range: ${ix.v}`);
        v = v.kind === 'slice' ? (v.items?.[ix.v] ?? INVALID) : goInt(Buffer.from(v.v)[ix.v] ?? 0);
        break;
      }
      case 'map': {
        if (ix.kind !== 'string') {
          if (ix.kind === 'nil' || ix.kind === 'invalid') throw new FuncError('value is nil; should be of type string');
          throw new FuncError(`value has type ${valueTypeName(ix)}; should be string`);
        }
        const got: GoValue | undefined = v.entries?.get(ix.v);
        v = got ?? zeroValue(v.type.elem);
        break;
      }
      case 'nil':
        throw new FuncError('index of nil pointer');
      default:
        throw new FuncError(`can't index item of type ${valueTypeName(v)}`);
    }
  }
  return v;
}

function goSlice(item: GoValue, indexes: readonly GoValue[]): GoValue {
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const ix = indexes.map((i) => {
    if (i.kind !== 'int') throw new FuncError(`cannot index slice/array with type ${valueTypeName(i)}`);
    return i.v;
  });
  if (item.kind === 'string' || item.kind === 'number') {
    if (ix.length === 3) throw new FuncError('cannot 3-index slice a string');
    const bytes = Buffer.from(item.v);
    const lo = ix[0] ?? 0;
    const hi = ix[1] ?? bytes.length;
    if (lo < 0 || hi > bytes.length || lo > hi) throw new FuncError(`index out of range: ${lo > hi ? lo : hi}`);
    return goString(bytes.subarray(lo, hi).toString());
  }
  if (item.kind === 'slice') {
    const items = item.items ?? [];
    const lo = ix[0] ?? 0;
    const hi = ix[1] ?? items.length;
    if (lo < 0 || hi > items.length || lo > hi) throw new FuncError(`index out of range: ${lo > hi ? lo : hi}`);
    return { kind: 'slice', type: item.type, items: items.slice(lo, hi) };
  }
  if (item.kind === 'nil' || item.kind === 'invalid') throw new FuncError('slice of untyped nil');
  throw new FuncError(`can't slice item of type ${valueTypeName(item)}`);
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    c === '\0' ? '\uFFFD' : c === '"' ? '&#34;' : c === "'" ? '&#39;' : c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;',
  );
}

function evalArgsString(args: readonly GoValue[]): string {
  const only = args[0];
  if (args.length === 1 && only !== undefined && only.kind === 'string') return only.v;
  return sprint(args);
}

/** Go's builtin template functions (minus `call` and `js`). `and`/`or` are special-cased in exec. */
const BUILTINS: Record<string, FuncDef> = {
  not: { params: ['any'], call: ([a]) => goBool(!isTrue(a ?? INVALID)) },
  len: { params: ['any'], call: ([a]) => goLen(a ?? INVALID) },
  index: { params: ['any'], variadic: 'any', call: ([a, ...rest]) => goIndex(a ?? INVALID, rest) },
  slice: { params: ['any'], variadic: 'any', call: ([a, ...rest]) => goSlice(a ?? INVALID, rest) },
  eq: { params: ['any'], variadic: 'any', call: ([a, ...rest]) => goBool(goEq(a ?? INVALID, rest)) },
  ne: { params: ['any', 'any'], call: ([a, b]) => goBool(!goEq(a ?? INVALID, [b ?? INVALID])) },
  lt: { params: ['any', 'any'], call: ([a, b]) => goBool(goLess(a ?? INVALID, b ?? INVALID)) },
  le: {
    params: ['any', 'any'],
    call: ([a, b]) => goBool(goLess(a ?? INVALID, b ?? INVALID) || goEq(a ?? INVALID, [b ?? INVALID])),
  },
  gt: {
    params: ['any', 'any'],
    call: ([a, b]) => goBool(!goLess(a ?? INVALID, b ?? INVALID) && !goEq(a ?? INVALID, [b ?? INVALID])),
  },
  ge: { params: ['any', 'any'], call: ([a, b]) => goBool(!goLess(a ?? INVALID, b ?? INVALID)) },
  print: { params: [], variadic: 'any', call: (args) => goString(sprint(args)) },
  println: { params: [], variadic: 'any', call: (args) => goString(sprintln(args)) },
  printf: { params: ['string'], variadic: 'any', call: ([f, ...args]) => goString(sprintf(str(f ?? INVALID), args)) },
  html: { params: [], variadic: 'any', call: (args) => goString(htmlEscape(evalArgsString(args))) },
  urlquery: {
    params: [],
    variadic: 'any',
    call: (args) =>
      goString(
        encodeURIComponent(evalArgsString(args))
          .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
          .replace(/%20/g, '+'),
      ),
  },
};

/** The docker CLI's template functions (`templates/templates.go`). */
const DOCKER_FUNCS: Record<string, FuncDef> = {
  json: { params: ['any'], call: ([v]) => goString(encodeJson(v ?? NIL)) },
  split: { params: ['string', 'string'], call: ([s, sep]) => goStrings(goSplit(str(s ?? INVALID), str(sep ?? INVALID))) },
  join: {
    params: ['strings', 'string'],
    call: ([xs, sep]) =>
      goString(((xs?.kind === 'slice' ? xs.items : null) ?? []).map((x) => str(x)).join(str(sep ?? INVALID))),
  },
  title: { params: ['string'], call: ([s]) => goString(goTitle(str(s ?? INVALID))) },
  lower: { params: ['string'], call: ([s]) => goString(str(s ?? INVALID).toLowerCase()) },
  upper: { params: ['string'], call: ([s]) => goString(str(s ?? INVALID).toUpperCase()) },
  pad: {
    params: ['string', 'int', 'int'],
    call: ([s, pre, suf]) => {
      const v = str(s ?? INVALID);
      return goString(v === '' ? v : ' '.repeat(Math.max(0, num(pre ?? INVALID))) + v + ' '.repeat(Math.max(0, num(suf ?? INVALID))));
    },
  },
  truncate: {
    params: ['string', 'int'],
    call: ([s, n]) => {
      const b = Buffer.from(str(s ?? INVALID));
      const len = num(n ?? INVALID);
      if (len < 0) throw new FuncError(`slice bounds out of range [:${len}]`);
      return goString(b.length < len ? b.toString() : b.subarray(0, len).toString());
    },
  },
};

/** `strings.Split`: an empty separator splits into UTF-8 sequences. */
function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

const identity1: FuncDef = { params: ['string'], call: ([v]) => v ?? goString('') };
const identity2: FuncDef = { params: ['string', 'string'], call: ([v]) => v ?? goString('') };

/**
 * The docker CLI's `HeaderFunctions`: used when rendering a table header, so that
 * `{{json .Name}}` or `{{upper .Name}}` still prints the column title.
 */
export const HEADER_FUNCS: Readonly<Record<string, FuncDef>> = {
  json: identity1,
  split: identity2,
  join: identity2,
  title: identity1,
  lower: identity1,
  upper: identity1,
  truncate: { params: ['string', 'int'], call: ([v]) => v ?? goString('') },
};

const ALL_FUNCS: Readonly<Record<string, FuncDef>> = { ...BUILTINS, ...DOCKER_FUNCS };
const FUNC_NAMES = new Set([...Object.keys(ALL_FUNCS), 'and', 'or']);

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
  #toks: Tok[];
  #i = 0;
  #rangeDepth = 0;
  #vars: string[] = ['$'];
  readonly defines = new Map<string, Node[]>();

  constructor(toks: Tok[]) {
    this.#toks = toks;
  }

  #peek(): Tok {
    return this.#toks[this.#i] ?? (this.#toks[this.#toks.length - 1] as Tok);
  }

  #next(): Tok {
    const t = this.#peek();
    if (this.#i < this.#toks.length) this.#i++;
    if (t.kind === 'error') this.#fail(t.val, t);
    return t;
  }

  #backup(): void {
    this.#i--;
  }

  #peekNonSpace(): Tok {
    while (this.#peek().kind === 'space') this.#i++;
    const t = this.#peek();
    if (t.kind === 'error') this.#fail(t.val, t);
    return t;
  }

  #nextNonSpace(): Tok {
    this.#peekNonSpace();
    return this.#next();
  }

  #fail(msg: string, at?: Tok): never {
    const t = at ?? this.#toks[Math.max(0, this.#i - 1)] ?? this.#peek();
    throw new TemplateParseError(`template: :${t.line}: ${msg}`);
  }

  #unexpected(t: Tok, context: string): never {
    if (t.kind === 'error') this.#fail(t.val, t);
    this.#fail(`unexpected ${tokString(t)} in ${context}`, t);
  }

  #expect(kind: TokKind, context: string): Tok {
    const t = this.#nextNonSpace();
    if (t.kind !== kind) this.#unexpected(t, context);
    return t;
  }

  parse(): Node[] {
    const root: Node[] = [];
    while (this.#peek().kind !== 'eof') {
      const t = this.#peek();
      if (t.kind === 'error') this.#fail(t.val, t);
      if (t.kind === 'left') {
        const save = this.#i;
        this.#next();
        const kw = this.#nextNonSpace();
        if (kw.kind === 'keyword' && kw.val === 'define') {
          this.#parseDefinition();
          continue;
        }
        this.#i = save;
      }
      const n = this.#textOrAction();
      if (isDelim(n)) this.#fail(`unexpected {{${n.t}}}`);
      root.push(n);
    }
    return root;
  }

  #parseDefinition(): void {
    const nameTok = this.#nextNonSpace();
    if (nameTok.kind !== 'string' && nameTok.kind !== 'rawstring') this.#unexpected(nameTok, 'define clause');
    const name = unquote(nameTok.val);
    this.#expect('right', 'define clause');
    const saved = this.#vars;
    this.#vars = ['$'];
    const [list, end] = this.#itemList();
    this.#vars = saved;
    if (end.t !== 'end') this.#fail(`unexpected {{${end.t}}} in define clause`);
    this.defines.set(name, list);
  }

  #itemList(): [Node[], Delim] {
    const list: Node[] = [];
    while (this.#peekNonSpace().kind !== 'eof') {
      const n = this.#textOrAction();
      if (isDelim(n)) return [list, n];
      list.push(n);
    }
    this.#fail('unexpected EOF', this.#peek());
  }

  #textOrAction(): Node | Delim {
    const t = this.#nextNonSpace();
    if (t.kind === 'text') return { t: 'text', pos: t.pos, text: t.val };
    if (t.kind === 'left') return this.#action();
    return this.#unexpected(t, 'input');
  }

  #action(): Node | Delim {
    const t = this.#nextNonSpace();
    if (t.kind === 'keyword') {
      switch (t.val) {
        case 'block':
          return this.#blockControl();
        case 'break':
        case 'continue':
          if (this.#rangeDepth === 0) this.#fail(`{{${t.val}}} outside {{range}}`, t);
          this.#expect('right', t.val);
          return { t: t.val, pos: t.pos };
        case 'else': {
          const p = this.#peekNonSpace();
          if (p.kind === 'keyword' && (p.val === 'if' || p.val === 'with')) return { t: 'else', pos: t.pos, kw: p.val };
          this.#expect('right', 'else');
          return { t: 'else', pos: t.pos };
        }
        case 'end':
          this.#expect('right', 'end');
          return { t: 'end', pos: t.pos };
        case 'if':
        case 'range':
        case 'with':
          return this.#control(t.val, t.pos);
        case 'template':
          return this.#templateControl();
        default:
          break;
      }
    }
    this.#backup();
    const tok = this.#peek();
    return { t: 'action', pos: tok.pos, pipe: this.#pipeline('command', 'right') };
  }

  #control(context: 'if' | 'range' | 'with', pos: number): Node {
    const mark = this.#vars.length;
    const pipe = this.#pipeline(context, 'right');
    if (context === 'range') this.#rangeDepth++;
    const [list, next] = this.#itemList();
    if (context === 'range') this.#rangeDepth--;
    let elseList: Node[] | null = null;
    if (next.t === 'else') {
      if ((context === 'if' && next.kw === 'if') || (context === 'with' && next.kw === 'with')) {
        // "{{else if …}}" / "{{else with …}}": a nested control that shares our {{end}}.
        const kwTok = this.#nextNonSpace();
        elseList = [this.#control(context, kwTok.pos)];
      } else {
        const [l, end] = this.#itemList();
        if (end.t !== 'end') this.#fail('expected end; found {{else}}');
        elseList = l;
      }
    }
    this.#vars.length = mark;
    return { t: context, pos, pipe, list, elseList };
  }

  #templateControl(): Node {
    const nameTok = this.#nextNonSpace();
    if (nameTok.kind !== 'string' && nameTok.kind !== 'rawstring') this.#unexpected(nameTok, 'template clause');
    let pipe: Pipe | null = null;
    if (this.#peekNonSpace().kind !== 'right') pipe = this.#pipeline('template clause', 'right');
    else this.#next();
    return { t: 'template', pos: nameTok.pos, name: unquote(nameTok.val), pipe };
  }

  #blockControl(): Node {
    const nameTok = this.#nextNonSpace();
    if (nameTok.kind !== 'string' && nameTok.kind !== 'rawstring') this.#unexpected(nameTok, 'block clause');
    const name = unquote(nameTok.val);
    let pipe: Pipe | null = null;
    if (this.#peekNonSpace().kind !== 'right') pipe = this.#pipeline('block clause', 'right');
    else this.#next();
    const saved = this.#vars;
    this.#vars = ['$'];
    const [list, end] = this.#itemList();
    this.#vars = saved;
    if (end.t !== 'end') this.#fail('unexpected {{else}} in block clause');
    this.defines.set(name, list);
    return { t: 'template', pos: nameTok.pos, name, pipe };
  }

  #pipeline(context: string, end: 'right' | 'rparen'): Pipe {
    const startTok = this.#peekNonSpace();
    const decl: string[] = [];
    let isAssign = false;
    // Declarations: "$x :=", "$x =", "$i, $v :=" (range only).
    if (startTok.kind === 'variable') {
      const save = this.#i;
      this.#next();
      const after = this.#peekNonSpace();
      if (after.kind === 'declare' || after.kind === 'assign') {
        this.#next();
        decl.push(startTok.val);
        isAssign = after.kind === 'assign';
        if (!isAssign) this.#vars.push(startTok.val);
        else if (!this.#vars.includes(startTok.val)) this.#fail(`undefined variable "${startTok.val}"`, startTok);
      } else if (after.kind === 'comma' && context === 'range') {
        this.#next();
        const second = this.#nextNonSpace();
        if (second.kind !== 'variable') this.#fail(`range can only initialize variables`, second);
        const op = this.#nextNonSpace();
        if (op.kind !== 'declare' && op.kind !== 'assign') this.#unexpected(op, 'range');
        decl.push(startTok.val, second.val);
        isAssign = op.kind === 'assign';
        if (!isAssign) this.#vars.push(startTok.val, second.val);
      } else {
        this.#i = save;
      }
    }
    const cmds: Cmd[] = [];
    for (;;) {
      const t = this.#nextNonSpace();
      if (t.kind === end) {
        if (cmds.length === 0) this.#fail(`missing value for ${context}`, t);
        break;
      }
      if (
        t.kind === 'bool' ||
        t.kind === 'char' ||
        t.kind === 'dot' ||
        t.kind === 'field' ||
        t.kind === 'identifier' ||
        t.kind === 'number' ||
        t.kind === 'nil' ||
        t.kind === 'rawstring' ||
        t.kind === 'string' ||
        t.kind === 'variable' ||
        t.kind === 'lparen'
      ) {
        this.#backup();
        cmds.push(this.#command());
        continue;
      }
      this.#unexpected(t, context);
    }
    cmds.slice(1).forEach((c, i) => {
      const first = c.args[0];
      if (first !== undefined && ['bool', 'dot', 'nil', 'number', 'string'].includes(first.t)) {
        this.#fail(`non executable command in pipeline stage ${i + 2}`);
      }
    });
    return { pos: startTok.pos, decl, isAssign, cmds };
  }

  #command(): Cmd {
    const pos = this.#peekNonSpace().pos;
    const args: Arg[] = [];
    for (;;) {
      this.#peekNonSpace();
      const operand = this.#operand();
      if (operand !== null) args.push(operand);
      const t = this.#next();
      if (t.kind === 'space') continue;
      if (t.kind === 'right' || t.kind === 'rparen') {
        this.#backup();
      } else if (t.kind !== 'pipe') {
        this.#unexpected(t, 'operand');
      }
      break;
    }
    if (args.length === 0) this.#fail('empty command');
    return { pos, args };
  }

  #operand(): Arg | null {
    const node = this.#term();
    if (node === null) return null;
    if (this.#peek().kind !== 'field') return node;
    const chainPos = this.#peek().pos;
    const fields: string[] = [];
    while (this.#peek().kind === 'field') fields.push(this.#next().val.slice(1));
    switch (node.t) {
      case 'field':
        return { t: 'field', pos: chainPos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { t: 'variable', pos: chainPos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.#fail(`unexpected . after term ${JSON.stringify(argString(node))}`);
      default:
        return { t: 'chain', pos: chainPos, node, field: fields };
    }
  }

  #term(): Arg | null {
    const t = this.#nextNonSpace();
    switch (t.kind) {
      case 'identifier':
        if (!FUNC_NAMES.has(t.val)) this.#fail(`function "${t.val}" not defined`, t);
        return { t: 'identifier', pos: t.pos, name: t.val };
      case 'dot':
        return { t: 'dot', pos: t.pos };
      case 'nil':
        return { t: 'nil', pos: t.pos };
      case 'variable': {
        const parts = t.val.split('.');
        const name = parts[0] as string;
        if (!this.#vars.includes(name)) this.#fail(`undefined variable "${name}"`, t);
        return { t: 'variable', pos: t.pos, ident: [t.val] };
      }
      case 'field':
        return { t: 'field', pos: t.pos, ident: [t.val.slice(1)] };
      case 'bool':
        return { t: 'bool', pos: t.pos, v: t.val === 'true' };
      case 'char':
      case 'number':
        return { t: 'number', pos: t.pos, text: t.val, v: this.#number(t) };
      case 'lparen': {
        const pipe = this.#pipeline('parenthesized pipeline', 'rparen');
        return { t: 'pipe', pos: t.pos, pipe };
      }
      case 'string':
      case 'rawstring':
        return { t: 'string', pos: t.pos, text: t.val, v: unquote(t.val) };
      default:
        this.#backup();
        return null;
    }
  }

  #number(t: Tok): GoValue {
    if (t.kind === 'char') {
      const s = unquoteChar(t.val);
      if (s === null) this.#fail(`malformed character constant: ${t.val}`, t);
      return goInt(s.codePointAt(0) ?? 0);
    }
    const text = t.val.replace(/_/g, '');
    if (text.endsWith('i')) this.#fail(`complex numbers are not supported: ${t.val}`, t);
    const neg = text.startsWith('-');
    const body = text.replace(/^[+-]/, '');
    let n: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(body)) n = parseInt(body.slice(2), 16);
    else if (/^0[oO][0-7]+$/.test(body)) n = parseInt(body.slice(2), 8);
    else if (/^0[bB][01]+$/.test(body)) n = parseInt(body.slice(2), 2);
    else if (/^0[0-7]+$/.test(body)) n = parseInt(body, 8);
    else if (/^\d+$/.test(body)) n = parseInt(body, 10);
    else {
      const f = Number(body);
      if (Number.isNaN(f)) this.#fail(`illegal number syntax: ${JSON.stringify(t.val)}`, t);
      return goFloat(neg ? -f : f);
    }
    return goInt(neg ? -n : n);
  }
}

function tokString(t: Tok): string {
  switch (t.kind) {
    case 'eof':
      return 'EOF';
    case 'keyword':
      return `<${t.val}>`;
    case 'error':
      return t.val;
    default:
      return t.val.length > 10 ? `${JSON.stringify(t.val.slice(0, 10)).slice(0, -1)}"...` : JSON.stringify(t.val);
  }
}

function unquote(lit: string): string {
  if (lit.startsWith('`')) return lit.slice(1, -1);
  let out = '';
  const body = lit.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i] ?? '';
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (simple[e] !== undefined) out += simple[e];
    else if (e === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === 'u') {
      out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 5), 16));
      i += 4;
    } else if (e === 'U') {
      out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 9), 16));
      i += 8;
    } else if (/[0-7]/.test(e)) {
      out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else out += e;
  }
  return out;
}

function unquoteChar(lit: string): string | null {
  const s = unquote('"' + lit.slice(1, -1).replace(/"/g, '\\"') + '"');
  return [...s].length === 1 ? s : null;
}

// ---------------------------------------------------------------------------------------------
// Execution

/** Options for {@link GoTemplate.execute}. */
export interface ExecuteOptions {
  /** `missingkey=error`: a missing map key is an error instead of `<no value>`. */
  readonly missingKeyError?: boolean;
  /** Replaces functions of the same name (used for table headers). */
  readonly funcs?: Readonly<Record<string, FuncDef>>;
}

const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}

interface Frame {
  readonly name: string;
  value: GoValue;
}

class Exec {
  readonly #src: string;
  readonly #defines: ReadonlyMap<string, readonly Node[]>;
  readonly #funcs: Readonly<Record<string, FuncDef>>;
  readonly #missingKeyError: boolean;
  #vars: Frame[] = [];
  #out = '';
  #at: { pos: number; text: string } = { pos: 0, text: '' };
  #tmplName = '';
  #depth = 0;

  constructor(src: string, defines: ReadonlyMap<string, readonly Node[]>, opts: ExecuteOptions) {
    this.#src = src;
    this.#defines = defines;
    this.#funcs = { ...ALL_FUNCS, ...(opts.funcs ?? {}) };
    this.#missingKeyError = opts.missingKeyError === true;
  }

  /** What was printed so far (the output before a failure). */
  get partial(): string {
    return this.#out;
  }

  run(root: readonly Node[], dot: GoValue): string {
    this.#vars = [{ name: '$', value: dot }];
    this.#walkList(dot, root);
    return this.#out;
  }

  #setAt(pos: number, text: string): void {
    this.#at = { pos, text };
  }

  #error(msg: string): never {
    const prefix = this.#src.slice(0, this.#at.pos);
    const line = prefix.split('\n').length;
    const nl = prefix.lastIndexOf('\n');
    const col = Buffer.byteLength(nl < 0 ? prefix : prefix.slice(nl + 1));
    const ctx = this.#at.text.length > 20 ? `${this.#at.text.slice(0, 20)}...` : this.#at.text;
    throw new TemplateExecError(`template: :${line}:${col}: executing "${this.#tmplName}" at <${ctx}>: ${msg}`);
  }

  #walkList(dot: GoValue, list: readonly Node[]): void {
    for (const n of list) this.#walk(dot, n);
  }

  #walk(dot: GoValue, n: Node): void {
    switch (n.t) {
      case 'text':
        this.#out += n.text;
        return;
      case 'action': {
        this.#setAt(n.pos, pipeString(n.pipe));
        const v = this.#evalPipeline(dot, n.pipe);
        if (n.pipe.decl.length === 0) this.#out += printable(v);
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.#vars.length;
        const v = this.#evalPipeline(dot, n.pipe);
        if (isTrue(v)) this.#walkList(n.t === 'with' ? v : dot, n.list);
        else if (n.elseList !== null) this.#walkList(dot, n.elseList);
        this.#vars.length = mark;
        return;
      }
      case 'range':
        this.#walkRange(dot, n);
        return;
      case 'template': {
        this.#setAt(n.pos, `{{template ${JSON.stringify(n.name)}${n.pipe !== null ? ' ' + pipeString(n.pipe) : ''}}}`);
        const body = this.#defines.get(n.name);
        if (body === undefined) this.#error(`template ${JSON.stringify(n.name)} not defined`);
        if (this.#depth >= 100000) this.#error('exceeded maximum template depth (100000)');
        const newDot = n.pipe !== null ? this.#evalPipeline(dot, n.pipe) : INVALID;
        const savedVars = this.#vars;
        const savedName = this.#tmplName;
        this.#vars = [{ name: '$', value: newDot }];
        this.#tmplName = n.name;
        this.#depth++;
        try {
          this.#walkList(newDot, body);
        } finally {
          this.#depth--;
          this.#vars = savedVars;
          this.#tmplName = savedName;
        }
        return;
      }
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
    }
  }

  #walkRange(dot: GoValue, n: ControlNode): void {
    this.#setAt(n.pos, `{{range ${pipeString(n.pipe)}}}`);
    const mark = this.#vars.length;
    let val = this.#evalPipeline(dot, n.pipe);
    while (val.kind === 'ptr' && val.elem !== null) val = val.elem;
    const oneIteration = (index: GoValue, elem: GoValue): boolean => {
      if (n.pipe.decl.length > 0) {
        if (n.pipe.decl.length === 1) this.#setVarTop(1, elem);
        else {
          this.#setVarTop(2, index);
          this.#setVarTop(1, elem);
        }
      }
      const inner = this.#vars.length;
      try {
        this.#walkList(elem, n.list);
      } catch (e) {
        if (e instanceof BreakSignal) return false;
        if (!(e instanceof ContinueSignal)) throw e;
      } finally {
        this.#vars.length = inner;
      }
      return true;
    };
    let ran = false;
    switch (val.kind) {
      case 'slice':
        for (const [i, item] of (val.items ?? []).entries()) {
          ran = true;
          if (!oneIteration(goInt(i), item)) break;
        }
        break;
      case 'map': {
        const entries = val.entries;
        if (entries !== null) {
          for (const k of sortedKeys(entries)) {
            ran = true;
            if (!oneIteration(goString(k), entries.get(k) ?? INVALID)) break;
          }
        }
        break;
      }
      case 'int':
        if (n.pipe.decl.length > 1) this.#error(`can't use ${val.v} to iterate over more than one variable`);
        for (let i = 0; i < val.v; i++) {
          ran = true;
          if (!oneIteration(goInt(i), goInt(i))) break;
        }
        break;
      case 'invalid':
      case 'nil':
        break;
      case 'ptr':
        break;
      default:
        this.#error(`range can't iterate over ${formatValue(val)}`);
    }
    if (!ran && n.elseList !== null) this.#walkList(dot, n.elseList);
    this.#vars.length = mark;
  }

  /** Sets the variable `fromTop` frames from the top (1 = last declared). */
  #setVarTop(fromTop: number, v: GoValue): void {
    const f = this.#vars[this.#vars.length - fromTop];
    if (f !== undefined) f.value = v;
  }

  #varValue(name: string): GoValue {
    for (let i = this.#vars.length - 1; i >= 0; i--) {
      const f = this.#vars[i] as Frame;
      if (f.name === name) return f.value;
    }
    return this.#error(`undefined variable: ${name}`);
  }

  #evalPipeline(dot: GoValue, pipe: Pipe): GoValue {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.#evalCommand(dot, cmd, value);
      // An interface{} holding nil becomes "no value" (text/template's "lovely!" step).
      if (value.kind === 'nil') value = INVALID;
    }
    const result = value === MISSING ? INVALID : value;
    if (pipe.decl.length > 0) {
      if (pipe.isAssign) {
        for (let i = this.#vars.length - 1; i >= 0; i--) {
          const f = this.#vars[i] as Frame;
          if (f.name === pipe.decl[0]) {
            f.value = result;
            break;
          }
        }
      } else {
        for (const name of pipe.decl) this.#vars.push({ name, value: result });
      }
    }
    return result;
  }

  #evalCommand(dot: GoValue, cmd: Cmd, final: Final): GoValue {
    const first = cmd.args[0] as Arg;
    switch (first.t) {
      case 'field':
        return this.#evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.#evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.#evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.#notAFunction(cmd.args, final, first);
        return this.#evalPipeline(dot, first.pipe);
      case 'variable':
        return this.#evalVariableNode(dot, first, cmd.args, final);
      default:
        break;
    }
    this.#setAt(first.pos, argString(first));
    this.#notAFunction(cmd.args, final, first);
    switch (first.t) {
      case 'bool':
        return goBool(first.v);
      case 'dot':
        return dot;
      case 'nil':
        return this.#error('nil is not a command');
      case 'number':
        return first.v;
      case 'string':
        return goString(first.v);
    }
  }

  #notAFunction(args: readonly Arg[], final: Final, first: Arg): void {
    if (args.length > 1 || final !== MISSING) this.#error(`can't give argument to non-function ${argString(first)}`);
  }

  #evalFieldNode(dot: GoValue, field: Extract<Arg, { t: 'field' }>, args: readonly Arg[], final: Final): GoValue {
    this.#setAt(field.pos, argString(field));
    return this.#evalFieldChain(dot, dot, null, field.ident, args, final);
  }

  #evalChainNode(dot: GoValue, chain: Extract<Arg, { t: 'chain' }>, args: readonly Arg[], final: Final): GoValue {
    this.#setAt(chain.pos, argString(chain));
    const pipe = this.#evalArg(dot, 'any', chain.node);
    this.#setAt(chain.pos, argString(chain));
    return this.#evalFieldChain(dot, pipe, null, chain.field, args, final);
  }

  #evalVariableNode(dot: GoValue, v: Extract<Arg, { t: 'variable' }>, args: readonly Arg[], final: Final): GoValue {
    this.#setAt(v.pos, argString(v));
    const [name, ...rest] = (v.ident[0] as string).split('.');
    const fields = [...rest, ...v.ident.slice(1)];
    const value = this.#varValue(name as string);
    if (fields.length === 0) {
      this.#notAFunction(args, final, v);
      return value;
    }
    return this.#evalFieldChain(dot, value, null, fields, args, final);
  }

  #evalFieldChain(
    dot: GoValue,
    receiver: GoValue,
    staticType: GoType | null,
    ident: readonly string[],
    args: readonly Arg[],
    final: Final,
  ): GoValue {
    let r = receiver;
    let st = staticType;
    ident.forEach((name, i) => {
      const last = i === ident.length - 1;
      [r, st] = this.#evalField(dot, name, r, st, last ? args : [], last ? final : MISSING);
    });
    return r;
  }

  #evalField(
    dot: GoValue,
    name: string,
    receiver: GoValue,
    staticType: GoType | null,
    args: readonly Arg[],
    final: Final,
  ): [GoValue, GoType | null] {
    if (receiver.kind === 'invalid') {
      if (this.#missingKeyError) this.#error(`nil data; no entry for key ${JSON.stringify(name)}`);
      return [INVALID, null];
    }
    const typName = staticType !== null ? typeName(staticType) : valueTypeName(receiver);
    const hasArgs = args.length > 1 || final !== MISSING;
    let r: GoValue = receiver;
    while (r.kind === 'ptr') {
      if (r.elem === null) {
        // Methods on nil pointers are not modelled; fields are an error, as in Go.
        return this.#error(`nil pointer evaluating ${typName}.${name}`);
      }
      r = r.elem;
    }
    if (r.kind === 'object') {
      const m = r.member(name);
      if (m !== undefined) return [this.#evalCall(dot, m, name, args, final), null];
      if (r.onMissing === 'invalid') {
        if (hasArgs) this.#error(`${name} is not a method but has arguments`);
        return [INVALID, null];
      }
      return this.#error(`can't evaluate field ${name} in type ${typName}`);
    }
    if (r.kind === 'time') {
      const m = timeMember(r.v, name);
      if (m !== undefined) return [this.#evalCall(dot, m, name, args, final), null];
    }
    if (r.kind === 'struct') {
      const idx = r.type.fields.findIndex((f) => f.name === name);
      if (idx >= 0) {
        if (hasArgs) this.#error(`${name} has arguments but cannot be invoked as function`);
        return [r.fields[idx] ?? INVALID, r.type.fields[idx]?.type ?? null];
      }
    }
    if (r.kind === 'map') {
      if (hasArgs) this.#error(`${name} is not a method but has arguments`);
      const got = r.entries?.get(name);
      if (got === undefined) {
        if (this.#missingKeyError) this.#error(`map has no entry for key ${JSON.stringify(name)}`);
        return [INVALID, null];
      }
      return [got, r.type.elem];
    }
    if (r.kind === 'nil') return this.#error(`nil pointer evaluating ${typName}.${name}`);
    return this.#error(`can't evaluate field ${name} in type ${typName}`);
  }

  #evalCall(dot: GoValue, m: GoMember, name: string, args: readonly Arg[], final: Final): GoValue {
    const actual = args.slice(1);
    const numIn = actual.length + (final !== MISSING ? 1 : 0);
    if (numIn !== m.arity) this.#error(`wrong number of args for ${name}: want ${m.arity} got ${numIn}`);
    const argv = actual.map((a) => this.#evalArg(dot, 'any', a));
    if (final !== MISSING) argv.push(final);
    return m.call(argv);
  }

  #evalFunction(dot: GoValue, node: Extract<Arg, { t: 'identifier' }>, cmd: Cmd | null, args: readonly Arg[], final: Final): GoValue {
    this.#setAt(node.pos, node.name);
    const name = node.name;
    const ctxPos = cmd?.pos ?? node.pos;
    const ctxText = cmd !== null ? cmdString(cmd) : node.name;
    const actual = args.slice(1);
    if (name === 'and' || name === 'or') {
      const nodes: Array<Arg | GoValue> = [...actual];
      if (final !== MISSING) nodes.push(final);
      if (nodes.length < 1) {
        this.#setAt(ctxPos, ctxText);
        this.#error(`wrong number of args for ${name}: want at least 1 got 0`);
      }
      let v: GoValue = INVALID;
      for (const a of nodes) {
        v = 'kind' in a ? a : this.#evalArg(dot, 'any', a);
        if (isTrue(v) === (name === 'or')) return v;
      }
      return v;
    }
    const fn = this.#funcs[name];
    if (fn === undefined) return this.#error(`"${name}" is not a defined function`);
    const numIn = actual.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.params.length;
    if (fn.variadic !== undefined) {
      if (numIn < numFixed) {
        this.#setAt(ctxPos, ctxText);
        this.#error(`wrong number of args for ${name}: want at least ${numFixed} got ${numIn}`);
      }
    } else if (numIn !== numFixed) {
      this.#setAt(ctxPos, ctxText);
      this.#error(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    const paramAt = (i: number): Param => fn.params[i] ?? fn.variadic ?? 'any';
    const argv = actual.map((a, i) => this.#evalArg(dot, paramAt(i), a));
    if (final !== MISSING) argv.push(this.#validateType(final, paramAt(argv.length)));
    this.#setAt(ctxPos, ctxText);
    try {
      return fn.call(argv);
    } catch (e) {
      if (e instanceof FuncError) this.#error(`error calling ${name}: ${e.message}`);
      throw e;
    }
  }

  #evalArg(dot: GoValue, typ: Param, a: Arg): GoValue {
    this.#setAt(a.pos, argString(a));
    switch (a.t) {
      case 'dot':
        return this.#validateType(dot, typ);
      case 'nil':
        if (typ === 'any' || typ === 'strings') return typ === 'any' ? NIL : zeroValue({ kind: 'slice', elem: { kind: 'string' } });
        return this.#error(`cannot assign nil to ${paramTypeName[typ]}`);
      case 'field':
        return this.#validateType(this.#evalFieldNode(dot, a, [a], MISSING), typ);
      case 'variable':
        return this.#validateType(this.#evalVariableNode(dot, a, [a], MISSING), typ);
      case 'pipe':
        return this.#validateType(this.#evalPipeline(dot, a.pipe), typ);
      case 'identifier':
        return this.#validateType(this.#evalFunction(dot, a, null, [a], MISSING), typ);
      case 'chain':
        return this.#validateType(this.#evalChainNode(dot, a, [a], MISSING), typ);
      default:
        break;
    }
    switch (typ) {
      case 'any':
        if (a.t === 'string') return goString(a.v);
        if (a.t === 'bool') return goBool(a.v);
        return a.v;
      case 'string':
        if (a.t === 'string') return goString(a.v);
        return this.#error(`expected string; found ${argString(a)}`);
      case 'int':
        if (a.t === 'number' && a.v.kind === 'int') return a.v;
        return this.#error(`expected integer; found ${argString(a)}`);
      case 'bool':
        if (a.t === 'bool') return goBool(a.v);
        return this.#error(`expected bool; found ${argString(a)}`);
      case 'strings':
        return this.#error(`can't handle ${argString(a)} for arg of type []string`);
    }
  }

  #validateType(v: GoValue, typ: Param): GoValue {
    if (v.kind === 'invalid') {
      if (typ === 'any') return NIL;
      if (typ === 'strings') return zeroValue({ kind: 'slice', elem: { kind: 'string' } });
      return this.#error(`invalid value; expected ${paramTypeName[typ]}`);
    }
    if (typ === 'any') return v;
    let x: GoValue = v;
    if (x.kind === 'ptr' && x.elem !== null) x = x.elem;
    const ok =
      (typ === 'string' && x.kind === 'string') ||
      (typ === 'int' && x.kind === 'int') ||
      (typ === 'bool' && x.kind === 'bool') ||
      (typ === 'strings' && x.kind === 'slice' && x.type.elem.kind === 'string');
    if (ok) return x;
    return this.#error(`wrong type for value; expected ${paramTypeName[typ]}; got ${valueTypeName(v)}`);
  }
}

/** text/template's printValue: pointers are followed, a missing value prints `<no value>`. */
function printable(v: GoValue): string {
  let x: GoValue = v;
  while (x.kind === 'ptr' && x.elem !== null) x = x.elem;
  if (x.kind === 'invalid') return '<no value>';
  return formatValue(x);
}

function timeMember(t: GoTime, name: string): GoMember | undefined {
  const simple: Record<string, () => GoValue> = {
    Year: () => goInt(t.year),
    Month: () => goString(monthName(t.month)),
    Day: () => goInt(t.day),
    Hour: () => goInt(t.hour),
    Minute: () => goInt(t.minute),
    Second: () => goInt(t.second),
    Nanosecond: () => goInt(t.nanosecond),
    Unix: () => goInt(timeUnix(t)),
    UnixNano: () => goInt(timeUnix(t) * 1e9 + t.nanosecond),
    String: () => goString(timeString(t)),
    IsZero: () => goBool(t.year === 1 && t.month === 1 && t.day === 1 && t.hour === 0 && t.minute === 0 && t.second === 0 && t.nanosecond === 0 && t.offset === 0),
    Weekday: () => goString(weekdayName(t)),
  };
  const f = simple[name];
  return f === undefined ? undefined : { arity: 0, call: () => f() };
}

// ---------------------------------------------------------------------------------------------
// Public API

/** A parsed template, ready to run on {@link GoValue}s. */
export class GoTemplate {
  readonly source: string;
  readonly #root: readonly Node[];
  readonly #defines: ReadonlyMap<string, readonly Node[]>;

  private constructor(source: string, root: readonly Node[], defines: ReadonlyMap<string, readonly Node[]>) {
    this.source = source;
    this.#root = root;
    this.#defines = defines;
  }

  /** Parses `source`; throws {@link TemplateParseError} with Go's message. */
  static parse(source: string): GoTemplate {
    const parser = new Parser(lex(source));
    const root = parser.parse();
    return new GoTemplate(source, root, parser.defines);
  }

  /** Runs the template with `data` as dot; throws {@link TemplateExecError} with Go's message. */
  execute(data: GoValue, opts: ExecuteOptions = {}): string {
    return new Exec(this.source, this.#defines, opts).run(this.#root, data);
  }

  /**
   * Runs the template and returns what it printed up to a failure, and the failure — the
   * docker CLI ignores errors while rendering table headers but keeps the partial output.
   */
  executePartial(data: GoValue, opts: ExecuteOptions = {}): { output: string; error: TemplateExecError | null } {
    const exec = new Exec(this.source, this.#defines, opts);
    try {
      return { output: exec.run(this.#root, data), error: null };
    } catch (e) {
      if (e instanceof TemplateExecError) return { output: exec.partial, error: e };
      throw e;
    }
  }
}
