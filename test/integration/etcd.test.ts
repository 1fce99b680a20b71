/**
 * EtcdKv against a real etcd 3.4 (Debian's /usr/bin/etcd), through its JSON gateway.
 *
 * Most tests run etcd on 127.0.0.1 of this process's own netns on random free ports (loopback
 * only; nothing in the namespace is changed), so the client runs in-process. One test runs etcd
 * inside a netns it creates, as the overlay tests do, and drives the client from a node child
 * started with `nsenter --net=…`. Every etcd, netns and child is removed in `after` hooks.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EtcdKv } from '../../src/cluster/etcd.js';
import type { WatchEvent } from '../../src/cluster/types.js';
import { BerthError } from '../../src/errors.js';
import { etcdAvailable, EtcdProcess } from '../helpers/etcd.js';
import { isRoot, sh } from '../helpers/host.js';

const SKIP = !isRoot() ? 'needs root' : !etcdAvailable() ? 'needs /usr/bin/etcd (apt-get install etcd-server)' : false;
if (SKIP) console.warn(`SKIPPED: etcd integration tests: ${SKIP}`);

const CLIENT = new URL('../../src/cluster/etcd.js', import.meta.url).href;

/** A port nothing listens on right now (bound, then released). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function startEtcd(): Promise<EtcdProcess> {
  return EtcdProcess.start({ clientPort: await freePort(), peerPort: await freePort() });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; fails with `what` after `ms`. */
async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function rejectsCluster(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BerthError, String(err));
    assert.equal(err.code, 'ERR_CLUSTER');
    assert.match(err.message, message);
    return true;
  });
}

/** Records what a watch delivers. */
class Seen {
  events: { type: string; key: string; value: string; rev: number; version: number }[] = [];
  batches: number[] = [];
  resets: string[] = [];
  readonly handlers = {
    onEvents: (events: readonly WatchEvent[], revision: number) => {
      this.batches.push(revision);
      for (const e of events) this.events.push({ type: e.type, key: e.kv.key, value: e.kv.value, rev: e.kv.modRevision, version: e.kv.version });
    },
    onReset: (reason: string) => void this.resets.push(reason),
  };
}

describe('etcd client against a real etcd', { skip: SKIP }, () => {
  let etcd: EtcdProcess;
  let kv: EtcdKv;
  const p = `/t-${randomBytes(3).toString('hex')}/`;

  before(async () => {
    etcd = await startEtcd();
    kv = new EtcdKv({ endpoints: [etcd.url] });
  });
  after(async () => {
    kv?.close();
    await etcd?.stop();
  });

  it('puts, gets, lists and deletes keys and prefixes', async () => {
    assert.equal(await kv.get(`${p}kv/a`), undefined);
    const r1 = await kv.put(`${p}kv/b`, '{"n":"bé"}');
    const r2 = await kv.put(`${p}kv/a`, 'one');
    const r3 = await kv.put(`${p}kv/a`, 'two');
    await kv.put(`${p}kv0`, 'outside the prefix');
    assert.ok(r1 > 0 && r2 === r1 + 1 && r3 === r2 + 1, `revisions ${r1} ${r2} ${r3}`);

    const a = await kv.get(`${p}kv/a`);
    assert.deepEqual(a, { key: `${p}kv/a`, value: 'two', createRevision: r2, modRevision: r3, version: 2, lease: '0' });

    const listed = await kv.list(`${p}kv/`);
    assert.deepEqual(listed.kvs.map((k) => [k.key, k.value]), [[`${p}kv/a`, 'two'], [`${p}kv/b`, '{"n":"bé"}']]);
    assert.ok(listed.revision >= r3 + 1);

    const d1 = await kv.delete(`${p}kv/a`);
    assert.ok(d1 > r3);
    assert.equal(await kv.get(`${p}kv/a`), undefined);
    await kv.put(`${p}kv/c/d`, 'x');
    await kv.delete(`${p}kv/`, { prefix: true });
    assert.deepEqual((await kv.list(`${p}kv/`)).kvs, []);
    assert.equal((await kv.get(`${p}kv0`))?.value, 'outside the prefix');
    assert.equal((await kv.list('')).kvs.some((k) => k.key === `${p}kv0`), true, 'empty prefix lists every key');
  });

  it('runs txns: create-if-absent succeeds once; gets inside return keys', async () => {
    const key = `${p}txn/lock`;
    const absent = [{ key, target: 'version', op: '=', value: 0 }] as const;
    const first = await kv.txn(absent, [{ kind: 'put', key, value: 'me' }, { kind: 'get', key }], [{ kind: 'get', key }]);
    assert.equal(first.succeeded, true);
    assert.equal(first.results.length, 2);
    assert.deepEqual(first.results[0], []);
    assert.deepEqual(first.results[1]!.map((k) => [k.key, k.value, k.version, k.modRevision]), [[key, 'me', 1, first.revision]]);

    const second = await kv.txn(absent, [{ kind: 'put', key, value: 'other' }], [{ kind: 'get', key }, { kind: 'get', key: `${p}txn/`, prefix: true }]);
    assert.equal(second.succeeded, false);
    assert.equal(second.revision, first.revision, 'a failed txn writes nothing');
    assert.equal(second.results[0]![0]!.value, 'me');
    assert.equal(second.results[1]!.length, 1);

    // Compare on value and mod revision, and != / > / <.
    const cas = await kv.txn(
      [
        { key, target: 'value', op: '=', value: 'me' },
        { key, target: 'mod', op: '=', value: first.revision },
        { key, target: 'create', op: '<', value: first.revision + 1 },
        { key, target: 'version', op: '>', value: 0 },
        { key, target: 'value', op: '!=', value: 'other' },
      ],
      [{ kind: 'put', key, value: 'me2' }, { kind: 'delete', key: `${p}txn/none` }],
    );
    assert.equal(cas.succeeded, true);
    assert.deepEqual(cas.results, [[], []]);
    const stale = await kv.txn([{ key, target: 'mod', op: '=', value: first.revision }], [{ kind: 'delete', key }]);
    assert.equal(stale.succeeded, false);
    assert.deepEqual(stale.results, [], 'no failure branch: no results');
    assert.equal((await kv.get(key))?.value, 'me2');
  });

  it('grants, renews, expires and revokes leases', async () => {
    // etcd raises a TTL below its minimum (1.5 × election timeout, here 2 s).
    const id = await kv.leaseGrant(1);
    assert.match(id, /^[1-9]\d*$/);
    await kv.put(`${p}lease/short`, 'x', { lease: id });
    assert.equal((await kv.get(`${p}lease/short`))?.lease, id);
    const ttl = await kv.leaseKeepAlive(id);
    assert.ok(ttl >= 1 && ttl <= 2, `TTL ${ttl}`);
    const t0 = Date.now();
    await until('the leased key to expire', 8000, async () => (await kv.get(`${p}lease/short`)) === undefined);
    const expiredAfter = Date.now() - t0;
    assert.ok(expiredAfter >= 1000, `expired after ${expiredAfter} ms`);
    assert.equal(await kv.leaseKeepAlive(id), 0);
    await rejectsCluster(kv.put(`${p}lease/late`, 'x', { lease: id }), /requested lease not found/);
    await rejectsCluster(kv.txn([], [{ kind: 'put', key: `${p}lease/late`, value: 'x', lease: id }]), /requested lease not found/);

    const long = await kv.leaseGrant(60);
    assert.ok((await kv.leaseKeepAlive(long)) >= 59);
    await kv.txn([], [{ kind: 'put', key: `${p}lease/long`, value: 'y', lease: long }]);
    assert.equal((await kv.get(`${p}lease/long`))?.lease, long);
    await kv.leaseRevoke(long);
    assert.equal(await kv.get(`${p}lease/long`), undefined, 'revoke deletes attached keys at once');
    assert.equal(await kv.leaseKeepAlive(long), 0);
    await kv.leaseRevoke(long); // already gone: still fine
    assert.equal(await kv.leaseKeepAlive('123'), 0, 'unknown lease');
  });

  it('watches puts and deletes in order, and resumes from a given revision', async () => {
    const w = `${p}watch/`;
    const start = (await kv.list(w)).revision + 1;
    const seen = new Seen();
    const watch = kv.watch(w, start, seen.handlers);
    const rA = await kv.put(`${w}a`, '1');
    const rB = await kv.put(`${w}b`, '2');
    await kv.put(`${p}watch0`, 'not under the prefix');
    const rD = await kv.delete(`${w}a`);
    const rT = (await kv.txn([], [{ kind: 'put', key: `${w}c`, value: '3' }, { kind: 'put', key: `${w}d`, value: '4' }])).revision;
    await until('4 watch batches', 5000, () => seen.events.length >= 5);
    await sleep(200);
    watch.close();
    assert.deepEqual(seen.events, [
      { type: 'put', key: `${w}a`, value: '1', rev: rA, version: 1 },
      { type: 'put', key: `${w}b`, value: '2', rev: rB, version: 1 },
      { type: 'delete', key: `${w}a`, value: '', rev: rD, version: 0 },
      { type: 'put', key: `${w}c`, value: '3', rev: rT, version: 1 },
      { type: 'put', key: `${w}d`, value: '4', rev: rT, version: 1 },
    ]);
    assert.equal(seen.batches.at(-1), rT, 'one txn is one batch at its revision');
    assert.deepEqual(seen.resets, []);

    // From a past revision: the history since then, nothing before.
    const again = new Seen();
    const w2 = kv.watch(w, rB, again.handlers);
    await until('replayed history', 5000, () => again.events.length >= 4);
    w2.close();
    assert.deepEqual(again.events.map((e) => `${e.type} ${e.key} ${e.rev}`), [`put ${w}b ${rB}`, `delete ${w}a ${rD}`, `put ${w}c ${rT}`, `put ${w}d ${rT}`]);

    // From 0: only what happens after the watch started.
    const now = new Seen();
    const w3 = kv.watch(w, 0, now.handlers);
    await sleep(300);
    const rN = await kv.put(`${w}e`, '5');
    await until('the new event', 5000, () => now.events.length >= 1);
    w3.close();
    await kv.put(`${w}f`, 'after close');
    await sleep(300);
    assert.deepEqual(now.events.map((e) => `${e.key} ${e.rev}`), [`${w}e ${rN}`], 'nothing after close');
  });

  it('resets a watch whose start revision was compacted', async () => {
    const w = `${p}compact/`;
    const old = await kv.put(`${w}a`, '1');
    const latest = await kv.put(`${w}a`, '2');
    const res = await fetch(`${etcd.url}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: String(latest), physical: true }) });
    assert.equal(res.status, 200, await res.text());
    const seen = new Seen();
    kv.watch(w, old, seen.handlers);
    await until('onReset', 5000, () => seen.resets.length > 0);
    await kv.put(`${w}a`, '3');
    await sleep(500);
    assert.equal(seen.resets.length, 1);
    assert.match(seen.resets[0]!, new RegExp(`from revision ${old} lost: etcd compacted up to revision ${latest}`));
    assert.deepEqual(seen.events, [], 'a reset watch delivers nothing');
  });

  it('keeps watching across an etcd crash and restart', async () => {
    const w = `${p}restart/`;
    const seen = new Seen();
    const watch = kv.watch(w, (await kv.list(w)).revision + 1, seen.handlers);
    const r1 = await kv.put(`${w}a`, 'before');
    await until('the first event', 5000, () => seen.events.length === 1);
    const oldPid = etcd.pid;
    const t0 = Date.now();
    await etcd.restart(); // SIGKILL, then the same data dir and ports
    assert.notEqual(etcd.pid, oldPid);
    const r2 = await kv.put(`${w}b`, 'while the watch reconnects');
    await until('events after the restart', 10_000, () => seen.events.length >= 2);
    const r3 = await kv.put(`${w}c`, 'after');
    await until('the last event', 5000, () => seen.events.length >= 3);
    const ms = Date.now() - t0;
    await sleep(200);
    watch.close();
    assert.deepEqual(seen.events.map((e) => `${e.key} ${e.rev}`), [`${w}a ${r1}`, `${w}b ${r2}`, `${w}c ${r3}`], 'no loss, no duplicates');
    assert.deepEqual(seen.resets, []);
    console.log(`# watch resumed across an etcd restart in ${ms} ms`);
  });

  it('notices a frozen etcd through the watch heartbeat', async (t) => {
    // SIGSTOP keeps the TCP connection open but silent, like a host that vanished without RST.
    const w = `${p}frozen/`;
    const quick = new EtcdKv({ endpoints: [etcd.url], timeoutMs: 500, watchResetMs: 1500 });
    const patient = new EtcdKv({ endpoints: [etcd.url], timeoutMs: 500 });
    t.after(() => {
      quick.close();
      patient.close();
    });
    const from = (await kv.list(w)).revision + 1;
    const gaveUp = new Seen();
    const kept = new Seen();
    quick.watch(w, from, gaveUp.handlers);
    patient.watch(w, from, kept.handlers);
    const r1 = await kv.put(`${w}a`, 'before');
    await until('both watches see the first event', 3000, () => gaveUp.events.length === 1 && kept.events.length === 1);
    process.kill(etcd.pid, 'SIGSTOP');
    try {
      await until('the quick watch to give up', 6000, () => gaveUp.resets.length > 0);
    } finally {
      process.kill(etcd.pid, 'SIGCONT');
    }
    assert.match(gaveUp.resets[0]!, /watch stream silent for 1000 ms|no reply within 500 ms/);
    const r2 = await kv.put(`${w}b`, 'after');
    await until('the patient watch to see the later event', 8000, () => kept.events.length >= 2);
    await sleep(200);
    assert.deepEqual(kept.events.map((e) => e.rev), [r1, r2]);
    assert.deepEqual(kept.resets, []);
    assert.equal(gaveUp.resets.length, 1);
    assert.equal(gaveUp.events.length, 1);
  });

  it('fails over from dead and silent endpoints and remembers the live one', async (t) => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    let silentConnections = 0;
    const silent = net.createServer((s) => {
      silentConnections++;
      s.on('error', () => undefined); // accepts, never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => silent.close());
    const silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;

    const fo = new EtcdKv({ endpoints: [dead, silentUrl, etcd.url], timeoutMs: 400 });
    t.after(() => fo.close());
    let t0 = Date.now();
    const rev = await fo.put(`${p}failover`, 'x');
    const firstMs = Date.now() - t0;
    assert.ok(rev > 0);
    assert.ok(firstMs >= 400 && firstMs < 2000, `first call took ${firstMs} ms`);
    assert.equal(silentConnections, 1);
    t0 = Date.now();
    assert.equal((await fo.get(`${p}failover`))?.value, 'x');
    assert.ok(Date.now() - t0 < 200, 'the live endpoint is remembered');
    assert.equal(silentConnections, 1);

    // A watch through the same client starts at the remembered endpoint.
    const seen = new Seen();
    fo.watch(`${p}failover`, rev, seen.handlers);
    await until('the watch event', 3000, () => seen.events.length === 1);

    const none = new EtcdKv({ endpoints: [dead, silentUrl], timeoutMs: 300 });
    t.after(() => none.close());
    await rejectsCluster(none.get('x'), /^cluster store unreachable: http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*; http:\/\/127\.0\.0\.1:\d+: no reply within 300 ms$/);
  });

  it('resets a watch that cannot reconnect for longer than watchResetMs', async (t) => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const lonely = new EtcdKv({ endpoints: [dead], watchResetMs: 1000 });
    t.after(() => lonely.close());
    const seen = new Seen();
    const t0 = Date.now();
    lonely.watch('/x/', 1, seen.handlers);
    await until('onReset', 5000, () => seen.resets.length > 0);
    const ms = Date.now() - t0;
    await sleep(300);
    assert.equal(seen.resets.length, 1);
    assert.match(seen.resets[0]!, /cluster store unreachable: .*ECONNREFUSED/);
    assert.ok(ms >= 1000 && ms < 3500, `reset after ${ms} ms`);
  });

  it('turns etcd errors into ERR_CLUSTER and refuses calls after close', async () => {
    await rejectsCluster(kv.put(`${p}e`, 'x', { lease: '42' }), /^etcd kv\/put: etcdserver: requested lease not found$/);
    const c = new EtcdKv({ endpoints: [etcd.url] });
    await c.put(`${p}e`, 'x');
    c.close();
    await rejectsCluster(c.get(`${p}e`), /closed/);
  });

  it('lets the process exit after close(), even with a watch open', () => {
    const script = `
      const { EtcdKv } = await import(${JSON.stringify(CLIENT)});
      const kv = new EtcdKv({ endpoints: [${JSON.stringify(etcd.url)}] });
      let n = 0;
      kv.watch('/exit-test/', 0, { onEvents: () => n++, onReset: () => {} });
      await kv.put('/exit-test/a', '1');
      await new Promise((r) => setTimeout(r, 300));
      kv.close();
      console.log(JSON.stringify({ events: n }));`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), { events: 1 });
    assert.ok(ms < 3000, `the process took ${ms} ms to exit`);
  });
});

describe('etcd helper inside a network namespace', { skip: SKIP }, () => {
  const name = `berth-etcd-${randomBytes(4).toString('hex')}`;
  const netnsPath = `/run/netns/${name}`;
  let etcd: EtcdProcess | undefined;

  before(() => {
    sh('ip', ['netns', 'add', name]);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  });
  after(async () => {
    await etcd?.stop();
    sh('ip', ['netns', 'del', name]);
  });

  it('runs etcd on the default ports in the netns, reachable only from there', async () => {
    etcd = await EtcdProcess.start({ netnsPath });
    assert.equal(etcd.url, 'http://127.0.0.1:2379');
    assert.equal(etcd.clusterStore, 'etcd://127.0.0.1:2379');
    const script = `
      const { EtcdKv, parseClusterStore } = await import(${JSON.stringify(CLIENT)});
      const kv = new EtcdKv({ endpoints: parseClusterStore(${JSON.stringify(etcd.clusterStore)}) });
      const rev = await kv.put('/ns/a', 'inside');
      const got = await kv.get('/ns/a');
      kv.close();
      console.log(JSON.stringify({ rev, value: got?.value }));`;
    const r = spawnSync('nsenter', [`--net=${netnsPath}`, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { rev: 2, value: 'inside' });
    // The PID is etcd's own (nsenter execs it), in that netns.
    assert.match(sh('readlink', [`/proc/${etcd.pid}/exe`]), /etcd/);
    const nsIno = sh('stat', ['-L', '-c', '%i', netnsPath]).trim();
    assert.equal(sh('stat', ['-L', '-c', '%i', `/proc/${etcd.pid}/ns/net`]).trim(), nsIno);

    const dir = etcd.dir;
    const pid = etcd.pid;
    await etcd.stop();
    etcd = undefined;
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'etcd is gone');
    assert.equal(fs.existsSync(dir), false, 'data dir removed');
  });
});
