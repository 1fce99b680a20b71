/**
 * rtnetlink request encoders: typed requests in, wire bytes out. Pure functions; no fds.
 *
 * Inputs are *resolved*: names of other links are already ifindexes and namespaces are already
 * fds, because resolving needs a socket and encoding must not. Every message is built with
 * sequence number `seq` (default 0); the socket stamps the real one with `stampSeq` just
 * before it writes, so tests can compare bytes exactly.
 *
 * Layout (linux/netlink.h): a 16-byte `nlmsghdr` (len u32, type u16, flags u16, seq u32,
 * pid u32), the family header (ifinfomsg, ifaddrmsg, rtmsg, ndmsg), then attributes: len u16,
 * type u16, value, padded to 4 bytes. Integers are in host byte order, except where a
 * header says `__be` (the vxlan port).
 */
import { endianness } from 'node:os';

import { invalid } from '../../errors.js';
import * as C from './constants.js';
import { broadcastOf, parseCidr, parseIp, parseMac, type CidrBytes } from './inet.js';

// ---------------------------------------------------------------------------------------------
// Attributes

/** One attribute to encode: bytes, or a nest of attributes (optionally after a fixed header). */
export interface Attr {
  readonly type: number;
  /** Leaf value bytes. */
  readonly value?: Uint8Array;
  /** Fixed bytes at the start of a nest (VETH_INFO_PEER starts with a struct ifinfomsg). */
  readonly header?: Uint8Array;
  /** Nested attributes. */
  readonly nested?: readonly Attr[];
}

const LITTLE_ENDIAN = endianness() === 'LE';

function hostU16(value: number): Buffer {
  const b = Buffer.alloc(2);
  if (LITTLE_ENDIAN) b.writeUInt16LE(value);
  else b.writeUInt16BE(value);
  return b;
}

function hostU32(value: number): Buffer {
  const b = Buffer.alloc(4);
  if (LITTLE_ENDIAN) b.writeUInt32LE(value >>> 0);
  else b.writeUInt32BE(value >>> 0);
  return b;
}

/** Attribute constructors, by value type. */
export const attr = {
  u8: (type: number, value: number): Attr => ({ type, value: Uint8Array.of(value) }),
  u16: (type: number, value: number): Attr => ({ type, value: hostU16(value) }),
  u32: (type: number, value: number): Attr => ({ type, value: hostU32(value) }),
  /** Big-endian u16 (`__be16`, e.g. IFLA_VXLAN_PORT). */
  be16: (type: number, value: number): Attr => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    return { type, value: b };
  },
  /** NUL-terminated string (NLA_STRING / NLA_NUL_STRING both accept it). */
  str: (type: number, value: string): Attr => ({ type, value: Buffer.from(`${value}\0`, 'utf8') }),
  bytes: (type: number, value: Uint8Array): Attr => ({ type, value }),
  nest: (type: number, nested: readonly Attr[], header?: Uint8Array): Attr =>
    header === undefined ? { type, nested } : { type, nested, header },
} as const;

const align = (n: number): number => (n + C.NLMSG_ALIGNTO - 1) & ~(C.NLMSG_ALIGNTO - 1);

/** Attribute bytes, each padded to 4. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const body = Buffer.concat([a.header ?? Buffer.alloc(0), a.value ?? Buffer.alloc(0), encodeAttrs(a.nested ?? [])]);
    const length = C.NLA_HDRLEN + body.length;
    if (length > 0xffff) throw invalid(`netlink attribute ${a.type} is too long (${length} bytes)`);
    const head = Buffer.concat([hostU16(length), hostU16(a.type)]);
    parts.push(head, body, Buffer.alloc(align(length) - length));
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Header fields a caller may set. */
export interface HeaderOptions {
  /** Sequence number; the socket overwrites it (see `stampSeq`). */
  readonly seq?: number;
}

/** A whole message: nlmsghdr + family header + attributes. */
export function encodeMessage(
  type: number,
  flags: number,
  familyHeader: Uint8Array,
  attrs: readonly Attr[],
  options: HeaderOptions = {},
): Buffer {
  const body = Buffer.concat([familyHeader, encodeAttrs(attrs)]);
  const header = Buffer.concat([
    hostU32(C.NLMSG_HDRLEN + body.length),
    hostU16(type),
    hostU16(flags),
    hostU32(options.seq ?? 0),
    hostU32(0), // nlmsg_pid 0: the message is for the kernel
  ]);
  return Buffer.concat([header, body]);
}

/** Overwrite the sequence number of an encoded message in place. */
export function stampSeq(message: Buffer, seq: number): void {
  if (LITTLE_ENDIAN) message.writeUInt32LE(seq >>> 0, 8);
  else message.writeUInt32BE(seq >>> 0, 8);
}

/** struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32. */
export function ifinfomsg(fields: { index?: number; flags?: number; change?: number } = {}): Buffer {
  return Buffer.concat([
    Uint8Array.of(C.AF_UNSPEC, 0),
    hostU16(0),
    hostU32(fields.index ?? 0),
    hostU32(fields.flags ?? 0),
    hostU32(fields.change ?? 0),
  ]);
}

/** struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8, index u32. */
function ifaddrmsg(family: number, prefixLength: number, flags: number, scope: number, index: number): Buffer {
  return Buffer.concat([Uint8Array.of(family, prefixLength, flags, scope), hostU32(index)]);
}

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags u32. */
function rtmsg(f: { family: number; dstLength: number; table: number; protocol: number; scope: number; type: number }): Buffer {
  return Buffer.concat([
    Uint8Array.of(f.family, f.dstLength, 0, 0, f.table, f.protocol, f.scope, f.type),
    hostU32(0),
  ]);
}

/** struct ndmsg: family u8, pad u8, pad u16, ifindex s32, state u16, flags u8, type u8. */
function ndmsg(family: number, index: number, state: number, flags: number): Buffer {
  return Buffer.concat([Uint8Array.of(family, 0), hostU16(0), hostU32(index), hostU16(state), Uint8Array.of(flags, 0)]);
}

const familyOf = (version: 4 | 6): number => (version === 4 ? C.AF_INET : C.AF_INET6);

// ---------------------------------------------------------------------------------------------
// Links

/** Link-type data with other links as ifindexes and namespaces as fds. */
export type ResolvedLinkInfo =
  | { readonly kind: 'bridge' }
  | { readonly kind: 'dummy' }
  | {
      readonly kind: 'veth';
      readonly peerName: string;
      /** fd of the namespace the peer is created in; undefined = the link's own netns. */
      readonly peerNetnsFd?: number;
      readonly peerMac?: string;
      readonly peerMtu?: number;
    }
  | {
      readonly kind: 'vxlan';
      readonly vni: number;
      readonly port: number;
      readonly local?: string;
      /** ifindex of the underlay device. */
      readonly devIndex?: number;
      readonly learning: boolean;
      readonly proxy?: boolean;
    }
  | { readonly kind: 'macvlan'; readonly mode: keyof typeof C.MACVLAN_MODE; readonly parentIndex: number }
  | {
      readonly kind: 'ipvlan';
      readonly mode: keyof typeof C.IPVLAN_MODE;
      readonly flag?: keyof typeof C.IPVLAN_FLAG;
      readonly parentIndex: number;
    }
  | { readonly kind: 'vlan'; readonly id: number; readonly parentIndex: number };

/**
 * A link to create, resolved. No alias: the kernel ignores IFLA_IFALIAS when it creates a link
 * (only the change path sets it; `ip link add … alias x` loses it the same way, checked with
 * `ip -d link show`), so an alias is a second request, `encodeLinkChange`.
 */
export interface ResolvedLink {
  readonly name: string;
  readonly info: ResolvedLinkInfo;
  readonly mac?: string;
  readonly mtu?: number;
  readonly up?: boolean;
  /** ifindex of the bridge to enslave to. */
  readonly masterIndex?: number;
  readonly group?: number;
  /** fd of the namespace the link is registered in (IFLA_NET_NS_FD); undefined = the request's own. */
  readonly netnsFd?: number;
}

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: create a link (fails with EEXIST if the name is taken). */
export function encodeLinkCreate(link: ResolvedLink, options?: HeaderOptions): Buffer {
  const attrs: Attr[] = [attr.str(C.IFLA_IFNAME, link.name)];
  if (link.mac !== undefined) attrs.push(attr.bytes(C.IFLA_ADDRESS, parseMac(link.mac)));
  if (link.mtu !== undefined) attrs.push(attr.u32(C.IFLA_MTU, link.mtu));
  if (link.masterIndex !== undefined) attrs.push(attr.u32(C.IFLA_MASTER, link.masterIndex));
  if (link.group !== undefined) attrs.push(attr.u32(C.IFLA_GROUP, link.group));
  const parent = parentIndexOf(link.info);
  if (parent !== undefined) attrs.push(attr.u32(C.IFLA_LINK, parent));
  // IFLA_LINK is resolved in the request's netns, IFLA_NET_NS_FD says where the link goes:
  // a macvlan lands in the sandbox on a parent that stays in the host, in one message.
  if (link.netnsFd !== undefined) attrs.push(attr.u32(C.IFLA_NET_NS_FD, link.netnsFd));
  attrs.push(linkInfoAttr(link));
  const up = link.up === true ? C.IFF_UP : 0;
  return encodeMessage(
    C.RTM_NEWLINK,
    C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL,
    ifinfomsg({ flags: up, change: up }),
    attrs,
    options,
  );
}

function parentIndexOf(info: ResolvedLinkInfo): number | undefined {
  return info.kind === 'macvlan' || info.kind === 'ipvlan' || info.kind === 'vlan' ? info.parentIndex : undefined;
}

function linkInfoAttr(link: ResolvedLink): Attr {
  const info = link.info;
  const kind = attr.str(C.IFLA_INFO_KIND, info.kind);
  const data = (nested: Attr[]): Attr => attr.nest(C.IFLA_LINKINFO, [kind, attr.nest(C.IFLA_INFO_DATA, nested)]);
  switch (info.kind) {
    case 'bridge':
    case 'dummy':
      return attr.nest(C.IFLA_LINKINFO, [kind]);
    case 'veth': {
      const peer: Attr[] = [attr.str(C.IFLA_IFNAME, info.peerName)];
      if (info.peerMac !== undefined) peer.push(attr.bytes(C.IFLA_ADDRESS, parseMac(info.peerMac)));
      // The peer gets the link's MTU unless told otherwise: a veth pair with two MTUs drops
      // the larger frames silently.
      const peerMtu = info.peerMtu ?? link.mtu;
      if (peerMtu !== undefined) peer.push(attr.u32(C.IFLA_MTU, peerMtu));
      if (info.peerNetnsFd !== undefined) peer.push(attr.u32(C.IFLA_NET_NS_FD, info.peerNetnsFd));
      // The peer's own ifinfomsg leaves IFF_UP clear: asking for it here fails with ENOTCONN
      // (KERNEL-NOTES); the peer is brought up afterwards from a socket inside its netns.
      return data([attr.nest(C.VETH_INFO_PEER, peer, ifinfomsg())]);
    }
    case 'vxlan': {
      const nested: Attr[] = [attr.u32(C.IFLA_VXLAN_ID, info.vni)];
      if (info.local !== undefined) {
        const local = parseIp(info.local);
        nested.push(attr.bytes(local.family === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, local.bytes));
      }
      if (info.devIndex !== undefined) nested.push(attr.u32(C.IFLA_VXLAN_LINK, info.devIndex));
      nested.push(attr.u8(C.IFLA_VXLAN_LEARNING, info.learning ? 1 : 0));
      if (info.proxy !== undefined) nested.push(attr.u8(C.IFLA_VXLAN_PROXY, info.proxy ? 1 : 0));
      nested.push(attr.be16(C.IFLA_VXLAN_PORT, info.port));
      return data(nested);
    }
    case 'macvlan':
      return data([attr.u32(C.IFLA_MACVLAN_MODE, C.MACVLAN_MODE[info.mode])]);
    case 'ipvlan': {
      const nested = [attr.u16(C.IFLA_IPVLAN_MODE, C.IPVLAN_MODE[info.mode])];
      if (info.flag !== undefined) nested.push(attr.u16(C.IFLA_IPVLAN_FLAGS, C.IPVLAN_FLAG[info.flag]));
      return data(nested);
    }
    case 'vlan':
      return data([attr.u16(C.IFLA_VLAN_ID, info.id)]);
  }
}

/**
 * Name used by `encodeLinkProbe`. It can never be registered: `dev_valid_name` refuses '/'
 * in every kernel, at the latest when the device would be registered.
 */
export const PROBE_LINK_NAME = 'berth/probe';

/**
 * RTM_NEWLINK that asks whether the kernel knows link type `kind` without creating anything.
 * The kernel looks the type up (loading the `rtnl-link-<kind>` module if it can) before it
 * looks at anything else of the new link; an unknown type fails with EOPNOTSUPP and the
 * extended ack "Unknown device type". A known type goes on and fails later: macvlan, ipvlan
 * and vlan with EINVAL for the missing IFLA_LINK / IFLA_INFO_DATA, the others at the latest
 * with EINVAL for the name when the device would be registered. So any answer but EOPNOTSUPP
 * means "supported". Not for veth: veth registers its peer before itself, so the probe would
 * make (and at once unmake) a `vethN`.
 */
export function encodeLinkProbe(kind: Exclude<ResolvedLinkInfo['kind'], 'veth'>, options?: HeaderOptions): Buffer {
  return encodeMessage(
    C.RTM_NEWLINK,
    C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL,
    ifinfomsg(),
    [attr.str(C.IFLA_IFNAME, PROBE_LINK_NAME), attr.nest(C.IFLA_LINKINFO, [attr.str(C.IFLA_INFO_KIND, kind)])],
    options,
  );
}

/** Changes to an existing link. */
export interface LinkChange {
  /** ifindex of the link; when absent, the link is found by `name`. */
  readonly index?: number;
  /** Current name (used to find the link when `index` is absent). */
  readonly name: string;
  /** New name: needs `index`, since IFLA_IFNAME then carries the new name. */
  readonly newName?: string;
  readonly up?: boolean;
  readonly mtu?: number;
  readonly mac?: string;
  /** ifindex of the new master; 0 releases the link from its master. */
  readonly masterIndex?: number;
  /** IFLA_IFALIAS; the empty string removes the alias. */
  readonly alias?: string;
}

/** RTM_NEWLINK without NLM_F_CREATE: change a link (ENODEV if it does not exist). */
export function encodeLinkChange(change: LinkChange, options?: HeaderOptions): Buffer {
  if (change.newName !== undefined && change.index === undefined) {
    throw invalid(`renaming link ${change.name} needs its ifindex`);
  }
  const attrs: Attr[] = [attr.str(C.IFLA_IFNAME, change.newName ?? change.name)];
  if (change.mtu !== undefined) attrs.push(attr.u32(C.IFLA_MTU, change.mtu));
  if (change.mac !== undefined) attrs.push(attr.bytes(C.IFLA_ADDRESS, parseMac(change.mac)));
  if (change.masterIndex !== undefined) attrs.push(attr.u32(C.IFLA_MASTER, change.masterIndex));
  if (change.alias !== undefined) attrs.push(attr.str(C.IFLA_IFALIAS, change.alias));
  const header =
    change.up === undefined
      ? ifinfomsg({ index: change.index ?? 0 })
      : ifinfomsg({ index: change.index ?? 0, flags: change.up ? C.IFF_UP : 0, change: C.IFF_UP });
  return encodeMessage(C.RTM_NEWLINK, C.NLM_F_REQUEST | C.NLM_F_ACK, header, attrs, options);
}

/**
 * Hairpin mode on a bridge port, as `bridge link set dev X hairpin on`: an AF_BRIDGE
 * RTM_SETLINK with IFLA_PROTINFO { IFLA_BRPORT_MODE = 1 }. The nest must carry NLA_F_NESTED:
 * without it the kernel reads IFLA_PROTINFO as the old u8 port state (br_setlink).
 */
export function encodeBridgePortHairpin(index: number, on: boolean, options?: HeaderOptions): Buffer {
  const header = Buffer.concat([Uint8Array.of(C.AF_BRIDGE, 0), hostU16(0), hostU32(index), hostU32(0), hostU32(0)]);
  const protinfo = attr.nest(C.IFLA_PROTINFO | C.NLA_F_NESTED, [attr.u8(C.IFLA_BRPORT_MODE, on ? 1 : 0)]);
  return encodeMessage(C.RTM_SETLINK, C.NLM_F_REQUEST | C.NLM_F_ACK, header, [protinfo], options);
}

/** RTM_DELLINK by name (ENODEV if absent). */
export function encodeLinkDelete(name: string, options?: HeaderOptions): Buffer {
  return encodeMessage(C.RTM_DELLINK, C.NLM_F_REQUEST | C.NLM_F_ACK, ifinfomsg(), [attr.str(C.IFLA_IFNAME, name)], options);
}

/** RTM_GETLINK for one link by name; the answer is one RTM_NEWLINK (ENODEV if absent). */
export function encodeLinkGet(name: string, options?: HeaderOptions): Buffer {
  return encodeMessage(
    C.RTM_GETLINK,
    C.NLM_F_REQUEST | C.NLM_F_ACK,
    ifinfomsg(),
    [attr.str(C.IFLA_IFNAME, name), attr.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS)],
    options,
  );
}

/** RTM_GETLINK dump of every link, without statistics. */
export function encodeLinkDump(options?: HeaderOptions): Buffer {
  return encodeMessage(
    C.RTM_GETLINK,
    C.NLM_F_REQUEST | C.NLM_F_DUMP,
    ifinfomsg(),
    [attr.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS)],
    options,
  );
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** RTM_NEWADDR / RTM_DELADDR for `cidr` (e.g. `10.1.0.1/24`) on the link with ifindex `index`. */
export function encodeAddr(command: 'add' | 'del', index: number, cidr: string, options?: HeaderOptions): Buffer {
  const parsed = parseCidr(cidr);
  const family = familyOf(parsed.family);
  // IFA_LOCAL is the address itself and IFA_ADDRESS the peer, equal when there is no peer;
  // iproute2 sends both for both families, and IPv4 needs IFA_LOCAL.
  const attrs: Attr[] = [attr.bytes(C.IFA_LOCAL, parsed.bytes), attr.bytes(C.IFA_ADDRESS, parsed.bytes)];
  if (command === 'add' && parsed.family === 4 && parsed.prefixLength < 31) {
    // As Docker (vishvananda/netlink) does: without IFA_BROADCAST a v4 address has no
    // broadcast address, and subnet broadcasts go nowhere.
    attrs.push(attr.bytes(C.IFA_BROADCAST, broadcastOf(parsed)));
  }
  // IFA_F_NODAD for IPv6: IPAM already guarantees uniqueness, and duplicate address detection
  // keeps a new address "tentative" (unusable as a source) for about a second.
  const flags = parsed.family === 6 ? C.IFA_F_NODAD : 0;
  const header = ifaddrmsg(family, parsed.prefixLength, flags, addressScope(parsed), index);
  const type = command === 'add' ? C.RTM_NEWADDR : C.RTM_DELADDR;
  const flagsNl = command === 'add' ? C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL : C.NLM_F_REQUEST | C.NLM_F_ACK;
  return encodeMessage(type, flagsNl, header, attrs, options);
}

/** Loopback addresses get host scope, as `ip addr add` gives them. */
function addressScope(cidr: CidrBytes): number {
  return cidr.family === 4 && cidr.bytes[0] === 127 ? C.RT_SCOPE_HOST : C.RT_SCOPE_UNIVERSE;
}

/** RTM_GETADDR dump of every address of both families. */
export function encodeAddrDump(options?: HeaderOptions): Buffer {
  return encodeMessage(C.RTM_GETADDR, C.NLM_F_REQUEST | C.NLM_F_DUMP, ifaddrmsg(C.AF_UNSPEC, 0, 0, 0, 0), [], options);
}

// ---------------------------------------------------------------------------------------------
// Routes

/** A main-table unicast route. */
export interface RouteSpec {
  /** `default` (IPv4, or the family of `via`), `default6`, or a CIDR. */
  readonly dst: string;
  readonly via?: string;
  /** ifindex of the output device. */
  readonly oifIndex?: number;
}

/** RTM_NEWROUTE / RTM_DELROUTE in the main table, with the fields `ip route add/del` sends. */
export function encodeRoute(command: 'add' | 'del', route: RouteSpec, options?: HeaderOptions): Buffer {
  const via = route.via === undefined ? undefined : parseIp(route.via);
  let version: 4 | 6;
  let dst: CidrBytes | undefined;
  if (route.dst === 'default') version = via?.family ?? 4;
  else if (route.dst === 'default6') version = 6;
  else {
    dst = parseCidr(route.dst);
    version = dst.family;
  }
  if (via !== undefined && via.family !== version) {
    throw invalid(`route ${route.dst} via ${route.via}: gateway family does not match`);
  }
  const add = command === 'add';
  let scope: number;
  if (version === 6) scope = C.RT_SCOPE_UNIVERSE;
  else if (!add) scope = C.RT_SCOPE_NOWHERE;
  else scope = via === undefined ? C.RT_SCOPE_LINK : C.RT_SCOPE_UNIVERSE;
  const header = rtmsg({
    family: familyOf(version),
    dstLength: dst?.prefixLength ?? 0,
    table: C.RT_TABLE_MAIN,
    protocol: add ? C.RTPROT_BOOT : C.RTPROT_UNSPEC,
    scope,
    type: add ? C.RTN_UNICAST : C.RTN_UNSPEC,
  });
  const attrs: Attr[] = [];
  if (dst !== undefined && dst.prefixLength > 0) attrs.push(attr.bytes(C.RTA_DST, dst.bytes));
  if (via !== undefined) attrs.push(attr.bytes(C.RTA_GATEWAY, via.bytes));
  if (route.oifIndex !== undefined) attrs.push(attr.u32(C.RTA_OIF, route.oifIndex));
  const type = add ? C.RTM_NEWROUTE : C.RTM_DELROUTE;
  const flags = add ? C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL : C.NLM_F_REQUEST | C.NLM_F_ACK;
  return encodeMessage(type, flags, header, attrs, options);
}

/** RTM_GETROUTE dump of all families and tables (callers keep the main table). */
export function encodeRouteDump(options?: HeaderOptions): Buffer {
  const header = rtmsg({ family: C.AF_UNSPEC, dstLength: 0, table: 0, protocol: 0, scope: 0, type: 0 });
  return encodeMessage(C.RTM_GETROUTE, C.NLM_F_REQUEST | C.NLM_F_DUMP, header, [], options);
}

// ---------------------------------------------------------------------------------------------
// Neighbours and bridge FDB

/** RTM_NEWNEIGH (permanent) / RTM_DELNEIGH for an IP neighbour on ifindex `index`. */
export function encodeNeigh(
  command: 'add' | 'del',
  neigh: { readonly index: number; readonly ip: string; readonly mac?: string },
  options?: HeaderOptions,
): Buffer {
  const ip = parseIp(neigh.ip);
  const attrs: Attr[] = [attr.bytes(C.NDA_DST, ip.bytes)];
  if (command === 'add') {
    if (neigh.mac === undefined) throw invalid(`neighbour ${neigh.ip} needs a MAC address`);
    attrs.push(attr.bytes(C.NDA_LLADDR, parseMac(neigh.mac)));
  }
  const header = ndmsg(familyOf(ip.family), neigh.index, command === 'add' ? C.NUD_PERMANENT : 0, 0);
  return command === 'add'
    ? encodeMessage(C.RTM_NEWNEIGH, C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL, header, attrs, options)
    : encodeMessage(C.RTM_DELNEIGH, C.NLM_F_REQUEST | C.NLM_F_ACK, header, attrs, options);
}

/** The all-zero MAC: a vxlan's default destinations (flooding), one entry per remote. */
const ZERO_MAC = '00:00:00:00:00:00';

/**
 * RTM_NEWNEIGH / RTM_DELNEIGH in the bridge FDB of a device itself (AF_BRIDGE, NTF_SELF), as
 * `bridge fdb append|del MAC dev DEV dst IP` does for a vxlan: `mac` is reached through the
 * remote VTEP `dst`.
 */
export function encodeFdb(
  command: 'add' | 'del',
  entry: { readonly index: number; readonly mac: string; readonly dst: string },
  options?: HeaderOptions,
): Buffer {
  const dst = parseIp(entry.dst);
  const attrs: Attr[] = [attr.bytes(C.NDA_LLADDR, parseMac(entry.mac)), attr.bytes(C.NDA_DST, dst.bytes)];
  const header = ndmsg(C.AF_BRIDGE, entry.index, C.NUD_NOARP | C.NUD_PERMANENT, C.NTF_SELF);
  if (command === 'del') return encodeMessage(C.RTM_DELNEIGH, C.NLM_F_REQUEST | C.NLM_F_ACK, header, attrs, options);
  // The all-zero MAC holds a list of remotes, so it is appended to (idempotent per remote);
  // a unicast MAC is created exclusively, like any other add.
  const mode = entry.mac.toLowerCase() === ZERO_MAC ? C.NLM_F_APPEND : C.NLM_F_EXCL;
  return encodeMessage(C.RTM_NEWNEIGH, C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | mode, header, attrs, options);
}

/**
 * RTM_GETNEIGH dump of the IP neighbours (ARP and ND tables, AF_UNSPEC) of ifindex `index`.
 * NDA_IFINDEX makes the kernel send that device's entries only (neigh_dump_info reads it with
 * or without strict checking); a kernel that ignored it would send all, so callers filter again.
 */
export function encodeNeighDump(index: number, options?: HeaderOptions): Buffer {
  return encodeMessage(C.RTM_GETNEIGH, C.NLM_F_REQUEST | C.NLM_F_DUMP, ndmsg(C.AF_UNSPEC, 0, 0, 0), [attr.u32(C.NDA_IFINDEX, index)], options);
}

/**
 * RTM_GETNEIGH dump of the bridge FDB (AF_BRIDGE): every device's entries, the vxlans' own
 * (NTF_SELF, with NDA_DST) among them. A bare ndmsg, no filter: without strict checking the
 * kernel reads any longer request as the old ifinfomsg header (rtnl_fdb_dump,
 * valid_fdb_dump_legacy), so callers filter by ifindex themselves.
 */
export function encodeFdbDump(options?: HeaderOptions): Buffer {
  return encodeMessage(C.RTM_GETNEIGH, C.NLM_F_REQUEST | C.NLM_F_DUMP, ndmsg(C.AF_BRIDGE, 0, 0, 0), [], options);
}
