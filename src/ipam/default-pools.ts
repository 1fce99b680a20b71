/**
 * Default address pools: where a network's subnet comes from when the request names none.
 * Pure; no I/O.
 *
 * A {@link DefaultPool} is a `base` prefix split into subnets of prefix length `size`. The
 * candidates are tried in order and the first one that overlaps no subnet in use wins (moby
 * `libnetwork/ipams/defaultipam/address_space.go` `allocatePredefinedPool`).
 */
import {
  cidrSize,
  cidrsOverlap,
  familyBits,
  firstAddress,
  formatCidr,
  lastAddress,
  maskCidr,
  toCidrText,
  tryParseCidr,
  type Cidr,
  type CidrText,
} from '../model/cidr.js';
import { invalid } from '../errors.js';
import type { DefaultPool } from './types.js';

/**
 * Docker's local-scope IPv4 defaults (moby `libnetwork/ipamutils/utils.go`
 * `localScopeDefaultNetworks`): 172.17.0.0/16 … 172.31.0.0/16 one /16 each, then 192.168.0.0/16
 * in /20s — 31 networks before exhaustion. 172.17.0.0/16 is normally taken by the default
 * `bridge` network.
 */
export const DEFAULT_POOLS_V4: readonly DefaultPool[] = Object.freeze([
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
]);

/**
 * berth's IPv6 default: a ULA /48 split into /64s, used when `--ipv6` is given without an IPv6
 * subnet. Docker 27+ does the same with a ULA /48 whose 40-bit Global ID it derives from a hash
 * of the host ID (moby `ipamutils.DeriveULABaseNetwork`), so its prefix differs per host. berth
 * uses one fixed prefix instead so plans, golden files and tests are reproducible: Global ID
 * `62:65:72:74:68` ("berth" in ASCII), i.e. `fd62:6572:7468::/48`. Daemons that must not share
 * it (several hosts on one overlay, or routed ULAs) set their own with `--default-address-pool`.
 */
export const DEFAULT_POOLS_V6: readonly DefaultPool[] = Object.freeze([{ base: 'fd62:6572:7468::/48', size: 64 }]);

/** Alias of {@link DEFAULT_POOLS_V4} (the name daemon config uses). */
export const DEFAULT_POOLS: readonly DefaultPool[] = DEFAULT_POOLS_V4;

/** Alias of {@link DEFAULT_POOLS_V6} (the name daemon config uses). */
export const DEFAULT_POOLS6: readonly DefaultPool[] = DEFAULT_POOLS_V6;

/** A default pool with its base parsed and masked. */
interface ParsedPool {
  readonly base: Cidr;
  readonly size: number;
}

function parsePool(pool: DefaultPool): ParsedPool {
  const base = tryParseCidr(pool.base);
  if (base === undefined) throw invalid(`invalid base pool "${pool.base}": invalid CIDR address: ${pool.base}`);
  // moby ipamutils.SplitNetworks: "invalid pools size: %d".
  if (!Number.isInteger(pool.size) || pool.size <= 0 || pool.size < base.prefix || pool.size > familyBits(base.family)) {
    throw invalid(`invalid pools size: ${pool.size}`);
  }
  return { base: maskCidr(base), size: pool.size };
}

/**
 * Every candidate subnet of `pools`, in order, lazily (a /8 split into /30s is four million
 * candidates; an IPv6 /48 in /64s is 65,536). Throws `ERR_INVALID_PARAMETER` on a malformed pool
 * when iteration reaches it.
 */
export function* candidateSubnets(pools: readonly DefaultPool[]): Generator<CidrText, void, undefined> {
  for (const pool of pools) {
    const { base, size } = parsePool(pool);
    const step = cidrSize({ family: base.family, addr: 0n, prefix: size });
    const end = lastAddress(base);
    for (let addr = firstAddress(base); addr <= end; addr += step) {
      yield toCidrText({ family: base.family, addr, prefix: size });
    }
  }
}

/**
 * The first candidate of `pools` (in order) that overlaps none of `inUse`, or undefined when
 * every candidate overlaps something.
 *
 * Complexity: O(P · (U + 1) · U) for P pools and U subnets in use, independent of how many
 * candidates a pool has — after an overlap it jumps straight past the end of the overlapping
 * subnet, so each subnet in use is jumped over at most once per pool.
 */
export function findFreeSubnet(pools: readonly DefaultPool[], inUse: readonly Cidr[]): Cidr | undefined {
  for (const pool of pools) {
    const { base, size } = parsePool(pool);
    const step = cidrSize({ family: base.family, addr: 0n, prefix: size });
    const start = firstAddress(base);
    const end = lastAddress(base);
    const relevant = inUse.filter((u) => cidrsOverlap(u, base));
    let addr = start;
    while (addr <= end) {
      const candLast = addr + step - 1n;
      let blockedUntil = -1n;
      for (const u of relevant) {
        const uLast = lastAddress(u);
        if (firstAddress(u) <= candLast && uLast >= addr && uLast > blockedUntil) blockedUntil = uLast;
      }
      if (blockedUntil < 0n) return { family: base.family, addr, prefix: size };
      // Next candidate boundary strictly after the overlapping subnet's last address.
      addr = start + ((blockedUntil - start) / step + 1n) * step;
    }
  }
  return undefined;
}

/**
 * Docker 27+ orders its predefined pools by base address and drops any pool that overlaps an
 * earlier one (moby `defaultipam/address_space.go` `newAddrSpace`). berth tries pools in the
 * order given; the daemon config can pass user pools through this to get Docker's order.
 */
export function sortDefaultPools(pools: readonly DefaultPool[]): DefaultPool[] {
  const parsed = pools.map((p) => ({ pool: p, ...parsePool(p) }));
  parsed.sort((a, b) =>
    a.base.family !== b.base.family
      ? a.base.family - b.base.family
      : a.base.addr < b.base.addr
        ? -1
        : a.base.addr > b.base.addr
          ? 1
          : a.base.prefix - b.base.prefix,
  );
  const kept: typeof parsed = [];
  for (const p of parsed) {
    const last = kept[kept.length - 1];
    if (last !== undefined && cidrsOverlap(last.base, p.base)) continue;
    kept.push(p);
  }
  return kept.map((p) => ({ base: formatCidr(p.base), size: p.size }));
}

/** IPv4 pools and IPv6 pools of a mixed list, each in the original order. */
export function splitPoolsByFamily(pools: readonly DefaultPool[]): { v4: DefaultPool[]; v6: DefaultPool[] } {
  const v4: DefaultPool[] = [];
  const v6: DefaultPool[] = [];
  for (const p of pools) (parsePool(p).base.family === 4 ? v4 : v6).push(p);
  return { v4, v6 };
}

/** Splits one CSV record as Go's `encoding/csv` reads it (fields may be double-quoted). */
function splitCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw invalid(`invalid default address pool ${JSON.stringify(text)}: extraneous or missing " in quoted-field`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i];
        i++;
      }
      if (i < text.length && text[i] !== ',') {
        throw invalid(`invalid default address pool ${JSON.stringify(text)}: extraneous or missing " in quoted-field`);
      }
    } else {
      const comma = text.indexOf(',', i);
      field = comma < 0 ? text.slice(i) : text.slice(i, comma);
      if (field.includes('"')) throw invalid(`invalid default address pool ${JSON.stringify(text)}: bare " in non-quoted-field`);
      i = comma < 0 ? text.length : comma;
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // skip the comma
  }
}

/**
 * Parses one dockerd `--default-address-pool` value, e.g. `base=10.10.0.0/16,size=24`, with the
 * messages of moby `opts/address_pools.go` `PoolsOpt.Set` (keys and values are lowercased, as
 * there) and `libnetwork/ipamutils` `SplitNetworks` for the base and size. The base is returned
 * in canonical form (host bits cleared, as Docker 27+ does).
 */
export function parseDefaultAddressPool(text: string): DefaultPool {
  let base: string | undefined;
  let size: number | undefined;
  for (const field of splitCsvRecord(text)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq < 0) throw invalid(`invalid field '${field}' must be a key=value pair`);
    const key = lower.slice(0, eq);
    const val = lower.slice(eq + 1);
    switch (key) {
      case 'base':
        base = val;
        break;
      case 'size':
        // Go's strconv.Atoi: optional sign, decimal digits. (Docker quotes the whole value here.)
        if (!/^[+-]?[0-9]+$/.test(val)) {
          throw invalid(
            `invalid size value: ${JSON.stringify(text)} (must be integer): strconv.Atoi: parsing ${JSON.stringify(val)}: invalid syntax`,
          );
        }
        size = Number(val);
        break;
      default:
        throw invalid(`unexpected key '${key}' in '${field}'`);
    }
  }
  const baseText = base ?? '';
  const parsed = tryParseCidr(baseText);
  if (parsed === undefined) throw invalid(`invalid base pool "${baseText}": invalid CIDR address: ${baseText}`);
  const pool = { base: toCidrText(parsed) as string, size: size ?? 0 };
  parsePool(pool); // size checks
  return pool;
}
