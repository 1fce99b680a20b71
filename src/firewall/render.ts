/**
 * The model → berth's nftables ruleset, pure. Two tables, both ours alone:
 *
 * - `table inet berth`: NAT (published ports, masquerade, localhost and hairpin), forwarding
 *   policy (isolation between networks, enable_icc, `--internal`, the admin's `user` chain) and
 *   a guard against packets to 127.0.0.0/8 from containers (route_localnet is on for our
 *   bridges).
 * - `table bridge berth`: `enable_icc=false` for frames the bridge switches between two ports,
 *   which reach the inet hooks only when br_netfilter is on (it is built in and on here, and on
 *   any host where Docker runs; elsewhere not). This kernel has no `meta ibrname`
 *   (CONFIG_NFT_BRIDGE_META unset), so the rule matches the network's subnets.
 *
 * The rules never change: everything that varies with the model — bridges, subnets, options,
 * published ports — is an element of a named set or map. Publishing the 10,000th port or creating
 * the 50th network is an element add (one small transaction); only start-up replaces the tables.
 *
 * The script must survive being joined into one line with `; ` (the persistent `nft -i`
 * session reads one transaction per line): no comments, no line breaks inside `{ … }` lists.
 */
import { parseBridgeOptions } from '../drivers/bridge/options.js';
import { chooseGateway, type Attachment } from '../engine/sandbox.js';
import type { ModelSnapshot } from '../engine/observers.js';
import type { IpFamily } from '../model/cidr.js';
import type { Container } from '../model/container.js';
import type { Network } from '../model/network.js';
import { familyOf, isWildcard, type PortProto, type PublishedPort } from './ports.js';

/** Name of both tables (`inet berth`, `bridge berth`). */
export const TABLE = 'berth';

/**
 * The admin's chain, jumped to first from `forward`, like Docker's DOCKER-USER: berth creates it
 * when missing and never flushes, deletes or reads it, so its rules survive updates and restarts.
 * `accept` there lets a packet past berth's own forwarding rules; `drop` is final.
 */
export const USER_CHAIN = 'user';

/** The port maps: by address family, for one host address or for all (the wildcard). */
export type PortMapName = 'pub4' | 'pub4any' | 'pub6' | 'pub6any';

export const PORT_MAPS: readonly PortMapName[] = ['pub4', 'pub4any', 'pub6', 'pub6any'];

/** What the firewall needs of one bridge network. */
export interface BridgeRules {
  readonly networkId: string;
  readonly bridge: string;
  readonly internal: boolean;
  readonly icc: boolean;
  readonly masquerade: boolean;
  /** Canonical CIDRs. */
  readonly subnets4: readonly string[];
  readonly subnets6: readonly string[];
}

/** One published port with its target: host side → the container's address on its gateway network. */
export interface PortMapping {
  readonly family: IpFamily;
  readonly proto: PortProto;
  /** `0.0.0.0` / `::` for every local address, else one address. */
  readonly hostIp: string;
  readonly hostPort: number;
  readonly target: string;
  readonly targetPort: number;
  /** The container that owns it (element comment). */
  readonly containerId: string;
}

/** Everything the ruleset is made from. */
export interface FirewallState {
  readonly bridges: readonly BridgeRules[];
  readonly ports: readonly PortMapping[];
}

/** One set or map element: nft text of its key and value (`''` in a set), and the owner comment. */
export interface MapElement {
  readonly key: string;
  readonly value: string;
  /** The first 12 hex of the owning network's or container's id. */
  readonly comment: string;
}

/** A rendered ruleset. */
export interface Ruleset {
  /** The table definitions, without elements: the same for every model. */
  readonly structure: string;
  /** Elements by set or map, then by key text. */
  readonly elements: ReadonlyMap<CollectionName, ReadonlyMap<string, MapElement>>;
}

// -------------------------------------------------------------------------------------------
// Model → state

/** The firewall's view of the model: bridge networks, and the ports of running containers. */
export function firewallStateOf(snapshot: ModelSnapshot, published: ReadonlyMap<string, readonly PublishedPort[]>): FirewallState {
  const networks = new Map<string, Network>(snapshot.networks.map((n) => [n.id, n]));
  const bridges = snapshot.networks
    .filter((n) => n.driver === 'bridge')
    .map(bridgeRulesOf)
    .sort((a, b) => cmp(a.bridge, b.bridge));
  const attachmentsOf = new Map<string, Attachment[]>();
  for (const e of snapshot.endpoints) {
    const network = networks.get(e.networkId);
    if (network === undefined || !published.has(e.containerId)) continue;
    const list = attachmentsOf.get(e.containerId);
    if (list === undefined) attachmentsOf.set(e.containerId, [{ network, endpoint: e }]);
    else list.push({ network, endpoint: e });
  }
  const ports: PortMapping[] = [];
  for (const c of snapshot.containers) {
    const pub = published.get(c.id);
    if (pub !== undefined) ports.push(...portMappingsOf(c, attachmentsOf.get(c.id) ?? [], pub));
  }
  ports.sort(
    (a, b) => a.family - b.family || cmp(a.hostIp, b.hostIp) || cmp(a.proto, b.proto) || a.hostPort - b.hostPort || cmp(a.containerId, b.containerId),
  );
  return { bridges, ports };
}

/**
 * The published ports of one container with their targets: its address on the network that
 * gives it its default route (Docker programs ports on that "gateway endpoint"), in the family
 * of each host address. None unless it runs on a bridge network.
 */
export function portMappingsOf(c: Container, attachments: readonly Attachment[], published: readonly PublishedPort[]): PortMapping[] {
  if (c.state.status !== 'running' || published.length === 0) return [];
  const gw = chooseGateway(attachments);
  if (gw === undefined || gw.network.driver !== 'bridge') return [];
  const target4 = gw.endpoint.ipv4?.split('/')[0];
  const target6 = gw.endpoint.ipv6?.split('/')[0];
  const out: PortMapping[] = [];
  for (const p of published) {
    const family = familyOf(p.hostIp);
    const target = family === 4 ? target4 : target6;
    if (target === undefined) continue;
    out.push({ family, proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, target, targetPort: p.containerPort, containerId: c.id });
  }
  return out;
}

/** A bridge network's firewall-relevant options (validated when the network was created). */
export function bridgeRulesOf(n: Network): BridgeRules {
  const opts = parseBridgeOptions(n.id, n.options, { mtu: 1500 });
  return {
    networkId: n.id,
    bridge: opts.bridgeName,
    internal: n.internal,
    icc: opts.enableIcc,
    masquerade: opts.enableIpMasquerade,
    subnets4: n.enableIPv4 ? n.pools.filter((p) => !p.subnet.includes(':')).map((p) => p.subnet) : [],
    subnets6: n.enableIPv6 ? n.pools.filter((p) => p.subnet.includes(':')).map((p) => p.subnet) : [],
  };
}

// -------------------------------------------------------------------------------------------
// State → nft

/** The named sets and maps of both tables: everything that varies with the model. */
export type CollectionName =
  | 'bridges'
  | 'internal'
  | 'samebridge'
  | 'masq4'
  | 'masq6'
  | 'hairpin4'
  | 'hairpin6'
  | PortMapName
  | 'noicc4'
  | 'noicc6';

interface CollectionDef {
  readonly family: 'inet' | 'bridge';
  readonly kind: 'set' | 'map';
  readonly type: string;
  readonly flags?: string;
}

/** In definition order. */
const COLLECTIONS: ReadonlyMap<CollectionName, CollectionDef> = new Map<CollectionName, CollectionDef>([
  // Our bridges; and the --internal ones.
  ['bridges', { family: 'inet', kind: 'set', type: 'ifname' }],
  ['internal', { family: 'inet', kind: 'set', type: 'ifname' }],
  // Traffic that stays on one bridge (bridged, through br_netfilter, or routed back):
  // accept, or `jump noicc` for enable_icc=false.
  ['samebridge', { family: 'inet', kind: 'map', type: 'ifname . ifname : verdict' }],
  // Subnets masqueraded on the way out (enable_ip_masquerade, not internal).
  ['masq4', { family: 'inet', kind: 'set', type: 'ipv4_addr', flags: 'interval' }],
  ['masq6', { family: 'inet', kind: 'set', type: 'ipv6_addr', flags: 'interval' }],
  // subnet . its bridge: hairpin NAT within a network.
  ['hairpin4', { family: 'inet', kind: 'set', type: 'ipv4_addr . ifname', flags: 'interval' }],
  ['hairpin6', { family: 'inet', kind: 'set', type: 'ipv6_addr . ifname', flags: 'interval' }],
  ['pub4', { family: 'inet', kind: 'map', type: 'ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service' }],
  ['pub4any', { family: 'inet', kind: 'map', type: 'inet_proto . inet_service : ipv4_addr . inet_service' }],
  ['pub6', { family: 'inet', kind: 'map', type: 'ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service' }],
  ['pub6any', { family: 'inet', kind: 'map', type: 'inet_proto . inet_service : ipv6_addr . inet_service' }],
  // Subnets of enable_icc=false networks, for frames the bridge switches without br_netfilter.
  ['noicc4', { family: 'bridge', kind: 'set', type: 'ipv4_addr', flags: 'interval' }],
  ['noicc6', { family: 'bridge', kind: 'set', type: 'ipv6_addr', flags: 'interval' }],
]);

/** Base chains of `inet berth`, then the regular chain they jump to. */
const INET_BASE_CHAINS = ['guard', 'prerouting', 'output', 'postrouting', 'forward'] as const;

/**
 * The constant part: both tables with empty sets and maps and every rule. Per-network and
 * per-port facts are elements only, so no model change ever rewrites a rule.
 */
function renderStructure(): string {
  const lines: string[] = [];
  const chain = (name: string, hook: string | undefined, rules: readonly string[]) => {
    lines.push(`\tchain ${name} {`);
    if (hook !== undefined) lines.push(`\t\t${hook}; policy accept;`);
    for (const r of rules) lines.push(`\t\t${r}`);
    lines.push('\t}');
  };
  const collections = (family: 'inet' | 'bridge') => {
    for (const [name, def] of COLLECTIONS) {
      if (def.family !== family) continue;
      lines.push(`\t${def.kind} ${name} {`, `\t\ttype ${def.type}`);
      if (def.flags !== undefined) lines.push(`\t\tflags ${def.flags}`);
      lines.push('\t}');
    }
  };

  lines.push(`table inet ${TABLE} {`);
  collections('inet');
  // Published ports: DNAT what is addressed to a local address and is in a map. A failed
  // lookup does not match, so the next map is tried.
  chain('published', undefined, [
    'dnat ip to ip daddr . meta l4proto . th dport map @pub4',
    'meta nfproto ipv4 dnat ip to meta l4proto . th dport map @pub4any',
    'dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6',
    'meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @pub6any',
  ]);
  // enable_icc=false: a published port reached through the host (hairpin) is still allowed,
  // as in Docker, where its DOCKER chain comes before the icc drop.
  chain('noicc', undefined, ['ct status dnat accept', 'drop']);
  // route_localnet lets 127.0.0.1 be DNATed out of our bridges; it would also let a container
  // reach the host's loopback services by addressing 127.0.0.1 to the bridge (CVE-2020-8558).
  // At raw priority the replies to masqueraded localhost flows still carry the bridge address.
  chain('guard', 'type filter hook prerouting priority raw', ['iifname @bridges ip daddr 127.0.0.0/8 drop']);
  chain('prerouting', 'type nat hook prerouting priority dstnat', ['fib daddr type local jump published']);
  chain('output', 'type nat hook output priority -100', ['fib daddr type local jump published']);
  chain('postrouting', 'type nat hook postrouting priority srcnat', [
    // 127.0.0.1 → a published port: the container must answer the gateway, not loopback.
    'oifname @bridges ip saddr 127.0.0.0/8 masquerade',
    // Hairpin within a network: the reply would not come back through the host.
    'ct status dnat ip saddr . oifname @hairpin4 masquerade',
    'ct status dnat ip6 saddr . oifname @hairpin6 masquerade',
    // Outbound NAT, except towards our bridges: a published port reached from another network
    // sees the client's own address (isolation drops everything else there).
    'oifname != @bridges ip saddr @masq4 masquerade',
    'oifname != @bridges ip6 saddr @masq6 masquerade',
  ]);
  chain('forward', 'type filter hook forward priority filter', [
    `jump ${USER_CHAIN}`,
    'ct state established,related accept',
    'iifname . oifname vmap @samebridge',
    // --internal: nothing out, nothing in (not even through a published port).
    'iifname @internal drop',
    'oifname @internal drop',
    // Into a bridge: published ports only; between bridges nothing else either.
    'oifname @bridges ct status dnat accept',
    'oifname @bridges drop',
  ]);
  lines.push('}');

  lines.push(`table bridge ${TABLE} {`);
  collections('bridge');
  chain('forward', 'type filter hook forward priority filter', [
    'ip saddr @noicc4 drop',
    'ip daddr @noicc4 drop',
    'ip6 saddr @noicc6 drop',
    'ip6 daddr @noicc6 drop',
  ]);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The constant part of every ruleset. */
export const STRUCTURE = renderStructure();

/** Elements by set or map, then by key text. */
export type Elements = Map<CollectionName, Map<string, MapElement>>;

/** An empty element table with every collection. */
export function emptyElements(): Elements {
  return new Map([...COLLECTIONS.keys()].map((n) => [n, new Map<string, MapElement>()]));
}

/**
 * Adds an element unless its key is taken. Allocation never hands a host port out twice (nor
 * IPAM a subnet); should the model say otherwise, the first owner keeps it rather than failing
 * the whole transaction. Returns whether it was added.
 */
function put(elements: Elements, name: CollectionName, key: string, value: string, owner: string): boolean {
  const m = elements.get(name) as Map<string, MapElement>;
  if (m.has(key)) return false;
  m.set(key, { key, value, comment: owner.slice(0, 12) });
  return true;
}

/** The per-network elements: bridges, internal, samebridge verdicts, subnets to NAT or isolate. */
export function networkElements(bridges: readonly BridgeRules[], into: Elements = emptyElements()): Elements {
  const q = (name: string) => JSON.stringify(name);
  for (const b of bridges) {
    const owner = b.networkId;
    put(into, 'bridges', q(b.bridge), '', owner);
    put(into, 'samebridge', `${q(b.bridge)} . ${q(b.bridge)}`, b.icc ? 'accept' : 'jump noicc', owner);
    if (!b.icc) {
      for (const s of b.subnets4) put(into, 'noicc4', s, '', owner);
      for (const s of b.subnets6) put(into, 'noicc6', s, '', owner);
    }
    if (b.internal) {
      put(into, 'internal', q(b.bridge), '', owner);
      continue;
    }
    for (const s of b.subnets4) put(into, 'hairpin4', `${s} . ${q(b.bridge)}`, '', owner);
    for (const s of b.subnets6) put(into, 'hairpin6', `${s} . ${q(b.bridge)}`, '', owner);
    if (!b.masquerade) continue;
    for (const s of b.subnets4) put(into, 'masq4', s, '', owner);
    for (const s of b.subnets6) put(into, 'masq6', s, '', owner);
  }
  return into;
}

/** The map and element of one published port. */
export function portElement(p: PortMapping): { readonly map: PortMapName; readonly element: MapElement } {
  const map: PortMapName = `pub${p.family}${isWildcard(p.hostIp) ? 'any' : ''}` as PortMapName;
  const key = isWildcard(p.hostIp) ? `${p.proto} . ${p.hostPort}` : `${p.hostIp} . ${p.proto} . ${p.hostPort}`;
  return { map, element: { key, value: `${p.target} . ${p.targetPort}`, comment: p.containerId.slice(0, 12) } };
}

/** Adds a published port's element (unless its key is taken); whether it was added. */
export function putPort(elements: Elements, p: PortMapping): boolean {
  const { map, element } = portElement(p);
  return put(elements, map, element.key, element.value, p.containerId);
}

/** Renders the ruleset of a state. */
export function renderRuleset(state: FirewallState): Ruleset {
  const elements = networkElements(state.bridges);
  for (const p of state.ports) putPort(elements, p);
  return { structure: STRUCTURE, elements };
}

/** Elements per `add element` statement: keeps each line of the script a sane length. */
const CHUNK = 512;

function elementText(e: MapElement): string {
  const comment = `${e.key} comment ${JSON.stringify(e.comment)}`;
  return e.value === '' ? comment : `${comment} : ${e.value}`;
}

/**
 * The script that replaces our tables with `ruleset`, atomically when applied as one
 * transaction. Chains are created if missing and deleted (nft 1.0.6 has no `destroy`), sets and
 * maps created if missing and flushed (an admin rule in `user` may refer to them), the `user`
 * chain only created if missing; then everything is defined anew and filled.
 */
export function renderReplace(ruleset: Ruleset): string {
  const t = `inet ${TABLE}`;
  const out: string[] = [`add table ${t}`, `add chain ${t} ${USER_CHAIN}`];
  // Base chains first (their rules jump to `published` and use the sets), then `published`
  // (it uses the port maps); `noicc` once `samebridge`, whose verdicts jump to it, is flushed.
  for (const c of [...INET_BASE_CHAINS, 'published']) out.push(`add chain ${t} ${c}`, `delete chain ${t} ${c}`);
  for (const [name, def] of COLLECTIONS) {
    if (def.family !== 'inet') continue;
    out.push(`add ${def.kind} ${t} ${name} { type ${def.type};${def.flags === undefined ? '' : ` flags ${def.flags};`} }`, `flush ${def.kind} ${t} ${name}`);
  }
  out.push(`add chain ${t} noicc`, `delete chain ${t} noicc`);
  out.push(`add table bridge ${TABLE}`, `delete table bridge ${TABLE}`);
  return `${out.join('\n')}\n${ruleset.structure}${renderElements('add', ruleset.elements)}`;
}

/** `add`/`delete element` statements for the given elements, keys in order (stable output). */
export function renderElements(verb: 'add' | 'delete', elements: ReadonlyMap<CollectionName, ReadonlyMap<string, MapElement>>): string {
  const out: string[] = [];
  for (const [name, m] of elements) {
    const def = COLLECTIONS.get(name) as CollectionDef;
    const list = [...m.values()].sort((a, b) => naturalCmp(a.key, b.key)).map((e) => (verb === 'add' ? elementText(e) : e.key));
    for (let i = 0; i < list.length; i += CHUNK) {
      out.push(`${verb} element ${def.family} ${TABLE} ${name} { ${list.slice(i, i + CHUNK).join(', ')} }`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * The element changes that turn `before` into `after`: deletes first, then adds; a changed
 * value is a delete and an add. Empty when nothing changed.
 */
export function renderElementChanges(before: Ruleset, after: Ruleset): string {
  const del = new Map<CollectionName, Map<string, MapElement>>();
  const add = new Map<CollectionName, Map<string, MapElement>>();
  for (const name of COLLECTIONS.keys()) {
    const b = before.elements.get(name) ?? new Map<string, MapElement>();
    const a = after.elements.get(name) ?? new Map<string, MapElement>();
    const d = new Map<string, MapElement>();
    const n = new Map<string, MapElement>();
    for (const [k, e] of b) {
      const now = a.get(k);
      if (now === undefined || now.value !== e.value || now.comment !== e.comment) d.set(k, e);
    }
    for (const [k, e] of a) {
      const was = b.get(k);
      if (was === undefined || was.value !== e.value || was.comment !== e.comment) n.set(k, e);
    }
    if (d.size > 0) del.set(name, d);
    if (n.size > 0) add.set(name, n);
  }
  return renderElements('delete', del) + renderElements('add', add);
}

/** Compares text with digit runs as numbers (`tcp . 8080` before `tcp . 32768`). */
function naturalCmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    const da = ca >= 48 && ca <= 57;
    const db = cb >= 48 && cb <= 57;
    if (da && db) {
      let ei = i;
      let ej = j;
      while (ei < a.length && a.charCodeAt(ei) >= 48 && a.charCodeAt(ei) <= 57) ei++;
      while (ej < b.length && b.charCodeAt(ej) >= 48 && b.charCodeAt(ej) <= 57) ej++;
      const d = ei - i - (ej - j) || (a.slice(i, ei) < b.slice(j, ej) ? -1 : a.slice(i, ei) > b.slice(j, ej) ? 1 : 0);
      if (d !== 0) return d;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
