/**
 * JSON as Go's `encoding/json` sees it, for the CLI's output paths:
 *
 * - {@link parseJsonText} keeps object key order and the literal text of numbers (Go decodes
 *   inspect data with `UseNumber`, so `{{.Size}}` prints `1000000`, never `1e+06`);
 * - {@link indentJson} / {@link compactJson} re-layout raw daemon JSON exactly as Go's
 *   `json.Indent` / `json.Compact` do (strings and numbers are copied byte for byte), which is
 *   how `docker network inspect` prints what the daemon sent;
 * - {@link quoteJsonString} quotes a string as Go's encoder does: with `SetEscapeHTML(false)`
 *   by default (the templates' `json` function), or with HTML escaping (`<`, `>`, `&` as
 *   `\u003c`…), which `json.Marshal` and the API client's request encoder use.
 *
 * No I/O here.
 */

/** A parsed JSON value that remembers key order and number literals. */
export type JsonNode =
  | { readonly t: 'obj'; readonly entries: ReadonlyArray<readonly [string, JsonNode]> }
  | { readonly t: 'arr'; readonly items: readonly JsonNode[] }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'num'; readonly raw: string }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'null' };

/** Malformed JSON text; `offset` is the byte-ish (UTF-16) index where parsing stopped. */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Parses JSON text into a {@link JsonNode}; throws {@link JsonSyntaxError}. */
export function parseJsonText(text: string): JsonNode {
  let i = 0;
  const skipWs = (): void => {
    while (i < text.length && WS.has(text[i] as string)) i++;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`invalid character ${describeChar(text[i])} ${what}`, i);
  };
  const value = (): JsonNode => {
    skipWs();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<readonly [string, JsonNode]> = [];
      skipWs();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', entries };
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail('looking for beginning of object key string');
        const key = stringLit();
        skipWs();
        if (text[i] !== ':') fail('after object key');
        i++;
        entries.push([key, value()]);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { t: 'obj', entries };
        }
        fail('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      skipWs();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items };
      }
      for (;;) {
        items.push(value());
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { t: 'arr', items };
        }
        fail('after array element');
      }
    }
    if (c === '"') return { t: 'str', v: stringLit() };
    if (c === 't' && text.startsWith('true', i)) {
      i += 4;
      return { t: 'bool', v: true };
    }
    if (c === 'f' && text.startsWith('false', i)) {
      i += 5;
      return { t: 'bool', v: false };
    }
    if (c === 'n' && text.startsWith('null', i)) {
      i += 4;
      return { t: 'null' };
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m !== null && m[0] !== '' && m[0] !== '-') {
      i += m[0].length;
      return { t: 'num', raw: m[0] };
    }
    return fail('looking for beginning of value');
  };
  const stringLit = (): string => {
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) throw new JsonSyntaxError('unexpected end of JSON input', i);
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
          continue;
        }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        throw new JsonSyntaxError('invalid character in string escape code', i);
      }
      if (c < ' ') throw new JsonSyntaxError('invalid character in string literal', i);
      out += c;
      i++;
    }
  };
  const result = value();
  skipWs();
  if (i < text.length) fail('after top-level value');
  return result;
}

function describeChar(c: string | undefined): string {
  if (c === undefined) return "'<EOF>'";
  return `'${c}'`;
}

/**
 * Tokenises JSON text for re-layout: strings and numbers come back verbatim.
 * Validation is the parser's job; callers parse first.
 */
function* jsonTokens(text: string): Generator<string> {
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (WS.has(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      yield text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if ('{}[],:'.includes(c)) {
      yield c;
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && !WS.has(text[j] as string) && !'{}[],:"'.includes(text[j] as string)) j++;
    yield text.slice(i, j);
    i = j;
  }
}

/**
 * Go's `json.Indent(dst, src, "", indent)`: one member per line, `": "` after keys, empty
 * objects and arrays stay `{}` / `[]`. The input must be valid JSON.
 */
export function indentJson(text: string, indent = '    '): string {
  parseJsonText(text);
  const toks = [...jsonTokens(text)];
  let out = '';
  let depth = 0;
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k] as string;
    const next = toks[k + 1];
    if (t === '{' || t === '[') {
      const close = t === '{' ? '}' : ']';
      if (next === close) {
        out += t + close;
        k++;
        continue;
      }
      depth++;
      out += t + '\n' + indent.repeat(depth);
    } else if (t === '}' || t === ']') {
      depth--;
      out += '\n' + indent.repeat(depth) + t;
    } else if (t === ',') {
      out += ',\n' + indent.repeat(depth);
    } else if (t === ':') {
      out += ': ';
    } else {
      out += t;
    }
  }
  return out;
}

/** Go's `json.Compact`: all insignificant whitespace removed, tokens copied verbatim. */
export function compactJson(text: string): string {
  parseJsonText(text);
  let out = '';
  for (const t of jsonTokens(text)) out += t;
  return out;
}

/**
 * Quotes a string as Go's JSON encoder does with HTML escaping off: `\"`, `\\`, `\n`, `\r`,
 * `\t`, `\b`, `\f`, other control characters as `\u00XX`, U+2028/U+2029 escaped, lone
 * surrogates replaced by U+FFFD.
 */
export function quoteJsonString(s: string, escapeHtml = false): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const c = s[i] as string;
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '\b') out += '\\b';
    else if (c === '\f') out += '\\f';
    else if (code < 0x20) out += '\\u00' + code.toString(16).padStart(2, '0');
    else if (code === 0x2028 || code === 0x2029) out += '\\u' + code.toString(16);
    else if (escapeHtml && (c === '<' || c === '>' || c === '&')) out += '\\u00' + code.toString(16);
    else if (code >= 0xd800 && code <= 0xdbff) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        out += c + (s[i + 1] as string);
        i++;
      } else out += '\ufffd';
    } else if (code >= 0xdc00 && code <= 0xdfff) out += '\ufffd';
    else out += c;
  }
  return out + '"';
}
