/**
 * The docker CLI's flag validators and key=value helpers (`opts/*.go` of docker CLI 28.2.2),
 * shared by the network and container commands. Each validator throws an Error with the text
 * pflag prints after `invalid argument "<value>" for "<flag>" flag: `, and may return the value
 * normalised the way docker stores it. Pure, except {@link readKvFile} (reads a file).
 */
import fs from 'node:fs';
import { goQuote } from './go-fmt.js';
import { ipString, parseIP } from './go-net.js';

/**
 * `opts.ValidateLabel`: the key, left-trimmed, must be non-empty and free of spaces and tabs
 * (docker 28.2.2 accepts ` a=c` — sending key ` a` — but refuses `a =c` with `label 'a '
 * contains whitespaces`).
 */
export function validateLabel(v: string): void {
  const eq = v.indexOf('=');
  const key = (eq < 0 ? v : v.slice(0, eq)).replace(/^\s+/, '');
  if (key === '') throw new Error(`invalid label '${v}': empty name`);
  if (/[ \t]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
}

/** `opts.ValidateLink`. */
export function validateLink(v: string): void {
  if (v === '') throw new Error('empty string specified for links');
  if (v.split(':').length > 2) throw new Error(`bad format for links: ${v}`);
}

/** `opts.ConvertKVStringsToMap`. */
export function kvStringsToMap(values: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) m.set(v, '');
    else m.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return m;
}

/**
 * `opts.ValidateEnv` without the expansion: the name must not be empty. A bare `NAME` takes its
 * value from the CLI's environment later ({@link expandEnv}), where the environment is known.
 */
export function validateEnv(v: string): void {
  const eq = v.indexOf('=');
  if ((eq < 0 ? v : v.slice(0, eq)) === '') throw new Error(`invalid environment variable: ${v}`);
}

/** The second half of `opts.ValidateEnv`: `NAME` becomes `NAME=value` when the CLI has it set. */
export function expandEnv(v: string, env: Readonly<Record<string, string | undefined>>): string {
  if (v.includes('=')) return v;
  const value = env[v];
  return value === undefined ? v : `${v}=${value}`;
}

/** `opts.ValidateIPAddress`: returns Go's canonical form (`0:0::1` → `::1`). */
export function validateIPAddress(v: string): string {
  const ip = parseIP(v.trim());
  if (ip === null) throw new Error(`IP address is not correctly formatted: ${v}`);
  return ipString(ip);
}

/** `opts.ValidateExtraHost`: `host:ip` or `host=ip`, IP in brackets allowed; sent as `host:ip`. */
export function validateExtraHost(v: string): string {
  let sep = v.indexOf('=');
  if (sep < 0) sep = v.indexOf(':');
  const k = sep < 0 ? v : v.slice(0, sep);
  let ip = sep < 0 ? '' : v.slice(sep + 1);
  if (sep < 0 || k === '' || k.includes(':')) throw new Error(`bad format for add-host: ${goQuote(v)}`);
  if (ip !== 'host-gateway') {
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (parseIP(ip.trim()) === null) throw new Error(`invalid IP address in add-host: ${goQuote(ip)}`);
  }
  return `${k}:${ip}`;
}

const DOMAIN_RE =
  /^(:?(?:[a-zA-Z0-9]|(?:[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))(:?\.(?:[a-zA-Z0-9]|(?:[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])))*)\.?\s*$/;

/** `opts.ValidateDNSSearch` (its regexp's `(:?` quirk included). */
export function validateDnsSearch(v: string): string {
  const val = v.replace(/^ +| +$/g, '');
  if (val === '.') return val;
  if (!/[a-zA-Z]/.test(val)) throw new Error(`${val} is not a valid domain`);
  const m = DOMAIN_RE.exec(val);
  if (m !== null && (m[1] as string).length < 255) return m[1] as string;
  throw new Error(`${val} is not a valid domain`);
}

/** `validateAttach` of the container options: stdin, stdout or stderr, any case. */
export function validateAttach(v: string): string {
  const s = v.toLowerCase();
  if (s === 'stdin' || s === 'stdout' || s === 'stderr') return s;
  throw new Error('valid streams are STDIN, STDOUT and STDERR');
}

/** Go's `net.ParseMAC`: 6, 8 or 20 bytes as `aa:bb…`, `aa-bb…` or `aabb.ccdd…`. */
export function isValidMac(s: string): boolean {
  const sizes = [6, 8, 20];
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2})*$/.test(s)) return sizes.includes((s.length + 1) / 3);
  if (/^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4})*$/.test(s)) return sizes.includes(((s.length + 1) / 5) * 2);
  return false;
}

/**
 * `opts.ParseEnvFile` / `ParseKeyValueFile`: one `KEY=value` per line; blank lines and `#`
 * comments skipped; leading whitespace trimmed; a bare `KEY` takes the value from `lookup`
 * when it has one. Throws with docker's texts.
 */
export function readKvFile(file: string, lookup: ((k: string) => string | undefined) | null): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new Error(`open ${file}: ${why}`);
  }
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    let line = i === 0 ? raw.replace(/^\ufeff/, '') : raw;
    line = line.replace(/\r$/, '').replace(/^[ \t\n\v\f\r]+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') throw new Error(`no variable name on line '${line}'`);
    if (/[ \t\n\v\f\r]/.test(key)) throw new Error(`variable '${key}' contains whitespaces`);
    if (eq >= 0) {
      out.push(line);
      return;
    }
    const value = lookup?.(key);
    out.push(value === undefined ? key : `${key}=${value}`);
  });
  return out;
}
