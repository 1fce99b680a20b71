/**
 * berth-shim (C) against a fake runc: a shell script that starts `<bundle>/payload` in the
 * background, writes its pid and exits, as `runc run -d` does (and a C one that also hands a
 * pty master over the console socket). Needs a C compiler, not root.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseExitFrame, ShimConnection } from '../../../src/runtime/attach.js';
import { buildShim, parseShimReport } from '../../../src/runtime/shim.js';
import { runTool } from '../../../src/runtime/run-tool.js';

const FAKE_RUNC = `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    --pid-file) pidfile="$2"; shift ;;
    -b) bundle="$2"; shift ;;
  esac
  shift
done
if [ -f "$bundle/fail" ]; then echo "runc run failed: boom" >&2; exit 1; fi
if [ -f "$bundle/steal" ]; then
  # sh's wait reaps the payload itself: the shim never sees it exit
  sh "$bundle/payload" &
  echo $! > "$pidfile"
  wait
  exit 0
fi
# Like runc: the process is never reaped by us. A subshell that exits at once hands it to the
# subreaper (the shim) straight away; the payload writes its own pid.
rm -f "$pidfile.tmp"
# A background job's stdin is /dev/null unless redirected: keep ours (the shim's stdin pipe).
exec 3<&0
( exec sh -c 'echo $$ > "$0.tmp"; exec sh "$1"' "$pidfile" "$bundle/payload" <&3 3<&- & )
while [ ! -s "$pidfile.tmp" ]; do :; done
mv "$pidfile.tmp" "$pidfile"
# runc exits after the process has started; slow: the process exits first
if [ -f "$bundle/slow" ]; then exec sleep 0.3; fi
exit 0
`;

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

test('parseShimReport', () => {
  assert.deepEqual(parseShimReport('ok 123\n'), { kind: 'ok', pid: 123 });
  assert.deepEqual(parseShimReport('error 1\nrunc run failed: x\n'), { kind: 'error', status: 1, message: 'runc run failed: x' });
  assert.deepEqual(parseShimReport('error -2\n'), { kind: 'error', status: -2, message: '' });
  assert.equal(parseShimReport(''), null);
  assert.equal(parseShimReport('garbage'), null);
});

test('berth-shim with a fake runc', async (t) => {
  const hasCc = await access('/usr/bin/cc').then(
    () => true,
    () => false,
  );
  if (!hasCc) {
    t.skip('needs a C compiler (cc) to build berth-shim');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-unit-shim-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const shim = await buildShim(join(dir, 'berth-shim'));
  const runc = join(dir, 'fake-runc');
  await writeFile(runc, FAKE_RUNC);
  await chmod(runc, 0o755);

  let n = 0;
  async function run(payload: string, flags: { fail?: boolean; slow?: boolean; steal?: boolean } = {}) {
    const bundle = join(dir, `b${n++}`);
    await mkdir(bundle);
    await writeFile(join(bundle, 'payload'), payload);
    if (flags.fail) await writeFile(join(bundle, 'fail'), '');
    if (flags.slow) await writeFile(join(bundle, 'slow'), '');
    if (flags.steal) await writeFile(join(bundle, 'steal'), '');
    const files = { log: join(bundle, 'c-json.log'), exit: join(bundle, 'exit.json'), pid: join(bundle, 'init.pid') };
    const args = ['--runc', runc, '--runc-root', join(dir, 'state'), '--bundle', bundle, '--id', 'c', '--pid-file', files.pid];
    args.push('--runc-log', join(bundle, 'runc.log'), '--log', files.log, '--exit-file', files.exit);
    const r = await runTool(shim, args, { timeoutMs: 10_000 });
    const logText = await readFile(files.log, 'utf8').catch(() => '');
    const lines = logText.split('\n').filter(Boolean);
    const exit = await readFile(files.exit, 'utf8').then(
      (s) => JSON.parse(s) as { exitCode: number; signal: number | null; exitedAt: string; unknown?: boolean },
      () => null,
    );
    return { r, report: r.stdout.toString('utf8'), lines, exit, pidFile: files.pid };
  }

  await t.test('logs both streams in json-file format with moby escaping; exit code', async () => {
    const { r, report, lines, exit, pidFile } = await run(
      "printf 'hello\\n'\nprintf 'err\\n' >&2\nprintf 'a<b>&\"\\\\\\t\\r\\001\\n'\nprintf '\\377\\342\\200\\250end'\nexit 3\n",
    );
    assert.equal(r.status, 0);
    assert.equal(report, `ok ${(await readFile(pidFile, 'utf8')).trim()}\n`);
    const strip = (l: string) => l.replace(/,"time":"[^"]*"\}$/, '}');
    for (const l of lines) assert.match((JSON.parse(l) as { time: string }).time, TIME);
    const out = lines.filter((l) => l.includes('"stream":"stdout"')).map(strip);
    const err = lines.filter((l) => l.includes('"stream":"stderr"')).map(strip);
    assert.deepEqual(out, [
      '{"log":"hello\\n","stream":"stdout"}',
      '{"log":"a\\u003cb\\u003e\\u0026\\"\\\\\\u0009\\r\\u0001\\n","stream":"stdout"}',
      '{"log":"\\ufffd\\u2028end","stream":"stdout"}',
    ]);
    assert.deepEqual(err, ['{"log":"err\\n","stream":"stderr"}']);
    assert.equal(exit?.exitCode, 3);
    assert.equal(exit?.signal, null);
    assert.match(exit?.exitedAt ?? '', TIME);
  });

  await t.test('splits lines at 16 KiB like Docker', async () => {
    const { lines, exit } = await run("head -c 40000 /dev/zero | tr '\\000' x\n");
    const logs = lines.map((l) => (JSON.parse(l) as { log: string }).log);
    assert.deepEqual(
      logs.map((s) => s.length),
      [16384, 16384, 7232],
    );
    assert.equal(exit?.exitCode, 0);
  });

  await t.test('a process killed by a signal exits 128+n', async () => {
    const { exit } = await run('kill -9 $$\n');
    assert.deepEqual([exit?.exitCode, exit?.signal], [137, 9]);
  });

  await t.test('a process that exits before runc does is still reaped and recorded', async () => {
    const { exit, lines } = await run('echo quick\nexit 5\n', { slow: true });
    assert.equal(exit?.exitCode, 5);
    assert.equal(lines.length, 1);
  });

  await t.test('a process reaped by someone else: unknown exit, no hang', async () => {
    const { exit } = await run('echo stolen\nexit 5\n', { steal: true });
    assert.equal(exit?.exitCode, 255);
    assert.equal(exit?.unknown, true);
  });

  await t.test('runc failure: reported on stdout, kept out of the log, no exit file', async () => {
    const { r, report, lines, exit } = await run('echo never\n', { fail: true });
    assert.equal(r.status, 1);
    assert.equal(report, 'error 1\nrunc run failed: boom\n');
    assert.deepEqual(lines, []);
    assert.equal(exit, null);
  });

  await t.test('usage error', async () => {
    const r = await runTool(shim, ['--runc']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.toString(), /^usage: berth-shim/);
  });
});

/**
 * A fake `runc run -d` with a terminal, in C (a shell cannot send an fd): opens a pty, sends
 * the master over --console-socket with SCM_RIGHTS (runc's utils.SendFd: the terminal's name
 * as the message), starts `sh <bundle>/payload` on the slave in a new session, writes its pid
 * and exits, so the payload is re-parented to the shim.
 */
const FAKE_RUNC_TTY_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
  const char *pidfile = 0, *console = 0, *bundle = 0;
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--pid-file")) pidfile = argv[++i];
    else if (!strcmp(argv[i], "--console-socket")) console = argv[++i];
    else if (!strcmp(argv[i], "-b")) bundle = argv[++i];
  }
  if (!pidfile || !console || !bundle) { fprintf(stderr, "fake runc: missing args\n"); return 1; }
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) { perror("pty"); return 1; }
  char name[128];
  snprintf(name, sizeof name, "%s", ptsname(m));
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", console);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect console"); return 1; }
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &m, sizeof m);
  if (sendmsg(s, &msg, 0) < 0) { perror("sendmsg"); return 1; }
  close(s);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int t = open(name, O_RDWR);
    if (t < 0) _exit(126);
    ioctl(t, TIOCSCTTY, 0);
    dup2(t, 0); dup2(t, 1); dup2(t, 2);
    if (t > 2) close(t);
    close(m);
    char payload[4096];
    snprintf(payload, sizeof payload, "%s/payload", bundle);
    execl("/bin/sh", "sh", payload, (char *)0);
    _exit(127);
  }
  close(m);
  FILE *f = fopen(pidfile, "w");
  fprintf(f, "%d\n", (int)pid);
  fclose(f);
  return 0;
}
`;

/** A client of the shim's attach socket that records every frame until the shim closes. */
async function attachClient(path: string, opts: { attach?: boolean } = {}) {
  const conn = await ShimConnection.connect(path, opts);
  const frames: { kind: number; payload: Buffer }[] = [];
  const done = (async () => {
    for await (const f of conn.frames()) frames.push(f);
  })();
  const text = (kind: number) => Buffer.concat(frames.filter((f) => f.kind === kind).map((f) => f.payload)).toString('utf8');
  return { conn, frames, done, text };
}

test('berth-shim attach socket, stdin and console socket', async (t) => {
  const hasCc = await access('/usr/bin/cc').then(
    () => true,
    () => false,
  );
  if (!hasCc) {
    t.skip('needs a C compiler (cc) to build berth-shim');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-unit-attach-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const shim = await buildShim(join(dir, 'berth-shim'));
  const runc = join(dir, 'fake-runc');
  await writeFile(runc, FAKE_RUNC);
  await chmod(runc, 0o755);
  const runcTty = join(dir, 'fake-runc-tty');
  await writeFile(`${runcTty}.c`, FAKE_RUNC_TTY_C);
  const cc = await runTool('cc', ['-O1', '-o', runcTty, `${runcTty}.c`]);
  assert.equal(cc.status, 0, cc.stderr.toString());

  let n = 0;
  /** Starts the shim and waits for its report; `exited` resolves with its exit status. */
  async function start(payload: string, flags: string[], o: { tty?: boolean; longPath?: boolean } = {}) {
    // A bundle path longer than sun_path (107 bytes) allows: the shim binds by name, the
    // client connects through /proc/self/fd.
    const bundle = o.longPath ? join(dir, `b${n++}-${'x'.repeat(120)}`) : join(dir, `b${n++}`);
    await mkdir(bundle);
    await writeFile(join(bundle, 'payload'), payload);
    const files = { log: join(bundle, 'c-json.log'), exit: join(bundle, 'exit.json'), sock: join(bundle, 'attach.sock') };
    const args = ['--runc', o.tty ? runcTty : runc, '--runc-root', join(dir, 'state'), '--bundle', bundle, '--id', 'c'];
    args.push('--pid-file', join(bundle, 'init.pid'), '--runc-log', join(bundle, 'runc.log'), '--log', files.log);
    args.push('--exit-file', files.exit, '--attach-socket', 'attach.sock', ...flags);
    if (o.tty) args.push('--tty', '--console-socket', 'console.sock');
    const child = spawn(shim, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let report = '';
    for await (const chunk of child.stdout) report += (chunk as Buffer).toString();
    assert.match(report, /^ok \d+\n$/, `report ${JSON.stringify(report)}, shim stderr ${stderr}`);
    const logLines = async () =>
      (await readFile(files.log, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { log: string; stream: string });
    return { bundle, files, exited, logLines, stderr: () => stderr };
  }

  await t.test('--stdin: stdin frames reach the process, CLOSE_STDIN ends it, EXIT and close follow', async () => {
    const s = await start('while read x; do echo "got-$x"; done; echo "eof" >&2; exit 2\n', ['--stdin']);
    const c = await attachClient(s.files.sock);
    c.conn.sendStdin(Buffer.from('abc\n'));
    c.conn.sendStdin(Buffer.from('def\n'));
    c.conn.closeStdin();
    await c.done;
    assert.equal(c.text(1), 'got-abc\ngot-def\n');
    assert.equal(c.text(2), 'eof\n');
    const exitFrames = c.frames.filter((f) => f.kind === 3);
    assert.equal(exitFrames.length, 1);
    assert.equal(parseExitFrame(exitFrames[0]?.payload ?? Buffer.alloc(0))?.exitCode, 2);
    assert.equal(await s.exited, 0);
    assert.deepEqual(
      (await s.logLines()).map((l) => [l.stream, l.log]),
      [['stdout', 'got-abc\n'], ['stdout', 'got-def\n'], ['stderr', 'eof\n']],
    );
    assert.equal(JSON.parse(await readFile(s.files.exit, 'utf8')).exitCode, 2);
    // The socket goes with the shim.
    await assert.rejects(access(s.files.sock));
  });

  await t.test('without --stdin the process reads EOF and stdin frames are dropped', async () => {
    const s = await start('cat; echo "done"\n', ['--hold']);
    const c = await attachClient(s.files.sock);
    c.conn.sendStdin(Buffer.from('ignored\n'));
    await c.done;
    assert.equal(await s.exited, 0);
    const lines = await s.logLines();
    assert.deepEqual(lines.map((l) => l.log), ['done\n']);
  });

  await t.test('--hold: the first ATTACH gets what came before it; a client without ATTACH gets nothing', async () => {
    const s = await start('echo early; echo early-err >&2; exit 5\n', ['--hold'], { longPath: true });
    assert.ok(Buffer.byteLength(s.files.sock) > 107);
    await new Promise((r) => setTimeout(r, 300)); // the process has long exited
    const silent = await attachClient(s.files.sock, { attach: false });
    silent.conn.resize(10, 10); // no tty: ignored
    const c = await attachClient(s.files.sock);
    await Promise.all([c.done, silent.done]);
    assert.equal(c.text(1), 'early\n');
    assert.equal(c.text(2), 'early-err\n');
    assert.equal(parseExitFrame(c.frames.at(-1)?.payload ?? Buffer.alloc(0))?.exitCode, 5);
    assert.deepEqual(silent.frames, []);
    assert.equal(await s.exited, 0);
  });

  await t.test('--hold with nobody attaching: the shim records the exit at once and leaves after the hold', async () => {
    const s = await start('exit 0\n', ['--hold']);
    const t0 = Date.now();
    while (!(await access(s.files.exit).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 20));
    assert.ok(Date.now() - t0 < 2000, 'exit file written while holding');
    // A client that attaches late (within the hold) still gets the exit.
    const c = await attachClient(s.files.sock);
    await c.done;
    assert.equal(parseExitFrame(c.frames.at(-1)?.payload ?? Buffer.alloc(0))?.exitCode, 0);
    assert.equal(await s.exited, 0);
  });

  await t.test('--tty: the pty master from the console socket; output, input, resize, log', async () => {
    const s = await start('read x; stty size; echo "got-$x"; exit 4\n', ['--stdin', '--hold'], { tty: true });
    const c = await attachClient(s.files.sock);
    c.conn.resize(33, 101);
    c.conn.sendStdin(Buffer.from('abc\r'));
    await c.done;
    const out = c.text(1);
    // The terminal echoes the input and writes \r\n line ends.
    assert.match(out, /abc\r\n33 101\r\ngot-abc\r\n$/);
    assert.equal(c.text(2), '');
    assert.equal(parseExitFrame(c.frames.at(-1)?.payload ?? Buffer.alloc(0))?.exitCode, 4);
    assert.equal(await s.exited, 0, s.stderr());
    const lines = await s.logLines();
    assert.ok(lines.every((l) => l.stream === 'stdout'));
    assert.equal(lines.map((l) => l.log).join(''), out);
    await assert.rejects(access(join(s.bundle, 'console.sock')));
  });

  await t.test('--tty without --stdin: input is dropped, output still flows', async () => {
    const s = await start('echo "tty: $(tty)"\n', ['--hold'], { tty: true });
    const c = await attachClient(s.files.sock);
    c.conn.sendStdin(Buffer.from('ignored\r'));
    await c.done;
    assert.match(c.text(1), /^tty: \/dev\/pts\/\d+\r\n$/, `${JSON.stringify(c.frames.map((f) => [f.kind, f.payload.toString()]))} ${s.stderr()}`);
    assert.equal(await s.exited, 0);
  });

  await t.test('--tty needs --console-socket', async () => {
    const r = await runTool(shim, ['--runc', runc, '--runc-root', dir, '--bundle', dir, '--id', 'c', '--pid-file', 'p', '--runc-log', 'l', '--exit-file', 'e', '--tty']);
    assert.equal(r.status, 2);
  });
});
