/**
 * berth's container and image commands against an in-process fake Engine API. The expected
 * request sequences, bodies (`testdata/*.body.json`), stdout, stderr and exit statuses are what
 * the real docker CLI 28.2.2 produced against the same kind of fake daemon (with "docker" read
 * as "berth"), except where a comment says otherwise.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FakeEngine, type RecordedRequest, type Route, frame, runCli, startFakeEngine } from './fake-engine.js';

const TESTDATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/unit/cli/testdata');
const golden = (name: string): string => fs.readFileSync(path.join(TESTDATA, name), 'utf8');

const CID = 'c0ffee'.padEnd(64, '0');
const EID = 'e0e0e0'.padEnd(64, '1');

interface Scenario {
  exit?: number;
  tty?: boolean;
  createStatus?: number;
  createMessage?: string;
  startStatus?: number;
  ps?: unknown[];
  images?: unknown[];
  ports?: Record<string, { HostIp: string; HostPort: string }[] | null>;
  notFound?: boolean;
}

/** A daemon with one container `c1` (ID {@link CID}). */
function containerRoute(s: Scenario = {}): Route {
  return (req) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname.replace(/^\/v1\.4[78]/, '');
    const noSuch = (): ReturnType<Route> => ({ status: 404, json: { message: `No such container: ${p.split('/')[2] ?? ''}` } });
    if (p === '/containers/create') {
      if (s.createStatus !== undefined) return { status: s.createStatus, json: { message: s.createMessage ?? '' } };
      return { status: 201, json: { Id: CID, Warnings: [] } };
    }
    if (/\/attach$/.test(p)) {
      return { status: 200, upgrade: s.tty === true ? Buffer.from('hi tty\r\n') : Buffer.concat([frame(1, 'hi out\n'), frame(2, 'hi err\n')]) };
    }
    if (/\/wait$/.test(p)) return { status: 200, json: { StatusCode: s.exit ?? 0, Error: null } };
    if (/^\/containers\/[^/]+\/(start|stop|restart|kill)$/.test(p)) {
      if (s.notFound === true) return noSuch();
      return s.startStatus !== undefined && p.endsWith('/start')
        ? { status: s.startStatus, json: { message: 'failed to create task: exec: "nope": executable file not found in $PATH' } }
        : { status: 204, text: '' };
    }
    if (/^\/containers\/[^/]+$/.test(p) && req.method === 'DELETE') return s.notFound === true ? noSuch() : { status: 204, text: '' };
    if (/^\/containers\/[^/]+\/json$/.test(p)) {
      if (s.notFound === true) return noSuch();
      return {
        status: 200,
        json: {
          Id: CID,
          Name: '/c1',
          State: { Status: 'running', Running: true },
          Config: { Tty: s.tty === true, Image: 'busybox' },
          NetworkSettings: { Ports: s.ports ?? {}, Networks: {} },
        },
      };
    }
    if (/\/logs$/.test(p)) {
      return {
        status: 200,
        contentType: 'application/vnd.docker.multiplexed-stream',
        text: Buffer.concat([frame(1, 'line1\n'), frame(2, 'err1\n'), frame(1, 'line2\n')]).toString('latin1'),
      };
    }
    if (/\/exec$/.test(p)) return { status: 201, json: { Id: EID } };
    if (/^\/exec\/[^/]+\/start$/.test(p)) {
      return req.upgrade === true ? { status: 200, upgrade: Buffer.concat([frame(1, 'exec out\n'), frame(2, 'exec err\n')]) } : { status: 200, text: '' };
    }
    if (/^\/exec\/[^/]+\/json$/.test(p)) return { status: 200, json: { ID: EID, Running: false, ExitCode: s.exit ?? 0 } };
    if (p === '/containers/json') return { status: 200, json: s.ps ?? [] };
    if (p === '/images/json') return { status: 200, json: s.images ?? [] };
    if (p === '/images/create') return { status: 200, json: { status: 'sha256:' + 'ef'.repeat(32) } };
    if (/^\/images\//.test(p) && req.method === 'DELETE') {
      return { status: 200, json: [{ Untagged: 'foo:latest' }, { Deleted: 'sha256:' + 'ab'.repeat(32) }] };
    }
    return { status: 404, json: { message: 'page not found' } };
  };
}

async function engine(t: TestContext, s: Scenario = {}): Promise<FakeEngine> {
  const e = await startFakeEngine(containerRoute(s));
  t.after(() => e.close());
  return e;
}

const calls = (reqs: readonly RecordedRequest[]): string[] => reqs.map((r) => `${r.method} ${r.url}${r.upgrade === true ? ' (hijack)' : ''}`);

describe('run and create', () => {
  it('run -d sends the body docker sends, then wait (next-exit) and start; prints the ID', async (t) => {
    const e = await engine(t);
    const r = await runCli(['run', '-d', 'busybox'], { host: e.host });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${CID}\n`);
    assert.deepEqual(calls(e.requests), [
      'POST /v1.48/containers/create',
      `POST /v1.48/containers/${CID}/wait?condition=next-exit`,
      `POST /v1.48/containers/${CID}/start`,
    ]);
    assert.equal(e.requests[0]?.body, golden('docker-run-d-busybox.body.json'));
    assert.equal(e.requests[0]?.contentType, 'application/json');
  });

  it('create with the network, DNS, port, env and label flags matches docker byte for byte', async (t) => {
    const e = await engine(t);
    const r = await runCli(
      [
        'create', '--name', 'c1', '-h', 'myhost', '-e', 'A=1', '-e', 'B', '--network', 'mynet', '--ip', '172.20.0.5',
        '--ip6', '2001:db8::5', '--network-alias', 'web', '--network-alias', 'www', '--mac-address', '02:42:ac:11:00:09',
        '--dns', '1.1.1.1', '--dns-search', 'example.com', '--dns-option', 'ndots:2', '--add-host', 'db:10.0.0.2',
        '--add-host', 'gw:host-gateway', '--link', 'other:alias', '-p', '8080:80', '-p', '127.0.0.1::53/udp', '-P',
        '--expose', '9000-9001', '--entrypoint', '/bin/sh', '-w', '/tmp', '-u', '1000:1000', '-l', 'a=b', '-l', 'c',
        '--restart', 'on-failure:3', '-i', '-t', 'busybox', '-c', 'echo <hi>',
      ],
      { host: e.host },
    );
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${CID}\n`);
    assert.deepEqual(calls(e.requests), ['POST /v1.48/containers/create?name=c1']);
    assert.equal(e.requests[0]?.body, golden('docker-create-many-flags.body.json'));
  });

  it('-e NAME takes the value from the environment, as docker does', async (t) => {
    const e = await engine(t);
    await runCli(['create', '-e', 'B', '-e', 'C', 'busybox'], { host: e.host, env: { B: 'from-env' } });
    assert.match(e.requests[0]?.body ?? '', /"Env":\["B=from-env","C"\]/);
  });

  const endpoints = async (t: TestContext, args: string[]): Promise<string> => {
    const e = await engine(t);
    const r = await runCli(['create', ...args, 'busybox'], { host: e.host });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(e.requests[0]?.body ?? '{}') as { HostConfig: { NetworkMode: string }; NetworkingConfig: { EndpointsConfig: object } };
    return `${body.HostConfig.NetworkMode} ${JSON.stringify(Object.keys(body.NetworkingConfig.EndpointsConfig))}`;
  };

  it('network modes: "default" endpoint without --network, none for a bare single network', async (t) => {
    assert.equal(await endpoints(t, []), 'default ["default"]');
    assert.equal(await endpoints(t, ['--network', 'host']), 'host []');
    assert.equal(await endpoints(t, ['--net=container:x']), 'container:x []');
    assert.equal(await endpoints(t, ['--network', 'a', '--network', 'b']), 'a ["a","b"]');
    assert.equal(await endpoints(t, ['--network', 'name=a,alias=x']), 'a ["a"]');
  });

  const optionError = async (t: TestContext, verb: string, args: string[], message: string, code = 125): Promise<void> => {
    const e = await engine(t);
    const r = await runCli([verb, ...args], { host: e.host });
    assert.equal(r.code, code);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, message);
    assert.equal(e.requests.length, 0);
  };

  it('reports option errors as docker does (exit 125)', async (t) => {
    const hint = (v: string): string => `\n\nRun 'berth ${v} --help' for more information\n`;
    await optionError(t, 'run', ['-p', 'abc', 'busybox'], 'berth: invalid containerPort: abc' + hint('run'));
    await optionError(t, 'create', ['-p', '1.2.3.4:80', 'busybox'], 'berth: invalid hostPort: 1.2.3.4' + hint('create'));
    await optionError(t, 'run', ['--mac-address', 'zz', 'busybox'], 'berth: zz is not a valid mac address' + hint('run'));
    await optionError(t, 'run', ['--rm', '--restart', 'always', 'busybox'], 'berth: conflicting options: cannot specify both --restart and --rm' + hint('run'));
    await optionError(t, 'run', ['--network-alias', 'x', 'busybox'], 'berth: network-scoped aliases are only supported for user-defined networks' + hint('run'));
    await optionError(t, 'run', ['--network', 'a', '--network', 'host', 'busybox'], 'berth: conflicting options: cannot attach both user-defined and non-user-defined network-modes' + hint('run'));
    await optionError(t, 'run', ['--restart', 'on-failure:x', 'busybox'], 'berth: invalid restart policy format: maximum retry count must be an integer' + hint('run'));
    await optionError(t, 'run', ['--pull', 'bogus', 'busybox'], 'berth: invalid pull option: \'bogus\': must be one of "always", "missing" or "never"' + hint('run'));
    const usage = "\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n";
    await optionError(t, 'run', ['--add-host', 'bad', 'busybox'], 'invalid argument "bad" for "--add-host" flag: bad format for add-host: "bad"' + usage);
    await optionError(t, 'run', ['--dns', 'bad', 'busybox'], 'invalid argument "bad" for "--dns" flag: IP address is not correctly formatted: bad' + usage);
    await optionError(t, 'run', ['-e', '=x', 'busybox'], 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x' + usage);
    await optionError(t, 'run', ['-a', 'foo', 'busybox'], 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR' + usage);
    await optionError(t, 'run', ['-d', '-a', 'stdout', 'busybox'], 'conflicting options: cannot specify both --attach and --detach\n', 1);
    await optionError(t, 'run', ['-i', '-t', 'busybox'], 'the input device is not a TTY\n', 1);
    await optionError(t, 'run', [], "berth: 'berth run' requires at least 1 argument\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'berth run --help' for more information\n", 1);
    await optionError(t, 'create', ['UPPER'], 'invalid reference format: repository name (library/UPPER) must be lowercase\n', 1);
  });

  it('flags after the image belong to the command (non-interspersed)', async (t) => {
    const e = await engine(t);
    await runCli(['create', 'busybox', 'ls', '-l', '--name', 'x'], { host: e.host });
    assert.deepEqual(calls(e.requests), ['POST /v1.48/containers/create']);
    assert.match(e.requests[0]?.body ?? '', /"Cmd":\["ls","-l","--name","x"\]/);
  });

  it('attached run: attach (hijacked), wait, start; output demultiplexed; exit status of the container', async (t) => {
    const e = await engine(t, { exit: 3 });
    const r = await runCli(['run', 'busybox', 'sh'], { host: e.host });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'hi out\n');
    assert.equal(r.stderr, 'hi err\n');
    assert.deepEqual(calls(e.requests), [
      'POST /v1.48/containers/create',
      `POST /v1.48/containers/${CID}/attach?stderr=1&stdout=1&stream=1 (hijack)`,
      `POST /v1.48/containers/${CID}/wait?condition=next-exit`,
      `POST /v1.48/containers/${CID}/start`,
    ]);
    assert.equal(e.requests[1]?.contentType, 'text/plain');
  });

  it('--rm waits for removal; -t reads the stream raw', async (t) => {
    const rm = await engine(t);
    assert.equal((await runCli(['run', '--rm', 'busybox'], { host: rm.host })).code, 0);
    assert.equal(rm.requests[2]?.url, `/v1.48/containers/${CID}/wait?condition=removed`);
    const tty = await engine(t, { tty: true });
    const r = await runCli(['run', '-t', 'busybox'], { host: tty.host });
    assert.equal(r.stdout, 'hi tty\r\n');
    assert.match(tty.requests[0]?.body ?? '', /"Tty":true/);
  });

  it('a missing image: "Unable to find image" and the failed-pull error, no pull attempted', async (t) => {
    const e = await engine(t, { createStatus: 404, createMessage: 'No such image: nosuch:latest' });
    const r = await runCli(['run', 'nosuch'], { host: e.host });
    assert.equal(r.code, 125);
    assert.equal(
      r.stderr,
      "Unable to find image 'nosuch:latest' locally\n" +
        "berth: Error response from daemon: pull access denied for nosuch, repository does not exist or may require 'docker login'\n\n" +
        "Run 'berth run --help' for more information\n",
    );
    assert.deepEqual(calls(e.requests), ['POST /v1.48/containers/create']);
    const c = await runCli(['create', 'localhost:5000/a/b'], { host: e.host });
    assert.equal(c.code, 1);
    assert.equal(
      c.stderr,
      "Unable to find image 'localhost:5000/a/b:latest' locally\n" +
        "Error response from daemon: pull access denied for localhost:5000/a/b, repository does not exist or may require 'docker login'\n",
    );
  });

  it('daemon errors: run prefixes berth: and exits 125 (127 for a missing executable)', async (t) => {
    const conflict = await engine(t, { createStatus: 409, createMessage: 'Conflict. The container name "/c1" is already in use' });
    const r = await runCli(['run', '--name', 'c1', 'busybox'], { host: conflict.host });
    assert.equal(r.code, 125);
    assert.equal(
      r.stderr,
      'berth: Error response from daemon: Conflict. The container name "/c1" is already in use\n\nRun \'berth run --help\' for more information\n',
    );
    const c = await runCli(['create', '--name', 'c1', 'busybox'], { host: conflict.host });
    assert.equal(c.code, 1);
    assert.equal(c.stderr, 'Error response from daemon: Conflict. The container name "/c1" is already in use\n');
    const start = await engine(t, { startStatus: 400 });
    const s = await runCli(['run', 'busybox', 'nope'], { host: start.host });
    assert.equal(s.code, 127);
    // The fake attach stream delivers its output before the start fails.
    assert.match(s.stderr, /\nberth: Error response from daemon: failed to create task: exec: "nope": executable file not found in \$PATH\n\nRun 'berth run --help' for more information\n$/);
  });
});

describe('exec', () => {
  it('inspect, create, hijacked start, exit status from the exec inspect', async (t) => {
    const e = await engine(t, { exit: 2 });
    const r = await runCli(['exec', 'c1', 'ls', '-l'], { host: e.host });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, 'exec out\n');
    assert.equal(r.stderr, 'exec err\n');
    assert.deepEqual(calls(e.requests), [
      'GET /v1.48/containers/c1/json',
      'POST /v1.48/containers/c1/exec',
      `POST /v1.48/exec/${EID}/start (hijack)`,
      `GET /v1.48/exec/${EID}/json`,
    ]);
    assert.equal(
      e.requests[1]?.body,
      '{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["ls","-l"]}\n',
    );
    assert.equal(e.requests[2]?.body, '{"Detach":false,"Tty":false}\n');
    assert.equal(e.requests[2]?.contentType, 'application/json');
  });

  it('-d starts without attaching; -t adds ConsoleSize', async (t) => {
    const e = await engine(t);
    const r = await runCli(['exec', '-d', '-e', 'A=1', '-w', '/tmp', '-u', 'root', 'c1', 'sleep', '1'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(
      e.requests[1]?.body,
      '{"User":"root","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":false,"AttachStdout":false,"Detach":true,"DetachKeys":"","Env":["A=1"],"WorkingDir":"/tmp","Cmd":["sleep","1"]}\n',
    );
    assert.deepEqual(calls(e.requests).slice(2), [`POST /v1.48/exec/${EID}/start`]);
    assert.equal(e.requests[2]?.body, '{"Detach":true,"Tty":false}\n');
    const tty = await engine(t);
    await runCli(['exec', '-t', 'c1', 'sh'], { host: tty.host });
    assert.match(tty.requests[1]?.body ?? '', /"Tty":true,"ConsoleSize":\[0,0\],/);
    assert.equal(tty.requests[2]?.body, '{"Detach":false,"Tty":true,"ConsoleSize":[0,0]}\n');
  });

  it('a missing container is reported before anything is created', async (t) => {
    const e = await engine(t, { notFound: true });
    const r = await runCli(['exec', 'c1', 'ls'], { host: e.host });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error response from daemon: No such container: c1\n');
    assert.deepEqual(calls(e.requests), ['GET /v1.48/containers/c1/json']);
  });
});

describe('start, stop, restart, kill, rm, wait', () => {
  it('echo the names; send docker query parameters', async (t) => {
    const e = await engine(t);
    assert.equal((await runCli(['stop', '-t', '5', '-s', 'SIGINT', 'c1'], { host: e.host })).stdout, 'c1\n');
    assert.equal((await runCli(['restart', '-t', '0', 'c1'], { host: e.host })).stdout, 'c1\n');
    assert.equal((await runCli(['kill', '-s', 'HUP', 'c1'], { host: e.host })).stdout, 'c1\n');
    assert.equal((await runCli(['rm', '-f', 'c1', 'c2'], { host: e.host })).stdout, 'c1\nc2\n');
    assert.equal((await runCli(['start', 'c1'], { host: e.host })).stdout, 'c1\n');
    assert.equal((await runCli(['wait', 'c1'], { host: e.host })).stdout, '0\n');
    assert.deepEqual(calls(e.requests).sort(), [
      'DELETE /v1.48/containers/c1?force=1',
      'DELETE /v1.48/containers/c2?force=1',
      'POST /v1.48/containers/c1/kill?signal=HUP',
      'POST /v1.48/containers/c1/restart?t=0',
      'POST /v1.48/containers/c1/start',
      'POST /v1.48/containers/c1/stop?signal=SIGINT&t=5',
      'POST /v1.48/containers/c1/wait',
    ]);
  });

  it('errors as docker prints them', async (t) => {
    const e = await engine(t, { notFound: true });
    const stop = await runCli(['stop', 'a', 'b'], { host: e.host });
    assert.equal(stop.code, 1);
    assert.equal(stop.stderr, 'Error response from daemon: No such container: a\nError response from daemon: No such container: b\n');
    const start = await runCli(['start', 'a'], { host: e.host });
    assert.equal(start.code, 1);
    assert.equal(start.stderr, 'Error response from daemon: No such container: a\nError: failed to start containers: a\n');
    const rmf = await runCli(['rm', '-f', 'nope'], { host: e.host });
    assert.equal(rmf.code, 0);
    assert.equal(rmf.stderr, 'Error response from daemon: No such container: nope\n');
    const rm = await runCli(['rm', 'nope'], { host: e.host });
    assert.equal(rm.code, 1);
    assert.equal(rm.stderr, 'Error response from daemon: No such container: nope\n');
  });
});

describe('logs, port, inspect', () => {
  it('logs demultiplexes stdout and stderr; query as docker sends it', async (t) => {
    const e = await engine(t);
    const r = await runCli(['logs', '-f', '--tail', '5', '-t', 'c1'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'line1\nline2\n');
    assert.equal(r.stderr, 'err1\n');
    assert.deepEqual(calls(e.requests), [
      'GET /v1.48/containers/c1/json',
      `GET /v1.48/containers/${CID}/logs?follow=1&stderr=1&stdout=1&tail=5&timestamps=1`,
    ]);
  });

  it('port prints NetworkSettings.Ports in natural order', async (t) => {
    const ports = {
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '::', HostPort: '8080' },
      ],
      '53/udp': null,
      '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }],
    };
    const e = await engine(t, { ports });
    assert.equal((await runCli(['port', 'c1'], { host: e.host })).stdout, '80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n443/tcp -> 127.0.0.1:8443\n');
    assert.equal((await runCli(['port', 'c1', '80'], { host: e.host })).stdout, '0.0.0.0:8080\n[::]:8080\n');
    const none = await runCli(['port', 'c1', '53/udp'], { host: e.host });
    assert.equal(none.code, 1);
    assert.equal(none.stderr, "Error: No public port '53/udp' published for c1\n");
    const bad = await runCli(['port', 'c1', 'abc'], { host: e.host });
    assert.equal(bad.stderr, 'Error: invalid port (abc): strconv.ParseUint: parsing "abc": invalid syntax\n');
  });

  it('inspect tries container, image, network; templates see Go types', async (t) => {
    const e = await engine(t);
    const r = await runCli(['inspect', '-f', '{{.Name}} {{.State.Running}} {{.Config.Tty}}', 'c1'], { host: e.host });
    assert.equal(r.stdout, '/c1 true false\n');
    assert.deepEqual(calls(e.requests), ['GET /v1.48/containers/c1/json']);
    const missing = await engine(t, { notFound: true });
    const m = await runCli(['inspect', 'nosuch'], { host: missing.host });
    assert.equal(m.code, 1);
    assert.equal(m.stdout, '[]\n');
    assert.equal(m.stderr, 'Error: No such object: nosuch\n');
    assert.deepEqual(calls(missing.requests), [
      'GET /v1.48/containers/nosuch/json',
      'GET /v1.48/images/nosuch/json',
      'GET /v1.48/networks/nosuch',
    ]);
    const typed = await runCli(['inspect', '--type', 'bogus', 'x'], { host: missing.host });
    assert.equal(
      typed.stderr,
      'unknown type: "bogus": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"\n',
    );
  });
});

describe('ps', () => {
  const now = Math.floor(Date.now() / 1000);
  const item = (id: string, o: Record<string, unknown>): Record<string, unknown> => ({
    Id: id.padEnd(64, '0'),
    Names: ['/x'],
    Image: 'busybox',
    ImageID: 'sha256:' + 'ab'.repeat(32),
    Command: 'sh',
    Created: now - 600,
    Ports: [],
    Labels: {},
    State: 'running',
    Status: 'Up 10 minutes',
    ...o,
  });
  const PS = [
    item('aaaa11112222', {
      Names: ['/web'],
      Image: 'nginx:latest',
      Command: "/entrypoint.sh nginx -g 'daemon off;'",
      Created: now - 75,
      Status: 'Up About a minute',
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
        { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      ],
      Labels: { b: '2', a: '1' },
    }),
    item('bbbb11112222', { Names: ['/db', '/web/db'], Image: 'sha256:' + 'cd'.repeat(32), Command: 'sleep 300', Created: now - 3 * 3600 - 100, State: 'exited', Status: 'Exited (3) 2 hours ago' }),
    item('dddd11112222', {
      Names: ['/old'],
      Command: 'echo "quoted" and 日本語 text that is long',
      Created: now - 40 * 86400,
      State: 'exited',
      Status: 'Exited (0) 5 weeks ago',
      Ports: [
        { PrivatePort: 9000, Type: 'udp' },
        { PrivatePort: 9001, Type: 'udp' },
        { PrivatePort: 9002, Type: 'udp' },
      ],
    }),
  ];

  it('prints docker\'s table: truncation, quoting, human times, grouped ports, link names hidden', async (t) => {
    const e = await engine(t, { ps: PS });
    const r = await runCli(['ps', '-a'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        'CONTAINER ID   IMAGE                                                                     COMMAND                   CREATED              STATUS                   PORTS                                                                      NAMES',
        'aaaa11112222   nginx:latest                                                              "/entrypoint.sh ngin…"    About a minute ago   Up About a minute        443/tcp, 127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web',
        'bbbb11112222   sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd   "sleep 300"               3 hours ago          Exited (3) 2 hours ago                                                                              db',
        'dddd11112222   busybox                                                                   "echo \\"quoted\\" and …"   5 weeks ago          Exited (0) 5 weeks ago   9000-9002/udp                                                              old',
        '',
      ].join('\n'),
    );
    assert.equal(e.requests[0]?.url, '/v1.48/containers/json?all=1');
  });

  it('-q, -n/-l limits, --no-trunc names, .Size asks for sizes, json', async (t) => {
    const e = await engine(t, { ps: PS });
    assert.equal((await runCli(['ps', '-q'], { host: e.host })).stdout, 'aaaa11112222\nbbbb11112222\ndddd11112222\n');
    await runCli(['ps', '-n', '2'], { host: e.host });
    await runCli(['ps', '-l'], { host: e.host });
    const names = await runCli(['ps', '--no-trunc', '--format', '{{.Names}}|{{.Label "a"}}|{{.Labels}}'], { host: e.host });
    assert.equal(names.stdout, 'web|1|a=1,b=2\ndb,web/db||\nold||\n');
    await runCli(['ps', '--format', 'table {{.ID}}\t{{.Size}}'], { host: e.host });
    const json = await runCli(['ps', '--format', 'json', '-f', 'name=web'], { host: e.host });
    assert.match(json.stdout.split('\n')[0] ?? '', /^\{"Command":"\\"\/entrypoint.sh ngin…\\"","CreatedAt":".*","ID":"aaaa11112222","Image":"nginx:latest","Labels":"a=1,b=2","LocalVolumes":"0","Mounts":"","Names":"web","Networks":"","Platform":null,"Ports":"443\/tcp, 127.0.0.1:5353-\\u003e53\/udp, /);
    assert.deepEqual(
      e.requests.map((q) => q.url),
      [
        '/v1.48/containers/json',
        '/v1.48/containers/json?limit=2',
        '/v1.48/containers/json?limit=1',
        '/v1.48/containers/json',
        '/v1.48/containers/json?size=1',
        '/v1.48/containers/json?filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D',
      ],
    );
  });
});

describe('images, rmi, import', () => {
  const now = Math.floor(Date.now() / 1000);
  const img = (id: string, o: Record<string, unknown>): Record<string, unknown> => ({
    Id: 'sha256:' + id.padEnd(64, '0'),
    ParentId: '',
    RepoTags: ['busybox:latest'],
    RepoDigests: [],
    Created: now - 600,
    Size: 4261550,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
    ...o,
  });
  const IMAGES = [
    img('aa11', {}),
    img('bb22', { RepoTags: ['myimg:1.0', 'other/repo:v2'], Created: now - 3 * 86400, Size: 123456789 }),
    img('cc33', { RepoTags: [], Created: now - 400 * 86400, Size: 999 }),
    img('dd44', { RepoTags: ['<none>:<none>'], Size: 1000 }),
    img('ee55', { RepoTags: ['localhost:5000/x/y:tag'], Size: 1500000000 }),
  ];

  it('lists one row per tag with docker\'s sizes and times', async (t) => {
    const e = await engine(t, { images: IMAGES });
    const r = await runCli(['images'], { host: e.host });
    assert.equal(
      r.stdout,
      [
        'REPOSITORY           TAG       IMAGE ID       CREATED          SIZE',
        'busybox              latest    aa1100000000   10 minutes ago   4.26MB',
        'myimg                1.0       bb2200000000   3 days ago       123MB',
        'other/repo           v2        bb2200000000   3 days ago       123MB',
        '<none>               <none>    cc3300000000   13 months ago    999B',
        'localhost:5000/x/y   tag       ee5500000000   10 minutes ago   1.5GB',
        '',
      ].join('\n'),
    );
    const q = await runCli(['image', 'ls', '-q', '--no-trunc', 'busybox'], { host: e.host });
    assert.equal(q.stdout.split('\n')[0], 'sha256:aa11000000000000000000000000000000000000000000000000000000000000');
    assert.equal(e.requests[1]?.url, '/v1.48/images/json?filters=%7B%22reference%22%3A%7B%22busybox%22%3Atrue%7D%7D');
  });

  it('rmi prints what the daemon untagged and deleted', async (t) => {
    const e = await engine(t);
    const r = await runCli(['rmi', '-f', 'foo'], { host: e.host });
    assert.equal(r.stdout, `Untagged: foo:latest\nDeleted: sha256:${'ab'.repeat(32)}\n`);
    assert.equal(e.requests[0]?.url, '/v1.48/images/foo?force=1');
  });

  it('import sends the tarball with repo=NAME:TAG and prints the image ID', async (t) => {
    const e = await engine(t);
    const r = await runCli(['image', 'import', '-', 'foo:1.0'], { host: e.host, stdin: 'TARBALL' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `sha256:${'ef'.repeat(32)}\n`);
    assert.equal(e.requests[0]?.url, '/v1.48/images/create?fromSrc=-&repo=foo%3A1.0');
    assert.equal(e.requests[0]?.contentType, 'text/plain');
    assert.equal(e.requests[0]?.body, 'TARBALL');
    const missing = await runCli(['import', '/nonexistent/x.tar', 'x'], { host: e.host });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'open /nonexistent/x.tar: no such file or directory\n');
    const bad = await runCli(['import', '-', 'Foo'], { host: e.host, stdin: '' });
    assert.equal(bad.stderr, 'invalid reference format: repository name (library/Foo) must be lowercase\n');
  });
});
