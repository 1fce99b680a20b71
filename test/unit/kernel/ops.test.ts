// inverseOf for every KernelOp kind, and applyAll's undo on failure, over the FakeKernel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KernelError, TeardownError } from '../../../src/errors.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import { applyAll, applyOp, describeOp, inverseOf } from '../../../src/kernel/ops.js';
import type { KernelOp } from '../../../src/kernel/types.js';

const H = '/run/berth/netns/host';
const N = '/run/berth/netns/c1';

describe('inverseOf', () => {
  const cases: [KernelOp, KernelOp | undefined][] = [
    [{ kind: 'netns-add', path: N }, { kind: 'netns-del', path: N }],
    [{ kind: 'netns-del', path: N }, undefined],
    [
      { kind: 'link-add', netns: null, link: { name: 'vh1', info: { kind: 'veth', peerName: 'eth0', peerNetns: N } } },
      { kind: 'link-del', netns: null, name: 'vh1' },
    ],
    [{ kind: 'link-del', netns: null, name: 'vh1' }, undefined],
    [
      // Created from the host into a sandbox: the inverse deletes it where it landed.
      {
        kind: 'link-add',
        netns: null,
        link: { name: 'veth1a2b3c4', info: { kind: 'macvlan', mode: 'bridge', parent: 'eth0' }, targetNetns: N },
      },
      { kind: 'link-del', netns: N, name: 'veth1a2b3c4' },
    ],
    [{ kind: 'link-del', netns: null, name: 'eth0.10', onlyIfAlias: 'berth:net:1' }, undefined],
    [
      { kind: 'addr-add', netns: N, dev: 'eth0', cidr: '10.0.0.2/24' },
      { kind: 'addr-del', netns: N, dev: 'eth0', cidr: '10.0.0.2/24' },
    ],
    [
      { kind: 'addr-del', netns: N, dev: 'eth0', cidr: '10.0.0.2/24' },
      { kind: 'addr-add', netns: N, dev: 'eth0', cidr: '10.0.0.2/24' },
    ],
    [
      { kind: 'route-add', netns: N, dst: 'default', via: '10.0.0.1' },
      { kind: 'route-del', netns: N, dst: 'default', via: '10.0.0.1' },
    ],
    [
      { kind: 'route-del', netns: N, dst: '10.9.0.0/16', dev: 'eth0' },
      { kind: 'route-add', netns: N, dst: '10.9.0.0/16', dev: 'eth0' },
    ],
    [
      { kind: 'neigh-add', netns: null, dev: 'vx0', ip: '10.0.0.9', mac: '02:00:00:00:00:09' },
      { kind: 'neigh-del', netns: null, dev: 'vx0', ip: '10.0.0.9' },
    ],
    [{ kind: 'neigh-del', netns: null, dev: 'vx0', ip: '10.0.0.9' }, undefined],
    [
      { kind: 'fdb-add', netns: null, dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' },
      { kind: 'fdb-del', netns: null, dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' },
    ],
    [
      { kind: 'fdb-del', netns: null, dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' },
      { kind: 'fdb-add', netns: null, dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' },
    ],
    [
      { kind: 'sysctl-set', netns: H, key: 'net/ipv4/ip_forward', value: '1', previous: '0' },
      { kind: 'sysctl-set', netns: H, key: 'net/ipv4/ip_forward', value: '0', previous: '1' },
    ],
    [{ kind: 'sysctl-set', netns: H, key: 'net/ipv4/ip_forward', value: '1' }, undefined],
    [
      { kind: 'link-set', netns: N, name: 'eth0', up: true, master: 'br0', previous: { up: false, master: null } },
      { kind: 'link-set', netns: N, name: 'eth0', up: false, master: null, previous: { up: true, master: 'br0' } },
    ],
    [
      { kind: 'link-set', netns: N, name: 'tmp0', newName: 'eth0' },
      { kind: 'link-set', netns: N, name: 'eth0', newName: 'tmp0' },
    ],
    [{ kind: 'link-set', netns: N, name: 'eth0', up: true }, undefined],
    [{ kind: 'link-set', netns: N, name: 'eth0', mtu: 1400, previous: { up: false } }, undefined],
  ];

  for (const [op, expected] of cases) {
    it(`${describeOp(op)} → ${expected === undefined ? 'no inverse' : describeOp(expected)}`, () => {
      assert.deepEqual(inverseOf(op), expected);
      // Where the inverse is itself invertible, undoing the undo gives the op back.
      const back = expected === undefined ? undefined : inverseOf(expected);
      if (back !== undefined) assert.deepEqual(back, op);
    });
  }

  it('covers every kind', () => {
    const kinds = new Set(cases.map(([op]) => op.kind));
    assert.deepEqual(
      [...kinds].sort(),
      [
        'addr-add',
        'addr-del',
        'fdb-add',
        'fdb-del',
        'link-add',
        'link-del',
        'link-set',
        'neigh-add',
        'neigh-del',
        'netns-add',
        'netns-del',
        'route-add',
        'route-del',
        'sysctl-set',
      ],
    );
  });
});

/** A container's network, as a planner would produce it. */
const plan: KernelOp[] = [
  { kind: 'netns-add', path: N },
  {
    kind: 'link-add',
    netns: H,
    link: { name: 'vh1', info: { kind: 'veth', peerName: 'eth0', peerNetns: N, peerUp: true }, master: 'br0', up: true },
  },
  { kind: 'addr-add', netns: N, dev: 'eth0', cidr: '10.0.0.2/24' },
  { kind: 'link-set', netns: N, name: 'lo', up: true, previous: { up: false } },
  { kind: 'route-add', netns: N, dst: 'default', via: '10.0.0.1' },
  { kind: 'sysctl-set', netns: N, key: 'net/ipv6/conf/all/disable_ipv6', value: '1', previous: '0' },
];

/** What a recorded op says; the Kernel surface does not carry `previous` for sysctls. */
const described = (ops: readonly KernelOp[]): string[] => ops.map((op) => describeOp(op));

/** A fake with a host netns that has bridge br0. */
function hostWithBridge(failAt?: number): FakeKernel {
  const kernel = new FakeKernel(failAt === undefined ? {} : { failAt: failAt + 2 });
  kernel.netnsAdd(H);
  kernel.linkAdd(H, { name: 'br0', info: { kind: 'bridge' }, up: true });
  return kernel;
}

describe('applyAll', () => {
  it('applies every op in order', () => {
    const kernel = hostWithBridge();
    applyAll(kernel, plan);
    assert.deepEqual(described(kernel.ops.slice(2)), described(plan));
    assert.deepEqual(
      kernel.listLinks(N).map((l) => [l.name, l.up]),
      [
        ['lo', true],
        ['eth0', true],
      ],
    );
    assert.deepEqual(kernel.listRoutes(N), [{ family: 4, dst: 'default', gateway: '10.0.0.1', oif: undefined }]);
  });

  for (let failAt = 0; failAt < plan.length; failAt++) {
    it(`undoes the ${failAt} op(s) before a failure at op ${failAt} and rethrows it`, () => {
      const kernel = hostWithBridge(failAt);
      const hostBefore = kernel.listLinks(H);
      assert.throws(
        () => applyAll(kernel, plan),
        (err: unknown) => err instanceof KernelError && err.errno === 5 && err.message.includes('injected failure'),
      );
      const applied = plan.slice(0, failAt);
      const undo = applied
        .map((op) => inverseOf(op))
        .filter((op): op is KernelOp => op !== undefined)
        .reverse();
      assert.deepEqual(described(kernel.ops.slice(2)), described([...applied, ...undo]));
      // The model is back where it was: no container netns, no veth on the bridge.
      assert.deepEqual(kernel.listLinks(H), hostBefore);
      assert.throws(() => kernel.listLinks(N), (err: unknown) => err instanceof KernelError && err.errno === 2);
    });
  }

  it('reports undo failures together with the original error', () => {
    // Op 2 fails in the model (no such device); the undo's second step (netns-del) is injected to fail.
    const kernel = new FakeKernel({ failAt: 3 });
    const ops: KernelOp[] = [
      { kind: 'netns-add', path: N },
      { kind: 'link-add', netns: N, link: { name: 'br0', info: { kind: 'bridge' } } },
      { kind: 'addr-add', netns: N, dev: 'nope', cidr: '10.0.0.1/24' },
    ];
    assert.throws(
      () => applyAll(kernel, ops),
      (err: unknown) =>
        err instanceof TeardownError &&
        err.errors.length === 2 &&
        err.errors[0] instanceof KernelError &&
        err.errors[0].errno === 19 &&
        /injected failure/.test(err.errors[1]?.message ?? '') &&
        err.message.startsWith('undo after failed addr-add 10.0.0.1/24 dev nope: 2 step(s) failed'),
    );
    assert.deepEqual(
      kernel.ops.map((op) => describeOp(op)),
      ['netns-add /run/berth/netns/c1', 'link-add br0', 'link-del br0'],
    );
  });

  it('applyOp dispatches every kind to the matching Kernel call', () => {
    const kernel = hostWithBridge();
    const ops: KernelOp[] = [
      ...plan,
      { kind: 'link-add', netns: H, link: { name: 'vx0', info: { kind: 'vxlan', vni: 7, port: 4789, learning: false } } },
      { kind: 'neigh-add', netns: H, dev: 'vx0', ip: '10.0.0.9', mac: '02:00:00:00:00:09' },
      { kind: 'fdb-add', netns: H, dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' },
      { kind: 'fdb-del', netns: H, dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' },
      { kind: 'neigh-del', netns: H, dev: 'vx0', ip: '10.0.0.9' },
      { kind: 'route-del', netns: N, dst: 'default', via: '10.0.0.1' },
      { kind: 'addr-del', netns: N, dev: 'eth0', cidr: '10.0.0.2/24' },
      { kind: 'link-del', netns: H, name: 'vx0' },
      { kind: 'netns-del', path: N },
    ];
    for (const op of ops) applyOp(kernel, op);
    assert.deepEqual(described(kernel.ops.slice(2)), described(ops));
    assert.deepEqual(
      kernel.listLinks(H).map((l) => l.name),
      ['lo', 'br0'],
      'deleting the container netns took the host end of the veth with it',
    );
  });
});
