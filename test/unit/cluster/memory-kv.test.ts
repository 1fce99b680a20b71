import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../../../src/errors.js';
import { MemoryKv } from '../../../src/cluster/memory-kv.js';
import type { WatchEvent } from '../../../src/cluster/types.js';

/** Records what a watch delivers. */
function recorder() {
  const batches: { events: readonly WatchEvent[]; revision: number }[] = [];
  const resets: string[] = [];
  return {
    batches,
    resets,
    events: () => batches.flatMap((b) => b.events.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}${e.type === 'put' ? `=${e.kv.value}` : ''}`)),
    handlers: {
      onEvents: (events: readonly WatchEvent[], revision: number) => batches.push({ events, revision }),
      onReset: (reason: string) => resets.push(reason),
    },
  };
}

/** Lets every pending hop and delivery run. */
async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

async function rejectsCluster(p: Promise<unknown>, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BerthError, `not a BerthError: ${String(err)}`);
    assert.equal(err.code, 'ERR_CLUSTER');
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

describe('MemoryKv revisions', () => {
  it('starts at revision 1 and bumps once per change, with etcd key metadata', async () => {
    const kv = new MemoryKv();
    assert.equal((await kv.list('')).revision, 1);
    assert.equal(await kv.put('/a', 'x'), 2);
    assert.deepEqual(await kv.get('/a'), { key: '/a', value: 'x', createRevision: 2, modRevision: 2, version: 1, lease: '0' });
    // Same value: still a new revision and version.
    assert.equal(await kv.put('/a', 'x'), 3);
    assert.deepEqual(await kv.get('/a'), { key: '/a', value: 'x', createRevision: 2, modRevision: 3, version: 2, lease: '0' });
    // Deleting nothing changes nothing.
    assert.equal(await kv.delete('/nothing'), 3);
    assert.equal(await kv.delete('/a'), 4);
    assert.equal(await kv.get('/a'), undefined);
    // Re-created: a new createRevision, version from 1.
    await kv.put('/a', 'y');
    assert.deepEqual(await kv.get('/a'), { key: '/a', value: 'y', createRevision: 5, modRevision: 5, version: 1, lease: '0' });
  });

  it('lists a prefix sorted by key, and deletes a prefix in one revision', async () => {
    const kv = new MemoryKv();
    await kv.put('/p/b', '2');
    await kv.put('/p/a', '1');
    await kv.put('/q', '3');
    const listed = await kv.list('/p/');
    assert.deepEqual(listed.kvs.map((k) => k.key), ['/p/a', '/p/b']);
    assert.equal(listed.revision, 4);
    assert.equal(await kv.delete('/p/', { prefix: true }), 5);
    assert.deepEqual((await kv.list('')).kvs.map((k) => k.key), ['/q']);
  });
});

describe('MemoryKv txn', () => {
  it('evaluates version/mod/create/value compares with = != > <', async () => {
    const kv = new MemoryKv();
    await kv.put('/k', 'b'); // rev 2
    await kv.put('/k', 'b'); // rev 3, version 2
    const check = async (c: Parameters<MemoryKv['txn']>[0][number]): Promise<boolean> => (await kv.txn([c], [])).succeeded;
    assert.equal(await check({ key: '/k', target: 'version', op: '=', value: 2 }), true);
    assert.equal(await check({ key: '/k', target: 'version', op: '>', value: 2 }), false);
    assert.equal(await check({ key: '/k', target: 'mod', op: '=', value: 3 }), true);
    assert.equal(await check({ key: '/k', target: 'mod', op: '<', value: 3 }), false);
    assert.equal(await check({ key: '/k', target: 'create', op: '=', value: 2 }), true);
    assert.equal(await check({ key: '/k', target: 'create', op: '!=', value: 2 }), false);
    assert.equal(await check({ key: '/k', target: 'value', op: '=', value: 'b' }), true);
    assert.equal(await check({ key: '/k', target: 'value', op: '>', value: 'a' }), true);
    assert.equal(await check({ key: '/k', target: 'value', op: '<', value: 'a' }), false);
    // A missing key: revisions compare as 0, any value compare fails (etcd applyCompare).
    assert.equal(await check({ key: '/none', target: 'version', op: '=', value: 0 }), true);
    assert.equal(await check({ key: '/none', target: 'mod', op: '=', value: 0 }), true);
    assert.equal(await check({ key: '/none', target: 'value', op: '=', value: '' }), false);
    assert.equal(await check({ key: '/none', target: 'value', op: '!=', value: 'x' }), false);
    // Read-only txns do not bump the revision.
    assert.equal(kv.revision, 3);
  });

  it('runs the chosen branch atomically at one revision; gets see earlier puts', async () => {
    const kv = new MemoryKv();
    await kv.put('/k', 'v'); // rev 2
    const ok = await kv.txn(
      [{ key: '/k', target: 'value', op: '=', value: 'v' }],
      [
        { kind: 'put', key: '/a', value: '1' },
        { kind: 'put', key: '/b', value: '2' },
        { kind: 'delete', key: '/k' },
        { kind: 'get', key: '/', prefix: true },
      ],
      [{ kind: 'get', key: '/k' }],
    );
    assert.equal(ok.succeeded, true);
    assert.equal(ok.revision, 3);
    assert.deepEqual(ok.results.map((r) => r.map((k) => `${k.key}@${k.modRevision}`)), [[], [], [], ['/a@3', '/b@3']]);
    const failed = await kv.txn([{ key: '/k', target: 'version', op: '>', value: 0 }], [{ kind: 'put', key: '/x', value: '' }], [
      { kind: 'get', key: '/a' },
    ]);
    assert.equal(failed.succeeded, false);
    assert.equal(failed.revision, 3);
    assert.deepEqual(failed.results.map((r) => r.map((k) => k.value)), [['1']]);
    assert.equal(await kv.get('/x'), undefined);
  });

  it('refuses duplicate keys in a branch, and puts on a missing lease, changing nothing', async () => {
    const kv = new MemoryKv();
    await rejectsCluster(
      kv.txn([], [
        { kind: 'put', key: '/a', value: '1' },
        { kind: 'put', key: '/a', value: '2' },
      ]),
      /duplicate key/,
    );
    await rejectsCluster(
      kv.txn([], [
        { kind: 'put', key: '/p/a', value: '1' },
        { kind: 'delete', key: '/p/', prefix: true },
      ]),
      /duplicate key/,
    );
    await rejectsCluster(
      kv.txn([], [
        { kind: 'put', key: '/a', value: '1' },
        { kind: 'put', key: '/b', value: '1', lease: '12345' },
      ]),
      /lease not found/,
    );
    await rejectsCluster(kv.put('/c', '1', { lease: '999' }), /lease not found/);
    assert.equal(kv.revision, 1);
    assert.deepEqual((await kv.list('')).kvs, []);
  });
});

describe('MemoryKv leases', () => {
  it('keeps keys while kept alive; expiry deletes them in one revision, with delete events', async () => {
    const kv = new MemoryKv();
    const lease = await kv.leaseGrant(60);
    assert.match(lease, /^[1-9][0-9]*$/);
    await kv.put('/l/b', '1', { lease });
    await kv.put('/l/a', '2', { lease });
    await kv.put('/l/c', '3');
    assert.equal((await kv.get('/l/a'))?.lease, lease);
    assert.equal(await kv.leaseKeepAlive(lease), 60);
    const rec = recorder();
    kv.watch('/l/', kv.revision + 1, rec.handlers);
    assert.equal(kv.expireLease(lease), true);
    assert.equal(kv.revision, 5);
    assert.deepEqual((await kv.list('/l/')).kvs.map((k) => k.key), ['/l/c']);
    await settle();
    assert.deepEqual(rec.events(), ['delete /l/a@5', 'delete /l/b@5']);
    assert.equal(await kv.leaseKeepAlive(lease), 0);
    assert.equal(kv.expireLease(lease), false);
    await rejectsCluster(kv.leaseRevoke(lease), /lease not found/);
  });

  it('detaches a key re-put on another lease or none', async () => {
    const kv = new MemoryKv();
    const l1 = await kv.leaseGrant(60);
    const l2 = await kv.leaseGrant(60);
    await kv.put('/a', '1', { lease: l1 });
    await kv.put('/b', '1', { lease: l1 });
    await kv.put('/a', '2', { lease: l2 });
    await kv.put('/b', '2');
    await kv.leaseRevoke(l1);
    assert.deepEqual((await kv.list('')).kvs.map((k) => `${k.key}=${k.value}`), ['/a=2', '/b=2']);
    const before = kv.revision;
    await kv.leaseRevoke(l2);
    assert.equal(kv.revision, before + 1);
    assert.deepEqual((await kv.list('')).kvs.map((k) => k.key), ['/b']);
  });

  it('expires a lease on its real timer, unless kept alive', async () => {
    const kv = new MemoryKv();
    const dying = await kv.leaseGrant(1);
    const kept = await kv.leaseGrant(1);
    await kv.put('/dying', '', { lease: dying });
    await kv.put('/kept', '', { lease: kept });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await kv.leaseKeepAlive(kept), 1);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await kv.get('/dying'), undefined, 'lease of 1 s still alive after 1.2 s');
    assert.ok(await kv.get('/kept'), 'kept-alive lease expired');
    assert.equal(await kv.leaseKeepAlive(dying), 0);
  });
});

describe('MemoryKv watch', () => {
  it('replays history from a revision, then delivers live events, asynchronously and in order', async () => {
    const kv = new MemoryKv();
    await kv.put('/w/a', '1'); // 2
    await kv.put('/x', '1'); // 3
    await kv.put('/w/b', '1'); // 4
    const rec = recorder();
    kv.watch('/w/', 3, rec.handlers);
    assert.equal(rec.batches.length, 0, 'delivered synchronously');
    await kv.put('/w/a', '2'); // 5
    await kv.delete('/w/b'); // 6
    await kv.txn([], [
      { kind: 'put', key: '/w/c', value: '1' },
      { kind: 'put', key: '/w/d', value: '1' },
    ]); // 7
    await settle();
    assert.deepEqual(rec.events(), ['put /w/b@4=1', 'put /w/a@5=2', 'delete /w/b@6', 'put /w/c@7=1', 'put /w/d@7=1']);
    assert.deepEqual(rec.resets, []);
    // Nothing is delivered synchronously from a write either.
    const n = rec.batches.length;
    const p = kv.put('/w/e', '1');
    assert.equal(rec.batches.length, n);
    await p;
    await settle();
    // One revision per delivery, a txn's events together.
    assert.deepEqual(rec.batches.map((b) => `${b.revision}:${b.events.length}`), ['4:1', '5:1', '6:1', '7:2', '8:1']);
  });

  it('pauseWatches holds deliveries while calls go on working', async () => {
    const kv = new MemoryKv();
    const rec = recorder();
    kv.watch('/', 0, rec.handlers);
    kv.pauseWatches(true);
    await kv.put('/a', '1');
    assert.equal((await kv.get('/a'))?.value, '1');
    await settle();
    assert.deepEqual(rec.events(), []);
    kv.pauseWatches(false);
    await settle();
    assert.deepEqual(rec.events(), ['put /a@2=1']);
  });

  it('stops delivering after close', async () => {
    const kv = new MemoryKv();
    const rec = recorder();
    const w = kv.watch('/', 0, rec.handlers);
    await kv.put('/a', '1');
    w.close();
    await kv.put('/b', '1');
    await settle();
    // The put of /a was pending when the watch closed: a closed watch delivers nothing.
    assert.deepEqual(rec.events(), []);
  });

  it('resets a watch starting below the compaction point', async () => {
    const kv = new MemoryKv();
    await kv.put('/a', '1'); // 2
    await kv.put('/a', '2'); // 3
    kv.compact(3);
    const old = recorder();
    kv.watch('/', 2, old.handlers);
    const fresh = recorder();
    kv.watch('/', 3, fresh.handlers);
    await settle();
    assert.equal(old.resets.length, 1);
    assert.match(old.resets[0] ?? '', /compacted/);
    assert.deepEqual(fresh.events(), ['put /a@3=2']);
  });

  it('holds events while the client is unavailable, then delivers them; resets if compacted meanwhile', async () => {
    const kv = new MemoryKv();
    const hostB = kv.connect();
    const rec = recorder();
    hostB.watch('/', 0, rec.handlers);
    hostB.setUnavailable(true);
    await rejectsCluster(hostB.get('/a'), /unreachable/);
    await kv.put('/a', '1');
    await settle();
    assert.deepEqual(rec.events(), []);
    hostB.setUnavailable(false);
    await settle();
    assert.deepEqual(rec.events(), ['put /a@2=1']);

    hostB.setUnavailable(true);
    await kv.put('/a', '2'); // 3
    await kv.put('/a', '3'); // 4
    kv.compact(4);
    hostB.setUnavailable(false);
    await settle();
    assert.equal(rec.resets.length, 1);
    await kv.put('/a', '4');
    await settle();
    assert.deepEqual(rec.events(), ['put /a@2=1'], 'a reset watch went on delivering');
  });

  it('resetWatches ends the live watches with onReset', async () => {
    const kv = new MemoryKv();
    const rec = recorder();
    kv.watch('/', 0, rec.handlers);
    kv.resetWatches('stream lost');
    await kv.put('/a', '1');
    await settle();
    assert.deepEqual(rec.resets, ['stream lost']);
    assert.deepEqual(rec.events(), []);
  });
});

describe('MemoryKv clients and failures', () => {
  it('shares one store between clients; failure switches are per client', async () => {
    const a = new MemoryKv();
    const b = a.connect();
    await a.put('/k', '1');
    assert.equal((await b.get('/k'))?.value, '1');
    b.failNext(2);
    await rejectsCluster(b.get('/k'));
    await rejectsCluster(b.put('/k', '2'));
    assert.equal((await b.get('/k'))?.value, '1');
    assert.equal((await a.get('/k'))?.value, '1');
    b.close();
    await rejectsCluster(b.get('/k'), /closed/);
    assert.equal((await a.get('/k'))?.value, '1');
  });

  it('interleaves concurrent callers at every round trip (a read-then-write race is lost)', async () => {
    const kv = new MemoryKv();
    // Two clients increment a counter with read → put, without a txn: the lost update shows
    // that calls interleave as over a network.
    await kv.put('/n', '0');
    const inc = async (c: MemoryKv): Promise<void> => {
      const v = Number((await c.get('/n'))?.value);
      await c.put('/n', String(v + 1));
    };
    await Promise.all([inc(kv), inc(kv.connect())]);
    assert.equal((await kv.get('/n'))?.value, '1');
  });
});
