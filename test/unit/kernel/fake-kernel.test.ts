// The FakeKernel's model: reads reflect writes, and the errors a real kernel gives happen here too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KernelError } from '../../../src/errors.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';

const C1 = '/run/berth/netns/c1';

const errno = (n: number) => (err: unknown) => err instanceof KernelError && err.errno === n;

describe('FakeKernel', () => {
  it('models a veth with its peer in another netns, and its end when that netns goes', () => {
    const kernel = new FakeKernel({ hostLinks: [{ name: 'eth0' }] });
    kernel.linkAdd(null, { name: 'br0', info: { kind: 'bridge' }, mac: '02:42:AC:11:00:01', up: true, alias: 'berth:n1' });
    kernel.netnsAdd(C1);
    kernel.linkAdd(null, {
      name: 'vh1',
      info: { kind: 'veth', peerName: 'eth0', peerNetns: C1, peerUp: true, peerMtu: 1400 },
      master: 'br0',
      up: true,
    });
    const host = kernel.listLinks(null);
    const br0 = host.find((l) => l.name === 'br0');
    assert.deepEqual(br0, { index: 3, name: 'br0', kind: 'bridge', mac: '02:42:ac:11:00:01', mtu: 1500, up: true, master: undefined, alias: 'berth:n1', group: 0 });
    assert.equal(host.find((l) => l.name === 'vh1')?.master, br0.index);
    const peer = kernel.listLinks(C1).find((l) => l.name === 'eth0');
    assert.equal(peer?.up, true);
    assert.equal(peer?.mtu, 1400);

    kernel.addrAdd(C1, 'eth0', '10.0.0.2/24');
    kernel.routeAdd(C1, 'default', '10.0.0.1');
    kernel.routeAdd(C1, 'default6', 'fd00::1', 'eth0');
    assert.deepEqual(kernel.listAddrs(C1), [{ ifindex: peer.index, family: 4, cidr: '10.0.0.2/24' }]);
    assert.deepEqual(kernel.listRoutes(C1), [
      { family: 4, dst: 'default', gateway: '10.0.0.1', oif: undefined },
      { family: 6, dst: 'default', gateway: 'fd00::1', oif: peer.index },
    ]);

    kernel.netnsDel(C1);
    assert.deepEqual(
      kernel.listLinks(null).map((l) => l.name),
      ['lo', 'eth0', 'br0'],
    );
  });

  it('creates a link from the host straight into another netns, parent found in the host', () => {
    const kernel = new FakeKernel({ hostLinks: [{ name: 'eth0' }], unsupportedLinkKinds: ['ipvlan'] });
    kernel.netnsAdd(C1);
    kernel.linkAdd(null, {
      name: 'tmp0',
      info: { kind: 'macvlan', mode: 'bridge', parent: 'eth0' },
      mac: '02:42:0a:00:00:02',
      targetNetns: C1,
    });
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'eth0']);
    assert.deepEqual(kernel.listLinks(C1).map((l) => `${l.name} ${l.kind} ${l.mac}`), ['lo undefined 00:00:00:00:00:00', 'tmp0 macvlan 02:42:0a:00:00:02']);
    // The name is checked where the link lands: eth0 in the sandbox is fine.
    kernel.linkSet({ kind: 'link-set', netns: C1, name: 'tmp0', newName: 'eth0' });
    assert.throws(
      () => kernel.linkAdd(null, { name: 'eth0', info: { kind: 'macvlan', mode: 'bridge', parent: 'eth0' }, targetNetns: C1 }),
      errno(17),
    );
    assert.throws(
      () => kernel.linkAdd(null, { name: 'x', info: { kind: 'macvlan', mode: 'bridge', parent: 'eth9' }, targetNetns: C1 }),
      errno(19),
    );
    // A kernel without the link type: probe says so, create fails with EOPNOTSUPP.
    assert.equal(kernel.linkKindSupported(null, 'ipvlan'), false);
    assert.equal(kernel.linkKindSupported(null, 'macvlan'), true);
    assert.throws(
      () => kernel.linkAdd(null, { name: 'x', info: { kind: 'ipvlan', mode: 'l2', parent: 'eth0' }, targetNetns: C1 }),
      errno(95),
    );
    kernel.netnsDel(C1);
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'eth0'], 'the macvlan went with its netns, the parent stayed');
  });

  it('deletes with onlyIfAlias only a link that carries the alias', () => {
    const kernel = new FakeKernel({ hostLinks: [{ name: 'eth0.10' }] });
    kernel.linkAdd(null, { name: 'dm-1', info: { kind: 'dummy' }, alias: 'berth:net:1' });
    kernel.linkDel(null, 'eth0.10', 'berth:net:1');
    kernel.linkDel(null, 'dm-1', 'berth:net:1');
    kernel.linkDel(null, 'gone', 'berth:net:1');
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'eth0.10']);
    assert.deepEqual(kernel.ops.slice(-3), [
      { kind: 'link-del', netns: null, name: 'eth0.10', onlyIfAlias: 'berth:net:1' },
      { kind: 'link-del', netns: null, name: 'dm-1', onlyIfAlias: 'berth:net:1' },
      { kind: 'link-del', netns: null, name: 'gone', onlyIfAlias: 'berth:net:1' },
    ]);
  });

  it('fails like the kernel: EEXIST, ENODEV, ENOENT; deletes accept absence', () => {
    const kernel = new FakeKernel();
    kernel.linkAdd(null, { name: 'br0', info: { kind: 'bridge' } });
    assert.throws(() => kernel.linkAdd(null, { name: 'br0', info: { kind: 'bridge' } }), errno(17));
    assert.throws(() => kernel.linkAdd(null, { name: 'mv0', info: { kind: 'macvlan', mode: 'bridge', parent: 'eth9' } }), errno(19));
    assert.throws(() => kernel.addrAdd(null, 'nope', '10.0.0.1/24'), errno(19));
    assert.throws(() => kernel.linkAdd(C1, { name: 'x', info: { kind: 'bridge' } }), errno(2));
    kernel.addrAdd(null, 'br0', '10.0.0.1/24');
    assert.throws(() => kernel.addrAdd(null, 'br0', '10.0.0.1/24'), errno(17));
    kernel.routeAdd(null, '10.9.0.0/16', '10.0.0.254');
    assert.throws(() => kernel.routeAdd(null, '10.9.0.0/16', '10.0.0.253'), errno(17));

    const before = kernel.ops.length;
    kernel.linkDel(null, 'nope');
    kernel.addrDel(null, 'br0', '10.7.0.1/24');
    kernel.routeDel(null, '10.8.0.0/16');
    kernel.neighDel(null, 'br0', '10.0.0.9');
    kernel.fdbDel(null, 'br0', '02:00:00:00:00:01', '192.0.2.1');
    kernel.netnsDel(C1);
    assert.equal(kernel.ops.length, before + 6, 'deletes of absent things succeed and are recorded');

    assert.match(
      (() => {
        try {
          kernel.linkAdd(null, { name: 'br0', info: { kind: 'bridge' } });
          return '';
        } catch (err) {
          return (err as Error).message;
        }
      })(),
      /^link-add br0: File exists \(EEXIST\)$/,
    );
  });

  it('renames, re-parents and releases links', () => {
    const kernel = new FakeKernel();
    kernel.linkAdd(null, { name: 'br0', info: { kind: 'bridge' } });
    kernel.netnsAdd(C1);
    kernel.linkAdd(C1, { name: 'tmp0', info: { kind: 'veth', peerName: 'vh1', peerNetns: null } });
    kernel.linkSet({ kind: 'link-set', netns: C1, name: 'tmp0', newName: 'eth0', up: true });
    kernel.linkSet({ kind: 'link-set', netns: null, name: 'vh1', master: 'br0' });
    assert.equal(kernel.listLinks(null).find((l) => l.name === 'vh1')?.master, 2);
    kernel.linkDel(null, 'br0');
    assert.equal(kernel.listLinks(null).find((l) => l.name === 'vh1')?.master, undefined, 'deleting the bridge frees its ports');
    kernel.linkDel(C1, 'eth0');
    assert.deepEqual(
      kernel.listLinks(null).map((l) => l.name),
      ['lo'],
      'deleting one end of a veth deletes the other',
    );
  });

  it('keeps sysctls per netns and records nft scripts', async () => {
    const kernel = new FakeKernel({ hostSysctls: { 'net/ipv4/ip_forward': '0' } });
    kernel.netnsAdd(C1);
    kernel.sysctlSet(C1, 'net/ipv4/ip_forward', '1');
    assert.equal(kernel.sysctlGet(C1, 'net/ipv4/ip_forward'), '1');
    assert.equal(kernel.sysctlGet(null, 'net/ipv4/ip_forward'), '0');
    assert.throws(() => kernel.sysctlGet(null, 'net/ipv4/nope'), errno(2));
    await kernel.nftApply(C1, 'table inet berth {}\n');
    assert.deepEqual(kernel.nftScripts, [{ netns: C1, script: 'table inet berth {}\n' }]);
    assert.deepEqual(await kernel.nftList(C1), { nftables: [] });
  });

  it('fails once at the requested op index with the requested errno', () => {
    const kernel = new FakeKernel({ failAt: 1, failErrno: 16 });
    kernel.netnsAdd(C1);
    assert.throws(() => kernel.linkAdd(C1, { name: 'br0', info: { kind: 'bridge' } }), (err: unknown) => errno(16)(err) && /injected failure/.test((err as Error).message));
    kernel.linkAdd(C1, { name: 'br0', info: { kind: 'bridge' } });
    assert.equal(kernel.ops.length, 2);
  });
});
