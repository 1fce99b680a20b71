/**
 * `npm run bench [-- --quick | --full]`: berth side by side with the CNI reference plugins,
 * netavark (+ aardvark-dns) and Docker, each measured on this machine in the same run, printed
 * as one table and written under bench-results/<date>/ as markdown, JSON and an SVG chart.
 *
 * Order: peer packages (installed when missing), berth in-daemon sandbox setup/teardown, berth
 * end to end through berthd, the ports and DNS measurements (bench/ports.ts, bench/dns.ts, when
 * present), then CNI, netavark, Docker — one at a time, so they never share the CPUs. Every
 * namespace, daemon and process the run makes is removed at the end, on failure and on Ctrl-C.
 * The benchmark never asserts a time: a part that cannot run shows "n/a" with the reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BerthHost } from './berth-host.js';
import { benchBerthDaemon } from './berth-daemon.js';
import { measureBerthSandbox } from './berth-sandbox.js';
import { Results, type System } from './model.js';
import { benchCni, benchDocker, benchNetavark, ensurePeerPackages, parseDnsload, type PackageState } from './peers.js';
import { mapScriptOutput } from './plugin-output.js';
import type { BenchContext, BenchPlugin, DnsLoad, PluginResult } from './plugin.js';
import { renderJson, renderMarkdown, renderSvg, renderText, type RunMeta } from './report.js';
import { PEERS_DIR, REPO, alive, exec, netnsList, pidsOf, progress, runAllCleanups, sleep, stopActiveChildren } from './util.js';

interface Config {
  readonly mode: RunMeta['mode'];
  readonly scales: readonly number[];
  readonly sandbox: { rounds: number; batch: number };
  readonly daemon: { rounds: number; batch: number; netOps: number; cliOps: number; restarts: number; iperfSeconds: number; rmTimedMax: number };
  readonly cni: { rounds: number; batch: number; portmapMax: number };
  readonly netavark: { rounds: number; batch: number };
  readonly docker: { rounds: number; batch: number; noneBatch: boolean; netOps: number; cliOps: number; restarts: number; iperfSeconds: number };
}

const DEFAULT: Config = {
  mode: 'default',
  scales: [1, 100, 1000],
  sandbox: { rounds: 30, batch: 1000 },
  daemon: { rounds: 10, batch: 1000, netOps: 20, cliOps: 10, restarts: 3, iperfSeconds: 3, rmTimedMax: 100 },
  // portmap on the first 100 only: at 400–700 mappings one ADD takes 300–400 ms here.
  cni: { rounds: 10, batch: 1000, portmapMax: 100 },
  netavark: { rounds: 10, batch: 1000 },
  // 1,000 Docker containers take ~10 minutes more on 2 CPUs: only with --full.
  docker: { rounds: 10, batch: 100, noneBatch: true, netOps: 20, cliOps: 10, restarts: 2, iperfSeconds: 3 },
};

const QUICK: Config = {
  mode: 'quick',
  scales: [1, 100],
  sandbox: { rounds: 10, batch: 100 },
  daemon: { rounds: 5, batch: 100, netOps: 5, cliOps: 3, restarts: 1, iperfSeconds: 1, rmTimedMax: 100 },
  cni: { rounds: 5, batch: 100, portmapMax: 100 },
  netavark: { rounds: 5, batch: 100 },
  docker: { rounds: 5, batch: 100, noneBatch: false, netOps: 5, cliOps: 3, restarts: 1, iperfSeconds: 1 },
};

const FULL: Config = { ...DEFAULT, mode: 'full', docker: { ...DEFAULT.docker, batch: 1000 } };

const USAGE = `Usage: npm run bench [-- OPTIONS]

berth side by side with the CNI plugins, netavark and Docker, measured in one run.

Options:
  --quick          short run (~3 min): fewer repetitions, 100 containers instead of 1,000
  --full           also run Docker at 1,000 containers (~10 min more)
  --only LIST      comma-separated parts: sandbox,daemon,ports,dns,cni,netavark,docker
  --out DIR        results directory (default bench-results/<date>)
  -h, --help       this text
`;

/** How each figure is measured (printed under the markdown table). */
const METHODS = [
  'berth setup/teardown: a node process started with `nsenter --net=<throwaway bench- netns>` that plays berthd with berth\'s own modules (NetworkController over a Store in a temp dir, NetlinkKernel): per container, IPAM allocateAddress over the endpoints in use, the endpoint committed to SQLite, planSandboxSetup → applyAll (netns, lo, veth with its peer created in the netns on the bridge, address, up, default route); teardown drops the netns and deletes the endpoint. Firewall and DNS observers and runc are not included (see run -d).',
  'Scales: "1 on the network" = single rounds (set up, tear down, nothing else on the network); "N on the network" = a batch filling an empty network to N: setup over the first N setups, teardown over the last N teardowns (the network then holds at most N). One batch of the largest N gives every scale.',
  'CNI: the reference bridge plugin (host-local IPAM, ipMasq) invoked per the CNI spec inside a peer- netns (bench/peer-scripts/cni-scale.sh, adapted from shared/peers/bench/bench-cni.sh); the figure is the bridge ADD / DEL alone (netns creation excluded, unlike berth\'s).',
  'netavark: `netavark setup/teardown` with a JSON config (static IP, no port mapping), iptables firewall, inside a peer- netns (bench/peer-scripts/netavark-scale.sh, adapted from bench-netavark.sh); netns creation excluded.',
  'Docker: dockerd + containerd from docker.io started by shared/peers/docker-up.sh in netns peer-dockerhost; asked over its socket with the same HTTP client as berthd; dockerd runs with --live-restore so that, like berth\'s, its containers survive a daemon restart. Docker\'s network setup/teardown is the difference of the medians of run -d (create+start) / rm -f on a user network and on `none`.',
  'run -d = POST /containers/create + POST /containers/{id}/start of busybox `sleep` (berth: berthd in a bench- netns with runc and its busybox image; Docker: busybox:local); rm -f = DELETE /containers/{id}?force=1.',
  'network create/rm: API = one HTTP request on the unix socket (default address pool, then removal); CLI = the whole `berth network create` / `docker network create` process.',
  'Publishing the next port: berth from bench/ports.ts (the FirewallService as berthd runs it: allocation in beforeStart, then sync = render, element diff, one nftables transaction, with N ports already published in a throwaway netns); CNI = the portmap plugin ADD of the N-th container (N−1 mappings in place; median of the N-th and its neighbours).',
  'Embedded DNS: dnsload.py (shared/peers/bench, Python) from a container\'s netns, 2,000 A queries for another container\'s name, 1 and 16 in flight, for all three (berth after 10,000 warm-up queries: V8 compiles its hot path; the first 2,000 after a start are in raw.dnsload.cold): berth at 127.0.0.11 from a busybox container\'s SandboxKey (nsenter), aardvark-dns through bench-netavark.sh, Docker through bench-docker-dns.sh. bench/dns.ts (the DNS engineer\'s: a Node generator with its socket in the container netns, seconds of load per level) gives berth\'s figures its own way, in separate rows.',
  'TCP throughput: iperf3, one stream, server in container A\'s netns (nsenter), client in: a client netns behind the daemon\'s host (published port, DNAT), the daemon\'s host netns (direct), container B\'s netns (container to container).',
  'Memory: VmRSS of the daemon (berthd; dockerd + containerd) idle after start, and with N busybox containers running; runtime shims (berth-shim, containerd-shim) summed separately.',
  'Restart-reconcile: SIGKILL the daemon with N containers running, start it again (Docker: same flags, in containerd\'s namespaces), time until /_ping answers and until the container list shows all N.',
];

function parseArgs(argv: readonly string[]): { config: Config; only: Set<string> | undefined; out: string | undefined } | 'help' {
  let config = DEFAULT;
  let only: Set<string> | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quick') config = QUICK;
    else if (a === '--full') config = FULL;
    else if (a === '-h' || a === '--help') return 'help';
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      only = new Set((v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
    } else if (a === '--out' || a.startsWith('--out=')) {
      out = a.includes('=') ? a.slice(6) : argv[++i];
    } else throw new Error(`unknown option ${a}`);
  }
  return { config, only, out };
}

async function versions(pkgs: PackageState): Promise<Record<string, string>> {
  const pkgJson = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  const git = await exec('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { timeoutMs: 10_000 });
  const v: Record<string, string> = {
    berth: `${pkgJson.version}${git.code === 0 ? ` (${git.stdout.trim()})` : ''}`,
    node: process.version,
  };
  for (const p of ['containernetworking-plugins', 'netavark', 'aardvark-dns', 'docker.io', 'iperf3']) {
    v[p] = pkgs.installed[p] ?? 'not installed';
  }
  for (const p of ['containerd', 'runc']) {
    const r = await exec('dpkg-query', ['-W', '-f=${Version}', p], { timeoutMs: 10_000 });
    v[p] = r.code === 0 && r.stdout !== '' ? r.stdout : 'not installed';
  }
  return v;
}

function machine(): RunMeta['machine'] {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  cpu = cpu.replace(/\s+/g, ' ').trim();
  return { nproc: os.availableParallelism(), memGiB: os.totalmem() / 1024 ** 3, kernel: os.release(), cpu };
}

/**
 * Runs bench/<file>: when its source exports `exportName` (or `run`/default) it is imported and
 * called with a BenchContext; otherwise it is a standalone script, run as `node dist/bench/<file>.js`
 * and its JSON on stdout is read (a `figures` object, or the shapes `mapScriptOutput` knows).
 * Figures land in berth's cells of `ids`.
 */
async function runPlugin(
  results: Results,
  file: string,
  exportName: string,
  ids: readonly string[],
  ctx: BenchContext,
  rowOf: (figureId: string) => string = (id) => id,
): Promise<void> {
  const js = path.join(REPO, 'dist/bench', `${file}.js`);
  const ts = path.join(REPO, 'bench', `${file}.ts`);
  const pending = (why: string) => {
    for (const id of ids) results.set(rowOf(id), 'berth', { pending: why });
  };
  if (!fs.existsSync(ts)) return pending(`bench/${file}.ts is not written yet`);
  if (!fs.existsSync(js)) return pending(`bench/${file}.ts did not compile`);
  const source = fs.readFileSync(ts, 'utf8');
  const exportsApi = new RegExp(`export\\s+(async\\s+)?(function|const|let)\\s+(${exportName}|run)\\b|export\\s+default\\b`).test(source);
  let res: PluginResult;
  try {
    if (exportsApi) {
      const mod = (await import(pathToFileURL(js).href)) as Record<string, unknown>;
      const fn = (mod[exportName] ?? mod['run'] ?? mod['default']) as BenchPlugin | undefined;
      if (typeof fn !== 'function') return pending(`bench/${file}.ts exports no ${exportName}(ctx) (see bench/plugin.ts)`);
      ctx.log(`calling ${exportName}() of bench/${file}.ts`);
      const before = new Set(shimPids());
      let got: unknown;
      try {
        got = await fn(ctx);
      } finally {
        const leaked = await reapOrphanShims(before);
        if (leaked > 0) results.note(`bench/${file}.ts left ${leaked} berth container(s) running after it stopped its berthd; the benchmark killed them by PID`);
      }
      // Its own result shape (as the script would print it) is read like the script's JSON.
      const g = got as Partial<PluginResult> | undefined;
      res = g !== undefined && typeof g.figures === 'object' ? (g as PluginResult) : { figures: mapScriptOutput(got) };
      fs.writeFileSync(path.join(ctx.resDir, 'result.json'), `${JSON.stringify(got, null, 1)}\n`);
    } else {
      res = await runPluginScript(file, js, ctx);
    }
  } catch (err) {
    for (const id of ids) results.set(rowOf(id), 'berth', { na: `bench/${file}.ts failed: ${(err as Error).message.slice(0, 150)}` });
    return;
  }
  results.raw[`plugin.${file}`] = res;
  for (const id of ids) {
    const f = res?.figures?.[id];
    if (f === undefined) results.set(rowOf(id), 'berth', { na: `not reported by bench/${file}.ts` });
    else if ('na' in f) results.set(rowOf(id), 'berth', { na: f.na });
    else {
      results.set(rowOf(id), 'berth', {
        value: f.value,
        ...(f.p90 === undefined ? {} : { p90: f.p90 }),
        ...(f.n === undefined ? {} : { n: f.n }),
        ...(f.note === undefined ? {} : { note: f.note }),
      });
    }
  }
  for (const n of res?.notes ?? []) results.note(`${file}: ${n}`);
}

/** A standalone bench script: run it, read its JSON, remove berth containers it left running. */
async function runPluginScript(file: string, js: string, ctx: BenchContext): Promise<PluginResult> {
  const before = new Set(shimPids());
  ctx.log(`running dist/bench/${file}.js (a standalone script)`);
  // No arguments: a script's own parser may refuse unknown options; BENCH_QUICK says --quick.
  const r = await exec(process.execPath, [js], {
    timeoutMs: 15 * 60_000,
    env: { ...process.env, BENCH_QUICK: ctx.quick ? '1' : '' },
  });
  fs.writeFileSync(path.join(ctx.resDir, 'stdout.txt'), r.stdout);
  fs.writeFileSync(path.join(ctx.resDir, 'stderr.txt'), r.stderr);
  const leaked = await reapOrphanShims(before);
  const notes = leaked > 0 ? [`bench/${file}.ts left ${leaked} berth container(s) running after it stopped its berthd; the benchmark killed them by PID`] : [];
  if (r.code !== 0) throw new Error(`exit ${r.code ?? r.signal}${r.timedOut ? ' (time limit)' : ''}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  let out: unknown;
  try {
    out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  } catch {
    throw new Error('printed no JSON');
  }
  const mapped = mapScriptOutput(out);
  const tp = (out as { throughput?: { directGbps?: number; publishedGbps?: number; seconds?: number } })?.throughput;
  if (typeof tp?.publishedGbps === 'number' && typeof tp.directGbps === 'number') {
    notes.push(`firewall alone (bench/ports.ts, veths without berthd): iperf3 ${tp.publishedGbps} Gbit/s through a published port vs ${tp.directGbps} Gbit/s routed directly`);
  }
  return { figures: mapped, notes };
}

function shimPids(): number[] {
  return pidsOf('berth-shim', '--bundle');
}

/**
 * berth-shims that appeared while a script ran and whose bundle directory is gone (the script
 * removed its berthd's state but not its containers): kill the container process and the shim
 * by PID, and remove the container's cgroups. Returns how many.
 */
async function reapOrphanShims(before: ReadonlySet<number>): Promise<number> {
  let n = 0;
  for (const pid of shimPids()) {
    if (before.has(pid)) continue;
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const bundle = args[args.indexOf('--bundle') + 1];
    const id = args[args.indexOf('--id') + 1];
    if (bundle === undefined || fs.existsSync(bundle)) continue;
    let kids: number[] = [];
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number);
    } catch {
      // gone
    }
    for (const k of kids) if (alive(k)) process.kill(k, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(20);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (id !== undefined && /^[0-9a-f]{64}$/.test(id)) {
      for (const ctl of fs.readdirSync('/sys/fs/cgroup')) {
        const dir = path.join('/sys/fs/cgroup', ctl, 'berth', id);
        try {
          fs.rmdirSync(dir);
        } catch {
          // absent or not empty yet
        }
      }
    }
    n++;
  }
  return n;
}

function pluginContext(quick: boolean, resDir: string, name: string): { ctx: BenchContext; done: () => Promise<void> } {
  const hosts: BerthHost[] = [];
  const dir = path.join(resDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const ctx: BenchContext = {
    quick,
    seconds: quick ? 1 : 3,
    resDir: dir,
    log: (m) => progress(`${name}: ${m}`),
    startBerthd: async (extra = []) => {
      const h = await BerthHost.start(extra);
      hosts.push(h);
      return h;
    },
    dnsload: async (netnsPath, server, qname, count, concurrency): Promise<DnsLoad> => {
      const r = await exec(
        'nsenter',
        [`--net=${netnsPath}`, 'python3', path.join(PEERS_DIR, 'bench/dnsload.py'), server, qname, String(count), String(concurrency)],
        { timeoutMs: 90_000 },
      );
      const line = r.stdout.trim().split('\n').pop() ?? '';
      const d = parseDnsload(line);
      if (r.code !== 0 || d === undefined) throw new Error(`dnsload.py: ${r.stderr.trim() || line}`);
      return { ...d, line };
    },
  };
  return {
    ctx,
    done: async () => {
      for (const h of hosts) await h.cleanup();
    },
  };
}

/** Cells a system should have but did not get (rows `which` selects): "n/a" with the reason. */
function fillGaps(results: Results, system: System, reason: string, which: (rowId: string) => boolean = () => true): void {
  for (const r of results.rows) {
    if (which(r.id) && r.applies.includes(system) && r.cells[system] === undefined) r.cells[system] = { na: reason };
  }
}

/** The rows each berth part fills (a failing part marks only its own). */
const BERTH_PART_ROWS: Record<string, (id: string) => boolean> = {
  'berth sandbox': (id) => id.startsWith('setup.') || id.startsWith('teardown.'),
  'berth daemon': (id) => !/^(setup|teardown|ports|dnsown)\./.test(id),
  ports: (id) => id.startsWith('ports.'),
  dns: (id) => id.startsWith('dnsown.'),
};

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (network namespaces, netlink, runc, the peers\' daemons)\n');
    return 1;
  }
  const { config, only } = parsed;
  const want = (part: string) => only === undefined || only.has(part);
  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const outDir = path.resolve(parsed.out ?? path.join(REPO, 'bench-results', date));
  const resDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-res-'));
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress(`${sig}: stopping what runs, cleaning up`);
    void stopActiveChildren()
      .then(() => runAllCleanups())
      .finally(() => {
        fs.rmSync(resDir, { recursive: true, force: true });
        process.exit(130);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results = new Results(config.scales);
  const durations: Record<string, number> = {};
  let pkgs: PackageState = { installed: {} };
  const part = async (name: string, system: System | undefined, fn: () => Promise<void>) => {
    const t0 = Date.now();
    try {
      await fn();
    } catch (err) {
      const msg = (err as Error).message;
      progress(`${name} failed: ${msg}`);
      results.note(`${name}: ${msg.slice(0, 400)}`);
      if (system !== undefined) fillGaps(results, system, `${name} failed: ${msg.slice(0, 120)}`, BERTH_PART_ROWS[name]);
    } finally {
      await runAllCleanups();
      durations[name] = (Date.now() - t0) / 1000;
    }
  };

  try {
    progress(`mode ${config.mode}; raw peer files in ${resDir}`);
    await part('packages', undefined, async () => {
      pkgs = await ensurePeerPackages();
      if (pkgs.error !== undefined) results.note(`peer packages: ${pkgs.error}`);
    });

    if (want('sandbox')) {
      await part('berth sandbox', 'berth', async () => {
        progress(`berth: in-daemon sandbox setup/teardown, ${config.sandbox.rounds} rounds + batch of ${config.sandbox.batch}`);
        const r = await measureBerthSandbox(config.sandbox);
        results.raw['berth.sandbox'] = r;
        for (const s of config.scales) {
          if (s === 1) {
            results.setSamples('setup.1', 'berth', r.singleSetupMs);
            results.setSamples('teardown.1', 'berth', r.singleTeardownMs);
          } else if (r.batchSetupMs.length >= s) {
            results.setSamples(`setup.${s}`, 'berth', r.batchSetupMs.slice(0, s));
            results.setSamples(`teardown.${s}`, 'berth', r.batchTeardownMs.slice(r.batchTeardownMs.length - s));
          }
        }
        results.note(
          `berth teardown drops the netns; the kernel then destroyed the ${r.bridgePortsAtPeak} veth pairs of the batch in the background within ${(r.kernelSettleMs / 1000).toFixed(1)} s.`,
        );
      });
    }
    if (want('daemon')) {
      await part('berth daemon', 'berth', () => benchBerthDaemon(results, { ...config.daemon, scales: config.scales }));
    }
    if (want('ports')) {
      await part('ports', 'berth', async () => {
        const p = pluginContext(config.mode === 'quick', resDir, 'ports');
        try {
          await runPlugin(results, 'ports', 'benchPorts', [10, 100, 1000, 10000].map((n) => `ports.next.${n}`), p.ctx);
        } finally {
          await p.done();
        }
      });
    }
    if (want('dns')) {
      await part('dns', 'berth', async () => {
        const p = pluginContext(config.mode === 'quick', resDir, 'dns');
        try {
          // Its figures go to the "berth alone" rows; the dnsload.py rows are berth-daemon.ts's.
          const ids = ['dns.c1.qps', 'dns.c1.p50', 'dns.c1.p99', 'dns.c16.qps', 'dns.c16.p50', 'dns.c16.p99'];
          await runPlugin(results, 'dns', 'benchDns', ids, p.ctx, (id) => id.replace(/^dns\./, 'dnsown.'));
        } finally {
          await p.done();
        }
      });
    }
    if (want('cni')) await part('CNI', 'cni', () => benchCni(results, pkgs, { ...config.cni, scales: config.scales, resDir }));
    if (want('netavark')) await part('netavark', 'netavark', () => benchNetavark(results, pkgs, { ...config.netavark, scales: config.scales, resDir }));
    if (want('docker')) {
      await part('Docker', 'docker', () => benchDocker(results, pkgs, { ...config.docker, scales: config.scales, resDir }));
    }
    for (const n of [10, 100, 1000, 10000]) {
      if (results.row(`ports.next.${n}`)?.cells.docker === undefined) {
        results.set(`ports.next.${n}`, 'docker', { na: 'not measured: Docker publishes per container (a docker-proxy process and iptables rules per port); thousands of containers are outside the time budget' });
      }
    }
  } finally {
    await runAllCleanups();
  }

  for (const s of ['berth', 'cni', 'netavark', 'docker'] as const) fillGaps(results, s, only === undefined ? 'not measured' : 'part not selected (--only)');
  const meta: RunMeta = {
    date: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
    mode: config.mode,
    machine: machine(),
    versions: await versions(pkgs),
    durationsSec: durations,
    totalSec: (Date.now() - started) / 1000,
  };
  const leftovers = netnsList().filter((n) => n.startsWith('bench-') || /^peer-b(cni|nv)/.test(n));
  if (leftovers.length > 0) results.note(`namespaces left behind (please report): ${leftovers.join(' ')}`);

  fs.mkdirSync(outDir, { recursive: true });
  const suffix = config.mode === 'default' ? '' : `-${config.mode}`;
  fs.writeFileSync(path.join(outDir, `results${suffix}.md`), renderMarkdown(results, meta, METHODS));
  fs.writeFileSync(path.join(outDir, `results${suffix}.json`), renderJson(results, meta, METHODS));
  fs.writeFileSync(path.join(outDir, `chart${suffix}.svg`), renderSvg(results, meta));
  // The peers' raw files (timings one per line, logs, summaries), then the temp dir goes.
  const rawDir = path.join(outDir, `raw${suffix}`);
  fs.rmSync(rawDir, { recursive: true, force: true });
  fs.cpSync(resDir, rawDir, { recursive: true });
  fs.rmSync(resDir, { recursive: true, force: true });

  process.stdout.write(renderText(results, meta));
  process.stdout.write(`\nwritten: ${path.relative(process.cwd(), outDir) || '.'}/{results${suffix}.md,results${suffix}.json,chart${suffix}.svg,raw${suffix}/}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    await runAllCleanups();
    process.exitCode = 1;
  },
);
