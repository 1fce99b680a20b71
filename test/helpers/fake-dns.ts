/**
 * A fake upstream DNS server for tests: tests must never send a query to a real resolver, so
 * forwarding is proved against this, on loopback or inside a test netns.
 *
 * Zone: `*.example.test` A → 192.0.2.1; `big.example.test` TXT → ~2 KB (truncated over UDP
 * beyond the client's size, as a real server does); `fail.example.test` → SERVFAIL; anything
 * else → NXDOMAIN. `silent` stops all answers (a dead upstream that still takes packets).
 * Every question it sees is recorded (name and transport).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

export interface SeenQuery {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

export class FakeDns {
  readonly seen: SeenQuery[] = [];
  silent = false;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #conns = new Set<net.Socket>();

  private constructor(udp: dgram.Socket, tcp: net.Server) {
    this.#udp = udp;
    this.#tcp = tcp;
    udp.on('message', (msg, rinfo) => {
      const out = this.#answer(msg, 'udp');
      if (out !== undefined) udp.send(out, rinfo.port, rinfo.address);
    });
    udp.on('error', () => undefined);
    tcp.on('connection', (sock) => {
      this.#conns.add(sock);
      sock.on('close', () => this.#conns.delete(sock));
      sock.on('error', () => sock.destroy());
      let buf: Buffer = Buffer.alloc(0);
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          const out = this.#answer(Buffer.from(msg), 'tcp');
          if (out !== undefined) {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            sock.write(Buffer.concat([len, out]));
          }
        }
      });
    });
  }

  /** On 127.0.0.1, ephemeral ports (UDP and TCP ports differ). */
  static async onLoopback(): Promise<FakeDns> {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    return new FakeDns(udp, tcp);
  }

  /** On sockets opened elsewhere (e.g. inside a test netns by the native addon). */
  static fromFds(udpFd: number, tcpFd: number): FakeDns {
    const udp = dgram.createSocket('udp4');
    udp.bind({ fd: udpFd });
    const tcp = net.createServer();
    tcp.listen({ fd: tcpFd });
    return new FakeDns(udp, tcp);
  }

  get udpPort(): number {
    return this.#udp.address().port;
  }

  get tcpPort(): number {
    const a = this.#tcp.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  close(): void {
    this.#udp.close();
    this.#tcp.close();
    for (const c of this.#conns) c.destroy();
  }

  #answer(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (question === undefined) return undefined;
    this.seen.push({ name: question.name, type: question.type, transport });
    if (this.silent) return undefined;
    const name = question.name.toLowerCase();
    const opt = q.additionals?.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    const base = { type: 'response' as const, id: q.id ?? 0, questions: q.questions ?? [] };
    const flags = 0x8000 | 0x0080 | ((q.flags ?? 0) & 0x0100);
    let answers: dnsPacket.Answer[] = [];
    let rcode = 0;
    if (name === 'fail.example.test') rcode = 2;
    else if (name === 'big.example.test' && question.type === 'TXT') {
      answers = Array.from({ length: 10 }, (_, i) => ({ name: question.name, type: 'TXT' as const, ttl: 60, data: `${i}${'x'.repeat(200)}` }));
    } else if (name.endsWith('.example.test') && question.type === 'A') {
      answers = [{ name: question.name, type: 'A', ttl: 60, data: '192.0.2.1' }];
    } else if (!name.endsWith('.example.test')) rcode = 3;
    const full = dnsPacket.encode({ ...base, flags: flags | rcode, answers });
    const limit = transport === 'tcp' ? 65535 : Math.max(512, opt?.udpPayloadSize ?? 512);
    if (full.length <= limit) return full;
    return dnsPacket.encode({ ...base, flags: flags | 0x0200 | rcode, answers: [] });
  }
}
