/**
 * Names from other hosts and the daemon's own legs: endpoints other hosts announce on a global
 * network (`snapshot.remote`) are known on that network only, and an overlay container's hidden
 * docker_gwbridge endpoint gives it no names and no view network.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import type { AnnouncedEndpoint } from '../../../src/cluster/types.js';
import { buildTable, type DnsTable } from '../../../src/dns/records.js';
import { resolve } from '../../../src/dns/resolver.js';
import type { ModelSnapshot } from '../../../src/engine/observers.js';
import type { Network } from '../../../src/model/network.js';
import { id, network, query, snapshot } from './fixture.js';

const ov: Network = { ...network('ov', { driver: 'overlay' }), scope: 'global' };
const ov2: Network = { ...network('ov2', { driver: 'overlay' }), scope: 'global' };
const newBridge = network('new-bridge');
const gwbridge = network('docker_gwbridge');
const defaults = { daemonDns: [], hostNameservers: ['192.0.2.53'] };

/** An endpoint host B announced. */
function remote(networkOf: Network, name: string, ipv4: string, extra: Partial<AnnouncedEndpoint> = {}): AnnouncedEndpoint {
  return {
    networkId: networkOf.id,
    endpointId: id(`rep-${name}`),
    containerId: id(`rc-${name}`),
    name,
    aliases: [],
    shortId: id(`rc-${name}`).slice(0, 12),
    ipv4,
    mac: '02:42:0a:00:00:09',
    hostId: 'host-b',
    vtep: '192.0.2.2',
    ...extra,
  };
}

/** name → dotted A addresses, on one network of one container's view. */
function names(table: DnsTable, asker: string, networkName: string): Record<string, string[]> {
  const n = table.views.get(id(asker))?.networks.find((x) => x.name === networkName);
  if (n === undefined) return {};
  const out: Record<string, string[]> = {};
  for (const [name, r] of n.names) out[name] = r.a.map((x) => [...x.rdata].join('.'));
  return out;
}

/** The answers the resolver gives `asker` for (name, type), decoded. */
function ask(table: DnsTable, asker: string, name: string, type: dnsPacket.RecordType = 'A'): string[] {
  const d = resolve(query(name, type), table.views.get(id(asker)), 'udp');
  if (d.kind !== 'answer') return [`(${d.kind})`];
  const p = dnsPacket.decode(d.packet) as dnsPacket.DecodedPacket & { rcode: string };
  if (p.rcode !== 'NOERROR') return [`(${p.rcode})`];
  return (p.answers ?? []).map((a) => String((a as { data: unknown }).data));
}

describe('buildTable: remote endpoints', () => {
  const base = snapshot(
    [ov, ov2, newBridge],
    [
      { name: 'local1', on: { ov: { ipv4: '10.0.0.2/24' } } },
      { name: 'elsewhere', on: { 'new-bridge': { ipv4: '172.18.0.2/16' } } },
      { name: 'both', on: { 'new-bridge': { ipv4: '172.18.0.3/16' }, ov2: { ipv4: '10.0.1.2/24' } } },
    ],
  );
  const web = remote(ov, 'Web', '10.0.0.3/24', { aliases: ['api', 'API.'], shortId: 'abcdef012345' });
  const s: ModelSnapshot = { ...base, remote: [web, remote(ov2, 'db', '10.0.1.3/24')] };

  it('knows a remote container by name, aliases and short ID (lowercased) beside the local ones', () => {
    const t = buildTable(s, defaults);
    const own = id('local1').slice(0, 12);
    assert.deepEqual(names(t, 'local1', 'ov'), {
      local1: ['10.0.0.2'],
      [own]: ['10.0.0.2'],
      web: ['10.0.0.3'],
      api: ['10.0.0.3'],
      abcdef012345: ['10.0.0.3'],
    });
    assert.deepEqual(ask(t, 'local1', 'web'), ['10.0.0.3']);
    assert.deepEqual(ask(t, 'local1', 'WEB.ov'), ['10.0.0.3']);
    assert.deepEqual(ask(t, 'local1', 'abcdef012345'), ['10.0.0.3']);
  });

  it('answers PTR for a remote address with name.network', () => {
    const t = buildTable(s, defaults);
    assert.deepEqual(ask(t, 'local1', '3.0.0.10.in-addr.arpa', 'PTR'), ['Web.ov']);
    assert.deepEqual(ask(t, 'local1', '2.0.0.10.in-addr.arpa', 'PTR'), ['local1.ov']);
  });

  it('keeps remote names to their network: not seen from another network', () => {
    const t = buildTable(s, defaults);
    assert.equal(names(t, 'elsewhere', 'new-bridge').web, undefined);
    assert.deepEqual(ask(t, 'elsewhere', 'web'), ['(forward)']);
    assert.deepEqual(ask(t, 'elsewhere', '3.0.0.10.in-addr.arpa', 'PTR'), ['(forward)']);
    // db (on ov2, from host B) for the container on ov2, not for the one on ov.
    assert.deepEqual(ask(t, 'both', 'db'), ['10.0.1.3']);
    assert.deepEqual(ask(t, 'local1', 'db'), ['(forward)']);
    assert.equal(names(t, 'local1', 'ov').db, undefined);
  });

  it('gives remote endpoints no view (they are served by their own host)', () => {
    const t = buildTable(s, defaults);
    assert.equal(t.views.has(web.containerId), false);
    assert.deepEqual([...t.views.keys()].sort(), [id('both'), id('elsewhere'), id('local1')].sort());
  });

  it('puts a name shared with a local container under both addresses; the local PTR wins an address clash', () => {
    const shared = snapshot([ov], [{ name: 'w1', on: { ov: { ipv4: '10.0.0.2/24', aliases: ['web'] } } }]);
    const t = buildTable(
      { ...shared, remote: [remote(ov, 'w2', '10.0.0.3/24', { aliases: ['web'] }), remote(ov, 'dup', '10.0.0.2/24')] },
      defaults,
    );
    assert.deepEqual(names(t, 'w1', 'ov').web, ['10.0.0.2', '10.0.0.3']);
    assert.deepEqual(names(t, 'w1', 'ov').dup, ['10.0.0.2']);
    assert.deepEqual(ask(t, 'w1', '2.0.0.10.in-addr.arpa', 'PTR'), ['w1.ov']);
  });

  it('has AAAA records for a remote IPv6 address, and drops unparsable addresses', () => {
    const t = buildTable(
      {
        ...snapshot([ov], [{ name: 'l', on: { ov: { ipv4: '10.0.0.2/24' } } }]),
        remote: [remote(ov, 'six', '10.0.0.5/24', { ipv6: 'fd00:1::5/64' }), remote(ov, 'bad', 'nonsense')],
      },
      defaults,
    );
    const n = t.views.get(id('l'))?.networks[0];
    assert.deepEqual(n?.names.get('six')?.aaaa.map((x) => x.rdata.toString('hex')), ['fd000001000000000000000000000005']);
    assert.deepEqual(n?.names.get('bad'), { a: [], aaaa: [] }, 'the name stays, with no records');
  });

  it('ignores announcements for networks this host does not have', () => {
    const t = buildTable({ ...base, remote: [remote(network('unknown'), 'ghost', '10.9.0.2/24')] }, defaults);
    for (const v of t.views.values()) for (const n of v.networks) assert.equal(n.names.has('ghost'), false);
  });
});

describe('buildTable: hidden endpoints', () => {
  // ovc: on the overlay (eth0) and, hidden, on docker_gwbridge (eth1), as the engine attaches it.
  const raw = snapshot(
    [ov, gwbridge],
    [
      { name: 'ovc', on: { ov: { ipv4: '10.0.0.2/24' }, docker_gwbridge: { ipv4: '172.18.0.2/16' } } },
      { name: 'peer', on: { ov: { ipv4: '10.0.0.3/24' } } },
      { name: 'onlygw', on: { docker_gwbridge: { ipv4: '172.18.0.4/16' } } },
      { name: 'visible', on: { docker_gwbridge: { ipv4: '172.18.0.5/16' } } },
    ],
  );
  const hide = new Set<string>([id('ovc'), id('onlygw')]);
  const s: ModelSnapshot = {
    ...raw,
    endpoints: raw.endpoints.map((e) => (e.networkId === gwbridge.id && hide.has(e.containerId) ? { ...e, hidden: true } : e)),
  };

  it('gives the hidden leg no view network: the overlay container sees its overlay only', () => {
    const t = buildTable(s, defaults);
    assert.deepEqual(t.views.get(id('ovc'))?.networks.map((n) => n.name), ['ov']);
    assert.equal(t.views.get(id('ovc'))?.mayForward, true);
    assert.equal(t.views.has(id('onlygw')), false, 'a container with hidden endpoints only has no view');
  });

  it('gives the hidden leg no names and no PTR on docker_gwbridge', () => {
    const t = buildTable(s, defaults);
    assert.deepEqual(Object.keys(names(t, 'visible', 'docker_gwbridge')).sort(), ['visible', id('visible').slice(0, 12)].sort());
    assert.deepEqual(ask(t, 'visible', 'ovc'), ['(forward)']);
    assert.deepEqual(ask(t, 'visible', '2.0.18.172.in-addr.arpa', 'PTR'), ['(forward)']);
    // On the overlay it is known as usual, by its overlay address only.
    assert.deepEqual(ask(t, 'peer', 'ovc'), ['10.0.0.2']);
  });

  it('without the hidden flag the same endpoint would be named (the test can fail)', () => {
    const t = buildTable(raw, defaults);
    assert.deepEqual(t.views.get(id('ovc'))?.networks.map((n) => n.name), ['ov', 'docker_gwbridge']);
    assert.deepEqual(ask(t, 'visible', 'ovc'), ['172.18.0.2']);
  });
});
