/**
 * Go values as the docker CLI's templates see them.
 *
 * The docker CLI decodes daemon JSON into Go structs and runs `--format` templates on those, so
 * what a template prints depends on Go types: `{{.IPAM.Config}}` prints
 * `[{172.18.0.0/16  172.18.0.1 map[]}]` because IPAMConfig is a struct with four fields in a
 * known order, `{{.Created}}` prints `2024-05-01 10:00:00 +0000 UTC` because it is a
 * `time.Time`, and `{{json .}}` emits struct fields in declaration order with `omitempty`.
 * A {@link GoType} describes such a type (see `docker-types.ts` for the table of Docker's
 * structs); {@link decodeTyped} turns daemon JSON into a {@link GoValue} of that type, and
 * {@link decodeDynamic} into the `map[string]interface{}` view the CLI falls back to.
 *
 * Printing follows `fmt`'s `%v` ({@link formatValue}); JSON encoding follows `encoding/json`
 * with HTML escaping off ({@link encodeJson}). Pure; no I/O.
 */
import { type JsonNode, quoteJsonString } from './go-json.js';

// ---------------------------------------------------------------------------------------------
// Types

/** A struct field: Go name, JSON key, type, and whether `json:",omitempty"` is set. */
export interface GoField {
  readonly name: string;
  readonly json: string;
  readonly type: GoType;
  readonly omitempty?: boolean;
}

/** A Go struct type, named as `%T` / template errors print it (`network.IPAMConfig`). */
export interface StructType {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: readonly GoField[];
}

/** `map[string]elem` (the only key type Docker's inspect objects use). */
export interface MapType {
  readonly kind: 'map';
  readonly elem: GoType;
}

/** `[]elem`. */
export interface SliceType {
  readonly kind: 'slice';
  readonly elem: GoType;
}

/** `*elem`. */
export interface PtrType {
  readonly kind: 'ptr';
  readonly elem: GoType;
}

/** The Go types the CLI needs to model. `any` is `interface{}`; `time` is `time.Time`. */
export type GoType =
  | { readonly kind: 'string' | 'bool' | 'int' | 'float64' | 'time' | 'any' }
  | StructType
  | MapType
  | SliceType
  | PtrType;

/** Constructors for {@link GoType}s, so schemas read like Go. */
export const T = {
  string: { kind: 'string' } as GoType,
  bool: { kind: 'bool' } as GoType,
  int: { kind: 'int' } as GoType,
  float64: { kind: 'float64' } as GoType,
  time: { kind: 'time' } as GoType,
  any: { kind: 'any' } as GoType,
  struct: (name: string, fields: readonly GoField[]): StructType => ({ kind: 'struct', name, fields }),
  map: (elem: GoType): MapType => ({ kind: 'map', elem }),
  slice: (elem: GoType): SliceType => ({ kind: 'slice', elem }),
  ptr: (elem: GoType): PtrType => ({ kind: 'ptr', elem }),
};

/** Go's spelling of a type, as in `%T` and template error messages. */
export function typeName(t: GoType): string {
  switch (t.kind) {
    case 'string':
    case 'bool':
    case 'int':
    case 'float64':
      return t.kind;
    case 'time':
      return 'time.Time';
    case 'any':
      return 'interface {}';
    case 'struct':
      return t.name;
    case 'map':
      return `map[string]${typeName(t.elem)}`;
    case 'slice':
      return `[]${typeName(t.elem)}`;
    case 'ptr':
      return `*${typeName(t.elem)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Values

/** A wall-clock time with its UTC offset, as `time.Time` keeps it after JSON decoding. */
export interface GoTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly nanosecond: number;
  /** Seconds east of UTC. */
  readonly offset: number;
}

/** A method or getter of a {@link GoObject}: how many arguments it takes and what it returns. */
export interface GoMember {
  readonly arity: number;
  call(args: readonly GoValue[]): GoValue;
}

/**
 * A value with methods rather than data — the docker CLI's formatting contexts
 * (`*network.networkContext`, the table header context). `onMissing` says what an unknown
 * member is: an error (struct-like) or `<no value>` (map-like).
 */
export interface GoObject {
  readonly kind: 'object';
  readonly typeName: string;
  readonly onMissing: 'error' | 'invalid';
  member(name: string): GoMember | undefined;
  /** The object's `MarshalJSON`, when it has one. */
  marshalJson?(): string;
}

/**
 * A Go value. `invalid` is the zero `reflect.Value` (a missing map key; prints `<no value>`);
 * `nil` is a nil `interface{}` (prints `<nil>`); `number` is `json.Number` (prints its literal).
 */
export type GoValue =
  | { readonly kind: 'invalid' }
  | { readonly kind: 'nil' }
  | { readonly kind: 'string'; readonly v: string }
  | { readonly kind: 'bool'; readonly v: boolean }
  | { readonly kind: 'int'; readonly v: number }
  | { readonly kind: 'float'; readonly v: number }
  | { readonly kind: 'number'; readonly v: string }
  | { readonly kind: 'time'; readonly v: GoTime }
  | { readonly kind: 'struct'; readonly type: StructType; readonly fields: readonly GoValue[] }
  | { readonly kind: 'map'; readonly type: MapType; readonly entries: ReadonlyMap<string, GoValue> | null }
  | { readonly kind: 'slice'; readonly type: SliceType; readonly items: readonly GoValue[] | null }
  | { readonly kind: 'ptr'; readonly type: PtrType; readonly elem: GoValue | null }
  | GoObject;

export const INVALID: GoValue = { kind: 'invalid' };
export const NIL: GoValue = { kind: 'nil' };
export const goString = (v: string): GoValue => ({ kind: 'string', v });
export const goBool = (v: boolean): GoValue => ({ kind: 'bool', v });
export const goInt = (v: number): GoValue => ({ kind: 'int', v });
export const goFloat = (v: number): GoValue => ({ kind: 'float', v });

const STRING_SLICE = T.slice(T.string);
/** A `[]string` value. */
export const goStrings = (items: readonly string[]): GoValue => ({
  kind: 'slice',
  type: STRING_SLICE,
  items: items.map(goString),
});

/** The Go type of a value, spelled as Go does (`interface {}` for a nil interface). */
export function valueTypeName(v: GoValue): string {
  switch (v.kind) {
    case 'invalid':
      return '<invalid>';
    case 'nil':
      return 'interface {}';
    case 'string':
    case 'bool':
    case 'int':
      return v.kind;
    case 'float':
      return 'float64';
    case 'number':
      return 'json.Number';
    case 'time':
      return 'time.Time';
    case 'struct':
    case 'map':
    case 'slice':
    case 'ptr':
      return typeName(v.type);
    case 'object':
      return v.typeName;
  }
}

export const ZERO_TIME: GoTime = {
  year: 1,
  month: 1,
  day: 1,
  hour: 0,
  minute: 0,
  second: 0,
  nanosecond: 0,
  offset: 0,
};

/** The zero value of a type. */
export function zeroValue(t: GoType): GoValue {
  switch (t.kind) {
    case 'string':
      return goString('');
    case 'bool':
      return goBool(false);
    case 'int':
      return goInt(0);
    case 'float64':
      return goFloat(0);
    case 'time':
      return { kind: 'time', v: ZERO_TIME };
    case 'any':
      return NIL;
    case 'struct':
      return { kind: 'struct', type: t, fields: t.fields.map((f) => zeroValue(f.type)) };
    case 'map':
      return { kind: 'map', type: t, entries: null };
    case 'slice':
      return { kind: 'slice', type: t, items: null };
    case 'ptr':
      return { kind: 'ptr', type: t, elem: null };
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes JSON into a typed value the way `encoding/json` fills a Go struct: fields by JSON key
 * (exact match first, then case-insensitive), unknown keys dropped, absent or `null` fields
 * left at their zero value. Unlike Go, a value of the wrong JSON type becomes the zero value
 * instead of failing the whole decode.
 */
export function decodeTyped(t: GoType, node: JsonNode | undefined): GoValue {
  if (node === undefined || node.t === 'null') return zeroValue(t);
  switch (t.kind) {
    case 'string':
      return node.t === 'str' ? goString(node.v) : zeroValue(t);
    case 'bool':
      return node.t === 'bool' ? goBool(node.v) : zeroValue(t);
    case 'int':
      return node.t === 'num' && /^-?\d+$/.test(node.raw) ? goInt(Number(node.raw)) : zeroValue(t);
    case 'float64':
      return node.t === 'num' ? goFloat(Number(node.raw)) : zeroValue(t);
    case 'time': {
      if (node.t !== 'str') return zeroValue(t);
      const parsed = parseRfc3339(node.v);
      return parsed === null ? goString(node.v) : { kind: 'time', v: parsed };
    }
    case 'any':
      return decodeDynamic(node);
    case 'struct': {
      if (node.t !== 'obj') return zeroValue(t);
      const fields = t.fields.map((f) => {
        let found: JsonNode | undefined;
        for (const [k, v] of node.entries) if (k === f.json) found = v;
        if (found === undefined) {
          const lower = f.json.toLowerCase();
          for (const [k, v] of node.entries) if (k.toLowerCase() === lower) found = v;
        }
        return decodeTyped(f.type, found);
      });
      return { kind: 'struct', type: t, fields };
    }
    case 'map': {
      if (node.t !== 'obj') return zeroValue(t);
      const entries = new Map<string, GoValue>();
      for (const [k, v] of node.entries) entries.set(k, decodeTyped(t.elem, v));
      return { kind: 'map', type: t, entries };
    }
    case 'slice':
      if (node.t !== 'arr') return zeroValue(t);
      return { kind: 'slice', type: t, items: node.items.map((n) => decodeTyped(t.elem, n)) };
    case 'ptr':
      return { kind: 'ptr', type: t, elem: decodeTyped(t.elem, node) };
  }
}

const ANY_MAP = T.map(T.any);
const ANY_SLICE = T.slice(T.any);

/**
 * Decodes JSON into `interface{}` the way the docker CLI's raw fallback does (`UseNumber`):
 * objects become `map[string]interface {}`, arrays `[]interface {}`, numbers `json.Number`.
 */
export function decodeDynamic(node: JsonNode): GoValue {
  switch (node.t) {
    case 'null':
      return NIL;
    case 'str':
      return goString(node.v);
    case 'bool':
      return goBool(node.v);
    case 'num':
      return { kind: 'number', v: node.raw };
    case 'arr':
      return { kind: 'slice', type: ANY_SLICE, items: node.items.map(decodeDynamic) };
    case 'obj': {
      const entries = new Map<string, GoValue>();
      for (const [k, v] of node.entries) entries.set(k, decodeDynamic(v));
      return { kind: 'map', type: ANY_MAP, entries };
    }
  }
}

/** Turns a plain JS value (from our own code) into a {@link JsonNode}, for {@link decodeTyped}. */
export function plainToJsonNode(v: unknown): JsonNode {
  if (v === null || v === undefined) return { t: 'null' };
  if (typeof v === 'string') return { t: 'str', v };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (typeof v === 'number') return { t: 'num', raw: String(v) };
  if (Array.isArray(v)) return { t: 'arr', items: v.map(plainToJsonNode) };
  if (v instanceof Map) {
    return { t: 'obj', entries: [...(v as Map<string, unknown>)].map(([k, x]) => [k, plainToJsonNode(x)] as const) };
  }
  if (typeof v === 'object') {
    return { t: 'obj', entries: Object.entries(v).map(([k, x]) => [k, plainToJsonNode(x)] as const) };
  }
  return { t: 'null' };
}

// ---------------------------------------------------------------------------------------------
// Time

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses RFC 3339 with optional fraction (what Docker sends for `Created`); null if malformed. */
export function parseRfc3339(s: string): GoTime | null {
  const m = RFC3339.exec(s);
  if (m === null) return null;
  const n = (i: number): number => Number(m[i] ?? '0');
  const frac = m[7] ?? '';
  const offset = m[8] !== undefined ? 0 : (m[9] === '-' ? -1 : 1) * (n(10) * 3600 + n(11) * 60);
  return {
    year: n(1),
    month: n(2),
    day: n(3),
    hour: n(4),
    minute: n(5),
    second: n(6),
    nanosecond: frac === '' ? 0 : Number(frac.padEnd(9, '0')),
    offset,
  };
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function offsetString(offset: number, colon: boolean): string {
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  return `${sign}${pad(Math.floor(a / 3600), 2)}${colon ? ':' : ''}${pad(Math.floor((a % 3600) / 60), 2)}`;
}

function fraction(ns: number): string {
  return ns === 0 ? '' : '.' + pad(ns, 9).replace(/0+$/, '');
}

/**
 * `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`. A zero offset prints as
 * `+0000 UTC`; other offsets have no zone name, so Go prints the offset twice (`+0200 +0200`).
 */
export function timeString(t: GoTime): string {
  const zone = t.offset === 0 ? 'UTC' : offsetString(t.offset, false);
  return (
    `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)} ` +
    `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${fraction(t.nanosecond)} ` +
    `${offsetString(t.offset, false)} ${zone}`
  );
}

/** `time.Time.MarshalJSON` layout: RFC 3339 with trimmed nanoseconds, `Z` for UTC. */
export function timeRfc3339(t: GoTime): string {
  const zone = t.offset === 0 ? 'Z' : offsetString(t.offset, true);
  return (
    `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T` +
    `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${fraction(t.nanosecond)}${zone}`
  );
}

function wallClockMillis(t: GoTime): number {
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.minute, t.second, 0);
  return d.getTime();
}

/** Seconds since the Unix epoch (`time.Time.Unix`). */
export function timeUnix(t: GoTime): number {
  return wallClockMillis(t) / 1000 - t.offset;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Name of the month (`time.Month.String`). */
export function monthName(month: number): string {
  return MONTHS[month - 1] ?? `%!Month(${month})`;
}

/** Name of the weekday of the wall-clock date (`time.Weekday.String`). */
export function weekdayName(t: GoTime): string {
  return WEEKDAYS[new Date(wallClockMillis(t)).getUTCDay()] as string;
}

/** `time.ANSIC`: `Mon Jan _2 15:04:05 2006`, as `docker version` prints build times. */
export function timeAnsic(t: GoTime): string {
  return (
    `${weekdayName(t).slice(0, 3)} ${monthName(t.month).slice(0, 3)} ${String(t.day).padStart(2, ' ')} ` +
    `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)} ${t.year}`
  );
}

// ---------------------------------------------------------------------------------------------
// Printing (%v)

/** Options of {@link formatValue}: `plus` is `%+v` (struct field names). */
export interface FormatOptions {
  readonly plus?: boolean;
}

/**
 * `fmt`'s `%v` of a value. Maps print with sorted keys (`map[a:1 b:2]`), nil maps and slices as
 * `map[]` / `[]`, structs as `{f1 f2}`, a nil interface as `<nil>`. A pointer prints as
 * `&{…}` at the top level and — as in Go, where it is an address — as `0xc000010000` when
 * nested (the address itself is meaningless, so berth prints a fixed one).
 */
export function formatValue(v: GoValue, opts: FormatOptions = {}, depth = 0): string {
  switch (v.kind) {
    case 'invalid':
      return '<invalid reflect.Value>';
    case 'nil':
      return '<nil>';
    case 'string':
    case 'number':
      return v.v;
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'int':
      return String(v.v);
    case 'float':
      return formatFloatG(v.v);
    case 'time':
      return timeString(v.v);
    case 'struct':
      return (
        '{' +
        v.fields
          .map((f, i) => (opts.plus ? `${v.type.fields[i]?.name ?? ''}:` : '') + formatValue(f, opts, depth + 1))
          .join(' ') +
        '}'
      );
    case 'map': {
      if (v.entries === null || v.entries.size === 0) return 'map[]';
      const keys = sortedKeys(v.entries);
      return 'map[' + keys.map((k) => `${k}:${formatValue(v.entries?.get(k) ?? NIL, opts, depth + 1)}`).join(' ') + ']';
    }
    case 'slice':
      return '[' + (v.items ?? []).map((x) => formatValue(x, opts, depth + 1)).join(' ') + ']';
    case 'ptr':
      if (v.elem === null) return '<nil>';
      if (depth === 0 && (v.elem.kind === 'struct' || v.elem.kind === 'map' || v.elem.kind === 'slice')) {
        return '&' + formatValue(v.elem, opts, depth + 1);
      }
      return depth === 0 ? formatValue(v.elem, opts, depth + 1) : '0xc000010000';
    case 'object':
      return `&{${v.typeName}}`;
  }
}

/** Map keys in Go's print and JSON order (byte-wise). */
export function sortedKeys(m: ReadonlyMap<string, unknown>): string[] {
  return [...m.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** `strconv.FormatFloat(x, 'g', -1, 64)`, which is what `%v` prints for a float64. */
export function formatFloatG(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant = '', expStr = '0'] = x.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    // Go switches to %e when the exponent is < -4 or >= the shortest precision (6 for %v).
    return `${mant}e${exp < 0 ? '-' : '+'}${pad(Math.abs(exp), 2)}`;
  }
  return String(x);
}

/** `encoding/json`'s float encoding: `%f` for 1e-6 <= |x| < 1e21, otherwise `%e` without exponent padding. */
export function formatFloatJson(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    const [mant = '', expStr = '0'] = x.toExponential().split('e');
    const exp = Number(expStr);
    return `${mant}e${exp < 0 ? '-' : '+'}${Math.abs(exp)}`;
  }
  return String(x);
}

// ---------------------------------------------------------------------------------------------
// JSON encoding

function isEmptyForOmit(v: GoValue): boolean {
  switch (v.kind) {
    case 'invalid':
    case 'nil':
      return true;
    case 'string':
    case 'number':
      return v.v === '';
    case 'bool':
      return !v.v;
    case 'int':
    case 'float':
      return v.v === 0;
    case 'map':
      return v.entries === null || v.entries.size === 0;
    case 'slice':
      return v.items === null || v.items.length === 0;
    case 'ptr':
      return v.elem === null;
    default:
      return false;
  }
}

/** Options of {@link encodeJson}. */
export interface EncodeOptions {
  /**
   * Escape `<`, `>` and `&` as `\u003c`… as `json.Marshal` and `json.NewEncoder` do by default
   * (the docker client's request bodies, `MarshalJSON` of list contexts). Off for the
   * templates' `json` function, which calls `SetEscapeHTML(false)`.
   */
  readonly escapeHtml?: boolean;
}

/**
 * `encoding/json`: struct fields in declaration order under their JSON names, `omitempty`
 * honoured, map keys sorted, nil maps/slices/pointers as `null`; HTML escaping off unless asked.
 */
export function encodeJson(v: GoValue, opts: EncodeOptions = {}): string {
  const html = opts.escapeHtml === true;
  const q = (s: string): string => quoteJsonString(s, html);
  const enc = (x: GoValue): string => encodeJson(x, opts);
  switch (v.kind) {
    case 'invalid':
    case 'nil':
      return 'null';
    case 'string':
      return q(v.v);
    case 'number':
      return v.v === '' ? '0' : v.v;
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'int':
      return String(v.v);
    case 'float':
      return formatFloatJson(v.v);
    case 'time':
      return q(timeRfc3339(v.v));
    case 'struct': {
      const parts: string[] = [];
      v.type.fields.forEach((f, i) => {
        const fv = v.fields[i] ?? INVALID;
        if (f.omitempty === true && isEmptyForOmit(fv)) return;
        parts.push(`${q(f.json)}:${enc(fv)}`);
      });
      return '{' + parts.join(',') + '}';
    }
    case 'map': {
      if (v.entries === null) return 'null';
      const entries = v.entries;
      return '{' + sortedKeys(entries).map((k) => `${q(k)}:${enc(entries.get(k) ?? NIL)}`).join(',') + '}';
    }
    case 'slice':
      return v.items === null ? 'null' : '[' + v.items.map(enc).join(',') + ']';
    case 'ptr':
      return v.elem === null ? 'null' : enc(v.elem);
    case 'object':
      return v.marshalJson !== undefined ? v.marshalJson() : '{}';
  }
}

// ---------------------------------------------------------------------------------------------
// Truth

/** text/template's truth: false, 0, "", nil, and empty maps/slices are false; structs are always true. */
export function isTrue(v: GoValue): boolean {
  switch (v.kind) {
    case 'invalid':
    case 'nil':
      return false;
    case 'string':
    case 'number':
      return v.v !== '';
    case 'bool':
      return v.v;
    case 'int':
    case 'float':
      return v.v !== 0;
    case 'map':
      return v.entries !== null && v.entries.size > 0;
    case 'slice':
      return v.items !== null && v.items.length > 0;
    case 'ptr':
      return v.elem !== null;
    default:
      return true;
  }
}
