/**
 * Address allocation inside one resolved pool. Pure: the caller passes every address in use
 * (derived from the stored model) and gets an address or a BerthError; nothing is remembered.
 *
 * Like Docker's default IPAM (moby `libnetwork/ipams/defaultipam`), allocation is "first free":
 * the lowest address of the ip-range (else of the subnet) that is not reserved, not the gateway,
 * not an aux address and not in use — so a freed address is handed out again before higher ones.
 */
import { BerthError } from '../errors.js';
import {
  cidrContains,
  cidrSize,
  familyName,
  firstAddress,
  formatIp,
  lastAddress,
  maskCidr,
  parseCidr,
  parseIPv4Number,
  parseIPv6,
  tryParseIp,
  type Cidr,
  type IpFamily,
} from '../model/cidr.js';
import type { IpamPool } from '../model/network.js';

/** moby `libnetwork/ipamapi/contract.go` `ErrIPAlreadyAllocated` (capitalised as Docker's). */
export const MSG_ADDRESS_IN_USE = 'Address already in use';

/** moby `libnetwork/ipamapi/contract.go` `ErrNoAvailableIPs`. */
export const MSG_NO_ADDRESS = 'no available addresses on this pool';

/**
 * moby `api/types/network/endpoint.go` `validateEndpointIPAddress`: a `--ip`/`--ip6` outside
 * every configured subnet.
 */
export function msgAddressOutOfRange(address: string): string {
  return `no configured subnet or ip-range contain the IP address ${address}`;
}

/**
 * Addresses of `subnet` that are never handed out, as moby `defaultipam/allocator.go`
 * `newPoolData` reserves them: for IPv4 the network and broadcast addresses, except on a /31
 * (RFC 3021 point-to-point) or /32; for IPv6 the subnet-router anycast address (the first
 * address, RFC 4291 §2.6.1) whatever the prefix length.
 */
export function reservedAddresses(subnet: Cidr): bigint[] {
  if (subnet.family === 6) return [firstAddress(subnet)];
  if (subnet.prefix >= 31) return [];
  return [firstAddress(subnet), lastAddress(subnet)];
}

/**
 * The lowest address of `range` not in `blocked`, or undefined when all are blocked.
 * O(|blocked ∩ range| + 1): every step past the first lands on a distinct blocked address.
 */
export function firstFreeAddress(range: Cidr, blocked: ReadonlySet<bigint>): bigint | undefined {
  const end = lastAddress(range);
  for (let a = firstAddress(range); a <= end; a++) {
    if (!blocked.has(a)) return a;
  }
  return undefined;
}

/** The in-use entry without a `/prefix` suffix. */
function stripPrefix(text: string): string {
  const slash = text.indexOf('/');
  return slash < 0 ? text : text.slice(0, slash);
}

/**
 * A reader mapping an in-use entry (`addr` or `addr/nn`) to its offset from `base` when the
 * offset is in [0, limit), else undefined — also for an entry of the other family. An entry that
 * is no address at all is a bug upstream and throws `ERR_INTERNAL`. IPv4 entries are read as
 * plain numbers (no bigint per entry): this loop is the cost of an allocation.
 */
function offsetReader(family: IpFamily, base: bigint, limit: number): (text: string) => number | undefined {
  const junk = (text: string): BerthError =>
    new BerthError('ERR_INTERNAL', `ipam: address in use is not an IP address: ${text}`);
  if (family === 4) {
    const b = Number(base);
    return (text) => {
      const addr = stripPrefix(text);
      const n = parseIPv4Number(addr);
      if (n === undefined) {
        if (parseIPv6(addr) !== undefined) return undefined;
        throw junk(text);
      }
      const off = n - b;
      return off >= 0 && off < limit ? off : undefined;
    };
  }
  const lim = BigInt(limit);
  return (text) => {
    const addr = stripPrefix(text);
    const v = parseIPv6(addr);
    if (v === undefined) {
      if (parseIPv4Number(addr) !== undefined) return undefined;
      throw junk(text);
    }
    const off = v - base;
    return off >= 0n && off < lim ? Number(off) : undefined;
  };
}

/**
 * Picks an address for a new endpoint in `pool`.
 *
 * - Without `preferred`: the first free address of the pool's ip-range, else of its subnet,
 *   skipping the reserved addresses ({@link reservedAddresses}), the gateway, the aux addresses
 *   and `inUse`. `ERR_NO_ADDRESS` ("no available addresses on this pool") when none is left.
 * - With `preferred` (`--ip`/`--ip6`): it must lie in the subnet — the ip-range only limits
 *   automatic allocation, as in Docker — else `ERR_ADDRESS_OUT_OF_RANGE`; it must be free, else
 *   `ERR_ADDRESS_IN_USE` ("Address already in use").
 *
 * `inUse` holds the addresses of the pool's existing endpoints, in any valid text form, without
 * or with a `/prefix`; entries of the other family are ignored.
 *
 * Complexity: O(|inUse| + |aux|) per call, independent of the pool's size — a /8 or an IPv6 /64
 * costs what a /24 does. `inUse` is read once into a set of offsets from the range's start
 * (plain numbers); the scan for a free offset only advances over blocked ones, so it takes at
 * most |inUse| + |aux| + 3 steps. About 0.3 ms for 5,000 IPv4 addresses in use.
 *
 * @returns the address in canonical text, without prefix.
 */
export function allocateAddress(pool: IpamPool, inUse: ReadonlySet<string>, preferred?: string): string {
  const subnet = maskCidr(parseCidr(pool.subnet));
  const family = subnet.family;
  const range = pool.ipRange !== undefined && pool.ipRange !== '' ? maskCidr(parseCidr(pool.ipRange)) : subnet;

  // Reserved, gateway and aux: a handful of addresses.
  const fixed = reservedAddresses(subnet);
  const addFixed = (text: string): void => {
    const ip = tryParseIp(text);
    if (ip !== undefined && ip.family === family) fixed.push(ip.value);
  };
  if (pool.gateway !== '') addFixed(pool.gateway);
  for (const aux of Object.values(pool.auxAddresses)) addFixed(aux);

  if (preferred !== undefined && preferred !== '') {
    const ip = tryParseIp(preferred);
    if (ip === undefined) {
      // moby api/types/network/endpoint.go EndpointIPAMConfig.Validate.
      throw new BerthError('ERR_INVALID_PARAMETER', `invalid ${familyName(family)} address: ${preferred}`);
    }
    if (!cidrContains(subnet, ip)) throw new BerthError('ERR_ADDRESS_OUT_OF_RANGE', msgAddressOutOfRange(preferred));
    const isPreferred = offsetReader(family, ip.value, 1);
    if (fixed.includes(ip.value)) throw new BerthError('ERR_ADDRESS_IN_USE', MSG_ADDRESS_IN_USE);
    for (const text of inUse) {
      if (isPreferred(text) === 0) throw new BerthError('ERR_ADDRESS_IN_USE', MSG_ADDRESS_IN_USE);
    }
    return formatIp(ip);
  }

  const base = firstAddress(range);
  const size = cidrSize(range);
  const limit = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
  const blocked = new Set<number>();
  for (const v of fixed) {
    const off = v - base;
    if (off >= 0n && off < BigInt(limit)) blocked.add(Number(off));
  }
  const offsetOf = offsetReader(family, base, limit);
  for (const text of inUse) {
    const off = offsetOf(text);
    if (off !== undefined) blocked.add(off);
  }
  let off = 0;
  while (off < limit && blocked.has(off)) off++;
  if (off >= limit) throw new BerthError('ERR_NO_ADDRESS', MSG_NO_ADDRESS);
  return formatIp({ family, value: base + BigInt(off) });
}
