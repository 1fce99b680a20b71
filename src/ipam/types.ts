/**
 * IPAM contracts. Allocation is pure: callers pass what is in use (derived from the stored
 * model: gateways, aux addresses, endpoint addresses) and get an answer or a BerthError.
 */
import type { IpamPool } from '../model/network.js';

/** One `--subnet/--ip-range/--gateway/--aux-address` group of a create request. */
export interface PoolRequest {
  readonly subnet?: string;
  readonly ipRange?: string;
  readonly gateway?: string;
  readonly auxAddresses?: Readonly<Record<string, string>>;
}

/** A default address pool: `base` is split into subnets of prefix length `size`. */
export interface DefaultPool {
  readonly base: string;
  readonly size: number;
}

/** What `resolvePools` needs to know. */
export interface ResolvePoolsInput {
  /** Requested pools (from IPAM.Config), any family, in request order. */
  readonly requests: readonly PoolRequest[];
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
  /** Subnets (canonical CIDR) of every existing network: new pools must not overlap them. */
  readonly subnetsInUse: readonly string[];
  /** IPv4 default pools, in order (Docker's 172.17…31/16, then 192.168.0.0/16 in /20s). */
  readonly defaultPools: readonly DefaultPool[];
  /** IPv6 default pools, in order (used when --ipv6 is given without a v6 subnet). */
  readonly defaultPools6: readonly DefaultPool[];
  /** Whether the driver uses a gateway address (bridge: yes; null/host: no pools at all). */
  readonly needsGateway: boolean;
}

export type { IpamPool };
