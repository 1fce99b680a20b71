/**
 * The names the embedded DNS knows, computed from the model (pure).
 *
 * Records live per network, as in libnetwork's `svcRecords`: on each user-defined network,
 * every running container with an endpoint there is known by its name, its network aliases,
 * its hostname and its short ID, with that endpoint's addresses. What one container may see is
 * its *view*: the record tables of the user-defined networks it is attached to, in interface
 * order (shared between views, not copied), plus its legacy `--link` aliases and where to
 * forward the rest. Containers that share a netns (`container:` mode) ask through their
 * owner's sandbox, so they see the owner's view.
 */
import type { Container, Endpoint } from '../model/container.js';
import type { Network } from '../model/network.js';
import { tryParseIp, type IpAddress } from '../model/cidr.js';
import type { ModelSnapshot } from '../engine/observers.js';
import type { AnnouncedEndpoint } from '../cluster/types.js';
import { encodeName, QTYPE, type AnswerRecord } from './wire.js';

/** The records one name has on one network. */
export interface NameRecords {
  /** A records, ready to write. */
  readonly a: readonly AnswerRecord[];
  /** AAAA records, ready to write. */
  readonly aaaa: readonly AnswerRecord[];
}

/** The records of one user-defined network. */
export interface NetworkRecords {
  readonly id: string;
  /** The network's name, lowercased (`name.network` queries). */
  readonly name: string;
  /** Lowercased name → records. A name several containers carry has all their addresses. */
  readonly names: ReadonlyMap<string, NameRecords>;
  /** Reverse name (`2.0.18.172.in-addr.arpa`) → PTR record (`container.network.`). */
  readonly reverse: ReadonlyMap<string, AnswerRecord>;
}

/** An upstream resolver. */
export interface Upstream {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** What one sandbox's resolver answers from. */
export interface SandboxView {
  /** The container that owns the sandbox. */
  readonly containerId: string;
  /** The user-defined networks it is attached to, in interface order. */
  readonly networks: readonly NetworkRecords[];
  /** Legacy links on those networks: network id → lowercased alias → lowercased target name. */
  readonly linkAliases: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Where other names go: the container's `--dns`, else the daemon's, else the host's. */
  readonly upstreams: readonly Upstream[];
  /**
   * False when every network of the container is `--internal`: nothing leaves such a
   * container, names included (berth forwards from the daemon's netns, which would leak).
   */
  readonly mayForward: boolean;
  /**
   * True when the container set `ndots` above 0 itself: single-label names that are not
   * ours get an empty answer instead of leaving, so the client tries its search domains
   * (libnetwork does the same).
   */
  readonly ndotsSet: boolean;
}

/** Everything the resolver answers from, rebuilt after each model change. */
export interface DnsTable {
  /** Owner container id → view, for every container attached to a user-defined network. */
  readonly views: ReadonlyMap<string, SandboxView>;
}

/** Daemon-wide inputs besides the model. */
export interface TableDefaults {
  /** `berthd --dns`. */
  readonly daemonDns: readonly string[];
  /** The host's resolv.conf nameservers, loopback ones left out. */
  readonly hostNameservers: readonly string[];
}

/** An empty table (before the first sync). */
export const EMPTY_TABLE: DnsTable = { views: new Map() };

/**
 * True when a network gets the embedded DNS: user-defined and with interfaces. The same rule
 * decides `nameserver 127.0.0.11` in the container's resolv.conf (engine/container-files).
 */
export function hasEmbeddedDns(network: Network): boolean {
  return !network.predefined && network.driver !== 'host' && network.driver !== 'null';
}

/** Docker resolves containers that are up; a paused one keeps its names. */
function isUp(c: Container): boolean {
  return c.state.status === 'running' || c.state.status === 'paused';
}

/** Builds the table from a snapshot. */
export function buildTable(snapshot: ModelSnapshot, defaults: TableDefaults): DnsTable {
  const containers = new Map(snapshot.containers.map((c) => [c.id, c]));
  const byNetwork = new Map<string, Endpoint[]>();
  const byContainer = new Map<string, Endpoint[]>();
  for (const e of snapshot.endpoints) {
    // The daemon's own legs (an overlay container's docker_gwbridge side) carry no names.
    if (e.hidden === true) continue;
    push(byNetwork, e.networkId, e);
    push(byContainer, e.containerId, e);
  }

  const remoteByNetwork = new Map<string, AnnouncedEndpoint[]>();
  for (const r of snapshot.remote ?? []) push(remoteByNetwork, r.networkId, r);

  const records = new Map<string, NetworkRecords>();
  for (const n of snapshot.networks) {
    if (hasEmbeddedDns(n)) {
      records.set(n.id, networkRecords(n, byNetwork.get(n.id) ?? [], containers, remoteByNetwork.get(n.id) ?? []));
    }
  }

  const daemonUpstreams = parseUpstreams(defaults.daemonDns.length > 0 ? defaults.daemonDns : defaults.hostNameservers);
  const networksById = new Map<string, Network>(snapshot.networks.map((n) => [n.id, n]));
  const views = new Map<string, SandboxView>();
  for (const c of snapshot.containers) {
    const eps = [...(byContainer.get(c.id) ?? [])].sort((a, b) => a.order - b.order);
    const nets: NetworkRecords[] = [];
    const linkAliases = new Map<string, ReadonlyMap<string, string>>();
    let mayForward = false;
    for (const e of eps) {
      const r = records.get(e.networkId);
      if (r === undefined) continue;
      nets.push(r);
      if (networksById.get(e.networkId)?.internal !== true) mayForward = true;
      if (e.links.length > 0) linkAliases.set(e.networkId, parseLinks(e.links));
    }
    if (nets.length === 0) continue;
    views.set(c.id, {
      containerId: c.id,
      networks: nets,
      linkAliases,
      upstreams: c.hostConfig.dns.length > 0 ? parseUpstreams(c.hostConfig.dns) : daemonUpstreams,
      mayForward,
      ndotsSet: c.hostConfig.dnsOptions.some((o) => /^ndots:([1-9]\d*)$/.test(o)),
    });
  }
  return { views };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

/** The records of one network from the endpoints on it. */
function networkRecords(
  n: Network,
  endpoints: readonly Endpoint[],
  containers: ReadonlyMap<string, Container>,
  remote: readonly AnnouncedEndpoint[],
): NetworkRecords {
  const a = new Map<string, AnswerRecord[]>();
  const aaaa = new Map<string, AnswerRecord[]>();
  const reverse = new Map<string, AnswerRecord>();
  // One address once per name (libnetwork dedupes too); a Set, since one alias may carry
  // hundreds of containers.
  const seen = new Set<string>();
  const add = (m: Map<string, AnswerRecord[]>, name: string, rec: AnswerRecord, key: string): void => {
    if (seen.has(`${name}\n${key}`)) return;
    seen.add(`${name}\n${key}`);
    const list = m.get(name);
    if (list === undefined) m.set(name, [rec]);
    else list.push(rec);
  };
  const all = new Set<string>();
  for (const e of [...endpoints].sort((x, y) => x.order - y.order)) {
    const c = containers.get(e.containerId);
    if (c === undefined || !isUp(c)) continue;
    const names = dnsNames(c, e);
    for (const name of names) all.add(name);
    const target = encodeName(`${c.name}.${n.name}`);
    for (const addr of endpointAddresses(e)) {
      for (const name of names) add(addr.record.type === QTYPE.A ? a : aaaa, name, addr.record, addr.key);
      // PTR: the container's name on this network, as libnetwork answers (`name.network.`).
      if (!reverse.has(addr.reverse) && target !== undefined) reverse.set(addr.reverse, { type: QTYPE.PTR, rdata: target });
    }
  }
  // Containers on other hosts (global networks), as their hosts announced them in the cluster
  // store: their name, aliases and short ID (their hostname is not announced).
  for (const r of remote) {
    const names = [...new Set([r.name, ...r.aliases, r.shortId].map((x) => x.toLowerCase().replace(/\.$/, '')).filter((x) => x !== ''))];
    for (const name of names) all.add(name);
    const target = encodeName(`${r.name}.${n.name}`);
    for (const addr of cidrAddresses([r.ipv4, r.ipv6])) {
      for (const name of names) add(addr.record.type === QTYPE.A ? a : aaaa, name, addr.record, addr.key);
      if (!reverse.has(addr.reverse) && target !== undefined) reverse.set(addr.reverse, { type: QTYPE.PTR, rdata: target });
    }
  }
  const names = new Map<string, NameRecords>();
  for (const name of all) names.set(name, { a: a.get(name) ?? [], aaaa: aaaa.get(name) ?? [] });
  return { id: n.id, name: n.name.toLowerCase(), names, reverse };
}

/** An endpoint address, ready for the table. */
interface EndpointAddress {
  readonly record: AnswerRecord;
  /** The address bytes as a string, for de-duplication. */
  readonly key: string;
  readonly reverse: string;
}

/**
 * Addresses per endpoint object. The controller keeps an endpoint's object until the endpoint
 * changes, so across syncs this skips re-parsing every address; a changed endpoint is a new
 * object and is parsed afresh. (Measured at 1,000 containers on one network: 5–10 ms per
 * rebuild with it, 13–15 ms without, on a busy 2-vCPU machine.)
 */
const addressCache = new WeakMap<Endpoint, readonly EndpointAddress[]>();

function endpointAddresses(e: Endpoint): readonly EndpointAddress[] {
  let out = addressCache.get(e);
  if (out === undefined) {
    out = cidrAddresses([e.ipv4, e.ipv6]);
    addressCache.set(e, out);
  }
  return out;
}

/** Records for addresses written with their prefix (`10.0.0.2/24`); bad ones dropped. */
function cidrAddresses(cidrs: readonly (string | undefined)[]): EndpointAddress[] {
  return cidrs.flatMap((cidr) => {
    const ip = cidr === undefined ? undefined : tryParseIp(cidr.split('/')[0] as string);
    if (ip === undefined) return [];
    const rdata = ipBytes(ip);
    return [{ record: { type: ip.family === 4 ? QTYPE.A : QTYPE.AAAA, rdata }, key: rdata.toString('latin1'), reverse: reverseName(ip) }];
  });
}

/**
 * The names a container answers to on one network (Docker's `DNSNames`): its name, the
 * endpoint's aliases, its hostname and its short ID, lowercased (DNS is case-insensitive).
 */
export function dnsNames(c: Container, e: Endpoint): string[] {
  const out = new Set<string>();
  for (const n of [c.name, ...e.aliases, c.config.hostname, c.id.slice(0, 12)]) {
    const name = n.toLowerCase().replace(/\.$/, '');
    if (name !== '') out.add(name);
  }
  return [...out];
}

/** `--link target[:alias]` entries → alias → target (an entry without alias names itself). */
function parseLinks(links: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of links) {
    const [target = '', alias] = l.split(':');
    const t = target.replace(/^\//, '').toLowerCase();
    const al = (alias ?? t).replace(/^\//, '').toLowerCase();
    if (t !== '' && al !== '') m.set(al, t);
  }
  return m;
}

/** Upstream specs (`1.2.3.4`, `1.2.3.4:5353`, `fd00::1`, `[fd00::1]:5353`); bad ones dropped. */
export function parseUpstreams(specs: readonly string[]): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of specs) {
    const spec = raw.trim();
    let host = spec;
    let port = 53;
    const v6port = /^\[([^\]]+)\]:(\d+)$/.exec(spec);
    const v4port = /^([^:]+):(\d+)$/.exec(spec);
    if (v6port !== null) {
      host = v6port[1] as string;
      port = Number(v6port[2]);
    } else if (v4port !== null) {
      host = v4port[1] as string;
      port = Number(v4port[2]);
    }
    const ip = tryParseIp(host.replace(/^\[|\]$/g, ''));
    if (ip === undefined || port < 1 || port > 65535) continue;
    out.push({ address: host.replace(/^\[|\]$/g, ''), port, family: ip.family });
  }
  return out;
}

/** The address as wire bytes (4 or 16). */
export function ipBytes(ip: IpAddress): Buffer {
  const n = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The PTR owner name of an address: `4.3.2.1.in-addr.arpa`, or 32 nibbles + `.ip6.arpa`. */
export function reverseName(ip: IpAddress): string {
  const bytes = ipBytes(ip);
  if (ip.family === 4) return `${[...bytes].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) {
    const b = bytes[i] as number;
    nibbles.push((b & 0xf).toString(16), (b >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}
