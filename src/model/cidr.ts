/**
 * IP addresses and CIDR prefixes as plain data: a family and a bigint. Pure; no I/O.
 *
 * Parsing follows Go's `net/netip` (what dockerd uses): IPv4 is exactly four decimal octets
 * without leading zeros; IPv6 is RFC 4291 text, optionally ending in a dotted IPv4, without a
 * zone. Formatting is canonical as `netip.Addr.String()` prints it: dotted decimal for IPv4,
 * RFC 5952 for IPv6 (lowercase, no leading zeros, the longest run of two or more zero groups —
 * the first one on a tie — written `::`), and `::ffff:a.b.c.d` for IPv4-mapped addresses.
 *
 * Text that ends up in kernel requests or files goes through the branded {@link IpText},
 * {@link CidrText} and {@link MacAddress}, whose only constructors are the functions here.
 */
import { BerthError, invalid } from '../errors.js';

/** Address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** Canonical address text (no prefix), as {@link formatIp} prints it. */
export type IpText = string & { readonly __brand: 'IpText' };

/** Canonical CIDR text with host bits cleared, e.g. `172.18.0.0/16` or `fd00::/64`. */
export type CidrText = string & { readonly __brand: 'CidrText' };

/** A MAC address as six lowercase hex pairs joined by colons, e.g. `02:42:ac:11:00:02`. */
export type MacAddress = string & { readonly __brand: 'MacAddress' };

/** One IP address. */
export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer: 32 bits for IPv4, 128 bits for IPv6. */
  readonly value: bigint;
}

/** A parsed CIDR prefix. `addr` keeps the host bits as written; see {@link maskCidr}. */
export interface Cidr {
  readonly family: IpFamily;
  /** The address part as written (host bits possibly set). */
  readonly addr: bigint;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
}

/** Number of bits in an address of the family. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** The family's name as Docker writes it in messages: `IPv4` or `IPv6`. */
export function familyName(family: IpFamily): 'IPv4' | 'IPv6' {
  return family === 4 ? 'IPv4' : 'IPv6';
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Parses dotted-decimal IPv4 (`netip` rules: four octets, no leading zeros). */
export function parseIPv4(text: string): bigint | undefined {
  const n = parseIPv4Number(text);
  return n === undefined ? undefined : BigInt(n);
}

/**
 * Like {@link parseIPv4} but as a plain number (0 … 2^32 − 1), without allocating a bigint:
 * for hot loops over many addresses.
 */
export function parseIPv4Number(s: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return undefined;
    } else if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses IPv6 text (RFC 4291 §2.2, as Go's `netip.ParseAddr` without zones): up to eight groups
 * of one to four hex digits, at most one `::` standing for at least one zero group, and an
 * optional dotted IPv4 in the last 32 bits.
 */
export function parseIPv6(text: string): bigint | undefined {
  const groups: number[] = [];
  let ellipsis = -1;
  let s = text;
  if (s.length === 0) return undefined;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return 0n;
  }
  while (groups.length < 8) {
    let off = 0;
    let group = 0;
    while (off < s.length) {
      const h = hexValue(s.charCodeAt(off));
      if (h < 0) break;
      group = group * 16 + h;
      off++;
      if (off > 4) return undefined;
    }
    if (off === 0) return undefined;
    if (off < s.length && s.charCodeAt(off) === 46 /* . */) {
      // Embedded IPv4: only in the last 32 bits.
      if (ellipsis < 0 && groups.length !== 6) return undefined;
      if (groups.length > 6) return undefined;
      const v4 = parseIPv4Number(s);
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      s = '';
      break;
    }
    groups.push(group);
    s = s.slice(off);
    if (s.length === 0) break;
    if (s.charCodeAt(0) !== 58 /* : */) return undefined;
    s = s.slice(1);
    if (s.length === 0) return undefined; // trailing single colon
    if (s.charCodeAt(0) === 58) {
      if (ellipsis >= 0) return undefined; // second ::
      ellipsis = groups.length;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return undefined;
  if (groups.length < 8) {
    if (ellipsis < 0) return undefined;
    const zeros = new Array<number>(8 - groups.length).fill(0);
    groups.splice(ellipsis, 0, ...zeros);
  } else if (ellipsis >= 0) {
    return undefined; // `::` must stand for at least one group
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function tryParseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/**
 * Parses an IPv4 or IPv6 address, or throws `ERR_INVALID_PARAMETER` with Go's
 * `net.ParseError` wording: `invalid IP address: <text>`.
 */
export function parseIp(text: string): IpAddress {
  const ip = tryParseIp(text);
  if (ip === undefined) throw invalid(`invalid IP address: ${text}`);
  return ip;
}

/**
 * Parses `addr/prefix` as `netip.ParsePrefix` does (the address keeps its host bits; the prefix
 * is decimal without sign or leading zeros and at most the family's bit count). Undefined when
 * the text is not one.
 */
export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const ip = tryParseIp(text.slice(0, slash));
  if (ip === undefined) return undefined;
  const bits = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > familyBits(ip.family)) return undefined;
  return { family: ip.family, addr: ip.value, prefix };
}

/**
 * Parses `addr/prefix`, or throws `ERR_INVALID_PARAMETER` with Go's `net.ParseCIDR` wording:
 * `invalid CIDR address: <text>`.
 */
export function parseCidr(text: string): Cidr {
  const cidr = tryParseCidr(text);
  if (cidr === undefined) throw invalid(`invalid CIDR address: ${text}`);
  return cidr;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Dotted-decimal text of a 32-bit value. */
export function formatIPv4(value: bigint): string {
  const n = Number(value & 0xffffffffn);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * RFC 5952 text of a 128-bit value, as Go's `netip.Addr.String()`: IPv4-mapped addresses print
 * as `::ffff:a.b.c.d`; every other address in hex groups, the longest run (two or more groups,
 * the first on a tie) of zero groups written `::`.
 */
export function formatIPv6(value: bigint): string {
  if (value >> 32n === 0xffffn) return `::ffff:${formatIPv4(value)}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address (see {@link formatIPv4}, {@link formatIPv6}). */
export function formatIp(ip: IpAddress): IpText {
  return (ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value)) as IpText;
}

/**
 * `addr/prefix` with the address as written (host bits kept) in canonical text, as
 * `netip.Prefix.String()` prints it; Docker quotes prefixes this way in its messages.
 */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.addr })}/${cidr.prefix}`;
}

/** Canonical text of the network of `cidr` (host bits cleared). */
export function toCidrText(cidr: Cidr): CidrText {
  return formatCidr(maskCidr(cidr)) as CidrText;
}

/** Parses and canonicalises CIDR text: `172.18.0.5/16` → `172.18.0.0/16`. Throws like {@link parseCidr}. */
export function canonicalCidr(text: string): CidrText {
  return toCidrText(parseCidr(text));
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

function hostBits(cidr: Cidr): bigint {
  return BigInt(familyBits(cidr.family) - cidr.prefix);
}

/** The network address: `addr` with host bits cleared. */
export function firstAddress(cidr: Cidr): bigint {
  const h = hostBits(cidr);
  return (cidr.addr >> h) << h;
}

/** The last address of the prefix (for IPv4, the broadcast address). */
export function lastAddress(cidr: Cidr): bigint {
  return firstAddress(cidr) + cidrSize(cidr) - 1n;
}

/** Number of addresses in the prefix (2^(bits − prefix)). */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << hostBits(cidr);
}

/** The same prefix with host bits cleared (`netip.Prefix.Masked()`). */
export function maskCidr(cidr: Cidr): Cidr {
  const addr = firstAddress(cidr);
  return addr === cidr.addr ? cidr : { family: cidr.family, addr, prefix: cidr.prefix };
}

/** True when no host bits are set, i.e. the text is already in canonical network form. */
export function isMasked(cidr: Cidr): boolean {
  return firstAddress(cidr) === cidr.addr;
}

/**
 * The `n`-th address of the prefix, counting from its network address (0). A negative `n`
 * counts from the end (-1 is the last address). Throws `ERR_ADDRESS_OUT_OF_RANGE` outside.
 */
export function nthAddress(cidr: Cidr, n: bigint | number): IpAddress {
  let i = BigInt(n);
  const size = cidrSize(cidr);
  if (i < 0n) i += size;
  if (i < 0n || i >= size) {
    throw new BerthError('ERR_ADDRESS_OUT_OF_RANGE', `address index ${n} is outside ${formatCidr(maskCidr(cidr))}`);
  }
  return { family: cidr.family, value: firstAddress(cidr) + i };
}

/** True when `ip` is inside `cidr` (same family). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.family === cidr.family && ip.value >= firstAddress(cidr) && ip.value <= lastAddress(cidr);
}

/** True when every address of `inner` is inside `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefix <= inner.prefix &&
    firstAddress(inner) >= firstAddress(outer) &&
    lastAddress(inner) <= lastAddress(outer)
  );
}

/** True when the two prefixes share at least one address (`netip.Prefix.Overlaps`). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && firstAddress(a) <= lastAddress(b) && firstAddress(b) <= lastAddress(a);
}

// ---------------------------------------------------------------------------------------------
// MAC addresses

/**
 * The MAC Docker (up to 27.x) derives from a container's IPv4 address: `02:42` followed by the
 * four address bytes, so 172.17.0.2 → `02:42:ac:11:00:02` (libnetwork `netutils.GenerateMACFromIP`;
 * seen in the seeds). `02` sets the locally-administered bit and keeps it unicast. Docker 28
 * switched bridge endpoints to random MACs (moby/moby#48808); callers choose which to use.
 */
export function macFromIPv4(ip: IpAddress | string): MacAddress {
  const addr = typeof ip === 'string' ? parseIp(ip) : ip;
  if (addr.family !== 4) throw invalid(`cannot derive a MAC address from ${formatIp(addr)}: not an IPv4 address`);
  const n = Number(addr.value);
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':') as MacAddress;
}
