import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/engine/log.js';
import { NetworkController, type NetworkConfig } from '../../../src/engine/networks.js';
import { DEFAULT_POOLS, DEFAULT_POOLS6 } from '../../../src/ipam/default-pools.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import { Store } from '../../../src/store/store.js';

const config: NetworkConfig = { mtu: 1500, bip: '172.17.0.1/16', defaultPools: DEFAULT_POOLS, defaultPools6: DEFAULT_POOLS6 };

async function setup(kernel = new FakeKernel()) {
  const store = Store.open(':memory:');
  const nc = new NetworkController({ store, kernel, config, log: silentLogger });
  await nc.init();
  return { store, kernel, nc };
}

function code(fn: () => unknown): Promise<string> {
  return Promise.resolve()
    .then(fn)
    .then(
      () => 'no error',
      (err) => (err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${err}`),
    );
}

describe('NetworkController', () => {
  it('creates the predefined networks once, and berth0 with its gateway', async () => {
    const { store, kernel, nc } = await setup();
    assert.deepEqual(nc.all().map((n) => `${n.name}/${n.driver}`), ['none/null', 'host/host', 'bridge/bridge']);
    const add = kernel.ops.find((o) => o.kind === 'link-add');
    assert.ok(add?.kind === 'link-add');
    assert.equal(add.link.name, 'berth0');
    assert.deepEqual(kernel.ops.filter((o) => o.kind === 'addr-add').map((o) => o.kind === 'addr-add' && o.cidr), ['172.17.0.1/16']);
    // A second controller over the same store makes nothing new.
    const again = new NetworkController({ store, kernel, config, log: silentLogger });
    const before = kernel.ops.length;
    await again.init();
    assert.equal(again.all().length, 3);
    assert.equal(kernel.ops.length, before, 'init on an existing store changed the kernel');
  });

  it('plans a user bridge: br-<id>, explicit MAC, alias, gateway from the ip-range', async () => {
    const { kernel, nc } = await setup();
    const n0 = kernel.ops.length;
    const n = await nc.create({ name: 'personal', pools: [{ subnet: '172.21.0.0/16', ipRange: '172.21.240.0/20' }] });
    assert.deepEqual(kernel.ops.slice(n0), [
      {
        kind: 'link-add',
        netns: null,
        link: {
          name: `br-${n.id.slice(0, 12)}`,
          info: { kind: 'bridge' },
          mac: `02:42:${n.id.slice(0, 8).match(/../g)!.join(':')}`,
          mtu: 1500,
          up: true,
          alias: `berth:net:${n.id}`,
        },
      },
      { kind: 'addr-add', netns: null, dev: `br-${n.id.slice(0, 12)}`, cidr: '172.21.240.0/16' },
    ]);
  });

  it('undoes the kernel work and stores nothing when an op fails', async () => {
    const kernel = new FakeKernel();
    const { store, nc } = await setup(kernel);
    const links = kernel.listLinks(null).map((l) => l.name);
    kernel.failAt = kernel.ops.length + 1; // the addr-add after the bridge
    assert.match(await code(() => nc.create({ name: 'x' })), /^ERR_KERNEL: create network x: /);
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), links, 'bridge not undone');
    assert.equal(store.list('network').length, 3);
    assert.equal(nc.all().length, 3);
    kernel.failAt = undefined;
    const n = await nc.create({ name: 'x' });
    assert.equal(n.pools[0]?.subnet, '172.18.0.0/16', 'the failed create kept its pool');
  });

  it('refuses what Docker refuses, before any kernel work', async () => {
    const { kernel, nc } = await setup();
    await nc.create({ name: 'a', pools: [{ subnet: '10.1.0.0/16' }] });
    const n0 = kernel.ops.length;
    const cases: [Parameters<NetworkController['create']>[0], string][] = [
      [{ name: 'a' }, 'ERR_NETWORK_EXISTS: network with name a already exists'],
      [{ name: 'bridge' }, 'ERR_PREDEFINED_NETWORK: operation is not permitted on predefined bridge network '],
      [{ name: 'none' }, 'ERR_PREDEFINED_NETWORK: operation is not permitted on predefined none network '],
      [{ name: 'h', driver: 'host' }, 'ERR_SINGLETON_NETWORK: only one instance of "host" network is allowed'],
      [{ name: 'n', driver: 'null' }, 'ERR_SINGLETON_NETWORK: only one instance of "null" network is allowed'],
      [{ name: 'd', driver: 'weave' }, 'ERR_DRIVER_NOT_FOUND: plugin "weave" not found'],
      [{ name: 'i', ipamDriver: 'dhcp' }, 'ERR_DRIVER_NOT_FOUND: plugin "dhcp" not found'],
      [{ name: 'o', pools: [{ subnet: '10.1.128.0/17' }] }, 'ERR_POOL_OVERLAP: invalid pool request: Pool overlaps with other one on this address space'],
      [{ name: '' }, 'ERR_INVALID_PARAMETER: invalid name: name is empty'],
      [{ name: 'bad\u0000name' }, 'ERR_INVALID_PARAMETER: invalid network name "bad\\u0000name": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
      [{ name: 'semi;colon' }, 'ERR_INVALID_PARAMETER: invalid network name "semi;colon": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
      [{ name: 'm', options: { 'com.docker.network.driver.mtu': '9' } }, 'ERR_INVALID_PARAMETER: invalid MTU number: 9'],
    ];
    for (const [req, want] of cases) assert.equal(await code(() => nc.create(req)), want, JSON.stringify(req));
    assert.equal(kernel.ops.length, n0, 'a refused request reached the kernel');
  });

  it('finds by full ID, name, unique prefix; ambiguity and absence as Docker says', async () => {
    const { nc } = await setup();
    const n = await nc.create({ name: 'findme' });
    assert.equal(nc.find(n.id).name, 'findme');
    assert.equal(nc.find('findme').id, n.id);
    assert.equal(nc.find(n.id.slice(0, 5)).id, n.id);
    assert.equal(await code(() => nc.find('zzz')), 'ERR_NETWORK_NOT_FOUND: network zzz not found');
    assert.match(await code(() => nc.find('')), /ERR_NETWORK_NOT_FOUND/);
  });

  it('removes: kernel teardown then store; predefined and in-use refused', async () => {
    const { store, kernel, nc } = await setup();
    const n = await nc.create({ name: 'gone' });
    await nc.remove('gone');
    assert.ok(!kernel.listLinks(null).some((l) => l.name === `br-${n.id.slice(0, 12)}`));
    assert.equal(store.get('network', n.id), undefined);
    assert.equal(await code(() => nc.remove('host')), 'ERR_PREDEFINED_NETWORK: host is a pre-defined network and cannot be removed');
    const busy = await nc.create({ name: 'busy' });
    nc.setEndpointIndex({ endpointsOn: (id) => (id === busy.id ? [{ name: 'c1', id: 'ab'.repeat(32) }] : []) });
    assert.equal(
      await code(() => nc.remove('busy')),
      `ERR_NETWORK_IN_USE: error while removing network: network busy has active endpoints (name:"c1" id:"${'ab'.repeat(6)}")`,
    );
  });

  it('prunes unused custom networks only, honouring label filters', async () => {
    const { nc } = await setup();
    await nc.create({ name: 'p1', labels: { keep: 'yes' } });
    await nc.create({ name: 'p2' });
    assert.deepEqual(await nc.prune(new Map([['label!', ['keep=yes']]])), ['p2']);
    assert.deepEqual(await nc.prune(new Map()), ['p1']);
    assert.deepEqual(nc.all().map((n) => n.name), ['none', 'host', 'bridge']);
  });

  it('reconcile re-creates a lost bridge and removes only our orphans', async () => {
    const { kernel, nc } = await setup();
    const n = await nc.create({ name: 'r' });
    const br = `br-${n.id.slice(0, 12)}`;
    kernel.linkDel(null, br);
    kernel.linkAdd(null, { name: 'br-orphan', info: { kind: 'bridge' }, alias: `berth:net:${'f'.repeat(64)}` });
    kernel.linkAdd(null, { name: 'theirs', info: { kind: 'dummy' }, alias: 'someone else' });
    nc.reconcile();
    const names = kernel.listLinks(null).map((l) => l.name);
    assert.ok(names.includes(br));
    assert.ok(!names.includes('br-orphan'));
    assert.ok(names.includes('theirs'));
    assert.ok(kernel.listAddrs(null).some((a) => a.cidr === '172.18.0.1/16'));
  });
});
