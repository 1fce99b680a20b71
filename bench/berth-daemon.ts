/**
 * berth end to end, through a real berthd (BerthHost: a throwaway netns, the daemon started with
 * nsenter, requests over its unix socket, exactly what a client does):
 *
 * - `network create` / `network rm` through the API and through the `berth` CLI process;
 * - `run -d` = `POST /containers/create` + `POST /containers/{id}/start` of busybox `sleep`
 *   (runc, overlay layer, files, sandbox, observers), `rm -f` = `DELETE /containers/{id}?force=1`;
 *   single rounds on a user network and on `none` (the difference of the medians is the
 *   network's share), then a batch of N on one user network;
 * - berthd's VmRSS idle, at 100 and at N running containers, and the berth-shims' total;
 * - restart-reconcile: SIGKILL berthd with N running, start it again, time until `/_ping`
 *   answers and until `GET /containers/json` lists all N as running;
 * - iperf3 through a published port, host → container, container → container.
 */
import path from 'node:path';
import { BerthHost, type RunningContainer } from './berth-host.js';
import { iperf, makeClientNetns } from './iperf.js';
import { Results } from './model.js';
import { median } from './stats.js';
import { parseDnsload } from './peers.js';
import { PEERS_DIR, REPO, exec, nowMs, pidsOf, progress, rssKb, sleep } from './util.js';

export interface BerthDaemonOptions {
  readonly rounds: number;
  readonly batch: number;
  readonly scales: readonly number[];
  readonly netOps: number;
  readonly cliOps: number;
  readonly restarts: number;
  readonly iperfSeconds: number;
  /** Above this many containers, only the first this-many removals are timed. */
  readonly rmTimedMax: number;
}

const KB_PER_MB = 1024;

export async function benchBerthDaemon(results: Results, opts: BerthDaemonOptions): Promise<void> {
  const raw: Record<string, unknown> = {};
  results.raw['berth.daemon'] = raw;
  progress('berth: starting berthd in a throwaway netns');
  const t0 = nowMs();
  const host = await BerthHost.start();
  raw['coldStartMs'] = nowMs() - t0;
  try {
    await sleep(2000);
    const idle = host.rssKb();
    raw['rssIdleKb'] = idle;
    if (idle !== undefined) results.set('mem.idle', 'berth', { value: idle / KB_PER_MB, note: 'berthd' });

    await networkOps(host, results, opts, raw);

    await host.requestOk('POST', '/networks/create', { Name: 'benchnet', CheckDuplicate: true });
    await singles(host, results, opts, raw);
    await dnsload(host, results, raw);
    await throughput(host, results, opts, raw);
    await batch(host, results, opts, raw);
  } finally {
    progress('berth: removing berthd host');
    await host.cleanup();
  }
}

async function networkOps(host: BerthHost, results: Results, opts: BerthDaemonOptions, raw: Record<string, unknown>): Promise<void> {
  progress(`berth: network create/rm x${opts.netOps} (API), x${opts.cliOps} (CLI)`);
  const create: number[] = [];
  const rm: number[] = [];
  for (let i = 0; i < opts.netOps; i++) {
    const t = nowMs();
    await host.requestOk('POST', '/networks/create', { Name: `bn${i}`, CheckDuplicate: true });
    create.push(nowMs() - t);
  }
  for (let i = 0; i < opts.netOps; i++) {
    const t = nowMs();
    await host.requestOk('DELETE', `/networks/bn${i}`);
    rm.push(nowMs() - t);
  }
  raw['netCreateApiMs'] = create;
  raw['netRmApiMs'] = rm;
  results.setSamples('net.create.api', 'berth', create);
  results.setSamples('net.rm.api', 'berth', rm);

  const cli = (args: string[]) =>
    exec(process.execPath, [path.join(REPO, 'bin/berth'), '-H', `unix://${host.socket}`, ...args], { timeoutMs: 30_000 });
  const ccreate: number[] = [];
  const crm: number[] = [];
  for (let i = 0; i < opts.cliOps; i++) {
    const r = await cli(['network', 'create', `bc${i}`]);
    if (r.code !== 0) throw new Error(`berth network create: ${r.stderr.trim()}`);
    ccreate.push(r.ms);
  }
  for (let i = 0; i < opts.cliOps; i++) {
    const r = await cli(['network', 'rm', `bc${i}`]);
    if (r.code !== 0) throw new Error(`berth network rm: ${r.stderr.trim()}`);
    crm.push(r.ms);
  }
  raw['netCreateCliMs'] = ccreate;
  raw['netRmCliMs'] = crm;
  results.setSamples('net.create.cli', 'berth', ccreate, 'node + berth CLI');
  results.setSamples('net.rm.cli', 'berth', crm, 'node + berth CLI');
}

/** Single containers, alternating user network and none, each removed before the next. */
async function singles(host: BerthHost, results: Results, opts: BerthDaemonOptions, raw: Record<string, unknown>): Promise<void> {
  progress(`berth: run -d / rm -f, ${opts.rounds} rounds on a user network and on none`);
  const run: Record<string, number[]> = { benchnet: [], none: [] };
  const rm: Record<string, number[]> = { benchnet: [], none: [] };
  for (let i = 0; i < 2; i++) {
    // warm-up (first container builds caches, image lookups)
    const id = await host.createContainer('benchnet');
    await host.startContainer(id);
    await host.removeContainer(id);
  }
  for (let i = 0; i < opts.rounds; i++) {
    for (const net of i % 2 === 0 ? ['benchnet', 'none'] : ['none', 'benchnet']) {
      const t = nowMs();
      const id = await host.createContainer(net);
      await host.startContainer(id);
      (run[net] as number[]).push(nowMs() - t);
      const t2 = nowMs();
      await host.removeContainer(id);
      (rm[net] as number[]).push(nowMs() - t2);
    }
  }
  raw['singleRunMs'] = run;
  raw['singleRmMs'] = rm;
  results.setSamples('run.1', 'berth', run['benchnet'] as number[]);
  results.setSamples('rm.1', 'berth', rm['benchnet'] as number[]);
  results.set('runshare.1', 'berth', {
    value: median(run['benchnet'] as number[]) - median(run['none'] as number[]),
    note: `diff. of medians, n=${opts.rounds}`,
  });
  results.set('rmshare.1', 'berth', {
    value: median(rm['benchnet'] as number[]) - median(rm['none'] as number[]),
    note: `diff. of medians, n=${opts.rounds}`,
  });
}

/** Embedded DNS with the peers' generator (dnsload.py), from one container's netns to 127.0.0.11. */
async function dnsload(host: BerthHost, results: Results, raw: Record<string, unknown>): Promise<void> {
  progress('berth: embedded DNS with dnsload.py');
  const out: Record<string, unknown> = {};
  raw['dnsload'] = out;
  let a: RunningContainer | undefined;
  let b: RunningContainer | undefined;
  try {
    a = await host.runContainer('benchnet', { name: 'dns1' });
    b = await host.runContainer('benchnet', { name: 'dns2' });
    // Warm-up, not recorded: 5 × 2,000 queries. V8 compiles the resolver's hot path only after
    // several thousand queries; right after a start the first 2,000 have a p99 of 2–4 ms, from
    // ~10,000 on it stays at 0.2–0.6 ms (measured on this machine). A daemon serves for days,
    // so the warm figure is the one users meet; the cold one is kept in raw.dnsload.cold.
    for (let i = 0; i < 5; i++) {
      const w = await exec('nsenter', [`--net=${a.sandboxKey}`, 'python3', path.join(PEERS_DIR, 'bench/dnsload.py'), '127.0.0.11', 'dns2', '2000', '16'], { timeoutMs: 90_000 });
      if (i === 0) out['cold'] = w.stdout.trim().split('\n').pop() ?? '';
    }
    for (const c of [1, 16]) {
      const r = await exec('nsenter', [`--net=${a.sandboxKey}`, 'python3', path.join(PEERS_DIR, 'bench/dnsload.py'), '127.0.0.11', 'dns2', '2000', String(c)], {
        timeoutMs: 90_000,
      });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      out[`c${c}`] = line;
      const d = parseDnsload(line);
      if (r.code !== 0 || d === undefined) {
        results.naAll(`dns.c${c}.`, 'berth', `dnsload.py: ${(r.stderr.trim() || line).slice(0, 160)}`);
        continue;
      }
      const extra = d.ok < d.sent ? `, ${d.sent - d.ok} of ${d.sent} not answered ok` : '';
      const note = `dnsload.py${extra}`;
      results.set(`dns.c${c}.qps`, 'berth', { value: d.qps, note });
      results.set(`dns.c${c}.p50`, 'berth', { value: d.p50, note });
      results.set(`dns.c${c}.p99`, 'berth', { value: d.p99, note });
    }
  } catch (err) {
    results.naAll('dns.', 'berth', `could not run the DNS containers: ${(err as Error).message.slice(0, 160)}`);
  } finally {
    if (a !== undefined) await host.removeContainer(a.id).catch(() => undefined);
    if (b !== undefined) await host.removeContainer(b.id).catch(() => undefined);
  }
}

async function throughput(host: BerthHost, results: Results, opts: BerthDaemonOptions, raw: Record<string, unknown>): Promise<void> {
  progress('berth: TCP throughput (iperf3)');
  let a: RunningContainer | undefined;
  let b: RunningContainer | undefined;
  const out: Record<string, unknown> = {};
  raw['throughput'] = out;
  try {
    a = await host.runContainer('benchnet', { name: 'iperf-a', ports: { '5201/tcp': '15201' } });
    b = await host.runContainer('benchnet', { name: 'iperf-b' });
  } catch (err) {
    const why = `could not start the iperf containers: ${(err as Error).message}`;
    for (const id of ['tcp.published', 'tcp.direct', 'tcp.c2c']) results.set(id, 'berth', { na: why });
    return;
  }
  const server = a.sandboxKey;
  const cases: { id: string; clientNs: () => Promise<{ ns: string; done?: () => Promise<void> }>; target: string; port: number }[] = [
    {
      id: 'tcp.published',
      clientNs: async () => {
        const c = await makeClientNetns(host.netnsPath, '10.231.0.1', '10.231.0.2');
        return { ns: c.path, done: c.remove };
      },
      target: '10.231.0.1',
      port: 15201,
    },
    { id: 'tcp.direct', clientNs: async () => ({ ns: host.netnsPath }), target: a.ip, port: 5201 },
    { id: 'tcp.c2c', clientNs: async () => ({ ns: (b as RunningContainer).sandboxKey }), target: a.ip, port: 5201 },
  ];
  for (const c of cases) {
    let done: (() => Promise<void>) | undefined;
    try {
      const client = await c.clientNs();
      done = client.done;
      const r = await iperf({ serverNs: server, clientNs: client.ns, target: c.target, port: c.port, listenPort: 5201, seconds: opts.iperfSeconds });
      out[c.id] = r;
      results.set(c.id, 'berth', { value: r.gbps, note: `${r.seconds} s` });
    } catch (err) {
      let why = (err as Error).message;
      if (c.id === 'tcp.published') {
        // Say whether berthd programmed anything to publish with.
        const t = await exec('nsenter', [`--net=${host.netnsPath}`, 'nft', 'list', 'tables'], { timeoutMs: 10_000 });
        const tables = t.stdout.trim().split('\n').filter((l) => l !== '').join(', ');
        why = `${why} (nftables in berthd's netns: ${tables === '' ? 'none' : tables})`;
      }
      out[c.id] = { error: why };
      results.set(c.id, 'berth', { na: why.slice(0, 220) });
    } finally {
      await done?.();
    }
  }
  await host.removeContainer(a.id);
  await host.removeContainer(b.id);
}

function shimRssKb(host: BerthHost): { count: number; kb: number } {
  const pids = pidsOf('berth-shim', host.dir);
  return { count: pids.length, kb: pids.reduce((t, p) => t + (rssKb(p) ?? 0), 0) };
}

/**
 * One phase per scale above 1 (100, then 1,000), each on the emptied network: N containers
 * started one after another (run -d over all N), memory with N running, restart-reconcile with
 * N, then rm -f. Removals get slow with many containers running, so above `rmTimedMax` only
 * the first `rmTimedMax` removals are timed (N … N−rmTimedMax+1 running) and the rest go the
 * fast way (SIGKILL berthd, runc kill/delete, unmount: BerthHost.cleanup without the API).
 */
async function batch(host: BerthHost, results: Results, opts: BerthDaemonOptions, raw: Record<string, unknown>): Promise<void> {
  const phases: Record<string, unknown> = {};
  raw['phases'] = phases;
  const scales = opts.scales.filter((s) => s > 1 && s <= opts.batch).sort((a, b) => a - b);
  for (const s of opts.scales.filter((x) => x > 1 && x > opts.batch)) {
    for (const id of [`run.${s}`, `rm.${s}`, `mem.${s}`, `mem.shims.${s}`, `restart.ping.${s}`, `restart.list.${s}`]) {
      results.set(id, 'berth', { na: `not run (batch ${opts.batch})` });
    }
  }
  for (const n of scales) {
    const last = n === scales[scales.length - 1];
    const ph: Record<string, unknown> = {};
    phases[String(n)] = ph;
    const ok = await phase(host, results, opts, n, ph);
    if (!ok) break;
    if (!last) await sleep(1000);
  }
}

async function phase(host: BerthHost, results: Results, opts: BerthDaemonOptions, n: number, ph: Record<string, unknown>): Promise<boolean> {
  progress(`berth: run -d x${n} on one network`);
  const create: number[] = [];
  const start: number[] = [];
  const runMs: number[] = [];
  const ids: string[] = [];
  Object.assign(ph, { create, start, runMs });
  let failure: string | undefined;
  const tBatch = nowMs();
  for (let i = 0; i < n; i++) {
    try {
      const t = nowMs();
      const id = await host.createContainer('benchnet');
      const t1 = nowMs();
      await host.startContainer(id);
      const t2 = nowMs();
      ids.push(id);
      create.push(t1 - t);
      start.push(t2 - t1);
      runMs.push(t2 - t);
    } catch (err) {
      failure = `failed at container #${i + 1}: ${(err as Error).message.slice(0, 300)}`;
      progress(`berth: batch ${failure}`);
      break;
    }
    if ((i + 1) % 100 === 0 && n > 100) progress(`berth: ${i + 1}/${n} running (${((nowMs() - tBatch) / 1000).toFixed(0)} s)`);
  }
  ph['failure'] = failure;
  if (failure !== undefined) {
    results.note(`berth run -d batch of ${n}: ${failure}`);
    for (const id of [`run.${n}`, `rm.${n}`, `mem.${n}`, `mem.shims.${n}`, `restart.ping.${n}`, `restart.list.${n}`]) results.set(id, 'berth', { na: failure.slice(0, 160) });
    await removeAll(host, ids, ids.length, ph);
    return false;
  }
  results.setSamples(`run.${n}`, 'berth', runMs);
  await sleep(1000);
  const mem = { daemonKb: host.rssKb(), shims: shimRssKb(host) };
  ph['mem'] = mem;
  if (mem.daemonKb !== undefined) results.set(`mem.${n}`, 'berth', { value: mem.daemonKb / KB_PER_MB, note: 'berthd' });
  results.set(`mem.shims.${n}`, 'berth', { value: mem.shims.kb / KB_PER_MB, note: `${mem.shims.count} berth-shim` });

  // Restart-reconcile with all N running (fewer rounds with many: each takes seconds).
  const rounds = n > 100 ? 1 : opts.restarts;
  progress(`berth: restart-reconcile with ${n} containers x${rounds}`);
  const pingMs: number[] = [];
  const listMs: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      await host.killDaemon();
      const t = nowMs();
      const child = host.spawnDaemon();
      pingMs.push(await host.waitPing(child, t, 300_000));
      const deadline = t + 600_000;
      for (;;) {
        const l = await host.request('GET', '/containers/json', undefined, 60_000).catch(() => undefined);
        const listed = Array.isArray(l?.body) ? (l?.body as { State?: string }[]).filter((c) => c.State === 'running').length : 0;
        if (listed >= n) break;
        if (nowMs() > deadline) throw new Error(`after restart the API lists ${listed}/${n} running`);
        await sleep(5);
      }
      listMs.push(nowMs() - t);
      await sleep(1000);
    }
    ph['restart'] = { pingMs, listMs, rssAfterKb: host.rssKb() };
    const note = rounds > 1 ? `median of ${rounds}` : '1 restart';
    results.set(`restart.ping.${n}`, 'berth', { value: median(pingMs), n: pingMs.length, note });
    results.set(`restart.list.${n}`, 'berth', { value: median(listMs), n: listMs.length, note });
  } catch (err) {
    const why = (err as Error).message.slice(0, 200);
    ph['restart'] = { pingMs, listMs, error: why };
    results.set(`restart.ping.${n}`, 'berth', { na: why });
    results.set(`restart.list.${n}`, 'berth', { na: why });
    results.note(`berth restart-reconcile with ${n}: ${why}`);
  }

  const timed = Math.min(ids.length, opts.rmTimedMax);
  const rm = await removeAll(host, ids, timed, ph);
  if (rm.length >= timed && timed > 0) {
    // All N timed: the last N removals had ≤ N running; otherwise the first ones, N … running.
    results.setSamples(`rm.${n}`, 'berth', rm, timed < n ? `first ${timed} of ${n} removals` : undefined);
  }
  return true;
}

/**
 * rm -f the first `timed` containers one by one, timed; the rest (if any) through the fast path
 * that ends this host's daemon (the phase with the most containers is the last one).
 */
async function removeAll(host: BerthHost, ids: readonly string[], timed: number, ph: Record<string, unknown>): Promise<number[]> {
  progress(`berth: rm -f x${timed}${ids.length > timed ? ` (then ${ids.length - timed} more the fast way)` : ''}`);
  const rm: number[] = [];
  ph['rmMs'] = rm;
  for (const id of ids.slice(0, timed)) {
    const t = nowMs();
    try {
      await host.removeContainer(id);
    } catch (err) {
      ph['rmFailure'] = (err as Error).message.slice(0, 300);
      break;
    }
    rm.push(nowMs() - t);
  }
  if (ids.length > timed || ph['rmFailure'] !== undefined) {
    const t = nowMs();
    await host.cleanup({ viaApi: false });
    ph['fastRemovalMs'] = nowMs() - t;
  } else {
    await sleep(1000);
    ph['rssAfterRmKb'] = host.rssKb();
  }
  return rm;
}
