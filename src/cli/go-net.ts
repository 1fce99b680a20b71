/**
 * The bits of Go's `net` package the docker CLI uses to check `network create` flags:
 * `net.ParseIP`, `net.ParseCIDR` and `IPNet.Contains`, with Go's acceptance rules (no leading
 * zeros in IPv4 octets, no zones, IPv4-mapped IPv6 compares as IPv4) and Go's error text
 * (`invalid CIDR address: 10.0.0.0`). Pure.
 */
import { formatIPv6 } from '../model/cidr.js';

/** A parsed address: 4 bytes for dotted IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

function parseIPv4(s: string): IpBytes | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIPv6(s: string): IpBytes | null {
  if (s.includes('%')) return null;
  const out = new Uint8Array(16);
  let head = s;
  let tailV4: IpBytes | null = null;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(s.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === '') return [];
    const groups = t.split(':');
    const vals: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      vals.push(parseInt(g, 16));
    }
    return vals;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (left === null || right === null || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tailV4 !== null) out.set(tailV4, 12);
  return out;
}

/** `net.ParseIP`: null when `s` is not an address. */
export function parseIP(s: string): IpBytes | null {
  if (s.includes(':')) return parseIPv6(s);
  return parseIPv4(s);
}

/** An `IPNet`: network address (masked) and prefix length over `bits` bits. */
export interface IpNet {
  readonly ip: IpBytes;
  readonly prefix: number;
  readonly bits: 32 | 128;
}

/** `net.ParseCIDR`; throws `invalid CIDR address: <s>` as Go does. */
export function parseCIDR(s: string): { ip: IpBytes; net: IpNet } {
  const fail = (): never => {
    throw new Error(`invalid CIDR address: ${s}`);
  };
  const slash = s.indexOf('/');
  if (slash < 0) fail();
  const addr = s.slice(0, slash);
  const mask = s.slice(slash + 1);
  const ip = parseIP(addr);
  if (ip === null) return fail();
  const bits = ip.length === 4 ? 32 : 128;
  if (!/^\d+$/.test(mask) || mask.length > 8) fail();
  const prefix = Number(mask);
  if (prefix > bits) fail();
  const netIp = new Uint8Array(ip);
  for (let i = 0; i < netIp.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    netIp[i] = (netIp[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return { ip, net: { ip: netIp, prefix, bits } };
}

function to4(ip: IpBytes): IpBytes | null {
  if (ip.length === 4) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return null;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return null;
  return ip.subarray(12);
}

/** `IPNet.Contains`: IPv4 nets contain IPv4 (and IPv4-mapped) addresses only. */
export function netContains(n: IpNet, ip: IpBytes | null): boolean {
  if (ip === null) return false;
  const v4 = to4(ip);
  const addr = n.bits === 32 ? v4 : ip.length === 16 ? ip : null;
  if (addr === null || addr.length !== n.ip.length) return false;
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.max(0, Math.min(8, n.prefix - i * 8));
    const m = (0xff << (8 - keep)) & 0xff;
    if (((addr[i] as number) & m) !== ((n.ip[i] as number) & m)) return false;
  }
  return true;
}

/**
 * `net.IP.String()`: dotted quad for IPv4 and IPv4-mapped addresses, otherwise RFC 5952 form
 * (lowercase hex, the first longest run of two or more zero groups written `::`).
 */
export function ipString(ip: IpBytes): string {
  const v4 = to4(ip);
  if (v4 !== null) return [...v4].join('.');
  // Not IPv4-mapped here, so netip's RFC 5952 text is net.IP's too.
  let value = 0n;
  for (const b of ip) value = (value << 8n) | BigInt(b);
  return formatIPv6(value);
}
