/**
 * A `Kernel` that changes nothing: it records every mutating call as a `KernelOp` and keeps a
 * small in-memory model (namespaces, links, addresses, routes, neighbours, FDB entries,
 * sysctls) so that reads reflect writes and the usual errors happen (EEXIST for a duplicate,
 * ENODEV for a missing device, "already gone" accepted by the deletes).
 *
 * Used by unit tests (planners, engine rollback: `failAt`) and by `--dry-run`. The model is
 * deliberately small: no kernel-made routes, no IPv6 link-local addresses, no carrier.
 */
import { Errno, kernelErrorFromErrno } from './errno.js';
import { describeOp } from './ops.js';
import type { AddrState, DeviceNeighbours, Kernel, KernelOp, LinkSpec, LinkState, NetnsRef, RouteState } from './types.js';

/** Options for `FakeKernel`. */
export interface FakeKernelOptions {
  /** Make the mutating call that would become `ops[failAt]` (0-based) fail, once. */
  readonly failAt?: number;
  /** errno of that injected failure (default EIO). */
  readonly failErrno?: number;
  /** Links that exist in the host netns from the start (e.g. `eth0` for macvlan parents). */
  readonly hostLinks?: readonly { readonly name: string; readonly mtu?: number; readonly up?: boolean }[];
  /** sysctl values of the host netns, by key (`net/ipv4/ip_forward`). */
  readonly hostSysctls?: Readonly<Record<string, string>>;
  /**
   * Link types this kernel lacks (default: none): `linkKindSupported` answers false and
   * `linkAdd` fails with EOPNOTSUPP, as a kernel without the module does.
   */
  readonly unsupportedLinkKinds?: readonly string[];
}

/** A link in the model. */
interface FakeLink {
  index: number;
  name: string;
  kind: string | undefined;
  mac: string;
  mtu: number;
  up: boolean;
  master: number | undefined;
  alias: string | undefined;
  group: number;
  /** The other end of a veth. */
  peer: { netns: NetnsRef; name: string } | undefined;
}

/** One namespace of the model. */
interface FakeNetns {
  nextIndex: number;
  links: Map<string, FakeLink>;
  addrs: AddrState[];
  routes: RouteState[];
  neighbours: Map<string, string>;
  fdb: Set<string>;
  sysctls: Map<string, string>;
}

/** A recording, in-memory `Kernel`. */
export class FakeKernel implements Kernel {
  /** Every mutating call that succeeded, in order. */
  readonly ops: KernelOp[] = [];
  /** Scripts given to `nftApply`, in order. */
  readonly nftScripts: { readonly netns: NetnsRef; readonly script: string }[] = [];
  /** Directories given to `netnsDirSetup`. */
  readonly netnsDirs: string[] = [];
  /** Arguments of `release` calls (undefined = all). */
  readonly released: (NetnsRef | undefined)[] = [];
  /** Index in `ops` at which a mutating call fails, once (then reset); undefined = never. */
  failAt: number | undefined;
  /** errno of the injected failure. */
  failErrno: number;
  /** What `nftList` returns. */
  nftListResult: unknown = { nftables: [] };
  /** When set, `nftApply` rejects with it (and records nothing). */
  nftError: Error | undefined;

  readonly #namespaces = new Map<NetnsRef, FakeNetns>();
  readonly #unsupportedKinds: ReadonlySet<string>;
  #macCounter = 0;

  constructor(options: FakeKernelOptions = {}) {
    this.failAt = options.failAt;
    this.failErrno = options.failErrno ?? Errno.EIO;
    this.#unsupportedKinds = new Set(options.unsupportedLinkKinds ?? []);
    const host = this.#newNetns();
    this.#namespaces.set(null, host);
    for (const link of options.hostLinks ?? []) {
      this.#insertLink(host, { name: link.name, kind: undefined, mtu: link.mtu ?? 1500, up: link.up ?? true });
    }
    for (const [key, value] of Object.entries(options.hostSysctls ?? {})) host.sysctls.set(key, value);
  }

  // -------------------------------------------------------------------------------------------
  // Kernel

  netnsAdd(path: string): void {
    this.#mutate({ kind: 'netns-add', path }, null, () => {
      if (this.#namespaces.has(path)) throw Errno.EEXIST;
      this.#namespaces.set(path, this.#newNetns());
    });
  }

  netnsDel(path: string): void {
    this.#mutate({ kind: 'netns-del', path }, null, () => {
      const ns = this.#namespaces.get(path);
      if (ns === undefined) return;
      // Destroying a netns destroys its veths, and with them their peers elsewhere.
      for (const link of [...ns.links.values()]) this.#removeLink(path, link);
      this.#namespaces.delete(path);
    });
  }

  netnsDirSetup(dir: string): void {
    this.netnsDirs.push(dir);
  }

  linkAdd(netns: NetnsRef, link: LinkSpec): void {
    this.#mutate({ kind: 'link-add', netns, link }, netns, () => {
      const ns = this.#netns(netns);
      const info = link.info;
      if (this.#unsupportedKinds.has(info.kind)) throw Errno.EOPNOTSUPP;
      // Parent and master are looked up where the request runs; the name is checked where
      // the link lands (as kernel 6.18 does, see the macvlan planner).
      const lands = link.targetNetns === undefined ? netns : link.targetNetns;
      const target = this.#netns(lands);
      if (target !== ns && link.master !== undefined) throw Errno.EINVAL;
      if (target.links.has(link.name)) throw Errno.EEXIST;
      const master = link.master === undefined ? undefined : this.#link(ns, link.master).index;
      if (info.kind === 'macvlan' || info.kind === 'ipvlan' || info.kind === 'vlan') this.#link(ns, info.parent);
      if (info.kind === 'vxlan' && info.dev !== undefined) this.#link(ns, info.dev);
      let peerNs: FakeNetns | undefined;
      if (info.kind === 'veth') {
        peerNs = this.#netns(info.peerNetns);
        if (peerNs.links.has(info.peerName) || (peerNs === target && info.peerName === link.name)) throw Errno.EEXIST;
      }
      const created = this.#insertLink(target, {
        name: link.name,
        kind: info.kind,
        mtu: link.mtu ?? 1500,
        up: link.up ?? false,
        ...(link.mac === undefined ? {} : { mac: link.mac }),
        ...(master === undefined ? {} : { master }),
        ...(link.alias === undefined ? {} : { alias: link.alias }),
        ...(link.group === undefined ? {} : { group: link.group }),
      });
      if (info.kind === 'veth' && peerNs !== undefined) {
        this.#insertLink(peerNs, {
          name: info.peerName,
          kind: 'veth',
          mtu: info.peerMtu ?? link.mtu ?? 1500,
          up: info.peerUp ?? false,
          ...(info.peerMac === undefined ? {} : { mac: info.peerMac }),
        }).peer = { netns: lands, name: link.name };
        created.peer = { netns: info.peerNetns, name: info.peerName };
      }
    });
  }

  linkDel(netns: NetnsRef, name: string, onlyIfAlias?: string): void {
    const op: KernelOp = onlyIfAlias === undefined ? { kind: 'link-del', netns, name } : { kind: 'link-del', netns, name, onlyIfAlias };
    this.#mutate(op, netns, () => {
      const link = this.#namespaces.get(netns)?.links.get(name);
      if (link === undefined || (onlyIfAlias !== undefined && link.alias !== onlyIfAlias)) return;
      this.#removeLink(netns, link);
    });
  }

  async linkDelAsync(netns: NetnsRef, name: string, onlyIfAlias?: string): Promise<void> {
    this.linkDel(netns, name, onlyIfAlias);
  }

  linkKindSupported(netns: NetnsRef, kind: Exclude<LinkSpec['info']['kind'], 'veth'>): boolean {
    this.#read(netns, `link-probe ${kind}`);
    return !this.#unsupportedKinds.has(kind);
  }

  linkSet(op: Extract<KernelOp, { kind: 'link-set' }>): void {
    this.#mutate(op, op.netns, () => {
      const ns = this.#netns(op.netns);
      const link = this.#link(ns, op.name);
      if (op.newName !== undefined && op.newName !== op.name && ns.links.has(op.newName)) throw Errno.EEXIST;
      const master = op.master === undefined || op.master === null ? undefined : this.#link(ns, op.master).index;
      if (op.up !== undefined) link.up = op.up;
      if (op.mtu !== undefined) link.mtu = op.mtu;
      if (op.mac !== undefined) link.mac = op.mac.toLowerCase();
      if (op.master !== undefined) link.master = master;
      if (op.newName !== undefined) {
        ns.links.delete(link.name);
        link.name = op.newName;
        ns.links.set(link.name, link);
        if (link.peer !== undefined) {
          const peer = this.#namespaces.get(link.peer.netns)?.links.get(link.peer.name);
          if (peer?.peer !== undefined) peer.peer = { netns: op.netns, name: op.newName };
        }
      }
    });
  }

  addrAdd(netns: NetnsRef, dev: string, cidr: string): void {
    this.#mutate({ kind: 'addr-add', netns, dev, cidr }, netns, () => {
      const ns = this.#netns(netns);
      const ifindex = this.#link(ns, dev).index;
      if (ns.addrs.some((a) => a.ifindex === ifindex && a.cidr === cidr)) throw Errno.EEXIST;
      ns.addrs.push({ ifindex, family: cidr.includes(':') ? 6 : 4, cidr });
    });
  }

  addrDel(netns: NetnsRef, dev: string, cidr: string): void {
    this.#mutate({ kind: 'addr-del', netns, dev, cidr }, netns, () => {
      const ns = this.#namespaces.get(netns);
      const ifindex = ns?.links.get(dev)?.index;
      if (ns === undefined || ifindex === undefined) return;
      ns.addrs = ns.addrs.filter((a) => !(a.ifindex === ifindex && a.cidr === cidr));
    });
  }

  routeAdd(netns: NetnsRef, dst: string, via?: string, dev?: string): void {
    this.#mutate(withOptional({ kind: 'route-add', netns, dst }, via, dev), netns, () => {
      const ns = this.#netns(netns);
      const oif = dev === undefined ? undefined : this.#link(ns, dev).index;
      const route = routeOf(dst, via, oif);
      if (ns.routes.some((r) => r.family === route.family && r.dst === route.dst)) throw Errno.EEXIST;
      ns.routes.push(route);
    });
  }

  routeDel(netns: NetnsRef, dst: string, via?: string, dev?: string): void {
    this.#mutate(withOptional({ kind: 'route-del', netns, dst }, via, dev), netns, () => {
      const ns = this.#namespaces.get(netns);
      if (ns === undefined) return;
      const oif = dev === undefined ? undefined : ns.links.get(dev)?.index;
      if (dev !== undefined && oif === undefined) return;
      const target = routeOf(dst, via, oif);
      ns.routes = ns.routes.filter(
        (r) =>
          !(
            r.family === target.family &&
            r.dst === target.dst &&
            (via === undefined || r.gateway === target.gateway) &&
            (oif === undefined || r.oif === oif)
          ),
      );
    });
  }

  neighAdd(netns: NetnsRef, dev: string, ip: string, mac: string): void {
    this.#mutate({ kind: 'neigh-add', netns, dev, ip, mac }, netns, () => {
      const ns = this.#netns(netns);
      this.#link(ns, dev);
      const key = `${dev} ${ip}`;
      if (ns.neighbours.has(key)) throw Errno.EEXIST;
      ns.neighbours.set(key, mac.toLowerCase());
    });
  }

  neighDel(netns: NetnsRef, dev: string, ip: string): void {
    this.#mutate({ kind: 'neigh-del', netns, dev, ip }, netns, () => {
      this.#namespaces.get(netns)?.neighbours.delete(`${dev} ${ip}`);
    });
  }

  fdbAdd(netns: NetnsRef, dev: string, mac: string, dst: string): void {
    this.#mutate({ kind: 'fdb-add', netns, dev, mac, dst }, netns, () => {
      const ns = this.#netns(netns);
      this.#link(ns, dev);
      const prefix = `${dev} ${mac.toLowerCase()} `;
      // The all-zero MAC is appended to (one entry per remote, idempotent); any other MAC has
      // one entry, whatever its remote, and is added exclusively.
      if (mac === '00:00:00:00:00:00') ns.fdb.add(`${prefix}${dst}`);
      else if ([...ns.fdb].some((key) => key.startsWith(prefix))) throw Errno.EEXIST;
      else ns.fdb.add(`${prefix}${dst}`);
    });
  }

  fdbDel(netns: NetnsRef, dev: string, mac: string, dst: string): void {
    this.#mutate({ kind: 'fdb-del', netns, dev, mac, dst }, netns, () => {
      const fdb = this.#namespaces.get(netns)?.fdb;
      if (fdb === undefined) return;
      if (dst !== '0.0.0.0' && dst !== '::') {
        fdb.delete(`${dev} ${mac.toLowerCase()} ${dst}`);
        return;
      }
      // The any-address is "no particular remote": the vxlan deletes the MAC's whole entry.
      const prefix = `${dev} ${mac.toLowerCase()} `;
      for (const key of [...fdb]) if (key.startsWith(prefix)) fdb.delete(key);
    });
  }

  sysctlSet(netns: NetnsRef, key: string, value: string): void {
    this.#mutate({ kind: 'sysctl-set', netns, key, value }, netns, () => {
      this.#netns(netns).sysctls.set(key, value);
    });
  }

  sysctlGet(netns: NetnsRef, key: string): string {
    const value = this.#read(netns, `sysctl-get ${key}`).sysctls.get(key);
    if (value === undefined) throw kernelErrorFromErrno({ op: `sysctl-get ${key}`, netns, errno: Errno.ENOENT });
    return value;
  }

  listLinks(netns: NetnsRef): LinkState[] {
    return [...this.#read(netns, 'link-list').links.values()]
      .sort((a, b) => a.index - b.index)
      .map((l) => ({
        index: l.index,
        name: l.name,
        kind: l.kind,
        mac: l.mac,
        mtu: l.mtu,
        up: l.up,
        master: l.master,
        alias: l.alias,
        group: l.group,
      }));
  }

  listAddrs(netns: NetnsRef): AddrState[] {
    return this.#read(netns, 'addr-list').addrs.map((a) => ({ ...a }));
  }

  listRoutes(netns: NetnsRef): RouteState[] {
    return this.#read(netns, 'route-list').routes.map((r) => ({ ...r }));
  }

  listNeighbours(netns: NetnsRef, dev: string): DeviceNeighbours {
    const op = `neigh-list dev ${dev}`;
    const ns = this.#read(netns, op);
    if (!ns.links.has(dev)) throw kernelErrorFromErrno({ op, netns, errno: Errno.ENODEV });
    // Everything the model holds is permanent: it only has what fdbAdd / neighAdd put there.
    const fdb = [...ns.fdb].flatMap((key) => {
      const [name, mac, dst] = key.split(' ');
      return name === dev && mac !== undefined && dst !== undefined ? [{ mac, dst }] : [];
    });
    const neigh = [...ns.neighbours].flatMap(([key, mac]) => {
      const [name, ip] = key.split(' ');
      return name === dev && ip !== undefined ? [{ ip, mac }] : [];
    });
    return { fdb, neigh };
  }

  async nftApply(netns: NetnsRef, script: string): Promise<void> {
    if (this.nftError !== undefined) throw this.nftError;
    this.#read(netns, 'nft-apply');
    this.nftScripts.push({ netns, script });
  }

  async nftList(netns: NetnsRef): Promise<unknown> {
    this.#read(netns, 'nft-list');
    return this.nftListResult;
  }

  release(netns?: NetnsRef): void {
    this.released.push(netns);
  }

  // -------------------------------------------------------------------------------------------
  // Model

  /**
   * Apply one mutating op: injected failure first, then `change`, which throws an errno
   * number for the model's own errors; the op is recorded only when it succeeded.
   */
  #mutate(op: KernelOp, netns: NetnsRef, change: () => void): void {
    const description = describeOp(op);
    if (this.failAt === this.ops.length) {
      // One shot: the undo that follows runs (and records) at the same index.
      this.failAt = undefined;
      throw kernelErrorFromErrno({ op: description, netns, errno: this.failErrno, detail: 'injected failure' });
    }
    try {
      change();
    } catch (err) {
      if (typeof err !== 'number') throw err;
      throw kernelErrorFromErrno({ op: description, netns, errno: err });
    }
    this.ops.push(op);
  }

  #newNetns(): FakeNetns {
    const ns: FakeNetns = {
      nextIndex: 1,
      links: new Map(),
      addrs: [],
      routes: [],
      neighbours: new Map(),
      fdb: new Set(),
      sysctls: new Map(),
    };
    this.#insertLink(ns, { name: 'lo', kind: undefined, mtu: 65536, up: false, mac: '00:00:00:00:00:00' });
    return ns;
  }

  #insertLink(
    ns: FakeNetns,
    fields: Pick<FakeLink, 'name' | 'kind' | 'mtu' | 'up'> & Partial<Pick<FakeLink, 'mac' | 'master' | 'alias' | 'group'>>,
  ): FakeLink {
    const link: FakeLink = {
      index: ns.nextIndex++,
      name: fields.name,
      kind: fields.kind,
      mac: fields.mac?.toLowerCase() ?? this.#nextMac(),
      mtu: fields.mtu,
      up: fields.up,
      master: fields.master,
      alias: fields.alias,
      group: fields.group ?? 0,
      peer: undefined,
    };
    ns.links.set(link.name, link);
    return link;
  }

  /** Remove a link, what hangs on it, its slaves' master, and its veth peer. */
  #removeLink(netns: NetnsRef, link: FakeLink): void {
    const ns = this.#namespaces.get(netns);
    if (ns === undefined || ns.links.get(link.name) !== link) return;
    ns.links.delete(link.name);
    ns.addrs = ns.addrs.filter((a) => a.ifindex !== link.index);
    ns.routes = ns.routes.filter((r) => r.oif !== link.index);
    for (const other of ns.links.values()) if (other.master === link.index) other.master = undefined;
    for (const key of [...ns.neighbours.keys()]) if (key.startsWith(`${link.name} `)) ns.neighbours.delete(key);
    for (const key of [...ns.fdb]) if (key.startsWith(`${link.name} `)) ns.fdb.delete(key);
    if (link.peer !== undefined) {
      const peer = this.#namespaces.get(link.peer.netns)?.links.get(link.peer.name);
      if (peer !== undefined) {
        peer.peer = undefined;
        this.#removeLink(link.peer.netns, peer);
      }
    }
  }

  /** The namespace, or ENOENT (opening a missing netns file fails so). */
  #netns(netns: NetnsRef): FakeNetns {
    const ns = this.#namespaces.get(netns);
    if (ns === undefined) throw Errno.ENOENT;
    return ns;
  }

  /** The link, or ENODEV. */
  #link(ns: FakeNetns, name: string): FakeLink {
    const link = ns.links.get(name);
    if (link === undefined) throw Errno.ENODEV;
    return link;
  }

  /** The namespace for a read, or a KernelError(ENOENT). */
  #read(netns: NetnsRef, op: string): FakeNetns {
    const ns = this.#namespaces.get(netns);
    if (ns === undefined) throw kernelErrorFromErrno({ op, netns, errno: Errno.ENOENT, detail: 'no such netns' });
    return ns;
  }

  /** Deterministic locally administered MACs, so tests can compare whole listings. */
  #nextMac(): string {
    this.#macCounter++;
    return `02:00:00:00:${((this.#macCounter >> 8) & 0xff).toString(16).padStart(2, '0')}:${(this.#macCounter & 0xff).toString(16).padStart(2, '0')}`;
  }
}

/** A route op with `via`/`dev` only when given (so recorded ops compare equal to planned ones). */
function withOptional<T extends Extract<KernelOp, { kind: 'route-add' | 'route-del' }>>(
  op: T,
  via: string | undefined,
  dev: string | undefined,
): T {
  return { ...op, ...(via === undefined ? {} : { via }), ...(dev === undefined ? {} : { dev }) };
}

/** The model's view of a route: `default`/`default6` become `default` with a family. */
function routeOf(dst: string, via: string | undefined, oif: number | undefined): RouteState {
  let family: 4 | 6;
  if (dst === 'default6') family = 6;
  else if (dst === 'default') family = via?.includes(':') === true ? 6 : 4;
  else family = dst.includes(':') ? 6 : 4;
  return { family, dst: dst === 'default6' ? 'default' : dst, gateway: via, oif };
}
