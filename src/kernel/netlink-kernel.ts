/**
 * The real `Kernel`: rtnetlink over sockets the native addon opens inside each netns, the addon
 * for netns files and /proc/sys, and the `nft` binary for rulesets.
 *
 * Ownership: one netlink socket per netns, opened on first use and cached. A socket pins its
 * netns (the kernel keeps a namespace alive while a socket in it exists), so `netnsDel`
 * closes the netns' socket before unmounting, and `release()` closes the rest.
 *
 * Names of other links (master, parent, dev) are turned into ifindexes by asking the netns the
 * operation runs in, right before the request: ifindexes are not cached, because names move
 * (renames, deletes) and a stale index would silently hit another link.
 */
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { resolve } from 'node:path';

import { invalid, KernelError } from '../errors.js';
import { Errno, inNetns, kernelErrorFromErrno } from './errno.js';
import { isNativeError, loadNative, type BerthNative } from './native.js';
import * as C from './netlink/constants.js';
import { decodeAddr, decodeDeviceNeighbours, decodeLink, decodeRoute, type NlMessage } from './netlink/decode.js';
import {
  encodeAddr,
  encodeBridgePortHairpin,
  encodeAddrDump,
  encodeFdb,
  encodeFdbDump,
  encodeLinkChange,
  encodeLinkCreate,
  encodeLinkDelete,
  encodeLinkDump,
  encodeLinkGet,
  encodeLinkProbe,
  encodeNeigh,
  encodeNeighDump,
  encodeRoute,
  encodeRouteDump,
  PROBE_LINK_NAME,
  type ResolvedLinkInfo,
} from './netlink/encode.js';
import { NetlinkSocket, type DumpResult } from './netlink/socket.js';
import type { AddrState, DeviceNeighbours, Kernel, KernelOp, LinkInfo, LinkSpec, LinkState, NetnsRef, RouteState } from './types.js';

/** Options for `NetlinkKernel`; every field has a default. */
export interface NetlinkKernelOptions {
  /** The addon (default: `loadNative()` on first use). */
  readonly native?: BerthNative;
  /** The `nft` binary (default `nft`, found on PATH). */
  readonly nftPath?: string;
  /** The `nsenter` binary used to run `nft` inside a netns (default `nsenter`). */
  readonly nsenterPath?: string;
  /** Kill an `nft` run after this long (default 30 s). */
  readonly execTimeoutMs?: number;
}

/** How often an inconsistent dump (NLM_F_DUMP_INTR) is retried before giving up. */
const DUMP_ATTEMPTS = 5;

/** The calling thread's own netns, for a veth peer that goes to the daemon's netns. */
const OWN_NETNS_FILE = '/proc/thread-self/ns/net';

/** `Kernel` over rtnetlink, the native addon and `nft`. */
export class NetlinkKernel implements Kernel {
  readonly #sockets = new Map<NetnsRef, NetlinkSocket>();
  /** Sockets for `requestAsync` only (see NetlinkSocket.requestAsync), per netns. */
  readonly #asyncSockets = new Map<NetnsRef, NetlinkSocket>();
  readonly #options: NetlinkKernelOptions;
  #nativeAddon: BerthNative | undefined;

  constructor(options: NetlinkKernelOptions = {}) {
    this.#options = options;
    this.#nativeAddon = options.native;
  }

  // -------------------------------------------------------------------------------------------
  // Namespaces

  netnsAdd(path: string): void {
    // A socket cached for an earlier netns at this path would talk to that old namespace.
    this.release(path);
    this.#callNative('netns-add', path, (n) => n.netnsCreate(path));
  }

  netnsDel(path: string): void {
    this.release(path);
    this.#callNative('netns-del', path, (n) => n.netnsDelete(path));
  }

  netnsDirSetup(dir: string): void {
    this.#callNative(`netns-dir-setup ${dir}`, null, (n) => n.netnsDirSetup(dir));
  }

  // -------------------------------------------------------------------------------------------
  // Links

  /**
   * Create a link. A veth is created with its peer directly in `info.peerNetns`, and a link
   * with `targetNetns` directly in that netns (its parent resolved where the request runs), in
   * the same message. Two things cannot be done in that message and follow as separate
   * requests: the alias (the kernel ignores IFLA_IFALIAS on create; sent from a socket in the
   * netns the link ended up in) and, with `peerUp`, bringing the peer up (ENOTCONN; done from
   * a socket inside the peer's netns). If a follow-up fails, the new link is deleted again
   * before the error is thrown, so the call is all or nothing.
   */
  linkAdd(netns: NetnsRef, link: LinkSpec): void {
    const op = `link-add ${link.name}`;
    const socket = this.#socket(netns, op);
    const lands = link.targetNetns === undefined ? keyOf(netns) : keyOf(link.targetNetns);
    const moves = lands !== keyOf(netns);
    if (moves && link.master !== undefined) {
      throw invalid(`${op}: cannot enslave to ${link.master} and create in another netns at once`);
    }
    const masterIndex = link.master === undefined ? undefined : this.#ifindex(socket, link.master, op);
    const opened: number[] = [];
    try {
      const info = this.#resolveInfo(socket, netns, link.info, op, opened);
      let netnsFd: number | undefined;
      if (moves) {
        netnsFd = this.#callNative(op, lands, (n) => n.netnsOpen(lands ?? OWN_NETNS_FILE));
        opened.push(netnsFd);
      }
      socket.request(
        encodeLinkCreate({
          name: link.name,
          info,
          ...(link.mac === undefined ? {} : { mac: link.mac }),
          ...(link.mtu === undefined ? {} : { mtu: link.mtu }),
          ...(link.up === undefined ? {} : { up: link.up }),
          ...(masterIndex === undefined ? {} : { masterIndex }),
          ...(link.group === undefined ? {} : { group: link.group }),
          ...(netnsFd === undefined ? {} : { netnsFd }),
        }),
        op,
      );
    } finally {
      for (const fd of opened) closeSync(fd);
    }
    try {
      if (link.alias !== undefined) {
        this.#socket(lands, op).request(encodeLinkChange({ name: link.name, alias: link.alias }), `${op}: set alias`);
      }
      if (link.hairpin === true && masterIndex !== undefined) {
        const index = this.#ifindex(socket, link.name, op);
        socket.request(encodeBridgePortHairpin(index, true), `${op}: hairpin on`);
      }
      if (link.info.kind === 'veth' && link.info.peerUp === true) {
        const peerName = link.info.peerName;
        this.#socket(link.info.peerNetns, op).request(encodeLinkChange({ name: peerName, up: true }), `${op}: up peer ${peerName}`);
      }
    } catch (err) {
      this.#bestEffort(() => this.linkDel(lands, link.name));
      throw err;
    }
  }

  /**
   * Delete a link by name; absent (or its netns gone) is success. Deleting a veth waits for an
   * RCU grace period (~27 ms, KERNEL-NOTES) and blocks the calling thread that long: to drop a
   * container's veth, delete the container's netns instead. With `onlyIfAlias`, a link whose
   * alias differs is left in place (also success): it is not the one berth made.
   */
  linkDel(netns: NetnsRef, name: string, onlyIfAlias?: string): void {
    const op = `link-del ${name}`;
    this.#tolerate([Errno.ENODEV, Errno.ENOENT], () => {
      if (!this.#isOurs(netns, name, onlyIfAlias, op)) return;
      this.#socket(netns, op).request(encodeLinkDelete(name), op);
    });
  }

  async linkDelAsync(netns: NetnsRef, name: string, onlyIfAlias?: string): Promise<void> {
    const op = `link-del ${name}`;
    try {
      if (!this.#isOurs(netns, name, onlyIfAlias, op)) return;
      await this.#socketIn(this.#asyncSockets, netns, op).requestAsync(encodeLinkDelete(name), op);
    } catch (err) {
      if (isErrno(err, [Errno.ENODEV, Errno.ENOENT])) return;
      throw err;
    }
  }

  /** For a delete with `onlyIfAlias`: the link exists and carries exactly that alias. */
  #isOurs(netns: NetnsRef, name: string, onlyIfAlias: string | undefined, op: string): boolean {
    if (onlyIfAlias === undefined) return true;
    const [reply] = this.#socket(netns, op).request(encodeLinkGet(name), `${op}: find link`);
    return reply !== undefined && reply.type === C.RTM_NEWLINK && decodeLink(reply.payload).alias === onlyIfAlias;
  }

  /**
   * Asks the kernel with a request that names the type and nothing else (`encodeLinkProbe`):
   * EOPNOTSUPP ("Unknown device type") means the type is missing, any other answer that it is
   * there. Nothing is created either way.
   */
  linkKindSupported(netns: NetnsRef, kind: Exclude<LinkInfo['kind'], 'veth'>): boolean {
    const op = `link-probe ${kind}`;
    const socket = this.#socket(netns, op);
    try {
      socket.request(encodeLinkProbe(kind), op);
    } catch (err) {
      if (err instanceof KernelError && err.errno === Errno.EOPNOTSUPP) return false;
      if (err instanceof KernelError && err.errno !== undefined) return true;
      throw err;
    }
    // Unreachable on any kernel (the probe name is invalid); if it ever succeeds, undo it.
    this.#bestEffort(() => this.linkDel(netns, PROBE_LINK_NAME));
    return true;
  }

  linkSet(change: Extract<KernelOp, { kind: 'link-set' }>): void {
    const op = `link-set ${change.name}`;
    const socket = this.#socket(change.netns, op);
    const index = change.newName === undefined ? undefined : this.#ifindex(socket, change.name, op);
    let masterIndex: number | undefined;
    if (change.master === null) masterIndex = 0;
    else if (change.master !== undefined) masterIndex = this.#ifindex(socket, change.master, op);
    socket.request(
      encodeLinkChange({
        name: change.name,
        ...(index === undefined ? {} : { index }),
        ...(change.newName === undefined ? {} : { newName: change.newName }),
        ...(change.up === undefined ? {} : { up: change.up }),
        ...(change.mtu === undefined ? {} : { mtu: change.mtu }),
        ...(change.mac === undefined ? {} : { mac: change.mac }),
        ...(masterIndex === undefined ? {} : { masterIndex }),
      }),
      op,
    );
  }

  listLinks(netns: NetnsRef): LinkState[] {
    return this.#dump(netns, 'link-list', encodeLinkDump).map((m) => decodeLink(m.payload));
  }

  // -------------------------------------------------------------------------------------------
  // Addresses and routes

  addrAdd(netns: NetnsRef, dev: string, cidr: string): void {
    const op = `addr-add ${cidr} dev ${dev}`;
    const socket = this.#socket(netns, op);
    socket.request(encodeAddr('add', this.#ifindex(socket, dev, op), cidr), op);
  }

  addrDel(netns: NetnsRef, dev: string, cidr: string): void {
    const op = `addr-del ${cidr} dev ${dev}`;
    this.#tolerate([Errno.EADDRNOTAVAIL, Errno.ENODEV, Errno.ENOENT], () => {
      const socket = this.#socket(netns, op);
      socket.request(encodeAddr('del', this.#ifindex(socket, dev, op), cidr), op);
    });
  }

  listAddrs(netns: NetnsRef): AddrState[] {
    return this.#dump(netns, 'addr-list', encodeAddrDump).flatMap((m) => decodeAddr(m.payload) ?? []);
  }

  routeAdd(netns: NetnsRef, dst: string, via?: string, dev?: string): void {
    const op = `route-add ${describeRoute(dst, via, dev)}`;
    const socket = this.#socket(netns, op);
    const oifIndex = dev === undefined ? undefined : this.#ifindex(socket, dev, op);
    socket.request(encodeRoute('add', { dst, ...(via === undefined ? {} : { via }), ...(oifIndex === undefined ? {} : { oifIndex }) }), op);
  }

  routeDel(netns: NetnsRef, dst: string, via?: string, dev?: string): void {
    const op = `route-del ${describeRoute(dst, via, dev)}`;
    this.#tolerate([Errno.ESRCH, Errno.ENODEV, Errno.ENOENT], () => {
      const socket = this.#socket(netns, op);
      const oifIndex = dev === undefined ? undefined : this.#ifindex(socket, dev, op);
      socket.request(encodeRoute('del', { dst, ...(via === undefined ? {} : { via }), ...(oifIndex === undefined ? {} : { oifIndex }) }), op);
    });
  }

  /** Routes of the main table (unicast only), both families. */
  listRoutes(netns: NetnsRef): RouteState[] {
    return this.#dump(netns, 'route-list', encodeRouteDump).flatMap((m) => {
      const route = decodeRoute(m.payload);
      if (route === undefined || route.table !== C.RT_TABLE_MAIN || route.type !== C.RTN_UNICAST) return [];
      return [{ family: route.family, dst: route.dst, gateway: route.gateway, oif: route.oif }];
    });
  }

  // -------------------------------------------------------------------------------------------
  // Neighbours and FDB

  neighAdd(netns: NetnsRef, dev: string, ip: string, mac: string): void {
    const op = `neigh-add ${ip} lladdr ${mac} dev ${dev}`;
    const socket = this.#socket(netns, op);
    socket.request(encodeNeigh('add', { index: this.#ifindex(socket, dev, op), ip, mac }), op);
  }

  neighDel(netns: NetnsRef, dev: string, ip: string): void {
    const op = `neigh-del ${ip} dev ${dev}`;
    this.#tolerate([Errno.ENOENT, Errno.ENODEV], () => {
      const socket = this.#socket(netns, op);
      socket.request(encodeNeigh('del', { index: this.#ifindex(socket, dev, op), ip }), op);
    });
  }

  fdbAdd(netns: NetnsRef, dev: string, mac: string, dst: string): void {
    const op = `fdb-add ${mac} dev ${dev} dst ${dst}`;
    const socket = this.#socket(netns, op);
    socket.request(encodeFdb('add', { index: this.#ifindex(socket, dev, op), mac, dst }), op);
  }

  fdbDel(netns: NetnsRef, dev: string, mac: string, dst: string): void {
    const op = `fdb-del ${mac} dev ${dev} dst ${dst}`;
    this.#tolerate([Errno.ENOENT, Errno.ENODEV], () => {
      const socket = this.#socket(netns, op);
      socket.request(encodeFdb('del', { index: this.#ifindex(socket, dev, op), mac, dst }), op);
    });
  }

  /**
   * Two dumps, the bridge FDB (the kernel sends every device's entries) and the IP neighbours
   * (asked for this device's only); `decodeDeviceNeighbours` keeps the device's permanent ones.
   */
  listNeighbours(netns: NetnsRef, dev: string): DeviceNeighbours {
    const op = `neigh-list dev ${dev}`;
    const index = this.#ifindex(this.#socket(netns, op), dev, op);
    const fdb = this.#dump(netns, `${op}: fdb`, encodeFdbDump);
    const neigh = this.#dump(netns, `${op}: neighbours`, () => encodeNeighDump(index));
    return decodeDeviceNeighbours(fdb, neigh, index);
  }

  // -------------------------------------------------------------------------------------------
  // sysctl

  sysctlSet(netns: NetnsRef, key: string, value: string): void {
    this.#callNative(`sysctl-set ${key}=${value}`, netns, (n) => n.sysctlWrite(netns, key, value));
  }

  sysctlGet(netns: NetnsRef, key: string): string {
    return this.#callNative(`sysctl-get ${key}`, netns, (n) => n.sysctlRead(netns, key)).trim();
  }

  // -------------------------------------------------------------------------------------------
  // nftables

  async nftApply(netns: NetnsRef, script: string): Promise<void> {
    await this.#runNft(netns, 'nft-apply', ['-f', '-'], script);
  }

  async nftList(netns: NetnsRef): Promise<unknown> {
    const out = await this.#runNft(netns, 'nft-list', ['-j', 'list', 'ruleset'], undefined);
    try {
      return JSON.parse(out) as unknown;
    } catch (err) {
      throw new KernelError(`nft-list${inNetns(netns)}: nft printed invalid JSON`, { op: 'nft-list', netns, cause: err });
    }
  }

  // -------------------------------------------------------------------------------------------

  release(netns?: NetnsRef): void {
    for (const sockets of [this.#sockets, this.#asyncSockets]) {
      if (netns === undefined) {
        for (const socket of sockets.values()) socket.close();
        sockets.clear();
        continue;
      }
      const key = keyOf(netns);
      sockets.get(key)?.close();
      sockets.delete(key);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #native(): BerthNative {
    this.#nativeAddon ??= loadNative();
    return this.#nativeAddon;
  }

  /** Run an addon call and turn its Error into a KernelError with op and netns. */
  #callNative<T>(op: string, netns: NetnsRef, call: (native: BerthNative) => T): T {
    const native = this.#native();
    try {
      return call(native);
    } catch (err) {
      if (!isNativeError(err)) throw err;
      throw kernelErrorFromErrno({ op, netns, errno: err.errno, detail: err.syscall, cause: err });
    }
  }

  /** The cached socket inside `netns`, opened on first use. */
  #socket(netns: NetnsRef, op: string): NetlinkSocket {
    return this.#socketIn(this.#sockets, netns, op);
  }

  /** The socket of `netns` in `sockets` (the synchronous or the async set), opened on first use. */
  #socketIn(sockets: Map<NetnsRef, NetlinkSocket>, netns: NetnsRef, op: string): NetlinkSocket {
    const key = keyOf(netns);
    let socket = sockets.get(key);
    if (socket === undefined) {
      const fd = this.#callNative(op, key, (n) => n.netlinkOpen(key, C.NETLINK_ROUTE));
      socket = new NetlinkSocket(fd, key);
      sockets.set(key, socket);
    }
    return socket;
  }

  /** ifindex of link `name` in the socket's netns (ENODEV if there is none). */
  #ifindex(socket: NetlinkSocket, name: string, op: string): number {
    const [reply] = socket.request(encodeLinkGet(name), `${op}: find link ${name}`);
    if (reply === undefined || reply.type !== C.RTM_NEWLINK) {
      throw kernelErrorFromErrno({ op: `${op}: find link ${name}`, netns: socket.netns, errno: Errno.ENODEV });
    }
    return decodeLink(reply.payload).index;
  }

  /** Link-type data with names turned into ifindexes and the peer netns into an fd. */
  #resolveInfo(socket: NetlinkSocket, netns: NetnsRef, info: LinkInfo, op: string, opened: number[]): ResolvedLinkInfo {
    switch (info.kind) {
      case 'bridge':
      case 'dummy':
        return { kind: info.kind };
      case 'veth': {
        const peer = keyOf(info.peerNetns);
        let peerNetnsFd: number | undefined;
        if (peer !== keyOf(netns)) {
          // IFLA_NET_NS_FD, not IFLA_TARGET_NETNSID: the latter moved the *local* device with
          // that ifindex into the other netns when probed (KERNEL-NOTES).
          const file = peer ?? OWN_NETNS_FILE;
          peerNetnsFd = this.#callNative(op, peer, (n) => n.netnsOpen(file));
          opened.push(peerNetnsFd);
        }
        return {
          kind: 'veth',
          peerName: info.peerName,
          ...(peerNetnsFd === undefined ? {} : { peerNetnsFd }),
          ...(info.peerMac === undefined ? {} : { peerMac: info.peerMac }),
          ...(info.peerMtu === undefined ? {} : { peerMtu: info.peerMtu }),
        };
      }
      case 'vxlan':
        return {
          kind: 'vxlan',
          vni: info.vni,
          port: info.port,
          learning: info.learning,
          ...(info.proxy === undefined ? {} : { proxy: info.proxy }),
          ...(info.local === undefined ? {} : { local: info.local }),
          ...(info.dev === undefined ? {} : { devIndex: this.#ifindex(socket, info.dev, op) }),
        };
      case 'macvlan':
        return { kind: 'macvlan', mode: info.mode, parentIndex: this.#ifindex(socket, info.parent, op) };
      case 'ipvlan':
        return {
          kind: 'ipvlan',
          mode: info.mode,
          ...(info.flag === undefined ? {} : { flag: info.flag }),
          parentIndex: this.#ifindex(socket, info.parent, op),
        };
      case 'vlan':
        return { kind: 'vlan', id: info.id, parentIndex: this.#ifindex(socket, info.parent, op) };
    }
  }

  /**
   * Every dump goes through here: the one place where a known transient result is retried.
   * NLM_F_DUMP_INTR means the table changed while the kernel was dumping it (links come and
   * go while containers start), so the result may miss or repeat entries: dump again
   * (as CNI's pkg/netlinksafe does for ErrDumpInterrupted).
   */
  #dump(netns: NetnsRef, op: string, encode: () => Buffer): NlMessage[] {
    const socket = this.#socket(netns, op);
    let result: DumpResult | undefined;
    for (let attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
      result = socket.dump(encode(), op);
      if (!result.interrupted) return [...result.messages];
    }
    throw kernelErrorFromErrno({ op, netns, errno: Errno.EINTR, detail: `dump still inconsistent after ${DUMP_ATTEMPTS} attempts` });
  }

  /** Run `fn`; a KernelError with one of `errnos` ("already gone") counts as success. */
  #tolerate(errnos: readonly number[], fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (isErrno(err, errnos)) return;
      throw err;
    }
  }

  /** Run a clean-up step whose failure must not hide the error being thrown. */
  #bestEffort(fn: () => void): void {
    try {
      fn();
    } catch {
      // The caller is already throwing the original error; this one would only mask it.
    }
  }

  /** Run nft (through nsenter for a netns path, never `ip netns exec`, which remounts /sys). */
  #runNft(netns: NetnsRef, op: string, args: readonly string[], input: string | undefined): Promise<string> {
    const nft = this.#options.nftPath ?? 'nft';
    const argv =
      netns === null ? [nft, ...args] : [this.#options.nsenterPath ?? 'nsenter', `--net=${netns}`, '--', nft, ...args];
    const [command = nft, ...rest] = argv;
    return new Promise((resolvePromise, reject) => {
      const child = spawn(command, rest, {
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: this.#options.execTimeoutMs ?? 30_000,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (err: NodeJS.ErrnoException) => {
        const errno = typeof err.errno === 'number' ? Math.abs(err.errno) : Errno.EIO;
        reject(kernelErrorFromErrno({ op, netns, errno, detail: `exec ${command}`, cause: err }));
      });
      child.on('close', (status, signal) => {
        const errText = Buffer.concat(stderr).toString('utf8');
        if (status === 0) {
          resolvePromise(Buffer.concat(stdout).toString('utf8'));
          return;
        }
        const how = signal === null ? `exited ${status}` : `killed by ${signal}`;
        const firstLine = errText.split('\n').find((line) => line.trim() !== '') ?? '';
        reject(
          new KernelError(`${op}${inNetns(netns)}: nft ${how}${firstLine === '' ? '' : `: ${firstLine.trim()}`}`, {
            op,
            netns,
            exec: { argv, status, stderr: errText },
          }),
        );
      });
      // An nft that dies early closes its stdin; the 'close' handler reports why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
  }
}

/** Cache key of a netns: paths are resolved so `a/../b` and `b` share a socket. */
function keyOf(netns: NetnsRef): NetnsRef {
  return netns === null ? null : resolve(netns);
}

function describeRoute(dst: string, via: string | undefined, dev: string | undefined): string {
  return [dst, via === undefined ? '' : `via ${via}`, dev === undefined ? '' : `dev ${dev}`].filter((s) => s !== '').join(' ');
}

/** A KernelError with one of `errnos`. */
function isErrno(err: unknown, errnos: readonly number[]): boolean {
  return err instanceof KernelError && err.errno !== undefined && errnos.includes(err.errno);
}
