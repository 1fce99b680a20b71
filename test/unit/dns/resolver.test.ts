/**
 * The resolver on a table (moby `resolver_test.go` style): answers decoded by dns-packet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { buildTable, type SandboxView } from '../../../src/dns/records.js';
import { resolve, servfail, type Decision } from '../../../src/dns/resolver.js';
import { parseQuery, type Query } from '../../../src/dns/wire.js';
import { id, network, query, snapshot } from './fixture.js';

const bridge = network('bridge', { predefined: true });
const newBridge = network('new-bridge');
const other = network('other');
const back = network('back', { internal: true });
const v6 = network('v6net', { ipv6: true });

const table = buildTable(
  snapshot(
    [bridge, newBridge, other, back, v6],
    [
      { name: 'c1', on: { bridge: { ipv4: '172.17.0.2/16' } } },
      { name: 'c2', on: { bridge: { ipv4: '172.17.0.3/16' } } },
      { name: 'c3', on: { 'new-bridge': { ipv4: '172.18.0.2/16', links: ['c4:db'] } } },
      { name: 'c4', hostname: 'box4', on: { 'new-bridge': { ipv4: '172.18.0.3/16' } } },
      { name: 'w1', on: { 'new-bridge': { ipv4: '172.18.0.11/16', aliases: ['web'] } } },
      { name: 'w2', on: { 'new-bridge': { ipv4: '172.18.0.12/16', aliases: ['web'] } } },
      { name: 'w3', on: { 'new-bridge': { ipv4: '172.18.0.13/16', aliases: ['web'] } } },
      { name: 'stopped', status: 'exited', on: { 'new-bridge': { ipv4: '172.18.0.20/16' } } },
      { name: 'far', on: { other: { ipv4: '172.19.0.2/16' } } },
      { name: 'vault', on: { back: { ipv4: '172.20.0.2/16' } } },
      { name: 'nd', hostConfig: { dnsOptions: ['ndots:1'] }, on: { 'new-bridge': { ipv4: '172.18.0.30/16' } } },
      { name: 'six', on: { v6net: { ipv4: '172.21.0.2/16', ipv6: 'fd00:6::2/64' } } },
      { name: 'six2', on: { v6net: { ipv4: '172.21.0.3/16', ipv6: 'fd00:6::3/64' } } },
    ],
  ),
  { daemonDns: ['192.0.2.53'], hostNameservers: [] },
);

function view(name: string): SandboxView {
  const v = table.views.get(id(name));
  assert.ok(v, `no view for ${name}`);
  return v;
}

function answer(d: Decision): dnsPacket.DecodedPacket & { rcode: string } {
  assert.equal(d.kind, 'answer', `expected an answer, got ${d.kind}`);
  return dnsPacket.decode((d as { packet: Buffer }).packet) as dnsPacket.DecodedPacket & { rcode: string };
}

/** rcode and the answers' data, the way dig shows them. */
function ask(asker: string, name: string, type: dnsPacket.RecordType = 'A', transport: 'udp' | 'tcp' = 'udp'): string {
  const d = resolve(query(name, type), view(asker), transport, () => 0);
  if (d.kind !== 'answer') return d.kind;
  const a = answer(d);
  const data = (a.answers ?? []).map((r) => `${r.type} ${String((r as dnsPacket.StringAnswer).data)} ttl=${(r as dnsPacket.StringAnswer).ttl}`);
  return [a.rcode, ...data].join(' | ');
}

describe('resolve: names', () => {
  it('answers a container name on a shared network, TTL 600', () => {
    assert.equal(ask('c3', 'c4'), 'NOERROR | A 172.18.0.3 ttl=600');
  });

  it('answers the hostname, the short ID, name.network, any case', () => {
    assert.equal(ask('c3', 'box4'), 'NOERROR | A 172.18.0.3 ttl=600');
    assert.equal(ask('c3', id('c4').slice(0, 12)), 'NOERROR | A 172.18.0.3 ttl=600');
    assert.equal(ask('c3', 'c4.new-bridge'), 'NOERROR | A 172.18.0.3 ttl=600');
    assert.equal(ask('c3', 'C4.New-Bridge.'), 'NOERROR | A 172.18.0.3 ttl=600');
  });

  it('answers its own name', () => {
    assert.equal(ask('c3', 'c3'), 'NOERROR | A 172.18.0.2 ttl=600');
  });

  it('answers a legacy link alias of the asker only', () => {
    assert.equal(ask('c3', 'db'), 'NOERROR | A 172.18.0.3 ttl=600');
    assert.equal(ask('c4', 'db'), 'forward');
  });

  it('forwards names of containers on networks it does not share, stopped ones, and unknown ones', () => {
    assert.equal(ask('c3', 'far'), 'forward');
    assert.equal(ask('c3', 'vault'), 'forward');
    assert.equal(ask('c3', 'stopped'), 'forward');
    assert.equal(ask('c3', 'nosuch'), 'forward');
    assert.equal(ask('c3', 'c4.other'), 'forward');
    assert.equal(ask('c3', 'example.com'), 'forward');
  });

  it('AAAA for a name with only IPv4: NOERROR, no answer; with IPv6: the address', () => {
    assert.equal(ask('c3', 'c4', 'AAAA'), 'NOERROR');
    assert.equal(ask('six', 'six2', 'AAAA'), 'NOERROR | AAAA fd00:6::3 ttl=600');
    assert.equal(ask('six', 'six2', 'A'), 'NOERROR | A 172.21.0.3 ttl=600');
  });

  it('other types for a known name: NOERROR, no answer (never leaked upstream); ANY: A and AAAA', () => {
    assert.equal(ask('c3', 'c4', 'MX'), 'NOERROR');
    assert.equal(ask('c3', 'c4', 'TXT'), 'NOERROR');
    assert.equal(ask('six', 'six2', 'ANY' as dnsPacket.RecordType), 'NOERROR | A 172.21.0.3 ttl=600 | AAAA fd00:6::3 ttl=600');
  });

  it('round robin: every address of an alias, in random order', () => {
    const orders = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const a = answer(resolve(query('web'), view('c3'), 'udp'));
      const ips = (a.answers ?? []).map((r) => String((r as dnsPacket.StringAnswer).data));
      assert.deepEqual([...ips].sort(), ['172.18.0.11', '172.18.0.12', '172.18.0.13']);
      orders.add(ips.join(','));
    }
    assert.ok(orders.size >= 4, `only ${orders.size} orders in 200 answers`);
    // With a fixed random source the order is fixed.
    assert.equal(ask('c3', 'web'), ask('c3', 'web'));
  });
});

describe('resolve: PTR', () => {
  it('answers name.network. for a container address on a shared network', () => {
    assert.equal(ask('c3', '3.0.18.172.in-addr.arpa', 'PTR'), 'NOERROR | PTR c4.new-bridge ttl=600');
    assert.equal(ask('six', `3.${'0.'.repeat(23)}6.${'0.'.repeat(5)}d.f.ip6.arpa`, 'PTR'), 'NOERROR | PTR six2.v6net ttl=600');
  });

  it('forwards other addresses, and those of networks it does not share', () => {
    assert.equal(ask('c3', '2.0.19.172.in-addr.arpa', 'PTR'), 'forward');
    assert.equal(ask('c3', '99.0.18.172.in-addr.arpa', 'PTR'), 'forward');
  });
});

describe('resolve: forwarding decisions', () => {
  it('forwards with the view upstreams and the client size limit', () => {
    const d = resolve(query('example.com', 'A', { edns: 1232 }), view('c3'), 'udp');
    assert.equal(d.kind, 'forward');
    if (d.kind !== 'forward') return;
    assert.deepEqual(d.upstreams, [{ address: '192.0.2.53', port: 53, family: 4 }]);
    assert.equal(d.limit, 1232);
    assert.equal(d.query.name, 'example.com');
  });

  it('SERVFAIL for a container on internal networks only (nothing leaves it)', () => {
    assert.equal(ask('vault', 'example.com'), 'SERVFAIL');
    assert.equal(ask('vault', 'vault'), 'NOERROR | A 172.20.0.2 ttl=600');
  });

  it('SERVFAIL without upstreams, and for a sandbox the table does not know', () => {
    const none = buildTable(snapshot([newBridge], [{ name: 'x', on: { 'new-bridge': { ipv4: '10.0.0.2/24' } } }]), {
      daemonDns: [],
      hostNameservers: [],
    });
    assert.equal(answer(resolve(query('example.com'), none.views.get(id('x')), 'udp')).rcode, 'SERVFAIL');
    assert.equal(answer(resolve(query('c4'), undefined, 'udp')).rcode, 'SERVFAIL');
  });

  it('ndots set by the container: a single unknown label gets NOERROR, empty; dotted names go out', () => {
    assert.equal(ask('nd', 'nosuch'), 'NOERROR');
    assert.equal(ask('nd', 'c4'), 'NOERROR | A 172.18.0.3 ttl=600');
    assert.equal(ask('nd', 'nosuch.example'), 'forward');
    assert.equal(ask('nd', 'nosuch', 'MX'), 'forward');
  });

  it('servfail() answers the question with SERVFAIL', () => {
    const packet = query('example.com');
    const q = (parseQuery(packet) as { query: Query }).query;
    const a = dnsPacket.decode(servfail(packet, q, 512)) as dnsPacket.DecodedPacket & { rcode: string };
    assert.equal(a.rcode, 'SERVFAIL');
    assert.equal(a.id, 0x1234);
    assert.deepEqual(a.questions?.map((x) => x.name), ['example.com']);
  });
});

describe('resolve: protocol', () => {
  it('truncates large answers over UDP (TC), not over TCP', () => {
    const many = buildTable(
      snapshot(
        [newBridge],
        Array.from({ length: 60 }, (_, i) => ({ name: `m${i}`, on: { 'new-bridge': { ipv4: `10.0.${i}.2/16`, aliases: ['pool'] } } })),
      ),
      { daemonDns: [], hostNameservers: [] },
    );
    const v = many.views.get(id('m0'));
    const udp = answer(resolve(query('pool'), v, 'udp'));
    assert.equal(udp.flag_tc, true);
    assert.ok((udp.answers?.length ?? 0) < 60);
    const tcp = answer(resolve(query('pool'), v, 'tcp'));
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers?.length, 60);
  });

  it('EDNS version above 0: BADVERS', () => {
    const a = answer(resolve(query('c4', 'A', { edns: 1232, ednsVersion: 1 }), view('c3'), 'udp'));
    const opt = a.additionals?.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    assert.equal(opt?.extendedRcode, 1);
  });

  it('FORMERR for garbage with a header, nothing for a response or a runt', () => {
    const formerr = answer(resolve(Buffer.from([1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), view('c3'), 'udp'));
    assert.equal(formerr.rcode, 'FORMERR');
    assert.equal(formerr.id, 0x0102);
    assert.equal(resolve(Buffer.from([1, 2, 3]), view('c3'), 'udp').kind, 'drop');
    const response = dnsPacket.encode({ type: 'response', id: 1, flags: 0x8180, questions: [{ name: 'c4', type: 'A' }] });
    assert.equal(resolve(response, view('c3'), 'udp').kind, 'drop');
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const base = query('c4.new-bridge', 'A', { edns: 1232 });
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + (rnd() % 4); k++) b[rnd() % b.length] = rnd() & 0xff;
      resolve(b.subarray(0, rnd() % (b.length + 1)), view('c3'), i % 2 === 0 ? 'udp' : 'tcp');
    }
  });
});
