// The macvlan driver: options, Docker's error texts, and the kernel work it plans for each mode.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { macvlanDriver } from '../../../src/drivers/macvlan/plan.js';
import { parseMacvlanOptions } from '../../../src/drivers/macvlan/options.js';
import { getDriver } from '../../../src/drivers/registry.js';
import { planSandboxDrop } from '../../../src/engine/sandbox.js';
import { BerthError } from '../../../src/errors.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import { applyAll } from '../../../src/kernel/ops.js';
import type { KernelOp } from '../../../src/kernel/types.js';
import { dualStack, endpoint, hostView, id, network, SANDBOX, TEMP } from './fixture.js';

const ctx = { mtu: 1500 };
const ALIAS = `berth:net:${id('aaaa1111bbbb')}`;

/** `code: message` of what `fn` throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
  }
  return 'no error';
}

/** A FakeKernel whose host netns has `p0` (the parent) and optionally more links. */
function kernelWith(opts: { links?: string[]; unsupported?: string[] } = {}): FakeKernel {
  return new FakeKernel({
    hostLinks: (opts.links ?? ['p0']).map((name) => ({ name })),
    unsupportedLinkKinds: opts.unsupported ?? ['ipvlan', 'vlan', 'dummy'],
  });
}

describe('macvlan options', () => {
  it('defaults to bridge mode and takes the four kernel modes', () => {
    assert.deepEqual(parseMacvlanOptions(network('macvlan', { parent: 'p0' })), { mode: 'bridge', parent: 'p0', parentless: false });
    for (const mode of ['bridge', 'private', 'vepa', 'passthru']) {
      assert.equal(parseMacvlanOptions(network('macvlan', { parent: 'p0', macvlan_mode: mode })).mode, mode);
    }
    assert.deepEqual(parseMacvlanOptions(network('macvlan', {})), { mode: 'bridge', parent: 'dm-aaaa1111bbbb', parentless: true });
  });

  it("refuses what Docker refuses, in Docker's words", () => {
    assert.equal(
      failure(() => parseMacvlanOptions(network('macvlan', { parent: 'p0', macvlan_mode: 'l2' }))),
      "ERR_INVALID_PARAMETER: requested macvlan mode 'l2' is not valid, 'bridge' mode is the macvlan driver default",
    );
    assert.equal(
      failure(() => parseMacvlanOptions(network('macvlan', { parent: 'lo' }))),
      'ERR_INVALID_PARAMETER: loopback interface is not a valid macvlan parent link',
    );
    assert.match(failure(() => parseMacvlanOptions(network('macvlan', { parent: 'a b' }))), /^ERR_INVALID_PARAMETER: invalid -o parent interface name "a b"/);
    assert.match(failure(() => parseMacvlanOptions(network('macvlan', { parent: 'averyveryverylongname' }))), /longer than 15 characters/);
  });
});

describe('macvlan validate (with the host view the engine gives)', () => {
  const validate = (options: Record<string, string>, kernel = kernelWith(), others: Parameters<typeof hostView>[1] = []) =>
    failure(() => macvlanDriver.validate(network('macvlan', options), { ...ctx, host: hostView(kernel, others) }));

  it('accepts a parent that exists', () => {
    assert.equal(validate({ parent: 'p0' }), 'no error');
    assert.equal(validate({ parent: 'p0', macvlan_mode: 'passthru' }), 'no error');
  });

  it('a parent that does not exist gets Docker\'s error', () => {
    assert.equal(validate({ parent: 'eth9' }), 'ERR_INVALID_PARAMETER: -o parent interface was not found on the host: eth9');
    assert.equal(validate({ parent: 'eth9.10' }), 'ERR_INVALID_PARAMETER: -o parent interface was not found on the host: eth9');
  });

  it('802.1q parents: Docker\'s syntax errors, then the kernel must have VLAN support', () => {
    assert.equal(
      validate({ parent: 'p0.1.2' }),
      'ERR_INVALID_PARAMETER: required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received p0.1.2',
    );
    assert.equal(validate({ parent: 'p0.x' }), 'ERR_INVALID_PARAMETER: unable to parse a valid vlan id from: x (ex. eth0.10 for vlan 10)');
    assert.equal(validate({ parent: 'p0.4095' }), 'ERR_INVALID_PARAMETER: vlan id must be between 1-4094, received: 4095');
    assert.equal(validate({ parent: 'p0.0' }), 'ERR_INVALID_PARAMETER: vlan id must be between 1-4094, received: 0');
    assert.equal(
      validate({ parent: 'p0.10' }),
      'ERR_DRIVER_UNSUPPORTED: -o parent=p0.10 needs an 802.1q VLAN link p0.10 (id 10 on p0), which berth would create, ' +
        'but this kernel has no 802.1q VLAN support (link type "vlan"): use an interface that exists as the parent',
    );
    assert.equal(validate({ parent: 'p0.10' }, kernelWith({ unsupported: [] })), 'no error');
    // A p0.10 that exists is just a parent, whatever its name says.
    assert.equal(validate({ parent: 'p0.10' }, kernelWith({ links: ['p0', 'p0.10'] })), 'no error');
  });

  it('without -o parent: a dummy parent, which this kernel cannot make', () => {
    assert.equal(
      validate({}),
      'ERR_DRIVER_UNSUPPORTED: the macvlan driver needs -o parent=<host interface> on this host: without one it creates ' +
        'a dummy link (dm-aaaa1111bbbb) as the parent, and this kernel has no dummy link type',
    );
    assert.equal(validate({}, kernelWith({ unsupported: [] })), 'no error');
  });

  it('a kernel without macvlan says so first', () => {
    assert.equal(
      validate({ parent: 'eth9' }, kernelWith({ unsupported: ['macvlan'] })),
      "ERR_DRIVER_UNSUPPORTED: the macvlan driver needs the kernel's macvlan module, which this kernel does not have",
    );
  });

  it('parents shared with other networks: passthru alone, no ipvlan, no VLAN link berth made for another', () => {
    const other = network('macvlan', { parent: 'p0' }, { id: id('bbbb'), name: 'other' });
    assert.equal(validate({ parent: 'p0' }, kernelWith(), [other]), 'no error');
    assert.equal(
      validate({ parent: 'p0', macvlan_mode: 'passthru' }, kernelWith(), [other]),
      `ERR_INVALID_PARAMETER: cannot use mode passthru, macvlan network ${other.id} is already using parent interface p0`,
    );
    const pt = network('macvlan', { parent: 'p0', macvlan_mode: 'passthru' }, { id: id('cccc'), name: 'pt' });
    assert.equal(
      validate({ parent: 'p0' }, kernelWith(), [pt]),
      `ERR_INVALID_PARAMETER: macvlan network ${pt.id} is already using parent interface p0 in mode passthru`,
    );
    const iv = network('ipvlan', { parent: 'p0' }, { id: id('dddd'), name: 'iv' });
    assert.equal(
      validate({ parent: 'p0' }, kernelWith(), [iv]),
      'ERR_INVALID_PARAMETER: parent interface p0 is already used by ipvlan network iv: a link cannot be the parent of both macvlan and ipvlan links',
    );
    const owner = network('macvlan', { parent: 'p0.10' }, { id: id('eeee'), name: 'vl' });
    const kernel = kernelWith({ unsupported: [] });
    kernel.linkAdd(null, { name: 'p0.10', info: { kind: 'vlan', id: 10, parent: 'p0' }, alias: `berth:net:${owner.id}` });
    assert.equal(
      validate({ parent: 'p0.10' }, kernel, [owner]),
      'ERR_INVALID_PARAMETER: parent interface p0.10 was created by berth for network vl and is removed with it: create p0.10 yourself to use it in several networks',
    );
  });
});

describe('macvlan network create/remove/reconcile plans', () => {
  it('a parent the user has: nothing to create, nothing to remove', () => {
    const n = network('macvlan', { parent: 'p0' });
    const host = hostView(kernelWith());
    assert.deepEqual(macvlanDriver.planCreate(n, { ...ctx, host }), []);
    assert.deepEqual(macvlanDriver.planRemove(n, ctx), []);
    assert.deepEqual(macvlanDriver.planReconcile(n, ctx, { links: [], addrs: [] }), []);
  });

  it('p0.10 that does not exist: a VLAN link berth owns, removed only if it still carries our alias', () => {
    const n = network('macvlan', { parent: 'p0.10' });
    const create: KernelOp[] = [
      { kind: 'link-add', netns: null, link: { name: 'p0.10', info: { kind: 'vlan', id: 10, parent: 'p0' }, up: true, alias: ALIAS } },
    ];
    assert.deepEqual(macvlanDriver.planCreate(n, { ...ctx, host: hostView(kernelWith({ unsupported: [] })) }), create);
    assert.deepEqual(macvlanDriver.planCreate(n, ctx), create, 'without a host view, a dotted parent is made');
    assert.deepEqual(macvlanDriver.planRemove(n, ctx), [{ kind: 'link-del', netns: null, name: 'p0.10', onlyIfAlias: ALIAS }]);
    // Reconcile: re-created when missing, brought up when ours and down, else left alone.
    assert.deepEqual(macvlanDriver.planReconcile(n, ctx, { links: [], addrs: [] }), create);
    const link = { index: 5, name: 'p0.10', kind: 'vlan', mac: '02:00:00:00:00:05', mtu: 1500, up: false, master: undefined, alias: ALIAS, group: 0 };
    assert.deepEqual(macvlanDriver.planReconcile(n, ctx, { links: [link], addrs: [] }), [{ kind: 'link-set', netns: null, name: 'p0.10', up: true }]);
    assert.deepEqual(macvlanDriver.planReconcile(n, ctx, { links: [{ ...link, alias: undefined }], addrs: [] }), []);
  });

  it('a p0.10 the user made is used and survives the network', () => {
    const kernel = kernelWith({ links: ['p0', 'p0.10'] });
    const n = network('macvlan', { parent: 'p0.10' });
    assert.deepEqual(macvlanDriver.planCreate(n, { ...ctx, host: hostView(kernel) }), []);
    applyAll(kernel, macvlanDriver.planRemove(n, ctx));
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'p0', 'p0.10']);
  });

  it('no parent: the dm-<12 hex> dummy, owned', () => {
    const n = network('macvlan', {});
    assert.deepEqual(macvlanDriver.planCreate(n, ctx), [
      { kind: 'link-add', netns: null, link: { name: 'dm-aaaa1111bbbb', info: { kind: 'dummy' }, up: true, alias: ALIAS } },
    ]);
    assert.deepEqual(macvlanDriver.planRemove(n, ctx), [{ kind: 'link-del', netns: null, name: 'dm-aaaa1111bbbb', onlyIfAlias: ALIAS }]);
  });
});

describe('macvlan join/leave plans', () => {
  const join = (options: Record<string, string>, gateway = true, n = network('macvlan', options), ep = endpoint()) =>
    macvlanDriver.planJoin(n, ep, { netns: SANDBOX, hostIfName: TEMP, gateway }, ctx);

  /** The ops every join starts with, for `mode`. */
  const created = (mode: string, mac: boolean): KernelOp[] => [
    {
      kind: 'link-add',
      netns: null,
      link: {
        info: { kind: 'macvlan', mode, parent: 'p0' } as never,
        ...(mac ? { mac: '02:42:0a:fc:00:02' } : {}),
        name: TEMP,
        targetNetns: SANDBOX,
      },
    },
    { kind: 'link-set', netns: SANDBOX, name: TEMP, newName: 'eth0' },
    { kind: 'addr-add', netns: SANDBOX, dev: 'eth0', cidr: '10.252.0.2/24' },
    { kind: 'link-set', netns: SANDBOX, name: 'eth0', up: true },
  ];
  const route: KernelOp = { kind: 'route-add', netns: SANDBOX, dst: 'default', via: '10.252.0.1', dev: 'eth0' };

  for (const mode of ['bridge', 'private', 'vepa']) {
    it(`${mode}: created in the host on p0 straight into the sandbox with the endpoint's MAC, renamed, addressed, up, routed`, () => {
      assert.deepEqual(join({ parent: 'p0', macvlan_mode: mode }), [...created(mode, true), route]);
    });
  }

  it('passthru: no MAC asked (the kernel gives it the parent\'s)', () => {
    assert.deepEqual(join({ parent: 'p0', macvlan_mode: 'passthru' }), [...created('passthru', false), route]);
  });

  it('default mode is bridge; no route unless this endpoint gives the sandbox its gateway', () => {
    assert.deepEqual(join({ parent: 'p0' }, false), created('bridge', true));
  });

  it('dual stack: both addresses and both default routes', () => {
    const ops = join({ parent: 'p0' }, true, dualStack(network('macvlan', { parent: 'p0' })), endpoint({ ipv6: 'fd00:252::2/64' }));
    assert.deepEqual(ops.slice(2), [
      { kind: 'addr-add', netns: SANDBOX, dev: 'eth0', cidr: '10.252.0.2/24' },
      { kind: 'addr-add', netns: SANDBOX, dev: 'eth0', cidr: 'fd00:252::2/64' },
      { kind: 'link-set', netns: SANDBOX, name: 'eth0', up: true },
      route,
      { kind: 'route-add', netns: SANDBOX, dst: 'default6', via: 'fd00:252::1', dev: 'eth0' },
    ]);
  });

  it('a parent-less (internal) network gets no default route', () => {
    const ops = join({}, true);
    assert.equal(ops.some((o) => o.kind === 'route-add'), false);
    assert.equal(ops[0]?.kind === 'link-add' && ops[0].link.info.kind === 'macvlan' && ops[0].link.info.parent, 'dm-aaaa1111bbbb');
  });

  it('leave deletes the sandbox interface', () => {
    assert.deepEqual(macvlanDriver.planLeave(network('macvlan', { parent: 'p0' }), endpoint(), SANDBOX), [
      { kind: 'link-del', netns: SANDBOX, name: 'eth0' },
    ]);
  });

  it('before the sandbox is dropped: down, which frees the MAC on the parent at once', () => {
    assert.deepEqual(macvlanDriver.planDrop(network('macvlan', { parent: 'p0' }), endpoint(), SANDBOX), [
      { kind: 'link-set', netns: SANDBOX, name: 'eth0', up: false },
    ]);
    // The sandbox plan: every driver's drop work, last interface first; bridges have none.
    const mv = network('macvlan', { parent: 'p0' });
    const br = { ...network('macvlan', {}), id: id('ffff'), driver: 'bridge' as const, options: {} };
    const attachments = [
      { network: mv, endpoint: endpoint({ ifName: 'eth1', order: 2 }) },
      { network: br, endpoint: endpoint({ ifName: 'eth0', order: 1 }) },
      { network: mv, endpoint: endpoint({ ifName: 'eth2', order: 3 }) },
    ];
    assert.deepEqual(planSandboxDrop(SANDBOX, attachments), [
      { kind: 'link-set', netns: SANDBOX, name: 'eth2', up: false },
      { kind: 'link-set', netns: SANDBOX, name: 'eth1', up: false },
    ]);
  });

  it('applied to the fake kernel: eth0 with its own MAC in the sandbox, nothing new in the host', () => {
    const kernel = kernelWith();
    kernel.netnsAdd(SANDBOX);
    applyAll(kernel, join({ parent: 'p0' }));
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'p0']);
    const eth0 = kernel.listLinks(SANDBOX).find((l) => l.name === 'eth0');
    assert.equal(eth0?.kind, 'macvlan');
    assert.equal(eth0?.mac, '02:42:0a:fc:00:02');
    assert.equal(eth0?.up, true);
    assert.deepEqual(kernel.listRoutes(SANDBOX), [{ family: 4, dst: 'default', gateway: '10.252.0.1', oif: eth0?.index }]);
  });

  it('a failure at any step undoes the steps before it', () => {
    const plan = join({ parent: 'p0' });
    for (let failAt = 0; failAt < plan.length; failAt++) {
      const kernel = kernelWith();
      kernel.netnsAdd(SANDBOX);
      kernel.failAt = kernel.ops.length + failAt;
      assert.throws(() => applyAll(kernel, plan));
      assert.deepEqual(kernel.listLinks(SANDBOX).map((l) => l.name), ['lo'], `failure at op ${failAt} left links behind`);
      assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'p0']);
    }
  });
});

describe('registry', () => {
  it('knows macvlan and ipvlan as drivers with address pools', () => {
    assert.equal(getDriver('macvlan'), macvlanDriver);
    assert.equal(getDriver('macvlan').usesIpam, true);
    assert.equal(getDriver('ipvlan').name, 'ipvlan');
  });
});

describe('through the network controller (what `docker network create -d macvlan` gets)', () => {
  async function controller(kernel: FakeKernel) {
    const { NetworkController } = await import('../../../src/engine/networks.js');
    const { Store } = await import('../../../src/store/store.js');
    const { silentLogger } = await import('../../../src/engine/log.js');
    const { DEFAULT_POOLS, DEFAULT_POOLS6 } = await import('../../../src/ipam/default-pools.js');
    const nc = new NetworkController({
      store: Store.open(':memory:'),
      kernel,
      config: { mtu: 1500, bip: '172.17.0.1/16', defaultPools: DEFAULT_POOLS, defaultPools6: DEFAULT_POOLS6 },
      log: silentLogger,
    });
    await nc.init();
    return nc;
  }
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => 'no error',
      (err: unknown) => (err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${String(err)}`),
    );
  const pools = [{ subnet: '10.252.0.0/24', gateway: '10.252.0.1' }];

  it('creates on an existing parent without touching the kernel; the gateway stays off the host', async () => {
    const kernel = kernelWith();
    const nc = await controller(kernel);
    const before = kernel.ops.length;
    const n = await nc.create({ name: 'mv', driver: 'macvlan', pools, options: { parent: 'p0' } });
    assert.equal(n.driver, 'macvlan');
    assert.deepEqual(n.pools.map((p) => `${p.subnet} ${p.gateway}`), ['10.252.0.0/24 10.252.0.1']);
    assert.deepEqual(kernel.ops.slice(before), []);
    assert.equal(kernel.listAddrs(null).some((a) => a.cidr.startsWith('10.252.')), false);
    await nc.remove('mv');
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'p0', 'berth0']);
  });

  it("a missing parent: Docker's message; ipvlan and no-parent: this kernel's limits", async () => {
    const nc = await controller(kernelWith());
    assert.equal(
      await rejection(nc.create({ name: 'mv', driver: 'macvlan', pools, options: { parent: 'eth9' } })),
      'ERR_INVALID_PARAMETER: -o parent interface was not found on the host: eth9',
    );
    assert.equal(
      await rejection(nc.create({ name: 'iv', driver: 'ipvlan', pools, options: { parent: 'p0' } })),
      "ERR_DRIVER_UNSUPPORTED: the ipvlan driver needs the kernel's ipvlan module, which this kernel does not have",
    );
    assert.match(await rejection(nc.create({ name: 'mv', driver: 'macvlan', pools })), /^ERR_DRIVER_UNSUPPORTED: the macvlan driver needs -o parent=<host interface>/);
    assert.deepEqual(nc.all().map((n) => n.name), ['none', 'host', 'bridge']);
  });

  it('an 802.1q parent on a kernel that has it: made with the network, removed with it', async () => {
    const kernel = kernelWith({ unsupported: [] });
    const nc = await controller(kernel);
    const n = await nc.create({ name: 'vl', driver: 'macvlan', pools, options: { parent: 'p0.10' } });
    const link = kernel.listLinks(null).find((l) => l.name === 'p0.10');
    assert.equal(link?.kind, 'vlan');
    assert.equal(link?.alias, `berth:net:${n.id}`);
    await nc.remove('vl');
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo', 'p0', 'berth0']);
  });
});
