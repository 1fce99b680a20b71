/**
 * `network create`'s IPAM flags → the `IPAM.Config` list of the request body, with the docker
 * CLI 28.2.2's client-side checks and messages (`cli/command/network/create.go`
 * `createIPAMConfig`, verified against the real binary):
 *
 * - more `--ip-range` or `--gateway` values than `--subnet`s: `every ip-range or gateway must
 *   have a corresponding subnet`;
 * - subnets that contain one another: `multiple overlapping subnet configuration is not
 *   supported` (a single subnet is not validated here — the daemon does that);
 * - each range, gateway and aux address must fall in exactly one subnet's slot:
 *   `no matching subnet for range|gateway|aux-address X`,
 *   `cannot configure multiple ranges (NEW, OLD) on the same subnet (S)`,
 *   `cannot configure multiple gateways (NEW, OLD) for the same subnet (S)`;
 * - malformed values surface Go's `net` errors (`invalid CIDR address: X`,
 *   `invalid subnet: invalid CIDR address: X`).
 *
 * Values are sent as typed (not canonicalised), e.g. `--ip-range 10.0.0.7/25` stays so.
 * Docker builds the list from a Go map, so its order varies between runs; berth keeps the
 * order of the `--subnet` flags.
 */
import { netContains, parseCIDR, parseIP } from './go-net.js';

/** One entry of `IPAM.Config` as sent to the daemon. */
export interface IpamConfigEntry {
  readonly Subnet: string;
  IPRange: string;
  Gateway: string;
  readonly AuxiliaryAddresses: Map<string, string>;
}

/** The IPAM flags of `network create`. */
export interface IpamFlags {
  readonly subnets: readonly string[];
  readonly ipRanges: readonly string[];
  readonly gateways: readonly string[];
  /** `--aux-address name=ip`, in first-use order, later uses of a name winning. */
  readonly auxAddresses: ReadonlyMap<string, string>;
}

/** Go's `subnetMatches`: is `data` (an address or a CIDR) inside `subnet`? */
function subnetMatches(subnet: string, data: string): boolean {
  let net;
  try {
    net = parseCIDR(subnet).net;
  } catch (e) {
    throw new Error(`invalid subnet: ${(e as Error).message}`, { cause: e });
  }
  const ip = data.includes('/') ? parseCIDR(data).ip : parseIP(data);
  return netContains(net, ip);
}

/** Builds `IPAM.Config`; throws an Error with the docker CLI's message on bad flags. */
export function buildIpamConfig(flags: IpamFlags): IpamConfigEntry[] {
  const { subnets, ipRanges, gateways, auxAddresses } = flags;
  if (subnets.length < ipRanges.length || subnets.length < gateways.length) {
    throw new Error('every ip-range or gateway must have a corresponding subnet');
  }
  const data = new Map<string, IpamConfigEntry>();
  for (const s of subnets) {
    for (const k of data.keys()) {
      const ok1 = subnetMatches(s, k);
      const ok2 = subnetMatches(k, s);
      if (ok1 || ok2) throw new Error('multiple overlapping subnet configuration is not supported');
    }
    data.set(s, { Subnet: s, IPRange: '', Gateway: '', AuxiliaryAddresses: new Map() });
  }
  for (const r of ipRanges) {
    parseCIDR(r);
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, r)) continue;
      const entry = data.get(s) as IpamConfigEntry;
      if (entry.IPRange !== '') {
        throw new Error(`cannot configure multiple ranges (${r}, ${entry.IPRange}) on the same subnet (${s})`);
      }
      entry.IPRange = r;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for range ${r}`);
  }
  for (const g of gateways) {
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, g)) continue;
      const entry = data.get(s) as IpamConfigEntry;
      if (entry.Gateway !== '') {
        throw new Error(`cannot configure multiple gateways (${g}, ${entry.Gateway}) for the same subnet (${s})`);
      }
      entry.Gateway = g;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for gateway ${g}`);
  }
  for (const [key, aa] of auxAddresses) {
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, aa)) continue;
      (data.get(s) as IpamConfigEntry).AuxiliaryAddresses.set(key, aa);
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for aux-address ${aa}`);
  }
  return [...data.values()];
}
