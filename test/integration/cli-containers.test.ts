/**
 * The berth CLI's container and image commands against a real berthd (runc containers) in a
 * throwaway host netns: run -d / ps / exec / logs / inspect / port / stop / start / rm, attached
 * runs with exit-status propagation and --rm, image import of a tarball built from busybox, and
 * images / rmi. Root only; skipped loudly otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRoot, REPO, run, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const SKIP = ROOT ? false : 'needs root: integration tests create network namespaces and run containers';
if (!ROOT) console.warn('SKIPPED: berth CLI container integration tests need root');

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** Runs bin/berth against `host` keeping stderr also on success (host.berth drops it then). */
function berth(host: TestHost, args: readonly string[]): RunResult {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin/berth'), '-H', `unix://${host.socket}`, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('berth CLI: containers and images', { skip: SKIP }, () => {
  let host: TestHost;
  let tmp: string;
  before(async () => {
    host = await TestHost.start('berth-itc');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-itc-cli-'));
  });
  after(async () => {
    await host?.cleanup();
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('run -d prints the ID; ps lists the container as docker would', () => {
    const id = ok(berth(host, ['run', '-d', '--name', 'c1', 'busybox', 'sleep', '300']), 'run -d').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const out = ok(berth(host, ['ps']), 'ps');
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^CONTAINER ID\s{3}IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    const row = lines.find((l) => l.startsWith(id.slice(0, 12)));
    assert.ok(row !== undefined, `no row for ${id} in:\n${out}`);
    assert.match(row, /^[0-9a-f]{12}\s{3}busybox\s+"sleep 300"\s+(Less than a second|\d+ seconds?) ago\s+Up .*\s{3}c1$/);
    assert.equal(ok(berth(host, ['ps', '-q']), 'ps -q').trim(), id.slice(0, 12));
    assert.equal(ok(berth(host, ['ps', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Command}}']), 'ps --format'), `${id} c1 "sleep 300"\n`);
  });

  it('exec runs in the container: eth0 has 172.17.0.2/16', () => {
    const out = ok(berth(host, ['exec', 'c1', 'ip', 'addr']), 'exec ip addr');
    assert.match(out, /inet 172\.17\.0\.2\/16 .*eth0/);
    const r = berth(host, ['exec', 'c1', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    assert.equal(r.status, 4, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(ok(berth(host, ['exec', '-e', 'GREETING=hello', '-w', '/tmp', 'c1', 'sh', '-c', 'echo $GREETING $PWD']), 'exec -e -w'), 'hello /tmp\n');
  });

  it('inspect -f, container inspect, and the not-found errors', () => {
    assert.equal(ok(berth(host, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'c1']), 'inspect -f'), '172.17.0.2\n');
    assert.equal(ok(berth(host, ['container', 'inspect', '-f', '{{.Name}} {{.State.Running}}', 'c1']), 'container inspect'), '/c1 true\n');
    const json = JSON.parse(ok(berth(host, ['inspect', 'c1']), 'inspect')) as { Name: string }[];
    assert.equal(json[0]?.Name, '/c1');
    const missing = berth(host, ['inspect', 'nope']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '[]\n');
    assert.equal(missing.stderr, 'Error: No such object: nope\n');
    const stop = berth(host, ['stop', 'nope']);
    assert.equal(stop.status, 1);
    assert.equal(stop.stderr, 'Error response from daemon: No such container: nope\n');
  });

  it('attached run prints the output; --rm removes the container', () => {
    const r = berth(host, ['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, '');
    assert.equal(ok(berth(host, ['ps', '-a', '-q', '--filter', 'status=exited']), 'ps -a').trim(), '');
  });

  it("run exits with the container's status, stderr kept apart", () => {
    const r = berth(host, ['run', '--name', 'x3', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, 'to-out\n');
    assert.equal(r.stderr, 'to-err\n');
    const ps = ok(berth(host, ['ps', '-a', '--filter', 'name=x3', '--format', '{{.Names}} {{.Status}}']), 'ps -a');
    assert.match(ps, /^x3 Exited \(3\) /);
    assert.equal(ok(berth(host, ['wait', 'x3']), 'wait'), '3\n');
    ok(berth(host, ['rm', 'x3']), 'rm x3');
  });

  it('a missing image reads as docker prints a failed pull', () => {
    const r = berth(host, ['run', 'nosuchimage']);
    assert.equal(r.status, 125);
    assert.equal(
      r.stderr,
      "Unable to find image 'nosuchimage:latest' locally\n" +
        "berth: Error response from daemon: pull access denied for nosuchimage, repository does not exist or may require 'docker login'\n\n" +
        "Run 'berth run --help' for more information\n",
    );
  });

  it('logs prints what the container wrote, stdout and stderr apart; --tail', () => {
    ok(berth(host, ['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'echo one; echo two >&2; echo three; sleep 300']), 'run talker');
    ok(berth(host, ['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'echo a; echo b; echo c; sleep 300']), 'run counter');
    try {
      let out: RunResult = { status: null, stdout: '', stderr: '' };
      for (let i = 0; i < 50; i++) {
        out = berth(host, ['logs', 'talker']);
        if (out.stdout.includes('three') && out.stderr.includes('two')) break;
        run('sleep', ['0.1']);
      }
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout, 'one\nthree\n');
      assert.equal(out.stderr, 'two\n');
      for (let i = 0; i < 50 && !berth(host, ['logs', 'counter']).stdout.includes('c'); i++) run('sleep', ['0.1']);
      assert.equal(ok(berth(host, ['logs', '--tail', '2', 'counter']), 'logs --tail'), 'b\nc\n');
    } finally {
      ok(berth(host, ['rm', '-f', 'talker', 'counter']), 'rm -f talker counter');
    }
  });

  it('publishes ports: inspect and port show the binding', () => {
    ok(berth(host, ['run', '-d', '--name', 'web', '-p', '127.0.0.1:8080:80', 'busybox', 'sleep', '300']), 'run -p');
    const bindings = ok(berth(host, ['inspect', '-f', '{{json .HostConfig.PortBindings}}', 'web']), 'inspect bindings');
    assert.equal(bindings, '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}\n');
    assert.equal(ok(berth(host, ['port', 'web', '80']), 'port web 80'), '127.0.0.1:8080\n');
    assert.equal(ok(berth(host, ['port', 'web']), 'port web'), '80/tcp -> 127.0.0.1:8080\n');
    assert.match(ok(berth(host, ['ps', '--filter', 'name=web']), 'ps'), /\s127\.0\.0\.1:8080->80\/tcp\s+web\n/);
    ok(berth(host, ['rm', '-f', 'web']), 'rm -f web');
  });

  it('stop, start and rm -f', () => {
    assert.equal(ok(berth(host, ['stop', '-t', '1', 'c1']), 'stop'), 'c1\n');
    assert.match(ok(berth(host, ['ps', '-a', '--filter', 'name=c1', '--format', '{{.Status}}']), 'ps'), /^Exited \(\d+\) /);
    assert.equal(ok(berth(host, ['start', 'c1']), 'start'), 'c1\n');
    assert.equal(ok(berth(host, ['inspect', '-f', '{{.State.Running}}', 'c1']), 'inspect'), 'true\n');
    assert.equal(ok(berth(host, ['rm', '-f', 'c1']), 'rm -f'), 'c1\n');
    assert.equal(ok(berth(host, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']), 'ps -a'), '');
  });

  it('image import of a busybox tarball, images, run from it, rmi', () => {
    const rootfs = path.join(tmp, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'echo', 'cat']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
    fs.writeFileSync(path.join(rootfs, 'hello.txt'), 'imported\n');
    const tar = path.join(tmp, 'mini.tar');
    ok(run('tar', ['-C', rootfs, '-cf', tar, '.']), 'tar');

    const id = ok(berth(host, ['image', 'import', tar, 'mini:1.0']), 'image import').trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const images = ok(berth(host, ['images']), 'images');
    assert.match(images.split('\n')[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(images, new RegExp(`\\nmini\\s+1\\.0\\s+${id.slice(7, 19)}\\s+(Less than a second|\\d+ seconds?) ago\\s+\\d`));
    assert.match(images, /\nbusybox\s+latest\s+[0-9a-f]{12}\s/);

    const r = berth(host, ['run', '--rm', 'mini:1.0', 'cat', '/hello.txt']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'imported\n');

    const rmi = ok(berth(host, ['rmi', 'mini:1.0']), 'rmi');
    assert.match(rmi, /^Untagged: mini:1\.0\nDeleted: sha256:[0-9a-f]{64}\n$/);
    assert.doesNotMatch(ok(berth(host, ['images']), 'images'), /\nmini\s/);
  });
});
