/**
 * Daemon selection, connection and daemon errors, and the version/info commands.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goQueryEscape, resolveHost } from '../../../src/cli/client.js';
import { dockerLikeRoute, runCli, startFakeEngine } from './fake-engine.js';

describe('daemon selection', () => {
  it('prefers -H, then BERTH_HOST, then a unix:// DOCKER_HOST, then /run/berth.sock', () => {
    assert.equal(resolveHost('unix:///a.sock', { BERTH_HOST: 'unix:///b.sock' }).socketPath, '/a.sock');
    assert.equal(resolveHost(undefined, { BERTH_HOST: 'unix:///b.sock', DOCKER_HOST: 'unix:///c.sock' }).socketPath, '/b.sock');
    assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///c.sock' }).socketPath, '/c.sock');
    assert.equal(resolveHost(undefined, { DOCKER_HOST: 'tcp://10.0.0.1:2375' }).socketPath, '/run/berth.sock');
    assert.equal(resolveHost(undefined, {}).url, 'unix:///run/berth.sock');
  });

  it('-H is a global flag before the verb', async (t) => {
    const e = await startFakeEngine(dockerLikeRoute);
    t.after(() => e.close());
    const r = await runCli(['-H', e.host, 'network', 'ls', '-q'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.split('\n')[0], 'b22dfcac0219');
    const eq = await runCli([`--host=${e.host}`, 'network', 'ls', '-q']);
    assert.equal(eq.code, 0);
  });

  it('refuses non-unix hosts and several -H', async () => {
    const r = await runCli(['-H', 'tcp://1.2.3.4:2375', 'network', 'ls']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^invalid argument "tcp:\/\/1\.2\.3\.4:2375" for "-H, --host" flag: berth supports only unix:\/\/ daemon sockets/);
    assert.deepEqual(await runCli(['-H', 'unix:///a', '-H', 'unix:///b', 'network', 'ls']), {
      code: 1,
      stdout: '',
      stderr: 'Specify only one -H\n',
    });
  });

  it('says the daemon is not running when the socket is missing', async () => {
    assert.deepEqual(await runCli(['network', 'ls'], { host: 'unix:///nonexistent/berth.sock' }), {
      code: 1,
      stdout: '',
      stderr: 'Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n',
    });
  });
});

describe('daemon errors', () => {
  const cases: ReadonlyArray<readonly [string, Parameters<typeof startFakeEngine>[0], string]> = [
    ['JSON message', () => ({ status: 500, json: { message: ' boom \n' } }), 'Error response from daemon: boom'],
    ['plain text', () => ({ status: 500, text: 'plain failure\n' }), 'Error response from daemon: plain failure'],
    ['JSON without message', () => ({ status: 502, json: {} }), 'Error response from daemon: API returned a 502 (Bad Gateway) but provided no error-message'],
    [
      'empty body',
      () => ({ status: 404, text: '' }),
      'Error response from daemon: request returned Not Found for API route and version http://api.moby.localhost/v1.48/networks, check if the server supports the requested API version',
    ],
  ];
  for (const [name, route, message] of cases) {
    it(name, async (t) => {
      const e = await startFakeEngine(route);
      t.after(() => e.close());
      assert.deepEqual(await runCli(['network', 'ls'], { host: e.host }), { code: 1, stdout: '', stderr: message + '\n' });
    });
  }

  it("escapes queries as Go's url.QueryEscape", () => {
    assert.equal(goQueryEscape(`{"a b":"!'()*~"}`), '%7B%22a+b%22%3A%22%21%27%28%29%2A~%22%7D');
  });
});

describe('version and info', () => {
  it('version lays out client and server like docker version', async (t) => {
    const e = await startFakeEngine(dockerLikeRoute);
    t.after(() => e.close());
    const r = await runCli(['version'], { host: e.host });
    assert.equal(r.code, 0);
    const out = r.stdout.split('\n');
    assert.equal(out[0], 'Client:');
    assert.match(out[1] ?? '', /^ Version: {11}\S+$/);
    assert.equal(out[2], ' API version:       1.48');
    assert.deepEqual(out.slice(7), [
      'Server: berth',
      ' Engine:',
      '  Version:          0.1.0',
      '  API version:      1.47 (minimum version 1.24)',
      '  Go version:       node v20',
      '  Git commit:       abc1234',
      '  Built:            Wed May  1 00:00:00 2024',
      '  OS/Arch:          linux/amd64',
      '  Experimental:     false',
      '',
    ]);
    const f = await runCli(['version', '-f', '{{.Server.Version}} {{.Client.APIVersion}}'], { host: e.host });
    assert.equal(f.stdout, '0.1.0 1.48\n');
  });

  it('version prints the client part, then the connection error', async () => {
    const r = await runCli(['version'], { host: 'unix:///nonexistent.sock' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^Client:\n/);
    assert.doesNotMatch(r.stdout, /Server/);
    assert.equal(r.stderr, 'Cannot connect to the berth daemon at unix:///nonexistent.sock. Is the berth daemon running?\n');
  });

  it('info prints docker-style sections', async (t) => {
    const e = await startFakeEngine(dockerLikeRoute);
    t.after(() => e.close());
    const r = await runCli(['info'], { host: e.host });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Client:\n Version: {4}\S+\n Context: {4}default\n Debug Mode: false\n\nServer:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 1\n Server Version: 0\.1\.0\n/);
    assert.match(r.stdout, /\n Total Memory: 15\.5GiB\n/);
    assert.match(r.stdout, /\n Default Address Pools:\n {3}Base: 172\.17\.0\.0\/16, Size: 16\n\n$/);
    const f = await runCli(['info', '--format', '{{.NCPU}} {{.ClientInfo.Context}}'], { host: e.host });
    assert.equal(f.stdout, '4 default\n');
  });
});
