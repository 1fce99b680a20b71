// The ipvlan driver: options, the clear error on a kernel without ipvlan, and the planned
// kernel work per mode (which this kernel cannot run, so it is checked here only).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseIpvlanOptions } from '../../../src/drivers/ipvlan/options.js';
import { ipvlanDriver } from '../../../src/drivers/ipvlan/plan.js';
import { BerthError, KernelError } from '../../../src/errors.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import { applyAll } from '../../../src/kernel/ops.js';
import type { KernelOp } from '../../../src/kernel/types.js';
import { dualStack, endpoint, hostView, id, network, SANDBOX, TEMP } from './fixture.js';

const ctx = { mtu: 1500 };

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
  }
  return 'no error';
}

/** Like this machine's kernel: no ipvlan, no 802.1q, no dummy. */
const thisKernel = () => new FakeKernel({ hostLinks: [{ name: 'p0' }], unsupportedLinkKinds: ['ipvlan', 'vlan', 'dummy'] });
/** A kernel with everything. */
const fullKernel = () => new FakeKernel({ hostLinks: [{ name: 'p0' }] });

describe('ipvlan options', () => {
  it('defaults to l2 and bridge; takes the kernel\'s modes and flags', () => {
    assert.deepEqual(parseIpvlanOptions(network('ipvlan', { parent: 'p0' })), { mode: 'l2', flag: 'bridge', parent: 'p0', parentless: false });
    for (const mode of ['l2', 'l3', 'l3s']) assert.equal(parseIpvlanOptions(network('ipvlan', { parent: 'p0', ipvlan_mode: mode })).mode, mode);
    for (const flag of ['bridge', 'private', 'vepa']) assert.equal(parseIpvlanOptions(network('ipvlan', { parent: 'p0', ipvlan_flag: flag })).flag, flag);
    assert.equal(parseIpvlanOptions(network('ipvlan', {})).parent, 'di-aaaa1111bbbb');
  });

  it("refuses what Docker refuses, in Docker's words", () => {
    assert.equal(
      failure(() => parseIpvlanOptions(network('ipvlan', { ipvlan_mode: 'l4' }))),
      "ERR_INVALID_PARAMETER: requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default",
    );
    assert.equal(
      failure(() => parseIpvlanOptions(network('ipvlan', { ipvlan_flag: 'hairpin' }))),
      "ERR_INVALID_PARAMETER: requested ipvlan flag 'hairpin' is not valid, 'bridge' is the ipvlan driver default",
    );
    assert.equal(failure(() => parseIpvlanOptions(network('ipvlan', { parent: 'lo' }))), 'ERR_INVALID_PARAMETER: loopback interface is not a valid ipvlan parent link');
  });
});

describe('ipvlan validate', () => {
  const validate = (options: Record<string, string>, kernel: FakeKernel, others: Parameters<typeof hostView>[1] = []) =>
    failure(() => ipvlanDriver.validate(network('ipvlan', options), { ...ctx, host: hostView(kernel, others) }));

  it('a kernel without ipvlan: a clear error, before anything else is looked at', () => {
    const expected = "ERR_DRIVER_UNSUPPORTED: the ipvlan driver needs the kernel's ipvlan module, which this kernel does not have";
    assert.equal(validate({ parent: 'p0' }, thisKernel()), expected);
    assert.equal(validate({ parent: 'eth9', ipvlan_mode: 'bogus' }, thisKernel()), expected);
  });

  it('with ipvlan: parent checks as macvlan, one ipvlan network per parent, none shared with macvlan', () => {
    assert.equal(validate({ parent: 'p0', ipvlan_mode: 'l3' }, fullKernel()), 'no error');
    assert.equal(validate({ parent: 'eth9' }, fullKernel()), 'ERR_INVALID_PARAMETER: -o parent interface was not found on the host: eth9');
    assert.equal(validate({ parent: 'p0.10' }, fullKernel()), 'no error');
    assert.equal(validate({}, fullKernel()), 'no error');
    const other = network('ipvlan', { parent: 'p0' }, { id: id('bbbb'), name: 'other' });
    assert.equal(validate({ parent: 'p0' }, fullKernel(), [other]), 'ERR_INVALID_PARAMETER: network other is already using parent interface p0');
    const mv = network('macvlan', { parent: 'p0' }, { id: id('cccc'), name: 'mv' });
    assert.equal(
      validate({ parent: 'p0' }, fullKernel(), [mv]),
      'ERR_INVALID_PARAMETER: parent interface p0 is already used by macvlan network mv: a link cannot be the parent of both macvlan and ipvlan links',
    );
  });
});

describe('ipvlan join plans', () => {
  const join = (options: Record<string, string>, n = network('ipvlan', options), ep = endpoint(), gateway = true) =>
    ipvlanDriver.planJoin(n, ep, { netns: SANDBOX, hostIfName: TEMP, gateway }, ctx);

  const created = (mode: string, flag: string): KernelOp[] => [
    { kind: 'link-add', netns: null, link: { info: { kind: 'ipvlan', mode, flag, parent: 'p0' } as never, name: TEMP, targetNetns: SANDBOX } },
    { kind: 'link-set', netns: SANDBOX, name: TEMP, newName: 'eth0' },
    { kind: 'addr-add', netns: SANDBOX, dev: 'eth0', cidr: '10.252.0.2/24' },
    { kind: 'link-set', netns: SANDBOX, name: 'eth0', up: true },
  ];

  it('l2: no MAC of its own (ipvlans share the parent\'s), default route via the gateway', () => {
    assert.deepEqual(join({ parent: 'p0' }), [
      ...created('l2', 'bridge'),
      { kind: 'route-add', netns: SANDBOX, dst: 'default', via: '10.252.0.1', dev: 'eth0' },
    ]);
  });

  for (const mode of ['l3', 'l3s']) {
    it(`${mode}: the default route is the interface itself (no gateway, no ARP)`, () => {
      assert.deepEqual(join({ parent: 'p0', ipvlan_mode: mode, ipvlan_flag: 'private' }), [
        ...created(mode, 'private'),
        { kind: 'route-add', netns: SANDBOX, dst: 'default', dev: 'eth0' },
      ]);
      const v6 = join({ parent: 'p0', ipvlan_mode: mode }, dualStack(network('ipvlan', { parent: 'p0', ipvlan_mode: mode })), endpoint({ ipv6: 'fd00:252::2/64' }));
      assert.deepEqual(v6.filter((o) => o.kind === 'route-add'), [
        { kind: 'route-add', netns: SANDBOX, dst: 'default', dev: 'eth0' },
        { kind: 'route-add', netns: SANDBOX, dst: 'default6', dev: 'eth0' },
      ]);
    });
  }

  it('vepa flag; no route when another endpoint gives the gateway, nor on a parent-less network', () => {
    assert.deepEqual(join({ parent: 'p0', ipvlan_flag: 'vepa' }, undefined, undefined, false), created('l2', 'vepa'));
    assert.equal(join({}).some((o) => o.kind === 'route-add'), false);
  });

  it('on a kernel without ipvlan the first op fails with EOPNOTSUPP and nothing is left', () => {
    const kernel = thisKernel();
    kernel.netnsAdd(SANDBOX);
    assert.throws(
      () => applyAll(kernel, join({ parent: 'p0' })),
      (err: unknown) => err instanceof KernelError && err.errno === 95,
    );
    assert.deepEqual(kernel.listLinks(SANDBOX).map((l) => l.name), ['lo']);
  });

  it('leave deletes the sandbox interface; remove deletes only an owned parent', () => {
    assert.deepEqual(ipvlanDriver.planLeave(network('ipvlan', { parent: 'p0' }), endpoint(), SANDBOX), [{ kind: 'link-del', netns: SANDBOX, name: 'eth0' }]);
    assert.deepEqual(ipvlanDriver.planDrop(network('ipvlan', { parent: 'p0' }), endpoint(), SANDBOX), [
      { kind: 'link-set', netns: SANDBOX, name: 'eth0', up: false },
    ]);
    assert.deepEqual(ipvlanDriver.planRemove(network('ipvlan', { parent: 'p0' }), ctx), []);
    assert.deepEqual(ipvlanDriver.planRemove(network('ipvlan', {}), ctx), [
      { kind: 'link-del', netns: null, name: 'di-aaaa1111bbbb', onlyIfAlias: `berth:net:${id('aaaa1111bbbb')}` },
    ]);
  });
});
