/**
 * Published ports, pure: parsing and validating what Docker's clients send (`-p` specs, the
 * API's PortBindings and ExposedPorts), turning a container's requests into concrete host
 * bindings (allocating ephemeral ports), and mapping the result back to Docker's JSON.
 *
 * Conflicts are decided like the kernel decides socket binds: within one family and protocol, a
 * wildcard address (0.0.0.0 or ::) conflicts with every address on the same port, and a
 * specific address with itself and the wildcard. IPv4 and IPv6 never conflict (Docker binds
 * IPv6 sockets v6-only).
 *
 * Messages are Docker's: `invalid port specification: "70000"` (dockerd's create checks),
 * `invalid proto: foo` / `invalid containerPort: x` / `invalid hostPort: x` /
 * `invalid IP address: x` / `invalid ranges specified for container and host Ports: …` (the
 * CLI's nat.ParsePortSpec), `Bind for 0.0.0.0:8080 failed: port is already allocated`
 * (libnetwork's port allocator).
 */
import { BerthError, invalid } from '../errors.js';
import { formatIp, tryParseIp, type IpFamily } from '../model/cidr.js';
import type { Container, HostConfig, PortBinding } from '../model/container.js';

/** Transport protocols Docker publishes. */
export type PortProto = 'tcp' | 'udp' | 'sctp';

const PROTOS: readonly PortProto[] = ['tcp', 'udp', 'sctp'];

/** Docker's default ephemeral range (Linux `ip_local_port_range` default), inclusive. */
export const EPHEMERAL_PORT_RANGE: PortRange = { start: 32768, end: 60999 };

/** An inclusive range of port numbers. */
export interface PortRange {
  readonly start: number;
  readonly end: number;
}

/** A container port and its protocol: the key `80/tcp`. */
export interface ContainerPort {
  readonly port: number;
  readonly proto: PortProto;
}

/**
 * One binding a container asks for: host address (`''` = the network's default binding) and host
 * port range (`{0, 0}` = an ephemeral port; `start < end` = any one free port of the range).
 */
export interface PortRequest {
  readonly containerPort: number;
  readonly proto: PortProto;
  readonly hostIp: string;
  readonly hostPorts: PortRange;
}

/** A binding as resolved when the container started: always a concrete address and port. */
export interface PublishedPort {
  readonly containerPort: number;
  readonly proto: PortProto;
  /** Canonical address text; `0.0.0.0` / `::` for every address of the family. */
  readonly hostIp: string;
  readonly hostPort: number;
}

// -------------------------------------------------------------------------------------------
// Parsing and validation

/** A decimal port number 0–65535 (Go's strconv.ParseUint(s, 10, 16)), or undefined. */
function portNumber(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** Parses `8000` or `8000-8010` (nat.ParsePortRange); undefined when malformed. */
function portRange(s: string): PortRange | undefined {
  const dash = s.indexOf('-');
  if (dash < 0) {
    const n = portNumber(s);
    return n === undefined ? undefined : { start: n, end: n };
  }
  const start = portNumber(s.slice(0, dash));
  const end = portNumber(s.slice(dash + 1));
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

/** `tcp`, `UDP`, `` (→ tcp): lowercased and checked, with the CLI's message. */
export function parseProto(proto: string): PortProto {
  const p = (proto === '' ? 'tcp' : proto.toLowerCase()) as PortProto;
  if (!PROTOS.includes(p)) throw invalid(`invalid proto: ${proto}`);
  return p;
}

/**
 * A PortBindings key, `80/tcp` or `80` (tcp), as dockerd checks it at create. Port 0 and ranges
 * are refused (a key names one container port).
 */
export function parsePortKey(key: string): ContainerPort {
  const slash = key.indexOf('/');
  const portStr = slash < 0 ? key : key.slice(0, slash);
  const proto = parseProto(slash < 0 ? '' : key.slice(slash + 1));
  const port = portNumber(portStr);
  if (port === undefined || port === 0) throw invalid(`invalid port specification: "${portStr}"`);
  return { port, proto };
}

/** An ExposedPorts key: like a PortBindings key, but `8000-8010/tcp` ranges are allowed. */
export function parseExposedKey(key: string): { readonly ports: PortRange; readonly proto: PortProto } {
  const slash = key.indexOf('/');
  const portStr = slash < 0 ? key : key.slice(0, slash);
  const proto = parseProto(slash < 0 ? '' : key.slice(slash + 1));
  const ports = portRange(portStr);
  if (ports === undefined || ports.start === 0) throw invalid(`invalid port specification: "${portStr}"`);
  return { ports, proto };
}

/** A binding's HostPort: `''`/`0` (ephemeral), `8080`, or `8000-8010`. */
export function parseHostPort(hostPort: string): PortRange {
  if (hostPort === '') return { start: 0, end: 0 };
  const r = portRange(hostPort);
  if (r === undefined || (r.start === 0 && r.end !== 0)) throw invalid(`invalid port specification: "${hostPort}"`);
  return r;
}

/** A binding's HostIp: `''` (default), or an address, brackets allowed; canonical text. */
export function parseHostIp(hostIp: string): string {
  if (hostIp === '') return '';
  const bare = hostIp.startsWith('[') && hostIp.endsWith(']') ? hostIp.slice(1, -1) : hostIp;
  const ip = tryParseIp(bare);
  if (ip === undefined) throw invalid(`invalid IP address: ${hostIp}`);
  return formatIp(ip);
}

/**
 * Validates one PortBindings entry of a create request (the API calls this for every key):
 * the key, then each binding's HostIp and HostPort.
 */
export function validatePortBinding(
  key: string,
  bindings: readonly { readonly HostIp?: string | null; readonly HostPort?: string | null }[],
): void {
  parsePortKey(key);
  for (const b of bindings) {
    parseHostIp(b.HostIp ?? '');
    parseHostPort(b.HostPort ?? '');
  }
}

/** One entry of what `docker run -p SPEC` sends: the PortBindings key and one binding. */
export interface PublishSpecEntry {
  readonly key: string;
  readonly binding: PortBinding;
}

/**
 * Parses a `-p` spec as the docker CLI does (go-connections nat.ParsePortSpec):
 * `[ip:][hostPort:]containerPort[/proto]` with ranges, `[v6]:…` addresses, `ip::port`.
 * Equal-length ranges expand to one key per port; a host range with one container port stays a
 * range (any one free port of it).
 */
export function parsePublishSpec(spec: string): PublishSpecEntry[] {
  const { ip: rawIp, hostPort, containerPort: rawContainer } = splitSpec(spec);
  const slash = rawContainer.indexOf('/');
  const containerPort = slash < 0 ? rawContainer : rawContainer.slice(0, slash);
  const protoText = slash < 0 ? '' : rawContainer.slice(slash + 1);
  let ip = rawIp;
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw invalid(`invalid IP address ${ip}: address ${ip}:: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && tryParseIp(ip) === undefined) throw invalid(`invalid IP address: ${ip}`);
  if (containerPort === '') throw invalid(`no port specified: ${spec}<empty>`);
  const cr = portRange(containerPort);
  if (cr === undefined) throw invalid(`invalid containerPort: ${containerPort}`);
  let hr: PortRange = { start: 0, end: 0 };
  if (hostPort !== '') {
    const r = portRange(hostPort);
    if (r === undefined) throw invalid(`invalid hostPort: ${hostPort}`);
    hr = r;
  }
  if (hostPort !== '' && cr.end - cr.start !== hr.end - hr.start && cr.end !== cr.start) {
    throw invalid(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const proto = PROTOS.includes(protoText.toLowerCase() as PortProto) ? (protoText.toLowerCase() as PortProto) : undefined;
  if (protoText !== '' && proto === undefined) throw invalid(`invalid proto: ${protoText}`);
  const out: PublishSpecEntry[] = [];
  for (let i = 0; i <= cr.end - cr.start; i++) {
    let host = hostPort === '' ? '' : String(hr.start + i);
    if (cr.start === cr.end && hr.start !== hr.end) host = `${hr.start}-${hr.end}`;
    out.push({ key: `${cr.start + i}/${proto ?? 'tcp'}`, binding: { hostIp: ip, hostPort: host } });
  }
  return out;
}

/** nat's splitParts: `ip:host:container`, `host:container`, `container`; the IP may hold colons. */
function splitSpec(spec: string): { ip: string; hostPort: string; containerPort: string } {
  const last = spec.lastIndexOf(':');
  if (last < 0) return { ip: '', hostPort: '', containerPort: spec };
  const containerPort = spec.slice(last + 1);
  const rest = spec.slice(0, last);
  const prev = rest.lastIndexOf(':');
  if (prev < 0) return { ip: '', hostPort: rest, containerPort };
  return { ip: rest.slice(0, prev), hostPort: rest.slice(prev + 1), containerPort };
}

// -------------------------------------------------------------------------------------------
// Requests

/** Numeric, then protocol order: deterministic, so ephemeral allocation is reproducible. */
function byPortProto(a: ContainerPort, b: ContainerPort): number {
  return a.port - b.port || PROTOS.indexOf(a.proto) - PROTOS.indexOf(b.proto);
}

/**
 * What a container asks to publish: its PortBindings, plus (with `-P`) every exposed port that
 * has no binding, on an ephemeral port of the default address. Ordered by container port.
 */
export function portRequestsOf(hostConfig: HostConfig, exposedPorts: readonly string[]): PortRequest[] {
  const keyed = new Map<string, { cp: ContainerPort; bindings: readonly PortBinding[] }>();
  for (const [key, bindings] of Object.entries(hostConfig.portBindings)) {
    const cp = parsePortKey(key);
    const id = `${cp.port}/${cp.proto}`;
    const prev = keyed.get(id);
    keyed.set(id, { cp, bindings: [...(prev?.bindings ?? []), ...bindings] });
  }
  if (hostConfig.publishAllPorts) {
    for (const key of exposedPorts) {
      const { ports, proto } = parseExposedKey(key);
      for (let p = ports.start; p <= ports.end; p++) {
        const id = `${p}/${proto}`;
        if (!keyed.has(id)) keyed.set(id, { cp: { port: p, proto }, bindings: [{ hostIp: '', hostPort: '' }] });
      }
    }
  }
  const out: PortRequest[] = [];
  for (const { cp, bindings } of [...keyed.values()].sort((a, b) => byPortProto(a.cp, b.cp))) {
    // An empty list publishes on an ephemeral port, as Docker does for `"80/tcp": []`.
    for (const b of bindings.length === 0 ? [{ hostIp: '', hostPort: '' }] : bindings) {
      out.push({ containerPort: cp.port, proto: cp.proto, hostIp: parseHostIp(b.hostIp), hostPorts: parseHostPort(b.hostPort) });
    }
  }
  return out;
}

// -------------------------------------------------------------------------------------------
// Allocation

/** The family of a canonical address text. */
export function familyOf(ip: string): IpFamily {
  return ip.includes(':') ? 6 : 4;
}

/** True for `0.0.0.0` and `::`. */
export function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/** Answers whether a host port is taken. */
export interface PortLookup {
  /** True when binding `ip:port/proto` would collide with something already bound. */
  taken(proto: PortProto, port: number, ip: string): boolean;
}

/**
 * Host ports in use, indexed for conflict checks (a multiset: removing one binding leaves the
 * others of the same address). The service keeps one for the running containers and updates it
 * as they come and go, so a check never walks them all.
 */
export class PortIndex implements PortLookup {
  /** `proto/port/family` → address → how many bindings. */
  readonly #bound = new Map<string, Map<string, number>>();

  constructor(ports: Iterable<PublishedPort> = []) {
    for (const p of ports) this.add(p);
  }

  add(p: PublishedPort): void {
    const k = PortIndex.#key(p.proto, p.hostPort, familyOf(p.hostIp));
    let m = this.#bound.get(k);
    if (m === undefined) this.#bound.set(k, (m = new Map()));
    m.set(p.hostIp, (m.get(p.hostIp) ?? 0) + 1);
  }

  remove(p: PublishedPort): void {
    const k = PortIndex.#key(p.proto, p.hostPort, familyOf(p.hostIp));
    const m = this.#bound.get(k);
    const n = m?.get(p.hostIp);
    if (m === undefined || n === undefined) return;
    if (n > 1) m.set(p.hostIp, n - 1);
    else m.delete(p.hostIp);
    if (m.size === 0) this.#bound.delete(k);
  }

  taken(proto: PortProto, port: number, ip: string): boolean {
    const family = familyOf(ip);
    const m = this.#bound.get(PortIndex.#key(proto, port, family));
    if (m === undefined || m.size === 0) return false;
    return isWildcard(ip) || m.has(ip) || m.has(family === 4 ? '0.0.0.0' : '::');
  }

  static #key(proto: PortProto, port: number, family: IpFamily): string {
    return `${proto}/${port}/${family}`;
  }
}

/** How a container's requests are resolved on the network that publishes them. */
export interface AllocationContext {
  /** Addresses a binding without HostIp gets: `['0.0.0.0']`, `['0.0.0.0', '::']`, or host_binding_ipv4. */
  readonly defaultHostIps: readonly string[];
  /** Families the container has an address in on that network (no proxy: no 6→4 mapping). */
  readonly families: ReadonlySet<IpFamily>;
  /** Where ephemeral ports come from. */
  readonly ephemeral: PortRange;
  /** The last ephemeral port handed out: the search starts after it, as Docker's allocator. */
  readonly lastEphemeral: number;
}

/** The resolution of a container's requests. */
export interface Allocation {
  readonly ports: readonly PublishedPort[];
  readonly lastEphemeral: number;
}

/**
 * Resolves requests to concrete bindings against the ports already taken, or throws
 * ERR_PORT_ALLOCATED with the allocator's message (`Bind for 0.0.0.0:8080 failed: port is
 * already allocated`). A request for several addresses (the default `0.0.0.0` and `::`) gets the
 * same port on all of them. Bindings in a family the container lacks are dropped, as Docker does
 * without its userland proxy. `taken` (the other running containers' ports) is not modified.
 */
export function allocatePorts(requests: readonly PortRequest[], taken: readonly PublishedPort[] | PortLookup, ctx: AllocationContext): Allocation {
  const others: PortLookup = Array.isArray(taken) ? new PortIndex(taken) : (taken as PortLookup);
  const own = new PortIndex();
  const index: PortLookup = { taken: (proto, port, ip) => own.taken(proto, port, ip) || others.taken(proto, port, ip) };
  const out: PublishedPort[] = [];
  let last = ctx.lastEphemeral;
  for (const r of requests) {
    const ips = (r.hostIp === '' ? ctx.defaultHostIps : [r.hostIp]).filter((ip) => ctx.families.has(familyOf(ip)));
    if (ips.length === 0) continue;
    const free = (port: number) => ips.every((ip) => !index.taken(r.proto, port, ip));
    let port: number | undefined;
    if (r.hostPorts.start === 0) {
      const { start, end } = ctx.ephemeral;
      const size = end - start + 1;
      const from = last >= start && last <= end ? last - start + 1 : 0;
      for (let i = 0; i < size && port === undefined; i++) {
        const p = start + ((from + i) % size);
        if (free(p)) port = p;
      }
      if (port === undefined) throw new BerthError('ERR_PORT_ALLOCATED', 'all ports are allocated');
      last = port;
    } else if (r.hostPorts.start === r.hostPorts.end) {
      port = r.hostPorts.start;
      const clash = ips.find((ip) => index.taken(r.proto, r.hostPorts.start, ip));
      if (clash !== undefined) throw portAllocated(clash, String(port));
    } else {
      for (let p = r.hostPorts.start; p <= r.hostPorts.end && port === undefined; p++) if (free(p)) port = p;
      if (port === undefined) throw portAllocated(ips[0] ?? '', `${r.hostPorts.start}-${r.hostPorts.end}`);
    }
    for (const ip of ips) {
      const p: PublishedPort = { containerPort: r.containerPort, proto: r.proto, hostIp: ip, hostPort: port };
      own.add(p);
      out.push(p);
    }
  }
  return { ports: out, lastEphemeral: last };
}

function portAllocated(ip: string, port: string): BerthError {
  return new BerthError('ERR_PORT_ALLOCATED', `Bind for ${ip}:${port} failed: port is already allocated`);
}

// -------------------------------------------------------------------------------------------
// Docker's JSON

/** Every container port the container exposes or binds, as `80/tcp` keys. */
function exposedKeys(c: Container): string[] {
  const keys = new Set<string>();
  for (const k of c.config.exposedPorts) {
    try {
      const { ports, proto } = parseExposedKey(k);
      for (let p = ports.start; p <= ports.end; p++) keys.add(`${p}/${proto}`);
    } catch {
      keys.add(k.includes('/') ? k : `${k}/tcp`);
    }
  }
  for (const k of Object.keys(c.hostConfig.portBindings)) {
    try {
      const cp = parsePortKey(k);
      keys.add(`${cp.port}/${cp.proto}`);
    } catch {
      // refused at create; nothing to show
    }
  }
  return [...keys];
}

/**
 * `NetworkSettings.Ports` of `docker inspect`: every exposed port, with its bindings or null.
 * Empty unless the container runs (Docker resets it when a container stops). Keys in Go's
 * (sorted) map order.
 */
export function toDockerPortMap(c: Container, published: readonly PublishedPort[]): Record<string, { HostIp: string; HostPort: string }[] | null> {
  if (c.state.status !== 'running') return {};
  const out = new Map<string, { HostIp: string; HostPort: string }[] | null>();
  for (const k of exposedKeys(c)) out.set(k, null);
  for (const p of published) {
    const k = `${p.containerPort}/${p.proto}`;
    const list = out.get(k) ?? [];
    list.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    out.set(k, list);
  }
  return Object.fromEntries([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One entry of `Ports` in `GET /containers/json`. */
export interface DockerPortListItem {
  readonly IP?: string;
  readonly PrivatePort: number;
  readonly PublicPort?: number;
  readonly Type: string;
}

/** `Ports` of a list item: each binding, then each exposed port without one. Empty unless running. */
export function toDockerPortList(c: Container, published: readonly PublishedPort[]): DockerPortListItem[] {
  if (c.state.status !== 'running') return [];
  const out: DockerPortListItem[] = [];
  const bound = new Set<string>();
  for (const p of published) {
    out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto });
    bound.add(`${p.containerPort}/${p.proto}`);
  }
  for (const k of exposedKeys(c)) {
    if (bound.has(k)) continue;
    const [port = '0', proto = 'tcp'] = k.split('/');
    out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}
