/**
 * The DNS server observer with real sockets, without root: the native addon opens them in this
 * process's own netns on 127.0.0.1 (ephemeral ports) instead of 127.0.0.11:53 in a container's.
 * Upstream is a fake on loopback. (The real thing, in container netns: integration/dns.test.ts.)
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { DnsServer } from '../../../src/dns/server.js';
import { silentLogger } from '../../../src/engine/log.js';
import type { ModelSnapshot } from '../../../src/engine/observers.js';
import { loadNative } from '../../../src/kernel/native.js';
import { FakeDns } from '../../helpers/fake-dns.js';
import { container, id, network, query, snapshot, type ContainerSpec } from './fixture.js';

type Decoded = dnsPacket.DecodedPacket & { rcode: string };

function nativeAvailable(): boolean {
  try {
    return typeof loadNative().socketInNetns === 'function';
  } catch {
    return false;
  }
}

async function askUdp(port: number, packet: Buffer, timeoutMs = 2000): Promise<Decoded> {
  const s = dgram.createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), timeoutMs);
      s.on('message', (m) => {
        clearTimeout(t);
        resolve(dnsPacket.decode(m) as Decoded);
      });
      s.on('error', reject);
      s.send(packet, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

/** Sends `packets` in one write over one TCP connection and reads as many answers. */
async function askTcp(port: number, packets: Buffer[]): Promise<Decoded[]> {
  const sock = net.connect(port, '127.0.0.1');
  try {
    return await new Promise((resolve, reject) => {
      const out: Decoded[] = [];
      let buf: Buffer = Buffer.alloc(0);
      const t = setTimeout(() => reject(new Error('no answer')), 2000);
      sock.on('error', reject);
      sock.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Decoded);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (out.length === packets.length) {
          clearTimeout(t);
          resolve(out);
        }
      });
      sock.write(Buffer.concat(packets.map((p) => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]))));
    });
  } finally {
    sock.destroy();
  }
}

const data = (a: Decoded): string[] => (a.answers ?? []).map((r) => String((r as dnsPacket.StringAnswer).data));

describe('DnsServer', { skip: nativeAvailable() ? false : 'native addon not built (npm run build:native)' }, () => {
  const newBridge = network('new-bridge');
  const other = network('other');
  const specs: ContainerSpec[] = [
    { name: 'c3', on: { 'new-bridge': { ipv4: '172.18.0.2/16' } } },
    { name: 'c4', on: { 'new-bridge': { ipv4: '172.18.0.3/16' } } },
    { name: 'far', on: { other: { ipv4: '172.19.0.2/16' } } },
  ];
  let fake: FakeDns;
  let server: DnsServer;
  const opened: string[] = [];
  before(async () => {
    fake = await FakeDns.onLoopback();
    server = new DnsServer({
      daemonDns: [`127.0.0.1:${fake.udpPort}`],
      log: silentLogger,
      listen: { address: '127.0.0.1', port: 0 },
      openSocket: (netns, type, address, port) => {
        opened.push(`${type} ${netns}`);
        return loadNative().socketInNetns(null, type, address, port);
      },
      readHostResolvConf: () => '',
    });
    server.sync(snapshot([newBridge, other], specs));
  });
  after(() => {
    server.close();
    fake.close();
  });

  const port = (name: string, kind: 'udpPort' | 'tcpPort' = 'udpPort'): number => {
    const a = server.addressOf(id(name));
    assert.ok(a, `no sockets for ${name}`);
    return a[kind];
  };

  it('opens a UDP and a TCP socket per sandbox on a user network, in its netns', () => {
    assert.deepEqual(server.served().sort(), [id('c3'), id('c4'), id('far')].sort());
    assert.ok(opened.includes('udp /run/ns/c3') && opened.includes('tcp /run/ns/c3'));
  });

  it('answers over UDP and TCP (pipelined), scoped to the asking sandbox', async () => {
    assert.deepEqual(data(await askUdp(port('c3'), query('c4'))), ['172.18.0.3']);
    const [a, b] = await askTcp(port('c3', 'tcpPort'), [query('c4', 'A', { id: 1 }), query('c3', 'A', { id: 2 })]);
    assert.deepEqual([a?.id, data(a!)], [1, ['172.18.0.3']]);
    assert.deepEqual([b?.id, data(b!)], [2, ['172.18.0.2']]);
    // `far` does not share new-bridge: its resolver forwards, the fake says NXDOMAIN.
    const before = fake.seen.length;
    assert.equal((await askUdp(port('far'), query('c4'))).rcode, 'NXDOMAIN');
    assert.deepEqual(fake.seen.slice(before).map((s) => s.name), ['c4']);
  });

  it('forwards other names and gives SERVFAIL when the upstream is dead', async () => {
    assert.deepEqual(data(await askUdp(port('c3'), query('www.example.test'))), ['192.0.2.1']);
    fake.silent = true;
    try {
      const quick = new DnsServer({
        daemonDns: [`127.0.0.1:${fake.udpPort}`],
        log: silentLogger,
        listen: { address: '127.0.0.1', port: 0 },
        openSocket: (_ns, type, address, p) => loadNative().socketInNetns(null, type, address, p),
        readHostResolvConf: () => '',
        forwarder: { attemptTimeoutMs: 200, totalTimeoutMs: 300 },
      });
      quick.sync(snapshot([newBridge], [specs[0] as ContainerSpec]));
      const t = Date.now();
      const a = await askUdp(quick.addressOf(id('c3'))!.udpPort, query('www.example.test'));
      quick.close();
      assert.equal(a.rcode, 'SERVFAIL');
      assert.ok(Date.now() - t < 2000);
    } finally {
      fake.silent = false;
    }
  });

  it('follows the model on the next query: rename, stop, leave', async () => {
    // Rename c4 to c5 (same id, same endpoint).
    const base = snapshot([newBridge, other], specs);
    const c4 = base.containers[1]!;
    const withRename: ModelSnapshot = { ...base, containers: base.containers.map((c) => (c.id === c4.id ? { ...c, name: 'c5' } : c)) };
    server.sync(withRename);
    assert.deepEqual(data(await askUdp(port('c3'), query('c5'))), ['172.18.0.3']);
    assert.equal((await askUdp(port('c3'), query('c4'))).rcode, 'NXDOMAIN');
    // Stop c5: its name goes and its sockets close.
    const stopped: ModelSnapshot = {
      ...withRename,
      containers: withRename.containers.map((c) => (c.id === c4.id ? { ...c, state: { ...c.state, status: 'exited' as const } } : c)),
      sandboxes: new Map([...withRename.sandboxes].filter(([k]) => k !== c4.id)),
    };
    server.sync(stopped);
    assert.equal((await askUdp(port('c3'), query('c5'))).rcode, 'NXDOMAIN');
    assert.equal(server.addressOf(c4.id), undefined);
    // c3 leaves new-bridge for the default bridge only: no resolver for it any more.
    const bridge = network('bridge', { predefined: true });
    server.sync(snapshot([bridge], [{ name: 'c3', on: { bridge: { ipv4: '172.17.0.2/16' } } }]));
    assert.deepEqual(server.served(), []);
    server.sync(snapshot([newBridge, other], specs));
    assert.equal(server.served().length, 3);
  });

  it('survives a flood of malformed packets and keeps answering', async () => {
    const s = dgram.createSocket('udp4');
    const p = port('c3');
    let seed = 1;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(rnd() % 64);
      for (let j = 0; j < b.length; j++) b[j] = rnd() & 0xff;
      s.send(b, p, '127.0.0.1');
    }
    // A TCP client that sends a runt frame and one that sends a huge length and goes away.
    const t1 = net.connect(port('c3', 'tcpPort'), '127.0.0.1', () => t1.end(Buffer.from([0, 3, 1, 2, 3])));
    const t2 = net.connect(port('c3', 'tcpPort'), '127.0.0.1', () => t2.end(Buffer.from([0xff, 0xff, 1])));
    t1.on('error', () => undefined);
    t2.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    // Retry as stub resolvers do: on a loaded machine the flood may still fill the socket's
    // receive queue, where the kernel drops what does not fit (that is UDP, not a fault).
    let answer: Decoded | undefined;
    for (let i = 0; i < 3 && answer === undefined; i++) answer = await askUdp(p, query('c4'), 1000).catch(() => undefined);
    assert.deepEqual(data(answer ?? assert.fail('no answer after the flood')), ['172.18.0.3']);
  });

  it('sandboxReady opens the sockets and the view before the first sync lists the container', async () => {
    const s2 = new DnsServer({
      daemonDns: [],
      log: silentLogger,
      listen: { address: '127.0.0.1', port: 0 },
      openSocket: (_ns, type, address, p) => loadNative().socketInNetns(null, type, address, p),
      readHostResolvConf: () => '',
    });
    try {
      const snap = snapshot([newBridge], [specs[1] as ContainerSpec, { ...specs[0], status: 'created' } as ContainerSpec]);
      s2.sandboxReady(container({ ...specs[0], status: 'created' } as ContainerSpec), '/run/ns/c3', snap);
      assert.deepEqual(data(await askUdp(s2.addressOf(id('c3'))!.udpPort, query('c4'))), ['172.18.0.3']);
    } finally {
      s2.close();
    }
    assert.deepEqual(s2.served(), []);
  });

  it('logs and carries on when a socket cannot be opened', () => {
    const errors: string[] = [];
    const s3 = new DnsServer({
      daemonDns: [],
      log: { ...silentLogger, error: (m) => errors.push(m) },
      openSocket: () => {
        throw Object.assign(new Error('bind: Address already in use (EADDRINUSE)'), { code: 'EADDRINUSE' });
      },
      readHostResolvConf: () => '',
    });
    const snap = snapshot([newBridge], specs.slice(0, 2));
    s3.sync(snap);
    s3.sync(snap);
    assert.deepEqual(s3.served(), []);
    assert.equal(errors.length, 2, 'one line per sandbox, not per sync');
  });
});
