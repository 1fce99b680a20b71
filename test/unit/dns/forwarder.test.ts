/**
 * Forwarding against fake upstreams on 127.0.0.1 (no root; nothing leaves loopback).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { Forwarder } from '../../../src/dns/forwarder.js';
import type { Upstream } from '../../../src/dns/records.js';
import { parseQuery, type Query } from '../../../src/dns/wire.js';
import { FakeDns } from '../../helpers/fake-dns.js';
import { query } from './fixture.js';

function q(name: string, type: dnsPacket.RecordType = 'A', edns?: number): { packet: Buffer; end: number } {
  const packet = query(name, type, { id: 0x4242, ...(edns !== undefined ? { edns } : {}) });
  return { packet, end: (parseQuery(packet) as { query: Query }).query.questionEnd };
}

type Decoded = dnsPacket.DecodedPacket & { rcode: string };

describe('Forwarder', () => {
  let fake: FakeDns;
  let fake2: FakeDns;
  let up: Upstream;
  let upTcp: Upstream;
  before(async () => {
    fake = await FakeDns.onLoopback();
    fake2 = await FakeDns.onLoopback();
    up = { address: '127.0.0.1', port: fake.udpPort, family: 4 };
    upTcp = { address: '127.0.0.1', port: fake.tcpPort, family: 4 };
  });
  after(() => {
    fake.close();
    fake2.close();
  });

  it('forwards over UDP and gives back the client ID (the upstream saw another)', async () => {
    const { packet, end } = q('www.example.test');
    const out = await new Forwarder().forward(packet, end, [up], 'udp');
    assert.ok(out);
    const a = dnsPacket.decode(out) as Decoded;
    assert.equal(a.id, 0x4242);
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers?.map((r) => (r as dnsPacket.StringAnswer).data), ['192.0.2.1']);
    assert.equal(fake.seen.at(-1)?.transport, 'udp');
  });

  it('passes NXDOMAIN through', async () => {
    const { packet, end } = q('nosuch.invalid');
    const a = dnsPacket.decode((await new Forwarder().forward(packet, end, [up], 'udp'))!) as Decoded;
    assert.equal(a.rcode, 'NXDOMAIN');
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    // Same port number for UDP and TCP is what real servers have; the fake's ports differ, so
    // give it a UDP upstream whose TCP side is the fake's TCP listener via a tiny proxy.
    const proxy = net.createServer((s) => {
      const c = net.connect(fake.tcpPort, '127.0.0.1');
      s.pipe(c).pipe(s);
      s.on('error', () => c.destroy());
      c.on('error', () => s.destroy());
    });
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as net.AddressInfo).port;
    // A UDP relay on the same port number as the TCP proxy.
    await new Promise<void>((r, j) => {
      udp.once('error', j);
      udp.bind(port, '127.0.0.1', () => r());
    });
    udp.on('message', (m, rinfo) => {
      const relay = dgram.createSocket('udp4');
      relay.on('message', (reply) => {
        udp.send(reply, rinfo.port, rinfo.address);
        relay.close();
      });
      relay.send(m, fake.udpPort, '127.0.0.1');
    });
    try {
      const { packet, end } = q('big.example.test', 'TXT');
      const before = fake.seen.length;
      const out = await new Forwarder().forward(packet, end, [{ address: '127.0.0.1', port, family: 4 }], 'udp');
      const a = dnsPacket.decode(out!) as Decoded;
      assert.equal(a.flag_tc, false);
      assert.equal(a.answers?.length, 10);
      assert.deepEqual(fake.seen.slice(before).map((s) => s.transport), ['udp', 'tcp']);
    } finally {
      udp.close();
      proxy.close();
    }
  });

  it('forwards a TCP client over TCP', async () => {
    const { packet, end } = q('big.example.test', 'TXT');
    const a = dnsPacket.decode((await new Forwarder().forward(packet, end, [upTcp], 'tcp'))!) as Decoded;
    assert.equal(a.answers?.length, 10);
    assert.equal(fake.seen.at(-1)?.transport, 'tcp');
  });

  it('moves on from SERVFAIL to the next upstream, and returns SERVFAIL if all fail', async () => {
    const { packet, end } = q('fail.example.test');
    const a = dnsPacket.decode((await new Forwarder().forward(packet, end, [up, up], 'udp'))!) as Decoded;
    assert.equal(a.rcode, 'SERVFAIL');
    const www = q('www.example.test');
    fake.silent = true;
    try {
      const f = new Forwarder({ attemptTimeoutMs: 200 });
      const b = dnsPacket.decode((await f.forward(www.packet, www.end, [up, { address: '127.0.0.1', port: fake2.udpPort, family: 4 }], 'udp'))!) as Decoded;
      assert.equal(b.rcode, 'NOERROR');
    } finally {
      fake.silent = false;
    }
  });

  it('fails fast on a closed port (ICMP unreachable), bounded on a silent upstream', async () => {
    const closed = dgram.createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', () => r()));
    const deadPort = closed.address().port;
    closed.close();
    const { packet, end } = q('www.example.test');
    let t = Date.now();
    assert.equal(await new Forwarder().forward(packet, end, [{ address: '127.0.0.1', port: deadPort, family: 4 }], 'udp'), undefined);
    assert.ok(Date.now() - t < 1000, `refused took ${Date.now() - t} ms`);
    t = Date.now();
    assert.equal(await new Forwarder().forward(packet, end, [{ address: '127.0.0.1', port: deadPort, family: 4 }], 'tcp'), undefined);
    assert.ok(Date.now() - t < 1000, `tcp refused took ${Date.now() - t} ms`);
    fake.silent = true;
    try {
      t = Date.now();
      const f = new Forwarder({ attemptTimeoutMs: 400, totalTimeoutMs: 500 });
      assert.equal(await f.forward(packet, end, [up, up, up, up, up], 'udp'), undefined);
      const took = Date.now() - t;
      // Bounded by totalTimeoutMs (500), not 5 × attemptTimeoutMs (2000).
      assert.ok(took >= 450 && took < 1500, `silent upstreams took ${took} ms`);
    } finally {
      fake.silent = false;
    }
  });

  it('ignores answers with the wrong ID or question (spoofs) until the real one', async () => {
    const spoofer = dgram.createSocket('udp4');
    await new Promise<void>((r) => spoofer.bind(0, '127.0.0.1', () => r()));
    spoofer.on('message', (m, rinfo) => {
      const qd = dnsPacket.decode(m);
      const lie = (id: number, name: string) =>
        dnsPacket.encode({ type: 'response', id, flags: 0x8180, questions: [{ name, type: 'A' }], answers: [{ name, type: 'A', data: '6.6.6.6' }] });
      spoofer.send(lie(((qd.id ?? 0) + 1) & 0xffff, 'www.example.test'), rinfo.port, rinfo.address);
      spoofer.send(lie(qd.id ?? 0, 'other.example.test'), rinfo.port, rinfo.address);
      spoofer.send(dnsPacket.encode({ type: 'response', id: qd.id ?? 0, flags: 0x8180, questions: qd.questions ?? [], answers: [{ name: 'www.example.test', type: 'A', data: '192.0.2.7' }] }), rinfo.port, rinfo.address);
    });
    try {
      const { packet, end } = q('www.example.test');
      const a = dnsPacket.decode((await new Forwarder().forward(packet, end, [{ address: '127.0.0.1', port: spoofer.address().port, family: 4 }], 'udp'))!);
      assert.deepEqual(a.answers?.map((r) => (r as dnsPacket.StringAnswer).data), ['192.0.2.7']);
    } finally {
      spoofer.close();
    }
  });

  it('refuses beyond maxInFlight at once', async () => {
    fake.silent = true;
    try {
      const f = new Forwarder({ maxInFlight: 2, attemptTimeoutMs: 200 });
      const { packet, end } = q('www.example.test');
      const slow = [f.forward(packet, end, [up], 'udp'), f.forward(packet, end, [up], 'udp')];
      assert.equal(f.inFlight, 2);
      const t = Date.now();
      assert.equal(await f.forward(packet, end, [up], 'udp'), undefined);
      assert.ok(Date.now() - t < 200);
      await Promise.all(slow);
      assert.equal(f.inFlight, 0);
    } finally {
      fake.silent = false;
    }
  });
});
