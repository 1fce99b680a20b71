/**
 * IP addresses, CIDRs and MAC addresses to and from the bytes netlink carries.
 * Malformed text raises `ERR_INVALID_PARAMETER`: these values come from plans, and a plan with
 * a bad address is a bug to report before any kernel work, not a kernel failure.
 */
import { isIPv4, isIPv6 } from 'node:net';

import { invalid } from '../../errors.js';

/** An IP address as wire bytes (4 or 16, network order). */
export interface IpBytes {
  readonly family: 4 | 6;
  readonly bytes: Buffer;
}

/** A CIDR as wire bytes plus prefix length. */
export interface CidrBytes extends IpBytes {
  readonly prefixLength: number;
}

/** Parse `10.0.0.1` or `fd00::1` into wire bytes. */
export function parseIp(text: string): IpBytes {
  if (isIPv4(text)) return { family: 4, bytes: Buffer.from(text.split('.').map(Number)) };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, bytes: parseIpv6(text) };
  throw invalid(`invalid IP address "${text}"`);
}

/** Parse `10.0.0.1/24` or `fd00::1/64`; a bare address is a host route (/32 or /128). */
export function parseCidr(text: string): CidrBytes {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLength: max };
  const prefix = text.slice(slash + 1);
  const prefixLength = Number(prefix);
  if (!/^\d{1,3}$/.test(prefix) || prefixLength > max) throw invalid(`invalid prefix length in "${text}"`);
  return { ...ip, prefixLength };
}

/** Format 4 or 16 wire bytes as text (IPv6 in RFC 5952 form, as `ip` prints it). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw invalid(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952: compress the longest run (first if tied) of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parse `aa:bb:cc:dd:ee:ff` (case-insensitive) into 6 bytes. */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) throw invalid(`invalid MAC address "${text}"`);
  return Buffer.from(text.split(':').map((part) => parseInt(part, 16)));
}

/** Format link-layer address bytes as lowercase `aa:bb:…` (any length, as `ip` does). */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The host bits of `cidr` set to 1: the IPv4 broadcast address of the subnet. */
export function broadcastOf(cidr: CidrBytes): Buffer {
  const out = Buffer.from(cidr.bytes);
  for (let bit = cidr.prefixLength; bit < out.length * 8; bit++) {
    out[bit >> 3] = (out[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  }
  return out;
}

function parseIpv6(text: string): Buffer {
  // isIPv6 has validated the syntax; expand "::" and a trailing dotted IPv4 part.
  let head = text;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = text.slice(lastColon + 1).split('.').map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  if (tailV4.length === 4) out.set(tailV4, 12);
  return out;
}
