/**
 * The embedded DNS as a model observer: one UDP socket and one TCP listener per sandbox, bound
 * inside the sandbox's netns at 127.0.0.11:53 by the native addon and served by the daemon's
 * event loop. Each socket knows the container whose sandbox it lives in, so a query is
 * answered from that container's view without looking at its source address.
 *
 * Ownership: sockets are opened for every running sandbox whose container is on a user-defined
 * network and closed (with their TCP connections) as soon as a sync no longer lists it — an
 * open socket would keep a dead netns alive. The table is rebuilt on each sync and swapped in
 * whole, so the next query after an API call sees the change. Sockets are unref'd: they never
 * keep a stopping daemon alive (the kernel closes them when it exits).
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { hostNameservers } from '../engine/container-files.js';
import type { Logger } from '../engine/log.js';
import type { ModelObserver, ModelSnapshot } from '../engine/observers.js';
import { loadNative } from '../kernel/native.js';
import type { Container } from '../model/container.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';
import { buildTable, EMPTY_TABLE, type DnsTable } from './records.js';
import { resolve, servfail, type Decision } from './resolver.js';
import { TcpFramer, truncateToQuestion } from './wire.js';

/** Opens a socket bound inside a netns (null = the daemon's own) and returns its fd. */
export type SocketOpener = (netns: string | null, type: 'udp' | 'tcp', address: string, port: number) => number;

/** How the server is set up. */
export interface DnsServerOptions {
  /** `berthd --dns`: upstreams for containers without their own `--dns`. */
  readonly daemonDns: readonly string[];
  readonly log: Logger;
  /** Where the resolver listens inside each sandbox. Default 127.0.0.11:53. */
  readonly listen?: { readonly address: string; readonly port: number };
  /** Default: the native addon's `socketInNetns`. */
  readonly openSocket?: SocketOpener;
  /** The host's resolv.conf text (last resort upstreams). Default: read /etc/resolv.conf. */
  readonly readHostResolvConf?: () => string;
  readonly forwarder?: Partial<ForwarderOptions>;
  /** TCP connections idle this long are closed. Default 10 s. */
  readonly tcpIdleMs?: number;
}

/** Docker's address for the embedded DNS. */
export const EMBEDDED_DNS_ADDRESS = '127.0.0.11';
const DEFAULT_TCP_IDLE_MS = 10_000;
/** TCP connections one sandbox may hold; Node closes further ones as they arrive. */
const MAX_TCP_CONNECTIONS = 64;
/**
 * A query over TCP announced larger than this closes the connection. Real queries are a few
 * hundred bytes (a 255-byte name, an OPT record with a cookie); nothing we answer needs more.
 */
const MAX_QUERY_BYTES = 4096;

export class DnsServer implements ModelObserver {
  readonly name = 'dns';
  readonly #opts: DnsServerOptions;
  readonly #listen: { readonly address: string; readonly port: number };
  readonly #forwarder: Forwarder;
  #table: DnsTable = EMPTY_TABLE;
  readonly #sandboxes = new Map<string, SandboxSockets>();
  /** Sandboxes whose sockets could not be opened (logged once per sandbox). */
  readonly #failed = new Set<string>();

  constructor(opts: DnsServerOptions) {
    this.#opts = opts;
    this.#listen = opts.listen ?? { address: EMBEDDED_DNS_ADDRESS, port: 53 };
    this.#forwarder = new Forwarder(opts.forwarder);
  }

  /** Rebuilds the table and opens/closes sockets to match the running sandboxes. */
  sync(snapshot: ModelSnapshot): void {
    this.#table = buildTable(snapshot, { daemonDns: this.#opts.daemonDns, hostNameservers: this.#hostNameservers() });
    const wanted = new Map<string, string>();
    for (const [id, netns] of snapshot.sandboxes) if (this.#table.views.has(id)) wanted.set(id, netns);
    for (const [id, s] of this.#sandboxes) {
      if (wanted.get(id) !== s.netns) this.#closeSandbox(id);
    }
    for (const k of this.#failed) if (!wanted.has(k.slice(0, k.indexOf('\n')))) this.#failed.delete(k);
    for (const [id, netns] of wanted) if (!this.#sandboxes.has(id)) this.#openSandbox(id, netns);
  }

  /**
   * Opens the sockets of a sandbox that was just made, before the container's process starts,
   * so its first query finds a listener and its view (the following sync keeps both).
   */
  sandboxReady(container: Container, netns: string, snapshot: ModelSnapshot): void {
    this.#table = buildTable(snapshot, { daemonDns: this.#opts.daemonDns, hostNameservers: this.#hostNameservers() });
    const existing = this.#sandboxes.get(container.id);
    // The same path may hold a new netns (a restart whose stop this server did not see).
    if (existing !== undefined && existing.netns === netns && existing.inode === inodeOf(netns)) return;
    if (existing !== undefined) this.#closeSandbox(container.id);
    if (this.#table.views.has(container.id)) this.#openSandbox(container.id, netns);
  }

  /** Where the sockets of a container's sandbox are bound (tests, benchmarks). */
  addressOf(containerId: string): { address: string; udpPort: number; tcpPort: number } | undefined {
    return this.#sandboxes.get(containerId)?.address();
  }

  /** Containers whose sandbox has sockets now. */
  served(): string[] {
    return [...this.#sandboxes.keys()];
  }

  /** Closes every socket (in-process daemons and tests; a daemon that exits needs nothing). */
  close(): void {
    for (const id of [...this.#sandboxes.keys()]) this.#closeSandbox(id);
  }

  #hostNameservers(): string[] {
    const read = this.#opts.readHostResolvConf ?? (() => fs.readFileSync('/etc/resolv.conf', 'utf8'));
    try {
      return hostNameservers(read());
    } catch {
      return [];
    }
  }

  #openSandbox(id: string, netns: string): void {
    const key = `${id}\n${netns}`;
    const open = this.#opts.openSocket ?? ((ns, type, address, port) => loadNative().socketInNetns(ns, type, address, port));
    const { address, port } = this.#listen;
    const log = this.#opts.log;
    let udp: dgram.Socket | undefined;
    try {
      udp = adoptUdp(open(netns, 'udp', address, port), net.isIPv6(address) ? 'udp6' : 'udp4', id, log);
      const tcp = adoptTcp(open(netns, 'tcp', address, port), id, log);
      const s = new SandboxSockets(id, netns, inodeOf(netns), udp, tcp, {
        decide: (packet, transport) => resolve(packet, this.#table.views.get(id), transport),
        forwarder: this.#forwarder,
        tcpIdleMs: this.#opts.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS,
        log,
      });
      this.#sandboxes.set(id, s);
      this.#failed.delete(key);
    } catch (err) {
      udp?.close();
      if (!this.#failed.has(key)) {
        this.#failed.add(key);
        // EADDRINUSE: something in the container bound port 53 on all addresses first.
        log.error('embedded DNS: cannot listen in the container', { container: id.slice(0, 12), netns, error: (err as Error).message });
      }
    }
  }

  #closeSandbox(id: string): void {
    this.#sandboxes.get(id)?.close();
    this.#sandboxes.delete(id);
  }
}

/** What the sockets of one sandbox need from the server. */
interface SandboxDeps {
  readonly decide: (packet: Buffer, transport: 'udp' | 'tcp') => Decision;
  readonly forwarder: Forwarder;
  readonly tcpIdleMs: number;
  readonly log: Logger;
}

/** The UDP socket and TCP listener of one sandbox, and the TCP connections accepted on it. */
class SandboxSockets {
  readonly containerId: string;
  readonly netns: string;
  readonly inode: number | undefined;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #conns = new Set<net.Socket>();
  readonly #deps: SandboxDeps;
  #closed = false;

  constructor(containerId: string, netns: string, inode: number | undefined, udp: dgram.Socket, tcp: net.Server, deps: SandboxDeps) {
    this.containerId = containerId;
    this.netns = netns;
    this.inode = inode;
    this.#deps = deps;
    this.#udp = udp;
    this.#tcp = tcp;
    udp.on('message', (msg, rinfo) => this.#onUdp(msg, rinfo));
    tcp.on('connection', (sock: net.Socket) => this.#onConnection(sock));
  }

  address(): { address: string; udpPort: number; tcpPort: number } {
    const a = this.#udp.address();
    const t = this.#tcp.address();
    return { address: a.address, udpPort: a.port, tcpPort: typeof t === 'object' && t !== null ? t.port : 0 };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#udp.close();
    } catch {
      // already closed
    }
    this.#tcp.close();
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
  }

  #onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let d: Decision;
    try {
      d = this.#deps.decide(msg, 'udp');
    } catch (err) {
      this.#deps.log.error('embedded DNS: query failed', { error: (err as Error).message });
      return;
    }
    if (d.kind === 'answer') {
      this.#sendUdp(d.packet, rinfo);
    } else if (d.kind === 'forward') {
      this.#deps.forwarder
        .forward(msg, d.query.questionEnd, d.upstreams, 'udp')
        .then((reply) => {
          let out = reply ?? servfail(msg, d.query, d.limit);
          if (out.length > d.limit) out = truncateToQuestion(out, d.query.questionEnd);
          this.#sendUdp(out, rinfo);
        })
        .catch((err: unknown) => this.#deps.log.error('embedded DNS: forward failed', { error: (err as Error).message }));
    }
  }

  #sendUdp(packet: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closed) return;
    try {
      this.#udp.send(packet, rinfo.port, rinfo.address, () => {
        // A client gone (ECONNREFUSED) is not our problem.
      });
    } catch {
      // The socket closed meanwhile.
    }
  }

  #onConnection(sock: net.Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    this.#conns.add(sock);
    sock.unref();
    sock.setNoDelay(true);
    sock.setTimeout(this.#deps.tcpIdleMs, () => sock.destroy());
    sock.on('close', () => this.#conns.delete(sock));
    sock.on('error', () => sock.destroy());
    const framer = new TcpFramer(MAX_QUERY_BYTES);
    sock.on('data', (chunk: Buffer) => {
      const msgs = framer.push(chunk);
      if (msgs === undefined) {
        sock.destroy();
        return;
      }
      for (const m of msgs) this.#onTcpMessage(sock, m);
    });
  }

  #onTcpMessage(sock: net.Socket, msg: Buffer): void {
    let d: Decision;
    try {
      d = this.#deps.decide(msg, 'tcp');
    } catch (err) {
      this.#deps.log.error('embedded DNS: query failed', { error: (err as Error).message });
      sock.destroy();
      return;
    }
    if (d.kind === 'answer') {
      writeFramed(sock, d.packet);
    } else if (d.kind === 'forward') {
      this.#deps.forwarder
        .forward(msg, d.query.questionEnd, d.upstreams, 'tcp')
        .then((reply) => writeFramed(sock, reply ?? servfail(msg, d.query, d.limit)))
        .catch((err: unknown) => this.#deps.log.error('embedded DNS: forward failed', { error: (err as Error).message }));
    } else {
      // RFC 7766 §6.2.1.1 permits closing on a message we will not answer.
      sock.destroy();
    }
  }
}

/**
 * A dgram socket on an fd from the opener. `bind({fd})` adopts synchronously and throws when
 * libuv refused the fd, which then is still ours to close. (libuv sets SO_REUSEADDR on adopted
 * UDP sockets; our exact-address socket still gets every query sent to it.)
 */
function adoptUdp(fd: number, type: 'udp4' | 'udp6', id: string, log: Logger): dgram.Socket {
  const udp = dgram.createSocket({ type });
  udp.on('error', (err) => log.warn('embedded DNS: udp socket error', { container: id.slice(0, 12), error: err.message }));
  try {
    udp.bind({ fd });
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
  udp.unref();
  return udp;
}

/**
 * A net.Server on a listening fd from the opener. `listen({fd})` adopts synchronously; a fresh
 * fd cannot be refused (libuv only refuses fds it already watches), and would be reported
 * through 'error'.
 */
function adoptTcp(fd: number, id: string, log: Logger): net.Server {
  const tcp = net.createServer();
  tcp.maxConnections = MAX_TCP_CONNECTIONS;
  tcp.on('error', (err) => log.warn('embedded DNS: tcp listener error', { container: id.slice(0, 12), error: err.message }));
  tcp.listen({ fd });
  tcp.unref();
  return tcp;
}

function writeFramed(sock: net.Socket, packet: Buffer): void {
  if (sock.destroyed || !sock.writable) return;
  const out = Buffer.allocUnsafe(2 + packet.length);
  out.writeUInt16BE(packet.length, 0);
  packet.copy(out, 2);
  sock.write(out);
}

function inodeOf(path: string): number | undefined {
  try {
    return fs.statSync(path).ino;
  } catch {
    return undefined;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // not ours any more
  }
}
