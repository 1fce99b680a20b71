/**
 * Global (overlay) networks in the network controller, with the real cluster service on the
 * in-memory etcd: two hosts, each with its own FakeKernel and store, wired by ClusterLink as
 * berthd wires them (wire, networks.init, start). The store is the authority: a network is
 * created there, every host adopts it from the watch, and a removal anywhere drops it
 * everywhere.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { Cluster } from '../../../src/cluster/cluster.js';
import { MemoryKv } from '../../../src/cluster/memory-kv.js';
import type { AnnouncedEndpoint } from '../../../src/cluster/types.js';
import { OverlayPeers } from '../../../src/drivers/overlay/peers.js';
import { ClusterLink, GWBRIDGE_DEVICE } from '../../../src/engine/cluster-link.js';
import { ContainerController, GWBRIDGE_NETWORK } from '../../../src/engine/containers.js';
import { GLOBAL_DEFAULT_POOLS, NetworkController, type NetworkConfig } from '../../../src/engine/networks.js';
import type { ModelSnapshot } from '../../../src/engine/observers.js';
import { BerthError } from '../../../src/errors.js';
import { DEFAULT_POOLS, DEFAULT_POOLS6 } from '../../../src/ipam/default-pools.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import type { KernelOp } from '../../../src/kernel/types.js';
import type { Network } from '../../../src/model/network.js';
import type { RuncRuntime } from '../../../src/runtime/runc.js';
import { Store } from '../../../src/store/store.js';
import { RecordingLogger } from '../../helpers/logger.js';

const config: NetworkConfig = { mtu: 1500, bip: '172.17.0.1/16', defaultPools: DEFAULT_POOLS, defaultPools6: DEFAULT_POOLS6 };
const VXLANID = 'com.docker.network.driver.overlay.vxlanid_list';
const ADVERTISE = { a: '192.0.2.1', b: '192.0.2.2' } as const;

interface Host {
  readonly name: 'a' | 'b';
  readonly advertise: string;
  readonly kernel: FakeKernel;
  readonly store: Store;
  readonly kv: MemoryKv;
  readonly nc: NetworkController;
  readonly containers: ContainerController;
  readonly cluster: Cluster;
  readonly link: ClusterLink;
  readonly log: RecordingLogger;
  /** Every snapshot the container layer's observers were given. */
  readonly snapshots: ModelSnapshot[];
}

/**
 * One host joined to the store `etcd`, built as daemon/main.ts builds it: controllers, change
 * listener, an observer, link.wire(), networks.init(), link.start(). `reuse` restarts a host
 * over the store and kernel it had.
 */
async function startHost(
  t: TestContext,
  etcd: MemoryKv,
  name: 'a' | 'b',
  reuse?: { store: Store; kernel: FakeKernel; advertise?: string },
): Promise<Host> {
  const store = reuse?.store ?? Store.open(':memory:');
  const kernel = reuse?.kernel ?? new FakeKernel();
  const log = new RecordingLogger();
  const nc = new NetworkController({ store, kernel, config, log });
  // The runtime is never reached here: nothing starts a container.
  const runtime = {} as RuncRuntime;
  const containers = new ContainerController({ store, kernel, networks: nc, runtime, config: { root: '/nonexistent', execRoot: '/nonexistent', mtu: 1500, dns: [] }, log });
  nc.setChangeListener(() => containers.notifyObservers());
  const snapshots: ModelSnapshot[] = [];
  containers.addObserver({ name: 'recorder', sync: (s: ModelSnapshot) => void snapshots.push(s) });
  const kv = etcd.connect();
  const advertise = reuse?.advertise ?? ADVERTISE[name];
  const cluster = new Cluster({ kv, hostId: `host-${name}`, advertise, leaseTtlSec: 60, log });
  const link = new ClusterLink({ cluster, networks: nc, containers, peers: new OverlayPeers(kernel, log), log });
  t.after(() => link.stop());
  if (reuse === undefined) t.after(() => store.close());
  link.wire();
  await nc.init();
  await link.start();
  return { name, advertise, kernel, store, kv, nc, containers, cluster, link, log, snapshots };
}

async function twoHosts(t: TestContext): Promise<{ etcd: MemoryKv; a: Host; b: Host }> {
  const etcd = new MemoryKv();
  const a = await startHost(t, etcd, 'a');
  const b = await startHost(t, etcd, 'b');
  return { etcd, a, b };
}

/** Polls `pred` every few ms until it holds, failing after `ms`. */
async function until(pred: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** `CODE: message` of a rejection, or 'no error'. */
function code(fn: () => unknown): Promise<string> {
  return Promise.resolve()
    .then(fn)
    .then(
      () => 'no error',
      (err) => (err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${err}`),
    );
}

function has(h: Host, name: string): boolean {
  return h.nc.all().some((n) => n.name === name);
}

function linkNames(kernel: FakeKernel): string[] {
  return kernel.listLinks(null).map((l) => l.name);
}

/** The link-add op that made `name`. */
function linkAddOf(kernel: FakeKernel, name: string): Extract<KernelOp, { kind: 'link-add' }> | undefined {
  return kernel.ops.find((o): o is Extract<KernelOp, { kind: 'link-add' }> => o.kind === 'link-add' && o.link.name === name);
}

const ov = (n: Network): string => `ov-${n.id.slice(0, 12)}`;
const vx = (n: Network): string => `vx-${n.id.slice(0, 12)}`;

describe('global networks without a cluster', () => {
  async function single() {
    const store = Store.open(':memory:');
    const kernel = new FakeKernel();
    const log = new RecordingLogger();
    const nc = new NetworkController({ store, kernel, config, log });
    await nc.init();
    return { store, kernel, nc, log };
  }

  it('refuses an overlay network, saying what the daemon needs, before any kernel work', async (t) => {
    const { store, kernel, nc } = await single();
    t.after(() => store.close());
    const n0 = kernel.ops.length;
    assert.match(await code(() => nc.create({ name: 'ov1', driver: 'overlay' })), /^ERR_DRIVER_UNSUPPORTED: overlay networks need a cluster store: start berthd with --cluster-store /);
    assert.match(await code(() => nc.create({ name: 'ov1', driver: 'overlay', scope: 'global' })), /^ERR_DRIVER_UNSUPPORTED: .*--cluster-store/);
    assert.equal(kernel.ops.length, n0);
    assert.deepEqual(nc.all().map((n) => n.name), ['none', 'host', 'bridge']);
  });

  it('keeps a stored global network as it is at reconcile, and refuses to remove it', async (t) => {
    const store = Store.open(':memory:');
    t.after(() => store.close());
    const id = randomBytes(32).toString('hex');
    const stored: Network = {
      id: id as Network['id'],
      name: 'left-over',
      driver: 'overlay',
      scope: 'global',
      created: '2026-01-01T00:00:00Z',
      internal: false,
      attachable: false,
      ingress: false,
      enableIPv4: true,
      enableIPv6: false,
      ipamDriver: 'default',
      ipamOptions: {},
      pools: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1', gatewayExplicit: false, auxAddresses: {}, fromDefaultPool: true }],
      options: { [VXLANID]: '4096' },
      labels: {},
      predefined: false,
    };
    store.put('network', id, stored);
    const kernel = new FakeKernel();
    const log = new RecordingLogger();
    const nc = new NetworkController({ store, kernel, config, log });
    await nc.init();
    assert.ok(log.has('warn', /^reconcile: global network kept as is, this daemon is not in a cluster$/));
    assert.ok(!kernel.ops.some((o) => o.kind === 'link-add' && /^(ov|vx)-/.test(o.link.name)), 'reconcile planned overlay links');
    assert.equal(await code(() => nc.remove('left-over')), 'ERR_CLUSTER: network left-over is global and this daemon is not in a cluster');
    assert.equal(nc.find('left-over').id, id);
    assert.equal(await nc.dropGlobal('nonexistent'), false);
  });
});

describe('global networks through the cluster store', () => {
  it('joins: docker_gwbridge made once per host, ICC off, masquerade on', async (t) => {
    const { a, b } = await twoHosts(t);
    for (const h of [a, b]) {
      assert.equal(h.link.advertise, h.advertise);
      const gw = h.nc.find(GWBRIDGE_NETWORK);
      assert.equal(gw.driver, 'bridge');
      assert.equal(gw.scope, 'local');
      assert.equal(gw.options['com.docker.network.bridge.name'], GWBRIDGE_DEVICE);
      assert.equal(gw.options['com.docker.network.bridge.enable_icc'], 'false');
      assert.equal(gw.options['com.docker.network.bridge.enable_ip_masquerade'], 'true');
      assert.ok(linkNames(h.kernel).includes('berth_gwbridge'));
    }
    // A restart over the same store finds it and makes no second one.
    const again = await startHost(t, new MemoryKv(), 'a', { store: a.store, kernel: a.kernel });
    assert.equal(again.nc.all().filter((n) => n.name === GWBRIDGE_NETWORK).length, 1);
  });

  it('creates on A (VNI, default /24 of 10.0.0.0/8, bridge + vxlan) and B adopts it with its own tunnel address', async (t) => {
    const { a, b } = await twoHosts(t);
    assert.deepEqual(GLOBAL_DEFAULT_POOLS, [{ base: '10.0.0.0/8', size: 24 }]);
    const n = await a.nc.create({ name: 'ov1', driver: 'overlay', attachable: true, labels: { tier: 'front' } });
    assert.equal(n.scope, 'global');
    assert.equal(n.driver, 'overlay');
    assert.equal(n.attachable, true);
    assert.deepEqual(n.labels, { tier: 'front' });
    assert.equal(n.options[VXLANID], '4096');
    assert.deepEqual(n.pools.map((p) => `${p.subnet} via ${p.gateway}`), ['10.0.0.0/24 via 10.0.0.1']);
    assert.deepEqual(a.store.get('network', n.id), n, 'stored on A');
    assert.equal(a.cluster.networks().find((x) => x.id === n.id)?.name, 'ov1', 'in the cluster store');

    const bridge = { name: ov(n), info: { kind: 'bridge' }, mtu: 1450, up: true, alias: `berth:net:${n.id}` };
    const vxlan = (local: string) => ({
      name: vx(n),
      info: { kind: 'vxlan', vni: 4096, port: 4789, local, learning: false, proxy: true },
      mtu: 1450,
      master: ov(n),
      up: true,
      alias: `berth:net:${n.id}`,
    });
    assert.deepEqual(linkAddOf(a.kernel, ov(n))?.link, bridge);
    assert.deepEqual(linkAddOf(a.kernel, vx(n))?.link, vxlan(ADVERTISE.a));
    const index = a.kernel.listLinks(null).find((l) => l.name === ov(n))?.index;
    assert.equal(a.kernel.listLinks(null).find((l) => l.name === vx(n))?.master, index, 'the vxlan is a port of the bridge');
    assert.ok(!a.kernel.listAddrs(null).some((x) => x.cidr.startsWith('10.0.0.')), 'the overlay bridge has no address');

    await until(() => has(b, 'ov1'), 'B adopts ov1');
    const adopted = b.nc.find('ov1');
    assert.deepEqual(adopted, n, 'B has the network as the store has it');
    assert.deepEqual(b.store.get('network', n.id), n, 'stored on B');
    assert.deepEqual(linkAddOf(b.kernel, ov(n))?.link, bridge);
    assert.deepEqual(linkAddOf(b.kernel, vx(n))?.link, vxlan(ADVERTISE.b));
    assert.ok(b.log.has('info', /^network adopted from the cluster$/));
    // B's observers heard of it (the DNS and firewall follow adoptions).
    await until(() => b.snapshots.some((s) => s.networks.some((x) => x.id === n.id)), 'B notifies its observers');
    // A's own watch event for its creation changes nothing more.
    await until(() => a.cluster.networks().length === 1, 'A caches ov1');
    assert.equal(a.kernel.ops.filter((o) => o.kind === 'link-add' && o.link.name === vx(n)).length, 1);
  });

  it('gives the next network the next /24 and VNI, whichever host asks', async (t) => {
    const { a, b } = await twoHosts(t);
    const n1 = await a.nc.create({ name: 'ov1', driver: 'overlay' });
    const n2 = await b.nc.create({ name: 'ov2', driver: 'overlay' });
    const n3 = await b.nc.create({ name: 'ov3', driver: 'overlay', pools: [{ subnet: '10.200.0.0/16' }] });
    assert.deepEqual([n1, n2, n3].map((n) => [n.options[VXLANID], n.pools[0]?.subnet]), [
      ['4096', '10.0.0.0/24'],
      ['4097', '10.0.1.0/24'],
      ['4098', '10.200.0.0/16'],
    ]);
    await until(() => ['ov1', 'ov2', 'ov3'].every((x) => has(a, x) && has(b, x)), 'both hosts have the three');
    const info = linkAddOf(a.kernel, vx(n3))?.link.info;
    assert.ok(info?.kind === 'vxlan');
    assert.equal(info.vni, 4098);
    assert.equal(info.local, ADVERTISE.a);
  });

  it('avoids the local subnets other hosts publish, and stops avoiding them once they go', async (t) => {
    const { a, b } = await twoHosts(t);
    const local = await b.nc.create({ name: 'lan', pools: [{ subnet: '10.0.0.0/23' }] });
    const n1 = await a.nc.create({ name: 'ov1', driver: 'overlay' });
    assert.equal(n1.pools[0]?.subnet, '10.0.2.0/24', "A's default subnet skips B's local 10.0.0.0/23");
    const overlap = 'ERR_POOL_OVERLAP: invalid pool request: Pool overlaps with other one on this address space';
    assert.equal(await code(() => a.nc.create({ name: 'ov2', driver: 'overlay', pools: [{ subnet: '10.0.1.0/24' }] })), overlap);
    await b.nc.remove(local.id);
    const n2 = await a.nc.create({ name: 'ov2', driver: 'overlay' });
    assert.equal(n2.pools[0]?.subnet, '10.0.0.0/24', "B's subnet is free again once its network is gone");
  });

  it('refuses a --subnet overlapping a global network or a local one, and a taken name, before any kernel work', async (t) => {
    const { a, b } = await twoHosts(t);
    await a.nc.create({ name: 'ov1', driver: 'overlay', pools: [{ subnet: '10.10.0.0/16' }] });
    await until(() => has(b, 'ov1'), 'B adopts ov1');
    const gwSubnet = b.nc.find(GWBRIDGE_NETWORK).pools[0]?.subnet;
    assert.equal(gwSubnet, '172.18.0.0/16');
    const n0 = { a: a.kernel.ops.length, b: b.kernel.ops.length };
    const overlap = 'ERR_POOL_OVERLAP: invalid pool request: Pool overlaps with other one on this address space';
    assert.equal(await code(() => b.nc.create({ name: 'ov2', driver: 'overlay', pools: [{ subnet: '10.10.128.0/24' }] })), overlap);
    assert.equal(await code(() => a.nc.create({ name: 'ov2', driver: 'overlay', pools: [{ subnet: '10.0.0.0/8' }] })), overlap);
    assert.equal(await code(() => b.nc.create({ name: 'ov2', driver: 'overlay', pools: [{ subnet: '172.18.5.0/24' }] })), overlap, 'a local subnet of the creating host');
    assert.equal(await code(() => b.nc.create({ name: 'ov1', driver: 'overlay' })), 'ERR_NETWORK_EXISTS: network with name ov1 already exists');
    assert.equal(await code(() => a.nc.create({ name: 'ov1', driver: 'overlay' })), 'ERR_NETWORK_EXISTS: network with name ov1 already exists');
    assert.equal(await code(() => b.nc.create({ name: 'ov1', driver: 'bridge' })), 'ERR_NETWORK_EXISTS: network with name ov1 already exists');
    assert.deepEqual({ a: a.kernel.ops.length, b: b.kernel.ops.length }, n0);
    assert.deepEqual(a.cluster.networks().map((n) => n.name), ['ov1']);
  });

  it('refuses a taken name in the store even when this host has not heard of the network yet', async (t) => {
    const { a, b } = await twoHosts(t);
    b.kv.pauseWatches(true);
    await a.nc.create({ name: 'late', driver: 'overlay' });
    assert.equal(has(b, 'late'), false);
    const n0 = b.kernel.ops.length;
    assert.equal(await code(() => b.nc.create({ name: 'late', driver: 'overlay' })), 'ERR_NETWORK_EXISTS: network with name late already exists');
    assert.equal(b.kernel.ops.length, n0);
    b.kv.pauseWatches(false);
    await until(() => has(b, 'late'), 'B adopts late once its watch catches up');
  });

  it('refuses scopes the driver does not have', async (t) => {
    const { a } = await twoHosts(t);
    const n0 = a.kernel.ops.length;
    assert.equal(
      await code(() => a.nc.create({ name: 'x', driver: 'overlay', scope: 'local' })),
      'ERR_INVALID_PARAMETER: scope "local" is not supported by the overlay driver: only "global"',
    );
    assert.equal(
      await code(() => a.nc.create({ name: 'x', driver: 'overlay', scope: 'swarm' })),
      'ERR_INVALID_PARAMETER: scope "swarm" is not supported by the overlay driver: only "global"',
    );
    assert.equal(
      await code(() => a.nc.create({ name: 'x', driver: 'bridge', scope: 'global' })),
      'ERR_INVALID_PARAMETER: scope "global" is not supported by the bridge driver: only "local"',
    );
    assert.match(await code(() => a.nc.create({ name: 'x', driver: 'overlay', enableIPv6: true })), /^ERR_INVALID_PARAMETER: berth overlay networks are IPv4-only$/);
    assert.equal(a.kernel.ops.length, n0);
    assert.deepEqual(a.cluster.networks(), []);
    // scope "global" spelled out is fine for overlay.
    assert.equal((await a.nc.create({ name: 'x', driver: 'overlay', scope: 'global' })).scope, 'global');
  });

  it('does not adopt a network whose name a local network of B has: logged, nothing in B’s kernel', async (t) => {
    const { a, b } = await twoHosts(t);
    const local = await b.nc.create({ name: 'clash' });
    const n0 = b.kernel.ops.length;
    const n = await a.nc.create({ name: 'clash', driver: 'overlay' });
    await until(() => b.log.has('error', /^cluster network not adopted: a local network has its name$/), 'B logs the clash');
    const line = b.log.lines.find((l) => l.msg.startsWith('cluster network not adopted'));
    assert.deepEqual(line?.fields, { name: 'clash', id: n.id, local: local.id });
    assert.equal(b.nc.find('clash').id, local.id);
    assert.equal(b.nc.all().filter((x) => x.name === 'clash').length, 1);
    assert.equal(b.store.get('network', n.id), undefined);
    assert.equal(b.kernel.ops.length, n0, 'B changed its kernel');
    assert.ok(!linkNames(b.kernel).includes(vx(n)));
    // A still has it, and the store too.
    assert.equal(a.nc.find('clash').id, n.id);
    // Once B's local network goes, B adopts the global one.
    await b.nc.remove(local.id);
    assert.equal(b.nc.find('clash').id, n.id);
    assert.ok(linkNames(b.kernel).includes(vx(n)), 'B made the vxlan of the adopted network');
  });

  it('removes on B: gone from the store, B and A (links deleted in both kernels)', async (t) => {
    const { a, b } = await twoHosts(t);
    const n = await a.nc.create({ name: 'rm1', driver: 'overlay' });
    await until(() => has(b, 'rm1'), 'B adopts rm1');
    const a0 = a.kernel.ops.length;
    const removed = await b.nc.remove('rm1');
    assert.equal(removed.id, n.id);
    assert.equal(has(b, 'rm1'), false);
    assert.equal(b.store.get('network', n.id), undefined);
    assert.ok(!linkNames(b.kernel).some((l) => l === ov(n) || l === vx(n)));
    assert.deepEqual(b.cluster.networks(), []);
    await until(() => !has(a, 'rm1'), 'A drops rm1');
    assert.deepEqual(
      a.kernel.ops.slice(a0).map((o) => (o.kind === 'link-del' ? `del ${o.name}` : o.kind)),
      [`del ${vx(n)}`, `del ${ov(n)}`],
    );
    assert.ok(!linkNames(a.kernel).some((l) => l === ov(n) || l === vx(n)));
    assert.equal(a.store.get('network', n.id), undefined);
    assert.ok(a.log.has('info', /^network removed by the cluster$/));
    // The name and the subnet are free again.
    const again = await a.nc.create({ name: 'rm1', driver: 'overlay' });
    assert.equal(again.pools[0]?.subnet, '10.0.0.0/24');
    assert.equal(again.options[VXLANID], '4096');
  });

  it('refuses the removal while any host holds an address on it, and keeps the network everywhere', async (t) => {
    const { a, b } = await twoHosts(t);
    const n = await a.nc.create({ name: 'busy', driver: 'overlay' });
    await until(() => has(b, 'busy'), 'B adopts busy');
    const ip = await a.cluster.claimAddress(n.id, { endpointId: 'e'.repeat(64), containerName: 'web1' });
    assert.equal(ip, '10.0.0.2');
    const b0 = b.kernel.ops.length;
    assert.equal(
      await code(() => b.nc.remove('busy')),
      `ERR_NETWORK_IN_USE: error while removing network: network busy has active endpoints (name:"web1" id:"${'e'.repeat(12)}")`,
    );
    assert.equal(b.kernel.ops.length, b0);
    assert.ok(has(a, 'busy') && has(b, 'busy'));
    await a.cluster.releaseAddress(n.id, ip, 'e'.repeat(64));
    await b.nc.remove('busy');
    await until(() => !has(a, 'busy'), 'A drops busy');
  });

  it('programs A’s announced endpoints into B’s vxlan (FDB + neighbour) and gives B’s DNS their names', async (t) => {
    const { a, b } = await twoHosts(t);
    const n = await a.nc.create({ name: 'ov1', driver: 'overlay' });
    await until(() => has(b, 'ov1'), 'B adopts ov1');
    const ep: AnnouncedEndpoint = {
      networkId: n.id,
      endpointId: 'e'.repeat(64),
      containerId: 'c'.repeat(64),
      name: 'web1',
      aliases: ['web'],
      shortId: 'c'.repeat(12),
      ipv4: '10.0.0.2/24',
      mac: '02:42:0a:00:00:02',
      hostId: a.cluster.hostId,
      vtep: ADVERTISE.a,
    };
    await a.cluster.announce(ep);
    await until(() => b.kernel.ops.some((o) => o.kind === 'neigh-add'), 'B programs the neighbour');
    assert.deepEqual(
      b.kernel.ops.filter((o) => o.kind === 'fdb-add' || o.kind === 'neigh-add'),
      [
        { kind: 'fdb-add', netns: null, dev: vx(n), mac: '02:42:0a:00:00:02', dst: ADVERTISE.a },
        { kind: 'neigh-add', netns: null, dev: vx(n), ip: '10.0.0.2', mac: '02:42:0a:00:00:02' },
      ],
    );
    await until(() => b.snapshots.at(-1)?.remote?.length === 1, 'B’s observers see the remote endpoint');
    assert.deepEqual(b.snapshots.at(-1)?.remote, [ep]);
    assert.deepEqual(a.containers.snapshot().remote, [], 'a host never lists its own endpoints as remote');
    assert.ok(!a.kernel.ops.some((o) => o.kind === 'fdb-add'), 'A programmed its own endpoint as a peer');

    await a.cluster.withdraw(n.id, ep.endpointId);
    await until(() => b.kernel.ops.some((o) => o.kind === 'fdb-del'), 'B removes the entries');
    assert.deepEqual(
      b.kernel.ops.filter((o) => o.kind === 'fdb-del' || o.kind === 'neigh-del'),
      [
        { kind: 'neigh-del', netns: null, dev: vx(n), ip: '10.0.0.2' },
        { kind: 'fdb-del', netns: null, dev: vx(n), mac: '02:42:0a:00:00:02', dst: ADVERTISE.a },
      ],
    );
    await until(() => b.snapshots.at(-1)?.remote?.length === 0, 'B’s observers see it gone');
  });

  it('a restart with another --cluster-advertise re-makes the VXLANs with the new tunnel address', async (t) => {
    const { etcd, a, b } = await twoHosts(t);
    const n = await a.nc.create({ name: 'ov1', driver: 'overlay' });
    await until(() => has(b, 'ov1'), 'B adopts ov1');
    b.link.stop();
    const before = b.kernel.ops.length;
    const b2 = await startHost(t, etcd, 'b', { store: b.store, kernel: b.kernel, advertise: '192.0.2.99' });
    const ops = b2.kernel.ops.slice(before).filter((o) => (o.kind === 'link-del' || o.kind === 'link-add') && (o.kind === 'link-del' ? o.name : o.link.name) === vx(n));
    assert.deepEqual(ops.map((o) => o.kind), ['link-del', 'link-add']);
    const info = ops[1]?.kind === 'link-add' ? ops[1].link.info : undefined;
    assert.ok(info?.kind === 'vxlan' && info.local === '192.0.2.99', JSON.stringify(info));
    assert.ok(b2.log.has('info', /^tunnel address changed: VXLAN re-made$/));
    // The same address again: nothing is re-made.
    b2.link.stop();
    const again = b2.kernel.ops.length;
    const b3 = await startHost(t, etcd, 'b', { store: b.store, kernel: b.kernel, advertise: '192.0.2.99' });
    assert.ok(!b3.kernel.ops.slice(again).some((o) => o.kind === 'link-del' && o.name === vx(n)));
  });

  it('a restarted B drops what was removed while it was away and adopts what was created', async (t) => {
    const etcd = new MemoryKv();
    const a = await startHost(t, etcd, 'a');
    const b = await startHost(t, etcd, 'b');
    const gone = await a.nc.create({ name: 'gone', driver: 'overlay' });
    await until(() => has(b, 'gone'), 'B adopts gone');
    b.link.stop();
    await a.nc.remove('gone');
    const born = await a.nc.create({ name: 'born', driver: 'overlay' });
    const b0 = b.kernel.ops.length;
    const b2 = await startHost(t, etcd, 'b', { store: b.store, kernel: b.kernel });
    assert.equal(has(b2, 'gone'), false);
    assert.equal(b2.store.get('network', gone.id), undefined);
    assert.ok(!linkNames(b2.kernel).some((l) => l === ov(gone) || l === vx(gone)));
    assert.equal(b2.nc.find('born').id, born.id);
    assert.ok(linkNames(b2.kernel).includes(vx(born)));
    assert.deepEqual(
      b2.kernel.ops.slice(b0).map((o) => (o.kind === 'link-del' || o.kind === 'link-add' ? `${o.kind} ${'name' in o ? o.name : o.link.name}` : o.kind)),
      [`link-add ${ov(born)}`, `link-add ${vx(born)}`, `link-del ${vx(gone)}`, `link-del ${ov(gone)}`],
    );
  });

  it('syncGlobal drops a stale global network with no endpoints, keeps one with local endpoints', async (t) => {
    const { a } = await twoHosts(t);
    const n1 = await a.nc.create({ name: 'stale', driver: 'overlay' });
    const n2 = await a.nc.create({ name: 'used', driver: 'overlay' });
    let changes = 0;
    a.nc.setChangeListener(async () => void changes++);
    a.nc.setEndpointIndex({ endpointsOn: (id) => (id === n2.id ? [{ name: 'c1', id: 'ab'.repeat(32) }] : []) });
    await a.nc.syncGlobal([]);
    assert.equal(has(a, 'stale'), false);
    assert.equal(a.store.get('network', n1.id), undefined);
    assert.ok(!linkNames(a.kernel).includes(vx(n1)));
    assert.equal(a.nc.find('used').id, n2.id, 'kept while it has local endpoints');
    assert.ok(a.log.has('error', /^cluster removed a network that still has local endpoints; kept here$/));
    assert.equal(changes, 1);
    // Nothing to do: no change, no notification; local networks are never touched.
    await a.nc.syncGlobal([n2]);
    assert.equal(changes, 1);
    assert.ok(has(a, 'bridge') && has(a, GWBRIDGE_NETWORK));
    assert.equal(await a.nc.dropGlobal(a.nc.find(GWBRIDGE_NETWORK).id), false, 'dropGlobal refuses a local network');
    assert.ok(has(a, GWBRIDGE_NETWORK));
  });

  it('adoptGlobal is idempotent', async (t) => {
    const { a, b } = await twoHosts(t);
    const n = await a.nc.create({ name: 'ov1', driver: 'overlay' });
    await until(() => has(b, 'ov1'), 'B adopts ov1');
    const b0 = b.kernel.ops.length;
    assert.equal(b.nc.adoptGlobal(n), false);
    assert.equal(b.nc.adoptGlobal({ ...n, name: 'renamed' }), false, 'a known id is never adopted again');
    assert.equal(b.kernel.ops.length, b0);
    assert.equal(b.nc.find(n.id).name, 'ov1');
  });

  it(
    'a creation whose adoption fails on the creating host is reported and leaves nothing behind',
    async (t) => {
      const { a, b } = await twoHosts(t);
      a.kernel.failAt = a.kernel.ops.length + 1; // the vxlan link-add
      const result = await code(() => a.nc.create({ name: 'broken', driver: 'overlay' }));
      assert.match(result, /^ERR_KERNEL: /, 'the kernel failure is what the client hears');
      assert.deepEqual(a.cluster.networks(), [], 'the store keeps a network no host can remove by name');
      // B may have adopted it from the watch meanwhile; the removal takes it away again.
      await until(() => !has(b, 'broken'), 'B drops the network A could not make');
    },
  );
});
