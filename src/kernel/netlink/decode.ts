/**
 * rtnetlink reply decoders: wire bytes in, typed values out. Pure functions.
 *
 * `decodeMessages` returns views into the buffer it is given; callers that keep messages past
 * the next read copy the buffer first (the socket does).
 */
import { endianness } from 'node:os';

import type { AddrState, DeviceNeighbours, LinkState, RouteState } from '../types.js';
import * as C from './constants.js';
import { formatIp, formatMac } from './inet.js';

/** One netlink message: header fields and the payload after the 16-byte header. */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Family header and attributes (for NLMSG_ERROR: struct nlmsgerr and TLVs). */
  readonly payload: Buffer;
}

/** What an NLMSG_ERROR says: errno 0 is an ack. */
export interface NlErrorInfo {
  /** Positive errno, or 0 for an ack. */
  readonly errno: number;
  /** Extended-ack text (NLMSGERR_ATTR_MSG), e.g. `Unknown device type`. */
  readonly message?: string;
  /** Extended-ack byte offset of the offending attribute in our request. */
  readonly offset?: number;
}

/** A decoded route with the fields used to filter it. */
export interface RouteRecord extends RouteState {
  /** Routing table id (RTA_TABLE when present, else rtm_table). */
  readonly table: number;
  /** rtm_type (RTN_UNICAST = 1, RTN_LOCAL = 2, …). */
  readonly type: number;
  /** rtm_protocol (RTPROT_KERNEL = 2 for routes the kernel made, RTPROT_BOOT = 3, …). */
  readonly protocol: number;
}

const LITTLE_ENDIAN = endianness() === 'LE';
const u16 = (b: Buffer, at: number): number => (LITTLE_ENDIAN ? b.readUInt16LE(at) : b.readUInt16BE(at));
const u32 = (b: Buffer, at: number): number => (LITTLE_ENDIAN ? b.readUInt32LE(at) : b.readUInt32BE(at));
const s32 = (b: Buffer, at: number): number => (LITTLE_ENDIAN ? b.readInt32LE(at) : b.readInt32BE(at));
const align = (n: number): number => (n + C.NLMSG_ALIGNTO - 1) & ~(C.NLMSG_ALIGNTO - 1);

/** Thrown for bytes that are not valid netlink (a truncated read, a kernel/ABI mismatch). */
export class MalformedNetlinkError extends Error {
  constructor(message: string) {
    super(`malformed netlink data: ${message}`);
    this.name = 'MalformedNetlinkError';
  }
}

/** Split a read into messages. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let at = 0;
  while (at + C.NLMSG_HDRLEN <= buf.length) {
    const length = u32(buf, at);
    if (length < C.NLMSG_HDRLEN || at + length > buf.length) {
      throw new MalformedNetlinkError(`message of ${length} bytes at offset ${at} of ${buf.length}`);
    }
    out.push({
      type: u16(buf, at + 4),
      flags: u16(buf, at + 6),
      seq: u32(buf, at + 8),
      pid: u32(buf, at + 12),
      payload: buf.subarray(at + C.NLMSG_HDRLEN, at + length),
    });
    at += align(length);
  }
  return out;
}

/** Attributes from `offset` on, by type (flags masked off; the last of a repeated type wins). */
export function decodeAttrs(buf: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let at = offset;
  while (at + C.NLA_HDRLEN <= buf.length) {
    const length = u16(buf, at);
    if (length < C.NLA_HDRLEN || at + length > buf.length) {
      throw new MalformedNetlinkError(`attribute of ${length} bytes at offset ${at} of ${buf.length}`);
    }
    out.set(u16(buf, at + 2) & C.NLA_TYPE_MASK, buf.subarray(at + C.NLA_HDRLEN, at + length));
    at += align(length);
  }
  return out;
}

/** A NUL-terminated string attribute. */
function str(value: Buffer): string {
  const nul = value.indexOf(0);
  return value.toString('utf8', 0, nul < 0 ? value.length : nul);
}

/** An RTM_NEWLINK payload (struct ifinfomsg + IFLA_*). */
export function decodeLink(payload: Buffer): LinkState {
  if (payload.length < C.IFINFOMSG_LEN) throw new MalformedNetlinkError(`ifinfomsg of ${payload.length} bytes`);
  const attrs = decodeAttrs(payload, C.IFINFOMSG_LEN);
  const get32 = (type: number): number | undefined => {
    const v = attrs.get(type);
    return v !== undefined && v.length >= 4 ? u32(v, 0) : undefined;
  };
  const linkInfo = attrs.get(C.IFLA_LINKINFO);
  const kind = linkInfo === undefined ? undefined : decodeAttrs(linkInfo).get(C.IFLA_INFO_KIND);
  const name = attrs.get(C.IFLA_IFNAME);
  const mac = attrs.get(C.IFLA_ADDRESS);
  const alias = attrs.get(C.IFLA_IFALIAS);
  const master = get32(C.IFLA_MASTER);
  return {
    index: s32(payload, 4),
    name: name === undefined ? '' : str(name),
    kind: kind === undefined ? undefined : str(kind),
    mac: mac === undefined ? '' : formatMac(mac),
    mtu: get32(C.IFLA_MTU) ?? 0,
    up: (u32(payload, 8) & C.IFF_UP) !== 0,
    master: master === undefined || master === 0 ? undefined : master,
    alias: alias === undefined ? undefined : str(alias),
    group: get32(C.IFLA_GROUP) ?? 0,
  };
}

/** An RTM_NEWADDR payload; undefined for families other than IPv4/IPv6. */
export function decodeAddr(payload: Buffer): AddrState | undefined {
  if (payload.length < C.IFADDRMSG_LEN) throw new MalformedNetlinkError(`ifaddrmsg of ${payload.length} bytes`);
  const family = payload[0];
  if (family !== C.AF_INET && family !== C.AF_INET6) return undefined;
  const attrs = decodeAttrs(payload, C.IFADDRMSG_LEN);
  // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links. IPv6
  // sends IFA_LOCAL only when there is a peer.
  const bytes = attrs.get(C.IFA_LOCAL) ?? attrs.get(C.IFA_ADDRESS);
  if (bytes === undefined) return undefined;
  return {
    ifindex: u32(payload, 4),
    family: family === C.AF_INET ? 4 : 6,
    cidr: `${formatIp(bytes)}/${payload[1] ?? 0}`,
  };
}

/** An RTM_NEWROUTE payload; undefined for families other than IPv4/IPv6. */
export function decodeRoute(payload: Buffer): RouteRecord | undefined {
  if (payload.length < C.RTMSG_LEN) throw new MalformedNetlinkError(`rtmsg of ${payload.length} bytes`);
  const family = payload[0];
  if (family !== C.AF_INET && family !== C.AF_INET6) return undefined;
  const attrs = decodeAttrs(payload, C.RTMSG_LEN);
  const dstLength = payload[1] ?? 0;
  const dst = attrs.get(C.RTA_DST);
  const gateway = attrs.get(C.RTA_GATEWAY);
  const oif = attrs.get(C.RTA_OIF);
  const table = attrs.get(C.RTA_TABLE);
  return {
    family: family === C.AF_INET ? 4 : 6,
    dst: dstLength === 0 || dst === undefined ? 'default' : `${formatIp(dst)}/${dstLength}`,
    gateway: gateway === undefined ? undefined : formatIp(gateway),
    oif: oif === undefined ? undefined : u32(oif, 0),
    table: table === undefined ? (payload[4] ?? 0) : u32(table, 0),
    type: payload[7] ?? 0,
    protocol: payload[5] ?? 0,
  };
}

/** A decoded RTM_NEWNEIGH: an IP neighbour (AF_INET/AF_INET6) or a bridge FDB entry (AF_BRIDGE). */
export interface NeighRecord {
  /** ndm_family: AF_INET, AF_INET6 or AF_BRIDGE. */
  readonly family: number;
  readonly ifindex: number;
  /** ndm_state (NUD_PERMANENT, NUD_NOARP, NUD_REACHABLE, …). */
  readonly state: number;
  /** ndm_flags (NTF_SELF: the device's own FDB entry, not its bridge master's). */
  readonly flags: number;
  /** NDA_DST: the neighbour's IP, or an FDB entry's remote (a vxlan's VTEP). */
  readonly dst: string | undefined;
  /** NDA_LLADDR: the neighbour's MAC, or an FDB entry's MAC. */
  readonly mac: string | undefined;
}

/** An RTM_NEWNEIGH payload (struct ndmsg + NDA_*). */
export function decodeNeigh(payload: Buffer): NeighRecord {
  if (payload.length < C.NDMSG_LEN) throw new MalformedNetlinkError(`ndmsg of ${payload.length} bytes`);
  const attrs = decodeAttrs(payload, C.NDMSG_LEN);
  const dst = attrs.get(C.NDA_DST);
  const mac = attrs.get(C.NDA_LLADDR);
  return {
    family: payload[0] ?? 0,
    ifindex: s32(payload, 4),
    state: u16(payload, 8),
    flags: payload[10] ?? 0,
    // 4 or 16 bytes; anything else (a kernel/ABI surprise) is left out rather than misread.
    dst: dst !== undefined && (dst.length === 4 || dst.length === 16) ? formatIp(dst) : undefined,
    mac: mac === undefined ? undefined : formatMac(mac),
  };
}

/**
 * The permanent entries of ifindex `index` out of an FDB dump (AF_BRIDGE) and a neighbour dump
 * (AF_UNSPEC). Both dumps may hold other devices' entries (the FDB dump always does). FDB:
 * the device's own entries (NTF_SELF) with a remote (NDA_DST) — a bridge's entries for its
 * port carry NTF_MASTER and no dst, multicast ones of other devices no dst either.
 * Neighbours: IPv4 and IPv6, NUD_PERMANENT (not the kernel's NOARP multicast entries).
 */
export function decodeDeviceNeighbours(fdbDump: readonly NlMessage[], neighDump: readonly NlMessage[], index: number): DeviceNeighbours {
  const permanent = (e: NeighRecord): boolean => e.ifindex === index && (e.state & C.NUD_PERMANENT) !== 0;
  const fdb = fdbDump.flatMap((m) => {
    if (m.type !== C.RTM_NEWNEIGH) return [];
    const e = decodeNeigh(m.payload);
    if (e.family !== C.AF_BRIDGE || !permanent(e) || (e.flags & C.NTF_SELF) === 0) return [];
    return e.mac === undefined || e.dst === undefined ? [] : [{ mac: e.mac, dst: e.dst }];
  });
  const neigh = neighDump.flatMap((m) => {
    if (m.type !== C.RTM_NEWNEIGH) return [];
    const e = decodeNeigh(m.payload);
    if ((e.family !== C.AF_INET && e.family !== C.AF_INET6) || !permanent(e)) return [];
    return e.mac === undefined || e.dst === undefined ? [] : [{ ip: e.dst, mac: e.mac }];
  });
  return { fdb, neigh };
}

/** An NLMSG_ERROR message: the errno (0 = ack) and the extended-ack text if any. */
export function decodeError(message: NlMessage): NlErrorInfo {
  const payload = message.payload;
  if (payload.length < 4) throw new MalformedNetlinkError(`nlmsgerr of ${payload.length} bytes`);
  const errno = -s32(payload, 0) | 0; // | 0: no -0 for an ack
  if ((message.flags & C.NLM_F_ACK_TLVS) === 0) return { errno };
  // The TLVs follow struct nlmsgerr, which ends with our request's header and, unless the
  // socket asked for capped acks (NLM_F_CAPPED), the rest of our request.
  let tlvOffset = C.NLMSGERR_LEN;
  if ((message.flags & C.NLM_F_CAPPED) === 0 && payload.length >= C.NLMSGERR_LEN) {
    tlvOffset = 4 + align(u32(payload, 4));
  }
  const tlvs = decodeAttrs(payload, tlvOffset);
  const text = tlvs.get(C.NLMSGERR_ATTR_MSG);
  const offset = tlvs.get(C.NLMSGERR_ATTR_OFFS);
  return {
    errno,
    ...(text === undefined ? {} : { message: str(text) }),
    ...(offset === undefined ? {} : { offset: u32(offset, 0) }),
  };
}

/** The errno an NLMSG_DONE carries (0 when the dump completed). */
export function decodeDoneErrno(message: NlMessage): number {
  return message.payload.length >= 4 ? -s32(message.payload, 0) | 0 : 0;
}
