import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { Cluster, OPT_VXLANID_LIST, type ClusterListener } from '../../../src/cluster/cluster.js';
import { addrsPrefix, endpointKey, hostKey, nameKey, networkKey, POOLGEN_KEY, poolKey, vniKey } from '../../../src/cluster/keys.js';
import { MemoryKv } from '../../../src/cluster/memory-kv.js';
import { KEY_ROOT, type AnnouncedEndpoint, type Compare, type Kv, type TxnOp, type WatchHandlers } from '../../../src/cluster/types.js';
import { BerthError } from '../../../src/errors.js';
import { MSG_POOL_OVERLAP, resolvePools } from '../../../src/ipam/pools.js';
import type { Id64, IpamPool, Network } from '../../../src/model/network.js';
import { RecordingLogger } from '../../helpers/logger.js';

const TTL = 60;

function newId(): string {
  return randomBytes(32).toString('hex');
}

function draft(name: string): Network {
  return {
    id: newId() as Id64,
    name,
    driver: 'overlay',
    scope: 'global',
    created: new Date().toISOString(),
    internal: false,
    attachable: true,
    ingress: false,
    enableIPv4: true,
    enableIPv6: false,
    ipamDriver: 'default',
    ipamOptions: {},
    pools: [],
    options: {},
    labels: {},
    predefined: false,
  };
}

/** The engine's resolve callback, with the real resolvePools; counts its calls. */
function resolver(subnet?: string): ((inUse: readonly string[]) => IpamPool[]) & { calls: number } {
  const fn = Object.assign(
    (subnetsInUse: readonly string[]): IpamPool[] => {
      fn.calls++;
      return resolvePools({
        requests: subnet === undefined ? [] : [{ subnet }],
        enableIPv4: true,
        enableIPv6: false,
        subnetsInUse,
        defaultPools: [{ base: '10.0.0.0/8', size: 24 }],
        defaultPools6: [],
        needsGateway: true,
      });
    },
    { calls: 0 },
  );
  return fn;
}

/** A listener recording its calls as `added <name>`, `removed <id>`, `endpoints <id>`. */
class RecordingListener implements ClusterListener {
  readonly calls: string[] = [];
  networkAdded(network: Network): void {
    this.calls.push(`added ${network.name}`);
  }
  networkRemoved(networkId: string): void {
    this.calls.push(`removed ${networkId}`);
  }
  endpointsChanged(networkId: string): void {
    this.calls.push(`endpoints ${networkId}`);
  }
  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }
}

interface Host {
  readonly cluster: Cluster;
  readonly kv: MemoryKv;
  readonly listener: RecordingListener;
  readonly log: RecordingLogger;
}

function makeHost(t: TestContext, store: MemoryKv, name: string, kv: Kv = store.connect()): Host & { start(): Promise<void> } {
  const log = new RecordingLogger();
  const listener = new RecordingListener();
  const cluster = new Cluster({ kv, hostId: name, advertise: `192.0.2.${name.charCodeAt(0) % 200}`, leaseTtlSec: TTL, log });
  t.after(() => cluster.stop());
  return { cluster, kv: kv as MemoryKv, listener, log, start: () => cluster.start(listener) };
}

/** A store and `n` started hosts on it (A, B, C, …). */
async function cluster(t: TestContext, n: number): Promise<{ store: MemoryKv; hosts: Host[] }> {
  const store = new MemoryKv();
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const h = makeHost(t, store, String.fromCharCode(65 + i));
    await h.start();
    hosts.push(h);
  }
  return { store, hosts };
}

/** Polls `pred` every event-loop turn until it holds, failing after `ms`. */
async function until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BerthError, `not a BerthError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

function hostOf(ep: { hostId: string; vtep: string }): string {
  return `${ep.hostId}@${ep.vtep}`;
}

function announcement(h: Host, networkId: string, name: string, ipv4: string): AnnouncedEndpoint {
  return {
    networkId,
    endpointId: newId(),
    containerId: newId(),
    name,
    aliases: [`${name}-alias`],
    shortId: newId().slice(0, 12),
    ipv4: `${ipv4}/24`,
    mac: '02:42:0a:00:00:02',
    hostId: h.cluster.hostId,
    vtep: h.cluster.advertise,
  };
}

/**
 * A Kv passing everything to another, except that the next txn matching a predicate waits at
 * a gate: `reached` resolves when it arrives, `release()` lets it go on. Used to force one
 * exact interleaving of two hosts' txns.
 */
class GatedKv implements Kv {
  /** Txns issued (won or lost). */
  txns = 0;
  #gate: { match: (c: readonly Compare[], s: readonly TxnOp[]) => boolean; arrived: () => void; wait: Promise<void> } | undefined;
  constructor(readonly inner: Kv) {}

  gateNextTxn(match: (compares: readonly Compare[], success: readonly TxnOp[]) => boolean): { reached: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    const wait = new Promise<void>((r) => (release = r));
    this.#gate = { match, arrived, wait };
    return { reached, release };
  }

  get: Kv['get'] = (k) => this.inner.get(k);
  list: Kv['list'] = (p) => this.inner.list(p);
  put: Kv['put'] = (k, v, o) => this.inner.put(k, v, o);
  delete: Kv['delete'] = (k, o) => this.inner.delete(k, o);
  leaseGrant: Kv['leaseGrant'] = (ttl) => this.inner.leaseGrant(ttl);
  leaseKeepAlive: Kv['leaseKeepAlive'] = (id) => this.inner.leaseKeepAlive(id);
  leaseRevoke: Kv['leaseRevoke'] = (id) => this.inner.leaseRevoke(id);
  watch = (p: string, r: number, h: WatchHandlers) => this.inner.watch(p, r, h);
  close = () => this.inner.close();
  txn: Kv['txn'] = async (compares, success, failure) => {
    this.txns++;
    const gate = this.#gate;
    if (gate !== undefined && gate.match(compares, success)) {
      this.#gate = undefined;
      gate.arrived();
      await gate.wait;
    }
    return this.inner.txn(compares, success, failure);
  };
}

const deletesKey = (key: string) => (_c: readonly Compare[], s: readonly TxnOp[]) => s.some((op) => op.kind === 'delete' && op.key === key);
const putsUnder = (prefix: string) => (_c: readonly Compare[], s: readonly TxnOp[]) => s.some((op) => op.kind === 'put' && op.key.startsWith(prefix));

describe('Cluster: global networks', () => {
  it('a network created on A is stored with its VNI and pool keys and seen by B', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const d = draft('ov1');
    const net = await a.cluster.createNetwork(d, resolver('10.10.0.0/24'));
    assert.equal(net.id, d.id);
    assert.equal(net.scope, 'global');
    assert.equal(net.options[OPT_VXLANID_LIST], '4096');
    assert.deepEqual(
      net.pools.map((p) => `${p.subnet} gw ${p.gateway}`),
      ['10.10.0.0/24 gw 10.10.0.1'],
    );
    // A's cache knows at once; B through the watch.
    assert.deepEqual(a.cluster.networks().map((n) => n.name), ['ov1']);
    await until(() => b.cluster.networks().length === 1, 'B sees ov1');
    assert.deepEqual(b.cluster.networks()[0], net);
    await until(() => b.listener.count('added ov1') === 1 && a.listener.count('added ov1') === 1, 'both listeners hear ov1');

    const value = async (key: string) => (await store.get(key))?.value;
    assert.deepEqual(JSON.parse((await value(networkKey(net.id))) ?? ''), net);
    assert.equal(await value(nameKey('ov1')), net.id);
    assert.equal(await value(vniKey(4096)), net.id);
    assert.equal(await value(poolKey('10.10.0.0/24')), net.id);
    assert.ok(await store.get(POOLGEN_KEY));
    const hostA = JSON.parse((await value(hostKey('A'))) ?? '');
    assert.equal(hostA.advertise, a.cluster.advertise);
    assert.equal((await store.get(hostKey('A')))?.lease !== '0', true, 'hosts/A is not on a lease');
  });

  it('refuses a name already taken, also when two hosts race for it', async (t) => {
    const { hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    await a.cluster.createNetwork(draft('dup'), resolver());
    await rejectsWith(b.cluster.createNetwork(draft('dup'), resolver()), 'ERR_NETWORK_EXISTS', 'network with name dup already exists');

    const results = await Promise.allSettled([
      a.cluster.createNetwork(draft('same'), resolver()),
      b.cluster.createNetwork(draft('same'), resolver()),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost?.status === 'rejected');
    assert.equal((lost.reason as BerthError).code, 'ERR_NETWORK_EXISTS');
  });

  it('two concurrent creates with the same --subnet: one wins, the other gets the overlap error from resolve', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const ra = resolver('10.20.0.0/16');
    const rb = resolver('10.20.0.0/16');
    const results = await Promise.allSettled([a.cluster.createNetwork(draft('n1'), ra), b.cluster.createNetwork(draft('n2'), rb)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok(lost[0]?.reason instanceof BerthError);
    assert.equal(lost[0].reason.code, 'ERR_POOL_OVERLAP');
    assert.equal(lost[0].reason.message, MSG_POOL_OVERLAP);
    // Both resolved against an empty cluster first: the loser was stopped by the txn's poolgen
    // compare and saw the subnet on its second look.
    assert.deepEqual([ra.calls, rb.calls].sort(), [1, 2]);
    const names = (await store.list(`${KEY_ROOT}names/`)).kvs.map((kv) => kv.key.slice(-2));
    assert.equal(names.length, 1);
  });

  it('two concurrent creates with overlapping, different subnets: the poolgen compare stops the second', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const ra = resolver('10.21.0.0/16');
    const rb = resolver('10.21.7.0/24');
    // Distinct explicit VNIs, so only the pools conflict.
    const wide = { ...draft('wide'), options: { [OPT_VXLANID_LIST]: '6001' } };
    const narrow = { ...draft('narrow'), options: { [OPT_VXLANID_LIST]: '6002' } };
    const results = await Promise.allSettled([a.cluster.createNetwork(wide, ra), b.cluster.createNetwork(narrow, rb)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal((lost?.reason as BerthError).code, 'ERR_POOL_OVERLAP');
    assert.deepEqual([ra.calls, rb.calls].sort(), [1, 2]);
    assert.equal((await store.list(`${KEY_ROOT}pools/`)).kvs.length, 1);
  });

  it('concurrent default-pool creates on 3 hosts get distinct subnets and VNIs', async (t) => {
    const { hosts } = await cluster(t, 3);
    const nets = await Promise.all(hosts.map((h, i) => h.cluster.createNetwork(draft(`auto${i}`), resolver())));
    assert.deepEqual(nets.map((n) => n.pools[0]?.subnet).sort(), ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']);
    assert.deepEqual(nets.map((n) => n.options[OPT_VXLANID_LIST]).sort(), ['4096', '4097', '4098']);
    for (const h of hosts) await until(() => h.cluster.networks().length === 3, `${h.cluster.hostId} sees 3 networks`);
  });

  it('honours a VXLAN ID given in the options, and refuses one in use', async (t) => {
    const { hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const d = { ...draft('vx'), options: { [OPT_VXLANID_LIST]: '5000' } };
    const net = await a.cluster.createNetwork(d, resolver());
    assert.equal(net.options[OPT_VXLANID_LIST], '5000');
    await rejectsWith(
      b.cluster.createNetwork({ ...draft('vx2'), options: { [OPT_VXLANID_LIST]: '5000' } }, resolver()),
      'ERR_INVALID_PARAMETER',
      `vxlan id 5000 is already in use by network ${net.id.slice(0, 12)}`,
    );
    await rejectsWith(
      b.cluster.createNetwork({ ...draft('vx3'), options: { [OPT_VXLANID_LIST]: '5001,5002' } }, resolver()),
      'ERR_INVALID_PARAMETER',
    );
    // The automatic choice still starts at 4096.
    assert.equal((await b.cluster.createNetwork(draft('vx4'), resolver())).options[OPT_VXLANID_LIST], '4096');
  });
});

describe('Cluster: addresses', () => {
  it('3 hosts × 20 concurrent claims get 60 distinct addresses, never the gateway', async (t) => {
    const store = new MemoryKv();
    const kvs = [0, 1, 2].map(() => new GatedKv(store.connect()));
    const hosts = kvs.map((kv, i) => makeHost(t, store, String.fromCharCode(65 + i), kv));
    for (const h of hosts) await h.start();
    const net = await hosts[0]!.cluster.createNetwork(draft('big'), resolver('10.30.0.0/24'));
    const started = process.hrtime.bigint();
    const txnsBefore = kvs.reduce((n, kv) => n + kv.txns, 0);
    const ips = await Promise.all(
      hosts.flatMap((h) =>
        Array.from({ length: 20 }, (_, i) => h.cluster.claimAddress(net.id, { endpointId: newId(), containerName: `${h.cluster.hostId}${i}` })),
      ),
    );
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const txns = kvs.reduce((n, kv) => n + kv.txns, 0) - txnsBefore;
    // Each claim is a snapshot read and a claim txn; a lost race costs one more txn.
    t.diagnostic(`60 claims in ${ms.toFixed(1)} ms: ${txns} txns, ${txns - 120} lost races`);
    assert.equal(new Set(ips).size, 60);
    assert.ok(!ips.includes('10.30.0.1'), 'gateway handed out');
    // First free: exactly .2 … .61.
    assert.deepEqual(
      [...ips].sort((x, y) => Number(x.split('.')[3]) - Number(y.split('.')[3])),
      Array.from({ length: 60 }, (_, i) => `10.30.0.${i + 2}`),
    );
    assert.equal((await store.list(addrsPrefix(net.id))).kvs.length, 60);
    for (const h of hosts) {
      await until(() => h.cluster.claims(net.id).size === 60, `${h.cluster.hostId} caches 60 claims`);
      const mine = [...h.cluster.claims(net.id).values()].filter((c) => c.hostId === h.cluster.hostId);
      assert.equal(mine.length, 20);
    }
  });

  it('a wanted address held by another endpoint is refused; the holder may claim it again', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('want'), resolver('10.40.0.0/24'));
    const ep1 = newId();
    assert.equal(await a.cluster.claimAddress(net.id, { endpointId: ep1, containerName: 'c1', want: '10.40.0.5' }), '10.40.0.5');
    // The claim is in A's cache at once.
    assert.deepEqual(a.cluster.claims(net.id).get('10.40.0.5'), { endpointId: ep1, containerName: 'c1', hostId: 'A' });
    await rejectsWith(
      b.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c2', want: '10.40.0.5' }),
      'ERR_ADDRESS_IN_USE',
      'Address already in use',
    );
    await rejectsWith(b.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c2', want: '10.40.0.1' }), 'ERR_ADDRESS_IN_USE');
    await rejectsWith(b.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c2', want: '10.41.0.5' }), 'ERR_ADDRESS_OUT_OF_RANGE');
    // Idempotent for the holder, with or without `want`; nothing is written again.
    const rev = store.revision;
    assert.equal(await a.cluster.claimAddress(net.id, { endpointId: ep1, containerName: 'c1', want: '10.40.0.5' }), '10.40.0.5');
    assert.equal(await a.cluster.claimAddress(net.id, { endpointId: ep1, containerName: 'c1' }), '10.40.0.5');
    assert.equal(store.revision, rev);
    // Automatic allocation skips the claimed address.
    assert.equal(await b.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c3' }), '10.40.0.2');
    await rejectsWith(b.cluster.claimAddress(newId(), { endpointId: newId(), containerName: 'c4' }), 'ERR_NETWORK_NOT_FOUND');
  });

  it('release frees only the holder’s address', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('rel'), resolver('10.50.0.0/24'));
    const ep = newId();
    const ip = await a.cluster.claimAddress(net.id, { endpointId: ep, containerName: 'c1' });
    await b.cluster.releaseAddress(net.id, ip, newId()); // not the holder: no-op
    assert.ok(await store.get(`${addrsPrefix(net.id)}${ip}`));
    await a.cluster.releaseAddress(net.id, ip, ep);
    assert.equal(await store.get(`${addrsPrefix(net.id)}${ip}`), undefined);
    assert.equal(a.cluster.claims(net.id).size, 0);
    await a.cluster.releaseAddress(net.id, ip, ep); // already gone: no-op
    await a.cluster.releaseAddress(newId(), '10.0.0.9', ep); // network gone: no-op
  });

  it('an older watch event never undoes a newer local write in the cache', async (t) => {
    const { hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('stale'), resolver('10.60.0.0/24'));
    const epB = newId();
    const ip = await b.cluster.claimAddress(net.id, { endpointId: epB, containerName: 'b1' });
    await until(() => a.cluster.claims(net.id).get(ip)?.endpointId === epB, 'A sees B’s claim');
    // A's stream lags: B's release reaches A only after A has re-claimed the same address.
    a.kv.pauseWatches(true);
    await b.cluster.releaseAddress(net.id, ip, epB);
    const epA = newId();
    assert.equal(await a.cluster.claimAddress(net.id, { endpointId: epA, containerName: 'a1' }), ip);
    a.kv.pauseWatches(false);
    // The events arrive one revision per turn: B's old delete first. The cache must keep A's claim throughout.
    for (let turn = 0; turn < 20; turn++) {
      assert.equal(a.cluster.claims(net.id).get(ip)?.endpointId, epA, `turn ${turn}: claim lost`);
      await new Promise((r) => setImmediate(r));
    }
  });
});

describe('Cluster: removal', () => {
  it('is refused while claims exist (listing them), then removes every key; B hears networkRemoved', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('rm1'), resolver('10.70.0.0/24'));
    const ep1 = newId();
    const ep2 = newId();
    const ip1 = await a.cluster.claimAddress(net.id, { endpointId: ep1, containerName: 'c1' });
    const ip2 = await b.cluster.claimAddress(net.id, { endpointId: ep2, containerName: 'c2' });
    await b.cluster.announce(announcement(b, net.id, 'c2', ip2));
    await rejectsWith(
      a.cluster.removeNetwork(net.id),
      'ERR_NETWORK_IN_USE',
      `error while removing network: network rm1 has active endpoints (name:"c1" id:"${ep1.slice(0, 12)}", name:"c2" id:"${ep2.slice(0, 12)}")`,
    );
    await a.cluster.releaseAddress(net.id, ip1, ep1);
    await rejectsWith(a.cluster.removeNetwork(net.id), 'ERR_NETWORK_IN_USE', /name:"c2"/);
    await b.cluster.releaseAddress(net.id, ip2, ep2);
    await until(() => b.listener.count('added rm1') === 1, 'B heard of rm1');

    await a.cluster.removeNetwork(net.id);
    assert.deepEqual(a.cluster.networks(), []);
    await until(() => b.listener.count(`removed ${net.id}`) === 1, 'B hears networkRemoved');
    assert.deepEqual(b.cluster.networks(), []);
    const left = (await store.list(KEY_ROOT)).kvs.map((kv) => kv.key).filter((k) => k.includes(net.id) || /names|vni|pools\//.test(k));
    assert.deepEqual(left, [], 'keys of the removed network left');
    await rejectsWith(a.cluster.removeNetwork(net.id), 'ERR_NETWORK_NOT_FOUND');
    // Name, subnet and VNI are free again.
    const again = await b.cluster.createNetwork(draft('rm1'), resolver('10.70.0.0/24'));
    assert.equal(again.options[OPT_VXLANID_LIST], '4096');
  });

  it('a claim landing between the removal’s read and its txn makes the removal fail (netgen CAS)', async (t) => {
    const store = new MemoryKv();
    const gated = new GatedKv(store.connect());
    const a = makeHost(t, store, 'A', gated);
    const b = makeHost(t, store, 'B');
    await a.start();
    await b.start();
    const net = await a.cluster.createNetwork(draft('race1'), resolver('10.80.0.0/24'));
    const gate = gated.gateNextTxn(deletesKey(networkKey(net.id)));
    const removal = a.cluster.removeNetwork(net.id);
    await gate.reached; // A has read "no claims" and is about to commit
    const ep = newId();
    const ip = await b.cluster.claimAddress(net.id, { endpointId: ep, containerName: 'late' });
    gate.release();
    await rejectsWith(removal, 'ERR_NETWORK_IN_USE', /name:"late"/);
    assert.ok(await store.get(networkKey(net.id)));
    assert.equal(JSON.parse((await store.get(`${addrsPrefix(net.id)}${ip}`))?.value ?? '{}').endpointId, ep);
  });

  it('a removal landing between a claim’s read and its txn makes the claim fail, leaving no claim', async (t) => {
    const store = new MemoryKv();
    const gated = new GatedKv(store.connect());
    const a = makeHost(t, store, 'A');
    const b = makeHost(t, store, 'B', gated);
    await a.start();
    await b.start();
    const net = await a.cluster.createNetwork(draft('race2'), resolver('10.81.0.0/24'));
    const gate = gated.gateNextTxn(putsUnder(addrsPrefix(net.id)));
    const claim = b.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'late' });
    await gate.reached; // B has read the network and chosen an address
    await a.cluster.removeNetwork(net.id);
    gate.release();
    await rejectsWith(claim, 'ERR_NETWORK_NOT_FOUND');
    assert.deepEqual((await store.list(addrsPrefix(net.id))).kvs, []);
    assert.equal(b.cluster.claims(net.id).size, 0);
  });

  it('claims racing removals at random: exactly one wins, and no claim outlives its network', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const net = await a.cluster.createNetwork(draft(`r${i}`), resolver(`10.90.${i}.0/24`));
      const delay = async (n: number) => {
        for (let k = 0; k < n; k++) await new Promise((r) => setImmediate(r));
      };
      const [removed, claimed] = await Promise.allSettled([
        delay(i % 4).then(() => a.cluster.removeNetwork(net.id)),
        delay(Math.floor(i / 4) % 4).then(() => b.cluster.claimAddress(net.id, { endpointId: newId(), containerName: `c${i}` })),
      ]);
      const key = `${removed.status}/${claimed.status}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      assert.ok(key === 'fulfilled/rejected' || key === 'rejected/fulfilled', `iteration ${i}: ${key}`);
      const netKv = await store.get(networkKey(net.id));
      const addrs = (await store.list(addrsPrefix(net.id))).kvs;
      if (netKv === undefined) assert.deepEqual(addrs, [], `iteration ${i}: claim on a deleted network`);
      else assert.equal(addrs.length, 1);
    }
    t.diagnostic(`outcomes (removal/claim): ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.equal(outcomes.size, 2, 'both orders should occur');
  });
});

describe('Cluster: endpoints and leases', () => {
  it('announcements reach every host; withdraw removes them', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('eps'), resolver('10.100.0.0/24'));
    const ip = await a.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'web' });
    const ep = announcement(a, net.id, 'web', ip);
    await a.cluster.announce(ep);
    await until(() => b.cluster.endpoints(net.id).length === 1, 'B sees the endpoint');
    assert.deepEqual(b.cluster.endpoints(net.id)[0], ep);
    assert.equal(hostOf(b.cluster.endpoints(net.id)[0]!), `A@${a.cluster.advertise}`);
    assert.ok(b.listener.count(`endpoints ${net.id}`) >= 1);
    assert.equal((await store.get(endpointKey(net.id, ep.endpointId)))?.lease, (await store.get(hostKey('A')))?.lease);
    await a.cluster.withdraw(net.id, ep.endpointId);
    await until(() => b.cluster.endpoints(net.id).length === 0, 'B sees it withdrawn');
    await a.cluster.withdraw(net.id, ep.endpointId); // absent: no-op
    await rejectsWith(a.cluster.announce(announcement(a, newId(), 'x', '10.0.0.2')), 'ERR_NETWORK_NOT_FOUND');
  });

  it('host C’s lease expiry removes its claims and announcements; C re-registers on the next keepalive', async (t) => {
    const { store, hosts } = await cluster(t, 3);
    const [a, , c] = hosts as [Host, Host, Host];
    const net = await a.cluster.createNetwork(draft('lease'), resolver('10.110.0.0/24'));
    const ipC = await c.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c-web' });
    const epC = announcement(c, net.id, 'c-web', ipC);
    await c.cluster.announce(epC);
    const ipA = await a.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'a-web' });
    await until(() => a.cluster.endpoints(net.id).length === 1 && a.cluster.claims(net.id).size === 2, 'A sees C’s endpoint and claim');

    const oldLease = (await store.get(hostKey('C')))?.lease ?? '';
    const heardBefore = a.listener.count(`endpoints ${net.id}`);
    assert.equal(store.expireLease(oldLease), true);
    await until(() => a.cluster.endpoints(net.id).length === 0, 'A sees C’s endpoint gone');
    assert.ok(a.listener.count(`endpoints ${net.id}`) > heardBefore, 'A not told');
    assert.deepEqual([...a.cluster.claims(net.id).keys()], [ipA]);
    assert.equal(await store.get(hostKey('C')), undefined);

    await c.cluster.tick();
    assert.equal(c.log.matching('warn', /host lease expired/).length, 1);
    const newLease = (await store.get(hostKey('C')))?.lease;
    assert.ok(newLease !== undefined && newLease !== oldLease);
    await until(() => a.cluster.endpoints(net.id).length === 1, 'A sees C’s endpoint back');
    assert.deepEqual(a.cluster.endpoints(net.id)[0], epC);
    assert.equal(a.cluster.claims(net.id).get(ipC)?.hostId, 'C');
    assert.equal((await store.get(`${addrsPrefix(net.id)}${ipC}`))?.lease, newLease);
    // A live lease: the next ticks do nothing.
    const rev = store.revision;
    await c.cluster.tick();
    assert.equal(store.revision, rev);
  });

  it('an address taken by another endpoint while C’s lease was gone is given up with an error', async (t) => {
    const { store, hosts } = await cluster(t, 3);
    const [a, , c] = hosts as [Host, Host, Host];
    const net = await a.cluster.createNetwork(draft('steal'), resolver('10.120.0.0/24'));
    const epLost = newId();
    const ipLost = await c.cluster.claimAddress(net.id, { endpointId: epLost, containerName: 'c1' });
    const ipKept = await c.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c2' });
    store.expireLease((await store.get(hostKey('C')))?.lease ?? '');
    const epThief = newId();
    // First free: C's old first address.
    assert.equal(await a.cluster.claimAddress(net.id, { endpointId: epThief, containerName: 'a1' }), ipLost);
    await c.cluster.tick();
    const errors = c.log.matching('error', /address lost/);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.fields['endpointId'], epLost);
    assert.equal(errors[0]?.fields['otherEndpointId'], epThief);
    assert.equal(JSON.parse((await store.get(`${addrsPrefix(net.id)}${ipLost}`))?.value ?? '').endpointId, epThief);
    assert.equal(JSON.parse((await store.get(`${addrsPrefix(net.id)}${ipKept}`))?.value ?? '').hostId, 'C');
    // Given up: a later lease loss does not try it again.
    store.expireLease((await store.get(hostKey('C')))?.lease ?? '');
    await c.cluster.tick();
    assert.equal(c.log.matching('error', /address lost/).length, 1);
  });

  it('a store outage longer than the TTL: one warning, then re-registration when it is back', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, c] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('outage'), resolver('10.130.0.0/24'));
    const ip = await c.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c1' });
    await c.cluster.announce(announcement(c, net.id, 'c1', ip));
    await until(() => a.cluster.endpoints(net.id).length === 1, 'A sees the endpoint');

    const lease = (await store.get(hostKey('B')))?.lease ?? '';
    c.kv.setUnavailable(true);
    await c.cluster.tick();
    await c.cluster.tick();
    await c.cluster.tick();
    assert.equal(c.log.matching('warn', /unreachable/).length, 1, 'one warning per outage');
    await rejectsWith(c.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c2' }), 'ERR_CLUSTER');
    store.expireLease(lease); // the TTL passed while C could not reach the store
    await until(() => a.cluster.endpoints(net.id).length === 0, 'A sees C’s endpoint expire');

    c.kv.setUnavailable(false);
    await c.cluster.tick();
    assert.equal(c.log.matching('info', /reachable again/).length, 1);
    assert.equal(c.log.matching('warn', /host lease expired/).length, 1);
    await until(() => a.cluster.endpoints(net.id).length === 1 && a.cluster.claims(net.id).size === 1, 'A sees C back');
  });

  it('a claim on an expired lease before the keepalive noticed: renews the lease and succeeds', async (t) => {
    const { store, hosts } = await cluster(t, 2);
    const [a, c] = hosts as [Host, Host];
    const net = await a.cluster.createNetwork(draft('late'), resolver('10.140.0.0/24'));
    const old = (await store.get(hostKey('B')))?.lease ?? '';
    store.expireLease(old);
    const ip = await c.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'c1' });
    const lease = (await store.get(`${addrsPrefix(net.id)}${ip}`))?.lease;
    assert.ok(lease !== undefined && lease !== old);
    assert.equal((await store.get(hostKey('B')))?.lease, lease);
  });
});

describe('Cluster: watch and listener', () => {
  it('re-syncs after a watch reset it could not resume (compaction during an outage)', async (t) => {
    const { store, hosts } = await cluster(t, 3);
    const [a, b, c] = hosts as [Host, Host, Host];
    const gone = await a.cluster.createNetwork(draft('gone'), resolver('10.150.0.0/24'));
    const busy = await a.cluster.createNetwork(draft('busy'), resolver('10.151.0.0/24'));
    await until(() => b.cluster.networks().length === 2, 'B sees both');
    b.listener.calls.length = 0;

    b.kv.setUnavailable(true);
    await a.cluster.removeNetwork(gone.id);
    const fresh = await a.cluster.createNetwork(draft('fresh'), resolver('10.152.0.0/24'));
    const ip = await c.cluster.claimAddress(busy.id, { endpointId: newId(), containerName: 'c1' });
    await c.cluster.announce(announcement(c, busy.id, 'c1', ip));
    store.compact(store.revision);
    b.kv.setUnavailable(false);

    await until(() => b.log.matching('warn', /watch reset/).length === 1, 'B resets');
    await until(() => b.cluster.networks().map((n) => n.name).join() === 'busy,fresh', 'B re-synced networks');
    await until(() => b.cluster.endpoints(busy.id).length === 1, 'B re-synced endpoints');
    assert.equal(b.cluster.claims(busy.id).size, 1);
    await until(() => b.listener.calls.length >= 4, 'B’s listener hears the re-sync');
    assert.deepEqual([...b.listener.calls].sort(), [`added busy`, `added fresh`, `endpoints ${busy.id}`, `removed ${gone.id}`].sort());
    // The new watch works.
    await a.cluster.createNetwork(draft('after'), resolver('10.153.0.0/24'));
    await until(() => b.listener.count('added after') === 1, 'B hears a create after the re-sync');
    assert.ok(fresh);
  });

  it('retries the re-read while the store is unreachable', async (t) => {
    const { hosts } = await cluster(t, 2);
    const [a, b] = hosts as [Host, Host];
    b.kv.setUnavailable(true);
    b.kv.resetWatches('stream lost');
    await until(() => b.log.matching('warn', /re-reading after a watch reset failed/).length === 1, 'B fails to re-read');
    await a.cluster.createNetwork(draft('meanwhile'), resolver('10.160.0.0/24'));
    b.kv.setUnavailable(false);
    await until(() => b.cluster.networks().length === 1, 'B re-read after the outage', 5000);
    await a.cluster.createNetwork(draft('then'), resolver('10.161.0.0/24'));
    await until(() => b.cluster.networks().length === 2, 'B watches again');
  });

  it('calls the listener one call at a time; a failing call is logged and the watch goes on', async (t) => {
    const store = new MemoryKv();
    const a = makeHost(t, store, 'A');
    await a.start();
    const log = new RecordingLogger();
    let running = 0;
    let maxRunning = 0;
    const seen: string[] = [];
    const b = new Cluster({ kv: store.connect(), hostId: 'B', advertise: '192.0.2.2', leaseTtlSec: TTL, log });
    t.after(() => b.stop());
    await b.start({
      async networkAdded(n) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        seen.push(n.name);
        if (n.name === 'bad') throw new Error('listener boom');
      },
      networkRemoved() {},
      endpointsChanged() {},
    });
    for (const name of ['one', 'bad', 'two', 'three']) await a.cluster.createNetwork(draft(name), resolver());
    await until(() => seen.length === 4, 'B hears all four');
    assert.deepEqual(seen, ['one', 'bad', 'two', 'three']);
    assert.equal(maxRunning, 1);
    assert.equal(log.matching('error', /listener failed/).length, 1);
  });

  it('start tells the listener the networks and endpoints already there; stop keeps the lease', async (t) => {
    const { store, hosts } = await cluster(t, 1);
    const [a] = hosts as [Host];
    const net = await a.cluster.createNetwork(draft('pre'), resolver('10.170.0.0/24'));
    const ip = await a.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'w' });
    await a.cluster.announce(announcement(a, net.id, 'w', ip));
    const late = makeHost(t, store, 'L');
    await late.start();
    assert.deepEqual(late.listener.calls, ['added pre', `endpoints ${net.id}`]);
    assert.equal(late.cluster.endpoints(net.id).length, 1);

    const lease = (await store.get(hostKey('A')))?.lease ?? '';
    a.cluster.stop();
    assert.ok(store.leaseIds().includes(lease), 'stop revoked the lease');
    const calls = a.listener.calls.length;
    await late.cluster.createNetwork(draft('post'), resolver());
    await until(() => late.cluster.networks().length === 2, 'L sees post');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(a.listener.calls.length, calls, 'a stopped cluster still calls its listener');
    await rejectsWith(a.cluster.claimAddress(net.id, { endpointId: newId(), containerName: 'x' }), 'ERR_CLUSTER');
  });

  it('start rejects with ERR_CLUSTER when the store is unreachable', async (t) => {
    const store = new MemoryKv();
    const h = makeHost(t, store, 'A');
    h.kv.setUnavailable(true);
    await rejectsWith(h.start(), 'ERR_CLUSTER', /join cluster as host A: cluster store unreachable/);
  });

  it('ignores malformed values with a log', async (t) => {
    const { store, hosts } = await cluster(t, 1);
    const [a] = hosts as [Host];
    const id = newId();
    await store.put(networkKey(id), '{not json');
    await store.put(`${addrsPrefix(id)}10.0.0.2`, '[]');
    await until(() => a.log.matching('error', /malformed/).length === 2, 'A logs both');
    assert.deepEqual(a.cluster.networks(), []);
    assert.equal(a.cluster.claims(id).size, 0);
  });
});
