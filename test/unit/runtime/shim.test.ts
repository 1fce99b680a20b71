/**
 * berth-shim (C) against a fake runc: a shell script that starts `<bundle>/payload` in the
 * background, writes its pid and exits, as `runc run -d` does. Needs a C compiler, not root.
 */
import assert from 'node:assert/strict';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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
( exec sh -c 'echo $$ > "$0.tmp"; exec sh "$1"' "$pidfile" "$bundle/payload" & )
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
