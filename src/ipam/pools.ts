/**
 * Resolving a network's address pools at creation: validate every `--subnet/--ip-range/
 * --gateway/--aux-address` group, then pick subnets (explicit or from the default pools),
 * gateways and aux reservations. Pure; the caller passes the subnets already in use.
 *
 * Order and wording follow dockerd 27/28:
 * 1. `ValidateIPAM` (moby `api/types/network/ipam.go`) checks every request and reports all
 *    problems at once as "invalid network config:\n…".
 * 2. `ipamAllocateVersion` (moby `libnetwork/network.go`) then handles IPv4, then IPv6, request
 *    by request: the subnet (overlap check), the gateway, the aux addresses; when a family has
 *    no request, one subnet from the default pools.
 */
import { BerthError, invalid } from '../errors.js';
import {
  cidrContains,
  cidrsOverlap,
  familyName,
  formatCidr,
  formatIp,
  isMasked,
  maskCidr,
  toCidrText,
  tryParseCidr,
  tryParseIp,
  type Cidr,
  type IpAddress,
  type IpFamily,
} from '../model/cidr.js';
import type { IpamPool } from '../model/network.js';
import { firstFreeAddress, MSG_ADDRESS_IN_USE, MSG_NO_ADDRESS, reservedAddresses } from './allocator.js';
import { findFreeSubnet, splitPoolsByFamily } from './default-pools.js';
import type { PoolRequest, ResolvePoolsInput } from './types.js';

/**
 * A requested subnet overlaps one in use or another request: moby
 * `libnetwork/ipams/defaultipam/allocator.go` `RequestPool` wrapping `ipamapi.ErrPoolOverlap`.
 */
export const MSG_POOL_OVERLAP = 'invalid pool request: Pool overlaps with other one on this address space';

/**
 * Every default-pool candidate overlaps a subnet in use. Wording of moby
 * `libnetwork/ipam/allocator.go` (`getPredefinedPool`, Docker ≤ 26), which users and scripts
 * widely match on. Docker 27+'s `defaultipam` says "all predefined address pools have been fully
 * subnetted" (`ipamapi.ErrNoMoreSubnets`) instead.
 */
export function msgNoPool(family: IpFamily): string {
  return `could not find an available, non-overlapping ${familyName(family)} address pool among the defaults to assign to the network`;
}

/** One request that passed validation, parsed. */
export interface ValidRequest {
  readonly family: IpFamily;
  /** Masked (validation refuses host bits). */
  readonly subnet: Cidr;
  readonly ipRange: Cidr | undefined;
  readonly gateway: { readonly text: string; readonly ip: IpAddress } | undefined;
  readonly aux: readonly { readonly name: string; readonly text: string; readonly ip: IpAddress }[];
}

/** moby `ipam.go` `validateAddress`: the address of `subnet`, or why `text` is not one. */
function checkAddress(text: string, subnet: Cidr): { ip: IpAddress } | { problem: string } {
  const ip = tryParseIp(text);
  if (ip === undefined) return { problem: 'invalid address' };
  if (ip.family !== subnet.family) return { problem: `parent subnet is an ${familyName(subnet.family)} block` };
  if (!cidrContains(subnet, ip)) return { problem: `parent subnet ${formatCidr(subnet)} doesn't contain this address` };
  return { ip };
}

/** moby `ipam.go` `validateIPRange`. */
function ipRangeProblems(text: string, subnet: Cidr): string[] {
  const range = tryParseCidr(text);
  if (range === undefined) return [`invalid ip-range ${text}: invalid CIDR block notation`];
  if (range.family !== subnet.family) {
    return [`invalid ip-range ${text}: parent subnet is an ${familyName(subnet.family)} block`];
  }
  const problems: string[] = [];
  if (range.prefix < subnet.prefix) {
    problems.push(`invalid ip-range ${text}: CIDR block is bigger than its parent subnet ${formatCidr(subnet)}`);
  }
  if (!isMasked(range)) {
    problems.push(`invalid ip-range ${formatCidr(range)}: it should be ${formatCidr(maskCidr(range))}`);
  }
  if (!cidrsOverlap(subnet, range)) {
    problems.push(`invalid ip-range ${text}: parent subnet ${formatCidr(subnet)} doesn't contain ip-range`);
  }
  return problems;
}

/** moby `internal/multierror` `Join`: one error as is, several as a `* ` list. */
function joinProblems(problems: readonly string[]): string {
  if (problems.length === 1) return problems[0] ?? '';
  return `* ${problems.map((p) => p.replaceAll('\n', '\n\t')).join('\n* ')}`;
}

/**
 * Validates every request as dockerd's `ValidateIPAM` does (moby `api/types/network/ipam.go`)
 * and returns the usable ones parsed. A request without a subnet is refused ("invalid subnet :
 * invalid CIDR block notation", as the API says; the CLI catches it earlier with "no matching
 * subnet for …"). IPv6 requests are not checked beyond their subnet, and are dropped, when
 * `enableIPv6` is false. All problems are reported at once, each message lowercase as Docker's:
 *
 * ```
 * invalid network config:
 * * invalid subnet 10.0.0.1/8: it should be 10.0.0.0/8
 * * invalid gateway 11.0.0.1: parent subnet 10.0.0.1/8 doesn't contain this address
 * ```
 *
 * @throws BerthError `ERR_INVALID_PARAMETER`
 */
export function validatePoolRequests(requests: readonly PoolRequest[], enableIPv6: boolean): ValidRequest[] {
  const problems: string[] = [];
  const valid: ValidRequest[] = [];
  for (const req of requests) {
    const subnetText = req.subnet ?? '';
    const subnet = tryParseCidr(subnetText);
    if (subnet === undefined) {
      problems.push(`invalid subnet ${subnetText}: invalid CIDR block notation`);
      continue;
    }
    if (subnet.family === 6 && !enableIPv6) continue;
    const before = problems.length;

    if (!isMasked(subnet)) problems.push(`invalid subnet ${formatCidr(subnet)}: it should be ${formatCidr(maskCidr(subnet))}`);

    const ipRangeText = req.ipRange ?? '';
    if (ipRangeText !== '') problems.push(...ipRangeProblems(ipRangeText, subnet));

    const gatewayText = req.gateway ?? '';
    let gateway: ValidRequest['gateway'];
    if (gatewayText !== '') {
      const checked = checkAddress(gatewayText, subnet);
      if ('problem' in checked) problems.push(`invalid gateway ${gatewayText}: ${checked.problem}`);
      else gateway = { text: gatewayText, ip: checked.ip };
    }

    const aux: { name: string; text: string; ip: IpAddress }[] = [];
    for (const [name, text] of Object.entries(req.auxAddresses ?? {})) {
      const checked = checkAddress(text, subnet);
      if ('problem' in checked) problems.push(`invalid auxiliary address ${name}: ${checked.problem}`);
      else aux.push({ name, text, ip: checked.ip });
    }

    if (problems.length !== before) continue;
    valid.push({
      family: subnet.family,
      subnet,
      ipRange: ipRangeText !== '' ? tryParseCidr(ipRangeText) : undefined,
      gateway,
      aux,
    });
  }
  if (problems.length > 0) throw invalid(`invalid network config:\n${joinProblems(problems)}`);
  return valid;
}

/**
 * Builds one pool: reserves the gateway (given, or the first free address of the ip-range, else
 * of the subnet) and then the aux addresses, as `ipamAllocateVersion` requests them from the
 * default IPAM. Because the gateway is taken first, an aux address equal to the gateway — given
 * or chosen — is refused, as in Docker.
 */
function buildPool(
  subnet: Cidr,
  req: ValidRequest | undefined,
  needsGateway: boolean,
  fromDefaultPool: boolean,
): IpamPool {
  const blocked = new Set<bigint>(reservedAddresses(subnet));

  let gateway = '';
  if (req?.gateway !== undefined) {
    if (blocked.has(req.gateway.ip.value)) {
      throw new BerthError('ERR_ADDRESS_IN_USE', `failed to allocate gateway (${req.gateway.text}): ${MSG_ADDRESS_IN_USE}`);
    }
    blocked.add(req.gateway.ip.value);
    gateway = formatIp(req.gateway.ip);
  } else if (needsGateway) {
    const free = firstFreeAddress(req?.ipRange !== undefined ? maskCidr(req.ipRange) : subnet, blocked);
    if (free === undefined) throw new BerthError('ERR_NO_ADDRESS', `failed to allocate gateway (): ${MSG_NO_ADDRESS}`);
    blocked.add(free);
    gateway = formatIp({ family: subnet.family, value: free });
  }

  const auxAddresses: Record<string, string> = {};
  for (const aux of req?.aux ?? []) {
    if (blocked.has(aux.ip.value)) {
      throw new BerthError(
        'ERR_ADDRESS_IN_USE',
        `failed to allocate secondary ip address (${aux.name}:${aux.text}): ${MSG_ADDRESS_IN_USE}`,
      );
    }
    blocked.add(aux.ip.value);
    auxAddresses[aux.name] = formatIp(aux.ip);
  }

  const pool: IpamPool = {
    subnet: toCidrText(subnet),
    gateway,
    gatewayExplicit: req?.gateway !== undefined,
    auxAddresses,
    fromDefaultPool,
  };
  return req?.ipRange !== undefined ? { ...pool, ipRange: toCidrText(req.ipRange) } : pool;
}

function parseSubnetInUse(text: string): Cidr {
  const cidr = tryParseCidr(text);
  if (cidr === undefined) throw new BerthError('ERR_INTERNAL', `ipam: subnet in use is not a CIDR: ${text}`);
  return maskCidr(cidr);
}

/**
 * Resolves the pools of a new network: IPv4 pools first, then IPv6, each in request order.
 *
 * 1. Every request is validated first ({@link validatePoolRequests}); nothing is chosen until
 *    all pass.
 * 2. For each enabled family (IPv4 when `enableIPv4`, IPv6 when `enableIPv6`): each requested
 *    subnet must overlap neither `subnetsInUse` nor an earlier request (`ERR_POOL_OVERLAP`,
 *    "invalid pool request: Pool overlaps with other one on this address space"); several
 *    subnets of one family are allowed, as in Docker. When the family has no request, the first
 *    default-pool candidate overlapping nothing in use is taken (`ERR_NO_POOL` when none is);
 *    pools of `defaultPools` then `defaultPools6` serve the family of their base.
 *    Requests of a disabled family are dropped.
 * 3. Gateway: the given one (it must not be a reserved address: `ERR_ADDRESS_IN_USE`,
 *    "failed to allocate gateway (…): Address already in use"); otherwise, when `needsGateway`,
 *    the first free address of the ip-range, else of the subnet — for IPv4 never the subnet's
 *    network or broadcast address, but the ip-range's first address when it is neither
 *    (`--subnet 172.21.0.0/16 --ip-range 172.21.240.0/20` → 172.21.240.0, as Docker); for IPv6
 *    the subnet's first address is reserved, so `fd00::/64` → `fd00::1`.
 * 4. Aux addresses are reserved after the gateway; one that is reserved, the gateway or a
 *    duplicate is refused ("failed to allocate secondary ip address (name:ip): Address already
 *    in use").
 *
 * Docker does not check a subnet against the networks in use when the same request also has an
 * ip-range (moby/moby#46756); berth always checks.
 *
 * @throws BerthError `ERR_INVALID_PARAMETER`, `ERR_POOL_OVERLAP`, `ERR_NO_POOL`,
 *   `ERR_ADDRESS_IN_USE`, `ERR_NO_ADDRESS`
 */
export function resolvePools(input: ResolvePoolsInput): IpamPool[] {
  const requests = validatePoolRequests(input.requests, input.enableIPv6);
  const taken: Cidr[] = input.subnetsInUse.map(parseSubnetInUse);
  const pools: IpamPool[] = [];

  for (const family of [4, 6] as const) {
    if (!(family === 4 ? input.enableIPv4 : input.enableIPv6)) continue;
    const ofFamily = requests.filter((r) => r.family === family);

    if (ofFamily.length === 0) {
      // Pools are taken by their family whichever list they sit in, so a user's IPv6
      // --default-address-pool parsed into `defaultPools` still serves IPv6 (first).
      const defaults = splitPoolsByFamily([...input.defaultPools, ...input.defaultPools6]);
      const subnet = findFreeSubnet(family === 4 ? defaults.v4 : defaults.v6, taken);
      if (subnet === undefined) throw new BerthError('ERR_NO_POOL', msgNoPool(family));
      taken.push(subnet);
      pools.push(buildPool(subnet, undefined, input.needsGateway, true));
      continue;
    }

    for (const req of ofFamily) {
      if (taken.some((t) => cidrsOverlap(t, req.subnet))) throw new BerthError('ERR_POOL_OVERLAP', MSG_POOL_OVERLAP);
      taken.push(req.subnet);
      pools.push(buildPool(req.subnet, req, input.needsGateway, false));
    }
  }
  return pools;
}
