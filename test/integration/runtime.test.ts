/**
 * The runtime layer against the real runc, as root: busybox image, overlay layers, berth-shim,
 * logs, exec, stop, exit codes, survival of a "daemon" that dies, and a clean machine after.
 *
 * Containers get a fresh empty network namespace made by runc (`network: {kind: 'new'}`), so
 * nothing here touches the machine's root netns. All files live in a mkdtemp dir
 * (`berth-rt-*`), container cgroups under a random parent that is removed at the end, and
 * cleanup only ever kills PIDs this test started.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isCode } from '../../src/errors.js';
import {
  buildShim,
  defaultCgroupsPath,
  ensureBusyboxImage,
  getImage,
  importImage,
  layerPaths,
  logText,
  mountLayer,
  parseExitFrame,
  readLog,
  removeImage,
  removeLayer,
  renderOciSpec,
  runTool,
  RuncRuntime,
  type ContainerLayer,
  type Image,
  type OciSpecOptions,
  type ShimConnection,
} from '../../src/runtime/index.js';

const isRoot = process.getuid?.() === 0;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** Directories named `name` in any cgroup hierarchy (v1 and the v2 unified mount). */
async function findCgroupDirs(name: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name === name) found.push(p);
      else if (depth < 4) await walk(p, depth + 1);
    }
  }
  await walk('/sys/fs/cgroup', 0);
  return found;
}

/** PIDs whose command line mentions `text` (our shims and runc processes name the temp dir). */
async function pidsMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text)) pids.push(Number(e));
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

test('runtime: busybox containers through runc and berth-shim', { timeout: 180_000 }, async (t) => {
  if (!isRoot) {
    t.skip('needs root: runs runc and mounts overlayfs (run as root to test the runtime)');
    return;
  }
  const runcOk = await runTool('runc', ['--version']).then(
    (r) => r.status === 0,
    () => false,
  );
  if (!runcOk || !(await exists('/bin/busybox'))) {
    t.skip('needs runc and /bin/busybox (Debian packages runc, busybox-static)');
    return;
  }

  const base = await mkdtemp(join(tmpdir(), 'berth-rt-'));
  const root = join(base, 'root');
  const execRoot = join(base, 'exec');
  const cgroupParent = `berth-test-${randomBytes(4).toString('hex')}`;
  const shim = await buildShim(join(base, 'bin', 'berth-shim'));
  const runtime = new RuncRuntime({ root, execRoot, shim });
  const ids = new Set<string>();
  const layers: ContainerLayer[] = [];
  const ourPids = new Set<number>();

  t.after(async () => {
    // Best effort, in order, even after a failure: containers, mounts, our processes, cgroups, files.
    for (const id of ids) await runtime.delete(id, { force: true }).catch(() => undefined);
    for (const l of layers) await removeLayer(l).catch(() => undefined);
    for (const pid of [...ourPids, ...(await pidsMentioning(base))]) {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes(base)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const d of await findCgroupDirs(cgroupParent)) {
      for (const child of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (child.isDirectory()) await rmdir(join(d, child.name)).catch(() => undefined);
      }
      await rmdir(d).catch(() => undefined);
    }
    const mounts = await readFile('/proc/mounts', 'utf8');
    for (const line of mounts.split('\n').reverse()) {
      const mp = line.split(' ')[1];
      if (mp?.startsWith(base)) await runTool('umount', [mp]).catch(() => undefined);
    }
    await rm(base, { recursive: true, force: true });
  });

  let image!: Image;
  const hostsText = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tweb-1\n';

  /** Mounts a layer, writes the container's files and renders its spec. */
  async function prepare(id: string, args: string[], extra: Partial<OciSpecOptions> = {}, img: Image = image) {
    ids.add(id);
    const layer = layerPaths(root, id, img.rootfs);
    layers.push(layer);
    await mountLayer(layer);
    const files = { hosts: join(base, `${id}.hosts`), resolvConf: join(base, `${id}.resolv`), hostname: join(base, `${id}.hostname`) };
    await writeFile(files.hosts, hostsText);
    await writeFile(files.resolvConf, 'nameserver 127.0.0.11\noptions ndots:0\n');
    await writeFile(files.hostname, `${id}-host\n`);
    const spec = renderOciSpec({
      rootfs: layer.merged,
      args,
      env: img.config.Env ?? [],
      hostname: `${id}-host`,
      network: { kind: 'new' },
      files,
      cgroupsPath: defaultCgroupsPath(id, cgroupParent),
      ...extra,
    });
    return { layer, spec };
  }

  async function startContainer(id: string, args: string[], extra: Partial<OciSpecOptions> = {}, img?: Image) {
    const { layer, spec } = await prepare(id, args, extra, img);
    const started = await runtime.start(id, spec);
    ourPids.add(started.shimPid);
    ourPids.add(started.pid);
    return { layer, started, spec };
  }

  await t.test('busybox image: built once, then reused in well under 50 ms', async () => {
    image = await ensureBusyboxImage(root);
    const t0 = performance.now();
    const again = await ensureBusyboxImage(root);
    const ms = performance.now() - t0;
    assert.equal(again.id, image.id);
    assert.ok(ms < 50, `${ms} ms`);
    t.diagnostic(`ensureBusyboxImage when present: ${ms.toFixed(2)} ms`);
  });

  await t.test('hello: output lands in the json-file log, exit code is recorded', async () => {
    const id = 'hello';
    const { layer } = await startContainer(id, ['sh', '-c', 'echo hello; hostname; cat /etc/hosts; echo to-stderr >&2; exit 3']);
    const exit = await runtime.waitExit(id, 10_000);
    assert.ok(exit);
    assert.equal(exit.exitCode, 3);
    assert.equal(exit.signal, null);
    const entries = await readLog(runtime.paths(id).log);
    assert.equal(logText(entries.filter((e) => e.stream === 'stdout')), `hello\n${id}-host\n${hostsText}`);
    assert.deepEqual(
      entries.filter((e) => e.stream === 'stderr').map((e) => e.log),
      ['to-stderr\n'],
    );
    const state = await runtime.state(id);
    assert.equal(state.status, 'stopped');
    assert.equal(state.pid, null);
    assert.equal(state.exit?.exitCode, 3);
    await runtime.delete(id);
    await assert.rejects(runtime.state(id), (e: unknown) => isCode(e, 'ERR_CONTAINER_NOT_FOUND'));
    assert.equal(await exists(runtime.paths(id).bundle), false);
    // The log and exit file outlive runc's record: `docker logs` works on removed-from-runc containers.
    assert.equal((await runtime.readExit(id))?.exitCode, 3);
    await removeLayer(layer);
  });

  await t.test('a failing start reports runc\'s error and leaves no runc state', async () => {
    const id = 'badcmd';
    const { spec, layer } = await prepare(id, ['/no/such/binary']);
    await assert.rejects(runtime.start(id, spec), (e: unknown) => {
      assert.ok(isCode(e, 'ERR_RUNTIME'));
      assert.match((e as Error).message, /no such file or directory/);
      return true;
    });
    assert.deepEqual(
      (await runtime.list()).map((c) => c.id),
      [],
    );
    assert.equal(await readFile(runtime.paths(id).log, 'utf8').catch(() => ''), '', 'runc errors stay out of the log');
    assert.equal(await exists(runtime.paths(id).bundle), false);
    await removeLayer(layer);
  });

  await t.test('long-lived container: exec, isolation, stop with timeout', async () => {
    const id = 'sleeper';
    const { layer } = await startContainer(id, ['sleep', '1000']);
    const s = await runtime.state(id);
    assert.equal(s.status, 'running');
    assert.ok(s.pid && alive(s.pid));
    assert.deepEqual(
      (await runtime.list()).map((c) => [c.id, c.status]),
      [[id, 'running']],
    );

    const ip = await runtime.exec(id, { args: ['ip', 'addr'] });
    assert.equal(ip.exitCode, 0);
    const links = [...ip.stdout.toString().matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1]);
    assert.deepEqual(links, ['lo'], ip.stdout.toString());

    const ping = await runtime.exec(id, { args: ['ping', '-c', '1', '-W', '2', '127.0.0.1'] });
    assert.equal(ping.exitCode, 0, ping.stderr.toString());

    assert.equal((await runtime.exec(id, { args: ['sh', '-c', 'exit 42'] })).exitCode, 42);
    assert.equal((await runtime.exec(id, { args: ['false'] })).exitCode, 1);
    assert.equal((await runtime.exec(id, { args: ['sh', '-c', 'kill -9 $$'] })).exitCode, 137);

    const env = await runtime.exec(id, {
      args: ['sh', '-c', 'echo "$FOO|$(pwd)|$HOSTNAME|$PATH"; echo err >&2'],
      env: ['FOO=bar baz'],
      cwd: '/tmp',
    });
    assert.equal(env.stdout.toString(), `bar baz|/tmp|${id}-host|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`);
    assert.equal(env.stderr.toString(), 'err\n');

    const cat = await runtime.exec(id, { args: ['cat'], stdin: Buffer.from('piped in') });
    assert.equal(cat.stdout.toString(), 'piped in');
    const dashArgs = await runtime.exec(id, { args: ['echo', '--help', '-n'] });
    assert.equal(dashArgs.stdout.toString(), '--help -n\n', 'argv after the id reaches the process');

    await assert.rejects(runtime.exec(id, { args: ['nonexistent-cmd'] }), (e: unknown) => {
      assert.ok(isCode(e, 'ERR_RUNTIME'));
      assert.match((e as Error).message, /executable file not found/);
      return true;
    });

    // Writes go to the container's upper layer, never into the image.
    await runtime.exec(id, { args: ['sh', '-c', 'echo x > /etc/written && rm /etc/nsswitch.conf'] });
    assert.equal(await exists(join(image.rootfs, 'etc/written')), false);
    assert.equal(await exists(join(image.rootfs, 'etc/nsswitch.conf')), true);
    assert.equal(await readFile(join(layer.upper, 'etc/written'), 'utf8'), 'x\n');
    assert.ok((await stat(join(layer.upper, 'etc/nsswitch.conf'))).isCharacterDevice(), 'a whiteout');

    // The image is in use while the layer is mounted.
    await assert.rejects(removeImage(root, 'busybox'), (e: unknown) => isCode(e, 'ERR_IMAGE_IN_USE'));

    // sleep as PID 1 has no SIGTERM handler, so the kernel drops SIGTERM: stop must SIGKILL.
    const t0 = performance.now();
    const stopped = await runtime.stop(id, { timeoutSec: 1 });
    const ms = performance.now() - t0;
    assert.equal(stopped.wasRunning, true);
    assert.deepEqual([stopped.exit?.exitCode, stopped.exit?.signal], [137, 9]);
    assert.ok(ms >= 950 && ms < 5000, `stop took ${ms} ms`);
    t.diagnostic(`stop -t 1 of sleep: ${ms.toFixed(0)} ms`);
    assert.equal((await runtime.state(id)).status, 'stopped');
    assert.equal(alive(s.pid), false);

    await assert.rejects(runtime.exec(id, { args: ['true'] }), (e: unknown) => isCode(e, 'ERR_CONTAINER_STATE'));
    await assert.rejects(runtime.kill(id, 'TERM'), (e: unknown) => isCode(e, 'ERR_CONTAINER_STATE'));
    const again = await runtime.stop(id, { timeoutSec: 1 });
    assert.equal(again.wasRunning, false);
    assert.equal(again.exit?.exitCode, 137);

    await runtime.delete(id);
    await removeLayer(layer);
    assert.equal(await exists(layer.upper), false);
  });

  await t.test('stop: a process that handles SIGTERM exits with its own code', async () => {
    const id = 'trapper';
    const { layer, spec } = await startContainer(id, ['sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done']);
    await until('ready', async () => logText(await readLog(runtime.paths(id).log)).includes('ready'));
    const t0 = performance.now();
    const r = await runtime.stop(id, { timeoutSec: 10 });
    const ms = performance.now() - t0;
    assert.deepEqual([r.exit?.exitCode, r.exit?.signal], [7, null]);
    assert.ok(ms < 3000, `${ms} ms`);
    assert.equal(logText(await readLog(runtime.paths(id).log)), 'ready\ngot TERM\n');

    // Start again over the stopped leftover (docker start/restart): the old exit record goes,
    // the log is appended to.
    const again = await runtime.start(id, spec);
    ourPids.add(again.pid);
    ourPids.add(again.shimPid);
    assert.equal((await runtime.state(id)).status, 'running');
    assert.equal(await runtime.readExit(id), null);
    await assert.rejects(runtime.start(id, spec), (e: unknown) => isCode(e, 'ERR_CONTAINER_STATE'));
    await assert.rejects(runtime.delete(id), (e: unknown) => isCode(e, 'ERR_CONTAINER_STATE'));
    await until('ready again', async () => logText(await readLog(runtime.paths(id).log)) === 'ready\ngot TERM\nready\n');
    await runtime.delete(id, { force: true });
    assert.deepEqual([(await runtime.readExit(id))?.exitCode, (await runtime.readExit(id))?.signal], [137, 9]);
    await removeLayer(layer);
  });

  await t.test('restart: container, log and exit code survive the death of the process that started it', async () => {
    const id = 'survivor';
    const { spec, layer } = await prepare(id, ['sh', '-c', 'trap "echo bye; exit 5" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']);
    const specFile = join(base, `${id}.spec.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const indexUrl = new URL('../../src/runtime/index.js', import.meta.url).href;
    const daemon = join(base, 'fake-daemon.mjs');
    await writeFile(
      daemon,
      [
        `import { RuncRuntime } from ${JSON.stringify(indexUrl)};`,
        `import { readFileSync } from 'node:fs';`,
        `const [root, execRoot, shim, id, specFile] = process.argv.slice(2);`,
        `const rt = new RuncRuntime({ root, execRoot, shim });`,
        `const started = await rt.start(id, JSON.parse(readFileSync(specFile, 'utf8')));`,
        `process.stdout.write(JSON.stringify(started) + '\\n');`,
        `setInterval(() => {}, 1000); // stays up until killed, like a daemon`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [daemon, root, execRoot, shim, id, specFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    ourPids.add(child.pid ?? 0);
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) resolve(buf);
      });
      child.on('exit', (code) => reject(new Error(`fake daemon exited ${code}`)));
    });
    const started = JSON.parse(line) as { pid: number; shimPid: number };
    ourPids.add(started.pid);
    ourPids.add(started.shimPid);
    // The "daemon" dies hard.
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // A new runtime instance (a restarted berthd) picks everything up from files and runc.
    const fresh = new RuncRuntime({ root, execRoot, shim });
    await new Promise((r) => setTimeout(r, 400));
    const s = await fresh.state(id);
    assert.equal(s.status, 'running');
    assert.equal(s.pid, started.pid);
    assert.equal(await fresh.shimPid(id), started.shimPid);
    const before = (await readLog(fresh.paths(id).log)).length;
    await new Promise((r) => setTimeout(r, 300));
    const after = (await readLog(fresh.paths(id).log)).length;
    assert.ok(after > before, `log keeps growing without the daemon (${before} → ${after})`);
    const r = await fresh.stop(id, { timeoutSec: 5 });
    assert.deepEqual([r.wasRunning, r.exit?.exitCode], [true, 5]);
    const entries = await readLog(fresh.paths(id).log);
    assert.equal(entries.at(-1)?.log, 'bye\n');
    assert.match(entries[0]?.log ?? '', /^tick 0\n$/);
    await until('shim exit', () => !alive(started.shimPid));
    await fresh.delete(id);
    await removeLayer(layer);
  });

  await t.test('terminal and stdin: a held tty start, attach, input, resize, exec -t/-i, attach from a new runtime', async () => {
    /** Everything a shim connection delivers, until the shim closes it. */
    const collect = (conn: ShimConnection) => {
      const out: Buffer[] = [];
      let exitCode: number | null = null;
      const done = (async () => {
        for await (const f of conn.frames()) {
          if (f.kind === 3) exitCode = parseExitFrame(f.payload)?.exitCode ?? null;
          else out.push(f.payload);
        }
      })();
      return { done, text: () => Buffer.concat(out).toString(), exitCode: () => exitCode };
    };
    const id = 'tty';
    const { spec, layer } = await prepare(id, ['sh']);
    const pending = runtime.expectAttach(id);
    const started = await runtime.start(id, spec, { tty: true, openStdin: true });
    ourPids.add(started.shimPid);
    ourPids.add(started.pid);
    await pending.started;
    await new Promise((r) => setTimeout(r, 200)); // the banner is written before anyone attaches…
    const main = collect(await runtime.attach(id));
    await until('held banner', () => /built-in shell \(ash\)/.test(main.text())); // …and held for us
    await runtime.resize(id, 40, 120);
    (await runtime.attach(id)).sendStdin(Buffer.from('stty size; echo "t-$((6*7))"\r'));
    await until('typed command output', () => /40 120\r\nt-42\r\n/.test(main.text()));

    const tty = await runtime.execAttached(id, { args: ['sh', '-c', 'tty; read x; echo "x=$x"; exit 6'], tty: true, openStdin: true });
    assert.ok(tty.connection);
    const ttyOut = collect(tty.connection);
    tty.connection.sendStdin(Buffer.from('abc\r'));
    await ttyOut.done;
    // The terminal echoes `abc` whenever it arrives, before or after `tty` prints.
    assert.match(ttyOut.text(), /^\/dev\/pts\/\d+\r\n/m);
    assert.match(ttyOut.text(), /abc\r\n[\s\S]*x=abc\r\n$/);
    assert.equal(ttyOut.exitCode(), 6);
    assert.equal((await tty.exit).exitCode, 6);

    const cat = await runtime.execAttached(id, { args: ['cat'], openStdin: true });
    assert.ok(cat.connection);
    const catOut = collect(cat.connection);
    cat.connection.sendStdin(Buffer.from('piped'));
    cat.connection.closeStdin();
    await catOut.done;
    assert.deepEqual([catOut.text(), catOut.exitCode()], ['piped', 0]);
    await cat.exit;
    await assert.rejects(runtime.execAttached(id, { args: ['/no/such'], tty: true }), (e: unknown) => isCode(e, 'ERR_RUNTIME'));

    // A restarted berthd (a new runtime) reaches the same shim and terminal.
    const fresh = new RuncRuntime({ root, execRoot, shim });
    const second = collect(await fresh.attach(id));
    (await fresh.attach(id)).sendStdin(Buffer.from('exit 3\r'));
    await Promise.all([main.done, second.done]);
    assert.deepEqual([main.exitCode(), second.exitCode()], [3, 3]);
    assert.equal((await runtime.waitExit(id, 5000))?.exitCode, 3);
    const entries = await readLog(runtime.paths(id).log);
    assert.ok(entries.every((e) => e.stream === 'stdout'));
    assert.match(logText(entries), /t-42\r\n/);
    await until('shim exit', () => !alive(started.shimPid));
    assert.equal(await exists(runtime.paths(id).attachSocket), false);
    assert.deepEqual((await readdir(runtime.paths(id).bundle)).filter((f) => f.startsWith('exec-') || f.endsWith('.sock')), []);
    await runtime.delete(id);
    await removeLayer(layer);
  });

  await t.test('imported image: a gzip tarball of a rootfs runs', async () => {
    const tarball = join(base, 'rootfs.tar.gz');
    const r = await runTool('tar', ['-c', '-z', '-f', tarball, '-C', image.rootfs, '.']);
    assert.equal(r.status, 0, r.stderr.toString());
    const imported = await importImage(root, tarball, 'local/mybox:v1', { config: { Cmd: ['sh'], Env: ['GREETING=imported'] } });
    assert.equal((await getImage(root, 'local/mybox:v1')).id, imported.id);
    const id = 'imported';
    await startContainer(id, ['sh', '-c', 'echo $GREETING'], { env: ['GREETING=imported'] }, imported);
    assert.equal((await runtime.waitExit(id, 10_000))?.exitCode, 0);
    assert.equal(logText(await readLog(runtime.paths(id).log)), 'imported\n');
    await runtime.delete(id);
    await removeLayer(layerPaths(root, id, imported.rootfs));
    await removeImage(root, 'local/mybox:v1');
  });

  await t.test('create+start latency of a busybox container', async () => {
    const mountMs: number[] = [];
    const startMs: number[] = [];
    const totalMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `bench-${i}`;
      ids.add(id);
      const t0 = performance.now();
      const layer = layerPaths(root, id, image.rootfs);
      layers.push(layer);
      await mountLayer(layer);
      const t1 = performance.now();
      const spec = renderOciSpec({
        rootfs: layer.merged,
        args: ['sleep', '1000'],
        env: image.config.Env ?? [],
        hostname: id,
        network: { kind: 'new' },
        cgroupsPath: defaultCgroupsPath(id, cgroupParent),
      });
      const started = await runtime.start(id, spec);
      const t2 = performance.now();
      ourPids.add(started.pid);
      ourPids.add(started.shimPid);
      mountMs.push(t1 - t0);
      startMs.push(t2 - t1);
      totalMs.push(t2 - t0);
    }
    t.diagnostic(
      `create+start (mount layer + render + runc run -d under berth-shim), median of 7: ` +
        `total ${median(totalMs).toFixed(1)} ms (mount ${median(mountMs).toFixed(1)} ms, start ${median(startMs).toFixed(1)} ms); ` +
        `all: ${totalMs.map((x) => x.toFixed(0)).join(', ')} ms`,
    );
    const delMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `bench-${i}`;
      const t0 = performance.now();
      await runtime.delete(id, { force: true });
      await removeLayer(layerPaths(root, id, image.rootfs));
      delMs.push(performance.now() - t0);
    }
    t.diagnostic(`force delete + remove layer, median: ${median(delMs).toFixed(1)} ms`);
  });

  await t.test('nothing is left: no runc state, mounts, processes or cgroups', async () => {
    assert.deepEqual(await runtime.list(), []);
    assert.deepEqual(await readdir(runtime.runcRoot), []);
    assert.deepEqual(await readdir(join(execRoot, 'bundles')), []);
    const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(base));
    assert.deepEqual(mounts, []);
    await until('processes to go', async () => (await pidsMentioning(base)).length === 0);
    for (const pid of ourPids) if (pid) await until(`pid ${pid} to go`, () => !alive(pid));
    for (const d of await findCgroupDirs(cgroupParent)) {
      const children = (await readdir(d, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      assert.deepEqual(children, [], `container cgroups left in ${d}`);
    }
  });
});
