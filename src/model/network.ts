/**
 * The CNM nouns as plain readonly data. Objects refer to each other by id; the store owns them.
 * No I/O here.
 */

/** 64 lowercase hex characters, as Docker's network and container IDs. */
export type Id64 = string & { readonly __brand: 'Id64' };

/** Network drivers berth knows by name. */
export type DriverName = 'bridge' | 'host' | 'null' | 'overlay' | 'macvlan' | 'ipvlan';

/** One address pool of a network, as resolved at creation (gateway always filled in). */
export interface IpamPool {
  /** Canonical CIDR of the subnet, e.g. `172.18.0.0/16` or `fd00:1::/64`. */
  readonly subnet: string;
  /** Sub-range containers are allocated from (canonical CIDR), when `--ip-range` was given. */
  readonly ipRange?: string;
  /** Gateway address (no prefix). Empty for drivers without a gateway (null, host). */
  readonly gateway: string;
  /** True when the user asked for this gateway (Docker shows it either way). */
  readonly gatewayExplicit: boolean;
  /** `--aux-address name=ip`: addresses reserved and never handed to containers. */
  readonly auxAddresses: Readonly<Record<string, string>>;
  /** True when the subnet came from a default pool rather than the request. */
  readonly fromDefaultPool: boolean;
}

/** A network as berth stores it. */
export interface Network {
  readonly id: Id64;
  readonly name: string;
  readonly driver: DriverName;
  readonly scope: 'local' | 'global' | 'swarm';
  /** RFC 3339 timestamp with nanoseconds, as Docker prints it. */
  readonly created: string;
  readonly internal: boolean;
  readonly attachable: boolean;
  readonly ingress: boolean;
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
  /** IPAM driver name (only `default`) and its options. */
  readonly ipamDriver: string;
  readonly ipamOptions: Readonly<Record<string, string>>;
  /** IPv4 pools first, then IPv6, in request order. */
  readonly pools: readonly IpamPool[];
  /** Driver options as given (`-o`), Docker keys. */
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** True for the networks the daemon creates itself: bridge, host, none. */
  readonly predefined: boolean;
}

/** Names of the predefined networks; creating or removing them is refused. */
export const PREDEFINED_NETWORK_NAMES: readonly string[] = ['bridge', 'host', 'none', 'default'];
