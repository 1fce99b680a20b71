/**
 * The name table built from a model snapshot: who is known where, and what each container sees.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTable, parseUpstreams, reverseName, type DnsTable } from '../../../src/dns/records.js';
import { tryParseIp } from '../../../src/model/cidr.js';
import { id, network, snapshot } from './fixture.js';

const bridge = network('bridge', { predefined: true });
const newBridge = network('new-bridge');
const back = network('back', { internal: true });
const defaults = { daemonDns: [], hostNameservers: ['192.0.2.53'] };

/** name → dotted addresses of the A records, for one network of one view. */
function names(table: DnsTable, asker: string, networkName: string): Record<string, string[]> {
  const view = table.views.get(id(asker));
  const n = view?.networks.find((x) => x.name === networkName);
  if (n === undefined) return {};
  const out: Record<string, string[]> = {};
  for (const [name, r] of n.names) out[name] = r.a.map((x) => [...x.rdata].join('.'));
  return out;
}

describe('buildTable', () => {
  // Seed 003: c1, c2 on the default bridge; c3, c4 on new-bridge.
  const seed = snapshot(
    [bridge, newBridge],
    [
      { name: 'c1', on: { bridge: { ipv4: '172.17.0.2/16' } } },
      { name: 'c2', on: { bridge: { ipv4: '172.17.0.3/16' } } },
      { name: 'c3', on: { 'new-bridge': { ipv4: '172.18.0.2/16' } } },
      { name: 'c4', hostname: 'box4', on: { 'new-bridge': { ipv4: '172.18.0.3/16', aliases: ['Web'] } } },
    ],
  );

  it('gives containers on the default bridge only no view (they use the host resolvers)', () => {
    const t = buildTable(seed, defaults);
    assert.equal(t.views.has(id('c1')), false);
    assert.equal(t.views.has(id('c2')), false);
    assert.equal(t.views.has(id('c3')), true);
  });

  it('knows a container by name, aliases, hostname and short ID, lowercased', () => {
    const t = buildTable(seed, defaults);
    const c4 = id('c4').slice(0, 12);
    const c3 = id('c3').slice(0, 12);
    assert.deepEqual(names(t, 'c3', 'new-bridge'), {
      c3: ['172.18.0.2'],
      [c3]: ['172.18.0.2'],
      c4: ['172.18.0.3'],
      web: ['172.18.0.3'],
      box4: ['172.18.0.3'],
      [c4]: ['172.18.0.3'],
    });
  });

  it('has PTR records name.network. for the addresses', () => {
    const t = buildTable(seed, defaults);
    const n = t.views.get(id('c3'))?.networks[0];
    const ptr = n?.reverse.get('3.0.18.172.in-addr.arpa');
    assert.deepEqual(ptr?.rdata, Buffer.from([2, 0x63, 0x34, 10, ...Buffer.from('new-bridge'), 0]));
  });

  it('leaves out containers that are not running; still gives them a view (for their start)', () => {
    const s = snapshot([newBridge], [
      { name: 'up', on: { 'new-bridge': { ipv4: '10.0.0.2/24' } } },
      { name: 'down', status: 'exited', on: { 'new-bridge': { ipv4: '10.0.0.3/24' } } },
      { name: 'new', status: 'created', on: { 'new-bridge': { ipv4: '10.0.0.4/24' } } },
    ]);
    const t = buildTable(s, defaults);
    assert.deepEqual(Object.keys(names(t, 'up', 'new-bridge')).filter((k) => !/^[0-9a-f]{12}$/.test(k)), ['up']);
    assert.equal(t.views.has(id('new')), true);
  });

  it('scopes views to shared networks; a container on two networks sees both, in interface order', () => {
    const s = snapshot([newBridge, back], [
      { name: 'front', on: { 'new-bridge': { ipv4: '10.1.0.2/24' } } },
      { name: 'app', on: { 'new-bridge': { ipv4: '10.1.0.3/24' }, back: { ipv4: '10.2.0.3/24' } } },
      { name: 'db', on: { back: { ipv4: '10.2.0.4/24' } } },
    ]);
    const t = buildTable(s, defaults);
    assert.deepEqual(t.views.get(id('front'))?.networks.map((n) => n.name), ['new-bridge']);
    assert.deepEqual(t.views.get(id('app'))?.networks.map((n) => n.name), ['new-bridge', 'back']);
    assert.equal(names(t, 'front', 'back').db, undefined);
    assert.deepEqual(names(t, 'app', 'back').db, ['10.2.0.4']);
  });

  it('puts every address of a shared alias under it', () => {
    const s = snapshot([newBridge], [
      { name: 'w1', on: { 'new-bridge': { ipv4: '10.0.0.2/24', aliases: ['web'] } } },
      { name: 'w2', on: { 'new-bridge': { ipv4: '10.0.0.3/24', aliases: ['web'] } } },
      { name: 'w3', on: { 'new-bridge': { ipv4: '10.0.0.4/24', aliases: ['web'] } } },
    ]);
    assert.deepEqual(names(buildTable(s, defaults), 'w1', 'new-bridge').web, ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  });

  it('has AAAA records on IPv6 networks', () => {
    const v6 = network('v6net', { ipv6: true });
    const s = snapshot([v6], [{ name: 'six', on: { v6net: { ipv4: '10.0.0.2/24', ipv6: 'fd00:1::2/64' } } }]);
    const r = buildTable(s, defaults).views.get(id('six'))?.networks[0]?.names.get('six');
    assert.deepEqual(r?.aaaa.map((x) => x.rdata.toString('hex')), ['fd000001000000000000000000000002']);
    assert.equal(r?.a.length, 1);
  });

  it('upstreams: the container --dns, else the daemon --dns, else the host', () => {
    const s = snapshot([newBridge], [
      { name: 'own', hostConfig: { dns: ['10.9.9.9'] }, on: { 'new-bridge': { ipv4: '10.0.0.2/24' } } },
      { name: 'plain', on: { 'new-bridge': { ipv4: '10.0.0.3/24' } } },
    ]);
    const host = buildTable(s, defaults);
    assert.deepEqual(host.views.get(id('own'))?.upstreams, [{ address: '10.9.9.9', port: 53, family: 4 }]);
    assert.deepEqual(host.views.get(id('plain'))?.upstreams, [{ address: '192.0.2.53', port: 53, family: 4 }]);
    const daemon = buildTable(s, { daemonDns: ['198.51.100.1'], hostNameservers: ['192.0.2.53'] });
    assert.deepEqual(daemon.views.get(id('plain'))?.upstreams.map((u) => u.address), ['198.51.100.1']);
  });

  it('forwards nothing for a container on internal networks only', () => {
    const s = snapshot([newBridge, back], [
      { name: 'inside', on: { back: { ipv4: '10.2.0.2/24' } } },
      { name: 'both', on: { back: { ipv4: '10.2.0.3/24' }, 'new-bridge': { ipv4: '10.1.0.3/24' } } },
    ]);
    const t = buildTable(s, defaults);
    assert.equal(t.views.get(id('inside'))?.mayForward, false);
    assert.equal(t.views.get(id('both'))?.mayForward, true);
  });

  it('notes ndots set above 0, and legacy link aliases per network', () => {
    const s = snapshot([newBridge], [
      { name: 'a', hostConfig: { dnsOptions: ['ndots:2'] }, on: { 'new-bridge': { ipv4: '10.0.0.2/24', links: ['b:db', 'c'] } } },
      { name: 'b', hostConfig: { dnsOptions: ['ndots:0'] }, on: { 'new-bridge': { ipv4: '10.0.0.3/24' } } },
    ]);
    const t = buildTable(s, defaults);
    assert.equal(t.views.get(id('a'))?.ndotsSet, true);
    assert.equal(t.views.get(id('b'))?.ndotsSet, false);
    assert.deepEqual([...(t.views.get(id('a'))?.linkAliases.get(newBridge.id) ?? [])], [['db', 'b'], ['c', 'c']]);
  });
});

describe('parseUpstreams and reverseName', () => {
  it('parses addresses with optional ports and drops bad ones', () => {
    assert.deepEqual(parseUpstreams(['1.2.3.4', '1.2.3.4:5353', 'fd00::1', '[fd00::1]:5353', 'nonsense', '1.2.3.4:0']), [
      { address: '1.2.3.4', port: 53, family: 4 },
      { address: '1.2.3.4', port: 5353, family: 4 },
      { address: 'fd00::1', port: 53, family: 6 },
      { address: 'fd00::1', port: 5353, family: 6 },
    ]);
  });

  it('writes in-addr.arpa and ip6.arpa names', () => {
    assert.equal(reverseName(tryParseIp('172.18.0.3')!), '3.0.18.172.in-addr.arpa');
    assert.equal(reverseName(tryParseIp('fd00::2')!), `2.${'0.'.repeat(29)}d.f.ip6.arpa`);
  });
});
