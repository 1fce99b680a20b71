/**
 * The seeds' network modes with real containers (runc) and real packets, driven through the real
 * docker CLI against berthd in a throwaway host netns: seed 000's four modes, seed 001's bridge
 * and custom bridge, seed 003's c1–c4 and container: scenarios, seed 004's `personal` network.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRoot, run, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const SKIP = ROOT ? false : 'needs root: integration tests create network namespaces and run containers';
if (!ROOT) console.warn('SKIPPED: container integration tests need root');

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Interface lines (`ip -o addr`) inside a container, as `name addr/prefix`. */
function inetLines(host: TestHost, name: string): string[] {
  const out = ok(host.docker(['exec', name, 'ip', '-o', '-4', 'addr']), `ip addr in ${name}`);
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[1]} ${f[3]}`;
    });
}

function pings(host: TestHost, from: string, target: string): boolean {
  return host.docker(['exec', from, 'ping', '-c', '1', '-W', '1', target]).status === 0;
}

describe('containers on the seeds\' network modes', { skip: SKIP }, () => {
  let host: TestHost;
  before(async () => {
    host = await TestHost.start('berth-itc');
  });
  after(async () => {
    await host?.cleanup();
  });

  it('seed 000: none has only lo; host shares the host netns; bridge gets eth0 on berth0', () => {
    ok(host.docker(['run', '-d', '--network=none', '--name', 'none', 'busybox', 'sleep', '300']), 'run none');
    assert.deepEqual(inetLines(host, 'none'), ['lo 127.0.0.1/8']);
    assert.equal(ok(host.docker(['exec', 'none', 'ip', 'route']), 'route').trim(), '');

    ok(host.docker(['run', '-d', '--network=host', '--name', 'host', 'busybox', 'sleep', '300']), 'run host');
    const hostLinks = host.ipJson(['link', 'show']).map((l) => l.ifname).sort();
    const seen = ok(host.docker(['exec', 'host', 'ip', '-o', 'link']), 'ip link')
      .trim()
      .split('\n')
      .map((l) => (l.split(': ')[1] ?? '').split('@')[0])
      .sort();
    assert.deepEqual(seen, hostLinks);

    ok(host.docker(['run', '-d', '--network=bridge', '--name', 'bridge', 'busybox', 'sleep', '300']), 'run bridge');
    assert.deepEqual(inetLines(host, 'bridge'), ['lo 127.0.0.1/8', 'eth0 172.17.0.2/16']);
    assert.equal(ok(host.docker(['exec', 'bridge', 'ip', 'route', 'show', 'default']), 'route').trim().split(/\s+/).slice(0, 3).join(' '), 'default via 172.17.0.1');
    const mac = ok(host.docker(['inspect', '-f', '{{.NetworkSettings.MacAddress}}', 'bridge']), 'inspect').trim();
    assert.equal(mac, '02:42:ac:11:00:02');
    // The host side: a veth<7 hex> enslaved to berth0.
    const veths = host.ipJson(['-d', 'link', 'show', 'master', 'berth0']).map((l) => l.ifname);
    assert.equal(veths.length, 1);
    assert.match(veths[0], /^veth[0-9a-f]{7}$/);
    assert.ok(pings(host, 'bridge', '172.17.0.1'), 'container cannot reach its gateway');
  });

  it('seed 000/003: container: shares the owner\'s netns; loses it when the owner stops; regains after restart', () => {
    ok(host.docker(['run', '-d', '--name', 'co', '--network', 'container:bridge', 'busybox', 'sleep', '300']), 'run container:');
    assert.deepEqual(inetLines(host, 'co'), inetLines(host, 'bridge'));
    assert.equal(
      ok(host.docker(['exec', 'co', 'hostname']), 'hostname').trim(),
      ok(host.docker(['exec', 'bridge', 'hostname']), 'hostname').trim(),
    );
    ok(host.docker(['stop', '-t', '1', 'bridge']), 'stop owner');
    assert.deepEqual(inetLines(host, 'co'), ['lo 127.0.0.1/8']);
    ok(host.docker(['start', 'bridge']), 'start owner');
    ok(host.docker(['restart', '-t', '1', 'co']), 'restart joiner');
    assert.deepEqual(inetLines(host, 'co'), ['lo 127.0.0.1/8', 'eth0 172.17.0.2/16']);
    const bad = host.docker(['run', '-d', '--network', 'container:bridge', '-p', '80:80', 'busybox', 'true']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /conflicting options: port publishing and the container type network mode/);
  });

  it('seed 004: personal network with --ip-range, addresses .1 .2, pings within, none across', () => {
    ok(host.docker(['network', 'create', '--subnet', '172.21.0.0/16', '--ip-range', '172.21.240.0/20', 'personal']), 'create');
    for (const n of ['mybox1_docker0', 'mybox2_docker0']) ok(host.docker(['run', '-itd', '--name', n, 'busybox']), `run ${n}`);
    for (const n of ['mybox1_personal', 'mybox2_personal']) {
      ok(host.docker(['run', '-itd', '--name', n, '--network', 'personal', 'busybox']), `run ${n}`);
    }
    const ip = (n: string, f: string) => ok(host.docker(['inspect', '--format', f, n]), 'inspect').trim();
    assert.equal(ip('mybox1_docker0', '{{.NetworkSettings.IPAddress}}'), '172.17.0.3');
    assert.equal(ip('mybox2_docker0', '{{.NetworkSettings.IPAddress}}'), '172.17.0.4');
    assert.equal(ip('mybox1_personal', '{{.NetworkSettings.Networks.personal.IPAddress}}'), '172.21.240.1');
    assert.equal(ip('mybox2_personal', '{{.NetworkSettings.Networks.personal.IPAddress}}'), '172.21.240.2');
    assert.ok(pings(host, 'mybox1_docker0', '172.17.0.4'));
    assert.ok(pings(host, 'mybox1_personal', '172.21.240.2'));
    assert.ok(!pings(host, 'mybox1_docker0', '172.21.240.2'), 'default bridge reached the personal network');
    assert.ok(!pings(host, 'mybox1_personal', '172.17.0.4'), 'personal network reached the default bridge');
  });

  it('seed 003: inspect, connect, disconnect, rm refused while in use', () => {
    ok(host.docker(['network', 'create', '--subnet=172.18.0.0/16', 'mynetwork']), 'create');
    ok(host.docker(['run', '-itd', '--name', 'mynginx2', '--network', 'mynetwork', 'busybox']), 'run 2');
    ok(host.docker(['run', '-itd', '--name', 'mynginx3', 'busybox']), 'run 3');
    const nets = (n: string) => ok(host.docker(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', n]), 'inspect').trim();
    assert.equal(nets('mynginx3'), 'bridge');
    ok(host.docker(['network', 'connect', 'mynetwork', 'mynginx3']), 'connect');
    assert.equal(nets('mynginx3'), 'bridge mynetwork');
    assert.deepEqual(inetLines(host, 'mynginx3').map((l) => l.split(' ')[0]), ['lo', 'eth0', 'eth1']);
    assert.ok(pings(host, 'mynginx3', '172.18.0.2'), 'connected container cannot reach the network');
    const inspect = JSON.parse(ok(host.docker(['network', 'inspect', 'mynetwork']), 'network inspect'))[0];
    assert.deepEqual(Object.values(inspect.Containers).map((c: any) => c.Name).sort(), ['mynginx2', 'mynginx3']);
    const twice = host.docker(['network', 'connect', 'mynetwork', 'mynginx3']);
    assert.notEqual(twice.status, 0);
    assert.match(twice.stderr, /endpoint with name mynginx3 already exists in network mynetwork/);
    ok(host.docker(['network', 'disconnect', 'mynetwork', 'mynginx3']), 'disconnect');
    assert.equal(nets('mynginx3'), 'bridge');
    assert.deepEqual(inetLines(host, 'mynginx3').map((l) => l.split(' ')[0]), ['lo', 'eth0']);
    const rm = host.docker(['network', 'rm', 'mynetwork']);
    assert.notEqual(rm.status, 0);
    assert.match(rm.stderr, /error while removing network: network mynetwork has active endpoints \(name:"mynginx2" id:"[0-9a-f]{12}"\)/);
    for (const bad of [['host'], ['none']]) {
      const r = host.docker(['network', 'connect', bad[0] as string, 'mynginx3']);
      assert.notEqual(r.status, 0, `connect to ${bad[0]} was allowed`);
    }
  });

  it('multi-network: default route follows Docker\'s rule; --ip and aliases validated', () => {
    ok(host.docker(['network', 'create', '--subnet', '10.31.0.0/24', 'bbb']), 'create bbb');
    ok(host.docker(['network', 'create', '--subnet', '10.32.0.0/24', 'aaa']), 'create aaa');
    ok(host.docker(['run', '-d', '--name', 'multi', '--network', 'bbb', '--ip', '10.31.0.77', 'busybox', 'sleep', '300']), 'run multi');
    ok(host.docker(['network', 'connect', 'aaa', 'multi']), 'connect aaa');
    // Docker's rule: with equal priority, the network whose name sorts first gives the gateway.
    const route = ok(host.docker(['exec', 'multi', 'ip', 'route', 'show', 'default']), 'route').trim();
    assert.match(route, /^default via 10\.32\.0\.1 dev eth1/);
    assert.deepEqual(inetLines(host, 'multi').slice(1), ['eth0 10.31.0.77/24', 'eth1 10.32.0.2/24']);
    const onDefault = host.docker(['run', '-d', '--ip', '172.17.9.9', 'busybox', 'true']);
    assert.notEqual(onDefault.status, 0);
    assert.match(onDefault.stderr, /user specified IP address is supported on user defined networks only/);
    const outside = host.docker(['run', '-d', '--network', 'bbb', '--ip', '10.99.0.1', 'busybox', 'true']);
    assert.notEqual(outside.status, 0);
    const taken = host.docker(['run', '-d', '--network', 'bbb', '--ip', '10.31.0.77', 'busybox', 'true']);
    assert.notEqual(taken.status, 0);
    assert.match(taken.stderr, /Address already in use/);
    const dup = host.docker(['run', '-d', '--name', 'multi', 'busybox', 'true']);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /Conflict\. The container name "\/multi" is already in use/);
    const noimg = host.docker(['create', 'nosuchimage']);
    assert.notEqual(noimg.status, 0);
  });

  it('legacy --link writes /etc/hosts on the default bridge', () => {
    ok(host.docker(['run', '-d', '--name', 'target', 'busybox', 'sleep', '300']), 'run target');
    ok(host.docker(['run', '-d', '--name', 'linker', '--link', 'target:db', 'busybox', 'sleep', '300']), 'run linker');
    const hosts = ok(host.docker(['exec', 'linker', 'cat', '/etc/hosts']), 'cat hosts');
    const targetIp = ok(host.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'target']), 'ip').trim();
    assert.match(hosts, new RegExp(`^${targetIp.replace(/\./g, '\\.')}\\s+db\\b`, 'm'));
    assert.ok(pings(host, 'linker', 'db'));
  });

  it('stop releases the sandbox; rm releases the address; restart of berthd keeps containers running', async () => {
    ok(host.docker(['run', '-d', '--name', 'keep', '--network', 'personal', 'busybox', 'sleep', '300']), 'run keep');
    const keepIp = ok(host.docker(['inspect', '-f', '{{.NetworkSettings.Networks.personal.IPAddress}}', 'keep']), 'ip').trim();
    const sandbox = ok(host.docker(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', 'keep']), 'sandbox').trim();
    assert.ok(sandbox.startsWith(host.execRoot), sandbox);
    await host.killDaemon();
    await host.startDaemon();
    assert.equal(ok(host.docker(['inspect', '-f', '{{.State.Status}}', 'keep']), 'state').trim(), 'running');
    assert.ok(pings(host, 'keep', '172.21.240.0'), 'container lost its network over a daemon restart');
    ok(host.docker(['stop', '-t', '1', 'keep']), 'stop');
    assert.equal(run('test', ['-e', sandbox]).status, 1, 'sandbox netns still mounted after stop');
    ok(host.docker(['start', 'keep']), 'start again');
    assert.equal(ok(host.docker(['inspect', '-f', '{{.NetworkSettings.Networks.personal.IPAddress}}', 'keep']), 'ip').trim(), keepIp);
    ok(host.docker(['rm', '-f', 'keep']), 'rm');
    ok(host.docker(['run', '-d', '--name', 'reuse', '--network', 'personal', 'busybox', 'sleep', '300']), 'run reuse');
    assert.equal(ok(host.docker(['inspect', '-f', '{{.NetworkSettings.Networks.personal.IPAddress}}', 'reuse']), 'ip').trim(), keepIp);
  });

  it('cleans up after containers that died while berthd was down', async () => {
    ok(host.docker(['run', '-d', '--name', 'shortlived', 'busybox', 'sleep', '2']), 'run');
    await host.killDaemon();
    await new Promise((r) => setTimeout(r, 3000));
    await host.startDaemon();
    const st = ok(host.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'shortlived']), 'state').trim();
    assert.equal(st, 'exited 0');
  });

  it('removes every container and leaves no sandbox, veth or mount behind', () => {
    const ids = ok(host.docker(['ps', '-aq']), 'ps').trim().split('\n').filter(Boolean);
    if (ids.length > 0) ok(host.docker(['rm', '-f', ...ids]), 'rm all');
    assert.equal(ok(host.docker(['ps', '-aq']), 'ps').trim(), '');
    const veths = host.ipJson(['link', 'show']).filter((l) => String(l.ifname).startsWith('veth'));
    // Dropped netns destroy their veths asynchronously (~40 ms): allow a moment.
    if (veths.length > 0) run('sleep', ['1']);
    assert.deepEqual(host.ipJson(['link', 'show']).filter((l) => String(l.ifname).startsWith('veth')).map((l) => l.ifname), []);
    // Only the shared netns directory itself stays mounted (made once per daemon, like /run/netns).
    const mounts = run('grep', [host.dir, '/proc/self/mountinfo'])
      .stdout.split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => m !== undefined && m !== `${host.execRoot}/netns`);
    assert.deepEqual(mounts, [], 'mounts left under the test dir');
  });
});
