// The overlay driver: options and Docker's refusals, the bridge + vxlan it plans per network,
// joins without routes, and the peer programming of the vxlan's FDB and neighbour table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { overlayBridgeName, overlayDriver, overlayMtu, overlayVni, overlayVxlanName } from '../../../src/drivers/overlay/plan.js';
import { OverlayPeers, planPeers, type OverlayPeer } from '../../../src/drivers/overlay/peers.js';
import { getDriver } from '../../../src/drivers/registry.js';
import type { DriverContext } from '../../../src/drivers/types.js';
import type { Logger } from '../../../src/engine/log.js';
import { BerthError, KernelError } from '../../../src/errors.js';
import { Errno } from '../../../src/kernel/errno.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import { applyAll } from '../../../src/kernel/ops.js';
import type { DeviceNeighbours, KernelOp, NetnsRef } from '../../../src/kernel/types.js';
import type { Network } from '../../../src/model/network.js';
import { dualStack, endpoint, id, network, SANDBOX, TEMP } from './fixture.js';

const ADVERTISE = '192.0.2.1';
const ctx: DriverContext = { mtu: 1500, overlay: { advertise: ADVERTISE } };
const NET_ID = id('aaaa1111bbbb');
const ALIAS = `berth:net:${NET_ID}`;
const BR = 'ov-aaaa1111bbbb';
const VX = 'vx-aaaa1111bbbb';
const VXLANID = 'com.docker.network.driver.overlay.vxlanid_list';

/** An overlay network on 10.252.0.0/24 with VNI 4097 unless `options` say otherwise. */
function overlay(options: Record<string, string> = { [VXLANID]: '4097' }, over: Partial<Network> = {}): Network {
  return network('macvlan', options, { driver: 'overlay', scope: 'global', name: 'ov1', ...over });
}

/** `code: message` of what `fn` throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
  }
  return 'no error';
}

/** A logger that keeps warnings and errors. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (msg: string, fields?: Readonly<Record<string, unknown>>): void => {
    lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, debug() {}, info() {}, warn: keep, error: keep };
}

describe('overlay names and options', () => {
  it('derives link names from the id, the VNI and MTU from the options', () => {
    assert.equal(overlayBridgeName(NET_ID), BR);
    assert.equal(overlayVxlanName(NET_ID), VX);
    assert.equal(overlayVni(overlay()), 4097);
    assert.equal(overlayVni(overlay({ [VXLANID]: '16777215' })), 16777215);
    assert.equal(overlayMtu(overlay()), 1450);
    assert.equal(overlayMtu(overlay({ [VXLANID]: '4097', 'com.docker.network.driver.mtu': '8950' })), 8950);
  });

  it('is registered, uses IPAM, is not a singleton', () => {
    assert.equal(getDriver('overlay'), overlayDriver);
    assert.equal(overlayDriver.name, 'overlay');
    assert.equal(overlayDriver.usesIpam, true);
    assert.equal(overlayDriver.singleton, false);
  });
});

describe('overlay validate', () => {
  it('outside a cluster says what berthd needs', () => {
    assert.equal(
      failure(() => overlayDriver.validate(overlay(), { mtu: 1500 })),
      'ERR_DRIVER_UNSUPPORTED: overlay networks need a cluster store: start berthd with --cluster-store etcd://host:port --cluster-advertise <address or interface>',
    );
    assert.match(failure(() => overlayDriver.planCreate(overlay(), { mtu: 1500 })), /^ERR_DRIVER_UNSUPPORTED: overlay networks need a cluster store/);
  });

  it('accepts a network without VNI yet (the cluster picks it after validate), and unknown options', () => {
    assert.equal(failure(() => overlayDriver.validate(overlay({}), ctx)), 'no error');
    assert.equal(failure(() => overlayDriver.validate(overlay({ [VXLANID]: '4097', 'com.example.whatever': 'x' }), ctx)), 'no error');
  });

  it('refuses encrypted networks, whatever the value (`-o encrypted` sends "")', () => {
    for (const value of ['', 'true', 'false']) {
      assert.equal(
        failure(() => overlayDriver.validate(overlay({ encrypted: value }), ctx)),
        'ERR_DRIVER_UNSUPPORTED: encrypted overlay networks need IPsec ESP, which this kernel lacks',
      );
    }
  });

  it('refuses IPv6', () => {
    assert.equal(failure(() => overlayDriver.validate(dualStack(overlay()), ctx)), 'ERR_INVALID_PARAMETER: berth overlay networks are IPv4-only');
    assert.equal(
      failure(() => overlayDriver.validate(overlay(undefined, { enableIPv6: true, pools: [] }), ctx)),
      'ERR_INVALID_PARAMETER: berth overlay networks are IPv4-only',
    );
  });

  it('refuses VXLAN IDs outside 1..16777215 and lists', () => {
    for (const bad of ['0', '16777216', '99999999999', 'abc', '-1', '1.5', '4097,4098', ' 4097', '0x10']) {
      assert.equal(
        failure(() => overlayDriver.validate(overlay({ [VXLANID]: bad }), ctx)),
        `ERR_INVALID_PARAMETER: invalid ${VXLANID} "${bad}": one VXLAN ID from 1 to 16777215 (berth gives a network one VNI)`,
        bad,
      );
    }
    assert.equal(failure(() => overlayDriver.validate(overlay({ [VXLANID]: '1' }), ctx)), 'no error');
  });

  it('checks the MTU option as the bridge driver does', () => {
    assert.equal(
      failure(() => overlayDriver.validate(overlay({ [VXLANID]: '4097', 'com.docker.network.driver.mtu': '67' }), ctx)),
      'ERR_INVALID_PARAMETER: invalid MTU number: 67',
    );
    assert.equal(
      failure(() => overlayDriver.validate(overlay({ [VXLANID]: '4097', 'com.docker.network.driver.mtu': 'big' }), ctx)),
      'ERR_INVALID_PARAMETER: invalid MTU number: big',
    );
  });
});

describe('overlay network create and remove', () => {
  const created = (mtu: number, vni = 4097): KernelOp[] => [
    { kind: 'link-add', netns: null, link: { name: BR, info: { kind: 'bridge' }, mtu, up: true, alias: ALIAS } },
    {
      kind: 'link-add',
      netns: null,
      link: {
        name: VX,
        info: { kind: 'vxlan', vni, port: 4789, local: ADVERTISE, learning: false, proxy: true },
        mtu,
        master: BR,
        up: true,
        alias: ALIAS,
      },
    },
  ];

  it('plans an address-less bridge and its vxlan port: VNI, local VTEP, 4789, learning off, proxy on, MTU 1450', () => {
    assert.deepEqual(overlayDriver.planCreate(overlay(), ctx), created(1450));
  });

  it('takes -o com.docker.network.driver.mtu, not the daemon --mtu', () => {
    assert.deepEqual(overlayDriver.planCreate(overlay({ [VXLANID]: '300', 'com.docker.network.driver.mtu': '1400' }), { ...ctx, mtu: 9000 }), created(1400, 300));
  });

  it('needs the VNI at create', () => {
    assert.equal(
      failure(() => overlayDriver.planCreate(overlay({}), ctx)),
      `ERR_INVALID_PARAMETER: overlay network ${NET_ID} has no VXLAN ID (-o ${VXLANID})`,
    );
  });

  it('removes the vxlan, then the bridge; the plans apply and undo on a FakeKernel', () => {
    assert.deepEqual(overlayDriver.planRemove(overlay(), ctx), [
      { kind: 'link-del', netns: null, name: VX },
      { kind: 'link-del', netns: null, name: BR },
    ]);
    const kernel = new FakeKernel();
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    const links = kernel.listLinks(null);
    const br = links.find((l) => l.name === BR);
    const vx = links.find((l) => l.name === VX);
    assert.ok(br !== undefined && vx !== undefined);
    assert.equal(vx.master, br.index);
    assert.deepEqual([br.up, vx.up, br.mtu, vx.mtu, br.alias, vx.alias], [true, true, 1450, 1450, ALIAS, ALIAS]);
    applyAll(kernel, overlayDriver.planRemove(overlay(), ctx));
    assert.deepEqual(kernel.listLinks(null).map((l) => l.name), ['lo']);
    // A failure creating the vxlan leaves no bridge behind.
    const failing = new FakeKernel({ failAt: 1 });
    assert.throws(() => applyAll(failing, overlayDriver.planCreate(overlay(), ctx)));
    assert.deepEqual(failing.listLinks(null).map((l) => l.name), ['lo']);
  });
});

describe('overlay reconcile', () => {
  const made = (): FakeKernel => {
    const kernel = new FakeKernel();
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    return kernel;
  };
  const snapshot = (kernel: FakeKernel) => ({ links: kernel.listLinks(null), addrs: kernel.listAddrs(null) });

  it('leaves a complete network alone', () => {
    const kernel = made();
    assert.deepEqual(overlayDriver.planReconcile(overlay(), ctx, snapshot(kernel)), []);
  });

  it('re-creates a missing vxlan, and only it', () => {
    const kernel = made();
    kernel.linkDel(null, VX);
    const ops = overlayDriver.planReconcile(overlay(), ctx, snapshot(kernel));
    assert.deepEqual(ops, [overlayDriver.planCreate(overlay(), ctx)[1]]);
    applyAll(kernel, ops);
    assert.deepEqual(overlayDriver.planReconcile(overlay(), ctx, snapshot(kernel)), []);
  });

  it('re-creates a missing bridge and puts the vxlan back into it; brings links up', () => {
    const kernel = made();
    kernel.linkDel(null, BR);
    kernel.linkSet({ kind: 'link-set', netns: null, name: VX, up: false });
    const ops = overlayDriver.planReconcile(overlay(), ctx, snapshot(kernel));
    assert.deepEqual(ops, [
      overlayDriver.planCreate(overlay(), ctx)[0],
      { kind: 'link-set', netns: null, name: VX, master: BR, up: true },
    ]);
    applyAll(kernel, ops);
    assert.deepEqual(overlayDriver.planReconcile(overlay(), ctx, snapshot(kernel)), []);

    kernel.linkSet({ kind: 'link-set', netns: null, name: BR, up: false });
    assert.deepEqual(overlayDriver.planReconcile(overlay(), ctx, snapshot(kernel)), [{ kind: 'link-set', netns: null, name: BR, up: true }]);
  });

  it('a missing vxlan outside a cluster cannot be re-created, and says why', () => {
    const kernel = made();
    kernel.linkDel(null, VX);
    assert.match(failure(() => overlayDriver.planReconcile(overlay(), { mtu: 1500 }, snapshot(kernel))), /^ERR_DRIVER_UNSUPPORTED: overlay networks need a cluster store/);
  });
});

describe('overlay join', () => {
  const ep = endpoint({ ipv4: '10.252.0.2/24' });

  it('a veth into the overlay bridge at the network MTU, and never a route', () => {
    for (const gateway of [true, false]) {
      const ops = overlayDriver.planJoin(overlay(), ep, { netns: SANDBOX, hostIfName: TEMP, gateway }, ctx);
      assert.deepEqual(ops, [
        {
          kind: 'link-add',
          netns: null,
          link: {
            name: TEMP,
            info: { kind: 'veth', peerName: 'eth0', peerNetns: SANDBOX, peerMac: ep.mac, peerMtu: 1450 },
            mtu: 1450,
            master: BR,
            up: true,
            alias: `berth:ep:${ep.id}`,
          },
        },
        { kind: 'addr-add', netns: SANDBOX, dev: 'eth0', cidr: '10.252.0.2/24' },
        { kind: 'link-set', netns: SANDBOX, name: 'eth0', up: true },
      ]);
      assert.equal(ops.some((op) => op.kind === 'route-add'), false);
    }
  });

  it('applies on a FakeKernel: both ends at 1450, host end in the bridge; leave deletes the pair', () => {
    const kernel = new FakeKernel();
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    kernel.netnsAdd(SANDBOX);
    applyAll(kernel, overlayDriver.planJoin(overlay(), ep, { netns: SANDBOX, hostIfName: TEMP, gateway: true }, ctx));
    const host = kernel.listLinks(null);
    const veth = host.find((l) => l.name === TEMP);
    const inside = kernel.listLinks(SANDBOX).find((l) => l.name === 'eth0');
    assert.equal(veth?.master, host.find((l) => l.name === BR)?.index);
    assert.deepEqual([veth?.mtu, inside?.mtu, inside?.mac, inside?.up], [1450, 1450, ep.mac, true]);
    assert.deepEqual(kernel.listRoutes(SANDBOX), []);
    assert.deepEqual(overlayDriver.planDrop(overlay(), ep, SANDBOX), []);
    applyAll(kernel, overlayDriver.planLeave(overlay(), ep, SANDBOX));
    assert.equal(kernel.listLinks(null).some((l) => l.name === TEMP), false);
  });
});

const P1: OverlayPeer = { ip: '10.252.0.3', mac: '02:42:0a:fc:00:03', vtep: '192.0.2.2' };
const P2: OverlayPeer = { ip: '10.252.0.4', mac: '02:42:0a:fc:00:04', vtep: '192.0.2.3' };

describe('planPeers', () => {
  const fdbAdd = (p: OverlayPeer): KernelOp => ({ kind: 'fdb-add', netns: null, dev: VX, mac: p.mac, dst: p.vtep });
  const fdbDel = (p: OverlayPeer): KernelOp => ({ kind: 'fdb-del', netns: null, dev: VX, mac: p.mac, dst: p.vtep });
  const neighAdd = (p: OverlayPeer): KernelOp => ({ kind: 'neigh-add', netns: null, dev: VX, ip: p.ip, mac: p.mac });
  const neighDel = (p: OverlayPeer): KernelOp => ({ kind: 'neigh-del', netns: null, dev: VX, ip: p.ip });

  it('adds new peers: FDB entry towards the VTEP, neighbour entry for ARP proxy', () => {
    assert.deepEqual(planPeers(overlay(), [], [P1, P2]), [fdbAdd(P1), fdbAdd(P2), neighAdd(P1), neighAdd(P2)]);
    assert.deepEqual(planPeers(overlay(), [P1, P2], [P2, P1]), []);
  });

  it('removes gone peers', () => {
    assert.deepEqual(planPeers(overlay(), [P1, P2], [P2]), [neighDel(P1), fdbDel(P1)]);
    assert.deepEqual(planPeers(overlay(), [P1], []), [neighDel(P1), fdbDel(P1)]);
  });

  it('changes only what changed, deletes before adds', () => {
    const moved = { ...P1, vtep: '192.0.2.9' };
    assert.deepEqual(planPeers(overlay(), [P1, P2], [moved, P2]), [fdbDel(P1), fdbAdd(moved)]);
    const newMac = { ...P1, mac: '02:42:0a:fc:00:99' };
    assert.deepEqual(planPeers(overlay(), [P1], [newMac]), [neighDel(P1), fdbDel(P1), fdbAdd(newMac), neighAdd(newMac)]);
    // Another endpoint took P1's address: its MAC and its host.
    const reused = { ip: P1.ip, mac: '02:42:0a:fc:00:77', vtep: P2.vtep };
    assert.deepEqual(planPeers(overlay(), [P1, P2], [reused, P2]), [neighDel(P1), fdbDel(P1), fdbAdd(reused), neighAdd(reused)]);
  });

  it('normalises MAC case and drops a prefix on the address', () => {
    assert.deepEqual(planPeers(overlay(), [P1], [{ ...P1, mac: P1.mac.toUpperCase(), ip: `${P1.ip}/24` }]), []);
  });
});

describe('OverlayPeers on a FakeKernel', () => {
  const setup = () => {
    const kernel = new FakeKernel();
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    const log = recordingLogger();
    const mark = kernel.ops.length;
    return { kernel, log, peers: new OverlayPeers(kernel, log), since: () => kernel.ops.slice(mark) };
  };

  it('applies diffs and remembers what it programmed', () => {
    const { kernel, log, peers, since } = setup();
    peers.sync(overlay(), [P1, P2]);
    assert.deepEqual(since(), planPeers(overlay(), [], [P1, P2]));
    const after = kernel.ops.length;
    peers.sync(overlay(), [P1, P2]);
    assert.equal(kernel.ops.length, after, 'an unchanged sync touched the kernel');
    peers.sync(overlay(), [P2]);
    assert.deepEqual(kernel.ops.slice(after), planPeers(overlay(), [P1, P2], [P2]));
    // What it says is there is there: adding it again is refused by the kernel.
    assert.throws(() => kernel.fdbAdd(null, VX, P2.mac, P2.vtep), (err: unknown) => (err as { errno?: number }).errno === Errno.EEXIST);
    assert.throws(() => kernel.neighAdd(null, VX, P2.ip, P2.mac), (err: unknown) => (err as { errno?: number }).errno === Errno.EEXIST);
    kernel.neighAdd(null, VX, P1.ip, P1.mac); // P1's entry is gone
    assert.deepEqual(log.lines, []);
  });

  it('tolerates entries already there (a restarted daemon forgot them), replacing a stale neighbour', () => {
    const { kernel, log, peers } = setup();
    kernel.fdbAdd(null, VX, P1.mac, P1.vtep);
    kernel.neighAdd(null, VX, P1.ip, '02:42:0a:fc:00:55'); // stale MAC
    kernel.neighAdd(null, VX, P2.ip, P2.mac);
    const mark = kernel.ops.length;
    peers.sync(overlay(), [P1, P2]);
    assert.deepEqual(log.lines, []);
    const ops = kernel.ops.slice(mark);
    // The stale neighbour was replaced by P1's MAC.
    assert.deepEqual(
      ops.filter((o) => o.kind === 'neigh-add' && o.ip === P1.ip),
      [{ kind: 'neigh-add', netns: null, dev: VX, ip: P1.ip, mac: P1.mac }],
    );
    assert.ok(ops.some((o) => o.kind === 'neigh-del' && o.ip === P1.ip));
    // And it now knows them: removing a peer deletes its entries (adding them again works).
    peers.sync(overlay(), [P2]);
    kernel.neighAdd(null, VX, P1.ip, P1.mac);
    kernel.fdbAdd(null, VX, P1.mac, P1.vtep);
  });

  it('logs and continues when one entry fails, and retries it on the next sync', () => {
    const { kernel, log, peers } = setup();
    kernel.failAt = kernel.ops.length; // the first fdb-add
    peers.sync(overlay(), [P1, P2]);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0] ?? '', /^overlay peers: entry not programmed .*fdb-add 02:42:0a:fc:00:03/);
    const mark = kernel.ops.length;
    peers.sync(overlay(), [P1, P2]);
    assert.deepEqual(kernel.ops.slice(mark), [{ kind: 'fdb-add', netns: null, dev: VX, mac: P1.mac, dst: P1.vtep }]);
  });

  it('a network without its vxlan: one warning, nothing remembered; forget drops the memory', () => {
    const kernel = new FakeKernel();
    const log = recordingLogger();
    const peers = new OverlayPeers(kernel, log);
    peers.sync(overlay(), [P1, P2]);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0] ?? '', /^overlay peers: the network has no vxlan device/);
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    const mark = kernel.ops.length;
    peers.sync(overlay(), [P1, P2]);
    assert.deepEqual(kernel.ops.slice(mark), planPeers(overlay(), [], [P1, P2]));

    // The links go (entries with them), the memory too; a new vxlan is programmed from scratch.
    applyAll(kernel, overlayDriver.planRemove(overlay(), ctx));
    peers.forget(NET_ID);
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    const again = kernel.ops.length;
    peers.sync(overlay(), [P1]);
    assert.deepEqual(kernel.ops.slice(again), planPeers(overlay(), [], [P1]));
    assert.equal(log.lines.length, 1);
  });
});

describe('OverlayPeers after a daemon restart (a new instance, the links and entries still there)', () => {
  const P3: OverlayPeer = { ip: '10.252.0.5', mac: '02:42:0a:fc:00:05', vtep: '192.0.2.4' };
  const sorted = <T>(items: readonly T[]): T[] => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  /** A kernel whose vxlan the previous daemon programmed with `before`. */
  const restarted = <K extends FakeKernel>(before: readonly OverlayPeer[], kernel: K) => {
    applyAll(kernel, overlayDriver.planCreate(overlay(), ctx));
    new OverlayPeers(kernel, recordingLogger()).sync(overlay(), before);
    const log = recordingLogger();
    const mark = kernel.ops.length;
    return { kernel, log, peers: new OverlayPeers(kernel, log), since: () => kernel.ops.slice(mark) };
  };
  /** The vxlan's entries, as `peers` would leave them. */
  const entriesFor = (peers: readonly OverlayPeer[]) => ({
    fdb: sorted(peers.map((p) => ({ mac: p.mac, dst: p.vtep }))),
    neigh: sorted(peers.map((p) => ({ ip: p.ip, mac: p.mac }))),
  });
  /** What the vxlan holds (the FakeKernel's own listing, whatever a subclass makes of it). */
  const listed = (kernel: FakeKernel) => {
    const { fdb, neigh } = FakeKernel.prototype.listNeighbours.call(kernel, null, VX);
    return { fdb: sorted(fdb), neigh: sorted(neigh) };
  };

  it("removes the entries of a peer that died meanwhile, moves a moved one, leaves the rest alone", () => {
    const { kernel, log, peers, since } = restarted([P1, P2, P3], new FakeKernel());
    const moved = { ...P1, vtep: '192.0.2.9' };
    peers.sync(overlay(), [moved, P2]);
    assert.deepEqual(since(), planPeers(overlay(), [P1, P2, P3], [moved, P2]));
    assert.deepEqual(since(), [
      { kind: 'neigh-del', netns: null, dev: VX, ip: P3.ip },
      { kind: 'fdb-del', netns: null, dev: VX, mac: P1.mac, dst: P1.vtep },
      { kind: 'fdb-del', netns: null, dev: VX, mac: P3.mac, dst: P3.vtep },
      { kind: 'fdb-add', netns: null, dev: VX, mac: moved.mac, dst: moved.vtep },
    ]);
    assert.deepEqual(listed(kernel), entriesFor([moved, P2]));
    assert.deepEqual(log.lines, []);
    // From then on the memory serves: an unchanged sync touches nothing.
    const after = kernel.ops.length;
    peers.sync(overlay(), [moved, P2]);
    assert.equal(kernel.ops.length, after);
  });

  it('an unchanged cluster: the first sync after the restart changes nothing (no delete-and-add churn)', () => {
    const { kernel, log, peers, since } = restarted([P1, P2], new FakeKernel());
    peers.sync(overlay(), [P2, P1]);
    assert.deepEqual(since(), []);
    assert.deepEqual(listed(kernel), entriesFor([P1, P2]));
    assert.deepEqual(log.lines, []);
  });

  it('every peer gone: all entries removed', () => {
    const { kernel, peers, since } = restarted([P1, P2], new FakeKernel());
    peers.sync(overlay(), []);
    assert.deepEqual(since(), planPeers(overlay(), [P1, P2], []));
    assert.deepEqual(listed(kernel), { fdb: [], neigh: [] });
  });

  it('leaves the all-zero MAC (flooding) and group MACs alone: never a peer', () => {
    const { kernel, log, peers, since } = restarted([P1], new FakeKernel());
    kernel.fdbAdd(null, VX, '00:00:00:00:00:00', '192.0.2.7');
    kernel.fdbAdd(null, VX, '01:00:5e:00:00:01', '192.0.2.7');
    kernel.fdbAdd(null, VX, 'ff:ff:ff:ff:ff:ff', '192.0.2.7');
    const mark = since().length;
    peers.sync(overlay(), []);
    assert.deepEqual(since().slice(mark), planPeers(overlay(), [P1], []));
    assert.deepEqual(listed(kernel), {
      fdb: sorted(['00:00:00:00:00:00', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff'].map((mac) => ({ mac, dst: '192.0.2.7' }))),
      neigh: [],
    });
    assert.deepEqual(log.lines, []);
  });

  it('a failed read: logged, the sync goes on as before, and the next sync reads again (once)', () => {
    /** Reads fail while `failing`. */
    class FlakyKernel extends FakeKernel {
      failing = false;
      reads = 0;
      override listNeighbours(netns: NetnsRef, dev: string): DeviceNeighbours {
        this.reads++;
        if (this.failing) throw new KernelError('neigh-list: injected failure', { op: 'neigh-list', netns, errno: Errno.EIO });
        return super.listNeighbours(netns, dev);
      }
    }
    const { kernel, log, peers } = restarted([P1, P3], new FlakyKernel());
    kernel.failing = true;
    kernel.reads = 0;
    peers.sync(overlay(), [P1, P2]);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0] ?? '', /^overlay peers: cannot read the vxlan's entries.*injected failure/);
    // P2 added, P1 (already there) replaced by the adds' tolerance, P3 still there.
    assert.deepEqual(listed(kernel), entriesFor([P1, P2, P3]));
    kernel.failing = false;
    const mark = kernel.ops.length;
    peers.sync(overlay(), [P1, P2]);
    assert.deepEqual(kernel.ops.slice(mark), planPeers(overlay(), [P1, P2, P3], [P1, P2]));
    assert.deepEqual(listed(kernel), entriesFor([P1, P2]));
    peers.sync(overlay(), [P1, P2]);
    assert.equal(kernel.reads, 2);
    assert.equal(log.lines.length, 1);
  });

  it('forget: the next sync reads the kernel again', () => {
    const { kernel, peers } = restarted([], new FakeKernel());
    peers.sync(overlay(), [P1]);
    kernel.fdbAdd(null, VX, P3.mac, P3.vtep); // behind its back
    kernel.neighAdd(null, VX, P3.ip, P3.mac);
    peers.forget(NET_ID);
    peers.sync(overlay(), [P1]);
    assert.deepEqual(listed(kernel), entriesFor([P1]));
  });

  it('an entry added behind its back after the read is still tolerated (replaced, not an error)', () => {
    const { kernel, log, peers } = restarted([], new FakeKernel());
    peers.sync(overlay(), []);
    kernel.fdbAdd(null, VX, P1.mac, '192.0.2.99');
    kernel.neighAdd(null, VX, P1.ip, '02:42:0a:fc:00:99');
    peers.sync(overlay(), [P1]);
    assert.deepEqual(listed(kernel), entriesFor([P1]));
    assert.deepEqual(log.lines, []);
  });
});
